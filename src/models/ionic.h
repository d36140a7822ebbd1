/* Internal: indices and defaults of the phenomenological cell models
** (aliev_panfilov_1996.c, mitchell_schaeffer_2003.c). Both follow the cell
** interface of the tissue engine: state 0 is V (mV), input 0 is I_stim
** (uA/cm2, depolarising when positive, Cm = 1 uF/cm2), time in ms. */
#ifndef MT_MODELS_IONIC_H
#define MT_MODELS_IONIC_H

#include "medtwin/model.h"

/* Aliev-Panfilov 1996: states, parameters, observables. */
enum { AP_V, AP_R, AP_NX };
enum {
  AP_K, AP_A, AP_EPS0, AP_MU1, AP_MU2, /* the paper's, dimensionless */
  AP_V_REST, AP_V_AMP, AP_T_SCALE,     /* mV, mV, ms per time unit */
  AP_NP
};
enum { AP_Y_V, AP_Y_U, AP_Y_R, AP_NY };

/* Mitchell-Schaeffer 2003: states, parameters, observables. */
enum { MS_V, MS_H, MS_NX };
enum {
  MS_TAU_IN, MS_TAU_OUT, MS_TAU_OPEN, MS_TAU_CLOSE, /* ms */
  MS_V_GATE,                                        /* dimensionless */
  MS_V_REST, MS_V_AMP,                              /* mV */
  MS_NP
};
enum { MS_Y_V, MS_Y_U, MS_Y_H, MS_Y_J_IN, MS_Y_J_OUT, MS_NY };

/* Input of both: the applied current. */
enum { IONIC_U_STIM, IONIC_NU };

/* The published parameter vectors (the single shipped "default" patient). */
extern const double mt_ap1996_default[AP_NP];
extern const double mt_ms2003_default[MS_NP];

extern const mt_model mt_model_aliev_panfilov_1996;
extern const mt_model mt_model_mitchell_schaeffer_2003;

#endif
