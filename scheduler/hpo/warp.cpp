#include "scheduler/hpo/warp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace ctflow::hpo {

double box_cox(double x, double lambda) {
  return std::fabs(lambda) < 1e-12 ? std::log(x) : std::expm1(lambda * std::log(x)) / lambda;
}

namespace {
// z-scores v in place; false if v is constant.
bool standardize(Eigen::VectorXd& v) {
  double mu = v.mean();
  double sd = std::sqrt((v.array() - mu).square().mean());
  if (!(sd > 1e-300) || !std::isfinite(sd)) {
    v.setZero();
    return false;
  }
  v = (v.array() - mu) / sd;
  return true;
}

// Gaussian profile log-likelihood of box_cox(u, lambda), including the Jacobian term.
double profile_ll(const Eigen::VectorXd& u, double sum_log_u, double lambda) {
  Eigen::VectorXd t = u.unaryExpr([lambda](double x) { return box_cox(x, lambda); });
  double var = (t.array() - t.mean()).square().mean();
  if (!(var > 0) || !std::isfinite(var)) return -std::numeric_limits<double>::infinity();
  return -0.5 * static_cast<double>(u.size()) * std::log(var) + (lambda - 1) * sum_log_u;
}
}  // namespace

Warped warp_outputs(const Eigen::VectorXd& y) {
  Warped w;
  w.y = y;
  if (!standardize(w.y) || y.size() < 3) return w;  // constant, or too few values to choose
  // Work on the z-scores: same warp (it is scale and shift invariant), better conditioned.
  const Eigen::VectorXd& z = w.y;
  std::vector<double> sorted(z.data(), z.data() + z.size());
  std::sort(sorted.begin(), sorted.end());
  const double lo = sorted.front(), med = sorted[sorted.size() / 2], hi = sorted.back();
  w.delta = 0.1 * (med > lo ? med - lo : hi - lo);
  Eigen::VectorXd u = (z.array() - lo + w.delta).matrix();
  const double sum_log_u = u.array().log().sum();
  double best_l = 1, best_ll = profile_ll(u, sum_log_u, 1);
  for (int i = 0; i <= 30; ++i) {
    double l = -1 + 0.1 * i, ll = profile_ll(u, sum_log_u, l);
    if (ll > best_ll) best_ll = ll, best_l = l;
  }
  // Golden-section polish around the best grid point (the profile is smooth there).
  double a = std::max(-1.0, best_l - 0.1), b = std::min(2.0, best_l + 0.1);
  const double g = 0.6180339887498949;
  for (int it = 0; it < 20; ++it) {
    double c = b - g * (b - a), d = a + g * (b - a);
    if (profile_ll(u, sum_log_u, c) > profile_ll(u, sum_log_u, d))
      b = d;
    else
      a = c;
  }
  const double polished = 0.5 * (a + b);
  if (profile_ll(u, sum_log_u, polished) > best_ll) best_l = polished;
  w.lambda = best_l;
  w.y = u.unaryExpr([&](double x) { return box_cox(x, best_l); });
  standardize(w.y);
  return w;
}

}  // namespace ctflow::hpo
