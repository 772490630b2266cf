#include "tasks/serve/prediction_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <fstream>

#include "scheduler/cli/client.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/common/time_util.hpp"

namespace ctflow::serve {

namespace {

std::string now_rfc3339_ms() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t secs = ms.count() / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     static_cast<int>(ms.count() % 1000));
}

}  // namespace

std::string PredictionLog::summary_json(const float* px) {
  double sum = 0;
  int ink = 0;
  int hist[8] = {};
  for (int i = 0; i < 784; ++i) {
    const float v = px[i];
    sum += v;
    ink += v > 0.5f;
    hist[std::min(7, static_cast<int>(v * 8))]++;
  }
  std::string h;
  for (int b = 0; b < 8; ++b) h += fmt::format("{}{:.4f}", b ? "," : "", hist[b] / 784.0);
  return fmt::format(R"({{"mean":{:.4f},"ink":{:.4f},"hist":[{}]}})", sum / 784.0, ink / 784.0, h);
}

Result<std::unique_ptr<PredictionLog>> PredictionLog::open(LogOptions options,
                                                           http::MetricsRegistry& metrics) {
  const int fd = ::open(options.spool_path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return Error{"prediction log spool " + options.spool_path + ": " + std::strerror(errno)};
  int64_t offset = 0;
  std::ifstream in(options.spool_path + ".offset");
  if (in) in >> offset;
  std::unique_ptr<PredictionLog> log(new PredictionLog(std::move(options), metrics, fd, offset));
  return log;
}

PredictionLog::PredictionLog(LogOptions options, http::MetricsRegistry& metrics, int fd,
                             int64_t offset)
    : o_(std::move(options)),
      records_(metrics.counter("ctflow_serve_log_records_total",
                               "Predictions written to the prediction log spool")),
      sent_(metrics.counter("ctflow_serve_log_sent_total",
                            "Prediction records the control plane acknowledged")),
      dropped_(metrics.counter("ctflow_serve_log_dropped_total",
                               "Prediction records dropped because the spool was full")),
      failures_(metrics.counter("ctflow_serve_log_send_failures_total",
                                "Failed sends to the prediction log route")),
      away_(metrics.gauge("ctflow_serve_log_api_away",
                          "1 while the prediction log route is unreachable or failing")),
      fd_(fd) {
  struct stat st {};
  ::fstat(fd_, &st);
  size_ = st.st_size;
  offset_ = std::clamp<int64_t>(offset, 0, size_);
  metrics.gauge_callback("ctflow_serve_log_pending_bytes", "Spooled bytes not yet acknowledged",
                         [this] {
                           std::lock_guard lk(mu_);
                           return std::vector<http::MetricsRegistry::Sample>{
                               {{}, static_cast<double>(size_ - offset_)}};
                         });
}

PredictionLog::~PredictionLog() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

void PredictionLog::start() {
  thread_ = std::thread([this] { loop(); });
}

void PredictionLog::record(const std::vector<PredictionRecord>& records) {
  std::string lines;
  const std::string time = now_rfc3339_ms();
  for (const auto& r : records) {
    lines +=
        fmt::format(R"({{"request_id":"{}","time":"{}","model":{},"version":{},"prediction":{},)"
                    R"("latency_ms":{:.3f},"summary":{}}})",
                    r.request_id, time, boost::json::serialize(boost::json::string(r.model)),
                    r.version, r.prediction, r.latency_ms, summary_json(r.pixels));
    lines += '\n';
  }
  std::lock_guard lk(mu_);
  if (size_ - offset_ + static_cast<int64_t>(lines.size()) > o_.max_bytes) {
    dropped_.inc(static_cast<double>(records.size()));
    return;
  }
  const ssize_t n = ::write(fd_, lines.data(), lines.size());
  if (n != static_cast<ssize_t>(lines.size())) {
    log::error("serve: prediction log spool {}: short write", o_.spool_path);
    dropped_.inc(static_cast<double>(records.size()));
    return;
  }
  size_ += n;
  records_.inc(static_cast<double>(records.size()));
}

void PredictionLog::save_offset() {
  const std::string tmp = o_.spool_path + ".offset.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << offset_ << "\n";
  }
  std::rename(tmp.c_str(), (o_.spool_path + ".offset").c_str());
}

bool PredictionLog::send_some() {
  int64_t from, to;
  {
    std::lock_guard lk(mu_);
    from = offset_;
    to = size_;
    if (from == to) {
      if (size_ > (1 << 20)) {  // all sent: start the spool again
        if (::ftruncate(fd_, 0) == 0) {
          size_ = offset_ = 0;
          save_offset();
        }
      }
      return true;
    }
  }
  // Read up to `batch` complete lines from `from`.
  std::string buf(static_cast<size_t>(std::min<int64_t>(to - from, 8 << 20)), '\0');
  const ssize_t n = ::pread(fd_, buf.data(), buf.size(), from);
  if (n <= 0) return false;
  buf.resize(n);
  std::string body = R"({"records":[)";
  size_t pos = 0;
  int count = 0;
  while (count < o_.batch) {
    const size_t nl = buf.find('\n', pos);
    if (nl == std::string::npos) break;
    body += (count ? "," : "") + buf.substr(pos, nl - pos);
    pos = nl + 1;
    ++count;
  }
  if (count == 0) return true;  // a partial line: wait for the rest
  body += "]}";
  cli::Client c(o_.api, o_.token);
  auto r = c.request("POST", "/api/v1/predictions", body);
  if (r && (r->status == 400 || r->status == 422)) {
    // The route refused the batch itself (a record it cannot store): sending it again would stop
    // the log for good. Drop it, counted and logged, and go on.
    log::error("serve: prediction log: {} records refused: {}", count, cli::error_text(*r));
    dropped_.inc(count);
    std::lock_guard lk(mu_);
    offset_ = from + static_cast<int64_t>(pos);
    save_offset();
    return true;
  }
  if (!r || r->status != 200) {
    failures_.inc();
    if (away_.value() == 0)
      log::warn("serve: prediction log: {}; spooling to {}",
                r ? "HTTP " + std::to_string(r->status) + ": " + cli::error_text(*r) : r.error(),
                o_.spool_path);
    away_.set(1);
    return false;
  }
  if (away_.value() != 0) log::info("serve: prediction log: the API is back; replaying the spool");
  away_.set(0);
  sent_.inc(count);
  std::lock_guard lk(mu_);
  offset_ = from + static_cast<int64_t>(pos);
  save_offset();
  return true;
}

void PredictionLog::loop() {
  auto backoff = std::chrono::milliseconds(1000);
  for (;;) {
    const bool ok = send_some();
    std::unique_lock lk(mu_);
    if (stop_) return;
    const bool more = ok && offset_ < size_;
    if (more) continue;
    wake_.wait_for(lk, ok ? o_.flush : backoff, [&] { return stop_; });
    if (stop_) return;
    backoff = ok ? std::chrono::milliseconds(1000)
                 : std::min(backoff * 2, std::chrono::milliseconds(30000));
  }
}

}  // namespace ctflow::serve
