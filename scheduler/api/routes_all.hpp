#pragma once
// Every route `ctflow server` serves, registered in one place, so that the server and the
// security tests (tests/security/test_route_auth.cpp, which walks this table with no filter:
// anonymous -> 401, a bad token -> 401, a viewer on a write -> 403) see the same table. A new
// route file is added here, never beside this call in server_cmd.cpp.
#include <functional>
#include <string>

#include "scheduler/api/service.hpp"
#include "scheduler/common/clock.hpp"

namespace ctflow::api {

// `s` and `clock` must outlive the router; `wake_scheduler` (may be empty) wakes the cron
// scheduler after pause/resume; `web_dir` is the dashboard's folder ("" for the "not built" page).
void add_all_routes(http::Router& r, Services& s, const ClockSource& clock,
                    std::function<void()> wake_scheduler, const std::string& web_dir);

}  // namespace ctflow::api
