/*
** Replay: the life of a virtual patient (meal windows, sizes, durations,
** misjudged announcements, carb-ratio boluses, hidden snacks), the stream a
** twin receives (order, counts, the docs/stream.md CSV round trip, the
** plausibility check) and the truth (steady start, finite glucose, sensor
** clip range), deterministic for a seed. Specification: include/medtwin/replay.h.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/replay.h"
#include "medtwin/stream.h"

static mt_replay *make(int days, uint64_t seed, const char *sensor)
{
  mt_replay_config cfg;
  mt_replay_config_init(&cfg);
  cfg.days = days;
  cfg.seed = seed;
  if (sensor)
    cfg.sensor = sensor;
  char err[MT_ERRMSG_MAX];
  mt_replay *r = NULL;
  int rc = mt_replay_generate(&cfg, &r, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_not_null(r);
  return r;
}

/* The whole output as text: stream CSV, then truth CSV. */
static char *dump(const mt_replay *r, size_t *len)
{
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  cr_assert_not_null(f);
  cr_assert_eq(mt_replay_write_stream(mt_replay_stream(r), f), 0);
  cr_assert_eq(mt_replay_write_truth(r, f), 0);
  fclose(f);
  return buf;
}

Test(replay, defaults)
{
  mt_replay_config cfg;
  mt_replay_config_init(&cfg);
  cr_expect_str_eq(cfg.patient, "adult#003");
  cr_expect_str_eq(cfg.sensor, "GuardianRT");
  cr_expect_eq(cfg.days, 1);
}

Test(replay, same_seed_same_output_other_seed_differs)
{
  mt_replay *a = make(2, 7, NULL), *b = make(2, 7, NULL), *c = make(2, 8, NULL);
  size_t la, lb, lc;
  char *ta = dump(a, &la), *tb = dump(b, &lb), *tc = dump(c, &lc);
  cr_assert_eq(la, lb);
  cr_expect_eq(memcmp(ta, tb, la), 0);
  cr_expect(la != lc || memcmp(ta, tc, la) != 0);
  const mt_stream *sa = mt_replay_stream(a), *sb = mt_replay_stream(b);
  cr_assert_eq(sa->n, sb->n);
  for (int i = 0; i < sa->n; i++) {
    cr_expect_eq(sa->d[i].t_min, sb->d[i].t_min);
    cr_expect_eq(sa->d[i].kind, sb->d[i].kind);
    cr_expect_eq(sa->d[i].value, sb->d[i].value);
  }
  const double *bga, *bgb, *bgc;
  int n;
  mt_replay_truth(a, NULL, &bga, NULL, NULL, &n);
  mt_replay_truth(b, NULL, &bgb, NULL, NULL, NULL);
  mt_replay_truth(c, NULL, &bgc, NULL, NULL, NULL);
  cr_expect_eq(memcmp(bga, bgb, (size_t)n * sizeof *bga), 0);
  cr_expect(memcmp(bga, bgc, (size_t)n * sizeof *bga) != 0);
  free(ta);
  free(tb);
  free(tc);
  mt_replay_free(a);
  mt_replay_free(b);
  mt_replay_free(c);
}

/* Day d's life depends on (seed, d) only, not on how many days are asked. */
Test(replay, a_day_does_not_depend_on_the_length_of_the_run)
{
  mt_replay *a = make(1, 11, NULL), *b = make(3, 11, NULL);
  const mt_replay_meal *ma, *mb;
  int na = mt_replay_meals(a, &ma);
  cr_assert_geq(mt_replay_meals(b, &mb), na);
  for (int i = 0; i < na; i++) {
    cr_expect_eq(ma[i].t_min, mb[i].t_min, "meal %d", i);
    cr_expect_eq(ma[i].grams, mb[i].grams, "meal %d", i);
    cr_expect_eq(ma[i].duration_min, mb[i].duration_min, "meal %d", i);
    cr_expect_eq(ma[i].announced_g, mb[i].announced_g, "meal %d", i);
    cr_expect_eq(ma[i].bolus_u, mb[i].bolus_u, "meal %d", i);
    cr_expect_eq(ma[i].snack, mb[i].snack, "meal %d", i);
  }
  mt_replay_free(a);
  mt_replay_free(b);
}

static void check_meal(const mt_replay_meal *m, double cr, int *slot_count)
{
  static const double win[3][2] = {{390, 510}, {690, 810}, {1080, 1200}};
  static const double g[3][2] = {{30, 70}, {50, 100}, {60, 110}};
  double clock = fmod(m->t_min, 1440);
  cr_expect_eq(m->t_min, floor(m->t_min), "whole minutes");
  if (m->snack) {
    cr_expect(clock >= 870 && clock <= 1020, "snack at %g", clock);
    cr_expect(m->grams >= 10 && m->grams <= 30);
    cr_expect_eq(m->duration_min, 5);
    slot_count[3]++;
    return;
  }
  int k = clock < 600 ? 0 : clock < 1000 ? 1 : 2;
  slot_count[k]++;
  cr_expect(clock >= win[k][0] && clock <= win[k][1], "meal at %g", clock);
  cr_expect(m->grams >= g[k][0] && m->grams <= g[k][1], "%g g", m->grams);
  cr_expect(m->duration_min >= 10 && m->duration_min <= 20);
  cr_expect_eq(m->duration_min, floor(m->duration_min));
  double ratio = m->announced_g / m->grams;
  cr_expect(ratio >= 0.7 && ratio <= 1.3, "ratio %g", ratio);
  cr_expect(fabs(m->bolus_u - m->announced_g / cr) <= 1e-12 * m->bolus_u);
}

Test(replay, three_meals_a_day_in_their_windows)
{
  const int days = 3;
  mt_replay *r = make(days, 5, NULL);
  const mt_replay_meal *m;
  int n = mt_replay_meals(r, &m), count[4] = {0};
  double cr = mt_replay_patient(r)->cr_g_per_u;
  for (int i = 0; i < n; i++) {
    check_meal(&m[i], cr, count);
    if (i > 0)
      cr_expect_gt(m[i].t_min, m[i - 1].t_min, "sorted by start");
  }
  for (int k = 0; k < 3; k++)
    cr_expect_eq(count[k], days, "slot %d", k);
  cr_expect_eq(n, 3 * days + count[3]);
  mt_replay_free(r);
}

/* About half the days have a snack: over 200 days, 100 +- 5 sd. */
Test(replay, snacks_on_about_half_the_days)
{
  mt_replay *r = make(200, 3, NULL);
  const mt_replay_meal *m;
  int n = mt_replay_meals(r, &m), snacks = 0;
  for (int i = 0; i < n; i++)
    snacks += m[i].snack;
  cr_expect(snacks > 70 && snacks < 130, "%d snacks", snacks);
  mt_replay_free(r);
}

/* Basal first, then readings every 5 min (days * 288 + 1), each announced
** meal as carbs then bolus at its start; snacks absent; times ordered. */
Test(replay, stream_holds_readings_announced_meals_and_basal)
{
  const int days = 3;
  mt_replay *r = make(days, 5, NULL);
  const mt_stream *s = mt_replay_stream(r);
  const mt_replay_meal *m;
  int nm = mt_replay_meals(r, &m), n_cgm = 0, j = 0;
  cr_assert_eq(s->d[0].kind, MT_DATA_BASAL);
  cr_expect_eq(s->d[0].t_min, 0);
  cr_expect_eq(s->d[0].value, mt_replay_basal_u_per_h(r));
  cr_expect(s->d[0].value > 0);
  for (int i = 1; i < s->n; i++) {
    const mt_datum *d = &s->d[i];
    cr_expect_geq(d->t_min, s->d[i - 1].t_min);
    cr_expect_eq(d->line, i + 2);
    if (d->kind == MT_DATA_CGM) {
      cr_expect_eq(d->t_min, 5.0 * n_cgm++);
      continue;
    }
    while (j < nm && m[j].snack)
      j++;
    cr_assert_lt(j, nm);
    cr_assert_eq(d->kind, MT_DATA_CARBS);
    cr_assert_eq(s->d[i + 1].kind, MT_DATA_BOLUS);
    cr_expect_eq(d->t_min, m[j].t_min);
    cr_expect_eq(d->value, m[j].announced_g);
    cr_expect_eq(s->d[i + 1].t_min, m[j].t_min);
    cr_expect_eq(s->d[i + 1].value, m[j].announced_g /
                                    mt_replay_patient(r)->cr_g_per_u);
    i++, j++;
  }
  cr_expect_eq(n_cgm, days * 288 + 1);
  int announced = 0;
  for (int k = 0; k < nm; k++)
    announced += !m[k].snack;
  cr_expect_eq(announced, 3 * days);
  cr_expect_eq(s->n, 1 + days * 288 + 1 + 2 * announced);
  mt_replay_free(r);
}

Test(replay, stream_round_trips_through_the_csv_and_passes_the_check)
{
  mt_replay *r = make(2, 9, NULL);
  const mt_stream *s = mt_replay_stream(r);
  char *buf = NULL, err[MT_ERRMSG_MAX];
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_eq(mt_replay_write_stream(s, f), 0);
  fclose(f);
  cr_expect_eq(strncmp(buf, "t_min,kind,value\n0,basal,", 25), 0);
  mt_stream back;
  cr_assert_eq(mt_stream_parse(buf, len, "replay.csv", &back, err, sizeof err),
               0, "%s", err);
  cr_assert_eq(back.n, s->n);
  for (int i = 0; i < s->n; i++) {
    const mt_datum *a = &s->d[i], *b = &back.d[i];
    cr_expect_eq(a->kind, b->kind);
    cr_expect_eq(a->line, b->line);
    cr_expect_eq(a->t_min, b->t_min);
    cr_expect(fabs(a->value - b->value) <= 1e-9 * fabs(a->value));
    cr_expect_null(mt_datum_check(b), "row %d: %s", i, mt_datum_check(b));
  }
  mt_stream_clear(&back);
  free(buf);
  mt_replay_free(r);
}

Test(replay, truth_starts_at_steady_state_and_stays_finite)
{
  mt_replay *r = make(3, 5, NULL);
  const double *t, *bg, *nf, *cgm;
  int n;
  cr_assert_eq(mt_replay_truth(r, &t, &bg, &nf, &cgm, &n), 0);
  cr_assert_eq(n, 3 * 1440 + 1);
  const mt_patient *pt = mt_replay_patient(r);
  const mt_model *m = pt->model;
  double gb = pt->param[mt_var_index(m->param, m->n_param, "Gb")];
  cr_expect(fabs(nf[0] - gb) <= 1e-9 * gb, "%g vs Gb %g", nf[0], gb);
  const mt_cgm_sensor *sen = mt_replay_sensor(r);
  cr_expect_str_eq(sen->name, "GuardianRT");
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++) {
    cr_assert_eq(t[i], i);
    cr_assert(isfinite(bg[i]) && isfinite(nf[i]), "t %d", i);
    lo = fmin(lo, bg[i]);
    hi = fmax(hi, bg[i]);
    if (i % 5) {
      cr_assert(isnan(cgm[i]), "t %d", i);
      continue;
    }
    cr_assert(cgm[i] >= sen->lo && cgm[i] <= sen->hi, "t %d: %g", i, cgm[i]);
    cr_expect(fabs(cgm[i] - nf[i]) < 150, "noise at %d: %g", i, cgm[i] - nf[i]);
  }
  cr_expect(hi - lo > 30, "meals move glucose: %g..%g", lo, hi);
  mt_replay_free(r);
}

/* A reading is the truth's reading, and the truth CSV leaves NaN empty. */
Test(replay, truth_csv_and_stream_agree)
{
  mt_replay *r = make(1, 2, NULL);
  const double *cgm;
  int n;
  mt_replay_truth(r, NULL, NULL, NULL, &cgm, &n);
  const mt_stream *s = mt_replay_stream(r);
  for (int i = 0; i < s->n; i++)
    if (s->d[i].kind == MT_DATA_CGM)
      cr_expect_eq(s->d[i].value, cgm[(int)s->d[i].t_min]);
  char *buf = NULL;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_eq(mt_replay_write_truth(r, f), 0);
  fclose(f);
  const char *hdr = "t_min,bg_mgdl,cgm_noisefree_mgdl,cgm_mgdl\n";
  cr_assert_eq(strncmp(buf, hdr, strlen(hdr)), 0);
  int lines = 0, empty = 0;
  for (const char *p = buf; *p; p++) {
    lines += *p == '\n';
    empty += *p == '\n' && p > buf && p[-1] == ',';
  }
  cr_expect_eq(lines, n + 1);
  cr_expect_eq(empty, n - (n - 1) / 5 - 1);
  free(buf);
  mt_replay_free(r);
}

/* Dexcom samples every 3 min: readings take the nearest sample, still every
** 5 min, within the sensor's range. */
Test(replay, other_sensors_still_read_every_5_min)
{
  mt_replay *r = make(1, 4, "Dexcom");
  const double *cgm, *nf;
  int n, k = 0;
  mt_replay_truth(r, NULL, NULL, &nf, &cgm, &n);
  for (int i = 0; i < n; i += 5, k++)
    cr_expect(cgm[i] >= 39 && cgm[i] <= 600);
  cr_expect_eq(k, 289);
  mt_replay *g = make(1, 4, NULL);
  const double *cg;
  mt_replay_truth(g, NULL, NULL, NULL, &cg, NULL);
  cr_expect(memcmp(cgm, cg, (size_t)n * sizeof *cg) != 0);
  mt_replay_free(r);
  mt_replay_free(g);
}

Test(replay, bad_configuration_is_refused)
{
  mt_replay_config cfg;
  char err[MT_ERRMSG_MAX];
  mt_replay *r = (mt_replay *)&cfg;
  mt_replay_config_init(&cfg);
  cfg.days = 0;
  cr_expect_eq(mt_replay_generate(&cfg, &r, err, sizeof err), MT_EINVAL);
  cr_expect_null(r);
  cr_expect(strstr(err, "days") != NULL, "%s", err);
  mt_replay_config_init(&cfg);
  cfg.sensor = "Libre";
  cr_expect_eq(mt_replay_generate(&cfg, &r, err, sizeof err), MT_EINVAL);
  cr_expect(strstr(err, "Libre") != NULL, "%s", err);
  mt_replay_config_init(&cfg);
  cfg.patient = "adult#099";
  cr_expect_eq(mt_replay_generate(&cfg, &r, err, sizeof err), MT_ENOTFOUND);
  cr_expect_null(r);
  cr_expect_eq(mt_replay_generate(NULL, &r, err, sizeof err), MT_EINVAL);
}

/* ---- insulin-sensitivity drift ----------------------------------------- */

static mt_replay *make_drift(const char *patient, int days, uint64_t seed,
                             double isf_drift)
{
  mt_replay_config cfg;
  mt_replay_config_init(&cfg);
  cfg.patient = patient;
  cfg.days = days;
  cfg.seed = seed;
  cfg.isf_drift = isf_drift;
  char err[MT_ERRMSG_MAX];
  mt_replay *r = NULL;
  cr_assert_eq(mt_replay_generate(&cfg, &r, err, sizeof err), 0, "%s", err);
  return r;
}

static double mean_bg(const mt_replay *r, int t_lo, int t_hi)
{
  const double *bg;
  mt_replay_truth(r, NULL, &bg, NULL, NULL, NULL);
  double sum = 0;
  for (int i = t_lo; i < t_hi; i++)
    sum += bg[i];
  return sum / (t_hi - t_lo);
}

/* The default is no drift, and an explicit 0 is the single run of before:
** truth and stream bit for bit. */
Test(replay, isf_drift_zero_is_the_default_truth_bit_for_bit)
{
  mt_replay_config cfg;
  mt_replay_config_init(&cfg);
  cr_expect_eq(cfg.isf_drift, 0.0);
  mt_replay *a = make(2, 7, NULL), *b = make_drift("adult#003", 2, 7, 0.0);
  const double *ta[3], *tb[3];
  int n;
  mt_replay_truth(a, NULL, &ta[0], &ta[1], &ta[2], &n);
  mt_replay_truth(b, NULL, &tb[0], &tb[1], &tb[2], NULL);
  for (int k = 0; k < 3; k++)
    cr_expect_eq(memcmp(ta[k], tb[k], (size_t)n * sizeof(double)), 0,
                 "array %d", k);
  size_t la, lb;
  char *da = dump(a, &la), *db = dump(b, &lb);
  cr_assert_eq(la, lb);
  cr_expect_eq(memcmp(da, db, la), 0);
  free(da);
  free(db);
  mt_replay_free(a);
  mt_replay_free(b);
}

/*
** adult#003, seed 1, two days, isf_drift 0.3. s(t) = 1 - 0.3 cos(2 pi
** t_clock / 1440) is above 1 over the whole of 06:00-18:00 and below 1 over
** 18:00-06:00. The insulin that matters over 12:00-18:00 is the breakfast
** and lunch boluses (06:30-13:30), all given and acting while s > 1: the
** same insulin lowers glucose more, so the afternoon is lower. Over 00:00-
** 06:00 of day 2 it is the dinner bolus (18:00-20:00) and its tail, all
** while s < 1: it lowers glucose less, so the night is higher. Because
** derive() keeps basal EGP at EGPb, the drift acts only through insulin
** away from basal: before day 1's breakfast (never before 06:30) the patient
** is at basal steady state and glucose does not move at all. Measured: the
** afternoon 97.9 -> 75.6 mg/dL, the night 81.7 -> 101.5 mg/dL.
*/
Test(replay, isf_drift_lowers_the_afternoon_and_raises_the_night)
{
  mt_replay *a = make_drift("adult#003", 2, 1, 0.0);
  mt_replay *b = make_drift("adult#003", 2, 1, 0.3);
  const double *bga, *bgb;
  int n;
  mt_replay_truth(a, NULL, &bga, NULL, NULL, &n);
  mt_replay_truth(b, NULL, &bgb, NULL, NULL, NULL);
  cr_expect(memcmp(bga, bgb, (size_t)n * sizeof *bga) != 0);
  double aft0 = mean_bg(a, 720, 1080), aft1 = mean_bg(b, 720, 1080);
  double night0 = mean_bg(a, 1440, 1800), night1 = mean_bg(b, 1440, 1800);
  cr_expect_lt(aft1, aft0 - 10, "12:00-18:00: %g with drift, %g without",
               aft1, aft0);
  cr_expect_gt(night1, night0 + 10, "day 2 00:00-06:00: %g with drift, %g "
               "without", night1, night0);
  for (int i = 0; i < 390; i++)
    cr_expect(fabs(bgb[i] - bga[i]) < 1e-6, "t %d: %g vs %g", i, bgb[i],
              bga[i]);
  /* life, boluses and the stream's rows do not know about the drift */
  const mt_replay_meal *ma, *mb;
  int nm = mt_replay_meals(a, &ma);
  cr_assert_eq(mt_replay_meals(b, &mb), nm);
  for (int i = 0; i < nm; i++) {
    cr_expect_eq(ma[i].t_min, mb[i].t_min, "meal %d", i);
    cr_expect_eq(ma[i].grams, mb[i].grams, "meal %d", i);
    cr_expect_eq(ma[i].bolus_u, mb[i].bolus_u, "meal %d", i);
  }
  cr_expect_eq(mt_replay_stream(b)->n, mt_replay_stream(a)->n);
  mt_replay_free(a);
  mt_replay_free(b);
}

/*
** The block-by-block path with a drift too small to matter (s = 1 to 1e-12)
** reproduces the single run up to the integrator's restarts at the block
** boundaries (measured 5e-5 mg/dL): state and meal memory carry over. A
** boundary inside a meal would restart the meal's gastric emptying and move
** glucose by tens of mg/dL, which is why such boundaries wait for the meal's
** end.
*/
Test(replay, drift_blocks_continue_state_and_meal_memory)
{
  mt_replay *a = make_drift("adult#003", 2, 1, 0.0);
  mt_replay *b = make_drift("adult#003", 2, 1, 1e-12);
  const double *bga, *bgb;
  int n;
  mt_replay_truth(a, NULL, &bga, NULL, NULL, &n);
  mt_replay_truth(b, NULL, &bgb, NULL, NULL, NULL);
  double worst = 0;
  for (int i = 0; i < n; i++)
    worst = fmax(worst, fabs(bgb[i] - bga[i]));
  cr_expect(worst < 1e-3, "block path differs by %g mg/dL", worst);
  mt_replay_free(a);
  mt_replay_free(b);
}

Test(replay, isf_drift_outside_0_to_0_9_is_refused)
{
  const double bad[] = {-0.1, 0.91, 1.0, NAN, INFINITY};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    mt_replay_config cfg;
    char err[MT_ERRMSG_MAX];
    mt_replay *r = (mt_replay *)&cfg;
    mt_replay_config_init(&cfg);
    cfg.isf_drift = bad[k];
    cr_expect_eq(mt_replay_generate(&cfg, &r, err, sizeof err), MT_EINVAL,
                 "isf_drift %g", bad[k]);
    cr_expect_null(r);
    cr_expect(strstr(err, "isf_drift") != NULL, "%s", err);
  }
  mt_replay *r = make_drift("adult#003", 1, 1, 0.9);
  mt_replay_free(r);
}
