// Integration: crash safety (issue 3, acceptance 3). A server killed with SIGKILL at random
// moments and restarted finishes its run with every task run exactly once; two servers share a
// database, one is killed mid-run, and the survivor finishes the run without running any task
// twice. Set CTFLOW_TEST_SEED to replay a seed (printed on stderr).
#include <catch2/catch.hpp>

#include <algorithm>
#include <iostream>
#include <random>
#include <set>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;

namespace {

// `depth` layers of `width` tasks; each task needs two of the previous layer. Every task appends
// its name to `log` and sleeps 0.2 s.
std::string layered_dag(int depth, int width, const std::string& log,
                        std::vector<std::string>& names) {
  std::string spec = "name: crash-dag\ntasks:\n";
  auto name = [](int l, int i) { return "l" + std::to_string(l) + "t" + std::to_string(i); };
  for (int l = 0; l < depth; ++l) {
    for (int i = 0; i < width; ++i) {
      names.push_back(name(l, i));
      spec += "  - name: " + name(l, i) + "\n";
      if (l > 0)
        spec += "    needs: [" + name(l - 1, i) + ", " + name(l - 1, (i + 1) % width) + "]\n";
      spec += "    run: [sh, -c, 'echo \"$1\" >> \"$2\"; sleep 0.2', x, " + name(l, i) + ", \"" +
              log + "\"]\n";
    }
  }
  return spec;
}

uint32_t test_seed() {
  if (const char* s = std::getenv("CTFLOW_TEST_SEED"); s && *s) return std::stoul(s);
  return std::random_device{}();
}

// Every expected name exactly once in the log.
void check_each_once(const std::string& log, std::vector<std::string> names) {
  auto lines = read_lines(log);
  std::sort(lines.begin(), lines.end());
  std::sort(names.begin(), names.end());
  std::vector<std::string> dup;
  for (size_t i = 1; i < lines.size(); ++i)
    if (lines[i] == lines[i - 1]) dup.push_back(lines[i]);
  INFO("ran more than once: " << Catch::Detail::stringify(dup));
  CHECK(dup.empty());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  CHECK(lines == names);
}

// A server of `db` named `name`: its data dir and log in `dir`.
ServerConfig server_config(const TempDir& dir, const Db& db, const std::string& name) {
  ServerConfig cfg;
  cfg.database_url = db.url();
  cfg.data_dir = dir / name;
  cfg.log_path = dir / (name + ".log");
  return cfg;
}

std::string run_state(const Db& db, const std::string& id) {
  return db.text("SELECT state || ' ' || tasks_done FROM runs WHERE id = " + id);
}

}  // namespace

TEST_CASE("kill -9 at three random moments: the run ends succeeded, every task once",
          "[integration][crash]") {
  uint32_t seed = test_seed();
  std::cerr << "test_crash: seed " << seed << " (CTFLOW_TEST_SEED to replay)\n";
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  TempDir dir;
  Db db(PgCluster::shared().create_database());
  ServerConfig cfg = server_config(dir, db, "server");
  cfg.lease_ms = 3000;
  cfg.sweep_ms = 500;
  ServerProcess server(cfg);
  server.start();
  std::vector<std::string> names;
  std::string log = dir / "ran.log";
  std::string id = submit_run(server, layered_dag(10, 5, log, names));

  // Kill when the run has finished a random number of tasks, plus a random delay, so every kill
  // lands while tasks are being claimed, started or finished. At most 35 done: then a task of the
  // first 8 layers (40 tasks) is not, and two layers of its descendants (0.4 s) have not started,
  // so the run outlives the delay (with up to 42, the last layers sometimes finished within it).
  std::set<int> picks;
  while (picks.size() < 3) picks.insert(std::uniform_int_distribution<int>(1, 35)(rng));
  for (int done_before_kill : picks) {
    int delay_ms = std::uniform_int_distribution<int>(0, 250)(rng);
    INFO("kill after " << done_before_kill << " tasks + " << delay_ms << " ms");
    REQUIRE(poll_until(
        [&] {
          return db.count("SELECT tasks_done FROM runs WHERE id = " + id) >= done_before_kill;
        },
        120s, 10ms));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    std::string at_kill = run_state(db, id);
    server.kill9();
    std::cerr << "test_crash: killed the server at \"" << at_kill << "\"\n";
    CHECK(at_kill.rfind("running", 0) == 0);  // the kill hit a live run
    server.start();
  }
  auto run = wait_run(server, id, 180s);
  INFO(server.log());
  CHECK(str(run, "state") == "succeeded");
  CHECK(str(run, "tasks_done") == "50");
  check_each_once(log, names);
  // One successful attempt per task; none lost.
  CHECK(db.count("SELECT count(*) FROM (SELECT task_run_id FROM task_attempts WHERE state = "
                 "'succeeded' GROUP BY task_run_id HAVING count(*) > 1) d") == 0);
  CHECK(db.count("SELECT count(*) FROM task_runs WHERE state = 'succeeded'") == 50);
}

TEST_CASE("two servers on one database: one killed mid-run, the survivor finishes",
          "[integration][crash]") {
  TempDir dir;
  Db db(PgCluster::shared().create_database());
  auto config = [&](const std::string& name) {
    ServerConfig cfg = server_config(dir, db, name);
    cfg.lease_ms = 1500;
    cfg.sweep_ms = 300;
    cfg.max_parallel = 4;  // so that both servers get work
    return cfg;
  };
  ServerProcess a(config("a")), b(config("b"));
  a.start();
  b.start();
  std::vector<std::string> names;
  std::string log = dir / "ran.log";
  std::string id = submit_run(a, layered_dag(5, 10, log, names));
  std::string a_owner = "'%:" + std::to_string(a.pid()) + ":%'";
  std::string b_owner = "'%:" + std::to_string(b.pid()) + ":%'";
  // Both servers work on the run, and `a` holds running tasks when it dies.
  REQUIRE(poll_until(
      [&] {
        return db.count("SELECT count(*) FROM task_attempts WHERE owner LIKE " + b_owner) > 0 &&
               db.count(
                   "SELECT count(*) FROM task_runs WHERE state IN ('dispatched', 'running') "
                   "AND lease_owner LIKE " +
                   a_owner) > 0 &&
               db.count("SELECT tasks_done FROM runs WHERE id = " + id) >= 8;
      },
      120s, 10ms));
  std::string at_kill = run_state(db, id);
  a.kill9();
  std::cerr << "test_crash: killed server a at \"" << at_kill << "\"\n";
  REQUIRE(at_kill.rfind("running", 0) == 0);
  auto run = wait_run(b, id, 180s);
  INFO("a's log:\n" << a.log() << "\nb's log:\n" << b.log());
  CHECK(str(run, "state") == "succeeded");
  check_each_once(log, names);
  CHECK(db.count("SELECT count(*) FROM (SELECT task_run_id FROM task_attempts WHERE state = "
                 "'succeeded' GROUP BY task_run_id HAVING count(*) > 1) d") == 0);
  // Nothing is owned by the dead server any more, and b finished the run's last tasks.
  CHECK(db.count("SELECT count(*) FROM task_runs WHERE lease_owner LIKE " + a_owner +
                 " AND state IN ('dispatched', 'running')") == 0);
  CHECK(db.count("SELECT count(*) FROM task_attempts WHERE owner LIKE " + b_owner +
                 " AND started_at > (SELECT max(started_at) FROM task_attempts WHERE owner LIKE " +
                 a_owner + ")") > 0);
}

namespace {

// A chain of `n` tasks c1..cn; each appends its name to `log` and sleeps 0.2 s.
std::string chain(int n, const std::string& log, std::vector<std::string>& names) {
  std::string spec = "name: crash-chain\ntasks:\n";
  for (int i = 1; i <= n; ++i) {
    names.push_back("c" + std::to_string(i));
    spec += "  - name: c" + std::to_string(i) + "\n";
    if (i > 1) spec += "    needs: [c" + std::to_string(i - 1) + "]\n";
    spec += "    run: [sh, -c, 'echo \"$1\" >> \"$2\"; sleep 0.2', x, c" + std::to_string(i) +
            ", \"" + log + "\"]\n";
  }
  return spec;
}

// Starts `server` (with --crash-after-early-starts 2) on a 6-task chain: it kills itself right
// after starting a child's process, before the statement that finishes the parent and
// dispatches the child commits. Checks that this is what happened: the last task in the log
// (the child) ran while the database has it pending and its parent still active.
struct EarlyCrash {
  std::string run_id, child;
};
EarlyCrash crash_at_early_start(ServerProcess& server, const Db& db, const std::string& log,
                                std::vector<std::string>& names) {
  server.start();
  std::string id = submit_run(server, chain(6, log, names));
  REQUIRE(poll_until([&] { return !process_alive(server.pid()); }, 60s, 10ms));
  server.kill9();                      // reaps it
  std::this_thread::sleep_for(100ms);  // the child's echo
  auto lines = read_lines(log);
  REQUIRE(lines.size() >= 2);
  REQUIRE(lines.size() < 6);
  std::string child = lines.back(), parent = lines[lines.size() - 2];
  INFO("child " << child << ", parent " << parent);
  CHECK(db.text("SELECT state FROM task_runs WHERE name = '" + child + "'") == "pending");
  CHECK(db.text("SELECT state IN ('dispatched', 'running') FROM task_runs WHERE name = '" + parent +
                "'") == "t");
  return {id, child};
}

}  // namespace

TEST_CASE(
    "killed after starting a child early: the server restarted, or another one, takes it over",
    "[integration][crash]") {
  // Restarted, the server finds the child's claim in its own attempts folder; another server
  // (its own data dir) learns of the child's process from the parent's claim in the dead one's.
  // Armed: the child was started by the supervisor when its parent ended (ChainAcceleration::arm);
  // else by the engine (`--arm-depth 0`: start_early only).
  bool other = GENERATE(false, true);
  bool armed = GENERATE(true, false);
  INFO((other ? "another server" : "the server restarted")
       << (armed ? ", child armed" : ", child started by the engine"));
  TempDir dir;
  Db db(PgCluster::shared().create_database());
  ServerConfig cfg = server_config(dir, db, "a");
  cfg.extra_args = {"--fast-path", "--crash-after-early-starts", "2"};
  if (!armed) cfg.extra_args.insert(cfg.extra_args.end(), {"--arm-depth", "0"});
  ServerProcess crashing(cfg);
  std::vector<std::string> names;
  std::string log = dir / "ran.log";
  auto [id, child] = crash_at_early_start(crashing, db, log, names);
  ServerProcess server(server_config(dir, db, other ? "b" : "a"));
  server.start();
  auto run = wait_run(server, id, 60s);
  INFO("the crashed server's log:\n" << crashing.log() << "\nthe survivor's:\n" << server.log());
  CHECK(str(run, "state") == "succeeded");
  check_each_once(log, names);
  CHECK(db.count("SELECT count(*) FROM task_attempts") == 6);
  // The early child's record says when its process started, as for any other task.
  CHECK(db.count("SELECT count(*) FROM task_runs WHERE started_at IS NULL") == 0);
  // The survivor dispatched the child the dead one had started (b's folder links to a's).
  CHECK(db.text("SELECT executor_ref LIKE '%/" + std::string(other ? "b" : "a") +
                "/attempts/%' FROM task_runs WHERE name = '" + child + "'") == "t");
}

TEST_CASE("a dispatch its own server does not know of is adopted, not held forever",
          "[integration][crash]") {
  // What the engine leaves behind when a statement commits but its acknowledgement is lost (the
  // connection breaks; the pass is retried and finds nothing to do): a task dispatched to this
  // server that its engine never started. Made here by hand: `y` is set dispatched to the
  // server, with a lease of an hour that the server would keep renewing.
  TempDir dir;
  Db db(PgCluster::shared().create_database());
  ServerConfig cfg = server_config(dir, db, "server");
  ServerProcess server(cfg);
  server.start();
  std::string go = dir / "go", log = dir / "ran.log";
  std::string id = submit_run(
      server,
      "name: orphan\ntasks:\n  - {name: hold, run: [sh, -c, 'i=0; while [ ! -f \"$1\" ] && [ $i "
      "-lt 600 ]; do "
      "sleep 0.05; i=$((i+1)); done', x, \"" +
          go + "\"]}\n  - {name: y, needs: [hold], run: [sh, -c, 'echo y >> \"$1\"', x, \"" + log +
          "\"]}\n");
  REQUIRE(poll_until(
      [&] { return db.text("SELECT state FROM task_runs WHERE name = 'hold'") == "running"; }, 30s,
      10ms));
  db.exec(R"SQL(
WITH h AS (SELECT lease_owner, executor_ref FROM task_runs WHERE name = 'hold'),
y AS (
  UPDATE task_runs t SET state = 'dispatched', attempt = 1, pending_deps = 0,
    lease_owner = h.lease_owner, lease_expires_at = now() + interval '1 hour',
    executor_ref = regexp_replace(h.executor_ref, '[^/]*$', t.id || '-1')
  FROM h WHERE t.name = 'y' RETURNING t.id, t.lease_owner, t.executor_ref
)
INSERT INTO task_attempts(task_run_id, attempt, state, owner, executor_ref)
SELECT id, 1, 'dispatched', lease_owner, executor_ref FROM y)SQL");
  // The next sweep (0.5 s) adopts it: never started, so fenced and dispatched again.
  INFO(server.log());
  REQUIRE(poll_until(
      [&] { return db.text("SELECT state FROM task_runs WHERE name = 'y'") == "succeeded"; }, 20s,
      20ms));
  CHECK(read_lines(log) == std::vector<std::string>{"y"});
  CHECK(db.count("SELECT count(*) FROM task_attempts a JOIN task_runs t ON t.id = a.task_run_id "
                 "WHERE t.name = 'y'") == 2);
  write_text(go, "");
  auto run = wait_run(server, id, 30s);
  CHECK(str(run, "state") == "succeeded");
}
