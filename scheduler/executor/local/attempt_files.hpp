#pragma once
// The files of one attempt folder, shared by the supervisor (writer) and adopters (readers):
//   claim       created with O_EXCL by whoever decides the attempt's fate first: the supervisor
//               before spawning (it then writes {"pid": N, "started_at": ISO} into it after the
//               spawn), or an adopter fencing an attempt that never started (it stays empty).
//               One file for both saves an inode and a rename per task (make bench-sched).
//   exit        {"exit_code": N} | {"signal": N} | {"error": "..."} written atomically (rename)
//               when the process ends: the durable record that survives any server crash
//   task.log    stdout and stderr of the process
//   work/       the process's working directory
#include <optional>
#include <string>

#include "scheduler/common/time_util.hpp"

namespace ctflow::exec {

struct ExitRecord {
  std::optional<int> exit_code, signal;
  std::string error;
};

struct PidRecord {
  int pid = 0;
  TimePoint started_at{};
};

// Creates `dir`/claim exclusively; false if it existed already.
bool create_claim(const std::string& dir);
// The same, keeping it open for write_pid(); -1 if it existed already.
int open_claim(const std::string& dir);
// Writes the pid record into the claim opened by open_claim() and closes it.
bool write_pid(int claim_fd, const PidRecord& p);
bool write_exit(const std::string& dir, const ExitRecord& e);
std::optional<PidRecord> read_pid(const std::string& dir);
std::optional<ExitRecord> read_exit(const std::string& dir);
bool exists(const std::string& path);

}  // namespace ctflow::exec
