// The registry's reads: models, versions, deployment history, lineage (registry.hpp).
#include "scheduler/store/internal.hpp"
#include "scheduler/store/registry.hpp"

namespace ctflow::store {

namespace {

// Current aliases of model `m` as {alias: version}.
// [{"alias", "version", "canary": {"version", "percent"} | null}] by alias.
constexpr const char* kAliases = R"SQL(
coalesce((SELECT jsonb_agg(jsonb_build_object('alias', d.alias, 'version', d.version,
            'canary', CASE WHEN d.canary_version IS NULL THEN NULL ELSE jsonb_build_object(
              'version', d.canary_version, 'percent', d.canary_percent) END) ORDER BY d.alias)
          FROM deployments d WHERE d.model_id = m.id AND d.superseded_at IS NULL), '[]'))SQL";

// Tasks that produced the artifact with digest expression `dg` (artifact_uses, output side).
std::string produced_by(const std::string& dg) {
  return "coalesce((SELECT jsonb_agg(jsonb_build_object('run_id', pt.run_id::text, 'task', "
         "pt.name, 'name', pu.name) ORDER BY pt.id) FROM artifacts pa JOIN artifact_uses pu ON "
         "pu.artifact_id = pa.id AND pu.direction = 'output' JOIN task_runs pt ON pt.id = "
         "pu.task_run_id WHERE pa.digest = " +
         dg + "), '[]')";
}

}  // namespace

boost::json::array list_models(Tx& tx) {
  auto res = W(tx).exec(std::string(R"SQL(
SELECT jsonb_build_object('name', m.name, 'created_at', iso(m.created_at),
  'versions', (SELECT count(*) FROM model_versions v WHERE v.model_id = m.id),
  'latest_version', (SELECT max(version) FROM model_versions v WHERE v.model_id = m.id),
  'aliases', )SQL") + kAliases +
                        R"SQL()::text
FROM models m ORDER BY m.name)SQL");
  boost::json::array out;
  for (const auto& row : res) out.push_back(field_json(row[0]));
  return out;
}

std::optional<boost::json::object> get_model(Tx& tx, const std::string& name) {
  auto res = W(tx).exec_params(std::string(R"SQL(
SELECT jsonb_build_object('name', m.name, 'created_at', iso(m.created_at), 'aliases', )SQL") +
                                   kAliases + R"SQL(,
  'versions', coalesce((SELECT jsonb_agg(jsonb_build_object('version', v.version,
       'run_id', v.run_id::text, 'created_at', iso(v.created_at), 'metrics', v.metrics,
       'parent_version', v.parent_version,
       'aliases', coalesce((SELECT jsonb_agg(d.alias ORDER BY d.alias) FROM deployments d
                            WHERE d.model_id = m.id AND d.version = v.version
                              AND d.superseded_at IS NULL), '[]'))
     ORDER BY v.version DESC) FROM model_versions v WHERE v.model_id = m.id), '[]'))::text
FROM models m WHERE m.name = $1)SQL",
                               name);
  if (res.empty()) return std::nullopt;
  return field_json(res[0][0]).as_object();
}

std::optional<boost::json::object> get_model_version(Tx& tx, const std::string& name,
                                                     int64_t version) {
  auto res = W(tx).exec_params(R"SQL(
SELECT jsonb_build_object('model', m.name, 'version', v.version, 'run_id', v.run_id::text,
  'task', t.name, 'pipeline', p.name, 'pipeline_version', pv.digest,
  'parent_version', v.parent_version, 'artifacts', v.artifacts, 'metrics', v.metrics,
  'lineage', v.lineage, 'created_at', iso(v.created_at),
  'aliases', coalesce((SELECT jsonb_agg(d.alias ORDER BY d.alias) FROM deployments d
                       WHERE d.model_id = m.id AND d.version = v.version
                         AND d.superseded_at IS NULL), '[]'))::text
FROM models m JOIN model_versions v ON v.model_id = m.id
LEFT JOIN task_runs t ON t.id = v.task_run_id
LEFT JOIN pipeline_versions pv ON pv.id = v.pipeline_version_id
LEFT JOIN pipelines p ON p.id = pv.pipeline_id
WHERE m.name = $1 AND v.version = $2)SQL",
                               name, version);
  if (res.empty()) return std::nullopt;
  return field_json(res[0][0]).as_object();
}

std::optional<boost::json::array> model_deployments(Tx& tx, const std::string& name) {
  auto& w = W(tx);
  auto m = w.exec_params("SELECT id FROM models WHERE name = $1", name);
  if (m.empty()) return std::nullopt;
  auto res = w.exec_params(R"SQL(
SELECT jsonb_build_object('alias', d.alias, 'version', d.version, 'run_id', d.run_id::text,
  'canary', CASE WHEN d.canary_version IS NULL THEN NULL ELSE jsonb_build_object(
    'version', d.canary_version, 'percent', d.canary_percent) END, 'task', t.name, 'created_at', iso(d.created_at), 'superseded_at', iso(d.superseded_at),
  'current', d.superseded_at IS NULL)::text
FROM deployments d LEFT JOIN task_runs t ON t.id = d.task_run_id
WHERE d.model_id = $1 ORDER BY d.id DESC)SQL",
                           m[0][0].as<int64_t>());
  boost::json::array out;
  for (const auto& row : res) out.push_back(field_json(row[0]));
  return out;
}

std::optional<boost::json::object> model_lineage(Tx& tx, const std::string& name, int64_t version) {
  auto res = W(tx).exec_params(std::string(R"SQL(
SELECT jsonb_build_object('model', m.name, 'version', v.version,
  'run', CASE WHEN r.id IS NULL THEN NULL ELSE jsonb_build_object('id', r.id::text,
     'state', r.state, 'pipeline', p.name, 'pipeline_version', pv.digest,
     'logical_date', iso(r.logical_date), 'params', r.params, 'trigger', r.trigger,
     'trigger_detail', r.trigger_detail) END,
  'task', CASE WHEN t.id IS NULL THEN NULL ELSE jsonb_build_object('id', t.id::text,
     'name', t.name, 'attempt', t.attempt) END,
  'inputs', coalesce((SELECT jsonb_agg(jsonb_build_object('name', u.name, 'digest', a.digest,
       'kind', u.kind, 'produced_by', )SQL") +
                                   produced_by("a.digest") + R"SQL() ORDER BY u.name)
     FROM artifact_uses u JOIN artifacts a ON a.id = u.artifact_id
     WHERE u.task_run_id = t.id AND u.direction = 'input'), '[]'),
  'artifacts', coalesce((SELECT jsonb_agg(jsonb_build_object('name', e.key,
       'digest', e.value->>'digest', 'kind', e.value->>'kind', 'produced_by', )SQL" +
                                   produced_by("e.value->>'digest'") + R"SQL() ORDER BY e.key)
     FROM jsonb_each(v.artifacts) e), '[]'),
  'data_partitions', coalesce(v.lineage->'partitions', '[]'),
  'parent', (SELECT jsonb_build_object('version', pv2.version, 'run_id', pv2.run_id::text,
       'created_at', iso(pv2.created_at)) FROM model_versions pv2
     WHERE pv2.model_id = m.id AND pv2.version = v.parent_version))::text
FROM models m JOIN model_versions v ON v.model_id = m.id
LEFT JOIN runs r ON r.id = v.run_id
LEFT JOIN task_runs t ON t.id = v.task_run_id
LEFT JOIN pipeline_versions pv ON pv.id = coalesce(v.pipeline_version_id, r.pipeline_version_id)
LEFT JOIN pipelines p ON p.id = pv.pipeline_id
WHERE m.name = $1 AND v.version = $2)SQL",
                               name, version);
  if (res.empty()) return std::nullopt;
  return field_json(res[0][0]).as_object();
}

}  // namespace ctflow::store
