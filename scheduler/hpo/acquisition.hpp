#pragma once
// Expected improvement in log space, stable from the far lower tail to the far upper tail.
//
// For a Gaussian posterior N(mu, sigma^2) and an incumbent `best` of a quantity to MINIMISE,
//   EI = E[max(best - f, 0)] = sigma * h(z),  z = (best - mu) / sigma,  h(z) = phi(z) + z Phi(z).
// log h is computed in three regimes (after Ament et al., "Unexpected improvements to expected
// improvement", NeurIPS 2023):
//   z > -1        directly;
//   -10 <= z <= -1   log phi(z) + log1p(-x R(x)), x = -z, R the Mills ratio sqrt(pi/2)
//   erfcx(x/sqrt2); z < -10       log phi(z) + log(sum_k (-1)^(k+1) (2k-1)!! / x^(2k)), the
//   asymptotic series of
//                 1 - x R(x), summed while its terms shrink (error far below one ulp there).
// So log EI stays finite (about -z^2/2 - 2 log|z|) where EI itself underflows to 0, and the
// acquisition keeps a gradient to follow far from the incumbent. Pure functions.
namespace ctflow::hpo {

// log h(z) as above; -inf only when z^2 overflows (|z| > ~1e154), never NaN for non-NaN z.
double log_h(double z);

// log EI for minimisation; sigma <= 0 is treated as a tiny positive sigma (never NaN).
double log_ei(double mu, double sigma, double best);

// Standard normal density and distribution function.
double normal_pdf(double z);
double normal_cdf(double z);

}  // namespace ctflow::hpo
