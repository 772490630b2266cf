#pragma once
// One evaluation of one monitor against the prediction log, and the run it may start. Called by
// the monitor loop (engine/monitor_loop.hpp) in a transaction of its own per monitor; any number
// of replicas may call it at once: the monitor's row is locked FOR UPDATE SKIP LOCKED for the
// whole check, so a crossing starts at most one run, and the cooldown it records is seen by the
// next replica that locks the row.
//
// What it does (definitions in spec::Monitor): lock the monitor -> read the version the alias
// points at -> read the labelled window, the reference and the live window (index-backed) ->
// evaluate (monitor/evaluate.hpp) -> decide (cooldown, runs still active, the pipeline's
// concurrency) -> on a trigger, create one run (trigger "monitor", logical date `now`, the
// params of the run that trained the deployed version when it was a run of this pipeline, else
// the pipeline's defaults) with runs.trigger_detail holding the numbers that crossed, emit a
// "run" event -> record the check (monitor_checks).
#include <optional>
#include <string>

#include "scheduler/common/time_util.hpp"
#include "scheduler/domain/schedule_ops.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::monitor {

struct CheckResult {
  bool locked_elsewhere = false;  // another replica holds the row; nothing was done
  std::string outcome;            // ok | insufficient | triggered | cooldown | busy | ...
  std::optional<int64_t> run_id;  // the run started
  std::string error;              // a stored spec that cannot be used, params without defaults
};

CheckResult check_monitor(store::Tx& tx, int64_t pipeline_id, TimePoint now,
                          domain::SpecCache& specs);

}  // namespace ctflow::monitor
