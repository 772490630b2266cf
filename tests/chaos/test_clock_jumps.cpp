// Chaos: the wall clock jumps (issue 22), forward and backward, under a running server. The
// injectable clock (`--clock-file`, scheduler/common/clock.hpp) is what the cron scheduler reads;
// leases and timeouts do not read it (docs/testing.md, "Clock jumps", says what each clock
// drives). Cron as documented (docs/cron.md): a forward jump is a gap, caught up per policy
// (all: every missed fire once; none: only the fire due now, within the grace); a backward jump
// fires nothing, never a logical date twice, and the schedule goes on from its last fire when
// the clock passes it again.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdio>

#include "scheduler/common/time_util.hpp"
#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;

namespace {

// The clock file the server reads; set() replaces it by rename and wakes the scheduler.
struct JumpClock {
  TempDir dir;
  std::string path() const { return dir / "clock"; }
  void set(const std::string& iso, const Db& db) const {
    write_text(path() + ".tmp", iso + "\n");
    std::rename((path() + ".tmp").c_str(), path().c_str());
    db.exec("NOTIFY ctflow_schedules");
  }
};

double cron_counter(const ServerProcess& s, const std::string& name) {
  auto r = s.client().request("GET", "/metrics");
  REQUIRE(r);
  std::string line = "ctflow_cron{counter=\"" + name + "\"} ";
  auto at = r->body.find(line);
  REQUIRE(at != std::string::npos);
  return std::stod(r->body.substr(at + line.size()));
}

// Logical dates of a pipeline's runs, in order, as "HH:MM".
std::vector<std::string> fired(const Db& db, const std::string& pipeline) {
  return db.column(
      "SELECT to_char(r.logical_date AT TIME ZONE 'UTC', 'HH24:MI') FROM runs r JOIN pipelines p "
      "ON p.id = r.pipeline_id WHERE p.name = '" +
      pipeline + "' ORDER BY r.logical_date");
}

std::vector<std::string> minutes(int from, int to) {
  std::vector<std::string> out;
  for (int m = from; m <= to; ++m)
    out.push_back(m < 10 ? "00:0" + std::to_string(m) : "00:" + std::to_string(m));
  return out;
}

}  // namespace

TEST_CASE("clock jumps forward and backward: cron fires per policy and never twice", "[chaos]") {
  JumpClock clock;
  write_text(clock.path(), "2030-01-01T00:00:00Z\n");
  ServerConfig cfg;
  cfg.extra_args = {"--clock-file", clock.path()};
  Harness h(cfg);
  auto add = [&](const std::string& name, const std::string& schedule) {
    // A task skipped by `when`: a run costs no process.
    std::string spec = "name: " + name + "\nschedule: " + schedule +
                       "\ntasks:\n  - name: t\n    when: \"false\"\n    run: [\"true\"]\n";
    auto r = h.server().client().request(
        "POST", "/api/v1/pipelines", boost::json::serialize(boost::json::object{{"spec", spec}}));
    REQUIRE(r);
    REQUIRE((r->status == 201 || r->status == 200));
  };
  add("all", "{cron: \"* * * * *\", catchup: all}");
  add("none", "{cron: \"* * * * *\", catchup: none}");
  add("none5", "{cron: \"*/5 * * * *\", catchup: none}");
  auto runs = [&] { return h.db().count("SELECT count(*) FROM runs"); };
  auto wait_runs = [&](int64_t n, const std::string& what) {
    if (!poll_until([&] { return runs() >= n; }, 30s, 20ms))
      FAIL(what << ": " << runs() << " runs\n" << h.server().log());
  };
  // Settled: two more scheduler steps looked at the clock after the jump (no fixed sleep).
  auto two_more_steps = [&] {
    double steps = cron_counter(h.server(), "steps");
    h.db().exec("NOTIFY ctflow_schedules");
    REQUIRE(poll_until(
        [&] {
          if (cron_counter(h.server(), "steps") >= steps + 2) return true;
          h.db().exec("NOTIFY ctflow_schedules");
          return false;
        },
        10s, 50ms));
  };
  wait_runs(3, "the fires at activation");  // each schedule fires 00:00 at activation

  // Forward 12.5 minutes: all owes 00:01..00:12; none only 00:12 (30 s old, inside its 60 s
  // grace); none5's last fire, 00:10, is 2.5 minutes old: missed.
  clock.set("2030-01-01T00:12:30Z", h.db());
  wait_runs(3 + 12 + 1, "the catch-up after the forward jump");
  two_more_steps();
  CHECK(fired(h.db(), "all") == minutes(0, 12));
  CHECK(fired(h.db(), "none") == std::vector<std::string>{"00:00", "00:12"});
  CHECK(fired(h.db(), "none5") == std::vector<std::string>{"00:00"});

  // Backward 9 minutes, then forward within what already fired: nothing fires again.
  int64_t before = runs();
  for (const char* t : {"2030-01-01T00:03:30Z", "2030-01-01T00:05:00Z", "2030-01-01T00:12:59Z"}) {
    clock.set(t, h.db());
    two_more_steps();
    INFO("clock at " << t);
    CHECK(runs() == before);
  }
  // Past the last fire again: the schedule goes on from it, each minute once.
  clock.set("2030-01-01T00:13:00Z", h.db());
  wait_runs(before + 2, "the fires at 00:13");
  two_more_steps();
  CHECK(fired(h.db(), "all") == minutes(0, 13));
  CHECK(fired(h.db(), "none") == std::vector<std::string>{"00:00", "00:12", "00:13"});
  CHECK(fired(h.db(), "none5") == std::vector<std::string>{"00:00"});
  CHECK(h.db().count("SELECT count(*) FROM schedule_fires") == runs());
  CHECK(h.db().count("SELECT count(*) FROM (SELECT schedule_id, logical_date FROM schedule_fires "
                     "GROUP BY 1, 2 HAVING count(*) > 1) d") == 0);
  // Each schedule's next fire is after its last one, whatever the clock did.
  CHECK(h.db().count("SELECT count(*) FROM schedules WHERE next_fire_at <= last_logical_date") ==
        0);
}
