#pragma once
// The `ctflow` verbs. Each returns the process exit code. Client verbs talk to the server over
// HTTP; `server` and `up` run it. Exit codes: 0 ok, 1 failed (a run that failed, a server that
// stopped on an error), 2 bad input or server unreachable, 3 a cancelled run.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/executor/router.hpp"

namespace ctflow::cli {

// The Kubernetes executor's settings (server flags, each with a CTFLOW_K8S_* variable).
struct K8sFlags {
  std::string kubeconfig;       // else $KUBECONFIG, else in-cluster, else ~/.kube/config
  std::string namespace_;       // else the kubeconfig context's (or the pod's) namespace
  std::string image;            // tasks without k8s.image
  std::string volume;           // pvc:CLAIM | hostpath:/PATH, mounted at the data dir in Jobs
  std::string service_account;  // tasks without k8s.serviceAccountName
  int image_pull_grace_ms = 60'000;
};

struct ServerFlags {
  std::string data_dir;
  std::string database_url;  // empty: the embedded PostgreSQL (up only)
  std::string address = "127.0.0.1";
  int port = 8080;
  int max_parallel = 16;
  int db_connect_attempts = 20;  // 500 ms apart
  int lease_ms = 15'000;
  int sweep_ms = 5'000;
  int monitor_interval_ms = 30'000;  // how often monitors are checked
  int cancel_grace_ms = 5'000;
  bool no_fast_path = false;          // EngineOptions::fast_path off
  bool fast_path = false;             // on, whatever $CTFLOW_NO_FAST_PATH says (tests of it)
  bool no_early_start = false;        // start children only after their dispatch commits
  int crash_after_early_starts = 0;   // test-only: EngineOptions::crash_after_early_starts
  int arm_depth = 8;                  // EngineOptions::arm_depth
  int fired_wait_ms = 6;              // EngineOptions::fired_wait
  int dispatch_ahead = -1;            // EngineOptions::dispatch_ahead; -1: max_parallel
  int spare_folders = 1024;           // LocalExecutor's SpareFolders; 0: none
  int task_log_limit_mib = 64;        // task.log per local attempt (log_pump.hpp); 0: no limit
  int pass_delay_ms = 0;              // test-only: EngineOptions::pass_delay
  bool ignore_models_notify = false;  // test-only: EngineOptions::ignore_models_notify
  size_t body_limit = 9 << 20;
  std::string fail_at;             // test-only: crash::arm_failure (common/crash_point.hpp)
  std::string crash_at;            // test-only: crash::arm (common/crash_point.hpp)
  std::string clock_file;          // test-only: the cron scheduler reads "now" from this file
  int read_timeout_ms = 30'000;    // a request (or a keep-alive idle wait) must arrive within this
  std::string gc_older_than;       // periodic gc of runs finished longer ago than this; "": off
  std::string gc_interval = "1h";  // how often the periodic gc runs
  K8sFlags k8s;
};

int cmd_server(ServerFlags f, bool embedded);
std::optional<std::string> check_k8s_flags(const K8sFlags& k);
exec::Router::Factory k8s_factory(const K8sFlags& k, const std::string& data_dir,
                                  exec::Executor& local);
int cmd_k8s_job(const std::string& file, const std::string& task,
                const std::vector<std::string>& params, const K8sFlags& k,
                const std::string& data_dir);
int cmd_migrate(ServerFlags f);

struct ClientFlags {
  std::string url;         // --url, CTFLOW_URL, default http://127.0.0.1:8080
  std::string token_file;  // --token-file
  std::string output;      // "", "json"
};

int cmd_submit(const ClientFlags& c, const std::string& file,
               const std::vector<std::string>& params, bool wait,
               const std::string& logical_date = "");
int cmd_runs(const ClientFlags& c, const std::optional<std::string>& pipeline,
             const std::optional<std::string>& state, int limit);
int cmd_run(const ClientFlags& c, const std::string& id);
int cmd_logs(const ClientFlags& c, const std::string& run, const std::string& task, bool follow);
int cmd_cancel(const ClientFlags& c, const std::string& run);
// Follows a run's events until it ends; progress on stderr. Exit code as for submit --wait.
int wait_for_run(const ClientFlags& c, const std::string& run_id);

int cmd_token_create(const ClientFlags& c, const std::string& role, const std::string& ttl,
                     const std::string& name);
int cmd_token_list(const ClientFlags& c);
int cmd_token_revoke(const ClientFlags& c, const std::string& id);
// POST /api/v1/gc until done; prints what was (or, dry run, would be) deleted.
int cmd_gc(const ClientFlags& c, const std::string& older_than, bool dry_run, int batch);

std::string default_data_dir();
std::string resolve_url(const ClientFlags& c);
// Token lookup order: --token-file, CTFLOW_TOKEN, CTFLOW_TOKEN_FILE, <default data
// dir>/admin-token.
std::string resolve_token(const ClientFlags& c);

}  // namespace ctflow::cli
