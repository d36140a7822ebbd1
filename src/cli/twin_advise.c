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
** on true plasma glucose every minute after a 6 h warm-up.
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
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "medtwin/whatif.h"

#define WARMUP_MIN 360
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

typedef struct ctx {
  const mt_model *m;
  const mt_patient *pt;
  mt_sim *sim;
  mt_schedule *sch;
  double x[64], mem[16];
  int started, bg, cgm;
} ctx;

/* The true course from t0 to t1 (whole minutes), scored; the CGM
** observable at t1 into *cgm_t1. */
static int advance(ctx *c, double t0, double t1, arm *a, double *cgm_t1)
{
  mt_series o;
  int n = (int)(t1 - t0) + 1, rc = mt_series_alloc(&o, c->m, n);
  if (rc)
    return rc;
  for (int k = 0; k < n; k++)
    o.t[k] = t0 + k;
  rc = mt_sim_run(c->sim, c->pt->param, c->x, c->mem, c->sch, t0, t1, &o);
  if (!rc) {
    /* every minute in [t0, t1) is this piece's; t1 is the next one's */
    score(a, o.y + c->bg, c->m->n_obs, n - 1, t0);
    *cgm_t1 = o.y[(size_t)(n - 1) * c->m->n_obs + c->cgm];
    memcpy(c->x, o.x_end, (size_t)c->m->n_state * sizeof *c->x);
    memcpy(c->mem, o.mem_end, (size_t)c->m->n_mem * sizeof *c->mem);
    c->started = 1;
  }
  mt_series_clear(&o);
  return rc;
}

/* One arm over the replay's days: advisor (a twin deciding each meal's
** bolus) or the carb-ratio bolus. */
static int run_arm(const mt_replay *rp, const char *name, int pidx,
                   uint64_t seed, int advisor, arm *a, char *err,
                   size_t errlen)
{
  const mt_replay_meal *meal;
  int nm = mt_replay_meals(rp, &meal), rc;
  const double *tt;
  int nt;
  mt_replay_truth(rp, &tt, NULL, NULL, NULL, &nt);
  ctx c = {0};
  c.m = mt_model_find("uva_padova_t1d");
  c.pt = mt_replay_patient(rp);
  c.bg = mt_var_index(c.m->obs, c.m->n_obs, "BG");
  c.cgm = mt_var_index(c.m->obs, c.m->n_obs, "CGM");
  int cho = mt_var_index(c.m->input, c.m->n_input, "CHO");
  int ins = mt_var_index(c.m->input, c.m->n_input, "insulin");
  double basal = mt_replay_basal_u_per_h(rp), t_end = tt[nt - 1];
  mt_twin *tw = NULL;
  mt_cgm_noise g;
  mt_rng r;
  mt_rng_init(&r, seed, (uint64_t)pidx, RNG_SENSOR, 0);
  rc = mt_cgm_noise_init(&g, mt_replay_sensor(rp), &r);
  if (!rc)
    rc = mt_sim_create(c.m, NULL, &c.sim);
  if (!rc)
    rc = mt_schedule_create(c.m->n_input, &c.sch);
  if (!rc)
    rc = mt_schedule_level(c.sch, ins, 0, basal / 60);
  for (int k = 0; !rc && k < nm; k++) /* what is eaten is eaten either way */
    rc = mt_schedule_pulse(c.sch, cho, meal[k].t_min,
                           meal[k].t_min + meal[k].duration_min,
                           meal[k].grams / meal[k].duration_min,
                           MT_PULSE_BITES);
  if (!rc && advisor) {
    mt_twin_config cfg;
    char group[32];
    mt_twin_config_init(&cfg);
    snprintf(group, sizeof group, "%.*s", (int)strcspn(name, "#"), name);
    cfg.group = group, cfg.exclude = name, cfg.seed = seed;
    rc = mt_twin_create(&cfg, &tw, err, errlen);
    const char *why;
    mt_datum d = {0, MT_DATA_BASAL, basal, 0};
    if (!rc)
      rc = mt_twin_ingest(tw, &d, &why) < 0 ? MT_ESOLVER : 0;
  }
  a->insulin_u += basal * (t_end / 60);
  /* the starting state: the model's steady state for the patient */
  double u0[16], y0[16], cgm_nf = NAN, t = 0;
  if (!rc && c.m->init(c.pt->param, c.x, c.mem, u0) < 0)
    rc = MT_ESOLVER;
  if (!rc) {
    c.m->observe(0, c.x, c.pt->param, c.mem, y0);
    cgm_nf = y0[c.cgm];
    c.started = 1;
  }
  /* events in time order: readings every 5 min, announced meals; at equal
  ** times the reading first (as in the replay's stream) */
  int k_meal = 0;
  for (double t_read = 0; !rc && (t_read <= t_end || k_meal < nm);) {
    while (k_meal < nm && meal[k_meal].snack)
      k_meal++;
    int is_meal = k_meal < nm && meal[k_meal].t_min < t_read;
    double te = is_meal ? meal[k_meal].t_min : t_read;
    if (te > t_end)
      break;
    if (te > t) {
      rc = advance(&c, t, te, a, &cgm_nf);
      t = te;
    }
    if (rc)
      break;
    if (!is_meal) {
      double noise = mt_cgm_noise_next(&g);
      mt_datum d = {t, MT_DATA_CGM,
                    mt_cgm_reading(mt_replay_sensor(rp), cgm_nf, noise), 0};
      const char *why;
      if (tw && mt_twin_ingest(tw, &d, &why) < 0)
        rc = MT_ESOLVER;
      t_read += 5;
      continue;
    }
    const mt_replay_meal *mm = &meal[k_meal++];
    double bolus = mm->bolus_u;
    if (tw) {
      mt_whatif best, cand[64];
      int met, nc;
      rc = mt_whatif_advise(tw, mm->announced_g, MT_WHATIF_P70_BOUND, 25,
                            0.5, &best, &met, cand, 64, &nc, err, errlen);
      bolus = best.action.kind == MT_ACTION_BOLUS ? best.action.amount : 0;
      a->meals_bound_met += met;
      const char *why;
      mt_datum dc = {t, MT_DATA_CARBS, mm->announced_g, 0};
      mt_datum db = {t, MT_DATA_BOLUS, bolus, 0};
      if (!rc && (mt_twin_ingest(tw, &dc, &why) < 0 ||
                  (bolus > 0 && mt_twin_ingest(tw, &db, &why) < 0)))
        rc = MT_ESOLVER;
    }
    a->meals++;
    a->insulin_u += bolus;
    if (!rc && bolus > 0)
      rc = mt_schedule_pulse(c.sch, ins, t, t + 1, bolus, 0);
  }
  if (!rc && t < t_end)
    rc = advance(&c, t, t_end, a, &cgm_nf);
  if (rc && !*err)
    snprintf(err, errlen, "%s: %s", name,
             tw ? mt_twin_errmsg(tw) : mt_sim_errmsg(c.sim));
  mt_twin_free(tw);
  mt_sim_free(c.sim);
  mt_schedule_free(c.sch);
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
    const char *name = m->patients->name(i);
    char err[MT_ERRMSG_MAX] = "";
    mt_replay *rp;
    int gi;
    if ((rc = cli_cohort_replay(&co, i, 0, &rp, &gi, err, sizeof err)) == 1) {
      rc = 0;
      continue;
    }
    for (int arm_i = 0; !rc && arm_i < 2; arm_i++)
      rc = run_arm(rp, name, i, (uint64_t)seed, arm_i, &arms[gi][arm_i], err,
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
