#pragma once
// Read models for the API's secondary resources (run metrics for charts, artifacts), retrying the
// failed tasks of a finished run, and the cheap counts /metrics scrapes. JSON is built by
// PostgreSQL (jsonb_build_object), in the shapes the OpenAPI document describes.
//
// Every function takes a Tx and never commits it (the caller owns the commit). Database errors
// throw DbError-compatible exceptions (the API answers 500); ordinary outcomes ("no such run")
// are values.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

struct MetricQuery {
  int64_t run_id = 0;
  std::optional<std::string> task;  // task name (trials: their task run's name)
  std::optional<std::string> name;  // metric name
  int max_points = 200;             // per series, 1..10000
};
// nullopt when the run does not exist; else {"run_id", "series": [{"task", "name", "points_total",
// "points": [{"step", "min", "max", "last", "count"}]}]}. Each series (task run, metric name) is
// cut into at most max_points buckets of equal step width (a point without a step counts as its
// position in the series); a bucket reports the last step it holds, the min, max and last value.
std::optional<boost::json::object> run_metrics(Tx& tx, const MetricQuery& q);

// An artifact by its sha256 (64 lower-case hex digits): {"digest", "size", "created_at",
// "produced_by": [{"run_id", "task", "name", "kind"}], "used_by": [...same...]}; nullopt if
// unknown.
std::optional<boost::json::object> get_artifact(Tx& tx, const std::string& digest);
// The file holding an artifact's content; nullopt if unknown.
std::optional<std::string> artifact_path(Tx& tx, const std::string& digest);

// Retry-failed: see RetryOutcome. Locks the run row; in one transaction resets every failed and
// upstream_failed task (HPO trials excepted) to pending, or ready when all its parents succeeded
// (pending_deps recomputed from its parents' states), with a fresh retry budget
// (max_attempts = attempt + max_attempts) and no error; the run goes back to running with its
// counters lowered accordingly (a run timeout restarts with the same length). Events record
// every transition; the engine is woken by NOTIFY.
// NotFailed: the run is not in state failed (still active, succeeded or cancelled).
// NotRetriable: nothing to reset (the run failed by its timeout alone) or a failed HPO study.
struct RetryOutcome {
  enum class Kind { Retried, NotFound, NotFailed, NotRetriable } kind = Kind::NotFound;
  std::string state;               // the run's state before (NotFailed) or after (Retried)
  std::vector<std::string> tasks;  // reset tasks, in spec order
};
RetryOutcome retry_failed(Tx& tx, int64_t run_id);

// Counts for /metrics (one statement each; cheap on the partial indexes).
struct StateCounts {
  std::vector<std::pair<std::string, int64_t>> runs;   // state -> count (every state present)
  std::vector<std::pair<std::string, int64_t>> tasks;  // active states only: pending, ready, ...
  int64_t ready_due = 0;                               // ready and not_before <= now()
};
StateCounts state_counts(Tx& tx);

}  // namespace ctflow::store
