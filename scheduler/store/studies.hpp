#pragma once
// Store operations of hyperparameter studies (tables `studies`, `trials`, sql/0003_hpo.sql).
// The engine's study step (engine/study.hpp) calls them inside its pass transaction; like every
// store function they take a Tx& and never commit it. Study decisions are made by the caller from
// what load_study returns; these functions only read and write rows.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

// What the driver of a claimed hpo task records when it becomes a study.
struct NewStudy {
  int64_t task_run_id = 0;  // the driver (claimed: state 'dispatched')
  int attempt = 0;          // its claimed attempt (guards the update)
  int64_t run_id = 0;
  int spec_index = 0;  // the space and early_stopping are copied from the stored spec
  std::string name, algorithm, metric, goal;
  int max_trials = 1, parallelism = 1;
  int64_t seed = 0;
  // The driver's cache key (engine/dispatch.cpp: trial command template, hpo block, inputs,
  // executable), written on the driver row so a later run with the same study is a cache hit.
  std::optional<std::string> cache_key, cache_components, cache_reason;
};

// Marks the driver 'running' without a lease or attempt (so adoption never touches it: there is
// no process) and inserts its study row (once: a second call for the same driver finds the
// first). Returns the study id, or nullopt if the driver is no longer in the claimed state.
std::optional<int64_t> create_study(Tx& tx, const NewStudy& s);

// The trial whose child task run this is, if any.
struct TrialOfTask {
  int64_t study_id = 0, trial_id = 0;
  int number = 0;
  boost::json::object params;
};
std::optional<TrialOfTask> trial_of_task(Tx& tx, int64_t task_run_id);

// Ids of the studies that have a trial among these task runs (ascending).
std::vector<int64_t> studies_of_tasks(Tx& tx, const std::vector<int64_t>& task_run_ids);
// Ids of studies in state 'running' (ascending).
std::vector<int64_t> running_studies(Tx& tx);

struct TrialRow {
  int64_t id = 0, task_run_id = 0;
  int number = 0;
  boost::json::object params;
  std::string state;  // trials.state
  std::optional<double> value;
  std::string task_state;  // its task run's state
  std::string task_error;
  std::optional<double> last_metric;   // last value of the objective metric it wrote
  std::optional<double> output_value;  // outputs[METRIC] when a number
};

struct StudyRow {
  int64_t id = 0, run_id = 0;
  int64_t driver_id = 0;  // the hpo task run
  std::string driver_state;
  int driver_attempt = 0, driver_max_attempts = 1, driver_priority = 0, spec_index = 0;
  std::string driver_pool;  // "" for none
  std::string name, algorithm, metric, goal, state;
  int max_trials = 1, parallelism = 1;
  int64_t seed = 0;
  boost::json::value space;  // as stored (the spec's canonical space JSON)
  bool exhausted = false;
  bool run_cancelling = false;  // the run has cancel_requested
  std::optional<std::string> error;
  std::vector<TrialRow> trials;  // ORDER BY number (the optimiser's input order)
};

// Locks the study row (FOR UPDATE) and loads it with its trials; nullopt if absent.
std::optional<StudyRow> load_study(Tx& tx, int64_t study_id);

// A trial's new state after its task run changed.
struct TrialUpdate {
  int64_t trial_id = 0;
  std::string state;  // pending | running | complete | failed
  std::optional<double> value;
  std::optional<std::string> error;
  bool final = false;
};
// Applies the updates; `failed_trials_refund` failed trial task runs are taken back out of the
// run's tasks_failed (a failed trial does not fail its run; see sql/0003_hpo.sql).
void update_trials(Tx& tx, int64_t run_id, const std::vector<TrialUpdate>& updates,
                   int failed_trials_refund);

// Creates trials `first_number`, `first_number + 1`, ... as ready child task runs of the driver
// named "NAME[N]" (spec index, priority, pool and max_attempts of the driver), adds them to the
// run's tasks_total, emits their events and NOTIFY ctflow_wake so that an engine claims them.
void insert_trials(Tx& tx, const StudyRow& s, int first_number,
                   const std::vector<boost::json::object>& params);

// Study bookkeeping: set `exhausted`, or record the end (state, best, error).
void mark_exhausted(Tx& tx, int64_t study_id, const std::optional<std::string>& error);
void finish_study(Tx& tx, int64_t study_id, const std::string& state,
                  std::optional<int64_t> best_trial_id, std::optional<double> best_value,
                  const std::optional<std::string>& error);

// Median early stopping: the objective metric curves (step, value; a NULL step counts as the
// point's position) of the study's complete trials, and of the trial running as `task_run_id`.
struct StudyCurves {
  int64_t study_id = 0, trial_id = 0;
  std::string trial_state;
  std::vector<std::vector<std::pair<int64_t, double>>> completed;
  std::vector<std::pair<int64_t, double>> running;
};
std::optional<StudyCurves> study_curves(Tx& tx, int64_t task_run_id, const std::string& metric);
// trials.state -> 'pruned' with its best intermediate value; emits a "task" event with the reason.
void mark_pruned(Tx& tx, int64_t trial_id, double value, const std::string& reason);

// The API's view (studies_read.cpp). A study: {"id", "run_id", "task", "task_run_id",
// "algorithm", "metric", "goal", "max_trials", "parallelism", "seed", "state", "error",
// "created_at", "finished_at", "trials": {total, complete, running, failed, pruned},
// "best": {number, params, value} | null}; newest first, optionally one run's.
boost::json::array list_studies(Tx& tx, std::optional<int64_t> run_id, int limit);
// One study with "space", "early_stopping" and "trial_list": [{"number", "params", "state",
// "value", "error", "task_run_id", "task", "created_at", "finished_at"}] by number.
std::optional<boost::json::object> get_study(Tx& tx, int64_t study_id);

}  // namespace ctflow::store
