// validate-model: the promotion gate. The candidate's accuracy comes from evaluate's outputs; the
// deployed version (the engine puts it under inputs "models") is re-scored on the same test set
// with its own model, index and index labels, so both numbers are comparable. If the deployed
// artifacts cannot be used, its recorded accuracy stands in (and the reason says so); if there
// is neither, the gate fails closed: not promoted.
#include "scheduler/common/log.hpp"
#include "tasks/eval/steps.hpp"

namespace ctflow::tasks {

namespace {

const json::object* deployed_version(const json::object& inputs, const std::string& model) {
  const json::value* models = find(inputs, "models");
  if (!models || !models->is_object()) return nullptr;
  const json::value* m = find(models->get_object(), model);
  if (!m || !m->is_object()) return nullptr;
  const json::value* d = find(m->get_object(), "deployed");
  return d && d->is_object() ? &d->get_object() : nullptr;
}

std::string pct(double v) {
  return fmt::format("{:.2f}%", 100 * v);
}

}  // namespace

Result<TaskOutputs> run_validate_model(const TaskContext& ctx, const ValidateModelOptions& o) {
  const json::value* cand = ctx.upstream_output("accuracy");
  if (!cand || !cand->is_number())
    return Error{"validate-model: no upstream output 'accuracy' (run evaluate first)"};
  const double candidate = cand->to_number<double>();
  TaskOutputs out;
  out.outputs["candidate_accuracy"] = candidate;
  out.outputs["model"] = o.model;
  auto decide = [&](bool promoted, const std::string& reason) {
    out.outputs["promoted"] = promoted;
    out.outputs["reason"] = reason;
    log::info("validate-model: {} ({})", promoted ? "promoted" : "not promoted", reason);
    return out;
  };
  if (candidate < o.min_accuracy) {
    out.outputs["deployed_accuracy"] = nullptr;
    return decide(false, "candidate accuracy " + pct(candidate) + " is below the floor " +
                             pct(o.min_accuracy));
  }
  const json::object* dep = deployed_version(ctx.inputs, o.model);
  if (!dep) {
    out.outputs["deployed_accuracy"] = nullptr;
    out.outputs["deployed_version"] = nullptr;
    return decide(true,
                  "no deployed version of " + o.model + "; candidate accuracy " + pct(candidate));
  }
  const int64_t version = get_int(*dep, "version", 0);
  out.outputs["deployed_version"] = version;

  std::optional<double> deployed;
  std::string how = "re-scored on this test set";
  auto tref = ctx.artifact("testset");
  Result<double> rescored = Error{tref ? "" : tref.error()};
  if (tref) {
    auto files = files_of_version(*dep);
    auto test = files ? read_dataset(tref->path) : Result<Dataset>(Error{files.error()});
    rescored = test ? knn_accuracy(*files, *test, o.k) : Result<double>(Error{test.error()});
  }
  if (rescored) {
    deployed = *rescored;
  } else {
    log::warn("validate-model: deployed version {} cannot be re-scored: {}", version,
              rescored.error());
    const json::value* metrics = find(*dep, "metrics");
    const json::value* acc =
        metrics && metrics->is_object() ? find(metrics->get_object(), "accuracy") : nullptr;
    if (acc && acc->is_number()) {
      deployed = acc->to_number<double>();
      how = "its recorded accuracy; re-scoring failed: " + rescored.error();
    }
  }
  if (!deployed) {
    out.outputs["deployed_accuracy"] = nullptr;
    return decide(false, "deployed version " + std::to_string(version) +
                             " cannot be compared: " + rescored.error());
  }
  out.outputs["deployed_accuracy"] = *deployed;
  const bool promoted = candidate >= *deployed + o.min_delta;
  return decide(promoted, "candidate " + pct(candidate) + (promoted ? " >= " : " < ") +
                              "deployed version " + std::to_string(version) + " " + pct(*deployed) +
                              (o.min_delta != 0 ? " + " + pct(o.min_delta) : std::string()) + " (" +
                              how + ")");
}

}  // namespace ctflow::tasks
