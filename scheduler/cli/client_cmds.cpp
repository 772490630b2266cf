// Client verbs: submit, runs, run, logs, cancel. They talk to the server's /api/v1.
#include <fmt/format.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "scheduler/cli/client.hpp"
#include "scheduler/cli/commands.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/time_util.hpp"
#include "scheduler/spec/spec.hpp"

namespace ctflow::cli {

std::string default_data_dir() {
  if (const char* h = std::getenv("CTFLOW_HOME"); h && *h) return h;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.local/share/ctflow";
}

std::string resolve_url(const ClientFlags& c) {
  if (!c.url.empty()) return c.url;
  if (const char* u = std::getenv("CTFLOW_URL"); u && *u) return u;
  return "http://127.0.0.1:8080";
}

static std::string read_token_file(const std::string& path) {
  auto t = read_file(path, 4096);
  if (!t) return "";
  std::string s = *t;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string resolve_token(const ClientFlags& c) {
  if (!c.token_file.empty()) return read_token_file(c.token_file);
  if (const char* t = std::getenv("CTFLOW_TOKEN"); t && *t) return t;
  if (const char* f = std::getenv("CTFLOW_TOKEN_FILE"); f && *f) return read_token_file(f);
  return read_token_file(default_data_dir() + "/admin-token");
}

namespace {

Client make_client(const ClientFlags& c) {
  return Client(resolve_url(c), resolve_token(c));
}

// Prints the API error and returns the exit code for it.
int fail(const std::string& what, const Result<HttpReply>& r) {
  if (!r) {
    std::cerr << "error: " << r.error() << "\n";
    return 2;
  }
  std::string text = error_text(*r);
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) std::cerr << "error: " << what << line << "\n";
  return 2;
}

std::optional<json::value> body_json(const HttpReply& r) {
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec) return std::nullopt;
  return v;
}

std::string str(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

std::string duration(const json::object& o) {
  auto* v = o.if_contains("duration_ms");
  if (!v || !v->is_int64() || str(o, "started_at") == "-") return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(v->get_int64()) / 1000.0);
  return buf;
}

int exit_for_state(const std::string& s) {
  if (s == "succeeded") return 0;
  if (s == "cancelled") return 3;
  return 1;
}

}  // namespace

int cmd_submit(const ClientFlags& c, const std::string& file,
               const std::vector<std::string>& params, bool wait, const std::string& logical_date) {
  bool too_big = false;
  auto text = read_file(file, spec::kMaxSpecBytes, &too_big);
  if (too_big) {
    std::cerr << "error: " << file << ": over the limit of " << (spec::kMaxSpecBytes >> 20)
              << " MiB\n";
    return 2;
  }
  if (!text) {
    std::cerr << "error: " << file << ": cannot read: " << std::strerror(errno) << "\n";
    return 2;
  }
  json::object pt;
  for (const auto& p : params) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "error: -p " << p << ": expected NAME=VALUE\n";
      return 2;
    }
    pt[p.substr(0, eq)] = p.substr(eq + 1);
  }
  auto client = make_client(c);
  json::object body{{"spec", *text}, {"params_text", pt}};
  if (!logical_date.empty()) {
    if (!parse_iso8601(logical_date)) {
      std::cerr << "error: --logical-date: \"" << logical_date
                << "\" is not an ISO-8601 instant (e.g. 2026-03-01T00:00:00Z)\n";
      return 2;
    }
    body["logical_date"] = logical_date;
  }
  auto r = client.request("POST", "/api/v1/runs", json::serialize(body));
  if (!r || r->status != 201) return fail(r && r->status == 422 ? file + ": " : "", r);
  auto v = body_json(*r);
  std::string id = v ? str(v->as_object(), "id") : "";
  if (c.output == "json")
    std::cout << r->body << "\n";
  else
    std::cout << id << "\n";
  std::cout.flush();
  if (!wait) return 0;
  return wait_for_run(c, id);
}

int wait_for_run(const ClientFlags& c, const std::string& run_id) {
  auto client = make_client(c);
  // The run alone: the stream below replays the run's events from its first, which sets every
  // task's state (the tasks of a 1000-task run cost the server ~20 ms to list, at the run's
  // start).
  auto r = client.request("GET", "/api/v1/runs/" + run_id + "?tasks=false");
  if (!r || r->status != 200) return fail("run " + run_id + ": ", r);
  auto run = body_json(*r)->as_object();
  int total = static_cast<int>(run["tasks_total"].to_number<int64_t>());
  // Each task's last state, and how many are done or running (kept as states change: a line
  // per event must not cost a pass over every task of a big run).
  std::map<std::string, std::string> states;
  int done = 0, running = 0;
  auto set_state = [&](const std::string& task, const std::string& state) {
    auto count = [&](const std::string& s, int d) {
      if (s == "succeeded" || s == "failed" || s == "upstream_failed" || s == "skipped" ||
          s == "cancelled" || s == "cached")
        done += d;
      else if (s == "running" || s == "dispatched")
        running += d;
    };
    auto& slot = states[task];
    count(slot, -1);
    slot = state;
    count(slot, 1);
  };
  // The lines of one chunk of the stream, written at once (std::cerr is unbuffered: a write
  // per line was a system call per event, three per task).
  std::string lines;
  auto progress = [&](const std::string& task, const std::string& state, const std::string& err) {
    total = std::max(total, static_cast<int>(states.size()));  // hpo trials join as they start
    lines += "[" + std::to_string(done) + "/" + std::to_string(total) + " done, " +
             std::to_string(running) + " running] " + task + ": " + state +
             (err.empty() || err == "-" ? "" : " (" + err + ")") + "\n";
  };
  auto flush_lines = [&] {
    std::cerr.write(lines.data(), static_cast<std::streamsize>(lines.size()));
    lines.clear();
  };
  std::string run_state = str(run, "state");
  std::string last_id;
  std::string buffer;
  for (int reconnects = 0; reconnects < 100; ++reconnects) {
    if (run_state == "succeeded" || run_state == "failed" || run_state == "cancelled") break;
    auto st = client.stream("/api/v1/events?run=" + run_id, last_id, [&](std::string_view data) {
      buffer.append(data);
      // Complete events end with a blank line; what is consumed is erased once per chunk.
      size_t start = 0, pos;
      while ((pos = buffer.find("\n\n", start)) != std::string::npos) {
        std::string_view block(buffer.data() + start, pos - start);
        start = pos + 2;
        std::string payload;
        while (!block.empty()) {
          size_t nl = block.find('\n');
          std::string_view line = block.substr(0, nl);
          block.remove_prefix(nl == std::string_view::npos ? block.size() : nl + 1);
          if (line.rfind("id: ", 0) == 0) last_id = std::string(line.substr(4));
          if (line.rfind("data: ", 0) == 0) payload += line.substr(6);
        }
        if (payload.empty()) continue;
        json::error_code ec;
        auto ev = json::parse(payload, ec);
        if (ec || !ev.is_object()) continue;
        const auto& o = ev.as_object();
        const auto* p = o.if_contains("payload");
        if (!p || !p->is_object()) continue;
        std::string kind = str(o, "kind");
        if (kind == "task") {
          std::string task = str(p->as_object(), "task"), state = str(p->as_object(), "state");
          set_state(task, state);
          progress(task, state, str(p->as_object(), "error"));
        } else if (kind == "run") {
          run_state = str(p->as_object(), "state");
          if (run_state == "succeeded" || run_state == "failed" || run_state == "cancelled") {
            flush_lines();
            return false;
          }
        }
      }
      flush_lines();
      buffer.erase(0, start);
      return true;
    });
    if (st && *st != 200) {
      std::cerr << "error: events: HTTP " << *st << "\n";
      return 2;
    }
    if (run_state == "succeeded" || run_state == "failed" || run_state == "cancelled") break;
    // The stream dropped: reconnect and resume after the last event seen.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(200 * (reconnects + 1), 3000)));
    auto again = client.request("GET", "/api/v1/runs/" + run_id + "?tasks=false");
    if (again && again->status == 200) run_state = str(body_json(*again)->as_object(), "state");
  }
  std::cerr << "run " << run_id << " " << run_state << "\n";
  return exit_for_state(run_state);
}

int cmd_runs(const ClientFlags& c, const std::optional<std::string>& pipeline,
             const std::optional<std::string>& state, int limit) {
  std::string q = "/api/v1/runs?limit=" + std::to_string(limit);
  if (pipeline) q += "&pipeline=" + *pipeline;
  if (state) q += "&state=" + *state;
  auto client = make_client(c);
  auto r = client.request("GET", q);
  if (!r || r->status != 200) return fail("", r);
  if (c.output == "json") {
    std::cout << r->body << "\n";
    return 0;
  }
  auto v = body_json(*r)->as_object();
  std::printf("%-8s %-24s %-10s %-9s %-22s %s\n", "ID", "PIPELINE", "STATE", "TASKS", "CREATED",
              "DURATION");
  for (const auto& run : v["runs"].as_array()) {
    const auto& o = run.as_object();
    std::string tasks = str(o, "tasks_done") + "/" + str(o, "tasks_total");
    std::printf("%-8s %-24s %-10s %-9s %-22s %s\n", str(o, "id").c_str(),
                str(o, "pipeline").c_str(), str(o, "state").c_str(), tasks.c_str(),
                str(o, "created_at").c_str(), duration(o).c_str());
  }
  return 0;
}

// "trigger: monitor (mnist@production v1: accuracy 0.4100 < 0.8000 over 200 labels)" for a run a
// monitor started; "trigger: api" otherwise.
std::string trigger_line(const boost::json::object& run) {
  std::string line = "trigger: " + str(run, "trigger");
  const auto* d = run.if_contains("trigger_detail");
  const auto* m = d && d->is_object() ? d->as_object().if_contains("monitor") : nullptr;
  if (!m || !m->is_object()) return line;
  const auto& mo = m->as_object();
  line += " (" + str(mo, "model") + "@" + str(mo, "alias") + " v" + str(mo, "version") + ":";
  const auto* crossed = mo.if_contains("crossed");
  if (crossed && crossed->is_array()) {
    bool first = true;
    for (const auto& c : crossed->as_array()) {
      const auto& co = c.as_object();
      std::string what = str(co, "metric");
      if (co.if_contains("feature")) what += "(" + str(co, "feature") + ")";
      auto num = [&](const char* k) {
        const auto* v = co.if_contains(k);
        return v && v->is_number() ? fmt::format("{:.4f}", v->to_number<double>()) : "-";
      };
      bool acc = str(co, "metric") == "accuracy";
      line += std::string(first ? " " : "; ") + what + " " + num("value") + (acc ? " < " : " > ") +
              num("threshold") + " over " + str(co, acc ? "labels" : "samples") +
              (acc ? " labels" : " predictions");
      first = false;
    }
  }
  return line + ")";
}

int cmd_run(const ClientFlags& c, const std::string& id) {
  auto client = make_client(c);
  auto r = client.request("GET", "/api/v1/runs/" + id);
  if (!r || r->status != 200) return fail("run " + id + ": ", r);
  if (c.output == "json") {
    std::cout << r->body << "\n";
    return 0;
  }
  auto o = body_json(*r)->as_object();
  std::printf("run %s  pipeline %s  state %s  tasks %s/%s  duration %s\n", str(o, "id").c_str(),
              str(o, "pipeline").c_str(), str(o, "state").c_str(), str(o, "tasks_done").c_str(),
              str(o, "tasks_total").c_str(), duration(o).c_str());
  std::printf("%s\n", trigger_line(o).c_str());
  if (str(o, "error") != "-") std::printf("error: %s\n", str(o, "error").c_str());
  std::printf("%-24s %-16s %-8s %-9s %s\n", "TASK", "STATE", "ATTEMPT", "DURATION",
              "CACHE / ERROR");
  for (const auto& t : o["tasks"].as_array()) {
    const auto& to = t.as_object();
    std::string note = str(to, "error") != "-" ? str(to, "error") : str(to, "cache_reason");
    std::string att = str(to, "attempt") + "/" + str(to, "max_attempts");
    std::printf("%-24s %-16s %-8s %-9s %s\n", str(to, "name").c_str(), str(to, "state").c_str(),
                att.c_str(), duration(to).c_str(), note.c_str());
  }
  return 0;
}

int cmd_logs(const ClientFlags& c, const std::string& run, const std::string& task, bool follow) {
  auto client = make_client(c);
  std::string target = "/api/v1/runs/" + run + "/tasks/" + task + "/logs";
  if (!follow) {
    // The route answers a range (at most 4 MiB): read on until it is empty, so that a long log
    // comes whole, with the marker line a capped one ends with.
    for (int64_t offset = 0;;) {
      auto r = client.request("GET", target + "?offset=" + std::to_string(offset));
      if (!r || r->status != 200) return fail("", r);
      if (r->body.empty()) return 0;
      std::cout << r->body;
      offset += static_cast<int64_t>(r->body.size());
    }
  }
  auto st = client.stream(target + "?follow=true", "", [](std::string_view d) {
    std::cout << d;
    std::cout.flush();
    return true;
  });
  if (!st) {
    std::cerr << "error: " << st.error() << "\n";
    return 2;
  }
  return *st == 200 ? 0 : 2;
}

int cmd_cancel(const ClientFlags& c, const std::string& run) {
  auto client = make_client(c);
  auto r = client.request("POST", "/api/v1/runs/" + run + "/cancel");
  if (!r || r->status != 202) return fail("run " + run + ": ", r);
  std::cout << "cancel requested for run " << run << "\n";
  return 0;
}

}  // namespace ctflow::cli
