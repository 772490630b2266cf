#pragma once
// Predictor: the model versions ctflow-serve answers with, and the traffic split between them.
//
// A ServedVersion is a loaded, warmed KnnModel with its Batcher. The predictor holds the primary
// version and, optionally, a canary with a percentage of the requests (KServe's
// canaryTrafficPercent). set() swaps both at once; a request copies the shared_ptr of the version
// it was routed to, so it finishes on that version, and the old version is freed (its batch
// thread joined) when its last request returns.
//
// Request ids: a per-process random prefix and a counter ("p7f3a9c1-42"), one per image, unique
// per predictor process.
//
// Metrics (into the registry given): ctflow_serve_predictions_total{version,class},
// ctflow_serve_requests_by_version_total{version,role}, ctflow_serve_batch_images (histogram),
// ctflow_serve_inference_seconds (histogram), ctflow_serve_version{role} (gauge),
// ctflow_serve_load_failures_total; where a batch's time goes (histograms, seconds):
// ctflow_serve_batch_wait_seconds (its first request queued), ctflow_serve_embed_seconds (the
// forward pass), ctflow_serve_search_seconds (index search and vote); and
// ctflow_serve_batch_requests (histogram).
//
// Threads: every member may be called from any thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "scheduler/api/http/metrics.hpp"
#include "scheduler/common/result.hpp"
#include "tasks/model/model_files.hpp"
#include "tasks/serve/protocol.hpp"

namespace ctflow::tasks {
class KnnModel;
}

namespace ctflow::serve {

class Batcher;
class PredictionLog;

struct BatchOptions {
  int64_t max_batch = 64;                     // images per forward pass
  std::chrono::microseconds max_delay{2000};  // wait for a batch to fill (under load only)
};

struct ServedVersion {
  ServedVersion();
  ~ServedVersion();
  int64_t version = 0;
  std::unique_ptr<tasks::KnnModel> knn;
  std::unique_ptr<Batcher> batcher;  // destroyed first (declared after knn)
  http::Counter* by_class[10] = {};
};

class Predictor {
 public:
  Predictor(std::string model, BatchOptions batching, http::MetricsRegistry& metrics);
  ~Predictor();

  const std::string& model() const { return model_; }

  // Loads and warms a version from its files (errors name the file). Counts a failure.
  Result<std::shared_ptr<ServedVersion>> load(const tasks::ModelFiles& files, int64_t version);

  // Serves `primary`, and `canary` for `canary_percent` (0..100) of the requests when set.
  void set(std::shared_ptr<ServedVersion> primary, std::shared_ptr<ServedVersion> canary = nullptr,
           double canary_percent = 0);

  // Classifies the images on the version the split picks. Error: not ready, or the model failed.
  Result<Answer> predict(const Images& images);

  // Every answered prediction is appended to `log` (not owned; may be null) before predict()
  // returns, so a client's answer implies a spooled record. Set before serving.
  void set_log(PredictionLog* log) { log_ = log; }

  bool ready() const;
  int64_t version() const;         // the primary's, 0 when none
  int64_t canary_version() const;  // 0 when none
  double canary_percent() const;

 private:
  const std::string model_;
  const BatchOptions batching_;
  http::MetricsRegistry& metrics_;
  const std::string id_prefix_;
  std::atomic<uint64_t> id_counter_{0};
  http::Histogram& batch_images_;
  http::Histogram& batch_requests_;
  http::Histogram& batch_wait_seconds_;
  http::Histogram& embed_seconds_;
  http::Histogram& search_seconds_;
  http::Histogram& inference_seconds_;
  http::Counter& load_failures_;
  PredictionLog* log_ = nullptr;  // set before serving

  mutable std::mutex mu_;
  std::shared_ptr<ServedVersion> primary_;  // guarded by mu_
  std::shared_ptr<ServedVersion> canary_;   // guarded by mu_
  double canary_percent_ = 0;               // guarded by mu_
};

}  // namespace ctflow::serve
