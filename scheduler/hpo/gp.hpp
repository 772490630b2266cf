#pragma once
// Gaussian-process regression with a Matern 5/2 ARD kernel and a zero mean (callers standardise
// targets first), used by the Bayesian optimiser on unit-cube features.
//
//   k(a, b) = s2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r),  r^2 = sum_i ((a_i - b_i) / l_i)^2,
//   y = f(x) + N(0, n2).
// Hyperparameters live in log space, packed as theta = [log l_1..log l_p, log s2, log n2].
// Conditioning factors K + n2 I with Eigen's LLT; if that fails (near-duplicate points with tiny
// noise), jitter starting at 1e-10 * s2 is added and grown tenfold until it succeeds. Fitting
// maximises the log marginal likelihood (with analytic gradients) by multi-start box L-BFGS,
// started from the best of the defaults and a likelihood-screened random sample.
// A GaussianProcess is immutable after construction; const methods are thread-safe.
#include <Eigen/Dense>

#include <cstdint>
#include <optional>

namespace ctflow::hpo {

struct GpParams {
  Eigen::VectorXd log_ls;  // per-feature log lengthscale
  double log_signal = 0;   // log s2
  double log_noise = -4;   // log n2

  Eigen::VectorXd pack() const;
  static GpParams unpack(const Eigen::VectorXd& theta);
};

// Matern 5/2 ARD kernel matrix between the rows of A and the rows of B.
Eigen::MatrixXd matern52(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B, const GpParams& p);

class GaussianProcess {
 public:
  // Conditions on rows of X (n x p) with targets y; nullopt only if even large jitter fails
  // (non-finite inputs).
  static std::optional<GaussianProcess> condition(Eigen::MatrixXd X, Eigen::VectorXd y,
                                                  const GpParams& p);

  // Posterior mean and variance of the latent f at each row of Xs (variance clamped >= 0).
  void predict(const Eigen::MatrixXd& Xs, Eigen::VectorXd& mean, Eigen::VectorXd& var) const;

  double log_marginal_likelihood() const;
  const GpParams& params() const { return p_; }
  double jitter() const { return jitter_; }
  const Eigen::MatrixXd& X() const { return X_; }
  const Eigen::VectorXd& y() const { return y_; }

 private:
  GaussianProcess() = default;
  Eigen::MatrixXd X_;
  Eigen::VectorXd y_;
  GpParams p_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  Eigen::VectorXd alpha_;  // (K + n2 I)^-1 y
  double jitter_ = 0;
};

// Log marginal likelihood at theta and its gradient (NaN value if the factorisation fails).
double log_marginal_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                               const Eigen::VectorXd& theta, Eigen::VectorXd* grad);

struct GpFitOptions {
  int screen = 24;     // random hyperparameter vectors scored by likelihood before L-BFGS
  int restarts = 2;    // L-BFGS runs, from the best-scoring of the defaults and the screened
  int max_iters = 60;  // per run
  uint64_t seed = 0;
  double min_log_ls = std::log(0.01), max_log_ls = std::log(20.0);
  double min_log_signal = std::log(0.05), max_log_signal = std::log(20.0);
  double min_log_noise = std::log(1e-6), max_log_noise = std::log(1.0);
};

// Maximises the log marginal likelihood over the box in `opt`; returns the best optimum found
// (the defaults if every start failed).
GpParams fit_gp(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const GpFitOptions& opt);

}  // namespace ctflow::hpo
