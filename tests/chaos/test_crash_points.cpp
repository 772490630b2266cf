// Chaos: the server killed with SIGKILL at named points (issue 22): a claim, a finish statement,
// a cron fire, an HPO suggestion, an artifact ingest, a registry deploy. The server runs with the
// hidden `--crash-at NAME` (scheduler/common/crash_point.hpp), dies exactly there, is restarted
// plainly on the same data dir and database, and the scenario goes on to its end. Then the rows
// that matter (runs, task states and outputs, one successful attempt per task, trials and their
// values, artifacts and the files of the store, model versions, deployments and aliases,
// schedules' progress and fires) and each task's side effect (a line in a file) must be what an
// uninterrupted run of the same scenario gives. The reference run is made once per scenario.
// A few points run in `make test`; every point in `make test-chaos` ([.][chaos]).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "scheduler/common/time_util.hpp"
#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;
namespace fs = std::filesystem;

namespace {

const char* kT0 = "2030-01-01T00:00:00Z";

// One scenario's world: a database, a folder, a server (restarted after its crash).
struct World {
  TempDir dir;
  Db db{PgCluster::shared().create_database()};
  std::unique_ptr<ServerProcess> server;
  std::string log = dir / "ran.log";  // each task appends a line: its side effect
  std::string point;                  // the armed crash point ("" for the reference)
  bool crashed = false;
  std::string crashed_log;

  std::string clock() const { return dir / "clock"; }
  void set_clock(const std::string& iso) {
    write_text(clock() + ".tmp", iso + "\n");
    fs::rename(clock() + ".tmp", clock());
    db.exec("NOTIFY ctflow_schedules");
  }
  void start(bool armed) {
    ServerConfig cfg;
    cfg.database_url = db.url();
    cfg.data_dir = dir / "server";
    cfg.log_path = dir / (armed ? "armed.log" : "server.log");
    cfg.lease_ms = 2000;
    cfg.sweep_ms = 300;
    cfg.extra_args = {"--clock-file", clock()};
    if (armed) cfg.extra_args.insert(cfg.extra_args.end(), {"--crash-at", point});
    server = std::make_unique<ServerProcess>(cfg);
    server->start();
  }
  // After the armed server died: it died at its point; start a plain one on the same data dir.
  bool restart_if_dead() {
    if (!server || process_alive(server->pid())) return false;
    crashed_log = server->log();
    server->kill9();  // reaps it
    INFO(crashed_log);
    REQUIRE_FALSE(crashed);  // it dies once: the restarted server has no point armed
    std::string name = point.substr(0, point.find('#'));
    REQUIRE(crashed_log.find("crash point " + name + ": SIGKILL") != std::string::npos);
    crashed = true;
    start(false);
    return true;
  }
  // Waits for `pred`, restarting the server when it dies on the way.
  void wait(const std::function<bool()>& pred, const std::string& what) {
    bool ok = poll_until(
        [&] {
          restart_if_dead();
          return pred();
        },
        90s, 20ms);
    if (!ok)
      FAIL(what << "\ncrashed server's log:\n" << crashed_log << "\nlog:\n" << server->log());
  }
  int64_t runs(const std::string& where = "true") const {
    return db.count("SELECT count(*) FROM runs WHERE " + where);
  }
  // Submits over the API; a server that died while answering is restarted and the submission
  // repeated only if it did not commit.
  void submit(const std::string& spec, const std::map<std::string, std::string>& params = {}) {
    int64_t before = runs();
    try {
      submit_run(*server, spec, params);
      return;
    } catch (const std::exception&) {
    }
    REQUIRE(poll_until([&] { return !process_alive(server->pid()); }, 10s));
    restart_if_dead();
    if (runs() == before) submit_run(*server, spec, params);
  }
  // Stores a pipeline (and so its schedule) without running it; as submit() across a crash.
  void register_pipeline(const std::string& spec) {
    std::string body = boost::json::serialize(boost::json::object{{"spec", spec}});
    auto r = server->client().request("POST", "/api/v1/pipelines", body);
    if (r && (r->status == 201 || r->status == 200)) return;
    REQUIRE(poll_until([&] { return !process_alive(server->pid()); }, 10s));
    restart_if_dead();
    if (db.count("SELECT count(*) FROM pipelines") == 0) {
      r = server->client().request("POST", "/api/v1/pipelines", body);
      REQUIRE(r);
      REQUIRE((r->status == 201 || r->status == 200));
    }
  }
  void all_runs_final(int64_t n) {
    wait([&] { return runs("state IN ('succeeded', 'failed', 'cancelled')") == n && runs() == n; },
         std::to_string(n) + " runs final");
  }
};

struct Scenario {
  std::string name;
  std::function<void(World&)> drive;  // from a started server to the scenario's end
  std::string shows;                  // a line the reference's rows hold (the rows are read)
};

// What must be equal: rows without ids, times, paths or owners; the side effects sorted; the
// artifact store's files.
struct Outcome {
  std::string rows;
  std::vector<std::string> effects;
  std::vector<std::string> store_files;
};

const char* kRows = R"SQL(
SELECT concat_ws(E'\n',
 'runs:', (SELECT string_agg(p.name || ' ' || r.trigger || ' ' || r.state || ' ' ||
     CASE WHEN r.trigger = 'schedule' THEN iso(r.logical_date) ELSE '-' END, E'\n' ORDER BY r.id)
   FROM runs r JOIN pipelines p ON p.id = r.pipeline_id),
 'tasks:', (SELECT string_agg(r.seq || ' ' || t.name || ' ' ||
     t.state || ' ' || coalesce(t.outputs::text, '-') || ' ok-attempts=' ||
     (SELECT count(*) FROM task_attempts a WHERE a.task_run_id = t.id AND a.state = 'succeeded'),
     E'\n' ORDER BY r.seq, t.name)
   FROM task_runs t JOIN (SELECT id, row_number() OVER (ORDER BY id) AS seq FROM runs) r
   ON r.id = t.run_id),
 'trials:', (SELECT string_agg(number || ' ' || params::text || ' ' || state || ' ' ||
     coalesce(round(value::numeric, 9)::text, '-'), E'\n' ORDER BY number) FROM trials),
 'studies:', (SELECT string_agg(s.state || ' best=' || coalesce(b.number::text, '-'), E'\n')
   FROM studies s LEFT JOIN trials b ON b.id = s.best_trial_id),
 'artifacts:', (SELECT string_agg(a.digest || ' ' || a.size || ' ' || t.name || ' ' || u.direction
     || ' ' || u.name || ' ' || u.kind, E'\n' ORDER BY a.digest, t.name, u.direction)
   FROM artifacts a LEFT JOIN artifact_uses u ON u.artifact_id = a.id
   LEFT JOIN task_runs t ON t.id = u.task_run_id),
 'versions:', (SELECT string_agg(m.name || ' v' || v.version || ' ' ||
     (SELECT coalesce(string_agg(key || '=' || (value->>'digest'), ',' ORDER BY key), '-')
      FROM jsonb_each(v.artifacts)), E'\n' ORDER BY m.name, v.version)
   FROM model_versions v JOIN models m ON m.id = v.model_id),
 'deployments:', (SELECT string_agg(m.name || ' ' || d.alias || ' v' || d.version || ' ' ||
     CASE WHEN d.superseded_at IS NULL THEN 'current' ELSE 'superseded' END, E'\n'
     ORDER BY m.name, d.alias, d.version)
   FROM deployments d JOIN models m ON m.id = d.model_id),
 'schedules:', (SELECT string_agg(p.name || ' next=' || coalesce(iso(s.next_fire_at), '-') ||
     ' last=' || coalesce(iso(s.last_logical_date), '-'), E'\n' ORDER BY p.name)
   FROM schedules s JOIN pipelines p ON p.id = s.pipeline_id),
 'fires:', (SELECT string_agg(iso(f.logical_date) || ' ' || f.kind || ' ' || f.outcome ||
     ' run=' || (f.run_id IS NOT NULL), E'\n' ORDER BY f.logical_date) FROM schedule_fires f))
)SQL";

Outcome outcome_of(World& w) {
  Outcome o;
  o.rows = w.db.text(kRows);
  o.effects = read_lines(w.log);
  std::sort(o.effects.begin(), o.effects.end());
  std::string store = w.dir / "server/artifacts";
  if (fs::exists(store))
    for (const auto& e : fs::recursive_directory_iterator(store))
      if (!e.is_directory()) o.store_files.push_back(fs::relative(e.path(), store).string());
  std::sort(o.store_files.begin(), o.store_files.end());
  return o;
}

Outcome play(const Scenario& s, const std::string& point) {
  World w;
  w.point = point;
  w.set_clock(kT0);
  w.start(!point.empty());
  s.drive(w);
  // A point on the scenario's last statement kills the server as its end is committed.
  if (!point.empty() && !w.crashed) poll_until([&] { return w.restart_if_dead(); }, 5s);
  // Settled: nothing left running or waiting (a restarted server may still be adopting).
  w.wait(
      [&] {
        return w.db.count(
                   "SELECT count(*) FROM task_runs WHERE state IN ('pending', 'ready', "
                   "'dispatched', 'running')") == 0;
      },
      "every task final");
  if (!point.empty()) {
    INFO("server log:\n" << w.server->log());
    CHECK(w.crashed);  // the scenario reached the point
  }
  return outcome_of(w);
}

// Runs `s` once uninterrupted, then once per point; each must end as the reference did.
void check_points(const Scenario& s, const std::vector<std::string>& points) {
  Outcome ref = play(s, "");
  INFO("scenario " << s.name << "; reference rows:\n" << ref.rows);
  // Every side effect once in the reference itself.
  auto uniq = ref.effects;
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  REQUIRE(uniq == ref.effects);
  REQUIRE_FALSE(ref.effects.empty());
  REQUIRE(ref.rows.find(s.shows) != std::string::npos);
  for (const auto& point : points) {
    INFO("crash point " << point);
    Outcome got = play(s, point);
    CHECK(got.rows == ref.rows);
    CHECK(got.effects == ref.effects);  // each task's side effect exactly once
    CHECK(got.store_files == ref.store_files);
  }
}

// A small DAG: a writes an output that b reads in its command; d joins b and c.
Scenario dag() {
  return {"dag",
          [](World& w) {
            std::string l = "\"" + w.log + "\"";
            w.submit(
                "name: dag\ntasks:\n"
                "  - {name: a, run: [sh, -c, 'echo a >> \"$1\"; echo \"{\\\"outputs\\\": "
                "{\\\"n\\\": 7}}\" > \"$CTFLOW_OUTPUTS\"', x, " +
                l +
                "]}\n"
                "  - {name: b, needs: [a], run: [sh, -c, 'echo b$2 >> \"$1\"', x, " +
                l +
                ", \"{{tasks.a.outputs.n}}\"]}\n"
                "  - {name: c, needs: [a], run: [sh, -c, 'echo c >> \"$1\"', x, " +
                l +
                "]}\n"
                "  - {name: d, needs: [b, c], run: [sh, -c, 'echo d >> \"$1\"', x, " +
                l + "]}\n");
            w.all_runs_final(1);
          },
          "\n1 d succeeded {} ok-attempts=1\n"};
}

// A task stores an artifact, registers it as a model version and deploys it; then a second run
// does the same with other bytes (version 2) and moves the alias.
Scenario registry() {
  return {"registry",
          [](World& w) {
            std::string spec =
                "name: reg\nparams: {gen: {type: int, default: 1}}\ntasks:\n"
                "  - name: train\n"
                "    run: [sh, -c, 'echo train-$2 >> \"$1\"; echo model-bytes-$2 > "
                "m.bin; echo \"{\\\"artifacts\\\": {\\\"model\\\": {\\\"path\\\": \\\"m.bin\\\", "
                "\\\"kind\\\": \\\"model\\\"}}, \\\"registry\\\": [{\\\"op\\\": \\\"register\\\", "
                "\\\"model\\\": \\\"m\\\", \\\"artifacts\\\": [\\\"model\\\"]}, {\\\"op\\\": "
                "\\\"deploy\\\", \\\"model\\\": \\\"m\\\"}]}\" > \"$CTFLOW_OUTPUTS\"', x, \"" +
                w.log +
                "\", \"{{params.gen}}\"]\n"
                "  - {name: after, needs: [train], run: [sh, -c, 'echo after-$2 >> \"$1\"', x, \"" +
                w.log + "\", \"{{params.gen}}\"]}\n";
            w.submit(spec, {{"gen", "1"}});
            w.all_runs_final(1);
            w.submit(spec, {{"gen", "2"}});
            w.all_runs_final(2);
          },
          "\nm production v2 current\n"};
}

// Cron: a schedule activated at T0 fires T0; the clock then jumps 3 minutes: catch-up all owes
// three fires, made in one step. Each run's task writes its logical date.
Scenario cron() {
  return {"cron",
          [](World& w) {
            w.register_pipeline(
                "name: every-minute\nschedule: {cron: \"* * * * *\", catchup: all}\n"
                "tasks:\n  - {name: t, run: [sh, -c, 'echo $2 >> \"$1\"', x, \"" +
                w.log + "\", \"{{run.logical_date}}\"]}\n");
            w.all_runs_final(1);
            w.set_clock("2030-01-01T00:03:00Z");
            w.all_runs_final(4);
          },
          "\n2030-01-01T00:03:00Z schedule created run=true"};
}

// A study of 5 random trials, 2 at a time; each trial logs its name and reports (x - 0.5)^2.
Scenario study() {
  return {"study",
          [](World& w) {
            std::string script = w.dir / "trial.sh";
            write_text(
                script,
                "echo \"$CTFLOW_TASK\" >> \"$2\"\n"
                "awk -v x=\"$1\" 'BEGIN { printf \"{\\\"name\\\":\\\"loss\\\",\\\"value\\\":%.9f,"
                "\\\"step\\\":1}\\n\", (x-0.5)^2 }' >> \"$CTFLOW_METRICS\"\n");
            w.submit(
                "name: study\ntasks:\n  - name: tune\n    hpo:\n      algorithm: random\n"
                "      seed: 3\n      objective: {metric: loss, goal: minimize}\n"
                "      max_trials: 5\n      parallelism: 2\n"
                "      space: {x: {type: float, min: 0, max: 1}}\n"
                "      trial: {run: [sh, \"" +
                script + "\", \"{{trial.x}}\", \"" + w.log +
                "\"]}\n  - {name: use, needs: [tune], run: [sh, -c, 'echo best >> \"$1\"', "
                "x, \"" +
                w.log + "\"]}\n");
            w.all_runs_final(1);
          },
          "\n5 {\"x\": "};
}

}  // namespace

TEST_CASE("SIGKILL at a claim or a finish: the same rows as an uninterrupted run", "[chaos]") {
  check_points(dag(), {"claim:after-commit", "finish:after-statement"});
}

TEST_CASE("SIGKILL at an artifact ingest or a deploy: the same rows as an uninterrupted run",
          "[chaos]") {
  check_points(registry(), {"artifact:stored", "deploy:after-commit"});
}

TEST_CASE("SIGKILL at a cron fire or an HPO suggestion: the same rows as an uninterrupted run",
          "[chaos]") {
  check_points(cron(), {"cron:before-commit#2"});
  check_points(study(), {"hpo:after-commit#2"});
}

TEST_CASE("SIGKILL at every cron and HPO point", "[.][chaos]") {
  check_points(cron(), {"cron:before-commit", "cron:after-commit", "cron:before-commit#2",
                        "cron:after-commit#2"});
  check_points(study(), {"hpo:before-commit", "hpo:after-commit", "hpo:before-commit#2",
                         "hpo:after-commit#2", "hpo:before-commit#3"});
}

TEST_CASE("SIGKILL at every claim and finish point", "[.][chaos]") {
  check_points(dag(), {"claim:before-commit", "claim:after-commit", "finish:before-statement",
                       "finish:after-statement", "finish:after-statement#3", "finish:after-commit",
                       "finish:after-commit#2"});
}

TEST_CASE("SIGKILL at every artifact and deploy point", "[.][chaos]") {
  check_points(registry(), {"artifact:stored", "artifact:stored#2", "artifact:before-commit",
                            "artifact:after-commit", "deploy:before-commit", "deploy:after-commit",
                            "deploy:before-commit#2", "deploy:after-commit#2"});
}
