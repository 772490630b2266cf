#pragma once
// Private to server*.cpp: HttpServer's state and its coroutines. server.cpp holds the accept
// loop, sessions and the lifecycle (start, stop, run); server_stream.cpp the streaming
// responses (a producer thread per stream, the close watch). Members are grouped by who may
// touch them: constant after construction, guarded by `mu`, or owned by the I/O threads.
#include "scheduler/api/http/server.hpp"
#include "scheduler/api/http/stream.hpp"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace ctflow::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using Strand = asio::strand<asio::io_context::executor_type>;
using SteadyClock = std::chrono::steady_clock;

// One accepted socket. Lives in its session coroutine's frame (shared with the stop path);
// every member is touched only on the connection's strand.
struct ServerConnection {
  explicit ServerConnection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  bool reading = false;  // waiting for (the rest of) a request: stop() may cancel it
  std::shared_ptr<StreamChannel> channel;  // set while a stream is open
};

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
  bool listener_closed = false;                             // stop()'s close of the acceptor ran
  bool stopped = false;                                     // run() finished
  std::set<std::shared_ptr<ServerConnection>> connections;  // every live connection
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
  awaitable<void> session(std::shared_ptr<ServerConnection> c);
  awaitable<bool> write_response(ServerConnection& c, const Response& res, unsigned version,
                                 bool keep);
  awaitable<void> run_stream(std::shared_ptr<ServerConnection> c, Response res, unsigned version);
  awaitable<void> watch_close(std::shared_ptr<ServerConnection> c,
                              std::shared_ptr<StreamChannel> ch);
  awaitable<void> drain_and_close(ServerConnection& c);
  bool begin_stream_thread(std::shared_ptr<StreamChannel> ch, StreamProducer producer);
  void record(const std::string& method, const Response& res, SteadyClock::time_point start);
  void begin_stop();
  void finish();
};

}  // namespace ctflow::http
