#pragma once
// Private to scheduler/store/: SQL of the model registry that other statements embed.

namespace ctflow::store {

// The current production deployments as one jsonb object, {MODEL: {"deployed": {"version",
// "artifacts", "metrics", "alias"}}} ('{}' when none): what a task's inputs file names. A scalar
// subquery, so it is evaluated once per statement. The one query for "what is deployed": the
// claim (engine_ops.cpp) and the finish statement's direct dispatches and segments
// (finish_sql.cpp) embed it.
// CTFLOW_DEPLOYED is the literal, for statements put together at compile time (finish_sql.cpp).
#define CTFLOW_DEPLOYED                                                                          \
  "(SELECT coalesce(jsonb_object_agg(m.name, jsonb_build_object('deployed', jsonb_build_object(" \
  "'version', mv.version, 'artifacts', mv.artifacts, 'metrics', mv.metrics, "                    \
  "'alias', d.alias))), '{}') "                                                                  \
  "FROM deployments d JOIN models m ON m.id = d.model_id "                                       \
  "JOIN model_versions mv ON mv.model_id = d.model_id AND mv.version = d.version "               \
  "WHERE d.superseded_at IS NULL AND d.alias = 'production')"
constexpr const char* kCurrentDeploymentsSql = CTFLOW_DEPLOYED;

}  // namespace ctflow::store
