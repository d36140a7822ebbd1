/*
** Input checks shared by the analysis steps (enkf.c, pf.c): arrays in the
** layout of include/medtwin/enkf.h. Each returns 0, or MT_EINVAL with one
** line in err (MT_ERRMSG_MAX bytes) naming the array and the entry.
*/
#ifndef MT_ASSIM_CHECK_H
#define MT_ASSIM_CHECK_H

#include "medtwin/enkf.h"

/* R symmetric to this fraction of sqrt(Rii Rjj). */
#define MT_ASSIM_SYM_TOL 1e-10

/* Every entry of a (rows x cols, row-major) finite. */
int mt_assim_check_finite(char *err, const char *name, const double *a,
                          int rows, int cols);

/*
** X (N x n), Y (N x m), y (m) and R (m x m or its diagonal) present and
** finite; R's diagonal > 0 and, when full, R symmetric. (Positive
** definiteness is the Cholesky factorisation's to find.)
*/
int mt_assim_check_arrays(char *err, int N, int n, int m, const double *X,
                          const double *Y, const double *y, const double *R,
                          mt_enkf_r kind);

#endif
