// Integration: `ctflow up` with its embedded PostgreSQL (issue 3, acceptance 6, the parts that
// need no package installation): started as root with a data dir under a 0700 folder, it runs
// examples/hello.yaml to success, stops cleanly, and a second start reuses the data dir (same
// database, same admin token, the earlier run still there).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;
namespace fs = std::filesystem;

namespace {

// Removes the embedded cluster that `ctflow up` placed outside the data dir (as root it lives
// under /var/lib/ctflow/clusters and <data-dir>/pg links to it).
struct ClusterCleanup {
  std::string link;
  ~ClusterCleanup() {
    std::error_code ec;
    if (!fs::is_symlink(link, ec)) return;
    auto target = fs::read_symlink(link, ec);
    if (ec || target.string().rfind("/var/lib/ctflow/clusters/", 0) != 0) return;
    std::string out;
    run_captured({postgres_bin_dir() + "/pg_ctl", "-D", target.string(), "-m", "immediate", "stop"},
                 &out, ::geteuid() == 0);
    fs::remove_all(target, ec);
  }
};

}  // namespace

TEST_CASE("ctflow up: hello.yaml succeeds, a second start reuses the data dir",
          "[integration][up]") {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0700);  // like $(mktemp -d): the postgres user cannot enter it
  std::string data = dir / "data";
  ClusterCleanup cleanup{data + "/pg"};
  ServerConfig cfg;
  cfg.data_dir = data;
  cfg.log_path = dir / "up.log";
  cfg.embedded = true;
  ServerProcess up(cfg);
  up.start(180s);
  std::string token = up.token();
  REQUIRE(token.rfind("ctf_", 0) == 0);
  struct stat st;
  REQUIRE(::stat(up.token_file().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  std::vector<std::string> argv{ctflow_bin(), "submit",
                                std::string(CTFLOW_SOURCE_DIR) + "/examples/hello.yaml", "--wait"};
  for (const auto& f : up.cli_flags()) argv.push_back(f);
  auto r = run_command(argv, 120s);
  INFO("stderr: " << r.err << "\nserver log:\n" << up.log());
  REQUIRE(r.rc == 0);
  std::string id = r.out.substr(0, r.out.find('\n'));
  CHECK_THAT(r.err, Catch::Contains("succeeded"));
  CHECK(up.stop() == 0);

  // The second start finds its cluster, database and token again.
  up.start(180s);
  CHECK(up.token() == token);
  auto run = get_run(up, id);
  REQUIRE(run);
  CHECK(str(*run, "state") == "succeeded");
  CHECK(str(*run, "pipeline") == "hello");
  CHECK(str(task_in(*run, "report"), "state") == "succeeded");
  CHECK(up.stop() == 0);
}

TEST_CASE(
    "ctflow up: the cluster lives in the data dir when postgres can enter it - one kept "
    "outside is removed once its data dir is deleted",
    "[integration][up]") {
  const bool root = ::geteuid() == 0;
  // A data dir under a 0700 folder: as root the cluster goes to /var/lib/ctflow/clusters.
  TempDir closed;
  ::chmod(closed.path().c_str(), 0700);
  std::string data1 = closed / "data";
  ClusterCleanup cleanup{data1 + "/pg"};
  ServerConfig cfg;
  cfg.data_dir = data1;
  cfg.log_path = closed / "up.log";
  cfg.embedded = true;
  std::string outside;
  {
    ServerProcess up(cfg);
    up.start(180s);
    std::error_code ec;
    if (root) {
      REQUIRE(fs::is_symlink(data1 + "/pg"));
      outside = fs::read_symlink(data1 + "/pg", ec).string();
      CHECK(outside.rfind("/var/lib/ctflow/clusters/", 0) == 0);
      CHECK(fs::exists(outside + ".datadir"));
    } else {
      CHECK(fs::is_directory(data1 + "/pg"));
      CHECK_FALSE(fs::is_symlink(data1 + "/pg"));
    }
    CHECK(up.stop() == 0);
  }
  fs::remove_all(data1);

  // A data dir the postgres user can enter keeps its cluster inside; starting it sweeps the
  // cluster of the deleted data dir above.
  TempDir open;
  ::chmod(open.path().c_str(), 0755);
  cfg.data_dir = open / "data";
  cfg.log_path = open / "up.log";
  ServerProcess up(cfg);
  up.start(180s);
  CHECK(fs::is_directory(cfg.data_dir + "/pg"));
  CHECK_FALSE(fs::is_symlink(cfg.data_dir + "/pg"));
  CHECK(fs::exists(cfg.data_dir + "/pg/PG_VERSION"));
  if (root) {
    CHECK_FALSE(fs::exists(outside));
    CHECK_FALSE(fs::exists(outside + ".datadir"));
    CHECK_THAT(up.log(), Catch::Contains("removed the embedded PostgreSQL cluster"));
  }
  CHECK(up.stop() == 0);
}
