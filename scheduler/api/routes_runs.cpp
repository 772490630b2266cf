// Pipelines, runs, tasks: the resources `ctflow submit/runs/run/cancel` and the dashboard use.
#include "scheduler/api/errors.hpp"
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/time_util.hpp"
#include "scheduler/domain/submit.hpp"
#include "scheduler/store/runs.hpp"

namespace ctflow::api {

namespace {

using domain::SubmitRequest;
using domain::SubmitResult;

// Reads {"params": {...}, "params_text": {...}} into the request.
std::optional<Response> read_params(const boost::json::object& body, SubmitRequest& sr,
                                    const std::string& path) {
  if (auto* p = body.if_contains("params")) {
    if (!p->is_object()) return http::bad_request("params: expected an object", path);
    sr.params_json = p->get_object();
  }
  if (auto* p = body.if_contains("params_text")) {
    if (!p->is_object()) return http::bad_request("params_text: expected an object", path);
    for (const auto& kv : p->get_object()) {
      if (!kv.value().is_string())
        return http::bad_request("params_text." + std::string(kv.key()) + ": expected a string",
                                 path);
      sr.params_text[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  }
  return std::nullopt;
}

Response do_submit(Services& s, const Request& req, SubmitRequest sr) {
  auto lease = s.pool.acquire();
  auto r = domain::submit(*lease, sr);
  if (auto* e = std::get_if<domain::Error>(&r)) return error_response(*e, req.path);
  const auto& ok = std::get<SubmitResult>(r);
  if (s.wake_engine) s.wake_engine();
  s.events.poke();
  return http::json_response(201, boost::json::object{{"id", std::to_string(ok.run_id)},
                                                      {"pipeline", ok.pipeline},
                                                      {"pipeline_version", ok.digest}});
}

Response bad_id(const Request& req) {
  return http::bad_request("id: expected a run id", req.path);
}

}  // namespace

void add_run_routes(http::Router& r, Services& s) {
  r.add(list_route(s, "/api/v1/pipelines", "List pipelines", Role::Viewer, "pipelines",
                   store::list_pipelines));
  r.add({.method = "POST",
         .pattern = "/api/v1/pipelines",
         .summary = "Store a pipeline version ({\"spec\": YAML or JSON text}); idempotent",
         .min_role = Role::Operator,
         .handler =
             [&s](const Request& req, const PathParams&, const Principal&) {
               auto [body, err] = http::parse_json_body(req);
               if (err) return *err;
               if (!body.is_object() || !body.as_object().contains("spec") ||
                   !body.as_object().at("spec").is_string())
                 return http::bad_request("spec: required, a string of YAML or JSON", req.path);
               auto lease = s.pool.acquire();
               auto r = domain::store_version(*lease,
                                              std::string(body.as_object().at("spec").as_string()));
               if (auto* e = std::get_if<domain::Error>(&r)) return error_response(*e, req.path);
               const auto& ok = std::get<SubmitResult>(r);
               return http::json_response(ok.version_created ? 201 : 200,
                                          boost::json::object{{"pipeline", ok.pipeline},
                                                              {"version", ok.digest},
                                                              {"created", ok.version_created}});
             },
         .success_status = 201});
  r.add({.method = "GET",
         .pattern = "/api/v1/pipelines/{name}",
         .summary = "A pipeline with its versions (newest first)",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
           auto lease = s.pool.acquire();
           std::optional<boost::json::object> out;
           store::with_tx(*lease,
                          [&](store::Tx& tx) { out = store::get_pipeline(tx, pp.get("name")); });
           if (!out)
             return http::not_found("pipeline \"" + pp.get("name") + "\" does not exist", req.path);
           return http::json_response(200, *out);
         }});
  r.add({.method = "POST",
         .pattern = "/api/v1/pipelines/{name}/runs",
         .summary = "Run the latest version of a stored pipeline ({\"params\": {...}})",
         .min_role = Role::Operator,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               SubmitRequest sr;
               sr.pipeline = pp.get("name");
               if (!req.body.empty()) {
                 auto [body, err] = http::parse_json_body(req);
                 if (err) return *err;
                 if (!body.is_object())
                   return http::bad_request("body: expected an object", req.path);
                 if (auto e = read_params(body.as_object(), sr, req.path)) return *e;
               }
               return do_submit(s, req, std::move(sr));
             },
         .success_status = 201});
  r.add({.method = "POST",
         .pattern = "/api/v1/runs",
         .summary = "Submit a run: {\"spec\": text} or {\"pipeline\": name}, with params",
         .min_role = Role::Operator,
         .handler =
             [&s](const Request& req, const PathParams&, const Principal&) {
               auto [body, err] = http::parse_json_body(req);
               if (err) return *err;
               if (!body.is_object())
                 return http::bad_request("body: expected an object", req.path);
               const auto& o = body.as_object();
               SubmitRequest sr;
               if (auto* v = o.if_contains("spec")) {
                 if (!v->is_string()) return http::bad_request("spec: expected a string", req.path);
                 sr.spec_text = std::string(v->get_string());
               }
               if (auto* v = o.if_contains("pipeline")) {
                 if (!v->is_string())
                   return http::bad_request("pipeline: expected a string", req.path);
                 sr.pipeline = std::string(v->get_string());
               }
               if (auto* v = o.if_contains("logical_date")) {
                 auto t = v->is_string() ? parse_iso8601(v->get_string()) : std::nullopt;
                 if (!t)
                   return http::bad_request("logical_date: expected an ISO-8601 instant", req.path);
                 sr.logical_date = *t;
               }
               if (auto e = read_params(o, sr, req.path)) return *e;
               return do_submit(s, req, std::move(sr));
             },
         .success_status = 201});
  r.add({.method = "GET",
         .pattern = "/api/v1/runs",
         .summary = "List runs, newest first; filters pipeline, state, since, until; cursor",
         .min_role = Role::Viewer,
         .handler =
             [&s](const Request& req, const PathParams&, const Principal&) {
               store::RunFilter f;
               f.pipeline = req.query_value("pipeline");
               f.state = req.query_value("state");
               for (const char* k : {"since", "until"}) {
                 if (auto v = req.query_value(k)) {
                   auto t = parse_iso8601(*v);
                   if (!t)
                     return http::bad_request(std::string(k) + ": expected an ISO-8601 instant",
                                              req.path);
                   (std::string(k) == "since" ? f.since : f.until) = format_iso8601(*t);
                 }
               }
               if (auto c = req.query_value("cursor")) {
                 try {
                   f.before_id = std::stoll(*c);
                 } catch (const std::exception&) {
                   return http::bad_request("cursor: expected the next_cursor of a previous page",
                                            req.path);
                 }
               }
               if (auto l = req.query_value("limit")) {
                 try {
                   f.limit = std::stoi(*l);
                 } catch (const std::exception&) {
                   return http::bad_request("limit: expected a number 1-500", req.path);
                 }
                 if (f.limit < 1 || f.limit > 500)
                   return http::bad_request("limit: expected a number 1-500", req.path);
               }
               auto lease = s.pool.acquire();
               boost::json::object out;
               store::with_read(*lease, [&](store::Tx& tx) { out = store::list_runs(tx, f); });
               return http::json_response(200, out);
             },
         .query = {{"pipeline", "string", "pipeline name"},
                   {"state", "string", "queued|running|succeeded|failed|cancelled"},
                   {"since", "string", "created at or after (ISO-8601)"},
                   {"until", "string", "created before (ISO-8601)"},
                   {"cursor", "string", "next_cursor of the previous page"},
                   {"limit", "integer", "page size, 1-500 (default 50)"}}});
  r.add({.method = "GET",
         .pattern = "/api/v1/runs/{id}",
         .summary = "A run with its tasks (`tasks=false`: the run alone)",
         .min_role = Role::Viewer,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               auto id = pp.get_int("id");
               if (!id) return bad_id(req);
               auto with_tasks = req.query_bool("tasks", true);
               if (!with_tasks) return http::bad_request("tasks: expected true or false", req.path);
               auto lease = s.pool.acquire();
               std::optional<boost::json::object> out;
               store::with_read(*lease,
                                [&](store::Tx& tx) { out = store::get_run(tx, *id, *with_tasks); });
               if (!out)
                 return http::not_found("run " + std::to_string(*id) + " does not exist", req.path);
               return http::json_response(200, *out);
             },
         .query = {{"tasks", "boolean", "include the tasks (default true)"}}});
  r.add({.method = "POST",
         .pattern = "/api/v1/runs/{id}/cancel",
         .summary = "Cancel a run: pending tasks are cancelled, running ones get SIGTERM",
         .min_role = Role::Operator,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               auto id = pp.get_int("id");
               if (!id) return bad_id(req);
               auto lease = s.pool.acquire();
               std::optional<std::string> state;
               store::with_tx(*lease,
                              [&](store::Tx& tx) { state = store::request_cancel(tx, *id); });
               if (!state)
                 return http::not_found("run " + std::to_string(*id) + " does not exist", req.path);
               if (s.wake_engine) s.wake_engine();
               return http::json_response(
                   202, boost::json::object{{"id", std::to_string(*id)}, {"state", *state}});
             },
         .success_status = 202});
  r.add({.method = "GET",
         .pattern = "/api/v1/runs/{id}/tasks/{name}",
         .summary = "A task of a run with its attempts",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
           auto id = pp.get_int("id");
           if (!id) return bad_id(req);
           auto lease = s.pool.acquire();
           std::optional<boost::json::object> out;
           store::with_tx(*lease,
                          [&](store::Tx& tx) { out = store::get_task(tx, *id, pp.get("name")); });
           if (!out)
             return http::not_found(
                 "run " + std::to_string(*id) + " has no task \"" + pp.get("name") + "\"",
                 req.path);
           return http::json_response(200, *out);
         }});
}

}  // namespace ctflow::api
