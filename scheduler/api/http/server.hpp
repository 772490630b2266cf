#pragma once
// HttpServer: moves bytes between sockets and a Router. Boost.Beast over Asio with C++20
// coroutines; one strand per connection; keep-alive; a timeout before every read and write; a
// header limit (431) and a body limit (413, then the connection closes); graceful shutdown.
//
// Threads. `io_threads` threads run the sockets and never block. Router::handle_request runs on
// a separate pool of `worker_threads`, because handlers block on PostgreSQL: the connection's
// coroutine posts the request there and resumes on its strand with the response. A streaming
// response's producer gets a thread of its own (see stream.hpp), at most `max_streams` at once
// (503 beyond that).
//
// Lifecycle. start() binds and starts the threads; run() blocks until stop() (any thread, or
// SIGINT/SIGTERM after stop_on_signals()) and the shutdown completed: the listener closes, idle
// keep-alive connections close (a request whose headers have not fully arrived is dropped),
// requests already read finish and get their response (with Connection: close) for up to
// `shutdown_grace`, streams are told to end (their producers must return), then every thread
// is joined. The destructor stops and waits if run() was not called. The Router (and the
// MetricsRegistry, when given) must outlive the server.
#include "scheduler/api/http/metrics.hpp"
#include "scheduler/api/http/router.hpp"
#include "scheduler/common/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ctflow::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port; start() returns it
  int io_threads = 1;
  int worker_threads = 4;
  // Each read (a whole request: headers and body; also the idle wait between keep-alive
  // requests) must complete within this, or the connection is closed without a response.
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  size_t header_limit = 16 * 1024;
  size_t body_limit = 9 * 1024 * 1024;
  std::chrono::milliseconds shutdown_grace{10'000};
  // A stream that wrote nothing for this long gets its heartbeat chunk (SSE: a comment).
  std::chrono::milliseconds heartbeat_interval{15'000};
  size_t max_streams = 256;
  // When set (not owned), the server records ctflow_http_requests_total{route,method,status},
  // ctflow_http_request_duration_seconds{route,method}, and gauges of open connections,
  // in-flight requests and open streams. Route labels are patterns, never raw paths.
  MetricsRegistry* metrics = nullptr;
};

class HttpServer {
 public:
  HttpServer(const Router& router, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. Returns the bound port, or an error naming the
  // address and the reason ("http: bind 127.0.0.1:8080: Address already in use"). Once only.
  Result<uint16_t> start();
  // SIGINT and SIGTERM call stop(). Call after start() and before run().
  void stop_on_signals();
  // Begins the graceful shutdown. Any thread; returns at once; idempotent.
  void stop();
  // Blocks until stop() was called and the shutdown finished (see above). Call once, from the
  // thread that owns the server.
  void run();

  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ctflow::http
