/* Sorting and sample quantiles (order.h). */
#include <math.h>

#include "core/order.h"

int mt_cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double mt_quantile7(const double *v, int n, double p)
{
  double h = (n - 1) * p, f = floor(h);
  int k = (int)f;
  return k + 1 < n ? v[k] + (h - f) * (v[k + 1] - v[k]) : v[n - 1];
}
