/*
** Simulated patient-days per second on one core: all 30 UVA/Padova subjects
** through the example day (examples/scenarios/day.json), sampled every
** minute. Prints `name value unit` lines; method in docs/PERFORMANCE.md.
** usage: sim_patient_day [scenario.json] [seconds per repeat] [repeats]
**                        [scalar|lanes|both]
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/scenario.h"
#include "medtwin/sim.h"

#ifndef MT_SOURCE_DIR
#define MT_SOURCE_DIR "."
#endif

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

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
    double days = 0, t0 = now(), t;
    do {
      double d = pass(c, s, out, batched);
      if (d < 0)
        return -1;
      days += d;
    } while ((t = now() - t0) < secs);
    rate[r] = days / t;
  }
  qsort(rate, (size_t)reps, sizeof *rate, cmp);
  return rate[reps / 2];
}

int main(int argc, char **argv)
{
  const char *file = argc > 1 ? argv[1]
                              : MT_SOURCE_DIR "/examples/scenarios/day.json";
  double secs = argc > 2 ? atof(argv[2]) : 1.0;
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  if (reps < 1 || reps > 99 || !(secs > 0))
    return 2;
  cohort c = {0};
  if (load(file, &c))
    return 2;
  const mt_model *m = c.pt[0]->model;
  mt_sim *s;
  mt_series out[30];
  int n = (int)c.duration + 1;
  if (mt_sim_create(m, NULL, &s))
    return 1;
  for (int i = 0; i < c.n; i++) {
    if (mt_series_alloc(&out[i], m, n))
      return 1;
    for (int k = 0; k < n; k++)
      out[i].t[k] = k;
  }
  const char *mode = argc > 4 ? argv[4] : "both";
  int both = !strcmp(mode, "both");
  double scalar = both || !strcmp(mode, "scalar")
                      ? measure(&c, s, out, 0, secs, reps) : 0;
  double lanes = both || !strcmp(mode, "lanes")
                     ? measure(&c, s, out, 1, secs, reps) : 0;
  if (scalar < 0 || lanes < 0)
    return 1;
  if (scalar > 0)
    printf("sim_patient_day_dopri5_scalar %.0f patient-days/s\n", scalar);
  if (lanes > 0)
    printf("sim_patient_day_dopri5_lanes %.0f patient-days/s\n", lanes);
  if (both)
    printf("sim_patient_day_lanes_speedup %.2f x\n", lanes / scalar);
  mt_sim_free(s);
  for (int i = 0; i < c.n; i++) {
    mt_series_clear(&out[i]);
    mt_patient_free(c.pt[i]);
    mt_schedule_free(c.sch[i]);
  }
  return 0;
}
