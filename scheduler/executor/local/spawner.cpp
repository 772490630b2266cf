#include "scheduler/executor/local/spawner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "scheduler/common/named_thread.hpp"

namespace ctflow::exec {

sigset_t ignored_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig < NSIG; ++sig) {  // glibc's internal signals fail: skipped
    struct sigaction sa {};
    if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN) sigaddset(&set, sig);
  }
  return set;
}

Spawner::Spawner(size_t threads, const sigset_t& reset)
    : reset_(reset), efd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  for (size_t i = 0; i < threads; ++i)
    threads_.push_back(named_thread("ctflow-spawn", [this] { loop(); }));
}

Spawner::~Spawner() {
  {
    MutexLock g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  if (efd_ >= 0) ::close(efd_);
}

void Spawner::submit(std::unique_ptr<SpawnJob> job) {
  {
    MutexLock g(mu_);
    todo_.push_back(std::move(job));
  }
  cv_.notify_one();
}

std::vector<std::unique_ptr<SpawnJob>> Spawner::done() {
  uint64_t n;
  (void)!::read(efd_, &n, sizeof n);
  MutexLock g(mu_);
  std::vector<std::unique_ptr<SpawnJob>> out = std::move(done_);
  done_.clear();
  return out;
}

void Spawner::loop() {
  mu_.lock();
  for (;;) {
    while (!stop_ && todo_.empty()) cv_.wait(mu_);
    if (todo_.empty()) break;  // stopping, and nothing left to start
    std::unique_ptr<SpawnJob> job = std::move(todo_.front());
    todo_.pop_front();
    mu_.unlock();
    job->rc = start(*job, reset_);
    mu_.lock();
    done_.push_back(std::move(job));
    uint64_t one = 1;
    (void)!::write(efd_, &one, sizeof one);
  }
  mu_.unlock();
}

int Spawner::start(SpawnJob& job, const sigset_t& reset) {
  std::vector<char*> av, ev;
  for (auto& s : job.argv) av.push_back(s.data());
  av.push_back(nullptr);
  for (auto& s : job.env) ev.push_back(s.data());
  ev.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  int pipe_fds[2] = {-1, -1};
  if (job.pipe_output) {
    // Both ends close-on-exec: no other task inherits them; the child's dup2 copies are not.
    job.log_fd = ::open(job.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (job.log_fd < 0 || ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      int err = errno;
      if (job.log_fd >= 0) ::close(job.log_fd);
      job.log_fd = -1;
      posix_spawn_file_actions_destroy(&fa);
      return err;
    }
    posix_spawn_file_actions_adddup2(&fa, pipe_fds[1], 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, job.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, job.work.c_str());
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &reset);
  posix_spawnattr_setpgroup(&at, 0);  // its own process group, so cancel kills the whole tree
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
  int rc = posix_spawn(&job.pid, job.exe.c_str(), &fa, &at, av.data(), ev.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (job.pipe_output) {
    ::close(pipe_fds[1]);  // the child's copies are its only write ends: EOF when they all close
    job.out = pipe_fds[0];
    if (rc != 0) {
      ::close(job.out);
      ::close(job.log_fd);
      job.out = job.log_fd = -1;
    }
  }
  return rc;
}

}  // namespace ctflow::exec
