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

std::string fail_armed_;            // constant after arm_failure()
std::atomic<bool> fail_on_{false};  // fail_armed_ is set
std::atomic<long> fail_left_{1};    // asks until it fails

// Splits "NAME" or "NAME#N"; an error message for a malformed spec.
std::string parse(const std::string& flag, const std::string& spec, std::string& name, long& n) {
  name = spec;
  n = 1;
  if (auto hash = spec.find('#'); hash != std::string::npos) {
    name = spec.substr(0, hash);
    std::string count = spec.substr(hash + 1);
    char* end = nullptr;
    n = std::strtol(count.c_str(), &end, 10);
    if (count.empty() || *end != '\0' || n < 1)
      return flag + " " + spec + ": expected NAME or NAME#N with N >= 1";
  }
  if (name.empty() || name.find(':') == std::string::npos)
    return flag + " " + spec + ": expected a point such as claim:before-commit";
  return "";
}

}  // namespace

std::string arm(const std::string& spec) {
  if (spec.empty()) return "";
  std::string name;
  long n = 1;
  if (auto err = parse("--crash-at", spec, name, n); !err.empty()) return err;
  armed_ = name;
  left_ = n;
  on_ = true;
  return "";
}

std::string arm_failure(const std::string& spec) {
  if (spec.empty()) return "";
  std::string name;
  long n = 1;
  if (auto err = parse("--fail-at", spec, name, n); !err.empty()) return err;
  fail_armed_ = name;
  fail_left_ = n;
  fail_on_ = true;
  return "";
}

bool fails(std::string_view name) {
  if (!fail_on_.load(std::memory_order_relaxed) || name != fail_armed_) return false;
  return fail_left_.fetch_sub(1) == 1;
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
