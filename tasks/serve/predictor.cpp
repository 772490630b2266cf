#include "tasks/serve/predictor.hpp"

#include <fmt/format.h>

#include <random>

#include "scheduler/common/log.hpp"
#include "tasks/model/knn_model.hpp"
#include "tasks/serve/batcher.hpp"
#include "tasks/serve/prediction_log.hpp"

namespace ctflow::serve {

namespace {

std::string random_prefix() {
  std::random_device rd;
  return fmt::format("p{:08x}", static_cast<uint32_t>(rd()));
}

const std::vector<double> kStageBuckets = {0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005,
                                           0.01,   0.02,   0.05,   0.1,   0.25};

double uniform_percent() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 100.0)(rng);
}

}  // namespace

ServedVersion::ServedVersion() = default;
ServedVersion::~ServedVersion() {
  batcher.reset();  // joins the batch thread before the model goes
}

Predictor::Predictor(std::string model, BatchOptions batching, http::MetricsRegistry& metrics)
    : model_(std::move(model)),
      batching_(batching),
      metrics_(metrics),
      id_prefix_(random_prefix()),
      batch_images_(metrics.histogram("ctflow_serve_batch_images", "Images per forward pass",
                                      {1, 2, 4, 8, 16, 32, 64, 128, 256})),
      batch_requests_(metrics.histogram("ctflow_serve_batch_requests", "Requests per forward pass",
                                        {1, 2, 4, 8, 16, 32, 64})),
      batch_wait_seconds_(metrics.histogram(
          "ctflow_serve_batch_wait_seconds",
          "Time a batch's first request spent queued before the batch ran", kStageBuckets)),
      embed_seconds_(metrics.histogram("ctflow_serve_embed_seconds", "Forward pass time per batch",
                                       kStageBuckets)),
      search_seconds_(metrics.histogram("ctflow_serve_search_seconds",
                                        "Index search and vote time per batch", kStageBuckets)),
      inference_seconds_(metrics.histogram(
          "ctflow_serve_inference_seconds",
          "Time from a request's parsed images to its predictions (queue + batch)",
          {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5})),
      load_failures_(metrics.counter("ctflow_serve_load_failures_total",
                                     "Model versions that failed to load")) {
  metrics.gauge_callback("ctflow_serve_version", "The version served, by role", [this] {
    std::vector<http::MetricsRegistry::Sample> out;
    out.push_back({{{"role", "primary"}}, static_cast<double>(version())});
    out.push_back({{{"role", "canary"}}, static_cast<double>(canary_version())});
    return out;
  });
}

Predictor::~Predictor() = default;

Result<std::shared_ptr<ServedVersion>> Predictor::load(const tasks::ModelFiles& files,
                                                       int64_t version) {
  auto knn = tasks::KnnModel::load(files);
  if (!knn) {
    load_failures_.inc();
    return Error{model_ + " version " + std::to_string(version) + ": " + knn.error()};
  }
  auto v = std::make_shared<ServedVersion>();
  v->version = version;
  v->knn = std::move(*knn);
  for (int c = 0; c < 10; ++c)
    v->by_class[c] = &metrics_.counter(
        "ctflow_serve_predictions_total", "Predictions by version and predicted class",
        {{"version", std::to_string(version)}, {"class", std::to_string(c)}});
  v->batcher = std::make_unique<Batcher>(*v->knn, batching_.max_batch, batching_.max_delay,
                                         [this](const Batcher::BatchStats& s) {
                                           batch_images_.observe(static_cast<double>(s.images));
                                           batch_requests_.observe(static_cast<double>(s.requests));
                                           batch_wait_seconds_.observe(s.wait);
                                           embed_seconds_.observe(s.embed);
                                           search_seconds_.observe(s.search);
                                         });
  return v;
}

void Predictor::set(std::shared_ptr<ServedVersion> primary, std::shared_ptr<ServedVersion> canary,
                    double canary_percent) {
  std::shared_ptr<ServedVersion> old_primary, old_canary;  // freed outside the lock
  std::lock_guard lk(mu_);
  old_primary = std::move(primary_);
  old_canary = std::move(canary_);
  primary_ = std::move(primary);
  canary_ = std::move(canary);
  canary_percent_ = canary_ ? std::clamp(canary_percent, 0.0, 100.0) : 0.0;
  log::info("serve: {} version {}{}", model_, primary_ ? primary_->version : 0,
            canary_ ? fmt::format(", canary version {} at {}%", canary_->version, canary_percent_)
                    : std::string());
}

Result<Answer> Predictor::predict(const Images& images) {
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<ServedVersion> v;
  bool canary = false;
  {
    std::lock_guard lk(mu_);
    v = primary_;
    if (canary_ && canary_percent_ > 0 && uniform_percent() < canary_percent_) {
      v = canary_;
      canary = true;
    }
  }
  if (!v) return Error{"no model version is loaded yet"};
  auto votes = v->batcher->run(images.pixels.data(), images.n);
  if (!votes) return Error{votes.error()};
  Answer a;
  a.version = v->version;
  a.labels = std::move(votes->pred);
  a.confidence = std::move(votes->confidence);
  const uint64_t first = id_counter_.fetch_add(images.n);
  a.request_ids.reserve(images.n);
  for (int64_t i = 0; i < images.n; ++i)
    a.request_ids.push_back(id_prefix_ + "-" + std::to_string(first + i + 1));
  for (int l : a.labels)
    if (l >= 0 && l < 10) v->by_class[l]->inc();
  metrics_
      .counter("ctflow_serve_requests_by_version_total", "Inference requests by answering version",
               {{"version", std::to_string(v->version)}, {"role", canary ? "canary" : "primary"}})
      .inc();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  inference_seconds_.observe(seconds);
  if (log_) {
    std::vector<PredictionRecord> recs(images.n);
    for (int64_t i = 0; i < images.n; ++i)
      recs[i] = {a.request_ids[i], model_,           a.version,
                 a.labels[i],      seconds * 1000.0, images.pixels.data() + i * kPixels};
    log_->record(recs);
  }
  return a;
}

bool Predictor::ready() const {
  std::lock_guard lk(mu_);
  return primary_ != nullptr;
}
int64_t Predictor::version() const {
  std::lock_guard lk(mu_);
  return primary_ ? primary_->version : 0;
}
int64_t Predictor::canary_version() const {
  std::lock_guard lk(mu_);
  return canary_ ? canary_->version : 0;
}
double Predictor::canary_percent() const {
  std::lock_guard lk(mu_);
  return canary_percent_;
}

}  // namespace ctflow::serve
