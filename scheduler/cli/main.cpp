// ctflow: the control plane binary. `ctflow up` / `ctflow server` run it; the other verbs talk to
// it over HTTP (or, for `hpo ask` and `cron next`, compute locally with the scheduler's code).
#include <CLI/CLI.hpp>

#include <cstring>
#include <iostream>

#include "scheduler/cli/commands.hpp"
#include "scheduler/cli/model_cmds.hpp"
#include "scheduler/cli/schedule_cmds.hpp"
#include "scheduler/cron/cron_command.hpp"
#include "scheduler/executor/local/supervisor.hpp"
#include "scheduler/hpo/ask.hpp"

using namespace ctflow::cli;

namespace {

// Tasks with `executor: kubernetes` (the Kubernetes executor, made when the first one runs).
void add_k8s_flags(CLI::App* cmd, K8sFlags& k) {
  const char* g = "Kubernetes executor";
  cmd->add_option("--k8s-kubeconfig", k.kubeconfig,
                  "kubeconfig file (default $KUBECONFIG, else in-cluster, else ~/.kube/config)")
      ->envname("CTFLOW_K8S_KUBECONFIG")
      ->group(g);
  cmd->add_option("--k8s-namespace", k.namespace_,
                  "namespace of the Jobs (default: the context's or the pod's namespace)")
      ->envname("CTFLOW_K8S_NAMESPACE")
      ->group(g);
  cmd->add_option("--k8s-image", k.image, "image of tasks without k8s.image")
      ->envname("CTFLOW_K8S_IMAGE")
      ->group(g);
  cmd->add_option("--k8s-volume", k.volume,
                  "pvc:CLAIM or hostpath:/PATH: the volume every Job mounts at --data-dir (where "
                  "the task contract's files are)")
      ->envname("CTFLOW_K8S_VOLUME")
      ->group(g);
  cmd->add_option("--k8s-service-account", k.service_account,
                  "service account of tasks without k8s.serviceAccountName")
      ->envname("CTFLOW_K8S_SERVICE_ACCOUNT")
      ->group(g);
  cmd->add_option("--k8s-image-pull-grace-ms", k.image_pull_grace_ms,
                  "how long a pod may wait on its image (ImagePullBackOff) before the task fails "
                  "(default 60000)")
      ->envname("CTFLOW_K8S_IMAGE_PULL_GRACE_MS")
      ->group(g);
}

void add_server_flags(CLI::App* cmd, ServerFlags& f, bool url_required) {
  cmd->add_option("--data-dir", f.data_dir,
                  "data directory (default $CTFLOW_HOME or ~/.local/share/ctflow)");
  auto* u = cmd->add_option("--database-url", f.database_url,
                            "PostgreSQL URL (up: default embedded; $CTFLOW_DATABASE_URL too)")
                ->envname("CTFLOW_DATABASE_URL");
  if (url_required) u->required();
  cmd->add_option("--port", f.port, "HTTP port (default 8080; 0 picks a free one)");
  cmd->add_option("--address", f.address, "HTTP address (default 127.0.0.1)");
  cmd->add_option("--max-parallel", f.max_parallel,
                  "tasks running at once on this server (default 16)");
  cmd->add_option("--db-connect-attempts", f.db_connect_attempts,
                  "attempts 500 ms apart before giving up (default 20)");
  cmd->add_option("--lease-ms", f.lease_ms,
                  "task lease, renewed every third of it (default 15000)");
  cmd->add_option("--sweep-ms", f.sweep_ms, "safety-net pass interval (default 5000)");
  cmd->add_option("--monitor-interval-ms", f.monitor_interval_ms,
                  "how often monitors check the prediction log (default 30000)")
      ->check(CLI::Range(100, 86'400'000));
  cmd->add_option("--cancel-grace-ms", f.cancel_grace_ms,
                  "SIGTERM to SIGKILL grace (default 5000)");
  cmd->add_flag(
      "--no-fast-path", f.no_fast_path,
      "no direct dispatch, early starts or armed chains: every pass finishes, readies and "
      "claims in one transaction (same outcome, slower; $CTFLOW_NO_FAST_PATH=1 too)");
  cmd->add_flag(
      "--fast-path", f.fast_path,
      "the fast path on even with $CTFLOW_NO_FAST_PATH=1 (tests of the fast path itself)");
  cmd->add_flag("--no-early-start", f.no_early_start,
                "start a finishing task's children only after their dispatch commits (default: "
                "while it commits)");
  cmd->add_option("--dispatch-ahead", f.dispatch_ahead,
                  "tasks dispatched beyond --max-parallel, waiting to start as running ones end "
                  "(default: as many as --max-parallel; 0: none)");
  cmd->add_option("--spare-folders", f.spare_folders,
                  "attempt folders made ahead while the machine is idle (default: 1024; 0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--task-log-limit-mib", f.task_log_limit_mib,
                  "task.log kept per local attempt, in MiB; past it the output is dropped and "
                  "one marker line ends the log (default 64; 0: no limit)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--arm-depth", f.arm_depth,
                  "chain steps below a running task that the supervisor may start by itself when "
                  "the one above succeeds (default 8, and 16 times as many in a run whose armed "
                  "steps start so; 0: none)");
  cmd->add_option("--fired-wait-ms", f.fired_wait_ms,
                  "when the only news are chain steps the supervisor started by itself, how "
                  "long to let more end before recording them in one statement (default 6)");
  cmd->add_option("--crash-after-early-starts", f.crash_after_early_starts)->group("");  // tests
  cmd->add_option("--pass-delay-ms", f.pass_delay_ms)->group("");                        // tests
  cmd->add_flag("--ignore-models-notify", f.ignore_models_notify)->group("");            // tests
  cmd->add_option(
      "--body-limit", f.body_limit,
      "largest request body in bytes (default 9 MiB: a spec at its 8 MiB limit, as a JSON string)");
  // Test-only: the cron scheduler's clock is the ISO-8601 instant in this file (clock.hpp).
  cmd->add_option("--clock-file", f.clock_file)->group("");
  // Test-only: SIGKILL at the named crash point (common/crash_point.hpp).
  cmd->add_option("--crash-at", f.crash_at)->group("");
  cmd->add_option("--fail-at", f.fail_at)->group("");  // an injected serialization failure
  cmd->add_option("--read-timeout-ms", f.read_timeout_ms,
                  "close a connection whose request does not arrive within this (default 30000)");
  cmd->add_option("--gc-older-than", f.gc_older_than,
                  "delete runs finished longer ago than this (e.g. 90d) with their files, "
                  "events and unreferenced artifacts, every --gc-interval (default: off)")
      ->envname("CTFLOW_GC_OLDER_THAN");
  cmd->add_option("--gc-interval", f.gc_interval,
                  "how often --gc-older-than runs (default 1h; the first one after that long)");
  add_k8s_flags(cmd, f.k8s);
}

void add_client_flags(CLI::App* cmd, ClientFlags& c, bool output) {
  cmd->add_option("--url", c.url, "server URL (default $CTFLOW_URL or http://127.0.0.1:8080)");
  cmd->add_option("--token-file", c.token_file, "file holding the API token");
  if (output)
    cmd->add_option("-o,--output", c.output, "output format: json")->check(CLI::IsMember({"json"}));
}

}  // namespace

int main(int argc, char** argv) {
  // The supervisor is this binary re-executed; dispatch before anything else starts.
  // `__supervise FD [ROOT SPARES [LOG_LIMIT]]`
  if ((argc == 3 || argc == 5 || argc == 6) && std::strcmp(argv[1], "__supervise") == 0)
    return ctflow::exec::supervisor_main(
        std::atoi(argv[2]), argc >= 5 ? argv[3] : "",
        argc >= 5 ? std::strtoul(argv[4], nullptr, 10) : 0,
        argc == 6 ? std::strtoll(argv[5], nullptr, 10) : ctflow::exec::kDefaultLogLimit);

  CLI::App app{"ctflow: continuous-training orchestrator"};
  app.require_subcommand(1);
  ServerFlags sf;
  ClientFlags cf;

  auto* up = app.add_subcommand("up", "run the server with an embedded PostgreSQL");
  add_server_flags(up, sf, false);
  auto* server = app.add_subcommand("server", "run the server against a PostgreSQL database");
  add_server_flags(server, sf, true);
  auto* migrate = app.add_subcommand("migrate", "apply database migrations and exit");
  migrate->add_option("--database-url", sf.database_url, "PostgreSQL URL (default: embedded)");
  migrate->add_option("--data-dir", sf.data_dir, "data directory of the embedded database");

  std::string file, run_id, task;
  std::vector<std::string> params;
  bool wait = false, follow = false;
  auto* submit = app.add_subcommand("submit", "submit a pipeline run; prints the run id");
  submit->add_option("file", file, "pipeline spec (YAML or JSON)")->required();
  submit->add_option("-p,--param", params, "param NAME=VALUE (repeatable)");
  std::string logical_date;
  submit->add_option("--logical-date", logical_date,
                     "the run's logical date, ISO-8601 (default now; {{run.logical_date}})");
  submit->add_flag("--wait", wait,
                   "follow the run until it ends (exit 0 succeeded, 1 failed, 3 cancelled)");
  add_client_flags(submit, cf, true);

  std::optional<std::string> pipeline, state;
  int limit = 50;
  auto* runs = app.add_subcommand("runs", "list runs, newest first");
  runs->add_option("--pipeline", pipeline, "only this pipeline");
  runs->add_option("--state", state, "only this state");
  runs->add_option("--limit", limit, "how many (default 50)");
  add_client_flags(runs, cf, true);

  auto* run = app.add_subcommand("run", "show a run and its tasks");
  run->add_option("id", run_id, "run id")->required();
  add_client_flags(run, cf, true);

  auto* logs = app.add_subcommand("logs", "print a task's log");
  logs->add_option("run", run_id, "run id")->required();
  logs->add_option("task", task, "task name")->required();
  logs->add_flag("-f,--follow", follow, "follow until the task ends");
  add_client_flags(logs, cf, false);

  auto* cancel = app.add_subcommand("cancel", "cancel a run");
  cancel->add_option("run", run_id, "run id")->required();
  add_client_flags(cancel, cf, false);

  auto* wait_cmd = app.add_subcommand("wait", "follow a run until it ends");
  wait_cmd->add_option("run", run_id, "run id")->required();
  add_client_flags(wait_cmd, cf, false);

  std::string role, ttl, token_name, token_id;
  auto* token = app.add_subcommand("token", "API tokens (needs an admin token)");
  token->require_subcommand(1);
  auto* tcreate = token->add_subcommand("create", "create a token; prints it once");
  tcreate->add_option("--role", role, "viewer, operator or admin")
      ->required()
      ->check(CLI::IsMember({"viewer", "operator", "admin"}));
  tcreate->add_option("--ttl", ttl, "lifetime, e.g. 12h or 30d (default: no expiry)");
  tcreate->add_option("--name", token_name, "a label");
  add_client_flags(tcreate, cf, true);
  auto* tlist = token->add_subcommand("list", "list tokens (never their secrets)");
  add_client_flags(tlist, cf, true);
  auto* trevoke = token->add_subcommand("revoke", "revoke a token");
  trevoke->add_option("id", token_id, "token id")->required();
  add_client_flags(trevoke, cf, false);

  std::string gc_older_than;
  bool gc_dry_run = false;
  int gc_batch = 100;
  auto* gc = app.add_subcommand(
      "gc",
      "delete finished runs older than a cutoff, with their tasks, attempt folders, logs, "
      "events and metrics, and artifacts nothing references (needs an admin token)");
  gc->add_option("--older-than", gc_older_than, "e.g. 30d: runs finished longer ago than this")
      ->required();
  gc->add_flag("--dry-run", gc_dry_run, "count what would be deleted; change nothing");
  gc->add_option("--batch", gc_batch, "runs per transaction (default 100)");
  add_client_flags(gc, cf, true);

  auto* hpo = app.add_subcommand("hpo", "hyperparameter optimisation");
  hpo->require_subcommand(1);
  auto* ask =
      hpo->add_subcommand("ask", "one suggestion step: JSON request on stdin, JSON on stdout");

  auto* cron = app.add_subcommand("cron", "cron expressions");
  cron->require_subcommand(1);
  std::string expr, tz = "UTC";
  std::optional<std::string> from;
  int count = 5;
  auto* next = cron->add_subcommand("next", "print the next fire instants of EXPR (UTC, ISO-8601)");
  next->add_option("expr", expr, "cron expression, e.g. \"0 3 * * *\" or @daily")->required();
  next->add_option("--tz", tz, "IANA time zone (default UTC)");
  next->add_option("--from", from, "ISO-8601 instant to start after (default now)");
  next->add_option("-n", count, "how many (default 5)");

  auto* k8s = app.add_subcommand("k8s", "Kubernetes");
  k8s->require_subcommand(1);
  std::string k8s_spec, k8s_task;
  std::vector<std::string> k8s_params;
  K8sFlags k8s_flags;
  std::string k8s_data_dir = "/var/lib/ctflow";
  auto* k8s_job = k8s->add_subcommand(
      "job", "print the batch/v1 Job (YAML) that a task's first attempt would be created as");
  k8s_job->add_option("spec", k8s_spec, "pipeline spec file")->required();
  k8s_job->add_option("task", k8s_task, "task name")->required();
  k8s_job->add_option("-p,--param", k8s_params, "param NAME=VALUE (repeatable)");
  k8s_job->add_option("--data-dir", k8s_data_dir,
                      "the server's data directory, where Jobs mount the volume (default "
                      "/var/lib/ctflow)");
  add_k8s_flags(k8s_job, k8s_flags);

  auto schedule_verbs = add_schedule_verbs(app);
  auto model_verbs = add_model_verbs(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "error: " << e.what() << " (see ctflow --help)\n";
    return 2;
  }
  if (sf.data_dir.empty()) sf.data_dir = default_data_dir();
  if (*up) return cmd_server(sf, true);
  if (*server) return cmd_server(sf, false);
  if (*migrate) return cmd_migrate(sf);
  if (*k8s_job) return cmd_k8s_job(k8s_spec, k8s_task, k8s_params, k8s_flags, k8s_data_dir);
  if (*submit) return cmd_submit(cf, file, params, wait, logical_date);
  if (*runs) return cmd_runs(cf, pipeline, state, limit);
  if (*run) return cmd_run(cf, run_id);
  if (*logs) return cmd_logs(cf, run_id, task, follow);
  if (*cancel) return cmd_cancel(cf, run_id);
  if (*wait_cmd) return wait_for_run(cf, run_id);
  if (*tcreate) return cmd_token_create(cf, role, ttl, token_name);
  if (*tlist) return cmd_token_list(cf);
  if (*trevoke) return cmd_token_revoke(cf, token_id);
  if (*gc) return cmd_gc(cf, gc_older_than, gc_dry_run, gc_batch);
  if (auto rc = schedule_verbs()) return *rc;
  if (auto rc = model_verbs()) return *rc;
  if (*ask) return ctflow::hpo::hpo_ask_main(std::cin, std::cout, std::cerr);
  if (*next) return ctflow::cron::cron_next_main(expr, tz, from, count, std::cout, std::cerr);
  return 2;
}
