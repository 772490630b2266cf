#pragma once
// PredictionLog: what ctflow-serve predicted, sent to the control plane's prediction log
// (POST /api/v1/predictions, {"records": [...]}, idempotent on request_id) in batches.
//
// Durability: record() appends the records as JSON lines to a spool file in one write() before
// the predictor answers, so a prediction a client got an answer for survives a kill -9 of the
// predictor (the page cache keeps it; a power loss may not). A sender thread reads the spool from
// its sent offset, posts up to `batch` records at a time, and advances the offset (persisted in
// SPOOL.offset) when the API answered 200. A restart replays from that offset; what was sent but
// not yet marked is sent again, which the route's idempotency absorbs (never stored twice).
// While the API is away (transport error or non-200), the sender retries with backoff 1 s ..
// 30 s and the spool grows up to `max_bytes`; beyond that records are dropped and counted, never
// waited for. A batch the route refuses as bad (400/422) is dropped and counted, so one bad
// record cannot stop the log. Once everything is sent, the spool is truncated.
//
// Metrics: ctflow_serve_log_records_total, ctflow_serve_log_sent_total,
// ctflow_serve_log_dropped_total, ctflow_serve_log_send_failures_total, ctflow_serve_log_api_away
// (gauge 0/1), ctflow_serve_log_pending_bytes (gauge).
//
// Threads: record() from any thread (a short lock around the write); one sender thread.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/api/http/metrics.hpp"
#include "scheduler/common/result.hpp"

namespace ctflow::serve {

struct PredictionRecord {
  std::string request_id;
  std::string model;
  int64_t version = 0;
  int prediction = 0;
  double latency_ms = 0;
  const float* pixels = nullptr;  // 784 values in [0,1], summarised by record()
};

struct LogOptions {
  std::string api, token;
  std::string spool_path;         // the spool file; SPOOL.offset beside it
  int64_t max_bytes = 256 << 20;  // spool bound
  int batch = 1000;               // records per POST (the route takes up to 10,000)
  std::chrono::milliseconds flush{500};
};

class PredictionLog {
 public:
  // Opens (creates) the spool; errors name the file.
  static Result<std::unique_ptr<PredictionLog>> open(LogOptions options,
                                                     http::MetricsRegistry& metrics);
  ~PredictionLog();  // stops the sender (what is unsent stays in the spool)

  // Appends the records (summaries computed here). Never blocks on the network.
  void record(const std::vector<PredictionRecord>& records);
  void start();

  // {"mean", "ink", "hist": [8 fractions]} of 784 pixels in [0,1] (ink: share of pixels > 0.5).
  static std::string summary_json(const float* pixels);

 private:
  PredictionLog(LogOptions options, http::MetricsRegistry& metrics, int fd, int64_t offset);
  void loop();
  bool send_some();  // true when it sent something or there was nothing to send
  void save_offset();

  const LogOptions o_;
  http::Counter& records_;
  http::Counter& sent_;
  http::Counter& dropped_;
  http::Counter& failures_;
  http::Gauge& away_;

  std::mutex mu_;       // guards the spool's end (writes, truncation) and the fields below
  const int fd_;        // the spool, O_APPEND
  int64_t size_ = 0;    // guarded by mu_
  int64_t offset_ = 0;  // guarded by mu_: sent up to here
  bool stop_ = false;   // guarded by mu_
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace ctflow::serve
