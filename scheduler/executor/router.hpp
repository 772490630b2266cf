#pragma once
// Router: the one Executor the engine sees when tasks may run in more than one place. Each
// attempt goes where its SpawnRequest::placement says (the local executor, or Kubernetes); its
// events, cancels and adoption follow it there. The attempt folders are one tree for both (on a
// volume the pods mount at the same path), so attempt_dir, ref_prefix and logs are the local
// executor's. Adoption tells a Kubernetes attempt by the Job manifest its executor wrote into the
// folder before creating the Job (kubernetes/kubernetes_executor.hpp).
//
// Chain acceleration is offered for local attempts only: arming or noting an early start of an
// attempt placed elsewhere is refused, so the engine dispatches it after its commit.
#include <atomic>
#include <memory>
#include <set>

#include "scheduler/common/mutex.hpp"
#include "scheduler/common/result.hpp"
#include "scheduler/executor/executor.hpp"

namespace ctflow::exec {

class Router : public Executor, private ChainAcceleration {
 public:
  // Makes the Kubernetes executor when the first attempt placed there comes (so a server whose
  // tasks all run locally never talks to a cluster); its error is every such attempt's error.
  using Factory = std::function<Result<std::unique_ptr<Executor>>()>;
  Router(Executor& local, Factory make_k8s);

  std::string attempt_dir(const std::string& key) const override;
  std::string ref_prefix() const override;
  void start(const SpawnRequest& req) override;
  void cancel(const std::string& key, std::chrono::milliseconds grace) override;
  AdoptState adopt(const std::string& executor_ref) override;
  std::string code_digest(const std::string& program, const std::string& search_path,
                          const Placement& where) override;
  ChainAcceleration* chain_acceleration() override { return accel_ ? this : nullptr; }
  std::vector<ExecEvent> drain() override;
  void set_wakeup(std::function<void(Wake)> fn) override;
  void shutdown() override;

 private:
  bool note_early_start(const std::string& parent_key, const std::string& child_key) override;
  void prepare(const std::vector<std::string>& keys) override;
  bool arm(const std::string& parent_key, const SpawnRequest& child) override;
  void disarm(const std::string& parent_key) override;
  void limit(int n) override;
  bool remote(const std::string& key);
  Executor* k8s();  // made on first use; null when it cannot be (k8s_error_ says why)

  Executor& local_;
  ChainAcceleration* const accel_;
  Factory make_k8s_;
  std::atomic<Executor*> k8s_ready_{nullptr};  // k8s_.get() once made (drain reads it)
  std::unique_ptr<Executor> k8s_;              // engine thread
  std::string k8s_error_;                      // engine thread
  Mutex mu_;
  std::set<std::string> remote_ GUARDED_BY(mu_);  // keys started or adopted on k8s_
  std::vector<ExecEvent> own_ GUARDED_BY(mu_);    // refusals: no Kubernetes configured
  std::function<void(Wake)> wake_;                // set once before any start
};

}  // namespace ctflow::exec
