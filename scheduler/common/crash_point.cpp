#include "scheduler/common/crash_point.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace ctflow::crash {

namespace {

std::string armed_;                  // constant after arm()
std::atomic<bool> on_{false};        // armed_ is set
std::atomic<long> left_{1};          // hits of armed_ until the kill
thread_local bool pending_ = false;  // at_commit(armed_) seen in this thread's transaction

[[noreturn]] void die(std::string_view name) {
  // One line on stderr (the server's log) with write(2): nothing else may run now.
  std::string line = "crash point " + std::string(name) + ": SIGKILL (--crash-at)\n";
  (void)!::write(2, line.data(), line.size());
  ::kill(::getpid(), SIGKILL);
  ::pause();
  ::_exit(137);
}

bool hit(std::string_view name) {
  if (!on_.load(std::memory_order_relaxed) || name != armed_) return false;
  return left_.fetch_sub(1) == 1;
}

}  // namespace

std::string arm(const std::string& spec) {
  if (spec.empty()) return "";
  std::string name = spec;
  long n = 1;
  if (auto hash = spec.find('#'); hash != std::string::npos) {
    name = spec.substr(0, hash);
    std::string count = spec.substr(hash + 1);
    char* end = nullptr;
    n = std::strtol(count.c_str(), &end, 10);
    if (count.empty() || *end != '\0' || n < 1)
      return "--crash-at " + spec + ": expected NAME or NAME#N with N >= 1";
  }
  if (name.empty() || name.find(':') == std::string::npos)
    return "--crash-at " + spec + ": expected a point such as claim:before-commit";
  armed_ = name;
  left_ = n;
  on_ = true;
  return "";
}

const std::string& armed() {
  return armed_;
}

void point(std::string_view name) {
  if (hit(name)) die(name);
}

void at_commit(std::string_view name) {
  if (on_.load(std::memory_order_relaxed) && name == armed_) pending_ = true;
}

void committed() {
  if (!pending_) return;
  pending_ = false;
  point(armed_);
}

void rolled_back() {
  pending_ = false;
}

}  // namespace ctflow::crash
