// The engine's database session (store::prefer_index_plans), straight against PostgreSQL: index
// plans and generic plans, and no JIT. With seq scans disabled, a query that has nothing but a
// seq scan (the servers table, read at every sweep) costs 1e10, and PostgreSQL compiled it with
// LLVM on each run (~90 ms for a one-row table; a sweep pass took 50-120 ms).
#include <catch2/catch.hpp>

#include "scheduler/store/db.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"
#include "scheduler/store/migrate.hpp"
#include "tests/integration/support/pg_cluster.hpp"

using namespace ctflow;

TEST_CASE("the engine's session scans the servers table without compiling it", "[store]") {
  auto url = it::PgCluster::shared().create_database();
  auto conn = store::connect(url, 1);
  REQUIRE(conn);
  auto& c = *conn.value();
  REQUIRE(store::migrate(c));
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
  auto url = it::PgCluster::shared().create_database();
  auto conn = store::connect(url, 1);
  REQUIRE(conn);
  auto& c = *conn.value();
  REQUIRE(store::migrate(c));
  auto grow = [&](int from, int to) {
    store::with_autocommit(c, [&](store::Tx& tx) {
      store::W(tx).exec("INSERT INTO task_edges SELECT g, g FROM generate_series(" +
                        std::to_string(from) + ", " + std::to_string(to) + ") g");
      store::W(tx).exec("SELECT pg_stat_force_next_flush()");
    });
    store::with_autocommit(c, [&](store::Tx& tx) { store::W(tx).exec("SELECT 1"); });
  };
  auto reltuples = [&] {
    double n = 0;
    store::with_autocommit(c, [&](store::Tx& tx) {
      n = store::W(tx)
              .exec("SELECT reltuples FROM pg_class WHERE relname = 'task_edges'")[0][0]
              .as<double>();
    });
    return n;
  };
  grow(1, 1500);  // never analysed: stale at any factor (over 1000 rows)
  CHECK(store::refresh_stats(c, 8) == std::vector<std::string>{"task_edges"});
  CHECK(reltuples() == 1500);
  grow(1501, 4500);  // 4500 rows: over 2 x 1500 + 1000, under 8 x 1500 + 1000
  CHECK(store::refresh_stats(c, 8).empty());
  CHECK(reltuples() == 1500);
  CHECK(store::refresh_stats(c) == std::vector<std::string>{"task_edges"});
  CHECK(reltuples() == 4500);
  CHECK(store::refresh_stats(c).empty());
}
