/*
** Replay: days of realistic life for a virtual UVA/Padova patient (Dalla Man
** et al. 2007; the 2008 T1D simulator) and the data a live twin would
** receive from it, behind `medtwin twin replay`. Deterministic for a seed:
** every random number comes from an mt_rng stream named by (seed; purpose,
** day, slot), so day d's life does not depend on how many days are asked for.
**
** Life (clock 00:00 at t = 0; every time a whole minute):
**  - three meals a day, start uniform in breakfast 06:30-08:30, lunch
**    11:30-13:30, dinner 18:00-20:00; carbohydrate uniform in 30-70, 50-100,
**    60-110 g; eaten at a constant rate over 10-20 min (uniform);
**  - on each day with probability 1/2 an unannounced, unbolused snack of
**    10-30 g (uniform) eaten over 5 min, starting uniform in 14:30-17:00;
**  - each meal is announced with its carbohydrate misjudged by a factor
**    uniform in [0.7, 1.3], and a bolus of announced / CR (the patient's
**    cr_g_per_u) is delivered over 1 min at the meal's start;
**  - basal: the patient's steady-state rate (the model's init u_basal,
**    u2ss * BW / 6000 U/min), constant throughout.
** The true course is simulated with mt_sim_run (DOPRI5, default tolerances)
** from the model's steady state and sampled every minute.
**
** CGM (Breton and Kovatchev 2008, include/medtwin/cgm_noise.h): one reading
** every 5 min from t = 0 to t = days * 1440 inclusive (days * 288 + 1
** readings): the noise-free CGM observable (Gs/Vg) at the reading time plus
** the sensor noise, clipped to the sensor's range by mt_cgm_reading. The
** noise runs on the sensor's own grid (j * sample_min, j = 0, 1, ...) and
** each reading takes the sample nearest its time; with the default sensor,
** GuardianRT (sample time 5 min), the two grids coincide.
**
** Insulin-sensitivity drift (isf_drift > 0): the model made wrong on
** purpose. A twin's model holds insulin sensitivity constant; a real
** patient's varies over the day. With isf_drift = a the true patient's Vmx
** (insulin-dependent glucose utilisation) and kp3 (insulin action on the
** liver) are both multiplied by
**     s(t) = 1 - a cos(2 pi t_clock / 1440),  t_clock = t mod 1440 (min),
** most resistant at midnight (s = 1 - a), most sensitive at noon (1 + a).
** s is piecewise constant over 30-min blocks [30 k, 30 (k + 1)), taking its
** value at the block's midpoint; after scaling, the model's derive() hook
** recomputes the derived parameters (so kp1 follows kp3 and endogenous
** glucose production at basal insulin stays EGPb: the drift acts only
** through insulin above or below basal, and a patient at basal steady state
** does not feel it). The blocks are simulated one after another, each
** continuing from the previous one's state and discrete memory; a block
** boundary that falls while carbohydrate is being eaten is moved to the
** meal's end (a restart inside a meal would look like a new meal to the
** gastric-emptying model), the next block keeping its own midpoint. Life,
** boluses (from the nominal CR: the patient does not know about the drift),
** the basal rate, the stream's rows and the sensor noise are those of
** isf_drift = 0; only glucose and hence the readings change. With
** isf_drift = 0 the truth is the single run above, bit for bit.
*/
#ifndef MEDTWIN_REPLAY_H
#define MEDTWIN_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "medtwin/cgm_noise.h"
#include "medtwin/patient.h"
#include "medtwin/stream.h"

#define MT_REPLAY_MAX_DAYS 365

typedef struct mt_replay_config {
  const char *patient; /* UVA/Padova subject (default "adult#003") */
  int days;            /* 1 .. MT_REPLAY_MAX_DAYS (default 1) */
  uint64_t seed;       /* default 1 */
  const char *sensor;  /* CGM error model (default "GuardianRT") */
  double isf_drift;    /* daily swing of insulin sensitivity, 0 .. 0.9
                       ** (default 0: none); see the drift above */
} mt_replay_config;

/* A meal actually eaten, for evaluation against what a twin inferred. */
typedef struct mt_replay_meal {
  double t_min;        /* start, minutes from t = 0 */
  double grams;        /* carbohydrate eaten, g */
  double duration_min; /* eaten at grams / duration_min g/min */
  double announced_g;  /* carbohydrate announced, g; 0 for a snack */
  double bolus_u;      /* announced_g / CR, U; 0 for a snack */
  int snack;           /* 1: unannounced and unbolused (no stream rows) */
} mt_replay_meal;

typedef struct mt_replay mt_replay;

void mt_replay_config_init(mt_replay_config *cfg);

/*
** Generate cfg->days of life, simulate it and derive the stream and the
** truth. Returns 0, MT_EINVAL (bad days or isf_drift, unknown sensor, a
** patient without a CR), MT_ENOTFOUND (no such patient), MT_ESOLVER or
** MT_ENOMEM with one line in err (truncated to errlen; err may be NULL); on
** error *out is NULL.
** Free the result with mt_replay_free().
*/
int mt_replay_generate(const mt_replay_config *cfg, mt_replay **out,
                       char *err, size_t errlen);
void mt_replay_free(mt_replay *r); /* NULL-safe */

/*
** What a twin receives, in arrival order: a `basal` row at t = 0 (U/h), then
** by time the CGM readings (mg/dL), and at each announced meal's start a
** `carbs` row (announced g) followed by a `bolus` row (U); at equal times a
** reading comes before the meal's rows. Snacks have no rows. Every datum's
** line is the line it takes in mt_replay_write_stream's output (header = 1).
** Owned by r.
*/
const mt_stream *mt_replay_stream(const mt_replay *r);

/*
** The truth, one row a minute from 0 to days * 1440 (n = days * 1440 + 1):
** t (min), plasma glucose bg (mg/dL), noise-free CGM cgm_nf (mg/dL) and the
** CGM reading cgm (mg/dL) at the 5-min reading times, NaN elsewhere. Arrays
** owned by r; any pointer may be NULL. Returns 0, or MT_EINVAL if r is NULL.
*/
int mt_replay_truth(const mt_replay *r, const double **t, const double **bg,
                    const double **cgm_nf, const double **cgm, int *n);

/* Every meal and snack eaten, by start time; returns how many. Owned by r. */
int mt_replay_meals(const mt_replay *r, const mt_replay_meal **meals);

/* The patient (owned by r), the sensor, and the constant basal rate (U/h). */
const mt_patient *mt_replay_patient(const mt_replay *r);
const mt_cgm_sensor *mt_replay_sensor(const mt_replay *r);
double mt_replay_basal_u_per_h(const mt_replay *r);

/*
** Write a stream as docs/stream.md's CSV: the header `t_min,kind,value`, then
** one row per datum with numbers as %.10g. Returns 0 or MT_EIO if the stream
** reports an error; MT_EINVAL for a NULL argument or an invalid kind.
*/
int mt_replay_write_stream(const mt_stream *s, FILE *f);

/*
** Write the truth as CSV: the header `t_min,bg_mgdl,cgm_noisefree_mgdl,
** cgm_mgdl`, one row a minute, numbers as %.10g, an empty field for NaN.
** Returns 0, MT_EIO or MT_EINVAL as mt_replay_write_stream.
*/
int mt_replay_write_truth(const mt_replay *r, FILE *f);

#endif
