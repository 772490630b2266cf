#pragma once
// Monitors and their evaluations (sql/0014_monitors.sql). The decisions (what crossed, whether
// a crossing starts a run) are made outside the store, in scheduler/monitor/ and
// scheduler/domain/monitor_ops.hpp; these functions only read and write rows.
//
// Every function takes a Tx and never commits it. Ordinary outcomes (a monitor locked by another
// replica) are values; database errors throw.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::store {

// Called when pipeline version `version_id` is stored: with a monitor block (model, alias),
// inserts or rewrites the pipeline's monitor (its cooldown state is kept); without one, retires
// it. Either only when `version_id` is at least the monitor's current version.
struct MonitorTarget {
  std::string model, alias;
};
void upsert_monitor(Tx& tx, int64_t pipeline_id, int64_t version_id,
                    const std::optional<MonitorTarget>& target);

// Pipelines with a live monitor, by id.
std::vector<int64_t> live_monitors(Tx& tx);

struct MonitorRow {
  int64_t pipeline_id = 0, version_id = 0;
  std::string pipeline;
  std::optional<TimePoint> last_triggered_at;
  std::optional<int64_t> last_run_id;
};
// Locks a live monitor FOR UPDATE SKIP LOCKED: nullopt when another replica holds it (it is
// evaluating it now) or it was retired.
std::optional<MonitorRow> lock_monitor(Tx& tx, int64_t pipeline_id);
// True while the run is queued or running.
bool run_active(Tx& tx, int64_t run_id);
// How many runs of the pipeline are queued or running.
int active_run_count(Tx& tx, int64_t pipeline_id);

// One evaluation, as monitor_checks stores it.
struct MonitorCheck {
  int64_t pipeline_id = 0;
  std::string model, alias;
  std::optional<int64_t> version;
  TimePoint checked_at;
  int64_t labels = 0;
  std::optional<double> accuracy, drift;
  std::string drift_metric, drift_feature;  // empty: no drift configured
  boost::json::array crossed;
  std::string outcome;  // ok | insufficient | triggered | cooldown | busy | no_deployment
  std::optional<int64_t> run_id;
};
// Records the check unless it says the same as the pipeline's previous one (same version,
// labels, accuracy, drift and outcome), so an idle monitor adds no rows; a triggered check is
// always recorded. Sets monitors.last_checked_at, and for a triggered check last_triggered_at
// and last_run_id. Returns true when a row was inserted.
bool record_check(Tx& tx, const MonitorCheck& check);

// Stores why a run was started (runs.trigger_detail).
void set_trigger_detail(Tx& tx, int64_t run_id, const boost::json::object& detail);

// The model's monitors and their newest `limit` checks (oldest first):
// [{"pipeline", "alias", "last_triggered_at", "last_run_id", "checks": [{"at", "version",
// "labels", "accuracy", "drift_metric", "drift_feature", "drift", "crossed", "outcome",
// "run_id"}]}].
boost::json::array monitor_checks(Tx& tx, const std::string& model, int limit);

}  // namespace ctflow::store
