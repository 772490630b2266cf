// Armed children: the chain below a running task, started by the executor itself.
//
// A chain's step costs the engine a pass and a statement (finish the parent, dispatch the child)
// however early the child starts (start_early); with the statement on the path, a 1000-step
// chain took 2.3-2.6x what make needs. So while a task runs, the engine prepares the process of
// its only (first) child as it would start it if the task succeeded without outputs, and of that
// child's child, down to arm_depth steps, and hands them to the executor (Executor::arm): when a
// task exits 0 and wrote no outputs file (what the engine reads as success with outputs {}), the
// supervisor starts what is armed on it at once, records it in the task's claim as a child
// started early ("next"), and names it in the exit event. The engine then records the steps at
// its own pace: the statement that finishes a task dispatches its fired child like any child
// started early (DirectDispatch::pre), and the finish of that child is the next statement.
// Nothing runs that the DAG would not run: a child fires only on its parent's success as the
// engine would judge it, with exactly the inputs the engine would have written, and one the
// engine does not dispatch after all (its parent's end did not count as success here, its run
// is being cancelled, the finish did not apply) is killed and its folder moved aside.
#include <signal.h>
#include <unistd.h>

#include "scheduler/common/log.hpp"
#include "scheduler/engine/engine.hpp"
#include "scheduler/executor/executor.hpp"

namespace ctflow::engine {

std::optional<Engine::DirectPlan> Engine::plan_armed(
    const Active& root, int index, const std::map<int, store::UpstreamInfo>& assumed) {
  auto it = specs_.find(root.version_id);
  if (it == specs_.end()) return std::nullopt;
  const Graph& g = graph(root.version_id, *it->second);
  if (index < 0 || static_cast<size_t>(index) >= g.children.size()) return std::nullopt;
  // One child per task: it takes the slot its parent leaves.
  for (int ci : g.children[static_cast<size_t>(index)]) {
    bool parents_done = true;
    for (int pi : g.parents[static_cast<size_t>(ci)]) {
      if (assumed.count(pi)) continue;
      auto c = upstream_cache_.find({root.run_id, pi});
      if (c == upstream_cache_.end() ||
          (c->second.state != "succeeded" && c->second.state != "cached"))
        parents_done = false;
    }
    if (!parents_done) continue;
    auto d = plan_task(root.run_id, root.run, root.version_id, ci, &assumed);
    if (!d) continue;
    d->parents_done = true;
    return d;
  }
  return std::nullopt;
}

void Engine::arm_ahead() {
  if (!opt_.start_early || opt_.arm_depth <= 0 || !models_) return;
  for (auto& [key, a] : active_) {
    if (!a.run || a.maybe_trial || a.cancelled || a.timed_out || !a.redo.empty() || a.arm_tried)
      continue;
    auto sp = specs_.find(a.version_id);
    if (sp == specs_.end()) continue;
    const spec::Pipeline& p = *sp->second;
    std::string k = key;
    int index = a.spec_index;
    std::map<int, store::UpstreamInfo> assumed;  // the chain above: succeeded, outputs {}
    for (int depth = 0; depth < opt_.arm_depth; ++depth) {
      assumed[index] = {p.tasks[static_cast<size_t>(index)].name, "succeeded", {}, {}};
      if (auto on = armed_on_.find(k); on != armed_on_.end()) {
        const Armed& n = armed_.at(on->second);
        if (n.disarmed) break;
        k = on->second;
        index = n.plan.spec_index;
        continue;
      }
      auto d = plan_armed(a, index, assumed);
      int64_t id = d ? task_id(a.run_id, d->spec_index) : 0;
      if (!id) {
        if (depth == 0) a.arm_tried = true;
        break;
      }
      Prepared prep = make_prepared({.task_run_id = id,
                                     .run_id = a.run_id,
                                     .version_id = a.version_id,
                                     .attempt = 1,
                                     .spec_index = d->spec_index,
                                     .name = d->name,
                                     .maybe_trial = false,
                                     .run = a.run},
                                    d->timeout, d->cmd, *models_);
      prep.started = true;
      if (!executor_.arm(k, prep.req)) {
        if (depth == 0) a.arm_tried = true;
        break;
      }
      std::string child = prep.req.key;
      index = d->spec_index;
      armed_[child] = {.parent = k, .plan = std::move(*d), .prep = std::move(prep)};
      armed_on_[k] = child;
      k = child;
    }
  }
}

void Engine::take_fired(int& room, std::vector<DirectPlan>& direct, std::vector<Prepared>& early,
                        size_t from) {
  static bool trace = std::getenv("CTFLOW_TRACE_PASS") != nullptr;
  auto now = std::chrono::steady_clock::now();
  for (size_t i = from; i < fired_now_.size(); ++i) {
    const std::string& key = fired_now_[i];
    const Armed& n = armed_.at(key);
    DirectPlan d = n.plan;  // copies: the node goes only when the dispatch commits
    d.parent_key = n.parent;
    d.early = static_cast<int>(early.size());
    Prepared p = n.prep;
    if (d.timeout) p.active.deadline = now + *d.timeout;  // from its start, not its arming
    direct.push_back(std::move(d));
    early.push_back(std::move(p));
    --room;
    if (trace) log::info("fired {}", key);
    if (++early_starts_ == opt_.crash_after_early_starts) {
      log::warn("engine: killing this server after early start {} (test option)", early_starts_);
      ::kill(::getpid(), SIGKILL);
    }
  }
}

bool Engine::links_pending() const {
  for (const auto& key : fired_now_)
    for (const auto& ev : deferred_)
      if (ev.key == key && ev.kind == exec::ExecEvent::Kind::Exited) return true;
  return false;
}

void Engine::apply_links(store::Tx& tx, std::vector<store::FinishOp>& finishes,
                         std::vector<std::string>& finished_keys,
                         std::map<int64_t, std::map<int, store::UpstreamInfo>>& fresh,
                         std::vector<Prepared>& to_spawn, Applied& applied,
                         std::vector<std::string>& tentative) {
  for (int link = 0; link < kMaxLinks; ++link) {
    std::set<std::string> keys;  // dispatched by the last statement, exited already
    for (const auto& p : to_spawn)
      if (p.started && !p.done)
        for (const auto& ev : deferred_)
          if (ev.key == p.req.key && ev.kind == exec::ExecEvent::Kind::Exited) keys.insert(ev.key);
    if (keys.empty()) return;
    std::vector<exec::ExecEvent> evs;
    for (const auto& ev : deferred_)
      if (keys.count(ev.key)) evs.push_back(ev);
    for (const auto& p : to_spawn)
      if (keys.count(p.req.key)) active_[p.req.key] = p.active;
    size_t fired_from = fired_now_.size();
    std::vector<store::Started> started;
    std::vector<store::FinishOp> fin;
    std::vector<store::AttemptResult> results;
    std::vector<size_t> result_finish;
    std::vector<int64_t> failed, skipped;
    std::vector<std::string> keys_done;
    std::map<int64_t, std::map<int, store::UpstreamInfo>> fr;
    process_events(evs, started, fin, results, result_finish, failed, keys_done, fr);
    if (!results.empty() || !failed.empty() || keys_done.size() != keys.size()) {
      // Not plain successes: the next pass records them, outside this chain.
      fired_now_.resize(fired_from);
      for (const auto& k : keys) active_.erase(k);
      return;
    }
    tentative.insert(tentative.end(), keys.begin(), keys.end());
    std::erase_if(deferred_, [&](const exec::ExecEvent& ev) { return keys.count(ev.key) > 0; });
    for (auto& p : to_spawn)
      if (keys.count(p.req.key)) p.done = true;
    finished_keys.insert(finished_keys.end(), keys_done.begin(), keys_done.end());
    for (auto& [run, m] : fr)
      for (auto& [i, info] : m) fresh[run][i] = info;
    std::vector<DirectPlan> direct;
    std::vector<Prepared> early;
    int room = static_cast<int>(keys_done.size());
    take_fired(room, direct, early, fired_from);
    for (const auto& k : keys_done) {
      const Active& a = active_.at(k);
      if (auto f = fr.find(a.run_id); f != fr.end() && f->second.count(a.spec_index)) {
        size_t at = direct.size();
        plan_direct(a, fresh[a.run_id], room, direct);  // every step of this transaction
        for (size_t i = at; i < direct.size(); ++i) direct[i].parent_key = k;
      }
    }
    start_early(direct, early);
    auto part = apply_finishes(tx, fin, failed, skipped, false, &direct, &to_spawn, {0, 0}, &early);
    applied.changed.insert(applied.changed.end(), part.changed.begin(), part.changed.end());
    applied.ready_left = applied.ready_left || part.ready_left;
    finishes.insert(finishes.end(), fin.begin(), fin.end());
  }
}

void Engine::drop_armed(const std::string& key) {
  auto it = armed_.find(key);
  if (it == armed_.end()) return;
  if (auto on = armed_on_.find(key); on != armed_on_.end()) {
    std::string child = on->second;
    armed_on_.erase(on);
    drop_armed(child);
  }
  if (auto up = armed_on_.find(it->second.parent); up != armed_on_.end() && up->second == key)
    armed_on_.erase(up);
  armed_.erase(it);
}

void Engine::kill_unrecorded(const std::string& key) {
  log::info("engine: {} started early but not dispatched: killed", key);
  executor_.cancel(key, Millis(0));  // disarms what is armed on it, too
  discard_.insert(key);
  drop_armed(key);
}

void Engine::disarm_all() {
  for (auto& [key, n] : armed_)
    if (!n.fired && !n.disarmed) {
      n.disarmed = true;  // until its parent's exit says whether it fired
      executor_.disarm(n.parent);
    }
}

}  // namespace ctflow::engine
