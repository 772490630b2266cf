// draw_digits: the input stream of the monitor's acceptance test (issue 21, acceptance 4):
// N fresh synthetic digits (tasks/data: the generator behind synthetic://digits), inverted for
// the shifted stream, as a KServe v1 request body plus the ground truth to send later as
// delayed labels:
//   {"instances": [[784 pixels in [0,1]], ...], "labels": [class, ...]}
// Usage: draw_digits N SEED invert|plain. Exit 0, or 2 with one line on stderr.
#include <boost/json.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

#include "tasks/data/source.hpp"

namespace json = boost::json;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "draw_digits: usage: N SEED invert|plain\n";
    return 2;
  }
  const int64_t n = std::atoll(argv[1]);
  const std::string mode = argv[3];
  if (n < 1 || n > 10'000 || (mode != "invert" && mode != "plain")) {
    std::cerr << "draw_digits: N in 1..10000 and invert|plain\n";
    return 2;
  }
  auto d = ctflow::tasks::synthetic_digits(n, std::strtoull(argv[2], nullptr, 10));
  const int64_t px = d.pixels_per_image();
  json::array instances, labels;
  for (int64_t s = 0; s < n; ++s) {
    json::array img;
    img.reserve(px);
    for (int64_t i = 0; i < px; ++i) {
      int b = d.pixels_u8[s * px + i];
      img.push_back((mode == "invert" ? 255 - b : b) / 255.0);
    }
    instances.push_back(std::move(img));
    labels.push_back(d.labels[s]);
  }
  std::cout << json::serialize(
                   json::object{{"instances", std::move(instances)}, {"labels", std::move(labels)}})
            << "\n";
  return 0;
}
