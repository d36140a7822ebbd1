/*
** Particle filter analysis (include/medtwin/pf.h): against the Kalman filter
** on a linear-Gaussian problem, systematic resampling's counts, the
** effective sample size and the weights carried between updates by hand,
** determinism of the random streams, the regularisation kernel's
** covariance, and input errors.
**
** Statistical bounds. The analysis of a particle filter is a self-normalised
** importance-sampling estimate from N prior draws, followed by resampling.
** For a quantity g with posterior standard deviation sd, the importance-
** sampling error has variance about sd^2 / ESS (Kong, Liu and Wong 1994;
** the ESS rule of thumb), and resampling adds at most the variance of
** multinomial resampling, sd^2 / N. Each bound below is 4 standard errors,
** se = sd sqrt(1/ESS + 1/N), with sd^2 = Pa_aa for a mean and
** Pa_aa Pa_bb + Pa_ab^2 for a covariance entry (the variance of the product
** of two centred jointly Gaussian variables). The draws are from fixed
** streams, so every test is deterministic. Over 400 other seeds of the two
** Kalman filter tests, |error| / se had an RMS of 0.6-0.75 (largest 2.2)
** after resampling, where the 1/N term is generous because systematic
** resampling adds less than multinomial, and an RMS of 0.8-0.95 (largest
** 3.7 of 2000) for the weighted moments without resampling.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/pf.h"
#include "medtwin/rng.h"

/* Prior of the 2-D problem, and a 2-D observation with full R. */
static const double MU[2] = {1.0, -0.5};
static const double P0[4] = {2.0, 0.6, 0.6, 1.0};
static const double H0[4] = {1, 0, 1, 1};      /* x0 and x0 + x1 */
static const double R0[4] = {0.3, 0.2, 0.2, 0.6}; /* correlation 0.47 */
static const double YOBS[2] = {2.0, 1.2};

static mt_pf *make(int n, int m, int N)
{
  mt_pf *f = NULL;
  cr_assert_eq(mt_pf_create(n, m, N, &f), 0);
  cr_assert_not_null(f);
  return f;
}

/* N draws from N(MU, P0) on the test's own stream (seed; 0, 1, 0). */
static void draw_prior(double *X, int N, uint64_t seed)
{
  mt_rng g;
  mt_rng_init(&g, seed, 0, 1, 0);
  double l00 = sqrt(P0[0]), l10 = P0[2] / l00;
  double l11 = sqrt(P0[3] - l10 * l10);
  for (int i = 0; i < N; i++) {
    double z0 = mt_rng_normal(&g), z1 = mt_rng_normal(&g);
    X[2 * i] = MU[0] + l00 * z0;
    X[2 * i + 1] = MU[1] + l10 * z0 + l11 * z1;
  }
}

/* Y = X H0^T, row by row. */
static void observe(const double *X, double *Y, int N)
{
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 2; k++)
      Y[2 * i + k] = H0[2 * k] * X[2 * i] + H0[2 * k + 1] * X[2 * i + 1];
}

/* The Kalman filter's posterior for prior (MU, P0), H0, R, YOBS (2 x 2). */
static void kalman(const double *R, double *xa, double *Pa)
{
  double PHt[4], S[4], Si[4], K[4];
  for (int a = 0; a < 2; a++) /* PHt = P0 H0^T */
    for (int k = 0; k < 2; k++)
      PHt[2 * a + k] = P0[2 * a] * H0[2 * k] + P0[2 * a + 1] * H0[2 * k + 1];
  for (int k = 0; k < 2; k++) /* S = H0 P0 H0^T + R */
    for (int l = 0; l < 2; l++)
      S[2 * k + l] = H0[2 * k] * PHt[l] + H0[2 * k + 1] * PHt[2 + l] +
                     R[2 * k + l];
  double det = S[0] * S[3] - S[1] * S[2];
  Si[0] = S[3] / det, Si[1] = -S[1] / det, Si[2] = -S[2] / det;
  Si[3] = S[0] / det;
  for (int a = 0; a < 2; a++)
    for (int k = 0; k < 2; k++)
      K[2 * a + k] = PHt[2 * a] * Si[k] + PHt[2 * a + 1] * Si[2 + k];
  double d[2] = {YOBS[0] - (MU[0]), YOBS[1] - (MU[0] + MU[1])};
  for (int a = 0; a < 2; a++)
    xa[a] = MU[a] + K[2 * a] * d[0] + K[2 * a + 1] * d[1];
  for (int a = 0; a < 2; a++) /* Pa = P0 - K PHt^T */
    for (int b = 0; b < 2; b++)
      Pa[2 * a + b] = P0[2 * a + b] - K[2 * a] * PHt[2 * b] -
                      K[2 * a + 1] * PHt[2 * b + 1];
}

/*
** Weighted mean and covariance of X (N x n) under weights w (NULL: 1/N),
** divisor 1 - sum w^2 (N - 1 for equal weights), as the filter's kernel.
*/
static void moments(const double *X, const double *w, int N, int n,
                    double *mean, double *cov)
{
  double sq = 0;
  memset(mean, 0, sizeof(double) * n);
  memset(cov, 0, sizeof(double) * n * n);
  for (int i = 0; i < N; i++) {
    double wi = w ? w[i] : 1.0 / N;
    sq += wi * wi;
    for (int a = 0; a < n; a++)
      mean[a] += wi * X[i * n + a];
  }
  for (int i = 0; i < N; i++)
    for (int a = 0; a < n; a++)
      for (int b = 0; b < n; b++)
        cov[a * n + b] += (w ? w[i] : 1.0 / N) * (X[i * n + a] - mean[a]) *
                          (X[i * n + b] - mean[b]);
  for (int k = 0; k < n * n; k++)
    cov[k] /= 1 - sq;
}

/*
** Mean and covariance (2-D) against the Kalman filter's xa, Pa: within 4 se
** each, se^2 = sd^2 v with v = 1/ESS (+ 1/N after resampling), as in the
** file's comment. The prior's own moments must fail the same check by a
** factor of 10 or more, so that an update that did nothing cannot pass.
** Returns the largest |error| / se, for the report.
*/
static double check_kf(const double *mean, const double *cov,
                       const double *xa, const double *Pa, double v)
{
  double worst = 0, moved = 0;
  for (int a = 0; a < 2; a++) {
    double se = sqrt(Pa[3 * a] * v);
    cr_assert_leq(fabs(mean[a] - xa[a]), 4 * se, "mean[%d] %g vs KF %g "
                  "(se %g)", a, mean[a], xa[a], se);
    worst = fmax(worst, fabs(mean[a] - xa[a]) / se);
    moved = fmax(moved, fabs(MU[a] - xa[a]) / se);
    for (int b = 0; b < 2; b++) {
      double p = Pa[2 * a + b];
      double sc = sqrt((Pa[3 * a] * Pa[3 * b] + p * p) * v);
      cr_assert_leq(fabs(cov[2 * a + b] - p), 4 * sc, "cov[%d][%d] %g vs KF "
                    "%g (se %g)", a, b, cov[2 * a + b], p, sc);
      worst = fmax(worst, fabs(cov[2 * a + b] - p) / sc);
      moved = fmax(moved, fabs(P0[2 * a + b] - p) / sc);
    }
  }
  cr_assert_gt(moved, 10 * 4.0, "the prior would pass: the test is vacuous");
  return worst;
}

/* ---- against the Kalman filter -------------------------------------- */

/*
** N = 20000 prior draws, 2-D observation of x0 and x0 + x1 with correlated
** R, h = 0. The observation is informative (ESS about 0.2 N), so the update
** resamples and the equally weighted members' sample mean and covariance
** must match the Kalman filter's (tolerances in the file's comment).
*/
Test(pf, matches_kalman_after_resampling)
{
  enum { N = 20000 };
  double *X = malloc(sizeof(double) * N * 2), *Y = malloc(sizeof(double) * N * 2);
  double xa[2], Pa[4], m[2], C[4], ess = 0;
  draw_prior(X, N, 2024);
  observe(X, Y, N);
  mt_pf *f = make(2, 2, N);
  cr_assert_eq(mt_pf_update(f, X, Y, YOBS, R0, MT_ENKF_R_FULL, 1, 0, 0.0,
                            &ess), 0, "%s", mt_pf_errmsg(f));
  cr_assert_lt(ess, N / 2.0);
  cr_assert_gt(ess, 100.0);
  cr_assert_eq(mt_pf_resampled(f), 1);
  for (int i = 0; i < N; i++)
    cr_assert_eq(mt_pf_weights(f)[i], 1.0 / N);
  kalman(R0, xa, Pa);
  moments(X, NULL, N, 2, m, C);
  double worst = check_kf(m, C, xa, Pa, 1 / ess + 1.0 / N);
  cr_log_info("KF check after resampling: ESS %.0f of %d, max |err|/se %.2f",
              ess, N, worst);
  mt_pf_free(f);
  free(X), free(Y);
}

/*
** A weak observation (R = 16 R0, ESS about 0.8 N): no resampling, X is
** returned bit for bit, and the weighted moments under mt_pf_weights()
** match the Kalman filter's for that R.
*/
Test(pf, weights_carry_the_analysis_without_resampling)
{
  enum { N = 20000 };
  double *X = malloc(sizeof(double) * N * 2), *Y = malloc(sizeof(double) * N * 2);
  double *X0 = malloc(sizeof(double) * N * 2);
  double R[4], xa[2], Pa[4], m[2], C[4], ess = 0;
  for (int k = 0; k < 4; k++)
    R[k] = 16 * R0[k];
  draw_prior(X, N, 77);
  memcpy(X0, X, sizeof(double) * N * 2);
  observe(X, Y, N);
  mt_pf *f = make(2, 2, N);
  cr_assert_eq(mt_pf_update(f, X, Y, YOBS, R, MT_ENKF_R_FULL, 1, 0, 0.5,
                            &ess), 0, "%s", mt_pf_errmsg(f));
  cr_assert_geq(ess, N / 2.0);
  cr_assert_eq(mt_pf_resampled(f), 0);
  cr_assert_eq(memcmp(X, X0, sizeof(double) * N * 2), 0);
  kalman(R, xa, Pa);
  moments(X, mt_pf_weights(f), N, 2, m, C);
  double worst = check_kf(m, C, xa, Pa, 1 / ess); /* no resampling noise */
  cr_log_info("weighted KF check: ESS %.0f of %d, max |err|/se %.2f", ess, N,
              worst);
  mt_pf_free(f);
  free(X), free(Y), free(X0);
}

/*
** The likelihood with a full, correlated R, against the formula with R^-1
** written out: w_i proportional to exp(-d_i^T R^-1 d_i / 2), d_i = y - Y_i,
** N = 6 members, threshold 1e-9 so that nothing is resampled and the
** weights can be read; agreement to 1e-13 relative. The same diagonal R
** passed as DIAG and as FULL gives the same weights.
*/
Test(pf, likelihood_matches_formula_full_r)
{
  enum { N = 6 };
  double X[N * 2], Y[N * 2], want[N], sum = 0, ess = 0;
  const double R[4] = {0.3, 0.25, 0.25, 0.5}, y[2] = {1.5, 0.9};
  double det = R[0] * R[3] - R[1] * R[2];
  const double Ri[4] = {R[3] / det, -R[1] / det, -R[2] / det, R[0] / det};
  draw_prior(X, N, 8);
  observe(X, Y, N);
  for (int i = 0; i < N; i++) {
    double d0 = y[0] - Y[2 * i], d1 = y[1] - Y[2 * i + 1];
    want[i] = exp(-0.5 * (d0 * d0 * Ri[0] + 2 * d0 * d1 * Ri[1] +
                          d1 * d1 * Ri[3]));
    sum += want[i];
  }
  mt_pf *f = make(2, 2, N);
  cr_assert_eq(mt_pf_set_threshold(f, 1e-9), 0);
  cr_assert_eq(mt_pf_update(f, X, Y, y, R, MT_ENKF_R_FULL, 1, 0, 0, &ess), 0);
  cr_assert_eq(mt_pf_resampled(f), 0);
  double sq = 0;
  for (int i = 0; i < N; i++) {
    cr_assert_float_eq(mt_pf_weights(f)[i], want[i] / sum, 1e-13 * want[i] / sum,
                       "w[%d] %.17g vs %.17g", i, mt_pf_weights(f)[i],
                       want[i] / sum);
    sq += want[i] * want[i] / (sum * sum);
  }
  cr_assert_float_eq(ess, 1 / sq, 1e-12 * ess);
  cr_assert_lt(ess, N - 0.5); /* the weights are uneven: a real check */
  /* diagonal R: DIAG and FULL agree */
  const double rd[2] = {0.3, 0.5}, rf[4] = {0.3, 0, 0, 0.5};
  double wd[N];
  mt_pf_reset_weights(f);
  cr_assert_eq(mt_pf_update(f, X, Y, y, rd, MT_ENKF_R_DIAG, 1, 0, 0, NULL), 0);
  memcpy(wd, mt_pf_weights(f), sizeof wd);
  mt_pf_reset_weights(f);
  cr_assert_eq(mt_pf_update(f, X, Y, y, rf, MT_ENKF_R_FULL, 1, 0, 0, NULL), 0);
  for (int i = 0; i < N; i++)
    cr_assert_float_eq(mt_pf_weights(f)[i], wd[i], 1e-13 * wd[i]);
  mt_pf_free(f);
}

/* ---- systematic resampling ------------------------------------------ */

/* Counts of each member in idx; asserts the floor/ceil property. */
static void check_counts(const double *w, const int *idx, int N, int *count)
{
  double sum = 0;
  for (int i = 0; i < N; i++)
    sum += w[i], count[i] = 0;
  for (int k = 0; k < N; k++) {
    cr_assert(idx[k] >= 0 && idx[k] < N);
    cr_assert(k == 0 || idx[k] >= idx[k - 1], "idx not nondecreasing");
    count[idx[k]]++;
  }
  for (int i = 0; i < N; i++) {
    double nw = N * w[i] / sum;
    cr_assert(count[i] == (int)floor(nw) || count[i] == (int)ceil(nw),
              "member %d: %d copies for N w = %g", i, count[i], nw);
  }
}

/* w = (0.1, 0.2, 0.3, 0.4): cumulative N w = 0.4, 1.2, 2.4, 4. */
Test(pf, systematic_by_hand)
{
  const double w[4] = {0.1, 0.2, 0.3, 0.4};
  int idx[4], count[4];
  const int want0[4] = {0, 1, 2, 3}, want5[4] = {1, 2, 3, 3};
  cr_assert_eq(mt_pf_systematic(w, 4, 0.0, idx), 0);
  cr_assert_arr_eq(idx, want0, sizeof idx);
  cr_assert_eq(mt_pf_systematic(w, 4, 0.5, idx), 0); /* 0.5 1.5 2.5 3.5 */
  cr_assert_arr_eq(idx, want5, sizeof idx);
  check_counts(w, idx, 4, count);
  /* unnormalised weights and a weight of 0 that is never drawn */
  const double v[5] = {0, 3, 0, 1, 0};
  int jdx[5];
  const int wantv[5] = {1, 1, 1, 3, 3}; /* points 0.9 .. 4.9; c = 3.75, 5 */
  cr_assert_eq(mt_pf_systematic(v, 5, 0.9, jdx), 0);
  cr_assert_arr_eq(jdx, wantv, sizeof jdx);
}

/*
** Random weights, N = 37, 500 values of u: every member has floor(N w_i)
** or ceil(N w_i) copies and the copies sum to N (a multinomial resampler
** would break the first within a few draws).
*/
Test(pf, systematic_counts_floor_or_ceil)
{
  enum { N = 37 };
  double w[N];
  int idx[N], count[N];
  mt_rng g;
  mt_rng_init(&g, 5, 0, 2, 0);
  for (int rep = 0; rep < 500; rep++) {
    for (int i = 0; i < N; i++) /* a heavy tail, some nearly zero */
      w[i] = pow(mt_rng_uniform(&g), 4);
    cr_assert_eq(mt_pf_systematic(w, N, mt_rng_uniform(&g), idx), 0);
    check_counts(w, idx, N, count);
    int total = 0;
    for (int i = 0; i < N; i++)
      total += count[i];
    cr_assert_eq(total, N);
  }
}

/*
** Through the update, with the threshold at 1 (resample every time): Y
** chosen so that the weights are (0.1, 0.2, 0.3, 0.4) (R = 1, y = 0,
** Y_i = sqrt(2 log(w_max / w_i))). Over 4000 steps each count is floor or
** ceil of 4 w_i, and the mean count is 4 w_i (resampling is unbiased)
** within 4 se, se = sqrt(f (1 - f) / 4000), f the fractional part of 4 w_i
** (the count is floor + Bernoulli(f)). Members are numbered in X.
*/
Test(pf, update_resamples_systematically)
{
  const double w[4] = {0.1, 0.2, 0.3, 0.4}, r = 1, y = 0;
  double Y[4], X[4], mean[4] = {0};
  int count[4], idx[4];
  const int steps = 4000;
  for (int i = 0; i < 4; i++)
    Y[i] = sqrt(2 * log(w[3] / w[i]));
  mt_pf *f = make(1, 1, 4);
  cr_assert_eq(mt_pf_set_threshold(f, 1.0), 0);
  for (int s = 0; s < steps; s++) {
    for (int i = 0; i < 4; i++)
      X[i] = i;
    mt_pf_reset_weights(f);
    cr_assert_eq(mt_pf_update(f, X, Y, &y, &r, MT_ENKF_R_DIAG, 9,
                              (uint64_t)s, 0, NULL), 0);
    cr_assert_eq(mt_pf_resampled(f), 1);
    for (int k = 0; k < 4; k++)
      idx[k] = (int)X[k];
    check_counts(w, idx, 4, count);
    for (int i = 0; i < 4; i++)
      mean[i] += (double)count[i] / steps;
  }
  for (int i = 0; i < 4; i++) {
    double fr = 4 * w[i] - floor(4 * w[i]);
    double se = sqrt(fr * (1 - fr) / steps);
    cr_assert_leq(fabs(mean[i] - 4 * w[i]), 4 * se, "member %d: mean count "
                  "%g, want %g", i, mean[i], 4 * w[i]);
  }
  mt_pf_free(f);
}

/* ---- ESS and the weights carried between updates -------------------- */

/*
** N = 4, R = 1, y = 0. (a) Equal predictions: ESS = N, no resampling.
** (b) Y = (0, 0, c, c), c = sqrt(2 log 4): w = (0.4, 0.4, 0.1, 0.1),
** ESS = 1 / 0.34 = 2.941 >= N/2, no resampling, X unchanged.
** (c) Those weights are kept: an uninformative update (equal Y) reports
** the same ESS, and one with likelihoods (1, 1, 4, 4) evens them: ESS = 4.
** (d) One member at y and the others 40 sd away: ESS = 1 (the others'
** weights exp(-800) underflow to 0), resampled onto that member.
*/
Test(pf, ess_by_hand_and_weights_kept)
{
  double X[4] = {10, 11, 12, 13}, X0[4], r = 1, y = 0, ess = 0;
  double c = sqrt(2 * log(4.0));
  memcpy(X0, X, sizeof X);
  mt_pf *f = make(1, 1, 4);
  const double flat[4] = {0.7, 0.7, 0.7, 0.7}, b[4] = {0, 0, c, c};
  const double even[4] = {c, c, 0, 0}, one[4] = {40, 40, 0, 40};
  cr_assert_eq(mt_pf_update(f, X, flat, &y, &r, MT_ENKF_R_DIAG, 1, 0, 0,
                            &ess), 0);
  cr_assert_float_eq(ess, 4.0, 1e-12);
  cr_assert_eq(mt_pf_resampled(f), 0);
  cr_assert_eq(mt_pf_update(f, X, b, &y, &r, MT_ENKF_R_DIAG, 1, 1, 0, &ess),
               0);
  cr_assert_float_eq(ess, 1 / 0.34, 1e-12);
  cr_assert_eq(mt_pf_resampled(f), 0);
  cr_assert_eq(memcmp(X, X0, sizeof X), 0);
  const double wb[4] = {0.4, 0.4, 0.1, 0.1};
  for (int i = 0; i < 4; i++)
    cr_assert_float_eq(mt_pf_weights(f)[i], wb[i], 1e-14);
  cr_assert_eq(mt_pf_update(f, X, flat, &y, &r, MT_ENKF_R_DIAG, 1, 2, 0,
                            &ess), 0);
  cr_assert_float_eq(ess, 1 / 0.34, 1e-12);
  cr_assert_eq(mt_pf_update(f, X, even, &y, &r, MT_ENKF_R_DIAG, 1, 3, 0,
                            &ess), 0);
  cr_assert_float_eq(ess, 4.0, 1e-12);
  cr_assert_eq(mt_pf_update(f, X, one, &y, &r, MT_ENKF_R_DIAG, 1, 4, 0,
                            &ess), 0);
  cr_assert_eq(ess, 1.0);
  cr_assert_eq(mt_pf_resampled(f), 1);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(X[i], 12.0);
    cr_assert_eq(mt_pf_weights(f)[i], 0.25);
  }
  mt_pf_free(f);
}

/* A likelihood 1e-400 below the best member's is 0, not NaN (log space). */
Test(pf, extreme_likelihoods_are_stable)
{
  double X[3] = {1, 2, 3}, Y[3] = {1000, 1001, 1002}, y = 0, r = 1e-3;
  double ess = 0;
  mt_pf *f = make(1, 1, 3);
  /* log-likelihoods about -5e8: exp() of any of them alone is 0 */
  cr_assert_eq(mt_pf_update(f, X, Y, &y, &r, MT_ENKF_R_DIAG, 1, 0, 0, &ess),
               0, "%s", mt_pf_errmsg(f));
  cr_assert_eq(ess, 1.0);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(X[i], 1.0); /* member 0, the nearest, takes all */
  mt_pf_free(f);
}

/* ---- determinism ---------------------------------------------------- */

/* An informative update of N members (n = 3) with the jitter on. */
static void run(mt_pf *f, double *X, int N, uint64_t seed, uint64_t step)
{
  double *Y = malloc(sizeof(double) * N), y = 0.3, r = 0.05;
  draw_prior(X, N * 3 / 2, 11); /* 3N values, read as N x 3 */
  for (int i = 0; i < N; i++)
    Y[i] = X[3 * i] + X[3 * i + 2];
  double h = mt_pf_bandwidth(3, N);
  cr_assert_eq(mt_pf_update(f, X, Y, &y, &r, MT_ENKF_R_DIAG, seed, step, h,
                            NULL), 0, "%s", mt_pf_errmsg(f));
  cr_assert_eq(mt_pf_resampled(f), 1);
  free(Y);
}

Test(pf, deterministic_by_seed_and_step)
{
  enum { N = 200 };
  double A[N * 3], B[N * 3], C[N * 3], D[N * 3];
  mt_pf *f = make(3, 1, N), *g = make(3, 1, N);
  run(f, A, N, 42, 7);
  run(g, B, N, 42, 7); /* a fresh handle: the same bits */
  cr_assert_eq(memcmp(A, B, sizeof A), 0);
  run(f, B, N, 42, 7); /* a second call on a used handle: the same bits */
  cr_assert_eq(memcmp(A, B, sizeof A), 0);
  run(f, C, N, 42, 8);
  run(f, D, N, 43, 7);
  cr_assert_neq(memcmp(A, C, sizeof A), 0, "another step, same result");
  cr_assert_neq(memcmp(A, D, sizeof A), 0, "another seed, same result");
  mt_pf_free(f);
  mt_pf_free(g);
}

/*
** All weight on one member: resampling is then the same for any u, so a
** change of step changes the members only through the jitter; with h = 0
** the members are N identical copies whatever the step.
*/
Test(pf, step_changes_the_jitter)
{
  enum { N = 50 };
  double X1[N * 2], X2[N * 2], Y[N], y = 7, r = 1e-6;
  for (int i = 0; i < N; i++)
    Y[i] = i;
  mt_pf *f = make(2, 1, N);
  for (int h0 = 0; h0 < 2; h0++) {
    draw_prior(X1, N, 3);
    draw_prior(X2, N, 3);
    double h = h0 ? 0.3 : 0;
    cr_assert_eq(mt_pf_update(f, X1, Y, &y, &r, MT_ENKF_R_DIAG, 5, 1, h,
                              NULL), 0);
    mt_pf_reset_weights(f);
    cr_assert_eq(mt_pf_update(f, X2, Y, &y, &r, MT_ENKF_R_DIAG, 5, 2, h,
                              NULL), 0);
    mt_pf_reset_weights(f);
    for (int i = 0; i < N; i++) /* every member moved independently */
      cr_assert(h0 ? X1[2 * i] != X2[2 * i] && X1[2 * i + 1] != X2[2 * i + 1]
                   : X1[2 * i] == X2[2 * i] && X1[2 * i] == X1[14],
                "member %d, h = %g", i, h);
  }
  mt_pf_free(f);
}

/* ---- regularisation ------------------------------------------------- */

/*
** N = 4000 prior draws. Update 1 observes x0 with R = 0.5 at the prior
** mean: ESS about 0.6 N, no resampling, strongly uneven weights w (the
** weighted variance of x0 is about 0.4 against 2 unweighted). Update 2
** gives one member all the weight (Y_i = i, y = 17, R = 1e-6: the others'
** likelihoods are exp(-5e5) = 0), h = 0.5. The members are then member 17
** plus h D z_k with D D^T = S, the covariance of the ensemble under w, and
** z_k independent N(0, I): their sample mean is within 4 h sqrt(S_aa / N)
** of member 17 and their sample covariance within 4 se of h^2 S,
** se = h^2 sqrt((S_aa S_bb + S_ab^2) / (N - 1)) (Wishart). The unweighted
** covariance would be far outside that tolerance.
*/
Test(pf, regularisation_after_degenerate_update)
{
  enum { N = 4000 };
  double *X = malloc(sizeof(double) * N * 2), *Y = malloc(sizeof(double) * N);
  double *w = malloc(sizeof(double) * N);
  double y = MU[0], r = 0.5, ess = 0, h = 0.5, S[4], S1[4], xm[2], m[2], C[4];
  draw_prior(X, N, 99);
  for (int i = 0; i < N; i++)
    Y[i] = X[2 * i];
  mt_pf *f = make(2, 1, N);
  cr_assert_eq(mt_pf_update(f, X, Y, &y, &r, MT_ENKF_R_DIAG, 3, 0, h, &ess),
               0);
  cr_assert_geq(ess, N / 2.0);
  cr_assert_eq(mt_pf_resampled(f), 0);
  memcpy(w, mt_pf_weights(f), sizeof(double) * N);
  moments(X, w, N, 2, xm, S);
  moments(X, NULL, N, 2, xm, S1);
  const double x17[2] = {X[34], X[35]};
  for (int i = 0; i < N; i++)
    Y[i] = i;
  y = 17, r = 1e-6;
  cr_assert_eq(mt_pf_update(f, X, Y, &y, &r, MT_ENKF_R_DIAG, 3, 1, h, &ess),
               0);
  cr_assert_eq(ess, 1.0);
  cr_assert_eq(mt_pf_resampled(f), 1);
  moments(X, NULL, N, 2, m, C);
  double worst = 0;
  for (int a = 0; a < 2; a++) {
    double se = h * sqrt(S[3 * a] / N);
    cr_assert_leq(fabs(m[a] - x17[a]), 4 * se, "mean[%d]", a);
    for (int b = 0; b < 2; b++) {
      double s = S[2 * a + b];
      double sc = h * h * sqrt((S[3 * a] * S[3 * b] + s * s) / (N - 1));
      cr_assert_leq(fabs(C[2 * a + b] - h * h * s), 4 * sc, "cov[%d][%d] %g "
                    "vs h^2 S %g (se %g)", a, b, C[2 * a + b], h * h * s, sc);
      worst = fmax(worst, fabs(C[2 * a + b] - h * h * s) / sc);
    }
  }
  cr_assert_gt(fabs(h * h * (S1[0] - S[0])),
               10 * 4 * h * h * sqrt(2 * S[0] * S[0] / (N - 1)));
  cr_log_info("kernel covariance: max |err|/se %.2f; h^2 S00 %.4f, "
              "unweighted %.4f", worst, h * h * S[0], h * h * S1[0]);
  mt_pf_free(f);
  free(X), free(Y), free(w);
}

/*
** The documented streams, exactly (n = 1, N = 4, threshold 1 so the update
** resamples). X = (1, 2, 3, 5) with equal weights: S = 8.75 / 3 (divisor
** N - 1). The uniform is the first of stream (seed; 2^64 - 1, 0x7066,
** step), the parents are mt_pf_systematic's for the updated weights, and
** member k moves by h sqrt(S) z_k, z_k the first normal of stream
** (seed; k, 0x7066, step). Agreement to 1e-13.
*/
Test(pf, streams_and_kernel_as_documented)
{
  double X[4] = {1, 2, 3, 5}, Y[4] = {0.3, -0.2, 0.9, 0.1}, y = 0, r = 0.5;
  const double X0[4] = {1, 2, 3, 5}, h = 0.4, S = 8.75 / 3;
  const uint64_t seed = 123, step = 45;
  double w[4];
  int idx[4];
  mt_pf *f = make(1, 1, 4);
  cr_assert_eq(mt_pf_set_threshold(f, 1.0), 0);
  cr_assert_eq(mt_pf_update(f, X, Y, &y, &r, MT_ENKF_R_DIAG, seed, step, h,
                            NULL), 0);
  cr_assert_eq(mt_pf_resampled(f), 1);
  for (int i = 0; i < 4; i++)
    w[i] = exp(-Y[i] * Y[i] / (2 * r));
  mt_rng g;
  mt_rng_init(&g, seed, UINT64_MAX, MT_PF_RNG_PURPOSE, step);
  cr_assert_eq(mt_pf_systematic(w, 4, mt_rng_uniform(&g), idx), 0);
  for (int k = 0; k < 4; k++) {
    mt_rng_init(&g, seed, (uint64_t)k, MT_PF_RNG_PURPOSE, step);
    double want = X0[idx[k]] + h * sqrt(S) * mt_rng_normal(&g);
    cr_assert_float_eq(X[k], want, 1e-13, "member %d: %.17g vs %.17g", k,
                       X[k], want);
  }
  mt_pf_free(f);
}

/*
** A singular kernel covariance: N = 3 members in n = 4 (rank 2), with
** component 3 the same in all. Member 0 takes all the weight. The jitter
** must stay in the span of the members' deviations from their mean,
** (-4, -1, 0, 0)/3 and (-1, -4, 6, 0)/3: component 3 keeps its value and
** every jitter is orthogonal to their normal (-2, 8, 5, 0), to 1e-12 (the
** factor's roundoff); components 0-2 do move. A wrong use of the pivots
** would leave the span.
*/
Test(pf, singular_kernel_covariance)
{
  double X[12] = {0, 1, 2, 5, 1, 0, 4, 5, 3, 3, 0, 5}, Y[3] = {0, 1, 2};
  const double x0[4] = {0, 1, 2, 5}, normal[4] = {-2, 8, 5, 0};
  double y = 0, r = 1e-8, ess = 0;
  mt_pf *f = make(4, 1, 3);
  cr_assert_eq(mt_pf_update(f, X, Y, &y, &r, MT_ENKF_R_DIAG, 1, 0, 0.5,
                            &ess), 0, "%s", mt_pf_errmsg(f));
  cr_assert_eq(ess, 1.0);
  for (int i = 0; i < 3; i++) {
    double dot = 0;
    for (int j = 0; j < 4; j++)
      dot += (X[4 * i + j] - x0[j]) * normal[j];
    cr_assert_leq(fabs(dot), 1e-12, "member %d leaves the span (%g)", i, dot);
    cr_assert_float_eq(X[4 * i + 3], 5.0, 1e-12);
    for (int j = 0; j < 3; j++)
      cr_assert_gt(fabs(X[4 * i + j] - x0[j]), 1e-6, "member %d component "
                   "%d did not move", i, j);
  }
  mt_pf_free(f);
}

Test(pf, bandwidth)
{
  cr_assert_float_eq(mt_pf_bandwidth(2, 64), 0.5, 1e-15);  /* 64^(-1/6) */
  cr_assert_float_eq(mt_pf_bandwidth(6, 512), 0.5, 1e-15); /* 1024^-0.1 */
  cr_assert_float_eq(mt_pf_bandwidth(2, 1), 1.0, 1e-15);
  /* n = 1: Silverman's rule of thumb 1.06 N^(-1/5) ((4/3)^(1/5) = 1.0592) */
  cr_assert_float_eq(mt_pf_bandwidth(1, 100), 1.06 * pow(100, -0.2), 1e-3);
  cr_assert(isnan(mt_pf_bandwidth(0, 100)));
  cr_assert(isnan(mt_pf_bandwidth(3, 0)));
}

/* ---- errors --------------------------------------------------------- */

Test(pf, create_and_settings_reject_bad_values)
{
  mt_pf *f = (mt_pf *)&f;
  cr_assert_eq(mt_pf_create(0, 1, 10, &f), MT_EINVAL);
  cr_assert_null(f);
  f = (mt_pf *)&f;
  cr_assert_eq(mt_pf_create(3, 0, 10, &f), MT_EINVAL);
  cr_assert_null(f);
  cr_assert_eq(mt_pf_create(3, 1, 1, &f), MT_EINVAL);
  cr_assert_eq(mt_pf_create(3, 1, 10, NULL), MT_EINVAL);
  mt_pf_free(NULL);
  cr_assert_str_not_empty(mt_pf_errmsg(NULL));
  cr_assert_null(mt_pf_weights(NULL));
  f = make(1, 1, 10);
  cr_assert_eq(mt_pf_set_threshold(f, 0), MT_EINVAL);
  cr_assert(strstr(mt_pf_errmsg(f), "threshold"));
  cr_assert_eq(mt_pf_set_threshold(f, 1.01), MT_EINVAL);
  cr_assert_eq(mt_pf_set_threshold(f, NAN), MT_EINVAL);
  cr_assert_eq(mt_pf_set_threshold(NULL, 0.5), MT_EINVAL);
  cr_assert_eq(mt_pf_set_threshold(f, 0.25), 0);
  mt_pf_free(f);
  const double w[3] = {1, 2, 3}, neg[3] = {1, -1, 3}, zero[3] = {0, 0, 0};
  const double nan[3] = {1, NAN, 1};
  int idx[3] = {-7, -7, -7};
  cr_assert_eq(mt_pf_systematic(w, 3, 1.0, idx), MT_EINVAL);
  cr_assert_eq(mt_pf_systematic(w, 3, -0.1, idx), MT_EINVAL);
  cr_assert_eq(mt_pf_systematic(neg, 3, 0.5, idx), MT_EINVAL);
  cr_assert_eq(mt_pf_systematic(zero, 3, 0.5, idx), MT_EINVAL);
  cr_assert_eq(mt_pf_systematic(nan, 3, 0.5, idx), MT_EINVAL);
  cr_assert_eq(mt_pf_systematic(w, 0, 0.5, idx), MT_EINVAL);
  cr_assert_eq(mt_pf_systematic(NULL, 3, 0.5, idx), MT_EINVAL);
  cr_assert_eq(idx[0], -7);
}

/* Expect rc MT_EINVAL, a message containing what, X and weights unchanged. */
static void expect_err(mt_pf *f, int rc, const double *X, const double *X0,
                       size_t len, const double *w0, const char *what)
{
  enum { N = 5 }; /* the members of invalid_inputs */
  cr_assert_eq(rc, MT_EINVAL, "%s: rc %d", what, rc);
  cr_assert(strstr(mt_pf_errmsg(f), what), "'%s' lacks '%s'",
            mt_pf_errmsg(f), what);
  cr_assert_eq(memcmp(X, X0, len), 0, "%s: X was modified", what);
  cr_assert_eq(memcmp(mt_pf_weights(f), w0, N * sizeof *w0), 0,
               "%s: weights were modified", what);
}

Test(pf, invalid_inputs)
{
  enum { N = 5 };
  double X[N * 2], X0[N * 2], Y[N * 2], y[2] = {1.1, 0.4}, w0[N];
  double r[2] = {4, 4}, R[4] = {0.5, 0.1, 0.1, 0.8}, ess = -1;
  draw_prior(X, N, 1);
  observe(X, Y, N);
  mt_pf *f = make(2, 2, N);
  /* uneven weights in the handle first, which errors must keep */
  cr_assert_eq(mt_pf_update(f, X, Y, y, r, MT_ENKF_R_DIAG, 1, 0, 0, NULL), 0);
  cr_assert_eq(mt_pf_resampled(f), 0);
  cr_assert_neq(mt_pf_weights(f)[0], mt_pf_weights(f)[1]);
  memcpy(w0, mt_pf_weights(f), sizeof w0);
  const mt_enkf_r D = MT_ENKF_R_DIAG, F = MT_ENKF_R_FULL;
#define UPD(x, yy, obs, rr, kind, h) \
  mt_pf_update(f, x, yy, obs, rr, kind, 1, 1, h, &ess)
#define EXPECT(call, what) expect_err(f, call, X, X0, sizeof X, w0, what)
  X[3] = NAN;
  memcpy(X0, X, sizeof X);
  EXPECT(UPD(X, Y, y, r, D, 0.5), "X[1][1]");
  X[3] = X0[3] = 0.5;
  Y[2] = INFINITY;
  EXPECT(UPD(X, Y, y, r, D, 0.5), "Y[1][0]");
  Y[2] = 0.2;
  y[1] = NAN;
  EXPECT(UPD(X, Y, y, r, D, 0.5), "y[0][1]");
  y[1] = 0.4;
  EXPECT(UPD(X, Y, y, r, D, -0.1), "bandwidth");
  EXPECT(UPD(X, Y, y, r, D, NAN), "bandwidth");
  EXPECT(UPD(X, Y, y, r, D, INFINITY), "bandwidth");
  r[1] = 0;
  EXPECT(UPD(X, Y, y, r, D, 0.5), "R[1][1]");
  r[1] = -1;
  EXPECT(UPD(X, Y, y, r, D, 0.5), "variance");
  r[1] = NAN;
  EXPECT(UPD(X, Y, y, r, D, 0.5), "R[0][1]");
  r[1] = 4;
  const double indefinite[4] = {1, 2, 2, 1}, asym[4] = {1, 0.1, 0.2, 1};
  EXPECT(UPD(X, Y, y, indefinite, F, 0.5), "not positive definite");
  EXPECT(UPD(X, Y, y, asym, F, 0.5), "not symmetric");
  EXPECT(UPD(X, Y, y, R, (mt_enkf_r)7, 0.5), "r_kind");
  EXPECT(UPD(NULL, Y, y, R, F, 0.5), "X is NULL");
  EXPECT(UPD(X, NULL, y, R, F, 0.5), "Y is NULL");
  EXPECT(UPD(X, Y, NULL, R, F, 0.5), "y is NULL");
  EXPECT(UPD(X, Y, y, NULL, F, 0.5), "R is NULL");
  /* finite inputs whose every likelihood underflows: (y - Y_i)^2 = inf */
  double far[2] = {-1e300, -1e300}, Yfar[N * 2];
  for (int k = 0; k < N * 2; k++)
    Yfar[k] = 1e300;
  EXPECT(UPD(X, Yfar, far, r, D, 0.5), "likelihood");
  /* a spread that overflows the kernel's covariance (resampling needed) */
  double Xbig[N * 2], Xbig0[N * 2];
  for (int k = 0; k < N * 2; k++)
    Xbig[k] = Xbig0[k] = (k % 2 ? 1e200 : -1e200) * (k + 1);
  const double tiny[2] = {1e-6, 1e-6}; /* member 0 takes all the weight */
  expect_err(f, UPD(Xbig, Y, Y, tiny, D, 0.5), Xbig, Xbig0, sizeof Xbig, w0,
             "overflows");
  cr_assert_eq(ess, -1, "ess written on error");
  cr_assert_eq(mt_pf_update(NULL, X, Y, y, R, F, 1, 1, 0, NULL), MT_EINVAL);
  /* A valid call after errors succeeds and clears the message. */
  cr_assert_eq(UPD(X, Y, y, R, F, 0.5), 0);
  cr_assert_str_empty(mt_pf_errmsg(f));
  cr_assert_gt(ess, 0);
#undef EXPECT
#undef UPD
  mt_pf_free(f);
}
