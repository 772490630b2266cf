#pragma once
// The supervisor: one long-lived process per server (`ctflow __supervise FD [ROOT SPARES]`) that
// spawns every task of that server and records each exit durably (the exit line of the attempt
// folder's claim file, attempt_files.hpp), so that a server killed with -9 loses nothing: the
// supervisor outlives it, keeps reaping, and a restarted server (or another replica) adopts the
// attempts from their files.
//
// It is a child subreaper (PR_SET_CHILD_SUBREAPER), so grandchildren left behind by a task are
// reaped too, and killed once their task has ended (leftovers.hpp): a task ends with its main
// process, as a Kubernetes pod does; what is left of its process group gets SIGKILL then. A
// task's stdout and stderr are a pipe that the supervisor copies into task.log, up to a limit
// (log_pump.hpp). Protocol on a SOCK_SEQPACKET socket, one JSON object per message:
//   server -> supervisor {"op":"spawn","key":K,"dir":D,"exe":PATH,"argv":[..],"env":[..]}
//                        {"op":"arm" | "disarm" | "prepare" | "limit" | "cancel", ...}
//   supervisor -> server {"ev":"started","key":K,"pid":N,"at":ISO}
//                        {"ev":"exited","key":K,"pid":N,"exit_code":C | "signal":S | "error":E,
//                         "fired":[KEY...]}
// When the server's end closes, the supervisor stops accepting work, waits for its running tasks
// to end (recording their exits), then exits. Tasks are started by two threads (spawner.hpp), so
// that one start's wait for its child's exec holds up neither the next start nor the reaping.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ctflow::exec {

// The default of `ctflow server --task-log-limit-mib`.
inline constexpr int64_t kDefaultLogLimit = int64_t{64} << 20;

// `root` (the attempts folder) and `spares`: the supervisor's own SpareFolders, for the folders
// it makes (prepared, armed); none when root is empty. `log_limit`: the bytes of task.log kept
// per attempt (log_pump.hpp; -1: no limit).
int supervisor_main(int fd, const std::string& root = "", size_t spares = 0,
                    int64_t log_limit = kDefaultLogLimit);

}  // namespace ctflow::exec
