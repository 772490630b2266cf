// LocalExecutor's adoption: attempts started by another (possibly dead) server, or started
// early here, are found by their folders (claim, pid, exit record) and watched with inotify
// until their exit record appears; the watcher thread also fires the SIGKILL timers of cancels.
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "scheduler/executor/local/attempt_files.hpp"
#include "scheduler/executor/local/local_executor.hpp"

namespace ctflow::exec {

void LocalExecutor::resume(const std::string& key, const std::string& dir) {
  if (auto p = read_pid(dir)) {  // when it started, for the task's record
    ExecEvent ev;
    ev.kind = ExecEvent::Kind::Started;
    ev.key = key;
    ev.pid = p->pid;
    ev.at = p->started_at;
    push(std::move(ev));
  }
  auto st = adopt_dir(key, dir);
  if (st == AdoptState::Finished || st == AdoptState::Running) return;
  ExecEvent ev;
  ev.key = key;
  ev.error = kLostError;
  ev.at = now_utc();
  push(std::move(ev));
}

AdoptState LocalExecutor::adopt(const std::string& ref) {
  // ref = local:<host>:<dir>
  if (ref.rfind("local:", 0) != 0) return AdoptState::Lost;
  auto colon = ref.find(':', 6);
  if (colon == std::string::npos) return AdoptState::Lost;
  std::string host = ref.substr(6, colon - 6), dir = ref.substr(colon + 1);
  if (host != host_) return AdoptState::Lost;  // another machine's process: nothing to read here
  std::string key = key_of_dir(dir);
  // Children its server started before committing their dispatch, in its folder (in this
  // one, start() finds them by their claim).
  if (dir.rfind(root_ + "/", 0) != 0)
    for (auto& [k, d] : read_next(dir)) early_elsewhere_[k] = d;
  return adopt_dir(key, dir);
}

AdoptState LocalExecutor::adopt_dir(const std::string& key, const std::string& dir) {
  auto finished = [&](const ExitRecord& e) {
    ExecEvent ev;
    ev.key = key;
    ev.exit_code = e.exit_code;
    ev.signal = e.signal;
    ev.error = e.error;
    ev.at = now_utc();
    push(std::move(ev));
    return AdoptState::Finished;
  };
  if (auto e = read_exit(dir)) return finished(*e);
  if (!exists(dir + "/claim")) {
    ::mkdir(dir.c_str(), 0755);
    if (create_claim(dir)) return AdoptState::NotStarted;
  }
  // Watch first, then re-check, so an exit written in between is not missed.
  int wd = inotify_add_watch(inotify_fd_, dir.c_str(), IN_CLOSE_WRITE);
  if (wd >= 0) {
    MutexLock g(mu_);
    watches_[wd] = dir;
  }
  if (auto e = read_exit(dir)) return finished(*e);
  auto p = read_pid(dir);
  if (p && (::kill(p->pid, 0) == 0 || errno == EPERM)) {
    MutexLock g(mu_);
    pids_[key] = p->pid;
    return AdoptState::Running;
  }
  if (!p) return AdoptState::Running;  // claimed, pid not yet written: the watch will tell
  // The process is gone and no exit was recorded: its supervisor died with it.
  if (auto e = read_exit(dir)) return finished(*e);
  return AdoptState::Lost;
}

void LocalExecutor::watcher_loop() {
  std::vector<char> buf(1 << 14);
  for (;;) {
    int timeout = -1;
    {
      MutexLock g(mu_);
      if (stopping_) return;
      auto now = std::chrono::steady_clock::now();
      while (!kill_timers_.empty() && kill_timers_.begin()->first <= now) {
        ::killpg(kill_timers_.begin()->second.first, SIGKILL);
        kill_timers_.erase(kill_timers_.begin());
      }
      if (!kill_timers_.empty())
        timeout = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       kill_timers_.begin()->first - now)
                                       .count()) +
                  1;
    }
    pollfd p[2] = {{inotify_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int n = ::poll(p, 2, timeout);
    if (n <= 0) continue;
    if (p[1].revents & POLLIN) {
      char c[64];
      while (::read(wake_pipe_[0], c, sizeof c) > 0) {
      }
    }
    if (p[0].revents & POLLIN) {
      ssize_t len;
      while ((len = ::read(inotify_fd_, buf.data(), buf.size())) > 0) {
        for (char* q = buf.data(); q < buf.data() + len;) {
          auto* e = reinterpret_cast<inotify_event*>(q);
          q += sizeof(inotify_event) + e->len;
          if (e->len == 0 || std::strcmp(e->name, "claim") != 0) continue;
          std::string dir;
          {
            MutexLock g(mu_);
            auto it = watches_.find(e->wd);
            if (it == watches_.end()) continue;
            dir = it->second;
          }
          if (auto rec = read_exit(dir)) {  // else the claim was closed before the exit line
            {
              MutexLock g(mu_);
              watches_.erase(e->wd);
            }
            inotify_rm_watch(inotify_fd_, e->wd);
            ExecEvent ev;
            ev.key = key_of_dir(dir);
            ev.exit_code = rec->exit_code;
            ev.signal = rec->signal;
            ev.error = rec->error;
            ev.at = now_utc();
            push(std::move(ev));
          }
        }
      }
    }
  }
}

}  // namespace ctflow::exec
