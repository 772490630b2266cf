// Which fires a schedule owes now (catch-up policies), data intervals, and backfill ranges.
#include "scheduler/cron/schedule.hpp"

#include <algorithm>

namespace ctflow::cron {
namespace {

constexpr std::chrono::microseconds kTick(1);

bool in_window(const Schedule& s, TimePoint t) {
  return (!s.start || t >= *s.start) && (!s.end || t <= *s.end);
}

// The latest fire <= t, if any within the search horizon.
std::optional<TimePoint> fire_at_or_before(const Schedule& s, TimePoint t) {
  auto p = prev_fire(s.cron, s.tz, t + kTick);
  if (!p) return std::nullopt;
  return *p;
}

}  // namespace

std::optional<Catchup> parse_catchup(std::string_view text) {
  if (text == "all") return Catchup::all;
  if (text == "latest") return Catchup::latest;
  if (text == "none") return Catchup::none;
  return std::nullopt;
}

std::string_view to_string(Catchup c) {
  switch (c) {
    case Catchup::all:
      return "all";
    case Catchup::latest:
      return "latest";
    case Catchup::none:
      return "none";
  }
  return "none";
}

Result<Schedule> make_schedule(const std::string& cron, const std::string& timezone,
                               std::string_view catchup, std::optional<TimePoint> start,
                               std::optional<TimePoint> end) {
  Schedule s;
  auto e = parse_cron(cron);
  if (!e) return Error{"cron: " + e.error()};
  s.cron = std::move(*e);
  auto tz = TimeZone::load(timezone);
  if (!tz) return Error{"timezone: " + tz.error()};
  s.tz = std::move(*tz);
  auto c = parse_catchup(catchup);
  if (!c)
    return Error{"catchup: \"" + std::string(catchup.substr(0, 40)) +
                 "\" is not one of all, latest, none"};
  s.catchup = *c;
  if (start && end && *end < *start)
    return Error{"end: " + format_iso8601(*end) + " is before start " + format_iso8601(*start)};
  s.start = start;
  s.end = end;
  return s;
}

Fire make_fire(const CronExpr& cron, const TimeZone& tz, TimePoint logical_date) {
  auto prev = prev_fire(cron, tz, logical_date);
  return Fire{logical_date, prev ? *prev : logical_date, logical_date};
}

DueFires due_fires(const Schedule& s, std::optional<TimePoint> last_fired, TimePoint now,
                   size_t max_fires) {
  max_fires = std::max<size_t>(max_fires, 1);
  DueFires out;
  if (auto nf = next_fire(s.cron, s.tz, now); nf && (!s.end || *nf <= *s.end)) out.next_fire = *nf;

  // Exclusive lower bound: the last fire, or just before start.
  std::optional<TimePoint> after = last_fired;
  if (s.start && (!after || *s.start - kTick > *after)) after = *s.start - kTick;
  const TimePoint upper = s.end ? std::min(now, *s.end) : now;
  const Catchup policy = after ? s.catchup : Catchup::none;

  auto push = [&](TimePoint t) { out.fires.push_back(make_fire(s.cron, s.tz, t)); };
  switch (policy) {
    case Catchup::all: {
      auto f = next_fire(s.cron, s.tz, *after);
      while (f && *f <= upper) {
        if (out.fires.size() == max_fires) {
          out.more = true;
          break;
        }
        push(*f);
        f = next_fire(s.cron, s.tz, *f);
      }
      break;
    }
    case Catchup::latest: {
      auto p = fire_at_or_before(s, upper);
      if (p && *p > *after) push(*p);
      break;
    }
    case Catchup::none: {
      // Only the fire that is due now: the latest one, noticed within `grace`.
      auto p = fire_at_or_before(s, now);
      if (p && now - *p <= s.grace && in_window(s, *p) && (!after || *p > *after)) push(*p);
      break;
    }
  }
  return out;
}

Result<std::vector<Fire>> fires_between(const CronExpr& cron, const TimeZone& tz, TimePoint from,
                                        TimePoint to, size_t max_fires) {
  if (from > to)
    return Error{"range: from " + format_iso8601(from) + " is after to " + format_iso8601(to)};
  std::vector<Fire> out;
  auto f = next_fire(cron, tz, from - kTick);
  while (f && *f <= to) {
    if (out.size() == max_fires)
      return Error{"range: from " + format_iso8601(from) + " to " + format_iso8601(to) +
                   " holds more than " + std::to_string(max_fires) + " fires"};
    out.push_back(make_fire(cron, tz, *f));
    f = next_fire(cron, tz, *f);
  }
  return out;
}

}  // namespace ctflow::cron
