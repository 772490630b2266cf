#include "tests/integration/support/harness.hpp"

#include <pqxx/pqxx>

#include <stdexcept>

namespace ctflow::it {

std::string Db::text(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}

std::vector<std::string> Db::column(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  std::vector<std::string> out;
  for (const auto& row : tx.exec(sql)) out.push_back(row[0].is_null() ? "" : row[0].c_str());
  return out;
}

void Db::exec(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

bool run_final(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

std::string str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return "";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

std::string submit_run(const ServerProcess& s, const std::string& spec,
                       const std::map<std::string, std::string>& params) {
  json::object pt;
  for (const auto& [k, v] : params) pt[k] = v;
  json::object body{{"spec", spec}, {"params_text", pt}};
  auto r = s.client().request("POST", "/api/v1/runs", json::serialize(body));
  if (!r) throw std::runtime_error("submit: " + r.error());
  if (r->status != 201)
    throw std::runtime_error("submit: HTTP " + std::to_string(r->status) + ": " + r->body);
  return std::string(json::parse(r->body).as_object().at("id").as_string());
}

std::optional<json::object> get_run(const ServerProcess& s, const std::string& id) {
  if (!s.running()) return std::nullopt;
  auto r = s.client().request("GET", "/api/v1/runs/" + id);
  if (!r || r->status != 200) return std::nullopt;
  return json::parse(r->body).as_object();
}

json::object get_task(const ServerProcess& s, const std::string& id, const std::string& task) {
  auto r = s.client().request("GET", "/api/v1/runs/" + id + "/tasks/" + task);
  if (!r) throw std::runtime_error("get task: " + r.error());
  if (r->status != 200)
    throw std::runtime_error("get task " + task + ": HTTP " + std::to_string(r->status) + ": " +
                             r->body);
  return json::parse(r->body).as_object();
}

json::object wait_run(const ServerProcess& s, const std::string& id,
                      std::chrono::milliseconds timeout) {
  std::optional<json::object> last;
  bool done = poll_until(
      [&] {
        if (auto r = get_run(s, id)) last = std::move(*r);
        return last && run_final(str(*last, "state"));
      },
      timeout, 50ms);
  if (!done)
    throw std::runtime_error("run " + id + " did not end within " +
                             std::to_string(timeout.count()) +
                             " ms; last state: " + (last ? json::serialize(*last) : "(none)") +
                             "\nserver log:\n" + s.log());
  return *last;
}

const json::object& task_in(const json::object& run, const std::string& name) {
  for (const auto& t : run.at("tasks").as_array())
    if (str(t.as_object(), "name") == name) return t.as_object();
  throw std::runtime_error("run has no task " + name + ": " + json::serialize(run));
}

std::map<std::string, std::string> task_states(const json::object& run) {
  std::map<std::string, std::string> out;
  for (const auto& t : run.at("tasks").as_array())
    out[str(t.as_object(), "name")] = str(t.as_object(), "state");
  return out;
}

Harness::Harness(ServerConfig base) : db_url_(PgCluster::shared().create_database()), db_(db_url_) {
  base.database_url = db_url_;
  base.data_dir = dir_ / "server";
  if (base.log_path.empty()) base.log_path = dir_ / "server.log";
  server_ = std::make_unique<ServerProcess>(std::move(base));
  server_->start();
}

CommandResult Harness::cli(std::vector<std::string> args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{ctflow_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const auto& f : server_->cli_flags()) argv.push_back(f);
  return run_command(argv, timeout);
}

}  // namespace ctflow::it
