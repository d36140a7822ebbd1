/*
** The N-version benchmark of Niederer et al. 2011 (medtwin/nversion.h,
** docs/VALIDATION.md): activation times of P1..P9 of the 20 x 7 x 3 mm
** slab for each (dx, dt) run, and the wall time.
** usage: nversion [dx dt [semi]] ...   (triples: dx mm, dt ms, 0 explicit /
**        1 semi-implicit); with no argument: dx 0.5 at dt 0.05, 0.01, 0.005.
** Prints `nversion_dx<dx>_dt<dt>_P<k> <ms> ms` and
** `nversion_dx<dx>_dt<dt>_wall <s> s`. Threads: OMP_NUM_THREADS.
*/
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "medtwin/error.h"
#include "medtwin/nversion.h"

static int one(double dx, double dt, int semi)
{
  double a[MT_NVERSION_POINTS];
  mt_nversion_stats st;
  char err[MT_ERRMSG_MAX];
  double t0 = bench_now();
  int rc = mt_nversion_run(dx, dt, semi, 0, a, &st, err, sizeof err);
  double el = bench_now() - t0;
  if (rc) {
    fprintf(stderr, "%s\n", err);
    return rc == MT_EINVAL ? 2 : 1;
  }
  for (int k = 0; k < MT_NVERSION_POINTS; k++)
    printf("nversion_dx%g_dt%g_P%d %.3f ms\n", dx, dt, k + 1, a[k]);
  printf("nversion_dx%g_dt%g_wall %.2f s (%s, %ld nodes, %ld steps to "
         "%.1f ms, explicit bound %.4g ms, %.3g cell updates/s)\n",
         dx, dt, el, semi ? "semi-implicit" : "explicit", st.nodes,
         st.steps, st.t_end_ms, st.dt_bound,
         (double)st.nodes * (double)st.steps / el);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv)
{
  int rc = 0;
  if (argc == 1) {
    static const double dts[] = {0.05, 0.01, 0.005};
    for (int k = 0; k < 3 && !rc; k++)
      rc = one(0.5, dts[k], 0);
    return rc;
  }
  for (int i = 1; i < argc && !rc; i += 3) {
    double dx = atof(argv[i]), dt = i + 1 < argc ? atof(argv[i + 1]) : 0;
    int semi = i + 2 < argc ? atoi(argv[i + 2]) : 0;
    rc = one(dx, dt, semi);
  }
  return rc;
}
