/*
** medtwin twin run: a live twin fed a data stream (docs/stream.md) in
** arrival order, writing a forecast after every accepted CGM reading and
** every alert raised. Machine-readable, for outside harnesses: docs/cli.md.
*/
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/replay.h"
#include "medtwin/stream.h"
#include "medtwin/twin.h"
#include "medtwin/twin_spec.h"

typedef struct topts {
  const char *stream, *out, *alerts, *quarantine, *svg, *patient, *dir;
  const char *fobs; /* --forecast-obs, or NULL: the spec's primary */
  long days;
  double isf_drift;
  double h[16];
  int nh, json;
  char group[32];
  mt_twin_config cfg;
} topts;

/* What --svg draws, collected while feeding. */
typedef struct trace {
  double *rt, *rv;
  mt_twin_forecast *fc;
  mt_twin_alert *al;
  int nr, nf, na, cap_r, cap_a;
} trace;

typedef struct counts {
  long data, cgm, quarantined, faults, late, alerts, forecasts;
  double mean_ess; /* particle filter; NAN for the EnKF */
  trace *tr;       /* NULL without --svg */
} counts;

static int trace_reading(trace *tr, double t, double v,
                         const mt_twin_forecast *fc)
{
  if (tr->nr == tr->cap_r) {
    int cap = tr->cap_r ? 2 * tr->cap_r : 512;
    double *a = realloc(tr->rt, 2 * (size_t)cap * sizeof *a);
    mt_twin_forecast *f = realloc(tr->fc, (size_t)cap * sizeof *f);
    if (a)
      tr->rt = a;
    if (f)
      tr->fc = f;
    if (!a || !f)
      return -1;
    memmove(a + cap, a + tr->cap_r, (size_t)tr->nr * sizeof *a);
    tr->rv = a + cap, tr->cap_r = cap;
  }
  tr->rt[tr->nr] = t, tr->rv[tr->nr] = v, tr->fc[tr->nf++] = *fc;
  tr->nr++;
  return 0;
}

static int trace_alert(trace *tr, const mt_twin_alert *a)
{
  if (tr->na == tr->cap_a) {
    int cap = tr->cap_a ? 2 * tr->cap_a : 64;
    mt_twin_alert *p = realloc(tr->al, (size_t)cap * sizeof *p);
    if (!p)
      return -1;
    tr->al = p, tr->cap_a = cap;
  }
  tr->al[tr->na++] = *a;
  return 0;
}

static void trace_free(trace *tr)
{
  free(tr->rt);
  free(tr->fc);
  free(tr->al);
}

static const char usage_text[] =
    "usage: medtwin twin run --stream IN.csv --out FORECASTS.csv [options]\n"
    "  --model NAME     uva_padova_t1d (default) or circulation_beatavg\n"
    "  --forecast-obs O forecast this reading (a stream kind or observable,\n"
    "                   e.g. CO) instead of the primary one (CGM, MAP)\n"
    "  --horizons H,H   forecast horizons in minutes (default 30,60)\n"
    "  --alerts OUT     write the alerts raised\n"
    "  --quarantine OUT write the data refused, with the reasons\n"
    "  --svg OUT        plot the readings, forecast fan and alerts\n"
    "  --start-clock HH:MM  clock time at t = 0 (default 00:00), for the\n"
    "                   night-time sensor-fault rule\n"
    "  --method M       enkf (ensemble transform Kalman filter, default) or\n"
    "                   pf (regularised particle filter)\n"
    "  --group G        population prior: adolescent, adult or child\n"
    "  --exclude NAME   a virtual patient kept out of the prior\n"
    "  --seed N --members N   random seed (1) and ensemble size (64)\n"
    "  --json           print the summary as JSON\n"
    "usage: medtwin twin replay --patient NAME --out DIR [options]\n"
    "  --days N         days of generated life (default 1)\n"
    "  --isf-drift A    the patient's insulin sensitivity drifts by +-A over\n"
    "                   the day, unknown to the twin's model (default 0)\n"
    "  --seed N --members N --horizons H,H --json   as for run\n"
    "  writes DIR/stream.csv, truth.csv, forecasts.csv and alerts.csv\n";

static int parse_horizons(const char *s, topts *o)
{
  char *end;
  o->nh = 0;
  for (const char *p = s; *p && o->nh < 16; p = end + (*end == ',')) {
    double h = strtod(p, &end);
    if (end == p || (*end && *end != ',') || !(h > 0 && h <= 240) ||
        (o->nh && !(h > o->h[o->nh - 1])))
      return cli_fail(EXIT_USAGE, "twin: --horizons: expected increasing "
                      "minutes in (0, 240] separated by commas, got '%s'", s);
    o->h[o->nh++] = h;
  }
  return o->nh ? 0 : cli_fail(EXIT_USAGE, "twin: --horizons: empty");
}

static int parse_int(const char *flag, const char *v, long lo, long hi,
                     long *out)
{
  char *end;
  *out = strtol(v, &end, 10);
  if (end == v || *end || *out < lo || *out > hi)
    return cli_fail(EXIT_USAGE, "twin: %s: expected an integer in "
                    "[%ld, %ld], got '%s'", flag, lo, hi, v);
  return 0;
}

static int parse_opt(void *ctx, const char *a, const char *v)
{
  topts *o = ctx;
  long n;
  int rc = 0;
  if (!strcmp(a, "--stream")) o->stream = v;
  else if (!strcmp(a, "--patient")) o->patient = v;
  else if (!strcmp(a, "--isf-drift")) {
    char *end;
    o->isf_drift = strtod(v, &end);
    if (end == v || *end || !(o->isf_drift >= 0 && o->isf_drift <= 0.9))
      rc = cli_fail(EXIT_USAGE, "twin: --isf-drift: expected a number in "
                    "[0, 0.9], got '%s'", v);
  }
  else if (!strcmp(a, "--days")) rc = parse_int(a, v, 1, MT_REPLAY_MAX_DAYS,
                                                &o->days);
  else if (!strcmp(a, "--out")) o->out = v;
  else if (!strcmp(a, "--alerts")) o->alerts = v;
  else if (!strcmp(a, "--quarantine")) o->quarantine = v;
  else if (!strcmp(a, "--svg")) o->svg = v;
  else if (!strcmp(a, "--start-clock")) {
    int hh, mm, nc = 0;
    if (sscanf(v, "%2d:%2d%n", &hh, &mm, &nc) != 2 || v[nc] || hh < 0 ||
        hh > 23 || mm < 0 || mm > 59)
      rc = cli_fail(EXIT_USAGE, "twin: --start-clock: expected HH:MM, got "
                    "'%s'", v);
    else
      o->cfg.clock_offset_min = 60.0 * hh + mm;
  } else if (!strcmp(a, "--method")) {
    if (!strcmp(v, "enkf") || !strcmp(v, "pf"))
      o->cfg.method = !strcmp(v, "pf") ? MT_TWIN_PF : MT_TWIN_ENKF;
    else
      rc = cli_fail(EXIT_USAGE, "twin: --method: expected enkf or pf, got "
                    "'%s'", v);
  }
  else if (!strcmp(a, "--horizons")) rc = parse_horizons(v, o);
  else if (!strcmp(a, "--exclude")) o->cfg.exclude = v;
  else if (!strcmp(a, "--group")) snprintf(o->group, sizeof o->group, "%s", v);
  else if (!strcmp(a, "--model")) o->cfg.model = v;
  else if (!strcmp(a, "--forecast-obs")) o->fobs = v;
  else if (!strcmp(a, "--prior")) {
    if (strcmp(v, "population"))
      rc = cli_fail(EXIT_USAGE, "twin: --prior: expected 'population', "
                    "got '%s'", v);
  } else if (!strcmp(a, "--seed")) {
    if (!(rc = parse_int(a, v, 0, 2147483647L, &n)))
      o->cfg.seed = (uint64_t)n;
  } else if (!strcmp(a, "--members")) {
    if (!(rc = parse_int(a, v, 4, 4096, &n)))
      o->cfg.members = (int)n;
  } else
    rc = cli_fail(EXIT_USAGE, "twin: unknown option '%s'", a);
  return rc;
}

static int parse_topts(int argc, char **argv, int replay, topts *o)
{
  memset(o, 0, sizeof *o);
  mt_twin_config_init(&o->cfg);
  o->h[0] = 30, o->h[1] = 60, o->nh = 2, o->days = 1;
  int rc = cli_parse(argc, argv, "twin", usage_text, &o->json, parse_opt,
                     o);
  if (rc)
    return rc;
  if (replay) {
    if (!o->patient || !o->out || o->stream || o->alerts || o->quarantine ||
        o->cfg.exclude)
      return cli_fail(EXIT_USAGE, "twin replay: --patient and --out DIR are "
                      "required; --stream, --alerts, --quarantine and "
                      "--exclude are not taken (run 'medtwin twin --help')");
    if (strcmp(o->cfg.model, "uva_padova_t1d") || o->fobs)
      return cli_fail(EXIT_USAGE, "twin replay: --model: the replay generates "
                      "glucose data: expected uva_padova_t1d, got '%s' (and "
                      "no --forecast-obs)", o->cfg.model);
    o->dir = o->out;
    o->cfg.exclude = o->patient; /* the twin never sees its truth */
  } else if (!o->stream || !o->out || o->patient || o->isf_drift > 0)
    return cli_fail(EXIT_USAGE, "twin: --stream and --out are required, "
                    "--patient and --isf-drift are not taken (run 'medtwin twin "
                    "--help')");
  if (!o->group[0]) /* the held-out patient's group, else adult */
    snprintf(o->group, sizeof o->group, "%.*s",
             o->cfg.exclude ? (int)strcspn(o->cfg.exclude, "#") : 5,
             o->cfg.exclude ? o->cfg.exclude : "adult");
  o->cfg.group = o->group;
  mt_twin_config_use_spec(&o->cfg); /* no option sets these two */
  return 0;
}

/* Every datum's kind read or taken as an input by the model's twin spec:
** else exit 2 naming the line and the kinds expected. */
static int check_kinds(const mt_twin_spec *sp, const mt_stream *st,
                       const char *name)
{
  for (int i = 0; i < st->n; i++) {
    const mt_datum *d = &st->d[i];
    if (mt_twin_spec_obs_of(sp, d->kind) || mt_twin_spec_input_of(sp, d->kind))
      continue;
    char list[512];
    size_t n = 0;
    for (int k = 0; k < sp->n_obs + sp->n_input; k++) {
      mt_stream_kind kk = k < sp->n_obs ? sp->obs[k].kind
                                        : sp->input[k - sp->n_obs].kind;
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k ? ", " : "",
                            mt_stream_kind_name(kk));
      if (n >= sizeof list)
        break;
    }
    return cli_fail(EXIT_USAGE, "%s: line %d: kind: the %s twin reads %s, "
                    "got '%s'", name, d->line, sp->model, list,
                    mt_stream_kind_name(d->kind));
  }
  return 0;
}

/* The forecast file's header: the glucose twin's CGM columns keep their
** names (mean, p025, ...); any other observable's are prefixed with it
** (MAP_mean, MAP_p025, ...). */
static void forecast_header(FILE *ff, const mt_twin *tw, const topts *o)
{
  static const char *const col[8] = {"mean", "p025", "p10", "p25",
                                     "p50",  "p75",  "p90", "p975"};
  int obs = o->fobs ? mt_twin_obs_index(tw, o->fobs) : mt_twin_primary(tw);
  const char *name = mt_twin_model(tw)->obs[obs].name;
  int plain = !strcmp(name, "CGM");
  fputs("t_min,horizon_min", ff);
  for (int k = 0; k < 8; k++)
    fprintf(ff, ",%s%s%s", plain ? "" : name, plain ? "" : "_", col[k]);
  fputc('\n', ff);
}

static int feed(mt_twin *tw, const topts *o, const mt_stream *st, FILE *ff,
                FILE *fa, counts *c)
{
  mt_twin_forecast fc[16];
  mt_twin_alert al[MT_ALERT_NKIND];
  const mt_twin_spec *sp = mt_twin_spec_find(o->cfg.model);
  int fobs = o->fobs ? mt_twin_obs_index(tw, o->fobs) : mt_twin_primary(tw);
  unsigned read_at_last = 0; /* kinds read at the last reading's time */
  double t_seen = NAN;
  for (int i = 0; i < st->n; i++) {
    const mt_datum *d = &st->d[i];
    const char *why;
    const mt_twin_spec_obs *so = mt_twin_spec_obs_of(sp, d->kind);
    /* stamped before the last reading, or a reading of a kind already read
    ** at its time: re-assimilated, no forecast row (its time has passed) */
    double t_last = mt_twin_time(tw);
    if (!(t_last == t_seen))
      read_at_last = 0, t_seen = t_last;
    int late = d->t_min < t_last ||
               (so && d->t_min == t_last &&
                (read_at_last & (1u << d->kind)));
    int rc = mt_twin_ingest(tw, d, &why);
    c->data++;
    if (rc < 0)
      return cli_fail(EXIT_RUNTIME, "%s: line %d: %s", o->stream, d->line,
                      mt_twin_errmsg(tw));
    c->quarantined += rc == 1;
    c->faults += rc == 2;
    c->late += rc == 0 && late;
    c->cgm += rc == 0 && so;
    if (rc != 1 && so && !late) {
      if (!(mt_twin_time(tw) == t_seen))
        read_at_last = 0, t_seen = mt_twin_time(tw);
      read_at_last |= 1u << d->kind;
    }
    /* a reading refused as a sensor fault: the twin keeps forecasting */
    if (rc == 1 || !so || late)
      continue;
    if (o->fobs ? mt_twin_forecast_obs(tw, o->fobs, o->h, o->nh, fc)
                : mt_twin_forecast_at(tw, o->h, o->nh, fc))
      return cli_fail(EXIT_RUNTIME, "%s", mt_twin_errmsg(tw));
    for (int k = 0; k < o->nh; k++, c->forecasts++) {
      fprintf(ff, "%.10g,%.10g,%.4f", fc[k].t_min, fc[k].horizon_min,
              fc[k].mean);
      for (int q = 0; q < 7; q++)
        fprintf(ff, ",%.4f", fc[k].q[q]);
      fputc('\n', ff);
    }
    int na = mt_twin_alerts(tw, al);
    for (int k = 0; fa && k < na; k++)
      fprintf(fa, "%.10g,%s,%.4f,%.10g\n", al[k].t_min,
              mt_alert_kind_name(al[k].kind), al[k].probability,
              al[k].predicted_t_min);
    c->alerts += na;
    if (c->tr && mt_twin_obs_index(tw, mt_stream_kind_name(d->kind)) == fobs &&
        trace_reading(c->tr, d->t_min, d->value, &fc[0]))
      return cli_fail(EXIT_RUNTIME, "twin: out of memory");
    for (int k = 0; c->tr && k < na; k++)
      if (trace_alert(c->tr, &al[k]))
        return cli_fail(EXIT_RUNTIME, "twin: out of memory");
  }
  return 0;
}

static void summary(const topts *o, const counts *c)
{
  if (!o->json) {
    int glucose = !strcmp(o->cfg.model, "uva_padova_t1d");
    printf("medtwin %s %s%stwin (%s, %s prior%s%s, %d members, seed %llu): %ld "
           "data, %ld %s readings, %ld quarantined, %ld sensor faults, %ld "
           "late re-assimilated, "
           "%ld forecasts, %ld alerts",
           MT_VERSION, glucose ? "" : o->cfg.model, glucose ? "" : " ",
           o->cfg.method == MT_TWIN_PF ? "pf" : "enkf", o->group,
           o->cfg.exclude ? ", excluding " : "",
           o->cfg.exclude ? o->cfg.exclude : "", o->cfg.members,
           (unsigned long long)o->cfg.seed, c->data, c->cgm,
           glucose ? "CGM" : "vital-sign", c->quarantined,
           c->faults, c->late, c->forecasts, c->alerts);
    if (o->cfg.method == MT_TWIN_PF)
      printf(", mean effective sample size %.1f", c->mean_ess);
    putchar('\n');
    return;
  }
  json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:i, s:I, s:I, s:I, s:I, "
                        "s:I, s:I}", "medtwin_version", MT_VERSION, "model",
                        o->cfg.model, "prior_group", o->group, "exclude",
                        o->cfg.exclude, "seed", (json_int_t)o->cfg.seed,
                        "members", o->cfg.members, "data",
                        (json_int_t)c->data, "cgm", (json_int_t)c->cgm,
                        "quarantined", (json_int_t)c->quarantined,
                        "late", (json_int_t)c->late,
                        "forecasts", (json_int_t)c->forecasts, "alerts",
                        (json_int_t)c->alerts);
  /* "cgm" kept for the metabolic twin's readers; "readings" for any model */
  json_object_set_new(j, "readings", json_integer(c->cgm));
  json_object_set_new(j, "sensor_faults", json_integer(c->faults));
  json_object_set_new(j, "method", json_string(o->cfg.method == MT_TWIN_PF
                                                   ? "pf" : "enkf"));
  json_object_set_new(j, "mean_ess", isfinite(c->mean_ess)
                                         ? json_real(c->mean_ess)
                                         : json_null());
  json_dumpf(j, stdout, JSON_INDENT(2));
  putchar('\n');
  json_decref(j);
}

/* The outputs all committed (then the summary) or, after a failure, all
** removed. */
static int finish(mt_afile **f, int n, int rc, const topts *o,
                  const counts *c)
{
  char err[MT_ERRMSG_MAX];
  if (!rc && (rc = mt_afile_commit_all(f, n, err, sizeof err)))
    rc = cli_fail(EXIT_RUNTIME, "%s", err);
  else if (rc)
    for (int i = 0; i < n; i++)
      mt_afile_abort(f[i]);
  if (!rc)
    summary(o, c);
  return rc;
}

/* The plot's axis: CGM's and MAP's are fixed; another reading's from 0 to
** its largest value, ticks at a round step, no target band. */
static void svg_axis(const mt_twin *tw, const topts *o, const trace *tr,
                     twin_svg_axis *ax, char *label, size_t len)
{
  int obs = o->fobs ? mt_twin_obs_index(tw, o->fobs) : mt_twin_primary(tw);
  const mt_var *v = &mt_twin_model(tw)->obs[obs];
  if (!strcmp(v->name, "CGM") || !strcmp(v->name, "MAP")) {
    *ax = !strcmp(v->name, "CGM") ? twin_svg_glucose : twin_svg_map;
    return;
  }
  double hi = 0;
  for (int k = 0; k < tr->nr; k++)
    hi = fmax(hi, tr->rv[k]);
  for (int k = 0; k < tr->nf; k++)
    hi = fmax(hi, tr->fc[k].q[6]);
  hi = hi > 0 ? 1.1 * hi : 1;
  double step = pow(10, floor(log10(hi)));
  if (hi / step < 3)
    step /= 2;
  snprintf(label, len, "%s, %s", v->name, v->unit);
  *ax = (twin_svg_axis){v->name, label, 0, hi, hi, step, NAN, NAN};
}

static int twin_run(int argc, char **argv)
{
  topts o;
  char err[MT_ERRMSG_MAX];
  mt_stream st;
  mt_twin *tw = NULL;
  mt_afile *f[4] = {NULL, NULL, NULL, NULL};
  trace tr = {0};
  counts c = {0};
  int rc = parse_topts(argc, argv, 0, &o);
  if (rc)
    return rc;
  if (mt_stream_load(o.stream, &st, err, sizeof err))
    return cli_fail(EXIT_USAGE, "%s", err);
  int n = 0;
  if (mt_twin_create(&o.cfg, &tw, err, sizeof err))
    rc = cli_fail(EXIT_USAGE, "%s", err);
  if (!rc)
    rc = check_kinds(mt_twin_spec_find(o.cfg.model), &st, o.stream);
  if (!rc && o.fobs && mt_twin_obs_index(tw, o.fobs) < 0)
    rc = cli_fail(EXIT_USAGE, "twin: --forecast-obs: the %s twin reads no "
                  "'%s' (a stream kind or observable it reads, e.g. %s)",
                  o.cfg.model, o.fobs,
                  mt_twin_spec_find(o.cfg.model)->obs[0].obs);
  if (!rc && mt_afile_open(o.out, &f[n++], err, sizeof err))
    rc = cli_fail(EXIT_RUNTIME, "%s", err);
  int ia = -1, iq = -1, is = -1;
  if (!rc && o.alerts && mt_afile_open(o.alerts, &f[ia = n++], err,
                                       sizeof err))
    rc = cli_fail(EXIT_RUNTIME, "%s", err);
  if (!rc && o.quarantine && mt_afile_open(o.quarantine, &f[iq = n++], err,
                                           sizeof err))
    rc = cli_fail(EXIT_RUNTIME, "%s", err);
  if (!rc && o.svg && mt_afile_open(o.svg, &f[is = n++], err, sizeof err))
    rc = cli_fail(EXIT_RUNTIME, "%s", err);
  if (is >= 0)
    c.tr = &tr;
  if (!rc) {
    FILE *ff = mt_afile_stream(f[0]);
    FILE *fa = ia >= 0 ? mt_afile_stream(f[ia]) : NULL;
    forecast_header(ff, tw, &o);
    if (fa)
      fputs("t_min,kind,probability,predicted_t_min\n", fa);
    rc = feed(tw, &o, &st, ff, fa, &c);
  }
  if (!rc && iq >= 0) { /* the reasons hold no quotes; quoted for commas */
    FILE *fq = mt_afile_stream(f[iq]);
    const mt_twin_quarantined *q;
    long nq = mt_twin_quarantine(tw, &q);
    fputs("line,t_min,kind,value,reason\n", fq);
    for (long k = 0; k < nq; k++)
      fprintf(fq, "%d,%.10g,%s,%.10g,\"%s\"\n", q[k].datum.line,
              q[k].datum.t_min, mt_stream_kind_name(q[k].datum.kind),
              q[k].datum.value, q[k].reason);
  }
  twin_svg_axis ax;
  char label[96];
  if (!rc && is >= 0)
    svg_axis(tw, &o, &tr, &ax, label, sizeof label);
  if (!rc && is >= 0 &&
      twin_svg_write(mt_afile_stream(f[is]), &ax, tr.rt, tr.rv, tr.nr, tr.fc,
                     tr.nf, tr.al, tr.na))
    rc = cli_fail(EXIT_RUNTIME, "%s: no reading to plot, or cannot write",
                  o.svg);
  trace_free(&tr);
  c.mean_ess = tw ? mt_twin_mean_ess(tw) : NAN;
  rc = finish(f, n, rc, &o, &c);
  mt_twin_free(tw);
  mt_stream_clear(&st);
  return rc;
}

/* The replay's stream and truth and a twin's forecasts and alerts, into
** DIR: all four files appear together or none does. */
static int twin_replay(int argc, char **argv)
{
  topts o;
  char err[MT_ERRMSG_MAX], path[4][4096];
  static const char *const name[4] = {"stream.csv", "truth.csv",
                                      "forecasts.csv", "alerts.csv"};
  mt_replay *rp = NULL;
  mt_twin *tw = NULL;
  mt_afile *f[4] = {NULL, NULL, NULL, NULL};
  counts c = {0};
  int rc = parse_topts(argc, argv, 1, &o), n = 0;
  if (rc)
    return rc;
  mt_replay_config rcfg;
  mt_replay_config_init(&rcfg);
  rcfg.patient = o.patient, rcfg.days = (int)o.days, rcfg.seed = o.cfg.seed;
  rcfg.isf_drift = o.isf_drift;
  rc = mt_replay_generate(&rcfg, &rp, err, sizeof err);
  if (rc)
    return cli_fail(rc == MT_ENOTFOUND || rc == MT_EINVAL ? EXIT_USAGE
                                                          : EXIT_RUNTIME,
                    "twin replay: --patient: %s", err);
  if (mt_twin_create(&o.cfg, &tw, err, sizeof err))
    rc = cli_fail(EXIT_USAGE, "%s", err);
  if (!rc && mkdir(o.dir, 0777) && errno != EEXIST)
    rc = cli_fail(EXIT_RUNTIME, "%s: cannot create: %s", o.dir,
                  strerror(errno));
  for (int k = 0; !rc && k < 4; k++) {
    snprintf(path[k], sizeof path[k], "%s/%s", o.dir, name[k]);
    if (mt_afile_open(path[k], &f[n++], err, sizeof err))
      rc = cli_fail(EXIT_RUNTIME, "%s", err);
  }
  if (!rc) {
    const mt_stream *st = mt_replay_stream(rp);
    FILE *ff = mt_afile_stream(f[2]), *fa = mt_afile_stream(f[3]);
    if (mt_replay_write_stream(st, mt_afile_stream(f[0])) ||
        mt_replay_write_truth(rp, mt_afile_stream(f[1])))
      rc = cli_fail(EXIT_RUNTIME, "%s: cannot write", o.dir);
    fputs("t_min,horizon_min,mean,p025,p10,p25,p50,p75,p90,p975\n", ff);
    fputs("t_min,kind,probability,predicted_t_min\n", fa);
    o.stream = path[0];
    if (!rc)
      rc = feed(tw, &o, st, ff, fa, &c);
  }
  c.mean_ess = tw ? mt_twin_mean_ess(tw) : NAN;
  rc = finish(f, n, rc, &o, &c);
  mt_twin_free(tw);
  mt_replay_free(rp);
  return rc;
}

int cmd_twin(int argc, char **argv)
{
  if (argc >= 2 && !strcmp(argv[1], "replay"))
    return twin_replay(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "run"))
    return twin_run(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "evaluate"))
    return cmd_twin_evaluate(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "cv-evaluate"))
    return cmd_twin_cv_evaluate(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "import"))
    return cmd_twin_import(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "whatif"))
    return cmd_twin_whatif(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "advisor-evaluate"))
    return cmd_twin_advisor_evaluate(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "--help")) {
    fputs(usage_text, stdout);
    return EXIT_OK;
  }
  return cli_fail(EXIT_USAGE, "twin: expected a subcommand: run, replay, "
                  "evaluate, cv-evaluate, whatif, advisor-evaluate or import (run 'medtwin twin --help')");
}
