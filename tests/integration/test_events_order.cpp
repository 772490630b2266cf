// store::EventReader against a real PostgreSQL: ids are handed out at insert, so they can commit
// out of order; the reader must wait for a late-committing lower id and skip a rolled-back one.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <thread>

#include "scheduler/store/db.hpp"
#include "scheduler/store/events.hpp"
#include "scheduler/store/migrate.hpp"
#include "tests/integration/support/pg_cluster.hpp"

using namespace ctflow;

namespace {

int64_t insert_event(pqxx::work& w, const std::string& tag) {
  return w
      .exec_params1(
          "INSERT INTO events(kind, payload) VALUES ('run', jsonb_build_object('t', "
          "$1::text)) RETURNING id",
          tag)[0]
      .as<int64_t>();
}

// The events' ids, each checked against the id inside its document.
std::vector<int64_t> ids(const std::vector<store::EventReader::Event>& evs) {
  std::vector<int64_t> out;
  for (const auto& e : evs) {
    auto doc = boost::json::parse(e.data).as_object();
    CHECK(std::stoll(std::string(doc.at("id").as_string())) == e.id);
    CHECK(doc.at("kind").as_string() == e.kind);
    out.push_back(e.id);
  }
  return out;
}

// Reads until `n` events came or `tries` reads were blocked/empty.
std::vector<int64_t> read_n(store::EventReader& r, store::Connection& c, size_t n) {
  std::vector<int64_t> got;
  for (int i = 0; i < 200 && got.size() < n; ++i) {
    auto b = r.read(c, 100);
    for (auto id : ids(b.events)) got.push_back(id);
    if (got.size() < n) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return got;
}

// A connection to `url`'s database, migrated.
std::unique_ptr<store::Connection> migrated(const std::string& url) {
  auto conn = store::connect(url, 1);
  REQUIRE(conn);
  REQUIRE(store::migrate(*conn.value()));
  return std::move(conn.value());
}

}  // namespace

TEST_CASE("events: a reader waits for a lower id that commits late and skips a rolled-back one",
          "[events]") {
  auto url = it::PgCluster::shared().create_database();
  auto conn = migrated(url);
  auto& c = *conn;
  pqxx::connection a(url), b(url);

  store::EventReader reader(0, std::nullopt);
  // A takes the lower id and stays open; B takes the next one and commits.
  pqxx::work wa(a);
  int64_t low = insert_event(wa, "a");
  int64_t high;
  {
    pqxx::work wb(b);
    high = insert_event(wb, "b");
    wb.commit();
  }
  REQUIRE(high == low + 1);
  for (int i = 0; i < 5; ++i) {  // however often it looks, it does not pass the open id
    auto batch = reader.read(c, 100);
    CHECK(batch.events.empty());
    CHECK(batch.blocked);
    CHECK(reader.cursor() == low - 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  wa.commit();
  CHECK(read_n(reader, c, 2) == std::vector<int64_t>{low, high});

  // A rolled-back writer leaves a hole that is skipped once it has ended.
  pqxx::work wa2(a);
  int64_t hole = insert_event(wa2, "rolled back");
  int64_t after;
  {
    pqxx::work wb(b);
    after = insert_event(wb, "kept");
    wb.commit();
  }
  auto first = reader.read(c, 100);
  CHECK(first.events.empty());
  CHECK(first.blocked);
  wa2.abort();
  CHECK(read_n(reader, c, 1) == std::vector<int64_t>{after});
  CHECK(reader.cursor() == after);
  CHECK(hole < after);

  // A gap left long ago (a rollback) does not make a new reader wait: its first read passes it.
  {
    pqxx::work old(a);
    insert_event(old, "gone");
    old.abort();
  }
  int64_t later;
  {
    pqxx::work wb(b);
    later = insert_event(wb, "later");
    wb.commit();
  }
  store::EventReader fresh(after, std::nullopt);
  auto once = fresh.read(c, 100);
  CHECK_FALSE(once.blocked);
  CHECK(ids(once.events) == std::vector<int64_t>{later});
  after = later;

  // A run filter still walks every id (gaps are global) but returns only that run's events.
  {
    pqxx::work w(b);
    w.exec("INSERT INTO events(kind, run_id) VALUES ('run', 7), ('run', 8), ('run', 7)");
    w.commit();
  }
  store::EventReader run7(after, 7);
  auto got = read_n(run7, c, 2);
  REQUIRE(got.size() == 2);
  CHECK(got[1] == got[0] + 2);
}

TEST_CASE("events: one run's reader from 0 starts at that run's first event", "[events]") {
  auto url = it::PgCluster::shared().create_database();
  auto conn = migrated(url);
  auto& c = *conn;
  pqxx::connection a(url);
  auto insert_run_events = [&](int64_t run, int n) {
    pqxx::work w(a);
    std::vector<int64_t> out;
    for (int i = 0; i < n; ++i)
      out.push_back(w.exec_params1("INSERT INTO events(kind, run_id) VALUES ('task', $1) "
                                   "RETURNING id",
                                   run)[0]
                        .as<int64_t>());
    w.commit();
    return out;
  };
  insert_run_events(1, 300);  // an older run's events come first
  auto mine = insert_run_events(2, 3);
  insert_run_events(1, 5);
  auto more = insert_run_events(2, 2);
  mine.insert(mine.end(), more.begin(), more.end());

  // Its first read of a single id is its run's first event, not the table's first id.
  store::EventReader reader(0, 2);
  auto first = reader.read(c, 1);
  CHECK(ids(first.events) == std::vector<int64_t>{mine[0]});
  CHECK(read_n(reader, c, 4) == std::vector<int64_t>(mine.begin() + 1, mine.end()));

  // A run without events yet (not committed): the reader walks from 0 and still gets them.
  store::EventReader later(0, 3);
  CHECK(later.read(c, 1000).events.empty());
  auto third = insert_run_events(3, 2);
  CHECK(read_n(later, c, 2) == third);
}

namespace {

// Reads until `pred(got)` holds or `timeout` passes; returns every event id read, in order.
template <class Pred>
std::vector<int64_t> read_until(store::EventReader& r, store::Connection& c, Pred pred,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  std::vector<int64_t> got;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred(got) && std::chrono::steady_clock::now() < deadline) {
    auto b = r.read(c, 100);
    for (auto id : ids(b.events)) got.push_back(id);
    if (!pred(got)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return got;
}

bool has(const std::vector<int64_t>& v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

TEST_CASE("events: a long transaction that writes no event does not hold readers at a gap",
          "[events]") {
  auto url = it::PgCluster::shared().create_database();
  auto conn = migrated(url);
  auto& c = *conn;
  pqxx::connection a(url), b(url), other(url);
  // A long write transaction elsewhere (an xid older than the gap, no event), open throughout.
  pqxx::work busy(other);
  busy.exec("INSERT INTO pipelines(name) VALUES ('long writer')");
  busy.exec("SELECT pg_current_xact_id()");

  store::EventReader reader(0, std::nullopt);
  int64_t kept;
  {
    pqxx::work gone(a);
    insert_event(gone, "rolled back");
    pqxx::work wb(b);
    kept = insert_event(wb, "kept");
    wb.commit();
    gone.abort();
  }
  auto t0 = std::chrono::steady_clock::now();
  auto got = read_until(reader, c, [&](const auto& g) { return has(g, kept); });
  CHECK(got == std::vector<int64_t>{kept});
  // Before: held until the oldest running xid (the busy transaction's) ended, or for 30 s.
  CHECK(std::chrono::steady_clock::now() - t0 < store::EventReader::kGapWait);
  busy.abort();
}

TEST_CASE("events: a long event writer holds readers for kGapWait and its event comes late",
          "[events]") {
  auto url = it::PgCluster::shared().create_database();
  auto conn = migrated(url);
  auto& c = *conn;
  pqxx::connection a(url), b(url);
  store::EventReader reader(0, std::nullopt);

  pqxx::work slow(a);  // takes the lowest id and stays open
  int64_t low = insert_event(slow, "slow");
  std::vector<int64_t> later;
  for (int i = 0; i < 3; ++i) {
    pqxx::work wb(b);
    later.push_back(insert_event(wb, "fast"));
    wb.commit();
  }
  auto t0 = std::chrono::steady_clock::now();
  CHECK(reader.read(c, 100).blocked);
  // Readers keep receiving while it is open: after kGapWait they pass its id.
  auto got = read_until(reader, c, [&](const auto& g) { return g.size() >= later.size(); });
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(got == later);
  CHECK(waited >= store::EventReader::kGapWait);
  CHECK(waited < store::EventReader::kGapWait + std::chrono::seconds(2));
  CHECK(reader.cursor() == later.back());
  auto b1 = reader.read(c, 100);
  CHECK(b1.events.empty());
  CHECK(b1.watching);
  {  // and events committed meanwhile still come in order
    pqxx::work wb(b);
    later.push_back(insert_event(wb, "fast again"));
    wb.commit();
  }
  CHECK(read_until(reader, c, [&](const auto& g) { return !g.empty(); }) ==
        std::vector<int64_t>{later.back()});
  // The late event is delivered when it commits, after the higher ids; then nothing is watched.
  slow.commit();
  CHECK(read_until(reader, c, [&](const auto& g) { return !g.empty(); }) ==
        std::vector<int64_t>{low});
  CHECK_FALSE(reader.read(c, 100).watching);

  // A long writer that rolls back: passed after the wait, then no longer watched, nothing sent.
  pqxx::work undone(a);
  insert_event(undone, "undone");
  int64_t next;
  {
    pqxx::work wb(b);
    next = insert_event(wb, "next");
    wb.commit();
  }
  CHECK(read_until(reader, c, [&](const auto& g) { return has(g, next); }) ==
        std::vector<int64_t>{next});
  undone.abort();
  auto after_abort = reader.read(c, 100);
  CHECK(after_abort.events.empty());
  CHECK_FALSE(after_abort.watching);
}
