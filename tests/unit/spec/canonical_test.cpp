// to_json/digest: complete (round trip gives an equal pipeline) and stable across formatting.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/spec/canonical.hpp"
#include "scheduler/spec/parse.hpp"

using namespace ctflow::spec;
namespace fs = std::filesystem;

namespace {

Pipeline parse_ok(std::string_view text) {
  auto r = parse_pipeline(text);
  INFO((r.errors.empty() ? std::string() : r.errors.front()));
  REQUIRE(r.pipeline);
  return *r.pipeline;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("to_json round-trips every valid fixture to an equal pipeline", "[spec][canonical]") {
  int n = 0;
  for (const auto& e :
       fs::directory_iterator(fs::path(CTFLOW_SOURCE_DIR) / "tests/testdata/specs/valid")) {
    INFO(e.path().string());
    Pipeline p = parse_ok(slurp(e.path()));
    std::string json = boost::json::serialize(to_json(p));
    Pipeline back = parse_ok(json);
    CHECK(back == p);
    CHECK(digest(back) == digest(p));
    // The canonical text (sorted keys) parses back too: it is what a pipeline version stores.
    CHECK(parse_ok(ctflow::canonical_json(to_json(p))) == p);
    ++n;
  }
  CHECK(n >= 4);
}

TEST_CASE("digest ignores formatting, key order, comments and spelled-out defaults",
          "[spec][canonical]") {
  Pipeline a = parse_ok(R"(
# a comment
name: fmt
params: {n: {type: int, default: 2}, s: x}
tasks:
  - name: a
    run: [echo, "{{params.n}}"]
  - name: b
    needs: [a]
    run: [echo, 3]
)");
  Pipeline b = parse_ok(R"(
tasks: [{run: [echo, '{{params.n}}'], name: a, cache: false, retry: {limit: 0}},
        {needs: [a], name: b, run: [echo, "3"], priority: 0}]
params:
  s: {default: x, type: string}
  n: 2
name: fmt
concurrency: 0
)");
  CHECK(a == b);
  CHECK(digest(a) == digest(b));
  CHECK(digest(a).size() == 64);
  CHECK(digest(a) == ctflow::sha256_hex(ctflow::canonical_json(to_json(a))));
}

TEST_CASE("digest changes when anything that matters changes", "[spec][canonical]") {
  std::string base = "name: x\ntasks: [{name: a, run: [echo, hi]}]\n";
  std::string d = digest(parse_ok(base));
  CHECK(digest(parse_ok("name: x\ntasks: [{name: a, run: [echo, ho]}]\n")) != d);
  CHECK(digest(parse_ok("name: y\ntasks: [{name: a, run: [echo, hi]}]\n")) != d);
  CHECK(digest(parse_ok("name: x\ntasks: [{name: a, run: [echo, hi], cache: true}]\n")) != d);
  CHECK(digest(parse_ok("name: x\ntasks: [{name: a, run: [echo, hi], timeout: 1m}]\n")) != d);
  CHECK(digest(parse_ok(
            "name: x\ndefaults: {cache: true}\ntasks: [{name: a, run: [echo, hi]}]\n")) != d);
}

TEST_CASE("to_json has no defaults block: each task carries its effective values",
          "[spec][canonical]") {
  Pipeline p = parse_ok("name: x\ndefaults: {timeout: 5m}\ntasks: [{name: a, run: [echo]}]\n");
  boost::json::object o = to_json(p).as_object();
  CHECK_FALSE(o.contains("defaults"));
  CHECK(o["tasks"].as_array()[0].as_object()["timeout"] == "5m");
}

TEST_CASE("a spec at kMaxTasks reads back from its stored form over the input limits",
          "[spec][canonical]") {
  // The canonical form spells out every default of every task: several times the compact input.
  // A spec accepted at submission must run, so the stored form is read without the input limits
  // on bytes and YAML nodes (issue 22: a 10,000-task run failed before its first task).
  std::string text = "name: wide\ntasks:\n- {name: t0, run: [true]}\n";
  for (size_t i = 1; i < kMaxTasks; ++i)
    text += "- {name: t" + std::to_string(i) + ", needs: [t" + std::to_string(i / 2) +
            "], run: [true]}\n";
  REQUIRE(text.size() < kMaxSpecBytes);
  Pipeline p = parse_ok(text);
  std::string stored = ctflow::canonical_json(to_json(p));
  CHECK(stored.size() > kMaxSpecBytes);
  auto as_input = parse_pipeline(stored);
  CHECK_FALSE(as_input.pipeline);
  auto r = parse_stored_pipeline(stored);
  INFO((r.errors.empty() ? std::string() : r.errors.front()));
  REQUIRE(r.pipeline);
  CHECK(*r.pipeline == p);
}
