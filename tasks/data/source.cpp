#include "tasks/data/source.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

#include "scheduler/common/sha256.hpp"
#include "tasks/data/idx.hpp"

namespace ctflow::tasks {

namespace fs = std::filesystem;

namespace {

struct Uri {
  std::string scheme, path;
  std::map<std::string, std::string> query;
};

Result<Uri> parse_uri(const std::string& s) {
  auto p = s.find("://");
  if (p == std::string::npos) return Error{"source '" + s + "' is not SCHEME://..."};
  Uri u;
  u.scheme = s.substr(0, p);
  std::string rest = s.substr(p + 3);
  auto q = rest.find('?');
  u.path = rest.substr(0, q);
  if (q != std::string::npos) {
    std::string qs = rest.substr(q + 1);
    size_t i = 0;
    while (i <= qs.size()) {
      size_t amp = qs.find('&', i);
      if (amp == std::string::npos) amp = qs.size();
      std::string kv = qs.substr(i, amp - i);
      if (!kv.empty()) {
        auto eq = kv.find('=');
        u.query[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
      }
      i = amp + 1;
    }
  }
  return u;
}

Result<int64_t> query_int(const Uri& u, const std::string& key, int64_t def, int64_t lo,
                          int64_t hi) {
  auto it = u.query.find(key);
  if (it == u.query.end()) return def;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end || v < lo || v > hi)
    return Error{"source parameter " + key + "=" + it->second + " is not an integer in [" +
                 std::to_string(lo) + ", " + std::to_string(hi) + "]"};
  return static_cast<int64_t>(v);
}

// "2025-01" + i months -> "2025-(01+i)".
Result<std::string> month_name(const std::string& start, int64_t i) {
  int y = 0, m = 0;
  if (std::sscanf(start.c_str(), "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12 || start.size() != 7)
    return Error{"partition start '" + start + "' is not YYYY-MM"};
  int64_t total = y * 12 + (m - 1) + i;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", static_cast<int>(total / 12),
                static_cast<int>(total % 12 + 1));
  return std::string(buf);
}

// First instant of a partition named YYYY-MM or YYYY-MM-DD; nullopt if the name is neither.
std::optional<TimePoint> partition_start(const std::string& name) {
  if (name.size() == 7) return parse_iso8601(name + "-01");
  if (name.size() == 10) return parse_iso8601(name);
  return std::nullopt;
}

bool included(const std::string& name, const std::optional<TimePoint>& until) {
  if (!until) return true;
  auto t = partition_start(name);
  return t && *t <= *until;
}

std::string partition_digest(const Dataset& d, int64_t first, int64_t count) {
  Sha256 h;
  const int64_t ppi = d.pixels_per_image();
  h.update(std::string_view(reinterpret_cast<const char*>(d.pixels_u8.data()) + first * ppi,
                            count * ppi));
  h.update(std::string_view(reinterpret_cast<const char*>(d.labels.data()) + first, count));
  return h.hex();
}

// Appends samples [from, from+count) of `src` (in `order`) to `dst` as one partition.
void append_partition(Dataset& dst, const Dataset& src, const std::vector<int64_t>& order,
                      int64_t from, int64_t count, const std::string& name) {
  const int64_t ppi = src.pixels_per_image();
  const int64_t first = dst.size();
  const auto pidx = static_cast<uint16_t>(dst.partitions.size());
  for (int64_t k = from; k < from + count; ++k) {
    int64_t s = order[k];
    dst.labels.push_back(src.labels[s]);
    dst.ids.push_back(src.ids[s]);
    dst.partition.push_back(pidx);
    dst.pixels_u8.insert(dst.pixels_u8.end(), src.pixels_u8.begin() + s * ppi,
                         src.pixels_u8.begin() + (s + 1) * ppi);
  }
  dst.partitions.push_back({name, partition_digest(dst, first, count), count});
}

Result<Dataset> load_idx_pair(const std::string& images, const std::string& labels) {
  if (images.empty() || labels.empty()) return Error{"idx image or label file not found"};
  auto im = read_idx_images(images);
  if (!im) return Error{im.error()};
  auto lb = read_idx_labels(labels);
  if (!lb) return Error{lb.error()};
  if (static_cast<int64_t>(lb->size()) != im->count)
    return Error{images + " has " + std::to_string(im->count) + " images but " + labels + " has " +
                 std::to_string(lb->size()) + " labels"};
  Dataset d;
  d.rows = im->rows;
  d.cols = im->cols;
  d.pixels_u8 = std::move(im->pixels);
  d.labels = std::move(*lb);
  d.ids.resize(d.labels.size());
  std::iota(d.ids.begin(), d.ids.end(), 0u);
  d.partition.assign(d.labels.size(), 0);
  return d;
}

Result<Dataset> load_test(const std::string& dir) {
  std::string im = find_idx(dir, "t10k-images-idx3-ubyte");
  std::string lb = find_idx(dir, "t10k-labels-idx1-ubyte");
  if (im.empty() || lb.empty())
    return Error{"test set not found: " + dir + "/t10k-{images-idx3,labels-idx1}-ubyte[.gz]"};
  auto d = load_idx_pair(im, lb);
  if (!d) return d;
  d->partitions.push_back({"test", partition_digest(*d, 0, d->size()), d->size()});
  return d;
}

Result<SourceData> load_mnist(const Uri& u, std::optional<TimePoint> until) {
  const std::string dir = u.path;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error{"mnist source: " + dir + " is not a directory"};
  SourceData out;
  out.train.meta["source"] = "mnist://" + dir;
  std::string train_im = find_idx(dir, "train-images-idx3-ubyte");
  if (!train_im.empty()) {
    auto parts = query_int(u, "partitions", 12, 1, 1000);
    auto seed = query_int(u, "seed", 7, 0, INT64_MAX);
    if (!parts) return Error{parts.error()};
    if (!seed) return Error{seed.error()};
    std::string start = u.query.count("start") ? u.query.at("start") : "2025-01";
    auto all = load_idx_pair(train_im, find_idx(dir, "train-labels-idx1-ubyte"));
    if (!all) return Error{all.error()};
    std::vector<int64_t> order(all->size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(static_cast<uint64_t>(*seed));
    std::shuffle(order.begin(), order.end(), rng);
    out.train.rows = all->rows;
    out.train.cols = all->cols;
    out.total_partitions = static_cast<int>(*parts);
    const int64_t per = all->size() / *parts;
    for (int64_t i = 0; i < *parts; ++i) {
      auto name = month_name(start, i);
      if (!name) return Error{name.error()};
      if (!included(*name, until)) continue;
      append_partition(out.train, *all, order, i * per, per, *name);
    }
  } else {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_directory() && partition_start(e.path().filename().string()))
        names.push_back(e.path().filename().string());
    if (names.empty())
      return Error{"mnist source " + dir +
                   ": neither train-images-idx3-ubyte[.gz] nor YYYY-MM partition directories"};
    std::sort(names.begin(), names.end());
    out.total_partitions = static_cast<int>(names.size());
    bool first = true;
    for (const auto& name : names) {
      if (!included(name, until)) continue;
      std::string pdir = (fs::path(dir) / name).string();
      auto p =
          load_idx_pair(find_idx(pdir, "images-idx3-ubyte"), find_idx(pdir, "labels-idx1-ubyte"));
      if (!p) return Error{"partition " + name + ": " + p.error()};
      if (first) {
        out.train.rows = p->rows;
        out.train.cols = p->cols;
        first = false;
      } else if (p->rows != out.train.rows || p->cols != out.train.cols) {
        return Error{"partition " + name + ": images are " + std::to_string(p->rows) + "x" +
                     std::to_string(p->cols) + ", earlier partitions " +
                     std::to_string(out.train.rows) + "x" + std::to_string(out.train.cols)};
      }
      std::vector<int64_t> order(p->size());
      std::iota(order.begin(), order.end(), 0);
      append_partition(out.train, *p, order, 0, p->size(), name);
    }
  }
  auto test = load_test(dir);
  if (!test) return Error{test.error()};
  out.test = std::move(*test);
  out.test.meta["source"] = "mnist://" + dir;
  return out;
}

Result<SourceData> load_synthetic(const Uri& u, std::optional<TimePoint> until) {
  if (u.path != "digits") return Error{"synthetic source: unknown generator '" + u.path + "'"};
  auto n = query_int(u, "n", 600, 1, 1000000);
  auto seed = query_int(u, "seed", 1, 0, INT64_MAX);
  auto parts = query_int(u, "partitions", 3, 1, 1000);
  if (!n || !seed || !parts) return Error{!n ? n.error() : !seed ? seed.error() : parts.error()};
  auto test_n = query_int(u, "test", std::max<int64_t>(1, *n / 5), 1, 1000000);
  if (!test_n) return Error{test_n.error()};
  std::string start = u.query.count("start") ? u.query.at("start") : "2025-01";
  std::string drift = u.query.count("drift") ? u.query.at("drift") : "";
  if (!drift.empty() && drift != "invert")
    return Error{"synthetic source: unknown drift '" + drift + "' (invert)"};
  Dataset all = synthetic_digits(*n, static_cast<uint64_t>(*seed));
  SourceData out;
  out.total_partitions = static_cast<int>(*parts);
  out.train.meta["source"] = "synthetic://digits";
  std::vector<int64_t> order(all.size());
  std::iota(order.begin(), order.end(), 0);
  const int64_t per = *n / *parts;
  for (int64_t i = 0; i < *parts; ++i) {
    auto name = month_name(start, i);
    if (!name) return Error{name.error()};
    if (!included(*name, until)) continue;
    int64_t count = i + 1 == *parts ? *n - i * per : per;
    if (drift == "invert" && i + 1 == *parts)
      for (int64_t k = i * per * 784; k < (i * per + count) * 784; ++k)
        all.pixels_u8[k] = static_cast<uint8_t>(255 - all.pixels_u8[k]);
    append_partition(out.train, all, order, i * per, count, *name);
  }
  out.test = synthetic_digits(*test_n, static_cast<uint64_t>(*seed) * 1000003 + 17);
  // The test set follows the data: once the shifted partition has arrived, every other test
  // image is shifted the same way, so the gate compares models on what they now face.
  if (drift == "invert" && out.total_partitions > 0) {
    auto last = month_name(start, *parts - 1);
    if (last && included(*last, until))
      for (int64_t s = 1; s < out.test.size(); s += 2)
        for (int64_t k = s * 784; k < (s + 1) * 784; ++k)
          out.test.pixels_u8[k] = static_cast<uint8_t>(255 - out.test.pixels_u8[k]);
  }
  out.test.partitions.push_back(
      {"test", partition_digest(out.test, 0, out.test.size()), out.test.size()});
  out.test.meta["source"] = "synthetic://digits";
  return out;
}

}  // namespace

Result<SourceData> load_source(const std::string& uri, std::optional<TimePoint> until) {
  auto u = parse_uri(uri);
  if (!u) return Error{u.error()};
  Result<SourceData> r = Error{"source '" + uri + "': unknown scheme (mnist://, synthetic://)"};
  if (u->scheme == "mnist") r = load_mnist(*u, until);
  if (u->scheme == "synthetic") r = load_synthetic(*u, until);
  if (r && r->train.partitions.empty()) {
    return Error{"source '" + uri + "': no partition starts at or before " +
                 (until ? format_iso8601(*until) : std::string("now"))};
  }
  return r;
}

}  // namespace ctflow::tasks
