#include "tasks/data/idx.hpp"

#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace ctflow::tasks {

static constexpr uint32_t kImagesMagic = 0x00000803;
static constexpr uint32_t kLabelsMagic = 0x00000801;
static constexpr size_t kMaxBytes = 1u << 30;

// Reads the whole (possibly gzip-compressed) file.
static Result<std::string> slurp(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return Error{"idx file " + path + " cannot be opened"};
  std::string data;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int errnum = 0;
      std::string msg = gzerror(f, &errnum);
      gzclose(f);
      return Error{"idx file " + path + ": " + msg};
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxBytes) {
      gzclose(f);
      return Error{"idx file " + path + " is larger than 1 GiB"};
    }
  }
  // A truncated gzip stream ends without error from gzread but sets Z_BUF_ERROR.
  int errnum = 0;
  gzerror(f, &errnum);
  gzclose(f);
  if (errnum == Z_BUF_ERROR) return Error{"idx file " + path + ": truncated gzip stream"};
  return data;
}

static uint32_t be32(const std::string& d, size_t off) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(d[off + i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

static std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

Result<IdxImages> read_idx_images(const std::string& path) {
  auto data = slurp(path);
  if (!data) return Error{data.error()};
  const std::string& d = *data;
  if (d.size() < 4) return Error{"idx file " + path + ": truncated header"};
  uint32_t magic = be32(d, 0);
  if (magic != kImagesMagic)
    return Error{"idx file " + path + ": wrong magic " + hex32(magic) + ", expected " +
                 hex32(kImagesMagic) + " (u8 images)"};
  if (d.size() < 16) return Error{"idx file " + path + ": truncated header"};
  IdxImages im;
  im.count = be32(d, 4);
  im.rows = be32(d, 8);
  im.cols = be32(d, 12);
  if (im.rows == 0 || im.cols == 0 || im.rows > 4096 || im.cols > 4096)
    return Error{"idx file " + path + ": bad image size " + std::to_string(im.rows) + "x" +
                 std::to_string(im.cols)};
  const uint64_t expect = static_cast<uint64_t>(im.count) * im.rows * im.cols;
  const uint64_t have = d.size() - 16;
  if (have < expect)
    return Error{"idx file " + path + ": truncated: " + std::to_string(im.count) + " images need " +
                 std::to_string(expect) + " bytes, found " + std::to_string(have)};
  if (have > expect)
    return Error{"idx file " + path + ": " + std::to_string(have - expect) +
                 " bytes of trailing data"};
  im.pixels.assign(d.begin() + 16, d.end());
  return im;
}

Result<std::vector<uint8_t>> read_idx_labels(const std::string& path) {
  auto data = slurp(path);
  if (!data) return Error{data.error()};
  const std::string& d = *data;
  if (d.size() < 4) return Error{"idx file " + path + ": truncated header"};
  uint32_t magic = be32(d, 0);
  if (magic != kLabelsMagic)
    return Error{"idx file " + path + ": wrong magic " + hex32(magic) + ", expected " +
                 hex32(kLabelsMagic) + " (u8 labels)"};
  if (d.size() < 8) return Error{"idx file " + path + ": truncated header"};
  const uint64_t count = be32(d, 4);
  const uint64_t have = d.size() - 8;
  if (have < count)
    return Error{"idx file " + path + ": truncated: " + std::to_string(count) + " labels, found " +
                 std::to_string(have)};
  if (have > count)
    return Error{"idx file " + path + ": " + std::to_string(have - count) +
                 " bytes of trailing data"};
  return std::vector<uint8_t>(d.begin() + 8, d.end());
}

static void put_be32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

static Result<bool> write_bytes(const std::string& path, const std::string& data, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb6");
    if (!f) return Error{"idx file " + path + " cannot be created"};
    int n = gzwrite(f, data.data(), static_cast<unsigned>(data.size()));
    int rc = gzclose(f);
    if (n != static_cast<int>(data.size()) || rc != Z_OK)
      return Error{"idx file " + path + ": write failed"};
    return true;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return Error{"idx file " + path + ": write failed"};
  return true;
}

Result<bool> write_idx_images(const std::string& path, const IdxImages& im, bool gzip) {
  std::string d;
  put_be32(d, kImagesMagic);
  put_be32(d, static_cast<uint32_t>(im.count));
  put_be32(d, static_cast<uint32_t>(im.rows));
  put_be32(d, static_cast<uint32_t>(im.cols));
  d.append(im.pixels.begin(), im.pixels.end());
  return write_bytes(path, d, gzip);
}

Result<bool> write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels,
                              bool gzip) {
  std::string d;
  put_be32(d, kLabelsMagic);
  put_be32(d, static_cast<uint32_t>(labels.size()));
  d.append(labels.begin(), labels.end());
  return write_bytes(path, d, gzip);
}

std::string find_idx(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::path(dir) / name;
  if (fs::is_regular_file(p, ec)) return p.string();
  p += ".gz";
  if (fs::is_regular_file(p, ec)) return p.string();
  return "";
}

}  // namespace ctflow::tasks
