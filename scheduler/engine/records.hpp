#pragma once
// The engine's in-memory records (internal to scheduler/engine/): what it knows of the attempts
// it runs, the processes it is about to start, and one pass's data. Everything here is either
// immutable or re-derived from PostgreSQL on adoption; nothing is state that only lives here.
// Engine thread only.
#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/executor/executor.hpp"
#include "scheduler/store/records.hpp"

namespace ctflow::engine {

using SteadyTime = std::chrono::steady_clock::time_point;

// What templates and the inputs file need of a run (immutable once read).
struct RunCtx {
  int64_t version_id = 0;
  boost::json::object params;
  std::string pipeline, digest, logical_date, data_interval_start, data_interval_end;
};

// An attempt this server started or adopted, by its key "<task_run_id>-<attempt>".
struct Active {
  int64_t task_run_id = 0, run_id = 0, attempt_id = 0, version_id = 0;
  int attempt = 1, max_attempts = 1, spec_index = 0;
  std::string name;
  std::optional<SteadyTime> deadline;
  std::optional<Millis> timeout;  // the deadline is set when its process starts
  bool timed_out = false, cancelled = false;
  std::optional<TimePoint> started_at;
  int64_t metrics_offset = 0;
  bool has_input_artifacts = true;    // record input uses at the end (unknown when adopted)
  bool maybe_trial = true;            // an hpo trial's attempt (unknown when adopted)
  std::shared_ptr<const RunCtx> run;  // null when adopted
  std::string redo;                   // stopped to be dispatched again (AttemptOutcome::redo)
  bool arm_tried = false;             // the fast path found nothing to arm below it
};

// A dispatched attempt's process, to start after the commit.
struct Prepared {
  exec::SpawnRequest req;
  Active active;
  bool started = false;        // started before the commit (an early start, or armed)
  bool done = false;           // recorded as ended by the same statement (a segment's step)
  boost::json::object models;  // the deployments its inputs file names
};

// A task's process before its attempt is known.
struct Command {
  std::vector<std::string> argv, env;  // env: without the attempt's number and paths
  boost::json::object inputs;          // the inputs file, without "tasks" and "models"
  std::string tasks_json;              // its "tasks": the ancestors' outputs, as JSON text
  std::vector<std::string> input_digests;
  std::string command_hash;  // argv, env and secret digests (cache keys)
  // Secrets the executor references instead of receiving their values (kubernetes: NAME ->
  // secret name, a secretKeyRef in the Job).
  std::vector<std::pair<std::string, std::string>> secret_refs;
};

// A task the fast path prepares before it is dispatched: a child of a finishing task
// (store::DirectDispatch) or a ready task this engine saw become ready (task_run_id set;
// store::ReadyDispatch).
struct DirectPlan {
  int64_t task_run_id = 0;
  int64_t run_id = 0, version_id = 0;
  int spec_index = 0;
  std::string name;
  Command cmd;
  std::optional<Millis> timeout;
  std::shared_ptr<const RunCtx> run;
  std::string parent_key;     // a child: the finishing attempt that readies it
  bool parents_done = false;  // a child: every parent succeeded, as far as this engine knows
  int early = -1;             // started early: its index in Pass::early
  std::optional<store::DirectDispatch::Done> done;  // ended already (a segment's step)
};

// Succeeded tasks' outputs by run and spec index, as this pass learnt them.
using Fresh = std::map<int64_t, std::map<int, store::UpstreamInfo>>;

// Finishes to apply in one statement, with the tasks whose descendants they mark.
struct Finishes {
  std::vector<store::FinishOp> ops;
  std::vector<int64_t> failed, skipped;
};

// What applying finishes did (Core::apply_finishes).
struct Applied {
  bool ready_left = true;                       // ready tasks may be left for a claim
  std::vector<int64_t> changed;                 // task runs whose transition applied
  size_t ready_sent = 0, ready_dispatched = 0;  // known ready tasks sent, and dispatched
};

// One pass's data, from its load to its commit (Core::pass).
struct Pass {
  SteadyTime start;
  // Loaded: transitions from executor events.
  std::vector<store::Started> started;
  Finishes fin;
  std::vector<store::AttemptResult> results;
  std::vector<size_t> result_finish;  // index into fin.ops for each result
  std::vector<std::string> finished_keys;
  Fresh fresh;
  bool trials_finished = false;  // a finished attempt may be an hpo trial: studies take a step
  // Due work that needs a transaction.
  bool sweep = false, renew = false, metrics_due = false, check_runs = false;
  bool ready_due = false;  // a retry's not_before passed
  // The fast path's plan: tasks to dispatch in the finishing statement, processes started
  // before it (`early`), and the claim key of the last known ready task taken.
  std::vector<DirectPlan> direct;
  std::vector<Prepared> early;
  std::pair<int, int64_t> max_key{0, 0};
  // Applied and to apply after the commit.
  Applied applied;
  std::vector<Prepared> to_spawn;
  std::vector<std::pair<std::string, Active>> adopted;
  std::vector<std::pair<std::string, int64_t>> offsets;  // metrics files read up to
  bool claimed_full = false;                             // the claim filled the free slots

  bool due() const { return sweep || renew || metrics_due || check_runs; }
};

}  // namespace ctflow::engine
