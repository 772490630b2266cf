#pragma once
// The study step's decisions as a pure function of a loaded study (store::StudyRow): which trials
// changed state, how many new suggestions to ask for and which, and whether the driver finishes.
// No database, no clock; unit-tested in tests/unit/engine/test_study_plan.cpp. Thread-safe.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "scheduler/hpo/study.hpp"
#include "scheduler/store/studies.hpp"

namespace ctflow::engine {

struct StudyFinish {
  std::string state;  // succeeded | failed | cancelled (the driver's and the study's state)
  boost::json::object outputs;  // succeeded: {"best": {...params, METRIC: v}, "best_trial": N, ...}
  std::optional<std::string> error;
  std::optional<int64_t> best_trial_id;
  std::optional<double> best_value;
};

struct StudyStep {
  std::vector<store::TrialUpdate> updates;  // trials whose state changed
  int failed_refund = 0;  // trials whose task run ended failed (given back to tasks_failed)
  int first_number = 1;   // number of the first new trial
  std::vector<boost::json::object> new_trials;  // params of trials to create now
  bool exhausted = false;                       // set studies.exhausted (grid done or error)
  std::optional<std::string> exhausted_error;   // the optimiser's error, if that is why
  std::optional<StudyFinish> finish;            // the driver ends now
};

// True for task run states that never change again.
bool task_state_final(const std::string& state);

// The study's optimiser configuration from its row (algorithm, goal, seed, space).
Result<hpo::StudyConfig> study_config(const store::StudyRow& s);

// One step. Open trials (pending/running) follow their task runs: succeeded/cached -> complete
// with the objective (last metric value, else outputs[METRIC]) or failed when there is none;
// failed/cancelled/... -> failed. Slots free = parallelism - trials whose task run is not final
// (a pruned trial holds its slot until its process is gone), capped by max_trials - trials. The
// optimiser sees every trial in number order: complete with its value, pruned with its partial
// value, failed, and the rest pending. The driver finishes when no trial is active and no trial
// may be created: succeeded with the best complete trial, else failed; cancelled when its run is
// being cancelled (then no new trials are created).
StudyStep plan_study_step(const store::StudyRow& s);

}  // namespace ctflow::engine
