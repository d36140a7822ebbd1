/*
** Calibration of circulation_beatavg's coefficients against the
** beat-resolved circulation_smith2004 (issue 10, item 4). The design: the
** six conditions of smith2004 and a Latin hypercube of LHS_N points over
** factors on smith2004's healthy Ees_lvf (0.4-1.3), R_sys (0.8-1.5), V_tot
** (2/3-4/3), lambda_lvf (1-1.35) and HR (60-100 /min), the span of the
** conditions (mt_rng stream 20261124; 11, 0, 0). Every point is run
** beat-resolved from init() for N_BEATS beats sampled every 1 ms (DOPRI5,
** rtol = atol = 1e-8) and its last beat measured (medtwin/beats.h): MAP,
** SBP, DBP, CO, EF, EDV, CVP. Fitted: k_fl, c_fl, k_fr, c_fr, k_esl, v_spt,
** k_pp, k_tau, k_map; k_esr = 1 and k_vm = 0.5 are held (fitted too, they
** turn the RV into a volume store of over 1 L: no longer a ventricle, though
** the errors fall by about a third). Every fourth hypercube point is held out; the
** coefficients are fitted to the rest by Levenberg-Marquardt (MINPACK's
** lmdif through cminpack: its variable scaling, forward-difference
** Jacobian) on the residuals beat-averaged minus
** beat-resolved, each divided by its scale (1 mmHg; CVP 0.25 mmHg; 0.1
** L/min; 1 %; 1 mL). Prints the coefficients as the model's table wants
** them and, per observable, the mean and largest absolute error on the
** training and held-out points. Exit 1 if lmdif stops short of convergence.
** usage: beatavg_calibrate [-v]
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cminpack.h>

#include "medtwin/beats.h"
#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/rng.h"
#include "medtwin/sim.h"

#define N_BEATS 40
#define DT 1e-3
#define LHS_N 40
#define N_COND 6
#define N_PT (N_COND + LHS_N)
#define N_OBS 7
#define N_COEF 11

static const char *const obs_name[N_OBS] = {"MAP", "SBP", "DBP", "CO",
                                            "EF", "EDV", "CVP"};
static const double obs_scale[N_OBS] = {1, 1, 1, 0.1, 1, 1, 0.25};
static const char *const coef_name[N_COEF] = {
  "k_fl", "c_fl", "k_fr", "c_fr", "k_esl", "v_spt", "k_pp", "k_tau",
  "k_map", "k_mt", "t_sys"};

typedef struct point {
  double ps[128]; /* smith2004 parameters */
  double pb[128]; /* circulation_beatavg parameters */
  double y[N_OBS]; /* beat-resolved reference */
  int held_out;
} point;

static const mt_model *sm, *ba;
static point pts[N_PT];
static int ci[N_COEF];

/* Beat-averaged parameters from smith2004's, by name, as the ratio to the
** healthy values (so that units may differ). */
static void to_beatavg(const double *ps, const double *hs, const double *hb,
                       double *pb)
{
  memcpy(pb, hb, sizeof(double) * (size_t)ba->n_param);
  for (int k = 0; k < ba->n_param; k++) {
    int j = mt_var_index(sm->param, sm->n_param, ba->param[k].name);
    if (j >= 0 && hs[j] != 0)
      pb[k] = hb[k] * ps[j] / hs[j];
  }
}

/* The last beat of a beat-resolved run of ps. */
static int beat_resolved(const double *ps, double *y)
{
  double hr = ps[mt_var_index(sm->param, sm->n_param, "HR")];
  double T = 60 / hr, t_end = N_BEATS * T;
  int n = (int)floor(t_end / DT + 1e-9) + 1;
  mt_series o;
  if (mt_series_alloc(&o, sm, n))
    return 1;
  for (int i = 0; i < n; i++)
    o.t[i] = fmin(i * DT, t_end);
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s = NULL;
  int rc = mt_sim_create(sm, &cfg, &s);
  if (!rc)
    rc = mt_sim_run(s, ps, NULL, NULL, NULL, 0, t_end, &o);
  if (rc)
    fprintf(stderr, "%s\n", s ? mt_sim_errmsg(s) : "sim");
  mt_sim_free(s);
  mt_beat_cols c;
  mt_beat b[N_BEATS];
  int nb = 0;
  if (!rc)
    rc = mt_beat_cols_find(sm, &c) ||
         mt_beats_compute(&o, &c, 0, T, b, N_BEATS, &nb) || nb < 2;
  mt_series_clear(&o);
  if (rc)
    return 1;
  const mt_beat *l = &b[nb - 1];
  y[0] = l->map_mmhg, y[1] = l->sbp_mmhg, y[2] = l->dbp_mmhg;
  y[3] = l->co_lmin, y[4] = l->ef_pct, y[5] = l->edv_ml, y[6] = l->cvp_mmhg;
  return 0;
}

/* The beat-averaged observables of pb (NAN if it has no solution). */
static void beat_averaged(const double *pb, double *y)
{
  double x0[64], mem[4] = {0}, u[8], yy[64];
  if (ba->init(pb, x0, mem, u)) {
    for (int k = 0; k < N_OBS; k++)
      y[k] = NAN;
    return;
  }
  ba->observe(0, x0, pb, mem, yy);
  for (int k = 0; k < N_OBS; k++)
    y[k] = yy[mt_var_index(ba->obs, ba->n_obs, obs_name[k])];
}

/* Residuals of the training (held = 0) or held-out (held = 1) points at
** coefficients c; returns their number. */
static int residuals(const double *c, int held, double *r)
{
  int n = 0;
  for (int i = 0; i < N_PT; i++) {
    if (pts[i].held_out != held)
      continue;
    for (int k = 0; k < N_COEF; k++)
      pts[i].pb[ci[k]] = c[k];
    double y[N_OBS];
    beat_averaged(pts[i].pb, y);
    for (int k = 0; k < N_OBS; k++) {
      double d = (y[k] - pts[i].y[k]) / obs_scale[k];
      r[n++] = isfinite(d) ? d : 1e3;
    }
  }
  return n;
}

static double sumsq(const double *r, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += r[i] * r[i];
  return s;
}

/* lmdif's callback: the training residuals at x (p: the -v flag). With -v,
** the sum of squares at each new iterate (iflag 0, every nprint
** iterations). */
static int lm_fcn(void *p, int m, int n, const double *x, double *fvec,
                  int iflag)
{
  (void)n;
  int verbose = *(const int *)p;
  if (iflag == 0) {
    if (verbose)
      fprintf(stderr, "lmdif iterate: sum of squares %.6g\n",
              sumsq(fvec, m));
    return 0;
  }
  return residuals(x, 0, fvec) == m ? 0 : -1;
}

/* Levenberg-Marquardt on the training residuals from c: MINPACK's lmdif
** (More, Garbow and Hillstrom, ANL-80-74, 1980) through cminpack, with its
** own variable scaling (mode 1) and forward-difference Jacobian (relative
** step sqrt(epsfcn) = 1e-7). It stops when the relative reduction of the
** sum of squares or the relative step falls below 1e-10, or the cosine of
** the angle between the residuals and the Jacobian's columns does. */
static double fit(double *c, int verbose, int *converged)
{
  enum { M = N_PT * N_OBS };
  static double r[M], fjac[M * N_COEF], wa4[M];
  double diag[N_COEF], qtf[N_COEF], wa1[N_COEF], wa2[N_COEF], wa3[N_COEF];
  int ipvt[N_COEF], nfev = 0;
  int m = residuals(c, 0, r);
  int info = lmdif(lm_fcn, &verbose, m, N_COEF, c, r, 1e-10, 1e-10, 1e-10,
                   400 * (N_COEF + 1), 1e-14, diag, 1, 100, verbose ? 1 : 0,
                   &nfev, fjac, m, ipvt, qtf, wa1, wa2, wa3, wa4);
  if (verbose)
    fprintf(stderr, "lmdif: info %d after %d evaluations\n", info, nfev);
  /* info 1-4: converged; 5: out of evaluations; 6-8: the tolerances are
  ** below what the arithmetic resolves (at the optimum, as far as it can
  ** tell). */
  *converged = info >= 1 && info != 5;
  if (!*converged)
    fprintf(stderr, "lmdif: stopped without convergence (info %d)\n", info);
  residuals(c, 0, r);
  return sumsq(r, m);
}

static void report(const double *c, int held, const char *what)
{
  static double r[N_PT * N_OBS];
  int n = residuals(c, held, r) / N_OBS;
  printf("%s (%d points): mean|max absolute error, the point of the max\n",
         what, n);
  int at[N_PT], m = 0;
  for (int i = 0; i < N_PT; i++)
    if (pts[i].held_out == held)
      at[m++] = i;
  for (int k = 0; k < N_OBS; k++) {
    double s = 0, mx = 0;
    int w = 0;
    for (int i = 0; i < n; i++) {
      double e = fabs(r[i * N_OBS + k]) * obs_scale[k];
      s += e;
      if (e > mx)
        mx = e, w = at[i];
    }
    printf("  %-4s %8.3f %8.3f  %d\n", obs_name[k], s / n, mx, w);
  }
}

int main(int argc, char **argv)
{
  int verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
  sm = mt_model_find("circulation_smith2004");
  ba = mt_model_find("circulation_beatavg");
  if (!sm || !ba || sm->n_param > 128 || ba->n_param > 128)
    return 1;
  char err[MT_ERRMSG_MAX];
  mt_patient *hs, *hb;
  if (mt_patient_load(sm, "healthy", &hs, err, sizeof err) ||
      mt_patient_load(ba, "healthy", &hb, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  for (int k = 0; k < N_COEF; k++)
    if ((ci[k] = mt_var_index(ba->param, ba->n_param, coef_name[k])) < 0)
      return 1;
  /* The conditions. */
  for (int i = 0; i < N_COND; i++) {
    mt_patient *pt;
    if (mt_patient_load(sm, sm->patients->name(i), &pt, err, sizeof err))
      return 1;
    memcpy(pts[i].ps, pt->param, sizeof(double) * (size_t)sm->n_param);
    mt_patient_free(pt);
  }
  /* The hypercube: factor k of point i in stratum perm[k][i]. */
  static const char *const fn[5] = {"Ees_lvf", "R_sys", "V_tot",
                                    "lambda_lvf", "HR"};
  static const double lo[5] = {0.4, 0.8, 2.0 / 3, 1.0, 60.0 / 80};
  static const double hi[5] = {1.3, 1.5, 4.0 / 3, 1.35, 100.0 / 80};
  mt_rng rng;
  mt_rng_init(&rng, 20261124, 11, 0, 0);
  int perm[5][LHS_N];
  for (int k = 0; k < 5; k++) {
    for (int i = 0; i < LHS_N; i++)
      perm[k][i] = i;
    for (int i = LHS_N - 1; i > 0; i--) {
      int j = (int)(mt_rng_uniform(&rng) * (i + 1));
      int t = perm[k][i];
      perm[k][i] = perm[k][j], perm[k][j] = t;
    }
  }
  for (int i = 0; i < LHS_N; i++) {
    point *p = &pts[N_COND + i];
    memcpy(p->ps, hs->param, sizeof(double) * (size_t)sm->n_param);
    for (int k = 0; k < 5; k++) {
      double u = (perm[k][i] + mt_rng_uniform(&rng)) / LHS_N;
      p->ps[mt_var_index(sm->param, sm->n_param, fn[k])] *=
          lo[k] * pow(hi[k] / lo[k], u);
    }
    p->held_out = i % 4 == 3;
  }
  for (int i = 0; i < N_PT; i++) {
    to_beatavg(pts[i].ps, hs->param, hb->param, pts[i].pb);
    if (beat_resolved(pts[i].ps, pts[i].y)) {
      fprintf(stderr, "point %d: beat-resolved run failed\n", i);
      return 1;
    }
    if (verbose) {
      fprintf(stderr, "point %2d%s", i, pts[i].held_out ? " held" : "     ");
      for (int k = 0; k < 5; k++)
        fprintf(stderr, " %s %.4g", fn[k],
                pts[i].ps[mt_var_index(sm->param, sm->n_param, fn[k])]);
      for (int k = 0; k < N_OBS; k++)
        fprintf(stderr, " %s %.4g", obs_name[k], pts[i].y[k]);
      fprintf(stderr, "\n");
    }
  }
  double c[N_COEF];
  for (int k = 0; k < N_COEF; k++)
    c[k] = hb->param[ci[k]];
  report(c, 0, "before fitting, training");
  int converged = 0;
  double f = fit(c, verbose, &converged);
  printf("sum of squares %.6g\ncoefficients:", f);
  for (int k = 0; k < N_COEF; k++)
    printf(" %s %.6g", coef_name[k], c[k]);
  /* The model's table from k_fl to k_map, the fixed ones (k_esr, k_vm)
  ** as they are. */
  printf("\ninitialiser: ");
  int k0 = mt_var_index(ba->param, ba->n_param, "k_fl");
  int k1 = mt_var_index(ba->param, ba->n_param, "t_sys");
  for (int k = 0; k < N_COEF; k++)
    hb->param[ci[k]] = c[k];
  for (int k = k0; k <= k1; k++)
    printf("%.6g%s", hb->param[k], k < k1 ? ", " : ",\n");
  report(c, 0, "training");
  report(c, 1, "held out");
  /* The conditions: beat-resolved and beat-averaged. */
  printf("condition     (beat-resolved / beat-averaged)");
  for (int k = 0; k < N_OBS; k++)
    printf(" %s", obs_name[k]);
  printf("\n");
  for (int i = 0; i < N_COND; i++) {
    double y[N_OBS];
    beat_averaged(pts[i].pb, y);
    printf("%-13s", sm->patients->name(i));
    for (int k = 0; k < N_OBS; k++)
      printf(" %.4g/%.4g", pts[i].y[k], y[k]);
    printf("\n");
  }
  /* Held-out points, for the unit test. */
  for (int i = 0; i < N_PT; i++)
    if (pts[i].held_out) {
      printf("held-out point %d:", i);
      for (int k = 0; k < 5; k++)
        printf(" %s %.6g", fn[k],
               pts[i].ps[mt_var_index(sm->param, sm->n_param, fn[k])]);
      printf("\n");
    }
  mt_patient_free(hs);
  mt_patient_free(hb);
  return converged ? 0 : 1;
}
