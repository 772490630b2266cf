// The Kubernetes executor's pure parts: Job names, the Job a task attempt gets, the YAML printer,
// volume flags, and kubeconfig files.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "scheduler/executor/kubernetes/job_builder.hpp"
#include "scheduler/executor/kubernetes/kube_config.hpp"
#include "scheduler/spec/yaml_json.hpp"

namespace ctflow::exec::k8s {
namespace {

namespace json = boost::json;

SpawnRequest request() {
  SpawnRequest r;
  r.key = "42-2";
  r.argv = {"ctflow-task", "train", "--epochs", "3"};
  r.env = {"CTFLOW_RUN_ID=7", "CTFLOW_OUTPUTS=/data/attempts/42-2/outputs.json", "MODE=fast"};
  r.placement.executor = "kubernetes";
  r.placement.pipeline = "MNIST CT";
  r.placement.task = "train_Model";
  r.placement.run_id = 7;
  r.placement.attempt = 2;
  r.placement.timeout = std::chrono::milliseconds(90'500);
  r.placement.k8s.image = "reg.example.com/task:1";
  r.placement.k8s.requests = {{"cpu", "500m"}};
  r.placement.k8s.limits = {{"memory", "1Gi"}};
  r.placement.secrets = {{"DB_TOKEN", "db-token"}};
  return r;
}

JobSettings settings() {
  JobSettings s;
  s.namespace_ = "ml";
  s.volume = "pvc:ctflow-data";
  s.data_dir = "/data";
  return s;
}

const json::value& at(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* cur = &v;
  for (const char* k : path) cur = &cur->as_object().at(k);
  return *cur;
}

TEST_CASE("job names are DNS labels derived from the attempt") {
  CHECK(job_name("42-2", "train_Model") == "ctflow-42-2-train-model");
  std::string long_name = job_name("123456789-3", std::string(100, 'x'));
  CHECK(long_name.size() <= 63);
  CHECK(long_name.rfind("ctflow-123456789-3-", 0) == 0);
  CHECK(job_name("1-1", "a--") == "ctflow-1-1-a");              // no trailing '-'
  CHECK(job_name("5-1", "train") == job_name("5-1", "train"));  // every replica computes the same
  CHECK(label_value("MNIST CT") == "MNIST-CT");
  CHECK(label_value("-x-") == "x");
  CHECK(label_value(std::string(80, 'a')).size() == 63);
}

TEST_CASE("a task attempt's Job has the contract's fields and nothing unknown") {
  auto job = build_job(request(), settings(), "/data/attempts/42-2");
  REQUIRE(job);
  json::value v = *job;
  CHECK(at(v, {"apiVersion"}) == "batch/v1");
  CHECK(at(v, {"kind"}) == "Job");
  CHECK(at(v, {"metadata", "name"}) == "ctflow-42-2-train-model");
  CHECK(at(v, {"metadata", "namespace"}) == "ml");
  const auto& labels = at(v, {"metadata", "labels"}).as_object();
  CHECK(labels.at("ctflow.io/run") == "7");
  CHECK(labels.at("ctflow.io/task") == "train_Model");
  CHECK(labels.at("ctflow.io/attempt") == "2");
  CHECK(labels.at("ctflow.io/pipeline") == "MNIST-CT");
  CHECK(labels.at("app.kubernetes.io/managed-by") == "ctflow");
  CHECK(at(v, {"spec", "template", "metadata", "labels"}).as_object() == labels);
  CHECK(at(v, {"spec", "backoffLimit"}) == 0);
  CHECK(at(v, {"spec", "activeDeadlineSeconds"}) == 91);  // 90.5 s rounded up
  CHECK(at(v, {"spec", "ttlSecondsAfterFinished"}) == 3600);
  const auto& pod = at(v, {"spec", "template", "spec"});
  CHECK(at(pod, {"restartPolicy"}) == "Never");
  const auto& c = pod.as_object().at("containers").as_array().at(0);
  CHECK(at(c, {"name"}) == "task");
  CHECK(at(c, {"image"}) == "reg.example.com/task:1");
  CHECK(at(c, {"command"}).as_array().size() == 4);
  CHECK(at(c, {"workingDir"}) == "/data/attempts/42-2/work");
  CHECK(at(c, {"resources", "requests", "cpu"}) == "500m");
  CHECK(at(c, {"resources", "limits", "memory"}) == "1Gi");
  CHECK(at(c, {"volumeMounts"}).as_array().at(0).as_object().at("mountPath") == "/data");
  CHECK(at(pod, {"volumes"}).as_array().at(0).as_object().at("persistentVolumeClaim") ==
        json::parse(R"({"claimName":"ctflow-data"})"));
  // The secret is a reference: its value never appears in the Job.
  bool found = false;
  for (const auto& e : at(c, {"env"}).as_array()) {
    if (e.as_object().at("name") != "DB_TOKEN") continue;
    found = true;
    CHECK_FALSE(e.as_object().contains("value"));
    CHECK(at(e, {"valueFrom", "secretKeyRef", "name"}) == "db-token");
    CHECK(at(e, {"valueFrom", "secretKeyRef", "key"}) == "value");
  }
  CHECK(found);
  // Only fields of the API reference (JobSpec, PodSpec, Container) at each level.
  std::set<std::string> job_spec{"backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished",
                                 "template"};
  for (const auto& kv : at(v, {"spec"}).as_object()) CHECK(job_spec.count(std::string(kv.key())));
  std::set<std::string> pod_spec{"restartPolicy", "securityContext",    "volumes",
                                 "containers",    "serviceAccountName", "nodeSelector",
                                 "tolerations"};
  for (const auto& kv : pod.as_object()) CHECK(pod_spec.count(std::string(kv.key())));
}

TEST_CASE("a Job without an image or with a secret Kubernetes cannot name is refused") {
  auto r = request();
  r.placement.k8s.image.clear();
  auto job = build_job(r, settings(), "/d");
  REQUIRE_FALSE(job);
  CHECK(job.error().find("k8s.image") != std::string::npos);
  JobSettings s = settings();
  s.default_image = "fallback:2";
  auto with_default = build_job(r, s, "/d");
  REQUIRE(with_default);
  CHECK(at(*with_default, {"spec", "template", "spec"})
            .as_object()
            .at("containers")
            .as_array()[0]
            .as_object()
            .at("image") == "fallback:2");
  r = request();
  r.placement.secrets = {{"X", "Bad_Name"}};
  auto bad = build_job(r, settings(), "/d");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("env.X") != std::string::npos);
}

TEST_CASE("hostPath volumes and the volume flag's checks") {
  JobSettings s = settings();
  s.volume = "hostpath:/srv/ctflow";
  auto job = build_job(request(), s, "/data/attempts/42-2");
  REQUIRE(job);
  CHECK(at(*job, {"spec", "template", "spec"})
            .as_object()
            .at("volumes")
            .as_array()[0]
            .as_object()
            .at("hostPath")
            .as_object()
            .at("path") == "/srv/ctflow");
  CHECK_FALSE(check_volume("pvc:ctflow-data"));
  CHECK_FALSE(check_volume("hostpath:/data"));
  CHECK(check_volume("pvc:Bad_Claim"));
  CHECK(check_volume("hostpath:relative"));
  CHECK(check_volume("nfs:server:/x"));
}

TEST_CASE("the YAML printer's output reads back as the same JSON") {
  auto job = build_job(request(), settings(), "/data/attempts/42-2");
  REQUIRE(job);
  std::string yaml = to_yaml(*job);
  std::vector<std::string> errors;
  auto back = spec::detail::yaml_to_json(yaml, errors);
  REQUIRE(back);
  CHECK(*back == json::value(*job));
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/ctflow-kubeconfig.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

TEST_CASE("kubeconfig: current context, token file, CA data, and clear errors") {
  TempDir d;
  d.write("token", "first\n");
  std::string good = d.write("config", R"(apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: ml}
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "aGVsbG8="}
users:
- name: u1
  user: {tokenFile: token}
)");
  auto c = load_kubeconfig(good);
  REQUIRE(c);
  CHECK(c->host == "127.0.0.1");
  CHECK(c->port == "6443");
  CHECK(c->namespace_ == "ml");
  CHECK(c->ca_pem == "hello");
  CHECK(*c->bearer() == "Bearer first");
  d.write("token", "second\n");  // rotated: read again on the next call
  CHECK(*c->bearer() == "Bearer second");

  std::string no_ctx = d.write("none", "apiVersion: v1\nkind: Config\nclusters: []\n");
  auto e = load_kubeconfig(no_ctx);
  REQUIRE_FALSE(e);
  CHECK(e.error().find("no current context") != std::string::npos);
  std::string http = d.write("http", R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "http://plain:8080"}}]
users: [{name: u, user: {token: abc}}]
)");
  auto e2 = load_kubeconfig(http);
  REQUIRE_FALSE(e2);
  CHECK(e2.error().find("https://") != std::string::npos);
  auto missing = load_kubeconfig((d.path / "nope").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("cannot read") != std::string::npos);
}

TEST_CASE("in-cluster configuration from the service-account files") {
  TempDir d;
  d.write("token", "sa-token");
  d.write("ca.crt", "PEM");
  d.write("namespace", "ctflow\n");
  ::setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto c = in_cluster_config(d.path.string());
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  REQUIRE(c);
  CHECK(c->host == "10.0.0.1");
  CHECK(c->namespace_ == "ctflow");
  CHECK(*c->bearer() == "Bearer sa-token");
  auto none = in_cluster_config(d.path.string());
  REQUIRE_FALSE(none);
  CHECK(none.error().find("KUBERNETES_SERVICE_HOST") != std::string::npos);
}

}  // namespace
}  // namespace ctflow::exec::k8s
