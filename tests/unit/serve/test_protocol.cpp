// The inference protocols as data: every tests/testdata/serve/*.json case through parse_v1 /
// parse_v2 (format in that folder's README.md), plus the response shapes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tasks/serve/protocol.hpp"

using namespace ctflow;
using namespace ctflow::serve;
namespace json = boost::json;

namespace {

// Pixel i of the test image: a ramp, so rows and flat forms can be compared.
float pixel(int i) {
  return static_cast<float>(i % 256) / 255.0f;
}

json::value image(bool rows) {
  json::array flat, out;
  for (int i = 0; i < 784; ++i) flat.push_back(pixel(i));
  if (!rows) return flat;
  for (int r = 0; r < 28; ++r) {
    json::array row;
    for (int c = 0; c < 28; ++c) row.push_back(pixel(r * 28 + c));
    out.push_back(std::move(row));
  }
  return out;
}

// Replaces "$IMG" and "$ROWS" strings anywhere in `v`.
json::value substitute(const json::value& v) {
  if (v.is_string() && v.get_string() == "$IMG") return image(false);
  if (v.is_string() && v.get_string() == "$ROWS") return image(true);
  if (v.is_array()) {
    json::array a;
    for (const auto& x : v.get_array()) a.push_back(substitute(x));
    return a;
  }
  if (v.is_object()) {
    json::object o;
    for (const auto& [k, x] : v.get_object()) o[k] = substitute(x);
    return o;
  }
  return v;
}

}  // namespace

TEST_CASE("protocol fixtures: v1 and v2 requests parse or fail with their one-line error",
          "[serve][protocol]") {
  const std::filesystem::path dir = std::string(CTFLOW_SOURCE_DIR) + "/tests/testdata/serve";
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    const json::object c = json::parse(ss.str()).as_object();
    const std::string protocol(c.at("protocol").as_string());
    const json::value request = substitute(c.at("request"));
    INFO("case " << entry.path().filename().string());
    auto r = protocol == "v1" ? parse_v1(request, 1024) : parse_v2(request, 1024);
    if (c.at("status").as_int64() == 200) {
      REQUIRE(r);
      CHECK(r->n == c.at("n").as_int64());
      REQUIRE(r->pixels.size() == static_cast<size_t>(r->n * 784));
      for (int i = 0; i < 784; ++i) REQUIRE(r->pixels[i] == pixel(i));  // row-major, flat or not
    } else {
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error(), Catch::Contains(std::string(c.at("error").as_string())));
      CHECK(r.error().find('\n') == std::string::npos);
    }
    ++cases;
  }
  CHECK(cases >= 15);
}

TEST_CASE("protocol: more images than the limit is refused before reading them",
          "[serve][protocol]") {
  json::object v1{{"instances", json::array{image(false), image(false), image(false)}}};
  auto r = parse_v1(v1, 2);
  REQUIRE_FALSE(r);
  CHECK(r.error() == "instances: 3 images, at most 2 per request");
  json::object in{
      {"name", "x"}, {"shape", json::array{3, 784}}, {"datatype", "FP32"}, {"data", json::array{}}};
  auto r2 = parse_v2(json::object{{"inputs", json::array{in}}}, 2);
  REQUIRE_FALSE(r2);
  CHECK(r2.error() == "inputs[0].shape: 3 images, at most 2 per request");
}

TEST_CASE("protocol: responses carry labels, the version and one request id per image",
          "[serve][protocol]") {
  Answer a;
  a.labels = {7, 2};
  a.confidence = {1.0f, 0.6f};
  a.version = 3;
  a.request_ids = {"pab-1", "pab-2"};
  CHECK(json::serialize(v1_response(a)) ==
        R"({"predictions":[7,2],"model_version":"3","request_ids":["pab-1","pab-2"]})");
  auto v2 = v2_response("mnist", "42", a);
  CHECK(v2.at("model_name") == "mnist");
  CHECK(v2.at("id") == "42");
  auto& out = v2.at("outputs").as_array()[0].as_object();
  CHECK(out.at("datatype") == "INT64");
  CHECK(json::serialize(out.at("shape")) == "[2]");
  CHECK(json::serialize(out.at("data")) == "[7,2]");
  CHECK(json::serialize(v2.at("parameters")) == R"({"request_ids":["pab-1","pab-2"]})");
  auto meta = v2_metadata("mnist", 3);
  CHECK(json::serialize(meta.at("versions")) == R"(["3"])");
}
