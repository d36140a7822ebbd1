/* Elementwise vector math through glibc's libmvec (x86_64 vector function
** ABI, glibc >= 2.22), with libm fallbacks. Built with -mavx2; the AVX2
** kernel is only called after the processor has been checked. */
#include <math.h>

#include "core/vmath.h"

#if defined(MT_HAVE_MVEC) && defined(__AVX2__)
#include <immintrin.h>
#define MT_MVEC_AVX2 1
/* libmvec kernels, declared as the x86_64 vector function ABI names them */
__m256d _ZGVdN4v_exp(__m256d x);
__m256d _ZGVdN4v_log(__m256d x);
#endif

void mt_exp4(const double *x, double *y)
{
#ifdef MT_MVEC_AVX2
  if (__builtin_cpu_supports("avx2")) {
    _mm256_storeu_pd(y, _ZGVdN4v_exp(_mm256_loadu_pd(x)));
    return;
  }
#endif
  for (int i = 0; i < 4; i++)
    y[i] = exp(x[i]);
}

void mt_log4(const double *x, double *y)
{
#ifdef MT_MVEC_AVX2
  if (__builtin_cpu_supports("avx2")) {
    _mm256_storeu_pd(y, _ZGVdN4v_log(_mm256_loadu_pd(x)));
    return;
  }
#endif
  for (int i = 0; i < 4; i++)
    y[i] = log(x[i]);
}
