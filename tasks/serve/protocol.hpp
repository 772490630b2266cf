#pragma once
// The two inference protocols ctflow-serve speaks, as pure functions from JSON to images and from
// predictions to JSON (no sockets, no torch), so every shape rule is tested without a server:
//   KServe v1  POST /v1/models/NAME:predict  {"instances": [[784 floats] | [[28 rows of 28]], ...]}
//              -> {"predictions": [label, ...], "model_version", "request_ids"}
//   Open Inference Protocol v2  POST /v2/models/NAME/infer  {"id"?, "inputs": [{"name", "shape":
//              [N,784] | [N,28,28] | [N,1,28,28], "datatype": "FP32", "data": [flat or nested]}]}
//              -> {"model_name", "model_version", "id", "outputs": [{"name": "label", "datatype":
//              "INT64", "shape": [N], "data"}, {"name": "confidence", "datatype": "FP32", ...}],
//              "parameters": {"request_ids": [...]}}
// Pixels are byte/255: every value must be finite and within [0, 1]. Errors are one line naming
// the field and the reason ("inputs[0].shape: expected [N,784], [N,28,28] or [N,1,28,28], got
// [2,10]"); the route answers them with 400.
#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"

namespace ctflow::serve {

constexpr int64_t kRows = 28, kCols = 28, kPixels = kRows * kCols;

struct Images {
  std::vector<float> pixels;  // n * kPixels, row-major
  int64_t n = 0;
  std::string id;  // v2: the request's "id" when given
};

// `max_images`: more images in one request is an error (the route's limit).
Result<Images> parse_v1(const boost::json::value& body, int64_t max_images);
Result<Images> parse_v2(const boost::json::value& body, int64_t max_images);

struct Answer {
  std::vector<int> labels;
  std::vector<float> confidence;
  int64_t version = 0;
  std::vector<std::string> request_ids;  // one per image
};

boost::json::object v1_response(const Answer& a);
boost::json::object v2_response(const std::string& model, const std::string& id, const Answer& a);

// GET /v2/models/NAME: {"name", "versions": ["V"], "platform", "inputs", "outputs"}.
boost::json::object v2_metadata(const std::string& model, int64_t version);

}  // namespace ctflow::serve
