/*
** Explicit Runge–Kutta of Dormand and Prince, order 5(4), with the free
** 4th-order-accurate 5th-degree dense output of Hairer, Nørsett and Wanner,
** "Solving Ordinary Differential Equations I", 2nd ed., 1993, II.5 and II.6
** (coefficients as in their code DOPRI5), step control with the PI
** stabilisation of section IV.2. Restarting at an input change costs one RHS
** evaluation plus the initial step estimate, so schedules are cheap.
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "solve/dopri5_tab.h"
#include "solve/integrator.h"

typedef struct dp5 {
  int n, nr;
  double rtol, atol, h_max;
  long max_steps;
  double *y, *y1, *k1, *k2, *k3, *k4, *k5, *k6, *k7, *ys, *rc, *yd;
  double *g0, *g1, *gm;
  double root_t;         /* time of the event just returned, NAN if none */
  unsigned char *fired;  /* nr: the functions that fired there */
} dp5;

static void dp5_free(void *state)
{
  dp5 *d = state;
  if (!d)
    return;
  free(d->y);
  free(d->fired);
  free(d);
}

static int dp5_create(const mt_model *m, const mt_sim_config *cfg,
                      void **state)
{
  *state = NULL;
  if (!(cfg->rtol > 0) || !(cfg->atol > 0))
    return MT_EINVAL;
  dp5 *d = calloc(1, sizeof *d);
  if (!d)
    return MT_ENOMEM;
  d->n = m->n_state;
  d->nr = m->n_root > 0 && m->roots ? m->n_root : 0;
  d->rtol = cfg->rtol;
  d->atol = cfg->atol;
  d->h_max = cfg->h_max > 0 ? cfg->h_max : INFINITY;
  d->max_steps = cfg->max_steps > 0 ? cfg->max_steps : 500000;
  d->root_t = NAN;
  size_t n = (size_t)d->n, nr = (size_t)d->nr;
  double *a = calloc(16 * n + 3 * nr, sizeof *a);
  d->fired = calloc(nr ? nr : 1, 1);
  if (!a || !d->fired) {
    free(a);
    free(d->fired);
    free(d);
    return MT_ENOMEM;
  }
  double **v[] = {&d->y, &d->y1, &d->k1, &d->k2, &d->k3, &d->k4,
                  &d->k5, &d->k6, &d->k7, &d->ys, &d->yd};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    *v[i] = a + i * n;
  d->rc = a + 11 * n; /* 5 dense-output coefficient vectors */
  d->g0 = a + 16 * n;
  d->g1 = d->g0 + nr;
  d->gm = d->g1 + nr;
  *state = d;
  return 0;
}

static double wnorm(const dp5 *d, const double *v, const double *y0,
                    const double *y1)
{
  return dp5_wnorm(d->n, 1, d->atol, d->rtol, v, y0, y1);
}

/* Initial step size (HNW II.4, "starting step size", as in DOPRI5 hinit). */
static int initial_step(dp5 *d, mt_rhs_ctx *c, double t, double span,
                        double *h_out)
{
  double d0 = wnorm(d, d->y, d->y, d->y), d1 = wnorm(d, d->k1, d->y, d->y);
  double h = (d0 < 1e-10 || d1 < 1e-10) ? 1e-6 : 0.01 * d0 / d1;
  h = fmin(fmin(h, span), d->h_max);
  for (int i = 0; i < d->n; i++)
    d->y1[i] = d->y[i] + h * d->k1[i];
  int rc = mt_rhs_eval(c, t + h, d->y1, d->k2);
  if (rc < 0)
    return rc;
  if (rc > 0) {
    *h_out = h * 0.1;
    return 0;
  }
  for (int i = 0; i < d->n; i++)
    d->yd[i] = (d->k2[i] - d->k1[i]);
  double d2 = wnorm(d, d->yd, d->y, d->y) / h;
  double dm = fmax(d1, d2);
  double h1 = dm <= 1e-15 ? fmax(1e-6, h * 1e-3) : pow(0.01 / dm, 0.2);
  *h_out = fmin(fmin(100 * h, h1), fmin(span, d->h_max));
  return 0;
}

/* The six stages of one step from (t, y) with k1 = f(t, y); fills y1, k7
** and the error estimate in yd. Returns the rhs code. */
static int step(dp5 *d, mt_rhs_ctx *c, double t, double h)
{
  int n = d->n, rc;
  const double *y = d->y;
  double *ys = d->ys;
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * A21 * d->k1[i];
  if ((rc = mt_rhs_eval(c, t + C2 * h, ys, d->k2)))
    return rc;
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * (A31 * d->k1[i] + A32 * d->k2[i]);
  if ((rc = mt_rhs_eval(c, t + C3 * h, ys, d->k3)))
    return rc;
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * (A41 * d->k1[i] + A42 * d->k2[i] + A43 * d->k3[i]);
  if ((rc = mt_rhs_eval(c, t + C4 * h, ys, d->k4)))
    return rc;
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * (A51 * d->k1[i] + A52 * d->k2[i] + A53 * d->k3[i] +
                        A54 * d->k4[i]);
  if ((rc = mt_rhs_eval(c, t + C5 * h, ys, d->k5)))
    return rc;
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * (A61 * d->k1[i] + A62 * d->k2[i] + A63 * d->k3[i] +
                        A64 * d->k4[i] + A65 * d->k5[i]);
  if ((rc = mt_rhs_eval(c, t + h, ys, d->k6)))
    return rc;
  for (int i = 0; i < n; i++)
    d->y1[i] = y[i] + h * (A71 * d->k1[i] + A73 * d->k3[i] + A74 * d->k4[i] +
                           A75 * d->k5[i] + A76 * d->k6[i]);
  if ((rc = mt_rhs_eval(c, t + h, d->y1, d->k7)))
    return rc;
  for (int i = 0; i < n; i++)
    d->yd[i] = h * (E1 * d->k1[i] + E3 * d->k3[i] + E4 * d->k4[i] +
                    E5 * d->k5[i] + E6 * d->k6[i] + E7 * d->k7[i]);
  return 0;
}

static void dense_prepare(dp5 *d, double h)
{
  const double *k[7] = {d->k1, d->k2, d->k3, d->k4, d->k5, d->k6, d->k7};
  dp5_dense_prepare(d->n, 1, h, d->y, d->y1, k, d->rc);
}

static void dense_eval(const dp5 *d, double theta, double *out)
{
  dp5_dense_eval(d->n, d->rc, theta, out);
}

/* Whether g went from a to b through zero in direction dir (-1 down, +1
** up, 0 either); a start exactly at zero has no sign yet. */
static int crossed(double a, double b, int dir)
{
  if (a == 0 || (b != 0 && (a > 0) == (b > 0)))
    return 0;
  return dir == 0 || (dir < 0 ? a > 0 : a < 0);
}

static int root_dir(const mt_rhs_ctx *c, int r)
{
  return c->m->root_dir ? c->m->root_dir[r] : 0;
}

/* Illinois iteration for function r on the dense output of the step
** (t, t + h]: the first theta at which g_r has its new sign. */
static double illinois(dp5 *d, mt_rhs_ctx *c, int r, double t, double h)
{
  double ga = d->g0[r], gb = d->g1[r], a = 0, b = 1;
  double tol = 4 * DBL_EPSILON * (fabs(t) + fabs(h)) / h;
  int side = 0;
  for (int it = 0; it < 200 && b - a > tol; it++) {
    double th = (a * gb - b * ga) / (gb - ga);
    if (!(th > a && th < b))
      th = 0.5 * (a + b);
    dense_eval(d, th, d->ys);
    mt_roots_eval(c, t + th * h, d->ys, d->gm);
    double gm = d->gm[r];
    if ((gm > 0) == (ga > 0) && gm != 0) {
      a = th, ga = gm;
      if (side == -1)
        gb *= 0.5;
      side = -1;
    } else {
      b = th, gb = gm;
      if (side == 1)
        ga *= 0.5;
      side = 1;
    }
  }
  return b;
}

/*
** The first event in the accepted step (t, t + h]: the earliest root of any
** function that crossed zero (in its direction). Every function that has
** crossed by then fires with it. Returns 1 with *tr and d->fired set, or 0.
*/
static int locate_root(dp5 *d, mt_rhs_ctx *c, double t, double h, double *tr)
{
  double best = INFINITY;
  for (int r = 0; r < d->nr; r++)
    if (crossed(d->g0[r], d->g1[r], root_dir(c, r)))
      best = fmin(best, illinois(d, c, r, t, h));
  if (best == INFINITY)
    return 0;
  *tr = t + best * h;
  dense_eval(d, best, d->ys);
  mt_roots_eval(c, *tr, d->ys, d->gm);
  for (int r = 0; r < d->nr; r++)
    d->fired[r] = crossed(d->g0[r], d->g1[r], root_dir(c, r)) &&
                  crossed(d->g0[r], d->gm[r], root_dir(c, r));
  return 1;
}

/* Write samples ts[*j] < t_hi from the dense output of step [t, t + h]. */
static void emit(dp5 *d, double t, double h, double t_hi, const double *ts,
                 int nts, double *xs, int *j)
{
  while (*j < nts && ts[*j] < t_hi) {
    if (ts[*j] > t)
      dense_eval(d, (ts[*j] - t) / h, xs + (size_t)*j * d->n);
    else
      memcpy(xs + (size_t)*j * d->n, d->y, (size_t)d->n * sizeof *d->y);
    (*j)++;
  }
}

/*
** Signs of g at the start of a segment: their values there, except for the
** functions that fired in the event just returned at this very time, which
** are taken a hair into the first step (as CVODE does) so that event is not
** found again. A sign change across a segment boundary is never lost.
*/
static void roots_at_start(dp5 *d, mt_rhs_ctx *c, double t, double h,
                           const double *y, int dense)
{
  mt_roots_eval(c, t, y, d->g0);
  if (d->root_t == t) {
    double th = fmin(1.0, 100 * DBL_EPSILON * (fabs(t) + fabs(h)) / h);
    if (dense)
      dense_eval(d, th, d->ys);
    else /* a segment crossed by one Euler step: y + th h f */
      for (int i = 0; i < d->n; i++)
        d->ys[i] = y[i] + th * h * d->k1[i];
    mt_roots_eval(c, t + th * h, d->ys, d->gm);
    for (int r = 0; r < d->nr; r++)
      if (d->fired[r])
        d->g0[r] = d->gm[r];
  }
  d->root_t = NAN;
}

int mt_dp5_start(void *state, mt_rhs_ctx *c, double t, double span,
                 const double *y, double *k1, double *h)
{
  dp5 *d = state;
  memcpy(d->y, y, (size_t)d->n * sizeof *y);
  int rc = mt_rhs_eval(c, t, d->y, d->k1);
  if (rc > 0)
    snprintf(c->err + strlen(c->err), MT_ERRMSG_MAX - strlen(c->err),
             "%sDOPRI5: right-hand side could not be evaluated at t = %.10g",
             c->err[0] ? "; " : "", t);
  if (rc)
    return rc > 0 ? MT_ESOLVER : rc;
  if ((rc = initial_step(d, c, t, span, h)) < 0)
    return rc;
  memcpy(k1, d->k1, (size_t)d->n * sizeof *k1);
  return 0;
}

/* Why a segment cannot go on: too many steps or a vanishing step. */
int mt_dp5_stuck(const mt_rhs_ctx *c, long nstep, long max_steps, double t,
                 double h)
{
  if (nstep >= max_steps)
    snprintf(c->err, MT_ERRMSG_MAX, "DOPRI5: more than %ld steps in one "
             "segment at t = %.10g %s", max_steps, t, c->m->time_unit);
  else if (h < 8 * DBL_EPSILON * fmax(1.0, fabs(t)))
    snprintf(c->err, MT_ERRMSG_MAX, "DOPRI5: step size underflow at t = "
             "%.10g %s%s", t, c->m->time_unit,
             c->stats->n_reject ? " (right-hand side failing or stiff)" : "");
  else
    return 0;
  return MT_ESOLVER;
}

int mt_dp5_tiny(mt_rhs_ctx *c, double t0, double t1, double *x, double *f)
{
  if (!(t1 - t0 < 8 * DBL_EPSILON * fmax(1.0, fabs(t0))))
    return 0;
  int rc = mt_rhs_eval(c, t0, x, f);
  if (rc > 0)
    memset(f, 0, (size_t)c->m->n_state * sizeof *f); /* keep the state */
  else if (rc < 0)
    return rc;
  for (int i = 0; i < c->m->n_state; i++)
    x[i] += (t1 - t0) * f[i];
  return 1;
}

/*
** A segment too short for a step, crossed by one Euler step from x0 = d->y
** to x (f is d->k1): samples inside by linear interpolation, and events located by
** linear interpolation of g. Returns 0 or 1 (an event) like dp5_advance.
*/
static int tiny_advance(dp5 *d, mt_rhs_ctx *c, double t0, double t1,
                        double *x, const double *ts, int nts, double *xs,
                        int *n_done, double *t_stop)
{
  int n = d->n, j = 0; /* d->y holds x0, x holds x1 */
  *t_stop = t1;
  if (d->nr) {
    roots_at_start(d, c, t0, t1 - t0, d->y, 0);
    mt_roots_eval(c, t1, x, d->g1);
    double best = 1;
    for (int r = 0; r < d->nr; r++)
      if (crossed(d->g0[r], d->g1[r], root_dir(c, r)))
        best = fmin(best, d->g0[r] / (d->g0[r] - d->g1[r]));
    for (int r = 0; r < d->nr; r++)
      d->fired[r] = crossed(d->g0[r], d->g1[r], root_dir(c, r));
    if (memchr(d->fired, 1, (size_t)d->nr)) {
      *t_stop = d->root_t = t0 + best * (t1 - t0);
      for (int i = 0; i < n; i++)
        x[i] = d->y[i] + (*t_stop - t0) * d->k1[i];
    }
  }
  for (; j < nts && ts[j] < *t_stop; j++)
    for (int i = 0; i < n; i++)
      xs[(size_t)j * n + i] = d->y[i] + (ts[j] - t0) * d->k1[i];
  *n_done = j;
  return *t_stop < t1 || (d->nr && memchr(d->fired, 1, (size_t)d->nr));
}

static int dp5_advance(void *state, mt_rhs_ctx *c, double t0, double t1,
                       double *x, const double *ts, int nts, double *xs,
                       int *n_done, double *t_stop, unsigned char *fired)
{
  dp5 *d = state;
  int n = d->n, j = 0, rc, first = 1;
  double t = t0, h, facold = DP5_FACOLD0, fac;
  *n_done = 0;
  *t_stop = t1;
  memcpy(d->y, x, (size_t)n * sizeof *x);
  if ((rc = mt_dp5_tiny(c, t0, t1, x, d->k1))) {
    if (rc < 0)
      return rc;
    rc = tiny_advance(d, c, t0, t1, x, ts, nts, xs, n_done, t_stop);
    if (rc)
      memcpy(fired, d->fired, (size_t)d->nr);
    return rc;
  }
  if ((rc = mt_dp5_start(d, c, t, t1 - t0, x, d->k1, &h)))
    return rc;
  for (long nstep = 0; t < t1; nstep++) {
    int last = dp5_clip(t, t1, &h);
    if ((rc = mt_dp5_stuck(c, nstep, d->max_steps, t, h)))
      return rc;
    rc = step(d, c, t, h);
    if (rc < 0)
      return rc == MT_ENOMEM ? rc : MT_ESOLVER;
    double err = rc > 0 ? INFINITY : wnorm(d, d->yd, d->y, d->y1);
    c->stats->n_step++;
    double e4[4] = {err, err, err, err}, pw17[4], pw04[4];
    dp5_powers4(e4, pw17, pw04);
    if (!dp5_control(err, pw17[0], pw04[0], &h, &facold, &fac)) {
      c->stats->n_reject++;
      continue;
    }
    double t_new = last ? t1 : t + h;
    if (d->nr || j < nts)
      dense_prepare(d, h);
    if (d->nr) {
      if (first)
        roots_at_start(d, c, t, h, d->y, 1);
      mt_roots_eval(c, t_new, d->y1, d->g1);
      double tr;
      if (locate_root(d, c, t, h, &tr)) {
        emit(d, t, h, tr, ts, nts, xs, &j);
        dense_eval(d, (tr - t) / h, x);
        *n_done = j;
        *t_stop = d->root_t = tr;
        memcpy(fired, d->fired, (size_t)d->nr);
        return 1;
      }
      memcpy(d->g0, d->g1, (size_t)d->nr * sizeof *d->g0);
    }
    emit(d, t, h, t_new, ts, nts, xs, &j);
    first = 0;
    t = t_new;
    memcpy(d->y, d->y1, (size_t)n * sizeof *x);
    memcpy(d->k1, d->k7, (size_t)n * sizeof *x); /* FSAL */
    h = fmin(h / fac, d->h_max);
  }
  memcpy(x, d->y, (size_t)n * sizeof *x);
  *n_done = j;
  *t_stop = t1;
  return 0;
}

/* A new run: the event exclusion of the previous run no longer applies. */
static void dp5_reset(void *state)
{
  ((dp5 *)state)->root_t = NAN;
}

const mt_backend mt_backend_dopri5 = {"dopri5", dp5_create, dp5_advance,
                                      dp5_free, dp5_reset};
