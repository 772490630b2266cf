#pragma once
// Dataset: labelled 2-D grey images, the unit that data tasks pass to each other as one artifact
// file. Pixels are either bytes (raw, as extracted) or float32 in [0,1] (model-ready, after
// transform). Every sample keeps its source id and the index of the partition it came from, so
// that validation can compare partitions and analysis can name examples.
//
// File format (little-endian): "CTDS" u32 version=1, u64 header length, a JSON header
// {"n","rows","cols","dtype":"u8"|"f32","partitions":[{"name","digest","count"}],"meta":{...}},
// then labels u8[n], ids u32[n], partition u16[n], pixels (u8 or f32)[n*rows*cols].
// Readers check every size; a short or long file is an error, never a crash.
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/result.hpp"

namespace ctflow::tasks {

struct PartitionInfo {
  std::string name;    // "2025-01" (monthly) or the partition directory's name
  std::string digest;  // sha256 of the partition's source image and label bytes
  int64_t count = 0;
};

struct Dataset {
  int64_t rows = 28, cols = 28;
  std::vector<uint8_t> pixels_u8;  // n*rows*cols, used when !is_float
  std::vector<float> pixels_f32;   // n*rows*cols, used when is_float
  bool is_float = false;
  std::vector<uint8_t> labels;      // n
  std::vector<uint32_t> ids;        // n, source sample ids
  std::vector<uint16_t> partition;  // n, index into partitions
  std::vector<PartitionInfo> partitions;
  json::object meta;  // free-form: source, normalisation statistics, ...

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t pixels_per_image() const { return rows * cols; }
  // Pixel i of sample s scaled to [0,1] whatever the dtype.
  float pixel01(int64_t s, int64_t i) const {
    int64_t k = s * rows * cols + i;
    return is_float ? pixels_f32[k] : pixels_u8[k] / 255.0f;
  }
  // A dataset of the given samples (in that order), same dtype, partitions and meta.
  Dataset subset(const std::vector<int64_t>& samples) const;
};

Result<Dataset> read_dataset(const std::string& path);
Result<bool> write_dataset(const std::string& path, const Dataset& d);

// Loads an artifact file that holds a JSON object (reports, splits, predictions).
Result<json::object> read_json_object(const std::string& path);
Result<bool> write_json(const std::string& path, const json::value& v);

}  // namespace ctflow::tasks
