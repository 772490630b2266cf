// Router: attempts to the executor their placement names (router.hpp).
#include "scheduler/executor/router.hpp"

#include <sys/stat.h>

#include "scheduler/common/time_util.hpp"

namespace ctflow::exec {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Router::Router(Executor& local, Factory make_k8s)
    : local_(local), accel_(local.chain_acceleration()), make_k8s_(std::move(make_k8s)) {}

Executor* Router::k8s() {
  if (k8s_ || !k8s_error_.empty()) return k8s_.get();
  auto made = make_k8s_ ? make_k8s_()
                        : Result<std::unique_ptr<Executor>>(
                              Error{"kubernetes: this server has no cluster configured"});
  if (!made) {
    k8s_error_ = made.error();
    return nullptr;
  }
  k8s_ = std::move(*made);
  if (wake_) k8s_->set_wakeup(wake_);
  k8s_ready_ = k8s_.get();
  return k8s_.get();
}

std::string Router::attempt_dir(const std::string& key) const {
  return local_.attempt_dir(key);
}
std::string Router::ref_prefix() const {
  return local_.ref_prefix();
}

bool Router::remote(const std::string& key) {
  MutexLock g(mu_);
  return remote_.count(key) > 0;
}

void Router::start(const SpawnRequest& req) {
  if (req.placement.local()) return local_.start(req);
  Executor* k8s_exec = k8s();
  if (!k8s_exec) {
    ExecEvent ev;
    ev.key = req.key;
    ev.failure = Failure::Config;
    ev.error = k8s_error_;
    ev.at = now_utc();
    {
      MutexLock g(mu_);
      own_.push_back(std::move(ev));
    }
    if (wake_) wake_(Wake::Exited);
    return;
  }
  {
    MutexLock g(mu_);
    remote_.insert(req.key);
  }
  k8s_exec->start(req);
}

void Router::cancel(const std::string& key, std::chrono::milliseconds grace) {
  if (remote(key)) return k8s_->cancel(key, grace);
  local_.cancel(key, grace);
}

AdoptState Router::adopt(const std::string& ref) {
  std::string dir = attempt_dir_of_ref(ref);
  // The Kubernetes executor writes job.json into the folder before it creates the Job.
  if (!dir.empty() && exists(dir + "/job.json")) {
    Executor* k8s_exec = k8s();
    if (!k8s_exec) return AdoptState::Lost;
    {
      MutexLock g(mu_);
      remote_.insert(attempt_key_of_dir(dir));
    }
    return k8s_exec->adopt(ref);
  }
  return local_.adopt(ref);
}

std::string Router::code_digest(const std::string& program, const std::string& search_path,
                                const Placement& where) {
  if (where.local()) return local_.code_digest(program, search_path, where);
  Executor* k8s_exec = k8s();
  return k8s_exec ? k8s_exec->code_digest(program, search_path, where) : "none";
}

std::vector<ExecEvent> Router::drain() {
  std::vector<ExecEvent> out = local_.drain();
  if (Executor* k8s_exec = k8s_ready_.load()) {
    auto more = k8s_exec->drain();
    MutexLock g(mu_);
    for (auto& e : more) {
      if (e.kind == ExecEvent::Kind::Exited) remote_.erase(e.key);
      out.push_back(std::move(e));
    }
  }
  MutexLock g(mu_);
  for (auto& e : own_) out.push_back(std::move(e));
  own_.clear();
  return out;
}

void Router::set_wakeup(std::function<void(Wake)> fn) {
  wake_ = fn;
  local_.set_wakeup(fn);
  if (Executor* k8s_exec = k8s_ready_.load()) k8s_exec->set_wakeup(fn);
}

void Router::shutdown() {
  if (Executor* k8s_exec = k8s_ready_.load()) k8s_exec->shutdown();
  local_.shutdown();
}

bool Router::note_early_start(const std::string& parent_key, const std::string& child_key) {
  return accel_->note_early_start(parent_key, child_key);  // the engine asks for local ones only
}
void Router::prepare(const std::vector<std::string>& keys) {
  accel_->prepare(keys);
}
bool Router::arm(const std::string& parent_key, const SpawnRequest& child) {
  if (!child.placement.local()) return false;  // a Job is created after its dispatch commits
  return accel_->arm(parent_key, child);
}
void Router::disarm(const std::string& parent_key) {
  accel_->disarm(parent_key);
}
void Router::limit(int n) {
  accel_->limit(n);
}

}  // namespace ctflow::exec
