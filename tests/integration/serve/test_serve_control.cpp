// Integration: ctflow-serve following a real `ctflow server` (issue 21, acceptance 1): `ctflow
// models pull` checks digests; the predictor pulls the production version by digest into its
// cache, swaps to a newly deployed version within seconds of the deploy (the SSE stream; polling
// is set to a minute here), keeps serving the old version when the new one is corrupted, and a
// predictor whose only version is corrupted is not ready and says why. Canaries. The prediction
// log into the real POST /api/v1/predictions across a kill -9 (acceptance 5).
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "tests/integration/serve/serve_support.hpp"
#include "tests/integration/support/harness.hpp"

using namespace ctflow;
using namespace ctflow::it;
namespace fs = std::filesystem;

namespace {

// A run whose one task registers a version of "mnist" from the files in `src` (and deploys it
// as production when `deploy`). The script path differs per version, so no cache hit.
std::string register_spec(const TempDir& tmp, const std::string& src, int n, bool deploy) {
  const std::string script = tmp / ("register-" + std::to_string(n) + ".sh");
  std::ofstream(script)
      << "set -e\ncp '" << src << "'/model.pt '" << src << "'/index.faiss '" << src
      << "'/index-labels.json .\n"
      << "cat > \"$CTFLOW_OUTPUTS\" <<'EOF'\n"
      << R"({"artifacts":{"model":{"path":"model.pt","kind":"model"},)"
      << R"("index":{"path":"index.faiss","kind":"index"},)"
      << R"("index-labels":{"path":"index-labels.json","kind":"index"}},)"
      << R"("registry":[{"op":"register","model":"mnist","artifacts":["model","index","index-labels"]})"
      << (deploy ? R"(,{"op":"deploy","model":"mnist"})" : "") << "]}\nEOF\n";
  return "name: reg" + std::to_string(n) + "\ntasks:\n  - name: reg\n    cache: false\n" +
         "    run: [sh, '" + script + "']\n";
}

std::string infer_body(const TinyModel& m) {
  return R"({"inputs":[{"name":"input-0","shape":[1,784],"datatype":"FP32","data":)" +
         image_json(m, 0) + "}]}";
}

// The version that answers one v2 request ("" on failure).
std::string answering_version(ServeProcess& s, const TinyModel& m) {
  auto c = s.client();
  auto r = c.request("POST", "/v2/models/mnist/infer", infer_body(m));
  if (!r || r->status != 200) return "";
  return std::string(boost::json::parse(r->body).as_object().at("model_version").as_string());
}

boost::json::object get_json_object(const ServerProcess& s, const std::string& path) {
  auto r = s.client().request("GET", path);
  if (!r || r->status != 200) throw std::runtime_error("GET " + path + " failed");
  return boost::json::parse(r->body).as_object();
}

void deploy(Harness& h, int version, const std::string& alias = "production") {
  auto c = h.server().client();
  auto r = c.request("POST", "/api/v1/models/mnist/aliases/" + alias,
                     "{\"version\": " + std::to_string(version) + "}");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

}  // namespace

TEST_CASE("ctflow-serve follows the alias: pull by digest, swap on deploy, keep the old version",
          "[integration][serve]") {
  const TinyModel& m = tiny_model();
  Harness h;
  TempDir tmp;
  REQUIRE(str(h.wait(h.submit(register_spec(tmp, m.dir, 1, true))), "state") == "succeeded");

  // ctflow models pull: the files, byte for byte, and version.json.
  auto pulled = h.cli({"models", "pull", "mnist@production", tmp / "pulled"});
  INFO(pulled.err);
  REQUIRE(pulled.rc == 0);
  CHECK(pulled.out.find("mnist version 1") != std::string::npos);
  for (const char* f : {"model.pt", "index.faiss", "index-labels.json"})
    CHECK(fs::file_size(tmp / ("pulled/" + std::string(f))) == fs::file_size(m.dir + "/" + f));
  CHECK(fs::exists(tmp / "pulled/version.json"));
  CHECK(h.cli({"models", "pull", "mnist:9", tmp / "nine"}).rc == 2);
  CHECK(h.cli({"models", "pull", "mnist@nope", tmp / "nope"}).err.find("has no alias nope") !=
        std::string::npos);

  ServeProcess s(
      {"--model", "mnist", "--api", h.server().url(), "--token-file", h.server().token_file(),
       "--cache-dir", tmp / "cache", "--poll-ms", "60000", "--threads", "1"},
      tmp / "serve.log");
  s.wait_live();
  REQUIRE(s.wait_ready(200));
  INFO(s.log());
  CHECK(answering_version(s, m) == "1");
  CHECK(fs::exists(tmp / "cache"));

  // Version 2 deployed through the API: the event stream brings it within seconds.
  REQUIRE(str(h.wait(h.submit(register_spec(tmp, m.dir, 2, false))), "state") == "succeeded");
  deploy(h, 2);
  const auto t0 = std::chrono::steady_clock::now();
  std::string v;
  while (std::chrono::steady_clock::now() - t0 < 15s && (v = answering_version(s, m)) != "2")
    std::this_thread::sleep_for(50ms);
  const double swap_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(v == "2");
  CHECK(swap_s < 5.0);

  // Version 3 has a corrupted model: the predictor keeps answering with version 2.
  const std::string broken = tmp / "broken";
  fs::create_directories(broken);
  for (const char* f : {"index.faiss", "index-labels.json"})
    fs::copy_file(m.dir + "/" + f, broken + "/" + f);
  std::ofstream(broken + "/model.pt") << "garbage";
  REQUIRE(str(h.wait(h.submit(register_spec(tmp, broken, 3, false))), "state") == "succeeded");
  deploy(h, 3);
  bool failed = false;
  for (int i = 0; i < 200 && !failed; ++i) {
    failed = s.log().find("is not a TorchScript module") != std::string::npos;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(failed);
  CHECK(answering_version(s, m) == "2");
  auto c = s.client();
  auto metrics = c.request("GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("ctflow_serve_load_failures_total 1") != std::string::npos);

  // A predictor whose alias points at the broken version only: not ready, and it says why.
  deploy(h, 3, "staging");
  ServeProcess s3({"--model", "mnist", "--api", h.server().url(), "--token-file",
                   h.server().token_file(), "--alias", "staging", "--cache-dir", tmp / "cache"},
                  tmp / "serve3.log");
  s3.wait_live();
  REQUIRE(s3.wait_ready(503, 10s));
  auto c3 = s3.client();
  auto ready = c3.request("GET", "/v2/health/ready");
  for (int i = 0; i < 200 && ready && ready->body.find("TorchScript") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);  // the first check may still be pulling
    ready = c3.request("GET", "/v2/health/ready");
  }
  REQUIRE(ready);
  CHECK(ready->status == 503);
  CHECK(ready->body.find("version 3") != std::string::npos);
  CHECK(ready->body.find("not a TorchScript module") != std::string::npos);

  // A stored artifact corrupted on the server's disk: pull refuses it by digest.
  auto vj = get_json_object(h.server(), "/api/v1/models/mnist/versions/1");
  const std::string stored =
      str(vj.at("artifacts").as_object().at("index-labels").as_object(), "path");
  REQUIRE(!stored.empty());
  fs::permissions(stored, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(stored, std::ios::app) << " ";
  auto bad = h.cli({"models", "pull", "mnist:1", tmp / "corrupt"});
  CHECK(bad.rc == 2);
  CHECK(bad.err.find("corrupted") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "corrupt/index-labels.json"));
}

TEST_CASE("canary: API and CLI, the predictor splits the traffic and says who answered",
          "[integration][serve][canary]") {
  const TinyModel& m = tiny_model();
  Harness h;
  TempDir tmp;
  REQUIRE(str(h.wait(h.submit(register_spec(tmp, m.dir, 1, true))), "state") == "succeeded");
  REQUIRE(str(h.wait(h.submit(register_spec(tmp, m.dir, 2, false))), "state") == "succeeded");
  auto api = h.server().client();

  // Bad canaries: one-line 4xx naming the field.
  auto bad = api.request("POST", "/api/v1/models/mnist/aliases/production",
                         R"({"canary": {"version": 2, "percent": 100}})");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("canary.percent") != std::string::npos);
  bad = api.request("POST", "/api/v1/models/mnist/aliases/production",
                    R"({"canary": {"version": 9, "percent": 10}})");
  CHECK(bad->status == 404);
  bad = api.request("POST", "/api/v1/models/mnist/aliases/production/promote", "");
  CHECK(bad->status == 409);
  CHECK(bad->body.find("has no canary") != std::string::npos);
  CHECK(h.cli({"deploy", "mnist", "--version", "2", "--canary", "0"}).rc == 2);

  ServeProcess s(
      {"--model", "mnist", "--api", h.server().url(), "--token-file", h.server().token_file(),
       "--cache-dir", tmp / "cache", "--poll-ms", "60000", "--threads", "1"},
      tmp / "serve.log");
  s.wait_live();
  REQUIRE(s.wait_ready(200));
  INFO(s.log());

  auto plain = h.cli({"deploy", "mnist", "--version", "1"});  // a plain move prints the alias
  CHECK(plain.out == "mnist production -> version 1\n");
  auto canary = h.cli({"deploy", "mnist", "--version", "2", "--canary", "10"});
  INFO(canary.err);
  REQUIRE(canary.rc == 0);
  CHECK(canary.out.find("version 1, canary version 2 at 10%") != std::string::npos);
  auto model = get_json_object(h.server(), "/api/v1/models/mnist");
  INFO(boost::json::serialize(model));
  auto& alias = model.at("aliases").as_array()[0].as_object();
  CHECK(str(alias, "alias") == "production");
  CHECK(str(alias, "version") == "1");
  CHECK(str(alias.at("canary").as_object(), "version") == "2");
  CHECK(alias.at("canary").as_object().at("percent").to_number<double>() == 10.0);

  // The predictor picks the canary up from the event stream, then splits about 10% to it.
  auto c = s.client();
  for (int i = 0; i < 200; ++i) {
    auto meta = c.request("GET", "/v2/models/mnist");
    if (meta && meta->body.find("canary_version") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  int v1 = 0, v2 = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string v = answering_version(s, m);
    v1 += v == "1";
    v2 += v == "2";
  }
  CHECK(v1 + v2 == 1000);
  CHECK(v2 >= 70);  // 10% +- 3 of 1000 (3.2 standard deviations)
  CHECK(v2 <= 130);
  auto metrics = c.request("GET", "/metrics");
  CHECK(
      metrics->body.find("ctflow_serve_requests_by_version_total{version=\"2\",role=\"canary\"}") !=
      std::string::npos);

  // Rollback drops the canary; promote makes it the version; rollback goes back to 1.
  CHECK(h.cli({"deploy", "rollback", "mnist"}).out.find("-> version 1\n") != std::string::npos);
  REQUIRE(h.cli({"deploy", "mnist", "--version", "2", "--canary", "50"}).rc == 0);
  CHECK(h.cli({"deploy", "promote", "mnist"}).out.find("-> version 2\n") != std::string::npos);
  std::string v;
  for (int i = 0; i < 200 && (v = answering_version(s, m)) != "2"; ++i)
    std::this_thread::sleep_for(50ms);
  CHECK(v == "2");
  CHECK(h.cli({"deploy", "rollback", "mnist"}).out.find("-> version 1\n") != std::string::npos);
  for (int i = 0; i < 200 && (v = answering_version(s, m)) != "1"; ++i)
    std::this_thread::sleep_for(50ms);
  CHECK(v == "1");
  auto history = get_json_object(h.server(), "/api/v1/models/mnist/deployments");
  // deploy (task), deploy (CLI), canary, rollback, canary, promote, rollback
  CHECK(history.at("deployments").as_array().size() == 7);
}

TEST_CASE("prediction log into the control plane: kill -9 under load, no loss, nothing twice",
          "[integration][serve][log]") {
  const TinyModel& m = tiny_model();
  Harness h;
  TempDir tmp;
  REQUIRE(str(h.wait(h.submit(register_spec(tmp, m.dir, 1, true))), "state") == "succeeded");
  const std::vector<std::string> args{"--model",        "mnist",        "--api",
                                      h.server().url(), "--token-file", h.server().token_file(),
                                      "--cache-dir",    tmp / "cache",  "--log-dir",
                                      tmp / "log",      "--threads",    "1"};
  std::set<std::string> acked;
  std::mutex mu;
  const std::string body = infer_body(m);
  auto load = [&](const std::string& url, std::atomic<bool>& stop) {
    while (!stop) {
      cli::Client c(url, "");
      auto r = c.request("POST", "/v2/models/mnist/infer", body);
      if (!r || r->status != 200) continue;
      const boost::json::value doc = boost::json::parse(r->body);
      std::lock_guard lk(mu);
      for (const auto& id :
           doc.as_object().at("parameters").as_object().at("request_ids").as_array())
        acked.insert(std::string(id.as_string()));
    }
  };
  {
    ServeProcess s(args, tmp / "serve1.log");
    s.wait_live();
    REQUIRE(s.wait_ready(200));
    std::atomic<bool> stop{false};
    std::thread t1([&] { load(s.url(), stop); }), t2([&] { load(s.url(), stop); });
    REQUIRE(poll_until(
        [&] {
          std::lock_guard lk(mu);
          return acked.size() > 100;
        },
        30s));
    s.kill9();  // under load
    stop = true;
    t1.join();
    t2.join();
    INFO(s.log());
  }
  const int64_t before = h.db().count("SELECT count(*) FROM predictions");
  ServeProcess s2(args, tmp / "serve2.log");
  s2.wait_live();
  REQUIRE(s2.wait_ready(200));  // back, serving the deployed version
  CHECK(answering_version(s2, m) == "1");
  REQUIRE(acked.size() > 50);
  std::string in_list;
  for (const auto& id : acked) in_list += (in_list.empty() ? "'" : ",'") + id + "'";
  const std::string found_sql =
      "SELECT count(*) FROM predictions WHERE request_id IN (" + in_list + ")";
  int64_t found = 0;
  for (int i = 0; i < 300 && found < static_cast<int64_t>(acked.size()); ++i) {
    found = h.db().count(found_sql);
    std::this_thread::sleep_for(50ms);
  }
  INFO("acknowledged " << acked.size() << ", stored before the restart " << before << "\n"
                       << s2.log());
  CHECK(found == static_cast<int64_t>(acked.size()));  // none lost
  CHECK(h.db().count("SELECT count(*) - count(DISTINCT request_id) FROM predictions") == 0);
  CHECK(h.db().count("SELECT count(*) FROM predictions WHERE version <> 1") == 0);
}
