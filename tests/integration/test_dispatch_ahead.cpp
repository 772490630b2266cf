// Integration: tasks dispatched ahead of the server's slots (EngineOptions::dispatch_ahead) wait
// in the supervisor for a running one to end: never more than --max-parallel processes at once,
// a timeout counts from the process's start, and a cancelled waiting task never starts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;
namespace fs = std::filesystem;

TEST_CASE("dispatched ahead: at most max-parallel run at once, every slot used",
          "[integration][engine]") {
  ServerConfig cfg;
  cfg.max_parallel = 2;
  Harness h(cfg);
  std::string dir = h.path("running"), counts = h.path("counts");
  fs::create_directories(dir);
  std::string spec = "name: wide\ntasks:\n";
  for (int i = 0; i < 12; ++i)
    spec += "  - {name: t" + std::to_string(i) +
            ", run: [sh, -c, 'mkdir \"$1/$2\"; ls \"$1\" | wc -l >> \"$3\"; sleep 0.2; rmdir "
            "\"$1/$2\"', x, \"" +
            dir + "\", t" + std::to_string(i) + ", \"" + counts + "\"]}\n";
  auto run = h.wait(h.submit(spec));
  CHECK(str(run, "state") == "succeeded");
  auto lines = read_lines(counts);
  REQUIRE(lines.size() == 12);
  int most = 0;
  for (const auto& l : lines) most = std::max(most, std::stoi(l));
  CHECK(most == 2);
  // The engine did dispatch ahead: more tasks were dispatched than running at some point.
  CHECK(h.db().count("SELECT count(*) FROM events WHERE payload->>'state' = 'dispatched'") == 12);
}

TEST_CASE("a task dispatched ahead times out from its start, not from its dispatch",
          "[integration][engine]") {
  ServerConfig cfg;
  cfg.max_parallel = 1;
  Harness h(cfg);
  // With one slot, `b` waits in the supervisor while `a` runs 1.5 s; its 1 s timeout must not
  // have run out when it starts. `c`, waiting the same way, is cancelled with the run before
  // it starts: it never runs.
  auto id = h.submit(
      "name: wait\ntasks:\n  - {name: a, run: [sleep, '1.5']}\n"
      "  - {name: b, timeout: 1s, run: [\"true\"]}\n");
  auto run = h.wait(id, std::chrono::seconds(30));
  CHECK(str(run, "state") == "succeeded");
  CHECK(str(task_in(run, "b"), "state") == "succeeded");
  std::string marker = h.path("c-ran");
  auto id2 = h.submit(
      "name: cancel\ntasks:\n  - {name: a, run: [sleep, '30']}\n"
      "  - {name: c, run: [touch, \"" +
      marker + "\"]}\n");
  REQUIRE(poll_until(
      [&] {
        return h.db().count(
                   "SELECT count(*) FROM task_runs WHERE state IN ('dispatched', "
                   "'running') AND run_id = " +
                   id2) == 2;
      },
      std::chrono::seconds(30)));
  REQUIRE(h.cli({"cancel", id2}).rc == 0);
  auto cancelled = h.wait(id2, std::chrono::seconds(30));
  CHECK(str(cancelled, "state") == "cancelled");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("a restarted server counts the running tasks it adopted against its slots",
          "[integration][engine]") {
  // Two slots, both taken by long tasks when the server is killed: the restarted server adopts
  // them (still running under the old supervisor) and starts nothing more until they end, though
  // it dispatches ahead (its supervisor's limit is the slots less the adopted).
  TempDir dir;
  Db db(PgCluster::shared().create_database());
  ServerConfig cfg;
  cfg.database_url = db.url();
  cfg.data_dir = dir / "server";
  cfg.log_path = dir / "server.log";
  cfg.max_parallel = 2;
  std::string running = dir / "running", counts = dir / "counts";
  fs::create_directories(running);
  auto task = [&](const std::string& name, const std::string& secs) {
    return "  - {name: " + name +
           ", run: [sh, -c, 'mkdir \"$1/$2\"; ls \"$1\" | wc -l >> \"$3\"; sleep " + secs +
           "; rmdir \"$1/$2\"', x, \"" + running + "\", " + name + ", \"" + counts + "\"]}\n";
  };
  std::string spec = "name: adopted\ntasks:\n" + task("long1", "2") + task("long2", "2");
  for (int i = 0; i < 4; ++i) spec += task("s" + std::to_string(i), "0.1");
  ServerProcess first(cfg);
  first.start();
  std::string id = submit_run(first, spec);
  REQUIRE(poll_until([&] { return read_lines(counts).size() >= 2; }, std::chrono::seconds(30)));
  first.kill9();
  ServerProcess second(cfg);
  second.start();
  auto run = wait_run(second, id, std::chrono::seconds(60));
  INFO(second.log());
  CHECK(str(run, "state") == "succeeded");
  auto lines = read_lines(counts);
  int most = 0;
  for (const auto& l : lines) most = std::max(most, std::stoi(l));
  CHECK(most <= 2);
  CHECK(lines.size() == 6);  // each task ran once
}
