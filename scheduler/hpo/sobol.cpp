#include "scheduler/hpo/sobol.hpp"

#include <algorithm>
#include <random>

namespace ctflow::hpo {

namespace {

std::array<uint32_t, 32> directions(size_t dim) {
  std::array<uint32_t, 32> v{};
  if (dim == 0) {  // van der Corput: v_j = 2^-(j+1)
    for (int j = 0; j < 32; ++j) v[j] = 1u << (31 - j);
    return v;
  }
  const detail::JoeKuoRow& r = detail::kJoeKuo[dim - 1];
  const uint32_t s = r.s;
  for (uint32_t j = 0; j < 32; ++j) {
    if (j < s) {
      v[j] = r.m[j] << (31 - j);
      continue;
    }
    // Bratley-Fox recurrence; the polynomial's inner coefficients are the bits of a.
    uint32_t x = v[j - s] ^ (v[j - s] >> s);
    for (uint32_t k = 1; k < s; ++k)
      if ((r.a >> (s - 1 - k)) & 1u) x ^= v[j - k];
    v[j] = x;
  }
  return v;
}

// Applies the lower-triangular binary matrix L (row k = lower[k], bit l set means L[k][l] = 1,
// digits numbered from the most significant) to the digit vector x.
uint32_t apply_lower(const std::array<uint32_t, 32>& lower, uint32_t x) {
  uint32_t y = 0;
  for (int k = 0; k < 32; ++k) {
    uint32_t row = lower[k];  // bits are digit positions l <= k, as masks on x
    uint32_t parity = static_cast<uint32_t>(__builtin_popcount(row & x)) & 1u;
    y |= parity << (31 - k);
  }
  return y;
}

}  // namespace

Sobol::Sobol(size_t dims, std::optional<uint64_t> scramble_seed) {
  dims = std::clamp<size_t>(dims, 1, kMaxDims);
  v_.reserve(dims);
  for (size_t d = 0; d < dims; ++d) v_.push_back(directions(d));
  shift_.assign(dims, 0);
  if (!scramble_seed) return;
  std::mt19937_64 rng(*scramble_seed ^ 0x9e3779b97f4a7c15ull);
  for (size_t d = 0; d < dims; ++d) {
    std::array<uint32_t, 32> lower{};
    for (int k = 0; k < 32; ++k) {
      // Row k: digit k itself (unit diagonal) plus random digits l < k.
      uint32_t mask_above = k == 0 ? 0u : ~0u << (32 - k);  // digit positions 0..k-1
      uint32_t bits = static_cast<uint32_t>(rng() >> 32) & mask_above;
      lower[k] = bits | (1u << (31 - k));
    }
    for (auto& vj : v_[d]) vj = apply_lower(lower, vj);
    shift_[d] = static_cast<uint32_t>(rng() >> 32);
  }
}

std::vector<double> Sobol::point(uint64_t index) const {
  uint32_t gray = static_cast<uint32_t>(index ^ (index >> 1));
  std::vector<double> p(v_.size());
  for (size_t d = 0; d < v_.size(); ++d) {
    uint32_t x = shift_[d];
    for (uint32_t g = gray, j = 0; g; g >>= 1, ++j)
      if (g & 1u) x ^= v_[d][j];
    p[d] = static_cast<double>(x) * 0x1p-32;
  }
  return p;
}

}  // namespace ctflow::hpo
