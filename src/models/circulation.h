/* Internal: indices of the closed-loop circulation model (Smith et al.
** 2004) and its shipped conditions. */
#ifndef MT_MODELS_CIRCULATION_H
#define MT_MODELS_CIRCULATION_H

#include <math.h>

#include "medtwin/model.h"

/* States: volumes (mL) and valve flows (mL/s). */
enum {
  CV_V_LV, CV_V_RV, CV_V_AO, CV_V_VC, CV_V_PA, CV_V_PU,
  CV_Q_MT, CV_Q_AV, CV_Q_TC, CV_Q_PV,
  CV_PHI,                     /* beat phase (beats) */
  CV_BB_GUT, CV_BB,           /* beta-blocker: gut, central (mg) */
  CV_VD_GUT, CV_VD,           /* vasodilator (ACE inhibitor): gut, central (mg) */
  CV_DI_GUT, CV_DI,           /* loop diuretic: gut, central (mg) */
  CV_IN,                      /* inotrope: central (ug) */
  CV_V_REM,                   /* stressed volume removed by the diuretic (mL) */
  CV_P_BARO,                  /* baroreflex: filtered aortic pressure (mmHg) */
  CV_NX
};

/* Parameters, in the order of the table in circulation_smith2004.c. */
enum {
  CV_HR, CV_A, CV_B, CV_C,
  CV_EES_LVF, CV_VD_LVF, CV_V0_LVF, CV_P0_LVF, CV_LAM_LVF,
  CV_EES_RVF, CV_VD_RVF, CV_V0_RVF, CV_P0_RVF, CV_LAM_RVF,
  CV_EES_SPT, CV_VD_SPT, CV_V0_SPT, CV_P0_SPT, CV_LAM_SPT,
  CV_P0_PCD, CV_LAM_PCD, CV_V0_PCD, CV_P_TH,
  CV_E_AO, CV_E_VC, CV_E_PA, CV_E_PU,
  CV_R_SYS, CV_R_PUL,
  CV_R_MT, CV_R_AV, CV_R_TC, CV_R_PV,
  CV_L_MT, CV_L_AV, CV_L_TC, CV_L_PV,
  CV_V_TOT,
  /* Drugs: per drug ka (/h, oral only), ke (/h), V (L), Emax, EC50, h. */
  CV_BB_KA, CV_BB_KE, CV_BB_V, CV_BB_EMAX_HR, CV_BB_EMAX_EES, CV_BB_EC50,
  CV_BB_H,
  CV_VD_KA, CV_VD_KE, CV_VD_V, CV_VD_EMAX, CV_VD_EC50, CV_VD_H,
  CV_DI_KA, CV_DI_KE, CV_DI_V, CV_DI_EMAX, CV_DI_EC50, CV_DI_H,
  CV_DI_KREF, /* refill of the removed volume (/h) */
  CV_IN_KE, CV_IN_V, CV_IN_EMAX, CV_IN_EC50, CV_IN_H,
  /* Baroreflex: on (0/1), filter time constant (s), set point (mmHg),
  ** sigmoid slope (mmHg), fractional gains on HR and R_sys. */
  CV_BARO_ON, CV_BARO_TAU, CV_BARO_PSET, CV_BARO_K, CV_BARO_G_HR,
  CV_BARO_G_R,
  CV_NP
};

/* Observables. */
enum {
  CV_Y_P_LV, CV_Y_P_RV, CV_Y_P_AO, CV_Y_P_VC, CV_Y_P_PA, CV_Y_P_PU,
  CV_Y_P_PERI, CV_Y_V_LV, CV_Y_V_RV, CV_Y_V_SPT,
  CV_Y_Q_MT, CV_Y_Q_AV, CV_Y_Q_TC, CV_Y_Q_PV, CV_Y_Q_SYS, CV_Y_Q_PUL,
  CV_Y_ACT,
  CV_NY
};

/* Inputs: dosing rates (oral into the gut compartments, the inotrope into
** the central one). */
enum { CV_U_BB, CV_U_VD, CV_U_DI, CV_U_IN, CV_NU };

/* Valves: index k of the flow state CV_Q_MT + k, of the open flag mem[k],
** of the closing root k and of the opening root CV_NVALVE + k. */
enum { CV_MT, CV_AV, CV_TC, CV_PV, CV_NVALVE };

/* The healthy-adult parameter vector (CV_NP values). */
extern const double mt_circ_healthy[CV_NP];

extern const mt_model mt_model_circulation_smith2004;
extern const mt_patient_set mt_circulation_conditions;

/* Sigmoid Emax effect at concentration c: e c^h / (ec50^h + c^h); 0
** exactly at c <= 0 (both heart models' drug effects). */
static inline double mt_heart_emax(double c, double e, double ec50, double h)
{
  if (!(c > 0))
    return 0;
  double ch = pow(c, h);
  return e * ch / (pow(ec50, h) + ch);
}

/* The drug states both heart models carry, from A_bb_gut to V_rem, in
** their order (amounts in the gut and central compartments, the volume the
** diuretic removed). */
#define MT_HEART_DRUG_STATES                                                   \
  {"A_bb_gut", "mg", "beta-blocker amount in the gut", 0, 1e4, MT_VAR_NONNEG}, \
  {"A_bb", "mg", "beta-blocker amount in the central compartment", 0, 1e4,    \
   MT_VAR_NONNEG},                                                             \
  {"A_vd_gut", "mg", "vasodilator (ACE inhibitor) amount in the gut", 0, 1e4, \
   MT_VAR_NONNEG},                                                             \
  {"A_vd", "mg", "vasodilator amount in the central compartment", 0, 1e4,     \
   MT_VAR_NONNEG},                                                             \
  {"A_di_gut", "mg", "loop diuretic amount in the gut", 0, 1e4,               \
   MT_VAR_NONNEG},                                                             \
  {"A_di", "mg", "loop diuretic amount in the central compartment", 0, 1e4,   \
   MT_VAR_NONNEG},                                                             \
  {"A_in", "ug", "inotrope amount in the central compartment", 0, 1e6,        \
   MT_VAR_NONNEG},                                                             \
  {"V_rem", "mL", "stressed volume removed by the diuretic so far", 0, 4000,  \
   MT_VAR_NONNEG}

/*
** The drug parameters both heart models carry (circulation_smith2004 in
** hours, circulation_beatavg in minutes), in their order from bb_ka to
** in_h: RATE is the unit of the rate constants, KMAX the upper bound of the
** absorption and elimination rates, IN_KMAX that of the inotrope's
** elimination. One table, so the two cannot drift apart.
*/
#define MT_HEART_DRUG_PARAMS(RATE, KMAX, IN_KMAX)                              \
  {"bb_ka", RATE, "beta-blocker absorption rate constant", 0, KMAX, 0},        \
  {"bb_ke", RATE, "beta-blocker elimination rate constant", 0, KMAX, 0},       \
  {"bb_V", "L", "beta-blocker central volume", 1, 2000, 0},                    \
  {"bb_Emax_HR", "1", "beta-blocker maximal fractional fall of HR", 0, 0.9,    \
   0},                                                                         \
  {"bb_Emax_Ees", "1", "beta-blocker maximal fractional fall of the LV and "   \
   "RV free-wall Ees", 0, 0.9, 0},                                             \
  {"bb_EC50", "mg/L", "beta-blocker concentration at half effect", 1e-6,      \
   100, 0},                                                                    \
  {"bb_h", "1", "beta-blocker Hill coefficient", 0.1, 10, 0},                  \
  {"vd_ka", RATE, "vasodilator absorption rate constant", 0, KMAX, 0},         \
  {"vd_ke", RATE, "vasodilator elimination rate constant", 0, KMAX, 0},        \
  {"vd_V", "L", "vasodilator central volume", 1, 2000, 0},                     \
  {"vd_Emax", "1", "vasodilator maximal fractional fall of R_sys", 0, 0.9,    \
   0},                                                                         \
  {"vd_EC50", "mg/L", "vasodilator concentration at half effect", 1e-6, 100,  \
   0},                                                                         \
  {"vd_h", "1", "vasodilator Hill coefficient", 0.1, 10, 0},                   \
  {"di_ka", RATE, "diuretic absorption rate constant", 0, KMAX, 0},            \
  {"di_ke", RATE, "diuretic elimination rate constant", 0, KMAX, 0},           \
  {"di_V", "L", "diuretic central volume", 1, 2000, 0},                        \
  {"di_Emax", "mL/min", "diuretic maximal rate of stressed volume loss", 0,   \
   100, 0},                                                                    \
  {"di_EC50", "mg/L", "diuretic concentration at half effect", 1e-6, 100, 0}, \
  {"di_h", "1", "diuretic Hill coefficient", 0.1, 10, 0},                      \
  {"di_k_refill", RATE, "rate constant at which the removed volume returns "   \
   "(interstitial refill and intake)", 0, KMAX, 0},                            \
  {"in_ke", RATE, "inotrope elimination rate constant", 0, IN_KMAX, 0},        \
  {"in_V", "L", "inotrope central volume", 1, 2000, 0},                        \
  {"in_Emax", "1", "inotrope maximal fractional rise of the LV and RV "        \
   "free-wall Ees", 0, 5, 0},                                                  \
  {"in_EC50", "ug/L", "inotrope concentration at half effect", 1e-6, 1e4, 0}, \
  {"in_h", "1", "inotrope Hill coefficient", 0.1, 10, 0}

#endif
