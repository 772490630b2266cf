#pragma once
// Batcher: dynamic batching in front of one loaded model version (TorchServe's batch_size /
// max_batch_delay). Handler threads call run(); one batch thread takes the queued requests, up
// to `max_batch` images, and makes one forward pass and one index search for all of them.
//
// When to wait: the batch thread runs what is queued at once, unless the previous batch held more
// than one request (the predictor is under concurrent load); then it waits up to `max_delay` for
// as many images as the previous batch held (at most max_batch): under a steady concurrency of c
// clients every batch is one request from each, instead of waiting out the delay for a max_batch
// that c clients can never fill. So one client alone never pays the delay, and concurrent
// clients share batches. A request larger than max_batch runs alone.
//
// Threads: run() from any number of threads; it blocks until its batch ran. The destructor
// finishes the queued requests, then joins the batch thread; the caller makes sure no run() is
// still to come (the owner of the version holds it in a shared_ptr that requests copy).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "scheduler/common/result.hpp"
#include "tasks/eval/knn.hpp"

namespace ctflow::tasks {
class KnnModel;
}

namespace ctflow::serve {

class Batcher {
 public:
  // What one batch did, for /metrics.
  struct BatchStats {
    int64_t images = 0;
    int64_t requests = 0;
    double wait = 0;    // seconds the batch's first request spent queued before the batch ran
    double embed = 0;   // seconds of the forward pass
    double search = 0;  // seconds of the index search and vote
  };
  // Called on the batch thread after each batch.
  using Observer = std::function<void(const BatchStats&)>;
  // `model` must outlive the batcher.
  Batcher(tasks::KnnModel& model, int64_t max_batch, std::chrono::microseconds max_delay,
          Observer on_batch = {});
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Classifies n images (n * 784 floats). Blocks until done.
  Result<tasks::Votes> run(const float* pixels, int64_t n);

 private:
  struct Pending {
    const float* pixels;
    int64_t n;
    std::chrono::steady_clock::time_point queued;
    Result<tasks::Votes> out = Error{"not run"};
    bool done = false;
  };
  void loop();

  // Constant after construction.
  tasks::KnnModel& model_;
  const int64_t max_batch_;
  const std::chrono::microseconds max_delay_;
  const Observer on_batch_;

  std::mutex mu_;
  std::condition_variable queued_;  // a request was queued, or stop_
  std::condition_variable done_;    // a batch finished
  std::deque<Pending*> queue_;      // guarded by mu_
  bool stop_ = false;               // guarded by mu_
  std::thread thread_;              // last: starts after the members above
};

}  // namespace ctflow::serve
