// Router::openapi(): generated from the route table, so every route is documented and every
// documented operation answers.
#include "scheduler/api/http/metrics.hpp"
#include "scheduler/api/http/router.hpp"

#include <catch2/catch.hpp>

using namespace ctflow::http;
namespace json = boost::json;

namespace {

Route route(std::string method, std::string pattern, std::string summary, Role role, Handler h) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.summary = std::move(summary);
  r.min_role = role;
  r.handler = std::move(h);
  return r;
}

Router sample(MetricsRegistry& metrics) {
  Router r;
  r.set_authenticator([](std::string_view) { return Principal{Role::Admin, "t", ""}; });
  auto ok = [](const Request&, const PathParams&, const Principal&) { return no_content(); };
  Route list = route("GET", "/api/v1/runs", "List runs", Role::Viewer, ok);
  list.query = {{"limit", "integer", "page size", false}, {"cursor", "string", "next page", false}};
  r.add(list);
  Route submit = route("POST", "/api/v1/runs", "Submit a run", Role::Operator, ok);
  submit.request_schema = {{"type", "object"}, {"required", {"pipeline"}}};
  submit.success_status = 201;
  r.add(submit);
  r.add(route("GET", "/api/v1/runs/{id}/tasks/{name}", "A task", Role::Viewer, ok));
  r.add(route("GET", "/api/v1/artifacts/{digest}/files/{path*}", "A file of an artifact",
              Role::Viewer, ok));
  r.add(route("GET", "/healthz", "Process up", Role::None, ok));
  r.add(metrics_route(metrics));
  r.add_openapi_route();
  return r;
}

}  // namespace

TEST_CASE("the OpenAPI document lists every route with its parameters", "[http][openapi]") {
  MetricsRegistry metrics;
  Router r = sample(metrics);
  json::value doc = r.openapi();
  CHECK(doc.at("openapi") == "3.0.3");
  const json::object& paths = doc.at("paths").as_object();
  for (const Route& route : r.routes()) {
    std::string p = route.pattern;
    if (auto star = p.find("*}"); star != std::string::npos) p.erase(star, 1);
    std::string m = route.method;
    for (char& c : m) c = static_cast<char>(std::tolower(c));
    INFO(route.method << " " << route.pattern);
    REQUIRE(paths.contains(p));
    REQUIRE(paths.at(p).as_object().contains(m));
  }
  size_t operations = 0;
  for (const auto& item : paths) operations += item.value().as_object().size();
  CHECK(operations == r.routes().size());

  const json::object& task = paths.at("/api/v1/runs/{id}/tasks/{name}").at("get").as_object();
  const json::array& params = task.at("parameters").as_array();
  REQUIRE(params.size() == 2);
  CHECK(params[0].at("name") == "id");
  CHECK(params[0].at("in") == "path");
  CHECK(params[1].at("name") == "name");
  CHECK(task.at("responses").as_object().contains("401"));

  const json::object& post = paths.at("/api/v1/runs").at("post").as_object();
  CHECK(post.at("responses").as_object().contains("201"));
  CHECK(post.at("requestBody").at("content").at("application/json").at("schema").at("type") ==
        "object");
  CHECK(post.at("x-min-role") == "operator");
  CHECK(paths.at("/api/v1/runs").at("get").at("parameters").as_array().size() == 2);
}

TEST_CASE("the OpenAPI document declares bearer auth and the error schema", "[http][openapi]") {
  MetricsRegistry metrics;
  json::value doc = sample(metrics).openapi();
  CHECK(doc.at("components").at("securitySchemes").at("bearerAuth").at("scheme") == "bearer");
  CHECK(doc.at("security").as_array().size() == 1);
  const auto& err = doc.at("components").at("schemas").at("Error").at("properties").at("error");
  CHECK(err.at("required").as_array().size() == 3);
  // Public routes override the document-wide requirement with an empty one.
  CHECK(doc.at("paths").at("/healthz").at("get").at("security").as_array().empty());
}

TEST_CASE("every documented operation answers", "[http][openapi]") {
  MetricsRegistry metrics;
  Router r = sample(metrics);
  json::value doc = r.openapi();
  for (const auto& item : doc.at("paths").as_object()) {
    for (const auto& op : item.value().as_object()) {
      Request req;
      req.method = std::string(op.key());
      for (char& c : req.method) c = static_cast<char>(std::toupper(c));
      std::string path(item.key());
      for (size_t b; (b = path.find('{')) != std::string::npos;)
        path.replace(b, path.find('}', b) - b + 1, "x");
      req.path = path;
      req.bearer_token = "t";
      Response res = r.handle_request(req);
      INFO(req.method << " " << req.path);
      CHECK(res.status != 404);
      CHECK(res.status != 405);
    }
  }
}

TEST_CASE("the openapi route serves the document without a token", "[http][openapi]") {
  MetricsRegistry metrics;
  Router r = sample(metrics);
  Request req;
  req.method = "GET";
  req.path = "/api/v1/openapi.json";
  Response res = r.handle_request(req);
  REQUIRE(res.status == 200);
  CHECK(json::parse(res.body).at("paths").as_object().contains("/api/v1/openapi.json"));
}
