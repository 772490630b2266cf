// Integration: every REST route (issue 4, acceptance 3) as data: one row per route with its happy
// request, and for each row the checks 401 without a token, 403 with a token below the route's
// role, 400 on malformed JSON (routes with a body), 404 on a missing resource, and the happy path
// with the least role allowed. Error bodies are always {"error": {"code", "message", "path"}}.
#include <catch2/catch.hpp>

#include <set>

#include "tests/integration/api_support.hpp"

using namespace ctflow::it;
using namespace ctflow::it::api;

namespace {

enum class Min { Public, Viewer, Operator, Admin };

struct RouteCase {
  std::string method, pattern;  // the route as registered
  std::string path;             // a concrete happy path
  std::string body;             // JSON body of the happy request ("" none)
  int status;                   // happy status
  Min role;
  std::string missing;  // a path naming a missing resource ("" when the route has none)
  bool streaming = false;
};

void check_error_body(const ctflow::cli::HttpReply& r, int status, const std::string& what) {
  INFO(what << " -> " << r.status << " " << r.body);
  CHECK(r.status == status);
  auto v = json::parse(r.body);
  REQUIRE(v.is_object());
  const auto& e = v.as_object().at("error").as_object();
  CHECK(e.at("code").is_string());
  CHECK(e.at("message").is_string());
  CHECK(e.at("path").is_string());
}

// One prediction record of version 1 of `model`, request id route-1.
std::string prediction_body(const std::string& model) {
  return R"({"records": [{"request_id": "route-1", "time": "2026-12-07T20:50:00.123Z", "model": ")" +
         model +
         R"(", "version": 1, "prediction": 3, "latency_ms": 1.5, "summary": {"mean": 0.13, "ink": 0.19, "hist": [0.7, 0.05, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03]}}]})";
}

std::vector<RouteCase> cases(const Seed& s, const std::string& throwaway_token,
                             const std::string& study) {
  std::string run = "/api/v1/runs/" + s.failed_run;
  std::string model = "/api/v1/models/" + s.model;
  std::string spec =
      json::serialize(json::object{{"spec", "name: tiny\ntasks:\n  - {name: a, run: ['true']}\n"}});
  return {
      {"GET", "/healthz", "/healthz", "", 200, Min::Public, ""},
      {"GET", "/readyz", "/readyz", "", 200, Min::Public, ""},
      {"GET", "/metrics", "/metrics", "", 200, Min::Public, ""},
      {"GET", "/api/v1/openapi.json", "/api/v1/openapi.json", "", 200, Min::Public, ""},
      {"GET", "/api/v1/pipelines", "/api/v1/pipelines", "", 200, Min::Viewer, ""},
      {"POST", "/api/v1/pipelines", "/api/v1/pipelines", spec, 201, Min::Operator, ""},
      {"GET", "/api/v1/pipelines/{name}", "/api/v1/pipelines/apitest", "", 200, Min::Viewer,
       "/api/v1/pipelines/nope"},
      {"POST", "/api/v1/pipelines/{name}/runs", "/api/v1/pipelines/tiny/runs", "{}", 201,
       Min::Operator, "/api/v1/pipelines/nope/runs"},
      {"POST", "/api/v1/runs", "/api/v1/runs", spec, 201, Min::Operator, ""},
      {"GET", "/api/v1/runs", "/api/v1/runs?limit=2", "", 200, Min::Viewer, ""},
      {"GET", "/api/v1/runs/{id}", run, "", 200, Min::Viewer, "/api/v1/runs/999999"},
      {"POST", "/api/v1/runs/{id}/cancel", "/api/v1/runs/1/cancel", "", 202, Min::Operator,
       "/api/v1/runs/999999/cancel"},
      {"GET", "/api/v1/runs/{id}/tasks/{name}", run + "/tasks/train", "", 200, Min::Viewer,
       run + "/tasks/nope"},
      {"GET", "/api/v1/runs/{id}/tasks/{name}/logs", run + "/tasks/flaky/logs", "", 200,
       Min::Viewer, run + "/tasks/nope/logs"},
      {"GET", "/api/v1/runs/{id}/metrics", run + "/metrics?max_points=10", "", 200, Min::Viewer,
       "/api/v1/runs/999999/metrics"},
      {"GET", "/api/v1/events", "/api/v1/events?run=" + s.failed_run, "", 200, Min::Viewer, "",
       true},
      {"GET", "/api/v1/artifacts/{digest}", "/api/v1/artifacts/" + s.digest, "", 200, Min::Viewer,
       "/api/v1/artifacts/" + std::string(64, 'a')},
      {"GET", "/api/v1/artifacts/{digest}/content", "/api/v1/artifacts/" + s.digest + "/content",
       "", 200, Min::Viewer, "/api/v1/artifacts/" + std::string(64, 'a') + "/content"},
      {"GET", "/api/v1/models", "/api/v1/models", "", 200, Min::Viewer, ""},
      {"GET", "/api/v1/models/{name}", model, "", 200, Min::Viewer, "/api/v1/models/nope"},
      {"GET", "/api/v1/models/{name}/versions/{v}", model + "/versions/1", "", 200, Min::Viewer,
       model + "/versions/9"},
      {"GET", "/api/v1/models/{name}/versions/{v}/lineage", model + "/versions/1/lineage", "", 200,
       Min::Viewer, model + "/versions/9/lineage"},
      {"GET", "/api/v1/models/{name}/deployments", model + "/deployments", "", 200, Min::Viewer,
       "/api/v1/models/nope/deployments"},
      {"POST", "/api/v1/models/{name}/aliases/{alias}", model + "/aliases/staging",
       R"({"version": 1})", 200, Min::Operator, "/api/v1/models/nope/aliases/staging"},
      // Canaries on the alias the row above set (issue 21): add, promote, add, roll back.
      {"POST", "/api/v1/models/{name}/aliases/{alias}", model + "/aliases/staging",
       R"({"canary": {"version": 1, "percent": 10}})", 200, Min::Operator,
       "/api/v1/models/nope/aliases/staging"},
      {"POST", "/api/v1/models/{name}/aliases/{alias}/promote", model + "/aliases/staging/promote",
       "", 200, Min::Operator, "/api/v1/models/nope/aliases/staging/promote"},
      {"POST", "/api/v1/models/{name}/aliases/{alias}", model + "/aliases/staging",
       R"({"canary": {"version": 1, "percent": 10}})", 200, Min::Operator,
       "/api/v1/models/nope/aliases/staging"},
      {"POST", "/api/v1/models/{name}/aliases/{alias}/rollback",
       model + "/aliases/staging/rollback", "", 200, Min::Operator,
       "/api/v1/models/nope/aliases/staging/rollback"},
      // After the rows above set it.
      {"DELETE", "/api/v1/models/{name}/aliases/{alias}", model + "/aliases/staging", "", 204,
       Min::Operator, "/api/v1/models/nope/aliases/staging"},
      // The prediction log (issue 21): a prediction of the seed model, then its label.
      {"POST", "/api/v1/predictions", "/api/v1/predictions", prediction_body(s.model), 200,
       Min::Operator, ""},
      {"POST", "/api/v1/predictions/{request_id}/label", "/api/v1/predictions/route-1/label",
       R"({"label": 3})", 200, Min::Operator, "/api/v1/predictions/nope/label"},
      {"POST", "/api/v1/predictions/labels", "/api/v1/predictions/labels",
       R"({"labels": [{"request_id": "route-1", "label": 4}]})", 200, Min::Operator, ""},
      {"GET", "/api/v1/models/{name}/monitor", model + "/monitor?bucket=1m", "", 200, Min::Viewer,
       "/api/v1/models/nope/monitor"},
      {"GET", "/api/v1/pipelines/{name}/grid", "/api/v1/pipelines/apitest/grid?runs=3", "", 200,
       Min::Viewer, "/api/v1/pipelines/nope/grid"},
      {"GET", "/api/v1/me", "/api/v1/me", "", 200, Min::Viewer, ""},
      {"GET", "/api/v1/events/head", "/api/v1/events/head", "", 200, Min::Viewer, ""},
      {"GET", "/api/v1/studies", "/api/v1/studies?limit=5", "", 200, Min::Viewer, ""},
      {"GET", "/api/v1/studies/{id}", "/api/v1/studies/" + study, "", 200, Min::Viewer,
       "/api/v1/studies/999999"},
      {"POST", "/api/v1/tokens", "/api/v1/tokens", R"({"role": "viewer"})", 201, Min::Admin, ""},
      {"GET", "/api/v1/tokens", "/api/v1/tokens", "", 200, Min::Admin, ""},
      {"DELETE", "/api/v1/tokens/{id}", "/api/v1/tokens/" + throwaway_token, "", 204, Min::Admin,
       "/api/v1/tokens/999999"},
      // Last: retrying sends the seed run back to running.
      {"POST", "/api/v1/runs/{id}/retry", run + "/retry", "", 202, Min::Operator,
       "/api/v1/runs/999999/retry"},
  };
}

// Errors are plain JSON responses even on streaming routes; only a stream's success is read as one.
ctflow::Result<ctflow::cli::HttpReply> send(ctflow::cli::Client c, const RouteCase& rc,
                                            const std::string& path, const std::string& body,
                                            bool happy = false) {
  if (!rc.streaming || !happy) return c.request(rc.method, path, body);
  auto st = c.stream(path, "", [](std::string_view) { return false; });
  if (!st) return ctflow::Error{st.error()};
  return ctflow::cli::HttpReply{*st, "", "text/event-stream"};
}

}  // namespace

TEST_CASE("every route: auth, bad JSON, 404 and happy path", "[integration][api]") {
  Harness h;
  auto s = seed(h);
  auto tok = client(h.server(), s.admin).request("POST", "/api/v1/tokens", R"({"role":"viewer"})");
  REQUIRE(tok);
  std::string throwaway(json::parse(tok->body).as_object().at("id").as_string());
  std::string study = seed_study(h);
  auto table = cases(s, throwaway, study);

  std::set<std::pair<std::string, std::string>> covered;
  for (const auto& rc : table) covered.insert({rc.method, rc.pattern});

  for (const auto& rc : table) {
    std::string what = rc.method + " " + rc.pattern;
    INFO(what);
    if (rc.role != Min::Public) {
      auto r = send(client(h.server(), ""), rc, rc.path, rc.body);
      REQUIRE(r);
      check_error_body(*r, 401, what + " without a token");
      r = send(client(h.server(), "ctf_not_a_real_token"), rc, rc.path, rc.body);
      REQUIRE(r);
      check_error_body(*r, 401, what + " with an unknown token");
    }
    if (rc.role == Min::Operator || rc.role == Min::Admin) {
      auto r = send(client(h.server(), s.viewer), rc, rc.path, rc.body);
      REQUIRE(r);
      check_error_body(*r, 403, what + " as viewer");
    }
    if (rc.role == Min::Admin) {
      auto r = send(client(h.server(), s.operator_token), rc, rc.path, rc.body);
      REQUIRE(r);
      check_error_body(*r, 403, what + " as operator");
    }
    if (!rc.body.empty()) {
      auto r = send(client(h.server(), s.admin), rc, rc.path, "{\"unterminated");
      REQUIRE(r);
      check_error_body(*r, 400, what + " with malformed JSON");
    }
    if (!rc.missing.empty()) {
      auto r = send(client(h.server(), s.admin), rc, rc.missing, rc.body);
      REQUIRE(r);
      check_error_body(*r, 404, what + " on a missing resource");
      CHECK(r->body.find("no route") == std::string::npos);  // the handler's 404
    }
    std::string least = rc.role == Min::Viewer     ? s.viewer
                        : rc.role == Min::Operator ? s.operator_token
                                                   : s.admin;
    auto r =
        send(client(h.server(), rc.role == Min::Public ? "" : least), rc, rc.path, rc.body, true);
    REQUIRE(r);
    INFO("happy: " << r->status << " " << r->body.substr(0, 500));
    CHECK(r->status == rc.status);
  }

  // The table covers every route of these resources that the server documents.
  auto doc = client(h.server(), "").request("GET", "/api/v1/openapi.json");
  REQUIRE(doc);
  auto doc_json = json::parse(doc->body);
  for (const auto& [path, item] : doc_json.as_object().at("paths").as_object()) {
    std::string p(path);
    bool mine = p.rfind("/api/v1/runs", 0) == 0 || p.rfind("/api/v1/pipelines", 0) == 0 ||
                p.rfind("/api/v1/models", 0) == 0 || p.rfind("/api/v1/artifacts", 0) == 0 ||
                p.rfind("/api/v1/tokens", 0) == 0 || p.rfind("/api/v1/studies", 0) == 0 ||
                p == "/api/v1/events";
    // Backfill and rerun belong to the cron work and are tested with schedules.
    bool elsewhere =
        p.find("/backfill") != std::string::npos || p.find("/rerun") != std::string::npos;
    if (!mine || elsewhere) continue;
    for (const auto& [method, op] : item.as_object()) {
      std::string m(method);
      for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      INFO("documented route without a row in this test: " << m << " " << p);
      CHECK(covered.count({m, p}) == 1);
    }
  }
}

TEST_CASE("retry-failed gives failed tasks a new attempt", "[integration][api]") {
  Harness h;
  auto s = seed(h);
  write_text(h.path("flaky-ok"), "");
  auto c = client(h.server(), s.operator_token);
  // The run alone (what `ctflow submit --wait` asks for), and a bad value of `tasks`.
  auto alone = c.request("GET", "/api/v1/runs/" + s.failed_run + "?tasks=false");
  REQUIRE(alone);
  REQUIRE(alone->status == 200);
  auto ro = json::parse(alone->body).as_object();
  CHECK(str(ro, "state") == "failed");
  CHECK(str(ro, "tasks_total") == "4");
  CHECK_FALSE(ro.contains("tasks"));
  auto full = c.request("GET", "/api/v1/runs/" + s.failed_run + "?tasks=true");
  REQUIRE(full);
  CHECK(json::parse(full->body).as_object().at("tasks").as_array().size() == 4);
  auto bad = c.request("GET", "/api/v1/runs/" + s.failed_run + "?tasks=maybe");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("tasks: expected true or false") != std::string::npos);
  auto bad_follow =
      c.request("GET", "/api/v1/runs/" + s.failed_run + "/tasks/flaky/logs?follow=yes");
  REQUIRE(bad_follow);
  CHECK(bad_follow->status == 400);
  CHECK(bad_follow->body.find("follow: expected true or false") != std::string::npos);
  auto r = c.request("POST", "/api/v1/runs/" + s.failed_run + "/retry");
  REQUIRE(r);
  REQUIRE(r->status == 202);
  auto body = json::parse(r->body).as_object();
  CHECK(json::serialize(body.at("retried")) == R"(["flaky","after"])");
  auto run = h.wait(s.failed_run);
  CHECK(str(run, "state") == "succeeded");
  CHECK(str(task_in(run, "flaky"), "attempt") == "2");
  CHECK(str(task_in(run, "train"), "attempt") == "1");  // succeeded tasks are not rerun
  CHECK(str(run, "tasks_failed") == "0");
  // Only a failed run can be retried.
  r = c.request("POST", "/api/v1/runs/" + s.failed_run + "/retry");
  REQUIRE(r);
  CHECK(r->status == 409);

  // Metrics are downsampled by step: 100 points in 10 buckets of 10.
  auto m = c.request("GET", "/api/v1/runs/" + s.failed_run + "/metrics?task=train&max_points=10");
  REQUIRE(m);
  REQUIRE(m->status == 200);
  auto series = json::parse(m->body).as_object().at("series").as_array();
  REQUIRE(series.size() == 1);
  const auto& pts = series[0].as_object().at("points").as_array();
  REQUIRE(pts.size() == 10);
  const auto& p0 = pts[0].as_object();
  CHECK(p0.at("step").to_number<double>() == 9);
  CHECK(p0.at("min").to_number<double>() == 0);
  CHECK(p0.at("max").to_number<double>() == 9);
  CHECK(p0.at("last").to_number<double>() == 9);
  CHECK(p0.at("count").to_number<double>() == 10);
  CHECK(series[0].as_object().at("points_total").as_int64() == 100);

  // Lineage: the registering task's input artifact and the task that produced it.
  auto l = c.request("GET", "/api/v1/models/digits/versions/1/lineage");
  REQUIRE(l);
  auto lin = json::parse(l->body).as_object();
  CHECK(str(lin.at("run").as_object(), "id") == s.failed_run);
  CHECK(str(lin.at("task").as_object(), "name") == "register");
  const auto& in = lin.at("inputs").as_array().at(0).as_object();
  CHECK(str(in, "digest") == s.digest);
  CHECK(str(in.at("produced_by").as_array().at(0).as_object(), "task") == "train");
  CHECK(json::serialize(lin.at("data_partitions")) == R"([{"name":"p1"}])");

  // Moving an alias supersedes the previous deployment.
  auto a = c.request("POST", "/api/v1/models/digits/aliases/production", R"({"version": 1})");
  REQUIRE(a);
  CHECK(json::parse(a->body).as_object().at("previous").as_int64() == 1);
  CHECK(h.db().count("SELECT count(*) FROM deployments WHERE superseded_at IS NULL") == 1);
  auto content = c.request("GET", "/api/v1/artifacts/" + s.digest + "/content");
  REQUIRE(content);
  CHECK(content->body == "weights\n");
}

TEST_CASE("studies: trial counts, the best trial and every trial", "[integration][api]") {
  Harness h;
  auto s = seed(h);
  std::string study = seed_study(h);
  auto c = client(h.server(), s.viewer);
  auto one = c.request("GET", "/api/v1/studies/" + study);
  REQUIRE(one);
  INFO(one->body);
  REQUIRE(one->status == 200);
  auto o = json::parse(one->body).as_object();
  CHECK(o.at("state").as_string() == "succeeded");
  CHECK(o.at("algorithm").as_string() == "grid");
  CHECK(o.at("trials").at("total").as_int64() == 2);
  CHECK(o.at("trials").at("complete").as_int64() == 2);
  // Minimising loss = x over {1, 3}: trial x=1 is the best.
  CHECK(o.at("best").at("params").at("x").as_int64() == 1);
  CHECK(o.at("best").at("value").to_number<double>() == 1.0);
  const auto& trials = o.at("trial_list").as_array();
  REQUIRE(trials.size() == 2);
  CHECK(trials[0].at("number").as_int64() == 1);
  CHECK(trials[1].at("state").as_string() == "complete");
  auto list = c.request("GET", "/api/v1/studies?run=" + std::string(o.at("run_id").as_string()));
  REQUIRE(list);
  REQUIRE(list->status == 200);
  auto arr = json::parse(list->body).at("studies").as_array();
  REQUIRE(arr.size() == 1);
  CHECK(arr[0].at("id").as_string() == study);
  auto bad = c.request("GET", "/api/v1/studies?run=abc");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  auto other = c.request("GET", "/api/v1/studies?run=" + s.failed_run);
  REQUIRE(other);
  CHECK(json::parse(other->body).at("studies").as_array().empty());
}
