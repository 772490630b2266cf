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
