#include "scheduler/api/gc.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "scheduler/common/log.hpp"
#include "scheduler/executor/executor.hpp"

namespace ctflow::api {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

// Whether `p` names something strictly inside `root` (both made absolute and normal first).
bool inside(const fs::path& p, const fs::path& root) {
  auto rel =
      fs::absolute(p).lexically_normal().lexically_relative(fs::absolute(root).lexically_normal());
  return !rel.empty() && *rel.begin() != ".." && *rel.begin() != ".";
}

bool recently_modified(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return false;
  auto mtime = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
  return std::chrono::system_clock::now() - mtime < kArtifactGrace;
}

// One batch of garbage runs; false when none was left. Folders go after the commit.
bool runs_batch(store::Pool& pool, const fs::path& attempts, const GcOptions& o, GcReport& rep) {
  store::GcRunBatch b;
  {
    auto lease = pool.acquire();
    store::with_tx(*lease,
                   [&](store::Tx& tx) { b = store::gc_delete_runs(tx, o.older_than_s, o.batch); });
  }
  if (b.run_ids.empty()) return false;
  ++rep.batches;
  rep.counts += b.counts;
  for (const auto& a : b.attempts) {
    std::error_code ec;
    auto dir = attempts / exec::attempt_key(a.task_run_id, a.attempt);
    if (fs::remove_all(dir, ec) > 0) ++rep.folders;
    if (ec) log::warn("gc: {}: {}", dir.string(), ec.message());
  }
  return true;
}

bool events_batch(store::Pool& pool, const GcOptions& o, GcReport& rep) {
  int64_t n = 0;
  {
    auto lease = pool.acquire();
    store::with_tx(
        *lease, [&](store::Tx& tx) { n = store::gc_delete_events(tx, o.older_than_s, o.batch); });
  }
  if (n == 0) return false;
  ++rep.batches;
  rep.counts.events += n;
  return n == o.batch;
}

// One batch of unreferenced artifacts above `after`; false when none was left.
bool artifacts_batch(store::Pool& pool, const fs::path& store_root, const GcOptions& o,
                     int64_t& after, GcReport& rep) {
  auto lease = pool.acquire();
  store::Tx tx(*lease);
  auto cands = store::gc_lock_artifacts(tx, after, o.batch);
  if (cands.empty()) return false;
  after = cands.back().id;
  std::vector<std::pair<fs::path, fs::path>> moved;  // (stored path, aside)
  std::vector<int64_t> ids;
  for (const auto& c : cands) {
    fs::path p = c.path;
    if (!inside(p, store_root)) {  // a row naming a file outside the store: the row only
      ids.push_back(c.id);
      continue;
    }
    fs::path aside = p;
    aside += ".gc";
    if (std::rename(p.c_str(), aside.c_str()) == 0) {
      if (recently_modified(aside)) {  // stored again just now: a finish is about to use it
        std::rename(aside.c_str(), p.c_str());
        continue;
      }
      moved.emplace_back(p, aside);
    } else if (errno != ENOENT) {
      log::warn("gc: artifact {}: {}", p.string(), std::strerror(errno));
      continue;  // kept, row and file
    }
    ids.push_back(c.id);
  }
  try {
    store::gc_delete_artifacts(tx, ids);
    tx.commit();
  } catch (const std::exception&) {
    for (const auto& [p, aside] : moved) std::rename(aside.c_str(), p.c_str());
    throw;
  }
  for (const auto& [p, aside] : moved) {
    std::error_code ec;
    if (fs::remove(aside, ec)) ++rep.files;
  }
  ++rep.batches;
  rep.counts.artifacts += static_cast<int64_t>(ids.size());
  return true;
}

}  // namespace

GcReport collect_garbage(store::Pool& pool, const std::string& data_dir, const GcOptions& o) {
  GcReport rep;
  if (o.dry_run) {
    auto lease = pool.acquire();
    store::with_read(*lease,
                     [&](store::Tx& tx) { rep.counts = store::gc_plan(tx, o.older_than_s); });
    rep.done = true;
    return rep;
  }
  auto start = Steady::now();
  auto more_time = [&] { return o.budget.count() <= 0 || Steady::now() - start < o.budget; };
  fs::path attempts = fs::path(data_dir) / "attempts",
           store_root = fs::path(data_dir) / "artifacts";
  bool runs_left = true, events_left = true, artifacts_left = true;
  while (runs_left && more_time()) runs_left = runs_batch(pool, attempts, o, rep);
  while (!runs_left && events_left && more_time()) events_left = events_batch(pool, o, rep);
  int64_t after = 0;
  while (!runs_left && !events_left && artifacts_left && more_time())
    artifacts_left = artifacts_batch(pool, store_root, o, after, rep);
  rep.done = !runs_left && !events_left && !artifacts_left;
  return rep;
}

GcLoop::GcLoop(store::Pool& pool, std::string data_dir, GcOptions opt,
               std::chrono::milliseconds interval)
    : pool_(pool), data_dir_(std::move(data_dir)), opt_(opt), interval_(interval) {}

GcLoop::~GcLoop() {
  stop();
}

void GcLoop::start() {
  thread_ = std::thread([this] {
    for (;;) {
      {
        MutexLock lock(mu_);
        auto until = std::chrono::steady_clock::now() + interval_;
        while (!stop_ && cv_.wait_until(mu_, until)) {
        }
        if (stop_) return;
      }
      try {
        auto r = collect_garbage(pool_, data_dir_, opt_);
        if (r.counts.runs || r.counts.events || r.counts.artifacts)
          log::info("gc: deleted {} runs ({} tasks, {} attempt folders), {} events, {} artifacts",
                    r.counts.runs, r.counts.tasks, r.folders, r.counts.events, r.counts.artifacts);
      } catch (const std::exception& e) {  // the database away: the next round tries again
        log::warn("gc: {}", e.what());
      }
    }
  });
}

void GcLoop::stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ctflow::api
