/*
** Cell updates per second of the monodomain tissue engine (medtwin/tissue.h)
** for every registered cell model (state 0 V, input 0 I_stim): a 2D sheet of
** N x N nodes (default 256, dx 0.25 mm, D_l = D_t = 0.1 mm^2/ms, explicit
** diffusion, dt 0.02 ms) paced from its left edge, stepped for at least the
** given seconds; one cell update = one node's reaction and diffusion step.
** Each model twice: through its fast kernel where the engine has one
** (src/tissue/kernel.h; `_cell_updates`), and through the generic path
** (the model's rhs and inf_tau per node, mt_tissue_config.generic_cells;
** `_cell_updates_generic`).
** Also the planar-wave speed of each model on a 10 mm cable (D 0.1
** mm^2/ms, threshold -40 mV, from 3 to 7 mm) at dx 0.1 / 0.05 / 0.025 mm.
** Prints `name value unit` lines; method in docs/PERFORMANCE.md.
** usage: tissue [seconds per repeat] [repeats] [N]
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "medtwin/error.h"
#include "medtwin/tissue.h"

static int is_cell(const mt_model *m)
{
  return !strcmp(m->time_unit, "ms") && m->n_state > 0 && m->n_input > 0 &&
         !strcmp(m->state[0].name, "V") && !strcmp(m->input[0].name, "I_stim");
}

static mt_tissue *sheet(const mt_model *m, int n, int generic)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = c.ny = n, c.dx_mm = 0.25, c.dt_ms = 0.02;
  c.generic_cells = generic;
  c.act_threshold_mV = -40;
  mt_tissue *t;
  char err[MT_ERRMSG_MAX];
  if (mt_tissue_create(m, &c, &t, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return NULL;
  }
  mt_tissue_stim s = {.x0_mm = 0, .x1_mm = 0.5, .y0_mm = 0, .y1_mm = 1e3,
                      .start_ms = 0, .duration_ms = 2, .amplitude = 50,
                      .period_ms = 400, .count = 1000};
  if (mt_tissue_add_stim(t, &s)) {
    mt_tissue_free(t);
    return NULL;
  }
  return t;
}

/* Median cell updates per second; negative on failure. */
static double updates(const mt_model *m, int n, double secs, int reps,
                      int generic)
{
  mt_tissue *t = sheet(m, n, generic);
  if (!t)
    return -1;
  double rate[99];
  for (int r = 0; r < reps; r++) {
    long steps = 0;
    double t0 = bench_now(), el;
    do {
      if (mt_tissue_step(t, 50)) {
        fprintf(stderr, "%s\n", mt_tissue_errmsg(t));
        mt_tissue_free(t);
        return -1;
      }
      steps += 50;
    } while ((el = bench_now() - t0) < secs);
    rate[r] = (double)steps * n * n / el;
  }
  mt_tissue_free(t);
  qsort(rate, (size_t)reps, sizeof *rate, bench_cmp);
  return rate[reps / 2];
}

static double cable_cv(const mt_model *m, double dx)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = (int)lround(10.0 / dx) + 1, c.dx_mm = dx, c.D_l = c.D_t = 0.1;
  c.dt_ms = fmin(0.2 * dx * dx / 0.1, 0.01), c.act_threshold_mV = -40;
  mt_tissue *t;
  char err[MT_ERRMSG_MAX];
  if (mt_tissue_create(m, &c, &t, err, sizeof err))
    return NAN;
  mt_tissue_stim s = {.x1_mm = 0.5, .duration_ms = 2, .amplitude = 50,
                      .count = 1};
  double cv = NAN;
  if (!mt_tissue_add_stim(t, &s) && !mt_tissue_run(t, 200))
    cv = mt_tissue_cv(t, lround(3 / dx), lround(7 / dx),
                      (int)(lround(7 / dx) - lround(3 / dx) + 1));
  mt_tissue_free(t);
  return cv;
}

int main(int argc, char **argv)
{
  double secs = argc > 1 ? atof(argv[1]) : 2.0;
  int reps = argc > 2 ? atoi(argv[2]) : 3, n = argc > 3 ? atoi(argv[3]) : 256;
  if (reps < 1 || reps > 99 || !(secs > 0) || n < 2)
    return 2;
  int rc = 0;
  for (int i = 0; i < mt_model_count(); i++) {
    const mt_model *m = mt_model_at(i);
    if (!is_cell(m))
      continue;
    double u = updates(m, n, secs, reps, 0);
    double g = updates(m, n, secs, reps, 1);
    if (u < 0 || g < 0)
      rc = 1;
    printf("tissue_%s_cell_updates %.4g /s\n", m->name, u);
    printf("tissue_%s_cell_updates_generic %.4g /s\n", m->name, g);
    static const double dxs[] = {0.1, 0.05, 0.025};
    for (int k = 0; k < 3; k++)
      printf("tissue_%s_cv_D0.1_dx%g %.5f mm/ms\n", m->name, dxs[k],
             cable_cv(m, dxs[k]));
    fflush(stdout);
  }
  return rc;
}
