#pragma once
// Schedule firing: which logical dates a schedule owes at a given clock value. Pure functions
// of (schedule, last logical date already fired, now): the engine calls them inside the
// transaction that inserts the fire rows (unique on (schedule, logical_date)) and their runs,
// so the database, not this code, makes fires exactly-once across restarts and replicas.
//
// Terms (see docs/cron.md):
//   fire          an instant produced by next_fire for the schedule's cron and time zone.
//   logical_date  the fire instant itself (`{{run.logical_date}}`). Unlike Airflow, whose
//                 logical_date is the START of the data interval, ours is the END: a run
//                 scheduled at 03:00 has logical_date 03:00.
//   data interval [previous cron fire, this fire): data_interval_start is the fire before
//                 this one (by the cron alone, ignoring start/end), data_interval_end is this
//                 fire (= logical_date), Airflow-style.
//   window        a fire belongs to the schedule iff start <= fire <= end (each optional).
//
// Thread safety: pure functions over immutable values; callable from any thread.
#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "scheduler/cron/cron.hpp"

namespace ctflow::cron {

// What to do with fires that passed while nobody was firing (scheduler down, schedule paused):
//   all     every missed fire, oldest first;
//   latest  only the most recent fire <= now (missed or due now);
//   none    none of the missed fires: only a fire that is due now (see Schedule::grace).
enum class Catchup { all, latest, none };
std::optional<Catchup> parse_catchup(std::string_view text);  // "all" | "latest" | "none"
std::string_view to_string(Catchup c);

struct Schedule {
  CronExpr cron;
  TimeZone tz = TimeZone::utc();
  Catchup catchup = Catchup::none;
  std::optional<TimePoint> start;  // earliest logical date (inclusive); see due_fires
  std::optional<TimePoint> end;    // latest logical date (inclusive); none after it
  // "Due now": the latest fire f <= now with now - f <= grace. A fire noticed later than this
  // is missed (Kubernetes' startingDeadlineSeconds). Must exceed the engine's worst wake-up
  // lateness; `all` and `latest` do not use it.
  std::chrono::microseconds grace = std::chrono::seconds(60);
};

// Builds a Schedule from the spec's text fields. Errors name the field: "cron: minute: 60 is
// out of range 0-59", "timezone: unknown time zone \"X\"", "catchup: \"some\" is not one of all,
// latest, none", "end: 2026-01-01T00:00:00Z is before start 2026-02-01T00:00:00Z".
Result<Schedule> make_schedule(const std::string& cron, const std::string& timezone,
                               std::string_view catchup, std::optional<TimePoint> start,
                               std::optional<TimePoint> end);

struct Fire {
  TimePoint logical_date;         // the fire instant
  TimePoint data_interval_start;  // the previous cron fire (== logical_date if none in 10 years)
  TimePoint data_interval_end;    // == logical_date
};

struct DueFires {
  // Fires owed now, oldest first, every one > last_fired and inside the window.
  std::vector<Fire> fires;
  // True when `all` stopped at max_fires with more owed: insert these, then call again.
  bool more = false;
  // The first fire > now inside the window (when to wake up next); nullopt once the schedule
  // has ended or can never fire.
  std::optional<TimePoint> next_fire;
};

// The fires due at `now`, given the last logical date already fired (nullopt = never fired).
// Lower bound: fires > last_fired and >= start. With neither (a schedule with no history and no
// start), nothing counts as missed and every policy behaves like `none`; the engine should
// pass the schedule's creation time as `start` when the spec gives none.
// Upper bound: fires <= now and <= end. At most max(max_fires, 1) fires are returned.
DueFires due_fires(const Schedule& s, std::optional<TimePoint> last_fired, TimePoint now,
                   size_t max_fires = 100);

// The Fire (with its data interval) for a logical date that is a fire of the schedule.
Fire make_fire(const CronExpr& cron, const TimeZone& tz, TimePoint logical_date);

// Backfill: every fire f with from <= f <= to, oldest first. Error when from > to or when the
// range holds more than max_fires fires ("range from .. to .. holds more than 1000 fires").
Result<std::vector<Fire>> fires_between(const CronExpr& cron, const TimeZone& tz, TimePoint from,
                                        TimePoint to, size_t max_fires = 1000);

}  // namespace ctflow::cron
