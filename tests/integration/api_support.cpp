#include "tests/integration/api_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace ctflow::it::api {

std::string make_token(const ServerProcess& s, const std::string& role) {
  auto r = s.client().request("POST", "/api/v1/tokens",
                              json::serialize(json::object{{"role", role}, {"name", "test"}}));
  if (!r || r->status != 201)
    throw std::runtime_error("token create: " + (r ? r->body : r.error()));
  return std::string(json::parse(r->body).as_object().at("token").as_string());
}

cli::Client client(const ServerProcess& s, const std::string& token) {
  return cli::Client(s.url(), token);
}

int port_of(const ServerProcess& s) {
  auto colon = s.url().rfind(':');
  return std::stoi(s.url().substr(colon + 1));
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot connect to port " + std::to_string(port));
  }
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (413): the caller checks the reply
    off += static_cast<size_t>(n);
  }
}

std::pair<std::string, bool> read_until_close(int fd, int timeout_ms) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return {out, false};
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return {out, true};  // EOF or reset: closed
    out.append(buf, static_cast<size_t>(n));
  }
}

namespace {

// train writes 100 metric points and an artifact, register registers and deploys a model from
// it, flaky fails until OK_FILE exists, after depends on flaky.
std::string seed_spec(const std::string& ok_file) {
  return R"(name: apitest
tasks:
  - name: train
    run: [sh, -c, 'i=0; while [ $i -lt 100 ]; do echo "{\"name\":\"loss\",\"value\":$i,\"step\":$i}" >> "$CTFLOW_METRICS"; i=$((i+1)); done; echo weights > model.bin; echo "{\"artifacts\":{\"model\":{\"path\":\"model.bin\",\"kind\":\"model\"}}}" > "$CTFLOW_OUTPUTS"']
  - name: register
    needs: [train]
    run: [sh, -c, 'echo "{\"registry\":[{\"op\":\"register\",\"model\":\"digits\",\"artifacts\":[\"train/model\"],\"metrics\":{\"acc\":0.9},\"lineage\":{\"partitions\":[{\"name\":\"p1\"}]}},{\"op\":\"deploy\",\"model\":\"digits\"}]}" > "$CTFLOW_OUTPUTS"']
  - name: flaky
    needs: [train]
    run: [sh, -c, 'test -f )" +
         ok_file + R"(']
  - name: after
    needs: [flaky]
    run: ['true']
)";
}

}  // namespace

Seed seed(Harness& h) {
  Seed s;
  s.admin = h.server().token();
  s.operator_token = make_token(h.server(), "operator");
  s.viewer = make_token(h.server(), "viewer");
  s.failed_run = h.submit(seed_spec(h.path("flaky-ok")));
  auto run = h.wait(s.failed_run);
  if (str(run, "state") != "failed")
    throw std::runtime_error("seed run did not fail: " + json::serialize(run));
  s.digest = h.db().text("SELECT digest FROM artifacts LIMIT 1");
  return s;
}

std::string seed_study(Harness& h) {
  std::string id = h.submit(R"(name: apistudy
tasks:
  - name: tune
    hpo:
      algorithm: grid
      objective: {metric: loss, goal: minimize}
      max_trials: 2
      parallelism: 2
      space: {x: {type: int, values: [1, 3]}}
      trial: {run: [sh, -c, 'echo "{\"name\":\"loss\",\"value\":$1,\"step\":1}" >> "$CTFLOW_METRICS"', x, "{{trial.x}}"]}
)");
  auto run = h.wait(id);
  if (str(run, "state") != "succeeded")
    throw std::runtime_error("seed study did not succeed: " + json::serialize(run));
  return h.db().text("SELECT id FROM studies WHERE run_id = " + id);
}

}  // namespace ctflow::it::api
