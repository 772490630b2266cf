#pragma once
// The clock the cron scheduler (and "trigger now") reads, injectable so that tests can drive
// schedules through simulated hours without sleeping.
//
//   SystemClock  wall-clock time (production).
//   FileClock    the instant written in a file (ISO-8601, e.g. "2030-01-01T00:03:00Z"), re-read on
//                every now(); `ctflow server --clock-file PATH` (a hidden, test-only flag). It
//                does not advance by itself: whoever writes the file then wakes the schedulers
//                (NOTIFY ctflow_schedules), and they also look on their slow sweep. It moves
//                forward and backward as the file says (the chaos tests jump it both ways, as
//                an NTP step or an operator's `date -s` moves a wall clock).
//
// Thread-safety: now() may be called from any thread.
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include "scheduler/common/mutex.hpp"
#include "scheduler/common/time_util.hpp"

namespace ctflow {

class ClockSource {
 public:
  virtual ~ClockSource() = default;
  virtual TimePoint now() const = 0;
  // True when the clock advances with real time, so a scheduler may sleep until an instant of
  // this clock; false: it only changes when told (wait for a notification instead).
  virtual bool real_time() const = 0;
};

class SystemClock final : public ClockSource {
 public:
  TimePoint now() const override { return now_utc(); }
  bool real_time() const override { return true; }
};

class FileClock final : public ClockSource {
 public:
  explicit FileClock(std::string path) : path_(std::move(path)) {}
  // The file's instant; the last good value (or the epoch) while the file is missing or does
  // not hold an instant (tests replace it by rename, so a reader never sees half a write).
  TimePoint now() const override {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    MutexLock lock(mu_);
    if (auto t = parse_iso8601(text)) last_ = *t;
    return last_;
  }
  bool real_time() const override { return false; }

 private:
  const std::string path_;
  mutable Mutex mu_;
  mutable TimePoint last_ GUARDED_BY(mu_){};  // the last instant read
};

}  // namespace ctflow
