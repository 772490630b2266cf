// resolve_params: defaults, text conversion, typed JSON, and every kind of mistake.
#include <catch2/catch.hpp>

#include "scheduler/spec/params.hpp"
#include "scheduler/spec/parse.hpp"

using namespace ctflow::spec;
namespace json = boost::json;

namespace {

Pipeline pipeline() {
  auto r = parse_pipeline(R"(
name: p
params:
  epochs: {type: int, default: 3}
  lr: {type: float, default: 0.1}
  verbose: {type: bool, default: false}
  source: {type: string}
tasks: [{name: a, run: [echo]}]
)");
  REQUIRE(r.pipeline);
  return *r.pipeline;
}

}  // namespace

TEST_CASE("defaults fill what is not given", "[spec][params]") {
  auto r = resolve_params(pipeline(), {{"source", "s3://x"}}, {});
  REQUIRE(r.ok());
  CHECK(*r == json::object{{"epochs", 3}, {"lr", 0.1}, {"verbose", false}, {"source", "s3://x"}});
}

TEST_CASE("params given as -p text convert to the declared type", "[spec][params]") {
  auto r = resolve_params(
      pipeline(), {{"epochs", "10"}, {"lr", "1e-3"}, {"verbose", "true"}, {"source", "42"}}, {});
  REQUIRE(r.ok());
  CHECK(r->at("epochs") == json::value(10));
  CHECK(r->at("lr") == json::value(0.001));
  CHECK(r->at("verbose") == json::value(true));
  CHECK(r->at("source") == json::value("42"));
}

TEST_CASE("typed JSON values are checked - an int is accepted for a float", "[spec][params]") {
  auto r = resolve_params(pipeline(), {}, {{"lr", 1}, {"source", "x"}, {"verbose", true}});
  REQUIRE(r.ok());
  CHECK(r->at("lr").is_double());
  auto bad = resolve_params(pipeline(), {}, {{"epochs", "3"}, {"source", "x"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error() == "params.epochs: expected int, got a string (\"3\")");
}

TEST_CASE("mistakes are all named in one error", "[spec][params]") {
  auto r = resolve_params(pipeline(), {{"epoch", "3"}, {"lr", "fast"}, {"verbose", "maybe"}}, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() ==
        "params.epoch: unknown param (did you mean \"epochs\"?); "
        "params.lr: expected float, got \"fast\"; "
        "params.source: required (string, no default); pass -p source=VALUE; "
        "params.verbose: expected bool, got \"maybe\"");
}

TEST_CASE("a param given both as text and as JSON is refused", "[spec][params]") {
  auto r = resolve_params(pipeline(), {{"source", "a"}}, {{"source", "b"}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "params.source: given twice (as text and as JSON)");
}

TEST_CASE("int text must be a whole number", "[spec][params]") {
  CHECK_FALSE(resolve_params(pipeline(), {{"epochs", "2.5"}, {"source", "x"}}, {}).ok());
  CHECK_FALSE(resolve_params(pipeline(), {{"epochs", ""}, {"source", "x"}}, {}).ok());
  CHECK(resolve_params(pipeline(), {{"epochs", "-2"}, {"source", "x"}}, {}).ok());
}
