/*
** SVG plot of a glucose day a clinician can read: the glucose trace, the
** 70–180 mg/dL target band, meals and insulin marked, clock-time axis.
*/
#ifndef MEDTWIN_PLOT_H
#define MEDTWIN_PLOT_H

#include <stdio.h>

typedef struct mt_glucose_plot {
  const char *title;     /* e.g. "adult#001 — uva_padova_t1d" */
  const char *subtitle;  /* provenance line, may be NULL */
  int n;                 /* samples */
  const double *t_min;   /* minutes from start */
  const double *bg_mgdl; /* plasma glucose */
  const double *cgm_mgdl;/* optional second trace (NULL to omit) */
  const double *cho_g_per_min;    /* optional, per sample: meal marks */
  const double *insulin_u_per_min;/* optional, per sample: insulin panel */
  int start_clock_min;   /* clock time at t = 0, minutes after midnight */
} mt_glucose_plot;

/*
** Write the SVG document to f (arrays borrowed for the call; title may be
** NULL). t_min must be finite, non-decreasing and span a positive time;
** non-finite glucose values leave a gap in the trace. Optional inputs are
** sample-and-hold rates: a meal's grams are the sum of g/min times the sample
** spacing. Returns 0; MT_EINVAL if pl, f, t_min or bg_mgdl is NULL, n < 2 or
** t_min is invalid (nothing written); MT_EIO if the stream reports an error.
*/
int mt_plot_glucose_svg(const mt_glucose_plot *pl, FILE *f);

#endif
