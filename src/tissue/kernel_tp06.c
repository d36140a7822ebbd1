/*
** Fast reaction step of the ten Tusscher-Panfilov 2006 epicardial model
** (ten Tusscher & Panfilov, Am J Physiol Heart Circ Physiol 291:H1088,
** 2006, CellML form; src/models/tentusscher2006.c, whose rhs and inf_tau
** it reproduces) for the tissue engine (kernel.h).
**
** Every function of V alone is read from a table built once per parameter
** set and step dt, with linear interpolation in V (voltage lookup tables,
** as in CARP: Vigmond et al., J Electrocardiol 36 Suppl:69, 2003): for the
** eleven purely voltage-gated gates (m, h, j, xr1, xr2, xs, r, s, d, f, f2)
** the Rush-Larsen update x <- x_inf + (x - x_inf) e^{-dt/tau} written as
** x <- a + e x with a = x_inf (1 - e), and the voltage factors of I_NaK,
** I_NaCa (two), I_pK and I_CaL (two). Table: V from TAB_VMIN to TAB_VMAX mV
** in steps of TAB_DV; V outside is clamped to the range (the model's own
** bounds are -150..100 mV). Computed exactly per node: the reversal
** potentials (log of the concentrations), I_K1 (which depends on V - E_K),
** the gate fCass (on Ca_ss), the calcium handling and ion balances.
** Errors of the tables: docs/tissue.md and tests/unit/tissue_kernel.c.
*/
#include <math.h>
#include <stdlib.h>

#include "medtwin/error.h"
#include "models/tentusscher2006.h"
#include "tissue/kernel.h"
#include "tissue/kernel_tp06.h"

#define P(k) p[TP_##k]
#define CHUNK 256 /* nodes of one pass of react_chunk */

static double sq(double a) { return a * a; }

/* z / (exp(z) - 1), 1 at z = 0 (as the model). */
static double z_over_expm1(double z)
{
  return fabs(z) < 1e-12 ? 1.0 - 0.5 * z : z / expm1(z);
}

void mt_tp06_tab_row(const double *p, double dt, double V, double *row)
{
  double inf[TAB_NG + 1], tau[TAB_NG + 1]; /* fCass's, unused, last */
  mt_tp06_gates_at(V, 0, inf, tau);
  for (int g = 0; g < TAB_NG; g++) {
    double e = exp(-dt / tau[g]);
    row[TAB_A + g] = inf[g] * (1.0 - e);
    row[TAB_E + g] = e;
  }
  double FRT = P(F_FARADAY) / (P(R_GAS) * P(T));
  row[TAB_NAK] = P(P_NAK) * P(K_O) / (P(K_O) + P(K_MK)) /
                 (1.0 + 0.1245 * exp(-0.1 * V * FRT) + 0.0353 * exp(-V * FRT));
  double eg = exp(P(GAMMA) * V * FRT), eg1 = exp((P(GAMMA) - 1.0) * V * FRT);
  double nao3 = P(NA_O) * P(NA_O) * P(NA_O);
  double den = (P(KM_NAI) * P(KM_NAI) * P(KM_NAI) + nao3) *
               (P(KM_CA) + P(CA_O)) * (1.0 + P(K_SAT) * eg1);
  row[TAB_NACA1] = P(K_NACA) * eg * P(CA_O) / den;
  row[TAB_NACA2] = P(K_NACA) * eg1 * nao3 * P(ALPHA) / den;
  row[TAB_PK] = P(G_PK) / (1.0 + exp((25.0 - V) / 5.98));
  double z = 2.0 * (V - 15.0) * FRT, zq = z_over_expm1(z);
  double g = P(G_CAL) * 2.0 * P(F_FARADAY);
  row[TAB_CAL1] = g * 0.25 * exp(z) * zq;
  row[TAB_CAL2] = g * P(CA_O) * zq;
}

static int prepare(const double *p, double dt, void **tab)
{
  double *t = malloc((size_t)TAB_N * TAB_NF * sizeof(double));
  if (!t)
    return MT_ENOMEM;
  for (int k = 0; k < TAB_N; k++)
    mt_tp06_tab_row(p, dt, TAB_VMIN + k * TAB_DV, t + (size_t)k * TAB_NF);
  *tab = t;
  return 0;
}

static void release(void *tab) { free(tab); }

/* Interpolated table entry f of the current node. */
#define T(f) (tb[k0 + (f)] + w * (tb[k0 + TAB_NF + (f)] - tb[k0 + (f)]))

/*
** The update of nodes [b, e) whose table entries are those of rows
** row[i - b] (offsets in tb) and row[i - b] + TAB_NF with weights wt[i -
** b]. Returns the count of nodes the model's rhs would refuse or whose V
** is not finite.
*/
MT_KERNEL_CLONES
static long update(double *const *x, double *istim, long b, long e,
                   const double *p, const double *restrict tb,
                   const int *restrict row, const double *restrict wt,
                   double dt, double u0)
{
  double *restrict V = x[TP_V], *restrict Cai_ = x[TP_CAI],
         *restrict CaSR_ = x[TP_CASR], *restrict Cass_ = x[TP_CASS],
         *restrict Nai_ = x[TP_NAI], *restrict Ki_ = x[TP_KI],
         *restrict Rp_ = x[TP_RPRIME], *restrict fcass_ = x[TP_FCASS],
         *restrict is = istim;
  double *restrict G[TAB_NG];
  for (int g = 0; g < TAB_NG; g++)
    G[g] = x[TP_M + g];
  double *restrict m_ = G[0], *restrict h_ = G[1], *restrict j_ = G[2],
         *restrict xr1_ = G[3], *restrict xr2_ = G[4], *restrict xs_ = G[5],
         *restrict r_ = G[6], *restrict s_ = G[7], *restrict d_ = G[8],
         *restrict f_ = G[9], *restrict f2_ = G[10];
  const double RTF = P(R_GAS) * P(T) / P(F_FARADAY);
  const double sko = sqrt(P(K_O) / 5.4), gk1 = P(G_K1) * sko,
               gkr = P(G_KR) * sko;
  const double lnao = log(P(NA_O)), lko = log(P(K_O)), lcao = log(P(CA_O));
  const double lko_ks = log(P(K_O) + P(P_KNA) * P(NA_O)), pkna = P(P_KNA);
  const double kup2 = sq(P(K_UP)), ec2 = sq(P(EC)), dsr = P(MAX_SR) - P(MIN_SR);
  const double bkc = P(BUF_C) * P(K_BUF_C), bksr = P(BUF_SR) * P(K_BUF_SR),
               bkss = P(BUF_SS) * P(K_BUF_SS);
  const double VcF = P(V_C) * P(F_FARADAY), Cm = P(CM);
  const double cm_vcf = Cm / VcF, cm_2vcf = Cm / (2.0 * VcF);
  const double cm_2vssf = Cm / (2.0 * P(V_SS) * P(F_FARADAY));
  const double vsr_vc = P(V_SR) / P(V_C), vsr_vss = P(V_SR) / P(V_SS);
  const double vc_vss = P(V_C) / P(V_SS);
  long bad = 0;
#pragma omp simd reduction(+ : bad)
  for (long i = b; i < e; i++) {
    double v = V[i], Cai = Cai_[i], CaSR = CaSR_[i], Cass = Cass_[i];
    double Nai = Nai_[i], Ki = Ki_[i], Rp = Rp_[i];
    bad += !(Cai > 0) | !(CaSR > 0) | !(Nai > 0) | !(Ki > 0);
    double w = wt[i - b];
    int k0 = row[i - b];
    /* reversal potentials and currents (tentusscher2006.c, currents;
    ** quotients rearranged to save divisions: the same functions) */
    double E_Na = RTF * (lnao - mt_vlog(Nai)), E_K = RTF * (lko - mt_vlog(Ki));
    double E_Ks = RTF * (lko_ks - mt_vlog(Ki + pkna * Nai));
    double E_Ca = 0.5 * RTF * (lcao - mt_vlog(Cai));
    double vk = v - E_K;
    /* I_K1: a / (a + b) with a = 0.1 / (1 + e1), b = (3 e2 + e3) / (1 + e4) */
    double a1 = 0.1 * (1.0 + mt_vexp(-0.5 * vk));
    double b1 = (3.0 * mt_vexp(0.0002 * (vk + 100.0)) +
                 mt_vexp(0.1 * (vk - 10.0))) *
                (1.0 + mt_vexp(0.06 * (vk - 200.0)));
    double mm = m_[i], xs = xs_[i];
    double fcass = fcass_[i];
    double i_k1 = gk1 * a1 / (a1 + b1) * vk;
    double i_kr = gkr * xr1_[i] * xr2_[i] * vk;
    double i_ks = P(G_KS) * xs * xs * (v - E_Ks);
    double i_na = P(G_NA) * mm * mm * mm * h_[i] * j_[i] * (v - E_Na);
    double i_bna = P(G_BNA) * (v - E_Na);
    double i_cal = d_[i] * f_[i] * f2_[i] * fcass *
                   (T(TAB_CAL1) * Cass - T(TAB_CAL2));
    double i_bca = P(G_BCA) * (v - E_Ca);
    double i_to = P(G_TO) * r_[i] * s_[i] * vk;
    double i_nak = T(TAB_NAK) * Nai / (Nai + P(K_MNA));
    double i_naca = T(TAB_NACA1) * Nai * Nai * Nai - T(TAB_NACA2) * Cai;
    double i_pca = P(G_PCA) * Cai / (Cai + P(K_PCA));
    double i_pk = T(TAB_PK) * vk;
    double ion = i_k1 + i_to + i_kr + i_ks + i_cal + i_nak + i_na + i_bna +
                 i_naca + i_bca + i_pk + i_pca;
    double I = u0 + is[i];
    is[i] = 0;
    /* calcium, R_prime, Na_i, K_i (tentusscher2006.c, concentrations) */
    double cai2 = Cai * Cai, casr2 = CaSR * CaSR, cass2 = Cass * Cass;
    double i_up = P(VMAX_UP) * cai2 / (cai2 + kup2);
    double i_leak = P(V_LEAK) * (CaSR - Cai);
    double i_xfer = P(V_XFER) * (Cass - Cai);
    double kcasr = P(MAX_SR) - dsr * casr2 / (casr2 + ec2);
    double k2 = P(K2P) * kcasr; /* k1 = K1P / kcasr in O: */
    double O = P(K1P) * cass2 * Rp / (P(K3) * kcasr + P(K1P) * cass2);
    double i_rel = P(V_REL) * O * (CaSR - Cass);
    double ci = -(i_bca + i_pca - 2.0 * i_naca) * cm_2vcf +
                (i_leak - i_up) * vsr_vc + i_xfer;
    double csr = i_up - (i_rel + i_leak);
    double css = -i_cal * cm_2vssf + i_rel * vsr_vss - i_xfer * vc_vss;
    double vn = v - dt * (ion - I);
    V[i] = vn;
    /* rapid buffering: x / (1 + B K / q) = x q / (q + B K) */
    double qc = sq(Cai + P(K_BUF_C)), qsr = sq(CaSR + P(K_BUF_SR)),
           qss = sq(Cass + P(K_BUF_SS));
    Cai_[i] = Cai + dt * ci * qc / (qc + bkc);
    CaSR_[i] = CaSR + dt * csr * qsr / (qsr + bksr);
    Cass_[i] = Cass + dt * css * qss / (qss + bkss);
    Rp_[i] = Rp + dt * (-k2 * Cass * Rp + P(K4) * (1.0 - Rp));
    Nai_[i] = Nai - dt * (i_na + i_bna + 3.0 * i_nak + 3.0 * i_naca) * cm_vcf;
    Ki_[i] = Ki - dt * (i_k1 + i_to + i_kr + i_ks + i_pk - I - 2.0 * i_nak) *
                      cm_vcf;
    /* gates: Rush-Larsen, from the tables except fCass */
    m_[i] = T(TAB_A + 0) + T(TAB_E + 0) * mm;
    h_[i] = T(TAB_A + 1) + T(TAB_E + 1) * h_[i];
    j_[i] = T(TAB_A + 2) + T(TAB_E + 2) * j_[i];
    xr1_[i] = T(TAB_A + 3) + T(TAB_E + 3) * xr1_[i];
    xr2_[i] = T(TAB_A + 4) + T(TAB_E + 4) * xr2_[i];
    xs_[i] = T(TAB_A + 5) + T(TAB_E + 5) * xs;
    r_[i] = T(TAB_A + 6) + T(TAB_E + 6) * r_[i];
    s_[i] = T(TAB_A + 7) + T(TAB_E + 7) * s_[i];
    d_[i] = T(TAB_A + 8) + T(TAB_E + 8) * d_[i];
    f_[i] = T(TAB_A + 9) + T(TAB_E + 9) * f_[i];
    f2_[i] = T(TAB_A + 10) + T(TAB_E + 10) * f2_[i];
    double rc = 1.0 / (1.0 + sq(Cass * 20.0)); /* 1 / (1 + (Cass / 0.05)^2) */
    double finf = 0.6 * rc + 0.4, ftau = 80.0 * rc + 2.0;
    fcass_[i] = finf + (fcass - finf) * mt_vexp(-dt / ftau);
    bad += !(fabs(vn) <= 1.79e308);
  }
  return bad;
}

/*
** Nodes [b, e), at most CHUNK of them: first the table rows and weights
** (separate loops: gcc 12 does not if-convert a conversion to int of the
** result of a conditional, nor vectorise a gather whose index comes out of
** a conditional in the same loop), then the update. When a V lies outside
** the table (a strong stimulus drives V to +500 mV in the N-version
** corner), the chunk's rows are computed into a table of its own, exactly
** for those nodes, interpolated for the others, and used with weight 0.
*/
static long react_chunk(double *const *x, double *istim, long b, long e,
                        const double *p, const double *tb, double dt,
                        double u0)
{
  const double *V = x[TP_V];
  const double inv_dv = 1.0 / TAB_DV, umax = TAB_N - 1.000001;
  int row[CHUNK];
  double wt[CHUNK];
  long out = 0;
#pragma omp simd reduction(+ : out)
  for (long i = b; i < e; i++) {
    double u = (V[i] - TAB_VMIN) * inv_dv;
    out += !(u >= 0 && u <= umax);
    u = u > 0 ? u : 0;
    wt[i - b] = u < umax ? u : umax;
  }
#pragma omp simd
  for (long i = 0; i < e - b; i++) {
    int k = (int)wt[i];
    row[i] = k * TAB_NF;
    wt[i] -= k;
  }
  long bad;
  if (!out) {
    bad = update(x, istim, b, e, p, tb, row, wt, dt, u0);
  } else {
    double own[(CHUNK + 1) * TAB_NF];
    for (long i = b; i < e; i++) {
      double *o = own + (i - b) * TAB_NF, u = (V[i] - TAB_VMIN) * inv_dv;
      if (u >= 0 && u <= umax)
        for (int f = 0; f < TAB_NF; f++)
          o[f] = tb[row[i - b] + f] +
                 wt[i - b] * (tb[row[i - b] + TAB_NF + f] - tb[row[i - b] + f]);
      else
        mt_tp06_tab_row(p, dt, V[i], o);
      row[i - b] = (int)(i - b) * TAB_NF, wt[i - b] = 0;
    }
    for (int f = 0; f < TAB_NF; f++) /* read with weight 0 */
      own[(e - b) * TAB_NF + f] = 0;
    bad = update(x, istim, b, e, p, own, row, wt, dt, u0);
  }
  if (!bad)
    return -1;
  for (long i = b; i < e; i++)
    if (!isfinite(V[i]) || !(x[TP_CAI][i] > 0) || !(x[TP_CASR][i] > 0) ||
        !(x[TP_NAI][i] > 0) || !(x[TP_KI][i] > 0))
      return i;
  return b; /* refused before the update, valid after it */
}

static long react(double *const *x, double *istim, long b, long e,
                  const double *p, const void *tab, double dt, double u0)
{
  for (long c = b; c < e; c += CHUNK) {
    long bad = react_chunk(x, istim, c, e - c < CHUNK ? e : c + CHUNK, p,
                           tab, dt, u0);
    if (bad >= 0)
      return bad;
  }
  return -1;
}

const mt_tissue_kernel mt_tissue__kernel_tp06 = {
  .model = &mt_model_tentusscher_panfilov_2006_epi,
  .prepare = prepare, .release = release, .react = react,
};
