// HttpServer: the Beast/Asio side. Shape of Beast's advanced_server (strand per connection,
// timeouts, body limit, signal_set shutdown) written with coroutines as in
// http_server_awaitable.cpp: expires_after before every read and write. This file: accepting,
// sessions (read, dispatch to a worker, write) and the lifecycle; streams in server_stream.cpp.
#include "scheduler/api/http/beast_convert.hpp"
#include "scheduler/api/http/server_impl.hpp"
#include "scheduler/common/log.hpp"

namespace ctflow::http {

awaitable<void> HttpServer::Impl::accept_loop() {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), kTuple);
    if (ec) {
      if (stopping_flag || ec == asio::error::operation_aborted) co_return;
      log::warn("http: accept: {}", ec.message());
      asio::steady_timer pause(ioc, std::chrono::milliseconds(100));  // EMFILE: let fds free up
      co_await pause.async_wait(kTuple);
      continue;
    }
    auto c = std::make_shared<ServerConnection>(std::move(socket));
    {
      std::lock_guard lock(mu);
      if (stopping) continue;  // the socket closes with `c`
      connections.insert(c);
    }
    if (m_connections) m_connections->inc();
    asio::co_spawn(c->stream.get_executor(), session(c), [this, c](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          log::error("http: connection failed: {}", x.what());
        }
      }
      beast::error_code ignored;
      c->stream.socket().close(ignored);
      if (m_connections) m_connections->dec();
      std::lock_guard lock(mu);
      connections.erase(c);
      cv.notify_all();
    });
  }
}

awaitable<void> HttpServer::Impl::session(std::shared_ptr<ServerConnection> c) {
  beast::error_code ignored;
  auto remote = c->stream.socket().remote_endpoint(ignored);
  std::string remote_address = remote.address().to_string() + ":" + std::to_string(remote.port());
  beast::flat_buffer buffer;
  while (!stopping_flag) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
    parser.body_limit(opt.body_limit);
    c->stream.expires_after(opt.read_timeout);
    c->reading = true;
    auto [ec, n] = co_await bhttp::async_read_header(c->stream, buffer, parser, kTuple);
    // Framing the server and a proxy in front could read differently (smuggling): 400, close.
    std::optional<std::string> framing;
    if (!ec) framing = framing_error(parser.get());
    if (framing) {
      c->reading = false;
      Response res = bad_request("malformed HTTP request: " + *framing, "");
      record("other", res, SteadyClock::now());
      if (co_await write_response(*c, res, 11, false)) co_await drain_and_close(*c);
      break;
    }
    if (!ec && !parser.is_done()) {
      // curl and others send "Expect: 100-continue" before a body and wait a second for it.
      if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> go{bhttp::status::continue_, parser.get().version()};
        c->stream.expires_after(opt.write_timeout);
        std::tie(ec, n) = co_await bhttp::async_write(c->stream, go, kTuple);
        c->stream.expires_after(opt.read_timeout);
      }
      if (!ec) std::tie(ec, n) = co_await bhttp::async_read(c->stream, buffer, parser, kTuple);
    }
    c->reading = false;
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || (ec && stopping_flag))
      break;
    if (ec) {  // the request is malformed or over a limit: answer, then close
      Response res = parse_error_response(ec);
      record("other", res, SteadyClock::now());
      if (co_await write_response(*c, res, 11, false)) co_await drain_and_close(*c);
      break;
    }
    const auto start = SteadyClock::now();
    BeastRequest& breq = parser.get();
    Request req;
    std::optional<Response> bad = to_request(breq, remote_address, req);
    if (m_in_flight) m_in_flight->inc();
    // No co_await inside a conditional expression: g++ 12 miscompiles its temporaries.
    Response res;
    if (bad) {
      res = std::move(*bad);
    } else {
      res = co_await asio::co_spawn(
          workers, [this, &req]() -> awaitable<Response> { co_return router.handle_request(req); },
          use_awaitable);
    }
    if (m_in_flight) m_in_flight->dec();
    record(req.method, res, start);
    if (res.stream) {
      co_await run_stream(c, std::move(res), breq.version());
      break;
    }
    bool keep = breq.keep_alive() && !stopping_flag;
    if (!co_await write_response(*c, res, breq.version(), keep) || !keep) break;
  }
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<bool> HttpServer::Impl::write_response(ServerConnection& c, const Response& res,
                                                 unsigned version, bool keep) {
  if (!res.file_path.empty()) {
    // Opening and reading a local file blocks only briefly (as in Beast's file server example).
    beast::error_code fec;
    auto file_msg = to_beast_file(res, version, keep, fec);
    if (file_msg) {
      c.stream.expires_after(opt.write_timeout);
      auto [ec, n] = co_await bhttp::async_write(c.stream, *file_msg, kTuple);
      co_return !ec;
    }
    log::warn("http: cannot open {}: {}", res.file_path, fec.message());
    Response missing = not_found("the file is gone", "");
    co_return co_await write_response(c, missing, version, keep);
  }
  BeastResponse msg = to_beast(res, version, keep);
  c.stream.expires_after(opt.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(c.stream, msg, kTuple);
  co_return !ec;
}

// After an error response the client may still be sending (a body over the limit). Closing with
// unread bytes makes the kernel send RST, which can destroy the response before the client reads
// it; so stop sending, read and discard for a moment, then close.
awaitable<void> HttpServer::Impl::drain_and_close(ServerConnection& c) {
  beast::error_code ignored;
  c.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  c.stream.expires_after(std::chrono::seconds(1));
  std::vector<char> scratch(64 * 1024);
  size_t total = 0;
  while (total < 2 * opt.body_limit + (1 << 20)) {
    auto [ec, n] = co_await c.stream.async_read_some(asio::buffer(scratch), kTuple);
    if (ec) break;
    total += n;
  }
}

void HttpServer::Impl::record(const std::string& request_method, const Response& res,
                              SteadyClock::time_point start) {
  if (!opt.metrics) return;
  // Label values stay bounded: route patterns, and the method only when a route matched.
  const std::string route = res.route.empty() ? "unmatched" : res.route;
  const std::string method = res.route.empty() ? "other" : request_method;
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  opt.metrics
      ->counter("ctflow_http_requests_total", "HTTP requests by route, method and status",
                {{"route", route}, {"method", method}, {"status", std::to_string(res.status)}})
      .inc();
  opt.metrics
      ->histogram("ctflow_http_request_duration_seconds",
                  "Time from a request's last byte read to its response ready", latency_buckets(),
                  {{"route", route}, {"method", method}})
      .observe(seconds);
}
// --- lifecycle -------------------------------------------------------------------------------

HttpServer::HttpServer(const Router& router, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, std::move(options))) {
  if (MetricsRegistry* m = impl_->opt.metrics) {
    impl_->m_connections = &m->gauge("ctflow_http_connections_open", "Open HTTP connections");
    impl_->m_in_flight = &m->gauge("ctflow_http_requests_in_flight", "Requests being handled");
    impl_->m_streams = &m->gauge("ctflow_http_streams_open", "Open streaming responses");
  }
}

HttpServer::~HttpServer() {
  if (!impl_->started) return;
  stop();
  run();
}

Result<uint16_t> HttpServer::start() {
  Impl& m = *impl_;
  const std::string where = m.opt.address + ":" + std::to_string(m.opt.port);
  if (m.started) return Error{"http: " + where + ": already started"};
  beast::error_code ec;
  auto address = asio::ip::make_address(m.opt.address, ec);
  if (ec) return Error{"http: bad listen address '" + m.opt.address + "': " + ec.message()};
  tcp::endpoint ep(address, m.opt.port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (ec) return Error{"http: bind " + where + ": " + ec.message()};
  m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"http: listen " + where + ": " + ec.message()};
  m.port = m.acceptor.local_endpoint().port();
  m.started = true;
  m.work.emplace(m.ioc.get_executor());
  asio::co_spawn(m.ioc, m.accept_loop(), asio::detached);
  for (int i = 0; i < std::max(1, m.opt.io_threads); ++i) {
    m.io_threads.emplace_back([&m] {
      while (true) {
        try {
          m.ioc.run();
          return;
        } catch (const std::exception& e) {
          log::error("http: I/O thread: {}", e.what());
        }
      }
    });
  }
  log::info("http: listening on {}:{}", m.opt.address, m.port);
  return m.port;
}

void HttpServer::stop_on_signals() {
  Impl& m = *impl_;
  m.signals.emplace(m.ioc, SIGINT, SIGTERM);
  m.signals->async_wait([this](const beast::error_code& ec, int sig) {
    if (ec) return;
    log::info("http: signal {}: shutting down", sig);
    stop();
  });
}

void HttpServer::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (m.stopping || !m.started) return;
    m.stopping = true;
    m.stopping_flag = true;
    m.cv.notify_all();
    for (const auto& c : m.connections) {
      asio::post(c->stream.get_executor(), [c] {
        if (c->channel) c->channel->close();
        if (c->reading) c->stream.cancel();
      });
    }
  }
  asio::post(m.ioc, [&m] {
    beast::error_code ignored;
    m.acceptor.close(ignored);
    if (m.signals) m.signals->cancel(ignored);
    std::lock_guard lock(m.mu);
    m.listener_closed = true;
    m.cv.notify_all();
  });
  m.work.reset();
}

void HttpServer::run() {
  Impl& m = *impl_;
  if (!m.started) return;
  std::unique_lock lock(m.mu);
  if (m.stopped) return;
  m.cv.wait(lock, [&] { return m.stopping; });
  auto done = [&] { return m.listener_closed && m.connections.empty(); };
  if (!m.cv.wait_for(lock, m.opt.shutdown_grace, done))
    log::warn("http: {} connections still open after the grace period; closing them",
              m.connections.size());
  lock.unlock();
  m.ioc.stop();
  for (auto& t : m.io_threads) t.join();
  m.io_threads.clear();
  beast::error_code ignored;
  m.acceptor.close(ignored);  // in case the grace ran out before the posted close ran
  m.signals.reset();
  m.workers.join();  // a handler blocked on the database is waited for
  lock.lock();
  auto threads = std::move(m.stream_threads);
  lock.unlock();
  for (auto& [t, done] : threads) t.join();  // producers see their closed sink and return
  lock.lock();
  m.stopped = true;
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

}  // namespace ctflow::http
