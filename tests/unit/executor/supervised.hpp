#pragma once
// A LocalExecutor with a real supervisor (the built `ctflow __supervise`) under a temporary root,
// and the events it reported, for the executor's tests.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "scheduler/executor/local/local_executor.hpp"

namespace ctflow::test {

// A request to run `argv` with this process's PATH.
inline exec::SpawnRequest request(const std::string& key, std::vector<std::string> argv) {
  exec::SpawnRequest req;
  req.key = key;
  req.argv = std::move(argv);
  const char* path = std::getenv("PATH");
  req.env = {std::string("PATH=") + (path ? path : "/usr/bin:/bin")};
  return req;
}

struct Supervised {
  std::filesystem::path root;
  std::unique_ptr<exec::LocalExecutor> ex;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<exec::ExecEvent> seen;  // every event drained so far

  // `spares`: LocalExecutor's spare folders (none unless asked for).
  explicit Supervised(size_t spares = 0) {
    char tmpl[] = "/tmp/ctflow-localexec.XXXXXX";
    root = ::mkdtemp(tmpl);
    auto r = exec::LocalExecutor::create(std::string(CTFLOW_BINARY_DIR) + "/ctflow",
                                         (root / "attempts").string(), "test", spares);
    REQUIRE(r);
    ex = std::move(r.value());
    ex->set_wakeup([this](exec::Wake) {
      std::lock_guard<std::mutex> g(mu);
      cv.notify_all();
    });
  }
  ~Supervised() {
    ex->shutdown();
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  std::string path(const std::string& name) const { return (root / name).string(); }
  std::string dir(const std::string& key) const { return (root / "attempts" / key).string(); }

  const exec::ExecEvent* find_exit(const std::string& key) const {
    for (const auto& ev : seen)
      if (ev.key == key && ev.kind == exec::ExecEvent::Kind::Exited) return &ev;
    return nullptr;
  }
  // Drains events until the exit of `key` or until `wait` has passed (then null).
  const exec::ExecEvent* exit_of(const std::string& key,
                                 std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
      for (auto& ev : ex->drain()) seen.push_back(std::move(ev));
      if (const auto* ev = find_exit(key)) return ev;
      std::unique_lock<std::mutex> lk(mu);
      if (cv.wait_until(lk, until) == std::cv_status::timeout) {
        for (auto& ev : ex->drain()) seen.push_back(std::move(ev));
        return find_exit(key);
      }
    }
  }
  // The exit event of `key` (fails the test after 10 s without one).
  exec::ExecEvent exit_event(const std::string& key) {
    const auto* ev = exit_of(key);
    if (!ev) FAIL("no exit event for " + key);
    return *ev;
  }
};

}  // namespace ctflow::test
