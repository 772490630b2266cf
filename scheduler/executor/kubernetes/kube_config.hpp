#pragma once
// Where the Kubernetes API is and how to prove who we are: in-cluster configuration (the pod's
// service-account token, CA and namespace files, KUBERNETES_SERVICE_HOST/PORT) or a kubeconfig
// file (its current context: cluster server and CA, the user's bearer token, token file or client
// certificate, the context's namespace). Loading never throws: errors name the file and field.
#include <string>

#include "scheduler/common/result.hpp"

namespace ctflow::exec::k8s {

struct KubeConfig {
  std::string host, port = "443";  // from the server URL (https only)
  std::string ca_pem;              // empty: the system's trust store
  bool insecure = false;           // insecure-skip-tls-verify
  std::string token;               // a fixed bearer token, or
  std::string token_file;          // re-read on every request (it rotates in a cluster)
  std::string client_cert_pem, client_key_pem;
  std::string namespace_ = "default";
  std::string source;  // "in-cluster" or the kubeconfig's path, for messages
  // The Authorization header's value ("Bearer ..."), "" when none; an error when the token file
  // cannot be read.
  Result<std::string> bearer() const;
};

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// In-cluster config from `sa_dir` (the service-account mount) and the environment.
Result<KubeConfig> in_cluster_config(const std::string& sa_dir = kServiceAccountDir);
// The current context of the kubeconfig at `path`.
Result<KubeConfig> load_kubeconfig(const std::string& path);
// `path` when given, else $KUBECONFIG (its first file), else in-cluster when
// KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
Result<KubeConfig> resolve_config(const std::string& path);

}  // namespace ctflow::exec::k8s
