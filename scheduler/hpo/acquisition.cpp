#include "scheduler/hpo/acquisition.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ctflow::hpo {

namespace {
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))
constexpr double kSqrtHalfPi = 1.25331413731550025121;  // sqrt(pi / 2)
constexpr double kSqrt2 = 1.41421356237309504880;

// erfcx(x) = exp(x^2) erfc(x) for 0 <= x <= ~8 (used only there: both factors are finite and
// erfc keeps full relative accuracy, so the product is accurate to a few ulps times x^2).
double erfcx_moderate(double x) {
  return std::exp(x * x) * std::erfc(x);
}
}  // namespace

double normal_pdf(double z) {
  return std::exp(-0.5 * z * z - kLogSqrt2Pi);
}
double normal_cdf(double z) {
  return 0.5 * std::erfc(-z / kSqrt2);
}

double log_h(double z) {
  if (z > -1) return std::log(normal_pdf(z) + z * normal_cdf(z));
  const double x = -z;
  const double log_phi = -0.5 * x * x - kLogSqrt2Pi;
  if (x <= 10) {
    const double xr = x * kSqrtHalfPi * erfcx_moderate(x / kSqrt2);  // x R(x), in (0.65, 1)
    return log_phi + std::log1p(-xr);
  }
  if (!std::isfinite(log_phi)) return -std::numeric_limits<double>::infinity();
  const double inv = 1.0 / (x * x);
  double term = inv, sum = 0;
  for (int k = 1; k < 200; ++k) {
    sum += term;
    double next = -term * (2 * k + 1) * inv;
    if (std::fabs(next) >= std::fabs(term) || std::fabs(next) < 1e-17 * sum) break;
    term = next;
  }
  return log_phi + std::log(sum);
}

double log_ei(double mu, double sigma, double best) {
  sigma = std::max(sigma, 1e-12);
  return std::log(sigma) + log_h((best - mu) / sigma);
}

}  // namespace ctflow::hpo
