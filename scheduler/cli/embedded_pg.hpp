#pragma once
// The embedded PostgreSQL of `ctflow up`: a private cluster made with Debian's initdb/pg_ctl
// (package postgresql), listening only on a Unix socket in the cluster folder, reused across
// starts and stopped cleanly at exit.
//
// PostgreSQL refuses to run as root. Started as root, ctflow runs initdb/pg_ctl as the
// unprivileged `postgres` user (made by the Debian package). The cluster is <data-dir>/pg, owned
// by that user, when that user can enter the data dir; otherwise (a data dir under a 0700 folder)
// it is /var/lib/ctflow/clusters/<digest of the data dir> with <data-dir>/pg a symlink to it and
// <cluster>.datadir naming the data dir: a later start as root stops and removes such a cluster
// once its data dir is deleted. Started as another user, the cluster is <data-dir>/pg itself.
//
// Its life (issue 22):
// - It only stops what it started. Starting the cluster writes <data-dir>/pg.owner (this
//   process's pid); stop() stops the cluster only if this object started it or adopted it, and
//   removes the file. A cluster found running whose pg.owner names a process that is gone was
//   left by a `ctflow` killed with SIGKILL: it is adopted (and stopped at exit). One found running
//   without pg.owner, or whose owner is alive, was started by someone else: used, never stopped.
// - watch() notices when a cluster it owns dies under a running server (crash, OOM kill, an
//   operator's pg_ctl stop) and starts it again (crash recovery runs), logging both. After
//   kMaxRestarts failed starts in a row it gives up and calls on_fatal with a one-line reason;
//   `ctflow up` then exits 1 with that message instead of serving 503s forever.
//
// Threads: start()/stop() from the main thread; watch() runs its own thread until stop().
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <chrono>

#include "scheduler/common/result.hpp"

namespace ctflow::cli {

class EmbeddedPostgres {
 public:
  explicit EmbeddedPostgres(std::string data_dir);
  ~EmbeddedPostgres();
  // initdb when new, then start (or reuse a running cluster); creates database "ctflow".
  Result<std::string> start();  // returns the connection URL
  void stop();                  // stops watching; pg_ctl stop -m fast if this object owns it
  const std::string& cluster_dir() const { return cluster_; }
  // Checks every `every` that an owned cluster runs; restarts it when not (see above).
  static constexpr int kMaxRestarts = 5;
  void watch(std::function<void(const std::string&)> on_fatal,
             std::chrono::milliseconds every = std::chrono::milliseconds(1000));
  // How many times watch() restarted the cluster.
  int restarts() const;

 private:
  Result<int> run(const std::vector<std::string>& argv, bool as_postgres_user, std::string* output);
  Result<bool> start_cluster();  // pg_ctl start -w
  bool postmaster_alive() const;
  void write_owner();
  void sweep_orphans();
  static constexpr const char* kClustersDir = "/var/lib/ctflow/clusters";
  std::string data_dir_, cluster_, bin_;
  bool as_root_ = false;
  bool started_here_ = false;  // owned: started or adopted by this object

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_watch_ = false;  // guarded by mu_
  int restarts_ = 0;         // guarded by mu_
  std::thread watcher_;
};

// The folder of Debian's PostgreSQL binaries (newest installed version), or nullopt.
std::optional<std::string> find_pg_bin();

}  // namespace ctflow::cli
