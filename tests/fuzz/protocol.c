/*
** Virtual-trial protocol files (include/medtwin/trial.h): mt_protocol_parse
** on the raw bytes. A refusal must carry a message naming the input; a
** protocol that parses must keep the invariants the parser promises: counts
** and ranges, unique arm names and endpoints, the primary endpoint among
** them, proportions summing to 1 and named patients inside the model's set.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/trial.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static int sums_to_one(double s) { return fabs(s - 1) <= MT_PROTOCOL_SUM_TOL; }

static void check_cohort(const mt_protocol *p)
{
  const mt_model *m = mt_model_find(p->model);
  CHECK(m && m->patients);
  if (p->source == MT_TRIAL_NAMED) {
    CHECK(p->n_named >= 1 && p->named);
    for (int i = 0; i < p->n_named; i++) {
      CHECK(p->named[i] >= 0 && p->named[i] < m->patients->n);
      for (int j = 0; j < i; j++)
        CHECK(p->named[j] != p->named[i]);
    }
  } else {
    CHECK(p->source == MT_TRIAL_POPULATION && p->n_named == 0);
    double s = 0;
    for (int g = 0; g < MT_N_AGE; g++) {
      CHECK(p->age[g] >= 0 && p->age[g] <= 1);
      s += p->age[g];
    }
    CHECK(sums_to_one(s));
  }
  CHECK(p->n_subgroup >= 0 && p->n_subgroup <= MT_PROTOCOL_MAX_SUBGROUPS);
  double s = 0;
  for (int i = 0; i < p->n_subgroup; i++) {
    const mt_subgroup *g = &p->subgroup[i];
    CHECK(g->label[0] && g->proportion >= 0 && g->proportion <= 1);
    CHECK(g->female >= 0 && g->female <= 1);
    CHECK(g->n_shift >= 0 && g->n_shift <= MT_PROTOCOL_MAX_SHIFTS);
    for (int k = 0; k < g->n_shift; k++) {
      const mt_param_shift *sh = &g->shift[k];
      CHECK(sh->index >= 0 && sh->index < m->n_param);
      CHECK(!strcmp(m->param[sh->index].name, sh->param));
      CHECK(!(m->param[sh->index].flags & MT_VAR_DERIVED));
      CHECK(sh->factor >= 0.1 && sh->factor <= 10);
    }
    for (int j = 0; j < i; j++)
      CHECK(strcmp(p->subgroup[j].label, g->label));
    s += g->proportion;
  }
  CHECK(p->n_subgroup == 0 || sums_to_one(s));
}

static void check_scenario(const mt_protocol *p)
{
  CHECK(p->n_meal >= 0 && p->n_meal <= MT_PROTOCOL_MAX_MEALS);
  for (int i = 0; i < p->n_meal; i++) {
    const mt_trial_meal *ml = &p->meal[i];
    CHECK(ml->clock_min >= 0 && ml->clock_min < 1440);
    CHECK(ml->time_sd_min >= 0 && ml->time_sd_min <= 180);
    CHECK(ml->grams >= 0 && ml->grams <= 500);
    CHECK(ml->grams_cv >= 0 && ml->grams_cv <= 1);
  }
  CHECK(p->carb_error_sd >= 0 && p->carb_error_sd <= 1);
  CHECK(fabs(p->carb_error_bias) <= 0.5);
  CHECK(p->snacks_per_day >= 0 && p->snacks_per_day <= 10);
  CHECK(p->snack_grams >= 0 && p->snack_grams <= 100);
  CHECK(p->missed_bolus_p >= 0 && p->missed_bolus_p <= 1);
  CHECK(p->cgm_noise == 0 || p->cgm_noise == 1);
}

static void check_arms(const mt_protocol *p)
{
  CHECK(p->n_arm >= 1 && p->n_arm <= MT_PROTOCOL_MAX_ARMS);
  for (int i = 0; i < p->n_arm; i++) {
    const mt_trial_arm *a = &p->arm[i];
    size_t n = strlen(a->name);
    CHECK(n >= 1 && n <= 32);
    for (int j = 0; j < i; j++)
      CHECK(strcmp(p->arm[j].name, a->name));
    if (a->kind == MT_ARM_STANDARD)
      CHECK(a->target_mgdl >= 70 && a->target_mgdl <= 200 &&
            a->correction_above_mgdl >= a->target_mgdl &&
            a->correction_above_mgdl <= 400);
    else if (a->kind == MT_ARM_TWIN)
      CHECK(a->members >= 8 && a->members <= 1024 && a->horizon_min > 0 &&
            a->horizon_min <= 240 && a->p70_max > 0 && a->p70_max < 1 &&
            a->max_bolus_u > 0 && a->step_u > 0);
    else
      CHECK(a->kind == MT_ARM_PID && a->kp >= 0 && a->kp <= 10 &&
            a->ki >= 0 && a->kd >= 0 &&
            (isnan(a->basal_u_per_h) ||
             (a->basal_u_per_h >= 0 && a->basal_u_per_h <= 50)));
  }
}

static void check_stats(const mt_protocol *p)
{
  CHECK(p->n_endpoint >= 1 && p->n_endpoint <= MT_N_ENDPOINT);
  int primary = 0;
  for (int i = 0; i < p->n_endpoint; i++) {
    CHECK((unsigned)p->endpoint[i] < MT_N_ENDPOINT);
    for (int j = 0; j < i; j++)
      CHECK(p->endpoint[j] != p->endpoint[i]);
    primary |= p->endpoint[i] == p->primary;
  }
  CHECK(primary);
  CHECK(p->level >= 0.5 && p->level <= 0.999);
  CHECK(p->bootstrap == 0 ||
        (p->bootstrap >= 100 && p->bootstrap <= 100000));
  CHECK(p->n_covariate >= 0 && p->n_covariate <= MT_N_COVARIATE);
  for (int i = 0; i < p->n_covariate; i++)
    CHECK(p->covariate[i] != MT_COV_SUBGROUP || p->n_subgroup > 0);
  CHECK(p->power == 0 || (p->power >= 0.5 && p->power <= 0.99 &&
                          p->max_trials >= 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[MT_ERRMSG_MAX];
  mt_protocol *p;
  err[0] = '\0';
  int rc = mt_protocol_parse((const char *)data, size, "fuzz.json", &p, err,
                             sizeof err);
  if (rc != 0) {
    CHECK(rc < 0 && p == NULL);
    CHECK(!strncmp(err, "fuzz.json: ", 11) && strlen(err) > 11);
    CHECK(!strchr(err, '\n'));
    return 0;
  }
  CHECK(p->name[0] && p->days >= 1 && p->days <= 365);
  CHECK(p->size >= 1 && p->size <= 10000000);
  CHECK(p->seed <= (uint64_t)INT64_MAX);
  check_cohort(p);
  check_scenario(p);
  check_arms(p);
  check_stats(p);
  mt_protocol_free(p);
  return 0;
}
