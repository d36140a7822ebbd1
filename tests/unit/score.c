/*
** Forecast scoring: Clarke error grid zones (boundary equations in
** include/medtwin/score.h, after Clarke et al., Diabetes Care 10:622, 1987),
** point metrics, interval coverage, hypoglycaemia events and alerts, and
** the persistence and linear baselines. Every expected value is derived by
** hand in the comment beside it.
*/
#include <criterion/criterion.h>
#include <math.h>

#include "medtwin/error.h"
#include "medtwin/score.h"

/* Points deep inside each zone, and on boundary lines:
**   (100, 100): 0.8*100 <= 100 <= 1.2*100 -> A
**   (60, 65): both <= 70 -> A
**   (100, 130): 130 > 120, not E, not C (130 < 210), not D -> B
**   (200, 60): ref >= 180 and pred <= 70 -> E
**   (60, 200): ref <= 70 and pred >= 180 -> E
**   (100, 250): 70 <= ref <= 290 and pred >= ref + 110 = 210 -> C
**   (150, 20): 130 <= 150 <= 180, 7/5*150 - 182 = 28 >= 20 -> C
**   (300, 100): ref >= 240 and 70 <= pred <= 180 -> D
**   (50, 100): ref <= 175/3 = 58.3 and 70 <= pred <= 180 -> D
**   (65, 100): 58.3 <= 65 <= 70 and pred >= 6/5*65 = 78 -> D
**   boundary (100, 120): 1.2*100 = 120, inclusive -> A
**   boundary (100, 210): pred = ref + 110, inclusive -> C
**   boundary (150, 28): pred = 7/5*150 - 182 exactly -> C */
Test(score, clarke_zones)
{
  static const struct {
    double r, p;
    char z;
  } c[] = {{100, 100, 'A'}, {60, 65, 'A'},   {100, 130, 'B'}, {200, 60, 'E'},
           {60, 200, 'E'},  {100, 250, 'C'}, {150, 20, 'C'},  {300, 100, 'D'},
           {50, 100, 'D'},  {65, 100, 'D'},  {100, 120, 'A'}, {100, 210, 'C'},
           {150, 28, 'C'}};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    cr_expect_eq(mt_clarke_zone(c[i].r, c[i].p), c[i].z, "(%g, %g): %c",
                 c[i].r, c[i].p, mt_clarke_zone(c[i].r, c[i].p));
  cr_expect_eq(mt_clarke_zone(NAN, 100), 0);
}

/* Pairs (100,100) A, (100,130) B, (200,60) E, (NAN,5) skipped: fractions
** 1/3 each of A, B, E. */
Test(score, clarke_grid_fractions)
{
  const double r[] = {100, 100, 200, NAN}, p[] = {100, 130, 60, 5};
  mt_clarke_counts c;
  cr_assert_eq(mt_clarke_grid(r, p, 4, &c), 0);
  cr_expect_eq(c.n_used, 3);
  cr_expect_eq(c.n_skipped, 1);
  cr_expect_eq(c.count[0], 1);
  cr_expect_eq(c.count[1], 1);
  cr_expect_eq(c.count[4], 1);
  cr_expect_float_eq(c.frac[0], 1.0 / 3, 1e-15);
}

/* ref {100, 200}, pred {110, 180}: errors +10, -20; RMSE sqrt((100 + 400)
** / 2) = 15.8113883; MAE 15; ME -5; MARD 100 * (0.1 + 0.1) / 2 = 10 %. */
Test(score, point_metrics)
{
  const double r[] = {100, 200, NAN}, p[] = {110, 180, 1};
  mt_point_metrics m;
  cr_assert_eq(mt_point_metrics_compute(r, p, 3, &m), 0);
  cr_expect_eq(m.n_used, 2);
  cr_expect_float_eq(m.rmse_mgdl, sqrt(250.0), 1e-12);
  cr_expect_float_eq(m.mae_mgdl, 15.0, 1e-12);
  cr_expect_float_eq(m.me_mgdl, -5.0, 1e-12);
  cr_expect_float_eq(m.mard_pct, 10.0, 1e-12);
}

/* ref 100 in [90, 110] and 150 outside [90, 140], inclusive bounds: 1 of 2
** inside; widths 20 and 50, mean 35. */
Test(score, interval_coverage)
{
  const double r[] = {100, 150}, lo[] = {90, 90}, hi[] = {110, 140};
  mt_coverage c;
  cr_assert_eq(mt_interval_coverage(r, lo, hi, 2, &c), 0);
  cr_expect_eq(c.n_inside, 1);
  cr_expect_float_eq(c.coverage, 0.5, 1e-15);
  cr_expect_float_eq(c.mean_width_mgdl, 35.0, 1e-12);
}

/* BG every 5 min from t = 0: samples 2-3 below 70 (10 min: not an event),
** samples 8-11 below 70 (20 min: an event with onset 40 min, nadir 50).
** Alerts at 0 (40 - 60 <= 0: counts, lead 40), 100 (false: no event, no
** run), and 46 (inside the event but within 40 + 15: counts too). Events:
** 1, detected; true alerts 2, false 1; sensitivity 1, precision 2/3; median
** lead 40 (the earliest counting alert); false alerts per day 1 / 0.5 = 2. */
Test(score, hypo_events_and_alerts)
{
  const double bg[] = {100, 90, 65, 60, 80, 90, 85, 75, 68, 55, 50, 60, 90,
                       100, 110, 120, 130, 140, 150, 160, 170, 180};
  mt_hypo_event ev[8];
  int n;
  cr_assert_eq(mt_hypo_events(bg, 22, 0, 5, ev, 8, &n), 0);
  cr_assert_eq(n, 1);
  cr_expect_float_eq(ev[0].onset_min, 40, 1e-12);
  cr_expect_float_eq(ev[0].duration_min, 20, 1e-12);
  cr_expect_float_eq(ev[0].nadir_mgdl, 50, 1e-12);
  const double alerts[] = {100, 0, 46};
  mt_hypo_stats s;
  cr_assert_eq(mt_hypo_score(ev, n, alerts, 3, 0.5, &s), 0);
  cr_expect_eq(s.n_detected, 1);
  cr_expect_eq(s.n_true_alerts, 2);
  cr_expect_eq(s.n_false_alerts, 1);
  cr_expect_float_eq(s.sensitivity, 1.0, 1e-15);
  cr_expect_float_eq(s.precision, 2.0 / 3, 1e-15);
  cr_expect_float_eq(s.median_lead_min, 40, 1e-12);
  cr_expect_float_eq(s.false_alerts_per_day, 2.0, 1e-12);
}

/* Readings at 0, 10, 20, 30 min: 100, 110, 120, 130 (slope 1 mg/dL/min).
** At k = 3 (t = 30): persistence 130 whatever h; linear over [0, 30] fits
** y = 100 + t exactly, so at 30 + 30 it predicts 160. With a missing last
** reading, persistence falls back to 120. */
Test(score, baselines)
{
  const double t[] = {0, 10, 20, 30}, y[] = {100, 110, 120, 130};
  cr_expect_float_eq(mt_baseline_persistence(t, y, 4, 3, 30), 130, 1e-12);
  cr_expect_float_eq(mt_baseline_linear(t, y, 4, 3, 30), 160, 1e-9);
  const double y2[] = {100, 110, 120, NAN};
  cr_expect_float_eq(mt_baseline_persistence(t, y2, 4, 3, 30), 120, 1e-12);
  cr_expect(isnan(mt_baseline_linear(t, y, 4, 7, 30)));
}
