// The pure decisions behind schedules and reruns (scheduler/api/schedule_ops.hpp).
#include <catch2/catch.hpp>

#include "scheduler/api/schedule_ops.hpp"
#include "scheduler/spec/parse.hpp"

using namespace ctflow;
using api::FireDecision;

namespace {

// a -> b -> c, a -> d, e (independent)
spec::Pipeline dag() {
  auto r = spec::parse_pipeline(R"(
name: p
tasks:
  - {name: a, run: ["true"]}
  - {name: b, needs: [a], run: ["true"]}
  - {name: c, needs: [b], run: ["true"]}
  - {name: d, needs: [a], run: ["true"]}
  - {name: e, run: ["true"]}
)");
  REQUIRE(r.pipeline);
  return *r.pipeline;
}

std::map<std::string, std::string> all(const std::string& state) {
  return {{"a", state}, {"b", state}, {"c", state}, {"d", state}, {"e", state}};
}

}  // namespace

TEST_CASE("concurrency policy decides each fire", "[api][schedule]") {
  CHECK(api::decide_fire("allow", true) == FireDecision::Create);
  CHECK(api::decide_fire("forbid", true) == FireDecision::SkipForbid);
  CHECK(api::decide_fire("replace", true) == FireDecision::Replace);
  for (const char* p : {"allow", "forbid", "replace"})
    CHECK(api::decide_fire(p, false) == FireDecision::Create);
}

TEST_CASE("rerun from a task reuses everything but the task and its descendants", "[api][rerun]") {
  auto p = dag();
  auto r = api::rerun_reuse(p, "b", all("succeeded"), 7);
  REQUIRE(r);
  CHECK(*r == std::vector<std::string>{"a", "d", "e"});
  auto root = api::rerun_reuse(p, "a", all("succeeded"), 7);
  REQUIRE(root);
  CHECK(*root == std::vector<std::string>{"e"});
}

TEST_CASE("rerun reuses only tasks that succeeded or were cached", "[api][rerun]") {
  auto p = dag();
  auto states = all("succeeded");
  states["a"] = "cached";
  states["e"] = "failed";  // not upstream of c: it simply runs again
  auto r = api::rerun_reuse(p, "c", states, 7);
  REQUIRE(r);
  CHECK(*r == std::vector<std::string>{"a", "b", "d"});
}

TEST_CASE("rerun refuses an unknown task or a failed ancestor", "[api][rerun]") {
  auto p = dag();
  auto unknown = api::rerun_reuse(p, "zz", all("succeeded"), 7);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error() == "task \"zz\" is not a task of pipeline p");
  auto states = all("succeeded");
  states["a"] = "failed";
  auto bad = api::rerun_reuse(p, "c", states, 7);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == "task \"a\" upstream of \"c\" ended failed in run 7; rerun from it instead");
}
