#pragma once
// The prediction log's records as the API receives them (POST /api/v1/predictions and the label
// routes), parsed and checked before anything touches the database. Pure; any thread.
//
// A prediction record:
//   {"request_id": "<1-128 of [A-Za-z0-9_.:-]>", "time": "<RFC 3339, UTC or with an offset>",
//    "model": "mnist", "version": 3, "prediction": 7, "latency_ms": 1.25,
//    "summary": {"mean": 0.13, "ink": 0.19, "hist": [8 shares of pixels per intensity bin]}}
// mean and ink are in [0,1]; hist holds 8 numbers in [0,1] summing to 1 (+-0.01);
// prediction is a class 0..kMaxClass; latency_ms is finite and >= 0. Unknown fields are errors
// (a typo would otherwise be dropped silently).
//
// Errors: domain::invalid with a message naming the field and the reason
// ("records[3].summary.hist: expected 8 numbers, got 7").
#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "scheduler/domain/error.hpp"
#include "scheduler/monitor/record.hpp"

namespace ctflow::monitor {

// True for 1-128 characters of [A-Za-z0-9_.:-].
bool valid_request_id(std::string_view id);

// The body of POST /api/v1/predictions: {"records": [...]}, 1..kMaxRecords records.
domain::Outcome<std::vector<PredictionRecord>> parse_predictions(const boost::json::value& body);
// The body of POST /api/v1/predictions/labels: {"labels": [{"request_id", "label"}, ...]}.
domain::Outcome<std::vector<LabelRecord>> parse_labels(const boost::json::value& body);
// The body of POST /api/v1/predictions/{request_id}/label: {"label": N}.
domain::Outcome<int> parse_label(const boost::json::value& body);

}  // namespace ctflow::monitor
