/* Elementwise vector math through glibc's libmvec (x86_64 vector function
** ABI, glibc >= 2.22), with libm fallbacks. Built with -mavx2; the AVX2
** kernel is only called after the processor has been checked. */
#include <math.h>

#include "core/vmath.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 22))
#include <immintrin.h>
#define MT_HAVE_MVEC 1
/* libmvec kernels, declared as the x86_64 vector function ABI names them */
__m256d _ZGVdN4v_exp(__m256d x);
__m256d _ZGVdN4v_log(__m256d x);
#endif

void mt_exp4(const double *x, double *y)
{
#ifdef MT_HAVE_MVEC
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
#ifdef MT_HAVE_MVEC
  if (__builtin_cpu_supports("avx2")) {
    _mm256_storeu_pd(y, _ZGVdN4v_log(_mm256_loadu_pd(x)));
    return;
  }
#endif
  for (int i = 0; i < 4; i++)
    y[i] = log(x[i]);
}
