// Bayesian optimisation step: GP (gp.hpp) on unit-cube features, log EI (acquisition.hpp),
// kriging believer for pending trials, Sobol warm-up. See study.hpp for the contract.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "scheduler/hpo/acquisition.hpp"
#include "scheduler/hpo/gp.hpp"
#include "scheduler/hpo/lbfgs.hpp"
#include "scheduler/hpo/sobol.hpp"
#include "scheduler/hpo/study.hpp"
#include "scheduler/hpo/warp.hpp"

namespace ctflow::hpo::detail {

namespace {

constexpr int kSobolCandidates = 1024;  // global sweep of the acquisition
constexpr int kLocalPerIncumbent = 96;  // perturbations around each of the best points
constexpr int kIncumbents = 5;
constexpr int kRefineStarts = 5;  // best candidates refined by L-BFGS

// Warm-up length: enough points for a first ARD fit, bounded so that most of a small budget
// goes to the model.
size_t warmup(size_t dims) {
  return std::clamp<size_t>(dims + 1, 5, 10);
}

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Unit point -> GP features: one column per non-categorical dimension (its snapped coordinate)
// and a one-hot block per categorical.
class Features {
 public:
  explicit Features(const SearchSpace& s) : s_(s) {
    for (const auto& d : s.dims) {
      offset_.push_back(width_);
      width_ += d.type == DimType::Categorical ? static_cast<int>(d.values.size()) : 1;
    }
  }
  int width() const { return width_; }
  void write(const UnitPoint& u, Eigen::MatrixXd& X, Eigen::Index r) const {
    auto row = X.row(r);
    row.setZero();
    for (size_t i = 0; i < s_.dims.size(); ++i) {
      const Dimension& d = s_.dims[i];
      if (d.type == DimType::Categorical) {
        auto k = static_cast<double>(d.values.size());
        int idx = static_cast<int>(std::min(k - 1, std::floor(std::clamp(u[i], 0.0, 1.0) * k)));
        row[offset_[i] + idx] = 1;
      } else {
        row[offset_[i]] = snap(d, u[i]);
      }
    }
  }
  Eigen::MatrixXd rows(const std::vector<UnitPoint>& us) const {
    Eigen::MatrixXd X(static_cast<Eigen::Index>(us.size()), width_);
    for (size_t i = 0; i < us.size(); ++i) write(us[i], X, static_cast<Eigen::Index>(i));
    return X;
  }

 private:
  const SearchSpace& s_;
  std::vector<int> offset_;
  int width_ = 0;
};

UnitPoint snapped(const SearchSpace& s, UnitPoint u) {
  for (size_t i = 0; i < u.size(); ++i) u[i] = snap(s.dims[i], u[i]);
  return u;
}

bool same_point(const UnitPoint& a, const UnitPoint& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (std::fabs(a[i] - b[i]) > 1e-9) return false;
  return true;
}

class Acquisition {
 public:
  Acquisition(const GaussianProcess& gp, const Features& f, double best)
      : gp_(gp), f_(f), best_(best) {}
  Eigen::VectorXd operator()(const std::vector<UnitPoint>& us) const {
    Eigen::VectorXd mean, var;
    gp_.predict(f_.rows(us), mean, var);
    Eigen::VectorXd out(mean.size());
    for (Eigen::Index i = 0; i < mean.size(); ++i)
      out[i] = log_ei(mean[i], std::sqrt(var[i] + 1e-12), best_);
    return out;
  }

 private:
  const GaussianProcess& gp_;
  const Features& f_;
  double best_;
};

// Maximises the acquisition over the continuous coordinates of `start` (discrete ones fixed),
// with central-difference gradients evaluated as one batch.
std::pair<UnitPoint, double> refine(const SearchSpace& s, const Acquisition& acq,
                                    const UnitPoint& start, double start_score) {
  std::vector<size_t> cont;
  for (size_t i = 0; i < s.dims.size(); ++i)
    if (!cardinality(s.dims[i])) cont.push_back(i);
  if (cont.empty()) return {start, start_score};
  const double h = 1e-6;
  auto at = [&](const Eigen::VectorXd& z) {
    UnitPoint u = start;
    for (size_t j = 0; j < cont.size(); ++j) u[cont[j]] = std::clamp(z[j], 0.0, 1.0);
    return u;
  };
  Objective neg = [&](const Eigen::VectorXd& z, Eigen::VectorXd& g) {
    std::vector<UnitPoint> pts{at(z)};
    for (size_t j = 0; j < cont.size(); ++j) {
      Eigen::VectorXd zp = z, zm = z;
      zp[j] += h;
      zm[j] -= h;
      pts.push_back(at(zp));
      pts.push_back(at(zm));
    }
    Eigen::VectorXd v = acq(pts);
    for (size_t j = 0; j < cont.size(); ++j) {
      double dz = pts[2 * j + 1][cont[j]] - pts[2 * j + 2][cont[j]];
      g[j] = dz > 0 ? -(v[2 * j + 1] - v[2 * j + 2]) / dz : 0;
    }
    return -v[0];
  };
  Eigen::VectorXd z0(cont.size());
  for (size_t j = 0; j < cont.size(); ++j) z0[j] = start[cont[j]];
  LbfgsOptions opt;
  opt.max_iters = 30;
  opt.grad_tol = 1e-6;
  LbfgsResult r = minimize_box(neg, z0, Eigen::VectorXd::Zero(z0.size()),
                               Eigen::VectorXd::Ones(z0.size()), opt);
  if (!std::isfinite(r.f) || -r.f < start_score) return {start, start_score};
  return {at(r.x), -r.f};
}

}  // namespace

Suggestions bayes_suggest(const StudyConfig& c, const std::vector<EncodedTrial>& trials,
                          int count) {
  const SearchSpace& s = c.space;
  const size_t d = s.dims.size(), n_trials = trials.size();
  Sobol warm(d, c.seed);
  Features feat(s);

  std::vector<UnitPoint> obs_u, pending_u;
  std::vector<double> obs_y;
  for (const auto& t : trials) {
    if (t.y) {
      obs_u.push_back(snapped(s, t.u));
      obs_y.push_back(*t.y);
    } else if (t.state == TrialState::Pending) {
      pending_u.push_back(snapped(s, t.u));
    }
  }
  if (!obs_y.empty()) {  // failures count as the worst value seen
    double worst = *std::max_element(obs_y.begin(), obs_y.end());
    for (const auto& t : trials)
      if (!t.y && t.state != TrialState::Pending) {
        obs_u.push_back(snapped(s, t.u));
        obs_y.push_back(worst);
      }
  }

  Suggestions out;
  std::optional<GaussianProcess> gp;
  Eigen::MatrixXd X_obs;
  Eigen::VectorXd y_obs;
  double best = 0;
  for (int i = 0; i < count; ++i) {
    const size_t k = n_trials + static_cast<size_t>(i);
    UnitPoint choice;
    if (k < warmup(d) || obs_y.size() < 2) {
      choice = snapped(s, warm.point(k));
    } else {
      if (!gp) {  // fit once per call on the observations; pending points are believed
        X_obs = feat.rows(obs_u);
        y_obs = Eigen::Map<Eigen::VectorXd>(obs_y.data(), static_cast<Eigen::Index>(obs_y.size()));
        y_obs = warp_outputs(y_obs).y;  // see warp.hpp
        best = y_obs.minCoeff();
        GpFitOptions fo;
        fo.seed = mix(c.seed, n_trials);
        GpParams hp = fit_gp(X_obs, y_obs, fo);
        gp = GaussianProcess::condition(X_obs, y_obs, hp);
      }
      if (gp) {
        // Kriging believer: every pending point (trials and earlier suggestions of this call)
        // is added with the posterior mean as its value, shrinking the variance around it.
        std::vector<UnitPoint> all_u = obs_u;
        Eigen::VectorXd y_all = y_obs;
        if (!pending_u.empty()) {
          Eigen::VectorXd pm, pv;
          gp->predict(feat.rows(pending_u), pm, pv);
          all_u.insert(all_u.end(), pending_u.begin(), pending_u.end());
          y_all.conservativeResize(y_obs.size() + pm.size());
          y_all.tail(pm.size()) = pm;
        }
        auto believed = GaussianProcess::condition(feat.rows(all_u), y_all, gp->params());
        if (believed) {
          Acquisition acq(*believed, feat, best);
          std::mt19937_64 rng(mix(c.seed ^ 0x5bd1e995ull, k));
          auto unif = [&] { return static_cast<double>(rng() >> 11) * 0x1p-53; };
          auto normal = [&] {
            double u1 = std::max(unif(), 1e-300), u2 = unif();
            return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
          };
          std::vector<UnitPoint> cand;
          Sobol sweep(d, mix(c.seed, k));
          for (int j = 0; j < kSobolCandidates; ++j) cand.push_back(snapped(s, sweep.point(j)));
          std::vector<size_t> order(obs_y.size());
          std::iota(order.begin(), order.end(), 0);
          std::sort(order.begin(), order.end(),
                    [&](size_t a, size_t b) { return obs_y[a] < obs_y[b]; });
          for (size_t r = 0; r < order.size() && r < kIncumbents; ++r) {
            for (int j = 0; j < kLocalPerIncumbent; ++j) {
              double sigma = std::exp(std::log(0.002) + unif() * (std::log(0.3) - std::log(0.002)));
              double p_move = std::min(1.0, 4.0 / static_cast<double>(d));
              UnitPoint u = obs_u[order[r]];
              bool moved = false;
              for (size_t q = 0; q < d; ++q)
                if (unif() < p_move || (q == d - 1 && !moved)) {
                  u[q] = std::clamp(u[q] + sigma * normal(), 0.0, 1.0);
                  moved = true;
                }
              cand.push_back(snapped(s, u));
            }
          }
          Eigen::VectorXd score = acq(cand);
          std::vector<size_t> idx(cand.size());
          std::iota(idx.begin(), idx.end(), 0);
          std::stable_sort(idx.begin(), idx.end(),
                           [&](size_t a, size_t b) { return score[a] > score[b]; });
          std::vector<std::pair<UnitPoint, double>> refined;
          for (size_t j = 0; j < idx.size() && static_cast<int>(j) < kRefineStarts; ++j)
            refined.push_back(refine(s, acq, cand[idx[j]], score[idx[j]]));
          for (size_t j = kRefineStarts; j < idx.size(); ++j)
            refined.emplace_back(cand[idx[j]], score[idx[j]]);
          std::stable_sort(refined.begin(), refined.end(),
                           [](const auto& a, const auto& b) { return a.second > b.second; });
          for (auto& [u, sc] : refined) {
            UnitPoint su = snapped(s, u);
            auto dup = [&](const UnitPoint& o) { return same_point(o, su); };
            if (std::none_of(obs_u.begin(), obs_u.end(), dup) &&
                std::none_of(pending_u.begin(), pending_u.end(), dup)) {
              choice = std::move(su);
              break;
            }
          }
        }
      }
      if (choice.empty()) choice = snapped(s, warm.point(k));  // no model or all candidates taken
    }
    pending_u.push_back(choice);
    out.suggestions.push_back({decode_point(s, choice)});
  }
  return out;
}

}  // namespace ctflow::hpo::detail
