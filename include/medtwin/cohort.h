/*
** Virtual-trial cohorts: patient k of a protocol's cohort (include/medtwin/
** trial.h), as a pure function of (protocol, k), so that any thread or rank
** builds the same patient in any order. Method, choices and their sources:
** docs/cohort.md.
**
** Named source: trial patient k is the model's shipped patient
** named[k % n_named] with its covariates from the data (age, body weight,
** CR, CF, TDI); sex and subgroup label are synthetic draws.
**
** Population source: the age group is drawn by the protocol's proportions;
** a donor, one of that group's shipped patients chosen uniformly, supplies
** the primary parameters the prior does not model (BW, Gb, Ib, EGPb, ...),
** the group's prior (include/medtwin/prior.h) supplies the estimable ones,
** and the model's derive() recomputes the derived ones. Body weight is the
** drawn BW; age is uniform on the group's range of ages in the shipped data;
** TDI, CR and CF come from the basal rate by the group's own relations in
** the shipped data (docs/cohort.md, "Therapy settings").
**
** Both sources: the subgroup's multiplicative shifts (hypothetical
** sensitivity analyses, never claims about real populations) multiply the
** named primary parameters, then derive() recomputes the derived ones. Every
** patient returned passes mt_cohort_check(); a population draw that fails is
** replaced by the next attempt, up to MT_COHORT_MAX_ATTEMPTS.
**
** Random streams (include/medtwin/rng.h), never keyed by thread:
**   covariates (seed; k, MT_COHORT_RNG_COVARIATES, 0): in this order, one
**     uniform each for the age group, the subgroup, the sex and the age
**     (all four drawn for either source, so the layout never changes);
**   parameters (seed; k, MT_COHORT_RNG_PARAMS, attempt): one uniform for the
**     donor, then the prior's n standard normals.
** Covariates are drawn once per patient, so rejections never bias the age
** group, sex or subgroup proportions; only parameters are redrawn.
*/
#ifndef MEDTWIN_COHORT_H
#define MEDTWIN_COHORT_H

#include <stddef.h>
#include <stdint.h>

#include "medtwin/patient.h"
#include "medtwin/trial.h"

/* Purpose keys (third key of mt_rng_init) of the cohort's streams. */
#define MT_COHORT_RNG_COVARIATES UINT64_C(0x636f7631) /* "cov1" */
#define MT_COHORT_RNG_PARAMS     UINT64_C(0x70617231) /* "par1" */

/* Bound on the parameter draws of one population patient. */
#define MT_COHORT_MAX_ATTEMPTS 1000

/*
** Plausibility (docs/cohort.md, "Plausibility"): basal plasma glucose of the
** steady state in [70, 200] mg/dL and basal insulin in [0.1, 1.0] U/kg/day.
*/
#define MT_COHORT_GB_MIN_MGDL     70.0
#define MT_COHORT_GB_MAX_MGDL     200.0
#define MT_COHORT_BASAL_MIN_UKGD  0.1
#define MT_COHORT_BASAL_MAX_UKGD  1.0

/* Why a draw was rejected; 0 (MT_COHORT_OK) when it passes. */
typedef enum mt_cohort_reject {
  MT_COHORT_OK = 0,
  MT_COHORT_REJECT_BOUNDS,  /* a parameter not finite or outside [lo, hi] */
  MT_COHORT_REJECT_DERIVE,  /* derive() reported inconsistent parameters */
  MT_COHORT_REJECT_STEADY,  /* init() failed or gave a non-finite state */
  MT_COHORT_REJECT_GLUCOSE, /* basal glucose outside [70, 200] mg/dL */
  MT_COHORT_REJECT_INSULIN, /* basal insulin outside [0.1, 1.0] U/kg/day */
  MT_COHORT_N_REJECT
} mt_cohort_reject;

/* What was drawn for one patient. Sex and subgroup are synthetic labels. */
typedef struct mt_cohort_info {
  long k;                  /* the trial patient's index */
  int attempts;            /* parameter draws made, 1 .. MAX_ATTEMPTS */
  int rejected[MT_COHORT_N_REJECT]; /* rejected draws by reason ([0]: 0) */
  mt_age_group age_group;
  int sex;                 /* 1 female, 2 male (mt_patient's coding) */
  int subgroup;            /* index in p->subgroup; -1 without subgroups */
  int n_shifted;           /* shifts applied: the subgroup's n_shift, 0 if
                           ** none; they are p->subgroup[subgroup].shift */
  int hypothetical;        /* 1 when a subgroup label (and its shifts) was
                           ** assigned: report it as hypothetical */
  int source_patient;      /* named: the shipped patient's index in the
                           ** model's set; population: the donor's */
  double basal_glucose_mgdl;  /* of the steady state */
  double basal_u_per_h;       /* basal insulin rate of the steady state */
} mt_cohort_info;

typedef struct mt_cohort_prior mt_cohort_prior;

/*
** Everything mt_cohort_patient needs that is the same for every patient: the
** model, its shipped patients, and for a population cohort the prior, donors,
** age range and therapy relations of each age group with a proportion > 0.
** Made once, then shared read-only by any number of threads.
**
** Errors, with one line in err (truncated to errlen; err may be NULL):
** MT_EINVAL (p or out NULL, an empty named cohort, a named index or shift
** index outside the model's tables, a shift of a derived parameter, a model
** without a "BG" observable or "insulin" input), MT_ENOTFOUND (an unknown
** model, a model without shipped patients, an age group without members),
** MT_ERANGE (a group member without finite CR, CF or TDI), MT_ENOMEM, or an
** error of mt_prior_fit. On error *out is NULL.
*/
int mt_cohort_prepare(const mt_protocol *p, mt_cohort_prior **out,
                      char *err, size_t errlen);
void mt_cohort_free(mt_cohort_prior *cp); /* NULL-safe */

/*
** Build trial patient k (0 .. p->size - 1) of p's cohort with cp from
** mt_cohort_prepare(p). *out is a new patient (free with mt_patient_free);
** info (may be NULL) says what was drawn. Does not change cp: calls may run
** concurrently, in any order, and give bit-identical patients for the same k.
**
** Population patients get id "<group>/<k>" (e.g. "adult/17") and group the
** age group's name; named ones the shipped patient's id and group.
**
** Errors, with one line in err naming patient k: MT_EINVAL (an argument NULL,
** k out of range, cp made for another model or without the drawn age group's
** prior), MT_ERANGE (a named patient that fails the plausibility checks after
** its subgroup's shifts, which no redraw can change; a population patient
** whose MT_COHORT_MAX_ATTEMPTS draws all failed, with the commonest reason),
** MT_ENOMEM. On error *out is NULL; info, when given, still holds what was
** drawn (attempts and rejections included).
*/
int mt_cohort_patient(const mt_protocol *p, const mt_cohort_prior *cp,
                      long k, mt_patient **out, mt_cohort_info *info,
                      char *err, size_t errlen);

/*
** The plausibility checks on a parameter vector p (m->n_param values) with
** body weight bw_kg: every parameter finite and inside its declared bounds,
** the steady state of m->init finite, basal glucose (the "BG" observable at
** the steady state) and basal insulin (the "insulin" input, U/min, per kg per
** day) inside the ranges above. Writes the basal glucose (mg/dL) and insulin
** rate (U/h) when they could be computed (NAN otherwise; either pointer may
** be NULL). Returns MT_COHORT_OK or the first failing mt_cohort_reject, in
** enum order; MT_EINVAL for a model without init, "BG" or "insulin".
*/
int mt_cohort_check(const mt_model *m, const double *p, double bw_kg,
                    double *gb_mgdl, double *basal_u_per_h);

/* "bounds", "derive", "steady_state", "glucose", "insulin"; "ok" for 0. */
const char *mt_cohort_reject_name(int reason);

#endif
