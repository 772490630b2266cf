// Armed children (ChainAcceleration::arm) through a real supervisor: what is armed on an attempt
// starts when, and only when, that attempt exits 0 without an outputs file, and the start is
// recorded in the parent's claim where an adopter looks; every other end drops it and what is armed
// below.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "scheduler/common/json_util.hpp"
#include "scheduler/executor/local/attempt_files.hpp"
#include "scheduler/executor/local/local_executor.hpp"
#include "tests/unit/executor/supervised.hpp"

using namespace ctflow;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using Harness = test::Supervised;

std::string slurp(const std::string& path) {
  return read_file(path).value_or("");
}

// `sh -c script`, with an inputs file naming the attempt.
exec::SpawnRequest request(const std::string& key, const std::string& script) {
  auto req = test::request(key, {"sh", "-c", script});
  req.files = {{"inputs.json", "{\"from\":\"" + key + "\"}"}};
  return req;
}

}  // namespace

TEST_CASE("armed children start on their parent's success, in order, recorded in its claim",
          "[executor]") {
  Harness h;
  std::string log = h.path("ran.log");
  // The parent waits for a file, so that both arms are in before it ends.
  h.ex->start(request("1-1", "while [ ! -f '" + h.path("go") + "' ]; do sleep 0.01; done"));
  REQUIRE(h.ex->arm("1-1",
                    request("2-1", "cat ../inputs.json >> '" + log + "'; echo >> '" + log + "'")));
  REQUIRE(h.ex->arm("2-1", request("3-1", "echo three >> '" + log + "'")));
  std::ofstream(h.path("go")).close();
  const auto* p = h.exit_of("1-1");
  REQUIRE(p);
  CHECK(p->exit_code == 0);
  CHECK(p->fired == std::vector<std::string>{"2-1"});
  const auto* c = h.exit_of("2-1");
  REQUIRE(c);
  CHECK(c->exit_code == 0);
  CHECK(c->fired == std::vector<std::string>{"3-1"});
  REQUIRE(h.exit_of("3-1"));
  CHECK(slurp(log) == "{\"from\":\"2-1\"}\nthree\n");
  // An adopter of the parent finds the child it started, as for an early start by the engine.
  auto next = exec::read_next(h.dir("1-1"));
  REQUIRE(next.size() == 1);
  CHECK(next[0].first == "2-1");
  CHECK(next[0].second == h.dir("2-1"));
  // The child's start was announced, as for any other.
  bool started = false;
  for (const auto& ev : h.seen) started = started || (ev.key == "3-1" && ev.pid > 0);
  CHECK(started);
}

TEST_CASE("what is armed on a task that does not succeed plainly never starts", "[executor]") {
  enum class End { Fails, WritesOutputs, CancelledButExitsZero, EndedBeforeArming };
  End end =
      GENERATE(End::Fails, End::WritesOutputs, End::CancelledButExitsZero, End::EndedBeforeArming);
  INFO("case " << static_cast<int>(end));
  Harness h;
  std::string log = h.path("ran.log"), go = h.path("go");
  std::string wait = "while [ ! -f '" + go + "' ]; do sleep 0.01; done; ";
  std::string script = end == End::Fails           ? wait + "exit 3"
                       : end == End::WritesOutputs ? wait + "echo '{}' > ../outputs.json"
                       : end == End::EndedBeforeArming
                           ? "true"
                           // exits 0 on the cancel's SIGTERM
                           : "trap 'exit 0' TERM; touch '" + h.path("trapped") + "'; " + wait;
  h.ex->start(request("1-1", script));
  if (end == End::EndedBeforeArming) REQUIRE(h.exit_of("1-1"));
  h.ex->arm("1-1", request("2-1", "echo child >> '" + log + "'"));
  h.ex->arm("2-1", request("3-1", "echo grandchild >> '" + log + "'"));
  if (end == End::CancelledButExitsZero) {
    auto until = std::chrono::steady_clock::now() + 10s;  // the trap is set
    while (!fs::exists(h.path("trapped")) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(5ms);
    h.ex->cancel("1-1", 5s);
  } else {
    std::ofstream(go).close();
  }
  const auto* p = h.exit_of("1-1");
  REQUIRE(p);
  if (end == End::CancelledButExitsZero) CHECK(p->exit_code == 0);  // what the test is about
  CHECK(p->fired.empty());
  // Give a wrongly started child time to write.
  h.exit_of("2-1", 500ms);
  CHECK_FALSE(fs::exists(log));
  CHECK_FALSE(h.find_exit("2-1"));
  CHECK_FALSE(fs::exists(h.dir("2-1") + "/claim"));
  CHECK(exec::read_next(h.dir("1-1")).empty());
  // The supervisor forgot them: armed again on a task that succeeds, the same child runs once.
  h.ex->start(request("9-1", "sleep 0.2"));
  REQUIRE(h.ex->arm("9-1", request("2-1", "echo child >> '" + log + "'")));
  REQUIRE(h.exit_of("2-1"));
  CHECK(slurp(log) == "child\n");
}
