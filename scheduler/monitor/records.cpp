#include "scheduler/monitor/records.hpp"

#include <fmt/format.h>

#include <cmath>
#include <optional>

namespace ctflow::monitor {
namespace {

namespace json = boost::json;

std::string what(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "a list";
    case json::kind::object:
      return "an object";
    default:
      return "a number (" + json::serialize(v) + ")";
  }
}

domain::Error bad(const std::string& path, const std::string& reason) {
  return domain::invalid(path + ": " + reason);
}

// An integer in [lo, hi] (a double with no fraction counts), or nullopt.
std::optional<int64_t> as_int(const json::value& v, int64_t lo, int64_t hi) {
  int64_t x = 0;
  if (v.is_int64())
    x = v.get_int64();
  else if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX))
    x = static_cast<int64_t>(v.get_uint64());
  else if (v.is_double() && std::isfinite(v.get_double()) &&
           v.get_double() == std::floor(v.get_double()) && std::fabs(v.get_double()) < 9e15)
    x = static_cast<int64_t>(v.get_double());
  else
    return std::nullopt;
  if (x < lo || x > hi) return std::nullopt;
  return x;
}

std::optional<double> as_number(const json::value& v, double lo, double hi) {
  if (!v.is_number()) return std::nullopt;
  double x = v.to_number<double>();
  if (!std::isfinite(x) || x < lo || x > hi) return std::nullopt;
  return x;
}

// Checks that `o` has only `known` keys and every `required` one; "" or the error.
std::optional<domain::Error> check_keys(const json::object& o, const std::string& path,
                                        std::initializer_list<std::string_view> known) {
  for (const auto& kv : o) {
    bool ok = false;
    for (auto k : known) ok = ok || kv.key() == k;
    if (!ok) return bad(path + "." + std::string(kv.key()), "unknown field");
  }
  for (auto k : known)
    if (!o.if_contains(k)) return bad(path + "." + std::string(k), "required");
  return std::nullopt;
}

std::optional<domain::Error> read_request_id(const json::object& o, const std::string& path,
                                             std::string& out) {
  const json::value& v = o.at("request_id");
  if (!v.is_string() || !valid_request_id(v.get_string()))
    return bad(path + ".request_id",
               "expected 1-128 characters of [A-Za-z0-9_.:-], got " +
                   (v.is_string()
                        ? "\"" + std::string(std::string_view(v.get_string()).substr(0, 40)) + "\""
                        : what(v)));
  out = std::string(v.get_string());
  return std::nullopt;
}

std::optional<domain::Error> read_summary(const json::value& v, const std::string& path,
                                          PredictionRecord& r) {
  if (!v.is_object()) return bad(path, "expected {mean, ink, hist}, got " + what(v));
  const auto& o = v.get_object();
  if (auto e = check_keys(o, path, {"mean", "ink", "hist"})) return e;
  auto mean = as_number(o.at("mean"), 0, 1);
  if (!mean) return bad(path + ".mean", "expected a number in [0,1], got " + what(o.at("mean")));
  auto ink = as_number(o.at("ink"), 0, 1);
  if (!ink) return bad(path + ".ink", "expected a number in [0,1], got " + what(o.at("ink")));
  const json::value& h = o.at("hist");
  if (!h.is_array() || h.get_array().size() != kHistBins)
    return bad(path + ".hist",
               fmt::format("expected {} numbers, got {}", kHistBins,
                           h.is_array() ? std::to_string(h.get_array().size()) : what(h)));
  double sum = 0;
  for (size_t i = 0; i < kHistBins; ++i) {
    auto x = as_number(h.get_array()[i], 0, 1);
    if (!x)
      return bad(fmt::format("{}.hist[{}]", path, i),
                 "expected a number in [0,1], got " + what(h.get_array()[i]));
    r.hist[i] = *x;
    sum += *x;
  }
  if (std::fabs(sum - 1.0) > 0.01)
    return bad(path + ".hist", fmt::format("the shares sum to {:.4f}, not 1", sum));
  r.mean = *mean;
  r.ink = *ink;
  return std::nullopt;
}

std::optional<domain::Error> read_record(const json::value& v, const std::string& path,
                                         PredictionRecord& r) {
  if (!v.is_object()) return bad(path, "expected a prediction record (an object), got " + what(v));
  const auto& o = v.get_object();
  if (auto e = check_keys(
          o, path,
          {"request_id", "time", "model", "version", "prediction", "latency_ms", "summary"}))
    return e;
  if (auto e = read_request_id(o, path, r.request_id)) return e;
  const json::value& t = o.at("time");
  std::optional<TimePoint> tp;
  if (t.is_string()) tp = parse_iso8601(t.get_string());
  if (!tp || !t.is_string() || t.get_string().size() < 20)
    return bad(path + ".time",
               "expected an RFC 3339 instant (2026-12-07T20:50:00.123Z), got " +
                   (t.is_string()
                        ? "\"" + std::string(std::string_view(t.get_string()).substr(0, 40)) + "\""
                        : what(t)));
  r.time = *tp;
  const json::value& m = o.at("model");
  if (!m.is_string() || m.get_string().empty() || m.get_string().size() > 128)
    return bad(path + ".model", "expected a model name, got " + what(m));
  r.model = std::string(m.get_string());
  auto ver = as_int(o.at("version"), 1, INT32_MAX);
  if (!ver)
    return bad(path + ".version", "expected a version number >= 1, got " + what(o.at("version")));
  r.version = *ver;
  auto pred = as_int(o.at("prediction"), 0, kMaxClass);
  if (!pred)
    return bad(path + ".prediction",
               fmt::format("expected a class 0..{}, got {}", kMaxClass, what(o.at("prediction"))));
  r.prediction = static_cast<int>(*pred);
  auto lat = as_number(o.at("latency_ms"), 0, 1e9);
  if (!lat)
    return bad(path + ".latency_ms",
               "expected a number of milliseconds >= 0, got " + what(o.at("latency_ms")));
  r.latency_ms = *lat;
  return read_summary(o.at("summary"), path + ".summary", r);
}

// The list under `key` of a body {"<key>": [...]}: 1..kMaxRecords entries.
domain::Outcome<const json::array*> list_of(const json::value& body, std::string_view key,
                                            std::string_view shape) {
  const json::object* o = body.if_object();
  if (!o) return bad("body", fmt::format("expected {{\"{}\": [...]}}, got {}", key, what(body)));
  for (const auto& kv : *o)
    if (kv.key() != key) return bad(std::string(kv.key()), "unknown field");
  const json::value* v = o->if_contains(key);
  if (!v) return bad(std::string(key), fmt::format("required: a list of {}", shape));
  if (!v->is_array()) return bad(std::string(key), "expected a list, got " + what(*v));
  const auto& a = v->get_array();
  if (a.empty()) return bad(std::string(key), "expected at least one entry");
  if (a.size() > kMaxRecords)
    return bad(std::string(key),
               fmt::format("{} entries, over the limit of {} per request", a.size(), kMaxRecords));
  return &a;
}

}  // namespace

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

domain::Outcome<std::vector<PredictionRecord>> parse_predictions(const json::value& body) {
  auto list = list_of(body, "records", "prediction records");
  if (auto* e = std::get_if<domain::Error>(&list)) return *e;
  const json::array& a = *std::get<0>(list);
  std::vector<PredictionRecord> out(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    if (auto e = read_record(a[i], fmt::format("records[{}]", i), out[i])) return *e;
  return out;
}

domain::Outcome<std::vector<LabelRecord>> parse_labels(const json::value& body) {
  auto list = list_of(body, "labels", "{request_id, label}");
  if (auto* e = std::get_if<domain::Error>(&list)) return *e;
  const json::array& a = *std::get<0>(list);
  std::vector<LabelRecord> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    std::string path = fmt::format("labels[{}]", i);
    if (!a[i].is_object()) return bad(path, "expected {request_id, label}, got " + what(a[i]));
    const auto& o = a[i].get_object();
    if (auto e = check_keys(o, path, {"request_id", "label"})) return *e;
    if (auto e = read_request_id(o, path, out[i].request_id)) return *e;
    auto l = as_int(o.at("label"), 0, kMaxClass);
    if (!l)
      return bad(path + ".label",
                 fmt::format("expected a class 0..{}, got {}", kMaxClass, what(o.at("label"))));
    out[i].label = static_cast<int>(*l);
  }
  return out;
}

domain::Outcome<int> parse_label(const json::value& body) {
  const json::object* o = body.if_object();
  if (!o) return bad("body", "expected {\"label\": N}, got " + what(body));
  for (const auto& kv : *o)
    if (kv.key() != "label") return bad(std::string(kv.key()), "unknown field");
  const json::value* v = o->if_contains("label");
  if (!v) return bad("label", "required: the true class");
  auto l = as_int(*v, 0, kMaxClass);
  if (!l) return bad("label", fmt::format("expected a class 0..{}, got {}", kMaxClass, what(*v)));
  return static_cast<int>(*l);
}

}  // namespace ctflow::monitor
