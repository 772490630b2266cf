// train, evaluate, validate-model, analyse and register on a tiny synthetic pipeline.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "tasks/core/runtime.hpp"
#include "tasks/data/steps.hpp"
#include "tasks/eval/knn.hpp"
#include "tasks/eval/png.hpp"
#include "tasks/eval/steps.hpp"
#include "tasks/model/knn_model.hpp"
#include "tasks/registry/register.hpp"
#include "tasks/train/embedder.hpp"
#include "tasks/train/train.hpp"
#include "tests/unit/tasks/helpers.hpp"

using namespace ctflow;
using namespace ctflow::tasks;
using namespace ctflow::tasks::test;

namespace {

TrainOptions tiny_train() {
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 32;
  o.log_every = 5;
  o.lr = 5e-3;
  o.dim = 16;
  return o;
}

// One pipeline up to evaluate, shared by the cases below (training once keeps them fast).
struct Trained {
  TempDir dir;
  Pipeline p{dir / "run"};
  Result<TaskOutputs> train = Error{"not run"}, eval = Error{"not run"};
  Trained() {
    REQUIRE(p.step("extract", [](const TaskContext& c) {
      return run_extract(c, {"synthetic://digits?n=400&seed=11", ""});
    }));
    REQUIRE(p.step("transform", [](const TaskContext& c) { return run_transform(c, {}); }));
    REQUIRE(p.step("split", [](const TaskContext& c) { return run_split(c, {0.2, 1}); }));
    train = p.step("train", [](const TaskContext& c) { return run_train(c, tiny_train()); });
    REQUIRE(train);
    eval = p.step("evaluate", [](const TaskContext& c) { return run_evaluate(c, {}); });
    REQUIRE(eval);
  }
};

Trained& trained() {
  static Trained t;
  return t;
}

std::string model_path() {
  return trained().p.dir("train") + "/model.pt";
}

}  // namespace

TEST_CASE("train writes a TorchScript embedding and per-epoch metrics", "[tasks][train]") {
  auto& t = trained();
  CHECK(t.train->outputs.at("steps").as_int64() == 2 * 10);      // 320 samples / 32
  CHECK(t.train->outputs.at("val_accuracy").as_double() > 0.2);  // chance is 0.1
  std::ifstream in(t.p.dir("train") + "/metrics.jsonl");
  int loss = 0, val = 0;
  for (std::string line; std::getline(in, line);) {
    auto v = json::parse(line).as_object();
    loss += v.at("name") == "loss";
    val += v.at("name") == "val_accuracy";
  }
  CHECK(loss == 4);  // steps 0, 5, 10, 15
  CHECK(val == 2);
}

TEST_CASE("the model loads with torch::jit::load and embeds to unit vectors", "[tasks][train]") {
  auto emb = Embedder::load(model_path());
  REQUIRE(emb);
  std::vector<float> px(3 * 784, 0.0f);
  for (int i = 0; i < 784; i += 3) px[i] = 1.0f;
  auto e = (*emb)->embed(px.data(), 3, 28, 28);
  REQUIRE(e);
  REQUIRE((*emb)->dim() == 16);
  double norm = 0;
  for (int i = 0; i < 16; ++i) norm += (*e)[i] * (*e)[i];
  CHECK(std::sqrt(norm) == Approx(1.0).epsilon(1e-4));
  auto bad = Embedder::load(trained().p.dir("split") + "/split.json");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::Contains("not a TorchScript module"));
}

// Each task is its own process, and there the model file is bitwise identical for a seed (see
// test_cli.cpp); a second training inside one process may differ in the last float bits because
// libtorch's graph executor optimises the forward graph after its first runs.
TEST_CASE("the same seed trains the same model", "[tasks][train]") {
  TempDir d;
  Pipeline p(d.path());
  p.inputs = trained().p.inputs;
  auto again = p.step("train", [](const TaskContext& c) { return run_train(c, tiny_train()); });
  REQUIRE(again);
  CHECK(again->outputs.at("loss").as_double() ==
        Approx(trained().train->outputs.at("loss").as_double()).epsilon(1e-5));
  auto a = Embedder::load(model_path()), b = Embedder::load(p.dir("train") + "/model.pt");
  REQUIRE(a);
  REQUIRE(b);
  std::vector<float> px(784, 0.3f);
  auto ea = (*a)->embed(px.data(), 1, 28, 28), eb = (*b)->embed(px.data(), 1, 28, 28);
  REQUIRE(ea);
  REQUIRE(eb);
  for (size_t i = 0; i < ea->size(); ++i) CHECK((*ea)[i] == Approx((*eb)[i]).margin(1e-4));
}

TEST_CASE("train stops with a one-line reason when the loss is NaN", "[tasks][train]") {
  TempDir d;
  auto ds = read_dataset(trained().p.dir("transform") + "/dataset.ctds");
  REQUIRE(ds);
  std::fill(ds->pixels_f32.begin(), ds->pixels_f32.begin() + 784 * 400, std::nanf(""));
  REQUIRE(write_dataset(d / "nan.ctds", *ds));
  TaskContext c;
  c.workdir = d.path();
  c.overrides["dataset"] = d / "nan.ctds";
  c.overrides["split"] = trained().p.dir("split") + "/split.json";
  auto r = run_train(c, tiny_train());
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::StartsWith("train: loss is NaN at epoch 1 step 0"));
  CHECK(r.error().find('\n') == std::string::npos);
}

TEST_CASE("evaluate: kNN accuracy, confusion matrix and index artifacts", "[tasks][evaluate]") {
  auto& t = trained();
  const auto& o = t.eval->outputs;
  CHECK(o.at("accuracy").as_double() > 0.8);
  CHECK(o.at("test_count").as_int64() == 80);
  int64_t total = 0;
  for (const auto& row : o.at("confusion").as_array())
    for (const auto& v : row.as_array()) total += v.as_int64();
  CHECK(total == 80);
  for (const char* a : {"index", "index-labels", "predictions"})
    CHECK(std::filesystem::exists(t.eval->artifacts.at(a).at("path").as_string().c_str()));
  // The baseline needs no model.
  Pipeline p(t.dir / "raw");
  p.inputs = t.p.inputs;
  auto raw = p.step("raw", [](const TaskContext& c) { return run_evaluate(c, {1, true}); });
  REQUIRE(raw);
  CHECK(raw->outputs.at("method") == "raw-pixels-l2");
  CHECK(raw->outputs.at("accuracy").as_double() > 0.5);
  CHECK(raw->artifacts.count("index") == 0);
}

TEST_CASE("an hnsw index finds the flat index's neighbours and keeps ef_search", "[tasks][knn]") {
  // 2,000 unit vectors in 16 dimensions around 10 centres, as embeddings are.
  const int64_t n = 2000, dim = 16;
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> centres(10 * dim), x(n * dim);
  for (float& c : centres) c = g(rng);
  for (int64_t i = 0; i < n; ++i) {
    float norm = 0;
    for (int64_t d = 0; d < dim; ++d) {
      float& v = x[i * dim + d];
      v = centres[(i % 10) * dim + d] + 0.5f * g(rng);
      norm += v * v;
    }
    for (int64_t d = 0; d < dim; ++d) x[i * dim + d] /= std::sqrt(norm);
  }
  auto flat = KnnIndex::build(x.data(), n, dim, true);
  auto hnsw = flat->to_hnsw({.m = 16, .ef_construction = 64, .ef_search = 48});
  REQUIRE(hnsw);
  CHECK((*hnsw)->is_hnsw());
  CHECK_FALSE(flat->is_hnsw());
  CHECK((*hnsw)->inner_product());
  CHECK((*hnsw)->size() == n);
  const int64_t nq = 200;
  const int k = 5;
  std::vector<int64_t> ids_f, ids_h;
  std::vector<float> s_f, s_h;
  flat->search(x.data(), nq, k, ids_f, s_f);
  (*hnsw)->search(x.data(), nq, k, ids_h, s_h);
  int64_t found = 0;
  for (int64_t q = 0; q < nq; ++q)
    for (int j = 0; j < k; ++j)
      found += std::count(ids_h.begin() + q * k, ids_h.begin() + (q + 1) * k, ids_f[q * k + j]);
  CHECK(static_cast<double>(found) / (nq * k) >= 0.95);
  CHECK_FALSE(flat->to_hnsw({.m = 2}));
  auto again = (*hnsw)->to_hnsw({});
  REQUIRE_FALSE(again);
  CHECK_THAT(again.error(), Catch::Contains("from a flat index"));

  TempDir dir;
  const std::string path = dir / "hnsw.faiss";
  REQUIRE((*hnsw)->write(path));
  auto read = KnnIndex::read(path);
  REQUIRE(read);
  CHECK((*read)->is_hnsw());
  CHECK((*read)->ef_search() == 48);
  (*read)->set_ef_search(100000);
  CHECK((*read)->ef_search() == 4096);
}

TEST_CASE("evaluate --index hnsw writes an hnsw index that the predictor's loader serves",
          "[tasks][evaluate]") {
  auto& t = trained();
  Pipeline p(t.dir / "hnsw");
  p.inputs = t.p.inputs;
  EvaluateOptions o;
  o.index = "hnsw";
  o.hnsw.ef_search = 40;
  auto r = p.step("evaluate", [o](const TaskContext& c) { return run_evaluate(c, o); });
  REQUIRE(r);
  CHECK(r->outputs.at("index") == "hnsw");
  // 400 indexed images: the graph search is as good as exact, to within one test image of 80.
  CHECK(std::abs(r->outputs.at("accuracy").as_double() -
                 r->outputs.at("accuracy_exact").as_double()) <= 1.0 / 80 + 1e-9);
  CHECK(r->outputs.at("accuracy_exact") == t.eval->outputs.at("accuracy"));
  const std::string labels = p.dir("evaluate") + "/index-labels.json";
  auto meta = read_index_labels(labels);
  REQUIRE(meta);
  CHECK(meta->hnsw);
  CHECK(meta->ef_search == 40);
  ModelFiles files{model_path(), p.dir("evaluate") + "/index.faiss", labels};
  auto model = KnnModel::load(files);
  REQUIRE(model);
  // index-labels.json that disagrees with the index file: the loader names both.
  auto doc = read_json_object(labels);
  REQUIRE(doc);
  (*doc)["index"] = "flat";
  REQUIRE(write_json(labels, *doc));
  auto bad = KnnModel::load(files);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::Contains("is hnsw but") && Catch::Contains("says flat"));
  (*doc)["index"] = "ivf";
  REQUIRE(write_json(labels, *doc));
  auto unknown = KnnModel::load(files);
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error(), Catch::Contains("unknown index \"ivf\""));
  // Bad options are refused before any work.
  o.raw_pixels = true;
  auto raw = p.step("raw", [o](const TaskContext& c) { return run_evaluate(c, o); });
  REQUIRE_FALSE(raw);
  CHECK_THAT(raw.error(), Catch::Contains("--index hnsw needs a model"));
}

TEST_CASE("validate-model promotes a first model and compares with the deployed one",
          "[tasks][validate-model]") {
  auto& t = trained();
  auto gate = [&](const std::string& name, json::value deployed, ValidateModelOptions o = {}) {
    Pipeline p(t.dir / "gate");
    p.inputs = t.p.inputs;
    p.inputs["models"] = json::object{{"mnist", json::object{{"deployed", deployed}}}};
    auto r = p.step(name, [o](const TaskContext& c) { return run_validate_model(c, o); });
    REQUIRE(r);
    return r->outputs;
  };
  auto first = gate("first", nullptr);
  CHECK(first.at("promoted").as_bool());
  CHECK_THAT(std::string(first.at("reason").as_string()), Catch::Contains("no deployed version"));

  // The deployed version is the same model: equal accuracy, promoted unless a margin is asked.
  json::object arts;
  for (auto [task, name] :
       {std::pair{"train", "model"}, {"evaluate", "index"}, {"evaluate", "index-labels"}})
    arts[name] = json::object{{"path", t.p.dir(task) + "/" +
                                           (std::string(name) == "model"   ? "model.pt"
                                            : std::string(name) == "index" ? "index.faiss"
                                                                           : "index-labels.json")}};
  json::object same{{"version", 3}, {"artifacts", arts}, {"metrics", json::object{}}};
  auto eq = gate("same", same);
  CHECK(eq.at("promoted").as_bool());
  CHECK(eq.at("deployed_accuracy") == eq.at("candidate_accuracy"));
  CHECK(eq.at("deployed_version").as_int64() == 3);
  // Artifacts keyed by the "TASK/NAME" references register used work the same.
  json::object by_ref;
  for (const auto& [name, a] : arts)
    by_ref[(std::string(name) == "model" ? "train/" : "evaluate/") + std::string(name)] = a;
  auto ref = gate("by-ref", json::object{{"version", 5}, {"artifacts", by_ref}});
  CHECK(ref.at("deployed_accuracy") == ref.at("candidate_accuracy"));
  ValidateModelOptions margin;
  margin.min_delta = 0.01;
  auto no = gate("margin", same, margin);
  CHECK_FALSE(no.at("promoted").as_bool());
  CHECK_THAT(std::string(no.at("reason").as_string()), Catch::Contains("deployed version 3"));

  // Unusable artifacts: the recorded accuracy stands in; without it the gate fails closed.
  json::object broken{
      {"version", 4}, {"artifacts", json::object{}}, {"metrics", json::object{{"accuracy", 1.01}}}};
  auto rec = gate("recorded", broken);
  CHECK_FALSE(rec.at("promoted").as_bool());
  CHECK_THAT(std::string(rec.at("reason").as_string()), Catch::Contains("recorded accuracy"));
  broken["metrics"] = json::object{};
  auto closed = gate("closed", broken);
  CHECK_FALSE(closed.at("promoted").as_bool());
  CHECK_THAT(std::string(closed.at("reason").as_string()), Catch::Contains("cannot be compared"));
}

TEST_CASE("png encoder writes a valid greyscale PNG", "[tasks][analyse]") {
  std::vector<uint8_t> px = {0, 64, 128, 255, 10, 20};
  std::string png = encode_png_gray(px, 3, 2);
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](size_t o) {
    return (uint32_t(uint8_t(png[o])) << 24) | (uint32_t(uint8_t(png[o + 1])) << 16) |
           (uint32_t(uint8_t(png[o + 2])) << 8) | uint32_t(uint8_t(png[o + 3]));
  };
  CHECK(png.substr(12, 4) == "IHDR");
  CHECK(be32(16) == 3);
  CHECK(be32(20) == 2);
  CHECK(be32(29) == crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17));
  const uint32_t idat_len = be32(33);
  REQUIRE(png.substr(37, 4) == "IDAT");
  std::vector<uint8_t> raw(2 * 4);
  uLongf raw_len = raw.size();
  REQUIRE(uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(png.data() + 41),
                     idat_len) == Z_OK);
  CHECK(raw == std::vector<uint8_t>{0, 0, 64, 128, 0, 255, 10, 20});
  CHECK(png.substr(png.size() - 8, 4) == "IEND");
}

TEST_CASE("analyse slices predictions and writes the hardest mistakes as PNGs",
          "[tasks][analyse]") {
  auto& t = trained();
  TempDir d;
  // Predictions with three known mistakes (ids are test-set sample ids).
  auto test = read_dataset(t.p.dir("transform") + "/testset.ctds");
  REQUIRE(test);
  json::array ids, labels, pred, conf;
  for (int64_t s = 0; s < test->size(); ++s) {
    int l = test->labels[s];
    int p = s < 3 ? (l + 1) % 10 : l;
    ids.push_back(test->ids[s]);
    labels.push_back(l);
    pred.push_back(p);
    conf.push_back(s < 3 ? 0.4 + 0.2 * static_cast<double>(s) : 1.0);
  }
  REQUIRE(write_json(
      d / "pred.json",
      json::object{{"ids", ids}, {"labels", labels}, {"pred", pred}, {"confidence", conf}}));
  TaskContext c;
  c.workdir = d.path();
  c.overrides["predictions"] = d / "pred.json";
  c.overrides["testset"] = t.p.dir("transform") + "/testset.ctds";
  auto r = run_analyse(c, {2, 4});
  REQUIRE(r);
  CHECK(r->outputs.at("misclassified").as_int64() == 3);
  const auto& hardest = r->outputs.at("hardest").as_array();
  REQUIRE(hardest.size() == 2);
  CHECK(hardest[0].at("id").as_int64() == test->ids[2]);  // the most confident mistake first
  CHECK(r->artifacts.count("hardest-1") == 1);
  CHECK(r->artifacts.count("hardest-2") == 0);
  std::ifstream png(d / "hardest-0.png", std::ios::binary);
  std::string head(24, '\0');
  png.read(head.data(), 24);
  CHECK(head.substr(1, 3) == "PNG");
  CHECK(static_cast<uint8_t>(head[19]) == 112);  // width 28 * 4
}

TEST_CASE("register emits register and deploy operations with lineage", "[tasks][register]") {
  auto& t = trained();
  Pipeline p(t.dir / "reg");
  p.inputs = t.p.inputs;
  p.inputs["models"] =
      json::object{{"mnist", json::object{{"deployed", json::object{{"version", 2}}}}}};
  RegisterOptions o;
  o.deploy_alias = "production";
  auto r = p.step("register", [o](const TaskContext& c) { return run_register(c, o); });
  REQUIRE(r);
  REQUIRE(r->registry.size() == 2);
  const auto& reg = r->registry[0].as_object();
  CHECK(reg.at("op") == "register");
  CHECK(reg.at("artifacts") == json::parse(R"(["train/model","evaluate/index",
                                               "evaluate/index-labels","model-card"])"));
  const auto& lineage = reg.at("lineage").as_object();
  CHECK(lineage.at("run_id") == "7");
  CHECK(lineage.at("pipeline_version") == "abc123");
  CHECK(lineage.at("parent_version").as_int64() == 2);
  const auto& parts = t.p.inputs.at("tasks").at("extract").at("outputs").at("partitions");
  CHECK(lineage.at("partitions").as_array().size() == parts.as_array().size());
  CHECK(lineage.at("partitions").as_array()[0].at("digest") == parts.as_array()[0].at("digest"));
  CHECK(reg.at("metrics").at("accuracy") == t.eval->outputs.at("accuracy"));
  CHECK(r->registry[1].at("op") == "deploy");
  CHECK(r->registry[1].at("version") == "registered");
  // Without evaluate's accuracy there is nothing to register.
  Pipeline bare(t.dir / "bare");
  auto none = bare.step("register", [](const TaskContext& c) { return run_register(c, {}); });
  REQUIRE_FALSE(none);
}

// The Makefile installs libopenblas0-pthread, which takes over libblas.so.3: faiss and torch
// must not run on Debian's reference BLAS (~45x slower exact kNN).
TEST_CASE("the process runs on OpenBLAS, not the reference BLAS", "[tasks][runtime]") {
  BlasInfo b = detect_blas();
  INFO(b.library);
  CHECK_FALSE(b.library.empty());
  CHECK(b.openblas);
  CHECK_FALSE(b.reference);
}
