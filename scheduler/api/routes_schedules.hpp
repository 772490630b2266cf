#pragma once
// The schedule routes (routes_schedules.cpp):
//   GET  /api/v1/schedules                        list
//   GET  /api/v1/schedules/{pipeline}?n=5         one, with its next fires and recent fires
//   POST /api/v1/schedules/{pipeline}/pause       operator
//   POST /api/v1/schedules/{pipeline}/resume      operator
//   POST /api/v1/schedules/{pipeline}/trigger     operator; a fire at logical date = clock now
//   POST /api/v1/pipelines/{name}/backfill        operator; {"from", "to"}
//   POST /api/v1/runs/{id}/rerun                  operator; {"from": TASK}
// `clock` is the scheduler's (tests inject a FileClock); it and `s` must outlive the router.
// `wake_scheduler` (may be empty) wakes this server's cron scheduler after pause/resume.
#include <functional>

#include "scheduler/api/service.hpp"
#include "scheduler/common/clock.hpp"

namespace ctflow::api {

void add_schedule_routes(http::Router& r, Services& s, const ClockSource& clock,
                         std::function<void()> wake_scheduler);

}  // namespace ctflow::api
