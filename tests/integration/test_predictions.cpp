// Integration: the prediction log over the API against a real server and PostgreSQL (issue 21):
// batches are idempotent on request_id, labels arrive later (one or in a batch), bad bodies get
// a 400 naming records[i].field and nothing is stored, and the monitor's window queries over
// 100k predictions read the indexes.
#include <catch2/catch.hpp>

#include "tests/integration/predictions_support.hpp"

using namespace ctflow::it;

namespace {

// Registers version 1 of model m and deploys it as production.
constexpr const char* kRegister = R"(name: reg
tasks:
  - name: reg
    run: [sh, -c, 'echo "{\"registry\":[{\"op\":\"register\",\"model\":\"m\"},{\"op\":\"deploy\",\"model\":\"m\"}]}" > "$CTFLOW_OUTPUTS"']
)";

std::string records(std::initializer_list<json::object> rs) {
  json::array a;
  for (const auto& r : rs) a.push_back(r);
  return json::serialize(json::object{{"records", std::move(a)}});
}

}  // namespace

TEST_CASE("prediction log: idempotent batches, delayed labels, bad bodies",
          "[integration][predictions]") {
  Harness h;
  REQUIRE(str(h.wait(h.submit(kRegister)), "state") == "succeeded");
  auto& s = h.server();

  auto [st, body] = post(s, "/api/v1/predictions",
                         records({prediction("a", "m", 1, 3), prediction("b", "m", 1, 4),
                                  prediction("c", "m", 1, 5)}));
  INFO(body);
  REQUIRE(st == 200);
  CHECK(json::parse(body) == json::parse(R"({"stored": 3, "duplicates": 0})"));
  // The predictor replays its spool: the same three plus one new, one repeated inside the batch.
  std::tie(st, body) = post(
      s, "/api/v1/predictions",
      records({prediction("a", "m", 1, 3), prediction("b", "m", 1, 4), prediction("c", "m", 1, 5),
               prediction("d", "m", 1, 6), prediction("d", "m", 1, 6)}));
  REQUIRE(st == 200);
  CHECK(json::parse(body) == json::parse(R"({"stored": 1, "duplicates": 4})"));
  CHECK(h.db().count("SELECT count(*) FROM predictions") == 4);

  // Labels: one, a batch with an unknown id, and an unknown id alone.
  std::tie(st, body) = post(s, "/api/v1/predictions/a/label", R"({"label": 3})");
  CHECK(st == 200);
  std::tie(st, body) = post(s, "/api/v1/predictions/zzz/label", R"({"label": 3})");
  CHECK(st == 404);
  CHECK(error_message(body) == "no prediction with request id zzz");
  std::tie(st, body) = post(s, "/api/v1/predictions/labels",
                            R"({"labels": [{"request_id": "b", "label": 9}, {"request_id": "nope",
                               "label": 1}, {"request_id": "c", "label": 5}]})");
  REQUIRE(st == 200);
  CHECK(json::parse(body) == json::parse(R"({"labeled": 2, "unknown": ["nope"]})"));
  CHECK(h.db().text("SELECT string_agg(request_id || '=' || coalesce(label::text, '-'), ',' "
                    "ORDER BY request_id) FROM predictions") == "a=3,b=9,c=5,d=-");

  // Bad bodies: 400 naming the field; nothing of the batch is stored.
  auto bad = [&](const std::string& b) {
    auto [code, text] = post(s, "/api/v1/predictions", b);
    CHECK(code == 400);
    return error_message(text);
  };
  CHECK(bad("{not json").rfind("invalid JSON", 0) == 0);
  CHECK(bad(records({prediction("e", "m", 1, 1), prediction("f", "m", 9, 1)})) ==
        "records[1].version: model m has no version 9");
  CHECK(bad(records({prediction("e", "other", 1, 1)})) ==
        "records[0].model: no model named \"other\"");
  auto hist = prediction("e", "m", 1, 1);
  hist["summary"].as_object()["hist"] = json::array{1};
  CHECK(bad(records({prediction("e", "m", 1, 1), hist})) ==
        "records[1].summary.hist: expected 8 numbers, got 1");
  CHECK(bad(R"({"records": [{"request_id": "e"}]})") == "records[0].time: required");
  CHECK(h.db().count("SELECT count(*) FROM predictions") == 4);

  // A viewer may read the monitor view but not write the log.
  auto tok = s.client().request("POST", "/api/v1/tokens", R"({"role": "viewer"})");
  REQUIRE(tok);
  ctflow::cli::Client viewer(s.url(), std::string(json::parse(tok->body).at("token").as_string()));
  auto denied =
      viewer.request("POST", "/api/v1/predictions", records({prediction("v", "m", 1, 1)}));
  REQUIRE(denied);
  CHECK(denied->status == 403);
  auto view = viewer.request("GET", "/api/v1/models/m/monitor?bucket=1h");
  REQUIRE(view);
  INFO(view->body);
  REQUIRE(view->status == 200);
  auto v = json::parse(view->body).as_object();
  auto& v1 = v.at("versions").as_array().at(0).as_object();
  CHECK(v1.at("version").as_int64() == 1);
  CHECK(v1.at("predictions").as_int64() == 4);
  CHECK(v1.at("labeled").as_int64() == 3);
  CHECK(v1.at("accuracy").to_number<double>() == Approx(2.0 / 3.0));
  CHECK(v1.at("series").as_array().size() == 1);
  CHECK(json::serialize(v.at("aliases")) == R"({"production":1})");
  auto badq = viewer.request("GET", "/api/v1/models/m/monitor?bucket=often");
  REQUIRE(badq);
  CHECK(badq->status == 400);
  CHECK(error_message(badq->body) == "bucket: expected a duration from 1s to 31d (e.g. 1h)");
}

TEST_CASE("the monitor's windows over 100k predictions read the indexes",
          "[integration][predictions]") {
  Harness h;
  REQUIRE(str(h.wait(h.submit(kRegister)), "state") == "succeeded");
  h.db().exec(R"SQL(
INSERT INTO predictions(request_id, model_id, version, predicted_at, prediction, latency_ms, mean,
                        ink, hist, label)
SELECT 'gen-' || i, (SELECT id FROM models WHERE name = 'm'), 1,
       timestamptz '2030-01-01' + i * interval '1 second', i % 10, 1, 0.1, 0.1,
       '{1,0,0,0,0,0,0,0}', CASE WHEN i % 3 = 0 THEN i % 10 END
FROM generate_series(1, 120000) i;
ANALYZE predictions)SQL");
  // The statements store/predictions.cpp runs (prediction_window), as EXPLAIN sees them.
  auto plan = [&](const std::string& sql) {
    auto lines = h.db().column("EXPLAIN " + sql);
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    return all;
  };
  const std::string m = "(SELECT id FROM models WHERE name = 'm')";
  auto newest_labeled =
      plan("SELECT prediction, label, mean, ink FROM predictions WHERE model_id = " + m +
           " AND version = 1 AND label IS NOT NULL ORDER BY predicted_at DESC, id DESC LIMIT 1000");
  INFO(newest_labeled);
  CHECK(newest_labeled.find("Index Scan Backward using predictions_labeled") != std::string::npos);
  CHECK(newest_labeled.find("Sort") == std::string::npos);
  auto oldest = plan("SELECT prediction, label, mean, ink FROM predictions WHERE model_id = " + m +
                     " AND version = 1 ORDER BY predicted_at, id LIMIT 1000");
  INFO(oldest);
  CHECK(oldest.find("Index Scan using predictions_by_version") != std::string::npos);
  CHECK(oldest.find("Sort") == std::string::npos);
  // And the monitor view answers over them.
  auto r = h.server().client().request("GET", "/api/v1/models/m/monitor?bucket=1h&points=3");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  auto v1 = json::parse(r->body).at("versions").as_array().at(0).as_object();
  CHECK(v1.at("predictions").as_int64() == 120000);
  CHECK(v1.at("accuracy").to_number<double>() == Approx(1.0));
  CHECK(v1.at("series").as_array().size() == 3);
}
