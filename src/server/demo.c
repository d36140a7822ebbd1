/*
** The demo (serve --demo, docs/API.md "Demo"): the 30 virtual patients
** shipped with the UVA/Padova model (10 adults, 10 adolescents, 10
** children) streamed through the server's own ingest path on a clock sped
** up cfg.demo_speed times.
**
** Each patient's life comes from the generator behind `medtwin twin
** replay` (include/medtwin/replay.h): blocks of seven generated days (seed
** 1 + block * 30 + the patient's index), CGM readings every 5 min with the
** sensor's error model, announced meals with their boluses, and the
** constant basal rate. A block's t = 0 is a midnight (UTC); block 0 is
** placed so that its first day is today (its second when it is not yet
** 03:00), so that the demo's clock starts at the real time of day and its
** meals fall at their hours. When a block runs
** out the next one follows (a new generated life, from the model's steady
** state) with a new sensor: its first 2 h have no readings (a warm-up),
** so that the jump from one life's glucose to the next is not a jump
** within a sensor's readings. The demo runs until the server stops.
**
** At start, on a thread of its own: per patient, a Patient resource
** (conditional create on identifier urn:medtwin:virtual-patient|NAME), its
** twin (as PUT /api/twins/{id} with the patient's group) and the last 3 h
** of data before now (a preload, so that forecasts exist at once). Then a
** step every 300 / speed s of wall time: the next 5 min of all 30 patients'
** data as one FHIR transaction (Observation 99504-3 mg/dL and 9059-7 g,
** MedicationAdministration dose [iU] and rateQuantity [iU]/h), exactly as
** a client would post it. The data's timestamps start at the real time
** and run ahead of it by (speed - 1) x the time elapsed.
**
** Handlers are called with a ctx whose conn is NULL (internal.h). The
** thread waits on a condition variable with a deadline, so demo_stop ends
** it at once.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "medtwin/model.h"
#include "medtwin/replay.h"
#include "server/internal.h"
#include "server/jsonx.h"

#define DEMO_MAX 30          /* patients */
#define BLOCK_DAYS 7         /* days per generated block: a sensor's life */
#define BLOCK_MIN (BLOCK_DAYS * 1440.0)
#define PRELOAD_MIN 180.0    /* data sent at once at start */
#define STEP_MIN 5.0         /* simulated minutes per step */
#define WARMUP_MIN 120.0     /* no readings from a new sensor before this */
#define ID_SYSTEM "urn:medtwin:virtual-patient"
#define DEMO_USER "demo" /* the login printed at start */

static const char *const groups[] = {"adult", "adolescent", "child"};

typedef struct demo_patient {
  int index;                 /* in the model's patient set */
  const char *name;          /* "adult#001" (static) */
  const char *group;
  char id[MT_STORE_KEY_MAX + 1]; /* the Patient's FHIR id */
  mt_replay *rp, *next;      /* the current block and the one after */
  int block;                 /* rp's block number */
  int cur;                   /* rp's next datum to send */
} demo_patient;

typedef struct demo {
  mt_server *s;
  pthread_t th;
  pthread_mutex_t lock;
  pthread_cond_t wake; /* signalled by demo_stop */
  int stop;            /* under lock */
  double speed;
  int64_t day0_ms;     /* Unix ms of block 0's t = 0 */
  double t_now;        /* block 0's minute at the start: now */
  int n;
  demo_patient p[DEMO_MAX];
  char user_id[MT_ACCESS_ID_MAX + 1]; /* the demo login's */
} demo;

/* ---- resources, as a client would send them (cf. ingest.c) ---- */

static json_t *quantity(double v, int decimals, const char *unit)
{
  char buf[40];
  snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return json_pack("{s:o, s:s, s:s, s:s}", "value", mtj_decimal(buf), "unit",
                   unit, "system", "http://unitsofmeasure.org", "code", unit);
}

static json_t *observation(const char *subject, const char *when,
                           const char *loinc, const char *display,
                           const char *category, json_t *value)
{
  return json_pack(
      "{s:s, s:s, s:[{s:[{s:s, s:s}]}], s:{s:[{s:s, s:s, s:s}]}, s:{s:s}, "
      "s:s, s:o}",
      "resourceType", "Observation", "status", "final", "category", "coding",
      "system", "http://terminology.hl7.org/CodeSystem/observation-category",
      "code", category, "code", "coding", "system", "http://loinc.org",
      "code", loinc, "display", display, "subject", "reference", subject,
      "effectiveDateTime", when, "valueQuantity", value);
}

static json_t *insulin(const char *subject, const char *when, int basal,
                       json_t *value)
{
  return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:s, s:{s:o}}",
                   "resourceType", "MedicationAdministration", "status",
                   "completed", "medicationCodeableConcept", "text",
                   basal ? "insulin, basal rate" : "insulin, bolus",
                   "subject", "reference", subject, "effectiveDateTime", when,
                   "dosage", basal ? "rateQuantity" : "dose", value);
}

/* One datum of patient p at absolute demo minute a as a resource. */
static json_t *resource_of(const demo *d, const demo_patient *p,
                           const mt_datum *x, double a)
{
  char subject[MT_STORE_KEY_MAX + 16], when[40];
  snprintf(subject, sizeof subject, "Patient/%s", p->id);
  iso_ms(d->day0_ms + (int64_t)(a * 60000.0 + 0.5), when, sizeof when);
  switch (x->kind) {
  case MT_DATA_CGM: /* whole mg/dL, as sensors report them */
    return observation(subject, when, "99504-3",
                       "Glucose [Mass/volume] in Interstitial fluid",
                       "laboratory", quantity(x->value, 0, "mg/dL"));
  case MT_DATA_CARBS:
    return observation(subject, when, "9059-7",
                       "Carbohydrate intake Estimated", "survey",
                       quantity(x->value, 0, "g"));
  case MT_DATA_BOLUS:
    return insulin(subject, when, 0, quantity(x->value, 2, "[iU]"));
  case MT_DATA_BASAL:
    return insulin(subject, when, 1, quantity(x->value, 3, "[iU]/h"));
  default:
    return NULL;
  }
}

static void add(json_t *entries, json_t *res, const char *if_none_exist)
{
  const char *type = json_string_value(json_object_get(res, "resourceType"));
  json_t *req = json_pack("{s:s, s:s}", "method", "POST", "url", type);
  if (if_none_exist)
    json_object_set_new(req, "ifNoneExist", json_string(if_none_exist));
  json_array_append_new(entries,
                        json_pack("{s:o, s:o}", "resource", res, "request",
                                  req));
}

/* ---- calls into the handlers, as the dispatcher would make them ---- */

/* The reply's diagnostics, for a failure's message. */
static const char *diagnostics(const reply *r)
{
  json_t *issue = json_array_get(json_object_get(r->doc, "issue"), 0);
  const char *m = json_string_value(json_object_get(issue, "diagnostics"));
  return m ? m : "no detail";
}

/* POST /fhir with a transaction of entries (taken). 0, or -1 with a line
** on stderr. On success the response Bundle into *out when out is not
** NULL (the caller's to release). */
static int transact(demo *d, json_t *entries, json_t **out)
{
  ctx c;
  reply r;
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  c.s = d->s, c.method = "POST", c.url = "/fhir";
  c.body = json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle", "type",
                     "transaction", "entry", entries);
  h_transaction(&c, &r);
  ctx_done(&c);
  json_decref(c.body);
  int ok = r.status == MHD_HTTP_OK;
  if (!ok)
    fprintf(stderr, "medtwin serve: demo: a transaction failed (%u): %s\n",
            r.status, diagnostics(&r));
  if (ok && out)
    *out = r.doc;
  else
    json_decref(r.doc);
  return ok ? 0 : -1;
}

/* The patient's Patient resource, created unless it exists; its id. */
static int patient_create(demo *d, demo_patient *p)
{
  char cond[160];
  const char *hash = strchr(p->name, '#');
  snprintf(cond, sizeof cond, "identifier=%s|%.*s%%23%s", ID_SYSTEM,
           hash ? (int)(hash - p->name) : (int)strlen(p->name), p->name,
           hash ? hash + 1 : "");
  json_t *res = json_pack(
      "{s:s, s:b, s:[{s:s, s:s}], s:[{s:s}]}", "resourceType", "Patient",
      "active", 1, "identifier", "system", ID_SYSTEM, "value", p->name,
      "name", "text", p->name);
  json_t *entries = json_array(), *out = NULL;
  add(entries, res, cond);
  if (transact(d, entries, &out))
    return -1;
  json_t *e = json_array_get(json_object_get(out, "entry"), 0);
  const char *loc = json_string_value(
      json_object_get(json_object_get(e, "response"), "location"));
  const char *slash = loc ? strchr(loc, '/') : NULL;
  const char *end = slash ? strchr(slash + 1, '/') : NULL;
  int ok = end && end - slash - 1 > 0 &&
           (size_t)(end - slash - 1) < sizeof p->id;
  if (ok)
    snprintf(p->id, sizeof p->id, "%.*s", (int)(end - slash - 1), slash + 1);
  else
    fprintf(stderr, "medtwin serve: demo: no Patient id for %s\n", p->name);
  json_decref(out);
  return ok ? 0 : -1;
}

/* PUT /api/twins/{id} {"model": "uva_padova_t1d", "group": ...}. */
static int twin_set(demo *d, demo_patient *p)
{
  ctx c;
  reply r;
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  c.s = d->s, c.method = "PUT", c.url = "/api/twins";
  snprintf(c.param[0], sizeof c.param[0], "%s", p->id);
  c.body = json_pack("{s:s, s:s, s:s}", "model", "uva_padova_t1d", "prior",
                     "population", "group", p->group);
  h_twin_put(&c, &r);
  ctx_done(&c);
  json_decref(c.body);
  int ok = r.status == MHD_HTTP_OK || r.status == MHD_HTTP_CREATED;
  if (!ok)
    fprintf(stderr, "medtwin serve: demo: the twin of %s: %s\n", p->name,
            diagnostics(&r));
  json_decref(r.doc);
  return ok ? 0 : -1;
}

/* ---- the patients' data ---- */

static int stopping(demo *d)
{
  pthread_mutex_lock(&d->lock);
  int stop = d->stop;
  pthread_mutex_unlock(&d->lock);
  return stop;
}

static mt_replay *generate(const demo_patient *p, int block)
{
  mt_replay_config rc;
  mt_replay *rp = NULL;
  char err[MT_ERRMSG_MAX];
  mt_replay_config_init(&rc);
  rc.patient = p->name;
  rc.days = BLOCK_DAYS;
  rc.seed = (uint64_t)(1 + block * DEMO_MAX + p->index);
  if (mt_replay_generate(&rc, &rp, err, sizeof err))
    fprintf(stderr, "medtwin serve: demo: %s: %s\n", p->name, err);
  return rp;
}

/* Append to entries every datum of p up to absolute minute a_end, moving
** to the next block when the current one runs out. Data before a_from are
** skipped, but for the basal rate, which is sent at a_from instead. -1 when
** a block cannot be generated. */
static int collect(demo *d, demo_patient *p, double a_from, double a_end,
                   json_t *entries)
{
  for (;;) {
    const mt_stream *st = mt_replay_stream(p->rp);
    double base = p->block * BLOCK_MIN;
    for (; p->cur < st->n; p->cur++) {
      const mt_datum *x = &st->d[p->cur];
      double a = base + x->t_min;
      if (a > a_end + 1e-9)
        return 0;
      /* a new block, a new sensor: no readings while it warms up */
      if (p->block > 0 && x->kind == MT_DATA_CGM && x->t_min < WARMUP_MIN)
        continue;
      if (a < a_from - 1e-9) {
        if (x->kind != MT_DATA_BASAL)
          continue;
        a = a_from;
      }
      json_t *res = resource_of(d, p, x, a);
      if (res)
        add(entries, res, NULL);
    }
    if (!p->next && !(p->next = generate(p, p->block + 1)))
      return -1;
    mt_replay_free(p->rp);
    p->rp = p->next, p->next = NULL;
    p->block++, p->cur = 0;
  }
}

/* ---- the demo's login: a clinician whose care team is the 30 ---- */

typedef struct login_arg {
  const char *pw, *patient;
  char id[MT_ACCESS_ID_MAX + 1];
} login_arg;

static int job_login(mt_store *st, job *j)
{
  login_arg *a = j->arg;
  mt_user u;
  int rc = mt_store_user_get(st, DEMO_USER, &u, NULL, j->err, sizeof j->err);
  if (rc == MT_ENOTFOUND)
    rc = mt_store_user_add(st, DEMO_USER, a->pw, MT_ROLE_CLINICIAN, NULL, &u,
                           j->err, sizeof j->err);
  else if (!rc && u.role != MT_ROLE_CLINICIAN) {
    snprintf(j->err, sizeof j->err, "user %s exists and is not a clinician",
             DEMO_USER);
    rc = MT_ECONFLICT;
  } else if (!rc)
    rc = mt_store_user_set_password(st, DEMO_USER, a->pw, j->err,
                                    sizeof j->err);
  if (!rc)
    snprintf(a->id, sizeof a->id, "%s", u.id);
  return rc;
}

static int job_team(mt_store *st, job *j)
{
  login_arg *a = j->arg;
  return mt_store_careteam_add(st, a->id, a->patient, j->err, sizeof j->err);
}

/* Block 0, the Patient, the twin and the preload of one patient. */
static int setup_one(demo *d, demo_patient *p)
{
  if (!(p->rp = generate(p, 0)) || patient_create(d, p) || twin_set(d, p))
    return -1;
  login_arg a = {NULL, p->id, ""};
  snprintf(a.id, sizeof a.id, "%s", d->user_id);
  job j = {.fn = job_team, .arg = &a};
  if (write_wait(d->s, &j)) {
    fprintf(stderr, "medtwin serve: demo: care team: %s\n", j.err);
    return -1;
  }
  json_t *entries = json_array();
  if (collect(d, p, d->t_now - PRELOAD_MIN, d->t_now, entries)) {
    json_decref(entries);
    return -1;
  }
  return transact(d, entries, NULL);
}

/* Wait until the monotonic deadline or a stop; 1 when stopping. */
static int wait_until(demo *d, const struct timespec *deadline)
{
  pthread_mutex_lock(&d->lock);
  while (!d->stop &&
         pthread_cond_timedwait(&d->wake, &d->lock, deadline) != ETIMEDOUT)
    ;
  int stop = d->stop;
  pthread_mutex_unlock(&d->lock);
  return stop;
}

static void *demo_main(void *arg)
{
  demo *d = arg;
  for (int i = 0; i < d->n; i++)
    if (stopping(d) || setup_one(d, &d->p[i]))
      return NULL;
  struct timespec t0, due;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  double step_s = 60.0 * STEP_MIN / d->speed;
  for (long j = 1;; j++) {
    double at = (double)t0.tv_sec + t0.tv_nsec / 1e9 + (double)j * step_s;
    due.tv_sec = (time_t)at;
    due.tv_nsec = (long)((at - (double)due.tv_sec) * 1e9);
    if (wait_until(d, &due))
      return NULL;
    double a_end = d->t_now + (double)j * STEP_MIN;
    json_t *entries = json_array();
    int bad = 0;
    for (int i = 0; i < d->n && !bad; i++)
      bad = collect(d, &d->p[i], a_end - STEP_MIN, a_end, entries);
    /* the next block of one patient a step, made before it is needed */
    demo_patient *p = &d->p[j % d->n];
    if (!bad && !p->next)
      bad = !(p->next = generate(p, p->block + 1));
    if (bad) {
      json_decref(entries);
      return NULL;
    }
    if (json_array_size(entries) == 0)
      json_decref(entries);
    else if (transact(d, entries, NULL))
      return NULL;
  }
}

/* ---- start and stop ---- */

static void demo_free(demo *d)
{
  for (int i = 0; i < d->n; i++) {
    mt_replay_free(d->p[i].rp);
    mt_replay_free(d->p[i].next);
  }
  pthread_cond_destroy(&d->wake);
  pthread_mutex_destroy(&d->lock);
  free(d);
}

/* The shipped patients of the three groups, in the model's order. */
static int patients_of(demo *d, char *err, size_t errlen)
{
  const mt_model *m = mt_model_find("uva_padova_t1d");
  if (!m || !m->patients) {
    snprintf(err, errlen, "serve: --demo: the uva_padova_t1d model and its "
             "patients are not in this build");
    return MT_ENOTFOUND;
  }
  for (int i = 0; i < m->patients->n && d->n < DEMO_MAX; i++) {
    const char *name = m->patients->name(i);
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
      if (!strncmp(name, groups[g], strlen(groups[g])) &&
          name[strlen(groups[g])] == '#') {
        demo_patient *p = &d->p[d->n++];
        p->index = i, p->name = name, p->group = groups[g];
      }
  }
  if (d->n == 0) {
    snprintf(err, errlen, "serve: --demo: no virtual patients");
    return MT_ENOTFOUND;
  }
  return 0;
}

int demo_start(mt_server *s, char *err, size_t errlen)
{
  demo *d = calloc(1, sizeof *d);
  if (!d) {
    snprintf(err, errlen, "serve: --demo: out of memory");
    return MT_ENOMEM;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&d->wake, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&d->lock, NULL);
  d->s = s;
  d->speed = s->cfg.demo_speed > 0 ? s->cfg.demo_speed : 60;
  /* now, to the 5 min below it, is that time of block 0's first day, or
  ** of its second when the 3 h before it would fall before the block: at
  ** least 21 h of block 0 are left to stream */
  int64_t now = now_ms(), midnight = now - now % 86400000;
  double clock_min = (double)((now - midnight) / 300000) * STEP_MIN;
  int day = clock_min < PRELOAD_MIN;
  d->t_now = day * 1440.0 + clock_min;
  d->day0_ms = midnight - day * (int64_t)86400000;
  int rc = patients_of(d, err, errlen);
  if (!rc) { /* the login, before anyone could try it */
    login_arg a = {s->cfg.demo_password, NULL, ""};
    job j = {.fn = job_login, .arg = &a};
    if (!a.pw || write_wait(s, &j)) {
      snprintf(err, errlen, "serve: --demo: the demo login: %s",
               a.pw ? j.err : "no password");
      rc = MT_EIO;
    }
    snprintf(d->user_id, sizeof d->user_id, "%s", a.id);
  }
  if (!rc && pthread_create(&d->th, NULL, demo_main, d)) {
    snprintf(err, errlen, "serve: --demo: cannot start its thread");
    rc = MT_EIO;
  }
  if (rc) {
    demo_free(d);
    return rc;
  }
  s->demo = d;
  return 0;
}

void demo_stop(mt_server *s)
{
  demo *d = s ? s->demo : NULL;
  if (!d)
    return;
  pthread_mutex_lock(&d->lock);
  d->stop = 1;
  pthread_cond_signal(&d->wake);
  pthread_mutex_unlock(&d->lock);
  pthread_join(d->th, NULL);
  demo_free(d);
  s->demo = NULL;
}
