#include "scheduler/store/migrate.hpp"

#include "scheduler/store/internal.hpp"

namespace ctflow::store {

// Arbitrary constant shared by every ctflow server: the advisory lock key for migrations.
constexpr long long kMigrationLock = 0x637466'6c6f77;

Result<std::vector<std::string>> migrate(Connection& c) {
  auto& conn = *c.impl().conn;
  std::vector<std::string> applied;
  try {
    {
      pqxx::nontransaction n(conn);
      n.exec_params("SELECT pg_advisory_lock($1)", kMigrationLock);
      n.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text "
          "NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    }
    for (const auto& m : migrations()) {
      pqxx::work w(conn);
      auto r = w.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version);
      if (!r.empty()) continue;
      w.exec(m.sql);
      w.exec_params("INSERT INTO schema_migrations(version, name) VALUES ($1, $2)", m.version,
                    m.name);
      w.commit();
      applied.push_back(m.name);
    }
    pqxx::nontransaction n(conn);
    n.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLock);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    try {
      pqxx::nontransaction n(conn);
      n.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLock);
    } catch (const std::exception&) {
      // The session is gone; the lock went with it.
    }
    return Error{"migration failed: " + msg};
  }
  return applied;
}

bool migrations_applied(Connection& c) {
  try {
    pqxx::nontransaction n(*c.impl().conn);
    auto r = n.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
    return r[0][0].as<int>() >= migrations().back().version;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace ctflow::store
