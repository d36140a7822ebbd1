/*
** Population prior (include/medtwin/prior.h) of the UVA/Padova model: the
** log-mean, sample covariance and Ledoit-Wolf / Schafer-Strimmer target-D
** shrinkage recomputed here, independently of the library, from
** data/uva-padova/vpatient_params.csv; leave-one-out that never reads the
** held-out patient; sampling at z = 0, derived parameters, and the moments
** of many draws against the prior's; errors.
*/
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/prior.h"

/* The estimable set, as the model card lists it. */
#define NE 8
static const char *const est[NE] = {"kabs", "kmax", "kmin", "Vmx",
                                    "p2u",  "ki",   "kp2",  "kp3"};

/* ---- a tiny reader for vpatient_params.csv (no quoting, no blanks) ---- */

#define NROW 30
#define NCOL 62
static char head[NCOL][32], rname[NROW][32];
static double val[NROW][NCOL];

static void read_csv(void)
{
  static int done;
  if (done)
    return;
  FILE *f = fopen(MT_SOURCE_DIR "/data/uva-padova/vpatient_params.csv", "r");
  cr_assert_not_null(f);
  char line[8192];
  for (int r = -1; r < NROW; r++) {
    cr_assert_not_null(fgets(line, sizeof line, f));
    line[strcspn(line, "\r\n")] = 0;
    char *save = NULL, *tok = strtok_r(line, ",", &save);
    for (int c = 0; c < NCOL; c++, tok = strtok_r(NULL, ",", &save)) {
      cr_assert_not_null(tok, "row %d col %d", r, c);
      if (r < 0)
        snprintf(head[c], sizeof head[c], "%s", tok);
      else if (c == 0)
        snprintf(rname[r], sizeof rname[r], "%s", tok);
      else
        val[r][c] = strtod(tok, NULL);
    }
  }
  fclose(f);
  done = 1;
}

static int col(const char *name)
{
  for (int c = 0; c < NCOL; c++)
    if (!strcmp(head[c], name))
      return c;
  cr_assert_fail("no column %s", name);
  return -1;
}

static int row(const char *name)
{
  for (int r = 0; r < NROW; r++)
    if (!strcmp(rname[r], name))
      return r;
  cr_assert_fail("no row %s", name);
  return -1;
}

static const mt_model *uva(void)
{
  const mt_model *m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(m);
  read_csv();
  return m;
}

/* Full parameter vector (model order) of CSV row r. */
static void csv_params(const mt_model *m, int r, double *p)
{
  for (int i = 0; i < m->n_param; i++)
    p[i] = val[r][col(m->param[i].name)];
}

/* ---- the reference statistics, written out longhand ---- */

typedef struct ref {
  int n;
  char names[10][32];
  double x[10][NE];          /* log parameters */
  double mean[NE], s[NE][NE], lambda;
} ref;

static void ref_fit(const char *group, const char *exclude, ref *f)
{
  read_csv();
  memset(f, 0, sizeof *f);
  size_t len = strlen(group);
  for (int r = 0; r < NROW; r++) {
    if (strncmp(rname[r], group, len) || rname[r][len] != '#' ||
        (exclude && !strcmp(rname[r], exclude)))
      continue;
    memcpy(f->names[f->n], rname[r], sizeof f->names[0]);
    for (int i = 0; i < NE; i++)
      f->x[f->n][i] = log(val[r][col(est[i])]);
    f->n++;
  }
  int n = f->n;
  for (int i = 0; i < NE; i++) {
    for (int k = 0; k < n; k++)
      f->mean[i] += f->x[k][i] / n;
  }
  /* Schafer & Strimmer 2005, target D: w_kij, wbar_ij, Var^(s_ij). */
  double num = 0, den = 0;
  for (int i = 0; i < NE; i++)
    for (int j = 0; j < NE; j++) {
      double w[10], wbar = 0, v = 0;
      for (int k = 0; k < n; k++) {
        w[k] = (f->x[k][i] - f->mean[i]) * (f->x[k][j] - f->mean[j]);
        wbar += w[k] / n;
      }
      for (int k = 0; k < n; k++)
        v += (w[k] - wbar) * (w[k] - wbar);
      f->s[i][j] = n * wbar / (n - 1);
      if (i != j) {
        num += v * n / pow(n - 1, 3);
        den += f->s[i][j] * f->s[i][j];
      }
    }
  f->lambda = fmax(0, fmin(1, num / den));
}

static mt_prior *fit(const char *group, const char *exclude)
{
  char err[MT_ERRMSG_MAX] = "";
  mt_prior *pr = NULL;
  cr_assert_eq(mt_prior_fit(uva(), group, exclude, &pr, err, sizeof err), 0,
               "%s", err);
  cr_assert_not_null(pr);
  return pr;
}

static void assert_matches(const mt_prior *pr, const ref *f)
{
  const double *mu = mt_prior_mean(pr), *s = mt_prior_sample_cov(pr);
  cr_assert_eq(mt_prior_n(pr), NE);
  cr_assert_eq(mt_prior_n_members(pr), f->n);
  for (int i = 0; i < NE; i++) {
    cr_assert_str_eq(uva()->param[mt_prior_param(pr, i)].name, est[i]);
    cr_assert_leq(fabs(mu[i] - f->mean[i]), 1e-12 * fabs(f->mean[i]),
                  "%s %.17g %.17g", est[i], mu[i], f->mean[i]);
    for (int j = 0; j < NE; j++)
      cr_assert_leq(fabs(s[i * NE + j] - f->s[i][j]), 1e-12 * f->s[i][i],
                    "%d %d", i, j);
  }
  cr_assert_leq(fabs(mt_prior_shrinkage(pr) - f->lambda), 1e-12,
                "%.17g %.17g", mt_prior_shrinkage(pr), f->lambda);
}

Test(prior, adult_mean_and_covariance_from_the_csv)
{
  ref f;
  ref_fit("adult", NULL, &f);
  cr_assert_eq(f.n, 10);
  mt_prior *pr = fit("adult", NULL);
  assert_matches(pr, &f);
  mt_prior_free(pr);
  const char *g[3] = {"adolescent", "adult", "child"};
  for (int k = 0; k < 3; k++) {
    ref_fit(g[k], NULL, &f);
    pr = fit(g[k], NULL);
    assert_matches(pr, &f);
    mt_prior_free(pr);
  }
}

Test(prior, shrinkage_keeps_variances_and_damps_covariances)
{
  mt_prior *pr = fit("adult", NULL);
  const double *s = mt_prior_sample_cov(pr), *c = mt_prior_cov(pr);
  double l = mt_prior_shrinkage(pr);
  cr_assert(l >= 0 && l <= 1, "lambda %g", l);
  cr_assert(l > 0 && l < 1, "adult lambda %g: neither extreme expected", l);
  for (int i = 0; i < NE; i++)
    for (int j = 0; j < NE; j++) {
      cr_assert_eq(c[i * NE + j], c[j * NE + i]); /* exactly symmetric */
      if (i == j)
        cr_assert_eq(c[i * NE + i], s[i * NE + i]);
      else
        cr_assert_leq(fabs(c[i * NE + j] - (1 - l) * s[i * NE + j]),
                      1e-15 * fabs(s[i * NE + j]));
    }
  mt_prior_free(pr);
}

/* Smallest eigenvalue of a symmetric n x n matrix. */
static double min_eig(const double *a, int n)
{
  double w[NE], b[NE * NE];
  memcpy(b, a, sizeof(double) * (size_t)(n * n));
  cr_assert_eq(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', n, b, n, w), 0);
  return w[0];
}

Test(prior, covariance_positive_definite_for_every_fit)
{
  /* Whole groups and all 30 leave-one-out fits. */
  const char *g[3] = {"adolescent", "adult", "child"};
  for (int k = 0; k < 3; k++)
    for (int e = 0; e <= 10; e++) {
      char ex[32];
      snprintf(ex, sizeof ex, "%s#%03d", g[k], e);
      mt_prior *pr = fit(g[k], e ? ex : NULL);
      cr_assert_eq(mt_prior_n_members(pr), e ? 9 : 10);
      double l = mt_prior_shrinkage(pr);
      cr_assert(l >= 0 && l <= 1, "%s lambda %g", ex, l);
      cr_assert_gt(min_eig(mt_prior_cov(pr), NE), 0, "%s", ex);
      if (e)
        cr_assert_str_neq(mt_prior_base_name(pr), ex);
      mt_prior_free(pr);
    }
}

Test(prior, leave_one_out_never_reads_the_excluded_patient)
{
  ref f;
  ref_fit("adult", "adult#003", &f);
  cr_assert_eq(f.n, 9);
  mt_prior *pr = fit("adult", "adult#003");
  assert_matches(pr, &f);
  /* The same fit from the 9 other vectors alone, handed over explicitly:
  ** bit for bit the same prior, so adult#003 contributed nothing. */
  const mt_model *m = uva();
  double p[9][64];
  const double *vec[9];
  for (int k = 0; k < 9; k++) {
    csv_params(m, row(f.names[k]), p[k]);
    vec[k] = p[k];
  }
  mt_prior *nine = NULL;
  cr_assert_eq(mt_prior_fit_vectors(m, vec, 9, &nine, NULL, 0), 0);
  cr_assert_eq(memcmp(mt_prior_mean(pr), mt_prior_mean(nine),
                      NE * sizeof(double)), 0);
  cr_assert_eq(memcmp(mt_prior_cov(pr), mt_prior_cov(nine),
                      NE * NE * sizeof(double)), 0);
  cr_assert_eq(mt_prior_shrinkage(pr), mt_prior_shrinkage(nine));
  cr_assert_eq(memcmp(mt_prior_base(pr), mt_prior_base(nine),
                      (size_t)m->n_param * sizeof(double)), 0);
  cr_assert_str_eq(mt_prior_base_name(pr),
                   f.names[mt_prior_base_index(nine)]);
  /* ... and the comparison can fail: the full group differs. */
  mt_prior *ten = fit("adult", NULL);
  cr_assert_neq(mt_prior_mean(ten)[0], mt_prior_mean(pr)[0]);
  mt_prior_free(ten);
  mt_prior_free(nine);
  mt_prior_free(pr);
}

Test(prior, base_is_the_member_nearest_the_mean)
{
  /* Mahalanobis distance with Sigma^-1 from LAPACK's dposv, in the test. */
  ref f;
  ref_fit("adult", "adult#007", &f);
  mt_prior *pr = fit("adult", "adult#007");
  int best = -1;
  double dbest = INFINITY;
  for (int k = 0; k < f.n; k++) {
    double a[NE * NE], b[NE], d = 0;
    memcpy(a, mt_prior_cov(pr), sizeof a);
    for (int i = 0; i < NE; i++)
      b[i] = f.x[k][i] - f.mean[i];
    cr_assert_eq(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', NE, 1, a, NE, b, 1), 0);
    for (int i = 0; i < NE; i++)
      d += (f.x[k][i] - f.mean[i]) * b[i];
    if (d < dbest) {
      dbest = d;
      best = k;
    }
  }
  cr_assert_str_eq(mt_prior_base_name(pr), f.names[best]);
  double p[64];
  csv_params(uva(), row(f.names[best]), p);
  cr_assert_eq(memcmp(p, mt_prior_base(pr), sizeof(double) * 46), 0);
  mt_prior_free(pr);
}

static double par(const double *p, const char *name)
{
  const mt_model *m = uva();
  int i = mt_var_index(m->param, m->n_param, name);
  cr_assert_geq(i, 0);
  return p[i];
}

Test(prior, zero_draw_is_the_median_and_derive_runs)
{
  const mt_model *m = uva();
  mt_prior *pr = fit("adult", NULL);
  double z[NE] = {0}, p[64], base[64];
  memcpy(base, mt_prior_base(pr), sizeof(double) * (size_t)m->n_param);
  cr_assert_eq(mt_prior_sample(pr, z, NULL, p), 0);
  for (int k = 0; k < NE; k++)
    cr_assert_eq(p[mt_prior_param(pr, k)], exp(mt_prior_mean(pr)[k]));
  for (int i = 0; i < m->n_param; i++)
    if (!(m->param[i].flags & (MT_VAR_ESTIMABLE | MT_VAR_DERIVED)))
      cr_assert_eq(p[i], base[i], "%s", m->param[i].name);
  /* Identities of data/uva-padova/README.md with the drawn kp2, kp3. */
  double kp1 = par(p, "EGPb") + par(p, "kp2") * par(p, "Gpb") +
               par(p, "kp3") * par(p, "Ib");
  cr_assert_leq(fabs(par(p, "kp1") - kp1), 1e-12 * kp1);
  cr_assert_neq(par(p, "kp1"), par(base, "kp1")); /* it was recomputed */
  cr_assert_leq(fabs(par(p, "Gpb") - par(p, "Gb") * par(p, "Vg")),
                1e-12 * par(p, "Gpb"));
  double isc1 = par(p, "u2ss") / (par(p, "kd") + par(p, "ka1"));
  cr_assert_leq(fabs(par(p, "isc1ss") - isc1), 1e-12 * isc1);
  /* base may alias p_out. */
  double q[64];
  memcpy(q, base, sizeof q);
  cr_assert_eq(mt_prior_sample(pr, z, q, q), 0);
  cr_assert_eq(memcmp(p, q, sizeof(double) * (size_t)m->n_param), 0);
  mt_prior_free(pr);
}

/* Deterministic standard normals: xorshift64* and Box-Muller. */
static double uniform(uint64_t *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return ((*s * 2685821657736338717ull) >> 11) * 0x1p-53 + 0x1p-54;
}

static void normals(uint64_t *s, double *z, int n)
{
  for (int i = 0; i < n; i += 2) {
    double r = sqrt(-2 * log(uniform(s))), t = 6.283185307179586 * uniform(s);
    z[i] = r * cos(t);
    if (i + 1 < n)
      z[i + 1] = r * sin(t);
  }
}

Test(prior, many_draws_reproduce_mean_and_covariance)
{
  /* N = 200000 draws; every draw counts, rejected ones included (p_out
  ** holds them), so the moments are those of the log-normal itself. Mean:
  ** |m_i - mu_i| <= 5 sqrt(S_ii / N). Covariance of a normal sample:
  ** se(C_ij) = sqrt((S_ii S_jj + S_ij^2) / N), tolerance 5 se. */
  enum { N = 200000 };
  mt_prior *pr = fit("adult", NULL);
  const double *mu = mt_prior_mean(pr), *S = mt_prior_cov(pr);
  double sum[NE] = {0}, sxy[NE][NE] = {{0}}, z[NE], p[64], y[NE];
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int rejected = 0;
  for (int t = 0; t < N; t++) {
    normals(&seed, z, NE);
    int rc = mt_prior_sample(pr, z, NULL, p);
    cr_assert(rc == 0 || rc == MT_ERANGE);
    rejected += rc != 0;
    for (int i = 0; i < NE; i++) {
      y[i] = log(p[mt_prior_param(pr, i)]) - mu[i];
      sum[i] += y[i];
    }
    for (int i = 0; i < NE; i++)
      for (int j = 0; j < NE; j++)
        sxy[i][j] += y[i] * y[j];
  }
  for (int i = 0; i < NE; i++) {
    double m = sum[i] / N;
    cr_assert_leq(fabs(m), 5 * sqrt(S[i * NE + i] / N), "mean %s", est[i]);
    for (int j = 0; j < NE; j++) {
      double c = (sxy[i][j] - N * m * (sum[j] / N)) / (N - 1);
      double sij = S[i * NE + j];
      double se = sqrt((S[i * NE + i] * S[j * NE + j] + sij * sij) / N);
      cr_assert_leq(fabs(c - sij), 5 * se, "cov %d %d %g %g", i, j, c, sij);
    }
  }
  /* The plausibility bounds are the cohort's range widened fourfold: few
  ** draws of a 10-patient prior fall outside them. */
  cr_assert_lt(rejected, N / 20, "rejected %d of %d", rejected, N);
  mt_prior_free(pr);
}

Test(prior, sample_errors)
{
  mt_prior *pr = fit("child", NULL);
  double z[NE] = {0}, p[64];
  z[3] = NAN;
  cr_assert_eq(mt_prior_sample(pr, z, NULL, p), MT_EINVAL);
  z[3] = 0;
  z[0] = 60; /* kabs far above its plausibility bound */
  cr_assert_eq(mt_prior_sample(pr, z, NULL, p), MT_ERANGE);
  int ik = mt_var_index(uva()->param, uva()->n_param, "kabs");
  cr_assert_gt(p[ik], uva()->param[ik].hi); /* the rejected draw */
  mt_prior_free(pr);
}

Test(prior, unknown_group_and_exclude)
{
  char err[MT_ERRMSG_MAX] = "";
  mt_prior *pr = (mt_prior *)&err; /* must be reset to NULL */
  cr_assert_eq(mt_prior_fit(uva(), "elderly", NULL, &pr, err, sizeof err),
               MT_ENOTFOUND);
  cr_assert_null(pr);
  cr_assert_not_null(strstr(err, "'elderly'"), "%s", err);
  cr_assert_not_null(strstr(err, "adolescent, adult, child"), "%s", err);
  /* A prefix of a group is not a group. */
  cr_assert_eq(mt_prior_fit(uva(), "adul", NULL, &pr, err, sizeof err),
               MT_ENOTFOUND);
  cr_assert_eq(mt_prior_fit(uva(), "adult", "adult#011", &pr, err,
                            sizeof err), MT_ENOTFOUND);
  cr_assert_not_null(strstr(err, "adult#011"), "%s", err);
  cr_assert_null(pr);
  /* An exclude from another group removes nothing. */
  pr = fit("adult", "child#003");
  cr_assert_eq(mt_prior_n_members(pr), 10);
  mt_prior_free(pr);
  cr_assert_eq(mt_prior_fit(NULL, "adult", NULL, &pr, err, sizeof err),
               MT_EINVAL);
  /* A model that ships no population. */
  mt_model bare = *uva();
  bare.patients = NULL;
  cr_assert_eq(mt_prior_fit(&bare, "adult", NULL, &pr, err, sizeof err),
               MT_ENOTFOUND);
  cr_assert_not_null(strstr(err, "ships no virtual patients"), "%s", err);
}

Test(prior, vector_fit_errors)
{
  const mt_model *m = uva();
  char err[MT_ERRMSG_MAX] = "";
  double p[3][64];
  const double *vec[3] = {p[0], p[1], p[2]};
  for (int k = 0; k < 3; k++)
    csv_params(m, row("adult#001"), p[k]);
  mt_prior *pr = NULL;
  /* One member: no covariance. */
  cr_assert_eq(mt_prior_fit_vectors(m, vec, 1, &pr, err, sizeof err),
               MT_EINVAL);
  /* Identical members: zero variance, not positive definite. */
  cr_assert_eq(mt_prior_fit_vectors(m, vec, 3, &pr, err, sizeof err),
               MT_ERANGE);
  cr_assert_not_null(strstr(err, "positive definite"), "%s", err);
  cr_assert_null(pr);
  /* A non-positive estimable parameter has no logarithm. */
  p[1][mt_var_index(m->param, m->n_param, "kp3")] = 0;
  cr_assert_eq(mt_prior_fit_vectors(m, vec, 3, &pr, err, sizeof err),
               MT_ERANGE);
  cr_assert_not_null(strstr(err, "kp3"), "%s", err);
}

Test(prior, shrink_on_synthetic_data)
{
  /* Perfectly correlated variables: the correlation is certain, little
  ** shrinkage. Independent variables, n = 2000: off-diagonals are noise
  ** of the size of their own standard error, much shrinkage. */
  enum { N = 2000, P = 4 };
  static double x[N * P];
  uint64_t seed = 12345;
  double mean[P], s[P * P], c[P * P], l;
  for (int k = 0; k < N; k++) {
    double z[P];
    normals(&seed, z, P);
    for (int i = 0; i < P; i++)
      x[k * P + i] = (i + 1) * z[0];
  }
  cr_assert_eq(mt_prior_shrink(N, P, x, mean, s, c, &l), 0);
  cr_assert_lt(l, 0.01, "correlated lambda %g", l);
  for (int k = 0; k < N; k++)
    normals(&seed, x + k * P, P);
  cr_assert_eq(mt_prior_shrink(N, P, x, mean, s, c, &l), 0);
  cr_assert_gt(l, 0.3, "independent lambda %g", l);
  cr_assert_leq(l, 1);
  cr_assert_eq(mt_prior_shrink(1, P, x, mean, s, c, &l), MT_EINVAL);
  x[5] = NAN;
  cr_assert_eq(mt_prior_shrink(N, P, x, mean, NULL, NULL, &l), MT_EINVAL);
}
