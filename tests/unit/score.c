/*
** Unit tests of forecast scoring (src/twin/score.c).
**
** Clarke zones are derived by hand from the boundary equations of the common
** formulation of Clarke et al. (Diabetes Care 10:622, 1987), restated in
** include/medtwin/score.h and tested in the order A, E, C, D, else B. Each
** point's comment walks that order. Metrics, event scores and least-squares
** forecasts are worked by hand in the comments (the least-squares values were
** checked with exact rational arithmetic); tolerances are stated at each
** assertion.
*/
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/score.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* |got - want| <= rel * |want|. */
static void assert_rel(double got, double want, double rel, const char *what)
{
  cr_assert(fabs(got - want) <= rel * fabs(want), "%s: got %.17g, want %.17g",
            what, got, want);
}

typedef struct zone_case {
  double ref, pred;
  char zone;
} zone_case;

static void check_zones(const zone_case *c, int n)
{
  for (int i = 0; i < n; i++)
    cr_assert_eq(mt_clarke_zone(c[i].ref, c[i].pred), c[i].zone,
                 "(%g, %g): got '%c', want '%c'", c[i].ref, c[i].pred,
                 mt_clarke_zone(c[i].ref, c[i].pred), c[i].zone);
}

/* Points well inside each zone. */
Test(score, clarke_interior)
{
  const zone_case c[] = {
    /* A: 80 <= 100 <= 120. */
    {100, 100, 'A'},
    /* A: ref <= 70 and pred <= 70. */
    {50, 30, 'A'},
    /* B: A needs pred <= 120; E, C (pred >= 210), D fail. */
    {100, 130, 'B'},
    /* B: A needs 240..360; E needs pred <= 70; C needs ref <= 290; D needs
       pred <= 180. */
    {300, 200, 'B'},
    /* B: A needs 160..240; C's lower arm needs ref <= 180; D fails. */
    {200, 140, 'B'},
    /* C upper: 70 <= 100 <= 290 and 250 >= 100 + 110 = 210. */
    {100, 250, 'C'},
    /* C lower: 130 <= 170 <= 180 and 30 <= 1.4 * 170 - 182 = 56; not E
       (ref < 180), not A (136..204). */
    {170, 30, 'C'},
    /* D right: ref >= 240 and 70 <= 100 <= 180; not A (240..360). */
    {300, 100, 'D'},
    /* D left: ref <= 175/3 = 58.3 and 70 <= 120 <= 180; not E (pred < 180). */
    {40, 120, 'D'},
    /* D left, upper arm: 58.3 <= 65 <= 70 and 100 >= 1.2 * 65 = 78. */
    {65, 100, 'D'},
    /* E: ref >= 180 and pred <= 70. */
    {250, 40, 'E'},
    /* E: ref <= 70 and pred >= 180. */
    {50, 250, 'E'},
  };
  check_zones(c, N_OF(c));
}

/* Points on boundary lines and one step off them (integer mg/dL, exact). */
Test(score, clarke_boundaries)
{
  const zone_case c[] = {
    /* A upper line pred = 1.2 ref: 120 = 1.2 * 100 is A; 121 is B
       (C upper needs 210). */
    {100, 120, 'A'}, {100, 121, 'B'},
    /* A lower line pred = 0.8 ref: 80 is A; 79 is B (C lower arm needs ref
       >= 130, E needs ref >= 180). */
    {100, 80, 'A'}, {100, 79, 'B'},
    /* Corner: ref = pred = 70 is A (both <= 70). */
    {70, 70, 'A'},
    /* E upper-left: ref = 70 <= 70 and pred = 180 >= 180 is E (A needs
       56..84). At pred = 179, not E; C upper needs pred >= 180; D upper arm:
       58.3 <= 70 <= 70 and 179 >= 84, so D. */
    {70, 180, 'E'}, {70, 179, 'D'},
    /* E lower-right: ref = 180, pred = 70 is E (A needs 144..216). At ref =
       179: not E; C lower needs 70 <= 1.4 * 179 - 182 = 68.6, false; D
       fails; so B. */
    {180, 70, 'E'}, {179, 70, 'B'},
    /* C upper line pred = ref + 110: 210 at ref 100 is C, 209 is B. At the
       right end ref = 290, pred = 400 is C; ref = 291 is past it, and
       pred = 401 is not in D's 70..180 nor A's 232.8..349.2, so B. */
    {100, 210, 'C'}, {100, 209, 'B'}, {290, 400, 'C'}, {291, 401, 'B'},
    /* C lower line pred = 1.4 ref - 182: at ref 150 it is 28, so 28 is C and
       29 is B (A needs 120..180). At ref 130 the line meets pred = 0: C. */
    {150, 28, 'C'}, {150, 29, 'B'}, {130, 0, 'C'},
    /* D right, ref >= 240: ref = 240 with pred 180 (top edge) is D, 181 is
       B; pred 71 is D; pred 70 is E (ref >= 180, pred <= 70 comes first). */
    {240, 180, 'D'}, {240, 181, 'B'}, {240, 71, 'D'}, {240, 70, 'E'},
    /* D right, ref = 239 is below the edge: pred 100 is B. */
    {239, 100, 'B'},
    /* D left, ref <= 175/3: (58, 70) is A (both <= 70); (58, 71) is D since
       3 * 58 = 174 <= 175 and 70 <= 71 <= 180; (58, 180) is E. */
    {58, 70, 'A'}, {58, 71, 'D'}, {58, 180, 'E'},
    /* D upper arm, 175/3 <= ref <= 70, pred >= 1.2 ref: at ref 60 the line
       is 72, which A claims first (72 <= 1.2 * 60); 73 is D. At ref 59
       (3 * 59 = 177 >= 175) pred 71 >= 70.8 is D via the upper arm. */
    {60, 72, 'A'}, {60, 73, 'D'}, {59, 71, 'D'},
  };
  check_zones(c, N_OF(c));
}

Test(score, clarke_invalid)
{
  cr_assert_eq(mt_clarke_zone(NAN, 100), 0);
  cr_assert_eq(mt_clarke_zone(100, INFINITY), 0);
  cr_assert_eq(mt_clarke_zone(-1, 100), 0);
}

/*
** Zone fractions: 10 classified pairs, taken from the cases above, plus two
** with a NaN. A: (100,100) (50,30) (100,120) (70,70) = 4; B: (100,130)
** (179,70) = 2; C: (100,250) = 1; D: (300,100) (40,120) = 2; E: (250,40) = 1.
** Fractions 0.4, 0.2, 0.1, 0.2, 0.1 (counts over 10; tolerance 1e-15).
*/
Test(score, clarke_grid_counts)
{
  const double ref[] = {100, 50, 100, 70, 100, 179, 100, 300, 40, 250, NAN, 90};
  const double pred[] = {100, 30, 120, 70, 130, 70, 250, 100, 120, 40, 80, NAN};
  const int want[5] = {4, 2, 1, 2, 1};
  mt_clarke_counts c;
  cr_assert_eq(mt_clarke_grid(ref, pred, N_OF(ref), &c), MT_OK);
  cr_assert_eq(c.n_used, 10);
  cr_assert_eq(c.n_skipped, 2);
  for (int z = 0; z < 5; z++) {
    cr_assert_eq(c.count[z], want[z], "zone %c", 'A' + z);
    cr_assert_float_eq(c.frac[z], want[z] / 10.0, 1e-15);
  }
  const double neg[] = {-5};
  cr_assert_eq(mt_clarke_grid(neg, pred, 1, &c), MT_ERANGE);
  cr_assert_eq(mt_clarke_grid(NULL, pred, 1, &c), MT_EINVAL);
  cr_assert_eq(mt_clarke_grid(ref, pred, 0, &c), MT_OK);
  cr_assert(isnan(c.frac[0]));
}

/*
** Point metrics. Used pairs (100,110) (200,180) (50,56); (80,NaN) and
** (NaN,90) are skipped. Errors pred - ref: 10, -20, 6.
**   ME   = (10 - 20 + 6) / 3 = -4/3
**   MAE  = (10 + 20 + 6) / 3 = 12
**   RMSE = sqrt((100 + 400 + 36) / 3) = sqrt(536/3) = 13.366625103842281
**   MARD = 100 * (10/100 + 20/200 + 6/50) / 3 = 100 * 0.32 / 3 = 32/3 %
** Tolerance 1e-14 relative.
*/
Test(score, point_metrics)
{
  const double ref[] = {100, 200, 80, NAN, 50};
  const double pred[] = {110, 180, NAN, 90, 56};
  mt_point_metrics m;
  cr_assert_eq(mt_point_metrics_compute(ref, pred, N_OF(ref), &m), MT_OK);
  cr_assert_eq(m.n_used, 3);
  cr_assert_eq(m.n_skipped, 2);
  assert_rel(m.me_mgdl, -4.0 / 3.0, 1e-14, "ME");
  assert_rel(m.mae_mgdl, 12.0, 1e-14, "MAE");
  assert_rel(m.rmse_mgdl, 13.366625103842281, 1e-14, "RMSE");
  assert_rel(m.mard_pct, 32.0 / 3.0, 1e-14, "MARD");

  const double zero[] = {0};
  cr_assert_eq(mt_point_metrics_compute(zero, pred, 1, &m), MT_ERANGE);
  const double inf[] = {INFINITY};
  cr_assert_eq(mt_point_metrics_compute(ref, inf, 1, &m), MT_ERANGE);
  cr_assert_eq(mt_point_metrics_compute(ref, pred, -1, &m), MT_EINVAL);
  const double gap[] = {NAN};
  cr_assert_eq(mt_point_metrics_compute(gap, gap, 1, &m), MT_OK);
  cr_assert(isnan(m.rmse_mgdl) && m.n_skipped == 1);
}

/*
** Coverage of closed intervals. Triples (ref; lo, hi):
**   100; 90, 110  inside           width 20
**   150; 150, 160 inside (= lo)    width 10
**   200; 150, 199 outside          width 49
**    60; 70, 80   outside          width 10
**    80; 70, 80   inside (= hi)    width 10
**   NaN; 0, 1     skipped
** Coverage 3/5 = 0.6; mean width 99/5 = 19.8. Tolerance 1e-15 relative.
*/
Test(score, interval_coverage)
{
  const double ref[] = {100, 150, 200, 60, 80, NAN};
  const double lo[] = {90, 150, 150, 70, 70, 0};
  const double hi[] = {110, 160, 199, 80, 80, 1};
  mt_coverage c;
  cr_assert_eq(mt_interval_coverage(ref, lo, hi, N_OF(ref), &c), MT_OK);
  cr_assert_eq(c.n_used, 5);
  cr_assert_eq(c.n_skipped, 1);
  cr_assert_eq(c.n_inside, 3);
  assert_rel(c.coverage, 0.6, 1e-15, "coverage");
  assert_rel(c.mean_width_mgdl, 19.8, 1e-15, "width");
  cr_assert_eq(mt_interval_coverage(ref, hi, lo, 1, &c), MT_EINVAL);
}

/*
** Truth trace, dt = 5 min from t0 = 0, 60 samples (t = 0..295):
**   t   0.. 95  120
**   t 100..105   65   two samples = 10 min < 15: a run, not an event
**   t 110..195  110
**   t 200..215   60 55 58 62   four samples = 20 min: event, onset 200,
**                              nadir 55, ends at 220 (first sample >= 70)
**   t 220..295  100
*/
static void trace_two_runs(double *bg)
{
  for (int i = 0; i < 60; i++)
    bg[i] = i < 20 ? 120 : i < 22 ? 65 : i < 40 ? 110 : 100;
  bg[40] = 60;
  bg[41] = 55;
  bg[42] = 58;
  bg[43] = 62;
}

Test(score, hypo_events_found)
{
  double bg[60];
  trace_two_runs(bg);
  mt_hypo_event ev[4];
  int n = -1;
  cr_assert_eq(mt_hypo_events(bg, 60, 0.0, 5.0, ev, 4, &n), MT_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(ev[0].onset_min, 200.0);
  cr_assert_eq(ev[0].duration_min, 20.0);
  cr_assert_eq(ev[0].nadir_mgdl, 55.0);
  /* Counting only, then too small a buffer: the count comes back either way. */
  cr_assert_eq(mt_hypo_events(bg, 60, 0.0, 5.0, NULL, 0, &n), MT_EINVAL);
  cr_assert_eq(n, 1);
  /* With dt = 10 the first run (2 samples) lasts 20 min and is an event. */
  cr_assert_eq(mt_hypo_events(bg, 60, 0.0, 10.0, ev, 4, &n), MT_OK);
  cr_assert_eq(n, 2);
  cr_assert_eq(ev[0].onset_min, 200.0); /* sample 20 at dt = 10 */
  bg[5] = NAN;
  cr_assert_eq(mt_hypo_events(bg, 60, 0.0, 5.0, ev, 4, &n), MT_EINVAL);
}

/*
** Alerts on the two-run trace. The event (onset 200, lasting to 220) takes
** alerts in [200 - 60, 200 + 15] = [140, 215].
**   170  in the window                      true
**    50  no event near                      false
**   215  = onset + 15, window end included  true
**    90  10 min before the 10-min run, which is not an event: false
**   250  after the event                    false
**   140  = onset - 60, window start included: true, the earliest
**   102  inside the 10-min run (not an event): false
**   217  inside the event, after onset + 15: neutral
**   139  one minute before the window        false
** true 3, false 5, neutral 1, alerts 9.
** sensitivity = 1/1; precision = 3 / (3 + 5) = 0.375;
** lead = 200 - 140 = 60 (earliest counting alert), median of {60} = 60;
** false alerts per day = 5 / 0.5 = 10. All exact in binary.
*/
Test(score, hypo_score_two_runs)
{
  double bg[60];
  trace_two_runs(bg);
  mt_hypo_event ev[4];
  int n;
  cr_assert_eq(mt_hypo_events(bg, 60, 0.0, 5.0, ev, 4, &n), MT_OK);
  const double alerts[] = {170, 50, 215, 90, 250, 140, 102, 217, 139};
  mt_hypo_stats s;
  cr_assert_eq(mt_hypo_score(ev, n, alerts, N_OF(alerts), 0.5, &s), MT_OK);
  cr_assert_eq(s.n_events, 1);
  cr_assert_eq(s.n_detected, 1);
  cr_assert_eq(s.n_alerts, 9);
  cr_assert_eq(s.n_true_alerts, 3);
  cr_assert_eq(s.n_false_alerts, 5);
  cr_assert_eq(s.n_neutral_alerts, 1);
  cr_assert_eq(s.sensitivity, 1.0);
  cr_assert_eq(s.precision, 0.375);
  cr_assert_eq(s.median_lead_min, 60.0);
  cr_assert_eq(s.false_alerts_per_day, 10.0);
  cr_assert_eq(ev[0].detected, 1);
  cr_assert_eq(ev[0].lead_min, 60.0);
}

/*
** Three events, dt = 5 from t0 = 1000, 100 samples (t = 1000..1495), 100
** elsewhere:
**   E1 samples 10..12 (t 1050..1060) = 60: 3 samples = 15 min, exactly the
**      minimum, an event; onset 1050, window [990, 1065]
**   E2 samples 40..45 (t 1200..1225) = 65: 30 min; onset 1200, window
**      [1140, 1215], inside [1200, 1230)
**   E3 samples 96..99 (t 1480..1495) = 50: 20 min, still going at the end:
**      an event; onset 1480, window [1420, 1495]
** Alerts:
**   1020  E1 window: true, lead 1050 - 1020 = 30
**   1205  E2 window, after onset: true, lead 1200 - 1205 = -5
**   1228  inside E2 after onset + 15: neutral
**   1300  no window, no event: false
** E3 has no alert: missed. sensitivity 2/3; precision 2 / (2 + 1) = 2/3;
** median lead of {30, -5} = (30 - 5) / 2 = 12.5; false per day 1 / 1 = 1.
** Tolerance 1e-15 relative for the ratios; the rest exact.
*/
Test(score, hypo_score_three_events)
{
  double bg[100];
  for (int i = 0; i < 100; i++)
    bg[i] = 100;
  for (int i = 10; i <= 12; i++)
    bg[i] = 60;
  for (int i = 40; i <= 45; i++)
    bg[i] = 65;
  for (int i = 96; i <= 99; i++)
    bg[i] = 50;
  mt_hypo_event ev[50];
  int n;
  cr_assert_eq(mt_hypo_events(bg, 100, 1000.0, 5.0, ev, 50, &n), MT_OK);
  cr_assert_eq(n, 3);
  cr_assert_eq(ev[0].onset_min, 1050.0);
  cr_assert_eq(ev[0].duration_min, 15.0);
  cr_assert_eq(ev[1].onset_min, 1200.0);
  cr_assert_eq(ev[1].duration_min, 30.0);
  cr_assert_eq(ev[2].onset_min, 1480.0);
  cr_assert_eq(ev[2].duration_min, 20.0);

  const double alerts[] = {1300, 1228, 1205, 1020};
  mt_hypo_stats s;
  cr_assert_eq(mt_hypo_score(ev, n, alerts, N_OF(alerts), 1.0, &s), MT_OK);
  cr_assert_eq(s.n_detected, 2);
  cr_assert_eq(s.n_true_alerts, 2);
  cr_assert_eq(s.n_false_alerts, 1);
  cr_assert_eq(s.n_neutral_alerts, 1);
  assert_rel(s.sensitivity, 2.0 / 3.0, 1e-15, "sensitivity");
  assert_rel(s.precision, 2.0 / 3.0, 1e-15, "precision");
  cr_assert_eq(s.median_lead_min, 12.5);
  cr_assert_eq(s.false_alerts_per_day, 1.0);
  cr_assert_eq(ev[0].lead_min, 30.0);
  cr_assert_eq(ev[1].lead_min, -5.0);
  cr_assert(!ev[2].detected && isnan(ev[2].lead_min));

  /* Odd count: drop the E2 alert; median of {30} = 30. No alerts at all:
     precision 0/0 is NaN, median NaN, sensitivity 0. */
  const double one[] = {1020};
  cr_assert_eq(mt_hypo_score(ev, n, one, 1, 1.0, &s), MT_OK);
  cr_assert_eq(s.median_lead_min, 30.0);
  cr_assert_eq(mt_hypo_score(ev, n, NULL, 0, 1.0, &s), MT_OK);
  cr_assert(isnan(s.precision) && isnan(s.median_lead_min));
  cr_assert_eq(s.sensitivity, 0.0);
  cr_assert_eq(mt_hypo_score(ev, n, one, 1, 0.0, &s), MT_EINVAL);
}

/*
** Median over three detected events with leads 50, 10, 30 (unsorted):
** sorted 10, 30, 50, median 30. Events built by hand, onsets 100, 300, 500;
** alerts 50, 290, 470 give leads 50, 10, 30.
*/
Test(score, hypo_median_odd)
{
  mt_hypo_event ev[3] = {{.onset_min = 100, .duration_min = 20},
                         {.onset_min = 300, .duration_min = 20},
                         {.onset_min = 500, .duration_min = 20}};
  const double alerts[] = {470, 50, 290};
  mt_hypo_stats s;
  cr_assert_eq(mt_hypo_score(ev, 3, alerts, 3, 1.0, &s), MT_OK);
  cr_assert_eq(s.median_lead_min, 30.0);
  cr_assert_eq(ev[0].lead_min, 50.0);
}

/*
** Baselines on irregular readings t = {0, 10, 12, 20, 31, 40} min,
** y = {90, 100, 110, 118, 125, 140} mg/dL, forecast from k = 5 (t = 40).
** Persistence: y[5] = 140 for any h.
** Linear, window [10, 40] (10 itself included, 0 excluded): points
** (10,100) (12,110) (20,118) (31,125) (40,140).
**   tbar = 113/5 = 22.6, ybar = 593/5 = 118.6
**   dx = -12.6 -10.6 -2.6 8.4 17.4; dy = -18.6 -8.6 -0.6 6.4 21.4
**   Sxx = 158.76 + 112.36 + 6.76 + 70.56 + 302.76 = 651.2
**   Sxy = 234.36 + 91.16 + 1.56 + 53.76 + 372.36 = 753.2
**   slope b = Sxy / Sxx = 753.2 / 651.2 = 1883/1628
**   forecast at 40 + 30 = 70: ybar + b (70 - tbar)
**     = 118.6 + 1883/1628 * 47.4 = 282335/1628 = 173.42444717444718
** Tolerance 1e-13 relative.
*/
Test(score, baselines)
{
  const double t[] = {0, 10, 12, 20, 31, 40};
  double y[] = {90, 100, 110, 118, 125, 140};
  cr_assert_eq(mt_baseline_persistence(t, y, 6, 5, 30.0), 140.0);
  assert_rel(mt_baseline_linear(t, y, 6, 5, 30.0), 282335.0 / 1628.0, 1e-13,
             "linear h=30");
  /* h = 0: the fitted value at t = 40, 118.6 + b * 17.4 = 225845/1628. */
  assert_rel(mt_baseline_linear(t, y, 6, 5, 0.0), 225845.0 / 1628.0, 1e-13,
             "linear h=0");

  /* The same on a Unix-minute clock (t + 28,000,000): centred sums keep the
     answer to 1e-9 relative. */
  double tu[6];
  for (int i = 0; i < 6; i++)
    tu[i] = t[i] + 28e6;
  assert_rel(mt_baseline_linear(tu, y, 6, 5, 30.0), 282335.0 / 1628.0, 1e-9,
             "linear unix clock");

  /*
  ** A missing reading in the window (t = 20) is left out: points (10,100)
  ** (12,110) (31,125) (40,140); tbar = 23.25, ybar = 118.75,
  ** Sxx = 175.5625 + 126.5625 + 60.0625 + 280.5625 = 642.75,
  ** Sxy = 248.4375 + 98.4375 + 48.4375 + 355.9375 = 751.25,
  ** forecast = 118.75 + (751.25 / 642.75) * 46.75 = 445790/2571.
  */
  y[3] = NAN;
  assert_rel(mt_baseline_linear(t, y, 6, 5, 30.0), 445790.0 / 2571.0, 1e-13,
             "linear with gap");

  /* Missing reading at k: persistence falls back to the last finite one
     (y[4] = 125). */
  y[3] = 118;
  y[5] = NAN;
  cr_assert_eq(mt_baseline_persistence(t, y, 6, 5, 30.0), 125.0);
}

/*
** Linear with one reading in the window falls back to persistence: t = {0,
** 40}, window of k = 1 is [10, 40], holding only (40, 140). At k = 0 there
** is one reading in all. Invalid arguments give NaN.
*/
Test(score, baselines_fallback)
{
  const double t[] = {0, 40};
  const double y[] = {90, 140};
  cr_assert_eq(mt_baseline_linear(t, y, 2, 1, 30.0), 140.0);
  cr_assert_eq(mt_baseline_linear(t, y, 2, 0, 30.0), 90.0);
  /* Two readings at one time: Sxx = 0, persistence (y[k] = 70). */
  const double ts[] = {5, 5};
  const double ys[] = {60, 70};
  cr_assert_eq(mt_baseline_linear(ts, ys, 2, 1, 10.0), 70.0);
  /* Two readings 30 min apart, both in the window (edge included):
     slope (140 - 90) / 30 = 5/3, forecast at 40 + 15 = 140 + 25 = 165. */
  const double t2[] = {10, 40};
  assert_rel(mt_baseline_linear(t2, y, 2, 1, 15.0), 165.0, 1e-13, "2 points");
  cr_assert(isnan(mt_baseline_linear(t, y, 2, 2, 30.0)));
  cr_assert(isnan(mt_baseline_persistence(t, y, 2, -1, 30.0)));
  cr_assert(isnan(mt_baseline_persistence(t, y, 2, 1, -5.0)));
  cr_assert(isnan(mt_baseline_linear(NULL, y, 2, 1, 30.0)));
  const double none[] = {NAN, NAN};
  cr_assert(isnan(mt_baseline_persistence(t, none, 2, 1, 30.0)));
}
