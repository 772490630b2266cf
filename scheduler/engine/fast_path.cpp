// The fast path's hooks into the pass (fast_path.hpp), in the order the pass calls them, and its
// quick pass: a pass of plain finishes that commits on its own.
#include <algorithm>

#include "scheduler/common/log.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"
#include "scheduler/store/engine_ops.hpp"

namespace ctflow::engine {

void FastPath::models_changed() {  // inputs files prepared ahead name the old ones
  models_.reset();
  disarm_all();
}

void FastPath::begin_pass() {
  fired_now_.clear();
  deferred_.clear();
}

bool FastPath::unknown_event(const exec::ExecEvent& ev) {
  if (armed_.count(ev.key)) {  // fired, not dispatched yet: looked at after that commit
    deferred_.push_back(ev);
    return true;
  }
  if (ev.kind == exec::ExecEvent::Kind::Exited) {
    for (const auto& c : ev.fired) kill_unrecorded(c);
    if (discard_.erase(ev.key)) move_aside(ev.key);
  }
  return false;
}

void FastPath::exited(const exec::ExecEvent& ev, const Active& a, bool plain) {
  for (const auto& c : ev.fired) {
    auto n = armed_.find(c);
    if (plain && n != armed_.end() && n->second.parent == ev.key) {
      n->second.fired = true;
      fired_now_.push_back(c);
      if (chain_runs_.size() > 10'000) chain_runs_.clear();  // runs long finished
      chain_runs_.insert(a.run_id);
    } else {
      kill_unrecorded(c);
    }
  }
  if (auto on = armed_on_.find(ev.key); on != armed_on_.end())
    if (std::find(ev.fired.begin(), ev.fired.end(), on->second) == ev.fired.end()) {
      drop_armed(on->second);
      chain_runs_.erase(a.run_id);  // its chain does not run by itself: arm it shallow
    }
}

void FastPath::plan(Pass& p) {
  // Children already started by the executor (armed on a task that just succeeded) go first,
  // whatever else the pass does: they run. Then known ready tasks (claim order); with none,
  // the children of the finishing tasks.
  int room = core_.free_slots(p.finished_keys.size());
  take_fired(room, p);
  size_t fired = p.direct.size();
  if (!p.fin.failed.empty()) return;
  if (!p.fin.ops.empty()) take_known_ready(room, p.direct, p.max_key);
  if (p.direct.size() != fired) return;
  for (const auto& k : p.finished_keys) {
    auto it = core_.active_.find(k);
    if (it == core_.active_.end()) continue;
    auto f = p.fresh.find(it->second.run_id);
    if (f == p.fresh.end() || !f->second.count(it->second.spec_index)) continue;
    size_t from = p.direct.size();
    plan_direct(it->second, f->second, room, p.direct);
    for (size_t i = from; i < p.direct.size(); ++i) p.direct[i].parent_key = k;
  }
}

bool FastPath::quick_pass(Pass& p) {
  if (log::trace_pass()) log::info("planned");
  start_early(p);
  // Children it dispatches that ended already (the executor ran a chain ahead) are recorded as
  // ended by the same statement: a segment of the chain per commit.
  std::vector<Step> steps;
  build_segment(p, steps);
  auto drop_steps = [&] {
    for (const auto& s : steps) core_.active_.erase(s.key);
  };
  try {
    store::with_autocommit(*core_.db_, [&](store::Tx& tx) {
      became_ready_.clear();
      store::mark_running(tx, p.started);
      p.applied = core_.apply_finishes(tx, p.fin, false, &p);
    });
  } catch (...) {
    drop_steps();
    throw;
  }
  bool recorded = false;
  for (const auto& s : p.to_spawn) recorded = recorded || s.done;
  if (recorded) {
    std::set<std::string> keys;
    for (const auto& s : steps) {
      keys.insert(s.key);
      p.finished_keys.push_back(s.key);
      p.fin.ops.push_back(s.finish);
      for (const auto& [run, m] : s.fresh)
        for (const auto& [i, info] : m) p.fresh[run][i] = info;
    }
    std::erase_if(deferred_, [&](const exec::ExecEvent& ev) { return keys.count(ev.key) > 0; });
  } else {
    drop_steps();  // dispatched at most (their events are looked at again), or killed
  }
  core_.after_commit(p);
  // A claim is needed when a ready task may exist that this engine does not know of first:
  // one it could not prepare, known ones the statement passed over (another ready task came
  // first, or they went stale), or, with no known ones left, any ready task. Ready tasks it
  // does not know of that come after the known ones wait until those are dispatched, as they
  // would in claim order. Known ready tasks wait for the next finish only while the slots are
  // full.
  bool claim = unknown_ready_ || p.applied.ready_dispatched < p.applied.ready_sent ||
               (known_ready_.empty() && p.applied.ready_left) ||
               (!known_ready_.empty() && core_.free_slots(0) > 0);
  if (!claim || core_.free_slots(0) <= 0) return false;
  p.started.clear();
  p.fin = {};
  p.finished_keys.clear();
  p.fresh.clear();
  p.direct.clear();
  p.to_spawn.clear();
  p.applied = {};
  return true;
}

void FastPath::dispatched(const store::FinishResult& res, Pass& p, Applied& out) {
  // The transaction may still roll back, and store::with_tx then runs the pass's apply() again
  // on the same Pass (a serialization failure): so p.direct and p.early stay as planned, and
  // what this statement dispatched is copied into p.to_spawn (which apply() clears first). Had
  // the first try marked a child started early as taken, the retry would have dispatched it as
  // a fresh child and started its process a second time.
  std::vector<bool> taken(p.direct.size(), false);
  for (const auto& d : res.dispatched)
    for (size_t i = 0; i < p.direct.size(); ++i) {
      const DirectPlan& plan = p.direct[i];
      if (taken[i] ||
          !(plan.task_run_id ? plan.task_run_id == d.task_run_id
                             : plan.run_id == d.run_id && plan.spec_index == d.spec_index))
        continue;
      taken[i] = true;
      core_.stats_.claimed++;
      if (plan.early >= 0) {  // started already: the attempt row is what it lacked
        Prepared e = p.early[static_cast<size_t>(plan.early)];
        e.active.attempt_id = d.attempt_id;
        e.active.max_attempts = d.max_attempts;
        // A deployment changed after the one its inputs file names and before this commit
        // (its notification had not arrived): stopped after the commit, dispatched again.
        if (res.models != e.models)
          e.active.redo = "its inputs named the deployments before a change: dispatching again";
        p.to_spawn.push_back(std::move(e));
        break;
      }
      p.to_spawn.push_back(finish_direct(plan, d, res.models));
      if (plan.task_run_id != 0) out.ready_dispatched++;
      break;
    }
  // Steps of a segment, recorded as ended: as above, and done.
  for (const auto& d : res.done)
    for (size_t i = 0; i < p.direct.size(); ++i) {
      const DirectPlan& plan = p.direct[i];
      if (taken[i] || plan.early < 0 || !plan.done || plan.done->task_run_id != d.task_run_id)
        continue;
      taken[i] = true;
      Prepared e = p.early[static_cast<size_t>(plan.early)];
      e.active.attempt_id = d.attempt_id;
      e.active.max_attempts = d.max_attempts;
      e.done = true;
      p.to_spawn.push_back(std::move(e));
      core_.stats_.claimed++;
      break;
    }
  // Started early but not dispatched (its run is being cancelled, or the finish did not apply):
  // stop it; it was never recorded.
  for (size_t i = 0; i < p.direct.size(); ++i)
    if (!taken[i] && p.direct[i].early >= 0)
      kill_unrecorded(p.early[static_cast<size_t>(p.direct[i].early)].req.key);
}

void FastPath::became_ready(const std::vector<store::BecameReady>& b) {
  became_ready_.insert(became_ready_.end(), b.begin(), b.end());
}

void FastPath::before_starts(const Pass& p) {
  // Events of armed children whose dispatch just committed (or that are no longer armed) are
  // looked at by the next pass.
  for (auto& ev : deferred_) {
    requeued_.push_back(ev.key);
    core_.pending_events_.push_back(std::move(ev));
  }
  deferred_.clear();
  std::set<int64_t> dispatched;
  for (const auto& s : p.to_spawn) {
    dispatched.insert(s.active.task_run_id);
    forget_known_ready(s.active.task_run_id);  // claimed by the claim statement
    if (s.started) unlink_armed(s.req.key);    // an armed child it dispatched: no longer armed
  }
  learn_ready(dispatched);
}

void FastPath::after_starts() {
  arm_ahead();
  for (const auto& key : requeued_)
    if (core_.active_.count(key) || !armed_.count(key)) {
      MutexLock g(core_.mu_);
      core_.woken_ = true;  // the next pass looks at them now
      break;
    }
  requeued_.clear();
}

void FastPath::claimed(bool full, bool sweep) {
  unknown_ready_ = full;  // the claim took every ready task unless it filled the room
  if (sweep) {
    known_ready_.clear();
    known_priority_.clear();
  }
}

bool FastPath::only_chains() {
  for (const auto& [key, a] : core_.active_) {
    if (!armed_on_.count(key)) continue;
    const spec::Pipeline* pl = core_.known_pipeline(a.version_id);
    if (!pl ||
        core_.graph(a.version_id, *pl).children[static_cast<size_t>(a.spec_index)].size() > 1)
      return false;
  }
  return true;
}

}  // namespace ctflow::engine
