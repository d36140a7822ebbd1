/*
** SVG plot of chosen observables of a long run (days to months) sampled
** coarsely, e.g. a beat-averaged heart model (circulation_beatavg): stacked
** panels sharing one time axis, in hours, or in days for runs over 3 days;
** each with its axis, ticks and unit label from the model's observable
** table and an optional reference line (e.g. MAP 65 mmHg); drug doses as
** ticks on the time axis, one colour per drug named in the legend.
*/
#ifndef MEDTWIN_PLOT_TREND_H
#define MEDTWIN_PLOT_TREND_H

#include <stdio.h>

#include "medtwin/model.h"
#include "medtwin/sim.h"

typedef struct mt_trend_panel {
  const char *obs;        /* an observable of the model */
  const char *ref_label;  /* NULL: no reference line; else the line's label */
  double ref;             /* the reference line's value (with ref_label) */
} mt_trend_panel;

typedef struct mt_trend_dose {
  double t;               /* time of the dose, in the model's time unit */
  const char *drug;       /* its name (legend) */
} mt_trend_dose;

typedef struct mt_trend_plot {
  const mt_model *m;      /* time unit "s", "min" or "h" */
  const mt_series *s;     /* the run: n >= 2 samples, times increasing */
  const char *patient;    /* in the title; may be NULL */
  const char *scenario;   /* in the title; may be NULL */
  const char *subtitle;   /* provenance line; may be NULL */
  int n_panel;            /* >= 1, top to bottom */
  const mt_trend_panel *panel;
  int n_dose;             /* may be 0 */
  const mt_trend_dose *dose;
} mt_trend_plot;

/*
** Write the SVG document to f (everything borrowed for the call; every text
** escaped). Each panel's value axis spans its finite samples and its
** reference value. Doses outside the run are not drawn. Returns 0;
** MT_EINVAL if pl, f, the model or the series is NULL, the run has fewer
** than 2 samples or times that are not finite and increasing, the model's
** time unit is not s, min or h, there is no panel, a panel names an
** observable the model lacks, a panel's observable has no finite sample, a
** reference value is not finite or a dose has no drug or a non-finite time
** (nothing written in every case); MT_EIO if the stream reports an error.
*/
int mt_plot_trend_svg(const mt_trend_plot *pl, FILE *f);

#endif
