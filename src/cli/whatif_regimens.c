/*
** medtwin whatif: rank drug regimens for a heart model's patient by their
** predicted MAP, cardiac output and ejection fraction against targets
** (medtwin/regimen.h; file format and score in docs/regimens.md). The
** regimens run in parallel with OpenMP, one per thread; the results do not
** depend on the number of threads. Output keys: docs/cli.md.
*/
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/regimen.h"

static const char usage_text[] =
    "usage: medtwin whatif --regimens FILE.json [--model NAME] [--patient "
    "NAME]\n"
    "                      [--horizon-h H] [--baroreflex on|off] [--threads "
    "N] [--json]\n"
    "  Simulate each regimen of FILE over the horizon (default: the file's "
    "horizon_h,\n"
    "  else 2 h) and rank them against the file's targets (default MAP "
    "65-90 mmHg,\n"
    "  CO >= 4 L/min, EF >= 40 %). Model default circulation_smith2004, "
    "patient the\n"
    "  model's first condition. Format: docs/regimens.md.\n";

typedef struct opts {
  const char *model, *patient, *file;
  double horizon_h;
  int baro, threads, json;
} opts;

static int opt(void *ctx, const char *a, const char *v)
{
  opts *o = ctx;
  char *end;
  if (!strcmp(a, "--model"))
    o->model = v;
  else if (!strcmp(a, "--patient"))
    o->patient = v;
  else if (!strcmp(a, "--regimens"))
    o->file = v;
  else if (!strcmp(a, "--horizon-h")) {
    o->horizon_h = strtod(v, &end);
    if (*end || end == v || !(o->horizon_h > 0 && o->horizon_h <= 2160))
      return cli_fail(EXIT_USAGE, "whatif: --horizon-h: expected hours in "
                      "(0, 2160], got '%s'", v);
  } else if (!strcmp(a, "--baroreflex")) {
    if (strcmp(v, "on") && strcmp(v, "off"))
      return cli_fail(EXIT_USAGE, "whatif: --baroreflex: expected on or "
                      "off, got '%s'", v);
    o->baro = !strcmp(v, "on");
  } else if (!strcmp(a, "--threads")) {
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < 1 || n > 256)
      return cli_fail(EXIT_USAGE, "whatif: --threads: expected 1-256, got "
                      "'%s'", v);
    o->threads = (int)n;
  } else
    return cli_fail(EXIT_USAGE, "whatif: unknown option '%s'", a);
  return 0;
}

typedef struct job {
  const mt_model *m;
  mt_patient *pt;
  mt_regimen_set *set;
  mt_regimen_config cfg;
  mt_regimen_outcome *out;
  double *wall;
  int *order, baro, threads, avg; /* avg: a beat-averaged model */
  double wall_total;
} job;

/* Each regimen on its own thread; the first failure's status. */
static int run_all(job *j)
{
  int n = j->set->n, failed = -1;
  char err[MT_ERRMSG_MAX] = "";
  double t0 = omp_get_wtime();
#pragma omp parallel for schedule(dynamic, 1) num_threads(j->threads)
  for (int i = 0; i < n; i++) {
    char e[MT_ERRMSG_MAX];
    double s = omp_get_wtime();
    int rc = mt_regimen_simulate(j->m, j->pt->param, &j->set->r[i], &j->cfg,
                                 &j->out[i], e, sizeof e);
    j->wall[i] = omp_get_wtime() - s;
    if (rc) {
#pragma omp critical(whatif_fail)
      if (failed < 0 || i < failed)
        failed = i, snprintf(err, sizeof err, "%s", e);
    }
  }
  j->wall_total = omp_get_wtime() - t0;
  if (failed >= 0)
    return cli_fail(EXIT_RUNTIME, "whatif: %s", err);
  for (int i = 0; i < n; i++)
    mt_regimen_score(&j->set->targets, &j->out[i]);
  mt_regimen_rank(n, j->out, j->order);
  return 0;
}

static json_t *range_json(const mt_regimen_range *r)
{
  json_t *o = json_object();
  if (!isnan(r->lo))
    json_object_set_new(o, "min", json_real(r->lo));
  if (!isnan(r->hi))
    json_object_set_new(o, "max", json_real(r->hi));
  return o;
}

static double sim_total(const job *j)
{
  double s = 0;
  for (int i = 0; i < j->set->n; i++)
    s += j->out[i].simulated_s;
  return s;
}

static int print_json(const job *j)
{
  json_t *arr = json_array();
  for (int r = 0; r < j->set->n; r++) {
    int i = j->order[r];
    const mt_regimen_outcome *o = &j->out[i];
    json_array_append_new(arr, json_pack(
        "{s:i, s:s, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:i,"
        " s:f, s:f}", "rank", o->rank, "name", j->set->r[i].name, "missed",
        o->missed, "distance", o->distance, "map_mmhg", o->map_mmhg,
        "co_lmin", o->co_lmin, "ef_pct", o->ef_pct, "hr_bpm", o->hr_bpm,
        "sbp_mmhg", o->sbp_mmhg, "dbp_mmhg", o->dbp_mmhg, "worst_map_mmhg",
        o->worst_map_mmhg, "worst_map_t_s", o->worst_map_t_s, "n_beats",
        o->n_beats, "simulated_s", o->simulated_s, "wall_s", j->wall[i]));
  }
  const mt_regimen_targets *t = &j->set->targets;
  double sim = sim_total(j);
  json_t *root = json_pack(
      "{s:s, s:s, s:s, s:b, s:f, s:f, s:{s:o, s:o, s:o}, s:o, s:{s:f, s:f,"
      " s:i, s:f}}", "medtwin_version", MT_VERSION, "model", j->m->name,
      "patient", j->pt->id, "baroreflex", j->baro, "horizon_h",
      j->cfg.horizon_s / 3600, "window_s", j->cfg.window_s, "targets",
      "map_mmhg", range_json(&t->map_mmhg), "co_lmin",
      range_json(&t->co_lmin), "ef_pct", range_json(&t->ef_pct), "regimens",
      arr, "cost", "simulated_s", sim, "wall_s", j->wall_total, "threads",
      j->threads, "real_time_factor", sim / j->wall_total);
  if (!root)
    return cli_fail(EXIT_RUNTIME, "cannot build the JSON summary");
  int rc = json_dumpf(root, stdout, JSON_INDENT(2));
  json_decref(root);
  putchar('\n');
  return rc ? EXIT_RUNTIME : 0;
}

static void print_text(const job *j)
{
  if (j->avg)
    printf("medtwin %s — whatif, %s, %s, horizon %.2f h (values at its "
           "end; worst MAP hourly)\n", MT_VERSION, j->m->name, j->pt->id,
           j->cfg.horizon_s / 3600);
  else
    printf("medtwin %s — whatif, %s, %s%s, horizon %.2f h (last %.0f s "
           "measured)\n", MT_VERSION, j->m->name, j->pt->id,
           j->baro ? " with baroreflex" : "", j->cfg.horizon_s / 3600,
           j->cfg.window_s);
  printf("%4s  %-28s %6s %7s %6s %6s %6s %9s\n", "rank", "regimen",
         "missed", "MAP", "CO", "EF", "HR", "worst MAP");
  for (int r = 0; r < j->set->n; r++) {
    int i = j->order[r];
    const mt_regimen_outcome *o = &j->out[i];
    printf("%4d  %-28.28s %6d %7.1f %6.2f %6.1f %6.1f %9.1f\n", o->rank,
           j->set->r[i].name, o->missed, o->map_mmhg, o->co_lmin, o->ef_pct,
           o->hr_bpm, o->worst_map_mmhg);
  }
  double sim = sim_total(j);
  printf("cost: %.0f s simulated in %.2f s of wall time on %d threads "
         "(%.0fx real time)\n", sim, j->wall_total, j->threads,
         sim / j->wall_total);
}

/* Model, patient and regimens of o into j; an exit status. */
static int prepare(const opts *o, job *j)
{
  char err[MT_ERRMSG_MAX];
  if (!o->file)
    return cli_fail(EXIT_USAGE, "whatif: --regimens FILE is required");
  if (!(j->m = mt_model_find(o->model)))
    return cli_fail(EXIT_USAGE, "whatif: --model: no model '%s' (see "
                    "'medtwin models')", o->model);
  const char *who = o->patient ? o->patient
                    : j->m->patients ? j->m->patients->name(0) : "";
  if (mt_patient_load(j->m, who, &j->pt, err, sizeof err))
    return cli_fail(EXIT_USAGE, "whatif: --patient: %s", err);
  int rc = mt_regimen_set_load(o->file, j->m, &j->set, err, sizeof err);
  if (rc)
    return cli_fail(rc == MT_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE, "%s", err);
  mt_regimen_config_init(&j->cfg);
  double h = o->horizon_h > 0 ? o->horizon_h
             : j->set->horizon_h > 0 ? j->set->horizon_h : 2;
  j->avg = j->m->time_unit && !strcmp(j->m->time_unit, "min");
  if (!j->avg && h > 24)
    return cli_fail(EXIT_USAGE, "whatif: horizon %g h: a beat-resolved model "
                    "(%s) runs at most 24 h; a beat-averaged one "
                    "(circulation_beatavg) up to 2160 h", h, j->m->name);
  if (j->avg)
    j->cfg.check_s = 3600; /* the worst MAP hour by hour */
  j->cfg.horizon_s = h * 3600;
  if (j->cfg.horizon_s < j->cfg.window_s)
    j->cfg.window_s = j->cfg.horizon_s;
  if (j->cfg.check_window_s > j->cfg.window_s)
    j->cfg.check_window_s = j->cfg.window_s;
  j->baro = o->baro >= 0 ? o->baro : j->set->baroreflex > 0;
  int k = mt_var_index(j->m->param, j->m->n_param, "baro_on");
  if (j->baro && k < 0)
    return cli_fail(EXIT_USAGE, "whatif: model %s has no baroreflex",
                    j->m->name);
  if (k >= 0)
    j->pt->param[k] = j->baro;
  int n = j->set->n;
  j->out = calloc((size_t)n, sizeof *j->out);
  j->wall = calloc((size_t)n, sizeof *j->wall);
  j->order = calloc((size_t)n, sizeof *j->order);
  if (!j->out || !j->wall || !j->order)
    return cli_fail(EXIT_RUNTIME, "out of memory");
  j->threads = o->threads > 0 ? o->threads : omp_get_max_threads();
  if (j->threads > n)
    j->threads = n;
  return 0;
}

int cmd_whatif(int argc, char **argv)
{
  opts o = {.model = "circulation_smith2004", .baro = -1};
  job j;
  memset(&j, 0, sizeof j);
  int rc = cli_parse(argc, argv, "whatif", usage_text, &o.json, opt, &o);
  if (!rc)
    rc = prepare(&o, &j);
  if (!rc)
    rc = run_all(&j);
  if (!rc)
    rc = o.json ? print_json(&j) : (print_text(&j), 0);
  free(j.out), free(j.wall), free(j.order);
  mt_regimen_set_free(j.set);
  mt_patient_free(j.pt);
  return rc;
}
