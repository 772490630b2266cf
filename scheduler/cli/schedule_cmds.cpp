// `ctflow schedules`, `ctflow schedule show|pause|resume|trigger`, `ctflow backfill`,
// `ctflow rerun`: thin clients of /api/v1/schedules, .../backfill and .../rerun.
#include "scheduler/cli/schedule_cmds.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

#include "scheduler/cli/client.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/time_util.hpp"

namespace ctflow::cli {

namespace {

// Prints the transport or API error; returns 2 unless the reply has the expected status.
int check(const Result<HttpReply>& r, int expected, const std::string& what) {
  if (!r) {
    std::cerr << "error: " << r.error() << "\n";
    return 2;
  }
  if (r->status != expected) {
    std::cerr << "error: " << what << error_text(*r) << "\n";
    return 2;
  }
  return 0;
}

std::string dash(const json::object& o, const char* key) {
  auto v = get_string(o, key);
  return v.empty() ? "-" : v;
}

Client client_for(const ClientFlags& c) {
  return Client(resolve_url(c), resolve_token(c));
}

}  // namespace

int cmd_schedules(const ClientFlags& c) {
  auto client = client_for(c);
  auto r = client.request("GET", "/api/v1/schedules");
  if (int rc = check(r, 200, "")) return rc;
  if (c.output == "json") {
    std::cout << r->body << "\n";
    return 0;
  }
  std::printf("%-24s %-16s %-16s %-7s %-8s %-6s %-22s %-22s\n", "PIPELINE", "CRON", "TIMEZONE",
              "CATCHUP", "POLICY", "PAUSED", "LAST", "NEXT");
  auto doc = json::parse(r->body);  // outlives the loop (a temporary's member would not)
  for (const auto& v : doc.as_object()["schedules"].as_array()) {
    const auto& o = v.as_object();
    bool paused = o.at("paused").is_bool() && o.at("paused").as_bool();
    std::printf("%-24s %-16s %-16s %-7s %-8s %-6s %-22s %-22s\n", dash(o, "pipeline").c_str(),
                dash(o, "cron").c_str(), dash(o, "timezone").c_str(), dash(o, "catchup").c_str(),
                dash(o, "concurrency").c_str(), paused ? "yes" : "no",
                dash(o, "last_logical_date").c_str(), dash(o, "next_fire_at").c_str());
  }
  return 0;
}

int cmd_schedule(const ClientFlags& c, const std::string& action, const std::string& pipeline) {
  auto client = client_for(c);
  std::string base = "/api/v1/schedules/" + pipeline;
  if (action == "show") {
    auto r = client.request("GET", base);
    if (int rc = check(r, 200, "schedule " + pipeline + ": ")) return rc;
    if (c.output == "json") {
      std::cout << r->body << "\n";
      return 0;
    }
    auto o = json::parse(r->body).as_object();
    for (const char* k : {"pipeline", "cron", "timezone", "catchup", "concurrency", "start", "end",
                          "last_logical_date", "next_fire_at"})
      std::printf("%-18s %s\n", k, dash(o, k).c_str());
    std::printf("%-18s %lld\n", "max_active_runs",
                static_cast<long long>(get_int(o, "max_active_runs")));
    std::printf("%-18s %s\n", "paused", o.at("paused").as_bool() ? "yes" : "no");
    std::printf("next fires:\n");
    for (const auto& f : o.at("next_fires").as_array())
      std::printf("  %s\n", std::string(f.as_string()).c_str());
    return 0;
  }
  int expected = action == "trigger" ? 201 : 200;
  auto r = client.request("POST", base + "/" + action, "{}");
  if (int rc = check(r, expected, "schedule " + pipeline + ": ")) return rc;
  if (c.output == "json") {
    std::cout << r->body << "\n";
    return 0;
  }
  auto o = json::parse(r->body).as_object();
  if (action == "trigger")
    std::cout << get_string(o, "id") << "\n";  // the run id, like `ctflow submit`
  else
    std::cout << "schedule " << pipeline << (action == "pause" ? " paused" : " resumed") << "\n";
  return 0;
}

int cmd_backfill(const ClientFlags& c, const std::string& pipeline, const std::string& from,
                 const std::string& to) {
  for (const auto& [name, v] : {std::pair{"--from", from}, std::pair{"--to", to}})
    if (!parse_iso8601(v)) {
      std::cerr << "error: " << name << ": expected an ISO-8601 instant, got \"" << v << "\"\n";
      return 2;
    }
  auto client = client_for(c);
  json::object body{{"from", from}, {"to", to}};
  auto r =
      client.request("POST", "/api/v1/pipelines/" + pipeline + "/backfill", json::serialize(body));
  if (int rc = check(r, 200, "backfill " + pipeline + ": ")) return rc;
  if (c.output == "json") {
    std::cout << r->body << "\n";
    return 0;
  }
  auto o = json::parse(r->body).as_object();
  for (const auto& id : o.at("runs").as_array()) std::cout << std::string(id.as_string()) << "\n";
  std::cerr << o.at("logical_dates").as_array().size()
            << " logical date(s) in range: " << get_int(o, "created") << " run(s) created, "
            << get_int(o, "existed") << " fired before\n";
  return 0;
}

int cmd_rerun(const ClientFlags& c, const std::string& run, const std::string& task) {
  auto client = client_for(c);
  json::object body{{"from", task}};
  auto r = client.request("POST", "/api/v1/runs/" + run + "/rerun", json::serialize(body));
  if (int rc = check(r, 201, "run " + run + ": ")) return rc;
  if (c.output == "json") {
    std::cout << r->body << "\n";
    return 0;
  }
  std::cout << get_string(json::parse(r->body).as_object(), "id") << "\n";
  return 0;
}

std::function<std::optional<int>()> add_schedule_verbs(CLI::App& app) {
  struct State {
    ClientFlags cf;
    std::string action, name, from, to, run, task;
  };
  auto st = std::make_shared<State>();
  auto client_flags = [st](CLI::App* cmd) {
    cmd->add_option("--url", st->cf.url,
                    "server URL (default $CTFLOW_URL or http://127.0.0.1:8080)");
    cmd->add_option("--token-file", st->cf.token_file, "file holding the API token");
    cmd->add_option("-o,--output", st->cf.output, "output format: json")
        ->check(CLI::IsMember({"json"}));
  };
  auto* list = app.add_subcommand("schedules", "list cron schedules");
  client_flags(list);
  auto* sched = app.add_subcommand("schedule", "show, pause, resume or trigger a schedule");
  sched->add_option("action", st->action, "show | pause | resume | trigger")
      ->required()
      ->check(CLI::IsMember({"show", "pause", "resume", "trigger"}));
  sched->add_option("pipeline", st->name, "pipeline name")->required();
  client_flags(sched);
  auto* bf = app.add_subcommand("backfill", "one run per scheduled time in [--from, --to]");
  bf->add_option("pipeline", st->name, "pipeline name")->required();
  bf->add_option("--from", st->from, "first logical date (ISO-8601, inclusive)")->required();
  bf->add_option("--to", st->to, "last logical date (ISO-8601, inclusive)")->required();
  client_flags(bf);
  auto* rr = app.add_subcommand("rerun", "rerun a run from a task, reusing upstream outputs");
  rr->add_option("run", st->run, "run id")->required();
  rr->add_option("--from", st->task, "the first task to run again")->required();
  client_flags(rr);
  return [=]() -> std::optional<int> {
    if (*list) return cmd_schedules(st->cf);
    if (*sched) return cmd_schedule(st->cf, st->action, st->name);
    if (*bf) return cmd_backfill(st->cf, st->name, st->from, st->to);
    if (*rr) return cmd_rerun(st->cf, st->run, st->task);
    return std::nullopt;
  };
}

}  // namespace ctflow::cli
