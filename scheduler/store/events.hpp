#pragma once
// Reading the events table in id order without missing an event that commits late.
//
// Ids come from a sequence when a row is inserted, so a transaction can commit id 12 while id 11
// is still in flight. A reader that handed out 12 and resumed "after 12" would never see 11.
// EventReader stops at such a gap until it is settled: the inserting transaction either commits
// (the id appears) or has ended without it. Every event-writing transaction has its xid before it
// takes an id (sql/0005_events_order.sql), so when a gap is first seen, the holder of a missing id
// has an xid below one this reader then assigns itself (`horizon`); once the oldest running xid
// is above the horizon, an id still missing never comes and is skipped. The oldest running xid is
// cluster-wide, so a long write transaction elsewhere would hold a gap open: after kGapWait the
// gap is skipped anyway (an event-writing transaction of ctflow never runs that long).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

class EventReader {
 public:
  static constexpr std::chrono::seconds kGapWait{30};

  // Events after `after` (an id handed out before, or 0), all of them or one run's. One run's
  // from 0 start at the run's first event: the statement that creates a run writes its first
  // event, and every later one is written by a transaction that saw the run, so none has a
  // smaller id (instead of reading every id in the table up to the run's).
  EventReader(int64_t after, std::optional<int64_t> run)
      : cursor_(after), run_(run), from_run_start_(run && after == 0) {}

  struct Event {
    int64_t id = 0;
    std::string kind;
    std::string data;  // JSON: {id, ts, kind, run_id, task_run_id, payload}
  };
  struct Batch {
    std::vector<Event> events;  // in id order
    bool blocked = false;  // stopped at an unsettled gap: read again soon (a rolled-back writer
                           // sends no notification)
    bool full = false;     // `limit` ids were scanned: more may follow right away
  };
  // The events after the cursor among the next `limit` ids; advances the cursor.
  Batch read(Connection& c, int limit);

  int64_t cursor() const { return cursor_; }

 private:
  struct Gap {
    int64_t from = 0;      // first missing id
    uint64_t horizon = 0;  // an xid assigned after the gap was first seen
    std::chrono::steady_clock::time_point seen;
  };
  int64_t cursor_;
  std::optional<int64_t> run_;
  bool from_run_start_;  // move the cursor to the run's first event at the next read
  std::optional<Gap> gap_;
};

}  // namespace ctflow::store
