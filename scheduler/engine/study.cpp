#include "scheduler/engine/study.hpp"

#include "scheduler/common/crash_point.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/engine/plan.hpp"
#include "scheduler/engine/study_plan.hpp"
#include "scheduler/hpo/early_stopping.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/studies.hpp"

namespace ctflow::engine {

namespace {

// Trials are named "TASK[N]"; '[' never occurs in a task name the spec accepts.
bool is_trial_name(const std::string& name) {
  return !name.empty() && name.back() == ']' && name.find('[') != std::string::npos;
}

void apply_step(store::Tx& tx, const store::StudyRow& s, const StudyStep& step) {
  store::update_trials(tx, s.run_id, step.updates, step.failed_refund);
  if (!step.new_trials.empty()) {  // trial rows and their task rows made, none started
    store::insert_trials(tx, s, step.first_number, step.new_trials);
    crash::point("hpo:before-commit");
    crash::at_commit("hpo:after-commit");
  }
  if (step.exhausted) store::mark_exhausted(tx, s.id, step.exhausted_error);
  if (!step.finish) return;
  const StudyFinish& f = *step.finish;
  store::FinishOp op;
  op.task_run_id = s.driver_id;
  op.attempt = s.driver_attempt;
  op.state = f.state;
  op.attempt_state = f.state;
  op.error = f.error;
  op.outputs = f.outputs;
  auto changed = store::finish_tasks(tx, {op}).changed;
  if (changed.empty()) return;  // someone else finished it (cannot happen under the study lock)
  if (f.state == "failed") store::propagate(tx, {s.driver_id}, "upstream_failed");
  store::finish_study(tx, s.id, f.state, f.best_trial_id, f.best_value, f.error);
  store::notify(tx, "ctflow_wake", "");  // its children may be ready now
  log::info("study {} ({} of run {}) {}{}", s.id, s.name, s.run_id, f.state,
            f.error ? ": " + *f.error : "");
}

void step_study(store::Tx& tx, int64_t study_id) {
  auto s = store::load_study(tx, study_id);
  if (!s) return;
  apply_step(tx, *s, plan_study_step(*s));
}

}  // namespace

std::optional<spec::Task> prepare_hpo(store::Tx& tx, const store::ClaimedTask& c,
                                      const spec::Task& t, spec::TemplateContext& ctx,
                                      store::FinishOp& finish) {
  const spec::HpoSpec& h = *t.hpo;
  if (is_trial_name(c.name)) {
    auto trial = store::trial_of_task(tx, c.task_run_id);
    if (!trial) {
      finish.state = finish.attempt_state = "failed";
      finish.error = "trial " + c.name + " has no trials row";
      return std::nullopt;
    }
    ctx.trial = trial->params;
    spec::Task run = t;
    run.run = h.trial_run;
    run.hpo.reset();
    run.when.reset();   // the driver evaluated it
    run.cache = false;  // a cached trial would bring no metrics, hence no objective value
    return run;
  }
  // The driver: honour `when` (the rendered argv is empty), then become the study.
  DispatchPlan plan = plan_dispatch(t, ctx);
  if (plan.kind != DispatchPlan::Kind::Run) {
    finish.state = plan.kind == DispatchPlan::Kind::Skip ? "skipped" : "failed";
    finish.attempt_state = finish.state;
    finish.error = plan.reason;
    return std::nullopt;
  }
  store::NewStudy ns;
  ns.task_run_id = c.task_run_id;
  ns.attempt = c.attempt;
  ns.run_id = c.run_id;
  ns.spec_index = c.spec_index;
  ns.name = c.name;
  ns.algorithm = h.algorithm;
  ns.metric = h.metric;
  ns.goal = h.goal;
  ns.max_trials = h.max_trials;
  ns.parallelism = h.parallelism;
  ns.seed = h.seed;
  ns.cache_key = finish.cache_key;  // set by prepare() when the study is cacheable (a miss)
  ns.cache_components = finish.cache_components;
  ns.cache_reason = finish.cache_reason;
  auto id = store::create_study(tx, ns);
  if (!id) {
    finish.state = finish.attempt_state = "failed";
    finish.error = "study driver " + c.name + " changed state while it was being started";
    return std::nullopt;
  }
  step_study(tx, *id);
  finish.state.clear();  // running as a study: no process, nothing to finish now
  return std::nullopt;
}

void add_best_values(const spec::Pipeline& p, spec::TemplateContext& ctx) {
  for (const auto& [name, outputs] : ctx.outputs) {
    const spec::Task* t = p.task(name);
    if (!t || !t->hpo) continue;
    if (const auto* b = outputs.if_contains("best"); b && b->is_object())
      ctx.best[name] = b->get_object();
  }
}

void step_studies(store::Tx& tx, const std::vector<int64_t>& finished_task_runs, bool all) {
  auto ids = all ? store::running_studies(tx) : store::studies_of_tasks(tx, finished_task_runs);
  for (int64_t id : ids) step_study(tx, id);
}

bool maybe_prune(store::Tx& tx, const spec::Task& t, int64_t task_run_id) {
  if (!t.hpo || !t.hpo->early_stopping) return false;
  const spec::HpoSpec& h = *t.hpo;
  auto c = store::study_curves(tx, task_run_id, h.metric);
  if (!c || (c->trial_state != "pending" && c->trial_state != "running")) return false;
  auto to_curve = [](const std::vector<std::pair<int64_t, double>>& pts) {
    hpo::Curve curve;
    for (const auto& [step, value] : pts) curve.push_back({step, value});
    return curve;
  };
  std::vector<hpo::Curve> completed;
  for (const auto& pts : c->completed) completed.push_back(to_curve(pts));
  hpo::MedianRule rule{h.early_stopping->min_trials, h.early_stopping->start_step};
  auto goal = hpo::parse_goal(h.goal).value_or(hpo::Goal::Maximize);
  auto d = hpo::median_should_prune(rule, goal, completed, to_curve(c->running));
  if (!d.prune) return false;
  store::mark_pruned(tx, c->trial_id, d.trial_best, "pruned by median stopping: " + d.reason);
  log::info("trial task run {} pruned: {}", task_run_id, d.reason);
  return true;
}

}  // namespace ctflow::engine
