/*
** Ensemble Kalman filter analysis (include/medtwin/enkf.h): the ETKF of
** Bishop, Etherton and Majumdar (2001) in the symmetric ensemble-space form
** of Hunt, Kostelich and Szunyogh (2007), and the perturbed-observation EnKF
** of Burgers, van Leeuwen and Evensen (1998), sharing one eigendecomposition.
**
** Internally every matrix is column-major with members as columns (the
** public row-major N x n is the same memory). R = L L^T is factored once per
** call and the observation anomalies are whitened, S = L^-1 Y', so that
** C Y' = S^T S and C d = S^T L^-1 d: R^-1 is never formed.
*/
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/enkf.h"
#include "assim/check.h"
#include "medtwin/error.h"

struct mt_enkf {
  int n, m, N;
  double *xm, *ym, *dw;   /* means (n, m); whitened L^-1 (y - ybar) */
  double *Xp, *Xw;        /* X' and scratch, n x N */
  double *S, *D;          /* whitened Y' and perturbed innovations, m x N */
  double *L;              /* Cholesky factor of R, m x m */
  double *G, *lam;        /* S^T S, then its eigenvectors V; eigenvalues */
  double *u, *v;          /* N-vectors */
  double *VS, *K;         /* diag(pa) V^T S^T, N x m; X' Pa~ S^T, n x m */
  double *work;           /* dsyevd workspace */
  lapack_int *iwork, lwork, liwork;
  double *block;          /* the one allocation behind the double arrays */
  char err[MT_ERRMSG_MAX];
};

static int fail(mt_enkf *f, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->err, sizeof f->err, fmt, ap);
  va_end(ap);
  return code;
}

/* ---- create / free -------------------------------------------------- */

static int query_eig(int N, lapack_int *lwork, lapack_int *liwork)
{
  double a = 0, w = 0, wq = 0;
  lapack_int iwq = 0;
  lapack_int info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'L', N, &a, N,
                                        &w, &wq, -1, &iwq, -1);
  *lwork = (lapack_int)wq;
  *liwork = iwq;
  return info == 0 && wq >= 1 && iwq >= 1 ? 0 : MT_ENOMEM;
}

/* Point each array at its slice of f->block (or count the total in *len). */
static void carve(mt_enkf *f, size_t *len)
{
  size_t n = (size_t)f->n, m = (size_t)f->m, N = (size_t)f->N, at = 0;
  struct { double **p; size_t size; } part[] = {
    {&f->xm, n},      {&f->ym, m},      {&f->dw, m},      {&f->Xp, n * N},
    {&f->Xw, n * N},  {&f->S, m * N},   {&f->D, m * N},   {&f->L, m * m},
    {&f->G, N * N},   {&f->lam, N},     {&f->u, N},       {&f->v, N},
    {&f->VS, N * m},  {&f->K, n * m},   {&f->work, (size_t)f->lwork}};
  for (size_t i = 0; i < sizeof part / sizeof part[0]; i++) {
    if (f->block)
      *part[i].p = f->block + at;
    at += part[i].size;
  }
  *len = at;
}

int mt_enkf_create(int n, int m, int N, mt_enkf **out)
{
  if (!out)
    return MT_EINVAL;
  *out = NULL;
  /* dsyevd's workspace, 2 N^2 + 6 N + 1, must fit a 32-bit lapack_int. */
  if (n < 1 || m < 1 || N < 2 || n > 1000000 || m > 1000000 || N > 30000)
    return MT_EINVAL;
  mt_enkf *f = calloc(1, sizeof *f);
  if (!f)
    return MT_ENOMEM;
  f->n = n, f->m = m, f->N = N;
  size_t len;
  if (query_eig(N, &f->lwork, &f->liwork) == 0) {
    carve(f, &len);
    f->block = malloc(len * sizeof(double));
    f->iwork = malloc((size_t)f->liwork * sizeof(lapack_int));
  }
  if (!f->block || !f->iwork) {
    mt_enkf_free(f);
    return MT_ENOMEM;
  }
  carve(f, &len);
  *out = f;
  return 0;
}

void mt_enkf_free(mt_enkf *f)
{
  if (!f)
    return;
  free(f->block);
  free(f->iwork);
  free(f);
}

const char *mt_enkf_errmsg(const mt_enkf *f)
{
  return f ? f->err : "no filter (NULL handle)";
}

/* ---- input checks --------------------------------------------------- */

static int check_inputs(mt_enkf *f, const double *X, const double *Y,
                        const double *y, const double *R, mt_enkf_r kind,
                        double rho)
{
  int rc = mt_assim_check_arrays(f->err, f->N, f->n, f->m, X, Y, y, R, kind);
  if (!rc && (!(rho >= 1) || !isfinite(rho)))
    rc = fail(f, MT_EINVAL, "inflation rho = %g: expected a finite "
                "value >= 1", rho);
  return rc;
}

/* ---- shared steps --------------------------------------------------- */

/* out[j] = mean over the N members i of a[i*len + j]. */
static void member_mean(const double *a, int N, int len, double *out)
{
  memset(out, 0, (size_t)len * sizeof *out);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < len; j++)
      out[j] += a[(size_t)i * len + j];
  for (int j = 0; j < len; j++)
    out[j] /= N;
}

static void anomalies(const double *a, const double *mean, int N, int len,
                      double *out)
{
  for (int i = 0; i < N; i++)
    for (int j = 0; j < len; j++)
      out[(size_t)i * len + j] = a[(size_t)i * len + j] - mean[j];
}

/* L = chol(R) (lower), or nothing for a diagonal R. */
static int factor_r(mt_enkf *f, const double *R, mt_enkf_r kind)
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

/* a <- L^-1 a for an m x cols column-major block. */
static void whiten(mt_enkf *f, const double *R, mt_enkf_r kind, double *a,
                   int cols)
{
  int m = f->m;
  if (kind == MT_ENKF_R_FULL) {
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans,
                CblasNonUnit, m, cols, 1.0, f->L, m, a, m);
    return;
  }
  for (int c = 0; c < cols; c++)
    for (int k = 0; k < m; k++)
      a[(size_t)c * m + k] /= sqrt(R[k]);
}

/*
** Everything both variants need: X', whitened S and dw, and the
** eigendecomposition S^T S = V diag(lam) V^T (V in G).
*/
static int prepare(mt_enkf *f, const double *X, const double *Y,
                   const double *y, const double *R, mt_enkf_r kind)
{
  int n = f->n, m = f->m, N = f->N;
  int rc = factor_r(f, R, kind);
  if (rc)
    return rc;
  member_mean(X, N, n, f->xm);
  member_mean(Y, N, m, f->ym);
  anomalies(X, f->xm, N, n, f->Xp);
  anomalies(Y, f->ym, N, m, f->S);
  for (int k = 0; k < m; k++)
    f->dw[k] = y[k] - f->ym[k];
  whiten(f, R, kind, f->S, N);
  whiten(f, R, kind, f->dw, 1);
  cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, N, m, 1.0, f->S, m, 0.0,
              f->G, N);
  lapack_int info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'L', N, f->G,
                                        N, f->lam, f->work, f->lwork,
                                        f->iwork, f->liwork);
  if (info != 0)
    return fail(f, MT_ESOLVER, "eigendecomposition of the %d x %d ensemble "
                "matrix failed (info %d)", N, N, (int)info);
  for (int k = 0; k < N; k++) {
    if (!isfinite(f->lam[k]))
      return fail(f, MT_EINVAL, "observation anomalies overflow: "
                  "Y' R^-1 Y' is not finite");
    if (f->lam[k] < 0) /* S^T S is semidefinite: only roundoff is negative */
      f->lam[k] = 0;
  }
  return 0;
}

/* Pa~ has eigenvalues 1 / ((N - 1) / rho + lam_k). */
static double pa_eig(const mt_enkf *f, double rho, int k)
{
  return 1.0 / ((f->N - 1) / rho + f->lam[k]);
}

/* X = X + xa 1^T, column by column (member by member). */
static void add_mean(double *X, const double *xa, int N, int n)
{
  for (int i = 0; i < N; i++)
    for (int j = 0; j < n; j++)
      X[(size_t)i * n + j] += xa[j];
}

/* ---- ETKF ------------------------------------------------------------ */

/* xa = xbar + X' wbar, wbar = V diag(pa) V^T S^T dw; result in f->xm. */
static void etkf_mean(mt_enkf *f, double rho)
{
  int n = f->n, m = f->m, N = f->N;
  cblas_dgemv(CblasColMajor, CblasTrans, m, N, 1.0, f->S, m, f->dw, 1, 0.0,
              f->u, 1);
  cblas_dgemv(CblasColMajor, CblasTrans, N, N, 1.0, f->G, N, f->u, 1, 0.0,
              f->v, 1);
  for (int k = 0; k < N; k++)
    f->v[k] *= pa_eig(f, rho, k);
  cblas_dgemv(CblasColMajor, CblasNoTrans, N, N, 1.0, f->G, N, f->v, 1, 0.0,
              f->u, 1);
  cblas_dgemv(CblasColMajor, CblasNoTrans, n, N, 1.0, f->Xp, n, f->u, 1, 1.0,
              f->xm, 1);
}

/*
** X = X' W with W = V diag(w) V^T, w_k = sqrt((N-1) pa_k) > 0, as
** (X' B) B^T with B = V diag(sqrt(w)): two n x N x N products, no N x N
** temporary.
*/
static void etkf_anomalies(mt_enkf *f, double *X, double rho)
{
  int n = f->n, N = f->N;
  for (int k = 0; k < N; k++) {
    double s = sqrt(sqrt((N - 1) * pa_eig(f, rho, k)));
    cblas_dscal(N, s, f->G + (size_t)k * N, 1);
  }
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, N, N, 1.0, f->Xp,
              n, f->G, N, 0.0, f->Xw, n);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, N, N, 1.0, f->Xw, n,
              f->G, N, 0.0, X, n);
}

/*
** One observation in closed form, O(n N) instead of an N x N
** eigendecomposition. With u = Y'^T / sqrt(R) (N), d = (y - ybar) / sqrt(R)
** and a = (N - 1) / rho, Pa~ = (a I + u u^T)^-1 is a rank-one update of a
** multiple of I, so (Sherman-Morrison)
**
**   wbar = u d / (a + |u|^2),
**   W    = sqrt((N - 1) / a) [I + (c - 1) e e^T],  e = u / |u|,
**          c = (1 + |u|^2 / a)^(-1/2),
**
** the same symmetric square root as the general path (tests/unit/enkf.c
** compares the two).
*/
static int etkf_scalar(mt_enkf *f, double *X, const double *Y, double y,
                       double R, double rho)
{
  int n = f->n, N = f->N;
  double sr = sqrt(R), ym = 0, uu = 0;
  member_mean(X, N, n, f->xm);
  for (int i = 0; i < N; i++)
    ym += Y[i];
  ym /= N;
  for (int i = 0; i < N; i++) {
    f->u[i] = (Y[i] - ym) / sr;
    uu += f->u[i] * f->u[i];
  }
  if (!isfinite(uu))
    return fail(f, MT_EINVAL, "observation anomalies overflow: "
                "Y' R^-1 Y' is not finite");
  double a = (N - 1) / rho, d = (y - ym) / sr;
  double g = sqrt((N - 1) / a), c = 1 / sqrt(1 + uu / a);
  double h = uu > 0 ? (c - 1) / uu : 0; /* (c - 1) e e^T = h u u^T */
  double wb = d / (a + uu);
  anomalies(X, f->xm, N, n, f->Xp);
  /* xa = xbar + X' u wb; q = X' u */
  double *q = f->Xw;
  memset(q, 0, (size_t)n * sizeof *q);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < n; j++)
      q[j] += f->Xp[(size_t)i * n + j] * f->u[i];
  for (int i = 0; i < N; i++)
    for (int j = 0; j < n; j++)
      X[(size_t)i * n + j] = f->xm[j] + q[j] * wb +
                             g * (f->Xp[(size_t)i * n + j] +
                                  h * q[j] * f->u[i]);
  return 0;
}

int mt_enkf_etkf(mt_enkf *f, double *X, const double *Y, const double *y,
                 const double *R, mt_enkf_r r_kind, double rho)
{
  if (!f)
    return MT_EINVAL;
  f->err[0] = 0;
  int rc = check_inputs(f, X, Y, y, R, r_kind, rho);
  if (!rc && f->m == 1)
    return etkf_scalar(f, X, Y, y[0], R[0], rho);
  if (!rc)
    rc = prepare(f, X, Y, y, R, r_kind);
  if (rc)
    return rc;
  etkf_mean(f, rho);
  etkf_anomalies(f, X, rho);
  add_mean(X, f->xm, f->N, f->n);
  return 0;
}

/* ---- stochastic EnKF ------------------------------------------------ */

/* D = dw 1^T + L^-1 (E - mean E) - sqrt(rho) S: whitened innovations. */
static void perturbed_innovations(mt_enkf *f, const double *E,
                                  const double *R, mt_enkf_r kind, double rho)
{
  int m = f->m, N = f->N;
  member_mean(E, N, m, f->ym); /* ybar is no longer needed: reuse */
  anomalies(E, f->ym, N, m, f->D);
  whiten(f, R, kind, f->D, N);
  double sr = sqrt(rho);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < m; k++) {
      size_t ik = (size_t)i * m + k;
      f->D[ik] += f->dw[k] - sr * f->S[ik];
    }
}

/* K = X' Pa~ S^T = (X' V) (diag(pa) V^T S^T), the whitened gain (n x m). */
static void gain(mt_enkf *f, double rho)
{
  int n = f->n, m = f->m, N = f->N;
  cblas_dgemm(CblasColMajor, CblasTrans, CblasTrans, N, m, N, 1.0, f->G, N,
              f->S, m, 0.0, f->VS, N);
  for (int k = 0; k < N; k++)
    cblas_dscal(m, pa_eig(f, rho, k), f->VS + k, N);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, N, N, 1.0, f->Xp,
              n, f->G, N, 0.0, f->Xw, n);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, m, N, 1.0, f->Xw,
              n, f->VS, N, 0.0, f->K, n);
}

int mt_enkf_stochastic(mt_enkf *f, double *X, const double *Y,
                       const double *y, const double *R, mt_enkf_r r_kind,
                       const double *E, double rho)
{
  if (!f)
    return MT_EINVAL;
  f->err[0] = 0;
  int rc = check_inputs(f, X, Y, y, R, r_kind, rho);
  if (!rc && !E)
    rc = fail(f, MT_EINVAL, "E is NULL");
  if (!rc)
    rc = mt_assim_check_finite(f->err, "E", E, f->N, f->m);
  if (!rc)
    rc = prepare(f, X, Y, y, R, r_kind);
  if (rc)
    return rc;
  int n = f->n, m = f->m, N = f->N;
  perturbed_innovations(f, E, R, r_kind, rho);
  gain(f, rho);
  /* X = sqrt(rho) X' + K D + xbar 1^T. */
  memcpy(X, f->Xp, (size_t)n * N * sizeof *X);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, N, m, 1.0, f->K,
              n, f->D, m, sqrt(rho), X, n);
  add_mean(X, f->xm, N, n);
  return 0;
}

/* ---- moments -------------------------------------------------------- */

int mt_enkf_moments(const double *X, int N, int n, double *mean, double *cov)
{
  if (!X || !mean || n < 1 || N < (cov ? 2 : 1))
    return MT_EINVAL;
  for (size_t i = 0; i < (size_t)N * n; i++)
    if (!isfinite(X[i]))
      return MT_EINVAL;
  member_mean(X, N, n, mean);
  if (!cov)
    return 0;
  memset(cov, 0, (size_t)n * n * sizeof *cov);
  for (int i = 0; i < N; i++) {
    const double *x = X + (size_t)i * n;
    for (int a = 0; a < n; a++)
      for (int b = 0; b <= a; b++)
        cov[(size_t)a * n + b] += (x[a] - mean[a]) * (x[b] - mean[b]);
  }
  for (int a = 0; a < n; a++)
    for (int b = 0; b <= a; b++)
      cov[(size_t)b * n + a] = cov[(size_t)a * n + b] /= N - 1;
  return 0;
}
