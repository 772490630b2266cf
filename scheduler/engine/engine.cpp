#include "scheduler/engine/engine.hpp"

#include <signal.h>
#include <unistd.h>

#include "scheduler/common/log.hpp"
#include "scheduler/common/named_thread.hpp"
#include "scheduler/engine/plan.hpp"
#include "scheduler/engine/results.hpp"
#include "scheduler/engine/study.hpp"
#include "scheduler/spec/parse.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/runs.hpp"

namespace ctflow::engine {

using SteadyClock = std::chrono::steady_clock;

namespace {
EngineOptions normalized(EngineOptions o) {
  if (!o.fast_path) {
    o.start_early = false;
    o.arm_depth = 0;
  }
  return o;
}
}  // namespace

Engine::Engine(EngineOptions opt, exec::Executor& executor)
    : opt_(normalized(std::move(opt))), executor_(executor) {}

Engine::~Engine() {
  stop();
}

void Engine::start() {
  executor_.set_wakeup([this](exec::Wake w) {
    std::lock_guard<std::mutex> g(mu_);
    if (w == exec::Wake::Exited)
      woken_ = true;
    else if (w == exec::Wake::Fired)
      fired_pending_ = true;
    else
      started_pending_ = true;
    cv_.notify_one();
  });
  update_limit();
  thread_ = named_thread("ctflow-engine", [this] { thread_main(); });
  listener_ = named_thread("ctflow-listen", [this] { listen_main(); });
  stats_thread_ = named_thread("ctflow-stats", [this] { stats_main(); });
}

void Engine::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
    cv_.notify_one();
    cv_stats_.notify_all();
  }
  stop_listen_ = true;
  if (thread_.joinable()) thread_.join();
  if (listener_.joinable()) listener_.join();
  if (stats_thread_.joinable()) stats_thread_.join();
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

// The planner's statistics of the hot tables, on a connection of its own: an ANALYZE takes tens
// of milliseconds, which the engine's pass must not wait for (make bench-sched).
void Engine::stats_main() {
  std::unique_ptr<store::Connection> c;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_stats_.wait_for(lk, std::chrono::seconds(1), [&] { return stopping_ || went_idle_; });
      if (stopping_) return;
      went_idle_ = false;
    }
    try {
      if (!c || !c->is_open()) {
        auto r = store::connect(opt_.database_url, 1);
        if (!r) continue;  // the engine reports the database being down
        c = std::move(r.value());
      }
      // While tasks run, only tables that grew eightfold: an ANALYZE takes the database 20-60 ms
      // and makes every cached plan of the engine be made again, in a run's way (make
      // bench-sched); the engine going idle (a run's end) wakes this at once.
      int factor = busy_.load(std::memory_order_relaxed) ? 8 : 2;
      for (const auto& t : store::refresh_stats(*c, factor))
        log::debug("engine: analysed {} ({})", t, busy_ ? "busy" : "idle");
    } catch (const std::exception& e) {
      log::warn("engine: statistics: {}", e.what());
      c.reset();
    }
  }
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
      cv_.wait_until(lk, until,
                     [&] { return woken_ || started_pending_ || fired_pending_ || stopping_; });
      if (stopping_) return;
      if (!woken_ && fired_pending_ && fired_wait_ok_) {
        // Only exits whose armed children started: the chain goes on in the executor, so let
        // more of its steps end and be recorded by one statement (any other event ends this).
        cv_.wait_for(lk, opt_.fired_wait, [&] { return woken_ || stopping_; });
        if (stopping_) return;
      } else if (!woken_ && started_pending_) {
        // Only "started" events: give the exit a moment to arrive so both share one commit.
        cv_.wait_for(lk, opt_.started_debounce, [&] { return woken_ || stopping_; });
        if (stopping_) return;
      }
      woken_ = false;
      started_pending_ = false;
      fired_pending_ = false;
    }
    // Several attempts running: let the exits of the next moment join this pass, so that one
    // statement and one commit serve several tasks (a lone chain step never waits).
    if (active_.size() > 1 && opt_.batch_wait.count() > 0)
      std::this_thread::sleep_for(opt_.batch_wait);
    if (opt_.pass_delay.count() > 0) std::this_thread::sleep_for(opt_.pass_delay);
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
      bool busy = !active_.empty();
      if (busy_.exchange(busy) && !busy) {  // the statistics thread refreshes now
        std::lock_guard<std::mutex> g(mu_);
        went_idle_ = true;
        cv_stats_.notify_all();
      }
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
  if (models_changed_.exchange(false)) {  // inputs files prepared ahead name the old ones
    models_.reset();
    disarm_all();
  }

  std::vector<store::Started> started;
  std::vector<store::FinishOp> finishes;
  std::vector<store::AttemptResult> results;
  std::vector<size_t> result_finish;  // index into finishes for each result
  std::vector<int64_t> failed, skipped;
  std::vector<std::string> finished_keys;
  std::map<int64_t, std::map<int, store::UpstreamInfo>> fresh;  // run -> spec index -> result
  held_started_.clear();  // a retried pass looks at them again
  fired_now_.clear();
  deferred_.clear();
  process_events(pending_events_, started, finishes, results, result_finish, failed, finished_keys,
                 fresh);

  bool trials_finished = false;  // else no study needs a step (saves a query per pass)
  for (const auto& k : finished_keys)
    if (auto it = active_.find(k); it == active_.end() || it->second.maybe_trial)
      trials_finished = true;
  // Children to dispatch in the finishing statement itself (direct.cpp): known ready tasks first
  // (claim order); with none, the children of the finishing tasks. Not when a task failed: its
  // descendants are marked in a transaction whose claim dispatches what is left.
  // Children already started by the executor (armed on a task that just succeeded) go first,
  // whatever else the pass does: they run.
  std::vector<DirectPlan> direct;
  std::vector<Prepared> early;
  std::pair<int, int64_t> max_key{0, 0};
  int room = free_slots(finished_keys.size());
  if (opt_.fast_path) take_fired(room, direct, early);
  size_t fired = direct.size();
  if (opt_.fast_path && !finishes.empty() && failed.empty())
    take_known_ready(room, direct, max_key);
  if (opt_.fast_path && direct.size() == fired && failed.empty())
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
  bool quick = opt_.fast_path && !finishes.empty() && results.empty() && failed.empty() &&
               !trials_finished && !due;
  if (quick) {
    if (trace) log::info("planned");
    start_early(direct, early);
    // Children it dispatches that ended already (the supervisor ran a chain ahead) are
    // recorded as ended by the same statement: a segment of the chain per commit.
    std::vector<Step> steps;
    build_segment(direct, early, steps);
    auto drop_steps = [&] {
      for (const auto& s : steps) active_.erase(s.key);
    };
    try {
      store::with_autocommit(*db_, [&](store::Tx& tx) {
        became_ready_.clear();
        store::mark_running(tx, started);
        applied = apply_finishes(tx, finishes, failed, skipped, false, &direct, &to_spawn, max_key,
                                 &early);
      });
    } catch (...) {
      drop_steps();
      throw;
    }
    bool recorded = false;
    for (const auto& p : to_spawn) recorded = recorded || p.done;
    if (recorded) {
      std::set<std::string> keys;
      for (const auto& s : steps) {
        keys.insert(s.key);
        finished_keys.push_back(s.key);
        finishes.push_back(s.finish);
        for (const auto& [run, m] : s.fresh)
          for (const auto& [i, info] : m) fresh[run][i] = info;
      }
      std::erase_if(deferred_, [&](const exec::ExecEvent& ev) { return keys.count(ev.key) > 0; });
    } else {
      drop_steps();  // dispatched at most (their events are looked at again), or killed
    }
    after_commit(now_s, finished_keys, fresh, applied.changed, finishes, to_spawn);
    // A claim is needed when a ready task may exist that this engine does not know of first:
    // one it could not prepare, known ones the statement passed over (another ready task came
    // first, or they went stale), or, with no known ones left, any ready task. Ready tasks it
    // does not know of that come after the known ones wait until those are dispatched, as they
    // would in claim order. Full: the next finish claims what is left.
    // Known ready tasks wait for the next finish only while the slots are full.
    bool claim = unknown_ready_ || applied.ready_dispatched < applied.ready_sent ||
                 (known_ready_.empty() && applied.ready_left) ||
                 (!known_ready_.empty() && free_slots(0) > 0);
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
    applied = apply_finishes(tx, finishes, failed, skipped, trials_finished, &direct, &to_spawn,
                             max_key, &early);
    if (check_runs) {
      auto cw = store::cancel_requested_runs(tx);
      // Those not known to have started first: one waiting in the supervisor for a slot is
      // fenced before the signal to a running one frees that slot (it would start it).
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
    if (sweep) step_studies(tx, {}, true);  // run cancellations of studies; safety net
    if (sweep || adopt_now_) {
      adopt(tx, adopted, to_spawn);
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
  // Adopted first: they count against the executor's limit (after_commit) before any start.
  for (auto& [k, a] : adopted) active_[k] = std::move(a);
  after_commit(now_s, finished_keys, fresh, applied.changed, finishes, to_spawn);
  for (const auto& [k, off] : offsets)
    if (auto it = active_.find(k); it != active_.end()) it->second.metrics_offset = off;
  if (sweep) {
    next_sweep_ = now_s + opt_.sweep;
    adopt_now_ = false;
  }
  if (renew) next_renew_ = now_s + opt_.lease / 3;
  if (metrics_due) next_metrics_ = now_s + Millis(1000);
  stats_.active = static_cast<int>(active_.size());
  // An exit that fires may wait for more (fired_wait) only where recording it readies nothing
  // else: no running task with something armed on it has other children (a fan-out's root
  // readies hundreds of tasks when it is recorded).
  bool only_chains = true;
  for (const auto& [key, a] : active_) {
    if (!armed_on_.count(key)) continue;
    auto sp = specs_.find(a.version_id);
    only_chains =
        only_chains && sp != specs_.end() &&
        graph(a.version_id, *sp->second).children[static_cast<size_t>(a.spec_index)].size() <= 1;
  }
  fired_wait_ok_ = only_chains;
}

}  // namespace ctflow::engine
