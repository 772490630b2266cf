#include <catch2/catch.hpp>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/sha256.hpp"

using namespace ctflow;

TEST_CASE("canonical JSON sorts keys recursively", "[common]") {
  auto a = json::parse(R"({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": null}})");
  auto b = json::parse(R"({"a": {"x": null, "y": [1, {"c": 3, "d": 2}]}, "b": 1})");
  CHECK(canonical_json(a) == canonical_json(b));
  CHECK(canonical_json(a) == R"({"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1})");
}

TEST_CASE("sha256 matches the published test vector", "[common]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
