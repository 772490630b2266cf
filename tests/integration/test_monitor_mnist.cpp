// Integration, slow (issue 21, acceptance 4): the continuous-training loop closed by the monitor,
// on examples/mnist-ct.yaml with small synthetic data and a controllable clock.
//  1. A run trains, gates, registers and deploys v1 on the two normal partitions.
//  2. v1's predictions on normal digits, labelled: accuracy fine, no run.
//  3. A stream of inverted digits (the shifted inputs); their labels arrive later. Live accuracy
//     falls below the threshold: exactly one run starts, trigger "monitor", with its numbers.
//  4. That run trains on data that includes the shifted partition (the monitor's clock is past
//     it), passes the gate, registers and deploys v2; v2's lineage names v1 as parent and the
//     trigger; v2 does better than v1 on the shifted inputs.
//  5. Rolled back to v1, the same low accuracy crosses again within the cooldown: nothing starts.
// Predictions come from tools/predict_stream (the deployed version's own artifacts, run with the
// gate's code), not from ctflow-serve: see the README's serving section.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "scheduler/common/time_util.hpp"
#include "tests/integration/predictions_support.hpp"

using namespace ctflow::it;
using ctflow::format_iso8601;
using ctflow::parse_iso8601;

namespace {

const std::string kSource = "synthetic://digits?n=900&seed=3&partitions=3&drift=invert";

std::string test_spec() {
  std::ifstream in(std::string(CTFLOW_SOURCE_DIR) + "/examples/mnist-ct.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string spec = ss.str();
  // The example's monitor, sized for 100 predictions; a shorter study.
  auto from = spec.find("\nmonitor:\n"), to = spec.find("\ntasks:\n");
  REQUIRE((from != std::string::npos && to != std::string::npos && from < to));
  spec.replace(from, to - from,
               "\nmonitor: {model: mnist, alias: production, window: 100, min_labels: 50, "
               "accuracy_below: 0.6, cooldown: 6h}");
  auto trials = spec.find("max_trials: 4");
  REQUIRE(trials != std::string::npos);
  spec.replace(trials, 13, "max_trials: 2");
  return spec;
}

json::value get_json(const ServerProcess& s, const std::string& path) {
  auto r = s.client().request("GET", path);
  if (!r || r->status != 200)
    throw std::runtime_error("GET " + path + ": " + (r ? r->body : r.error()));
  return json::parse(r->body);
}

// Downloads version v's model, index and index labels; returns their paths.
std::vector<std::string> pull(const Harness& h, ServerProcess& s, int v) {
  auto art =
      get_json(s, "/api/v1/models/mnist/versions/" + std::to_string(v)).at("artifacts").as_object();
  std::vector<std::string> paths;
  for (const char* name : {"model", "index", "index-labels"}) {
    std::string digest(art.at(name).at("digest").as_string());
    auto r = s.client().request("GET", "/api/v1/artifacts/" + digest + "/content");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    paths.push_back(h.path("v" + std::to_string(v) + "-" + name));
    write_text(paths.back(), r->body);
  }
  return paths;
}

// What version v (its files) predicts on n fresh digits: {"records", "labels", "accuracy"}.
json::object predict(const std::vector<std::string>& files, int v, int n, int seed, bool invert,
                     const std::string& prefix, const std::string& start) {
  auto r = run_command({std::string(CTFLOW_BINARY_DIR) + "/tests/predict_stream", files[0],
                        files[1], files[2], std::to_string(n), std::to_string(seed),
                        invert ? "invert" : "plain", "mnist", std::to_string(v), prefix, start},
                       120s);
  INFO(r.err);
  REQUIRE(r.rc == 0);
  return json::parse(r.out).as_object();
}

void post_ok(const ServerProcess& s, const std::string& path, const json::object& body) {
  auto [st, text] = post(s, path, json::serialize(body));
  INFO(text);
  REQUIRE(st == 200);
}

int64_t monitor_runs(const Db& db) {
  return db.count("SELECT count(*) FROM runs WHERE trigger = 'monitor'");
}

}  // namespace

TEST_CASE("the monitor retrains mnist-ct once when shifted inputs lower live accuracy",
          "[integration][monitor][slow]") {
  TempDir clock_dir;
  const std::string clock = clock_dir / "clock";
  auto set_clock = [&](const std::string& t) {
    write_text(clock + ".tmp", t + "\n");
    std::rename((clock + ".tmp").c_str(), clock.c_str());
  };
  set_clock("2025-02-15T03:00:00Z");
  ServerConfig cfg;
  cfg.extra_args = {"--clock-file", clock, "--monitor-interval-ms", "300"};
  Harness h(cfg);
  auto& s = h.server();
  INFO("server log:\n" << s.log());

  // 1. v1 from the two normal partitions (logical date before the shifted one).
  json::object body{
      {"spec", test_spec()},
      {"params_text", {{"source", kSource}, {"epochs", "2"}, {"tune_epochs", "1"}, {"k", "3"}}},
      {"logical_date", "2025-02-15T03:00:00Z"}};
  auto sub = s.client().request("POST", "/api/v1/runs", json::serialize(body));
  REQUIRE(sub);
  REQUIRE(sub->status == 201);
  std::string run1(json::parse(sub->body).at("id").as_string());
  REQUIRE(str(h.wait(run1, 400s), "state") == "succeeded");
  REQUIRE(h.db().text("SELECT d.version FROM deployments d JOIN models m ON m.id = d.model_id "
                      "WHERE m.name = 'mnist' AND d.superseded_at IS NULL") == "1");
  auto v1 = pull(h, s, 1);

  // 2. Normal digits, labelled: v1 is good on them; the monitor looks and starts nothing.
  auto normal = predict(v1, 1, 100, 77, false, "plain-", "2025-03-01T00:00:00Z");
  INFO("v1 on normal digits: " << normal.at("accuracy").to_number<double>());
  REQUIRE(normal.at("accuracy").to_number<double>() >= 0.6);
  post_ok(s, "/api/v1/predictions", {{"records", normal.at("records")}});
  post_ok(s, "/api/v1/predictions/labels", {{"labels", normal.at("labels")}});
  REQUIRE(poll_until(
      [&] { return h.db().count("SELECT count(*) FROM monitor_checks WHERE outcome = 'ok'") > 0; },
      20s));
  CHECK(monitor_runs(h.db()) == 0);

  // 3. Inverted digits; their labels come later. The shifted partition has arrived by then.
  auto shifted = predict(v1, 1, 100, 78, true, "shift-", "2025-03-01T01:00:00Z");
  const double v1_shifted = shifted.at("accuracy").to_number<double>();
  INFO("v1 on inverted digits: " << v1_shifted);
  REQUIRE(v1_shifted < 0.6);
  post_ok(s, "/api/v1/predictions", {{"records", shifted.at("records")}});
  std::this_thread::sleep_for(1500ms);
  CHECK(monitor_runs(h.db()) == 0);  // no labels yet: accuracy still judged on normal digits
  set_clock("2025-03-15T03:00:00Z");
  post_ok(s, "/api/v1/predictions/labels", {{"labels", shifted.at("labels")}});
  REQUIRE(poll_until([&] { return monitor_runs(h.db()) >= 1; }, 30s));
  std::this_thread::sleep_for(1500ms);
  REQUIRE(monitor_runs(h.db()) == 1);
  const std::string run2 = h.db().text("SELECT id FROM runs WHERE trigger = 'monitor'");
  auto detail = json::parse(h.db().text("SELECT trigger_detail FROM runs WHERE id = " + run2))
                    .at("monitor")
                    .as_object();
  INFO("trigger detail: " << json::serialize(detail));
  CHECK(detail.at("version").as_int64() == 1);
  CHECK(detail.at("labels").as_int64() == 100);
  auto& crossed = detail.at("crossed").as_array().at(0).as_object();
  CHECK(crossed.at("metric").as_string() == "accuracy");
  CHECK(crossed.at("value").to_number<double>() == Approx(v1_shifted).margin(1e-9));

  // 4. The retraining run: the shifted partition in its data, the gate passes, v2 deployed.
  auto r2 = h.wait(run2, 400s);
  REQUIRE(str(r2, "state") == "succeeded");
  auto parts = get_task(s, run2, "extract").at("outputs").at("partitions").as_array();
  REQUIRE(parts.size() == 3);
  CHECK(std::string(parts[2].at("name").as_string()) == "2025-03");
  CHECK(str(get_task(s, run2, "validate-model").at("outputs").as_object(), "promoted") == "true");
  CHECK(h.db().text("SELECT d.version FROM deployments d JOIN models m ON m.id = d.model_id "
                    "WHERE m.name = 'mnist' AND d.superseded_at IS NULL") == "2");
  auto lineage = get_json(s, "/api/v1/models/mnist/versions/2/lineage").as_object();
  INFO("lineage: " << json::serialize(lineage));
  CHECK(lineage.at("parent").at("version").as_int64() == 1);
  CHECK(lineage.at("run").at("trigger").as_string() == "monitor");
  CHECK(lineage.at("run").at("trigger_detail").at("monitor").at("version").as_int64() == 1);
  auto v2 = pull(h, s, 2);
  auto again = predict(v2, 2, 100, 78, true, "v2-shift-", "2025-03-16T00:00:00Z");
  INFO("v2 on inverted digits: " << again.at("accuracy").to_number<double>());
  CHECK(again.at("accuracy").to_number<double>() > v1_shifted);

  // 5. Rolled back to v1: its live accuracy crosses again, within the cooldown: nothing starts.
  post_ok(s, "/api/v1/models/mnist/aliases/production", {{"version", 1}});
  REQUIRE(poll_until(
      [&] {
        return h.db().count(
                   "SELECT count(*) FROM monitor_checks WHERE outcome = 'cooldown' "
                   "AND version = 1") > 0;
      },
      20s));
  std::this_thread::sleep_for(1000ms);
  CHECK(monitor_runs(h.db()) == 1);
  auto shown = h.cli({"run", run2});
  CHECK(shown.out.find("trigger: monitor (mnist@production v1: accuracy") != std::string::npos);
}
