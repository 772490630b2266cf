#pragma once
// LocalExecutor: runs task attempts as processes on this machine through a supervisor process
// (see supervisor.hpp). Attempt folders live under <root>/<key>/. Thread-safety: start, cancel,
// adopt and shutdown are called by the engine thread; drain and set_wakeup from any thread.
#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/mutex.hpp"
#include "scheduler/common/result.hpp"
#include "scheduler/executor/executor.hpp"
#include "scheduler/executor/local/spare_folders.hpp"

namespace ctflow::exec {

class LocalExecutor : public Executor, public ChainAcceleration {
 public:
  // Starts the supervisor (`self_exe __supervise FD ROOT SPARES LOG_LIMIT`). `root` is the
  // attempts folder; `log_limit`: bytes of task.log kept per attempt (-1: no limit).
  static Result<std::unique_ptr<LocalExecutor>> create(const std::string& self_exe,
                                                       const std::string& root,
                                                       const std::string& host,
                                                       size_t spare_folders = 0,
                                                       int64_t log_limit = int64_t{64} << 20);
  ~LocalExecutor() override;

  std::string attempt_dir(const std::string& key) const override { return root_ + "/" + key; }
  std::string ref_prefix() const override { return "local:" + host_ + ":" + root_ + "/"; }
  void start(const SpawnRequest& req) override;
  void cancel(const std::string& key, std::chrono::milliseconds grace) override;
  AdoptState adopt(const std::string& executor_ref) override;
  // sha256 of the resolved binary, cached while its mtime and size stay the same.
  std::string code_digest(const std::string& program, const std::string& search_path,
                          const Placement& where) override;
  ChainAcceleration* chain_acceleration() override { return this; }
  bool note_early_start(const std::string& parent_key, const std::string& child_key) override;
  void prepare(const std::vector<std::string>& keys) override;
  bool arm(const std::string& parent_key, const SpawnRequest& child) override;
  void disarm(const std::string& parent_key) override;
  void limit(int n) override;
  std::vector<ExecEvent> drain() override;
  void set_wakeup(std::function<void(Wake)> fn) override;
  void shutdown() override;

  // Resolves argv[0] like execvp with the PATH given (empty if not found or not executable).
  static std::string resolve(const std::string& cmd, const std::string& path);

 private:
  LocalExecutor(std::string root, std::string host, int fd, pid_t supervisor, size_t spares);
  void reader_loop();   // supervisor events -> queue
  void watcher_loop();  // adopted attempts (inotify on their folders) and kill timers
  void push(ExecEvent ev);
  // The supervisor's "spawn" message; `inline_files`: the files travel in it.
  json::object spawn_message(const SpawnRequest& req, bool inline_files) const;
  // SIGTERM to the group now, SIGKILL after `grace` (the watcher's timers). mu_ held.
  void kill_locked(int pid, const std::string& key, std::chrono::milliseconds grace) REQUIRES(mu_);
  std::string key_of_dir(const std::string& dir) const;
  AdoptState adopt_dir(const std::string& key, const std::string& dir);
  // start() of an attempt whose claim exists: adopt it; an Exited event if it is lost.
  void resume(const std::string& key, const std::string& dir);

  // Inputs files up to this size travel in the spawn message; bigger ones are written by start().
  static constexpr size_t kInlineFileBytes = 64 * 1024;
  static bool files_fit(const SpawnRequest& req);  // within kInlineFileBytes

  // Constant after construction.
  const std::string root_, host_;
  const int fd_;
  const pid_t supervisor_;
  int inotify_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};

  Mutex mu_;
  std::vector<ExecEvent> events_ GUARDED_BY(mu_);
  std::function<void(Wake)> wakeup_ GUARDED_BY(mu_);
  std::map<int, std::string> watches_ GUARDED_BY(mu_);  // inotify wd -> attempt dir
  std::map<std::chrono::steady_clock::time_point, std::pair<int, std::string>> kill_timers_
      GUARDED_BY(mu_);                               // when -> (pgid, key)
  std::map<std::string, int> pids_ GUARDED_BY(mu_);  // key -> pid of running attempts
  // Cancelled while the supervisor was starting them: killed when the start is reported, with
  // this grace.
  std::map<std::string, std::chrono::milliseconds> pending_cancels_ GUARDED_BY(mu_);
  // Attempts started early by another server (the "next" lines of attempts adopted from its
  // folder): key -> their folder. Engine thread only.
  std::map<std::string, std::string> early_elsewhere_;
  // Attempts whose folders prepare() asked the supervisor for. Engine thread only.
  std::set<std::string> prepared_;
  bool stopping_ GUARDED_BY(mu_) = false;

  std::thread reader_, watcher_;
  SpareFolders spares_;  // folders made ahead for start()
  // code_digest's cache: resolved path -> (mtime and size, digest). Engine thread only.
  std::map<std::string, std::pair<std::string, std::string>> digests_;
};

}  // namespace ctflow::exec
