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
constexpr int kRefineStarts = 5;      // best candidates refined by L-BFGS
constexpr size_t kMaxGpPoints = 300;  // observations the GP is fit on (see collect)

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

struct Observations {
  std::vector<UnitPoint> u;  // snapped points with a value (failures imputed)
  std::vector<double> y;     // lower is better
  std::vector<UnitPoint> pending;
};

// Completed and pruned trials with their values, failures at the worst value seen, pending
// points apart. Beyond kMaxGpPoints observations (the GP fit is cubic in their number) the best
// half and the most recent rest are kept: the model stays accurate where EI looks.
Observations collect(const SearchSpace& s, const std::vector<EncodedTrial>& trials) {
  Observations o;
  std::vector<size_t> failed;
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    if (t.y) {
      o.u.push_back(snapped(s, t.u));
      o.y.push_back(*t.y);
    } else if (t.state == TrialState::Pending) {
      o.pending.push_back(snapped(s, t.u));
    } else {
      failed.push_back(i);
    }
  }
  if (!o.y.empty()) {
    double worst = *std::max_element(o.y.begin(), o.y.end());
    for (size_t i : failed) {
      o.u.push_back(snapped(s, trials[i].u));
      o.y.push_back(worst);
    }
  }
  if (o.y.size() > kMaxGpPoints) {
    std::vector<size_t> idx(o.y.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return o.y[a] < o.y[b]; });
    std::vector<bool> keep(o.y.size(), false);
    for (size_t j = 0; j < kMaxGpPoints / 2; ++j) keep[idx[j]] = true;
    size_t kept = kMaxGpPoints / 2;
    for (size_t j = o.y.size(); j-- > 0 && kept < kMaxGpPoints;)
      if (!keep[j]) keep[j] = true, ++kept;
    Observations c;
    for (size_t j = 0; j < o.y.size(); ++j)
      if (keep[j]) c.u.push_back(o.u[j]), c.y.push_back(o.y[j]);
    c.pending = std::move(o.pending);
    o = std::move(c);
  }
  if (o.pending.size() > kMaxGpPoints / 2)
    o.pending.erase(o.pending.begin(), o.pending.end() - kMaxGpPoints / 2);
  return o;
}

// Candidates for the acquisition: a scrambled Sobol sweep of the cube plus perturbations of the
// best observations (a few coordinates each, log-uniform scale 0.002..0.3), all snapped.
std::vector<UnitPoint> candidates(const SearchSpace& s, const Observations& o, uint64_t seed,
                                  size_t k) {
  const size_t d = s.dims.size();
  std::vector<UnitPoint> cand;
  Sobol sweep(d, mix(seed, k));
  for (int j = 0; j < kSobolCandidates; ++j) cand.push_back(snapped(s, sweep.point(j)));
  std::mt19937_64 rng(mix(seed ^ 0x5bd1e995ull, k));
  auto unif = [&] { return static_cast<double>(rng() >> 11) * 0x1p-53; };
  auto normal = [&] {  // Box-Muller on the raw engine: identical on every platform
    double u1 = std::max(unif(), 1e-300), u2 = unif();
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  };
  std::vector<size_t> order(o.y.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return o.y[a] < o.y[b]; });
  const double p_move = std::min(1.0, 4.0 / static_cast<double>(d));
  for (size_t r = 0; r < order.size() && r < kIncumbents; ++r) {
    for (int j = 0; j < kLocalPerIncumbent; ++j) {
      double sigma = std::exp(std::log(0.002) + unif() * (std::log(0.3) - std::log(0.002)));
      UnitPoint u = o.u[order[r]];
      bool moved = false;
      for (size_t q = 0; q < d; ++q)
        if (unif() < p_move || (q == d - 1 && !moved)) {
          u[q] = std::clamp(u[q] + sigma * normal(), 0.0, 1.0);
          moved = true;
        }
      cand.push_back(snapped(s, u));
    }
  }
  return cand;
}

// The best point by the acquisition that is not already taken (observed or pending): the top
// kRefineStarts candidates are refined first; nullopt if every candidate is taken.
std::optional<UnitPoint> maximise(const SearchSpace& s, const Acquisition& acq,
                                  const std::vector<UnitPoint>& cand, const Observations& o) {
  Eigen::VectorXd score = acq(cand);
  std::vector<size_t> idx(cand.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  std::vector<std::pair<UnitPoint, double>> ranked;
  for (size_t j = 0; j < idx.size(); ++j)
    ranked.push_back(static_cast<int>(j) < kRefineStarts
                         ? refine(s, acq, cand[idx[j]], score[idx[j]])
                         : std::make_pair(cand[idx[j]], score[idx[j]]));
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (auto& [u, sc] : ranked) {
    UnitPoint su = snapped(s, u);
    auto dup = [&](const UnitPoint& x) { return same_point(x, su); };
    if (std::none_of(o.u.begin(), o.u.end(), dup) &&
        std::none_of(o.pending.begin(), o.pending.end(), dup))
      return su;
  }
  return std::nullopt;
}

}  // namespace

Suggestions bayes_suggest(const StudyConfig& c, const std::vector<EncodedTrial>& trials,
                          int count) {
  const SearchSpace& s = c.space;
  const size_t d = s.dims.size(), n_trials = trials.size();
  const Sobol warm(d, c.seed);
  const Features feat(s);
  Observations obs = collect(s, trials);
  std::optional<GaussianProcess> gp;  // fit once per call, on the observations only
  Eigen::VectorXd y_obs;
  Suggestions out;
  for (int i = 0; i < count; ++i) {
    const size_t k = n_trials + static_cast<size_t>(i);
    std::optional<UnitPoint> choice;
    if (k >= warmup(d) && obs.y.size() >= 2) {
      if (!gp) {
        Eigen::MatrixXd X = feat.rows(obs.u);
        y_obs = warp_outputs(Eigen::Map<Eigen::VectorXd>(obs.y.data(), obs.y.size())).y;
        GpFitOptions fo;
        fo.seed = mix(c.seed, n_trials);
        gp = GaussianProcess::condition(X, y_obs, fit_gp(X, y_obs, fo));
      }
      // Kriging believer: pending points (trials and this call's earlier suggestions) join the
      // data with the posterior mean as their value, so the variance, and EI, collapse there.
      std::optional<GaussianProcess> believed = gp;
      if (gp && !obs.pending.empty()) {
        Eigen::VectorXd pm, pv;
        gp->predict(feat.rows(obs.pending), pm, pv);
        std::vector<UnitPoint> all = obs.u;
        all.insert(all.end(), obs.pending.begin(), obs.pending.end());
        Eigen::VectorXd y_all(y_obs.size() + pm.size());
        y_all << y_obs, pm;
        believed = GaussianProcess::condition(feat.rows(all), y_all, gp->params());
      }
      if (believed) {
        Acquisition acq(*believed, feat, y_obs.minCoeff());
        choice = maximise(s, acq, candidates(s, obs, c.seed, k), obs);
      }
    }
    if (!choice) choice = snapped(s, warm.point(k));  // warm-up, no model, or all taken
    obs.pending.push_back(*choice);
    out.suggestions.push_back({decode_point(s, *choice)});
  }
  return out;
}

}  // namespace ctflow::hpo::detail
