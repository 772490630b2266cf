// Integration: ctflow-serve --model-dir on a tiny trained model (issue 21, acceptance 1): v1 and
// v2 answer the labels the in-process KnnModel gives; bad payloads get a 4xx with a one-line
// message and the predictor keeps serving; a missing or corrupted artifact at load is a clear
// error and readiness stays false.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

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
