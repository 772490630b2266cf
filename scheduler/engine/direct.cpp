// Direct dispatch, the engine's "mini scheduler" (Airflow runs one after each task): when a task
// succeeds, its children that this finish makes ready are prepared before the finishing statement
// and dispatched by that same statement (store::DirectDispatch), so a step of a chain is one
// round trip and one commit instead of finish, claim, create attempt and commit. Only children
// whose command needs nothing from the database qualify: no cache lookup, no study, no pool, and
// every ancestor's outputs already known to this engine. Everything else goes through the claim.
#include "scheduler/common/json_util.hpp"
#include "scheduler/engine/engine.hpp"
#include "scheduler/engine/study.hpp"

namespace ctflow::engine {

const Graph& Engine::graph(int64_t version_id, const spec::Pipeline& p) {
  auto it = graphs_.find(version_id);
  if (it == graphs_.end()) it = graphs_.emplace(version_id, build_graph(p)).first;
  return it->second;
}

void Engine::plan_direct(const Active& a, const std::map<int, store::UpstreamInfo>& finished,
                         int& room, std::vector<DirectPlan>& out) {
  if (!a.run || a.maybe_trial || room <= 0) return;
  auto it = specs_.find(a.version_id);
  if (it == specs_.end()) return;
  const spec::Pipeline& p = *it->second;
  if (a.spec_index < 0 || static_cast<size_t>(a.spec_index) >= p.tasks.size()) return;
  const Graph& g = graph(a.version_id, p);
  for (int ci : g.children[static_cast<size_t>(a.spec_index)]) {
    if (room <= 0) return;
    const spec::Task& t = p.tasks[static_cast<size_t>(ci)];
    if (t.hpo || t.cache || !t.pool.empty()) continue;
    bool planned = false;
    for (const auto& d : out) planned = planned || (d.run_id == a.run_id && d.spec_index == ci);
    if (planned) continue;  // a child of two tasks that finished together
    spec::TemplateContext ctx;
    ctx.params = a.run->params;
    ctx.run = {std::to_string(a.run_id), a.run->logical_date, a.run->data_interval_start,
               a.run->data_interval_end};
    boost::json::object tasks_in;
    std::vector<std::string> digests;
    // A parent not known here has not finished in this engine: the child is not ready yet, or
    // another server finished it and the claim will find the child.
    if (!gather_upstream(nullptr, a.run_id, g, ci, &finished, ctx, tasks_in, digests)) continue;
    if (g.any_hpo) add_best_values(p, ctx);
    DispatchPlan plan = plan_dispatch(t, ctx);
    if (plan.kind != DispatchPlan::Kind::Run) continue;  // the claim records skips and failures
    DirectPlan d;
    d.run_id = a.run_id;
    d.version_id = a.version_id;
    d.spec_index = ci;
    d.name = t.name;
    d.timeout = t.timeout;
    d.run = a.run;
    if (build_command(plan, a.run_id, t.name, *a.run, std::move(tasks_in), d.cmd)) continue;
    d.cmd.input_digests = std::move(digests);
    out.push_back(std::move(d));
    --room;
  }
}

store::DirectArgs Engine::direct_args(const std::vector<DirectPlan>& plans) const {
  store::DirectArgs args;
  args.owner = opt_.server_id;
  args.ref_prefix = executor_.ref_prefix();
  args.lease_ms = opt_.lease.count();
  for (const auto& d : plans) {
    boost::json::array argv;
    for (const auto& s : d.cmd.argv) argv.emplace_back(s);
    store::DirectDispatch dd;
    dd.run_id = d.run_id;
    dd.spec_index = d.spec_index;
    dd.argv_json = boost::json::serialize(argv);
    if (d.timeout) dd.timeout_ms = d.timeout->count();
    args.children.push_back(std::move(dd));
  }
  return args;
}

Engine::Prepared Engine::finish_direct(const DirectPlan& plan, const store::Dispatched& d,
                                       const boost::json::object& models) {
  std::string key = std::to_string(d.task_run_id) + "-" + std::to_string(d.attempt);
  Prepared out = make_prepared(key, d.attempt, plan.cmd, models);
  out.active.task_run_id = d.task_run_id;
  out.active.run_id = d.run_id;
  out.active.attempt_id = d.attempt_id;
  out.active.version_id = plan.version_id;
  out.active.max_attempts = d.max_attempts;
  out.active.spec_index = d.spec_index;
  out.active.name = plan.name;
  out.active.maybe_trial = false;
  out.active.run = plan.run;
  if (plan.timeout) out.active.deadline = std::chrono::steady_clock::now() + *plan.timeout;
  return out;
}

}  // namespace ctflow::engine
