/*
** Cardiovascular replay: hours to days of a virtual heart-failure patient
** on the beat-averaged circulation model (circulation_beatavg), whose
** contractility and stressed volume drift while drugs are given, the
** noisy vital signs a live twin would receive from it, and the twin's
** evaluation against the truth beside two baselines. Behind
** `medtwin twin cv-evaluate`; figures in docs/VALIDATION.md.
**
** Truth. The patient's parameters (a member of the model's shipped
** population) with the drift the twin's model does not know:
** drift_Ees (fractional change of LV contractility per day, default
** -0.05: a decompensating heart) and drift_V (mL of stressed volume
** retained per day, default +150). Heart rate is the model's own (the
** beta-blocker lowers it). Drugs, unless doses is 0: furosemide 40 mg
** orally at 08:00 every day, metoprolol 25 mg orally at 08:00 and 20:00.
** Simulated with mt_sim_run (DOPRI5, rtol = atol = 1e-8) from the model's
** steady state (clock 00:00 at t = 0), sampled every minute.
**
** Vital signs (every random number from an mt_rng stream named by the
** seed, the patient's index and the reading's time, so hour h's readings
** do not depend on how many hours are asked for):
**  - every bp_every_min (15: a cuff; 5: an arterial line) from t =
**    bp_every_min on: `sbp`, `dbp` and `map` (the true values plus
**    independent normal errors of SD 5 mmHg, rounded to 1 mmHg: within
**    the ISO 81060-2:2018 validation limit of a mean error <= 5 mmHg with
**    SD <= 8 mmHg, and the SD the twin assumes), then `hr` (true rate +
**    N(0, 2^2), rounded), which the twin takes as its heart-rate input;
**  - every day at 07:00 `weight` (true + N(0, 0.3^2) kg, to 0.1 kg), at
**    10:00 an echo `ef` (true + N(0, 5^2) %-points: echo LVEF
**    test-retest SD about 5 %-points, e.g. Otterstad et al., Eur Heart J
**    18:507, 1997) and at 14:00 a `co` (true x (1 + N(0, 0.1^2)), to
**    0.01 L/min: thermodilution's about 10 % (Stetz et al., Am Rev Respir
**    Dis 126:1001, 1982));
**  - each dose as a row at its time (mg).
** At equal times the rows come in the order above.
*/
#ifndef MEDTWIN_CVREPLAY_H
#define MEDTWIN_CVREPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "medtwin/stream.h"
#include "medtwin/twin.h"

#define MT_CVREPLAY_MAX_HOURS (24 * 60)

typedef struct mt_cvreplay_config {
  const char *patient; /* circulation_beatavg patient (default "adult#001") */
  int hours;           /* 1 .. MT_CVREPLAY_MAX_HOURS (default 72) */
  uint64_t seed;       /* default 1 */
  double bp_every_min; /* 1 .. 60 (default 15) */
  double drift_Ees;    /* 1/day (default -0.05) */
  double drift_V;      /* mL/day (default 150) */
  int doses;           /* 1: the drugs above (default); 0: none */
} mt_cvreplay_config;

typedef struct mt_cvreplay mt_cvreplay;

void mt_cvreplay_config_init(mt_cvreplay_config *cfg);

/* Generate, simulate and derive the stream. 0, MT_EINVAL (a setting out of
** range), MT_ENOTFOUND (no such patient, or the model is not built in),
** MT_ESOLVER, MT_ENOMEM, with one line in err; on error *out is NULL. */
int mt_cvreplay_generate(const mt_cvreplay_config *cfg, mt_cvreplay **out,
                         char *err, size_t errlen);
void mt_cvreplay_free(mt_cvreplay *r); /* NULL-safe */

/* What the twin receives, in arrival order (owned by r). */
const mt_stream *mt_cvreplay_stream(const mt_cvreplay *r);

/* The truth, one row a minute from 0 to hours * 60 (n rows): MAP, CO
** (L/min), EF (%) and the effective LV contractility Ees_lvf x f_Ees
** (mmHg/mL). Arrays owned by r; pointers may be NULL. */
int mt_cvreplay_truth(const mt_cvreplay *r, const double **t,
                      const double **map, const double **co,
                      const double **ef, const double **ees, int *n);

/* Write the truth as CSV: `t_min,map_mmhg,co_lpm,ef_pct,ees_mmhg_per_ml`,
** one row a minute, %.10g. 0, MT_EIO or MT_EINVAL. */
int mt_cvreplay_write_truth(const mt_cvreplay *r, FILE *f);

/* The forecast horizons the evaluation scores, minutes. */
#define MT_CVEVAL_NH 2
extern const double mt_cveval_horizons[MT_CVEVAL_NH]; /* 15, 60 */

enum { MT_CVEVAL_TWIN, MT_CVEVAL_OPEN, MT_CVEVAL_PERSIST, MT_CVEVAL_NMETH };

/* One replay's scores. Forecasts are made after every MAP reading from
** warm-up on (WARMUP: 60 min) whose horizon ends inside the replay, and
** scored against the true (noise-free) MAP at t + h. The persistence
** baseline forecasts the reading itself. Contractility: the members'
** median of Ees_lvf x f_Ees after each MAP reading from warm-up on,
** against the truth at that time. */
typedef struct mt_cveval {
  int n[MT_CVEVAL_NH];                        /* forecasts scored */
  double rmse[MT_CVEVAL_NMETH][MT_CVEVAL_NH]; /* MAP, mmHg */
  int n_cover[MT_CVEVAL_NH];    /* forecasts with a MAP reading at t + h */
  double cover80[MT_CVEVAL_NH]; /* fraction of those readings inside the
                                ** twin's 10-90 % prediction interval */
  int n_ees;
  double ees_mape[2];   /* twin, open loop: mean |rel. error| of Ees, % */
  double ees_end_err[2];/* at the last MAP reading: rel. error, % */
  double ees_cover95;   /* fraction of times the twin's 2.5-97.5 % member
                        ** interval holds the truth */
  double ees_width95;   /* mean width of that interval / truth, % */
  int n_hypo_alerts;    /* hypotension alerts the twin raised */
  double wall_s;
} mt_cveval;

/* Run the twin (cfg, with cfg->model "circulation_beatavg" and the replay's
** patient excluded from the prior by the caller) and its open-loop copy over
** the replay. 0, or the twin's error with a message in err. */
int mt_cveval_run(const mt_cvreplay *r, const mt_twin_config *cfg,
                  mt_cveval *out, char *err, size_t errlen);

#endif
