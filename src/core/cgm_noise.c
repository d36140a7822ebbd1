/*
** CGM sensor error of Breton and Kovatchev (J Diabetes Sci Technol 2:853,
** 2008), following simglucose's noise_gen.py step for step: AR(1) latent
** noise on a 15-min grid, Johnson SU transform, not-a-knot cubic spline over
** 150-min blocks to the sensor's sample times, clip to the sensor's range.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "medtwin/cgm_noise.h"
#include "medtwin/error.h"

/* ---- sensor table -------------------------------------------------------- */

/* Column k of row r as a finite double; 0 or MT_EPARSE. */
static int cell_num(const mt_csv *c, int r, const char *col, double *v)
{
  int k = mt_csv_col(c, col);
  if (k < 0)
    return MT_EPARSE;
  const char *s = mt_csv_get(c, r, k);
  char *end;
  *v = strtod(s, &end);
  return (end == s || *end || !isfinite(*v)) ? MT_EPARSE : 0;
}

static int sensor_from_row(const mt_csv *c, int r, int k_name,
                           mt_cgm_sensor *out)
{
  static const char *const col[] = {"PACF", "gamma", "lambda", "delta", "xi",
                                    "sample_time", "min", "max"};
  double v[8];
  for (int i = 0; i < 8; i++) {
    int rc = cell_num(c, r, col[i], &v[i]);
    if (rc)
      return rc;
  }
  mt_cgm_sensor s = {.pacf = v[0], .gamma = v[1], .lambda = v[2],
                     .delta = v[3], .xi = v[4], .sample_min = v[5],
                     .lo = v[6], .hi = v[7]};
  snprintf(s.name, sizeof s.name, "%s", mt_csv_get(c, r, k_name));
  *out = s;
  return 0;
}

int mt_cgm_sensor_load(const char *name, mt_cgm_sensor *out)
{
  if (!name || !out)
    return MT_EINVAL;
  size_t len;
  const char *text = mt_data_file("sensor_params.csv", &len);
  if (!text)
    return MT_ENOTFOUND;
  mt_csv c;
  int rc = mt_csv_parse(text, len, &c);
  if (rc)
    return rc;
  int k = mt_csv_col(&c, "Name");
  int r = k < 0 ? -1 : mt_csv_find(&c, k, name);
  if (k < 0)
    rc = MT_EPARSE;
  else if (r < 0 || strlen(name) >= sizeof out->name)
    rc = MT_ENOTFOUND;
  else
    rc = sensor_from_row(&c, r, k, out);
  mt_csv_clear(&c);
  return rc;
}

/* ---- not-a-knot cubic spline on the 11 knots of a block ------------------ */

/*
** Second derivatives M of the cubic spline through y at spacing h with the
** not-a-knot ends (third derivative continuous at the second and the
** second-to-last knot): M0 - 2 M1 + M2 = 0 and likewise at the far end.
** Substituting these into the first and last interior equations
** M(i-1) + 4 M(i) + M(i+1) = 6 (y(i-1) - 2 y(i) + y(i+1)) / h^2
** gives M1 and M(n-2) directly; the rest is a tridiagonal solve (Thomas).
*/
static void spline_fit(const double *y, double h, double *m)
{
  enum { N = MT_CGM_KNOTS };
  double rhs[N], c[N];
  for (int i = 1; i < N - 1; i++)
    rhs[i] = 6.0 * (y[i - 1] - 2.0 * y[i] + y[i + 1]) / (h * h);
  m[1] = rhs[1] / 6.0;
  m[N - 2] = rhs[N - 2] / 6.0;
  rhs[2] -= m[1];
  rhs[N - 3] -= m[N - 2];
  /* forward sweep over i = 2..N-3: diagonal 4, off-diagonals 1 */
  double piv = 4.0;
  c[2] = 1.0 / piv;
  rhs[2] /= piv;
  for (int i = 3; i <= N - 3; i++) {
    piv = 4.0 - c[i - 1];
    c[i] = 1.0 / piv;
    rhs[i] = (rhs[i] - rhs[i - 1]) / piv;
  }
  m[N - 3] = rhs[N - 3];
  for (int i = N - 4; i >= 2; i--)
    m[i] = rhs[i] - c[i] * m[i + 1];
  m[0] = 2.0 * m[1] - m[2];
  m[N - 1] = 2.0 * m[N - 2] - m[N - 3];
}

static double spline_at(const double *y, const double *m, double h, double t)
{
  int i = (int)floor(t / h);
  if (i < 0)
    i = 0;
  if (i > MT_CGM_KNOTS - 2)
    i = MT_CGM_KNOTS - 2;
  double a = ((i + 1) * h - t) / h, b = 1.0 - a;
  return a * y[i] + b * y[i + 1] +
         ((a * a * a - a) * m[i] + (b * b * b - b) * m[i + 1]) * h * h / 6.0;
}

double mt_cgm_interp(const double y[MT_CGM_KNOTS], double t_min)
{
  double m[MT_CGM_KNOTS];
  spline_fit(y, MT_CGM_GRID_MIN, m);
  return spline_at(y, m, MT_CGM_GRID_MIN, t_min);
}

/* ---- generator ----------------------------------------------------------- */

static double johnson_su(const mt_cgm_sensor *s, double e)
{
  return s->xi + s->lambda * sinh((e - s->gamma) / s->delta);
}

/* Knots 1..10 of a new block; knot 0 is the last block's knot 10. */
static void next_block(mt_cgm_noise *g)
{
  g->knot[0] = g->knot[MT_CGM_KNOTS - 1];
  for (int i = 1; i < MT_CGM_KNOTS; i++) {
    g->e = g->s.pacf * (g->e + mt_rng_normal(&g->rng));
    g->knot[i] = johnson_su(&g->s, g->e);
  }
  spline_fit(g->knot, MT_CGM_GRID_MIN, g->m);
  g->next = 1;
}

static int sensor_ok(const mt_cgm_sensor *s)
{
  const double v[] = {s->pacf, s->gamma, s->lambda, s->delta,
                      s->xi,   s->sample_min, s->lo, s->hi};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (!isfinite(v[i]))
      return 0;
  double span = (MT_CGM_KNOTS - 1) * MT_CGM_GRID_MIN;
  return fabs(s->pacf) < 1.0 && s->lambda > 0 && s->delta > 0 &&
         s->sample_min > 0 && s->sample_min <= span && s->lo < s->hi;
}

int mt_cgm_noise_init(mt_cgm_noise *g, const mt_cgm_sensor *s, const mt_rng *rng)
{
  memset(g, 0, sizeof *g);
  if (!s || !rng || !sensor_ok(s))
    return MT_EINVAL;
  g->s = *s;
  g->rng = *rng;
  g->n_out = (int)floor((MT_CGM_KNOTS - 1) * MT_CGM_GRID_MIN / s->sample_min);
  g->e = mt_rng_normal(&g->rng); /* e_0 = z_0, not scaled by PACF */
  g->knot[MT_CGM_KNOTS - 1] = johnson_su(&g->s, g->e);
  next_block(g);
  return 0;
}

double mt_cgm_noise_next(mt_cgm_noise *g)
{
  if (g->next > g->n_out)
    next_block(g);
  double t = g->next++ * g->s.sample_min;
  return spline_at(g->knot, g->m, MT_CGM_GRID_MIN, t);
}

double mt_cgm_reading(const mt_cgm_sensor *s, double true_mgdl, double noise)
{
  double v = true_mgdl + noise;
  if (v < s->lo)
    v = s->lo;
  if (v > s->hi)
    v = s->hi;
  return v;
}
