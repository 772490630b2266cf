#pragma once
// Median early stopping (`early_stopping: {rule: median, min_trials, start_step}`), as a pure
// function of the trials' intermediate curves, so the engine's decision is testable without
// processes or a database.
//
// Rule: let s be the running trial's latest reported step. If s >= start_step and at least
// min_trials completed trials reported some step <= s, compare the running trial's best value
// over steps <= s with the median of the completed trials' best values over steps <= s; prune
// when it is strictly worse (greater for minimize, smaller for maximize). Using each curve's
// best-so-far (not its value exactly at s) tolerates noisy curves and trials that report at
// different steps. A trial is never pruned before it reports a step >= start_step.
#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/common/result.hpp"
#include "scheduler/hpo/study.hpp"

namespace ctflow::hpo {

struct MedianRule {
  int min_trials = 3;      // completed trials needed before anything is pruned (>= 1)
  int64_t start_step = 1;  // no pruning before the running trial reaches this step (>= 0)
};

// Parses {"rule": "median", "min_trials": int >= 1, "start_step": int >= 0}; the last two are
// optional. Errors "PATH.FIELD: reason" are appended to `errors`.
std::optional<MedianRule> parse_early_stopping(const boost::json::value& v, const std::string& path,
                                               std::vector<std::string>& errors);

struct CurvePoint {
  int64_t step = 0;
  double value = 0;
};
using Curve = std::vector<CurvePoint>;  // any order; steps may repeat

struct PruneDecision {
  bool prune = false;
  int64_t step = -1;      // the running trial's latest step (-1: no points yet)
  double trial_best = 0;  // its best value over steps <= step
  double median = 0;      // median of completed trials' best values over steps <= step
  int compared = 0;       // completed trials that entered the median
  std::string reason;  // one line for the event log, e.g. "0.91 worse than median 0.42 at step 3"
};

PruneDecision median_should_prune(const MedianRule& rule, Goal goal,
                                  const std::vector<Curve>& completed, const Curve& running);

// Extracts one metric's curve from a trial's metrics file (JSON lines {"name", "value", "step"},
// as the task contract defines). A last line without a newline is still being written and is
// ignored; a complete line that is not such an object is an error "line N: reason". Lines for
// other metrics are skipped; a missing step counts as the line's position among this metric's.
Result<Curve> curve_from_metrics_jsonl(std::string_view text, std::string_view metric);

}  // namespace ctflow::hpo
