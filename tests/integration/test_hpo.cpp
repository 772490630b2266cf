// Integration: hyperparameter studies through the real engine (issue 6, acceptance 3 and 4).
// A 12-trial study with parallelism 2 survives two kill -9s of its server: exactly 12 finished
// trials, each run once, a best trial, and the downstream task receives {{tasks.tune.best.x}}.
// Median early stopping prunes a trial whose scripted curve is clearly worse.
#include <catch2/catch.hpp>

#include <algorithm>
#include <iostream>
#include <thread>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;

namespace {

// A trial: logs its task name, sleeps, writes loss = (x - 0.5)^2 as its metric.
constexpr const char* kQuadraticTrial = R"(#!/bin/sh
echo "$CTFLOW_TASK" >> "$2"
sleep 0.4
awk -v x="$1" 'BEGIN { printf "{\"name\":\"loss\",\"value\":%.9f,\"step\":1}\n", (x-0.5)^2 }' \
  >> "$CTFLOW_METRICS"
)";

// A trial with a scripted learning curve: loss = x + 1/step for steps 1..6, 0.5 s apart.
constexpr const char* kCurveTrial = R"(#!/bin/sh
echo "$CTFLOW_TASK start" >> "$2"
for s in 1 2 3 4 5 6; do
  awk -v x="$1" -v s="$s" 'BEGIN { printf "{\"name\":\"loss\",\"value\":%.9f,\"step\":%d}\n", x + 1/s, s }' \
    >> "$CTFLOW_METRICS"
  sleep 0.5
done
echo "$CTFLOW_TASK end" >> "$2"
)";

std::string study_state(const Db& db, const std::string& run) {
  return db.text(
      "SELECT s.state || ' ' || (SELECT count(*) FROM trials t WHERE t.study_id = s.id) "
      "FROM studies s WHERE s.run_id = " +
      run);
}

}  // namespace

TEST_CASE("a 12-trial study survives two kill -9s: 12 trials once each, best passed downstream",
          "[integration][hpo]") {
  Harness h;
  std::string script = h.path("trial.sh"), log = h.path("trials.log"), out = h.path("best.txt");
  write_text(script, kQuadraticTrial);
  std::string spec = R"(name: hpo-crash
tasks:
  - name: tune
    hpo:
      algorithm: bayes
      seed: 7
      objective: {metric: loss, goal: minimize}
      max_trials: 12
      parallelism: 2
      space: {x: {type: float, min: -2, max: 2}}
      trial: {run: [sh, ")" +
                     script + R"(", "{{trial.x}}", ")" + log + R"("]}
  - name: train
    needs: [tune]
    run: [sh, -c, 'echo "$1" > "$2"', x, "{{tasks.tune.best.x}}", ")" +
                     out + R"("]
)";
  std::string id = h.submit(spec);
  auto& db = h.db();
  for (int finished : {3, 8}) {
    REQUIRE(poll_until(
        [&] {
          return db.count("SELECT count(*) FROM trials WHERE finished_at IS NOT NULL") >= finished;
        },
        90s, 20ms));
    std::string at = study_state(db, id);
    h.server().kill9();
    std::cerr << "test_hpo: killed the server at study \"" << at << "\"\n";
    CHECK(at.rfind("running", 0) == 0);
    h.server().start();
  }
  auto run = h.wait(id, 120s);
  INFO(h.server().log());
  CHECK(str(run, "state") == "succeeded");
  CHECK(db.text("SELECT state FROM studies WHERE run_id = " + id) == "succeeded");
  CHECK(db.count("SELECT count(*) FROM trials") == 12);
  CHECK(db.count("SELECT count(*) FROM trials WHERE state = 'complete'") == 12);
  CHECK(db.count("SELECT count(DISTINCT number) FROM trials WHERE number BETWEEN 1 AND 12") == 12);
  CHECK(db.count("SELECT count(DISTINCT params) FROM trials") == 12);
  // Every trial process ran exactly once (adopted across the kills, never started twice).
  auto lines = read_lines(log);
  std::sort(lines.begin(), lines.end());
  CHECK(lines.size() == 12);
  CHECK(std::adjacent_find(lines.begin(), lines.end()) == lines.end());
  // The best trial is the lowest loss; its x reached the downstream task.
  std::string best_x =
      db.text("SELECT t.params->>'x' FROM studies s JOIN trials t ON t.id = s.best_trial_id");
  REQUIRE(!best_x.empty());
  CHECK(db.text("SELECT s.best_value = (SELECT min(value) FROM trials) FROM studies s") == "t");
  auto best = get_task(h.server(), id, "tune");
  INFO(boost::json::serialize(best));
  double written = std::stod(slurp(out));
  CHECK(written == Approx(std::stod(best_x)).epsilon(1e-12));
  CHECK(str(run, "tasks_total") == "14");  // tune, train and its 12 trials
}

TEST_CASE("median stopping prunes a trial whose curve is clearly worse", "[integration][hpo]") {
  Harness h;
  std::string script = h.path("curve.sh"), log = h.path("curves.log");
  write_text(script, kCurveTrial);
  // Grid order: 0.1, 0.2, 0.3 complete first (parallelism 1), then 5 is far worse at every step.
  std::string spec = R"(name: hpo-median
tasks:
  - name: tune
    hpo:
      algorithm: grid
      objective: {metric: loss, goal: minimize}
      max_trials: 4
      parallelism: 1
      space: {x: {type: float, values: [0.1, 0.2, 0.3, 5]}}
      early_stopping: {rule: median, min_trials: 3, start_step: 1}
      trial: {run: [sh, ")" +
                     script + R"(", "{{trial.x}}", ")" + log + R"("]}
)";
  std::string id = h.submit(spec);
  auto run = h.wait(id, 90s);
  INFO(h.server().log());
  auto& db = h.db();
  CHECK(str(run, "state") == "succeeded");
  CHECK(db.text("SELECT string_agg(state, ',' ORDER BY number) FROM trials") ==
        "complete,complete,complete,pruned");
  CHECK(db.text("SELECT k.state FROM trials t JOIN task_runs k ON k.id = t.task_run_id "
                "WHERE t.number = 4") == "cancelled");
  CHECK(db.text("SELECT (params->>'x') FROM trials WHERE number = 4") == "5");
  // Pruned before its curve ended, with its best intermediate value and a reason.
  auto lines = read_lines(log);
  CHECK(std::count(lines.begin(), lines.end(), "tune[4] end") == 0);
  CHECK(db.text("SELECT error LIKE 'pruned by median stopping%' FROM trials WHERE number = 4") ==
        "t");
  CHECK(db.text("SELECT t.params->>'x' FROM studies s JOIN trials t ON t.id = s.best_trial_id") ==
        "0.1");
}

TEST_CASE("failed trials do not fail the run - cancelling the run cancels the study",
          "[integration][hpo]") {
  Harness h;
  auto& db = h.db();
  // x = 2 exits 3: its trial fails, the study still succeeds with the best of the others.
  std::string spec = R"(name: hpo-failures
tasks:
  - name: tune
    hpo:
      algorithm: grid
      objective: {metric: loss, goal: maximize}
      max_trials: 3
      parallelism: 3
      space: {x: {type: int, values: [1, 2, 3]}}
      trial:
        run: [sh, -c, 'test "$1" = 2 && exit 3; echo "{\"outputs\": {\"loss\": $1}}" > "$CTFLOW_OUTPUTS"', x, "{{trial.x}}"]
)";
  std::string id = h.submit(spec);
  auto run = h.wait(id, 60s);
  INFO(h.server().log());
  CHECK(str(run, "state") == "succeeded");
  CHECK(str(run, "tasks_failed") == "0");
  CHECK(db.text("SELECT string_agg(state, ',' ORDER BY number) FROM trials") ==
        "complete,failed,complete");
  CHECK(db.text("SELECT best_value FROM studies") == "3");

  std::string slow = R"(name: hpo-cancel
tasks:
  - name: tune
    hpo:
      algorithm: random
      objective: {metric: loss, goal: minimize}
      max_trials: 10
      parallelism: 2
      space: {x: {type: float, min: 0, max: 1}}
      trial: {run: [sleep, "30"]}
  - name: after
    needs: [tune]
    run: ["true"]
)";
  std::string id2 = h.submit(slow);
  REQUIRE(poll_until(
      [&] {
        return db.count(
                   "SELECT count(*) FROM task_runs WHERE state = 'running' AND "
                   "parent_task_run_id IS NOT NULL AND run_id = " +
                   id2) == 2;
      },
      30s, 20ms));
  auto c = h.cli({"cancel", id2});
  INFO(c.out << c.err);
  REQUIRE(c.rc == 0);
  auto cancelled = h.wait(id2, 60s);
  CHECK(str(cancelled, "state") == "cancelled");
  CHECK(db.text("SELECT state FROM studies WHERE run_id = " + id2) == "cancelled");
  CHECK(db.count("SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id WHERE "
                 "s.run_id = " +
                 id2) == 2);
  CHECK(str(task_in(cancelled, "after"), "state") == "cancelled");
}
