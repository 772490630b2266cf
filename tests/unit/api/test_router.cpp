// Router::handle_request without sockets: matching, path params, 404/405, auth by role, 500.
#include "scheduler/api/http/router.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace ctflow::http;
namespace json = boost::json;

namespace {

Request make(std::string method, std::string target, std::string token = "") {
  Request r;
  r.method = std::move(method);
  REQUIRE(split_target(target, r.path, r.query));
  r.bearer_token = std::move(token);
  return r;
}

json::object error_of(const Response& res) {
  return json::parse(res.body).as_object().at("error").as_object();
}

// Echoes the matched route and its path params.
Handler echo(std::string name) {
  return [name](const Request& req, const PathParams& p, const Principal& who) {
    json::object o{{"handler", name}, {"role", role_name(who.role)}};
    for (const auto& [k, v] : p.items()) o[k] = v;
    return json_response(200, o);
  };
}

Route route(std::string method, std::string pattern, Role role, Handler h) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.summary = "test";
  r.min_role = role;
  r.handler = std::move(h);
  return r;
}

// Tokens "v", "o", "a" are viewer, operator, admin; anything else is unknown.
std::optional<Principal> fake_auth(std::string_view token) {
  if (token == "v") return Principal{Role::Viewer, "t-v", ""};
  if (token == "o") return Principal{Role::Operator, "t-o", ""};
  if (token == "a") return Principal{Role::Admin, "t-a", ""};
  return std::nullopt;
}

Router test_router() {
  Router r;
  r.set_authenticator(fake_auth);
  r.add(route("GET", "/healthz", Role::None, echo("health")));
  r.add(route("GET", "/api/v1/runs", Role::Viewer, echo("list")));
  r.add(route("POST", "/api/v1/runs", Role::Operator, echo("submit")));
  r.add(route("GET", "/api/v1/runs/{id}", Role::Viewer, echo("get")));
  r.add(route("GET", "/api/v1/runs/latest", Role::Viewer, echo("latest")));
  r.add(route("DELETE", "/api/v1/runs/{id}", Role::Admin, echo("delete")));
  r.add(route("GET", "/api/v1/runs/{id}/tasks/{name}", Role::Viewer, echo("task")));
  r.add(route("GET", "/static/{path*}", Role::None, echo("static")));
  r.add(route("GET", "/boom", Role::None,
              [](const Request&, const PathParams&, const Principal&) -> Response {
                throw std::runtime_error("pq: relation \"runs\" does not exist\nat line 3");
              }));
  return r;
}

}  // namespace

TEST_CASE("router matches routes and extracts decoded path params", "[http][router]") {
  Router r = test_router();
  Response res = r.handle_request(make("GET", "/api/v1/runs/42/tasks/train%20model", "v"));
  REQUIRE(res.status == 200);
  auto body = json::parse(res.body).as_object();
  CHECK(body.at("handler") == "task");
  CHECK(body.at("id") == "42");
  CHECK(body.at("name") == "train model");
  CHECK(res.route == "/api/v1/runs/{id}/tasks/{name}");
}

TEST_CASE("router prefers literal segments and ignores a trailing slash", "[http][router]") {
  Router r = test_router();
  auto handler = [&](std::string target) {
    Response res = r.handle_request(make("GET", target, "v"));
    REQUIRE(res.status == 200);
    return std::string(json::parse(res.body).at("handler").as_string());
  };
  CHECK(handler("/api/v1/runs/latest") == "latest");
  CHECK(handler("/api/v1/runs/7") == "get");
  CHECK(handler("/api/v1/runs/") == "list");
  CHECK(handler("/api/v1/runs?limit=5") == "list");
}

TEST_CASE("a tail parameter captures the rest of the path", "[http][router]") {
  Router r = test_router();
  Response res = r.handle_request(make("GET", "/static/assets/app.js"));
  REQUIRE(res.status == 200);
  CHECK(json::parse(res.body).at("path") == "assets/app.js");
  CHECK(json::parse(r.handle_request(make("GET", "/static")).body).at("path") == "");
}

TEST_CASE("unknown path is 404 and wrong method is 405 with Allow", "[http][router]") {
  Router r = test_router();
  Response nf = r.handle_request(make("GET", "/api/v1/nope", "v"));
  CHECK(nf.status == 404);
  CHECK(error_of(nf).at("code") == "not_found");
  CHECK(error_of(nf).at("path") == "/api/v1/nope");
  CHECK(nf.route.empty());

  Response na = r.handle_request(make("PUT", "/api/v1/runs/3", "a"));
  CHECK(na.status == 405);
  CHECK(na.headers.at("allow") == "DELETE, GET");
  CHECK(error_of(na).at("code") == "method_not_allowed");
}

TEST_CASE("a malformed escape in the path is a 400", "[http][router]") {
  Router r = test_router();
  Request req;
  req.method = "GET";
  req.path = "/api/v1/runs/%zz";
  CHECK(r.handle_request(req).status == 400);
}

TEST_CASE("missing or unknown token is 401 with WWW-Authenticate", "[http][router][auth]") {
  Router r = test_router();
  Response missing = r.handle_request(make("GET", "/api/v1/runs"));
  CHECK(missing.status == 401);
  CHECK(missing.headers.at("WWW-Authenticate").find("Bearer") == 0);
  Response bad = r.handle_request(make("POST", "/api/v1/runs", "stolen"));
  CHECK(bad.status == 401);
  CHECK(bad.headers.at("WWW-Authenticate").find("invalid_token") != std::string::npos);
  CHECK(error_of(bad).at("code") == "unauthorized");
}

TEST_CASE("roles are ordered: viewer reads, operator submits, admin deletes",
          "[http][router][auth]") {
  Router r = test_router();
  CHECK(r.handle_request(make("GET", "/api/v1/runs", "v")).status == 200);
  Response f = r.handle_request(make("POST", "/api/v1/runs", "v"));
  CHECK(f.status == 403);
  CHECK(std::string(error_of(f).at("message").as_string()).find("needs operator") !=
        std::string::npos);
  CHECK(r.handle_request(make("POST", "/api/v1/runs", "o")).status == 200);
  CHECK(r.handle_request(make("POST", "/api/v1/runs", "a")).status == 200);
  CHECK(r.handle_request(make("DELETE", "/api/v1/runs/1", "o")).status == 403);
  Response ok = r.handle_request(make("DELETE", "/api/v1/runs/1", "a"));
  CHECK(ok.status == 200);
  CHECK(json::parse(ok.body).at("role") == "admin");
}

TEST_CASE("without an authenticator every protected route is 401", "[http][router][auth]") {
  Router r;
  int calls = 0;
  r.add(route("POST", "/api/v1/runs", Role::Operator,
              [&](const Request&, const PathParams&, const Principal&) {
                ++calls;
                return no_content();
              }));
  CHECK(r.handle_request(make("POST", "/api/v1/runs", "anything")).status == 401);
  CHECK(calls == 0);
}

TEST_CASE("public routes need no token", "[http][router][auth]") {
  Router r = test_router();
  Response res = r.handle_request(make("GET", "/healthz"));
  CHECK(res.status == 200);
  CHECK(json::parse(res.body).at("role") == "none");
}

TEST_CASE("a throwing handler gives a one-line 500 without its details", "[http][router]") {
  Router r = test_router();
  Response res = r.handle_request(make("GET", "/boom"));
  CHECK(res.status == 500);
  std::string msg(error_of(res).at("message").as_string());
  CHECK(error_of(res).at("code") == "internal");
  CHECK(msg.find('\n') == std::string::npos);
  CHECK(msg.find("relation") == std::string::npos);
}

TEST_CASE("add() refuses routes that would break the rules", "[http][router]") {
  Router r;
  auto h = echo("x");
  CHECK_THROWS_AS(r.add(route("POST", "/open", Role::None, h)), std::logic_error);
  CHECK_THROWS_AS(r.add(route("GET", "no-slash", Role::Viewer, h)), std::logic_error);
  CHECK_THROWS_AS(r.add(route("GET", "/a/{x*}/b", Role::Viewer, h)), std::logic_error);
  CHECK_THROWS_AS(r.add(route("GET", "/a/{x}/{x}", Role::Viewer, h)), std::logic_error);
  CHECK_THROWS_AS(r.add(route("GET", "/a", Role::Viewer, nullptr)), std::logic_error);
  r.add(route("GET", "/a/{id}", Role::Viewer, h));
  CHECK_THROWS_AS(r.add(route("GET", "/a/{other}", Role::Viewer, h)), std::logic_error);
  CHECK_NOTHROW(r.add(route("POST", "/a/{other}", Role::Operator, h)));
}

TEST_CASE("query_token lets a stream route take ?access_token=", "[http][router][auth]") {
  Router r;
  r.set_authenticator(fake_auth);
  Route ev = route("GET", "/api/v1/events", Role::Viewer, echo("events"));
  ev.query_token = true;
  r.add(std::move(ev));
  r.add(route("GET", "/api/v1/runs", Role::Viewer, echo("list")));
  CHECK(r.handle_request(make("GET", "/api/v1/events?access_token=v")).status == 200);
  CHECK(r.handle_request(make("GET", "/api/v1/runs?access_token=v")).status == 401);
}

TEST_CASE("CORS is off by default and answers preflights when configured", "[http][router]") {
  Request req = make("OPTIONS", "/api/v1/runs");
  req.headers["Origin"] = "https://dash.example";
  CHECK(test_router().handle_request(req).status == 405);

  RouterOptions options;
  options.cors_allowed_origins = {"https://dash.example"};
  Router r(options);
  r.add(route("GET", "/api/v1/runs", Role::Viewer, echo("list")));
  r.add(route("POST", "/api/v1/runs", Role::Operator, echo("submit")));
  Response pre = r.handle_request(req);
  CHECK(pre.status == 204);
  CHECK(pre.headers.at("Access-Control-Allow-Origin") == "https://dash.example");
  CHECK(pre.headers.at("Access-Control-Allow-Methods") == "GET, POST");

  req.headers["Origin"] = "https://evil.example";
  CHECK(r.handle_request(req).headers.count("Access-Control-Allow-Origin") == 0);
}
