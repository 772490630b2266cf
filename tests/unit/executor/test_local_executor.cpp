// The local executor end to end without a database: a real supervisor (the built `ctflow
// __supervise`), real attempt folders under a temporary root.
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "scheduler/common/json_util.hpp"
#include "scheduler/executor/local/local_executor.hpp"
#include "tests/unit/executor/supervised.hpp"

using namespace ctflow;
namespace fs = std::filesystem;

namespace {

using Harness = test::Supervised;

std::string slurp_file(const std::string& path) {
  return read_file(path).value_or("");
}

using test::request;

}  // namespace

TEST_CASE("local executor: inputs files small and too big for a message both reach the task whole",
          "[executor]") {
  Harness h;
  bool prepared = GENERATE(false, true);  // prepared: the small one travels in the message
  INFO((prepared ? "folders prepared" : "folders made at the start"));
  for (size_t size : {size_t{10}, size_t{200000}}) {
    std::string key = std::to_string(size) + "-1";
    if (prepared) h.ex->prepare({key});
    // The task runs in <attempt>/work; the engine's inputs file is <attempt>/inputs.json.
    auto req = request(key, {"sh", "-c",
                             "test \"$(wc -c < ../inputs.json)\" -eq " + std::to_string(size) +
                                 " && test -d ../work"});
    req.files = {{"inputs.json", std::string(size, 'x')}};
    h.ex->start(req);
    auto ev = h.exit_event(key);
    INFO(size << " bytes: " << ev.error);
    CHECK(ev.error.empty());
    CHECK(ev.exit_code == 0);
    CHECK(fs::exists(h.root / "attempts" / key / "claim"));
  }
}

TEST_CASE("local executor: a command not on the task's PATH fails as not found", "[executor]") {
  Harness h;
  h.ex->start(request("1-1", {"ctflow-no-such-command"}));
  auto ev = h.exit_event("1-1");
  CHECK(ev.error == "command not found: ctflow-no-such-command");
  CHECK_FALSE(ev.exit_code);
  // Found through PATH: runs.
  h.ex->start(request("2-1", {"true"}));
  auto ok = h.exit_event("2-1");
  CHECK(ok.error.empty());
  CHECK(ok.exit_code == 0);
}

TEST_CASE("local executor: every task of a burst reports its exit, each once, in its claim",
          "[executor]") {
  // Many short tasks started at once: the supervisor's spawner threads start them while it
  // reaps, and a task often ends before the thread that started it has returned its pid.
  Harness h;
  const int n = 300;
  for (int i = 0; i < n; ++i) h.ex->start(request(std::to_string(i) + "-1", {"true"}));
  for (int i = 0; i < n; ++i) {
    std::string key = std::to_string(i) + "-1";
    const auto* ev = h.exit_of(key, std::chrono::seconds(20));
    INFO(key);
    REQUIRE(ev);
    CHECK(ev->exit_code == 0);
    CHECK(ev->error.empty());
    auto claim = slurp_file(h.dir(key) + "/claim");
    CHECK(claim.find("\"pid\"") != std::string::npos);
    CHECK(claim.find("\"exit\"") != std::string::npos);
  }
  size_t exits = 0;
  for (const auto& ev : h.seen) exits += ev.kind == exec::ExecEvent::Kind::Exited;
  CHECK(exits == static_cast<size_t>(n));
}

TEST_CASE(
    "local executor: the PATH is searched again after a second, and a removed command is not found",
    "[executor]") {
  Harness h;
  fs::create_directories(h.root / "a");
  fs::create_directories(h.root / "b");
  auto install = [](const fs::path& p, const std::string& says) {
    std::ofstream(p) << "#!/bin/sh\necho " << says << "\n";
    fs::permissions(p, fs::perms::owner_all);
  };
  auto run = [&](const std::string& key) {
    auto req = request(key, {"ctflow-test-cmd"});
    req.env = {"PATH=" + h.path("a") + ":" + h.path("b")};
    h.ex->start(req);
    auto ev = h.exit_event(key);
    return ev.error.empty() ? slurp_file(h.dir(key) + "/task.log") : ev.error;
  };
  install(h.root / "b" / "ctflow-test-cmd", "b");
  CHECK(run("1-1") == "b\n");
  install(h.root / "a" / "ctflow-test-cmd", "a");  // earlier in the PATH
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(run("2-1") == "a\n");
  fs::remove(h.root / "a" / "ctflow-test-cmd");
  fs::remove(h.root / "b" / "ctflow-test-cmd");
  CHECK(run("3-1") == "command not found: ctflow-test-cmd");
  install(h.root / "b" / "ctflow-test-cmd", "b again");
  CHECK(run("4-1") == "b again\n");
}

TEST_CASE(
    "local executor: a prepared folder is used by the start, and an existing one is left alone",
    "[executor]") {
  Harness h;
  auto dir = h.root / "attempts" / "7-1";
  h.ex->prepare({"7-1"});
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!fs::exists(dir / "inputs.json") && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(fs::is_directory(dir / "work"));
  CHECK_FALSE(fs::exists(dir / "claim"));  // made, not claimed: an adopter may still fence it
  auto req = request("7-1", {"sh", "-c", "echo hi; test \"$(cat ../inputs.json)\" = '{\"a\":1}'"});
  req.files = {{"inputs.json", "{\"a\":1}"}};
  h.ex->start(req);
  auto ev = h.exit_event("7-1");
  CHECK(ev.exit_code == 0);
  // Prepared again once it ran (a late hint): the claim, the inputs and the log stay as they are.
  h.ex->prepare({"7-1"});
  h.ex->start(request("8-1", {"true"}));  // handled after the hint, by the same supervisor
  h.exit_event("8-1");
  CHECK(slurp_file((dir / "inputs.json").string()) == "{\"a\":1}");
  CHECK(slurp_file((dir / "task.log").string()) == "hi\n");
  CHECK(slurp_file((dir / "claim").string()).find("\"exit\"") != std::string::npos);
}

TEST_CASE("local executor: a short task's start comes with its exit, a long one's while it runs",
          "[executor]") {
  Harness h;
  auto started = [&](const std::string& key) -> const exec::ExecEvent* {
    for (const auto& ev : h.seen)
      if (ev.key == key && ev.kind == exec::ExecEvent::Kind::Started) return &ev;
    return nullptr;
  };
  // Short: one message from the supervisor, still a start (with its time) before the exit.
  h.ex->start(request("1-1", {"true"}));
  auto exit = h.exit_event("1-1");
  const auto* s = started("1-1");
  REQUIRE(s);
  CHECK(s->pid > 0);
  CHECK(s->pid == exit.pid);
  CHECK(s->at <= exit.at);
  CHECK(&*s < h.find_exit("1-1"));  // in order: the start first

  // Long: its start is reported while it runs (a cancel, a timeout and the UI need it).
  h.ex->start(request("2-1", {"sleep", "2"}));
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!started("2-1") && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (auto& ev : h.ex->drain()) h.seen.push_back(std::move(ev));
  }
  CHECK(started("2-1"));
  CHECK_FALSE(h.find_exit("2-1"));
  h.ex->cancel("2-1", std::chrono::milliseconds(100));
  CHECK(h.exit_event("2-1").signal);
}

// Inodes of the complete spare folders under `spares`, of this process (the server's pool) or of
// the supervisor's; waits until there are `n` (their threads run when a core is idle).
std::set<ino_t> spare_inodes(const fs::path& spares, bool ours, size_t n) {
  std::string mine = std::to_string(::getpid()) + "-";
  std::set<ino_t> made;
  for (int i = 0; i < 3000 && made.size() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    made.clear();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(spares, ec)) {
      bool is_mine = e.path().filename().string().rfind(mine, 0) == 0;
      struct stat st;
      if (is_mine == ours && fs::exists(e.path() / "d" / "claim.new") &&
          ::stat((e.path() / "d").c_str(), &st) == 0)
        made.insert(st.st_ino);
    }
  }
  return made;
}

TEST_CASE("local executor: folders come from the spares, the server's or the supervisor's",
          "[executor]") {
  Harness h(16);
  fs::path spares = h.root / "attempts" / ".spares";
  bool prepared = GENERATE(false, true);  // prepared: the supervisor makes the folder
  INFO((prepared ? "prepared" : "made at the start"));
  std::set<ino_t> made = spare_inodes(spares, !prepared, 16);
  REQUIRE(made.size() == 16);
  if (prepared) h.ex->prepare({"5-1"});
  auto req = request("5-1", {"sh", "-c", "test \"$(cat ../inputs.json)\" = abc && pwd"});
  req.files = {{"inputs.json", "abc"}};
  h.ex->start(req);
  auto ev = h.exit_event("5-1");
  CHECK(ev.error.empty());
  CHECK(ev.exit_code == 0);
  struct stat st;
  REQUIRE(::stat(h.dir("5-1").c_str(), &st) == 0);
  CHECK(made.count(st.st_ino) == 1);
  CHECK_FALSE(fs::exists(h.dir("5-1") + "/claim.new"));  // renamed to the claim
  CHECK(fs::exists(h.dir("5-1") + "/claim"));
  CHECK(slurp_file(h.dir("5-1") + "/task.log") == h.dir("5-1") + "/work\n");
}
