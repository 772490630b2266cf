#pragma once
// LocalExecutor::resolve, remembered for a second (the supervisor's PATH searches): a search is
// a stat and an access per folder tried (make bench-sched: an eighth of the supervisor's time).
// A command found is looked up again after that second, so one installed earlier in the PATH is
// used from then on; one not found is looked up every time. One thread only.
#include <chrono>
#include <string>
#include <unordered_map>
#include <utility>

#include "scheduler/executor/local/local_executor.hpp"

namespace ctflow::exec {

class ResolveCache {
 public:
  std::string resolve(const std::string& cmd, const std::string& path) {
    auto now = std::chrono::steady_clock::now();
    std::string key = cmd + '\n' + path;
    if (auto it = found_.find(key); it != found_.end() && now - it->second.second < kFor)
      return it->second.first;
    std::string exe = LocalExecutor::resolve(cmd, path);
    if (found_.size() > 1024) found_.clear();
    if (!exe.empty()) found_[key] = {exe, now};
    return exe;
  }
  void clear() { found_.clear(); }  // a start failed: what was found may be gone

 private:
  static constexpr std::chrono::seconds kFor{1};
  std::unordered_map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>>
      found_;
};

}  // namespace ctflow::exec
