/* The fast cell kernels of the tissue engine by model (kernel.h). */
#include <stdlib.h>

#include "tissue/tissue_impl.h"

const mt_tissue_kernel *mt_tissue__kernel_find(const mt_model *m)
{
  static const mt_tissue_kernel *const all[] = {
    &mt_tissue__kernel_ms2003, &mt_tissue__kernel_tp06,
  };
#if defined(__x86_64__) && defined(__GNUC__)
  /* kernel_*.c are compiled for AVX2 and FMA on x86-64 (CMakeLists.txt) */
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    return NULL;
#endif
  for (size_t k = 0; k < sizeof all / sizeof *all; k++)
    if (all[k]->model == m)
      return all[k];
  return NULL;
}

int mt_tissue__kernel_setup(mt_tissue *t)
{
  const mt_tissue_kernel *k =
      t->cfg.generic_cells ? NULL : mt_tissue__kernel_find(t->m);
  if (!k)
    return 0;
  if (!(t->ktab = calloc((size_t)t->n_par, sizeof *t->ktab)))
    return MT_ENOMEM;
  t->kern = k;
  for (int r = 0; r < t->n_par; r++)
    if (k->prepare(t->param + r * t->par_len, t->dt, &t->ktab[r]))
      return MT_ENOMEM;
  return 0;
}

void mt_tissue__kernel_free(mt_tissue *t)
{
  if (t->ktab)
    for (int r = 0; r < t->n_par; r++)
      if (t->ktab[r])
        t->kern->release(t->ktab[r]);
  free(t->ktab);
}
