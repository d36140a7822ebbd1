/* Internal: elementary functions over MT_LANES values at once, elementwise,
** so a value never depends on its neighbours. Scalar code that needs the
** same function calls these too, which keeps scalar and lane-batched models
** bit-identical. */
#ifndef MT_CORE_VMATH_H
#define MT_CORE_VMATH_H

#include <math.h> /* also defines __GLIBC__ */

/* glibc's vector math library (libmvec, x86_64 vector function ABI). */
#if defined(__x86_64__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 22))
#define MT_HAVE_MVEC 1
#endif

/* y[i] = exp(x[i]) and log(x[i]) for i < 4 (glibc's libmvec AVX2 kernels
** where the processor has them, libm otherwise; within 4 ulp). */
void mt_exp4(const double *x, double *y);
void mt_log4(const double *x, double *y);

#endif
