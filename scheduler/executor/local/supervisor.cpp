#include "scheduler/executor/local/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "scheduler/common/json_util.hpp"
#include "scheduler/executor/local/attempt_files.hpp"
#include "scheduler/executor/local/local_executor.hpp"

namespace ctflow::exec {

namespace {

struct Child {
  std::string key;
  int claim = -1;  // open until the exit line is written
};

class Supervisor {
 public:
  explicit Supervisor(int fd) : fd_(fd) {}

  int run() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    ::prctl(PR_SET_NAME, "ctflow-superv");
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    // The server's Ctrl-C must not kill running tasks' supervisor; it ends when its socket does.
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGPIPE, SIG_IGN);
    // Ignored signals stay ignored across exec: tasks get them back as default. Only those (not
    // all 64: posix_spawn's child makes one sigaction call per signal listed, while this
    // process waits for its exec).
    sigemptyset(&ignored_);
    for (int sig = 1; sig < NSIG; ++sig) {  // glibc's internal signals fail: skipped
      struct sigaction sa {};
      if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN)
        sigaddset(&ignored_, sig);
    }
    sfd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    std::vector<char> buf(1 << 20);
    while (server_alive_ || !children_.empty()) {
      pollfd p[2] = {{sfd_, POLLIN, 0}, {server_alive_ ? fd_ : -1, POLLIN, 0}};
      int n = ::poll(p, 2, -1);
      if (n < 0 && errno != EINTR) return 1;
      if (p[0].revents & POLLIN) reap();
      if (server_alive_ && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t len = ::recv(fd_, buf.data(), buf.size(), 0);
        if (len <= 0) {
          server_alive_ = false;
        } else {
          handle(std::string_view(buf.data(), static_cast<size_t>(len)));
        }
      }
    }
    return 0;
  }

 private:
  void send(const json::object& o) {
    if (!server_alive_) return;
    std::string s = json::serialize(o);
    if (::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) < 0) server_alive_ = false;
  }

  void handle(std::string_view msg) {
    json::error_code ec;
    auto v = json::parse(msg, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.get_object();
    std::string op = get_string(o, "op");
    if (op == "spawn") spawn(o);
    if (op == "prepare") prepare(o);
  }

  void fail(const std::string& key, int claim, const std::string& error) {
    ExitRecord e;
    e.error = error;
    write_exit(claim, e);
    ::close(claim);
    send({{"ev", "exited"}, {"key", key}, {"error", error}, {"at", format_iso8601(now_utc())}});
  }

  // Folders of attempts that may start soon, made while the current task runs: at its start only
  // the claim is a new inode (make bench-sched: five file creations per task, each 30-40 us on
  // ext4 and far more while the inodes of a deleted tree are fresh). A folder that exists
  // already is left alone.
  void prepare(const json::object& o) {
    const auto* dirs = o.if_contains("dirs");
    if (!dirs || !dirs->is_array()) return;
    for (const auto& d : dirs->get_array()) {
      if (!d.is_string()) continue;
      std::string dir(d.get_string());
      if (::mkdir(dir.c_str(), 0755) != 0) continue;
      ::mkdir((dir + "/work").c_str(), 0755);
      for (const char* f : {"/task.log", "/inputs.json"}) {
        int fd = ::open((dir + f).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) ::close(fd);
      }
    }
  }

  void spawn(const json::object& o) {
    std::string key = get_string(o, "key"), dir = get_string(o, "dir");
    // The folder is there (made by the server or prepared) unless the server lost a race with
    // a cancel's fence, which makes it too; a missing root is made here.
    std::error_code ec;
    bool made = ::mkdir(dir.c_str(), 0755) == 0;
    if (!made && errno == ENOENT) make_attempt_dir(dir, ec);
    int claim = open_claim(dir);
    if (claim < 0) {
      std::string error = errno == EEXIST ? "attempt was fenced by an adopter"
                                          : "cannot create " + dir + "/claim: " + strerror(errno);
      send({{"ev", "exited"}, {"key", key}, {"error", error}});
      return;
    }
    if (made) make_attempt_dir(dir, ec);  // its work/ too
    if (auto* f = o.if_contains("files"); f && f->is_object())
      for (const auto& [name, content] : f->get_object())
        if (!ec && !write_file(dir + "/" + std::string(name), std::string(content.as_string())))
          ec = std::error_code(errno, std::generic_category());
    if (ec) {
      fail(key, claim, "cannot create " + dir + ": " + ec.message());
      return;
    }
    std::vector<std::string> argv, env;
    if (auto* a = o.if_contains("argv"))
      for (const auto& s : a->as_array()) argv.emplace_back(s.as_string());
    if (auto* e = o.if_contains("env"))
      for (const auto& s : e->as_array()) env.emplace_back(s.as_string());
    std::string exe = argv.empty() ? "" : LocalExecutor::resolve(argv[0], get_string(o, "path"));
    if (exe.empty()) {
      fail(key, claim, "command not found: " + (argv.empty() ? std::string() : argv[0]));
      return;
    }
    std::vector<char*> av, ev;
    for (auto& s : argv) av.push_back(s.data());
    av.push_back(nullptr);
    for (auto& s : env) ev.push_back(s.data());
    ev.push_back(nullptr);

    std::string log = dir + "/task.log", work = dir + "/work";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addchdir_np(&fa, work.c_str());
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &ignored_);
    posix_spawnattr_setpgroup(&at, 0);  // its own process group, so cancel kills the whole tree
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, exe.c_str(), &fa, &at, av.data(), ev.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
      fail(key, claim,
           std::string(rc == ENOENT ? "command not found: " : "cannot start ") + argv[0] +
               (rc == ENOENT ? "" : ": " + std::string(strerror(rc))));
      return;
    }
    auto now = now_utc();
    write_pid(claim, {pid, now});
    children_[pid] = {key, claim};
    send({{"ev", "started"}, {"key", key}, {"pid", pid}, {"at", format_iso8601(now)}});
  }

  void reap() {
    signalfd_siginfo si;
    while (::read(sfd_, &si, sizeof si) == sizeof si) {
    }
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = children_.find(pid);
      if (it == children_.end()) continue;  // an orphaned grandchild: reaped, nothing to record
      ExitRecord e;
      json::object msg{{"ev", "exited"}, {"key", it->second.key}, {"pid", pid}};
      if (WIFEXITED(status)) {
        e.exit_code = WEXITSTATUS(status);
        msg["exit_code"] = *e.exit_code;
      } else if (WIFSIGNALED(status)) {
        e.signal = WTERMSIG(status);
        msg["signal"] = *e.signal;
      }
      write_exit(it->second.claim, e);
      ::close(it->second.claim);
      msg["at"] = format_iso8601(now_utc());
      send(msg);
      children_.erase(it);
    }
  }

  int fd_;
  int sfd_ = -1;
  sigset_t ignored_;  // signals this process ignores: reset to default in tasks
  bool server_alive_ = true;
  std::map<pid_t, Child> children_;
};

}  // namespace

int supervisor_main(int fd) {
  return Supervisor(fd).run();
}

}  // namespace ctflow::exec
