// Security: hostile HTTP against a real `ctflow server` (issue 22). Request smuggling (framing a
// proxy could read differently: 400 and the connection closed, RFC 9112 section 6), path
// traversal in the artifact, log and dashboard routes, header and query limits, invalid UTF-8,
// SQL metacharacters in every documented filter and path parameter, and slowloris.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/integration/api_support.hpp"

using namespace ctflow::it;
using namespace ctflow::it::api;

namespace {

std::string status_line(const std::string& reply) {
  return reply.substr(0, reply.find("\r\n"));
}

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// Sends raw bytes on a fresh connection; returns what came back before the server closed.
std::pair<std::string, bool> raw(int port, const std::string& bytes, int timeout_ms = 5000) {
  int fd = connect_to(port);
  send_all(fd, bytes);
  auto out = read_until_close(fd, timeout_ms);
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("request smuggling: ambiguous framing answers 400 and closes the connection",
          "[security][http]") {
  Harness h;
  int port = port_of(h.server());
  std::string auth = "Authorization: Bearer " + h.server().token() + "\r\n";
  // After each head comes a body that, read as the next request, would be a second request.
  const std::string smuggled = "0\r\n\r\nGET /api/v1/runs HTTP/1.1\r\nHost: t\r\n" + auth + "\r\n";
  const std::vector<std::pair<std::string, std::string>> heads = {
      {"chunked, identity", "Transfer-Encoding: chunked, identity\r\n"},
      {"identity", "Transfer-Encoding: identity\r\n"},
      {"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n"},
      {"xchunked", "Transfer-Encoding: xchunked\r\n"},
      {"chunked twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"},
      {"empty", "Transfer-Encoding: \r\n"},
      {"with Content-Length", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"},
      {"Content-Length after", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"},
      {"two equal Content-Lengths", "Content-Length: 5\r\nContent-Length: 5\r\n"},
      {"two Content-Lengths", "Content-Length: 5\r\nContent-Length: 60\r\n"},
      {"a Content-Length list", "Content-Length: 5, 60\r\n"},
      {"a signed Content-Length", "Content-Length: +5\r\n"},
      {"space before the colon", "Transfer-Encoding : chunked\r\n"},
  };
  for (const auto& [name, head] : heads) {
    INFO(name);
    auto [reply, closed] =
        raw(port, "POST /api/v1/runs HTTP/1.1\r\nHost: t\r\n" + auth +
                      "Content-Type: application/json\r\n" + head + "\r\n" + smuggled);
    INFO(reply);
    CHECK(status_line(reply).rfind("HTTP/1.1 400", 0) == 0);
    CHECK(count_of(reply, "HTTP/1.1 ") == 1);  // the smuggled request is never answered
    CHECK(closed);
  }
  // HTTP/1.0 has no chunked coding.
  auto [old, closed10] = raw(port, "POST /api/v1/runs HTTP/1.0\r\nHost: t\r\n" + auth +
                                       "Transfer-Encoding: chunked\r\n\r\n" + smuggled);
  CHECK(status_line(old).rfind("HTTP/1.1 400", 0) == 0);
  CHECK(closed10);
  CHECK(h.db().count("SELECT count(*) FROM runs") == 0);

  // The control: a well-framed chunked request is read, and the connection stays usable.
  std::string spec = R"({"spec": "name: ok\ntasks:\n  - {name: a, run: ['true']}\n"})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", spec.size());
  int fd = connect_to(port);
  send_all(fd, "POST /api/v1/runs HTTP/1.1\r\nHost: t\r\n" + auth +
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + size +
                   "\r\n" + spec +
                   "\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n"
                   "Connection: close\r\n\r\n");
  auto [good, closed_good] = read_until_close(fd, 10000);
  ::close(fd);
  INFO(good);
  CHECK(status_line(good).rfind("HTTP/1.1 201", 0) == 0);
  CHECK(count_of(good, "HTTP/1.1 ") == 2);
  CHECK(h.db().count("SELECT count(*) FROM runs") == 1);
}

TEST_CASE("path traversal: artifact - log and dashboard routes never leave their folder",
          "[security][http]") {
  Harness h;
  Seed s = seed(h);
  int port = port_of(h.server());
  std::string token = h.server().token();
  const std::string secret = h.server().token();  // what a viewer must never download
  auto viewer = client(h.server(), s.viewer);
  const std::string run = "/api/v1/runs/" + s.failed_run;
  std::vector<std::string> paths = {
      "/api/v1/artifacts/..%2f..%2fadmin-token/content",
      "/api/v1/artifacts/%2e%2e/content",
      "/api/v1/artifacts/../../admin-token",
      "/api/v1/artifacts/%2fetc%2fpasswd/content",
      "/api/v1/artifacts/" + s.digest + "%00/content",
      "/api/v1/artifacts/" + s.digest + "%2f..%2f..%2f..%2fadmin-token/content",
      run + "/tasks/..%2f..%2fadmin-token/logs",
      run + "/tasks/%2e%2e/logs",
      run + "/tasks/train%00/logs",
      run + "/tasks/%2fetc%2fpasswd/logs",
  };
  for (const auto& p : paths) {
    INFO(p);
    auto r = viewer.request("GET", p);
    REQUIRE(r);
    INFO(r->status << " " << r->body.substr(0, 300));
    CHECK(r->status >= 400);
    CHECK(r->status < 500);
    CHECK(r->body.find(secret) == std::string::npos);
    CHECK(r->body.find("root:x:0:0") == std::string::npos);
  }
  // The dashboard answers its index page for any path that is not one of its files (client
  // routes): a traversal may get that page, never the file it names.
  for (const std::string p : {"/..%2fadmin-token", "/%2e%2e/%2e%2e/etc/passwd",
                              "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd", "//etc/passwd",
                              "/.git/config", "/%2fetc%2fpasswd", "/..%2f..%2fserver.log"}) {
    auto r = viewer.request("GET", p);
    REQUIRE(r);
    INFO(p << " -> " << r->status << " " << r->content_type << " " << r->body.substr(0, 200));
    CHECK(r->status < 500);
    if (r->status == 200) CHECK(r->content_type.rfind("text/html", 0) == 0);
    CHECK(r->body.find(secret) == std::string::npos);
    CHECK(r->body.find("root:x:0:0") == std::string::npos);
    CHECK(r->body.find("[core]") == std::string::npos);
  }
  // Raw, so that no client normalizes the dots away.
  for (const std::string target : {"/api/v1/artifacts/../../../etc/passwd",
                                   "/../../../../etc/passwd", "/web/../../admin-token"}) {
    auto [reply, closed] = raw(port, "GET " + target +
                                         " HTTP/1.1\r\nHost: t\r\nAuthorization: "
                                         "Bearer " +
                                         s.viewer + "\r\nConnection: close\r\n\r\n");
    INFO(target << " -> " << reply.substr(0, 300));
    CHECK(reply.find(secret) == std::string::npos);
    CHECK(reply.find("root:x:0:0") == std::string::npos);
  }

  // A symlink planted in the artifact store in place of a stored file (a task can write there):
  // the server never follows it to hand a viewer the admin token.
  std::string stored = h.db().text("SELECT path FROM artifacts WHERE digest = '" + s.digest + "'");
  REQUIRE(!stored.empty());
  auto ok = viewer.request("GET", "/api/v1/artifacts/" + s.digest + "/content");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  REQUIRE(::unlink(stored.c_str()) == 0);
  REQUIRE(::symlink(h.server().token_file().c_str(), stored.c_str()) == 0);
  auto planted = viewer.request("GET", "/api/v1/artifacts/" + s.digest + "/content");
  REQUIRE(planted);
  INFO(planted->status << " " << planted->body);
  CHECK(planted->status == 404);
  CHECK(planted->body.find(secret) == std::string::npos);
  // A planted folder link too: sha256/<xx> -> the data dir.
  std::string dir = stored.substr(0, stored.rfind('/'));
  ::unlink(stored.c_str());
  std::filesystem::remove(dir);
  REQUIRE(::symlink(h.server().data_dir().c_str(), dir.c_str()) == 0);
  ::symlink("admin-token", (h.server().data_dir() + "/" + s.digest).c_str());
  planted = viewer.request("GET", "/api/v1/artifacts/" + s.digest + "/content");
  REQUIRE(planted);
  CHECK(planted->status == 404);
  CHECK(planted->body.find(secret) == std::string::npos);
  (void)token;
}

TEST_CASE("limits: huge headers and query strings - invalid UTF-8 - SQL metacharacters",
          "[security][http]") {
  Harness h;
  int port = port_of(h.server());
  std::string admin = h.server().token();
  auto c = client(h.server(), admin);
  // Something to find, so a filter that matched everything would show.
  h.submit("name: probe\ntasks:\n  - {name: a, run: ['true']}\n");

  SECTION("a 64 KiB header and a 1 MiB query string: 4xx, the server goes on") {
    auto [big, closed] =
        raw(port, "GET /api/v1/runs HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(64 * 1024, 'a') +
                      "\r\n\r\n");
    CHECK(status_line(big).rfind("HTTP/1.1 431", 0) == 0);
    CHECK(closed);
    auto [query, closed2] =
        raw(port, "GET /api/v1/runs?pipeline=" + std::string(1 << 20, 'q') +
                      " HTTP/1.1\r\nHost: t\r\n" + "Authorization: Bearer " + admin + "\r\n\r\n");
    INFO(query.substr(0, 300));
    CHECK(status_line(query).find(" 4") != std::string::npos);
    auto many = c.request(
        "GET", "/api/v1/runs?" + [] {
          std::string q;
          for (int i = 0; i < 1500; ++i) q += "state=running&";
          return q;
        }());
    REQUIRE(many);
    CHECK(many->status < 500);
    auto health = c.request("GET", "/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
  }

  SECTION("invalid UTF-8 in paths, queries and bodies: 4xx with a JSON error") {
    for (const std::string p : {"/api/v1/runs/%ff%fe", "/api/v1/pipelines/%c0%af",
                                "/api/v1/runs?pipeline=%ff%fe%80", "/api/v1/models/%ed%a0%80"}) {
      auto r = c.request("GET", p);
      REQUIRE(r);
      INFO(p << " -> " << r->status << " " << r->body);
      CHECK(r->status >= 200);
      CHECK(r->status < 500);
      if (r->status >= 400) CHECK(json::parse(r->body).is_object());
    }
    for (const std::string& body :
         {std::string("{\"spec\": \"name: \xff\xfe\\ntasks: []\"}"), std::string("\xff\xfe{}"),
          std::string("{\"spec\": \"name: ok\\ntasks:\\n  - {name: \xc0\xaf, run: [x]}\\n\"}")}) {
      auto r = c.request("POST", "/api/v1/runs", body);
      REQUIRE(r);
      INFO(r->status << " " << r->body);
      CHECK(r->status >= 400);
      CHECK(r->status < 500);
      CHECK(json::parse(r->body).is_object());
    }
  }

  SECTION("SQL metacharacters in every documented query parameter and path parameter") {
    auto doc = c.request("GET", "/api/v1/openapi.json");
    REQUIRE(doc);
    auto paths = json::parse(doc->body).as_object().at("paths").as_object();
    const std::vector<std::string> evil = {"' OR '1'='1", "1; DROP TABLE runs; --", "\\",
                                           "%27%22%3B",
                                           "1)) UNION SELECT token_hash FROM "
                                           "api_tokens --"};
    auto hashes = h.db().column("SELECT token_hash FROM api_tokens");
    int probes = 0;
    for (const auto& [path, item] : paths) {
      for (const auto& [method, op] : item.as_object()) {
        if (method != "get") continue;  // writes are covered by the spec and body tests
        std::string p(path);
        if (p.find("{path") != std::string::npos) continue;  // the dashboard's files
        for (const auto& e : evil) {
          std::string enc;
          for (unsigned char ch : e) {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", ch);
            enc += std::isalnum(ch) ? std::string(1, static_cast<char>(ch)) : std::string(b);
          }
          std::string target;
          for (size_t i = 0; i < p.size();) {
            if (p[i] == '{') {
              target += enc;
              i = p.find('}', i) + 1;
            } else {
              target += p[i++];
            }
          }
          std::string q;
          if (auto* params = op.as_object().if_contains("parameters"))
            for (const auto& prm : params->as_array())
              if (prm.as_object().at("in") == "query")
                q += (q.empty() ? "?" : "&") + std::string(prm.as_object().at("name").as_string()) +
                     "=" + enc;
          if (p == "/api/v1/events") continue;  // a stream; its filters are checked below
          auto r = c.request("GET", target + q);
          REQUIRE(r);
          INFO(target + q << " -> " << r->status << " " << r->body.substr(0, 300));
          CHECK(r->status < 500);
          for (const auto& hash : hashes) CHECK(r->body.find(hash) == std::string::npos);
          ++probes;
        }
      }
    }
    CHECK(probes > 50);
    CHECK(h.db().count("SELECT count(*) FROM runs") == 1);
    CHECK(h.db().count("SELECT count(*) FROM api_tokens") >= 1);
  }
}

TEST_CASE("slowloris: hundreds of slow connections do not starve a normal client",
          "[security][http]") {
  Harness h;
  int port = port_of(h.server());
  const int kSlow = 300;
  std::vector<int> fds;
  for (int i = 0; i < kSlow; ++i) {
    int fd = connect_to(port);
    send_all(fd, "GET /api/v1/runs HTTP/1.1\r\nHost: t\r\n");
    fds.push_back(fd);
  }
  // Each slow client keeps trickling header bytes; meanwhile a normal client asks for its runs.
  auto c = client(h.server(), h.server().token());
  double worst = 0;
  for (int round = 0; round < 10; ++round) {
    for (int fd : fds) ::send(fd, "X-a: b\r\n", 8, MSG_NOSIGNAL);
    auto t0 = std::chrono::steady_clock::now();
    auto r = c.request("GET", "/api/v1/runs?limit=5");
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(r);
    CHECK(r->status == 200);
    worst = std::max(worst, s);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  WARN("slowloris: worst normal request " << worst * 1000 << " ms with " << kSlow
                                          << " slow connections open");
  CHECK(worst < 1.0);
  for (int fd : fds) ::close(fd);
}
