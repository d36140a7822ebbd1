/*
** An independent implementation of Smith, Chase, Nokes, Shaw, Wake, Med Eng
** Phys 26:131, 2004 (healthy-adult parameters of the paper's CellML export),
** written from the paper's equations for tests/verify/circulation.c. It
** shares no code with src/models/circulation_smith2004.c: its own septum
** solve (Newton from the last value, falling back to bisection on
** [-100, 100] mL), valve logic as in the CellML model (a valve's flow
** evolves while it conducts or its pressure difference is positive, and a
** flow that steps below zero is set to zero), and fixed-step classical RK4.
** Beat statistics are its own too (extremes and rectangle-rule means over
** the steps of the beat).
*/
#ifndef MT_TESTS_VERIFY_SMITH2004_REF_H
#define MT_TESTS_VERIFY_SMITH2004_REF_H

#include <math.h>

/* Healthy adult, mmHg, mL, s. */
static const struct ref_par {
  double T, B, C;
  double lvf_E, lvf_P0, lvf_lam;          /* LV free wall: Vd = V0 = 0 */
  double rvf_E, rvf_P0, rvf_lam;          /* RV free wall: Vd = V0 = 0 */
  double spt_E, spt_Vd, spt_V0, spt_P0, spt_lam;
  double pcd_P0, pcd_lam, pcd_V0, Pth;
  double Eao, Evc, Epa, Epu, Rsys, Rpul;
  double R[4], L[4];                      /* mitral, aortic, tricuspid, pulm. */
} REF = {
  0.75, 80, 0.375,
  2.8798, 0.1203, 0.033,
  0.585, 0.2157, 0.023,
  48.754, 2, 2, 1.1101, 0.435,
  0.5003, 0.03, 200, -4,
  0.6913, 0.0059, 0.369, 0.0073, 1.0889, 0.1552,
  {0.0158, 0.0180, 0.0237, 0.0055},
  {7.6968e-5, 1.2189e-4, 8.0093e-5, 1.4868e-4},
};

/* State: Vlv, Vao, Vvc, Vrv, Vpa, Vpu, Qmt, Qav, Qtc, Qpv. */
enum { R_LV, R_AO, R_VC, R_RV, R_PA, R_PU, R_QMT, R_QAV, R_QTC, R_QPV };

typedef struct ref_out {
  double plv, pao, pvc, ppa, ppu, prv;
} ref_out;

static double ref_act(double t)
{
  double u = t - REF.T * floor(t / REF.T) - REF.C;
  return exp(-REF.B * u * u);
}

/* LV free wall minus RV free wall minus septum pressure at septal volume
** s: decreasing in s. */
static double ref_bal(double e, double vlv, double vrv, double s, double *d)
{
  double l = vlv - s, r = vrv + s;
  double xl = exp(REF.lvf_lam * l), xr = exp(REF.rvf_lam * r);
  double xs = exp(REF.spt_lam * (s - REF.spt_V0));
  double plf = e * REF.lvf_E * l + (1 - e) * REF.lvf_P0 * (xl - 1);
  double prf = e * REF.rvf_E * r + (1 - e) * REF.rvf_P0 * (xr - 1);
  double ps = e * REF.spt_E * (s - REF.spt_Vd) +
              (1 - e) * REF.spt_P0 * (xs - 1);
  *d = -(e * REF.lvf_E + (1 - e) * REF.lvf_P0 * REF.lvf_lam * xl) -
       (e * REF.rvf_E + (1 - e) * REF.rvf_P0 * REF.rvf_lam * xr) -
       (e * REF.spt_E + (1 - e) * REF.spt_P0 * REF.spt_lam * xs);
  return plf - prf - ps;
}

static double ref_septum(double e, double vlv, double vrv, double *last)
{
  double s = *last, d;
  for (int i = 0; i < 50; i++) {
    double f = ref_bal(e, vlv, vrv, s, &d), ds = f / d;
    s -= ds;
    if (fabs(ds) < 1e-12) {
      *last = s;
      return s;
    }
  }
  double lo = -100, hi = 100;
  for (int i = 0; i < 200 && hi - lo > 1e-13; i++) {
    double mid = 0.5 * (lo + hi);
    if (ref_bal(e, vlv, vrv, mid, &d) > 0)
      lo = mid;
    else
      hi = mid;
  }
  *last = 0.5 * (lo + hi);
  return *last;
}

static void ref_deriv(double t, const double *x, double *last, double *dx,
                      ref_out *o)
{
  double e = ref_act(t);
  double s = ref_septum(e, x[R_LV], x[R_RV], last);
  double l = x[R_LV] - s, r = x[R_RV] + s;
  double ppcd = REF.pcd_P0 *
                (exp(REF.pcd_lam * (x[R_LV] + x[R_RV] - REF.pcd_V0)) - 1);
  double pperi = ppcd + REF.Pth;
  o->plv = e * REF.lvf_E * l + (1 - e) * REF.lvf_P0 *
           (exp(REF.lvf_lam * l) - 1) + pperi;
  o->prv = e * REF.rvf_E * r + (1 - e) * REF.rvf_P0 *
           (exp(REF.rvf_lam * r) - 1) + pperi;
  o->pao = REF.Eao * x[R_AO];
  o->pvc = REF.Evc * x[R_VC];
  o->ppa = REF.Epa * x[R_PA] + REF.Pth;
  o->ppu = REF.Epu * x[R_PU] + REF.Pth;
  double up[4] = {o->ppu, o->plv, o->pvc, o->prv};
  double dn[4] = {o->plv, o->pao, o->prv, o->ppa};
  for (int k = 0; k < 4; k++) {
    double q = x[R_QMT + k], dp = up[k] - dn[k];
    dx[R_QMT + k] = (q > 0 || dp > 0) ? (dp - REF.R[k] * q) / REF.L[k] : 0;
  }
  double qs = (o->pao - o->pvc) / REF.Rsys, qp = (o->ppa - o->ppu) / REF.Rpul;
  dx[R_LV] = x[R_QMT] - x[R_QAV];
  dx[R_AO] = x[R_QAV] - qs;
  dx[R_VC] = qs - x[R_QTC];
  dx[R_RV] = x[R_QTC] - x[R_QPV];
  dx[R_PA] = x[R_QPV] - qp;
  dx[R_PU] = qp - x[R_QMT];
}

/* Statistics of one beat. */
typedef struct ref_beat {
  double sbp, dbp, map, edv, esv, sv, ef, co, cvp, mpap;
} ref_beat;

/*
** Run n_beats beats from the CellML model's initial state with step h and
** return the statistics of the last beat. The beat is measured at the
** start of every step (a rectangle rule for the means).
*/
static ref_beat ref_run(int n_beats, double h)
{
  double x[10] = {94.6812, 133.3381, 329.7803, 90.7302, 43.0123, 808.4579,
                  245.5813, 0, 190.0661, 0};
  double last = 0, k1[10], k2[10], k3[10], k4[10], xt[10];
  long n_step = lround(REF.T / h);
  ref_out o;
  ref_beat b = {0};
  for (int beat = 0; beat < n_beats; beat++) {
    int measure = beat == n_beats - 1;
    double smax = -1e9, smin = 1e9, vmax = -1e9, vmin = 1e9;
    double sao = 0, svc = 0, spa = 0;
    for (long i = 0; i < n_step; i++) {
      double t = (beat * n_step + i) * h;
      ref_deriv(t, x, &last, k1, &o);
      if (measure) {
        smax = fmax(smax, o.pao), smin = fmin(smin, o.pao);
        vmax = fmax(vmax, x[R_LV]), vmin = fmin(vmin, x[R_LV]);
        sao += o.pao, svc += o.pvc, spa += o.ppa;
      }
      for (int k = 0; k < 10; k++) xt[k] = x[k] + 0.5 * h * k1[k];
      ref_deriv(t + 0.5 * h, xt, &last, k2, &o);
      for (int k = 0; k < 10; k++) xt[k] = x[k] + 0.5 * h * k2[k];
      ref_deriv(t + 0.5 * h, xt, &last, k3, &o);
      for (int k = 0; k < 10; k++) xt[k] = x[k] + h * k3[k];
      ref_deriv(t + h, xt, &last, k4, &o);
      for (int k = 0; k < 10; k++)
        x[k] += h / 6 * (k1[k] + 2 * k2[k] + 2 * k3[k] + k4[k]);
      for (int k = R_QMT; k <= R_QPV; k++)
        if (x[k] < 0)
          x[k] = 0;
    }
    if (measure) {
      b.sbp = smax, b.dbp = smin, b.edv = vmax, b.esv = vmin;
      b.map = sao / n_step, b.cvp = svc / n_step, b.mpap = spa / n_step;
      b.sv = vmax - vmin, b.ef = 100 * b.sv / vmax;
      b.co = b.sv * 60 / REF.T / 1000;
    }
  }
  return b;
}

#endif
