#include "scheduler/engine/engine.hpp"

#include <signal.h>
#include <unistd.h>

#include "scheduler/common/log.hpp"
#include "scheduler/engine/plan.hpp"
#include "scheduler/engine/results.hpp"
#include "scheduler/engine/study.hpp"
#include "scheduler/spec/parse.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/runs.hpp"

namespace ctflow::engine {

using SteadyClock = std::chrono::steady_clock;

Engine::Engine(EngineOptions opt, exec::Executor& executor)
    : opt_(std::move(opt)), executor_(executor) {}

Engine::~Engine() {
  stop();
}

void Engine::start() {
  executor_.set_wakeup([this](bool urgent) {
    std::lock_guard<std::mutex> g(mu_);
    if (urgent)
      woken_ = true;
    else
      started_pending_ = true;
    cv_.notify_one();
  });
  thread_ = std::thread([this] { thread_main(); });
  listener_ = std::thread([this] { listen_main(); });
}

void Engine::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  stop_listen_ = true;
  if (thread_.joinable()) thread_.join();
  if (listener_.joinable()) listener_.join();
  executor_.set_wakeup(nullptr);
}

void Engine::wake() {
  std::lock_guard<std::mutex> g(mu_);
  woken_ = true;
  check_runs_ = true;
  cv_.notify_one();
}

void Engine::listen_main() {
  store::listen_loop(
      opt_.database_url, {"ctflow_wake", "ctflow_models"},
      [this](const std::string& channel, const std::string& payload) {
        if (channel == "ctflow_models")
          models_changed_ = !opt_.ignore_models_notify;
        else if (payload != opt_.server_id)  // not our own "claimed a full batch"
          wake();
      },
      [this] {
        models_changed_ = true;  // a change while the connection was down was not heard
        wake();
      },
      [this] { return stop_listen_.load(); });
}

bool Engine::connect_db() {
  if (db_ && db_->is_open()) return true;
  auto c = store::connect(opt_.database_url, 1);
  if (!c) {
    log::warn("engine: {}", c.error());
    return false;
  }
  db_ = std::move(c.value());
  store::prefer_index_plans(*db_);
  return true;
}

void Engine::thread_main() {
  auto backoff = Millis(100);
  while (true) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      auto until = next_wake_time();
      cv_.wait_until(lk, until, [&] { return woken_ || started_pending_ || stopping_; });
      if (stopping_) return;
      if (!woken_ && started_pending_) {
        // Only "started" events: give the exit a moment to arrive so both share one commit.
        cv_.wait_for(lk, opt_.started_debounce, [&] { return woken_ || stopping_; });
        if (stopping_) return;
      }
      woken_ = false;
      started_pending_ = false;
    }
    // Several attempts running: let the exits of the next moment join this pass, so that one
    // statement and one commit serve several tasks (a lone chain step never waits).
    if (active_.size() > 1 && opt_.batch_wait.count() > 0)
      std::this_thread::sleep_for(opt_.batch_wait);
    static bool trace = std::getenv("CTFLOW_TRACE_PASS") != nullptr;
    if (trace) log::info("engine awake");
    if (!connect_db()) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, Millis(5000));
      std::lock_guard<std::mutex> g(mu_);
      woken_ = true;
      continue;
    }
    try {
      pass();
      backoff = Millis(100);
    } catch (const std::exception& e) {
      log::error("engine pass failed (will retry): {}", e.what());
      db_.reset();
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, Millis(5000));
      std::lock_guard<std::mutex> g(mu_);
      woken_ = true;
    }
  }
}

SteadyClock::time_point Engine::next_wake_time() const {
  auto t = std::min(next_sweep_, next_renew_);
  if (!active_.empty()) t = std::min(t, next_metrics_);
  for (const auto& [k, a] : active_)
    if (a.deadline && !a.timed_out) t = std::min(t, *a.deadline);
  if (next_ready_) t = std::min(t, *next_ready_);
  if (held_until_) t = std::min(t, *held_until_);
  if (next_run_deadline_) t = std::min(t, *next_run_deadline_);
  return t;
}

const spec::Pipeline* Engine::pipeline(store::Tx& tx, int64_t version_id) {
  auto it = specs_.find(version_id);
  if (it != specs_.end()) return it->second.get();
  auto text = store::version_spec(tx, version_id);
  if (!text) return nullptr;
  auto parsed = spec::parse_pipeline(*text);
  if (!parsed.pipeline) {
    log::error("pipeline version {} no longer parses: {}", version_id,
               parsed.errors.empty() ? "" : parsed.errors.front());
    return nullptr;
  }
  auto p = std::make_unique<spec::Pipeline>(std::move(*parsed.pipeline));
  auto* raw = p.get();
  specs_[version_id] = std::move(p);
  return raw;
}

std::vector<std::string> Engine::dead_owners(store::Tx& tx) {
  std::vector<std::string> dead;
  for (const auto& s : store::servers_on_host(tx, opt_.host)) {
    if (s.id == opt_.server_id) continue;
    if (::kill(s.pid, 0) != 0 && errno == ESRCH) dead.push_back(s.id);
  }
  return dead;
}

void Engine::pass() {
  static bool trace = std::getenv("CTFLOW_TRACE_PASS") != nullptr;
  stats_.passes++;
  auto now_s = SteadyClock::now();
  // Timeouts: kill, and let the exit event carry the outcome.
  for (auto& [key, a] : active_) {
    if (a.deadline && !a.timed_out && *a.deadline <= now_s) {
      a.timed_out = true;
      executor_.cancel(key, opt_.cancel_grace);
    }
  }
  for (auto& e : executor_.drain()) pending_events_.push_back(std::move(e));

  std::vector<store::Started> started;
  std::vector<store::FinishOp> finishes;
  std::vector<store::AttemptResult> results;
  std::vector<size_t> result_finish;  // index into finishes for each result
  std::vector<int64_t> failed, skipped;
  std::vector<std::string> finished_keys;
  std::map<int64_t, std::map<int, store::UpstreamInfo>> fresh;  // run -> spec index -> result
  process_events(started, finishes, results, result_finish, failed, finished_keys, fresh);

  bool trials_finished = false;  // else no study needs a step (saves a query per pass)
  for (const auto& k : finished_keys)
    if (auto it = active_.find(k); it == active_.end() || it->second.maybe_trial)
      trials_finished = true;
  // Children to dispatch in the finishing statement itself (direct.cpp): known ready tasks first
  // (claim order); with none, the children of the finishing tasks. Not when a task failed: its
  // descendants are marked in a transaction whose claim dispatches what is left.
  std::vector<DirectPlan> direct;
  std::pair<int, int64_t> max_key{0, 0};
  int room = free_slots(finished_keys.size());
  if (!finishes.empty() && failed.empty()) take_known_ready(room, direct, max_key);
  if (direct.empty() && failed.empty())
    for (const auto& k : finished_keys)
      if (auto it = active_.find(k); it != active_.end())
        if (auto f = fresh.find(it->second.run_id); f != fresh.end())
          if (f->second.count(it->second.spec_index)) {
            size_t from = direct.size();
            plan_direct(it->second, f->second, room, direct);
            for (size_t i = from; i < direct.size(); ++i) direct[i].parent_key = k;
          }
  bool sweep = now_s >= next_sweep_;
  bool renew = now_s >= next_renew_;
  bool metrics_due = now_s >= next_metrics_;
  bool check_runs;
  {
    std::lock_guard<std::mutex> g(mu_);
    check_runs = check_runs_ || sweep || (next_run_deadline_ && *next_run_deadline_ <= now_s);
    check_runs_ = false;
  }
  std::vector<Prepared> to_spawn;
  std::vector<std::pair<std::string, Active>> adopted;
  std::vector<std::pair<std::string, int64_t>> offsets;
  bool claimed_full = false;
  bool ready_due = next_ready_ && *next_ready_ <= now_s;
  if (ready_due) next_ready_.reset();
  Applied applied;
  bool due = renew || sweep || check_runs || metrics_due || adopt_now_;  // needs a transaction
  // Nothing to write and nothing that could have become ready (only starts still held).
  if (finishes.empty() && started.empty() && !due && !ready_due) {
    after_commit(now_s, finished_keys, fresh, {}, finishes, to_spawn);
    return;
  }

  // Only finishes (and starts) of tasks without results, failures or trials, nothing due: each
  // statement is complete by itself, so they commit on their own (a chain's step is then one
  // round trip). A claim, if ready tasks remain, follows in a transaction of its own.
  bool quick = !finishes.empty() && results.empty() && failed.empty() && !trials_finished && !due;
  if (quick) {
    std::vector<Prepared> early;
    if (trace) log::info("planned");
    start_early(direct, early);
    store::with_autocommit(*db_, [&](store::Tx& tx) {
      became_ready_.clear();
      store::mark_running(tx, started);
      applied =
          apply_finishes(tx, finishes, failed, skipped, false, &direct, &to_spawn, max_key, &early);
    });
    after_commit(now_s, finished_keys, fresh, applied.changed, finishes, to_spawn);
    // A claim is needed when a ready task may exist that this engine does not know of first:
    // one it could not prepare, known ones the statement passed over (another ready task came
    // first, or they went stale), or, with no known ones left, any ready task. Ready tasks it
    // does not know of that come after the known ones wait until those are dispatched, as they
    // would in claim order. Full: the next finish claims what is left.
    bool claim = unknown_ready_ || applied.ready_dispatched < applied.ready_sent ||
                 (known_ready_.empty() && applied.ready_left);
    if (!claim || free_slots(0) <= 0) return;
    started.clear();
    finishes.clear();
    finished_keys.clear();
    fresh.clear();
    direct.clear();
    to_spawn.clear();
    applied = {};
  }

  store::with_tx(*db_, [&](store::Tx& tx) {
    to_spawn.clear();
    adopted.clear();
    became_ready_.clear();
    claimed_full = false;
    if (renew)
      store::renew_leases(tx, opt_.server_id, opt_.host, static_cast<int>(::getpid()), opt_.lease);
    if (!results.empty()) {
      auto errors = store::record_results(tx, results);
      for (size_t i = 0; i < errors.size(); ++i) {
        if (errors[i].empty()) continue;
        auto& f = finishes[result_finish[i]];
        f.state = "failed";
        f.attempt_state = "failed";
        f.error = errors[i];
        f.outputs = {};
        failed.push_back(f.task_run_id);
      }
    }
    store::mark_running(tx, started);
    applied =
        apply_finishes(tx, finishes, failed, skipped, trials_finished, &direct, &to_spawn, max_key);
    if (check_runs) {
      auto cw = store::cancel_requested_runs(tx);
      for (const auto& k : cw.to_kill) {
        std::string key = exec::attempt_key(k.task_run_id, k.attempt);
        auto it = active_.find(key);
        if (it != active_.end() && !it->second.cancelled) {
          it->second.cancelled = true;
          executor_.cancel(key, opt_.cancel_grace);
        }
      }
      store::activate_queued_runs(tx);
    }
    if (sweep) step_studies(tx, {}, true);  // run cancellations of studies; safety net
    if (sweep || adopt_now_) {
      adopt(tx, adopted);
      pools_exist_ = store::pools_exist(tx);
    }
    offsets.clear();
    if (metrics_due) tail_metrics(tx, offsets);
    claim_and_dispatch(tx, to_spawn, finished_keys.size(), claimed_full);
    auto steady_at = [](TimePoint t) {
      return SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(t - now_utc());
    };
    if (sweep) {
      next_ready_.reset();
      if (auto t = store::next_ready_time(tx)) next_ready_ = steady_at(*t);
    }
    if (check_runs) {  // a run's timeout wakes the engine on time, not at the next sweep
      next_run_deadline_.reset();
      if (auto t = store::next_run_deadline(tx)) next_run_deadline_ = steady_at(*t) + Millis(5);
    }
    // Full: other replicas may claim what is left (this one claims again when a task ends).
    if (claimed_full) store::notify(tx, "ctflow_wake", opt_.server_id);
    // finish_tasks and start_attempts notify by themselves; the rest may have added events.
    if (check_runs || sweep || metrics_due || !started.empty() || !results.empty())
      store::notify(tx, "ctflow_events", "");
  });

  // Committed: forget what finished, remember what started, then start processes. The claim
  // took every ready task unless it filled the room; a sweep forgets what may have gone stale.
  unknown_ready_ = claimed_full;
  if (sweep) {
    known_ready_.clear();
    known_priority_.clear();
  }
  after_commit(now_s, finished_keys, fresh, applied.changed, finishes, to_spawn);
  for (auto& [k, a] : adopted) active_[k] = std::move(a);
  for (const auto& [k, off] : offsets)
    if (auto it = active_.find(k); it != active_.end()) it->second.metrics_offset = off;
  if (sweep) {
    next_sweep_ = now_s + opt_.sweep;
    adopt_now_ = false;
  }
  if (renew) next_renew_ = now_s + opt_.lease / 3;
  if (metrics_due) next_metrics_ = now_s + Millis(1000);
  stats_.active = static_cast<int>(active_.size());
  if (SteadyClock::now() >= next_stats_) {
    next_stats_ = SteadyClock::now() + std::chrono::seconds(1);
    for (const auto& t : store::refresh_stats(*db_)) log::debug("engine: analysed {}", t);
  }
}

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
  std::set<int64_t> applied(changed.begin(), changed.end());
  for (const auto& k : finished_keys) {
    auto it = active_.find(k);
    if (it == active_.end()) continue;
    const Active& a = it->second;
    // A finished task's outputs are final: its descendants' templates and inputs read them here.
    if (applied.count(a.task_run_id))
      if (auto f = fresh.find(a.run_id); f != fresh.end())
        if (auto i = f->second.find(a.spec_index); i != f->second.end())
          upstream_cache_[{a.run_id, a.spec_index}] = i->second;
    active_.erase(it);
  }
  std::set<int64_t> dispatched;
  for (const auto& p : to_spawn) {
    dispatched.insert(p.active.task_run_id);
    forget_known_ready(p.active.task_run_id);  // claimed by the claim statement
  }
  learn_ready(dispatched);
  // The executor creates the attempt's folder after this commit; after a crash in between,
  // adoption finds no claim there, fences it and dispatches the task again.
  for (auto& p : to_spawn) {
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
}

int Engine::free_slots(size_t ending) const {
  return opt_.max_parallel - static_cast<int>(active_.size() - ending);
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
            if (res.models != early_models_)
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
  // Started early but not dispatched (its run is being cancelled, or the finish did not apply):
  // stop it; it was never recorded.
  if (with_direct && early)
    for (auto& plan : *direct)
      if (plan.early >= 0) {
        log::info("engine: {} started early but not dispatched: killed", plan.name);
        executor_.cancel((*early)[static_cast<size_t>(plan.early)].req.key, Millis(0));
      }
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
