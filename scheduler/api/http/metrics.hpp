#pragma once
// A small Prometheus metrics registry: counters, gauges, histograms with fixed buckets, and
// gauges computed at scrape time, exposed in the text format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Any module may register into the process's registry (the engine's claim latency, the store's
// pool usage, ...). Names follow Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*) and carry the
// `ctflow_` prefix by convention; a counter's name should end in `_total`.
//
// Threads: every member is safe to call from any thread. counter()/gauge()/histogram() take a
// lock; keep the returned reference (valid for the registry's lifetime) and update it on hot
// paths, which is lock-free for counters and gauges and takes a short per-series lock for a
// histogram.
#include "scheduler/api/http/router.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ctflow::http {

// Label pairs in the order given, e.g. {{"route", "/api/v1/runs"}, {"status", "200"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(double v = 1.0) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0) { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1.0) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `upper_bounds` strictly increasing; +Inf is implicit.
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;  // constant after construction
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // guarded by mu_; per bucket (not cumulative), then +Inf
  double sum_ = 0;                // guarded by mu_
};

// Seconds: 0.5 ms .. 10 s, for request and query latencies.
std::vector<double> latency_buckets();

class MetricsRegistry {
 public:
  using Sample = std::pair<Labels, double>;
  using Collector = std::function<std::vector<Sample>()>;

  // The series for (name, labels), created on first use. Throws std::logic_error on a
  // programming error: a bad name or label name, a name already used with another type or (for
  // histograms) other buckets, or a name already used by a callback.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help,
                       const std::vector<double>& buckets, const Labels& labels = {});

  // A gauge family whose samples `collect` computes at each scrape (runs by state, queue depth
  // read from the database). It runs on the scraping thread (a worker), may block, and may throw:
  // the family is then left out of that scrape and the error logged.
  void gauge_callback(std::string_view name, std::string_view help, Collector collect);

  // Every family, sorted by name, in the text format 0.0.4.
  std::string expose() const;

 private:
  enum class Type { Counter, Gauge, Histogram, Callback };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> buckets;  // histograms only
    Collector collect;            // callbacks only
    // Keyed by the rendered label set ("a=\"1\",b=\"2\""); values never move once created.
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& family(std::string_view name, std::string_view help, Type type,
                 const std::vector<double>& buckets);  // requires mu_

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;  // guarded by mu_
};

// Renders labels as Prometheus does: a="1",b="x\"y" (backslash, quote and newline escaped).
std::string render_labels(const Labels& labels);
// A sample value: integers without a fraction, +Inf, -Inf, NaN, otherwise shortest round-trip.
std::string format_metric_value(double v);

// GET /metrics (public), serving registry.expose() as text/plain; version=0.0.4. The registry
// must outlive the router.
Route metrics_route(const MetricsRegistry& registry, std::string path = "/metrics");

}  // namespace ctflow::http
