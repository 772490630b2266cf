#include "scheduler/store/events.hpp"

#include <algorithm>

#include "scheduler/common/time_util.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {

namespace {

// The shared advisory lock every event-writing transaction holds (sql/0016_event_writers.sql,
// key 0x6374666c6f7701) as pg_locks shows a bigint key: classid the high half, objid the low.
constexpr const char* kWriterLock =
    "locktype = 'advisory' AND classid = 6517862 AND objid = 1819244289 AND objsubid = 1 AND "
    "granted";

// The transactions that may hold a missing id now.
std::vector<std::string> writers(Connection& c) {
  std::vector<std::string> out;
  with_read(c, [&](Tx& tx) {
    for (const auto& row :
         exec_cached(tx, "event_writers",
                     std::string("SELECT virtualtransaction FROM pg_locks WHERE ") + kWriterLock))
      out.push_back(row[0].c_str());
  });
  return out;
}

// Whether any of `holders` still holds the lock (is still running).
bool any_writing(Connection& c, const std::vector<std::string>& holders) {
  if (holders.empty()) return false;
  bool any = false;
  with_read(c, [&](Tx& tx) {
    any = !exec_cached(tx, "event_writers_left",
                       std::string("SELECT 1 FROM pg_locks WHERE ") + kWriterLock +
                           " AND virtualtransaction = ANY($1::text[]) LIMIT 1",
                       text_array(holders))
               .empty();
  });
  return any;
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

// The columns of event_of, only for the events this reader wants ($2: its run, or NULL): the
// document is put together here, the payload as PostgreSQL prints it (building it with
// jsonb_build_object there and parsing it here cost more than the rest of the stream, make
// bench-sched).
constexpr const char* kColumns = R"SQL(
SELECT e.id, w.ok, CASE WHEN w.ok THEN e.kind END, CASE WHEN w.ok THEN e.run_id END,
       CASE WHEN w.ok THEN e.task_run_id END,
       CASE WHEN w.ok THEN floor(extract(epoch FROM e.ts) * 1e6)::bigint END,
       CASE WHEN w.ok THEN e.payload::text END
FROM events e CROSS JOIN LATERAL (SELECT $2::bigint IS NULL OR e.run_id = $2 AS ok) w)SQL";

}  // namespace

void EventReader::read_late(Connection& c, Batch& out) {
  std::optional<std::string> rid;
  if (run_) rid = std::to_string(*run_);
  std::vector<Event> found;
  for (auto& l : late_) {
    // Whether its writers are done first, then the read: one that commits between the two is
    // seen by the read, so an entry is dropped only after a read that follows every commit.
    bool done = !any_writing(c, l.holders);
    pqxx::result res;
    with_read(c, [&](Tx& tx) {
      res = exec_cached(tx, "events_late",
                        std::string(kColumns) + " WHERE e.id = ANY($1::bigint[]) ORDER BY e.id",
                        id_array(l.ids), opt(rid));
    });
    for (const auto& row : res) {
      auto id = row[0].as<int64_t>();
      l.ids.erase(std::remove(l.ids.begin(), l.ids.end(), id), l.ids.end());
      if (row[1].as<bool>()) found.push_back(event_of(row));
    }
    if (done) l.ids.clear();
  }
  late_.erase(
      std::remove_if(late_.begin(), late_.end(), [](const Late& l) { return l.ids.empty(); }),
      late_.end());
  std::sort(found.begin(), found.end(), [](const Event& a, const Event& b) { return a.id < b.id; });
  for (auto& e : found) out.events.push_back(std::move(e));
}

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
  read_late(c, out);
  // A gap seen for the first time gets its holders and one immediate second look: an old gap
  // (a rollback long ago, ids a crash skipped, events gc deleted) is settled at once instead of
  // after a wait.
  for (int look = 0; look < 2; ++look) {
    // Whether the gap's holders are done is asked before the read, so that the read sees the
    // commit of every one that is.
    bool holders_done = gap_ && !any_writing(c, gap_->holders);
    pqxx::result res;
    with_read(c, [&](Tx& tx) {
      // Every id after the cursor (to see gaps), the columns only for the ones this reader wants.
      res = exec_cached(tx, "events_after",
                        std::string(kColumns) + " WHERE e.id > $1 ORDER BY e.id LIMIT $3", cursor_,
                        opt(rid), limit);
    });
    bool new_gap = false;
    size_t got = 0;
    out.blocked = false;
    for (const auto& row : res) {
      int64_t id = row[0].as<int64_t>();
      if (id > cursor_ + 1) {  // ids cursor_+1 .. id-1 are not visible
        if (!gap_ || gap_->from != cursor_ + 1) {
          gap_ = Gap{cursor_ + 1, writers(c), std::chrono::steady_clock::now()};
          new_gap = out.blocked = true;
          break;
        }
        if (!holders_done) {  // a writer may hold them still
          if (std::chrono::steady_clock::now() - gap_->seen < kGapWait) {
            out.blocked = true;
            break;
          }
          // Waited long enough: go on, and deliver them if they come (ranges that gc or a
          // crash left are not worth watching id by id).
          if (id - gap_->from <= 1000) {
            Late l{{}, std::move(gap_->holders)};
            for (int64_t m = gap_->from; m < id; ++m) l.ids.push_back(m);
            late_.push_back(std::move(l));
            if (late_.size() > kMaxLate) late_.erase(late_.begin());
          }
        }
        gap_.reset();  // settled: those ids were rolled back or never used, or are watched
      }
      cursor_ = id;
      if (row[1].as<bool>()) out.events.push_back(event_of(row)), ++got;
    }
    out.full = !out.blocked && static_cast<int>(res.size()) == limit;
    if (!new_gap || got > 0) break;
  }
  out.watching = !late_.empty();
  return out;
}

}  // namespace ctflow::store
