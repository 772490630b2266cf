// Engine scenarios as data: every tests/testdata/runs/<case>.yaml (format: the README there) runs
// against real servers and PostgreSQL in two modes at once, the engine's fast path on ("fast")
// and off ("plain", `ctflow server --no-fast-path`), each with its own server and database. Each
// mode submits the case's runs, injects its events when their triggers are observed in the
// database, waits until every row is final and checks the expected outcome; then the two modes'
// normalised final rows (scenario/rows.hpp) must be equal. Each mode's rows and server log are
// kept in <build>/tests/scenarios/CASE.MODE.{rows,log}. The test cases are registered at
// start-up, one per file and named after it, and CMake adds one ctest test per file, so a new
// case is a new file.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include <deque>
#include <filesystem>
#include <future>

#include "tests/integration/scenario/case.hpp"
#include "tests/integration/scenario/expect.hpp"
#include "tests/integration/scenario/rows.hpp"
#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;
using namespace ctflow::it::scenario;
namespace fs = std::filesystem;

namespace {

const std::string kCasesDir = std::string(CTFLOW_SOURCE_DIR) + "/tests/testdata/runs";

// <build>/tests/scenarios/CASE.MODE.{rows,log}: what each mode left, for a reader.
std::string out_file(const std::string& name, const std::string& mode, const std::string& ext) {
  std::string d = std::string(CTFLOW_BINARY_DIR) + "/tests/scenarios";
  fs::create_directories(d);
  return d + "/" + name + "." + mode + "." + ext;
}

// One mode of one case: its server, its database and the runs it submitted.
class Scenario {
 public:
  Scenario(const Case& c, const std::string& mode)
      : c_(c),
        where_("case " + c.name + " (" + mode + ")"),
        h_(config(c, mode)),
        conn_(h_.db().url()),
        ids_(c.runs.size()) {
    scratch_ = h_.path("scratch");
    fs::create_directories(scratch_);
  }

  void play() {
    submit(0);
    for (size_t i = 0; i < c_.events.size(); ++i) {
      const auto& e = c_.events[i];
      await(e.wait, "event " + std::to_string(i + 1));
      int target = e.target ? e.target - 1 : e.wait.run - 1;
      switch (e.action) {
        case Action::Cancel:
          cancel(target);
          break;
        case Action::Kill9:
          h_.server().kill9();
          h_.server().start();
          break;
        case Action::Restart:
          h_.server().stop();
          h_.server().start();
          break;
        case Action::Submit:
          submit(e.target ? e.target - 1 : next_unsubmitted());
          break;
        case Action::Touch:
          write_text(scratch_ + "/" + e.file, "");
          break;
      }
    }
    for (size_t k = 0; k < ids_.size(); ++k)
      if (ids_[k].empty()) {
        wait_final();
        submit(static_cast<int>(k));
      }
    wait_final();
  }

  std::vector<std::string> rows() {
    return snapshot(
        h_.db().url(),
        {{scratch_, "@DIR@"}, {h_.server().data_dir(), "@DATA@"}, {h_.dir().path(), "@TMP@"}});
  }

  // Every difference from the expected outcome, each a sentence.
  std::vector<std::string> check() { return check_outcome(conn_, c_, ids_, scratch_); }

  const std::string& where() const { return where_; }
  std::string log() { return h_.server().log(); }

 private:
  static ServerConfig config(const Case& c, const std::string& mode) {
    ServerConfig cfg;
    cfg.max_parallel = c.max_parallel;
    cfg.extra_args = c.server_args;
    if (mode == "plain") cfg.extra_args.push_back("--no-fast-path");
    return cfg;
  }

  template <class... Args>
  pqxx::result query(const std::string& sql, const Args&... args) {
    pqxx::nontransaction tx(conn_);
    return tx.exec_params(sql, args...);
  }
  template <class... Args>
  std::string one(const std::string& sql, const Args&... args) {
    auto r = query(sql, args...);
    return r.empty() || r[0][0].is_null() ? "" : r[0][0].c_str();
  }

  int next_unsubmitted() const {
    for (size_t k = 0; k < ids_.size(); ++k)
      if (ids_[k].empty()) return static_cast<int>(k);
    throw std::runtime_error(where_ + ": every run was submitted already");
  }

  void submit(int k) {
    if (!ids_[k].empty())
      throw std::runtime_error(where_ + ": run " + std::to_string(k + 1) +
                               " was submitted already");
    std::string spec = c_.spec;
    for (auto at = spec.find("@DIR@"); at != std::string::npos; at = spec.find("@DIR@", at))
      spec.replace(at, 5, scratch_);
    ids_[k] = h_.submit(spec, c_.runs[k].params);
  }

  const std::string& id(int k) const {
    if (ids_[k].empty())
      throw std::runtime_error(where_ + ": run " + std::to_string(k + 1) + " is not submitted");
    return ids_[k];
  }

  void cancel(int k) {
    auto r = h_.server().client().request("POST", "/api/v1/runs/" + id(k) + "/cancel");
    if (!r || r->status / 100 != 2)
      throw std::runtime_error(where_ + ": cancel run " + std::to_string(k + 1) + ": " +
                               (r ? std::to_string(r->status) + " " + r->body : r.error()));
  }

  // "run 1 running: a=succeeded b=running(1)" for failure messages.
  std::string describe() {
    std::string out;
    for (size_t k = 0; k < ids_.size(); ++k) {
      if (ids_[k].empty()) continue;
      out += "\n  run " + std::to_string(k + 1) + " " +
             one("SELECT state FROM runs WHERE id = $1", ids_[k]) + ":";
      for (const auto& row : query("SELECT name, state, attempt FROM task_runs WHERE run_id = $1 "
                                   "ORDER BY spec_index, id",
                                   ids_[k]))
        out +=
            std::string(" ") + row[0].c_str() + "=" + row[1].c_str() + "(" + row[2].c_str() + ")";
    }
    return out;
  }

  // Every condition the trigger names holds (scenario/case.hpp, Trigger).
  bool reached(const Trigger& t) {
    const std::string& run = id(t.run - 1);
    std::string states = "{";
    for (const auto& s : t.states) states += (states.size() > 1 ? "," : "") + s;
    states += "}";
    if (t.trials > 0 &&
        std::stoi(one("SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id "
                      "WHERE s.run_id = $1 AND t.finished_at IS NOT NULL",
                      run)) < t.trials)
      return false;
    if (!t.task.empty())
      return one("SELECT count(*) FROM task_runs WHERE run_id = $1 AND name = $2 AND state = "
                 "ANY($3::text[]) AND attempt >= $4",
                 run, t.task, states, t.attempt) == "1";
    if (t.count > 0)
      return std::stoi(one("SELECT count(*) FROM task_runs WHERE run_id = $1 AND state = "
                           "ANY($2::text[])",
                           run, states)) >= t.count;
    if (!t.states.empty())
      return one("SELECT count(*) FROM runs WHERE id = $1 AND state = ANY($2::text[])", run,
                 states) == "1";
    return true;
  }

  void await(const Trigger& t, const std::string& what) {
    if (!poll_until([&] { return reached(t); }, c_.timeout, 20ms))
      throw std::runtime_error(where_ + ": " + what + ": its trigger did not happen within " +
                               std::to_string(c_.timeout.count()) + " s; now:" + describe());
  }

  // Every submitted run final, no task run or attempt still open.
  void wait_final() {
    std::string runs = "{";
    for (const auto& i : ids_)
      if (!i.empty()) runs += (runs.size() > 1 ? "," : "") + i;
    runs += "}";
    bool done = poll_until(
        [&] {
          return one("SELECT (SELECT count(*) FROM runs WHERE id = ANY($1::bigint[]) AND state IN "
                     "('queued', 'running')) + (SELECT count(*) FROM task_runs WHERE run_id = "
                     "ANY($1::bigint[]) AND state IN ('pending', 'ready', 'dispatched', "
                     "'running')) + (SELECT count(*) FROM task_attempts a JOIN task_runs t ON t.id "
                     "= a.task_run_id WHERE t.run_id = ANY($1::bigint[]) AND a.state IN "
                     "('dispatched', 'running'))",
                     runs) == "0";
        },
        c_.timeout, 20ms);
    if (!done)
      throw std::runtime_error(where_ + ": the runs did not end within " +
                               std::to_string(c_.timeout.count()) + " s; now:" + describe());
  }

  const Case& c_;
  std::string where_;
  Harness h_;
  pqxx::connection conn_;
  std::string scratch_;
  std::vector<std::string> ids_;  // run ids by case run index; "" until submitted
};

// What one mode of a case left behind, collected on its own thread.
struct Outcome {
  std::string mode;
  std::string error;              // the mode could not play its case (an exception)
  std::vector<std::string> bad;   // differences from the expected outcome
  std::vector<std::string> rows;  // normalised final rows
  std::string log_file;           // the server's log, kept beside the rows
};

Outcome play(const Case& c, const std::string& mode) {
  Outcome o;
  o.mode = mode;
  o.log_file = out_file(c.name, mode, "log");
  try {
    Scenario s(c, mode);
    try {
      s.play();
      o.rows = s.rows();
      o.bad = s.check();
    } catch (const std::exception& e) {
      o.error = e.what();
    }
    write_text(o.log_file, s.log());
  } catch (const std::exception& e) {
    o.error = e.what();
  }
  std::string text;
  for (const auto& l : o.rows) text += l + "\n";
  write_text(out_file(c.name, mode, "rows"), text);
  return o;
}

// Both modes at once (each with its own server and database, one PostgreSQL cluster), then
// their expected outcomes and their agreement.
void run_case(const std::string& path) {
  Case c = load_case(path);
  auto fast = std::async(std::launch::async, [&] { return play(c, "fast"); });
  Outcome plain = play(c, "plain");
  std::vector<Outcome> both{fast.get(), std::move(plain)};
  for (const auto& o : both) {
    // `make test-plain` turns the fast path off in every server, this "fast" one included.
    const char* off = std::getenv("CTFLOW_NO_FAST_PATH");
    bool forced = o.mode == "fast" && off && std::string(off) == "1";
    std::string where =
        "case " + c.name + " (" + o.mode + (forced ? ", off by CTFLOW_NO_FAST_PATH=1" : "") + ")";
    if (!o.error.empty()) FAIL_CHECK(where << ": " << o.error << "\nserver log: " << o.log_file);
    for (const auto& b : o.bad) FAIL_CHECK(where << ": " << b << "\nserver log: " << o.log_file);
  }
  if (!both[0].error.empty() || !both[1].error.empty()) return;
  auto differences = diff(both[0].rows, "fast", both[1].rows, "plain");
  for (const auto& d : differences)
    FAIL_CHECK("case " << c.name << ": the fast and plain paths disagree: " << d);
  if (differences.empty() && both[0].bad.empty() && both[1].bad.empty())
    SUCCEED("case " << c.name << ": as expected in both modes, " << both[0].rows.size()
                    << " final rows agree");
}

class Invoker : public Catch::ITestInvoker {
 public:
  explicit Invoker(std::string path) : path_(std::move(path)) {}
  void invoke() const override { run_case(path_); }

 private:
  std::string path_;
};

// One test case per file, named after it, registered before Catch's main runs.
struct Registrar {
  Registrar() {
    static std::deque<std::string> names;  // Catch keeps references to the names
    for (const auto& f : case_files(kCasesDir)) {
      names.push_back(fs::path(f).stem().string());
      Catch::AutoReg(new Invoker(f), CATCH_INTERNAL_LINEINFO, "",
                     Catch::NameAndTags{names.back(), "[integration][scenario]"});
    }
  }
} registrar;

}  // namespace
