#pragma once
// The embedded PostgreSQL of `ctflow up`: a private cluster made with Debian's initdb/pg_ctl
// (package postgresql), listening only on a Unix socket in the cluster folder, reused across
// starts and stopped cleanly at exit.
//
// PostgreSQL refuses to run as root. Started as root, ctflow runs initdb/pg_ctl as the
// unprivileged `postgres` user (made by the Debian package) and keeps the cluster in
// /var/lib/ctflow/clusters/<digest of the data dir>, owned by that user, with <data-dir>/pg a
// symlink to it: the data dir may then be anywhere, even under a 0700 folder that user cannot
// enter. Started as another user, the cluster is <data-dir>/pg itself.
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"

namespace ctflow::cli {

class EmbeddedPostgres {
 public:
  explicit EmbeddedPostgres(std::string data_dir);
  ~EmbeddedPostgres();
  // initdb when new, then start (or reuse a running cluster); creates database "ctflow".
  Result<std::string> start();  // returns the connection URL
  void stop();                  // pg_ctl stop -m fast, if this object started it
  const std::string& cluster_dir() const { return cluster_; }

 private:
  Result<int> run(const std::vector<std::string>& argv, bool as_postgres_user, std::string* output);
  std::string data_dir_, cluster_, bin_;
  bool as_root_ = false;
  bool started_here_ = false;
};

// The folder of Debian's PostgreSQL binaries (newest installed version), or nullopt.
std::optional<std::string> find_pg_bin();

}  // namespace ctflow::cli
