// The metrics registry and its text exposition format 0.0.4.
#include "scheduler/api/http/metrics.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace ctflow::http;

TEST_CASE("counters and gauges render in the text format", "[http][metrics]") {
  MetricsRegistry m;
  m.counter("ctflow_runs_total", "Runs submitted", {{"state", "ok"}}).inc();
  m.counter("ctflow_runs_total", "Runs submitted", {{"state", "ok"}}).inc(2);
  m.counter("ctflow_runs_total", "Runs submitted", {{"state", "a\"b\\c\nd"}}).inc();
  m.gauge("ctflow_queue_depth", "Ready tasks").set(2.5);
  CHECK(m.expose() ==
        "# HELP ctflow_queue_depth Ready tasks\n"
        "# TYPE ctflow_queue_depth gauge\n"
        "ctflow_queue_depth 2.5\n"
        "# HELP ctflow_runs_total Runs submitted\n"
        "# TYPE ctflow_runs_total counter\n"
        "ctflow_runs_total{state=\"a\\\"b\\\\c\\nd\"} 1\n"
        "ctflow_runs_total{state=\"ok\"} 3\n");
}

TEST_CASE("histograms have cumulative buckets, +Inf, sum and count", "[http][metrics]") {
  MetricsRegistry m;
  Histogram& h = m.histogram("ctflow_claim_seconds", "Claim latency", {0.125, 1}, {{"q", "x"}});
  h.observe(0.0625);
  h.observe(0.125);  // le is inclusive
  h.observe(0.5);
  h.observe(7);
  CHECK(m.expose() ==
        "# HELP ctflow_claim_seconds Claim latency\n"
        "# TYPE ctflow_claim_seconds histogram\n"
        "ctflow_claim_seconds_bucket{q=\"x\",le=\"0.125\"} 2\n"
        "ctflow_claim_seconds_bucket{q=\"x\",le=\"1\"} 3\n"
        "ctflow_claim_seconds_bucket{q=\"x\",le=\"+Inf\"} 4\n"
        "ctflow_claim_seconds_sum{q=\"x\"} 7.6875\n"
        "ctflow_claim_seconds_count{q=\"x\"} 4\n");
}

TEST_CASE("callback gauges are computed at scrape time - a failing one is left out",
          "[http][metrics]") {
  MetricsRegistry m;
  int scrapes = 0;
  m.gauge_callback("ctflow_runs", "Runs by state", [&] {
    ++scrapes;
    return std::vector<MetricsRegistry::Sample>{{{{"state", "running"}}, 3}};
  });
  m.gauge_callback("ctflow_broken", "Throws", []() -> std::vector<MetricsRegistry::Sample> {
    throw std::runtime_error("database down");
  });
  std::string text = m.expose();
  CHECK(text.find("ctflow_runs{state=\"running\"} 3\n") != std::string::npos);
  CHECK(text.find("ctflow_broken") == std::string::npos);
  m.expose();
  CHECK(scrapes == 2);
}

TEST_CASE("registration errors are programming errors", "[http][metrics]") {
  MetricsRegistry m;
  m.counter("ctflow_x_total", "x");
  CHECK_THROWS_AS(m.gauge("ctflow_x_total", "x"), std::logic_error);
  CHECK_THROWS_AS(m.counter("1bad", "x"), std::logic_error);
  CHECK_THROWS_AS(m.counter("ctflow_y_total", "y", {{"le", "1"}}), std::logic_error);
  m.histogram("ctflow_h", "h", {1, 2});
  CHECK_THROWS_AS(m.histogram("ctflow_h", "h", {1, 3}), std::logic_error);
  CHECK_THROWS_AS(m.histogram("ctflow_h2", "h", {2, 1}), std::logic_error);
}

TEST_CASE("metric values format like Prometheus", "[http][metrics]") {
  CHECK(format_metric_value(3) == "3");
  CHECK(format_metric_value(-0.25) == "-0.25");
  CHECK(format_metric_value(1.0 / 0.0) == "+Inf");
  CHECK(format_metric_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("the metrics route is public text/plain 0.0.4", "[http][metrics]") {
  MetricsRegistry m;
  m.counter("ctflow_hits_total", "hits").inc();
  Router r;
  r.add(metrics_route(m));
  Request req;
  req.method = "GET";
  req.path = "/metrics";
  Response res = r.handle_request(req);
  CHECK(res.status == 200);
  CHECK(res.content_type.find("version=0.0.4") != std::string::npos);
  CHECK(res.body.find("ctflow_hits_total 1\n") != std::string::npos);
}
