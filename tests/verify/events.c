/*
** Regression tests for state events (roots) and their interplay with input
** segments, through the public API only, on both backends (DOPRI5 and CVODE
** BDF). The models are test-local ops tables with full metadata; each test
** states its closed-form reference and its tolerance.
**
**   ball      a ball dropped onto a floor, restitution 0.9, with a dummy
**             input whose changes split the run into segments right at, or
**             a few ulps or picoseconds from, the impacts (a root at a
**             segment boundary used to be lost by DOPRI5), and segments
**             shorter than any step (which used to stop DOPRI5 with "step
**             size underflow").
**   pingpong  a particle moving at constant speed between a floor and a
**             ceiling, its velocity reversed and halved at each wall. The
**             motion is piecewise linear, which both methods reproduce to
**             roundoff, so boundaries can be placed within ulps of the
**             numerical impact on CVODE too.
**   clock     x(t) = t with root functions x - a and x - b: two roots in
**             one step, roots exactly at sample times and at a boundary.
**
** All runs use rtol = atol = 1e-10.
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"

/* One test per backend, sharing a body that takes the solver. */
#define BOTH_BACKENDS(suite, name)                                           \
  static void name(mt_solver sv);                                           \
  Test(suite, name##_dopri5) { name(MT_SOLVER_DOPRI5); }                    \
  Test(suite, name##_cvode) { name(MT_SOLVER_CVODE); }                      \
  static void name(mt_solver sv)

#define TOL 1e-10 /* rtol = atol of every run */

static const char *solver_name(mt_solver sv)
{
  return sv == MT_SOLVER_CVODE ? "cvode" : "dopri5";
}

static void check_model(const mt_model *m)
{
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_model_check(m, err, sizeof err), 0, "%s", err);
}

static mt_sim *new_sim(const mt_model *m, mt_solver sv)
{
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  cfg.solver = sv;
  cfg.rtol = TOL;
  cfg.atol = TOL;
  mt_sim *s = NULL;
  cr_assert_eq(mt_sim_create(m, &cfg, &s), 0, "mt_sim_create (%s)",
               solver_name(sv));
  return s;
}

/* t moved by k units in the last place (up for k > 0, down for k < 0). */
static double ulps(double t, int k)
{
  for (; k > 0; k--)
    t = nextafter(t, INFINITY);
  for (; k < 0; k++)
    t = nextafter(t, -INFINITY);
  return t;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Samples every dt over [0, t_end] plus the n_extra times in extra, in
** order (extra times outside [0, t_end] are dropped). */
static void samples(mt_series *o, const mt_model *m, double t_end, double dt,
                    const double *extra, int n_extra)
{
  int n_grid = (int)lround(t_end / dt) + 1, n = n_grid;
  cr_assert_eq(mt_series_alloc(o, m, n_grid + n_extra), 0);
  for (int i = 0; i < n_grid; i++)
    o->t[i] = i * dt;
  for (int i = 0; i < n_extra; i++)
    if (extra[i] >= 0 && extra[i] <= t_end)
      o->t[n++] = extra[i];
  o->n = n;
  qsort(o->t, (size_t)n, sizeof *o->t, cmp_double);
}

/* ---------------------------------------------------------------------- */
/* Test instrumentation: every on_root call, with the state it was given   */
/* (before the event changes it).                                          */

#define REC_MAX 16

static struct {
  int n;
  int which[REC_MAX];
  double t[REC_MAX], x[REC_MAX][2];
} rec;

static void rec_event(int which, double t, const double *x)
{
  if (rec.n < REC_MAX) {
    rec.which[rec.n] = which;
    rec.t[rec.n] = t;
    rec.x[rec.n][0] = x[0];
    rec.x[rec.n][1] = x[1];
  }
  rec.n++;
}

/* Marker input shared by the models: it changes nothing in the dynamics
** and serves only to split a run into segments. */
static const mt_var marker_input[] = {
    {"marker", "1", "dummy input: its changes only split the run into "
     "segments", 0, 1e3, 0}};

/* Expected value of the marker: 1 over [b0, b1), 0 elsewhere. */
static double pulse_value(double t, double b0, double b1)
{
  return t >= b0 && t < b1 ? 1.0 : 0.0;
}

/* ---------------------------------------------------------------------- */
/* Bouncing ball: h'' = -g, v -> -0.9 v when h crosses zero downwards.     */

#define BALL_G 9.81  /* m/s2 */
#define BALL_H0 10.0 /* m, dropped from rest */
#define BALL_E 0.9   /* coefficient of restitution */
#define BALL_T_END 6.0

static const mt_var ball_state[] = {
    {"h", "m", "height above the floor", 0, 100, MT_VAR_NONNEG},
    {"v", "m/s", "upward velocity", -100, 100, 0}};
static const mt_var ball_param[] = {
    {"g", "m/s2", "gravitational acceleration", 0, 30, 0}};
static const mt_var ball_obs[] = {
    {"height", "m", "height above the floor", 0, 100, 0},
    {"n_impact", "1", "number of impacts so far", 0, 1e6, 0}};
static const char *const ball_mem_doc[] = {"number of impacts so far"};

static int ball_rhs(double t, const double *x, const double *p,
                    const double *u, const double *mem, void *ws, double *dx)
{
  (void)t, (void)u, (void)mem, (void)ws;
  dx[0] = x[1];
  dx[1] = -p[0];
  return 0;
}

static void ball_observe(double t, const double *x, const double *p,
                         const double *mem, double *y)
{
  (void)t, (void)p;
  y[0] = x[0];
  y[1] = mem[0];
}

static void ball_roots(double t, const double *x, const double *p, double *g)
{
  (void)t, (void)p;
  g[0] = x[0];
}

static void ball_on_root(int which, double t, double *x, double *mem)
{
  rec_event(which, t, x);
  x[1] = -BALL_E * x[1];
  mem[0] += 1;
}

static const mt_model ball_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_ball_segments",
    .doc = "point mass falling under gravity onto a floor, coefficient of "
           "restitution 0.9, with an input that only splits the run",
    .time_unit = "s",
    .reference = "elementary kinematics",
    .n_state = 2, .n_param = 1, .n_input = 1, .n_obs = 2, .n_mem = 1,
    .state = ball_state, .param = ball_param, .input = marker_input,
    .obs = ball_obs, .mem_doc = ball_mem_doc,
    .rhs = ball_rhs, .observe = ball_observe,
    .n_root = 1, .roots = ball_roots, .on_root = ball_on_root};

/*
** Closed form. Dropped from rest at h0: the first impact is at
** t1 = sqrt(2 h0 / g) at speed g t1; the rebound at 0.9 g t1 flies for
** 1.8 t1, so the second impact is at t2 = 2.8 t1 (4.00 s) at speed
** 0.9 g t1, and the third at 4.42 t1 (6.31 s), after the run.
*/
static double ball_t1(void) { return sqrt(2 * BALL_H0 / BALL_G); }

static double ball_height(double t)
{
  double g = BALL_G, t1 = ball_t1(), t2 = 2.8 * t1;
  if (t < t1)
    return BALL_H0 - 0.5 * g * t * t;
  if (t < t2)
    return BALL_E * g * t1 * (t - t1) - 0.5 * g * (t - t1) * (t - t1);
  return BALL_E * BALL_E * g * t1 * (t - t2) - 0.5 * g * (t - t2) * (t - t2);
}

/*
** Checks of a ball run whose marker is 1 over [b0, b1), at rtol = atol =
** 1e-10 (the tolerances of the bouncing-ball test in analytic.c):
** impacts at t1 and t2 to 1e-7 s with the height there within 1e-9 m of 0
** and the velocity -g t1, -0.9 g t1 to 1e-7 m/s; every sample within
** 1e-7 m of the closed form and never below -1e-9 m (no tunnelling, no
** event found twice); the marker exactly as scheduled; n_root = 2 and
** n_segment as given.
*/
static void check_ball(mt_solver sv, const char *what, mt_sim *s,
                       const mt_series *o, double b0, double b1,
                       long n_segment)
{
  const char *sn = solver_name(sv);
  const mt_sim_stats *st = mt_sim_last_stats(s);
  double t1 = ball_t1(), want_t[2] = {t1, 2.8 * t1};
  double want_v[2] = {-BALL_G * t1, -BALL_E * BALL_G * t1};
  cr_expect_eq(st->n_root, 2, "%s %s: %ld roots", sn, what, st->n_root);
  cr_expect_eq(st->n_segment, n_segment, "%s %s: %ld segments, want %ld", sn,
               what, st->n_segment, n_segment);
  cr_expect_eq(rec.n, 2, "%s %s: on_root called %d times", sn, what, rec.n);
  for (int k = 0; k < rec.n && k < 2; k++) {
    cr_expect_leq(fabs(rec.t[k] - want_t[k]), 1e-7, "%s %s: impact %d at "
                  "%.15f s, want %.15f", sn, what, k + 1, rec.t[k], want_t[k]);
    cr_expect_leq(fabs(rec.x[k][0]), 1e-9, "%s %s: impact %d at height "
                  "%.3g m", sn, what, k + 1, rec.x[k][0]);
    cr_expect_leq(fabs(rec.x[k][1] - want_v[k]), 1e-7, "%s %s: impact %d at "
                  "%.12f m/s, want %.12f", sn, what, k + 1, rec.x[k][1],
                  want_v[k]);
  }
  for (int i = 0; i < o->n; i++) {
    double t = o->t[i], h = o->x[(size_t)i * 2], want = ball_height(t);
    cr_expect_geq(h, -1e-9, "%s %s: height %.3g m at %.17g s", sn, what, h,
                  t);
    cr_expect_leq(fabs(h - want), 1e-7, "%s %s: height %.12f m at %.17g s, "
                  "want %.12f", sn, what, h, t, want);
    cr_expect_eq(o->u[i], pulse_value(t, b0, b1), "%s %s: marker %g at "
                 "%.17g s", sn, what, o->u[i], t);
  }
  cr_expect_eq(o->y[(size_t)(o->n - 1) * 2 + 1], 2.0, "%s %s: %g impacts at "
               "the end", sn, what, o->y[(size_t)(o->n - 1) * 2 + 1]);
}

/* Run the ball over [0, 6] s with the marker 1 over [b0, b1), sampled
** every 0.01 s and at b0 and b1, and check it. */
static void ball_pulse_case(mt_solver sv, mt_sim *s, const char *what,
                            double b0, double b1, long n_segment)
{
  const double p[] = {BALL_G}, x0[] = {BALL_H0, 0.0}, extra[] = {b0, b1};
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(1, &sch), 0);
  cr_assert_eq(mt_schedule_pulse(sch, 0, b0, b1, 1.0, 0), 0);
  mt_series o;
  samples(&o, &ball_model, BALL_T_END, 0.01, extra, 2);
  memset(&rec, 0, sizeof rec);
  int rc = mt_sim_run(s, p, x0, NULL, sch, 0, BALL_T_END, &o);
  cr_expect_eq(rc, 0, "%s %s: %s", solver_name(sv), what, mt_sim_errmsg(s));
  if (rc == 0)
    check_ball(sv, what, s, &o, b0, b1, n_segment);
  mt_series_clear(&o);
  mt_schedule_free(sch);
}

/*
** Regression: a root whose sign change falls at, or within a few ulps of,
** a segment boundary was silently lost by DOPRI5 (the ball fell through
** the floor). The marker is pulsed over [t1 + off, t2 + off), t1 and t2
** the closed-form impact times: boundaries just before, at and just after
** each impact (the ulp of t1 = 1.43 s is 2.2e-16 s, of t2 = 4.0 s
** 8.9e-16 s). Every impact must be found: see check_ball.
*/
BOTH_BACKENDS(boundary, ball_root_at_boundary)
{
  check_model(&ball_model);
  static const double offs[] = {0,      -1e-15, 1e-15,  4e-16, -4e-16,
                                1e-14,  -1e-14, 1e-12,  -1e-12, 1e-9,
                                -1e-9};
  double t1 = ball_t1(), t2 = 2.8 * t1;
  mt_sim *s = new_sim(&ball_model, sv);
  for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "offset %g s", offs[i]);
    ball_pulse_case(sv, s, what, t1 + offs[i], t2 + offs[i], 3);
  }
  mt_sim_free(s);
}

/*
** Regression: a segment shorter than a step could take made DOPRI5 fail
** with "step size underflow". The marker is pulsed over [2, 2 + k ulps)
** (ulp(2) = 4.4e-16 s), between the impacts, for k from 1 (the segment
** [2, nextafter(2, 3))) to well past the backends' "too short to start"
** thresholds (8 u |t| for DOPRI5, 16 u |t| for CVODE). The state is
** carried across, so the closed form and check_ball hold unchanged.
*/
BOTH_BACKENDS(tiny, ball_short_segment)
{
  static const int ks[] = {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64,
                           1000, 100000};
  mt_sim *s = new_sim(&ball_model, sv);
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "pulse over [2, 2 + %d ulps)", ks[i]);
    ball_pulse_case(sv, s, what, 2.0, ulps(2.0, ks[i]), 3);
  }
  mt_sim_free(s);
}

/*
** Short segments at the very start and the very end of the run: the
** marker over [0, 4.9e-324) (the first segment is a single denormal wide)
** and over [6 - 1 ulp, 6). Each run has two segments; check_ball holds.
*/
BOTH_BACKENDS(tiny, ball_short_segment_at_ends)
{
  mt_sim *s = new_sim(&ball_model, sv);
  ball_pulse_case(sv, s, "pulse over [0, 1 denormal)", 0.0,
                  nextafter(0.0, 1.0), 2);
  ball_pulse_case(sv, s, "pulse over [0, 1 ulp of 1)", 0.0, DBL_EPSILON, 2);
  ball_pulse_case(sv, s, "pulse over [6 - 1 ulp, 6)", ulps(BALL_T_END, -1),
                  BALL_T_END, 2);
  mt_sim_free(s);
}

/*
** Regression: a root found a hair (~1e-15 s) before the end of a segment
** leaves a remainder of the segment shorter than a step. The marker is
** pulsed over [t1 + d, t1 + d + 1 s) for d of 1 to 8 ulps of t1 and
** 1e-15 s: the first impact falls d before the first boundary.
*/
BOTH_BACKENDS(tiny, ball_root_just_before_end)
{
  static const int ks[] = {1, 2, 3, 4, 5, 8};
  double t1 = ball_t1();
  mt_sim *s = new_sim(&ball_model, sv);
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "impact %d ulps before a boundary", ks[i]);
    double b0 = ulps(t1, ks[i]);
    ball_pulse_case(sv, s, what, b0, b0 + 1.0, 3);
  }
  ball_pulse_case(sv, s, "impact 1e-15 s before a boundary", t1 + 1e-15,
                  t1 + 1.0 + 1e-15, 3);
  mt_sim_free(s);
}

/* ---------------------------------------------------------------------- */
/* Ping-pong: x' = v, v' = 0 between walls at x = 0 and x = L, velocity    */
/* reversed and halved at each wall.                                       */

#define PP_L 1.0
#define PP_T_END 20.0

static const mt_var pp_state[] = {
    {"x", "m", "position between the walls", 0, PP_L, MT_VAR_NONNEG},
    {"v", "m/s", "velocity", -10, 10, 0}};
static const mt_var pp_obs[] = {
    {"x_obs", "m", "position between the walls", 0, PP_L, 0}};

static int pp_rhs(double t, const double *x, const double *p, const double *u,
                  const double *mem, void *ws, double *dx)
{
  (void)t, (void)p, (void)u, (void)mem, (void)ws;
  dx[0] = x[1];
  dx[1] = 0;
  return 0;
}

static void pp_observe(double t, const double *x, const double *p,
                       const double *mem, double *y)
{
  (void)t, (void)p, (void)mem;
  y[0] = x[0];
}

/* g0: distance to the floor, g1: distance to the ceiling. */
static void pp_roots(double t, const double *x, const double *p, double *g)
{
  (void)t, (void)p;
  g[0] = x[0];
  g[1] = PP_L - x[0];
}

static void pp_on_root(int which, double t, double *x, double *mem)
{
  (void)mem;
  rec_event(which, t, x);
  x[1] = -0.5 * x[1];
}

static const mt_model pp_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_pingpong",
    .doc = "particle at constant speed between two walls, its velocity "
           "reversed and halved at each wall",
    .time_unit = "s",
    .reference = "elementary kinematics: piecewise-linear motion",
    .n_state = 2, .n_input = 1, .n_obs = 1,
    .state = pp_state, .input = marker_input, .obs = pp_obs,
    .rhs = pp_rhs, .observe = pp_observe,
    .n_root = 2, .roots = pp_roots, .on_root = pp_on_root};

/*
** Closed form from x(0) = 0.5 m, v(0) = -0.5 m/s: the floor at t = 1 s,
** then at 0.25 m/s the ceiling at 5 s, at -0.125 m/s the floor at 13 s, at
** 0.0625 m/s the ceiling at 29 s (after the run). Every number is a binary
** fraction, so the impact times are exact.
*/
static const struct {
  double t, x, v;
  int wall; /* root function that ends the leg before this one */
} pp_legs[] = {{0, 0.5, -0.5, -1}, {1, 0, 0.25, 0}, {5, PP_L, -0.125, 1},
               {13, 0, 0.0625, 0}};
#define PP_N_IMPACT 3

static double pp_position(double t)
{
  int k = PP_N_IMPACT;
  while (k > 0 && t < pp_legs[k].t)
    k--;
  return pp_legs[k].x + pp_legs[k].v * (t - pp_legs[k].t);
}

/*
** Checks of a ping-pong run. Linear motion is reproduced to roundoff by
** both methods (DOPRI5 is exact for polynomials up to degree 5, BDF up to
** its order, and the Newton iteration is exact on a linear rhs), so the
** only error is where a root is placed: within 4 u (|t| + |h|) by DOPRI5's
** bracketing and 100 u (|t| + |h|) by CVODE, under 1e-12 s here. Tolerance:
** impact times 1e-11 s, positions 1e-11 m, never outside the walls by more
** than 1e-11 m, velocities exact to 1e-12 m/s; n_root = 3, n_segment as
** given.
*/
static void check_pp(mt_solver sv, const char *what, mt_sim *s,
                     const mt_series *o, long n_segment)
{
  const char *sn = solver_name(sv);
  const mt_sim_stats *st = mt_sim_last_stats(s);
  cr_expect_eq(st->n_root, PP_N_IMPACT, "%s %s: %ld roots", sn, what,
               st->n_root);
  cr_expect_eq(st->n_segment, n_segment, "%s %s: %ld segments, want %ld", sn,
               what, st->n_segment, n_segment);
  cr_expect_eq(rec.n, PP_N_IMPACT, "%s %s: on_root called %d times", sn,
               what, rec.n);
  for (int k = 0; k < rec.n && k < PP_N_IMPACT; k++) {
    double tw = pp_legs[k + 1].t, vw = pp_legs[k].v;
    cr_expect_eq(rec.which[k], pp_legs[k + 1].wall, "%s %s: impact %d on "
                 "wall %d", sn, what, k + 1, rec.which[k]);
    cr_expect_leq(fabs(rec.t[k] - tw), 1e-11, "%s %s: impact %d at %.17g "
                  "s, want %g", sn, what, k + 1, rec.t[k], tw);
    cr_expect_leq(fabs(rec.x[k][1] - vw), 1e-12, "%s %s: impact %d at "
                  "%.17g m/s, want %g", sn, what, k + 1, rec.x[k][1], vw);
  }
  for (int i = 0; i < o->n; i++) {
    double t = o->t[i], x = o->x[(size_t)i * 2], want = pp_position(t);
    cr_expect(x >= -1e-11 && x <= PP_L + 1e-11, "%s %s: x = %.3g m at "
              "%.17g s is outside the walls", sn, what, x, t);
    cr_expect_leq(fabs(x - want), 1e-11, "%s %s: x = %.17g m at %.17g s, "
                  "want %.17g", sn, what, x, t, want);
  }
}

/* Run the ping-pong over [0, 20] s under sch, sampled every 0.05 s and at
** the n_extra times in extra, and check it. */
static void pp_case(mt_solver sv, mt_sim *s, const char *what,
                    const mt_schedule *sch, const double *extra, int n_extra,
                    long n_segment)
{
  const double no_param[1] = {0}, x0[] = {pp_legs[0].x, pp_legs[0].v};
  mt_series o;
  samples(&o, &pp_model, PP_T_END, 0.05, extra, n_extra);
  memset(&rec, 0, sizeof rec);
  int rc = mt_sim_run(s, no_param, x0, NULL, sch, 0, PP_T_END, &o);
  cr_expect_eq(rc, 0, "%s %s: %s", solver_name(sv), what, mt_sim_errmsg(s));
  if (rc == 0)
    check_pp(sv, what, s, &o, n_segment);
  mt_series_clear(&o);
}

/*
** The marker steps up at each impact time moved by k ulps (or by d
** seconds): three boundaries within roundoff of three roots that both
** backends place within roundoff of the exact times. Four segments.
*/
static void pp_boundaries_case(mt_solver sv, mt_sim *s, int k, double d)
{
  char what[80];
  snprintf(what, sizeof what, "boundaries at impacts %+d ulps %+g s", k, d);
  mt_schedule *sch = NULL;
  double b[PP_N_IMPACT];
  cr_assert_eq(mt_schedule_create(1, &sch), 0);
  for (int i = 0; i < PP_N_IMPACT; i++) {
    b[i] = ulps(pp_legs[i + 1].t, k) + d;
    cr_assert_eq(mt_schedule_level(sch, 0, b[i], i + 1.0), 0);
  }
  pp_case(sv, s, what, sch, b, PP_N_IMPACT, PP_N_IMPACT + 1);
  mt_schedule_free(sch);
}

BOTH_BACKENDS(boundary, pingpong_root_at_boundary)
{
  check_model(&pp_model);
  static const int ks[] = {0, 1, -1, 2, -2, 3, -3, 4, -4, 8, -8, 16, -16,
                           64, -64, 1000, -1000};
  static const double ds[] = {1e-15, -1e-15, 1e-14, -1e-14, 1e-12, -1e-12};
  mt_sim *s = new_sim(&pp_model, sv);
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
    pp_boundaries_case(sv, s, ks[i], 0);
  for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
    pp_boundaries_case(sv, s, 0, ds[i]);
  mt_sim_free(s);
}

/*
** A segment a few ulps wide that contains, or ends or starts at, an
** impact: the marker is pulsed over [t_k - lo ulps, t_k + hi ulps) around
** each impact t_k. The sign change lies inside a segment too short to
** integrate, and must still be found. Seven segments.
*/
BOTH_BACKENDS(tiny, pingpong_root_inside_short_segment)
{
  static const int lohi[][2] = {{1, 1}, {0, 1}, {1, 0}, {2, 2}, {0, 2},
                                {2, 0}, {4, 4}, {8, 8}, {16, 16}};
  mt_sim *s = new_sim(&pp_model, sv);
  for (size_t i = 0; i < sizeof lohi / sizeof lohi[0]; i++) {
    char what[80];
    snprintf(what, sizeof what, "pulses over [t_k - %d ulps, t_k + %d ulps)",
             lohi[i][0], lohi[i][1]);
    mt_schedule *sch = NULL;
    double b[2 * PP_N_IMPACT];
    cr_assert_eq(mt_schedule_create(1, &sch), 0);
    for (int k = 0; k < PP_N_IMPACT; k++) {
      b[2 * k] = ulps(pp_legs[k + 1].t, -lohi[i][0]);
      b[2 * k + 1] = ulps(pp_legs[k + 1].t, lohi[i][1]);
      cr_assert_eq(mt_schedule_pulse(sch, 0, b[2 * k], b[2 * k + 1], 1.0, 0),
                   0);
    }
    pp_case(sv, s, what, sch, b, 2 * PP_N_IMPACT, 1 + 2 * PP_N_IMPACT);
    mt_schedule_free(sch);
  }
  mt_sim_free(s);
}

/*
** Run statistics: n_root counts the events, n_segment the segments of the
** compiled schedule (equal consecutive inputs merge into one, without a
** restart), and every counter is reset by each run. The ping-pong closed
** form holds in every run.
*/
BOTH_BACKENDS(stats, roots_and_segments)
{
  mt_sim *s = new_sim(&pp_model, sv);
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(1, &sch), 0);
  /* 2 -> 7: a change; 7 at 9 s: no change, merged; 3 at 15 s: a change */
  cr_assert_eq(mt_schedule_level(sch, 0, 2.0, 7.0), 0);
  cr_assert_eq(mt_schedule_level(sch, 0, 9.0, 7.0), 0);
  cr_assert_eq(mt_schedule_level(sch, 0, 15.0, 3.0), 0);
  pp_case(sv, s, "three level events", sch, NULL, 0, 3);
  const mt_sim_stats first = *mt_sim_last_stats(s);
  cr_expect_gt(first.n_step, 0, "%s: no steps counted", solver_name(sv));
  cr_expect_gt(first.n_rhs, first.n_step, "%s: %ld rhs calls for %ld steps",
               solver_name(sv), first.n_rhs, first.n_step);
  pp_case(sv, s, "no schedule", NULL, NULL, 0, 1);
  pp_case(sv, s, "three level events again", sch, NULL, 0, 3);
  const mt_sim_stats *again = mt_sim_last_stats(s);
  cr_expect_eq(again->n_step, first.n_step, "%s: %ld steps, first run %ld",
               solver_name(sv), again->n_step, first.n_step);
  cr_expect_eq(again->n_rhs, first.n_rhs, "%s: %ld rhs calls, first run %ld",
               solver_name(sv), again->n_rhs, first.n_rhs);
  mt_schedule_free(sch);
  mt_sim_free(s);
}

/* ---------------------------------------------------------------------- */
/* Clock: x' = 1 from x(0) = 0, so x(t) = t; root functions x - a and      */
/* x - b; on_root counts events in a state and in memory.                  */

#define CLOCK_T_END 4.0

static const mt_var clock_state[] = {
    {"clock", "s", "elapsed time, dclock/dt = 1", 0, 1e3, MT_VAR_NONNEG},
    {"n_event", "1", "events so far (incremented by on_root)", 0, 1e3,
     MT_VAR_NONNEG}};
static const mt_var clock_param[] = {
    {"a", "s", "time at which root function 0 crosses zero", 0, 1e3, 0},
    {"b", "s", "time at which root function 1 crosses zero", 0, 1e3, 0}};
static const mt_var clock_obs[] = {
    {"n_event_mem", "1", "events so far, as counted in memory", 0, 1e3, 0}};
static const char *const clock_mem_doc[] = {"events so far"};

static int clock_rhs(double t, const double *x, const double *p,
                     const double *u, const double *mem, void *ws, double *dx)
{
  (void)t, (void)x, (void)p, (void)u, (void)mem, (void)ws;
  dx[0] = 1;
  dx[1] = 0;
  return 0;
}

static void clock_observe(double t, const double *x, const double *p,
                          const double *mem, double *y)
{
  (void)t, (void)x, (void)p;
  y[0] = mem[0];
}

static void clock_roots(double t, const double *x, const double *p, double *g)
{
  (void)t;
  g[0] = x[0] - p[0];
  g[1] = x[0] - p[1];
}

static void clock_on_root(int which, double t, double *x, double *mem)
{
  rec_event(which, t, x);
  x[1] += 1;
  mem[0] += 1;
}

static const mt_model clock_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_clock_events",
    .doc = "a clock with two threshold events that count themselves",
    .time_unit = "s",
    .reference = "elementary: x(t) = t crosses a at t = a",
    .n_state = 2, .n_param = 2, .n_input = 1, .n_obs = 1, .n_mem = 1,
    .state = clock_state, .param = clock_param, .input = marker_input,
    .obs = clock_obs, .mem_doc = clock_mem_doc,
    .rhs = clock_rhs, .observe = clock_observe,
    .n_root = 2, .roots = clock_roots, .on_root = clock_on_root};

/*
** Two roots close together, both within one step of the growing steps of
** x' = 1: g0 = x - a and g1 = x - b cross at exactly t = a and t = b. Both
** must be found, in time order (whatever their indices), each once. x(t) = t
** is reproduced to roundoff (see check_pp), so the error is the root
** tolerance: 4 u (|t| + |h|) for DOPRI5, 100 u (|t| + |h|) for CVODE, at
** most 2e-13 s with t, h <= 4 s. Tolerance 1e-12 s on the times and on
** x = t at the roots.
*/
BOTH_BACKENDS(close_roots, two_roots_one_step)
{
  check_model(&clock_model);
  static const double ab[][2] = {
      {1.0, 1.001},         {1.0, 1.0 + 1e-6}, {1.0, 1.0 + 1e-9},
      {1.001, 1.0},         {1.0 + 1e-9, 1.0}, {3.0, 3.0 + 0x1p-30},
      {2.5 + 0x1p-30, 2.5}, {0.1, 0.3}};
  const double x0[] = {0, 0};
  mt_sim *s = new_sim(&clock_model, sv);
  for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++) {
    const char *sn = solver_name(sv);
    int first = ab[i][1] < ab[i][0]; /* index of the earlier root */
    mt_series o;
    samples(&o, &clock_model, CLOCK_T_END, 0.5, NULL, 0);
    memset(&rec, 0, sizeof rec);
    int rc = mt_sim_run(s, ab[i], x0, NULL, NULL, 0, CLOCK_T_END, &o);
    cr_expect_eq(rc, 0, "%s: %s", sn, mt_sim_errmsg(s));
    cr_expect_eq(mt_sim_last_stats(s)->n_root, 2, "%s a = %.17g, b = %.17g: "
                 "%ld roots", sn, ab[i][0], ab[i][1],
                 mt_sim_last_stats(s)->n_root);
    cr_expect_eq(rec.n, 2, "%s a = %.17g, b = %.17g: %d events", sn,
                 ab[i][0], ab[i][1], rec.n);
    for (int k = 0; k < 2 && k < rec.n; k++) {
      int r = k == 0 ? first : 1 - first;
      cr_expect_eq(rec.which[k], r, "%s a = %.17g, b = %.17g: event %d is "
                   "root %d, want %d", sn, ab[i][0], ab[i][1], k,
                   rec.which[k], r);
      cr_expect_leq(fabs(rec.t[k] - ab[i][r]), 1e-12, "%s: root %d at %.17g "
                    "s, want %.17g", sn, r, rec.t[k], ab[i][r]);
      cr_expect_leq(fabs(rec.x[k][0] - ab[i][r]), 1e-12, "%s: x = %.17g at "
                    "root %d, want %.17g", sn, rec.x[k][0], r, ab[i][r]);
      cr_expect_eq(rec.x[k][1], (double)k, "%s: event %d saw count %g", sn,
                   k, rec.x[k][1]);
    }
    cr_expect_eq(o.x[(size_t)(o.n - 1) * 2 + 1], 2.0, "%s: count %g at the "
                 "end", sn, o.x[(size_t)(o.n - 1) * 2 + 1]);
    mt_series_clear(&o);
  }
  mt_sim_free(s);
}

/*
** Roots exactly at sample times: a = 1 s and b = 2.5 s, samples every
** 0.25 s, the marker 0 until 2.5 s and 1 from then on, so the second root
** is also at a segment boundary. A sample at an event time is the
** post-event state: the count is (t >= a) + (t >= b), in the state and in
** memory (the observable), exactly; x = t to 1e-12 (see two_roots_one_step);
** the marker is that of the segment starting there; 2 roots, 2 segments.
*/
BOTH_BACKENDS(sample_at_root, post_event_state)
{
  const double p[] = {1.0, 2.5}, x0[] = {0, 0};
  const char *sn = solver_name(sv);
  mt_sim *s = new_sim(&clock_model, sv);
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(1, &sch), 0);
  cr_assert_eq(mt_schedule_level(sch, 0, p[1], 1.0), 0);
  mt_series o;
  samples(&o, &clock_model, CLOCK_T_END, 0.25, NULL, 0);
  memset(&rec, 0, sizeof rec);
  int rc = mt_sim_run(s, p, x0, NULL, sch, 0, CLOCK_T_END, &o);
  cr_assert_eq(rc, 0, "%s: %s", sn, mt_sim_errmsg(s));
  cr_expect_eq(mt_sim_last_stats(s)->n_root, 2, "%s: %ld roots", sn,
               mt_sim_last_stats(s)->n_root);
  cr_expect_eq(mt_sim_last_stats(s)->n_segment, 2, "%s: %ld segments", sn,
               mt_sim_last_stats(s)->n_segment);
  for (int i = 0; i < o.n; i++) {
    double t = o.t[i], want = (t >= p[0]) + (t >= p[1]);
    const double *x = o.x + (size_t)i * 2;
    cr_expect_leq(fabs(x[0] - t), 1e-12, "%s: clock %.17g at %g s", sn, x[0],
                  t);
    cr_expect_eq(x[1], want, "%s: count %g in the state at %g s, want %g",
                 sn, x[1], t, want);
    cr_expect_eq(o.y[i], want, "%s: count %g in memory at %g s, want %g", sn,
                 o.y[i], t, want);
    cr_expect_eq(o.u[i], t >= p[1] ? 1.0 : 0.0, "%s: marker %g at %g s", sn,
                 o.u[i], t);
  }
  mt_series_clear(&o);
  mt_schedule_free(sch);
  mt_sim_free(s);
}
