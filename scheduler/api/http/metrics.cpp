#include "scheduler/api/http/metrics.hpp"

#include "scheduler/common/log.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace ctflow::http {

namespace {

bool valid_metric_name(std::string_view n, bool allow_colon) {
  auto first = [&](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (allow_colon && c == ':');
  };
  if (n.empty() || !first(n[0])) return false;
  return std::all_of(n.begin(), n.end(), [&](char c) {
    return first(c) || std::isdigit(static_cast<unsigned char>(c));
  });
}

std::string escape(std::string_view s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out.push_back(c);
  }
  return out;
}

// Joins the rendered series labels with one extra label (a histogram's `le`).
std::string with_label(const std::string& rendered, std::string_view name, std::string_view value) {
  std::string extra = std::string(name) + "=\"" + std::string(value) + "\"";
  return "{" + (rendered.empty() ? extra : rendered + "," + extra) + "}";
}

std::string braces(const std::string& rendered) {
  return rendered.empty() ? "" : "{" + rendered + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();  // le
  std::lock_guard lock(mu_);
  ++counts_[i];
  sum_ += v;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::lock_guard lock(mu_);
  uint64_t running = 0;
  for (uint64_t c : counts_) s.cumulative.push_back(running += c);
  s.count = running;
  s.sum = sum_;
  return s;
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string render_labels(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ",";
    out += k + "=\"" + escape(v, true) + "\"";
  }
  return out;
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help,
                                                 Type type, const std::vector<double>& buckets) {
  if (!valid_metric_name(name, true))
    throw std::logic_error("metric name '" + std::string(name) + "' is not valid");
  auto it = families_.find(name);
  if (it == families_.end()) {
    if (type == Type::Histogram &&
        (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end()) ||
         std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end()))
      throw std::logic_error("histogram " + std::string(name) + ": buckets must increase");
    Family f;
    f.type = type;
    f.help = help;
    f.buckets = buckets;
    it = families_.emplace(std::string(name), std::move(f)).first;
  }
  Family& f = it->second;
  if (f.type != type) throw std::logic_error("metric " + std::string(name) + ": type differs");
  if (type == Type::Histogram && f.buckets != buckets)
    throw std::logic_error("histogram " + std::string(name) + ": buckets differ");
  return f;
}

static void check_labels(std::string_view metric, const Labels& labels) {
  for (const auto& [k, v] : labels)
    if (!valid_metric_name(k, false) || k.rfind("__", 0) == 0 || k == "le")
      throw std::logic_error("metric " + std::string(metric) + ": bad label name '" + k + "'");
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  const Labels& labels) {
  check_labels(name, labels);
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Type::Counter, {}).counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  check_labels(name, labels);
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Type::Gauge, {}).gauges[render_labels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      const std::vector<double>& buckets, const Labels& labels) {
  check_labels(name, labels);
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Type::Histogram, buckets).histograms[render_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(buckets);
  return *slot;
}

void MetricsRegistry::gauge_callback(std::string_view name, std::string_view help,
                                     Collector collect) {
  std::lock_guard lock(mu_);
  if (families_.count(name))
    throw std::logic_error("metric " + std::string(name) + ": already registered");
  family(name, help, Type::Callback, {}).collect = std::move(collect);
}

std::string MetricsRegistry::expose() const {
  // Callbacks may block on the database: copy them out and run them without the lock.
  std::vector<std::pair<std::string, Collector>> callbacks;
  std::string out;
  std::map<std::string, std::string> rendered;  // name -> text, so the output stays sorted
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, f] : families_) {
      static constexpr const char* kTypes[] = {"counter", "gauge", "histogram", "gauge"};
      std::string text = "# HELP " + name + " " + escape(f.help, false) + "\n# TYPE " + name + " " +
                         kTypes[static_cast<int>(f.type)] + "\n";
      if (f.type == Type::Callback) {
        callbacks.emplace_back(name, f.collect);
        rendered[name] = std::move(text);
        continue;
      }
      for (const auto& [labels, c] : f.counters)
        text += name + braces(labels) + " " + format_metric_value(c->value()) + "\n";
      for (const auto& [labels, g] : f.gauges)
        text += name + braces(labels) + " " + format_metric_value(g->value()) + "\n";
      for (const auto& [labels, h] : f.histograms) {
        Histogram::Snapshot s = h->snapshot();
        for (size_t i = 0; i < s.cumulative.size(); ++i) {
          std::string le = i < f.buckets.size() ? format_metric_value(f.buckets[i]) : "+Inf";
          text += name + "_bucket" + with_label(labels, "le", le) + " " +
                  std::to_string(s.cumulative[i]) + "\n";
        }
        text += name + "_sum" + braces(labels) + " " + format_metric_value(s.sum) + "\n";
        text += name + "_count" + braces(labels) + " " + std::to_string(s.count) + "\n";
      }
      rendered[name] = std::move(text);
    }
  }
  for (auto& [name, collect] : callbacks) {
    try {
      for (const auto& [labels, v] : collect())
        rendered[name] +=
            name + braces(render_labels(labels)) + " " + format_metric_value(v) + "\n";
    } catch (const std::exception& e) {
      log::warn("metrics: collector {} failed: {}", name, e.what());
      rendered.erase(name);
    }
  }
  for (auto& [name, text] : rendered) out += text;
  return out;
}

Route metrics_route(const MetricsRegistry& registry, std::string path) {
  Route r;
  r.method = "GET";
  r.pattern = std::move(path);
  r.summary = "Prometheus metrics (text format 0.0.4)";
  r.tag = "meta";
  r.min_role = Role::None;
  r.response_schema = {{"type", "string"}};
  r.handler = [&registry](const Request&, const PathParams&, const Principal&) {
    return text_response(200, registry.expose(), "text/plain; version=0.0.4; charset=utf-8");
  };
  return r;
}

}  // namespace ctflow::http
