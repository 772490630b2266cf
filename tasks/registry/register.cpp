#include "tasks/registry/register.hpp"

#include "scheduler/common/log.hpp"
#include "tasks/data/dataset.hpp"

namespace ctflow::tasks {

namespace {

// Copies upstream output `key` into `dst` when present.
void copy_output(const TaskContext& ctx, const std::string& key, json::object& dst,
                 const std::string& as = "") {
  if (const json::value* v = ctx.upstream_output(key)) dst[as.empty() ? key : as] = *v;
}

}  // namespace

Result<TaskOutputs> run_register(const TaskContext& ctx, const RegisterOptions& o) {
  if (o.model.empty()) return Error{"register: --model is empty"};
  json::array names;
  for (const auto& spec : o.artifacts) {
    auto ref = ctx.artifact(spec);
    if (!ref) return Error{"register: " + ref.error()};
    if (ref->task.empty())
      return Error{"register: artifact '" + spec +
                   "' must come from an upstream task (the engine stores it), not --input"};
    names.push_back(json::string(ref->task + "/" + ref->name));
  }
  json::object metrics;
  copy_output(ctx, "accuracy", metrics);
  copy_output(ctx, "val_accuracy", metrics);
  copy_output(ctx, "per_class_accuracy", metrics);
  copy_output(ctx, "loss", metrics, "train_loss");
  if (!find(metrics, "accuracy"))
    return Error{"register: no upstream output 'accuracy' (run evaluate first)"};

  json::object lineage;
  const json::value* run = find(ctx.inputs, "run");
  if (run && run->is_object()) {
    const auto& r = run->get_object();
    lineage["run_id"] = get_string(r, "id");
    lineage["pipeline"] = get_string(r, "pipeline");
    lineage["pipeline_version"] = get_string(r, "pipeline_version");
    lineage["logical_date"] = get_string(r, "logical_date");
  }
  const json::value* parts = ctx.upstream_output("partitions");
  if (!parts || !parts->is_array())
    return Error{"register: no upstream output 'partitions' (run extract first)"};
  json::array partitions;
  for (const auto& p : parts->get_array())
    if (p.is_object())
      partitions.push_back(json::object{{"name", get_string(p.get_object(), "name")},
                                        {"digest", get_string(p.get_object(), "digest")},
                                        {"count", get_int(p.get_object(), "count")}});
  lineage["partitions"] = std::move(partitions);
  copy_output(ctx, "source", lineage);
  copy_output(ctx, "test_digest", lineage);
  json::object params;
  for (const char* k : {"lr", "dim", "epochs", "batch_size", "seed", "k"})
    copy_output(ctx, k, params);
  lineage["params"] = std::move(params);
  json::value parent = nullptr;
  if (const json::value* models = find(ctx.inputs, "models"); models && models->is_object()) {
    if (const json::value* m = find(models->get_object(), o.model); m && m->is_object()) {
      const json::value* dep = find(m->get_object(), "deployed");
      if (dep && dep->is_object())
        if (const json::value* v = find(dep->get_object(), "version")) parent = *v;
    }
  }
  lineage["parent_version"] = parent;

  TaskOutputs out;
  const std::string card = ctx.out_path("model-card.json");
  json::object card_doc{
      {"model", o.model}, {"artifacts", names}, {"metrics", metrics}, {"lineage", lineage}};
  if (auto w = write_json(card, card_doc); !w) return Error{"register: " + w.error()};
  out.add_artifact("model-card", card, "report");
  names.push_back("model-card");
  out.registry.push_back(json::object{{"op", "register"},
                                      {"model", o.model},
                                      {"artifacts", std::move(names)},
                                      {"metrics", metrics},
                                      {"lineage", lineage}});
  if (!o.deploy_alias.empty())
    out.registry.push_back(json::object{{"op", "deploy"},
                                        {"model", o.model},
                                        {"version", "registered"},
                                        {"alias", o.deploy_alias}});
  out.outputs["model"] = o.model;
  out.outputs["registered"] = true;
  out.outputs["deployed_alias"] = o.deploy_alias;
  out.outputs["accuracy"] = metrics["accuracy"];
  out.outputs["parent_version"] = parent;
  log::info("register: model {} ({} artifacts){}", o.model, o.artifacts.size() + 1,
            o.deploy_alias.empty() ? "" : ", deploy as " + o.deploy_alias);
  return out;
}

}  // namespace ctflow::tasks
