#pragma once
// CLI verbs for the model registry (model_cmds.cpp):
//   ctflow models pull NAME[@ALIAS|:VERSION] DIR   a version's artifacts into DIR, each checked
//                                                  against its digest (+ DIR/version.json)
//   ctflow deploy MODEL --version N [--alias production]   move an alias (clears a canary)
//   ctflow deploy MODEL --version M --canary P             M gets P% of the alias's traffic
//   ctflow deploy promote MODEL | rollback MODEL           canary -> version | drop canary or
//                                                          back to the previous version
// Exit codes as in commands.hpp: 0 ok, 2 bad input, an API error or server unreachable.
#include <CLI/CLI.hpp>

#include <functional>
#include <optional>

#include "scheduler/cli/commands.hpp"

namespace ctflow::cli {

// Adds the verbs to `app`; returns a function to call after parsing that runs the chosen verb
// and returns its exit code, or nullopt when none of these verbs was given.
std::function<std::optional<int>()> add_model_verbs(CLI::App& app);

int cmd_models_pull(const ClientFlags& c, const std::string& spec, const std::string& dir);
int cmd_deploy(const ClientFlags& c, const std::string& model, int64_t version,
               const std::string& alias);
int cmd_canary(const ClientFlags& c, const std::string& model, int64_t version, double percent,
               const std::string& alias);
// `op`: "promote" or "rollback".
int cmd_alias_op(const ClientFlags& c, const std::string& op, const std::string& model,
                 const std::string& alias);

}  // namespace ctflow::cli
