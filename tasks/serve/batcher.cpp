#include "tasks/serve/batcher.hpp"

#include <algorithm>
#include <cstring>

#include "tasks/model/knn_model.hpp"
#include "tasks/serve/protocol.hpp"

namespace ctflow::serve {

Batcher::Batcher(tasks::KnnModel& model, int64_t max_batch, std::chrono::microseconds max_delay,
                 Observer on_batch)
    : model_(model),
      max_batch_(std::max<int64_t>(1, max_batch)),
      max_delay_(max_delay),
      on_batch_(std::move(on_batch)),
      thread_([this] { loop(); }) {}

Batcher::~Batcher() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  queued_.notify_all();
  thread_.join();
}

Result<tasks::Votes> Batcher::run(const float* pixels, int64_t n) {
  Pending p{pixels, n, std::chrono::steady_clock::now()};
  std::unique_lock lk(mu_);
  if (stop_) return Error{"the model version is being unloaded"};
  queue_.push_back(&p);
  queued_.notify_one();
  done_.wait(lk, [&] { return p.done; });
  return std::move(p.out);
}

void Batcher::loop() {
  bool busy = false;  // the previous batch held more than one request
  int64_t last = 0;   // images in the previous batch
  std::vector<Pending*> batch;
  std::vector<float> pixels;
  std::unique_lock lk(mu_);
  for (;;) {
    queued_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    auto images = [&] {
      int64_t n = 0;
      for (Pending* p : queue_) n += p->n;
      return n;
    };
    if (busy && max_delay_.count() > 0) {
      const int64_t target = std::min(max_batch_, last);
      const auto deadline = std::chrono::steady_clock::now() + max_delay_;
      queued_.wait_until(lk, deadline, [&] { return stop_ || images() >= target; });
    }
    batch.clear();
    int64_t total = 0;
    while (!queue_.empty() && (batch.empty() || total + queue_.front()->n <= max_batch_)) {
      total += queue_.front()->n;
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    busy = batch.size() > 1;
    last = total;
    lk.unlock();
    const auto start = std::chrono::steady_clock::now();
    tasks::KnnModel::Timing timing;
    Result<tasks::Votes> votes = Error{"empty batch"};
    if (batch.size() == 1) {
      votes = model_.predict(batch[0]->pixels, batch[0]->n, &timing);
    } else {
      pixels.resize(total * kPixels);
      int64_t at = 0;
      for (Pending* p : batch) {
        std::memcpy(pixels.data() + at * kPixels, p->pixels, p->n * kPixels * sizeof(float));
        at += p->n;
      }
      votes = model_.predict(pixels.data(), total, &timing);
    }
    if (on_batch_)
      on_batch_({.images = total,
                 .requests = static_cast<int64_t>(batch.size()),
                 .wait = std::chrono::duration<double>(start - batch.front()->queued).count(),
                 .embed = timing.embed,
                 .search = timing.search});
    lk.lock();
    int64_t at = 0;
    for (Pending* p : batch) {
      if (!votes) {
        p->out = Error{votes.error()};
      } else {
        tasks::Votes v;
        v.pred.assign(votes->pred.begin() + at, votes->pred.begin() + at + p->n);
        v.confidence.assign(votes->confidence.begin() + at, votes->confidence.begin() + at + p->n);
        p->out = std::move(v);
      }
      at += p->n;
      p->done = true;
    }
    done_.notify_all();
  }
}

}  // namespace ctflow::serve
