#pragma once
// A throwaway PostgreSQL cluster for the integration tests.
//
// PgCluster::shared() creates one cluster per test process on first use: a copy of an initdb
// folder (--no-sync, which only skips flushing the initial files; made once per machine under
// /tmp/ctflow-it-pg-template-*, then copied) in a fresh folder under /tmp, and pg_ctl start with
// the server listening only on a Unix socket in that folder, fsync and synchronous_commit on
// (durability is what the crash tests check). When the test process runs as root, the cluster
// runs as user `postgres` (initdb refuses root) and the folder is given to that user.
//
// Every test takes its own database (create_database(): CREATE DATABASE t_<random>), so tests
// can share the cluster. The cluster is stopped (pg_ctl stop -m immediate) and its folder removed
// when the process exits, also when it dies abnormally: a small reaper process forked at creation
// waits for the test process to go away (a pipe whose only writer is the test process) and then
// cleans up.
//
// Thread-safety: shared() and create_database() may be called from any thread.
// Errors: creation failures throw std::runtime_error with the failing command and its output.
#include <mutex>
#include <string>
#include <vector>

namespace ctflow::it {

class PgCluster {
 public:
  static PgCluster& shared();

  // A new, empty database; returns its libpq URL ("postgresql:///t_...?host=SOCKET_DIR&user=...").
  std::string create_database();
  // The URL of an existing database of this cluster.
  std::string url(const std::string& database) const;
  // Runs SQL on the maintenance database "postgres" (outside a transaction).
  void exec_admin(const std::string& sql);
  const std::string& socket_dir() const { return root_; }
  // Chaos: `pg_ctl stop -m immediate` (a crash: no checkpoint, clients cut off), and start again
  // (crash recovery runs; -w waits until it accepts connections). Throw on failure.
  void crash();
  void start();

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

 private:
  PgCluster();
  ~PgCluster();
  void start_reaper();
  // The folder holding data/ made by initdb once, made on first use (initdb is slow).
  std::string initdb_template() const;

  // Constant after construction.
  std::string bin_;   // /usr/lib/postgresql/<v>/bin
  std::string root_;  // the cluster's folder: data/, the socket, server.log
  bool as_postgres_ = false;
  int reaper_fd_ = -1;  // write end of the reaper's pipe; closing it tells the reaper to clean up
  int reaper_pid_ = -1;

  std::mutex mu_;  // serialises admin connections
};

// Runs argv (optionally as user postgres via runuser), output captured; returns the exit status
// (128 + signal when killed) and fills `output` with stdout and stderr.
int run_captured(const std::vector<std::string>& argv, std::string* output,
                 bool as_postgres = false);

// The newest /usr/lib/postgresql/<v>/bin holding pg_ctl; throws if there is none.
std::string postgres_bin_dir();

}  // namespace ctflow::it
