// Chaos: the embedded PostgreSQL of `ctflow up` (issue 22). It dies under a running server (pg_ctl
// stop -m immediate): `ctflow up` notices, starts it again and serves on. `ctflow up` killed
// with SIGKILL leaves its database running; the next `ctflow up` adopts it and stops it at exit.
// A database someone else started is used and left running.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;
namespace fs = std::filesystem;

namespace {

bool as_root() {
  return ::geteuid() == 0;
}

int pg_ctl(const std::vector<std::string>& args, std::string* out = nullptr) {
  std::string ignored;
  std::vector<std::string> argv{postgres_bin_dir() + "/pg_ctl"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_captured(argv, out ? out : &ignored, as_root());
}

// Stops and removes the cluster that `ctflow up` made (as root under /var/lib/ctflow/clusters).
struct ClusterCleanup {
  std::string cluster;
  ~ClusterCleanup() {
    if (cluster.empty()) return;
    pg_ctl({"-D", cluster, "-m", "immediate", "stop"});
    std::error_code ec;
    if (cluster.rfind("/var/lib/ctflow/clusters/", 0) == 0) fs::remove_all(cluster, ec);
  }
};

bool cluster_running(const std::string& cluster) {
  return pg_ctl({"-D", cluster, "status"}) == 0;
}

}  // namespace

TEST_CASE("ctflow up: its database dies and is started again - SIGKILL leaves it to be adopted",
          "[chaos]") {
  TempDir dir;
  std::string data = dir / "data";
  ServerConfig cfg;
  cfg.data_dir = data;
  cfg.log_path = dir / "up.log";
  cfg.embedded = true;
  ClusterCleanup cleanup;
  auto up = std::make_unique<ServerProcess>(cfg);
  up->start(180s);
  std::error_code ec;
  cleanup.cluster = fs::canonical(data + "/pg", ec).string();
  REQUIRE(!ec);
  REQUIRE(cluster_running(cleanup.cluster));
  auto hello = "name: hi\ntasks:\n  - {name: a, run: ['true']}\n";
  CHECK(str(wait_run(*up, submit_run(*up, hello)), "state") == "succeeded");

  // The database crashes under the server: restarted, and the API serves again.
  REQUIRE(pg_ctl({"-D", cleanup.cluster, "-m", "immediate", "-w", "stop"}) == 0);
  bool restarted = poll_until(
      [&] { return up->log().find("is running again") != std::string::npos; }, 30s, 100ms);
  INFO(up->log());
  REQUIRE(restarted);
  CHECK(up->log().find("stopped unexpectedly") != std::string::npos);
  bool serving = poll_until(
      [&] {
        auto r = up->client().request("GET", "/api/v1/runs");
        return r && r->status == 200;
      },
      15s, 100ms);
  CHECK(serving);
  CHECK(str(wait_run(*up, submit_run(*up, hello)), "state") == "succeeded");

  // SIGKILL: the database stays up (nobody stopped it); the next `ctflow up` adopts it ...
  up->kill9();
  CHECK(cluster_running(cleanup.cluster));
  up = std::make_unique<ServerProcess>(cfg);
  up->start(180s);
  CHECK(up->log().find("adopting it") != std::string::npos);
  // ... and, having adopted it, stops it when it stops.
  CHECK(up->stop() == 0);
  CHECK(!cluster_running(cleanup.cluster));
  CHECK(!fs::exists(data + "/pg.owner"));

  // A database someone else started (no pg.owner): used, and left running at exit.
  REQUIRE(pg_ctl({"-D", cleanup.cluster, "-l", cleanup.cluster + "/server.log", "-w", "-o",
                  "-c listen_addresses='' -k " + cleanup.cluster, "start"}) == 0);
  up = std::make_unique<ServerProcess>(cfg);
  up->start(180s);
  CHECK(up->stop() == 0);
  CHECK(cluster_running(cleanup.cluster));
}
