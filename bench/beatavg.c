/*
** A year of the beat-averaged circulation_beatavg on one core (issue 10,
** item 8): the healthy adult with a drift (LV contractility -0.002 /day,
** stressed volume +1 mL/day) and a daily oral schedule (metoprolol 50 mg at
** 08:00, enalapril 10 mg at 08:00, each taken over 1 min), 525,600 min
** sampled hourly (8,761 samples, each with the observables), DOPRI5 at
** rtol = atol = 1e-8. Prints `beatavg_year_wall X s`, the median wall time of
** the repeats (schedule compiled anew in each), and the last sample's MAP,
** CO, EF and weight as a check that the run did what it says. (No
** diuretic: the model has no fluid intake, so a daily furosemide dose would
** remove stressed volume without bound; the card's limitations.) Method in
** docs/PERFORMANCE.md.
** usage: beatavg [repeats]
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"

#define T_END 525600.0 /* min in 365 days */
#define N_SAMPLE 8761  /* hourly, both ends included */

static int idx(const mt_var *v, int n, const char *name)
{
  int i = mt_var_index(v, n, name);
  if (i < 0) {
    fprintf(stderr, "beatavg: no variable %s\n", name);
    exit(1);
  }
  return i;
}

int main(int argc, char **argv)
{
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  if (reps < 1 || reps > 99) {
    fprintf(stderr, "beatavg: repeats must be 1 to 99\n");
    return 2;
  }
  const mt_model *m = mt_model_find("circulation_beatavg");
  mt_patient *pt;
  char err[MT_ERRMSG_MAX];
  if (!m || mt_patient_load(m, "healthy", &pt, err, sizeof err))
    return 1;
  pt->param[idx(m->param, m->n_param, "drift_Ees")] = -0.002;
  pt->param[idx(m->param, m->n_param, "drift_V")] = 1;
  int ubb = idx(m->input, m->n_input, "beta_blocker");
  int uvd = idx(m->input, m->n_input, "vasodilator");
  mt_series o;
  if (mt_series_alloc(&o, m, N_SAMPLE))
    return 1;
  for (int i = 0; i < N_SAMPLE; i++)
    o.t[i] = fmin(60.0 * i, T_END);
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s;
  if (mt_sim_create(m, &cfg, &s))
    return 1;
  double wall[99];
  for (int r = 0; r < reps; r++) {
    double t0 = bench_now();
    mt_schedule *sch;
    if (mt_schedule_create(m->n_input, &sch))
      return 1;
    for (int d = 0; d < 365; d++) {
      double t = 1440.0 * d + 480;
      if (mt_schedule_pulse(sch, ubb, t, t + 1, 50, 0) ||
          mt_schedule_pulse(sch, uvd, t, t + 1, 10, 0))
        return 1;
    }
    if (mt_sim_run(s, pt->param, NULL, NULL, sch, 0, T_END, &o)) {
      fprintf(stderr, "%s\n", mt_sim_errmsg(s));
      return 1;
    }
    mt_schedule_free(sch);
    wall[r] = bench_now() - t0;
  }
  const mt_sim_stats *st = mt_sim_last_stats(s);
  qsort(wall, (size_t)reps, sizeof *wall, bench_cmp);
  printf("beatavg_year_wall %.4f s\n", wall[reps / 2]);
  printf("beatavg_year_steps %ld\nbeatavg_year_segments %ld\n", st->n_step,
         st->n_segment);
  const double *y = &o.y[(size_t)(N_SAMPLE - 1) * (size_t)m->n_obs];
  printf("day 365: MAP %.2f mmHg, CO %.3f L/min, EF %.2f %%, weight %.2f kg\n",
         y[idx(m->obs, m->n_obs, "MAP")], y[idx(m->obs, m->n_obs, "CO")],
         y[idx(m->obs, m->n_obs, "EF")], y[idx(m->obs, m->n_obs, "weight")]);
  mt_sim_free(s);
  mt_series_clear(&o);
  mt_patient_free(pt);
  return 0;
}
