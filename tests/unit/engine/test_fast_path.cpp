// The fast path's rules, without a database: an engine core over a recording executor, and the
// fast path's hooks called as a pass calls them (fast_path.hpp).
#include <catch2/catch.hpp>

#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"

namespace ctflow::engine {

namespace {

// Records what the engine asks; offers chain acceleration.
struct RecordingExecutor : exec::Executor, exec::ChainAcceleration {
  std::vector<std::pair<std::string, std::chrono::milliseconds>> cancels;
  std::vector<std::string> disarms;
  std::string attempt_dir(const std::string& key) const override { return "/nonexistent/" + key; }
  std::string ref_prefix() const override { return "test:"; }
  void start(const exec::SpawnRequest&) override {}
  void cancel(const std::string& key, std::chrono::milliseconds grace) override {
    cancels.emplace_back(key, grace);
  }
  exec::AdoptState adopt(const std::string&) override { return exec::AdoptState::Lost; }
  std::string code_digest(const std::string&, const std::string&, const exec::Placement&) override {
    return "none";
  }
  bool accelerates = true;
  ChainAcceleration* chain_acceleration() override { return accelerates ? this : nullptr; }
  std::vector<exec::ExecEvent> drain() override { return {}; }
  void set_wakeup(std::function<void(exec::Wake)>) override {}
  void shutdown() override {}
  bool note_early_start(const std::string&, const std::string&) override { return true; }
  void prepare(const std::vector<std::string>&) override {}
  bool arm(const std::string&, const exec::SpawnRequest&) override { return true; }
  void disarm(const std::string& parent) override { disarms.push_back(parent); }
  void limit(int) override {}
};

exec::ExecEvent exited(const std::string& key, std::vector<std::string> fired = {}) {
  exec::ExecEvent ev;
  ev.key = key;
  ev.exit_code = 0;
  ev.fired = std::move(fired);
  return ev;
}

}  // namespace

// Reaches into the core and the fast path (friend of both) to set up their state.
struct FastPathTest {
  explicit FastPathTest(EngineOptions o = {}, bool accelerates = true)
      : ex(make(accelerates)), core(std::move(o), ex) {}
  static RecordingExecutor make(bool accelerates) {
    RecordingExecutor e;
    e.accelerates = accelerates;
    return e;
  }
  RecordingExecutor ex;
  Core core;
  bool has_fast_path() const { return core.fast_ != nullptr; }
  const EngineOptions& options() const { return core.opt_; }
  FastPath& fast() { return *core.fast_; }
  void arm(const std::string& child, const std::string& parent) {
    fast().armed_[child] = {.parent = parent};
    fast().armed_on_[parent] = child;
  }
  bool armed(const std::string& key) { return fast().armed_.count(key) > 0; }
  const std::vector<std::string>& fired_now() { return fast().fired_now_; }
  void know_ready(int priority, int64_t id) {
    DirectPlan d;
    d.task_run_id = id;
    fast().known_ready_[{priority, id}] = d;
    fast().known_priority_[id] = priority;
  }
  size_t known_ready() { return fast().known_ready_.size(); }
  bool unknown_ready() { return fast().unknown_ready_; }
};

TEST_CASE("fast path: an armed child fires only on its parent's plain success", "[engine][fast]") {
  FastPathTest t;
  t.arm("2-1", "1-1");
  Active parent;
  parent.run_id = 7;
  t.fast().exited(exited("1-1", {"2-1"}), parent, /*plain=*/true);
  CHECK(t.fired_now() == std::vector<std::string>{"2-1"});
  CHECK(t.ex.cancels.empty());

  FastPathTest u;  // the same exit, but the parent wrote outputs or artifacts: not plain
  u.arm("2-1", "1-1");
  u.fast().exited(exited("1-1", {"2-1"}), parent, /*plain=*/false);
  CHECK(u.fired_now().empty());
  REQUIRE(u.ex.cancels.size() == 1);  // killed: it started, but must not have
  CHECK(u.ex.cancels[0].first == "2-1");
  CHECK_FALSE(u.armed("2-1"));
}

TEST_CASE("fast path: what was armed on an exit that fired nothing is dropped", "[engine][fast]") {
  FastPathTest t;
  t.arm("2-1", "1-1");
  t.arm("3-1", "2-1");
  Active parent;
  t.fast().exited(exited("1-1"), parent, true);  // the executor started nothing
  CHECK_FALSE(t.armed("2-1"));
  CHECK_FALSE(t.armed("3-1"));  // and what hung below it
  CHECK(t.fired_now().empty());
}

TEST_CASE("fast path: events of armed children wait for their dispatch, strays are stopped",
          "[engine][fast]") {
  FastPathTest t;
  t.arm("2-1", "1-1");
  CHECK(t.fast().unknown_event(exited("2-1")));  // deferred until its dispatch commits
  CHECK_FALSE(t.fast().unknown_event(exited("9-1", {"10-1"})));  // not ours, and fired: killed
  REQUIRE(t.ex.cancels.size() == 1);
  CHECK(t.ex.cancels[0].first == "10-1");
}

TEST_CASE("fast path: a failure in the pass plans no direct dispatch", "[engine][fast]") {
  FastPathTest t;
  t.know_ready(0, 5);
  Pass p;
  p.fin.ops.resize(1);
  p.fin.failed.push_back(1);
  t.fast().plan(p);
  CHECK(p.direct.empty());  // the failure's transaction claims what is left
  Pass q;
  q.fin.ops.resize(1);
  t.fast().plan(q);
  REQUIRE(q.direct.size() == 1);  // without one, the known ready task goes in the statement
  CHECK(q.direct[0].task_run_id == 5);
}

TEST_CASE("fast path: known ready tasks are taken in claim order", "[engine][fast]") {
  FastPathTest t;
  t.know_ready(5, 1);
  t.know_ready(-5, 3);
  t.know_ready(0, 2);
  Pass p;
  p.fin.ops.resize(1);
  t.fast().plan(p);
  std::vector<int64_t> ids;
  for (const auto& d : p.direct) ids.push_back(d.task_run_id);
  CHECK(ids == std::vector<int64_t>{3, 2, 1});
  CHECK(p.max_key == std::pair<int, int64_t>{5, 1});  // the statement checks none come before
}

TEST_CASE("fast path: a full claim or a sweep forgets what it knew of ready tasks",
          "[engine][fast]") {
  FastPathTest t;
  t.know_ready(0, 1);
  t.fast().claimed(/*full=*/true, /*sweep=*/false);
  CHECK(t.unknown_ready());  // a ready task may exist that it does not know
  CHECK(t.known_ready() == 1);
  t.fast().claimed(false, /*sweep=*/true);
  CHECK_FALSE(t.unknown_ready());
  CHECK(t.known_ready() == 0);
}

TEST_CASE("fast path: a deployment change disarms what is armed", "[engine][fast]") {
  FastPathTest t;
  t.arm("2-1", "1-1");
  t.fast().models_changed();
  CHECK(t.ex.disarms == std::vector<std::string>{"1-1"});
}

TEST_CASE("no fast path without the option, no early starts without chain acceleration",
          "[engine][fast]") {
  EngineOptions plain;
  plain.fast_path = false;
  FastPathTest off(plain);
  CHECK_FALSE(off.has_fast_path());
  CHECK_FALSE(off.options().start_early);
  CHECK(off.options().arm_depth == 0);
  FastPathTest slow({}, /*accelerates=*/false);  // e.g. Kubernetes: direct dispatch only
  CHECK(slow.has_fast_path());
  CHECK_FALSE(slow.options().start_early);
  CHECK(slow.options().dispatch_ahead == 0);
  FastPathTest on;
  CHECK(on.has_fast_path());
  CHECK(on.options().start_early);
}

}  // namespace ctflow::engine
