#pragma once
// `ctflow cron next EXPR [--tz ZONE] [--from ISO] [-n COUNT]`: preview a schedule with exactly
// the code the scheduler uses (parse_cron, TimeZone::load, next_fires).
#include <optional>
#include <ostream>
#include <string>

namespace ctflow::cron {

inline constexpr int kCronNextMaxCount = 1000;

// Prints the next `count` fires of `expr` in zone `tz` strictly after `from_iso` (nullopt =
// now), strictly increasing, one per line as ISO-8601 UTC with Z ("2026-03-08T07:00:00Z"), and
// nothing else to `out`; returns 0.
// Bad input writes one line to `err` naming what was wrong and returns 2, writing nothing to
// `out`:
//   error: cron expression: day-of-month: 32 is out of range 1-31
//   error: cron expression: no fire within 10 years after 2026-03-01T00:00:00Z   (`0 0 30 2 *`)
//   error: --tz: unknown time zone "Mars/Olympus"
//   error: --from: "yesterday" is not an ISO-8601 instant (e.g. 2026-03-08T07:00:00Z)
//   error: -n: 0 is out of range 1-1000
// The CLI layer (CLI11) supplies the defaults: tz "UTC", from now, count 5.
// Thread safety: reads no global state except the clock when from_iso is nullopt.
int cron_next_main(const std::string& expr, const std::string& tz,
                   std::optional<std::string> from_iso, int count, std::ostream& out,
                   std::ostream& err);

}  // namespace ctflow::cron
