/*
** Single-cell verification of the phenomenological cell models (issue 11,
** item 2): aliev_panfilov_1996 and mitchell_schaeffer_2003, run through
** mt_sim_run (DOPRI5, and CVODE for agreement). Every expectation is a
** closed-form value of the published equations with the published
** parameters, derived in the model cards (docs/models/aliev_panfilov_1996.md,
** docs/models/mitchell_schaeffer_2003.md, sections 4 and 4a), or another
** integrator's result for the same equations:
**
** Mitchell & Schaeffer, Bull Math Biol 65:767, 2003, with h fixed the
** fast equation dv/dt = v (h v (1 - v)/tau_in - 1/tau_out) has the roots
** v_c,+ = (1 -/+ sqrt(1 - 4 tau_in / (h tau_out))) / 2: the threshold v_c
** and the plateau v_+ (peak) at h = 1; repolarisation when h has closed to
** h_min = 4 tau_in / tau_out, so APD_max = tau_close ln(1 / h_min) =
** tau_close ln(tau_out / (4 tau_in)) = 241.4 ms, and after a diastolic
** interval DI, APD(DI) = tau_close ln((1 - (1 - h_min) exp(-DI/tau_open)) /
** h_min) (the paper's restitution curve). These are leading order in
** tau_in / tau_close; the next term is the slow passage through the
** saddle-node at h_min (card, section 4): near it w = v -
** 1/2 obeys dw/dt = -A s - B w^2 with A = h_min / (8 tau_in tau_close), B =
** h_min / (2 tau_in), s the time since h = h_min, a Riccati equation whose
** solution leaves the plateau Omega0 t* later, t* = (A B)^(-1/3) = (16
** tau_in^2 tau_close / h_min^2)^(1/3) = 17.5 ms, Omega0 = 2.33811 the first
** zero of Ai(-x): a delay of 41.0 ms, during which h closes further to
** h_min exp(-delay / tau_close).
**
** Aliev & Panfilov, Chaos Solitons Fractals 7:293, 1996: rest u = 0; the
** threshold is u = a as eps -> 0; the plateau starts at the cubic's upper
** root u = 1 (V = V_rest + V_amp = 20 mV); in the singular limit the
** excited state follows the right branch r = k (u - a)(1 - u) on which
** dr/dtau = eps k a, until the knee u_k = (1 + a)/2, r_k = k (1 - a)^2 / 4,
** so APD = T integral_0^{r_k} dr / (k a eps(u(r), r)), plus the slow
** passage through the knee as for Mitchell-Schaeffer: w = u - u_k obeys
** dw/dtau = -A s - B w^2 with A = u_k eps_k k a, B = u_k k (eps_k = eps at
** the knee), a delay of Omega0 (A B)^(-1/3) time units (card, section 4).
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"

#define DT_SAMPLE 0.01 /* ms between samples; crossings interpolated */

/* One single-cell run: samples every DT_SAMPLE ms over [0, t_end]. */
typedef struct cell_run {
  const mt_model *m;
  mt_series s;
  int iv; /* index of V */
} cell_run;

static const double *default_params(const mt_model *m, mt_patient **pt)
{
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_patient_load(m, "default", pt, err, sizeof err), 0, "%s",
               err);
  return (*pt)->param;
}

/*
** Run model `name` with parameters p (NULL: the published defaults) from x0
** (NULL: rest) with stimuli: n pulses of amplitude amp (uA/cm2) and
** duration dur (ms) starting at times t_stim[i].
*/
static void run_cell(const char *name, const double *p, const double *x0,
                     int n, const double *t_stim, double amp, double dur,
                     double t_end, mt_solver solver, cell_run *r)
{
  const mt_model *m = mt_model_find(name);
  cr_assert_not_null(m, "%s not registered", name);
  mt_patient *pt = NULL;
  const double *pd = default_params(m, &pt);
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(m->n_input, &sch), 0);
  for (int i = 0; i < n; i++)
    cr_assert_eq(mt_schedule_pulse(sch, 0, t_stim[i], t_stim[i] + dur, amp,
                                   0), 0);
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  cfg.solver = solver;
  cfg.h_max = 1.0;
  mt_sim *sim = NULL;
  cr_assert_eq(mt_sim_create(m, &cfg, &sim), 0);
  int ns = (int)lround(t_end / DT_SAMPLE) + 1;
  r->m = m;
  r->iv = 0;
  cr_assert_eq(mt_series_alloc(&r->s, m, ns), 0);
  for (int i = 0; i < ns; i++)
    r->s.t[i] = fmin(i * DT_SAMPLE, t_end);
  int rc = mt_sim_run(sim, p ? p : pd, x0, NULL, sch, 0, t_end, &r->s);
  cr_assert_eq(rc, 0, "%s: %s", name, mt_sim_errmsg(sim));
  mt_sim_free(sim);
  mt_schedule_free(sch);
  mt_patient_free(pt);
}

static double xs(const cell_run *r, int i, int k)
{
  return r->s.x[(size_t)i * r->s.n_state + k];
}

/* First crossing of `level` by state k at or after t_from, upward (dir > 0)
** or downward, interpolated linearly; NAN if none. */
static double crossing(const cell_run *r, int k, double level, int dir,
                       double t_from)
{
  for (int i = 1; i < r->s.n; i++) {
    if (r->s.t[i] < t_from)
      continue;
    double a = xs(r, i - 1, k) - level, b = xs(r, i, k) - level;
    if ((dir > 0 && a < 0 && b >= 0) || (dir < 0 && a > 0 && b <= 0))
      return r->s.t[i - 1] + (r->s.t[i] - r->s.t[i - 1]) * a / (a - b);
  }
  return NAN;
}

/* Largest V over [t0, t1]. */
static double peak(const cell_run *r, double t0, double t1)
{
  double v = -INFINITY;
  for (int i = 0; i < r->s.n; i++)
    if (r->s.t[i] >= t0 && r->s.t[i] <= t1)
      v = fmax(v, xs(r, i, r->iv));
  return v;
}

static double interp(const cell_run *r, int k, double t)
{
  for (int i = 1; i < r->s.n; i++)
    if (r->s.t[i] >= t) {
      double w = (t - r->s.t[i - 1]) / (r->s.t[i] - r->s.t[i - 1]);
      return (1 - w) * xs(r, i - 1, k) + w * xs(r, i, k);
    }
  return xs(r, r->s.n - 1, k);
}

/* APD90 of the action potential starting after t_from: from the upward to
** the downward crossing of V_rest + 0.1 (V_peak - V_rest). */
static double apd90(const cell_run *r, double v_rest, double v_peak,
                    double t_from)
{
  double level = v_rest + 0.1 * (v_peak - v_rest);
  double up = crossing(r, r->iv, level, 1, t_from);
  return crossing(r, r->iv, level, -1, up) - up;
}

/* --- the cell interface (CELL-IFACE) ----------------------------------- */

static const char *const cells[] = {"aliev_panfilov_1996",
                                    "mitchell_schaeffer_2003"};

Test(ionic, interface)
{
  for (int c = 0; c < 2; c++) {
    const mt_model *m = mt_model_find(cells[c]);
    cr_assert_not_null(m, "%s", cells[c]);
    char err[MT_ERRMSG_MAX] = "";
    cr_assert_eq(mt_model_check(m, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(m->time_unit, "ms");
    cr_assert_str_eq(m->state[0].name, "V");
    cr_assert_str_eq(m->state[0].unit, "mV");
    cr_assert_eq(m->n_input, 1);
    cr_assert_str_eq(m->input[0].name, "I_stim");
    cr_assert_str_eq(m->input[0].unit, "uA/cm2");
    cr_assert_geq(mt_var_index(m->obs, m->n_obs, "V"), 0);
    /* dV/dt = -I_ion + I_stim: the stimulus adds to dV/dt one for one
    ** (Cm = 1 uF/cm2), at rest and mid-upstroke. */
    mt_patient *pt = NULL;
    const double *p = default_params(m, &pt);
    double x[8], mem[1], ub[1], dx0[8], dx1[8];
    cr_assert_eq(m->init(p, x, mem, ub), 0);
    cr_assert_eq(ub[0], 0.0);
    for (int k = 0; k < 2; k++) {
      x[0] += 30.0 * k;
      double u0[1] = {0}, u1[1] = {35.7};
      cr_assert_eq(m->rhs(0, x, p, u0, mem, NULL, dx0), 0);
      cr_assert_eq(m->rhs(0, x, p, u1, mem, NULL, dx1), 0);
      cr_assert_float_eq(dx1[0] - dx0[0], 35.7, 1e-9, "%s", m->name);
      for (int i = 1; i < m->n_state; i++)
        cr_assert_eq(dx1[i], dx0[i], "%s: I_stim acts on state %d",
                     m->name, i);
    }
    mt_patient_free(pt);
  }
}

Test(ionic, mitchell_schaeffer_gate_is_rush_larsen_form)
{
  /* The rhs of h equals (inf - h) / tau from the gate table, with inf = 1,
  ** tau = tau_open below v_gate and inf = 0, tau = tau_close at or above
  ** it (the paper's gate equation), on a grid of V and h. */
  const mt_model *m = mt_model_find("mitchell_schaeffer_2003");
  mt_patient *pt = NULL;
  const double *p = default_params(m, &pt);
  int ih = mt_var_index(m->state, m->n_state, "h");
  cr_assert_not_null(m->gates);
  cr_assert_eq(m->gates->n, 1);
  cr_assert_eq(m->gates->state_index[0], ih);
  cr_assert_eq(mt_var_index(m->state, m->n_state, "V"), 0);
  int iv_gate = mt_var_index(m->param, m->n_param, "v_gate");
  int iopen = mt_var_index(m->param, m->n_param, "tau_open");
  int iclose = mt_var_index(m->param, m->n_param, "tau_close");
  double v_gate_mv = -80.0 + 100.0 * p[iv_gate]; /* -67 mV */
  int n_below = 0, n_above = 0;
  for (double V = -90; V <= 30; V += 0.5) {
    for (double h = 0; h <= 1.0; h += 0.125) {
      double x[2] = {V, h}, u[1] = {0}, dx[2], inf, tau;
      cr_assert_eq(m->rhs(0, x, p, u, NULL, NULL, dx), 0);
      m->gates->inf_tau(0, x, p, &inf, &tau);
      cr_assert_float_eq(dx[ih], (inf - h) / tau, 1e-15, "V %g h %g", V, h);
      int below = V < v_gate_mv - 1e-9;
      int above = V > v_gate_mv + 1e-9;
      if (below) {
        cr_assert_eq(inf, 1.0);
        cr_assert_eq(tau, p[iopen]);
        n_below++;
      } else if (above) {
        cr_assert_eq(inf, 0.0);
        cr_assert_eq(tau, p[iclose]);
        n_above++;
      }
    }
  }
  cr_assert_gt(n_below, 0);
  cr_assert_gt(n_above, 0);
  mt_patient_free(pt);
}

/* --- Mitchell-Schaeffer -------------------------------------------------- */

/* Closed forms (header comment) at the published parameters. */
#define MS_TAU_IN 0.3
#define MS_TAU_OUT 6.0
#define MS_TAU_OPEN 120.0
#define MS_TAU_CLOSE 150.0
#define MS_V_GATE 0.13
#define MS_HMIN (4 * MS_TAU_IN / MS_TAU_OUT)

static double ms_vc(void) { return (1 - sqrt(1 - MS_HMIN)) / 2; }
static double ms_vplus(void) { return (1 + sqrt(1 - MS_HMIN)) / 2; }

/* Delay of the slow passage through the saddle-node (header comment). */
static double ms_fold_delay(void)
{
  double ts = cbrt(16 * MS_TAU_IN * MS_TAU_IN * MS_TAU_CLOSE /
                   (MS_HMIN * MS_HMIN));
  return 2.33811 * ts;
}

/* h when the previous action potential ended (at the v_gate crossing). */
static double ms_h_rep(void)
{
  return MS_HMIN * exp(-ms_fold_delay() / MS_TAU_CLOSE);
}

/* The paper's leading-order APD after a diastolic interval DI (INFINITY:
** from rest), h recovering from h_rep, plus the fold delay. */
static double ms_apd(double di)
{
  double h = 1 - (1 - ms_h_rep()) * exp(-di / MS_TAU_OPEN);
  return MS_TAU_CLOSE * log(h / MS_HMIN) + ms_fold_delay();
}

/* Allowed error of the APD: the next neglected term is the fall from the
** fold to v_gate, on the time scale tau_in / (h_min W) with W = A t*^2 =
** 0.17 the inner scale of w: 8.8 ms; allowed 10 ms. */
#define MS_APD_TOL 10.0

Test(ionic, mitchell_schaeffer_action_potential)
{
  /* From rest, 1 ms of 50 uA/cm2 (dv = 0.5, ten times v_c). */
  cell_run r;
  double t0 = 10;
  run_cell("mitchell_schaeffer_2003", NULL, NULL, 1, &t0, 50, 1, 600,
           MT_SOLVER_DOPRI5, &r);
  /* Resting potential: v = 0, V = V_rest = -80 mV (exact: a fixed point). */
  cr_assert_float_eq(xs(&r, 0, 0), -80.0, 1e-12);
  cr_assert_float_eq(interp(&r, 0, 9.9), -80.0, 1e-9);
  /* Peak: the plateau v_+ = 0.947 at h = 1 (V = 14.7 mV); h closes by
  ** under 2 % before the peak (time scale tau_close = 150 ms), which moves
  ** v_+ by under 0.5 mV: tolerance 1 mV. */
  double vp = peak(&r, 0, 600), vp_ref = -80 + 100 * ms_vplus();
  cr_assert(fabs(vp - vp_ref) <= 1.0, "peak %.3f mV, closed form %.3f", vp,
            vp_ref);
  /* APD as the plateau above v_gate, against APD_max = tau_close
  ** ln(tau_out / (4 tau_in)) = 241.4 ms (the paper's) + the fold delay
  ** 41.0 ms = 282.4 ms. */
  double vg = -80 + 100 * MS_V_GATE;
  double up = crossing(&r, 0, vg, 1, 0), down = crossing(&r, 0, vg, -1, up);
  double apd_ref = ms_apd(INFINITY);
  cr_assert(fabs((down - up) - apd_ref) <= MS_APD_TOL,
            "APD (v_gate) %.2f ms, closed form %.2f", down - up, apd_ref);
  /* APD90 (level -80 + 0.1 (V_peak + 80)) ends a little below v_gate. */
  double a90 = apd90(&r, -80, vp, 0);
  cr_assert(fabs(a90 - apd_ref) <= MS_APD_TOL, "APD90 %.2f ms", a90);
  cr_assert_gt(a90, down - up);
  /* After repolarisation the gate reopens exactly as 1 - (1 - h) exp(-t /
  ** tau_open) (v < v_gate throughout). */
  int ih = 1;
  double h_rep = interp(&r, ih, down + 5);
  double h_end = xs(&r, r.s.n - 1, ih);
  double h_pred = 1 - (1 - h_rep) * exp(-(600 - down - 5) / MS_TAU_OPEN);
  cr_assert_float_eq(h_end, h_pred, 1e-4, "h %.6f, closed form %.6f", h_end,
                     h_pred);
  /* h at repolarisation: h_min exp(-delay / tau_close) = 0.152; 10 ms of
  ** APD tolerance is 0.013 in h. */
  double h_at = interp(&r, ih, down);
  cr_assert(fabs(h_at - ms_h_rep()) <= 0.015, "h at repolarisation %.4f, "
            "closed form %.4f", h_at, ms_h_rep());
  /* Back at rest: V within 0.5 mV of -80. */
  cr_assert(fabs(xs(&r, r.s.n - 1, 0) + 80) <= 0.5);
  mt_series_clear(&r.s);
}

Test(ionic, mitchell_schaeffer_threshold)
{
  /* Initial depolarisation 5 % below / above the closed-form threshold
  ** v_c = 0.0528 (h = 1 and v < v_gate, so the 1D equation is exact). */
  const double vc = ms_vc();
  for (int side = -1; side <= 1; side += 2) {
    double x0[2] = {-80 + 100 * vc * (1 + 0.05 * side), 1.0};
    cell_run r;
    run_cell("mitchell_schaeffer_2003", NULL, x0, 0, NULL, 0, 0, 300,
             MT_SOLVER_DOPRI5, &r);
    double vp = peak(&r, 0, 300);
    if (side < 0)
      cr_assert_leq(vp, x0[0] + 1e-9, "below threshold, peak %.3f", vp);
    else
      cr_assert_gt(vp, 0.0, "above threshold, peak %.3f", vp);
    mt_series_clear(&r.s);
  }
  /* A stimulus below threshold: 2 uA/cm2 for 1 ms moves v by at most
  ** 0.02 + (J_in over 1 ms, < 0.001) < v_c: no action potential. */
  cell_run r;
  double t0 = 10;
  run_cell("mitchell_schaeffer_2003", NULL, NULL, 1, &t0, 2, 1, 300,
           MT_SOLVER_DOPRI5, &r);
  double vp = peak(&r, 0, 300);
  cr_assert_lt(vp, -80 + 100 * vc, "sub-threshold stimulus, peak %.3f", vp);
  mt_series_clear(&r.s);
}

Test(ionic, mitchell_schaeffer_restitution)
{
  /* S1 from rest, S2 a diastolic interval DI after S1's repolarisation
  ** (v_gate crossing): APD2 against the paper's restitution curve. */
  static const double di[] = {60, 100, 200, 400};
  double vg = -80 + 100 * MS_V_GATE;
  for (int i = 0; i < 4; i++) {
    cell_run r;
    double t0 = 10;
    run_cell("mitchell_schaeffer_2003", NULL, NULL, 1, &t0, 50, 1, 300,
             MT_SOLVER_DOPRI5, &r);
    double up = crossing(&r, 0, vg, 1, 0), rep = crossing(&r, 0, vg, -1, up);
    mt_series_clear(&r.s);
    double ts[2] = {t0, rep + di[i]};
    double t_end = ts[1] + 400;
    run_cell("mitchell_schaeffer_2003", NULL, NULL, 2, ts, 50, 1, t_end,
             MT_SOLVER_DOPRI5, &r);
    double up2 = crossing(&r, 0, vg, 1, ts[1]);
    double apd2 = crossing(&r, 0, vg, -1, up2) - up2;
    cr_assert(fabs(apd2 - ms_apd(di[i])) <= MS_APD_TOL,
              "DI %g: APD %.2f ms, closed form %.2f", di[i], apd2,
              ms_apd(di[i]));
    mt_series_clear(&r.s);
  }
}

/* --- Aliev-Panfilov ------------------------------------------------------ */

#define AP_K 8.0
#define AP_A 0.15
#define AP_EPS0 0.002
#define AP_MU1 0.2
#define AP_MU2 0.3
#define AP_T 12.9

/* Singular-limit APD (header comment): T integral_0^{r_knee} dr / (k a
** eps(u(r), r)), u(r) the right branch u = ((1 + a) + sqrt((1 - a)^2 -
** 4 r / k)) / 2; Simpson's rule on 20000 intervals. */
static double ap_apd_singular(void)
{
  double rk = AP_K * (1 - AP_A) * (1 - AP_A) / 4;
  int n = 20000;
  double h = rk / n, s = 0;
  for (int i = 0; i <= n; i++) {
    double r = i * h;
    double disc = fmax((1 - AP_A) * (1 - AP_A) - 4 * r / AP_K, 0);
    double u = ((1 + AP_A) + sqrt(disc)) / 2;
    double f = 1 / (AP_K * AP_A * (AP_EPS0 + AP_MU1 * r / (u + AP_MU2)));
    s += f * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
  }
  return AP_T * s * h / 3;
}

/* The same integral from r0 > 0: an action potential started while the
** recovery variable is still r0 (S2 after a short diastolic interval). */
static double ap_apd_singular_from(double r0)
{
  double rk = AP_K * (1 - AP_A) * (1 - AP_A) / 4;
  int n = 20000;
  double h = (rk - r0) / n, s = 0;
  for (int i = 0; i <= n; i++) {
    double r = r0 + i * h;
    double disc = fmax((1 - AP_A) * (1 - AP_A) - 4 * r / AP_K, 0);
    double u = ((1 + AP_A) + sqrt(disc)) / 2;
    double f = 1 / (AP_K * AP_A * (AP_EPS0 + AP_MU1 * r / (u + AP_MU2)));
    s += f * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
  }
  return AP_T * s * h / 3;
}

/* Delay of the slow passage through the knee (header comment), in ms. */
static double ap_knee_delay(void)
{
  double uk = (1 + AP_A) / 2, rk = AP_K * (1 - AP_A) * (1 - AP_A) / 4;
  double epsk = AP_EPS0 + AP_MU1 * rk / (uk + AP_MU2);
  double a = uk * epsk * AP_K * AP_A, b = uk * AP_K;
  return AP_T * 2.33811 / cbrt(a * b);
}

Test(ionic, aliev_panfilov_action_potential)
{
  /* From rest, 2 ms of 50 uA/cm2 (du = 1 by the bound I T / V_amp ...,
  ** at least 0.5 after the cubic's pull: well above a). */
  cell_run r;
  double t0 = 10;
  run_cell("aliev_panfilov_1996", NULL, NULL, 1, &t0, 50, 1, 800,
           MT_SOLVER_DOPRI5, &r);
  /* Resting potential u = 0: V_rest = -80 mV, exact. */
  cr_assert_float_eq(xs(&r, 0, 0), -80.0, 1e-12);
  cr_assert_float_eq(interp(&r, 0, 9.9), -80.0, 1e-9);
  /* Peak at the cubic's upper root u = 1, V = 20 mV, less r / (k (1 - a))
  ** (r < 0.01 by the peak): tolerance 1 mV. */
  double vp = peak(&r, 0, 800);
  cr_assert(fabs(vp - 20.0) <= 1.0, "peak %.3f mV", vp);
  /* APD90 against the singular-limit integral (316.7 ms) plus the knee
  ** delay (29.6 ms). The next neglected term is the fall from the knee, on
  ** the time scale T / (B W) with W = A t*^2 = 0.22 the inner scale of w:
  ** 12.7 ms; allowed 13 ms. */
  double a90 = apd90(&r, -80, vp, 0);
  double ref = ap_apd_singular() + ap_knee_delay();
  cr_assert(fabs(a90 - ref) <= 13.0, "APD90 %.2f ms, closed form %.2f "
            "(singular %.2f + knee %.2f)", a90, ref, ap_apd_singular(),
            ap_knee_delay());
  /* Back near rest by the end (u < 0.01). */
  cr_assert(fabs(xs(&r, r.s.n - 1, 0) + 80) <= 1.0, "V end %.3f",
            xs(&r, r.s.n - 1, 0));
  mt_series_clear(&r.s);
}

Test(ionic, aliev_panfilov_restitution)
{
  /* S1 from rest, S2 (50 uA/cm2, 1 ms) a diastolic interval DI after S1's
  ** APD90: the S2 plateau starts on the right branch at the r0 the cell
  ** has then, so its APD90 is the singular integral from r0 plus the knee
  ** delay; same 13 ms allowance as from rest. APD shortens with DI. */
  static const double di[] = {50, 100, 200, 400};
  double prev = 0;
  for (int i = 0; i < 4; i++) {
    cell_run r;
    double t0 = 10;
    run_cell("aliev_panfilov_1996", NULL, NULL, 1, &t0, 50, 1, 500,
             MT_SOLVER_DOPRI5, &r);
    double vp = peak(&r, 0, 500), lvl = -80 + 0.1 * (vp + 80);
    double up = crossing(&r, 0, lvl, 1, 0);
    double rep = crossing(&r, 0, lvl, -1, up);
    mt_series_clear(&r.s);
    double ts[2] = {t0, rep + di[i]};
    run_cell("aliev_panfilov_1996", NULL, NULL, 2, ts, 50, 1, ts[1] + 500,
             MT_SOLVER_DOPRI5, &r);
    double r0 = interp(&r, 1, ts[1]);
    double a2 = apd90(&r, -80, peak(&r, ts[1], ts[1] + 500), ts[1]);
    double ref = ap_apd_singular_from(r0) + ap_knee_delay();
    cr_assert(fabs(a2 - ref) <= 13.0, "DI %g (r0 %.4f): APD90 %.2f ms, "
              "closed form %.2f", di[i], r0, a2, ref);
    cr_assert_gt(a2, prev, "APD90 must lengthen with DI");
    prev = a2;
    mt_series_clear(&r.s);
  }
}

Test(ionic, aliev_panfilov_threshold)
{
  /* Initial u 10 % below / above a = 0.15 (r = 0): the threshold is a as
  ** eps -> 0; with eps0 = 0.002 r stays below 0.01 during the escape, a
  ** shift of the threshold far under 10 %. */
  for (int side = -1; side <= 1; side += 2) {
    double x0[2] = {-80 + 100 * AP_A * (1 + 0.1 * side), 0.0};
    cell_run r;
    run_cell("aliev_panfilov_1996", NULL, x0, 0, NULL, 0, 0, 500,
             MT_SOLVER_DOPRI5, &r);
    double vp = peak(&r, 0, 500);
    if (side < 0)
      cr_assert_leq(vp, x0[0] + 1e-9, "below threshold, peak %.3f", vp);
    else
      cr_assert_gt(vp, 0.0, "above threshold, peak %.3f", vp);
    mt_series_clear(&r.s);
  }
  /* A stimulus below threshold: below u = a the cubic term only
  ** repolarises, so du <= I dur / V_amp = 5 * 2 / 100 = 0.1 < a. */
  cell_run r;
  double t0 = 10;
  run_cell("aliev_panfilov_1996", NULL, NULL, 1, &t0, 5, 2, 500,
           MT_SOLVER_DOPRI5, &r);
  double vp = peak(&r, 0, 500);
  cr_assert_lt(vp, -80 + 100 * AP_A, "sub-threshold stimulus, peak %.3f",
               vp);
  mt_series_clear(&r.s);
}

/* --- integrators agree --------------------------------------------------- */

Test(ionic, dopri5_agrees_with_cvode)
{
  /* The same stimulated beat under both backends (rtol 1e-8): APD90 and
  ** peak within 0.1 ms and 0.05 mV. */
  for (int c = 0; c < 2; c++) {
    double t0 = 10, a[2], p[2];
    for (int s = 0; s < 2; s++) {
      cell_run r;
      run_cell(cells[c], NULL, NULL, 1, &t0, 50, 1, 600,
               s ? MT_SOLVER_CVODE : MT_SOLVER_DOPRI5, &r);
      p[s] = peak(&r, 0, 600);
      a[s] = apd90(&r, -80, p[s], 0);
      mt_series_clear(&r.s);
    }
    cr_assert(fabs(a[0] - a[1]) <= 0.1, "%s: APD90 %.3f vs %.3f", cells[c],
              a[0], a[1]);
    cr_assert(fabs(p[0] - p[1]) <= 0.05, "%s: peak %.3f vs %.3f", cells[c],
              p[0], p[1]);
  }
}

/* --- the tissue engine's scheme on one cell ------------------------------ */

/*
** One cell stepped as the tissue engine steps each node (CELL-IFACE):
** Rush-Larsen for the states in m->gates (x = inf + (x - inf) exp(-dt /
** tau)), forward Euler for the rest, from rest, the stimulus amp over steps
** [t0, t0 + dur). Fills r as run_cell does, sampled every step.
*/
static void step_cell(const char *name, double dt, double t0, double amp,
                      double dur, double t_end, cell_run *r)
{
  const mt_model *m = mt_model_find(name);
  mt_patient *pt = NULL;
  const double *p = default_params(m, &pt);
  int nx = m->n_state, ng = m->gates ? m->gates->n : 0;
  long n = lround(t_end / dt);
  long k0 = lround(t0 / dt), k1 = lround((t0 + dur) / dt);
  double x[8], mem[1], ub[1], dx[8], inf[8], tau[8];
  cr_assert_leq(nx, 8);
  cr_assert_eq(m->init(p, x, mem, ub), 0);
  r->m = m;
  r->iv = 0;
  cr_assert_eq(mt_series_alloc(&r->s, m, (int)n + 1), 0);
  for (long k = 0; k <= n; k++) {
    r->s.t[k] = k * dt;
    memcpy(&r->s.x[k * nx], x, (size_t)nx * sizeof *x);
    double t = k * dt, u[1] = {k >= k0 && k < k1 ? amp : 0.0};
    cr_assert_eq(m->rhs(t, x, p, u, mem, NULL, dx), 0);
    if (ng)
      m->gates->inf_tau(t, x, p, inf, tau);
    for (int i = 0; i < nx; i++)
      x[i] += dt * dx[i];
    for (int g = 0; g < ng; g++) {
      int i = m->gates->state_index[g];
      x[i] = inf[g] + (r->s.x[k * nx + i] - inf[g]) * exp(-dt / tau[g]);
    }
  }
  mt_patient_free(pt);
}

Test(ionic, rush_larsen_euler_converges_to_dopri5)
{
  /* APD90 of the stepped cell against the DOPRI5 run: at dt = 0.01 ms
  ** within 0.1 ms, and (the scheme is first order) halving dt twice cuts
  ** the error at least 2.5-fold (4 for exact first order) unless it is
  ** already at the 0.01 ms of the reference's own sampling. */
  for (int c = 0; c < 2; c++) {
    cell_run r;
    double t0 = 10;
    run_cell(cells[c], NULL, NULL, 1, &t0, 50, 1, 600, MT_SOLVER_DOPRI5, &r);
    double ref = apd90(&r, -80, peak(&r, 0, 600), 0);
    mt_series_clear(&r.s);
    double err[3];
    for (int j = 0; j < 3; j++) {
      double dt = 0.04 / (1 << j);
      step_cell(cells[c], dt, t0, 50, 1, 600, &r);
      err[j] = fabs(apd90(&r, -80, peak(&r, 0, 600), 0) - ref);
      mt_series_clear(&r.s);
    }
    cr_assert(err[2] < 0.1, "%s: APD90 error %.4f ms at dt 0.01", cells[c],
              err[2]);
    cr_assert(err[0] < 0.01 || err[2] * 2.5 <= err[0],
              "%s: APD90 errors %.4f %.4f %.4f ms at dt 0.04 0.02 0.01",
              cells[c], err[0], err[1], err[2]);
  }
}

/* --- planar wave on a cable ---------------------------------------------- */

/*
** Conduction velocity on a 1D cable of length 10 mm: dV/dt = D V_xx + the
** cell (Rush-Larsen for gates, forward Euler otherwise, as the tissue
** engine does), explicit diffusion with no-flux ends, stimulus 100 uA/cm2
** for 1 ms on the first 0.5 mm. CV from the -40 mV crossings at 3 and 7 mm.
*/
static double cable_cv(const char *name, double D, double dx, double dt)
{
  const mt_model *m = mt_model_find(name);
  mt_patient *pt = NULL;
  const double *p = default_params(m, &pt);
  int n = (int)lround(10.0 / dx) + 1, nx = m->n_state;
  int ng = m->gates ? m->gates->n : 0;
  int i3 = (int)lround(3.0 / dx), i7 = (int)lround(7.0 / dx);
  double *x = calloc((size_t)n * nx, sizeof *x), *lap = calloc(n, sizeof *x);
  cr_assert(x && lap);
  double mem[1], ub[1], dxs[8], inf[8], tau[8], xo[8];
  for (int i = 0; i < n; i++)
    cr_assert_eq(m->init(p, &x[i * nx], mem, ub), 0);
  double t3 = NAN, t7 = NAN;
  long steps = lround(200.0 / dt);
  for (long k = 0; k < steps && isnan(t7); k++) {
    double t = k * dt;
    for (int i = 0; i < n; i++) {
      double l = i > 0 ? x[(i - 1) * nx] : x[(i + 1) * nx];
      double r = i < n - 1 ? x[(i + 1) * nx] : x[(i - 1) * nx];
      lap[i] = (l - 2 * x[i * nx] + r) / (dx * dx);
    }
    for (int i = 0; i < n; i++) {
      double *xi = &x[i * nx];
      double u[1] = {(i * dx <= 0.5 && t < 1.0) ? 100.0 : 0.0};
      double v_old = xi[0];
      memcpy(xo, xi, (size_t)nx * sizeof *xo);
      cr_assert_eq(m->rhs(t, xi, p, u, mem, NULL, dxs), 0);
      if (ng)
        m->gates->inf_tau(t, xi, p, inf, tau);
      for (int s = 0; s < nx; s++)
        xi[s] += dt * dxs[s];
      for (int g = 0; g < ng; g++) {
        int s = m->gates->state_index[g];
        xi[s] = inf[g] + (xo[s] - inf[g]) * exp(-dt / tau[g]);
      }
      xi[0] += dt * D * lap[i];
      if (v_old < -40 && xi[0] >= -40) {
        double tc = t + dt * (-40 - v_old) / (xi[0] - v_old);
        if (i == i3 && isnan(t3))
          t3 = tc;
        if (i == i7 && isnan(t7))
          t7 = tc;
      }
    }
  }
  free(x);
  free(lap);
  mt_patient_free(pt);
  return (i7 - i3) * dx / (t7 - t3);
}

Test(ionic, planar_wave_speed_is_the_bistable_front_speed)
{
  /*
  ** Ahead of and through the front the recovery is frozen (h = 1; r = 0,
  ** eps0 = 0.002 per time unit), so the upstroke is a front of the
  ** bistable equation u_t = D u_xx + A u (u - alpha)(beta - u), whose
  ** speed is c = sqrt(A D / 2) (beta - 2 alpha) (Huxley's front; Keener &
  ** Sneyd, Mathematical Physiology, 2nd ed., 2009, section 6.2):
  **   Aliev-Panfilov: A = k / T, alpha = a, beta = 1;
  **   Mitchell-Schaeffer: A = 1 / tau_in, alpha = v_c, beta = v_+.
  ** D = 0.1 mm^2/ms. The cable's second-order spatial error at dx is
  ** (dx / front width)^2 / 12 relative, with widths sqrt(D T / k) = 0.40
  ** mm and sqrt(D tau_in) = 0.17 mm; at dx = 0.025 mm under 0.2 %; allowed
  ** 2 % for that and the first-order time step.
  */
  double D = 0.1;
  double c_ap = sqrt(AP_K / AP_T * D / 2) * (1 - 2 * AP_A);
  double c_ms = sqrt(D / (2 * MS_TAU_IN)) * (ms_vplus() - 2 * ms_vc());
  double cv_ap = cable_cv("aliev_panfilov_1996", D, 0.025, 0.002);
  double cv_ms = cable_cv("mitchell_schaeffer_2003", D, 0.025, 0.002);
  cr_assert(fabs(cv_ap / c_ap - 1) <= 0.02, "AP: CV %.5f mm/ms, front %.5f",
            cv_ap, c_ap);
  cr_assert(fabs(cv_ms / c_ms - 1) <= 0.02, "MS: CV %.5f mm/ms, front %.5f",
            cv_ms, c_ms);
}
