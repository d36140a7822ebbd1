/* Internal: a vector of MT_LANES doubles (GCC/Clang vector extension; AVX2
** when the file is built for it, pairs of SSE2 registers otherwise). IEEE
** operations are exact per lane, so vector code that mirrors scalar code
** operation for operation gives bit-identical results (no FP contraction:
** the project builds with -std=c11, which implies -ffp-contract=off). */
#ifndef MT_CORE_VEC_H
#define MT_CORE_VEC_H

#include "medtwin/model.h"

typedef double mt_v4 __attribute__((vector_size(8 * MT_LANES), aligned(8)));
typedef long long mt_m4 __attribute__((vector_size(8 * MT_LANES), aligned(8)));

/* mask ? a : 0.0, lane by lane; the mask comes from a vector comparison. */
static inline mt_v4 mt_v4_and(mt_m4 mask, mt_v4 a)
{
  return (mt_v4)(mask & (mt_m4)a);
}

/* |a| (clears the sign bit, as fabs does). */
static inline mt_v4 mt_v4_abs(mt_v4 a)
{
  const mt_v4 sign = {-0.0, -0.0, -0.0, -0.0};
  return (mt_v4)((mt_m4)a & ~(mt_m4)sign);
}

/* fmax(a, b) for numbers that are not NaN: the larger, b when equal. */
static inline mt_v4 mt_v4_max(mt_v4 a, mt_v4 b)
{
  mt_m4 m = a > b;
  return (mt_v4)((m & (mt_m4)a) | (~m & (mt_m4)b));
}

/* exp of every lane with the same libmvec kernel as mt_exp4 (core/vmath.h),
** without the call; only for code that runs after the processor has been
** checked for AVX2 (the lane-batched runner checks it). */
#include "core/vmath.h"
#if defined(__AVX2__) && defined(MT_HAVE_MVEC)
#include <immintrin.h>
__m256d _ZGVdN4v_exp(__m256d x);
static inline mt_v4 mt_v4_exp(mt_v4 x) { return (mt_v4)_ZGVdN4v_exp((__m256d)x); }
#else
static inline mt_v4 mt_v4_exp(mt_v4 x)
{
  mt_v4 y;
  mt_exp4((const double *)&x, (double *)&y);
  return y;
}
#endif

#endif
