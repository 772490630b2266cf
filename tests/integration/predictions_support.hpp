#pragma once
// Helpers for the prediction log's integration tests: records as the predictor sends them and a
// POST that returns status and body.
#include <boost/json.hpp>

#include <string>
#include <utility>

#include "tests/integration/support/harness.hpp"

namespace ctflow::it {

// One prediction record of `model` version `version`; the summary's mean is `mean`.
inline json::object prediction(const std::string& id, const std::string& model, int version,
                               int predicted, double mean = 0.13,
                               const std::string& time = "2030-01-01T00:00:00.000Z") {
  return json::object{{"request_id", id},
                      {"time", time},
                      {"model", model},
                      {"version", version},
                      {"prediction", predicted},
                      {"latency_ms", 1.5},
                      {"summary",
                       {{"mean", mean},
                        {"ink", mean},
                        {"hist", json::array{0.7, 0.05, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03}}}}};
}

// POSTs `body` to `path`; {status, body}. Throws on a transport error.
inline std::pair<int, std::string> post(const ServerProcess& s, const std::string& path,
                                        const std::string& body) {
  auto r = s.client().request("POST", path, body);
  if (!r) throw std::runtime_error("POST " + path + ": " + r.error());
  return {r->status, r->body};
}

// The error message of a JSON error body ("" when there is none).
inline std::string error_message(const std::string& body) {
  try {
    auto v = json::parse(body);
    return std::string(v.at("error").at("message").as_string());
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace ctflow::it
