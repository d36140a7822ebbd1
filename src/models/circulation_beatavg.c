/*
** Beat-averaged closed-loop circulation, for forecasts over days to months:
** the beats of circulation_smith2004 (Smith et al., Med Eng Phys 26:131,
** 2004) are averaged out. The fast circulation (seconds) is taken to be in
** its periodic steady state at every minute and is solved algebraically
** whenever the observables are asked for; the states are only the slow ones
** (drug amounts, the volume the diuretic removed, drifts). Time in min,
** volumes mL, pressures mmHg; the flow Q of the algebra in mL/s, as the
** resistances of smith2004 are in mmHg.s/mL. Equations, coefficients and
** their calibration: docs/models/circulation_beatavg.md.
**
** Per beat (effective Ees_l = Ees_lvf f_Ees d_ees, lambda_l = lambda_lvf
** f_lambda, R = R_sys (1 - vd), HR = HR_obs, or HR (1 - bb_HR) if HR_obs is
** 0; SV = 60 Q / HR):
**   MAP  = CVP + Q R                       (systemic return = LV output)
**   ESV  = Vd_lvf + k_esl MAP / Ees_l + v_spt     (ESPVR at k_esl MAP)
**   EDV  = ESV + SV
**   PCWP = (P0_lvf (exp(lambda_l (EDV - v_spt - V0_lvf)) - 1) + P_peri
**           - c_fl) / k_fl + k_mt SV / (60 / HR - t_sys)
**                 (EDPVR at the filling pressure, plus the pericardial
**                  pressure and the drop driving the diastolic inflow)
**   P_peri = P0_pcd (exp(lambda_pcd (EDV + EDVr - V0_pcd)) - 1)
**   PAP  = PCWP + Q R_pul                  (pulmonary return = RV output)
**   ESVr = Vd_rvf + k_esr PAP / Ees_r - v_spt
**   EDVr = c_fr + k_fr CVP = ESVr + SV     (RV filling, closes the loop)
**   MAP/E_ao + CVP/E_vc + (PAP - P_th)/E_pa + (PCWP - P_th)/E_pu
**     + ESV + ESVr + 2 k_vm SV = V_tot - V_rem + V_gain   (stressed volume)
** two equations in (Q, CVP), solved by Newton (t_dia = 60 / HR - t_sys is
** held at 0.05 s or more). The septum's interaction is summarised by the
** calibrated offsets c_fl, c_fr, v_spt and the gains k_*.
**   PP = k_pp E_ao SV / (1 + k_tau E_ao / R),  DBP = MAP - k_map PP,
**   SBP = DBP + PP.
** Drugs: the PK/PD of smith2004 per minute. Drift: d f_Ees/dt = drift_Ees
** f_Ees / 1440, d f_lambda/dt = drift_lambda f_lambda / 1440, d V_gain/dt =
** drift_V / 1440.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "medtwin/rng.h"
#include "models/circulation.h"
#include "models/circulation_beatavg.h"

#define MMHG "mm[Hg]"
#define RES "mm[Hg].s/mL"
#define ELAST "mm[Hg]/mL"

static const mt_var state[BA_NX] = {
  MT_HEART_DRUG_STATES,
  {"f_Ees", "1", "drift factor on the LV free-wall Ees", 0, 10,
   MT_VAR_NONNEG},
  {"f_lambda", "1", "drift factor on the LV free-wall lambda", 0, 10,
   MT_VAR_NONNEG},
  {"V_gain", "mL", "stressed volume gained by drift", -4000, 4000, 0},
};

static const mt_var input[BA_NU] = {
  {"HR_obs", "/min", "heart rate as measured (a level; 0 = not measured, "
   "the model's own rate is used)", 0, 250, 0},
  {"beta_blocker", "mg/min", "oral beta-blocker (metoprolol) dosing rate", 0,
   1e4, MT_VAR_RATE},
  {"vasodilator", "mg/min", "oral ACE inhibitor (enalapril) dosing rate", 0,
   1e4, MT_VAR_RATE},
  {"diuretic", "mg/min", "oral loop diuretic (furosemide) dosing rate", 0,
   1e4, MT_VAR_RATE},
  {"inotrope", "ug/min", "intravenous inotrope (dobutamine) infusion rate",
   0, 1e4, MT_VAR_RATE},
};

#define E MT_VAR_ESTIMABLE
static const mt_var param[BA_NP] = {
  {"HR", "/min", "heart rate when not measured", 30, 200, 0},
  {"Ees_lvf", ELAST, "LV free wall end-systolic elastance", 0.1, 20, E},
  {"Vd_lvf", "mL", "LV free wall volume at zero end-systolic pressure", -50,
   100, 0},
  {"V0_lvf", "mL", "LV free wall volume at zero end-diastolic pressure",
   -50, 100, 0},
  {"P0_lvf", MMHG, "LV free wall end-diastolic pressure scale", 0.01, 5, 0},
  {"lambda_lvf", "/mL", "LV free wall end-diastolic stiffness", 0.001, 0.2,
   E},
  {"Ees_rvf", ELAST, "RV free wall end-systolic elastance", 0.05, 10, 0},
  {"Vd_rvf", "mL", "RV free wall volume at zero end-systolic pressure", -50,
   100, 0},
  {"V0_rvf", "mL", "RV free wall volume at zero end-diastolic pressure",
   -50, 100, 0},
  {"P0_rvf", MMHG, "RV free wall end-diastolic pressure scale", 0.01, 5, 0},
  {"lambda_rvf", "/mL", "RV free wall end-diastolic stiffness", 0.001, 0.2,
   0},
  {"P0_pcd", MMHG, "pericardium pressure scale", 0.01, 10, 0},
  {"lambda_pcd", "/mL", "pericardium stiffness", 0.001, 0.2, 0},
  {"V0_pcd", "mL", "pericardial volume at zero pressure", 0, 1000, 0},
  {"P_th", MMHG, "thoracic (pleural) pressure", -20, 20, 0},
  {"E_ao", ELAST, "aortic elastance", 0.05, 10, 0},
  {"E_vc", ELAST, "vena cava elastance", 0.0005, 0.1, 0},
  {"E_pa", ELAST, "pulmonary artery elastance", 0.02, 5, 0},
  {"E_pu", ELAST, "pulmonary vein elastance", 0.0005, 0.1, 0},
  {"R_sys", RES, "systemic vascular resistance", 0.1, 10, E},
  {"R_pul", RES, "pulmonary vascular resistance", 0.01, 2, 0},
  {"V_tot", "mL", "total stressed blood volume at the start", 300, 4000, E},
  MT_HEART_DRUG_PARAMS("/min", 1, 4),
  {"k_fl", "1", "calibrated: gain of the LV filling pressure on PCWP", 0.1,
   10, 0},
  {"c_fl", MMHG, "calibrated: LV transmural filling pressure at PCWP 0",
   -50, 50, 0},
  {"k_fr", "mL/mm[Hg]", "calibrated: RV end-diastolic volume per mmHg of "
   "CVP", 0, 100, 0},
  {"c_fr", "mL", "calibrated: RV end-diastolic volume at CVP 0", 0, 500, 0},
  {"k_esl", "1", "calibrated: LV effective end-systolic pressure / MAP", 0.1,
   10, 0},
  {"k_esr", "1", "calibrated: RV effective end-systolic pressure / PAP", 0.1,
   10, 0},
  {"v_spt", "mL", "calibrated: mean septal shift into the RV", -50, 50, 0},
  {"k_vm", "1", "calibrated: mean ventricular volume above ESV / SV", 0, 1,
   0},
  {"k_pp", "1", "calibrated: pulse pressure / (E_ao SV) without run-off",
   0.01, 5, 0},
  {"k_tau", "s", "calibrated: run-off time of the pulse pressure", 0, 10, 0},
  {"k_map", "1", "calibrated: (MAP - DBP) / pulse pressure", 0, 1, 0},
  {"k_mt", RES, "calibrated: resistance of LV filling (PCWP above the "
   "filling pressure per mL/s of mean diastolic inflow)", 0, 1, 0},
  {"t_sys", "s", "calibrated: systole's share of the beat (diastole = "
   "60 / HR - t_sys)", 0, 0.6, 0},
  {"W0", "kg", "body weight at the start", 20, 300, 0},
  {"f_iv", "1", "intravascular (stressed) fraction of retained fluid "
   "(illustrative)", 0.01, 1, 0},
  {"drift_Ees", "1/d", "fractional drift of LV contractility per day", -1,
   1, 0},
  {"drift_lambda", "1/d", "fractional drift of LV diastolic stiffness per "
   "day", -1, 1, 0},
  {"drift_V", "mL/d", "drift of the stressed volume per day", -1000, 1000,
   0},
};
#undef E

/* Healthy adult: smith2004's values (Smith et al. 2004, CellML export);
** the PK rate constants of smith2004 (/h) divided by 60. */
const double mt_beatavg_healthy[BA_NP] = {
  80,                                     /* HR */
  2.8798, 0, 0, 0.1203, 0.033,            /* LV free wall */
  0.585, 0, 0, 0.2157, 0.023,             /* RV free wall */
  0.5003, 0.03, 200, -4,                  /* pericardium, P_th */
  0.6913, 0.0059, 0.369, 0.0073,          /* E_ao, E_vc, E_pa, E_pu */
  1.0889, 0.1552,                         /* R_sys, R_pul */
  1500,                                   /* V_tot */
  1.0 / 60, 0.198 / 60, 390, 0.3, 0.2, 0.05, 1,    /* metoprolol */
  0.7 / 60, 0.063 / 60, 100, 0.3, 0.02, 1,         /* enalaprilat */
  1.2 / 60, 0.462 / 60, 9, 2, 1, 1.5, 1.0 / 360,   /* furosemide */
  20.8 / 60, 14, 1.0, 100, 1,                      /* dobutamine */
  /* k_fl, c_fl, k_fr, c_fr, k_esl, k_esr, v_spt, k_vm, k_pp, k_tau, k_map,
  ** k_mt, t_sys:
  ** fitted by bench/beatavg_calibrate (its "initialiser:" line; k_esr and
  ** k_vm held), errors in docs/models/circulation_beatavg.md. */
  1.23724, 6.11472, 13.9456, 62.6455, 1.17565, 1, 5.69123, 0.5, 0.924234,
  0.191526, 0.506174, 0.0150656, 0.496745,
  75, 0.25,                               /* W0, f_iv */
  0, 0, 0,                                /* drifts */
};

static const mt_var obs[BA_NY] = {
  {"MAP", MMHG, "mean arterial pressure", 0, 300, 0},
  {"SBP", MMHG, "systolic arterial pressure", 0, 400, 0},
  {"DBP", MMHG, "diastolic arterial pressure", 0, 300, 0},
  {"HR", "/min", "heart rate", 0, 250, 0},
  {"SV", "mL", "stroke volume", 0, 300, 0},
  {"CO", "L/min", "cardiac output", 0, 30, 0},
  {"EDV", "mL", "LV end-diastolic volume", 0, 1000, 0},
  {"ESV", "mL", "LV end-systolic volume", 0, 1000, 0},
  {"EF", "%", "LV ejection fraction", 0, 100, 0},
  {"CVP", MMHG, "central venous pressure", -20, 100, 0},
  {"PAP", MMHG, "mean pulmonary arterial pressure", -20, 150, 0},
  {"PCWP", MMHG, "mean pulmonary venous (wedge) pressure", -20, 100, 0},
  {"weight", "kg", "body weight", 0, 400, 0},
};

static const char *const mem_doc[1] = {
  "HR_obs of the current input segment (0: not measured)",
};

#define P(i) p[BA_##i]

/* The loop at (Q, CVP): residuals r[0] (CVP from the chain minus CVP) and
** r[1] (volume minus the stressed volume), their Jacobian j (row-major,
** d/dQ, d/dCVP), and the observables into y when y is not NULL. */
typedef struct ba_eff {
  double hr, ees_l, ees_r, lam_l, rsys, vs;
} ba_eff;

static void loop(const double *p, const ba_eff *e, double q, double cvp,
                 double *r, double *j, double *y)
{
  double k = 60 / e->hr; /* SV = k Q */
  double sv = k * q;
  double map = cvp + q * e->rsys;
  /* LV: d/dQ and d/dCVP of each quantity carried alongside. */
  double esv = P(VD_LVF) + P(K_ESL) * map / e->ees_l + P(V_SPT);
  double esv_q = P(K_ESL) * e->rsys / e->ees_l, esv_c = P(K_ESL) / e->ees_l;
  double edv = esv + sv, edv_q = esv_q + k, edv_c = esv_c;
  double xl = exp(e->lam_l * (edv - P(V_SPT) - P(V0_LVF)));
  double pl = P(P0_LVF) * (xl - 1), pl_d = P(P0_LVF) * e->lam_l * xl;
  /* Pericardium around both end-diastolic volumes (the RV's from CVP). */
  double edr0 = P(C_FR) + P(K_FR) * cvp;
  double xp = exp(P(LAM_PCD) * (edv + edr0 - P(V0_PCD)));
  double ppc = P(P0_PCD) * (xp - 1), pp_d = P(P0_PCD) * P(LAM_PCD) * xp;
  /* Diastolic inflow SV / t_dia through the filling resistance. */
  double tdia = fmax(k - P(T_SYS), 0.05);
  double drop = P(K_MT) * sv / tdia, drop_q = P(K_MT) * k / tdia;
  double pcwp = (pl + ppc - P(C_FL)) / P(K_FL) + drop;
  double pcwp_q = (pl_d + pp_d) * edv_q / P(K_FL) + drop_q;
  double pcwp_c = ((pl_d + pp_d) * edv_c + pp_d * P(K_FR)) / P(K_FL);
  double pap = pcwp + q * P(R_PUL), pap_q = pcwp_q + P(R_PUL), pap_c = pcwp_c;
  double esr = P(VD_RVF) + P(K_ESR) * pap / e->ees_r - P(V_SPT);
  double esr_q = P(K_ESR) * pap_q / e->ees_r, esr_c = P(K_ESR) * pap_c /
                                                      e->ees_r;
  /* RV: its end-diastolic volume linear in CVP (calibrated compliance),
  ** the residual in mL. */
  r[0] = P(C_FR) + P(K_FR) * cvp - (esr + sv);
  j[0] = -(esr_q + k);
  j[1] = P(K_FR) - esr_c;
  double vol = map / P(E_AO) + cvp / P(E_VC) + (pap - P(P_TH)) / P(E_PA) +
               (pcwp - P(P_TH)) / P(E_PU) + esv + esr + 2 * P(K_VM) * sv;
  r[1] = vol - e->vs;
  j[2] = e->rsys / P(E_AO) + pap_q / P(E_PA) + pcwp_q / P(E_PU) + esv_q +
         esr_q + 2 * P(K_VM) * k;
  j[3] = 1 / P(E_AO) + 1 / P(E_VC) + pap_c / P(E_PA) + pcwp_c / P(E_PU) +
         esv_c + esr_c;
  if (y) {
    double pp = P(K_PP) * P(E_AO) * sv / (1 + P(K_TAU) * P(E_AO) / e->rsys);
    y[BA_Y_MAP] = map;
    y[BA_Y_DBP] = map - P(K_MAP) * pp;
    y[BA_Y_SBP] = y[BA_Y_DBP] + pp;
    y[BA_Y_HR] = e->hr;
    y[BA_Y_SV] = sv;
    y[BA_Y_CO] = e->hr * sv / 1000;
    y[BA_Y_EDV] = edv;
    y[BA_Y_ESV] = esv;
    y[BA_Y_EF] = 100 * sv / edv;
    y[BA_Y_CVP] = cvp;
    y[BA_Y_PAP] = pap;
    y[BA_Y_PCWP] = pcwp;
  }
}

static void effective(const double *x, const double *p, double hr_obs,
                      ba_eff *e)
{
  double cbb = x[BA_BB] / P(BB_V);
  double bb_hr = mt_heart_emax(cbb, P(BB_EMAX_HR), P(BB_EC50), P(BB_H));
  double bb_ees = mt_heart_emax(cbb, P(BB_EMAX_EES), P(BB_EC50), P(BB_H));
  double in = mt_heart_emax(x[BA_IN] / P(IN_V),
                            P(IN_EMAX), P(IN_EC50), P(IN_H));
  double vd = mt_heart_emax(x[BA_VD] / P(VD_V),
                            P(VD_EMAX), P(VD_EC50), P(VD_H));
  double d = (1 - bb_ees) * (1 + in);
  e->hr = hr_obs > 0 ? hr_obs : P(HR) * (1 - bb_hr);
  e->ees_l = P(EES_LVF) * x[BA_F_EES] * d;
  e->ees_r = P(EES_RVF) * d;
  e->lam_l = P(LAM_LVF) * x[BA_F_LAM];
  e->rsys = P(R_SYS) * (1 - vd);
  e->vs = P(V_TOT) - x[BA_V_REM] + x[BA_V_GAIN];
}

/* Damped Newton on (Q, CVP) from z until both steps are below tol (or for
** max_it steps when tol is infinite). Returns 0 or 1. */
static int newton(const double *p, const ba_eff *e, double tol, int max_it,
                  double *z)
{
  for (int it = 0; it < max_it; it++) {
    double r[2], j[4];
    loop(p, e, z[0], z[1], r, j, NULL);
    double det = j[0] * j[3] - j[1] * j[2];
    if (!isfinite(r[0]) || !isfinite(r[1]) || !isfinite(det) || det == 0)
      return 1;
    double dq = (r[0] * j[3] - r[1] * j[1]) / det;
    double dc = (j[0] * r[1] - j[2] * r[0]) / det;
    /* Steps at most half the flow and 10 mmHg. */
    double s = 1;
    if (fabs(dq) > 0.5 * z[0])
      s = fmin(s, 0.5 * z[0] / fabs(dq));
    if (fabs(dc) > 10)
      s = fmin(s, 10 / fabs(dc));
    z[0] -= s * dq;
    z[1] -= s * dc;
    if (s == 1 && fabs(dq) <= tol && fabs(dc) <= tol)
      return 0;
  }
  return isinf(tol) ? 0 : 1;
}

/*
** Newton until a step is below 1e-9 (mL/s, mmHg), the result rounded to a
** grid of 2^-24 and polished by one full Newton step from there (Newton
** converges quadratically, so the error after it is of the order of
** (2^-24)^2), so that the answer depends only on (x, p, hr_obs), bit for
** bit, not on the warm start.
*/
int mt_beatavg_solve(const double *x, const double *p, double hr_obs,
                     double *guess, double *y)
{
  ba_eff e;
  effective(x, p, hr_obs, &e);
  double z[2] = {80, 3};
  int ok = 0;
  if (guess && guess[0] > 0 && isfinite(guess[1])) {
    z[0] = guess[0], z[1] = guess[1];
    ok = newton(p, &e, 1e-9, 100, z) == 0;
  }
  /* Cold starts: the healthy solution's neighbourhood first, then a grid
  ** of flows and venous pressures (far from healthy the basin of the
  ** damped Newton can miss (80, 3)). */
  static const double q0[5] = {80, 40, 150, 15, 300};
  static const double c0[3] = {3, 0, 10};
  for (int a = 0; !ok && a < 5; a++)
    for (int b = 0; !ok && b < 3; b++) {
      z[0] = q0[a], z[1] = c0[b];
      ok = newton(p, &e, 1e-9, 200, z) == 0;
    }
  if (ok && z[0] > 0) {
    z[0] = ldexp(nearbyint(ldexp(z[0], 24)), -24);
    z[1] = ldexp(nearbyint(ldexp(z[1], 24)), -24);
    newton(p, &e, INFINITY, 1, z);
  }
  if (!ok || !(z[0] > 0) || !isfinite(z[1])) {
    if (y)
      for (int k = 0; k < BA_NY; k++)
        y[k] = NAN;
    return 1;
  }
  if (guess)
    guess[0] = z[0], guess[1] = z[1];
  if (y) {
    double r[2], j[4];
    loop(p, &e, z[0], z[1], r, j, y);
    y[BA_Y_WEIGHT] =
        P(W0) + (x[BA_V_GAIN] - x[BA_V_REM]) / 1000 / P(F_IV);
  }
  return 0;
}

static int rhs(double t, const double *x, const double *p, const double *u,
               const double *mem, void *ws, double *dx)
{
  (void)t, (void)mem, (void)ws;
  double abb = P(BB_KA) * x[BA_BB_GUT];
  double avd = P(VD_KA) * x[BA_VD_GUT];
  double adi = P(DI_KA) * x[BA_DI_GUT];
  dx[BA_BB_GUT] = u[BA_U_BB] - abb;
  dx[BA_BB] = abb - P(BB_KE) * x[BA_BB];
  dx[BA_VD_GUT] = u[BA_U_VD] - avd;
  dx[BA_VD] = avd - P(VD_KE) * x[BA_VD];
  dx[BA_DI_GUT] = u[BA_U_DI] - adi;
  dx[BA_DI] = adi - P(DI_KE) * x[BA_DI];
  dx[BA_IN] = u[BA_U_IN] - P(IN_KE) * x[BA_IN];
  dx[BA_V_REM] = mt_heart_emax(x[BA_DI] / P(DI_V), P(DI_EMAX), P(DI_EC50),
                               P(DI_H)) -
                 P(DI_KREF) * x[BA_V_REM];
  dx[BA_F_EES] = P(DRIFT_EES) * x[BA_F_EES] / 1440;
  dx[BA_F_LAM] = P(DRIFT_LAM) * x[BA_F_LAM] / 1440;
  dx[BA_V_GAIN] = P(DRIFT_V) / 1440;
  return 0;
}

static void observe(double t, const double *x, const double *p,
                    const double *mem, double *y)
{
  (void)t;
  mt_beatavg_solve(x, p, mem ? mem[0] : 0, NULL, y);
}

static int init(const double *p, double *x0, double *mem, double *u_basal)
{
  (void)u_basal;
  for (int i = 0; i < BA_NX; i++)
    x0[i] = 0;
  x0[BA_F_EES] = 1;
  x0[BA_F_LAM] = 1;
  mem[0] = 0;
  if (!(P(HR) > 0) || !(P(V_TOT) > 0))
    return -1;
  return mt_beatavg_solve(x0, p, 0, NULL, NULL) ? -1 : 0;
}

static void on_input(double t, double t_next, const double *p,
                     const double *u_old, const double *u_new,
                     const double *x, double *mem)
{
  (void)t, (void)t_next, (void)p, (void)u_old, (void)x;
  mem[0] = u_new[BA_U_HR] > 0 ? u_new[BA_U_HR] : 0;
}

/* ---- Patients: the conditions of smith2004 and a synthetic population. */

#define N_COND 6
#define N_ADULT 40

/* The condition's parameters: smith2004's condition i, carried over by name
** as the ratio to smith2004's healthy value (so the units may differ). */
static int load_condition(int i, double *out)
{
  const mt_model *sm = &mt_model_circulation_smith2004;
  mt_patient *sp = NULL;
  if (mt_patient_create(sm, &sp))
    return MT_ENOMEM;
  int rc = mt_circulation_conditions.load(i, sp);
  if (rc == 0) {
    memcpy(out, mt_beatavg_healthy, sizeof mt_beatavg_healthy);
    for (int k = 0; k < BA_NP; k++) {
      int j = mt_var_index(sm->param, sm->n_param, param[k].name);
      if (j >= 0 && mt_circ_healthy[j] != 0)
        out[k] *= sp->param[j] / mt_circ_healthy[j];
    }
  }
  mt_patient_free(sp);
  return rc;
}

/*
** adult#NNN: log-normal spreads around a centre (the healthy set, or for
** some members a condition's), drawn from mt_rng stream (20261124; 10, n,
** 0); a draw whose steady state is implausible (MAP outside 55-130 mmHg, CO
** outside 2-9 L/min, EF outside 15-75 %) is drawn again from the same
** stream. Mix: #001-#024 healthy, #025-#032 HFrEF (Ees_lvf x 0.5),
** #033-#036 HFpEF (lambda_lvf x 1.35, P0_lvf x 2), #037-#040 hypertension
** (R_sys x 1.4). SDs of log: Ees_lvf 0.25, R_sys 0.2, V_tot 0.12,
** lambda_lvf 0.15, HR 0.1 (illustrative; card, "Population").
*/
static int load_adult(int n, double *out)
{
  static const struct { int i; double sd; } spread[5] = {
    {BA_EES_LVF, 0.25}, {BA_R_SYS, 0.2}, {BA_V_TOT, 0.12},
    {BA_LAM_LVF, 0.15}, {BA_HR, 0.1},
  };
  double centre[BA_NP];
  memcpy(centre, mt_beatavg_healthy, sizeof centre);
  if (n > 24 && n <= 32)
    centre[BA_EES_LVF] *= 0.5;
  else if (n > 32 && n <= 36)
    centre[BA_LAM_LVF] *= 1.35, centre[BA_P0_LVF] *= 2;
  else if (n > 36)
    centre[BA_R_SYS] *= 1.4;
  mt_rng r;
  mt_rng_init(&r, 20261124, 10, (uint64_t)n, 0);
  double x0[BA_NX], mem[1], y[BA_NY];
  for (int tries = 0; tries < 1000; tries++) {
    memcpy(out, centre, sizeof centre);
    for (int k = 0; k < 5; k++)
      out[spread[k].i] *= exp(spread[k].sd * mt_rng_normal(&r));
    if (init(out, x0, mem, NULL) == 0 &&
        mt_beatavg_solve(x0, out, 0, NULL, y) == 0 && y[BA_Y_MAP] >= 55 &&
        y[BA_Y_MAP] <= 130 && y[BA_Y_CO] >= 2 && y[BA_Y_CO] <= 9 &&
        y[BA_Y_EF] >= 15 && y[BA_Y_EF] <= 75)
      return 0;
  }
  return MT_ESOLVER;
}

static const char *patient_name(int i)
{
  static char names[N_ADULT][16];
  if (i >= 0 && i < N_COND)
    return mt_circulation_conditions.name(i);
  if (i < N_COND || i >= N_COND + N_ADULT)
    return NULL;
  int n = i - N_COND + 1;
  if (!names[n - 1][0])
    snprintf(names[n - 1], sizeof names[n - 1], "adult#%03d", n);
  return names[n - 1];
}

static int patient_load(int i, mt_patient *pt)
{
  if (i < 0 || i >= N_COND + N_ADULT || pt->model->n_param != BA_NP)
    return MT_ENOTFOUND;
  int rc = i < N_COND ? load_condition(i, pt->param)
                      : load_adult(i - N_COND + 1, pt->param);
  if (rc)
    return rc;
  snprintf(pt->id, sizeof pt->id, "%s", patient_name(i));
  snprintf(pt->group, sizeof pt->group, "%s",
           i == 0 ? "healthy" : i < N_COND ? "condition" : "adult");
  pt->weight_kg = pt->param[BA_W0];
  return 0;
}

const mt_patient_set mt_beatavg_patients = {N_COND + N_ADULT, patient_name,
                                            patient_load};

const mt_model mt_model_circulation_beatavg = {
  .version = MT_MODEL_VERSION,
  .name = "circulation_beatavg",
  .doc = "closed-loop heart and circulation averaged over the beat, "
         "for days to months",
  .time_unit = "min",
  .reference = "Smith, Chase, Nokes, Shaw, Wake, Med Eng Phys 26:131, 2004 "
               "(beat-averaged; calibrated against circulation_smith2004)",
  .n_state = BA_NX, .n_param = BA_NP, .n_input = BA_NU, .n_obs = BA_NY,
  .n_mem = 1,
  .state = state, .param = param, .input = input, .obs = obs,
  .mem_doc = mem_doc,
  .rhs = rhs, .observe = observe, .init = init, .on_input = on_input,
  .patients = &mt_beatavg_patients,
};
