// synthetic_digits (declared in source.hpp): digit-like 28x28 images drawn as strokes.
// Each digit is a few polylines in a unit box; every sample gets its own rotation, scale, shear,
// shift and stroke width, plus pixel noise, so a small CNN has something to learn yet reaches
// high accuracy on a few hundred samples in seconds.
#include <cmath>
#include <numeric>
#include <random>

#include "tasks/data/source.hpp"

namespace ctflow::tasks {

namespace {

struct Pt {
  float x, y;
};
using Stroke = std::vector<Pt>;

Stroke circle(float cx, float cy, float rx, float ry) {
  Stroke s;
  for (int i = 0; i <= 12; ++i) {
    float a = static_cast<float>(i) * 6.2831853f / 12.0f;
    s.push_back({cx + rx * std::cos(a), cy + ry * std::sin(a)});
  }
  return s;
}

const std::vector<Stroke>& strokes(int digit) {
  static const std::vector<std::vector<Stroke>> kDigits = {
      {circle(0.5f, 0.5f, 0.28f, 0.4f)},
      {{{0.35f, 0.25f}, {0.55f, 0.1f}, {0.55f, 0.9f}}},
      {{{0.2f, 0.3f},
        {0.35f, 0.12f},
        {0.65f, 0.12f},
        {0.8f, 0.3f},
        {0.7f, 0.5f},
        {0.2f, 0.9f},
        {0.82f, 0.9f}}},
      {{{0.2f, 0.15f},
        {0.75f, 0.15f},
        {0.45f, 0.45f},
        {0.75f, 0.6f},
        {0.75f, 0.8f},
        {0.55f, 0.92f},
        {0.2f, 0.85f}}},
      {{{0.65f, 0.9f}, {0.65f, 0.1f}, {0.15f, 0.65f}, {0.85f, 0.65f}}},
      {{{0.8f, 0.1f},
        {0.25f, 0.1f},
        {0.22f, 0.45f},
        {0.6f, 0.42f},
        {0.8f, 0.6f},
        {0.75f, 0.85f},
        {0.5f, 0.92f},
        {0.2f, 0.85f}}},
      {{{0.7f, 0.1f},
        {0.35f, 0.4f},
        {0.22f, 0.7f},
        {0.35f, 0.9f},
        {0.65f, 0.9f},
        {0.78f, 0.7f},
        {0.65f, 0.52f},
        {0.35f, 0.55f},
        {0.25f, 0.7f}}},
      {{{0.2f, 0.12f}, {0.8f, 0.12f}, {0.4f, 0.9f}}},
      {circle(0.5f, 0.28f, 0.2f, 0.18f), circle(0.5f, 0.7f, 0.24f, 0.21f)},
      {circle(0.5f, 0.32f, 0.22f, 0.2f), {{0.72f, 0.32f}, {0.6f, 0.9f}}},
  };
  return kDigits[digit];
}

float segment_distance(Pt p, Pt a, Pt b) {
  float vx = b.x - a.x, vy = b.y - a.y, wx = p.x - a.x, wy = p.y - a.y;
  float len2 = vx * vx + vy * vy;
  float t = len2 > 0 ? std::clamp((wx * vx + wy * vy) / len2, 0.0f, 1.0f) : 0.0f;
  float dx = wx - t * vx, dy = wy - t * vy;
  return std::sqrt(dx * dx + dy * dy);
}

}  // namespace

Dataset synthetic_digits(int64_t n, uint64_t seed) {
  Dataset d;
  d.rows = d.cols = 28;
  d.labels.resize(n);
  d.ids.resize(n);
  d.partition.assign(n, 0);
  d.pixels_u8.assign(n * 784, 0);
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < n; ++i) d.labels[i] = static_cast<uint8_t>(i % 10);
  std::shuffle(d.labels.begin(), d.labels.end(), rng);
  std::iota(d.ids.begin(), d.ids.end(), 0u);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::normal_distribution<float> noise(0.0f, 0.06f);
  for (int64_t s = 0; s < n; ++s) {
    const float angle = 0.2f * uni(rng), scale = 19.0f + 2.0f * uni(rng);
    const float shear = 0.15f * uni(rng), dx = 1.5f * uni(rng), dy = 1.5f * uni(rng);
    const float width = 1.6f + 0.5f * uni(rng);
    const float c = std::cos(angle), sn = std::sin(angle);
    std::vector<Stroke> placed;
    for (const Stroke& st : strokes(d.labels[s])) {
      Stroke t;
      for (Pt p : st) {
        float x = p.x - 0.5f + shear * (p.y - 0.5f), y = p.y - 0.5f;
        t.push_back({14.0f + dx + scale * (c * x - sn * y), 14.0f + dy + scale * (sn * x + c * y)});
      }
      placed.push_back(std::move(t));
    }
    uint8_t* img = d.pixels_u8.data() + s * 784;
    for (int r = 0; r < 28; ++r) {
      for (int col = 0; col < 28; ++col) {
        Pt p{col + 0.5f, r + 0.5f};
        float dist = 1e9f;
        for (const Stroke& st : placed)
          for (size_t k = 0; k + 1 < st.size(); ++k)
            dist = std::min(dist, segment_distance(p, st[k], st[k + 1]));
        float v = std::clamp(1.0f - (dist - width * 0.5f), 0.0f, 1.0f) + noise(rng);
        img[r * 28 + col] = static_cast<uint8_t>(std::lround(255.0f * std::clamp(v, 0.0f, 1.0f)));
      }
    }
  }
  return d;
}

}  // namespace ctflow::tasks
