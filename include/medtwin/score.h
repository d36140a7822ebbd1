/*
** Scoring of glucose forecasts against truth: the Clarke error grid (Clarke
** et al., Diabetes Care 10:622, 1987), point metrics (RMSE, MARD, mean error),
** prediction-interval coverage, hypoglycaemia event and alert scoring, and
** the two reference forecasts every forecast is compared with (persistence
** and a 30-minute least-squares line).
**
** All functions are pure: arrays are borrowed for the call, nothing is
** allocated, and nothing is kept. Glucose is in mg/dL, time in minutes on the
** caller's clock (any origin, the same for every argument of one call).
** NaN marks a missing value where a function says so.
*/
#ifndef MEDTWIN_SCORE_H
#define MEDTWIN_SCORE_H

/* ---- Clarke error grid ------------------------------------------------- */

/*
** Clarke zone of one (reference, prediction) pair in mg/dL: 'A' .. 'E'.
** The zones are tested in the order A, E, C, D; what none claims is B:
**   A  (ref <= 70 and pred <= 70) or 0.8 ref <= pred <= 1.2 ref
**   E  (ref >= 180 and pred <= 70) or (ref <= 70 and pred >= 180)
**   C  (70 <= ref <= 290 and pred >= ref + 110)
**      or (130 <= ref <= 180 and pred <= 7/5 ref - 182)
**   D  (ref >= 240 and 70 <= pred <= 180)
**      or (ref <= 175/3 and 70 <= pred <= 180)
**      or (175/3 <= ref <= 70 and pred >= 6/5 ref)
** Every boundary belongs to the zone it is written in. Returns 0 (not a
** zone letter) if either value is negative, infinite or NaN.
*/
char mt_clarke_zone(double ref_mgdl, double pred_mgdl);

typedef struct mt_clarke_counts {
  int n_used;          /* pairs classified */
  int n_skipped;       /* pairs with a NaN in ref or pred */
  int count[5];        /* pairs in zone A .. E, index zone - 'A' */
  double frac[5];      /* count / n_used; NaN when n_used == 0 */
} mt_clarke_counts;

/*
** Zone counts and fractions of n pairs ref_mgdl[i], pred_mgdl[i]. A pair
** with a NaN in either is skipped and counted in n_skipped. Returns 0;
** MT_EINVAL if an array or out is NULL or n < 0; MT_ERANGE if a value is
** negative or infinite. On error *out is left untouched.
*/
int mt_clarke_grid(const double *ref_mgdl, const double *pred_mgdl, int n,
                   mt_clarke_counts *out);

/* ---- Point forecast metrics -------------------------------------------- */

typedef struct mt_point_metrics {
  int n_used;          /* pairs scored */
  int n_skipped;       /* pairs with a NaN in ref or pred */
  double rmse_mgdl;    /* sqrt(mean((pred - ref)^2)) */
  double mae_mgdl;     /* mean(|pred - ref|) */
  double me_mgdl;      /* mean(pred - ref): > 0 forecasts run high */
  double mard_pct;     /* 100 * mean(|pred - ref| / ref) */
} mt_point_metrics;

/*
** RMSE, MAE, mean error and MARD of n pairs. A pair with a NaN in either
** value is skipped and counted; with no pair left every metric is NaN.
** Returns 0; MT_EINVAL if an array or out is NULL or n < 0; MT_ERANGE if a
** value is infinite or a used ref is <= 0 (MARD divides by it). On error
** *out is left untouched.
*/
int mt_point_metrics_compute(const double *ref_mgdl, const double *pred_mgdl,
                             int n, mt_point_metrics *out);

typedef struct mt_coverage {
  int n_used;          /* triples scored */
  int n_skipped;       /* triples with a NaN in ref, lo or hi */
  int n_inside;        /* lo <= ref <= hi */
  double coverage;     /* n_inside / n_used; NaN when n_used == 0 */
  double mean_width_mgdl; /* mean(hi - lo); NaN when n_used == 0 */
} mt_coverage;

/*
** Fraction of ref_mgdl[i] inside the closed interval [lo_mgdl[i],
** hi_mgdl[i]]. A triple with a NaN is skipped and counted. Returns 0;
** MT_EINVAL if an array or out is NULL, n < 0, or a used lo > hi; MT_ERANGE
** if a value is infinite. On error *out is left untouched.
*/
int mt_interval_coverage(const double *ref_mgdl, const double *lo_mgdl,
                         const double *hi_mgdl, int n, mt_coverage *out);

/* ---- Hypoglycaemia events and alerts ----------------------------------- */

#define MT_HYPO_THRESHOLD_MGDL 70.0 /* event: BG below this ... */
#define MT_HYPO_MIN_DURATION_MIN 15.0 /* ... for at least this long */
#define MT_HYPO_ALERT_BEFORE_MIN 60.0 /* an alert counts this long before onset */
#define MT_HYPO_ALERT_AFTER_MIN 15.0  /* ... and this long after it */

typedef struct mt_hypo_event {
  double onset_min;    /* time of the first sample below 70 of the run */
  double duration_min; /* samples in the run * dt; the run ends at onset + this */
  double nadir_mgdl;   /* lowest BG of the run */
  int detected;        /* set by mt_hypo_score: some alert counts for it */
  double lead_min;     /* set by mt_hypo_score: onset - earliest counting
                          alert (negative if raised after onset); NaN if
                          not detected */
} mt_hypo_event;

/*
** Hypoglycaemic events of a truth series bg_mgdl[i] at t0_min + i * dt_min.
** A run is a maximal stretch of consecutive samples with BG < 70; each
** sample stands for the dt minutes that start at it, so a run of m samples
** lasts m * dt and is an event when m * dt >= 15 (with dt = 5: three
** samples). Runs are separated by at least one sample >= 70. A run at the
** start of the series has its onset at t0 (the true onset may be earlier);
** a run still going at the end is an event if its observed length already
** reaches 15 minutes.
**
** Writes up to cap events to ev (NULL allowed when cap == 0), in time
** order, sets *n_events to the number found, and returns 0, or MT_EINVAL if
** there are more than cap (ev[0..cap-1] are then written; (n + 1) / 2 is
** always enough). Also MT_EINVAL if bg_mgdl or n_events is NULL, n < 0, cap
** < 0, dt_min is not finite and > 0, t0_min is not finite, or a BG value is
** not finite (a truth series has no gaps).
*/
int mt_hypo_events(const double *bg_mgdl, int n, double t0_min, double dt_min,
                   mt_hypo_event *ev, int cap, int *n_events);

typedef struct mt_hypo_stats {
  int n_events;        /* events scored */
  int n_detected;      /* events some alert counts for */
  int n_alerts;        /* alerts given */
  int n_true_alerts;   /* alerts that count for at least one event */
  int n_false_alerts;  /* alerts that count for none and lie in no event */
  int n_neutral_alerts;/* alerts that count for none but lie inside an event */
  double sensitivity;  /* n_detected / n_events; NaN if no event */
  double precision;    /* true / (true + false); NaN if that is 0 / 0 */
  double median_lead_min;     /* median lead over detected events; NaN if none */
  double false_alerts_per_day;/* n_false_alerts / days */
} mt_hypo_stats;

/*
** Score n_alerts alert times alert_t_min (any order) against events found by
** mt_hypo_events. An alert at time a counts for an event with onset T when
** T - 60 <= a <= T + 15 (both ends included). An event is detected when at
** least one alert counts for it; its lead time is T minus the earliest such
** alert. An alert that counts for two events (overlapping windows) is one
** true alert.
**
** Edge case, by choice: an alert that counts for no event but is raised
** while an event is going on (T + 15 < a < T + duration) is neutral: the
** patient is hypoglycaemic, so it is not false, but it is too late to count.
** Neutral alerts are reported and left out of precision and of the false
** alert rate. An alert during a run shorter than 15 minutes is false, since
** that run is not an event. Alerts outside the series span count like any
** other, so pass only those raised while the truth was observed.
**
** days is the observed time in patient-days, the false-alert denominator.
** Sets ev[i].detected and ev[i].lead_min. Returns 0, or MT_EINVAL if out is
** NULL, ev is NULL with n_events > 0, alert_t_min is NULL with n_alerts >
** 0, a count is negative, an alert time is not finite, or days is not
** finite and > 0. On error out and ev are left untouched.
*/
int mt_hypo_score(mt_hypo_event *ev, int n_events, const double *alert_t_min,
                  int n_alerts, double days, mt_hypo_stats *out);

/* ---- Baseline forecasts ------------------------------------------------ */

#define MT_BASELINE_LINEAR_WINDOW_MIN 30.0

/*
** Baselines for a CGM series y[i] (mg/dL, NaN = missing) at nondecreasing,
** possibly irregular times t[i] (min), forecasting the value at t[k] + h
** from the readings up to index k only (causal).
**
** Persistence: the last finite reading at index <= k, whatever h.
** Linear: the least-squares line through the finite readings i <= k with
** t[k] - 30 <= t[i] <= t[k], evaluated at t[k] + h; with fewer than two such
** readings at distinct times, persistence.
**
** Both return NaN if t or y is NULL, k is outside [0, n), h or t[k] is not
** finite or h < 0, or no finite reading exists at index <= k.
*/
double mt_baseline_persistence(const double *t, const double *y, int n, int k,
                               double h);
double mt_baseline_linear(const double *t, const double *y, int n, int k,
                          double h);

#endif
