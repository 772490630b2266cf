// Unit: the crash and fail points' flags (common/crash_point.hpp). A crash point kills the
// process, so only what does not die is tested here: the specs arm() refuses, and a fail point
// that fires exactly the Nth time it is asked. tests/chaos/test_crash_points.cpp kills servers.
#include <catch2/catch.hpp>

#include "scheduler/common/crash_point.hpp"

using namespace ctflow;

TEST_CASE("crash and fail point specs: malformed ones are refused with the flag named",
          "[common][crash]") {
  const std::string before = crash::armed();
  CHECK(crash::arm("") == "");  // off: nothing changes
  CHECK(crash::arm("claim") == "--crash-at claim: expected a point such as claim:before-commit");
  CHECK(crash::arm("claim:after-commit#0") ==
        "--crash-at claim:after-commit#0: expected NAME or NAME#N with N >= 1");
  CHECK(crash::arm("claim:after-commit#x") ==
        "--crash-at claim:after-commit#x: expected NAME or NAME#N with N >= 1");
  CHECK(crash::arm_failure("#2") == "--fail-at #2: expected a point such as claim:before-commit");
  CHECK(crash::armed() == before);  // a refused spec arms nothing
  // Not armed there: nothing fires and nothing dies.
  crash::point("claim:after-commit");
  CHECK_FALSE(crash::fails("claim:after-commit"));
}

TEST_CASE("a fail point fires once - the Nth time it is asked", "[common][crash]") {
  REQUIRE(crash::arm_failure("pass:before-commit#3") == "");
  CHECK_FALSE(crash::fails("pass:other"));
  CHECK_FALSE(crash::fails("pass:before-commit"));
  CHECK_FALSE(crash::fails("pass:before-commit"));
  CHECK(crash::fails("pass:before-commit"));
  CHECK_FALSE(crash::fails("pass:before-commit"));
  // An armed crash point elsewhere does not fire at other names, nor at commits without it.
  REQUIRE(crash::arm("deploy:after-commit") == "");
  CHECK(crash::armed() == "deploy:after-commit");
  crash::point("claim:after-commit");
  crash::at_commit("claim:after-commit");
  crash::committed();
  crash::at_commit("deploy:after-commit");
  crash::rolled_back();  // the transaction rolled back: nothing to do at the next commit
  crash::committed();
}
