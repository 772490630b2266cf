// Chaos: PostgreSQL crashes under a running server (issue 22). `pg_ctl stop -m immediate` (no
// checkpoint, every client cut off), then start (crash recovery). While it is away the API
// answers 503 with Retry-After within a second, never hangs and never 500; when it is back the
// server serves again without a restart; a run of many `true`-like tasks across two crashes
// finishes with every task run exactly once (checked by the tasks' own side effects).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/api_support.hpp"

using namespace ctflow::it;
using namespace ctflow::it::api;
using Clock = std::chrono::steady_clock;

namespace {

struct Raw {
  std::string head;  // status line and headers
  double seconds = 0;
};

// One GET over a raw socket, to see the headers (Retry-After).
Raw get_raw(int port, const std::string& path, const std::string& token) {
  auto t0 = Clock::now();
  int fd = connect_to(port);
  send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: t\r\n" +
                   (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") +
                   "Connection: close\r\n\r\n");
  auto [reply, closed] = read_until_close(fd, 10000);
  ::close(fd);
  Raw r;
  r.head = reply.substr(0, reply.find("\r\n\r\n"));
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

std::string wide_spec(int n, const std::string& log) {
  // A fan-out of n tasks behind one root, each appending its name to `log` (O_APPEND: whole lines).
  std::string s = "name: chaos\ntasks:\n  - {name: root, run: ['true']}\n";
  for (int i = 0; i < n; ++i)
    s += "  - {name: t" + std::to_string(i) + ", needs: [root], run: [sh, -c, 'echo " +
         "$CTFLOW_TASK >> " + log + "']}\n";
  return s;
}

size_t lines(const std::string& path) {
  return read_lines(path).size();
}

}  // namespace

TEST_CASE("the database away: 503 with Retry-After within a second - then the server recovers",
          "[chaos]") {
  Harness h;
  int port = port_of(h.server());
  std::string token = h.server().token();
  auto before = h.wait(h.submit("name: before\ntasks:\n  - {name: a, run: ['true']}\n"));
  REQUIRE(str(before, "state") == "succeeded");

  PgCluster::shared().crash();
  for (const std::string path : {"/api/v1/runs", "/api/v1/runs/1", "/api/v1/pipelines",
                                 "/api/v1/events/head", "/api/v1/runs?limit=1"}) {
    for (int i = 0; i < 3; ++i) {
      auto r = get_raw(port, path, token);
      INFO(path << " -> " << r.head);
      CHECK(r.head.rfind("HTTP/1.1 503", 0) == 0);
      CHECK(r.head.find("Retry-After: 1") != std::string::npos);
      CHECK(r.seconds < 1.0);
    }
  }
  auto ready = get_raw(port, "/readyz", "");
  CHECK(ready.head.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(get_raw(port, "/healthz", "").head.rfind("HTTP/1.1 200", 0) == 0);  // the process lives
  CHECK(get_raw(port, "/api/v1/runs", "").head.rfind("HTTP/1.1 401", 0) == 0);
  // A write while it is away: 503 too, and nothing half-done later.
  auto w = client(h.server(), token)
               .request("POST", "/api/v1/runs",
                        R"({"spec": "name: during\ntasks:\n  - {name: a, run: ['true']}\n"})");
  REQUIRE(w);
  CHECK(w->status == 503);

  PgCluster::shared().start();
  bool back = poll_until(
      [&] { return get_raw(port, "/api/v1/runs", token).head.rfind("HTTP/1.1 200", 0) == 0; }, 15s,
      100ms);
  REQUIRE(back);
  CHECK(h.db().count("SELECT count(*) FROM runs") == 1);
  auto after = h.wait(h.submit("name: after\ntasks:\n  - {name: a, run: ['true']}\n"));
  CHECK(str(after, "state") == "succeeded");
  CHECK(h.server().log().find("internal error") == std::string::npos);
}

namespace {

void crash_twice_during_a_run(int n) {
  Harness h;
  std::string log = h.path("ran.log");
  std::string id = h.submit(wide_spec(n, log));
  for (size_t at : {size_t(n) / 4, size_t(n) / 2}) {
    REQUIRE(poll_until([&] { return lines(log) >= at; }, 120s, 20ms));
    PgCluster::shared().crash();
    std::this_thread::sleep_for(1500ms);  // tasks keep finishing while it is away
    PgCluster::shared().start();
  }
  auto run = h.wait(id, 300s);
  INFO(json::serialize(run).substr(0, 2000));
  CHECK(str(run, "state") == "succeeded");
  auto ran = read_lines(log);
  std::map<std::string, int> times;
  for (const auto& t : ran) ++times[t];
  CHECK(times.size() == size_t(n));  // none lost
  for (const auto& [task, k] : times) {
    INFO(task);
    CHECK(k == 1);  // none run twice
  }
  CHECK(h.db().count("SELECT count(*) FROM task_runs WHERE state = 'succeeded'") == n + 1);
}

}  // namespace

TEST_CASE("crash the database twice during a run of 40 tasks", "[chaos]") {
  crash_twice_during_a_run(40);
}

TEST_CASE("crash the database twice during a run of 200 tasks", "[.][chaos]") {
  crash_twice_during_a_run(200);
}
