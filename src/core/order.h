/* Sorting and sample quantiles shared across medtwin. */
#ifndef MT_CORE_ORDER_H
#define MT_CORE_ORDER_H

/* qsort comparison of doubles, ascending (NaN not expected). */
int mt_cmp_double(const void *a, const void *b);

/* Quantile p of sorted v[0..n), n >= 1, by linear interpolation (Hyndman
** and Fan 1996, type 7, R's and NumPy's default). */
double mt_quantile7(const double *v, int n, double p);

#endif
