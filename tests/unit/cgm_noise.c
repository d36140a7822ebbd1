/*
** Unit tests of the CGM sensor error model (src/core/cgm_noise.c).
**
** Sources of reference values:
**  - sensor table: data/uva-padova/sensor_params.csv (simglucose commit
**    a6f6777, simglucose/params/sensor_params.csv), quoted below;
**  - recursion, transform and block layout: simglucose/sensor/noise_gen.py
**    (noise15_iter, CGMNoise._get_noise_seq) and sensor/cgm.py;
**  - spline values: scipy 1.10.1 interp1d(x, y, kind="cubic") on the knots in
**    the test (Debian python3-scipy), printed with repr();
**  - stationary moments of the latent AR(1) e_k = p (e_{k-1} + z_k):
**    Var e = p^2 / (1 - p^2), lag-1 autocorrelation p;
**  - moments of the Johnson SU noise J(e) = xi + lambda sinh((e - gamma) /
**    delta) for Gaussian e, from E cosh(W) = cosh(m) exp(s^2 / 2) for
**    W ~ N(m, s^2) (the normal moment generating function), written out in
**    su_moments() below.
** Standard errors for n autocorrelated samples are stated at each check.
*/
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/cgm_noise.h"
#include "medtwin/error.h"

static mt_cgm_sensor load(const char *name)
{
  mt_cgm_sensor s;
  cr_assert_eq(mt_cgm_sensor_load(name, &s), 0, "load %s", name);
  return s;
}

Test(cgm_noise, sensor_table)
{
  /* sensor_params.csv, row "Dexcom":
  ** Dexcom,0.7,-0.5444,15.9574,1.6898,-5.47,3.0,39.0,600.0 */
  mt_cgm_sensor s = load("Dexcom");
  cr_assert_str_eq(s.name, "Dexcom");
  cr_assert_eq(s.pacf, 0.7);
  cr_assert_eq(s.gamma, -0.5444);
  cr_assert_eq(s.lambda, 15.9574);
  cr_assert_eq(s.delta, 1.6898);
  cr_assert_eq(s.xi, -5.47);
  cr_assert_eq(s.sample_min, 3.0);
  cr_assert_eq(s.lo, 39.0);
  cr_assert_eq(s.hi, 600.0);
  /* GuardianRT: same error model, 5-min samples; Navigator: 1 min, min 32. */
  s = load("GuardianRT");
  cr_assert_eq(s.sample_min, 5.0);
  cr_assert_eq(s.lo, 39.0);
  cr_assert_eq(s.pacf, 0.7);
  s = load("Navigator");
  cr_assert_eq(s.sample_min, 1.0);
  cr_assert_eq(s.lo, 32.0);
  cr_assert_eq(s.hi, 600.0);

  mt_cgm_sensor keep = s;
  cr_assert_eq(mt_cgm_sensor_load("dexcom", &s), MT_ENOTFOUND);
  cr_assert_eq(mt_cgm_sensor_load("", &s), MT_ENOTFOUND);
  cr_assert(memcmp(&s, &keep, sizeof s) == 0, "untouched when not found");
  cr_assert_eq(mt_cgm_sensor_load(NULL, &s), MT_EINVAL);
  cr_assert_eq(mt_cgm_sensor_load("Dexcom", NULL), MT_EINVAL);
}

Test(cgm_noise, init_rejects_bad_parameters)
{
  mt_cgm_sensor good = load("Dexcom");
  mt_rng r;
  mt_rng_init(&r, 1, 0, 0, 0);
  mt_cgm_noise g;
  cr_assert_eq(mt_cgm_noise_init(&g, &good, &r), 0);
  static const struct { size_t off; double value; } bad[] = {
      {offsetof(mt_cgm_sensor, pacf), 1.0},
      {offsetof(mt_cgm_sensor, pacf), -1.0},
      {offsetof(mt_cgm_sensor, lambda), 0.0},
      {offsetof(mt_cgm_sensor, delta), 0.0},
      {offsetof(mt_cgm_sensor, delta), -1.0},
      {offsetof(mt_cgm_sensor, sample_min), 0.0},
      {offsetof(mt_cgm_sensor, sample_min), 151.0},
      {offsetof(mt_cgm_sensor, hi), 39.0},
      {offsetof(mt_cgm_sensor, xi), NAN},
      {offsetof(mt_cgm_sensor, gamma), INFINITY},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mt_cgm_sensor s = good;
    memcpy((char *)&s + bad[i].off, &bad[i].value, sizeof(double));
    cr_assert_eq(mt_cgm_noise_init(&g, &s, &r), MT_EINVAL, "case %zu", i);
    cr_assert_eq(g.n_out, 0, "zeroed on failure");
  }
  cr_assert_eq(mt_cgm_noise_init(&g, NULL, &r), MT_EINVAL);
  cr_assert_eq(mt_cgm_noise_init(&g, &good, NULL), MT_EINVAL);
}

Test(cgm_noise, spline_matches_scipy)
{
  /* scipy 1.10.1: interp1d(arange(11) * 15.0, y, kind="cubic")(t). */
  static const double y[MT_CGM_KNOTS] = {3.1,  -7.4, 12.0,  0.5, -2.25, 8.8,
                                         15.0, -11.3, 4.4, 0.0, -6.6};
  static const double want[][2] = {
      {0, 3.1},
      {3, -5.711463181148749},
      {7.5, -11.511801017120764},
      {14, -8.625654066437571},
      {22.5, 4.186801017120767},
      {61, -1.8528207521954945},
      {100, -4.713988436153382},
      {137, -1.8692209703812814},
      {148.5, -7.298608942378497},
      {150, -6.6},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    double got = mt_cgm_interp(y, want[i][0]);
    cr_assert(fabs(got - want[i][1]) <= 1e-12 * (1 + fabs(want[i][1])),
              "t = %g: got %.17g, want %.17g", want[i][0], got, want[i][1]);
  }
  /* At a knot the spline returns the knot value exactly. */
  for (int i = 0; i < MT_CGM_KNOTS; i++)
    cr_assert_eq(mt_cgm_interp(y, 15.0 * i), y[i], "knot %d", i);
}

Test(cgm_noise, spline_reproduces_cubics)
{
  /* A not-a-knot spline through samples of a cubic is that cubic. */
  double y[MT_CGM_KNOTS];
  for (int i = 0; i < MT_CGM_KNOTS; i++) {
    double t = 15.0 * i;
    y[i] = 2.0 - 0.3 * t + 4e-3 * t * t - 1.5e-5 * t * t * t;
  }
  for (double t = 0; t <= 150; t += 0.7) {
    double p = 2.0 - 0.3 * t + 4e-3 * t * t - 1.5e-5 * t * t * t;
    cr_assert(fabs(mt_cgm_interp(y, t) - p) < 1e-11, "t = %g", t);
  }
}

Test(cgm_noise, recursion_and_blocks_follow_simglucose)
{
  /* noise15_iter: e0 = z0, e1 = p (e0 + z1), e2 = p (e1 + z2), each mapped by
  ** Johnson SU; the first block's knots are J(e0..e10), the next block
  ** starts at J(e10). Readings every 3 min: sample 5k is knot k exactly. */
  mt_cgm_sensor s = load("Dexcom");
  mt_rng r, z;
  mt_rng_init(&r, 77, 1, 2, 3);
  z = r;
  mt_cgm_noise g;
  cr_assert_eq(mt_cgm_noise_init(&g, &s, &r), 0);
  cr_assert_eq(g.n_out, 50);
  double e = mt_rng_normal(&z), knot[2 * MT_CGM_KNOTS - 1];
  knot[0] = s.xi + s.lambda * sinh((e - s.gamma) / s.delta);
  for (int k = 1; k < 2 * MT_CGM_KNOTS - 1; k++) {
    e = s.pacf * (e + mt_rng_normal(&z));
    knot[k] = s.xi + s.lambda * sinh((e - s.gamma) / s.delta);
  }
  for (int k = 0; k < MT_CGM_KNOTS; k++)
    cr_assert(fabs(g.knot[k] - knot[k]) < 1e-12, "knot %d", k);
  for (int j = 1; j <= 100; j++) {
    double v = mt_cgm_noise_next(&g);
    if (j <= 50) /* first block: the spline at 3 j min */
      cr_assert(fabs(v - mt_cgm_interp(knot, 3.0 * j)) < 1e-12, "j = %d", j);
    if (j % 5 == 0)
      cr_assert(fabs(v - knot[j / 5]) < 1e-12, "sample %d vs knot", j);
  }
  cr_assert_eq(g.next, 51, "second block used up");
}

Test(cgm_noise, samples_per_block)
{
  /* floor(150 / sample_time) samples per block; knots every 15 / st. */
  static const struct { const char *name; int n_out, per_knot; } want[] = {
      {"Dexcom", 50, 5}, {"GuardianRT", 30, 3}, {"Navigator", 150, 15}};
  for (int i = 0; i < 3; i++) {
    mt_cgm_sensor s = load(want[i].name);
    mt_rng r;
    mt_rng_init(&r, 5, (uint64_t)i, 0, 0);
    mt_cgm_noise g;
    cr_assert_eq(mt_cgm_noise_init(&g, &s, &r), 0);
    cr_assert_eq(g.n_out, want[i].n_out, "%s", want[i].name);
    double k10 = g.knot[MT_CGM_KNOTS - 1], v = 0;
    for (int j = 0; j < want[i].n_out; j++)
      v = mt_cgm_noise_next(&g);
    cr_assert_eq(v, k10, "%s: last sample of a block is knot 10", want[i].name);
    mt_cgm_noise_next(&g);
    cr_assert_eq(g.knot[0], k10, "%s: next block starts there", want[i].name);
  }
}

Test(cgm_noise, deterministic_per_stream)
{
  mt_cgm_sensor s = load("GuardianRT");
  mt_rng r1, r2;
  mt_rng_init(&r1, 2024, 7, 1, 0);
  mt_rng_init(&r2, 2024, 7, 2, 0);
  mt_cgm_noise a, b, c;
  cr_assert_eq(mt_cgm_noise_init(&a, &s, &r1), 0);
  cr_assert_eq(mt_cgm_noise_init(&b, &s, &r1), 0);
  cr_assert_eq(mt_cgm_noise_init(&c, &s, &r2), 0);
  int differ = 0;
  for (int i = 0; i < 1000; i++) {
    double va = mt_cgm_noise_next(&a), vc = mt_cgm_noise_next(&c);
    cr_assert_eq(va, mt_cgm_noise_next(&b), "sample %d", i);
    differ += va != vc;
  }
  cr_assert_eq(differ, 1000, "another stream gives other noise");
}

/* Mean, variance and lag-1 autocorrelation of x[0..n). */
static void moments(const double *x, int n, double *mean, double *var,
                    double *r1)
{
  double m = 0, c0 = 0, c1 = 0;
  for (int i = 0; i < n; i++)
    m += x[i];
  m /= n;
  for (int i = 0; i < n; i++) {
    c0 += (x[i] - m) * (x[i] - m);
    if (i + 1 < n)
      c1 += (x[i] - m) * (x[i + 1] - m);
  }
  *mean = m;
  *var = c0 / n;
  *r1 = c1 / c0;
}

/* Johnson SU noise of stationary Gaussian e (variance v) at correlation rho:
** with u = (e - gamma)/delta ~ N(mu, tau2), mu = -gamma/delta,
** tau2 = v/delta^2, E sinh u = sinh(mu) e^(tau2/2) and
** E sinh(u) sinh(u') = (cosh(2 mu) e^(tau2 (1 + rho)) - e^(tau2 (1 - rho)))/2
** (sinh a sinh b = (cosh(a+b) - cosh(a-b))/2). Returns the covariance of
** the noise at correlation rho of e; *mean gets the noise mean. */
static double su_cov(const mt_cgm_sensor *s, double v, double rho,
                     double *mean)
{
  double mu = -s->gamma / s->delta, tau2 = v / (s->delta * s->delta);
  double es = sinh(mu) * exp(tau2 / 2);
  if (mean)
    *mean = s->xi + s->lambda * es;
  double ess = 0.5 * (cosh(2 * mu) * exp(tau2 * (1 + rho)) -
                      exp(tau2 * (1 - rho)));
  return s->lambda * s->lambda * (ess - es * es);
}

Test(cgm_noise, stationary_distribution)
{
  /* 200,000 knots (10^6 Dexcom samples); the first 50 knots are dropped so
  ** that e_0's unit variance has decayed (p^100 ~ 3e-16). The latent e is
  ** recovered exactly from each knot by inverting Johnson SU:
  ** e = gamma + delta asinh((noise - xi) / lambda). */
  enum { N = 200000, BURN = 50 };
  static double e[N], y[N];
  mt_cgm_sensor s = load("Dexcom");
  mt_rng r;
  mt_rng_init(&r, 31337, 0, 0, 0);
  mt_cgm_noise g;
  cr_assert_eq(mt_cgm_noise_init(&g, &s, &r), 0);
  for (int k = 0; k < BURN + N; k++) {
    double v = 0;
    for (int j = 0; j < 5; j++)
      v = mt_cgm_noise_next(&g);
    if (k >= BURN) {
      y[k - BURN] = v;
      e[k - BURN] = s.gamma + s.delta * asinh((v - s.xi) / s.lambda);
    }
  }
  double p = s.pacf, var_e = p * p / (1 - p * p); /* 0.96078 */
  double m, v, r1;
  moments(e, N, &m, &v, &r1);
  /* mean: SE = sqrt(var_e / n_eff), n_eff = n (1 - p) / (1 + p) (AR(1)). */
  double se = sqrt(var_e / (N * (1 - p) / (1 + p)));
  cr_assert(fabs(m) < 5 * se, "mean e %.5f, SE %.5f", m, se);
  /* variance: for Gaussian AR(1), Var(s^2) = 2 var_e^2 / n_eff with
  ** n_eff = n (1 - p^2) / (1 + p^2), since e^2 has lag-k correlation p^2k.
  ** (n (1 - p) / (1 + p), the mean's n_eff, would be looser still.) */
  se = var_e * sqrt(2.0 / (N * (1 - p * p) / (1 + p * p)));
  cr_assert(fabs(v - var_e) < 5 * se, "var e %.5f, want %.5f, SE %.5f", v,
            var_e, se);
  /* lag-1 autocorrelation: Bartlett, Var(r1) = (1 - p^2) / n for AR(1). */
  se = sqrt((1 - p * p) / N);
  cr_assert(fabs(r1 - p) < 5 * se, "r1 e %.5f, want %.2f, SE %.5f", r1, p,
            se);

  /* The noise in mg/dL: mean 0.71866 and SD 11.728 mg/dL, lag-1
  ** autocorrelation 0.69006 (not quite p: sinh is not linear). SE of the
  ** mean from the exact long-run variance, sum over k of its autocovariance
  ** at rho = p^k; SE of r1 from Bartlett's formula with those
  ** autocorrelations, Var(r1) = sum_k (rho_{k+1} + rho_{k-1} - 2 rho_1
  ** rho_k)^2 / n (exact for linear processes, an approximation here). */
  double mean_y, c0 = su_cov(&s, var_e, 1.0, &mean_y);
  double rho[64], lrv = c0, b = 0;
  for (int k = 0; k < 64; k++)
    rho[k] = su_cov(&s, var_e, pow(p, k), NULL) / c0;
  for (int k = 1; k < 64; k++)
    lrv += 2 * c0 * rho[k];
  for (int k = 1; k < 63; k++) {
    double t = rho[k + 1] + rho[k - 1] - 2 * rho[1] * rho[k];
    b += t * t;
  }
  moments(y, N, &m, &v, &r1);
  cr_assert(fabs(mean_y - 0.71866) < 1e-4 && fabs(rho[1] - 0.69006) < 1e-4);
  se = sqrt(lrv / N);
  cr_assert(fabs(m - mean_y) < 5 * se, "mean noise %.4f, want %.4f, SE %.4f",
            m, mean_y, se);
  se = sqrt(b / N);
  cr_assert(fabs(r1 - rho[1]) < 5 * se, "r1 noise %.5f, want %.5f, SE %.5f",
            r1, rho[1], se);
}

Test(cgm_noise, readings_are_clipped)
{
  mt_cgm_sensor dex = load("Dexcom"), nav = load("Navigator");
  cr_assert_eq(mt_cgm_reading(&dex, 100.0, 5.5), 105.5);
  cr_assert_eq(mt_cgm_reading(&dex, 45.0, -10.0), 39.0);
  cr_assert_eq(mt_cgm_reading(&nav, 45.0, -10.0), 35.0);
  cr_assert_eq(mt_cgm_reading(&nav, 30.0, -10.0), 32.0);
  cr_assert_eq(mt_cgm_reading(&dex, 595.0, 12.0), 600.0);
  cr_assert(isnan(mt_cgm_reading(&dex, NAN, 1.0)));

  /* A day of noise at true glucose 45 mg/dL: every reading within
  ** [39, 600], and the clip is reached (noise SD ~ 11.7 mg/dL). */
  mt_rng r;
  mt_rng_init(&r, 3, 0, 0, 0);
  mt_cgm_noise g;
  cr_assert_eq(mt_cgm_noise_init(&g, &dex, &r), 0);
  int clipped = 0;
  for (int i = 0; i < 480; i++) {
    double v = mt_cgm_reading(&dex, 45.0, mt_cgm_noise_next(&g));
    cr_assert(v >= 39.0 && v <= 600.0, "reading %d = %g", i, v);
    clipped += v == 39.0;
  }
  cr_assert_gt(clipped, 0);
}
