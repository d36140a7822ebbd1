/*
** medtwin twin cv-evaluate: generated hours of drifting heart-failure
** patients (include/medtwin/cvreplay.h), a cardiovascular twin from the
** prior without each patient, and its MAP forecasts and contractility
** estimate scored beside the prior run open loop and persistence.
** Keys of the JSON report: docs/cli.md.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/cvreplay.h"
#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/replay.h"
#include "medtwin/twin_spec.h"

#define MODEL "circulation_beatavg"
#define MAXPT 64

/* OpenBLAS's own pool (the twins' analyses use LAPACK) held to one thread
** inside the patients' OpenMP region (as in src/cli/trial.c). */
void openblas_set_num_threads(int num_threads);

static const char usage_text[] =
    "usage: medtwin twin cv-evaluate [options]\n"
    "  --patients LIST  circulation_beatavg patients, comma-separated, or\n"
    "                   'adult' for the whole population (default\n"
    "                   adult#001..adult#010)\n"
    "  --hours H        hours of generated life each (default 72)\n"
    "  --bp-every M     minutes between blood-pressure readings (15)\n"
    "  --drift-ees X    LV contractility change per day, fraction (-0.05)\n"
    "  --drift-v X      stressed volume retained per day, mL (150)\n"
    "  --doses 0|1      daily furosemide and twice-daily metoprolol (1)\n"
    "  --seed N --members N  random seed (1) and ensemble size (64)\n"
    "  --process-sd X --rtps X --r-scale X  the twin's settings (default:\n"
    "                   the model's twin spec, docs/cli.md 'twin run')\n"
    "  --out DIR        also write DIR/<patient>-stream.csv and -truth.csv\n"
    "  --json           print the report as JSON\n";

typedef struct opts {
  mt_cvreplay_config rc;
  mt_twin_config tc;
  const char *patients, *out;
  char *names[MAXPT];
  int n, json;
  char buf[4096];
} opts;

static int num(const char *a, const char *v, double lo, double hi, double *x)
{
  char *end;
  double d = strtod(v, &end);
  if (end == v || *end || !(d >= lo && d <= hi))
    return cli_fail(EXIT_USAGE, "twin cv-evaluate: %s: expected a number in "
                    "%g..%g, got '%s'", a, lo, hi, v);
  *x = d;
  return 0;
}

static int opt(void *ctx, const char *a, const char *v)
{
  opts *o = ctx;
  double x = 0;
  int rc = 0;
  if (!strcmp(a, "--patients"))
    o->patients = v;
  else if (!strcmp(a, "--out"))
    o->out = v;
  else if (!strcmp(a, "--hours")) {
    if (!(rc = num(a, v, 1, MT_CVREPLAY_MAX_HOURS, &x)))
      o->rc.hours = (int)x;
  } else if (!strcmp(a, "--bp-every")) {
    if (!(rc = num(a, v, 1, 60, &x)))
      o->rc.bp_every_min = x;
  } else if (!strcmp(a, "--drift-ees")) {
    if (!(rc = num(a, v, -1, 1, &x)))
      o->rc.drift_Ees = x;
  } else if (!strcmp(a, "--drift-v")) {
    if (!(rc = num(a, v, -2000, 2000, &x)))
      o->rc.drift_V = x;
  } else if (!strcmp(a, "--doses")) {
    if (!(rc = num(a, v, 0, 1, &x)))
      o->rc.doses = x != 0;
  } else if (!strcmp(a, "--seed")) {
    if (!(rc = num(a, v, 0, 4e9, &x)))
      o->rc.seed = o->tc.seed = (uint64_t)x;
  } else if (!strcmp(a, "--process-sd")) {
    if (!(rc = num(a, v, 0, 1, &x)))
      o->tc.process_sd = x;
  } else if (!strcmp(a, "--rtps")) {
    if (!(rc = num(a, v, 0, 1, &x)))
      o->tc.rtps = x;
  } else if (!strcmp(a, "--r-scale")) {
    if (!(rc = num(a, v, 0.01, 100, &x)))
      o->tc.r_scale = x;
  } else if (!strcmp(a, "--members")) {
    if (!(rc = num(a, v, 4, 4096, &x)))
      o->tc.members = (int)x;
  } else
    rc = cli_fail(EXIT_USAGE, "twin cv-evaluate: unknown option '%s' (run "
                  "'medtwin twin cv-evaluate --help')", a);
  return rc;
}

/* The patient list: names checked against the model's population. */
static int patient_list(opts *o, const mt_model *m)
{
  const char *list = o->patients ? o->patients : "";
  if (!o->patients || !strcmp(list, "adult")) {
    int lim = o->patients ? MAXPT : 10;
    for (int i = 0; i < m->patients->n && o->n < lim; i++)
      if (!strncmp(m->patients->name(i), "adult#", 6))
        o->names[o->n++] = (char *)m->patients->name(i);
    return 0;
  }
  snprintf(o->buf, sizeof o->buf, "%s", list);
  for (char *s = strtok(o->buf, ","); s; s = strtok(NULL, ",")) {
    int found = 0;
    for (int i = 0; i < m->patients->n; i++)
      found |= !strcmp(m->patients->name(i), s);
    if (!found || strncmp(s, "adult#", 6))
      return cli_fail(EXIT_USAGE, "twin cv-evaluate: --patients: '%s' is no "
                      "%s population patient (adult#001..)", s, MODEL);
    if (o->n == MAXPT)
      return cli_fail(EXIT_USAGE, "twin cv-evaluate: --patients: at most "
                      "%d", MAXPT);
    o->names[o->n++] = s;
  }
  return o->n ? 0 : cli_fail(EXIT_USAGE, "twin cv-evaluate: --patients: "
                             "empty list");
}

static int write_files(const opts *o, const char *name, const mt_cvreplay *r,
                       char *err, size_t errlen)
{
  char path[2][1024];
  snprintf(path[0], sizeof path[0], "%s/%s-stream.csv", o->out, name);
  snprintf(path[1], sizeof path[1], "%s/%s-truth.csv", o->out, name);
  for (int k = 0; k < 2; k++) {
    char *hash = strrchr(path[k], '#');
    if (hash)
      *hash = '_'; /* no '#' in file names */
    FILE *f = fopen(path[k], "w");
    int rc = f ? (k ? mt_cvreplay_write_truth(r, f)
                    : mt_replay_write_stream(mt_cvreplay_stream(r), f))
               : MT_EIO;
    if (f && fclose(f))
      rc = MT_EIO;
    if (rc) {
      snprintf(err, errlen, "twin cv-evaluate: cannot write %s", path[k]);
      return rc;
    }
  }
  return 0;
}

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static const char *const meth[MT_CVEVAL_NMETH] = {"twin", "open_loop",
                                                  "persistence"};

static json_t *eval_json(const mt_cveval *e)
{
  json_t *o = json_object(), *rm = json_object();
  for (int k = 0; k < MT_CVEVAL_NMETH; k++) {
    json_t *h = json_object();
    for (int j = 0; j < MT_CVEVAL_NH; j++) {
      char key[16];
      snprintf(key, sizeof key, "%g", mt_cveval_horizons[j]);
      json_object_set_new(h, key, jnum(e->rmse[k][j]));
    }
    json_object_set_new(rm, meth[k], h);
  }
  json_object_set_new(o, "map_rmse_mmhg", rm);
  json_t *cov = json_object();
  for (int j = 0; j < MT_CVEVAL_NH; j++) {
    char key[16];
    snprintf(key, sizeof key, "%g", mt_cveval_horizons[j]);
    json_object_set_new(cov, key, jnum(e->cover80[j]));
  }
  json_object_set_new(o, "map_cover80", cov);
  json_object_set_new(o, "forecasts", json_integer(e->n[0]));
  json_object_set_new(o, "ees_mape_pct", json_pack("{s:o,s:o}", "twin",
                                                   jnum(e->ees_mape[0]),
                                                   "open_loop",
                                                   jnum(e->ees_mape[1])));
  json_object_set_new(o, "ees_end_err_pct",
                      json_pack("{s:o,s:o}", "twin", jnum(e->ees_end_err[0]),
                                "open_loop", jnum(e->ees_end_err[1])));
  json_object_set_new(o, "ees_cover95", jnum(e->ees_cover95));
  json_object_set_new(o, "ees_width95_pct", jnum(e->ees_width95));
  json_object_set_new(o, "hypotension_alerts",
                      json_integer(e->n_hypo_alerts));
  json_object_set_new(o, "wall_s", jnum(e->wall_s));
  return o;
}

/* Pooled over patients: RMSE from the summed squares, the rest means
** weighted by each patient's count. */
static void pool(const mt_cveval *e, int n, mt_cveval *all)
{
  memset(all, 0, sizeof *all);
  double ss[MT_CVEVAL_NMETH][MT_CVEVAL_NH] = {{0}}, cov[MT_CVEVAL_NH] = {0};
  double ae[2] = {0}, ee[2] = {0}, ec = 0, ew = 0;
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < MT_CVEVAL_NH; j++) {
      for (int k = 0; k < MT_CVEVAL_NMETH; k++)
        ss[k][j] += e[i].rmse[k][j] * e[i].rmse[k][j] * e[i].n[j];
      cov[j] += e[i].cover80[j] * e[i].n_cover[j];
      all->n[j] += e[i].n[j];
      all->n_cover[j] += e[i].n_cover[j];
    }
    for (int w = 0; w < 2; w++) {
      ae[w] += e[i].ees_mape[w] * e[i].n_ees;
      ee[w] += fabs(e[i].ees_end_err[w]);
    }
    ec += e[i].ees_cover95 * e[i].n_ees;
    ew += e[i].ees_width95 * e[i].n_ees;
    all->n_ees += e[i].n_ees;
    all->n_hypo_alerts += e[i].n_hypo_alerts;
    all->wall_s += e[i].wall_s;
  }
  for (int j = 0; j < MT_CVEVAL_NH; j++) {
    for (int k = 0; k < MT_CVEVAL_NMETH; k++)
      all->rmse[k][j] = sqrt(ss[k][j] / all->n[j]);
    all->cover80[j] = cov[j] / all->n_cover[j];
  }
  for (int w = 0; w < 2; w++) {
    all->ees_mape[w] = ae[w] / all->n_ees;
    all->ees_end_err[w] = ee[w] / n; /* mean |error| at the end */
  }
  all->ees_cover95 = ec / all->n_ees;
  all->ees_width95 = ew / all->n_ees;
}

int cmd_twin_cv_evaluate(int argc, char **argv)
{
  opts o;
  memset(&o, 0, sizeof o);
  mt_cvreplay_config_init(&o.rc);
  mt_twin_config_init(&o.tc);
  o.tc.model = MODEL;
  o.tc.group = "adult";
  mt_twin_config_use_spec(&o.tc); /* before --process-sd, --rtps */
  int rc = cli_parse(argc, argv, "twin cv-evaluate", usage_text, &o.json,
                     opt, &o);
  if (rc)
    return rc;
  const mt_model *m = mt_model_find(MODEL);
  if (!m || !m->patients)
    return cli_fail(EXIT_RUNTIME, "twin cv-evaluate: model %s is not built "
                    "in", MODEL);
  if ((rc = patient_list(&o, m)))
    return rc;
  openblas_set_num_threads(1);
  mt_cveval ev[MAXPT];
  int prc[MAXPT];
  char perr[MAXPT][MT_ERRMSG_MAX];
#pragma omp parallel for schedule(dynamic, 1)
  for (int i = 0; i < o.n; i++) {
    mt_cvreplay_config rcf = o.rc;
    mt_twin_config tcf = o.tc;
    rcf.patient = o.names[i];
    tcf.exclude = o.names[i]; /* the twin never sees its truth */
    mt_cvreplay *r = NULL;
    prc[i] = mt_cvreplay_generate(&rcf, &r, perr[i], sizeof perr[i]);
    if (!prc[i] && o.out)
      prc[i] = write_files(&o, o.names[i], r, perr[i], sizeof perr[i]);
    if (!prc[i])
      prc[i] = mt_cveval_run(r, &tcf, &ev[i], perr[i], sizeof perr[i]);
    mt_cvreplay_free(r);
  }
  for (int i = 0; i < o.n; i++)
    if (prc[i])
      return cli_fail(prc[i] == MT_EINVAL ? EXIT_USAGE : EXIT_RUNTIME,
                      "%s: %s", o.names[i], perr[i]);
  mt_cveval all;
  pool(ev, o.n, &all);
  if (o.json) {
    json_t *j = json_object(), *pts = json_object();
    json_object_set_new(j, "model", json_string(MODEL));
    json_object_set_new(j, "hours", json_integer(o.rc.hours));
    json_object_set_new(j, "bp_every_min", json_real(o.rc.bp_every_min));
    json_object_set_new(j, "drift_ees_per_day", json_real(o.rc.drift_Ees));
    json_object_set_new(j, "drift_v_ml_per_day", json_real(o.rc.drift_V));
    json_object_set_new(j, "doses", json_boolean(o.rc.doses));
    json_object_set_new(j, "seed", json_integer((json_int_t)o.rc.seed));
    json_object_set_new(j, "members", json_integer(o.tc.members));
    json_object_set_new(j, "pooled", eval_json(&all));
    for (int i = 0; i < o.n; i++)
      json_object_set_new(pts, o.names[i], eval_json(&ev[i]));
    json_object_set_new(j, "patients", pts);
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    putchar('\n');
    json_decref(j);
    return EXIT_OK;
  }
  printf("%d patients x %d h, BP every %g min; MAP forecast RMSE (mmHg):\n",
         o.n, o.rc.hours, o.rc.bp_every_min);
  printf("  %-12s %8s %8s\n", "method", "15 min", "60 min");
  for (int k = 0; k < MT_CVEVAL_NMETH; k++)
    printf("  %-12s %8.2f %8.2f\n", meth[k], all.rmse[k][0], all.rmse[k][1]);
  printf("twin 10-90 %% interval holds the MAP reading: %.0f %% (15 min), "
         "%.0f %% (60 min)\n", 100 * all.cover80[0], 100 * all.cover80[1]);
  printf("LV contractility error, mean |%%|: twin %.1f, open loop %.1f; "
         "twin 95 %% interval holds it %.0f %% of the time (width %.0f %%)\n",
         all.ees_mape[0], all.ees_mape[1], 100 * all.ees_cover95,
         all.ees_width95);
  printf("hypotension alerts: %d; %.1f s of twin time\n", all.n_hypo_alerts,
         all.wall_s);
  return EXIT_OK;
}
