// leftovers.hpp: whose a process is (its CTFLOW_ATTEMPT_KEY), the orphans a subreaper gets, and
// process trees killed whole. Real processes: sh and sleep.
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/executor/local/leftovers.hpp"

using namespace ctflow::exec;

namespace {

pid_t spawn_sh(const std::string& script, const std::string& key) {
  std::string env_key = std::string(kAttemptKeyEnv) + "=" + key, path = "PATH=/usr/bin:/bin";
  std::vector<char*> argv{const_cast<char*>("sh"), const_cast<char*>("-c"),
                          const_cast<char*>(script.c_str()), nullptr};
  std::vector<char*> env{env_key.data(), path.data(), nullptr};
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), env.data()) == 0);
  return pid;
}

template <class Pred>
bool within(std::chrono::milliseconds limit, Pred pred) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

TEST_CASE("leftovers: a process tree is found and killed whole - its key read from its environment",
          "[executor]") {
  pid_t sh = spawn_sh("sleep 30 & sleep 31 & wait", "7-1");
  CHECK(within(std::chrono::seconds(10), [&] { return process_tree(sh).size() == 3; }));
  CHECK(attempt_key_of(sh) == "7-1");
  auto tree = process_tree(sh);
  for (pid_t p : tree) CHECK(attempt_key_of(p) == "7-1");  // inherited
  CHECK(kill_tree(sh) == 3);
  int status = 0;
  REQUIRE(::waitpid(sh, &status, 0) == sh);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(attempt_key_of(sh).empty());  // gone
}

TEST_CASE("leftovers: a daemon that left its group is an orphan of the subreaper - with its key",
          "[executor]") {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t sh = spawn_sh("setsid sleep 32 & exit 0", "8-2");
  int status = 0;
  REQUIRE(::waitpid(sh, &status, 0) == sh);
  pid_t orphan = 0;
  CHECK(within(std::chrono::seconds(10), [&] {
    for (pid_t p : orphan_candidates())
      if (attempt_key_of(p) == "8-2") orphan = p;
    return orphan > 0;
  }));
  REQUIRE(orphan > 0);
  // It leaves: a session (and group) of its own, once setsid(1) ran (sh may exit before).
  CHECK(within(std::chrono::seconds(10), [&] { return ::getsid(orphan) == orphan; }));
  CHECK(kill_tree(orphan) == 1);
  REQUIRE(::waitpid(orphan, &status, 0) == orphan);  // ours to reap
  CHECK(WTERMSIG(status) == SIGKILL);
  auto left = orphan_candidates();
  CHECK(std::find(left.begin(), left.end(), orphan) == left.end());
}
