#pragma once
// The batch/v1 Job of a task attempt, built from its SpawnRequest: one container named "task"
// running the task's argv in its image, the task contract's env (paths on the shared volume,
// mounted at the server's data directory so that every path means the same file in the pod),
// secrets as secretKeyRef, resources, nodeSelector, tolerations, service account; backoffLimit 0
// (ctflow owns retries), activeDeadlineSeconds from the task timeout, ttlSecondsAfterFinished.
// Only fields of the Kubernetes API reference appear. Pure: no I/O.
#include <boost/json.hpp>
#include <string>

#include "scheduler/common/result.hpp"
#include "scheduler/executor/executor.hpp"

namespace ctflow::exec::k8s {

struct JobSettings {
  std::string namespace_ = "default";
  std::string default_image;    // tasks without k8s.image
  std::string volume;           // "pvc:CLAIM" or "hostpath:/node/path"; "" = none (tests)
  std::string service_account;  // tasks without k8s.serviceAccountName; "" = the namespace's
  std::string data_dir;         // the server's data directory: the volume's mountPath
  int default_ttl = 3600;       // ttlSecondsAfterFinished when the task sets none
};

inline constexpr const char* kManagedBy = "app.kubernetes.io/managed-by";
inline constexpr const char* kSelector = "app.kubernetes.io/managed-by=ctflow";

// "ctflow-<task_run_id>-<attempt>-<task>", lowercase, at most 63 characters: a DNS label, the
// same for every replica that computes it.
std::string job_name(const std::string& key, const std::string& task);
// A label value: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends ("" stays "").
std::string label_value(const std::string& s);
// Checks "pvc:NAME" / "hostpath:/PATH" (the server's --k8s-volume). nullopt when valid.
std::optional<std::string> check_volume(const std::string& volume);

// The Job for `req`, whose attempt folder is `dir`. An error names what cannot be expressed
// (no image anywhere, a secret name Kubernetes does not accept).
Result<boost::json::object> build_job(const SpawnRequest& req, const JobSettings& s,
                                      const std::string& dir);

// YAML (block style; strings double-quoted) of a JSON value, for `ctflow k8s job`.
std::string to_yaml(const boost::json::value& v);

}  // namespace ctflow::exec::k8s
