/* Internal: the beat-averaged circulation model (circulation_beatavg.c). */
#ifndef MT_MODELS_CIRCULATION_BEATAVG_H
#define MT_MODELS_CIRCULATION_BEATAVG_H

#include "medtwin/model.h"

/* States. */
enum {
  BA_BB_GUT, BA_BB, BA_VD_GUT, BA_VD, BA_DI_GUT, BA_DI, BA_IN,
  BA_V_REM, BA_F_EES, BA_F_LAM, BA_V_GAIN,
  BA_NX
};

/* Parameters, in the order of the table in circulation_beatavg.c. */
enum {
  BA_HR,
  BA_EES_LVF, BA_VD_LVF, BA_V0_LVF, BA_P0_LVF, BA_LAM_LVF,
  BA_EES_RVF, BA_VD_RVF, BA_V0_RVF, BA_P0_RVF, BA_LAM_RVF,
  BA_P0_PCD, BA_LAM_PCD, BA_V0_PCD,
  BA_P_TH, BA_E_AO, BA_E_VC, BA_E_PA, BA_E_PU, BA_R_SYS, BA_R_PUL,
  BA_V_TOT,
  BA_BB_KA, BA_BB_KE, BA_BB_V, BA_BB_EMAX_HR, BA_BB_EMAX_EES, BA_BB_EC50,
  BA_BB_H,
  BA_VD_KA, BA_VD_KE, BA_VD_V, BA_VD_EMAX, BA_VD_EC50, BA_VD_H,
  BA_DI_KA, BA_DI_KE, BA_DI_V, BA_DI_EMAX, BA_DI_EC50, BA_DI_H,
  BA_DI_KREF,
  BA_IN_KE, BA_IN_V, BA_IN_EMAX, BA_IN_EC50, BA_IN_H,
  /* Calibrated coefficients (bench/beatavg_calibrate.c). */
  BA_K_FL, BA_C_FL, BA_K_FR, BA_C_FR, BA_K_ESL, BA_K_ESR, BA_V_SPT,
  BA_K_VM, BA_K_PP, BA_K_TAU, BA_K_MAP, BA_K_MT, BA_T_SYS,
  BA_W0, BA_F_IV, BA_DRIFT_EES, BA_DRIFT_LAM, BA_DRIFT_V,
  BA_NP
};

/* Observables. */
enum {
  BA_Y_MAP, BA_Y_SBP, BA_Y_DBP, BA_Y_HR, BA_Y_SV, BA_Y_CO, BA_Y_EDV,
  BA_Y_ESV, BA_Y_EF, BA_Y_CVP, BA_Y_PAP, BA_Y_PCWP, BA_Y_WEIGHT,
  BA_NY
};

/* Inputs. */
enum { BA_U_HR, BA_U_BB, BA_U_VD, BA_U_DI, BA_U_IN, BA_NU };

extern const double mt_beatavg_healthy[BA_NP];
extern const mt_model mt_model_circulation_beatavg;
extern const mt_patient_set mt_beatavg_patients;

/*
** The beat-averaged steady circulation at state x with parameters p and the
** measured heart rate hr_obs (0: not measured): the observables into y
** (BA_NY values). guess (2 values: systemic flow mL/s, CVP mmHg) may be NULL;
** on success it receives the solution. Returns 0, or 1 if no solution was
** found (y is then NAN).
*/
int mt_beatavg_solve(const double *x, const double *p, double hr_obs,
                     double *guess, double *y);

#endif
