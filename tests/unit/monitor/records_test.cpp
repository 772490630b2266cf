// The prediction log's request bodies: a good record parses; each bad field is refused with a
// message naming records[i].field (scheduler/monitor/records.hpp).
#include <catch2/catch.hpp>

#include "scheduler/monitor/records.hpp"

namespace json = boost::json;
using namespace ctflow;

namespace {

json::object record(const std::string& id = "req-1") {
  return json::parse(R"({"request_id": ")" + id +
                     R"(", "time": "2026-12-07T20:50:00.123Z", "model": "mnist", "version": 3,
      "prediction": 7, "latency_ms": 1.25,
      "summary": {"mean": 0.13, "ink": 0.19, "hist": [0.7, 0.05, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03]}})")
      .as_object();
}

// The error message of parsing {"records": [good, bad]}, or "" when it parsed.
std::string error_of(json::object bad) {
  json::value body = json::object{{"records", json::array{record("ok-0"), std::move(bad)}}};
  auto r = monitor::parse_predictions(body);
  if (auto* e = std::get_if<domain::Error>(&r)) return e->message;
  return "";
}

}  // namespace

TEST_CASE("a prediction record parses into its fields", "[monitor][records]") {
  auto r = monitor::parse_predictions(json::object{{"records", json::array{record()}}});
  REQUIRE(std::holds_alternative<std::vector<monitor::PredictionRecord>>(r));
  const auto& p = std::get<0>(r).at(0);
  CHECK(p.request_id == "req-1");
  CHECK(format_iso8601(p.time) == "2026-12-07T20:50:00.123Z");
  CHECK(p.model == "mnist");
  CHECK(p.version == 3);
  CHECK(p.prediction == 7);
  CHECK(p.latency_ms == Approx(1.25));
  CHECK(p.mean == Approx(0.13));
  CHECK(p.hist[0] == Approx(0.7));
}

TEST_CASE("bad prediction records name the record and the field", "[monitor][records]") {
  auto with = [](const char* key, json::value v) {
    auto r = record("bad");
    r[key] = std::move(v);
    return r;
  };
  auto summary = [](const char* key, json::value v) {
    auto r = record("bad");
    r["summary"].as_object()[key] = std::move(v);
    return r;
  };
  CHECK(error_of(with("request_id", "has space")).rfind("records[1].request_id: expected", 0) == 0);
  CHECK(error_of(with("request_id", json::string(std::string(129, 'a'))))
            .rfind("records[1].request_id:", 0) == 0);
  CHECK(error_of(with("time", "yesterday")).rfind("records[1].time: expected an RFC 3339", 0) == 0);
  CHECK(error_of(with("version", 0)) ==
        "records[1].version: expected a version number >= 1, got a number (0)");
  CHECK(error_of(with("prediction", -1)).rfind("records[1].prediction: expected a class", 0) == 0);
  CHECK(error_of(with("prediction", 2.5)).rfind("records[1].prediction:", 0) == 0);
  CHECK(error_of(with("latency_ms", "fast")).rfind("records[1].latency_ms:", 0) == 0);
  CHECK(error_of(with("model", 3)).rfind("records[1].model:", 0) == 0);
  CHECK(error_of(with("extra", 1)) == "records[1].extra: unknown field");
  CHECK(error_of(summary("mean", 1.5))
            .rfind("records[1].summary.mean: expected a number in [0,1]", 0) == 0);
  CHECK(error_of(summary("hist", json::array{0.5, 0.5})) ==
        "records[1].summary.hist: expected 8 numbers, got 2");
  CHECK(error_of(summary("hist", json::array{0.5, 0.5, 0.5, 0, 0, 0, 0, 0})) ==
        "records[1].summary.hist: the shares sum to 1.5000, not 1");
  CHECK(error_of(summary("hist", json::array{0.5, "x", 0.5, 0, 0, 0, 0, 0})) ==
        "records[1].summary.hist[1]: expected a number in [0,1], got a string");
  auto missing = record("bad");
  missing.erase("summary");
  CHECK(error_of(missing) == "records[1].summary: required");
}

TEST_CASE("the records list itself: missing, empty, too long, not a list", "[monitor][records]") {
  auto msg = [](json::value body) {
    auto r = monitor::parse_predictions(body);
    auto* e = std::get_if<domain::Error>(&r);
    return e ? e->message : std::string();
  };
  CHECK(msg(json::object{}) == "records: required: a list of prediction records");
  CHECK(msg(json::object{{"records", json::array{}}}) == "records: expected at least one entry");
  CHECK(msg(json::object{{"records", 3}}) == "records: expected a list, got a number (3)");
  CHECK(msg(json::array{}) == "body: expected {\"records\": [...]}, got a list");
  json::array many;
  for (int i = 0; i < 10'001; ++i) many.push_back(nullptr);
  CHECK(msg(json::object{{"records", many}}) ==
        "records: 10001 entries, over the limit of 10000 per request");
}

TEST_CASE("label bodies: single and batch", "[monitor][records]") {
  auto one = monitor::parse_label(json::parse(R"({"label": 4})"));
  REQUIRE(std::holds_alternative<int>(one));
  CHECK(std::get<int>(one) == 4);
  auto bad = monitor::parse_label(json::parse(R"({"label": "four"})"));
  REQUIRE(std::holds_alternative<domain::Error>(bad));
  CHECK(std::get<domain::Error>(bad).message.rfind("label: expected a class", 0) == 0);
  auto batch = monitor::parse_labels(json::parse(
      R"({"labels": [{"request_id": "a", "label": 1}, {"request_id": "b c", "label": 2}]})"));
  REQUIRE(std::holds_alternative<domain::Error>(batch));
  CHECK(std::get<domain::Error>(batch).message.rfind("labels[1].request_id: expected", 0) == 0);
}
