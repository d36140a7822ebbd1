/*
** Ensemble Kalman filter analysis (include/medtwin/enkf.h) against the
** Kalman filter on a linear-Gaussian problem, against the textbook
** sample-covariance formulas on nonlinear ones, scalar cases worked by hand,
** symmetry properties of the ETKF, and input errors.
**
** Problem: state n = 3 with prior mean mu and non-diagonal covariance P,
** H (2 x 3) observing x0 and x1 + x2, R = diag(0.5, 0.8), y = (2, 1).
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/enkf.h"
#include "medtwin/error.h"

#define NX 3
#define NY 2

static const double MU[NX] = {1.0, -0.5, 2.0};
static const double P0[NX * NX] = {2.0, 0.6, -0.4, 0.6, 1.0, 0.3,
                                   -0.4, 0.3, 1.5};
static const double H0[NY * NX] = {1, 0, 0, 0, 1, 1};
static const double RDIAG[NY] = {0.5, 0.8};
static const double YOBS[NY] = {2.0, 1.0};

/* ---- a seeded generator: xorshift64* and Box-Muller ----------------- */

static uint64_t rs = 88172645463325252ull;

static double unif(void)
{
  rs ^= rs >> 12, rs ^= rs << 25, rs ^= rs >> 27;
  return ((rs * 2685821657736338717ull >> 11) + 0.5) * 0x1p-53;
}

static double gauss(void)
{
  return sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif());
}

/* ---- small dense algebra, row-major --------------------------------- */

/* c (r x s) = a (r x t) b (t x s), with b transposed when bt. */
static void mul(const double *a, const double *b, double *c, int r, int t,
                int s, int bt)
{
  for (int i = 0; i < r; i++)
    for (int j = 0; j < s; j++) {
      double sum = 0;
      for (int k = 0; k < t; k++)
        sum += a[i * t + k] * (bt ? b[j * t + k] : b[k * s + j]);
      c[i * s + j] = sum;
    }
}

/* Lower Cholesky factor of an SPD n x n matrix. */
static void chol(const double *a, double *l, int n)
{
  memset(l, 0, sizeof(double) * n * n);
  for (int j = 0; j < n; j++)
    for (int i = j; i < n; i++) {
      double s = a[i * n + j];
      for (int k = 0; k < j; k++)
        s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = i == j ? sqrt(s) : s / l[j * n + j];
    }
}

/* Inverse by Gauss-Jordan with partial pivoting (n <= 8). */
static void inv(const double *a, double *out, int n)
{
  double w[8 * 16];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < 2 * n; j++)
      w[i * 2 * n + j] = j < n ? a[i * n + j] : (j - n == i);
  for (int c = 0; c < n; c++) {
    int p = c;
    for (int i = c + 1; i < n; i++)
      if (fabs(w[i * 2 * n + c]) > fabs(w[p * 2 * n + c]))
        p = i;
    for (int j = 0; j < 2 * n; j++) {
      double t = w[c * 2 * n + j];
      w[c * 2 * n + j] = w[p * 2 * n + j], w[p * 2 * n + j] = t;
    }
    double d = w[c * 2 * n + c];
    for (int j = 0; j < 2 * n; j++)
      w[c * 2 * n + j] /= d;
    for (int i = 0; i < n; i++)
      if (i != c) {
        double f = w[i * 2 * n + c];
        for (int j = 0; j < 2 * n; j++)
          w[i * 2 * n + j] -= f * w[c * 2 * n + j];
      }
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      out[i * n + j] = w[i * 2 * n + n + j];
}

/* max |a - b| <= tol * max |b| over len entries. */
static void close_rel(const double *a, const double *b, int len, double tol,
                      const char *what)
{
  double scale = 0, err = 0;
  for (int i = 0; i < len; i++) {
    scale = fmax(scale, fabs(b[i]));
    err = fmax(err, fabs(a[i] - b[i]));
  }
  cr_assert_leq(err, tol * scale, "%s: error %g > %g x %g", what, err, tol,
                scale);
}

/* ---- the Kalman filter and gain from given covariances -------------- */

/*
** Gain K = Pxy (Pyy + R)^-1 (n x m) and analysis xa = xb + K (y - yb),
** Pa = Pxx - K Pxy^T: the Kalman filter when Pxy = P H^T, Pyy = H P H^T.
*/
static void gain_update(int n, int m, const double *xb, const double *yb,
                        const double *Pxx, const double *Pxy,
                        const double *Pyy, const double *R, const double *y,
                        double *K, double *xa, double *Pa)
{
  double S[64], Si[64], KPyx[64];
  for (int i = 0; i < m * m; i++)
    S[i] = Pyy[i] + R[i];
  inv(S, Si, m);
  mul(Pxy, Si, K, n, m, m, 0);
  for (int j = 0; j < n; j++) {
    xa[j] = xb[j];
    for (int k = 0; k < m; k++)
      xa[j] += K[j * m + k] * (y[k] - yb[k]);
  }
  mul(K, Pxy, KPyx, n, m, n, 1);
  for (int i = 0; i < n * n; i++)
    Pa[i] = Pxx[i] - KPyx[i];
}

static void kalman(double rho, const double *R, double *xa, double *Pa)
{
  double P[NX * NX], PHt[NX * NY], HPHt[NY * NY], Hmu[NY], K[NX * NY];
  for (int i = 0; i < NX * NX; i++)
    P[i] = rho * P0[i];
  mul(P, H0, PHt, NX, NX, NY, 1);
  mul(H0, PHt, HPHt, NY, NX, NY, 0);
  mul(H0, MU, Hmu, NY, NX, 1, 0);
  gain_update(NX, NY, MU, Hmu, P, PHt, HPHt, R, YOBS, K, xa, Pa);
}

static void full_r(const double *diag, double *R, int m)
{
  memset(R, 0, sizeof(double) * m * m);
  for (int k = 0; k < m; k++)
    R[k * m + k] = diag[k];
}

/* ---- ensembles ------------------------------------------------------ */

/*
** N members whose sample mean is exactly mu and sample covariance exactly
** P0 (to roundoff): draw Z, centre it, whiten it by the Cholesky factor of
** its own sample covariance, then colour it with chol(P0).
*/
static void exact_prior(double *X, int N)
{
  double *Z = malloc(sizeof(double) * N * NX), m[NX], C[NX * NX];
  double Lz[NX * NX], Lp[NX * NX], w[NX];
  for (int i = 0; i < N * NX; i++)
    Z[i] = gauss();
  cr_assert_eq(mt_enkf_moments(Z, N, NX, m, C), 0);
  chol(C, Lz, NX);
  chol(P0, Lp, NX);
  for (int i = 0; i < N; i++) {
    for (int a = 0; a < NX; a++) { /* w = Lz^-1 (z - m) */
      w[a] = Z[i * NX + a] - m[a];
      for (int b = 0; b < a; b++)
        w[a] -= Lz[a * NX + b] * w[b];
      w[a] /= Lz[a * NX + a];
    }
    for (int a = 0; a < NX; a++) {
      X[i * NX + a] = MU[a];
      for (int b = 0; b <= a; b++)
        X[i * NX + a] += Lp[a * NX + b] * w[b];
    }
  }
  free(Z);
}

/* N independent draws from N(mu, P0). */
static void random_prior(double *X, int N)
{
  double Lp[NX * NX], z[NX];
  chol(P0, Lp, NX);
  for (int i = 0; i < N; i++) {
    for (int a = 0; a < NX; a++)
      z[a] = gauss();
    for (int a = 0; a < NX; a++) {
      X[i * NX + a] = MU[a];
      for (int b = 0; b <= a; b++)
        X[i * NX + a] += Lp[a * NX + b] * z[b];
    }
  }
}

static void observe_linear(const double *X, double *Y, int N)
{
  mul(X, H0, Y, N, NX, NY, 1); /* Y = X H^T */
}

/* m nonlinear observables of member x (m <= 6). */
static void observe_nonlinear(const double *x, double *y, int m)
{
  const double all[6] = {x[0] * x[0], sin(x[1]) + x[2], exp(0.3 * x[2]),
                         x[0] * x[1], x[1] - 2 * x[2], cos(x[0]) * x[2]};
  memcpy(y, all, sizeof(double) * m);
}

/* An SPD m x m R with correlations 0.5^|i-j| and variances 0.3 + 0.1 k. */
static void ar1_r(double *R, int m)
{
  for (int i = 0; i < m; i++)
    for (int j = 0; j < m; j++)
      R[i * m + j] = pow(0.5, abs(i - j)) * sqrt((0.3 + 0.1 * i) *
                                                 (0.3 + 0.1 * j));
}

static mt_enkf *make(int n, int m, int N)
{
  mt_enkf *f = NULL;
  cr_assert_eq(mt_enkf_create(n, m, N, &f), 0);
  cr_assert_not_null(f);
  return f;
}

/* ---- ETKF against the Kalman filter --------------------------------- */

/*
** The strongest test. The prior ensemble's sample mean and covariance are
** exactly mu and rho P0 and H is linear, so the ETKF's analysis mean and
** covariance equal the Kalman filter's by algebra (Woodbury), with no
** sampling error to hide behind: a wrong factor N - 1, a transposed matrix
** or a wrong square root would show as an O(1) error, where only roundoff
** (~N eps) is allowed. Tolerance 1e-10 relative to the largest entry.
*/
static void etkf_vs_kalman(int N, double rho, mt_enkf_r kind, const double *R)
{
  double *X = malloc(sizeof(double) * N * NX);
  double *Y = malloc(sizeof(double) * N * NY);
  double xa[NX], Pa[NX * NX], m[NX], C[NX * NX], Rf[NY * NY];
  rs = 12345;
  exact_prior(X, N);
  observe_linear(X, Y, N);
  mt_enkf *f = make(NX, NY, N);
  cr_assert_eq(mt_enkf_etkf(f, X, Y, YOBS, R, kind, rho), 0, "%s",
               mt_enkf_errmsg(f));
  if (kind == MT_ENKF_R_DIAG)
    full_r(R, Rf, NY);
  else
    memcpy(Rf, R, sizeof Rf);
  kalman(rho, Rf, xa, Pa);
  cr_assert_eq(mt_enkf_moments(X, N, NX, m, C), 0);
  close_rel(m, xa, NX, 1e-10, "analysis mean");
  close_rel(C, Pa, NX * NX, 1e-10, "analysis covariance");
  mt_enkf_free(f);
  free(X);
  free(Y);
}

Test(enkf, etkf_matches_kalman_exact_prior_N2000)
{
  etkf_vs_kalman(2000, 1.0, MT_ENKF_R_DIAG, RDIAG);
}

Test(enkf, etkf_matches_kalman_full_correlated_r)
{
  const double R[NY * NY] = {0.5, 0.2, 0.2, 0.8};
  etkf_vs_kalman(500, 1.0, MT_ENKF_R_FULL, R);
}

/* Inflation rho multiplies the prior covariance: compare with KF on rho P. */
Test(enkf, etkf_inflation_is_kalman_on_rho_p)
{
  etkf_vs_kalman(500, 1.5, MT_ENKF_R_DIAG, RDIAG);
  double R[NY * NY];
  full_r(RDIAG, R, NY);
  etkf_vs_kalman(300, 1.08, MT_ENKF_R_FULL, R);
}

/* A diagonal R passed as DIAG or as a full matrix gives the same update. */
Test(enkf, diag_and_full_r_agree)
{
  enum { N = 60 };
  double X1[N * NX], X2[N * NX], Y[N * NY], R[NY * NY];
  rs = 7;
  random_prior(X1, N);
  memcpy(X2, X1, sizeof X1);
  observe_linear(X1, Y, N);
  full_r(RDIAG, R, NY);
  mt_enkf *f = make(NX, NY, N);
  cr_assert_eq(mt_enkf_etkf(f, X1, Y, YOBS, RDIAG, MT_ENKF_R_DIAG, 1.1), 0);
  cr_assert_eq(mt_enkf_etkf(f, X2, Y, YOBS, R, MT_ENKF_R_FULL, 1.1), 0);
  close_rel(X1, X2, N * NX, 1e-12, "diag vs full R");
  mt_enkf_free(f);
}

/* ---- both variants against the sample-covariance formulas ----------- */

/*
** Any prior, any (nonlinear) Y: with inflated sample covariances
** Pxx = rho X'X'^T/(N-1), Pxy = rho X'Y'^T/(N-1), Pyy = rho Y'Y'^T/(N-1),
** the ETKF's analysis mean is xbar + K (y - ybar) and its covariance
** Pxx - K Pxy^T, K = Pxy (Pyy + R)^-1 (Woodbury). The mean check is the
** statement that the analysis anomalies X' W sum to zero. Covers m > N,
** where C Y' is rank-deficient.
*/
static void sample_stats(const double *X, const double *Y, int N, int m,
                         double rho, double *xb, double *yb, double *Pxx,
                         double *Pxy, double *Pyy)
{
  double z[NX + 6], zb[NX + 6] = {0}, Z[(NX + 6) * (NX + 6)] = {0};
  int nz = NX + m; /* z = (x, y) stacked, then split its covariance */
  for (int i = 0; i < N; i++)
    for (int a = 0; a < nz; a++)
      zb[a] += (a < NX ? X[i * NX + a] : Y[i * m + a - NX]) / N;
  for (int i = 0; i < N; i++) {
    for (int a = 0; a < nz; a++)
      z[a] = (a < NX ? X[i * NX + a] : Y[i * m + a - NX]) - zb[a];
    for (int a = 0; a < nz; a++)
      for (int b = 0; b < nz; b++)
        Z[a * nz + b] += rho * z[a] * z[b] / (N - 1);
  }
  memcpy(xb, zb, sizeof(double) * NX);
  memcpy(yb, zb + NX, sizeof(double) * m);
  for (int a = 0; a < NX; a++)
    for (int b = 0; b < nz; b++) {
      if (b < NX)
        Pxx[a * NX + b] = Z[a * nz + b];
      else
        Pxy[a * m + b - NX] = Z[a * nz + b];
    }
  for (int k = 0; k < m; k++)
    for (int l = 0; l < m; l++)
      Pyy[k * m + l] = Z[(NX + k) * nz + NX + l];
}

static void etkf_vs_formula(int N, int m, double rho)
{
  double X[64 * NX], Y[64 * 6], R[36], y[6], xb[NX], yb[6], Pxx[9];
  double Pxy[NX * 6], Pyy[36], K[NX * 6], xa[NX], Pa[9], mean[NX], C[9];
  rs = 99 + (uint64_t)N;
  random_prior(X, N);
  for (int i = 0; i < N; i++)
    observe_nonlinear(X + i * NX, Y + i * m, m);
  for (int k = 0; k < m; k++)
    y[k] = Y[k] + 0.7; /* near member 0, off the mean */
  ar1_r(R, m);
  sample_stats(X, Y, N, m, rho, xb, yb, Pxx, Pxy, Pyy);
  gain_update(NX, m, xb, yb, Pxx, Pxy, Pyy, R, y, K, xa, Pa);
  mt_enkf *f = make(NX, m, N);
  cr_assert_eq(mt_enkf_etkf(f, X, Y, y, R, MT_ENKF_R_FULL, rho), 0, "%s",
               mt_enkf_errmsg(f));
  cr_assert_eq(mt_enkf_moments(X, N, NX, mean, C), 0);
  close_rel(mean, xa, NX, 1e-10, "ETKF mean (anomalies sum to zero)");
  close_rel(C, Pa, NX * NX, 1e-10, "ETKF covariance");
  mt_enkf_free(f);
}

Test(enkf, etkf_matches_sample_formulas_nonlinear)
{
  etkf_vs_formula(40, 3, 1.0);
  etkf_vs_formula(25, 2, 1.2);
  etkf_vs_formula(4, 6, 1.05); /* m > N */
}

/*
** Stochastic variant, exactly: x_i <- x_i~ + K (y + e_i - ebar - y_i~),
** with x_i~, y_i~ the members inflated about their means by sqrt(rho).
*/
Test(enkf, stochastic_matches_textbook_update)
{
  enum { N = 30, M = 4 };
  double X[N * NX], X0[N * NX], Y[N * M], E[N * M], R[M * M], y[M];
  double xb[NX], yb[M], Pxx[9], Pxy[NX * M], Pyy[M * M], K[NX * M];
  double xa[NX], Pa[9], ebar[M] = {0}, want[N * NX];
  const double rho = 1.3, sr = sqrt(rho);
  rs = 2024;
  random_prior(X, N);
  memcpy(X0, X, sizeof X);
  for (int i = 0; i < N; i++)
    observe_nonlinear(X + i * NX, Y + i * M, M);
  for (int i = 0; i < N * M; i++)
    E[i] = 0.4 * gauss() + 0.1; /* a mean that the update must remove */
  for (int i = 0; i < N * M; i++)
    ebar[i % M] += E[i] / N;
  ar1_r(R, M);
  for (int k = 0; k < M; k++)
    y[k] = Y[M + k] - 0.5;
  sample_stats(X, Y, N, M, rho, xb, yb, Pxx, Pxy, Pyy);
  gain_update(NX, M, xb, yb, Pxx, Pxy, Pyy, R, y, K, xa, Pa);
  for (int i = 0; i < N; i++)
    for (int a = 0; a < NX; a++) {
      double v = xb[a] + sr * (X0[i * NX + a] - xb[a]);
      for (int k = 0; k < M; k++)
        v += K[a * M + k] * (y[k] + E[i * M + k] - ebar[k] -
                             (yb[k] + sr * (Y[i * M + k] - yb[k])));
      want[i * NX + a] = v;
    }
  mt_enkf *f = make(NX, M, N);
  cr_assert_eq(mt_enkf_stochastic(f, X, Y, y, R, MT_ENKF_R_FULL, E, rho), 0,
               "%s", mt_enkf_errmsg(f));
  close_rel(X, want, N * NX, 1e-10, "stochastic members");
  /* Deterministic for given inputs: a second run is bit-identical. */
  cr_assert_eq(mt_enkf_stochastic(f, X0, Y, y, R, MT_ENKF_R_FULL, E, rho), 0);
  cr_assert_eq(memcmp(X, X0, sizeof X), 0);
  mt_enkf_free(f);
}

/*
** Stochastic EnKF with a random prior and perturbations, N = 2000, against
** the Kalman filter. Mean: |xbar_a - xa| <= 4 sigma / sqrt(N), sigma^2 the
** KF analysis variance. Covariance: each entry of the analysis sample
** covariance is, to leading order, the sample covariance of N draws of
** z = (I - KH) x + K e ~ N(xa, Pa) (the error in the sampled gain enters
** only at second order, because the KF's innovation is uncorrelated with
** its analysis), whose standard error is sqrt((Pa_ii Pa_jj + Pa_ij^2) / N);
** the tolerance is 4 of those.
*/
Test(enkf, stochastic_matches_kalman_statistically)
{
  enum { N = 2000 };
  double *X = malloc(sizeof(double) * N * NX);
  double *Y = malloc(sizeof(double) * N * NY);
  double *E = malloc(sizeof(double) * N * NY);
  double xa[NX], Pa[9], m[NX], C[9], R[NY * NY];
  rs = 31337;
  random_prior(X, N);
  observe_linear(X, Y, N);
  for (int i = 0; i < N * NY; i++)
    E[i] = sqrt(RDIAG[i % NY]) * gauss();
  mt_enkf *f = make(NX, NY, N);
  cr_assert_eq(mt_enkf_stochastic(f, X, Y, YOBS, RDIAG, MT_ENKF_R_DIAG, E,
                                  1.0), 0, "%s", mt_enkf_errmsg(f));
  full_r(RDIAG, R, NY);
  kalman(1.0, R, xa, Pa);
  cr_assert_eq(mt_enkf_moments(X, N, NX, m, C), 0);
  for (int a = 0; a < NX; a++) {
    cr_assert_leq(fabs(m[a] - xa[a]), 4 * sqrt(Pa[a * NX + a] / N),
                  "mean[%d] %g vs %g", a, m[a], xa[a]);
    for (int b = 0; b < NX; b++) {
      double pij = Pa[a * NX + b];
      double se = sqrt((Pa[a * NX + a] * Pa[b * NX + b] + pij * pij) / N);
      cr_assert_leq(fabs(C[a * NX + b] - pij), 4 * se, "cov[%d][%d] %g vs %g",
                    a, b, C[a * NX + b], pij);
    }
  }
  mt_enkf_free(f);
  free(X), free(Y), free(E);
}

/* ---- scalar cases by hand ------------------------------------------- */

/*
** n = m = 1, H = 1, members {1, 2, 3}: xbar = 2, P = 1 (divisor N - 1 = 2);
** R = 1, y = 4. Kalman: K = 1/(1 + 1) = 1/2, xa = 2 + (4 - 2)/2 = 3,
** Pa = 1/2. ETKF: X' = v = (-1, 0, 1), C Y' = v v^T with |v|^2 = 2, so
** Pa~ = [2 I + v v^T]^-1 is 1/4 along v and 1/2 across it; wbar = Pa~ v 2
** = v/2 and X' wbar = |v|^2 / 2 = 1; W = [2 Pa~]^(1/2) is 1/sqrt(2) along v,
** so X' W = X'/sqrt(2): members 3 - 1/sqrt(2), 3, 3 + 1/sqrt(2).
*/
Test(enkf, etkf_scalar_by_hand)
{
  double X[3] = {1, 2, 3}, Y[3] = {1, 2, 3}, y = 4, r = 1;
  const double want[3] = {3 - sqrt(0.5), 3, 3 + sqrt(0.5)};
  mt_enkf *f = make(1, 1, 3);
  cr_assert_eq(mt_enkf_etkf(f, X, Y, &y, &r, MT_ENKF_R_DIAG, 1.0), 0);
  close_rel(X, want, 3, 1e-14, "scalar ETKF");
  mt_enkf_free(f);
}

/*
** Same prior, E = {1, 0, 0.5}: its mean 0.5 is removed, leaving
** e = {0.5, -0.5, 0}. With K = 1/2, x_i + (4 + e_i - x_i)/2:
** 1 -> 0.5 + 2.25 = 2.75, 2 -> 1 + 1.75 = 2.75, 3 -> 1.5 + 2 = 3.5.
*/
Test(enkf, stochastic_scalar_by_hand)
{
  double X[3] = {1, 2, 3}, Y[3] = {1, 2, 3}, E[3] = {1, 0, 0.5}, y = 4;
  double r = 1;
  const double want[3] = {2.75, 2.75, 3.5};
  mt_enkf *f = make(1, 1, 3);
  cr_assert_eq(mt_enkf_stochastic(f, X, Y, &y, &r, MT_ENKF_R_FULL, E, 1.0),
               0);
  close_rel(X, want, 3, 1e-14, "scalar stochastic EnKF");
  mt_enkf_free(f);
}

/*
** One observation takes a closed-form path (no eigendecomposition). It must
** agree with the general path, reached here with a second observation of
** variance 1e30, whose weight in Pa~ (about 1e-30 of the first's) is far
** below roundoff: agreement to 1e-10 relative, nonlinear Y, inflation 1.05.
*/
Test(enkf, etkf_one_observation_matches_general_path)
{
  enum { N = 40 };
  double X1[N * NX], X2[N * NX], Y1[N], Y2[N * 2], Y3[N * 3];
  double y1 = 1.7, y2[2] = {1.7, 0}, r1 = 0.3, r2[2] = {0.3, 1e30};
  rs = 777;
  random_prior(X1, N);
  memcpy(X2, X1, sizeof X1);
  for (int i = 0; i < N; i++) {
    observe_nonlinear(X1 + i * NX, Y3 + i * 3, 3);
    Y1[i] = Y2[2 * i] = Y3[3 * i];
    Y2[2 * i + 1] = Y3[3 * i + 1];
  }
  mt_enkf *f1 = make(NX, 1, N), *f2 = make(NX, 2, N);
  cr_assert_eq(mt_enkf_etkf(f1, X1, Y1, &y1, &r1, MT_ENKF_R_DIAG, 1.05), 0);
  cr_assert_eq(mt_enkf_etkf(f2, X2, Y2, y2, r2, MT_ENKF_R_DIAG, 1.05), 0);
  close_rel(X1, X2, N * NX, 1e-10, "one observation");
  /* and the analysis did move the ensemble */
  double X0[N * NX];
  rs = 777;
  random_prior(X0, N);
  double dmax = 0;
  for (int k = 0; k < N * NX; k++)
    dmax = fmax(dmax, fabs(X0[k] - X1[k]));
  cr_assert_gt(dmax, 1e-3);
  mt_enkf_free(f1);
  mt_enkf_free(f2);
}

/* ---- symmetry of the ETKF ------------------------------------------- */

/* Reordering members reorders the analysis the same way (symmetric root). */
Test(enkf, etkf_member_order_equivariant)
{
  enum { N = 50, M = 3 };
  double X[N * NX], Xp[N * NX], Y[N * M], Yp[N * M], R[M * M];
  double y[M] = {1.5, 2.0, 2.2};
  rs = 4242;
  random_prior(X, N);
  for (int i = 0; i < N; i++)
    observe_nonlinear(X + i * NX, Y + i * M, M);
  for (int i = 0; i < N; i++) { /* member i goes to slot (7 i + 3) mod 50 */
    int p = (7 * i + 3) % N;
    memcpy(Xp + p * NX, X + i * NX, sizeof(double) * NX);
    memcpy(Yp + p * M, Y + i * M, sizeof(double) * M);
  }
  ar1_r(R, M);
  mt_enkf *f = make(NX, M, N);
  cr_assert_eq(mt_enkf_etkf(f, X, Y, y, R, MT_ENKF_R_FULL, 1.05), 0);
  cr_assert_eq(mt_enkf_etkf(f, Xp, Yp, y, R, MT_ENKF_R_FULL, 1.05), 0);
  for (int i = 0; i < N; i++)
    close_rel(Xp + ((7 * i + 3) % N) * NX, X + i * NX, NX, 1e-10,
              "permuted member");
  mt_enkf_free(f);
}

/* ---- moments -------------------------------------------------------- */

Test(enkf, moments_by_hand)
{
  /* columns (1, 3, 5) and (2, 5, 11): means 3, 6; deviations (-2, 0, 2)
  ** and (-4, -1, 5): variances 8/2 = 4, 42/2 = 21, covariance 18/2 = 9. */
  const double X[6] = {1, 2, 3, 5, 5, 11}, want[4] = {4, 9, 9, 21};
  double m[2], C[4];
  cr_assert_eq(mt_enkf_moments(X, 3, 2, m, C), 0);
  cr_assert_float_eq(m[0], 3, 1e-15);
  cr_assert_float_eq(m[1], 6, 1e-15);
  close_rel(C, want, 4, 1e-15, "covariance");
  cr_assert_eq(mt_enkf_moments(X, 1, 2, m, NULL), 0);
  cr_assert_eq(mt_enkf_moments(X, 1, 2, m, C), MT_EINVAL);
  cr_assert_eq(mt_enkf_moments(NULL, 3, 2, m, C), MT_EINVAL);
  const double bad[4] = {1, NAN, 2, 3};
  cr_assert_eq(mt_enkf_moments(bad, 2, 2, m, C), MT_EINVAL);
}

/* ---- errors --------------------------------------------------------- */

Test(enkf, create_rejects_bad_sizes)
{
  mt_enkf *f = (mt_enkf *)&f;
  cr_assert_eq(mt_enkf_create(0, 1, 10, &f), MT_EINVAL);
  cr_assert_null(f);
  f = (mt_enkf *)&f;
  cr_assert_eq(mt_enkf_create(3, 0, 10, &f), MT_EINVAL);
  cr_assert_null(f);
  cr_assert_eq(mt_enkf_create(3, 1, 1, &f), MT_EINVAL);
  cr_assert_eq(mt_enkf_create(3, 1, 10, NULL), MT_EINVAL);
  mt_enkf_free(NULL);
  cr_assert_str_not_empty(mt_enkf_errmsg(NULL));
}

/* Expect rc and a message containing what; X must be untouched. */
static void expect_err(mt_enkf *f, int rc, const double *X, const double *X0,
                       size_t len, const char *what)
{
  cr_assert_eq(rc, MT_EINVAL, "%s: rc %d", what, rc);
  cr_assert(strstr(mt_enkf_errmsg(f), what), "'%s' lacks '%s'",
            mt_enkf_errmsg(f), what);
  cr_assert_eq(memcmp(X, X0, len), 0, "%s: X was modified", what);
}

Test(enkf, invalid_inputs)
{
  enum { N = 5 };
  double X[N * NX], X0[N * NX], Y[N * NY], E[N * NY] = {0}, y[NY] = {1, 2};
  double r[NY] = {0.5, 0.8}, R[4] = {0.5, 0.1, 0.1, 0.8};
  rs = 5;
  random_prior(X, N);
  memcpy(X0, X, sizeof X);
  observe_linear(X, Y, N);
  mt_enkf *f = make(NX, NY, N);
  const mt_enkf_r D = MT_ENKF_R_DIAG, F = MT_ENKF_R_FULL;
#define ETKF(x, yy, obs, rr, kind, rho)                                       \
  mt_enkf_etkf(f, x, yy, obs, rr, kind, rho)
  X[4] = NAN;
  memcpy(X0, X, sizeof X);
  expect_err(f, ETKF(X, Y, y, r, D, 1), X, X0, sizeof X, "X[1][1]");
  X[4] = X0[4] = 0.5;
  Y[3] = INFINITY;
  expect_err(f, ETKF(X, Y, y, r, D, 1), X, X0, sizeof X, "Y[1][1]");
  Y[3] = 0.2;
  y[1] = NAN;
  expect_err(f, ETKF(X, Y, y, r, D, 1), X, X0, sizeof X, "y[0][1]");
  y[1] = 2;
  expect_err(f, ETKF(X, Y, y, r, D, 0.99), X, X0, sizeof X, "rho");
  expect_err(f, ETKF(X, Y, y, r, D, NAN), X, X0, sizeof X, "rho");
  expect_err(f, ETKF(X, Y, y, r, D, INFINITY), X, X0, sizeof X, "rho");
  r[1] = 0;
  expect_err(f, ETKF(X, Y, y, r, D, 1), X, X0, sizeof X, "R[1][1]");
  r[1] = -1;
  expect_err(f, ETKF(X, Y, y, r, D, 1), X, X0, sizeof X, "variance");
  r[1] = NAN;
  expect_err(f, ETKF(X, Y, y, r, D, 1), X, X0, sizeof X, "R[0][1]");
  r[1] = 0.8;
  const double indefinite[4] = {1, 2, 2, 1}, asym[4] = {1, 0.1, 0.2, 1};
  expect_err(f, ETKF(X, Y, y, indefinite, F, 1), X, X0, sizeof X,
             "not positive definite");
  expect_err(f, ETKF(X, Y, y, asym, F, 1), X, X0, sizeof X, "not symmetric");
  expect_err(f, ETKF(X, Y, y, R, (mt_enkf_r)7, 1), X, X0, sizeof X, "r_kind");
  expect_err(f, ETKF(NULL, Y, y, R, F, 1), X, X0, sizeof X, "X is NULL");
  expect_err(f, ETKF(X, Y, NULL, R, F, 1), X, X0, sizeof X, "y is NULL");
  expect_err(f, mt_enkf_stochastic(f, X, Y, y, R, F, NULL, 1), X, X0,
             sizeof X, "E is NULL");
  E[7] = NAN;
  expect_err(f, mt_enkf_stochastic(f, X, Y, y, R, F, E, 1), X, X0, sizeof X,
             "E[3][1]");
  cr_assert_eq(mt_enkf_etkf(NULL, X, Y, y, R, F, 1), MT_EINVAL);
  /* A valid call after errors succeeds and clears the message. */
  cr_assert_eq(ETKF(X, Y, y, R, F, 1), 0);
  cr_assert_str_empty(mt_enkf_errmsg(f));
#undef ETKF
  mt_enkf_free(f);
}
