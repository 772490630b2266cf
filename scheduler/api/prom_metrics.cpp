// Prometheus families of the control plane (beside the HTTP server's request metrics): runs and
// tasks by state and the queue depth (scrape-time gauges from one cached SQL count), database
// pool usage, engine counters, and the engine's claim and dispatch latency histograms.
#include <chrono>
#include <memory>
#include <mutex>

#include "scheduler/api/service.hpp"
#include "scheduler/store/resources.hpp"

namespace ctflow::api {

namespace {

using Sample = http::MetricsRegistry::Sample;

// One count query serves every family of a scrape, and scrapes closer than kMaxAge apart share
// it, so a busy Prometheus (or several) costs the database at most one query per kMaxAge.
class CountCache {
 public:
  static constexpr std::chrono::milliseconds kMaxAge{2000};
  explicit CountCache(store::Pool& pool) : pool_(pool) {}

  store::StateCounts get() {
    std::lock_guard<std::mutex> g(mu_);
    auto now = std::chrono::steady_clock::now();
    if (!at_ || now - *at_ >= kMaxAge) {
      auto lease = pool_.acquire();
      store::with_tx(*lease, [&](store::Tx& tx) { counts_ = store::state_counts(tx); });
      at_ = now;
    }
    return counts_;
  }

 private:
  store::Pool& pool_;
  std::mutex mu_;
  std::optional<std::chrono::steady_clock::time_point> at_;  // guarded by mu_
  store::StateCounts counts_;                                // guarded by mu_
};

std::vector<Sample> by_state(const std::vector<std::pair<std::string, int64_t>>& counts) {
  std::vector<Sample> out;
  for (const auto& [state, n] : counts) out.push_back({{{"state", state}}, static_cast<double>(n)});
  return out;
}

// Seconds, 1 ms .. 30 s: a dispatch includes a transaction commit and a process start.
std::vector<double> dispatch_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

}  // namespace

void add_state_metrics(http::MetricsRegistry& m, store::Pool& pool, EngineCounters engine) {
  auto cache = std::make_shared<CountCache>(pool);
  m.gauge_callback("ctflow_runs", "Runs by state", [cache] { return by_state(cache->get().runs); });
  m.gauge_callback("ctflow_tasks", "Unfinished tasks (of queued and running runs) by state",
                   [cache] { return by_state(cache->get().tasks); });
  m.gauge_callback("ctflow_queue_depth", "Ready tasks due to be claimed (not_before passed)",
                   [cache] {
                     return std::vector<Sample>{{{}, static_cast<double>(cache->get().ready_due)}};
                   });
  m.gauge_callback("ctflow_db_pool_connections", "API database pool: connections in use and size",
                   [&pool] {
                     return std::vector<Sample>{{{{"state", "in_use"}}, double(pool.in_use())},
                                                {{{"state", "size"}}, double(pool.size())}};
                   });
  if (engine)
    add_counter_family(m, "ctflow_engine", "Engine counters of this server since it started",
                       std::move(engine));
}

void add_counter_family(http::MetricsRegistry& m, const std::string& family,
                        const std::string& help, EngineCounters counters) {
  m.gauge_callback(family, help, [counters = std::move(counters)] {
    std::vector<Sample> out;
    for (const auto& [name, v] : counters()) out.push_back({{{"counter", name}}, v});
    return out;
  });
}

std::function<void(std::string_view, double)> engine_latency_observer(http::MetricsRegistry& m) {
  auto& claim = m.histogram("ctflow_engine_claim_seconds",
                            "Duration of one claim statement (FOR UPDATE SKIP LOCKED batch)",
                            http::latency_buckets());
  auto& dispatch = m.histogram(
      "ctflow_engine_dispatch_seconds",
      "From the start of the scheduler pass that claimed a task to its process being started",
      dispatch_buckets());
  return [&claim, &dispatch](std::string_view phase, double seconds) {
    if (phase == "claim")
      claim.observe(seconds);
    else if (phase == "dispatch")
      dispatch.observe(seconds);
  };
}

}  // namespace ctflow::api
