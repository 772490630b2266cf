#pragma once
// Cron expressions and time zones. Thread-safe: a parsed CronExpr is immutable.
// (Filled in by the cron module; the spec validator uses parse_cron and check_time_zone.)
#include <optional>
#include <string>

#include "scheduler/common/result.hpp"
#include "scheduler/common/time_util.hpp"

namespace ctflow::cron {

class CronExpr;

// Parses a five-field expression or @hourly/@daily/@weekly/@monthly/@yearly. The error names the
// field and the reason ("day-of-week: reversed range 6-0").
Result<CronExpr> parse_cron(const std::string& expr);

// nullopt if `zone` is a known IANA time zone, else the reason.
std::optional<std::string> check_time_zone(const std::string& zone);

}  // namespace ctflow::cron
