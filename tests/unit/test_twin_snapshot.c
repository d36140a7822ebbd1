/*
** Snapshot and restore of the live twin (include/medtwin/twin.h). The
** reference is the same twin fed the whole stream without interruption:
** a twin restored from an image taken after datum k and fed the rest must
** match it bit for bit (memcmp of the member arrays and forecasts; alerts,
** ingest verdicts, quarantine, time and mean ESS compared exactly), for the
** ensemble transform Kalman filter and the particle filter, at cuts before
** the first reading, while a meal is being absorbed, right after a sensor
** fault and before late data that reach back past the cut. Damaged or
** mismatched images are refused with MT_EINVAL.
**
** The stream is adult#003's simulated CGM (the patient is left out of the
** prior, as in tests/unit/twin.c) with a small deterministic wiggle so that
** the sensor-fault detector, which stays on, does not see a stuck sensor.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/sim.h"
#include "medtwin/twin.h"

#define T_END 300   /* min */
#define MAXD 128    /* data in the stream */
#define MEMBERS 16
#define SPIKE_T 150 /* this reading and the next 150 mg/dL too high: a
                    ** jump fault of two readings */

/* adult#003's CGM every minute over [0, T_END] from steady state: 60 g
** eaten over 60-75 min with a 6 U bolus at 60 min (tests/unit/twin.c). */
static void true_course(mt_series *o)
{
  char err[MT_ERRMSG_MAX];
  const mt_model *m = mt_model_find("uva_padova_t1d");
  mt_patient *pt;
  cr_assert_eq(mt_patient_load(m, "adult#003", &pt, err, sizeof err), 0);
  mt_schedule *sch;
  cr_assert_eq(mt_schedule_create(m->n_input, &sch), 0);
  cr_assert_eq(mt_schedule_pulse(sch, 0, 60, 75, 60.0 / 15, MT_PULSE_BITES),
               0);
  cr_assert_eq(mt_schedule_pulse(sch, 1, 60, 61, 6.0, 0), 0);
  cr_assert_eq(mt_series_alloc(o, m, T_END + 1), 0);
  for (int k = 0; k <= T_END; k++)
    o->t[k] = k;
  mt_sim *s;
  cr_assert_eq(mt_sim_create(m, NULL, &s), 0);
  cr_assert_eq(mt_sim_run(s, pt->param, NULL, NULL, sch, 0, T_END, o), 0);
  mt_sim_free(s);
  mt_schedule_free(sch);
  mt_patient_free(pt);
}

/* Arrival order. Besides the day's data: an implausible reading (42 min),
** the spike at SPIKE_T and SPIKE_T + 5, the reading at 215 arriving after
** the one at 225, a 15 g snack stamped 205 arriving after the reading at
** 230, a repeat of the reading at 200 after the one at 235 (duplicate) and
** a bolus stamped 100 after the one at 240 (older than the 60-min
** window). */
static int make_stream(mt_datum *d)
{
  mt_series o;
  true_course(&o);
  int n = 0;
  mt_datum held = {0}, r200 = {0};
  d[n++] = (mt_datum){0, MT_DATA_BASAL, o.u[1] * 60, n + 2};
  for (int k = 5; k <= T_END; k += 5) {
    if (k == 60) {
      d[n++] = (mt_datum){60, MT_DATA_CARBS, 60, n + 2};
      d[n++] = (mt_datum){60, MT_DATA_BOLUS, 6, n + 2};
    }
    double v = o.y[(size_t)k * 2 + 1] + 2.5 * sin(0.9 * k);
    int spike = k == SPIKE_T || k == SPIKE_T + 5;
    mt_datum r = {k, MT_DATA_CGM, spike ? v + 150 : v, n + 2};
    if (k == 215) {
      held = r;
      continue;
    }
    d[n++] = r;
    if (k == 40)
      d[n++] = (mt_datum){42, MT_DATA_CGM, 900, n + 2};
    if (k == 200)
      r200 = r;
    if (k == 225)
      d[n++] = held;
    if (k == 230)
      d[n++] = (mt_datum){205, MT_DATA_CARBS, 15, n + 2};
    if (k == 235)
      d[n++] = r200;
    if (k == 240)
      d[n++] = (mt_datum){100, MT_DATA_BOLUS, 1, n + 2};
  }
  mt_series_clear(&o);
  cr_assert_leq(n, MAXD);
  return n;
}

static void config(mt_twin_config *cfg, mt_twin_method method)
{
  mt_twin_config_init(cfg);
  cfg->exclude = "adult#003";
  cfg->seed = 11;
  cfg->members = MEMBERS;
  cfg->method = method;
}

/* What the twin said after each datum. */
typedef struct said {
  int rc;
  const char *why;
  mt_twin_forecast fc[2];
  int n_alert;
  mt_twin_alert alert[MT_ALERT_NKIND];
} said;

static const double horizons[2] = {30, 60};

static void feed(mt_twin *tw, const mt_datum *d, said *s)
{
  memset(s, 0, sizeof *s);
  s->rc = mt_twin_ingest(tw, d, &s->why);
  cr_assert_geq(s->rc, 0, "t %g: %s", d->t_min, mt_twin_errmsg(tw));
  if (d->kind == MT_DATA_CGM && s->rc != 1)
    cr_assert_eq(mt_twin_forecast_at(tw, horizons, 2, s->fc), 0);
  s->n_alert = mt_twin_alerts(tw, s->alert);
}

static void same_said(const said *a, const said *b, int k)
{
  cr_assert_eq(a->rc, b->rc, "datum %d: ingest %d vs %d", k, a->rc, b->rc);
  cr_assert_eq(a->why, b->why, "datum %d: reason", k);
  cr_assert(memcmp(a->fc, b->fc, sizeof a->fc) == 0, "datum %d: forecast",
            k);
  cr_assert_eq(a->n_alert, b->n_alert, "datum %d: alerts", k);
  for (int j = 0; j < a->n_alert; j++) {
    const mt_twin_alert *x = &a->alert[j], *y = &b->alert[j];
    cr_assert(x->kind == y->kind && x->t_min == y->t_min &&
                  x->probability == y->probability &&
                  memcmp(&x->predicted_t_min, &y->predicted_t_min,
                         sizeof(double)) == 0,
              "datum %d: alert %d", k, j);
  }
}

/* Members, time, mean ESS and quarantine of two twins, exactly. */
static void same_twin(const mt_twin *a, const mt_twin *b)
{
  const double *pa, *xa, *pb, *xb;
  int npa, nsa, npb, nsb;
  int na = mt_twin_members(a, &pa, &xa, &npa, &nsa);
  int nb = mt_twin_members(b, &pb, &xb, &npb, &nsb);
  cr_assert(na == nb && npa == npb && nsa == nsb);
  cr_assert(memcmp(pa, pb, (size_t)na * npa * sizeof *pa) == 0, "params");
  cr_assert(memcmp(xa, xb, (size_t)na * nsa * sizeof *xa) == 0, "states");
  double ta = mt_twin_time(a), tb = mt_twin_time(b);
  double ea = mt_twin_mean_ess(a), eb = mt_twin_mean_ess(b);
  cr_assert(memcmp(&ta, &tb, sizeof ta) == 0, "time %g vs %g", ta, tb);
  cr_assert(memcmp(&ea, &eb, sizeof ea) == 0, "mean ESS %g vs %g", ea, eb);
  const mt_twin_quarantined *qa, *qb;
  long nqa = mt_twin_quarantine(a, &qa), nqb = mt_twin_quarantine(b, &qb);
  cr_assert_eq(nqa, nqb, "quarantine %ld vs %ld", nqa, nqb);
  for (long k = 0; k < nqa; k++)
    cr_assert(qa[k].datum.t_min == qb[k].datum.t_min &&
                  qa[k].datum.kind == qb[k].datum.kind &&
                  qa[k].datum.value == qb[k].datum.value &&
                  qa[k].datum.line == qb[k].datum.line &&
                  qa[k].reason == qb[k].reason,
              "quarantine entry %ld", k);
}

static int index_of(const mt_datum *d, int n, mt_stream_kind kind, double t)
{
  for (int k = 0; k < n; k++)
    if (d[k].kind == kind && d[k].t_min == t)
      return k;
  cr_assert_fail("no datum of kind %d at %g", kind, t);
  return -1;
}

/*
** The reference twin over the whole stream, imaged after each cut (cut c:
** after the first c data); with `poke`, both twins forecast once more
** right after the cut (the reference from its course-ahead cache, the
** restored one from scratch). Then each image restored and fed the rest.
*/
static void check_cuts(mt_twin_method method, const int *cut, int ncut,
                       int poke)
{
  static mt_datum d[MAXD];
  static said ref[MAXD];
  int n = make_stream(d);
  mt_twin_config cfg;
  config(&cfg, method);
  char err[MT_ERRMSG_MAX];
  mt_twin *a;
  cr_assert_eq(mt_twin_create(&cfg, &a, err, sizeof err), 0, "%s", err);
  void *blob[8];
  size_t len[8];
  mt_twin_forecast poked[8][2];
  cr_assert_leq(ncut, 8);
  for (int k = 0, c = 0; k <= n; k++) {
    for (; c < ncut && cut[c] == k; c++) {
      cr_assert_eq(mt_twin_snapshot(a, &blob[c], &len[c]), 0);
      if (poke)
        cr_assert_eq(mt_twin_forecast_at(a, horizons, 2, poked[c]), 0);
    }
    if (k < n)
      feed(a, &d[k], &ref[k]);
  }
  for (int c = 0; c < ncut; c++) {
    mt_twin *b;
    cr_assert_eq(mt_twin_restore(&cfg, blob[c], len[c], &b, err, sizeof err),
                 0, "cut %d: %s", cut[c], err);
    /* the alerts of the last datum before the cut, as the reference had
    ** them then */
    said then = {0}, now;
    if (cut[c] > 0)
      then = ref[cut[c] - 1];
    now = then;
    memset(now.alert, 0, sizeof now.alert);
    now.n_alert = mt_twin_alerts(b, now.alert);
    same_said(&then, &now, cut[c]);
    if (poke) {
      mt_twin_forecast f[2];
      cr_assert_eq(mt_twin_forecast_at(b, horizons, 2, f), 0);
      cr_assert(memcmp(f, poked[c], sizeof f) == 0, "cut %d: forecast "
                "right after the restore", cut[c]);
    }
    for (int k = cut[c]; k < n; k++) {
      said s;
      feed(b, &d[k], &s);
      same_said(&ref[k], &s, k);
    }
    same_twin(a, b);
    mt_twin_free(b);
    free(blob[c]);
  }
  mt_twin_free(a);
}

/* The cuts: no data; the basal rate only (before the first reading); the
** reading at 65 min (every member is still eating: meals take 10-20 min
** from 60); right after the spike; after the reading at 220 (the late
** reading, snack and duplicate come after it and reach back before it). */
static int cuts(int *cut)
{
  static mt_datum d[MAXD];
  int n = make_stream(d);
  cut[0] = 0;
  cut[1] = 1;
  cut[2] = index_of(d, n, MT_DATA_CGM, 65) + 1;
  cut[3] = index_of(d, n, MT_DATA_CGM, SPIKE_T) + 1;
  cut[4] = index_of(d, n, MT_DATA_CGM, 220) + 1;
  return 5;
}

/* The stream does what the cuts need: the spike is refused as one jump
** (one sensor_fault alert, at its first reading), and the late reading,
** snack, duplicate and too-late bolus after the cut at 220 are taken,
** taken, refused and refused. */
Test(twin_snapshot, the_stream_exercises_each_cut, .timeout = 60)
{
  static mt_datum d[MAXD];
  int n = make_stream(d);
  mt_twin_config cfg;
  config(&cfg, MT_TWIN_ENKF);
  char err[MT_ERRMSG_MAX];
  mt_twin *a;
  cr_assert_eq(mt_twin_create(&cfg, &a, err, sizeof err), 0, "%s", err);
  int spike = index_of(d, n, MT_DATA_CGM, SPIKE_T);
  int k220 = index_of(d, n, MT_DATA_CGM, 220);
  for (int k = 0; k < n; k++) {
    const char *why;
    int rc = mt_twin_ingest(a, &d[k], &why);
    mt_twin_alert al[MT_ALERT_NKIND];
    int na = mt_twin_alerts(a, al), nf = 0;
    for (int j = 0; j < na; j++)
      nf += al[j].kind == MT_ALERT_SENSOR_FAULT;
    if (k == spike || k == spike + 1)
      cr_assert(rc == 2 && strstr(why, "jump"), "spike: %d %s", rc, why);
    cr_assert_eq(nf, k == spike, "datum %d: %d sensor_fault alerts", k, nf);
    if (k > k220 && d[k].t_min < 220) /* late, after the cut */
      cr_assert_eq(rc, d[k].t_min == 100 || d[k].t_min == 200 ? 1 : 0,
                   "datum %d at %g: %d", k, d[k].t_min, rc);
  }
  mt_twin_free(a);
}

Test(twin_snapshot, enkf_restored_twin_is_bit_identical, .timeout = 60)
{
  int cut[8], nc = cuts(cut);
  check_cuts(MT_TWIN_ENKF, cut, nc, 0);
}

Test(twin_snapshot, enkf_forecast_right_after_restore, .timeout = 60)
{
  int cut[8], nc = cuts(cut);
  check_cuts(MT_TWIN_ENKF, cut + 2, nc - 2, 1);
}

Test(twin_snapshot, pf_restored_twin_is_bit_identical, .timeout = 60)
{
  int cut[8], nc = cuts(cut);
  check_cuts(MT_TWIN_PF, cut, nc, 0);
}

/* An image of the reference twin after the first 100 data. */
static void image(mt_twin_config *cfg, void **blob, size_t *len)
{
  static mt_datum d[MAXD];
  make_stream(d);
  config(cfg, MT_TWIN_ENKF);
  char err[MT_ERRMSG_MAX];
  mt_twin *a;
  cr_assert_eq(mt_twin_create(cfg, &a, err, sizeof err), 0, "%s", err);
  for (int k = 0; k < 100; k++) {
    const char *why;
    cr_assert_geq(mt_twin_ingest(a, &d[k], &why), 0);
  }
  cr_assert_eq(mt_twin_snapshot(a, blob, len), 0);
  mt_twin_free(a);
}

/* Restore must refuse: MT_EINVAL, no twin, one line naming `says`. */
static void refused(const mt_twin_config *cfg, const void *blob, size_t len,
                    const char *says)
{
  char err[MT_ERRMSG_MAX] = "";
  mt_twin *b = (mt_twin *)1;
  cr_assert_eq(mt_twin_restore(cfg, blob, len, &b, err, sizeof err),
               MT_EINVAL, "expected a refusal (%s)", says);
  cr_assert_null(b);
  cr_assert(strstr(err, says) && !strchr(err, '\n'), "message: %s", err);
}

/* The image's checksum made right again after an edit. */
static void rehash(unsigned char *p, size_t len)
{
  crypto_generichash(p + len - 32, 32, p, len - 32, NULL, 0);
}

Test(twin_snapshot, damaged_or_mismatched_images_are_refused, .timeout = 60)
{
  mt_twin_config cfg;
  void *blob;
  size_t len;
  image(&cfg, &blob, &len);
  unsigned char *p = blob, *q = malloc(len);
  cr_assert_not_null(q);
  refused(&cfg, p, len - 1, "truncated");
  refused(&cfg, p, len / 2, "truncated");
  refused(&cfg, p, 10, "too short");
  refused(&cfg, NULL, 0, "too short");
  memcpy(q, p, len);
  q[0] ^= 1;
  refused(&cfg, q, len, "magic");
  memcpy(q, p, len);
  q[len / 2] ^= 0x10;
  refused(&cfg, q, len, "checksum");
  memcpy(q, p, len);
  q[12] ^= 2; /* the format version */
  refused(&cfg, q, len, "version");
  mt_twin_config other = cfg;
  other.members = MEMBERS + 1;
  refused(&other, p, len, "members differs");
  other = cfg;
  other.model = "bergman_minimal";
  refused(&other, p, len, "model differs");
  other = cfg;
  other.seed = cfg.seed + 1;
  refused(&other, p, len, "seed differs");
  other = cfg;
  other.method = MT_TWIN_PF;
  refused(&other, p, len, "method differs");
  other = cfg;
  other.late_window_min = 30;
  refused(&other, p, len, "late_window_min differs");
  /* a later model version: one more parameter (the sizes follow the
  ** header and the configuration: four strings, u64, 4 x i32, 12 x f64) */
  size_t at = 24 + (4 + strlen(cfg.model)) + (4 + strlen(cfg.group)) +
              (4 + strlen(cfg.exclude)) + (4 + strlen(cfg.sensor)) + 8 +
              4 * 4 + 12 * 8;
  memcpy(q, p, len);
  int32_t np;
  memcpy(&np, q + at + 4, 4);
  cr_assert_eq(np, 46, "the UVA/Padova model has 46 parameters");
  np++;
  memcpy(q + at + 4, &np, 4);
  rehash(q, len);
  refused(&cfg, q, len, "sizes differ");
  /* the untouched image is still good */
  char err[MT_ERRMSG_MAX];
  mt_twin *b;
  cr_assert_eq(mt_twin_restore(&cfg, p, len, &b, err, sizeof err), 0, "%s",
               err);
  mt_twin_free(b);
  free(q);
  free(blob);
}

/*
** Images edited past the checksum (re-hashed: a writer's bug or a forged
** file) never crash or read out of bounds (the sanitizers watch in `make
** check-all`): every byte of the structure before the member arrays, and
** every 97th byte of the rest, flipped in turn, gives a twin or
** MT_EINVAL; every byte of the header, configuration and sizes is refused.
*/
Test(twin_snapshot, edited_images_never_crash, .timeout = 120)
{
  mt_twin_config cfg;
  void *blob;
  size_t len;
  image(&cfg, &blob, &len);
  unsigned char *p = blob, *q = malloc(len);
  cr_assert_not_null(q);
  size_t sizes = 24 + (4 + strlen(cfg.model)) + (4 + strlen(cfg.group)) +
                 (4 + strlen(cfg.exclude)) + (4 + strlen(cfg.sensor)) + 8 +
                 4 * 4 + 12 * 8 + 5 * 4; /* to the parameter indices */
  int n_refused = 0;
  for (size_t at = 0; at + 32 < len; at += at < 1200 ? 1 : 97) {
    memcpy(q, p, len);
    q[at] ^= 0x80;
    rehash(q, len);
    char err[MT_ERRMSG_MAX];
    mt_twin *b;
    int rc = mt_twin_restore(&cfg, q, len, &b, err, sizeof err);
    cr_assert(rc == 0 || rc == MT_EINVAL, "byte %zu: %d", at, rc);
    cr_assert(rc == 0 ? b != NULL : b == NULL);
    if (at < sizes)
      cr_assert_eq(rc, MT_EINVAL, "byte %zu of the header or configuration",
                   at);
    n_refused += rc != 0;
    mt_twin_free(b);
  }
  cr_assert_geq(n_refused, (int)sizes);
  free(q);
  free(blob);
}

/* Schedules rebuilt event by event are the same schedule. */
Test(twin_snapshot, schedule_events_round_trip)
{
  mt_schedule *a, *b;
  cr_assert_eq(mt_schedule_create(2, &a), 0);
  cr_assert_eq(mt_schedule_create(2, &b), 0);
  cr_assert_eq(mt_schedule_level(a, 1, 0, 0.02), 0);
  cr_assert_eq(mt_schedule_pulse(a, 0, 60, 73, 4.6, MT_PULSE_BITES), 0);
  cr_assert_eq(mt_schedule_scale(a, 1, 90, 120, 0.5), 0);
  for (int i = 0; i < mt_schedule_count(a); i++) {
    mt_schedule_event e;
    cr_assert_eq(mt_schedule_event_at(a, i, &e), 0);
    cr_assert_eq(mt_schedule_add(b, &e), 0);
  }
  mt_schedule_event e;
  cr_assert_eq(mt_schedule_event_at(a, 3, &e), MT_EINVAL);
  cr_assert_eq(mt_schedule_event_at(a, 1, &e), 0);
  cr_assert(e.kind == MT_SCHEDULE_PULSE && e.k == 0 && e.t0 == 60 &&
            e.t1 == 73 && e.value == 4.6 && e.flags == MT_PULSE_BITES);
  e.flags = 0x8;
  cr_assert_eq(mt_schedule_add(b, &e), MT_EINVAL);
  e = (mt_schedule_event){MT_SCHEDULE_LEVEL, 0, 5, 6, 1, 0};
  cr_assert_eq(mt_schedule_add(b, &e), MT_EINVAL); /* a level has t1 = t0 */
  cr_assert_eq(mt_schedule_count(b), 3);
  double basal[2] = {0, 0};
  mt_segments sa, sb;
  cr_assert_eq(mt_schedule_compile(a, basal, 0, 200, &sa), 0);
  cr_assert_eq(mt_schedule_compile(b, basal, 0, 200, &sb), 0);
  cr_assert_eq(sa.n, sb.n);
  cr_assert(memcmp(sa.t, sb.t, (size_t)(sa.n + 1) * sizeof *sa.t) == 0);
  cr_assert(memcmp(sa.u, sb.u, (size_t)(sa.n + 1) * 2 * sizeof *sa.u) == 0);
  mt_segments_clear(&sa);
  mt_segments_clear(&sb);
  mt_schedule_free(a);
  mt_schedule_free(b);
}
