// Schedules (list, show with next fires, pause, resume, trigger now), backfills and reruns.
// Handlers run on HTTP worker threads; each borrows a pooled connection and uses its own
// SpecCache (parsed versions are not shared across threads).
#include "scheduler/api/routes_schedules.hpp"

#include "scheduler/api/errors.hpp"
#include "scheduler/api/http/message.hpp"
#include "scheduler/cron/cron.hpp"
#include "scheduler/domain/schedule_ops.hpp"
#include "scheduler/store/schedules.hpp"

namespace ctflow::api {

namespace {

using domain::BackfillResult;
using domain::SpecCache;

// The schedule's JSON with "next_fires" (the next `n` fires after `now` by the clock, inside
// its window); nullopt when the pipeline has no live schedule.
std::optional<boost::json::object> schedule_with_next(Services& s, const std::string& pipeline,
                                                      TimePoint now, size_t n) {
  auto lease = s.pool.acquire();
  std::optional<boost::json::object> out;
  store::with_tx(*lease, [&](store::Tx& tx) { out = store::get_schedule(tx, pipeline, 20); });
  if (!out) return out;
  auto cron_text = std::string(out->at("cron").as_string());
  auto tz = std::string(out->at("timezone").as_string());
  auto end = out->at("end").is_string() ? parse_iso8601(out->at("end").as_string()) : std::nullopt;
  // Fires strictly after `after`: from now, or from just before a `start` still ahead.
  TimePoint after = now;
  if (out->at("start").is_string())
    if (auto start = parse_iso8601(out->at("start").as_string()); start && *start > now)
      after = *start - std::chrono::microseconds(1);
  boost::json::array next;
  if (auto fires = cron::next_fires(cron_text, tz, after, n))
    for (auto f : *fires)
      if (!end || f <= *end) next.emplace_back(format_iso8601(f));
  (*out)["next_fires"] = std::move(next);
  (*out)["now"] = format_iso8601(now);
  return out;
}

Response pause_or_resume(Services& s, const Request& req, const std::string& pipeline, bool paused,
                         const std::function<void()>& wake) {
  auto lease = s.pool.acquire();
  bool found = false;
  store::with_tx(*lease, [&](store::Tx& tx) { found = store::set_paused(tx, pipeline, paused); });
  if (!found) return http::not_found("pipeline \"" + pipeline + "\" has no schedule", req.path);
  if (wake) wake();
  return http::json_response(200, boost::json::object{{"pipeline", pipeline}, {"paused", paused}});
}

std::optional<TimePoint> time_field(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return parse_iso8601(v->get_string());
}

}  // namespace

void add_schedule_routes(http::Router& r, Services& s, const ClockSource& clock,
                         std::function<void()> wake_scheduler) {
  r.add(list_route(s, "/api/v1/schedules",
                   "List schedules (one per pipeline whose latest version has one)", Role::Viewer,
                   "schedules", store::list_schedules));
  r.add({.method = "GET",
         .pattern = "/api/v1/schedules/{pipeline}",
         .summary = "A schedule with its next fires (?n=5, at most 100) and recent fires",
         .min_role = Role::Viewer,
         .handler =
             [&s, &clock](const Request& req, const PathParams& pp, const Principal&) {
               size_t n = 5;
               if (auto q = req.query_value("n")) {
                 try {
                   n = std::stoul(*q);
                 } catch (const std::exception&) {
                   n = 0;
                 }
                 if (n < 1 || n > 100) return http::bad_request("n: expected 1-100", req.path);
               }
               auto out = schedule_with_next(s, pp.get("pipeline"), clock.now(), n);
               if (!out)
                 return http::not_found("pipeline \"" + pp.get("pipeline") + "\" has no schedule",
                                        req.path);
               return http::json_response(200, *out);
             },
         .query = {{"n", "integer", "how many next fires (default 5)"}}});
  for (bool paused : {true, false})
    r.add({.method = "POST",
           .pattern = std::string("/api/v1/schedules/{pipeline}/") + (paused ? "pause" : "resume"),
           .summary = paused ? "Pause a schedule (no fires until resumed)"
                             : "Resume a schedule (missed fires follow its catchup policy)",
           .min_role = Role::Operator,
           .handler = [&s, paused, wake_scheduler](const Request& req, const PathParams& pp,
                                                   const Principal&) {
             return pause_or_resume(s, req, pp.get("pipeline"), paused, wake_scheduler);
           }});
  r.add({.method = "POST",
         .pattern = "/api/v1/schedules/{pipeline}/trigger",
         .summary = "Fire the schedule now (logical date = now), obeying its concurrency policy",
         .min_role = Role::Operator,
         .handler =
             [&s, &clock](const Request& req, const PathParams& pp, const Principal&) {
               auto lease = s.pool.acquire();
               domain::Outcome<int64_t> out;
               TimePoint now = clock.now();
               store::with_tx(*lease, [&](store::Tx& tx) {
                 SpecCache specs;
                 out = domain::trigger_schedule(tx, pp.get("pipeline"), now, specs);
               });
               if (auto* e = std::get_if<domain::Error>(&out)) return error_response(*e, req.path);
               if (s.wake_engine) s.wake_engine();
               s.events.poke();
               return http::json_response(
                   201, boost::json::object{{"id", std::to_string(std::get<int64_t>(out))},
                                            {"logical_date", format_iso8601(now)}});
             },
         .success_status = 201});
  r.add(
      {.method = "POST",
       .pattern = "/api/v1/pipelines/{name}/backfill",
       .summary = "One run per fire in [from, to] (ISO-8601), exactly once, under max_active_runs",
       .min_role = Role::Operator,
       .handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
         auto [body, err] = http::parse_json_body(req);
         if (err) return *err;
         if (!body.is_object()) return http::bad_request("body: expected an object", req.path);
         auto from = time_field(body.as_object(), "from");
         auto to = time_field(body.as_object(), "to");
         if (!from) return http::bad_request("from: expected an ISO-8601 instant", req.path);
         if (!to) return http::bad_request("to: expected an ISO-8601 instant", req.path);
         auto lease = s.pool.acquire();
         domain::Outcome<BackfillResult> out;
         store::with_tx(*lease, [&](store::Tx& tx) {
           SpecCache specs;
           out = domain::backfill(tx, pp.get("name"), *from, *to, specs);
         });
         if (auto* e = std::get_if<domain::Error>(&out)) return error_response(*e, req.path);
         const auto& b = std::get<BackfillResult>(out);
         if (!b.created.empty() && s.wake_engine) s.wake_engine();
         s.events.poke();
         boost::json::array dates, runs;
         for (const auto& d : b.logical_dates) dates.emplace_back(d);
         for (int64_t id : b.created) runs.emplace_back(std::to_string(id));
         return http::json_response(200, boost::json::object{{"pipeline", pp.get("name")},
                                                             {"logical_dates", dates},
                                                             {"runs", runs},
                                                             {"created", runs.size()},
                                                             {"existed", b.existed}});
       }});
  r.add({.method = "POST",
         .pattern = "/api/v1/runs/{id}/rerun",
         .summary = "Rerun from a task ({\"from\": TASK}): upstream outputs are reused",
         .min_role = Role::Operator,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               int64_t id = 0;
               try {
                 id = std::stoll(pp.get("id"));
               } catch (const std::exception&) {
                 return http::bad_request("id: expected a run id", req.path);
               }
               auto [body, err] = http::parse_json_body(req);
               if (err) return *err;
               auto* from = body.is_object() ? body.as_object().if_contains("from") : nullptr;
               if (!from || !from->is_string())
                 return http::bad_request("from: required, a task name", req.path);
               auto lease = s.pool.acquire();
               domain::Outcome<int64_t> out;
               store::with_tx(*lease, [&](store::Tx& tx) {
                 SpecCache specs;
                 out = domain::rerun_from(tx, id, std::string(from->get_string()), specs);
               });
               if (auto* e = std::get_if<domain::Error>(&out)) return error_response(*e, req.path);
               if (s.wake_engine) s.wake_engine();
               s.events.poke();
               return http::json_response(
                   201, boost::json::object{{"id", std::to_string(std::get<int64_t>(out))},
                                            {"rerun_of", pp.get("id")}});
             },
         .success_status = 201});
}

}  // namespace ctflow::api
