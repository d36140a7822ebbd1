/*
** Fast cell kernels of the tissue engine (docs/tissue.md, "Fast cell
** kernels"): for a model that has one, the reaction step updates a run of
** nodes sharing one parameter set in one loop over the engine's
** one-array-per-state layout, without a call per node, which the compiler
** vectorises (`#pragma omp simd`). The generic path (the model's rhs and
** inf_tau per node, tissue.c) stays the reference; the config field
** generic_cells forces it.
**
** The kernel files are compiled for x86-64 with AVX2 and FMA
** (CMakeLists.txt); mt_tissue__kernel_find offers a kernel only when the
** processor has both. Elementary functions inside the loops are the inline
** mt_vexp and mt_vlog below, which vectorise (glibc's scalar exp and log do
** not without -ffast-math, which would also remove the engine's isfinite
** checks).
*/
#ifndef MT_TISSUE_KERNEL_H
#define MT_TISSUE_KERNEL_H

#include <stdint.h>
#include <string.h>

#include "medtwin/model.h"

typedef struct mt_tissue_kernel {
  const mt_model *model; /* the model it serves */
  /* Tables of one parameter set p (the model's n_param values) for step
  ** dt: *tab owned by the caller, freed with release; 0 or MT_ENOMEM. */
  int (*prepare)(const double *p, double dt, void **tab);
  void (*release)(void *tab);
  /*
  ** One reaction step of length dt of nodes [b, e) of the state arrays x
  ** (all tissue nodes with parameter set p and its tables tab): I_stim =
  ** u0 + istim[i], istim[i] zeroed. Returns -1, or the first node whose new
  ** V is not finite or whose state the model's rhs would refuse.
  */
  long (*react)(double *const *x, double *istim, long b, long e,
                const double *p, const void *tab, double dt, double u0);
} mt_tissue_kernel;

/* The kernel for model m on this processor, or NULL (kernel.c). */
const mt_tissue_kernel *mt_tissue__kernel_find(const mt_model *m);

extern const mt_tissue_kernel mt_tissue__kernel_ms2003;
extern const mt_tissue_kernel mt_tissue__kernel_tp06;

/* A kernel's loop compiled twice on x86-64, for AVX-512 (x86-64-v4: 8
** lanes, hardware gathers) and for the file's AVX2, chosen at load time
** (GCC's target_clones, an ifunc). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MT_KERNEL_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define MT_KERNEL_CLONES
#endif

/* --- elementary functions that vectorise --------------------------------- */

static inline uint64_t mt_asu64(double x)
{
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static inline double mt_asf64(uint64_t u)
{
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/*
** exp(x), relative error below 4e-16 for |x| < 708 (checked against libm
** in tests/unit/tissue_kernel.c); x is clamped to [-708, 708], so the
** result is finite and normal (no infinity or NaN out of a finite x; a NaN
** x gives a NaN). Cody-Waite reduction x = k ln2 + r, |r| <= ln2 / 2, and
** the Taylor polynomial of degree 13 of e^r.
*/
static inline double mt_vexp(double x)
{
  const double shift = 0x1.8p52, log2e = 0x1.71547652b82fep0;
  const double ln2hi = 0x1.62e42fefa3800p-1, ln2lo = 0x1.ef35793c76730p-45;
  x = x < -708.0 ? -708.0 : x > 708.0 ? 708.0 : x;
  double kd = x * log2e + shift;
  uint64_t ki = mt_asu64(kd);
  kd -= shift;
  double r = (x - kd * ln2hi) - kd * ln2lo;
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  return mt_asf64(mt_asu64(p) + (ki << 52));
}

/*
** log(x) for normal positive x, relative error below 4e-16 away from x = 1
** (absolute below 1e-16 near it): x = 2^e m with m in [sqrt(1/2),
** sqrt(2)), log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, the
** odd series to s^21. Callers check x > 0 (the engine's failure test);
** other x give meaningless values, never a trap.
*/
static inline double mt_vlog(double x)
{
  uint64_t u = mt_asu64(x);
  uint64_t ex = u >> 52 & 0x7ff;
  double m = mt_asf64((u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
  double e = mt_asf64(0x4330000000000000ULL | ex) - (0x1p52 + 1023.0);
  int big = m > 0x1.6a09e667f3bcdp0;
  m = big ? 0.5 * m : m;
  e = big ? e + 1.0 : e;
  double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double p = 1.0 / 21;
  p = p * s2 + 1.0 / 19;
  p = p * s2 + 1.0 / 17;
  p = p * s2 + 1.0 / 15;
  p = p * s2 + 1.0 / 13;
  p = p * s2 + 1.0 / 11;
  p = p * s2 + 1.0 / 9;
  p = p * s2 + 1.0 / 7;
  p = p * s2 + 1.0 / 5;
  p = p * s2 + 1.0 / 3;
  p = p * s2;
  const double ln2hi = 0x1.62e42fefa3800p-1, ln2lo = 0x1.ef35793c76730p-45;
  return e * ln2hi + (2.0 * s + (2.0 * s * p + e * ln2lo));
}

#endif
