// The read paths of the API over many finished task rows (issue 22): the runs list, a run's page
// (the run, its tasks, a task with its attempts) and the metrics query, run through the store
// functions the API calls, with every plan PostgreSQL chose captured by auto_explain (sent to
// this session as NOTICEs) and checked: no sequential scan of a big table, custom and generic
// plans alike (each statement runs more than five times, when PostgreSQL may switch a prepared
// statement to its generic plan).
//
// In `make test`: 4,000 runs x 10 tasks (40,000 task rows, ANALYZEd: enough for the planner to
// prefer indexes where they exist). `make bench-rows`: 100,000 runs x 10 tasks = 1,000,000 task
// rows, the same checks, each query's time, and gc of half of them while the list is read.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include "scheduler/api/gc.hpp"
#include "scheduler/store/db.hpp"
#include "scheduler/store/internal.hpp"
#include "scheduler/store/migrate.hpp"
#include "scheduler/store/resources.hpp"
#include "scheduler/store/runs.hpp"
#include "tests/integration/support/pg_cluster.hpp"
#include "tests/integration/support/server_process.hpp"

using namespace ctflow;
using Steady = std::chrono::steady_clock;

namespace {

const std::set<std::string> kBig = {"runs",    "task_runs", "task_attempts", "task_edges",
                                    "metrics", "events",    "artifact_uses"};

// Realistic finished history of the last 20 days: 50 pipelines, `runs` runs spread over them (one
// in 20 failed), `tasks` tasks per run in a chain, one attempt each, 2 metric points per task, an
// event per task and per run. Foreign-key triggers off while loading (session_replication_role).
void fill(store::Connection& c, int runs, int tasks) {
  store::with_tx(c, [&](store::Tx& tx) {
    auto& w = store::W(tx);
    w.exec("SET LOCAL session_replication_role = replica");
    w.exec("INSERT INTO pipelines(name) SELECT 'pipeline-' || i FROM generate_series(1, 50) i");
    w.exec(
        "INSERT INTO pipeline_versions(pipeline_id, digest, spec) SELECT id, md5(name), "
        "'{}' FROM pipelines ORDER BY id");
    w.exec_params(R"SQL(
INSERT INTO runs(pipeline_id, pipeline_version_id, state, tasks_total, tasks_done, tasks_failed,
                 created_at, started_at, finished_at, logical_date)
SELECT p, p, CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END, $2,
       $2, CASE WHEN i % 20 = 0 THEN 1 ELSE 0 END, ts, ts, ts + interval '3 minutes', ts
FROM (SELECT i, 1 + (i * 7919) % 50 AS p, now() - interval '20 days' * ($1 - i) / $1 AS ts
      FROM generate_series(1, $1) i) s ORDER BY i)SQL",
                  runs, tasks);
    w.exec_params(R"SQL(
INSERT INTO task_runs(run_id, name, spec_index, state, attempt, max_attempts, started_at,
                      finished_at, executor_ref, exit_code, outputs)
SELECT r.id, 'task-' || k, k, CASE WHEN r.state = 'failed' AND k = $1 - 1 THEN 'failed'
                                   ELSE 'succeeded' END,
       1, 1, r.started_at, r.finished_at, 'local:host:/data/attempts/x', 0, '{"ok": true}'
FROM runs r, generate_series(0, $1 - 1) k ORDER BY r.id, k)SQL",
                  tasks);
    w.exec(R"SQL(
INSERT INTO task_edges(parent_id, child_id)
SELECT a.id, b.id FROM task_runs a JOIN task_runs b ON b.run_id = a.run_id
  AND b.spec_index = a.spec_index + 1)SQL");
    w.exec(R"SQL(
INSERT INTO task_attempts(task_run_id, attempt, state, owner, executor_ref, argv, exit_code,
                          log_path, started_at, finished_at)
SELECT id, 1, state, 'host:1:ab', executor_ref, '["sh", "-c", "true"]', 0, 'task.log',
       started_at, finished_at FROM task_runs ORDER BY id)SQL");
    w.exec(R"SQL(
INSERT INTO metrics(run_id, task_run_id, name, value, step, ts)
SELECT t.run_id, t.id, 'loss', 1.0 / (s + 1), s, t.finished_at
FROM task_runs t, generate_series(0, 1) s ORDER BY t.id, s)SQL");
    w.exec(R"SQL(
INSERT INTO events(kind, run_id, task_run_id, payload, ts)
SELECT kind, run_id, task_run_id, payload, ts FROM (
  SELECT 'task' AS kind, run_id, id AS task_run_id, '{"state": "succeeded"}'::jsonb AS payload,
         finished_at AS ts, id * 2 AS o FROM task_runs
  UNION ALL
  SELECT 'run', id, NULL, '{"state": "succeeded"}', finished_at, (SELECT max(id) FROM task_runs) * 2 + id
  FROM runs) e ORDER BY ts, o)SQL");
  });
  store::with_autocommit(c, [&](store::Tx& tx) { store::W(tx).exec("VACUUM ANALYZE"); });
}

// Captures the plans auto_explain sends to this session while it is alive.
class PlanCapture : public pqxx::errorhandler {
 public:
  explicit PlanCapture(store::Connection& c)
      : pqxx::errorhandler(*c.impl().conn), conn_(*c.impl().conn) {
    pqxx::nontransaction n(conn_);
    n.exec("LOAD 'auto_explain'");
    n.exec("SET auto_explain.log_min_duration = 0");
    n.exec("SET auto_explain.log_format = 'json'");
    n.exec("SET auto_explain.log_level = 'notice'");
    n.exec("SET client_min_messages = 'notice'");
  }
  ~PlanCapture() override {
    try {
      pqxx::nontransaction n(conn_);
      n.exec("SET auto_explain.log_min_duration = -1");
    } catch (const std::exception&) {  // the session is gone; so is the setting
    }
  }
  bool operator()(const char msg[]) noexcept override {
    std::string m(msg);
    auto brace = m.find('{');
    if (brace != std::string::npos) plans_.push_back(m.substr(brace));
    return true;
  }
  // Plans captured since the last call.
  std::vector<std::string> take() { return std::exchange(plans_, {}); }

 private:
  pqxx::connection_base& conn_;
  std::vector<std::string> plans_;
};

void scans(const boost::json::object& node, std::vector<std::string>& out) {
  std::string type(node.at("Node Type").as_string());
  if (auto* rel = node.if_contains("Relation Name"))
    out.push_back(type + " on " + std::string(rel->as_string()));
  if (auto* kids = node.if_contains("Plans"))
    for (const auto& k : kids->as_array()) scans(k.as_object(), out);
}

// Every scan of every captured plan: "Index Scan on runs", ...; and the seq scans of big tables.
struct Checked {
  std::vector<std::string> all, bad;
  std::string text;  // the plans, for failure messages
};
Checked check(const std::vector<std::string>& plans) {
  Checked c;
  for (const auto& p : plans) {
    auto doc = boost::json::parse(p).as_object();
    std::vector<std::string> s;
    scans(doc.at("Plan").as_object(), s);
    for (const auto& x : s) {
      c.all.push_back(x);
      for (const auto& t : kBig)
        if (x == "Seq Scan on " + t) c.bad.push_back(x);
    }
    c.text += std::string(doc.at("Query Text").as_string()) + "\n  -> ";
    for (const auto& x : s) c.text += x + "; ";
    c.text += "\n";
  }
  return c;
}

struct Timing {
  double median_ms = 0, max_ms = 0;
};

// Runs `fn` `n` times (n > 5: the generic plan's turn comes too), checks every plan, and times it.
template <class Fn>
Timing run_checked(const char* what, store::Connection& c, PlanCapture& cap, int n, Fn fn) {
  std::vector<double> ms;
  cap.take();
  for (int i = 0; i < n; ++i) {
    auto t0 = Steady::now();
    store::with_read(c, [&](store::Tx& tx) { fn(tx, i); });
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
  }
  auto got = check(cap.take());
  INFO(what << ":\n" << got.text);
  CHECK_FALSE(got.all.empty());
  CHECK(got.bad.empty());
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.back()};
}

struct Sizes {
  int64_t first_run, runs;  // run ids first_run .. first_run + runs - 1
  int tasks;                // per run
  int64_t run(int i) const { return first_run + (i * 7717) % runs; }
};

void check_reads(store::Connection& c, const Sizes& sz, int n, bool print) {
  PlanCapture cap(c);
  auto report = [&](const char* what, Timing t) {
    if (print) std::printf("  %-44s median %7.2f ms  max %7.2f ms\n", what, t.median_ms, t.max_ms);
  };
  report("runs list (newest 50)", run_checked("runs list", c, cap, n, [](store::Tx& tx, int) {
           CHECK(store::list_runs(tx, {}).at("runs").as_array().size() == 50);
         }));
  report("runs list, next page (cursor)",
         run_checked("runs list cursor", c, cap, n, [&](store::Tx& tx, int i) {
           store::RunFilter f;
           f.before_id = sz.first_run + sz.runs / 2 + i;
           CHECK(store::list_runs(tx, f).at("runs").as_array().size() == 50);
         }));
  report("runs list of one pipeline",
         run_checked("runs list pipeline", c, cap, n, [](store::Tx& tx, int i) {
           store::RunFilter f;
           f.pipeline = "pipeline-" + std::to_string(1 + i % 50);
           CHECK(store::list_runs(tx, f).at("runs").as_array().size() == 50);
         }));
  report("runs list, state=failed",
         run_checked("runs list failed", c, cap, n, [](store::Tx& tx, int) {
           store::RunFilter f;
           f.state = "failed";
           CHECK(store::list_runs(tx, f).at("runs").as_array().size() == 50);
         }));
  report("a run's page (run + tasks + needs)",
         run_checked("run page", c, cap, n, [&](store::Tx& tx, int i) {
           auto r = store::get_run(tx, sz.run(i));
           REQUIRE(r);
           CHECK(r->at("tasks").as_array().size() == static_cast<size_t>(sz.tasks));
         }));
  report("a task with its attempts", run_checked("task", c, cap, n, [&](store::Tx& tx, int i) {
           CHECK(store::get_task(tx, sz.run(i), "task-3"));
         }));
  report("a run's metrics", run_checked("metrics", c, cap, n, [&](store::Tx& tx, int i) {
           store::MetricQuery q;
           q.run_id = sz.run(i);
           auto m = store::run_metrics(tx, q);
           REQUIRE(m);
           CHECK(m->at("series").as_array().size() == static_cast<size_t>(sz.tasks));
         }));
}

std::unique_ptr<store::Connection> filled(int runs, int tasks, bool print,
                                          std::string* url = nullptr) {
  auto u = it::PgCluster::shared().create_database();
  if (url) *url = u;
  auto conn = store::connect(u, 1);
  REQUIRE(conn);
  REQUIRE(store::migrate(*conn.value()));
  auto t0 = Steady::now();
  fill(**conn, runs, tasks);
  if (print)
    std::printf("filled %d runs x %d tasks (%d task rows) in %.1f s\n", runs, tasks, runs * tasks,
                std::chrono::duration<double>(Steady::now() - t0).count());
  return std::move(conn.value());
}

}  // namespace

TEST_CASE("rows: the runs list, a run's page and the metrics query use indexes", "[rows]") {
  auto c = filled(4000, 10, false);
  check_reads(*c, {1, 4000, 10}, 8, false);
}

TEST_CASE("rows: a million task rows: plans and times and gc while the list is read",
          "[.][bench][rows]") {
  const int runs = 100000, tasks = 10;
  std::printf("1,000,000 task rows (make bench-rows)\n");
  std::string url;
  auto c = filled(runs, tasks, true, &url);
  check_reads(*c, {1, runs, tasks}, 21, true);

  // gc of the older half (50,000 runs, 500,000 task rows) in batches of 100, while another
  // session reads the newest page of the runs list as the API would.
  store::with_tx(*c, [&](store::Tx& tx) {
    store::W(tx).exec_params(
        "UPDATE runs SET finished_at = now() - interval '40 days' WHERE id <= $1", runs / 2);
  });
  it::TempDir dir;
  store::Pool pool(url, 2);
  std::atomic<bool> done{false};
  std::vector<double> lat;
  std::thread reader([&] {
    auto rc = store::connect(url, 1);
    while (rc && !done) {
      auto t0 = Steady::now();
      store::with_read(**rc, [](store::Tx& tx) { store::list_runs(tx, {}); });
      lat.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  api::GcOptions o;
  o.older_than_s = 30 * 86400;
  o.batch = 100;
  auto t0 = Steady::now();
  auto rep = api::collect_garbage(pool, dir.path(), o);
  double secs = std::chrono::duration<double>(Steady::now() - t0).count();
  done = true;
  reader.join();
  CHECK(rep.done);
  CHECK(rep.counts.runs == runs / 2);
  CHECK(rep.counts.tasks == int64_t(runs / 2) * tasks);
  REQUIRE_FALSE(lat.empty());
  std::sort(lat.begin(), lat.end());
  std::printf(
      "gc: %lld runs, %lld task rows, %lld events, %lld metrics in %d batches: %.1f s "
      "(%.0f task rows/s, %.2f s per batch); runs list meanwhile: %zu reads, median %.2f ms, p99 "
      "%.2f ms, "
      "max %.2f ms\n",
      (long long)rep.counts.runs, (long long)rep.counts.tasks, (long long)rep.counts.events,
      (long long)rep.counts.metrics, rep.batches, secs, rep.counts.tasks / secs, secs / rep.batches,
      lat.size(), lat[lat.size() / 2], lat[std::min(lat.size() - 1, lat.size() * 99 / 100)],
      lat.back());
  store::with_autocommit(*c, [](store::Tx& tx) { store::W(tx).exec("VACUUM ANALYZE"); });
  std::printf("after gc (VACUUM ANALYZE):\n");
  check_reads(*c, {runs / 2 + 1, runs / 2, tasks}, 21, true);
}
