#pragma once
// The idx file format of MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian magic
// 0x00000803 (u8 images, 3 dimensions) or 0x00000801 (u8 labels, 1 dimension), the dimensions
// as big-endian u32, then the bytes. Files may be raw or gzip-compressed (zlib reads both).
// Every error is a value naming the file and what is wrong (bad magic, truncated, trailing data).
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"

namespace ctflow::tasks {

struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count*rows*cols
};

Result<IdxImages> read_idx_images(const std::string& path);
Result<std::vector<uint8_t>> read_idx_labels(const std::string& path);

// Writers (tests, partition directories). `gzip` compresses with zlib.
Result<bool> write_idx_images(const std::string& path, const IdxImages& images, bool gzip);
Result<bool> write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels,
                              bool gzip);

// "DIR/NAME" if it exists, else "DIR/NAME.gz" if that exists, else "".
std::string find_idx(const std::string& dir, const std::string& name);

}  // namespace ctflow::tasks
