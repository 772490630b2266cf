// exec-chain: the local executor alone, without the database. Runs N `true` processes one after
// another through LocalExecutor (supervisor, attempt folder, exit record, events) and, in the same
// process, N raw posix_spawn + waitpid of `true` as the floor. Prints both and the ratio.
//   exec-chain CTFLOW_BINARY WORK_DIR [N]
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

#include "scheduler/executor/local/local_executor.hpp"

extern char** environ;

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: exec-chain CTFLOW_BINARY WORK_DIR [N]\n");
    return 2;
  }
  int n = argc > 3 ? std::atoi(argv[3]) : 1000;
  std::string root = std::string(argv[2]) + "/attempts";
  auto ex = ctflow::exec::LocalExecutor::create(argv[1], root, "bench");
  if (!ex) {
    std::fprintf(stderr, "exec-chain: %s\n", ex.error().c_str());
    return 1;
  }
  auto& e = *ex.value();
  std::mutex mu;
  std::condition_variable cv;
  bool pending = false;
  e.set_wakeup([&](ctflow::exec::Wake w) {
    if (w == ctflow::exec::Wake::Started) return;
    std::lock_guard<std::mutex> g(mu);
    pending = true;
    cv.notify_one();
  });
  std::string path = ::getenv("PATH") ? ::getenv("PATH") : "/usr/bin:/bin";
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    ctflow::exec::SpawnRequest req;
    req.key = std::to_string(i + 1) + "-1";
    req.argv = {"true"};
    req.env = {"PATH=" + path, "CTFLOW_RUN_ID=1", "CTFLOW_TASK=t" + std::to_string(i)};
    e.start(req);
    bool exited = false;
    while (!exited) {
      std::unique_lock<std::mutex> lk(mu);
      cv.wait(lk, [&] { return pending; });
      pending = false;
      lk.unlock();
      for (const auto& ev : e.drain())
        if (ev.kind == ctflow::exec::ExecEvent::Kind::Exited) exited = true;
    }
  }
  double ex_s = std::chrono::duration<double>(Clock::now() - t0).count();
  e.shutdown();
  t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    pid_t pid = 0;
    char* av[] = {const_cast<char*>("true"), nullptr};
    if (posix_spawnp(&pid, "true", nullptr, nullptr, av, environ) != 0) return 1;
    int st = 0;
    ::waitpid(pid, &st, 0);
  }
  double raw_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("%d tasks: executor %.3f s (%.3f ms each), raw posix_spawn %.3f s, ratio %.2fx\n", n,
              ex_s, ex_s * 1e3 / n, raw_s, ex_s / raw_s);
  return 0;
}
