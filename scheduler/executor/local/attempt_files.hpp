#pragma once
// The files of one attempt folder, shared by the supervisor (writer) and adopters (readers):
//   claim       created with O_EXCL by whoever decides the attempt's fate first, then a log of
//               JSON lines, each written whole with one write():
//                 {"pid": N, "started_at": ISO}     the supervisor, right after the spawn
//                 {"exit": {"exit_code": N} | {"signal": N} | {"error": "..."}}
//                                                    when the process ended (or could not start)
//                 {"next": KEY, "dir": DIR}          a child's first attempt started before the
//                                                    commit that dispatches it: by the engine
//                                                    after the exit (FastPath::start_early), or
//                                                    by the supervisor before the exit line (an
//                                                    armed child, ChainAcceleration::arm); an
//                                                    adopter of this attempt finds it there
//               An adopter fencing an attempt that never started creates it empty; a cancel
//               before the start creates it with only the exit line. The supervisor keeps it
//               open while the process runs and closes it after the exit line, so adopters
//               watch for IN_CLOSE_WRITE. A line without its newline is not there yet. One file
//               for the claim, the pid and the exit status: three inodes and a rename fewer per
//               task than separate files (make bench-sched).
//   claim.new   an empty file in a spare folder (spare_folders.hpp): open_claim renames it to
//               claim (without replacing one), so that the start allocates no inode
//   inputs.json the inputs file the engine hands the task, written before the spawn: by the
//               server, or, in a folder made ahead (ChainAcceleration::prepare), by the supervisor
//               after it created the claim
//   task.log    stdout and stderr of the process
//   work/       the process's working directory
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

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

// Writes a file of an attempt's folder, which may exist already, empty (prepared ahead). Never
// truncates an empty file: ext4 then writes the file's blocks out when it is closed
// (auto_da_alloc), a synchronous submission to the disk per task (make bench-sched).
bool write_attempt_file(const std::string& path, const std::string& data);

// Creates `dir`/claim exclusively (from claim.new if there) and returns it open for writing; -1
// with errno EEXIST if it existed already.
int open_claim(const std::string& dir);
// Creates `dir`/claim exclusively, empty or with an exit record; false if it existed already.
bool create_claim(const std::string& dir, const std::optional<ExitRecord>& exit = std::nullopt);
// Append one line to a claim opened by open_claim() (which stays open).
bool write_pid(int claim_fd, const PidRecord& p);
bool write_exit(int claim_fd, const ExitRecord& e);
std::optional<PidRecord> read_pid(const std::string& dir);
std::optional<ExitRecord> read_exit(const std::string& dir);
// Appends a "next" line to the claim of a finished attempt; false if it has no claim.
bool write_next(const std::string& dir, const std::string& child_key, const std::string& child_dir);
// The same through the claim open_claim() returned (the supervisor, for an armed child).
bool write_next(int claim_fd, const std::string& child_key, const std::string& child_dir);
// The "next" lines: (child key, child dir).
std::vector<std::pair<std::string, std::string>> read_next(const std::string& dir);
bool exists(const std::string& path);
// Whether a task that exited 0 left no outputs (the engine then reads its outputs as {}): only
// then may what is armed on it start (its inputs were written assuming exactly that).
bool no_outputs(const std::string& dir);
// Makes `dir` and `dir`/work (and the folders above when missing).
void make_attempt_dir(const std::string& dir, std::error_code& ec);

}  // namespace ctflow::exec
