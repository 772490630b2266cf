#pragma once
// Spawner: threads of the supervisor that start its tasks, so that a start does not hold up the
// next one. posix_spawn returns only once the child has called exec (vfork semantics), and on a
// loaded machine the child waits for a core first: with the tasks of a fan-out running, a start
// took 0.2 ms alone and 0.85 ms in the median (make bench-sched), so one thread could start at
// most ~1200 tasks a second however many cores were free, and reaped only between starts. Each
// thread here waits for one child's exec; the supervisor's loop keeps reading messages and
// reaping meanwhile, and learns each start from done() (fd() becomes readable).
//
// A job carries everything its start needs (the executable already resolved, the claim already
// open); the thread only calls posix_spawn: the child gets /dev/null as stdin, `log` as stdout
// and stderr (or, with `pipe_output`, a pipe whose read end comes back in `out`, `log` opened
// for the supervisor to copy it into in `log_fd`: log_pump.hpp), `work` as its folder, a process
// group of its own, no blocked signals, and the signals in `reset` back at their default.
#include <signal.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/common/mutex.hpp"
namespace ctflow::exec {

// The signals this process ignores. Ignored signals stay ignored across exec, so tasks get these
// back as default (Spawner's `reset`). Only those, not all 64: posix_spawn's child makes one
// sigaction call per signal listed, while the parent waits for its exec.
sigset_t ignored_signals();

struct SpawnJob {
  std::string key, dir, exe, log, work;
  int claim = -1;
  std::vector<std::string> argv, env;
  bool pipe_output = false;
  pid_t pid = 0;  // results: the child's pid, or posix_spawn's error in rc
  int rc = 0;
  int out = -1, log_fd = -1;  // with pipe_output, once started: owned by the caller
};

class Spawner {
 public:
  Spawner(size_t threads, const sigset_t& reset);
  ~Spawner();  // joins the threads after the jobs already submitted
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  void submit(std::unique_ptr<SpawnJob> job);
  // Started (or failed) jobs, in the order they ended; fd() is readable while there are any.
  std::vector<std::unique_ptr<SpawnJob>> done();
  int fd() const { return efd_; }

  static int start(SpawnJob& job, const sigset_t& reset);  // posix_spawn's result

 private:
  void loop();

  const sigset_t reset_;
  int efd_ = -1;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::unique_ptr<SpawnJob>> todo_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<SpawnJob>> done_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace ctflow::exec
