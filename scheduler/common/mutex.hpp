#pragma once
// A mutex, its scoped lock and a condition variable that clang's thread-safety analysis
// understands (libstdc++'s std::mutex carries no annotations), as LevelDB's port::Mutex and
// port::CondVar. Members a Mutex guards are declared GUARDED_BY(it); functions that need it held
// say REQUIRES(it). `make test` builds the annotated code with clang -Wthread-safety -Werror.
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "scheduler/common/thread_annotations.hpp"

namespace ctflow {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// A condition variable used with one Mutex, which the caller holds around every wait (the wait
// releases it while blocked and holds it again when it returns). Callers loop on their own
// condition: a wait may return early.
class CondVar {
 public:
  void wait(Mutex& mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lk(mu.mu_, std::adopt_lock);
    cv_.wait(lk);
    lk.release();
  }
  // False when `deadline` passed.
  template <class Clock, class Duration>
  bool wait_until(Mutex& mu, const std::chrono::time_point<Clock, Duration>& deadline)
      REQUIRES(mu) {
    std::unique_lock<std::mutex> lk(mu.mu_, std::adopt_lock);
    bool notified = cv_.wait_until(lk, deadline) == std::cv_status::no_timeout;
    lk.release();
    return notified;
  }
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace ctflow
