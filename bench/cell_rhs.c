/*
** Cost of one cell-model evaluation, for every registered model that lists
** gates (the ionic models of the tissue engine, issue 11): the rhs and the
** gates' inf_tau at 64 states spread over [-90, +40] mV of V (other states
** at the model's first parameter set's initial state, so both branches of
** piecewise rates run), and one Rush-Larsen/forward-Euler cell step as the
** tissue engine takes it without diffusion (rhs, inf_tau, one exp per
** gate). Prints `cell_rhs_ns{model} X`, `cell_inf_tau_ns{model} X` and
** `cell_step_ns{model} X`: the median over the repeats of the mean
** nanoseconds per call. Method in docs/PERFORMANCE.md.
** usage: cell_rhs [calls per repeat] [repeats]
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"

#define NS 64    /* states */
#define MAXN 64  /* largest state vector handled */

typedef struct cell {
  const mt_model *m;
  double p[256], x[NS][MAXN], dx[MAXN], inf[MAXN], tau[MAXN], u[8];
} cell;

static int cell_init(const mt_model *m, cell *c)
{
  mt_patient *pt = NULL;
  char err[MT_ERRMSG_MAX];
  double x0[MAXN], mem[8] = {0}, ub[8] = {0};
  if (m->n_state > MAXN || m->n_param > 256 || m->n_input > 8 ||
      m->n_mem > 8 || !m->patients || !m->init ||
      mt_patient_load(m, m->patients->name(0), &pt, err, sizeof err))
    return -1;
  memcpy(c->p, pt->param, sizeof(double) * (size_t)m->n_param);
  mt_patient_free(pt);
  if (m->init(c->p, x0, mem, ub))
    return -1;
  c->m = m;
  memset(c->u, 0, sizeof c->u);
  for (int i = 0; i < NS; i++) {
    memcpy(c->x[i], x0, sizeof(double) * (size_t)m->n_state);
    c->x[i][0] = -90.0 + 130.0 * i / (NS - 1); /* state 0 is V (mV) */
  }
  return 0;
}

/* Mean ns per call of what (0 rhs, 1 inf_tau, 2 one cell step). */
static double time_calls(cell *c, int what, long calls)
{
  const mt_model *m = c->m;
  const mt_gates *g = m->gates;
  double sink = 0, y[MAXN], t0 = bench_now();
  for (long k = 0; k < calls; k++) {
    const double *x = c->x[k % NS];
    if (what == 0) {
      m->rhs(0, x, c->p, c->u, NULL, NULL, c->dx);
      sink += c->dx[0];
    } else if (what == 1) {
      g->inf_tau(0, x, c->p, c->inf, c->tau);
      sink += c->inf[0];
    } else {
      memcpy(y, x, sizeof(double) * (size_t)m->n_state);
      m->rhs(0, y, c->p, c->u, NULL, NULL, c->dx);
      g->inf_tau(0, y, c->p, c->inf, c->tau);
      for (int i = 0; i < m->n_state; i++)
        y[i] += 0.005 * c->dx[i];
      for (int i = 0; i < g->n; i++) {
        int s = g->state_index[i];
        y[s] = c->inf[i] + (x[s] - c->inf[i]) * exp(-0.005 / c->tau[i]);
      }
      sink += y[0];
    }
  }
  double dt = bench_now() - t0;
  if (!isfinite(sink))
    fprintf(stderr, "cell_rhs: %s gave a non-finite value\n", m->name);
  return 1e9 * dt / (double)calls;
}

int main(int argc, char **argv)
{
  long calls = argc > 1 ? atol(argv[1]) : 1000000;
  int reps = argc > 2 ? atoi(argv[2]) : 5;
  static const char *const what[3] = {"cell_rhs_ns", "cell_inf_tau_ns",
                                      "cell_step_ns"};
  if (calls < NS || reps < 1 || reps > 100) {
    fprintf(stderr, "usage: cell_rhs [calls per repeat >= %d] [repeats "
                    "1-100]\n", NS);
    return 2;
  }
  static cell c;
  for (int mi = 0; mi < mt_model_count(); mi++) {
    const mt_model *m = mt_model_at(mi);
    if (!m->gates)
      continue;
    if (cell_init(m, &c)) {
      fprintf(stderr, "cell_rhs: cannot set up %s\n", m->name);
      return 1;
    }
    for (int w = 0; w < 3; w++) {
      double r[100];
      for (int k = 0; k < reps; k++)
        r[k] = time_calls(&c, w, calls);
      qsort(r, (size_t)reps, sizeof r[0], bench_cmp);
      printf("%s{%s} %.1f\n", what[w], m->name, r[reps / 2]);
    }
  }
  return 0;
}
