/*
** medtwin twin advisor-evaluate: the bolus advisor against the carb-ratio
** bolus, closed loop, on generated days of every virtual patient.
**
** Both arms live the same days (mt_replay's meals, snacks, misjudged carb
** counts, basal) with the same sensor noise; they differ only in the bolus
** at each announced meal: the patient's carb-ratio bolus (announced / CR,
** as in the replay), or the advisor's recommendation from a twin (prior
** without the patient) that has followed that arm's own readings so far.
** The true course is simulated piecewise between readings and meal starts
** (continued exactly, mt_sim_run from the last state and memory), and scored
** on true plasma glucose every minute after a 6 h warm-up: the virtual
** trial's arm runner (include/medtwin/trial_run.h) on the replay's days, as
** a standard arm without correction or insulin on board and a twin arm.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/replay.h"
#include "medtwin/rng.h"
#include "medtwin/trial_run.h"
#include "medtwin/whatif.h"

#define WARMUP_MIN MT_TRIAL_WARMUP_MIN
#define RNG_SENSOR 91 /* purpose key of this harness's sensor noise */

/* Minutes of true BG by band, insulin and meals, for one arm. */
typedef struct arm {
  double minutes, in_range, below70, below54, above180, above250, sum_bg;
  double sum_bg2, insulin_u, meals, meals_bound_met;
} arm;

static void arm_add(arm *a, const arm *b)
{
  double *x = (double *)a;
  const double *y = (const double *)b;
  for (size_t k = 0; k < sizeof *a / sizeof(double); k++)
    x[k] += y[k];
}

/* Score true BG samples bg[0..n) at minutes t0 .. t0 + n - 1. */
static void score(arm *a, const double *bg, int stride, int n, double t0)
{
  for (int k = 0; k < n; k++) {
    double g = bg[(size_t)k * stride];
    if (t0 + k < WARMUP_MIN || isnan(g))
      continue;
    a->minutes++;
    a->in_range += g >= 70 && g <= 180;
    a->below70 += g < 70, a->below54 += g < 54;
    a->above180 += g > 180, a->above250 += g > 250;
    a->sum_bg += g, a->sum_bg2 += g * g;
  }
}

/* The replay's days as a trial life: every meal and snack eaten, the
** announced meals with their counted carbohydrate, this harness's sensor
** stream, and the twin seeded with the harness's seed. */
static int replay_life(const mt_replay *rp, int pidx, uint64_t seed,
                       mt_trial_day_plan *life)
{
  const mt_replay_meal *meal;
  int nm = mt_replay_meals(rp, &meal);
  memset(life, 0, sizeof *life);
  life->event = calloc((size_t)nm + 1, sizeof *life->event);
  if (!life->event)
    return MT_ENOMEM;
  const double *tt;
  int nt;
  mt_replay_truth(rp, &tt, NULL, NULL, NULL, &nt);
  life->k = pidx, life->days = (int)(tt[nt - 1] / 1440), life->cgm_noise = 1;
  life->n_event = nm;
  for (int k = 0; k < nm; k++)
    life->event[k] = (mt_trial_event){meal[k].t_min, meal[k].grams,
                                      meal[k].duration_min,
                                      meal[k].announced_g, meal[k].snack, 0,
                                      0, k};
  life->sensor = *mt_replay_sensor(rp);
  mt_rng_init(&life->sensor_rng, seed, (uint64_t)pidx, RNG_SENSOR, 0);
  life->twin_seed = seed;
  return 0;
}

/* The two arms: the replay's carb-ratio bolus (announced / CR: no
** correction, no insulin on board) and the advisor of a twin from the prior
** of the patient's group without the patient. */
static void advise_protocol(mt_protocol *p)
{
  memset(p, 0, sizeof *p);
  p->source = MT_TRIAL_NAMED;
  p->n_arm = 2;
  p->arm[0] = (mt_trial_arm){.name = "carb_ratio", .kind = MT_ARM_STANDARD,
                             .target_mgdl = 120,
                             .correction_above_mgdl = INFINITY};
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  p->arm[1] = (mt_trial_arm){.name = "advisor", .kind = MT_ARM_TWIN,
                             .members = cfg.members, .horizon_min = 240,
                             .p70_max = MT_WHATIF_P70_BOUND,
                             .max_bolus_u = 25, .step_u = 0.5};
}

/* One arm over the replay's days (mt_trial_run_arm_trace), its minutes
** pooled into a. */
static int run_arm(const mt_replay *rp, int pidx, uint64_t seed, int advisor,
                   arm *a, char *err, size_t errlen)
{
  mt_protocol p;
  mt_trial_day_plan life;
  mt_trial_outcome o;
  advise_protocol(&p);
  int rc = replay_life(rp, pidx, seed, &life);
  int n = life.days * 1440 - MT_TRIAL_WARMUP_MIN;
  double *bg = rc ? NULL : malloc((size_t)n * sizeof *bg);
  if (!rc && !bg)
    rc = MT_ENOMEM;
  if (!rc)
    rc = mt_trial_run_arm_trace(&p, advisor, mt_replay_patient(rp), &life,
                                &o, bg, err, errlen);
  if (!rc) {
    score(a, bg, 1, n, MT_TRIAL_WARMUP_MIN);
    a->insulin_u += o.insulin_u;
    a->meals += o.meals;
    a->meals_bound_met += o.advisor_bound_met;
  } else if (!*err) {
    snprintf(err, errlen, "%s", mt_strerror(rc));
  }
  free(bg);
  free(life.event);
  return rc;
}

static json_t *arm_json(const arm *a, double days)
{
  double n = a->minutes, mean = a->sum_bg / n;
  double sd = sqrt(fmax(a->sum_bg2 / n - mean * mean, 0));
  return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                   "tir", a->in_range / n, "tbr70", a->below70 / n, "tbr54",
                   a->below54 / n, "tar180", a->above180 / n, "tar250",
                   a->above250 / n, "mean_mgdl", mean, "cv", sd / mean,
                   "insulin_u_per_day", a->insulin_u / days,
                   "bound_met_fraction",
                   a->meals > 0 ? a->meals_bound_met / a->meals : 0.0);
}

static const char advise_usage[] =
    "usage: medtwin twin advisor-evaluate [--cohort all|adolescent|adult|"
    "child|NAME]\n       [--days 2] [--seed 1] [--json]\n";

int cmd_twin_advisor_evaluate(int argc, char **argv)
{
  cli_cohort_opts co = {"twin advisor-evaluate", "all", 2, 1, 30, NULL, 0};
  int rc0 = cli_parse_cohort(argc, argv, advise_usage, &co);
  if (rc0)
    return rc0;
  long days = co.days, seed = co.seed;
  const char *cohort = co.cohort;
  const mt_model *m = mt_model_find("uva_padova_t1d");
  arm arms[CLI_NGROUP][2];
  double gdays[CLI_NGROUP] = {0};
  memset(arms, 0, sizeof arms);
  int rc = 0, npt = 0;
  for (int i = 0; !rc && i < m->patients->n; i++) {
    char err[MT_ERRMSG_MAX] = "";
    mt_replay *rp;
    int gi;
    if ((rc = cli_cohort_replay(&co, i, 0, &rp, &gi, err, sizeof err)) == 1) {
      rc = 0;
      continue;
    }
    for (int arm_i = 0; !rc && arm_i < 2; arm_i++)
      rc = run_arm(rp, i, (uint64_t)seed, arm_i, &arms[gi][arm_i], err,
                   sizeof err);
    if (rc)
      cli_fail(EXIT_RUNTIME, "%s", err);
    mt_replay_free(rp); /* NULL-safe */
    gdays[gi] += (double)days - WARMUP_MIN / 1440.0;
    npt++;
  }
  if (!rc && !npt)
    return cli_fail(EXIT_USAGE, "twin advisor-evaluate: --cohort: no "
                    "patient matches '%s'", cohort);
  if (rc)
    return EXIT_RUNTIME;
  json_t *o = json_object(), *by = json_object();
  arm all[2] = {{0}};
  double alldays = 0;
  for (int k = 0; k < CLI_NGROUP; k++) {
    if (!(gdays[k] > 0))
      continue;
    json_object_set_new(by, cli_group_name[k],
                        json_pack("{s:o, s:o}", "carb_ratio",
                                  arm_json(&arms[k][0], gdays[k]), "advisor",
                                  arm_json(&arms[k][1], gdays[k])));
    arm_add(&all[0], &arms[k][0]);
    arm_add(&all[1], &arms[k][1]);
    alldays += gdays[k];
  }
  json_object_set_new(o, "medtwin_version", json_string(MT_VERSION));
  json_object_set_new(o, "patients", json_integer(npt));
  json_object_set_new(o, "days", json_integer(days));
  json_object_set_new(o, "seed", json_integer(seed));
  json_object_set_new(o, "warmup_min", json_real(WARMUP_MIN));
  json_object_set_new(o, "p_below70_max", json_real(MT_WHATIF_P70_BOUND));
  json_object_set_new(o, "carb_ratio", arm_json(&all[0], alldays));
  json_object_set_new(o, "advisor", arm_json(&all[1], alldays));
  json_object_set_new(o, "groups", by);
  json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
  putchar('\n');
  json_decref(o);
  return 0;
}
