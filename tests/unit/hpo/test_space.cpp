#include <catch2/catch.hpp>

#include "scheduler/hpo/sobol.hpp"
#include "scheduler/hpo/space.hpp"

using namespace ctflow::hpo;
namespace json = boost::json;

namespace {
std::vector<std::string> space_errors(const char* text) {
  std::vector<std::string> errors;
  auto s = parse_space(json::parse(text), "tasks[4].hpo.space", errors);
  if (s) REQUIRE(errors.empty());
  return errors;
}
SearchSpace space(const char* text) {
  std::vector<std::string> errors;
  auto s = parse_space(json::parse(text), "space", errors);
  REQUIRE(errors.empty());
  return *s;
}
}  // namespace

TEST_CASE("parse_space sorts dimensions by name and keeps their fields", "[hpo][space]") {
  SearchSpace s = space(R"({"lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": true},
                            "dim": {"type": "int", "values": [128, 32, 64]},
                            "act": {"type": "categorical", "values": ["relu", "gelu"]}})");
  REQUIRE(s.dims.size() == 3);
  CHECK(s.dims[0].name == "act");
  CHECK(s.dims[1].name == "dim");
  CHECK(json::value_from(s.dims[1].values) == json::array{32, 64, 128});  // sorted ascending
  CHECK(s.dims[2].log);
  CHECK(s.dims[2].min == 1e-4);
}

TEST_CASE("parse_space reports each problem with its path", "[hpo][space]") {
  CHECK(space_errors("{}") ==
        std::vector<std::string>{"tasks[4].hpo.space: must define at least one parameter"});
  CHECK(space_errors(R"({"lr": {"type": "float", "min": 2, "max": 1}})") ==
        std::vector<std::string>{"tasks[4].hpo.space.lr.min: must be <= max (got 2 > 1)"});
  CHECK(space_errors(R"({"lr": {"type": "float", "min": 0, "max": 1, "log": true}})") ==
        std::vector<std::string>{"tasks[4].hpo.space.lr.min: must be > 0 when log is true"});
  CHECK(space_errors(R"({"n": {"type": "int", "min": 0.5, "max": 3}})") ==
        std::vector<std::string>{"tasks[4].hpo.space.n.min: must be an integer"});
  CHECK(space_errors(R"({"c": {"type": "categorical", "values": ["a", "a"]}})") ==
        std::vector<std::string>{"tasks[4].hpo.space.c.values[1]: duplicate value"});
  CHECK(space_errors(R"({"x": {"type": "vector"}})") ==
        std::vector<std::string>{
            "tasks[4].hpo.space.x.type: must be one of float, int, categorical"});
  CHECK(space_errors(R"({"x": {"type": "float", "max": 1, "mni": 0}})").size() == 2);
  CHECK(space_errors(R"({"1x": {"type": "int", "min": 0, "max": 1}})") ==
        std::vector<std::string>{"tasks[4].hpo.space.1x: name must match [A-Za-z_][A-Za-z0-9_-]*"});
  CHECK(space_errors("[1]") ==
        std::vector<std::string>{"tasks[4].hpo.space: must be an object mapping parameter names "
                                 "to definitions"});
}

TEST_CASE("log, int and categorical values round-trip through the unit cube", "[hpo][space]") {
  SearchSpace s = space(R"({"lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": true},
                            "n": {"type": "int", "min": 1, "max": 1000, "log": true},
                            "k": {"type": "int", "min": -3, "max": 4},
                            "w": {"type": "float", "min": 0, "max": 1, "step": 0.25},
                            "dim": {"type": "int", "values": [32, 64, 128]},
                            "opt": {"type": "categorical", "values": ["adam", "sgd", null, 3]}})");
  Sobol sobol(s.dims.size(), 7);
  for (int i = 0; i < 200; ++i) {
    json::object params = decode_point(s, sobol.point(i));
    std::string err;
    auto u = encode_point(s, params, "p", err);
    REQUIRE(u);
    CHECK(decode_point(s, *u) == params);  // value -> coordinate -> the same value
    CHECK(params["n"].is_int64());
    CHECK(params["lr"].as_double() >= 1e-4);
    CHECK(params["lr"].as_double() <= 0.1);
  }
  // log scale: the middle of the cube is the geometric mean.
  CHECK(decode(s.dims[2], 0.5).as_double() == Approx(std::sqrt(1e-4 * 0.1)));
  // every int of a range owns an equal slice of [0, 1]
  REQUIRE(s.dims[1].name == "k");
  CHECK(decode(s.dims[1], 0.0) == json::value(-3));
  CHECK(decode(s.dims[1], 0.124) == json::value(-3));
  CHECK(decode(s.dims[1], 0.126) == json::value(-2));
  CHECK(decode(s.dims[1], 1.0) == json::value(4));
  CHECK(decode(s.dims[5], 0.5) == json::value(0.5));  // w: lattice 0, 0.25, ..., 1
}

TEST_CASE("encode_point names the parameter that does not fit", "[hpo][space]") {
  SearchSpace s = space(R"({"lr": {"type": "float", "min": 1e-4, "max": 0.1},
                            "opt": {"type": "categorical", "values": ["adam"]}})");
  std::string err;
  CHECK_FALSE(encode_point(s, json::parse(R"({"lr": 5, "opt": "adam"})"), "trials[3].params", err));
  CHECK(err == "trials[3].params.lr: 5 is outside [0.0001, 0.1]");
  CHECK_FALSE(encode_point(s, json::parse(R"({"lr": 0.01})"), "trials[0].params", err));
  CHECK(err == "trials[0].params.opt: missing");
  CHECK_FALSE(encode_point(s, json::parse(R"({"lr": 0.01, "opt": "sgd", "x": 1})"), "p", err));
  CHECK(err == "p.x: not a parameter of the space");
}
