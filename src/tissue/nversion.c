/*
** The N-version benchmark of Niederer et al. 2011 on the tissue engine
** (medtwin/nversion.h, docs/VALIDATION.md).
*/
#include "medtwin/nversion.h"

#include <math.h>
#include <stdio.h>

#include "medtwin/error.h"
#include "medtwin/tissue.h"

const double mt_nversion_point[MT_NVERSION_POINTS][3] = {
    {0, 0, 0},  {0, 7, 0},  {20, 0, 0}, {20, 7, 0},     {0, 0, 3},
    {0, 7, 3},  {20, 0, 3}, {20, 7, 3}, {10, 3.5, 1.5}};

#define NV_LX 20.0
#define NV_LY 7.0
#define NV_LZ 3.0
#define NV_D_L 0.0953
#define NV_D_T 0.0126
#define NV_STIM (50000.0 / 140.0) /* uA/cm^2 */
#define NV_STIM_MS 2.0
#define NV_STIM_MM 1.5
#define NV_T_MAX 200.0  /* ms: P8 fires near 40-60 ms in every code */
#define NV_CHUNK 0.5    /* ms between checks of the nine points */

/* Nodes along a length L at spacing dx, or 0 if dx does not divide it. */
static int nodes_along(double L, double dx)
{
  double n = L / dx;
  if (!(fabs(n - nearbyint(n)) < 1e-9 * fmax(1.0, n)) || n < 1)
    return 0;
  return (int)lround(n) + 1;
}

/* Activation time at point p (mm): trilinear over the nodes around it (a
** node itself when p is one); NAN if any of them has not fired. */
static double point_time(const mt_tissue *t, const double *act, double dx,
                         const int n[3], const double p[3])
{
  int lo[3];
  double w[3];
  for (int a = 0; a < 3; a++) {
    double g = p[a] / dx;
    double f = floor(g + 1e-9);
    lo[a] = (int)f;
    w[a] = g - f;
    if (w[a] < 1e-9)
      w[a] = 0;
    if (lo[a] >= n[a] - 1) /* on the far face */
      lo[a] = n[a] - 1, w[a] = 0;
  }
  double s = 0;
  for (int c = 0; c < 8; c++) {
    double wc = 1;
    int ijk[3];
    for (int a = 0; a < 3; a++) {
      int up = (c >> a) & 1;
      wc *= up ? w[a] : 1 - w[a];
      ijk[a] = lo[a] + up;
    }
    if (wc == 0)
      continue;
    double v = act[mt_tissue_index(t, ijk[0], ijk[1], ijk[2])];
    if (!isfinite(v))
      return NAN;
    s += wc * v;
  }
  return s;
}

int mt_nversion_run(double dx_mm, double dt_ms, int semi_implicit,
                    int threads, double out[MT_NVERSION_POINTS],
                    mt_nversion_stats *stats, char *err, size_t errlen)
{
  if (err && errlen)
    err[0] = '\0';
  int n[3] = {0, 0, 0};
  if (isfinite(dx_mm) && dx_mm > 0)
    n[0] = nodes_along(NV_LX, dx_mm), n[1] = nodes_along(NV_LY, dx_mm),
    n[2] = nodes_along(NV_LZ, dx_mm);
  if (!n[0] || !n[1] || !n[2]) {
    if (err)
      snprintf(err, errlen,
               "nversion: dx %g mm: expected a positive spacing dividing "
               "the slab's 20, 7 and 3 mm (0.5, 0.2, 0.1 ...)", dx_mm);
    return MT_EINVAL;
  }
  if (!(isfinite(dt_ms) && dt_ms > 0)) {
    if (err)
      snprintf(err, errlen, "nversion: dt %g ms: expected a positive time "
               "step", dt_ms);
    return MT_EINVAL;
  }
  const mt_model *m = mt_model_find("tentusscher_panfilov_2006_epi");
  if (!m) {
    if (err)
      snprintf(err, errlen, "nversion: model tentusscher_panfilov_2006_epi "
               "is not registered");
    return MT_ESOLVER;
  }
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = n[0], c.ny = n[1], c.nz = n[2];
  c.dx_mm = dx_mm, c.dt_ms = dt_ms;
  c.D_l = NV_D_L, c.D_t = NV_D_T; /* fibre default: along x */
  c.diffusion = semi_implicit ? MT_TISSUE_SEMI_IMPLICIT : MT_TISSUE_EXPLICIT;
  c.threads = threads;
  c.act_threshold_mV = 0;
  mt_tissue *t;
  int rc = mt_tissue_create(m, &c, &t, err, errlen);
  if (rc)
    return rc;
  mt_tissue_stim s = {.x0_mm = 0, .x1_mm = NV_STIM_MM, .y0_mm = 0,
                      .y1_mm = NV_STIM_MM, .z0_mm = 0, .z1_mm = NV_STIM_MM,
                      .start_ms = 0, .duration_ms = NV_STIM_MS,
                      .amplitude = NV_STIM, .period_ms = 0, .count = 1};
  if ((rc = mt_tissue_add_stim(t, &s))) {
    if (err)
      snprintf(err, errlen, "nversion: the stimulus was refused");
    mt_tissue_free(t);
    return rc;
  }
  long steps = 0;
  int done = 0;
  double t_now = 0;
  while (!done) {
    long k = lround(NV_CHUNK / dt_ms);
    if (k < 1)
      k = 1;
    if ((rc = mt_tissue_step(t, k))) {
      if (err)
        snprintf(err, errlen, "nversion: %s", mt_tissue_errmsg(t));
      mt_tissue_free(t);
      return rc;
    }
    steps += k;
    t_now = mt_tissue_time(t);
    const double *act = mt_tissue_activation(t);
    done = 1;
    for (int p = 0; p < MT_NVERSION_POINTS; p++) {
      out[p] = point_time(t, act, dx_mm, n, mt_nversion_point[p]);
      if (!isfinite(out[p]))
        done = 0;
    }
    if (!done && t_now >= NV_T_MAX) {
      if (err)
        snprintf(err, errlen, "nversion: not every point had fired by "
                 "%g ms", NV_T_MAX);
      mt_tissue_free(t);
      return MT_ESOLVER;
    }
  }
  if (stats) {
    stats->nodes = mt_tissue_nodes(t);
    stats->steps = steps;
    stats->t_end_ms = t_now;
    stats->dt_bound = mt_tissue_dt_bound(t);
  }
  mt_tissue_free(t);
  return 0;
}
