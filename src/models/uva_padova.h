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
enum { UVA_M_QSTO0, UVA_M_FOOD, UVA_NM };

double mt_uva_kempt(double kmax, double kmin, double b, double d, double qsto,
                    double D);
/* kempt from the two tanh terms of Dalla Man 2006, eq. 9. */
static inline double mt_uva_kempt_from(double kmax, double kmin, double ta,
                                       double tc)
{
  return kmin + (kmax - kmin) / 2.0 * (ta - tc + 2.0);
}
void mt_uva_rhs_lanes(const double *t, const double *x, const double *p,
                      const double *u, const double *mem, double *dx,
                      int *rc);

extern const mt_patient_set mt_uva_padova_patients;
extern const mt_model mt_model_uva_padova_t1d;

#endif
