// The engine's database session (store::prefer_index_plans), straight against PostgreSQL: index
// plans and generic plans, and no JIT. With seq scans disabled, a query that has nothing but a
// seq scan (the servers table, read at every sweep) costs 1e10, and PostgreSQL compiled it with
// LLVM on each run (~90 ms for a one-row table; a sweep pass took 50-120 ms).
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <tuple>

#include "scheduler/store/db.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"
#include "scheduler/store/migrate.hpp"
#include "tests/integration/support/pg_cluster.hpp"

using namespace ctflow;

namespace {

// A connection to a new database of the shared cluster, migrated.
std::unique_ptr<store::Connection> migrated_database() {
  auto conn = store::connect(it::PgCluster::shared().create_database(), 1);
  REQUIRE(conn);
  REQUIRE(store::migrate(*conn.value()));
  return std::move(conn.value());
}

}  // namespace

TEST_CASE("the engine's session scans the servers table without compiling it", "[store]") {
  auto conn = migrated_database();
  auto& c = *conn;
  store::prefer_index_plans(c);
  std::string plan;
  store::with_autocommit(c, [&](store::Tx& tx) {
    CHECK(store::W(tx).exec("SHOW enable_seqscan")[0][0].as<std::string>() == "off");
    for (const auto& row : store::W(tx).exec("EXPLAIN ANALYZE SELECT id, host, pid FROM servers "
                                             "WHERE host = 'nowhere'"))
      plan += row[0].as<std::string>() + "\n";
  });
  INFO(plan);
  CHECK(plan.find("Seq Scan on servers") != std::string::npos);  // what the sweep runs
  CHECK(plan.find("JIT") == std::string::npos);
}

TEST_CASE("statistics are refreshed only past the growth factor asked for", "[store]") {
  auto conn = migrated_database();
  auto& c = *conn;
  auto grow = [&](int from, int to) {
    store::with_autocommit(c, [&](store::Tx& tx) {
      store::W(tx).exec("INSERT INTO events(kind) SELECT 'task' FROM generate_series(" +
                        std::to_string(from) + ", " + std::to_string(to) + ") g");
      store::W(tx).exec("SELECT pg_stat_force_next_flush()");
    });
    store::with_autocommit(c, [&](store::Tx& tx) { store::W(tx).exec("SELECT 1"); });
  };
  auto reltuples = [&] {
    double n = 0;
    store::with_autocommit(c, [&](store::Tx& tx) {
      n = store::W(tx)
              .exec("SELECT reltuples FROM pg_class WHERE relname = 'events'")[0][0]
              .as<double>();
    });
    return n;
  };
  grow(1, 1500);  // never analysed: stale at any factor (over 1000 rows)
  CHECK(store::refresh_stats(c, 8) == std::vector<std::string>{"events"});
  CHECK(reltuples() == 1500);
  grow(1501, 4500);  // 4500 rows: over 2 x 1500 + 1000, under 8 x 1500 + 1000
  CHECK(store::refresh_stats(c, 8).empty());
  CHECK(reltuples() == 1500);
  CHECK(store::refresh_stats(c) == std::vector<std::string>{"events"});
  CHECK(reltuples() == 4500);
  CHECK(store::refresh_stats(c).empty());
}

TEST_CASE(
    "a finish of leaves only skips counting children, and one with a parent among them does not",
    "[store]") {
  auto conn = migrated_database();
  auto& c = *conn;
  store::prefer_index_plans(c);
  // A run root -> {a, b}, a -> c; a and b running (attempt 1), c waiting for a.
  std::map<std::string, int64_t> id, att;
  store::with_tx(c, [&](store::Tx& tx) {
    auto& w = store::W(tx);
    w.exec(
        "INSERT INTO pipelines(name) VALUES ('p');"
        "INSERT INTO pipeline_versions(pipeline_id, digest, spec) VALUES (1, 'd', '{}');"
        "INSERT INTO runs(pipeline_id, pipeline_version_id, state, tasks_total, tasks_done) "
        "VALUES (1, 1, 'running', 4, 1)");
    for (auto [name, state, deps] : {std::tuple{"root", "succeeded", 0},
                                     {"a", "running", 0},
                                     {"b", "running", 0},
                                     {"c", "pending", 1}}) {
      id[name] = w.exec_params1(
                      "INSERT INTO task_runs(run_id, name, spec_index, state, attempt, "
                      "pending_deps) VALUES (1, $1, 0, $2, 1, $3) RETURNING id",
                      name, state, deps)[0]
                     .as<int64_t>();
      att[name] = w.exec_params1(
                       "INSERT INTO task_attempts(task_run_id, attempt, state) "
                       "VALUES ($1, 1, 'running') RETURNING id",
                       id[name])[0]
                      .as<int64_t>();
    }
    w.exec_params("INSERT INTO task_edges VALUES ($1, $2), ($1, $3), ($2, $4)", id["root"], id["a"],
                  id["b"], id["c"]);
  });
  auto op = [&](const std::string& name, bool leaf) {
    store::FinishOp o;
    o.task_run_id = id[name];
    o.attempt_id = att[name];
    o.attempt = 1;
    o.state = "succeeded";
    o.attempt_state = "succeeded";
    o.exit_code = 0;
    o.leaf = leaf;
    return o;
  };
  auto statements = [&] {
    std::set<std::string> names;
    store::with_read(c, [&](store::Tx& tx) {
      for (const auto& row : store::W(tx).exec("SELECT name FROM pg_prepared_statements"))
        names.insert(row[0].as<std::string>());
    });
    return names;
  };
  auto state_of = [&](const std::string& name) {
    std::string s;
    store::with_read(c, [&](store::Tx& tx) {
      s = store::W(tx)
              .exec_params1("SELECT state FROM task_runs WHERE id = $1", id[name])[0]
              .as<std::string>();
    });
    return s;
  };
  // b (a leaf) and a (not one) in one statement: the full form, c becomes ready.
  store::FinishResult res;
  store::with_autocommit(c, [&](store::Tx& tx) {
    res = store::finish_tasks(tx, {op("b", true), op("a", false)});
  });
  CHECK(res.changed.size() == 2);
  REQUIRE(res.became_ready.size() == 1);
  CHECK(res.became_ready[0].task_run_id == id["c"]);
  CHECK(state_of("c") == "ready");
  CHECK(statements().count("finish_tasks") == 1);
  CHECK(statements().count("finish_tasks_leaves") == 0);
  // c, a leaf, alone: the statement without children, and the run ends.
  store::with_tx(c, [&](store::Tx& tx) {
    store::W(tx).exec_params("UPDATE task_runs SET state = 'running', attempt = 1 WHERE id = $1",
                             id["c"]);
  });
  store::with_autocommit(c, [&](store::Tx& tx) { res = store::finish_tasks(tx, {op("c", true)}); });
  CHECK(res.changed == std::vector<int64_t>{id["c"]});
  CHECK(res.became_ready.empty());
  CHECK(statements().count("finish_tasks_leaves") == 1);
  CHECK(state_of("c") == "succeeded");
  store::with_read(c, [&](store::Tx& tx) {
    auto r = store::W(tx).exec("SELECT state, tasks_done FROM runs WHERE id = 1")[0];
    CHECK(r[0].as<std::string>() == "succeeded");
    CHECK(r[1].as<int>() == 4);
  });
}
