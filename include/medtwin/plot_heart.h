/*
** SVG plots of a beat-resolved cardiovascular run (a model with the
** observables of medtwin/beats.h, e.g. circulation_smith2004): pressure
** traces of the last beats, the pressure-volume loops of the last beat with
** the end-systolic pressure-volume relation, and optionally the beat-level
** MAP, heart rate and cardiac output over the whole run.
*/
#ifndef MEDTWIN_PLOT_HEART_H
#define MEDTWIN_PLOT_HEART_H

#include <stdio.h>

#include "medtwin/model.h"
#include "medtwin/sim.h"

typedef struct mt_heart_plot {
  const char *title;     /* e.g. "healthy — circulation_smith2004"; may be NULL */
  const char *subtitle;  /* provenance line; may be NULL */
  const mt_model *m;     /* names P_ao P_lv P_pu P_rv P_pa P_vc V_lv V_rv */
  const mt_series *s;    /* the run, sampled finely (every 1 ms) */
  const double *param;   /* the run's parameters (HR, Ees_lvf, Vd_lvf,
                         ** Ees_rvf, Vd_rvf) */
  int n_show;            /* beats drawn in the pressure panels (0: 3) */
  int trend;             /* nonzero: add the panel of beat-level MAP, HR and
                         ** CO over the whole run, one point per beat */
} mt_heart_plot;

/*
** Write the SVG document to f (everything borrowed for the call; text
** escaped). Beats are delimited by the integer crossings of the phase state
** "phi" when the model has one (the rate may change under a drug), else
** every 60 / HR s from t = 0; each is measured by mt_beats_compute. The ESPVR
** line is P = Ees (V - Vd) from the free-wall parameters as given (a drug's
** effect on Ees is not drawn). Returns 0; MT_EINVAL if an argument is NULL,
** the model lacks an observable or parameter, or the run holds no whole
** beat (nothing written); MT_ENOMEM; MT_EIO if the stream reports an error.
*/
int mt_plot_heart_svg(const mt_heart_plot *pl, FILE *f);

#endif
