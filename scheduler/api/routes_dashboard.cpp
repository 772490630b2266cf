// What the browser dashboard needs beyond the plain resources (issue 20): who the token is (to
// hide write buttons from viewers), where the event stream stands now (so a live list follows
// from there instead of replaying history), and the pipeline grid (runs x tasks states).
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/store/dashboard.hpp"

namespace ctflow::api {

void add_dashboard_routes(http::Router& r, Services& s) {
  r.add({.method = "GET",
         .pattern = "/api/v1/me",
         .summary = "The calling token: its role (viewer, operator, admin) and name",
         .min_role = Role::Viewer,
         .handler =
             [](const Request&, const PathParams&, const Principal& p) {
               return http::json_response(
                   200, boost::json::object{{"role", std::string(http::role_name(p.role))},
                                            {"name", p.name},
                                            {"token_id", p.token_id}});
             },
         .tag = "tokens"});
  r.add({.method = "GET",
         .pattern = "/api/v1/events/head",
         .summary = "The newest event id: follow /api/v1/events?after=<last_id> from here",
         .min_role = Role::Viewer,
         .handler =
             [&s](const Request&, const PathParams&, const Principal&) {
               int64_t last = 0;
               auto lease = s.pool.acquire();
               store::with_read(*lease, [&](store::Tx& tx) { last = store::last_event_id(tx); });
               return http::json_response(200,
                                          boost::json::object{{"last_id", std::to_string(last)}});
             },
         .tag = "events"});
  r.add({.method = "GET",
         .pattern = "/api/v1/pipelines/{name}/grid",
         .summary = "The pipeline grid: the last N runs (default 25) x tasks in spec order, states",
         .min_role = Role::Viewer,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               int runs = 25;
               if (auto v = req.query_value("runs")) {
                 size_t n = 0;
                 try {
                   runs = std::stoi(*v, &n);
                 } catch (const std::exception&) {
                   n = 0;
                 }
                 if (n != v->size() || runs < 1 || runs > 200)
                   return http::bad_request("runs: expected a number 1-200", req.path);
               }
               std::optional<boost::json::object> out;
               auto lease = s.pool.acquire();
               store::with_read(*lease, [&](store::Tx& tx) {
                 out = store::pipeline_grid(tx, pp.get("name"), runs);
               });
               if (!out)
                 return http::not_found("pipeline \"" + pp.get("name") + "\" does not exist",
                                        req.path);
               return http::json_response(200, *out);
             },
         .query = {{"runs", "integer", "how many runs, newest first (1-200, default 25)"}}});
}

}  // namespace ctflow::api
