/*
** Beat-level observables from a sampled beat-resolved run (beats.h): the
** per-beat extremes and time averages a clinician reads off a pressure trace
** and an echo, and the pressure-volume loop.
*/
#include <math.h>

#include "medtwin/beats.h"
#include "medtwin/error.h"

int mt_beat_cols_find(const mt_model *m, mt_beat_cols *cols)
{
  if (!m || !cols)
    return MT_EINVAL;
  cols->p_ao = mt_var_index(m->obs, m->n_obs, "P_ao");
  cols->p_lv = mt_var_index(m->obs, m->n_obs, "P_lv");
  cols->v_lv = mt_var_index(m->obs, m->n_obs, "V_lv");
  cols->p_vc = mt_var_index(m->obs, m->n_obs, "P_vc");
  cols->p_pa = mt_var_index(m->obs, m->n_obs, "P_pa");
  return cols->p_ao < 0 || cols->p_lv < 0 || cols->v_lv < 0 ||
                 cols->p_vc < 0 || cols->p_pa < 0
             ? MT_EINVAL
             : 0;
}

static double val(const mt_series *s, int i, int col)
{
  return s->y[(size_t)i * (size_t)s->n_obs + (size_t)col];
}

/* Column col linearly interpolated at time t between samples i and i + 1. */
static double lerp(const mt_series *s, int i, int col, double t)
{
  double t0 = s->t[i], t1 = s->t[i + 1];
  double a = val(s, i, col), b = val(s, i + 1, col);
  return t1 > t0 ? a + (b - a) * (t - t0) / (t1 - t0) : b;
}

/* Time integral of column col over [t0, t1], trapezoidal on the samples,
** interpolated at the ends; i0 is the last sample at or before t0. */
static double integral(const mt_series *s, int col, int i0, double t0,
                       double t1)
{
  double sum = 0, ta = t0, ya = lerp(s, i0, col, t0);
  for (int i = i0 + 1; i < s->n && ta < t1; i++) {
    double tb = s->t[i] < t1 ? s->t[i] : t1;
    double yb = s->t[i] < t1 ? val(s, i, col) : lerp(s, i - 1, col, t1);
    sum += 0.5 * (ya + yb) * (tb - ta);
    ta = tb, ya = yb;
  }
  return sum;
}

/* Measure the beat [t0, t1); i0 is the last sample at or before t0. */
static void measure(const mt_series *s, const mt_beat_cols *c, int i0,
                    double t0, double t1, mt_beat *b)
{
  double T = t1 - t0;
  b->t0_s = t0, b->t1_s = t1, b->hr_bpm = 60.0 / T;
  b->sbp_mmhg = -INFINITY, b->dbp_mmhg = INFINITY;
  b->edv_ml = -INFINITY, b->esv_ml = INFINITY;
  for (int i = i0; i < s->n && s->t[i] < t1; i++) {
    if (s->t[i] < t0)
      continue;
    double pao = val(s, i, c->p_ao), v = val(s, i, c->v_lv);
    b->sbp_mmhg = fmax(b->sbp_mmhg, pao);
    b->dbp_mmhg = fmin(b->dbp_mmhg, pao);
    if (v > b->edv_ml)
      b->edv_ml = v, b->edp_mmhg = val(s, i, c->p_lv);
    b->esv_ml = fmin(b->esv_ml, v);
  }
  b->map_mmhg = integral(s, c->p_ao, i0, t0, t1) / T;
  b->cvp_mmhg = integral(s, c->p_vc, i0, t0, t1) / T;
  b->mpap_mmhg = integral(s, c->p_pa, i0, t0, t1) / T;
  b->sv_ml = b->edv_ml - b->esv_ml;
  b->ef_pct = 100.0 * b->sv_ml / b->edv_ml;
  b->co_lmin = b->sv_ml * b->hr_bpm / 1000.0;
}

static int valid(const mt_series *s, const mt_beat_cols *c)
{
  if (!s || !c || s->n < 2 || !s->t || !s->y)
    return 0;
  const int col[5] = {c->p_ao, c->p_lv, c->v_lv, c->p_vc, c->p_pa};
  for (int k = 0; k < 5; k++)
    if (col[k] < 0 || col[k] >= s->n_obs)
      return 0;
  for (int i = 0; i < s->n; i++) {
    if (!isfinite(s->t[i]) || (i > 0 && s->t[i] < s->t[i - 1]))
      return 0;
    for (int k = 0; k < 5; k++)
      if (!isfinite(val(s, i, col[k])))
        return 0;
  }
  return 1;
}

int mt_beats_compute(const mt_series *s, const mt_beat_cols *cols,
                     double t_first_s, double period_s, mt_beat *out,
                     int max, int *n)
{
  if (n)
    *n = 0;
  if (!n || (max > 0 && !out) || !(period_s > 0) || !isfinite(t_first_s) ||
      !valid(s, cols))
    return MT_EINVAL;
  int i0 = 0;
  for (long k = 0; *n < max; k++) {
    double t0 = t_first_s + (double)k * period_s, t1 = t0 + period_s;
    if (t1 > s->t[s->n - 1])
      break;
    if (t0 < s->t[0])
      continue;
    while (i0 + 1 < s->n && s->t[i0 + 1] <= t0)
      i0++;
    if (i0 + 1 >= s->n)
      break;
    measure(s, cols, i0, t0, t1, &out[(*n)++]);
  }
  return 0;
}

int mt_beat_pv_loop(const mt_series *s, const mt_beat_cols *cols,
                    double t0_s, double t1_s, double *p_mmhg, double *v_ml,
                    int max)
{
  int n = 0;
  if (!s || !cols || !p_mmhg || !v_ml)
    return 0;
  for (int i = 0; i < s->n && n < max; i++)
    if (s->t[i] >= t0_s && s->t[i] < t1_s) {
      p_mmhg[n] = val(s, i, cols->p_lv);
      v_ml[n++] = val(s, i, cols->v_lv);
    }
  return n;
}

/* Time at which state k of s crosses level v between samples i - 1 and i. */
static double cross_time(const mt_series *s, int k, int i, double v)
{
  size_t ns = (size_t)s->n_state;
  double a = s->x[(size_t)(i - 1) * ns + k], b = s->x[(size_t)i * ns + k];
  double t0 = s->t[i - 1], t1 = s->t[i];
  return b > a ? t0 + (v - a) / (b - a) * (t1 - t0) : t1;
}

int mt_beats_by_phase(const mt_model *m, const mt_series *s,
                      const mt_beat_cols *cols, mt_beat *out, int max,
                      int *n)
{
  if (n)
    *n = 0;
  int k = m ? mt_var_index(m->state, m->n_state, "phi") : -1;
  if (!n || k < 0 || (max > 0 && !out) || !valid(s, cols) || !s->x ||
      s->n_state != m->n_state)
    return MT_EINVAL;
  size_t ns = (size_t)s->n_state;
  double next = ceil(s->x[k]), t_prev = NAN;
  int i_prev = 0;
  for (int i = 1; i < s->n && *n < max; i++) {
    double b = s->x[(size_t)i * ns + k];
    if (!isfinite(b))
      return MT_EINVAL;
    while (b >= next && *n < max) {
      double t = cross_time(s, k, i, next);
      if (isfinite(t_prev) && t > t_prev)
        measure(s, cols, i_prev, t_prev, t, &out[(*n)++]);
      t_prev = t, i_prev = s->t[i] <= t ? i : i - 1;
      next += 1;
    }
  }
  return 0;
}
