/*
** Cardiovascular replay and its evaluation (include/medtwin/cvreplay.h):
** the stream's rows, order and counts (worked out by hand from the
** schedule below), its noise, the truth's contractility drift against its
** closed form, determinism, bad settings, and the twin scored beside the
** open-loop prior on a short replay.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/cvreplay.h"
#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "medtwin/twin_spec.h"

static mt_cvreplay *make(int hours, uint64_t seed)
{
  mt_cvreplay_config c;
  mt_cvreplay_config_init(&c);
  c.hours = hours;
  c.seed = seed;
  char err[MT_ERRMSG_MAX];
  mt_cvreplay *r = NULL;
  int rc = mt_cvreplay_generate(&c, &r, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  return r;
}

/*
** 26 h, BP every 15 min: 104 BP times x (sbp, dbp, map, hr) = 416 rows; the
** daily rows of day 0 (weight 07:00 = 420, EF 10:00 = 600, CO 14:00 = 840;
** day 1's come after 1,560 min); doses at 480 (furosemide, metoprolol) and
** 1,200 (metoprolol): 3. Total 422. At 480 the BP rows come first.
*/
Test(cvreplay, stream_rows_order_and_counts)
{
  mt_cvreplay *r = make(26, 1);
  const mt_stream *s = mt_cvreplay_stream(r);
  cr_assert_eq(s->n, 422);
  int n[MT_DATA_NKIND] = {0};
  for (int i = 0; i < s->n; i++) {
    n[s->d[i].kind]++;
    cr_assert_eq(s->d[i].line, i + 2);
    if (i)
      cr_assert(s->d[i].t_min >= s->d[i - 1].t_min, "row %d out of order", i);
  }
  cr_assert_eq(n[MT_DATA_MAP], 104);
  cr_assert_eq(n[MT_DATA_SBP], 104);
  cr_assert_eq(n[MT_DATA_DBP], 104);
  cr_assert_eq(n[MT_DATA_HR], 104);
  cr_assert_eq(n[MT_DATA_WEIGHT], 1);
  cr_assert_eq(n[MT_DATA_EF], 1);
  cr_assert_eq(n[MT_DATA_CO], 1);
  cr_assert_eq(n[MT_DATA_DIURETIC], 1);
  cr_assert_eq(n[MT_DATA_BETA_BLOCKER], 2);
  int at480 = -1;
  for (int i = 0; i < s->n && at480 < 0; i++)
    if (s->d[i].t_min == 480)
      at480 = i;
  cr_assert_eq(s->d[at480].kind, MT_DATA_SBP);
  cr_assert_eq(s->d[at480 + 4].kind, MT_DATA_DIURETIC);
  cr_assert_eq(s->d[at480 + 4].value, 40);
  cr_assert_eq(s->d[at480 + 5].kind, MT_DATA_BETA_BLOCKER);
  cr_assert_eq(s->d[at480 + 5].value, 25);
  for (int i = 0; i < s->n; i++)
    cr_assert_null(mt_datum_check(&s->d[i]), "row %d implausible: %s", i,
                   mt_datum_check(&s->d[i]));
  mt_cvreplay_free(r);
}

/* The MAP readings' errors: N(0, 5^2) rounded to 1 mmHg (variance 25 +
** 1/12). Over 104 readings the mean lies within 3.5 standard errors
** (3.5 x 5 / sqrt(104) = 1.72 mmHg) and the SD within [4.0, 6.06] (the
** 0.1 % and 99.9 % points of a chi-square with 103 degrees of freedom
** give 0.80 and 1.21 times 5.01). */
Test(cvreplay, map_reading_noise)
{
  mt_cvreplay *r = make(26, 7);
  const mt_stream *s = mt_cvreplay_stream(r);
  const double *map;
  int n;
  mt_cvreplay_truth(r, NULL, &map, NULL, NULL, NULL, &n);
  double sum = 0, ss = 0;
  int k = 0;
  for (int i = 0; i < s->n; i++)
    if (s->d[i].kind == MT_DATA_MAP) {
      double e = s->d[i].value - map[(int)s->d[i].t_min];
      sum += e, ss += e * e, k++;
    }
  double mean = sum / k, sd = sqrt((ss - k * mean * mean) / (k - 1));
  cr_assert_eq(k, 104);
  cr_assert(fabs(mean) < 1.72, "mean error %g", mean);
  cr_assert(sd > 4.0 && sd < 6.06, "error SD %g", sd);
  mt_cvreplay_free(r);
}

/* d f_Ees / dt = drift_Ees f_Ees / 1440 from f_Ees = 1, so the effective
** contractility is Ees_lvf exp(drift_Ees t / 1440): checked every hour to
** 1e-6 relative (the integrator's tolerance is 1e-8). */
Test(cvreplay, contractility_drift_closed_form)
{
  mt_cvreplay *r = make(48, 1);
  const mt_model *m = mt_model_find("circulation_beatavg");
  mt_patient *pt;
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_patient_load(m, "adult#001", &pt, err, sizeof err), 0);
  double e0 = pt->param[mt_var_index(m->param, m->n_param, "Ees_lvf")];
  const double *t, *ees;
  int n;
  mt_cvreplay_truth(r, &t, NULL, NULL, NULL, &ees, &n);
  cr_assert_eq(n, 48 * 60 + 1);
  for (int i = 0; i < n; i += 60) {
    double want = e0 * exp(-0.05 * t[i] / 1440);
    cr_assert(fabs(ees[i] / want - 1) < 1e-6, "t %g: %g, want %g", t[i],
              ees[i], want);
  }
  mt_patient_free(pt);
  mt_cvreplay_free(r);
}

/* Readings are keyed by time, not by length: the first 10 h of a 26-h
** replay are the 10-h replay's rows bit for bit; another seed differs. */
Test(cvreplay, deterministic_prefix)
{
  mt_cvreplay *a = make(10, 3), *b = make(26, 3), *c = make(10, 4);
  const mt_stream *sa = mt_cvreplay_stream(a), *sb = mt_cvreplay_stream(b),
                  *sc = mt_cvreplay_stream(c);
  int k = 0;
  while (k < sa->n && sa->d[k].t_min < 600)
    k++;
  cr_assert(k > 100);
  cr_assert_eq(memcmp(sa->d, sb->d, (size_t)k * sizeof *sa->d), 0);
  int differ = 0;
  for (int i = 0; i < k; i++)
    differ += sa->d[i].value != sc->d[i].value;
  cr_assert(differ > k / 4, "seeds 3 and 4 share %d of %d rows", k - differ,
            k);
  mt_cvreplay_free(a), mt_cvreplay_free(b), mt_cvreplay_free(c);
}

Test(cvreplay, bad_settings)
{
  mt_cvreplay_config c;
  char err[MT_ERRMSG_MAX];
  mt_cvreplay *r = (mt_cvreplay *)1;
  mt_cvreplay_config_init(&c);
  c.hours = 0;
  cr_assert_eq(mt_cvreplay_generate(&c, &r, err, sizeof err), MT_EINVAL);
  cr_assert_null(r);
  cr_assert(strstr(err, "hours"), "%s", err);
  mt_cvreplay_config_init(&c);
  c.bp_every_min = 7.5;
  cr_assert_eq(mt_cvreplay_generate(&c, &r, err, sizeof err), MT_EINVAL);
  mt_cvreplay_config_init(&c);
  c.patient = "adult#999";
  cr_assert_eq(mt_cvreplay_generate(&c, &r, err, sizeof err), MT_ENOTFOUND);
  cr_assert_null(r);
}

/*
** A twin that never saw the patient (excluded from the prior) on 12 h of
** vitals: its contractility estimate must end closer to the truth than the
** prior run open loop, whose estimate is the prior's, and its 15-min MAP
** forecasts must beat the open loop's.
*/
Test(cvreplay, twin_beats_open_loop, .timeout = 120)
{
  mt_cvreplay *r = make(12, 1);
  mt_twin_config tc;
  mt_twin_config_init(&tc);
  tc.model = "circulation_beatavg";
  tc.group = "adult";
  mt_twin_config_use_spec(&tc);
  tc.exclude = "adult#001";
  tc.members = 32;
  mt_cveval e;
  char err[MT_ERRMSG_MAX];
  cr_assert_eq(mt_cveval_run(r, &tc, &e, err, sizeof err), 0, "%s", err);
  cr_assert(e.n[0] > 30, "%d forecasts", e.n[0]);
  cr_assert(e.rmse[MT_CVEVAL_TWIN][0] < e.rmse[MT_CVEVAL_OPEN][0],
            "15-min MAP RMSE twin %g, open loop %g", e.rmse[0][0],
            e.rmse[1][0]);
  cr_assert(fabs(e.ees_end_err[0]) < fabs(e.ees_end_err[1]),
            "Ees error at the end: twin %g %%, open loop %g %%",
            e.ees_end_err[0], e.ees_end_err[1]);
  mt_cvreplay_free(r);
}
