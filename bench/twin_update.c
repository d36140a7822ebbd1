/*
** Cost of keeping a twin live: one CGM reading assimilated plus a 2 h
** forecast (horizons 30, 60, 90, 120 min), 64 members, one core. The twin
** (population prior without adult#003) follows a generated day of adult#003
** (mt_replay, seed 7); the median over the day's readings is printed as
** `name value unit`. Method in docs/PERFORMANCE.md.
*/
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "medtwin/error.h"
#include "medtwin/replay.h"
#include "medtwin/twin.h"


int main(int argc, char **argv)
{
  int members = argc > 1 ? atoi(argv[1]) : 64;
  char err[MT_ERRMSG_MAX];
  mt_replay_config rc;
  mt_replay_config_init(&rc);
  rc.patient = "adult#003";
  rc.seed = 7;
  mt_replay *rp;
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  cfg.exclude = "adult#003";
  cfg.members = members;
  mt_twin *tw;
  if (mt_replay_generate(&rc, &rp, err, sizeof err) ||
      mt_twin_create(&cfg, &tw, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  const mt_stream *st = mt_replay_stream(rp);
  const double h[4] = {30, 60, 90, 120};
  mt_twin_forecast fc[4];
  double *dt = malloc((size_t)st->n * sizeof *dt);
  int n = 0;
  for (int i = 0; dt && i < st->n; i++) {
    const char *why;
    double t0 = bench_now();
    int r = mt_twin_ingest(tw, &st->d[i], &why);
    if (r < 0 || (r == 0 && st->d[i].kind == MT_DATA_CGM &&
                  mt_twin_forecast_at(tw, h, 4, fc))) {
      fprintf(stderr, "%s\n", mt_twin_errmsg(tw));
      return 1;
    }
    if (r == 0 && st->d[i].kind == MT_DATA_CGM)
      dt[n++] = bench_now() - t0;
  }
  qsort(dt, (size_t)n, sizeof *dt, bench_cmp);
  printf("twin_update_%d_members %.3f ms\n", members, 1e3 * dt[n / 2]);
  free(dt);
  mt_twin_free(tw);
  mt_replay_free(rp);
  return 0;
}
