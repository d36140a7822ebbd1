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
#include "medtwin/sim.h"

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
