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
  ServerConfig cfg;
  cfg.database_url = db.url();
  cfg.data_dir = dir / "server";
  cfg.log_path = dir / "server.log";
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
    ServerConfig cfg;
    cfg.database_url = db.url();
    cfg.data_dir = dir / name;
    cfg.log_path = dir / (name + ".log");
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
