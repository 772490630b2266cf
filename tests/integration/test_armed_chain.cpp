// Integration: chains that the supervisor runs ahead of the engine (ChainAcceleration::arm, engine
// arm.cpp), against a real PostgreSQL and a real `ctflow server`: every task once and in order,
// with the inputs the engine would write, recorded several steps per commit; and nothing armed
// below a task that does not succeed (fails, times out, is cancelled) ever runs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;
namespace fs = std::filesystem;

namespace {

// Whether some attempt's claim names a child before its own exit line: a child the supervisor
// started (the engine writes "next" only after the exit).
bool supervisor_started_a_child(const std::string& data_dir) {
  for (const auto& e : fs::recursive_directory_iterator(data_dir + "/attempts")) {
    if (e.path().filename() != "claim") continue;
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("\"exit\"") != std::string::npos) break;
      if (line.find("\"next\"") != std::string::npos) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("a chain run ahead by the supervisor: each task once, in order, with its inputs",
          "[integration][engine]") {
  // Fast: the engine records each step as soon as it ends. Batched: it lets the exits that
  // started their armed child wait (--fired-wait-ms), so one statement records many steps.
  // Slow: it sleeps before every pass, so that it finds several steps ended each time. Both
  // record them as segments (FastPath::build_segment).
  enum class Mode { Fast, Batched, Slow };
  Mode mode = GENERATE(Mode::Fast, Mode::Batched, Mode::Slow);
  INFO("mode " << static_cast<int>(mode));
  ServerConfig cfg;  // --fast-path: this tests it, also under make test-plain
  if (mode == Mode::Fast) cfg.extra_args = {"--fast-path", "--fired-wait-ms", "0"};
  if (mode == Mode::Batched) cfg.extra_args = {"--fast-path", "--fired-wait-ms", "300"};
  if (mode == Mode::Slow) cfg.extra_args = {"--fast-path", "--pass-delay-ms", "40"};
  Harness h(cfg);
  std::string log = h.path("ran.log");
  std::string spec = "name: chain\ntasks:\n";
  const int n = 40;
  for (int i = 1; i <= n; ++i) {
    std::string name = "t" + std::to_string(i);
    spec += "  - name: " + name + "\n";
    if (i > 1) spec += "    needs: [t" + std::to_string(i - 1) + "]\n";
    spec += "    run: [sh, -c, 'echo \"$1\" >> \"$2\"; cp \"$CTFLOW_INPUTS\" \"$3\"', x, " + name +
            ", \"" + log + "\", \"" + h.path("in-" + name) + "\"]\n";
  }
  auto id = h.submit(spec);
  auto run = h.wait(id);
  CHECK(str(run, "state") == "succeeded");
  std::vector<std::string> expect;
  for (int i = 1; i <= n; ++i) expect.push_back("t" + std::to_string(i));
  CHECK(read_lines(log) == expect);
  CHECK(h.db().count("SELECT count(*) FROM task_attempts WHERE state = 'succeeded'") == n);
  CHECK(h.db().count("SELECT count(*) FROM task_attempts") == n);
  CHECK(h.db().count("SELECT count(*) FROM task_runs WHERE started_at IS NULL OR finished_at IS "
                     "NULL OR state <> 'succeeded'") == 0);
  // Every step's events, in order: the stream a client follows misses none.
  CHECK(h.db().count("SELECT count(*) FROM events WHERE payload->>'state' = 'succeeded' AND kind "
                     "= 'task'") == n);
  // The inputs of a step the supervisor started are what the engine writes for any other.
  auto in = json::parse(slurp(h.path("in-t30"))).as_object();
  INFO(slurp(h.path("in-t30")));
  CHECK(in.at("tasks").as_object().contains("t29"));
  CHECK(in.at("tasks").at("t29").at("outputs").as_object().empty());
  CHECK(in.at("run").at("id").as_string() == id);
  CHECK(supervisor_started_a_child(h.server().data_dir()));
  // Recorded several steps per statement: task rows whose last change shares a transaction.
  if (mode == Mode::Slow)
    CHECK(h.db().count("SELECT count(*) FROM (SELECT xmin::text FROM task_runs GROUP BY 1 "
                       "HAVING count(*) > 2) s") > 0);
  // Batched: the first exit that started its child let the chain run on for 300 ms: many
  // steps in one statement (the arming goes deep enough below a step started so).
  if (mode == Mode::Batched)
    CHECK(h.db().count("SELECT count(*) FROM (SELECT xmin::text FROM task_runs GROUP BY 1 "
                       "HAVING count(*) >= 10) s") > 0);
  // Each attempt's record is whole: the steps recorded as ended at once have their times too.
  CHECK(h.db().count("SELECT count(*) FROM task_attempts WHERE finished_at IS NULL OR exit_code "
                     "IS DISTINCT FROM 0 OR started_at > finished_at") == 0);
}

TEST_CASE("a root whose exit fires one child does not hold back its other children",
          "[integration][engine]") {
  // The fired wait lets a chain's steps pile up before they are recorded; recording this root
  // readies nine more children, so it must not wait (3 s here, to make a wait plain).
  ServerConfig cfg;
  cfg.extra_args = {"--fast-path", "--fired-wait-ms", "3000"};
  Harness h(cfg);
  // c1, armed on the root, runs long: its exit would end a wait at once. The root runs long
  // enough to be armed on (a `true` could end first: then nothing fires).
  std::string spec =
      "name: fan\ntasks:\n  - {name: root, run: [sleep, \"0.3\"]}\n"
      "  - {name: c1, needs: [root], run: [sleep, \"3.5\"]}\n";
  for (int i = 2; i <= 10; ++i)
    spec += "  - {name: c" + std::to_string(i) + ", needs: [root], run: [\"true\"]}\n";
  auto run = h.wait(h.submit(spec));
  CHECK(str(run, "state") == "succeeded");
  CHECK(supervisor_started_a_child(h.server().data_dir()));  // one child fired
  // Every child started well within the wait after the root ended.
  CHECK(h.db().count("SELECT (1000 * extract(epoch FROM max(c.started_at) - r.finished_at))::int "
                     "FROM task_runs c, task_runs r WHERE r.name = 'root' AND c.name <> 'root' "
                     "GROUP BY r.finished_at") < 1500);
}

TEST_CASE("nothing armed below a task that does not succeed runs", "[integration][engine]") {
  enum class End { Fails, TimesOutThenSucceeds, Cancelled };
  End end = GENERATE(End::Fails, End::TimesOutThenSucceeds, End::Cancelled);
  INFO("case " << static_cast<int>(end));
  ServerConfig cfg;
  cfg.extra_args = {"--fast-path"};
  Harness h(cfg);
  std::string log = h.path("ran.log"), started = h.path("a-started");
  // `a` ends well on SIGTERM (exit 0): only the engine's word (timed out, cancelled) and the
  // disarm that comes before the signal keep its children from starting.
  std::string a =
      end == End::Fails ? "    run: [sh, -c, 'exit 3']\n"
      : end == End::TimesOutThenSucceeds
          ? "    timeout: 1s\n    retry: {limit: 1, backoff: 100ms}\n"
            "    run: [sh, -c, 'if [ \"$CTFLOW_ATTEMPT\" = 1 ]; then trap \"exit 0\" TERM; "
            "sleep 30 & wait; fi']\n"
          : "    run: [sh, -c, 'trap \"exit 0\" TERM; touch \"$1\"; sleep 30 & wait', x, \"" +
                started + "\"]\n";
  std::string spec =
      "name: armed\ntasks:\n  - {name: w, run: [\"true\"]}\n  - name: a\n"
      "    needs: [w]\n" +
      a + "  - {name: b, needs: [a], run: [sh, -c, 'echo b >> \"$1\"', x, \"" + log +
      "\"]}\n  - {name: c, needs: [b], run: [sh, -c, 'echo c >> \"$1\"', x, \"" + log + "\"]}\n";
  auto id = h.submit(spec);
  if (end == End::Cancelled) {
    REQUIRE(poll_until([&] { return fs::exists(started); }, 30s));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // b and c are armed by now
    REQUIRE(h.cli({"cancel", id}).rc == 0);
  }
  auto run = h.wait(id, 60s);
  INFO(h.server().log());
  if (end == End::Fails) {
    CHECK(str(run, "state") == "failed");
    CHECK(task_states(run) == std::map<std::string, std::string>{{"w", "succeeded"},
                                                                 {"a", "failed"},
                                                                 {"b", "upstream_failed"},
                                                                 {"c", "upstream_failed"}});
  } else if (end == End::Cancelled) {
    CHECK(str(run, "state") == "cancelled");
    CHECK(str(task_in(run, "b"), "state") == "cancelled");
  } else {
    CHECK(str(run, "state") == "succeeded");
    CHECK(str(task_in(run, "a"), "attempt") == "2");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a wrongly started b writes
  if (end == End::TimesOutThenSucceeds) {
    // b ran once, after a's second attempt: a fresh first attempt, nothing left of an armed one.
    CHECK(read_lines(log) == std::vector<std::string>{"b", "c"});
    CHECK(h.db().count("SELECT count(*) FROM task_attempts ta JOIN task_runs t ON t.id = "
                       "ta.task_run_id WHERE t.name IN ('b', 'c')") == 2);
  } else {
    CHECK_FALSE(fs::exists(log));
    CHECK(h.db().count("SELECT count(*) FROM task_attempts ta JOIN task_runs t ON t.id = "
                       "ta.task_run_id WHERE t.name IN ('b', 'c')") == 0);
  }
}

TEST_CASE("an armed child whose parent's finish rolls back and is retried runs once",
          "[integration][engine]") {
  // `a` reports a metric, so its finish goes through the full pass's transaction (with_tx), the
  // one that retries after a serialization failure; `b`, armed on `a`, starts when `a` exits 0.
  // --fail-at rolls that transaction back once after it dispatched `b` (started already): the
  // retry must dispatch the same running process again, never start `b` a second time.
  ServerConfig cfg;
  cfg.extra_args = {"--fast-path", "--fail-at", "early-dispatch:before-commit"};
  Harness h(cfg);
  std::string log = h.path("ran.log");
  auto step = [&](const std::string& name, const std::string& needs, const std::string& extra) {
    return "  - name: " + name + "\n" + (needs.empty() ? "" : "    needs: [" + needs + "]\n") +
           "    run: [sh, -c, 'echo " + name + " >> \"$1\"; " + extra + "', x, \"" + log + "\"]\n";
  };
  // Every step after w reports a metric: each finish is a full pass, each child armed on it.
  std::string metric =
      "sleep 0.4; echo \"{\\\"name\\\": \\\"m\\\", \\\"value\\\": 1}\" >> \"$CTFLOW_METRICS\"";
  std::string spec = "name: rollback\ntasks:\n" + step("w", "", "true") + step("a", "w", metric) +
                     step("b", "a", metric) + step("c", "b", metric);
  auto run = h.wait(h.submit(spec), 60s);
  INFO(h.server().log());
  CHECK(str(run, "state") == "succeeded");
  // The rollback happened, on a statement that dispatched a child already running.
  CHECK(h.server().log().find("fail point early-dispatch:before-commit: injected") !=
        std::string::npos);
  // A second start writes its line first thing: it would have by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(read_lines(log) == std::vector<std::string>{"w", "a", "b", "c"});
  CHECK(h.db().count("SELECT count(*) FROM task_attempts") == 4);
  CHECK(h.db().count("SELECT count(*) FROM task_attempts WHERE state = 'succeeded'") == 4);
  CHECK(supervisor_started_a_child(h.server().data_dir()));
  // Before the fix the retry dispatched `b` as a fresh child: its second start was refused
  // (its folder held the first one's claim), the chain below it lost track of `c`, which was
  // killed as "not dispatched" and started again: a process (and often its side effect) twice.
  CHECK(h.server().log().find("started early but not dispatched") == std::string::npos);
  for (const auto& e : fs::directory_iterator(h.server().data_dir() + "/attempts"))
    CHECK(e.path().filename().string().find(".discarded-") == std::string::npos);
}
