#include <catch2/catch.hpp>

#include "scheduler/hpo/early_stopping.hpp"

using namespace ctflow::hpo;

namespace {
Curve curve(std::initializer_list<double> values) {
  Curve c;
  int64_t step = 1;
  for (double v : values) c.push_back({step++, v});
  return c;
}
const std::vector<Curve> kDone = {curve({0.9, 0.6, 0.4, 0.3}), curve({0.8, 0.5, 0.35, 0.3}),
                                  curve({1.0, 0.7, 0.5, 0.45})};
}  // namespace

TEST_CASE("median rule prunes a clearly worse curve and keeps a good one", "[hpo][stop]") {
  MedianRule rule{3, 2};
  PruneDecision bad = median_should_prune(rule, Goal::Minimize, kDone, curve({1.5, 1.4}));
  CHECK(bad.prune);
  CHECK(bad.step == 2);
  CHECK(bad.median == 0.6);  // completed bests by step 2: 0.6, 0.5, 0.7
  CHECK(bad.trial_best == 1.4);
  CHECK_FALSE(median_should_prune(rule, Goal::Minimize, kDone, curve({0.9, 0.55})).prune);
  // step 1 is before start_step: never pruned there, however bad
  CHECK_FALSE(median_should_prune(rule, Goal::Minimize, kDone, curve({9.0})).prune);
}

TEST_CASE("median rule waits for min_trials and honours maximize", "[hpo][stop]") {
  CHECK_FALSE(median_should_prune({4, 1}, Goal::Minimize, kDone, curve({5, 5})).prune);
  std::vector<Curve> acc = {curve({0.5, 0.7}), curve({0.6, 0.8}), curve({0.4, 0.75})};
  CHECK(median_should_prune({3, 1}, Goal::Maximize, acc, curve({0.2, 0.3})).prune);
  CHECK_FALSE(median_should_prune({3, 1}, Goal::Maximize, acc, curve({0.2, 0.9})).prune);
  CHECK_FALSE(median_should_prune({1, 0}, Goal::Minimize, kDone, {}).prune);  // nothing reported
}

TEST_CASE("a metrics file becomes a curve and a half-written last line is ignored", "[hpo][stop]") {
  auto c = curve_from_metrics_jsonl(
      "{\"name\":\"loss\",\"value\":0.9,\"step\":1}\n"
      "{\"name\":\"acc\",\"value\":0.1,\"step\":1}\n"
      "{\"name\":\"loss\",\"value\":0.7,\"step\":2}\n"
      "{\"name\":\"loss\",\"val",
      "loss");
  REQUIRE(c);
  REQUIRE(c->size() == 2);
  CHECK((*c)[1].step == 2);
  CHECK((*c)[1].value == 0.7);
  auto bad = curve_from_metrics_jsonl("{\"name\":\"loss\",\"value\":\"x\"}\n", "loss");
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == "line 1: value: required, a number");
}

TEST_CASE("early_stopping blocks parse with paths", "[hpo][stop]") {
  std::vector<std::string> errors;
  auto r = parse_early_stopping(boost::json::parse(R"({"rule":"median","min_trials":5})"),
                                "tasks[2].hpo.early_stopping", errors);
  REQUIRE(r);
  CHECK(r->min_trials == 5);
  CHECK(r->start_step == 1);
  CHECK_FALSE(
      parse_early_stopping(boost::json::parse(R"({"rule":"mean","start_step":-1})"), "es", errors));
  CHECK(errors == std::vector<std::string>{"es.rule: must be \"median\"",
                                           "es.start_step: must be an integer >= 0"});
}
