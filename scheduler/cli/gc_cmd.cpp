// `ctflow gc`: retention through POST /api/v1/gc (admin token). The server deletes the rows and
// its own files (attempt folders, logs, artifacts), so the CLI needs no database URL and works
// wherever the API is reachable; each request works about 5 s, and the CLI repeats it until the
// server says that nothing is left for the cutoff.
#include <iostream>

#include "scheduler/cli/client.hpp"
#include "scheduler/cli/commands.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/time_util.hpp"

namespace ctflow::cli {

namespace {

const char* const kCounts[] = {"runs",    "tasks",     "attempts", "events",
                               "metrics", "artifacts", "folders",  "files"};

}  // namespace

int cmd_gc(const ClientFlags& c, const std::string& older_than, bool dry_run, int batch) {
  auto d = parse_duration(older_than);
  if (!d || d->count() < 0) {
    std::cerr << "error: --older-than: expected a duration such as 30d or 12h, got \"" << older_than
              << "\"\n";
    return 2;
  }
  if (batch < 1 || batch > 10000) {
    std::cerr << "error: --batch: expected an integer from 1 to 10000\n";
    return 2;
  }
  Client client(resolve_url(c), resolve_token(c));
  json::object body{{"older_than", older_than}, {"dry_run", dry_run}, {"batch", batch}};
  std::map<std::string, int64_t> total;
  int64_t batches = 0;
  for (;;) {
    auto r = client.request("POST", "/api/v1/gc", json::serialize(body));
    if (!r) {
      std::cerr << "error: " << r.error() << "\n";
      return 2;
    }
    if (r->status != 200) {
      std::cerr << "error: " << error_text(*r) << "\n";
      return 2;
    }
    auto o = json::parse(r->body).as_object();
    for (const char* k : kCounts) total[k] += o.at(k).to_number<int64_t>();
    batches += o.at("batches").to_number<int64_t>();
    if (o.at("done").as_bool()) break;
  }
  if (c.output == "json") {
    json::object out{{"dry_run", dry_run}, {"batches", batches}};
    for (const char* k : kCounts) out[k] = total[k];
    std::cout << json::serialize(out) << "\n";
    return 0;
  }
  std::cout << (dry_run ? "would delete" : "deleted") << " " << total["runs"] << " runs ("
            << total["tasks"] << " tasks, " << total["attempts"] << " attempts, "
            << total["metrics"] << " metrics), " << total["events"] << " events, "
            << total["artifacts"] << " artifacts";
  if (!dry_run)
    std::cout << "; removed " << total["folders"] << " attempt folders and " << total["files"]
              << " artifact files in " << batches << " batches";
  std::cout << "\n";
  return 0;
}

}  // namespace ctflow::cli
