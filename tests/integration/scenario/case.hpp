#pragma once
// An engine scenario read from tests/testdata/runs/<case>.yaml (the format is documented in
// tests/testdata/runs/README.md): the pipeline spec, the runs to submit, the events to inject
// while they run, and the expected outcome.
//
// Pure data. load_case() reads and validates a file; an unknown key, a wrong type or a missing
// field throws std::runtime_error naming the file and the key's path ("diamond.yaml:
// expect.tasks.b: unknown key \"stat\""), so that a typo never makes a check vacuous.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

namespace ctflow::it::scenario {

// What an event waits for: every condition it names holds.
//  - `trials` > 0: at least `trials` trials of run `run`'s studies have finished; and
//  - `task` set: that task of run `run` is in one of `states` (and has started >= `attempt`
//    attempts when `attempt` > 0); or else
//  - `count` > 0: at least `count` task runs of run `run` are in one of `states`; or else
//  - `states` not empty: run `run` is in one of `states`.
// Nothing set: true at once.
struct Trigger {
  int run = 1;  // 1-based, in submission order
  std::string task;
  std::vector<std::string> states;
  int attempt = 0;
  int count = 0;
  int trials = 0;
};

enum class Action {
  Cancel,   // cancel run `target` (POST /api/v1/runs/{id}/cancel)
  Kill9,    // kill -9 the server (its supervisor and tasks live on), start it again
  Restart,  // stop the server (SIGTERM), start it again
  Submit,   // submit run `target`
  Touch,    // create the file `file` in the case's scratch folder
};

struct Event {
  Trigger wait;
  Action action = Action::Touch;
  int target = 0;    // the run acted on; 0: the trigger's run (Submit: the next unsubmitted one)
  std::string file;  // Touch
};

struct AttemptExpect {
  std::string state;             // task_attempts.state
  std::optional<int> exit_code;  // "failed:7" in the file
};

struct TaskExpect {
  std::string pattern;  // a task name; '*' matches any characters ("t*", "tune[*]")
  std::string state;
  std::optional<int> attempts;                        // task_runs.attempt and its attempt rows
  std::optional<std::vector<AttemptExpect>> history;  // the attempt rows, in attempt order
  std::optional<int> exit_code;
  std::string error;  // a substring of task_runs.error
  std::optional<boost::json::value> outputs;
  // The task's metric points by name, values in step order: each point stored once.
  std::map<std::string, std::vector<double>> metrics;
};

struct StudyExpect {
  std::string task;                         // the hpo task's name
  std::string state;                        // studies.state
  std::vector<std::string> trials;          // trial states by number; empty: not checked
  std::map<std::string, std::string> best;  // best trial's params, as text
};

struct RunExpect {
  std::string state;
  std::string error;              // a substring of runs.error
  std::vector<TaskExpect> tasks;  // every task run must match one pattern, every pattern a task
  std::vector<StudyExpect> studies;
};

struct FileExpect {
  std::string name;                               // in the scratch folder
  std::optional<std::vector<std::string>> lines;  // exactly these lines, in this order
  std::optional<int> count;                       // or this many lines
  bool distinct = false;                          // with count: no line twice
};

struct RunCase {
  std::map<std::string, std::string> params;  // as `ctflow submit -p NAME=VALUE`
  RunExpect expect;
};

struct Case {
  std::string name;  // the file name without .yaml
  std::string path;
  std::string spec;  // YAML; "@DIR@" stands for the scratch folder
  int max_parallel = 16;
  std::vector<std::string> server_args;
  std::chrono::seconds timeout{60};  // for each wait of the case
  std::vector<RunCase> runs;         // at least one
  std::vector<Event> events;
  std::vector<FileExpect> files;  // checked once every run has ended
};

Case load_case(const std::string& path);

// Every case file of `dir` (*.yaml), sorted by name.
std::vector<std::string> case_files(const std::string& dir);

// True when `name` matches `pattern`, where '*' matches any run of characters.
bool glob_match(const std::string& pattern, const std::string& name);

}  // namespace ctflow::it::scenario
