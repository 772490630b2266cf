// Integration: cron schedules in the server (issue 4, acceptance 2) with a controllable clock.
// Servers run with the hidden `--clock-file PATH` flag: the cron scheduler's "now" is the instant
// in that file; a test writes a new instant and sends NOTIFY ctflow_schedules to wake them.
// Covered: two replicas fire 100 minutes exactly once; a 3-hour outage caught up per catchup
// policy (all, latest, none) exactly once; forbid skips and replace cancels; backfill exactly
// once under max_active_runs; rerun --from reuses upstream outputs; the CLI verbs.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <string>
#include <thread>

#include "scheduler/common/time_util.hpp"
#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;
using ctflow::format_iso8601;
using ctflow::parse_iso8601;
using ctflow::TimePoint;

namespace {

const TimePoint kT0 = *parse_iso8601("2030-01-01T00:00:00Z");

// The test's clock: a file the servers read, and the NOTIFY that wakes their schedulers.
class TestClock {
 public:
  TestClock() { write(kT0); }
  std::string path() const { return dir_ / "clock"; }
  std::vector<std::string> args() const { return {"--clock-file", path()}; }
  void write(TimePoint t) {
    write_text(path() + ".tmp", format_iso8601(t) + "\n");
    std::rename((path() + ".tmp").c_str(), path().c_str());
  }
  void set(TimePoint t, const Db& db) {
    write(t);
    db.exec("NOTIFY ctflow_schedules");
  }

 private:
  TempDir dir_;
};

ServerConfig with_clock(const TestClock& c) {
  ServerConfig cfg;
  cfg.extra_args = c.args();
  return cfg;
}

// A second replica on the harness's database.
std::unique_ptr<ServerProcess> replica(Harness& h, const TestClock& c) {
  ServerConfig cfg = with_clock(c);
  cfg.database_url = h.db().url();
  cfg.data_dir = h.path("server2");
  cfg.log_path = h.path("server2.log");
  auto s = std::make_unique<ServerProcess>(cfg);
  s->start();
  return s;
}

// Stores a pipeline version (which upserts its schedule) without running it.
void register_pipeline(const ServerProcess& s, const std::string& spec) {
  auto r = s.client().request("POST", "/api/v1/pipelines",
                              boost::json::serialize(boost::json::object{{"spec", spec}}));
  REQUIRE(r);
  INFO(r->body);
  REQUIRE((r->status == 201 || r->status == 200));
}

// A pipeline whose single task is skipped by `when`, so a run costs no process.
std::string cheap(const std::string& name, const std::string& schedule) {
  return "name: " + name + "\nschedule: " + schedule +
         "\ntasks:\n  - name: t\n    when: \"false\"\n    run: [\"true\"]\n";
}

std::string sleeper(const std::string& name, const std::string& schedule) {
  return "name: " + name + "\nschedule: " + schedule +
         "\ntasks:\n  - name: t\n    run: [sleep, \"300\"]\n";
}

int64_t fires(const Db& db, const std::string& pipeline, const std::string& where = "true") {
  return db.count(
      "SELECT count(*) FROM schedule_fires f JOIN schedules s ON s.id = f.schedule_id JOIN "
      "pipelines p ON p.id = s.pipeline_id WHERE p.name = '" +
      pipeline + "' AND " + where);
}

int64_t runs(const Db& db, const std::string& pipeline, const std::string& where = "true") {
  return db.count(
      "SELECT count(*) FROM runs r JOIN pipelines p ON p.id = r.pipeline_id WHERE "
      "p.name = '" +
      pipeline + "' AND " + where);
}

void wait_for(const std::function<bool()>& pred, const std::string& what, Harness& h,
              std::chrono::milliseconds timeout = 30s) {
  if (!poll_until(pred, timeout, 20ms)) FAIL(what << "\nserver log:\n" << h.server().log());
}

// A counter of the server's ctflow_cron family on /metrics; -1 when the line is missing.
double cron_counter(const ServerProcess& s, const std::string& name) {
  auto r = s.client().request("GET", "/metrics");
  REQUIRE(r);
  std::string line = "ctflow_cron{counter=\"" + name + "\"} ";
  auto at = r->body.find(line);
  return at == std::string::npos ? -1 : std::stod(r->body.substr(at + line.size()));
}

}  // namespace

TEST_CASE("two replicas: 100 fires give exactly 100 runs", "[integration][schedule]") {
  TestClock clock;
  Harness h(with_clock(clock));
  auto s2 = replica(h, clock);
  // Activation at T0 fires T0 itself; each minute after it fires once more.
  register_pipeline(h.server(), cheap("every-minute", "{cron: \"* * * * *\", catchup: all}"));
  for (int i = 0; i < 100; ++i) {
    if (i > 0) clock.set(kT0 + std::chrono::minutes(i), h.db());
    wait_for([&] { return fires(h.db(), "every-minute") >= i + 1; }, "fire " + std::to_string(i),
             h);
  }
  CHECK(fires(h.db(), "every-minute") == 100);
  CHECK(runs(h.db(), "every-minute") == 100);
  CHECK(runs(h.db(), "every-minute", "trigger = 'schedule'") == 100);
  CHECK(h.db().count("SELECT count(DISTINCT logical_date) FROM runs") == 100);
  CHECK(h.db().text("SELECT iso(max(logical_date)) FROM runs") == "2030-01-01T01:39:00Z");
  // The data interval is the previous cron fire up to this one.
  CHECK(h.db().count("SELECT count(*) FROM runs WHERE data_interval_end = logical_date AND "
                     "data_interval_start = logical_date - interval '1 minute'") == 100);
  // Each replica counts the runs it created on /metrics: together, every fire once.
  CHECK(cron_counter(h.server(), "runs_created") + cron_counter(*s2, "runs_created") == 100);
  CHECK(cron_counter(h.server(), "steps") > 0);
}

TEST_CASE("a 3-hour outage is caught up per policy, exactly once", "[integration][schedule]") {
  TestClock clock;
  Harness h(with_clock(clock));
  auto s2 = replica(h, clock);
  register_pipeline(h.server(), cheap("all", "{cron: \"* * * * *\", catchup: all}"));
  register_pipeline(h.server(), cheap("latest", "{cron: \"* * * * *\", catchup: latest}"));
  register_pipeline(h.server(), cheap("none", "{cron: \"* * * * *\", catchup: none}"));
  register_pipeline(h.server(), cheap("none10", "{cron: \"*/10 * * * *\", catchup: none}"));
  wait_for([&] { return h.db().count("SELECT count(*) FROM schedule_fires") == 4; },
           "the four fires at T0", h);
  h.server().stop();
  s2->stop();
  // Down for 3 hours 5 minutes 30 seconds of simulated time.
  TimePoint back = kT0 + std::chrono::hours(3) + std::chrono::minutes(5) + std::chrono::seconds(30);
  clock.write(back);
  h.server().start();
  s2->start();
  std::string missed = "logical_date > '2030-01-01T00:00:00Z'";
  wait_for([&] { return runs(h.db(), "all", missed) == 185; }, "catch-up of all", h, 60s);
  // Let both schedulers take a few more looks (sweep 500 ms): nothing more may appear.
  std::this_thread::sleep_for(1500ms);
  CHECK(runs(h.db(), "all", missed) == 185);
  CHECK(h.db().count("SELECT count(DISTINCT logical_date) FROM runs r JOIN pipelines p ON "
                     "p.id = r.pipeline_id WHERE p.name = 'all'") == 186);
  // latest: the most recent fire only.
  CHECK(runs(h.db(), "latest", missed) == 1);
  CHECK(h.db().text("SELECT iso(max(logical_date)) FROM runs r JOIN pipelines p ON p.id = "
                    "r.pipeline_id WHERE p.name = 'latest'") == "2030-01-01T03:05:00Z");
  // none: no missed fire; only the fire of the current minute (30 s old, inside the 60 s grace).
  CHECK(runs(h.db(), "none", missed + " AND logical_date < '2030-01-01T03:05:00Z'") == 0);
  CHECK(runs(h.db(), "none", missed) == 1);
  // none with */10: the last fire (03:00) is 5.5 minutes old at restart: missed, not run.
  CHECK(runs(h.db(), "none10", missed) == 0);
  // Another restart changes nothing.
  h.server().stop();
  h.server().start();
  std::this_thread::sleep_for(1000ms);
  CHECK(h.db().count("SELECT count(*) FROM runs") == 4 + 185 + 1 + 1);
}

TEST_CASE("forbid skips a fire while a run is active - replace cancels it",
          "[integration][schedule]") {
  TestClock clock;
  Harness h(with_clock(clock));
  register_pipeline(h.server(), sleeper("forbid", "{cron: \"* * * * *\", concurrency: forbid}"));
  register_pipeline(h.server(), sleeper("replace", "{cron: \"* * * * *\", concurrency: replace}"));
  wait_for(
      [&] {
        return runs(h.db(), "forbid", "state = 'running'") == 1 &&
               runs(h.db(), "replace", "state = 'running'") == 1;
      },
      "the first runs", h);
  std::string first_replace = h.db().text(
      "SELECT r.id FROM runs r JOIN pipelines p ON p.id = r.pipeline_id WHERE p.name = 'replace'");
  clock.set(kT0 + std::chrono::minutes(1), h.db());
  wait_for([&] { return fires(h.db(), "forbid") == 2 && fires(h.db(), "replace") == 2; },
           "the second fires", h);
  CHECK(fires(h.db(), "forbid", "outcome = 'skipped_forbid' AND run_id IS NULL") == 1);
  CHECK(runs(h.db(), "forbid") == 1);
  CHECK(fires(h.db(), "replace", "outcome = 'replaced'") == 1);
  CHECK(runs(h.db(), "replace") == 2);
  auto old = h.wait(first_replace, 30s);
  CHECK(str(old, "state") == "cancelled");
  // "Trigger now" (logical date = the clock) obeys the policy too: forbid refuses while its run
  // is active, and an instant fired already is a conflict.
  auto dup = h.cli({"schedule", "trigger", "forbid"});
  CHECK(dup.rc == 2);
  CHECK(dup.err.find("2030-01-01T00:01:00Z of forbid was fired already") != std::string::npos);
  clock.write(kT0 + std::chrono::seconds(90));
  auto t = h.cli({"schedule", "trigger", "forbid"});
  CHECK(t.rc == 2);
  CHECK(t.err.find("concurrency forbid") != std::string::npos);
  CHECK(fires(h.db(), "forbid", "kind = 'trigger' AND outcome = 'skipped_forbid'") == 1);
  auto ok = h.cli({"schedule", "trigger", "replace"});
  CHECK(ok.rc == 0);
  CHECK(fires(h.db(), "replace", "kind = 'trigger' AND outcome = 'replaced'") == 1);
  for (const auto& id : h.db().column("SELECT id FROM runs WHERE state IN ('queued','running')"))
    h.server().client().request("POST", "/api/v1/runs/" + id + "/cancel");
}

TEST_CASE("backfill creates one run per logical date, once, under max_active_runs",
          "[integration][schedule]") {
  TestClock clock;
  clock.write(kT0 + std::chrono::minutes(30));  // the hourly schedule itself stays quiet
  Harness h(with_clock(clock));
  register_pipeline(h.server(),
                    "name: hourly\nschedule: {cron: \"0 * * * *\", max_active_runs: "
                    "2}\ntasks:\n  - name: t\n    run: [sleep, \"0.3\"]\n");
  std::vector<std::string> args{
      "backfill", "hourly", "--from", "2029-12-31T00:00:00Z", "--to", "2029-12-31T05:00:00Z"};
  auto first = h.cli(args);
  REQUIRE(first.rc == 0);
  CHECK(first.err.find("6 run(s) created, 0 fired before") != std::string::npos);
  int max_running = 0;
  poll_until(
      [&] {
        max_running = std::max<int>(max_running, runs(h.db(), "hourly", "state = 'running'"));
        return runs(h.db(), "hourly", "state = 'succeeded'") == 6;
      },
      60s, 10ms);
  CHECK(runs(h.db(), "hourly", "state = 'succeeded' AND trigger = 'backfill'") == 6);
  CHECK(max_running >= 1);
  CHECK(max_running <= 2);
  auto again = h.cli(args);
  REQUIRE(again.rc == 0);
  CHECK(again.err.find("0 run(s) created, 6 fired before") != std::string::npos);
  CHECK(runs(h.db(), "hourly") == 6);
  // Pause shows in the listing; a bad range is a 400 with the reason.
  REQUIRE(h.cli({"schedule", "pause", "hourly"}).rc == 0);
  auto list = h.cli({"schedules", "-o", "json"});
  CHECK(list.out.find("\"paused\":true") != std::string::npos);
  auto bad = h.cli({"backfill", "hourly", "--from", "2030-01-02", "--to", "2030-01-01"});
  CHECK(bad.rc == 2);
  // A newer version without a schedule block retires the schedule.
  register_pipeline(h.server(), "name: hourly\ntasks:\n  - name: t\n    run: [\"true\"]\n");
  auto gone = h.server().client().request("GET", "/api/v1/schedules/hourly");
  REQUIRE(gone);
  CHECK(gone->status == 404);
  CHECK(h.cli({"schedules", "-o", "json"}).out.find("hourly") == std::string::npos);
}

TEST_CASE("rerun --from reuses the outputs of upstream tasks", "[integration][schedule]") {
  Harness h;
  std::string spec = R"(name: chain
tasks:
  - name: a
    run: [sh, -c, 'echo "{\"outputs\": {\"x\": \"$RANDOM$$\"}}" > "$CTFLOW_OUTPUTS"']
  - name: b
    needs: [a]
    run: [sh, -c, 'echo "{\"outputs\": {\"y\": \"$1\"}}" > "$CTFLOW_OUTPUTS"', b, "{{tasks.a.outputs.x}}"]
  - name: c
    needs: [b]
    run: ["true"]
)";
  auto old_id = h.submit(spec);
  auto old = h.wait(old_id);
  REQUIRE(str(old, "state") == "succeeded");
  auto r = h.cli({"rerun", old_id, "--from", "b"});
  REQUIRE(r.rc == 0);
  std::string new_id = r.out.substr(0, r.out.find('\n'));
  auto run = h.wait(new_id);
  REQUIRE(str(run, "state") == "succeeded");
  // a did not run again: attempt 0 here, one attempt in all; b and c ran once each.
  CHECK(task_in(run, "a").at("attempt").as_int64() == 0);
  CHECK(str(task_in(run, "a"), "cache_reason") == "reused from run " + old_id);
  CHECK(task_in(run, "b").at("attempt").as_int64() == 1);
  CHECK(task_in(run, "c").at("attempt").as_int64() == 1);
  CHECK(h.db().count("SELECT count(*) FROM task_attempts ta JOIN task_runs t ON t.id = "
                     "ta.task_run_id WHERE t.name = 'a'") == 1);
  // b read the reused output of a.
  auto x = task_in(old, "a").at("outputs").as_object().at("x");
  CHECK(task_in(run, "b").at("outputs").as_object().at("y") == x);
  CHECK(h.db().text("SELECT rerun_of FROM runs WHERE id = " + new_id) == old_id);
  auto bad = h.cli({"rerun", old_id, "--from", "nope"});
  CHECK(bad.rc == 2);
  CHECK(bad.err.find("is not a task of pipeline chain") != std::string::npos);
}
