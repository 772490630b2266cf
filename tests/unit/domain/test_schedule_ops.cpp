// The pure decisions behind schedules and reruns (scheduler/domain/schedule_ops.hpp).
#include <catch2/catch.hpp>

#include "scheduler/domain/schedule_ops.hpp"
#include "scheduler/spec/parse.hpp"

using namespace ctflow;
using domain::FireDecision;

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

TEST_CASE("concurrency policy decides each fire", "[domain][schedule]") {
  CHECK(domain::decide_fire("allow", true) == FireDecision::Create);
  CHECK(domain::decide_fire("forbid", true) == FireDecision::SkipForbid);
  CHECK(domain::decide_fire("replace", true) == FireDecision::Replace);
  for (const char* p : {"allow", "forbid", "replace"})
    CHECK(domain::decide_fire(p, false) == FireDecision::Create);
}

TEST_CASE("rerun from a task reuses everything but the task and its descendants",
          "[domain][rerun]") {
  auto p = dag();
  auto r = domain::rerun_reuse(p, "b", all("succeeded"), 7);
  REQUIRE(r);
  CHECK(*r == std::vector<std::string>{"a", "d", "e"});
  auto root = domain::rerun_reuse(p, "a", all("succeeded"), 7);
  REQUIRE(root);
  CHECK(*root == std::vector<std::string>{"e"});
}

TEST_CASE("rerun reuses only tasks that succeeded or were cached", "[domain][rerun]") {
  auto p = dag();
  auto states = all("succeeded");
  states["a"] = "cached";
  states["e"] = "failed";  // not upstream of c: it simply runs again
  auto r = domain::rerun_reuse(p, "c", states, 7);
  REQUIRE(r);
  CHECK(*r == std::vector<std::string>{"a", "b", "d"});
}

TEST_CASE("rerun refuses an unknown task or a failed ancestor", "[domain][rerun]") {
  auto p = dag();
  auto unknown = domain::rerun_reuse(p, "zz", all("succeeded"), 7);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error() == "task \"zz\" is not a task of pipeline p");
  auto states = all("succeeded");
  states["a"] = "failed";
  auto bad = domain::rerun_reuse(p, "c", states, 7);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == "task \"a\" upstream of \"c\" ended failed in run 7; rerun from it instead");
}
