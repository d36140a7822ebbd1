/*
** Device streams over MQTT (docs/API.md, "MQTT"), with libmosquitto's
** threaded loop: one network thread that connects, reconnects and runs the
** callbacks.
**
** Ingest. The server subscribes (QoS 1) to medtwin/v1/+/+, that is
** medtwin/v1/{device}/{stream}. The device is the id of a FHIR Device the
** server holds, and its `patient` reference (FHIR R4 Device.patient) names
** the patient: topics carry no names. Each message becomes the resource it
** stands for (an Observation naming the Device, or a MedicationAdministration)
** and is stored by one transaction, exactly as an HTTP client's would be:
** the same validation, idempotency and twin feeding. A message that cannot
** be stored is logged (one line on stderr, naming the topic and the reason)
** and dropped; nothing is published back.
**
** Access. The broker authenticates each device (its user name is its
** Device id) and its ACL lets it publish only under medtwin/v1/{its id}/;
** the server connects as a user of its own (--mqtt-user,
** --mqtt-password-file). The server then authorises each message as it
** would the device's HTTP request (auth_device in auth.c): it acts for
** the newest valid device token bound to that Device, so the write is
** refused unless the token's patient is the Device's patient and that
** patient's device-ingest consent stands, and it is audited as the token.
**
** Alerts. mqtt_alert publishes a live twin's alert to
** medtwin/v1/alerts/{patient} (QoS 1). Those messages match the
** subscription too; the device "alerts" is reserved and ignored.
**
** Lifetime. s->mqtt is set once the subscription is granted and taken back
** by mqtt_stop; a lock of this file guards it, since alerts may be raised
** on any thread while the server stops.
*/
#include <errno.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/internal.h"
#include "server/jsonx.h"

#define TOPIC_ROOT "medtwin/v1/"
#define ALERTS "alerts"
#define PAYLOAD_MAX 1024 /* {"t": ..., "value": ..., "unit": ...} */
#define KEEPALIVE_S 30
#define SUBSCRIBE_WAIT_S 10

typedef struct mq {
  mt_server *s;
  struct mosquitto *m;
  char where[300];       /* "HOST:PORT", for messages */
  pthread_mutex_t lock;  /* phase, connack, lost */
  pthread_cond_t change; /* phase changed */
  int phase; /* 0 connecting, 1 subscribed, -1 connection refused, -2 the
              ** subscription refused */
  int connack;           /* the broker's refusal (CONNACK code) */
  int lost;              /* the connection dropped; logged once per outage */
} mq;

/* s->mqtt while alerts may be published (see Lifetime above) */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- streams -------------------------------------------------------- */

typedef struct stream {
  const char *name, *unit, *alt_unit; /* alt_unit: mmol/L glucose */
  const char *loinc, *alt_loinc, *display, *category;
  int medication; /* 0 Observation, 1 bolus, 2 basal rate */
} stream;

static const stream streams[] = {
    {"cgm", "mg/dL", "mmol/L", "99504-3", "105272-9",
     "Glucose [Mass/volume] in Interstitial fluid", "laboratory", 0},
    {"carbs", "g", NULL, "9059-7", NULL, "Carbohydrate intake Estimated",
     "survey", 0},
    {"bolus", "[iU]", NULL, NULL, NULL, "insulin, bolus", NULL, 1},
    {"basal", "[iU]/h", NULL, NULL, NULL, "insulin, basal rate", NULL, 2},
};

static const stream *stream_named(const char *name)
{
  for (size_t k = 0; k < sizeof streams / sizeof *streams; k++)
    if (!strcmp(name, streams[k].name))
      return &streams[k];
  return NULL;
}

/* ---- logging -------------------------------------------------------- */

/* One line on stderr about a message: its topic (control characters
** shown as '?') and why it was not stored. */
static void refused(const char *topic, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void refused(const char *topic, const char *fmt, ...)
{
  char t[160], why[400];
  size_t n = 0;
  for (const char *p = topic; *p && n + 1 < sizeof t; p++)
    t[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
  t[n] = '\0';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  fprintf(stderr, "medtwin serve: mqtt: %s%s: not stored: %s\n", t,
          topic[n] ? "..." : "", why);
}

/* ---- one message ---------------------------------------------------- */

/* A FHIR id ([A-Za-z0-9.-]{1,64}). */
static int id_ok(const char *id)
{
  size_t n = strlen(id);
  if (n == 0 || n > 64)
    return 0;
  for (const char *p = id; *p; p++)
    if (!(*p >= 'A' && *p <= 'Z') && !(*p >= 'a' && *p <= 'z') &&
        !(*p >= '0' && *p <= '9') && *p != '.' && *p != '-')
      return 0;
  return 1;
}

/* The patient of Device/device into patient: 0, or the reason it has none
** (a static string). */
static const char *device_patient(ctx *c, const char *device, char *patient,
                                  size_t len)
{
  char err[MT_ERRMSG_MAX];
  mt_resource res = {0};
  mt_store *rd = reader(c);
  int rc = rd ? mt_store_resource_read(rd, "Device", device, &res, err,
                                       sizeof err)
              : MT_EIO;
  if (rc) {
    mt_resource_clear(&res);
    return rc == MT_ENOTFOUND ? "unknown device (no Device with that id)"
                              : "the store cannot be read";
  }
  json_t *doc = load(res.json, NULL);
  mt_resource_clear(&res);
  const char *status = json_string_value(json_object_get(doc, "status"));
  const char *ref = json_string_value(
      json_object_get(json_object_get(doc, "patient"), "reference"));
  const char *why = NULL;
  if (status && !strcmp(status, "entered-in-error"))
    why = "the Device is entered-in-error";
  else if (!ref || strncmp(ref, "Patient/", 8) || !id_ok(ref + 8))
    why = "the Device has no patient (Device.patient: Patient/id)";
  else
    snprintf(patient, len, "%s", ref + 8);
  json_decref(doc);
  return why;
}

/* The resource a message stands for (value v kept as written). */
static json_t *resource_of(const stream *st, const char *device,
                           const char *patient, const char *when, json_t *v,
                           const char *unit)
{
  char subject[96], dev[96];
  snprintf(subject, sizeof subject, "Patient/%s", patient);
  snprintf(dev, sizeof dev, "Device/%s", device);
  json_t *q = json_pack("{s:O, s:s, s:s, s:s}", "value", v, "unit", unit,
                        "system", "http://unitsofmeasure.org", "code", unit);
  if (st->medication)
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:s, s:[{s:s}], s:{s:o}}",
                     "resourceType", "MedicationAdministration", "status",
                     "completed", "medicationCodeableConcept", "text",
                     st->display, "subject", "reference", subject,
                     "effectiveDateTime", when, "device", "reference", dev,
                     "dosage", st->medication == 2 ? "rateQuantity" : "dose",
                     q);
  int alt = st->alt_unit && !strcmp(unit, st->alt_unit);
  return json_pack(
      "{s:s, s:s, s:[{s:[{s:s, s:s}]}], s:{s:[{s:s, s:s, s:s}]}, s:{s:s}, "
      "s:{s:s}, s:s, s:o}",
      "resourceType", "Observation", "status", "final", "category", "coding",
      "system", "http://terminology.hl7.org/CodeSystem/observation-category",
      "code", st->category, "code", "coding", "system", "http://loinc.org",
      "code", alt ? st->alt_loinc : st->loinc, "display",
      alt ? "Glucose [Moles/volume] in Interstitial fluid" : st->display,
      "subject", "reference", subject, "device", "reference", dev,
      "effectiveDateTime", when, "valueQuantity", q);
}

/* Store one resource by a transaction, as POST /fhir would: NULL, or why
** not (into why). */
static const char *store(ctx *c, json_t *res, char *why, size_t len)
{
  char type[40];
  snprintf(type, sizeof type, "%s",
           json_string_value(json_object_get(res, "resourceType")));
  json_t *bundle = json_pack(
      "{s:s, s:s, s:[{s:o, s:{s:s, s:s}}]}", "resourceType", "Bundle", "type",
      "transaction", "entry", "resource", res, "request", "method", "POST",
      "url", type);
  if (!bundle)
    return "out of memory";
  reply r;
  memset(&r, 0, sizeof r);
  c->body = bundle;
  h_transaction(c, &r);
  c->body = NULL;
  json_decref(bundle);
  const char *out = NULL;
  if (r.status != 200) {
    json_t *issue = json_array_get(json_object_get(r.doc, "issue"), 0);
    const char *d = json_string_value(json_object_get(issue, "diagnostics"));
    const char *x = json_string_value(
        json_array_get(json_object_get(issue, "expression"), 0));
    static const char entry[] = "Bundle.entry[0].resource.";
    if (x && !strncmp(x, entry, sizeof entry - 1))
      snprintf(why, len, "%s.%s: %s (as HTTP %u)", type, x + sizeof entry - 1,
               d ? d : "refused", r.status);
    else if (x && d && !strncmp(d, x, strlen(x))) /* it names x itself */
      snprintf(why, len, "%s (as HTTP %u)", d, r.status);
    else
      snprintf(why, len, "%s%s%s (as HTTP %u)", x ? x : "", x ? ": " : "",
               d ? d : "refused", r.status);
    out = why;
  }
  json_decref(r.doc);
  return out;
}

/* medtwin/v1/{device}/{stream}, payload {"t": ms, "value": v, "unit": u}. */
static void on_message(struct mosquitto *m, void *obj,
                       const struct mosquitto_message *msg)
{
  (void)m;
  mq *q = obj;
  const char *topic = msg->topic;
  if (strncmp(topic, TOPIC_ROOT, strlen(TOPIC_ROOT)))
    return; /* not ours (the subscription gives only these) */
  const char *dev = topic + strlen(TOPIC_ROOT), *slash = strchr(dev, '/');
  if (slash && (size_t)(slash - dev) == strlen(ALERTS) &&
      !strncmp(dev, ALERTS, strlen(ALERTS)))
    return; /* alerts, ours or another server's */
  char device[80];
  if (!slash || strchr(slash + 1, '/') ||
      (size_t)(slash - dev) >= sizeof device) {
    refused(topic, "topic: expected medtwin/v1/{device}/{stream}");
    return;
  }
  snprintf(device, sizeof device, "%.*s", (int)(slash - dev), dev);
  const stream *st = stream_named(slash + 1);
  const srv_vital *vt = st ? NULL : srv_vital_named(slash + 1);
  stream vs; /* a vital sign: an Observation of its code and unit */
  if (vt) {
    vs = (stream){vt->name, vt->unit, NULL, vt->loinc, NULL, vt->display,
                  vt->category, 0};
    st = &vs;
  }
  if (!st) {
    refused(topic, "stream: expected cgm, carbs, bolus, basal, map, sbp, "
            "dbp, hr, ef, co or weight");
    return;
  }
  if (!id_ok(device)) {
    refused(topic, "device: expected a Device id ([A-Za-z0-9.-]{1,64})");
    return;
  }
  if (msg->payloadlen <= 0 || msg->payloadlen > PAYLOAD_MAX) {
    refused(topic, "payload: expected a JSON object of at most %d bytes",
            PAYLOAD_MAX);
    return;
  }
  json_error_t e;
  json_t *doc = mtj_loadb(msg->payload, (size_t)msg->payloadlen, 0, &e);
  if (!doc) {
    refused(topic, "payload: malformed JSON at line %d, column %d: %s",
            e.line, e.column, e.text);
    return;
  }
  double t, x;
  json_t *v = json_object_get(doc, "value");
  const char *unit = json_string_value(json_object_get(doc, "unit"));
  const char *why = NULL;
  char buf[MT_ERRMSG_MAX + 64];
  if (!json_is_object(doc))
    why = "payload: expected {\"t\": epoch ms, \"value\": v, \"unit\": u}";
  else if (!mtj_number(json_object_get(doc, "t"), &t) || !(t > 0 && t < 1e14))
    why = "t: expected the time in Unix milliseconds";
  else if (!mtj_number(v, &x))
    why = "value: expected a number";
  else if (!unit || (strcmp(unit, st->unit) &&
                     (!st->alt_unit || strcmp(unit, st->alt_unit)))) {
    snprintf(buf, sizeof buf, "unit: expected \"%s\"%s%s%s for %s",
             st->unit, st->alt_unit ? " or \"" : "",
             st->alt_unit ? st->alt_unit : "", st->alt_unit ? "\"" : "",
             st->name);
    why = buf;
  }
  if (why) {
    refused(topic, "%s", why);
    json_decref(doc);
    return;
  }
  ctx c;
  memset(&c, 0, sizeof c);
  c.s = q->s, c.method = "POST", c.url = "/fhir";
  char patient[MT_STORE_KEY_MAX + 1], when[40];
  why = device_patient(&c, device, patient, sizeof patient);
  int rc = why ? 0 : auth_device(&c, device);
  if (rc == MT_ENOTFOUND)
    why = "no valid device token is bound to this device";
  else if (rc)
    why = "the store cannot be read";
  if (!why) {
    snprintf(c.resource, sizeof c.resource, "Patient/%.64s/%s", patient,
             st->medication ? "MedicationAdministration" : "Observation");
    iso_ms((int64_t)t, when, sizeof when);
    json_t *res = resource_of(st, device, patient, when, v, unit);
    auth_act_as(&c); /* the write job carries the device's principal */
    why = res ? store(&c, res, buf, sizeof buf) : "out of memory";
    auth_act_as(NULL);
  }
  ctx_done(&c);
  if (why)
    refused(topic, "%s", why);
  json_decref(doc);
}

/* ---- the connection ------------------------------------------------- */

static void set_phase(mq *q, int phase)
{
  pthread_mutex_lock(&q->lock);
  q->phase = phase;
  pthread_cond_broadcast(&q->change);
  pthread_mutex_unlock(&q->lock);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
  mq *q = obj;
  if (rc) { /* refused by the broker: start fails, or a reconnect is retried */
    pthread_mutex_lock(&q->lock);
    q->connack = rc;
    int starting = q->phase == 0;
    pthread_mutex_unlock(&q->lock);
    if (starting)
      set_phase(q, -1);
    else
      fprintf(stderr, "medtwin serve: mqtt: %s refused the connection: %s\n",
              q->where, mosquitto_connack_string(rc));
    return;
  }
  pthread_mutex_lock(&q->lock);
  int was_lost = q->lost;
  q->lost = 0;
  pthread_mutex_unlock(&q->lock);
  if (was_lost)
    fprintf(stderr, "medtwin serve: mqtt: reconnected to %s\n", q->where);
  int sr = mosquitto_subscribe(m, NULL, TOPIC_ROOT "+/+", 1);
  if (sr != MOSQ_ERR_SUCCESS)
    fprintf(stderr, "medtwin serve: mqtt: cannot subscribe: %s\n",
            mosquitto_strerror(sr));
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n,
                         const int *granted)
{
  (void)m, (void)mid;
  mq *q = obj;
  int ok = n >= 1 && granted[0] <= 2; /* 0x80: refused */
  pthread_mutex_lock(&q->lock);
  int starting = q->phase == 0;
  pthread_mutex_unlock(&q->lock);
  if (starting)
    set_phase(q, ok ? 1 : -2);
  else if (!ok)
    fprintf(stderr, "medtwin serve: mqtt: %s refused the subscription to "
            TOPIC_ROOT "+/+\n", q->where);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
  (void)m;
  mq *q = obj;
  if (rc == 0)
    return; /* ours: mqtt_stop */
  pthread_mutex_lock(&q->lock);
  int first = !q->lost && q->phase == 1; /* a failed start says it once */
  q->lost = 1;
  pthread_mutex_unlock(&q->lock);
  if (first)
    fprintf(stderr, "medtwin serve: mqtt: connection to %s lost; "
            "reconnecting\n", q->where);
}

/* "HOST:PORT" into host and port; -1 when it is not one. */
static int parse_where(const char *v, char *host, size_t len, int *port)
{
  const char *colon = v ? strrchr(v, ':') : NULL;
  if (!colon || colon == v || (size_t)(colon - v) >= len)
    return -1;
  char *end;
  errno = 0;
  long p = strtol(colon + 1, &end, 10);
  if (end == colon + 1 || *end || errno || p < 1 || p > 65535 ||
      colon[1] == '+' || colon[1] == '-' || colon[1] == ' ')
    return -1;
  snprintf(host, len, "%.*s", (int)(colon - v), v);
  *port = (int)p;
  return 0;
}

/* A client id that is this server's across restarts (host and data
** directory), so that the broker keeps its session (and the QoS 1
** messages sent while it is away) for it: "medtwin-" and 12 hex digits. */
static void client_id(const mt_server *s, char *out, size_t len)
{
  char host[256] = "", cwd[4096] = "";
  gethostname(host, sizeof host - 1);
  if (s->cfg.data_dir[0] != '/' && !getcwd(cwd, sizeof cwd))
    cwd[0] = '\0';
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const char *p = host; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  h = (h ^ '\n') * 1099511628211ull;
  for (const char *p = cwd; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  h = (h ^ '/') * 1099511628211ull;
  for (const char *p = s->cfg.data_dir; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  snprintf(out, len, "medtwin-%012llx",
           (unsigned long long)(h & 0xffffffffffffull));
}

static void mq_free(mq *q)
{
  if (!q)
    return;
  if (q->m)
    mosquitto_destroy(q->m);
  pthread_mutex_destroy(&q->lock);
  pthread_cond_destroy(&q->change);
  free(q);
  mosquitto_lib_cleanup();
}

/* Wait (at most SUBSCRIBE_WAIT_S) for the subscription or a refusal. */
static int wait_subscribed(mq *q)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += SUBSCRIBE_WAIT_S;
  pthread_mutex_lock(&q->lock);
  while (q->phase == 0 &&
         pthread_cond_timedwait(&q->change, &q->lock, &until) == 0)
    ;
  int phase = q->phase;
  pthread_mutex_unlock(&q->lock);
  return phase;
}

int mqtt_start(mt_server *s, char *err, size_t errlen)
{
  char host[256], id[32];
  int port, rc;
  if (parse_where(s->cfg.mqtt, host, sizeof host, &port)) {
    snprintf(err, errlen, "serve: --mqtt: expected HOST:PORT of an MQTT "
             "broker (port 1-65535), got '%s'", s->cfg.mqtt);
    return MT_EINVAL;
  }
  mosquitto_lib_init();
  mq *q = calloc(1, sizeof *q);
  if (!q) {
    mosquitto_lib_cleanup();
    return MT_ENOMEM;
  }
  q->s = s;
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->change, NULL);
  snprintf(q->where, sizeof q->where, "%s:%d", host, port);
  client_id(s, id, sizeof id);
  q->m = mosquitto_new(id, false, q);
  if (!q->m) {
    mq_free(q);
    return MT_ENOMEM;
  }
  mosquitto_connect_callback_set(q->m, on_connect);
  mosquitto_subscribe_callback_set(q->m, on_subscribe);
  mosquitto_disconnect_callback_set(q->m, on_disconnect);
  mosquitto_message_callback_set(q->m, on_message);
  mosquitto_reconnect_delay_set(q->m, 1, 10, false);
  if (s->cfg.mqtt_user &&
      (rc = mosquitto_username_pw_set(q->m, s->cfg.mqtt_user,
                                      s->cfg.mqtt_password)) !=
          MOSQ_ERR_SUCCESS) {
    snprintf(err, errlen, "serve: --mqtt-user: %s", mosquitto_strerror(rc));
    mq_free(q);
    return MT_EINVAL;
  }
  rc = mosquitto_connect(q->m, host, port, KEEPALIVE_S);
  if (rc != MOSQ_ERR_SUCCESS) {
    const char *why = rc == MOSQ_ERR_ERRNO ? strerror(errno)
                                           : mosquitto_strerror(rc);
    snprintf(err, errlen, "serve: --mqtt %s: cannot reach the MQTT broker: "
             "%s", q->where, why);
    mq_free(q);
    return MT_EIO;
  }
  if ((rc = mosquitto_loop_start(q->m)) != MOSQ_ERR_SUCCESS) {
    snprintf(err, errlen, "serve: --mqtt %s: cannot start the MQTT thread: "
             "%s", q->where, mosquitto_strerror(rc));
    mq_free(q);
    return MT_EIO;
  }
  int phase = wait_subscribed(q);
  if (phase != 1) {
    if (phase == -2)
      snprintf(err, errlen, "serve: --mqtt %s: the MQTT broker refused the "
               "subscription to " TOPIC_ROOT "+/+", q->where);
    else if (phase < 0)
      snprintf(err, errlen, "serve: --mqtt %s: the MQTT broker refused the "
               "connection: %s", q->where,
               mosquitto_connack_string(q->connack));
    else
      snprintf(err, errlen, "serve: --mqtt %s: the MQTT broker did not "
               "accept the subscription to " TOPIC_ROOT "+/+ within %d s",
               q->where, SUBSCRIBE_WAIT_S);
    mosquitto_disconnect(q->m);
    mosquitto_loop_stop(q->m, false);
    mq_free(q);
    return MT_EIO;
  }
  pthread_mutex_lock(&live_lock);
  s->mqtt = q;
  pthread_mutex_unlock(&live_lock);
  return 0;
}

void mqtt_stop(mt_server *s)
{
  pthread_mutex_lock(&live_lock);
  mq *q = s->mqtt;
  s->mqtt = NULL;
  pthread_mutex_unlock(&live_lock);
  if (!q)
    return;
  mosquitto_disconnect(q->m);
  mosquitto_loop_stop(q->m, false); /* a message under way is finished */
  mq_free(q);
}

void mqtt_alert(mt_server *s, const char *patient, const char *json)
{
  char topic[160];
  if (!json || !id_ok(patient))
    return; /* a patient id no topic level can hold unchanged */
  snprintf(topic, sizeof topic, TOPIC_ROOT ALERTS "/%s", patient);
  pthread_mutex_lock(&live_lock);
  mq *q = s->mqtt;
  /* queued for the network thread: never waits on the broker */
  int rc = q ? mosquitto_publish(q->m, NULL, topic, (int)strlen(json), json,
                                 1, false)
             : MOSQ_ERR_SUCCESS;
  pthread_mutex_unlock(&live_lock);
  if (rc != MOSQ_ERR_SUCCESS)
    fprintf(stderr, "medtwin serve: mqtt: %s: alert not published: %s\n",
            topic, mosquitto_strerror(rc));
}
