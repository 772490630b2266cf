#pragma once
// Reading the events table in id order without missing an event that commits late.
//
// Ids come from a sequence when a row is inserted, so a transaction can commit id 12 while id 11
// is still in flight. A reader that handed out 12 and resumed "after 12" would never see 11.
// EventReader stops at such a gap until it is settled: the inserting transaction either commits
// (the id appears) or has ended without it. Every event-writing transaction takes a shared
// advisory lock before it takes an id (sql/0016_event_writers.sql), so when a gap is first seen,
// the holder of a missing id is one of the transactions holding that lock then (`holders`, from
// pg_locks); once none of them holds it any more, a missing id that a later read still does not
// see never comes and is skipped. Transactions that write no event never hold a reader up.
//
// A long event-writing transaction (a submission of 100,000 tasks, say) would still hold every
// reader at its id: after kGapWait the reader passes the gap and goes on, and keeps looking for
// the missing ids while their holders run (`late`): an event that commits late is delivered
// then, after events with higher ids (the stream is not in id order then). A client that
// resumes with Last-Event-ID after such an event's id has passed does not get it if it commits
// while the client is away: clients re-list after a reconnect (the dashboard does).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

class EventReader {
 public:
  // How long a reader waits at a gap whose holder is still running before it passes it.
  static constexpr std::chrono::milliseconds kGapWait{1000};
  // Gaps passed and still watched for late events, at most (the oldest is given up first).
  static constexpr size_t kMaxLate = 64;

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
    std::vector<Event> events;  // late ones (ids below the cursor) first, then in id order
    bool blocked = false;   // stopped at an unsettled gap: read again soon (a rolled-back writer
                            // sends no notification)
    bool full = false;      // `limit` ids were scanned: more may follow right away
    bool watching = false;  // passed gaps are still watched for late events: read again soon
  };
  // The events after the cursor among the next `limit` ids, and late ones; advances the cursor.
  Batch read(Connection& c, int limit);

  int64_t cursor() const { return cursor_; }

 private:
  struct Gap {
    int64_t from = 0;                  // the first missing id (the one after the cursor)
    std::vector<std::string> holders;  // pg_locks.virtualtransaction of its possible writers
    std::chrono::steady_clock::time_point seen;
  };
  struct Late {
    std::vector<int64_t> ids;          // passed and still missing
    std::vector<std::string> holders;  // as Gap::holders
  };
  void read_late(Connection& c, Batch& out);
  int64_t cursor_;
  std::optional<int64_t> run_;
  bool from_run_start_;  // move the cursor to the run's first event at the next read
  std::optional<Gap> gap_;
  std::vector<Late> late_;  // passed gaps whose holders were running (oldest first)
};

}  // namespace ctflow::store
