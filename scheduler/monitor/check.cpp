#include "scheduler/monitor/check.hpp"

#include "scheduler/common/log.hpp"
#include "scheduler/domain/submit.hpp"
#include "scheduler/monitor/evaluate.hpp"
#include "scheduler/spec/params.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/monitors.hpp"
#include "scheduler/store/predictions.hpp"

namespace ctflow::monitor {

namespace {

boost::json::object detail_of(const spec::Monitor& m, int64_t version, const Evaluation& e,
                              TimePoint now) {
  boost::json::array crossed;
  for (const auto& c : e.crossed) crossed.push_back(c.to_json());
  boost::json::object o{{"model", m.model},
                        {"alias", m.alias},
                        {"version", version},
                        {"window", m.window},
                        {"labels", e.labels},
                        {"crossed", std::move(crossed)},
                        {"checked_at", format_iso8601(now)}};
  if (e.accuracy) o["accuracy"] = *e.accuracy;
  if (e.drift) o["drift"] = *e.drift;
  return boost::json::object{{"monitor", std::move(o)}};
}

}  // namespace

CheckResult check_monitor(store::Tx& tx, int64_t pipeline_id, TimePoint now,
                          domain::SpecCache& specs) {
  CheckResult out;
  auto row = store::lock_monitor(tx, pipeline_id);
  if (!row) {
    out.locked_elsewhere = true;
    return out;
  }
  const spec::Pipeline* p = specs.get(tx, row->version_id);
  if (!p || !p->monitor) {
    out.error = "pipeline " + row->pipeline + ": its stored version has no usable monitor block";
    return out;
  }
  const spec::Monitor& m = *p->monitor;
  store::MonitorCheck check;
  check.pipeline_id = pipeline_id;
  check.model = m.model;
  check.alias = m.alias;
  check.checked_at = now;
  if (m.drift) {
    check.drift_metric = m.drift->metric;
    check.drift_feature = m.drift->feature;
  }
  auto model_id = store::model_id(tx, m.model);
  std::optional<int64_t> version;
  if (model_id) version = store::alias_version(tx, *model_id, m.alias);
  if (!version) {
    check.outcome = out.outcome = "no_deployment";
    store::record_check(tx, check);
    return out;
  }
  check.version = version;
  const int64_t window = m.window;
  auto labeled = store::prediction_window(tx, *model_id, *version, window, true, true);
  int64_t total = 0;
  std::vector<Point> reference, live;
  if (m.drift) {
    total = store::count_predictions(tx, *model_id, *version, 2 * window);
    if (total >= 2 * window) {
      reference = store::prediction_window(tx, *model_id, *version, window, false, false);
      live = store::prediction_window(tx, *model_id, *version, window, true, false);
    }
  }
  Evaluation e = evaluate(m, labeled, reference, live, total);
  check.labels = e.labels;
  check.accuracy = e.accuracy;
  check.drift = e.drift;
  for (const auto& c : e.crossed) check.crossed.push_back(c.to_json());
  bool own_active = row->last_run_id && store::run_active(tx, *row->last_run_id);
  Decision d = decide(e, m, now, row->last_triggered_at, own_active,
                      store::active_run_count(tx, pipeline_id), p->concurrency);
  if (d == Decision::trigger) {
    // Retrain as the deployed version was trained: its run's params when that run was of this
    // pipeline (and they still fit its latest version), else the pipeline's defaults.
    auto params = spec::resolve_params(*p, {}, {});
    if (auto prev = store::version_run_params(tx, *model_id, *version, pipeline_id)) {
      auto same = spec::resolve_params(*p, {}, *prev);
      if (same) params = std::move(same);
    }
    if (!params) {
      out.error = "pipeline " + row->pipeline + ": " + params.error();
      d = Decision::busy;
    } else {
      int64_t run_id = domain::create_run(tx, row->version_id, *p, *params, "monitor", now);
      auto detail = detail_of(m, *version, e, now);
      store::set_trigger_detail(tx, run_id, detail);
      store::emit_event(
          tx, "monitor", run_id, std::nullopt,
          {{"pipeline", row->pipeline}, {"run_id", std::to_string(run_id)}, {"detail", detail}});
      check.run_id = out.run_id = run_id;
    }
  }
  check.outcome = out.outcome = decision_name(d);
  store::record_check(tx, check);
  return out;
}

}  // namespace ctflow::monitor
