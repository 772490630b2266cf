// Integration: the model registry (scheduler/registry/, store/registry.hpp) against a real
// server and PostgreSQL: one deploy path for a task's outputs and the API (same rows, same
// event, same NOTIFY), the foreign key from deployments to model_versions, alias removal.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "scheduler/store/db.hpp"
#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;
using namespace std::chrono_literals;

namespace {

// A task that registers version 1 of model m and deploys it as production (from its outputs).
constexpr const char* kRegisterAndDeploy = R"(name: reg
tasks:
  - name: reg
    run: [sh, -c, 'echo "{\"registry\":[{\"op\":\"register\",\"model\":\"m\"},{\"op\":\"deploy\",\"model\":\"m\"}]}" > "$CTFLOW_OUTPUTS"']
)";

// Counts notifications on ctflow_models and ctflow_events from a LISTEN session of its own.
class Listener {
 public:
  explicit Listener(const Db& db) : url_(db.url()) {
    thread_ = std::thread([this] {
      ctflow::store::listen_loop(
          url_, {"ctflow_models", "ctflow_events"},
          [this](const std::string& channel, const std::string& payload) {
            if (payload == "probe")
              ++probes_;
            else if (channel == "ctflow_models")
              ++models_;
          },
          [] {}, [this] { return stop_.load(); });
    });
    // Listening once a probe comes back (NOTIFY before LISTEN would be lost).
    for (int i = 0; i < 200 && probes_ == 0; ++i) {
      db.exec("NOTIFY ctflow_models, 'probe'");
      std::this_thread::sleep_for(20ms);
    }
  }
  bool listening() const { return probes_ > 0; }
  ~Listener() {
    stop_ = true;
    thread_.join();
  }
  // Waits up to 10 s for the count of ctflow_models notifications to reach `n`; returns it.
  int wait_models(int n) {
    for (int i = 0; i < 500 && models_ < n; ++i) std::this_thread::sleep_for(20ms);
    return models_;
  }

 private:
  std::string url_;
  std::atomic<int> probes_{0}, models_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string model_events(const Db& db) {
  return db.text(
      "SELECT string_agg((payload - 'model')::text || ' run=' || coalesce(run_id::text, '-'), "
      "' | ' ORDER BY id) FROM events WHERE kind = 'model' AND payload->>'model' = 'm'");
}

}  // namespace

TEST_CASE("a deploy from task outputs and from the API: same rows, event and NOTIFY",
          "[integration][registry]") {
  Harness h;
  Listener listen(h.db());
  REQUIRE(listen.listening());
  auto run = h.submit(kRegisterAndDeploy);
  REQUIRE(str(h.wait(run), "state") == "succeeded");
  CHECK(listen.wait_models(1) == 1);  // the task's deploy

  auto api = h.server().client();
  auto r = api.request("POST", "/api/v1/models/m/aliases/staging", R"({"version": 1})");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(listen.wait_models(2) == 2);  // the API's deploy notifies the same channel

  // The same rows: a current deployment of version 1 each; only who asked differs.
  CHECK(h.db().text("SELECT string_agg(alias || ':' || version || ':' || (superseded_at IS NULL) "
                    "|| ':' || (task_run_id IS NOT NULL), ',' ORDER BY id) FROM deployments") ==
        "production:1:true:true,staging:1:true:false");
  // The same event, apart from "by" and the task's run.
  CHECK(model_events(h.db()) ==
        R"({"op": "register", "version": 1} run=)" + run +
            R"( | {"by": "task", "op": "deploy", "alias": "production", "version": 1} run=)" + run +
            R"( | {"by": "api", "op": "deploy", "alias": "staging", "version": 1} run=-)");

  // Moving production by hand supersedes the task's deployment the same way a task would.
  r = api.request("POST", "/api/v1/models/m/aliases/production", R"({"version": 1})");
  REQUIRE(r);
  CHECK(boost::json::parse(r->body).at("previous").as_int64() == 1);
  CHECK(h.db().count("SELECT count(*) FROM deployments WHERE alias = 'production'") == 2);
  CHECK(h.db().count("SELECT count(*) FROM deployments WHERE superseded_at IS NULL") == 2);
}

TEST_CASE("a deployment of a version that does not exist is refused, nothing changed",
          "[integration][registry]") {
  Harness h;
  REQUIRE(str(h.wait(h.submit(kRegisterAndDeploy)), "state") == "succeeded");
  auto deployments = [&] {
    return h.db().text("SELECT count(*) || ' rows, last ' || max(id) FROM deployments");
  };
  auto events = [&] { return h.db().count("SELECT count(*) FROM events WHERE kind = 'model'"); };
  std::string deployments_before = deployments();
  REQUIRE(events() == 2);  // register, deploy

  // From the API: a 404 naming the model and the version.
  auto r = h.server().client().request("POST", "/api/v1/models/m/aliases/production",
                                       R"({"version": 99})");
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(r->body.find(R"(model \"m\" has no version 99)") != std::string::npos);
  // From a task's outputs: the task fails with the reason; its register is undone too.
  auto bad = h.submit(R"(name: bad
tasks:
  - name: reg
    run: [sh, -c, 'echo "{\"registry\":[{\"op\":\"register\",\"model\":\"m\"},{\"op\":\"deploy\",\"model\":\"m\",\"version\":99}]}" > "$CTFLOW_OUTPUTS"']
)");
  auto run = h.wait(bad);
  CHECK(str(run, "state") == "failed");
  CHECK(str(task_in(run, "reg"), "error") == "registry: model m has no version 99");
  INFO(model_events(h.db()));
  CHECK(h.db().count("SELECT count(*) FROM model_versions") == 1);
  CHECK(deployments() == deployments_before);
  CHECK(events() == 2);

  // The alias rule holds for tasks as for the API (one deploy path).
  auto alias_run = h.wait(h.submit(R"(name: badalias
tasks:
  - name: reg
    run: [sh, -c, 'echo "{\"registry\":[{\"op\":\"deploy\",\"model\":\"m\",\"version\":1,\"alias\":\"a b\"}]}" > "$CTFLOW_OUTPUTS"']
)"));
  CHECK(str(alias_run, "state") == "failed");
  CHECK(str(task_in(alias_run, "reg"), "error") ==
        "registry: alias \"a b\": expected 1-64 characters of letters, digits, _ - .");
  CHECK(deployments() == deployments_before);

  // The database itself refuses a missing version (sql/0011_deployments_fk.sql).
  std::string err;
  try {
    h.db().exec("INSERT INTO deployments(model_id, alias, version) SELECT id, 'x', 99 FROM models");
  } catch (const std::exception& e) {
    err = e.what();
  }
  CHECK(err.find("deployments_version_fkey") != std::string::npos);
  CHECK(h.db().count("SELECT count(*) FROM deployments WHERE alias = 'x'") == 0);
}

TEST_CASE("removing an alias: 204 with an event, then 404, the history stays",
          "[integration][registry]") {
  Harness h;
  REQUIRE(str(h.wait(h.submit(kRegisterAndDeploy)), "state") == "succeeded");
  Listener listen(h.db());
  REQUIRE(listen.listening());
  auto api = h.server().client();

  auto r = api.request("DELETE", "/api/v1/models/m/aliases/production");
  REQUIRE(r);
  CHECK(r->status == 204);
  CHECK(r->body.empty());
  CHECK(listen.wait_models(1) == 1);  // engines drop the deployment from inputs files
  CHECK(h.db().text("SELECT payload::text FROM events WHERE kind = 'model' ORDER BY id DESC "
                    "LIMIT 1") ==
        R"({"by": "api", "op": "undeploy", "alias": "production", "model": "m", "version": 1})");
  auto m = api.request("GET", "/api/v1/models/m");
  REQUIRE(m);
  CHECK(boost::json::serialize(boost::json::parse(m->body).at("aliases")) == "[]");
  auto hist = api.request("GET", "/api/v1/models/m/deployments");
  REQUIRE(hist);
  auto hist_json = boost::json::parse(hist->body);
  const auto& d = hist_json.at("deployments").as_array();
  REQUIRE(d.size() == 1);
  CHECK(d[0].at("alias").as_string() == "production");
  CHECK(d[0].at("current").as_bool() == false);

  // Gone now: 404 naming the alias; an unknown model; a malformed alias is a 400.
  r = api.request("DELETE", "/api/v1/models/m/aliases/production");
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(r->body.find(R"(model \"m\" has no alias \"production\")") != std::string::npos);
  r = api.request("DELETE", "/api/v1/models/nope/aliases/production");
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(r->body.find(R"(model \"nope\" does not exist)") != std::string::npos);
  r = api.request("DELETE", "/api/v1/models/m/aliases/no%20spaces");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("expected 1-64 characters") != std::string::npos);
  // A new run's inputs name no deployment of m.
  auto use = h.submit(
      "name: use\ntasks:\n  - {name: b, run: [sh, -c, 'cp \"$CTFLOW_INPUTS\" \"$1\"', x, \"" +
      h.path("inputs.json") + "\"]}\n");
  REQUIRE(str(h.wait(use), "state") == "succeeded");
  auto inputs = boost::json::parse(slurp(h.path("inputs.json")));
  INFO(slurp(h.path("inputs.json")));
  CHECK_FALSE(inputs.at("models").as_object().contains("m"));
}
