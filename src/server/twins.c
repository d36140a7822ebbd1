/*
** The twins in the server (docs/API.md, "Twins"): one live twin per patient
** that has been given one, fed from the store's committed observations in
** arrival order, snapshotted to the store now and then so that a restart
** (a crash included) restores each twin from its latest snapshot and the
** observations stored after it; its forecast, alerts (also as FHIR Flag
** resources) and server-sent events; what-if runs; ingest in JSON and in
** Nightscout's form.
**
** Locks: s->tw_lock guards the list of slots (slots never move or go away
** before the server stops); each slot's lock guards its twin. A slot's lock
** is never held while waiting for the writer, so a twin's work never stalls
** the writes of others.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "medtwin/import.h"
#include "medtwin/model.h"
#include "medtwin/stream.h"
#include "medtwin/twin_spec.h"
#include "medtwin/whatif.h"
#include "server/internal.h"
#include "server/jsonx.h"

/* A kept decimal of one place (mg/dL to 0.1). */
static json_t *dec1(double v)
{
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f", v);
  return mtj_decimal(buf);
}

/* The stored rows' canonical codes (include/medtwin/codes.h; the doses'
** local codes from fhir.c) and the stream kinds they feed. A twin takes
** only the kinds its model's twin spec reads; the others stay stored and
** are ignored by it (docs/API.md, "Twins"). */
static const struct {
  const char *code;
  mt_stream_kind kind;
} twin_codes[] = {{"99504-3", MT_DATA_CGM},
                  {"9059-7", MT_DATA_CARBS},
                  {CODE_BOLUS, MT_DATA_BOLUS},
                  {CODE_BASAL, MT_DATA_BASAL},
                  {"8478-0", MT_DATA_MAP},
                  {"8480-6", MT_DATA_SBP},
                  {"8462-4", MT_DATA_DBP},
                  {"8867-4", MT_DATA_HR},
                  {"10230-1", MT_DATA_EF},
                  {"8741-1", MT_DATA_CO},
                  {"29463-7", MT_DATA_WEIGHT},
                  {CODE_BETA_BLOCKER, MT_DATA_BETA_BLOCKER},
                  {CODE_VASODILATOR, MT_DATA_VASODILATOR},
                  {CODE_DIURETIC, MT_DATA_DIURETIC},
                  {CODE_INOTROPE, MT_DATA_INOTROPE}};
#define N_TWIN_CODES (sizeof twin_codes / sizeof *twin_codes)

int twin_code(const char *code)
{
  for (size_t k = 0; k < N_TWIN_CODES; k++)
    if (!strcmp(code, twin_codes[k].code))
      return (int)twin_codes[k].kind;
  return -1;
}

/* The order of stream kinds at equal times: 0 the heart rate (a level
** measured with the readings, an input of the heart twin), 1 readings (an
** observable of some model's twin spec), 2 the other inputs (doses, meals,
** basal rates: given after the reading of their time). */
static int order_class(int kind)
{
  static const char *const models[] = {"uva_padova_t1d",
                                       "circulation_beatavg"};
  if (kind == MT_DATA_HR)
    return 0;
  for (size_t k = 0; kind >= 0 && k < sizeof models / sizeof *models; k++) {
    const mt_twin_spec *sp = mt_twin_spec_find(models[k]);
    if (sp && mt_twin_spec_obs_of(sp, (mt_stream_kind)kind))
      return 1;
  }
  return 2;
}

/* What a twin of this model makes of a stream kind: 1 a reading, 2 an
** input, 0 nothing (the other model's kinds: ignored). */
static int spec_use(const char *model, int kind)
{
  const mt_twin_spec *sp = mt_twin_spec_find(model);
  if (!sp || kind < 0)
    return 0;
  if (mt_twin_spec_obs_of(sp, (mt_stream_kind)kind))
    return 1;
  return mt_twin_spec_input_of(sp, (mt_stream_kind)kind) ? 2 : 0;
}

static twin_slot *slot_of(mt_server *s, const char *patient)
{
  twin_slot *w = NULL;
  pthread_mutex_lock(&s->tw_lock);
  for (int k = 0; k < s->n_twin && !w; k++)
    if (!strcmp(s->twin[k]->patient, patient))
      w = s->twin[k];
  pthread_mutex_unlock(&s->tw_lock);
  return w;
}

/* A new slot for patient (locked, not ready), or NULL when out of memory. */
static twin_slot *slot_new(mt_server *s, const char *patient)
{
  twin_slot *w = calloc(1, sizeof *w);
  if (!w)
    return NULL;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->news, NULL);
  snprintf(w->patient, sizeof w->patient, "%s", patient);
  pthread_mutex_lock(&w->lock);
  pthread_mutex_lock(&s->tw_lock);
  if (s->n_twin == s->cap_twin) {
    int cap = s->cap_twin ? 2 * s->cap_twin : 16;
    twin_slot **t = realloc(s->twin, (size_t)cap * sizeof *t);
    if (!t) {
      pthread_mutex_unlock(&s->tw_lock);
      pthread_mutex_unlock(&w->lock);
      free(w);
      return NULL;
    }
    s->twin = t, s->cap_twin = cap;
  }
  s->twin[s->n_twin++] = w;
  pthread_mutex_unlock(&s->tw_lock);
  return w;
}

/* ---- events ---------------------------------------------------------------- */

static void event_add(twin_slot *w, int64_t seq, int sub, const char *kind,
                      json_t *data)
{
  twin_event *e = &w->ring[w->n_events % EVENT_RING];
  free(e->data);
  e->seq = seq, e->sub = sub;
  snprintf(e->kind, sizeof e->kind, "%s", kind);
  e->data = dump(data);
  json_decref(data);
  w->n_events++;
  pthread_cond_broadcast(&w->news);
}

/* ---- the twin's clock and its forecast ------------------------------------ */

static void iso_of(const twin_slot *w, double t_min, char *buf, size_t len)
{
  iso_ms(w->t0_ms + (int64_t)llround(t_min * 60000.0), buf, len);
}

static json_t *forecast_json(twin_slot *w)
{
  double t = mt_twin_time(w->tw);
  static const double h[3] = {30, 60, 120};
  mt_twin_forecast f[3];
  if (isnan(t) || mt_twin_forecast_at(w->tw, h, 3, f))
    return NULL;
  json_t *fa = json_array();
  for (int k = 0; k < 3; k++) {
    char when[40];
    iso_of(w, f[k].t_min + f[k].horizon_min, when, sizeof when);
    json_array_append_new(
        fa, json_pack("{s:f, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                      "horizon_min", f[k].horizon_min, "time", when, "mean",
                      f[k].mean, "p025", f[k].q[0], "p10", f[k].q[1], "p25",
                      f[k].q[2], "p50", f[k].q[3], "p75", f[k].q[4], "p90",
                      f[k].q[5], "p975", f[k].q[6]));
  }
  return fa;
}

static int by_value(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The estimated parameters across the members: mean, SD and the 10th and
** 90th percentiles (Hyndman-Fan type 7 between order statistics). */
static json_t *parameters_json(twin_slot *w)
{
  const double *p, *x;
  int np, ns;
  const int *idx;
  int ne = mt_twin_estimated(w->tw, &idx);
  int n = mt_twin_members(w->tw, &p, &x, &np, &ns);
  const mt_model *m = mt_twin_model(w->tw);
  json_t *out = json_array();
  double *v = n > 0 ? malloc((size_t)n * sizeof *v) : NULL;
  for (int k = 0; v && k < ne; k++) {
    double sum = 0, ss = 0;
    for (int i = 0; i < n; i++)
      sum += v[i] = p[(size_t)i * (size_t)np + (size_t)idx[k]];
    double mean = sum / n;
    for (int i = 0; i < n; i++)
      ss += (v[i] - mean) * (v[i] - mean);
    qsort(v, (size_t)n, sizeof *v, by_value);
    double q[2], at[2] = {0.1, 0.9};
    for (int j = 0; j < 2; j++) {
      double h = at[j] * (n - 1);
      int lo = (int)h;
      q[j] = lo + 1 < n ? v[lo] + (h - lo) * (v[lo + 1] - v[lo]) : v[lo];
    }
    const mt_var *pv = &m->param[idx[k]];
    json_array_append_new(
        out, json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f}", "name",
                       pv->name, "unit", pv->unit, "doc",
                       pv->doc ? pv->doc : "", "mean", mean, "sd",
                       n > 1 ? sqrt(ss / (n - 1)) : 0.0, "p10", q[0], "p90",
                       q[1]));
  }
  free(v);
  return out;
}

/* ---- alerts: the store's alert log and a FHIR Flag each --------------------- */

typedef struct alert_arg {
  char patient[MT_STORE_KEY_MAX + 1];
  int64_t t_ms;
  char kind[32];
  char *payload;
  json_t *flag;
  char flag_id[MT_STORE_KEY_MAX + 1];
} alert_arg;

static void alert_free(void *p)
{
  alert_arg *a = p;
  free(a->payload);
  json_decref(a->flag);
  free(a);
}

/* Logged once: a replay after a restart raises the same alert again. */
static int job_alert(mt_store *st, job *j)
{
  alert_arg *a = j->arg;
  mt_store_event *ev = NULL;
  size_t n = 0;
  int rc = mt_store_event_list(st, MT_STORE_ALERT, a->patient, a->t_ms,
                               a->t_ms + 1, &ev, &n, j->err, sizeof j->err);
  int seen = 0;
  for (size_t k = 0; !rc && k < n; k++)
    seen |= !strcmp(ev[k].kind, a->kind);
  mt_store_event_list_free(ev, n);
  if (!rc && !seen)
    rc = mt_store_event_add(st, MT_STORE_ALERT, a->patient, a->t_ms, a->kind,
                            a->payload, j->err, sizeof j->err);
  if (!rc)
    rc = fhir_store_own(st, "Flag", a->flag_id, a->flag, j->err,
                        sizeof j->err);
  return rc;
}

/* Whether the stored Patient says the patient has died (deceasedBoolean
** true or a deceasedDateTime): a deceased patient's twin raises no alerts. */
static int deceased(mt_store *rd, const char *patient)
{
  char err[MT_ERRMSG_MAX];
  mt_resource res = {0};
  int dead = 0;
  if (rd && mt_store_resource_read(rd, "Patient", patient, &res, err,
                                   sizeof err) == 0) {
    json_error_t je;
    json_t *p = load(res.json, &je);
    dead = json_is_true(json_object_get(p, "deceasedBoolean")) ||
           json_is_string(json_object_get(p, "deceasedDateTime"));
    json_decref(p);
  }
  mt_resource_clear(&res);
  return dead;
}

/* The FHIR Flag of an alert (FHIR R4 Flag; the kind as its code). */
static json_t *flag_of(const twin_slot *w, const mt_twin_alert *a,
                       const char *when, const char *predicted)
{
  char text[160];
  snprintf(text, sizeof text, "%s: probability %.2f, predicted at %s",
           mt_alert_kind_name(a->kind), a->probability, predicted);
  char subject[80];
  snprintf(subject, sizeof subject, "Patient/%s", w->patient);
  return json_pack(
      "{s:s, s:s, s:[{s:[{s:s, s:s, s:s}]}], s:{s:[{s:s, s:s, s:s}], s:s}, "
      "s:{s:s}, s:{s:s}, s:{s:s}}",
      "resourceType", "Flag", "status", "active", "category", "coding",
      "system", "http://terminology.hl7.org/CodeSystem/flag-category", "code",
      "clinical", "display", "Clinical", "code", "coding", "system",
      "urn:medtwin:alert", "code", mt_alert_kind_name(a->kind), "display",
      mt_alert_kind_name(a->kind), "text", text, "subject", "reference",
      subject, "period", "start", when, "author", "display", "medtwin twin");
}

/* ---- feeding --------------------------------------------------------------- */

static int canonical(const void *a, const void *b)
{
  const mt_obs *x = a, *y = b;
  if (x->t_ms != y->t_ms)
    return (x->t_ms > y->t_ms) - (x->t_ms < y->t_ms);
  int kx = order_class(twin_code(x->code));
  int ky = order_class(twin_code(y->code));
  if (kx != ky)
    return kx - ky; /* at equal times a reading before the doses, as in a
                    ** stream; a heart rate measured with it before it */
  return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Serialise the slot: a header (JSON) and the twin's image. */
static int slot_image(twin_slot *w, void **blob, size_t *len)
{
  void *img = NULL;
  size_t n_img = 0;
  if (w->tw && mt_twin_snapshot(w->tw, &img, &n_img))
    return MT_ENOMEM;
  json_t *h = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:I, s:I, s:I, s:I, "
                        "s:s}",
                        "patient", w->patient, "model", w->model, "group",
                        w->group, "seed", (json_int_t)w->seed, "t0_ms",
                        (json_int_t)w->t0_ms, "started", w->started,
                        "fed_seq", (json_int_t)w->fed_seq, "readings",
                        (json_int_t)w->readings, "inputs",
                        (json_int_t)w->inputs, "refused",
                        (json_int_t)w->refused, "last_ref", w->last_ref);
  char *text = json_dumps(h, JSON_COMPACT);
  json_decref(h);
  size_t tl = text ? strlen(text) : 0;
  unsigned char *b = text ? malloc(8 + tl + n_img) : NULL;
  if (!b) {
    free(text);
    free(img);
    return MT_ENOMEM;
  }
  memcpy(b, "MTSV", 4);
  b[4] = (unsigned char)(tl >> 24), b[5] = (unsigned char)(tl >> 16);
  b[6] = (unsigned char)(tl >> 8), b[7] = (unsigned char)tl;
  memcpy(b + 8, text, tl);
  if (n_img)
    memcpy(b + 8 + tl, img, n_img);
  free(text);
  free(img);
  *blob = b, *len = 8 + tl + n_img;
  return 0;
}

typedef struct snap_arg {
  char patient[MT_STORE_KEY_MAX + 1], model[32];
  int64_t at;
  void *blob;
  size_t len;
} snap_arg;

static void snap_free(void *p)
{
  snap_arg *a = p;
  free(a->blob);
  free(a);
}

static int job_snap(mt_store *st, job *j)
{
  snap_arg *a = j->arg;
  int rc = mt_store_snapshot_put(st, a->patient, a->model, a->at, a->blob,
                                 a->len, j->err, sizeof j->err);
  if (!rc) /* the one before stays too: two to fall back on */
    rc = mt_store_snapshot_prune(st, a->patient, a->model, 2, j->err,
                                 sizeof j->err);
  return rc;
}

static int64_t snap_time(mt_server *s)
{
  pthread_mutex_lock(&s->tw_lock);
  int64_t t = now_ms();
  if (t <= s->snap_clock)
    t = s->snap_clock + 1;
  s->snap_clock = t;
  pthread_mutex_unlock(&s->tw_lock);
  return t;
}

/* A snapshot of the slot (locked) to the writer; wait: whether to wait for
** its commit. */
static int snapshot(mt_server *s, twin_slot *w, int wait)
{
  snap_arg *a = calloc(1, sizeof *a);
  job *j = calloc(1, sizeof *j);
  if (!a || !j || slot_image(w, &a->blob, &a->len)) {
    free(a);
    free(j);
    return MT_ENOMEM;
  }
  snprintf(a->patient, sizeof a->patient, "%s", w->patient);
  snprintf(a->model, sizeof a->model, "%s", w->model);
  a->at = snap_time(s);
  j->fn = job_snap, j->arg = a, j->free_arg = snap_free;
  w->since_snap = 0, w->snap_wall_ms = now_ms();
  if (!wait) {
    write_detached(s, j);
    return 0;
  }
  int rc = write_wait(s, j);
  snap_free(a);
  free(j);
  return rc;
}

typedef struct quar_arg {
  char patient[MT_STORE_KEY_MAX + 1], kind[32];
  int64_t t_ms;
  char *payload;
} quar_arg;

static void quar_free(void *p)
{
  quar_arg *a = p;
  free(a->payload);
  free(a);
}

static int job_quar(mt_store *st, job *j)
{
  quar_arg *a = j->arg;
  return mt_store_event_add(st, MT_STORE_QUARANTINE, a->patient, a->t_ms,
                            a->kind, a->payload, j->err, sizeof j->err);
}

/* A datum the twin refused, with the reason, to the store's quarantine
** log (the datum itself stays stored: the log says why the twin did not
** take it). */
static void quarantine(mt_server *s, twin_slot *w, const mt_obs *o,
                       const char *why)
{
  quar_arg *a = calloc(1, sizeof *a);
  job *j = calloc(1, sizeof *j);
  json_t *p = json_pack("{s:I, s:s, s:f, s:s}", "seq", (json_int_t)o->seq,
                        "code", o->code, "value", o->value, "reason",
                        why ? why : "refused");
  if (a)
    a->payload = dump(p);
  json_decref(p);
  if (!a || !j || !a->payload) {
    if (a)
      quar_free(a);
    free(j);
    return;
  }
  snprintf(a->patient, sizeof a->patient, "%s", w->patient);
  snprintf(a->kind, sizeof a->kind, "%s",
           mt_stream_kind_name((mt_stream_kind)twin_code(o->code)));
  a->t_ms = o->t_ms;
  j->fn = job_quar, j->arg = a, j->free_arg = quar_free;
  write_detached(s, j);
}

/* Rows (already in the order to take them) into the slot's twin (locked). */
static void take(mt_server *s, mt_store *rd, twin_slot *w, const mt_obs *rows,
                 size_t n, int live)
{
  int dead = -1;
  for (size_t i = 0; i < n; i++) {
    const mt_obs *o = &rows[i];
    int kind = twin_code(o->code);
    if (o->seq > w->fed_seq)
      w->fed_seq = o->seq;
    int use = spec_use(w->model, kind);
    if (!use)
      continue;
    if (!w->started)
      w->t0_ms = o->t_ms, w->started = 1;
    mt_datum d = {(double)(o->t_ms - w->t0_ms) / 60000.0,
                  (mt_stream_kind)kind, o->value, 0};
    const char *why = NULL;
    int rc = mt_twin_ingest(w->tw, &d, &why);
    if (rc == 0) {
      *(use == 1 ? &w->readings : &w->inputs) += 1;
      if (use == 1) {
        w->since_snap++;
        if (o->resource[0])
          snprintf(w->last_ref, sizeof w->last_ref, "%s", o->resource);
      }
    } else {
      w->refused++;
      if (live)
        quarantine(s, w, o, why);
    }
    char when[40];
    iso_ms(o->t_ms, when, sizeof when);
    if (live && w->listeners)
      event_add(w, o->seq, 0, "assimilation",
                json_pack("{s:s, s:s, s:f, s:s, s:f, s:b, s:s?}", "patient",
                          w->patient, "time", when, "t_min", d.t_min, "kind",
                          mt_stream_kind_name((mt_stream_kind)kind), "value",
                          o->value, "accepted", rc == 0, "reason",
                          rc ? why : NULL));
    mt_twin_alert al[MT_ALERT_NKIND];
    int na = mt_twin_alerts(w->tw, al);
    if (na && dead < 0)
      dead = deceased(rd, w->patient);
    for (int k = 0; na && !dead && k < na; k++) {
      alert_arg *a = calloc(1, sizeof *a);
      job *j = calloc(1, sizeof *j);
      if (!a || !j) {
        free(a);
        free(j);
        continue;
      }
      char at[40], pred[40];
      iso_of(w, al[k].t_min, at, sizeof at);
      iso_of(w, al[k].predicted_t_min, pred, sizeof pred);
      json_t *payload = json_pack(
          "{s:s, s:s, s:f, s:f, s:s, s:f}", "kind",
          mt_alert_kind_name(al[k].kind), "time", at, "t_min", al[k].t_min,
          "probability", al[k].probability, "predicted", pred,
          "predicted_t_min", al[k].predicted_t_min);
      snprintf(a->patient, sizeof a->patient, "%s", w->patient);
      a->t_ms = w->t0_ms + (int64_t)llround(al[k].t_min * 60000.0);
      snprintf(a->kind, sizeof a->kind, "%s", mt_alert_kind_name(al[k].kind));
      a->payload = dump(payload);
      a->flag = flag_of(w, &al[k], at, pred);
      unsigned char hash[8];
      char key[200];
      snprintf(key, sizeof key, "%s|%s|%lld", w->patient, a->kind,
               (long long)a->t_ms);
      crypto_generichash(hash, sizeof hash, (const unsigned char *)key,
                         strlen(key), NULL, 0);
      snprintf(a->flag_id, sizeof a->flag_id, "alert-");
      for (int b = 0; b < 8; b++)
        snprintf(a->flag_id + 6 + 2 * b, 3, "%02x", hash[b]);
      j->fn = job_alert, j->arg = a, j->free_arg = alert_free;
      if (live)
        mqtt_alert(s, w->patient, a->payload); /* back to the devices */
      write_detached(s, j);
      if (live && w->listeners)
        event_add(w, o->seq, 2 + k, "alert", payload);
      else
        json_decref(payload);
    }
  }
}

/* Everything stored for the patient after the slot's fed_seq, sorted
** canonically, into the (locked) slot. */
static int catch_up(mt_server *s, mt_store *rd, twin_slot *w, int live)
{
  char err[MT_ERRMSG_MAX];
  mt_obs *rows = NULL;
  size_t n = 0;
  int rc = mt_store_obs_since(rd, w->patient, w->fed_seq, &rows, &n, err,
                              sizeof err);
  if (rc)
    return rc;
  if (n > 1)
    qsort(rows, n, sizeof *rows, canonical);
  if (n)
    take(s, rd, w, rows, n, live);
  free(rows);
  return 0;
}

#define SNAP_READINGS 12     /* an hour of 5-min readings */
#define SNAP_WALL_MS 60000   /* and no more often than once a minute */

void twins_feed(mt_server *s, mt_store *rd, const char *patient)
{
  twin_slot *w = slot_of(s, patient);
  if (!w || !rd)
    return;
  pthread_mutex_lock(&w->lock);
  if (w->ready && w->tw) {
    int64_t before = w->fed_seq;
    catch_up(s, rd, w, 1);
    if (w->listeners && w->fed_seq != before) {
      json_t *f = forecast_json(w);
      if (f)
        event_add(w, w->fed_seq, 1, "forecast",
                  json_pack("{s:s, s:o, s:o}", "patient", w->patient,
                            "forecast", f, "parameters",
                            parameters_json(w)));
    }
    if (w->since_snap >= SNAP_READINGS &&
        now_ms() - w->snap_wall_ms >= s->cfg.snapshot_ms)
      snapshot(s, w, 0);
  }
  pthread_mutex_unlock(&w->lock);
}

/* ---- set, restore, save ------------------------------------------------------ */

static int make_twin(twin_slot *w, const void *img, size_t n_img, char *err,
                     size_t errlen)
{
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  cfg.model = w->model;
  mt_twin_config_use_spec(&cfg); /* the settings tuned for the model, as
                                 ** twin run uses them */
  cfg.group = w->group;
  cfg.seed = w->seed;
  mt_twin_free(w->tw);
  w->tw = NULL;
  return n_img ? mt_twin_restore(&cfg, img, n_img, &w->tw, err, errlen)
               : mt_twin_create(&cfg, &w->tw, err, errlen);
}

/* Restore one twin from its latest snapshot and what came after. */
static int restore_one(mt_server *s, mt_store *rd, const char *patient,
                       const char *model, char *err, size_t errlen)
{
  void *blob = NULL;
  size_t len = 0;
  int64_t at;
  int rc = mt_store_snapshot_latest(rd, patient, model, &at, &blob, &len, err,
                                    errlen);
  if (rc)
    return rc;
  const unsigned char *b = blob;
  size_t tl = len >= 8 ? (size_t)b[4] << 24 | (size_t)b[5] << 16 |
                             (size_t)b[6] << 8 | b[7]
                       : 0;
  json_error_t je;
  json_t *h = len >= 8 && !memcmp(b, "MTSV", 4) && tl <= len - 8
                  ? json_loadb((const char *)b + 8, tl, 0, &je)
                  : NULL;
  const char *group = json_string_value(json_object_get(h, "group"));
  if (!h || !group) {
    json_decref(h);
    free(blob);
    snprintf(err, errlen, "twin of %s: the snapshot is not readable",
             patient);
    return MT_EINVAL;
  }
  twin_slot *w = slot_of(s, patient);
  if (w)
    pthread_mutex_lock(&w->lock);
  else if (!(w = slot_new(s, patient))) {
    json_decref(h);
    free(blob);
    return MT_ENOMEM;
  }
  snprintf(w->model, sizeof w->model, "%.31s", model);
  snprintf(w->group, sizeof w->group, "%s", group);
  w->seed = (uint64_t)json_integer_value(json_object_get(h, "seed"));
  w->t0_ms = json_integer_value(json_object_get(h, "t0_ms"));
  w->started = json_is_true(json_object_get(h, "started"));
  w->fed_seq = json_integer_value(json_object_get(h, "fed_seq"));
  w->readings = (long)json_integer_value(json_object_get(h, "readings"));
  w->inputs = (long)json_integer_value(json_object_get(h, "inputs"));
  w->refused = (long)json_integer_value(json_object_get(h, "refused"));
  snprintf(w->last_ref, sizeof w->last_ref, "%s",
           json_string_value(json_object_get(h, "last_ref"))
               ? json_string_value(json_object_get(h, "last_ref"))
               : "");
  json_decref(h);
  rc = make_twin(w, b + 8 + tl, len - 8 - tl, err, errlen);
  free(blob);
  if (!rc)
    rc = catch_up(s, rd, w, 0);
  w->ready = rc == 0;
  w->snap_wall_ms = now_ms();
  pthread_mutex_unlock(&w->lock);
  return rc;
}

int twins_restore(mt_server *s, char *err, size_t errlen)
{
  mt_store_twin_key *keys = NULL;
  size_t n = 0;
  int rc = mt_store_snapshot_keys(s->store, &keys, &n, err, errlen);
  for (size_t k = 0; !rc && k < n;) {
    /* a patient whose twin changed model has snapshots of each: the one
    ** set last is the twin (keys come ordered by patient) */
    size_t e = k + 1, best = k;
    while (e < n && !strcmp(keys[e].patient, keys[k].patient))
      e++;
    int64_t best_at = INT64_MIN;
    for (size_t i = k; e > k + 1 && !rc && i < e; i++) {
      void *blob = NULL;
      size_t len = 0;
      int64_t at;
      rc = mt_store_snapshot_latest(s->store, keys[i].patient, keys[i].model,
                                    &at, &blob, &len, err, errlen);
      free(blob);
      if (!rc && at >= best_at)
        best_at = at, best = i;
    }
    if (!rc)
      rc = restore_one(s, s->store, keys[best].patient, keys[best].model,
                       err, errlen);
    k = e;
  }
  free(keys);
  return rc;
}

/* On a graceful stop: a snapshot of every twin with news since its last. */
void twins_save_all(mt_server *s)
{
  for (int k = 0; k < s->n_twin; k++) {
    twin_slot *w = s->twin[k];
    pthread_mutex_lock(&w->lock);
    if (w->ready && w->since_snap > 0)
      snapshot(s, w, 1);
    pthread_mutex_unlock(&w->lock);
  }
}

void twins_free(mt_server *s)
{
  for (int k = 0; k < s->n_twin; k++) {
    twin_slot *w = s->twin[k];
    mt_twin_free(w->tw);
    for (int e = 0; e < EVENT_RING; e++)
      free(w->ring[e].data);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->news);
    free(w);
  }
  free(s->twin);
  s->twin = NULL, s->n_twin = 0;
}

void twins_forget(mt_server *s, const char *patient)
{
  twin_slot *w = slot_of(s, patient);
  if (!w)
    return;
  pthread_mutex_lock(&w->lock);
  mt_twin_free(w->tw);
  w->tw = NULL;
  w->ready = 0; /* not listed, never fed; the slot itself stays (slots never
                  move or go: readers hold them without the list lock) */
  for (int e = 0; e < EVENT_RING; e++) {
    free(w->ring[e].data);
    w->ring[e].data = NULL;
  }
  w->n_events = 0;
  w->readings = w->inputs = w->refused = w->since_snap = 0;
  w->last_ref[0] = '\0';
  pthread_cond_broadcast(&w->news);
  pthread_mutex_unlock(&w->lock);
}

/* Wake every events stream (the server is stopping). */
void twins_wake(mt_server *s)
{
  pthread_mutex_lock(&s->tw_lock);
  for (int k = 0; k < s->n_twin; k++) {
    pthread_mutex_lock(&s->twin[k]->lock);
    pthread_cond_broadcast(&s->twin[k]->news);
    pthread_mutex_unlock(&s->twin[k]->lock);
  }
  pthread_mutex_unlock(&s->tw_lock);
}

/* ---- the twin API ------------------------------------------------------------ */

/* The forecast observable of a slot's twin and its UCUM unit ("CGM",
** "mg/dL"; "MAP", "mm[Hg]"), from the model's table. */
static void primary_of(twin_slot *w, const char **name, const char **unit)
{
  const mt_model *m = w->tw ? mt_twin_model(w->tw) : NULL;
  int k = w->tw ? mt_twin_primary(w->tw) : -1;
  *name = m && k >= 0 ? m->obs[k].name : "";
  *unit = m && k >= 0 ? m->obs[k].unit : "";
}

static json_t *twin_json(twin_slot *w)
{
  double t = w->tw ? mt_twin_time(w->tw) : NAN;
  const char *obs, *unit;
  primary_of(w, &obs, &unit);
  json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s}",
                        "patient", w->patient, "model", w->model,
                        "prior_group", w->group, "readings",
                        (json_int_t)w->readings, "inputs",
                        (json_int_t)w->inputs, "refused",
                        (json_int_t)w->refused, "seq", (json_int_t)w->fed_seq,
                        "observable", obs, "unit", unit);
  json_object_set_new(o, "t_min", isnan(t) ? json_null() : json_real(t));
  if (!isnan(t)) {
    char when[40];
    iso_of(w, t, when, sizeof when);
    json_object_set_new(o, "time", json_string(when));
  }
  return o;
}

typedef struct put_arg {
  twin_slot tmp; /* patient, model, group, seed */
} put_arg;

static int job_put(mt_store *st, job *j)
{
  put_arg *a = j->arg;
  void *blob;
  size_t len;
  int rc = slot_image(&a->tmp, &blob, &len);
  if (!rc)
    rc = mt_store_snapshot_put(st, a->tmp.patient, a->tmp.model,
                               a->tmp.snap_wall_ms, blob, len, j->err,
                               sizeof j->err);
  if (rc == MT_ENOMEM)
    snprintf(j->err, sizeof j->err, "out of memory");
  free(blob);
  return rc;
}

/* PUT /api/twins/{patient}: which model the patient's twin runs. Stored
** first (a snapshot with no image: start from the prior), then the twin is
** built and takes the patient's stored data. */
void h_twin_put(ctx *c, reply *r)
{
  const char *patient = c->param[0];
  const char *model = json_string_value(json_object_get(c->body, "model"));
  const char *prior = json_string_value(json_object_get(c->body, "prior"));
  const char *group = json_string_value(json_object_get(c->body, "group"));
  json_t *seed = json_object_get(c->body, "seed");
  r->type = "application/json";
  if (!json_is_object(c->body)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL,
         "expected a JSON object {\"model\": ..., \"prior\": ..., ...}");
    return;
  }
  if (!model || !mt_twin_spec_find(model)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "model",
         "model: expected \"uva_padova_t1d\" (the metabolic twin) or "
         "\"circulation_beatavg\" (the cardiovascular twin)");
    return;
  }
  /* the prior groups of each model's population */
  int heart = !strcmp(model, "circulation_beatavg");
  const char *groups = heart ? "adult" : "adult, adolescent or child";
  int prior_group = prior && strcmp(prior, "population") &&
                    (!strcmp(prior, "adult") ||
                     (!heart && (!strcmp(prior, "adolescent") ||
                                 !strcmp(prior, "child"))));
  if ((json_object_get(c->body, "prior") && !prior) ||
      (prior && strcmp(prior, "population") && !prior_group)) {
    char msg[160];
    snprintf(msg, sizeof msg, "prior: expected \"population\" or a prior "
             "group of %s: %s", model, groups);
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "prior", msg);
    return;
  }
  if (prior_group && group && strcmp(group, prior)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "group",
         "group: differs from the prior group named in prior");
    return;
  }
  if (prior_group)
    group = prior;
  if ((json_object_get(c->body, "group") && !group) ||
      (group && strcmp(group, "adult") &&
       (heart || (strcmp(group, "adolescent") && strcmp(group, "child"))))) {
    char msg[160];
    snprintf(msg, sizeof msg, "group: expected %s (the prior groups of %s)",
             groups, model);
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "group", msg);
    return;
  }
  if (seed && !(json_is_integer(seed) && json_integer_value(seed) >= 0)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "seed",
         "seed: expected an integer >= 0");
    return;
  }
  put_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.tmp.patient, sizeof a.tmp.patient, "%s", patient);
  snprintf(a.tmp.model, sizeof a.tmp.model, "%s", model);
  snprintf(a.tmp.group, sizeof a.tmp.group, "%s", group ? group : "adult");
  a.tmp.seed = seed ? (uint64_t)json_integer_value(seed) : 1;
  char err[MT_ERRMSG_MAX];
  { /* the configuration must make a twin before it is stored */
    mt_twin_config cfg;
    mt_twin *probe = NULL;
    mt_twin_config_init(&cfg);
    cfg.model = a.tmp.model, cfg.group = a.tmp.group, cfg.seed = a.tmp.seed;
    mt_twin_config_use_spec(&cfg);
    if (mt_twin_create(&cfg, &probe, err, sizeof err)) {
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL, err);
      return;
    }
    mt_twin_free(probe);
  }
  a.tmp.snap_wall_ms = snap_time(c->s);
  job j = {.fn = job_put, .arg = &a};
  int rc = write_wait(c->s, &j);
  if (rc) {
    store_failed(r, rc, j.err);
    return;
  }
  twin_slot *w = slot_of(c->s, patient);
  int created = !w;
  if (w)
    pthread_mutex_lock(&w->lock);
  else if (!(w = slot_new(c->s, patient))) {
    fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
         "out of memory");
    return;
  }
  snprintf(w->model, sizeof w->model, "%s", a.tmp.model);
  snprintf(w->group, sizeof w->group, "%s", a.tmp.group);
  w->seed = a.tmp.seed;
  w->ready = 0, w->started = 0, w->fed_seq = 0, w->t0_ms = 0;
  w->readings = w->inputs = w->refused = 0, w->since_snap = 0;
  w->last_ref[0] = '\0';
  rc = make_twin(w, NULL, 0, err, sizeof err);
  if (!rc)
    rc = catch_up(c->s, reader(c), w, 0);
  w->ready = rc == 0;
  w->snap_wall_ms = now_ms();
  if (rc)
    fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL, err);
  else {
    r->status = created ? MHD_HTTP_CREATED : MHD_HTTP_OK;
    r->doc = twin_json(w);
  }
  pthread_mutex_unlock(&w->lock);
}

void h_twins(ctx *c, reply *r)
{
  json_t *a = json_array();
  mt_server *s = c->s;
  pthread_mutex_lock(&s->tw_lock);
  int n = s->n_twin;
  pthread_mutex_unlock(&s->tw_lock);
  for (int k = 0; k < n; k++) {
    twin_slot *w = s->twin[k];
    if (!auth_sees(c, w->patient)) /* the patient id never changes */
      continue;
    pthread_mutex_lock(&w->lock);
    if (w->ready)
      json_array_append_new(a, twin_json(w));
    pthread_mutex_unlock(&w->lock);
  }
  r->status = MHD_HTTP_OK;
  r->type = "application/json";
  r->doc = json_pack("{s:o}", "twins", a);
}

static twin_slot *ready_slot(ctx *c, reply *r)
{
  twin_slot *w = slot_of(c->s, c->param[0]);
  if (w) {
    pthread_mutex_lock(&w->lock);
    if (w->ready && w->tw)
      return w;
    pthread_mutex_unlock(&w->lock);
  }
  fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL,
       "no twin for this patient (PUT /api/twins/{patient} sets one)");
  return NULL;
}

/* The alerts in the store's log, oldest first. */
static json_t *alerts_json(ctx *c, const char *patient)
{
  json_t *a = json_array();
  char err[MT_ERRMSG_MAX];
  mt_store_event *ev = NULL;
  size_t n = 0;
  mt_store *rd = reader(c);
  if (rd && mt_store_event_list(rd, MT_STORE_ALERT, patient, INT64_MIN,
                                INT64_MAX, &ev, &n, err, sizeof err) == 0)
    for (size_t k = 0; k < n; k++) {
      json_error_t je;
      json_t *p = load(ev[k].payload, &je);
      if (p)
        json_array_append_new(a, p);
    }
  mt_store_event_list_free(ev, n);
  return a;
}

void h_twin_get(ctx *c, reply *r)
{
  twin_slot *w = ready_slot(c, r);
  if (!w)
    return;
  json_t *o = twin_json(w);
  json_t *f = forecast_json(w);
  json_object_set_new(o, "parameters", parameters_json(w));
  pthread_mutex_unlock(&w->lock);
  if (f)
    json_object_set_new(o, "forecast", f);
  json_object_set_new(o, "alerts", alerts_json(c, c->param[0]));
  r->status = MHD_HTTP_OK;
  r->type = "application/json";
  r->doc = o;
}

/*
** GET /api/twins/{patient}/forecast: the forecast as FHIR: a collection
** Bundle of one Observation per horizon (the predicted reading of the
** twin's primary observable: LOINC 99504-3 in mg/dL for the glucose twin,
** 8478-0 mean blood pressure in mm[Hg] for the heart: valueQuantity the
** mean, its quantiles as components, derivedFrom the last reading
** assimilated, effectiveDateTime the time predicted) and the patient's
** alerts as Flags.
*/
void h_twin_forecast(ctx *c, reply *r)
{
  twin_slot *w = ready_slot(c, r);
  if (!w)
    return;
  json_t *f = forecast_json(w);
  const char *pobs, *unit;
  primary_of(w, &pobs, &unit);
  int heart = !strcmp(pobs, "MAP");
  const char *loinc = heart ? "8478-0" : "99504-3";
  const char *display = heart ? "Mean blood pressure"
                              : "Glucose [Mass/volume] in Interstitial fluid";
  char method[96];
  snprintf(method, sizeof method, "medtwin ensemble forecast (%s)",
           w->model);
  char subject[80], issued[40], from[80] = "";
  snprintf(subject, sizeof subject, "Patient/%s", w->patient);
  iso_ms(now_ms(), issued, sizeof issued);
  if (w->last_ref[0])
    snprintf(from, sizeof from, "Observation/%s", w->last_ref);
  pthread_mutex_unlock(&w->lock);
  json_t *entries = json_array();
  size_t i;
  json_t *h;
  static const char *const qk[7] = {"p025", "p10", "p25", "p50",
                                    "p75",  "p90", "p975"};
  static const char *const qn[7] = {"2.5", "10", "25", "50", "75", "90",
                                    "97.5"};
  json_array_foreach(f, i, h) {
    json_t *comp = json_array();
    for (int k = 0; k < 7; k++) {
      char text[64];
      snprintf(text, sizeof text, "forecast reading, %s th percentile",
               qn[k]);
      json_array_append_new(
          comp,
          json_pack("{s:{s:[{s:s, s:s, s:s}], s:s}, s:{s:o, s:s, s:s, s:s}}",
                    "code", "coding", "system", "urn:medtwin:forecast",
                    "code", qk[k], "display", text, "text", text,
                    "valueQuantity", "value",
                    dec1(json_real_value(json_object_get(h,
                                                                     qk[k]))),
                    "unit", unit, "system", "http://unitsofmeasure.org",
                    "code", unit));
    }
    json_t *o = json_pack(
        "{s:s, s:s, s:[{s:[{s:s, s:s}]}], s:{s:[{s:s, s:s, s:s}], s:s}, "
        "s:{s:s}, s:s, s:s, s:{s:o, s:s, s:s, s:s}, s:o, s:s}",
        "resourceType", "Observation", "status", "preliminary", "category",
        "coding", "system",
        "http://terminology.hl7.org/CodeSystem/observation-category", "code",
        heart ? "vital-signs" : "laboratory", "code", "coding", "system",
        "http://loinc.org", "code", loinc, "display", display, "text",
        heart ? "forecast MAP reading" : "forecast CGM reading", "subject",
        "reference", subject,
        "effectiveDateTime",
        json_string_value(json_object_get(h, "time")), "issued", issued,
        "valueQuantity", "value",
        dec1(json_real_value(json_object_get(h, "mean"))),
        "unit", unit, "system", "http://unitsofmeasure.org", "code",
        unit, "component", comp, "method", "");
    json_object_del(o, "method");
    json_object_set_new(o, "method",
                        json_pack("{s:s}", "text", method));
    if (from[0])
      json_object_set_new(o, "derivedFrom",
                          json_pack("[{s:s}]", "reference", from));
    json_array_append_new(entries, json_pack("{s:o}", "resource", o));
  }
  json_decref(f);
  /* the Flags of the patient's alerts */
  mt_res_query q;
  memset(&q, 0, sizeof q);
  q.type = "Flag", q.patient = c->param[0], q.count = 1000, q.sort = 1;
  mt_resource *list = NULL;
  size_t n = 0;
  long total = 0;
  char err[MT_ERRMSG_MAX];
  mt_store *rd = reader(c);
  if (rd && !mt_store_resource_search(rd, &q, &list, &n, &total, err,
                                      sizeof err))
    for (size_t k = 0; k < n; k++) {
      reply one = {0};
      with_meta(&list[k], &one);
      char url[160];
      snprintf(url, sizeof url, "Flag/%s", list[k].id);
      if (one.doc)
        json_array_append_new(entries, json_pack("{s:s, s:o}", "fullUrl", url,
                                                 "resource", one.doc));
    }
  mt_resource_list_free(list, n);
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:s, s:s, s:o}", "resourceType", "Bundle", "type",
                     "collection", "timestamp", issued, "entry", entries);
}

/* ---- server-sent events ------------------------------------------------------ */

typedef struct stream {
  mt_server *s;
  twin_slot *w;
  principal who;         /* whose stream: its access is checked again */
  int64_t checked;
  int64_t next;          /* the next event to send (index into the ring) */
  char buf[4096];
  size_t len, off;
  int64_t last_beat;
} stream;

#define HEARTBEAT_MS 15000
#define RECHECK_MS 5000 /* a withdrawn consent or access ends a stream */

/* Block (this connection's own thread) until an event or a heartbeat is
** due: never a busy loop. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
  stream *st = cls;
  twin_slot *w = st->w;
  (void)pos;
  if (st->off < st->len) {
    size_t n = st->len - st->off < max ? st->len - st->off : max;
    memcpy(out, st->buf + st->off, n);
    st->off += n;
    return (ssize_t)n;
  }
  st->len = st->off = 0;
  if (now_ms() - st->checked >= RECHECK_MS) {
    if (!auth_still(st->s, &st->who, w->patient))
      return MHD_CONTENT_READER_END_OF_STREAM;
    st->checked = now_ms();
  }
  pthread_mutex_lock(&w->lock);
  for (;;) {
    if (st->s->closing) {
      pthread_mutex_unlock(&w->lock);
      return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (st->next < w->n_events) {
      if (w->n_events - st->next > EVENT_RING) { /* fell behind: skip on */
        int64_t lost = w->n_events - EVENT_RING - st->next;
        st->next = w->n_events - EVENT_RING;
        st->len = (size_t)snprintf(st->buf, sizeof st->buf,
                                   "event: overflow\ndata: {\"lost\":%lld}"
                                   "\n\n", (long long)lost);
      } else {
        twin_event *e = &w->ring[st->next % EVENT_RING];
        int n = snprintf(st->buf, sizeof st->buf,
                         "id: %lld.%d\nevent: %s\ndata: %s\n\n",
                         (long long)e->seq, e->sub, e->kind,
                         e->data ? e->data : "{}");
        st->len = n > 0 && (size_t)n < sizeof st->buf ? (size_t)n : 0;
        st->next++;
      }
      break;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t wait = st->last_beat + HEARTBEAT_MS - now_ms();
    if (wait <= 0) {
      st->len = (size_t)snprintf(st->buf, sizeof st->buf, ": heartbeat\n\n");
      st->last_beat = now_ms();
      break;
    }
    if (wait > RECHECK_MS)
      wait = RECHECK_MS;
    until.tv_sec += wait / 1000;
    until.tv_nsec += (long)(wait % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
      until.tv_sec++, until.tv_nsec -= 1000000000L;
    if (pthread_cond_timedwait(&w->news, &w->lock, &until) &&
        now_ms() - st->checked >= RECHECK_MS) {
      pthread_mutex_unlock(&w->lock); /* time to check the access again */
      if (!auth_still(st->s, &st->who, w->patient))
        return MHD_CONTENT_READER_END_OF_STREAM;
      st->checked = now_ms();
      pthread_mutex_lock(&w->lock);
    }
  }
  pthread_mutex_unlock(&w->lock);
  size_t n = st->len < max ? st->len : max;
  memcpy(out, st->buf, n);
  st->off = n;
  return (ssize_t)n;
}

static void stream_free(void *cls)
{
  stream *st = cls;
  pthread_mutex_lock(&st->w->lock);
  st->w->listeners--;
  pthread_mutex_unlock(&st->w->lock);
  free(st);
}

/* GET /api/twins/{patient}/events: every assimilation, forecast and alert
** as it happens (text/event-stream); Last-Event-ID resumes after that
** event while it is still in the twin's last EVENT_RING. */
void h_twin_events(ctx *c, reply *r)
{
  twin_slot *w = ready_slot(c, r);
  if (!w)
    return;
  stream *st = calloc(1, sizeof *st);
  if (!st) {
    pthread_mutex_unlock(&w->lock);
    fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
         "out of memory");
    return;
  }
  st->s = c->s, st->w = w, st->next = w->n_events, st->last_beat = now_ms();
  st->who = c->who, st->checked = now_ms();
  const char *last = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
                                                 "Last-Event-ID");
  long long lseq;
  int lsub;
  if (last && sscanf(last, "%lld.%d", &lseq, &lsub) == 2) {
    int64_t first = w->n_events > EVENT_RING ? w->n_events - EVENT_RING : 0;
    st->next = first;
    for (int64_t k = w->n_events - 1; k >= first; k--) {
      twin_event *e = &w->ring[k % EVENT_RING];
      if (e->seq < lseq || (e->seq == lseq && e->sub <= lsub)) {
        st->next = k + 1;
        break;
      }
    }
  }
  w->listeners++;
  pthread_mutex_unlock(&w->lock);
  /* an opening comment at once, so that a client sees the stream open */
  st->len = (size_t)snprintf(st->buf, sizeof st->buf, ": medtwin events of "
                             "%s\nretry: 2000\n\n", c->param[0]);
  r->raw = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                                             stream_read, st, stream_free);
  if (!r->raw) {
    stream_free(st);
    fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
         "out of memory");
    return;
  }
  MHD_add_response_header(r->raw, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "text/event-stream");
  MHD_add_response_header(r->raw, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  r->status = MHD_HTTP_OK;
}

/* ---- what if --------------------------------------------------------------- */

/*
** POST /api/twins/{patient}/whatif: {"candidates": [{"kind": "bolus",
** "amount": 4}, {"kind": "temp_basal", "amount": 50, "duration_min": 60},
** ...], "meal_g": 50} → the candidates run on the twin's ensemble (it is
** unchanged), ranked (include/medtwin/whatif.h).
*/
void h_twin_whatif(ctx *c, reply *r)
{
  json_t *cands = json_object_get(c->body, "candidates");
  json_t *meal = json_object_get(c->body, "meal_g");
  double meal_g = 0;
  r->type = "application/json";
  if (!json_is_array(cands) || json_array_size(cands) == 0 ||
      json_array_size(cands) > 32) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "candidates",
         "candidates: expected an array of 1 to 32 actions");
    return;
  }
  if (meal && (!mtj_number(meal, &meal_g) || !(meal_g >= 0 &&
                                                meal_g <= 200))) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "meal_g",
         "meal_g: expected grams 0 to 200");
    return;
  }
  int n = (int)json_array_size(cands);
  mt_action a[32];
  for (int k = 0; k < n; k++) {
    json_t *x = json_array_get(cands, (size_t)k);
    const char *kind = json_string_value(json_object_get(x, "kind"));
    char path[64], msg[200];
    snprintf(path, sizeof path, "candidates[%d]", k);
    memset(&a[k], 0, sizeof a[k]);
    a[k].kind = MT_ACTION_NKIND;
    for (int m = 0; kind && m < MT_ACTION_NKIND; m++)
      if (!strcmp(kind, mt_action_kind_name((mt_action_kind)m)))
        a[k].kind = (mt_action_kind)m;
    if (a[k].kind == MT_ACTION_NKIND) {
      snprintf(msg, sizeof msg, "%s.kind: expected nothing, bolus, carbs or "
               "temp_basal", path);
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", path, msg);
      return;
    }
    json_t *am = json_object_get(x, "amount"), *du = json_object_get(x,
                                                      "duration_min");
    if ((am && !mtj_number(am, &a[k].amount)) ||
        (du && !mtj_number(du, &a[k].duration_min))) {
      snprintf(msg, sizeof msg, "%s: amount and duration_min are numbers",
               path);
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", path, msg);
      return;
    }
    const char *why = mt_action_check(&a[k]);
    if (why) {
      snprintf(msg, sizeof msg, "%s.%s", path, why);
      fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "business-rule", path, msg);
      return;
    }
  }
  twin_slot *w = ready_slot(c, r);
  if (!w)
    return;
  if (isnan(mt_twin_time(w->tw))) {
    pthread_mutex_unlock(&w->lock);
    fail(r, MHD_HTTP_CONFLICT, "business-rule", NULL,
         "the twin has no reading yet: nothing to start a what-if from");
    return;
  }
  mt_whatif *res = calloc((size_t)n, sizeof *res);
  char err[MT_ERRMSG_MAX];
  int rc = res ? mt_whatif_run(w->tw, a, n, meal_g, res, err, sizeof err)
               : MT_ENOMEM;
  pthread_mutex_unlock(&w->lock);
  if (rc) {
    free(res);
    fail(r, rc == MT_EINVAL ? MHD_HTTP_UNPROCESSABLE_CONTENT
                            : MHD_HTTP_INTERNAL_SERVER_ERROR,
         rc == MT_EINVAL ? "business-rule" : "exception", NULL,
         rc == MT_ENOMEM ? "out of memory" : err);
    return;
  }
  mt_whatif_rank(res, n);
  json_t *out = json_array();
  for (int k = 0; k < n; k++) {
    char label[96];
    mt_action_label(&res[k].action, label, sizeof label);
    json_t *traj = json_array();
    for (int t = 0; t < MT_WHATIF_NT; t += 6)
      json_array_append_new(
          traj, json_pack("{s:f, s:f, s:f, s:f}", "t_min", res[k].t_min[t],
                          "p10", res[k].q[t][1], "p50", res[k].q[t][2],
                          "p90", res[k].q[t][3]));
    json_array_append_new(
        out, json_pack("{s:i, s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:s, s:o}",
                       "rank", k + 1, "action", label, "kind",
                       mt_action_kind_name(res[k].action.kind), "amount",
                       res[k].action.amount, "tir", res[k].tir, "p_below70",
                       res[k].p_below70, "p_below54", res[k].p_below54,
                       "mean_mgdl", res[k].mean_mgdl, "reason",
                       res[k].reason, "bg", traj));
  }
  free(res);
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:f, s:o}", "patient", c->param[0], "meal_g",
                     meal_g, "ranked", out);
}
