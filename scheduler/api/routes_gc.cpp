// POST /api/v1/gc: retention on demand (`ctflow gc`); api/gc.hpp does the work.
#include "scheduler/api/gc.hpp"
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/common/time_util.hpp"

namespace ctflow::api {

namespace {

// One request works for at most this long; the answer says whether more is left (`done`).
constexpr std::chrono::seconds kRequestBudget{5};

boost::json::object report_json(const GcReport& r, bool dry_run) {
  return {{"dry_run", dry_run},
          {"done", r.done},
          {"runs", r.counts.runs},
          {"tasks", r.counts.tasks},
          {"attempts", r.counts.attempts},
          {"events", r.counts.events},
          {"metrics", r.counts.metrics},
          {"artifacts", r.counts.artifacts},
          {"folders", r.folders},
          {"files", r.files},
          {"batches", r.batches}};
}

}  // namespace

void add_gc_routes(http::Router& r, Services& s) {
  r.add({.method = "POST",
         .pattern = "/api/v1/gc",
         .summary = "Delete finished runs older than {older_than: \"30d\"} with their tasks, "
                    "attempt folders, logs, events and metrics, and artifacts nothing references "
                    "(never one a model version names), in batches of {batch: 100}; "
                    "{dry_run: true} counts only. Works about 5 s; call again until done",
         .min_role = Role::Admin,
         .handler =
             [&s](const Request& req, const PathParams&, const Principal&) {
               auto [body, err] = http::parse_json_body(req);
               if (err) return *err;
               if (!body.is_object())
                 return http::bad_request("body: expected an object", req.path);
               const auto& o = body.as_object();
               GcOptions opt;
               opt.budget = kRequestBudget;
               auto* age = o.if_contains("older_than");
               auto d = age && age->is_string() ? parse_duration(age->get_string()) : std::nullopt;
               if (!d || d->count() < 0)
                 return http::bad_request("older_than: expected a duration such as 30d or 12h",
                                          req.path);
               opt.older_than_s = d->count() / 1000;
               if (auto* b = o.if_contains("batch"); b && !b->is_null()) {
                 if (!b->is_int64() || b->as_int64() < 1 || b->as_int64() > 10000)
                   return http::bad_request("batch: expected an integer from 1 to 10000", req.path);
                 opt.batch = static_cast<int>(b->as_int64());
               }
               if (auto* dr = o.if_contains("dry_run"); dr && !dr->is_null()) {
                 if (!dr->is_bool())
                   return http::bad_request("dry_run: expected true or false", req.path);
                 opt.dry_run = dr->as_bool();
               }
               auto rep = collect_garbage(s.pool, s.data_dir, opt);
               return http::json_response(200, report_json(rep, opt.dry_run));
             },
         .tag = "admin"});
}

}  // namespace ctflow::api
