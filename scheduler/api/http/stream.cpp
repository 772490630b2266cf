#include "scheduler/api/http/stream.hpp"

namespace ctflow::http {

bool StreamChannel::write(std::string chunk) {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || buffer_.size() < max_buffered_; });
    if (closed_) return false;
    buffer_ += chunk;
  }
  if (notify_) notify_();
  return true;
}

bool StreamChannel::open() const {
  std::lock_guard lock(mu_);
  return !closed_;
}

bool StreamChannel::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return closed_; });
  return !closed_;
}

void StreamChannel::set_notify(std::function<void()> notify) {
  notify_ = std::move(notify);
}

bool StreamChannel::take(std::string& out) {
  std::lock_guard lock(mu_);
  out += buffer_;
  buffer_.clear();
  cv_.notify_all();  // a producer blocked on a full buffer may go on
  return finished_;
}

void StreamChannel::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    buffer_.clear();
  }
  cv_.notify_all();
  if (notify_) notify_();
}

void StreamChannel::finish() {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  if (notify_) notify_();
}

bool StreamChannel::finished() const {
  std::lock_guard lock(mu_);
  return finished_;
}

}  // namespace ctflow::http
