#include "tasks/eval/png.hpp"

#include <zlib.h>

#include <algorithm>
#include <fstream>

namespace ctflow::tasks {

static void put32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

static void chunk(std::string& out, const char type[4], const std::string& data) {
  put32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  put32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                         static_cast<uInt>(body.size()))));
}

std::string encode_png_gray(const std::vector<uint8_t>& pixels, int width, int height) {
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (width + 1));
  for (int r = 0; r < height; ++r) {
    raw.push_back(0);  // filter type "None"
    raw.append(reinterpret_cast<const char*>(pixels.data()) + static_cast<size_t>(r) * width,
               width);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string z(zlen, '\0');
  compress2(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), 9);
  z.resize(zlen);
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put32(ihdr, static_cast<uint32_t>(width));
  put32(ihdr, static_cast<uint32_t>(height));
  ihdr +=
      std::string("\x08\x00\x00\x00\x00", 5);  // depth 8, greyscale, deflate, filter, no interlace
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

Result<bool> write_png_gray(const std::string& path, const std::vector<uint8_t>& pixels, int width,
                            int height) {
  if (pixels.size() != static_cast<size_t>(width) * height)
    return Error{"png " + path + ": pixel count does not match " + std::to_string(width) + "x" +
                 std::to_string(height)};
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string data = encode_png_gray(pixels, width, height);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return Error{"png " + path + " cannot be written"};
  return true;
}

std::vector<uint8_t> upscale_gray(const float* img, int width, int height, int factor) {
  std::vector<uint8_t> out(static_cast<size_t>(width) * factor * height * factor);
  const int W = width * factor;
  for (int r = 0; r < height * factor; ++r)
    for (int c = 0; c < W; ++c) {
      float v = std::clamp(img[(r / factor) * width + c / factor], 0.0f, 1.0f);
      out[static_cast<size_t>(r) * W + c] = static_cast<uint8_t>(v * 255.0f + 0.5f);
    }
  return out;
}

}  // namespace ctflow::tasks
