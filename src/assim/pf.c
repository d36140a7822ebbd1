/*
** Particle filter analysis (include/medtwin/pf.h): the bootstrap filter of
** Gordon, Salmond and Smith (1993) with resampling when the effective sample
** size falls below a fraction of N (Doucet and Johansen 2009), Kitagawa's
** (1996) systematic resampling and the Gaussian kernel of the regularised
** particle filter (Musso, Oudjane and Le Gland 2001).
**
** The input checks follow src/assim/enkf.c word for word, so that both
** filters report the same errors. Every step that can fail (checks, the
** factor of R, the weights, the kernel's factor) runs before X or the
** weights are written.
*/
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assim/check.h"
#include "medtwin/error.h"
#include "medtwin/pf.h"
#include "medtwin/rng.h"

/* The first key of the resampling stream: no member has this number. */
#define RESAMPLE_KEY UINT64_MAX

struct mt_pf {
  int n, m, N;
  double frac;          /* resample when ESS < frac N */
  int resampled;        /* the last update resampled */
  double *w, *wn, *lw;  /* weights; updated weights; log-weights (N) */
  double *Xs;           /* resampled ensemble, N x n */
  double *xm, *S;       /* weighted mean (n), covariance then factor (n x n) */
  double *work, *z;     /* dpstrf workspace (2 n); normals (n) */
  double *L, *d;        /* Cholesky factor of R (m x m); innovation (m) */
  int *idx;             /* resampled parents (N) */
  lapack_int *piv, rank;/* pivots of S's factor (n), its rank */
  double *block;        /* the one allocation behind the double arrays */
  char err[MT_ERRMSG_MAX];
};

static int fail(mt_pf *f, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->err, sizeof f->err, fmt, ap);
  va_end(ap);
  return code;
}

/* ---- create / free -------------------------------------------------- */

/* Point each array at its slice of f->block (or count the total in *len). */
static void carve(mt_pf *f, size_t *len)
{
  size_t n = (size_t)f->n, m = (size_t)f->m, N = (size_t)f->N, at = 0;
  struct { double **p; size_t size; } part[] = {
    {&f->w, N},     {&f->wn, N},  {&f->lw, N},       {&f->Xs, N * n},
    {&f->xm, n},    {&f->S, n * n}, {&f->work, 2 * n}, {&f->z, n},
    {&f->L, m * m}, {&f->d, m}};
  for (size_t i = 0; i < sizeof part / sizeof part[0]; i++) {
    if (f->block)
      *part[i].p = f->block + at;
    at += part[i].size;
  }
  *len = at;
}

int mt_pf_create(int n, int m, int N, mt_pf **out)
{
  if (!out)
    return MT_EINVAL;
  *out = NULL;
  if (n < 1 || m < 1 || N < 2 || n > 1000000 || m > 1000000 ||
      N > 100000000)
    return MT_EINVAL;
  mt_pf *f = calloc(1, sizeof *f);
  if (!f)
    return MT_ENOMEM;
  f->n = n, f->m = m, f->N = N, f->frac = MT_PF_THRESHOLD;
  size_t len;
  carve(f, &len);
  f->block = malloc(len * sizeof(double));
  f->idx = malloc((size_t)N * sizeof *f->idx);
  f->piv = malloc((size_t)n * sizeof *f->piv);
  if (!f->block || !f->idx || !f->piv) {
    mt_pf_free(f);
    return MT_ENOMEM;
  }
  carve(f, &len);
  mt_pf_reset_weights(f);
  *out = f;
  return 0;
}

void mt_pf_free(mt_pf *f)
{
  if (!f)
    return;
  free(f->block);
  free(f->idx);
  free(f->piv);
  free(f);
}

const char *mt_pf_errmsg(const mt_pf *f)
{
  return f ? f->err : "no filter (NULL handle)";
}

const double *mt_pf_weights(const mt_pf *f)
{
  return f ? f->w : NULL;
}

int mt_pf_resampled(const mt_pf *f)
{
  return f ? f->resampled : 0;
}

void mt_pf_reset_weights(mt_pf *f)
{
  if (!f)
    return;
  for (int i = 0; i < f->N; i++)
    f->w[i] = 1.0 / f->N;
  f->resampled = 0;
}

int mt_pf_set_threshold(mt_pf *f, double frac)
{
  if (!f)
    return MT_EINVAL;
  if (!(frac > 0 && frac <= 1))
    return fail(f, MT_EINVAL, "threshold frac = %g: expected 0 < frac <= 1",
                frac);
  f->frac = frac;
  f->err[0] = 0;
  return 0;
}

double mt_pf_bandwidth(int n, int N)
{
  if (n < 1 || N < 1)
    return NAN;
  return pow(4.0 / ((double)N * (n + 2)), 1.0 / (n + 4));
}

/* ---- input checks (as enkf.c) --------------------------------------- */

static int check_inputs(mt_pf *f, const double *X, const double *Y,
                        const double *y, const double *R, mt_enkf_r kind,
                        double h)
{
  int rc = mt_assim_check_arrays(f->err, f->N, f->n, f->m, X, Y, y, R, kind);
  if (!rc && (!(h >= 0) || !isfinite(h)))
    rc = fail(f, MT_EINVAL, "bandwidth h = %g: expected a finite "
                "value >= 0", h);
  return rc;
}

/* L = chol(R) (lower), or nothing for a diagonal R. */
static int factor_r(mt_pf *f, const double *R, mt_enkf_r kind)
{
  int m = f->m;
  if (kind == MT_ENKF_R_DIAG)
    return 0;
  memcpy(f->L, R, (size_t)m * m * sizeof *R); /* symmetric: layout is moot */
  lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', m, f->L, m);
  if (info != 0)
    return fail(f, MT_EINVAL, "R is not positive definite (leading minor "
                "of order %d)", (int)info);
  return 0;
}

/* ---- weights -------------------------------------------------------- */

/* (y - y_i)^T R^-1 (y - y_i) for member i; +inf when it overflows. */
static double mahalanobis(mt_pf *f, const double *yi, const double *y,
                          const double *R, mt_enkf_r kind)
{
  int m = f->m;
  double q = 0;
  for (int k = 0; k < m; k++)
    f->d[k] = y[k] - yi[k];
  if (kind == MT_ENKF_R_FULL)
    cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, m,
                f->L, m, f->d, 1);
  else
    for (int k = 0; k < m; k++)
      f->d[k] /= sqrt(R[k]);
  for (int k = 0; k < m; k++)
    q += f->d[k] * f->d[k];
  return isfinite(q) ? q : INFINITY;
}

/*
** wn = w exp(l) normalised, with l_i = -q_i / 2, by way of the log-weights
** lw_i = log w_i + l_i less their maximum; returns ESS = 1 / sum wn^2.
** A zero (underflowed) weight has log -inf and stays 0.
*/
static int reweigh(mt_pf *f, const double *Y, const double *y,
                   const double *R, mt_enkf_r kind, double *ess)
{
  int N = f->N, m = f->m;
  double top = -INFINITY, sum = 0, sq = 0;
  for (int i = 0; i < N; i++) {
    double q = mahalanobis(f, Y + (size_t)i * m, y, R, kind);
    f->lw[i] = log(f->w[i]) - 0.5 * q;
    top = fmax(top, f->lw[i]);
  }
  if (!isfinite(top))
    return fail(f, MT_EINVAL, "every member's likelihood is 0: "
                "(y - Y[i])^T R^-1 (y - Y[i]) overflows for all %d members", N);
  for (int i = 0; i < N; i++)
    sum += f->wn[i] = exp(f->lw[i] - top); /* the best member gives 1 */
  for (int i = 0; i < N; i++) {
    f->wn[i] /= sum;
    sq += f->wn[i] * f->wn[i];
  }
  *ess = 1 / sq;
  return 0;
}

/* ---- systematic resampling ------------------------------------------ */

/*
** Member i covers [c_{i-1}, c_i) of [0, N), c_i = N (w_1 + .. + w_i) / sum;
** point k + u falls in exactly one. Points past the last cumulative sum
** (roundoff) go to the last member of positive weight.
*/
static void systematic(const double *w, int N, double sum, double u, int *idx)
{
  int last = N - 1;
  while (last > 0 && !(w[last] > 0))
    last--;
  double scale = N / sum, c = w[0] * scale;
  int i = 0;
  for (int k = 0; k < N; k++) {
    double p = k + u;
    while (p >= c && i < last)
      c += w[++i] * scale;
    idx[k] = i;
  }
}

int mt_pf_systematic(const double *w, int N, double u, int *idx)
{
  if (!w || !idx || N < 1 || !(u >= 0 && u < 1))
    return MT_EINVAL;
  double sum = 0;
  for (int i = 0; i < N; i++) {
    if (!isfinite(w[i]) || w[i] < 0)
      return MT_EINVAL;
    sum += w[i];
  }
  if (!(sum > 0) || !isfinite(sum))
    return MT_EINVAL;
  systematic(w, N, sum, u, idx);
  return 0;
}

/* ---- the regularisation kernel -------------------------------------- */

/* xm, S = weighted mean and covariance of X under the weights f->w. */
static void weighted_moments(mt_pf *f, const double *X)
{
  int n = f->n, N = f->N;
  double sq = 0;
  memset(f->xm, 0, (size_t)n * sizeof *f->xm);
  memset(f->S, 0, (size_t)n * n * sizeof *f->S);
  for (int i = 0; i < N; i++) {
    sq += f->w[i] * f->w[i];
    for (int j = 0; j < n; j++)
      f->xm[j] += f->w[i] * X[(size_t)i * n + j];
  }
  for (int i = 0; i < N; i++) {
    const double *x = X + (size_t)i * n;
    for (int a = 0; a < n; a++) /* lower triangle, column-major */
      for (int b = a; b < n; b++)
        f->S[(size_t)a * n + b] += f->w[i] * (x[a] - f->xm[a]) *
                                   (x[b] - f->xm[b]);
  }
  double div = 1 - sq; /* reliability weights: N - 1 when all are 1/N */
  for (size_t k = 0; k < (size_t)n * n; k++)
    f->S[k] = div > 0 ? f->S[k] / div : 0;
}

/* S = P L L^T P^T by pivoted Cholesky; rank-deficient S is fine. */
static int kernel_factor(mt_pf *f, const double *X)
{
  int n = f->n;
  weighted_moments(f, X);
  for (size_t k = 0; k < (size_t)n * n; k++)
    if (!isfinite(f->S[k]))
      return fail(f, MT_EINVAL, "the spread of X overflows: its weighted "
                  "covariance is not finite");
  lapack_int info = LAPACKE_dpstrf_work(LAPACK_COL_MAJOR, 'L', n, f->S, n,
                                        f->piv, &f->rank, -1.0, f->work);
  if (info < 0)
    return fail(f, MT_ESOLVER, "pivoted Cholesky factor of the %d x %d "
                "kernel covariance failed (info %d)", n, n, (int)info);
  return 0; /* info > 0: rank f->rank < n, and only that part is used */
}

/* Member k += h P L z, z from stream (seed; k, purpose, step). */
static void jitter(mt_pf *f, double *X, uint64_t seed, uint64_t step,
                   double h)
{
  int n = f->n, r = (int)f->rank;
  for (int k = 0; k < f->N; k++) {
    mt_rng g;
    mt_rng_init(&g, seed, (uint64_t)k, MT_PF_RNG_PURPOSE, step);
    for (int j = 0; j < n; j++) /* always n draws: independent of the rank */
      f->z[j] = mt_rng_normal(&g);
    double *x = X + (size_t)k * n;
    for (int a = 0; a < n; a++) {
      double v = 0;
      for (int b = 0; b <= a && b < r; b++)
        v += f->S[(size_t)b * n + a] * f->z[b];
      x[f->piv[a] - 1] += h * v;
    }
  }
}

/* ---- the update ----------------------------------------------------- */

/* Replace X by the systematic resample of its rows under f->wn. */
static void resample(mt_pf *f, double *X, uint64_t seed, uint64_t step)
{
  int n = f->n, N = f->N;
  mt_rng g;
  mt_rng_init(&g, seed, RESAMPLE_KEY, MT_PF_RNG_PURPOSE, step);
  systematic(f->wn, N, 1.0, mt_rng_uniform(&g), f->idx);
  for (int k = 0; k < N; k++)
    memcpy(f->Xs + (size_t)k * n, X + (size_t)f->idx[k] * n,
           (size_t)n * sizeof *X);
  memcpy(X, f->Xs, (size_t)N * n * sizeof *X);
}

int mt_pf_update(mt_pf *f, double *X, const double *Y, const double *y,
                 const double *R, mt_enkf_r r_kind, uint64_t seed,
                 uint64_t step, double h, double *ess)
{
  if (!f)
    return MT_EINVAL;
  f->err[0] = 0;
  double e = 0;
  int rc = check_inputs(f, X, Y, y, R, r_kind, h);
  if (!rc)
    rc = factor_r(f, R, r_kind);
  if (!rc)
    rc = reweigh(f, Y, y, R, r_kind, &e);
  int redo = !rc && e < f->frac * f->N;
  if (redo && h > 0)
    rc = kernel_factor(f, X); /* on X and w as they came in */
  if (rc)
    return rc;
  if (redo) {
    resample(f, X, seed, step);
    if (h > 0)
      jitter(f, X, seed, step, h);
    for (int i = 0; i < f->N; i++)
      f->wn[i] = 1.0 / f->N;
  }
  memcpy(f->w, f->wn, (size_t)f->N * sizeof *f->w);
  f->resampled = redo;
  if (ess)
    *ess = e;
  return 0;
}
