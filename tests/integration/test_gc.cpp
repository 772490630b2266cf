// Integration: retention (`ctflow gc`, POST /api/v1/gc, `ctflow server --gc-older-than`) against
// a real server and PostgreSQL: old finished runs go with their rows, attempt folders, logs,
// events and unreferenced artifacts; recent and running runs and an artifact a model version
// names stay; a dry run changes nothing; a run in progress finishes while gc deletes around it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Writes an artifact whose content is the param `n` (one artifact per value), a log line and
// a metric.
constexpr const char* kMake = R"(name: make
params: {n: {type: string, default: "x"}}
tasks:
  - name: make
    run: [sh, -c, 'echo "log of {{params.n}}"; echo "{\"name\":\"m\",\"value\":1}" >> "$CTFLOW_METRICS"; echo "content {{params.n}}" > a.bin; echo "{\"artifacts\":{\"a\":{\"path\":\"a.bin\",\"kind\":\"data\"}}}" > "$CTFLOW_OUTPUTS"']
  - name: after
    needs: [make]
    run: [sh, -c, 'echo after']
)";

// Registers model m from an artifact of its own.
constexpr const char* kRegister = R"(name: reg
tasks:
  - name: train
    run: [sh, -c, 'echo weights > w.bin; echo "{\"artifacts\":{\"w\":{\"path\":\"w.bin\",\"kind\":\"model\"}}}" > "$CTFLOW_OUTPUTS"']
  - name: reg
    needs: [train]
    run: [sh, -c, 'echo "{\"registry\":[{\"op\":\"register\",\"model\":\"m\",\"artifacts\":[\"train/w\"]}]}" > "$CTFLOW_OUTPUTS"']
)";

// A grid study of two trials (a studies row whose best_trial_id points at a trial).
constexpr const char* kStudy = R"(name: study
tasks:
  - name: tune
    hpo:
      algorithm: grid
      objective: {metric: loss, goal: minimize}
      max_trials: 2
      parallelism: 2
      space: {x: {type: int, values: [1, 3]}}
      trial: {run: [sh, -c, 'echo "{\"name\":\"loss\",\"value\":$1,\"step\":1}" >> "$CTFLOW_METRICS"', x, "{{trial.x}}"]}
)";

// Runs until the file `{{params.gate}}` exists.
constexpr const char* kGated = R"(name: gated
params: {gate: {type: string}}
tasks:
  - name: wait
    run: [sh, -c, 'while [ ! -e "{{params.gate}}" ]; do sleep 0.05; done']
)";

std::string ids_sql(const std::vector<std::string>& ids) {
  std::string s;
  for (const auto& id : ids) s += (s.empty() ? "" : ",") + id;
  return "(" + s + ")";
}

// Makes runs look finished `days` ago.
void age(Db& db, const std::vector<std::string>& runs, int days) {
  db.exec("UPDATE runs SET created_at = now() - interval '" + std::to_string(days) +
          " days', finished_at = now() - interval '" + std::to_string(days) +
          " days' WHERE id IN " + ids_sql(runs));
}

// The attempt folders of these runs (from their attempts' executor_ref "local:<host>:<dir>").
std::vector<std::string> folders(Db& db, const std::vector<std::string>& runs) {
  return db.column(
      "SELECT substring(a.executor_ref from '^local:[^:]*:(.*)$') FROM task_attempts a JOIN "
      "task_runs t ON t.id = a.task_run_id WHERE t.run_id IN " +
      ids_sql(runs));
}

json::object gc_json(Harness& h, std::vector<std::string> args) {
  args.insert(args.begin(), "gc");
  args.push_back("-o");
  args.push_back("json");
  auto r = h.cli(args);
  INFO(r.err << "\nserver log:\n" << h.server().log());
  REQUIRE(r.rc == 0);
  return json::parse(r.out).as_object();
}

int64_t num(const json::object& o, const char* k) {
  return o.at(k).to_number<int64_t>();
}

}  // namespace

TEST_CASE("gc: old runs go with their files and events but recent running and model artifacts stay",
          "[gc]") {
  Harness h;
  auto& db = h.db();
  std::vector<std::string> old, recent;
  for (const char* n : {"1", "2"}) old.push_back(h.submit(kMake, {{"n", n}}));
  recent.push_back(h.submit(kMake, {{"n", "3"}}));
  std::string reg = h.submit(kRegister);
  std::string study = h.submit(kStudy);
  REQUIRE(str(h.wait(study), "state") == "succeeded");
  REQUIRE(db.count("SELECT count(*) FROM studies WHERE best_trial_id IS NOT NULL AND run_id = " +
                   study) == 1);
  for (const auto& id : old) REQUIRE(str(h.wait(id), "state") == "succeeded");
  REQUIRE(str(h.wait(recent[0]), "state") == "succeeded");
  REQUIRE(str(h.wait(reg), "state") == "succeeded");
  std::string gate = h.path("gate");
  std::string running = h.submit(kGated, {{"gate", gate}});
  REQUIRE(poll_until(
      [&] { return str(task_in(*get_run(h.server(), running), "wait"), "state") == "running"; },
      30s, 20ms));

  // The model version outlives its run's references (as if registered before they were kept):
  // its artifact must stay because the version names its digest.
  db.exec("UPDATE model_versions SET run_id = NULL, task_run_id = NULL");
  std::string model_digest =
      db.text("SELECT artifacts->'w'->>'digest' FROM model_versions WHERE version = 1");
  REQUIRE(model_digest.size() == 64);
  age(db, old, 40);
  age(db, {reg, study}, 40);
  db.exec("UPDATE runs SET created_at = now() - interval '40 days' WHERE id = " + running);
  db.exec(
      "INSERT INTO events(kind, ts) VALUES ('schedule', now() - interval '40 days'), "
      "('schedule', now())");

  auto old_folders = folders(db, old);
  auto reg_folders = folders(db, {reg, study});
  auto gone = ids_sql({old[0], old[1], reg, study});
  auto tasks = db.count("SELECT count(*) FROM task_runs WHERE run_id IN " + gone);
  auto attempts = db.count(
      "SELECT count(*) FROM task_attempts a JOIN task_runs t ON t.id = a.task_run_id WHERE "
      "t.run_id IN " +
      gone);
  auto metrics = db.count("SELECT count(*) FROM metrics WHERE run_id IN " + gone);
  REQUIRE(tasks == 6 + 3);  // the study: its driver and two trials
  REQUIRE(metrics == 2 + 2);
  REQUIRE(old_folders.size() == 4);
  int64_t existing = 0;
  for (const auto& f : old_folders) existing += fs::exists(f);
  for (const auto& f : reg_folders) existing += fs::exists(f);
  CHECK(existing >= 4 + 2 + 2);  // make+after twice, train+reg, two trials
  for (const auto& f : old_folders) CHECK(fs::exists(f + "/task.log"));
  auto old_files = db.column(
      "SELECT DISTINCT a.path FROM artifacts a JOIN artifact_uses u ON u.artifact_id = a.id "
      "JOIN task_runs t ON t.id = u.task_run_id WHERE t.run_id IN " +
      ids_sql(old));
  REQUIRE(old_files.size() == 2);
  std::string model_file =
      db.text("SELECT path FROM artifacts WHERE digest = '" + model_digest + "'");
  std::string recent_file = db.text(
      "SELECT a.path FROM artifacts a JOIN artifact_uses u ON u.artifact_id = a.id JOIN "
      "task_runs t ON t.id = u.task_run_id WHERE t.run_id = " +
      recent[0]);
  // Old runs' files are old too (gc keeps a file stored again in the last 10 minutes); the
  // model's as well, so that only its model version keeps it.
  for (const auto& f : old_files) fs::last_write_time(f, fs::file_time_type::clock::now() - 960h);
  fs::last_write_time(model_file, fs::file_time_type::clock::now() - 960h);
  auto snapshot = [&] {
    return db.text(
        "SELECT (SELECT count(*) FROM runs) || '/' || (SELECT count(*) FROM "
        "task_runs) || '/' || (SELECT count(*) FROM events) || '/' || (SELECT "
        "count(*) FROM artifacts) || '/' || (SELECT count(*) FROM metrics)");
  };

  SECTION("a dry run counts and changes nothing and a fresh file is kept") {
    auto before = snapshot();
    auto r = gc_json(h, {"--older-than", "30d", "--dry-run"});
    CHECK(num(r, "runs") == 4);  // the two old ones, the registering one, the study
    CHECK(num(r, "tasks") == tasks);
    CHECK(num(r, "attempts") == attempts);
    CHECK(num(r, "metrics") == metrics);
    CHECK(num(r, "artifacts") == 2);  // the old runs' own; not the model's
    CHECK(num(r, "events") == db.count("SELECT count(*) FROM events WHERE run_id IN " + gone) + 1);
    CHECK(snapshot() == before);
    for (const auto& f : old_folders) CHECK(fs::exists(f));
    for (const auto& f : old_files) CHECK(fs::exists(f));

    // Then: a file the engine stored again just now (it touches a file it meets again) is
    // kept with its row, though no row references it, until it is old.
    std::string fresh = db.text(
        "SELECT a.path FROM artifacts a JOIN artifact_uses u ON u.artifact_id = a.id JOIN "
        "task_runs t ON t.id = u.task_run_id WHERE t.run_id = " +
        old[1]);
    fs::last_write_time(fresh, fs::file_time_type::clock::now());
    auto r1 = gc_json(h, {"--older-than", "30d"});
    CHECK(num(r1, "runs") == 4);
    CHECK(num(r1, "artifacts") == 1);
    CHECK(num(r1, "files") == 1);
    CHECK(fs::exists(fresh));
    CHECK(db.count("SELECT count(*) FROM artifacts WHERE path = '" + fresh + "'") == 1);
    fs::last_write_time(fresh, fs::file_time_type::clock::now() - 960h);
    auto r2 = gc_json(h, {"--older-than", "30d"});
    CHECK(num(r2, "artifacts") == 1);
    CHECK(num(r2, "files") == 1);
    CHECK_FALSE(fs::exists(fresh));
    CHECK(fs::exists(model_file));
  }

  SECTION("gc in batches of one while a run is served") {
    auto r = gc_json(h, {"--older-than", "30d", "--batch", "1"});
    CHECK(num(r, "runs") == 4);
    CHECK(num(r, "folders") == existing);
    CHECK(num(r, "artifacts") == 2);
    CHECK(num(r, "files") == 2);
    CHECK(num(r, "batches") >= 4 + 1 + 2);  // one run, one event, one artifact per batch
    CHECK(db.count("SELECT count(*) FROM runs WHERE id IN " + gone) == 0);
    CHECK(db.count("SELECT count(*) FROM task_runs WHERE run_id IN " + gone) == 0);
    CHECK(db.count("SELECT count(*) FROM events WHERE run_id IN " + gone) == 0);
    CHECK(db.count("SELECT count(*) FROM metrics WHERE run_id IN " + gone) == 0);
    CHECK(db.count("SELECT count(*) FROM studies WHERE run_id IN " + gone) == 0);
    CHECK(db.count("SELECT count(*) FROM trials") == 0);
    CHECK(db.count("SELECT count(*) FROM events WHERE run_id IS NULL AND ts < now() - interval "
                   "'30 days'") == 0);
    CHECK(db.count("SELECT count(*) FROM events WHERE run_id IS NULL") >= 1);  // the recent one
    for (const auto& f : old_folders) CHECK_FALSE(fs::exists(f));
    for (const auto& f : reg_folders) CHECK_FALSE(fs::exists(f));
    for (const auto& f : old_files) CHECK_FALSE(fs::exists(f));
    auto r404 = h.server().client().request("GET", "/api/v1/runs/" + old[0]);
    REQUIRE(r404);
    CHECK(r404->status == 404);
    // Kept: the model's artifact (row and file), the recent run whole, the running run.
    CHECK(db.count("SELECT count(*) FROM artifacts WHERE digest = '" + model_digest + "'") == 1);
    CHECK(fs::exists(model_file));
    CHECK(fs::exists(recent_file));
    CHECK(str(*get_run(h.server(), recent[0]), "state") == "succeeded");
    for (const auto& f : folders(db, recent)) CHECK(fs::exists(f + "/task.log"));
    auto log = h.server().client().request("GET", "/api/v1/runs/" + recent[0] + "/tasks/make/logs");
    REQUIRE(log);
    CHECK(log->body.find("log of 3") != std::string::npos);
    // The run in progress through all of it finishes normally, and a new one still runs.
    std::ofstream(gate) << "open\n";
    CHECK(str(h.wait(running), "state") == "succeeded");
    CHECK(str(h.wait(h.submit(kMake, {{"n", "1"}})), "state") == "succeeded");
    // Nothing is left for the same cutoff.
    auto again = gc_json(h, {"--older-than", "30d"});
    CHECK(num(again, "runs") == 0);
    CHECK(num(again, "artifacts") == 0);
  }
}

TEST_CASE("gc: bad input is refused with one line and changes nothing", "[gc]") {
  Harness h;
  auto id = h.submit(kMake, {{"n", "1"}});
  REQUIRE(str(h.wait(id), "state") == "succeeded");
  auto before = h.db().count("SELECT count(*) FROM runs");
  for (const char* bad : {"banana", "3 weeks", ""}) {
    auto r = h.cli({"gc", "--older-than", bad});
    CHECK(r.rc == 2);
    CHECK(r.err.find("--older-than") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  auto r = h.cli({"gc", "--older-than", "0s", "--batch", "0"});
  CHECK(r.rc == 2);
  CHECK(r.err.find("--batch") != std::string::npos);
  for (const char* body : {R"({"older_than": 5})", R"({"older_than": "1d", "batch": "x"})",
                           R"({"older_than": "1d", "dry_run": 1})", "[]"}) {
    auto a = h.server().client().request("POST", "/api/v1/gc", body);
    REQUIRE(a);
    CHECK(a->status == 400);
  }
  CHECK(h.db().count("SELECT count(*) FROM runs") == before);
}

TEST_CASE("gc: a server with --gc-older-than deletes old runs by itself", "[gc]") {
  ServerConfig cfg;
  cfg.extra_args = {"--gc-older-than", "30d", "--gc-interval", "200ms"};
  Harness h(cfg);
  auto old = h.submit(kMake, {{"n", "1"}});
  auto recent = h.submit(kMake, {{"n", "2"}});
  REQUIRE(str(h.wait(old), "state") == "succeeded");
  REQUIRE(str(h.wait(recent), "state") == "succeeded");
  age(h.db(), {old}, 31);
  CHECK(poll_until([&] { return h.db().count("SELECT count(*) FROM runs WHERE id = " + old) == 0; },
                   20s, 50ms));
  CHECK(h.db().count("SELECT count(*) FROM runs WHERE id = " + recent) == 1);
  // Logged once the round (events and artifacts after the runs) is over.
  CHECK(poll_until([&] { return h.server().log().find("gc: deleted 1 runs") != std::string::npos; },
                   20s, 50ms));
}
