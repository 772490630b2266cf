// GP posterior checked against numbers computed independently (plain Python: Gaussian
// elimination on the same Matern 5/2 kernel matrix; see the commit that added this file).
#include <catch2/catch.hpp>

#include "scheduler/hpo/gp.hpp"
#include "scheduler/hpo/lbfgs.hpp"
#include "scheduler/hpo/warp.hpp"

using namespace ctflow::hpo;

namespace {
GpParams params(std::vector<double> ls, double s2, double n2) {
  GpParams p;
  p.log_ls = Eigen::Map<Eigen::VectorXd>(ls.data(), ls.size()).array().log();
  p.log_signal = std::log(s2);
  p.log_noise = std::log(n2);
  return p;
}
}  // namespace

TEST_CASE("GP posterior mean and variance match a hand-checked 1-d case", "[hpo][gp]") {
  Eigen::MatrixXd X(3, 1), T(4, 1);
  X << 0.1, 0.5, 0.9;
  T << 0.3, 0.7, 2.0, 0.5;
  Eigen::VectorXd y(3);
  y << 1.0, -0.5, 0.3;
  auto gp = GaussianProcess::condition(X, y, params({0.3}, 1.5, 0.01));
  REQUIRE(gp);
  Eigen::VectorXd m, v;
  gp->predict(T, m, v);
  const double em[4] = {0.218066829383601, -0.212265079151693, 0.0048632155087544,
                        -0.491929169787356};
  const double ev[4] = {0.32087356498839, 0.32087356498839, 1.49987812560326, 0.00991358768520678};
  for (int i = 0; i < 4; ++i) {
    CHECK(m[i] == Approx(em[i]).epsilon(1e-10));
    CHECK(v[i] == Approx(ev[i]).epsilon(1e-10));
  }
  CHECK(gp->log_marginal_likelihood() == Approx(-3.96988072479172).epsilon(1e-10));
}

TEST_CASE("GP posterior matches a hand-checked 2-d ARD case", "[hpo][gp]") {
  Eigen::MatrixXd X(4, 2), T(2, 2);
  X << 0.1, 0.2, 0.4, 0.9, 0.8, 0.5, 0.3, 0.3;
  T << 0.2, 0.25, 0.6, 0.6;
  Eigen::VectorXd y(4);
  y << 0.5, -1.0, 2.0, 0.1;
  auto gp = GaussianProcess::condition(X, y, params({0.5, 0.2}, 0.8, 1e-3));
  REQUIRE(gp);
  Eigen::VectorXd m, v;
  gp->predict(T, m, v);
  CHECK(m[0] == Approx(0.244620828713911).epsilon(1e-9));
  CHECK(v[0] == Approx(0.0196416552571558).epsilon(1e-9));
  CHECK(m[1] == Approx(1.25146294198415).epsilon(1e-9));
  CHECK(v[1] == Approx(0.330607203490816).epsilon(1e-9));
  CHECK(gp->log_marginal_likelihood() == Approx(-7.02924369574149).epsilon(1e-10));
}

TEST_CASE("log marginal likelihood gradient matches finite differences", "[hpo][gp]") {
  Eigen::MatrixXd X = Eigen::MatrixXd::Random(12, 3).array().abs();
  Eigen::VectorXd y = (X.col(0).array() * 3).sin() + X.col(1).array().square();
  Eigen::VectorXd theta(5);
  theta << -1.0, -0.3, 0.4, 0.2, -3.0;
  Eigen::VectorXd g;
  log_marginal_likelihood(X, y, theta, &g);
  for (int i = 0; i < 5; ++i) {
    Eigen::VectorXd tp = theta, tm = theta;
    tp[i] += 1e-5;
    tm[i] -= 1e-5;
    double fd =
        (log_marginal_likelihood(X, y, tp, nullptr) - log_marginal_likelihood(X, y, tm, nullptr)) /
        2e-5;
    CHECK(g[i] == Approx(fd).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("fitting raises the likelihood and finds the irrelevant dimension", "[hpo][gp]") {
  Eigen::MatrixXd X = (Eigen::MatrixXd::Random(30, 2).array() + 1) / 2;
  Eigen::VectorXd y = (X.col(0).array() * 6).sin();  // ignores column 1
  GpFitOptions opt;
  GpParams p = fit_gp(X, y, opt);
  GpParams def = params({0.5, 0.5}, 1, 1e-3);
  CHECK(log_marginal_likelihood(X, y, p.pack(), nullptr) >
        log_marginal_likelihood(X, y, def.pack(), nullptr));
  CHECK(p.log_ls[1] > p.log_ls[0] + 1);  // the unused input gets a much longer lengthscale
}

TEST_CASE("duplicate points and equal values give finite predictions", "[hpo][gp]") {
  Eigen::MatrixXd X(4, 2);
  X << 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.2, 0.9;
  Eigen::VectorXd y = Eigen::VectorXd::Zero(4);
  GpParams p = fit_gp(X, y, {});
  auto gp = GaussianProcess::condition(X, y, params({0.3, 0.3}, 1.0, 1e-12));  // near-singular
  REQUIRE(gp);
  Eigen::VectorXd m, v;
  gp->predict(X, m, v);
  CHECK(m.allFinite());
  CHECK(v.allFinite());
  CHECK(p.pack().allFinite());
}

TEST_CASE("box L-BFGS minimises a bounded Rosenbrock", "[hpo][lbfgs]") {
  Objective f = [](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    g[0] = -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] * x[0]);
    g[1] = 200 * (x[1] - x[0] * x[0]);
    return std::pow(1 - x[0], 2) + 100 * std::pow(x[1] - x[0] * x[0], 2);
  };
  LbfgsOptions opt;
  opt.max_iters = 500;
  auto free = minimize_box(f, Eigen::Vector2d(-1.2, 1), Eigen::Vector2d(-5, -5),
                           Eigen::Vector2d(5, 5), opt);
  CHECK(free.x[0] == Approx(1).margin(1e-3));
  CHECK(free.x[1] == Approx(1).margin(1e-3));
  // With x0 <= 0.5 the optimum sits on the bound: (0.5, 0.25).
  auto bounded = minimize_box(f, Eigen::Vector2d(-1.2, 1), Eigen::Vector2d(-5, -5),
                              Eigen::Vector2d(0.5, 5), opt);
  CHECK(bounded.x[0] == Approx(0.5).margin(1e-6));
  CHECK(bounded.x[1] == Approx(0.25).margin(1e-3));
}

TEST_CASE("output warping is monotone, logs heavy tails, leaves constants at zero", "[hpo][warp]") {
  Eigen::VectorXd heavy(8);
  heavy << 3, 10, 50, 400, 2000, 9000, 40000, 900000;
  Warped w = warp_outputs(heavy);
  for (int i = 1; i < 8; ++i) CHECK(w.y[i] > w.y[i - 1]);
  CHECK(std::fabs(w.lambda) < 0.5);  // close to a log
  // The two best values stay distinguishable: plain z-scoring leaves them 2e-5 apart.
  double sd = std::sqrt((heavy.array() - heavy.mean()).square().mean());
  CHECK((heavy[1] - heavy[0]) / sd < 1e-4);
  CHECK(w.y[1] - w.y[0] > 0.01);
  CHECK(warp_outputs(Eigen::VectorXd::Constant(5, 2.0)).y == Eigen::VectorXd::Zero(5));
  Eigen::VectorXd flat(6);
  flat << 1, 2, 3, 4, 5, 6;
  CHECK(warp_outputs(flat).lambda > 0.5);  // already Gaussian-like: nearly affine
}
