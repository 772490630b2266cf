#include "scheduler/executor/local/local_executor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/common/named_thread.hpp"
#include "scheduler/executor/local/attempt_files.hpp"

extern char** environ;

namespace ctflow::exec {

// The supervisor reports through its exit records' text (it is a separate process): the
// reasons it writes, as the engine's Failure.
Failure local_failure(const std::string& error) {
  if (error.rfind("command not found", 0) == 0) return Failure::NotFound;
  if (error == "attempt was fenced by an adopter") return Failure::Fenced;
  if (error == "cancelled before start") return Failure::CancelledBeforeStart;
  if (error.rfind("lost", 0) == 0) return Failure::Lost;
  return Failure::SpawnFailed;
}

namespace fs = std::filesystem;

Result<std::unique_ptr<LocalExecutor>> LocalExecutor::create(const std::string& self_exe,
                                                             const std::string& root,
                                                             const std::string& host,
                                                             size_t spare_folders,
                                                             int64_t log_limit) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Error{"attempts folder " + root + ": " + ec.message()};
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return Error{std::string("socketpair: ") + strerror(errno)};
  // The child's end must survive exec: dup it without CLOEXEC.
  int child_fd = ::fcntl(sv[1], F_DUPFD, 10);
  ::close(sv[1]);
  std::string fd_arg = std::to_string(child_fd), spares_arg = std::to_string(spare_folders),
              limit_arg = std::to_string(log_limit);
  std::vector<char*> argv{const_cast<char*>(self_exe.c_str()),
                          const_cast<char*>("__supervise"),
                          fd_arg.data(),
                          const_cast<char*>(root.c_str()),
                          spares_arg.data(),
                          limit_arg.data(),
                          nullptr};
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  // Own process group: a Ctrl-C for the server's terminal must not reach the supervisor.
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, self_exe.c_str(), nullptr, &at, argv.data(), environ);
  posix_spawnattr_destroy(&at);
  ::close(child_fd);
  if (rc != 0) {
    ::close(sv[0]);
    return Error{"cannot start the supervisor: " + std::string(strerror(rc))};
  }
  return std::unique_ptr<LocalExecutor>(new LocalExecutor(root, host, sv[0], pid, spare_folders));
}

LocalExecutor::LocalExecutor(std::string root, std::string host, int fd, pid_t supervisor,
                             size_t spares)
    : root_(std::move(root)),
      host_(std::move(host)),
      fd_(fd),
      supervisor_(supervisor),
      spares_(root_, spares) {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) wake_pipe_[0] = wake_pipe_[1] = -1;
  reader_ = named_thread("ctflow-reader", [this] { reader_loop(); });
  watcher_ = named_thread("ctflow-watcher", [this] { watcher_loop(); });
}

LocalExecutor::~LocalExecutor() {
  shutdown();
}

void LocalExecutor::shutdown() {
  {
    MutexLock g(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  ::shutdown(fd_, SHUT_RDWR);  // the supervisor finishes its running tasks, then exits
  if (wake_pipe_[1] >= 0) (void)!::write(wake_pipe_[1], "x", 1);
  if (reader_.joinable()) reader_.join();
  if (watcher_.joinable()) watcher_.join();
  ::close(fd_);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  // Reap the supervisor if it already ended; otherwise it lives on until its tasks end.
  ::waitpid(supervisor_, nullptr, WNOHANG);
}

void LocalExecutor::start(const SpawnRequest& req) {
  std::string dir = attempt_dir(req.key);
  // A spare folder renamed into place: nothing was there, so nothing started early (a folder
  // that exists makes the rename fail, and is looked at below).
  bool fresh = !prepared_.count(req.key) && !early_elsewhere_.count(req.key) && spares_.take(dir);
  if (!fresh && exists(dir + "/claim")) return resume(req.key, dir);  // started early, here
  if (auto it = early_elsewhere_.find(req.key); it != early_elsewhere_.end()) {
    std::string there = it->second;
    early_elsewhere_.erase(it);
    // Fence it there; if its claim exists, that server's supervisor started it: take it over.
    if (int fd = open_claim(there); fd >= 0) {
      write_exit(fd, {std::nullopt, std::nullopt, "superseded: started by the task's new owner"});
      ::close(fd);
    } else if (errno == EEXIST) {
      std::error_code lec;
      fs::create_directory_symlink(there, dir, lec);  // so that its executor_ref finds it
      // Its own children started before their dispatch (armed on it, fired by that server's
      // supervisor before the server died) are taken over the same way.
      for (auto& [k, d] : read_next(there)) early_elsewhere_[k] = d;
      return resume(req.key, lec ? there : dir);
    }
  }
  // A folder prepared (a chain's next step): the supervisor writes the files, creating only the
  // claim, and the engine's thread returns at once. Otherwise this thread makes the folder and
  // writes them, while the supervisor spawns the tasks sent before (a fan-out's batch: with one
  // process doing both, the spawns waited for the file system). Files too big for one message
  // are always written here.
  bool inline_files = prepared_.erase(req.key) > 0 && files_fit(req);
  std::error_code ec;
  if (!inline_files) {
    if (!fresh) make_attempt_dir(dir, ec);
    for (const auto& [name, content] : req.files)
      if (!ec && !write_attempt_file(dir + "/" + name, content))
        ec = std::error_code(errno, std::generic_category());
  }
  std::string s = json::serialize(spawn_message(req, inline_files));
  if (ec || ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) < 0) {
    ExecEvent ev;
    ev.key = req.key;
    ev.error = ec ? "cannot create " + dir + ": " + ec.message() : "supervisor is gone";
    ev.at = now_utc();
    push(std::move(ev));
  }
}

json::object LocalExecutor::spawn_message(const SpawnRequest& req, bool inline_files) const {
  json::array argv, env;
  json::object files;
  std::string path;
  for (const auto& a : req.argv) argv.emplace_back(a);
  for (const auto& e : req.env) {
    env.emplace_back(e);
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  if (inline_files)
    for (const auto& [name, content] : req.files) files[name] = content;
  return {{"op", "spawn"},
          {"key", req.key},
          {"dir", attempt_dir(req.key)},
          {"made", !inline_files},  // by start(); otherwise the supervisor makes or takes it
          {"path", path},
          {"argv", std::move(argv)},
          {"env", std::move(env)},
          {"files", std::move(files)}};
}

bool LocalExecutor::files_fit(const SpawnRequest& req) {
  size_t bytes = 0;
  for (const auto& f : req.files) bytes += f.second.size();
  return bytes <= kInlineFileBytes;
}

bool LocalExecutor::arm(const std::string& parent_key, const SpawnRequest& child) {
  if (!files_fit(child)) return false;
  // A claim there already: someone else's attempt (as in note_early_start).
  if (exists(attempt_dir(child.key) + "/claim")) return false;
  json::object msg{{"op", "arm"}, {"after", parent_key}, {"spawn", spawn_message(child, true)}};
  std::string s = json::serialize(msg);
  return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) >= 0;
}

void LocalExecutor::disarm(const std::string& parent_key) {
  std::string s = json::serialize(json::object{{"op", "disarm"}, {"after", parent_key}});
  (void)::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);  // gone: so is everything armed
}

void LocalExecutor::limit(int n) {
  std::string s = json::serialize(json::object{{"op", "limit"}, {"n", n}});
  (void)::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
}

void LocalExecutor::cancel(const std::string& key, std::chrono::milliseconds grace) {
  // Before any signal: the supervisor reads its messages before it reaps, so a task that ends
  // well despite the signal starts nothing armed on it.
  disarm(key);
  std::string dir = attempt_dir(key);
  int pid = 0;
  {
    MutexLock g(mu_);
    if (auto it = pids_.find(key); it != pids_.end()) pid = it->second;
  }
  if (!pid) {
    if (auto p = read_pid(dir)) pid = p->pid;
  }
  if (!pid) {
    // Not started yet: fence it so that the supervisor never starts it.
    ExitRecord e;
    e.error = "cancelled before start";
    ::mkdir(dir.c_str(), 0755);  // the supervisor may not have made it yet
    if (create_claim(dir, e)) {
      ExecEvent ev;
      ev.key = key;
      ev.error = e.error;
      ev.at = now_utc();
      push(std::move(ev));
      return;
    }
  }
  MutexLock g(mu_);
  if (!pid) {  // the supervisor claimed it and is starting it
    auto it = pids_.find(key);
    if (it == pids_.end()) {
      pending_cancels_[key] = grace;  // killed when its start is reported (push)
      return;
    }
    pid = it->second;  // reported in the meantime
  }
  kill_locked(pid, key, grace);
}

void LocalExecutor::kill_locked(int pid, const std::string& key, std::chrono::milliseconds grace) {
  ::killpg(pid, SIGTERM);
  kill_timers_[std::chrono::steady_clock::now() + grace] = {pid, key};
  if (wake_pipe_[1] >= 0) (void)!::write(wake_pipe_[1], "x", 1);
}

std::string LocalExecutor::key_of_dir(const std::string& dir) const {
  auto slash = dir.find_last_of('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

bool LocalExecutor::note_early_start(const std::string& parent_key, const std::string& child_key) {
  // An attempt folder with a claim already is someone else's (an attempt this engine does not
  // know of): never started early, never killed as one that the statement did not dispatch.
  if (exists(attempt_dir(child_key) + "/claim")) return false;
  return write_next(attempt_dir(parent_key), child_key, attempt_dir(child_key));
}

void LocalExecutor::prepare(const std::vector<std::string>& keys) {
  json::array dirs;
  if (prepared_.size() > 10'000) prepared_.clear();  // hints never followed by a start
  for (const auto& k : keys) {
    dirs.emplace_back(attempt_dir(k));
    prepared_.insert(k);
  }
  if (dirs.empty()) return;
  std::string s = json::serialize(json::object{{"op", "prepare"}, {"dirs", std::move(dirs)}});
  (void)::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);  // a hint: nothing to do if it is lost
}

std::vector<ExecEvent> LocalExecutor::drain() {
  MutexLock g(mu_);
  std::vector<ExecEvent> out;
  out.swap(events_);
  return out;
}

void LocalExecutor::set_wakeup(std::function<void(Wake)> fn) {
  MutexLock g(mu_);
  wakeup_ = std::move(fn);
}

void LocalExecutor::push(ExecEvent ev) {
  if (ev.failure == Failure::None && !ev.error.empty()) ev.failure = local_failure(ev.error);
  if (log::trace_pass())
    log::info("exec: {} {}", ev.kind == ExecEvent::Kind::Started ? "started" : "exited", ev.key);
  std::function<void(Wake)> wake;
  Wake what = ev.kind == ExecEvent::Kind::Started ? Wake::Started
              : ev.fired.empty()                  ? Wake::Exited
                                                  : Wake::Fired;
  {
    MutexLock g(mu_);
    auto pending = pending_cancels_.find(ev.key);
    if (ev.kind == ExecEvent::Kind::Started) {
      pids_[ev.key] = ev.pid;
      if (pending != pending_cancels_.end() && ev.pid > 0)
        kill_locked(ev.pid, ev.key, pending->second);
    } else {
      pids_.erase(ev.key);
    }
    if (pending != pending_cancels_.end()) pending_cancels_.erase(pending);
    events_.push_back(std::move(ev));
    wake = wakeup_;
  }
  if (wake) wake(what);
}

void LocalExecutor::reader_loop() {
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    json::error_code ec;
    auto v = json::parse(std::string_view(buf.data(), static_cast<size_t>(n)), ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.get_object();
    ExecEvent ev;
    ev.key = get_string(o, "key");
    ev.pid = static_cast<int>(get_int(o, "pid"));
    ev.at = parse_iso8601(get_string(o, "at")).value_or(now_utc());
    if (get_string(o, "ev") == "started") {
      ev.kind = ExecEvent::Kind::Started;
    } else {
      // Its start comes with its exit when it ended before the supervisor announced it.
      if (auto s = parse_iso8601(get_string(o, "started_at")); s && ev.pid > 0) {
        ExecEvent st;
        st.kind = ExecEvent::Kind::Started;
        st.key = ev.key;
        st.pid = ev.pid;
        st.at = *s;
        push(std::move(st));
      }
      if (o.contains("exit_code")) ev.exit_code = static_cast<int>(get_int(o, "exit_code"));
      if (o.contains("signal")) ev.signal = static_cast<int>(get_int(o, "signal"));
      ev.error = get_string(o, "error");
      if (auto* f = o.if_contains("fired"); f && f->is_array())
        for (const auto& k : f->get_array())
          if (k.is_string()) ev.fired.emplace_back(k.get_string());
    }
    push(std::move(ev));
  }
  bool stopping;
  {
    MutexLock g(mu_);
    stopping = stopping_;
  }
  if (!stopping) log::error("supervisor connection closed unexpectedly");
}

}  // namespace ctflow::exec
