#pragma once
// Output warping for the GP. Objectives such as losses often span orders of magnitude (a few
// disastrous trials next to many good ones); z-scoring such values squeezes all the good trials
// into one point and the GP cannot tell them apart. So before fitting, the values (lower is
// better) are shifted so that the best sits at delta > 0,
//     u = y - min(y) + delta,   delta = 0.1 * (median(y) - min(y))
// (or 0.1 * (max - min) when more than half the values tie with the best), passed through a
// Box-Cox transform whose power lambda in [-1, 2] maximises the Gaussian profile likelihood of
// the transformed sample (Jacobian included), and z-scored. lambda near 0 is a log that spreads
// out the good values and compresses a heavy bad tail; lambda near 1 is affine (no warping) for
// objectives that are already well behaved. delta fixes the resolution among the best values
// relative to the typical spread, so the warp is invariant to shifting and scaling y.
// The transform is monotone: the incumbent and the minimiser do not change. Pure function.
#include <Eigen/Dense>

namespace ctflow::hpo {

// Box-Cox transform of x > 0.
double box_cox(double x, double lambda);

struct Warped {
  Eigen::VectorXd y;  // transformed, zero mean and unit variance (all zeros if y was constant)
  double lambda = 1;  // the chosen power
  double delta = 0;   // the shift's offset
};

Warped warp_outputs(const Eigen::VectorXd& y);

}  // namespace ctflow::hpo
