#pragma once
// A minimal PNG encoder (8-bit greyscale, no interlace) on zlib, for the analysis images that the
// dashboard shows. Thread-safe: no shared state.
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"

namespace ctflow::tasks {

// `pixels` holds height rows of width bytes. Returns the PNG file bytes.
std::string encode_png_gray(const std::vector<uint8_t>& pixels, int width, int height);
Result<bool> write_png_gray(const std::string& path, const std::vector<uint8_t>& pixels, int width,
                            int height);

// Upscales a [0,1] float image by an integer factor (nearest neighbour) into bytes.
std::vector<uint8_t> upscale_gray(const float* img, int width, int height, int factor);

}  // namespace ctflow::tasks
