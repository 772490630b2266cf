#pragma once
// KubeClient: the Kubernetes REST API over HTTPS (Boost.Beast + OpenSSL). One connection per
// call, verified against the configuration's CA, with a bearer token read afresh for each call
// (so a rotated service-account token is picked up) or a client certificate.
//
// call() retries what the API asks us to retry: 429 and 5xx, honouring Retry-After, and
// connection failures, with bounded exponential backoff. stream() reads a body as it arrives
// (watch events, followed logs). Thread-safe: each call has its own connection; stop() ends the
// streams in progress (from any thread) and makes later calls fail at once.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "scheduler/common/mutex.hpp"
#include "scheduler/executor/kubernetes/kube_config.hpp"

namespace ctflow::exec::k8s {

struct Response {
  int status = 0;     // 0: no HTTP answer (the error says why)
  std::string body;   // the body (call), or what stream() did not hand on
  std::string error;  // transport error, for messages
  int attempts = 0;   // requests sent (call)
  bool ok() const { return status >= 200 && status < 300; }
  // "403 Forbidden: jobs.batch is forbidden: ..." from a Status body, for task errors.
  std::string describe() const;
};

struct ClientOptions {
  int max_tries = 6;                       // per call, the first included
  std::chrono::milliseconds backoff{200};  // doubled per retry
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds timeout{15'000};  // connect, write, and each read of a call
};

class KubeClient {
 public:
  explicit KubeClient(KubeConfig config, ClientOptions opt = {});
  ~KubeClient();
  const KubeConfig& config() const { return config_; }

  Response call(const std::string& method, const std::string& target, const std::string& body = "");
  // GET `target`; `on_data` gets each piece of a 2xx body as it arrives and returns false to
  // stop. A non-2xx answer's body is returned whole. Reads wait up to `idle` for data.
  Response stream(const std::string& target, const std::function<bool(std::string_view)>& on_data,
                  std::chrono::milliseconds idle);
  void stop();

 private:
  struct Conn;
  Response once(const std::string& method, const std::string& target, const std::string& body,
                const std::function<bool(std::string_view)>* on_data,
                std::chrono::milliseconds idle);

  const KubeConfig config_;
  const ClientOptions opt_;
  std::atomic<bool> stopped_{false};
  Mutex mu_;
  std::set<std::shared_ptr<Conn>> live_ GUARDED_BY(mu_);
};

}  // namespace ctflow::exec::k8s
