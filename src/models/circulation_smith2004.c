/*
** Closed-loop cardiovascular system with ventricular interaction: Smith,
** Chase, Nokes, Shaw, Wake, "Minimal haemodynamic system model including
** ventricular interaction and valve dynamics", Med Eng Phys 26:131, 2004,
** with the healthy-adult parameters of the paper's CellML export (as used by
** Revie et al., Comput Methods Programs Biomed 109:197, 2013). Time in s, volumes in mL, pressures
** in mmHg. Equations and parameter sources: docs/models/
** circulation_smith2004.md.
**
** Driver:   e = A exp(-B (tau - C)^2), tau = (phi mod 1) T, T = 60 / HR_eff,
**           dphi/dt = HR_eff / 60 (the beat phase is a state)
** Drugs:    one-compartment PK per drug (oral: gut -> central, ka, ke; IV
**           inotrope: central, ke), sigmoid Emax effects on HR, the free
**           walls' Ees, R_sys and a loss of stressed volume from the vena
**           cava (card, section 9)
** Baroreflex (optional, baro_on): dP_baro/dt = (P_ao - P_baro) / tau,
**           s = -tanh((P_baro - P_set) / 2k), HR_eff and R_sys,eff scaled
**           by (1 + G s) (after Ursino, Am J Physiol 275:H1733, 1998;
**           card, section 10)
** Chamber:  P(V) = e Ees (V - Vd) + (1 - e) P0 (exp(lambda (V - V0)) - 1)
**           for the LV and RV free walls and the septum
** Septum:   P_spt(V_spt) = P_lvf(V_lv - V_spt) - P_rvf(V_rv + V_spt),
**           solved by Newton in every evaluation (warm start in ws;
**           the samples' observables skip the final polish, card 2.2)
** Pericardium: P_peri = P0_pcd (exp(lambda_pcd (V_lv + V_rv - V0_pcd)) - 1)
**           + P_th; P_lv = P_lvf + P_peri, P_rv = P_rvf + P_peri
** Vessels:  P_ao = E_ao V_ao, P_vc = E_vc V_vc (outside the thorax);
**           P_pa = E_pa V_pa + P_th, P_pu = E_pu V_pu + P_th
** Valves:   L dQ/dt = P_in - P_out - R Q while open; a valve closes (Q = 0,
**           held) when its flow crosses zero downwards and opens when its
**           pressure difference crosses zero upwards (state events, flags
**           in the discrete memory).
*/
#include <math.h>
#include <string.h>

#include "medtwin/model.h"
#include "models/circulation.h"

#define MMHG "mm[Hg]"
#define RES "mm[Hg].s/mL"
#define INERT "mm[Hg].s2/mL"
#define ELAST "mm[Hg]/mL"

static const mt_var state[CV_NX] = {
  {"V_lv", "mL", "left ventricular volume (stressed)", 0, 1000,
   MT_VAR_NONNEG},
  {"V_rv", "mL", "right ventricular volume (stressed)", 0, 1000,
   MT_VAR_NONNEG},
  {"V_ao", "mL", "aortic (systemic arterial) stressed volume", 0, 1000,
   MT_VAR_NONNEG},
  {"V_vc", "mL", "vena cava (systemic venous) stressed volume", 0, 4000,
   MT_VAR_NONNEG},
  {"V_pa", "mL", "pulmonary arterial stressed volume", 0, 1000,
   MT_VAR_NONNEG},
  {"V_pu", "mL", "pulmonary venous stressed volume", 0, 4000, MT_VAR_NONNEG},
  {"Q_mt", "mL/s", "flow through the mitral valve", -100, 3000, 0},
  {"Q_av", "mL/s", "flow through the aortic valve", -100, 3000, 0},
  {"Q_tc", "mL/s", "flow through the tricuspid valve", -100, 3000, 0},
  {"Q_pv", "mL/s", "flow through the pulmonary valve", -100, 3000, 0},
  {"phi", "1", "beat phase: beats since the start, dphi/dt = HR_eff / 60",
   0, 1e9, MT_VAR_NONNEG},
  MT_HEART_DRUG_STATES,
  {"P_baro", MMHG, "baroreflex: aortic pressure through a first-order "
   "filter (held at the set point while the reflex is off)", -50, 400, 0},
};

static const mt_var input[CV_NU] = {
  {"beta_blocker", "mg/s", "oral beta-blocker (metoprolol) dosing rate", 0,
   1e4, MT_VAR_RATE},
  {"vasodilator", "mg/s", "oral ACE inhibitor (enalapril) dosing rate", 0,
   1e4, MT_VAR_RATE},
  {"diuretic", "mg/s", "oral loop diuretic (furosemide) dosing rate", 0, 1e4,
   MT_VAR_RATE},
  {"inotrope", "ug/s", "intravenous inotrope (dobutamine) infusion rate", 0,
   1e4, MT_VAR_RATE},
};

#define E MT_VAR_ESTIMABLE
static const mt_var param[CV_NP] = {
  {"HR", "/min", "heart rate; the beat period is T = 60 / HR", 30, 200, 0},
  {"A", "1", "amplitude of the activation function", 0, 1, 0},
  {"B", "s-2", "width coefficient of the activation function", 1, 1000, 0},
  {"C", "s", "time of peak activation within the beat", 0, 2, 0},
  {"Ees_lvf", ELAST, "LV free wall end-systolic elastance", 0.1, 20, E},
  {"Vd_lvf", "mL", "LV free wall volume at zero end-systolic pressure", -50,
   100, 0},
  {"V0_lvf", "mL", "LV free wall volume at zero end-diastolic pressure",
   -50, 100, 0},
  {"P0_lvf", MMHG, "LV free wall end-diastolic pressure scale", 0.01, 5, E},
  {"lambda_lvf", "/mL", "LV free wall end-diastolic stiffness", 0.001, 0.2,
   E},
  {"Ees_rvf", ELAST, "RV free wall end-systolic elastance", 0.05, 10, E},
  {"Vd_rvf", "mL", "RV free wall volume at zero end-systolic pressure", -50,
   100, 0},
  {"V0_rvf", "mL", "RV free wall volume at zero end-diastolic pressure",
   -50, 100, 0},
  {"P0_rvf", MMHG, "RV free wall end-diastolic pressure scale", 0.01, 5, 0},
  {"lambda_rvf", "/mL", "RV free wall end-diastolic stiffness", 0.001, 0.2,
   0},
  {"Ees_spt", ELAST, "septum end-systolic elastance", 1, 500, 0},
  {"Vd_spt", "mL", "septum volume at zero end-systolic pressure", -20, 20,
   0},
  {"V0_spt", "mL", "septum volume at zero end-diastolic pressure", -20, 20,
   0},
  {"P0_spt", MMHG, "septum end-diastolic pressure scale", 0.01, 20, 0},
  {"lambda_spt", "/mL", "septum end-diastolic stiffness", 0.01, 2, 0},
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
  {"R_mt", RES, "mitral valve resistance", 0.001, 0.5, 0},
  {"R_av", RES, "aortic valve resistance", 0.001, 0.5, 0},
  {"R_tc", RES, "tricuspid valve resistance", 0.001, 0.5, 0},
  {"R_pv", RES, "pulmonary valve resistance", 0.001, 0.5, 0},
  {"L_mt", INERT, "mitral valve inertance", 1e-6, 1e-2, 0},
  {"L_av", INERT, "aortic valve inertance", 1e-6, 1e-2, 0},
  {"L_tc", INERT, "tricuspid valve inertance", 1e-6, 1e-2, 0},
  {"L_pv", INERT, "pulmonary valve inertance", 1e-6, 1e-2, 0},
  {"V_tot", "mL", "total stressed blood volume (sets the initial state; "
   "V_tot - V_rem is conserved by the dynamics)", 300, 4000, E},
  MT_HEART_DRUG_PARAMS("/h", 20, 200),
  {"baro_on", "1", "baroreflex switch: 0 off (default), 1 on", 0, 1, 0},
  {"baro_tau", "s", "baroreflex: time constant of the pressure filter", 0.1,
   60, 0},
  {"baro_Pset", MMHG, "baroreflex: set point of the filtered aortic "
   "pressure", 40, 160, 0},
  {"baro_k", MMHG, "baroreflex: slope of the afferent sigmoid", 1, 100, 0},
  {"baro_G_HR", "1", "baroreflex: fractional gain on HR (HR x (1 + G s))", 0,
   1, 0},
  {"baro_G_R", "1", "baroreflex: fractional gain on R_sys (R_sys x (1 + G "
   "s))", 0, 1, 0},
};
#undef E

/* Healthy adult (Smith et al. 2004, CellML export; Revie et al. 2012). */
const double mt_circ_healthy[CV_NP] = {
  80, 1, 80, 0.375,                       /* HR, A, B, C */
  2.8798, 0, 0, 0.1203, 0.033,            /* LV free wall */
  0.585, 0, 0, 0.2157, 0.023,             /* RV free wall */
  48.754, 2, 2, 1.1101, 0.435,            /* septum */
  0.5003, 0.03, 200, -4,                  /* pericardium, P_th */
  0.6913, 0.0059, 0.369, 0.0073,          /* E_ao, E_vc, E_pa, E_pu */
  1.0889, 0.1552,                         /* R_sys, R_pul */
  0.0158, 0.0180, 0.0237, 0.0055,         /* R_mt, R_av, R_tc, R_pv */
  7.6968e-5, 1.2189e-4, 8.0093e-5, 1.4868e-4, /* L_mt, L_av, L_tc, L_pv */
  1500,                                   /* V_tot */
  /* Drugs (sources and illustrative marks: the model card, "Drug
  ** therapy"). Metoprolol: ka, ke (t1/2 3.5 h), V; Emax, EC50, h. */
  1.0, 0.198, 390, 0.3, 0.2, 0.05, 1,
  /* Enalaprilat (from oral enalapril): ka, ke (t1/2 11 h), V; PD. */
  0.7, 0.063, 100, 0.3, 0.02, 1,
  /* Furosemide: ka, ke (t1/2 1.5 h), V; PD (mL/min, mg/L). */
  1.2, 0.462, 9, 2, 1, 1.5, 1.0 / 6, /* and refill (t 6 h) */
  /* Dobutamine: ke (t1/2 2 min), V; PD (ug/L). */
  20.8, 14, 1.0, 100, 1,
  /* Baroreflex (card, section 10): off; tau, set point (this model's
  ** healthy MAP), slope k_a of Ursino 1998; gains illustrative. */
  0, 5, 97.8, 11.758, 0.5, 0.3,
};

static const mt_var obs[CV_NY] = {
  {"P_lv", MMHG, "left ventricular pressure", -50, 400, 0},
  {"P_rv", MMHG, "right ventricular pressure", -50, 200, 0},
  {"P_ao", MMHG, "aortic pressure", -50, 400, 0},
  {"P_vc", MMHG, "vena cava (central venous) pressure", -50, 100, 0},
  {"P_pa", MMHG, "pulmonary artery pressure", -50, 200, 0},
  {"P_pu", MMHG, "pulmonary vein pressure", -50, 100, 0},
  {"P_peri", MMHG, "pericardial pressure including thoracic pressure", -50,
   200, 0},
  {"V_lv", "mL", "left ventricular volume", 0, 1000, 0},
  {"V_rv", "mL", "right ventricular volume", 0, 1000, 0},
  {"V_spt", "mL", "septal volume (deflection towards the RV positive)", -100,
   100, 0},
  {"Q_mt", "mL/s", "mitral valve flow", -100, 3000, 0},
  {"Q_av", "mL/s", "aortic valve flow", -100, 3000, 0},
  {"Q_tc", "mL/s", "tricuspid valve flow", -100, 3000, 0},
  {"Q_pv", "mL/s", "pulmonary valve flow", -100, 3000, 0},
  {"Q_sys", "mL/s", "systemic flow (P_ao - P_vc) / R_sys", -1000, 3000, 0},
  {"Q_pul", "mL/s", "pulmonary flow (P_pa - P_pu) / R_pul", -1000, 3000, 0},
  {"act", "1", "cardiac activation e(t)", 0, 1, 0},
};

static const char *const mem_doc[CV_NVALVE] = {
  "mitral valve open (1) or closed (0)",
  "aortic valve open (1) or closed (0)",
  "tricuspid valve open (1) or closed (0)",
  "pulmonary valve open (1) or closed (0)",
};

#define P(i) p[CV_##i]

/* Drug effects at state x (fractions; the diuretic's in mL/s). */
typedef struct cv_drug {
  double hr, ees, rsys, loss;
} cv_drug;

/*
** Baroreflex drive at state x: s = -tanh((P_baro - P_set) / (2 k)), in
** (-1, 1), 0 at the set point, positive when the pressure is low (the
** normalised afferent sigmoid of Ursino 1998, eq. 2, mirrored: less
** afferent firing, more sympathetic drive). 0 exactly while the reflex is off.
*/
static double baro_drive(const double *x, const double *p)
{
  if (!(P(BARO_ON) > 0.5))
    return 0;
  return -tanh((x[CV_P_BARO] - P(BARO_PSET)) / (2 * P(BARO_K)));
}

static void drug_effects(const double *x, const double *p, cv_drug *d)
{
  double cbb = x[CV_BB] / P(BB_V);
  double bb_hr = mt_heart_emax(cbb, P(BB_EMAX_HR), P(BB_EC50), P(BB_H));
  double bb_ees = mt_heart_emax(cbb, P(BB_EMAX_EES), P(BB_EC50), P(BB_H));
  double in = mt_heart_emax(x[CV_IN] / P(IN_V),
                            P(IN_EMAX), P(IN_EC50), P(IN_H));
  double vd = mt_heart_emax(x[CV_VD] / P(VD_V),
                            P(VD_EMAX), P(VD_EC50), P(VD_H));
  double s = baro_drive(x, p);
  d->hr = P(HR) * (1 - bb_hr);
  d->ees = (1 - bb_ees) * (1 + in);
  d->rsys = P(R_SYS) * (1 - vd);
  if (s != 0) {
    d->hr *= 1 + P(BARO_G_HR) * s;
    d->rsys *= 1 + P(BARO_G_R) * s;
  }
  /* net: the diuretic's removal less the refill of what it removed */
  d->loss = mt_heart_emax(x[CV_DI] / P(DI_V), P(DI_EMAX), P(DI_EC50),
                          P(DI_H)) / 60 -
            P(DI_KREF) / 3600 * x[CV_V_REM];
}

/* The activation e of Smith et al. 2004, eq. 1, at the time since the start
** of the beat (phase phi mod 1 of the period 60 / hr). */
static double activation(double phi, double hr, const double *p)
{
  double f = phi - floor(phi), tm = f * (60.0 / hr);
  return P(A) * exp(-P(B) * (tm - P(C)) * (tm - P(C)));
}

/* Pressure of a wall (free wall or septum, parameters from index k: Ees,
** Vd, V0, P0, lambda) at volume v and activation e; its slope in *dp. */
static double wall(const double *p, int k, double e, double v, double *dp)
{
  double x = exp(p[k + 4] * (v - p[k + 2]));
  *dp = e * p[k] + (1 - e) * p[k + 3] * p[k + 4] * x;
  return e * p[k] * (v - p[k + 1]) + (1 - e) * p[k + 3] * (x - 1);
}

/* The three exponentials of the septal balance at septal volume v (septum,
** LV free wall at vlv - v, RV free wall at vrv + v), as wall() forms them. */
static void spt_exps(const double *p, double vlv, double vrv, double v,
                     double *ex)
{
  ex[0] = exp(p[CV_LAM_SPT] * (v - p[CV_V0_SPT]));
  ex[1] = exp(p[CV_LAM_LVF] * ((vlv - v) - p[CV_V0_LVF]));
  ex[2] = exp(p[CV_LAM_RVF] * ((vrv + v) - p[CV_V0_RVF]));
}

/* Pressure of wall k at volume v and activation e from its exponential x
** = exp(lambda (v - V0)); its slope in *dp (the arithmetic of wall()). */
static double wall_x(const double *p, int k, double e, double v, double x,
                     double *dp)
{
  *dp = e * p[k] + (1 - e) * p[k + 3] * p[k + 4] * x;
  return e * p[k] * (v - p[k + 1]) + (1 - e) * p[k + 3] * (x - 1);
}

/* Residual of the septal pressure balance at v, from its exponentials ex,
** and its derivative (> 0: every term increases with v). */
static double spt_residual(const double *p, double e, double vlv, double vrv,
                           double v, const double *ex, double *df)
{
  double ds, dl, dr;
  double f = wall_x(p, CV_EES_SPT, e, v, ex[0], &ds) -
             wall_x(p, CV_EES_LVF, e, vlv - v, ex[1], &dl) +
             wall_x(p, CV_EES_RVF, e, vrv + v, ex[2], &dr);
  *df = ds + dl + dr;
  return f;
}

/* exp(z) for |z| <= 2^-10: Taylor to z^5 (the remainder, below z^6 / 720 =
** 2e-21, is under a tenth of an ulp of 1). */
static double exp_small(double z)
{
  return 1 + z * (1 + z * (1.0 / 2 + z * (1.0 / 6 + z * (1.0 / 24 +
                                                         z * (1.0 / 120)))));
}

/* Newton safeguarded by bisection from v, steps at most 20 mL; iterates
** until the step or the bracket is below tol. The exponentials are formed
** by exp() at the start and after a bisection or a long step; after a
** Newton step d with |lambda d| <= 2^-10 for every wall they are carried
** over, multiplied by exp_small(+-lambda d) (a relative change of a few
** ulp, far below tol). The exponentials at the answer go to ex_out where
** it is not NULL. Returns 0 or 1 if it did not converge. */
static int newton(const double *p, double e, double vlv, double vrv,
                  double tol, int max_it, double *v, double *ex_out)
{
  double a = -INFINITY, b = INFINITY, x = *v, ex[3];
  double lmax = fmax(p[CV_LAM_SPT], fmax(p[CV_LAM_LVF], p[CV_LAM_RVF]));
  spt_exps(p, vlv, vrv, x, ex);
  for (int it = 0; it < max_it; it++) {
    double df, f = spt_residual(p, e, vlv, vrv, x, ex, &df);
    if (!isfinite(f) || !(df > 0))
      return 1;
    if (f == 0) {
      *v = x;
      if (ex_out)
        memcpy(ex_out, ex, sizeof ex);
      return 0;
    }
    if (f > 0)
      b = x;
    else
      a = x;
    double step = f / df;
    if (fabs(step) > 20)
      step = copysign(20, step);
    double xn = x - step;
    if (fabs(step) <= tol || b - a <= tol) {
      *v = xn > a && xn < b ? xn : x;
      if (ex_out) {
        double d = *v - x;
        if (fabs(d) * lmax <= 0x1p-10) {
          ex_out[0] = ex[0] * exp_small(p[CV_LAM_SPT] * d);
          ex_out[1] = ex[1] * exp_small(-p[CV_LAM_LVF] * d);
          ex_out[2] = ex[2] * exp_small(p[CV_LAM_RVF] * d);
        } else {
          spt_exps(p, vlv, vrv, *v, ex_out);
        }
      }
      return 0;
    }
    if (xn > a && xn < b) {
      double d = xn - x;
      if (fabs(d) * lmax <= 0x1p-10) {
        ex[0] *= exp_small(p[CV_LAM_SPT] * d);
        ex[1] *= exp_small(-p[CV_LAM_LVF] * d);
        ex[2] *= exp_small(p[CV_LAM_RVF] * d);
        x = xn;
        continue;
      }
      x = xn;
    } else {
      x = 0.5 * (a + b);
    }
    spt_exps(p, vlv, vrv, x, ex);
  }
  return 1;
}

/* nearbyint(y) in the default rounding mode (to nearest, ties to even),
** without the library call: for |y| < 2^51, y + 1.5 2^52 lies where the
** spacing of doubles is 1, so the addition rounds y to an integer. */
static double round_even(double y)
{
  const double big = 0x1.8p52;
  return fabs(y) < 0x1p51 ? (y + big) - big : nearbyint(y);
}

/*
** Septal volume for chamber volumes vlv, vrv at activation e, from the
** guess: Newton until a step is below 1e-6 mL (the iterate after it is then
** within about 1e-12 mL of the root: Newton converges quadratically, and
** |f''/2f'| is below 1 /mL here), then the result rounded to a grid of
** 2^-16 mL and polished from there by one Newton step (error at most
** 0.22 (2^-17)^2 = 1.3e-11 mL; the polish forms its exponentials by exp()),
** so that the answer does not depend (bit for bit) on the guess, only on
** (e, vlv, vrv). The scaling by 2^16 and back is exact (as ldexp). Where ex
** is not NULL (the sampled observables), the answer is the iterate itself,
** within about 1e-12 mL of the root, not rounded nor polished, and ex gets
** the three walls' exponentials at it.
*/
static int septum(const double *p, double e, double vlv, double vrv,
                  double guess, double *ex, double *v)
{
  double x = isfinite(guess) ? guess : p[CV_VD_SPT];
  if (newton(p, e, vlv, vrv, 1e-6, 100, &x, ex))
    return 1;
  if (ex) {
    *v = x;
    return 0;
  }
  x = round_even(x * 0x1p16) * 0x1p-16;
  if (newton(p, e, vlv, vrv, INFINITY, 1, &x, NULL))
    return 1;
  *v = x;
  return 0;
}

/* Pressures at state x: the algebraic part of the model (with the drug
** effects they were formed with). */
typedef struct cv_press {
  double e, vspt, plv, prv, pao, pvc, ppa, ppu, pperi;
  cv_drug dr;
} cv_press;

/* The heart's parameters (driver and walls: the first CV_NHEART) with the
** drugs' scaling of the free walls' Ees; the rest are read from p0. */
#define CV_NHEART (CV_LAM_SPT + 1)

static int pressures(double t, const double *x, const double *p0,
                     double guess, int polish, cv_press *o)
{
  (void)t;
  drug_effects(x, p0, &o->dr);
  double p[CV_NHEART];
  memcpy(p, p0, sizeof p);
  p[CV_EES_LVF] *= o->dr.ees;
  p[CV_EES_RVF] *= o->dr.ees;
  double e = activation(x[CV_PHI], o->dr.hr, p), d;
  o->e = e;
  double ex[3];
  if (septum(p, e, x[CV_V_LV], x[CV_V_RV], guess, polish ? NULL : ex,
             &o->vspt))
    return 1;
  double vpcd = x[CV_V_LV] + x[CV_V_RV];
  o->pperi = p0[CV_P0_PCD] * (exp(p0[CV_LAM_PCD] * (vpcd - p0[CV_V0_PCD])) - 1) +
             p0[CV_P_TH];
  if (polish) {
    o->plv = wall(p, CV_EES_LVF, e, x[CV_V_LV] - o->vspt, &d);
    o->prv = wall(p, CV_EES_RVF, e, x[CV_V_RV] + o->vspt, &d);
  } else {
    o->plv = wall_x(p, CV_EES_LVF, e, x[CV_V_LV] - o->vspt, ex[1], &d);
    o->prv = wall_x(p, CV_EES_RVF, e, x[CV_V_RV] + o->vspt, ex[2], &d);
  }
  o->plv += o->pperi;
  o->prv += o->pperi;
  o->pao = p0[CV_E_AO] * x[CV_V_AO];
  o->pvc = p0[CV_E_VC] * x[CV_V_VC];
  o->ppa = p0[CV_E_PA] * x[CV_V_PA] + p0[CV_P_TH];
  o->ppu = p0[CV_E_PU] * x[CV_V_PU] + p0[CV_P_TH];
  return 0;
}

/* Pressure difference driving each valve (upstream minus downstream). */
static void valve_dp(const cv_press *c, double *dp)
{
  dp[CV_MT] = c->ppu - c->plv;
  dp[CV_AV] = c->plv - c->pao;
  dp[CV_TC] = c->pvc - c->prv;
  dp[CV_PV] = c->prv - c->ppa;
}

/* Workspace: the last septal volume, the warm start of the next solve. */
typedef struct cv_ws {
  double vspt;
  int have;
} cv_ws;

/* Pharmacokinetics: first-order absorption from the gut (oral drugs),
** first-order elimination from the central compartment; rates in /h. */
static void pk(const double *x, const double *p, const double *u, double *dx)
{
  const double h = 1.0 / 3600;
  double abb = P(BB_KA) * h * x[CV_BB_GUT];
  double avd = P(VD_KA) * h * x[CV_VD_GUT];
  double adi = P(DI_KA) * h * x[CV_DI_GUT];
  dx[CV_BB_GUT] = u[CV_U_BB] - abb;
  dx[CV_BB] = abb - P(BB_KE) * h * x[CV_BB];
  dx[CV_VD_GUT] = u[CV_U_VD] - avd;
  dx[CV_VD] = avd - P(VD_KE) * h * x[CV_VD];
  dx[CV_DI_GUT] = u[CV_U_DI] - adi;
  dx[CV_DI] = adi - P(DI_KE) * h * x[CV_DI];
  dx[CV_IN] = u[CV_U_IN] - P(IN_KE) * h * x[CV_IN];
}

static int rhs(double t, const double *x, const double *p, const double *u,
               const double *mem, void *ws, double *dx)
{
  cv_ws *w = ws;
  cv_press c;
  if (pressures(t, x, p, w->have ? w->vspt : NAN, 1, &c))
    return 1;
  w->vspt = c.vspt;
  w->have = 1;
  double dp[CV_NVALVE];
  const double R[CV_NVALVE] = {P(R_MT), P(R_AV), P(R_TC), P(R_PV)};
  const double L[CV_NVALVE] = {P(L_MT), P(L_AV), P(L_TC), P(L_PV)};
  valve_dp(&c, dp);
  for (int k = 0; k < CV_NVALVE; k++)
    dx[CV_Q_MT + k] =
        mem[k] > 0.5 ? (dp[k] - R[k] * x[CV_Q_MT + k]) / L[k] : 0.0;
  const cv_drug dr = c.dr;
  double qsys = (c.pao - c.pvc) / dr.rsys, qpul = (c.ppa - c.ppu) / P(R_PUL);
  dx[CV_V_LV] = x[CV_Q_MT] - x[CV_Q_AV];
  dx[CV_V_AO] = x[CV_Q_AV] - qsys;
  dx[CV_V_VC] = qsys - x[CV_Q_TC] - dr.loss;
  dx[CV_V_RV] = x[CV_Q_TC] - x[CV_Q_PV];
  dx[CV_V_PA] = x[CV_Q_PV] - qpul;
  dx[CV_V_PU] = qpul - x[CV_Q_MT];
  dx[CV_PHI] = dr.hr / 60;
  dx[CV_V_REM] = dr.loss;
  dx[CV_P_BARO] = P(BARO_ON) > 0.5
                      ? (c.pao - x[CV_P_BARO]) / P(BARO_TAU) : 0.0;
  pk(x, p, u, dx);
  return 0;
}

static void observe(double t, const double *x, const double *p,
                    const double *mem, double *y)
{
  (void)mem;
  cv_press c;
  if (pressures(t, x, p, NAN, 0, &c)) {
    for (int k = 0; k < CV_NY; k++)
      y[k] = NAN;
    return;
  }
  y[CV_Y_P_LV] = c.plv, y[CV_Y_P_RV] = c.prv, y[CV_Y_P_AO] = c.pao;
  y[CV_Y_P_VC] = c.pvc, y[CV_Y_P_PA] = c.ppa, y[CV_Y_P_PU] = c.ppu;
  y[CV_Y_P_PERI] = c.pperi;
  y[CV_Y_V_LV] = x[CV_V_LV], y[CV_Y_V_RV] = x[CV_V_RV];
  y[CV_Y_V_SPT] = c.vspt;
  for (int k = 0; k < CV_NVALVE; k++)
    y[CV_Y_Q_MT + k] = x[CV_Q_MT + k];
  y[CV_Y_Q_SYS] = (c.pao - c.pvc) / c.dr.rsys;
  y[CV_Y_Q_PUL] = (c.ppa - c.ppu) / P(R_PUL);
  y[CV_Y_ACT] = c.e;
}

/*
** Start of a beat (t = 0, activation near its minimum): the stressed volume
** V_tot split in the proportions of the CellML model's initial state (LV
** 94.68, RV 90.73, aorta 133.34, vena cava 329.78, pulmonary artery 43.01,
** pulmonary vein 808.46 mL of 1500 mL), the mitral and tricuspid valves
** filling at the CellML model's initial flows scaled alike, the aortic and
** pulmonary valves closed. A valve starts open if it conducts or its
** pressure difference is positive.
*/
static int init(const double *p, double *x0, double *mem, double *u_basal)
{
  (void)u_basal;
  static const double v[6] = {94.6812, 90.7302, 133.3381,
                              329.7803, 43.0123, 808.4579};
  static const double q[4] = {245.5813, 0, 190.0661, 0};
  double s = P(V_TOT) / 1500.0;
  if (!(s > 0) || !(P(HR) > 0))
    return -1;
  for (int i = 0; i < CV_NX; i++)
    x0[i] = 0;
  for (int i = 0; i < 6; i++)
    x0[CV_V_LV + i] = v[i] * s;
  for (int k = 0; k < CV_NVALVE; k++)
    x0[CV_Q_MT + k] = q[k] * s;
  x0[CV_P_BARO] = P(BARO_PSET);
  cv_press c;
  double dp[CV_NVALVE];
  if (pressures(0, x0, p, NAN, 1, &c))
    return -1;
  valve_dp(&c, dp);
  for (int k = 0; k < CV_NVALVE; k++)
    mem[k] = x0[CV_Q_MT + k] > 0 || dp[k] > 0;
  for (int k = 0; k < CV_NVALVE; k++)
    if (!(mem[k] > 0.5))
      x0[CV_Q_MT + k] = 0;
  return 0;
}

/*
** Root functions: k < 4, the flow of valve k plus 1e-9 mL/s (crossing
** downwards: the valve closes; the offset keeps a closed valve's function
** away from zero); k >= 4, the pressure difference across valve k - 4
** (crossing upwards: the valve opens).
*/
#define Q_EPS 1e-9

static void roots(double t, const double *x, const double *p, double *g)
{
  cv_press c;
  double dp[CV_NVALVE];
  if (pressures(t, x, p, NAN, 1, &c)) {
    for (int k = 0; k < 2 * CV_NVALVE; k++)
      g[k] = NAN;
    return;
  }
  valve_dp(&c, dp);
  for (int k = 0; k < CV_NVALVE; k++) {
    g[k] = x[CV_Q_MT + k] + Q_EPS;
    g[CV_NVALVE + k] = dp[k];
  }
}

static void on_root(int which, double t, double *x, double *mem)
{
  (void)t;
  int k = which % CV_NVALVE;
  if (which < CV_NVALVE && mem[k] > 0.5) {
    mem[k] = 0;
    x[CV_Q_MT + k] = 0;
  } else if (which >= CV_NVALVE && !(mem[k] > 0.5)) {
    mem[k] = 1;
  }
}

static const int root_dir[2 * CV_NVALVE] = {-1, -1, -1, -1, 1, 1, 1, 1};

const mt_model mt_model_circulation_smith2004 = {
  .version = MT_MODEL_VERSION,
  .name = "circulation_smith2004",
  .doc = "closed-loop heart and circulation with ventricular interaction, "
         "beat-resolved",
  .time_unit = "s",
  .reference = "Smith, Chase, Nokes, Shaw, Wake, Med Eng Phys 26:131, 2004",
  .n_state = CV_NX, .n_param = CV_NP, .n_input = CV_NU, .n_obs = CV_NY,
  .n_mem = CV_NVALVE,
  .state = state, .param = param, .input = input, .obs = obs, .mem_doc = mem_doc,
  .ws_size = sizeof(cv_ws),
  .rhs = rhs, .observe = observe, .init = init,
  .n_root = 2 * CV_NVALVE, .roots = roots, .on_root = on_root,
  .root_dir = root_dir,
  .patients = &mt_circulation_conditions,
};
