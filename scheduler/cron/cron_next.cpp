// Next/previous fire search: walk civil time in the zone, skipping whole months, days and hours
// that cannot match, then map the matching civil minute to its instant (fire_instant).
//
// Why this is correct: fire_instant never goes backwards as civil time goes forwards (a gap
// collapses onto its transition instant, a repeated hour keeps its first occurrence), so the
// civil minutes whose fire instant is after `t` form a suffix of civil time. We compute where
// that suffix starts and take the first matching minute in it.
#include "scheduler/cron/cron.hpp"

namespace ctflow::cron {
namespace {

using cctz::civil_day;
using cctz::civil_hour;
using cctz::civil_minute;
using cctz::civil_month;
using cctz::civil_second;
using cctz::civil_year;
using Lookup = cctz::time_zone::civil_lookup;
using Seconds = cctz::time_point<cctz::seconds>;

constexpr int kMaxYear = 9999;  // ISO-8601 output has four-digit years

// First allowed minute >= m in the set, or -1.
int next_minute_bit(const std::bitset<60>& bits, int m) {
  for (int i = m; i < 60; ++i)
    if (bits[static_cast<size_t>(i)]) return i;
  return -1;
}
int prev_minute_bit(const std::bitset<60>& bits, int m) {
  for (int i = m; i >= 0; --i)
    if (bits[static_cast<size_t>(i)]) return i;
  return -1;
}

// First civil minute >= c that the expression matches, up to the end of year `last`.
std::optional<civil_minute> search_forward(const CronExpr& e, civil_minute c, civil_year last) {
  while (civil_year(c) <= last) {
    if (!e.months()[static_cast<size_t>(c.month())]) {
      c = civil_minute(civil_month(c) + 1);
    } else if (!e.day_matches(civil_day(c))) {
      c = civil_minute(civil_day(c) + 1);
    } else if (!e.hours()[static_cast<size_t>(c.hour())]) {
      c = civil_minute(civil_hour(c) + 1);
    } else if (int m = next_minute_bit(e.minutes(), c.minute()); m < 0) {
      c = civil_minute(civil_hour(c) + 1);
    } else {
      return civil_minute(civil_hour(c)) + m;
    }
  }
  return std::nullopt;
}

// Last civil minute <= c that the expression matches, down to the start of year `first`.
std::optional<civil_minute> search_backward(const CronExpr& e, civil_minute c, civil_year first) {
  while (civil_year(c) >= first) {
    if (!e.months()[static_cast<size_t>(c.month())]) {
      c = civil_minute(civil_month(c)) - 1;
    } else if (!e.day_matches(civil_day(c))) {
      c = civil_minute(civil_day(c)) - 1;
    } else if (!e.hours()[static_cast<size_t>(c.hour())]) {
      c = civil_minute(civil_hour(c)) - 1;
    } else if (int m = prev_minute_bit(e.minutes(), c.minute()); m < 0) {
      c = civil_minute(civil_hour(c)) - 1;
    } else {
      return civil_minute(civil_hour(c)) + m;
    }
  }
  return std::nullopt;
}

std::string no_fire(const char* direction, TimePoint t) {
  return "no fire within " + std::to_string(kSearchYears) + " years " + direction + " " +
         format_iso8601(t);
}

}  // namespace

Result<TimePoint> next_fire(const CronExpr& expr, const TimeZone& tz, TimePoint after) {
  const Seconds after_s = std::chrono::floor<cctz::seconds>(after);
  const civil_second ca = cctz::convert(after_s, tz.zone());
  // Civil times up to ca fire at or before `after` ...
  civil_second start = ca + 1;
  // ... and when `after` lies in the second pass of a repeated (fall-back) range, so does the
  // rest of that range: its minutes fired at their first occurrence, before the transition.
  const Lookup cl = tz.zone().lookup(ca);
  if (cl.kind == Lookup::REPEATED && after_s >= cl.trans) {
    const civil_second range_end = cctz::convert(cl.trans - cctz::seconds(1), tz.zone()) + 1;
    if (range_end > start) start = range_end;
  }
  civil_minute c(start);
  if (civil_second(c) < start) c += 1;  // round up to a whole minute
  const civil_year last(std::min<cctz::year_t>(ca.year() + kSearchYears, kMaxYear));
  while (true) {
    auto m = search_forward(expr, c, last);
    if (!m) return Error{no_fire("after", after)};
    TimePoint t = fire_instant(tz, *m);
    if (t > after) return t;
    c = *m + 1;  // cannot happen by the monotonicity argument above; kept as a guard
  }
}

Result<TimePoint> prev_fire(const CronExpr& expr, const TimeZone& tz, TimePoint before) {
  // The last whole second strictly before `before`; fires are whole seconds.
  const Seconds u = std::chrono::ceil<cctz::seconds>(before) - cctz::seconds(1);
  civil_second end = cctz::convert(u, tz.zone());
  // In the second pass of a repeated range, the whole range fired at its first occurrence.
  const Lookup cl = tz.zone().lookup(end);
  if (cl.kind == Lookup::REPEATED && u >= cl.trans)
    end = cctz::convert(cl.trans - cctz::seconds(1), tz.zone());
  civil_minute c(end);  // rounds down
  const civil_year first(end.year() - kSearchYears);
  while (true) {
    auto m = search_backward(expr, c, first);
    if (!m) return Error{no_fire("before", before)};
    TimePoint t = fire_instant(tz, *m);
    if (t < before) return t;
    c = *m - 1;  // guard, as in next_fire
  }
}

Result<std::vector<TimePoint>> next_fires(const CronExpr& expr, const TimeZone& tz, TimePoint after,
                                          size_t n) {
  std::vector<TimePoint> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto t = next_fire(expr, tz, after);
    if (!t) return Error{t.error()};
    out.push_back(*t);
    after = *t;
  }
  return out;
}

Result<std::vector<TimePoint>> next_fires(const std::string& expr, const std::string& tz,
                                          TimePoint after, size_t n) {
  auto e = parse_cron(expr);
  if (!e) return Error{"cron: " + e.error()};
  auto z = TimeZone::load(tz);
  if (!z) return Error{"timezone: " + z.error()};
  return next_fires(*e, *z, after, n);
}

}  // namespace ctflow::cron
