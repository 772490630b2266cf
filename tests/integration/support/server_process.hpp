#pragma once
// Processes for the integration tests: `ctflow server` instances with their own data dirs on
// ephemeral ports, one-shot CLI commands, and temporary folders.
//
// A ServerProcess is owned by one test thread. Its stderr goes to a log file (log()), which the
// failure messages quote. kill9() kills only the server process: its task supervisor (a child in
// its own process group) and the tasks keep running, as after a real crash. Servers and commands
// get SIGKILL when the test process dies (PR_SET_PDEATHSIG), so a test killed by a timeout leaves
// no server behind.
// Errors: start() throws std::runtime_error (with the server's log) when the server exits or does
// not print its "API listening on" line within the deadline.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "scheduler/cli/client.hpp"

namespace ctflow::it {

using namespace std::chrono_literals;

// The binary under test: CTFLOW_BINARY_DIR/ctflow.
std::string ctflow_bin();

// A fresh folder under /tmp, mode 0755 (reachable by the postgres user), removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int rc = -1;  // exit status; 128 + signal when killed (124 after the timeout)
  std::string out, err;
  double seconds = 0;
};

// Runs argv to completion, at most `timeout` (then SIGKILL, rc 124); stdout and stderr captured.
// `env` entries NAME=VALUE are added to (or replace in) this process's environment.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = 60s,
                          const std::vector<std::string>& env = {});

struct ServerConfig {
  std::string database_url;  // empty with `embedded`: ctflow up's own PostgreSQL
  std::string data_dir;
  std::string log_path;  // server stderr/stdout; default <data_dir>.log
  int lease_ms = 3000;
  int sweep_ms = 500;
  int cancel_grace_ms = 1000;
  int max_parallel = 16;
  std::vector<std::string> extra_args;
  bool embedded = false;  // `ctflow up` instead of `ctflow server`
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerConfig cfg);
  ~ServerProcess();  // stop()
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and waits (up to `deadline`) for its "API listening on" line.
  void start(std::chrono::milliseconds deadline = 60s);
  // SIGTERM and wait; SIGKILL after `grace`. The supervisor finishes its tasks on its own.
  // Returns the exit status (128 + signal if killed), -1 if it was not running.
  int stop(std::chrono::milliseconds grace = 20s);
  // SIGKILL the server process only, and reap it.
  void kill9();
  bool running() const { return pid_ > 0; }

  pid_t pid() const { return pid_; }
  // The pid of the server's task supervisor (0 before start).
  pid_t supervisor_pid() const { return supervisor_pid_; }
  const std::string& url() const { return url_; }
  std::string token_file() const { return cfg_.data_dir + "/admin-token"; }
  std::string token() const;
  const std::string& data_dir() const { return cfg_.data_dir; }
  std::string log() const;
  cli::Client client() const { return cli::Client(url_, token()); }
  // Client flags for CLI verbs: --url URL --token-file FILE.
  std::vector<std::string> cli_flags() const;

 private:
  ServerConfig cfg_;
  pid_t pid_ = 0;
  pid_t supervisor_pid_ = 0;
  std::string url_;
};

// Reads a whole file ("" when missing).
std::string slurp(const std::string& path);
// Lines of a file, without their newline.
std::vector<std::string> read_lines(const std::string& path);
void write_text(const std::string& path, const std::string& text);
// True while a process with this pid exists and is not a zombie.
bool process_alive(pid_t pid);
// Pids of live processes whose command line (arguments joined by spaces) contains `needle`.
std::vector<pid_t> find_processes(const std::string& needle);
// Polls `pred` every `every` until it is true or `timeout` passed; returns its last value.
template <class Pred>
bool poll_until(Pred pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 25ms);

}  // namespace ctflow::it

#include "tests/integration/support/poll.ipp"
