#pragma once
// Retention (`ctflow gc`, POST /api/v1/gc, `ctflow server --gc-older-than`): deletes old finished
// runs with their rows (store/gc.hpp says which), their attempt folders and logs on disk, events
// of no run, and artifacts nothing references any more, in bounded batches of short
// transactions while the server keeps serving.
//
// Files go after the rows: an attempt folder of a deleted run is removed after the batch
// commits (a crash in between leaves a folder no row names: harmless, and the next gc does not
// see it). An artifact file is moved aside inside its transaction and removed after the commit
// (moved back if the commit fails), and kept when the engine stored the same content again in
// the last kArtifactGrace: the engine touches a stored file whose content it meets again
// (engine::store_artifact), so gc never deletes a file a finishing task is about to reference.
//
// Thread-safety: collect_garbage may run on any thread and borrows one pooled connection at a
// time; several may run at once (and on several servers): they skip each other's locked rows.
#include <chrono>
#include <string>
#include <thread>

#include "scheduler/common/mutex.hpp"
#include "scheduler/store/db.hpp"
#include "scheduler/store/gc.hpp"

namespace ctflow::api {

constexpr std::chrono::minutes kArtifactGrace{10};

struct GcOptions {
  int64_t older_than_s = 30 * 86400;  // runs finished longer ago than this
  int batch = 100;                    // runs (or events, or artifacts) per transaction
  bool dry_run = false;               // count only; change nothing
  // Stop after the batch that passes this much time (a request answers in bounded time; the
  // CLI calls again until `done`). Zero: until everything is done.
  std::chrono::milliseconds budget{0};
};

struct GcReport {
  store::GcCounts counts;  // rows deleted (dry run: that would be)
  int64_t folders = 0;     // attempt folders removed (dry run: that exist)
  int64_t files = 0;       // artifact files removed
  int batches = 0;         // transactions committed
  bool done = false;       // nothing is left to delete for this cutoff (dry run: always true)
};

// `data_dir`: the server's (attempt folders in <data_dir>/attempts, artifacts under
// <data_dir>/artifacts; a path outside those is never removed).
GcReport collect_garbage(store::Pool& pool, const std::string& data_dir, const GcOptions& o);

// Periodic gc in a server (`--gc-older-than`): one collect_garbage every `interval`, the first
// one `interval` after start. Owns its thread; stop() (or the destructor) joins it.
class GcLoop {
 public:
  GcLoop(store::Pool& pool, std::string data_dir, GcOptions opt,
         std::chrono::milliseconds interval);
  ~GcLoop();
  void start();
  void stop();

 private:
  // Constant after construction.
  store::Pool& pool_;
  const std::string data_dir_;
  const GcOptions opt_;
  const std::chrono::milliseconds interval_;

  Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // started by start(), joined by stop()
};

}  // namespace ctflow::api
