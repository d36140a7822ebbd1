/*
** Verification of the simulation engine against closed-form solutions,
** through the public API only, with both backends (DOPRI5 and CVODE BDF).
** Each test names the source of its reference values and its tolerance;
** the models are small test-local ops tables with full metadata.
**
**   decay     dx/dt = -k x, x(t) = x0 exp(-k t) (elementary).
**   oral      one-compartment model with first-order absorption: the
**             Bateman function (H. Bateman, Proc. Cambridge Philos. Soc.
**             15:423-427, 1910; in pharmacokinetics M. Gibaldi and
**             D. Perrier, Pharmacokinetics, 2nd ed., Marcel Dekker, 1982,
**             ch. 1, one-compartment model, first-order absorption) and
**             reference values given in the issue.
**   infusion  the same model with a zero-order infusion as a scheduled
**             input; closed form by the integrating factor (below).
**   bounce    a ball bouncing with restitution 0.9: a state event.
**   retry     an rhs that refuses non-physical states (> 0), checked on a
**             particle reflected by a steep wall (closed form below), and
**             an rhs that fails (< 0).
*/
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "backends.h"




/* Series of n samples at t0 + i * dt. */
static void grid(mt_series *o, const mt_model *m, int n, double t0, double dt)
{
  cr_assert_eq(mt_series_alloc(o, m, n), 0);
  for (int i = 0; i < n; i++)
    o->t[i] = t0 + i * dt;
}

static double rel_err(double got, double want)
{
  return fabs(got - want) / fabs(want);
}

/* ---------------------------------------------------------------------- */
/* Exponential decay: dA/dt = -k A.                                        */

static const mt_var decay_state[] = {
    {"A", "mg", "amount of drug in the body", 0, 1e4, MT_VAR_NONNEG}};
static const mt_var decay_param[] = {
    {"k", "/min", "first-order elimination rate constant", 0, 10,
     MT_VAR_ESTIMABLE}};
static const mt_var decay_obs[] = {
    {"A_obs", "mg", "amount of drug in the body", 0, 1e4, 0}};

static int decay_rhs(double t, const double *x, const double *p,
                     const double *u, const double *mem, void *ws,
                     double *dx)
{
  (void)t, (void)u, (void)mem, (void)ws;
  dx[0] = -p[0] * x[0];
  return 0;
}

static void observe_first_state(double t, const double *x, const double *p,
                          const double *mem, double *y)
{
  (void)t, (void)p, (void)mem;
  y[0] = x[0];
}

static const mt_model decay_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_decay",
    .doc = "first-order elimination from one compartment",
    .time_unit = "min",
    .reference = "elementary: A(t) = A0 exp(-k t)",
    .n_state = 1, .n_param = 1, .n_obs = 1,
    .state = decay_state, .param = decay_param, .obs = decay_obs,
    .rhs = decay_rhs, .observe = observe_first_state};

/*
** A(t) = A0 exp(-k t), A0 = 1000 mg, k = 0.1 /min, sampled every minute over
** [0, 60] min. Tolerance: 1e-8 relative at rtol = atol = 1e-10. A stays
** above atol / rtol = 1 mg, so the relative tolerance governs the error
** weights throughout; below that, atol governs and a relative check would
** measure absolute error (CVODE then errs by several atol: 7e-10 mg at
** 0.025 mg).
*/
BOTH_BACKENDS(decay, exponential)
{
  check_model(&decay_model);
  const double p[] = {0.1}, x0[] = {1000.0};
  mt_sim *s = new_sim_tol(&decay_model, sv, 1e-10, 1e-10);
  mt_series o;
  grid(&o, &decay_model, 61, 0, 1);
  int rc = mt_sim_run(s, p, x0, NULL, NULL, 0, 60, &o);
  cr_assert_eq(rc, 0, "%s: %s", solver_name(sv), mt_sim_errmsg(s));
  for (int i = 0; i < o.n; i++) {
    double want = x0[0] * exp(-p[0] * o.t[i]);
    cr_expect_leq(rel_err(o.x[i], want), 1e-8, "%s: A(%g) = %.12g, want %.12g",
                  solver_name(sv), o.t[i], o.x[i], want);
    cr_expect_eq(o.y[i], o.x[i]);
  }
  mt_series_clear(&o);
  mt_sim_free(s);
}

/* ---------------------------------------------------------------------- */
/* One compartment, first-order absorption from the gut, optional infusion */
/* into the central compartment (input 0).                                 */

enum { PK_CL, PK_V, PK_KA };

static const mt_var pk_state[] = {
    {"A_g", "mg", "drug amount in the gut (absorption depot)", 0, 1e4,
     MT_VAR_NONNEG},
    {"A_c", "mg", "drug amount in the central compartment", 0, 1e4,
     MT_VAR_NONNEG}};
static const mt_var pk_param[] = {
    {"CL", "L/h", "clearance", 0.01, 100, MT_VAR_ESTIMABLE},
    {"V", "L", "volume of distribution", 1, 500, MT_VAR_ESTIMABLE},
    {"ka", "/h", "first-order absorption rate constant", 0.01, 20,
     MT_VAR_ESTIMABLE}};
static const mt_var pk_input[] = {
    {"R_inf", "mg/h", "intravenous infusion rate into the central "
     "compartment", 0, 1e3, MT_VAR_RATE}};
static const mt_var pk_obs[] = {
    {"C", "mg/L", "plasma concentration A_c / V", 0, 1e3, 0}};

static int pk_rhs(double t, const double *x, const double *p, const double *u,
                  const double *mem, void *ws, double *dx)
{
  (void)t, (void)mem, (void)ws;
  double ke = p[PK_CL] / p[PK_V];
  dx[0] = -p[PK_KA] * x[0];
  dx[1] = p[PK_KA] * x[0] - ke * x[1] + u[0];
  return 0;
}

static void pk_observe(double t, const double *x, const double *p,
                       const double *mem, double *y)
{
  (void)t, (void)mem;
  y[0] = x[1] / p[PK_V];
}

static const mt_model pk_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_pk1",
    .doc = "one-compartment pharmacokinetics with first-order absorption "
           "and an optional zero-order infusion",
    .time_unit = "h",
    .reference = "Gibaldi M, Perrier D. Pharmacokinetics, 2nd ed., 1982, "
                 "ch. 1",
    .n_state = 2, .n_param = 3, .n_input = 1, .n_obs = 1,
    .state = pk_state, .param = pk_param, .input = pk_input, .obs = pk_obs,
    .rhs = pk_rhs, .observe = pk_observe};

static const double pk_p[] = {[PK_CL] = 1.1, [PK_V] = 20, [PK_KA] = 1.5};

/*
** Bateman function for an oral dose D with bioavailability F:
**   C(t) = F D ka / (V (ka - ke)) (exp(-ke t) - exp(-ka t)),  ke = CL / V.
*/
static double bateman(double t, double F, double D)
{
  double ka = pk_p[PK_KA], ke = pk_p[PK_CL] / pk_p[PK_V];
  return F * D * ka / (pk_p[PK_V] * (ka - ke)) * (exp(-ke * t) - exp(-ka * t));
}

/*
** 100 mg oral dose at t = 0 (A_g(0) = 100 mg, F = 1), CL = 1.1 L/h,
** V = 20 L, ka = 1.5 /h, rtol = atol = 1e-10, samples every hour over
** [0, 24] h. Checks: the reference values C(1, 2, 8, 24 h) to 1e-6
** relative (they are the Bateman function rounded to 7 significant
** digits), and the Bateman function itself at every hour to 1e-7 relative.
*/
BOTH_BACKENDS(pk, oral_bateman)
{
  check_model(&pk_model);
  static const struct {
    double t_h, c_mgl;
  } ref[] = {{1, 3.754438}, {2, 4.391248}, {8, 3.342718}, {24, 1.386515}};
  const double x0[] = {100.0, 0.0};
  mt_sim *s = new_sim_tol(&pk_model, sv, 1e-10, 1e-10);
  mt_series o;
  grid(&o, &pk_model, 25, 0, 1);
  int rc = mt_sim_run(s, pk_p, x0, NULL, NULL, 0, 24, &o);
  cr_assert_eq(rc, 0, "%s: %s", solver_name(sv), mt_sim_errmsg(s));
  for (size_t r = 0; r < sizeof ref / sizeof ref[0]; r++) {
    double c = o.y[(int)ref[r].t_h];
    cr_expect_leq(rel_err(c, ref[r].c_mgl), 1e-6,
                  "%s: C(%g h) = %.9f mg/L, reference %.6f", solver_name(sv),
                  ref[r].t_h, c, ref[r].c_mgl);
  }
  for (int i = 1; i < o.n; i++) {
    double want = bateman(o.t[i], 1.0, 100.0);
    cr_expect_leq(rel_err(o.y[i], want), 1e-7,
                  "%s: C(%g h) = %.12g mg/L, Bateman %.12g", solver_name(sv),
                  o.t[i], o.y[i], want);
  }
  cr_expect_eq(o.y[0], 0.0);
  mt_series_clear(&o);
  mt_sim_free(s);
}

/*
** Zero-order infusion R = 50 mg/h over [0, 2) h into the central
** compartment (empty gut), as a scheduled pulse on input 0. With ke = CL/V,
** dA_c/dt = R - ke A_c gives by the integrating factor
**   C(t) = R / CL (1 - exp(-ke t))          for t <= 2 h,
**   C(t) = C(2 h) exp(-ke (t - 2 h))         after,
** the standard constant-rate infusion result (Gibaldi & Perrier, 1982).
** The schedule splits the run at 2 h, where the integrator must restart;
** samples straddle it at 2 h -/+ 1e-6 h and sit exactly on it. Tolerance
** 1e-7 relative at rtol = atol = 1e-10.
*/
BOTH_BACKENDS(pk, infusion_restart)
{
  const double R = 50.0, T = 2.0, x0[] = {0.0, 0.0};
  const double ts[] = {0,   0.5,        1,   1.5, T - 1e-6, T,  T + 1e-6,
                       2.5, 3,          4,   6,   8,        12, 24};
  int n = (int)(sizeof ts / sizeof ts[0]);
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(1, &sch), 0);
  cr_assert_eq(mt_schedule_pulse(sch, 0, 0, T, R, 0), 0);
  mt_sim *s = new_sim_tol(&pk_model, sv, 1e-10, 1e-10);
  mt_series o;
  cr_assert_eq(mt_series_alloc(&o, &pk_model, n), 0);
  memcpy(o.t, ts, sizeof ts);
  int rc = mt_sim_run(s, pk_p, x0, NULL, sch, 0, 24, &o);
  cr_assert_eq(rc, 0, "%s: %s", solver_name(sv), mt_sim_errmsg(s));
  cr_expect_eq(mt_sim_last_stats(s)->n_segment, 2, "%s: %ld segments",
               solver_name(sv), mt_sim_last_stats(s)->n_segment);
  double ke = pk_p[PK_CL] / pk_p[PK_V];
  double c_end = R / pk_p[PK_CL] * (1 - exp(-ke * T));
  for (int i = 1; i < n; i++) {
    double t = o.t[i];
    double want = t <= T ? R / pk_p[PK_CL] * (1 - exp(-ke * t))
                         : c_end * exp(-ke * (t - T));
    cr_expect_leq(rel_err(o.y[i], want), 1e-7,
                  "%s: C(%.7f h) = %.12g mg/L, closed form %.12g",
                  solver_name(sv), t, o.y[i], want);
    double u_want = t < T ? R : 0.0;
    cr_expect_eq(o.u[i], u_want, "%s: R_inf(%.7f h) = %g, want %g",
                 solver_name(sv), t, o.u[i], u_want);
  }
  mt_series_clear(&o);
  mt_schedule_free(sch);
  mt_sim_free(s);
}

/* ---------------------------------------------------------------------- */
/* A bouncing ball: h'' = -g, velocity reversed and scaled by 0.9 when the */
/* height crosses zero. Memory counts impacts and records their times.    */

#define BALL_RESTITUTION 0.9
enum { BALL_N_IMPACT, BALL_T1, BALL_T2, BALL_N_MEM };

static const mt_var ball_state[] = {
    {"h", "m", "height above the floor", 0, 100, MT_VAR_NONNEG},
    {"v", "m/s", "upward velocity", -100, 100, 0}};
static const mt_var ball_param[] = {
    {"g", "m/s2", "gravitational acceleration", 0, 30, 0}};
static const mt_var ball_obs[] = {
    {"height", "m", "height above the floor", 0, 100, 0},
    {"n_impact", "1", "number of impacts so far", 0, 1e6, 0},
    {"t_impact1", "s", "time of the first impact (0 before it)", 0, 1e6, 0},
    {"t_impact2", "s", "time of the second impact (0 before it)", 0, 1e6, 0}};
static const char *const ball_mem_doc[] = {
    "number of impacts so far", "time of the first impact, s",
    "time of the second impact, s"};

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
  y[1] = mem[BALL_N_IMPACT];
  y[2] = mem[BALL_T1];
  y[3] = mem[BALL_T2];
}

static void ball_roots(double t, const double *x, const double *p, double *g)
{
  (void)t, (void)p;
  g[0] = x[0];
}

static void ball_on_root(int which, double t, double *x, double *mem)
{
  (void)which;
  x[1] = -BALL_RESTITUTION * x[1];
  int k = (int)mem[BALL_N_IMPACT]++;
  if (k < 2)
    mem[BALL_T1 + k] = t;
}

static const mt_model ball_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_bouncing_ball",
    .doc = "point mass falling under gravity onto a floor, coefficient of "
           "restitution 0.9",
    .time_unit = "s",
    .reference = "elementary kinematics",
    .n_state = 2, .n_param = 1, .n_obs = 4, .n_mem = BALL_N_MEM,
    .state = ball_state, .param = ball_param, .obs = ball_obs,
    .mem_doc = ball_mem_doc,
    .rhs = ball_rhs, .observe = ball_observe,
    .n_root = 1, .roots = ball_roots, .on_root = ball_on_root};

/*
** Dropped from rest at h0 = 10 m with g = 9.81 m/s2: the first impact is at
** t1 = sqrt(2 h0 / g) with speed g t1; the rebound at 0.9 g t1 flies for
** 2 (0.9 g t1) / g = 1.8 t1, so the second impact is at t2 = 2.8 t1
** (about 4.00 s) and the third at 4.42 t1 (6.31 s, after the run). The
** height between impacts is the parabola through each. Tolerances, at
** rtol = atol = 1e-10: impact times 1e-7 s absolute, heights 1e-7 m
** absolute, and the height never below -1e-9 m (no tunnelling through the
** floor, no event found twice).
*/
BOTH_BACKENDS(event, bouncing_ball)
{
  check_model(&ball_model);
  const double g = 9.81, h0 = 10.0, p[] = {g}, x0[] = {h0, 0.0};
  const double t1 = sqrt(2 * h0 / g), t2 = 2.8 * t1;
  mt_sim *s = new_sim_tol(&ball_model, sv, 1e-10, 1e-10);
  mt_series o;
  grid(&o, &ball_model, 601, 0, 0.01);
  int rc = mt_sim_run(s, p, x0, NULL, NULL, 0, 6, &o);
  cr_assert_eq(rc, 0, "%s: %s", solver_name(sv), mt_sim_errmsg(s));
  cr_expect_eq(mt_sim_last_stats(s)->n_root, 2, "%s: %ld roots",
               solver_name(sv), mt_sim_last_stats(s)->n_root);
  const double *y_end = o.y + (size_t)(o.n - 1) * 4;
  cr_expect_eq(y_end[1], 2.0, "%s: %g impacts", solver_name(sv), y_end[1]);
  cr_expect_leq(fabs(y_end[2] - t1), 1e-7, "%s: first impact at %.12f s, "
                "want %.12f", solver_name(sv), y_end[2], t1);
  cr_expect_leq(fabs(y_end[3] - t2), 1e-7, "%s: second impact at %.12f s, "
                "want %.12f", solver_name(sv), y_end[3], t2);
  for (int i = 0; i < o.n; i++) {
    double t = o.t[i], want;
    if (t < t1)
      want = h0 - 0.5 * g * t * t;
    else if (t < t2)
      want = 0.9 * g * t1 * (t - t1) - 0.5 * g * (t - t1) * (t - t1);
    else
      want = 0.81 * g * t1 * (t - t2) - 0.5 * g * (t - t2) * (t - t2);
    double h = o.x[(size_t)i * 2];
    cr_expect_geq(h, -1e-9, "%s: height %.3g m at %g s", solver_name(sv), h,
                  t);
    cr_expect_leq(fabs(h - want), 1e-7, "%s: height %.12f m at %g s, want "
                  "%.12f", solver_name(sv), h, t, want);
  }
  mt_series_clear(&o);
  mt_sim_free(s);
}

/* ---------------------------------------------------------------------- */
/* Return codes of rhs.                                                    */

/* Test instrumentation: how often the wall model refused a state. */
static long n_refused;

/*
** A particle moving towards a wall with the steep exponential repulsion of
** the potential A exp(-x / lambda): x' = v, v' = (A / lambda) exp(-x / lambda).
** A position inside the wall (x < 0) is non-physical and the rhs refuses it
** with a recoverable code. Far from the wall the motion is uniform, so both
** methods grow their steps until a trial step reaches into the wall; the
** refusal must make them retry shorter steps, and the accepted path turns
** at x_min, far from the refused region.
**
** Closed form (energy E = v^2 / 2 + A exp(-x / lambda) is conserved; check
** by substitution): x(t) = x_min + 2 lambda ln cosh(w (t - t_m)) with
** x_min = lambda ln(A / E), w = sqrt(E / 2) / lambda, and t_m the turning
** time, from ln cosh(w t_m) = (x(0) - x_min) / (2 lambda) with v(0) < 0.
*/
enum { WALL_A, WALL_LAMBDA };

static const mt_var wall_state[] = {
    {"x", "m", "distance from the wall", 0, 100, MT_VAR_NONNEG},
    {"v", "m/s", "velocity away from the wall", -100, 100, 0}};
static const mt_var wall_param[] = {
    {"A", "m2/s2", "strength of the wall potential (energy per mass)", 0,
     1e9, 0},
    {"lambda", "m", "decay length of the wall potential", 1e-6, 1, 0}};
static const mt_var wall_obs[] = {
    {"x_obs", "m", "distance from the wall", 0, 100, 0}};

static int wall_rhs(double t, const double *x, const double *p,
                    const double *u, const double *mem, void *ws, double *dx)
{
  (void)t, (void)u, (void)mem, (void)ws;
  if (x[0] < 0) {
    n_refused++;
    return 1;
  }
  dx[0] = x[1];
  dx[1] = p[WALL_A] / p[WALL_LAMBDA] * exp(-x[0] / p[WALL_LAMBDA]);
  return 0;
}

static const mt_model wall_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_wall_reflection",
    .doc = "particle reflected by a steep exponential wall; positions "
           "inside the wall are refused",
    .time_unit = "s",
    .reference = "elementary mechanics: x(t) = x_min + 2 lambda ln cosh(w t)",
    .n_state = 2, .n_param = 2, .n_obs = 1,
    .state = wall_state, .param = wall_param, .obs = wall_obs,
    .rhs = wall_rhs, .observe = observe_first_state};

/* ln cosh(y) without overflow. */
static double ln_cosh(double y)
{
  y = fabs(y);
  return y + log1p(exp(-2 * y)) - log(2.0);
}

/*
** x(0) = 2 m, v(0) = -1 m/s, A = 1e4 m2/s2, lambda = 0.01 m: the particle
** turns at x_min = 0.099 m at t_m = 1.91 s and is back at 2 m at 3.83 s.
** Over [0, 4] s at rtol = atol = 1e-10: the run succeeds, at least one
** state was refused and retried, no sample is inside the wall, and every
** sample is within 1e-6 m of the closed form.
*/
BOTH_BACKENDS(retry, recoverable_rhs)
{
  check_model(&wall_model);
  const double p[] = {[WALL_A] = 1e4, [WALL_LAMBDA] = 0.01},
               x0[] = {2.0, -1.0};
  double lam = p[WALL_LAMBDA];
  double E = 0.5 * x0[1] * x0[1] + p[WALL_A] * exp(-x0[0] / lam);
  double x_min = lam * log(p[WALL_A] / E), w = sqrt(E / 2) / lam;
  double t_m = acosh(exp((x0[0] - x_min) / (2 * lam))) / w;
  mt_sim *s = new_sim_tol(&wall_model, sv, 1e-10, 1e-10);
  mt_series o;
  grid(&o, &wall_model, 401, 0, 0.01);
  n_refused = 0;
  int rc = mt_sim_run(s, p, x0, NULL, NULL, 0, 4, &o);
  cr_assert_eq(rc, 0, "%s: %s", solver_name(sv), mt_sim_errmsg(s));
  cr_expect_gt(n_refused, 0, "%s: no state was refused", solver_name(sv));
  for (int i = 0; i < o.n; i++) {
    double want = x_min + 2 * lam * ln_cosh(w * (o.t[i] - t_m));
    double x = o.x[(size_t)i * 2];
    cr_expect_geq(x, x_min - 1e-6, "%s: x(%g) = %g", solver_name(sv), o.t[i],
                  x);
    cr_expect_leq(fabs(x - want), 1e-6, "%s: x(%g) = %.12g m, want %.12g",
                  solver_name(sv), o.t[i], x, want);
  }
  mt_series_clear(&o);
  mt_sim_free(s);
}

/* A forcing table that ends at p[1] min: beyond it the rhs fails fatally. */
static const mt_var table_param[] = {
    {"k", "/min", "first-order elimination rate constant", 0, 10, 0},
    {"t_table_end", "min", "end of the forcing table", 0, 1e4, 0}};

static int table_rhs(double t, const double *x, const double *p,
                     const double *u, const double *mem, void *ws, double *dx)
{
  if (t > p[1])
    return -3;
  return decay_rhs(t, x, p, u, mem, ws, dx);
}

static const mt_model table_model = {
    .version = MT_MODEL_VERSION,
    .name = "test_table_end",
    .doc = "first-order elimination driven by a table that ends",
    .time_unit = "min",
    .reference = "elementary",
    .n_state = 1, .n_param = 2, .n_obs = 1,
    .state = decay_state, .param = table_param, .obs = decay_obs,
    .rhs = table_rhs, .observe = observe_first_state};

/*
** A fatal rhs code stops the run: MT_ESOLVER, a message naming the model
** and the failure, and nothing printed by the library (SUNDIALS included).
*/
static void fatal_rhs(mt_solver sv)
{
  check_model(&table_model);
  const double p[] = {0.1, 5.0}, x0[] = {1.0};
  mt_sim *s = new_sim_tol(&table_model, sv, 1e-8, 1e-8);
  mt_series o;
  grid(&o, &table_model, 11, 0, 1);
  int rc = mt_sim_run(s, p, x0, NULL, NULL, 0, 10, &o);
  cr_expect_eq(rc, MT_ESOLVER, "%s: rc %d", solver_name(sv), rc);
  const char *msg = mt_sim_errmsg(s);
  cr_expect(strstr(msg, "test_table_end") != NULL, "%s: message '%s'",
            solver_name(sv), msg);
  cr_expect(strstr(msg, "right-hand side failed (code -3)") != NULL,
            "%s: message '%s'", solver_name(sv), msg);
  mt_series_clear(&o);
  mt_sim_free(s);
  fflush(stderr);
  cr_expect_stderr_eq_str("", "%s: the library printed", solver_name(sv));
}

Test(retry, fatal_rhs_dopri5, .init = cr_redirect_stderr)
{
  fatal_rhs(MT_SOLVER_DOPRI5);
}

Test(retry, fatal_rhs_cvode, .init = cr_redirect_stderr)
{
  fatal_rhs(MT_SOLVER_CVODE);
}
