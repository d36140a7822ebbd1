/*
** Population prior of a model's estimable parameters (include/medtwin/prior.h):
** a log-normal fitted to one group of the shipped virtual cohort, with the
** covariance shrunk toward its diagonal by the Ledoit-Wolf intensity (Ledoit
** & Wolf, J Multivar Anal 88:365, 2004) in Schafer & Strimmer's target-D
** form (Stat Appl Genet Mol Biol 4:32, 2005, Table 1).
*/
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/prior.h"

struct mt_prior {
  const mt_model *m;
  int n, n_members, base_k;
  int *idx;      /* n model indices of the estimable parameters */
  double *mean;  /* n, log space */
  double *s;     /* n x n sample covariance */
  double *cov;   /* n x n shrunk covariance */
  double *chol;  /* n x n lower Cholesky factor of cov, upper part zero */
  double *base;  /* m->n_param */
  double lambda;
  char base_name[64];
};

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* ---- the shrinkage estimator ---- */

/* s_ij (divisor n - 1) and Var^(s_ij) = n/(n-1)^3 sum_k (w_kij - wbar)^2. */
static double pair(int n, int p, const double *x, const double *mean, int i,
                   int j, double *var)
{
  double wbar = 0, ss = 0;
  for (int k = 0; k < n; k++)
    wbar += (x[k * p + i] - mean[i]) * (x[k * p + j] - mean[j]);
  wbar /= n;
  for (int k = 0; k < n; k++) {
    double w = (x[k * p + i] - mean[i]) * (x[k * p + j] - mean[j]);
    ss += (w - wbar) * (w - wbar);
  }
  double n1 = n - 1.0;
  *var = n / (n1 * n1 * n1) * ss;
  return wbar * n / n1;
}

/* lambda = sum_{i!=j} Var^(s_ij) / sum_{i!=j} s_ij^2, clipped to [0, 1]. */
static double intensity(int n, int p, const double *x, const double *mean)
{
  double num = 0, den = 0, var;
  for (int i = 0; i < p; i++)
    for (int j = i + 1; j < p; j++) {
      double sij = pair(n, p, x, mean, i, j, &var);
      num += var;
      den += sij * sij;
    }
  if (!(den > 0))
    return 1.0; /* S is already diagonal: every lambda gives the same */
  double l = num / den;
  return l < 0 ? 0 : l > 1 ? 1 : l;
}

int mt_prior_shrink(int n, int p, const double *x, double *mean, double *s,
                    double *cov, double *lambda)
{
  if (n < 2 || p < 1 || !x || !mean || !lambda)
    return MT_EINVAL;
  for (int k = 0; k < n * p; k++)
    if (!isfinite(x[k]))
      return MT_EINVAL;
  for (int i = 0; i < p; i++) {
    double a = 0;
    for (int k = 0; k < n; k++)
      a += x[k * p + i];
    mean[i] = a / n;
  }
  double l = intensity(n, p, x, mean), var;
  for (int i = 0; i < p; i++)
    for (int j = i; j < p; j++) {
      double sij = pair(n, p, x, mean, i, j, &var);
      double c = i == j ? sij : (1 - l) * sij;
      if (s)
        s[i * p + j] = s[j * p + i] = sij;
      if (cov)
        cov[i * p + j] = cov[j * p + i] = c;
    }
  *lambda = l;
  return 0;
}

/* ---- fitting ---- */

void mt_prior_free(mt_prior *pr)
{
  if (!pr)
    return;
  free(pr->idx);
  free(pr->mean);
  free(pr->s);
  free(pr->cov);
  free(pr->chol);
  free(pr->base);
  free(pr);
}

static mt_prior *prior_alloc(const mt_model *m, int n)
{
  mt_prior *pr = calloc(1, sizeof *pr);
  if (!pr)
    return NULL;
  size_t nn = (size_t)n * (size_t)n;
  pr->m = m;
  pr->n = n;
  pr->idx = malloc((size_t)n * sizeof *pr->idx);
  pr->mean = malloc((size_t)n * sizeof *pr->mean);
  pr->s = malloc(nn * sizeof *pr->s);
  pr->cov = malloc(nn * sizeof *pr->cov);
  pr->chol = malloc(nn * sizeof *pr->chol);
  pr->base = malloc((size_t)m->n_param * sizeof *pr->base);
  if (!pr->idx || !pr->mean || !pr->s || !pr->cov || !pr->chol || !pr->base) {
    mt_prior_free(pr);
    return NULL;
  }
  int k = 0;
  for (int i = 0; i < m->n_param; i++)
    if (m->param[i].flags & MT_VAR_ESTIMABLE)
      pr->idx[k++] = i;
  return pr;
}

static int n_estimable(const mt_model *m)
{
  int n = 0;
  for (int i = 0; i < m->n_param; i++)
    n += (m->param[i].flags & MT_VAR_ESTIMABLE) != 0;
  return n;
}

/* x[k * n + i] = log of member k's i-th estimable parameter. */
static int log_params(const mt_prior *pr, const double *const *members,
                      const char *const *names, int nm, double *x, char *err,
                      size_t errlen)
{
  for (int k = 0; k < nm; k++)
    for (int i = 0; i < pr->n; i++) {
      double v = members[k][pr->idx[i]];
      if (!(isfinite(v) && v > 0)) {
        const char *pname = pr->m->param[pr->idx[i]].name;
        if (names)
          return fail(err, errlen, MT_ERANGE, "patient %s: parameter %s = "
                      "%g, expected a finite value > 0", names[k], pname, v);
        return fail(err, errlen, MT_ERANGE, "member %d: parameter %s = %g, "
                    "expected a finite value > 0", k, pname, v);
      }
      x[k * pr->n + i] = log(v);
    }
  return 0;
}

/* Lower Cholesky factor of cov into chol; MT_ERANGE if not positive definite. */
static int factor(mt_prior *pr)
{
  int n = pr->n;
  memcpy(pr->chol, pr->cov, (size_t)n * (size_t)n * sizeof *pr->chol);
  if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, pr->chol, n) != 0)
    return MT_ERANGE;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      pr->chol[i * n + j] = 0;
  return 0;
}

/* Squared Mahalanobis distance of y from the mean: |L^-1 (y - mu)|^2, with
** u (n) as scratch for the forward substitution. */
static double mahalanobis2(const mt_prior *pr, const double *y, double *u)
{
  int n = pr->n;
  double d2 = 0;
  for (int i = 0; i < n; i++) {
    double a = y[i] - pr->mean[i];
    for (int j = 0; j < i; j++)
      a -= pr->chol[i * n + j] * u[j];
    u[i] = a / pr->chol[i * n + i];
    d2 += u[i] * u[i];
  }
  return d2;
}

/* The member nearest the mean; first in order on a tie. */
static void choose_base(mt_prior *pr, const double *const *members,
                        const double *x, double *u)
{
  double best = INFINITY;
  pr->base_k = 0;
  for (int k = 0; k < pr->n_members; k++) {
    double d2 = mahalanobis2(pr, x + (size_t)k * (size_t)pr->n, u);
    if (d2 < best) {
      best = d2;
      pr->base_k = k;
    }
  }
  memcpy(pr->base, members[pr->base_k],
         (size_t)pr->m->n_param * sizeof *pr->base);
}

static int fit_core(mt_prior *pr, const double *const *members,
                    const char *const *names, int nm, char *err,
                    size_t errlen)
{
  /* nm rows of log parameters, then one row of scratch */
  double *x = malloc(((size_t)nm + 1) * (size_t)pr->n * sizeof *x);
  if (!x)
    return fail(err, errlen, MT_ENOMEM, "out of memory");
  pr->n_members = nm;
  int rc = log_params(pr, members, names, nm, x, err, errlen);
  if (!rc)
    rc = mt_prior_shrink(nm, pr->n, x, pr->mean, pr->s, pr->cov, &pr->lambda);
  if (!rc && (rc = factor(pr)) != 0)
    fail(err, errlen, rc, "covariance of the log parameters over %d "
         "patients is not positive definite (a parameter constant over the "
         "group?)", nm);
  if (!rc)
    choose_base(pr, members, x, x + (size_t)nm * (size_t)pr->n);
  free(x);
  return rc;
}

static int fit(const mt_model *m, const double *const *members,
               const char *const *names, int nm, mt_prior **out, char *err,
               size_t errlen)
{
  int n = n_estimable(m);
  if (n == 0)
    return fail(err, errlen, MT_EINVAL, "model %s has no estimable "
                "parameters", m->name);
  if (nm < 2)
    return fail(err, errlen, MT_EINVAL, "a prior needs at least 2 patients,"
                " got %d", nm);
  mt_prior *pr = prior_alloc(m, n);
  if (!pr)
    return fail(err, errlen, MT_ENOMEM, "out of memory");
  int rc = fit_core(pr, members, names, nm, err, errlen);
  if (rc) {
    mt_prior_free(pr);
    return rc;
  }
  if (names)
    snprintf(pr->base_name, sizeof pr->base_name, "%s", names[pr->base_k]);
  *out = pr;
  return 0;
}

int mt_prior_fit_vectors(const mt_model *m, const double *const *members,
                         int n_members, mt_prior **out, char *err,
                         size_t errlen)
{
  if (out)
    *out = NULL;
  if (!m || !out || (n_members > 0 && !members))
    return fail(err, errlen, MT_EINVAL, "mt_prior_fit_vectors: NULL model, "
                "output or member array");
  for (int k = 0; k < n_members; k++)
    if (!members[k])
      return fail(err, errlen, MT_EINVAL, "member %d is NULL", k);
  return fit(m, members, NULL, n_members, out, err, errlen);
}

/* ---- the shipped cohort ---- */

/* Does patient name belong to group ("<group>#...")? */
static int in_group(const char *name, const char *group)
{
  size_t len = strlen(group);
  return strncmp(name, group, len) == 0 && name[len] == '#';
}

/* "unknown group" with the groups the population has, in order. */
static int unknown_group(const mt_model *m, const char *group, char *err,
                         size_t errlen)
{
  const mt_patient_set *ps = m->patients;
  char list[256] = "";
  size_t used = 0;
  for (int i = 0; i < ps->n; i++) {
    const char *name = ps->name(i);
    int len = (int)strcspn(name, "#"), seen = 0;
    for (int k = 0; k < i && !seen; k++)
      seen = strncmp(ps->name(k), name, (size_t)len) == 0 &&
             ps->name(k)[len] == '#';
    if (!seen && used < sizeof list)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%.*s",
                               used ? ", " : "", len, name);
  }
  return fail(err, errlen, MT_ENOTFOUND, "unknown group '%s' for model %s: "
              "expected one of %s", group, m->name, list);
}

static int check_exclude(const mt_model *m, const char *exclude, char *err,
                         size_t errlen)
{
  const mt_patient_set *ps = m->patients;
  if (!exclude || !*exclude)
    return 0;
  for (int i = 0; i < ps->n; i++)
    if (strcmp(ps->name(i), exclude) == 0)
      return 0;
  return fail(err, errlen, MT_ENOTFOUND, "cannot exclude '%s': model %s "
              "ships no such patient (expected a name like %s)", exclude,
              m->name, ps->name(0));
}

/* Load the group's members, less exclude, which is never loaded. */
static int load_group(const mt_model *m, const char *group,
                      const char *exclude, mt_patient **pts, int *np,
                      char *err, size_t errlen)
{
  const mt_patient_set *ps = m->patients;
  int rc = 0, found = 0;
  *np = 0;
  for (int i = 0; i < ps->n && !rc; i++) {
    const char *name = ps->name(i);
    if (!in_group(name, group))
      continue;
    found++;
    if (exclude && strcmp(name, exclude) == 0)
      continue;
    rc = mt_patient_load(m, name, &pts[*np], err, errlen);
    if (!rc)
      (*np)++;
  }
  if (!rc && !found)
    rc = unknown_group(m, group, err, errlen);
  return rc;
}

static int fit_patients(const mt_model *m, mt_patient **pts, int np,
                        mt_prior **out, char *err, size_t errlen)
{
  const double **vec = malloc((size_t)(np ? np : 1) * sizeof *vec);
  const char **names = malloc((size_t)(np ? np : 1) * sizeof *names);
  int rc = MT_ENOMEM;
  if (vec && names) {
    for (int k = 0; k < np; k++) {
      vec[k] = pts[k]->param;
      names[k] = pts[k]->id;
    }
    rc = fit(m, vec, names, np, out, err, errlen);
  } else {
    fail(err, errlen, rc, "out of memory");
  }
  free(vec);
  free(names);
  return rc;
}

int mt_prior_fit(const mt_model *m, const char *group, const char *exclude,
                 mt_prior **out, char *err, size_t errlen)
{
  if (out)
    *out = NULL;
  if (!m || !group || !out)
    return fail(err, errlen, MT_EINVAL, "mt_prior_fit: NULL model, group or "
                "output");
  if (!m->patients || m->patients->n < 1)
    return fail(err, errlen, MT_ENOTFOUND, "model %s ships no virtual "
                "patients to fit a prior to", m->name);
  int rc = check_exclude(m, exclude, err, errlen), np = 0;
  if (rc)
    return rc;
  mt_patient **pts = calloc((size_t)m->patients->n, sizeof *pts);
  if (!pts)
    return fail(err, errlen, MT_ENOMEM, "out of memory");
  rc = load_group(m, group, exclude, pts, &np, err, errlen);
  if (!rc)
    rc = fit_patients(m, pts, np, out, err, errlen);
  for (int k = 0; k < np; k++)
    mt_patient_free(pts[k]);
  free(pts);
  return rc;
}

/* ---- accessors and sampling ---- */

const mt_model *mt_prior_model(const mt_prior *pr) { return pr->m; }
int mt_prior_n(const mt_prior *pr) { return pr->n; }
int mt_prior_n_members(const mt_prior *pr) { return pr->n_members; }
const double *mt_prior_mean(const mt_prior *pr) { return pr->mean; }
const double *mt_prior_cov(const mt_prior *pr) { return pr->cov; }
const double *mt_prior_sample_cov(const mt_prior *pr) { return pr->s; }
double mt_prior_shrinkage(const mt_prior *pr) { return pr->lambda; }
const double *mt_prior_base(const mt_prior *pr) { return pr->base; }
const char *mt_prior_base_name(const mt_prior *pr) { return pr->base_name; }
int mt_prior_base_index(const mt_prior *pr) { return pr->base_k; }

int mt_prior_param(const mt_prior *pr, int k)
{
  return k >= 0 && k < pr->n ? pr->idx[k] : -1;
}

/* Every parameter finite and inside its declared bounds. */
static int in_bounds(const mt_model *m, const double *p)
{
  for (int i = 0; i < m->n_param; i++)
    if (!isfinite(p[i]) || p[i] < m->param[i].lo || p[i] > m->param[i].hi)
      return 0;
  return 1;
}

int mt_prior_sample(const mt_prior *pr, const double *z, const double *base,
                    double *p_out)
{
  const mt_model *m = pr->m;
  int n = pr->n;
  for (int k = 0; k < n; k++)
    if (!isfinite(z[k]))
      return MT_EINVAL;
  if (!base)
    base = pr->base;
  if (base != p_out)
    memmove(p_out, base, (size_t)m->n_param * sizeof *p_out);
  for (int i = 0; i < n; i++) {
    double v = pr->mean[i];
    for (int j = 0; j <= i; j++)
      v += pr->chol[i * n + j] * z[j];
    p_out[pr->idx[i]] = exp(v);
  }
  if (m->derive && m->derive(p_out) != 0)
    return MT_ERANGE;
  return in_bounds(m, p_out) ? 0 : MT_ERANGE;
}
