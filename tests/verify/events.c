/*
** Regression tests for state events (roots) and their interplay with input
** segments, through the public API only, on both backends (DOPRI5 and CVODE
** BDF). The models are test-local ops tables with full metadata; each test
** states its closed-form reference and its tolerance. Every run uses
** rtol = atol = 1e-10.
**
**   ball      a ball dropped onto a floor (elementary kinematics), with a
**             dummy input whose changes split the run into segments at, or
**             a few ulps or picoseconds from, the impacts (a root at a
**             segment boundary used to be lost by DOPRI5), and segments
**             shorter than any step (which used to stop DOPRI5 with "step
**             size underflow"); also low restitution, where the rebound
**             recrosses the floor slowly.
**   pingpong  a particle at constant speed between two elastic walls. The
**             motion is piecewise linear, which both methods reproduce to
**             roundoff, so boundaries can be placed within ulps of the
**             numerical impact on CVODE too.
**   clock     x(t) = t with root functions x - a and x - b: two roots in
**             one step, coincident roots, roots at sample times.
**   timer     the clock with root functions t - a and t - b, zero exactly
**             at a and b: roots exactly at a sample time and a boundary.
*/
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "backends.h"


#define TOL 1e-10 /* rtol = atol of every run */


static mt_sim *new_sim(const mt_model *m, mt_solver sv)
{
  return new_sim_tol(m, sv, TOL, TOL);
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

/* Samples every dt over [0, t_end] (the last exactly at t_end) plus the
** n_extra times in extra, in order (extra times outside [0, t_end] are
** dropped). */
static void samples(mt_series *o, const mt_model *m, double t_end, double dt,
                    const double *extra, int n_extra)
{
  int n_grid = (int)lround(t_end / dt) + 1, n = n_grid;
  cr_assert_eq(mt_series_alloc(o, m, n_grid + n_extra), 0);
  for (int i = 0; i < n_grid; i++)
    o->t[i] = i < n_grid - 1 ? i * dt : t_end;
  for (int i = 0; i < n_extra; i++)
    if (extra[i] >= 0 && extra[i] <= t_end)
      o->t[n++] = extra[i];
  o->n = n;
  qsort(o->t, (size_t)n, sizeof *o->t, cmp_double);
}

/* Failures of one check over many samples: counted, the first described,
** so that a broken run gives one message per check, not one per sample. */
typedef struct tally {
  int n;
  char first[256];
} tally;

static void tally_add(tally *ta, const char *fmt, ...)
{
  if (ta->n++ == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ta->first, sizeof ta->first, fmt, ap);
    va_end(ap);
  }
}

static void tally_expect(const tally *ta, const char *sn, const char *what,
                         const char *check)
{
  cr_expect_eq(ta->n, 0, "%s %s: %d samples fail '%s', the first: %s", sn,
               what, ta->n, check, ta->first);
}

/* ---------------------------------------------------------------------- */
/* Test instrumentation: every on_root call, with the state it was given   */
/* (before the event changes it).                                          */

#define REC_MAX 64

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

/* A piecewise-constant marker: v[i] from t[i] on (t ascending), 0 before
** t[0]. A sample reports the input in force from its time on, at t_end
** too (sim.h). */
typedef struct marker {
  int n;
  double t[8], v[8];
} marker;

static double marker_at(const marker *mk, double t)
{
  double v = 0;
  for (int i = 0; i < mk->n; i++)
    if (t >= mk->t[i])
      v = mk->v[i];
  return v;
}

/* The schedule of a marker: a level change at each t[i]. */
static mt_schedule *schedule_of(const marker *mk)
{
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(1, &sch), 0);
  for (int i = 0; i < mk->n; i++)
    cr_assert_eq(mt_schedule_level(sch, 0, mk->t[i], mk->v[i]), 0);
  return sch;
}

/* Every sample's marker is the scheduled one, exactly. */
static void check_marker(const char *sn, const char *what, const mt_series *o,
                         const marker *mk)
{
  tally mark = {0};
  for (int i = 0; i < o->n; i++)
    if (o->u[i] != marker_at(mk, o->t[i]))
      tally_add(&mark, "%g at %.17g s, want %g", o->u[i], o->t[i],
                marker_at(mk, o->t[i]));
  tally_expect(&mark, sn, what, "marker as scheduled");
}

/* ---------------------------------------------------------------------- */
/* Bouncing ball: h'' = -g, v -> -e v when h crosses zero.                 */

#define BALL_G 9.81  /* m/s2 */
#define BALL_H0 10.0 /* m, dropped from rest */
#define BALL_E 0.9   /* restitution of the segment tests */
#define BALL_T_END 6.0

static const mt_var ball_state[] = {
    {"h", "m", "height above the floor", 0, 100, MT_VAR_NONNEG},
    {"v", "m/s", "upward velocity", -100, 100, 0}};
static const mt_var ball_param[] = {
    {"g", "m/s2", "gravitational acceleration", 0, 30, 0},
    {"e", "1", "coefficient of restitution", 0, 1, 0}};
static const mt_var ball_obs[] = {
    {"height", "m", "height above the floor", 0, 100, 0},
    {"n_impact", "1", "number of impacts so far", 0, 1e6, 0}};
static const char *const ball_mem_doc[] = {"number of impacts so far",
                                           "coefficient of restitution"};

static int ball_rhs(double t, const double *x, const double *p,
                    const double *u, const double *mem, void *ws, double *dx)
{
  (void)t, (void)u, (void)mem, (void)ws;
  dx[0] = x[1];
  dx[1] = -p[0]; /* g */
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

/* on_root sees no parameters: the restitution is passed in mem[1]. */
static void ball_on_root(int which, double t, double *x, double *mem)
{
  rec_event(which, t, x);
  x[1] = -mem[1] * x[1];
  mem[0] += 1;
}

/* An impact is the height crossing zero downwards; the rebound's upward
** crossing (after an impact placed a hair below the floor) is not one. */
static const int ball_dir[] = {-1};

static const mt_model ball_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_ball_segments",
    .doc = "point mass falling under gravity onto a floor, with an input "
           "that only splits the run into segments",
    .time_unit = "s",
    .reference = "elementary kinematics",
    .n_state = 2, .n_param = 2, .n_input = 1, .n_obs = 2, .n_mem = 2,
    .state = ball_state, .param = ball_param, .input = marker_input,
    .obs = ball_obs, .mem_doc = ball_mem_doc,
    .rhs = ball_rhs, .observe = ball_observe,
    .n_root = 1, .roots = ball_roots, .on_root = ball_on_root,
    .root_dir = ball_dir};

/*
** Closed form. Dropped from rest at h0: the first impact is at
** t1 = sqrt(2 h0 / g) at speed g t1; the k-th rebound leaves at e^k g t1
** and flies for 2 e^k t1. With e = 0.9 the second impact is at t2 = 2.8 t1
** (4.00 s) and the third at 4.42 t1 (6.31 s), after a 6 s run.
*/
static double ball_t1(void) { return sqrt(2 * BALL_H0 / BALL_G); }

/* Time of impact k = 0, 1, ... and the speed just before it. */
static double ball_impact(double e, int k, double *speed)
{
  double t1 = ball_t1(), t = t1, w = 1;
  for (int i = 0; i < k; i++) {
    w *= e;
    t += 2 * w * t1;
  }
  *speed = w * BALL_G * t1;
  return t;
}

static double ball_height(double e, double t)
{
  double g = BALL_G, tk = ball_t1(), vk = e * g * tk;
  if (t < tk)
    return BALL_H0 - 0.5 * g * t * t;
  while (t >= tk + 2 * vk / g) {
    tk += 2 * vk / g;
    vk *= e;
  }
  return vk * (t - tk) - 0.5 * g * (t - tk) * (t - tk);
}

/*
** Checks of a ball run with restitution e, at rtol = atol = 1e-10 (the
** tolerances of the bouncing-ball test in analytic.c): n_impact impacts at
** their closed-form times to 1e-7 s, the height there within 1e-9 m of 0
** and the speed to 1e-7 m/s; n_root = n_impact and n_segment as given.
*/
static void check_ball_events(mt_solver sv, const char *what, mt_sim *s,
                              double e, int n_impact, long n_segment)
{
  const char *sn = solver_name(sv);
  const mt_sim_stats *st = mt_sim_last_stats(s);
  cr_expect_eq(st->n_root, n_impact, "%s %s: %ld roots, want %d", sn, what,
               st->n_root, n_impact);
  cr_expect_eq(st->n_segment, n_segment, "%s %s: %ld segments, want %ld", sn,
               what, st->n_segment, n_segment);
  cr_expect_eq(rec.n, n_impact, "%s %s: on_root called %d times, want %d",
               sn, what, rec.n, n_impact);
  for (int k = 0; k < rec.n && k < n_impact; k++) {
    double v, t = ball_impact(e, k, &v);
    cr_expect_leq(fabs(rec.t[k] - t), 1e-7, "%s %s: impact %d at %.15f s, "
                  "want %.15f", sn, what, k + 1, rec.t[k], t);
    cr_expect_leq(fabs(rec.x[k][0]), 1e-9, "%s %s: impact %d at height "
                  "%.3g m", sn, what, k + 1, rec.x[k][0]);
    cr_expect_leq(fabs(rec.x[k][1] + v), 1e-7, "%s %s: impact %d at %.12f "
                  "m/s, want %.12f", sn, what, k + 1, rec.x[k][1], -v);
  }
}

/* Every sample within 1e-7 m of the closed form and never below -1e-9 m
** (no tunnelling, no impact found twice); the marker as scheduled. */
static void check_ball_samples(mt_solver sv, const char *what,
                               const mt_series *o, double e,
                               const marker *mk)
{
  tally below = {0}, off = {0};
  for (int i = 0; i < o->n; i++) {
    double t = o->t[i], h = o->x[(size_t)i * 2], want = ball_height(e, t);
    if (!(h >= -1e-9))
      tally_add(&below, "%.3g m at %.17g s", h, t);
    if (!(fabs(h - want) <= 1e-7))
      tally_add(&off, "%.12f m at %.17g s, want %.12f", h, t, want);
  }
  tally_expect(&below, solver_name(sv), what, "height >= -1e-9 m");
  tally_expect(&off, solver_name(sv), what, "height to 1e-7 m");
  check_marker(solver_name(sv), what, o, mk);
}

/* Sample times at each change of mk and halfway to the next change (or
** to t_end), so that even a segment a few ulps wide holds one sample
** strictly inside when it can. Returns the count, at most 16. */
static int marker_samples(const marker *mk, double t_end, double *ts)
{
  int n = 0;
  for (int i = 0; i < mk->n; i++) {
    double next = i + 1 < mk->n ? mk->t[i + 1] : t_end;
    ts[n++] = mk->t[i];
    ts[n++] = mk->t[i] + (next - mk->t[i]) / 2;
  }
  return n;
}

/* Run the ball (e = 0.9) over [0, 6] s with the marker mk, sampled every
** 0.01 s and by marker_samples, and check it (two impacts). */
static void ball_marker_case(mt_solver sv, mt_sim *s, const char *what,
                             const marker *mk, long n_segment)
{
  const double p[] = {BALL_G, BALL_E}, x0[] = {BALL_H0, 0.0},
               mem0[] = {0, BALL_E};
  mt_schedule *sch = schedule_of(mk);
  double ts[16];
  mt_series o;
  samples(&o, &ball_model, BALL_T_END, 0.01, ts,
          marker_samples(mk, BALL_T_END, ts));
  memset(&rec, 0, sizeof rec);
  int rc = mt_sim_run(s, p, x0, mem0, sch, 0, BALL_T_END, &o);
  cr_expect_eq(rc, 0, "%s %s: %s", solver_name(sv), what, mt_sim_errmsg(s));
  if (rc == 0) {
    check_ball_events(sv, what, s, BALL_E, 2, n_segment);
    check_ball_samples(sv, what, &o, BALL_E, mk);
  }
  mt_series_clear(&o);
  mt_schedule_free(sch);
}

/* The marker pulsed to 1 over [b0, b1): three segments, or two when the
** pulse starts at 0 or ends at the end of the run. */
static void ball_pulse_case(mt_solver sv, mt_sim *s, const char *what,
                            double b0, double b1)
{
  marker mk = {2, {b0, b1}, {1, 0}};
  long n_segment = 1 + (b0 > 0) + (b1 < BALL_T_END);
  ball_marker_case(sv, s, what, &mk, n_segment);
}

/*
** Regression: a root whose sign change falls at, or within a few ulps of,
** a segment boundary was silently lost by DOPRI5 (the ball fell through
** the floor). The marker is pulsed over [t1 + off, t2 + off), t1 and t2
** the closed-form impact times: boundaries just before, at and just after
** each impact (the ulp of t1 = 1.43 s is 2.2e-16 s, of t2 = 4.0 s
** 8.9e-16 s). Every impact must be found: see check_ball_events and
** check_ball_samples.
*/
BOTH_BACKENDS(boundary, ball_root_at_boundary)
{
  check_model(&ball_model);
  static const double offs[] = {0,     -1e-15, 1e-15, 4e-16,  -4e-16, 1e-14,
                                -1e-14, 1e-12, -1e-12, 1e-9, -1e-9};
  double v, t1 = ball_impact(BALL_E, 0, &v), t2 = ball_impact(BALL_E, 1, &v);
  mt_sim *s = new_sim(&ball_model, sv);
  for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "pulse at impacts %+g s", offs[i]);
    ball_pulse_case(sv, s, what, t1 + offs[i], t2 + offs[i]);
  }
  mt_sim_free(s);
}

/*
** Regression: a segment shorter than a step could take made DOPRI5 fail
** with "step size underflow". The marker is pulsed over [2, 2 + k ulps)
** (ulp(2) = 4.4e-16 s), between the impacts, for k from 1 (the segment
** [2, nextafter(2, 3))) to well past the backends' "too short to start"
** thresholds (8 u max(1, |t|) for DOPRI5, 16 u |t| for CVODE). The state
** is carried across, so the closed form holds unchanged.
*/
BOTH_BACKENDS(tiny, ball_short_segment)
{
  static const int ks[] = {1,  2,  3,  4,  7,  8,  9,    15,
                           16, 17, 31, 32, 33, 64, 1000, 100000};
  mt_sim *s = new_sim(&ball_model, sv);
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "pulse over [2, 2 + %d ulps)", ks[i]);
    ball_pulse_case(sv, s, what, 2.0, ulps(2.0, ks[i]));
  }
  mt_sim_free(s);
}

/*
** Short segments at the very start and the very end of the run: the
** marker over [0, d) for d from one denormal (nextafter(0, 1)) to 1e-17 s,
** and over [6 - 1 ulp, 6). Each run has two segments; the closed form
** holds unchanged.
*/
BOTH_BACKENDS(tiny, ball_short_segment_at_ends)
{
  static const double ds[] = {4.9406564584124654e-324, 1e-310, 1e-300,
                              1e-200, 1e-100, 1e-30, 1e-17};
  mt_sim *s = new_sim(&ball_model, sv);
  for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "pulse over [0, %g s)", ds[i]);
    ball_pulse_case(sv, s, what, 0.0, ds[i]);
  }
  ball_pulse_case(sv, s, "pulse over [6 s - 1 ulp, 6 s)", ulps(BALL_T_END, -1),
                  BALL_T_END);
  mt_sim_free(s);
}

/*
** Regression: a root found a hair (~1e-15 s) before the end of a segment
** leaves a remainder of the segment shorter than a step. The marker is
** pulsed over [t1 + d, t1 + d + 1 s) for d of 1 to 8 ulps of t1 and of
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
    ball_pulse_case(sv, s, what, b0, b0 + 1.0);
  }
  ball_pulse_case(sv, s, "impact 1e-15 s before a boundary", t1 + 1e-15,
                  t1 + 1.0 + 1e-15);
  mt_sim_free(s);
}

/*
** Low restitution: on_root reverses the ball at e times its speed, so when
** the impact is placed a little below the floor (within the root
** tolerance), the rebound recrosses zero after that overshoot divided by
** e g t1. That recrossing is upward, so the model's root direction (-1,
** impacts only) keeps it from being taken for a second impact.
** Run from the drop to the apex of the first rebound, t1 (1 + e), sampled
** 200 times and at t1 + e t1 {1e-6, 1e-3, 0.1}: one impact, and
** check_ball_events and check_ball_samples hold (the apex is e^2 h0 high,
** 1e-7 m for e = 1e-4, so the bound -1e-9 m also catches a ball sent back
** down).
*/
BOTH_BACKENDS(rebound, low_restitution)
{
  static const double es[] = {0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 1e-3, 1e-4};
  mt_sim *s = new_sim(&ball_model, sv);
  marker none = {0, {0}, {0}};
  for (size_t i = 0; i < sizeof es / sizeof es[0]; i++) {
    double e = es[i], t1 = ball_t1(), t_end = t1 * (1 + e);
    const double p[] = {BALL_G, e}, x0[] = {BALL_H0, 0}, mem0[] = {0, e},
                 extra[] = {t1 + e * t1 * 1e-6, t1 + e * t1 * 1e-3,
                            t1 + e * t1 * 0.1};
    char what[64];
    snprintf(what, sizeof what, "restitution %g", e);
    mt_series o;
    samples(&o, &ball_model, t_end, t_end / 200, extra, 3);
    memset(&rec, 0, sizeof rec);
    int rc = mt_sim_run(s, p, x0, mem0, NULL, 0, t_end, &o);
    cr_expect_eq(rc, 0, "%s %s: %s", solver_name(sv), what, mt_sim_errmsg(s));
    if (rc == 0) {
      check_ball_events(sv, what, s, e, 1, 1);
      check_ball_samples(sv, what, &o, e, &none);
    }
    mt_series_clear(&o);
  }
  mt_sim_free(s);
}

/*
** Run statistics: n_root counts the events, n_segment the segments of the
** compiled schedule (a level change to the value already in force merges,
** without a restart), and every counter is reset by each run: the same run
** repeated gives the same counts. The ball's closed form holds throughout.
*/
BOTH_BACKENDS(stats, roots_and_segments)
{
  mt_sim *s = new_sim(&ball_model, sv);
  /* 0 -> 2 at 1 s: a change; 2 at 2 s: none, merged; 5 at 3 s: a change */
  marker levels = {3, {1.0, 2.0, 3.0}, {2.0, 2.0, 5.0}};
  marker none = {0, {0}, {0}};
  ball_marker_case(sv, s, "three level events", &levels, 3);
  const mt_sim_stats first = *mt_sim_last_stats(s);
  cr_expect_gt(first.n_step, 0, "%s: no steps counted", solver_name(sv));
  cr_expect_gt(first.n_rhs, first.n_step, "%s: %ld rhs calls for %ld steps",
               solver_name(sv), first.n_rhs, first.n_step);
  ball_marker_case(sv, s, "no level events", &none, 1);
  ball_marker_case(sv, s, "three level events again", &levels, 3);
  const mt_sim_stats *again = mt_sim_last_stats(s);
  cr_expect_eq(again->n_step, first.n_step, "%s: %ld steps, first run %ld",
               solver_name(sv), again->n_step, first.n_step);
  cr_expect_eq(again->n_rhs, first.n_rhs, "%s: %ld rhs calls, first run %ld",
               solver_name(sv), again->n_rhs, first.n_rhs);
  cr_expect_eq(again->n_reject, first.n_reject, "%s: %ld rejected steps, "
               "first run %ld", solver_name(sv), again->n_reject,
               first.n_reject);
  mt_sim_free(s);
}

/* ---------------------------------------------------------------------- */
/* Ping-pong: x' = v, v' = 0 between elastic walls at x = 0 and x = 1.     */

#define PP_L 1.0
#define PP_T_END 8.0

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
  x[1] = -x[1];
}

static const mt_model pp_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_pingpong",
    .doc = "particle at constant speed between two elastic walls",
    .time_unit = "s",
    .reference = "elementary kinematics: piecewise-linear motion",
    .n_state = 2, .n_input = 1, .n_obs = 1,
    .state = pp_state, .input = marker_input, .obs = pp_obs,
    .rhs = pp_rhs, .observe = pp_observe,
    .n_root = 2, .roots = pp_roots, .on_root = pp_on_root};

/*
** Closed form from x(0) = 0.5 m, v(0) = -0.5 m/s: the floor at 1 s, the
** ceiling at 3 s, the floor at 5 s and the ceiling at 7 s, always at
** 0.5 m/s. Every number is a binary fraction, so the times are exact.
*/
static const struct {
  double t, x, v;
  int wall; /* root function that ends the leg before this one */
} pp_legs[] = {{0, 0.5, -0.5, -1}, {1, 0, 0.5, 0}, {3, PP_L, -0.5, 1},
               {5, 0, 0.5, 0},     {7, PP_L, -0.5, 1}};
#define PP_N_IMPACT 4

static double pp_position(double t)
{
  int k = PP_N_IMPACT;
  while (k > 0 && t < pp_legs[k].t)
    k--;
  return pp_legs[k].x + pp_legs[k].v * (t - pp_legs[k].t);
}

/*
** Checks of a ping-pong run. Linear motion is reproduced to roundoff by
** both methods (DOPRI5 is exact for polynomials up to degree 5, BDF for
** those up to its order, and the Newton iteration on a linear rhs is
** exact to its convergence test), so the error is where a root is placed:
** within 4 u (|t| + |h|) by DOPRI5's bracketing and 100 u (|t| + |h|) by
** CVODE, under 3e-13 s here (t + h < 12 s), plus CVODE's state error,
** which measured 5e-14 m. Tolerance: impact times 1e-11 s, positions
** 1e-11 m, never outside the walls by more than 1e-11 m, speed exact to
** 1e-12 m/s; n_root = 4, n_segment as given.
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
  tally out = {0}, off = {0};
  for (int i = 0; i < o->n; i++) {
    double t = o->t[i], x = o->x[(size_t)i * 2], want = pp_position(t);
    if (!(x >= -1e-11 && x <= PP_L + 1e-11))
      tally_add(&out, "x = %.3g m at %.17g s", x, t);
    if (!(fabs(x - want) <= 1e-11))
      tally_add(&off, "x = %.17g m at %.17g s, want %.17g", x, t, want);
  }
  tally_expect(&out, sn, what, "between the walls to 1e-11 m");
  tally_expect(&off, sn, what, "position to 1e-11 m");
}

/* Run the ping-pong over [0, 8] s with the marker mk, sampled every
** 0.05 s and by marker_samples, and check it and the marker. */
static void pp_case(mt_solver sv, mt_sim *s, const char *what,
                    const marker *mk, long n_segment)
{
  const double no_param[1] = {0}, x0[] = {pp_legs[0].x, pp_legs[0].v};
  mt_schedule *sch = schedule_of(mk);
  double ts[16];
  mt_series o;
  samples(&o, &pp_model, PP_T_END, 0.05, ts,
          marker_samples(mk, PP_T_END, ts));
  memset(&rec, 0, sizeof rec);
  int rc = mt_sim_run(s, no_param, x0, NULL, sch, 0, PP_T_END, &o);
  cr_expect_eq(rc, 0, "%s %s: %s", solver_name(sv), what, mt_sim_errmsg(s));
  if (rc == 0) {
    check_pp(sv, what, s, &o, n_segment);
    check_marker(solver_name(sv), what, &o, mk);
  }
  mt_series_clear(&o);
  mt_schedule_free(sch);
}

/* The marker steps up at each impact time moved by k ulps plus d seconds:
** four boundaries within roundoff of four roots. Five segments. */
static void pp_boundaries_case(mt_solver sv, mt_sim *s, int k, double d)
{
  char what[80];
  snprintf(what, sizeof what, "boundaries at impacts %+d ulps %+g s", k, d);
  marker mk = {PP_N_IMPACT, {0}, {0}};
  for (int i = 0; i < PP_N_IMPACT; i++) {
    mk.t[i] = ulps(pp_legs[i + 1].t, k) + d;
    mk.v[i] = i + 1.0;
  }
  pp_case(sv, s, what, &mk, PP_N_IMPACT + 1);
}

/*
** Boundaries at each impact moved by 0 to 1000 ulps either way, and by
** 1e-15 to 1e-12 s, where both backends place the impact within roundoff
** of the exact time: every impact is found once, see check_pp.
*/
BOTH_BACKENDS(boundary, pingpong_root_at_boundary)
{
  check_model(&pp_model);
  static const int ks[] = {0,  1,  -1, 2,  -2,  3,   -3,   4,    -4,
                           8,  -8, 16, -16, 64, -64, 1000, -1000};
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
** integrate, and must still be found. Nine segments; see check_pp.
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
    marker mk = {2 * PP_N_IMPACT, {0}, {0}};
    for (int k = 0; k < PP_N_IMPACT; k++) {
      mk.t[2 * k] = ulps(pp_legs[k + 1].t, -lohi[i][0]);
      mk.t[2 * k + 1] = ulps(pp_legs[k + 1].t, lohi[i][1]);
      mk.v[2 * k] = 1.0;
    }
    pp_case(sv, s, what, &mk, 1 + 2 * PP_N_IMPACT);
  }
  mt_sim_free(s);
}

/* ---------------------------------------------------------------------- */
/* Clock: x' = 1 from x(0) = 0, so x(t) = t; two root functions; on_root   */
/* counts events in a state and in memory.                                 */

#define CLOCK_T_END 4.0
/* Guard: past this many events the rhs fails fatally, so that a run whose
** events never stop ends with an error instead of hanging the test. */
#define CLOCK_MAX_EVENTS 50

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
  (void)t, (void)p, (void)u, (void)mem, (void)ws;
  if (x[1] > CLOCK_MAX_EVENTS)
    return -1;
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

static void timer_roots(double t, const double *x, const double *p, double *g)
{
  (void)x;
  g[0] = t - p[0];
  g[1] = t - p[1];
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
    .doc = "a clock with two threshold events on its state that count "
           "themselves",
    .time_unit = "s",
    .reference = "elementary: x(t) = t crosses a at t = a",
    .n_state = 2, .n_param = 2, .n_input = 1, .n_obs = 1, .n_mem = 1,
    .state = clock_state, .param = clock_param, .input = marker_input,
    .obs = clock_obs, .mem_doc = clock_mem_doc,
    .rhs = clock_rhs, .observe = clock_observe,
    .n_root = 2, .roots = clock_roots, .on_root = clock_on_root};

static const mt_model timer_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_timer_events",
    .doc = "a clock with two events at given times that count themselves",
    .time_unit = "s",
    .reference = "elementary: t - a is zero at t = a",
    .n_state = 2, .n_param = 2, .n_input = 1, .n_obs = 1, .n_mem = 1,
    .state = clock_state, .param = clock_param, .input = marker_input,
    .obs = clock_obs, .mem_doc = clock_mem_doc,
    .rhs = clock_rhs, .observe = clock_observe,
    .n_root = 2, .roots = timer_roots, .on_root = clock_on_root};

/* Run m with parameters (a, b) over [0, 4] s under sch, samples every dt
** plus extra; returns the run's code. */
static int clock_run(mt_sim *s, const mt_model *m, const double *ab,
                     const mt_schedule *sch, double dt, const double *extra,
                     int n_extra, mt_series *o)
{
  const double x0[] = {0, 0};
  samples(o, m, CLOCK_T_END, dt, extra, n_extra);
  memset(&rec, 0, sizeof rec);
  return mt_sim_run(s, ab, x0, NULL, sch, 0, CLOCK_T_END, o);
}

/*
** Checks that the run found the roots of (a, b) each once, in time order
** (ties in index order), at the exact times to 1e-12 s, with x = t there
** to 1e-12 and the count seen by on_root increasing by one each time.
** x(t) = t is reproduced to roundoff (see check_pp), so the error is the
** root tolerance: 4 u (|t| + |h|) for DOPRI5, 100 u (|t| + |h|) for CVODE,
** at most 2e-13 s with t, h <= 4 s.
*/
static void check_two_roots(mt_solver sv, mt_sim *s, const double *ab, int rc)
{
  const char *sn = solver_name(sv);
  int first = ab[1] < ab[0]; /* index of the earlier root */
  cr_expect_eq(rc, 0, "%s a = %.17g, b = %.17g: %s", sn, ab[0], ab[1],
               mt_sim_errmsg(s));
  cr_expect_eq(mt_sim_last_stats(s)->n_root, 2, "%s a = %.17g, b = %.17g: "
               "%ld roots", sn, ab[0], ab[1], mt_sim_last_stats(s)->n_root);
  cr_expect_eq(rec.n, 2, "%s a = %.17g, b = %.17g: %d events", sn, ab[0],
               ab[1], rec.n);
  for (int k = 0; k < 2 && k < rec.n; k++) {
    int r = k == 0 ? first : 1 - first;
    cr_expect_eq(rec.which[k], r, "%s a = %.17g, b = %.17g: event %d is "
                 "root %d, want %d", sn, ab[0], ab[1], k, rec.which[k], r);
    cr_expect_leq(fabs(rec.t[k] - ab[r]), 1e-12, "%s: root %d at %.17g s, "
                  "want %.17g", sn, r, rec.t[k], ab[r]);
    cr_expect_leq(fabs(rec.x[k][0] - ab[r]), 1e-12, "%s: x = %.17g at root "
                  "%d, want %.17g", sn, rec.x[k][0], r, ab[r]);
    cr_expect_eq(rec.x[k][1], (double)k, "%s: event %d saw count %g", sn, k,
                 rec.x[k][1]);
  }
}

/*
** Two roots close together: g0 = x - a and g1 = x - b cross at exactly
** t = a and t = b, within one step of the fast-growing steps of x' = 1
** (DOPRI5 steps from 0.111 s to 1.111 s over a = 1, b = 1.001). Both are
** found, in time order whatever their indices; check_two_roots.
*/
BOTH_BACKENDS(close_roots, two_roots_one_step)
{
  check_model(&clock_model);
  static const double ab[][2] = {
      {1.0, 1.001},         {1.0, 1.0 + 1e-6}, {1.0, 1.0 + 1e-9},
      {1.001, 1.0},         {1.0 + 1e-9, 1.0}, {3.0, 3.0 + 0x1p-30},
      {2.5 + 0x1p-30, 2.5}, {0.1, 0.3}};
  mt_sim *s = new_sim(&clock_model, sv);
  for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++) {
    mt_series o;
    int rc = clock_run(s, &clock_model, ab[i], NULL, 0.5, NULL, 0, &o);
    check_two_roots(sv, s, ab[i], rc);
    cr_expect_eq(o.x[(size_t)(o.n - 1) * 2 + 1], 2.0, "%s: count %g at the "
                 "end", solver_name(sv), o.x[(size_t)(o.n - 1) * 2 + 1]);
    mt_series_clear(&o);
  }
  mt_sim_free(s);
}

/*
** Two distinct root functions that cross at the same time (a = b), or
** closer than the root tolerance (1 ulp, 1e-14 s, 1e-13 s apart): two
** events, each once, in index order for a tie, and the run ends (the
** clock's guard turns a run whose events never stop into an error).
** check_two_roots.
*/
BOTH_BACKENDS(close_roots, coincident_roots)
{
  static const double ab[][2] = {{1.0, 1.0},
                                 {1.0, 1.0 + 0x1p-52},
                                 {1.0 + 0x1p-52, 1.0},
                                 {1.0, 1.0 + 1e-14},
                                 {1.0, 1.0 + 1e-13},
                                 {2.5, 2.5}};
  mt_sim *s = new_sim(&clock_model, sv);
  for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++) {
    mt_series o;
    int rc = clock_run(s, &clock_model, ab[i], NULL, 0.5, NULL, 0, &o);
    check_two_roots(sv, s, ab[i], rc);
    mt_series_clear(&o);
  }
  mt_sim_free(s);
}

/*
** Roots exactly at sample times: the timer's g = t - a is zero exactly at
** a = 1 s and b = 2.5 s, samples every 0.25 s, and the marker steps from 0
** to 1 at 2.5 s, so the second root is also at a segment boundary. A
** sample at an event time is the state after it (sim.h): the count is
** (t >= a) + (t >= b), in the state and in memory (the observable),
** exactly; x = t to 1e-12 s (see check_two_roots); the marker as
** scheduled; 2 roots, 2 segments. Both backends place a root of t - a
** exactly (the secant step on a g linear in t lands on it).
*/
BOTH_BACKENDS(sample_at_root, post_event_state)
{
  check_model(&timer_model);
  const double ab[] = {1.0, 2.5};
  const char *sn = solver_name(sv);
  mt_sim *s = new_sim(&timer_model, sv);
  marker mk = {1, {ab[1]}, {1.0}};
  mt_schedule *sch = schedule_of(&mk);
  mt_series o;
  int rc = clock_run(s, &timer_model, ab, sch, 0.25, NULL, 0, &o);
  cr_assert_eq(rc, 0, "%s: %s", sn, mt_sim_errmsg(s));
  check_two_roots(sv, s, ab, rc);
  cr_expect_eq(mt_sim_last_stats(s)->n_segment, 2, "%s: %ld segments", sn,
               mt_sim_last_stats(s)->n_segment);
  tally clock = {0}, state = {0}, mem = {0};
  for (int i = 0; i < o.n; i++) {
    double t = o.t[i], want = (t >= ab[0]) + (t >= ab[1]);
    const double *x = o.x + (size_t)i * 2;
    if (!(fabs(x[0] - t) <= 1e-12))
      tally_add(&clock, "%.17g at %g s", x[0], t);
    if (x[1] != want)
      tally_add(&state, "%g at %g s, want %g", x[1], t, want);
    if (o.y[i] != want)
      tally_add(&mem, "%g at %g s, want %g", o.y[i], t, want);
  }
  tally_expect(&clock, sn, "timer", "clock = t to 1e-12 s");
  tally_expect(&state, sn, "timer", "post-event count in the state");
  tally_expect(&mem, sn, "timer", "post-event count in memory");
  check_marker(sn, "timer", &o, &mk);
  mt_series_clear(&o);
  mt_schedule_free(sch);
  mt_sim_free(s);
}

/*
** The same for roots of the clock's state (a = 1.2 s, b = 2.7 s),
** wherever the backend places them: each run is sampled also at the event
** times of the run before and one ulp either side, until a run places its
** events at the times it samples or six runs have been made (DOPRI5's
** steps do not see the sample times, so its second run hits them; CVODE
** splits its root search at each sample time, which may move a root
** within its tolerance). In the last run the samples show the count k
** before the k-th event and k + 1 from its time on, in the state and in
** memory, exactly.
*/
BOTH_BACKENDS(sample_at_root, located_root_time)
{
  const double ab[] = {1.2, 2.7};
  const char *sn = solver_name(sv);
  mt_sim *s = new_sim(&clock_model, sv);
  mt_series o;
  int rc = clock_run(s, &clock_model, ab, NULL, 0.5, NULL, 0, &o);
  double tr[2] = {rec.t[0], rec.t[1]}, extra[6];
  int hit = 0;
  for (int run = 0; run < 6 && !rc && rec.n == 2 && !hit; run++) {
    mt_series_clear(&o);
    for (int k = 0; k < 6; k++)
      extra[k] = ulps(tr[k / 3], k % 3 - 1);
    rc = clock_run(s, &clock_model, ab, NULL, 0.5, extra, 6, &o);
    hit = rec.n == 2 && rec.t[0] == tr[0] && rec.t[1] == tr[1];
    tr[0] = rec.t[0], tr[1] = rec.t[1];
  }
  cr_assert_eq(rc, 0, "%s: %s", sn, mt_sim_errmsg(s));
  cr_assert_eq(rec.n, 2, "%s: %d events", sn, rec.n);
  cr_expect(hit || sv == MT_SOLVER_CVODE, "%s: the events moved with the "
            "sample times", sn);
  tally state = {0}, mem = {0};
  for (int i = 0; i < o.n; i++) {
    double t = o.t[i], want = (t >= tr[0]) + (t >= tr[1]);
    if (o.x[(size_t)i * 2 + 1] != want)
      tally_add(&state, "%g at %.17g s, want %g", o.x[(size_t)i * 2 + 1], t,
                want);
    if (o.y[i] != want)
      tally_add(&mem, "%g at %.17g s, want %g", o.y[i], t, want);
  }
  tally_expect(&state, sn, "clock", "count in the state");
  tally_expect(&mem, sn, "clock", "count in memory");
  mt_series_clear(&o);
  mt_sim_free(s);
}

/*
** A new run forgets the previous run's last event. Run 1 of the timer
** (g0 = t - a, exact in t) with a = 1 s = t_end ends exactly at its event.
** Run 2 starts there with a = 1 + 1 ulp, so g0 crosses zero 2.2e-16 s after
** the start: inside the window in which a continuing run ignores the
** function that just fired, but a new run must find it. One event each; the
** second within CVODE's root tolerance, 100 u (|t| + |h|) < 1e-12 s, of 1.
*/
BOTH_BACKENDS(sample_at_root, new_run_forgets_last_event)
{
  mt_sim *s = new_sim(&timer_model, sv);
  const double p1[] = {1.0, 100.0}, p2[] = {nextafter(1.0, 2.0), 100.0};
  const double x0[] = {0, 0}, mem0[] = {0};
  mt_series o;
  cr_assert_eq(mt_series_alloc(&o, &timer_model, 2), 0);
  o.t[0] = 0, o.t[1] = 1;
  memset(&rec, 0, sizeof rec);
  cr_assert_eq(mt_sim_run(s, p1, x0, mem0, NULL, 0, 1, &o), 0, "%s",
               mt_sim_errmsg(s));
  cr_expect_eq(mt_sim_last_stats(s)->n_root, 1, "%s run 1: %ld events",
               solver_name(sv), mt_sim_last_stats(s)->n_root);
  o.t[0] = 1, o.t[1] = 2;
  memset(&rec, 0, sizeof rec);
  cr_assert_eq(mt_sim_run(s, p2, x0, mem0, NULL, 1, 2, &o), 0, "%s",
               mt_sim_errmsg(s));
  cr_expect_eq(mt_sim_last_stats(s)->n_root, 1, "%s run 2: %ld events",
               solver_name(sv), mt_sim_last_stats(s)->n_root);
  cr_expect(rec.n == 1 && fabs(rec.t[0] - 1.0) <= 1e-12, "%s run 2: event "
            "at %.17g s", solver_name(sv), rec.n ? rec.t[0] : NAN);
  mt_series_clear(&o);
  mt_sim_free(s);
}
