// Hyperparameter studies and their trials (issue 4's "studies and trials" resources; the engine
// runs them: engine/study.cpp).
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/store/studies.hpp"

namespace ctflow::api {

namespace {

// A positive integer query value (digits only).
std::optional<int64_t> to_id(const std::string& s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(s);
}

}  // namespace

void add_study_routes(http::Router& r, Services& s) {
  r.add({.method = "GET",
         .pattern = "/api/v1/studies",
         .summary = "Hyperparameter studies, newest first, with trial counts and the best trial",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams&, const Principal&) -> Response {
           std::optional<int64_t> run;
           if (auto v = req.query_value("run")) {
             run = to_id(*v);
             if (!run) return http::bad_request("run: expected a run id", req.path);
           }
           int limit = 50;
           if (auto v = req.query_value("limit")) {
             auto n = to_id(*v);
             if (!n || *n < 1 || *n > 500)
               return http::bad_request("limit: expected 1 to 500", req.path);
             limit = static_cast<int>(*n);
           }
           boost::json::array out;
           auto lease = s.pool.acquire();
           store::with_read(*lease,
                            [&](store::Tx& tx) { out = store::list_studies(tx, run, limit); });
           return http::json_response(200, boost::json::object{{"studies", std::move(out)}});
         },
         .query = {{"run", "integer", "only this run's studies"},
                   {"limit", "integer", "how many (1-500, default 50)"}}});
  r.add({.method = "GET",
         .pattern = "/api/v1/studies/{id}",
         .summary = "A study: its space, objective, state, best trial and every trial",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp, const Principal&) -> Response {
           auto id = pp.get_int("id");
           if (!id || *id < 1) return http::bad_request("id: expected a study id", req.path);
           std::optional<boost::json::object> out;
           auto lease = s.pool.acquire();
           store::with_read(*lease, [&](store::Tx& tx) { out = store::get_study(tx, *id); });
           if (!out) return http::not_found("study " + pp.get("id") + " does not exist", req.path);
           return http::json_response(200, *out);
         }});
}

}  // namespace ctflow::api
