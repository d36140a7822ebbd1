/*
** Unit tests of the trial statistics (src/core/stats.c, docs/statistics.md).
**
** References, stated next to each value:
**  - closed forms of the t distribution: df = 1 (Cauchy) F(t) = 1/2 +
**    atan(t)/pi; df = 2 F(t) = 1/2 + t / (2 sqrt(2 + t^2)); integer df by
**    Abramowitz and Stegun, Handbook of Mathematical Functions (10th
**    printing, 1972), 26.7.3 (even df) and 26.7.4 (odd df); the df = 4
**    quantile t = 2 sqrt(q - 1), q = cos(arccos(sqrt a) / 3) / sqrt a,
**    a = 4 p (1 - p) (Shaw, J. Comput. Finance 9(4), 2006);
**  - NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.6.7.2, "Critical
**    values of the Student's t distribution" (3 decimals);
**  - A&S Table 26.1 (normal probability integral, 15 decimals);
**  - hand arithmetic shown in the comments. Digits beyond the hand
**    arithmetic (square roots, the closed forms above) were evaluated with
**    mpmath 1.3.0 at 40 significant digits and are quoted to 17.
** Tolerances are stated with each assertion; the issue asks for 1e-8 against
** the tables and the implementation measures below 1e-12 (docs).
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/rng.h"
#include "medtwin/stats.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define PI 3.14159265358979323846

/* |got - want| <= rel * |want|. */
static void assert_rel(double got, double want, double rel, const char *what)
{
  cr_assert(fabs(got - want) <= rel * fabs(want), "%s: got %.17g, want %.17g",
            what, got, want);
}

static void assert_abs(double got, double want, double tol, const char *what)
{
  cr_assert(fabs(got - want) <= tol, "%s: got %.17g, want %.17g (tol %g)",
            what, got, want, tol);
}

/* ---- t distribution ---------------------------------------------------- */

/*
** df = 1, the Cauchy distribution: F(t) = 1/2 + atan(t)/pi, and below the
** median the same value without cancellation, atan(-1/t)/pi (atan t + pi/2 =
** atan(-1/t) for t < 0), so the far tail (F = 3.2e-11 at t = -1e10, 3.2e-301
** at -1e300) is checked relatively. Tolerance 1e-12 relative for F below
** 1/2 (libm's atan is good to an ulp; measured error below 2e-13), 1e-15
** absolute above (F near 1 carries only absolute precision).
*/
Test(t_dist, cdf_df1_closed_form)
{
  const double ts[] = {-1e300, -1e10, -1e5, -1000, -30, -3, -1, -0.5, -1e-10,
                       1e-10, 0.5, 1, 3, 30, 1e5};
  for (int i = 0; i < N_OF(ts); i++) {
    double t = ts[i], F = mt_t_cdf(t, 1.0);
    if (t < 0)
      assert_rel(F, atan(-1 / t) / PI, 1e-12, "df 1 lower");
    else
      assert_abs(F, 0.5 + atan(t) / PI, 1e-15, "df 1 upper");
  }
  cr_assert_eq(mt_t_cdf(0.0, 1.0), 0.5);
}

/*
** df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)); for t < 0, with s = sqrt(2 +
** t^2), 1/2 - |t|/(2s) = (s - |t|)/(2s) = 1 / (s (s + |t|)) without
** cancellation (F = 5e-11 at t = -1e5, 5e-21 at -1e10). Tolerances as df 1.
*/
Test(t_dist, cdf_df2_closed_form)
{
  const double ts[] = {-1e10, -1e5, -1000, -30, -3, -1, -0.5, -1e-10, 1e-10,
                       0.5, 1, 3, 30, 1e5};
  for (int i = 0; i < N_OF(ts); i++) {
    double t = ts[i], s = sqrt(2 + t * t), F = mt_t_cdf(t, 2.0);
    if (t < 0)
      assert_rel(F, 1 / (s * (s + fabs(t))), 1e-12, "df 2 lower");
    else
      assert_abs(F, 0.5 + t / (2 * s), 1e-15, "df 2 upper");
  }
}

/*
** Integer df 3..30 by A&S 26.7.3/26.7.4: A(t|v) = P(|T| <= t) with
** theta = atan(t / sqrt v),
**   v even: A = sin(th) (1 + cos^2/2 + 1.3 cos^4/(2.4) + ... +
**           1.3...(v-3) cos^(v-2) / (2.4...(v-2)))
**   v odd:  A = (2/pi) (th + sin(th) cos(th) (1 + 2/3 cos^2 + ... +
**           2.4...(v-3) / (1.3...(v-2)) cos^(v-3))), v > 1,
** and F(t) = (1 + A) / 2 for t > 0. Tolerance 1e-13 absolute: the finite
** sums are evaluated in double with relative error below 1e-15.
*/
static double as_26_7(double t, int v)
{
  double th = atan(t / sqrt(v)), c2 = cos(th) * cos(th), term = 1, sum = 1;
  if (v % 2 == 0) {
    for (int k = 2; k <= v - 2; k += 2) {
      term *= c2 * (k - 1) / k;
      sum += term;
    }
    return sin(th) * sum;
  }
  for (int k = 3; k <= v - 2; k += 2) {
    term *= c2 * (k - 1) / k;
    sum += term;
  }
  return 2 / PI * (th + (v > 1 ? sin(th) * cos(th) * sum : 0));
}

Test(t_dist, cdf_integer_df_against_as_26_7)
{
  const double ts[] = {0.1, 0.5, 1, 1.5, 2, 3, 5, 8};
  for (int v = 1; v <= 30; v++)
    for (int i = 0; i < N_OF(ts); i++) {
      double want = 0.5 * (1 + as_26_7(ts[i], v));
      assert_abs(mt_t_cdf(ts[i], v), want, 1e-13, "A&S 26.7");
      assert_abs(mt_t_cdf(-ts[i], v), 1 - want, 1e-13, "A&S 26.7 lower");
    }
}

/*
** Upper critical values t_{p, df} of NIST/SEMATECH e-Handbook 1.3.6.7.2 (p =
** 0.90, 0.95, 0.975, 0.99, 0.995, 0.999). The table is rounded to 3
** decimals, so the tolerance is its half unit, 5e-4 (plus 1e-12 for the
** binary representation of the table value). -t_{p} = t_{1-p} checked too.
*/
Test(t_dist, quantile_nist_table)
{
  static const double ps[6] = {0.90, 0.95, 0.975, 0.99, 0.995, 0.999};
  static const struct {
    double df, t[6];
  } rows[] = {
    {1, {3.078, 6.314, 12.706, 31.821, 63.657, 318.309}},
    {2, {1.886, 2.920, 4.303, 6.965, 9.925, 22.327}},
    {5, {1.476, 2.015, 2.571, 3.365, 4.032, 5.893}},
    {10, {1.372, 1.812, 2.228, 2.764, 3.169, 4.144}},
    {30, {1.310, 1.697, 2.042, 2.457, 2.750, 3.385}},
    {100, {1.290, 1.660, 1.984, 2.364, 2.626, 3.174}},
  };
  for (int r = 0; r < N_OF(rows); r++)
    for (int j = 0; j < 6; j++) {
      double q = mt_t_quantile(ps[j], rows[r].df);
      assert_abs(q, rows[r].t[j], 5e-4 + 1e-12, "NIST t");
      assert_abs(mt_t_quantile(1 - ps[j], rows[r].df), -q, 1e-12 * q,
                 "symmetry");
    }
}

/*
** Closed-form quantiles, tolerance 1e-12 relative (the issue asks 1e-8):
**   df 1: t = tan(pi (p - 1/2)) = -1 / tan(pi p), the latter exact in the
**         tail (p = 1e-10 gives t = -3.18e9);
**   df 2: t = (2p - 1) / sqrt(2 p (1 - p));
**   df 4: Shaw (2006), above; at p = 0.975 t = 2.7764451051977944
**         (NIST: 2.776).
*/
static double q_df4(double p)
{
  double a = 4 * p * (1 - p), q = cos(acos(sqrt(a)) / 3) / sqrt(a);
  return (p < 0.5 ? -2 : 2) * sqrt(q - 1);
}

Test(t_dist, quantile_closed_forms)
{
  const double ps[] = {1e-300, 1e-100, 1e-10, 1e-4, 0.01, 0.025, 0.1, 0.3,
                       0.49, 0.51, 0.7, 0.9, 0.975, 0.99, 0.9999};
  for (int i = 0; i < N_OF(ps); i++) {
    double p = ps[i];
    assert_rel(mt_t_quantile(p, 1), -1 / tan(PI * p), 1e-12, "df 1");
    assert_rel(mt_t_quantile(p, 2), (2 * p - 1) / sqrt(2 * p * (1 - p)),
               1e-12, "df 2");
    if (p >= 1e-10) /* a = 4 p (1 - p) loses the far tail's digits */
      assert_rel(mt_t_quantile(p, 4), q_df4(p), 1e-12, "df 4");
  }
  assert_rel(mt_t_quantile(0.975, 4), 2.7764451051977944, 1e-14, "t4 .975");
  cr_assert_eq(mt_t_quantile(0.5, 3.7), 0.0);
}

/*
** Round trips for real-valued df (Welch): the CDF of the returned quantile
** is p to a relative 1e-12 (the contract in stats.h), and quantile(cdf(t))
** is t to 1e-10 relative for t <= 0 (F below the median carries full
** relative precision; the slope dF/dt bounds the step from 1e-12 in p).
*/
Test(t_dist, round_trips)
{
  const double dfs[] = {0.3, 1, 2.5, 4, 7.7, 17.2, 123.4, 1e4, 1e6};
  const double ps[] = {1e-200, 1e-30, 1e-8, 1e-3, 0.025, 0.2, 0.45};
  const double ts[] = {-1e6, -300, -12, -2.5, -1, -0.25, -1e-3};
  for (int d = 0; d < N_OF(dfs); d++) {
    for (int i = 0; i < N_OF(ps); i++) {
      double t = mt_t_quantile(ps[i], dfs[d]);
      if (isinf(t)) { /* below -DBL_MAX: only for df 0.3 at 1e-200 */
        cr_assert(dfs[d] < 1 && ps[i] < 1e-100, "inf at %g %g", ps[i],
                  dfs[d]);
        continue;
      }
      assert_rel(mt_t_cdf(t, dfs[d]), ps[i], 1e-12, "cdf(quantile)");
    }
    for (int i = 0; i < N_OF(ts); i++) {
      double F = mt_t_cdf(ts[i], dfs[d]);
      if (F > 1e-300)
        assert_rel(mt_t_quantile(F, dfs[d]), ts[i], 1e-10, "quantile(cdf)");
    }
  }
}

/*
** Large df, where the continued fraction's terms cancel (stats.c evaluates
** it in long double). References from mpmath 1.3.0 (betainc, 40 digits):
** df = 1e6: F(-2) = 0.022750266925659603, F(-3) = 0.0013499312707108985,
** F(-20) = 2.866543523695186e-89. Tolerance 1e-12 relative; the same code in
** plain double is off by 1.5e-11, 2e-11 and 3e-13 (measured).
*/
Test(t_dist, cdf_large_df)
{
  assert_rel(mt_t_cdf(-2, 1e6), 0.022750266925659603, 1e-12, "df 1e6, -2");
  assert_rel(mt_t_cdf(-3, 1e6), 0.0013499312707108985, 1e-12, "df 1e6, -3");
  assert_rel(mt_t_cdf(-20, 1e6), 2.866543523695186e-89, 1e-12, "-20");
}

/* Domain: NaN outside it, the limits at p = 0 and 1, and t = +-inf. */
Test(t_dist, domain)
{
  cr_assert(isnan(mt_t_cdf(1, 0)));
  cr_assert(isnan(mt_t_cdf(1, -2)));
  cr_assert(isnan(mt_t_cdf(NAN, 3)));
  cr_assert(isnan(mt_t_quantile(-0.1, 3)));
  cr_assert(isnan(mt_t_quantile(1.5, 3)));
  cr_assert(isnan(mt_t_quantile(0.5, 0)));
  cr_assert(isinf(mt_t_quantile(0, 3)) && mt_t_quantile(0, 3) < 0);
  cr_assert(isinf(mt_t_quantile(1, 3)) && mt_t_quantile(1, 3) > 0);
  cr_assert_eq(mt_t_cdf(-INFINITY, 3), 0.0);
  cr_assert_eq(mt_t_cdf(INFINITY, 3), 1.0);
  /* df = inf is the normal: Phi(1) (A&S Table 26.1) */
  assert_rel(mt_t_cdf(1, INFINITY), 0.841344746068543, 1e-14, "df inf");
  cr_assert(isnan(mt_beta_inc(1, 1, 1.5)));
  cr_assert(isnan(mt_beta_inc(0, 1, 0.5)));
}

/* I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b (NR3 6.4), and
** I_x(a, b) = 1 - I_{1-x}(b, a). Tolerance 1e-13 absolute. */
Test(t_dist, incomplete_beta_identities)
{
  const double xs[] = {0.01, 0.2, 0.5, 0.8, 0.99};
  const double as[] = {0.5, 2, 7.5, 40};
  for (int i = 0; i < N_OF(xs); i++)
    for (int j = 0; j < N_OF(as); j++) {
      double x = xs[i], a = as[j];
      assert_abs(mt_beta_inc(a, 1, x), pow(x, a), 1e-13, "I_x(a,1)");
      assert_abs(mt_beta_inc(1, a, x), 1 - pow(1 - x, a), 1e-13, "I_x(1,b)");
      assert_abs(mt_beta_inc(a, 3.3, x), 1 - mt_beta_inc(3.3, a, 1 - x),
                 1e-13, "symmetry");
    }
}

/* ---- normal ------------------------------------------------------------ */

/*
** Phi(1), Phi(2), Phi(3) of A&S Table 26.1 (15 decimals): 0.841344746068543,
** 0.977249868051821, 0.998650101968370; tolerance 1e-15 absolute (the
** table's half unit 5e-16 plus rounding). Quantiles 0.975, 0.995 and 0.95:
** 1.959963984540054, 2.575829303548901, 1.644853626951473 (mpmath, 40
** digits; A&S Table 26.5 lists 1.959963985 etc. to 9 decimals), tolerance
** 1e-14 relative.
*/
Test(normal, table_26_1_and_quantiles)
{
  assert_abs(mt_normal_cdf(1), 0.841344746068543, 1e-15, "Phi(1)");
  assert_abs(mt_normal_cdf(2), 0.977249868051821, 1e-15, "Phi(2)");
  assert_abs(mt_normal_cdf(3), 0.998650101968370, 1e-15, "Phi(3)");
  assert_abs(mt_normal_cdf(-3), 1 - 0.998650101968370, 1e-15, "Phi(-3)");
  assert_rel(mt_normal_quantile(0.975), 1.959963984540054, 1e-14, "z.975");
  assert_rel(mt_normal_quantile(0.995), 2.575829303548901, 1e-14, "z.995");
  assert_rel(mt_normal_quantile(0.05), -1.644853626951473, 1e-14, "z.05");
  const double ps[] = {1e-300, 1e-50, 1e-10, 1e-3, 0.02, 0.03, 0.3, 0.5};
  for (int i = 0; i < N_OF(ps); i++) /* 1e-12 relative in p */
    assert_rel(mt_normal_cdf(mt_normal_quantile(ps[i])), ps[i], 1e-12,
               "normal round trip");
}

/* ---- summaries ---------------------------------------------------------- */

/*
** {3, 1, 4, 1, 5, 9, 2, 6}: sorted {1, 1, 2, 3, 4, 5, 6, 9}, n = 8, mean
** 31/8 = 3.875. Type 7, h = 7p: Q1 h = 1.75, v[1] + 0.75 (v[2] - v[1]) =
** 1 + 0.75 = 1.75; median h = 3.5, 3 + 0.5 (4 - 3) = 3.5; Q3 h = 5.25,
** 5 + 0.25 (6 - 5) = 5.25. Sum of squares 173 - 8 * 3.875^2 = 173 - 120.125
** = 52.875, variance 52.875 / 7 = 7.5535714..., sd = 2.7483761439387129.
** Tolerance 1e-14 relative (every value but the sd is exact in binary).
*/
Test(summary, pi_digits)
{
  const double x[] = {3, 1, 4, 1, 5, 9, 2, 6};
  mt_summary s;
  cr_assert_eq(mt_summary_compute(x, N_OF(x), &s, NULL, 0), MT_OK);
  cr_assert_eq(s.n, 8);
  assert_rel(s.mean, 3.875, 1e-14, "mean");
  assert_rel(s.sd, 2.7483761439387129, 1e-14, "sd");
  assert_rel(s.q1, 1.75, 1e-14, "q1");
  assert_rel(s.median, 3.5, 1e-14, "median");
  assert_rel(s.q3, 5.25, 1e-14, "q3");
  cr_assert_eq(s.min, 1.0);
  cr_assert_eq(s.max, 9.0);
}

/* n = 1: every statistic is the value, sd 0 (documented); errors leave
** *out untouched and say why. */
Test(summary, one_value_and_errors)
{
  const double x[] = {42.5, NAN};
  mt_summary s;
  cr_assert_eq(mt_summary_compute(x, 1, &s, NULL, 0), MT_OK);
  cr_assert(s.mean == 42.5 && s.sd == 0 && s.q1 == 42.5 &&
            s.median == 42.5 && s.q3 == 42.5 && s.min == 42.5 &&
            s.max == 42.5);
  char err[128] = "";
  s.n = -7;
  cr_assert_eq(mt_summary_compute(x, 2, &s, err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "x[1]") != NULL, "%s", err);
  cr_assert_eq(s.n, -7);
  cr_assert_eq(mt_summary_compute(x, 0, &s, err, sizeof err), MT_EINVAL);
  cr_assert_eq(mt_summary_compute(NULL, 1, &s, NULL, 0), MT_EINVAL);
}

/* ---- paired t ------------------------------------------------------------ */

/*
** A t-interval by hand. a = {11, 14, 12, 17, 15}, b = {10, 12, 9, 13, 10}:
** d = a - b = {1, 2, 3, 4, 5}, n = 5, mean 15/5 = 3, deviations -2..2,
** sum of squares 4 + 1 + 0 + 1 + 4 = 10, s^2 = 10/4 = 2.5, se = sqrt(2.5/5)
** = sqrt(0.5) = 0.70710678118654752, df = 4.
** t = 3 / sqrt(0.5) = 3 sqrt 2 = 4.2426406871192852.
** t_{0.975, 4} = 2.7764451051977944 (Shaw's df 4 closed form; NIST 2.776),
** half-width 2.7764451051977944 * 0.70710678118654752 = 1.9632431614775577,
** 95 % CI [1.0367568385224423, 4.9632431614775577].
** Two-sided p = 1 - A(t|4) (A&S 26.7.3): tan(th) = t/2 = 3/sqrt 2, so
** sin(th) = (3/sqrt 2)/sqrt(1 + 9/2) = 3/sqrt 11, cos^2(th) = 2/11,
** A = (3/sqrt 11)(1 + 1/11) = 36 / (11 sqrt 11), p = 1 - 36/(11 sqrt 11) =
** 0.013235599563682690.
** Tolerance 1e-12 relative (p: 1e-11, it is a difference 1 - A).
*/
Test(paired_t, by_hand_df4)
{
  const double a[] = {11, 14, 12, 17, 15}, b[] = {10, 12, 9, 13, 10};
  mt_ttest r;
  cr_assert_eq(mt_paired_t(a, b, 5, 0.95, &r, NULL, 0), MT_OK);
  cr_assert_eq(r.n, 5);
  assert_rel(r.estimate, 3, 1e-14, "mean d");
  assert_rel(r.se, 0.70710678118654752, 1e-13, "se");
  cr_assert_eq(r.df, 4.0);
  assert_rel(r.t, 4.2426406871192852, 1e-13, "t");
  assert_rel(r.lo, 1.0367568385224423, 1e-12, "lo");
  assert_rel(r.hi, 4.9632431614775577, 1e-12, "hi");
  assert_rel(r.p, 0.013235599563682690, 1e-11, "p");
  cr_assert_eq(r.level, 0.95);
}

/*
** df = 2, everything closed form. d = {2, 4, 9} (a = {12, 14, 19}, b = 10):
** mean 15/3 = 5, deviations -3, -1, 4, sum of squares 9 + 1 + 16 = 26,
** s^2 = 13, se = sqrt(13/3) = 2.0816659994661327, t = 5/se =
** 2.4019223070763070, t^2 = 25 * 3/13 = 75/13.
** df 2: P(|T| <= t) = t / sqrt(2 + t^2) = sqrt((75/13)/(101/13)) =
** sqrt(75/101), p = 1 - sqrt(75/101) = 0.13827251556786088.
** t_{0.975, 2} = (2p - 1)/sqrt(2p(1 - p)) = 0.95 / sqrt(0.04875) =
** 4.3026527297494639 (NIST 4.303); CI 5 -+ 4.3026527297494639 * se =
** [-3.9566858950296020, 13.956685895029602]. Tolerance 1e-12 relative.
*/
Test(paired_t, by_hand_df2)
{
  const double a[] = {12, 14, 19}, b[] = {10, 10, 10};
  mt_ttest r;
  cr_assert_eq(mt_paired_t(a, b, 3, 0.95, &r, NULL, 0), MT_OK);
  assert_rel(r.estimate, 5, 1e-14, "mean d");
  assert_rel(r.se, 2.0816659994661327, 1e-13, "se");
  assert_rel(r.t, 2.4019223070763070, 1e-13, "t");
  assert_rel(r.p, 0.13827251556786088, 1e-12, "p");
  assert_rel(r.lo, -3.9566858950296020, 1e-12, "lo");
  assert_rel(r.hi, 13.956685895029602, 1e-12, "hi");
}

/*
** Degenerate cases (stats.h): n = 1 gives MT_STATS_NOVAR with an unbounded
** interval and p = 1; equal differences give MT_STATS_ZEROVAR with a point
** interval, p = 0 (t = +inf) or, when every difference is 0, p = 1 and
** t = 0. No field is NaN.
*/
static void assert_no_nan(const mt_ttest *r)
{
  cr_assert(!isnan(r->estimate) && !isnan(r->se) && !isnan(r->df) &&
            !isnan(r->t) && !isnan(r->p) && !isnan(r->lo) && !isnan(r->hi));
}

Test(paired_t, degenerate)
{
  const double a[] = {7, 9, 11}, b[] = {5, 7, 9};
  mt_ttest r;
  cr_assert_eq(mt_paired_t(a, b, 1, 0.95, &r, NULL, 0), MT_STATS_NOVAR);
  assert_no_nan(&r);
  cr_assert(r.estimate == 2 && r.p == 1 && r.t == 0 && r.df == 0);
  cr_assert(isinf(r.se) && isinf(r.lo) && r.lo < 0 && isinf(r.hi) &&
            r.hi > 0);
  cr_assert_eq(mt_paired_t(a, b, 3, 0.95, &r, NULL, 0), MT_STATS_ZEROVAR);
  assert_no_nan(&r);
  cr_assert(r.estimate == 2 && r.se == 0 && r.lo == 2 && r.hi == 2 &&
            r.p == 0 && isinf(r.t) && r.t > 0 && r.df == 2);
  cr_assert_eq(mt_paired_t(a, a, 3, 0.95, &r, NULL, 0), MT_STATS_ZEROVAR);
  assert_no_nan(&r);
  cr_assert(r.estimate == 0 && r.t == 0 && r.p == 1 && r.lo == 0 &&
            r.hi == 0);
}

Test(paired_t, errors_leave_output)
{
  const double a[] = {1, INFINITY}, b[] = {0, 0};
  mt_ttest r = {.n = -3};
  char err[128] = "";
  cr_assert_eq(mt_paired_t(a, b, 2, 0.95, &r, err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "[1]") != NULL, "%s", err);
  cr_assert_eq(mt_paired_t(a, b, 1, 1.0, &r, err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "level") != NULL, "%s", err);
  cr_assert_eq(mt_paired_t(a, b, 1, 0.0, &r, NULL, 0), MT_EINVAL);
  cr_assert_eq(mt_paired_t(a, b, 0, 0.95, &r, NULL, 0), MT_EINVAL);
  cr_assert_eq(mt_paired_t(NULL, b, 1, 0.95, &r, NULL, 0), MT_EINVAL);
  cr_assert_eq(r.n, -3);
}

/* ---- Welch ------------------------------------------------------------- */

/*
** Equal variances and sizes make the Welch df an integer, 2(n - 1):
** x = {1, 2, 3}, y = {5, 6, 7}: means 2 and 6, s^2 = 1 each, s^2/n = 1/3,
** se^2 = 2/3, df = (2/3)^2 / (2 (1/3)^2 / 2) = (4/9)/(1/9) = 4.
** estimate -4, se = sqrt(2/3) = 0.81649658092772603, t = -4/se = -2 sqrt 6
** = -4.8989794855663562. p = 1 - A(|t||4): tan(th) = sqrt 6, sin(th) =
** sqrt(6/7), cos^2 = 1/7, A = sqrt(6/7)(1 + 1/14), p = 1 - (15/14) sqrt(6/7)
** = 0.0080498931008377198. CI -4 -+ 2.7764451051977944 se =
** [-6.2669579355275197, -1.7330420644724803]. Tolerance 1e-12 relative
** (p 1e-11).
*/
Test(welch_t, by_hand_integer_df)
{
  const double x[] = {1, 2, 3}, y[] = {5, 6, 7};
  mt_ttest r;
  cr_assert_eq(mt_welch_t(x, 3, y, 3, 0.95, &r, NULL, 0), MT_OK);
  cr_assert_eq(r.n, 6);
  assert_rel(r.estimate, -4, 1e-14, "estimate");
  assert_rel(r.df, 4, 1e-14, "df");
  assert_rel(r.se, 0.81649658092772603, 1e-13, "se");
  assert_rel(r.t, -4.8989794855663562, 1e-13, "t");
  assert_rel(r.p, 0.0080498931008377198, 1e-11, "p");
  assert_rel(r.lo, -6.2669579355275197, 1e-12, "lo");
  assert_rel(r.hi, -1.7330420644724803, 1e-12, "hi");
}

/*
** Unequal variances, real df. x = {1, 2, 3, 4, 5}: mean 3, s^2 = 10/4 =
** 2.5, s^2/n = 1/2. y = {10, 12, 20}: mean 14, deviations -4, -2, 6, sum of
** squares 56, s^2 = 28, s^2/n = 28/3. se^2 = 1/2 + 28/3 = 59/6, se =
** 3.1358146203711299. df = (59/6)^2 / ((1/2)^2/4 + (28/3)^2/2)
** = (3481/36) / (1/16 + 392/9) = (3481/36) (144/6281) = 13924/6281
** = 2.2168444515204585. t = -11/se = -3.5078604227880436.
** For df = 13924/6281 no closed form: p = 0.062404463993082492,
** t_{0.975, df} = 3.9234657170128861, CI [-23.303261157933906,
** 1.3032611579339062] from mpmath 1.3.0 (betainc, 40 digits).
** Tolerance 1e-12 relative on df, se and t (exact arithmetic above), 1e-11
** on p and the interval (the quantile's contract is 1e-12 in p).
*/
Test(welch_t, by_hand_real_df)
{
  const double x[] = {1, 2, 3, 4, 5}, y[] = {10, 12, 20};
  mt_ttest r;
  cr_assert_eq(mt_welch_t(x, 5, y, 3, 0.95, &r, NULL, 0), MT_OK);
  assert_rel(r.estimate, -11, 1e-14, "estimate");
  assert_rel(r.se, 3.1358146203711299, 1e-12, "se");
  assert_rel(r.df, 13924.0 / 6281.0, 1e-12, "df");
  assert_rel(r.t, -3.5078604227880436, 1e-12, "t");
  assert_rel(r.p, 0.062404463993082492, 1e-11, "p");
  assert_rel(r.lo, -23.303261157933906, 1e-11, "lo");
  assert_rel(r.hi, 1.3032611579339062, 1e-11, "hi");
}

/* A sample of one: no variance for that group; both constant: zero se with
** the pooled df nx + ny - 2 (documented in stats.h). */
Test(welch_t, degenerate)
{
  const double x[] = {4, 4, 4}, y[] = {1, 1};
  mt_ttest r;
  cr_assert_eq(mt_welch_t(x, 3, y, 1, 0.9, &r, NULL, 0), MT_STATS_NOVAR);
  assert_no_nan(&r);
  cr_assert(r.estimate == 3 && r.p == 1 && isinf(r.hi) && r.n == 4);
  cr_assert_eq(mt_welch_t(x, 3, y, 2, 0.9, &r, NULL, 0), MT_STATS_ZEROVAR);
  assert_no_nan(&r);
  cr_assert(r.estimate == 3 && r.df == 3 && r.p == 0 && r.lo == 3 &&
            r.hi == 3);
  cr_assert_eq(mt_welch_t(x, 0, y, 2, 0.9, &r, NULL, 0), MT_EINVAL);
}

/* ---- bootstrap --------------------------------------------------------- */

static void normal_sample(double *d, int n, uint64_t seed)
{
  mt_rng r;
  mt_rng_init(&r, seed, 1, 0, 0);
  for (int i = 0; i < n; i++)
    d[i] = 1.5 + 2.0 * mt_rng_normal(&r);
}

/* Same (seed, purpose) => the same interval, bit for bit; another seed or
** purpose => another interval (a coincidence of both endpoints to the bit is
** excluded for all practical purposes: they are means of 200 doubles). */
Test(bootstrap, reproducible)
{
  double d[200];
  normal_sample(d, N_OF(d), 7);
  mt_bootstrap a, b, c, e;
  cr_assert_eq(mt_bootstrap_mean(d, 200, 999, 0.95, 42, 3, &a, NULL, 0), 0);
  cr_assert_eq(mt_bootstrap_mean(d, 200, 999, 0.95, 42, 3, &b, NULL, 0), 0);
  cr_assert(memcmp(&a.lo, &b.lo, sizeof a.lo) == 0 &&
            memcmp(&a.hi, &b.hi, sizeof a.hi) == 0);
  cr_assert_eq(mt_bootstrap_mean(d, 200, 999, 0.95, 43, 3, &c, NULL, 0), 0);
  cr_assert(c.lo != a.lo && c.hi != a.hi);
  cr_assert_eq(mt_bootstrap_mean(d, 200, 999, 0.95, 42, 4, &e, NULL, 0), 0);
  cr_assert(e.lo != a.lo && e.hi != a.hi);
  cr_assert(a.lo < a.estimate && a.estimate < a.hi);
  cr_assert_eq(a.B, 999);
  cr_assert_eq(a.n, 200);
}

/*
** The stream contract of stats.h: resample b draws its indices from
** mt_rng(seed; purpose, b, 0), each index a 64-bit word w accepted when
** w >= 2^64 mod n, taken as w mod n. With B = 1 the interval is the mean of
** resample 0, recomputed here independently; exact equality (same
** operations in the same order).
*/
static double resample_mean(const double *d, int n, uint64_t seed,
                            uint64_t purpose, uint64_t b)
{
  mt_rng r;
  mt_rng_init(&r, seed, purpose, b, 0);
  uint64_t min = (0 - (uint64_t)n) % (uint64_t)n;
  double s = 0;
  for (int i = 0; i < n; i++) {
    uint64_t w;
    do
      w = mt_rng_u64(&r);
    while (w < min);
    s += d[w % (uint64_t)n];
  }
  return s / n;
}

Test(bootstrap, streams_keyed_by_seed_purpose_b)
{
  const double d[] = {0.5, -1.25, 3, 8, 2.75, -4, 1};
  const int n = N_OF(d);
  double m0 = resample_mean(d, n, 99, 5, 0);
  mt_bootstrap bs;
  cr_assert_eq(mt_bootstrap_mean(d, n, 1, 0.9, 99, 5, &bs, NULL, 0), 0);
  cr_assert_eq(bs.lo, m0);
  cr_assert_eq(bs.hi, m0);
  /* B = 2: resample 1 is stream (99; 5, 1, 0); level 0.9 puts lo and hi at
  ** 5 % and 95 % between the two sorted means (type 7, h = p). 1e-14
  ** relative: the interpolation is re-derived here, not copied. */
  double m1 = resample_mean(d, n, 99, 5, 1);
  double a = fmin(m0, m1), b = fmax(m0, m1);
  cr_assert_eq(mt_bootstrap_mean(d, n, 2, 0.9, 99, 5, &bs, NULL, 0), 0);
  assert_abs(bs.lo, a + 0.05 * (b - a), 1e-14 * fabs(b), "B=2 lo");
  assert_abs(bs.hi, a + 0.95 * (b - a), 1e-14 * fabs(b), "B=2 hi");
  cr_assert(b - a > 0.1, "the two resamples differ: %g %g", a, b);
}

/*
** Large normal sample (n = 2000, sd 2; B = 4000): the percentile interval
** agrees with the t interval. Expected width ratio boot/t is
** z_.975 sqrt((n-1)/n) / t_{.975,1999} = 0.9993 (the bootstrap's plug-in
** variance and normal limit); its Monte Carlo SD is about 2 %: each
** endpoint, a 2.5 % quantile of B = 4000 resample means, has SD
** sqrt(.025 .975 / 4000) / phi(1.96) = 0.042 se, the width (3.92 se) then
** sqrt(2) 0.042 / 3.92 = 1.5 %. The tolerance, 10 % of the t width on the
** width and on each endpoint, is beyond 6 Monte Carlo SDs while a wrong
** interval (a level of 0.90 instead of 0.95: width 16 % short; a resample
** of the wrong size n/2: 41 % wide) fails it.
*/
Test(bootstrap, agrees_with_t_for_a_large_normal_sample)
{
  enum { N = 2000 };
  static double d[N], zero[N];
  normal_sample(d, N, 11);
  mt_ttest t;
  mt_bootstrap bs;
  cr_assert_eq(mt_paired_t(d, zero, N, 0.95, &t, NULL, 0), MT_OK);
  cr_assert_eq(mt_bootstrap_mean(d, N, 4000, 0.95, 2024, 1, &bs, NULL, 0),
               MT_OK);
  double wt = t.hi - t.lo, wb = bs.hi - bs.lo;
  cr_assert(fabs(wb - wt) <= 0.1 * wt, "widths %g %g", wb, wt);
  cr_assert(fabs(bs.lo - t.lo) <= 0.1 * wt, "lo %g %g", bs.lo, t.lo);
  cr_assert(fabs(bs.hi - t.hi) <= 0.1 * wt, "hi %g %g", bs.hi, t.hi);
  assert_rel(bs.estimate, t.estimate, 1e-14, "estimate");
}

Test(bootstrap, edge_cases)
{
  const double one[] = {3.25}, bad[] = {1, NAN};
  mt_bootstrap bs = {.n = -1};
  cr_assert_eq(mt_bootstrap_mean(one, 1, 50, 0.95, 1, 1, &bs, NULL, 0), 0);
  cr_assert(bs.lo == 3.25 && bs.hi == 3.25 && bs.estimate == 3.25);
  bs.n = -1;
  cr_assert_eq(mt_bootstrap_mean(bad, 2, 50, 0.95, 1, 1, &bs, NULL, 0),
               MT_EINVAL);
  cr_assert_eq(mt_bootstrap_mean(one, 1, 0, 0.95, 1, 1, &bs, NULL, 0),
               MT_EINVAL);
  cr_assert_eq(mt_bootstrap_mean(one, 1, 5, 1.5, 1, 1, &bs, NULL, 0),
               MT_EINVAL);
  cr_assert_eq(bs.n, -1);
}

/* ---- multiplicity ------------------------------------------------------ */

/*
** Bonferroni: 95 % family-wise over 5 comparisons, 1 - 0.05/5 = 0.99.
** Holm on p = {0.01, 0.04, 0.03, 0.005} (m = 4): sorted 0.005, 0.01, 0.03,
** 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04, running max 0.02, 0.03,
** 0.06, 0.06; in input order {0.03, 0.06, 0.06, 0.02}. p = {0.6, 0.001,
** 0.7}: 0.003, 0.6 * 2 = 1.2 clipped to 1, 0.7 * 1 under the running max 1;
** {1, 0.003, 1}. Tolerance 1e-15 absolute.
*/
Test(multiplicity, bonferroni_and_holm)
{
  double lv;
  cr_assert_eq(mt_bonferroni_level(0.95, 5, &lv), MT_OK);
  assert_abs(lv, 0.99, 1e-15, "bonferroni");
  cr_assert_eq(mt_bonferroni_level(0.95, 0, &lv), MT_EINVAL);
  cr_assert_eq(mt_bonferroni_level(1.0, 3, &lv), MT_EINVAL);
  double p[] = {0.01, 0.04, 0.03, 0.005};
  const double want[] = {0.03, 0.06, 0.06, 0.02};
  cr_assert_eq(mt_holm(p, 4, p, NULL, 0), MT_OK); /* in place */
  for (int i = 0; i < 4; i++)
    assert_abs(p[i], want[i], 1e-15, "holm");
  double q[] = {0.6, 0.001, 0.7}, adj[3];
  cr_assert_eq(mt_holm(q, 3, adj, NULL, 0), MT_OK);
  assert_abs(adj[0], 1.0, 0, "holm clip");
  assert_abs(adj[1], 0.003, 1e-15, "holm min");
  assert_abs(adj[2], 1.0, 0, "holm running max");
  q[0] = 1.5;
  cr_assert_eq(mt_holm(q, 3, adj, NULL, 0), MT_EINVAL);
}

/* ---- sample size ------------------------------------------------------- */

/* n values from N(mean, sd^2): stream (seed; 2, 0, 0) of rng.h. */
static void effect_sample(double *d, int n, double mean, double sd,
                          uint64_t seed)
{
  mt_rng r;
  mt_rng_init(&r, seed, 2, 0, 0);
  for (int i = 0; i < n; i++)
    d[i] = mean + sd * mt_rng_normal(&r);
}

/* The same, rescaled to sample mean exactly `mean` and sample SD (divisor
** n - 1) exactly sd, up to rounding: the cohort then differs from the
** normal population only in shape, not in effect size. */
static void exact_effect_sample(double *d, int n, double mean, double sd,
                                uint64_t seed)
{
  effect_sample(d, n, 0.0, 1.0, seed);
  double s = 0, q = 0;
  for (int i = 0; i < n; i++)
    s += d[i];
  double m = s / n;
  for (int i = 0; i < n; i++)
    q += (d[i] - m) * (d[i] - m);
  double k = sd / sqrt(q / (n - 1));
  for (int i = 0; i < n; i++)
    d[i] = mean + k * (d[i] - m);
}

enum { SS_N = 200000 };
static double ss_d[SS_N];

/*
** Against the exact sample size of the one-sample (paired) t test, two-sided
** at level 0.95, power 0.8: effect size 0.5 needs 34 and 0.25 needs 128
** (G*Power 3, Faul et al., Behav. Res. Methods 39:175, 2007; R's
** pwr.t.test(type = "one.sample") gives 33.37 and 127.5, rounded up). The
** exact powers, from the noncentral t distribution (mpmath 1.3.0, 30 digits,
** integrating Phi(delta - c sqrt(V/nu)) over the chi-square V), are
** 0.7954 / 0.8078 at n = 33 / 34 and 0.7984 / 0.8015 at n = 127 / 128.
** The cohort, 200000 draws from N(0, 1) rescaled to mean 0.5 (0.25) and SD
** 1 exactly, stands in for the normal population: only its shape differs,
** not its effect size (unscaled, the effect size's error of 0.0024 would
** move n by 1 % and 2 %). Tolerances: n within 2 of 34 and 5 of 128, and the power
** at n at least the target minus 3 Monte Carlo SEs (power slopes are 0.0125
** and 0.0031 per patient, so one SE is 0.6 and 1.1 patients at R = 2666
** and 13333); a search with a one-sided test (27, 101) fails. Over ten
** seeds these cohorts gave 33..35 and 126..129 (docs/statistics.md).
*/
Test(sample_size, exact_paired_t_effect_0_5)
{
  exact_effect_sample(ss_d, SS_N, 0.5, 1.0, 7);
  mt_sample_size s;
  int rc = mt_sample_size_paired(ss_d, SS_N, 0.95, 0.8, 40000, 1000, 1, 1,
                                 &s, NULL, 0);
  cr_log_info("effect 0.5: rc %d n %d power %.4f se %.4f R %d sizes %d "
              "trials %ld start %d", rc, s.n, s.power, s.mc_se, s.replicates,
              s.sizes_tried, s.trials, s.normal_approx_n);
  cr_assert_eq(rc, MT_OK);
  cr_assert_eq(s.reached, 1);
  cr_assert(abs(s.n - 34) <= 2, "n %d", s.n);
  cr_assert(s.power >= 0.8 - 3 * s.mc_se, "power %g", s.power);
  cr_assert(s.trials <= 40000);
}

Test(sample_size, exact_paired_t_effect_0_25)
{
  exact_effect_sample(ss_d, SS_N, 0.25, 1.0, 8);
  mt_sample_size s;
  int rc = mt_sample_size_paired(ss_d, SS_N, 0.95, 0.8, 200000, 1000, 2, 1,
                                 &s, NULL, 0);
  cr_log_info("effect 0.25: rc %d n %d power %.4f se %.4f R %d sizes %d "
              "trials %ld start %d", rc, s.n, s.power, s.mc_se, s.replicates,
              s.sizes_tried, s.trials, s.normal_approx_n);
  cr_assert_eq(rc, MT_OK);
  cr_assert_eq(s.reached, 1);
  cr_assert(abs(s.n - 128) <= 5, "n %d", s.n);
  cr_assert(s.power >= 0.8 - 3 * s.mc_se, "power %g", s.power);
}

/*
** The start, ceil(((z_{1-a/2} + z_power) sd / |mean|)^2), by hand from
** z_.975 = 1.959964, z_.95 = 1.644854, z_.9 = 1.281552, z_.8 = 0.841621
** (A&S Table 26.1, 6 decimals). d = {-0.5, 0.5, 1.5}: mean 0.5, sd 1
** exactly. Level 0.95, power 0.8: (2.801585 / 0.5)^2 = 31.40 -> 32; the
** same with d doubled (mean 1, sd 2) and negated (|mean|); level 0.9,
** power 0.9: (2.926406 / 0.5)^2 = 34.26 -> 35; clamped to n_max = 20.
** The margins to the next integer (0.6, 0.74) are far beyond the 6-decimal
** rounding.
*/
Test(sample_size, normal_approximation_by_hand)
{
  double d[] = {-0.5, 0.5, 1.5}, d2[3], dn[3];
  for (int i = 0; i < 3; i++)
    d2[i] = 2 * d[i], dn[i] = -d[i];
  mt_sample_size s;
  cr_assert_geq(mt_sample_size_paired(d, 3, 0.95, 0.8, 50, 1000, 1, 1, &s,
                                      NULL, 0), 0);
  cr_assert_eq(s.normal_approx_n, 32);
  cr_assert_geq(mt_sample_size_paired(d2, 3, 0.95, 0.8, 50, 1000, 1, 1, &s,
                                      NULL, 0), 0);
  cr_assert_eq(s.normal_approx_n, 32);
  cr_assert_geq(mt_sample_size_paired(dn, 3, 0.95, 0.8, 50, 1000, 1, 1, &s,
                                      NULL, 0), 0);
  cr_assert_eq(s.normal_approx_n, 32);
  cr_assert_geq(mt_sample_size_paired(d, 3, 0.9, 0.9, 50, 1000, 1, 1, &s,
                                      NULL, 0), 0);
  cr_assert_eq(s.normal_approx_n, 35);
  cr_assert_geq(mt_sample_size_paired(d, 3, 0.95, 0.8, 50, 20, 1, 1, &s,
                                      NULL, 0), 0);
  cr_assert_eq(s.normal_approx_n, 20);
}

/*
** Determinism: the same arguments give the same result, bit for bit (the
** streams are keyed by seed, purpose and replicate only). Another seed or
** purpose draws other trials: the sizes found differ only within Monte Carlo
** error. Cohort: 2000 draws from N(0.5, 1); R = 40000 / 15 = 2666, one SE
** of power is 0.6 patients near n = 34 (slope 0.0125), so two independent
** searches differ by SD 0.85; tolerance 3 patients (3.5 SD).
*/
Test(sample_size, deterministic)
{
  enum { N = 2000 };
  static double d[N];
  effect_sample(d, N, 0.5, 1.0, 9);
  mt_sample_size a, b, c, e;
  memset(&a, 0xa5, sizeof a);
  memset(&b, 0x5a, sizeof b);
  cr_assert_eq(mt_sample_size_paired(d, N, 0.95, 0.8, 40000, 1000, 5, 3, &a,
                                     NULL, 0), MT_OK);
  cr_assert_eq(mt_sample_size_paired(d, N, 0.95, 0.8, 40000, 1000, 5, 3, &b,
                                     NULL, 0), MT_OK);
  cr_assert(a.n == b.n && a.power == b.power && a.mc_se == b.mc_se &&
            a.replicates == b.replicates && a.sizes_tried == b.sizes_tried &&
            a.trials == b.trials && a.normal_approx_n == b.normal_approx_n &&
            a.reached == b.reached);
  cr_assert_eq(mt_sample_size_paired(d, N, 0.95, 0.8, 40000, 1000, 6, 3, &c,
                                     NULL, 0), MT_OK);
  cr_assert_eq(mt_sample_size_paired(d, N, 0.95, 0.8, 40000, 1000, 5, 4, &e,
                                     NULL, 0), MT_OK);
  cr_log_info("seeds 5/3, 6/3, 5/4: n %d %d %d, power %.4f %.4f %.4f",
              a.n, c.n, e.n, a.power, c.power, e.power);
  cr_assert(abs(c.n - a.n) <= 3 && abs(e.n - a.n) <= 3, "n %d %d %d", a.n,
            c.n, e.n);
  cr_assert(a.power != c.power || a.power != e.power, "streams not keyed");
}

/*
** The bound: trials <= max_trials whatever the effect (tiny: not reached,
** n_max simulated; moderate; large: bracketing down to 2), n_max and
** max_trials, including 1; R = max(1, max_trials / (ceil(log2 n_max) + 5))
** and every size costs R trials; at most ceil(log2 n_max) + 5 sizes; and a
** bound of at least that many sizes never ends the search early.
*/
Test(sample_size, bound_on_trials)
{
  enum { N = 500 };
  static double d[N];
  const double effects[] = {0.02, 0.5, 3.0};
  const int nmax[] = {2, 3, 50, 1000}, bounds[] = {1, 2, 5, 15, 40, 1000};
  for (int i = 0; i < N_OF(effects); i++) {
    effect_sample(d, N, effects[i], 1.0, 10 + (uint64_t)i);
    for (int j = 0; j < N_OF(nmax); j++)
      for (int k = 0; k < N_OF(bounds); k++) {
        mt_sample_size s;
        int rc = mt_sample_size_paired(d, N, 0.95, 0.8, bounds[k], nmax[j],
                                       1, 1, &s, NULL, 0);
        int sizes = (int)ceil(log2(nmax[j])) + MT_SSIZE_EXTRA;
        int R = bounds[k] / sizes > 1 ? bounds[k] / sizes : 1;
        cr_assert_geq(rc, 0);
        cr_assert(s.trials <= bounds[k], "trials %ld > %d", s.trials,
                  bounds[k]);
        cr_assert_eq(s.replicates, R);
        cr_assert_eq(s.trials, (long)s.sizes_tried * R);
        cr_assert(s.sizes_tried >= 1 && s.sizes_tried <= sizes);
        cr_assert(s.n >= 2 && s.n <= nmax[j]);
        if (bounds[k] >= sizes)
          cr_assert_neq(rc, MT_STATS_BUDGET, "effect %g n_max %d bound %d",
                        effects[i], nmax[j], bounds[k]);
        cr_assert_eq(s.reached, rc != MT_STATS_UNREACHED &&
                                    (rc != MT_STATS_BUDGET || s.reached));
      }
  }
}

/*
** Not reached: 2000 draws from N(0.02, 1) have mean -0.0041 and SD 1.019,
** an effect size of 0.004 (normal approximation 5e5 patients); even effect
** 0.02 has exact power 0.052 at n = 50 (noncentral t as above), far below
** 0.8: n = n_max = 50, reached = 0, power < 0.3. A large effect needs few:
** 2000 draws from N(3, 1) have mean 2.969 and SD 0.984 (effect 3.02);
** effect 3 has exact powers 0.261, 0.745 and 0.967 at n = 2, 3, 4, so
** n = 4 (R = 40000 / 15 = 2666: SEs 0.008 and 0.004 against margins of
** 0.055 and 0.17).
*/
Test(sample_size, unreached_and_smallest)
{
  enum { N = 2000 };
  static double d[N];
  effect_sample(d, N, 0.02, 1.0, 12);
  mt_sample_size s;
  cr_assert_eq(mt_sample_size_paired(d, N, 0.95, 0.8, 4000, 50, 1, 1, &s,
                                     NULL, 0), MT_STATS_UNREACHED);
  cr_assert(s.n == 50 && s.reached == 0 && s.power < 0.3, "power %g",
            s.power);
  cr_assert_eq(s.normal_approx_n, 50);
  effect_sample(d, N, 3.0, 1.0, 13);
  cr_assert_eq(mt_sample_size_paired(d, N, 0.95, 0.8, 40000, 1000, 1, 1, &s,
                                     NULL, 0), MT_OK);
  cr_log_info("effect 3: n %d power %.4f se %.4f sizes %d start %d", s.n,
              s.power, s.mc_se, s.sizes_tried, s.normal_approx_n);
  cr_assert(s.n == 4 && s.reached == 1 && s.power > 0.9, "n %d power %g",
            s.n, s.power);
}

/*
** Degenerate cohorts, answered without simulation (trials 0, mc_se 0): all
** differences equal and nonzero reject at every size (the paired t's zero
** variance convention: p = 0), so n = 2, power 1; all zero never reject,
** n = n_max, power 0; mean exactly 0 with spread: no effect to detect,
** n = n_max, power = 1 - level = 0.05, not reached.
*/
Test(sample_size, degenerate)
{
  const double same[] = {0.7, 0.7, 0.7}, zero[] = {0, 0}, sym[] = {-2, 1, -1,
                                                                   2};
  mt_sample_size s;
  cr_assert_eq(mt_sample_size_paired(same, 3, 0.95, 0.8, 100, 500, 1, 1, &s,
                                     NULL, 0), MT_STATS_ZEROVAR);
  cr_assert(s.n == 2 && s.power == 1 && s.reached == 1 && s.trials == 0 &&
            s.sizes_tried == 0 && s.mc_se == 0);
  cr_assert_eq(mt_sample_size_paired(zero, 2, 0.95, 0.8, 100, 500, 1, 1, &s,
                                     NULL, 0), MT_STATS_ZEROVAR);
  cr_assert(s.n == 500 && s.power == 0 && s.reached == 0 && s.trials == 0);
  cr_assert_eq(mt_sample_size_paired(sym, 4, 0.95, 0.8, 100, 500, 1, 1, &s,
                                     NULL, 0), MT_STATS_NOEFFECT);
  cr_assert(s.n == 500 && s.reached == 0 && s.trials == 0 && s.mc_se == 0 &&
            s.normal_approx_n == 500);
  assert_abs(s.power, 0.05, 1e-15, "size of the test");
}

/* Bad arguments: MT_EINVAL, *out untouched, err names the argument. */
Test(sample_size, bad_arguments)
{
  const double d[] = {1, 2, 3}, nan_d[] = {1, NAN, 3};
  struct {
    const double *d;
    int n;
    double level, power;
    int max_trials, n_max;
    const char *names;
  } bad[] = {
      {NULL, 3, 0.95, 0.8, 100, 50, "d and out"},
      {d, 1, 0.95, 0.8, 100, 50, "n 1"},
      {d, 3, 0.0, 0.8, 100, 50, "level 0"},
      {d, 3, 1.0, 0.8, 100, 50, "level 1"},
      {d, 3, NAN, 0.8, 100, 50, "level nan"},
      {d, 3, 0.95, 0.0, 100, 50, "power 0"},
      {d, 3, 0.95, 1.0, 100, 50, "power 1"},
      {d, 3, 0.95, NAN, 100, 50, "power nan"},
      {d, 3, 0.95, 0.8, 0, 50, "max_trials 0"},
      {d, 3, 0.95, 0.8, 100, 1, "n_max 1"},
      {nan_d, 3, 0.95, 0.8, 100, 50, "d[1]"},
  };
  for (int i = 0; i < N_OF(bad); i++) {
    mt_sample_size s = {.n = -7};
    char err[128] = "";
    cr_assert_eq(mt_sample_size_paired(bad[i].d, bad[i].n, bad[i].level,
                                       bad[i].power, bad[i].max_trials,
                                       bad[i].n_max, 1, 1, &s, err,
                                       sizeof err), MT_EINVAL);
    cr_assert_eq(s.n, -7);
    cr_assert(strstr(err, bad[i].names), "case %d: '%s'", i, err);
  }
  char err[128] = "";
  cr_assert_eq(mt_sample_size_paired(d, 3, 0.95, 0.8, 100, 50, 1, 1, NULL,
                                     err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "d and out"), "'%s'", err);
}
