#pragma once
// The REST resources of the control plane, registered on an http::Router. Handlers run on the
// HTTP server's worker threads and borrow connections from store::Pool (never on I/O threads).
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "scheduler/api/http/metrics.hpp"
#include "scheduler/api/http/router.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::api {

// Wakes stream producers when PostgreSQL announces new events (LISTEN ctflow_events), so every
// replica's clients see every change. One listener thread per server.
class EventHub {
 public:
  explicit EventHub(std::string database_url);
  ~EventHub();
  void start();
  void stop();
  // Blocks until a notification newer than `seen` arrives or `timeout` passes; returns the
  // current generation (pass it back as `seen` next time).
  uint64_t wait(uint64_t seen, std::chrono::milliseconds timeout);
  uint64_t generation() const;
  // Waits `timeout` for more notifications to join one read, less when one newer than `seen`
  // says that a run ended (payload "run"): whoever follows that run waits for its last event.
  void settle(uint64_t seen, std::chrono::milliseconds timeout);
  void poke(bool urgent = false);  // in-process notification (after a local commit)

 private:
  const std::string url_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t gen_ = 0;     // guarded by mu_
  uint64_t urgent_ = 0;  // the generation of the last urgent notification; guarded by mu_
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Services {
  store::Pool& pool;
  EventHub& events;
  http::MetricsRegistry& metrics;
  std::function<void()> wake_engine;  // in-process engine wake-up after a submit or cancel
  std::string data_dir;
};

// The request types every route file names.
using http::PathParams;
using http::Principal;
using http::Request;
using http::Response;
using http::Role;

// GET `pattern` answering {"<key>": list(tx)} to `role` and above: the plain list resources.
http::Route list_route(Services& s, std::string pattern, std::string summary, Role role,
                       std::string key, std::function<boost::json::array(store::Tx&)> list);

void add_run_routes(http::Router& r, Services& s);        // pipelines, runs, tasks, cancel
void add_stream_routes(http::Router& r, Services& s);     // logs, events (SSE)
void add_health_routes(http::Router& r, Services& s);     // healthz, readyz, metrics
void add_token_routes(http::Router& r, Services& s);      // tokens (admin)
void add_resource_routes(http::Router& r, Services& s);   // retry, run metrics, artifacts
void add_model_routes(http::Router& r, Services& s);      // models, versions, aliases, lineage
void add_study_routes(http::Router& r, Services& s);      // hpo studies and trials
void add_dashboard_routes(http::Router& r, Services& s);  // me, events head, pipeline grid
// The prediction log, delayed labels and the monitor view (issue 21).
void add_prediction_routes(http::Router& r, Services& s);
void add_gc_routes(http::Router& r, Services& s);  // retention: POST /api/v1/gc (issue 22)

// Prometheus families read at scrape time: runs and tasks by state, queue depth (one cached SQL
// count), API pool usage, and `engine` counters (name -> value; may be empty).
using EngineCounters = std::function<std::vector<std::pair<std::string, double>>()>;
void add_state_metrics(http::MetricsRegistry& m, store::Pool& pool, EngineCounters engine);
// A family of this process's counters read at scrape time: family{counter="<name>"} value.
void add_counter_family(http::MetricsRegistry& m, const std::string& family,
                        const std::string& help, EngineCounters counters);
// The engine's latency hook ("claim" | "dispatch", seconds) feeding two histograms.
std::function<void(std::string_view, double)> engine_latency_observer(http::MetricsRegistry& m);

// Bearer tokens checked against api_tokens (sha256 of the token, constant-time compare).
http::Authenticator make_authenticator(store::Pool& pool);

}  // namespace ctflow::api
