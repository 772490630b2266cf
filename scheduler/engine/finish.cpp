// Finishes and what follows the commit: applying a batch of finishes in one statement (the
// fast path's dispatches included), then forgetting what ended and starting what was
// dispatched; the free slots; tailing the metrics files of running attempts.
#include "scheduler/common/crash_point.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/common/states.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"
#include "scheduler/engine/results.hpp"
#include "scheduler/engine/study.hpp"
#include "scheduler/store/engine_ops.hpp"

namespace ctflow::engine {

using SteadyClock = std::chrono::steady_clock;

Applied Core::apply_finishes(store::Tx& tx, Finishes& f, bool trials, Pass* p) {
  Applied out;
  if (f.ops.empty()) return out;
  std::optional<store::DirectArgs> args;
  if (fast_ && p) {
    args = fast_->statement_args(*p);
    out.ready_sent = args->ready.size();
  }
  crash::point("finish:before-statement");
  auto res = store::finish_tasks(tx, f.ops, args ? &*args : nullptr);
  if (!res.changed.empty()) {  // in a transaction: not committed; in autocommit: committed
    crash::point("finish:after-statement");
    crash::at_commit("finish:after-commit");
  }
  if (fast_ && !res.dispatched.empty()) fast_->saw_models(res.models);
  out.changed = res.changed;
  out.ready_left = res.ready_left;
  if (fast_) fast_->became_ready(res.became_ready);
  stats_.finished += static_cast<int64_t>(out.changed.size());
  std::set<int64_t> ch(out.changed.begin(), out.changed.end());
  std::vector<int64_t> failed, skipped;
  for (auto id : f.failed)
    if (ch.count(id)) failed.push_back(id);
  for (auto id : f.skipped)
    if (ch.count(id)) skipped.push_back(id);
  store::propagate(tx, failed, kUpstreamFailed);
  store::propagate(tx, skipped, kSkipped);
  if (trials) step_studies(tx, out.changed);  // finished trials: record, suggest more, finish study
  if (fast_ && p) fast_->dispatched(res, *p, out);
  return out;
}

void Core::after_commit(Pass& p) {
  if (log::trace_pass())
    log::info("pass: {} events, {} finishes, {} spawns, {} us", pending_events_.size(),
              p.fin.ops.size(), p.to_spawn.size(),
              std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - p.start)
                  .count());
  pending_events_.swap(held_started_);  // the held starts are looked at again
  held_started_.clear();
  held_until_.reset();
  if (!pending_events_.empty()) held_until_ = SteadyClock::now() + opt_.started_debounce;
  std::set<int64_t> applied(p.applied.changed.begin(), p.applied.changed.end());
  for (const auto& k : p.finished_keys) {
    auto it = active_.find(k);
    if (it == active_.end()) continue;
    const Active& a = it->second;
    // A finished task's outputs are final: its descendants' templates and inputs read them here.
    if (applied.count(a.task_run_id))
      if (auto f = p.fresh.find(a.run_id); f != p.fresh.end())
        if (auto i = f->second.find(a.spec_index); i != f->second.end())
          upstream_cache_[{a.run_id, a.spec_index}] = {i->second, ""};
    active_.erase(it);
  }
  update_limit();  // before the starts below
  if (fast_) fast_->before_starts(p);
  // The executor creates the attempt's folder after this commit; after a crash in between,
  // adoption finds no claim there, fences it and dispatches the task again.
  for (auto& s : p.to_spawn) {
    if (s.done) continue;  // finished in the same transaction
    bool redo = !s.active.redo.empty();
    active_[s.req.key] = std::move(s.active);
    if (!s.started) executor_.start(s.req);
    if (redo) executor_.cancel(s.req.key, Millis(0));
    if (log::trace_pass()) log::info("spawn sent {}", s.req.key);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - p.start);
    stats_.dispatch_us_total += us.count();
    if (opt_.observe) opt_.observe("dispatch", static_cast<double>(us.count()) / 1e6);
  }
  p.to_spawn.clear();
  for (const auto& f : p.fin.ops)
    if (f.state == kReady && f.not_before) {
      auto delta = *f.not_before - now_utc();
      auto t = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(delta);
      if (!next_ready_ || t < *next_ready_) next_ready_ = t;
    }
  stats_.active = static_cast<int>(active_.size());
  if (fast_) fast_->after_starts();
}

void Core::update_limit() {
  // The slots less the adopted attempts still running (not started by this executor).
  int limit = -1;
  if (opt_.dispatch_ahead > 0) {
    limit = opt_.max_parallel;
    for (const auto& [k, a] : active_)
      if (!a.run) --limit;  // adopted
    limit = std::max(limit, 0);
  }
  if (accel_ && limit != limit_sent_) {
    accel_->limit(limit);
    limit_sent_ = limit;
  }
}

int Core::free_slots(size_t ending) const {
  return opt_.max_parallel + opt_.dispatch_ahead - static_cast<int>(active_.size() - ending);
}

void Core::tail_metrics(store::Tx& tx, Pass& p) {
  // Attempts this pass finishes had their metrics read with their exit (events.cpp): not again.
  std::set<std::string> ending(p.finished_keys.begin(), p.finished_keys.end());
  for (auto& [key, a] : active_) {
    if (ending.count(key)) continue;
    std::string path = executor_.attempt_dir(key) + "/metrics.jsonl";
    int64_t off = a.metrics_offset;
    auto pts = read_metrics(path, off);
    if (off == a.metrics_offset) continue;
    store::insert_metrics(tx, a.run_id, a.task_run_id, pts, a.attempt_id, off);
    p.offsets.emplace_back(key, off);
    const spec::Pipeline* pl = pipeline(tx, a.version_id);
    if (pl && !a.cancelled &&
        maybe_prune(tx, pl->tasks[static_cast<size_t>(a.spec_index)], a.task_run_id)) {
      a.cancelled = true;  // median stopping: the trial stays 'pruned', its task run is cancelled
      executor_.cancel(key, opt_.cancel_grace);
    }
  }
}

}  // namespace ctflow::engine
