// `ctflow models pull` and `ctflow deploy`: thin clients of /api/v1/models and
// /api/v1/artifacts/{digest}/content (scheduler/cli/pull.hpp does the pulling).
#include "scheduler/cli/model_cmds.hpp"

#include <iostream>
#include <memory>

#include "scheduler/cli/client.hpp"
#include "scheduler/cli/pull.hpp"

namespace ctflow::cli {

int cmd_models_pull(const ClientFlags& c, const std::string& spec, const std::string& dir) {
  auto vs = parse_version_spec(spec);
  if (!vs) {
    std::cerr << "error: " << vs.error() << "\n";
    return 2;
  }
  Client client(resolve_url(c), resolve_token(c));
  auto doc = pull_version(client, *vs, dir);
  if (!doc) {
    std::cerr << "error: " << doc.error() << "\n";
    return 2;
  }
  if (c.output == "json") {
    std::cout << boost::json::serialize(*doc) << "\n";
    return 0;
  }
  std::cout << "pulled " << vs->model << " version " << doc->at("version").as_int64() << " ("
            << doc->at("artifacts").as_object().size() << " artifacts, digests checked) into "
            << dir << "\n";
  return 0;
}

namespace {

// POSTs to /api/v1/models/MODEL/aliases/ALIAS[/SUFFIX] and prints the alias's state.
int alias_request(const ClientFlags& c, const std::string& model, const std::string& alias,
                  const std::string& suffix, const boost::json::object& body,
                  const std::string& what) {
  Client client(resolve_url(c), resolve_token(c));
  const std::string target = "/api/v1/models/" + model + "/aliases/" + alias + suffix;
  auto r = client.request("POST", target, boost::json::serialize(body));
  if (!r) {
    std::cerr << "error: " << r.error() << "\n";
    return 2;
  }
  if (r->status != 200) {
    std::cerr << "error: " << what << ": " << error_text(*r) << "\n";
    return 2;
  }
  if (c.output == "json") {
    std::cout << r->body << "\n";
    return 0;
  }
  auto o = boost::json::parse(r->body).as_object();
  std::cout << model << " " << alias << " -> version " << o.at("version").as_int64();
  if (const auto* cv = o.if_contains("canary"); cv && cv->is_object()) {
    const auto& cn = cv->as_object();
    std::cout << ", canary version " << cn.at("version").as_int64() << " at "
              << cn.at("percent").to_number<double>() << "%";
  }
  std::cout << "\n";
  return 0;
}

}  // namespace

int cmd_deploy(const ClientFlags& c, const std::string& model, int64_t version,
               const std::string& alias) {
  return alias_request(c, model, alias, "", {{"version", version}},
                       "deploy " + model + " version " + std::to_string(version) + " as " + alias);
}

int cmd_canary(const ClientFlags& c, const std::string& model, int64_t version, double percent,
               const std::string& alias) {
  return alias_request(
      c, model, alias, "",
      {{"canary", boost::json::object{{"version", version}, {"percent", percent}}}},
      "canary " + model + " version " + std::to_string(version) + " on " + alias);
}

int cmd_alias_op(const ClientFlags& c, const std::string& op, const std::string& model,
                 const std::string& alias) {
  return alias_request(c, model, alias, "/" + op, {}, op + " " + model + " " + alias);
}

std::function<std::optional<int>()> add_model_verbs(CLI::App& app) {
  struct State {
    ClientFlags cf;
    std::string spec, dir, model, model2, alias = "production";
    int64_t version = 0;
    double percent = -1;
  };
  auto st = std::make_shared<State>();
  auto client_flags = [st](CLI::App* cmd) {
    cmd->add_option("--url", st->cf.url,
                    "server URL (default $CTFLOW_URL or http://127.0.0.1:8080)");
    cmd->add_option("--token-file", st->cf.token_file, "file holding the API token");
    cmd->add_option("-o,--output", st->cf.output, "output format: json")
        ->check(CLI::IsMember({"json"}));
  };
  auto* models = app.add_subcommand("models", "the model registry");
  models->require_subcommand(1);
  auto* pull = models->add_subcommand("pull", "download a version's artifacts, digests checked");
  pull->add_option("model", st->spec, "NAME, NAME@ALIAS (default @production) or NAME:VERSION")
      ->required();
  pull->add_option("dir", st->dir, "destination directory (created)")->required();
  client_flags(pull);
  // ctflow deploy MODEL --version N [--canary P] [--alias A] | deploy promote|rollback MODEL
  auto* deploy = app.add_subcommand(
      "deploy", "point an alias at a version, add a canary, or promote / roll back");
  deploy->add_option("model", st->model, "model name, or promote | rollback then the model name")
      ->required();
  deploy->add_option("model2", st->model2, "the model name after promote | rollback");
  deploy->add_option("--version", st->version, "version number")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  deploy
      ->add_option("--canary", st->percent,
                   "send this percentage of the traffic to --version, beside the alias's version")
      ->check(CLI::Range(0.0, 100.0));
  deploy->add_option("--alias", st->alias, "alias (default production)");
  client_flags(deploy);
  return [=]() -> std::optional<int> {
    if (*pull) return cmd_models_pull(st->cf, st->spec, st->dir);
    if (!*deploy) return std::nullopt;
    if (st->model == "promote" || st->model == "rollback") {
      if (st->model2.empty()) {
        std::cerr << "error: ctflow deploy " << st->model << " MODEL: the model is required\n";
        return 2;
      }
      return cmd_alias_op(st->cf, st->model, st->model2, st->alias);
    }
    if (!st->model2.empty() || st->version < 1) {
      std::cerr << "error: ctflow deploy MODEL --version N [--canary PERCENT] [--alias A]\n";
      return 2;
    }
    if (st->percent >= 0) {
      if (!(st->percent > 0 && st->percent < 100)) {
        std::cerr << "error: --canary: expected a percentage between 0 and 100 (exclusive)\n";
        return 2;
      }
      return cmd_canary(st->cf, st->model, st->version, st->percent, st->alias);
    }
    return cmd_deploy(st->cf, st->model, st->version, st->alias);
    return std::nullopt;
  };
}

}  // namespace ctflow::cli
