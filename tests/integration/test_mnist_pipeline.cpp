// Integration: the real examples/mnist-ct.yaml through a real `ctflow server`, PostgreSQL and
// `ctflow-task` on small synthetic data (issue 5, acceptance 2 and 4):
//  - run 1 succeeds and registers + deploys a model version whose lineage names the run, the
//    pipeline version digest and the partition digests `extract` reported; artifact_uses answers
//    both ways (who produced the model, who consumed the dataset);
//  - run 2, same inputs: every step up to and including train is `cached` with a "hit" reason,
//    the gate (cache: false) runs again and promotes (equal accuracy), register runs again;
//  - run 3, a gate that cannot pass (min_delta 1): register is skipped, the run still succeeds.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;

namespace {

// Small and fast: 2 partitions of 300 images, 1 epoch everywhere.
const std::map<std::string, std::string> kParams{
    {"source", "synthetic://digits?n=600&seed=3&partitions=2"},
    {"epochs", "1"},
    {"tune_epochs", "1"},
    {"k", "3"}};
constexpr const char* kLogicalDate = "2025-06-01T03:00:00Z";

std::string example_spec() {
  std::ifstream in(std::string(CTFLOW_SOURCE_DIR) + "/examples/mnist-ct.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// POST /api/v1/runs with a fixed logical date (extract's --until; after both synthetic
// partitions, which start 2025-01 and 2025-02), so reruns have equal argv.
std::string submit_dated(const ServerProcess& s, const std::string& spec,
                         std::map<std::string, std::string> params) {
  json::object pt;
  for (const auto& [k, v] : params) pt[k] = v;
  json::object body{{"spec", spec}, {"params_text", pt}, {"logical_date", kLogicalDate}};
  auto r = s.client().request("POST", "/api/v1/runs", json::serialize(body));
  if (!r) throw std::runtime_error("submit: " + r.error());
  if (r->status != 201)
    throw std::runtime_error("submit: HTTP " + std::to_string(r->status) + ": " + r->body);
  return std::string(json::parse(r->body).as_object().at("id").as_string());
}

json::value get_json(const ServerProcess& s, const std::string& path) {
  auto r = s.client().request("GET", path);
  if (!r) throw std::runtime_error("GET " + path + ": " + r.error());
  if (r->status != 200)
    throw std::runtime_error("GET " + path + ": HTTP " + std::to_string(r->status) + ": " +
                             r->body);
  return json::parse(r->body);
}

// The tasks of a run in one line ("extract=cached train=succeeded ..."), for failure messages.
std::string summary(const json::object& run) {
  std::string out;
  for (const auto& t : run.at("tasks").as_array()) {
    const auto& o = t.as_object();
    out += str(o, "name") + "=" + str(o, "state");
    if (!str(o, "error").empty()) out += " (" + str(o, "error") + ")";
    out += "\n";
  }
  return out + "run error: " + str(run, "error");
}

const char* const kCachedSteps[] = {"extract", "validate-data", "transform",
                                    "split",   "tune",          "train"};

}  // namespace

TEST_CASE("mnist-ct on synthetic data: lineage, cache hits on rerun, gate skips register",
          "[integration][mnist]") {
  Harness h;
  auto& db = h.db();
  const std::string spec = example_spec();
  REQUIRE(!spec.empty());

  // Run 1: everything runs; the model is registered and deployed.
  const std::string id1 = submit_dated(h.server(), spec, kParams);
  auto run1 = h.wait(id1, 240s);
  INFO("run 1: " << summary(run1) << "\nserver log:\n" << h.server().log());
  REQUIRE(str(run1, "state") == "succeeded");
  for (const auto& [name, state] : task_states(run1))
    if (name.find('[') == std::string::npos) CHECK(state == "succeeded");
  CHECK(str(get_task(h.server(), id1, "validate-model").at("outputs").as_object(), "promoted") ==
        "true");

  // The registered version and its lineage (API and tables agree).
  CHECK(db.count("SELECT count(*) FROM model_versions v JOIN models m ON m.id = v.model_id "
                 "WHERE m.name = 'mnist'") == 1);
  auto lineage = get_json(h.server(), "/api/v1/models/mnist/versions/1/lineage").as_object();
  INFO("lineage: " << json::serialize(lineage));
  const std::string pv_digest = db.text(
      "SELECT pv.digest FROM runs r JOIN pipeline_versions pv ON pv.id = "
      "r.pipeline_version_id WHERE r.id = " +
      id1);
  REQUIRE(!pv_digest.empty());
  CHECK(str(lineage.at("run").as_object(), "id") == id1);
  CHECK(str(lineage.at("run").as_object(), "pipeline_version") == pv_digest);
  CHECK(str(lineage.at("task").as_object(), "name") == "register");
  auto version = get_json(h.server(), "/api/v1/models/mnist/versions/1").as_object();
  auto& recorded = version.at("lineage").as_object();  // what register wrote
  CHECK(str(recorded, "run_id") == id1);
  CHECK(str(recorded, "pipeline_version") == pv_digest);
  // The partition digests are those extract reported.
  auto extract = get_task(h.server(), id1, "extract");
  auto& parts = extract.at("outputs").as_object().at("partitions").as_array();
  REQUIRE(parts.size() == 2);
  auto& lparts = lineage.at("data_partitions").as_array();
  REQUIRE(lparts.size() == parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    CHECK(!str(parts[i].as_object(), "digest").empty());
    CHECK(str(lparts[i].as_object(), "digest") == str(parts[i].as_object(), "digest"));
  }
  CHECK(json::serialize(version.at("aliases")) == R"(["production"])");

  // Both ways through artifact_uses: the model artifact's producer, the dataset's consumers.
  const std::string model_digest =
      str(version.at("artifacts").as_object().at("model").as_object(), "digest");
  REQUIRE(!model_digest.empty());
  // (A tuning trial with the same hyperparameters may have produced the same bytes: skip trials.)
  CHECK(db.text("SELECT string_agg(t.name, ',') FROM artifact_uses u JOIN artifacts a ON a.id = "
                "u.artifact_id JOIN task_runs t ON t.id = u.task_run_id WHERE u.direction = "
                "'output' AND t.parent_task_run_id IS NULL AND a.digest = '" +
                model_digest + "' AND t.run_id = " + id1) == "train");
  CHECK(db.text("SELECT string_agg(DISTINCT t.name, ',' ORDER BY t.name) FROM artifact_uses u "
                "JOIN task_runs t ON t.id = u.task_run_id WHERE u.direction = 'input' AND "
                "u.name = 'transform/dataset' AND t.run_id = " +
                id1 + " AND t.name IN ('split', 'train', 'evaluate')") == "evaluate,split,train");
  CHECK(db.count("SELECT count(*) FROM artifact_uses u JOIN task_runs t ON t.id = u.task_run_id "
                 "WHERE u.direction = 'input' AND u.name = 'train/model' AND t.name = 'register' "
                 "AND t.run_id = " +
                 id1) == 1);

  // Run 2: same inputs. Every step up to train is a cache hit; the gate runs again.
  const std::string id2 = submit_dated(h.server(), spec, kParams);
  auto run2 = h.wait(id2, 180s);
  INFO("run 2: " << summary(run2));
  REQUIRE(str(run2, "state") == "succeeded");
  for (const char* name : kCachedSteps) {
    auto t = task_in(run2, name);
    INFO(name << ": " << json::serialize(t));
    CHECK(str(t, "state") == "cached");
    CHECK(str(t, "cache_reason").rfind("hit:", 0) == 0);
  }
  CHECK(db.count("SELECT count(*) FROM task_runs WHERE run_id = " + id2 +
                 " AND name LIKE 'tune[%'") == 0);
  CHECK(str(task_in(run2, "validate-model"), "state") == "succeeded");
  // The gate found the deployed version's artifacts in inputs "models" and re-scored them: the
  // same model on the same test set scores what evaluate reported in run 1.
  auto gate2 = get_task(h.server(), id2, "validate-model").at("outputs").as_object();
  INFO("gate 2: " << json::serialize(gate2));
  CHECK(str(gate2, "deployed_version") == "1");
  CHECK(str(gate2, "promoted") == "true");
  CHECK(str(gate2, "reason").find("re-scored on this test set") != std::string::npos);
  auto eval1 = get_task(h.server(), id1, "evaluate").at("outputs").as_object();
  CHECK(gate2.at("deployed_accuracy").to_number<double>() ==
        Approx(eval1.at("accuracy").to_number<double>()));
  CHECK(str(task_in(run2, "register"), "state") == "succeeded");
  auto v2 = get_json(h.server(), "/api/v1/models/mnist/versions/2").as_object();
  CHECK(str(v2, "parent_version") == "1");
  // The cached train's model is the same artifact, still found as train's output in run 2.
  CHECK(str(v2.at("artifacts").as_object().at("model").as_object(), "digest") == model_digest);

  // Run 3: the gate cannot pass; register is skipped and the run still succeeds.
  auto params3 = kParams;
  params3["min_delta"] = "1.0";
  const std::string id3 = submit_dated(h.server(), spec, params3);
  auto run3 = h.wait(id3, 180s);
  INFO("run 3: " << summary(run3));
  REQUIRE(str(run3, "state") == "succeeded");
  CHECK(str(task_in(run3, "train"), "state") == "cached");
  CHECK(str(task_in(run3, "validate-model"), "state") == "succeeded");
  CHECK(str(get_task(h.server(), id3, "validate-model").at("outputs").as_object(), "promoted") ==
        "false");
  CHECK(str(task_in(run3, "register"), "state") == "skipped");
  CHECK(db.count("SELECT count(*) FROM model_versions") == 2);
  CHECK(db.text("SELECT d.version FROM deployments d WHERE d.alias = 'production' AND "
                "d.superseded_at IS NULL") == "2");
}
