#pragma once
// The monitor's judgement, as pure functions of what it read (tested without a database):
//   - drift statistics between a reference sample and a live sample (PSI, KS);
//   - evaluate(): accuracy over the labelled window and drift over the live window, and which
//     of the monitor's thresholds they crossed;
//   - decide(): whether a crossing starts a run, given the cooldown and the runs still active.
// Definitions of the windows and the reference: spec::Monitor (scheduler/spec/spec.hpp).
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/monitor/record.hpp"
#include "scheduler/spec/spec.hpp"

namespace ctflow::monitor {

// Population stability index: sum over bins of (live - ref) * ln(live / ref), shares floored at
// 1e-4 so an empty bin counts as rare, not impossible. Continuous features use 10 bins cut at
// the reference's deciles (ties collapse bins); classes are their own bins.
double psi_continuous(std::vector<double> reference, const std::vector<double>& live);
double psi_classes(const std::vector<int>& reference, const std::vector<int>& live);
// Two-sample Kolmogorov-Smirnov statistic: the largest distance between the two empirical CDFs
// (for classes, over the class order). 0 for empty samples.
double ks_statistic(std::vector<double> reference, std::vector<double> live);

// A threshold crossed: {"metric": "accuracy" | "psi" | "ks", "feature"?, "value", "threshold",
// "labels"? (accuracy), "window"}.
struct Crossing {
  std::string metric, feature;
  double value = 0, threshold = 0;
  int64_t samples = 0;  // labelled predictions (accuracy) or live predictions (drift)
  boost::json::object to_json() const;
};

struct Evaluation {
  int64_t labels = 0;              // labelled predictions in the accuracy window
  std::optional<double> accuracy;  // set once labels >= min_labels
  std::optional<double> drift;     // set once the version has 2 x window predictions
  std::vector<Crossing> crossed;   // what crossed its threshold (empty: nothing)
  bool judged() const { return accuracy || drift; }
};

// labeled: the newest labelled predictions (at most window); reference: the version's first
// predictions (at most window); live: its newest (at most window); total: how many it has
// (at least 2 x window means reference and live do not overlap).
Evaluation evaluate(const spec::Monitor& m, const std::vector<Point>& labeled,
                    const std::vector<Point>& reference, const std::vector<Point>& live,
                    int64_t total);

enum class Decision { ok, insufficient, trigger, cooldown, busy };
const char* decision_name(Decision d);  // the monitor_checks.outcome word

// A crossing starts a run unless one this monitor started is still active (busy), the pipeline
// is at its concurrency limit (busy; concurrency 0: none), or the last start is less than
// `cooldown` ago on the monitor's clock.
Decision decide(const Evaluation& e, const spec::Monitor& m, TimePoint now,
                std::optional<TimePoint> last_triggered, bool own_run_active, int active_runs,
                int concurrency);

}  // namespace ctflow::monitor
