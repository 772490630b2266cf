#pragma once
// Schema migrations: sql/NNNN_name.sql embedded in the binary, applied in order, each in its own
// transaction, recorded in schema_migrations. Safe when several servers start at once: the whole
// procedure runs under a PostgreSQL advisory lock.
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::store {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

const std::vector<Migration>& migrations();

// Applies what is missing; returns the names applied (empty when up to date).
Result<std::vector<std::string>> migrate(Connection& c);

// True when every embedded migration is recorded (for /readyz).
bool migrations_applied(Connection& c);

}  // namespace ctflow::store
