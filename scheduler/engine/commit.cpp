// What a pass does around its commit: applying finishes (with direct dispatch and early
// starts), then, once committed, forgetting what ended and starting what was dispatched; the
// free slots; tailing the metrics files of running attempts.
#include "scheduler/common/log.hpp"
#include "scheduler/engine/engine.hpp"
#include "scheduler/engine/results.hpp"
#include "scheduler/engine/study.hpp"
#include "scheduler/store/engine_ops.hpp"

namespace ctflow::engine {

using SteadyClock = std::chrono::steady_clock;

void Engine::after_commit(SteadyTime pass_start, const std::vector<std::string>& finished_keys,
                          const std::map<int64_t, std::map<int, store::UpstreamInfo>>& fresh,
                          const std::vector<int64_t>& changed,
                          const std::vector<store::FinishOp>& finishes,
                          std::vector<Prepared>& to_spawn) {
  static bool trace = std::getenv("CTFLOW_TRACE_PASS") != nullptr;
  if (trace)
    log::info("pass: {} events, {} finishes, {} spawns, {} us", pending_events_.size(),
              finishes.size(), to_spawn.size(),
              std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - pass_start)
                  .count());
  pending_events_.swap(held_started_);  // the held starts are looked at again
  held_started_.clear();
  held_until_.reset();
  if (!pending_events_.empty()) held_until_ = SteadyClock::now() + opt_.started_debounce;
  std::vector<std::string> deferred;
  for (auto& ev : deferred_) {
    deferred.push_back(ev.key);
    pending_events_.push_back(std::move(ev));
  }
  deferred_.clear();
  std::set<int64_t> applied(changed.begin(), changed.end());
  for (const auto& k : finished_keys) {
    auto it = active_.find(k);
    if (it == active_.end()) continue;
    const Active& a = it->second;
    // A finished task's outputs are final: its descendants' templates and inputs read them here.
    if (applied.count(a.task_run_id))
      if (auto f = fresh.find(a.run_id); f != fresh.end())
        if (auto i = f->second.find(a.spec_index); i != f->second.end())
          upstream_cache_[{a.run_id, a.spec_index}] = {i->second, ""};
    active_.erase(it);
  }
  update_limit();  // before the starts below
  std::set<int64_t> dispatched;
  for (const auto& p : to_spawn) {
    dispatched.insert(p.active.task_run_id);
    forget_known_ready(p.active.task_run_id);  // claimed by the claim statement
  }
  if (opt_.fast_path) learn_ready(dispatched);
  // The executor creates the attempt's folder after this commit; after a crash in between,
  // adoption finds no claim there, fences it and dispatches the task again.
  for (auto& p : to_spawn) {
    if (p.started) unlink_armed(p.req.key);  // an armed child it dispatched: no longer armed
    if (p.done) continue;                    // finished in the same transaction
    bool redo = !p.active.redo.empty();
    active_[p.req.key] = std::move(p.active);
    if (!p.started) executor_.start(p.req);
    if (redo) executor_.cancel(p.req.key, Millis(0));
    if (trace) log::info("spawn sent {}", p.req.key);
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - pass_start);
    stats_.dispatch_us_total += us.count();
    if (opt_.observe) opt_.observe("dispatch", static_cast<double>(us.count()) / 1e6);
  }
  to_spawn.clear();
  for (const auto& f : finishes)
    if (f.state == "ready" && f.not_before) {
      auto delta = *f.not_before - now_utc();
      auto t = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(delta);
      if (!next_ready_ || t < *next_ready_) next_ready_ = t;
    }
  stats_.active = static_cast<int>(active_.size());
  arm_ahead();
  // Events of armed children whose dispatch just committed (or that are no longer armed) are
  // looked at by the next pass, now.
  for (const auto& key : deferred)
    if (active_.count(key) || !armed_.count(key)) {
      std::lock_guard<std::mutex> g(mu_);
      woken_ = true;
      break;
    }
}

void Engine::update_limit() {
  // The slots less the adopted attempts still running (not started by this executor).
  int limit = -1;
  if (opt_.dispatch_ahead > 0) {
    limit = opt_.max_parallel;
    for (const auto& [k, a] : active_)
      if (!a.run) --limit;  // adopted
    limit = std::max(limit, 0);
  }
  if (limit != limit_sent_) {
    executor_.limit(limit);
    limit_sent_ = limit;
  }
}

int Engine::free_slots(size_t ending) const {
  return opt_.max_parallel + opt_.dispatch_ahead - static_cast<int>(active_.size() - ending);
}

Engine::Applied Engine::apply_finishes(store::Tx& tx, std::vector<store::FinishOp>& finishes,
                                       std::vector<int64_t>& failed, std::vector<int64_t>& skipped,
                                       bool trials, std::vector<DirectPlan>* direct,
                                       std::vector<Prepared>* to_spawn,
                                       std::pair<int, int64_t> max_key,
                                       std::vector<Prepared>* early) {
  Applied out;
  if (finishes.empty()) return out;
  store::DirectArgs args;
  bool with_direct = direct && to_spawn;
  if (with_direct) {
    args = direct_args(*direct);
    args.max_key = max_key;
    out.ready_sent = args.ready.size();
  }
  auto res = store::finish_tasks(tx, finishes, with_direct ? &args : nullptr);
  if (!res.dispatched.empty()) models_ = res.models;
  out.changed = std::move(res.changed);
  out.ready_left = res.ready_left;
  became_ready_.insert(became_ready_.end(), res.became_ready.begin(), res.became_ready.end());
  stats_.finished += static_cast<int64_t>(out.changed.size());
  std::set<int64_t> ch(out.changed.begin(), out.changed.end());
  std::vector<int64_t> f2, s2;
  for (auto id : failed)
    if (ch.count(id)) f2.push_back(id);
  for (auto id : skipped)
    if (ch.count(id)) s2.push_back(id);
  store::propagate(tx, f2, "upstream_failed");
  store::propagate(tx, s2, "skipped");
  if (trials) step_studies(tx, out.changed);  // finished trials: record, suggest more, finish study
  if (with_direct)
    for (const auto& d : res.dispatched)
      for (auto& plan : *direct)
        if (plan.task_run_id ? plan.task_run_id == d.task_run_id
                             : plan.run_id == d.run_id && plan.spec_index == d.spec_index) {
          if (plan.early >= 0) {  // started already: the attempt row is what it lacked
            Prepared& p = (*early)[static_cast<size_t>(plan.early)];
            p.active.attempt_id = d.attempt_id;
            p.active.max_attempts = d.max_attempts;
            // A deployment changed after the one its inputs file names and before this commit
            // (its notification had not arrived): stopped after the commit, dispatched again.
            if (res.models != p.models)
              p.active.redo = "its inputs named the deployments before a change: dispatching again";
            to_spawn->push_back(std::move(p));
            plan.early = -1;
            stats_.claimed++;
            break;
          }
          to_spawn->push_back(finish_direct(std::move(plan), d, res.models));
          if (plan.task_run_id) out.ready_dispatched++;
          stats_.claimed++;
          break;
        }
  // Steps of a segment, recorded as ended: as above, and done.
  if (with_direct)
    for (const auto& d : res.done)
      for (auto& plan : *direct)
        if (plan.early >= 0 && plan.done && plan.done->task_run_id == d.task_run_id) {
          Prepared& p = (*early)[static_cast<size_t>(plan.early)];
          p.active.attempt_id = d.attempt_id;
          p.active.max_attempts = d.max_attempts;
          p.done = true;
          to_spawn->push_back(std::move(p));
          plan.early = -1;
          stats_.claimed++;
          break;
        }
  // Started early but not dispatched (its run is being cancelled, or the finish did not apply):
  // stop it; it was never recorded.
  if (with_direct && early)
    for (auto& plan : *direct)
      if (plan.early >= 0) kill_unrecorded((*early)[static_cast<size_t>(plan.early)].req.key);
  return out;
}

void Engine::tail_metrics(store::Tx& tx, std::vector<std::pair<std::string, int64_t>>& offsets) {
  for (auto& [key, a] : active_) {
    std::string path = executor_.attempt_dir(key) + "/metrics.jsonl";
    int64_t off = a.metrics_offset;
    auto pts = read_metrics(path, off);
    if (off == a.metrics_offset) continue;
    store::insert_metrics(tx, a.run_id, a.task_run_id, pts, a.attempt_id, off);
    offsets.emplace_back(key, off);
    const spec::Pipeline* p = pipeline(tx, a.version_id);
    if (p && !a.cancelled &&
        maybe_prune(tx, p->tasks[static_cast<size_t>(a.spec_index)], a.task_run_id)) {
      a.cancelled = true;  // median stopping: the trial stays 'pruned', its task run is cancelled
      executor_.cancel(key, opt_.cancel_grace);
    }
  }
}

}  // namespace ctflow::engine
