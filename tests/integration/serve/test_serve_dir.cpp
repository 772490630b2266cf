// Integration: ctflow-serve --model-dir on a tiny trained model (issue 21, acceptance 1): v1 and
// v2 answer the labels the in-process KnnModel gives; bad payloads get a 4xx with a one-line
// message and the predictor keeps serving; a missing or corrupted artifact at load is a clear
// error and readiness stays false. An HNSW index (evaluate --index hnsw) serves the labels the
// in-process loader gives, and concurrent clients share batches whose stages /metrics times.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "tasks/data/dataset.hpp"
#include "tasks/eval/knn.hpp"
#include "tasks/model/knn_model.hpp"
#include "tests/integration/serve/serve_support.hpp"
#include "tests/integration/support/server_process.hpp"

using namespace ctflow;
using namespace ctflow::it;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

json::object post(ServeProcess& s, const std::string& target, const std::string& body, int* status,
                  cli::HttpReply* reply = nullptr) {
  auto c = s.client();
  auto r = c.request("POST", target, body);
  if (!r) throw std::runtime_error("POST " + target + ": " + r.error() + "\n" + s.log());
  *status = r->status;
  if (reply) *reply = *r;
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

std::string v2_body(const TinyModel& m, int64_t from, int64_t n) {
  std::string data;
  for (int64_t i = from; i < from + n; ++i) data += (data.empty() ? "" : ",") + image_json(m, i);
  return R"({"id":"t1","inputs":[{"name":"input-0","shape":[)" + std::to_string(n) +
         R"(,784],"datatype":"FP32","data":[)" + data + "]}]}";
}

}  // namespace

TEST_CASE("ctflow-serve --model-dir answers v1 and v2 with the in-process labels",
          "[integration][serve]") {
  const TinyModel& m = tiny_model();
  TempDir tmp;
  ServeProcess s({"--model-dir", m.dir, "--model", "mnist", "--threads", "1"}, tmp / "serve.log");
  s.wait_live();
  REQUIRE(s.wait_ready(200));
  INFO(s.log());

  int status = 0;
  std::string inst;
  for (int64_t i = 0; i < 8; ++i) inst += (i ? "," : "") + image_json(m, i);
  cli::HttpReply reply;
  auto v1 = post(s, "/v1/models/mnist:predict", R"({"instances":[)" + inst + "]}", &status, &reply);
  REQUIRE(status == 200);
  auto& preds = v1.at("predictions").as_array();
  REQUIRE(preds.size() == 8);
  for (int64_t i = 0; i < 8; ++i) CHECK(preds[i].as_int64() == m.expected[i]);
  CHECK(v1.at("request_ids").as_array().size() == 8);

  auto v2 = post(s, "/v2/models/mnist/infer", v2_body(m, 0, m.n), &status);
  REQUIRE(status == 200);
  CHECK(v2.at("id") == "t1");
  CHECK(v2.at("model_name") == "mnist");
  auto& out = v2.at("outputs").as_array()[0].as_object();
  CHECK(out.at("datatype") == "INT64");
  REQUIRE(out.at("shape").as_array()[0].as_int64() == m.n);
  int64_t same = 0;
  for (int64_t i = 0; i < m.n; ++i)
    same += out.at("data").as_array()[i].as_int64() == m.expected[i];
  CHECK(same == m.n);
  // Request ids: unique across requests of one process.
  auto ids1 = v1.at("request_ids").as_array();
  auto ids2 = v2.at("parameters").as_object().at("request_ids").as_array();
  for (const auto& a : ids1)
    for (const auto& b : ids2) CHECK(a != b);

  auto c = s.client();
  auto meta = c.request("GET", "/v2/models/mnist");
  REQUIRE(meta);
  CHECK(meta->status == 200);
  CHECK(json::parse(meta->body).as_object().at("name") == "mnist");
  auto metrics = c.request("GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("ctflow_serve_batch_images_count") != std::string::npos);
  CHECK(metrics->body.find("ctflow_serve_predictions_total{version=\"0\",class=") !=
        std::string::npos);
  CHECK(s.stop() == 0);
}

TEST_CASE("ctflow-serve: bad payloads get a 4xx with a message and the server keeps serving",
          "[integration][serve]") {
  const TinyModel& m = tiny_model();
  TempDir tmp;
  ServeProcess s({"--model-dir", m.dir, "--model", "mnist", "--threads", "1", "--body-limit",
                  "200000", "--max-images", "100"},
                 tmp / "serve.log");
  s.wait_live();
  REQUIRE(s.wait_ready(200));
  INFO(s.log());
  const std::string good = v2_body(m, 0, 1);
  std::string big = R"({"instances":[)";
  while (big.size() < 250000) big += image_json(m, 0) + ",";
  big += image_json(m, 0) + "]}";
  struct Case {
    const char* what;
    std::string target, body;
    int status;
    const char* message;
  };
  const std::vector<Case> cases{
      {"invalid JSON", "/v2/models/mnist/infer", "{\"inputs\": [", 400, "invalid JSON"},
      {"NaN", "/v1/models/mnist:predict", "{\"instances\": [[NaN]]}", 400, "invalid JSON"},
      {"wrong shape", "/v2/models/mnist/infer",
       R"({"inputs":[{"name":"x","shape":[1,10],"datatype":"FP32","data":[0]}]})", 400,
       "inputs[0].shape"},
      {"wrong datatype", "/v2/models/mnist/infer",
       R"({"inputs":[{"name":"x","shape":[1,784],"datatype":"BYTES","data":["a"]}]})", 400,
       "inputs[0].datatype: expected FP32"},
      {"huge number", "/v1/models/mnist:predict", R"({"instances":[[1e999]]})", 400, ""},
      {"body over the limit", "/v1/models/mnist:predict", big, 413, ""},
      {"unknown model v2", "/v2/models/fashion/infer", good, 404, "is not served here"},
      {"unknown model v1", "/v1/models/fashion:predict", R"({"instances":[]})", 404,
       "is not served here"},
      {"not :predict", "/v1/models/mnist:explain", R"({"instances":[]})", 404, ":predict"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto cl = s.client();
    auto r = cl.request("POST", c.target, c.body);
    if (!r) {
      // The body limit closes the connection (the server may not wait for the whole body).
      CHECK(c.status == 413);
    } else {
      CHECK(r->status == c.status);
      CHECK(r->body.find(c.message) != std::string::npos);
      const auto nl = r->body.find('\n');  // one line
      CHECK((nl == std::string::npos || nl == r->body.size() - 1));
    }
    int status = 0;
    post(s, "/v2/models/mnist/infer", good, &status);
    CHECK(status == 200);  // still serving
  }
}

TEST_CASE("ctflow-serve: a missing or corrupted artifact is a clear error and not ready",
          "[integration][serve]") {
  const TinyModel& m = tiny_model();
  TempDir tmp;
  const std::string bad = tmp / "bad";
  fs::create_directories(bad);
  for (const char* f : {"model.pt", "index.faiss", "index-labels.json"})
    fs::copy_file(m.dir + "/" + f, bad + "/" + f);
  { std::ofstream(bad + "/model.pt", std::ios::trunc) << "not a TorchScript file"; }
  ServeProcess s({"--model-dir", bad, "--model", "mnist", "--threads", "1"}, tmp / "bad.log");
  s.wait_live();
  auto c = s.client();
  auto r = c.request("GET", "/v2/health/ready");
  REQUIRE(r);
  CHECK(r->status == 503);
  INFO(r->body);
  CHECK(r->body.find("model.pt is not a TorchScript module") != std::string::npos);
  int status = 0;
  post(s, "/v2/models/mnist/infer", v2_body(m, 0, 1), &status);
  CHECK(status == 503);
  CHECK(s.log().find("is not a TorchScript module") != std::string::npos);

  fs::remove(bad + "/index.faiss");
  ServeProcess s2({"--model-dir", bad, "--model", "mnist"}, tmp / "missing.log");
  s2.wait_live();
  auto c2 = s2.client();
  auto r2 = c2.request("GET", "/v2/health/ready");
  REQUIRE(r2);
  CHECK(r2->status == 503);
  CHECK(r2->body.find("has no index.faiss") != std::string::npos);
}

TEST_CASE("ctflow-serve serves an hnsw index and batches concurrent requests",
          "[integration][serve]") {
  const TinyModel& m = tiny_model();
  TempDir tmp;
  // The tiny model's flat index turned into HNSW, as `evaluate --index hnsw` writes it.
  const std::string dir = tmp / "hnsw";
  fs::create_directories(dir);
  auto flat = tasks::KnnIndex::read(m.dir + "/index.faiss");
  REQUIRE(flat);
  auto hnsw = (*flat)->to_hnsw({.m = 16, .ef_construction = 64, .ef_search = 32});
  REQUIRE(hnsw);
  REQUIRE((*hnsw)->write(dir + "/index.faiss"));
  fs::copy_file(m.dir + "/model.pt", dir + "/model.pt");
  auto meta = tasks::read_json_object(m.dir + "/index-labels.json");
  REQUIRE(meta);
  (*meta)["index"] = "hnsw";
  (*meta)["ef_search"] = 32;
  REQUIRE(tasks::write_json(dir + "/index-labels.json", *meta));
  auto files = tasks::files_in_dir(dir);
  REQUIRE(files);
  auto knn = tasks::KnnModel::load(*files);
  REQUIRE(knn);
  REQUIRE((*knn)->hnsw());
  auto expected = (*knn)->predict(m.images.data(), m.n);
  REQUIRE(expected);

  ServeProcess s({"--model-dir", dir, "--model", "mnist", "--threads", "1", "--max-delay-ms", "20"},
                 tmp / "serve.log");
  s.wait_live();
  REQUIRE(s.wait_ready(200));
  INFO(s.log());
  // 8 clients, 6 one-image requests each: every answer is the in-process HNSW label.
  constexpr int kClients = 8, kEach = 6;
  std::vector<int> wrong(kClients, 0), failed(kClients, 0);
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t)
    clients.emplace_back([&, t] {
      auto c = s.client();
      for (int r = 0; r < kEach; ++r) {
        const int64_t i = (t * kEach + r) % m.n;
        auto reply = c.request("POST", "/v2/models/mnist/infer", v2_body(m, i, 1));
        if (!reply || reply->status != 200) {
          ++failed[t];
          continue;
        }
        auto v = json::parse(reply->body).as_object();
        const auto& out = v.at("outputs").as_array()[0].as_object();
        wrong[t] += out.at("data").as_array()[0].as_int64() != expected->pred[i];
      }
    });
  for (auto& c : clients) c.join();
  for (int t = 0; t < kClients; ++t) {
    CHECK(failed[t] == 0);
    CHECK(wrong[t] == 0);
  }
  // /metrics: concurrent clients shared forward passes, and each stage was timed per batch.
  auto metrics = s.client().request("GET", "/metrics");
  REQUIRE(metrics);
  auto value = [&](const std::string& name) {
    const auto at = metrics->body.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stod(metrics->body.substr(at + name.size() + 2));
  };
  const double batches = value("ctflow_serve_batch_requests_count");
  CHECK(value("ctflow_serve_batch_requests_sum") == kClients * kEach);
  CHECK(batches < kClients * kEach);  // some batch held more than one request
  CHECK(value("ctflow_serve_search_seconds_count") == batches);
  CHECK(value("ctflow_serve_embed_seconds_sum") > 0);
  CHECK(value("ctflow_serve_batch_wait_seconds_count") == batches);
  CHECK(s.stop() == 0);
}
