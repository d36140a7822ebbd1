/*
** Human ventricular epicardial myocyte: ten Tusscher and Panfilov,
** "Alternans and spiral breakup in a human ventricular tissue model",
** Am J Physiol Heart Circ Physiol 291:H1088, 2006 (TP06), in the form of
** its CellML export ten_tusscher_model_2006_epi (Physiome Model Repository,
** workspace 604), the form the N-version benchmark (Niederer et al., Phil
** Trans R Soc A 369:4331, 2011) prescribes because the paper has typos.
** Time in ms, V in mV, currents in pA/pF (= uA/uF, so with Cm = 1 uF/cm2
** the same numbers as uA/cm2), concentrations in mmol/L. Equations,
** parameters and sources: docs/models/tentusscher_panfilov_2006_epi.md.
**
** Membrane:  dV/dt = -(I_ion - I_stim), I_stim depolarising when positive
**            (the CellML's i_Stim is -I_stim)
** I_ion = I_Na + I_K1 + I_to + I_Kr + I_Ks + I_CaL + I_NaCa + I_NaK
**         + I_pCa + I_pK + I_bCa + I_bNa
** Gates:     dx/dt = (x_inf - x) / tau_x for m, h, j, xr1, xr2, xs, r, s,
**            d, f, f2, fCass (mt_gates, for Rush-Larsen in tissue)
** Calcium:   cytosol, SR and subspace with rapid buffering; RyR by the
**            four-state Shannon-type scheme reduced to R_prime
** Ions:      Na_i, K_i from their currents (K_i carries the stimulus, as in
**            the CellML)
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "models/tentusscher2006.h"

#define MM "mmol/L"
#define CND "nS/pF"
#define CUR "pA/pF"

static const mt_var state[TP_NX] = {
  {"V", "mV", "transmembrane potential", -150, 100, 0},
  {"Cai", MM, "free cytosolic calcium", 0, 0.1, MT_VAR_NONNEG},
  {"CaSR", MM, "free calcium in the sarcoplasmic reticulum", 0, 50,
   MT_VAR_NONNEG},
  {"CaSS", MM, "free calcium in the subspace (dyadic cleft)", 0, 1,
   MT_VAR_NONNEG},
  {"Nai", MM, "intracellular sodium", 0, 100, MT_VAR_NONNEG},
  {"Ki", MM, "intracellular potassium", 0, 300, MT_VAR_NONNEG},
  {"m", "1", "I_Na activation gate", 0, 1, MT_VAR_NONNEG},
  {"h", "1", "I_Na fast inactivation gate", 0, 1, MT_VAR_NONNEG},
  {"j", "1", "I_Na slow inactivation gate", 0, 1, MT_VAR_NONNEG},
  {"xr1", "1", "I_Kr activation gate", 0, 1, MT_VAR_NONNEG},
  {"xr2", "1", "I_Kr inactivation gate", 0, 1, MT_VAR_NONNEG},
  {"xs", "1", "I_Ks activation gate", 0, 1, MT_VAR_NONNEG},
  {"r", "1", "I_to activation gate", 0, 1, MT_VAR_NONNEG},
  {"s", "1", "I_to inactivation gate (epicardial kinetics)", 0, 1,
   MT_VAR_NONNEG},
  {"d", "1", "I_CaL activation gate", 0, 1, MT_VAR_NONNEG},
  {"f", "1", "I_CaL slow voltage inactivation gate", 0, 1, MT_VAR_NONNEG},
  {"f2", "1", "I_CaL fast voltage inactivation gate", 0, 1, MT_VAR_NONNEG},
  {"fCass", "1", "I_CaL subspace-calcium inactivation gate", 0, 1,
   MT_VAR_NONNEG},
  {"R_prime", "1", "ryanodine receptors not inactivated (R + C states)", 0,
   1, MT_VAR_NONNEG},
};

static const mt_var input[1] = {
  {"I_stim", "uA/cm2", "applied current density, depolarising when "
   "positive (pA/pF, the same numbers with Cm = 1 uF/cm2)", -1000, 1000, 0},
};

/* Sources: CellML = ten_tusscher_model_2006_epi (PMR workspace 604), whose
** values are those of the paper's Table 1 (TP06) or, where TP06 keeps them,
** of ten Tusscher et al. 2004 (TNNP04) Table 1. */
static const mt_var param[TP_NP] = {
  {"P_kNa", "1", "relative I_Ks permeability to Na+ (TNNP04)", 0, 1, 0},
  {"g_K1", CND, "I_K1 maximal conductance (TNNP04)", 0, 50, 0},
  {"g_Kr", CND, "I_Kr maximal conductance (TP06)", 0, 5, 0},
  {"g_Ks", CND, "I_Ks maximal conductance, epicardium (TP06)", 0, 5, 0},
  {"g_Na", CND, "I_Na maximal conductance (TNNP04)", 0, 100, 0},
  {"g_bNa", CND, "background Na+ conductance (TNNP04)", 0, 0.1, 0},
  {"g_CaL", "L/(F.s)", "I_CaL maximal permeability (TP06, 3.98e-5 "
   "cm3/(uF.s))", 0, 1, 0},
  {"g_bCa", CND, "background Ca2+ conductance (TNNP04)", 0, 0.1, 0},
  {"g_to", CND, "I_to maximal conductance, epicardium (TNNP04)", 0, 5, 0},
  {"P_NaK", CUR, "maximal I_NaK (TP06)", 0, 20, 0},
  {"K_mK", MM, "I_NaK half-saturation for K_o (TNNP04)", 0.01, 100, 0},
  {"K_mNa", MM, "I_NaK half-saturation for Na_i (TNNP04)", 0.01, 200, 0},
  {"K_NaCa", CUR, "maximal I_NaCa (TNNP04)", 0, 1e4, 0},
  {"k_sat", "1", "I_NaCa saturation at negative potentials (TNNP04)", 0, 1,
   0},
  {"alpha", "1", "I_NaCa factor enhancing the outward mode (TNNP04)", 0, 10,
   0},
  {"gamma", "1", "I_NaCa voltage-dependence parameter (TNNP04)", 0, 1, 0},
  {"K_mCa", MM, "I_NaCa half-saturation for Ca_o (TNNP04)", 0.01, 100, 0},
  {"K_mNai", MM, "I_NaCa half-saturation for Na_i (TNNP04)", 0.01, 500, 0},
  {"g_pCa", CUR, "maximal I_pCa (TP06)", 0, 5, 0},
  {"K_pCa", MM, "I_pCa half-saturation for Ca_i (TNNP04)", 1e-6, 0.1, 0},
  {"g_pK", CND, "I_pK maximal conductance (TNNP04)", 0, 1, 0},
  {"k1_prime", "L2/(mmol2.ms)", "RyR: R to O rate constant (TP06)", 0, 10,
   0},
  {"k2_prime", "L/(mmol.ms)", "RyR: R to I rate constant (TP06)", 0, 10, 0},
  {"k3", "/ms", "RyR: O to R rate constant (TP06)", 0, 10, 0},
  {"k4", "/ms", "RyR: I to O rate constant (TP06)", 0, 10, 0},
  {"EC", MM, "RyR: Ca_SR half-saturation of k_casr (TP06)", 0.01, 20, 0},
  {"max_sr", "1", "RyR: maximum of k_casr (TP06)", 0, 10, 0},
  {"min_sr", "1", "RyR: minimum of k_casr (TP06)", 0, 10, 0},
  {"V_rel", "/ms", "maximal SR release rate (TP06)", 0, 10, 0},
  {"V_xfer", "/ms", "subspace-to-cytosol diffusion rate (TP06)", 0, 1, 0},
  {"K_up", MM, "SERCA half-saturation (TNNP04)", 1e-6, 0.1, 0},
  {"V_leak", "/ms", "SR leak rate (TP06)", 0, 0.1, 0},
  {"Vmax_up", "mmol/L/ms", "maximal SERCA uptake (TP06)", 0, 0.1, 0},
  {"Buf_c", MM, "total cytosolic buffer (TNNP04)", 0, 10, 0},
  {"K_bufc", MM, "cytosolic buffer half-saturation (TNNP04)", 1e-6, 1, 0},
  {"Buf_sr", MM, "total SR buffer (TNNP04)", 0, 100, 0},
  {"K_bufsr", MM, "SR buffer half-saturation (TNNP04)", 1e-6, 10, 0},
  {"Buf_ss", MM, "total subspace buffer (TP06)", 0, 10, 0},
  {"K_bufss", MM, "subspace buffer half-saturation (TP06)", 1e-6, 1, 0},
  {"V_sr", "um3", "SR volume (TNNP04)", 1, 1e5, 0},
  {"V_ss", "um3", "subspace volume (TP06)", 1, 1e4, 0},
  {"V_c", "um3", "cytoplasmic volume (TNNP04)", 1, 1e6, 0},
  {"Cm", "pF", "cell capacitance (TNNP04; only in the ion balances)", 1,
   1e4, 0},
  {"R", "J/(mol.K)", "gas constant (CellML)", 8, 9, 0},
  {"T", "K", "temperature (CellML)", 273, 320, 0},
  {"F", "C/mmol", "Faraday constant (CellML)", 96, 97, 0},
  {"Na_o", MM, "extracellular sodium (TNNP04)", 50, 200, 0},
  {"K_o", MM, "extracellular potassium (TNNP04)", 1, 20, 0},
  {"Ca_o", MM, "extracellular calcium (TNNP04)", 0.1, 10, 0},
};

const double mt_tp06_default_param[TP_NP] = {
  0.03, 5.405, 0.153, 0.392, 14.838, 0.00029, 0.0398, 0.000592, 0.294,
  2.724, 1.0, 40.0, 1000.0, 0.1, 2.5, 0.35, 1.38, 87.5, 0.1238, 0.0005,
  0.0146,
  0.15, 0.045, 0.06, 0.005, 1.5, 2.5, 1.0, 0.102, 0.0038, 0.00025,
  0.00036, 0.006375, 0.2, 0.001, 10.0, 0.3, 0.4, 0.00025, 1094.0, 54.68,
  16404.0,
  185.0, 8.314, 310.0, 96.485, 140.0, 5.4, 2.0,
};

static const mt_var obs[TP_NY] = {
  {"V", "mV", "transmembrane potential", -150, 100, 0},
  {"Cai", MM, "free cytosolic calcium", 0, 0.1, 0},
  {"I_Na", CUR, "fast sodium current", -1000, 1000, 0},
  {"I_CaL", CUR, "L-type calcium current", -1000, 1000, 0},
  {"I_to", CUR, "transient outward current", -1000, 1000, 0},
  {"I_Kr", CUR, "rapid delayed rectifier current", -1000, 1000, 0},
  {"I_Ks", CUR, "slow delayed rectifier current", -1000, 1000, 0},
  {"I_K1", CUR, "inward rectifier current", -1000, 1000, 0},
  {"I_NaCa", CUR, "sodium-calcium exchanger current", -1000, 1000, 0},
  {"I_NaK", CUR, "sodium-potassium pump current", -1000, 1000, 0},
  {"I_ion", CUR, "total ionic current", -1000, 1000, 0},
};

#define P(k) p[TP_##k]

/* --- gates --------------------------------------------------------------- */

static double sq(double a) { return a * a; }

/*
** Steady states and time constants (ms) of the 12 gates, in state order
** from m (TP06 and CellML; h and j are discontinuous at V = -40 mV as
** published).
*/
void mt_tp06_gates_at(double V, double Cass, double *inf, double *tau)
{
  double a, b, c;
  /* m */
  inf[0] = 1.0 / sq(1.0 + exp((-56.86 - V) / 9.03));
  a = 1.0 / (1.0 + exp((-60.0 - V) / 5.0));
  b = 0.1 / (1.0 + exp((V + 35.0) / 5.0)) +
      0.1 / (1.0 + exp((V - 50.0) / 200.0));
  tau[0] = a * b;
  /* h, j: the same steady state */
  inf[1] = inf[2] = 1.0 / sq(1.0 + exp((V + 71.55) / 7.43));
  if (V < -40.0) {
    a = 0.057 * exp(-(V + 80.0) / 6.8);
    b = 2.7 * exp(0.079 * V) + 310000.0 * exp(0.3485 * V);
    tau[1] = 1.0 / (a + b);
    a = (-25428.0 * exp(0.2444 * V) - 6.948e-6 * exp(-0.04391 * V)) *
        (V + 37.78) / (1.0 + exp(0.311 * (V + 79.23)));
    b = 0.02424 * exp(-0.01052 * V) / (1.0 + exp(-0.1378 * (V + 40.14)));
    tau[2] = 1.0 / (a + b);
  } else {
    tau[1] = 0.13 * (1.0 + exp(-(V + 10.66) / 11.1)) / 0.77;
    tau[2] = 1.0 / (0.6 * exp(0.057 * V) / (1.0 + exp(-0.1 * (V + 32.0))));
  }
  /* xr1, xr2, xs */
  inf[3] = 1.0 / (1.0 + exp((-26.0 - V) / 7.0));
  tau[3] = 450.0 / (1.0 + exp((-45.0 - V) / 10.0)) * 6.0 /
           (1.0 + exp((V + 30.0) / 11.5));
  inf[4] = 1.0 / (1.0 + exp((V + 88.0) / 24.0));
  tau[4] = 3.0 / (1.0 + exp((-60.0 - V) / 20.0)) * 1.12 /
           (1.0 + exp((V - 60.0) / 20.0));
  inf[5] = 1.0 / (1.0 + exp((-5.0 - V) / 14.0));
  tau[5] = 1400.0 / sqrt(1.0 + exp((5.0 - V) / 6.0)) /
           (1.0 + exp((V - 35.0) / 15.0)) + 80.0;
  /* r, s (epicardial) */
  inf[6] = 1.0 / (1.0 + exp((20.0 - V) / 6.0));
  tau[6] = 9.5 * exp(-sq(V + 40.0) / 1800.0) + 0.8;
  inf[7] = 1.0 / (1.0 + exp((V + 20.0) / 5.0));
  tau[7] = 85.0 * exp(-sq(V + 45.0) / 320.0) +
           5.0 / (1.0 + exp((V - 20.0) / 5.0)) + 3.0;
  /* d, f, f2, fCass */
  inf[8] = 1.0 / (1.0 + exp((-8.0 - V) / 7.5));
  a = 1.4 / (1.0 + exp((-35.0 - V) / 13.0)) + 0.25;
  b = 1.4 / (1.0 + exp((V + 5.0) / 5.0));
  c = 1.0 / (1.0 + exp((50.0 - V) / 20.0));
  tau[8] = a * b + c;
  inf[9] = 1.0 / (1.0 + exp((V + 20.0) / 7.0));
  tau[9] = 1102.5 * exp(-sq(V + 27.0) / 225.0) +
           200.0 / (1.0 + exp((13.0 - V) / 10.0)) +
           180.0 / (1.0 + exp((V + 30.0) / 10.0)) + 20.0;
  inf[10] = 0.67 / (1.0 + exp((V + 35.0) / 7.0)) + 0.33;
  tau[10] = 562.0 * exp(-sq(V + 27.0) / 240.0) +
            31.0 / (1.0 + exp((25.0 - V) / 10.0)) +
            80.0 / (1.0 + exp((V + 30.0) / 10.0));
  c = sq(Cass / 0.05);
  inf[11] = 0.6 / (1.0 + c) + 0.4;
  tau[11] = 80.0 / (1.0 + c) + 2.0;
}

static void inf_tau(double t, const double *x, const double *p, double *inf,
                    double *tau)
{
  (void)t, (void)p;
  mt_tp06_gates_at(x[TP_V], x[TP_CASS], inf, tau);
}

static const int gate_index[TP_NGATE] = {
  TP_M, TP_H, TP_J, TP_XR1, TP_XR2, TP_XS, TP_R, TP_S, TP_D, TP_F, TP_F2,
  TP_FCASS,
};

static const mt_gates gates = {
  .n = TP_NGATE, .state_index = gate_index, .inf_tau = inf_tau,
};

/* --- currents ------------------------------------------------------------ */

typedef struct tp_cur {
  double na, k1, to, kr, ks, cal, naca, nak, pca, pk, bca, bna, ion;
} tp_cur;

/* z / (exp(z) - 1), 1 at z = 0 (the I_CaL factor, finite at V = 15 mV). */
static double z_over_expm1(double z)
{
  return fabs(z) < 1e-12 ? 1.0 - 0.5 * z : z / expm1(z);
}

static void currents(const double *x, const double *p, tp_cur *c)
{
  double V = x[TP_V], Cai = x[TP_CAI], Nai = x[TP_NAI], Ki = x[TP_KI];
  double RTF = P(R_GAS) * P(T) / P(F_FARADAY), FRT = 1.0 / RTF;
  double E_Na = RTF * log(P(NA_O) / Nai);
  double E_K = RTF * log(P(K_O) / Ki);
  double E_Ks = RTF * log((P(K_O) + P(P_KNA) * P(NA_O)) /
                          (Ki + P(P_KNA) * Nai));
  double E_Ca = 0.5 * RTF * log(P(CA_O) / Cai);
  double sko = sqrt(P(K_O) / 5.4);
  double ak1 = 0.1 / (1.0 + exp(0.06 * (V - E_K - 200.0)));
  double bk1 = (3.0 * exp(0.0002 * (V - E_K + 100.0)) +
                exp(0.1 * (V - E_K - 10.0))) /
               (1.0 + exp(-0.5 * (V - E_K)));
  c->k1 = P(G_K1) * ak1 / (ak1 + bk1) * sko * (V - E_K);
  c->kr = P(G_KR) * sko * x[TP_XR1] * x[TP_XR2] * (V - E_K);
  c->ks = P(G_KS) * sq(x[TP_XS]) * (V - E_Ks);
  double m = x[TP_M];
  c->na = P(G_NA) * m * m * m * x[TP_H] * x[TP_J] * (V - E_Na);
  c->bna = P(G_BNA) * (V - E_Na);
  double z = 2.0 * (V - 15.0) * FRT;
  c->cal = P(G_CAL) * x[TP_D] * x[TP_F] * x[TP_F2] * x[TP_FCASS] * 2.0 *
           P(F_FARADAY) * (0.25 * x[TP_CASS] * exp(z) - P(CA_O)) *
           z_over_expm1(z);
  c->bca = P(G_BCA) * (V - E_Ca);
  c->to = P(G_TO) * x[TP_R] * x[TP_S] * (V - E_K);
  c->nak = P(P_NAK) * P(K_O) / (P(K_O) + P(K_MK)) * Nai / (Nai + P(K_MNA)) /
           (1.0 + 0.1245 * exp(-0.1 * V * FRT) + 0.0353 * exp(-V * FRT));
  double eg = exp(P(GAMMA) * V * FRT), eg1 = exp((P(GAMMA) - 1.0) * V * FRT);
  double nao3 = P(NA_O) * P(NA_O) * P(NA_O);
  c->naca = P(K_NACA) *
            (eg * Nai * Nai * Nai * P(CA_O) - eg1 * nao3 * Cai * P(ALPHA)) /
            ((P(KM_NAI) * P(KM_NAI) * P(KM_NAI) + nao3) *
             (P(KM_CA) + P(CA_O)) * (1.0 + P(K_SAT) * eg1));
  c->pca = P(G_PCA) * Cai / (Cai + P(K_PCA));
  c->pk = P(G_PK) * (V - E_K) / (1.0 + exp((25.0 - V) / 5.98));
  c->ion = c->k1 + c->to + c->kr + c->ks + c->cal + c->nak + c->na + c->bna +
           c->naca + c->bca + c->pk + c->pca;
}

/* --- right-hand side ----------------------------------------------------- */

/* Calcium (rapid buffering), R_prime, Na_i, K_i. */
static void concentrations(const double *x, const double *p, const tp_cur *c,
                           double I_stim, double *dx)
{
  double Cai = x[TP_CAI], CaSR = x[TP_CASR], Cass = x[TP_CASS];
  double VcF = P(V_C) * P(F_FARADAY), Cm = P(CM);
  double i_up = P(VMAX_UP) / (1.0 + sq(P(K_UP) / Cai));
  double i_leak = P(V_LEAK) * (CaSR - Cai);
  double i_xfer = P(V_XFER) * (Cass - Cai);
  double kcasr = P(MAX_SR) - (P(MAX_SR) - P(MIN_SR)) / (1.0 + sq(P(EC) / CaSR));
  double k1 = P(K1P) / kcasr, k2 = P(K2P) * kcasr;
  double O = k1 * Cass * Cass * x[TP_RPRIME] / (P(K3) + k1 * Cass * Cass);
  double i_rel = P(V_REL) * O * (CaSR - Cass);
  double ci = -(c->bca + c->pca - 2.0 * c->naca) * Cm / (2.0 * VcF) +
              (i_leak - i_up) * P(V_SR) / P(V_C) + i_xfer;
  double csr = i_up - (i_rel + i_leak);
  double css = -c->cal * Cm / (2.0 * P(V_SS) * P(F_FARADAY)) +
               i_rel * P(V_SR) / P(V_SS) - i_xfer * P(V_C) / P(V_SS);
  dx[TP_CAI] = ci / (1.0 + P(BUF_C) * P(K_BUF_C) / sq(Cai + P(K_BUF_C)));
  dx[TP_CASR] = csr / (1.0 + P(BUF_SR) * P(K_BUF_SR) / sq(CaSR + P(K_BUF_SR)));
  dx[TP_CASS] = css / (1.0 + P(BUF_SS) * P(K_BUF_SS) / sq(Cass + P(K_BUF_SS)));
  dx[TP_RPRIME] = -k2 * Cass * x[TP_RPRIME] + P(K4) * (1.0 - x[TP_RPRIME]);
  dx[TP_NAI] = -(c->na + c->bna + 3.0 * c->nak + 3.0 * c->naca) * Cm / VcF;
  /* CellML: i_Stim (= -I_stim) is carried by K+. */
  dx[TP_KI] = -(c->k1 + c->to + c->kr + c->ks + c->pk - I_stim -
                2.0 * c->nak) * Cm / VcF;
}

static int rhs(double t, const double *x, const double *p, const double *u,
               const double *mem, void *ws, double *dx)
{
  (void)t, (void)mem, (void)ws;
  if (!(x[TP_CAI] > 0) || !(x[TP_CASR] > 0) || !(x[TP_NAI] > 0) ||
      !(x[TP_KI] > 0))
    return 1; /* a log or a division of the model would be undefined */
  tp_cur c;
  double inf[TP_NGATE], tau[TP_NGATE];
  currents(x, p, &c);
  mt_tp06_gates_at(x[TP_V], x[TP_CASS], inf, tau);
  dx[TP_V] = -(c.ion - u[0]);
  for (int i = 0; i < TP_NGATE; i++)
    dx[gate_index[i]] = (inf[i] - x[gate_index[i]]) / tau[i];
  concentrations(x, p, &c, u[0], dx);
  return 0;
}

static void observe(double t, const double *x, const double *p,
                    const double *mem, double *y)
{
  (void)t, (void)mem;
  tp_cur c;
  currents(x, p, &c);
  y[TP_Y_V] = x[TP_V], y[TP_Y_CAI] = x[TP_CAI];
  y[TP_Y_INA] = c.na, y[TP_Y_ICAL] = c.cal, y[TP_Y_ITO] = c.to;
  y[TP_Y_IKR] = c.kr, y[TP_Y_IKS] = c.ks, y[TP_Y_IK1] = c.k1;
  y[TP_Y_INACA] = c.naca, y[TP_Y_INAK] = c.nak, y[TP_Y_IION] = c.ion;
}

/* The CellML initial state (ten_tusscher_model_2006_epi), no stimulus. */
static int init(const double *p, double *x0, double *mem, double *u_basal)
{
  (void)p, (void)mem;
  static const double x[TP_NX] = {
    -85.23, 0.000126, 3.64, 0.00036, 8.604, 136.89,  /* V, Ca, Na, K */
    0.00172, 0.7444, 0.7045,                          /* m, h, j */
    0.00621, 0.4712, 0.0095,                          /* xr1, xr2, xs */
    2.42e-8, 0.999998,                                /* r, s */
    3.373e-5, 0.7888, 0.9755, 0.9953,                 /* d, f, f2, fCass */
    0.9073,                                           /* R_prime */
  };
  for (int i = 0; i < TP_NX; i++)
    x0[i] = x[i];
  u_basal[0] = 0;
  return 0;
}

/* One shipped parameter set: "epi", the CellML values. */
static const char *set_name(int i) { return i == 0 ? "epi" : NULL; }

static int set_load(int i, mt_patient *pt)
{
  if (i != 0 || pt->model->n_param != TP_NP)
    return MT_ENOTFOUND;
  memcpy(pt->param, mt_tp06_default_param, sizeof mt_tp06_default_param);
  snprintf(pt->id, sizeof pt->id, "epi");
  snprintf(pt->group, sizeof pt->group, "cell");
  return 0;
}

static const mt_patient_set sets = {1, set_name, set_load};

const mt_model mt_model_tentusscher_panfilov_2006_epi = {
  .version = MT_MODEL_VERSION,
  .name = "tentusscher_panfilov_2006_epi",
  .doc = "human ventricular epicardial myocyte (ten Tusscher-Panfilov "
         "2006, CellML form), for the tissue engine",
  .time_unit = "ms",
  .reference = "ten Tusscher & Panfilov, Am J Physiol Heart Circ Physiol "
               "291:H1088, 2006 (CellML ten_tusscher_model_2006_epi)",
  .n_state = TP_NX, .n_param = TP_NP, .n_input = 1, .n_obs = TP_NY,
  .state = state, .param = param, .input = input, .obs = obs,
  .rhs = rhs, .observe = observe, .init = init,
  .gates = &gates,
  .patients = &sets,
};
