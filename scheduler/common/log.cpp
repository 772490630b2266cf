#include "scheduler/common/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "scheduler/common/time_util.hpp"

namespace ctflow::log {

static std::atomic<int> g_level{static_cast<int>(Level::Info)};
static std::mutex g_mu;

void set_level(Level l) {
  g_level = static_cast<int>(l);
}
bool enabled(Level l) {
  return static_cast<int>(l) >= g_level.load();
}

void write(Level l, const std::string& msg) {
  static const char* kNames[] = {"debug", "info", "warn", "error"};
  std::string line =
      format_iso8601(now_utc()) + " " + kNames[static_cast<int>(l)] + " " + msg + "\n";
  std::lock_guard<std::mutex> g(g_mu);
  std::fputs(line.c_str(), stderr);
}

void print_line(const std::string& line) {
  std::string s = line + "\n";
  std::lock_guard<std::mutex> g(g_mu);
  std::fputs(s.c_str(), stderr);
}

bool trace_pass() {
  static const bool on = std::getenv("CTFLOW_TRACE_PASS") != nullptr;
  return on;
}

}  // namespace ctflow::log
