// LocalExecutor's command resolution and code identity (cache keys): argv[0] found on the
// tasks' PATH like execvp, and the sha256 of that file, cached while its mtime and size hold.
#include <sys/stat.h>
#include <unistd.h>

#include "scheduler/common/sha256.hpp"
#include "scheduler/executor/local/local_executor.hpp"

namespace ctflow::exec {

std::string LocalExecutor::resolve(const std::string& cmd, const std::string& path) {
  auto ok = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (cmd.empty()) return "";
  if (cmd.find('/') != std::string::npos) return ok(cmd) ? cmd : "";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + cmd;
    if (ok(cand)) return cand;
    start = end + 1;
  }
  return "";
}

std::string LocalExecutor::code_digest(const std::string& program, const std::string& search_path,
                                       const Placement&) {
  std::string exe = resolve(program, search_path);
  struct stat st;
  if (exe.empty() || ::stat(exe.c_str(), &st) != 0) return "none";
  std::string stamp = std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
                      ":" + std::to_string(st.st_size);
  auto it = digests_.find(exe);
  if (it != digests_.end() && it->second.first == stamp) return it->second.second;
  std::string d = sha256_file(exe).value_or("unreadable");
  digests_[exe] = {stamp, d};
  return d;
}

}  // namespace ctflow::exec
