#include "scheduler/executor/local/leftovers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace ctflow::exec {

namespace {

// A whole small /proc file ("" when it cannot be read); at most `max` bytes.
std::string read_proc(const std::string& path, size_t max = 1 << 20) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[8192];
  ssize_t n;
  while (out.size() < max && (n = ::read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

void parse_pids(const std::string& text, std::vector<pid_t>& out) {
  const char* p = text.c_str();
  char* end;
  for (long v; (v = std::strtol(p, &end, 10)), end != p; p = end)
    out.push_back(static_cast<pid_t>(v));
}

// The children of every thread of `pid`.
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(task.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') parse_pids(read_proc(task + "/" + e->d_name + "/children"), out);
  ::closedir(d);
  return out;
}

// Without /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN): the processes whose parent is `pid`.
std::vector<pid_t> children_by_scan(pid_t pid) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::string stat = read_proc(std::string("/proc/") + e->d_name + "/stat", 4096);
    auto close = stat.rfind(')');  // the name may hold spaces and parentheses
    if (close == std::string::npos || close + 4 >= stat.size()) continue;
    if (std::atoi(stat.c_str() + close + 4) == pid) out.push_back(std::atoi(e->d_name));
  }
  ::closedir(d);
  return out;
}

bool have_children_files() {
  static const bool have =
      ::access(("/proc/self/task/" + std::to_string(::getpid()) + "/children").c_str(), R_OK) == 0;
  return have;
}

}  // namespace

std::vector<pid_t> orphan_candidates() {
  pid_t self = ::getpid();
  std::vector<pid_t> out;
  if (!have_children_files()) return children_by_scan(self);
  parse_pids(read_proc("/proc/self/task/" + std::to_string(self) + "/children"), out);
  return out;
}

std::string attempt_key_of(pid_t pid) {
  std::string env = read_proc("/proc/" + std::to_string(pid) + "/environ");
  std::string prefix = std::string(kAttemptKeyEnv) + "=";
  for (size_t at = 0; at < env.size();) {
    size_t end = env.find('\0', at);
    if (end == std::string::npos) end = env.size();
    std::string_view entry(env.data() + at, end - at);
    if (entry.substr(0, prefix.size()) == prefix) return std::string(entry.substr(prefix.size()));
    at = end + 1;
  }
  return "";
}

std::vector<pid_t> process_tree(pid_t pid) {
  std::vector<pid_t> out{pid};
  for (size_t i = 0; i < out.size() && out.size() < 100'000; ++i) {
    auto kids = have_children_files() ? children_of(out[i]) : children_by_scan(out[i]);
    out.insert(out.end(), kids.begin(), kids.end());
  }
  return out;
}

size_t kill_tree(pid_t pid) {
  // Stopped first, so that none forks a child the list missed while the others are killed.
  auto tree = process_tree(pid);
  for (pid_t p : tree) ::kill(p, SIGSTOP);
  tree = process_tree(pid);
  size_t n = 0;
  for (pid_t p : tree) n += ::kill(p, SIGKILL) == 0;
  return n;
}

}  // namespace ctflow::exec
