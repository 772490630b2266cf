#pragma once
// Schedules in action: firing due cron fires, "trigger now", backfills and reruns. Shared by the
// cron scheduler thread (scheduler/engine/cron_scheduler.hpp) and the API handlers
// (api/routes_schedules.cpp); both pass the clock's `now`, so tests can drive time.
//
// Exactly-once: each fire inserts its schedule_fires row (unique on schedule and logical date)
// and its run in the caller's transaction; a logical date fired before (by a replica, a restart
// or an earlier backfill) is left alone. fire_schedule additionally locks the schedule row FOR
// UPDATE SKIP LOCKED, so replicas never work on one schedule at once.
//
// Every function takes a Tx and never commits it. Ordinary failures (unknown pipeline, no
// schedule, a range that is too long, an unknown task) are domain::Error values (error.hpp);
// database errors throw.
#include <boost/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "scheduler/common/result.hpp"
#include "scheduler/common/time_util.hpp"
#include "scheduler/domain/error.hpp"
#include "scheduler/spec/spec.hpp"
#include "scheduler/store/db.hpp"
#include "scheduler/store/records.hpp"

namespace ctflow::domain {

// Upserts (or retires) the schedule of pipeline `pipeline_id` from version `version_id`'s spec.
// Called where a version is stored (submit.cpp).
void store_schedule(store::Tx& tx, int64_t pipeline_id, int64_t version_id,
                    const spec::Pipeline& p);

// What the concurrency policy does with a fire while runs of the pipeline are active (pure).
//   allow   -> Create;  forbid -> SkipForbid;  replace -> Replace (cancel them, then create).
// Without active runs every policy creates.
enum class FireDecision { Create, SkipForbid, Replace };
FireDecision decide_fire(std::string_view concurrency, bool any_active);

// The tasks a rerun from `task` reuses (pure): every task that is neither `task` nor one of its
// descendants and that succeeded or was cached in the old run (`old_states`: name -> state).
// Errors: an unknown task; an ancestor of `task` that did not succeed ("task \"split\" upstream
// of \"train\" ended failed in run 12; rerun from it instead").
Result<std::vector<std::string>> rerun_reuse(const spec::Pipeline& p, const std::string& task,
                                             const std::map<std::string, std::string>& old_states,
                                             int64_t old_run);

// Parsed pipeline versions, by id (immutable). One per thread: not synchronised.
class SpecCache {
 public:
  // nullptr when the version is gone or its stored spec no longer parses (logged).
  const spec::Pipeline* get(store::Tx& tx, int64_t version_id);

 private:
  std::map<int64_t, std::unique_ptr<spec::Pipeline>> specs_;
};

// One scheduler step for one schedule: lock it (SKIP LOCKED), compute due fires at `now`
// (cron::due_fires; a schedule without `start` that never fired starts at its activation, the
// first tick that saw it), apply the concurrency policy, insert fires and runs (trigger
// "schedule"), record last_logical_date/next_fire_at, emit a "schedule" event.
struct TickResult {
  bool locked_elsewhere = false;  // another replica holds the row; nothing was done
  int created = 0, skipped = 0, replaced = 0, failed = 0, existed = 0;
  bool more = false;  // catch-up stopped at max_fires; call again
  std::vector<int64_t> run_ids;
};
TickResult fire_schedule(store::Tx& tx, int64_t schedule_id, TimePoint now, SpecCache& specs,
                         size_t max_fires = 100);

// "Trigger now": a fire at logical date `now` (kind trigger), obeying the concurrency policy.
// Errors: not_found no live schedule for the pipeline; conflict: that instant was fired already
// or the policy forbade it (message says which); invalid (bad_params): the pipeline's params have
// no defaults; internal: the stored schedule or spec cannot be read.
Outcome<int64_t> trigger_schedule(store::Tx& tx, const std::string& pipeline, TimePoint now,
                                  SpecCache& specs);

// Backfill: one run (trigger "backfill") per fire of the schedule's cron in [from, to], exactly
// once (dates already fired are skipped and counted), queued under max_active_runs.
struct BackfillResult {
  std::vector<std::string> logical_dates;  // every fire in the range
  std::vector<int64_t> created;            // runs created by this call
  int existed = 0;                         // fires in the range that existed already
};
// Errors: not_found (no schedule), invalid (a range that is too long or reversed), internal.
Outcome<BackfillResult> backfill(store::Tx& tx, const std::string& pipeline, TimePoint from,
                                 TimePoint to, SpecCache& specs);

// Rerun from a task: a new run (trigger "rerun") of the same version, params, logical date and
// data interval, reusing the tasks rerun_reuse names. Errors: not_found unknown run; invalid
// unknown task or an upstream task that did not succeed; internal: its version cannot be read.
Outcome<int64_t> rerun_from(store::Tx& tx, int64_t run_id, const std::string& task,
                            SpecCache& specs);

}  // namespace ctflow::domain
