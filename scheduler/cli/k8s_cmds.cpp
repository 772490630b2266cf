// The Kubernetes side of the CLI: the server's executor factory (--k8s-* flags) and
// `ctflow k8s job SPEC TASK`, which prints the batch/v1 Job a task's first attempt would get.
#include <fmt/format.h>

#include <cstring>
#include <iostream>

#include "scheduler/cli/commands.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/time_util.hpp"
#include "scheduler/executor/kubernetes/kubernetes_executor.hpp"
#include "scheduler/spec/params.hpp"
#include "scheduler/spec/parse.hpp"
#include "scheduler/spec/template.hpp"

namespace ctflow::cli {
namespace {

namespace json = boost::json;

exec::k8s::JobSettings job_settings(const K8sFlags& k, const std::string& data_dir,
                                    const std::string& ns) {
  exec::k8s::JobSettings s;
  s.namespace_ = ns;
  s.default_image = k.image;
  s.volume = k.volume;
  s.service_account = k.service_account;
  s.data_dir = data_dir;
  return s;
}

}  // namespace

std::optional<std::string> check_k8s_flags(const K8sFlags& k) {
  if (!k.volume.empty())
    if (auto why = exec::k8s::check_volume(k.volume)) return "--k8s-volume: " + *why;
  if (k.image_pull_grace_ms < 0) return "--k8s-image-pull-grace-ms: must be >= 0";
  return std::nullopt;
}

exec::Router::Factory k8s_factory(const K8sFlags& k, const std::string& data_dir,
                                  exec::Executor& local) {
  return [k, data_dir, &local]() -> Result<std::unique_ptr<exec::Executor>> {
    auto config = exec::k8s::resolve_config(k.kubeconfig);
    if (!config) return Error{"kubernetes: " + config.error()};
    exec::k8s::K8sOptions opt;
    opt.job = job_settings(k, data_dir, k.namespace_.empty() ? config->namespace_ : k.namespace_);
    opt.image_pull_grace = std::chrono::milliseconds(k.image_pull_grace_ms);
    opt.attempt_dir = [&local](const std::string& key) { return local.attempt_dir(key); };
    opt.ref_prefix = local.ref_prefix();
    auto client = std::make_shared<exec::k8s::KubeClient>(std::move(*config));
    return std::unique_ptr<exec::Executor>(
        std::make_unique<exec::k8s::KubernetesExecutor>(std::move(client), std::move(opt)));
  };
}

int cmd_k8s_job(const std::string& file, const std::string& task_name,
                const std::vector<std::string>& params, const K8sFlags& k,
                const std::string& data_dir) {
  if (auto why = check_k8s_flags(k)) {
    std::cerr << "error: " << *why << "\n";
    return 2;
  }
  bool too_big = false;
  auto text = read_file(file, spec::kMaxSpecBytes, &too_big);
  if (!text) {
    std::cerr << "error: " << file << ": "
              << (too_big
                      ? "over the limit of " + std::to_string(spec::kMaxSpecBytes >> 20) + " MiB"
                      : std::string("cannot read: ") + std::strerror(errno))
              << "\n";
    return 2;
  }
  auto parsed = spec::parse_pipeline(*text);
  if (!parsed.pipeline) {
    for (const auto& e : parsed.errors) std::cerr << "error: " << file << ": " << e << "\n";
    return 2;
  }
  const spec::Pipeline& p = *parsed.pipeline;
  const spec::Task* t = p.task(task_name);
  if (!t) {
    std::cerr << "error: " << file << ": no task \"" << task_name << "\" in pipeline " << p.name
              << "\n";
    return 2;
  }
  if (t->executor != "kubernetes") {
    std::cerr << "error: " << file << ": task \"" << task_name
              << "\" runs with executor local (set executor: kubernetes on it or in defaults)\n";
    return 2;
  }
  std::map<std::string, std::string> given;
  for (const auto& kv : params) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "error: -p " << kv << ": expected NAME=VALUE\n";
      return 2;
    }
    given[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto resolved = spec::resolve_params(p, given, {});
  if (!resolved) {
    std::cerr << "error: " << resolved.error() << "\n";
    return 2;
  }
  spec::TemplateContext ctx;
  ctx.params = *resolved;
  std::string now = format_iso8601(now_utc());
  ctx.run = {"0", now, now, now};
  const std::vector<std::string>& run = t->hpo ? t->hpo->trial_run : t->run;
  std::vector<std::string> notes;
  auto argv = spec::render_all(run, ctx);
  exec::SpawnRequest req;
  req.key = "0-1";
  if (argv) {
    req.argv = *argv;
  } else {  // upstream outputs or trial values exist only in a run
    req.argv = run;
    notes.push_back("run: templates left as written (" + argv.error() + ")");
  }
  std::string dir = data_dir + "/attempts/" + req.key;
  req.env = {"CTFLOW_RUN_ID=0",
             "CTFLOW_TASK=" + t->name,
             "CTFLOW_ARTIFACTS=" + data_dir + "/artifacts",
             "CTFLOW_ATTEMPT=1",
             "CTFLOW_INPUTS=" + dir + "/inputs.json",
             "CTFLOW_OUTPUTS=" + dir + "/outputs.json",
             "CTFLOW_METRICS=" + dir + "/metrics.jsonl"};
  for (const auto& e : t->env) {
    if (!e.secret.empty()) {
      req.placement.secrets.emplace_back(e.name, e.secret);
      continue;
    }
    auto v = spec::render(e.value, ctx);
    req.env.push_back(e.name + "=" + (v ? *v : e.value));
  }
  req.placement.executor = t->executor;
  req.placement.k8s = t->k8s;
  req.placement.pipeline = p.name;
  req.placement.task = t->name;
  req.placement.run_id = 0;
  req.placement.attempt = 1;
  req.placement.timeout = t->timeout;
  auto job = exec::k8s::build_job(
      req, job_settings(k, data_dir, k.namespace_.empty() ? "default" : k.namespace_), dir);
  if (!job) {
    std::cerr << "error: " << file << ": tasks." << task_name << "." << job.error() << "\n";
    return 2;
  }
  std::cout << "# The batch/v1 Job of task " << t->name << "'s first attempt (run and task run ids "
            << "are given at submission; shown as 0).\n";
  for (const auto& n : notes) std::cout << "# " << n << "\n";
  std::cout << exec::k8s::to_yaml(*job);
  return 0;
}

}  // namespace ctflow::cli
