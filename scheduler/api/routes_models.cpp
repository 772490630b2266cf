// The model registry over HTTP: models, versions, aliases (deployments) and the lineage of a
// version. Each handler parses the request, calls scheduler/registry/ in a transaction and
// renders the result or the domain error (errors.hpp).
#include "scheduler/api/errors.hpp"
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/registry/registry.hpp"

namespace ctflow::api {

namespace {

// Runs `op(tx)` (a registry call returning domain::Outcome<T>) in a transaction on a pooled
// connection; renders the value with `render` or the error.
template <class Op, class Render>
Response in_tx(Services& s, const Request& req, Op op, Render render) {
  std::optional<decltype(op(std::declval<store::Tx&>()))> out;
  {
    auto lease = s.pool.acquire();
    store::with_tx(*lease, [&](store::Tx& tx) { out.emplace(op(tx)); });
  }
  if (auto* e = std::get_if<domain::Error>(&*out)) return error_response(*e, req.path);
  return render(std::get<0>(std::move(*out)));
}

Response json_200(boost::json::value v) {
  return http::json_response(200, v);
}

// A route reading one version: {v} checked, then `read` in a transaction.
template <class Read>
Response version_route(Services& s, const Request& req, const PathParams& pp, Read read) {
  auto v = pp.get_int("v");
  if (!v || *v < 1) return http::bad_request("v: expected a version number", req.path);
  return in_tx(
      s, req, [&](store::Tx& tx) { return read(tx, pp.get("name"), *v); }, json_200);
}

Response alias_state(Services& s, const registry::AliasState& a) {
  s.events.poke();
  boost::json::value canary = nullptr;
  if (a.canary_version)
    canary = boost::json::object{{"version", a.canary_version}, {"percent", a.canary_percent}};
  boost::json::value prev = nullptr;
  if (a.previous) prev = a.previous;
  return http::json_response(200, boost::json::object{{"model", a.model},
                                                      {"alias", a.alias},
                                                      {"version", a.version},
                                                      {"canary", canary},
                                                      {"previous", prev}});
}

// {"canary": {"version": M, "percent": P}}: adds a canary beside the alias's version.
Response set_canary(Services& s, const Request& req, const PathParams& pp,
                    const boost::json::value& c) {
  const auto* v = c.is_object() ? c.as_object().if_contains("version") : nullptr;
  const auto* p = c.is_object() ? c.as_object().if_contains("percent") : nullptr;
  if (!v || !v->is_int64() || v->get_int64() < 1)
    return http::bad_request("canary.version: required, a version number", req.path);
  if (!p || !p->is_number())
    return http::bad_request("canary.percent: required, a number in (0, 100)", req.path);
  return in_tx(
      s, req,
      [&](store::Tx& tx) {
        return registry::set_canary(tx, pp.get("name"), pp.get("alias"), v->get_int64(),
                                    p->to_number<double>());
      },
      [&](registry::AliasState a) { return alias_state(s, a); });
}

// POST .../aliases/{alias}/promote and .../rollback.
template <class Op>
Response alias_op(Services& s, const Request& req, const PathParams& pp, Op op) {
  return in_tx(
      s, req, [&](store::Tx& tx) { return op(tx, pp.get("name"), pp.get("alias")); },
      [&](registry::AliasState a) { return alias_state(s, a); });
}

Response set_alias(Services& s, const Request& req, const PathParams& pp) {
  auto [body, err] = http::parse_json_body(req);
  if (err) return *err;
  if (const auto* c = body.is_object() ? body.as_object().if_contains("canary") : nullptr) {
    if (body.as_object().size() != 1)
      return http::bad_request("give {\"version\": N} or {\"canary\": {...}}, not both", req.path);
    return set_canary(s, req, pp, *c);
  }
  const auto* v = body.is_object() ? body.as_object().if_contains("version") : nullptr;
  if (!v || !v->is_int64() || v->get_int64() < 1)
    return http::bad_request("version: required, a version number", req.path);
  return in_tx(
      s, req,
      [&](store::Tx& tx) {
        return registry::deploy(tx, pp.get("name"), pp.get("alias"), v->get_int64());
      },
      [&](registry::Deployed d) {
        s.events.poke();
        boost::json::value prev = nullptr;
        if (d.previous) prev = *d.previous;
        return http::json_response(200, boost::json::object{{"model", d.model},
                                                            {"alias", d.alias},
                                                            {"version", d.version},
                                                            {"canary", nullptr},
                                                            {"previous", prev}});
      });
}

Response remove_alias(Services& s, const Request& req, const PathParams& pp) {
  return in_tx(
      s, req,
      [&](store::Tx& tx) { return registry::remove_alias(tx, pp.get("name"), pp.get("alias")); },
      [&](registry::Removed) {
        s.events.poke();
        return http::no_content();
      });
}

}  // namespace

void add_model_routes(http::Router& r, Services& s) {
  r.add({.method = "GET",
         .pattern = "/api/v1/models",
         .summary = "List models with their version counts and current aliases",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams&, const Principal&) {
           return in_tx(s, req, registry::list_models, [](boost::json::array models) {
             return json_200(boost::json::object{{"models", std::move(models)}});
           });
         }});
  r.add({.method = "GET",
         .pattern = "/api/v1/models/{name}",
         .summary = "A model with its versions (newest first) and current aliases",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
           return in_tx(
               s, req, [&](store::Tx& tx) { return registry::get_model(tx, pp.get("name")); },
               json_200);
         }});
  r.add({.method = "GET",
         .pattern = "/api/v1/models/{name}/versions/{v}",
         .summary = "A model version: run, task, pipeline version, artifacts, metrics, lineage",
         .min_role = Role::Viewer,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               return version_route(s, req, pp, registry::get_version);
             },
         .tag = "models"});
  r.add({.method = "GET",
         .pattern = "/api/v1/models/{name}/versions/{v}/lineage",
         .summary = "Lineage of a version: its run and pipeline version, the registering task, "
                    "input artifacts and the tasks that produced them, data partitions, parent",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp,
                         const Principal&) { return version_route(s, req, pp, registry::lineage); },
         .tag = "models"});
  r.add({.method = "GET",
         .pattern = "/api/v1/models/{name}/deployments",
         .summary = "Deployment history of a model (every alias move), newest first",
         .min_role = Role::Viewer,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               return in_tx(
                   s, req, [&](store::Tx& tx) { return registry::deployments(tx, pp.get("name")); },
                   [&](boost::json::array d) {
                     return json_200(boost::json::object{{"model", pp.get("name")},
                                                         {"deployments", std::move(d)}});
                   });
             },
         .tag = "models"});
  http::Route alias;
  alias.method = "POST";
  alias.pattern = "/api/v1/models/{name}/aliases/{alias}";
  alias.summary =
      "Deploy: point an alias (e.g. production) at a version {\"version\": N} (clears a canary), "
      "or add a canary {\"canary\": {\"version\": M, \"percent\": P}}";
  alias.min_role = Role::Operator;
  alias.handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
    return set_alias(s, req, pp);
  };
  alias.tag = "models";
  alias.request_schema =
      boost::json::object{{"type", "object"},
                          {"properties",
                           {{"version", {{"type", "integer"}, {"minimum", 1}}},
                            {"canary",
                             {{"type", "object"},
                              {"required", boost::json::array{"version", "percent"}},
                              {"properties",
                               {{"version", {{"type", "integer"}, {"minimum", 1}}},
                                {"percent", {{"type", "number"}}}}}}}}}};
  r.add(std::move(alias));
  r.add({.method = "POST",
         .pattern = "/api/v1/models/{name}/aliases/{alias}/promote",
         .summary = "The alias's canary becomes its version",
         .min_role = Role::Operator,
         .handler = [&s](const Request& req, const PathParams& pp,
                         const Principal&) { return alias_op(s, req, pp, registry::promote); },
         .tag = "models"});
  r.add({.method = "POST",
         .pattern = "/api/v1/models/{name}/aliases/{alias}/rollback",
         .summary = "Drop the alias's canary; without one, back to its previous version",
         .min_role = Role::Operator,
         .handler = [&s](const Request& req, const PathParams& pp,
                         const Principal&) { return alias_op(s, req, pp, registry::rollback); },
         .tag = "models"});
  r.add({.method = "DELETE",
         .pattern = "/api/v1/models/{name}/aliases/{alias}",
         .summary = "Undeploy: remove an alias (its deployment is superseded; history keeps it)",
         .min_role = Role::Operator,
         .handler = [&s](const Request& req, const PathParams& pp,
                         const Principal&) { return remove_alias(s, req, pp); },
         .tag = "models",
         .success_status = 204});
}

}  // namespace ctflow::api
