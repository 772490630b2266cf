#include <chrono>

#include "scheduler/common/log.hpp"
#include "tasks/data/source.hpp"
#include "tasks/data/steps.hpp"

namespace ctflow::tasks {

Result<TaskOutputs> run_extract(const TaskContext& ctx, const ExtractOptions& o) {
  std::optional<TimePoint> until;
  if (!o.until.empty()) {
    until = parse_iso8601(o.until);
    if (!until) return Error{"extract: --until '" + o.until + "' is not an ISO-8601 instant"};
  }
  auto src = load_source(o.source, until);
  if (!src) return Error{"extract: " + src.error()};
  TaskOutputs out;
  const std::string raw = ctx.out_path("raw.ctds"), raw_test = ctx.out_path("raw-test.ctds");
  if (auto w = write_dataset(raw, src->train); !w) return Error{"extract: " + w.error()};
  if (auto w = write_dataset(raw_test, src->test); !w) return Error{"extract: " + w.error()};
  out.add_artifact("raw", raw, "dataset");
  out.add_artifact("raw-test", raw_test, "dataset");
  json::array parts;
  for (const auto& p : src->train.partitions) {
    parts.push_back(json::object{{"name", p.name}, {"digest", p.digest}, {"count", p.count}});
    log::info("extract: partition {} ({} samples, sha256 {})", p.name, p.count,
              p.digest.substr(0, 12));
  }
  out.outputs["source"] = o.source;
  out.outputs["until"] = o.until;
  out.outputs["partitions"] = std::move(parts);
  out.outputs["partition_count"] = static_cast<int64_t>(src->train.partitions.size());
  out.outputs["total_partitions"] = src->total_partitions;
  out.outputs["count"] = src->train.size();
  out.outputs["test_count"] = src->test.size();
  out.outputs["test_digest"] = src->test.partitions.at(0).digest;
  ctx.metric("extract_samples", static_cast<double>(src->train.size()), 0);
  return out;
}

}  // namespace ctflow::tasks
