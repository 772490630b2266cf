// Unscrambled points are compared with the published Joe-Kuo sequence. Dimensions 1-2 are
// SciPy's documented output of qmc.Sobol(d=2, scramble=False).random_base2(3); the others were
// generated from new-joe-kuo-6.21201 by an independent Python implementation of the
// Antonov-Saleev recurrence (x_i = x_{i-1} xor v_c, c = lowest zero bit of i-1).
#include <catch2/catch.hpp>

#include <set>

#include "scheduler/hpo/sobol.hpp"

using ctflow::hpo::Sobol;

TEST_CASE("unscrambled Sobol matches the published Joe-Kuo points", "[hpo][sobol]") {
  const double expected[8][6] = {
      {0, 0, 0, 0, 0, 0},
      {0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
      {0.75, 0.25, 0.25, 0.25, 0.75, 0.75},
      {0.25, 0.75, 0.75, 0.75, 0.25, 0.25},
      {0.375, 0.375, 0.625, 0.875, 0.375, 0.125},
      {0.875, 0.875, 0.125, 0.375, 0.875, 0.625},
      {0.625, 0.125, 0.875, 0.625, 0.625, 0.875},
      {0.125, 0.625, 0.375, 0.125, 0.125, 0.375},
  };
  Sobol s(6);
  for (int i = 0; i < 8; ++i) {
    auto p = s.point(i);
    for (int d = 0; d < 6; ++d) CHECK(p[d] == expected[i][d]);
  }
}

TEST_CASE("deep points exercise the direction-number recurrence", "[hpo][sobol]") {
  Sobol s(128);
  // {dimension (1-based), index, expected value * 2^32}
  const struct {
    int dim;
    uint64_t index;
    uint32_t bits;
  } cases[] = {{2, 1000, 415236096u},     {2, 123456, 784891904u},   {6, 1000, 3896508416u},
               {6, 123456, 872972288u},   {20, 1000, 3116367872u},   {20, 123456, 674988032u},
               {61, 1000, 1916796928u},   {61, 123456, 2092466176u}, {128, 1000, 2336227328u},
               {128, 123456, 2489417728u}};
  for (const auto& c : cases) CHECK(s.point(c.index)[c.dim - 1] == c.bits * 0x1p-32);
}

TEST_CASE("every dimension stratifies: 2^m points hit each interval of width 2^-m once",
          "[hpo][sobol]") {
  for (std::optional<uint64_t> seed : {std::optional<uint64_t>{}, std::optional<uint64_t>{42}}) {
    Sobol s(128, seed);
    std::vector<std::set<int>> cells(128);
    for (int i = 0; i < 256; ++i) {
      auto p = s.point(i);
      for (int d = 0; d < 128; ++d) {
        REQUIRE(p[d] >= 0.0);
        REQUIRE(p[d] < 1.0);
        cells[d].insert(static_cast<int>(p[d] * 256));
      }
    }
    for (int d = 0; d < 128; ++d) CHECK(cells[d].size() == 256);
  }
}

TEST_CASE("scrambling is deterministic per seed and differs across seeds", "[hpo][sobol]") {
  Sobol a(5, 3), b(5, 3), c(5, 4), plain(5);
  CHECK(a.point(17) == b.point(17));
  CHECK(a.point(17) != c.point(17));
  CHECK(a.point(0) != plain.point(0));  // the origin is scrambled away
}
