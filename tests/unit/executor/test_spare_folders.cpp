// Spare attempt folders: made ahead by an idle-priority thread, taken by rename.
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "scheduler/executor/local/spare_folders.hpp"
#include "tests/unit/executor/temp_folder.hpp"

using namespace ctflow::exec;
namespace fs = std::filesystem;

namespace {

struct TempRoot : ctflow::test::TempFolder {
  TempRoot() : TempFolder("ctflow-spares") {}
};

// Polls until the pool holds `n` (the thread runs only when a core is idle: allow for a busy
// machine running other tests).
bool wait_ready(const SpareFolders& s, size_t n) {
  for (int i = 0; i < 3000 && s.ready() < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return s.ready() >= n;
}

bool empty_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && fs::file_size(p, ec) == 0;
}

size_t entries(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) ++n;
  return n;
}

}  // namespace

TEST_CASE("spare folders: made ahead, taken whole by rename, then made again", "[executor]") {
  TempRoot t;
  SpareFolders s(t.str(), 64);
  REQUIRE(wait_ready(s, 16));
  CHECK(s.ready() == 16);  // 16 at first, not the most
  CHECK(entries(t.dir / ".spares") == 16);
  REQUIRE(s.take(t.path("7-1")));
  fs::path d = t.dir / "7-1";
  CHECK(fs::is_directory(d / "work"));
  CHECK(empty_file(d / "task.log"));
  CHECK(empty_file(d / "inputs.json"));
  CHECK(empty_file(d / "claim.new"));
  CHECK(SpareFolders::complete(d.string()));
  CHECK_FALSE(fs::exists(d / "claim"));
  CHECK(fs::is_empty(d / "work"));
  REQUIRE(wait_ready(s, 16));  // the one taken is replaced, in the same slot
  CHECK(entries(t.dir / ".spares") == 16);
  // A spare removed by hand is made again.
  for (const auto& e : fs::directory_iterator(t.dir / ".spares")) fs::remove_all(e.path() / "d");
  CHECK_FALSE(s.take(t.path("8-1")));
  CHECK_FALSE(fs::exists(t.dir / "8-1"));
  bool got = false;
  for (int i = 0; i < 3000 && !got; ++i)
    if (!(got = s.take(t.path("9-1")))) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(got);
  CHECK(SpareFolders::complete(t.path("9-1")));
}

TEST_CASE("spare folders: a folder that exists is never replaced, and the spare is kept",
          "[executor]") {
  TempRoot t;
  SpareFolders s(t.str(), 16);
  REQUIRE(wait_ready(s, 16));
  fs::create_directory(t.dir / "8-1");  // as a cancel's fence makes it
  std::ofstream(t.dir / "8-1" / "claim") << "{}\n";
  CHECK_FALSE(s.take(t.path("8-1")));
  CHECK(s.ready() == 16);
  CHECK(fs::exists(t.dir / "8-1" / "claim"));
  CHECK_FALSE(fs::exists(t.dir / "8-1" / "work"));
  // An empty folder is not replaced either (rename would, for a directory).
  fs::create_directory(t.dir / "9-1");
  CHECK_FALSE(s.take(t.path("9-1")));
  CHECK(s.ready() == 16);
  CHECK(fs::is_empty(t.dir / "9-1"));
}

TEST_CASE("spare folders: each miss doubles how many are kept, up to the most", "[executor]") {
  TempRoot t;
  SpareFolders s(t.str(), 40);
  CHECK(s.wanted() == 16);
  int n = 0;
  auto take_until_miss = [&] {
    for (int i = 0; i < 100000; ++i)
      if (!s.take(t.path(std::to_string(n++) + "-1"))) return true;
    return false;
  };
  REQUIRE(take_until_miss());
  CHECK(s.wanted() == 32);
  REQUIRE(take_until_miss());
  CHECK(s.wanted() == 40);
  REQUIRE(take_until_miss());
  CHECK(s.wanted() == 40);
  REQUIRE(wait_ready(s, 40));
}

TEST_CASE("spare folders: none made while they are being taken, unless few are left",
          "[executor]") {
  TempRoot t;
  // A long quiet time, so that a slow machine cannot end it between the checks.
  SpareFolders s(t.str(), 16, std::chrono::seconds(30));
  REQUIRE(wait_ready(s, 16));
  for (int i = 0; i < 4; ++i) REQUIRE(s.take(t.path(std::to_string(i) + "-1")));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(s.ready() == 12);  // taken ones not replaced yet: starts are still coming
  // Down to an eighth of 16: made again up to just above it, then not while the quiet lasts.
  for (int i = 4; i < 15; ++i) REQUIRE(s.take(t.path(std::to_string(i) + "-1")));
  CHECK(s.ready() == 1);
  REQUIRE(wait_ready(s, 3));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(s.ready() == 3);
}

TEST_CASE("spare folders: all made again once none was taken for a while", "[executor]") {
  TempRoot t;
  SpareFolders s(t.str(), 16, std::chrono::milliseconds(200));
  REQUIRE(wait_ready(s, 16));
  for (int i = 0; i < 10; ++i) REQUIRE(s.take(t.path(std::to_string(i) + "-1")));
  CHECK(s.ready() == 6);
  REQUIRE(wait_ready(s, 16));
}

TEST_CASE(
    "spare folders: slots of a process that is gone are taken over, a half-made spare made again",
    "[executor]") {
  TempRoot t;
  fs::path sp = t.dir / ".spares";
  fs::create_directories(sp / "old");
  REQUIRE(SpareFolders::make((sp / "old" / "d").string()));
  fs::create_directories(sp / "half" / "d");  // its maker died before its work/
  // A live process's slot (the server's and its supervisor's share the folder): left to it.
  std::string live = std::to_string(::getppid()) + "-1-1";
  fs::create_directories(sp / live);
  REQUIRE(SpareFolders::make((sp / live / "d").string()));
  {
    SpareFolders s(t.str(), 2);
    REQUIRE(wait_ready(s, 2));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(s.ready() == 2);  // old's, and half's made again in its slot: no new slot
    CHECK(entries(sp) == 3);
    CHECK_FALSE(fs::exists(sp / "old"));  // renamed to this process's names
    CHECK_FALSE(fs::exists(sp / "half"));
    REQUIRE(s.take(t.path("3-1")));
    REQUIRE(s.take(t.path("4-1")));
  }
  CHECK(SpareFolders::complete(t.path("3-1")));
  CHECK(SpareFolders::complete(t.path("4-1")));
  CHECK(SpareFolders::complete((sp / live / "d").string()));
}

TEST_CASE("spare folders: none kept when none are asked for", "[executor]") {
  TempRoot t;
  SpareFolders s(t.str(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(s.take(t.path("1-1")));
  CHECK(s.wanted() == 0);
  CHECK_FALSE(fs::exists(t.dir / ".spares"));
  CHECK_FALSE(fs::exists(t.dir / "1-1"));
}
