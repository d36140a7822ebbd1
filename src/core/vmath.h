/* Internal: elementary functions over MT_LANES values at once, elementwise,
** so a value never depends on its neighbours. Scalar code that needs the
** same function calls these too, which keeps scalar and lane-batched models
** bit-identical. */
#ifndef MT_CORE_VMATH_H
#define MT_CORE_VMATH_H

/* y[i] = tanh(x[i]) for i < 4 (glibc's libmvec AVX2 kernel where the
** processor has it, libm's tanh otherwise; both within 4 ulp). */
void mt_tanh4(const double *x, double *y);

#endif
