/*
** medtwin server: the route table, the dispatcher and the responses
** (include/medtwin/server.h). Every request passes the same gate before a
** handler runs: route and method matched (404, 405), body read under its
** limit while it arrives (413), media type (415), JSON nesting depth checked
** before parsing and the JSON parsed (400); every error is an
** OperationOutcome (FHIR R4 4.0.1) naming what was wrong.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "medtwin/codes.h"
#include "medtwin/error.h"
#include "medtwin/import.h"
#include "medtwin/server.h"
#include "medtwin/store.h"
#include "medtwin/twin.h"

#include <sodium.h>

#define FHIR_JSON "application/fhir+json"

/* A patient's live twin (kept in memory; rebuilt from the store's
** observations when it is set). */
typedef struct twin_slot {
  char patient[MT_STORE_KEY_MAX + 1];
  char model[32], group[16];
  mt_twin *tw;
  int64_t t0_ms;  /* the twin's clock origin: its first datum */
  int started;
  long readings, inputs, refused;
  json_t *alerts; /* every alert raised, oldest first */
} twin_slot;

struct mt_server {
  mt_server_config cfg;
  twin_slot *twin;
  int n_twin, cap_twin;
  struct MHD_Daemon *d;
  mt_store *store; /* used from the daemon's one thread */
  char started[32]; /* ISO 8601, for the CapabilityStatement */
};

/* A request in progress: its body as it arrives. */
typedef struct req {
  char *body;
  size_t len, cap;
  int too_large;
} req;

/* What a handler returns: a status and a JSON document (owned). */
typedef struct reply {
  unsigned status;
  json_t *doc;
  const char *type; /* media type; FHIR_JSON when NULL */
  char location[256], etag[32], modified[40];
} reply;

#define MAX_PARAMS 4
typedef struct ctx {
  mt_server *s;
  struct MHD_Connection *conn;
  const char *method, *url;
  json_t *body; /* the parsed body, for routes that take one */
  char param[MAX_PARAMS][MT_STORE_KEY_MAX + 1]; /* {...} of the route */
} ctx;

typedef void (*handler)(ctx *c, reply *r);

enum { ROUTE_BODY = 1u }; /* takes a JSON body */

typedef struct route {
  const char *method, *path;
  handler fn;
  unsigned flags;
  const char *summary; /* for the OpenAPI description */
} route;

/* ---- responses -------------------------------------------------------- */

/* An OperationOutcome with one issue (FHIR R4 issue-type code). */
static json_t *outcome(const char *code, const char *expression,
                       const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *issue = json_pack("{s:s, s:s, s:s}", "severity", "error", "code",
                            code, "diagnostics", msg);
  if (expression)
    json_object_set_new(issue, "expression", json_pack("[s]", expression));
  return json_pack("{s:s, s:[o]}", "resourceType", "OperationOutcome",
                   "issue", issue);
}

static void fail(reply *r, unsigned status, const char *code,
                 const char *expression, const char *msg)
{
  r->status = status;
  r->doc = outcome(code, expression, "%s", msg);
}

/* ---- handlers --------------------------------------------------------- */

static void h_health(ctx *c, reply *r)
{
  (void)c;
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:s}", "status", "ok", "version", MT_VERSION);
  r->type = "application/json";
}

static void h_ready(ctx *c, reply *r)
{
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:s}", "status", "ready", "data",
                     c->s->cfg.data_dir);
  r->type = "application/json";
}

/* The server's CapabilityStatement (FHIR R4 4.0.1): what it is and the
** formats it speaks; resource interactions are listed as they arrive. */
static void h_metadata(ctx *c, reply *r)
{
  r->status = MHD_HTTP_OK;
  r->doc = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:[s], s:[{s:s, s:[]}]}",
      "resourceType", "CapabilityStatement", "status", "active", "date",
      c->s->started, "publisher", "medtwin", "kind", "instance", "software",
      "name", "medtwin", "version", MT_VERSION, "fhirVersion", "4.0.1",
      "format", "json", "rest", "mode", "server", "resource");
}

/* ---- FHIR resources, stored verbatim ---------------------------------- */

/* A FHIR resource type name: [A-Z][A-Za-z]* (FHIR R4 type names). */
static int type_ok(const char *t)
{
  if (!(*t >= 'A' && *t <= 'Z'))
    return 0;
  for (; *t; t++)
    if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z')))
      return 0;
  return 1;
}

static void iso_ms(int64_t ms, char *buf, size_t len)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tmv;
  char base[24];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tmv));
  snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}

/* The stored resource with its id and meta as the client sees it; the
** response's ETag and Last-Modified from its version. */
static void with_meta(const mt_resource *res, reply *r)
{
  json_error_t je;
  json_t *doc = json_loads(res->json, 0, &je);
  char when[40];
  iso_ms(res->last_updated_ms, when, sizeof when);
  if (!doc) {
    fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
         "a stored resource is not JSON");
    return;
  }
  char vid[24];
  snprintf(vid, sizeof vid, "%lld", (long long)res->version_id);
  json_object_set_new(doc, "id", json_string(res->id));
  json_t *meta = json_object_get(doc, "meta");
  if (!json_is_object(meta))
    json_object_set_new(doc, "meta", meta = json_object());
  json_object_set_new(meta, "versionId", json_string(vid));
  json_object_set_new(meta, "lastUpdated", json_string(when));
  r->doc = doc;
  snprintf(r->etag, sizeof r->etag, "W/\"%s\"", vid);
  time_t t = (time_t)(res->last_updated_ms / 1000);
  struct tm tmv;
  strftime(r->modified, sizeof r->modified, "%a, %d %b %Y %H:%M:%S GMT",
           gmtime_r(&t, &tmv));
}

static void store_failed(reply *r, int rc, const char *err)
{
  fail(r, rc == MT_ENOTFOUND ? MHD_HTTP_NOT_FOUND
       : rc == MT_ECONFLICT ? MHD_HTTP_CONFLICT
                            : MHD_HTTP_INTERNAL_SERVER_ERROR,
       rc == MT_ENOTFOUND ? "not-found" : rc == MT_ECONFLICT ? "conflict"
                                                             : "exception",
       NULL, err);
}

/* ---- observations the twins use --------------------------------------- */

#define MAX_ROWS 4

/* The LOINC code of a CodeableConcept (NULL when it has none). */
static const char *loinc_of(json_t *cc)
{
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(cc, "coding"), i, c) {
    const char *sys = json_string_value(json_object_get(c, "system"));
    if (sys && !strcmp(sys, "http://loinc.org"))
      return json_string_value(json_object_get(c, "code"));
  }
  return NULL;
}

/* The id part of a "Type/id" reference, into out (empty when absent). */
static void ref_id(json_t *ref, const char *type, char *out)
{
  const char *r = json_string_value(json_object_get(ref, "reference"));
  size_t n = strlen(type);
  out[0] = '\0';
  if (r && !strncmp(r, type, n) && r[n] == '/' &&
      strlen(r + n + 1) <= MT_STORE_KEY_MAX)
    strcpy(out, r + n + 1);
}

/* One coded quantity into row (code, value, unit); 0 when not the twins',
** 1 for a row, -1 refused (*why, and path under at). */
static int quantity_row(json_t *cc, json_t *q, mt_obs *row, const char **why)
{
  const char *code = loinc_of(cc);
  json_t *v = json_object_get(q, "value");
  const char *unit = json_string_value(json_object_get(q, "code"));
  if (!unit)
    unit = json_string_value(json_object_get(q, "unit"));
  mt_norm_obs n;
  int k = code && json_is_number(v)
              ? mt_norm_quantity(code, json_number_value(v), unit, &n, why)
              : 0;
  if (k == 1) {
    snprintf(row->code, sizeof row->code, "%s", n.code);
    snprintf(row->unit, sizeof row->unit, "%s", n.unit);
    row->value = n.value;
  }
  return k;
}

/*
** The rows an Observation gives the twins (codes.h), or -1 with *why and
** the path of the refused value (under prefix): impossible values and units
** a code does not take are bad input (422). An Observation without a
** patient subject or an effective time gives no rows (stored verbatim).
*/
static int obs_rows(json_t *res, const char *prefix, mt_obs *rows, int *n,
                    const char **why, char *path, size_t pathlen)
{
  mt_obs base;
  memset(&base, 0, sizeof base);
  *n = 0;
  ref_id(json_object_get(res, "subject"), "Patient", base.patient);
  ref_id(json_object_get(res, "device"), "Device", base.device);
  if (!base.device[0]) /* no source device named: one key for all such */
    strcpy(base.device, "-");
  const char *t = json_string_value(json_object_get(res, "effectiveDateTime"));
  if (!t)
    t = json_string_value(json_object_get(res, "effectiveInstant"));
  int timed = t && mt_import_parse_iso(t, &base.t_ms) == 0;
  json_t *cc = json_object_get(res, "code");
  if (mt_norm_is_bp_panel(loinc_of(cc))) {
    size_t i;
    json_t *comp;
    json_array_foreach(json_object_get(res, "component"), i, comp) {
      mt_obs r = base;
      int k = quantity_row(json_object_get(comp, "code"),
                           json_object_get(comp, "valueQuantity"), &r, why);
      if (k < 0) {
        snprintf(path, pathlen, "%scomponent[%zu].valueQuantity", prefix, i);
        return -1;
      }
      if (k && *n < MAX_ROWS)
        rows[(*n)++] = r;
    }
  } else {
    mt_obs r = base;
    int k = quantity_row(cc, json_object_get(res, "valueQuantity"), &r, why);
    if (k < 0) {
      snprintf(path, pathlen, "%svalueQuantity", prefix);
      return -1;
    }
    if (k)
      rows[(*n)++] = r;
  }
  if (!timed || !base.patient[0])
    *n = 0;
  return 0;
}

static twin_slot *twin_of(mt_server *s, const char *patient)
{
  for (int k = 0; k < s->n_twin; k++)
    if (!strcmp(s->twin[k].patient, patient))
      return &s->twin[k];
  return NULL;
}

/* Whether the stored Patient says the patient has died (deceasedBoolean
** true or a deceasedDateTime): a deceased patient's twin raises no alerts. */
static int deceased(mt_server *s, const char *patient)
{
  char err[MT_ERRMSG_MAX];
  mt_resource res = {0};
  int dead = 0;
  if (mt_store_resource_read(s->store, "Patient", patient, &res, err,
                             sizeof err) == 0) {
    json_error_t je;
    json_t *p = json_loads(res.json, 0, &je);
    dead = json_is_true(json_object_get(p, "deceasedBoolean")) ||
           json_is_string(json_object_get(p, "deceasedDateTime"));
    json_decref(p);
  }
  mt_resource_clear(&res);
  return dead;
}

/* The stored rows that are twin data: CGM readings and the inputs (carbs
** LOINC 9059-7, insulin from MedicationAdministration), with their kinds. */
#define CODE_BOLUS "medtwin-bolus"
#define CODE_BASAL "medtwin-basal"
static const struct {
  const char *code;
  mt_stream_kind kind;
} twin_codes[] = {{"99504-3", MT_DATA_CGM},
                  {"9059-7", MT_DATA_CARBS},
                  {CODE_BOLUS, MT_DATA_BOLUS},
                  {CODE_BASAL, MT_DATA_BASAL}};
#define N_TWIN_CODES (sizeof twin_codes / sizeof *twin_codes)

static int twin_kind(const char *code)
{
  for (size_t k = 0; k < N_TWIN_CODES; k++)
    if (!strcmp(code, twin_codes[k].code))
      return (int)twin_codes[k].kind;
  return -1;
}

/* A datum at t_ms into the patient's twin, if it has one; alerts raised
** are kept (none for a deceased patient). */
static void twin_datum(mt_server *s, const char *patient, int64_t t_ms,
                       mt_stream_kind kind, double value)
{
  twin_slot *w = twin_of(s, patient);
  if (!w)
    return;
  if (!w->started)
    w->t0_ms = t_ms, w->started = 1;
  mt_datum d = {(double)(t_ms - w->t0_ms) / 60000.0, kind, value, 0};
  const char *why;
  int rc = mt_twin_ingest(w->tw, &d, &why);
  if (rc == 0)
    *(kind == MT_DATA_CGM ? &w->readings : &w->inputs) += 1;
  else
    w->refused++;
  mt_twin_alert al[MT_ALERT_NKIND];
  int na = deceased(s, patient) ? 0 : mt_twin_alerts(w->tw, al);
  for (int k = 0; k < na; k++)
    json_array_append_new(
        w->alerts,
        json_pack("{s:s, s:f, s:f, s:f}", "kind",
                  mt_alert_kind_name(al[k].kind), "t_min", al[k].t_min,
                  "probability", al[k].probability, "predicted_t_min",
                  al[k].predicted_t_min));
}

/* After rows are stored: CGM rows reach their patient's twin. */
static void rows_to_twins(mt_server *s, const mt_obs *rows, int n)
{
  for (int k = 0; k < n; k++) {
    int kind = twin_kind(rows[k].code);
    if (kind >= 0)
      twin_datum(s, rows[k].patient, rows[k].t_ms, (mt_stream_kind)kind,
                 rows[k].value);
  }
}

/*
** The insulin a MedicationAdministration records for a twin: dosage.dose in
** U ([iU] or U) is a bolus, dosage.rateQuantity in U/h ([iU]/h or U/h) a
** basal rate from its time on. A negative amount or another unit is -1
** (422) with the path; without a patient subject or a time, no rows.
*/
static int med_rows(json_t *res, const char *prefix, mt_obs *rows, int *n,
                    const char **why, char *path, size_t pathlen)
{
  mt_obs base;
  memset(&base, 0, sizeof base);
  *n = 0;
  ref_id(json_object_get(res, "subject"), "Patient", base.patient);
  strcpy(base.device, "-");
  json_t *eff = json_object_get(res, "effectivePeriod");
  const char *t = json_string_value(json_object_get(res, "effectiveDateTime"));
  if (!t)
    t = json_string_value(json_object_get(eff, "start"));
  int timed = t && mt_import_parse_iso(t, &base.t_ms) == 0;
  json_t *dosage = json_object_get(res, "dosage");
  static const struct {
    const char *key, *code, *u1, *u2;
  } part[2] = {{"dose", CODE_BOLUS, "[iU]", "U"},
               {"rateQuantity", CODE_BASAL, "[iU]/h", "U/h"}};
  for (int k = 0; k < 2; k++) {
    json_t *q = json_object_get(dosage, part[k].key);
    if (!q)
      continue;
    json_t *v = json_object_get(q, "value");
    const char *unit = json_string_value(json_object_get(q, "code"));
    if (!unit)
      unit = json_string_value(json_object_get(q, "unit"));
    snprintf(path, pathlen, "%sdosage.%s", prefix, part[k].key);
    if (!json_is_number(v) || !(json_number_value(v) >= 0)) {
      *why = "value: expected an amount of insulin >= 0";
      return -1;
    }
    if (!unit || (strcmp(unit, part[k].u1) && strcmp(unit, part[k].u2))) {
      *why = k ? "unit: expected [iU]/h" : "unit: expected [iU]";
      return -1;
    }
    mt_obs r = base;
    snprintf(r.code, sizeof r.code, "%s", part[k].code);
    snprintf(r.unit, sizeof r.unit, "%s", k ? "[iU]/h" : "[iU]");
    r.value = json_number_value(v);
    rows[(*n)++] = r;
  }
  if (!timed || !base.patient[0])
    *n = 0;
  return 0;
}

/* The twin rows of a resource: Observations and MedicationAdministrations
** (0 rows for other types). */
static int resource_rows(const char *type, json_t *res, const char *prefix,
                         mt_obs *rows, int *n, const char **why, char *path,
                         size_t pathlen)
{
  *n = 0;
  if (!strcmp(type, "Observation"))
    return obs_rows(res, prefix, rows, n, why, path, pathlen);
  if (!strcmp(type, "MedicationAdministration"))
    return med_rows(res, prefix, rows, n, why, path, pathlen);
  return 0;
}

static int append_rows(mt_store *st, const mt_obs *rows, int n, char *err,
                       size_t errlen)
{
  for (int k = 0; k < n; k++) {
    int rc = mt_store_obs_append(st, &rows[k], NULL, err, errlen);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* POST /fhir/{type}: create; the server assigns the id (FHIR R4 3.1.0.4). */
static void h_create(ctx *c, reply *r)
{
  const char *type = c->param[0];
  const char *rt = json_string_value(json_object_get(c->body, "resourceType"));
  if (!type_ok(type)) {
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL, "no such resource type");
    return;
  }
  if (!json_is_object(c->body) || !rt || strcmp(rt, type)) {
    char msg[160];
    snprintf(msg, sizeof msg, "expected resourceType \"%s\"", type);
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "resourceType", msg);
    return;
  }
  json_object_del(c->body, "id");
  json_t *meta = json_object_get(c->body, "meta");
  if (json_is_object(meta)) {
    json_object_del(meta, "versionId");
    json_object_del(meta, "lastUpdated");
  }
  mt_obs rows[MAX_ROWS];
  int nrow = 0;
  const char *why;
  char path[128];
  char prefix[80];
  snprintf(prefix, sizeof prefix, "%s.", type);
  if (resource_rows(type, c->body, prefix, rows, &nrow, &why, path,
                    sizeof path) < 0) {
    fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "business-rule", path, why);
    return;
  }
  char *text = json_dumps(c->body, JSON_COMPACT | JSON_PRESERVE_ORDER);
  char err[MT_ERRMSG_MAX];
  mt_resource res = {0};
  int rc = text ? mt_store_begin(c->s->store, err, sizeof err) : MT_ENOMEM;
  if (!rc)
    rc = mt_store_resource_create(c->s->store, type, NULL, text, &res, err,
                                  sizeof err);
  if (!rc)
    rc = append_rows(c->s->store, rows, nrow, err, sizeof err);
  if (text && rc) {
    char e2[MT_ERRMSG_MAX];
    mt_store_rollback(c->s->store, e2, sizeof e2);
  } else if (text && !(rc = mt_store_commit(c->s->store, err, sizeof err)))
    rows_to_twins(c->s, rows, nrow); /* acknowledged data only */
  free(text);
  if (rc) {
    store_failed(r, rc, err);
    mt_resource_clear(&res);
    return;
  }
  with_meta(&res, r);
  r->status = MHD_HTTP_CREATED;
  snprintf(r->location, sizeof r->location, "/fhir/%s/%s/_history/%lld",
           res.type, res.id, (long long)res.version_id);
  mt_resource_clear(&res);
}

/* GET /fhir/{type}/{id}: read; 410 Gone once deleted. */
static void h_read(ctx *c, reply *r)
{
  char err[MT_ERRMSG_MAX];
  mt_resource res = {0};
  int rc = mt_store_resource_read(c->s->store, c->param[0], c->param[1], &res,
                                  err, sizeof err);
  if (rc == MT_ENOTFOUND && res.deleted) {
    fail(r, MHD_HTTP_GONE, "deleted", NULL, "the resource was deleted");
    snprintf(r->etag, sizeof r->etag, "W/\"%lld\"",
             (long long)res.version_id);
  } else if (rc) {
    char msg[256];
    snprintf(msg, sizeof msg, "no %.64s with id %.64s", c->param[0],
             c->param[1]);
    store_failed(r, rc, rc == MT_ENOTFOUND ? msg : err);
  } else {
    with_meta(&res, r);
    r->status = MHD_HTTP_OK;
  }
  mt_resource_clear(&res);
}

/* The version an If-Match header names (W/"n" or "n"): n, 0 when there is
** no header, -1 when it is not a version. */
static long long if_match(struct MHD_Connection *conn)
{
  const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_IF_MATCH);
  if (!h)
    return 0;
  if (!strncmp(h, "W/", 2))
    h += 2;
  char *end;
  long long v = *h == '"' ? strtoll(h + 1, &end, 10) : -1;
  return v >= 1 && *end == '"' && !end[1] ? v : -1;
}

/* PUT /fhir/{type}/{id}: update (a new version); with If-Match, 412 when
** it does not name the current version. The id must exist: creating by
** update is not offered. */
static void h_update(ctx *c, reply *r)
{
  const char *type = c->param[0], *id = c->param[1];
  const char *rt = json_string_value(json_object_get(c->body, "resourceType"));
  const char *bid = json_string_value(json_object_get(c->body, "id"));
  long long want = if_match(c->conn);
  if (!json_is_object(c->body) || !rt || strcmp(rt, type)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "resourceType",
         "resourceType: expected the URL's type");
    return;
  }
  if (!bid || strcmp(bid, id)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "id",
         "id: expected the URL's id (FHIR R4 3.1.0.4.2)");
    return;
  }
  if (want < 0) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL,
         "If-Match: expected W/\"version\"");
    return;
  }
  json_t *meta = json_object_get(c->body, "meta");
  if (json_is_object(meta)) {
    json_object_del(meta, "versionId");
    json_object_del(meta, "lastUpdated");
  }
  char *text = json_dumps(c->body, JSON_COMPACT | JSON_PRESERVE_ORDER);
  char err[MT_ERRMSG_MAX];
  mt_resource res = {0};
  int rc = text ? mt_store_resource_update(c->s->store, type, id, text, want,
                                           &res, err, sizeof err)
                : MT_ENOMEM;
  free(text);
  if (rc == MT_ECONFLICT)
    fail(r, MHD_HTTP_PRECONDITION_FAILED, "conflict", NULL, err);
  else if (rc)
    store_failed(r, rc, err);
  else {
    with_meta(&res, r);
    r->status = MHD_HTTP_OK;
  }
  mt_resource_clear(&res);
}

/* DELETE /fhir/{type}/{id}: a delete marker version; reads then say 410. */
static void h_delete(ctx *c, reply *r)
{
  char err[MT_ERRMSG_MAX];
  mt_resource res = {0};
  long long want = if_match(c->conn);
  int rc = want < 0 ? MT_EINVAL
                    : mt_store_resource_delete(c->s->store, c->param[0],
                                               c->param[1], want, &res, err,
                                               sizeof err);
  if (rc == MT_EINVAL && want < 0)
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL,
         "If-Match: expected W/\"version\"");
  else if (rc == MT_ECONFLICT)
    fail(r, MHD_HTTP_PRECONDITION_FAILED, "conflict", NULL, err);
  else if (rc)
    store_failed(r, rc, err);
  else {
    r->status = MHD_HTTP_OK;
    r->doc = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType",
                       "OperationOutcome", "issue", "severity", "information",
                       "code", "informational", "diagnostics", "deleted");
    snprintf(r->etag, sizeof r->etag, "W/\"%lld\"",
             (long long)res.version_id);
  }
  mt_resource_clear(&res);
}

/* Every "reference" string in v that names a fullUrl of the Bundle is
** rewritten to the stored resource's Type/id (FHIR R4 3.1.0.11.2). */
static void resolve_refs(json_t *v, json_t *map)
{
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
      const char *ref = json_string_value(x);
      json_t *to = ref && !strcmp(k, "reference") ? json_object_get(map, ref)
                                                  : NULL;
      if (to)
        json_object_set(v, k, to);
      else
        resolve_refs(x, map);
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) resolve_refs(x, map);
  }
}

static void new_uuid(char out[37])
{
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40, b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 v4 */
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
           "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
           b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/*
** POST /fhir: a transaction Bundle, all or nothing. Every entry is a create
** (request.method POST to its resource type); ids are assigned first so
** that references to the entries' fullUrls (urn:uuid:...) are resolved
** before anything is stored; then all are stored in one store transaction,
** rolled back whole if any fails.
*/
static void h_transaction(ctx *c, reply *r)
{
  json_t *b = c->body, *entries = json_object_get(b, "entry");
  const char *rt = json_string_value(json_object_get(b, "resourceType"));
  const char *bt = json_string_value(json_object_get(b, "type"));
  if (!rt || strcmp(rt, "Bundle") || !bt || strcmp(bt, "transaction") ||
      !json_is_array(entries)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "Bundle.type",
         "expected a Bundle of type transaction with an entry array");
    return;
  }
  size_t n = json_array_size(entries), i;
  json_t *map = json_object(), *e;
  char (*ids)[37] = calloc(n + 1, sizeof *ids), where[64], msg[256];
  int bad = !ids;
  json_array_foreach(entries, i, e) {
    json_t *res = json_object_get(e, "resource");
    const char *type = json_string_value(json_object_get(res, "resourceType"));
    const char *method = json_string_value(
        json_object_get(json_object_get(e, "request"), "method"));
    const char *full = json_string_value(json_object_get(e, "fullUrl"));
    snprintf(where, sizeof where, "Bundle.entry[%zu]", i);
    if (!type || !type_ok(type) || !json_is_object(res)) {
      snprintf(msg, sizeof msg, "%s.resource: expected a resource", where);
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", where, msg);
      bad = 1;
      break;
    }
    if (!method || strcmp(method, "POST")) {
      snprintf(msg, sizeof msg, "%s.request.method: only POST (create) is "
               "taken in a transaction so far", where);
      fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "not-supported", where, msg);
      bad = 1;
      break;
    }
    mt_obs rows[MAX_ROWS];
    int nrow;
    const char *why;
    char path[160], prefix[80];
    snprintf(prefix, sizeof prefix, "%s.resource.", where);
    if (resource_rows(type, res, prefix, rows, &nrow, &why, path,
                      sizeof path) < 0) {
      fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "business-rule", path, why);
      bad = 1;
      break;
    }
    new_uuid(ids[i]);
    if (full) {
      char to[128];
      snprintf(to, sizeof to, "%s/%s", type, ids[i]);
      json_object_set_new(map, full, json_string(to));
    }
  }
  char err[MT_ERRMSG_MAX];
  int rc = bad ? 0 : mt_store_begin(c->s->store, err, sizeof err);
  json_t *out = bad ? NULL : json_array();
  mt_obs *fed = bad ? NULL : calloc(MAX_ROWS * n + 1, sizeof *fed);
  int n_fed = 0;
  if (!bad && !fed)
    rc = MT_ENOMEM;
  json_array_foreach(entries, i, e) {
    if (bad || rc)
      break;
    json_t *res = json_object_get(e, "resource");
    const char *type = json_string_value(json_object_get(res, "resourceType"));
    json_object_del(res, "id");
    json_t *meta = json_object_get(res, "meta");
    if (json_is_object(meta)) {
      json_object_del(meta, "versionId");
      json_object_del(meta, "lastUpdated");
    }
    resolve_refs(res, map);
    char *text = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
    mt_resource st = {0};
    rc = text ? mt_store_resource_create(c->s->store, type, ids[i], text, &st,
                                         err, sizeof err)
              : MT_ENOMEM;
    free(text);
    mt_obs rows[MAX_ROWS];
    int nrow = 0;
    const char *why;
    char path[8];
    if (!rc && resource_rows(type, res, "", rows, &nrow, &why, path,
                             sizeof path) == 0) {
      rc = append_rows(c->s->store, rows, nrow, err, sizeof err);
      for (int k = 0; !rc && k < nrow; k++)
        fed[n_fed++] = rows[k];
    }
    if (!rc) {
      char loc[160], status[16] = "201 Created";
      snprintf(loc, sizeof loc, "%s/%s/_history/1", type, ids[i]);
      json_array_append_new(out, json_pack("{s:{s:s, s:s, s:s}}", "response",
                                           "status", status, "location", loc,
                                           "etag", "W/\"1\""));
    }
    mt_resource_clear(&st);
  }
  if (!bad && rc) {
    char e2[MT_ERRMSG_MAX];
    mt_store_rollback(c->s->store, e2, sizeof e2);
    store_failed(r, rc, err);
  } else if (!bad && (rc = mt_store_commit(c->s->store, err, sizeof err)))
    store_failed(r, rc, err);
  else if (!bad) {
    r->status = MHD_HTTP_OK;
    r->doc = json_pack("{s:s, s:s, s:O}", "resourceType", "Bundle", "type",
                       "transaction-response", "entry", out);
    rows_to_twins(c->s, fed, n_fed);
  }
  free(fed);
  json_decref(out);
  json_decref(map);
  free(ids);
}

/* GET /fhir/{type}/{id}/_history/{vid}: one version. */
static void h_vread(ctx *c, reply *r)
{
  char err[MT_ERRMSG_MAX], *end;
  long long v = strtoll(c->param[2], &end, 10);
  mt_resource res = {0};
  int rc = *end || v < 1 ? MT_ENOTFOUND
                         : mt_store_resource_vread(c->s->store, c->param[0],
                                                   c->param[1], v, &res, err,
                                                   sizeof err);
  if (rc) {
    char msg[256];
    snprintf(msg, sizeof msg, "no version %.20s of %.64s/%.64s", c->param[2],
             c->param[0], c->param[1]);
    store_failed(r, rc, rc == MT_ENOTFOUND ? msg : err);
  } else if (res.deleted) {
    fail(r, MHD_HTTP_GONE, "deleted", NULL, "this version is a deletion");
  } else {
    with_meta(&res, r);
    r->status = MHD_HTTP_OK;
  }
  mt_resource_clear(&res);
}

/* GET /fhir/{type}/{id}/_history: a history Bundle, newest first. */
static void h_history(ctx *c, reply *r)
{
  char err[MT_ERRMSG_MAX];
  mt_resource *list = NULL;
  size_t n = 0;
  int rc = mt_store_resource_history(c->s->store, c->param[0], c->param[1],
                                     &list, &n, err, sizeof err);
  if (rc) {
    store_failed(r, rc, err);
    return;
  }
  json_t *entries = json_array();
  for (size_t k = 0; k < n; k++) {
    reply one = {0};
    json_t *e = json_object();
    char url[200];
    snprintf(url, sizeof url, "%s/%s", list[k].type, list[k].id);
    json_object_set_new(e, "fullUrl", json_string(url));
    if (!list[k].deleted) {
      with_meta(&list[k], &one);
      if (one.doc)
        json_object_set_new(e, "resource", one.doc);
    }
    json_object_set_new(e, "request",
                        json_pack("{s:s, s:s}", "method",
                                  list[k].deleted ? "DELETE"
                                  : list[k].version_id == 1 ? "POST" : "PUT",
                                  "url", url));
    json_array_append_new(entries, e);
  }
  mt_resource_list_free(list, n);
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:s, s:I, s:o}", "resourceType", "Bundle", "type",
                     "history", "total", (json_int_t)n, "entry", entries);
}

/* ---- the twin API ------------------------------------------------------ */

static json_t *twin_json(twin_slot *w, int full)
{
  double t = mt_twin_time(w->tw);
  json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "patient",
                        w->patient, "model", w->model, "prior_group", w->group,
                        "readings", (json_int_t)w->readings, "inputs",
                        (json_int_t)w->inputs, "refused",
                        (json_int_t)w->refused);
  json_object_set_new(o, "t_min", isnan(t) ? json_null() : json_real(t));
  if (!full || isnan(t))
    return o;
  static const double h[3] = {30, 60, 120};
  mt_twin_forecast f[3];
  if (mt_twin_forecast_at(w->tw, h, 3, f) == 0) {
    json_t *fa = json_array();
    for (int k = 0; k < 3; k++)
      json_array_append_new(
          fa, json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                        "horizon_min", f[k].horizon_min, "mean", f[k].mean,
                        "p025", f[k].q[0], "p10", f[k].q[1], "p25", f[k].q[2],
                        "p50", f[k].q[3], "p75", f[k].q[4], "p90", f[k].q[5],
                        "p975", f[k].q[6]));
    json_object_set_new(o, "forecast", fa);
  }
  json_object_set(o, "alerts", w->alerts);
  return o;
}

static int by_time_reading_first(const void *a, const void *b)
{
  const mt_obs *x = a, *y = b;
  if (x->t_ms != y->t_ms)
    return (x->t_ms > y->t_ms) - (x->t_ms < y->t_ms);
  int kx = twin_kind(x->code) != MT_DATA_CGM, ky = twin_kind(y->code) !=
                                                   MT_DATA_CGM;
  if (kx != ky)
    return kx - ky; /* at equal times a reading first, as in a stream */
  return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Everything stored for the patient's twin, in time order (a reading before
** inputs at the same time, then arrival), into its twin. */
static void replay_stored(mt_server *s, const char *patient)
{
  char err[MT_ERRMSG_MAX];
  mt_obs *all = NULL;
  size_t n_all = 0;
  for (size_t k = 0; k < N_TWIN_CODES; k++) {
    mt_obs *part = NULL;
    size_t n = 0;
    if (mt_store_obs_query(s->store, patient, twin_codes[k].code, INT64_MIN,
                           INT64_MAX, &part, &n, err, sizeof err) == 0 && n) {
      mt_obs *x = realloc(all, (n_all + n) * sizeof *x);
      if (x) {
        memcpy(x + n_all, part, n * sizeof *x);
        all = x, n_all += n;
      }
    }
    free(part);
  }
  if (n_all) {
    qsort(all, n_all, sizeof *all, by_time_reading_first);
    rows_to_twins(s, all, (int)n_all);
  }
  free(all);
}

/* PUT /api/twins/{patient}: which model the patient's twin runs; the twin
** starts from the population prior and takes the patient's stored CGM
** readings in time order, then every new one on arrival. */
static void h_twin_put(ctx *c, reply *r)
{
  const char *patient = c->param[0];
  const char *model = json_string_value(json_object_get(c->body, "model"));
  const char *prior = json_string_value(json_object_get(c->body, "prior"));
  const char *group = json_string_value(json_object_get(c->body, "group"));
  json_t *seed = json_object_get(c->body, "seed");
  r->type = "application/json";
  if (!model || strcmp(model, "uva_padova_t1d")) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "model",
         "model: expected \"uva_padova_t1d\" (the metabolic twin)");
    return;
  }
  if (prior && strcmp(prior, "population")) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "prior",
         "prior: expected \"population\"");
    return;
  }
  if (group && strcmp(group, "adult") && strcmp(group, "adolescent") &&
      strcmp(group, "child")) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "group",
         "group: expected adult, adolescent or child");
    return;
  }
  if (seed && !(json_is_integer(seed) && json_integer_value(seed) >= 0)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "seed",
         "seed: expected an integer >= 0");
    return;
  }
  mt_server *s = c->s;
  twin_slot *w = twin_of(s, patient);
  int created = !w;
  if (!w) {
    if (s->n_twin == s->cap_twin) {
      int cap = s->cap_twin ? 2 * s->cap_twin : 8;
      twin_slot *t = realloc(s->twin, (size_t)cap * sizeof *t);
      if (!t) {
        fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
             "out of memory");
        return;
      }
      s->twin = t, s->cap_twin = cap;
    }
    w = &s->twin[s->n_twin];
    memset(w, 0, sizeof *w);
  } else {
    mt_twin_free(w->tw);
    json_decref(w->alerts);
  }
  snprintf(w->patient, sizeof w->patient, "%s", patient);
  snprintf(w->model, sizeof w->model, "%s", model);
  snprintf(w->group, sizeof w->group, "%s", group ? group : "adult");
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  cfg.group = w->group;
  cfg.seed = seed ? (uint64_t)json_integer_value(seed) : 1;
  char err[MT_ERRMSG_MAX];
  w->tw = NULL, w->alerts = json_array();
  w->readings = w->inputs = w->refused = 0, w->started = 0;
  if (mt_twin_create(&cfg, &w->tw, err, sizeof err)) {
    json_decref(w->alerts);
    if (!created) /* the old twin is gone: drop its slot */
      *w = s->twin[--s->n_twin];
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL, err);
    return;
  }
  if (created)
    s->n_twin++;
  replay_stored(s, patient);
  r->status = created ? MHD_HTTP_CREATED : MHD_HTTP_OK;
  r->doc = twin_json(w, 0);
}

static void h_twins(ctx *c, reply *r)
{
  json_t *a = json_array();
  for (int k = 0; k < c->s->n_twin; k++)
    json_array_append_new(a, twin_json(&c->s->twin[k], 0));
  r->status = MHD_HTTP_OK;
  r->type = "application/json";
  r->doc = json_pack("{s:o}", "twins", a);
}

static void h_twin_get(ctx *c, reply *r)
{
  twin_slot *w = twin_of(c->s, c->param[0]);
  if (!w) {
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL,
         "no twin for this patient (PUT /api/twins/{patient} sets one)");
    return;
  }
  r->status = MHD_HTTP_OK;
  r->type = "application/json";
  r->doc = twin_json(w, 1);
}

/* ---- FHIR search -------------------------------------------------------- */

typedef struct query {
  const char *patient, *code, *date, *count, *offset, *sort, *id;
  const char *date2, *unknown; /* date may come twice: a range */
} query;

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *value)
{
  query *q = cls;
  (void)kind;
  const char **slot = !strcmp(key, "patient") || !strcmp(key, "subject")
                          ? &q->patient
                      : !strcmp(key, "code")    ? &q->code
                      : !strcmp(key, "date")    ? (q->date ? &q->date2
                                                           : &q->date)
                      : !strcmp(key, "_count")  ? &q->count
                      : !strcmp(key, "_offset") ? &q->offset
                      : !strcmp(key, "_sort")   ? &q->sort
                      : !strcmp(key, "_id")     ? &q->id
                                                : NULL;
  if (!slot) {
    if (!q->unknown)
      q->unknown = key;
  } else
    *slot = value ? value : "";
  return MHD_YES;
}

/* The resource's clinically relevant time (the `date` search parameter of
** FHIR R4 for the common types), in ms; 0 when it has none. */
static int res_time(json_t *r, int64_t *t)
{
  static const char *const keys[] = {"effectiveDateTime", "effectiveInstant",
                                     "issued", "onsetDateTime", "authoredOn",
                                     "recordedDate", "date",
                                     "effectivePeriod", "period"};
  for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
    json_t *v = json_object_get(r, keys[k]);
    const char *x = json_is_object(v)
                        ? json_string_value(json_object_get(v, "start"))
                        : json_string_value(v);
    char buf[48];
    if (x && strlen(x) == 10) { /* a date alone: its midnight, UTC */
      snprintf(buf, sizeof buf, "%sT00:00:00Z", x);
      x = buf;
    }
    if (x && mt_import_parse_iso(x, t) == 0)
      return 1;
  }
  return 0;
}

/* Whether resource r passes the query's filters. */
static int passes(json_t *r, const char *type, const query *q, int64_t d0,
                  int64_t d1)
{
  if (q->patient) {
    const char *want = strncmp(q->patient, "Patient/", 8) ? q->patient
                                                          : q->patient + 8;
    char got[MT_STORE_KEY_MAX + 1];
    if (!strcmp(type, "Patient"))
      snprintf(got, sizeof got, "%s",
               json_string_value(json_object_get(r, "id")));
    else {
      ref_id(json_object_get(r, "subject"), "Patient", got);
      if (!got[0])
        ref_id(json_object_get(r, "patient"), "Patient", got);
    }
    if (strcmp(got, want))
      return 0;
  }
  if (q->code) {
    const char *bar = strchr(q->code, '|');
    const char *code = bar ? bar + 1 : q->code;
    size_t sl = bar ? (size_t)(bar - q->code) : 0;
    int hit = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(r, "code"), "coding"),
                       i, c) {
      const char *sys = json_string_value(json_object_get(c, "system"));
      const char *cd = json_string_value(json_object_get(c, "code"));
      hit |= cd && !strcmp(cd, code) &&
             (!bar || (sys && strlen(sys) == sl && !strncmp(sys, q->code, sl)));
    }
    if (!hit)
      return 0;
  }
  if (q->date) {
    int64_t t;
    if (!res_time(r, &t) || t < d0 || t >= d1)
      return 0;
  }
  return 1;
}

/* The date parameter as the half-open range [*d0, *d1) it admits: a
** prefix (eq, ge, gt, le, lt; eq when none) and a date (a whole day) or a
** date and time (that instant, to the millisecond). 0, or -1 if malformed. */
static int date_range(const char *v, int64_t *d0, int64_t *d1)
{
  char pre[3] = "eq", buf[48];
  if (strlen(v) > 2 && v[0] >= 'a' && v[0] <= 'z') {
    memcpy(pre, v, 2);
    v += 2;
  }
  int day = strlen(v) == 10;
  snprintf(buf, sizeof buf, day ? "%sT00:00:00Z" : "%s", v);
  int64_t t;
  if (mt_import_parse_iso(buf, &t))
    return -1;
  int64_t end = t + (day ? 86400000 : 1);
  *d0 = INT64_MIN, *d1 = INT64_MAX;
  if (!strcmp(pre, "eq"))
    *d0 = t, *d1 = end;
  else if (!strcmp(pre, "ge"))
    *d0 = t;
  else if (!strcmp(pre, "gt"))
    *d0 = end;
  else if (!strcmp(pre, "le"))
    *d1 = end;
  else if (!strcmp(pre, "lt"))
    *d1 = t;
  else
    return -1;
  return 0;
}

/* A search's URL for one page: its filters, _sort, _count and _offset. */
static void page_url(char *buf, size_t len, const char *type, const query *q,
                     long count, long offset)
{
  int n = snprintf(buf, len, "/fhir/%s?", type);
  const char *key[6] = {"patient", "code", "date", "date", "_id", "_sort"};
  const char *val[6] = {q->patient, q->code, q->date, q->date2, q->id,
                        q->sort};
  for (int k = 0; k < 6; k++)
    if (val[k] && n >= 0 && (size_t)n < len)
      n += snprintf(buf + n, len - (size_t)n, "%s=%s&", key[k], val[k]);
  if (n >= 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, "_count=%ld&_offset=%ld", count,
             offset);
}

typedef struct hit {
  json_t *doc;
  int64_t t;
} hit;

static int by_date(const void *a, const void *b)
{
  const hit *x = a, *y = b;
  return (x->t > y->t) - (x->t < y->t);
}

/* GET /fhir/{type}?...: a searchset Bundle with paging links. */
static void h_search(ctx *c, reply *r)
{
  const char *type = c->param[0];
  query q = {0};
  MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, query_arg, &q);
  char msg[200], *end;
  int64_t d0 = 0, d1 = 0;
  long count = q.count ? strtol(q.count, &end, 10) : 50;
  if (q.count && (*end || end == q.count || count < 0 || count > 1000)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "_count",
         "_count: expected 0 to 1000");
    return;
  }
  long offset = q.offset ? strtol(q.offset, &end, 10) : 0;
  if (q.offset && (*end || end == q.offset || offset < 0)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "_offset",
         "_offset: expected an integer >= 0");
    return;
  }
  if (q.unknown) {
    snprintf(msg, sizeof msg, "unknown search parameter '%.60s' (supported: "
             "patient, subject, code, date, _id, _count, _offset, _sort)",
             q.unknown);
    fail(r, MHD_HTTP_BAD_REQUEST, "not-supported", q.unknown, msg);
    return;
  }
  int64_t e0 = INT64_MIN, e1 = INT64_MAX;
  if ((q.date && date_range(q.date, &d0, &d1)) ||
      (q.date2 && date_range(q.date2, &e0, &e1))) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "date",
         "date: expected [eq|ge|gt|le|lt]YYYY-MM-DD[Thh:mm[:ss]][Z|+hh:mm]");
    return;
  }
  d0 = d0 > e0 ? d0 : e0, d1 = d1 < e1 ? d1 : e1; /* both must hold */
  if (q.sort && strcmp(q.sort, "date") && strcmp(q.sort, "-date") &&
      strcmp(q.sort, "_id")) {
    fail(r, MHD_HTTP_BAD_REQUEST, "not-supported", "_sort",
         "_sort: expected date, -date or _id");
    return;
  }
  if (!type_ok(type)) {
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL, "no such resource type");
    return;
  }
  char err[MT_ERRMSG_MAX];
  mt_resource *list = NULL;
  size_t n = 0, nh = 0;
  int rc = mt_store_resource_list(c->s->store, type, &list, &n, err,
                                  sizeof err);
  hit *h = rc ? NULL : calloc(n + 1, sizeof *h);
  if (rc || !h) {
    store_failed(r, rc ? rc : MT_ENOMEM, rc ? err : "out of memory");
    mt_resource_list_free(list, n);
    return;
  }
  for (size_t k = 0; k < n; k++) {
    if (q.id && strcmp(list[k].id, q.id))
      continue;
    reply one = {0};
    with_meta(&list[k], &one);
    if (!one.doc)
      continue;
    if (!passes(one.doc, type, &q, d0, d1)) {
      json_decref(one.doc);
      continue;
    }
    h[nh].doc = one.doc;
    res_time(one.doc, &h[nh].t);
    nh++;
  }
  mt_resource_list_free(list, n);
  if (q.sort && strcmp(q.sort, "_id")) {
    qsort(h, nh, sizeof *h, by_date);
    if (q.sort[0] == '-')
      for (size_t i = 0, j = nh ? nh - 1 : 0; i < j; i++, j--) {
        hit t = h[i];
        h[i] = h[j], h[j] = t;
      }
  }
  json_t *entries = json_array(), *links = json_array();
  for (size_t k = (size_t)offset; k < nh && k < (size_t)(offset + count);
       k++) {
    char url[200];
    snprintf(url, sizeof url, "%s/%s", type,
             json_string_value(json_object_get(h[k].doc, "id")));
    json_array_append_new(entries,
                          json_pack("{s:s, s:O, s:{s:s}}", "fullUrl", url,
                                    "resource", h[k].doc, "search", "mode",
                                    "match"));
  }
  char self[640], next[640];
  page_url(self, sizeof self, type, &q, count, offset);
  json_array_append_new(links, json_pack("{s:s, s:s}", "relation", "self",
                                         "url", self));
  if ((size_t)(offset + count) < nh) {
    page_url(next, sizeof next, type, &q, count, offset + count);
    json_array_append_new(links, json_pack("{s:s, s:s}", "relation", "next",
                                           "url", next));
  }
  for (size_t k = 0; k < nh; k++)
    json_decref(h[k].doc);
  free(h);
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:s, s:I, s:o, s:o}", "resourceType", "Bundle",
                     "type", "searchset", "total", (json_int_t)nh, "link",
                     links, "entry", entries);
}

/* The routes: declared once, as data. */
static const route routes[] = {
    {"GET", "/health", h_health, 0, "liveness and version"},
    {"GET", "/ready", h_ready, 0, "readiness: the store is open"},
    {"GET", "/fhir/metadata", h_metadata, 0,
     "the FHIR R4 CapabilityStatement"},
    {"POST", "/fhir", h_transaction, ROUTE_BODY,
     "a FHIR transaction Bundle, all or nothing"},
    {"GET", "/api/twins", h_twins, 0, "the twins and their status"},
    {"GET", "/api/twins/{patient}", h_twin_get, 0,
     "a twin's state, forecast and alerts"},
    {"PUT", "/api/twins/{patient}", h_twin_put, ROUTE_BODY,
     "set the model a patient's twin runs"},
    {"POST", "/fhir/{type}", h_create, ROUTE_BODY, "FHIR create"},
    {"GET", "/fhir/{type}", h_search, 0, "FHIR search"},
    {"GET", "/fhir/{type}/{id}", h_read, 0, "FHIR read"},
    {"PUT", "/fhir/{type}/{id}", h_update, ROUTE_BODY,
     "FHIR update (If-Match)"},
    {"DELETE", "/fhir/{type}/{id}", h_delete, 0, "FHIR delete"},
    {"GET", "/fhir/{type}/{id}/_history", h_history, 0, "FHIR history"},
    {"GET", "/fhir/{type}/{id}/_history/{vid}", h_vread, 0, "FHIR vread"},
};

char *mt_server_openapi(void)
{
  json_t *paths = json_object();
  for (size_t k = 0; k < sizeof routes / sizeof *routes; k++) {
    const route *rt = &routes[k];
    json_t *item = json_object_get(paths, rt->path);
    if (!item)
      json_object_set_new(paths, rt->path, item = json_object());
    json_t *params = json_array();
    for (const char *p = strchr(rt->path, '{'); p; p = strchr(p + 1, '{')) {
      char name[32];
      snprintf(name, sizeof name, "%.*s", (int)(strcspn(p + 1, "}")), p + 1);
      json_array_append_new(params,
                            json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name,
                                      "in", "path", "required", 1, "schema",
                                      "type", "string"));
    }
    json_t *op = json_pack(
        "{s:s, s:o, s:{s:{s:s}, s:{s:s}}}", "summary", rt->summary,
        "parameters", params, "responses", "2XX", "description", "success",
        "4XX", "description", "an OperationOutcome naming what was wrong");
    if (rt->flags & ROUTE_BODY)
      json_object_set_new(
          op, "requestBody",
          json_pack("{s:b, s:{s:{}, s:{}}}", "required", 1, "content",
                    "application/fhir+json", "application/json"));
    char m[8];
    size_t i = 0;
    for (; rt->method[i] && i < sizeof m - 1; i++)
      m[i] = (char)(rt->method[i] | 0x20); /* lower case */
    m[i] = '\0';
    json_object_set_new(item, m, op);
  }
  json_t *doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "openapi", "3.0.3",
                          "info", "title", "medtwin server", "version",
                          MT_VERSION, "description",
                          "Generated from the server's route table; "
                          "docs/API.md describes each route.",
                          "paths", paths);
  char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(doc);
  return text;
}

/* Whether url matches a route's path; its {...} segments into param. A
** literal segment beats a parameter: "/fhir/metadata" is not a type. */
static int match(const char *path, const char *url, ctx *c)
{
  int np = 0;
  while (*path && *url) {
    if (*path != '/' || *url != '/')
      return 0;
    path++, url++;
    size_t ul = strcspn(url, "/"), pl = strcspn(path, "/");
    if (*path == '{') {
      if (ul == 0 || ul > MT_STORE_KEY_MAX || np == MAX_PARAMS)
        return 0;
      memcpy(c->param[np], url, ul);
      c->param[np++][ul] = '\0';
    } else if (pl != ul || strncmp(path, url, ul))
      return 0;
    path += pl, url += ul;
  }
  return !*path && !*url;
}

/* ---- the gate --------------------------------------------------------- */

/* Deepest nesting of arrays and objects in JSON text (strings skipped),
** stopping once past limit: checked before parsing, so a hostile depth
** never reaches the parser. */
static int json_depth(const char *s, size_t n, int limit)
{
  int d = 0, max = 0, in_str = 0;
  for (size_t i = 0; i < n && max <= limit; i++) {
    char ch = s[i];
    if (in_str) {
      if (ch == '\\')
        i++;
      else if (ch == '"')
        in_str = 0;
    } else if (ch == '"')
      in_str = 1;
    else if (ch == '[' || ch == '{')
      max = ++d > max ? d : max;
    else if (ch == ']' || ch == '}')
      d--;
  }
  return max;
}

static int media_ok(struct MHD_Connection *conn)
{
  const char *t = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!t)
    return 0;
  size_t n = strcspn(t, ";");
  return (n == strlen(FHIR_JSON) && !strncmp(t, FHIR_JSON, n)) ||
         (n == 16 && !strncmp(t, "application/json", 16));
}

/* Route and method, the body's limits and JSON, then the handler. */
static void dispatch(mt_server *s, struct MHD_Connection *conn, const char *url,
                     const char *method, req *q, reply *r)
{
  const route *rt = NULL;
  int path_known = 0;
  ctx c = {s, conn, method, url, NULL, {{0}}};
  /* literal routes first: they are listed before the parametrised ones */
  for (size_t k = 0; k < sizeof routes / sizeof *routes && !rt; k++)
    if (match(routes[k].path, url, &c)) {
      path_known = 1;
      if (!strcmp(method, routes[k].method))
        rt = &routes[k];
      else if (strchr(routes[k].path, '{') == NULL)
        break; /* a literal path known under another method */
    }
  if (!rt) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s %.200s: %s", method, url,
             path_known ? "method not allowed here" : "no such resource");
    fail(r, path_known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND,
         path_known ? "not-supported" : "not-found", NULL, msg);
    return;
  }
  if (q->too_large) {
    char msg[128];
    snprintf(msg, sizeof msg, "request body over %zu bytes", s->cfg.max_body);
    fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "too-long", NULL, msg);
    return;
  }
  if (rt->flags & ROUTE_BODY) {
    json_error_t je;
    if (!media_ok(conn)) {
      fail(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "not-supported", NULL,
           "expected Content-Type application/fhir+json");
      return;
    }
    if (json_depth(q->body ? q->body : "", q->len, s->cfg.max_depth) >
        s->cfg.max_depth) {
      char msg[128];
      snprintf(msg, sizeof msg, "JSON nested deeper than %d levels",
               s->cfg.max_depth);
      fail(r, MHD_HTTP_BAD_REQUEST, "structure", NULL, msg);
      return;
    }
    c.body = json_loadb(q->body ? q->body : "", q->len, 0, &je);
    if (!c.body) {
      char msg[256];
      snprintf(msg, sizeof msg, "malformed JSON at line %d, column %d: %s",
               je.line, je.column, je.text);
      fail(r, MHD_HTTP_BAD_REQUEST, "structure", NULL, msg);
      return;
    }
  }
  rt->fn(&c, r);
  json_decref(c.body);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, reply *r)
{
  char *text = r->doc ? json_dumps(r->doc, JSON_COMPACT) : NULL;
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      text ? strlen(text) : 0, text ? text : (char *)"", MHD_RESPMEM_MUST_COPY);
  free(text);
  json_decref(r->doc);
  if (!resp)
    return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          r->type ? r->type : FHIR_JSON "; charset=utf-8");
  if (r->location[0])
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
  if (r->etag[0])
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
  if (r->modified[0])
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED,
                            r->modified);
  enum MHD_Result ok = MHD_queue_response(conn, r->status, resp);
  MHD_destroy_response(resp);
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
  mt_server *s = cls;
  req *q = *con_cls;
  (void)version;
  if (!q) { /* the headers: start collecting the body */
    if (!(q = calloc(1, sizeof *q)))
      return MHD_NO;
    *con_cls = q;
    return MHD_YES;
  }
  if (*upload_size) { /* a piece of the body: kept under the limit */
    if (!q->too_large && q->len + *upload_size > s->cfg.max_body)
      q->too_large = 1;
    if (!q->too_large) {
      if (q->len + *upload_size > q->cap) {
        size_t cap = 2 * (q->len + *upload_size);
        char *b = realloc(q->body, cap);
        if (!b)
          return MHD_NO;
        q->body = b, q->cap = cap;
      }
      memcpy(q->body + q->len, upload, *upload_size);
      q->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  reply r = {MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, "", "", ""};
  dispatch(s, conn, url, method, q, &r);
  if (!r.doc)
    fail(&r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
         "no response");
  return send_reply(conn, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode tc)
{
  (void)cls, (void)conn, (void)tc;
  req *q = *con_cls;
  if (q) {
    free(q->body);
    free(q);
  }
  *con_cls = NULL;
}

/* ---- start and stop ---------------------------------------------------- */

void mt_server_config_init(mt_server_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->host = "127.0.0.1";
  cfg->port = 8080;
  cfg->data_dir = "medtwin-data";
  cfg->max_body = 8u << 20;
  cfg->max_depth = 64;
}

int mt_server_start(const mt_server_config *cfg, mt_server **out, int *port,
                    char *err, size_t errlen)
{
  *out = NULL;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)cfg->port);
  if (cfg->port < 0 || cfg->port > 65535 ||
      inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
    snprintf(err, errlen, "serve: --listen: expected an IPv4 address and a "
             "port 0-65535, got %s:%d", cfg->host, cfg->port);
    return MT_EINVAL;
  }
  if (mkdir(cfg->data_dir, 0700) && errno != EEXIST) {
    snprintf(err, errlen, "serve: %s: cannot create: %s", cfg->data_dir,
             strerror(errno));
    return MT_EIO;
  }
  mt_server *s = calloc(1, sizeof *s);
  if (!s)
    return MT_ENOMEM;
  s->cfg = *cfg;
  int rc = mt_store_open(cfg->data_dir, &s->store, err, errlen);
  if (rc) {
    free(s);
    return rc;
  }
  time_t now = time(NULL);
  struct tm tmv;
  strftime(s->started, sizeof s->started, "%Y-%m-%dT%H:%M:%SZ",
           gmtime_r(&now, &tmv));
  s->d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
      on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
  if (!s->d) {
    snprintf(err, errlen, "serve: cannot listen on %s:%d", cfg->host,
             cfg->port);
    mt_store_close(s->store);
    free(s);
    return MT_EIO;
  }
  const union MHD_DaemonInfo *di =
      MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  *port = di ? di->port : cfg->port;
  *out = s;
  return 0;
}

void mt_server_stop(mt_server *s)
{
  if (!s)
    return;
  MHD_stop_daemon(s->d);
  for (int k = 0; k < s->n_twin; k++) {
    mt_twin_free(s->twin[k].tw);
    json_decref(s->twin[k].alerts);
  }
  free(s->twin);
  mt_store_close(s->store);
  free(s);
}
