/*
** Beat-level observables of a beat-resolved cardiovascular run: each beat's
** aortic systolic, diastolic and mean pressure, stroke volume, cardiac
** output, LV end-diastolic and end-systolic volume, ejection fraction,
** central venous and mean pulmonary artery pressure, and its pressure-volume
** loop, computed from a sampled mt_series (sim.h). The model names the
** observables (P_ao, P_lv, V_lv, P_vc, P_pa); any model that has them can
** be measured so.
*/
#ifndef MEDTWIN_BEATS_H
#define MEDTWIN_BEATS_H

#include "medtwin/model.h"
#include "medtwin/sim.h"

/* Columns of the observables a beat is measured from (indices into a row
** of mt_series.y). */
typedef struct mt_beat_cols {
  int p_ao, p_lv, v_lv, p_vc, p_pa;
} mt_beat_cols;

/* One beat [t0_s, t1_s). Pressures mmHg, volumes mL. */
typedef struct mt_beat {
  double t0_s, t1_s;
  double hr_bpm;    /* 60 / (t1_s - t0_s) */
  double sbp_mmhg;  /* highest aortic pressure */
  double dbp_mmhg;  /* lowest aortic pressure */
  double map_mmhg;  /* time average of aortic pressure */
  double edv_ml;    /* LV end-diastolic volume: the largest LV volume */
  double esv_ml;    /* LV end-systolic volume: the smallest LV volume */
  double sv_ml;     /* stroke volume edv - esv */
  double ef_pct;    /* ejection fraction 100 sv / edv */
  double co_lmin;   /* cardiac output sv * hr / 1000 */
  double edp_mmhg;  /* LV pressure at the sample of the largest volume */
  double cvp_mmhg;  /* time average of vena cava pressure */
  double mpap_mmhg; /* time average of pulmonary artery pressure */
} mt_beat;

/*
** The columns of m's observables named P_ao, P_lv, V_lv, P_vc and P_pa.
** Returns 0, or MT_EINVAL if the model lacks one of them.
*/
int mt_beat_cols_find(const mt_model *m, mt_beat_cols *cols);

/*
** Split the run s into beats of period_s starting at t_first_s (beat k is
** [t_first_s + k period_s, t_first_s + (k + 1) period_s)) and measure every
** beat the samples cover entirely (a sample at or before its start and at or
** after its end), at most max of them, into out[0..*n). Samples must be
** non-decreasing in time; averages are trapezoidal over the samples inside
** the beat, with the trace interpolated linearly at its ends. Extremes are
** those of the samples, so sample finely (1 ms for the heart). Returns 0, or
** MT_EINVAL for bad arguments (no samples, a non-positive period, a
** column outside the series, decreasing or non-finite times or values).
*/
int mt_beats_compute(const mt_series *s, const mt_beat_cols *cols,
                     double t_first_s, double period_s, mt_beat *out,
                     int max, int *n);

/*
** The same, with each beat's bounds taken from the model's beat phase state
** "phi" (beats since the start; medtwin/model.h state names) instead of a
** fixed period, so that a run whose heart rate changes (a drug, the
** baroreflex) is measured beat by beat: beat k runs from the time phi
** crosses an integer j to the time it crosses j + 1, both interpolated
** linearly between samples; only beats inside the samples' span. Needs the
** run's states (s->x). Returns 0, or MT_EINVAL (no state "phi", bad
** arguments as for mt_beats_compute).
*/
int mt_beats_by_phase(const mt_model *m, const mt_series *s,
                      const mt_beat_cols *cols, mt_beat *out, int max,
                      int *n);

/*
** The pressure-volume loop of the beat [t0_s, t1_s): the LV pressure and
** volume of every sample in it, at most max, into p_mmhg and v_ml. Returns
** the number of samples written (0 if none fall in the beat).
*/
int mt_beat_pv_loop(const mt_series *s, const mt_beat_cols *cols,
                    double t0_s, double t1_s, double *p_mmhg, double *v_ml,
                    int max);

#endif
