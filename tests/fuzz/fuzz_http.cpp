// libFuzzer harness for the HTTP request path: raw bytes -> Beast's request_parser (with header
// and body limits, as the server sets them) -> Request -> Router::handle_request -> Response ->
// serialized Beast response. Checks the properties the API promises on every input: a status in
// range, a JSON error body for every error, and no mutating handler reached without a token of
// the right role.
#include "scheduler/api/http/beast_convert.hpp"
#include "scheduler/api/http/metrics.hpp"
#include "scheduler/api/http/router.hpp"
#include "scheduler/api/http/sse.hpp"

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

using namespace ctflow::http;
namespace json = boost::json;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

Route route(std::string method, std::string pattern, Role role, Handler h) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.min_role = role;
  r.handler = std::move(h);
  return r;
}

Response echo(const Request& req, const PathParams& p, const Principal& who) {
  json::object o{{"role", role_name(who.role)}, {"path", req.path}};
  for (const auto& [k, v] : p.items()) o[k] = v;
  for (const auto& [k, v] : req.query) o["q_" + k] = v;
  return json_response(200, o);
}

// Mutating handlers assert that the router let only an operator (or better) in.
Response mutate(const Request& req, const PathParams& p, const Principal& who) {
  require(who.role >= Role::Operator && !who.token_id.empty());
  auto [body, error] = parse_json_body(req);
  if (error) return *error;
  if (!body.is_object()) return unprocessable("expected a JSON object", req.path);
  if (auto id = p.get_int("id"); !p.get("id").empty() && !id)
    return bad_request("id must be an integer", req.path);
  return json_response(201, body);
}

Router& router() {
  static MetricsRegistry metrics;
  static Router r = [] {
    RouterOptions opt;
    opt.cors_allowed_origins = {"https://dash.example"};
    Router r(opt);
    r.set_authenticator([](std::string_view t) -> std::optional<Principal> {
      if (t == "viewer") return Principal{Role::Viewer, "t1", ""};
      if (t == "operator") return Principal{Role::Operator, "t2", ""};
      if (t == "admin") return Principal{Role::Admin, "t3", ""};
      return std::nullopt;
    });
    r.add(route("GET", "/healthz", Role::None, echo));
    r.add(route("GET", "/api/v1/runs", Role::Viewer, echo));
    r.add(route("POST", "/api/v1/runs", Role::Operator, mutate));
    r.add(route("GET", "/api/v1/runs/{id}", Role::Viewer, echo));
    r.add(route("POST", "/api/v1/runs/{id}/cancel", Role::Operator, mutate));
    r.add(route("DELETE", "/api/v1/runs/{id}", Role::Admin, mutate));
    r.add(route("GET", "/api/v1/runs/{id}/tasks/{name}/logs", Role::Viewer, echo));
    r.add(route("GET", "/api/v1/artifacts/{digest}/files/{path*}", Role::Viewer, echo));
    r.add(route("GET", "/api/v1/boom", Role::Viewer,
                [](const Request&, const PathParams&, const Principal&) -> Response {
                  throw std::runtime_error("boom");
                }));
    Route events = route("GET", "/api/v1/events", Role::Viewer,
                         [](const Request& req, const PathParams&, const Principal&) {
                           return sse_response([](StreamSink&) {});
                         });
    events.query_token = true;
    r.add(std::move(events));
    metrics.counter("ctflow_fuzz_total", "inputs").inc();
    r.add(metrics_route(metrics));
    r.add_openapi_route();
    return r;
  }();
  return r;
}

void check(const Response& res) {
  require(res.status >= 100 && res.status <= 599);
  if (res.status >= 400) {
    json::error_code ec;
    json::value v = json::parse(res.body, ec);
    require(!ec && v.is_object() && v.as_object().contains("error"));
    const json::value& e = v.at("error");
    require(e.is_object() && e.as_object().contains("code") && e.at("message").is_string());
  }
  if (res.status == 401) require(res.headers.count("WWW-Authenticate") == 1);
  BeastResponse out = to_beast(res, 11, true);
  std::ostringstream wire;
  wire << out;
  require(wire.str().size() >= res.body.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  boost::asio::const_buffer buf(data, size);
  while (buf.size() > 0 && !parser.is_done()) {
    size_t used = parser.put(buf, ec);
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec || used == 0) break;
    buf += used;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec) {
    check(parse_error_response(ec));
    return 0;
  }
  if (!parser.is_done()) return 0;
  // The server checks the framing once the header is read (request smuggling, RFC 9112 6).
  if (auto why = framing_error(parser.get())) {
    require(!why->empty() && why->find('\n') == std::string::npos);
    check(bad_request("malformed HTTP request: " + *why, ""));
    return 0;
  }

  Request req;
  std::optional<Response> bad = to_request(parser.get(), "127.0.0.1:1", req);
  Response res = bad ? std::move(*bad) : router().handle_request(req);
  check(res);
  if (res.stream) require(res.content_type == "text/event-stream");
  if (!req.body.empty()) {
    SseEvent e;
    e.id = req.header("Last-Event-ID").value_or("");
    e.data = req.body;
    std::string text = format_sse(e);
    require(text.size() >= 2 && text.compare(text.size() - 2, 2, "\n\n") == 0);
  }
  return 0;
}
