// Integration, slow (issue 21, acceptance 4): the continuous-training loop closed by the monitor,
// on examples/mnist-ct.yaml with small synthetic data and a controllable clock.
//  1. A run trains, gates, registers and deploys v1 on the two normal partitions.
//  2. v1's predictions on normal digits, labelled: accuracy fine, no run.
//  3. A stream of inverted digits (the shifted inputs); their labels arrive later. Live accuracy
//     falls below the threshold: exactly one run starts, trigger "monitor", with its numbers.
//  4. That run trains on data that includes the shifted partition (the monitor's clock is past
//     it), passes the gate, registers and deploys v2; v2's lineage names v1 as parent and the
//     trigger; the predictor swaps to v2, which does better than v1 on the shifted inputs.
//  5. Rolled back to v1, the same low accuracy crosses again within the cooldown: nothing starts.
// Every prediction goes through the real predictor: ctflow-serve follows the production alias,
// answers KServe v1 requests (images drawn by tools/draw_digits) and sends its prediction log
// to the server; the test posts the delayed labels by the request ids the predictor returned.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "scheduler/common/time_util.hpp"
#include "tests/integration/predictions_support.hpp"
#include "tests/integration/serve/serve_support.hpp"

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

// What the predictor answered for n fresh digits: {"labels": [{"request_id", "label"}] (the
// delayed ground truth), "accuracy", "version" (that answered)}.
json::object predict(ServeProcess& sp, int n, int seed, bool invert) {
  auto drawn = run_command({std::string(CTFLOW_BINARY_DIR) + "/tests/draw_digits",
                            std::to_string(n), std::to_string(seed), invert ? "invert" : "plain"},
                           60s);
  INFO(drawn.err);
  REQUIRE(drawn.rc == 0);
  auto d = json::parse(drawn.out).as_object();
  auto r = sp.client().request("POST", "/v1/models/mnist:predict",
                               json::serialize(json::object{{"instances", d.at("instances")}}));
  REQUIRE(r);
  INFO(r->body.substr(0, 400));
  REQUIRE(r->status == 200);
  auto a = json::parse(r->body).as_object();
  auto& preds = a.at("predictions").as_array();
  auto& ids = a.at("request_ids").as_array();
  auto& truth = d.at("labels").as_array();
  REQUIRE(preds.size() == truth.size());
  REQUIRE(ids.size() == truth.size());
  json::array labels;
  int correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    labels.push_back(json::object{{"request_id", ids[i]}, {"label", truth[i]}});
    correct += preds[i].to_number<int64_t>() == truth[i].to_number<int64_t>();
  }
  const auto& v = a.at("model_version");
  return {{"labels", std::move(labels)},
          {"accuracy", double(correct) / double(truth.size())},
          {"version", v.is_string() ? std::string(v.as_string()) : json::serialize(v)}};
}

// Waits until the predictor's log has delivered `total` predictions to the server.
void wait_logged(const Db& db, int64_t total) {
  REQUIRE(poll_until([&] { return db.count("SELECT count(*) FROM predictions") >= total; }, 30s));
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
  ServeProcess sp({"--model", "mnist", "--api", s.url(), "--token-file", s.token_file(),
                   "--cache-dir", h.path("serve-cache"), "--threads", "1"},
                  h.path("serve.log"));
  sp.wait_live();
  REQUIRE(sp.wait_ready(200));
  INFO("predictor log:\n" << sp.log());

  // 2. Normal digits, labelled: v1 is good on them; the monitor looks and starts nothing.
  auto normal = predict(sp, 100, 77, false);
  INFO("v1 on normal digits: " << normal.at("accuracy").to_number<double>());
  CHECK(str(normal, "version") == "1");
  REQUIRE(normal.at("accuracy").to_number<double>() >= 0.6);
  wait_logged(h.db(), 100);
  post_ok(s, "/api/v1/predictions/labels", {{"labels", normal.at("labels")}});
  REQUIRE(poll_until(
      [&] { return h.db().count("SELECT count(*) FROM monitor_checks WHERE outcome = 'ok'") > 0; },
      20s));
  CHECK(monitor_runs(h.db()) == 0);

  // 3. Inverted digits; their labels come later. The shifted partition has arrived by then.
  auto shifted = predict(sp, 100, 78, true);
  const double v1_shifted = shifted.at("accuracy").to_number<double>();
  INFO("v1 on inverted digits: " << v1_shifted);
  REQUIRE(v1_shifted < 0.6);
  wait_logged(h.db(), 200);
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
  // The predictor swaps to v2 (alias event), which is better on the shifted inputs.
  json::object again;
  REQUIRE(poll_until(
      [&] {
        again = predict(sp, 100, 79, true);
        return str(again, "version") == "2";
      },
      30s, 500ms));
  INFO("v2 on inverted digits: " << again.at("accuracy").to_number<double>());
  CHECK(again.at("accuracy").to_number<double>() > v1_shifted);
  // One line for the record (docs and reports quote it).
  std::fprintf(stderr,
               "monitor loop: v1 on normal digits %.3f, v1 on inverted %.3f (crossed 0.6), v2 on "
               "inverted %.3f\n",
               normal.at("accuracy").to_number<double>(), v1_shifted,
               again.at("accuracy").to_number<double>());

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
