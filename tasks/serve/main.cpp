// ctflow-serve: the predictor. Serves one model over KServe v1 and the Open Inference Protocol
// v2 (routes.hpp), either from a pulled directory (--model-dir, no control plane) or following an
// alias of the control plane (--model --api --token-file, control.hpp). See README.md here.
// Exit codes: 0 after a clean stop (SIGINT/SIGTERM), 1 when it cannot start, 2 bad flags.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "scheduler/api/http/server.hpp"
#include "scheduler/common/log.hpp"
#include "tasks/core/runtime.hpp"
#include "tasks/data/dataset.hpp"
#include "tasks/serve/control.hpp"
#include "tasks/serve/prediction_log.hpp"
#include "tasks/serve/routes.hpp"

using namespace ctflow;
namespace fs = std::filesystem;

namespace {

std::string default_cache() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return (fs::path(x) / "ctflow-serve").string();
  if (const char* h = std::getenv("HOME"); h && *h)
    return (fs::path(h) / ".cache" / "ctflow-serve").string();
  return "/tmp/ctflow-serve-cache";
}

int fail(const std::string& why) {
  std::cerr << "ctflow-serve: " << why << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ctflow-serve: KServe v1 / Open Inference Protocol v2 predictor"};
  std::string model_dir, model, api, token_file, alias = "production", address = "127.0.0.1";
  std::string cache_dir = default_cache();
  int port = 8081, threads = 0, workers = 64, poll_ms = 5000;
  int64_t max_batch = 64, max_images = 1024;
  double max_delay_ms = 2.0;
  size_t body_limit = 16u << 20;
  std::string log_api, log_dir;
  bool no_log = false;
  int64_t log_max_mb = 256;
  auto* dir_opt = app.add_option("--model-dir", model_dir,
                                 "serve the files of `ctflow models pull` (no control plane)");
  app.add_option("--model", model, "model name (with --api; with --model-dir: the name served)");
  auto* api_opt = app.add_option("--api", api, "control plane URL, e.g. http://127.0.0.1:8080");
  app.add_option("--token-file", token_file, "file holding an API token (viewer is enough)");
  app.add_option("--alias", alias, "the alias to follow (default production)");
  app.add_option("--cache-dir", cache_dir, "artifacts by digest (default ~/.cache/ctflow-serve)");
  app.add_option("--address", address, "listen address (default 127.0.0.1)");
  app.add_option("--port", port, "listen port (default 8081; 0: any)")->check(CLI::Range(0, 65535));
  app.add_option("--max-batch", max_batch, "images per forward pass (default 64)")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_option("--max-delay-ms", max_delay_ms,
                 "wait for a batch to fill, under concurrent load only (default 2)")
      ->check(CLI::Range(0.0, 1000.0));
  app.add_option("--max-images", max_images, "images per request (default 1024)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  app.add_option("--body-limit", body_limit, "request body limit in bytes (default 16 MiB)");
  app.add_option("--threads", threads,
                 "torch/OpenMP threads (default $CTFLOW_THREADS or all CPUs)");
  app.add_option("--workers", workers, "request handler threads (default 64)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--poll-ms", poll_ms, "alias poll interval (default 5000)")
      ->check(CLI::Range(100, 3600000));
  app.add_option("--log-api", log_api,
                 "send the prediction log here (default: --api; none with --model-dir)");
  app.add_option("--log-dir", log_dir, "the prediction log spool's folder (default: the cache)");
  app.add_option("--log-max-mb", log_max_mb, "spool bound in MiB (default 256)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_flag("--no-log", no_log, "no prediction log");
  dir_opt->excludes(api_opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "ctflow-serve: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (model_dir.empty() == api.empty()) {
    std::cerr << "ctflow-serve: give --model-dir DIR, or --model NAME --api URL --token-file F\n";
    return 2;
  }
  if (!api.empty() && model.empty()) {
    std::cerr << "ctflow-serve: --model: required with --api\n";
    return 2;
  }

  tasks::configure_threads(threads);  // torch/OpenMP threads; OpenBLAS 1 (faiss: runtime.hpp)
  http::MetricsRegistry metrics;
  std::unique_ptr<serve::ControlFollower> follower;
  std::string dir_error;
  int64_t dir_version = 0;
  if (!model_dir.empty()) {
    auto doc = tasks::read_json_object((fs::path(model_dir) / "version.json").string());
    if (doc) {
      if (model.empty()) model = get_string(*doc, "model");
      dir_version = get_int(*doc, "version", 0);
    }
    if (model.empty()) model = fs::path(model_dir).filename().string();
  }
  serve::Predictor predictor(
      model,
      {.max_batch = max_batch,
       .max_delay = std::chrono::microseconds(static_cast<int64_t>(max_delay_ms * 1000))},
      metrics);
  if (!model_dir.empty()) {
    auto files = tasks::files_in_dir(model_dir);
    auto v = files ? predictor.load(*files, dir_version)
                   : Result<std::shared_ptr<serve::ServedVersion>>(Error{files.error()});
    if (v)
      predictor.set(*v);
    else
      log::error("serve: {}", dir_error = v.error());  // serves 503 until restarted with good files
  } else {
    std::string token;
    if (!token_file.empty()) {
      std::ifstream in(token_file);
      if (!in || !std::getline(in, token))
        return fail("--token-file " + token_file + ": cannot read");
    } else if (const char* t = std::getenv("CTFLOW_TOKEN")) {
      token = t;
    }
    follower = std::make_unique<serve::ControlFollower>(
        serve::ControlOptions{.api = api,
                              .token = token,
                              .model = model,
                              .alias = alias,
                              .cache_dir = cache_dir,
                              .poll = std::chrono::milliseconds(poll_ms)},
        predictor);
  }

  std::string token;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, token))
      return fail("--token-file " + token_file + ": cannot read");
  } else if (const char* t = std::getenv("CTFLOW_TOKEN")) {
    token = t;
  }
  if (log_api.empty()) log_api = api;
  std::unique_ptr<serve::PredictionLog> plog;
  if (!no_log && !log_api.empty()) {
    if (log_dir.empty()) log_dir = (fs::path(cache_dir) / ("log-" + model)).string();
    std::error_code ec;
    fs::create_directories(log_dir, ec);
    auto l = serve::PredictionLog::open(
        {.api = log_api,
         .token = token,
         .spool_path = (fs::path(log_dir) / "predictions.spool").string(),
         .max_bytes = log_max_mb << 20},
        metrics);
    if (!l) return fail(l.error());
    plog = std::move(*l);
    predictor.set_log(plog.get());
    plog->start();
  }

  http::Router router(http::RouterOptions{.title = "ctflow-serve", .public_writes = true});
  serve::add_routes(router, predictor, metrics,
                    {.max_images = max_images, .not_ready_reason = [&]() -> std::string {
                       if (follower) return follower->last_error();
                       return dir_error;
                     }});
  http::ServerOptions so;
  so.address = address;
  so.port = static_cast<uint16_t>(port);
  so.worker_threads = workers;
  so.body_limit = body_limit;
  so.metrics = &metrics;
  http::HttpServer server(router, so);
  auto bound = server.start();
  if (!bound) return fail(bound.error());
  log::info("serve: {} on http://{}:{} ({})", model, address, *bound,
            model_dir.empty() ? "following " + api + " alias " + alias : "directory " + model_dir);
  if (follower) follower->start();
  server.stop_on_signals();
  server.run();
  if (follower) follower->stop();
  plog.reset();  // stops the sender; unsent records stay in the spool for the next start
  std::fflush(nullptr);
  std::_Exit(0);  // the event stream's thread may be blocked in a read
}
