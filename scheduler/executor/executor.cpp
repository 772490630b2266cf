// The executor-neutral parts of the contract: failure names and which failures a retry can mend.
#include "scheduler/executor/executor.hpp"

namespace ctflow::exec {

const char* failure_name(Failure f) {
  switch (f) {
    case Failure::None:
      return "none";
    case Failure::NotFound:
      return "not_found";
    case Failure::SpawnFailed:
      return "spawn_failed";
    case Failure::Lost:
      return "lost";
    case Failure::Fenced:
      return "fenced";
    case Failure::CancelledBeforeStart:
      return "cancelled_before_start";
    case Failure::OomKilled:
      return "oom_killed";
    case Failure::ImagePull:
      return "image_pull";
    case Failure::DeadlineExceeded:
      return "deadline_exceeded";
    case Failure::Evicted:
      return "evicted";
    case Failure::Config:
      return "config";
  }
  return "unknown";
}

bool failure_retryable(Failure f) {
  return f != Failure::NotFound && f != Failure::Config;
}

}  // namespace ctflow::exec
