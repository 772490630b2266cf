// One pass of the engine, top to bottom: load -> plan -> apply in one transaction -> commit ->
// start. The fast path (fast_path.hpp) may plan dispatches into the finishing statement and
// commit a pass of plain finishes on its own; everything else is the plain pass below.
#include "scheduler/common/crash_point.hpp"
#include "scheduler/common/states.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"
#include "scheduler/engine/study.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/runs.hpp"

namespace ctflow::engine {

using SteadyClock = std::chrono::steady_clock;

void Core::pass() {
  stats_.passes++;
  Pass p = load();
  if (fast_) fast_->plan(p);
  bool due = p.due() || adopt_now_;
  // Nothing to write and nothing that could have become ready (only starts still held).
  if (p.fin.ops.empty() && p.started.empty() && !due && !p.ready_due) return after_commit(p);
  // Only finishes (and starts) of tasks without results, failures or trials, nothing due: each
  // statement is complete by itself, so the fast path commits them on its own.
  bool quick =
      !p.fin.ops.empty() && p.results.empty() && p.fin.failed.empty() && !p.trials_finished && !due;
  if (fast_ && quick && !fast_->quick_pass(p)) return;  // no claim needed after it
  store::with_tx(*db_, [&](store::Tx& tx) { apply(tx, p); });
  committed(p);
}

Pass Core::load() {
  Pass p;
  p.start = SteadyClock::now();
  // Timeouts: kill, and let the exit event carry the outcome.
  for (auto& [key, a] : active_) {
    if (a.deadline && !a.timed_out && *a.deadline <= p.start) {
      a.timed_out = true;
      executor_.cancel(key, opt_.cancel_grace);
    }
  }
  for (auto& e : executor_.drain()) pending_events_.push_back(std::move(e));
  if (models_changed_.exchange(false) && fast_) fast_->models_changed();
  held_started_.clear();  // a retried pass looks at them again
  if (fast_) fast_->begin_pass();
  process_events(pending_events_, p);
  for (const auto& k : p.finished_keys)  // else no study needs a step (saves a query per pass)
    if (auto it = active_.find(k); it == active_.end() || it->second.maybe_trial)
      p.trials_finished = true;
  p.sweep = p.start >= next_sweep_;
  p.renew = p.start >= next_renew_;
  p.metrics_due = p.start >= next_metrics_;
  {
    MutexLock g(mu_);
    p.check_runs = check_runs_ || p.sweep || (next_run_deadline_ && *next_run_deadline_ <= p.start);
    check_runs_ = false;
  }
  p.ready_due = next_ready_ && *next_ready_ <= p.start;
  if (p.ready_due) next_ready_.reset();
  return p;
}

void Core::apply(store::Tx& tx, Pass& p) {
  p.to_spawn.clear();
  p.adopted.clear();
  p.claimed_full = false;
  if (fast_) fast_->begin_statement();
  if (p.renew)
    store::renew_leases(tx, opt_.server_id, opt_.host, static_cast<int>(::getpid()), opt_.lease);
  if (!p.results.empty()) {
    auto errors = store::record_results(tx, p.results);
    for (const auto& r : p.results)
      if (!r.artifacts.empty()) {  // artifact rows written, not committed
        crash::point("artifact:before-commit");
        crash::at_commit("artifact:after-commit");
      }
    for (size_t i = 0; i < errors.size(); ++i) {
      if (errors[i].empty()) continue;
      auto& f = p.fin.ops[p.result_finish[i]];
      f.state = kFailed;
      f.attempt_state = kFailed;
      f.error = errors[i];
      f.outputs = {};
      p.fin.failed.push_back(f.task_run_id);
    }
  }
  store::mark_running(tx, p.started);
  p.applied = apply_finishes(tx, p.fin, p.trials_finished, &p);
  if (p.check_runs) {
    auto cw = store::cancel_requested_runs(tx);
    // Those not known to have started first: one waiting in the executor for a slot is fenced
    // before the signal to a running one frees that slot (it would start it).
    for (bool started_pass : {false, true})
      for (const auto& k : cw.to_kill) {
        std::string key = exec::attempt_key(k.task_run_id, k.attempt);
        auto it = active_.find(key);
        if (it == active_.end() || it->second.cancelled ||
            it->second.started_at.has_value() != started_pass)
          continue;
        it->second.cancelled = true;
        executor_.cancel(key, opt_.cancel_grace);
      }
    store::activate_queued_runs(tx);
  }
  if (p.sweep) step_studies(tx, {}, true);  // run cancellations of studies; safety net
  if (p.sweep || adopt_now_) {
    adopt(tx, p);
    pools_exist_ = store::pools_exist(tx);
  }
  p.offsets.clear();
  if (p.metrics_due) tail_metrics(tx, p);
  claim_and_dispatch(tx, p);
  auto steady_at = [](TimePoint t) {
    return SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(t - now_utc());
  };
  if (p.sweep) {
    next_ready_.reset();
    if (auto t = store::next_ready_time(tx)) next_ready_ = steady_at(*t);
  }
  if (p.check_runs) {  // a run's timeout wakes the engine on time, not at the next sweep
    next_run_deadline_.reset();
    if (auto t = store::next_run_deadline(tx)) next_run_deadline_ = steady_at(*t) + Millis(5);
  }
  // Full: other replicas may claim what is left (this one claims again when a task ends).
  if (p.claimed_full) store::notify(tx, "ctflow_wake", opt_.server_id);
  // finish_tasks and start_attempts notify by themselves; the rest may have added events.
  if (p.check_runs || p.sweep || p.metrics_due || !p.started.empty() || !p.results.empty())
    store::notify(tx, "ctflow_events", "");
  // A transaction that dispatches children whose processes run already (armed or started
  // early): the chaos tests crash it here, or roll it back to see it retried.
  if (!p.early.empty()) {
    crash::point("early-dispatch:before-commit");
    store::fail_point("early-dispatch:before-commit");
  }
}

void Core::committed(Pass& p) {
  // The claim took every ready task unless it filled the room; a sweep forgets what the fast
  // path knew of ready tasks (it may have gone stale).
  if (fast_) fast_->claimed(p.claimed_full, p.sweep);
  // Adopted first: they count against the executor's limit (after_commit) before any start.
  for (auto& [k, a] : p.adopted) active_[k] = std::move(a);
  after_commit(p);
  for (const auto& [k, off] : p.offsets)
    if (auto it = active_.find(k); it != active_.end()) it->second.metrics_offset = off;
  if (p.sweep) {
    next_sweep_ = p.start + opt_.sweep;
    adopt_now_ = false;
  }
  if (p.renew) next_renew_ = p.start + opt_.lease / 3;
  if (p.metrics_due) next_metrics_ = p.start + Millis(1000);
  stats_.active = static_cast<int>(active_.size());
  fired_wait_ok_ = fast_ && fast_->only_chains();
}

}  // namespace ctflow::engine
