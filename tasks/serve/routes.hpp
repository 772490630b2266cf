#pragma once
// The predictor's HTTP routes on an http::Router (scheduler/api/http/), all public (KServe has no
// auth; put ctflow-serve behind a gateway that has):
//   POST /v1/models/NAME:predict     KServe v1                 GET /v1/models/NAME {"name","ready"}
//   POST /v2/models/NAME/infer       Open Inference Protocol   GET /v2/models/NAME  metadata
//   GET  /v2/health/live, /v2/health/ready, /v2/models/NAME/ready, /v2      GET /metrics
// Bad requests (invalid JSON, wrong shape or datatype, a pixel outside [0,1], too many images)
// get 400 with {"error": {"code", "message", "path"}}; an unknown model name 404; a predictor
// with no version loaded 503. Every answer names the version that answered (body
// "model_version" and header X-Model-Version) and the request ids (X-Request-Id, comma-separated,
// one per image).
#include <functional>
#include <string>

#include "scheduler/api/http/metrics.hpp"
#include "scheduler/api/http/router.hpp"
#include "tasks/serve/predictor.hpp"

namespace ctflow::serve {

struct RouteOptions {
  int64_t max_images = 1024;  // per request
  // Why the predictor is not ready ("" when it is, or when it is still loading): readiness says it.
  std::function<std::string()> not_ready_reason;
};

// Adds the routes; `predictor` and `metrics` must outlive the router.
void add_routes(http::Router& router, Predictor& predictor, http::MetricsRegistry& metrics,
                RouteOptions options);

}  // namespace ctflow::serve
