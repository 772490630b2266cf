// The engine's database session and the small reads of its pass: statistics refreshes, plan
// settings, whether pools exist, the next run deadline.
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {
std::vector<std::string> refresh_stats(Connection& c, int factor) {
  std::vector<std::string> tables;
  with_read(c, [&](Tx& tx) {
    auto r = exec_cached(tx, "stale_stats", R"SQL(
SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.relname IN ('runs', 'task_runs', 'task_edges', 'task_attempts', 'events')
  AND s.schemaname = current_schema() AND s.n_live_tup > $1 * greatest(c.reltuples, 0) + 1000)SQL",
                         factor);
    for (const auto& row : r) tables.emplace_back(row[0].c_str());
    for (const auto& t : tables) W(tx).exec("ANALYZE " + W(tx).quote_name(t));
  });
  return tables;
}

void prefer_index_plans(Connection& c) {
  with_read(c, [&](Tx& tx) {
    // Generic plans: the engine's statements are prepared once, and a custom plan for each pass's
    // JSON parameters cost more than the statements (2 ms a plan for finish_tasks). No JIT: a
    // disabled seq scan still runs where nothing else answers (the servers and pools tables),
    // and its cost of 1e10 made PostgreSQL compile that query with LLVM every time (~90 ms
    // for a one-row table; a sweep pass took 50-120 ms).
    W(tx).exec(
        "SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off; "
        "SET plan_cache_mode = force_generic_plan; SET jit = off");
  });
}

bool pools_exist(Tx& tx) {
  return !W(tx).exec("SELECT 1 FROM pools LIMIT 1").empty();
}

std::optional<TimePoint> next_run_deadline(Tx& tx) {
  auto r = W(tx).exec(
      "SELECT iso(min(deadline)) FROM runs WHERE state IN ('queued','running') AND deadline IS "
      "NOT NULL AND NOT cancel_requested");
  if (r.empty() || r[0][0].is_null()) return std::nullopt;
  return parse_iso8601(r[0][0].c_str());
}
}  // namespace ctflow::store
