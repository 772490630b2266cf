// Integration: ctflow-serve's prediction log sender (issue 21, acceptance 5) against a recording
// receiver in this process (control's POST /api/v1/predictions is not on this branch; the
// receiver is idempotent on request_id like that route and counts resends). While the receiver
// is down the predictor keeps answering and spools; kill -9 under load; the restarted predictor
// replays the spool: every prediction a client got an answer for arrives, none is stored twice.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "scheduler/api/http/server.hpp"
#include "tests/integration/serve/serve_support.hpp"
#include "tests/integration/support/server_process.hpp"

using namespace ctflow;
using namespace ctflow::it;
namespace json = boost::json;

namespace {

// POST /api/v1/predictions: 503 while down; else stores each record by request_id.
class Receiver {
 public:
  Receiver() {
    http::Route r;
    r.method = "POST";
    r.pattern = "/api/v1/predictions";
    r.min_role = http::Role::None;
    r.handler = [this](const http::Request& req, const http::PathParams&, const http::Principal&) {
      if (!up_) return http::unavailable("down for the test", req.path);
      auto body = json::parse(req.body).as_object();
      std::lock_guard lk(mu_);
      int64_t stored = 0, dup = 0;
      for (const auto& rec : body.at("records").as_array()) {
        const auto& o = rec.as_object();
        REQUIRE(o.at("summary").as_object().at("hist").as_array().size() == 8);
        if (ids_.insert(std::string(o.at("request_id").as_string())).second)
          ++stored;
        else
          ++dup;
      }
      resent_ += dup;
      return http::json_response(200, json::object{{"stored", stored}, {"duplicates", dup}});
    };
    router_.add(std::move(r));
    http::ServerOptions so;
    so.port = 0;
    server_ = std::make_unique<http::HttpServer>(router_, so);
    port_ = *server_->start();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set_up(bool up) { up_ = up; }
  std::set<std::string> ids() {
    std::lock_guard lk(mu_);
    return ids_;
  }
  int64_t resent() {
    std::lock_guard lk(mu_);
    return resent_;
  }

 private:
  http::Router router_{http::RouterOptions{.public_writes = true}};
  std::unique_ptr<http::HttpServer> server_;
  uint16_t port_ = 0;
  std::atomic<bool> up_{false};
  std::mutex mu_;
  std::set<std::string> ids_;
  int64_t resent_ = 0;
};

// Sends v1 requests of 2 images until `stop`; collects the request ids of 200 answers.
void load(const std::string& url, const TinyModel& m, std::atomic<bool>& stop,
          std::set<std::string>& acked, std::mutex& mu) {
  const std::string body = R"({"instances":[)" + image_json(m, 0) + "," + image_json(m, 1) + "]}";
  while (!stop) {
    cli::Client c(url, "");
    auto r = c.request("POST", "/v1/models/mnist:predict", body);
    if (!r || r->status != 200) continue;
    const json::value doc = json::parse(r->body);  // outlives the loop
    std::lock_guard lk(mu);
    for (const auto& id : doc.as_object().at("request_ids").as_array())
      acked.insert(std::string(id.as_string()));
  }
}

}  // namespace

TEST_CASE("prediction log: spooled while the API is away, replayed after kill -9, none twice",
          "[integration][serve][log]") {
  const TinyModel& m = tiny_model();
  TempDir tmp;
  Receiver rx;
  const std::vector<std::string> args{"--model-dir", m.dir,      "--model",   "mnist",
                                      "--threads",   "1",        "--log-api", rx.url(),
                                      "--log-dir",   tmp / "log"};
  std::set<std::string> acked;
  std::mutex mu;
  {
    ServeProcess s(args, tmp / "serve1.log");
    s.wait_live();
    REQUIRE(s.wait_ready(200));
    std::atomic<bool> stop{false};
    std::thread t1([&] { load(s.url(), m, stop, acked, mu); });
    std::thread t2([&] { load(s.url(), m, stop, acked, mu); });
    auto acked_count = [&] {
      std::lock_guard lk(mu);
      return acked.size();
    };
    REQUIRE(poll_until([&] { return acked_count() >= 50; }, 30s));
    auto c = s.client();
    REQUIRE(poll_until(
        [&] {
          auto metrics = c.request("GET", "/metrics");
          return metrics && metrics->body.find("ctflow_serve_log_api_away 1") != std::string::npos;
        },
        10s));
    rx.set_up(true);  // part of the log goes out before the crash
    REQUIRE(poll_until([&] { return !rx.ids().empty(); }, 30s));
    rx.set_up(false);
    const size_t at_down = acked_count();
    REQUIRE(poll_until([&] { return acked_count() >= at_down + 50; }, 30s));
    s.kill9();  // under load, with predictions acknowledged since the API went away
    stop = true;
    t1.join();
    t2.join();
  }
  const size_t before = rx.ids().size();
  INFO("acknowledged " << acked.size() << ", received before the crash " << before);
  REQUIRE(acked.size() > 100);
  CHECK(before < acked.size());

  rx.set_up(true);
  ServeProcess s2(args, tmp / "serve2.log");
  s2.wait_live();
  REQUIRE(s2.wait_ready(200));  // it comes back serving
  std::set<std::string> got;
  for (int i = 0; i < 300; ++i) {
    got = rx.ids();
    if (std::includes(got.begin(), got.end(), acked.begin(), acked.end())) break;
    std::this_thread::sleep_for(50ms);
  }
  INFO(s2.log());
  std::vector<std::string> lost;
  std::set_difference(acked.begin(), acked.end(), got.begin(), got.end(), std::back_inserter(lost));
  CHECK(lost.empty());  // no acknowledged prediction lost
  INFO("records resent (absorbed by idempotency): " << rx.resent());
  CHECK(got.size() >= acked.size());  // a set: none stored twice
}
