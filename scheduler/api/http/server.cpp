// HttpServer: the Beast/Asio side. Shape of Beast's advanced_server (strand per connection,
// timeouts, body limit, signal_set shutdown) written with coroutines as in
// http_server_awaitable.cpp: expires_after before every read and write.
#include "scheduler/api/http/server.hpp"

#include "scheduler/api/http/beast_convert.hpp"
#include "scheduler/api/http/stream.hpp"
#include "scheduler/common/log.hpp"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <condition_variable>
#include <list>
#include <mutex>
#include <set>
#include <thread>

namespace ctflow::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using Strand = asio::strand<asio::io_context::executor_type>;
using SteadyClock = std::chrono::steady_clock;

namespace {

// One accepted socket. Lives in its session coroutine's frame (shared with the stop path);
// every member is touched only on the connection's strand.
struct Connection {
  explicit Connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  bool reading = false;  // waiting for (the rest of) a request: stop() may cancel it
  std::shared_ptr<StreamChannel> channel;  // set while a stream is open
};

}  // namespace

struct HttpServer::Impl {
  Impl(const Router& r, ServerOptions o)
      : router(r), opt(std::move(o)), workers(std::max(1, opt.worker_threads)) {}

  // --- constant after construction ---
  const Router& router;
  const ServerOptions opt;
  Gauge* m_connections = nullptr;
  Gauge* m_in_flight = nullptr;
  Gauge* m_streams = nullptr;

  // --- shared, guarded by mu ---
  std::mutex mu;
  std::condition_variable cv;  // signalled when `stopping` is set and when a connection ends
  bool stopping = false;
  bool listener_closed = false;                       // stop()'s close of the acceptor ran
  bool stopped = false;                               // run() finished
  std::set<std::shared_ptr<Connection>> connections;  // every live connection
  std::list<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> stream_threads;
  size_t open_streams = 0;

  std::atomic<bool> stopping_flag{false};  // lock-free copy of `stopping` for the I/O threads
  asio::thread_pool workers;               // runs Router::handle_request
  // Declared after everything the coroutine frames touch: destroying ioc destroys any frames
  // still queued, and they release connections into the members above.
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<asio::signal_set> signals;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  uint16_t port = 0;
  bool started = false;

  awaitable<void> accept_loop();
  awaitable<void> session(std::shared_ptr<Connection> c);
  awaitable<bool> write_response(Connection& c, const Response& res, unsigned version, bool keep);
  awaitable<void> run_stream(std::shared_ptr<Connection> c, Response res, unsigned version);
  awaitable<void> watch_close(std::shared_ptr<Connection> c, std::shared_ptr<StreamChannel> ch);
  awaitable<void> drain_and_close(Connection& c);
  bool begin_stream_thread(std::shared_ptr<StreamChannel> ch, StreamProducer producer);
  void record(const std::string& method, const Response& res, SteadyClock::time_point start);
  void begin_stop();
  void finish();
};

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
    auto c = std::make_shared<Connection>(std::move(socket));
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

awaitable<void> HttpServer::Impl::session(std::shared_ptr<Connection> c) {
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

awaitable<bool> HttpServer::Impl::write_response(Connection& c, const Response& res,
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
awaitable<void> HttpServer::Impl::drain_and_close(Connection& c) {
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

// --- streams ---------------------------------------------------------------------------------

bool HttpServer::Impl::begin_stream_thread(std::shared_ptr<StreamChannel> ch,
                                           StreamProducer producer) {
  std::lock_guard lock(mu);
  // Reap producers that have returned.
  for (auto it = stream_threads.begin(); it != stream_threads.end();) {
    if (*it->second) {
      it->first.join();
      it = stream_threads.erase(it);
    } else {
      ++it;
    }
  }
  if (stopping || open_streams >= opt.max_streams) return false;
  ++open_streams;
  if (m_streams) m_streams->inc();
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread t([this, ch, done, producer = std::move(producer)] {
    try {
      producer(*ch);
    } catch (const std::exception& e) {
      log::error("http: stream producer failed: {}", e.what());
    } catch (...) {
      log::error("http: stream producer failed: a non-standard exception");
    }
    ch->finish();
    {
      std::lock_guard lock(mu);
      --open_streams;
    }
    if (m_streams) m_streams->dec();
    *done = true;
  });
  stream_threads.emplace_back(std::move(t), std::move(done));
  return true;
}

// Reads (and ignores) whatever the client sends while its stream is open, to notice at once when
// it goes away rather than at the next heartbeat.
awaitable<void> HttpServer::Impl::watch_close(std::shared_ptr<Connection> c,
                                              std::shared_ptr<StreamChannel> ch) {
  std::array<char, 512> scratch;
  while (true) {
    auto [ec, n] = co_await c->stream.socket().async_read_some(asio::buffer(scratch), kTuple);
    if (ec) break;
  }
  ch->close();
}

awaitable<void> HttpServer::Impl::run_stream(std::shared_ptr<Connection> c, Response res,
                                             unsigned version) {
  auto ch = std::make_shared<StreamChannel>();
  auto wake = std::make_shared<asio::steady_timer>(c->stream.get_executor());
  // Producer -> connection: wake the coroutine on its strand. The timer lives in this frame;
  // the weak pointer lets a late notification from the producer's thread find it gone.
  ch->set_notify([ex = c->stream.get_executor(), w = std::weak_ptr<asio::steady_timer>(wake)] {
    asio::post(ex, [w] {
      if (auto t = w.lock()) t->cancel();
    });
  });
  if (!begin_stream_thread(ch, std::move(res.stream))) {
    Response busy = unavailable("too many open streams; retry later", "");
    co_await write_response(*c, busy, version, false);
    co_return;
  }
  c->channel = ch;
  {
    auto head = stream_head(res, version);
    bhttp::response_serializer<bhttp::empty_body> sr(head);
    c->stream.expires_after(opt.write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(c->stream, sr, kTuple);
    if (ec) {
      ch->close();
      co_return;
    }
  }
  asio::co_spawn(c->stream.get_executor(), watch_close(c, ch), asio::detached);

  // Between take() and the wait below there is no suspension, so a notification posted to the
  // strand either cancels that wait or finds us writing, after which take() runs again.
  auto last_write = SteadyClock::now();
  std::string pending;
  while (true) {
    bool finished = ch->take(pending);
    std::string chunk;
    if (!pending.empty()) {
      chunk.swap(pending);
    } else if (finished) {
      c->stream.expires_after(opt.write_timeout);
      co_await asio::async_write(c->stream, bhttp::make_chunk_last(), kTuple);
      break;
    } else if (!ch->open()) {
      break;  // the client went, or the server is stopping
    } else {
      wake->expires_at(last_write + opt.heartbeat_interval);
      auto [ec] = co_await wake->async_wait(kTuple);
      if (ec || res.stream_heartbeat.empty()) continue;  // woken: look again
      chunk = res.stream_heartbeat;
    }
    c->stream.expires_after(opt.write_timeout);
    auto [ec, n] =
        co_await asio::async_write(c->stream, bhttp::make_chunk(asio::buffer(chunk)), kTuple);
    if (ec) break;
    last_write = SteadyClock::now();
  }
  ch->close();  // tells a producer still running that nobody listens
  c->channel.reset();
  beast::error_code ignored;
  c->stream.socket().cancel(ignored);  // ends watch_close
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
