/*
** medtwin simulate: one patient, one scenario, every minute. Prints the
** clinical summary (International Consensus on Time in Range, 2019) and
** writes the minute-by-minute trace (CSV) and a plot (SVG). Output keys and
** columns are documented in docs/cli.md. A beat-resolved heart model
** (one with the observables of medtwin/beats.h) is run by
** simulate_beats.c instead.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/beats.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/metrics.h"
#include "medtwin/patient.h"
#include "medtwin/plot.h"
#include "medtwin/scenario.h"
#include "medtwin/sim.h"

typedef struct opts {
  const char *model, *patient, *scenario, *csv, *svg;
  int json;
  double duration_s; /* heart models; 0 = not given */
  double days;       /* beat-averaged heart models; 0 = not given */
  mt_sim_config cfg;
} opts;

typedef struct run {
  const mt_model *m;
  mt_patient *pt;
  mt_scenario *sc;
  mt_schedule *sch;
  mt_series out;
  mt_sim_stats stats;
  mt_glycemic g;
  char hash[33];
} run;

static const char usage_text[] =
    "usage: medtwin simulate --patient NAME --scenario FILE [options]\n"
    "  --model NAME     model (default uva_padova_t1d)\n"
    "  --duration S     heart models: seconds to simulate (default 60; the\n"
    "                   patient defaults to the model's first, the scenario\n"
    "                   is optional and gives only the duration)\n"
    "  --days D         beat-averaged heart models (time in min): days to\n"
    "                   simulate (default 1, or the scenario's duration;\n"
    "                   at most 3650), sampled hourly\n"
    "  --csv OUT        write the minute-by-minute trace\n"
    "  --svg OUT        write the plot (glucose day; heart models: pressures,\n"
    "                   pressure-volume loops, and with doses MAP/HR/CO;\n"
    "                   beat-averaged: MAP, CO, EF, weight over days)\n"
    "  --json           print the summary as JSON (keys: docs/cli.md)\n"
    "  --solver NAME    dopri5 (default) or cvode\n"
    "  --rtol X --atol X  integrator tolerances (default 1e-8)\n";

static int parse_tol(const char *flag, const char *s, double *v)
{
  char *end;
  *v = strtod(s, &end);
  if (end == s || *end || !(*v > 0) || !(*v < 1))
    return cli_fail(EXIT_USAGE, "simulate: %s: expected a number in (0, 1), "
                    "got '%s'", flag, s);
  return 0;
}

static int parse_opts(int argc, char **argv, opts *o)
{
  memset(o, 0, sizeof *o);
  o->model = "uva_padova_t1d";
  mt_sim_config_init(&o->cfg);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int rc = 0;
    if (!strcmp(a, "--help")) {
      fputs(usage_text, stdout);
      exit(EXIT_OK);
    } else if (!strcmp(a, "--json")) {
      o->json = 1;
      continue;
    } else if (strncmp(a, "--", 2)) {
      return cli_fail(EXIT_USAGE, "simulate: unexpected argument '%s'", a);
    } else if (!v || !strncmp(v, "--", 2)) {
      return cli_fail(EXIT_USAGE, "simulate: %s: missing value", a);
    } else if (!strcmp(a, "--model")) o->model = v;
    else if (!strcmp(a, "--patient")) o->patient = v;
    else if (!strcmp(a, "--scenario")) o->scenario = v;
    else if (!strcmp(a, "--csv")) o->csv = v;
    else if (!strcmp(a, "--svg")) o->svg = v;
    else if (!strcmp(a, "--duration")) {
      char *end;
      o->duration_s = strtod(v, &end);
      if (end == v || *end || !(o->duration_s > 0) ||
          !(o->duration_s <= 86400))
        return cli_fail(EXIT_USAGE, "simulate: --duration: expected seconds "
                        "in (0, 86400], got '%s'", v);
    } else if (!strcmp(a, "--days")) {
      char *end;
      o->days = strtod(v, &end);
      if (end == v || *end || !(o->days > 0) || !(o->days <= 3650))
        return cli_fail(EXIT_USAGE, "simulate: --days: expected days in (0, "
                        "3650], got '%s'", v);
    } else if (!strcmp(a, "--rtol")) rc = parse_tol(a, v, &o->cfg.rtol);
    else if (!strcmp(a, "--atol")) rc = parse_tol(a, v, &o->cfg.atol);
    else if (!strcmp(a, "--solver")) {
      if (!strcmp(v, "cvode")) o->cfg.solver = MT_SOLVER_CVODE;
      else if (!strcmp(v, "dopri5")) o->cfg.solver = MT_SOLVER_DOPRI5;
      else
        return cli_fail(EXIT_USAGE, "simulate: --solver: expected dopri5 or "
                        "cvode, got '%s'", v);
    } else
      return cli_fail(EXIT_USAGE, "simulate: unknown option '%s'", a);
    if (rc)
      return rc;
    i++;
  }
  return 0;
}

/* The metabolic path needs a patient and a scenario. */
static int check_required(const opts *o)
{
  if (!o->patient || !o->scenario)
    return cli_fail(EXIT_USAGE, "simulate: --patient and --scenario are "
                    "required (run 'medtwin simulate --help')");
  return 0;
}

/* Load model, patient and scenario; every failure here is bad input. */
static int prepare(const opts *o, run *r)
{
  char err[MT_ERRMSG_MAX];
  if (!(r->m = mt_model_find(o->model)))
    return cli_fail(EXIT_USAGE, "--model: unknown model '%s' (run 'medtwin "
                    "models' for the list)", o->model);
  if (mt_patient_load(r->m, o->patient, &r->pt, err, sizeof err))
    return cli_fail(EXIT_USAGE, "--patient: %s", err);
  if (mt_scenario_load(o->scenario, &r->sc, err, sizeof err) ||
      mt_scenario_schedule(r->sc, r->pt, &r->sch, err, sizeof err))
    return cli_fail(EXIT_USAGE, "%s", err);
  if (r->sc->baroreflex > 0)
    return cli_fail(EXIT_USAGE, "%s: baroreflex: model %s has none",
                    o->scenario, r->m->name);
  mt_patient_param_hash(r->pt, r->hash);
  return 0;
}

static int simulate(const opts *o, run *r)
{
  int n = (int)floor(r->sc->duration_min) + 1;
  if (mt_series_alloc(&r->out, r->m, n))
    return cli_fail(EXIT_RUNTIME, "out of memory");
  for (int i = 0; i < n; i++)
    r->out.t[i] = i;
  mt_sim *s;
  int rc = mt_sim_create(r->m, &o->cfg, &s);
  if (rc)
    return cli_fail(EXIT_RUNTIME, "cannot create the simulation: %s",
                    mt_strerror(rc));
  rc = mt_sim_run(s, r->pt->param, NULL, NULL, r->sch, 0.0,
                  r->sc->duration_min, &r->out);
  r->stats = *mt_sim_last_stats(s);
  if (rc)
    cli_fail(EXIT_RUNTIME, "simulation of %s failed: %s", r->pt->id,
             mt_sim_errmsg(s));
  mt_sim_free(s);
  if (rc)
    return EXIT_RUNTIME;
  int bg = mt_var_index(r->m->obs, r->m->n_obs, "BG");
  double *v = malloc((size_t)n * sizeof *v);
  for (int i = 0; v && bg >= 0 && i < n; i++)
    v[i] = r->out.y[(size_t)i * r->m->n_obs + bg];
  rc = v && bg >= 0 ? mt_glycemic_compute(v, n, &r->g) : MT_EINVAL;
  free(v);
  if (rc)
    return cli_fail(EXIT_RUNTIME, "glucose metrics need a finite BG at "
                    "every minute of at least 2 minutes");
  return 0;
}

void cli_series_csv(FILE *f, const mt_model *m, const mt_series *s,
                    const mt_patient *pt)
{
  char hash[33];
  mt_patient_param_hash(pt, hash);
  fprintf(f, "t_%s", m->time_unit);
  for (int k = 0; k < m->n_obs; k++) fprintf(f, ",%s", m->obs[k].name);
  for (int k = 0; k < m->n_input; k++) fprintf(f, ",%s", m->input[k].name);
  for (int k = 0; k < m->n_state; k++) fprintf(f, ",%s", m->state[k].name);
  fputs(",medtwin_version,model,patient,param_hash\n", f);
  for (int i = 0; i < s->n; i++) {
    fprintf(f, "%.10g", s->t[i]);
    for (int k = 0; k < m->n_obs; k++)
      fprintf(f, ",%.10g", s->y[(size_t)i * m->n_obs + k]);
    for (int k = 0; k < m->n_input; k++)
      fprintf(f, ",%.10g", s->u[(size_t)i * m->n_input + k]);
    for (int k = 0; k < m->n_state; k++)
      fprintf(f, ",%.10g", s->x[(size_t)i * m->n_state + k]);
    fprintf(f, ",%s,%s,%s,%s\n", MT_VERSION, m->name, pt->id, hash);
  }
}

static int write_svg(FILE *f, const run *r)
{
  const mt_model *m = r->m;
  const mt_series *s = &r->out;
  int bg = mt_var_index(m->obs, m->n_obs, "BG");
  int cgm = mt_var_index(m->obs, m->n_obs, "CGM");
  int cho = mt_var_index(m->input, m->n_input, "CHO");
  int ins = mt_var_index(m->input, m->n_input, "insulin");
  double *col = malloc((size_t)s->n * 4 * sizeof *col);
  if (!col || bg < 0)
    return free(col), MT_EINVAL;
  double *c[4] = {col, col + s->n, col + 2 * s->n, col + 3 * s->n};
  for (int i = 0; i < s->n; i++) {
    c[0][i] = s->y[(size_t)i * m->n_obs + bg];
    c[1][i] = cgm >= 0 ? s->y[(size_t)i * m->n_obs + cgm] : 0;
    c[2][i] = cho >= 0 ? s->u[(size_t)i * m->n_input + cho] : 0;
    c[3][i] = ins >= 0 ? s->u[(size_t)i * m->n_input + ins] : 0;
  }
  char title[160], sub[200];
  snprintf(title, sizeof title, "%s — %s", r->pt->id, m->name);
  snprintf(sub, sizeof sub, "medtwin %s · parameter hash %s", MT_VERSION,
           r->hash);
  mt_glucose_plot pl = {title, sub, s->n, s->t, c[0], cgm >= 0 ? c[1] : NULL,
                        cho >= 0 ? c[2] : NULL, ins >= 0 ? c[3] : NULL,
                        r->sc->start_clock_min};
  int rc = mt_plot_glucose_svg(&pl, f);
  free(col);
  return rc;
}

int cli_write_run(const char *csv, const char *svg, const mt_model *m,
                  const mt_series *s, const mt_patient *pt,
                  int (*plot)(FILE *f, const void *ctx), const void *ctx)
{
  char err[MT_ERRMSG_MAX] = "";
  mt_afile *f[2] = {NULL, NULL};
  int rc = 0, n = 0;
  if (csv && !(rc = mt_afile_open(csv, &f[n], err, sizeof err)))
    cli_series_csv(mt_afile_stream(f[n++]), m, s, pt);
  if (!rc && svg && !(rc = mt_afile_open(svg, &f[n], err, sizeof err)) &&
      (rc = plot(mt_afile_stream(f[n++]), ctx)))
    snprintf(err, sizeof err, "%s: cannot write the plot (%s)", svg,
             mt_strerror(rc));
  if (!rc)
    rc = mt_afile_commit_all(f, n, err, sizeof err);
  else
    for (int i = 0; i < n; i++)
      mt_afile_abort(f[i]);
  return rc ? cli_fail(EXIT_RUNTIME, "%s", err) : 0;
}

static int plot_run(FILE *f, const void *ctx) { return write_svg(f, ctx); }

static int print_json(const opts *o, const run *r)
{
  const mt_glycemic *g = &r->g;
  json_t *j = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:f, s:i, s:i,"
      " s:{s:s, s:f, s:f, s:I, s:I, s:I, s:I},"
      " s:{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f,"
      " s:f, s:f}}",
      "medtwin_version", MT_VERSION, "model", r->m->name, "patient",
      r->pt->id, "param_hash", r->hash, "scenario", o->scenario,
      "duration_min", r->sc->duration_min, "start_clock_min",
      r->sc->start_clock_min, "n_events", r->sc->n_event, "solver", "name",
      o->cfg.solver == MT_SOLVER_CVODE ? "cvode" : "dopri5", "rtol",
      o->cfg.rtol, "atol", o->cfg.atol, "steps", (json_int_t)r->stats.n_step,
      "rhs_evals", (json_int_t)r->stats.n_rhs, "rejected",
      (json_int_t)r->stats.n_reject, "segments",
      (json_int_t)r->stats.n_segment, "bg", "n", g->n, "mean_mgdl",
      g->mean_mgdl, "sd_mgdl", g->sd_mgdl, "cv_pct", g->cv_pct, "gmi_pct",
      g->gmi_pct, "tir_pct", g->tir_pct, "tbr70_pct", g->tbr70_pct,
      "tbr54_pct", g->tbr54_pct, "tar180_pct", g->tar180_pct, "tar250_pct",
      g->tar250_pct, "lbgi", g->lbgi, "hbgi", g->hbgi, "min_mgdl",
      g->min_mgdl, "max_mgdl", g->max_mgdl);
  if (!j)
    return cli_fail(EXIT_RUNTIME, "cannot build the JSON summary");
  int rc = json_dumpf(j, stdout, JSON_INDENT(2));
  json_decref(j);
  putchar('\n');
  return rc ? EXIT_RUNTIME : 0;
}

static void print_text(const opts *o, const run *r)
{
  const mt_glycemic *g = &r->g;
  printf("medtwin %s — %s, patient %s (parameter hash %s)\n", MT_VERSION,
         r->m->name, r->pt->id, r->hash);
  printf("scenario %s: %.0f min from %02d:%02d, %d events\n", o->scenario,
         r->sc->duration_min, r->sc->start_clock_min / 60,
         r->sc->start_clock_min % 60, r->sc->n_event);
  printf("plasma glucose (BG) every minute, n = %d\n", g->n);
  printf("  mean %.1f mg/dL   SD %.1f mg/dL   CV %.1f %%   GMI %.2f %%\n",
         g->mean_mgdl, g->sd_mgdl, g->cv_pct, g->gmi_pct);
  printf("  time in range 70-180 mg/dL   %5.1f %%\n", g->tir_pct);
  printf("  time below 70 mg/dL          %5.1f %%   (below 54: %.1f %%)\n",
         g->tbr70_pct, g->tbr54_pct);
  printf("  time above 180 mg/dL         %5.1f %%   (above 250: %.1f %%)\n",
         g->tar180_pct, g->tar250_pct);
  printf("  LBGI %.2f   HBGI %.2f   min %.1f   max %.1f mg/dL\n", g->lbgi,
         g->hbgi, g->min_mgdl, g->max_mgdl);
  printf("solver %s (rtol %g, atol %g): %ld steps, %ld rhs evaluations, "
         "%ld segments\n", o->cfg.solver == MT_SOLVER_CVODE ? "cvode" : "dopri5",
         o->cfg.rtol, o->cfg.atol, r->stats.n_step, r->stats.n_rhs,
         r->stats.n_segment);
}

/* A heart model: the duration from --duration, else the scenario's, else
** 60 s; a scenario's events must be drug doses for the model's inputs. */
static int simulate_beats(const opts *o, const mt_model *m)
{
  double t_end = o->duration_s > 0 ? o->duration_s : 60.0;
  if (o->scenario) {
    char err[MT_ERRMSG_MAX];
    mt_scenario *sc = NULL;
    if (mt_scenario_load(o->scenario, &sc, err, sizeof err))
      return cli_fail(EXIT_USAGE, "%s", err);
    if (!(o->duration_s > 0))
      t_end = sc->duration_min * 60.0;
    mt_schedule *sch = NULL;
    int rc = 0;
    if (sc->n_event > 0 && m->n_input == 0)
      rc = cli_fail(EXIT_USAGE, "%s: %d events, but %s takes no inputs",
                    o->scenario, sc->n_event, m->name);
    else if (sc->n_event > 0 &&
             mt_scenario_schedule_doses(sc, m, &sch, err, sizeof err))
      rc = cli_fail(EXIT_USAGE, "%s: %s", o->scenario, err);
    else if (t_end > 86400)
      rc = cli_fail(EXIT_USAGE, "%s: %g s, longer than the 86400 s a heart "
                    "model runs", o->scenario, t_end);
    int baro = sc->baroreflex;
    if (!rc && baro > 0 && mt_var_index(m->param, m->n_param, "baro_on") < 0)
      rc = cli_fail(EXIT_USAGE, "%s: baroreflex: model %s has none",
                    o->scenario, m->name);
    mt_scenario_free(sc);
    if (!rc)
      rc = cli_simulate_beats(m, o->patient, o->csv, o->svg, o->scenario,
                              t_end, o->json, &o->cfg, sch, baro);
    mt_schedule_free(sch);
    return rc;
  }
  return cli_simulate_beats(m, o->patient, o->csv, o->svg, NULL, t_end,
                            o->json, &o->cfg, NULL, -1);
}

int cmd_simulate(int argc, char **argv)
{
  opts o;
  run r;
  memset(&r, 0, sizeof r);
  int rc = parse_opts(argc, argv, &o);
  mt_beat_cols bc;
  const mt_model *m = rc ? NULL : mt_model_find(o.model);
  /* A beat-averaged heart model: time in min, MAP and EF observed. */
  int averaged = m && !strcmp(m->time_unit, "min") &&
                 mt_var_index(m->obs, m->n_obs, "MAP") >= 0 &&
                 mt_var_index(m->obs, m->n_obs, "EF") >= 0;
  if (!rc && o.days > 0 && !averaged)
    return cli_fail(EXIT_USAGE, "simulate: --days: only for beat-averaged "
                    "heart models");
  if (m && mt_beat_cols_find(m, &bc) == 0)
    return simulate_beats(&o, m);
  if (averaged) {
    if (o.duration_s > 0)
      return cli_fail(EXIT_USAGE, "simulate: --duration: %s runs in days "
                      "(--days D)", m->name);
    return cli_simulate_averaged(m, o.patient, o.scenario, o.csv, o.svg,
                                 o.days, o.json, &o.cfg);
  }
  if (!rc)
    rc = check_required(&o);
  if (!rc)
    rc = prepare(&o, &r);
  if (!rc)
    rc = simulate(&o, &r);
  if (!rc)
    rc = cli_write_run(o.csv, o.svg, r.m, &r.out, r.pt, plot_run, &r);
  if (!rc && o.json)
    rc = print_json(&o, &r);
  else if (!rc)
    print_text(&o, &r);
  mt_series_clear(&r.out);
  mt_schedule_free(r.sch);
  mt_scenario_free(r.sc);
  mt_patient_free(r.pt);
  return rc;
}
