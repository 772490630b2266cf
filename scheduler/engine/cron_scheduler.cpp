#include "scheduler/engine/cron_scheduler.hpp"

#include "scheduler/common/log.hpp"
#include "scheduler/store/schedules.hpp"

namespace ctflow::engine {

namespace {
// A due schedule held by a replica, or a failed step: look again after this at the latest
// (a NOTIFY usually comes first).
constexpr Millis kRetry{1000};
}  // namespace

CronScheduler::CronScheduler(CronSchedulerOptions opt, const ClockSource& clock)
    : opt_(std::move(opt)), clock_(clock) {}

CronScheduler::~CronScheduler() {
  stop();
}

void CronScheduler::start() {
  thread_ = std::thread([this] { thread_main(); });
  listener_ = std::thread([this] { listen_main(); });
}

void CronScheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  stop_listen_ = true;
  if (thread_.joinable()) thread_.join();
  if (listener_.joinable()) listener_.join();
}

void CronScheduler::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void CronScheduler::listen_main() {
  store::listen_loop(
      opt_.database_url, {store::kScheduleChannel},
      [this](const std::string&, const std::string&) { wake(); }, [this] { wake(); },
      [this] { return stop_listen_.load(); });
}

CronScheduler::StepResult CronScheduler::step() {
  StepResult out;
  TimePoint now = clock_.now();
  std::vector<int64_t> due;
  store::with_tx(*db_, [&](store::Tx& tx) {
    due = store::due_schedule_ids(tx, now, opt_.schedules_per_step);
  });
  int64_t created = 0;
  for (int64_t id : due) {
    domain::TickResult r;
    store::with_tx(*db_, [&](store::Tx& tx) {
      r = domain::fire_schedule(tx, id, now, specs_, opt_.max_fires);
    });
    out.contended = out.contended || r.locked_elsewhere;
    out.progress = out.progress || r.more;
    created += r.created + r.replaced;
    stats_.fires_skipped.fetch_add(r.skipped, std::memory_order_relaxed);
    if (r.locked_elsewhere) stats_.contended.fetch_add(1, std::memory_order_relaxed);
    if (r.created + r.replaced + r.skipped + r.failed > 0)
      log::info("schedule step at {}: {} run(s) created, {} skipped, {} failed{}",
                format_iso8601(now), r.created + r.replaced, r.skipped, r.failed,
                r.more ? " (catch-up continues)" : "");
  }
  out.progress = out.progress || static_cast<int>(due.size()) >= opt_.schedules_per_step;
  store::with_tx(*db_, [&](store::Tx& tx) { out.next_fire = store::earliest_next_fire(tx); });
  stats_.steps.fetch_add(1, std::memory_order_relaxed);
  stats_.runs_created.fetch_add(created, std::memory_order_relaxed);
  if (created > 0 && opt_.on_fired) opt_.on_fired();
  return out;
}

std::chrono::steady_clock::time_point CronScheduler::wake_time(const StepResult& r) const {
  auto now = std::chrono::steady_clock::now();
  auto at = now + opt_.sweep;
  if (r.progress) return now;
  if (r.contended) at = std::min(at, now + kRetry);
  if (r.next_fire && clock_.real_time()) {
    auto delay = *r.next_fire - clock_.now();
    // A fire already due that this step did not take (a replica holds it, or it was stored
    // between our two reads): wait for the NOTIFY or kRetry, never spin.
    if (delay <= decltype(delay)::zero())
      at = std::min(at, now + kRetry);
    else
      at = std::min(at, now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  delay + std::chrono::milliseconds(1)));
  }
  return at;
}

void CronScheduler::thread_main() {
  log::info("cron scheduler started ({} clock)", clock_.real_time() ? "system" : "file");
  while (true) {
    StepResult r;
    try {
      if (!db_) {
        auto c = store::connect(opt_.database_url);
        if (!c) throw store::DbError(c.error());
        db_ = std::move(*c);
      }
      r = step();
    } catch (const std::exception& e) {
      // The database went away or a statement failed: reconnect and retry after kRetry.
      log::warn("cron scheduler: {}", e.what());
      db_.reset();
      r = StepResult{};
      r.contended = true;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, wake_time(r), [this] { return woken_ || stopping_; });
    if (stopping_) break;
    woken_ = false;
  }
  log::info("cron scheduler stopped");
}

}  // namespace ctflow::engine
