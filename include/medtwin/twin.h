/*
** The live twin: a model plus an ensemble of members (state, discrete
** memory, estimated parameters) kept synchronised with a patient's data
** stream by ensemble data assimilation, forecasting the next readings with
** intervals and raising alerts. Deterministic for a seed and causal: what it
** says at time t depends only on data stamped up to t.
*/
#ifndef MEDTWIN_TWIN_H
#define MEDTWIN_TWIN_H

#include <stddef.h>
#include <stdint.h>

#include "medtwin/stream.h"

/* Assimilation methods. */
typedef enum mt_twin_method {
  MT_TWIN_ENKF = 0, /* ensemble transform Kalman filter (default) */
  MT_TWIN_PF = 1    /* regularised particle filter (include/medtwin/pf.h) */
} mt_twin_method;

typedef struct mt_twin_config {
  const char *model;   /* "uva_padova_t1d", "circulation_beatavg" */
  const char *group;   /* population prior group: "adult", ... */
  const char *exclude; /* a patient kept out of the prior, or NULL */
  uint64_t seed;
  int members;         /* ensemble size (default 64) */
  double inflation;    /* multiplicative prior inflation (default 1.01) */
  double r_scale;      /* observation variance / sensor variance (4) */
  const char *sensor;  /* CGM error model (default "GuardianRT") */
  double meal_min_lo, meal_min_hi; /* eating time of announced carbs,
                       ** uniform per member, min (10, 20) */
  double meal_sd;      /* log-normal SD of the eaten / announced carbs (0.3) */
  double state_sd;     /* log-normal spread of the initial non-negative
                       ** states around each member's steady state (0.15) */
  double rtps;         /* relaxation to prior spread, 0..1 (0.9) */
  double late_window_min; /* data up to this much older than the last
                       ** reading are re-assimilated (60); older ones are
                       ** quarantined */
  double tol;          /* the members' integration tolerance, relative and
                       ** absolute (1e-6: errors far below the sensor's) */
  double process_sd;   /* model error: log-normal SD of a factor on every
                       ** non-negative state per sqrt(5 min) (0.02) */
  mt_twin_method method;
  double clock_offset_min; /* clock time at t = 0, min after midnight (0);
                       ** the night of the compression-artefact rule */
  double pf_h;         /* particle filter: kernel bandwidth h (0.3, chosen
                       ** on the tuning replay, docs/VALIDATION.md) */
  int detect_faults;   /* 1: judge readings for sensor faults (default) */
  int alerts;          /* 1: alerts after every reading (default); 0: none,
                       ** and no 30-min run ahead for them (a twin whose
                       ** user reads no alerts, as a trial's: forecasts and
                       ** the advisor are bit for bit the same) */
  int open_loop;       /* 1: never assimilate (the prior run open loop, a
                       ** baseline for evaluation) */
} mt_twin_config;

/* Probabilities and quantiles of a forecast reading at one horizon. */
typedef struct mt_twin_forecast {
  double t_min, horizon_min;
  double mean, q[7]; /* p2.5, p10, p25, p50, p75, p90, p97.5, in the
                     ** forecast observable's unit */
} mt_twin_forecast;

typedef enum mt_alert_kind {
  MT_ALERT_HYPO = 0,    /* < 70 mg/dL predicted within 30 min */
  MT_ALERT_HYPO_SEVERE, /* < 54 mg/dL predicted within 30 min */
  MT_ALERT_HYPER,       /* > 250 mg/dL predicted within 30 min */
  MT_ALERT_SENSOR_FAULT, /* a gap, or the start of a fault episode
                         ** (include/medtwin/faults.h); probability 1,
                         ** predicted_t_min the time the fault began */
  MT_ALERT_HYPOTENSION, /* MAP < 65 mmHg predicted within 30 min */
  MT_ALERT_NKIND,
  MT_ALERT_NGLUCOSE = MT_ALERT_SENSOR_FAULT /* the glucose kinds */
} mt_alert_kind;

typedef struct mt_twin_alert {
  mt_alert_kind kind;
  double t_min, probability, predicted_t_min;
} mt_twin_alert;

typedef struct mt_twin mt_twin;

/*
** One alert kind's episodes: an alert is raised when the probability reaches
** the threshold while armed; that disarms it until the probability has stayed
** below the threshold for 30 min (measured from the first evaluation below
** it), which re-arms it. So one alert per episode.
*/
typedef struct mt_alert_episode {
  int armed;
  double clear_since; /* first time below the threshold, NAN while above */
} mt_alert_episode;

void mt_alert_episode_init(mt_alert_episode *e);
/* The evaluation at time t (ascending); 1 when an alert is raised now. */
int mt_alert_episode_step(mt_alert_episode *e, double t, double prob,
                          double threshold);

void mt_twin_config_init(mt_twin_config *cfg);
/* A twin from the population prior of cfg->group (cfg->exclude left out).
** The model needs a twin spec (include/medtwin/twin_spec.h) and time in
** minutes. 0, or MT_EINVAL / MT_ENOTFOUND / MT_ENOMEM with a message in
** err. */
int mt_twin_create(const mt_twin_config *cfg, mt_twin **out, char *err,
                   size_t errlen);
void mt_twin_free(mt_twin *tw);
const char *mt_twin_errmsg(const mt_twin *tw);
const char *mt_alert_kind_name(mt_alert_kind k);

/*
** Take one datum in arrival order. Returns 0 when it was used, 1 when it
** was quarantined (*reason says why: implausible, late, duplicate, a kind
** the model's twin spec does not read), 2 for a CGM reading the
** sensor-fault detector refused (*reason names the fault: the members
** advance to its time but it is not assimilated), < 0 on failure. A
** reading (a kind the spec observes: CGM, or MAP, SBP, ... for the heart)
** advances every member to its time and assimilates it; inputs (carbs,
** boluses, basal rates; heart rate, doses) join the members' inputs from
** their time on. Data stamped before the last reading (within
** late_window_min), or a reading at its time of a kind already read then,
** are re-assimilated from there.
*/
int mt_twin_ingest(mt_twin *tw, const mt_datum *d, const char **reason);

/* Forecast the reading of the primary observable of the model's twin spec
** (CGM for the glucose model, MAP for the heart) at t_now + each horizon
** (minutes, <= 240), the reading's noise included (the CGM sensor's error
** model, or the spec's Gaussian noise), so the intervals are prediction
** intervals. */
int mt_twin_forecast_at(mt_twin *tw, const double *horizons, int nh,
                        mt_twin_forecast *out);
/* The same for any reading of the spec, named by its stream kind ("co")
** or its observable ("CO"); MT_EINVAL (message in mt_twin_errmsg) for a
** name the spec does not read. */
int mt_twin_forecast_obs(mt_twin *tw, const char *kind_or_obs,
                         const double *horizons, int nh,
                         mt_twin_forecast *out);
/* The model observable index of such a reading, or -1; the primary's. */
int mt_twin_obs_index(const mt_twin *tw, const char *kind_or_obs);
int mt_twin_primary(const mt_twin *tw);
/* The same, without touching the course the twin keeps for its alerts and
** next forecasts: what the twin does afterwards is bit for bit what it would
** have done without this call (for plots of a run that must not change it;
** costs one extra ensemble run). */
int mt_twin_forecast_aside(mt_twin *tw, const double *horizons, int nh,
                           mt_twin_forecast *out);

/* Alerts raised by the last reading (at most one per kind); returns how
** many were written into out (MT_ALERT_NKIND entries available). */
int mt_twin_alerts(mt_twin *tw, mt_twin_alert *out);

/* Every datum refused, in arrival order, with its reason (a static string:
** implausible value, late, duplicate, sensor fault); returns how many.
** Owned by tw. */
typedef struct mt_twin_quarantined {
  mt_datum datum;
  const char *reason;
} mt_twin_quarantined;
long mt_twin_quarantine(const mt_twin *tw, const mt_twin_quarantined **q);

/* The members as they are now, read-only and owned by tw: member i's model
** parameters p[i * n_param ...] (estimated ones updated, derived ones
** recomputed) and states x[i * n_state ...]. Returns the member count. */
int mt_twin_members(const mt_twin *tw, const double **p, const double **x,
                    int *n_param, int *n_state);

/*
** What if: every member from the twin's time with extra data as if received
** now (carbs, bolus, basal rows at their own times; announced carbs are
** eaten with each member's uncertainty, as in ingest) and the basal level
** multiplied by basal_factor until basal_until_min (no change when it is
** 1). Samples every 5 min, t_now + 5 k for k = 1..nt (nt <= 64); the model
** observable `obs` (an index into the model's observables) of member i at
** sample k into y[i * nt + k]. The members and their inputs are as before
** afterwards. Every candidate run on the same members sees the same random
** numbers (they are keyed by member and time, not by call). 0, MT_EINVAL or
** a solver error (message in mt_twin_errmsg).
*/
int mt_twin_run_with(mt_twin *tw, const mt_datum *extra, int n_extra,
                     double basal_factor, double basal_until_min, int nt,
                     int obs, double *y);

/* The parameters the twin estimates: their count, and their indices in the
** model's parameter table (mt_twin_model(tw)->param) into *idx (owned by
** tw); the others are fixed at the prior's value. */
int mt_twin_estimated(const mt_twin *tw, const int **idx);

/* The twin's model. */
const struct mt_model *mt_twin_model(const mt_twin *tw);

/* Particle filter: mean effective sample size over the analyses so far
** (before resampling; re-assimilations count again); NAN for the EnKF or
** before the first analysis. */
double mt_twin_mean_ess(const mt_twin *tw);

/* Time of the last reading assimilated, minutes (NAN before the first). */
double mt_twin_time(const mt_twin *tw);

/*
** Snapshot and restore. mt_twin_snapshot writes a self-describing binary
** image of everything that decides the twin's future outputs into *blob
** (malloc'd, the caller frees it; its length into *len): the members now,
** the recent ensemble snapshots and the observation log back to the oldest
** snapshot (so that late data arriving after a restore are re-assimilated
** as they would have been), each member's inputs (meals still being
** absorbed, boluses, basal), the sensor-fault detector and the fault
** episode, the alert episodes and the last reading's alerts, the
** quarantine log, the effective-sample-size sums and the length of the
** course ahead last run. The random streams are keyed by seed, member and
** reading count, so they need no position of their own; the filters keep
** nothing between analyses. Returns 0, or MT_ENOMEM (*blob NULL).
**
** mt_twin_restore makes a twin from such an image under cfg, which must
** equal the configuration of the twin that wrote it (model, group,
** exclude, sensor, seed, members, method and every numeric setting; the
** strings compared by content). The restored twin, fed the data that
** follow, gives bit-identical members, forecasts, alerts, quarantine,
** time and mean ESS to the twin that was never interrupted. An image that
** is truncated, corrupt (a BLAKE2b-256 checksum over it), of another
** format version or byte order, or written under another configuration or
** model version is refused with MT_EINVAL and one line in err, without
** reading outside [blob, blob + len); MT_ENOMEM, or the errors of
** mt_twin_create. On failure *out is NULL.
**
** Format (version 1): the 8 bytes "MTTWINSN", a 32-bit byte-order mark
** 0x01020304, the 32-bit format version, the 64-bit image length; the
** configuration; the model's sizes (states, parameters, memory, estimated
** parameters and their indices); the state; a 32-byte BLAKE2b-256 of all
** the bytes before it. Integers and doubles are in the writing machine's
** byte order (IEEE 754 doubles): an image is for machines of the same byte
** order, which the mark checks. Layout in docs/cli.md ("Snapshots").
*/
int mt_twin_snapshot(const mt_twin *tw, void **blob, size_t *len);
int mt_twin_restore(const mt_twin_config *cfg, const void *blob, size_t len,
                    mt_twin **out, char *err, size_t errlen);

#endif
