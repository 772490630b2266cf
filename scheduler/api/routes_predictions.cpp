// The prediction log over HTTP (issue 21): predictors post what they answered, labellers post
// ground truth later, the dashboard reads accuracy and drift per version. Bodies are checked by
// scheduler/monitor/records.hpp (errors name records[i].field); rows are written by
// store/predictions.hpp.
#include <fmt/format.h>

#include "scheduler/api/errors.hpp"
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/monitor/records.hpp"
#include "scheduler/store/monitors.hpp"
#include "scheduler/store/predictions.hpp"

namespace ctflow::api {

namespace {

namespace json = boost::json;

Response post_predictions(Services& s, const Request& req) {
  auto [body, err] = http::parse_json_body(req);
  if (err) return *err;
  auto parsed = monitor::parse_predictions(body);
  if (auto* e = std::get_if<domain::Error>(&parsed)) return error_response(*e, req.path);
  const auto& records = std::get<0>(parsed);
  store::StoredPredictions out;
  {
    auto lease = s.pool.acquire();
    store::with_tx(*lease, [&](store::Tx& tx) { out = store::store_predictions(tx, records); });
  }
  if (out.unknown_index) {
    const bool no_model = out.unknown_reason.rfind("no model", 0) == 0;
    return http::bad_request(fmt::format("records[{}].{}: {}", *out.unknown_index,
                                         no_model ? "model" : "version", out.unknown_reason),
                             req.path);
  }
  return http::json_response(200,
                             json::object{{"stored", out.stored}, {"duplicates", out.duplicates}});
}

Response post_label(Services& s, const Request& req, const PathParams& pp) {
  const std::string id = pp.get("request_id");
  if (!monitor::valid_request_id(id))
    return http::bad_request("request_id: expected 1-128 characters of [A-Za-z0-9_.:-]", req.path);
  auto [body, err] = http::parse_json_body(req);
  if (err) return *err;
  auto label = monitor::parse_label(body);
  if (auto* e = std::get_if<domain::Error>(&label)) return error_response(*e, req.path);
  bool found = false;
  {
    auto lease = s.pool.acquire();
    store::with_tx(*lease,
                   [&](store::Tx& tx) { found = store::set_label(tx, id, std::get<0>(label)); });
  }
  if (!found) return http::not_found("no prediction with request id " + id, req.path);
  return http::json_response(200, json::object{{"request_id", id}, {"label", std::get<0>(label)}});
}

Response post_labels(Services& s, const Request& req) {
  auto [body, err] = http::parse_json_body(req);
  if (err) return *err;
  auto parsed = monitor::parse_labels(body);
  if (auto* e = std::get_if<domain::Error>(&parsed)) return error_response(*e, req.path);
  store::LabeledPredictions out;
  {
    auto lease = s.pool.acquire();
    store::with_tx(*lease,
                   [&](store::Tx& tx) { out = store::set_labels(tx, std::get<0>(parsed)); });
  }
  json::array unknown;
  for (const auto& id : out.unknown) unknown.emplace_back(id);
  return http::json_response(
      200, json::object{{"labeled", out.labeled}, {"unknown", std::move(unknown)}});
}

Response get_monitor(Services& s, const Request& req, const PathParams& pp) {
  Millis bucket{3'600'000};
  if (auto b = req.query_value("bucket")) {
    auto d = parse_duration(*b);
    if (!d || *d < Millis(1000) || *d > Millis(86'400'000LL * 31))
      return http::bad_request("bucket: expected a duration from 1s to 31d (e.g. 1h)", req.path);
    bucket = *d;
  }
  int points = 48;
  if (auto p = req.query_value("points")) {
    try {
      size_t used = 0;
      points = std::stoi(*p, &used);
      if (used != p->size()) points = 0;
    } catch (const std::exception&) {
      points = 0;
    }
    if (points < 1 || points > 1000)
      return http::bad_request("points: expected an integer from 1 to 1000", req.path);
  }
  std::optional<json::object> out;
  {
    auto lease = s.pool.acquire();
    store::with_read(*lease, [&](store::Tx& tx) {
      out = store::monitor_series(tx, pp.get("name"), bucket, points);
      if (out) (*out)["monitors"] = store::monitor_checks(tx, pp.get("name"), points);
    });
  }
  if (!out) return http::not_found("no model named \"" + pp.get("name") + "\"", req.path);
  return http::json_response(200, *out);
}

json::value schema(std::string_view text) {
  return json::parse(text);
}

}  // namespace

void add_prediction_routes(http::Router& r, Services& s) {
  http::Route post;
  post.method = "POST";
  post.pattern = "/api/v1/predictions";
  post.summary = "Log predictions (at most 10,000 records; idempotent on request_id)";
  post.min_role = Role::Operator;
  post.tag = "predictions";
  post.handler = [&s](const Request& req, const PathParams&, const Principal&) {
    return post_predictions(s, req);
  };
  post.request_schema = schema(R"({"type": "object", "required": ["records"], "properties": {
    "records": {"type": "array", "minItems": 1, "maxItems": 10000, "items": {"type": "object",
      "required": ["request_id", "time", "model", "version", "prediction", "latency_ms", "summary"],
      "properties": {"request_id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"},
        "time": {"type": "string", "format": "date-time"}, "model": {"type": "string"},
        "version": {"type": "integer", "minimum": 1}, "prediction": {"type": "integer", "minimum": 0},
        "latency_ms": {"type": "number", "minimum": 0},
        "summary": {"type": "object", "required": ["mean", "ink", "hist"], "properties": {
          "mean": {"type": "number"}, "ink": {"type": "number"},
          "hist": {"type": "array", "minItems": 8, "maxItems": 8, "items": {"type": "number"}}}}}}}}})");
  post.response_schema = schema(R"({"type": "object", "properties": {
    "stored": {"type": "integer"}, "duplicates": {"type": "integer"}}})");
  r.add(std::move(post));

  http::Route label;
  label.method = "POST";
  label.pattern = "/api/v1/predictions/{request_id}/label";
  label.summary = "Set the ground-truth label of one logged prediction";
  label.min_role = Role::Operator;
  label.tag = "predictions";
  label.handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
    return post_label(s, req, pp);
  };
  label.request_schema = schema(
      R"({"type": "object", "required": ["label"], "properties": {"label": {"type": "integer", "minimum": 0}}})");
  r.add(std::move(label));

  http::Route labels;
  labels.method = "POST";
  labels.pattern = "/api/v1/predictions/labels";
  labels.summary = "Set ground-truth labels of logged predictions in a batch";
  labels.min_role = Role::Operator;
  labels.tag = "predictions";
  labels.handler = [&s](const Request& req, const PathParams&, const Principal&) {
    return post_labels(s, req);
  };
  labels.request_schema = schema(R"({"type": "object", "required": ["labels"], "properties": {
    "labels": {"type": "array", "minItems": 1, "maxItems": 10000, "items": {"type": "object",
      "required": ["request_id", "label"], "properties": {"request_id": {"type": "string"},
        "label": {"type": "integer", "minimum": 0}}}}}})");
  labels.response_schema = schema(R"({"type": "object", "properties": {
    "labeled": {"type": "integer"}, "unknown": {"type": "array", "items": {"type": "string"}}}})");
  r.add(std::move(labels));

  r.add({.method = "GET",
         .pattern = "/api/v1/models/{name}/monitor",
         .summary = "Live accuracy per version (time buckets) and the monitors' accuracy and "
                    "drift evaluations, for the dashboard",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp,
                         const Principal&) { return get_monitor(s, req, pp); },
         .tag = "models",
         .query = {{"bucket", "string", "bucket width, a duration (default 1h)"},
                   {"points", "integer", "newest buckets and checks per version (default 48)"}}});
}

}  // namespace ctflow::api
