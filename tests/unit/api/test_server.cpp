// HttpServer over real sockets on an ephemeral port, driven by a raw TCP client.
#include "scheduler/api/http/server.hpp"
#include "scheduler/api/http/sse.hpp"
#include "tests/unit/api/raw_client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <thread>

using namespace ctflow::http;
using ctflow::http::testing::RawClient;
using namespace std::chrono_literals;

namespace {

struct StreamProbe {
  std::atomic<bool> saw_close{false};
};

Route route(std::string method, std::string pattern, Role role, Handler h) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.min_role = role;
  r.handler = std::move(h);
  return r;
}

SseEvent event(int i) {
  SseEvent e;
  e.id = std::to_string(i);
  e.data = "e" + std::to_string(i);
  return e;
}

template <class F>
ServerOptions with(F set) {
  ServerOptions o;
  set(o);
  return o;
}

struct TestServer {
  explicit TestServer(ServerOptions o = {}) {
    auto ok = [](std::string body) {
      return [body](const Request&, const PathParams&, const Principal&) {
        return text_response(200, body);
      };
    };
    router.set_authenticator([](std::string_view t) -> std::optional<Principal> {
      if (t == "o") return Principal{Role::Operator, "t-o", ""};
      return std::nullopt;
    });
    router.add(route("GET", "/ping", Role::None, ok("pong")));
    router.add(route("POST", "/echo", Role::Operator,
                     [](const Request& r, const PathParams&, const Principal&) {
                       return text_response(200, r.body);
                     }));
    router.add(
        route("GET", "/slow", Role::None, [](const Request&, const PathParams&, const Principal&) {
          std::this_thread::sleep_for(400ms);
          return text_response(200, "done");
        }));
    router.add(route("GET", "/events", Role::Operator,
                     [p = &probe](const Request&, const PathParams&, const Principal&) {
                       return sse_response([p](StreamSink& sink) {
                         for (int i = 1; i <= 3; ++i) sink.write(format_sse(event(i)));
                         while (sink.wait_for(20ms)) {
                         }
                         p->saw_close = true;
                       });
                     }));
    router.add(route("GET", "/file/{name}", Role::None,
                     [](const Request&, const PathParams& p, const Principal&) {
                       Response r = text_response(200, "", "application/octet-stream");
                       r.file_path =
                           std::string(CTFLOW_SOURCE_DIR) + "/tests/unit/api/" + p.get("name");
                       return r;
                     }));
    router.add(metrics_route(metrics));
    o.port = 0;
    o.metrics = &metrics;
    server = std::make_unique<HttpServer>(router, o);
    auto p = server->start();
    REQUIRE(p.ok());
    port = *p;
  }

  StreamProbe probe;
  MetricsRegistry metrics;
  Router router;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
};

std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

}  // namespace

TEST_CASE("two requests share one keep-alive connection", "[http][server]") {
  TestServer s;
  RawClient c(s.port);
  REQUIRE(c.connected());
  for (int i = 0; i < 2; ++i) {
    REQUIRE(c.send(get("/ping")));
    std::string res = c.read_response();
    CHECK(res.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(res.find("\r\n\r\npong") != std::string::npos);
  }
  CHECK_FALSE(c.closed());
  CHECK(s.metrics.expose().find(
            "ctflow_http_requests_total{route=\"/ping\",method=\"GET\",status=\"200\"} 2\n") !=
        std::string::npos);
}

TEST_CASE("tokens are checked over the wire", "[http][server]") {
  TestServer s;
  RawClient c(s.port);
  std::string post = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n";
  REQUIRE(c.send(post + "\r\nhello"));
  std::string res = c.read_response();
  CHECK(res.rfind("HTTP/1.1 401", 0) == 0);
  CHECK(res.find("WWW-Authenticate: Bearer") != std::string::npos);
  REQUIRE(c.send(post + "Authorization: Bearer o\r\n\r\nhello"));
  res = c.read_response();
  CHECK(res.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(res.find("\r\n\r\nhello") != std::string::npos);
}

TEST_CASE("a body over the limit gets 413 and the connection closes", "[http][server]") {
  TestServer s(with([](auto& o) { o.body_limit = 1024; }));
  RawClient c(s.port);
  REQUIRE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer o\r\n"
             "Content-Length: 100000\r\n\r\n" +
             std::string(4000, 'x')));
  std::string res = c.read_response();
  CHECK(res.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(res.find("\"code\":\"payload_too_large\"") != std::string::npos);
  c.read_until("", 3s);
  CHECK(c.closed());
}

TEST_CASE("headers over the limit get 431", "[http][server]") {
  TestServer s(with([](auto& o) { o.header_limit = 512; }));
  RawClient c(s.port);
  REQUIRE(c.send(get("/ping", "X-Big: " + std::string(2000, 'y') + "\r\n")));
  CHECK(c.read_response().rfind("HTTP/1.1 431", 0) == 0);
}

TEST_CASE("a client that sends half a header is closed after the read timeout", "[http][server]") {
  TestServer s(with([](auto& o) { o.read_timeout = 300ms; }));
  RawClient c(s.port);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(c.send("GET /ping HTTP/1.1\r\nHost: t\r\n"));
  std::string got = c.read_until("", 3s);
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(c.closed());
  CHECK(got.empty());
  CHECK(waited >= 250ms);
  CHECK(waited < 2500ms);
}

TEST_CASE("an SSE stream receives pushed events and heartbeats and notices the client leave",
          "[http][server][sse]") {
  TestServer s(with([](auto& o) { o.heartbeat_interval = 100ms; }));
  RawClient c(s.port);
  REQUIRE(c.send(get("/events", "Authorization: Bearer o\r\n")));
  std::string got = c.read_until("data: e3\n", 3s);
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(got.find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(got.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(got.find("id: 1\ndata: e1\n\n") != std::string::npos);
  CHECK(got.find("data: e3\n") != std::string::npos);
  CHECK(c.read_until(": heartbeat\n\n", 2s).find(": heartbeat") != std::string::npos);
  CHECK_FALSE(s.probe.saw_close);
  c.close();
  for (int i = 0; i < 200 && !s.probe.saw_close; ++i) std::this_thread::sleep_for(10ms);
  CHECK(s.probe.saw_close);
}

TEST_CASE("stop() lets an in-flight request finish and closes idle connections", "[http][server]") {
  TestServer s(with([](auto& o) { o.shutdown_grace = 5s; }));
  RawClient idle(s.port);
  REQUIRE(idle.send(get("/ping")));
  REQUIRE(idle.read_response().rfind("HTTP/1.1 200", 0) == 0);
  RawClient busy(s.port);
  REQUIRE(busy.send(get("/slow")));
  std::this_thread::sleep_for(100ms);  // the handler is running on a worker
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    s.server->stop();
    s.server->run();
  });
  std::string res = busy.read_response();
  stopper.join();
  CHECK(res.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(res.find("Connection: close") != std::string::npos);
  CHECK(res.find("\r\n\r\ndone") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  idle.read_until("", 1s);
  CHECK(idle.closed());
  RawClient late(s.port);
  CHECK_FALSE(late.connected());
}

TEST_CASE("stop() ends open streams and their producers", "[http][server][sse]") {
  TestServer s;
  RawClient c(s.port);
  REQUIRE(c.send(get("/events", "Authorization: Bearer o\r\n")));
  REQUIRE(c.read_until("data: e3\n", 3s).find("data: e3") != std::string::npos);
  auto t0 = std::chrono::steady_clock::now();
  s.server->stop();
  s.server->run();
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(s.probe.saw_close);
  c.read_until("", 1s);
  CHECK(c.closed());
}

TEST_CASE("SIGTERM stops the server when stop_on_signals() was called", "[http][server]") {
  TestServer s;
  s.server->stop_on_signals();
  std::raise(SIGTERM);
  auto t0 = std::chrono::steady_clock::now();
  s.server->run();  // returns only once the signal has stopped the server
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  RawClient late(s.port);
  CHECK_FALSE(late.connected());
}

TEST_CASE("a malformed request gets a 400 and is counted as unmatched", "[http][server]") {
  TestServer s;
  RawClient c(s.port);
  REQUIRE(c.send("GET /ping HTTP/1.1\r\nHost t\r\n\r\n"));
  CHECK(c.read_response().rfind("HTTP/1.1 400", 0) == 0);
  CHECK(s.metrics.expose().find(
            "ctflow_http_requests_total{route=\"unmatched\",method=\"other\",status=\"400\"} 1") !=
        std::string::npos);
}

TEST_CASE("Expect: 100-continue gets an interim response before the body", "[http][server]") {
  TestServer s;
  RawClient c(s.port);
  REQUIRE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer o\r\n"
             "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  CHECK(c.read_until("\r\n\r\n", 2s) == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(c.send("hello"));
  std::string res = c.read_response();
  CHECK(res.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(res.find("\r\n\r\nhello") != std::string::npos);
}

TEST_CASE("a file body is sent from disk - a missing file is a 404", "[http][server]") {
  TestServer s;
  RawClient c(s.port);
  REQUIRE(c.send(get("/file/raw_client.hpp")));
  std::string res = c.read_response();
  CHECK(res.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(res.find("class RawClient") != std::string::npos);
  REQUIRE(c.send(get("/file/nope.txt")));
  res = c.read_response();
  CHECK(res.rfind("HTTP/1.1 404", 0) == 0);
  CHECK(res.find("\"code\":\"not_found\"") != std::string::npos);
}

TEST_CASE("a slow handler blocks neither the I/O thread nor other connections", "[http][server]") {
  TestServer s(with([](auto& o) {
    o.io_threads = 1;
    o.worker_threads = 2;
  }));
  RawClient slow(s.port);
  REQUIRE(slow.send(get("/slow")));  // sleeps 400 ms on a worker
  std::this_thread::sleep_for(50ms);
  RawClient quick(s.port);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(quick.send(get("/ping")));
  CHECK(quick.read_response().rfind("HTTP/1.1 200", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 250ms);
  CHECK(slow.read_response().find("\r\n\r\ndone") != std::string::npos);
}
