// The fast path's direct dispatch, the engine's "mini scheduler" (Airflow runs one after each
// task): when a task succeeds, its children that this finish makes ready are prepared before the
// finishing statement and dispatched by that same statement (store::DirectDispatch), so a step of a
// chain is one round trip and one commit instead of finish, claim, create attempt and commit. Only
// children whose command needs nothing from the database qualify: no cache lookup, no study, no
// pool, and every ancestor's outputs already known to this engine. Everything else goes through the
// claim.
#include <signal.h>
#include <unistd.h>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"
#include "scheduler/engine/study.hpp"
#include "scheduler/store/engine_ops.hpp"

namespace ctflow::engine {

std::optional<DirectPlan> FastPath::plan_task(int64_t run_id,
                                              const std::shared_ptr<const RunCtx>& run,
                                              int64_t version_id, int index,
                                              const std::map<int, store::UpstreamInfo>* extra) {
  if (!run) return std::nullopt;
  auto it = core_.specs_.find(version_id);
  if (it == core_.specs_.end()) return std::nullopt;
  const spec::Pipeline& p = *it->second;
  if (index < 0 || static_cast<size_t>(index) >= p.tasks.size()) return std::nullopt;
  const spec::Task& t = p.tasks[static_cast<size_t>(index)];
  if (t.hpo || t.cache || !t.pool.empty()) return std::nullopt;
  const Graph& g = core_.graph(version_id, p);
  spec::TemplateContext ctx;
  ctx.params = run->params;
  ctx.run = {std::to_string(run_id), run->logical_date, run->data_interval_start,
             run->data_interval_end};
  std::string tasks_json;
  std::vector<std::string> digests;
  // A parent not known here has not finished in this engine: the task is not ready yet, or
  // another server finished it and the claim will find the task.
  if (!core_.gather_upstream(nullptr, run_id, g, index, extra, reads_upstream(t), ctx, tasks_json,
                             digests))
    return std::nullopt;
  if (g.any_hpo) add_best_values(p, ctx);
  DispatchPlan plan = plan_dispatch(t, ctx);
  if (plan.kind != DispatchPlan::Kind::Run) return std::nullopt;  // the claim records those
  DirectPlan d;
  d.run_id = run_id;
  d.version_id = version_id;
  d.spec_index = index;
  d.name = t.name;
  d.timeout = t.timeout;
  d.run = run;
  if (core_.build_command(plan, run_id, t.name, *run, std::move(tasks_json), d.cmd))
    return std::nullopt;
  d.cmd.input_digests = std::move(digests);
  return d;
}

void FastPath::plan_direct(const Active& a, const std::map<int, store::UpstreamInfo>& finished,
                           int& room, std::vector<DirectPlan>& out) {
  if (!a.run || a.maybe_trial || room <= 0) return;
  auto it = core_.specs_.find(a.version_id);
  if (it == core_.specs_.end()) return;
  const Graph& g = core_.graph(a.version_id, *it->second);
  if (a.spec_index < 0 || static_cast<size_t>(a.spec_index) >= g.children.size()) return;
  for (int ci : g.children[static_cast<size_t>(a.spec_index)]) {
    if (room <= 0) return;
    bool planned = false;
    for (const auto& d : out) planned = planned || (d.run_id == a.run_id && d.spec_index == ci);
    if (planned) continue;  // a child of two tasks that finished together
    if (auto d = plan_task(a.run_id, a.run, a.version_id, ci, &finished)) {
      // plan_task looks at a bounded number of ancestors; starting early needs every parent.
      d->parents_done = parents_done(a.run_id, g, ci, &finished);
      out.push_back(std::move(*d));
      --room;
    }
  }
}

bool FastPath::parents_done(int64_t run_id, const Graph& g, int child,
                            const std::map<int, store::UpstreamInfo>* extra) {
  const auto& ps = g.parents[static_cast<size_t>(child)];
  size_t none = 0;
  size_t* seen = &none;
  if (ps.size() > kFewParents) {
    if (parents_seen_.size() > kMaxParentsSeen) parents_seen_.clear();
    seen = &parents_seen_[{run_id, child}];
  }
  bool cached_so_far = true;  // every parent before k was final in the cache, not just in extra
  for (size_t k = *seen; k < ps.size(); ++k) {
    const store::UpstreamInfo* u = nullptr;
    if (extra)
      if (auto f = extra->find(ps[k]); f != extra->end()) u = &f->second;
    if (u) {
      cached_so_far = false;
    } else if (auto c = core_.upstream_cache_.find({run_id, ps[k]});
               c != core_.upstream_cache_.end()) {
      u = &c->second.info;
    }
    if (!u || (u->state != "succeeded" && u->state != "cached")) return false;
    if (cached_so_far) *seen = k + 1;
  }
  return true;
}

void FastPath::take_known_ready(int& room, std::vector<DirectPlan>& out,
                                std::pair<int, int64_t>& max_key) {
  for (; room > 0 && !known_ready_.empty(); --room) {
    auto node = known_ready_.extract(known_ready_.begin());
    known_priority_.erase(node.key().second);
    max_key = node.key();
    out.push_back(std::move(node.mapped()));
  }
}

void FastPath::forget_known_ready(int64_t task_run_id) {
  auto it = known_priority_.find(task_run_id);
  if (it == known_priority_.end()) return;
  known_ready_.erase({it->second, task_run_id});
  known_priority_.erase(it);
}

void FastPath::learn_ready(const std::set<int64_t>& dispatched) {
  for (const auto& b : became_ready_) {
    if (dispatched.count(b.task_run_id)) continue;
    auto rc = core_.run_ctx_.find(b.run_id);
    std::optional<DirectPlan> plan;
    if (rc != core_.run_ctx_.end() && known_ready_.size() < kMaxKnownReady)
      plan = plan_task(b.run_id, rc->second, rc->second->version_id, b.spec_index, nullptr);
    if (!plan) {
      unknown_ready_ = true;  // the claim takes it
      continue;
    }
    plan->task_run_id = b.task_run_id;
    forget_known_ready(b.task_run_id);
    known_ready_[{b.priority, b.task_run_id}] = std::move(*plan);
    known_priority_[b.task_run_id] = b.priority;
  }
  became_ready_.clear();
}

store::DirectArgs FastPath::statement_args(const Pass& p) const {
  store::DirectArgs args;
  args.max_key = p.max_key;
  args.owner = core_.opt_.server_id;
  args.ref_prefix = core_.executor_.ref_prefix();
  args.lease_ms = core_.opt_.lease.count();
  for (const auto& d : p.direct) {
    std::optional<int64_t> timeout;
    if (d.timeout) timeout = d.timeout->count();
    if (d.task_run_id)
      args.ready.push_back({d.task_run_id, d.cmd.argv, timeout});
    else
      args.children.push_back({d.run_id, d.spec_index, d.cmd.argv, timeout, d.early >= 0, d.done});
  }
  if (models_) args.models = *models_;
  return args;
}

int64_t FastPath::task_id(int64_t run_id, int spec_index) {
  auto it = task_ids_.find(run_id);
  if (it == task_ids_.end()) {
    if (task_ids_.size() > 1000) task_ids_.clear();  // runs long finished
    std::vector<int64_t> ids;
    store::with_autocommit(*core_.db_, [&](store::Tx& tx) { ids = store::task_ids(tx, run_id); });
    it = task_ids_.emplace(run_id, std::move(ids)).first;
  }
  auto i = static_cast<size_t>(spec_index);
  return i < it->second.size() ? it->second[i] : 0;
}

void FastPath::start_early(Pass& pass) {
  if (!core_.opt_.start_early) return;
  if (!models_) return;  // the statement reads them; the next step can start early
  for (auto& d : pass.direct) {
    if (d.task_run_id || d.parent_key.empty() || !d.parents_done || d.early >= 0) continue;
    if (!core_.runs_locally(d.version_id, d.spec_index)) continue;  // a Job: after the commit
    int64_t id = task_id(d.run_id, d.spec_index);
    if (!id || !core_.accel_->note_early_start(d.parent_key, exec::attempt_key(id, 1))) continue;
    // The attempt row's id and max_attempts come from the statement (apply_finishes).
    Prepared p = core_.make_prepared({.task_run_id = id,
                                      .run_id = d.run_id,
                                      .version_id = d.version_id,
                                      .attempt = 1,
                                      .spec_index = d.spec_index,
                                      .name = d.name,
                                      .maybe_trial = false,
                                      .run = d.run},
                                     d.timeout, std::move(d.cmd), *models_);
    d.cmd.argv = p.req.argv;  // the statement records the attempt's argv (statement_args)
    p.started = true;
    if (log::trace_pass()) log::info("early note {}", p.req.key);
    core_.executor_.start(p.req);
    if (log::trace_pass()) log::info("early sent {}", p.req.key);
    prepare_children(d.run_id, d.version_id, d.spec_index);
    count_early_start();
    d.early = static_cast<int>(pass.early.size());
    pass.early.push_back(std::move(p));
  }
}

void FastPath::prepare_children(int64_t run_id, int64_t version_id, int spec_index) {
  auto it = core_.specs_.find(version_id);
  if (it == core_.specs_.end()) return;
  const Graph& g = core_.graph(version_id, *it->second);
  if (spec_index < 0 || static_cast<size_t>(spec_index) >= g.children.size()) return;
  std::vector<std::string> keys;
  for (int ci : g.children[static_cast<size_t>(spec_index)]) {
    if (keys.size() == kPrepareChildren) break;
    if (int64_t id = task_id(run_id, ci)) keys.push_back(exec::attempt_key(id, 1));
  }
  core_.accel_->prepare(keys);
}

Prepared FastPath::finish_direct(DirectPlan plan, const store::Dispatched& d,
                                 const boost::json::object& models) {
  return core_.make_prepared({.task_run_id = d.task_run_id,
                              .run_id = d.run_id,
                              .attempt_id = d.attempt_id,
                              .version_id = plan.version_id,
                              .attempt = d.attempt,
                              .max_attempts = d.max_attempts,
                              .spec_index = d.spec_index,
                              .name = std::move(plan.name),
                              .maybe_trial = false,
                              .run = std::move(plan.run)},
                             plan.timeout, std::move(plan.cmd), models);
}

}  // namespace ctflow::engine
