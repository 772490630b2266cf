// The attempt folder's files: the claim (the pid and the exit status as JSON lines), the others.
#include <fcntl.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "scheduler/common/json_util.hpp"
#include "scheduler/executor/local/attempt_files.hpp"
#include "tests/unit/executor/temp_folder.hpp"

using namespace ctflow::exec;
namespace fs = std::filesystem;

namespace {

struct TempAttempt : ctflow::test::TempFolder {
  TempAttempt() : TempFolder("ctflow-attempt") {}
};

void append(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::app) << text;
}

}  // namespace

TEST_CASE("claim file: the first claim wins, pid then exit are read back", "[executor]") {
  TempAttempt a;
  CHECK_FALSE(read_pid(a.str()));
  CHECK_FALSE(read_exit(a.str()));
  int fd = open_claim(a.str());
  REQUIRE(fd >= 0);
  CHECK(open_claim(a.str()) < 0);      // a second claimant is fenced
  CHECK_FALSE(create_claim(a.str()));  // and so is an adopter
  REQUIRE(write_pid(fd, {4242, {}}));
  auto p = read_pid(a.str());
  REQUIRE(p);
  CHECK(p->pid == 4242);
  CHECK_FALSE(read_exit(a.str()));  // still running
  ExitRecord e;
  e.exit_code = 3;
  REQUIRE(write_exit(fd, e));
  ::close(fd);
  auto x = read_exit(a.str());
  REQUIRE(x);
  REQUIRE(x->exit_code);
  CHECK(*x->exit_code == 3);
  CHECK_FALSE(x->signal);
  CHECK(read_pid(a.str())->pid == 4242);
}

TEST_CASE("claim file: a fence can carry the exit status of an attempt that never started",
          "[executor]") {
  TempAttempt a;
  ExitRecord e;
  e.error = "cancelled before start";
  REQUIRE(create_claim(a.str(), e));
  CHECK(open_claim(a.str()) < 0);  // the supervisor may not start it now
  CHECK_FALSE(read_pid(a.str()));
  auto x = read_exit(a.str());
  REQUIRE(x);
  CHECK(x->error == "cancelled before start");
  CHECK_FALSE(x->exit_code);

  TempAttempt empty;
  REQUIRE(create_claim(empty.str()));  // an adopter's plain fence: claimed, no record
  CHECK_FALSE(read_pid(empty.str()));
  CHECK_FALSE(read_exit(empty.str()));
}

TEST_CASE("claim file: a line still being written is not read, a bad line is skipped",
          "[executor]") {
  TempAttempt a;
  fs::path claim = a.dir / "claim";
  append(claim, "{\"pid\": 7, \"started_at\": \"2026-11-26T00:00:00Z\"}\n");
  append(claim, "{\"exit\": {\"signal\": 9");  // no newline yet: half written
  CHECK(read_pid(a.str())->pid == 7);
  CHECK_FALSE(read_exit(a.str()));
  append(claim, "}}\n");
  auto x = read_exit(a.str());
  REQUIRE(x);
  REQUIRE(x->signal);
  CHECK(*x->signal == 9);

  TempAttempt b;
  append(b.dir / "claim", "not json\n{\"exit\": {\"exit_code\": 0}}\n");
  auto y = read_exit(b.str());
  REQUIRE(y);
  CHECK(*y->exit_code == 0);
}

TEST_CASE("attempt files: written whole into a new, a prepared empty or an old longer file",
          "[executor]") {
  TempAttempt t;
  std::string fresh = t.str() + "/fresh.json", prepared = t.str() + "/inputs.json",
              longer = t.str() + "/old.json";
  std::ofstream(prepared).close();  // as the supervisor prepares a folder: empty
  std::ofstream(longer) << "a much longer old content than the new one";
  CHECK(write_attempt_file(fresh, "{\"a\":1}"));
  CHECK(write_attempt_file(prepared, "{\"b\":2}"));
  CHECK(write_attempt_file(longer, "{}"));
  CHECK(ctflow::read_file(fresh) == "{\"a\":1}");
  CHECK(ctflow::read_file(prepared) == "{\"b\":2}");
  CHECK(ctflow::read_file(longer) == "{}");
  CHECK_FALSE(write_attempt_file(t.str() + "/missing/x.json", "{}"));
}

TEST_CASE("claim file: a spare folder's claim.new becomes the claim, exclusively", "[executor]") {
  TempAttempt a;
  std::ofstream(a.dir / "claim.new").close();
  int fd = open_claim(a.str());
  REQUIRE(fd >= 0);
  CHECK(write_pid(fd, {42, ctflow::now_utc()}));
  ::close(fd);
  CHECK_FALSE(fs::exists(a.dir / "claim.new"));
  REQUIRE(read_pid(a.str()));
  CHECK(read_pid(a.str())->pid == 42);
  errno = 0;
  CHECK(open_claim(a.str()) == -1);
  CHECK(errno == EEXIST);
  // Fenced first (an adopter's create_claim): the spare claim.new never replaces that claim.
  TempAttempt b;
  REQUIRE(create_claim(b.str(), ExitRecord{std::nullopt, std::nullopt, "fenced"}));
  std::ofstream(b.dir / "claim.new").close();
  errno = 0;
  CHECK(open_claim(b.str()) == -1);
  CHECK(errno == EEXIST);
  CHECK(fs::exists(b.dir / "claim.new"));
  REQUIRE(read_exit(b.str()));
  CHECK(read_exit(b.str())->error == "fenced");
}
