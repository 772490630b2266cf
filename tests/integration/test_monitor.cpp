// Integration: a monitor in the control plane (issue 21) with a controllable clock and two
// replicas on one database: live accuracy below the threshold starts exactly one run (trigger
// monitor, the numbers that crossed in trigger_detail, shown by `ctflow run`); a second crossing
// within the cooldown starts nothing; after the cooldown it starts one more.
#include <catch2/catch.hpp>

#include <cstdio>
#include <thread>

#include "scheduler/common/time_util.hpp"
#include "tests/integration/predictions_support.hpp"

using namespace ctflow::it;
using ctflow::format_iso8601;
using ctflow::parse_iso8601;
using ctflow::TimePoint;

namespace {

const TimePoint kT0 = *parse_iso8601("2030-01-01T00:00:00Z");

constexpr const char* kRegister = R"(name: reg
tasks:
  - name: reg
    run: [sh, -c, 'echo "{\"registry\":[{\"op\":\"register\",\"model\":\"m\"},{\"op\":\"deploy\",\"model\":\"m\"}]}" > "$CTFLOW_OUTPUTS"']
)";

// The watched pipeline: its "retraining" deploys nothing, so accuracy stays low and only the
// cooldown and the active run keep the monitor from starting more.
constexpr const char* kWatched = R"(name: watched
monitor: {model: m, alias: production, window: 20, min_labels: 10, accuracy_below: 0.8, cooldown: 1h}
tasks:
  - name: retrain
    run: [sh, -c, 'sleep 1']
)";

class TestClock {
 public:
  TestClock() { write(kT0); }
  std::string path() const { return dir_ / "clock"; }
  void write(TimePoint t) {
    write_text(path() + ".tmp", format_iso8601(t) + "\n");
    std::rename((path() + ".tmp").c_str(), path().c_str());
  }

 private:
  TempDir dir_;
};

ServerConfig monitored(const TestClock& c) {
  ServerConfig cfg;
  cfg.extra_args = {"--clock-file", c.path(), "--monitor-interval-ms", "200"};
  return cfg;
}

// Posts n predictions of m v1 (class 1) labelled so that `right` of them are correct.
void post_labelled(const ServerProcess& s, const std::string& prefix, int n, int right) {
  json::array recs, labels;
  for (int i = 0; i < n; ++i) {
    std::string id = prefix + std::to_string(i);
    recs.push_back(prediction(id, "m", 1, 1));
    labels.push_back(json::object{{"request_id", id}, {"label", i < right ? 1 : 2}});
  }
  auto [st, body] =
      post(s, "/api/v1/predictions", json::serialize(json::object{{"records", recs}}));
  REQUIRE(st == 200);
  std::tie(st, body) =
      post(s, "/api/v1/predictions/labels", json::serialize(json::object{{"labels", labels}}));
  REQUIRE(st == 200);
}

// A counter of the server's ctflow_monitor family on /metrics; -1 when the line is missing.
double monitor_counter(const ServerProcess& s, const std::string& name) {
  auto r = s.client().request("GET", "/metrics");
  REQUIRE(r);
  std::string line = "ctflow_monitor{counter=\"" + name + "\"} ";
  auto at = r->body.find(line);
  return at == std::string::npos ? -1 : std::stod(r->body.substr(at + line.size()));
}

// Returns once each server has finished two more monitor passes than now: the pass under way
// may have read the data before it arrived, the next one has seen it.
void settle(const std::vector<const ServerProcess*>& servers) {
  std::vector<double> base;
  for (const auto* s : servers) base.push_back(monitor_counter(*s, "passes"));
  REQUIRE(poll_until(
      [&] {
        for (size_t i = 0; i < servers.size(); ++i)
          if (monitor_counter(*servers[i], "passes") < base[i] + 2) return false;
        return true;
      },
      20s));
}

int64_t monitor_runs(const Db& db) {
  return db.count("SELECT count(*) FROM runs WHERE trigger = 'monitor'");
}

}  // namespace

TEST_CASE("a monitor starts one run on low accuracy, then cools down", "[integration][monitor]") {
  TestClock clock;
  Harness h(monitored(clock));
  ServerConfig cfg2 = monitored(clock);
  cfg2.database_url = h.db().url();
  cfg2.data_dir = h.path("server2");
  cfg2.log_path = h.path("server2.log");
  ServerProcess replica(cfg2);
  replica.start();
  INFO("server log:\n" << h.server().log() << "\nreplica log:\n" << replica.log());

  REQUIRE(str(h.wait(h.submit(kRegister)), "state") == "succeeded");
  REQUIRE(str(h.wait(h.submit(kWatched)), "state") == "succeeded");
  CHECK(monitor_runs(h.db()) == 0);

  // Too few labels first (5 < min_labels 10): nothing; then 25% accuracy over 20 labels.
  post_labelled(h.server(), "early-", 5, 0);
  settle({&h.server(), &replica});
  CHECK(monitor_runs(h.db()) == 0);
  post_labelled(h.server(), "low-", 20, 5);
  REQUIRE(poll_until([&] { return monitor_runs(h.db()) >= 1; }, 20s));
  settle({&h.server(), &replica});  // both replicas have looked again
  REQUIRE(monitor_runs(h.db()) == 1);
  const std::string run = h.db().text("SELECT id FROM runs WHERE trigger = 'monitor'");
  auto detail = json::parse(h.db().text("SELECT trigger_detail FROM runs WHERE id = " + run))
                    .at("monitor")
                    .as_object();
  INFO(json::serialize(detail));
  CHECK(detail.at("version").as_int64() == 1);
  CHECK(detail.at("labels").as_int64() == 20);
  auto& crossed = detail.at("crossed").as_array().at(0).as_object();
  CHECK(crossed.at("metric").as_string() == "accuracy");
  CHECK(crossed.at("value").to_number<double>() == Approx(0.25));
  CHECK(crossed.at("threshold").to_number<double>() == Approx(0.8));
  CHECK(h.db().text("SELECT iso(logical_date) FROM runs WHERE id = " + run) ==
        "2030-01-01T00:00:00Z");
  REQUIRE(str(h.wait(run), "state") == "succeeded");
  auto shown = h.cli({"run", run});
  CHECK(shown.out.find(
            "trigger: monitor (m@production v1: accuracy 0.2500 < 0.8000 over 20 labels)") !=
        std::string::npos);
  auto api = get_run(h.server(), run);
  REQUIRE(api);
  CHECK(api->at("trigger_detail").at("monitor").at("labels").as_int64() == 20);

  // Still below, within the cooldown: recorded as such, no run.
  post_labelled(h.server(), "again-", 10, 0);
  REQUIRE(poll_until(
      [&] {
        return h.db().count("SELECT count(*) FROM monitor_checks WHERE outcome = 'cooldown'") > 0;
      },
      10s));
  CHECK(monitor_runs(h.db()) == 1);

  // An hour later on the monitor's clock: one more run, with that logical date.
  clock.write(kT0 + std::chrono::minutes(61));
  REQUIRE(poll_until([&] { return monitor_runs(h.db()) >= 2; }, 20s));
  settle({&h.server(), &replica});
  CHECK(monitor_runs(h.db()) == 2);
  CHECK(h.db().text("SELECT iso(max(logical_date)) FROM runs WHERE trigger = 'monitor'") ==
        "2030-01-01T01:01:00Z");

  // The dashboard's view: the monitor with its checks, the triggered ones naming their runs.
  auto view = h.server().client().request("GET", "/api/v1/models/m/monitor");
  REQUIRE(view);
  REQUIRE(view->status == 200);
  auto mons = json::parse(view->body).at("monitors").as_array();
  REQUIRE(mons.size() == 1);
  CHECK(mons[0].at("pipeline").as_string() == "watched");
  int triggered = 0;
  for (const auto& c : mons[0].at("checks").as_array())
    triggered += c.at("outcome").as_string() == "triggered";
  CHECK(triggered == 2);
}

TEST_CASE("a monitor starts a run when the inputs drift, before any label",
          "[integration][monitor]") {
  TestClock clock;
  Harness h(monitored(clock));
  INFO("server log:\n" << h.server().log());
  REQUIRE(str(h.wait(h.submit(kRegister)), "state") == "succeeded");
  constexpr const char* kDrift = R"(name: drifting
monitor: {model: m, window: 10, drift: {metric: ks, feature: mean, threshold: 0.5}, cooldown: 1h}
tasks:
  - name: retrain
    run: [echo, retrain]
)";
  REQUIRE(str(h.wait(h.submit(kDrift)), "state") == "succeeded");
  // The reference: the version's first 10 predictions (dark images); then 9 bright ones, one
  // short of a full live window: nothing is judged yet.
  json::array recs;
  for (int i = 0; i < 19; ++i)
    recs.push_back(prediction(
        "d" + std::to_string(i), "m", 1, 1, i < 10 ? 0.1 : 0.9,
        "2030-01-01T00:00:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".000Z"));
  auto [st, body] =
      post(h.server(), "/api/v1/predictions", json::serialize(json::object{{"records", recs}}));
  REQUIRE(st == 200);
  settle({&h.server()});
  CHECK(monitor_runs(h.db()) == 0);
  std::tie(st, body) =
      post(h.server(), "/api/v1/predictions",
           json::serialize(json::object{
               {"records",
                json::array{prediction("d19", "m", 1, 1, 0.9, "2030-01-01T00:00:19.000Z")}}}));
  REQUIRE(st == 200);
  REQUIRE(poll_until([&] { return monitor_runs(h.db()) == 1; }, 20s));
  auto crossed = json::parse(h.db().text("SELECT trigger_detail FROM runs WHERE trigger = "
                                         "'monitor'"))
                     .at("monitor")
                     .at("crossed")
                     .as_array()
                     .at(0)
                     .as_object();
  INFO(json::serialize(crossed));
  CHECK(crossed.at("metric").as_string() == "ks");
  CHECK(crossed.at("feature").as_string() == "mean");
  CHECK(crossed.at("value").to_number<double>() == Approx(1.0));
  CHECK(crossed.at("samples").as_int64() == 10);
}
