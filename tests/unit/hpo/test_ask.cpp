#include <catch2/catch.hpp>

#include <sstream>

#include "scheduler/hpo/ask.hpp"

using ctflow::hpo::hpo_ask_main;
namespace json = boost::json;

namespace {
struct Ran {
  int code;
  std::string out, err;
};
Ran ask(const std::string& request) {
  std::istringstream in(request);
  std::ostringstream out, err;
  int code = hpo_ask_main(in, out, err);
  return {code, out.str(), err.str()};
}
// The error line for a request, checked to be exactly one line with exit code 2 and no stdout.
std::string error_of(const std::string& request) {
  Ran r = ask(request);
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  return r.err.substr(0, r.err.find('\n'));
}
}  // namespace

TEST_CASE("hpo ask answers with exactly `count` suggestions", "[hpo][ask]") {
  Ran r = ask(R"({"algorithm": "bayes", "seed": 0, "objective": {"goal": "maximize"},
      "space": {"lr": {"type": "float", "min": 0.001, "max": 0.1, "log": true},
                "dim": {"type": "int", "values": [32, 64]}},
      "trials": [{"params": {"lr": 0.01, "dim": 32}, "value": 0.9}, {"params": {"lr": 0.02, "dim": 64}}],
      "count": 3})");
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  json::value doc = json::parse(r.out);
  REQUIRE(doc.as_object().size() == 1);  // "suggestions" and nothing else
  const auto& arr = doc.at("suggestions").as_array();
  REQUIRE(arr.size() == 3);
  for (const auto& s : arr) {
    double lr = s.at("params").at("lr").as_double();
    CHECK(lr >= 0.001);
    CHECK(lr <= 0.1);
  }
  CHECK(ask(R"({"algorithm": "grid", "space": {"c": {"type": "categorical", "values": [1, 2]}},
                "count": 5})")
            .out ==
        "{\"suggestions\":[{\"params\":{\"c\":1}},{\"params\":{\"c\":2}}],"
        "\"exhausted\":true}\n");
}

TEST_CASE("hpo ask: bad input is one line naming the field, exit 2", "[hpo][ask]") {
  CHECK(error_of(R"({"algorithm": "bayes", "space": {}})") ==
        "space: must define at least one parameter");
  CHECK(error_of(
            R"({"algorithm": "bayes", "space": {"x": {"type": "float", "min": 3, "max": 1}}})") ==
        "space.x.min: must be <= max (got 3 > 1)");
  CHECK(error_of(R"({"algorithm": "random",
                     "space": {"lr": {"type": "float", "min": 0, "max": 1, "log": true}}})") ==
        "space.lr.min: must be > 0 when log is true");
  CHECK(
      error_of(R"({"algorithm": "tpe", "space": {"x": {"type": "float", "min": 0, "max": 1}}})") ==
      "algorithm: must be one of grid, random, bayes (got \"tpe\")");
  CHECK(
      error_of(R"({"algorithm": "grid", "space": {"x": {"type": "float", "min": 0, "max": 1}}})") ==
      "space.x: a grid needs `values` or `step` for a float (min..max alone is unbounded in "
      "count)");
  CHECK(error_of("{\"algorithm\": \"bayes\",").rfind("request: not valid JSON", 0) == 0);
  CHECK(error_of(R"({"algorithm": "bayes", "space": {"x": {"type": "float", "min": 0, "max": 1}},
                     "count": 0})") == "count: must be an integer between 1 and 1000");
  CHECK(error_of(R"({"algorithm": "bayes", "space": {"x": {"type": "float", "min": 0, "max": 1}},
                     "trials": [{"params": {"x": 0.5}, "value": "high"}]})") ==
        "trials[0].value: must be a number");
  CHECK(error_of(R"({"algorithm": "bayes", "space": {"x": {"type": "float", "min": 0, "max": 1}},
                     "trails": []})") ==
        "trails: unknown field (expected algorithm, seed, objective, space, trials, count)");
}

// Found by fuzz_hpo_ask (issue 22): a key holding a newline made the error two lines.
TEST_CASE("hpo ask: keys with control characters stay on one error line, quoted", "[hpo][ask]") {
  std::string space = R"("space": {"lr": {"type": "float", "min": 0.001, "max": 0.1}})";
  CHECK(error_of(R"({"algorithm": "random", )" + space +
                 R"(, "trials": [{"params": {"lr": 0.01, "a\nb": 2}}]})") ==
        R"(trials[0].params."a\nb": not a parameter of the space)");
  CHECK(error_of(R"({"algorithm": "random", "space": {"x\ty": {"type": "int", "min": 1, )"
                 R"("max": 2}}})") == R"(space."x\ty": name must match [A-Za-z_][A-Za-z0-9_-]*)");
  CHECK(error_of(R"({"algorithm": "random", "bad\r\nkey": 1, )" + space + "}") ==
        R"("bad\r\nkey": unknown field (expected algorithm, seed, objective, space, trials, count))");
  // Plain keys are shown as they are.
  CHECK(error_of(R"({"algorithm": "random", )" + space +
                 R"(, "trials": [{"params": {"lr": 0.01, "depth": 2}}]})") ==
        "trials[0].params.depth: not a parameter of the space");
}
