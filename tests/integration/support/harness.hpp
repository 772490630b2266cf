#pragma once
// What most integration tests need: a database of the shared cluster, a temp folder, a running
// `ctflow server` on them, and helpers to submit runs over the API, poll them until they end and
// inspect the database directly.
//
// One Harness per test, used from the test's thread only. Errors: helpers throw
// std::runtime_error with the context (the run's JSON, the server's log) when something does not
// happen before its deadline, so a failing test says why.
#include <boost/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "tests/integration/support/pg_cluster.hpp"
#include "tests/integration/support/server_process.hpp"

namespace ctflow::it {

namespace json = boost::json;

// Direct access to a test database (a new connection per call; tests are not hot paths).
class Db {
 public:
  explicit Db(std::string url) : url_(std::move(url)) {}
  // The first column of the first row as text ("" for NULL or no row).
  std::string text(const std::string& sql) const;
  int64_t count(const std::string& sql) const { return std::stoll(text(sql)); }
  // Every row's first column as text.
  std::vector<std::string> column(const std::string& sql) const;
  void exec(const std::string& sql) const;
  const std::string& url() const { return url_; }

 private:
  std::string url_;
};

// Final run states.
bool run_final(const std::string& state);

// POSTs a spec; returns the run id. Throws unless the server answers 201.
std::string submit_run(const ServerProcess& s, const std::string& spec,
                       const std::map<std::string, std::string>& params = {});
// GET /api/v1/runs/{id}; nullopt on transport errors (a server being restarted).
std::optional<json::object> get_run(const ServerProcess& s, const std::string& id);
json::object get_task(const ServerProcess& s, const std::string& id, const std::string& task);
// Polls the run until it is final; throws with the last JSON after `timeout`.
json::object wait_run(const ServerProcess& s, const std::string& id,
                      std::chrono::milliseconds timeout = 90s);
// The task named `name` in a run's JSON (throws if absent).
const json::object& task_in(const json::object& run, const std::string& name);
std::string str(const json::object& o, const char* key);  // "" for null or absent
// name -> state of every task in a run's JSON.
std::map<std::string, std::string> task_states(const json::object& run);

class Harness {
 public:
  // A database, a temp dir and a server (started) with data dir <tmp>/server.
  explicit Harness(ServerConfig base = {});
  ServerProcess& server() { return *server_; }
  Db& db() { return db_; }
  const TempDir& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ / name; }

  std::string submit(const std::string& spec,
                     const std::map<std::string, std::string>& params = {}) {
    return submit_run(*server_, spec, params);
  }
  json::object wait(const std::string& id, std::chrono::milliseconds timeout = 90s) {
    return wait_run(*server_, id, timeout);
  }
  // Runs `ctflow ARGS... --url URL --token-file FILE` (the flags appended).
  CommandResult cli(std::vector<std::string> args, std::chrono::milliseconds timeout = 60s);

 private:
  std::string db_url_;
  TempDir dir_;
  Db db_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace ctflow::it
