// Integration: the engine's DAG semantics against a real PostgreSQL and a real `ctflow server`
// (issue 3, acceptance 2): dependency order, fan-out, failure propagation, retries, timeouts and
// cancellation (no process left behind).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <random>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;

namespace {

// A unique `sleep` argument, so the test can find its own processes in /proc.
std::string sleep_marker() {
  std::random_device rd;
  return std::to_string(300 + rd() % 600) + "." + std::to_string(1000 + rd() % 9000);
}

size_t index_of(const std::vector<std::string>& lines, const std::string& line) {
  auto it = std::find(lines.begin(), lines.end(), line);
  if (it == lines.end()) FAIL("no line \"" << line << "\"");
  return static_cast<size_t>(it - lines.begin());
}

// A task script that records its start and end in a shared log.
std::string logged_task(const std::string& name, const std::string& log,
                        const std::string& needs = "") {
  return "  - name: " + name + "\n" + (needs.empty() ? "" : "    needs: [" + needs + "]\n") +
         "    run: [sh, -c, 'echo \"start $1\" >> \"$2\"; sleep 0.1; echo \"end $1\" >> \"$2\"', "
         "x, " +
         name + ", \"" + log + "\"]\n";
}

}  // namespace

TEST_CASE("diamond DAG runs in dependency order", "[integration][engine]") {
  Harness h;
  std::string log = h.path("order.log");
  std::string spec = "name: diamond\ntasks:\n" + logged_task("a", log) +
                     logged_task("b", log, "a") + logged_task("c", log, "a") +
                     logged_task("d", log, "b, c");
  auto run = h.wait(h.submit(spec));
  CHECK(str(run, "state") == "succeeded");
  CHECK(task_states(run) ==
        std::map<std::string, std::string>{
            {"a", "succeeded"}, {"b", "succeeded"}, {"c", "succeeded"}, {"d", "succeeded"}});
  auto lines = read_lines(log);
  REQUIRE(lines.size() == 8);
  CHECK(index_of(lines, "end a") < index_of(lines, "start b"));
  CHECK(index_of(lines, "end a") < index_of(lines, "start c"));
  CHECK(index_of(lines, "end b") < index_of(lines, "start d"));
  CHECK(index_of(lines, "end c") < index_of(lines, "start d"));
  CHECK(h.db().count("SELECT count(*) FROM task_attempts") == 4);
}

TEST_CASE("fan-out of 200 tasks and a join", "[integration][engine]") {
  Harness h;
  std::string spec = "name: fan\ntasks:\n  - {name: root, run: [true]}\n";
  std::string all;
  for (int i = 0; i < 200; ++i) {
    std::string n = "t" + std::to_string(1000 + i).substr(1);
    spec += "  - {name: " + n + ", needs: [root], run: [sh, -c, 'echo " + n + " >> \"$1\"', x, \"" +
            h.path("fan.log") + "\"]}\n";
    all += (all.empty() ? "" : ", ") + n;
  }
  spec += "  - {name: join, needs: [" + all + "], run: [true]}\n";
  auto id = h.submit(spec);
  auto run = h.wait(id, 180s);
  REQUIRE(str(run, "state") == "succeeded");
  CHECK(str(run, "tasks_done") == "202");
  auto lines = read_lines(h.path("fan.log"));
  std::sort(lines.begin(), lines.end());
  CHECK(lines.size() == 200);
  CHECK(std::unique(lines.begin(), lines.end()) == lines.end());
  CHECK(h.db().count("SELECT count(*) FROM task_runs WHERE state = 'succeeded'") == 202);
  // One attempt each: nothing this server dispatched was taken for an orphan and fenced.
  CHECK(h.db().count("SELECT count(*) FROM task_attempts") == 202);
  // The join started only after every branch finished.
  CHECK(h.db().text("SELECT (SELECT started_at FROM task_runs WHERE name = 'join') >= "
                    "(SELECT max(finished_at) FROM task_runs WHERE name LIKE 't%')") == "t");
}

TEST_CASE("a failure marks descendants upstream_failed - independent branches still run",
          "[integration][engine]") {
  Harness h;
  std::string spec = R"(name: failing
tasks:
  - {name: a, run: [true]}
  - {name: b, needs: [a], run: [sh, -c, 'echo boom; exit 3']}
  - {name: c, needs: [b], run: [touch, ")" +
                     h.path("c") + R"("]}
  - {name: d, needs: [c], run: [touch, ")" +
                     h.path("d") + R"("]}
  - {name: e, needs: [a], run: [sh, -c, 'sleep 0.5; touch "$1"', e, ")" +
                     h.path("e") + R"("]}
  - {name: f, needs: [e], run: [touch, ")" +
                     h.path("f") + R"("]}
)";
  auto run = h.wait(h.submit(spec));
  CHECK(str(run, "state") == "failed");
  CHECK(task_states(run) == std::map<std::string, std::string>{{"a", "succeeded"},
                                                               {"b", "failed"},
                                                               {"c", "upstream_failed"},
                                                               {"d", "upstream_failed"},
                                                               {"e", "succeeded"},
                                                               {"f", "succeeded"}});
  CHECK(str(task_in(run, "b"), "exit_code") == "3");
  CHECK_FALSE(std::filesystem::exists(h.path("c")));
  CHECK_FALSE(std::filesystem::exists(h.path("d")));
  CHECK(std::filesystem::exists(h.path("e")));
  CHECK(std::filesystem::exists(h.path("f")));
  // Tasks that never ran have no attempts.
  CHECK(h.db().count("SELECT count(*) FROM task_attempts ta JOIN task_runs t ON t.id = "
                     "ta.task_run_id WHERE t.name IN ('c', 'd')") == 0);
}

TEST_CASE("retry then success records every attempt", "[integration][engine]") {
  Harness h;
  std::string spec = R"(name: flaky
tasks:
  - name: flaky
    retry: {limit: 3, backoff: 200ms, factor: 2}
    run: [sh, -c, 'echo "$CTFLOW_ATTEMPT" >> "$1"; [ "$CTFLOW_ATTEMPT" -ge 3 ]', x, ")" +
                     h.path("attempts.log") + R"("]
)";
  auto id = h.submit(spec);
  auto run = h.wait(id);
  CHECK(str(run, "state") == "succeeded");
  const auto& t = task_in(run, "flaky");
  CHECK(str(t, "state") == "succeeded");
  CHECK(str(t, "attempt") == "3");
  CHECK(read_lines(h.path("attempts.log")) == std::vector<std::string>{"1", "2", "3"});
  CHECK(h.db().text("SELECT string_agg(attempt || ':' || state, ',' ORDER BY attempt) FROM "
                    "task_attempts") == "1:failed,2:failed,3:succeeded");
  // Backoff: 200 ms before the second attempt, 400 ms before the third.
  auto gaps = h.db().column(
      "SELECT extract(epoch FROM b.started_at - a.finished_at) * 1000 FROM task_attempts a JOIN "
      "task_attempts b ON b.attempt = a.attempt + 1 ORDER BY a.attempt");
  REQUIRE(gaps.size() == 2);
  CHECK(std::stod(gaps[0]) >= 150);
  CHECK(std::stod(gaps[1]) >= 350);
  auto api = get_task(h.server(), id, "flaky");
  CHECK(api.at("attempts").as_array().size() == 3);
}

TEST_CASE("a task's view and the run view list each task's needs in spec order",
          "[integration][engine]") {
  // The single task's needs have their own statement (a generic plan of the shared one read
  // every edge of the run: 700 ms a request at 100,000 tasks). Asked more than five times, so
  // that PostgreSQL may switch a prepared statement to its generic plan.
  Harness h;
  auto id = h.submit(R"(name: diamond
tasks:
  - {name: a, run: ["true"]}
  - {name: b, needs: [a], run: ["true"]}
  - {name: c, needs: [a], run: ["true"]}
  - {name: d, needs: [c, b], run: ["true"]}
)");
  auto run = h.wait(id);
  REQUIRE(str(run, "state") == "succeeded");
  auto names = [](const json::value& v) {
    std::vector<std::string> out;
    for (const auto& n : v.as_array()) out.emplace_back(n.as_string());
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(names(task_in(run, "d").at("needs")) == V{"b", "c"});
  CHECK(names(task_in(run, "a").at("needs")).empty());
  for (int i = 0; i < 8; ++i) {
    CHECK(names(get_task(h.server(), id, "d").at("needs")) == V{"b", "c"});
    CHECK(names(get_task(h.server(), id, "b").at("needs")) == V{"a"});
    CHECK(names(get_task(h.server(), id, "a").at("needs")).empty());
  }
}

TEST_CASE("a timeout kills the task's whole process group", "[integration][engine]") {
  Harness h;
  std::string marker = sleep_marker();
  std::string spec = R"(name: slow
tasks:
  - name: slow
    timeout: 1s
    run: [sh, -c, 'sleep )" +
                     marker + R"( & echo $! > "$1/child.pid"; echo $$ > "$1/self.pid"; sleep )" +
                     marker + R"(', slow, ")" + h.dir().path() + R"("]
)";
  auto t0 = std::chrono::steady_clock::now();
  auto run = h.wait(h.submit(spec), 60s);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(str(run, "state") == "failed");
  const auto& t = task_in(run, "slow");
  CHECK(str(t, "state") == "failed");
  CHECK_THAT(str(t, "error"), Catch::Contains("timed out"));
  CHECK(took < 30);  // 1 s timeout + 1 s grace, not the 300+ s sleeps
  pid_t self = std::atoi(slurp(h.path("self.pid")).c_str());
  pid_t child = std::atoi(slurp(h.path("child.pid")).c_str());
  REQUIRE(self > 0);
  REQUIRE(child > 0);
  CHECK(poll_until([&] { return !process_alive(self) && !process_alive(child); }, 15s));
  CHECK(poll_until([&] { return find_processes("sleep " + marker).empty(); }, 15s));
}

TEST_CASE("cancelling a running run leaves no process behind", "[integration][engine]") {
  Harness h;
  std::string marker = sleep_marker();
  std::string spec = R"(name: cancel-me
tasks:
  - name: long
    run: [sh, -c, 'sleep )" +
                     marker +
                     R"( & echo $! > "$1/child.pid"; echo $$ > "$1/self.pid"; wait', long, ")" +
                     h.dir().path() + R"("]
  - {name: after, needs: [long], run: [touch, ")" +
                     h.path("after") + R"("]}
  - {name: other, run: [sh, -c, 'sleep )" +
                     marker + R"(']}
)";
  auto id = h.submit(spec);
  // Both long-running tasks have started (pid files written, sleeps visible).
  REQUIRE(poll_until(
      [&] {
        return !slurp(h.path("child.pid")).empty() && find_processes("sleep " + marker).size() >= 2;
      },
      60s));
  auto c = h.cli({"cancel", id});
  CHECK(c.rc == 0);
  auto run = h.wait(id, 60s);
  CHECK(str(run, "state") == "cancelled");
  CHECK(task_states(run) == std::map<std::string, std::string>{{"long", "cancelled"},
                                                               {"after", "cancelled"},
                                                               {"other", "cancelled"}});
  pid_t self = std::atoi(slurp(h.path("self.pid")).c_str());
  pid_t child = std::atoi(slurp(h.path("child.pid")).c_str());
  CHECK(poll_until([&] { return !process_alive(self) && !process_alive(child); }, 15s));
  CHECK(poll_until([&] { return find_processes("sleep " + marker).empty(); }, 15s));
  CHECK_FALSE(std::filesystem::exists(h.path("after")));
  // `ctflow wait` on a cancelled run exits 3.
  auto w = h.cli({"wait", id}, 30s);
  CHECK(w.rc == 3);
}
