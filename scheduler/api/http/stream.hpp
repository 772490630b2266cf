#pragma once
// Streaming responses (Server-Sent Events, following a log).
//
// A handler returns a Response whose `stream` is a StreamProducer. After the router has checked
// the route and the token, the server sends the status line and headers (chunked transfer
// encoding), starts the producer on a thread of its own (never an I/O thread, never the worker
// pool, so a thousand idle followers cannot starve the API), and forwards every chunk the
// producer writes. The producer may block (on PostgreSQL, on LISTEN/NOTIFY) between writes.
//
// The producer learns that the client has gone (or that the server is stopping) from the sink:
// write() returns false, open() turns false, and wait_for() wakes early. It must then return
// promptly; the server joins its thread on shutdown. The connection ends when the producer
// returns (the terminating chunk is sent) or when the client goes.
//
// StreamChannel is the sink the server uses; tests drive a producer with it directly.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

namespace ctflow::http {

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues one chunk for the client. Blocks while more than the channel's buffer limit is queued
  // (a slow client slows its producer instead of growing memory). Returns false once the client
  // has gone or the server is stopping; the chunk is then dropped.
  virtual bool write(std::string chunk) = 0;
  // True until the client goes or the server stops.
  virtual bool open() const = 0;
  // Sleeps up to `d`, returning early when the sink closes. Returns open().
  virtual bool wait_for(std::chrono::milliseconds d) = 0;
};

// A bounded, thread-safe queue of chunks between one producer thread and one consumer (the
// connection). Every member is safe to call from any thread.
class StreamChannel final : public StreamSink {
 public:
  explicit StreamChannel(size_t max_buffered_bytes = 1 << 20) : max_buffered_(max_buffered_bytes) {}

  // --- producer side (StreamSink) ---
  bool write(std::string chunk) override;
  bool open() const override;
  bool wait_for(std::chrono::milliseconds d) override;

  // --- consumer side ---
  // Called (on the calling thread, without the lock held) after each write, close() and
  // finish(); the server uses it to wake the connection's coroutine. Set it before the producer
  // starts.
  void set_notify(std::function<void()> notify);
  // Moves every queued chunk into `out` (appended). Returns true when the producer has finished
  // and nothing more will come.
  bool take(std::string& out);
  // The client went or the server is stopping: wakes the producer and drops queued chunks.
  void close();
  // The producer returned (called by whoever ran it).
  void finish();
  bool finished() const;

 private:
  const size_t max_buffered_;
  std::function<void()> notify_;  // set before the producer starts, then read-only

  mutable std::mutex mu_;
  std::condition_variable cv_;  // signalled on close() and when the buffer drains
  std::string buffer_;          // guarded by mu_
  bool closed_ = false;         // guarded by mu_
  bool finished_ = false;       // guarded by mu_
};

}  // namespace ctflow::http
