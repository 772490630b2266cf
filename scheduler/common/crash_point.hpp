#pragma once
// Crash points: deterministic failpoints for the chaos tests (issue 22), in the manner of
// FoundationDB's and CockroachDB's. A crash point is a named place in the server's code; when the
// one point named by the hidden, test-only `ctflow server --crash-at NAME[#N]` is reached (the
// Nth time, default the first), the process kills itself with SIGKILL right there, as a power
// cut or an OOM kill would: no destructor, no rollback sent, no log flushed beyond that line.
// Off (the default) a point costs one relaxed load and a compare.
//
//   crash::point("claim:before-commit")      dies here
//   crash::at_commit("deploy:after-commit")  dies right after the enclosing store::with_tx or
//                                            with_autocommit commits (nothing if it rolls back)
//
// The points and what a restarted server must make of each are listed in docs/testing.md
// ("Crash points"); tests/chaos/test_crash_points.cpp kills the server at each.
//
// Fail points, the same way: `--fail-at NAME[#N]` makes crash::fails(NAME) true once (the Nth
// time it is asked), and the store turns that into the error PostgreSQL gives a transaction that
// loses a conflict (store::fail_point: a serialization failure, which store::with_tx retries).
//
// Thread-safety: arm() once at start, before any thread that reaches a point; point(),
// at_commit() and the store's committed()/rolled_back() from any thread (at_commit is
// per-thread, as a transaction belongs to one thread).
#include <string>
#include <string_view>

namespace ctflow::crash {

// Arms "NAME" or "NAME#N". Returns an error message for a malformed spec ("" when fine).
std::string arm(const std::string& spec);
// The armed point's name ("" when none).
const std::string& armed();

void point(std::string_view name);
void at_commit(std::string_view name);

// Arms a fail point ("NAME" or "NAME#N"); an error message for a malformed spec ("" when fine).
std::string arm_failure(const std::string& spec);
// True the one time the armed fail point is reached.
bool fails(std::string_view name);

// For store::with_tx / with_autocommit only.
void committed();
void rolled_back();

}  // namespace ctflow::crash
