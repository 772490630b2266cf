#include "scheduler/hpo/gp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "scheduler/hpo/lbfgs.hpp"

namespace ctflow::hpo {

namespace {
constexpr double kSqrt5 = 2.23606797749978969641;
constexpr double kLog2Pi = 1.83787706640934548356;

// Scaled squared distances r^2 between rows of A and B.
Eigen::MatrixXd scaled_sq_dist(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B,
                               const Eigen::VectorXd& inv_ls) {
  Eigen::MatrixXd As = A * inv_ls.asDiagonal(), Bs = B * inv_ls.asDiagonal();
  Eigen::MatrixXd d2 = (-2.0 * As * Bs.transpose()).colwise() + As.rowwise().squaredNorm();
  d2.rowwise() += Bs.rowwise().squaredNorm().transpose();
  return d2.cwiseMax(0.0);
}

// Factors K, adding growing jitter to a copy on failure. Returns the jitter used or NaN.
double factor(const Eigen::MatrixXd& K, Eigen::LLT<Eigen::MatrixXd>& llt, double scale) {
  double jitter = 0;
  for (int attempt = 0; attempt < 12; ++attempt) {
    if (jitter == 0) {
      llt.compute(K);
    } else {
      Eigen::MatrixXd Kj = K;
      Kj.diagonal().array() += jitter;
      llt.compute(Kj);
    }
    if (llt.info() == Eigen::Success && (llt.matrixLLT().diagonal().array() > 0).all())
      return jitter;
    jitter = jitter == 0 ? 1e-10 * scale : jitter * 10;
  }
  return std::numeric_limits<double>::quiet_NaN();
}
}  // namespace

Eigen::VectorXd GpParams::pack() const {
  Eigen::VectorXd t(log_ls.size() + 2);
  t << log_ls, log_signal, log_noise;
  return t;
}

GpParams GpParams::unpack(const Eigen::VectorXd& theta) {
  GpParams p;
  Eigen::Index n = theta.size() - 2;
  p.log_ls = theta.head(n);
  p.log_signal = theta[n];
  p.log_noise = theta[n + 1];
  return p;
}

Eigen::MatrixXd matern52(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B, const GpParams& p) {
  Eigen::ArrayXXd r = scaled_sq_dist(A, B, (-p.log_ls).array().exp().matrix()).array().sqrt();
  return (std::exp(p.log_signal) * (1 + kSqrt5 * r + (5.0 / 3.0) * r.square()) *
          (-kSqrt5 * r).exp())
      .matrix();
}

std::optional<GaussianProcess> GaussianProcess::condition(Eigen::MatrixXd X, Eigen::VectorXd y,
                                                          const GpParams& p) {
  GaussianProcess gp;
  Eigen::MatrixXd K = matern52(X, X, p);
  K.diagonal().array() += std::exp(p.log_noise);
  gp.jitter_ = factor(K, gp.llt_, std::exp(p.log_signal));
  if (!std::isfinite(gp.jitter_)) return std::nullopt;
  gp.X_ = std::move(X);
  gp.y_ = std::move(y);
  gp.p_ = p;
  gp.alpha_ = gp.llt_.solve(gp.y_);
  if (!gp.alpha_.allFinite()) return std::nullopt;
  return gp;
}

void GaussianProcess::predict(const Eigen::MatrixXd& Xs, Eigen::VectorXd& mean,
                              Eigen::VectorXd& var) const {
  Eigen::MatrixXd Ks = matern52(X_, Xs, p_);  // n x m
  mean = Ks.transpose() * alpha_;
  Eigen::MatrixXd V = llt_.matrixL().solve(Ks);
  var = (std::exp(p_.log_signal) - V.colwise().squaredNorm().array()).cwiseMax(0.0).matrix();
}

double GaussianProcess::log_marginal_likelihood() const {
  double n = static_cast<double>(y_.size());
  return -0.5 * y_.dot(alpha_) - llt_.matrixLLT().diagonal().array().log().sum() -
         0.5 * n * kLog2Pi;
}

double log_marginal_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                               const Eigen::VectorXd& theta, Eigen::VectorXd* grad) {
  const GpParams p = GpParams::unpack(theta);
  const Eigen::Index n = X.rows(), dims = X.cols();
  const double s2 = std::exp(p.log_signal), n2 = std::exp(p.log_noise);
  // Scaled inputs, then one pass over the lower triangle for the kernel and the factor
  // B = s2 (5/3)(1 + sqrt5 r) exp(-sqrt5 r) that every lengthscale derivative shares:
  // d k / d log l_i = B (dx_i / l_i)^2.
  const Eigen::MatrixXd Xs = X * (-p.log_ls).array().exp().matrix().asDiagonal();
  Eigen::MatrixXd K(n, n), B(n, n);
  for (Eigen::Index b = 0; b < n; ++b) {
    for (Eigen::Index a = b; a < n; ++a) {
      double r = std::sqrt((Xs.row(a) - Xs.row(b)).squaredNorm());
      double e = std::exp(-kSqrt5 * r);
      K(a, b) = K(b, a) = s2 * (1 + kSqrt5 * r + (5.0 / 3.0) * r * r) * e;
      B(a, b) = B(b, a) = s2 * (5.0 / 3.0) * (1 + kSqrt5 * r) * e;
    }
  }
  Eigen::MatrixXd Ky = K;
  Ky.diagonal().array() += n2;
  Eigen::LLT<Eigen::MatrixXd> llt;
  double jitter = factor(Ky, llt, s2);
  if (!std::isfinite(jitter)) return std::numeric_limits<double>::quiet_NaN();
  Eigen::VectorXd alpha = llt.solve(y);
  double lml = -0.5 * y.dot(alpha) - llt.matrixLLT().diagonal().array().log().sum() -
               0.5 * static_cast<double>(n) * kLog2Pi;
  if (!grad) return lml;
  // dLML/dtheta_j = 0.5 tr(W dK/dtheta_j), W = alpha alpha^T - K^-1 (symmetric).
  Eigen::MatrixXd Linv = llt.matrixL().solve(Eigen::MatrixXd::Identity(n, n));
  Eigen::MatrixXd W = alpha * alpha.transpose();
  W.noalias() -= Linv.transpose() * Linv;
  grad->setZero(theta.size());
  for (Eigen::Index b = 0; b < n; ++b) {
    for (Eigen::Index a = b + 1; a < n; ++a) {  // diagonal terms of dK/dlog l are zero
      double wb = W(a, b) * B(a, b);            // counted twice: (a,b) and (b,a)
      for (Eigen::Index i = 0; i < dims; ++i) {
        double d = Xs(a, i) - Xs(b, i);
        (*grad)[i] += wb * d * d;
      }
    }
  }
  (*grad)[dims] = 0.5 * (W.array() * K.array()).sum();
  (*grad)[dims + 1] = 0.5 * n2 * W.trace();
  return lml;
}

GpParams fit_gp(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const GpFitOptions& opt) {
  const Eigen::Index dims = X.cols();
  Eigen::VectorXd lo(dims + 2), hi(dims + 2);
  lo << Eigen::VectorXd::Constant(dims, opt.min_log_ls), opt.min_log_signal, opt.min_log_noise;
  hi << Eigen::VectorXd::Constant(dims, opt.max_log_ls), opt.max_log_signal, opt.max_log_noise;
  GpParams def;
  def.log_ls =
      Eigen::VectorXd::Constant(dims, std::log(0.5 * std::sqrt(static_cast<double>(dims))));
  def.log_signal = 0;
  def.log_noise = std::log(1e-3);
  Objective neg = [&](const Eigen::VectorXd& t, Eigen::VectorXd& g) {
    double v = log_marginal_likelihood(X, y, t, &g);
    g = -g;
    return -v;
  };
  std::mt19937_64 rng(opt.seed);
  auto uniform = [&](double a, double b) {
    return a + (b - a) * static_cast<double>(rng() >> 11) * 0x1p-53;
  };
  // Screening: the default and `screen` random points of a central box are scored by the
  // likelihood alone (one Cholesky each); L-BFGS then starts from the `restarts` best. Cheaper
  // than running L-BFGS from every random start, and it still escapes a poor default basin.
  std::vector<std::pair<double, Eigen::VectorXd>> starts;
  starts.emplace_back(log_marginal_likelihood(X, y, def.pack(), nullptr), def.pack());
  for (int s = 0; s < opt.screen; ++s) {
    Eigen::VectorXd t(dims + 2);
    for (Eigen::Index i = 0; i < dims; ++i) t[i] = uniform(std::log(0.05), std::log(4.0));
    t[dims] = uniform(-1, 1);
    t[dims + 1] = uniform(std::log(1e-6), std::log(0.1));
    starts.emplace_back(log_marginal_likelihood(X, y, t, nullptr), t);
  }
  for (auto& st : starts)
    if (!std::isfinite(st.first)) st.first = -std::numeric_limits<double>::infinity();
  std::stable_sort(starts.begin(), starts.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  Eigen::VectorXd best = def.pack();
  double best_f = std::numeric_limits<double>::infinity();
  LbfgsOptions lo_opt;
  lo_opt.max_iters = opt.max_iters;
  lo_opt.grad_tol = 1e-3;  // hyperparameters need no more digits than this
  lo_opt.rel_tol = 1e-7;
  for (int s = 0; s < std::max(1, opt.restarts) && s < static_cast<int>(starts.size()); ++s) {
    LbfgsResult r = minimize_box(neg, starts[s].second, lo, hi, lo_opt);
    if (std::isfinite(r.f) && r.f < best_f) {
      best_f = r.f;
      best = r.x;
    }
  }
  return GpParams::unpack(best);
}

}  // namespace ctflow::hpo
