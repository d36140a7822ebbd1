/*
** UVA/Padova type 1 diabetes simulator: the meal glucose–insulin model of
** Dalla Man, Rizza and Cobelli, IEEE TBME 54:1740 (2007), eqs. 1–27, in the
** T1D form of the 2008 academic simulator (Kovatchev et al., J Diabetes Sci
** Technol 3:44, 2009), with subcutaneous insulin and glucose compartments.
** Semantics match the open reference simglucose 0.2.11 (see the model card,
** docs/models/uva_padova_t1d.md).
*/
#include <math.h>

#include "core/vmath.h"
#include "medtwin/model.h"
#include "models/uva_padova.h"


static const mt_var state[UVA_NX] = {
  {"Qsto1", "mg", "solid glucose in the stomach", 0, 5e5, MT_VAR_NONNEG},
  {"Qsto2", "mg", "liquid glucose in the stomach", 0, 5e5, MT_VAR_NONNEG},
  {"Qgut", "mg", "glucose in the intestine", 0, 5e5, MT_VAR_NONNEG},
  {"Gp", "mg/kg", "glucose mass in plasma and fast tissues", 0, 2000,
   MT_VAR_NONNEG},
  {"Gt", "mg/kg", "glucose mass in slowly equilibrating tissues", 0, 4000,
   MT_VAR_NONNEG},
  {"Ip", "pmol/kg", "insulin mass in plasma", 0, 500, MT_VAR_NONNEG},
  {"X", "pmol/L", "insulin action on glucose utilisation", -1000, 5000, 0},
  {"I1", "pmol/L", "first delayed insulin signal (I')", 0, 5000, 0},
  {"Id", "pmol/L", "delayed insulin signal acting on EGP", 0, 5000, 0},
  {"Il", "pmol/kg", "insulin mass in the liver", 0, 500, MT_VAR_NONNEG},
  {"Isc1", "pmol/kg", "subcutaneous insulin, first compartment", 0, 1e5,
   MT_VAR_NONNEG},
  {"Isc2", "pmol/kg", "subcutaneous insulin, second compartment", 0, 1e5,
   MT_VAR_NONNEG},
  {"Gs", "mg/kg", "subcutaneous glucose mass (sensor site)", 0, 2000,
   MT_VAR_NONNEG},
};

/* Column order of vpatient_params.csv; bounds are the range of the 30
** shipped subjects widened fourfold (plausibility, not physiology limits). */
static const mt_var param[UVA_NP] = {
#include "models/uva_padova_params.inc"
};

static const mt_var input[UVA_NU] = {
  {"CHO", "g/min", "carbohydrate ingestion rate", 0, 1000, MT_VAR_RATE},
  {"insulin", "[iU]/min", "subcutaneous insulin delivery rate", 0, 100,
   MT_VAR_RATE},
};

static const mt_var obs[2] = {
  {"BG", "mg/dL", "plasma glucose concentration Gp/Vg", 0, 1000, 0},
  {"CGM", "mg/dL", "subcutaneous glucose Gs/Vg, noise-free", 0, 1000, 0},
};

static const char *const mem_doc[UVA_NM] = {
  "stomach content Qsto1+Qsto2 when the current meal started (mg)",
  "carbohydrate eaten so far in the current meal, this minute included (g)",
  "meal size D driving gastric emptying: the sum of the two above",
  "slope alpha = 5/(2 D (1 - b)) of gastric emptying (1/mg)",
  "slope beta = 5/(2 D d) of gastric emptying (1/mg)",
};

#define P(name) p[UVA_##name]

/* Gastric emptying rate (Dalla Man 2006, eq. 9), with the meal size D as the
** reference computes it (mg at meal start plus grams eaten so far). Shared by
** the scalar and the lane-batched rhs. */
double mt_uva_kempt(const double *p, const double *mem, double qsto)
{
  double D = mem[UVA_M_D];
  if (!(D > 0))
    return P(kmax);
  const double c = MT_UVA_EXP_CLAMP;
  double za = 2.0 * mem[UVA_M_AA] * (qsto - P(b) * D);
  double zc = 2.0 * mem[UVA_M_CC] * (qsto - P(d) * D);
  double arg[4] = {za < -c ? -c : za > c ? c : za,
                   zc < -c ? -c : zc > c ? c : zc, 0, 0}, e[4];
  mt_exp4(arg, e);
  return mt_uva_kempt_from(P(kmax), P(kmin), e[0], e[1]);
}

/* The meal size D and the tanh slopes of eq. 9, which change only when D
** does: alpha = 5 / (2 D (1 - b)), beta = 5 / (2 D d). */
static void set_meal(const double *p, double *mem)
{
  double D = mem[UVA_M_QSTO0] + mem[UVA_M_FOOD];
  mem[UVA_M_D] = D;
  mem[UVA_M_AA] = D > 0 ? 5.0 / 2.0 / (1.0 - P(b)) / D : 0.0;
  mem[UVA_M_CC] = D > 0 ? 5.0 / 2.0 / P(d) / D : 0.0;
}

/*
** The derivative of a non-negative state is zeroed while the state is
** negative, as the reference does; EGP is floored at 0 and renal excretion
** acts above its threshold. Written as selects so that uva_padova_lanes.c
** can mirror every operation (it must stay bit-identical to this function).
*/
#define S(name) x[UVA_##name]
#define DX(name) dx[UVA_##name]

static int rhs(double t, const double *x, const double *p, const double *u,
               const double *mem, void *ws, double *dx)
{
  (void)t, (void)ws;
  double cho_mg = u[UVA_U_CHO] * 1000.0;      /* g/min -> mg/min */
  double ins = u[UVA_U_INS] * 6000.0 / P(BW); /* U/min -> pmol/kg/min */
  double qsto = S(QSTO1) + S(QSTO2);
  double kgut = mt_uva_kempt(p, mem, qsto);

  DX(QSTO1) = -P(kmax) * S(QSTO1) + cho_mg;
  DX(QSTO2) = P(kmax) * S(QSTO1) - kgut * S(QSTO2);
  DX(QGUT) = kgut * S(QSTO2) - P(kabs) * S(QGUT);

  double ra = P(f) * P(kabs) * S(QGUT) / P(BW);     /* eq. 10 */
  double egp = P(kp1) - P(kp2) * S(GP) - P(kp3) * S(ID);
  double egp0 = egp > 0 ? egp : 0.0;
  double e = S(GP) > P(ke2) ? P(ke1) * (S(GP) - P(ke2)) : 0.0;
  double dgp = egp0 + ra - P(Fsnc) - e - P(k1) * S(GP) + P(k2) * S(GT);
  DX(GP) = S(GP) >= 0 ? dgp : 0.0;
  double uid = (P(Vm0) + P(Vmx) * S(X)) * S(GT) / (P(Km0) + S(GT));
  double dgt = -uid + P(k1) * S(GP) - P(k2) * S(GT);
  DX(GT) = S(GT) >= 0 ? dgt : 0.0;

  double dip = -(P(m2) + P(m4)) * S(IP) + P(m1) * S(IL) + P(ka1) * S(ISC1) +
               P(ka2) * S(ISC2);
  DX(IP) = S(IP) >= 0 ? dip : 0.0;
  double it = S(IP) / P(Vi);
  DX(X) = -P(p2u) * S(X) + P(p2u) * (it - P(Ib));
  DX(I1) = -P(ki) * (S(I1) - it);
  DX(ID) = -P(ki) * (S(ID) - S(I1));
  double dil = -(P(m1) + P(m30)) * S(IL) + P(m2) * S(IP);
  DX(IL) = S(IL) >= 0 ? dil : 0.0;
  double disc1 = ins - (P(ka1) + P(kd)) * S(ISC1);
  DX(ISC1) = S(ISC1) >= 0 ? disc1 : 0.0;
  double disc2 = P(kd) * S(ISC1) - P(ka2) * S(ISC2);
  DX(ISC2) = S(ISC2) >= 0 ? disc2 : 0.0;
  double dgs = -P(ksc) * S(GS) + P(ksc) * S(GP);
  DX(GS) = S(GS) >= 0 ? dgs : 0.0;
  return 0;
}

#undef S
#undef DX

static void observe(double t, const double *x, const double *p,
                    const double *mem, double *y)
{
  (void)t, (void)mem;
  y[0] = x[UVA_GP] / P(Vg);
  y[1] = x[UVA_GS] / P(Vg);
}

/* Steady-state identities of the basal patient (Dalla Man 2007, eqs. 2, 4,
** 7, 12–14 at t = 0); they hold to 1e-11 in the shipped parameter file. */
static int derive(double *p)
{
  P(Gpb) = P(Gb) * P(Vg);
  P(Ipb) = P(Ib) * P(Vi);
  P(m30) = P(HEb) * P(m1) / (1.0 - P(HEb));
  P(Ilb) = P(m2) * P(Ipb) / (P(m1) + P(m30));
  P(Gtb) = (P(Fsnc) - P(EGPb) + P(k1) * P(Gpb)) / P(k2);
  if (!(P(Gtb) > 0))
    return -1;
  P(Vm0) = (P(EGPb) - P(Fsnc)) * (P(Km0) + P(Gtb)) / P(Gtb);
  P(kp1) = P(EGPb) + P(kp2) * P(Gpb) + P(kp3) * P(Ib);
  P(u2ss) = (P(m2) + P(m4)) * P(Ipb) - P(m1) * P(Ilb);
  P(isc1ss) = P(u2ss) / (P(kd) + P(ka1));
  P(isc2ss) = P(kd) * P(isc1ss) / P(ka2);
  return P(u2ss) >= 0 ? 0 : -1;
}

static int init(const double *p, double *x0, double *mem, double *u_basal)
{
  /* Qsto1, Qsto2, Qgut, Gp, Gt, Ip, X, I1, Id, Il, Isc1, Isc2, Gs */
  const double x[UVA_NX] = {0,      0,      0,         P(Gpb),    P(Gtb),
                            P(Ipb), 0,      P(Ib),     P(Ib),     P(Ilb),
                            P(isc1ss),      P(isc2ss), P(Gpb)};
  for (int i = 0; i < UVA_NX; i++)
    x0[i] = x[i];
  mem[UVA_M_QSTO0] = x0[UVA_QSTO1] + x0[UVA_QSTO2];
  mem[UVA_M_FOOD] = 0;
  set_meal(p, mem);
  u_basal[UVA_U_CHO] = 0;
  u_basal[UVA_U_INS] = P(u2ss) * P(BW) / 6000.0; /* U/min */
  return P(BW) > 0 && P(Vg) > 0 && P(Vi) > 0 ? 0 : -1;
}

/* A meal starts when carbohydrate intake goes from zero to positive: the
** stomach content is remembered and the grams eaten are counted from zero. */
static void on_input(double t, double t_next, const double *p,
                     const double *u_old, const double *u_new,
                     const double *x, double *mem)
{
  if (!(u_new[UVA_U_CHO] > 0))
    return;
  if (!(u_old[UVA_U_CHO] > 0)) {
    mem[UVA_M_QSTO0] = x[UVA_QSTO1] + x[UVA_QSTO2];
    mem[UVA_M_FOOD] = 0;
  }
  mem[UVA_M_FOOD] += u_new[UVA_U_CHO] * (t_next - t);
  set_meal(p, mem);
}

const mt_model mt_model_uva_padova_t1d = {
  .version = MT_MODEL_VERSION,
  .name = "uva_padova_t1d",
  .doc = "UVA/Padova type 1 diabetes glucose-insulin model (2008)",
  .time_unit = "min",
  .reference = "Dalla Man et al., IEEE TBME 54:1740, 2007; "
               "Kovatchev et al., J Diabetes Sci Technol 3:44, 2009",
  .n_state = UVA_NX, .n_param = UVA_NP, .n_input = UVA_NU, .n_obs = 2,
  .n_mem = UVA_NM,
  .state = state, .param = param, .input = input, .obs = obs,
  .mem_doc = mem_doc,
  .rhs = rhs, .observe = observe, .derive = derive, .init = init,
  .on_input = on_input,
  .rhs_lanes = mt_uva_rhs_lanes,
  .patients = &mt_uva_padova_patients,
};
