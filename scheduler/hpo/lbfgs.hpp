#pragma once
// Box-constrained minimisation by projected L-BFGS: the two-loop recursion gives a direction,
// components that would leave the box at an active bound are dropped, and a backtracking Armijo
// search runs along the projected path P(x + t d). Small and dependency-free (Eigen only); good for
// the few-dozen-parameter problems here (GP hyperparameters, acquisition refinement).
// Pure function; thread-safe as long as `f` is.
#include <Eigen/Dense>

#include <functional>

namespace ctflow::hpo {

// Returns f(x) and writes the gradient into `grad` (already sized like x). A non-finite value
// means "outside the usable region": the line search backs off from it.
using Objective = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd& grad)>;

struct LbfgsOptions {
  int max_iters = 50;
  int memory = 6;
  double grad_tol = 1e-5;  // stop when the projected gradient's max norm is below this
  double rel_tol = 1e-9;   // stop when an iteration lowers f by less than rel_tol * (|f| + 1)
};

struct LbfgsResult {
  Eigen::VectorXd x;
  double f = 0;
  int iters = 0;
  int evals = 0;
};

// Minimises f over lower <= x <= upper starting from x0 (projected into the box first).
LbfgsResult minimize_box(const Objective& f, Eigen::VectorXd x0, const Eigen::VectorXd& lower,
                         const Eigen::VectorXd& upper, const LbfgsOptions& opt = {});

}  // namespace ctflow::hpo
