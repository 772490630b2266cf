#include "tests/integration/scenario/expect.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include <map>
#include <set>

#include "tests/integration/support/server_process.hpp"

namespace ctflow::it::scenario {

namespace json = boost::json;

namespace {

bool task_final(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "upstream_failed" || s == "skipped" ||
         s == "cancelled" || s == "cached";
}

class Checker {
 public:
  Checker(pqxx::connection& db, const std::vector<std::string>& ids, const std::string& scratch)
      : db_(db), ids_(ids), scratch_(scratch) {}

  void run(size_t k, const RunExpect& e, std::vector<std::string>& bad) {
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
      if (!x.metrics.empty()) metrics(what, t[0].c_str(), x.metrics, bad);
      if (x.outputs && json::parse(t[6].c_str()) != *x.outputs)
        bad.push_back(what + ": outputs " + t[6].c_str() + ", expected " +
                      json::serialize(*x.outputs));
    }
    for (size_t m = 0; m < e.tasks.size(); ++m)
      if (!matched[m]) bad.push_back(run + ": no task matches \"" + e.tasks[m].pattern + "\"");
    for (const auto& s : e.studies) study(k, s, bad);
  }

  void metrics(const std::string& what, const std::string& task_run_id,
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

  void study(size_t k, const StudyExpect& s, std::vector<std::string>& bad) {
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

  void file(const FileExpect& f, std::vector<std::string>& bad) {
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

 private:
  template <class... Args>
  pqxx::result query(const std::string& sql, const Args&... args) {
    pqxx::nontransaction tx(db_);
    return tx.exec_params(sql, args...);
  }

  pqxx::connection& db_;
  const std::vector<std::string>& ids_;
  const std::string& scratch_;
};

}  // namespace

std::vector<std::string> check_outcome(pqxx::connection& db, const Case& c,
                                       const std::vector<std::string>& run_ids,
                                       const std::string& scratch) {
  Checker check(db, run_ids, scratch);
  std::vector<std::string> bad;
  for (size_t k = 0; k < run_ids.size(); ++k) check.run(k, c.runs[k].expect, bad);
  for (const auto& f : c.files) check.file(f, bad);
  return bad;
}

}  // namespace ctflow::it::scenario
