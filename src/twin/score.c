/*
** Scoring of glucose forecasts against truth.
**
** Clarke error grid: Clarke WL, Cox D, Gonder-Frederick LA, Carter W, Pohl SL,
** "Evaluating clinical accuracy of systems for self-monitoring of blood
** glucose", Diabetes Care 10(5):622-628, 1987. The paper draws the zones; the
** boundary equations used here are the common formulation (zones tested in
** the order A, E, C, D, the rest B), as in include/medtwin/score.h:
**   A  (ref <= 70 and pred <= 70) or 0.8 ref <= pred <= 1.2 ref
**   E  (ref >= 180 and pred <= 70) or (ref <= 70 and pred >= 180)
**   C  (70 <= ref <= 290 and pred >= ref + 110)
**      or (130 <= ref <= 180 and pred <= 7/5 ref - 182)
**   D  (ref >= 240 and 70 <= pred <= 180)
**      or (ref <= 175/3 and 70 <= pred <= 180)
**      or (175/3 <= ref <= 70 and pred >= 6/5 ref)
** The fractional slopes are cleared of denominators before comparing
** (0.8 ref <= pred  <=>  4 ref <= 5 pred, and so on), so a pair of integer
** mg/dL values on a boundary line lands on it exactly, with no rounding of
** 0.8, 1.2, 7/5 or 175/3 in binary.
**
** Hypoglycaemia events follow the CGM event definition of the International
** Consensus (Battelino et al., Diabetes Care 42:1593, 2019: BG < 70 mg/dL for
** at least 15 consecutive minutes); the alert windows and the neutral-alert
** rule are this project's and are stated in score.h.
*/
#include <math.h>
#include <stddef.h>

#include "medtwin/error.h"
#include "medtwin/score.h"

/* ---- Clarke error grid ------------------------------------------------- */

static int clarke_a(double r, double p)
{
  return (r <= 70.0 && p <= 70.0) || (4.0 * r <= 5.0 * p && 5.0 * p <= 6.0 * r);
}

static int clarke_e(double r, double p)
{
  return (r >= 180.0 && p <= 70.0) || (r <= 70.0 && p >= 180.0);
}

static int clarke_c(double r, double p)
{
  return (r >= 70.0 && r <= 290.0 && p >= r + 110.0) ||
         (r >= 130.0 && r <= 180.0 && 5.0 * p <= 7.0 * r - 910.0);
}

static int clarke_d(double r, double p)
{
  int mid = p >= 70.0 && p <= 180.0;
  return (r >= 240.0 && mid) || (3.0 * r <= 175.0 && mid) ||
         (3.0 * r >= 175.0 && r <= 70.0 && 5.0 * p >= 6.0 * r);
}

char mt_clarke_zone(double ref_mgdl, double pred_mgdl)
{
  double r = ref_mgdl, p = pred_mgdl;
  if (!isfinite(r) || !isfinite(p) || r < 0.0 || p < 0.0)
    return 0;
  if (clarke_a(r, p))
    return 'A';
  if (clarke_e(r, p))
    return 'E';
  if (clarke_c(r, p))
    return 'C';
  if (clarke_d(r, p))
    return 'D';
  return 'B';
}

/* A glucose value that is neither missing nor usable. */
static int bad_value(double v)
{
  return isinf(v) || v < 0.0;
}

int mt_clarke_grid(const double *ref_mgdl, const double *pred_mgdl, int n,
                   mt_clarke_counts *out)
{
  if (!ref_mgdl || !pred_mgdl || !out || n < 0)
    return MT_EINVAL;
  mt_clarke_counts c = {0};
  for (int i = 0; i < n; i++) {
    double r = ref_mgdl[i], p = pred_mgdl[i];
    if (bad_value(r) || bad_value(p))
      return MT_ERANGE;
    if (isnan(r) || isnan(p)) {
      c.n_skipped++;
      continue;
    }
    c.count[mt_clarke_zone(r, p) - 'A']++;
    c.n_used++;
  }
  for (int z = 0; z < 5; z++)
    c.frac[z] = c.n_used > 0 ? (double)c.count[z] / c.n_used : NAN;
  *out = c;
  return MT_OK;
}

/* ---- Point forecast metrics -------------------------------------------- */

int mt_point_metrics_compute(const double *ref_mgdl, const double *pred_mgdl,
                             int n, mt_point_metrics *out)
{
  if (!ref_mgdl || !pred_mgdl || !out || n < 0)
    return MT_EINVAL;
  int used = 0;
  double se = 0.0, ae = 0.0, e = 0.0, are = 0.0;
  for (int i = 0; i < n; i++) {
    double r = ref_mgdl[i], p = pred_mgdl[i];
    if (isinf(r) || isinf(p))
      return MT_ERANGE;
    if (isnan(r) || isnan(p))
      continue;
    if (r <= 0.0)
      return MT_ERANGE;
    double d = p - r;
    se += d * d;
    ae += fabs(d);
    e += d;
    are += fabs(d) / r;
    used++;
  }
  mt_point_metrics m = {.n_used = used, .n_skipped = n - used};
  m.rmse_mgdl = used > 0 ? sqrt(se / used) : NAN;
  m.mae_mgdl = used > 0 ? ae / used : NAN;
  m.me_mgdl = used > 0 ? e / used : NAN;
  m.mard_pct = used > 0 ? 100.0 * are / used : NAN;
  *out = m;
  return MT_OK;
}

int mt_interval_coverage(const double *ref_mgdl, const double *lo_mgdl,
                         const double *hi_mgdl, int n, mt_coverage *out)
{
  if (!ref_mgdl || !lo_mgdl || !hi_mgdl || !out || n < 0)
    return MT_EINVAL;
  int used = 0, inside = 0;
  double width = 0.0;
  for (int i = 0; i < n; i++) {
    double r = ref_mgdl[i], lo = lo_mgdl[i], hi = hi_mgdl[i];
    if (isinf(r) || isinf(lo) || isinf(hi))
      return MT_ERANGE;
    if (isnan(r) || isnan(lo) || isnan(hi))
      continue;
    if (lo > hi)
      return MT_EINVAL;
    inside += lo <= r && r <= hi;
    width += hi - lo;
    used++;
  }
  mt_coverage c = {.n_used = used, .n_skipped = n - used, .n_inside = inside};
  c.coverage = used > 0 ? (double)inside / used : NAN;
  c.mean_width_mgdl = used > 0 ? width / used : NAN;
  *out = c;
  return MT_OK;
}

/* ---- Hypoglycaemia events ---------------------------------------------- */

int mt_hypo_events(const double *bg_mgdl, int n, double t0_min, double dt_min,
                   mt_hypo_event *ev, int cap, int *n_events)
{
  if (!bg_mgdl || !n_events || n < 0 || cap < 0 || (cap > 0 && !ev) ||
      !isfinite(t0_min) || !isfinite(dt_min) || !(dt_min > 0.0))
    return MT_EINVAL;
  for (int i = 0; i < n; i++)
    if (!isfinite(bg_mgdl[i]))
      return MT_EINVAL;
  int found = 0;
  for (int i = 0; i < n;) {
    if (!(bg_mgdl[i] < MT_HYPO_THRESHOLD_MGDL)) {
      i++;
      continue;
    }
    int start = i;
    double nadir = bg_mgdl[i];
    while (i < n && bg_mgdl[i] < MT_HYPO_THRESHOLD_MGDL)
      nadir = fmin(nadir, bg_mgdl[i++]);
    double dur = (i - start) * dt_min;
    if (dur < MT_HYPO_MIN_DURATION_MIN)
      continue;
    if (found < cap)
      ev[found] = (mt_hypo_event){.onset_min = t0_min + start * dt_min,
                                  .duration_min = dur, .nadir_mgdl = nadir,
                                  .detected = 0, .lead_min = NAN};
    found++;
  }
  *n_events = found;
  return found > cap ? MT_EINVAL : MT_OK;
}

/* ---- Alert scoring ----------------------------------------------------- */

static int alert_counts(const mt_hypo_event *e, double a)
{
  return a >= e->onset_min - MT_HYPO_ALERT_BEFORE_MIN &&
         a <= e->onset_min + MT_HYPO_ALERT_AFTER_MIN;
}

static int alert_inside(const mt_hypo_event *e, double a)
{
  return a >= e->onset_min && a < e->onset_min + e->duration_min;
}

/* Classify each alert; counts go to s. */
static void classify_alerts(const mt_hypo_event *ev, int n_events,
                            const double *alert, int n_alerts, mt_hypo_stats *s)
{
  for (int j = 0; j < n_alerts; j++) {
    int counts = 0, inside = 0;
    for (int i = 0; i < n_events; i++) {
      counts |= alert_counts(&ev[i], alert[j]);
      inside |= alert_inside(&ev[i], alert[j]);
    }
    if (counts)
      s->n_true_alerts++;
    else if (inside)
      s->n_neutral_alerts++;
    else
      s->n_false_alerts++;
  }
}

/* Lead time of one event: onset - earliest counting alert, NaN if none. */
static double event_lead(const mt_hypo_event *e, const double *alert,
                         int n_alerts)
{
  double first = INFINITY;
  for (int j = 0; j < n_alerts; j++)
    if (alert_counts(e, alert[j]))
      first = fmin(first, alert[j]);
  return isinf(first) ? NAN : e->onset_min - first;
}

/*
** Median of the finite lead_min of n events without a work array: the
** order statistic of rank r is the value v with #(< v) <= r < #(<= v).
** O(n^2), and n is the number of events, a handful per patient-day.
*/
static double rank_value(const mt_hypo_event *ev, int n, int r)
{
  for (int i = 0; i < n; i++) {
    double v = ev[i].lead_min;
    if (isnan(v))
      continue;
    int below = 0, upto = 0;
    for (int j = 0; j < n; j++) {
      if (isnan(ev[j].lead_min))
        continue;
      below += ev[j].lead_min < v;
      upto += ev[j].lead_min <= v;
    }
    if (below <= r && r < upto)
      return v;
  }
  return NAN;
}

static double median_lead(const mt_hypo_event *ev, int n, int n_finite)
{
  if (n_finite == 0)
    return NAN;
  if (n_finite % 2)
    return rank_value(ev, n, n_finite / 2);
  return 0.5 * (rank_value(ev, n, n_finite / 2 - 1) +
                rank_value(ev, n, n_finite / 2));
}

int mt_hypo_score(mt_hypo_event *ev, int n_events, const double *alert_t_min,
                  int n_alerts, double days, mt_hypo_stats *out)
{
  if (!out || n_events < 0 || n_alerts < 0 || (n_events > 0 && !ev) ||
      (n_alerts > 0 && !alert_t_min) || !isfinite(days) || !(days > 0.0))
    return MT_EINVAL;
  for (int j = 0; j < n_alerts; j++)
    if (!isfinite(alert_t_min[j]))
      return MT_EINVAL;
  mt_hypo_stats s = {.n_events = n_events, .n_alerts = n_alerts};
  classify_alerts(ev, n_events, alert_t_min, n_alerts, &s);
  for (int i = 0; i < n_events; i++) {
    ev[i].lead_min = event_lead(&ev[i], alert_t_min, n_alerts);
    ev[i].detected = !isnan(ev[i].lead_min);
    s.n_detected += ev[i].detected;
  }
  int judged = s.n_true_alerts + s.n_false_alerts;
  s.sensitivity = n_events > 0 ? (double)s.n_detected / n_events : NAN;
  s.precision = judged > 0 ? (double)s.n_true_alerts / judged : NAN;
  s.median_lead_min = median_lead(ev, n_events, s.n_detected);
  s.false_alerts_per_day = s.n_false_alerts / days;
  *out = s;
  return MT_OK;
}

/* ---- Baseline forecasts ------------------------------------------------ */

/* Index of the last finite y at or before k, or -1. Arguments checked. */
static int last_finite(const double *t, const double *y, int n, int k,
                       double h)
{
  if (!t || !y || k < 0 || k >= n || !isfinite(h) || h < 0.0 ||
      !isfinite(t[k]))
    return -1;
  for (int i = k; i >= 0; i--)
    if (isfinite(y[i]))
      return i;
  return -1;
}

double mt_baseline_persistence(const double *t, const double *y, int n, int k,
                               double h)
{
  int i = last_finite(t, y, n, k, h);
  return i < 0 ? NAN : y[i];
}

/*
** Least squares y = a + b x over the window, x = t - t[k] (centred two-pass
** sums, so Unix-minute clocks lose no digits): b = Sxy / Sxx with
** Sxx = sum (x - xbar)^2, Sxy = sum (x - xbar)(y - ybar); the forecast is
** ybar + b (h - xbar).
*/
double mt_baseline_linear(const double *t, const double *y, int n, int k,
                          double h)
{
  int last = last_finite(t, y, n, k, h);
  if (last < 0)
    return NAN;
  double tk = t[k], sx = 0.0, sy = 0.0;
  int m = 0, first = k + 1;
  for (int i = k; i >= 0 && t[i] >= tk - MT_BASELINE_LINEAR_WINDOW_MIN; i--) {
    first = i;
    if (isfinite(y[i])) {
      sx += t[i] - tk;
      sy += y[i];
      m++;
    }
  }
  if (m < 2)
    return y[last];
  double xbar = sx / m, ybar = sy / m, sxx = 0.0, sxy = 0.0;
  for (int i = first; i <= k; i++) {
    if (!isfinite(y[i]))
      continue;
    double dx = t[i] - tk - xbar;
    sxx += dx * dx;
    sxy += dx * (y[i] - ybar);
  }
  if (!(sxx > 0.0))
    return y[last];
  return ybar + sxy / sxx * (h - xbar);
}
