#include "tasks/serve/protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ctflow::serve {

namespace json = boost::json;

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

std::string type_name(const json::value& v) {
  return v.is_array()    ? "an array"
         : v.is_string() ? "a string"
         : v.is_null()   ? "null"
         : v.is_bool()   ? "a boolean"
         : v.is_object() ? "an object"
                         : "a number";
}

// Appends the pixel `v` to `out`: a number in [0, 1].
Result<bool> pixel(const json::value& v, std::vector<float>& out, const std::string& where) {
  if (!v.is_number()) return Error{where + ": expected numbers, found " + type_name(v)};
  const double d = v.to_number<double>();
  if (!std::isfinite(d) || d < 0.0 || d > 1.0)
    return Error{where + ": pixel value " + fmt::format("{}", d) +
                 " is outside [0, 1] (pixels are byte/255)"};
  out.push_back(static_cast<float>(d));
  return true;
}

// Appends the numbers of `v`, an array nested exactly as `dims` says (dims[0] elements, each
// nested as dims[1..], numbers at the bottom), to `out` in row-major order. A nesting that only
// holds the right count of numbers (a dropped or an extra level, rows of uneven length) is an
// error: the shape the client declared is not the data it sent. `where` names the field.
Result<bool> flatten(const json::value& v, const std::vector<int64_t>& dims, size_t level,
                     std::vector<float>& out, const std::string& where) {
  if (level == dims.size()) return pixel(v, out, where);
  if (!v.is_array())
    return Error{where + ": expected an array of " + std::to_string(dims[level]) + ", found " +
                 type_name(v)};
  const auto& a = v.get_array();
  if (static_cast<int64_t>(a.size()) != dims[level])
    return Error{where + ": expected an array of " + std::to_string(dims[level]) +
                 ", got an array of " + std::to_string(a.size())};
  for (size_t i = 0; i < a.size(); ++i)
    if (auto r = flatten(a[i], dims, level + 1, out, where); !r) return r;
  return true;
}

}  // namespace

Result<Images> parse_v1(const json::value& body, int64_t max_images) {
  if (!body.is_object()) return Error{"body: expected a JSON object with \"instances\""};
  const json::value* inst = body.get_object().if_contains("instances");
  if (!inst) return Error{"instances: required (KServe v1: {\"instances\": [...]})"};
  if (!inst->is_array() || inst->get_array().empty())
    return Error{"instances: expected a non-empty array of images"};
  const auto& arr = inst->get_array();
  if (static_cast<int64_t>(arr.size()) > max_images)
    return Error{"instances: " + std::to_string(arr.size()) + " images, at most " +
                 std::to_string(max_images) + " per request"};
  Images out;
  out.n = static_cast<int64_t>(arr.size());
  out.pixels.reserve(out.n * kPixels);
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string where = "instances[" + std::to_string(i) + "]";
    const json::value& img = arr[i];
    if (!img.is_array()) return Error{where + ": expected 784 numbers or 28 rows of 28"};
    const auto& a = img.get_array();
    const size_t before = out.pixels.size();
    if (static_cast<int64_t>(a.size()) != kPixels && static_cast<int64_t>(a.size()) != kRows)
      return Error{where + ": expected 784 numbers or 28 rows of 28, got an array of " +
                   std::to_string(a.size())};
    const std::vector<int64_t> dims = static_cast<int64_t>(a.size()) == kPixels
                                          ? std::vector<int64_t>{kPixels}
                                          : std::vector<int64_t>{kRows, kCols};
    if (auto r = flatten(img, dims, 0, out.pixels, where); !r)
      return Error{r.error() + " (an image is 784 numbers or 28 rows of 28)"};
    if (out.pixels.size() - before != kPixels)
      return Error{where + ": expected 784 numbers or 28 rows of 28"};
  }
  return out;
}

Result<Images> parse_v2(const json::value& body, int64_t max_images) {
  if (!body.is_object()) return Error{"body: expected a JSON object with \"inputs\""};
  const auto& o = body.get_object();
  Images out;
  if (const json::value* id = o.if_contains("id")) {
    if (!id->is_string() || id->get_string().size() > 128)
      return Error{"id: expected a string of at most 128 characters"};
    out.id = std::string(id->get_string());
  }
  const json::value* inputs = o.if_contains("inputs");
  if (!inputs || !inputs->is_array() || inputs->get_array().size() != 1)
    return Error{"inputs: expected an array of exactly one input tensor"};
  if (!inputs->get_array()[0].is_object()) return Error{"inputs[0]: expected an object"};
  const auto& in = inputs->get_array()[0].get_object();
  const json::value* dt = in.if_contains("datatype");
  if (!dt || !dt->is_string()) return Error{"inputs[0].datatype: required (\"FP32\")"};
  if (dt->get_string() != "FP32")
    return Error{"inputs[0].datatype: expected FP32, got " + std::string(dt->get_string())};
  const json::value* sh = in.if_contains("shape");
  if (!sh || !sh->is_array()) return Error{"inputs[0].shape: required, an array of integers"};
  std::vector<int64_t> shape;
  for (const auto& d : sh->get_array()) {
    if (!d.is_int64() && !d.is_uint64()) return Error{"inputs[0].shape: expected integers"};
    shape.push_back(d.is_int64() ? d.get_int64() : static_cast<int64_t>(d.get_uint64()));
  }
  const bool ok = (shape.size() == 2 && shape[1] == kPixels) ||
                  (shape.size() == 3 && shape[1] == kRows && shape[2] == kCols) ||
                  (shape.size() == 4 && shape[1] == 1 && shape[2] == kRows && shape[3] == kCols);
  if (!ok || shape[0] < 1)
    return Error{"inputs[0].shape: expected [N,784], [N,28,28] or [N,1,28,28] with N >= 1, got " +
                 shape_text(shape)};
  if (shape[0] > max_images)
    return Error{"inputs[0].shape: " + std::to_string(shape[0]) + " images, at most " +
                 std::to_string(max_images) + " per request"};
  const json::value* data = in.if_contains("data");
  if (!data || !data->is_array()) return Error{"inputs[0].data: required, an array of numbers"};
  out.n = shape[0];
  out.pixels.reserve(out.n * kPixels);
  // Flat (row-major numbers, the protocol's form) or nested exactly as the shape says.
  const auto& d = data->get_array();
  const bool flat = std::none_of(d.begin(), d.end(), [](const auto& x) { return x.is_array(); });
  const std::vector<int64_t> dims =
      flat ? std::vector<int64_t>{static_cast<int64_t>(d.size())} : shape;
  if (auto r = flatten(*data, dims, 0, out.pixels, "inputs[0].data"); !r)
    return Error{r.error() +
                 (flat ? "" : " (nested data follows shape " + shape_text(shape) + ")")};
  if (static_cast<int64_t>(out.pixels.size()) != out.n * kPixels)
    return Error{"inputs[0].data: " + std::to_string(out.pixels.size()) +
                 " values do not fill shape " + shape_text(shape) + " (" +
                 std::to_string(out.n * kPixels) + ")"};
  return out;
}

json::object v1_response(const Answer& a) {
  json::array preds, ids;
  for (int l : a.labels) preds.push_back(l);
  for (const auto& id : a.request_ids) ids.push_back(json::string(id));
  return {{"predictions", std::move(preds)},
          {"model_version", std::to_string(a.version)},
          {"request_ids", std::move(ids)}};
}

json::object v2_response(const std::string& model, const std::string& id, const Answer& a) {
  const int64_t n = static_cast<int64_t>(a.labels.size());
  json::array labels, conf, ids;
  for (int l : a.labels) labels.push_back(static_cast<int64_t>(l));
  for (float c : a.confidence) conf.push_back(static_cast<double>(c));
  for (const auto& r : a.request_ids) ids.push_back(json::string(r));
  json::array outputs{json::object{{"name", "label"},
                                   {"datatype", "INT64"},
                                   {"shape", json::array{n}},
                                   {"data", std::move(labels)}},
                      json::object{{"name", "confidence"},
                                   {"datatype", "FP32"},
                                   {"shape", json::array{n}},
                                   {"data", std::move(conf)}}};
  return {{"model_name", model},
          {"model_version", std::to_string(a.version)},
          {"id", id},
          {"outputs", std::move(outputs)},
          {"parameters", json::object{{"request_ids", std::move(ids)}}}};
}

json::object v2_metadata(const std::string& model, int64_t version) {
  return {{"name", model},
          {"versions", json::array{json::string(std::to_string(version))}},
          {"platform", "ctflow_torchscript_faiss"},
          {"inputs",
           json::array{json::object{
               {"name", "input-0"}, {"datatype", "FP32"}, {"shape", json::array{-1, kPixels}}}}},
          {"outputs",
           json::array{
               json::object{{"name", "label"}, {"datatype", "INT64"}, {"shape", json::array{-1}}},
               json::object{
                   {"name", "confidence"}, {"datatype", "FP32"}, {"shape", json::array{-1}}}}}};
}

}  // namespace ctflow::serve
