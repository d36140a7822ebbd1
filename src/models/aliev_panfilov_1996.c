/*
** Aliev-Panfilov two-variable model of cardiac excitation: R. R. Aliev,
** A. V. Panfilov, "A simple two-variable model of cardiac excitation",
** Chaos Solitons Fractals 7:293, 1996, with the paper's
** parameters k = 8, a = 0.15, eps0 = 0.002, mu1 = 0.2, mu2 = 0.3:
**
**   du/dtau = -k u (u - a)(u - 1) - u r + I
**   dr/dtau = eps(u, r) (-r - k u (u - a - 1)),  eps = eps0 + mu1 r/(u + mu2)
**
** (the paper's recovery variable v is called r here, to keep V for the
** potential). The dimensionless u and tau are scaled to physical units as
** in Nash & Panfilov, Prog Biophys Mol Biol 85:501, 2004, and Goktepe &
** Kuhl, Int J Numer Meth Engng 79:156, 2009: t = T tau
** with T = 12.9 ms, V = V_rest + V_amp u with V_rest = -80 mV, V_amp = 100
** mV. The cell interface (docs/models/aliev_panfilov_1996.md) gives
**
**   dV/dt = (V_amp / T) (-k u (u - a)(u - 1) - u r) + I_stim   (mV/ms)
**   dr/dt = eps(u, r) (-r - k u (u - a - 1)) / T               (/ms)
**
** with I_stim in uA/cm2 at Cm = 1 uF/cm2 (so I = I_stim T / V_amp). The
** model has no gating variable; both states are integrated as they are.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "models/ionic.h"

static const mt_var state[AP_NX] = {
  {"V", "mV", "transmembrane potential, V_rest + V_amp u", -200, 150, 0},
  {"r", "1", "recovery variable (the paper's v), dimensionless", -1, 20, 0},
};

static const mt_var param[AP_NP] = {
  {"k", "1", "magnitude of the transmembrane current (paper: 8)", 0.1, 100,
   MT_VAR_ESTIMABLE},
  {"a", "1", "excitation threshold of u (paper: 0.15)", 0.001, 0.5,
   MT_VAR_ESTIMABLE},
  {"eps0", "1", "recovery rate far from the excited state (paper: 0.002)",
   1e-5, 1, MT_VAR_ESTIMABLE},
  {"mu1", "1", "restitution coefficient of eps (paper: 0.2)", 0, 10,
   MT_VAR_ESTIMABLE},
  {"mu2", "1", "restitution offset of eps (paper: 0.3)", 0.01, 10,
   MT_VAR_ESTIMABLE},
  {"V_rest", "mV", "potential at u = 0 (Nash & Panfilov 2004: -80 mV)", -120,
   0, 0},
  {"V_amp", "mV", "potential span of u = 0..1 (Nash & Panfilov 2004: 100 "
   "mV)", 10, 200, 0},
  {"T", "ms", "duration of one dimensionless time unit (Nash & Panfilov "
   "2004: 12.9 ms)", 0.1, 100, MT_VAR_ESTIMABLE},
};

static const mt_var input[IONIC_NU] = {
  {"I_stim", "uA/cm2", "applied current density, depolarising when "
   "positive (Cm = 1 uF/cm2)", -1000, 1000, 0},
};

static const mt_var obs[AP_NY] = {
  {"V", "mV", "transmembrane potential", -200, 150, 0},
  {"u", "1", "dimensionless excitation variable (V - V_rest) / V_amp", -2,
   2.5, 0},
  {"r", "1", "recovery variable", -1, 20, 0},
};

/* Paper's parameters; scaling of Nash & Panfilov 2004. */
const double mt_ap1996_default[AP_NP] = {
  [AP_K] = 8.0, [AP_A] = 0.15, [AP_EPS0] = 0.002, [AP_MU1] = 0.2,
  [AP_MU2] = 0.3, [AP_V_REST] = -80.0, [AP_V_AMP] = 100.0,
  [AP_T_SCALE] = 12.9,
};

#define P(i) p[AP_##i]

/*
** Derivatives in physical units. Returns 1 (recoverable: the integrator
** retries a smaller step) where u + mu2 <= 0, where eps has its pole: u that
** low (V < -110 mV with the default scaling) is outside the model.
*/
static int rhs(double t, const double *x, const double *p, const double *u_in,
               const double *mem, void *ws, double *dx)
{
  (void)t, (void)mem, (void)ws;
  double u = (x[AP_V] - P(V_REST)) / P(V_AMP), r = x[AP_R];
  double k = P(K), a = P(A);
  if (!(u + P(MU2) > 0)) {
    dx[AP_V] = dx[AP_R] = NAN;
    return 1;
  }
  double eps = P(EPS0) + P(MU1) * r / (u + P(MU2));
  double du = -k * u * (u - a) * (u - 1.0) - u * r;
  dx[AP_V] = P(V_AMP) / P(T_SCALE) * du + u_in[IONIC_U_STIM];
  dx[AP_R] = eps * (-r - k * u * (u - a - 1.0)) / P(T_SCALE);
  return 0;
}

static void observe(double t, const double *x, const double *p,
                    const double *mem, double *y)
{
  (void)t, (void)mem;
  y[AP_Y_V] = x[AP_V];
  y[AP_Y_U] = (x[AP_V] - P(V_REST)) / P(V_AMP);
  y[AP_Y_R] = x[AP_R];
}

/* Rest: u = 0, r = 0 (a fixed point of the equations for any parameters). */
static int init(const double *p, double *x0, double *mem, double *u_basal)
{
  (void)mem;
  if (!(P(V_AMP) > 0) || !(P(T_SCALE) > 0) || !(P(MU2) > 0))
    return -1;
  x0[AP_V] = P(V_REST);
  x0[AP_R] = 0.0;
  u_basal[IONIC_U_STIM] = 0.0;
  return 0;
}

static const char *name_at(int i) { return i == 0 ? "default" : NULL; }

static int load(int i, mt_patient *pt)
{
  if (i != 0 || pt->model->n_param != AP_NP)
    return MT_ENOTFOUND;
  memcpy(pt->param, mt_ap1996_default, sizeof mt_ap1996_default);
  snprintf(pt->id, sizeof pt->id, "default");
  snprintf(pt->group, sizeof pt->group, "published");
  return 0;
}

static const mt_patient_set defaults = {1, name_at, load};

const mt_model mt_model_aliev_panfilov_1996 = {
  .version = MT_MODEL_VERSION,
  .name = "aliev_panfilov_1996",
  .doc = "Aliev-Panfilov two-variable cardiac cell, phenomenological",
  .time_unit = "ms",
  .reference = "Aliev, Panfilov, Chaos Solitons Fractals 7:293, 1996; "
               "scaling: Nash, Panfilov, Prog Biophys Mol Biol 85:501, 2004",
  .n_state = AP_NX, .n_param = AP_NP, .n_input = IONIC_NU, .n_obs = AP_NY,
  .state = state, .param = param, .input = input, .obs = obs,
  .rhs = rhs, .observe = observe, .init = init,
  .gates = NULL, /* no gating variable */
  .patients = &defaults,
};
