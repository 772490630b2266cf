// The six forms of finish_tasks' statement (store/finish_sql.hpp), each prepared by a real
// PostgreSQL on a migrated database: every form parses, types its parameters and plans, and has
// exactly the parts its flags ask for.
#include <catch2/catch.hpp>

#include "scheduler/store/db.hpp"
#include "scheduler/store/finish_sql.hpp"
#include "scheduler/store/internal.hpp"
#include "scheduler/store/migrate.hpp"
#include "tests/integration/support/pg_cluster.hpp"

using namespace ctflow;

namespace {

std::string form_name(const store::FinishForm& f) {
  return std::string(f.by_id ? "by_id" : "") + (f.segment ? " segment" : "") +
         (f.leaves ? " leaves" : "") + (f.by_id || f.segment || f.leaves ? "" : "plain");
}

bool has(const std::string& sql, const std::string& part) {
  return sql.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("every form of the finish statement prepares on PostgreSQL", "[store]") {
  auto conn = store::connect(it::PgCluster::shared().create_database(), 1);
  REQUIRE(conn);
  REQUIRE(store::migrate(*conn.value()));
  int n = 0;
  for (const auto& form : store::kFinishForms) {
    const std::string& sql = store::finish_sql(form);
    INFO(form_name(form));
    store::with_autocommit(*conn.value(), [&](store::Tx& tx) {
      store::W(tx).exec("PREPARE finish_form_" + std::to_string(n) + " AS " + sql);
      // Its parameters as the store binds them: 6 without by id, 9 with.
      auto types = store::W(tx).exec(
          "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = "
          "'finish_form_" +
          std::to_string(n) + "'");
      REQUIRE(types.size() == 1);
      CHECK(types[0][0].as<int>() == (form.by_id ? 9 : 6));
    });
    ++n;
  }
  CHECK(n == 6);
}

TEST_CASE("each form of the finish statement has the parts its flags ask for", "[store]") {
  for (const auto& form : store::kFinishForms) {
    const std::string& sql = store::finish_sql(form);
    INFO(form_name(form));
    CHECK(has(sql, "fair AS (") == form.by_id);               // known ready tasks by id
    CHECK(has(sql, "sc AS MATERIALIZED (") == form.segment);  // a chain's segment
    CHECK(has(sql, "k AS MATERIALIZED (") == !form.leaves);   // children counted down
    CHECK(has(sql, "c.pool IS NULL AND") == !form.leaves);    // the fast condition, inlined
    for (const char* part : {"WITH f AS (", "t AS (", "a AS (", "q AS (", "went AS (", "att AS (",
                             "d AS (", "r AS (", "ev AS ("})
      CHECK(has(sql, part));
    CHECK(!has(sql, "@"));  // no placeholder left
  }
  CHECK_THROWS_AS(store::finish_sql({.segment = true, .leaves = true}), std::logic_error);
}
