/* Internal: indices of the ten Tusscher-Panfilov 2006 epicardial cell model
** (tentusscher2006.c; equations: docs/models/
** tentusscher_panfilov_2006_epi.md). */
#ifndef MT_MODELS_TENTUSSCHER2006_H
#define MT_MODELS_TENTUSSCHER2006_H

#include "medtwin/model.h"

/* States: V (mV), concentrations (mmol/L), the 12 gates, R_prime. */
enum {
  TP_V, TP_CAI, TP_CASR, TP_CASS, TP_NAI, TP_KI,
  TP_M, TP_H, TP_J,           /* I_Na */
  TP_XR1, TP_XR2, TP_XS,      /* I_Kr, I_Ks */
  TP_R, TP_S,                 /* I_to */
  TP_D, TP_F, TP_F2, TP_FCASS, /* I_CaL */
  TP_RPRIME,                  /* RyR: fraction not inactivated */
  TP_NX
};
#define TP_NGATE (TP_FCASS - TP_M + 1)

/* Parameters, in the order of the table in tentusscher2006.c. */
enum {
  TP_P_KNA, TP_G_K1, TP_G_KR, TP_G_KS, TP_G_NA, TP_G_BNA, TP_G_CAL,
  TP_G_BCA, TP_G_TO, TP_P_NAK, TP_K_MK, TP_K_MNA, TP_K_NACA, TP_K_SAT,
  TP_ALPHA, TP_GAMMA, TP_KM_CA, TP_KM_NAI, TP_G_PCA, TP_K_PCA, TP_G_PK,
  TP_K1P, TP_K2P, TP_K3, TP_K4, TP_EC, TP_MAX_SR, TP_MIN_SR, TP_V_REL,
  TP_V_XFER, TP_K_UP, TP_V_LEAK, TP_VMAX_UP, TP_BUF_C, TP_K_BUF_C,
  TP_BUF_SR, TP_K_BUF_SR, TP_BUF_SS, TP_K_BUF_SS, TP_V_SR, TP_V_SS, TP_V_C,
  TP_CM, TP_R_GAS, TP_T, TP_F_FARADAY, TP_NA_O, TP_K_O, TP_CA_O,
  TP_NP
};

/* Observables. */
enum {
  TP_Y_V, TP_Y_CAI, TP_Y_INA, TP_Y_ICAL, TP_Y_ITO, TP_Y_IKR, TP_Y_IKS,
  TP_Y_IK1, TP_Y_INACA, TP_Y_INAK, TP_Y_IION,
  TP_NY
};

/* The CellML parameter values (tentusscher2006.c). */
extern const double mt_tp06_default_param[TP_NP];
extern const mt_model mt_model_tentusscher_panfilov_2006_epi;

/* Steady states and time constants (ms) of the 12 gates in state order
** from m at V (mV) and Ca_ss (mM; only fCass depends on it): the model's
** own functions, shared with the tissue engine's lookup tables
** (src/tissue/kernel_tp06.c). */
void mt_tp06_gates_at(double V, double Cass, double *inf, double *tau);

#endif
