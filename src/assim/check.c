/* Input checks shared by the analysis steps (check.h). */
#include <math.h>
#include <stdio.h>

#include "assim/check.h"
#include "medtwin/error.h"

int mt_assim_check_finite(char *err, const char *name, const double *a,
                          int rows, int cols)
{
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++)
      if (!isfinite(a[(size_t)i * cols + j])) {
        snprintf(err, MT_ERRMSG_MAX, "%s[%d][%d] is not finite (%g)", name, i,
                 j, a[(size_t)i * cols + j]);
        return MT_EINVAL;
      }
  return 0;
}

static int check_r(char *err, const double *R, int m, mt_enkf_r kind)
{
  if (kind != MT_ENKF_R_DIAG && kind != MT_ENKF_R_FULL) {
    snprintf(err, MT_ERRMSG_MAX, "r_kind %d is neither FULL nor DIAG",
             (int)kind);
    return MT_EINVAL;
  }
  int full = kind == MT_ENKF_R_FULL;
  int rc = mt_assim_check_finite(err, "R", R, full ? m : 1, m);
  if (rc)
    return rc;
  for (int k = 0; k < m; k++) {
    double rkk = R[full ? (size_t)k * m + k : (size_t)k];
    if (!(rkk > 0)) {
      snprintf(err, MT_ERRMSG_MAX, "R[%d][%d] = %g: an observation error "
               "variance must be > 0", k, k, rkk);
      return MT_EINVAL;
    }
  }
  for (int i = 0; full && i < m; i++)
    for (int j = 0; j < i; j++) {
      double a = R[(size_t)i * m + j], b = R[(size_t)j * m + i];
      double s = sqrt(R[(size_t)i * m + i] * R[(size_t)j * m + j]);
      if (fabs(a - b) > MT_ASSIM_SYM_TOL * s) {
        snprintf(err, MT_ERRMSG_MAX, "R is not symmetric: R[%d][%d] = %g but "
                 "R[%d][%d] = %g", i, j, a, j, i, b);
        return MT_EINVAL;
      }
    }
  return 0;
}

int mt_assim_check_arrays(char *err, int N, int n, int m, const double *X,
                          const double *Y, const double *y, const double *R,
                          mt_enkf_r kind)
{
  if (!X || !Y || !y || !R) {
    snprintf(err, MT_ERRMSG_MAX, "%s is NULL",
             !X ? "X" : !Y ? "Y" : !y ? "y" : "R");
    return MT_EINVAL;
  }
  int rc = mt_assim_check_finite(err, "X", X, N, n);
  if (!rc)
    rc = mt_assim_check_finite(err, "Y", Y, N, m);
  if (!rc)
    rc = mt_assim_check_finite(err, "y", y, 1, m);
  return rc ? rc : check_r(err, R, m, kind);
}
