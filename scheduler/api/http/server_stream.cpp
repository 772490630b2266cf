// HttpServer's streaming responses: a producer thread per stream (at most max_streams), the
// chunked writes on the connection's strand, heartbeats, and a read that notices a client going.
#include "scheduler/api/http/beast_convert.hpp"
#include "scheduler/api/http/server_impl.hpp"
#include "scheduler/common/log.hpp"

namespace ctflow::http {

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
awaitable<void> HttpServer::Impl::watch_close(std::shared_ptr<ServerConnection> c,
                                              std::shared_ptr<StreamChannel> ch) {
  std::array<char, 512> scratch;
  while (true) {
    auto [ec, n] = co_await c->stream.socket().async_read_some(asio::buffer(scratch), kTuple);
    if (ec) break;
  }
  ch->close();
}

awaitable<void> HttpServer::Impl::run_stream(std::shared_ptr<ServerConnection> c, Response res,
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

}  // namespace ctflow::http
