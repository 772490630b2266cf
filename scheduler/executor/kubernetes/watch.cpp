// KubernetesExecutor's watchers: list + watch of Jobs and Pods, the state of each attempt from
// its objects, log followers, and the ticker (kubernetes_executor.hpp).
#include <fstream>
#include <thread>

#include "scheduler/common/log.hpp"
#include "scheduler/executor/kubernetes/kubernetes_executor.hpp"

namespace ctflow::exec::k8s {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

const json::value* at(const json::object& o, std::initializer_list<const char*> path) {
  const json::value* v = nullptr;
  const json::object* cur = &o;
  for (const char* k : path) {
    if (!cur) return nullptr;
    v = cur->if_contains(k);
    if (!v) return nullptr;
    cur = v->if_object();
  }
  return v;
}

std::string str_at(const json::object& o, std::initializer_list<const char*> path) {
  const json::value* v = at(o, path);
  return v && v->is_string() ? std::string(v->get_string()) : "";
}

// The Job condition of `type` whose status is "True", or null.
const json::object* condition(const json::object& job, const char* type) {
  const json::value* c = at(job, {"status", "conditions"});
  if (!c || !c->is_array()) return nullptr;
  for (const auto& e : c->get_array()) {
    const json::object* o = e.if_object();
    if (o && str_at(*o, {"type"}) == type && str_at(*o, {"status"}) == "True") return o;
  }
  return nullptr;
}

// containerStatuses[0] of the pod ("task" is its only container).
const json::object* container_status(const json::object& pod) {
  const json::value* c = at(pod, {"status", "containerStatuses"});
  if (!c || !c->is_array() || c->get_array().empty()) return nullptr;
  return c->get_array()[0].if_object();
}

std::string clip(std::string s) {
  if (s.size() > 300) s = s.substr(0, 297) + "...";
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

bool KubernetesExecutor::relist(Kind kind, std::string& rv) {
  std::string path = (kind == Kind::Jobs ? jobs_path() : pods_path()) +
                     "?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dctflow";
  auto r = client_->call("GET", path);
  if (!r.ok()) {
    log::warn("k8s: listing {}: {}", kind == Kind::Jobs ? "jobs" : "pods", r.describe());
    return false;
  }
  boost::system::error_code ec;
  auto list = json::parse(r.body, ec);
  if (ec || !list.is_object()) return false;
  rv = str_at(list.as_object(), {"metadata", "resourceVersion"});
  std::set<std::string> seen;
  if (const json::value* items = list.as_object().if_contains("items"); items && items->is_array())
    for (const auto& it : items->get_array())
      if (const json::object* o = it.if_object()) {
        seen.insert(str_at(*o, {"metadata", "name"}));
        on_event(kind, "MODIFIED", *o);
      }
  if (kind == Kind::Jobs) {  // a Job we saw that is gone now was deleted while we looked away
    std::vector<json::object> gone;
    {
      MutexLock g(mu_);
      for (auto& [key, a] : attempts_)
        if (a.have_job && !a.done && !seen.count(a.job)) gone.push_back(a.job_obj);
    }
    for (const auto& o : gone) on_event(kind, "DELETED", o);
  }
  return true;
}

void KubernetesExecutor::watch_loop(Kind kind) {
  std::string base = kind == Kind::Jobs ? jobs_path() : pods_path();
  auto backoff = std::chrono::milliseconds(200);
  while (!stopping_) {
    std::string rv;
    if (!relist(kind, rv)) {
      for (int i = 0; i < backoff.count() / 50 && !stopping_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(200);
    std::string pending;
    bool gone = false;
    auto on_data = [&](std::string_view data) {
      pending.append(data);
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (line.empty()) continue;
        boost::system::error_code ec;
        auto ev = json::parse(line, ec);
        if (ec || !ev.is_object()) continue;
        std::string type = str_at(ev.as_object(), {"type"});
        const json::value* obj = ev.as_object().if_contains("object");
        if (!obj || !obj->is_object()) continue;
        if (type == "ERROR") {  // 410 Expired (too old a resourceVersion) or another error
          gone = true;
          return false;
        }
        std::string v = str_at(obj->as_object(), {"metadata", "resourceVersion"});
        if (!v.empty()) rv = v;
        if (type != "BOOKMARK") on_event(kind, type, obj->as_object());
      }
      return !stopping_.load();
    };
    auto r = client_->stream(base +
                                 "?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dctflow&watch=1"
                                 "&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=" +
                                 rv,
                             on_data, std::chrono::seconds(330));
    if (stopping_) return;
    if (gone || r.status == 410)
      log::info("k8s: {} watch expired (410): listing again", kind == Kind::Jobs ? "jobs" : "pods");
    else if (!r.ok())
      log::warn("k8s: watching {}: {}", kind == Kind::Jobs ? "jobs" : "pods", r.describe());
    // Every end of a watch (410, an error, a dropped stream, the timeout) lists again: the
    // state is derived from the objects, so nothing is lost or repeated.
  }
}

void KubernetesExecutor::on_event(Kind kind, const std::string& type, const json::object& obj) {
  MutexLock g(mu_);
  std::string job_name = kind == Kind::Jobs ? str_at(obj, {"metadata", "name"})
                                            : str_at(obj, {"metadata", "labels", "job-name"});
  if (job_name.empty())
    job_name = str_at(obj, {"metadata", "labels", "batch.kubernetes.io/job-name"});
  auto k = by_job_.find(job_name);
  if (k == by_job_.end()) return;  // another replica's, or long done
  auto it = attempts_.find(k->second);
  if (it == attempts_.end() || it->second.done) return;
  Attempt& a = it->second;
  if (kind == Kind::Jobs) {
    if (type == "DELETED") {
      ExecEvent ev;
      ev.key = a.key;
      ev.at = now_utc();
      if (a.cancelled) {
        ev.signal = 15;
      } else {
        ev.failure = Failure::Lost;
        ev.error = "lost: its Job " + a.job + " was deleted";
      }
      conclude(a, std::move(ev));
      return;
    }
    a.job_obj = obj;
    a.have_job = true;
  } else {
    if (type == "DELETED") return;  // the Job tells the end
    a.pod = obj;
    a.pod_name = str_at(obj, {"metadata", "name"});
  }
  evaluate(a);
}

void KubernetesExecutor::evaluate(Attempt& a) {
  if (a.done || a.outcome) return;
  const json::object* cs = a.pod.empty() ? nullptr : container_status(a.pod);
  std::string phase = a.pod.empty() ? "" : str_at(a.pod, {"status", "phase"});
  const json::value* terminated = cs ? at(*cs, {"state", "terminated"}) : nullptr;
  const json::value* running = cs ? at(*cs, {"state", "running"}) : nullptr;
  bool ran = running || terminated;
  if (ran && !a.started_sent) {
    a.started_sent = true;
    ExecEvent ev;
    ev.kind = ExecEvent::Kind::Started;
    ev.key = a.key;
    ev.at = now_utc();
    events_.push_back(std::move(ev));
    if (wake_) wake_(Wake::Started);
  }
  if (ran && !a.log_running && !a.log_done && !a.pod_name.empty()) {
    a.log_running = true;
    log_threads_.emplace_back(
        [this, key = a.key, pod = a.pod_name, dir = a.dir] { follow_log(key, pod, dir); });
  }
  ExecEvent ev;
  ev.key = a.key;
  ev.at = now_utc();
  // Waiting: an image that cannot be pulled, or a container that cannot be configured (a
  // missing Secret), is given the grace period, then the attempt fails and its Job goes.
  std::string waiting = cs ? str_at(*cs, {"state", "waiting", "reason"}) : "";
  if (waiting == "ErrImagePull" || waiting == "ImagePullBackOff" || waiting == "InvalidImageName" ||
      waiting == "CreateContainerConfigError") {
    auto now = Clock::now();
    if (!a.waiting_since) a.waiting_since = now;
    if (now - *a.waiting_since < opt_.image_pull_grace) return;
    std::string msg = clip(str_at(*cs, {"state", "waiting", "message"}));
    bool image = waiting != "CreateContainerConfigError";
    ev.failure = image ? Failure::ImagePull : Failure::SpawnFailed;
    ev.error = (image ? "image pull failed (" : "container config error (") + waiting + ")" +
               (msg.empty() ? "" : ": " + msg);
    work_.push_back({false, a.key, a.job, ""});
    work_cv_.notify_one();
    return conclude(a, std::move(ev));
  }
  a.waiting_since.reset();
  if (phase == "Failed" && str_at(a.pod, {"status", "reason"}) == "Evicted") {
    ev.failure = Failure::Evicted;
    ev.error = "evicted: " + clip(str_at(a.pod, {"status", "message"}));
    return conclude(a, std::move(ev));
  }
  const json::object* complete = a.have_job ? condition(a.job_obj, "Complete") : nullptr;
  const json::object* failed = a.have_job ? condition(a.job_obj, "Failed") : nullptr;
  if (!complete) complete = a.have_job ? condition(a.job_obj, "SuccessCriteriaMet") : nullptr;
  if (failed && str_at(*failed, {"reason"}) == "DeadlineExceeded") {
    ev.failure = Failure::DeadlineExceeded;
    ev.error = "deadline exceeded: the Job ran past its activeDeadlineSeconds";
    return conclude(a, std::move(ev));
  }
  if (terminated && terminated->is_object()) {
    const json::object& t = terminated->get_object();
    const json::value* code = t.if_contains("exitCode");
    if (code && code->is_number()) ev.exit_code = static_cast<int>(code->to_number<int64_t>());
    if (str_at(t, {"reason"}) == "OOMKilled") {
      ev.failure = Failure::OomKilled;
      ev.error = "OOMKilled: the container exceeded its memory limit";
      return conclude(a, std::move(ev));
    }
    if (complete || failed || phase == "Succeeded" || phase == "Failed")
      return conclude(a, std::move(ev));
    return;
  }
  if (complete) {
    ev.exit_code = 0;
    return conclude(a, std::move(ev));
  }
  if (failed) {
    ev.failure = Failure::SpawnFailed;
    ev.error = "the Job failed (" + str_at(*failed, {"reason"}) +
               "): " + clip(str_at(*failed, {"message"}));
    return conclude(a, std::move(ev));
  }
}

// The outcome is known: queue it once the pod's log is in task.log (or at once when no log
// follower runs; the ticker gives a follower 10 s).
void KubernetesExecutor::conclude(Attempt& a, ExecEvent ev) {
  if (a.done) return;
  a.outcome = std::move(ev);
  a.ended_at = Clock::now();
  if (a.log_running && !a.log_done) return;
  release(a);
}

void KubernetesExecutor::release(Attempt& a) {
  a.done = true;
  if (a.outcome) {
    events_.push_back(std::move(*a.outcome));
    a.outcome.reset();
    if (wake_) wake_(Wake::Exited);
  }
  by_job_.erase(a.job);
  // The Attempt stays (done) until the ticker sweeps it, so late events find it finished.
}

void KubernetesExecutor::follow_log(std::string key, std::string pod, std::string dir) {
  std::string path = "/api/v1/namespaces/" + opt_.job.namespace_ + "/pods/" + pod +
                     "/log?follow=true&container=task";
  for (int tries = 0; tries < 5 && !stopping_; ++tries) {
    std::ofstream out(dir + "/task.log", std::ios::binary | std::ios::trunc);
    auto r = client_->stream(
        path,
        [&](std::string_view data) {
          out.write(data.data(), static_cast<std::streamsize>(data.size()));
          out.flush();
          return !stopping_.load();
        },
        std::chrono::hours(24));
    if (r.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  MutexLock g(mu_);
  auto it = attempts_.find(key);
  if (it == attempts_.end()) return;
  it->second.log_done = true;
  it->second.log_running = false;
  if (it->second.outcome && !it->second.done) release(it->second);
}

void KubernetesExecutor::ticker_loop() {
  while (!stopping_) {
    std::this_thread::sleep_for(opt_.tick);
    MutexLock g(mu_);
    auto now = Clock::now();
    for (auto it = attempts_.begin(); it != attempts_.end();) {
      Attempt& a = it->second;
      if (!a.done) evaluate(a);
      if (!a.done && a.outcome && a.ended_at && now - *a.ended_at > std::chrono::seconds(10))
        release(a);  // its log follower is stuck: the outcome matters more
      if (a.done && !a.log_running) {
        it = attempts_.erase(it);
        continue;
      }
      ++it;
    }
  }
}

}  // namespace ctflow::exec::k8s
