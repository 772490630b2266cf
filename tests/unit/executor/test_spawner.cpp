// The supervisor's spawner threads: a start's result comes back through done(), the child set up
// as a task expects (log, folder, process group, signals), a failed start with its error.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/common/json_util.hpp"
#include "scheduler/executor/local/spawner.hpp"
#include "tests/unit/executor/temp_folder.hpp"

using namespace ctflow::exec;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<SpawnJob> job(const ctflow::test::TempFolder& t, const std::string& key,
                              std::vector<std::string> argv, const std::string& exe = "/bin/sh") {
  auto j = std::make_unique<SpawnJob>();
  j->key = key;
  j->dir = t.path(key);
  j->log = j->dir + "/task.log";
  j->work = j->dir + "/work";
  j->exe = exe;
  j->argv = std::move(argv);
  j->env = {"CTFLOW_TASK=" + key};
  fs::create_directories(j->work);
  return j;
}

// Waits (up to 10 s) until `n` jobs came back.
std::vector<std::unique_ptr<SpawnJob>> collect(Spawner& s, size_t n) {
  std::vector<std::unique_ptr<SpawnJob>> out;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < n && std::chrono::steady_clock::now() < until) {
    pollfd p{s.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) == 1)
      for (auto& j : s.done()) out.push_back(std::move(j));
  }
  return out;
}

int wait_exit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("spawner: children start in their folder, logging to task.log, in their own group",
          "[executor]") {
  ctflow::test::TempFolder t("ctflow-spawner");
  sigset_t reset;
  sigemptyset(&reset);
  sigaddset(&reset, SIGTERM);
  ::signal(SIGTERM, SIG_IGN);  // as the supervisor's ignored signals: default again in tasks
  Spawner s(2, reset);
  const int n = 8;
  for (int i = 0; i < n; ++i)
    s.submit(job(t, std::to_string(i) + "-1",
                 {"sh", "-c",
                  "echo \"$CTFLOW_TASK in $(pwd)\"; echo err >&2; "
                  "test \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$ || exit 4; "  // its own group
                  "kill -TERM $$; exit 3"}));
  auto done = collect(s, n);
  ::signal(SIGTERM, SIG_DFL);
  REQUIRE(done.size() == static_cast<size_t>(n));
  CHECK(s.done().empty());  // each job came back once
  for (auto& j : done) {
    INFO(j->key);
    REQUIRE(j->rc == 0);
    REQUIRE(j->pid > 0);
    // SIGTERM back at its default: the `kill -TERM $$` ends it, so its status is 128+15.
    CHECK(wait_exit(j->pid) == 128 + SIGTERM);
    auto log = ctflow::read_file(j->log).value_or("");
    CHECK(log == j->key + " in " + j->work + "\nerr\n");
  }
}

TEST_CASE("spawner: a start that fails comes back with its error", "[executor]") {
  ctflow::test::TempFolder t("ctflow-spawner");
  sigset_t reset;
  sigemptyset(&reset);
  Spawner s(2, reset);
  s.submit(job(t, "1-1", {"gone"}, t.path("no-such-program")));
  auto done = collect(s, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0]->rc == ENOENT);
  CHECK(s.done().empty());
}
