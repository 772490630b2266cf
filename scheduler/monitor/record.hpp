#pragma once
// The prediction log's record types: plain values shared by the parser (records.hpp), the store
// (store/predictions.hpp) and the monitor. No dependencies beyond the standard library and time.
#include <array>
#include <optional>
#include <string>

#include "scheduler/common/time_util.hpp"

namespace ctflow::monitor {

constexpr size_t kMaxRecords = 10'000;  // per request, predictions or labels
constexpr int kMaxClass = 9999;         // predictions and labels are classes 0..kMaxClass
constexpr size_t kHistBins = 8;

struct PredictionRecord {
  std::string request_id;
  TimePoint time;
  std::string model;
  int64_t version = 0;
  int prediction = 0;
  double latency_ms = 0;
  double mean = 0, ink = 0;
  std::array<double, kHistBins> hist{};
};

struct LabelRecord {
  std::string request_id;
  int label = 0;
};

// One logged prediction as the monitor reads it back.
struct Point {
  int prediction = 0;
  std::optional<int> label;  // absent until the ground truth arrived
  double mean = 0, ink = 0;
};

}  // namespace ctflow::monitor
