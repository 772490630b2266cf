#include <chrono>
#include <optional>

#include "scheduler/common/log.hpp"
#include "tasks/eval/knn.hpp"
#include "tasks/eval/steps.hpp"
#include "tasks/model/knn_model.hpp"
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

Result<std::vector<float>> embed(Embedder& e, const Dataset& d) {
  if (d.size() == 0) return std::vector<float>{};
  std::vector<float> px = raw_pixels(d);
  return e.embed(px.data(), d.size(), d.rows, d.cols);
}

}  // namespace

Result<double> knn_accuracy(const ModelFiles& files, const Dataset& test, int k) {
  auto model = KnnModel::load(files, k, test.rows, test.cols);
  if (!model) return Error{model.error()};
  std::vector<float> px = raw_pixels(test);
  auto v = (*model)->predict(px.data(), test.size());
  if (!v) return Error{v.error()};
  int64_t correct = 0;
  for (int64_t s = 0; s < test.size(); ++s) correct += v->pred[s] == test.labels[s];
  return test.size() ? static_cast<double>(correct) / static_cast<double>(test.size()) : 0.0;
}

Result<TaskOutputs> run_evaluate(const TaskContext& ctx, const EvaluateOptions& o) {
  if (o.k < 1 || o.k > 1000) return Error{"evaluate: --k must be in 1..1000"};
  if (o.index != "flat" && o.index != "hnsw")
    return Error{"evaluate: --index must be flat or hnsw, not \"" + o.index + "\""};
  if (o.index == "hnsw" && o.raw_pixels)
    return Error{"evaluate: --index hnsw needs a model (not --raw-pixels)"};
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
  auto vote = [&](const KnnIndex& idx) {
    std::vector<int64_t> ids;
    std::vector<float> scores;
    idx.search(queries.data(), test->size(), o.k, ids, scores);
    return knn_vote(ids, scores, ref->labels, test->size(), o.k, !o.raw_pixels);
  };
  auto accuracy = [&](const Votes& v) {
    int64_t correct = 0;
    for (int64_t s = 0; s < test->size(); ++s) correct += v.pred[s] == test->labels[s];
    return static_cast<double>(correct) / static_cast<double>(test->size());
  };
  Votes v = vote(*index);
  double search_s = seconds_since(t0);
  std::optional<double> exact_acc;  // with --index hnsw: the flat index's accuracy
  if (o.index == "hnsw") {
    exact_acc = accuracy(v);
    t0 = std::chrono::steady_clock::now();
    auto hnsw = index->to_hnsw(o.hnsw);
    if (!hnsw) return Error{"evaluate: " + hnsw.error()};
    const double build_s = seconds_since(t0);
    index = std::move(*hnsw);
    t0 = std::chrono::steady_clock::now();
    v = vote(*index);
    search_s = seconds_since(t0);
    log::info("evaluate: hnsw index (m={}, ef_search={}) built in {:.1f} s; exact accuracy {:.4f}",
              o.hnsw.m, o.hnsw.ef_search, build_s, *exact_acc);
  }

  std::vector<std::vector<int64_t>> confusion(kClasses, std::vector<int64_t>(kClasses, 0));
  for (int64_t s = 0; s < test->size(); ++s) confusion[test->labels[s]][v.pred[s]]++;
  const double acc = accuracy(v);
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
    json::object ldoc{{"k", o.k}, {"metric", "inner_product"}, {"index", o.index}};
    if (o.index == "hnsw") {
      ldoc["hnsw_m"] = o.hnsw.m;
      ldoc["ef_search"] = o.hnsw.ef_search;
    }
    ldoc["labels"] = std::move(labels);
    if (auto w = write_json(labels_path, ldoc); !w) return Error{"evaluate: " + w.error()};
    out.add_artifact("index", index_path, "index");
    out.add_artifact("index-labels", labels_path, "index");
  }
  out.outputs["accuracy"] = acc;
  if (exact_acc) out.outputs["accuracy_exact"] = *exact_acc;
  out.outputs["index"] = o.raw_pixels ? "flat" : o.index;
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
