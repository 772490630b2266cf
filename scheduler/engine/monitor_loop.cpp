#include "scheduler/engine/monitor_loop.hpp"

#include "scheduler/common/log.hpp"
#include "scheduler/monitor/check.hpp"
#include "scheduler/store/monitors.hpp"
#include "scheduler/store/predictions.hpp"

namespace ctflow::engine {

MonitorLoop::MonitorLoop(MonitorLoopOptions opt, const ClockSource& clock)
    : opt_(std::move(opt)), clock_(clock) {}

MonitorLoop::~MonitorLoop() {
  stop();
}

void MonitorLoop::start() {
  thread_ = std::thread([this] { thread_main(); });
  listener_ = std::thread([this] { listen_main(); });
}

void MonitorLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  stop_listen_ = true;
  if (thread_.joinable()) thread_.join();
  if (listener_.joinable()) listener_.join();
}

void MonitorLoop::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void MonitorLoop::listen_main() {
  store::listen_loop(
      opt_.database_url, {store::kPredictionChannel},
      [this](const std::string&, const std::string&) { wake(); }, [this] { wake(); },
      [this] { return stop_listen_.load(); });
}

void MonitorLoop::pass() {
  std::vector<int64_t> ids;
  store::with_read(*db_, [&](store::Tx& tx) { ids = store::live_monitors(tx); });
  int64_t created = 0;
  for (int64_t id : ids) {
    monitor::CheckResult r;
    const TimePoint now = clock_.now();
    store::with_tx(*db_, [&](store::Tx& tx) { r = monitor::check_monitor(tx, id, now, specs_); });
    stats_.checks.fetch_add(1, std::memory_order_relaxed);
    if (r.locked_elsewhere) stats_.contended.fetch_add(1, std::memory_order_relaxed);
    if (!r.error.empty()) {
      stats_.errors.fetch_add(1, std::memory_order_relaxed);
      log::warn("monitor: {}", r.error);
    }
    if (r.run_id) {
      ++created;
      log::info("monitor of pipeline {} crossed its threshold: run {} started", id, *r.run_id);
    }
  }
  stats_.passes.fetch_add(1, std::memory_order_relaxed);
  stats_.runs_created.fetch_add(created, std::memory_order_relaxed);
  if (created > 0 && opt_.on_created) opt_.on_created();
}

void MonitorLoop::thread_main() {
  log::info("monitor loop started (every {})", format_duration(opt_.interval));
  auto next = std::chrono::steady_clock::now();
  while (true) {
    try {
      if (!db_) {
        auto c = store::connect(opt_.database_url);
        if (!c) throw store::DbError(c.error());
        db_ = std::move(*c);
      }
      pass();
    } catch (const std::exception& e) {
      log::warn("monitor loop: {}", e.what());
      db_.reset();
    }
    const auto done = std::chrono::steady_clock::now();
    next = done + opt_.interval;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, next, [this] { return woken_ || stopping_; });
    if (stopping_) break;
    // Woken early (labels arrived): wait out the debounce so a burst of label batches is one
    // pass, but never past the regular interval.
    if (woken_) {
      auto at = std::min(next, done + opt_.debounce);
      cv_.wait_until(lock, at, [this] { return stopping_; });
      if (stopping_) break;
    }
    woken_ = false;
  }
  log::info("monitor loop stopped");
}

}  // namespace ctflow::engine
