// Integration: limits the engine enforces through a real server and PostgreSQL (issue 3, engine
// section): a per-run timeout, a pipeline's `concurrency`, retries that run out, and cancelling
// a run that is still queued.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;

TEST_CASE("run_timeout ends the run failed and kills its tasks", "[integration][engine]") {
  Harness h;
  std::random_device rd;
  std::string marker = std::to_string(400 + rd() % 500) + "." + std::to_string(1000 + rd() % 9000);
  std::string spec = R"(name: run-timeout
run_timeout: 1s
tasks:
  - {name: long, run: [sh, -c, 'sleep )" +
                     marker +
                     R"(']}
  - {name: after, needs: [long], run: [touch, ")" +
                     h.path("after") + R"("]}
)";
  auto t0 = std::chrono::steady_clock::now();
  auto id = h.submit(spec);
  REQUIRE(poll_until([&] { return !find_processes("sleep " + marker).empty(); }, 30s));
  auto run = h.wait(id, 60s);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(str(run, "state") == "failed");
  CHECK_THAT(str(run, "error"), Catch::Contains("timed out"));
  CHECK(took < 30);
  CHECK(str(task_in(run, "long"), "state") != "succeeded");
  CHECK(str(task_in(run, "after"), "state") != "succeeded");
  CHECK_FALSE(std::filesystem::exists(h.path("after")));
  CHECK(poll_until([&] { return find_processes("sleep " + marker).empty(); }, 15s));
}

TEST_CASE("pipeline concurrency 1 queues the second run until the first ends",
          "[integration][engine]") {
  Harness h;
  std::string spec = R"(name: one-at-a-time
concurrency: 1
tasks:
  - name: work
    run: [sh, -c, 'echo "$1 start" >> "$2"; while [ ! -e "$3" ]; do sleep 0.05; done; echo "$1 end" >> "$2"',
          x, "{{run.id}}", ")" +
                     h.path("log") + R"(", ")" + h.path("go") + R"("]
)";
  auto first = h.submit(spec);
  REQUIRE(poll_until([&] { return read_lines(h.path("log")).size() == 1; }, 60s));
  auto second = h.submit(spec);
  auto third = h.submit(spec);
  // While the first runs, the others wait in the queue with nothing started.
  auto r2 = get_run(h.server(), second);
  REQUIRE(r2);
  CHECK(str(*r2, "state") == "queued");
  CHECK(h.db().count("SELECT count(*) FROM task_attempts") == 1);
  // Cancelling a queued run ends it without running anything.
  CHECK(h.cli({"cancel", third}).rc == 0);
  auto r3 = h.wait(third, 60s);
  CHECK(str(r3, "state") == "cancelled");
  CHECK(str(task_in(r3, "work"), "state") == "cancelled");
  write_text(h.path("go"), "");
  CHECK(str(h.wait(first), "state") == "succeeded");
  CHECK(str(h.wait(second), "state") == "succeeded");
  CHECK(read_lines(h.path("log")) == std::vector<std::string>{first + " start", first + " end",
                                                              second + " start", second + " end"});
  CHECK(h.db().text("SELECT (SELECT started_at FROM runs WHERE id = " + second +
                    ") >= (SELECT finished_at FROM runs WHERE id = " + first + ")") == "t");
}

TEST_CASE("retries that run out leave the task failed with every attempt recorded",
          "[integration][engine]") {
  Harness h;
  std::string spec = R"(name: hopeless
tasks:
  - name: hopeless
    retry: {limit: 2, backoff: 0s}
    run: [sh, -c, 'echo "$CTFLOW_ATTEMPT" >> "$1"; exit 7', x, ")" +
                     h.path("log") + R"("]
  - {name: after, needs: [hopeless], run: [true]}
)";
  auto run = h.wait(h.submit(spec));
  CHECK(str(run, "state") == "failed");
  const auto& t = task_in(run, "hopeless");
  CHECK(str(t, "state") == "failed");
  CHECK(str(t, "attempt") == "3");
  CHECK(str(t, "exit_code") == "7");
  CHECK(str(task_in(run, "after"), "state") == "upstream_failed");
  CHECK(read_lines(h.path("log")) == std::vector<std::string>{"1", "2", "3"});
  CHECK(h.db().text("SELECT string_agg(attempt || ':' || state || ':' || exit_code, ',' ORDER BY "
                    "attempt) FROM task_attempts") == "1:failed:7,2:failed:7,3:failed:7");
}
