/*
** The fast cell kernels of the tissue engine (src/tissue/kernel.h) against
** the generic path (each node through the model's rhs and inf_tau:
** mt_tissue_config.generic_cells), which is the reference: both run the
** same splitting on the same grid, so they differ only by the kernels'
** arithmetic (reciprocals, fused multiply-adds, inline exp/log) and, for
** ten Tusscher-Panfilov 2006, by the linear interpolation in the voltage
** table. Tolerances are stated at each assertion; the table's own error is
** checked against the model's formulas (libm) at random potentials, and
** mt_vexp / mt_vlog against libm's exp and log.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/tissue.h"
#include "models/tentusscher2006.h"
#include "tissue/kernel.h"
#include "tissue/kernel_tp06.h"

static unsigned long long rng = 88172645463325252ULL;
static double uniform(double a, double b) /* xorshift64 */
{
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return a + (b - a) * (double)(rng >> 11) / 9007199254740992.0;
}

typedef struct run_out {
  double *act, *apd, *v;
  long n;
} run_out;

static void run_free(run_out *r) { free(r->act), free(r->apd), free(r->v); }

/* Run model on c (stimulus s) to t_end on the fast path or the generic
** one; activation times, APDs and V at t_end. */
static run_out run(const char *model, mt_tissue_config c,
                   const mt_tissue_stim *s, double t_end, int generic)
{
  const mt_model *m = mt_model_find(model);
  cr_assert_not_null(m);
  c.generic_cells = generic;
  mt_tissue *t;
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_tissue_create(m, &c, &t, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_tissue_add_stim(t, s), 0);
  cr_assert_eq(mt_tissue_run(t, t_end), 0, "%s", mt_tissue_errmsg(t));
  run_out r = {.n = mt_tissue_nodes(t)};
  size_t sz = (size_t)r.n * sizeof(double);
  r.act = malloc(sz), r.apd = malloc(sz), r.v = malloc(sz);
  cr_assert(r.act && r.apd && r.v);
  memcpy(r.act, mt_tissue_activation(t), sz);
  memcpy(r.apd, mt_tissue_apd(t), sz);
  memcpy(r.v, mt_tissue_state(t, 0), sz);
  mt_tissue_free(t);
  return r;
}

/* Largest |a - b| over the nodes where both are finite; the count of nodes
** where exactly one is finite in *mismatch. */
static double max_diff(const double *a, const double *b, long n,
                       long *mismatch, long *finite)
{
  double d = 0;
  *mismatch = 0, *finite = 0;
  for (long i = 0; i < n; i++) {
    if (isfinite(a[i]) != isfinite(b[i]))
      (*mismatch)++;
    else if (isfinite(a[i]))
      d = fmax(d, fabs(a[i] - b[i])), (*finite)++;
  }
  return d;
}

static void compare(const char *model, mt_tissue_config c,
                    const mt_tissue_stim *s, double t_end, double tol_act,
                    double tol_apd, double tol_v, long min_apd)
{
  run_out g = run(model, c, s, t_end, 1);
  run_out f = run(model, c, s, t_end, 0);
  long mis, fin;
  double da = max_diff(g.act, f.act, g.n, &mis, &fin);
  cr_assert_eq(mis, 0, "%s: activated on one path only at %ld nodes", model,
               mis);
  cr_assert_eq(fin, g.n, "%s: %ld of %ld nodes activated", model, fin, g.n);
  double dp = max_diff(g.apd, f.apd, g.n, &mis, &fin);
  cr_assert_eq(mis, 0, "%s: repolarised on one path only at %ld nodes",
               model, mis);
  cr_assert_geq(fin, min_apd, "%s: %ld nodes repolarised", model, fin);
  double dv = max_diff(g.v, f.v, g.n, &mis, &fin);
  fprintf(stderr, "%s fast vs generic: activation %.3g ms, APD %.3g ms, "
          "V at %g ms %.3g mV\n", model, da, dp, t_end, dv);
  cr_assert_leq(da, tol_act, "%s: activation times differ by %g ms", model,
                da);
  cr_assert_leq(dp, tol_apd, "%s: APDs differ by %g ms", model, dp);
  cr_assert_leq(dv, tol_v, "%s: V differs by %g mV", model, dv);
  run_free(&g), run_free(&f);
}

/*
** Mitchell-Schaeffer: a 2D sheet paced from its left edge, through the
** action potential (APD90 about 330 ms at the paper's parameters). The
** kernel computes what rhs and inf_tau do with the same table-free
** formulas: differences are rounding only (1e-9 ms, 1e-9 mV bounds).
*/
Test(tissue_kernel, mitchell_schaeffer_matches_the_generic_path)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 40, c.ny = 12, c.dx_mm = 0.25, c.dt_ms = 0.02;
  c.act_threshold_mV = -40;
  mt_tissue_stim s = {.x1_mm = 0.5, .y1_mm = 1e3, .duration_ms = 2,
                      .amplitude = 50, .count = 1};
  compare("mitchell_schaeffer_2003", c, &s, 420, 1e-9, 1e-9, 1e-9,
          c.nx * c.ny);
}

/*
** ten Tusscher-Panfilov 2006 on a cable through a whole action potential
** (APD90 about 300 ms): activation within 0.01 ms, APD within 0.1 ms,
** V within 0.1 mV at the end (the table's interpolation error, about 1e-6
** of each tabulated value, accumulated over 35,000 steps).
*/
Test(tissue_kernel, tentusscher_cable_matches_the_generic_path)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 40, c.dx_mm = 0.2, c.dt_ms = 0.01;
  mt_tissue_stim s = {.x1_mm = 0.4, .duration_ms = 2, .amplitude = 50,
                      .count = 1};
  compare("tentusscher_panfilov_2006_epi", c, &s, 350, 0.01, 0.1, 0.1,
          c.nx);
}

/*
** A 3D slab with fibres along x (the N-version set-up, coarser), two
** regions with their own parameters (the second with half g_Ks and g_to,
** as in remodelled tissue) and a non-tissue hole: the engine cuts blocks
** into runs at region and mask boundaries. The N-version stimulus drives
** the corner to about +500 mV, beyond the table (+100 mV), so the exact
** rows of the kernel's fallback are used there (clamping to the table's
** end instead gave 0.9 mV). Activation within 0.01 ms, V within 0.1 mV at
** 25 ms.
*/
Test(tissue_kernel, tentusscher_slab_with_regions_and_a_hole)
{
  enum { NX = 26, NY = 9, NZ = 4 };
  static unsigned char mask[NX * NY * NZ], region[NX * NY * NZ];
  double p1[TP_NP];
  memcpy(p1, mt_tp06_default_param, sizeof p1);
  p1[TP_G_KS] *= 0.5, p1[TP_G_TO] *= 0.5;
  const double *rp[1] = {p1};
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++) {
        int n = i + NX * (j + NY * k);
        mask[n] = !(i >= 10 && i < 13 && j >= 3 && j < 6);
        region[n] = (i + j) % 7 < 3; /* runs of 3 and 4 along x */
      }
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = NX, c.ny = NY, c.nz = NZ, c.dx_mm = 0.2, c.dt_ms = 0.01;
  c.D_l = 0.0953, c.D_t = 0.0126;
  c.mask = mask, c.region = region, c.n_region = 1, c.region_param = rp;
  mt_tissue_stim s = {.x1_mm = 0.6, .y1_mm = 0.6, .z1_mm = 0.6,
                      .duration_ms = 2, .amplitude = 50000.0 / 140.0,
                      .count = 1};
  run_out g = run("tentusscher_panfilov_2006_epi", c, &s, 25, 1);
  run_out f = run("tentusscher_panfilov_2006_epi", c, &s, 25, 0);
  long mis, fin, holes = 0;
  double da = max_diff(g.act, f.act, g.n, &mis, &fin);
  double dv = max_diff(g.v, f.v, g.n, &mis, &fin);
  for (long i = 0; i < g.n; i++)
    if (!mask[i]) {
      holes++;
      cr_assert_eq(f.v[i], -85.23, /* the CellML initial V (init) */
                   "a non-tissue node changed: %g mV", f.v[i]);
    }
  fprintf(stderr, "slab fast vs generic: activation %.3g ms, V %.3g mV\n",
          da, dv);
  cr_assert_gt(holes, 0);
  cr_assert_eq(mis, 0);
  cr_assert_leq(da, 0.01, "activation times differ by %g ms", da);
  cr_assert_leq(dv, 0.1, "V differs by %g mV", dv);
  run_free(&g), run_free(&f);
}

/*
** The table against the model's functions at random V in [-100, 60] mV
** (dt 0.01 ms): each entry's interpolation error below 1e-5 of the
** entry's largest magnitude over the range. Linear interpolation errs by
** at most h^2 / 8 max |f''| at step h = 0.05 mV: for an entry like
** exp(V / s) that is h^2 / (8 s^2) of it, 1.4e-6 at s = 5 mV (the
** steepest slope factors of the gates' functions); h's and f2's entries,
** sums of exponentials with steeper pieces (310000 exp(0.3485 V) in h's
** rate, s = 2.9 mV: 3.7e-5 relative locally, less against the scale),
** come closest, at 7e-6. The interval (-40.05, -40) mV, where h and j's
** rates jump (as published), is left out: there the table blends the two
** branches.
*/
Test(tissue_kernel, tentusscher_table_error_is_bounded)
{
  const mt_tissue_kernel *k = mt_tissue__kernel_find(
      &mt_model_tentusscher_panfilov_2006_epi);
  if (!k)
    cr_skip_test("no fast kernel on this processor");
  void *tab;
  double dt = 0.01;
  cr_assert_eq(k->prepare(mt_tp06_default_param, dt, &tab), 0);
  const double *tb = tab;
  double scale[TAB_NF] = {0}, err[TAB_NF] = {0};
  for (int r = 0; r < TAB_N; r++) {
    double V = TAB_VMIN + r * TAB_DV;
    if (V >= -100 && V <= 60)
      for (int f = 0; f < TAB_NF; f++)
        scale[f] = fmax(scale[f], fabs(tb[r * TAB_NF + f]));
  }
  for (int n = 0; n < 200000; n++) {
    double V = uniform(-100, 60), row[TAB_NF];
    if (V > -40.05 && V < -40)
      continue;
    double u = (V - TAB_VMIN) / TAB_DV;
    int r = (int)u;
    double w = u - r;
    mt_tp06_tab_row(mt_tp06_default_param, dt, V, row);
    for (int f = 0; f < TAB_NF; f++) {
      const double *t0 = tb + r * TAB_NF + f;
      double e = fabs(t0[0] + w * (t0[TAB_NF] - t0[0]) - row[f]);
      err[f] = fmax(err[f], e / scale[f]);
    }
  }
  fprintf(stderr, "table: interpolation error / scale per entry:");
  for (int f = 0; f < TAB_NF; f++)
    fprintf(stderr, " %.2g", err[f]);
  fprintf(stderr, "\n");
  for (int f = 0; f < TAB_NF; f++)
    cr_assert_leq(err[f], 1e-5, "entry %d: error %g of its scale", f,
                  err[f]);
  k->release(tab);
}

/* mt_vexp and mt_vlog against libm at random arguments: relative error
** below 1e-15 (libm's are correctly rounded to within 1 ulp, 2.2e-16). */
Test(tissue_kernel, inline_exp_and_log_match_libm)
{
  double ee = 0, el = 0;
  for (int n = 0; n < 1000000; n++) {
    double x = uniform(-700, 700);
    ee = fmax(ee, fabs(mt_vexp(x) - exp(x)) / exp(x));
    double y = exp(uniform(-30, 30));
    el = fmax(el, fabs(mt_vlog(y) - log(y)) / fmax(fabs(log(y)), 1e-300));
  }
  fprintf(stderr, "mt_vexp %.3g, mt_vlog %.3g relative\n", ee, el);
  cr_assert_leq(ee, 1e-15);
  cr_assert_leq(el, 1e-15);
  cr_assert_eq(mt_vexp(1000), mt_vexp(708)); /* clamped, finite */
  cr_assert(isfinite(mt_vexp(-1000)) && mt_vexp(-1000) > 0);
}

/* A cell whose state goes bad stops the run with its node named, on the
** fast path as on the generic one. */
Test(tissue_kernel, a_failing_node_is_named)
{
  const mt_model *m = mt_model_find("tentusscher_panfilov_2006_epi");
  for (int generic = 0; generic < 2; generic++) {
    mt_tissue_config c;
    mt_tissue_config_init(&c);
    c.nx = 30, c.ny = 20, c.dx_mm = 0.2, c.dt_ms = 0.01;
    c.generic_cells = generic;
    mt_tissue *t;
    char err[MT_ERRMSG_MAX];
    cr_assert_eq(mt_tissue_create(m, &c, &t, err, sizeof err), 0);
    mt_tissue_state(t, TP_CAI)[mt_tissue_index(t, 7, 11, 0)] = -1e-3;
    cr_assert_eq(mt_tissue_step(t, 10), MT_ESOLVER);
    cr_assert(strstr(mt_tissue_errmsg(t), "(7, 11, 0)"), "%s",
              mt_tissue_errmsg(t));
    mt_tissue_free(t);
  }
}

/* Two tissues of model m on c, stimulated alike (left edge). */
static void pair(const char *model, mt_tissue_config *c, mt_tissue *t[2])
{
  const mt_model *m = mt_model_find(model);
  char err[MT_ERRMSG_MAX];
  mt_tissue_stim s = {.x1_mm = 0.5, .y1_mm = 1e3, .duration_ms = 2,
                      .amplitude = 50, .count = 1};
  for (int k = 0; k < 2; k++) {
    cr_assert_eq(mt_tissue_create(m, c, &t[k], err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(mt_tissue_add_stim(t[k], &s), 0);
  }
}

/* Every state and activation time of two tissues equal bit for bit. */
static void assert_same(mt_tissue *a, mt_tissue *b, int n_state)
{
  long n = mt_tissue_nodes(a), fired = 0;
  for (int s = 0; s < n_state; s++)
    for (long i = 0; i < n; i++)
      cr_assert_eq(mt_tissue_state(a, s)[i], mt_tissue_state(b, s)[i],
                   "state %d of node %ld", s, i);
  for (long i = 0; i < n; i++) {
    double x = mt_tissue_activation(a)[i], y = mt_tissue_activation(b)[i];
    cr_assert(x == y || (isnan(x) && isnan(y)), "node %ld: %g, %g", i, x, y);
    fired += isfinite(x);
  }
  cr_assert(fired > 0 && fired < n, "%ld of %ld fired", fired, n);
}

/* The kernel path gives the same bits on 1 and 3 threads (each node's
** update is independent of the partition). */
Test(tissue_kernel, results_do_not_depend_on_the_thread_count)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = c.ny = 80, c.dx_mm = 0.2, c.dt_ms = 0.01; /* >= 4096 nodes */
  mt_tissue *t[2];
  pair("tentusscher_panfilov_2006_epi", &c, t);
  mt_tissue_free(t[1]);
  c.threads = 3;
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_tissue_create(mt_model_find("tentusscher_panfilov_2006_epi"),
                                &c, &t[1], err, sizeof err), 0);
  mt_tissue_stim s = {.x1_mm = 0.5, .y1_mm = 1e3, .duration_ms = 2,
                      .amplitude = 50, .count = 1};
  cr_assert_eq(mt_tissue_add_stim(t[1], &s), 0);
  for (int k = 0; k < 2; k++)
    cr_assert_eq(mt_tissue_run(t[k], 6), 0);
  assert_same(t[0], t[1], TP_NX);
  mt_tissue_free(t[0]), mt_tissue_free(t[1]);
}

/* An explicit step fuses the diffusion update of one step with the
** reaction of the next; steps taken in calls of 1, 2, 3 ... must give the
** bits of one call. */
Test(tissue_kernel, steps_in_pieces_equal_steps_at_once)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 40, c.ny = 12, c.dx_mm = 0.25, c.dt_ms = 0.02;
  c.act_threshold_mV = -40;
  mt_tissue *t[2];
  pair("mitchell_schaeffer_2003", &c, t);
  cr_assert_eq(mt_tissue_step(t[0], 500), 0);
  long done = 0;
  for (long k = 1; done < 500; k++) {
    long m = done + k > 500 ? 500 - done : k;
    cr_assert_eq(mt_tissue_step(t[1], m), 0);
    done += m;
  }
  assert_same(t[0], t[1], 2);
  mt_tissue_free(t[0]), mt_tissue_free(t[1]);
}

/* The semi-implicit diffusion uses the kernels too: Mitchell-Schaeffer at
** dt 0.1 ms (beyond the explicit bound 0.078 ms), fast against generic,
** activation times within 1e-9 ms (rounding only, as above). */
Test(tissue_kernel, semi_implicit_path_matches_the_generic_path)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 40, c.ny = 12, c.dx_mm = 0.25, c.dt_ms = 0.1;
  c.diffusion = MT_TISSUE_SEMI_IMPLICIT, c.act_threshold_mV = -40;
  mt_tissue_stim s = {.x1_mm = 0.5, .y1_mm = 1e3, .duration_ms = 2,
                      .amplitude = 50, .count = 1};
  run_out g = run("mitchell_schaeffer_2003", c, &s, 40, 1);
  run_out f = run("mitchell_schaeffer_2003", c, &s, 40, 0);
  long mis, fin;
  double da = max_diff(g.act, f.act, g.n, &mis, &fin);
  cr_assert_eq(mis, 0);
  cr_assert_eq(fin, g.n, "%ld of %ld activated", fin, g.n);
  cr_assert_leq(da, 1e-9, "activation times differ by %g ms", da);
  run_free(&g), run_free(&f);
}
