/*
** The monodomain tissue engine (medtwin/tissue.h, docs/tissue.md).
** References: the cosine eigenmode of the no-flux Laplacian (exact for the
** discrete operator too: eigenvalue -4 D sin^2(k dx / 2) / dx^2 per axis);
** the growth 2 D t of the covariance of a spreading bump (exact for any
** consistent second-order stencil on quadratics); the Nagumo front speed c =
** sqrt(A D / 2)(beta - 2 alpha) (Keener & Sneyd, Mathematical Physiology,
** 2nd ed., 2009, section 6.2) for the merged cell models' planar waves
** (closed forms and parameters in docs/models/aliev_panfilov_1996.md and
** mitchell_schaeffer_2003.md, section 4a); the explicit bound 0.0415 ms of
** the N-version benchmark at dx 0.1 mm (Niederer et al. 2011, as issue 11
** states it).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/tissue.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* A passive membrane: dV/dt = I_stim (diffusion alone). */
static const mt_var passive_state[] = {{"V", "mV", "potential", -200, 200, 0}};
static const mt_var passive_input[] = {
    {"I_stim", "uA/cm2", "applied current", -1e6, 1e6, 0}};
static int passive_rhs(double t, const double *x, const double *p,
                       const double *u, const double *mem, void *ws,
                       double *dx)
{
  (void)t, (void)x, (void)p, (void)mem, (void)ws;
  dx[0] = u[0];
  return 0;
}
static void passive_obs(double t, const double *x, const double *p,
                        const double *mem, double *y)
{
  (void)t, (void)p, (void)mem;
  y[0] = x[0];
}
static const mt_model passive = {
    .version = MT_MODEL_VERSION, .name = "passive", .doc = "test",
    .time_unit = "ms", .reference = "test", .n_state = 1, .n_input = 1,
    .n_obs = 1, .state = passive_state, .input = passive_input,
    .obs = passive_state, .rhs = passive_rhs, .observe = passive_obs};

/* A FitzHugh-Nagumo-like cell, V = -80 + 100 u: du/dt = k u (1 - u)(u - a)
** - u w + I / 100, w a gate with inf = k u, tau = 1 / eps (Rush-Larsen). */
static const mt_var fhn_state[] = {{"V", "mV", "potential", -200, 200, 0},
                                   {"w", "1", "recovery", -10, 100, 0}};
static const mt_var fhn_param[] = {{"k", "1/ms", "", 0, 10, 0},
                                   {"a", "1", "", 0, 1, 0},
                                   {"eps", "1/ms", "", 0, 1, 0}};
static void fhn_gate(double t, const double *x, const double *p, double *inf,
                     double *tau)
{
  (void)t;
  inf[0] = p[0] * (x[0] + 80) / 100;
  tau[0] = p[2] > 0 ? 1 / p[2] : INFINITY;
}
static int fhn_rhs(double t, const double *x, const double *p, const double *u,
                   const double *mem, void *ws, double *dx)
{
  (void)mem, (void)ws;
  double v = (x[0] + 80) / 100, inf, tau;
  dx[0] = 100 * (p[0] * v * (1 - v) * (v - p[1]) - v * x[1]) + u[0];
  fhn_gate(t, x, p, &inf, &tau);
  dx[1] = (inf - x[1]) / tau;
  return 0;
}
static int fhn_init(const double *p, double *x0, double *mem, double *u)
{
  (void)p, (void)mem;
  x0[0] = -80, x0[1] = 0, u[0] = 0;
  return 0;
}
static const int fhn_gate_index[] = {1};
static const mt_gates fhn_gates = {1, fhn_gate_index, fhn_gate};
static const mt_model fhn = {
    .version = MT_MODEL_VERSION, .name = "fhn_test", .doc = "test",
    .time_unit = "ms", .reference = "test", .n_state = 2, .n_param = 3,
    .n_input = 1, .n_obs = 1, .state = fhn_state, .param = fhn_param,
    .input = passive_input, .obs = passive_state, .rhs = fhn_rhs,
    .observe = passive_obs, .init = fhn_init, .gates = &fhn_gates};
static const double fhn_p[3] = {0.62, 0.15, 0.002};

static mt_tissue *make(const mt_model *m, mt_tissue_config *c)
{
  mt_tissue *t;
  char err[MT_ERRMSG_MAX] = "";
  int rc = mt_tissue_create(m, c, &t, err, sizeof err);
  cr_assert_eq(rc, 0, "create: %s", err);
  return t;
}

static double mode(double kdx, int i, int j, int l, int dim)
{
  return cos(kdx * i) * (dim > 1 ? cos(kdx * j) : 1) *
         (dim > 2 ? cos(kdx * l) : 1);
}

/* Max error of the cos(pi x / L) (x cos(pi y / L)) mode at T against the
** continuous decay exp(-D k^2 d T); *disc: against the discrete operator's
** exact explicit amplification. */
static double cosine_mode(int nodes, int dim, double T, double *disc)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  double L = 2.0, D = 0.1;
  c.nx = nodes, c.ny = dim > 1 ? nodes : 1, c.nz = dim > 2 ? nodes : 1;
  c.dx_mm = L / (nodes - 1);
  c.D_l = c.D_t = D;
  c.dt_ms = 0.1 * c.dx_mm * c.dx_mm / D;
  c.dt_ms = T / ceil(T / c.dt_ms);
  mt_tissue *t = make(&passive, &c);
  double k = M_PI / L, *v = mt_tissue_state(t, 0);
  for (int l = 0; l < c.nz; l++)
    for (int j = 0; j < c.ny; j++)
      for (int i = 0; i < c.nx; i++)
        v[i + c.nx * (j + c.ny * l)] = mode(k * c.dx_mm, i, j, l, dim);
  cr_assert_eq(mt_tissue_run(t, T), 0);
  double lh = -4 * D * pow(sin(k * c.dx_mm / 2), 2) / (c.dx_mm * c.dx_mm);
  long n = lround(T / c.dt_ms);
  double amp_d = pow(1 + c.dt_ms * dim * lh, (double)n),
         amp_c = exp(-D * k * k * dim * T), e = 0, ed = 0;
  for (long i = 0; i < mt_tissue_nodes(t); i++) {
    double shape = mode(k * c.dx_mm, (int)(i % c.nx), (int)(i / c.nx % c.ny),
                        (int)(i / ((long)c.nx * c.ny)), dim);
    e = fmax(e, fabs(v[i] - amp_c * shape));
    ed = fmax(ed, fabs(v[i] - amp_d * shape));
  }
  *disc = ed;
  mt_tissue_free(t);
  return e;
}

Test(tissue, cosine_mode_is_an_exact_eigenmode_and_converges_second_order)
{
  for (int dim = 1; dim <= 2; dim++) {
    double d1, d2, d3;
    double e1 = cosine_mode(11, dim, 5.0, &d1),
           e2 = cosine_mode(21, dim, 5.0, &d2),
           e3 = cosine_mode(41, dim, 5.0, &d3);
    /* the discrete eigenmode: exact to rounding */
    cr_assert_lt(fmax(d1, fmax(d2, d3)), 1e-12, "dim %d: %g %g %g", dim, d1,
                 d2, d3);
    /* against the continuous decay: order 2 (dt scales with dx^2) */
    double p1 = log2(e1 / e2), p2 = log2(e2 / e3);
    cr_log_info("cosine mode %dD: errors %.3g %.3g %.3g, orders %.3f %.3f",
                dim, e1, e2, e3, p1, p2);
    cr_assert(p1 > 1.9 && p1 < 2.1 && p2 > 1.9 && p2 < 2.1,
              "dim %d: errors %g %g %g, orders %g %g", dim, e1, e2, e3, p1, p2);
    cr_assert_lt(e3, 1e-3);
  }
  double d1, d2, e1 = cosine_mode(11, 3, 2.0, &d1),
                 e2 = cosine_mode(21, 3, 2.0, &d2);
  cr_assert_lt(fmax(d1, d2), 1e-12, "3D: %g %g", d1, d2);
  cr_log_info("cosine mode 3D: errors %.3g %.3g, order %.3f", e1, e2,
              log2(e1 / e2));
  cr_assert(log2(e1 / e2) > 1.9 && log2(e1 / e2) < 2.1, "3D: %g %g", e1, e2);
}

/* 3D, fibres along (1, 2, 2) / 3 (every cross term of the 27-point
** stencil): the covariance of a bump grows by 2 D t. */
Test(tissue, anisotropic_spread_in_3d_follows_the_fibre_tensor)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  int n = 51;
  double dx = 0.2, h = (n - 1) * dx / 2, T = 0.5,
         f[3] = {1 / 3.0, 2 / 3.0, 2 / 3.0};
  c.nx = c.ny = c.nz = n, c.dx_mm = dx, c.dt_ms = 0.01, c.D_l = 0.2,
  c.D_t = 0.02;
  long N = (long)n * n * n;
  double *fib = malloc(3 * (size_t)N * sizeof *fib);
  for (long i = 0; i < N; i++)
    fib[3 * i] = 1, fib[3 * i + 1] = 2, fib[3 * i + 2] = 2; /* normalised */
  c.fibre = fib;
  mt_tissue *t = make(&passive, &c);
  free(fib);
  double *v = mt_tissue_state(t, 0);
  const double *w = mt_tissue_volume(t);
  for (long i = 0; i < N; i++) {
    double x = (i % n) * dx - h, y = (i / n % n) * dx - h,
           z = (i / n / n) * dx - h;
    v[i] = exp(-(x * x + y * y + z * z) / (2 * 0.6 * 0.6));
  }
  double m0[6] = {0}, m1[6] = {0}, mass = 0;
  for (int pass = 0; pass < 2; pass++) {
    double *m = pass ? m1 : m0;
    if (pass)
      cr_assert_eq(mt_tissue_run(t, T), 0);
    for (long i = 0; i < N; i++) {
      double r[3] = {(i % n) * dx - h, (i / n % n) * dx - h,
                     (i / n / n) * dx - h};
      double q = w[i] * v[i];
      mass += pass ? 0 : q;
      m[0] += q * r[0] * r[0], m[1] += q * r[1] * r[1], m[2] += q * r[2] * r[2];
      m[3] += q * r[0] * r[1], m[4] += q * r[0] * r[2], m[5] += q * r[1] * r[2];
    }
  }
  int pq[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
  for (int k = 0; k < 6; k++) {
    int a = pq[k][0], b = pq[k][1];
    double want = (a == b ? 0.02 : 0) + 0.18 * f[a] * f[b],
           got = (m1[k] - m0[k]) / (2 * T * mass);
    cr_assert(fabs(got - want) < 1e-6 * 0.2, "moment %d%d: %.9g want %.9g",
              a, b, got, want);
  }
  mt_tissue_free(t);
}

/* A 2D sheet with fibres at angle th, a Gaussian bump at its centre. */
static mt_tissue *bump(double th, int n, double dx, double dt,
                       mt_tissue_diffusion how, const unsigned char *mask)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = c.ny = n, c.dx_mm = dx, c.dt_ms = dt, c.D_l = 0.2, c.D_t = 0.02;
  c.diffusion = how;
  c.mask = mask;
  double *f = malloc(3 * (size_t)n * n * sizeof *f);
  for (long i = 0; i < (long)n * n; i++)
    f[3 * i] = cos(th), f[3 * i + 1] = sin(th), f[3 * i + 2] = 0;
  c.fibre = f;
  mt_tissue *t = make(&passive, &c);
  free(f);
  double *v = mt_tissue_state(t, 0), h = (n - 1) * dx / 2;
  for (int j = 0; j < n; j++)
    for (int i = 0; i < n; i++) {
      double x = i * dx - h, y = j * dx - h;
      v[i + n * j] = exp(-(x * x + y * y) / (2 * 0.5 * 0.5));
    }
  return t;
}

static void moments(mt_tissue *t, int n, double dx, double m[3])
{
  const double *v = mt_tissue_state(t, 0), *w = mt_tissue_volume(t);
  double h = (n - 1) * dx / 2;
  m[0] = m[1] = m[2] = 0;
  for (int j = 0; j < n; j++)
    for (int i = 0; i < n; i++) {
      double x = i * dx - h, y = j * dx - h, q = w[i + n * j] * v[i + n * j];
      m[0] += q * x * x, m[1] += q * y * y, m[2] += q * x * y;
    }
}

Test(tissue, anisotropic_spread_follows_the_fibre_tensor)
{
  int n = 121;
  double dx = 0.1, T = 2.0, th = M_PI / 6;
  mt_tissue *t = bump(th, n, dx, 0.005, MT_TISSUE_EXPLICIT, NULL);
  double m0[3], m1[3], mass0 = 0, mass1 = 0;
  const double *v = mt_tissue_state(t, 0), *w = mt_tissue_volume(t);
  for (long i = 0; i < (long)n * n; i++)
    mass0 += w[i] * v[i];
  moments(t, n, dx, m0);
  cr_assert_eq(mt_tissue_run(t, T), 0);
  moments(t, n, dx, m1);
  for (long i = 0; i < (long)n * n; i++)
    mass1 += w[i] * v[i];
  /* d/dt of the second moments = 2 D mass: D = D_t I + (D_l - D_t) f f^T */
  double c = cos(th), s = sin(th), dl = 0.2, dt = 0.02;
  double want[3] = {dt + (dl - dt) * c * c, dt + (dl - dt) * s * s,
                    (dl - dt) * c * s};
  for (int k = 0; k < 3; k++) {
    double got = (m1[k] - m0[k]) / (2 * T * mass0);
    cr_assert(fabs(got - want[k]) < 1e-6 * dl, "moment %d: %.9g want %.9g",
              k, got, want[k]);
  }
  cr_assert(fabs(mass1 - mass0) < 1e-12 * mass0);
  mt_tissue_free(t);
}

Test(tissue, rotated_fibres_give_the_rotated_solution)
{
  int n = 41;
  double dx = 0.1;
  mt_tissue *a = bump(0, n, dx, 0.01, MT_TISSUE_EXPLICIT, NULL),
            *b = bump(M_PI / 2, n, dx, 0.01, MT_TISSUE_EXPLICIT, NULL);
  cr_assert_eq(mt_tissue_run(a, 1.0), 0);
  cr_assert_eq(mt_tissue_run(b, 1.0), 0);
  const double *va = mt_tissue_state(a, 0), *vb = mt_tissue_state(b, 0);
  double e = 0, spread = 0;
  for (int j = 0; j < n; j++)
    for (int i = 0; i < n; i++) {
      e = fmax(e, fabs(va[i + n * j] - vb[j + n * i]));
      spread = fmax(spread, fabs(va[i + n * j] - va[j + n * i]));
    }
  cr_assert_lt(e, 1e-13);
  cr_assert_gt(spread, 1e-3); /* and the spread is anisotropic */
  mt_tissue_free(a), mt_tissue_free(b);
}

Test(tissue, mass_is_conserved_with_a_mask_explicit_and_semi_implicit)
{
  int n = 41;
  unsigned char mask[41 * 41];
  for (int j = 0; j < n; j++)
    for (int i = 0; i < n; i++)
      mask[i + n * j] = !(i > 25 && i < 30 && j > 5 && j < 35);
  for (int how = 0; how < 2; how++) {
    mt_tissue *t = bump(0.7, n, 0.1, how ? 0.1 : 0.01,
                        how ? MT_TISSUE_SEMI_IMPLICIT : MT_TISSUE_EXPLICIT,
                        mask);
    double *v = mt_tissue_state(t, 0);
    for (int i = 0; i < n * n; i++)
      if (!mask[i])
        v[i] = 7;
    const double *w = mt_tissue_volume(t);
    double m0 = 0, m1 = 0, b2 = 0;
    for (int i = 0; i < n * n; i++) {
      m0 += mask[i] ? w[i] * v[i] : 0;
      b2 += w[i] * v[i] * w[i] * v[i];
    }
    cr_assert_eq(mt_tissue_run(t, 3.0), 0, "%s", mt_tissue_errmsg(t));
    for (int i = 0; i < n * n; i++) {
      m1 += mask[i] ? w[i] * v[i] : 0;
      if (!mask[i])
        cr_assert_eq(v[i], 7); /* non-tissue is left alone */
    }
    /* exact up to rounding explicitly; semi-implicitly each step leaves a
    ** residual r with |r| <= cg_tol |b| = 1e-10 |M V|, and the mass moves by
    ** sum r <= sqrt(N) |r|: over 30 steps at most 30 sqrt(N) 1e-10 |M V0|
    ** (|M V| decreases under diffusion) */
    double bound = how ? 30 * n * 1e-10 * sqrt(b2) : 1e-12 * m0;
    cr_assert(fabs(m1 - m0) < bound, "%d: %.15g %.15g (bound %g)", how, m0,
              m1, bound);
    mt_tissue_free(t);
  }
}

/* Max |V| difference between explicit and semi-implicit at step dt. */
static double exp_vs_imp(double dt)
{
  int n = 41;
  mt_tissue *a = bump(0.5, n, 0.1, dt, MT_TISSUE_EXPLICIT, NULL),
            *b = bump(0.5, n, 0.1, dt, MT_TISSUE_SEMI_IMPLICIT, NULL);
  cr_assert_eq(mt_tissue_run(a, 1.0), 0);
  cr_assert_eq(mt_tissue_run(b, 1.0), 0);
  const double *va = mt_tissue_state(a, 0), *vb = mt_tissue_state(b, 0);
  double e = 0;
  for (int i = 0; i < n * n; i++)
    e = fmax(e, fabs(va[i] - vb[i]));
  mt_tissue_free(a), mt_tissue_free(b);
  return e;
}

Test(tissue, explicit_and_semi_implicit_agree_to_first_order_in_dt)
{
  double e1 = exp_vs_imp(0.01), e2 = exp_vs_imp(0.005);
  /* both first order in time: the gap halves with dt */
  cr_assert(e1 < 2e-3 && e1 / e2 > 1.8 && e1 / e2 < 2.2, "%g %g", e1, e2);
}

Test(tissue, explicit_beyond_the_stability_bound_is_refused)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = c.ny = 20, c.dx_mm = 0.1, c.D_l = c.D_t = 0.1;
  c.dt_ms = 0.026; /* isotropic 2D bound dx^2 / (4 D) = 0.025 ms */
  mt_tissue *t;
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_tissue_create(&passive, &c, &t, err, sizeof err), MT_EINVAL);
  cr_assert_null(t);
  cr_assert(strstr(err, "dt_ms") && strstr(err, "0.025"), "%s", err);
  c.dt_ms = 0.025;
  t = make(&passive, &c);
  cr_assert_float_eq(mt_tissue_dt_bound(t), 0.025, 1e-12);
  mt_tissue_free(t);
  c.dt_ms = 0.2, c.diffusion = MT_TISSUE_SEMI_IMPLICIT;
  t = make(&passive, &c);
  mt_tissue_free(t);
  /* the N-version slab at dx 0.1 mm: issue 11 gives 0.0415 ms */
  mt_tissue_config_init(&c);
  c.nx = 21, c.ny = 8, c.nz = 4, c.dx_mm = 0.1, c.D_l = 0.0953,
  c.D_t = 0.0126, c.dt_ms = 0.05;
  cr_assert_eq(mt_tissue_create(&passive, &c, &t, err, sizeof err), MT_EINVAL);
  c.dt_ms = 0.04;
  t = make(&passive, &c);
  cr_assert(fabs(mt_tissue_dt_bound(t) - 0.0415) < 0.0005, "%g",
            mt_tissue_dt_bound(t));
  mt_tissue_free(t);
}

Test(tissue, bad_input_is_refused_with_the_field_named)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  mt_tissue *t;
  char err[MT_ERRMSG_MAX] = "";
  c.nx = 0;
  cr_assert_eq(mt_tissue_create(&passive, &c, &t, err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "nx"), "%s", err);
  c.nx = 5, c.dx_mm = -1;
  cr_assert_eq(mt_tissue_create(&passive, &c, &t, err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "dx_mm"), "%s", err);
  c.dx_mm = 0.1;
  cr_assert_eq(mt_tissue_create(&fhn, &c, &t, err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "param"), "%s", err); /* no shipped parameters */
  t = make(&passive, &c);
  mt_tissue_stim s = {.x0_mm = 5, .x1_mm = 6, .duration_ms = 1, .count = 1};
  cr_assert_eq(mt_tissue_add_stim(t, &s), MT_EINVAL); /* outside the grid */
  s.x0_mm = 0, s.duration_ms = 0;
  cr_assert_eq(mt_tissue_add_stim(t, &s), MT_EINVAL);
  mt_tissue_free(t);
}

Test(tissue, stimulus_train_delivers_count_pulses_of_amplitude_times_duration)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 3, c.dt_ms = 0.01, c.D_l = c.D_t = 0;
  mt_tissue *t = make(&passive, &c);
  mt_tissue_stim s = {.x0_mm = 0, .x1_mm = 0, .start_ms = 1,
                      .duration_ms = 2, .amplitude = 3, .period_ms = 10,
                      .count = 4};
  cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
  cr_assert_eq(mt_tissue_run(t, 13.5), 0);
  const double *v = mt_tissue_state(t, 0);
  cr_assert_float_eq(v[0], 2 * 3 * 2, 1e-9); /* pulses at 1 and 11 ms */
  cr_assert_eq(v[1], 0);
  cr_assert_eq(mt_tissue_run(t, 100), 0);
  cr_assert_float_eq(v[0], 4 * 3 * 2, 1e-9);
  mt_tissue_free(t);
}

/* 2D sheet of the FHN-like cell stimulated in a corner: activation grows
** with distance, along rows, columns and the diagonal. */
Test(tissue, activation_is_monotone_with_distance_from_the_stimulus)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = c.ny = 41, c.dx_mm = 0.2, c.dt_ms = 0.02, c.D_l = c.D_t = 0.1;
  c.param = fhn_p, c.act_threshold_mV = -40;
  mt_tissue *t = make(&fhn, &c);
  mt_tissue_stim s = {.x1_mm = 1.0, .y1_mm = 1.0, .start_ms = 1,
                      .duration_ms = 2, .amplitude = 50, .count = 1};
  cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
  cr_assert_eq(mt_tissue_run(t, 150), 0);
  const double *act = mt_tissue_activation(t);
  for (int i = 0; i < 41 * 41; i++)
    cr_assert(isfinite(act[i]), "node %d never activated", i);
  for (int k = 6; k < 40; k++) {
    cr_assert_gt(act[k + 1], act[k]);
    cr_assert_gt(act[41 * (k + 1)], act[41 * k]);
    cr_assert_gt(act[(k + 1) * 42], act[k * 42]);
  }
  /* isotropic: the same along x and y */
  cr_assert_float_eq(act[40], act[41 * 40], 1e-9);
  mt_tissue_free(t);
}

/* Planar-wave speed in a 1D cable of model m at spacing dx (mm/ms). */
static double cable_cv(const mt_model *m, const double *p, double D,
                       double dx)
{
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = (int)lround(10.0 / dx) + 1, c.dx_mm = dx, c.D_l = c.D_t = D;
  c.dt_ms = fmin(0.2 * dx * dx / D, 0.01), c.param = p;
  c.act_threshold_mV = -40;
  mt_tissue *t = make(m, &c);
  mt_tissue_stim s = {.x1_mm = 0.5, .start_ms = 0, .duration_ms = 2,
                      .amplitude = 50, .count = 1};
  cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
  cr_assert_eq(mt_tissue_run(t, 10.0 / 0.05), 0, "%s", mt_tissue_errmsg(t));
  /* from 3 to 7 mm, away from the stimulus and the far end */
  long a = lround(3.0 / dx), b = lround(7.0 / dx);
  double cv = mt_tissue_cv(t, a, b, (int)(b - a + 1));
  mt_tissue_free(t);
  return cv;
}

Test(tissue, planar_wave_speed_of_the_fhn_cell_converges_to_nagumo)
{
  /* eps = 0: the bistable cubic, c = sqrt(k D / 2)(1 - 2a) */
  double p[3] = {0.62, 0.15, 0}, D = 0.1, want = sqrt(0.62 * D / 2) * 0.7;
  double e1 = fabs(cable_cv(&fhn, p, D, 0.4) - want),
         e2 = fabs(cable_cv(&fhn, p, D, 0.2) - want),
         e3 = fabs(cable_cv(&fhn, p, D, 0.1) - want);
  cr_assert(e3 < e2 && e2 < e1 && e3 < 0.01 * want, "%g %g %g (c %g)", e1,
            e2, e3, want);
}

/* The merged phenomenological models against their closed-form speeds
** (docs/models/<name>.md, section 4a): 0.3898 sqrt(D) and 1.0866 sqrt(D). */
static void model_cv(const char *name, double coef)
{
  const mt_model *m = mt_model_find(name);
  cr_assert_not_null(m, "%s not registered", name);
  double D = 0.1, want = coef * sqrt(D);
  double c1 = cable_cv(m, NULL, D, 0.1), c2 = cable_cv(m, NULL, D, 0.05),
         c3 = cable_cv(m, NULL, D, 0.025);
  double e1 = fabs(c1 - want), e2 = fabs(c2 - want), e3 = fabs(c3 - want);
  (void)e2; /* the middle one may be on either side */
  cr_assert(e3 < e1 && e3 < 0.02 * want, "%s: %g %g %g mm/ms, want %g",
            name, c1, c2, c3, want);
}

Test(tissue, planar_wave_speed_aliev_panfilov)
{
  model_cv("aliev_panfilov_1996", 0.3898);
}
Test(tissue, planar_wave_speed_mitchell_schaeffer)
{
  model_cv("mitchell_schaeffer_2003", 1.0866);
}

/* Semi-implicit diffusion at 8x the explicit bound keeps the planar-wave
** speed of mitchell_schaeffer_2003 within 3 % of its closed form (0.3436
** mm/ms at D 0.1; the splitting error grows with dt). */
Test(tissue, semi_implicit_beyond_the_bound_keeps_the_wave_speed)
{
  const mt_model *m = mt_model_find("mitchell_schaeffer_2003");
  cr_assert_not_null(m);
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 201, c.dx_mm = 0.05, c.D_l = c.D_t = 0.1, c.dt_ms = 0.1;
  c.diffusion = MT_TISSUE_SEMI_IMPLICIT, c.act_threshold_mV = -40;
  mt_tissue *t = make(m, &c);
  cr_assert_gt(c.dt_ms, 7.9 * mt_tissue_dt_bound(t));
  mt_tissue_stim s = {.x1_mm = 0.5, .duration_ms = 2, .amplitude = 50,
                      .count = 1};
  cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
  cr_assert_eq(mt_tissue_run(t, 60), 0, "%s", mt_tissue_errmsg(t));
  cr_assert_gt(mt_tissue_cg_iterations(t), 0);
  double cv = mt_tissue_cv(t, 60, 140, 81);
  cr_log_info("semi-implicit dt 0.1 ms: cv %.5f mm/ms, %d CG iterations",
              cv, mt_tissue_cg_iterations(t));
  cr_assert(fabs(cv - 0.3436) < 0.03 * 0.3436, "%g", cv);
  mt_tissue_free(t);
}

/* APD90 in the middle of a mitchell_schaeffer_2003 cable, measured as the
** model card measures it in a single cell (from the upward to the downward
** crossing of -70.5 mV), against the card's closed form 282.4 ms
** (leading order 241.4 + fold delay 41.0 ms) with the card's 10 ms. */
Test(tissue, apd_of_a_cable_matches_the_cell_model_closed_form)
{
  const mt_model *m = mt_model_find("mitchell_schaeffer_2003");
  cr_assert_not_null(m);
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 101, c.dx_mm = 0.1, c.D_l = c.D_t = 0.1, c.dt_ms = 0.01;
  c.act_threshold_mV = c.repol_threshold_mV = -70.5;
  mt_tissue *t = make(m, &c);
  mt_tissue_stim s = {.x1_mm = 0.5, .duration_ms = 2, .amplitude = 50,
                      .count = 1};
  cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
  cr_assert_eq(mt_tissue_run(t, 400), 0, "%s", mt_tissue_errmsg(t));
  double apd = mt_tissue_apd(t)[50];
  cr_log_info("cable APD90 %.2f ms", apd);
  cr_assert(fabs(apd - 282.4) < 10, "APD %g ms", apd);
  mt_tissue_free(t);
}

/* A cell whose rhs fails above +50 mV: the run stops with MT_ESOLVER and
** names the first failing node (a grid large enough for the threads). */
static int failing_rhs(double t, const double *x, const double *p,
                       const double *u, const double *mem, void *ws,
                       double *dx)
{
  (void)t, (void)p, (void)mem, (void)ws;
  dx[0] = u[0];
  return x[0] > 50 ? -1 : 0;
}

Test(tissue, a_failing_cell_stops_the_run_with_its_node_named)
{
  mt_model bad = passive;
  bad.name = "failing";
  bad.rhs = failing_rhs;
  for (int how = 0; how < 2; how++) {
    mt_tissue_config c;
    mt_tissue_config_init(&c);
    c.nx = c.ny = 100, c.dx_mm = 0.1, c.dt_ms = 0.01, c.D_l = c.D_t = 1e-4;
    c.diffusion = how ? MT_TISSUE_SEMI_IMPLICIT : MT_TISSUE_EXPLICIT;
    mt_tissue *t = make(&bad, &c);
    /* node (3, 2) only: 100 uA/cm2 for 1 ms reaches 100 mV */
    mt_tissue_stim s = {.x0_mm = 0.3, .x1_mm = 0.3, .y0_mm = 0.2,
                        .y1_mm = 0.2, .start_ms = 1, .duration_ms = 1,
                        .amplitude = 100, .count = 1};
    cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
    cr_assert_eq(mt_tissue_run(t, 10), MT_ESOLVER);
    cr_assert(strstr(mt_tissue_errmsg(t), "node 203 (3, 2, 0)"), "%s",
              mt_tissue_errmsg(t));
    /* stopped at the failing step: just after 1.5 ms, before 2 ms */
    cr_assert(mt_tissue_time(t) > 1.4 && mt_tissue_time(t) < 2.0, "%g",
              mt_tissue_time(t));
    mt_tissue_free(t);
  }
}

/* Planar-wave speed along x in a 2D strip of mitchell_schaeffer_2003 paced
** from its left edge, fibres along the given axis (mm/ms). */
static double strip_cv(double fx, double fy, double dl, double dtr)
{
  const mt_model *m = mt_model_find("mitchell_schaeffer_2003");
  cr_assert_not_null(m);
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 101, c.ny = 11, c.dx_mm = 0.1, c.dt_ms = 0.01, c.D_l = dl,
  c.D_t = dtr, c.act_threshold_mV = -40;
  double *f = malloc(3 * 101 * 11 * sizeof *f);
  for (int i = 0; i < 101 * 11; i++)
    f[3 * i] = fx, f[3 * i + 1] = fy, f[3 * i + 2] = 0;
  c.fibre = f;
  mt_tissue *t = make(m, &c);
  free(f);
  mt_tissue_stim s = {.x1_mm = 0.5, .y1_mm = 1.0, .duration_ms = 2,
                      .amplitude = 50, .count = 1};
  cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
  cr_assert_eq(mt_tissue_run(t, 80), 0, "%s", mt_tissue_errmsg(t));
  /* along the middle row, 3 to 7 mm; the front is planar: every row alike */
  const double *act = mt_tissue_activation(t);
  for (int j = 0; j < 11; j++)
    cr_assert_float_eq(act[70 + 101 * j], act[70 + 101 * 5], 1e-9);
  double cv = mt_tissue_cv(t, 30 + 101 * 5, 70 + 101 * 5, 41);
  mt_tissue_free(t);
  return cv;
}

/* Fibres along x then along y, D_l = 4 D_t: the wave along x runs
** sqrt(D_l / D_t) = 2 times faster along the fibres (c ~ sqrt(D)), each
** within 2 % of the closed form 1.0866 sqrt(D) (card, section 4a). */
Test(tissue, planar_wave_in_2d_runs_sqrt_dl_over_dt_faster_along_fibres)
{
  double along = strip_cv(1, 0, 0.1, 0.025),
         across = strip_cv(0, 1, 0.1, 0.025);
  cr_log_info("2D strip: cv along %.5f, across %.5f mm/ms", along, across);
  cr_assert(fabs(along / across - 2) < 0.02 * 2, "%g / %g", along, across);
  cr_assert(fabs(along - 1.0866 * sqrt(0.1)) < 0.02 * 1.0866 * sqrt(0.1));
  cr_assert(fabs(across - 1.0866 * sqrt(0.025)) < 0.02 * 1.0866 * sqrt(0.025));
}

/* The explicit engine is deterministic across thread counts: a wave on a
** 2D sheet (above the serial threshold) with 1 and 3 threads agrees bit for
** bit in V, the recovery state and the activation times. */
Test(tissue, results_do_not_depend_on_the_thread_count)
{
  mt_tissue *t[2];
  for (int k = 0; k < 2; k++) {
    mt_tissue_config c;
    mt_tissue_config_init(&c);
    c.nx = c.ny = 80, c.dx_mm = 0.2, c.dt_ms = 0.02, c.D_l = 0.1;
    c.D_t = 0.03, c.param = fhn_p, c.act_threshold_mV = -40;
    c.threads = k ? 3 : 1;
    t[k] = make(&fhn, &c);
    mt_tissue_stim s = {.x1_mm = 1.0, .y1_mm = 1.0, .duration_ms = 2,
                        .amplitude = 50, .count = 1};
    cr_assert_eq(mt_tissue_add_stim(t[k], &s), 0);
    cr_assert_eq(mt_tissue_run(t[k], 40), 0);
  }
  long n = mt_tissue_nodes(t[0]), fired = 0;
  for (long i = 0; i < n; i++) {
    cr_assert_eq(mt_tissue_state(t[0], 0)[i], mt_tissue_state(t[1], 0)[i]);
    cr_assert_eq(mt_tissue_state(t[0], 1)[i], mt_tissue_state(t[1], 1)[i]);
    const double a = mt_tissue_activation(t[0])[i],
                 b = mt_tissue_activation(t[1])[i];
    cr_assert(a == b || (isnan(a) && isnan(b)));
    fired += isfinite(a);
  }
  cr_assert(fired > 100 && fired < n, "%ld of %ld fired", fired, n);
  mt_tissue_free(t[0]), mt_tissue_free(t[1]);
}

/* A non-tissue wall across a strip blocks the wave; with a gap the wave
** passes through it, later than without the wall (the detour). */
static mt_tissue *walled(int gap, int wall)
{
  int nx = 60, ny = 20;
  unsigned char mask[60 * 20];
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++)
      mask[i + nx * j] = !(wall && i == 30 && j >= gap);
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = nx, c.ny = ny, c.dx_mm = 0.2, c.dt_ms = 0.02, c.D_l = c.D_t = 0.1;
  c.param = fhn_p, c.act_threshold_mV = -40, c.mask = mask;
  mt_tissue *t = make(&fhn, &c);
  mt_tissue_stim s = {.x1_mm = 1.0, .y1_mm = 10, .duration_ms = 2,
                      .amplitude = 50, .count = 1};
  cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
  cr_assert_eq(mt_tissue_run(t, 150), 0);
  return t;
}

Test(tissue, a_non_tissue_wall_blocks_conduction_and_a_gap_lets_it_through)
{
  mt_tissue *none = walled(0, 0), *full = walled(0, 1), *gap = walled(8, 1);
  const double *a0 = mt_tissue_activation(none),
               *a1 = mt_tissue_activation(full),
               *a2 = mt_tissue_activation(gap);
  long far = 50 + 60 * 19; /* behind the wall, away from the gap */
  cr_assert(isfinite(a1[29 + 60 * 19])); /* reached the wall */
  for (int j = 0; j < 20; j++)
    for (int i = 31; i < 60; i++)
      cr_assert(isnan(a1[i + 60 * j]), "(%d, %d) fired through the wall",
                i, j);
  cr_assert(isfinite(a2[far]) && isfinite(a0[far]));
  cr_assert_gt(a2[far], a0[far] + 1.0, "%g %g", a2[far], a0[far]);
  mt_tissue_free(none), mt_tissue_free(full), mt_tissue_free(gap);
}

/* tentusscher_panfilov_2006_epi (an ionic model with 12 Rush-Larsen gates)
** on a cable: the wave propagates, and its speed converges with dx (dt ~
** dx^2): the change from dx 0.1 to 0.05 mm is under half the change from
** 0.2 to 0.1 mm (order > 1), no stored speed involved. */
static double tp06_cv(double dx)
{
  const mt_model *m = mt_model_find("tentusscher_panfilov_2006_epi");
  cr_assert_not_null(m);
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = (int)lround(10.0 / dx) + 1, c.dx_mm = dx, c.D_l = c.D_t = 0.1;
  c.dt_ms = fmin(0.2 * dx * dx / 0.1, 0.02);
  mt_tissue *t = make(m, &c);
  mt_tissue_stim s = {.x1_mm = 0.5, .duration_ms = 2, .amplitude = 50,
                      .count = 1};
  cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
  cr_assert_eq(mt_tissue_run(t, 30), 0, "%s", mt_tissue_errmsg(t));
  long a = lround(3.0 / dx), b = lround(7.0 / dx);
  double cv = mt_tissue_cv(t, a, b, (int)(b - a + 1));
  mt_tissue_free(t);
  return cv;
}

Test(tissue, tentusscher_wave_speed_converges_with_dx)
{
  double c1 = tp06_cv(0.2), c2 = tp06_cv(0.1), c3 = tp06_cv(0.05);
  cr_log_info("tp06 cable cv %.5f %.5f %.5f mm/ms", c1, c2, c3);
  cr_assert(isfinite(c1) && isfinite(c2) && isfinite(c3));
  cr_assert(fabs(c3 - c2) < 0.5 * fabs(c2 - c1), "%g %g %g", c1, c2, c3);
}

/* A conductivity factor of 1/4 on every node assembles the operator of D/4
** (the factor scales each node's tensor before the cell means): the
** activation map must equal that of D_l = D_t = 0.025 to rounding. */
Test(tissue, conductivity_factor_scales_the_tensor)
{
  const mt_model *m = mt_model_find("mitchell_schaeffer_2003");
  cr_assert_not_null(m);
  double *act[2];
  double *g = malloc(61 * sizeof(double));
  for (int i = 0; i < 61; i++)
    g[i] = 0.25;
  for (int r = 0; r < 2; r++) {
    mt_tissue_config c;
    mt_tissue_config_init(&c);
    c.nx = 61, c.dx_mm = 0.1, c.dt_ms = 0.01, c.act_threshold_mV = -40;
    c.D_l = c.D_t = r ? 0.025 : 0.1;
    c.d_scale = r ? NULL : g;
    mt_tissue *t = make(m, &c);
    mt_tissue_stim s = {.x1_mm = 0.5, .duration_ms = 2, .amplitude = 50,
                        .count = 1};
    cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
    cr_assert_eq(mt_tissue_run(t, 60), 0, "%s", mt_tissue_errmsg(t));
    act[r] = malloc(61 * sizeof(double));
    memcpy(act[r], mt_tissue_activation(t), 61 * sizeof(double));
    mt_tissue_free(t);
  }
  cr_assert(isfinite(act[0][60]), "the far end activates");
  for (int i = 0; i < 61; i++)
    cr_assert_float_eq(act[0][i], act[1][i], 1e-12, "node %d", i);
  free(act[0]), free(act[1]), free(g);
}

/* Regions: a node of region 1 behaves as the whole tissue does with region
** 1's parameters; Mitchell-Schaeffer's APD scales with tau_close (leading
** order tau_close ln(...), docs/models/mitchell_schaeffer_2003.md), so a
** region with tau_close halved repolarises well before the other half. */
Test(tissue, regions_take_their_own_parameters)
{
  const mt_model *m = mt_model_find("mitchell_schaeffer_2003");
  cr_assert_not_null(m);
  double p0[16], p1[16];
  cr_assert(m->n_param <= 16);
  mt_patient *pt;
  char e2[MT_ERRMSG_MAX];
  cr_assert_eq(mt_patient_load(m, m->patients->name(0), &pt, e2, sizeof e2),
               0, "%s", e2);
  memcpy(p0, pt->param, (size_t)m->n_param * sizeof(double));
  mt_patient_free(pt);
  memcpy(p1, p0, sizeof p1);
  p1[3] *= 0.5; /* tau_close */
  const double *rp[1] = {p1};
  unsigned char reg[101];
  double apd[3][101];
  for (int r = 0; r < 3; r++) { /* all region 1; param = p1; halves */
    for (int i = 0; i < 101; i++)
      reg[i] = r == 0 ? 1 : r == 2 ? (i >= 50) : 0;
    mt_tissue_config c;
    mt_tissue_config_init(&c);
    c.nx = 101, c.dx_mm = 0.1, c.D_l = c.D_t = 0.1, c.dt_ms = 0.01;
    c.act_threshold_mV = c.repol_threshold_mV = -70.5;
    c.param = r == 1 ? p1 : p0;
    c.region = r == 1 ? NULL : reg, c.n_region = 1, c.region_param = rp;
    mt_tissue *t = make(m, &c);
    mt_tissue_stim s = {.x1_mm = 0.5, .duration_ms = 2, .amplitude = 50,
                        .count = 1};
    cr_assert_eq(mt_tissue_add_stim(t, &s), 0);
    cr_assert_eq(mt_tissue_run(t, 400), 0, "%s", mt_tissue_errmsg(t));
    memcpy(apd[r], mt_tissue_apd(t), sizeof apd[r]);
    mt_tissue_free(t);
  }
  for (int i = 0; i < 101; i++)
    cr_assert_float_eq(apd[0][i], apd[1][i], 1e-12, "node %d", i);
  cr_log_info("APD region 0 %.1f ms, region 1 %.1f ms", apd[2][20],
              apd[2][80]);
  cr_assert(apd[2][80] < 0.75 * apd[2][20], "APD %g vs %g", apd[2][80],
            apd[2][20]);
  cr_assert(fabs(apd[2][80] - apd[0][80]) < 5, "region 1 as all-region-1");
  /* a region number beyond n_region is refused, naming the node */
  reg[7] = 2;
  mt_tissue_config c;
  mt_tissue_config_init(&c);
  c.nx = 101, c.region = reg, c.n_region = 1, c.region_param = rp;
  mt_tissue *t = NULL;
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_tissue_create(m, &c, &t, err, sizeof err), MT_EINVAL);
  cr_assert_null(t);
  cr_assert(strstr(err, "region of node 7"), "%s", err);
}
