#include "functions.hpp"

#include <cmath>

namespace ctflow::hpo::bench {

namespace {

double branin(const std::vector<double>& x) {
  const double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6, s = 10, t = 1 / (8 * M_PI);
  double q = x[1] - b * x[0] * x[0] + c * x[0] - r;
  return a * q * q + s * (1 - t) * std::cos(x[0]) + s;
}

double hartmann6(const std::vector<double>& x) {
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double P[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                 {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650},
                                 {4047, 8828, 8732, 5743, 1091, 381}};
  double sum = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) inner += A[i][j] * std::pow(x[j] - P[i][j] * 1e-4, 2);
    sum += alpha[i] * std::exp(-inner);
  }
  return -sum;
}

double rosenbrock(const std::vector<double>& x) {
  double s = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i)
    s += 100 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(1 - x[i], 2);
  return s;
}

double ackley(const std::vector<double>& x) {
  double s1 = 0, s2 = 0, n = static_cast<double>(x.size());
  for (double xi : x) {
    s1 += xi * xi;
    s2 += std::cos(2 * M_PI * xi);
  }
  return -20 * std::exp(-0.2 * std::sqrt(s1 / n)) - std::exp(s2 / n) + 20 + M_E;
}

}  // namespace

const std::vector<TestFunction>& test_functions() {
  static const std::vector<TestFunction> fns = {
      {"branin", {-5, 0}, {10, 15}, 0.397887357729738, branin},
      {"hartmann6", std::vector<double>(6, 0.0), std::vector<double>(6, 1.0), -3.32236801141551,
       hartmann6},
      {"rosenbrock4", std::vector<double>(4, -5.0), std::vector<double>(4, 10.0), 0.0, rosenbrock},
      {"ackley5", std::vector<double>(5, -32.768), std::vector<double>(5, 32.768), 0.0, ackley},
  };
  return fns;
}

}  // namespace ctflow::hpo::bench
