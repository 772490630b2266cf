#pragma once
// KubernetesExecutor: each task attempt is a batch/v1 Job (job_builder.hpp) in one namespace.
//
// Start: the attempt's folder (on the volume the pods mount at the same path) gets the task
// contract's files and job.json, the Job as it will be created; then the folder's claim file is
// made (O_EXCL: the same fence the local executor uses, so an adopter that claimed first wins and
// the Job is never created), and the Job is POSTed by a worker thread. Creating is the fence for
// running twice: the Job's name is derived from the attempt, and 409 AlreadyExists means it
// exists and is adopted, never created again.
//
// Watching: two threads list, then watch from the list's resourceVersion, the Jobs and the Pods
// labelled app.kubernetes.io/managed-by=ctflow; a 410 Gone, an ERROR event or a dropped stream
// makes them list again. Transitions are derived from the objects' state (each attempt ends
// once), so a repeated or replayed event changes nothing. A ticker applies the image-pull grace
// (no event comes while a pod waits in ImagePullBackOff) and finishes attempts whose log did not
// end.
//
// Outcomes: Job Complete -> exit 0; the container's terminated exit code; OOMKilled, image pull
// (after --k8s-image-pull-grace-ms, then the Job is deleted), DeadlineExceeded, Evicted; a Job
// deleted under us is lost (or cancelled when we deleted it). The Exited event is queued after
// the pod's log (pods/{pod}/log?follow=true) has been written to the folder's task.log.
//
// Cancel deletes the Job with propagationPolicy Background. Threads: the engine's (start,
// cancel, adopt, code_digest), a worker, two watchers, a ticker and one log follower per
// running attempt; shutdown() stops and joins them all.
#include <atomic>
#include <boost/json.hpp>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <thread>

#include "scheduler/common/mutex.hpp"
#include "scheduler/executor/executor.hpp"
#include "scheduler/executor/kubernetes/job_builder.hpp"
#include "scheduler/executor/kubernetes/kube_client.hpp"

namespace ctflow::exec::k8s {

struct K8sOptions {
  JobSettings job;
  std::chrono::milliseconds image_pull_grace{60'000};
  std::chrono::milliseconds tick{500};
  std::function<std::string(const std::string&)> attempt_dir;  // key -> folder (shared volume)
  std::string ref_prefix;                                      // the local executor's
};

class KubernetesExecutor : public Executor {
 public:
  KubernetesExecutor(std::shared_ptr<KubeClient> client, K8sOptions opt);
  ~KubernetesExecutor() override;

  std::string attempt_dir(const std::string& key) const override { return opt_.attempt_dir(key); }
  std::string ref_prefix() const override { return opt_.ref_prefix; }
  void start(const SpawnRequest& req) override;
  void cancel(const std::string& key, std::chrono::milliseconds grace) override;
  AdoptState adopt(const std::string& executor_ref) override;
  std::string code_digest(const std::string& program, const std::string& search_path,
                          const Placement& where) override;
  std::vector<ExecEvent> drain() override;
  void set_wakeup(std::function<void(Wake)> fn) override;
  void shutdown() override;

 private:
  struct Attempt {
    std::string key, job, dir;
    boost::json::object job_obj, pod;
    std::string pod_name;
    bool have_job = false, started_sent = false, done = false, cancelled = false;
    bool log_running = false, log_done = false;
    std::optional<std::chrono::steady_clock::time_point>
        waiting_since;  // a pod waiting on its image or config
    std::optional<std::chrono::steady_clock::time_point>
        ended_at;  // outcome known, log not yet complete
    std::optional<ExecEvent> outcome;
  };
  struct Work {
    bool create = true;  // else delete
    std::string key, job, body;
  };
  enum class Kind { Jobs, Pods };

  std::string jobs_path() const;
  std::string pods_path() const;
  void worker_loop();
  void watch_loop(Kind kind);
  void ticker_loop();
  bool relist(Kind kind, std::string& rv);
  void on_event(Kind kind, const std::string& type, const boost::json::object& obj);
  void evaluate(Attempt& a) REQUIRES(mu_);
  void conclude(Attempt& a, ExecEvent ev) REQUIRES(mu_);
  void release(Attempt& a) REQUIRES(mu_);
  void follow_log(std::string key, std::string pod, std::string dir);
  void fail_now(const std::string& key, Failure f, const std::string& error);
  void push(ExecEvent ev);
  void enqueue(Work w);

  std::shared_ptr<KubeClient> client_;
  const K8sOptions opt_;
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  CondVar work_cv_;
  std::map<std::string, Attempt> attempts_ GUARDED_BY(mu_);    // by key
  std::map<std::string, std::string> by_job_ GUARDED_BY(mu_);  // job name -> key
  std::deque<Work> work_ GUARDED_BY(mu_);
  std::vector<ExecEvent> events_ GUARDED_BY(mu_);
  std::list<std::thread> log_threads_ GUARDED_BY(mu_);
  std::function<void(Wake)> wake_;
  std::vector<std::thread> threads_;
};

}  // namespace ctflow::exec::k8s
