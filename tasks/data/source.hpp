#pragma once
// Data sources for `extract`. A source is a URI:
//
//   mnist://DIR[?partitions=12&start=2025-01&seed=7]
//     DIR holds either the MNIST training files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
//     raw or .gz), which are cut into `partitions` monthly partitions of equal size in a fixed,
//     seeded order ("pretend MNIST is big data": partition i is named start+i months); or one
//     subdirectory per partition named YYYY-MM or YYYY-MM-DD holding images-idx3-ubyte and
//     labels-idx1-ubyte (raw or .gz), as new data would land. The test set is
//     DIR/t10k-images-idx3-ubyte + DIR/t10k-labels-idx1-ubyte (raw or .gz).
//   synthetic://digits?n=600&seed=1[&partitions=3&start=2025-01&test=200&drift=invert]
//     small generated digit-like images (strokes with random affine jitter and noise) for fast
//     tests; `drift=invert` inverts the last partition (a shifted partition), and once that
//     partition is included, every other image of the test set too (the gate then compares
//     models on the data they now face).
//
// A partition is included when its first instant is at or before `until` (the run's logical
// date); without `until`, all are. Each partition's digest is the sha256 of its image bytes
// followed by its label bytes, so the same data gives the same digest on every run.
#include <optional>
#include <string>

#include "scheduler/common/time_util.hpp"
#include "tasks/data/dataset.hpp"

namespace ctflow::tasks {

struct SourceData {
  Dataset train;  // u8; partitions up to `until`, in partition order
  Dataset test;   // u8; one partition named "test"
  int total_partitions = 0;
};

Result<SourceData> load_source(const std::string& uri, std::optional<TimePoint> until);

// Draws `n` synthetic digits (labels balanced in random order). Deterministic in `seed`.
Dataset synthetic_digits(int64_t n, uint64_t seed);

}  // namespace ctflow::tasks
