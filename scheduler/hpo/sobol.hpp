#pragma once
// Sobol low-discrepancy points in [0,1)^d with Joe-Kuo direction numbers (32-bit, Gray-code
// order, as Joe and Kuo's reference generator and SciPy emit them: point 0 is the origin).
// Optionally scrambled: a random linear matrix scramble (lower-triangular binary matrix with unit
// diagonal, per dimension) followed by a random digital shift, both drawn from a seeded
// std::mt19937_64, whose output sequence the C++ standard fixes; so a seed gives the same points on
// every platform. Scrambling keeps the (t,m,s)-net property and removes the origin.
// A Sobol object is immutable after construction and safe to share between threads.
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace ctflow::hpo {

class Sobol {
 public:
  static constexpr size_t kMaxDims = 128;

  // 1 <= dims <= kMaxDims (larger is clamped; callers validate spaces against kMaxDims).
  explicit Sobol(size_t dims, std::optional<uint64_t> scramble_seed = std::nullopt);

  size_t dims() const { return v_.size(); }

  // The point with 0-based index `index` (indexes >= 2^32 wrap).
  std::vector<double> point(uint64_t index) const;

 private:
  std::vector<std::array<uint32_t, 32>> v_;  // direction numbers per dimension, MSB first digit
  std::vector<uint32_t> shift_;              // digital shift per dimension (0 when unscrambled)
};

namespace detail {
struct JoeKuoRow {
  uint32_t s, a;
  uint32_t m[10];
};
inline constexpr size_t kJoeKuoRows = 127;  // dimensions 2..128
extern const JoeKuoRow kJoeKuo[kJoeKuoRows];
}  // namespace detail

}  // namespace ctflow::hpo
