/*
** Single-cell figures of the phenomenological cell models (issue 11, item
** 2), the numbers of the verification tables in docs/models/
** aliev_panfilov_1996.md and mitchell_schaeffer_2003.md: from rest, one
** stimulus of 50 uA/cm2 for 1 ms at t = 10 ms, DOPRI5 (rtol = atol = 1e-8,
** h_max 1 ms) sampled every 0.01 ms: resting potential, peak, time of the
** upstroke (-40 mV crossing after the stimulus), APD90 (between the
** crossings of V_rest + 0.1 (V_peak - V_rest)); the excitation threshold
** found by bisection on the initial potential (state 1 at rest); for
** Mitchell-Schaeffer the APD above v_gate and S1-S2 restitution; and the
** APD90 of the tissue engine's scheme (Rush-Larsen for gates, forward Euler
** otherwise) at dt = 0.04, 0.02, 0.01 ms, with its speed on one core:
** `ionic_<model>_cell_steps X /s`.
** usage: ionic_cells
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"

#define DT 0.01

typedef struct trace {
  int n, nx;
  double *t, *x;
} trace;

static int fail(const char *what)
{
  fprintf(stderr, "ionic_cells: %s\n", what);
  exit(1);
}

/* DOPRI5 run from x0 (NULL: rest) with stimuli at ts[0..ns) of amp for dur. */
static mt_solver solver = MT_SOLVER_DOPRI5;

static void run(const mt_model *m, const double *p, const double *x0, int ns,
                const double *ts, double amp, double dur, double t_end,
                trace *tr)
{
  mt_schedule *sch = NULL;
  mt_sim_config cfg;
  mt_sim *sim = NULL;
  mt_series s;
  if (mt_schedule_create(1, &sch))
    fail("schedule");
  for (int i = 0; i < ns; i++)
    if (mt_schedule_pulse(sch, 0, ts[i], ts[i] + dur, amp, 0))
      fail("pulse");
  mt_sim_config_init(&cfg);
  cfg.solver = solver;
  cfg.h_max = 1.0;
  int n = (int)lround(t_end / DT) + 1;
  if (mt_sim_create(m, &cfg, &sim) || mt_series_alloc(&s, m, n))
    fail("out of memory");
  for (int i = 0; i < n; i++)
    s.t[i] = fmin(i * DT, t_end);
  if (mt_sim_run(sim, p, x0, NULL, sch, 0, t_end, &s))
    fail(mt_sim_errmsg(sim));
  tr->n = n, tr->nx = m->n_state;
  tr->t = malloc((size_t)n * sizeof *tr->t);
  tr->x = malloc((size_t)n * m->n_state * sizeof *tr->x);
  if (!tr->t || !tr->x)
    fail("out of memory");
  memcpy(tr->t, s.t, (size_t)n * sizeof *tr->t);
  memcpy(tr->x, s.x, (size_t)n * m->n_state * sizeof *tr->x);
  mt_series_clear(&s);
  mt_sim_free(sim);
  mt_schedule_free(sch);
}

/* Rush-Larsen / forward Euler, as the tissue engine steps a node. */
static double step(const mt_model *m, const double *p, double dt, double t0,
                   double amp, double dur, double t_end, trace *tr)
{
  int nx = m->n_state, ng = m->gates ? m->gates->n : 0;
  long n = lround(t_end / dt), k0 = lround(t0 / dt);
  long k1 = lround((t0 + dur) / dt);
  double x[8], xo[8], mem[1], ub[1], dx[8], inf[8], tau[8];
  if (nx > 8 || m->init(p, x, mem, ub))
    fail("init");
  tr->n = (int)n + 1, tr->nx = nx;
  tr->t = malloc((size_t)tr->n * sizeof *tr->t);
  tr->x = malloc((size_t)tr->n * nx * sizeof *tr->x);
  if (!tr->t || !tr->x)
    fail("out of memory");
  double w0 = bench_now();
  for (long k = 0; k <= n; k++) {
    tr->t[k] = k * dt;
    memcpy(&tr->x[k * nx], x, (size_t)nx * sizeof *x);
    memcpy(xo, x, (size_t)nx * sizeof *x);
    double t = k * dt, u[1] = {k >= k0 && k < k1 ? amp : 0.0};
    if (m->rhs(t, x, p, u, mem, NULL, dx))
      fail("rhs");
    if (ng)
      m->gates->inf_tau(t, x, p, inf, tau);
    for (int i = 0; i < nx; i++)
      x[i] += dt * dx[i];
    for (int g = 0; g < ng; g++) {
      int i = m->gates->state_index[g];
      x[i] = inf[g] + (xo[i] - inf[g]) * exp(-dt / tau[g]);
    }
  }
  return (n + 1) / (bench_now() - w0);
}

static double xv(const trace *tr, int i, int k) { return tr->x[i * tr->nx + k]; }

static double cross(const trace *tr, int k, double lvl, int dir, double from)
{
  for (int i = 1; i < tr->n; i++) {
    if (tr->t[i] < from)
      continue;
    double a = xv(tr, i - 1, k) - lvl, b = xv(tr, i, k) - lvl;
    if ((dir > 0 && a < 0 && b >= 0) || (dir < 0 && a > 0 && b <= 0))
      return tr->t[i - 1] + (tr->t[i] - tr->t[i - 1]) * a / (a - b);
  }
  return NAN;
}

static double vmax(const trace *tr, double from)
{
  double v = -INFINITY;
  for (int i = 0; i < tr->n; i++)
    if (tr->t[i] >= from)
      v = fmax(v, xv(tr, i, 0));
  return v;
}

static double apd90(const trace *tr, double rest, double pk, double from)
{
  double lvl = rest + 0.1 * (pk - rest), up = cross(tr, 0, lvl, 1, from);
  return cross(tr, 0, lvl, -1, up) - up;
}

static void trace_free(trace *tr) { free(tr->t), free(tr->x); }

/* Smallest initial V (other states at rest) that gives a peak above 0 mV. */
static double threshold(const mt_model *m, const double *p)
{
  double x0[8], mem[1], ub[1], lo, hi;
  m->init(p, x0, mem, ub);
  lo = x0[0], hi = x0[0] + 60;
  for (int it = 0; it < 30; it++) {
    double mid = (lo + hi) / 2;
    trace tr;
    x0[0] = mid;
    run(m, p, x0, 0, NULL, 0, 0, 400, &tr);
    if (vmax(&tr, 0) > 0)
      hi = mid;
    else
      lo = mid;
    trace_free(&tr);
  }
  return (lo + hi) / 2;
}

static void model_figures(const char *name)
{
  const mt_model *m = mt_model_find(name);
  mt_patient *pt = NULL;
  char err[MT_ERRMSG_MAX];
  if (!m || mt_patient_load(m, "default", &pt, err, sizeof err))
    fail(name);
  const double *p = pt->param;
  double t0 = 10, t_end = 800;
  trace tr;
  run(m, p, NULL, 1, &t0, 50, 1, t_end, &tr);
  double rest = xv(&tr, 0, 0), pk = vmax(&tr, 0);
  double up = cross(&tr, 0, -40, 1, 0), a90 = apd90(&tr, rest, pk, 0);
  printf("%s: rest %.3f mV, peak %.3f mV, upstroke (-40 mV) at %.3f ms "
         "after the stimulus, APD90 %.2f ms\n", name, rest, pk, up - t0, a90);
  int iv_gate = mt_var_index(m->param, m->n_param, "v_gate");
  if (iv_gate >= 0) {
    double vg = rest + 100 * p[iv_gate];
    double u = cross(&tr, 0, vg, 1, 0), d = cross(&tr, 0, vg, -1, u);
    int ih = mt_var_index(m->state, m->n_state, "h");
    double h_rep = xv(&tr, (int)lround(d / DT), ih);
    printf("%s: APD above v_gate %.2f ms, h there %.4f\n", name, d - u,
           h_rep);
    static const double di[] = {60, 100, 200, 400};
    for (int i = 0; i < 4; i++) {
      double ts[2] = {t0, d + di[i]};
      trace t2;
      run(m, p, NULL, 2, ts, 50, 1, ts[1] + 400, &t2);
      double u2 = cross(&t2, 0, vg, 1, ts[1]);
      printf("%s: S2 at DI %.0f ms: APD above v_gate %.2f ms\n", name, di[i],
             cross(&t2, 0, vg, -1, u2) - u2);
      trace_free(&t2);
    }
  }
  if (iv_gate < 0) { /* Aliev-Panfilov: S1-S2 after S1's APD90 */
    double lvl = rest + 0.1 * (pk - rest), u = cross(&tr, 0, lvl, 1, 0);
    double rep = cross(&tr, 0, lvl, -1, u);
    static const double di[] = {50, 100, 200, 400};
    for (int i = 0; i < 4; i++) {
      double ts[2] = {t0, rep + di[i]};
      trace t2;
      run(m, p, NULL, 2, ts, 50, 1, ts[1] + 500, &t2);
      int k = (int)lround(ts[1] / DT);
      printf("%s: S2 at DI %.0f ms: r there %.4f, APD90 %.2f ms\n", name,
             di[i], xv(&t2, k, 1), apd90(&t2, rest, vmax(&t2, ts[1]), ts[1]));
      trace_free(&t2);
    }
  }
  double smax = -INFINITY;
  for (int i = 0; i < tr.n; i++)
    smax = fmax(smax, xv(&tr, i, 1));
  printf("%s: largest %s %.4f\n", name, m->state[1].name, smax);
  printf("%s: threshold (initial V, other states at rest) %.3f mV\n", name,
         threshold(m, p));
  trace tc;
  solver = MT_SOLVER_CVODE;
  run(m, p, NULL, 1, &t0, 50, 1, t_end, &tc);
  solver = MT_SOLVER_DOPRI5;
  printf("%s: CVODE - DOPRI5: APD90 %.2e ms, peak %.2e mV\n", name,
         apd90(&tc, rest, vmax(&tc, 0), 0) - a90, vmax(&tc, 0) - pk);
  trace_free(&tc);
  double speed = 0;
  for (int j = 0; j < 3; j++) {
    double dt = 0.04 / (1 << j);
    trace ts;
    speed = step(m, p, dt, t0, 50, 1, t_end, &ts);
    printf("%s: Rush-Larsen/Euler dt %.2f ms: APD90 %.2f ms (error %.3f), "
           "peak %.3f mV\n", name, dt, apd90(&ts, rest, vmax(&ts, 0), 0),
           apd90(&ts, rest, vmax(&ts, 0), 0) - a90, vmax(&ts, 0));
    trace_free(&ts);
  }
  printf("ionic_%s_cell_steps %.3g /s\n", name, speed);
  trace_free(&tr);
  mt_patient_free(pt);
}

int main(void)
{
  model_figures("aliev_panfilov_1996");
  model_figures("mitchell_schaeffer_2003");
  return 0;
}
