#pragma once
// Following the control plane (--model NAME --api URL): what the alias points at, pulled by digest
// into a local cache and swapped into the Predictor.
//
// A check resolves the alias (GET /api/v1/models/NAME: its version and canary), and when that
// differs from what is served, pulls each missing artifact into <cache>/<digest> (checked against
// the digest; a cached file is checked again before use), loads and warms the version(s) beside
// the ones serving, then swaps (Predictor::set). A version that fails to pull or load leaves the
// served ones in place; the reason is logged and readiness reports it while nothing is served.
//
// When to check: at start, whenever the SSE stream (GET /api/v1/events) carries a 'model' event
// of this model, and every `poll` (which covers a stream that is down; it reconnects with backoff
// 1 s .. 10 s).
//
// Threads: start() runs the checks on a thread of their own and the stream on another; the
// threads are detached at process exit (the stream blocks in a read), so call stop() and then
// leave the process.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tasks/serve/predictor.hpp"

namespace ctflow::serve {

struct ControlOptions {
  std::string api;    // http://host:port
  std::string token;  // bearer token (viewer is enough)
  std::string model, alias = "production";
  std::string cache_dir;
  std::chrono::milliseconds poll{5000};
  bool follow_events = true;
};

class ControlFollower {
 public:
  ControlFollower(ControlOptions options, Predictor& predictor);
  ~ControlFollower();

  // One check now, on the calling thread: true when the served versions match the alias after it.
  bool check_once();
  void start();
  void stop();
  // The last failure ("" when the last check succeeded).
  std::string last_error() const;

 private:
  struct Loaded;
  void check_loop();
  void event_loop();
  Result<tasks::ModelFiles> local_files(int64_t version);
  void set_error(const std::string& e);

  const ControlOptions o_;
  Predictor& predictor_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool poke_ = false;                                // guarded by mu_
  bool stop_ = false;                                // guarded by mu_
  std::string last_error_;                           // guarded by mu_
  int64_t served_version_ = 0;                       // check thread only
  int64_t served_canary_ = 0;                        // check thread only
  double served_percent_ = 0;                        // check thread only
  std::shared_ptr<ServedVersion> primary_, canary_;  // check thread only
  std::thread checker_, events_;
};

}  // namespace ctflow::serve
