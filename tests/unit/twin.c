/*
** The live twin on a synthetic day of adult#003, who is left out of the
** prior: quarantine rules, determinism for a seed, causality (a forecast
** depends only on data up to its time), the analysis moving the ensemble
** towards each reading, and well-formed forecasts and alerts.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/sim.h"
#include "medtwin/twin.h"

#define NT 481 /* 8 h every minute */

/* The data of a day: basal at 0, a 60 g meal with its 6 U bolus at 60 min,
** noise-free CGM of adult#003 every 5 min, arrival order. */
/* adult#003's true course every minute over [0, t_end] from steady state,
** with a bolus of `bolus` U at 60 min and, when grams > 0, a meal eaten over
** 60-75 min. */
static void true_course(double grams, double bolus, int t_end, mt_series *o)
{
  char err[MT_ERRMSG_MAX];
  const mt_model *m = mt_model_find("uva_padova_t1d");
  mt_patient *pt;
  cr_assert_eq(mt_patient_load(m, "adult#003", &pt, err, sizeof err), 0);
  mt_schedule *sch;
  cr_assert_eq(mt_schedule_create(m->n_input, &sch), 0);
  if (grams > 0)
    cr_assert_eq(mt_schedule_pulse(sch, 0, 60, 75, grams / 15,
                                   MT_PULSE_BITES), 0);
  cr_assert_eq(mt_schedule_pulse(sch, 1, 60, 61, bolus, 0), 0);
  cr_assert_eq(mt_series_alloc(o, m, t_end + 1), 0);
  for (int k = 0; k <= t_end; k++)
    o->t[k] = k;
  mt_sim *s;
  cr_assert_eq(mt_sim_create(m, NULL, &s), 0);
  cr_assert_eq(mt_sim_run(s, pt->param, NULL, NULL, sch, 0, t_end, o), 0);
  mt_sim_free(s);
  mt_schedule_free(sch);
  mt_patient_free(pt);
}

static int make_stream(mt_datum *d)
{
  mt_series o;
  true_course(60, 6.0, NT - 1, &o);
  int n = 0;
  d[n++] = (mt_datum){0, MT_DATA_BASAL, o.u[1] * 60, 2};
  for (int k = 5; k < NT; k += 5) {
    if (k == 60) {
      d[n++] = (mt_datum){60, MT_DATA_CARBS, 60, n + 2};
      d[n++] = (mt_datum){60, MT_DATA_BOLUS, 6, n + 2};
    }
    d[n++] = (mt_datum){k, MT_DATA_CGM, o.y[(size_t)k * 2 + 1], n + 2};
  }
  mt_series_clear(&o);
  return n;
}

static mt_twin *new_twin(uint64_t seed, int members)
{
  char err[MT_ERRMSG_MAX];
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  cfg.exclude = "adult#003";
  cfg.seed = seed;
  cfg.members = members;
  /* these streams are the model's noise-free CGM, which at steady state
  ** repeats exactly as only a stuck sensor would: no fault detection */
  cfg.detect_faults = 0;
  mt_twin *tw;
  cr_assert_eq(mt_twin_create(&cfg, &tw, err, sizeof err), 0, "%s", err);
  return tw;
}

/* Feed d[0..n) and return the forecast (30, 60 min) after the reading at
** t_fc. */
static void run(mt_twin *tw, const mt_datum *d, int n, double t_fc,
                mt_twin_forecast *fc)
{
  const double h[2] = {30, 60};
  for (int i = 0; i < n; i++) {
    const char *why;
    cr_assert_eq(mt_twin_ingest(tw, &d[i], &why), 0, "datum %d: %s", i,
                 mt_twin_errmsg(tw));
    if (d[i].kind == MT_DATA_CGM && d[i].t_min == t_fc)
      cr_assert_eq(mt_twin_forecast_at(tw, h, 2, fc), 0);
  }
}

Test(twin, deterministic_and_causal, .timeout = 120)
{
  static mt_datum d[256];
  int n = make_stream(d), cut = 0;
  while (!(d[cut].kind == MT_DATA_CGM && d[cut].t_min == 180))
    cut++;
  mt_twin_forecast a[2], b[2], c[2];
  mt_twin *t1 = new_twin(7, 32), *t2 = new_twin(7, 32), *t3 = new_twin(7, 32);
  run(t1, d, n, 180, a);
  run(t2, d, n, 180, b);
  run(t3, d, cut + 1, 180, c); /* the data up to 180 min only */
  cr_assert(memcmp(a, b, sizeof a) == 0, "same seed, different forecast");
  cr_assert(memcmp(a, c, sizeof a) == 0, "forecast at 180 min depends on "
            "later data");
  for (int k = 0; k < 2; k++)
    for (int q = 0; q < 6; q++)
      cr_assert_leq(a[k].q[q], a[k].q[q + 1], "quantiles out of order");
  mt_twin_free(t1);
  mt_twin_free(t2);
  mt_twin_free(t3);
}

Test(twin, quarantine_rules)
{
  mt_twin *tw = new_twin(1, 8);
  const char *why;
  mt_datum hi = {5, MT_DATA_CGM, 900, 2}, ok = {5, MT_DATA_CGM, 140, 3};
  mt_datum late = {2, MT_DATA_BOLUS, 1, 4};
  mt_datum old = {10, MT_DATA_BOLUS, 1, 5}, now = {80, MT_DATA_CGM, 150, 6};
  cr_assert_eq(mt_twin_ingest(tw, &hi, &why), 1);
  cr_assert_not_null(strstr(why, "cgm"));
  cr_assert_eq(mt_twin_ingest(tw, &ok, &why), 0);
  cr_assert_eq(mt_twin_time(tw), 5);
  cr_assert_eq(mt_twin_ingest(tw, &ok, &why), 1);
  cr_assert_str_eq(why, "duplicate");
  /* 3 min late, within the 60-min window: taken and re-assimilated */
  cr_assert_eq(mt_twin_ingest(tw, &late, &why), 0);
  cr_assert_eq(mt_twin_ingest(tw, &late, &why), 1);
  cr_assert_str_eq(why, "duplicate");
  cr_assert_eq(mt_twin_ingest(tw, &now, &why), 0);
  cr_assert_eq(mt_twin_time(tw), 80);
  /* 70 min before the last reading: beyond the window */
  cr_assert_eq(mt_twin_ingest(tw, &old, &why), 1);
  cr_assert_not_null(strstr(why, "late"));
  mt_twin_free(tw);
}

/* After the first reading the ensemble's 30-min forecast median lies
** between the prior's and the reading (the analysis is a convex step
** towards the data for a scalar linear-Gaussian update; here checked on
** the model's mildly nonlinear observation). */
Test(twin, analysis_moves_towards_the_reading)
{
  mt_twin *tw = new_twin(3, 32), *ref = new_twin(3, 32);
  const double h[1] = {5};
  mt_twin_forecast before, after;
  const char *why;
  mt_datum hi = {5, MT_DATA_CGM, 220, 2}; /* far above every prior member */
  mt_datum basal = {0, MT_DATA_BASAL, 1.0, 2};
  cr_assert_eq(mt_twin_ingest(ref, &basal, &why), 0);
  cr_assert_eq(mt_twin_forecast_at(ref, h, 1, &before), 0);
  cr_assert_eq(mt_twin_ingest(tw, &basal, &why), 0);
  cr_assert_eq(mt_twin_ingest(tw, &hi, &why), 0, "%s", mt_twin_errmsg(tw));
  cr_assert_eq(mt_twin_forecast_at(tw, h, 1, &after), 0);
  cr_assert_gt(after.q[3], before.q[3] + 5, "median %g -> %g", before.q[3],
               after.q[3]);
  cr_assert_lt(after.q[3], 220);
  mt_twin_free(tw);
  mt_twin_free(ref);
}

/*
** Late data are re-assimilated: a stream whose 60-min meal, bolus and the
** reading at 100 min arrive 20 min late (after the readings up to 120 min)
** leaves the twin exactly where the same data in time order do (the analysis
** is deterministic and the random streams are keyed by member, reading and
** meal time, not by arrival), so every later forecast is bit-identical.
*/
Test(twin, late_data_are_reassimilated_exactly)
{
  mt_datum d[200], e[200];
  int n = make_stream(d), m = 0, k;
  mt_datum held[3];
  int nh = 0;
  for (k = 0; k < n; k++) { /* hold back the meal, bolus and 100-min CGM */
    if ((d[k].kind != MT_DATA_CGM && d[k].t_min == 60) ||
        (d[k].kind == MT_DATA_CGM && d[k].t_min == 100)) {
      held[nh++] = d[k];
      continue;
    }
    e[m++] = d[k];
    if (d[k].kind == MT_DATA_CGM && d[k].t_min == 80)
      for (int j = 0; j < nh; j++) /* the meal rows, 20 min late */
        e[m++] = held[j];
    if (d[k].kind == MT_DATA_CGM && d[k].t_min == 120)
      e[m++] = held[nh - 1], nh = 2; /* the 100-min reading, 20 min late */
  }
  cr_assert_eq(m, n);
  mt_twin *a = new_twin(5, 16), *b = new_twin(5, 16);
  const double h[2] = {30, 120};
  mt_twin_forecast fa[2], fb[2];
  const char *why;
  int n_checked = 0;
  for (k = 0; k < n; k++) {
    cr_assert_eq(mt_twin_ingest(a, &d[k], &why), 0);
    cr_assert_eq(mt_twin_ingest(b, &e[k], &why), 0, "%s", why);
    if (d[k].kind == MT_DATA_CGM && d[k].t_min > 120) {
      cr_assert_eq(mt_twin_forecast_at(a, h, 2, fa), 0);
      cr_assert_eq(mt_twin_forecast_at(b, h, 2, fb), 0);
      cr_assert(memcmp(fa, fb, sizeof fa) == 0, "forecast at %g differs",
                d[k].t_min);
      n_checked++;
    }
  }
  cr_assert_gt(n_checked, 50);
  /* and the late data mattered: without the meal the forecasts differ */
  mt_twin *c = new_twin(5, 16);
  for (k = 0; k < n; k++)
    if (d[k].kind == MT_DATA_CGM || d[k].t_min != 60)
      cr_assert_eq(mt_twin_ingest(c, &d[k], &why), 0);
  cr_assert_eq(mt_twin_forecast_at(c, h, 2, fb), 0);
  cr_assert(memcmp(fa, fb, sizeof fa) != 0);
  mt_twin_free(a);
  mt_twin_free(b);
  mt_twin_free(c);
}

/*
** Alert episodes, by the rule of twin.h: raised when the probability
** reaches the threshold while armed, then silent until it has stayed below
** the threshold for 30 min. Evaluations every 5 min.
*/
Test(twin, alert_episodes_once_and_rearmed_after_30_min_clear)
{
  /* prob:   .1 .4 .5 .6 .2 .5 | .1 x 6 (25 min clear) .4 | .1 x 7 .35 */
  const double p[] = {0.1, 0.4, 0.5, 0.6, 0.2, 0.5, 0.1, 0.1, 0.1, 0.1,
                      0.1, 0.1, 0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1,
                      0.35};
  /* raised at 5 (first reach); not at 25 (only 5 min clear); not at 60
  ** (clear 30..55 is 25 min: first below at 30, last at 55); re-armed at
  ** 95 (below since 65: 30 min), raised at 100 */
  const int want[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                      0, 0, 1};
  mt_alert_episode e;
  mt_alert_episode_init(&e);
  for (int k = 0; k < (int)(sizeof p / sizeof *p); k++)
    cr_assert_eq(mt_alert_episode_step(&e, 5.0 * k, p[k], 0.3), want[k],
                 "evaluation %d (t = %g, p = %g)", k, 5.0 * k, p[k]);
  /* exactly at the threshold counts as reached; NaN never raises */
  mt_alert_episode_init(&e);
  cr_assert_eq(mt_alert_episode_step(&e, 0, NAN, 0.3), 0);
  cr_assert_eq(mt_alert_episode_step(&e, 5, 0.3, 0.3), 1);
}

/*
** A real descent: adult#003 (out of the prior) takes an 8 U bolus without
** eating at 60 min and CGM follows its true course, which falls below
** 70 mg/dL. The twin raises exactly one hypo alert for the episode, before
** the readings reach 70, with a probability at or above its threshold and
** a predicted crossing within the next 30 min.
*/
Test(twin, hypo_alert_before_a_real_descent, .timeout = 60)
{
  enum { T = 480 };
  mt_series o;
  true_course(0, 8.0, T, &o);
  mt_twin *tw = new_twin(3, 64);
  const char *why;
  mt_datum d = {0, MT_DATA_BASAL, o.u[1] * 60, 2};
  cr_assert_eq(mt_twin_ingest(tw, &d, &why), 0);
  int n_alert = 0;
  double first_below = NAN, alert_t = NAN;
  for (int k = 5; k <= T; k += 5) {
    if (k == 60) {
      d = (mt_datum){60, MT_DATA_BOLUS, 8.0, 3};
      cr_assert_eq(mt_twin_ingest(tw, &d, &why), 0);
    }
    double cgm = o.y[(size_t)k * 2 + 1];
    if (cgm < 70 && isnan(first_below))
      first_below = k;
    d = (mt_datum){k, MT_DATA_CGM, cgm, 4};
    cr_assert_eq(mt_twin_ingest(tw, &d, &why), 0);
    mt_twin_alert al[MT_ALERT_NKIND];
    int na = mt_twin_alerts(tw, al);
    for (int j = 0; j < na; j++)
      if (al[j].kind == MT_ALERT_HYPO) {
        n_alert++;
        alert_t = al[j].t_min;
        cr_assert_geq(al[j].probability, 0.3);
        cr_assert(al[j].predicted_t_min > k && al[j].predicted_t_min <= k + 30,
                  "predicted %g at %d", al[j].predicted_t_min, k);
      }
  }
  cr_assert(!isnan(first_below), "the true course must reach 70 mg/dL");
  cr_assert_eq(n_alert, 1, "one alert for the one episode, got %d", n_alert);
  cr_assert_lt(alert_t, first_below, "alert at %g, readings below 70 from %g",
               alert_t, first_below);
  mt_twin_free(tw);
  mt_series_clear(&o);
}

/*
** After a filtered day every member's parameters are a fixed point of the
** model's derive() (derived parameters recomputed after each analysis, so
** recomputing them again changes nothing beyond roundoff, 1e-12 relative),
** lie within the declared bounds, and the estimable ones have moved from
** the prior draw for at least some members (the analysis does update them).
*/
Test(twin, members_keep_derived_parameters_consistent, .timeout = 60)
{
  mt_datum d[200];
  int n = make_stream(d);
  const mt_model *m = mt_model_find("uva_padova_t1d");
  mt_twin *tw = new_twin(11, 16), *t0 = new_twin(11, 16);
  const double *p0, *p;
  int np, ns;
  int N = mt_twin_members(t0, &p0, NULL, &np, &ns);
  cr_assert_eq(N, 16);
  cr_assert_eq(np, m->n_param);
  cr_assert_eq(ns, m->n_state);
  const char *why;
  for (int k = 0; k < n; k++)
    cr_assert_eq(mt_twin_ingest(tw, &d[k], &why), 0);
  mt_twin_members(tw, &p, NULL, NULL, NULL);
  int moved = 0;
  for (int i = 0; i < N; i++) {
    double q[256];
    memcpy(q, p + (size_t)i * np, (size_t)np * sizeof *q);
    cr_assert_eq(m->derive(q), 0);
    for (int j = 0; j < np; j++) {
      double a = p[(size_t)i * np + j];
      cr_assert(fabs(q[j] - a) <= 1e-12 * fabs(a), "member %d %s: %.17g vs "
                "derived %.17g", i, m->param[j].name, a, q[j]);
      cr_assert(a >= m->param[j].lo && a <= m->param[j].hi, "member %d %s",
                i, m->param[j].name);
      if (m->param[j].flags & MT_VAR_ESTIMABLE)
        moved += a != p0[(size_t)i * np + j];
    }
  }
  cr_assert_gt(moved, N, "estimable parameters moved %d times", moved);
  mt_twin_free(tw);
  mt_twin_free(t0);
}

/*
** The particle filter behind the same twin: deterministic for a seed (its
** resampling and jitter streams are keyed by seed and reading), late data
** re-assimilated exactly as with the EnKF, well-formed forecasts, and an
** effective sample size reported in [1, N] (NAN for the EnKF).
*/
Test(twin, particle_filter_twin, .timeout = 60)
{
  mt_datum d[200];
  int n = make_stream(d);
  char err[MT_ERRMSG_MAX];
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  cfg.exclude = "adult#003", cfg.seed = 2, cfg.members = 32;
  cfg.method = MT_TWIN_PF;
  cfg.detect_faults = 0; /* noise-free stream, as new_twin */
  mt_twin *a, *b, *e = new_twin(2, 32);
  cr_assert_eq(mt_twin_create(&cfg, &a, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_twin_create(&cfg, &b, err, sizeof err), 0, "%s", err);
  const char *why;
  /* b receives the reading at 100 min after the one at 110 */
  int k100 = -1;
  for (int k = 0; k < n; k++)
    if (d[k].kind == MT_DATA_CGM && d[k].t_min == 100)
      k100 = k;
  cr_assert_geq(k100, 0);
  for (int k = 0; k < n; k++) {
    cr_assert_eq(mt_twin_ingest(a, &d[k], &why), 0);
    cr_assert_eq(mt_twin_ingest(e, &d[k], &why), 0);
    if (k == k100)
      continue;
    cr_assert_eq(mt_twin_ingest(b, &d[k], &why), 0);
    if (d[k].kind == MT_DATA_CGM && d[k].t_min == 110)
      cr_assert_eq(mt_twin_ingest(b, &d[k100], &why), 0);
  }
  const double h[2] = {30, 60};
  mt_twin_forecast fa[2], fb[2];
  cr_assert_eq(mt_twin_forecast_at(a, h, 2, fa), 0);
  cr_assert_eq(mt_twin_forecast_at(b, h, 2, fb), 0);
  cr_assert(memcmp(fa, fb, sizeof fa) == 0);
  for (int j = 0; j < 2; j++)
    for (int q = 0; q < 6; q++)
      cr_assert_leq(fa[j].q[q], fa[j].q[q + 1]);
  double ess = mt_twin_mean_ess(a);
  cr_assert(ess >= 1 && ess <= 32, "mean ESS %g", ess);
  cr_assert(isnan(mt_twin_mean_ess(e)));
  mt_twin_free(a);
  mt_twin_free(b);
  mt_twin_free(e);
}

/*
** Through a gap the twin forecasts from its model alone, and says so with
** wider intervals: the reading at 330 min forecast by a twin whose last
** reading was at 240 (a 90-min gap) has a wider 95 % interval than the same
** reading forecast by a twin fed up to 300 min, for every seed tried.
*/
Test(twin, forecasts_widen_through_a_gap, .timeout = 60)
{
  mt_datum d[200];
  int n = make_stream(d);
  for (uint64_t seed = 1; seed <= 3; seed++) {
    mt_twin *fed = new_twin(seed, 32), *gap = new_twin(seed, 32);
    const char *why;
    for (int k = 0; k < n && d[k].t_min <= 300; k++) {
      cr_assert_eq(mt_twin_ingest(fed, &d[k], &why), 0);
      if (d[k].t_min <= 240)
        cr_assert_eq(mt_twin_ingest(gap, &d[k], &why), 0);
    }
    const double h30 = 30, h90 = 90;
    mt_twin_forecast a, b;
    cr_assert_eq(mt_twin_forecast_at(fed, &h30, 1, &a), 0);
    cr_assert_eq(mt_twin_forecast_at(gap, &h90, 1, &b), 0);
    double wa = a.q[6] - a.q[0], wb = b.q[6] - b.q[0];
    cr_assert_gt(wb, wa, "seed %d: 95 %% width %g after the gap, %g fed",
                 (int)seed, wb, wa);
    mt_twin_free(fed);
    mt_twin_free(gap);
  }
}

/* A twin without alerts (cfg.alerts = 0, as a trial's) raises none, skips
** their run ahead, and forecasts bit for bit as one with alerts: the 8-h
** bolus descent of hypo_alert_before_a_real_descent, a forecast after
** every reading. */
Test(twin, no_alerts_same_forecasts, .timeout = 60)
{
  enum { T = 240 };
  mt_series o;
  true_course(0, 8.0, T, &o);
  char err[MT_ERRMSG_MAX];
  mt_twin *tw[2];
  for (int a = 0; a < 2; a++) {
    mt_twin_config cfg;
    mt_twin_config_init(&cfg);
    cfg.exclude = "adult#003", cfg.seed = 3, cfg.members = 32;
    cfg.detect_faults = 0, cfg.alerts = a;
    cr_assert_eq(mt_twin_create(&cfg, &tw[a], err, sizeof err), 0, "%s", err);
  }
  int alerts[2] = {0, 0};
  for (int k = 0; k <= T; k += 5)
    for (int a = 0; a < 2; a++) {
      const char *why;
      mt_datum d = k ? (mt_datum){k, MT_DATA_CGM, o.y[(size_t)k * 2 + 1], 4}
                     : (mt_datum){0, MT_DATA_BASAL, o.u[1] * 60, 2};
      cr_assert_eq(mt_twin_ingest(tw[a], &d, &why), 0);
      if (k == 60) {
        d = (mt_datum){60, MT_DATA_BOLUS, 8.0, 3};
        cr_assert_eq(mt_twin_ingest(tw[a], &d, &why), 0);
      }
      mt_twin_alert al[MT_ALERT_NKIND];
      alerts[a] += mt_twin_alerts(tw[a], al);
    }
  cr_assert_eq(alerts[0], 0);
  cr_assert_gt(alerts[1], 0, "the descent raised no alert to compare with");
  const double h[3] = {15, 30, 120};
  mt_twin_forecast f0[3], f1[3];
  cr_assert_eq(mt_twin_forecast_at(tw[0], h, 3, f0), 0);
  cr_assert_eq(mt_twin_forecast_at(tw[1], h, 3, f1), 0);
  cr_assert_eq(memcmp(f0, f1, sizeof f0), 0);
  mt_twin_free(tw[0]);
  mt_twin_free(tw[1]);
  mt_series_clear(&o);
}
