#include "scheduler/store/events.hpp"

#include <algorithm>

#include "scheduler/common/time_util.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {

namespace {

uint64_t to_u64(const pqxx::field& f) {
  return f.is_null() ? 0 : std::stoull(f.c_str());
}

// An xid assigned now (above every xid assigned before); the transaction commits without waiting
// for its WAL flush: it wrote nothing, and the number is only compared with later snapshots.
uint64_t fresh_xid(Connection& c) {
  uint64_t x = 0;
  with_tx(c, [&](Tx& tx) {
    W(tx).exec("SET LOCAL synchronous_commit TO off");
    x = to_u64(W(tx).exec("SELECT pg_current_xact_id()::text")[0][0]);
  });
  return x;
}

std::string quoted_id(const pqxx::field& f) {
  return f.is_null() ? "null" : "\"" + std::string(f.c_str()) + "\"";
}

// Row: id, ok, kind, run_id, task_run_id, ts (epoch us), payload text.
EventReader::Event event_of(const pqxx::row& row) {
  EventReader::Event e;
  e.id = row[0].as<int64_t>();
  e.kind = row[2].c_str();
  std::string ts = format_iso8601(TimePoint(std::chrono::microseconds(row[5].as<int64_t>())));
  e.data = "{\"id\":\"" + std::to_string(e.id) + "\",\"ts\":\"" + ts +
           "\",\"kind\":" + boost::json::serialize(boost::json::string(e.kind)) +
           ",\"run_id\":" + quoted_id(row[3]) + ",\"task_run_id\":" + quoted_id(row[4]) +
           ",\"payload\":" + row[6].c_str() + "}";
  return e;
}

}  // namespace

EventReader::Batch EventReader::read(Connection& c, int limit) {
  Batch out;
  std::optional<std::string> rid;
  if (run_) rid = std::to_string(*run_);
  if (from_run_start_) {
    with_read(c, [&](Tx& tx) {
      auto r =
          exec_cached(tx, "run_first_event", "SELECT min(id) FROM events WHERE run_id = $1", *run_);
      if (!r[0][0].is_null()) {  // not yet: the run is not committed (or does not exist)
        cursor_ = std::max(cursor_, r[0][0].as<int64_t>() - 1);
        from_run_start_ = false;
      }
    });
  }
  // A gap seen for the first time gets its horizon and one immediate second look: an old gap
  // (a rollback long ago, ids a crash skipped) is settled at once instead of after a wait.
  for (int look = 0; look < 2; ++look) {
    pqxx::result res;
    with_read(c, [&](Tx& tx) {
      // Every id after the cursor (to see gaps), the columns only for the ones this reader
      // wants, and the oldest xid still running as of this statement's snapshot. The columns
      // raw: the document is put together here, the payload as PostgreSQL prints it (building
      // it with jsonb_build_object there and parsing it here cost more than the rest of the
      // stream, make bench-sched).
      res = exec_cached(tx, "events_after", R"SQL(
SELECT e.id, w.ok, CASE WHEN w.ok THEN e.kind END, CASE WHEN w.ok THEN e.run_id END,
       CASE WHEN w.ok THEN e.task_run_id END,
       CASE WHEN w.ok THEN floor(extract(epoch FROM e.ts) * 1e6)::bigint END,
       CASE WHEN w.ok THEN e.payload::text END, pg_snapshot_xmin(pg_current_snapshot())::text
FROM events e CROSS JOIN LATERAL (SELECT $2::bigint IS NULL OR e.run_id = $2 AS ok) w
WHERE e.id > $1 ORDER BY e.id LIMIT $3)SQL",
                        cursor_, opt(rid), limit);
    });
    bool new_gap = false;
    out.blocked = false;
    for (const auto& row : res) {
      int64_t id = row[0].as<int64_t>();
      if (id > cursor_ + 1) {  // ids cursor_+1 .. id-1 are not visible
        if (!gap_ || gap_->from != cursor_ + 1) {
          gap_ = Gap{cursor_ + 1, fresh_xid(c), std::chrono::steady_clock::now()};
          new_gap = out.blocked = true;
          break;
        }
        bool waited_out = std::chrono::steady_clock::now() - gap_->seen > kGapWait;
        if (to_u64(row[7]) <= gap_->horizon && !waited_out) {  // a writer may hold them still
          out.blocked = true;
          break;
        }
        gap_.reset();  // settled: those ids were rolled back or never used
      }
      cursor_ = id;
      if (row[1].as<bool>()) out.events.push_back(event_of(row));
    }
    out.full = !out.blocked && static_cast<int>(res.size()) == limit;
    if (!new_gap || !out.events.empty()) return out;
  }
  return out;
}

}  // namespace ctflow::store
