/*
** What if and the bolus advisor (include/medtwin/whatif.h) on twins that
** follow generated days of held-out virtual patients: candidates leave the
** twin as it was, see common random numbers, move glucose the way the
** physiology says, rank by the documented keys, and the advisor never
** recommends a bolus whose predicted P(< 70 mg/dL within 4 h) exceeds its
** bound.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/replay.h"
#include "medtwin/whatif.h"

/* A twin (16 members, prior without the patient) fed the patient's
** generated day up to and including t_at. */
static mt_twin *twin_at(const char *patient, uint64_t seed, double t_at)
{
  char err[MT_ERRMSG_MAX], group[32];
  mt_replay_config rc;
  mt_replay_config_init(&rc);
  rc.patient = patient, rc.seed = seed;
  mt_replay *rp;
  cr_assert_eq(mt_replay_generate(&rc, &rp, err, sizeof err), 0, "%s", err);
  snprintf(group, sizeof group, "%.*s", (int)strcspn(patient, "#"), patient);
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  cfg.group = group, cfg.exclude = patient, cfg.seed = seed;
  cfg.members = 16;
  mt_twin *tw;
  cr_assert_eq(mt_twin_create(&cfg, &tw, err, sizeof err), 0, "%s", err);
  const mt_stream *st = mt_replay_stream(rp);
  for (int i = 0; i < st->n && st->d[i].t_min <= t_at; i++) {
    const char *why;
    cr_assert_eq(mt_twin_ingest(tw, &st->d[i], &why), 0);
  }
  mt_replay_free(rp);
  return tw;
}

static mt_whatif one(mt_twin *tw, mt_action a, double meal_g)
{
  char err[MT_ERRMSG_MAX];
  mt_whatif r;
  cr_assert_eq(mt_whatif_run(tw, &a, 1, meal_g, &r, err, sizeof err), 0,
               "%s", err);
  return r;
}

/* Trying actions changes nothing: the twin's next forecast is bit-identical
** with and without the what-if in between, and a candidate run twice gives
** the same result (its random numbers do not depend on the call). */
Test(whatif, leaves_the_twin_unchanged_and_repeats_exactly, .timeout = 60)
{
  mt_twin *a = twin_at("adult#003", 4, 300), *b = twin_at("adult#003", 4, 300);
  const mt_action acts[3] = {{MT_ACTION_BOLUS, 3, 0},
                             {MT_ACTION_CARBS, 15, 0},
                             {MT_ACTION_TEMP_BASAL, 50, 60}};
  mt_whatif r1[3], r2[3];
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_whatif_run(a, acts, 3, 0, r1, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(mt_whatif_run(a, acts, 3, 0, r2, err, sizeof err), 0);
  cr_assert(memcmp(r1, r2, sizeof r1) == 0);
  const double h[2] = {30, 120};
  mt_twin_forecast fa[2], fb[2];
  cr_assert_eq(mt_twin_forecast_at(a, h, 2, fa), 0);
  cr_assert_eq(mt_twin_forecast_at(b, h, 2, fb), 0);
  cr_assert(memcmp(fa, fb, sizeof fa) == 0);
  mt_twin_free(a);
  mt_twin_free(b);
}

/*
** The physiology's direction, on the same members (common random numbers
** make these comparisons exact rather than statistical): more insulin
** lowers mean glucose and does not lower P(<70); carbs raise it; no basal
** for 2 h leaves glucose higher than double basal.
*/
Test(whatif, actions_move_glucose_the_right_way, .timeout = 60)
{
  mt_twin *tw = twin_at("adolescent#002", 5, 600);
  mt_whatif none = one(tw, (mt_action){MT_ACTION_NOTHING, 0, 0}, 0);
  mt_whatif b2 = one(tw, (mt_action){MT_ACTION_BOLUS, 2, 0}, 0);
  mt_whatif b6 = one(tw, (mt_action){MT_ACTION_BOLUS, 6, 0}, 0);
  mt_whatif c15 = one(tw, (mt_action){MT_ACTION_CARBS, 15, 0}, 0);
  mt_whatif off = one(tw, (mt_action){MT_ACTION_TEMP_BASAL, 0, 120}, 0);
  mt_whatif dbl = one(tw, (mt_action){MT_ACTION_TEMP_BASAL, 200, 120}, 0);
  cr_assert_lt(b2.mean_mgdl, none.mean_mgdl);
  cr_assert_lt(b6.mean_mgdl, b2.mean_mgdl);
  cr_assert_geq(b6.p_below70, b2.p_below70);
  cr_assert_gt(c15.mean_mgdl, none.mean_mgdl);
  cr_assert_gt(off.mean_mgdl, dbl.mean_mgdl);
  /* outcomes are well-formed: fractions in [0, 1], quantiles ordered,
  ** 48 samples every 5 min after the twin's time */
  const mt_whatif *all[] = {&none, &b2, &b6, &c15, &off, &dbl};
  for (int j = 0; j < 6; j++) {
    const mt_whatif *r = all[j];
    cr_assert(r->tir >= 0 && r->tir <= 1 && r->p_below54 <= r->p_below70);
    cr_assert_eq(r->t_min[0], mt_twin_time(tw) + 5);
    cr_assert_eq(r->t_min[MT_WHATIF_NT - 1], mt_twin_time(tw) + 240);
    for (int k = 0; k < MT_WHATIF_NT; k++)
      for (int q = 0; q < 4; q++)
        cr_assert_leq(r->q[k][q], r->q[k][q + 1]);
  }
  cr_assert_not_null(strstr(b2.reason, "2 U bolus: TIR"));
  mt_twin_free(tw);
}

/* Ranking: within the 5 % bound first, then time in range, then P(<54). */
Test(whatif, ranking_follows_its_keys)
{
  mt_whatif r[5];
  memset(r, 0, sizeof r);
  const double tir[5] = {0.9, 0.5, 0.8, 0.8, 0.95};
  const double p70[5] = {0.10, 0.0, 0.02, 0.02, 0.06};
  const double p54[5] = {0.0, 0.0, 0.01, 0.0, 0.0};
  for (int k = 0; k < 5; k++)
    r[k].tir = tir[k], r[k].p_below70 = p70[k], r[k].p_below54 = p54[k],
    r[k].mean_mgdl = k;
  mt_whatif_rank(r, 5);
  /* within bound: (0.8, p54 0) id 3, (0.8, p54 .01) id 2, (0.5) id 1; then
  ** outside: 0.95 id 4, 0.9 id 0 */
  const double want[5] = {3, 2, 1, 4, 0};
  for (int k = 0; k < 5; k++)
    cr_assert_eq(r[k].mean_mgdl, want[k], "rank %d", k);
}

/*
** The advisor's guarantee on a set of synthetic situations (patients of all
** three groups; night, before breakfast, after lunch, evening; 30-90 g): the
** recommended bolus has predicted P(<70) within the bound whenever the bound
** can be met, is otherwise no bolus with the failure reported, and has the
** highest TIR among the candidates within the bound.
*/
Test(whatif, advisor_never_exceeds_its_hypoglycaemia_bound, .timeout = 120)
{
  const char *pt[3] = {"adult#001", "adolescent#004", "child#003"};
  const double at[4] = {180, 400, 840, 1200}, carbs[3] = {30, 60, 90};
  int n_sit = 0, n_met = 0, n_bolus = 0;
  for (int p = 0; p < 3; p++)
    for (int a = 0; a < 4; a++) {
      mt_twin *tw = twin_at(pt[p], 9, at[a]);
      for (int c = 0; c < 3; c++) {
        mt_whatif best, cand[64];
        int met, nc;
        char err[MT_ERRMSG_MAX];
        cr_assert_eq(mt_whatif_advise(tw, carbs[c], 0.05, 15, 0.5, &best,
                                      &met, cand, 64, &nc, err, sizeof err),
                     0, "%s", err);
        cr_assert_eq(nc, 31);
        n_sit++;
        if (met) {
          n_met++;
          cr_assert_leq(best.p_below70, 0.05, "%s at %g, %g g", pt[p], at[a],
                        carbs[c]);
          for (int k = 0; k < nc; k++)
            if (cand[k].p_below70 <= 0.05)
              cr_assert_leq(cand[k].tir, best.tir);
          n_bolus += best.action.kind == MT_ACTION_BOLUS;
        } else {
          cr_assert_eq(best.action.kind, MT_ACTION_NOTHING);
          for (int k = 0; k < nc; k++)
            cr_assert_gt(cand[k].p_below70, 0.05);
        }
      }
      mt_twin_free(tw);
    }
  cr_assert_eq(n_sit, 36);
  /* the test must exercise recommendations, not only refusals */
  cr_assert_gt(n_met, 18, "bound met in %d of %d", n_met, n_sit);
  cr_assert_gt(n_bolus, 9, "a bolus recommended in %d", n_bolus);
}

/* Bad actions are refused with the field named; nothing runs. */
Test(whatif, invalid_actions_are_refused)
{
  const mt_action bad[4] = {{MT_ACTION_BOLUS, 40, 0},
                            {MT_ACTION_CARBS, 0, 0},
                            {MT_ACTION_TEMP_BASAL, 50, 10},
                            {(mt_action_kind)9, 1, 0}};
  const char *want[4] = {"amount", "amount", "duration_min", "type"};
  for (int k = 0; k < 4; k++) {
    const char *why = mt_action_check(&bad[k]);
    cr_assert_not_null(why);
    cr_assert_not_null(strstr(why, want[k]), "%s", why);
  }
  cr_assert_null(mt_action_check(&(mt_action){MT_ACTION_TEMP_BASAL, 0, 30}));
  cr_assert_null(mt_action_check(&(mt_action){MT_ACTION_BOLUS, 25, 0}));
}

/* The advisor over a shorter horizon judges each candidate on the first
** samples only: over 240 min it is the 4-h advisor bit for bit; over
** 60 min, a member's lowest glucose is taken over a subset of the samples,
** so no candidate's P(< 70) can be larger, and the largest bolus (15 U for
** 30 g, an overdose) shows its hypoglycaemia later than 1 h. */
Test(whatif, the_advisor_horizon_is_the_window_judged, .timeout = 60)
{
  mt_twin *tw = twin_at("adult#002", 9, 400);
  mt_whatif b4, bh, c4[64], ch[64], c1[64], b1;
  int m4, mh, m1, n4, nh, n1;
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_whatif_advise(tw, 30, 0.05, 15, 0.5, &b4, &m4, c4, 64, &n4,
                                err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_whatif_advise_over(tw, 30, 0.05, 15, 0.5, 240, &bh, &mh, ch,
                                     64, &nh, err, sizeof err), 0, "%s", err);
  cr_assert_eq(nh, n4);
  cr_assert_eq(mh, m4);
  cr_assert_eq(memcmp(ch, c4, (size_t)n4 * sizeof *c4), 0);
  cr_assert_eq(mt_whatif_advise_over(tw, 30, 0.05, 15, 0.5, 60, &b1, &m1, c1,
                                     64, &n1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(n1, n4);
  int fewer = 0;
  for (int k = 0; k < n1; k++) {
    cr_assert_leq(c1[k].p_below70, c4[k].p_below70, "candidate %d", k);
    fewer += c1[k].p_below70 < c4[k].p_below70;
  }
  cr_assert_gt(c4[n4 - 1].p_below70, 0.5, "15 U for 30 g: %g",
               c4[n4 - 1].p_below70);
  cr_assert_gt(fewer, 0, "the 1-h window saw every low the 4-h one saw");
  cr_assert_eq(mt_whatif_advise_over(tw, 30, 0.05, 15, 0.5, 4, &b1, &m1, c1,
                                     64, &n1, err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "horizon of 5 to 240 min") != NULL, "%s", err);
  mt_twin_free(tw);
}
