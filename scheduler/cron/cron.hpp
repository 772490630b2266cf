#pragma once
// Cron expressions, IANA time zones and next/previous fire computation.
//
// Expressions (see docs/cron.md for the full rules):
//   five fields "minute hour day-of-month month day-of-week", each a comma list of `*`, `N`,
//   `A-B`, `*/S`, `A-B/S` or `A/S` (= A-max/S); month names jan-dec and weekday names sun-sat
//   (case-insensitive); day-of-week 0 and 7 are both Sunday; macros @hourly, @daily (@midnight),
//   @weekly, @monthly, @yearly (@annually). When both day fields are restricted a day matches if
//   EITHER matches (Vixie cron); a day field whose text starts with `*` (also `*/2`) counts as
//   unrestricted, and then both must match.
//
// Fires in a time zone: the expression selects local civil minutes; each maps to one instant:
//   - a civil time that exists once fires at that instant;
//   - a civil time repeated by a fall-back fires once, at its FIRST occurrence;
//   - a civil time skipped by a spring-forward fires at the transition instant (the first
//     instant after the gap); all skipped times of one gap give ONE fire.
// The mapping never goes backwards, so fires are strictly increasing instants.
//
// Thread safety: CronExpr and TimeZone are immutable values; every function here is pure (no
// clock, no I/O except loading zone files, which cctz caches under its own lock) and may be
// called from any thread.
#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <bitset>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"
#include "scheduler/common/time_util.hpp"

namespace ctflow::cron {

// How far next_fire/prev_fire search before giving up ("no fire within 10 years"). The longest
// real gap between fires is 8 years (`0 0 29 2 *` across 2100), so only impossible expressions
// such as `0 0 30 2 *` hit it.
inline constexpr int kSearchYears = 10;

// A parsed cron expression. Only parse_cron builds one; it is immutable afterwards.
class CronExpr {
 public:
  // Bit i set = value i allowed. minute 0-59, hour 0-23, day-of-month 1-31 (bit 0 unused),
  // month 1-12 (bit 0 unused), day-of-week 0-6 with 0 = Sunday (7 is folded into 0).
  const std::bitset<60>& minutes() const { return minutes_; }
  const std::bitset<24>& hours() const { return hours_; }
  const std::bitset<32>& days_of_month() const { return dom_; }
  const std::bitset<13>& months() const { return months_; }
  const std::bitset<7>& days_of_week() const { return dow_; }
  // True when the field's text starts with `*` (unrestricted for the OR rule).
  bool dom_star() const { return dom_star_; }
  bool dow_star() const { return dow_star_; }
  // The expression as given, trimmed (macros are kept as written, e.g. "@daily").
  const std::string& text() const { return text_; }

  // Whether the civil day's month and day fields match (month set, then the OR/AND day rule).
  bool day_matches(const cctz::civil_day& d) const;

 private:
  friend Result<CronExpr> parse_cron(const std::string& expr);
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> dom_;
  std::bitset<13> months_;
  std::bitset<7> dow_;
  bool dom_star_ = false;
  bool dow_star_ = false;
  std::string text_;
};

// Parses a five-field expression or a macro. The error is one line naming the field and the
// reason, e.g. "day-of-month: 32 is out of range 1-31", "day-of-week: reversed range 6-0
// (sat-sun)", "expected 5 fields (minute hour day-of-month month day-of-week), got 3". An
// expression that parses may still never fire (`0 0 30 2 *`); next_fire reports that.
Result<CronExpr> parse_cron(const std::string& expr);

// An IANA time zone ("Europe/Berlin", "UTC"), loaded from the system tzdata through cctz.
class TimeZone {
 public:
  // Loads `name`. Errors: empty name, a name that is not IANA-shaped (absolute paths, "..",
  // "localtime"), or an unknown zone: `unknown time zone "Mars/Olympus"`.
  static Result<TimeZone> load(const std::string& name);
  static TimeZone utc();

  const std::string& name() const { return name_; }
  const cctz::time_zone& zone() const { return zone_; }

 private:
  TimeZone(std::string name, cctz::time_zone zone) : name_(std::move(name)), zone_(zone) {}
  std::string name_;
  cctz::time_zone zone_;
};

// nullopt if `zone` is a loadable IANA time zone, else the reason (TimeZone::load's error).
std::optional<std::string> check_time_zone(const std::string& zone);

// The instant a local civil minute fires at, by the DST rules above (unique -> itself,
// repeated -> first occurrence, skipped -> transition instant).
TimePoint fire_instant(const TimeZone& tz, const cctz::civil_minute& local);

// The first fire strictly after `after`. Error "no fire within 10 years after <instant>" when
// the expression cannot fire (or only fires after year 9999).
Result<TimePoint> next_fire(const CronExpr& expr, const TimeZone& tz, TimePoint after);

// The last fire strictly before `before`; same error shape ("no fire within 10 years before").
Result<TimePoint> prev_fire(const CronExpr& expr, const TimeZone& tz, TimePoint before);

// The next `n` fires strictly after `after`, strictly increasing (the API's "next fires" and
// `ctflow cron next`). Errors as next_fire; n == 0 gives an empty list.
Result<std::vector<TimePoint>> next_fires(const CronExpr& expr, const TimeZone& tz, TimePoint after,
                                          size_t n);

// Convenience for callers holding text: parses both, errors prefixed by the field
// ("cron: minute: 60 is out of range 0-59", "timezone: unknown time zone \"X\"").
Result<std::vector<TimePoint>> next_fires(const std::string& expr, const std::string& tz,
                                          TimePoint after, size_t n);

}  // namespace ctflow::cron
