/*
** circulation_smith2004 (Smith et al., Med Eng Phys 26:131, 2004) and the
** beat-level observables of medtwin/beats.h. Every run samples each 1 ms,
** rtol = atol = 1e-8 (the defaults), DOPRI5 unless said. Reference ranges:
** normal resting adult values (SBP 100-140, DBP 60-90 mmHg, CO 4-8 L/min,
** EF 55-70 %), as issue 10 states them; the model card lists the figures
** observed.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/beats.h"
#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "models/circulation.h"

#define DT 1e-3 /* s between samples */
#define N_BEATS 30

static const mt_model *model(void)
{
  const mt_model *m = mt_model_find("circulation_smith2004");
  cr_assert_not_null(m);
  return m;
}

/* A run of the named condition over N_BEATS beats from init(), sampled
** every DT, measured beat by beat. */
typedef struct run {
  mt_patient *pt;
  mt_series o;
  mt_beat b[N_BEATS];
  int nb;
  double T;
} run;

static void run_cond(const char *who, mt_solver sv, run *r)
{
  const mt_model *m = model();
  char err[MT_ERRMSG_MAX] = "";
  memset(r, 0, sizeof *r);
  cr_assert_eq(mt_patient_load(m, who, &r->pt, err, sizeof err), 0, "%s",
               err);
  r->T = 60.0 / r->pt->param[mt_var_index(m->param, m->n_param, "HR")];
  double t_end = N_BEATS * r->T;
  int n = (int)floor(t_end / DT + 1e-9) + 1;
  cr_assert_eq(mt_series_alloc(&r->o, m, n), 0);
  for (int i = 0; i < n; i++)
    r->o.t[i] = fmin(i * DT, t_end);
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  cfg.solver = sv;
  mt_sim *s = NULL;
  cr_assert_eq(mt_sim_create(m, &cfg, &s), 0);
  cr_assert_eq(mt_sim_run(s, r->pt->param, NULL, NULL, NULL, 0, t_end, &r->o),
               0, "%s: %s", who, mt_sim_errmsg(s));
  mt_sim_free(s);
  mt_beat_cols c;
  cr_assert_eq(mt_beat_cols_find(m, &c), 0);
  cr_assert_eq(mt_beats_compute(&r->o, &c, 0, r->T, r->b, N_BEATS, &r->nb),
               0);
  cr_assert_eq(r->nb, N_BEATS, "%s: %d beats measured", who, r->nb);
}

static void run_free(run *r)
{
  mt_series_clear(&r->o);
  mt_patient_free(r->pt);
}

static const mt_beat *last(const run *r) { return &r->b[r->nb - 1]; }

Test(circulation, healthy_in_normal_adult_ranges)
{
  run r;
  run_cond("healthy", MT_SOLVER_DOPRI5, &r);
  const mt_beat *b = last(&r);
  cr_expect(b->sbp_mmhg >= 100 && b->sbp_mmhg <= 140, "SBP %.2f", b->sbp_mmhg);
  cr_expect(b->dbp_mmhg >= 60 && b->dbp_mmhg <= 90, "DBP %.2f", b->dbp_mmhg);
  cr_expect(b->co_lmin >= 4 && b->co_lmin <= 8, "CO %.3f", b->co_lmin);
  cr_expect(b->ef_pct >= 55 && b->ef_pct <= 70, "EF %.2f", b->ef_pct);
  cr_expect(fabs(b->hr_bpm - 80) < 1e-9, "HR %.6f", b->hr_bpm);
  /* The beat's own arithmetic: SV = EDV - ESV, CO = SV HR. */
  cr_expect(fabs(b->sv_ml - (b->edv_ml - b->esv_ml)) < 1e-12);
  cr_expect(fabs(b->co_lmin - b->sv_ml * 80 / 1000) < 1e-12);
  run_free(&r);
}

/* After 20 beats the cycle repeats: SV, SBP and EDV of each beat within
** 0.1 % of the beat before (issue 10; observed at most 4.7e-5 over beats
** 20-29). */
Test(circulation, periodic_after_settling)
{
  run r;
  run_cond("healthy", MT_SOLVER_DOPRI5, &r);
  for (int k = 20; k < r.nb; k++) {
    const mt_beat *a = &r.b[k - 1], *b = &r.b[k];
    cr_expect_leq(fabs(b->sv_ml / a->sv_ml - 1), 1e-3, "beat %d SV", k);
    cr_expect_leq(fabs(b->sbp_mmhg / a->sbp_mmhg - 1), 1e-3, "beat %d SBP",
                  k);
    cr_expect_leq(fabs(b->edv_ml / a->edv_ml - 1), 1e-3, "beat %d EDV", k);
  }
  run_free(&r);
}

/* The six volumes sum to V_tot at every sample, to 1e-12 relative (the
** issue asks 1e-6; observed 7.8e-15): the flows leave one compartment and
** enter the next, Runge-Kutta methods keep linear invariants to rounding,
** and the valve events reset flows, never volumes. */
Test(circulation, volume_conserved)
{
  run r;
  run_cond("healthy", MT_SOLVER_DOPRI5, &r);
  const mt_model *m = model();
  double vtot = r.pt->param[mt_var_index(m->param, m->n_param, "V_tot")];
  double worst = 0;
  for (int i = 0; i < r.o.n; i++) {
    double sum = 0;
    for (int k = 0; k < 6; k++)
      sum += r.o.x[(size_t)i * (size_t)m->n_state + (size_t)k];
    worst = fmax(worst, fabs(sum / vtot - 1));
  }
  cr_expect_leq(worst, 1e-12, "volume drift %.3g", worst);
  run_free(&r);
}

/* A valve conducts forward only: no flow below -1e-6 mL/s (peak flows are
** near 500 mL/s; a closing is located where the flow crosses -1e-9 mL/s,
** and the flow is then set to 0; observed minimum: 0 exactly). A
** valve must also conduct: each opens and closes once per beat (8 events
** a beat). */
Test(circulation, valves_never_conduct_backwards)
{
  const mt_model *m = model();
  const char *q[4] = {"Q_mt", "Q_av", "Q_tc", "Q_pv"};
  for (int v = 0; v < 4; v++) {
    run r;
    run_cond("healthy", v % 2 ? MT_SOLVER_CVODE : MT_SOLVER_DOPRI5, &r);
    int k = mt_var_index(m->obs, m->n_obs, q[v]);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < r.o.n; i++) {
      double y = r.o.y[(size_t)i * (size_t)m->n_obs + (size_t)k];
      lo = fmin(lo, y), hi = fmax(hi, y);
    }
    cr_expect_geq(lo, -1e-6, "%s down to %.3g mL/s", q[v], lo);
    cr_expect_gt(hi, 100, "%s peaks at %.3g mL/s", q[v], hi);
    run_free(&r);
  }
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s = NULL;
  mt_patient *pt = NULL;
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_patient_load(m, "healthy", &pt, err, sizeof err), 0);
  cr_assert_eq(mt_sim_create(m, &cfg, &s), 0);
  mt_series o;
  cr_assert_eq(mt_series_alloc(&o, m, 2), 0);
  o.t[0] = 7.5, o.t[1] = 15;
  cr_assert_eq(mt_sim_run(s, pt->param, NULL, NULL, NULL, 0, 15, &o), 0);
  cr_expect_eq(mt_sim_last_stats(s)->n_root, 8 * 20, "%ld events in 20 "
               "beats", mt_sim_last_stats(s)->n_root);
  mt_series_clear(&o);
  mt_sim_free(s);
  mt_patient_free(pt);
}

/* Each condition against the healthy adult, last beat of each. */
Test(circulation, conditions_change_the_right_way)
{
  run h, c;
  run_cond("healthy", MT_SOLVER_DOPRI5, &h);
  const mt_beat *H = last(&h);

  run_cond("hfref", MT_SOLVER_DOPRI5, &c);
  cr_expect_lt(last(&c)->ef_pct, H->ef_pct - 10, "HFrEF EF %.1f vs %.1f",
               last(&c)->ef_pct, H->ef_pct);
  cr_expect_lt(last(&c)->ef_pct, 40, "HFrEF EF %.1f", last(&c)->ef_pct);
  cr_expect_gt(last(&c)->edv_ml, H->edv_ml, "HFrEF EDV %.1f vs %.1f",
               last(&c)->edv_ml, H->edv_ml);
  run_free(&c);

  run_cond("hfpef", MT_SOLVER_DOPRI5, &c);
  cr_expect_gt(last(&c)->edp_mmhg, H->edp_mmhg + 1, "HFpEF EDP %.2f vs %.2f",
               last(&c)->edp_mmhg, H->edp_mmhg);
  cr_expect_geq(last(&c)->ef_pct, 50, "HFpEF EF %.1f", last(&c)->ef_pct);
  run_free(&c);

  run_cond("hypertension", MT_SOLVER_DOPRI5, &c);
  cr_expect_gt(last(&c)->map_mmhg, H->map_mmhg + 10, "MAP %.1f vs %.1f",
               last(&c)->map_mmhg, H->map_mmhg);
  run_free(&c);

  run_cond("hypovolaemia", MT_SOLVER_DOPRI5, &c);
  cr_expect_lt(last(&c)->co_lmin, H->co_lmin, "CO %.2f vs %.2f",
               last(&c)->co_lmin, H->co_lmin);
  cr_expect_lt(last(&c)->map_mmhg, H->map_mmhg, "MAP %.1f vs %.1f",
               last(&c)->map_mmhg, H->map_mmhg);
  run_free(&c);

  run_cond("overload", MT_SOLVER_DOPRI5, &c);
  cr_expect_gt(last(&c)->cvp_mmhg, H->cvp_mmhg, "CVP %.2f vs %.2f",
               last(&c)->cvp_mmhg, H->cvp_mmhg);
  cr_expect_gt(last(&c)->edv_ml, H->edv_ml, "EDV %.1f vs %.1f",
               last(&c)->edv_ml, H->edv_ml);
  run_free(&c);
  run_free(&h);
}

Test(circulation, conditions_by_name)
{
  const mt_model *m = model();
  const char *names[] = {"healthy", "hfref", "hfpef", "hypertension",
                         "hypovolaemia", "overload"};
  cr_assert_eq(m->patients->n, 6);
  for (int i = 0; i < 6; i++)
    cr_expect_str_eq(m->patients->name(i), names[i]);
  mt_patient *pt = NULL;
  char err[MT_ERRMSG_MAX];
  cr_expect_eq(mt_patient_load(m, "adult#001", &pt, err, sizeof err),
               MT_ENOTFOUND);
  cr_expect_null(pt);
}

/*
** The beat function on a synthetic trace with a known answer, period 0.8 s
** from t = 0.1 s, sampled every 1 ms from 0 to 2.5 s (two whole beats from
** 0.1: [0.1, 0.9), [0.9, 1.7); [1.7, 2.5] ends on the last sample and
** counts too). P_ao = 100 + 20 sin(w t'), V_lv = 100 + 30 cos(w t') (t' =
** t - 0.1), P_lv = V_lv / 10, P_vc = 5, P_pa = 15 - 8 cos(w t'): SBP 120,
** DBP 80, MAP 100, EDV 130, ESV 70, SV 60, EF 46.15 %, HR 75, CO 4.5,
** EDP 13, CVP 5, mPAP 15. Extremes on the 1 ms grid within 1e-3 of the
** peak (the grid hits the peaks of a period 800 samples long exactly up to
** rounding); averages (trapezoid over a whole period of a sinusoid) to
** 1e-9.
*/
Test(beats, synthetic_trace)
{
  const mt_model *m = model();
  mt_beat_cols c;
  cr_assert_eq(mt_beat_cols_find(m, &c), 0);
  int n = 2501;
  mt_series s;
  cr_assert_eq(mt_series_alloc(&s, m, n), 0);
  double w = 2 * acos(-1.0) / 0.8;
  for (int i = 0; i < n; i++) {
    double t = i * 1e-3, tp = t - 0.1, *y = s.y + (size_t)i * m->n_obs;
    s.t[i] = t;
    y[c.p_ao] = 100 + 20 * sin(w * tp);
    y[c.v_lv] = 100 + 30 * cos(w * tp);
    y[c.p_lv] = y[c.v_lv] / 10;
    y[c.p_vc] = 5;
    y[c.p_pa] = 15 - 8 * cos(w * tp);
  }
  mt_beat b[8];
  int nb = -1;
  cr_assert_eq(mt_beats_compute(&s, &c, 0.1, 0.8, b, 8, &nb), 0);
  cr_assert_eq(nb, 3);
  for (int k = 0; k < nb; k++) {
    cr_expect(fabs(b[k].t0_s - (0.1 + 0.8 * k)) < 1e-12);
    cr_expect(fabs(b[k].hr_bpm - 75) < 1e-9, "HR %.12f", b[k].hr_bpm);
    cr_expect(fabs(b[k].sbp_mmhg - 120) < 1e-3, "SBP %.9f", b[k].sbp_mmhg);
    cr_expect(fabs(b[k].dbp_mmhg - 80) < 1e-3, "DBP %.9f", b[k].dbp_mmhg);
    cr_expect(fabs(b[k].map_mmhg - 100) < 1e-9, "MAP %.12f", b[k].map_mmhg);
    cr_expect(fabs(b[k].edv_ml - 130) < 1e-3, "EDV %.9f", b[k].edv_ml);
    cr_expect(fabs(b[k].esv_ml - 70) < 1e-3, "ESV %.9f", b[k].esv_ml);
    cr_expect(fabs(b[k].sv_ml - 60) < 2e-3, "SV %.9f", b[k].sv_ml);
    cr_expect(fabs(b[k].ef_pct - 6000.0 / 130) < 1e-2, "EF %.6f",
              b[k].ef_pct);
    cr_expect(fabs(b[k].co_lmin - 4.5) < 1e-3, "CO %.6f", b[k].co_lmin);
    cr_expect(fabs(b[k].edp_mmhg - 13) < 1e-3, "EDP %.6f", b[k].edp_mmhg);
    cr_expect(fabs(b[k].cvp_mmhg - 5) < 1e-12, "CVP %.12f", b[k].cvp_mmhg);
    cr_expect(fabs(b[k].mpap_mmhg - 15) < 1e-9, "mPAP %.12f",
              b[k].mpap_mmhg);
  }
  /* A beat starting between samples: MAP over [0.1005, 0.9005) of the same
  ** sinusoid is still 100 (linear interpolation at both ends). */
  cr_assert_eq(mt_beats_compute(&s, &c, 0.1005, 0.8, b, 1, &nb), 0);
  cr_assert_eq(nb, 1);
  cr_expect(fabs(b[0].map_mmhg - 100) < 1e-6, "MAP %.12f", b[0].map_mmhg);
  /* The PV loop of the first beat: its 800 samples, in order. */
  double p[1000], v[1000];
  cr_expect_eq(mt_beat_pv_loop(&s, &c, 0.1, 0.9, p, v, 1000), 800);
  cr_expect(fabs(v[0] - 130) < 1e-9 && fabs(p[0] - 13) < 1e-9);
  cr_expect_eq(mt_beat_pv_loop(&s, &c, 0.1, 0.9, p, v, 10), 10);
  /* Bad arguments. */
  cr_expect_eq(mt_beats_compute(&s, &c, 0, 0, b, 8, &nb), MT_EINVAL);
  mt_beat_cols bad = c;
  bad.p_pa = m->n_obs;
  cr_expect_eq(mt_beats_compute(&s, &bad, 0, 0.8, b, 8, &nb), MT_EINVAL);
  s.t[5] = 0;
  cr_expect_eq(mt_beats_compute(&s, &c, 0, 0.8, b, 8, &nb), MT_EINVAL);
  cr_expect_eq(nb, 0);
  s.t[5] = 0.005;
  s.y[(size_t)7 * m->n_obs + c.p_ao] = NAN;
  cr_expect_eq(mt_beats_compute(&s, &c, 0, 0.8, b, 8, &nb), MT_EINVAL);
  mt_series_clear(&s);
  mt_beat_cols none;
  cr_expect_eq(mt_beat_cols_find(mt_model_find("uva_padova_t1d"), &none),
               MT_EINVAL);
}

/*
** Drug therapy (docs/models/circulation_smith2004.md, "Drug therapy"). A
** drug run starts from init() with chosen amounts in the PK compartments
** (ke = ka = 0 where a concentration is to stay fixed), lasts n beats of the
** period the drug gives (60 / HR_eff, computed by hand), sampled each DT.
*/
typedef struct drun {
  double p[CV_NP], x0[CV_NX], mem0[CV_NVALVE];
  mt_series o;
  mt_beat b[400];
  int nb;
} drun;

static void drun_init(drun *r)
{
  memset(r, 0, sizeof *r);
  memcpy(r->p, mt_circ_healthy, sizeof r->p);
}

/* Run r for t_end s (the state from init() plus the amounts already in
** r->x0's drug entries), measure beats of period T. */
static void drun_go(drun *r, const mt_schedule *sch, double t_end, double T)
{
  const mt_model *m = model();
  double drug[CV_NX], ub[CV_NU] = {0};
  memcpy(drug, r->x0, sizeof drug);
  cr_assert_eq(m->init(r->p, r->x0, r->mem0, ub), 0);
  for (int k = CV_BB_GUT; k <= CV_V_REM; k++)
    r->x0[k] = drug[k];
  int n = (int)floor(t_end / DT + 1e-9) + 1;
  cr_assert_eq(mt_series_alloc(&r->o, m, n), 0);
  for (int i = 0; i < n; i++)
    r->o.t[i] = fmin(i * DT, t_end);
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s = NULL;
  cr_assert_eq(mt_sim_create(m, &cfg, &s), 0);
  cr_assert_eq(mt_sim_run(s, r->p, r->x0, r->mem0, sch, 0, t_end, &r->o), 0,
               "%s", mt_sim_errmsg(s));
  mt_sim_free(s);
  mt_beat_cols c;
  cr_assert_eq(mt_beat_cols_find(m, &c), 0);
  cr_assert_eq(mt_beats_compute(&r->o, &c, 0, T, r->b, 400, &r->nb), 0);
  cr_assert(r->nb >= 1);
}

static double xat(const drun *r, int i, int k)
{
  return r->o.x[(size_t)i * CV_NX + (size_t)k];
}

static const mt_beat *dlast(const drun *r) { return &r->b[r->nb - 1]; }

/* Sigmoid Emax by hand. */
static double hill(double c, double emax, double ec50, double h)
{
  return emax * pow(c, h) / (pow(ec50, h) + pow(c, h));
}

/* A dose of zero (pulses of 0 on every input) leaves every sample bit for
** bit as the drug-free run: equal inputs merge into one segment and every
** effect is exactly 0 at a zero concentration. */
Test(drugs, zero_dose_changes_nothing)
{
  drun a, b;
  drun_init(&a), drun_init(&b);
  drun_go(&a, NULL, 30 * 0.75, 0.75);
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(CV_NU, &sch), 0);
  for (int k = 0; k < CV_NU; k++)
    cr_assert_eq(mt_schedule_pulse(sch, k, 1.0 + k, 60, 0.0, 0), 0);
  drun_go(&b, sch, 30 * 0.75, 0.75);
  mt_schedule_free(sch);
  size_t nx = (size_t)a.o.n * CV_NX, ny = (size_t)a.o.n * CV_NY;
  cr_expect_eq(memcmp(a.o.x, b.o.x, nx * sizeof(double)), 0);
  cr_expect_eq(memcmp(a.o.y, b.o.y, ny * sizeof(double)), 0);
  mt_series_clear(&a.o), mt_series_clear(&b.o);
}

/* Beta-blocker held at C = EC50 (ke = 0): HR falls by Emax_HR / 2 = 15 %,
** to 68 /min (the phase advances at exactly that rate), the free-wall Ees
** by 10 %; CO falls. The run matches a drug-free run with HR and Ees set
** to those values by hand (beat figures within 1e-6 relative). */
Test(drugs, beta_blocker_lowers_hr_and_co)
{
  drun base, bb, hand;
  drun_init(&base), drun_init(&bb), drun_init(&hand);
  drun_go(&base, NULL, 30 * 0.75, 0.75);
  bb.p[CV_BB_KE] = 0;
  bb.x0[CV_BB] = bb.p[CV_BB_EC50] * bb.p[CV_BB_V];
  double hr = 80 * (1 - 0.5 * bb.p[CV_BB_EMAX_HR]), T = 60 / hr;
  cr_assert(fabs(hr - 68) < 1e-12);
  drun_go(&bb, NULL, 30 * T, T);
  int n = bb.o.n - 1;
  double rate = xat(&bb, n, CV_PHI) / bb.o.t[n] * 60;
  cr_expect(fabs(rate - 68) < 1e-9, "phase rate %.12f /min", rate);
  cr_expect_lt(dlast(&bb)->co_lmin, dlast(&base)->co_lmin, "CO %.4f vs %.4f",
               dlast(&bb)->co_lmin, dlast(&base)->co_lmin);
  hand.p[CV_HR] = hr;
  hand.p[CV_EES_LVF] *= 1 - 0.5 * hand.p[CV_BB_EMAX_EES];
  hand.p[CV_EES_RVF] *= 1 - 0.5 * hand.p[CV_BB_EMAX_EES];
  drun_go(&hand, NULL, 30 * T, T);
  const mt_beat *x = dlast(&bb), *y = dlast(&hand);
  cr_expect(fabs(x->co_lmin / y->co_lmin - 1) < 1e-6, "CO %.8f vs %.8f",
            x->co_lmin, y->co_lmin);
  cr_expect(fabs(x->map_mmhg / y->map_mmhg - 1) < 1e-6, "MAP %.8f vs %.8f",
            x->map_mmhg, y->map_mmhg);
  cr_log_info("beta-blocker at EC50: HR 68, CO %.3f (drug-free %.3f) L/min",
              x->co_lmin, dlast(&base)->co_lmin);
  mt_series_clear(&base.o), mt_series_clear(&bb.o), mt_series_clear(&hand.o);
}

/* Vasodilator at C = EC50: R_sys falls by 15 %; MAP falls, SV and CO rise
** (no baroreflex: HR stays 80). */
Test(drugs, vasodilator_lowers_map_raises_sv)
{
  drun base, vd;
  drun_init(&base), drun_init(&vd);
  drun_go(&base, NULL, 30 * 0.75, 0.75);
  vd.p[CV_VD_KE] = 0;
  vd.x0[CV_VD] = vd.p[CV_VD_EC50] * vd.p[CV_VD_V];
  drun_go(&vd, NULL, 30 * 0.75, 0.75);
  const mt_beat *x = dlast(&vd), *y = dlast(&base);
  cr_expect_lt(x->map_mmhg, y->map_mmhg, "MAP %.3f vs %.3f", x->map_mmhg,
               y->map_mmhg);
  cr_expect_gt(x->sv_ml, y->sv_ml, "SV %.3f vs %.3f", x->sv_ml, y->sv_ml);
  cr_expect_gt(x->co_lmin, y->co_lmin);
  cr_log_info("vasodilator at EC50: MAP %.2f (%.2f), SV %.2f (%.2f) mL",
              x->map_mmhg, y->map_mmhg, x->sv_ml, y->sv_ml);
  mt_series_clear(&base.o), mt_series_clear(&vd.o);
}

/* Inotrope at a steady infusion r = 5.83 ug/s (5 ug/kg/min at 70 kg),
** started at its steady amount: C = r / (ke V) stays put (to 1e-9
** relative), Ees rises by Emax C^h / (EC50^h + C^h) (a drug-free run with
** Ees scaled so by hand agrees to 1e-6 in EF), and EF rises. */
Test(drugs, inotrope_steady_infusion_raises_ef)
{
  drun base, in, hand;
  drun_init(&base), drun_init(&in), drun_init(&hand);
  drun_go(&base, NULL, 30 * 0.75, 0.75);
  double r = 350.0 / 60, ke = in.p[CV_IN_KE] / 3600, V = in.p[CV_IN_V];
  double c = r / (ke * V);
  in.x0[CV_IN] = c * V;
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(CV_NU, &sch), 0);
  cr_assert_eq(mt_schedule_level(sch, CV_U_IN, 0, r), 0);
  drun_go(&in, sch, 30 * 0.75, 0.75);
  mt_schedule_free(sch);
  int n = in.o.n - 1;
  cr_expect(fabs(xat(&in, n, CV_IN) / V / c - 1) < 1e-9, "C %.9g vs %.9g",
            xat(&in, n, CV_IN) / V, c);
  double e = hill(c, in.p[CV_IN_EMAX], in.p[CV_IN_EC50], in.p[CV_IN_H]);
  hand.p[CV_EES_LVF] *= 1 + e;
  hand.p[CV_EES_RVF] *= 1 + e;
  drun_go(&hand, NULL, 30 * 0.75, 0.75);
  const mt_beat *x = dlast(&in), *y = dlast(&hand), *z = dlast(&base);
  cr_expect(fabs(x->ef_pct / y->ef_pct - 1) < 1e-6, "EF %.8f vs %.8f",
            x->ef_pct, y->ef_pct);
  cr_expect_gt(x->ef_pct, z->ef_pct, "EF %.3f vs %.3f", x->ef_pct, z->ef_pct);
  cr_log_info("inotrope C %.2f ug/L, effect %.4f, EF %.2f (drug-free %.2f)",
              c, e, x->ef_pct, z->ef_pct);
  mt_series_clear(&base.o), mt_series_clear(&in.o), mt_series_clear(&hand.o);
}

/* Oral time course: a dose put in the gut at t = 0 peaks in the central
** compartment at t_max = ln(ka/ke) / (ka - ke). With ka = 100 /h and
** ke = 20 /h (sped up so that the run stays short), t_max = ln 5 / 80 h =
** 72.42 s; the sampled peak lies within 2 ms of it. */
Test(drugs, oral_peak_at_tmax)
{
  drun bb;
  drun_init(&bb);
  bb.p[CV_BB_KA] = 100, bb.p[CV_BB_KE] = 20;
  bb.x0[CV_BB_GUT] = 100;
  drun_go(&bb, NULL, 120, 0.75);
  int best = 0;
  for (int i = 1; i < bb.o.n; i++)
    if (xat(&bb, i, CV_BB) > xat(&bb, best, CV_BB))
      best = i;
  double tmax = log(100.0 / 20) / 80 * 3600;
  cr_expect(fabs(bb.o.t[best] - tmax) <= 2e-3, "peak at %.4f s, t_max %.4f s",
            bb.o.t[best], tmax);
  cr_log_info("peak at %.4f s, t_max %.4f s", bb.o.t[best], tmax);
  mt_series_clear(&bb.o);
}

/* An oral dose given through the schedule (100 mg as a pulse over 60 s)
** ends up whole in gut + central (ke = 0) to 1e-9 relative. */
Test(drugs, oral_dose_through_schedule)
{
  drun vd;
  drun_init(&vd);
  vd.p[CV_VD_KE] = 0;
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(CV_NU, &sch), 0);
  cr_assert_eq(mt_schedule_pulse(sch, CV_U_VD, 0, 60, 100.0 / 60, 0), 0);
  drun_go(&vd, sch, 90, 0.75);
  mt_schedule_free(sch);
  int n = vd.o.n - 1;
  double tot = xat(&vd, n, CV_VD_GUT) + xat(&vd, n, CV_VD);
  cr_expect(fabs(tot / 100 - 1) < 1e-9, "amount %.12g mg", tot);
  mt_series_clear(&vd.o);
}

/* Diuretic held at C = EC50 with Emax 100 mL/min (raised to keep the run
** short): 50 mL/min leave the vena cava; after 120 s V_rem = 100 mL (1e-9
** relative), the six volumes + V_rem = V_tot at every sample (1e-12
** relative), and CVP and EDV are lower than drug-free. */
Test(drugs, diuretic_removes_volume)
{
  drun base, di;
  drun_init(&base), drun_init(&di);
  drun_go(&base, NULL, 120, 0.75);
  di.p[CV_DI_KE] = 0, di.p[CV_DI_EMAX] = 100;
  di.p[CV_DI_KREF] = 0; /* removal alone: refill is checked below */
  di.x0[CV_DI] = di.p[CV_DI_EC50] * di.p[CV_DI_V];
  drun_go(&di, NULL, 120, 0.75);
  int n = di.o.n - 1;
  cr_expect(fabs(xat(&di, n, CV_V_REM) / 100 - 1) < 1e-9, "removed %.12g",
            xat(&di, n, CV_V_REM));
  double worst = 0;
  for (int i = 0; i < di.o.n; i++) {
    double s = xat(&di, i, CV_V_REM);
    for (int k = CV_V_LV; k <= CV_V_PU; k++)
      s += xat(&di, i, k);
    worst = fmax(worst, fabs(s / 1500 - 1));
  }
  cr_expect_leq(worst, 1e-12, "bookkeeping drift %.3g", worst);
  const mt_beat *x = dlast(&di), *y = dlast(&base);
  cr_expect_lt(x->cvp_mmhg, y->cvp_mmhg, "CVP %.3f vs %.3f", x->cvp_mmhg,
               y->cvp_mmhg);
  cr_expect_lt(x->edv_ml, y->edv_ml, "EDV %.3f vs %.3f", x->edv_ml, y->edv_ml);
  cr_log_info("diuretic 100 mL: CVP %.3f (%.3f), EDV %.2f (%.2f), drift %.2g",
              x->cvp_mmhg, y->cvp_mmhg, x->edv_ml, y->edv_ml, worst);
  mt_series_clear(&base.o), mt_series_clear(&di.o);
}

/* Refill: with no diuretic in the body, a removed volume returns at the rate
** constant di_k_refill, dV_rem/dt = -k V_rem, so 100 mL removed become
** 100 exp(-k t) (closed form; k = 1/6 per hour, t = 120 s, to 1e-7
** relative with rtol 1e-8), the returned volume going to the vena cava:
** the six volumes + V_rem keep their sum (1e-12 relative). */
Test(drugs, removed_volume_refills)
{
  drun r;
  drun_init(&r);
  r.x0[CV_V_REM] = 100;
  drun_go(&r, NULL, 120, 0.75);
  int n = r.o.n - 1;
  double want = 100 * exp(-120.0 / 3600 / 6);
  cr_expect(fabs(xat(&r, n, CV_V_REM) / want - 1) < 1e-7, "V_rem %.12g, "
            "want %.12g", xat(&r, n, CV_V_REM), want);
  double worst = 0;
  for (int i = 0; i < r.o.n; i++) {
    double s = xat(&r, i, CV_V_REM);
    for (int k = CV_V_LV; k <= CV_V_PU; k++)
      s += xat(&r, i, k);
    worst = fmax(worst, fabs(s / 1600 - 1));
  }
  cr_expect_leq(worst, 1e-12, "bookkeeping drift %.3g", worst);
  mt_series_clear(&r.o);
}

/*
** Baroreflex (docs/models/circulation_smith2004.md, section 10). A reflex
** run starts from init() (P_baro at the set point), lasts 120 s, sampled each
** DT, measured beat by beat on the phase state (the heart rate changes); the
** figures are the mean of the last 10 beats. The expected directions are
** the physiology of the arterial baroreflex (Ursino 1998): a fall in
** pressure raises heart rate and resistance, which buffers the fall.
*/
#define BARO_T 120.0

typedef struct bsum {
  double hr, map, co, ef, rsys, sbp, dbp;
} bsum;

static void baro_go(drun *r, bsum *o)
{
  const mt_model *m = model();
  drun_go(r, NULL, BARO_T, 0.75);
  mt_beat_cols c;
  cr_assert_eq(mt_beat_cols_find(m, &c), 0);
  cr_assert_eq(mt_beats_by_phase(m, &r->o, &c, r->b, 400, &r->nb), 0);
  cr_assert(r->nb > 20, "%d beats", r->nb);
  memset(o, 0, sizeof *o);
  for (int j = r->nb - 10; j < r->nb; j++) {
    o->hr += r->b[j].hr_bpm / 10, o->map += r->b[j].map_mmhg / 10;
    o->co += r->b[j].co_lmin / 10, o->ef += r->b[j].ef_pct / 10;
    o->sbp += r->b[j].sbp_mmhg / 10, o->dbp += r->b[j].dbp_mmhg / 10;
  }
  /* The effective resistance at the end, from the observables: Q_sys =
  ** (P_ao - P_vc) / R_sys,eff. */
  int n = r->o.n - 1;
  const double *y = &r->o.y[(size_t)n * CV_NY];
  o->rsys = (y[CV_Y_P_AO] - y[CV_Y_P_VC]) / y[CV_Y_Q_SYS];
}

/* Off (the default), the reflex changes nothing: with baro_on = 0, the
** largest gains and the steepest sigmoid (which, on, would move HR and
** R_sys even at the small start-up deviations) give every observable bit
** for bit as the defaults. */
Test(baroreflex, off_by_default)
{
  cr_expect_eq(mt_circ_healthy[CV_BARO_ON], 0);
  drun a, b;
  drun_init(&a), drun_init(&b);
  b.p[CV_BARO_G_HR] = 1, b.p[CV_BARO_G_R] = 1, b.p[CV_BARO_K] = 1;
  drun_go(&a, NULL, 10 * 0.75, 0.75);
  drun_go(&b, NULL, 10 * 0.75, 0.75);
  size_t ny = (size_t)a.o.n * CV_NY;
  cr_expect_eq(memcmp(a.o.y, b.o.y, ny * sizeof(double)), 0);
  mt_series_clear(&a.o), mt_series_clear(&b.o);
}

/* Healthy, reflex on, no perturbation: the set point is this model's
** healthy MAP, so HR stays within 1 /min of 80, R_sys within 1 % of its
** set value, MAP within 1 mmHg of the 97.8 mmHg set point, and the normal
** adult ranges of the circulation suite hold (SBP 100-140, DBP 60-90, CO
** 4-8 L/min, EF 55-70 %). */
Test(baroreflex, healthy_stays_at_set_point)
{
  drun r;
  bsum o;
  drun_init(&r);
  r.p[CV_BARO_ON] = 1;
  baro_go(&r, &o);
  cr_expect(fabs(o.hr - 80) < 1, "HR %.3f", o.hr);
  cr_expect(fabs(o.rsys / r.p[CV_R_SYS] - 1) < 0.01, "R_sys %.5f", o.rsys);
  cr_expect(fabs(o.map - r.p[CV_BARO_PSET]) < 1, "MAP %.3f", o.map);
  cr_expect(o.sbp >= 100 && o.sbp <= 140, "SBP %.2f", o.sbp);
  cr_expect(o.dbp >= 60 && o.dbp <= 90, "DBP %.2f", o.dbp);
  cr_expect(o.co >= 4 && o.co <= 8, "CO %.3f", o.co);
  cr_expect(o.ef >= 55 && o.ef <= 70, "EF %.2f", o.ef);
  cr_log_info("reflex on, healthy: HR %.2f, MAP %.2f, CO %.3f, EF %.2f",
              o.hr, o.map, o.co, o.ef);
  mt_series_clear(&r.o);
}

/* Vasodilator at C = EC50 (R_sys x 0.85): with the reflex HR rises (reflex
** tachycardia, at least 5 /min) and MAP falls less than without it. */
Test(baroreflex, vasodilator_reflex_tachycardia)
{
  drun off, on;
  bsum a, b;
  drun_init(&off), drun_init(&on);
  on.p[CV_BARO_ON] = 1;
  for (drun *r = &off; r; r = r == &off ? &on : NULL) {
    r->p[CV_VD_KE] = 0;
    r->x0[CV_VD] = r->p[CV_VD_EC50] * r->p[CV_VD_V];
  }
  baro_go(&off, &a);
  baro_go(&on, &b);
  cr_expect(fabs(a.hr - 80) < 1e-6, "HR without the reflex %.6f", a.hr);
  cr_expect_gt(b.hr, 85, "HR with the reflex %.3f", b.hr);
  double fall_off = 97.8 - a.map, fall_on = 97.8 - b.map;
  cr_expect_gt(fall_off, 0);
  cr_expect_lt(fall_on, fall_off, "MAP fall %.3f with, %.3f without",
               fall_on, fall_off);
  cr_log_info("vasodilator: HR %.2f (%.2f without), MAP %.2f (%.2f)", b.hr,
              a.hr, b.map, a.map);
  mt_series_clear(&off.o), mt_series_clear(&on.o);
}

/* Haemorrhage-like loss: every stressed volume (and the filling flows)
** scaled to 80 % at t = 0 (300 mL of 1500). With the reflex HR and the
** effective R_sys rise above their set values (HR by at least 3 /min,
** R_sys by at least 3 %), and MAP ends higher than without the reflex. */
Test(baroreflex, volume_loss_raises_hr_and_resistance)
{
  drun off, on;
  bsum a, b;
  drun_init(&off), drun_init(&on);
  on.p[CV_BARO_ON] = 1;
  off.p[CV_V_TOT] = on.p[CV_V_TOT] = 1200;
  baro_go(&off, &a);
  baro_go(&on, &b);
  cr_expect_gt(b.hr, 83, "HR %.3f", b.hr);
  cr_expect_gt(b.rsys, 1.03 * on.p[CV_R_SYS], "R_sys %.4f", b.rsys);
  cr_expect_gt(b.map, a.map, "MAP %.3f with, %.3f without", b.map, a.map);
  cr_log_info("V_tot 1200 mL: HR %.2f, R_sys %.4f, MAP %.2f (%.2f without)",
              b.hr, b.rsys, b.map, a.map);
  mt_series_clear(&off.o), mt_series_clear(&on.o);
}
