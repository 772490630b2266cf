#include "scheduler/api/service.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::api {

EventHub::EventHub(std::string database_url) : url_(std::move(database_url)) {}
EventHub::~EventHub() {
  stop();
}

void EventHub::start() {
  thread_ = std::thread([this] {
    store::listen_loop(
        url_, {"ctflow_events"},
        [this](const std::string&, const std::string& payload) { poke(payload == "run"); },
        [this] { poke(); }, [this] { return stop_.load(); });
  });
}

void EventHub::stop() {
  stop_ = true;
  poke();
  if (thread_.joinable()) thread_.join();
}

void EventHub::poke(bool urgent) {
  std::lock_guard<std::mutex> g(mu_);
  ++gen_;
  if (urgent) urgent_ = gen_;
  cv_.notify_all();
}

void EventHub::settle(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, timeout, [&] { return urgent_ > seen || stop_.load(); });
}

uint64_t EventHub::generation() const {
  std::lock_guard<std::mutex> g(mu_);
  return gen_;
}

uint64_t EventHub::wait(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, timeout, [&] { return gen_ != seen || stop_.load(); });
  return gen_;
}

}  // namespace ctflow::api
