#include <chrono>

#include "scheduler/common/log.hpp"
#include "tasks/eval/knn.hpp"
#include "tasks/eval/steps.hpp"
#include "tasks/train/embedder.hpp"

namespace ctflow::tasks {

namespace {

constexpr int kClasses = 10;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<float> raw_pixels(const Dataset& d) {
  if (d.is_float) return d.pixels_f32;
  std::vector<float> out(d.pixels_u8.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = d.pixels_u8[i] / 255.0f;
  return out;
}

Result<std::vector<uint8_t>> read_labels(const std::string& path) {
  auto doc = read_json_object(path);
  if (!doc) return Error{doc.error()};
  const json::value* l = find(*doc, "labels");
  if (!l || !l->is_array()) return Error{"index labels " + path + " have no \"labels\" array"};
  std::vector<uint8_t> out;
  for (const auto& v : l->get_array()) {
    if (!v.is_int64() || v.get_int64() < 0 || v.get_int64() >= kClasses)
      return Error{"index labels " + path + ": label outside 0..9"};
    out.push_back(static_cast<uint8_t>(v.get_int64()));
  }
  return out;
}

Result<std::vector<float>> embed(Embedder& e, const Dataset& d) {
  if (d.size() == 0) return std::vector<float>{};
  std::vector<float> px = raw_pixels(d);
  return e.embed(px.data(), d.size(), d.rows, d.cols);
}

}  // namespace

Result<double> knn_accuracy(const std::string& model, const std::string& index,
                            const std::string& index_labels, const Dataset& test, int k) {
  auto emb = Embedder::load(model);
  if (!emb) return Error{emb.error()};
  auto idx = KnnIndex::read(index);
  if (!idx) return Error{idx.error()};
  auto labels = read_labels(index_labels);
  if (!labels) return Error{labels.error()};
  if (static_cast<int64_t>(labels->size()) != (*idx)->size())
    return Error{"index " + index + " has " + std::to_string((*idx)->size()) + " rows but " +
                 std::to_string(labels->size()) + " labels"};
  auto q = embed(**emb, test);
  if (!q) return Error{"model " + model + ": " + q.error()};
  if ((*emb)->dim() != (*idx)->dim())
    return Error{"model " + model + " embeds in " + std::to_string((*emb)->dim()) +
                 " dimensions, index " + index + " holds " + std::to_string((*idx)->dim())};
  std::vector<int64_t> ids;
  std::vector<float> scores;
  (*idx)->search(q->data(), test.size(), k, ids, scores);
  Votes v = knn_vote(ids, scores, *labels, test.size(), k, (*idx)->inner_product());
  int64_t correct = 0;
  for (int64_t s = 0; s < test.size(); ++s) correct += v.pred[s] == test.labels[s];
  return test.size() ? static_cast<double>(correct) / static_cast<double>(test.size()) : 0.0;
}

Result<TaskOutputs> run_evaluate(const TaskContext& ctx, const EvaluateOptions& o) {
  if (o.k < 1 || o.k > 1000) return Error{"evaluate: --k must be in 1..1000"};
  auto dref = ctx.artifact("dataset");
  if (!dref) return Error{"evaluate: " + dref.error()};
  auto tref = ctx.artifact("testset");
  if (!tref) return Error{"evaluate: " + tref.error()};
  auto ref = read_dataset(dref->path);
  if (!ref) return Error{"evaluate: " + ref.error()};
  auto test = read_dataset(tref->path);
  if (!test) return Error{"evaluate: " + test.error()};
  if (ref->size() == 0 || test->size() == 0) return Error{"evaluate: empty reference or test set"};
  if (ref->rows != test->rows || ref->cols != test->cols)
    return Error{"evaluate: reference and test images differ in size"};
  for (const Dataset* d : {&*ref, &*test})
    for (uint8_t l : d->labels)
      if (l >= kClasses) return Error{"evaluate: label " + std::to_string(l) + " outside 0..9"};

  TaskOutputs out;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> base, queries;
  int64_t dim = ref->pixels_per_image();
  if (o.raw_pixels) {
    base = raw_pixels(*ref);
    queries = raw_pixels(*test);
  } else {
    auto mref = ctx.artifact("model");
    if (!mref) return Error{"evaluate: " + mref.error()};
    auto emb = Embedder::load(mref->path);
    if (!emb) return Error{"evaluate: " + emb.error()};
    auto b = embed(**emb, *ref);
    if (!b) return Error{"evaluate: " + b.error()};
    auto q = embed(**emb, *test);
    if (!q) return Error{"evaluate: " + q.error()};
    base = std::move(*b);
    queries = std::move(*q);
    dim = (*emb)->dim();
  }
  const double embed_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  auto index = KnnIndex::build(base.data(), ref->size(), dim, !o.raw_pixels);
  std::vector<int64_t> ids;
  std::vector<float> scores;
  index->search(queries.data(), test->size(), o.k, ids, scores);
  const double search_s = seconds_since(t0);
  Votes v = knn_vote(ids, scores, ref->labels, test->size(), o.k, !o.raw_pixels);

  std::vector<std::vector<int64_t>> confusion(kClasses, std::vector<int64_t>(kClasses, 0));
  int64_t correct = 0;
  for (int64_t s = 0; s < test->size(); ++s) {
    confusion[test->labels[s]][v.pred[s]]++;
    correct += v.pred[s] == test->labels[s];
  }
  const double acc = static_cast<double>(correct) / static_cast<double>(test->size());
  json::array per_class, conf;
  for (int c = 0; c < kClasses; ++c) {
    int64_t n = 0;
    json::array row;
    for (int p = 0; p < kClasses; ++p) {
      n += confusion[c][p];
      row.push_back(confusion[c][p]);
    }
    per_class.push_back(n ? static_cast<double>(confusion[c][c]) / static_cast<double>(n) : 0.0);
    conf.push_back(std::move(row));
  }
  log::info(
      "evaluate: {} kNN (k={}) accuracy {:.4f} on {} test images; index of {} ({:.1f} s embed, "
      "{:.1f} s search)",
      o.raw_pixels ? "raw-pixel" : "embedding", o.k, acc, test->size(), ref->size(), embed_s,
      search_s);

  json::array pred, truth, sample_ids, confidence;
  for (int64_t s = 0; s < test->size(); ++s) {
    pred.push_back(v.pred[s]);
    truth.push_back(test->labels[s]);
    sample_ids.push_back(test->ids[s]);
    confidence.push_back(v.confidence[s]);
  }
  const std::string pred_path = ctx.out_path("predictions.json");
  json::object pdoc{{"k", o.k},
                    {"ids", std::move(sample_ids)},
                    {"labels", std::move(truth)},
                    {"pred", std::move(pred)},
                    {"confidence", std::move(confidence)}};
  if (auto w = write_json(pred_path, pdoc); !w) return Error{"evaluate: " + w.error()};
  out.add_artifact("predictions", pred_path, "report");
  if (!o.raw_pixels) {
    const std::string index_path = ctx.out_path("index.faiss");
    const std::string labels_path = ctx.out_path("index-labels.json");
    if (auto w = index->write(index_path); !w) return Error{"evaluate: " + w.error()};
    json::array labels;
    for (uint8_t l : ref->labels) labels.push_back(l);
    json::object ldoc{{"k", o.k}, {"metric", "inner_product"}, {"labels", std::move(labels)}};
    if (auto w = write_json(labels_path, ldoc); !w) return Error{"evaluate: " + w.error()};
    out.add_artifact("index", index_path, "index");
    out.add_artifact("index-labels", labels_path, "index");
  }
  out.outputs["accuracy"] = acc;
  out.outputs["per_class_accuracy"] = std::move(per_class);
  out.outputs["confusion"] = std::move(conf);
  out.outputs["k"] = o.k;
  out.outputs["method"] = o.raw_pixels ? "raw-pixels-l2" : "embedding-ip";
  out.outputs["index_size"] = ref->size();
  out.outputs["test_count"] = test->size();
  out.outputs["embed_seconds"] = embed_s;
  out.outputs["search_seconds"] = search_s;
  ctx.metric("test_accuracy", acc, 0);
  return out;
}

}  // namespace ctflow::tasks
