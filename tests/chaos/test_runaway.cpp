// Chaos: tasks that do not play by the rules (issue 22). One that ignores SIGTERM, one that
// forks a daemon (setsid: out of its process group) and exits, one that never ends, one that
// writes 1 GiB of log. Cancel and timeouts end every process of the task, a task's leftovers end
// with it, and task.log is capped with one marker line. Checked with /proc: the processes are
// found by a needle in their command line (unique per test process and case).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "tests/integration/api_support.hpp"

using namespace ctflow::it;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

// "NNNN.C": a sleep argument no other test's process has (the pid keeps parallel tests apart).
std::string needle(int which) {
  return std::to_string(10000 + ::getpid() % 50000) + "." + std::to_string(which);
}

bool none_alive(const std::string& n) {
  return find_processes("sleep " + n).empty();
}

// The task.log of the only attempt of the server.
std::string only_log(const ServerProcess& s) {
  std::string found;
  for (const auto& e : fs::directory_iterator(s.data_dir() + "/attempts"))
    if (fs::exists(e.path() / "task.log") && e.path().filename().string()[0] != '.')
      found = (e.path() / "task.log").string();
  return found;
}

}  // namespace

TEST_CASE("cancel ends a task that ignores SIGTERM and the daemon it forked", "[chaos]") {
  Harness h;  // cancel grace 1 s
  std::string n1 = needle(1), n2 = needle(2), up = h.path("up");
  // Both sleeps inherit the ignored SIGTERM; the first leaves the group with setsid.
  std::string id = h.submit(
      "name: stubborn\ntasks:\n  - name: a\n    run: [sh, -c, 'trap \"\" TERM; "
      "setsid sleep " +
      n1 + " & sleep " + n2 + " & touch " + up + "; wait']\n");
  REQUIRE(poll_until([&] { return fs::exists(up) && !none_alive(n1) && !none_alive(n2); }, 30s));
  auto t0 = Clock::now();
  REQUIRE(h.cli({"cancel", id}).rc == 0);
  auto run = h.wait(id, 30s);
  CHECK(str(run, "state") == "cancelled");
  CHECK(str(task_in(run, "a"), "state") == "cancelled");
  // SIGTERM ignored: SIGKILL after the grace, to the group and then the daemon.
  CHECK(poll_until([&] { return none_alive(n1) && none_alive(n2); }, 10s));
  double took = std::chrono::duration<double>(Clock::now() - t0).count();
  INFO("cancel to no process left: " << took << " s");
  CHECK(took < 8.0);
}

TEST_CASE("a daemon forked by a task that exits is killed with its task", "[chaos]") {
  Harness h;
  std::string n = needle(3), pidfile = h.path("daemon.pid");
  // The daemon (setsid: a session and group of its own) writes its pid; the task then exits 0.
  std::string id = h.submit(
      "name: daemon\ntasks:\n  - name: a\n    run: [sh, -c, 'setsid sh -c \"echo \\$\\$ > " +
      pidfile + "; exec sleep " + n + "\" & while [ ! -s " + pidfile +
      " ]; do sleep 0.02; done; exit 0']\n");
  auto run = h.wait(id, 30s);
  CHECK(str(run, "state") == "succeeded");
  pid_t daemon = std::atoi(slurp(pidfile).c_str());
  REQUIRE(daemon > 0);
  CHECK(poll_until([&] { return !process_alive(daemon) && none_alive(n); }, 10s));
}

TEST_CASE("a task that never ends is ended by its timeout with all its processes", "[chaos]") {
  Harness h;
  std::string n1 = needle(4), n2 = needle(5);
  auto run = h.wait(h.submit("name: forever\ntasks:\n  - name: a\n    timeout: 1s\n"
                             "    retry: {limit: 0}\n    run: [sh, -c, 'trap \"\" TERM; setsid "
                             "sleep " +
                             n1 + " & sleep " + n2 + "; wait']\n"),
                    30s);
  CHECK(str(run, "state") == "failed");
  CHECK_THAT(str(task_in(run, "a"), "error"), Catch::Contains("timed out after 1s"));
  CHECK(poll_until([&] { return none_alive(n1) && none_alive(n2); }, 10s));
}

TEST_CASE("1 GiB of log is capped with one marker line - the task never blocks", "[chaos]") {
  ServerConfig cfg;
  cfg.extra_args = {"--task-log-limit-mib", "1"};
  Harness h(cfg);
  auto t0 = Clock::now();
  // 6 + 1 GiB (NUL bytes, no newline) + 5 bytes.
  auto run = h.wait(h.submit("name: chatty\ntasks:\n  - name: a\n    run: [sh, -c, 'echo first; "
                             "dd if=/dev/zero bs=1M count=1024 status=none; echo last']\n"),
                    120s);
  double took = std::chrono::duration<double>(Clock::now() - t0).count();
  INFO("1 GiB of output took " << took << " s");
  REQUIRE(str(run, "state") == "succeeded");
  std::string file = only_log(h.server());
  REQUIRE(!file.empty());
  const int64_t total = 6 + (int64_t{1} << 30) + 5, kept = 1 << 20;
  std::string marker =
      "\n[ctflow] log truncated at 1 MiB; " + std::to_string(total - kept) + " bytes dropped\n";
  CHECK(fs::file_size(file) == static_cast<uintmax_t>(kept) + marker.size());  // not 1 GiB
  std::string log = slurp(file);
  CHECK(log.rfind("first\n", 0) == 0);
  CHECK(log.substr(static_cast<size_t>(kept)) == marker);
  // The readers: `ctflow logs` (range reads), the followed stream (the dashboard's).
  auto plain = h.cli({"logs", str(run, "id"), "a"});
  CHECK(plain.rc == 0);
  CHECK(plain.out == log);
  auto followed = h.cli({"logs", "-f", str(run, "id"), "a"});
  CHECK(followed.rc == 0);
  CHECK(followed.out == log);
}

TEST_CASE("a log under the limit is kept whole - no marker", "[chaos]") {
  ServerConfig cfg;
  cfg.extra_args = {"--task-log-limit-mib", "1"};
  Harness h(cfg);
  // Exactly the limit: nothing dropped.
  auto run = h.wait(h.submit("name: quiet\ntasks:\n  - name: a\n    run: [sh, -c, 'head -c "
                             "1048576 /dev/zero']\n"),
                    60s);
  REQUIRE(str(run, "state") == "succeeded");
  std::string file = only_log(h.server());
  CHECK(fs::file_size(file) == 1048576u);
  CHECK(slurp(file).find("[ctflow]") == std::string::npos);
}
