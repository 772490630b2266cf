#pragma once
// The states of task runs, attempts and runs, as stored in PostgreSQL (sql/0001_core.sql). Code
// compares and writes these names, never string literals of its own.
namespace ctflow {

// Task runs: pending -> ready -> dispatched -> running -> one of the final states.
inline constexpr const char* kPending = "pending";
inline constexpr const char* kReady = "ready";
inline constexpr const char* kDispatched = "dispatched";
inline constexpr const char* kRunning = "running";
inline constexpr const char* kSucceeded = "succeeded";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kUpstreamFailed = "upstream_failed";
inline constexpr const char* kSkipped = "skipped";
inline constexpr const char* kCancelled = "cancelled";
inline constexpr const char* kCached = "cached";
// Attempts end as succeeded, failed, cancelled or lost.
inline constexpr const char* kLost = "lost";
// Runs: queued -> running -> succeeded | failed | cancelled.
inline constexpr const char* kQueued = "queued";

}  // namespace ctflow
