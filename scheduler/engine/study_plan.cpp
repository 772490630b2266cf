#include "scheduler/engine/study_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ctflow::engine {

namespace {

bool open_trial(const std::string& state) {
  return state == "pending" || state == "running";
}

hpo::TrialState trial_state(const std::string& s) {
  if (s == "complete") return hpo::TrialState::Complete;
  if (s == "failed") return hpo::TrialState::Failed;
  if (s == "pruned") return hpo::TrialState::Pruned;
  return hpo::TrialState::Pending;
}

// The open trial `t` after its task run's current state; nullopt when nothing changes.
std::optional<store::TrialUpdate> follow_task(const store::TrialRow& t, const std::string& metric,
                                              int& refund) {
  store::TrialUpdate u;
  u.trial_id = t.id;
  const std::string& ts = t.task_state;
  if (ts == "dispatched" || ts == "running") {
    u.state = "running";
  } else if (!task_state_final(ts)) {
    u.state = "pending";  // queued, or waiting for a retry
  } else if (ts == "succeeded" || ts == "cached") {
    u.final = true;
    std::optional<double> v = t.last_metric ? t.last_metric : t.output_value;
    if (v && std::isfinite(*v)) {
      u.state = "complete";
      u.value = v;
    } else {
      u.state = "failed";
      u.error =
          v ? fmt::format("objective {} is not a finite number", metric)
            : fmt::format("the trial reported no value of {} (metrics file or outputs)", metric);
    }
  } else {
    u.final = true;
    u.state = "failed";
    u.error = t.task_error.empty() ? "task run " + ts : t.task_error;
    if (ts == "failed" || ts == "upstream_failed") ++refund;
  }
  if (u.state == t.state && !u.final) return std::nullopt;
  return u;
}

}  // namespace

bool task_state_final(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "upstream_failed" || s == "skipped" ||
         s == "cancelled" || s == "cached";
}

Result<hpo::StudyConfig> study_config(const store::StudyRow& s) {
  hpo::StudyConfig c;
  auto a = hpo::parse_algorithm(s.algorithm);
  if (!a) return Error{"algorithm: unknown \"" + s.algorithm + "\""};
  auto g = hpo::parse_goal(s.goal);
  if (!g) return Error{"objective.goal: unknown \"" + s.goal + "\""};
  c.algorithm = *a;
  c.goal = *g;
  c.seed = static_cast<uint64_t>(s.seed);
  std::vector<std::string> errors;
  auto space = hpo::parse_space(s.space, "space", errors);
  if (!space) return Error{errors.empty() ? "space: invalid" : errors.front()};
  c.space = std::move(*space);
  return c;
}

StudyStep plan_study_step(const store::StudyRow& s) {
  StudyStep step;
  std::vector<hpo::TrialRecord> records;
  int active = 0, complete = 0, failed = 0, pruned = 0;
  for (const auto& t : s.trials) {
    std::string state = t.state;
    std::optional<double> value = t.value;
    if (open_trial(t.state)) {
      if (auto u = follow_task(t, s.metric, step.failed_refund)) {
        state = u->state;
        if (u->value) value = u->value;
        step.updates.push_back(std::move(*u));
      }
    }
    if (!task_state_final(t.task_state)) ++active;
    complete += state == "complete";
    failed += state == "failed";
    pruned += state == "pruned";
    hpo::TrialRecord r;
    r.params = t.params;
    r.state = trial_state(state);
    // A pruned trial's best intermediate value is passed on (see hpo::TrialState::Pruned: median
    // stopping only prunes curves worse than the median at the same step, so the partial value
    // is a pessimistic estimate that steers the search away from a region known to be poor).
    if (r.state == hpo::TrialState::Complete || r.state == hpo::TrialState::Pruned) r.value = value;
    if (r.value && !std::isfinite(*r.value)) r.value.reset();
    if (r.state == hpo::TrialState::Complete && !r.value) r.state = hpo::TrialState::Failed;
    records.push_back(std::move(r));
  }
  if (s.state != "running" || s.driver_state != "running") return step;
  int n = static_cast<int>(s.trials.size());
  step.first_number = (s.trials.empty() ? 0 : s.trials.back().number) + 1;
  if (s.run_cancelling) {
    if (active == 0)
      step.finish =
          StudyFinish{"cancelled", {}, "the run was cancelled", std::nullopt, std::nullopt};
    return step;
  }
  auto config = study_config(s);
  bool exhausted = s.exhausted;
  std::optional<std::string> error = s.error;
  int free = std::min(s.parallelism - active, s.max_trials - n);
  if (free > 0 && !exhausted) {
    auto r = config ? hpo::suggest(*config, records, free)
                    : Result<hpo::Suggestions>(Error{config.error()});
    if (!r) {
      step.exhausted = exhausted = true;
      step.exhausted_error = error = "optimiser: " + r.error();
    } else {
      for (auto& sg : r->suggestions) step.new_trials.push_back(std::move(sg.params));
      if (r->exhausted) step.exhausted = exhausted = true;
    }
  }
  if (active > 0 || !step.new_trials.empty() || (n < s.max_trials && !exhausted)) return step;
  auto best = config ? hpo::best_trial(records, config->goal) : std::nullopt;
  if (!best) {
    step.finish =
        StudyFinish{"failed",
                    {},
                    error.value_or(fmt::format("no trial completed ({} failed, {} pruned of {})",
                                               failed, pruned, n)),
                    std::nullopt,
                    std::nullopt};
    return step;
  }
  const auto& bt = s.trials[*best];
  double v = *records[*best].value;
  boost::json::object best_values = bt.params;
  best_values[s.metric] = v;
  StudyFinish f;
  f.state = "succeeded";
  f.outputs = {
      {"best", std::move(best_values)}, {"best_trial", bt.number}, {"value", v},      {"trials", n},
      {"complete", complete},           {"failed", failed},        {"pruned", pruned}};
  f.best_trial_id = bt.id;
  f.best_value = v;
  step.finish = std::move(f);
  return step;
}

}  // namespace ctflow::engine
