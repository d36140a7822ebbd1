/*
** Virtual-trial arms: one patient's generated life under a protocol's
** scenario generator, and one arm (standard carb-ratio therapy, twin-guided
** dosing, a PID controller) living it in closed loop, scored on true plasma
** glucose. Method, choices and sources: docs/trial-protocol.md, "How an arm
** runs".
**
** Common random numbers: the life (meals, their counting errors, snacks,
** missed boluses, the CGM noise stream) is generated once per patient and
** is a pure function of (protocol seed; patient index k, purpose, day and
** slot), never of the arm, the thread or the order of work. Every arm of a
** patient is run on the same mt_trial_day_plan, so arms differ only in
** their decisions.
**
** Random streams (include/medtwin/rng.h), mt_rng_init(seed, k, purpose, c):
**   purpose MT_TRIAL_RNG_MEAL,   c = day * MT_PROTOCOL_MAX_MEALS + meal
**   purpose MT_TRIAL_RNG_SNACK,  c = day * 64 (count), day * 64 + 1 + j
**   purpose MT_TRIAL_RNG_SENSOR, c = 0 (the CGM noise of the whole run)
**   purpose MT_TRIAL_RNG_TWIN,   c = 0 (one word: the twin arm's twin seed)
*/
#ifndef MEDTWIN_TRIAL_RUN_H
#define MEDTWIN_TRIAL_RUN_H

#include <stddef.h>

#include "medtwin/cgm_noise.h"
#include "medtwin/patient.h"
#include "medtwin/rng.h"
#include "medtwin/trial.h"

/* Purposes of the trial's random streams ("trmeal", "trsnak", "trsens",
** "trtwin" in ASCII). */
#define MT_TRIAL_RNG_MEAL   0x74726d65616cULL
#define MT_TRIAL_RNG_SNACK  0x7472736e616bULL
#define MT_TRIAL_RNG_SENSOR 0x7472736e7372ULL
#define MT_TRIAL_RNG_TWIN   0x7472747769ULL

#define MT_TRIAL_WARMUP_MIN 360    /* scoring starts 6 h after t = 0 */
#define MT_TRIAL_CGM_EVERY_MIN 5   /* CGM readings and PID decisions */
#define MT_TRIAL_DIA_MIN 240       /* duration of insulin action (IOB) */
#define MT_TRIAL_MAX_SNACKS 32     /* snacks a day beyond this are dropped */
#define MT_TRIAL_HYPO_MGDL 54      /* hypoglycaemic event threshold */
#define MT_TRIAL_HYPO_MIN 15       /* ... and its duration, min */
#define MT_TRIAL_PID_MAX_FACTOR 10 /* PID upper limit: 10 x its basal, */
#define MT_TRIAL_PID_MAX_MIN_U_PER_H 2.0 /* but at least 2 U/h */
#define MT_TRIAL_ADVISOR_MAX_U 25  /* mt_whatif_advise's largest bolus */

/* One eating event of the life. */
typedef struct mt_trial_event {
  double t_min;        /* start, whole minutes from t = 0 (00:00, day 0) */
  double grams;        /* carbohydrate eaten, g (>= 0) */
  double duration_min; /* eaten at grams / duration_min g/min */
  double announced_g;  /* counted carbohydrate, g; 0 for a snack */
  int snack;           /* 1: unannounced, never bolused, unseen by a twin */
  int bolus_missed;    /* 1: announced meal whose bolus is skipped */
  int day, slot;       /* the stream it came from: meal index, or 100 + j
                       ** for the day's j-th snack */
} mt_trial_event;

/* A patient's generated life: every day of the run. */
typedef struct mt_trial_day_plan {
  long k;              /* the patient's index in the trial */
  int days;
  int n_event;
  mt_trial_event *event; /* by start time (ties: day, then slot) */
  int cgm_noise;       /* 0: readings are the noise-free CGM observable */
  mt_cgm_sensor sensor; /* "GuardianRT" (the twin's default sensor) */
  mt_rng sensor_rng;   /* the stream every arm's CGM noise is drawn from */
  uint64_t twin_seed;  /* the seed of the twin arm's twin */
} mt_trial_day_plan;

/*
** Generate the life of trial patient k (0 <= k < p->size) under p's
** scenario generator (docs/trial-protocol.md, "How an arm runs"): meals at
** clock time + N(0, time_sd) rounded to the minute, grams x (1 + cv z)
** truncated at 0, eaten over 10-20 min (uniform integer), counted as
** grams x (1 + bias + sd z) truncated at 0, the bolus missed with
** probability missed_bolus_p; a Poisson number of snacks a day at uniform
** whole-minute times, eaten over 5 min. Events starting before 0 move to 0;
** those starting at or after days x 1440 are dropped. pt is the patient
** (only checked: the life does not depend on it, so a patient resampled by
** the cohort keeps its life). Returns 0, MT_EINVAL (a NULL argument, k out
** of range) or MT_ENOMEM with one line in err (err may be NULL); on error
** *out is NULL. Free with mt_trial_life_free().
*/
int mt_trial_life(const mt_protocol *p, const mt_patient *pt, long k,
                  mt_trial_day_plan **out, char *err, size_t errlen);
void mt_trial_life_free(mt_trial_day_plan *life); /* NULL-safe */

/* What one arm did to one patient. */
typedef struct mt_trial_outcome {
  double ep[MT_N_ENDPOINT]; /* every endpoint, indexed by mt_endpoint,
                            ** units as in trial.h (percentages 0-100) */
  double scored_min;        /* minutes of true glucose scored */
  int hypo_events;          /* events counted in ep[MT_EP_HYPO_PER_WEEK] */
  double insulin_u;         /* all insulin delivered over the run, U */
  double bolus_u;           /* of which meal boluses, U */
  double carbs_g;           /* carbohydrate eaten over the run, g */
  int meals, boluses;       /* announced meals; boluses given (> 0 U) */
  /* twin arm only (NAN / 0 otherwise): the twin's 30-min CGM forecast
  ** (ensemble mean) made at each meal after its carbs and bolus, against
  ** the arm's reading 30 min later: mean absolute relative difference, %,
  ** over n_forecast meals; and meals where the advisor's P(< 70) bound was
  ** met */
  double forecast_mard_pct;
  int n_forecast, advisor_bound_met;
} mt_trial_outcome;

/*
** Run arm `arm` of p for patient pt (parameters borrowed; its own CR and CF
** for the standard arm, its steady-state basal rate) over the life
** generated for it, in closed loop: the true course is simulated piecewise
** between CGM readings (every 5 min from t = 0 to days x 1440) and meal
** starts, each piece continued exactly from the last state and memory,
** starting from the model's steady state; decisions see only the arm's own
** CGM readings. Endpoints are computed on true plasma glucose every minute
** in [MT_TRIAL_WARMUP_MIN, days x 1440). Returns 0, MT_EINVAL (bad
** arguments; the twin arm for a patient without a group), MT_ESOLVER or
** MT_ENOMEM (or the twin's errors) with one line naming the patient and
** arm in err; on error *out is zeroed.
*/
int mt_trial_run_arm(const mt_protocol *p, int arm, const mt_patient *pt,
                     const mt_trial_day_plan *life, mt_trial_outcome *out,
                     char *err, size_t errlen);

/*
** The same, and the scored trace itself: true plasma glucose (mg/dL) of
** every minute from MT_TRIAL_WARMUP_MIN to days x 1440 - 1 into bg_mgdl
** (days x 1440 - MT_TRIAL_WARMUP_MIN values; NULL: not wanted), for callers
** that pool minutes across patients or plot them.
*/
int mt_trial_run_arm_trace(const mt_protocol *p, int arm,
                           const mt_patient *pt,
                           const mt_trial_day_plan *life,
                           mt_trial_outcome *out, double *bg_mgdl, char *err,
                           size_t errlen);

/*
** Run arm `arm` for n patients at once (pt[i], life[i], out[i]): as
** mt_trial_run_arm for each, bit for bit, with the true courses of the
** patients integrated together MT_LANES at a time (mt_sim_run_stream) while
** each patient's decisions are taken as its course reaches them. Patients
** must share one model. For the standard arm of a large trial, where the
** integration is nearly all the work; arms whose decisions dominate (the
** twin) gain nothing. Returns 0 or the first failure's code with its line
** (naming the patient and arm) in err; on error every out[i] is zeroed.
*/
int mt_trial_run_arm_many(const mt_protocol *p, int arm, int n,
                          const mt_patient *const *pt,
                          const mt_trial_day_plan *const *life,
                          mt_trial_outcome *out, char *err, size_t errlen);

/* What an arm did, for plotting (results.json "examples"). */
#define MT_TRIAL_REC_STEP_MIN 15  /* forecast horizons 15, 30, ..., 240 min */
#define MT_TRIAL_REC_HORIZONS 16
typedef struct mt_trial_forecast_rec {
  double t_min; /* made at the meal, after its carbs and bolus were told */
  double mean[MT_TRIAL_REC_HORIZONS], p10[MT_TRIAL_REC_HORIZONS],
      p90[MT_TRIAL_REC_HORIZONS]; /* the CGM forecast, mg/dL */
} mt_trial_forecast_rec;

typedef struct mt_trial_record {
  int n_bg;          /* true plasma glucose, every minute from */
  double *bg_mgdl;   /* MT_TRIAL_WARMUP_MIN to days x 1440 - 1 */
  int n_cgm;         /* the arm's CGM readings at 0, 5, 10, ... min */
  double *cgm_mgdl;
  int n_bolus;       /* meal boluses given (> 0 U), in time order */
  double *bolus_t_min, *bolus_u;
  int n_forecast;    /* twin arm: its forecast at every meal it dosed */
  mt_trial_forecast_rec *forecast;
} mt_trial_record;

/*
** mt_trial_run_arm, and what the arm did into a new *rec (free with
** mt_trial_record_free). Recording does not change the outcome: the twin's
** extra forecasts draw on streams keyed by their own horizon.
*/
int mt_trial_run_arm_record(const mt_protocol *p, int arm,
                            const mt_patient *pt,
                            const mt_trial_day_plan *life,
                            mt_trial_outcome *out, mt_trial_record **rec,
                            char *err, size_t errlen);
/* An empty record sized for life (0 or MT_ENOMEM); NULL-safe free. */
int mt_trial_record_alloc(const mt_trial_day_plan *life,
                          mt_trial_record **out);
void mt_trial_record_free(mt_trial_record *rec);

/*
** The endpoints of a true glucose trace sampled every minute (n >= 2 finite
** values, mg/dL) with insulin_u delivered over `days` days, into out->ep,
** out->scored_min and out->hypo_events (other fields untouched). TIR, TBR,
** TAR, mean, CV and GMI are mt_glycemic_compute's (include/medtwin/
** metrics.h; CV from the sample SD); an event is >= 15 consecutive minutes
** below 54 mg/dL, and it ends after >= 15 consecutive minutes at or above
** 54 (so a dip within an event does not count twice); events per week =
** events / (n / 10080); TDI = insulin_u / days. 0 or MT_EINVAL.
*/
int mt_trial_endpoints(const double *bg_mgdl, int n, double insulin_u,
                       double days, mt_trial_outcome *out);

/*
** Insulin on board at t_min (U) of boluses u[i] given at t[i] (n of them):
** a linear decay from 100 % at delivery to 0 after MT_TRIAL_DIA_MIN;
** boluses in the future count fully.
*/
double mt_trial_iob(const double *t_min, const double *u, int n,
                    double t_now_min);

/*
** The standard arm's meal bolus (U): announced_g / cr_g_per_u, plus
** (cgm - target) / cf when cgm > correction_above (both of arm a), less
** iob_u when a->use_iob; never below 0. A NaN cgm gives no correction.
*/
double mt_trial_standard_bolus(const mt_trial_arm *a, double announced_g,
                               double cr_g_per_u, double cf_mgdl_per_u,
                               double cgm_mgdl, double iob_u);

#endif
