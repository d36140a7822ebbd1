/*
** Mitchell-Schaeffer two-current model of the cardiac membrane: C. C.
** Mitchell, D. G. Schaeffer, "A two-current model for the dynamics of
** cardiac membrane", Bull Math Biol 65:767, 2003, with the paper's
** parameters tau_in = 0.3, tau_out = 6, tau_open = 120, tau_close = 150 ms,
** v_gate = 0.13:
**
**   dv/dt = J_in + J_out + J_stim,  J_in = h v^2 (1 - v) / tau_in,
**                                   J_out = -v / tau_out
**   dh/dt = (1 - h) / tau_open   if v < v_gate
**         = -h / tau_close       otherwise
**
** v is dimensionless (0 at rest, about 1 when excited). The cell interface
** (docs/models/mitchell_schaeffer_2003.md) takes V = V_rest + V_amp v with
** V_rest = -80 mV, V_amp = 100 mV (the -80..20 mV span usual for this
** model), so dV/dt = V_amp (J_in + J_out) + I_stim with I_stim in uA/cm2 at
** Cm = 1 uF/cm2 (J_stim = I_stim / V_amp per ms).
**
** h is a gating variable: dh/dt = (h_inf - h) / tau_h with h_inf = 1, tau_h
** = tau_open below v_gate and h_inf = 0, tau_h = tau_close above, which is
** what inf_tau gives the tissue engine for Rush-Larsen steps.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "models/ionic.h"

static const mt_var state[MS_NX] = {
  {"V", "mV", "transmembrane potential, V_rest + V_amp v", -200, 150, 0},
  {"h", "1", "gate of the inward current (1 open, 0 closed)", 0, 1,
   MT_VAR_NONNEG},
};

static const mt_var param[MS_NP] = {
  {"tau_in", "ms", "time constant of the inward current (paper: 0.3 ms)",
   0.01, 10, MT_VAR_ESTIMABLE},
  {"tau_out", "ms", "time constant of the outward current (paper: 6 ms)",
   0.1, 100, MT_VAR_ESTIMABLE},
  {"tau_open", "ms", "time constant of the gate's opening (paper: 120 ms)",
   1, 2000, MT_VAR_ESTIMABLE},
  {"tau_close", "ms", "time constant of the gate's closing, which sets the "
   "APD (paper: 150 ms)", 1, 2000, MT_VAR_ESTIMABLE},
  {"v_gate", "1", "potential (dimensionless) at which the gate switches "
   "(paper: 0.13)", 0.001, 0.9, 0},
  {"V_rest", "mV", "potential at v = 0", -120, 0, 0},
  {"V_amp", "mV", "potential span of v = 0..1", 10, 200, 0},
};

static const mt_var input[IONIC_NU] = {
  {"I_stim", "uA/cm2", "applied current density, depolarising when "
   "positive (Cm = 1 uF/cm2)", -1000, 1000, 0},
};

static const mt_var obs[MS_NY] = {
  {"V", "mV", "transmembrane potential", -200, 150, 0},
  {"v", "1", "dimensionless potential (V - V_rest) / V_amp", -2, 2.5, 0},
  {"h", "1", "gate of the inward current", 0, 1, 0},
  {"J_in", "uA/cm2", "inward current V_amp h v^2 (1 - v) / tau_in, "
   "positive depolarising", -1e5, 1e5, 0},
  {"J_out", "uA/cm2", "outward current -V_amp v / tau_out, negative "
   "repolarising", -1e5, 1e5, 0},
};

/* Paper's parameters (Mitchell & Schaeffer 2003, section 2). */
const double mt_ms2003_default[MS_NP] = {
  [MS_TAU_IN] = 0.3, [MS_TAU_OUT] = 6.0, [MS_TAU_OPEN] = 120.0,
  [MS_TAU_CLOSE] = 150.0, [MS_V_GATE] = 0.13, [MS_V_REST] = -80.0,
  [MS_V_AMP] = 100.0,
};

#define P(i) p[MS_##i]

/* h_inf and tau_h of the single gate (h), by the side of v_gate. */
static void inf_tau(double t, const double *x, const double *p, double *inf,
                    double *tau)
{
  (void)t;
  double v = (x[MS_V] - P(V_REST)) / P(V_AMP);
  int open = v < P(V_GATE);
  inf[0] = open ? 1.0 : 0.0;
  tau[0] = open ? P(TAU_OPEN) : P(TAU_CLOSE);
}

static const int gate_index[1] = {MS_H};
static const mt_gates gates = {1, gate_index, inf_tau};

static int rhs(double t, const double *x, const double *p, const double *u_in,
               const double *mem, void *ws, double *dx)
{
  (void)mem, (void)ws;
  double v = (x[MS_V] - P(V_REST)) / P(V_AMP), h = x[MS_H];
  double j_in = h * v * v * (1.0 - v) / P(TAU_IN), j_out = -v / P(TAU_OUT);
  dx[MS_V] = P(V_AMP) * (j_in + j_out) + u_in[IONIC_U_STIM];
  double inf, tau;
  inf_tau(t, x, p, &inf, &tau);
  dx[MS_H] = (inf - h) / tau;
  return 0;
}

static void observe(double t, const double *x, const double *p,
                    const double *mem, double *y)
{
  (void)t, (void)mem;
  double v = (x[MS_V] - P(V_REST)) / P(V_AMP), h = x[MS_H];
  y[MS_Y_V] = x[MS_V];
  y[MS_Y_U] = v;
  y[MS_Y_H] = h;
  y[MS_Y_J_IN] = P(V_AMP) * h * v * v * (1.0 - v) / P(TAU_IN);
  y[MS_Y_J_OUT] = -P(V_AMP) * v / P(TAU_OUT);
}

/* Rest: v = 0 with the gate fully open (h = 1), a fixed point. */
static int init(const double *p, double *x0, double *mem, double *u_basal)
{
  (void)mem;
  if (!(P(V_AMP) > 0) || !(P(TAU_IN) > 0) || !(P(TAU_OUT) > 0) ||
      !(P(TAU_OPEN) > 0) || !(P(TAU_CLOSE) > 0))
    return -1;
  x0[MS_V] = P(V_REST);
  x0[MS_H] = 1.0;
  u_basal[IONIC_U_STIM] = 0.0;
  return 0;
}

static const char *name_at(int i) { return i == 0 ? "default" : NULL; }

static int load(int i, mt_patient *pt)
{
  if (i != 0 || pt->model->n_param != MS_NP)
    return MT_ENOTFOUND;
  memcpy(pt->param, mt_ms2003_default, sizeof mt_ms2003_default);
  snprintf(pt->id, sizeof pt->id, "default");
  snprintf(pt->group, sizeof pt->group, "published");
  return 0;
}

static const mt_patient_set defaults = {1, name_at, load};

const mt_model mt_model_mitchell_schaeffer_2003 = {
  .version = MT_MODEL_VERSION,
  .name = "mitchell_schaeffer_2003",
  .doc = "Mitchell-Schaeffer two-current cardiac cell, phenomenological",
  .time_unit = "ms",
  .reference = "Mitchell, Schaeffer, Bull Math Biol 65:767, 2003",
  .n_state = MS_NX, .n_param = MS_NP, .n_input = IONIC_NU, .n_obs = MS_NY,
  .state = state, .param = param, .input = input, .obs = obs,
  .rhs = rhs, .observe = observe, .init = init,
  .gates = &gates,
  .patients = &defaults,
};
