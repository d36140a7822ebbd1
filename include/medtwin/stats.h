/*
** Statistics of virtual trials (docs/statistics.md): Student's t and the
** normal distribution, sample summaries, the paired t comparison of two arms
** within patients, Welch's two-sample comparison (subgroup interactions),
** a reproducible percentile bootstrap of a mean, multiplicity helpers, and
** the sample size a paired trial needs for a target power, by simulation.
**
** Distribution functions follow libm's conventions: pure functions of their
** arguments that return NaN outside their domain. Everything else returns 0,
** a negative MT_E* code (error.h) with one line in err (errlen bytes; err may
** be NULL/0), or a positive MT_STATS_* code when the result is defined but
** degenerate (see each function). On error the output is left untouched.
** There is no global state: every function is thread-safe.
*/
#ifndef MEDTWIN_STATS_H
#define MEDTWIN_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Informational (positive) return codes: the outputs are all set, but. */
#define MT_STATS_NOVAR 1   /* fewer than 2 values in a sample: no variance */
#define MT_STATS_ZEROVAR 2 /* the standard error is exactly 0 */
#define MT_STATS_NOEFFECT 3 /* sample size: the mean difference is exactly 0 */
#define MT_STATS_UNREACHED 4 /* sample size: target power not reached by n_max */
#define MT_STATS_BUDGET 5 /* sample size: max_trials ended the search early */

/* ---- distributions ---------------------------------------------------- */

/*
** Regularized incomplete beta function I_x(a, b), a > 0, b > 0, 0 <= x <= 1,
** by the continued fraction (Numerical Recipes 3rd ed. 6.4, eq. 6.4.5)
** evaluated with the modified Lentz method. NaN outside the domain.
*/
double mt_beta_inc(double a, double b, double x);

/*
** Student's t distribution with df > 0 degrees of freedom (real df allowed,
** df = +inf is the normal): P(T <= t). NaN if t is NaN or df is not > 0.
** Tails are computed directly (no 1 - F cancellation below 0.5).
*/
double mt_t_cdf(double t, double df);

/*
** The t with P(T <= t) = p, df > 0: -inf at p = 0, +inf at p = 1, NaN for
** p outside [0, 1] or df not > 0. Safeguarded Newton on log F; for
** df <= 1e6 the result's CDF matches p to a relative 1e-12 or better
** (measured 3.3e-13; 3e-12 at df = 1e8; docs/statistics.md).
*/
double mt_t_quantile(double p, double df);

/* Standard normal P(Z <= z) = erfc(-z / sqrt 2) / 2. NaN for NaN. */
double mt_normal_cdf(double z);

/*
** Standard normal quantile: Acklam's rational approximation refined by two
** Halley steps on erfc. -inf at 0, +inf at 1, NaN outside [0, 1].
*/
double mt_normal_quantile(double p);

/* ---- summaries -------------------------------------------------------- */

/*
** Summary of n >= 1 finite values. Quartiles and median are Hyndman and Fan
** (1996) type 7 sample quantiles (R's and NumPy's default): with the values
** sorted v[0..n), Q(p) = v[k] + (h - k)(v[k+1] - v[k]), h = (n - 1) p,
** k = floor(h). sd is the sample SD (divisor n - 1); 0 when n = 1.
*/
typedef struct mt_summary {
  int n;
  double mean, sd;
  double min, q1, median, q3, max;
} mt_summary;

/*
** Summarise x[0..n) (borrowed). Returns 0, or MT_EINVAL (NULL pointer,
** n < 1, a value not finite), MT_ENOMEM (a sorted copy is made).
*/
int mt_summary_compute(const double *x, int n, mt_summary *out, char *err,
                       size_t errlen);

/* ---- comparisons ------------------------------------------------------ */

/*
** A t-based comparison: estimate +- t_{(1+level)/2, df} * se, and the
** two-sided p-value 2 P(T >= |estimate / se|).
*/
typedef struct mt_ttest {
  int n;           /* pairs (paired), n1 + n2 (Welch) */
  double estimate; /* mean difference */
  double se;       /* its standard error */
  double df;       /* degrees of freedom (Welch-Satterthwaite for Welch) */
  double t;        /* estimate / se */
  double p;        /* two-sided p-value */
  double level;    /* confidence level of [lo, hi] */
  double lo, hi;   /* confidence interval */
} mt_ttest;

/*
** Paired comparison of arms within patients: d_i = a_i - b_i, i < n,
** estimate = mean d, se = sd(d) / sqrt n, df = n - 1, at confidence level
** 0 < level < 1 (0.95 for 95 %). a and b are borrowed.
**
** Degenerate cases, all outputs finite or infinite, never NaN:
**   n = 1: returns MT_STATS_NOVAR; estimate = d_0, se = +inf, df = 0, t = 0,
**          p = 1, [lo, hi] = [-inf, +inf] (the data say nothing about spread).
**   every d_i equal (sd = 0): returns MT_STATS_ZEROVAR; se = 0, [lo, hi] =
**          [estimate, estimate]; t = 0 and p = 1 if estimate = 0, else
**          t = +-inf and p = 0.
** Returns MT_EINVAL for a NULL pointer, n < 1, a non-finite value or
** difference or level outside (0, 1), or MT_ENOMEM (the n differences are
** stored).
*/
int mt_paired_t(const double *a, const double *b, int n, double level,
                mt_ttest *out, char *err, size_t errlen);

/*
** Welch's two-sample comparison of x[0..nx) and y[0..ny) (borrowed), for
** example the per-patient paired effects of two subgroups (a treatment by
** subgroup interaction): estimate = mean x - mean y, se^2 = s_x^2/nx +
** s_y^2/ny, df by Welch-Satterthwaite: se^4 / ((s_x^2/nx)^2/(nx-1) +
** (s_y^2/ny)^2/(ny-1)). A sample of size 1 has no variance: returns
** MT_STATS_NOVAR with the n = 1 conventions of mt_paired_t (df = 0). When
** se = 0 returns MT_STATS_ZEROVAR as mt_paired_t, with df = nx + ny - 2.
** Returns MT_EINVAL for a NULL pointer, nx < 1, ny < 1, a non-finite value
** or level outside (0, 1); allocates nothing.
*/
int mt_welch_t(const double *x, int nx, const double *y, int ny, double level,
               mt_ttest *out, char *err, size_t errlen);

/* ---- bootstrap -------------------------------------------------------- */

typedef struct mt_bootstrap {
  int n, B;        /* values, resamples */
  double estimate; /* mean of the original values */
  double level;
  double lo, hi;   /* percentile interval */
} mt_bootstrap;

/*
** Percentile bootstrap confidence interval of the mean of d[0..n) (for
** example paired differences; borrowed): B resamples of n values drawn with
** replacement; resample b draws its indices from the stream
** mt_rng(seed; purpose, b, 0) (rng.h), one 64-bit word w per index, taken
** as w mod n after rejecting the words w < 2^64 mod n (no modulo bias), so
** the interval depends only on
** (d, n, B, level, seed, purpose), bit for bit, whatever the order or thread
** that computes the resamples. lo and hi are the type 7 quantiles
** (1 - level)/2 and (1 + level)/2 of the B resample means.
** Returns 0, MT_EINVAL (NULL pointer, n < 1, B < 1, non-finite value, level
** outside (0, 1)) or MT_ENOMEM (B doubles are allocated).
*/
int mt_bootstrap_mean(const double *d, int n, int B, double level,
                      uint64_t seed, uint64_t purpose, mt_bootstrap *out,
                      char *err, size_t errlen);

/* ---- multiplicity ----------------------------------------------------- */

/*
** Bonferroni: the per-comparison confidence level that keeps the
** family-wise level over m comparisons, 1 - (1 - level) / m, in *out.
** Returns 0 or MT_EINVAL (m < 1, level outside (0, 1), out NULL).
*/
int mt_bonferroni_level(double level, int m, double *out);

/*
** Holm's step-down adjusted p-values (Holm, Scand. J. Statist. 6:65, 1979):
** with p sorted ascending p_(1) <= ... <= p_(m), adj_(i) =
** min(1, max_{j <= i} (m - j + 1) p_(j)); adj[i] belongs to p[i] (input
** order kept). Reject H_i at family-wise alpha when adj[i] <= alpha.
** adj may alias p. Returns 0, MT_EINVAL (NULL, m < 1, p outside [0, 1] or
** NaN) or MT_ENOMEM.
*/
int mt_holm(const double *p, int m, double *adj, char *err, size_t errlen);

/* ---- sample size ------------------------------------------------------ */

typedef struct mt_sample_size {
  int n;               /* smallest size found with power >= target (or the
                       ** upper bound) */
  double power;        /* simulated power at n */
  double mc_se;        /* its Monte Carlo standard error sqrt(p(1-p)/R) */
  int replicates;      /* R: replicate trials per size tried */
  int sizes_tried;     /* how many sizes were simulated */
  long trials;         /* replicate trials simulated in all (<= the bound) */
  int normal_approx_n; /* ceil(((z_{1-a/2} + z_power) sd / |mean|)^2), the
                       ** start, clamped to [2, n_max] */
  int reached;         /* 1 if the target was reached within n_max */
} mt_sample_size;

/* Sizes the search may simulate at most for a bound n_max >= 2:
** ceil(log2 n_max) + MT_SSIZE_EXTRA (the start, three bracketing steps and
** n_max itself). */
#define MT_SSIZE_EXTRA 5

/*
** The number of patients a paired trial needs to reach power 0 < power < 1
** with the two-sided paired t test at confidence level 0 < level < 1
** (reject when p < 1 - level), by simulation (docs/statistics.md, "Sample
** size by simulation"). d[0..n) (borrowed, n >= 2, finite) are the observed
** paired differences and stand in for the population: a replicate trial of
** size m resamples m of them with replacement and is analysed as
** mt_paired_t analyses a trial. Replicate r draws its indices from the stream
** mt_rng(seed; purpose, r, 0), so a replicate of size m is the first m
** patients of the same replicate at any larger size (common random numbers)
** and the result depends only on the arguments, bit for bit.
**
** The search starts at the normal approximation, brackets the target with up
** to three steps and bisects on the integer m in [2, n_max] for the smallest
** m with simulated power >= power. max_trials >= 1 bounds the replicate
** trials simulated in all: R = max(1, max_trials / (ceil(log2 n_max) +
** MT_SSIZE_EXTRA)) per size, so the search never runs out unless
** max_trials is below that divisor; out->trials <= max_trials always.
**
** Returns 0, or with every field of *out set:
**   MT_STATS_ZEROVAR   all d equal, nothing simulated: a nonzero d rejects
**                      at every size (n = 2, power = 1, reached = 1); all
**                      zero never rejects (n = n_max, power = 0, reached 0).
**   MT_STATS_NOEFFECT  mean d exactly 0, nothing simulated: n = n_max,
**                      power = 1 - level (the test's nominal size),
**                      reached = 0.
**   MT_STATS_UNREACHED power at n_max is below the target: n = n_max with
**                      its power, reached = 0.
**   MT_STATS_BUDGET    max_trials ended the search before it converged: n is
**                      the smallest size found with power >= target
**                      (reached = 1), or else the largest size simulated
**                      (reached = 0).
** mc_se is 0 where nothing was simulated. Errors, *out untouched, one line
** in err naming the argument: MT_EINVAL (NULL d or out, n < 2, a d not
** finite, level or power outside (0, 1), max_trials < 1, n_max < 2),
** MT_ENOMEM (n_max doubles are allocated).
*/
int mt_sample_size_paired(const double *d, int n, double level, double power,
                          int max_trials, int n_max, uint64_t seed,
                          uint64_t purpose, mt_sample_size *out,
                          char *err, size_t errlen);

#endif
