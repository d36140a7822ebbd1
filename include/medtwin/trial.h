/*
** Virtual-trial protocol files (JSON): who is simulated (a cohort of named
** virtual patients or one sampled from the population prior, with subgroup
** proportions and hypothetical parameter shifts), for how long, under which
** generated meals, carb-count errors, snacks and missed boluses, in which
** arms (standard carb-ratio therapy, twin-guided dosing, a PID controller),
** and which endpoints and statistics are reported. Format, units, defaults
** and bounds: docs/trial-protocol.md; schema docs/trial-protocol.schema.json.
**
** The parser validates everything a run needs before any simulation starts:
** keys starting with '$' are ignored, any other unknown key is an error, and
** every error is one line naming the file, the JSON path and what was
** expected, e.g.
**   smoke.json: arms[1].kind: expected "standard", "twin" or "pid", got "mpc"
*/
#ifndef MEDTWIN_TRIAL_H
#define MEDTWIN_TRIAL_H

#include <stddef.h>
#include <stdint.h>

#define MT_PROTOCOL_MAX_ARMS      8
#define MT_PROTOCOL_MAX_MEALS     12
#define MT_PROTOCOL_MAX_SUBGROUPS 16
#define MT_PROTOCOL_MAX_SHIFTS    16  /* parameter shifts of one subgroup */
#define MT_PROTOCOL_NAME_MAX      64  /* protocol, model, label: chars + NUL */
#define MT_PROTOCOL_ARM_MAX       33  /* arm name: 1..32 chars + NUL */
#define MT_PROTOCOL_PARAM_MAX     16  /* model parameter name: chars + NUL */
#define MT_PROTOCOL_SUM_TOL       1e-9 /* proportions sum to 1 within this */

/* Where the cohort's patients come from. */
typedef enum mt_trial_source {
  MT_TRIAL_NAMED = 0,     /* the model's shipped virtual patients */
  MT_TRIAL_POPULATION = 1 /* sampled from the population prior of a group */
} mt_trial_source;

/* Age groups of the UVA/Padova cohort (the name prefixes before '#'). */
typedef enum mt_age_group {
  MT_AGE_ADULT = 0,
  MT_AGE_ADOLESCENT,
  MT_AGE_CHILD,
  MT_N_AGE
} mt_age_group;

typedef enum mt_arm_kind {
  MT_ARM_STANDARD = 0, /* bolus by carb ratio, correction by CF, IOB */
  MT_ARM_TWIN,         /* each meal bolus from the live twin's advisor */
  MT_ARM_PID           /* a PID controller on CGM around the basal */
} mt_arm_kind;

/* Endpoints, in the order results list them. */
typedef enum mt_endpoint {
  MT_EP_TIR = 0,      /* % time 70-180 mg/dL */
  MT_EP_TBR70,        /* % time < 70 mg/dL */
  MT_EP_TBR54,        /* % time < 54 mg/dL */
  MT_EP_TAR180,       /* % time > 180 mg/dL */
  MT_EP_TAR250,       /* % time > 250 mg/dL */
  MT_EP_MEAN,         /* mean glucose, mg/dL */
  MT_EP_CV,           /* coefficient of variation, % */
  MT_EP_GMI,          /* glucose management indicator, % */
  MT_EP_HYPO_PER_WEEK, /* hypoglycaemic events per week */
  MT_EP_TDI,          /* total daily insulin, U/day */
  MT_N_ENDPOINT
} mt_endpoint;

/* Covariates a subgroup analysis can split by. */
typedef enum mt_covariate {
  MT_COV_AGE_GROUP = 0,
  MT_COV_SEX,
  MT_COV_SUBGROUP,
  MT_N_COVARIATE
} mt_covariate;

/* A multiplicative shift of one model parameter (a sensitivity analysis). */
typedef struct mt_param_shift {
  char param[MT_PROTOCOL_PARAM_MAX]; /* a parameter name of the model */
  int index;                         /* its index in the model's params */
  double factor;                     /* in [0.1, 10] */
} mt_param_shift;

/* A synthetic subgroup label. Every subgroup is hypothetical (the file must
** say "hypothetical": true): its shifts are sensitivity analyses, not claims
** about real populations. */
typedef struct mt_subgroup {
  char label[MT_PROTOCOL_NAME_MAX];
  double proportion; /* of the cohort; the subgroups' sum to 1 */
  double female;     /* proportion with sex "F" (the rest "M"); 0.5 */
  int n_shift;
  mt_param_shift shift[MT_PROTOCOL_MAX_SHIFTS];
} mt_subgroup;

/* A meal of the generated day: at clock time +- normal SD, grams with a
** normal coefficient of variation. */
typedef struct mt_trial_meal {
  int clock_min;      /* minutes after midnight */
  double time_sd_min; /* SD of the time, min; 0 */
  double grams;       /* mean carbohydrate, g */
  double grams_cv;    /* CV of the carbohydrate, fraction; 0 */
} mt_trial_meal;

typedef struct mt_trial_arm {
  char name[MT_PROTOCOL_ARM_MAX]; /* [A-Za-z0-9_.-]{1,32}, unique */
  mt_arm_kind kind;
  /* standard and pid: glucose target, mg/dL (120) */
  double target_mgdl;
  /* standard: correct above this, mg/dL (150, >= target); count insulin on
  ** board (1); CR and CF are the patient's own values */
  double correction_above_mgdl;
  int use_iob;
  /* twin: ensemble size (64), forecast horizon of the advisor, min (240),
  ** advisor's bound on P(< 70) (0.05), largest bolus tried, U (20), and
  ** the step between boluses tried, U (0.5) */
  int members;
  double horizon_min, p70_max, max_bolus_u, step_u;
  /* pid: gains on the error e = CGM - target (mg/dL) in U/h per mg/dL,
  ** per mg/dL x min and per mg/dL/min; basal, U/h: NAN for the patient's
  ** own basal rate (the default, "patient") */
  double kp, ki, kd, basal_u_per_h;
} mt_trial_arm;

typedef struct mt_protocol {
  char name[MT_PROTOCOL_NAME_MAX];
  char model[MT_PROTOCOL_NAME_MAX]; /* "uva_padova_t1d" */
  uint64_t seed;                    /* 0 .. 2^63 - 1 */
  int days;                         /* 1..365 */
  int size;                         /* patients, 1..10^7 */

  /* cohort */
  mt_trial_source source;
  int n_named;  /* named: the patients' indices in the model's set, */
  int *named;   /* in file order; patient k is named[k % n_named] */
  double age[MT_N_AGE]; /* population: group proportions (sum 1) */
  int n_subgroup;       /* 0: one cohort without subgroup labels */
  mt_subgroup *subgroup;

  /* scenario generator */
  int n_meal;
  mt_trial_meal meal[MT_PROTOCOL_MAX_MEALS];
  double carb_error_sd;   /* SD of the relative carb-count error (0) */
  double carb_error_bias; /* mean relative error (0) */
  double snacks_per_day;  /* unannounced snacks, Poisson rate (0) */
  double snack_grams;     /* their mean size, g (15) */
  double snack_grams_cv;  /* their CV (0) */
  double missed_bolus_p;  /* probability a meal bolus is skipped (0) */
  int cgm_noise;          /* 1: CGM readings with sensor noise (1) */

  int n_arm;
  mt_trial_arm arm[MT_PROTOCOL_MAX_ARMS];

  int n_endpoint;
  mt_endpoint endpoint[MT_N_ENDPOINT]; /* unique, in file order */
  mt_endpoint primary;                 /* one of them */

  /* statistics */
  double level;            /* confidence level, 0.5..0.999 (0.95) */
  int bootstrap;           /* resamples: 0 or 100..100000 (1000) */
  uint64_t bootstrap_seed; /* (the protocol's seed) */
  int n_covariate;         /* subgroup analyses (all three) */
  mt_covariate covariate[MT_N_COVARIATE];
  double power;            /* sample-size search: target power, 0 = none */
  int max_trials;          /* its bound on replicate trials (0 = none) */
} mt_protocol;

/*
** Parse a protocol from JSON text of len bytes (need not be NUL-terminated).
** `name` names the input in messages (the file path). On error returns
** MT_EPARSE (not JSON, with jansson's line and column; duplicate keys count),
** MT_EINVAL (a field is wrong, an unknown model, patient or parameter) or
** MT_ENOMEM, writes one line naming the file, the JSON path and what was
** expected into err (truncated to errlen; err may be NULL), and *out is
** NULL. Free the result with mt_protocol_free().
*/
int mt_protocol_parse(const char *text, size_t len, const char *name,
                      mt_protocol **out, char *err, size_t errlen);
/* Read and parse a file (at most 16 MiB); MT_EIO with the system's reason if
** it cannot be read, otherwise as mt_protocol_parse() with name = path. */
int mt_protocol_load(const char *path, mt_protocol **out, char *err,
                     size_t errlen);
void mt_protocol_free(mt_protocol *p); /* NULL-safe */

/* Names as the file spells them: "tir", "twin", "age_group", "adult". */
const char *mt_endpoint_name(mt_endpoint e);
const char *mt_arm_kind_name(mt_arm_kind k);
const char *mt_covariate_name(mt_covariate c);
const char *mt_age_group_name(mt_age_group g);

#endif
