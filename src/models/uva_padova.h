/* Internal: parameter indices of the UVA/Padova model and its population. */
#ifndef MT_MODELS_UVA_PADOVA_H
#define MT_MODELS_UVA_PADOVA_H

#include "medtwin/model.h"

enum {
  UVA_BW,
  UVA_EGPb,
  UVA_Gb,
  UVA_Ib,
  UVA_kabs,
  UVA_kmax,
  UVA_kmin,
  UVA_b,
  UVA_d,
  UVA_Vg,
  UVA_Vi,
  UVA_Ipb,
  UVA_Vmx,
  UVA_Km0,
  UVA_k2,
  UVA_k1,
  UVA_p2u,
  UVA_m1,
  UVA_m5,
  UVA_CL,
  UVA_HEb,
  UVA_m2,
  UVA_m4,
  UVA_m30,
  UVA_Ilb,
  UVA_ki,
  UVA_kp2,
  UVA_kp3,
  UVA_f,
  UVA_Gpb,
  UVA_ke1,
  UVA_ke2,
  UVA_Fsnc,
  UVA_Gtb,
  UVA_Vm0,
  UVA_Rdb,
  UVA_PCRb,
  UVA_kd,
  UVA_ksc,
  UVA_ka1,
  UVA_ka2,
  UVA_dosekempt,
  UVA_u2ss,
  UVA_isc1ss,
  UVA_isc2ss,
  UVA_kp1,
  UVA_NP
};

/* State, input and memory indices. */
enum { UVA_QSTO1, UVA_QSTO2, UVA_QGUT, UVA_GP, UVA_GT, UVA_IP, UVA_X, UVA_I1,
       UVA_ID, UVA_IL, UVA_ISC1, UVA_ISC2, UVA_GS, UVA_NX };
enum { UVA_U_CHO, UVA_U_INS, UVA_NU };
enum { UVA_M_QSTO0, UVA_M_FOOD, UVA_M_D, UVA_M_AA, UVA_M_CC, UVA_NM };

double mt_uva_kempt(const double *p, const double *mem, double qsto);
/*
** kempt (Dalla Man 2006, eq. 9) from ea = exp(2 alpha (qsto - b D)) and
** ec = exp(2 beta (qsto - d D)), with tanh(z) = 1 - 2 / (exp(2z) + 1): exact
** at +-1 when exp saturates, within 1e-16 absolute elsewhere, and one exp per
** term instead of a costlier tanh.
*/
/* Exponents beyond +-700 give exactly the same kempt (tanh is +-1 to double
** precision there) and would send the vector exp kernel to its slow path. */
#define MT_UVA_EXP_CLAMP 700.0

static inline double mt_uva_kempt_from(double kmax, double kmin, double ea,
                                       double ec)
{
  double ta = 1.0 - 2.0 / (ea + 1.0), tc = 1.0 - 2.0 / (ec + 1.0);
  return kmin + (kmax - kmin) / 2.0 * (ta - tc + 2.0);
}
void mt_uva_rhs_lanes(const double *t, const double *x, const double *p,
                      const double *u, const double *mem, double *dx,
                      int *rc);

extern const mt_patient_set mt_uva_padova_patients;
extern const mt_model mt_model_uva_padova_t1d;

#endif
