/*
** medtwin twin evaluate: generated days of every virtual patient, a twin from
** the prior without that patient, and its forecasts scored after a 6 h
** warm-up beside three baselines (persistence, linear extrapolation, the
** prior run open loop). Keys of the JSON report: docs/cli.md.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/replay.h"
#include "medtwin/score.h"
#include "medtwin/twin.h"

#define WARMUP_MIN 360.0
#define NH 2
static const double horizons[NH] = {30, 60};
enum { M_TWIN, M_PF, M_OPEN, M_PERSIST, M_LINEAR, NMETH };
static const char *const meth_name[NMETH] = {"enkf", "pf", "open_loop",
                                             "persistence", "linear"};
#define NTWIN 3 /* twins per patient: EnKF, particle filter, open loop */

/* Forecast pairs collected over the cohort, per method and horizon. */
typedef struct pairs {
  int n, cap;
  double *ref, *bg, *pred, *lo, *hi; /* reading, true BG, median, 95 % */
} pairs;

/* Hypo alerts of one method and their scores. */
typedef struct hypo_acc {
  double *alerts;
  int n_alerts, cap_alerts, n_events, n_detected, n_true, n_false;
  double *leads;
  int n_leads;
} hypo_acc;

typedef struct evalr {
  pairs p[NMETH][NH];
  hypo_acc hy[2]; /* the EnKF twin's and the particle filter's */
  double days;
} evalr;

static int push_alert(hypo_acc *h, double t)
{
  if (h->n_alerts == h->cap_alerts) {
    double *a = realloc(h->alerts, (size_t)(h->cap_alerts + 256) * sizeof *a);
    if (!a)
      return MT_ENOMEM;
    h->alerts = a, h->cap_alerts += 256;
  }
  h->alerts[h->n_alerts++] = t;
  return 0;
}

static int push(pairs *p, double ref, double bg, double pred, double lo,
                double hi)
{
  if (p->n == p->cap) {
    int cap = p->cap ? 2 * p->cap : 1024;
    double *b = realloc(p->ref, 5 * (size_t)cap * sizeof *b);
    if (!b)
      return MT_ENOMEM;
    /* blocks of cap: ref, bg, pred, lo, hi (moved when cap grows) */
    for (int k = 4; k >= 1; k--)
      memmove(b + (size_t)k * cap, b + (size_t)k * p->cap,
              (size_t)p->n * sizeof *b);
    p->ref = b, p->bg = b + cap, p->pred = b + 2 * cap, p->lo = b + 3 * cap;
    p->hi = b + 4 * cap, p->cap = cap;
  }
  /* a true BG at 0 (the model's floor) has no relative error: left out of
  ** the vs-BG metrics, like a missing value */
  p->ref[p->n] = ref, p->bg[p->n] = bg > 0 ? bg : NAN, p->pred[p->n] = pred;
  p->lo[p->n] = lo, p->hi[p->n] = hi;
  p->n++;
  return 0;
}

/* CGM reading and true BG at time t (truth every minute from 0). */
static void truth_at(const mt_replay *rp, double t, double *cgm, double *bg)
{
  const double *tt, *b, *nf, *c;
  int n;
  mt_replay_truth(rp, &tt, &b, &nf, &c, &n);
  int k = (int)lround(t);
  *cgm = k >= 0 && k < n ? c[k] : NAN;
  *bg = k >= 0 && k < n ? b[k] : NAN;
}

/* One patient: the twin and the open-loop prior over the generated days. */
static int run_patient(const mt_replay *rp, const char *name, uint64_t seed,
                       evalr *e)
{
  char err[MT_ERRMSG_MAX];
  mt_twin *tw[NTWIN] = {NULL, NULL, NULL};
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  char group[32];
  snprintf(group, sizeof group, "%.*s", (int)strcspn(name, "#"), name);
  cfg.group = group, cfg.exclude = name, cfg.seed = seed;
  int rc = mt_twin_create(&cfg, &tw[0], err, sizeof err);
  cfg.method = MT_TWIN_PF;
  if (!rc)
    rc = mt_twin_create(&cfg, &tw[1], err, sizeof err);
  cfg.method = MT_TWIN_ENKF, cfg.open_loop = 1;
  if (!rc)
    rc = mt_twin_create(&cfg, &tw[2], err, sizeof err);
  const mt_stream *st = mt_replay_stream(rp);
  double *ct = malloc((size_t)st->n * 2 * sizeof *ct), *cy = ct + st->n;
  int nc = 0;
  for (int i = 0; !rc && ct && i < st->n; i++) {
    const mt_datum *d = &st->d[i];
    const char *why;
    mt_twin_forecast fc[NTWIN][NH];
    mt_twin_alert al[MT_ALERT_NKIND];
    int used = 0;
    for (int w = 0; w < NTWIN && !rc; w++) {
      int r = mt_twin_ingest(tw[w], d, &why);
      rc = r < 0 ? r : 0;
      /* a reading refused as a sensor fault still gets forecasts */
      used = (r == 0 || r == 2) && d->kind == MT_DATA_CGM;
      if (!rc && used)
        rc = mt_twin_forecast_at(tw[w], horizons, NH, fc[w]);
    }
    if (rc || !used)
      continue;
    for (int w = 0; w < 2 && !rc; w++) {
      int na = mt_twin_alerts(tw[w], al);
      for (int k = 0; !rc && k < na; k++)
        if (al[k].kind == MT_ALERT_HYPO)
          rc = push_alert(&e->hy[w], al[k].t_min);
    }
    ct[nc] = d->t_min, cy[nc++] = d->value;
    if (d->t_min < WARMUP_MIN)
      continue;
    for (int h = 0; h < NH && !rc; h++) {
      double ref, bg;
      truth_at(rp, d->t_min + horizons[h], &ref, &bg);
      if (isnan(ref))
        continue;
      double pers = mt_baseline_persistence(ct, cy, nc, nc - 1, horizons[h]);
      /* a line may extrapolate below zero: read as 0 mg/dL */
      double lin = mt_baseline_linear(ct, cy, nc, nc - 1, horizons[h]);
      lin = lin < 0 ? 0 : lin; /* NaN (no reading) stays NaN */
      rc = push(&e->p[M_TWIN][h], ref, bg, fc[0][h].q[3], fc[0][h].q[0],
                fc[0][h].q[6]);
      if (!rc)
        rc = push(&e->p[M_PF][h], ref, bg, fc[1][h].q[3], fc[1][h].q[0],
                  fc[1][h].q[6]);
      if (!rc)
        rc = push(&e->p[M_OPEN][h], ref, bg, fc[2][h].q[3], fc[2][h].q[0],
                  fc[2][h].q[6]);
      if (!rc)
        rc = push(&e->p[M_PERSIST][h], ref, bg, pers, NAN, NAN);
      if (!rc)
        rc = push(&e->p[M_LINEAR][h], ref, bg, lin, NAN, NAN);
    }
  }
  if (rc)
    cli_fail(EXIT_RUNTIME, "twin evaluate: %s: %s", name,
             tw[0] ? mt_twin_errmsg(tw[0]) : err);
  free(ct);
  for (int w = 0; w < NTWIN; w++)
    mt_twin_free(tw[w]);
  return rc;
}

/* Hypoglycaemia events of the patient's truth and its alerts since a. */
static int score_alerts(const mt_replay *rp, int a0, hypo_acc *e)
{
  const double *t, *bg, *nf, *c;
  int n, nev;
  mt_replay_truth(rp, &t, &bg, &nf, &c, &n);
  mt_hypo_event *ev = malloc((size_t)(n / 2 + 1) * sizeof *ev);
  mt_hypo_stats s;
  int rc = ev ? mt_hypo_events(bg, n, t[0], t[1] - t[0], ev, n / 2 + 1, &nev)
              : MT_ENOMEM;
  if (!rc)
    rc = mt_hypo_score(ev, nev, e->alerts + a0, e->n_alerts - a0,
                       (t[n - 1] - t[0]) / 1440.0, &s);
  if (!rc) {
    e->n_events += s.n_events, e->n_detected += s.n_detected;
    e->n_true += s.n_true_alerts, e->n_false += s.n_false_alerts;
    double *l = realloc(e->leads, (size_t)(e->n_leads + nev + 1) *
                                      sizeof *l);
    if (!l)
      rc = MT_ENOMEM;
    else
      e->leads = l;
    for (int k = 0; !rc && k < nev; k++)
      if (ev[k].detected)
        e->leads[e->n_leads++] = ev[k].lead_min;
  }
  free(ev);
  return rc;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A number, or null where it is not defined (JSON has no NaN). */
static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static void put_num(json_t *o, const char *key, double x)
{
  json_object_set_new(o, key, jnum(x));
}

static json_t *method_json(const pairs *p)
{
  mt_point_metrics vs_cgm, vs_bg;
  mt_clarke_counts cl;
  mt_coverage cov;
  json_t *o = json_object(), *z = json_array();
  if (mt_point_metrics_compute(p->ref, p->pred, p->n, &vs_cgm) == 0) {
    json_object_set_new(o, "n", json_integer(vs_cgm.n_used));
    put_num(o, "rmse_mgdl", vs_cgm.rmse_mgdl);
    put_num(o, "mard_pct", vs_cgm.mard_pct);
  }
  if (mt_point_metrics_compute(p->bg, p->pred, p->n, &vs_bg) == 0) {
    put_num(o, "rmse_vs_bg_mgdl", vs_bg.rmse_mgdl);
    put_num(o, "mard_vs_bg_pct", vs_bg.mard_pct);
  }
  if (mt_clarke_grid(p->ref, p->pred, p->n, &cl) == 0)
    for (int k = 0; k < 5; k++)
      json_array_append_new(z, jnum(cl.frac[k]));
  json_object_set_new(o, "clarke_frac_a_to_e", z);
  if (p->n && !isnan(p->lo[0]) &&
      mt_interval_coverage(p->ref, p->lo, p->hi, p->n, &cov) == 0)
    put_num(o, "coverage_95", cov.coverage);
  return o;
}

/* Append group g's results to the cohort's. */
static int merge(evalr *all, const evalr *g)
{
  for (int j = 0; j < NMETH; j++)
    for (int k = 0; k < NH; k++) {
      const pairs *p = &g->p[j][k];
      for (int i = 0; i < p->n; i++)
        if (push(&all->p[j][k], p->ref[i], p->bg[i], p->pred[i], p->lo[i],
                 p->hi[i]))
          return MT_ENOMEM;
    }
  for (int w = 0; w < 2; w++) {
    hypo_acc *a = &all->hy[w];
    const hypo_acc *b = &g->hy[w];
    double *l = realloc(a->leads, (size_t)(a->n_leads + b->n_leads + 1) *
                                      sizeof *l);
    if (!l)
      return MT_ENOMEM;
    a->leads = l;
    if (b->n_leads)
      memcpy(l + a->n_leads, b->leads, (size_t)b->n_leads * sizeof *l);
    a->n_leads += b->n_leads;
    a->n_alerts += b->n_alerts, a->n_events += b->n_events;
    a->n_detected += b->n_detected, a->n_true += b->n_true;
    a->n_false += b->n_false;
  }
  all->days += g->days;
  return 0;
}

static void evalr_clear(evalr *e)
{
  for (int j = 0; j < NMETH; j++)
    for (int k = 0; k < NH; k++)
      free(e->p[j][k].ref);
  for (int w = 0; w < 2; w++) {
    free(e->hy[w].alerts);
    free(e->hy[w].leads);
  }
}

static json_t *hypo_json(hypo_acc *e, double days)
{
  qsort(e->leads, (size_t)e->n_leads, sizeof *e->leads, cmp_double);
  json_t *hy = json_object();
  json_object_set_new(hy, "events", json_integer(e->n_events));
  json_object_set_new(hy, "alerts", json_integer(e->n_alerts));
  put_num(hy, "sensitivity",
          e->n_events ? (double)e->n_detected / e->n_events : NAN);
  put_num(hy, "precision", e->n_true + e->n_false
                               ? (double)e->n_true / (e->n_true + e->n_false)
                               : NAN);
  put_num(hy, "median_lead_min",
          e->n_leads ? e->leads[e->n_leads / 2] : NAN);
  put_num(hy, "false_alerts_per_patient_day",
          days > 0 ? e->n_false / days : NAN);
  return hy;
}

/* Scores of one set of patients: per horizon and method, and the hypo
** alerts. */
static json_t *scores(evalr *e)
{
  json_t *h = json_object();
  for (int k = 0; k < NH; k++) {
    json_t *m = json_object();
    for (int j = 0; j < NMETH; j++)
      json_object_set_new(m, meth_name[j], method_json(&e->p[j][k]));
    char key[16];
    snprintf(key, sizeof key, "%g", horizons[k]);
    json_object_set_new(h, key, m);
  }
  json_t *o = json_object();
  json_object_set_new(o, "patient_days", jnum(e->days));
  json_object_set_new(o, "horizons_min", h);
  json_object_set_new(o, "hypo", hypo_json(&e->hy[0], e->days));
  json_object_set_new(o, "hypo_pf", hypo_json(&e->hy[1], e->days));
  return o;
}

static json_t *report(evalr *g, int ng, int days, uint64_t seed,
                      double isf_drift, int npt)
{
  evalr all;
  memset(&all, 0, sizeof all);
  json_t *o = json_object(), *by = json_object();
  for (int k = 0; k < ng; k++)
    if (g[k].days > 0) {
      json_object_set_new(by, cli_group_name[k], scores(&g[k]));
      if (merge(&all, &g[k]))
        return NULL;
    }
  json_object_set_new(o, "medtwin_version", json_string(MT_VERSION));
  json_object_set_new(o, "patients", json_integer(npt));
  json_object_set_new(o, "days", json_integer(days));
  json_object_set_new(o, "seed", json_integer((json_int_t)seed));
  json_object_set_new(o, "isf_drift", json_real(isf_drift));
  json_object_set_new(o, "warmup_min", json_real(WARMUP_MIN));
  json_t *sa = scores(&all);
  json_object_update(o, sa);
  json_decref(sa);
  json_object_set_new(o, "groups", by);
  evalr_clear(&all);
  return o;
}

static const char eval_usage[] =
    "usage: medtwin twin evaluate [--cohort all|adolescent|adult|child|NAME]\n"
    "       [--days 7] [--seed 1] [--isf-drift 0] [--json]\n";

int cmd_twin_evaluate(int argc, char **argv)
{
  double drift = 0;
  cli_cohort_opts co = {"twin evaluate", "all", 7, 1, 60, &drift, 0};
  int rc0 = cli_parse_cohort(argc, argv, eval_usage, &co);
  if (rc0)
    return rc0;
  long days = co.days, seed = co.seed;
  const char *cohort = co.cohort;
  const mt_model *m = mt_model_find("uva_padova_t1d");
  evalr g[CLI_NGROUP];
  memset(g, 0, sizeof g);
  int rc = 0, npt = 0;
  for (int i = 0; !rc && i < m->patients->n; i++) {
    const char *name = m->patients->name(i);
    char err[MT_ERRMSG_MAX];
    mt_replay *rp;
    int gi;
    if ((rc = cli_cohort_replay(&co, i, drift, &rp, &gi, err, sizeof err)) ==
        1) {
      rc = 0;
      continue;
    }
    if (rc) {
      cli_fail(EXIT_RUNTIME, "%s", err);
      break;
    }
    int a0[2] = {g[gi].hy[0].n_alerts, g[gi].hy[1].n_alerts};
    rc = run_patient(rp, name, (uint64_t)seed, &g[gi]);
    for (int w = 0; !rc && w < 2; w++)
      rc = score_alerts(rp, a0[w], &g[gi].hy[w]);
    g[gi].days += days;
    npt++;
    mt_replay_free(rp);
  }
  if (!rc && !npt)
    return cli_fail(EXIT_USAGE, "twin evaluate: --cohort: no patient "
                    "matches '%s' (all, adolescent, adult, child or a name)",
                    cohort);
  if (!rc) {
    json_t *j = report(g, CLI_NGROUP, (int)days, (uint64_t)seed, drift, npt);
    if (!j)
      rc = cli_fail(EXIT_RUNTIME, "twin evaluate: out of memory");
    else {
      json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
      putchar('\n');
      json_decref(j);
    }
  }
  for (int k = 0; k < CLI_NGROUP; k++)
    evalr_clear(&g[k]);
  return rc ? EXIT_RUNTIME : 0;
}
