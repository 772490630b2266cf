#pragma once
// SpareFolders: attempt folders made ahead, while the machine has nothing else to do, under
// <attempts>/.spares/; LocalExecutor::start renames one to the attempt's folder instead of making
// it (two folders and three files: on ext4 each new inode costs 30-100 us, more while the inodes
// of a deleted tree are fresh, make bench-sched). A spare holds what every attempt folder starts
// with: work/, an empty task.log and an empty inputs.json, and an empty claim.new that the start
// renames to claim without replacing one (attempt_files.hpp: as exclusive as creating it).
//
// A thread at SCHED_IDLE keeps some of them: it runs only on a core that would otherwise be
// idle, so under full load start() finds none and makes the folder itself, as without spares.
// It keeps 16 at first and twice as many each time take() found none, up to `most`: a server
// that starts a task now and then keeps few (each spare is five inodes and two blocks).
//
// Each spare is made in a slot of its own, .spares/<pid>-<n>/d, and the slot is used again once
// its spare is taken: a taker locks only the slot's folder (and the attempts folder), never one
// that the thread is writing in, so a thread at idle priority, preempted in a system call, never
// holds a lock that a start waits for. Slots of a process that is gone are taken over (renamed
// to this process's names, atomically: the server and its supervisor share the folder), their
// complete spares kept and the half-made ones removed.
//
// While spares are being taken (the last take less than `quiet` ago), the thread makes none
// unless fewer than an eighth of those it keeps are left: a burst of starts takes the spares made
// before it, and they are made again once the burst is over, on cores that have nothing else to
// do. Refilling during the burst took the gaps between its processes (a fifth of a core in a
// 1000-task fan-out), and, idle priority or not, a task waking on that core waited for the
// thread's mkdir to return (no preemption in the kernel). Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/common/mutex.hpp"
namespace ctflow::exec {

class SpareFolders {
 public:
  // `root`: the attempts folder. most == 0: no thread, take() always returns false.
  SpareFolders(std::string root, size_t most,
               std::chrono::milliseconds quiet = std::chrono::milliseconds(50));
  ~SpareFolders();
  SpareFolders(const SpareFolders&) = delete;
  SpareFolders& operator=(const SpareFolders&) = delete;

  // Renames a spare to `dest` (which must not exist); false when none is ready or `dest` exists.
  bool take(const std::string& dest);
  // Spares ready now, and how many the thread keeps (for tests).
  size_t ready() const;
  size_t wanted() const;
  // A complete spare at `path` (false if a part could not be made).
  static bool make(const std::string& path);
  // Whether `path` holds a complete, unused spare.
  static bool complete(const std::string& path);

 private:
  void loop();
  void take_over_leftovers();  // slots of processes that are gone
  std::string new_slot();      // a name for a slot of this process

  const std::string dir_;  // <root>/.spares
  const size_t most_;
  std::string tag_;  // this process's slot names: <pid>-<start ns>-<n>
  unsigned long next_ = 0;
  mutable Mutex mu_;
  CondVar cv_;
  size_t want_ GUARDED_BY(mu_);
  std::deque<std::string> ready_ GUARDED_BY(mu_);  // slots holding a spare
  std::vector<std::string> free_ GUARDED_BY(mu_);  // slots whose spare was taken
  bool stop_ GUARDED_BY(mu_) = false;
  bool unsupported_ GUARDED_BY(mu_) = false;  // renameat2 cannot keep from replacing here
  const std::chrono::milliseconds quiet_;
  std::chrono::steady_clock::time_point last_take_ GUARDED_BY(mu_){};
  std::thread thread_;
};

}  // namespace ctflow::exec
