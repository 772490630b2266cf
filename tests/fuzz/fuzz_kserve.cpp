// libFuzzer harness for ctflow-serve's payload parser: bytes -> the route's JSON body step
// (http::parse_json_body, depth 64) -> serve::parse_v1 (KServe v1 "instances") and
// serve::parse_v2 (Open Inference Protocol v2 "inputs") -> the v1/v2 responses for the parsed
// images. Checks protocol.hpp's promises on every input:
//   - a parse gives 1..kMaxImages images, exactly n*784 pixels, each finite and within [0, 1],
//     and a v2 id of at most 128 characters; and the body had the shape it claims: a v1 image is
//     784 numbers or 28 arrays of 28 numbers, a v2 "data" is flat (numbers only) or nested
//     exactly as "shape" says (the check below is written from the protocol, apart from
//     protocol.cpp, so the two can disagree);
//   - or one non-empty line of error that starts with the field it names (body, instances,
//     inputs, id);
//   - a response for n images serializes and parses back with n labels (v1 "predictions", v2
//     outputs[0] shaped [n] with n INT64 values).
#include <boost/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "scheduler/api/http/message.hpp"
#include "tasks/serve/protocol.hpp"

using namespace ctflow;
namespace json = boost::json;

namespace {

constexpr int64_t kMaxImages = 64;  // the route's --max-images, kept small for speed

void require(bool ok) {
  if (!ok) std::abort();
}

// `v` is an array nested exactly as dims (dims[0] elements, each nested as the rest), with
// numbers at the bottom.
bool nested_as(const json::value& v, const int64_t* dims, size_t n_dims) {
  if (n_dims == 0) return v.is_number();
  if (!v.is_array() || static_cast<int64_t>(v.get_array().size()) != dims[0]) return false;
  for (const auto& x : v.get_array())
    if (!nested_as(x, dims + 1, n_dims - 1)) return false;
  return true;
}

// The request's images as the protocol documents them (see the header comment).
bool well_shaped(const json::value& body, bool v2, int64_t n) {
  if (!v2) {
    const int64_t flat[] = {serve::kPixels}, rows[] = {serve::kRows, serve::kCols};
    for (const auto& img : body.at("instances").as_array())
      if (!nested_as(img, flat, 1) && !nested_as(img, rows, 2)) return false;
    return true;
  }
  const auto& in = body.at("inputs").as_array().at(0).as_object();
  std::vector<int64_t> shape;
  for (const auto& d : in.at("shape").as_array()) shape.push_back(d.to_number<int64_t>());
  const int64_t flat[] = {n * serve::kPixels};
  return nested_as(in.at("data"), flat, 1) || nested_as(in.at("data"), shape.data(), shape.size());
}

bool starts_with_field(const std::string& e) {
  for (const char* f : {"body", "instances", "inputs", "id"})
    if (e.rfind(f, 0) == 0) return true;
  return false;
}

void check(const json::value& body, const Result<serve::Images>& r, bool v2) {
  if (!r) {
    const std::string& e = r.error();
    require(!e.empty() && e.find('\n') == std::string::npos && starts_with_field(e));
    return;
  }
  require(r->n >= 1 && r->n <= kMaxImages);
  require(static_cast<int64_t>(r->pixels.size()) == r->n * serve::kPixels);
  for (float p : r->pixels) require(std::isfinite(p) && p >= 0.0f && p <= 1.0f);
  require(r->id.size() <= 128);
  require(well_shaped(body, v2, r->n));
  serve::Answer a;
  for (int64_t i = 0; i < r->n; ++i) {
    a.labels.push_back(static_cast<int>(i % 10));
    a.confidence.push_back(1.0f);
    a.request_ids.push_back("p0-" + std::to_string(i));
  }
  const std::string text =
      json::serialize(v2 ? serve::v2_response("mnist", r->id, a) : serve::v1_response(a));
  json::error_code ec;
  json::value back = json::parse(text, ec);
  require(!ec && back.is_object());
  const auto& o = back.get_object();
  if (!v2) {
    const auto* preds = o.if_contains("predictions");
    require(preds && preds->is_array() && static_cast<int64_t>(preds->get_array().size()) == r->n);
    return;
  }
  require(o.at("id").as_string() == r->id);
  const auto& out = o.at("outputs").as_array().at(0).as_object();
  require(out.at("datatype").as_string() == "INT64");
  require(out.at("shape").as_array().at(0).as_int64() == r->n);
  require(static_cast<int64_t>(out.at("data").as_array().size()) == r->n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::Request req;
  req.method = "POST";
  req.path = "/v2/models/mnist/infer";
  req.body.assign(reinterpret_cast<const char*>(data), size);
  auto [body, err] = http::parse_json_body(req);
  if (err) {
    require(err->status == 400);
    return 0;
  }
  check(body, serve::parse_v1(body, kMaxImages), false);
  check(body, serve::parse_v2(body, kMaxImages), true);
  return 0;
}
