// The model registry: models, versions, aliases (deployments) and the lineage of a version.
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/store/models.hpp"

namespace ctflow::api {

namespace {

// An alias: 1-64 characters of [A-Za-z0-9_.-], so it is safe in URLs, labels and file names.
bool valid_alias(const std::string& a) {
  if (a.empty() || a.size() > 64) return false;
  for (char c : a)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return false;
  return true;
}

std::string model_msg(const PathParams& pp) {
  return "model \"" + pp.get("name") + "\"";
}

// A route reading one version: {v} checked, then `read` in a transaction.
template <class Read>
Response version_route(Services& s, const Request& req, const PathParams& pp, Read read) {
  auto v = pp.get_int("v");
  if (!v || *v < 1) return http::bad_request("v: expected a version number", req.path);
  std::optional<boost::json::object> out;
  auto lease = s.pool.acquire();
  store::with_tx(*lease, [&](store::Tx& tx) { out = read(tx, pp.get("name"), *v); });
  if (!out)
    return http::not_found(model_msg(pp) + " has no version " + std::to_string(*v), req.path);
  return http::json_response(200, *out);
}

Response set_alias(Services& s, const Request& req, const PathParams& pp) {
  auto [body, err] = http::parse_json_body(req);
  if (err) return *err;
  const auto* v = body.is_object() ? body.as_object().if_contains("version") : nullptr;
  if (!v || !v->is_int64() || v->get_int64() < 1)
    return http::bad_request("version: required, a version number", req.path);
  const std::string& alias = pp.get("alias");
  if (!valid_alias(alias))
    return http::bad_request("alias: 1-64 characters of letters, digits, _ - .", req.path);
  store::AliasOutcome out;
  {
    auto lease = s.pool.acquire();
    store::with_tx(*lease, [&](store::Tx& tx) {
      out = store::set_alias(tx, pp.get("name"), alias, v->get_int64());
    });
  }
  if (out.kind == store::AliasOutcome::Kind::NoModel)
    return http::not_found(model_msg(pp) + " does not exist", req.path);
  if (out.kind == store::AliasOutcome::Kind::NoVersion)
    return http::not_found(model_msg(pp) + " has no version " + std::to_string(v->get_int64()),
                           req.path);
  s.events.poke();
  boost::json::value prev = nullptr;
  if (out.previous) prev = *out.previous;
  return http::json_response(200, boost::json::object{{"model", pp.get("name")},
                                                      {"alias", alias},
                                                      {"version", v->get_int64()},
                                                      {"previous", prev}});
}

}  // namespace

void add_model_routes(http::Router& r, Services& s) {
  r.add({.method = "GET",
         .pattern = "/api/v1/models",
         .summary = "List models with their version counts and current aliases",
         .min_role = Role::Viewer,
         .handler = [&s](const Request&, const PathParams&, const Principal&) {
           boost::json::array out;
           auto lease = s.pool.acquire();
           store::with_tx(*lease, [&](store::Tx& tx) { out = store::list_models(tx); });
           return http::json_response(200, boost::json::object{{"models", std::move(out)}});
         }});
  r.add({.method = "GET",
         .pattern = "/api/v1/models/{name}",
         .summary = "A model with its versions (newest first) and current aliases",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
           std::optional<boost::json::object> out;
           auto lease = s.pool.acquire();
           store::with_tx(*lease,
                          [&](store::Tx& tx) { out = store::get_model(tx, pp.get("name")); });
           if (!out) return http::not_found(model_msg(pp) + " does not exist", req.path);
           return http::json_response(200, *out);
         }});
  r.add({.method = "GET",
         .pattern = "/api/v1/models/{name}/versions/{v}",
         .summary = "A model version: run, task, pipeline version, artifacts, metrics, lineage",
         .min_role = Role::Viewer,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               return version_route(s, req, pp, store::get_model_version);
             },
         .tag = "models"});
  r.add({.method = "GET",
         .pattern = "/api/v1/models/{name}/versions/{v}/lineage",
         .summary = "Lineage of a version: its run and pipeline version, the registering task, "
                    "input artifacts and the tasks that produced them, data partitions, parent",
         .min_role = Role::Viewer,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               return version_route(s, req, pp, store::model_lineage);
             },
         .tag = "models"});
  r.add({.method = "GET",
         .pattern = "/api/v1/models/{name}/deployments",
         .summary = "Deployment history of a model (every alias move), newest first",
         .min_role = Role::Viewer,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               std::optional<boost::json::array> out;
               auto lease = s.pool.acquire();
               store::with_tx(*lease, [&](store::Tx& tx) {
                 out = store::model_deployments(tx, pp.get("name"));
               });
               if (!out) return http::not_found(model_msg(pp) + " does not exist", req.path);
               return http::json_response(200,
                                          boost::json::object{{"model", pp.get("name")},
                                                              {"deployments", std::move(*out)}});
             },
         .tag = "models"});
  http::Route alias;
  alias.method = "POST";
  alias.pattern = "/api/v1/models/{name}/aliases/{alias}";
  alias.summary = "Deploy: point an alias (e.g. production) at a version {\"version\": N}";
  alias.min_role = Role::Operator;
  alias.handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
    return set_alias(s, req, pp);
  };
  alias.tag = "models";
  alias.request_schema =
      boost::json::object{{"type", "object"},
                          {"required", boost::json::array{"version"}},
                          {"properties", {{"version", {{"type", "integer"}, {"minimum", 1}}}}}};
  r.add(std::move(alias));
}

}  // namespace ctflow::api
