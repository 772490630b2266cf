// KubernetesExecutor: starting, adopting and cancelling Jobs; outcomes from their objects
// (kubernetes_executor.hpp). The watchers are in watch.cpp.
#include "scheduler/executor/kubernetes/kubernetes_executor.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/log.hpp"

namespace ctflow::exec::k8s {
namespace {

namespace json = boost::json;

bool write_file(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << content;
    if (!out) return false;
  }
  return ::rename(tmp.c_str(), path.c_str()) == 0;
}

// O_EXCL: true when this call made the claim.
bool create_claim(const std::string& dir) {
  int fd = ::open((dir + "/claim").c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

Failure failure_of_status(int status) {
  return status == 401 || status == 403 ? Failure::Config : Failure::SpawnFailed;
}

}  // namespace

KubernetesExecutor::KubernetesExecutor(std::shared_ptr<KubeClient> client, K8sOptions opt)
    : client_(std::move(client)), opt_(std::move(opt)) {
  threads_.emplace_back([this] { worker_loop(); });
  threads_.emplace_back([this] { watch_loop(Kind::Jobs); });
  threads_.emplace_back([this] { watch_loop(Kind::Pods); });
  threads_.emplace_back([this] { ticker_loop(); });
}

KubernetesExecutor::~KubernetesExecutor() {
  shutdown();
}

std::string KubernetesExecutor::jobs_path() const {
  return "/apis/batch/v1/namespaces/" + opt_.job.namespace_ + "/jobs";
}
std::string KubernetesExecutor::pods_path() const {
  return "/api/v1/namespaces/" + opt_.job.namespace_ + "/pods";
}

void KubernetesExecutor::set_wakeup(std::function<void(Wake)> fn) {
  wake_ = std::move(fn);
}

void KubernetesExecutor::push(ExecEvent ev) {
  Wake what = ev.kind == ExecEvent::Kind::Started ? Wake::Started : Wake::Exited;
  {
    MutexLock g(mu_);
    events_.push_back(std::move(ev));
  }
  if (wake_) wake_(what);
}

std::vector<ExecEvent> KubernetesExecutor::drain() {
  MutexLock g(mu_);
  std::vector<ExecEvent> out;
  out.swap(events_);
  return out;
}

void KubernetesExecutor::fail_now(const std::string& key, Failure f, const std::string& error) {
  ExecEvent ev;
  ev.key = key;
  ev.failure = f;
  ev.error = error;
  ev.at = now_utc();
  {
    MutexLock g(mu_);
    if (auto it = attempts_.find(key); it != attempts_.end()) {
      if (it->second.done) return;
      it->second.done = true;
      release(it->second);
    }
  }
  push(std::move(ev));
}

void KubernetesExecutor::enqueue(Work w) {
  MutexLock g(mu_);
  work_.push_back(std::move(w));
  work_cv_.notify_one();
}

void KubernetesExecutor::start(const SpawnRequest& req) {
  std::string dir = attempt_dir(req.key);
  auto job = build_job(req, opt_.job, dir);
  if (!job) return fail_now(req.key, Failure::SpawnFailed, job.error());
  ::mkdir(dir.c_str(), 0755);
  ::mkdir((dir + "/work").c_str(), 0777);
  ::chmod((dir + "/work").c_str(), 0777);  // the pod may run as another user
  for (const auto& [name, content] : req.files)
    if (!write_file(dir + "/" + name, content))
      return fail_now(req.key, Failure::SpawnFailed, "cannot write " + dir + "/" + name);
  std::string body = json::serialize(*job);
  if (!write_file(dir + "/job.json", body))
    return fail_now(req.key, Failure::SpawnFailed, "cannot write " + dir + "/job.json");
  if (!create_claim(dir))
    return fail_now(req.key, Failure::Fenced, "attempt was fenced by an adopter");
  std::string name = std::string(job->at("metadata").at("name").as_string());
  {
    MutexLock g(mu_);
    Attempt& a = attempts_[req.key];
    a.key = req.key;
    a.job = name;
    a.dir = dir;
    by_job_[name] = req.key;
  }
  enqueue({true, req.key, name, std::move(body)});
}

void KubernetesExecutor::cancel(const std::string& key, std::chrono::milliseconds) {
  std::string job;
  {
    MutexLock g(mu_);
    auto it = attempts_.find(key);
    if (it == attempts_.end() || it->second.done) return;
    it->second.cancelled = true;
    job = it->second.job;
  }
  enqueue({false, key, job, ""});
}

AdoptState KubernetesExecutor::adopt(const std::string& ref) {
  std::string dir = attempt_dir_of_ref(ref);
  std::string key = attempt_key_of_dir(dir);
  auto text = read_file(dir + "/job.json", 1 << 20);
  if (dir.empty() || !text) return AdoptState::Lost;
  boost::system::error_code ec;
  auto job = json::parse(*text, ec);
  if (ec || !job.is_object()) return AdoptState::Lost;
  // Its starter wrote job.json but never claimed the folder: now it never will.
  if (create_claim(dir)) return AdoptState::NotStarted;
  std::string name = std::string(job.at("metadata").at("name").as_string());
  {
    MutexLock g(mu_);
    Attempt& a = attempts_[key];
    a.key = key;
    a.job = name;
    a.dir = dir;
    by_job_[name] = key;
  }
  // Create it by its name: 201 when its starter died before creating it, 409 when it exists.
  auto r = client_->call("POST", jobs_path(), *text);
  if (r.status == 201 || r.status == 200) {
    log::info("k8s: adopted {}: created Job {} (its starter died before creating it)", key, name);
    return AdoptState::Running;
  }
  if (r.status == 409) {
    auto got = client_->call("GET", jobs_path() + "/" + name);
    if (got.ok()) {
      auto obj = json::parse(got.body, ec);
      if (!ec && obj.is_object()) on_event(Kind::Jobs, "MODIFIED", obj.as_object());
      MutexLock g(mu_);
      auto it = attempts_.find(key);
      log::info("k8s: adopted {}: Job {} exists", key, name);
      return it == attempts_.end() || it->second.done ? AdoptState::Finished : AdoptState::Running;
    }
  }
  log::warn("k8s: cannot adopt {} (Job {}): {}", key, name, r.describe());
  {
    MutexLock g(mu_);
    if (auto it = attempts_.find(key); it != attempts_.end()) {
      it->second.done = true;
      release(it->second);
    }
  }
  return AdoptState::Lost;
}

std::string KubernetesExecutor::code_digest(const std::string&, const std::string&,
                                            const Placement& where) {
  std::string image = where.k8s.image.empty() ? opt_.job.default_image : where.k8s.image;
  if (auto at = image.find("@sha256:"); at != std::string::npos) return image.substr(at + 1);
  return "image-tag:" + image;  // not pinned: the cache reason says so (plan.cpp)
}

void KubernetesExecutor::worker_loop() {
  for (;;) {
    Work w;
    {
      MutexLock g(mu_);
      while (work_.empty() && !stopping_) work_cv_.wait(mu_);
      if (stopping_) return;
      w = std::move(work_.front());
      work_.pop_front();
    }
    if (w.create) {
      auto r = client_->call("POST", jobs_path(), w.body);
      if (r.status == 409) {
        log::info("k8s: Job {} exists: adopted, not created again", w.job);
      } else if (!r.ok()) {
        fail_now(w.key, failure_of_status(r.status),
                 "kubernetes: creating Job " + w.job + ": " + r.describe());
      }
      continue;
    }
    auto r = client_->call(
        "DELETE", jobs_path() + "/" + w.job,
        R"({"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"})");
    if (!r.ok() && r.status != 404) log::warn("k8s: deleting Job {}: {}", w.job, r.describe());
    // 404: already gone; the watch reports the deletion (or did).
    if (r.status == 404) {
      ExecEvent ev;
      ev.key = w.key;
      ev.signal = 15;
      ev.error = "";
      ev.at = now_utc();
      MutexLock g(mu_);
      auto it = attempts_.find(w.key);
      if (it != attempts_.end() && !it->second.done && it->second.cancelled)
        conclude(it->second, std::move(ev));
    }
  }
}

void KubernetesExecutor::shutdown() {
  if (stopping_.exchange(true)) return;
  client_->stop();
  {
    MutexLock g(mu_);
    work_cv_.notify_all();
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  std::list<std::thread> logs;
  {
    MutexLock g(mu_);
    logs.swap(log_threads_);
  }
  for (auto& t : logs)
    if (t.joinable()) t.join();
}

}  // namespace ctflow::exec::k8s
