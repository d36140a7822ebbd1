/*
** Statistics of virtual trials (stats.h, docs/statistics.md).
**
** Student's t CDF through the regularized incomplete beta function,
** P(T <= -|t|) = I_x(df/2, 1/2) / 2 with x = df / (df + t^2) (Abramowitz and
** Stegun 26.7.1 and 26.5.27), I_x by its continued fraction (Numerical
** Recipes 3rd ed. 6.4, eq. 6.4.5) with the modified Lentz method (Lentz
** 1976; Thompson and Barnett, J. Comput. Phys. 64:490, 1986), and
** log B(a, b) for large arguments by Stirling's series with the difference
** taken analytically (the "algdiv" idea of DiDonato and Morris, ACM TOMS
** 18:360, 1992), so that large df loses no digits to cancellation.
** Quantiles by a bracketed Newton iteration on log F. The normal quantile is
** P. J. Acklam's rational approximation (2003) refined by Halley's method.
*/
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "core/errfmt.h"
#include "core/order.h"
#include "medtwin/error.h"
#include "medtwin/rng.h"
#include "medtwin/stats.h"

#define LN_SQRT_2PI 0.91893853320467274178 /* log(2 pi) / 2 */
#define SQRT1_2 0.70710678118654752440     /* 1 / sqrt 2 */
#define CF_MAXIT 100000
#define Q_MAXIT 300

static int fail(char *err, size_t errlen, int code, const char *op,
                const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mt_vfail(err, errlen, code, op, fmt, ap);
  va_end(ap);
  return code;
}

/* ---- log gamma and log beta ------------------------------------------- */

/* Stirling's correction lgamma(x) - ((x - 1/2) ln x - x + ln sqrt(2 pi)),
** x >= 10: the asymptotic series (A&S 6.1.41) to the x^-13 term, whose
** first omitted term is below 3e-17 at x = 10. */
static double stirling_delta(double x)
{
  double r = 1.0 / x, r2 = r * r;
  return r * (1.0 / 12 + r2 * (-1.0 / 360 + r2 * (1.0 / 1260 + r2 *
         (-1.0 / 1680 + r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 +
         r2 * (1.0 / 156)))))));
}

/* log Gamma(x), x > 0. tgamma rather than lgamma: lgamma writes the global
** signgam and is not thread-safe. */
static double log_gamma(double x)
{
  if (x >= 10)
    return (x - 0.5) * log(x) - x + LN_SQRT_2PI + stirling_delta(x);
  if (x < 1e-300)
    return -log(x);
  return log(tgamma(x));
}

/* log B(a, b), a, b > 0, without the cancellation of lgamma differences. */
static double log_beta(double a, double b)
{
  double lo = fmin(a, b), hi = fmax(a, b);
  if (hi < 10)
    return log_gamma(a) + log_gamma(b) - log_gamma(a + b);
  if (lo < 10) /* lgamma(hi) - lgamma(hi + lo) by Stirling, differenced */
    return log_gamma(lo) - (hi - 0.5) * log1p(lo / hi) - lo * log(hi + lo)
           + lo + stirling_delta(hi) - stirling_delta(hi + lo);
  return LN_SQRT_2PI - (hi - 0.5) * log1p(lo / hi)
         + (lo - 0.5) * log(lo / (hi + lo)) - 0.5 * log(hi + lo)
         + stirling_delta(lo) + stirling_delta(hi) - stirling_delta(hi + lo);
}

/* ---- incomplete beta -------------------------------------------------- */

/*
** The continued fraction is evaluated in long double (64-bit significand on
** x86-64, quad on AArch64): for large a with x near 1 (the t distribution at
** large df) its terms 1 + aa d cancel and lose about log10(a) digits, which
** the 11 extra bits recover for df up to about 1e8 (docs/statistics.md).
*/
typedef long double ldouble;

static ldouble tiny_guard(ldouble v)
{
  return fabsl(v) < 1e-300L ? 1e-300L : v;
}

/* The continued fraction of I_x(a, b) (NR3 eq. 6.4.5) by modified Lentz;
** converges fast for x < (a + 1) / (a + b + 2). y = 1 - x. Its first
** denominator 1 - (a + b) x / (a + 1) is formed from y when x > 1/2, where
** the direct form cancels (large a with x near 1). */
static double beta_cf(double a, double b, ldouble x, ldouble y)
{
  ldouble d0 = x <= 0.5L ? 1.0L - (a + b) * x / (a + 1.0L)
                         : (1.0L - b + (a + b) * y) / (a + 1.0L);
  ldouble c = 1.0L, d = 1.0L / tiny_guard(d0), h = d;
  for (int m = 1; m <= CF_MAXIT; m++) {
    ldouble m2 = 2.0L * m;
    ldouble aa = m * (b - m) * x / ((a - 1.0L + m2) * (a + m2));
    d = 1.0L / tiny_guard(1.0L + aa * d);
    c = tiny_guard(1.0L + aa / c);
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0L + m2));
    d = 1.0L / tiny_guard(1.0L + aa * d);
    c = tiny_guard(1.0L + aa / c);
    ldouble del = d * c;
    h *= del;
    if (fabsl(del - 1.0L) <= DBL_EPSILON / 16)
      break;
  }
  return (double)h;
}

/*
** I_x(a, b) given x, y = 1 - x and lx = log x, ly = log y, each computed by
** the caller without cancellation (lx stays finite where x underflows, so
** the far tail of the t distribution does not flush to 0). The branch is
** chosen on whichever of x and y is the smaller (and so the more precise).
*/
static double beta_inc_xy(double a, double b, ldouble x, ldouble y, double lx,
                          double ly)
{
  if (lx == -INFINITY)
    return 0.0;
  if (ly == -INFINITY)
    return 1.0;
  double bt = exp(a * lx + b * ly - log_beta(a, b));
  int direct = x <= y ? x * (a + b + 2.0L) < a + 1.0L
                      : y * (a + b + 2.0L) > b + 1.0L;
  if (direct)
    return bt * beta_cf(a, b, x, y) / a;
  return 1.0 - bt * beta_cf(b, a, y, x) / b;
}

double mt_beta_inc(double a, double b, double x)
{
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1) || isinf(a) || isinf(b))
    return NAN;
  return beta_inc_xy(a, b, x, 1.0L - x, log(x), log1p(-x));
}

/* ---- Student's t ------------------------------------------------------ */

/* P(T <= -|t|), t finite and nonzero, 0 < df < inf. */
static double t_lower_tail(double t, double df)
{
  ldouble at = fabs(t), x, y;
  double lx, ly;
  if (at * at > df) { /* r = df / t^2 < 1; log r without underflow */
    ldouble r = df / (at * at);
    x = r / (1 + r), y = 1 / (1 + r);
    ly = -(double)log1pl(r);
    lx = (double)(logl(df) - 2 * logl(at)) + ly;
  } else { /* q = t^2 / df <= 1 */
    ldouble q = at * at / df;
    x = 1 / (1 + q), y = q / (1 + q);
    lx = -(double)log1pl(q);
    ly = (double)(2 * logl(at) - logl(df)) + lx;
  }
  return 0.5 * beta_inc_xy(0.5 * df, 0.5, x, y, lx, ly);
}

double mt_t_cdf(double t, double df)
{
  if (isnan(t) || !(df > 0))
    return NAN;
  if (isinf(df))
    return mt_normal_cdf(t);
  if (t == 0)
    return 0.5;
  if (isinf(t))
    return t < 0 ? 0.0 : 1.0;
  double tail = t_lower_tail(t, df);
  return t < 0 ? tail : 1.0 - tail;
}

/* log of the t density at t (finite), 0 < df < inf. */
static double t_log_pdf(double t, double df)
{
  double at = fabs(t), sd = sqrt(df), l1p; /* log(1 + t^2 / df) */
  if (at > sd) {
    double s = sd / at;
    l1p = -2 * log(s) + log1p(s * s);
  } else {
    double u = at / sd;
    l1p = log1p(u * u);
  }
  return -log_beta(0.5 * df, 0.5) - 0.5 * log(df) - 0.5 * (df + 1) * l1p;
}

/* Next trial point inside the bracket lo < hi <= 0: the midpoint, geometric
** when the bracket spans more than a factor 4 (heavy tails). */
static double bisect(double lo, double hi)
{
  if (hi < 0 && lo / hi > 4)
    return hi * sqrt(lo / hi);
  return 0.5 * (lo + hi);
}

/* A lower bracket for the p-quantile, p <= 1/2: the tail asymptote
** F(t) ~ K df^((df-1)/2) |t|^-df, K = 1 / (sqrt(df) B(df/2, 1/2)), lies above
** F, so its quantile lies below the true one (and close to it in the tail);
** expanded until F(lo) < p, which is returned in *Flo. */
static double t_lower_bracket(double p, double df, double *Flo)
{
  double lk = -0.5 * log(df) - log_beta(0.5 * df, 0.5);
  double lt = (lk + 0.5 * (df - 1) * log(df) - log(p)) / df;
  double lo = lt > 700 ? -DBL_MAX : -fmax(exp(lt), 1.0);
  for (int i = 0; i < 64; i++) {
    *Flo = mt_t_cdf(lo, df);
    if (*Flo < p)
      return lo;
    if (lo == -DBL_MAX)
      break;
    lo = lo < -DBL_MAX / 4 ? -DBL_MAX : 4 * lo;
  }
  return -INFINITY;
}

/* The p-quantile for 0 < p <= 1/2, 0 < df < inf: Newton on
** h(t) = log F(t) - log p (h' = f / F), in t near the centre and in
** log(-t) in the tails, kept inside [lo, hi]. Starts from the two-term
** Cornish-Fisher expansion (A&S 26.7.5), or from the bracket's lower end
** where that is already within 5 % in p or the expansion falls outside. */
static double t_quantile_lower(double p, double df)
{
  double Flo, lo = t_lower_bracket(p, df, &Flo), hi = 0.0, lp = log(p);
  if (isinf(lo))
    return lo;
  double z = mt_normal_quantile(p);
  double t = z + (z * z * z + z) / (4 * df)
             + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * df * df);
  if (!(t > lo && t < hi) || fabs(log(Flo) - lp) < 0.05)
    t = lo;
  for (int it = 0; it < Q_MAXIT; it++) {
    double F = mt_t_cdf(t, df);
    if (F == p)
      return t;
    if (F < p)
      lo = t;
    else
      hi = t;
    double next = NAN;
    if (F > 0) { /* Newton step; in u = log(-t) where |t| > 1, where the
                 ** tail F ~ |t|^-df makes h nearly linear */
      double h = log(F) - lp, g = exp(log(F) - t_log_pdf(t, df)); /* F/f */
      next = t < -1 ? t * exp(-h * g / t) : t - h * g;
      if (fabs(next - t) <= 2 * DBL_EPSILON * fabs(t))
        return next;
    }
    if (!(next > lo && next < hi))
      next = bisect(lo, hi);
    if (fabs(next - t) <= 2 * DBL_EPSILON * fabs(next) || next == lo ||
        next == hi)
      return next;
    t = next;
  }
  return t;
}

double mt_t_quantile(double p, double df)
{
  if (!(p >= 0 && p <= 1) || !(df > 0))
    return NAN;
  if (p == 0)
    return -INFINITY;
  if (p == 1)
    return INFINITY;
  if (p == 0.5)
    return 0.0;
  if (isinf(df))
    return mt_normal_quantile(p);
  if (p > 0.5) /* 1 - p is exact for p in [1/2, 1] (Sterbenz) */
    return -t_quantile_lower(1.0 - p, df);
  return t_quantile_lower(p, df);
}

/* ---- normal ----------------------------------------------------------- */

double mt_normal_cdf(double z)
{
  return 0.5 * erfc(-z * SQRT1_2);
}

/* Acklam's approximation (relative error below 1.15e-9), p in (0, 1/2]. */
static double acklam_lower(double p)
{
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
    -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
    2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
    -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
    -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
    2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
    2.445134137142996e+00, 3.754408661907416e+00};
  if (p < 0.02425) {
    double q = sqrt(-2 * log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q
            + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r
          + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r
          + b[4]) * r + 1);
}

double mt_normal_quantile(double p)
{
  if (!(p >= 0 && p <= 1))
    return NAN;
  if (p == 0)
    return -INFINITY;
  if (p == 1)
    return INFINITY;
  if (p > 0.5)
    return -mt_normal_quantile(1.0 - p);
  double x = acklam_lower(p);
  for (int i = 0; i < 2; i++) { /* Halley; e / phi(x) in relative form */
    double F = mt_normal_cdf(x);
    if (!(F > 0))
      break;
    double u = (F / p - 1) * exp(log(p) + 0.5 * x * x + LN_SQRT_2PI);
    x -= u / (1 + 0.5 * x * u);
  }
  return x;
}

/* ---- summaries -------------------------------------------------------- */

static int check_finite(const double *x, int n, const char *op,
                        const char *what, char *err, size_t errlen)
{
  for (int i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return fail(err, errlen, MT_EINVAL, op, "%s[%d] is not finite", what, i);
  return MT_OK;
}

/* Mean and sum of squared deviations, two passes with the mean corrected
** by the mean residual (Chan, Golub and LeVeque, Am. Stat. 37:242, 1983). */
static void moments(const double *x, int n, double *mean, double *ss)
{
  double s = 0, r = 0, q = 0;
  for (int i = 0; i < n; i++)
    s += x[i];
  double m = s / n;
  for (int i = 0; i < n; i++) {
    double e = x[i] - m;
    r += e;
    q += e * e;
  }
  *mean = m + r / n;
  *ss = fmax(0.0, q - r * r / n);
}

int mt_summary_compute(const double *x, int n, mt_summary *out, char *err,
                       size_t errlen)
{
  if (!x || !out || n < 1)
    return fail(err, errlen, MT_EINVAL, "summary", "need x, out and n >= 1");
  int rc = check_finite(x, n, "summary", "x", err, errlen);
  if (rc)
    return rc;
  double *v = malloc((size_t)n * sizeof *v);
  if (!v)
    return fail(err, errlen, MT_ENOMEM, "summary", "%d values", n);
  for (int i = 0; i < n; i++)
    v[i] = x[i];
  qsort(v, (size_t)n, sizeof *v, mt_cmp_double);
  double mean, ss;
  moments(x, n, &mean, &ss);
  *out = (mt_summary){.n = n, .mean = mean,
                      .sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0, .min = v[0],
                      .q1 = mt_quantile7(v, n, 0.25),
                      .median = mt_quantile7(v, n, 0.5),
                      .q3 = mt_quantile7(v, n, 0.75), .max = v[n - 1]};
  free(v);
  return MT_OK;
}

/* ---- t comparisons ---------------------------------------------------- */

static int check_level(double level, const char *op, char *err, size_t errlen)
{
  if (!(level > 0 && level < 1))
    return fail(err, errlen, MT_EINVAL, op, "level %g is not in (0, 1)",
                level);
  return MT_OK;
}

/* No variance estimate (a sample of one): an uninformative result. */
static int fill_novar(mt_ttest *o, int n, double est, double level)
{
  *o = (mt_ttest){.n = n, .estimate = est, .se = INFINITY, .df = 0, .t = 0,
                  .p = 1, .level = level, .lo = -INFINITY, .hi = INFINITY};
  return MT_STATS_NOVAR;
}

/* estimate +- t_{1 - alpha/2, df} se and the two-sided p-value. */
static int fill_t(mt_ttest *o, int n, double est, double se, double df,
                  double level)
{
  *o = (mt_ttest){.n = n, .estimate = est, .se = se, .df = df,
                  .level = level, .lo = est, .hi = est};
  if (se == 0) {
    o->t = est == 0 ? 0.0 : copysign(INFINITY, est);
    o->p = est == 0 ? 1.0 : 0.0;
    return MT_STATS_ZEROVAR;
  }
  o->t = est / se;
  o->p = fmin(1.0, 2 * mt_t_cdf(-fabs(o->t), df));
  double q = -mt_t_quantile(0.5 * (1 - level), df);
  o->lo = est - q * se;
  o->hi = est + q * se;
  return MT_OK;
}

int mt_paired_t(const double *a, const double *b, int n, double level,
                mt_ttest *out, char *err, size_t errlen)
{
  if (!a || !b || !out || n < 1)
    return fail(err, errlen, MT_EINVAL, "paired t", "need a, b, out, n >= 1");
  int rc = check_level(level, "paired t", err, errlen);
  if (rc)
    return rc;
  double *d = malloc((size_t)n * sizeof *d);
  if (!d)
    return fail(err, errlen, MT_ENOMEM, "paired t", "%d pairs", n);
  for (int i = 0; i < n; i++)
    d[i] = a[i] - b[i];
  rc = check_finite(d, n, "paired t", "a - b", err, errlen);
  double mean = 0, ss = 0;
  if (!rc)
    moments(d, n, &mean, &ss);
  free(d);
  if (rc)
    return rc;
  if (n < 2)
    return fill_novar(out, n, mean, level);
  return fill_t(out, n, mean, sqrt(ss / (n - 1) / n), n - 1, level);
}

int mt_welch_t(const double *x, int nx, const double *y, int ny, double level,
               mt_ttest *out, char *err, size_t errlen)
{
  if (!x || !y || !out || nx < 1 || ny < 1)
    return fail(err, errlen, MT_EINVAL, "welch t",
                "need x, y, out, nx >= 1 and ny >= 1");
  int rc = check_level(level, "welch t", err, errlen);
  if (!rc)
    rc = check_finite(x, nx, "welch t", "x", err, errlen);
  if (!rc)
    rc = check_finite(y, ny, "welch t", "y", err, errlen);
  if (rc)
    return rc;
  double mx, sx, my, sy;
  moments(x, nx, &mx, &sx);
  moments(y, ny, &my, &sy);
  double est = mx - my;
  if (nx < 2 || ny < 2)
    return fill_novar(out, nx + ny, est, level);
  double vx = sx / (nx - 1) / nx, vy = sy / (ny - 1) / ny;
  double m = fmax(vx, vy), df = nx + ny - 2;
  if (m > 0) { /* scaled by the larger term: no underflow of the squares */
    double rx = vx / m, ry = vy / m;
    df = (rx + ry) * (rx + ry) / (rx * rx / (nx - 1) + ry * ry / (ny - 1));
  }
  return fill_t(out, nx + ny, est, sqrt(vx + vy), df, level);
}

/* ---- bootstrap -------------------------------------------------------- */

/* Uniform on [0, n) without modulo bias: reject the 2^64 mod n lowest words
** (as OpenBSD's arc4random_uniform). */
static int uniform_index(mt_rng *r, int n)
{
  uint64_t un = (uint64_t)n, min = (0 - un) % un, w;
  do
    w = mt_rng_u64(r);
  while (w < min);
  return (int)(w % un);
}

int mt_bootstrap_mean(const double *d, int n, int B, double level,
                      uint64_t seed, uint64_t purpose, mt_bootstrap *out,
                      char *err, size_t errlen)
{
  if (!d || !out || n < 1 || B < 1)
    return fail(err, errlen, MT_EINVAL, "bootstrap",
                "need d, out, n >= 1 and B >= 1");
  int rc = check_level(level, "bootstrap", err, errlen);
  if (!rc)
    rc = check_finite(d, n, "bootstrap", "d", err, errlen);
  if (rc)
    return rc;
  double *means = malloc((size_t)B * sizeof *means);
  if (!means)
    return fail(err, errlen, MT_ENOMEM, "bootstrap", "%d resamples", B);
  for (int b = 0; b < B; b++) {
    mt_rng r;
    mt_rng_init(&r, seed, purpose, (uint64_t)b, 0);
    double s = 0;
    for (int i = 0; i < n; i++)
      s += d[uniform_index(&r, n)];
    means[b] = s / n;
  }
  qsort(means, (size_t)B, sizeof *means, mt_cmp_double);
  double mean, ss, alpha = 1 - level;
  moments(d, n, &mean, &ss);
  *out = (mt_bootstrap){.n = n, .B = B, .estimate = mean, .level = level,
                        .lo = mt_quantile7(means, B, 0.5 * alpha),
                        .hi = mt_quantile7(means, B, 1 - 0.5 * alpha)};
  free(means);
  return MT_OK;
}

/* ---- multiplicity ----------------------------------------------------- */

int mt_bonferroni_level(double level, int m, double *out)
{
  if (!out || m < 1 || !(level > 0 && level < 1))
    return MT_EINVAL;
  *out = 1 - (1 - level) / m;
  return MT_OK;
}

typedef struct holm_item {
  double p;
  int i;
} holm_item;

static int cmp_holm(const void *a, const void *b)
{
  const holm_item *x = a, *y = b;
  if (x->p != y->p)
    return (x->p > y->p) - (x->p < y->p);
  return (x->i > y->i) - (x->i < y->i);
}

int mt_holm(const double *p, int m, double *adj, char *err, size_t errlen)
{
  if (!p || !adj || m < 1)
    return fail(err, errlen, MT_EINVAL, "holm", "need p, adj and m >= 1");
  for (int i = 0; i < m; i++)
    if (!(p[i] >= 0 && p[i] <= 1))
      return fail(err, errlen, MT_EINVAL, "holm", "p[%d] is not in [0, 1]",
                  i);
  holm_item *s = malloc((size_t)m * sizeof *s);
  if (!s)
    return fail(err, errlen, MT_ENOMEM, "holm", "%d p-values", m);
  for (int i = 0; i < m; i++)
    s[i] = (holm_item){p[i], i};
  qsort(s, (size_t)m, sizeof *s, cmp_holm);
  double run = 0;
  for (int k = 0; k < m; k++) {
    run = fmax(run, fmin(1.0, (double)(m - k) * s[k].p));
    adj[s[k].i] = run;
  }
  free(s);
  return MT_OK;
}

/* ---- sample size by simulation ---------------------------------------- */

/*
** The sample size of a paired trial for a target power, by simulation
** (Arnold, Hogan, Colford and Hubbard, BMC Med. Res. Methodol. 11:94, 2011)
** of trials resampled from the observed differences (the bootstrap of Efron
** and Tibshirani, An Introduction to the Bootstrap, 1993), and a bisection
** on the integer size. Method, constants and sources: docs/statistics.md,
** "Sample size by simulation".
*/

#define SSIZE_BRACKET 3 /* bracketing steps s, 2s, 4s from the start */

typedef struct ssize_run {
  const double *d;
  int n;
  double level, alpha;
  uint64_t seed, purpose;
  int R;
  long budget, trials;
  int sizes;
  double *buf; /* one replicate's differences, n_max values */
} ssize_run;

/* Simulated power at size m (2 <= m <= n_max): the fraction of R replicate
** trials whose paired t rejects (p < alpha). Replicate r takes the first m
** draws of stream (seed; purpose, r, 0): the trials are nested in m. */
static double ssize_power(ssize_run *s, int m)
{
  int rejected = 0;
  for (int r = 0; r < s->R; r++) {
    mt_rng g;
    mt_rng_init(&g, s->seed, s->purpose, (uint64_t)r, 0);
    for (int i = 0; i < m; i++)
      s->buf[i] = s->d[uniform_index(&g, s->n)];
    double mean, ss;
    mt_ttest t;
    moments(s->buf, m, &mean, &ss);
    fill_t(&t, m, mean, sqrt(ss / (m - 1) / m), m - 1, s->level);
    rejected += t.p < s->alpha;
  }
  s->trials += s->R;
  s->sizes++;
  return (double)rejected / s->R;
}

/* ceil(((z_{1-a/2} + z_power) sd / |mean|)^2), clamped to [2, n_max];
** n_max when mean = 0. */
static int ssize_normal_n(double mean, double sd, double alpha, double power,
                          int n_max)
{
  double z = -mt_normal_quantile(0.5 * alpha) + mt_normal_quantile(power);
  if (mean == 0)
    return n_max;
  if (!(z > 0))
    return 2;
  double k = z * sd / fabs(mean), m = ceil(k * k);
  return m < 2 ? 2 : m > n_max ? n_max : (int)m;
}

/* The search's state: p(lo) < target (lo = 1 stands for size 1, where the
** t test has no variance and never rejects: power 0) and p(hi) >= target,
** with its power phi; hi = 0 while no such size is known. top is the
** largest size simulated, with its power. */
typedef struct ssize_state {
  int lo, hi, top;
  double phi, ptop;
} ssize_state;

/* Simulate size m and move the bracket; MT_STATS_BUDGET when the bound
** leaves no room for it. */
static int ssize_try(ssize_run *s, ssize_state *st, int m, double target)
{
  if (s->trials + s->R > s->budget)
    return MT_STATS_BUDGET;
  double p = ssize_power(s, m);
  if (m > st->top)
    st->top = m, st->ptop = p;
  if (p >= target) {
    if (st->hi == 0 || m < st->hi)
      st->hi = m, st->phi = p;
  } else if (m > st->lo) {
    st->lo = m;
  }
  return 0;
}

/* From the start m0: if it reaches the target, steps s, 2s, 4s down until
** one does not (else lo stays 1); if not, the same steps up until one does,
** then n_max itself. Returns 0 (bracketed), MT_STATS_UNREACHED or
** MT_STATS_BUDGET. */
static int ssize_bracket(ssize_run *s, ssize_state *st, int m0, double target,
                         int n_max)
{
  int rc = ssize_try(s, st, m0, target), step = m0 / 16 > 2 ? m0 / 16 : 2;
  int down = st->hi != 0;
  for (int k = 0; !rc && k < SSIZE_BRACKET; k++, step *= 2) {
    int m = down ? m0 - step : m0 + step;
    if (m < 2 || m >= n_max)
      break;
    rc = ssize_try(s, st, m, target);
    if (down ? st->lo > 1 : st->hi != 0)
      return rc;
  }
  if (!rc && !st->hi && st->top < n_max)
    rc = ssize_try(s, st, n_max, target);
  if (!rc && !st->hi)
    rc = MT_STATS_UNREACHED;
  return rc;
}

/* Bisection on the integers of (lo, hi] for the smallest size whose
** simulated power reaches the target. */
static int ssize_bisect(ssize_run *s, ssize_state *st, double target)
{
  while (st->hi - st->lo > 1) {
    int rc = ssize_try(s, st, st->lo + (st->hi - st->lo) / 2, target);
    if (rc)
      return rc;
  }
  return 0;
}

static int ssize_check(const double *d, int n, double level, double power,
                       int max_trials, int n_max, const mt_sample_size *out,
                       char *err, size_t errlen)
{
  const char *op = "sample size";
  if (!d || !out)
    return fail(err, errlen, MT_EINVAL, op, "need d and out");
  if (n < 2)
    return fail(err, errlen, MT_EINVAL, op, "n %d is below 2", n);
  if (!(level > 0 && level < 1))
    return fail(err, errlen, MT_EINVAL, op, "level %g is not in (0, 1)",
                level);
  if (!(power > 0 && power < 1))
    return fail(err, errlen, MT_EINVAL, op, "power %g is not in (0, 1)",
                power);
  if (max_trials < 1)
    return fail(err, errlen, MT_EINVAL, op, "max_trials %d is below 1",
                max_trials);
  if (n_max < 2)
    return fail(err, errlen, MT_EINVAL, op, "n_max %d is below 2", n_max);
  return check_finite(d, n, op, "d", err, errlen);
}

/* Degenerate cohorts, answered without simulation: all d equal, or mean 0. */
static int ssize_degenerate(double mean, double ss, double level, int n_max,
                            mt_sample_size *o)
{
  if (ss == 0) {
    int rejects = mean != 0; /* every trial: p = 0 (fill_t), or p = 1 */
    o->n = rejects ? 2 : n_max;
    o->power = rejects;
    o->reached = rejects;
    return MT_STATS_ZEROVAR;
  }
  o->n = n_max;
  o->power = 1 - level;
  o->reached = 0;
  return MT_STATS_NOEFFECT;
}

int mt_sample_size_paired(const double *d, int n, double level, double power,
                          int max_trials, int n_max, uint64_t seed,
                          uint64_t purpose, mt_sample_size *out,
                          char *err, size_t errlen)
{
  int rc = ssize_check(d, n, level, power, max_trials, n_max, out, err,
                       errlen);
  if (rc)
    return rc;
  double mean, ss, alpha = 1 - level;
  moments(d, n, &mean, &ss);
  int sizes = (int)ceil(log2(n_max)) + MT_SSIZE_EXTRA;
  mt_sample_size o = {
      .replicates = max_trials / sizes > 1 ? max_trials / sizes : 1,
      .normal_approx_n = ssize_normal_n(mean, sqrt(ss / (n - 1)), alpha,
                                        power, n_max)};
  if (ss == 0 || mean == 0) {
    rc = ssize_degenerate(mean, ss, level, n_max, &o);
    *out = o;
    return rc;
  }
  ssize_run s = {.d = d, .n = n, .level = level, .alpha = alpha,
                 .seed = seed, .purpose = purpose, .R = o.replicates,
                 .budget = max_trials};
  s.buf = malloc((size_t)n_max * sizeof *s.buf);
  if (!s.buf)
    return fail(err, errlen, MT_ENOMEM, "sample size", "%d values", n_max);
  ssize_state st = {.lo = 1};
  rc = ssize_bracket(&s, &st, o.normal_approx_n, power, n_max);
  if (!rc)
    rc = ssize_bisect(&s, &st, power);
  free(s.buf);
  o.reached = st.hi != 0;
  o.n = st.hi ? st.hi : st.top;
  o.power = st.hi ? st.phi : st.ptop;
  o.mc_se = sqrt(o.power * (1 - o.power) / o.replicates);
  o.sizes_tried = s.sizes;
  o.trials = s.trials;
  *out = o;
  return rc;
}
