#include "tasks/serve/control.hpp"

#include <filesystem>

#include "scheduler/cli/pull.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/common/sha256.hpp"

namespace ctflow::serve {

namespace fs = std::filesystem;

ControlFollower::ControlFollower(ControlOptions options, Predictor& predictor)
    : o_(std::move(options)), predictor_(predictor) {}

ControlFollower::~ControlFollower() {
  stop();
  if (checker_.joinable()) checker_.join();
  if (events_.joinable()) events_.detach();  // blocked in a read; the process is leaving
}

void ControlFollower::set_error(const std::string& e) {
  if (!e.empty()) log::error("serve: {}", e);
  std::lock_guard lk(mu_);
  last_error_ = e;
}

std::string ControlFollower::last_error() const {
  std::lock_guard lk(mu_);
  return last_error_;
}

Result<tasks::ModelFiles> ControlFollower::local_files(int64_t version) {
  cli::Client c(o_.api, o_.token);
  auto v = cli::get_version(c, o_.model, version);
  if (!v) return Error{v.error()};
  auto arts = cli::version_artifacts(*v);
  if (!arts) return Error{o_.model + " version " + std::to_string(version) + ": " + arts.error()};
  std::error_code ec;
  fs::create_directories(o_.cache_dir, ec);
  std::string paths[3];
  for (int i = 0; i < 3; ++i) {
    const std::string want = tasks::kModelArtifacts[i];
    std::string digest;
    for (const auto& [name, d] : *arts)
      if (name == want) digest = d;
    if (digest.empty())
      return Error{o_.model + " version " + std::to_string(version) + " has no '" + want +
                   "' artifact"};
    const std::string hex = digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
    const std::string path = (fs::path(o_.cache_dir) / hex).string();
    auto have = fs::exists(path, ec) ? sha256_file(path) : std::nullopt;
    if (!have || *have != hex) {
      if (have) log::warn("serve: cached artifact {} is corrupted; pulling it again", path);
      if (auto f = cli::fetch_artifact(c, digest, path); !f)
        return Error{o_.model + " version " + std::to_string(version) + ": " + f.error()};
    }
    paths[i] = path;
  }
  return tasks::ModelFiles{paths[0], paths[1], paths[2]};
}

bool ControlFollower::check_once() {
  cli::Client c(o_.api, o_.token);
  auto t = cli::resolve_alias(c, o_.model, o_.alias);
  if (!t) {
    set_error(t.error());
    return false;
  }
  if (t->version == served_version_ && t->canary_version == served_canary_ &&
      t->canary_percent == served_percent_ && primary_) {
    set_error("");
    return true;
  }
  auto load =
      [&](int64_t version,
          const std::shared_ptr<ServedVersion>& have) -> Result<std::shared_ptr<ServedVersion>> {
    if (version == 0) return std::shared_ptr<ServedVersion>();
    if (have && have->version == version) return have;
    if (primary_ && primary_->version == version) return primary_;
    if (canary_ && canary_->version == version) return canary_;
    auto files = local_files(version);
    if (!files) return Error{files.error()};
    return predictor_.load(*files, version);
  };
  auto primary = load(t->version, primary_);
  if (!primary) {
    set_error(primary.error() + " (still serving version " + std::to_string(predictor_.version()) +
              ")");
    return false;
  }
  auto canary = load(t->canary_version, canary_);
  if (!canary) {
    set_error(canary.error() + " (canary not started)");
    return false;
  }
  primary_ = *primary;
  canary_ = *canary;
  predictor_.set(primary_, canary_, t->canary_percent);
  served_version_ = t->version;
  served_canary_ = t->canary_version;
  served_percent_ = t->canary_percent;
  set_error("");
  return true;
}

void ControlFollower::start() {
  checker_ = std::thread([this] { check_loop(); });
  if (o_.follow_events) events_ = std::thread([this] { event_loop(); });
}

void ControlFollower::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  wake_.notify_all();
}

void ControlFollower::check_loop() {
  for (;;) {
    check_once();
    std::unique_lock lk(mu_);
    wake_.wait_for(lk, o_.poll, [&] { return stop_ || poke_; });
    if (stop_) return;
    poke_ = false;
  }
}

void ControlFollower::event_loop() {
  auto backoff = std::chrono::milliseconds(1000);
  std::string last_id;
  const std::string needle = "\"" + o_.model + "\"";  // the payload's "model" value
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stop_) return;
    }
    cli::Client c(o_.api, o_.token);
    std::string buf, event;
    auto status = c.stream("/api/v1/events", last_id, [&](std::string_view data) {
      buf.append(data);
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        if (line.rfind("id: ", 0) == 0) last_id = line.substr(4);
        if (line.rfind("event: ", 0) == 0) event = line.substr(7);
        if (line.rfind("data: ", 0) == 0 && event == "model" &&
            line.find(needle) != std::string::npos) {
          std::lock_guard lk(mu_);
          poke_ = true;
          wake_.notify_all();
        }
        if (line.empty()) event.clear();
      }
      std::lock_guard lk(mu_);
      backoff = std::chrono::milliseconds(1000);
      return !stop_;
    });
    if (!status)
      log::warn("serve: event stream: {}; polling every {} ms", status.error(), o_.poll.count());
    std::unique_lock lk(mu_);
    if (wake_.wait_for(lk, backoff, [&] { return stop_; })) return;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
  }
}

}  // namespace ctflow::serve
