/*
** Parameter transforms (include/medtwin/transform.h): the choice from a
** variable's bounds (absent as +-1e300, +-INFINITY or NaN), round trips,
** behaviour at and next to the bounds, Jacobians against central finite
** differences, and errors that never leak a NaN.
*/
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/transform.h"

static mt_var var(double lo, double hi)
{
  mt_var v = {"x", "1", "test variable", lo, hi, 0};
  return v;
}

static mt_transform make(mt_transform_kind k, double lo, double hi)
{
  mt_transform t;
  cr_assert_eq(mt_transform_set(&t, k, lo, hi), 0);
  return t;
}

Test(transform, kind_from_bounds)
{
  const double absent_lo[3] = {-1e300, -INFINITY, NAN};
  const double absent_hi[3] = {1e300, INFINITY, NAN};
  for (int i = 0; i < 3; i++) {
    mt_var both = var(0.5, 2), lo = var(0.5, absent_hi[i]);
    mt_var hi = var(absent_lo[i], 2), none = var(absent_lo[i], absent_hi[i]);
    cr_assert_eq(mt_transform_for(&both, 1), MT_TRANSFORM_LOGIT);
    cr_assert_eq(mt_transform_for(&lo, 1), MT_TRANSFORM_LOG, "%d", i);
    cr_assert_eq(mt_transform_for(&hi, 1), MT_TRANSFORM_LOG_UPPER, "%d", i);
    cr_assert_eq(mt_transform_for(&none, 1), MT_TRANSFORM_IDENTITY, "%d", i);
  }
  /* use_bounds = 0: physical positivity only. */
  mt_var pos = var(0.0054, 4.9), neg = var(-1000, 5000), zero = var(0, 1);
  cr_assert_eq(mt_transform_for(&pos, 0), MT_TRANSFORM_LOG);
  cr_assert_eq(mt_transform_for(&zero, 0), MT_TRANSFORM_LOG);
  cr_assert_eq(mt_transform_for(&neg, 0), MT_TRANSFORM_IDENTITY);
  cr_assert_eq(mt_transform_for(NULL, 1), MT_TRANSFORM_IDENTITY);
  /* A finite bound just inside the cut-off is a bound. */
  mt_var big = var(-9.9e299, 9.9e299);
  cr_assert_eq(mt_transform_for(&big, 1), MT_TRANSFORM_LOGIT);
}

Test(transform, init_from_var)
{
  mt_transform t;
  mt_var v = var(0.0054, 4.9); /* UVA/Padova kabs */
  cr_assert_eq(mt_transform_init(&t, &v, 0), 0);
  cr_assert_eq(t.kind, MT_TRANSFORM_LOG);
  cr_assert_eq(t.lo, 0.0);
  double z;
  cr_assert_eq(mt_transform_to(&t, 0.08906, &z), 0);
  cr_assert_eq(z, log(0.08906)); /* exactly log theta */
  cr_assert_eq(mt_transform_init(&t, &v, 1), 0);
  cr_assert_eq(t.kind, MT_TRANSFORM_LOGIT);
  cr_assert_eq(t.lo, 0.0054);
  cr_assert_eq(t.hi, 4.9);
  /* Every estimable UVA/Padova parameter is a positive rate: log theta. */
  const mt_model *m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(m);
  int n = 0;
  for (int i = 0; i < m->n_param; i++)
    if (m->param[i].flags & MT_VAR_ESTIMABLE) {
      cr_assert_eq(mt_transform_init(&t, &m->param[i], 0), 0);
      cr_assert_eq(t.kind, MT_TRANSFORM_LOG, "%s", m->param[i].name);
      cr_assert_eq(t.lo, 0.0);
      cr_assert_eq(mt_transform_init(&t, &m->param[i], 1), 0);
      cr_assert_eq(t.kind, MT_TRANSFORM_LOGIT, "%s", m->param[i].name);
      n++;
    }
  cr_assert_eq(n, 8);
}

/* The transforms the sweeps below run over. */
static int all(mt_transform *t)
{
  const mt_transform_kind k[8] = {
    MT_TRANSFORM_IDENTITY, MT_TRANSFORM_LOG, MT_TRANSFORM_LOG,
    MT_TRANSFORM_LOG_UPPER, MT_TRANSFORM_LOGIT, MT_TRANSFORM_LOGIT,
    MT_TRANSFORM_LOGIT, MT_TRANSFORM_LOGIT};
  const double lo[8] = {0, 0, 0.0054, 0, 0, 0.0054, -3, 100};
  const double hi[8] = {0, INFINITY, 0, 2.5, 1, 4.9, -1, 101};
  for (int i = 0; i < 8; i++)
    t[i] = make(k[i], lo[i], hi[i]);
  return 8;
}

/* Distance from theta to the nearest bound the transform uses. */
static double room(const mt_transform *t, double th)
{
  double d = INFINITY;
  if (t->kind == MT_TRANSFORM_LOG || t->kind == MT_TRANSFORM_LOGIT)
    d = fmin(d, th - t->lo);
  if (t->kind == MT_TRANSFORM_LOG_UPPER || t->kind == MT_TRANSFORM_LOGIT)
    d = fmin(d, t->hi - th);
  return d;
}

Test(transform, round_trip_over_z)
{
  /* z in [-30, 30], step 0.01: theta from z and back, then z again.
  ** Tolerance 1e-14 relative to theta (and, sharper, 8 (1 + |z|) 2^-53
  ** relative to the room left to the nearest bound, plus one rounding of
  ** theta itself: z carries an absolute rounding of about |z| 2^-53). */
  mt_transform t[8];
  int n = all(t);
  for (int i = 0; i < n; i++)
    for (int k = -3000; k <= 3000; k++) {
      double z = k * 0.01, th, th2, z2;
      cr_assert_eq(mt_transform_from(&t[i], z, &th), 0, "%d z=%g", i, z);
      cr_assert_eq(mt_transform_to(&t[i], th, &z2), 0, "%d z=%g", i, z);
      cr_assert_eq(mt_transform_from(&t[i], z2, &th2), 0);
      double tol = 1e-14 * fabs(th);
      cr_assert_leq(fabs(th2 - th), tol, "%d z=%g th=%.17g %.17g", i, z, th,
                    th2);
      double r = room(&t[i], th);
      if (isfinite(r))
        cr_assert_leq(fabs(th2 - th), 8 * (1 + fabs(z)) * DBL_EPSILON / 2 * r
                      + DBL_EPSILON * fabs(th), "%d z=%g", i, z);
    }
}

Test(transform, round_trip_over_theta)
{
  /* theta placed 10^e (e = -12 .. 12 in steps of 1/4) times the bound's
  ** scale away from each bound it has, or at +-10^e for the identity. */
  mt_transform t[8];
  int n = all(t);
  for (int i = 0; i < n; i++)
    for (int s = 0; s < 2; s++)
      for (int k = -48; k <= 48; k++) {
        double d = pow(10, k / 4.0), th, z, th2;
        switch (t[i].kind) {
        case MT_TRANSFORM_IDENTITY: th = s ? d : -d; break;
        case MT_TRANSFORM_LOG: th = t[i].lo + d; break;
        case MT_TRANSFORM_LOG_UPPER: th = t[i].hi - d; break;
        default:
          d *= (t[i].hi - t[i].lo) * 1e-12; /* inside (lo, hi) */
          th = s ? t[i].hi - d : t[i].lo + d;
        }
        if (mt_transform_to(&t[i], th, &z) == MT_ERANGE)
          continue; /* rounded onto the bound: covered below */
        cr_assert_eq(mt_transform_from(&t[i], z, &th2), 0, "%d %g", i, th);
        cr_assert_leq(fabs(th2 - th), 1e-14 * fabs(th), "%d th=%.17g %.17g",
                      i, th, th2);
      }
}

Test(transform, at_and_next_to_bounds)
{
  mt_transform lg = make(MT_TRANSFORM_LOG, 0.0054, INFINITY);
  mt_transform up = make(MT_TRANSFORM_LOG_UPPER, 0, 2.5);
  mt_transform lt = make(MT_TRANSFORM_LOGIT, 0.0054, 4.9);
  double z = 123, th = 456;
  /* At a bound, or one ulp outside it: an error, outputs untouched. */
  const mt_transform *ts[5] = {&lg, &up, &lt, &lt, &lg};
  const double bad[5] = {0.0054, 2.5, 0.0054, 4.9, 0.0};
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(mt_transform_to(ts[i], bad[i], &z), MT_ERANGE, "%d", i);
    double out = nextafter(bad[i], i == 1 || i == 3 ? INFINITY : -INFINITY);
    cr_assert_eq(mt_transform_to(ts[i], out, &z), MT_ERANGE, "%d", i);
    double in = nextafter(bad[i], i == 1 || i == 3 ? -INFINITY : INFINITY);
    if (i < 4) { /* one ulp inside: finite z, and back to the same theta */
      cr_assert_eq(mt_transform_to(ts[i], in, &z), 0, "%d", i);
      cr_assert(isfinite(z));
      cr_assert_eq(mt_transform_from(ts[i], z, &th), 0, "%d", i);
      cr_assert_leq(fabs(th - in), 1e-14 * fabs(in), "%d", i);
    }
  }
  cr_assert_eq(z, z); /* never NaN */
  /* z so extreme that theta rounds onto the bound: an error, not a bound. */
  th = 456;
  cr_assert_eq(mt_transform_from(&lg, -50, &th), MT_ERANGE); /* lo + 2e-22 */
  cr_assert_eq(mt_transform_from(&lt, 40, &th), MT_ERANGE);  /* hi - 2e-17 */
  cr_assert_eq(mt_transform_from(&lt, -1000, &th), MT_ERANGE);
  cr_assert_eq(mt_transform_from(&lg, 710, &th), MT_ERANGE); /* overflow */
  cr_assert_eq(th, 456);
  /* lo = 0: z down to the smallest normal doubles is fine. */
  mt_transform l0 = make(MT_TRANSFORM_LOG, 0, INFINITY);
  cr_assert_eq(mt_transform_from(&l0, -700, &th), 0);
  cr_assert(th > 0);
  cr_assert_eq(mt_transform_from(&l0, -746, &th), MT_ERANGE); /* exp -> 0 */
}

/* Central difference of theta(z) with step h. */
static double central(const mt_transform *t, double z, double h, double *mag)
{
  double a, b;
  cr_assert_eq(mt_transform_from(t, z + h, &a), 0);
  cr_assert_eq(mt_transform_from(t, z - h, &b), 0);
  *mag = fabs(a) + fabs(b);
  return (a - b) / (2 * h);
}

Test(transform, jacobian_against_central_differences)
{
  /* Step h = 1e-5 in z. Truncation error is h^2/6 |theta'''| <= 2e-11 |J|
  ** (|theta'''| <= |theta'| for all four transforms); rounding adds at most
  ** 2 eps (|theta(z+h)| + |theta(z-h)|) / (2h). Tolerance: 1e-9 |J| plus
  ** that rounding bound. z in [-20, 20], step 0.05. */
  const double h = 1e-5;
  mt_transform t[8];
  int n = all(t);
  for (int i = 0; i < n; i++)
    for (int k = -400; k <= 400; k++) {
      double z = k * 0.05, j, mag;
      cr_assert_eq(mt_transform_jacobian(&t[i], z, &j), 0, "%d z=%g", i, z);
      double fd = central(&t[i], z, h, &mag);
      double tol = 1e-9 * fabs(j) + 2 * DBL_EPSILON * mag / (2 * h);
      cr_assert_leq(fabs(fd - j), tol, "%d z=%g J=%.17g fd=%.17g", i, z, j,
                    fd);
      if (t[i].kind == MT_TRANSFORM_LOG_UPPER)
        cr_assert(j < 0);
      else
        cr_assert(j > 0, "%d z=%g", i, z);
    }
}

Test(transform, jacobian_closed_forms)
{
  /* Logit: dtheta/dz = (theta - lo)(hi - theta)/(hi - lo), z in [-30, 30]. */
  mt_transform lt = make(MT_TRANSFORM_LOGIT, 0.0054, 4.9);
  for (int k = -30; k <= 30; k++) {
    double th, j;
    cr_assert_eq(mt_transform_from(&lt, k, &th), 0);
    cr_assert_eq(mt_transform_jacobian(&lt, k, &j), 0);
    double ref = (th - lt.lo) * (lt.hi - th) / (lt.hi - lt.lo);
    /* The reference inherits theta's rounding, 2 eps hi in absolute. */
    cr_assert_leq(fabs(j - ref), 1e-14 * ref + 2 * DBL_EPSILON * lt.hi,
                  "z=%d", k);
  }
  mt_transform lg = make(MT_TRANSFORM_LOG, 0, INFINITY);
  double j;
  cr_assert_eq(mt_transform_jacobian(&lg, 0, &j), 0);
  cr_assert_eq(j, 1.0);
  mt_transform id = make(MT_TRANSFORM_IDENTITY, 0, 0);
  cr_assert_eq(mt_transform_jacobian(&id, -7, &j), 0);
  cr_assert_eq(j, 1.0);
}

Test(transform, errors)
{
  mt_transform t;
  /* Invalid definitions leave the identity and say MT_EINVAL. */
  cr_assert_eq(mt_transform_set(&t, MT_TRANSFORM_LOG, -INFINITY, 0), MT_EINVAL);
  cr_assert_eq(t.kind, MT_TRANSFORM_IDENTITY);
  cr_assert_eq(mt_transform_set(&t, MT_TRANSFORM_LOG, NAN, 0), MT_EINVAL);
  cr_assert_eq(mt_transform_set(&t, MT_TRANSFORM_LOG_UPPER, 0, 1e300),
               MT_EINVAL);
  cr_assert_eq(mt_transform_set(&t, MT_TRANSFORM_LOGIT, 1, 1), MT_EINVAL);
  cr_assert_eq(mt_transform_set(&t, MT_TRANSFORM_LOGIT, 0, INFINITY),
               MT_EINVAL);
  cr_assert_eq(mt_transform_set(&t, (mt_transform_kind)99, 0, 1), MT_EINVAL);
  mt_var inverted = var(2, 1);
  cr_assert_eq(mt_transform_init(&t, &inverted, 1), MT_EINVAL);
  cr_assert_eq(mt_transform_init(&t, &inverted, 0), MT_EINVAL);
  cr_assert_eq(mt_transform_init(&t, NULL, 1), MT_EINVAL);
  /* Non-finite inputs: MT_ERANGE for every kind, outputs untouched. */
  mt_transform ts[8];
  int n = all(ts);
  const double odd[3] = {NAN, INFINITY, -INFINITY};
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 3; k++) {
      double out = 7;
      cr_assert_eq(mt_transform_to(&ts[i], odd[k], &out), MT_ERANGE);
      cr_assert_eq(mt_transform_from(&ts[i], odd[k], &out), MT_ERANGE);
      cr_assert_eq(mt_transform_jacobian(&ts[i], odd[k], &out), MT_ERANGE);
      cr_assert_eq(out, 7);
    }
}

Test(transform, never_nan)
{
  /* Whatever the input, a call either fails or gives a finite value. */
  const double v[12] = {0, -0.0, 1e-320, -1e-320, 1e-300, 1e300, -1e300,
                        DBL_MAX, -DBL_MAX, 709.9, -745.5, 0.5};
  mt_transform t[8];
  int n = all(t);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 12; k++) {
      double out;
      if (mt_transform_to(&t[i], v[k], &out) == 0)
        cr_assert(isfinite(out), "%d %g", i, v[k]);
      if (mt_transform_from(&t[i], v[k], &out) == 0)
        cr_assert(isfinite(out), "%d %g", i, v[k]);
      if (mt_transform_jacobian(&t[i], v[k], &out) == 0)
        cr_assert(isfinite(out), "%d %g", i, v[k]);
    }
}
