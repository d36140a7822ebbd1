/*
** Issue 11's two tissue targets, timed (docs/PERFORMANCE.md):
**   ms   [dt_ms] [t_end_ms] [generic]  Mitchell-Schaeffer, 2D sheet 10 x 10
**        cm at dx 0.25 mm (401 x 401 nodes), D 0.1 mm^2/ms, explicit, paced
**        from its left edge (x <= 0.5 mm, 50 uA/cm^2 for 2 ms every 400 ms);
**        defaults dt 0.02 ms, 1000 ms. Target: under 60 s.
**   tp06 [dt_ms] [t_end_ms] [generic]  ten Tusscher-Panfilov 2006 epi on the
**        N-version slab (20 x 7 x 3 mm, dx 0.1 mm: 201 x 71 x 31 nodes, D_l
**        0.0953, D_t 0.0126 mm^2/ms, fibres along x, explicit, 35.714
**        uA/cm^2 for 2 ms in the corner cube of 1.5 mm; Niederer et al.,
**        Phil Trans R Soc A 369:4331, 2011); defaults dt 0.005 ms, 50 ms.
**        Target: under 120 s.
** generic = 1 forces the model's rhs and inf_tau at every node (the
** reference path). Threads: OMP_NUM_THREADS. Prints `name value unit`:
** the wall time of the stepping, cell updates per second and sanity
** figures (ms: activation time at x = 100 mm on the middle row and the
** planar-wave speed between x = 25 and 75 mm, the first beat's APD90 at the
** centre; tp06: activation time of P8, the corner (20, 7, 3) mm).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "medtwin/error.h"
#include "medtwin/tissue.h"

static int run(const char *tag, const char *model, mt_tissue_config *c,
               const mt_tissue_stim *s, double t_end, mt_tissue **out)
{
  const mt_model *m = mt_model_find(model);
  char err[MT_ERRMSG_MAX];
  *out = NULL;
  if (!m || mt_tissue_create(m, c, out, err, sizeof err)) {
    fprintf(stderr, "%s: %s\n", tag, m ? err : "model not registered");
    return 1;
  }
  if (mt_tissue_add_stim(*out, s)) {
    fprintf(stderr, "%s: %s\n", tag, mt_tissue_errmsg(*out));
    return 1;
  }
  double t0 = bench_now();
  int rc = mt_tissue_run(*out, t_end);
  double el = bench_now() - t0;
  if (rc) {
    fprintf(stderr, "%s: %s\n", tag, mt_tissue_errmsg(*out));
    return 1;
  }
  double steps = floor(t_end / c->dt_ms + 0.5);
  printf("%s_wall %.2f s\n", tag, el);
  printf("%s_cell_updates %.4g /s\n", tag,
         steps * (double)mt_tissue_nodes(*out) / el);
  return 0;
}

static int ms_sheet(double dt, double t_end, int generic)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = c.ny = 401, c.dx_mm = 0.25, c.dt_ms = dt;
  c.act_threshold_mV = -40, c.generic_cells = generic;
  mt_tissue_stim s = {.x1_mm = 0.5, .y1_mm = 1e3, .duration_ms = 2,
                      .amplitude = 50, .period_ms = 400, .count = 1000};
  mt_tissue *t;
  int rc = run("ms_sheet", "mitchell_schaeffer_2003", &c, &s, t_end, &t);
  if (!rc) {
    const double *act = mt_tissue_activation(t), *apd = mt_tissue_apd(t);
    long mid = mt_tissue_index(t, 0, 200, 0);
    printf("ms_sheet_act_x100mm %.3f ms\n", act[mid + 400]);
    printf("ms_sheet_cv %.5f mm/ms\n",
           mt_tissue_cv(t, mid + 100, mid + 300, 201));
    printf("ms_sheet_apd90_centre %.3f ms\n", apd[mid + 200]);
  }
  mt_tissue_free(t);
  return rc;
}

static int tp06_slab(double dt, double t_end, int generic)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 201, c.ny = 71, c.nz = 31, c.dx_mm = 0.1, c.dt_ms = dt;
  c.D_l = 0.0953, c.D_t = 0.0126, c.generic_cells = generic;
  mt_tissue_stim s = {.x1_mm = 1.5, .y1_mm = 1.5, .z1_mm = 1.5,
                      .duration_ms = 2, .amplitude = 50000.0 / 140.0,
                      .count = 1};
  mt_tissue *t;
  int rc = run("tp06_slab", "tentusscher_panfilov_2006_epi", &c, &s, t_end,
               &t);
  if (!rc)
    printf("tp06_slab_P8 %.3f ms\n",
           mt_tissue_activation(t)[mt_tissue_index(t, 200, 70, 30)]);
  mt_tissue_free(t);
  return rc;
}

int main(int argc, char **argv)
{
  int ms = argc > 1 && !strcmp(argv[1], "ms");
  if (argc < 2 || (!ms && strcmp(argv[1], "tp06"))) {
    fprintf(stderr, "usage: tissue_target ms|tp06 [dt_ms] [t_end_ms] "
            "[generic]\n");
    return 2;
  }
  double dt = argc > 2 ? atof(argv[2]) : ms ? 0.02 : 0.005;
  double t_end = argc > 3 ? atof(argv[3]) : ms ? 1000 : 50;
  int generic = argc > 4 ? atoi(argv[4]) : 0;
  if (!(dt > 0) || !(t_end > 0))
    return 2;
  return ms ? ms_sheet(dt, t_end, generic) : tp06_slab(dt, t_end, generic);
}
