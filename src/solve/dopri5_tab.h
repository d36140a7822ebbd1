/* Dormand–Prince 5(4) tableau and dense-output weights (Hairer, Nørsett and
** Wanner 1993, Table II.5.2 and the DOPRI5 code's contd5 coefficients). */
#ifndef MT_SOLVE_DOPRI5_TAB_H
#define MT_SOLVE_DOPRI5_TAB_H

#define C2 (1.0 / 5.0)
#define C3 (3.0 / 10.0)
#define C4 (4.0 / 5.0)
#define C5 (8.0 / 9.0)
#define A21 (1.0 / 5.0)
#define A31 (3.0 / 40.0)
#define A32 (9.0 / 40.0)
#define A41 (44.0 / 45.0)
#define A42 (-56.0 / 15.0)
#define A43 (32.0 / 9.0)
#define A51 (19372.0 / 6561.0)
#define A52 (-25360.0 / 2187.0)
#define A53 (64448.0 / 6561.0)
#define A54 (-212.0 / 729.0)
#define A61 (9017.0 / 3168.0)
#define A62 (-355.0 / 33.0)
#define A63 (46732.0 / 5247.0)
#define A64 (49.0 / 176.0)
#define A65 (-5103.0 / 18656.0)
#define A71 (35.0 / 384.0)
#define A73 (500.0 / 1113.0)
#define A74 (125.0 / 192.0)
#define A75 (-2187.0 / 6784.0)
#define A76 (11.0 / 84.0)
/* error estimate: 5th-order minus embedded 4th-order weights */
#define E1 (71.0 / 57600.0)
#define E3 (-71.0 / 16695.0)
#define E4 (71.0 / 1920.0)
#define E5 (-17253.0 / 339200.0)
#define E6 (22.0 / 525.0)
#define E7 (-1.0 / 40.0)
/* dense output */
#define D1 (-12715105075.0 / 11282082432.0)
#define D3 (87487479700.0 / 32700410799.0)
#define D4 (-10690763975.0 / 1880347072.0)
#define D5 (701980252875.0 / 199316789632.0)
#define D6 (-1453857185.0 / 822651844.0)
#define D7 (69997945.0 / 29380423.0)


/*
** Per-instance pieces shared by the scalar and the lane-batched integrator,
** written once so both take bit-for-bit the same decisions. Vectors of n
** elements are read with a stride (1 scalar, MT_LANES batched).
*/
#include <math.h>

#include "core/vmath.h"

/* Weighted RMS norm of v with scale from y0 and y1 (HNW II.4, eq. 4.11). */
static inline double dp5_wnorm(int n, int st, double atol, double rtol,
                               const double *v, const double *y0,
                               const double *y1)
{
  double s = 0;
  for (int i = 0; i < n; i++) {
    double sc = atol + rtol * fmax(fabs(y0[i * st]), fabs(y1[i * st]));
    double e = v[i * st] / sc;
    s += e * e;
  }
  return sqrt(s / n);
}

/* State at theta in [0, 1] of the step from the dense-output coefficients
** rc (five contiguous blocks of n elements). */
static inline void dp5_dense_eval(int n, const double *rc, double theta,
                                  double *out)
{
  const double *r1 = rc, *r2 = r1 + n, *r3 = r2 + n, *r4 = r3 + n,
               *r5 = r4 + n;
  double th1 = 1.0 - theta;
  for (int i = 0; i < n; i++)
    out[i] = r1[i] + theta * (r2[i] + th1 * (r3[i] + theta * (r4[i] +
                                                              th1 * r5[i])));
}

/* Dense-output coefficients of the accepted step of size h (HNW p. 192)
** from inputs read at stride st, into five contiguous blocks of n in rc. */
static inline void dp5_dense_prepare(int n, int st, double h, const double *y,
                                     const double *y1, const double *const *k,
                                     double *rc)
{
  double *r1 = rc, *r2 = r1 + n, *r3 = r2 + n, *r4 = r3 + n, *r5 = r4 + n;
  for (int i = 0; i < n; i++) {
    int j = i * st;
    double ydiff = y1[j] - y[j], bspl = h * k[0][j] - ydiff;
    r1[i] = y[j];
    r2[i] = ydiff;
    r3[i] = bspl;
    r4[i] = ydiff - h * k[6][j] - bspl;
    r5[i] = h * (D1 * k[0][j] + D3 * k[2][j] + D4 * k[3][j] + D5 * k[4][j] +
                 D6 * k[5][j] + D7 * k[6][j]);
  }
}

/* The powers step-size control needs, for up to four steps at once: pw17 =
** err^0.17 and pw04 = max(err, 1e-4)^0.04 (HNW IV.2, PI control with
** beta = 0.04 as in DOPRI5), as exp(a log err): one log and two exp vector
** calls serve every lane. */
static inline void dp5_powers4(const double *err, double *pw17, double *pw04)
{
  const double log_1e4 = -9.2103403719761836; /* log(1e-4) */
  double l[4], a[4], c[4];
  mt_log4(err, l);
  for (int i = 0; i < 4; i++) {
    a[i] = 0.17 * l[i];
    c[i] = 0.04 * fmax(l[i], log_1e4);
  }
  mt_exp4(a, pw17);
  mt_exp4(c, pw04);
}

/*
** Step-size control after a step of size *h with error err and its powers
** (dp5_powers4). On rejection shrinks *h and returns 0; on acceptance returns
** 1, sets *fac, the divisor of the next step, and updates *facold, which
** holds the previous accepted error to the power beta.
*/
static inline int dp5_control(double err, double pw17, double pw04, double *h,
                              double *facold, double *fac)
{
  if (!(err <= 1.0)) {
    double fac11 = isfinite(err) ? pw17 : 10.0;
    *h /= fmin(5.0, fac11 / 0.9);
    return 0;
  }
  *fac = fmax(0.1, fmin(5.0, pw17 / *facold / 0.9));
  *facold = pw04;
  return 1;
}

/* The first facold of a segment, as dp5_control keeps it: (1e-4)^0.04. */
#define DP5_FACOLD0 0.69183097091893653

/* Clip the step to the segment end; 1 if this step ends the segment. */
static inline int dp5_clip(double t, double t1, double *h)
{
  int last = t + *h >= t1 || t1 - (t + *h) < 1e-12 * fabs(t1);
  if (last)
    *h = t1 - t;
  return last;
}

#endif
