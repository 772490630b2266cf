#include "tasks/data/dataset.hpp"

#include <cstring>
#include <fstream>

namespace ctflow::tasks {

static constexpr char kMagic[4] = {'C', 'T', 'D', 'S'};
static constexpr uint32_t kVersion = 1;
static constexpr size_t kMaxHeader = 64u << 20;

Dataset Dataset::subset(const std::vector<int64_t>& samples) const {
  Dataset out;
  out.rows = rows;
  out.cols = cols;
  out.is_float = is_float;
  out.partitions = partitions;
  out.meta = meta;
  const int64_t ppi = pixels_per_image();
  for (int64_t s : samples) {
    out.labels.push_back(labels[s]);
    out.ids.push_back(ids[s]);
    out.partition.push_back(partition[s]);
    if (is_float)
      out.pixels_f32.insert(out.pixels_f32.end(), pixels_f32.begin() + s * ppi,
                            pixels_f32.begin() + (s + 1) * ppi);
    else
      out.pixels_u8.insert(out.pixels_u8.end(), pixels_u8.begin() + s * ppi,
                           pixels_u8.begin() + (s + 1) * ppi);
  }
  for (auto& p : out.partitions) p.count = 0;
  for (uint16_t p : out.partition) out.partitions[p].count++;
  return out;
}

Result<bool> write_dataset(const std::string& path, const Dataset& d) {
  json::object h;
  h["n"] = d.size();
  h["rows"] = d.rows;
  h["cols"] = d.cols;
  h["dtype"] = d.is_float ? "f32" : "u8";
  json::array parts;
  for (const auto& p : d.partitions)
    parts.push_back(json::object{{"name", p.name}, {"digest", p.digest}, {"count", p.count}});
  h["partitions"] = std::move(parts);
  h["meta"] = d.meta;
  std::string header = json::serialize(h);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Error{"dataset " + path + " cannot be created"};
  uint64_t hlen = header.size();
  out.write(kMagic, 4);
  out.write(reinterpret_cast<const char*>(&kVersion), 4);
  out.write(reinterpret_cast<const char*>(&hlen), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  auto put = [&](const void* p, size_t bytes) {
    out.write(static_cast<const char*>(p), static_cast<std::streamsize>(bytes));
  };
  put(d.labels.data(), d.labels.size());
  put(d.ids.data(), d.ids.size() * 4);
  put(d.partition.data(), d.partition.size() * 2);
  if (d.is_float)
    put(d.pixels_f32.data(), d.pixels_f32.size() * 4);
  else
    put(d.pixels_u8.data(), d.pixels_u8.size());
  out.close();
  if (!out) return Error{"dataset " + path + ": write failed"};
  return true;
}

Result<Dataset> read_dataset(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"dataset " + path + " cannot be opened"};
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  char magic[4];
  uint32_t version = 0;
  uint64_t hlen = 0;
  in.read(magic, 4);
  in.read(reinterpret_cast<char*>(&version), 4);
  in.read(reinterpret_cast<char*>(&hlen), 8);
  if (!in || std::memcmp(magic, kMagic, 4) != 0)
    return Error{"dataset " + path + ": not a ctflow dataset (bad magic)"};
  if (version != kVersion)
    return Error{"dataset " + path + ": unsupported version " + std::to_string(version)};
  if (hlen > kMaxHeader || 16 + hlen > file_size)
    return Error{"dataset " + path + ": truncated header"};
  std::string header(hlen, '\0');
  in.read(header.data(), static_cast<std::streamsize>(hlen));
  boost::system::error_code ec;
  json::value hv = json::parse(header, ec);
  if (ec || !hv.is_object()) return Error{"dataset " + path + ": header is not JSON"};
  const auto& h = hv.get_object();
  Dataset d;
  int64_t n = get_int(h, "n", -1);
  d.rows = get_int(h, "rows", -1);
  d.cols = get_int(h, "cols", -1);
  std::string dtype = get_string(h, "dtype");
  if (n < 0 || d.rows <= 0 || d.cols <= 0 || d.rows > 4096 || d.cols > 4096 ||
      (dtype != "u8" && dtype != "f32"))
    return Error{"dataset " + path + ": bad header (n, rows, cols or dtype)"};
  d.is_float = dtype == "f32";
  const uint64_t px = static_cast<uint64_t>(n) * d.rows * d.cols;
  const uint64_t expect = 16 + hlen + n * (1 + 4 + 2) + px * (d.is_float ? 4 : 1);
  if (file_size != expect)
    return Error{"dataset " + path + ": size " + std::to_string(file_size) + " bytes, expected " +
                 std::to_string(expect) + " (truncated or corrupt)"};
  if (const json::value* p = find(h, "partitions"); p && p->is_array()) {
    for (const auto& e : p->get_array()) {
      if (!e.is_object()) continue;
      const auto& o = e.get_object();
      d.partitions.push_back({get_string(o, "name"), get_string(o, "digest"), get_int(o, "count")});
    }
  }
  if (const json::value* m = find(h, "meta"); m && m->is_object()) d.meta = m->get_object();
  d.labels.resize(n);
  d.ids.resize(n);
  d.partition.resize(n);
  in.read(reinterpret_cast<char*>(d.labels.data()), n);
  in.read(reinterpret_cast<char*>(d.ids.data()), n * 4);
  in.read(reinterpret_cast<char*>(d.partition.data()), n * 2);
  if (d.is_float) {
    d.pixels_f32.resize(px);
    in.read(reinterpret_cast<char*>(d.pixels_f32.data()), static_cast<std::streamsize>(px * 4));
  } else {
    d.pixels_u8.resize(px);
    in.read(reinterpret_cast<char*>(d.pixels_u8.data()), static_cast<std::streamsize>(px));
  }
  if (!in) return Error{"dataset " + path + ": read failed"};
  for (uint16_t p : d.partition)
    if (p >= d.partitions.size())
      return Error{"dataset " + path + ": sample refers to partition " + std::to_string(p) +
                   " of " + std::to_string(d.partitions.size())};
  return d;
}

Result<json::object> read_json_object(const std::string& path) {
  bool too_big = false;
  auto text = read_file(path, 512u << 20, &too_big);
  if (!text) return Error{"file " + path + (too_big ? " is too large" : " cannot be read")};
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return Error{"file " + path + " is not a JSON object"};
  return v.get_object();
}

Result<bool> write_json(const std::string& path, const json::value& v) {
  if (!write_file_atomic(path, json::serialize(v) + "\n"))
    return Error{"file " + path + " cannot be written"};
  return true;
}

}  // namespace ctflow::tasks
