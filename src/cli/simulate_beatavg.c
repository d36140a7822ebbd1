/*
** medtwin simulate for a beat-averaged heart model (time unit min, with the
** observables MAP, CO, EF; e.g. circulation_beatavg): runs the patient
** (default the model's first) for --days days (or a scenario's duration;
** default 1 day), the scenario's drug doses given as rates over their
** duration (per minute), sampled every hour (and at the end), and prints
** the observables at the start and at the end; --csv writes the samples,
** --svg the plot of medtwin/plot_trend.h (MAP with the 65 mmHg line, CO, EF,
** weight; the doses on the time axis), both all or nothing. Output keys:
** docs/cli.md.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/patient.h"
#include "medtwin/plot_trend.h"
#include "medtwin/scenario.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"

/* The scenario's doses as pulses on the inputs named by their drugs, in
** minutes. Returns 0 or an exit status (with the message printed). */
static int doses(const mt_scenario *sc, const char *file, const mt_model *m,
                 mt_schedule **out)
{
  if (mt_schedule_create(m->n_input, out))
    return cli_fail(EXIT_RUNTIME, "out of memory");
  for (int i = 0; i < sc->n_event; i++) {
    const mt_scenario_event *e = &sc->event[i];
    int k = e->type == MT_EV_DOSE
                ? mt_var_index(m->input, m->n_input, e->drug)
                : -1;
    if (e->type != MT_EV_DOSE)
      return cli_fail(EXIT_USAGE, "%s: event at t_min %g: only drug doses "
                      "drive model %s", file, e->t_min, m->name);
    if (k < 0)
      return cli_fail(EXIT_USAGE, "%s: event at t_min %g: model %s has no "
                      "input \"%s\"", file, e->t_min, m->name, e->drug);
    if (mt_schedule_pulse(*out, k, e->t_min, e->t_min + e->duration_min,
                          e->amount / e->duration_min, 0))
      return cli_fail(EXIT_USAGE, "%s: event at t_min %g: cannot schedule",
                      file, e->t_min);
  }
  return 0;
}

/* MAP below 65 mmHg: the usual floor of organ perfusion (Surviving Sepsis
** Campaign guidelines, Evans et al., Crit Care Med 49:e1063, 2021). */
#define MAP_FLOOR 65.0

/* The plot (plot_trend.h): the observables of the heart the model has, the
** scenario's doses on the time axis. */
static int write_svg(FILE *f, const mt_model *m, const mt_series *o,
                     const mt_patient *pt, const mt_scenario *sc,
                     const char *scenario)
{
  static const mt_trend_panel want[4] = {
    {"MAP", "MAP 65 mmHg", MAP_FLOOR}, {"CO", NULL, 0}, {"EF", NULL, 0},
    {"weight", NULL, 0}};
  mt_trend_panel pan[4];
  int np = 0, nd = sc ? sc->n_event : 0, rc;
  for (int k = 0; k < 4; k++)
    if (mt_var_index(m->obs, m->n_obs, want[k].obs) >= 0)
      pan[np++] = want[k];
  mt_trend_dose *d = nd ? calloc(nd, sizeof *d) : NULL;
  if (nd && !d)
    return MT_ENOMEM;
  for (int i = 0; i < nd; i++)
    d[i] = (mt_trend_dose){sc->event[i].t_min, sc->event[i].drug};
  char sub[160], hash[33];
  const char *base = scenario ? strrchr(scenario, '/') : NULL;
  mt_patient_param_hash(pt, hash);
  snprintf(sub, sizeof sub, "medtwin %s · parameter hash %s · sampled "
           "hourly", MT_VERSION, hash);
  mt_trend_plot pl = {m, o, pt->id, base ? base + 1 : scenario, sub, np,
                      pan, nd, d};
  rc = mt_plot_trend_svg(&pl, f);
  free(d);
  return rc;
}

/* The plot's arguments, for cli_write_run. */
typedef struct plot_args {
  const mt_model *m;
  const mt_series *o;
  const mt_patient *pt;
  const mt_scenario *sc;
  const char *scenario;
} plot_args;

static int plot_run(FILE *f, const void *ctx)
{
  const plot_args *a = ctx;
  return write_svg(f, a->m, a->o, a->pt, a->sc, a->scenario);
}

int cli_simulate_averaged(const mt_model *m, const char *patient,
                          const char *scenario, const char *csv,
                          const char *svg, double days, int json,
                          const mt_sim_config *cfg)
{
  char err[MT_ERRMSG_MAX];
  mt_patient *pt = NULL;
  mt_scenario *sc = NULL;
  mt_schedule *sch = NULL;
  mt_series o;
  memset(&o, 0, sizeof o);
  int rc = 0;
  if (!patient)
    patient = m->patients && m->patients->n > 0 ? m->patients->name(0) : "";
  if (mt_patient_load(m, patient, &pt, err, sizeof err))
    return cli_fail(EXIT_USAGE, "--patient: %s", err);
  double t_end = days > 0 ? days * 1440 : 1440;
  if (scenario) {
    if (mt_scenario_load(scenario, &sc, err, sizeof err)) {
      rc = cli_fail(EXIT_USAGE, "%s", err);
      goto done;
    }
    if (!(days > 0))
      t_end = sc->duration_min;
    if ((rc = doses(sc, scenario, m, &sch)))
      goto done;
  }
  int n = (int)ceil(t_end / 60 - 1e-9) + 1;
  if (mt_series_alloc(&o, m, n)) {
    rc = cli_fail(EXIT_RUNTIME, "out of memory");
    goto done;
  }
  for (int i = 0; i < n; i++)
    o.t[i] = fmin(60.0 * i, t_end);
  mt_sim *s;
  if (mt_sim_create(m, cfg, &s)) {
    rc = cli_fail(EXIT_RUNTIME, "cannot create the simulation");
    goto done;
  }
  int sr = mt_sim_run(s, pt->param, NULL, NULL, sch, 0, t_end, &o);
  mt_sim_stats st = *mt_sim_last_stats(s);
  if (sr)
    cli_fail(EXIT_RUNTIME, "simulation of %s failed: %s", pt->id,
             mt_sim_errmsg(s));
  mt_sim_free(s);
  if (sr) {
    rc = EXIT_RUNTIME;
    goto done;
  }
  plot_args pa = {m, &o, pt, sc, scenario};
  if ((csv || svg) &&
      (rc = cli_write_run(csv, svg, m, &o, pt, plot_run, &pa)))
    goto done;
  char hash[33];
  mt_patient_param_hash(pt, hash);
  const double *y0 = o.y, *y1 = &o.y[(size_t)(n - 1) * (size_t)m->n_obs];
  if (json) {
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:f, s:I, s:I}",
                          "medtwin_version", MT_VERSION, "model", m->name,
                          "patient", pt->id, "param_hash", hash,
                          "duration_min", t_end, "steps",
                          (json_int_t)st.n_step, "segments",
                          (json_int_t)st.n_segment);
    json_t *a = json_object(), *b = json_object();
    for (int k = 0; j && a && b && k < m->n_obs; k++) {
      json_object_set_new(a, m->obs[k].name, json_real(y0[k]));
      json_object_set_new(b, m->obs[k].name, json_real(y1[k]));
    }
    if (!j || !a || !b) {
      json_decref(j), json_decref(a), json_decref(b);
      rc = cli_fail(EXIT_RUNTIME, "cannot build the JSON summary");
      goto done;
    }
    json_object_set_new(j, "start", a);
    json_object_set_new(j, "end", b);
    rc = json_dumpf(j, stdout, JSON_INDENT(2)) ? EXIT_RUNTIME : 0;
    putchar('\n');
    json_decref(j);
  } else {
    printf("medtwin %s — %s, patient %s (parameter hash %s)\n", MT_VERSION,
           m->name, pt->id, hash);
    printf("%.0f min (%.2f days), beat-averaged, %d doses; %ld steps, %ld "
           "segments\n", t_end, t_end / 1440, sc ? sc->n_event : 0,
           st.n_step, st.n_segment);
    printf("  %-8s %12s %12s\n", "", "start", "end");
    for (int k = 0; k < m->n_obs; k++)
      printf("  %-8s %12.4g %12.4g %s\n", m->obs[k].name, y0[k], y1[k],
             m->obs[k].unit);
  }
done:
  mt_series_clear(&o);
  mt_schedule_free(sch);
  mt_scenario_free(sc);
  mt_patient_free(pt);
  return rc;
}
