// The engine's threads: the pass loop with its wake-ups (in-process, executor events, LISTEN
// from other servers, timers), the listener, and the statistics refresher. The pass itself is
// in pass.cpp.
#include "scheduler/engine/engine.hpp"

#include "scheduler/common/log.hpp"
#include "scheduler/common/named_thread.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"
#include "scheduler/spec/parse.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/runs.hpp"

namespace ctflow::engine {

Engine::Engine(EngineOptions opt, exec::Executor& executor)
    : core_(std::make_unique<Core>(std::move(opt), executor)) {}
Engine::~Engine() = default;
void Engine::start() {
  core_->start();
}
void Engine::stop() {
  core_->stop();
}
void Engine::wake() {
  core_->wake();
}
const EngineStats& Engine::stats() const {
  return core_->stats();
}

using SteadyClock = std::chrono::steady_clock;

namespace {

// Early starts, armed chains and dispatch ahead need the executor's chain acceleration;
// direct dispatch in the finishing statement does not.
EngineOptions normalized(EngineOptions o, exec::Executor& executor) {
  if (!executor.chain_acceleration()) {
    o.start_early = false;
    o.arm_depth = 0;
    o.dispatch_ahead = 0;
  }
  if (!o.fast_path) {
    o.start_early = false;
    o.arm_depth = 0;
  }
  return o;
}
}  // namespace

Core::Core(EngineOptions opt, exec::Executor& executor)
    : opt_(normalized(std::move(opt), executor)),
      executor_(executor),
      accel_(executor.chain_acceleration()),
      fast_(opt_.fast_path ? std::make_unique<FastPath>(*this) : nullptr) {}

Core::~Core() {
  stop();
}

void Core::start() {
  executor_.set_wakeup([this](exec::Wake w) {
    MutexLock g(mu_);
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

void Core::stop() {
  {
    MutexLock g(mu_);
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

void Core::wake() {
  MutexLock g(mu_);
  woken_ = true;
  check_runs_ = true;
  cv_.notify_one();
}

void Core::listen_main() {
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
void Core::stats_main() {
  std::unique_ptr<store::Connection> c;
  for (;;) {
    {
      MutexLock lk(mu_);
      auto until = SteadyClock::now() + std::chrono::seconds(1);
      while (!stopping_ && !went_idle_)
        if (!cv_stats_.wait_until(mu_, until)) break;
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

bool Core::connect_db() {
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

void Core::thread_main() {
  auto backoff = Millis(100);
  while (true) {
    {
      MutexLock lk(mu_);
      auto until = next_wake_time();
      while (!woken_ && !started_pending_ && !fired_pending_ && !stopping_)
        if (!cv_.wait_until(mu_, until)) break;
      if (stopping_) return;
      // Only exits whose armed children started: the chain goes on in the executor, so let
      // more of its steps end and be recorded by one statement (any other event ends this).
      // Only "started" events: give the exit a moment to arrive so both share one commit.
      std::optional<Millis> linger;
      if (!woken_ && fired_pending_ && fired_wait_ok_)
        linger = opt_.fired_wait;
      else if (!woken_ && started_pending_)
        linger = opt_.started_debounce;
      if (linger) {
        auto end = SteadyClock::now() + *linger;
        while (!woken_ && !stopping_)
          if (!cv_.wait_until(mu_, end)) break;
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
    if (log::trace_pass()) log::info("engine awake");
    if (!connect_db()) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, Millis(5000));
      MutexLock g(mu_);
      woken_ = true;
      continue;
    }
    try {
      pass();
      backoff = Millis(100);
      bool busy = !active_.empty();
      if (busy_.exchange(busy) && !busy) {  // the statistics thread refreshes now
        MutexLock g(mu_);
        went_idle_ = true;
        cv_stats_.notify_all();
      }
    } catch (const std::exception& e) {
      log::error("engine pass failed (will retry): {}", e.what());
      db_.reset();
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, Millis(5000));
      MutexLock g(mu_);
      woken_ = true;
    }
  }
}

SteadyTime Core::next_wake_time() const {
  auto t = std::min(next_sweep_, next_renew_);
  if (!active_.empty()) t = std::min(t, next_metrics_);
  for (const auto& [k, a] : active_)
    if (a.deadline && !a.timed_out) t = std::min(t, *a.deadline);
  if (next_ready_) t = std::min(t, *next_ready_);
  if (held_until_) t = std::min(t, *held_until_);
  if (next_run_deadline_) t = std::min(t, *next_run_deadline_);
  return t;
}

const spec::Pipeline* Core::pipeline(store::Tx& tx, int64_t version_id) {
  auto it = specs_.find(version_id);
  if (it != specs_.end()) return it->second.get();
  auto text = store::version_spec(tx, version_id);
  if (!text) return nullptr;
  auto parsed = spec::parse_stored_pipeline(*text);
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

const spec::Pipeline* Core::known_pipeline(int64_t version_id) const {
  auto it = specs_.find(version_id);
  return it == specs_.end() ? nullptr : it->second.get();
}

const Graph& Core::graph(int64_t version_id, const spec::Pipeline& p) {
  auto it = graphs_.find(version_id);
  if (it == graphs_.end()) it = graphs_.emplace(version_id, build_graph(p)).first;
  return it->second;
}

}  // namespace ctflow::engine
