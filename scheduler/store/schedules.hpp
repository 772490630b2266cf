#pragma once
// Schedules, their fires, and reruns (sql/0002_schedules.sql). The decisions (which fires are
// due, what the concurrency policy does, which tasks a rerun reuses) are made outside the store,
// in scheduler/domain/schedule_ops.hpp; these functions only read and write rows.
//
// Every function takes a Tx and never commits it. Ordinary outcomes (no such schedule, a logical
// date already fired, a schedule locked by another replica) are values; database errors throw.
// Writers that change what a scheduler should do send NOTIFY ctflow_schedules (at commit).
#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::store {

// The channel schedulers LISTEN on: a schedule was stored, paused, resumed or fired.
inline constexpr const char* kScheduleChannel = "ctflow_schedules";

// A schedule block as stored (validated by the spec parser already).
struct ScheduleDef {
  std::string cron, timezone = "UTC", catchup = "none", concurrency = "allow";
  int max_active_runs = 0;
  std::optional<TimePoint> start, end;
};

// One schedules row.
struct ScheduleRow {
  int64_t id = 0, pipeline_id = 0, version_id = 0;
  std::string pipeline;
  ScheduleDef def;
  bool paused = false, retired = false;
  std::optional<TimePoint> activated_at, last_logical_date, next_fire_at;
  bool ended = false;  // no fire left in the window (next_fire_at is 'infinity' in the table)
};

// Called when pipeline version `version_id` is stored: with a block, inserts or rewrites the
// pipeline's schedule (paused, activated_at and last_logical_date are kept; next_fire_at is
// cleared so a scheduler recomputes it); without one, retires it. Either only when `version_id`
// is at least the schedule's current version (the latest stored version wins).
void upsert_schedule(Tx& tx, int64_t pipeline_id, int64_t version_id,
                     const std::optional<ScheduleDef>& def);

// Ids of live (not paused, not retired) schedules with next_fire_at unset or <= now, oldest due
// first, at most `limit`.
std::vector<int64_t> due_schedule_ids(Tx& tx, TimePoint now, int limit);
// The earliest next_fire_at of live schedules (when a scheduler must wake up), if any.
std::optional<TimePoint> earliest_next_fire(Tx& tx);

// Locks and reads a schedule. by id: FOR UPDATE SKIP LOCKED (nullopt when another replica holds
// it or it is gone); by pipeline name: FOR UPDATE, waiting (API operations).
std::optional<ScheduleRow> lock_schedule(Tx& tx, int64_t id);
std::optional<ScheduleRow> lock_schedule_of(Tx& tx, const std::string& pipeline);

// Records scheduler progress on a locked schedule (activated_at only if it was NULL); a missing
// next_fire_at means the schedule has ended (stored as 'infinity', never due).
void set_schedule_progress(Tx& tx, int64_t id, std::optional<TimePoint> activated_at,
                           std::optional<TimePoint> last_logical_date,
                           std::optional<TimePoint> next_fire_at);
// Pause or resume; false when the pipeline has no live schedule.
bool set_paused(Tx& tx, const std::string& pipeline, bool paused);

// Runs of the pipeline that are queued or running, by id.
std::vector<int64_t> active_runs(Tx& tx, int64_t pipeline_id);

// Inserts a fire row unless (schedule, logical_date) exists; returns its id, or nullopt when
// that logical date was fired already (by this or another replica, or an earlier backfill).
// kind: schedule | trigger | backfill; outcome: created | skipped_forbid | replaced | failed.
std::optional<int64_t> insert_fire(Tx& tx, int64_t schedule_id, TimePoint logical_date,
                                   const std::string& kind, const std::string& outcome,
                                   const std::optional<std::string>& error = std::nullopt);
// Links a fire to the run it created (schedule_fires.run_id and runs.schedule_id).
void attach_fire_run(Tx& tx, int64_t fire_id, int64_t schedule_id, int64_t run_id);

// API reads. A schedule's JSON: {"pipeline", "version", "cron", "timezone", "catchup",
// "concurrency", "max_active_runs", "start", "end", "paused", "activated_at",
// "last_logical_date", "next_fire_at", "ended", "created_at", "updated_at", "fires",
// "runs_created"}.
boost::json::array list_schedules(Tx& tx);
// The same object plus "recent_fires": the newest `fires` fire rows [{"logical_date", "kind",
// "outcome", "run_id", "fired_at", "error"}]; nullopt when the pipeline has no live schedule.
std::optional<boost::json::object> get_schedule(Tx& tx, const std::string& pipeline, int fires);

// What a rerun copies from an earlier run.
struct RunSource {
  int64_t run_id = 0, pipeline_version_id = 0;
  std::optional<int64_t> schedule_id;
  boost::json::object params;
  std::optional<TimePoint> logical_date, data_interval_start, data_interval_end;
  std::map<std::string, std::string> task_states;  // top-level tasks (no hpo trials)
};
std::optional<RunSource> run_source(Tx& tx, int64_t run_id);

// In the freshly inserted run `new_run`: every task named in `reuse` takes the state
// (succeeded/cached), outputs and artifact uses of the task of the same name in `old_run`, with
// attempt 0 and cache_reason "reused from run N"; the other tasks' pending_deps are recounted
// and those at zero become ready if the run is running; tasks_done counts the reused tasks.
void reuse_tasks(Tx& tx, int64_t old_run, int64_t new_run, const std::vector<std::string>& reuse);

}  // namespace ctflow::store
