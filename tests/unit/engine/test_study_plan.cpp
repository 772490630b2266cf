// The study step's decisions (engine/study_plan.hpp) without a database.
#include <catch2/catch.hpp>

#include "scheduler/engine/study_plan.hpp"

using namespace ctflow;
using engine::plan_study_step;

namespace {

store::StudyRow study(const std::string& algorithm = "random", int max_trials = 4,
                      int parallelism = 2) {
  store::StudyRow s;
  s.id = 1;
  s.run_id = 10;
  s.driver_id = 100;
  s.driver_state = "running";
  s.driver_attempt = 1;
  s.name = "tune";
  s.algorithm = algorithm;
  s.metric = "loss";
  s.goal = "minimize";
  s.state = "running";
  s.max_trials = max_trials;
  s.parallelism = parallelism;
  s.space = boost::json::parse(R"({"x": {"type": "float", "values": [1, 2, 3]}})");
  return s;
}

store::TrialRow trial(int number, double x, const std::string& state, const std::string& task_state,
                      std::optional<double> metric = {}) {
  store::TrialRow t;
  t.id = number;
  t.task_run_id = 100 + number;
  t.number = number;
  t.params = {{"x", x}};
  t.state = state;
  t.task_state = task_state;
  t.last_metric = metric;
  return t;
}

}  // namespace

TEST_CASE("a new study asks for parallelism trials", "[engine][study]") {
  auto step = plan_study_step(study());
  CHECK(step.new_trials.size() == 2);
  CHECK(step.first_number == 1);
  CHECK_FALSE(step.finish);
}

TEST_CASE("a finished trial is recorded and its slot refilled", "[engine][study]") {
  auto s = study();
  s.trials = {trial(1, 1, "running", "succeeded", 0.5), trial(2, 2, "running", "running")};
  auto step = plan_study_step(s);
  REQUIRE(step.updates.size() == 1);
  CHECK(step.updates[0].state == "complete");
  CHECK(step.updates[0].value == 0.5);
  CHECK(step.new_trials.size() == 1);
  CHECK(step.first_number == 3);
}

TEST_CASE("a trial without its metric fails - a failed task run is refunded", "[engine][study]") {
  auto s = study();
  s.trials = {trial(1, 1, "running", "succeeded"), trial(2, 2, "pending", "failed")};
  s.trials[1].task_error = "exit code 3";
  auto step = plan_study_step(s);
  REQUIRE(step.updates.size() == 2);
  CHECK(step.updates[0].state == "failed");
  CHECK(step.updates[0].error->find("no value of loss") != std::string::npos);
  CHECK(step.updates[1].error == "exit code 3");
  CHECK(step.failed_refund == 1);
}

TEST_CASE("the outputs value is the fallback objective", "[engine][study]") {
  auto s = study();
  s.trials = {trial(1, 1, "running", "succeeded")};
  s.trials[0].output_value = 0.25;
  auto step = plan_study_step(s);
  CHECK(step.updates.at(0).value == 0.25);
}

TEST_CASE("max_trials final trials finish the driver with the best", "[engine][study]") {
  auto s = study("random", 3, 2);
  s.trials = {trial(1, 1, "complete", "succeeded", 0.7), trial(2, 2, "pruned", "cancelled"),
              trial(3, 3, "running", "succeeded", 0.2)};
  s.trials[0].value = 0.7;
  s.trials[1].value = 0.1;  // partial: never the best
  auto step = plan_study_step(s);
  CHECK(step.new_trials.empty());
  REQUIRE(step.finish);
  CHECK(step.finish->state == "succeeded");
  CHECK(step.finish->best_trial_id == 3);
  CHECK(boost::json::serialize(step.finish->outputs.at("best")) == R"({"x":3E0,"loss":2E-1})");
  CHECK(step.finish->outputs.at("best_trial") == 3);
}

TEST_CASE("a pruned trial holds its slot until its process is gone", "[engine][study]") {
  auto s = study("random", 4, 1);
  s.trials = {trial(1, 1, "pruned", "running")};
  CHECK(plan_study_step(s).new_trials.empty());
  s.trials[0].task_state = "cancelled";
  CHECK(plan_study_step(s).new_trials.size() == 1);
}

TEST_CASE("an exhausted grid finishes early", "[engine][study]") {
  auto s = study("grid", 10, 4);
  s.trials = {trial(1, 1, "complete", "succeeded"), trial(2, 2, "complete", "succeeded")};
  s.trials[0].value = 1;
  s.trials[1].value = 2;
  auto step = plan_study_step(s);
  CHECK(step.new_trials.size() == 1);  // x = 3, the last grid point
  CHECK(step.exhausted);
  CHECK_FALSE(step.finish);  // its trial is about to run
  s.exhausted = true;
  s.trials.push_back(trial(3, 3, "complete", "succeeded"));
  s.trials[2].value = 0.5;
  step = plan_study_step(s);
  REQUIRE(step.finish);
  CHECK(step.finish->best_trial_id == 3);
}

TEST_CASE("no complete trial: the driver fails", "[engine][study]") {
  auto s = study("random", 1, 1);
  s.trials = {trial(1, 1, "running", "failed")};
  auto step = plan_study_step(s);
  REQUIRE(step.finish);
  CHECK(step.finish->state == "failed");
  CHECK(step.finish->error->find("no trial completed") != std::string::npos);
}

TEST_CASE("a cancelling run makes no trials and cancels once idle", "[engine][study]") {
  auto s = study();
  s.run_cancelling = true;
  s.trials = {trial(1, 1, "running", "running")};
  auto step = plan_study_step(s);
  CHECK(step.new_trials.empty());
  CHECK_FALSE(step.finish);
  s.trials[0].task_state = "cancelled";
  step = plan_study_step(s);
  REQUIRE(step.finish);
  CHECK(step.finish->state == "cancelled");
}

TEST_CASE("a finished driver changes nothing but trial states", "[engine][study]") {
  auto s = study();
  s.driver_state = "succeeded";
  s.state = "succeeded";
  s.trials = {trial(1, 1, "running", "succeeded", 0.3)};
  auto step = plan_study_step(s);
  CHECK(step.updates.size() == 1);
  CHECK(step.new_trials.empty());
  CHECK_FALSE(step.finish);
}
