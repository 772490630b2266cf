#pragma once
// Plain records exchanged between the store and the rest of the control plane. No pqxx here.
// JSON-valued columns travel as boost::json values.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"

namespace ctflow::store {

// A task of a run to be created at submit time.
struct NewTask {
  std::string name;
  int spec_index = 0;
  std::vector<int> needs;  // spec indices of parents
  int max_attempts = 1;    // 1 + retry.limit
  int priority = 0;
  std::string pool;  // empty: none
};

struct NewRun {
  int64_t pipeline_version_id = 0;
  boost::json::object params;
  std::optional<TimePoint> logical_date;  // default: now
  std::optional<TimePoint> data_interval_start, data_interval_end;
  std::string trigger = "api";
  int concurrency = 0;  // pipeline's max active runs; 0 = unlimited
  std::optional<int64_t> run_timeout_ms;
  std::vector<NewTask> tasks;
};

// What an upstream task produced, for templates and the inputs file.
struct UpstreamInfo {
  std::string name;
  std::string state;
  boost::json::object outputs;
  boost::json::object artifacts;  // name -> {path, digest, kind, size}
};

// A task claimed for dispatch (state already 'dispatched' in the claim transaction).
struct ClaimedTask {
  int64_t task_run_id = 0;
  int64_t run_id = 0;
  int64_t pipeline_version_id = 0;
  std::string pipeline;
  std::string pipeline_digest;  // the version's content address
  std::string name;
  int spec_index = 0;
  int attempt = 0;  // the attempt number being started (1-based)
  int max_attempts = 1;
  boost::json::object params;
  std::string logical_date, data_interval_start, data_interval_end;  // ISO-8601 or empty
  std::vector<std::pair<int, UpstreamInfo>> parents;                 // direct parents by spec index
  boost::json::object models;  // current production deployments
};

// A final or retry transition of one attempt, decided by the engine's planner.
struct FinishOp {
  int64_t task_run_id = 0;
  int64_t attempt_id = 0;     // 0 when the task never started (skipped, cached, cancelled before)
  int attempt = 0;            // guards against stale updates: applies only if still this attempt
  std::string state;          // succeeded | failed | ready (retry) | cancelled | skipped | cached
  std::string attempt_state;  // succeeded | failed | cancelled | lost (task_attempts.state)
  std::optional<std::string> error;
  std::optional<int> exit_code;
  boost::json::object outputs;
  std::optional<TimePoint> not_before;  // retries
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;  // when its process ended (else the statement's time)
  std::optional<std::string> cache_key, cache_reason, cache_components;
  bool refund = false;  // a never-started attempt: max_attempts grows by one
  // The task has no children in its run's DAG (known from the spec): a statement whose tasks
  // are all such leaves skips counting children down. False when not known.
  bool leaf = false;
};

// Direct dispatch (Airflow's "mini scheduler"): a child the engine prepared while its parent
// finished. finish_tasks dispatches it in the same statement when that finish makes it ready, its
// run is running, it has no pool, and no other ready task is waiting (the claim order stays fair).
struct DirectDispatch {
  int64_t run_id = 0;
  int spec_index = 0;
  std::vector<std::string> argv;  // the rendered argv, stored on the attempt
  std::optional<int64_t> timeout_ms;
  // Already started by the engine (its attempt 1; FastPath::start_early): dispatched whenever this
  // finish readies it and its run is running, even with other ready tasks waiting.
  bool pre = false;
  // Started and already ended well (outputs {}): a step of a chain that the executor ran ahead
  // (FastPath::build_segment). Recorded as dispatched and succeeded in one go, with its own
  // children readied or dispatched, in the same statement as the finish of `after` (the task that
  // heads the segment), when that finish applies, every step of the segment is still pending with
  // only its parent left, its run is running, and the deployments are DirectArgs::models. `seq`:
  // its place in the segment (event order). A pre child whose segment does not apply is only
  // dispatched.
  struct Done {
    int64_t task_run_id = 0, after = 0;
    int seq = 0;
    std::optional<int> exit_code;
    std::optional<TimePoint> started_at, finished_at;
  };
  std::optional<Done> done;
};
// A ready task the engine prepared earlier (it saw it become ready): dispatched by id in the
// same statement when it is still ready, its run running, and no ready task it does not know
// of comes first in claim order (priority, id) up to `max_key`.
struct ReadyDispatch {
  int64_t task_run_id = 0;
  std::vector<std::string> argv;
  std::optional<int64_t> timeout_ms;
};
struct DirectArgs {
  std::string owner, ref_prefix;  // lease owner; executor_ref = ref_prefix + "<id>-<attempt>"
  int64_t lease_ms = 0;
  std::vector<DirectDispatch> children;
  std::vector<ReadyDispatch> ready;
  std::pair<int, int64_t> max_key{0, 0};  // the largest (priority, id) of `ready`
  boost::json::object models;             // the deployments the inputs of `done` children named
};
struct Dispatched {  // a task finish_tasks dispatched (state 'dispatched', attempt row)
  int64_t task_run_id = 0, run_id = 0, attempt_id = 0;
  int spec_index = 0, attempt = 1, max_attempts = 1;
};
struct BecameReady {  // a child finish_tasks made ready (not dispatched)
  int64_t task_run_id = 0, run_id = 0;
  int spec_index = 0, priority = 0, attempt = 0;
};
struct FinishResult {
  std::vector<int64_t> changed;  // task_run ids whose transition applied (others were stale)
  std::vector<Dispatched> dispatched;
  std::vector<BecameReady> became_ready;
  std::vector<Dispatched> done;  // `done` children recorded as succeeded (attempt rows)
  bool ready_left = true;        // some task may be ready that this statement did not dispatch
  boost::json::object models;  // current production deployments (set when dispatched is not empty)
};

struct ArtifactOut {
  std::string name, kind, digest, path;
  int64_t size = 0;
};

struct MetricPoint {
  std::string name;
  double value = 0;
  std::optional<int64_t> step;
};

// Everything a finished attempt hands to the store in its finishing transaction.
struct AttemptResult {
  int64_t task_run_id = 0;
  int64_t run_id = 0;
  std::vector<ArtifactOut> artifacts;
  std::vector<MetricPoint> metrics;
  boost::json::array registry;  // registry operations from the outputs file
};

// A dispatch decided after claiming: the attempt row to create.
struct DispatchOp {
  int64_t task_run_id = 0;
  int attempt = 0;
  std::string argv_json;
  std::optional<std::string> cache_key, cache_reason, cache_components;
  std::optional<int64_t> timeout_ms;
};

struct Started {  // an attempt's process started
  int64_t task_run_id = 0, attempt_id = 0;
  int attempt = 0;
  TimePoint at{};
};

struct ActiveAttempt {  // a dispatched/running task, for adoption and renewal
  int64_t task_run_id = 0, run_id = 0, attempt_id = 0;
  int attempt = 0, max_attempts = 1;
  std::string name, state, executor_ref, lease_owner;
  int64_t pipeline_version_id = 0;
  int spec_index = 0;
  bool cancel_requested = false;
  int64_t metrics_offset = 0;
  std::optional<int64_t> deadline_in_ms;  // the task's timeout, relative to now
};

}  // namespace ctflow::store
