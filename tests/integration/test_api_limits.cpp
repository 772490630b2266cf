// Integration: the API's limits and list semantics (issue 4, acceptance 3): a body over the limit
// gets 413, a client that stalls mid-request has its connection closed after the read timeout,
// and cursor pagination neither repeats nor skips a run while other runs are being submitted.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/integration/api_support.hpp"

using namespace ctflow::it;
using namespace ctflow::it::api;

namespace {

ServerConfig limited() {
  ServerConfig c;
  c.extra_args = {"--read-timeout-ms", "700", "--body-limit", "65536"};
  return c;
}

std::string status_line(const std::string& reply) {
  return reply.substr(0, reply.find("\r\n"));
}

// `concurrency: 1`: the engine runs one at a time and the rest wait queued, so submitting many
// costs the shared machine little.
const char* kQueuedSpec = "name: pages\nconcurrency: 1\ntasks:\n  - {name: a, run: ['true']}\n";

}  // namespace

TEST_CASE("limits: 413 over the body limit, slow clients are cut off", "[integration][api]") {
  Harness h(limited());
  int port = port_of(h.server());
  auto admin = h.server().token();

  SECTION("a body over the limit gets 413 and nothing is stored") {
    int fd = connect_to(port);
    std::string body(100 * 1024, 'x');
    send_all(fd, "POST /api/v1/runs HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + admin +
                     "\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
    auto [reply, closed] = read_until_close(fd, 5000);
    ::close(fd);
    CHECK(status_line(reply).rfind("HTTP/1.1 413", 0) == 0);
    CHECK(reply.find("\"error\"") != std::string::npos);
    CHECK(h.db().count("SELECT count(*) FROM runs") == 0);
  }

  SECTION("stalled headers and a stalled body are closed after the read timeout") {
    for (std::string partial : {std::string("GET /healthz HTTP/1.1\r\nHost: t\r\n"),
                                "POST /api/v1/runs HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                                    admin + "\r\nContent-Length: 100\r\n\r\n{\"spec\":"}) {
      INFO(partial);
      int fd = connect_to(port);
      auto t0 = std::chrono::steady_clock::now();
      send_all(fd, partial);
      auto [reply, closed] = read_until_close(fd, 10'000);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
      ::close(fd);
      CHECK(closed);
      CHECK(ms >= 600);                               // not before the timeout
      CHECK(ms < 8000);                               // and not much after it
      CHECK(reply.find("201") == std::string::npos);  // the stalled request did nothing
    }
    CHECK(h.db().count("SELECT count(*) FROM runs") == 0);
    // The server still serves others.
    auto r = client(h.server(), "").request("GET", "/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

TEST_CASE("cursor pagination is stable under concurrent inserts", "[integration][api]") {
  Harness h;
  for (int i = 0; i < 40; ++i) h.submit(kQueuedSpec);
  std::atomic<bool> stop{false};
  std::atomic<int> submitted{0};
  std::string error;
  std::thread writer([&] {
    try {
      while (!stop && submitted < 60) {
        h.submit(kQueuedSpec);
        ++submitted;
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  auto c = h.server().client();
  std::vector<int64_t> seen;
  std::string cursor;
  int pages = 0;
  // Page until the end, each page while the writer keeps inserting newer runs.
  while (true) {
    poll_until([&] { return submitted >= pages * 2 || !error.empty(); }, 30s, 5ms);
    auto r = c.request("GET", "/api/v1/runs?limit=7" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto page = json::parse(r->body).as_object();
    for (const auto& run : page.at("runs").as_array())
      seen.push_back(std::stoll(str(run.as_object(), "id")));
    ++pages;
    if (page.at("next_cursor").is_null()) break;
    cursor = std::string(page.at("next_cursor").as_string());
  }
  stop = true;
  writer.join();
  REQUIRE(error.empty());
  CHECK(pages >= 6);
  CHECK(submitted > 0);
  // Strictly decreasing ids: no duplicates, newest first across pages.
  for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] < seen[i - 1]);
  // No gaps: every run at or below the first page's newest id is listed exactly once.
  auto expected = h.db().column("SELECT id FROM runs WHERE id <= " + std::to_string(seen.front()) +
                                " ORDER BY id DESC");
  REQUIRE(expected.size() == seen.size());
  for (size_t i = 0; i < seen.size(); ++i) CHECK(std::to_string(seen[i]) == expected[i]);
}
