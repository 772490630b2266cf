#pragma once
// The processes a task leaves behind. A task is its process group (the spawner gives it one), but
// a daemon that calls setsid() leaves the group, and one whose parent exits is re-parented to the
// supervisor (a child subreaper): then only its environment still says whose it is. The
// supervisor puts the attempt's key in every task's environment (kAttemptKeyEnv) and, when a task
// has ended, kills the process trees of the orphans that carry an ended task's key (as a
// Kubernetes pod's other processes end with its main one). A process that clears its environment
// and leaves the group escapes this; a per-task cgroup would not, but needs a writable cgroup
// hierarchy that neither this machine's nor CI's containers give.
//
// Linux only (/proc). Called by the supervisor's thread.
#include <sys/types.h>

#include <string>
#include <vector>

namespace ctflow::exec {

inline constexpr const char* kAttemptKeyEnv = "CTFLOW_ATTEMPT_KEY";

// Children of the calling process's main thread, where orphans land (/proc/self/task/PID/
// children; a scan of /proc where the kernel lacks it).
std::vector<pid_t> orphan_candidates();
// kAttemptKeyEnv in `pid`'s environment; "" if absent or unreadable (a zombie, gone).
std::string attempt_key_of(pid_t pid);
// `pid` and its descendants, parents first.
std::vector<pid_t> process_tree(pid_t pid);
// SIGKILL to `pid` and its descendants; how many were signalled.
size_t kill_tree(pid_t pid);

}  // namespace ctflow::exec
