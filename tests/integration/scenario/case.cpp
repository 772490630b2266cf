#include "tests/integration/scenario/case.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "scheduler/spec/yaml_json.hpp"

namespace ctflow::it::scenario {

namespace json = boost::json;

namespace {

// A value of the case file with its path, for error messages; rejects keys it was not asked for.
class Node {
 public:
  Node(const json::value& v, std::string path, const std::string* file)
      : v_(v), path_(std::move(path)), file_(file) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(*file_ + ": " + (path_.empty() ? "" : path_ + ": ") + what);
  }
  const std::string& path() const { return path_; }
  const json::value& value() const { return v_; }
  bool is_object() const { return v_.is_object(); }
  bool is_array() const { return v_.is_array(); }
  bool is_string() const { return v_.is_string(); }

  // The object's keys must be among `allowed`.
  void keys(std::initializer_list<const char*> allowed) const {
    if (!v_.is_object()) fail("expected a mapping");
    for (const auto& kv : v_.as_object())
      if (std::none_of(allowed.begin(), allowed.end(),
                       [&](const char* a) { return kv.key() == a; }))
        fail("unknown key \"" + std::string(kv.key()) + "\"");
  }
  std::optional<Node> get(const char* key) const {
    auto* v = v_.as_object().if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    return Node(*v, path_.empty() ? key : path_ + "." + key, file_);
  }
  Node at(const char* key) const {
    auto n = get(key);
    if (!n) fail(std::string("missing \"") + key + "\"");
    return *n;
  }
  std::vector<Node> items() const {
    if (!v_.is_array()) fail("expected a sequence");
    std::vector<Node> out;
    int i = 0;
    for (const auto& e : v_.as_array())
      out.emplace_back(e, path_ + "[" + std::to_string(i++) + "]", file_);
    return out;
  }
  std::vector<std::pair<std::string, Node>> entries() const {
    if (!v_.is_object()) fail("expected a mapping");
    std::vector<std::pair<std::string, Node>> out;
    for (const auto& kv : v_.as_object())
      out.emplace_back(std::string(kv.key()),
                       Node(kv.value(), path_ + "." + std::string(kv.key()), file_));
    return out;
  }
  // Scalars as text: strings as they are, numbers and booleans as JSON writes them.
  std::string text() const {
    if (v_.is_string()) return std::string(v_.get_string());
    if (v_.is_object() || v_.is_array() || v_.is_null()) fail("expected a scalar");
    return json::serialize(v_);
  }
  int integer() const {
    if (!v_.is_int64()) fail("expected an integer");
    return static_cast<int>(v_.get_int64());
  }
  bool boolean() const {
    if (!v_.is_bool()) fail("expected true or false");
    return v_.get_bool();
  }
  // A scalar or a sequence of scalars.
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    if (v_.is_array())
      for (const auto& n : items()) out.push_back(n.text());
    else
      out.push_back(text());
    return out;
  }

 private:
  const json::value& v_;
  std::string path_;
  const std::string* file_;
};

const std::set<std::string> kTaskStates{"pending",         "ready",  "dispatched", "running",
                                        "succeeded",       "failed", "skipped",    "cancelled",
                                        "upstream_failed", "cached"};
const std::set<std::string> kRunStates{"queued", "running", "succeeded", "failed", "cancelled"};

std::string state_in(const Node& n, const std::set<std::string>& allowed) {
  std::string s = n.text();
  if (!allowed.count(s)) n.fail("unknown state \"" + s + "\"");
  return s;
}

Trigger parse_trigger(const Node& n) {
  n.keys({"run", "task", "state", "attempt", "count", "trials"});
  Trigger t;
  if (auto v = n.get("run")) t.run = v->integer();
  if (auto v = n.get("task")) t.task = v->text();
  if (auto v = n.get("attempt")) t.attempt = v->integer();
  if (auto v = n.get("count")) t.count = v->integer();
  if (auto v = n.get("trials")) t.trials = v->integer();
  bool on_run = t.task.empty() && t.count == 0;
  if (auto v = n.get("state")) {
    t.states = v->texts();
    for (const auto& s : t.states)
      if (!(on_run ? kRunStates : kTaskStates).count(s)) v->fail("unknown state \"" + s + "\"");
  }
  if ((!t.task.empty() || t.count > 0) && t.states.empty()) n.fail("missing \"state\"");
  return t;
}

Event parse_event(const Node& n) {
  n.keys({"wait", "do", "target", "file"});
  Event e;
  if (auto w = n.get("wait")) e.wait = parse_trigger(*w);
  auto d = n.at("do");
  static const std::map<std::string, Action> kActions{{"cancel", Action::Cancel},
                                                      {"kill9", Action::Kill9},
                                                      {"restart", Action::Restart},
                                                      {"submit", Action::Submit},
                                                      {"touch", Action::Touch}};
  auto it = kActions.find(d.text());
  if (it == kActions.end()) d.fail("unknown action \"" + d.text() + "\"");
  e.action = it->second;
  if (auto v = n.get("target")) e.target = v->integer();
  if (auto v = n.get("file")) e.file = v->text();
  if (e.action == Action::Touch && e.file.empty()) n.fail("touch needs \"file\"");
  return e;
}

AttemptExpect parse_attempt(const Node& n) {
  std::string s = n.text();
  AttemptExpect a;
  auto colon = s.find(':');
  a.state = s.substr(0, colon);
  if (colon != std::string::npos) a.exit_code = std::stoi(s.substr(colon + 1));
  return a;
}

TaskExpect parse_task(const std::string& pattern, const Node& n) {
  TaskExpect t;
  t.pattern = pattern;
  if (!n.is_object()) {
    t.state = state_in(n, kTaskStates);
    return t;
  }
  n.keys({"state", "attempts", "exit_code", "error", "outputs", "metrics"});
  t.state = state_in(n.at("state"), kTaskStates);
  if (auto v = n.get("attempts")) {
    if (v->is_array()) {
      t.history.emplace();
      for (const auto& a : v->items()) t.history->push_back(parse_attempt(a));
      t.attempts = static_cast<int>(t.history->size());
    } else {
      t.attempts = v->integer();
    }
  }
  if (auto v = n.get("exit_code")) t.exit_code = v->integer();
  if (auto v = n.get("error")) t.error = v->text();
  if (auto v = n.get("outputs")) t.outputs = v->value();
  if (auto v = n.get("metrics"))
    for (const auto& [name, values] : v->entries())
      for (const auto& x : values.items()) {
        if (!x.value().is_number()) x.fail("expected a number");
        t.metrics[name].push_back(x.value().to_number<double>());
      }
  return t;
}

StudyExpect parse_study(const std::string& task, const Node& n) {
  n.keys({"state", "trials", "best"});
  StudyExpect s;
  s.task = task;
  s.state = n.at("state").text();
  if (auto v = n.get("trials")) s.trials = v->texts();
  if (auto v = n.get("best"))
    for (const auto& [k, x] : v->entries()) s.best[k] = x.text();
  return s;
}

RunExpect parse_expect(const Node& n, std::vector<FileExpect>& files) {
  n.keys({"run", "tasks", "studies", "files"});
  RunExpect e;
  auto r = n.at("run");
  if (r.is_object()) {
    r.keys({"state", "error"});
    e.state = state_in(r.at("state"), kRunStates);
    if (auto v = r.get("error")) e.error = v->text();
  } else {
    e.state = state_in(r, kRunStates);
  }
  for (const auto& [name, t] : n.at("tasks").entries()) e.tasks.push_back(parse_task(name, t));
  if (auto v = n.get("studies"))
    for (const auto& [name, s] : v->entries()) e.studies.push_back(parse_study(name, s));
  if (auto v = n.get("files"))
    for (const auto& [name, f] : v->entries()) {
      FileExpect fe;
      fe.name = name;
      if (f.is_array()) {
        fe.lines = f.texts();
      } else {
        f.keys({"lines", "distinct"});
        fe.count = f.at("lines").integer();
        if (auto d = f.get("distinct")) fe.distinct = d->boolean();
      }
      files.push_back(std::move(fe));
    }
  return e;
}

// A `runs:` entry, or the case itself (`whole`: its other keys were checked by the caller).
RunCase parse_run(const Node& n, std::vector<FileExpect>& files, bool whole = false) {
  if (!whole) n.keys({"params", "expect"});
  RunCase r;
  if (auto p = n.get("params"))
    for (const auto& [k, v] : p->entries()) r.params[k] = v.text();
  r.expect = parse_expect(n.at("expect"), files);
  return r;
}

}  // namespace

Case load_case(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> errors;
  auto doc = spec::detail::yaml_to_json(ss.str(), errors);
  std::string file = std::filesystem::path(path).filename().string();
  if (!doc) throw std::runtime_error(file + ": " + (errors.empty() ? "bad YAML" : errors.front()));
  Node root(*doc, "", &file);
  root.keys({"spec", "server", "timeout", "params", "expect", "runs", "events"});
  Case c;
  c.name = std::filesystem::path(path).stem().string();
  c.path = path;
  c.spec = root.at("spec").text();
  if (auto s = root.get("server")) {
    s->keys({"max_parallel", "args"});
    if (auto v = s->get("max_parallel")) c.max_parallel = v->integer();
    if (auto v = s->get("args")) c.server_args = v->texts();
  }
  if (auto v = root.get("timeout")) c.timeout = std::chrono::seconds(v->integer());
  if (auto runs = root.get("runs")) {
    if (root.get("params") || root.get("expect")) root.fail("use either runs or params/expect");
    for (const auto& r : runs->items()) c.runs.push_back(parse_run(r, c.files));
  } else {
    c.runs.push_back(parse_run(root, c.files, true));
  }
  if (c.runs.empty()) root.fail("no runs");
  if (auto events = root.get("events"))
    for (const auto& e : events->items()) {
      c.events.push_back(parse_event(e));
      const auto& ev = c.events.back();
      int n = static_cast<int>(c.runs.size());
      if (ev.wait.run < 1 || ev.wait.run > n || ev.target < 0 || ev.target > n)
        e.fail("no such run (the case has " + std::to_string(n) + ")");
    }
  return c;
}

std::vector<std::string> case_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool glob_match(const std::string& pattern, const std::string& name) {
  // Iterative wildcard match with backtracking to the last '*'.
  size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace ctflow::it::scenario
