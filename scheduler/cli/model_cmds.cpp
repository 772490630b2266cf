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

int cmd_deploy(const ClientFlags& c, const std::string& model, int64_t version,
               const std::string& alias) {
  Client client(resolve_url(c), resolve_token(c));
  const std::string target = "/api/v1/models/" + model + "/aliases/" + alias;
  auto r = client.request("POST", target,
                          boost::json::serialize(boost::json::object{{"version", version}}));
  if (!r) {
    std::cerr << "error: " << r.error() << "\n";
    return 2;
  }
  if (r->status != 200) {
    std::cerr << "error: deploy " << model << " version " << version << " as " << alias << ": "
              << error_text(*r) << "\n";
    return 2;
  }
  std::cout << model << " " << alias << " -> version " << version << "\n";
  return 0;
}

std::function<std::optional<int>()> add_model_verbs(CLI::App& app) {
  struct State {
    ClientFlags cf;
    std::string spec, dir, model, alias = "production";
    int64_t version = 0;
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
  auto* deploy = app.add_subcommand("deploy", "point a model's alias at a version");
  deploy->add_option("model", st->model, "model name")->required();
  deploy->add_option("--version", st->version, "version number")
      ->required()
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  deploy->add_option("--alias", st->alias, "alias (default production)");
  client_flags(deploy);
  return [=]() -> std::optional<int> {
    if (*pull) return cmd_models_pull(st->cf, st->spec, st->dir);
    if (*deploy) return cmd_deploy(st->cf, st->model, st->version, st->alias);
    return std::nullopt;
  };
}

}  // namespace ctflow::cli
