/*
** Simulated seconds per wall-clock second on one core of the beat-resolved
** circulation_smith2004 (healthy adult), from its initial state over 60 s
** (80 beats, 640 valve events), sampled every 1 ms as `medtwin simulate`
** does, and sampled only at the end (integration alone). Prints `name value
** unit` lines; method in docs/PERFORMANCE.md. Issue 10's target is 1,000x
** real time.
** usage: circulation [seconds per repeat] [repeats]
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/sim.h"

#define T_END 60.0 /* s simulated per run */

/* Median simulated seconds per wall second over reps repeats of at least
** secs each; negative on failure. */
static double measure(const mt_patient *pt, mt_solver sv, double tol,
                      mt_series *out, double secs, int reps)
{
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  cfg.solver = sv;
  cfg.rtol = cfg.atol = tol;
  mt_sim *s;
  if (mt_sim_create(pt->model, &cfg, &s))
    return -1;
  double rate[99];
  for (int r = 0; r < reps; r++) {
    double sim = 0, t0 = bench_now(), t;
    do {
      if (mt_sim_run(s, pt->param, NULL, NULL, NULL, 0, T_END, out)) {
        fprintf(stderr, "%s\n", mt_sim_errmsg(s));
        mt_sim_free(s);
        return -1;
      }
      sim += T_END;
    } while ((t = bench_now() - t0) < secs);
    rate[r] = sim / t;
  }
  mt_sim_free(s);
  qsort(rate, (size_t)reps, sizeof *rate, bench_cmp);
  return rate[reps / 2];
}

int main(int argc, char **argv)
{
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  int reps = argc > 2 ? atoi(argv[2]) : 5;
  if (reps < 1 || reps > 99 || !(secs > 0))
    return 2;
  const mt_model *m = mt_model_find("circulation_smith2004");
  mt_patient *pt;
  char err[MT_ERRMSG_MAX];
  if (!m || mt_patient_load(m, "healthy", &pt, err, sizeof err))
    return 1;
  int n = (int)lround(T_END / 1e-3) + 1;
  mt_series fine, end;
  if (mt_series_alloc(&fine, m, n) || mt_series_alloc(&end, m, 1))
    return 1;
  for (int i = 0; i < n; i++)
    fine.t[i] = fmin(i * 1e-3, T_END);
  end.t[0] = T_END;
  static const struct {
    const char *name;
    mt_solver sv;
    double tol;
    int sampled;
  } cases[] = {
    {"circulation_dopri5_1e-8_1ms", MT_SOLVER_DOPRI5, 1e-8, 1},
    {"circulation_dopri5_1e-8", MT_SOLVER_DOPRI5, 1e-8, 0},
    {"circulation_dopri5_1e-6", MT_SOLVER_DOPRI5, 1e-6, 0},
    {"circulation_cvode_1e-8_1ms", MT_SOLVER_CVODE, 1e-8, 1},
    {"circulation_cvode_1e-8", MT_SOLVER_CVODE, 1e-8, 0},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    double r = measure(pt, cases[k].sv, cases[k].tol,
                       cases[k].sampled ? &fine : &end, secs, reps);
    if (r < 0)
      return 1;
    printf("%s %.0f x_real_time\n", cases[k].name, r);
  }
  mt_series_clear(&fine);
  mt_series_clear(&end);
  mt_patient_free(pt);
  return 0;
}
