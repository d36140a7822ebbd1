/*
** Simulated patient-days per second on one core: all 30 UVA/Padova subjects
** through the example day (examples/scenarios/day.json), sampled every
** minute. Prints `name value unit` lines; method in docs/PERFORMANCE.md.
** usage: sim_patient_day [scenario.json] [seconds per repeat] [repeats]
**                        [cvode|scalar|lanes|all]
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/scenario.h"
#include "medtwin/sim.h"

#ifndef MT_SOURCE_DIR
#define MT_SOURCE_DIR "."
#endif


typedef struct cohort {
  int n;
  mt_patient *pt[30];
  mt_schedule *sch[30];
  double duration;
} cohort;

static int load(const char *file, cohort *c)
{
  char err[MT_ERRMSG_MAX];
  const mt_model *m = mt_model_find("uva_padova_t1d");
  mt_scenario *sc;
  if (mt_scenario_load(file, &sc, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  c->duration = sc->duration_min;
  c->n = m->patients->n;
  for (int i = 0; i < c->n; i++)
    if (mt_patient_load(m, m->patients->name(i), &c->pt[i], err, sizeof err) ||
        mt_scenario_schedule(sc, c->pt[i], &c->sch[i], err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      return 2;
    }
  mt_scenario_free(sc);
  return 0;
}

/* One pass over the cohort, one patient after another (batched = 0) or
** MT_LANES at a time; returns patient-days simulated or -1. */
static double pass(const cohort *c, mt_sim *s, mt_series *out, int batched)
{
  const double *p[30];
  int failed;
  for (int i = 0; i < c->n; i++)
    p[i] = c->pt[i]->param;
  if (batched &&
      mt_sim_run_many(s, c->n, p, (const mt_schedule *const *)c->sch, 0,
                      c->duration, out, &failed)) {
    fprintf(stderr, "%s\n", mt_sim_errmsg(s));
    return -1;
  }
  for (int i = 0; !batched && i < c->n; i++)
    if (mt_sim_run(s, p[i], NULL, NULL, c->sch[i], 0, c->duration, &out[i])) {
      fprintf(stderr, "%s\n", mt_sim_errmsg(s));
      return -1;
    }
  return c->n * c->duration / 1440.0;
}

/* Median patient-days per second over reps repeats of >= secs each. */
static double measure(const cohort *c, mt_sim *s, mt_series *out, int batched,
                      double secs, int reps)
{
  double rate[99];
  for (int r = 0; r < reps; r++) {
    double days = 0, t0 = bench_now(), t;
    do {
      double d = pass(c, s, out, batched);
      if (d < 0)
        return -1;
      days += d;
    } while ((t = bench_now() - t0) < secs);
    rate[r] = days / t;
  }
  qsort(rate, (size_t)reps, sizeof *rate, bench_cmp);
  return rate[reps / 2];
}

/* Median rate of one configuration; 0 when the mode does not ask for it. */
static double run_mode(const cohort *c, mt_series *out, const char *mode,
                       const char *want, mt_solver solver, int batched,
                       double secs, int reps)
{
  if (strcmp(mode, "all") && strcmp(mode, want))
    return 0;
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  cfg.solver = solver;
  mt_sim *s;
  if (mt_sim_create(c->pt[0]->model, &cfg, &s))
    return -1;
  double r = measure(c, s, out, batched, secs, reps);
  mt_sim_free(s);
  return r;
}

/* Largest |BG| difference over every minute and patient between the lane
** runs in out and CVODE at rtol = atol = 1e-10 (the accuracy the figures
** above come with); negative on failure. */
static double max_dev_vs_cvode(const cohort *c, mt_series *out)
{
  const mt_model *m = c->pt[0]->model;
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  cfg.solver = MT_SOLVER_CVODE;
  cfg.rtol = cfg.atol = 1e-10;
  mt_sim *s;
  mt_series ref;
  int failed, n = out[0].n;
  const double *p[30];
  for (int i = 0; i < c->n; i++)
    p[i] = c->pt[i]->param;
  if (mt_sim_create(m, NULL, &s) ||
      mt_sim_run_many(s, c->n, p, (const mt_schedule *const *)c->sch, 0,
                      c->duration, out, &failed))
    return -1;
  mt_sim_free(s);
  if (mt_sim_create(m, &cfg, &s) || mt_series_alloc(&ref, m, n))
    return -1;
  memcpy(ref.t, out[0].t, (size_t)n * sizeof *ref.t);
  double dev = 0;
  for (int i = 0; i < c->n; i++) {
    if (mt_sim_run(s, p[i], NULL, NULL, c->sch[i], 0, c->duration, &ref))
      return -1;
    for (int k = 0; k < n; k++) /* BG is observable 0 */
      dev = fmax(dev, fabs(out[i].y[(size_t)k * m->n_obs] -
                           ref.y[(size_t)k * m->n_obs]));
  }
  mt_sim_free(s);
  mt_series_clear(&ref);
  return dev;
}

int main(int argc, char **argv)
{
  const char *file = argc > 1 ? argv[1]
                              : MT_SOURCE_DIR "/examples/scenarios/day.json";
  double secs = argc > 2 ? atof(argv[2]) : 1.0;
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  const char *mode = argc > 4 ? argv[4] : "all";
  if (reps < 1 || reps > 99 || !(secs > 0))
    return 2;
  cohort c = {0};
  if (load(file, &c))
    return 2;
  const mt_model *m = c.pt[0]->model;
  mt_series out[30];
  int n = (int)c.duration + 1;
  for (int i = 0; i < c.n; i++) {
    if (mt_series_alloc(&out[i], m, n))
      return 1;
    for (int k = 0; k < n; k++)
      out[i].t[k] = k;
  }
  /* same tolerances for all: rtol = atol = 1e-8 (mt_sim_config_init) */
  double cv = run_mode(&c, out, mode, "cvode", MT_SOLVER_CVODE, 0, secs, reps);
  double sc = run_mode(&c, out, mode, "scalar", MT_SOLVER_DOPRI5, 0, secs,
                       reps);
  double ln = run_mode(&c, out, mode, "lanes", MT_SOLVER_DOPRI5, 1, secs, reps);
  if (cv < 0 || sc < 0 || ln < 0)
    return 1;
  if (cv > 0)
    printf("sim_patient_day_cvode %.0f patient-days/s\n", cv);
  if (sc > 0)
    printf("sim_patient_day_dopri5_scalar %.0f patient-days/s\n", sc);
  if (ln > 0)
    printf("sim_patient_day_dopri5_lanes %.0f patient-days/s\n", ln);
  if (cv > 0 && ln > 0)
    printf("sim_patient_day_lanes_vs_cvode %.1f x\n", ln / cv);
  double dev = max_dev_vs_cvode(&c, out);
  if (dev < 0)
    return 1;
  printf("sim_patient_day_max_bg_dev_vs_cvode_1e-10 %.2e mg/dL\n", dev);
  if (sc > 0 && ln > 0)
    printf("sim_patient_day_lanes_vs_scalar %.2f x\n", ln / sc);
  for (int i = 0; i < c.n; i++) {
    mt_series_clear(&out[i]);
    mt_patient_free(c.pt[i]);
    mt_schedule_free(c.sch[i]);
  }
  return 0;
}
