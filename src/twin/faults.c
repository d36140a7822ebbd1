/*
** Online CGM sensor-fault detection (include/medtwin/faults.h): flat lines,
** implausible jumps, night-time compression lows and gaps, judged one
** reading at a time from the readings and, when the twin has one, its
** forecast of the reading (Facchinetti et al., IEEE Trans Biomed Eng
** 60(2):406, 2013; Baysal et al., J Diabetes Sci Technol 8(6):1091, 2014).
** Thresholds and their rationale: docs/faults.md.
*/
#include <math.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/faults.h"

#define DAY_MIN 1440.0

static const char *const names[MT_FAULT_NKIND] = {
  "none", "flat", "jump", "compression", "gap",
};

const char *mt_fault_name(mt_fault_kind k)
{
  return k >= 0 && k < MT_FAULT_NKIND ? names[k] : NULL;
}

void mt_fault_config_init(mt_fault_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->flat_mgdl = 0.1;
  cfg->flat_min = 30;
  cfg->sensor_lo_mgdl = 39;
  cfg->sensor_hi_mgdl = 600;
  cfg->jump_rate = 5;
  cfg->k_sd = 2;
  cfg->jump_return_frac = 0.5;
  cfg->jump_settle_min = 30;
  cfg->trend_min = 15;
  cfg->night_start_min = 22 * 60;
  cfg->night_end_min = 7 * 60;
  cfg->comp_rate = 2;
  cfg->comp_k_sd = 1.5;
  cfg->comp_window_min = 30;
  cfg->comp_pre_rate = 1;
  cfg->comp_confirm_min = 20;
  cfg->comp_depth_mgdl = 30;
  cfg->comp_low_mgdl = 80;
  cfg->comp_recover_frac = 0.5;
  cfg->comp_max_min = 120;
  cfg->gap_min = 15;
}

static int positive(double x)
{
  return isfinite(x) && x > 0;
}

static int clock_time(double x)
{
  return isfinite(x) && x >= 0 && x < DAY_MIN;
}

static int config_ok(const mt_fault_config *c)
{
  const double pos[] = {
    c->flat_mgdl, c->flat_min, c->jump_rate, c->k_sd, c->jump_settle_min,
    c->trend_min, c->comp_rate, c->comp_k_sd, c->comp_window_min,
    c->comp_pre_rate, c->comp_confirm_min, c->comp_depth_mgdl,
    c->comp_low_mgdl, c->comp_max_min, c->gap_min,
  };
  for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
    if (!positive(pos[i]))
      return 0;
  return c->jump_return_frac > 0 && c->jump_return_frac < 1 &&
         c->comp_recover_frac > 0 && c->comp_recover_frac < 1 &&
         clock_time(c->night_start_min) && clock_time(c->night_end_min) &&
         isfinite(c->sensor_lo_mgdl) && isfinite(c->sensor_hi_mgdl) &&
         c->sensor_lo_mgdl < c->sensor_hi_mgdl;
}

int mt_fault_init(mt_fault_detector *d, const mt_fault_config *cfg)
{
  if (!d)
    return MT_EINVAL;
  memset(d, 0, sizeof *d);
  mt_fault_config def;
  if (!cfg) {
    mt_fault_config_init(&def);
    cfg = &def;
  }
  if (!config_ok(cfg))
    return MT_EINVAL;
  d->cfg = *cfg;
  d->ep = MT_FAULT_NONE;
  return MT_OK;
}

int mt_fault_gap(const mt_fault_detector *d, double t_min)
{
  return d->n_read > 0 && t_min - d->t_last > d->cfg.gap_min;
}

/* ---- accepted readings and the trend ------------------------------------ */

static void restart_trend(mt_fault_detector *d)
{
  d->n_hist = 0;
}

/* Accept a reading: append it, dropping the oldest when full and those
** older than the rules look back: the window before a compression's drop
** (which began up to 2 gap_min before the last reading), or the trend's. */
static void accept(mt_fault_detector *d, double t, double v)
{
  double keep = fmax(d->cfg.trend_min, d->cfg.comp_window_min) +
                2 * d->cfg.gap_min;
  int drop = 0;
  while (drop < d->n_hist && t - d->hist_t[drop] > keep)
    drop++;
  if (d->n_hist - drop == MT_FAULT_HIST)
    drop++;
  d->n_hist -= drop;
  memmove(d->hist_t, d->hist_t + drop, (size_t)d->n_hist * sizeof(double));
  memmove(d->hist_v, d->hist_v + drop, (size_t)d->n_hist * sizeof(double));
  d->hist_t[d->n_hist] = t;
  d->hist_v[d->n_hist] = v;
  d->n_hist++;
}

/* Least-squares slope (mg/dL/min) of the accepted readings up to index
** last within trend_min of it; 0 with fewer than two. */
static double trend(const mt_fault_detector *d, int last)
{
  int first = last;
  double t0 = d->hist_t[last];
  while (first > 0 && t0 - d->hist_t[first - 1] <= d->cfg.trend_min)
    first--;
  int n = last - first + 1;
  if (n < 2)
    return 0;
  double tm = 0, vm = 0;
  for (int i = first; i <= last; i++) {
    tm += d->hist_t[i];
    vm += d->hist_v[i];
  }
  tm /= n;
  vm /= n;
  double stt = 0, stv = 0;
  for (int i = first; i <= last; i++) {
    stt += (d->hist_t[i] - tm) * (d->hist_t[i] - tm);
    stv += (d->hist_t[i] - tm) * (d->hist_v[i] - vm);
  }
  return stt > 0 ? stv / stt : 0;
}

/* The lowest accepted reading over the comp_window_min up to index last;
** NAN unless the history reaches back that far (none of it unseen). */
static double floor_before(const mt_fault_detector *d, int last)
{
  const mt_fault_config *c = &d->cfg;
  double t0 = d->hist_t[last], lo = d->hist_v[last];
  if (d->hist_t[0] > t0 - c->comp_window_min)
    return NAN;
  for (int i = last - 1; i >= 0 && t0 - d->hist_t[i] <= c->comp_window_min; i--)
    lo = fmin(lo, d->hist_v[i]);
  return lo;
}

/* ---- flat line ----------------------------------------------------------- */

/* Extend or restart the run with this reading; 1 when the reading belongs
** to a flat line. */
static int flat_step(mt_fault_detector *d, double t, double v)
{
  const mt_fault_config *c = &d->cfg;
  if (d->n_read == 0 || fabs(v - d->run_v) > c->flat_mgdl) {
    d->run_v = v;
    d->run_t0 = t;
    return 0;
  }
  int clipped = d->run_v <= c->sensor_lo_mgdl + c->flat_mgdl ||
                d->run_v >= c->sensor_hi_mgdl - c->flat_mgdl;
  return !clipped && t - d->run_t0 >= c->flat_min;
}

/* ---- episodes ------------------------------------------------------------ */

static int is_night(const mt_fault_config *c, double t, double clock_offset)
{
  double h = fmod(clock_offset + t, DAY_MIN);
  if (h < 0)
    h += DAY_MIN;
  if (c->night_start_min <= c->night_end_min)
    return h >= c->night_start_min && h < c->night_end_min;
  return h >= c->night_start_min || h < c->night_end_min;
}

/* Open an episode at reading (t, v); its reference is accepted reading
** `ref` with the trend s before it. */
static void open_episode(mt_fault_detector *d, mt_fault_kind k, double t,
                         double v, int ref, double s)
{
  d->ep = k;
  d->ep_start = t;
  d->ref_v = d->hist_v[ref];
  d->ref_t = d->hist_t[ref];
  d->ref_s = s;
  d->jump_mgdl = v - (d->ref_v + s * (t - d->ref_t));
  d->prev_v = v;
  d->prev_t = t;
  d->confirmed = 0;
}

/* Whether a compression's drop has reached its depth and a low value. */
static int deep_and_low(const mt_fault_detector *d, double v)
{
  const mt_fault_config *c = &d->cfg;
  return d->floor_v - v >= c->comp_depth_mgdl && v <= c->comp_low_mgdl;
}

/* The open compression, one more reading: 1 while it goes on, 0 when it
** recovered or was not one, -1 when it timed out. */
static int compression_goes_on(mt_fault_detector *d, double t, double v,
                               int fc, double pred, double sd)
{
  const mt_fault_config *c = &d->cfg;
  if (t - d->ep_start > c->comp_max_min)
    return -1;
  if (!d->confirmed && t - d->ref_t > c->comp_confirm_min)
    return 0; /* not sudden: no deep low within the time allowed */
  if (v >= d->floor_v - c->comp_recover_frac * (d->floor_v - d->low_v))
    return 0; /* recovered */
  if (fc && v >= pred - c->comp_k_sd * sd)
    return 0;
  if (!d->confirmed) {
    double rate = (v - d->prev_v) / (t - d->prev_t);
    if (!(rate < -c->comp_rate))
      return 0;
    d->confirmed = deep_and_low(d, v);
  }
  d->prev_v = v;
  d->prev_t = t;
  d->low_v = fmin(d->low_v, v);
  return 1;
}

/* The open jump, one more reading: 1 while it goes on, 0 when it returned,
** -1 when it settled. */
static int jump_goes_on(mt_fault_detector *d, double t, double v, int fc,
                        double pred, double sd)
{
  const mt_fault_config *c = &d->cfg;
  if (fc && fabs(v - pred) <= c->k_sd * sd)
    return 0;
  double ref = d->ref_v + d->ref_s * fmin(t - d->ref_t, c->trend_min);
  if (fabs(v - ref) <= c->jump_return_frac * fabs(d->jump_mgdl))
    return 0;
  return t - d->ep_start >= c->jump_settle_min ? -1 : 1;
}

/* The rate (mg/dL/min) from accepted reading i - 1 to reading (t, v), NAN
** when they are more than gap_min apart or there is none. */
static double rate_from(const mt_fault_detector *d, int i, double t, double v)
{
  if (i < 1 || t - d->hist_t[i - 1] > d->cfg.gap_min)
    return NAN;
  return (v - d->hist_v[i - 1]) / (t - d->hist_t[i - 1]);
}

/*
** Does a compression start at (t, v), a reading falling at `rate` from the
** last accepted one? The drop began at the earliest accepted reading from
** which every interval fell faster than comp_rate; its level is the
** reference. A compression:
**  - began, and is, at night;
**  - is sudden: begun no more than comp_confirm_min ago, on course (at this
**    rate) to reach comp_low_mgdl by then, from a trend not falling faster
**    than comp_pre_rate;
**  - reaches a new low, below every accepted reading of the comp_window_min
**    before the drop (sensor noise relaxing after an excursion only returns
**    to where it was);
**  - with a forecast, lies comp_k_sd SDs below it (a genuine fall the twin
**    expected does not); from the readings alone, has fallen faster than
**    comp_rate over two intervals in a row, or faster than jump_rate over
**    one.
** Opens the episode.
*/
static int compression_onset(mt_fault_detector *d, double t, double v,
                             double rate, int fc, double pred, double sd,
                             double clock_offset)
{
  const mt_fault_config *c = &d->cfg;
  if (!(rate < -c->comp_rate))
    return 0;
  int n = d->n_hist, start = n - 1;
  while (start > 0 && rate_from(d, start, d->hist_t[start],
                                d->hist_v[start]) < -c->comp_rate)
    start--;
  if (!is_night(c, d->hist_t[start], clock_offset) ||
      !is_night(c, t, clock_offset))
    return 0; /* began, or is, outside the night */
  double left = d->hist_t[start] + c->comp_confirm_min - t;
  if (left < 0 || v + rate * left > c->comp_low_mgdl)
    return 0; /* falling too long, or not on course to a low in time */
  int sudden = start < n - 1 || rate < -c->jump_rate;
  if (fc ? !(v < pred - c->comp_k_sd * sd) : !sudden)
    return 0;
  double lo = floor_before(d, start), s = trend(d, start);
  if (!(v < lo) || s < -c->comp_pre_rate)
    return 0;
  open_episode(d, MT_FAULT_COMPRESSION, t, v, start, s);
  d->floor_v = lo;
  d->low_v = v;
  d->confirmed = deep_and_low(d, v);
  return 1;
}

/* A reading with no episode open: does one start here? */
static mt_fault_kind onset(mt_fault_detector *d, double t, double v, int fc,
                           double pred, double sd, double clock_offset)
{
  const mt_fault_config *c = &d->cfg;
  int n = d->n_hist;
  double rate = rate_from(d, n, t, v);
  if (isnan(rate))
    return MT_FAULT_NONE;
  if (compression_onset(d, t, v, rate, fc, pred, sd, clock_offset))
    return MT_FAULT_COMPRESSION;
  double s = trend(d, n - 1), dt = t - d->hist_t[n - 1];
  double off = fc ? fabs(v - pred) / (c->k_sd * sd)
                  : fabs(v - (d->hist_v[n - 1] + s * dt)) / (c->jump_rate * dt);
  if (fabs(rate) > c->jump_rate && off > 1) {
    open_episode(d, MT_FAULT_JUMP, t, v, n - 1, s);
    return MT_FAULT_JUMP;
  }
  return MT_FAULT_NONE;
}

/* The open episode, one more reading: its verdict. An episode that ends
** leaves the reading accepted; one that timed out or settled restarts the
** trend from it. */
static mt_fault_kind episode_step(mt_fault_detector *d, double t, double v,
                                  int fc, double pred, double sd)
{
  int on;
  if (d->ep == MT_FAULT_COMPRESSION)
    on = compression_goes_on(d, t, v, fc, pred, sd);
  else
    on = jump_goes_on(d, t, v, fc, pred, sd);
  if (on > 0)
    return d->ep;
  d->ep = MT_FAULT_NONE;
  if (on < 0)
    restart_trend(d);
  return MT_FAULT_NONE;
}

mt_fault_kind mt_fault_check(mt_fault_detector *d, double t_min, double mgdl,
                             double predicted_mgdl, double predicted_sd,
                             double clock_offset_min)
{
  if (!isfinite(t_min) || !isfinite(mgdl) ||
      (d->n_read > 0 && !(t_min > d->t_last)))
    return MT_FAULT_NONE;
  int fc = isfinite(predicted_mgdl) && isfinite(predicted_sd) &&
           predicted_sd > 0;
  if (!isfinite(clock_offset_min))
    clock_offset_min = 0;
  if (d->n_read > 0 && t_min - d->t_last > d->cfg.gap_min)
    restart_trend(d); /* after a gap the trend starts afresh */
  int flat = flat_step(d, t_min, mgdl);
  d->n_read++;
  d->t_last = t_min;
  mt_fault_kind k;
  if (flat) {
    d->run_flat = 1;
    return MT_FAULT_FLAT;
  }
  if (d->run_flat) { /* a flat line ended: start afresh */
    d->run_flat = 0;
    d->ep = MT_FAULT_NONE;
    restart_trend(d);
    k = MT_FAULT_NONE;
  } else if (d->ep != MT_FAULT_NONE) {
    k = episode_step(d, t_min, mgdl, fc, predicted_mgdl, predicted_sd);
  } else {
    k = onset(d, t_min, mgdl, fc, predicted_mgdl, predicted_sd,
              clock_offset_min);
  }
  if (k == MT_FAULT_NONE)
    accept(d, t_min, mgdl);
  return k;
}
