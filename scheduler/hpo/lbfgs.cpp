#include "scheduler/hpo/lbfgs.hpp"

#include <cmath>
#include <deque>

namespace ctflow::hpo {

namespace {

Eigen::VectorXd project(const Eigen::VectorXd& x, const Eigen::VectorXd& lo,
                        const Eigen::VectorXd& hi) {
  return x.cwiseMax(lo).cwiseMin(hi);
}

// Gradient components that could still move x inside the box (others are zeroed).
Eigen::VectorXd free_gradient(const Eigen::VectorXd& x, const Eigen::VectorXd& g,
                              const Eigen::VectorXd& lo, const Eigen::VectorXd& hi) {
  Eigen::VectorXd pg = g;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    if ((x[i] <= lo[i] && g[i] > 0) || (x[i] >= hi[i] && g[i] < 0)) pg[i] = 0;
  }
  return pg;
}

}  // namespace

LbfgsResult minimize_box(const Objective& f, Eigen::VectorXd x0, const Eigen::VectorXd& lower,
                         const Eigen::VectorXd& upper, const LbfgsOptions& opt) {
  LbfgsResult r;
  r.x = project(x0, lower, upper);
  Eigen::VectorXd g(r.x.size());
  r.f = f(r.x, g);
  r.evals = 1;
  if (!std::isfinite(r.f) || !g.allFinite()) return r;
  std::deque<std::pair<Eigen::VectorXd, Eigen::VectorXd>> mem;  // (s, y) pairs, newest last
  for (r.iters = 0; r.iters < opt.max_iters; ++r.iters) {
    Eigen::VectorXd pg = free_gradient(r.x, g, lower, upper);
    if (pg.lpNorm<Eigen::Infinity>() < opt.grad_tol) break;
    // Two-loop recursion on the free gradient.
    Eigen::VectorXd q = pg;
    std::vector<double> alpha(mem.size());
    for (size_t i = mem.size(); i-- > 0;) {
      const auto& [s, y] = mem[i];
      alpha[i] = s.dot(q) / y.dot(s);
      q -= alpha[i] * y;
    }
    double gamma = 1.0;
    if (!mem.empty())
      gamma = mem.back().first.dot(mem.back().second) / mem.back().second.squaredNorm();
    Eigen::VectorXd d = gamma * q;
    for (size_t i = 0; i < mem.size(); ++i) {
      const auto& [s, y] = mem[i];
      double beta = y.dot(d) / y.dot(s);
      d += s * (alpha[i] - beta);
    }
    d = -d;
    for (Eigen::Index i = 0; i < d.size(); ++i)
      if (pg[i] == 0) d[i] = 0;
    if (!(d.dot(pg) < 0)) {  // not a descent direction: fall back to steepest descent
      d = -pg;
      mem.clear();
    }
    if (mem.empty()) d *= 1.0 / std::max(1.0, d.lpNorm<Eigen::Infinity>());
    // Backtracking Armijo along the projected path.
    double t = 1.0, fn = 0;
    Eigen::VectorXd xn, gn(r.x.size());
    bool accepted = false;
    for (int ls = 0; ls < 30; ++ls, t *= 0.5) {
      xn = project(r.x + t * d, lower, upper);
      fn = f(xn, gn);
      ++r.evals;
      if (std::isfinite(fn) && gn.allFinite() && fn <= r.f + 1e-4 * pg.dot(xn - r.x)) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;
    Eigen::VectorXd s = xn - r.x, y = gn - g;
    double decrease = r.f - fn;
    r.x = xn;
    r.f = fn;
    g = gn;
    if (s.dot(y) > 1e-12 * y.squaredNorm()) {
      mem.emplace_back(s, y);
      if (static_cast<int>(mem.size()) > opt.memory) mem.pop_front();
    }
    if (decrease < opt.rel_tol * (std::fabs(r.f) + 1)) break;
  }
  return r;
}

}  // namespace ctflow::hpo
