// The engine's planner is pure: these tests need no database, clock or process.
#include <catch2/catch.hpp>

#include "scheduler/engine/plan.hpp"
#include "scheduler/spec/parse.hpp"

using namespace ctflow;
using namespace ctflow::engine;

namespace {
const TimePoint kNow = *parse_iso8601("2026-03-01T00:00:00Z");

TaskFacts facts(int attempt, int max_attempts) {
  TaskFacts f;
  f.attempt = attempt;
  f.max_attempts = max_attempts;
  f.retry.backoff = Millis(2000);
  f.retry.factor = 2;
  f.retry.max_backoff = Millis(5000);
  f.timeout = Millis(30'000);
  return f;
}

spec::Pipeline parse(const char* yaml) {
  auto r = spec::parse_pipeline(yaml);
  REQUIRE(r.errors.empty());
  return *r.pipeline;
}
}  // namespace

TEST_CASE("backoff grows by the factor and stops at max_backoff", "[engine][plan]") {
  auto f = facts(1, 5);
  CHECK(backoff_delay(f.retry, 1) == Millis(2000));
  CHECK(backoff_delay(f.retry, 2) == Millis(4000));
  CHECK(backoff_delay(f.retry, 3) == Millis(5000));
  CHECK(backoff_delay(f.retry, 60) == Millis(5000));  // no overflow
}

TEST_CASE("exit 0 succeeds - a failure retries while attempts remain", "[engine][plan]") {
  AttemptOutcome ok;
  ok.exit_code = 0;
  CHECK(plan_completion(facts(1, 1), ok, kNow).state == "succeeded");

  AttemptOutcome bad;
  bad.exit_code = 3;
  auto retry = plan_completion(facts(1, 3), bad, kNow);
  CHECK(retry.state == "ready");
  CHECK(retry.attempt_state == "failed");
  REQUIRE(retry.not_before);
  CHECK(*retry.not_before - kNow == std::chrono::seconds(2));
  CHECK(retry.error->find("exit code 3") != std::string::npos);

  auto last = plan_completion(facts(3, 3), bad, kNow);
  CHECK(last.state == "failed");
  CHECK(*last.error == "exit code 3");
}

TEST_CASE("timeouts, signals, cancellation and missing commands", "[engine][plan]") {
  AttemptOutcome to;
  to.signal = 15;
  to.timed_out = true;
  CHECK(*plan_completion(facts(1, 1), to, kNow).error == "timed out after 30s");

  AttemptOutcome killed;
  killed.signal = 9;
  CHECK(*plan_completion(facts(1, 1), killed, kNow).error == "killed by signal 9");

  AttemptOutcome cancelled;
  cancelled.signal = 15;
  cancelled.cancelled = true;
  auto c = plan_completion(facts(1, 3), cancelled, kNow);
  CHECK(c.state == "cancelled");  // no retry after a cancel

  AttemptOutcome nf;
  nf.error = "command not found: nope";
  nf.failure = exec::Failure::NotFound;
  auto n = plan_completion(facts(1, 3), nf, kNow);
  CHECK(n.state == "failed");  // retrying cannot make a command appear
  CHECK(*n.error == "command not found: nope");
}

TEST_CASE("executor failure reasons decide retries, not their messages", "[engine][plan]") {
  AttemptOutcome config;  // the cluster refused our credentials: the same again would fail
  config.failure = exec::Failure::Config;
  config.error = "kubernetes: creating Job x: 403 Forbidden";
  auto c = plan_completion(facts(1, 3), config, kNow);
  CHECK(c.state == "failed");
  CHECK(c.error->find("403 Forbidden") != std::string::npos);
  AttemptOutcome oom;  // another attempt may fit (or the node may differ)
  oom.failure = exec::Failure::OomKilled;
  oom.exit_code = 137;
  oom.error = "OOMKilled: the container exceeded its memory limit";
  auto o = plan_completion(facts(1, 3), oom, kNow);
  CHECK(o.state == "ready");
  CHECK(o.error->find("OOMKilled") != std::string::npos);
  AttemptOutcome lost;
  lost.failure = exec::Failure::Lost;
  lost.error = "lost: its Job ctflow-1-1 was deleted";
  CHECK(plan_completion(facts(1, 1), lost, kNow).attempt_state == "lost");
  // A message that merely looks like a missing command is an ordinary failure.
  AttemptOutcome text;
  text.error = "command not found: nope";
  CHECK(plan_completion(facts(1, 3), text, kNow).state == "ready");
}

TEST_CASE("an attempt fenced before it started is dispatched again without using a retry",
          "[engine][plan]") {
  AttemptOutcome o;
  o.not_started = true;
  auto t = plan_completion(facts(1, 1), o, kNow);
  CHECK(t.state == "ready");
  CHECK(t.refund);
  CHECK(t.attempt_state == "lost");
}

TEST_CASE("a bad outputs file fails a task that exited 0", "[engine][plan]") {
  AttemptOutcome o;
  o.exit_code = 0;
  o.result_error = "outputs file: invalid JSON";
  auto t = plan_completion(facts(1, 1), o, kNow);
  CHECK(t.state == "failed");
  CHECK(*t.error == "outputs file: invalid JSON");
}

TEST_CASE("dispatch renders argv and env, and evaluates when", "[engine][plan]") {
  auto p = parse(R"(
name: p
params: {who: {type: string, default: x}}
tasks:
  - {name: a, run: [echo, "{{params.who}}"]}
  - name: b
    needs: [a]
    when: "{{tasks.a.outputs.ok}} == true"
    env: {GREETING: "hi {{params.who}}", TOKEN: {secret: tok}}
    run: [echo, "{{tasks.a.outputs.n}}", "{{run.id}}"]
)");
  spec::TemplateContext ctx;
  ctx.params["who"] = "world";
  ctx.run.id = "7";
  ctx.outputs["a"] = {{"ok", true}, {"n", 3}};
  auto d = plan_dispatch(p.tasks[1], ctx);
  REQUIRE(d.kind == DispatchPlan::Kind::Run);
  CHECK(d.argv == std::vector<std::string>{"echo", "3", "7"});
  REQUIRE(d.env.size() == 1);
  CHECK(d.env[0].second == "hi world");
  REQUIRE(d.secrets.size() == 1);
  CHECK(d.secrets[0] == std::pair<std::string, std::string>{"TOKEN", "tok"});

  ctx.outputs["a"]["ok"] = false;
  CHECK(plan_dispatch(p.tasks[1], ctx).kind == DispatchPlan::Kind::Skip);

  ctx.outputs["a"] = {};  // a missing output is an error, not a silent empty string
  auto f = plan_dispatch(p.tasks[1], ctx);
  CHECK(f.kind == DispatchPlan::Kind::Fail);
  CHECK(f.reason.rfind("when: ", 0) == 0);
}

TEST_CASE("a task reads upstream outputs only through a condition or a template",
          "[engine][plan]") {
  auto p = parse(R"(
name: p
params: {who: {type: string, default: x}}
tasks:
  - {name: a, run: ["true"]}
  - {name: plain, needs: [a], run: [echo, hello], env: {X: "1"}}
  - {name: argv, needs: [a], run: [echo, "{{tasks.a.outputs.n}}"]}
  - {name: env, needs: [a], run: ["true"], env: {N: "{{tasks.a.outputs.n}}"}}
  - {name: param, needs: [a], run: [echo, "{{params.who}}"]}
  - {name: cond, needs: [a], when: "{{tasks.a.outputs.ok}} == true", run: ["true"]}
)");
  CHECK_FALSE(reads_upstream(*p.task("a")));
  CHECK_FALSE(reads_upstream(*p.task("plain")));
  CHECK(reads_upstream(*p.task("argv")));
  CHECK(reads_upstream(*p.task("env")));
  CHECK(reads_upstream(*p.task("param")));  // any template: its context is filled whole
  CHECK(reads_upstream(*p.task("cond")));
}

TEST_CASE("cache keys change with any component and misses say which", "[engine][plan]") {
  CacheComponents a{"cmd", "in", "bin"};
  CacheComponents b = a;
  CHECK(cache_key(a) == cache_key(b));
  b.inputs = "other";
  CHECK(cache_key(a) != cache_key(b));
  CHECK(explain_miss(std::nullopt, a) == "miss: no earlier successful run of this task");
  CHECK(explain_miss(a.to_json(), b) ==
        "miss: input artifacts changed since the last successful run");
  CacheComponents c{"cmd2", "in", "bin2"};
  CHECK(explain_miss(a.to_json(), c) ==
        "miss: command, executable changed since the last successful run");
}

TEST_CASE("ancestors are nearest first and capped", "[engine][plan]") {
  auto p = parse(R"(
name: d
tasks:
  - {name: a, run: ["true"]}
  - {name: b, needs: [a], run: ["true"]}
  - {name: c, needs: [a], run: ["true"]}
  - {name: d, needs: [b, c], run: ["true"]}
)");
  auto anc = ancestors(p, 3, 10);
  REQUIRE(anc.size() == 3);
  CHECK(anc[0] == 1);
  CHECK(anc[1] == 2);
  CHECK(anc[2] == 0);
  CHECK(ancestors(p, 3, 2).size() == 2);
  CHECK(ancestors(p, 0, 10).empty());
}

TEST_CASE("build_graph lists parents and children by spec index", "[engine][plan]") {
  auto p = parse(R"(
name: g
tasks:
  - {name: a, run: ["true"]}
  - {name: b, needs: [a], run: ["true"]}
  - {name: c, needs: [a, b], run: ["true"]}
)");
  Graph g = build_graph(p);
  REQUIRE(g.parents.size() == 3);
  CHECK(g.parents[0].empty());
  CHECK(g.parents[2] == std::vector<int>{0, 1});
  CHECK(g.children[0] == std::vector<int>{1, 2});
  CHECK(g.children[1] == std::vector<int>{2});
  CHECK(g.children[2].empty());
  CHECK_FALSE(g.any_hpo);
  CHECK(ancestors(g.parents, 2, 10) == std::vector<int>{0, 1});
}

TEST_CASE("build_graph lists children in claim order: priority, then spec index",
          "[engine][plan]") {
  auto p = parse(R"(
name: g
tasks:
  - {name: root, run: ["true"]}
  - {name: late, needs: [root], priority: 5, run: ["true"]}
  - {name: a, needs: [root], run: ["true"]}
  - {name: urgent, needs: [root], priority: -5, run: ["true"]}
  - {name: b, needs: [root], run: ["true"]}
)");
  Graph g = build_graph(p);
  CHECK(g.children[0] == std::vector<int>{3, 2, 4, 1});
}
