#include "tasks/serve/routes.hpp"

namespace ctflow::serve {

namespace json = boost::json;
using http::PathParams;
using http::Principal;
using http::Request;
using http::Response;

namespace {

Response answered(json::object body, const Answer& a) {
  Response r = http::json_response(200, body);
  std::string ids;
  for (const auto& id : a.request_ids) ids += (ids.empty() ? "" : ",") + id;
  r.headers["X-Request-Id"] = ids;
  r.headers["X-Model-Version"] = std::to_string(a.version);
  return r;
}

Response unknown_model(const std::string& name, const Predictor& p, const Request& req) {
  return http::not_found(
      "model \"" + name + "\" is not served here (this predictor serves \"" + p.model() + "\")",
      req.path);
}

template <class Parse, class Render>
Response infer(Predictor& p, const RouteOptions& o, const Request& req, Parse parse,
               Render render) {
  auto [body, err] = http::parse_json_body(req);
  if (err) return *err;
  auto images = parse(body, o.max_images);
  if (!images) return http::bad_request(images.error(), req.path);
  if (!p.ready()) return http::unavailable("no model version is loaded yet", req.path);
  auto a = p.predict(*images);
  if (!a) return http::internal_error("prediction failed: " + a.error(), req.path);
  return answered(render(*images, *a), *a);
}

}  // namespace

void add_routes(http::Router& router, Predictor& p, http::MetricsRegistry& metrics,
                RouteOptions o) {
  using http::Role;
  auto add = [&](std::string method, std::string pattern, std::string summary,
                 http::Handler handler) {
    http::Route r;
    r.method = std::move(method);
    r.pattern = std::move(pattern);
    r.summary = std::move(summary);
    r.min_role = Role::None;
    r.tag = "inference";
    r.handler = std::move(handler);
    router.add(std::move(r));
  };
  auto ready_body = [&p, o] {
    const bool ready = p.ready();
    json::object b{{"ready", ready}, {"model", p.model()}, {"version", p.version()}};
    if (!ready) {
      std::string why = o.not_ready_reason ? o.not_ready_reason() : "";
      b["reason"] = why.empty() ? "no model version is loaded yet" : why;
    }
    return http::json_response(ready ? 200 : 503, b);
  };

  add("POST", "/v1/models/{spec}", "KServe v1 predict: POST /v1/models/NAME:predict",
      [&p, o](const Request& req, const PathParams& pp, const Principal&) {
        const std::string& spec = pp.get("spec");
        const auto colon = spec.rfind(':');
        if (colon == std::string::npos || spec.substr(colon + 1) != "predict")
          return http::not_found("expected POST /v1/models/NAME:predict", req.path);
        if (spec.substr(0, colon) != p.model()) return unknown_model(spec.substr(0, colon), p, req);
        return infer(p, o, req, parse_v1,
                     [](const Images&, const Answer& a) { return v1_response(a); });
      });
  add("GET", "/v1/models/{name}", "KServe v1 model status",
      [&p](const Request& req, const PathParams& pp, const Principal&) {
        if (pp.get("name") != p.model()) return unknown_model(pp.get("name"), p, req);
        return http::json_response(200, json::object{{"name", p.model()}, {"ready", p.ready()}});
      });
  add("POST", "/v2/models/{name}/infer", "Open Inference Protocol v2 infer",
      [&p, o](const Request& req, const PathParams& pp, const Principal&) {
        if (pp.get("name") != p.model()) return unknown_model(pp.get("name"), p, req);
        return infer(p, o, req, parse_v2, [&p](const Images& im, const Answer& a) {
          return v2_response(p.model(), im.id.empty() ? a.request_ids.front() : im.id, a);
        });
      });
  add("GET", "/v2/models/{name}", "Open Inference Protocol v2 model metadata",
      [&p](const Request& req, const PathParams& pp, const Principal&) {
        if (pp.get("name") != p.model()) return unknown_model(pp.get("name"), p, req);
        json::object m = v2_metadata(p.model(), p.version());
        if (p.canary_version())
          m["parameters"] = json::object{{"canary_version", p.canary_version()},
                                         {"canary_percent", p.canary_percent()}};
        return http::json_response(200, m);
      });
  add("GET", "/v2/models/{name}/ready", "Open Inference Protocol v2 model readiness",
      [&p, ready_body](const Request& req, const PathParams& pp, const Principal&) {
        if (pp.get("name") != p.model()) return unknown_model(pp.get("name"), p, req);
        return ready_body();
      });
  add("GET", "/v2/health/live", "Liveness",
      [](const Request&, const PathParams&, const Principal&) {
        return http::json_response(200, json::object{{"live", true}});
      });
  add("GET", "/v2/health/ready", "Readiness: a model version is loaded",
      [ready_body](const Request&, const PathParams&, const Principal&) { return ready_body(); });
  add("GET", "/v2", "Server metadata", [](const Request&, const PathParams&, const Principal&) {
    return http::json_response(
        200,
        json::object{{"name", "ctflow-serve"}, {"version", "1"}, {"extensions", json::array{}}});
  });
  router.add(http::metrics_route(metrics));
}

}  // namespace ctflow::serve
