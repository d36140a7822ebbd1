/*
** Glycaemic metrics of a glucose trace: International Consensus on Time in
** Range (Battelino et al., Diabetes Care 42:1593, 2019) and the Kovatchev
** low/high blood glucose indices (Kovatchev et al., Diabetes Care 1997/2006).
*/
#ifndef MEDTWIN_METRICS_H
#define MEDTWIN_METRICS_H

typedef struct mt_glycemic {
  int n;               /* number of values */
  double mean_mgdl;    /* arithmetic mean */
  double sd_mgdl;      /* sample SD (n - 1) */
  double cv_pct;       /* 100 * sd / mean */
  double gmi_pct;      /* 3.31 + 0.02392 * mean */
  double tir_pct;      /* 70 <= BG <= 180 */
  double tbr70_pct;    /* BG < 70 (includes < 54) */
  double tbr54_pct;    /* BG < 54 */
  double tar180_pct;   /* BG > 180 (includes > 250) */
  double tar250_pct;   /* BG > 250 */
  double lbgi, hbgi;   /* Kovatchev risk indices */
  double min_mgdl, max_mgdl;
} mt_glycemic;

/*
** Metrics of n equally weighted glucose values in mg/dL (bg_mgdl is borrowed
** for the call). LBGI and HBGI take values outside 20-600 mg/dL, the meter
** range the Kovatchev transform was derived on, at 20 or 600. Returns 0, or
** MT_EINVAL if bg_mgdl or out is NULL, n < 2, or any value is not finite.
** On error *out is left untouched.
*/
int mt_glycemic_compute(const double *bg_mgdl, int n, mt_glycemic *out);
/* The same without the risk indices (lbgi and hbgi are NaN), which cost a
** log and a pow per value: for callers scoring many long traces. */
int mt_glycemic_ranges(const double *bg_mgdl, int n, mt_glycemic *out);

#endif
