/*
** The UVA/Padova right-hand side for MT_LANES patients at once, mirroring
** rhs() in uva_padova.c operation for operation so that every lane is
** bit-identical to the scalar model (checked by tests/unit/models.c). The
** gastric emptying rate takes its exponentials from the same vector kernel
** as the scalar model.
*/
#include "core/vmath.h"
#include "models/uva_padova.h"
#include "core/vec.h"

#define L MT_LANES
#define X(i) (((const mt_v4 *)x)[UVA_##i])
#define PV(name) (((const mt_v4 *)p)[UVA_##name])
#define SET(i, v) (((mt_v4 *)dx)[UVA_##i] = (v))

/* z < -c ? -c : z > c ? c : z, lane by lane, as mt_uva_kempt does. */
static mt_v4 clamp(mt_v4 z)
{
  const mt_v4 c = {MT_UVA_EXP_CLAMP, MT_UVA_EXP_CLAMP, MT_UVA_EXP_CLAMP,
                   MT_UVA_EXP_CLAMP};
  mt_m4 lo = z < -c, hi = z > c;
  mt_v4 r = (mt_v4)((lo & (mt_m4)-c) | (~lo & (mt_m4)z));
  return (mt_v4)((hi & (mt_m4)c) | (~hi & (mt_m4)r));
}

/* mt_uva_kempt for every lane: the same operations per lane as the scalar
** function, with the exponentials of all lanes in two vector calls. */
static mt_v4 gastric(const double *p, mt_v4 qsto, const double *mem)
{
  const mt_v4 *mv = (const mt_v4 *)mem;
  mt_v4 D = mv[UVA_M_D], ta, tc;
  mt_m4 meal = D > 0;
  if (!(meal[0] | meal[1] | meal[2] | meal[3]))
    return PV(kmax); /* no lane has eaten yet */
  mt_v4 aa = clamp(2.0 * mv[UVA_M_AA] * (qsto - PV(b) * D));
  mt_v4 cc = clamp(2.0 * mv[UVA_M_CC] * (qsto - PV(d) * D)), ea, ec;
  ea = mt_v4_exp(aa);
  ec = mt_v4_exp(cc);
  ta = 1.0 - 2.0 / (ea + 1.0);
  tc = 1.0 - 2.0 / (ec + 1.0);
  mt_v4 k = PV(kmin) + (PV(kmax) - PV(kmin)) / 2.0 * (ta - tc + 2.0);
  return (mt_v4)((meal & (mt_m4)k) | (~meal & (mt_m4)PV(kmax)));
}

void mt_uva_rhs_lanes(const double *t, const double *x, const double *p,
                      const double *u, const double *mem, double *dx, int *rc)
{
  (void)t;
  const mt_v4 *uv = (const mt_v4 *)u;
  mt_v4 cho_mg = uv[UVA_U_CHO] * 1000.0;
  mt_v4 ins = uv[UVA_U_INS] * 6000.0 / PV(BW);
  mt_v4 qsto = X(QSTO1) + X(QSTO2), kgut = gastric(p, qsto, mem);
  for (int l = 0; l < L; l++)
    rc[l] = 0;
  SET(QSTO1, -PV(kmax) * X(QSTO1) + cho_mg);
  SET(QSTO2, PV(kmax) * X(QSTO1) - kgut * X(QSTO2));
  SET(QGUT, kgut * X(QSTO2) - PV(kabs) * X(QGUT));

  mt_v4 ra = PV(f) * PV(kabs) * X(QGUT) / PV(BW);
  mt_v4 egp = PV(kp1) - PV(kp2) * X(GP) - PV(kp3) * X(ID);
  mt_v4 egp0 = mt_v4_and(egp > 0, egp);
  mt_v4 e = mt_v4_and(X(GP) > PV(ke2), PV(ke1) * (X(GP) - PV(ke2)));
  mt_v4 dgp = egp0 + ra - PV(Fsnc) - e - PV(k1) * X(GP) + PV(k2) * X(GT);
  SET(GP, mt_v4_and(X(GP) >= 0, dgp));
  mt_v4 uid = (PV(Vm0) + PV(Vmx) * X(X)) * X(GT) / (PV(Km0) + X(GT));
  mt_v4 dgt = -uid + PV(k1) * X(GP) - PV(k2) * X(GT);
  SET(GT, mt_v4_and(X(GT) >= 0, dgt));

  mt_v4 dip = -(PV(m2) + PV(m4)) * X(IP) + PV(m1) * X(IL) +
              PV(ka1) * X(ISC1) + PV(ka2) * X(ISC2);
  SET(IP, mt_v4_and(X(IP) >= 0, dip));
  mt_v4 it = X(IP) / PV(Vi);
  SET(X, -PV(p2u) * X(X) + PV(p2u) * (it - PV(Ib)));
  SET(I1, -PV(ki) * (X(I1) - it));
  SET(ID, -PV(ki) * (X(ID) - X(I1)));
  mt_v4 dil = -(PV(m1) + PV(m30)) * X(IL) + PV(m2) * X(IP);
  SET(IL, mt_v4_and(X(IL) >= 0, dil));
  mt_v4 disc1 = ins - (PV(ka1) + PV(kd)) * X(ISC1);
  SET(ISC1, mt_v4_and(X(ISC1) >= 0, disc1));
  mt_v4 disc2 = PV(kd) * X(ISC1) - PV(ka2) * X(ISC2);
  SET(ISC2, mt_v4_and(X(ISC2) >= 0, disc2));
  mt_v4 dgs = -PV(ksc) * X(GS) + PV(ksc) * X(GP);
  SET(GS, mt_v4_and(X(GS) >= 0, dgs));
}
