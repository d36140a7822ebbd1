/*
** What-if ranking of regimens (medtwin/regimen.h, docs/regimens.md): the
** regimens file parser (fields, defaults, errors naming the field), the
** score and the ranking on hand-made outcomes, and a short simulated
** ranking for the HFrEF condition of circulation_smith2004 in which an
** inotrope (which raises contractility, model card section 9) must rank
** above no drug against an EF target.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/regimen.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"

static const mt_model *heart(void)
{
  const mt_model *m = mt_model_find("circulation_smith2004");
  cr_assert_not_null(m);
  return m;
}

static int parse(const char *json, mt_regimen_set **s, char *err)
{
  return mt_regimen_set_parse(json, strlen(json), "r.json", heart(), s, err,
                              MT_ERRMSG_MAX);
}

Test(regimen, parses_fields_and_defaults)
{
  mt_regimen_set *s = NULL;
  char err[MT_ERRMSG_MAX];
  const char *j =
      "{\"regimens\": [{\"name\": \"none\", \"doses\": []},"
      " {\"name\": \"dobutamine\", \"doses\": [{\"drug\": \"inotrope\","
      " \"rate_per_min\": 375, \"t_min\": 5, \"duration_min\": 60}]},"
      " {\"name\": \"metoprolol\", \"doses\": [{\"drug\": \"beta_blocker\","
      " \"amount\": 12.5, \"t_min\": 0}]}]}";
  cr_assert_eq(parse(j, &s, err), 0, "%s", err);
  cr_expect_eq(s->n, 3);
  cr_expect_eq(s->baroreflex, -1);
  cr_expect_eq(s->horizon_h, 0);
  cr_expect_eq(s->targets.map_mmhg.lo, 65);
  cr_expect_eq(s->targets.map_mmhg.hi, 90);
  cr_expect_eq(s->targets.co_lmin.lo, 4);
  cr_expect(isnan(s->targets.co_lmin.hi));
  cr_expect_eq(s->targets.ef_pct.lo, 40);
  cr_expect_eq(s->r[0].n_dose, 0);
  /* An infusion's amount is rate x duration: 375 x 60 ug. */
  cr_expect_eq(s->r[1].dose[0].amount, 375.0 * 60);
  cr_expect_eq(s->r[1].dose[0].t_min, 5);
  /* An amount without a duration is given over 1 min. */
  cr_expect_eq(s->r[2].dose[0].duration_min, 1);
  cr_expect_str_eq(s->r[2].dose[0].drug, "beta_blocker");
  mt_regimen_set_free(s);
}

/* Each bad file: the status, and the message names the file and field. */
Test(regimen, bad_input_names_the_field)
{
  static const struct {
    const char *json, *needle;
    int rc;
  } bad[] = {
    {"{\"regimens\": [{\"name\": \"x\", \"doses\": [{\"drug\": \"aspirin\","
     " \"amount\": 1, \"t_min\": 0}]}]}", "regimens[0].doses[0].drug",
     MT_EINVAL},
    {"{\"regimens\": [{\"name\": \"x\", \"doses\": [{\"drug\": \"diuretic\","
     " \"amount\": -5, \"t_min\": 0}]}]}", "regimens[0].doses[0].amount",
     MT_EINVAL},
    {"{\"regimens\": [{\"name\": \"a\", \"doses\": []}, {\"doses\": []}]}",
     "regimens[1].name", MT_EINVAL},
    {"{\"regimens\": [{\"name\": \"x\", \"doses\": [{\"drug\": \"diuretic\","
     " \"amount\": 5}]}]}", "regimens[0].doses[0].t_min", MT_EINVAL},
    {"{\"regimens\": [{\"name\": \"x\", \"doses\": [{\"drug\": \"inotrope\","
     " \"rate_per_min\": 5, \"t_min\": 0}]}]}",
     "regimens[0].doses[0].duration_min", MT_EINVAL},
    {"{\"regimens\": [{\"name\": \"x\"}]}", "regimens[0].doses", MT_EINVAL},
    {"{\"regimens\": []}", "regimens", MT_EINVAL},
    {"{\"regimens\": [{\"name\": \"x\", \"doses\": []}], \"targets\":"
     " {\"map_mmhg\": {\"min\": 90, \"max\": 65}}}", "targets.map_mmhg",
     MT_EINVAL},
    {"{\"regimen\": []}", "regimen: unknown key", MT_EINVAL},
    {"{\"regimens\": [", "line", MT_EPARSE},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mt_regimen_set *s = (mt_regimen_set *)1;
    char err[MT_ERRMSG_MAX] = "";
    cr_expect_eq(parse(bad[i].json, &s, err), bad[i].rc, "case %zu: %s", i,
                 err);
    cr_expect_null(s, "case %zu", i);
    cr_expect(strstr(err, "r.json: ") == err, "case %zu: %s", i, err);
    cr_expect_not_null(strstr(err, bad[i].needle), "case %zu: %s", i, err);
  }
}

/* Score and rank on hand-made outcomes against the default targets. */
Test(regimen, score_and_rank)
{
  mt_regimen_targets t;
  mt_regimen_targets_default(&t);
  mt_regimen_outcome o[4];
  memset(o, 0, sizeof o);
  /* 0: misses CO (3.5 < 4: distance 0.125) and EF (30 < 40: 0.25). */
  o[0] = (mt_regimen_outcome){.map_mmhg = 80, .co_lmin = 3.5, .ef_pct = 30,
                              .worst_map_mmhg = 75};
  /* 1: meets every target. */
  o[1] = (mt_regimen_outcome){.map_mmhg = 80, .co_lmin = 5, .ef_pct = 45,
                              .worst_map_mmhg = 70};
  /* 2: meets every target at the end but the worst MAP was 60 (< 65). */
  o[2] = (mt_regimen_outcome){.map_mmhg = 80, .co_lmin = 5, .ef_pct = 50,
                              .worst_map_mmhg = 60};
  /* 3: as 1 with a higher EF: ranks above 1 (the tie-break). */
  o[3] = (mt_regimen_outcome){.map_mmhg = 80, .co_lmin = 5, .ef_pct = 47,
                              .worst_map_mmhg = 70};
  for (int i = 0; i < 4; i++)
    mt_regimen_score(&t, &o[i]);
  cr_expect_eq(o[0].missed, 2);
  cr_expect(fabs(o[0].distance - (0.5 / 4 + 10.0 / 40)) < 1e-15, "%.17g",
            o[0].distance);
  cr_expect_eq(o[1].missed, 0);
  cr_expect_eq(o[2].missed, 1);
  cr_expect(fabs(o[2].distance - 5.0 / 65) < 1e-15);
  int order[4];
  mt_regimen_rank(4, o, order);
  cr_expect_eq(order[0], 3);
  cr_expect_eq(order[1], 1);
  cr_expect_eq(order[2], 2);
  cr_expect_eq(order[3], 0);
  cr_expect_eq(o[3].rank, 1);
  cr_expect_eq(o[0].rank, 4);
}

/* HFrEF over 10 min (the last 30 s measured, a checkpoint every 120 s):
** dobutamine 375 ug/min from t = 0 (5 ug/kg/min at 75 kg) meets the EF >=
** 40 % target and ranks first; no drug misses it (HFrEF EF 37.4 %, model
** card section 5). The same inputs give the same outcomes bit for bit. */
Test(regimen, inotrope_ranks_above_none_for_hfref)
{
  const mt_model *m = heart();
  mt_patient *pt = NULL;
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_patient_load(m, "hfref", &pt, err, sizeof err), 0);
  mt_regimen_set *s = NULL;
  cr_assert_eq(parse("{\"regimens\": [{\"name\": \"none\", \"doses\": []},"
                     " {\"name\": \"dobutamine\", \"doses\": [{\"drug\":"
                     " \"inotrope\", \"rate_per_min\": 375, \"t_min\": 0,"
                     " \"duration_min\": 10}]}]}", &s, err), 0, "%s", err);
  mt_regimen_config cfg;
  mt_regimen_config_init(&cfg);
  cfg.horizon_s = 600, cfg.window_s = 30, cfg.check_s = 120;
  mt_regimen_outcome o[2], again;
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(mt_regimen_simulate(m, pt->param, &s->r[i], &cfg, &o[i],
                                     err, sizeof err), 0, "%s", err);
    mt_regimen_score(&s->targets, &o[i]);
  }
  cr_expect_lt(o[0].ef_pct, 40, "EF without a drug %.2f", o[0].ef_pct);
  cr_expect_geq(o[1].ef_pct, 40, "EF with dobutamine %.2f", o[1].ef_pct);
  cr_expect_gt(o[1].co_lmin, o[0].co_lmin);
  cr_expect(o[0].n_beats >= 30 && o[0].n_beats <= 45, "%d beats in 30 s",
            o[0].n_beats);
  cr_expect(fabs(o[0].simulated_s - 600) < 1e-9);
  cr_expect_leq(o[0].worst_map_mmhg, o[0].map_mmhg);
  int order[2];
  mt_regimen_rank(2, o, order);
  cr_expect_eq(order[0], 1);
  cr_expect_lt(o[1].missed, o[0].missed);
  cr_assert_eq(mt_regimen_simulate(m, pt->param, &s->r[1], &cfg, &again, err,
                                   sizeof err), 0);
  cr_expect_eq(memcmp(&again.map_mmhg, &o[1].map_mmhg, 8 * sizeof(double)),
               0);
  cr_log_info("hfref 10 min: none EF %.2f CO %.3f MAP %.2f, dobutamine EF "
              "%.2f CO %.3f MAP %.2f", o[0].ef_pct, o[0].co_lmin,
              o[0].map_mmhg, o[1].ef_pct, o[1].co_lmin, o[1].map_mmhg);
  mt_regimen_set_free(s);
  mt_patient_free(pt);
}

/* A model without the beat observables is refused. */
Test(regimen, refuses_a_model_without_beats)
{
  const mt_model *m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(m);
  mt_patient *pt = NULL;
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_patient_load(m, m->patients->name(0), &pt, err,
                               sizeof err), 0);
  mt_regimen r = {.name = "none"};
  mt_regimen_config cfg;
  mt_regimen_config_init(&cfg);
  mt_regimen_outcome o;
  cr_expect_eq(mt_regimen_simulate(m, pt->param, &r, &cfg, &o, err,
                                   sizeof err), MT_EINVAL);
  cr_expect_not_null(strstr(err, "beat observables") ? err
                     : strstr(err, "time unit"), "%s", err);
  mt_patient_free(pt);
}

/*
** A beat-averaged model: a week of enalapril 6 mg a day (08:00, over 1 min)
** for hfref. The outcome is the model's own state at the horizon: MAP, CO
** and EF equal those of an independent mt_sim_run of the same doses (to
** 1e-12 relative; the same integrator and tolerances); the vasodilator
** lowers MAP and raises CO against no drug (the direction of its effect on
** R_sys); the worst hourly MAP is no higher than the end's; no beats are
** counted and the simulated time is the horizon.
*/
Test(regimen, beat_averaged_model_over_a_week)
{
  const mt_model *m = mt_model_find("circulation_beatavg");
  cr_assert_not_null(m);
  mt_patient *pt = NULL;
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_patient_load(m, "hfref", &pt, err, sizeof err), 0);
  char json[4096];
  int n = snprintf(json, sizeof json, "{\"horizon_h\": 168, \"regimens\": "
                   "[{\"name\": \"none\", \"doses\": []}, {\"name\": \"e\", "
                   "\"doses\": [");
  for (int d = 0; d < 7; d++)
    n += snprintf(json + n, sizeof json - (size_t)n, "%s{\"drug\": "
                  "\"vasodilator\", \"amount\": 6, \"t_min\": %d, "
                  "\"duration_min\": 1}", d ? ", " : "", 480 + 1440 * d);
  snprintf(json + n, sizeof json - (size_t)n, "]}]}");
  mt_regimen_set *s = NULL;
  cr_assert_eq(mt_regimen_set_parse(json, strlen(json), "r.json", m, &s, err,
                                    sizeof err), 0, "%s", err);
  mt_regimen_config cfg;
  mt_regimen_config_init(&cfg);
  cfg.horizon_s = 168 * 3600, cfg.check_s = 3600;
  mt_regimen_outcome o[2];
  for (int i = 0; i < 2; i++)
    cr_assert_eq(mt_regimen_simulate(m, pt->param, &s->r[i], &cfg, &o[i],
                                     err, sizeof err), 0, "%s", err);
  /* the same doses by hand */
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_schedule_create(m->n_input, &sch), 0);
  int k = mt_var_index(m->input, m->n_input, "vasodilator");
  for (int d = 0; d < 7; d++)
    cr_assert_eq(mt_schedule_pulse(sch, k, 480 + 1440 * d,
                                   481 + 1440 * d, 6, 0), 0);
  mt_series out;
  cr_assert_eq(mt_series_alloc(&out, m, 1), 0);
  out.t[0] = 168 * 60;
  mt_sim_config sc;
  mt_sim_config_init(&sc);
  mt_sim *sim = NULL;
  cr_assert_eq(mt_sim_create(m, &sc, &sim), 0);
  cr_assert_eq(mt_sim_run(sim, pt->param, NULL, NULL, sch, 0, 168 * 60,
                          &out), 0);
  const char *name[3] = {"MAP", "CO", "EF"};
  double got[3] = {o[1].map_mmhg, o[1].co_lmin, o[1].ef_pct};
  for (int i = 0; i < 3; i++) {
    double want = out.y[mt_var_index(m->obs, m->n_obs, name[i])];
    cr_expect(fabs(got[i] / want - 1) < 1e-12, "%s %.15g, by hand %.15g",
              name[i], got[i], want);
  }
  cr_expect_lt(o[1].map_mmhg, o[0].map_mmhg);
  cr_expect_gt(o[1].co_lmin, o[0].co_lmin);
  cr_expect_leq(o[1].worst_map_mmhg, o[1].map_mmhg);
  cr_expect_eq(o[1].n_beats, 0);
  cr_expect(fabs(o[1].simulated_s - 168 * 3600) < 1e-6);
  mt_sim_free(sim);
  mt_series_clear(&out);
  mt_schedule_free(sch);
  mt_regimen_set_free(s);
  mt_patient_free(pt);
}
