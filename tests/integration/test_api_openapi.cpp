// Integration: the OpenAPI document and the route table cannot drift apart (issue 4, acceptance
// 3). The route table is built here exactly as the server builds it (the add_*_routes functions
// of scheduler/api/service.hpp); every route of it must be in the server's
// /api/v1/openapi.json, and every documented operation must answer: neither 405 nor the
// router's own 404 ("no route"), with real ids filled in where the test knows them.
#include <catch2/catch.hpp>

#include "scheduler/api/service.hpp"
#include "tests/integration/api_support.hpp"

using namespace ctflow::it;
using namespace ctflow::it::api;
namespace http = ctflow::http;

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The route table of `ctflow server`, built on an unused pool (no connection is opened).
http::Router server_table(const std::string& db_url) {
  static ctflow::store::Pool pool(db_url, 1);
  static ctflow::api::EventHub hub(db_url);
  static http::MetricsRegistry metrics;
  static ctflow::api::Services s{pool, hub, metrics, nullptr, "/nonexistent"};
  http::Router r;
  ctflow::api::add_health_routes(r, s);
  ctflow::api::add_run_routes(r, s);
  ctflow::api::add_stream_routes(r, s);
  ctflow::api::add_token_routes(r, s);
  ctflow::api::add_resource_routes(r, s);
  ctflow::api::add_model_routes(r, s);
  ctflow::api::add_study_routes(r, s);
  ctflow::api::add_dashboard_routes(r, s);
  ctflow::api::add_prediction_routes(r, s);
  r.add_openapi_route();
  return r;
}

// A concrete path for a documented pattern: ids the seed created where the test knows them.
std::string fill(const std::string& pattern, const Seed& s) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] != '{') {
      out += pattern[i++];
      continue;
    }
    size_t end = pattern.find('}', i);
    std::string name = pattern.substr(i + 1, end - i - 1);
    std::string value = "x";
    if (name == "id") value = out.find("/tokens") != std::string::npos ? "999999" : s.failed_run;
    if (name == "name") {
      if (out.find("/pipelines") != std::string::npos) value = s.pipeline;
      if (out.find("/tasks") != std::string::npos) value = "train";
      if (out.find("/models") != std::string::npos) value = s.model;
    }
    if (name == "v") value = "1";
    if (name == "digest") value = s.digest;
    if (name == "alias") value = "staging";
    out += value;
    i = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("openapi: every route documented, every documented route answers", "[integration][api]") {
  Harness h;
  auto s = seed(h);
  auto c = client(h.server(), s.admin);
  auto doc_r = c.request("GET", "/api/v1/openapi.json");
  REQUIRE(doc_r);
  REQUIRE(doc_r->status == 200);
  auto doc = json::parse(doc_r->body).as_object();
  CHECK(std::string(doc.at("openapi").as_string()).rfind("3.", 0) == 0);
  const auto& paths = doc.at("paths").as_object();

  auto table = server_table(h.db().url());
  REQUIRE(table.routes().size() >= 25);
  for (const auto& route : table.routes()) {
    INFO("route not documented: " << route.method << " " << route.pattern);
    auto* item = paths.if_contains(route.pattern);
    REQUIRE(item);
    std::string m = route.method;
    for (auto& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    CHECK(item->as_object().contains(m));
  }

  int operations = 0;
  for (const auto& [pattern, item] : paths) {
    for (const auto& [method, op] : item.as_object()) {
      std::string m = upper(std::string(method));
      std::string path = fill(std::string(pattern), s);
      bool streaming = path == "/api/v1/events";
      ++operations;
      INFO(m << " " << pattern << " as " << path);
      int status = 0;
      std::string body;
      if (streaming) {
        auto st = c.stream(path, "", [](std::string_view) { return false; });
        REQUIRE(st);
        status = *st;
      } else {
        auto r = c.request(m, path, m == "GET" || m == "DELETE" ? "" : "{}");
        REQUIRE(r);
        status = r->status;
        body = r->body;
      }
      INFO(status << " " << body.substr(0, 300));
      CHECK(status != 405);
      CHECK(!(status == 404 && body.find("no route") != std::string::npos));
      CHECK(status < 500);
    }
  }
  CHECK(operations >= static_cast<int>(table.routes().size()));
}
