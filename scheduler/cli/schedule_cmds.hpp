#pragma once
// CLI verbs for schedules, backfills and reruns (schedule_cmds.cpp):
//   ctflow schedules                             list schedules
//   ctflow schedule show|pause|resume|trigger NAME
//   ctflow backfill PIPELINE --from T1 --to T2   one run per fire in [T1, T2], exactly once
//   ctflow rerun RUN --from TASK                 a new run reusing the outputs upstream of TASK
// Exit codes as in commands.hpp: 0 ok, 2 bad input, an API error or server unreachable.
#include <CLI/CLI.hpp>

#include <functional>
#include <optional>

#include "scheduler/cli/commands.hpp"

namespace ctflow::cli {

// Adds the verbs to `app`; returns a function to call after parsing that runs the chosen verb
// and returns its exit code, or nullopt when none of these verbs was given.
std::function<std::optional<int>()> add_schedule_verbs(CLI::App& app);

int cmd_schedules(const ClientFlags& c);
int cmd_schedule(const ClientFlags& c, const std::string& action, const std::string& pipeline);
int cmd_backfill(const ClientFlags& c, const std::string& pipeline, const std::string& from,
                 const std::string& to);
int cmd_rerun(const ClientFlags& c, const std::string& run, const std::string& task);

}  // namespace ctflow::cli
