/*
** SVG plot of one observable against time with its forecast: the readings
** as points, the forecast median as a line inside its 10-90 % and
** 2.5-97.5 % bands, and horizontal threshold lines (e.g. MAP 65 mmHg). It
** takes arrays, not a twin, so any twin (glucose, cardiovascular) can use it.
*/
#ifndef MEDTWIN_PLOT_BAND_H
#define MEDTWIN_PLOT_BAND_H

#include <stdio.h>

/* Quantile levels of one forecast row, in order. */
#define MT_BAND_NQ 5
extern const double mt_band_levels[MT_BAND_NQ]; /* 0.025 0.1 0.5 0.9 0.975 */

typedef struct mt_band_plot {
  const char *title;      /* may be NULL */
  const char *subtitle;   /* may be NULL */
  const char *x_label;    /* e.g. "time (min)"; NULL for "time" */
  const char *y_label;    /* e.g. "MAP (mmHg)"; NULL for "value" */
  int n_obs;              /* readings (may be 0) */
  const double *t_obs;    /* their times */
  const double *y_obs;    /* their values; non-finite ones are not drawn */
  int n_fc;               /* forecast times (may be 0) */
  const double *t_fc;     /* non-decreasing */
  const double *q;        /* n_fc rows of MT_BAND_NQ quantiles, the levels
                          ** of mt_band_levels, non-decreasing in a row */
  int n_thr;              /* threshold lines (may be 0) */
  const double *thr;      /* their values */
  const char *const *thr_label; /* their labels (NULL, or NULL entries,
                                ** for the value alone) */
} mt_band_plot;

/*
** Write the SVG document to f (arrays borrowed for the call; every text
** escaped). The time axis spans the readings and the forecast; the value
** axis every finite reading, quantile and threshold. Returns 0; MT_EINVAL if
** pl or f is NULL, an array that n_* promises is NULL, there is nothing to
** draw (no reading or forecast time), a time, quantile or threshold is not
** finite, forecast times decrease or a quantile row decreases (nothing
** written); MT_EIO if the stream reports an error.
*/
int mt_plot_band_svg(const mt_band_plot *pl, FILE *f);

#endif
