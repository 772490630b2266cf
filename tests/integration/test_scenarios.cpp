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

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <deque>
#include <filesystem>
#include <future>
#include <set>

#include "tests/integration/scenario/case.hpp"
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

bool task_final(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "upstream_failed" || s == "skipped" ||
         s == "cancelled" || s == "cached";
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
  std::vector<std::string> check() {
    std::vector<std::string> bad;
    for (size_t k = 0; k < ids_.size(); ++k) check_run(k, c_.runs[k].expect, bad);
    for (const auto& f : c_.files) check_file(f, bad);
    return bad;
  }

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

  void check_run(size_t k, const RunExpect& e, std::vector<std::string>& bad) {
    std::string run = "run " + std::to_string(k + 1);
    auto r = query("SELECT state, coalesce(error, '') FROM runs WHERE id = $1", ids_[k]);
    std::string state = r[0][0].c_str(), error = r[0][1].c_str();
    if (state != e.state) bad.push_back(run + ": state " + state + ", expected " + e.state);
    if (error.find(e.error) == std::string::npos)
      bad.push_back(run + ": error \"" + error + "\" does not contain \"" + e.error + "\"");
    std::vector<int> matched(e.tasks.size());
    for (const auto& t : query("SELECT id, name, state, attempt, exit_code, coalesce(error, ''), "
                               "outputs::text, EXISTS (SELECT 1 FROM studies s WHERE "
                               "s.task_run_id = task_runs.id) FROM task_runs WHERE run_id = $1 "
                               "ORDER BY id",
                               ids_[k])) {
      std::string name = t[1].c_str(), what = run + ": task " + name;
      std::string tstate = t[2].c_str();
      int attempt = t[3].as<int>();
      // The attempt rows, in order: "failed:7", "succeeded:0", "cancelled".
      std::vector<std::string> history;
      for (const auto& a : query("SELECT attempt, state, exit_code FROM task_attempts WHERE "
                                 "task_run_id = $1 ORDER BY attempt, id",
                                 t[0].c_str())) {
        if (a[0].as<int>() != static_cast<int>(history.size()) + 1)
          bad.push_back(what + ": attempt rows are not numbered 1, 2, ...");
        history.push_back(std::string(a[1].c_str()) + (a[2].is_null() ? "" : ":") +
                          (a[2].is_null() ? "" : a[2].c_str()));
      }
      // A cached task, one whose `when:` is false, and a study's driver count an attempt but
      // start no process.
      int rows = static_cast<int>(history.size());
      bool no_process = tstate == "cached" || tstate == "skipped" || t[7].as<bool>();
      if (no_process ? rows != 0 : rows != attempt)
        bad.push_back(what + ": attempt " + std::to_string(attempt) + " but " +
                      std::to_string(rows) + " attempt rows");
      if (!task_final(tstate)) bad.push_back(what + ": not final (" + tstate + ")");
      size_t m = 0;
      while (m < e.tasks.size() && !glob_match(e.tasks[m].pattern, name)) ++m;
      if (m == e.tasks.size()) {
        bad.push_back(what + ": not expected (it ended " + tstate + ")");
        continue;
      }
      ++matched[m];
      const TaskExpect& x = e.tasks[m];
      if (tstate != x.state) bad.push_back(what + ": state " + tstate + ", expected " + x.state);
      if (x.attempts && rows != *x.attempts)
        bad.push_back(what + ": " + std::to_string(rows) + " attempts, expected " +
                      std::to_string(*x.attempts));
      if (x.history) {
        std::string got, want;
        for (const auto& h : history) got += (got.empty() ? "" : ",") + h;
        for (size_t i = 0; i < x.history->size(); ++i) {
          const auto& a = (*x.history)[i];
          std::string have = i < history.size() ? history[i] : "";
          bool same = x.history->size() == history.size() &&
                      have.substr(0, have.find(':')) == a.state &&
                      (!a.exit_code || have == a.state + ":" + std::to_string(*a.exit_code));
          if (!same) {
            for (const auto& h : *x.history)
              want += (want.empty() ? "" : ",") + h.state +
                      (h.exit_code ? ":" + std::to_string(*h.exit_code) : "");
            bad.push_back(what + ": attempts [" + got + "], expected [" + want + "]");
            break;
          }
        }
      }
      if (x.exit_code && (t[4].is_null() || t[4].as<int>() != *x.exit_code))
        bad.push_back(what + ": exit code " + (t[4].is_null() ? "NULL" : t[4].c_str()) +
                      ", expected " + std::to_string(*x.exit_code));
      if (std::string(t[5].c_str()).find(x.error) == std::string::npos)
        bad.push_back(what + ": error \"" + t[5].c_str() + "\" does not contain \"" + x.error +
                      "\"");
      if (!x.metrics.empty()) check_metrics(what, t[0].c_str(), x.metrics, bad);
      if (x.outputs && json::parse(t[6].c_str()) != *x.outputs)
        bad.push_back(what + ": outputs " + t[6].c_str() + ", expected " +
                      json::serialize(*x.outputs));
    }
    for (size_t m = 0; m < e.tasks.size(); ++m)
      if (!matched[m]) bad.push_back(run + ": no task matches \"" + e.tasks[m].pattern + "\"");
    for (const auto& s : e.studies) check_study(k, s, bad);
  }

  void check_metrics(const std::string& what, const std::string& task_run_id,
                     const std::map<std::string, std::vector<double>>& want,
                     std::vector<std::string>& bad) {
    std::map<std::string, std::vector<double>> got;
    for (const auto& m : query("SELECT name, value FROM metrics WHERE task_run_id = $1 ORDER BY "
                               "name, step, id",
                               task_run_id))
      got[m[0].c_str()].push_back(m[1].as<double>());
    auto text = [](const std::map<std::string, std::vector<double>>& m) {
      std::string out;
      for (const auto& [name, values] : m) {
        out += (out.empty() ? "" : ", ") + name + ": [";
        for (size_t i = 0; i < values.size(); ++i)
          out += (i ? ", " : "") + fmt::format("{}", values[i]);
        out += "]";
      }
      return out;
    };
    if (got != want)
      bad.push_back(what + ": metrics {" + text(got) + "}, expected {" + text(want) + "}");
  }

  void check_study(size_t k, const StudyExpect& s, std::vector<std::string>& bad) {
    std::string what = "run " + std::to_string(k + 1) + ": study " + s.task;
    auto r = query(
        "SELECT s.state, (SELECT string_agg(t.state, ',' ORDER BY t.number) FROM "
        "trials t WHERE t.study_id = s.id), b.params::text FROM studies s LEFT JOIN "
        "trials b ON b.id = s.best_trial_id WHERE s.run_id = $1 AND s.name = $2",
        ids_[k], s.task);
    if (r.empty()) return bad.push_back(what + ": no such study");
    if (std::string(r[0][0].c_str()) != s.state)
      bad.push_back(what + ": state " + r[0][0].c_str() + ", expected " + s.state);
    std::string trials = r[0][1].is_null() ? "" : r[0][1].c_str(), want;
    for (const auto& t : s.trials) want += (want.empty() ? "" : ",") + t;
    if (!s.trials.empty() && trials != want)
      bad.push_back(what + ": trials [" + trials + "], expected [" + want + "]");
    if (s.best.empty()) return;
    if (r[0][2].is_null()) return bad.push_back(what + ": no best trial");
    auto best = json::parse(r[0][2].c_str()).as_object();
    for (const auto& [k2, v] : s.best) {
      auto* got = best.if_contains(k2);
      std::string g = !got               ? "(none)"
                      : got->is_string() ? std::string(got->get_string())
                                         : json::serialize(*got);
      if (g != v) bad.push_back(what + ": best " + k2 + " = " + g + ", expected " + v);
    }
  }

  void check_file(const FileExpect& f, std::vector<std::string>& bad) {
    auto lines = read_lines(scratch_ + "/" + f.name);
    std::string what = "file " + f.name;
    if (f.lines && lines != *f.lines) {
      std::string got, want;
      for (const auto& l : lines) got += (got.empty() ? "" : ", ") + l;
      for (const auto& l : *f.lines) want += (want.empty() ? "" : ", ") + l;
      bad.push_back(what + ": lines [" + got + "], expected [" + want + "]");
    }
    if (f.count && static_cast<int>(lines.size()) != *f.count)
      bad.push_back(what + ": " + std::to_string(lines.size()) + " lines, expected " +
                    std::to_string(*f.count));
    if (f.distinct && std::set<std::string>(lines.begin(), lines.end()).size() != lines.size())
      bad.push_back(what + ": a line appears twice (something ran twice)");
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
    std::string where = "case " + c.name + " (" + o.mode + ")";
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
