/*
** Fast reaction step of the Mitchell-Schaeffer model (Mitchell & Schaeffer,
** Bull Math Biol 65:767, 2003; src/models/mitchell_schaeffer_2003.c) for
** the tissue engine (kernel.h): forward Euler for V, Rush-Larsen for the
** gate h, whose factors exp(-dt / tau_open) and exp(-dt / tau_close) are
** computed once per parameter set. The same arithmetic as the model's rhs
** and inf_tau, node by node.
*/
#include <math.h>
#include <stdlib.h>

#include "medtwin/error.h"
#include "models/ionic.h"
#include "tissue/kernel.h"

typedef struct ms_tab {
  double e_open, e_close; /* exp(-dt / tau_open), exp(-dt / tau_close) */
} ms_tab;

static int prepare(const double *p, double dt, void **tab)
{
  ms_tab *k = malloc(sizeof *k);
  if (!k)
    return MT_ENOMEM;
  k->e_open = exp(-dt / p[MS_TAU_OPEN]);
  k->e_close = exp(-dt / p[MS_TAU_CLOSE]);
  *tab = k;
  return 0;
}

static void release(void *tab) { free(tab); }

MT_KERNEL_CLONES
static long react(double *const *x, double *istim, long b, long e,
                  const double *p, const void *tab, double dt, double u0)
{
  const ms_tab *k = tab;
  double *restrict V = x[MS_V], *restrict H = x[MS_H];
  double *restrict is = istim;
  const double vr = p[MS_V_REST], amp = p[MS_V_AMP], iamp = 1.0 / amp;
  const double itin = 1.0 / p[MS_TAU_IN], itout = 1.0 / p[MS_TAU_OUT];
  const double vg = p[MS_V_GATE], eo = k->e_open, ec = k->e_close;
  long bad = 0;
#pragma omp simd reduction(+ : bad)
  for (long i = b; i < e; i++) {
    double v = (V[i] - vr) * iamp, h = H[i];
    double j_in = h * v * v * (1.0 - v) * itin, j_out = -v * itout;
    double vn = V[i] + dt * (amp * (j_in + j_out) + u0 + is[i]);
    is[i] = 0;
    H[i] = v < vg ? 1.0 + (h - 1.0) * eo : h * ec;
    V[i] = vn;
    bad += !(fabs(vn) <= 1.79e308);
  }
  if (!bad)
    return -1;
  for (long i = b; i < e; i++)
    if (!isfinite(V[i]))
      return i;
  return -1;
}

const mt_tissue_kernel mt_tissue__kernel_ms2003 = {
  .model = &mt_model_mitchell_schaeffer_2003,
  .prepare = prepare, .release = release, .react = react,
};
