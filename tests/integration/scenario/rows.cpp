#include "tests/integration/scenario/rows.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>

namespace ctflow::it::scenario {

namespace {

// Runs are numbered in submission order, the same in both databases.
constexpr const char* kRunNumbers =
    "WITH r AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM runs) ";

// Each query's first column is the row's key; the others are compared by name.
const char* const kQueries[] = {
    // runs: not pipeline_version_id (the spec text holds the scratch folder), logical_date,
    // created_at, data_interval_* (timestamps).
    R"(SELECT 'run ' || r.n AS key, x.state, x.params::text AS params, x.trigger, x.concurrency,
         x.deadline IS NOT NULL AS has_deadline, x.cancel_requested, x.tasks_total, x.tasks_done,
         x.tasks_failed, x.error, x.started_at IS NOT NULL AS started,
         x.finished_at IS NOT NULL AS finished
       FROM runs x JOIN r ON r.id = x.id)",
    // task_runs: trials name their study's task as parent. Not started_at, not even whether it
    // is set: a start is recorded only if the task still runs 20 ms later, so a quick task has
    // none or one by timing, in either mode.
    R"(SELECT 'task ' || r.n || '/' || t.name AS key, t.spec_index, t.state, t.attempt,
         t.max_attempts, t.pending_deps, t.priority, t.pool, p.name AS parent,
         t.lease_owner IS NOT NULL AS leased, t.executor_ref IS NOT NULL AS has_executor_ref,
         t.deadline IS NOT NULL AS has_deadline, t.cache_key IS NOT NULL AS has_cache_key,
         t.cache_reason, t.outputs::text AS outputs, t.error, t.exit_code,
         t.finished_at IS NOT NULL AS finished
       FROM task_runs t JOIN r ON r.id = t.run_id
       LEFT JOIN task_runs p ON p.id = t.parent_task_run_id)",
    // task_attempts: not metrics_offset, how far the engine had read the metrics file while the
    // task ran (timing); what it read is in `metrics` below.
    R"(SELECT 'attempt ' || r.n || '/' || t.name || '/' || a.attempt AS key, a.state,
         a.owner IS NOT NULL AS owned, a.executor_ref IS NOT NULL AS has_executor_ref,
         a.argv::text AS argv, a.exit_code, a.error, a.log_path IS NOT NULL AS has_log,
         a.finished_at IS NOT NULL AS finished
       FROM task_attempts a JOIN task_runs t ON t.id = a.task_run_id JOIN r ON r.id = t.run_id)",
    R"(SELECT 'study ' || r.n || '/' || s.name AS key, s.state, s.algorithm, s.metric, s.goal,
         s.max_trials, s.parallelism, s.exhausted, s.best_value, b.number AS best_trial, s.error,
         s.finished_at IS NOT NULL AS finished
       FROM studies s JOIN r ON r.id = s.run_id LEFT JOIN trials b ON b.id = s.best_trial_id)",
    R"(SELECT 'trial ' || r.n || '/' || s.name || '/' || t.number AS key, k.name AS task,
         t.params::text AS params, t.state, t.value, t.error,
         t.finished_at IS NOT NULL AS finished
       FROM trials t JOIN studies s ON s.id = t.study_id JOIN r ON r.id = s.run_id
       JOIN task_runs k ON k.id = t.task_run_id)",
    // metrics: one row per point; the same point twice is a finding (" #2").
    R"(SELECT 'metric ' || r.n || '/' || t.name || '/' || m.name || '/' || coalesce(m.step::text, '-')
         AS key, m.value
       FROM metrics m JOIN task_runs t ON t.id = m.task_run_id JOIN r ON r.id = m.run_id)",
};

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

struct Row {
  std::string key;
  std::vector<std::pair<std::string, std::string>> cols;
};

// "KEY | a=1 | b=x" -> Row (values never hold " | ": argv and outputs are JSON text).
Row parse(const std::string& line) {
  Row r;
  size_t at = line.find(" | ");
  r.key = line.substr(0, at);
  while (at != std::string::npos) {
    size_t next = line.find(" | ", at + 3);
    std::string col = line.substr(at + 3, next == std::string::npos ? next : next - at - 3);
    auto eq = col.find('=');
    r.cols.emplace_back(col.substr(0, eq), eq == std::string::npos ? "" : col.substr(eq + 1));
    at = next;
  }
  return r;
}

}  // namespace

std::vector<std::string> snapshot(const std::string& db_url,
                                  const std::vector<std::pair<std::string, std::string>>& replace) {
  pqxx::connection c(db_url);
  pqxx::read_transaction tx(c);
  std::vector<std::string> lines;
  std::map<std::string, int> seen;
  for (const char* q : kQueries) {
    for (const auto& row : tx.exec(std::string(kRunNumbers) + q)) {
      std::string key = row[0].c_str();
      // A key twice (two attempt rows with one number) is itself a finding: keep both.
      if (int n = ++seen[key]; n > 1) key += " #" + std::to_string(n);
      std::string line = key;
      for (pqxx::row::size_type i = 1; i < row.size(); ++i) {
        std::string v = row[i].is_null() ? "NULL" : row[i].c_str();
        for (const auto& [from, to] : replace) replace_all(v, from, to);
        replace_all(v, "\\", "\\\\");  // one line per row, split at " | "
        replace_all(v, "\n", "\\n");
        replace_all(v, "|", "\\|");
        line += std::string(" | ") + row[i].name() + "=" + v;
      }
      lines.push_back(std::move(line));
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> diff(const std::vector<std::string>& a, const std::string& a_name,
                              const std::vector<std::string>& b, const std::string& b_name) {
  std::map<std::string, Row> left, right;
  for (const auto& l : a) {
    auto r = parse(l);
    left[r.key] = r;
  }
  for (const auto& l : b) {
    auto r = parse(l);
    right[r.key] = r;
  }
  std::vector<std::string> out;
  for (const auto& [key, l] : left) {
    auto it = right.find(key);
    if (it == right.end()) {
      out.push_back(key + ": only in " + a_name);
      continue;
    }
    std::map<std::string, std::string> rc(it->second.cols.begin(), it->second.cols.end());
    for (const auto& [col, v] : l.cols) {
      auto w = rc.find(col);
      std::string other = w == rc.end() ? "(absent)" : w->second;
      if (other != v)
        out.push_back(key + ": " + col + ": " + a_name + "=" + v + " " + b_name + "=" + other);
    }
  }
  for (const auto& [key, r] : right)
    if (!left.count(key)) out.push_back(key + ": only in " + b_name);
  return out;
}

}  // namespace ctflow::it::scenario
