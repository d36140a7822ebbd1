/*
** Cardiovascular replay and its evaluation: a drifting heart-failure patient
** on circulation_beatavg, the vital signs a twin receives, and the twin's
** MAP forecasts and contractility estimate scored against the truth. What
** is generated and how it is scored: include/medtwin/cvreplay.h.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/order.h"
#include "medtwin/cvreplay.h"
#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "medtwin/rng.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"

#define MODEL "circulation_beatavg"
#define WARMUP_MIN 60.0

const double mt_cveval_horizons[MT_CVEVAL_NH] = {15, 60};

/* Random-stream purposes (the stream's b key). */
enum { RNG_BP = 1, RNG_DAILY = 2 };

struct mt_cvreplay {
  mt_cvreplay_config cfg;
  mt_stream stream;
  int n;                 /* truth rows, one a minute */
  double *t, *map, *co, *ef, *ees;
  int ees_k, fees_k;     /* Ees_lvf (parameter), f_Ees (state) */
};

void mt_cvreplay_config_init(mt_cvreplay_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->patient = "adult#001";
  cfg->hours = 72;
  cfg->seed = 1;
  cfg->bp_every_min = 15;
  cfg->drift_Ees = -0.05;
  cfg->drift_V = 150;
  cfg->doses = 1;
}

void mt_cvreplay_free(mt_cvreplay *r)
{
  if (!r)
    return;
  mt_stream_clear(&r->stream);
  free(r->t), free(r->map), free(r->co), free(r->ef), free(r->ees);
  free(r);
}

const mt_stream *mt_cvreplay_stream(const mt_cvreplay *r)
{
  return &r->stream;
}

int mt_cvreplay_truth(const mt_cvreplay *r, const double **t,
                      const double **map, const double **co,
                      const double **ef, const double **ees, int *n)
{
  if (!r)
    return MT_EINVAL;
  if (t)
    *t = r->t;
  if (map)
    *map = r->map;
  if (co)
    *co = r->co;
  if (ef)
    *ef = r->ef;
  if (ees)
    *ees = r->ees;
  if (n)
    *n = r->n;
  return 0;
}

int mt_cvreplay_write_truth(const mt_cvreplay *r, FILE *f)
{
  if (!r || !f)
    return MT_EINVAL;
  fputs("t_min,map_mmhg,co_lpm,ef_pct,ees_mmhg_per_ml\n", f);
  for (int i = 0; i < r->n; i++)
    fprintf(f, "%.10g,%.10g,%.10g,%.10g,%.10g\n", r->t[i], r->map[i],
            r->co[i], r->ef[i], r->ees[i]);
  return ferror(f) ? MT_EIO : 0;
}

/* Stream rows, appended in arrival order. */
typedef struct rows {
  mt_datum *d;
  int n, cap;
} rows;

static int push(rows *rw, double t, mt_stream_kind kind, double v)
{
  if (rw->n == rw->cap) {
    int cap = rw->cap ? 2 * rw->cap : 1024;
    mt_datum *d = realloc(rw->d, (size_t)cap * sizeof *d);
    if (!d)
      return MT_ENOMEM;
    rw->d = d, rw->cap = cap;
  }
  rw->d[rw->n] = (mt_datum){t, kind, v, rw->n + 2};
  rw->n++;
  return 0;
}

/* A dose of the day: time of day (min), input name, stream kind, mg. */
static const struct dose {
  double at_min;
  const char *input;
  mt_stream_kind kind;
  double mg;
} doses[] = {
    {8 * 60, "diuretic", MT_DATA_DIURETIC, 40},          /* furosemide */
    {8 * 60, "beta_blocker", MT_DATA_BETA_BLOCKER, 25},  /* metoprolol */
    {20 * 60, "beta_blocker", MT_DATA_BETA_BLOCKER, 25},
};
#define NDOSE (int)(sizeof doses / sizeof doses[0])

static int set_param(const mt_model *m, double *p, const char *name, double v,
                     char *err, size_t errlen)
{
  int k = mt_var_index(m->param, m->n_param, name);
  if (k < 0) {
    snprintf(err, errlen, "cv replay: model %s has no parameter %s", m->name,
             name);
    return MT_EINVAL;
  }
  p[k] = v;
  return 0;
}

static double round_to(double x, double q) { return q * round(x / q); }

/* The truth: one run of the patient with the drift and the doses, sampled
** every minute (the caller clears *out). */
static int run_truth(const mt_cvreplay *r, const mt_model *m,
                     const mt_patient *pt, double *p, mt_series *out,
                     char *err, size_t errlen)
{
  const mt_cvreplay_config *c = &r->cfg;
  mt_schedule *sch = NULL;
  mt_sim *sim = NULL;
  int T = c->hours * 60;
  memcpy(p, pt->param, (size_t)m->n_param * sizeof *p);
  int rc = set_param(m, p, "drift_Ees", c->drift_Ees, err, errlen);
  if (!rc)
    rc = set_param(m, p, "drift_V", c->drift_V, err, errlen);
  if (!rc && m->derive && m->derive(p) < 0) {
    snprintf(err, errlen, "cv replay: %s: inconsistent parameters", pt->id);
    rc = MT_EINVAL;
  }
  if (!rc)
    rc = mt_schedule_create(m->n_input, &sch);
  for (int day = 0; !rc && c->doses && day * 1440 < T; day++)
    for (int k = 0; !rc && k < NDOSE; k++) {
      double t0 = day * 1440.0 + doses[k].at_min;
      int in = mt_var_index(m->input, m->n_input, doses[k].input);
      if (t0 < T)
        rc = in < 0 ? MT_EINVAL
                    : mt_schedule_pulse(sch, in, t0, t0 + 1, doses[k].mg, 0);
    }
  mt_sim_config sc;
  mt_sim_config_init(&sc);
  if (!rc)
    rc = mt_sim_create(m, &sc, &sim);
  if (!rc)
    rc = mt_series_alloc(out, m, T + 1);
  if (!rc) {
    for (int i = 0; i <= T; i++)
      out->t[i] = i;
    rc = mt_sim_run(sim, p, NULL, NULL, sch, 0, T, out);
    if (rc)
      snprintf(err, errlen, "cv replay: %s: %s", pt->id, mt_sim_errmsg(sim));
  }
  mt_sim_free(sim);
  mt_schedule_free(sch);
  return rc;
}

/* The truth's arrays and the stream from the run. */
static int derive(mt_cvreplay *r, const mt_model *m, const double *p,
                  const mt_series *out, char *err, size_t errlen)
{
  const mt_cvreplay_config *c = &r->cfg;
  int T = c->hours * 60, rc = 0;
  int kmap = mt_var_index(m->obs, m->n_obs, "MAP"),
      kco = mt_var_index(m->obs, m->n_obs, "CO"),
      kef = mt_var_index(m->obs, m->n_obs, "EF"),
      ks = mt_var_index(m->obs, m->n_obs, "SBP"),
      kd = mt_var_index(m->obs, m->n_obs, "DBP"),
      kh = mt_var_index(m->obs, m->n_obs, "HR"),
      kw = mt_var_index(m->obs, m->n_obs, "weight");
  if (kmap < 0 || kco < 0 || kef < 0 || ks < 0 || kd < 0 || kh < 0 ||
      kw < 0 || r->ees_k < 0 || r->fees_k < 0) {
    snprintf(err, errlen, "cv replay: model %s lacks an observable (MAP, "
             "SBP, DBP, HR, CO, EF, weight), Ees_lvf or f_Ees", m->name);
    return MT_EINVAL;
  }
  r->n = T + 1;
  r->t = malloc((size_t)r->n * sizeof *r->t);
  r->map = malloc((size_t)r->n * sizeof *r->map);
  r->co = malloc((size_t)r->n * sizeof *r->co);
  r->ef = malloc((size_t)r->n * sizeof *r->ef);
  r->ees = malloc((size_t)r->n * sizeof *r->ees);
  if (!r->t || !r->map || !r->co || !r->ef || !r->ees)
    return MT_ENOMEM;
  rows rw = {0};
  int every = (int)c->bp_every_min;
  for (int i = 0; !rc && i <= T; i++) {
    const double *y = out->y + (size_t)i * m->n_obs;
    r->t[i] = out->t[i];
    r->map[i] = y[kmap], r->co[i] = y[kco], r->ef[i] = y[kef];
    r->ees[i] = p[r->ees_k] * out->x[(size_t)i * m->n_state + r->fees_k];
    int tod = i % 1440;
    mt_rng g;
    if (i > 0 && i % every == 0) {
      mt_rng_init(&g, c->seed, RNG_BP, (uint64_t)i, 0);
      double sbp = round(y[ks] + 5 * mt_rng_normal(&g));
      double dbp = round(y[kd] + 5 * mt_rng_normal(&g));
      double map = round(y[kmap] + 5 * mt_rng_normal(&g));
      double hr = round(y[kh] + 2 * mt_rng_normal(&g));
      rc = push(&rw, i, MT_DATA_SBP, sbp);
      if (!rc)
        rc = push(&rw, i, MT_DATA_DBP, dbp);
      if (!rc)
        rc = push(&rw, i, MT_DATA_MAP, map);
      if (!rc)
        rc = push(&rw, i, MT_DATA_HR, hr);
    }
    mt_rng_init(&g, c->seed, RNG_DAILY, (uint64_t)i, 0);
    if (!rc && tod == 7 * 60)
      rc = push(&rw, i, MT_DATA_WEIGHT,
                round_to(y[kw] + 0.3 * mt_rng_normal(&g), 0.1));
    if (!rc && tod == 10 * 60)
      rc = push(&rw, i, MT_DATA_EF, round(y[kef] + 5 * mt_rng_normal(&g)));
    if (!rc && tod == 14 * 60)
      rc = push(&rw, i, MT_DATA_CO,
                round_to(y[kco] * (1 + 0.1 * mt_rng_normal(&g)), 0.01));
    for (int k = 0; !rc && c->doses && k < NDOSE && i < T; k++)
      if (tod == (int)doses[k].at_min)
        rc = push(&rw, i, doses[k].kind, doses[k].mg);
  }
  if (rc) {
    free(rw.d);
    return rc;
  }
  r->stream.d = rw.d, r->stream.n = rw.n;
  return 0;
}

int mt_cvreplay_generate(const mt_cvreplay_config *cfg, mt_cvreplay **out,
                         char *err, size_t errlen)
{
  *out = NULL;
  if (!(cfg->hours >= 1 && cfg->hours <= MT_CVREPLAY_MAX_HOURS) ||
      !(cfg->bp_every_min >= 1 && cfg->bp_every_min <= 60) ||
      cfg->bp_every_min != floor(cfg->bp_every_min) ||
      !(fabs(cfg->drift_Ees) <= 1) || !(fabs(cfg->drift_V) <= 2000) ||
      !cfg->patient) {
    snprintf(err, errlen, "cv replay: hours must be 1-%d, bp every 1-60 "
             "whole minutes, |drift_Ees| <= 1/day, |drift_V| <= 2000 mL/day",
             MT_CVREPLAY_MAX_HOURS);
    return MT_EINVAL;
  }
  const mt_model *m = mt_model_find(MODEL);
  if (!m) {
    snprintf(err, errlen, "cv replay: model %s is not built in", MODEL);
    return MT_ENOTFOUND;
  }
  mt_patient *pt = NULL;
  int rc = mt_patient_load(m, cfg->patient, &pt, err, errlen);
  if (rc)
    return rc;
  mt_cvreplay *r = calloc(1, sizeof *r);
  if (!r) {
    mt_patient_free(pt);
    return MT_ENOMEM;
  }
  r->cfg = *cfg;
  r->ees_k = mt_var_index(m->param, m->n_param, "Ees_lvf");
  r->fees_k = mt_var_index(m->state, m->n_state, "f_Ees");
  double *p = malloc((size_t)m->n_param * sizeof *p);
  mt_series run = {0};
  rc = p ? run_truth(r, m, pt, p, &run, err, errlen) : MT_ENOMEM;
  if (!rc)
    rc = derive(r, m, p, &run, err, errlen);
  mt_series_clear(&run);
  free(p);
  mt_patient_free(pt);
  if (rc) {
    if (rc == MT_ENOMEM)
      snprintf(err, errlen, "cv replay: out of memory");
    mt_cvreplay_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

/* Median and central 95 % of the members' effective contractility. */
static int member_ees(const mt_twin *tw, int ees_k, int fees_k, double *med,
                      double *lo, double *hi)
{
  const double *P, *X;
  int np, ns, N = mt_twin_members(tw, &P, &X, &np, &ns);
  double *v = malloc((size_t)N * sizeof *v);
  if (!v)
    return MT_ENOMEM;
  for (int i = 0; i < N; i++)
    v[i] = P[(size_t)i * np + ees_k] * X[(size_t)i * ns + fees_k];
  qsort(v, (size_t)N, sizeof *v, mt_cmp_double);
  *med = mt_quantile7(v, N, 0.5);
  *lo = mt_quantile7(v, N, 0.025);
  *hi = mt_quantile7(v, N, 0.975);
  free(v);
  return 0;
}

int mt_cveval_run(const mt_cvreplay *r, const mt_twin_config *cfg,
                  mt_cveval *out, char *err, size_t errlen)
{
  memset(out, 0, sizeof *out);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  mt_twin *tw[2] = {NULL, NULL};
  mt_twin_config oc = *cfg;
  oc.open_loop = 1;
  oc.alerts = 0;
  int rc = mt_twin_create(cfg, &tw[0], err, errlen);
  if (!rc)
    rc = mt_twin_create(&oc, &tw[1], err, errlen);
  double se[MT_CVEVAL_NMETH][MT_CVEVAL_NH] = {{0}}, ae[2] = {0};
  int cover[MT_CVEVAL_NH] = {0}, ecov = 0;
  double ewidth = 0, T = r->t[r->n - 1];
  const mt_stream *s = &r->stream;
  /* the MAP reading of each minute, NaN where there is none */
  double *rd = malloc((size_t)r->n * sizeof *rd);
  if (!rc && !rd)
    rc = MT_ENOMEM;
  for (int i = 0; rd && i < r->n; i++)
    rd[i] = NAN;
  for (int j = 0; rd && j < s->n; j++)
    if (s->d[j].kind == MT_DATA_MAP)
      rd[(int)s->d[j].t_min] = s->d[j].value;
  for (int j = 0; !rc && j < s->n; j++) {
    const mt_datum *d = &s->d[j];
    const char *why;
    for (int w = 0; !rc && w < 2; w++) {
      int k = mt_twin_ingest(tw[w], d, &why);
      if (k < 0) {
        snprintf(err, errlen, "cv replay: line %d: %s", d->line,
                 mt_twin_errmsg(tw[w]));
        rc = k;
      }
    }
    if (rc)
      break;
    mt_twin_alert al[MT_ALERT_NKIND];
    int na = mt_twin_alerts(tw[0], al);
    for (int a = 0; a < na; a++)
      out->n_hypo_alerts += al[a].kind == MT_ALERT_HYPOTENSION;
    if (d->kind != MT_DATA_MAP || d->t_min < WARMUP_MIN ||
        d->t_min + mt_cveval_horizons[MT_CVEVAL_NH - 1] > T)
      continue;
    mt_twin_forecast f[2][MT_CVEVAL_NH];
    for (int w = 0; !rc && w < 2; w++)
      if ((rc = mt_twin_forecast_at(tw[w], mt_cveval_horizons, MT_CVEVAL_NH,
                                    f[w])))
        snprintf(err, errlen, "cv replay: forecast: %s",
                 mt_twin_errmsg(tw[w]));
    for (int h = 0; !rc && h < MT_CVEVAL_NH; h++) {
      double truth = r->map[(int)(d->t_min + mt_cveval_horizons[h])];
      double pred[MT_CVEVAL_NMETH] = {f[0][h].q[3], f[1][h].q[3], d->value};
      for (int k = 0; k < MT_CVEVAL_NMETH; k++)
        se[k][h] += (pred[k] - truth) * (pred[k] - truth);
      double y = rd[(int)(d->t_min + mt_cveval_horizons[h])];
      if (!isnan(y)) {
        cover[h] += y >= f[0][h].q[1] && y <= f[0][h].q[5];
        out->n_cover[h]++;
      }
      out->n[h]++;
    }
    double med, lo, hi, e_true = r->ees[(int)d->t_min];
    for (int w = 0; !rc && w < 2; w++) {
      if ((rc = member_ees(tw[w], r->ees_k, r->fees_k, &med, &lo, &hi)))
        break;
      double rel = 100 * (med - e_true) / e_true;
      ae[w] += fabs(rel);
      out->ees_end_err[w] = rel;
      if (w == 0) {
        ecov += e_true >= lo && e_true <= hi;
        ewidth += 100 * (hi - lo) / e_true;
      }
    }
    out->n_ees++;
  }
  for (int h = 0; h < MT_CVEVAL_NH; h++) {
    for (int k = 0; k < MT_CVEVAL_NMETH; k++)
      out->rmse[k][h] = out->n[h] ? sqrt(se[k][h] / out->n[h]) : NAN;
    out->cover80[h] =
        out->n_cover[h] ? (double)cover[h] / out->n_cover[h] : NAN;
  }
  for (int w = 0; w < 2; w++)
    out->ees_mape[w] = out->n_ees ? ae[w] / out->n_ees : NAN;
  out->ees_cover95 = out->n_ees ? (double)ecov / out->n_ees : NAN;
  out->ees_width95 = out->n_ees ? ewidth / out->n_ees : NAN;
  free(rd);
  mt_twin_free(tw[0]);
  mt_twin_free(tw[1]);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  out->wall_s = (double)(t1.tv_sec - t0.tv_sec) +
                1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  return rc;
}
