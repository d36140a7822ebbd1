/*
** Virtual-trial arms (src/twin/trial_run.c): common random numbers between
** arms, determinism, a steady state that can be checked by hand, the
** standard bolus and insulin-on-board arithmetic, the PID on a fasting
** patient, a twin-arm smoke run, and the endpoints of a glucose trace
** computed by hand.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "medtwin/trial.h"
#include "medtwin/trial_run.h"

static char err[MT_ERRMSG_MAX];

/* A protocol of the ten adults: days, the scenario's keys, the arms. */
static mt_protocol *protocol(int days, const char *scenario, const char *arms)
{
  char text[4096];
  snprintf(text, sizeof text,
           "{\"name\": \"t\", \"seed\": 11, \"days\": %d, \"size\": 10,"
           " \"cohort\": {\"source\": \"named\", \"group\": \"adult\"},"
           " \"scenario\": {%s}, \"arms\": [%s],"
           " \"endpoints\": [\"tir\"], \"primary_endpoint\": \"tir\"}",
           days, scenario, arms);
  mt_protocol *p = NULL;
  int rc = mt_protocol_parse(text, strlen(text), "t.json", &p, err, sizeof err);
  cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
  return p;
}

static mt_patient *patient(const char *name)
{
  mt_patient *pt = NULL;
  int rc = mt_patient_load(mt_model_find("uva_padova_t1d"), name, &pt, err,
                           sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  return pt;
}

/* The patient's steady-state basal rate, U/h. */
static double basal_u_per_h(const mt_patient *pt)
{
  const mt_model *m = pt->model;
  double x[64], mem[16], u[16];
  cr_assert(m->init(pt->param, x, mem, u) >= 0);
  return u[mt_var_index(m->input, m->n_input, "insulin")] * 60;
}

#define MEALS3                                                               \
  "\"meals\": [{\"time\": \"07:00\", \"time_sd_min\": 20, \"grams\": 45,"    \
  " \"grams_cv\": 0.1}, {\"time\": \"12:30\", \"time_sd_min\": 30,"          \
  " \"grams\": 70, \"grams_cv\": 0.1}, {\"time\": \"19:00\","                \
  " \"time_sd_min\": 30, \"grams\": 80, \"grams_cv\": 0.1}]"
#define STANDARD "{\"name\": \"std\", \"kind\": \"standard\"}"
#define PID(kp, ki, kd)                                                      \
  "{\"name\": \"pid\", \"kind\": \"pid\", \"kp\": " #kp ", \"ki\": " #ki     \
  ", \"kd\": " #kd "}"

Test(trial_run, every_arm_lives_the_same_generated_days)
{
  mt_protocol *p = protocol(3, MEALS3 ", \"carb_count_error\": {\"sd\": 0.2},"
                            " \"snacks\": {\"per_day\": 2},"
                            " \"missed_bolus_probability\": 0.2",
                            STANDARD "," PID(0.01, 0, 0));
  mt_patient *a = patient("adult#001"), *b = patient("adult#002");
  mt_trial_day_plan *l1, *l2, *l3;
  cr_assert_eq(mt_trial_life(p, a, 3, &l1, err, sizeof err), 0, "%s", err);
  /* a pure function of (seed, k): not of the patient or of earlier calls */
  cr_assert_eq(mt_trial_life(p, a, 4, &l3, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_trial_life(p, b, 3, &l2, err, sizeof err), 0, "%s", err);
  cr_assert_eq(l1->n_event, l2->n_event);
  cr_assert(l1->n_event >= 3 * 3 - 1, "%d events", l1->n_event);
  cr_assert_eq(memcmp(l1->event, l2->event, l1->n_event * sizeof *l1->event), 0);
  cr_assert_eq(memcmp(&l1->sensor_rng, &l2->sensor_rng, sizeof l1->sensor_rng), 0);
  cr_assert_eq(l1->twin_seed, l2->twin_seed);
  int same = l1->n_event == l3->n_event &&
             !memcmp(l1->event, l3->event, l1->n_event * sizeof *l1->event);
  cr_assert(!same, "patients 3 and 4 must not share their days");
  for (int i = 1; i < l1->n_event; i++)
    cr_assert(l1->event[i].t_min >= l1->event[i - 1].t_min);
  int snacks = 0, missed = 0;
  for (int i = 0; i < l1->n_event; i++) {
    const mt_trial_event *e = &l1->event[i];
    snacks += e->snack, missed += e->bolus_missed;
    cr_assert(e->t_min >= 0 && e->t_min < 3 * 1440 && e->t_min == floor(e->t_min));
    cr_assert(e->snack ? e->announced_g == 0 && e->duration_min == 5
                       : e->duration_min >= 10 && e->duration_min <= 20);
  }
  cr_assert(snacks > 0, "a rate of 2 a day gave no snack in 3 days");
  /* both arms eat the same meals */
  mt_trial_outcome os, op;
  cr_assert_eq(mt_trial_run_arm(p, 0, a, l1, &os, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_trial_run_arm(p, 1, a, l1, &op, err, sizeof err), 0, "%s", err);
  cr_assert_eq(os.carbs_g, op.carbs_g);
  cr_assert_eq(os.meals, op.meals);
  cr_assert_eq(os.meals, l1->n_event - snacks);
  cr_assert(os.boluses <= os.meals - missed);
  cr_assert_eq(op.boluses, 0);
  mt_trial_life_free(l1);
  mt_trial_life_free(l2);
  mt_trial_life_free(l3);
  mt_patient_free(a);
  mt_patient_free(b);
  mt_protocol_free(p);
}

Test(trial_run, a_standard_arm_run_twice_is_bit_identical)
{
  mt_protocol *p = protocol(1, MEALS3 ", \"carb_count_error\": {\"sd\": 0.2}",
                            STANDARD);
  mt_patient *pt = patient("adult#004");
  mt_trial_day_plan *l;
  cr_assert_eq(mt_trial_life(p, pt, 0, &l, err, sizeof err), 0, "%s", err);
  mt_trial_outcome o1, o2;
  cr_assert_eq(mt_trial_run_arm(p, 0, pt, l, &o1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_trial_run_arm(p, 0, pt, l, &o2, err, sizeof err), 0, "%s", err);
  cr_assert_eq(memcmp(&o1.ep, &o2.ep, sizeof o1.ep), 0);
  cr_assert_eq(o1.insulin_u, o2.insulin_u);
  cr_assert_eq(o1.boluses, 3);
  cr_assert(o1.ep[MT_EP_TIR] > 0 && o1.ep[MT_EP_TIR] <= 100);
  /* the scored trace gives the same endpoints */
  double bg[1440 - MT_TRIAL_WARMUP_MIN];
  mt_trial_outcome o3, o4 = {0};
  cr_assert_eq(mt_trial_run_arm_trace(p, 0, pt, l, &o3, bg, err, sizeof err),
               0, "%s", err);
  cr_assert_eq(mt_trial_endpoints(bg, 1440 - MT_TRIAL_WARMUP_MIN,
                                  o1.insulin_u, 1, &o4), 0);
  cr_assert_eq(memcmp(&o1.ep, &o4.ep, sizeof o1.ep), 0);
  cr_assert_eq(memcmp(&o1, &o3, sizeof o1), 0);
  mt_trial_life_free(l);
  mt_patient_free(pt);
  mt_protocol_free(p);
}

/* No meals, the patient at its steady state: nothing ever changes. */
Test(trial_run, a_fasting_patient_at_steady_state_stays_in_range)
{
  mt_protocol *p = protocol(1, "\"meals\": []", STANDARD);
  mt_patient *pt = patient("adult#001");
  mt_trial_day_plan *l;
  cr_assert_eq(mt_trial_life(p, pt, 0, &l, err, sizeof err), 0, "%s", err);
  cr_assert_eq(l->n_event, 0);
  mt_trial_outcome o;
  cr_assert_eq(mt_trial_run_arm(p, 0, pt, l, &o, err, sizeof err), 0, "%s", err);
  cr_assert_eq(o.ep[MT_EP_TIR], 100);
  cr_assert_eq(o.ep[MT_EP_TBR70], 0);
  cr_assert_eq(o.ep[MT_EP_TAR180], 0);
  cr_assert_eq(o.hypo_events, 0);
  cr_assert_eq(o.ep[MT_EP_HYPO_PER_WEEK], 0);
  cr_assert_eq(o.scored_min, 1440 - MT_TRIAL_WARMUP_MIN);
  double tdi = basal_u_per_h(pt) * 24;
  cr_assert(fabs(o.ep[MT_EP_TDI] - tdi) <= 1e-12 * tdi, "%g vs %g",
            o.ep[MT_EP_TDI], tdi);
  cr_assert(o.ep[MT_EP_CV] < 1e-3, "CV %g %%", o.ep[MT_EP_CV]);
  mt_trial_life_free(l);
  mt_patient_free(pt);
  mt_protocol_free(p);
}

Test(trial_run, standard_bolus_counts_correction_and_insulin_on_board)
{
  mt_trial_arm a = {.kind = MT_ARM_STANDARD, .target_mgdl = 120,
                    .correction_above_mgdl = 150, .use_iob = 1};
  /* 4 U at 0 and 2 U at 60 min, seen at 120 min with a 240-min linear
  ** decay: 4 x (1 - 120/240) + 2 x (1 - 60/240) = 2 + 1.5 */
  double t[2] = {0, 60}, u[2] = {4, 2};
  double iob = mt_trial_iob(t, u, 2, 120);
  cr_assert_float_eq(iob, 3.5, 1e-12);
  cr_assert_eq(mt_trial_iob(t, u, 2, 300), 0);
  cr_assert_float_eq(mt_trial_iob(t, u, 2, 30), 4 * 0.875 + 2, 1e-12);
  /* 60 g / 10 + (200 - 120) / 40 - 3.5 = 6 + 2 - 3.5 */
  cr_assert_float_eq(mt_trial_standard_bolus(&a, 60, 10, 40, 200, iob), 4.5,
                     1e-12);
  /* at or below 150 mg/dL no correction, and none downwards */
  cr_assert_float_eq(mt_trial_standard_bolus(&a, 60, 10, 40, 150, iob), 2.5,
                     1e-12);
  cr_assert_float_eq(mt_trial_standard_bolus(&a, 60, 10, 40, 90, 0), 6, 1e-12);
  cr_assert_float_eq(mt_trial_standard_bolus(&a, 60, 10, 40, NAN, 0), 6, 1e-12);
  cr_assert_eq(mt_trial_standard_bolus(&a, 20, 10, 40, 100, iob), 0);
  a.use_iob = 0;
  cr_assert_float_eq(mt_trial_standard_bolus(&a, 60, 10, 40, 200, iob), 8,
                     1e-12);
}

/* In a run: one meal counted exactly, no correction possible, no IOB. */
Test(trial_run, the_standard_arm_gives_the_carb_ratio_bolus_in_a_run)
{
  mt_protocol *p = protocol(
      1, "\"meals\": [{\"time\": \"08:00\", \"grams\": 60}]",
      "{\"name\": \"std\", \"kind\": \"standard\", \"correction_above_mgdl\":"
      " 400, \"iob\": false}");
  mt_patient *pt = patient("adult#002");
  mt_trial_day_plan *l;
  cr_assert_eq(mt_trial_life(p, pt, 0, &l, err, sizeof err), 0, "%s", err);
  cr_assert_eq(l->n_event, 1);
  cr_assert_eq(l->event[0].t_min, 480);
  cr_assert_eq(l->event[0].announced_g, 60);
  mt_trial_outcome o;
  cr_assert_eq(mt_trial_run_arm(p, 0, pt, l, &o, err, sizeof err), 0, "%s", err);
  cr_assert_eq(o.boluses, 1);
  cr_assert_float_eq(o.bolus_u, 60 / pt->cr_g_per_u, 1e-12);
  cr_assert_float_eq(o.ep[MT_EP_TDI], basal_u_per_h(pt) * 24 + o.bolus_u,
                     1e-9);
  mt_trial_life_free(l);
  mt_patient_free(pt);
  mt_protocol_free(p);
}

/* adult#001 fasts at 138.6 mg/dL on its own basal: the PID, on noisy CGM,
** brings it to within 15 mg/dL of 120 without hypoglycaemia. */
Test(trial_run, pid_holds_a_fasting_patient_near_target)
{
  mt_protocol *p = protocol(1, "\"meals\": []", PID(0.02, 0.0001, 0.1));
  mt_patient *pt = patient("adult#001");
  mt_trial_day_plan *l;
  cr_assert_eq(mt_trial_life(p, pt, 0, &l, err, sizeof err), 0, "%s", err);
  mt_trial_outcome o;
  cr_assert_eq(mt_trial_run_arm(p, 0, pt, l, &o, err, sizeof err), 0, "%s", err);
  cr_assert(fabs(o.ep[MT_EP_MEAN] - 120) < 15, "mean %g", o.ep[MT_EP_MEAN]);
  cr_assert_eq(o.ep[MT_EP_TBR70], 0);
  cr_assert_eq(o.ep[MT_EP_TIR], 100);
  cr_assert(o.ep[MT_EP_TDI] > 0);
  mt_trial_life_free(l);
  mt_patient_free(pt);
  mt_protocol_free(p);
}

Test(trial_run, the_twin_arm_runs_a_day_with_finite_endpoints)
{
  mt_protocol *p = protocol(
      1, MEALS3 ", \"carb_count_error\": {\"sd\": 0.2}",
      "{\"name\": \"twin\", \"kind\": \"twin\", \"members\": 16,"
      " \"advisor\": {\"max_bolus_u\": 10, \"step_u\": 1}}");
  mt_patient *pt = patient("adult#003");
  mt_trial_day_plan *l;
  cr_assert_eq(mt_trial_life(p, pt, 0, &l, err, sizeof err), 0, "%s", err);
  mt_trial_outcome o;
  cr_assert_eq(mt_trial_run_arm(p, 0, pt, l, &o, err, sizeof err), 0, "%s", err);
  for (int e = 0; e < MT_N_ENDPOINT; e++)
    cr_assert(isfinite(o.ep[e]), "%s: %g", mt_endpoint_name(e), o.ep[e]);
  cr_assert_eq(o.meals, 3);
  cr_assert_eq(o.n_forecast, 3);
  cr_assert(o.forecast_mard_pct >= 0 && o.forecast_mard_pct < 100, "%g",
            o.forecast_mard_pct);
  cr_assert(o.bolus_u <= 3 * 10);
  mt_trial_life_free(l);
  mt_patient_free(pt);
  mt_protocol_free(p);
}

/* 200 minutes: 50 x 20, 100 x 10, 50 x 20, 100 x 20, 40 x 15, 150 x 105,
** 300 x 10 mg/dL. Below 54: 55 min in two events (the 10 min at 100 do not
** end the first); 70-180: 135 min; above 180 and 250: 10 min. Mean
** 24350 / 200 = 121.75; squared deviations sum to 721887.5. */
Test(trial_run, endpoints_of_a_trace_computed_by_hand)
{
  double bg[200];
  const double level[7] = {50, 100, 50, 100, 40, 150, 300};
  const int len[7] = {20, 10, 20, 20, 15, 105, 10};
  for (int s = 0, i = 0; s < 7; s++)
    for (int j = 0; j < len[s]; j++)
      bg[i++] = level[s];
  mt_trial_outcome o;
  cr_assert_eq(mt_trial_endpoints(bg, 200, 84, 2, &o), 0);
  cr_assert_float_eq(o.ep[MT_EP_TIR], 67.5, 1e-12);
  cr_assert_float_eq(o.ep[MT_EP_TBR70], 27.5, 1e-12);
  cr_assert_float_eq(o.ep[MT_EP_TBR54], 27.5, 1e-12);
  cr_assert_float_eq(o.ep[MT_EP_TAR180], 5, 1e-12);
  cr_assert_float_eq(o.ep[MT_EP_TAR250], 5, 1e-12);
  cr_assert_float_eq(o.ep[MT_EP_MEAN], 121.75, 1e-12);
  cr_assert_float_eq(o.ep[MT_EP_CV], 100 * sqrt(721887.5 / 199) / 121.75,
                     1e-10);
  cr_assert_float_eq(o.ep[MT_EP_GMI], 3.31 + 0.02392 * 121.75, 1e-12);
  cr_assert_eq(o.hypo_events, 2);
  cr_assert_float_eq(o.ep[MT_EP_HYPO_PER_WEEK], 2 / (200.0 / 10080), 1e-9);
  cr_assert_float_eq(o.ep[MT_EP_TDI], 42, 1e-12);
  /* 14 min below 54 is no event; 15 is one */
  for (int i = 0; i < 200; i++)
    bg[i] = i >= 50 && i < 64 ? 50 : 110;
  cr_assert_eq(mt_trial_endpoints(bg, 200, 0, 1, &o), 0);
  cr_assert_eq(o.hypo_events, 0);
  bg[64] = 53.9;
  cr_assert_eq(mt_trial_endpoints(bg, 200, 0, 1, &o), 0);
  cr_assert_eq(o.hypo_events, 1);
  cr_assert_eq(mt_trial_endpoints(bg, 1, 0, 1, &o), MT_EINVAL);
}

Test(trial_run, bad_arguments_are_refused)
{
  mt_protocol *p = protocol(1, "\"meals\": []", STANDARD);
  mt_patient *pt = patient("adult#001");
  mt_trial_day_plan *l = (mt_trial_day_plan *)&err;
  cr_assert_eq(mt_trial_life(p, pt, 10, &l, err, sizeof err), MT_EINVAL);
  cr_assert_null(l);
  cr_assert_eq(mt_trial_life(p, pt, 0, &l, err, sizeof err), 0);
  mt_trial_outcome o;
  cr_assert_eq(mt_trial_run_arm(p, 1, pt, l, &o, err, sizeof err), MT_EINVAL);
  pt->cr_g_per_u = NAN;
  cr_assert_eq(mt_trial_run_arm(p, 0, pt, l, &o, err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "arm std") && strstr(err, "CR"), "%s", err);
  mt_trial_life_free(l);
  mt_patient_free(pt);
  mt_protocol_free(p);
}

/* mt_trial_run_arm_many integrates the patients' courses together, four to
** a vector (include/medtwin/sim.h, mt_sim_run_stream), while each takes its
** own decisions: every outcome must be, bit for bit, the patient's alone. Ten
** patients of different days and meals, three days, snacks and missed
** boluses: pieces of every length finish in every order. */
Test(trial_run, a_batch_of_patients_gives_each_its_outcome_alone)
{
  mt_protocol *p = protocol(3, MEALS3 ", \"carb_count_error\": {\"sd\": 0.3},"
                            " \"snacks\": {\"per_day\": 1},"
                            " \"missed_bolus_probability\": 0.2",
                            STANDARD);
  enum { N = 10 };
  mt_patient *pt[N];
  mt_trial_day_plan *l[N];
  mt_trial_outcome alone[N], many[N];
  for (int i = 0; i < N; i++) {
    char name[32];
    snprintf(name, sizeof name, "adult#%03d", i + 1);
    pt[i] = patient(name);
    cr_assert_eq(mt_trial_life(p, pt[i], i, &l[i], err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(mt_trial_run_arm(p, 0, pt[i], l[i], &alone[i], err,
                                  sizeof err), 0, "%s", err);
  }
  cr_assert_eq(mt_trial_run_arm_many(p, 0, N, (const mt_patient *const *)pt,
                                     (const mt_trial_day_plan *const *)l,
                                     many, err, sizeof err), 0, "%s", err);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(memcmp(&alone[i], &many[i], sizeof alone[i]), 0,
                 "patient %d: TIR %.17g alone, %.17g in the batch", i,
                 alone[i].ep[MT_EP_TIR], many[i].ep[MT_EP_TIR]);
    cr_assert(alone[i].boluses > 0);
  }
  /* a batch of one, and the patients in another order */
  mt_trial_outcome one;
  cr_assert_eq(mt_trial_run_arm_many(p, 0, 1, (const mt_patient *const *)pt,
                                     (const mt_trial_day_plan *const *)l, &one,
                                     err, sizeof err), 0, "%s", err);
  cr_assert_eq(memcmp(&one, &alone[0], sizeof one), 0);
  mt_patient *rp[N];
  mt_trial_day_plan *rl[N];
  for (int i = 0; i < N; i++)
    rp[i] = pt[N - 1 - i], rl[i] = l[N - 1 - i];
  cr_assert_eq(mt_trial_run_arm_many(p, 0, N, (const mt_patient *const *)rp,
                                     (const mt_trial_day_plan *const *)rl,
                                     many, err, sizeof err), 0, "%s", err);
  for (int i = 0; i < N; i++)
    cr_assert_eq(memcmp(&alone[N - 1 - i], &many[i], sizeof many[i]), 0);
  for (int i = 0; i < N; i++) {
    mt_trial_life_free(l[i]);
    mt_patient_free(pt[i]);
  }
  mt_protocol_free(p);
}

/* A failure in a batch is the patient's: a patient without CR and CF
** cannot take the standard arm; its line names it, every outcome is zeroed. */
Test(trial_run, a_failing_patient_in_a_batch_is_named)
{
  mt_protocol *p = protocol(1, MEALS3, STANDARD);
  mt_patient *pt[3] = {patient("adult#001"), patient("adult#002"),
                       patient("adult#003")};
  pt[1]->cr_g_per_u = 0;
  mt_trial_day_plan *l[3];
  for (int i = 0; i < 3; i++)
    cr_assert_eq(mt_trial_life(p, pt[i], i, &l[i], err, sizeof err), 0);
  mt_trial_outcome o[3];
  memset(o, 0x55, sizeof o);
  int rc = mt_trial_run_arm_many(p, 0, 3, (const mt_patient *const *)pt,
                                 (const mt_trial_day_plan *const *)l, o, err,
                                 sizeof err);
  cr_assert_eq(rc, MT_EINVAL);
  cr_assert(strstr(err, "patient 1 (adult#002)") != NULL, "%s", err);
  cr_assert(strstr(err, "CR and CF") != NULL, "%s", err);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(o[i].ep[MT_EP_TIR], 0);
    mt_trial_life_free(l[i]);
    mt_patient_free(pt[i]);
  }
  mt_protocol_free(p);
}

/* What an arm did, recorded for the report, without changing what it did:
** the twin arm's extra forecasts draw on streams of their own. The record
** holds every reading, every bolus and a forecast per dosed meal. */
Test(trial_run, recording_an_arm_does_not_change_its_outcome)
{
  mt_protocol *p = protocol(
      1, MEALS3 ", \"carb_count_error\": {\"sd\": 0.2}",
      STANDARD ", {\"name\": \"twin\", \"kind\": \"twin\", \"members\": 16,"
      " \"advisor\": {\"max_bolus_u\": 10, \"step_u\": 1}}");
  mt_patient *pt = patient("adult#005");
  mt_trial_day_plan *l;
  cr_assert_eq(mt_trial_life(p, pt, 0, &l, err, sizeof err), 0, "%s", err);
  for (int a = 0; a < 2; a++) {
    mt_trial_outcome o1, o2;
    mt_trial_record *rec = NULL;
    cr_assert_eq(mt_trial_run_arm(p, a, pt, l, &o1, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(mt_trial_run_arm_record(p, a, pt, l, &o2, &rec, err,
                                         sizeof err), 0, "%s", err);
    cr_assert_eq(memcmp(&o1, &o2, sizeof o1), 0, "arm %d", a);
    cr_assert_eq(rec->n_bg, 1440 - MT_TRIAL_WARMUP_MIN);
    cr_assert_eq(rec->n_cgm, 1440 / MT_TRIAL_CGM_EVERY_MIN + 1);
    cr_assert_eq(rec->n_bolus, o1.boluses);
    double sum = 0;
    for (int i = 0; i < rec->n_bolus; i++)
      sum += rec->bolus_u[i];
    cr_assert_float_eq(sum, o1.bolus_u, 1e-9);
    mt_trial_outcome o3 = {0};
    cr_assert_eq(mt_trial_endpoints(rec->bg_mgdl, rec->n_bg, o1.insulin_u, 1,
                                    &o3), 0);
    cr_assert_eq(o3.ep[MT_EP_TIR], o1.ep[MT_EP_TIR]);
    for (int i = 0; i < rec->n_cgm; i++)
      cr_assert(rec->cgm_mgdl[i] >= 39 && rec->cgm_mgdl[i] <= 401, "%g",
                rec->cgm_mgdl[i]);
    if (a == 1) {
      cr_assert_eq(rec->n_forecast, o1.meals);
      for (int i = 0; i < rec->n_forecast; i++)
        for (int h = 0; h < MT_TRIAL_REC_HORIZONS; h++)
          cr_assert(rec->forecast[i].p10[h] <= rec->forecast[i].p90[h]);
    } else {
      cr_assert_eq(rec->n_forecast, 0);
    }
    mt_trial_record_free(rec);
  }
  mt_trial_life_free(l);
  mt_patient_free(pt);
  mt_protocol_free(p);
}

/* The arm's readings are the course at their own times: without sensor
** noise, every 5-min reading of the standard and twin arms (whose course
** runs from meal to meal in one piece) equals the noise-free CGM of one
** independent run of the whole course (basal, the meals, the recorded
** boluses) clipped as the sensor clips, within 1e-3 mg/dL (the pieces'
** restarts change the integrator's steps, rtol = atol = 1e-8). */
Test(trial_run, readings_are_the_course_at_their_own_times, .timeout = 60)
{
  mt_protocol *p = protocol(
      2, MEALS3 ", \"carb_count_error\": {\"sd\": 0.2}, \"cgm_noise\": false",
      STANDARD ", {\"name\": \"twin\", \"kind\": \"twin\", \"members\": 16,"
      " \"advisor\": {\"max_bolus_u\": 10, \"step_u\": 1}}");
  mt_patient *pt = patient("adult#006");
  const mt_model *m = pt->model;
  mt_trial_day_plan *l;
  cr_assert_eq(mt_trial_life(p, pt, 0, &l, err, sizeof err), 0, "%s", err);
  int cho = mt_var_index(m->input, m->n_input, "CHO");
  int ins = mt_var_index(m->input, m->n_input, "insulin");
  int cgm = mt_var_index(m->obs, m->n_obs, "CGM");
  for (int a = 0; a < 2; a++) {
    mt_trial_outcome o;
    mt_trial_record *rec;
    cr_assert_eq(mt_trial_run_arm_record(p, a, pt, l, &o, &rec, err,
                                         sizeof err), 0, "%s", err);
    mt_schedule *sch;
    cr_assert_eq(mt_schedule_create(m->n_input, &sch), 0);
    cr_assert_eq(mt_schedule_level(sch, ins, 0, basal_u_per_h(pt) / 60), 0);
    for (int i = 0; i < l->n_event; i++) {
      const mt_trial_event *e = &l->event[i];
      cr_assert_eq(mt_schedule_pulse(sch, cho, e->t_min,
                                     e->t_min + e->duration_min,
                                     e->grams / e->duration_min,
                                     MT_PULSE_BITES), 0);
    }
    for (int i = 0; i < rec->n_bolus; i++)
      cr_assert_eq(mt_schedule_pulse(sch, ins, rec->bolus_t_min[i],
                                     rec->bolus_t_min[i] + 1, rec->bolus_u[i],
                                     0), 0);
    int n = 2 * 1440 / 5 + 1;
    cr_assert_eq(rec->n_cgm, n);
    mt_series s;
    cr_assert_eq(mt_series_alloc(&s, m, n), 0);
    for (int k = 0; k < n; k++)
      s.t[k] = 5.0 * k;
    mt_sim *sim;
    cr_assert_eq(mt_sim_create(m, NULL, &sim), 0);
    cr_assert_eq(mt_sim_run(sim, pt->param, NULL, NULL, sch, 0, 2 * 1440, &s),
                 0, "%s", mt_sim_errmsg(sim));
    double lo = 1e9, hi = -1e9;
    for (int k = 0; k < n; k++) {
      double want = mt_cgm_reading(&l->sensor, s.y[(size_t)k * m->n_obs + cgm],
                                   0);
      cr_assert(fabs(rec->cgm_mgdl[k] - want) <= 1e-3, "arm %d, reading at "
                "%d min: %.6f, the course %.6f", a, 5 * k, rec->cgm_mgdl[k],
                want);
      lo = fmin(lo, want), hi = fmax(hi, want);
    }
    cr_assert_gt(hi - lo, 50, "the course must move: %g to %g", lo, hi);
    mt_sim_free(sim);
    mt_series_clear(&s);
    mt_schedule_free(sch);
    mt_trial_record_free(rec);
  }
  mt_trial_life_free(l);
  mt_patient_free(pt);
  mt_protocol_free(p);
}
