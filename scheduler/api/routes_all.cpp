#include "scheduler/api/routes_all.hpp"

#include "scheduler/api/routes_schedules.hpp"
#include "scheduler/api/routes_web.hpp"

namespace ctflow::api {

void add_all_routes(http::Router& r, Services& s, const ClockSource& clock,
                    std::function<void()> wake_scheduler, const std::string& web_dir) {
  add_health_routes(r, s);
  add_run_routes(r, s);
  add_stream_routes(r, s);
  add_token_routes(r, s);
  add_gc_routes(r, s);
  add_resource_routes(r, s);
  add_model_routes(r, s);
  add_prediction_routes(r, s);
  add_study_routes(r, s);
  add_dashboard_routes(r, s);
  add_schedule_routes(r, s, clock, std::move(wake_scheduler));
  r.add_openapi_route();
  add_web_routes(r, web_dir);  // last: GET /{path*} is the least specific pattern
}

}  // namespace ctflow::api
