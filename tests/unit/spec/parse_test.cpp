// parse_pipeline: what a valid spec turns into (the fixtures cover what an invalid one reports).
#include <catch2/catch.hpp>

#include "scheduler/spec/parse.hpp"

using namespace ctflow::spec;

namespace {

Pipeline parse_ok(std::string_view text) {
  auto r = parse_pipeline(text);
  INFO((r.errors.empty() ? std::string() : r.errors.front()));
  REQUIRE(r.errors.empty());
  REQUIRE(r.pipeline);
  return *r.pipeline;
}

}  // namespace

TEST_CASE("defaults apply to tasks that do not set the field, field by field", "[spec]") {
  Pipeline p = parse_ok(R"(
name: d
defaults: {retry: {limit: 2, backoff: 2s, max_backoff: 1m}, timeout: 30m, cache: true}
tasks:
  - {name: a, run: [echo]}
  - {name: b, run: [echo], retry: {limit: 5}, timeout: 90s, cache: false}
)");
  const Task& a = p.tasks[0];
  CHECK(a.retry == RetryPolicy{2, ctflow::Millis(2000), 2.0, ctflow::Millis(60'000)});
  CHECK(a.timeout == ctflow::Millis(30 * 60'000));
  CHECK(a.cache);
  const Task& b = p.tasks[1];
  CHECK(b.retry.limit == 5);
  CHECK(b.retry.backoff == ctflow::Millis(2000));  // from defaults.retry
  CHECK(b.timeout == ctflow::Millis(90'000));
  CHECK_FALSE(b.cache);
}

TEST_CASE("durations: text with units, or a number of seconds", "[spec]") {
  Pipeline p = parse_ok(
      "name: x\ntasks: [{name: a, run: [echo], timeout: 1.5}, {name: b, run: [echo], "
      "timeout: 90, retry: {backoff: 250ms, max_backoff: 1h30m}}]");
  CHECK(p.tasks[0].timeout == ctflow::Millis(1500));
  CHECK(p.tasks[1].timeout == ctflow::Millis(90'000));
  CHECK(p.tasks[1].retry.backoff == ctflow::Millis(250));
  CHECK(p.tasks[1].retry.max_backoff == ctflow::Millis(5'400'000));
}

TEST_CASE("without defaults, cache is off and there is no timeout or retry", "[spec]") {
  Pipeline p = parse_ok("name: x\ntasks: [{name: a, run: [echo]}]");
  CHECK_FALSE(p.tasks[0].cache);
  CHECK_FALSE(p.tasks[0].timeout);
  CHECK(p.tasks[0].retry.limit == 0);
  CHECK(p.concurrency == 0);
}

TEST_CASE("argv numbers keep their written text - booleans become true/false", "[spec]") {
  Pipeline p = parse_ok(
      "name: x\ntasks: [{name: a, run: [echo, 42, 2.50, 1.0e-4, 0x1F, true, '007'], "
      "env: {N: 1.50}}]");
  CHECK(p.tasks[0].run ==
        std::vector<std::string>{"echo", "42", "2.50", "1.0e-4", "0x1F", "true", "007"});
  CHECK(p.tasks[0].env[0].value == "1.50");
  // JSON input is YAML too: its numbers keep their text as well.
  Pipeline j = parse_ok(R"({"name": "x", "tasks": [{"name": "a", "run": ["echo", 1E3]}]})");
  CHECK(j.tasks[0].run[1] == "1E3");
}

TEST_CASE("params: shorthand, inferred types, sorted by name", "[spec]") {
  Pipeline p = parse_ok(R"(
name: x
params: {zeta: 3, alpha: {default: 0.5}, mid: {type: bool}, s: hi}
tasks: [{name: a, run: [echo]}]
)");
  REQUIRE(p.params.size() == 4);
  CHECK(p.params[0].name == "alpha");
  CHECK(p.params[0].type == ParamType::Float);
  CHECK(p.params[1].name == "mid");
  CHECK(p.params[1].type == ParamType::Bool);
  CHECK_FALSE(p.params[1].default_value);
  CHECK(p.params[2].type == ParamType::String);
  CHECK(p.params[3].name == "zeta");
  CHECK(p.params[3].default_value == boost::json::value(3));
}

TEST_CASE("a float param's int default is stored as a double", "[spec]") {
  Pipeline p =
      parse_ok("name: x\nparams: {r: {type: float, default: 1}}\ntasks: [{name: a, run: [echo]}]");
  REQUIRE(p.params[0].default_value);
  CHECK(p.params[0].default_value->is_double());
}

TEST_CASE("env: literals and secrets, sorted by name", "[spec]") {
  Pipeline p = parse_ok(R"(
name: x
tasks:
  - name: a
    run: [echo]
    env: {TOKEN: {secret: api-token}, LEVEL: 3, A_MODE: fast}
)");
  const auto& env = p.tasks[0].env;
  REQUIRE(env.size() == 3);
  CHECK(env[0] == EnvVar{"A_MODE", "fast", ""});
  CHECK(env[1] == EnvVar{"LEVEL", "3", ""});
  CHECK(env[2] == EnvVar{"TOKEN", "", "api-token"});
}

TEST_CASE("JSON and YAML forms of one spec give equal pipelines", "[spec]") {
  Pipeline y = parse_ok(R"(
name: x
tasks:
  - name: a
    run: [echo, hi]
  - name: b
    needs: [a]
    run: [echo, "{{tasks.a.outputs.k}}"]
)");
  Pipeline j = parse_ok(R"({"tasks": [{"run": ["echo", "hi"], "name": "a"},
    {"name": "b", "needs": ["a"], "run": ["echo", "{{tasks.a.outputs.k}}"]}], "name": "x"})");
  CHECK(y == j);
  CHECK(j.task_index("b") == 1);
  CHECK(j.task("nope") == nullptr);
}

TEST_CASE("YAML merge keys and anchors are expanded", "[spec]") {
  Pipeline p = parse_ok(R"(
name: x
tasks:
  - name: a
    run: [echo]
    retry: &r {limit: 3, backoff: 1s}
  - name: b
    run: [echo]
    retry: {<<: *r, limit: 4}
)");
  CHECK(p.tasks[1].retry.limit == 4);
  CHECK(p.tasks[1].retry.backoff == ctflow::Millis(1000));
}

TEST_CASE("every error is reported at once", "[spec]") {
  auto r = parse_pipeline(R"(
name: x
tasks:
  - {name: a, needs: [zz], run: "echo"}
  - {name: a, run: [echo], cache: 1}
)");
  CHECK_FALSE(r.pipeline);
  CHECK(r.errors.size() == 4);
}

TEST_CASE("a chain of kMaxTasks tasks, each reading the first one's outputs, validates", "[spec]") {
  // Exercises the iterative cycle search and the ancestor search on the longest allowed chain:
  // memoised ancestor sets would take O(n^2) memory here.
  std::string text = "name: chain\ntasks:\n- {name: t0, run: [true]}\n";
  for (size_t i = 1; i < kMaxTasks; ++i)
    text += "- {name: t" + std::to_string(i) + ", needs: [t" + std::to_string(i - 1) +
            "], run: [echo, '{{tasks.t0.outputs.x}}']}\n";
  REQUIRE(text.size() < kMaxSpecBytes);
  auto r = parse_pipeline(text);
  CHECK(r.errors.empty());
  REQUIRE(r.pipeline);
  CHECK(r.pipeline->tasks.size() == kMaxTasks);
}

TEST_CASE("errors are capped at kMaxErrors lines plus a count", "[spec]") {
  std::string text = "name: many\ntasks:\n";
  for (int i = 0; i < 300; ++i)
    text += "- {name: t" + std::to_string(i) + ", needs: [nope], run: [true]}\n";
  auto r = parse_pipeline(text);
  REQUIRE(r.errors.size() == kMaxErrors + 1);
  CHECK(r.errors.front() == "tasks[0].needs[0]: unknown task \"nope\"");
  CHECK(r.errors.back().starts_with("spec: "));
  CHECK(r.errors.back().ends_with(" more errors not shown"));
}

TEST_CASE("unknown field suggestions cover case mistakes", "[spec]") {
  auto r = parse_pipeline("name: x\ntasks: [{name: a, Run: [echo], run: [echo]}]");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "tasks[0].Run: unknown field \"Run\" (did you mean \"run\"?)");
}

TEST_CASE("libyaml's errors and ours come as one line with a place", "[spec]") {
  // A block mapping indented one space short: yaml-cpp 0.7 looped forever on a variant of this.
  auto bad = parse_pipeline("name: x\ntasks:\n  - name: a\n   run: [echo]\n");
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].rfind("line 4, column ", 0) == 0);
  CHECK(bad.errors[0].find("malformed YAML") != std::string::npos);
  CHECK(bad.errors[0].find('\n') == std::string::npos);

  auto alias = parse_pipeline("name: x\ntasks:\n  - name: a\n    run: *nope\n");
  REQUIRE(alias.errors.size() == 1);
  CHECK(alias.errors[0].find("nope") != std::string::npos);

  // An error inside a list does not hide errors in later keys.
  auto two = parse_pipeline(
      "name: x\nconcurrency: !!int many\ntasks:\n"
      "  - {name: a, run: [echo, !odd v]}\n  - {name: b, run: [!!int q]}\n");
  CHECK(two.errors.size() == 3);
  CHECK_FALSE(two.pipeline);
}

TEST_CASE("quoted and tagged scalars stay strings, and anchors on lists expand", "[spec]") {
  Pipeline p = parse_ok(R"(
name: x
tasks:
  - name: a
    run: &cmd [echo, "1.50", !!str 7, 007]
  - name: b
    run: *cmd
)");
  REQUIRE(p.tasks[0].run.size() == 4);
  CHECK(p.tasks[0].run[1] == "1.50");
  CHECK(p.tasks[0].run[2] == "7");
  CHECK(p.tasks[0].run[3] == "007");  // a number as written
  CHECK(p.tasks[1].run == p.tasks[0].run);
}
