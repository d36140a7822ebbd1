/*
** circulation_beatavg, the beat-averaged circulation, against the
** beat-resolved circulation_smith2004 it was calibrated on. Reference
** values come from beat-resolved runs made here (40 beats from init(),
** sampled every 1 ms, DOPRI5 at rtol = atol = 1e-8, the last beat measured
** with medtwin/beats.h), never from this model's own output. The error
** bounds ERR_* are the held-out maxima of bench/beatavg_calibrate rounded
** up (docs/models/circulation_beatavg.md, "Calibration").
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/beats.h"
#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/prior.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "models/circulation.h"
#include "models/circulation_beatavg.h"

/* Held-out maxima (bench/beatavg_calibrate: MAP 2.75, SBP 2.57, DBP 2.79
** mmHg, CO 0.096 L/min, EF 1.08 %, EDV 1.93 mL, CVP 0.89 mmHg), rounded
** up. */
#define N_OBS 7
static const char *const names[N_OBS] = {"MAP", "SBP", "DBP", "CO",
                                         "EF", "EDV", "CVP"};
static const double bound[N_OBS] = {3, 3, 3, 0.1, 1.1, 2, 0.9};

static const mt_model *ba(void)
{
  const mt_model *m = mt_model_find("circulation_beatavg");
  cr_assert_not_null(m);
  return m;
}

/* The last of 40 beats of smith2004 with parameters ps: MAP, SBP, DBP,
** CO, EF, EDV, CVP. */
static void beat_resolved(const double *ps, double *y)
{
  const mt_model *sm = &mt_model_circulation_smith2004;
  double T = 60 / ps[CV_HR], t_end = 40 * T;
  int n = (int)floor(t_end / 1e-3 + 1e-9) + 1;
  mt_series o;
  cr_assert_eq(mt_series_alloc(&o, sm, n), 0);
  for (int i = 0; i < n; i++)
    o.t[i] = fmin(i * 1e-3, t_end);
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s = NULL;
  cr_assert_eq(mt_sim_create(sm, &cfg, &s), 0);
  cr_assert_eq(mt_sim_run(s, ps, NULL, NULL, NULL, 0, t_end, &o), 0, "%s",
               mt_sim_errmsg(s));
  mt_sim_free(s);
  mt_beat_cols c;
  mt_beat b[40];
  int nb = 0;
  cr_assert_eq(mt_beat_cols_find(sm, &c), 0);
  cr_assert_eq(mt_beats_compute(&o, &c, 0, T, b, 40, &nb), 0);
  cr_assert_geq(nb, 39);
  const mt_beat *l = &b[nb - 1];
  y[0] = l->map_mmhg, y[1] = l->sbp_mmhg, y[2] = l->dbp_mmhg;
  y[3] = l->co_lmin, y[4] = l->ef_pct, y[5] = l->edv_ml, y[6] = l->cvp_mmhg;
  mt_series_clear(&o);
}

/* The beat-averaged observables (all BA_NY) at state x, HR_obs hr_obs. */
static void averaged_at(const double *p, const double *x, double hr_obs,
                        double *y)
{
  double mem[1] = {hr_obs};
  ba()->observe(0, x, p, mem, y);
}

static void averaged(const double *p, double *y)
{
  double x0[BA_NX], mem[1], u[BA_NU];
  cr_assert_eq(ba()->init(p, x0, mem, u), 0);
  averaged_at(p, x0, 0, y);
}

static void pick(const double *yb, double *y7)
{
  static const int k[N_OBS] = {BA_Y_MAP, BA_Y_SBP, BA_Y_DBP, BA_Y_CO,
                               BA_Y_EF, BA_Y_EDV, BA_Y_CVP};
  for (int i = 0; i < N_OBS; i++)
    y7[i] = yb[k[i]];
}

static void load(const mt_model *m, const char *who, double *p)
{
  mt_patient *pt = NULL;
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_patient_load(m, who, &pt, err, sizeof err), 0, "%s: %s",
               who, err);
  memcpy(p, pt->param, sizeof(double) * (size_t)m->n_param);
  mt_patient_free(pt);
}

Test(circulation_beatavg, model_check)
{
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_model_check(ba(), err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(ba()->time_unit, "min");
  /* Exactly these estimable parameters (the interface). */
  const char *est[4] = {"Ees_lvf", "lambda_lvf", "R_sys", "V_tot"};
  int n = 0;
  for (int i = 0; i < ba()->n_param; i++)
    if (ba()->param[i].flags & MT_VAR_ESTIMABLE)
      cr_assert_str_eq(ba()->param[i].name, est[n++]);
  cr_assert_eq(n, 4);
}

/* The healthy adult within the calibration error of smith2004's healthy
** beat (SBP 116.5, DBP 79.0, CO 5.28, EF 59.1 on main), computed here. */
Test(circulation_beatavg, healthy_matches_beat_resolved)
{
  double ps[CV_NP], pb[BA_NP], yr[N_OBS], yb[BA_NY], ya[N_OBS];
  load(&mt_model_circulation_smith2004, "healthy", ps);
  load(ba(), "healthy", pb);
  beat_resolved(ps, yr);
  averaged(pb, yb);
  pick(yb, ya);
  for (int k = 0; k < N_OBS; k++)
    cr_expect_leq(fabs(ya[k] - yr[k]), bound[k], "%s %.3f beat-resolved %.3f",
                  names[k], ya[k], yr[k]);
  /* The beat's own arithmetic. */
  cr_expect(fabs(yb[BA_Y_SV] - (yb[BA_Y_EDV] - yb[BA_Y_ESV])) < 1e-9);
  cr_expect(fabs(yb[BA_Y_CO] - yb[BA_Y_SV] * 80 / 1000) < 1e-12);
  cr_expect(fabs(yb[BA_Y_WEIGHT] - 75) < 1e-12);
}

/*
** Each condition moves MAP, CO, EF and EDV from the healthy values the way
** smith2004 does: where smith2004's change exceeds 1 mmHg, 0.1 L/min, 1 %
** or 1 mL, the same sign; where it is smaller, this model's change within
** the calibration bound.
*/
Test(circulation_beatavg, conditions_move_as_beat_resolved)
{
  static const int ko[4] = {0, 3, 4, 5};
  static const double small[4] = {1, 0.1, 1, 1};
  double ps[CV_NP], pb[BA_NP], r0[N_OBS], a0[N_OBS], yb[BA_NY];
  load(&mt_model_circulation_smith2004, "healthy", ps);
  load(ba(), "healthy", pb);
  beat_resolved(ps, r0);
  averaged(pb, yb);
  pick(yb, a0);
  const char *cond[5] = {"hfref", "hfpef", "hypertension", "hypovolaemia",
                         "overload"};
  for (int c = 0; c < 5; c++) {
    double r[N_OBS], a[N_OBS];
    load(&mt_model_circulation_smith2004, cond[c], ps);
    load(ba(), cond[c], pb);
    beat_resolved(ps, r);
    averaged(pb, yb);
    pick(yb, a);
    for (int i = 0; i < 4; i++) {
      int k = ko[i];
      double dr = r[k] - r0[k], da = a[k] - a0[k];
      if (fabs(dr) > small[i])
        cr_expect(dr * da > 0, "%s %s: beat-resolved %+.3f, averaged %+.3f",
                  cond[c], names[k], dr, da);
      else
        cr_expect_leq(fabs(da), bound[k], "%s %s: %+.3f", cond[c], names[k],
                      da);
    }
  }
  /* The named directions of issue 10: HFrEF lowers EF and raises EDV. */
  double h[BA_NY], f[BA_NY];
  load(ba(), "healthy", pb);
  averaged(pb, h);
  load(ba(), "hfref", pb);
  averaged(pb, f);
  cr_expect_lt(f[BA_Y_EF], h[BA_Y_EF] - 10);
  cr_expect_gt(f[BA_Y_EDV], h[BA_Y_EDV]);
}

/* Three held-out points of bench/beatavg_calibrate's design (numbers 9, 25
** and 33 of its output: factors on the healthy Ees_lvf, R_sys, V_tot,
** lambda_lvf, HR), run beat-resolved here. */
Test(circulation_beatavg, held_out_points_within_bound)
{
  static const double pt[3][5] = {
    {1.63994, 1.1388, 1650.59, 0.0384653, 68.2933},
    {3.33586, 0.907678, 1302.43, 0.0332943, 75.365},
    {1.21812, 1.42324, 1414.37, 0.0364859, 68.1471},
  };
  for (int j = 0; j < 3; j++) {
    double ps[CV_NP], pb[BA_NP], yr[N_OBS], yb[BA_NY], ya[N_OBS];
    load(&mt_model_circulation_smith2004, "healthy", ps);
    load(ba(), "healthy", pb);
    ps[CV_EES_LVF] = pb[BA_EES_LVF] = pt[j][0];
    ps[CV_R_SYS] = pb[BA_R_SYS] = pt[j][1];
    ps[CV_V_TOT] = pb[BA_V_TOT] = pt[j][2];
    ps[CV_LAM_LVF] = pb[BA_LAM_LVF] = pt[j][3];
    ps[CV_HR] = pb[BA_HR] = pt[j][4];
    beat_resolved(ps, yr);
    averaged(pb, yb);
    pick(yb, ya);
    for (int k = 0; k < N_OBS; k++)
      cr_expect_leq(fabs(ya[k] - yr[k]), bound[k],
                    "point %d %s %.3f beat-resolved %.3f", j, names[k], ya[k],
                    yr[k]);
  }
}

/* The steady circulation does not depend on the Newton's warm start, bit
** for bit (the solution is rounded to a grid and polished, see
** mt_beatavg_solve). */
Test(circulation_beatavg, solution_independent_of_warm_start)
{
  double pb[BA_NP], x0[BA_NX], mem[1], u[BA_NU], y0[BA_NY], y1[BA_NY];
  const char *who[3] = {"healthy", "hfref", "overload"};
  const double guess[4][2] = {{40, -2}, {150, 8}, {89.9, 1.2}, {10, 20}};
  for (int w = 0; w < 3; w++) {
    load(ba(), who[w], pb);
    cr_assert_eq(ba()->init(pb, x0, mem, u), 0);
    cr_assert_eq(mt_beatavg_solve(x0, pb, 0, NULL, y0), 0);
    for (int g = 0; g < 4; g++) {
      double z[2] = {guess[g][0], guess[g][1]};
      cr_assert_eq(mt_beatavg_solve(x0, pb, 0, z, y1), 0);
      cr_expect_eq(memcmp(y0, y1, sizeof y0), 0, "%s guess %d", who[w], g);
    }
  }
}

/*
** Drugs at their central amounts (concentration = EC50, so each effect is
** half its Emax), directions as smith2004's tests find them: the
** beta-blocker lowers HR (to 80 (1 - 0.3/2) = 68 /min exactly) and CO; with
** HR_obs given, HR is HR_obs and only the contractility effect acts (EF
** falls); the vasodilator lowers MAP; the inotrope raises EF.
*/
Test(circulation_beatavg, drug_directions)
{
  double pb[BA_NP], x0[BA_NX], mem[1], u[BA_NU], y0[BA_NY], y[BA_NY];
  load(ba(), "healthy", pb);
  cr_assert_eq(ba()->init(pb, x0, mem, u), 0);
  averaged_at(pb, x0, 0, y0);
  double x[BA_NX];
  memcpy(x, x0, sizeof x);
  x[BA_BB] = pb[BA_BB_EC50] * pb[BA_BB_V];
  averaged_at(pb, x, 0, y);
  cr_expect(fabs(y[BA_Y_HR] - 68) < 1e-12, "HR %.15g", y[BA_Y_HR]);
  cr_expect_lt(y[BA_Y_CO], y0[BA_Y_CO]);
  averaged_at(pb, x, 75, y);
  cr_expect_eq(y[BA_Y_HR], 75);
  cr_expect_lt(y[BA_Y_EF], y0[BA_Y_EF]);
  memcpy(x, x0, sizeof x);
  x[BA_VD] = pb[BA_VD_EC50] * pb[BA_VD_V];
  averaged_at(pb, x, 0, y);
  cr_expect_lt(y[BA_Y_MAP], y0[BA_Y_MAP] - 1);
  memcpy(x, x0, sizeof x);
  x[BA_IN] = pb[BA_IN_EC50] * pb[BA_IN_V];
  averaged_at(pb, x, 0, y);
  cr_expect_gt(y[BA_Y_EF], y0[BA_Y_EF] + 1);
}

/*
** PK per minute: an oral dose D of metoprolol over 1 min; at t = 240 min
** the central amount equals the one-compartment (Bateman) solution with
** smith2004's ka = 1 /h, ke = 0.198 /h, to 1e-6 relative (a 1-min
** infusion rather than a bolus: the solution integrated over the minute).
** The diuretic: 40 mg furosemide removes stressed volume; after 24 h V_rem
** > 0, EDV and CVP fall and weight falls by V_rem / 1000 / f_iv kg.
*/
Test(circulation_beatavg, pk_and_diuretic)
{
  const mt_model *m = ba();
  double pb[BA_NP];
  load(m, "healthy", pb);
  pb[BA_DI_KREF] = 0; /* removal alone: refill is checked below */
  mt_schedule *sch;
  cr_assert_eq(mt_schedule_create(m->n_input, &sch), 0);
  cr_assert_eq(mt_schedule_pulse(sch, BA_U_BB, 0, 1, 50, 0), 0);
  cr_assert_eq(mt_schedule_pulse(sch, BA_U_DI, 0, 1, 40, 0), 0);
  mt_series o;
  cr_assert_eq(mt_series_alloc(&o, m, 3), 0);
  o.t[0] = 0, o.t[1] = 240, o.t[2] = 1440;
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s;
  cr_assert_eq(mt_sim_create(m, &cfg, &s), 0);
  cr_assert_eq(mt_sim_run(s, pb, NULL, NULL, sch, 0, 1440, &o), 0, "%s",
               mt_sim_errmsg(s));
  double ka = 1.0 / 60, ke = 0.198 / 60, t = 240;
  /* Rate 50 mg/min over [0, 1]: the amount is the bolus response
  ** integrated over the dose time s in [0, 1]. */
  double ref = 50 * ka / (ke - ka) *
               ((exp(-ka * t) * (exp(ka) - 1) / ka) -
                (exp(-ke * t) * (exp(ke) - 1) / ke));
  double abb = o.x[1 * BA_NX + BA_BB];
  cr_expect_leq(fabs(abb / ref - 1), 1e-6, "A_bb %.10g Bateman %.10g", abb,
                ref);
  const double *y0 = &o.y[0], *y2 = &o.y[2 * BA_NY];
  double vrem = o.x[2 * BA_NX + BA_V_REM];
  cr_expect_gt(vrem, 10, "V_rem %.3f mL", vrem);
  cr_expect_lt(y2[BA_Y_EDV], y0[BA_Y_EDV]);
  cr_expect_lt(y2[BA_Y_CVP], y0[BA_Y_CVP]);
  cr_expect(fabs(y0[BA_Y_WEIGHT] - y2[BA_Y_WEIGHT] -
                 vrem / 1000 / pb[BA_F_IV]) < 1e-12);
  mt_sim_free(s);
  mt_series_clear(&o);
  mt_schedule_free(sch);
}

/* Refill: 100 mL removed and no diuretic in the body return at the rate
** constant di_k_refill (1/360 per min): V_rem = 100 exp(-t / 360) (closed
** form, to 1e-6 relative at 1 and 24 h), and EDV and weight rise back. */
Test(circulation_beatavg, removed_volume_refills)
{
  const mt_model *m = ba();
  double pb[BA_NP], x0[BA_NX], mem[16], ub[BA_NU];
  load(m, "healthy", pb);
  cr_assert_eq(m->init(pb, x0, mem, ub), 0);
  x0[BA_V_REM] = 100;
  mt_series o;
  cr_assert_eq(mt_series_alloc(&o, m, 3), 0);
  o.t[0] = 0, o.t[1] = 60, o.t[2] = 1440;
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s;
  cr_assert_eq(mt_sim_create(m, &cfg, &s), 0);
  cr_assert_eq(mt_sim_run(s, pb, x0, mem, NULL, 0, 1440, &o), 0, "%s",
               mt_sim_errmsg(s));
  for (int i = 1; i < 3; i++) {
    double want = 100 * exp(-o.t[i] / 360);
    cr_expect_leq(fabs(o.x[i * BA_NX + BA_V_REM] / want - 1), 1e-6,
                  "t %g: V_rem %.10g, want %.10g", o.t[i],
                  o.x[i * BA_NX + BA_V_REM], want);
  }
  cr_expect_gt(o.y[2 * BA_NY + BA_Y_EDV], o.y[BA_Y_EDV]);
  cr_expect_gt(o.y[2 * BA_NY + BA_Y_WEIGHT], o.y[BA_Y_WEIGHT]);
  mt_sim_free(s);
  mt_series_clear(&o);
}

/* Drift: drift_Ees = -0.002 /day for 365 days gives f_Ees = exp(-0.73)
** (analytic: d f/dt = drift f / 1440) to 1e-6 relative, and EF falls;
** drift_V = 2 mL/day adds 730 mL (to 1e-6 mL). */
Test(circulation_beatavg, drift_a_year)
{
  const mt_model *m = ba();
  double pb[BA_NP];
  load(m, "healthy", pb);
  pb[BA_DRIFT_EES] = -0.002;
  pb[BA_DRIFT_V] = 2;
  mt_series o;
  cr_assert_eq(mt_series_alloc(&o, m, 2), 0);
  o.t[0] = 0, o.t[1] = 525600;
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s;
  cr_assert_eq(mt_sim_create(m, &cfg, &s), 0);
  cr_assert_eq(mt_sim_run(s, pb, NULL, NULL, NULL, 0, 525600, &o), 0, "%s",
               mt_sim_errmsg(s));
  double f = o.x[BA_NX + BA_F_EES];
  cr_expect_leq(fabs(f / exp(-0.73) - 1), 1e-6, "f_Ees %.12g", f);
  cr_expect_leq(fabs(o.x[BA_NX + BA_V_GAIN] - 730), 1e-6);
  pb[BA_DRIFT_V] = 0;
  mt_sim_run(s, pb, NULL, NULL, NULL, 0, 525600, &o);
  cr_expect_lt(o.y[BA_NY + BA_Y_EF], o.y[BA_Y_EF] - 5, "EF %.2f -> %.2f",
               o.y[BA_Y_EF], o.y[BA_NY + BA_Y_EF]);
  mt_sim_free(s);
  mt_series_clear(&o);
}

/* adult#001..#040: every member plausible (MAP 55-130 mmHg, CO 2-9 L/min,
** EF 15-75 %), the same vector on a second load, and a prior fits. */
Test(circulation_beatavg, population_plausible_and_prior_fits)
{
  const mt_model *m = ba();
  cr_assert_eq(m->patients->n, 46);
  for (int i = 1; i <= 40; i++) {
    char who[16];
    snprintf(who, sizeof who, "adult#%03d", i);
    double p[BA_NP], q[BA_NP], y[BA_NY];
    load(m, who, p);
    load(m, who, q);
    cr_expect_eq(memcmp(p, q, sizeof p), 0);
    averaged(p, y);
    cr_expect(y[BA_Y_MAP] >= 55 && y[BA_Y_MAP] <= 130, "%s MAP %.2f", who,
              y[BA_Y_MAP]);
    cr_expect(y[BA_Y_CO] >= 2 && y[BA_Y_CO] <= 9, "%s CO %.3f", who,
              y[BA_Y_CO]);
    cr_expect(y[BA_Y_EF] >= 15 && y[BA_Y_EF] <= 75, "%s EF %.2f", who,
              y[BA_Y_EF]);
  }
  mt_prior *pr = NULL;
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_prior_fit(m, "adult", NULL, &pr, err, sizeof err), 0, "%s",
               err);
  cr_expect_eq(mt_prior_n(pr), 4);
  cr_expect_eq(mt_prior_n_members(pr), 40);
  mt_prior_free(pr);
}

/* Every corner and centre of a 5^5 grid over the calibration design's box
** (factors on the healthy Ees_lvf 0.4-1.3, R_sys 0.8-1.5, V_tot 2/3-4/3,
** lambda_lvf 1-1.35, HR 60-100 /min) has a steady state with SV, ESV > 0. */
Test(circulation_beatavg, solves_over_the_design_box)
{
  static const int idx[5] = {BA_EES_LVF, BA_R_SYS, BA_V_TOT, BA_LAM_LVF,
                             BA_HR};
  static const double lo[5] = {0.4, 0.8, 2.0 / 3, 1.0, 0.75};
  static const double hi[5] = {1.3, 1.5, 4.0 / 3, 1.35, 1.25};
  int bad = 0;
  for (int g = 0; g < 3125; g++) {
    double p[BA_NP], x0[BA_NX], mem[1], u[BA_NU], y[BA_NY];
    memcpy(p, mt_beatavg_healthy, sizeof p);
    for (int k = 0, r = g; k < 5; k++, r /= 5)
      p[idx[k]] *= lo[k] + (hi[k] - lo[k]) * (r % 5) / 4.0;
    if (ba()->init(p, x0, mem, u) ||
        mt_beatavg_solve(x0, p, 0, NULL, y) || !(y[BA_Y_SV] > 0) ||
        !(y[BA_Y_ESV] > 0))
      bad++;
  }
  cr_expect_eq(bad, 0, "%d of 3125 grid points without a steady state", bad);
}

/* HR_obs through a schedule: a level of 70 /min from t = 10 min is the
** heart rate of the samples from then on (on_input keeps it in the
** discrete memory for observe), 80 /min before, and 0 returns to the
** model's own rate. */
Test(circulation_beatavg, hr_obs_from_a_schedule)
{
  const mt_model *m = ba();
  double pb[BA_NP];
  load(m, "healthy", pb);
  mt_schedule *sch;
  cr_assert_eq(mt_schedule_create(m->n_input, &sch), 0);
  cr_assert_eq(mt_schedule_level(sch, BA_U_HR, 10, 70), 0);
  cr_assert_eq(mt_schedule_level(sch, BA_U_HR, 20, 0), 0);
  mt_series o;
  cr_assert_eq(mt_series_alloc(&o, m, 3), 0);
  o.t[0] = 5, o.t[1] = 15, o.t[2] = 25;
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s;
  cr_assert_eq(mt_sim_create(m, &cfg, &s), 0);
  cr_assert_eq(mt_sim_run(s, pb, NULL, NULL, sch, 0, 30, &o), 0, "%s",
               mt_sim_errmsg(s));
  cr_expect_eq(o.y[BA_Y_HR], 80);
  cr_expect_eq(o.y[BA_NY + BA_Y_HR], 70);
  cr_expect_eq(o.y[2 * BA_NY + BA_Y_HR], 80);
  cr_expect_lt(o.y[BA_NY + BA_Y_CO], o.y[BA_Y_CO]);
  mt_sim_free(s);
  mt_series_clear(&o);
  mt_schedule_free(sch);
}
