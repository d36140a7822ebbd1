/*
** The FHIR R4 (4.0.1) facade under /fhir: create (conditional with
** If-None-Exist), read, vread, history, update (If-Match), delete, search
** over the store's indexes, and transaction Bundles. Every write is a job on
** the server's writer thread (internal.h), so it is committed before it is
** acknowledged; the observations the twins use are appended to the store's
** observation table in the same job and reach the twins after the commit.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "medtwin/codes.h"
#include "medtwin/import.h"
#include "server/internal.h"
#include "server/jsonx.h"

#define MAX_ROWS 4
#define MAX_TOKENS 32
#define IDENT_SYSTEM MT_STORE_IDENT_PREFIX /* identifier tokens' prefix */

/* The server's CapabilityStatement (FHIR R4 4.0.1). */
void h_metadata(ctx *c, reply *r)
{
  static const char *const types[] = {"Patient", "Device", "Observation",
                                      "MedicationAdministration", "Flag"};
  json_t *res = json_array();
  for (size_t k = 0; k < sizeof types / sizeof *types; k++)
    json_array_append_new(
        res, json_pack("{s:s, s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}, {s:s}, "
                       "{s:s}], s:s, s:b, s:b, s:s, s:b, s:[{s:s, "
                       "s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, "
                       "s:s}]}",
                       "type", types[k], "interaction", "code", "read",
                       "code", "vread", "code", "update", "code", "delete",
                       "code", "history-instance", "code", "create", "code",
                       "search-type", "versioning",
                       "versioned-update", "readHistory", 1,
                       "updateCreate", 0, "conditionalRead", "not-supported",
                       "conditionalCreate", 1, "searchParam", "name",
                       "patient", "type", "reference", "name", "code", "type",
                       "token", "name", "date", "type", "date", "name",
                       "identifier", "type", "token", "name", "_id", "type",
                       "token"));
  r->status = MHD_HTTP_OK;
  r->doc = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:[s], s:[{s:s, s:o, "
      "s:[{s:s}]}]}",
      "resourceType", "CapabilityStatement", "status", "active", "date",
      c->s->started, "publisher", "medtwin", "kind", "instance", "software",
      "name", "medtwin", "version", MT_VERSION, "fhirVersion", "4.0.1",
      "format", "json", "rest", "mode", "server", "resource", res,
      "interaction", "code", "transaction");
}

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

/* The stored resource with its id and meta as the client sees it; the
** response's ETag and Last-Modified from its version. */
void with_meta(const mt_resource *res, reply *r)
{
  json_error_t je;
  json_t *doc = load(res->json, &je);
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

/* ---- observations the twins use --------------------------------------- */

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

/* A number's value: an integer, a real or a decimal kept as written. */
static int num(json_t *v, double *x)
{
  return mtj_number(v, x);
}

/* One coded quantity into row (code, value, unit); 0 when not the twins',
** 1 for a row, -1 refused (*why). */
static int quantity_row(json_t *cc, json_t *q, mt_obs *row, const char **why)
{
  const char *code = loinc_of(cc);
  double x;
  int isnum = num(json_object_get(q, "value"), &x);
  const char *unit = json_string_value(json_object_get(q, "code"));
  if (!unit)
    unit = json_string_value(json_object_get(q, "unit"));
  if (code && q && json_object_get(q, "value") && !isnum) {
    *why = "value: expected a number";
    return -1;
  }
  mt_norm_obs n;
  int k = code && isnum ? mt_norm_quantity(code, x, unit, &n, why) : 0;
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

/* The heart drugs a cardiovascular twin takes, by RxNorm ingredient code
** (RxNorm, U.S. National Library of Medicine: metoprolol 6918, enalapril
** 3827, furosemide 4603, dobutamine 3616), each as its model input's
** class: the oral ones a dose in mg, dobutamine an infusion rate in
** ug/min from its time on (docs/API.md, "Twins"). */
#define RXNORM "http://www.nlm.nih.gov/research/umls/rxnorm"
static const struct heart_drug {
  const char *rxnorm, *code;
  int rate; /* 1: rateQuantity in ug/min; 0: dose in mg */
} heart_drugs[] = {{"6918", CODE_BETA_BLOCKER, 0},  /* metoprolol */
                   {"3827", CODE_VASODILATOR, 0},   /* enalapril */
                   {"4603", CODE_DIURETIC, 0},      /* furosemide */
                   {"3616", CODE_INOTROPE, 1}};     /* dobutamine */

/* The heart drug a MedicationAdministration names in
** medicationCodeableConcept (an RxNorm coding), or NULL. */
static const struct heart_drug *heart_drug_of(json_t *res)
{
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(json_object_get(
                         res, "medicationCodeableConcept"), "coding"),
                     i, c) {
    const char *sys = json_string_value(json_object_get(c, "system"));
    const char *code = json_string_value(json_object_get(c, "code"));
    if (!sys || !code || strcmp(sys, RXNORM))
      continue;
    for (size_t k = 0; k < sizeof heart_drugs / sizeof *heart_drugs; k++)
      if (!strcmp(code, heart_drugs[k].rxnorm))
        return &heart_drugs[k];
  }
  return NULL;
}

/* A heart drug's row: metoprolol, enalapril, furosemide as dosage.dose in
** mg (an oral dose), dobutamine as dosage.rateQuantity in ug/min. 1 for a
** row, 0 when no amount is recorded, -1 refused (*why, path). */
static int heart_drug_row(const struct heart_drug *d, json_t *dosage,
                          const char *prefix, mt_obs *r, const char **why,
                          char *path, size_t pathlen)
{
  const char *key = d->rate ? "rateQuantity" : "dose";
  const char *other = d->rate ? "dose" : "rateQuantity";
  if (json_object_get(dosage, other)) {
    snprintf(path, pathlen, "%sdosage.%s", prefix, other);
    *why = d->rate ? "dose: dobutamine is recorded as dosage.rateQuantity "
                     "in ug/min (an infusion rate)"
                   : "rateQuantity: metoprolol, enalapril and furosemide are "
                     "recorded as dosage.dose in mg (an oral dose)";
    return -1;
  }
  json_t *q = json_object_get(dosage, key);
  if (!q)
    return 0; /* no amount recorded (as for insulin): no row */
  snprintf(path, pathlen, "%sdosage.%s", prefix, key);
  double x;
  if (!num(json_object_get(q, "value"), &x) || !(x >= 0)) {
    *why = d->rate ? "value: expected an infusion rate >= 0"
                   : "value: expected a dose >= 0";
    return -1;
  }
  const char *unit = json_string_value(json_object_get(q, "code"));
  if (!unit)
    unit = json_string_value(json_object_get(q, "unit"));
  if (!unit || strcmp(unit, d->rate ? "ug/min" : "mg")) {
    *why = d->rate ? "unit: expected ug/min" : "unit: expected mg";
    return -1;
  }
  snprintf(r->code, sizeof r->code, "%s", d->code);
  snprintf(r->unit, sizeof r->unit, "%s", unit);
  r->value = x;
  return 1;
}

/*
** The insulin a MedicationAdministration records for a twin: dosage.dose in
** U ([iU] or U) is a bolus, dosage.rateQuantity in U/h ([iU]/h or U/h) a
** basal rate from its time on. A heart drug (heart_drugs, by its RxNorm
** code in medicationCodeableConcept) instead gives its own row. A negative
** amount or another unit is -1 (422) with the path; without a patient
** subject or a time, no rows.
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
  const struct heart_drug *drug = heart_drug_of(res);
  if (drug) {
    mt_obs r = base;
    int k = heart_drug_row(drug, dosage, prefix, &r, why, path, pathlen);
    if (k < 0)
      return -1;
    if (k)
      rows[(*n)++] = r;
    if (!timed || !base.patient[0])
      *n = 0;
    return 0;
  }
  static const struct {
    const char *key, *code, *u1, *u2;
  } part[2] = {{"dose", CODE_BOLUS, "[iU]", "U"},
               {"rateQuantity", CODE_BASAL, "[iU]/h", "U/h"}};
  for (int k = 0; k < 2; k++) {
    json_t *q = json_object_get(dosage, part[k].key);
    if (!q)
      continue;
    double x;
    const char *unit = json_string_value(json_object_get(q, "code"));
    if (!unit)
      unit = json_string_value(json_object_get(q, "unit"));
    snprintf(path, pathlen, "%sdosage.%s", prefix, part[k].key);
    if (!num(json_object_get(q, "value"), &x) || !(x >= 0)) {
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
    r.value = x;
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

/* ---- what a resource is searched by ------------------------------------ */

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

typedef struct index_keys {
  char patient[MT_STORE_KEY_MAX + 1];
  char tok[MAX_TOKENS][MT_STORE_SYSTEM_MAX + MT_STORE_KEY_MAX + 2];
  const char *ptr[MAX_TOKENS];
  mt_res_index ix;
} index_keys;

static void add_token(index_keys *k, const char *prefix, const char *sys,
                      const char *code)
{
  if (!code || !*code || strlen(code) > MT_STORE_KEY_MAX ||
      k->ix.n_codes == MAX_TOKENS)
    return;
  size_t ls = strlen(prefix) + (sys ? strlen(sys) : 0);
  if (ls > MT_STORE_SYSTEM_MAX)
    return;
  for (const char *p = code; *p; p++)
    if ((unsigned char)*p < 32)
      return;
  char *t = k->tok[k->ix.n_codes];
  snprintf(t, sizeof k->tok[0], "%s%s|%s", prefix, sys ? sys : "", code);
  k->ptr[k->ix.n_codes++] = t;
}

/* The index entry of a resource (type, id): its patient, codes (code.coding
** tokens, and identifier tokens under IDENT_SYSTEM), its date. */
static void index_of(const char *type, const char *id, json_t *res,
                     index_keys *k)
{
  memset(&k->ix, 0, sizeof k->ix);
  k->patient[0] = '\0';
  if (!strcmp(type, "Patient"))
    snprintf(k->patient, sizeof k->patient, "%s", id);
  else {
    ref_id(json_object_get(res, "subject"), "Patient", k->patient);
    if (!k->patient[0])
      ref_id(json_object_get(res, "patient"), "Patient", k->patient);
  }
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(json_object_get(res, "code"), "coding"),
                     i, c)
      add_token(k, "", json_string_value(json_object_get(c, "system")),
                json_string_value(json_object_get(c, "code")));
  json_array_foreach(json_object_get(res, "identifier"), i, c)
      add_token(k, IDENT_SYSTEM,
                json_string_value(json_object_get(c, "system")),
                json_string_value(json_object_get(c, "value")));
  k->ix.patient = k->patient[0] ? k->patient : NULL;
  k->ix.codes = k->ptr;
  k->ix.has_date = res_time(res, &k->ix.date_ms);
}

void fhir_patient_of(const char *type, const char *id, json_t *res,
                     char patient[MT_STORE_KEY_MAX + 1])
{
  index_keys k;
  index_of(type, id, res, &k);
  snprintf(patient, MT_STORE_KEY_MAX + 1, "%s", k.patient);
}

int fhir_resource_check(const char *type, json_t *res, char *msg,
                        size_t msglen)
{
  mt_obs rows[MAX_ROWS];
  int n = 0;
  const char *why = NULL;
  char path[160] = "";
  index_keys k;
  index_of(type, "id", res, &k);
  if (resource_rows(type, res, "", rows, &n, &why, path, sizeof path) < 0) {
    snprintf(msg, msglen, "%s: %s", path, why ? why : "refused");
    return -1;
  }
  return n;
}

/* ---- search parameters -------------------------------------------------- */

typedef struct query {
  const char *patient, *code, *date, *count, *offset, *sort, *id, *ident;
  const char *date2, *unknown; /* date may come twice: a range */
  char buf[1024];              /* a parsed query string's text */
} query;

static void query_set(query *q, const char *key, const char *value)
{
  const char **slot = !strcmp(key, "patient") || !strcmp(key, "subject")
                          ? &q->patient
                      : !strcmp(key, "code")       ? &q->code
                      : !strcmp(key, "date")       ? (q->date ? &q->date2
                                                              : &q->date)
                      : !strcmp(key, "_count")     ? &q->count
                      : !strcmp(key, "_offset")    ? &q->offset
                      : !strcmp(key, "_sort")      ? &q->sort
                      : !strcmp(key, "_id")        ? &q->id
                      : !strcmp(key, "identifier") ? &q->ident
                                                   : NULL;
  if (!slot) {
    if (!q->unknown)
      q->unknown = key;
  } else
    *slot = value ? value : "";
}

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *value)
{
  (void)kind;
  query_set(cls, key, value);
  return MHD_YES;
}

static int hexval(char h)
{
  return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
       : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
}

/* A query string (If-None-Exist: "identifier=sys|v&patient=p"), its
** %XX and '+' decoded, into q. -1 when too long or badly escaped. */
static int query_parse(query *q, const char *qs)
{
  memset(q, 0, sizeof *q);
  if (strlen(qs) >= sizeof q->buf)
    return -1;
  char *w = q->buf;
  for (const char *p = qs; *p; p++) {
    if (*p == '%') {
      int a = hexval(p[1]), b = a < 0 ? -1 : hexval(p[2]);
      if (b < 0 || (a == 0 && b == 0))
        return -1;
      *w++ = (char)(a * 16 + b), p += 2;
    } else if (*p == '&')
      *w++ = '\0';
    else
      *w++ = *p == '+' ? ' ' : *p;
  }
  *w = '\0';
  for (char *k = q->buf; k <= w;) {
    char *next = k + strlen(k) + 1; /* before the '=' is cut */
    if (*k) {
      char *eq = strchr(k, '=');
      if (eq)
        *eq = '\0';
      query_set(q, k, eq ? eq + 1 : "");
    }
    k = next;
  }
  return 0;
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

/*
** The store query of q for type, or an error for the reply: status, the
** parameter and the message. The strings in sq point into q and tokbuf.
*/
static int to_store_query(const char *type, query *q, mt_res_query *sq,
                          char *tokbuf, size_t toklen, const char **param,
                          char *msg, size_t msglen)
{
  char *end;
  memset(sq, 0, sizeof *sq);
  sq->type = type;
  sq->count = 50;
  if (q->unknown) {
    snprintf(msg, msglen, "unknown search parameter '%.60s' (supported: "
             "patient, subject, code, date, identifier, _id, _count, "
             "_offset, _sort)", q->unknown);
    *param = q->unknown;
    return MHD_HTTP_BAD_REQUEST;
  }
  if (q->count) {
    sq->count = strtol(q->count, &end, 10);
    if (*end || end == q->count || sq->count < 0 || sq->count > 1000) {
      snprintf(msg, msglen, "_count: expected 0 to 1000");
      *param = "_count";
      return MHD_HTTP_BAD_REQUEST;
    }
  }
  if (q->offset) {
    sq->offset = strtol(q->offset, &end, 10);
    if (*end || end == q->offset || sq->offset < 0) {
      snprintf(msg, msglen, "_offset: expected an integer >= 0");
      *param = "_offset";
      return MHD_HTTP_BAD_REQUEST;
    }
  }
  int64_t d0 = INT64_MIN, d1 = INT64_MAX, e0 = INT64_MIN, e1 = INT64_MAX;
  if ((q->date && date_range(q->date, &d0, &d1)) ||
      (q->date2 && date_range(q->date2, &e0, &e1))) {
    snprintf(msg, msglen, "date: expected [eq|ge|gt|le|lt]YYYY-MM-DD"
             "[Thh:mm[:ss]][Z|+hh:mm]");
    *param = "date";
    return MHD_HTTP_BAD_REQUEST;
  }
  if (q->date) {
    d0 = d0 > e0 ? d0 : e0, d1 = d1 < e1 ? d1 : e1; /* both must hold */
    sq->has_date_lo = d0 != INT64_MIN, sq->date_lo = d0;
    sq->has_date_hi = 1, sq->date_hi = d1;
    if (d0 == INT64_MIN) /* no lower bound: still only dated resources */
      sq->has_date_lo = 1;
  }
  if (q->sort) {
    if (!strcmp(q->sort, "date"))
      sq->sort = 1;
    else if (!strcmp(q->sort, "-date"))
      sq->sort = -1;
    else if (strcmp(q->sort, "_id")) {
      snprintf(msg, msglen, "_sort: expected date, -date or _id");
      *param = "_sort";
      return MHD_HTTP_BAD_REQUEST;
    }
  }
  if (q->patient)
    sq->patient = strncmp(q->patient, "Patient/", 8) ? q->patient
                                                     : q->patient + 8;
  sq->id = q->id;
  if (q->code && q->ident) {
    snprintf(msg, msglen, "code and identifier together are not supported");
    *param = "identifier";
    return MHD_HTTP_BAD_REQUEST;
  }
  const char *tok = q->code ? q->code : q->ident;
  if (tok) {
    const char *bar = strchr(tok, '|');
    if (q->ident) { /* identifiers are indexed under their own system */
      snprintf(tokbuf, toklen, "%s%.*s", IDENT_SYSTEM,
               bar ? (int)(bar - tok) : 0, tok);
      sq->code_system = bar ? tokbuf : NULL;
      sq->ident = 1;
    } else {
      snprintf(tokbuf, toklen, "%.*s", bar ? (int)(bar - tok) : 0, tok);
      sq->code_system = bar ? tokbuf : NULL;
    }
    sq->code = bar ? bar + 1 : tok;
    if (!*sq->code || strlen(sq->code) > MT_STORE_KEY_MAX) {
      snprintf(msg, msglen, "%s: expected [system|]code",
               q->code ? "code" : "identifier");
      *param = q->code ? "code" : "identifier";
      return MHD_HTTP_BAD_REQUEST;
    }
  }
  if (sq->patient && (!*sq->patient || strlen(sq->patient) >
                      MT_STORE_KEY_MAX)) {
    snprintf(msg, msglen, "patient: expected Patient/id or id");
    *param = "patient";
    return MHD_HTTP_BAD_REQUEST;
  }
  if (sq->id && (!*sq->id || strlen(sq->id) > MT_STORE_KEY_MAX)) {
    snprintf(msg, msglen, "_id: expected an id");
    *param = "_id";
    return MHD_HTTP_BAD_REQUEST;
  }
  return 0;
}

/* A search's URL for one page: its filters, _sort, _count and _offset. */
static void page_url(char *buf, size_t len, const char *type, const query *q,
                     long count, long offset)
{
  int n = snprintf(buf, len, "/fhir/%s?", type);
  const char *key[7] = {"patient", "code", "date", "date", "_id", "_sort",
                        "identifier"};
  const char *val[7] = {q->patient, q->code, q->date, q->date2, q->id,
                        q->sort, q->ident};
  for (int k = 0; k < 7; k++)
    if (val[k] && n >= 0 && (size_t)n < len)
      n += snprintf(buf + n, len - (size_t)n, "%s=%s&", key[k], val[k]);
  if (n >= 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, "_count=%ld&_offset=%ld", count,
             offset);
}

/* GET /fhir/{type}?...: a searchset Bundle with paging links. */
void h_search(ctx *c, reply *r)
{
  const char *type = c->param[0], *param = NULL;
  query q;
  memset(&q, 0, sizeof q);
  MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, query_arg, &q);
  if (!type_ok(type)) {
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL, "no such resource type");
    return;
  }
  mt_res_query sq;
  char tok[MT_STORE_SYSTEM_MAX + 1], msg[256];
  int st = to_store_query(type, &q, &sq, tok, sizeof tok, &param, msg,
                          sizeof msg);
  if (st) {
    fail(r, st, st == MHD_HTTP_BAD_REQUEST && q.unknown ? "not-supported"
                                                         : "invalid",
         param, msg);
    return;
  }
  auth_reach(c, &sq); /* only what the caller may see counts */
  char err[MT_ERRMSG_MAX];
  mt_resource *list = NULL;
  size_t n = 0;
  long total = 0;
  mt_store *rd = reader(c);
  int rc = rd ? mt_store_resource_search(rd, &sq, &list, &n, &total, err,
                                         sizeof err)
              : MT_EIO;
  if (rc) {
    store_failed(r, rc, rd ? err : "no store handle");
    return;
  }
  json_t *entries = json_array(), *links = json_array();
  for (size_t k = 0; k < n; k++) {
    reply one = {0};
    with_meta(&list[k], &one);
    if (!one.doc)
      continue;
    char url[200];
    snprintf(url, sizeof url, "%s/%s", type, list[k].id);
    json_array_append_new(entries,
                          json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", url,
                                    "resource", one.doc, "search", "mode",
                                    "match"));
  }
  mt_resource_list_free(list, n);
  char self[1400], next[1400];
  page_url(self, sizeof self, type, &q, sq.count, sq.offset);
  json_array_append_new(links, json_pack("{s:s, s:s}", "relation", "self",
                                         "url", self));
  if (sq.offset + sq.count < total) {
    page_url(next, sizeof next, type, &q, sq.count, sq.offset + sq.count);
    json_array_append_new(links, json_pack("{s:s, s:s}", "relation", "next",
                                           "url", next));
  }
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:s, s:I, s:o, s:o}", "resourceType", "Bundle",
                     "type", "searchset", "total", (json_int_t)total, "link",
                     links, "entry", entries);
}

/* ---- the whole record: Patient $everything ---------------------------- */

/* The most resources one export holds: the Bundle is built in memory. */
#define EXPORT_MAX 50000

typedef struct export_args {
  const char *format, *unknown;
} export_args;

static enum MHD_Result export_arg(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
  export_args *a = cls;
  (void)kind;
  if (!strcmp(key, "_format"))
    a->format = value ? value : "";
  else if (!a->unknown)
    a->unknown = key;
  return MHD_YES;
}

/* Whether a media type (or _format's short name) is NDJSON: 1, JSON: 0,
** neither: -1. A '+' of a query string may arrive as a space. */
static int ndjson_format(const char *f)
{
  static const char *const nd[] = {"ndjson", "application/fhir+ndjson",
                                   "application/fhir ndjson",
                                   "application/ndjson"};
  static const char *const js[] = {"json", "application/fhir+json",
                                   "application/fhir json",
                                   "application/json"};
  for (size_t k = 0; k < sizeof nd / sizeof *nd; k++)
    if (!strcmp(f, nd[k]))
      return 1;
  for (size_t k = 0; k < sizeof js / sizeof *js; k++)
    if (!strcmp(f, js[k]))
      return 0;
  return -1;
}

/* One entry of the export: fullUrl Type/id, the resource with its meta. */
static int export_entry(json_t *entries, const mt_resource *res)
{
  reply one = {0};
  with_meta(res, &one);
  if (!one.doc)
    return -1;
  char url[2 * MT_STORE_KEY_MAX + 2];
  snprintf(url, sizeof url, "%s/%s", res->type, res->id);
  json_array_append_new(entries,
                        json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", url,
                                  "resource", one.doc, "search", "mode",
                                  "match"));
  return 0;
}

/*
** GET /fhir/Patient/{patient}/$everything (FHIR R4 Patient $everything, for
** GDPR Art. 20): the Patient and every current resource of its compartment
** (the index's patient, fhir_patient_of) in one searchset Bundle, the
** Patient first; as NDJSON with ?_format=ndjson or Accept:
** application/fhir+ndjson. No paging: a record over EXPORT_MAX resources is
** refused (422). auth_after checks every entry against the caller's reach
** before anything is sent; NDJSON is made from the checked Bundle.
*/
void h_everything(ctx *c, reply *r)
{
  const char *pid = c->param[0];
  export_args a = {0};
  MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, export_arg, &a);
  const char *acc = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_ACCEPT);
  int nd = a.format ? ndjson_format(a.format)
                    : acc && (strstr(acc, "application/fhir+ndjson") ||
                              strstr(acc, "application/ndjson"));
  if (a.unknown || nd < 0) {
    char msg[200];
    snprintf(msg, sizeof msg, a.unknown ? "unsupported parameter %.64s: "
             "$everything takes _format only" : "_format: expected json or "
             "ndjson, got %.64s", a.unknown ? a.unknown : a.format);
    fail(r, MHD_HTTP_BAD_REQUEST, "not-supported",
         a.unknown ? a.unknown : "_format", msg);
    return;
  }
  char err[MT_ERRMSG_MAX];
  mt_resource *list = NULL;
  size_t n = 0;
  long total = 0;
  mt_store *rd = reader(c);
  int rc = rd ? mt_store_patient_resources(rd, pid, EXPORT_MAX, &list, &n,
                                           &total, err, sizeof err)
              : MT_EIO;
  if (rc) {
    store_failed(r, rc, rd ? err : "no store handle");
    return;
  }
  size_t self = n;
  for (size_t k = 0; k < n && self == n; k++)
    if (!strcmp(list[k].type, "Patient") && !strcmp(list[k].id, pid))
      self = k;
  char msg[200];
  if (total > EXPORT_MAX) {
    snprintf(msg, sizeof msg, "the record holds %ld resources, over the "
             "export limit of %d", total, EXPORT_MAX);
    fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "too-costly", NULL, msg);
  } else if (self == n) {
    snprintf(msg, sizeof msg, "no Patient with id %.64s", pid);
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL, msg);
  } else {
    json_t *entries = json_array();
    int bad = export_entry(entries, &list[self]);
    for (size_t k = 0; k < n && !bad; k++)
      if (k != self)
        bad = export_entry(entries, &list[k]);
    r->status = MHD_HTTP_OK;
    r->doc = json_pack("{s:s, s:s, s:I, s:o}", "resourceType", "Bundle",
                       "type", "searchset", "total", (json_int_t)n, "entry",
                       entries);
    r->ndjson = nd;
    if (bad)
      fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
           "a stored resource is not JSON");
  }
  mt_resource_list_free(list, n);
}

/* ---- writes --------------------------------------------------------------- */

/*
** A new resource id: a UUID version 7 (RFC 9562 5.7): 48 bits of Unix
** milliseconds, then a 12-bit counter within the millisecond (method 1 of
** 6.2, so ids made by this process sort in the order they were made), then
** 62 random bits. Ids that grow with time are inserted at the right edge of
** the store's resource and index trees instead of at random places.
*/
static void new_uuid(char out[37])
{
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  static int64_t last_ms;
  static unsigned counter;
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  pthread_mutex_lock(&lock);
  int64_t ms = now_ms();
  if (ms <= last_ms) { /* same millisecond (or the clock went back) */
    ms = last_ms;
    if (++counter > 0xfff)
      counter = 0, ms = ++last_ms;
  } else
    counter = 0, last_ms = ms;
  unsigned seq = counter;
  pthread_mutex_unlock(&lock);
  for (int k = 0; k < 6; k++)
    b[k] = (unsigned char)((uint64_t)ms >> (40 - 8 * k));
  b[6] = (unsigned char)(0x70 | (seq >> 8)), b[7] = (unsigned char)seq;
  b[8] = (b[8] & 0x3f) | 0x80; /* the RFC 9562 variant */
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
           "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
           b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void strip_meta(json_t *res)
{
  json_t *meta = json_object_get(res, "meta");
  if (json_is_object(meta)) {
    json_object_del(meta, "versionId");
    json_object_del(meta, "lastUpdated");
  }
}

/* The outcome of one write (a create, an update, a delete), as the entry of
** a transaction or the reply of a single request. */
typedef struct one_write {
  /* in */
  const char *method; /* POST, PUT, DELETE */
  char type[MT_STORE_KEY_MAX + 1], id[MT_STORE_KEY_MAX + 1];
  json_t *res;        /* POST, PUT */
  const char *cond;   /* POST: If-None-Exist query; PUT/DELETE: conditional
                         update/delete query (transactions) */
  int64_t if_match;   /* PUT, DELETE: 0 none */
  mt_obs rows[MAX_ROWS];
  int nrow;
  char *text;         /* the resource as stored, made before the job when
                         nothing in it waits for the store (NULL: in it) */
  index_keys *ix;     /* likewise its index entry */
  /* out */
  int status;         /* 200, 201 */
  int existed;        /* a create that found its resource already there */
  mt_resource stored;
  char where[48];     /* "Bundle.entry[3]" in a transaction, else "" */
  int http;           /* on failure: the HTTP status to answer */
  const char *code;   /* and the issue code */
} one_write;

int fhir_query_check(const char *type, const char *qs, char *msg,
                     size_t msglen)
{
  query q;
  mt_res_query sq;
  char tok[MT_STORE_SYSTEM_MAX + 1];
  const char *param;
  if (query_parse(&q, qs)) {
    snprintf(msg, msglen, "badly escaped or too long");
    return MHD_HTTP_BAD_REQUEST;
  }
  return to_store_query(type, &q, &sq, tok, sizeof tok, &param, msg, msglen);
}

/* A conditional query's one match (its id into id): 0 one, MT_ENOTFOUND
** none, MT_ECONFLICT several, MT_EINVAL a bad query. */
static int cond_match(mt_store *st, const char *type, const char *cond,
                      char *id, char *err, size_t errlen)
{
  query q;
  mt_res_query sq;
  char tok[MT_STORE_SYSTEM_MAX + 1], msg[256];
  const char *param;
  if (query_parse(&q, cond) ||
      to_store_query(type, &q, &sq, tok, sizeof tok, &param, msg,
                     sizeof msg)) {
    snprintf(err, errlen, "conditional query '%.200s': %s", cond,
             query_parse(&q, cond) ? "badly escaped or too long" : msg);
    return MT_EINVAL;
  }
  if (!q.patient && !q.code && !q.ident && !q.id && !q.date) {
    snprintf(err, errlen, "conditional query '%.200s': no criteria", cond);
    return MT_EINVAL;
  }
  sq.count = 2, sq.offset = 0;
  mt_resource *list = NULL;
  size_t n = 0;
  long total = 0;
  int rc = mt_store_resource_search(st, &sq, &list, &n, &total, err, errlen);
  if (!rc && total == 1 && n == 1)
    snprintf(id, MT_STORE_KEY_MAX + 1, "%s", list[0].id);
  mt_resource_list_free(list, n);
  if (rc)
    return rc;
  if (total > 1)
    snprintf(err, errlen, "conditional query '%.200s' matches %ld "
             "resources", cond, total);
  return total == 0 ? MT_ENOTFOUND : total == 1 ? 0 : MT_ECONFLICT;
}

static int set_index(mt_store *st, one_write *w, char *err, size_t errlen)
{
  if (w->ix)
    return mt_store_resource_set_index(st, w->type, w->id, &w->ix->ix, err,
                                       errlen);
  index_keys k;
  index_of(w->type, w->id, w->res, &k);
  return mt_store_resource_set_index(st, w->type, w->id, &k.ix, err, errlen);
}

/* The resource's stored text, rows and index entry, made on the request's
** own thread so that the writer only writes: for a create, and an update
** by id, whose references are all resolved. 0, or MT_ENOMEM. */
static int prepare_write(one_write *w)
{
  if (!w->res || (w->method[0] == 'P' && w->method[1] == 'U' && !w->id[0]))
    return 0;
  if (w->method[1] == 'O') {
    json_object_del(w->res, "id");
    const char *why;
    char path[8];
    if (resource_rows(w->type, w->res, "", w->rows, &w->nrow, &why, path,
                      sizeof path) < 0)
      w->nrow = 0; /* checked before: cannot happen */
  } else
    json_object_set_new(w->res, "id", json_string(w->id));
  strip_meta(w->res);
  w->text = dump(w->res);
  w->ix = malloc(sizeof *w->ix);
  if (!w->text || !w->ix)
    return MT_ENOMEM;
  index_of(w->type, w->id, w->res, w->ix);
  return 0;
}

static void write_clear(one_write *w)
{
  free(w->text);
  free(w->ix);
  w->text = NULL, w->ix = NULL;
  mt_resource_clear(&w->stored);
}

/* The patient of the current version of type/id ("" : none, or no such
** resource). */
static void stored_patient(mt_store *st, const char *type, const char *id,
                           char patient[MT_STORE_KEY_MAX + 1])
{
  mt_resource was = {0};
  char err[MT_ERRMSG_MAX];
  patient[0] = '\0';
  if (mt_store_resource_read(st, type, id, &was, err, sizeof err) == 0) {
    json_error_t e;
    json_t *res = load(was.json, &e);
    if (res)
      fhir_patient_of(type, id, res, patient);
    json_decref(res);
  }
  mt_resource_clear(&was);
}

/* The caller's access to a write (auth.c): 0, or the failure in w. */
static int allowed(mt_store *st, one_write *w, unsigned op,
                   const char *new_patient, const char *old_patient,
                   char *err, size_t errlen)
{
  int http = 0;
  int rc = auth_write(st, op, w->type, new_patient, old_patient,
                      op == PERM_D ? NULL : w->res, &http, err, errlen);
  if (rc) {
    w->http = http;
    w->code = http == 404 ? "not-found" : "forbidden";
  }
  return rc;
}

/* One write on the writer's handle; the failure's status into w->http. */
static int do_write(mt_store *st, one_write *w, char *err, size_t errlen)
{
  int rc;
  int guarded = job_principal() != NULL; /* a client's, not the server's */
  char newp[MT_STORE_KEY_MAX + 1] = "", oldp[MT_STORE_KEY_MAX + 1] = "";
  w->http = 0;
  if (w->res) {
    if (w->ix)
      snprintf(newp, sizeof newp, "%s", w->ix->patient);
    else
      fhir_patient_of(w->type, w->id, w->res, newp);
  }
  if (!strcmp(w->method, "POST")) {
    char hit[MT_STORE_KEY_MAX + 1];
    if (w->cond) { /* If-None-Exist (FHIR R4 3.1.0.8) */
      rc = cond_match(st, w->type, w->cond, hit, err, errlen);
      if (rc == 0) {
        w->existed = 1, w->status = 200;
        snprintf(w->id, sizeof w->id, "%s", hit);
        if (guarded) {
          stored_patient(st, w->type, hit, oldp);
          if ((rc = allowed(st, w, PERM_C, newp, oldp, err, errlen)))
            return rc;
        }
        return mt_store_resource_read(st, w->type, hit, &w->stored, err,
                                      errlen);
      }
      if (rc != MT_ENOTFOUND) {
        w->http = rc == MT_ECONFLICT ? MHD_HTTP_PRECONDITION_FAILED
                                     : MHD_HTTP_BAD_REQUEST;
        w->code = rc == MT_ECONFLICT ? "multiple-matches" : "invalid";
        return rc;
      }
    }
    char *text = w->text;
    w->text = NULL;
    if (!text) {
      json_object_del(w->res, "id");
      strip_meta(w->res);
      text = dump(w->res);
    }
    if (!text)
      return MT_ENOMEM;
    if (guarded && (rc = allowed(st, w, PERM_C, newp, NULL, err, errlen))) {
      free(text);
      return rc;
    }
    rc = 0;
    for (int k = 0; k < w->nrow; k++) {
      int64_t seq;
      snprintf(w->rows[k].resource, sizeof w->rows[k].resource, "%s", w->id);
      rc = mt_store_obs_append(st, &w->rows[k], &seq, err, errlen);
      if (rc < 0)
        break;
      int dup = rc == MT_STORE_DUPLICATE;
      rc = 0;
      if (k > 0 || !dup)
        continue;
      /* the same observation again (patient, device, code, time): when the
      ** resource is the one stored, it answers; a different resource with
      ** the same key is stored beside it (its datum is the first one's) */
      mt_obs was;
      mt_resource old = {0};
      if (mt_store_obs_get(st, seq, &was, err, errlen) == 0 &&
          was.resource[0] && strcmp(was.resource, w->id) &&
          mt_store_resource_read(st, w->type, was.resource, &old, err,
                                 errlen) == 0 &&
          !strcmp(old.json, text)) {
        w->existed = 1, w->status = 200, w->nrow = 0;
        snprintf(w->id, sizeof w->id, "%s", was.resource);
        w->stored = old;
        free(text);
        return 0;
      }
      mt_resource_clear(&old);
    }
    rc = rc ? rc
            : mt_store_resource_create_of(st, newp, w->type, w->id, text,
                                          &w->stored, err, errlen);
    free(text);
    if (!rc)
      rc = set_index(st, w, err, errlen);
    if (!rc)
      rc = auth_written(st, PERM_C, w->type, w->id, newp, w->res, err,
                        errlen);
    w->status = 201;
    return rc;
  }
  if (w->cond && !w->id[0]) { /* conditional update or delete */
    rc = cond_match(st, w->type, w->cond, w->id, err, errlen);
    if (rc) {
      w->http = rc == MT_ECONFLICT ? MHD_HTTP_PRECONDITION_FAILED
              : rc == MT_ENOTFOUND ? MHD_HTTP_NOT_FOUND
                                   : MHD_HTTP_BAD_REQUEST;
      w->code = rc == MT_ECONFLICT ? "multiple-matches"
              : rc == MT_ENOTFOUND ? "not-found" : "invalid";
      return rc;
    }
  }
  if (guarded) /* the access check and the audit record need it */
    stored_patient(st, w->type, w->id, oldp);
  if (guarded && (rc = allowed(st, w, w->method[0] == 'P' ? PERM_U : PERM_D,
                               w->method[0] == 'P' ? newp : NULL, oldp, err,
                               errlen)))
    return rc;
  if (!strcmp(w->method, "PUT")) {
    char *text = w->text;
    w->text = NULL;
    if (!text) {
      json_object_set_new(w->res, "id", json_string(w->id));
      strip_meta(w->res);
      text = dump(w->res);
    }
    rc = text ? mt_store_resource_update_of(st, newp, w->type, w->id, text,
                                            w->if_match, &w->stored, err,
                                            errlen)
              : MT_ENOMEM;
    free(text);
    if (!rc)
      rc = set_index(st, w, err, errlen);
    if (!rc)
      rc = auth_written(st, PERM_U, w->type, w->id, newp, w->res, err,
                        errlen);
    w->status = 200;
  } else {
    rc = mt_store_resource_delete(st, w->type, w->id, w->if_match, &w->stored,
                                  err, errlen);
    if (!rc)
      rc = auth_written(st, PERM_D, w->type, w->id, oldp, NULL, err, errlen);
    w->status = 200;
  }
  if (rc == MT_ECONFLICT)
    w->http = MHD_HTTP_PRECONDITION_FAILED, w->code = "conflict";
  return rc;
}

static int job_one(mt_store *st, job *j)
{
  return do_write(st, j->arg, j->err, sizeof j->err);
}

/* The reply to a failed write. */
static void write_failed(reply *r, one_write *w, int rc, const char *err)
{
  if (w->http)
    fail(r, (unsigned)w->http, w->code, w->where[0] ? w->where : NULL, err);
  else
    store_failed(r, rc, err);
}

/* After a commit: the patients whose twins may have new data. */
static void feed_after(ctx *c, const one_write *w, int n)
{
  for (int i = 0; i < n; i++)
    for (int k = 0; k < w[i].nrow; k++) {
      int seen = 0;
      for (int j = 0; j < i && !seen; j++)
        seen = w[j].nrow && !strcmp(w[j].rows[0].patient, w[i].rows[k].patient);
      if (!seen && (k == 0 || strcmp(w[i].rows[k].patient,
                                     w[i].rows[0].patient)))
        twins_feed(c->s, reader(c), w[i].rows[k].patient);
    }
}

/* The body's resource for type: 400 unless it is one, 422 for a value the
** twins' rules refuse. 0 when fine. */
static int check_body(ctx *c, reply *r, const char *type, one_write *w)
{
  const char *rt = json_string_value(json_object_get(c->body, "resourceType"));
  if (!type_ok(type)) {
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL, "no such resource type");
    return -1;
  }
  if (!json_is_object(c->body) || !rt || strcmp(rt, type)) {
    char msg[160];
    snprintf(msg, sizeof msg, "resourceType: expected \"%s\"", type);
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "resourceType", msg);
    return -1;
  }
  const char *why;
  char path[160], prefix[80];
  snprintf(prefix, sizeof prefix, "%s.", type);
  if (resource_rows(type, c->body, prefix, w->rows, &w->nrow, &why, path,
                    sizeof path) < 0) {
    fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "business-rule", path, why);
    return -1;
  }
  return 0;
}

static void answer(reply *r, one_write *w)
{
  with_meta(&w->stored, r);
  r->status = (unsigned)w->status;
  if (w->status == 201)
    snprintf(r->location, sizeof r->location, "/fhir/%s/%s/_history/%lld",
             w->stored.type, w->stored.id, (long long)w->stored.version_id);
}

/* POST /fhir/{type}: create; the server assigns the id (FHIR R4 3.1.0.4);
** with If-None-Exist, the one match answers 200 instead (3.1.0.8). The same
** observation again (patient, device, code, time) answers with the stored
** one, 200. */
void h_create(ctx *c, reply *r)
{
  one_write *w = calloc(1, sizeof *w);
  if (!w) {
    fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL, "out of memory");
    return;
  }
  snprintf(w->type, sizeof w->type, "%s", c->param[0]);
  if (check_body(c, r, w->type, w) == 0) {
    w->method = "POST";
    w->res = c->body;
    w->cond = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
                                          "If-None-Exist");
    new_uuid(w->id);
    job j = {.fn = job_one, .arg = w};
    int rc = prepare_write(w);
    if (!rc)
      rc = write_wait(c->s, &j);
    else
      snprintf(j.err, sizeof j.err, "out of memory");
    if (rc)
      write_failed(r, w, rc, j.err);
    else {
      answer(r, w);
      feed_after(c, w, 1);
    }
  }
  write_clear(w);
  free(w);
}

/* GET /fhir/{type}/{id}: read; 410 Gone once deleted. */
void h_read(ctx *c, reply *r)
{
  char err[MT_ERRMSG_MAX];
  mt_resource res = {0};
  mt_store *rd = reader(c);
  int rc = rd ? mt_store_resource_read(rd, c->param[0], c->param[1], &res,
                                       err, sizeof err)
              : MT_EIO;
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

/* An If-Match header or an entry's request.ifMatch (W/"n" or "n"): n, 0
** when absent, -1 when it is not a version. */
static long long etag_version(const char *h)
{
  if (!h)
    return 0;
  if (!strncmp(h, "W/", 2))
    h += 2;
  char *end;
  long long v = *h == '"' ? strtoll(h + 1, &end, 10) : -1;
  return v >= 1 && *end == '"' && !end[1] ? v : -1;
}

static long long if_match(struct MHD_Connection *conn)
{
  return etag_version(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_MATCH));
}

/* PUT /fhir/{type}/{id}: update (a new version); with If-Match, 412 when
** it does not name the current version. The id must exist: creating by
** update is not offered. */
void h_update(ctx *c, reply *r)
{
  const char *bid = json_string_value(json_object_get(c->body, "id"));
  long long want = if_match(c->conn);
  one_write *w = calloc(1, sizeof *w);
  if (!w) {
    fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL, "out of memory");
    return;
  }
  snprintf(w->type, sizeof w->type, "%s", c->param[0]);
  snprintf(w->id, sizeof w->id, "%s", c->param[1]);
  if (check_body(c, r, w->type, w) == 0) {
    w->nrow = 0; /* an amended observation is not new data for a twin */
    if (!bid || strcmp(bid, w->id))
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "id",
           "id: expected the URL's id (FHIR R4 3.1.0.4.2)");
    else if (want < 0)
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL,
           "If-Match: expected W/\"version\"");
    else {
      w->method = "PUT", w->res = c->body, w->if_match = want;
      job j = {.fn = job_one, .arg = w};
      int rc = prepare_write(w);
      if (!rc)
        rc = write_wait(c->s, &j);
      else
        snprintf(j.err, sizeof j.err, "out of memory");
      if (rc)
        write_failed(r, w, rc, j.err);
      else
        answer(r, w);
    }
  }
  write_clear(w);
  free(w);
}

static int job_nothing(mt_store *st, job *j)
{
  (void)st, (void)j;
  return 0;
}

typedef struct erase_arg {
  char patient[MT_STORE_KEY_MAX + 1];
  mt_store_erased e;
} erase_arg;

/* After the group's commit, outside any transaction (store.h). */
static int job_erase(mt_store *st, job *j)
{
  erase_arg *a = j->arg;
  return mt_store_patient_erase(st, a->patient, &a->e, j->err,
                                sizeof j->err);
}

/*
** DELETE /fhir/Patient/{id}?_purge=true: erasure (GDPR Art. 17), by an
** admin: the patient's key destroyed, every row of the patient deleted with
** secure_delete, the log truncated (mt_store_patient_erase), the live twin
** dropped. 404 when there was nothing of the patient.
*/
static void purge(ctx *c, reply *r)
{
  snprintf(c->action, sizeof c->action, "erase");
  if (strcmp(c->param[0], "Patient")) {
    fail(r, MHD_HTTP_BAD_REQUEST, "not-supported", "_purge",
         "_purge: only a Patient is erased (with everything of it)");
    return;
  }
  if (c->who.role != MT_ROLE_ADMIN) {
    fail(r, MHD_HTTP_FORBIDDEN, "forbidden", "_purge",
         "only an admin erases a patient");
    return;
  }
  erase_arg a;
  memset(&a, 0, sizeof a);
  snprintf(a.patient, sizeof a.patient, "%s", c->param[1]);
  job j = {.fn = job_nothing, .alone = job_erase, .arg = &a};
  int rc = write_wait(c->s, &j);
  if (rc) {
    store_failed(r, rc, j.err);
    return;
  }
  twins_forget(c->s, a.patient);
  mt_store_erased *e = &a.e;
  if (!e->key_destroyed && !e->resources && !e->observations &&
      !e->snapshots && !e->alerts && !e->quarantined && !e->users &&
      !e->tokens && !e->careteam && !e->consents) {
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL, "no such patient");
    return;
  }
  char msg[512];
  snprintf(msg, sizeof msg, "erased: key %s; %ld resource versions, %ld "
           "observations, %ld snapshots, %ld alerts, %ld quarantined, %ld "
           "users, %ld tokens, %ld care-team and %ld consent rows; log %s",
           e->key_destroyed ? "destroyed" : "none", e->resources,
           e->observations, e->snapshots, e->alerts, e->quarantined,
           e->users, e->tokens, e->careteam, e->consents,
           e->wal_truncated ? "truncated" : "not truncated (readers busy)");
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType",
                     "OperationOutcome", "issue", "severity", "information",
                     "code", "informational", "diagnostics", msg);
}

/* DELETE /fhir/{type}/{id}: a delete marker version; reads then say 410.
** With _purge=true, an erasure (purge above). */
void h_delete(ctx *c, reply *r)
{
  const char *p = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND,
                                              "_purge");
  if (p && strcmp(p, "true") && strcmp(p, "false")) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "_purge",
         "_purge: expected true or false");
    return;
  }
  if (p && !strcmp(p, "true")) {
    purge(c, r);
    return;
  }
  long long want = if_match(c->conn);
  if (want < 0) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL,
         "If-Match: expected W/\"version\"");
    return;
  }
  one_write w;
  memset(&w, 0, sizeof w);
  w.method = "DELETE", w.if_match = want;
  snprintf(w.type, sizeof w.type, "%s", c->param[0]);
  snprintf(w.id, sizeof w.id, "%s", c->param[1]);
  job j = {.fn = job_one, .arg = &w};
  int rc = write_wait(c->s, &j);
  if (rc)
    write_failed(r, &w, rc, j.err);
  else {
    r->status = MHD_HTTP_OK;
    r->doc = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType",
                       "OperationOutcome", "issue", "severity", "information",
                       "code", "informational", "diagnostics", "deleted");
    snprintf(r->etag, sizeof r->etag, "W/\"%lld\"",
             (long long)w.stored.version_id);
  }
  mt_resource_clear(&w.stored);
}

/* ---- transactions ---------------------------------------------------------- */

/* Every "reference" string in v that names a fullUrl of the Bundle (or a
** conditional reference resolved to one resource) is rewritten to the
** stored resource's Type/id (FHIR R4 3.1.0.11.2). */
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

/* Whether v holds a conditional reference (a "reference" with a '?'). */
static int has_cond_ref(json_t *v)
{
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
      const char *ref = json_string_value(x);
      if ((ref && !strcmp(k, "reference") && strchr(ref, '?')) ||
          has_cond_ref(x))
        return 1;
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) if (has_cond_ref(x)) return 1;
  }
  return 0;
}

/* Conditional references ("Patient?identifier=sys|v") anywhere in v: each
** resolved on the writer's handle to its one match, into map; 0, or the
** failure (no match or several: 412... FHIR R4 3.1.0.11.3 says fail). */
static int cond_refs(mt_store *st, json_t *v, json_t *map, char *err,
                     size_t errlen)
{
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
      const char *ref = json_string_value(x);
      const char *qm = ref && !strcmp(k, "reference") ? strchr(ref, '?')
                                                      : NULL;
      if (qm && !json_object_get(map, ref)) {
        char type[MT_STORE_KEY_MAX + 1], id[MT_STORE_KEY_MAX + 1];
        size_t tl = (size_t)(qm - ref);
        if (tl == 0 || tl > MT_STORE_KEY_MAX) {
          snprintf(err, errlen, "reference '%.200s': expected Type?query",
                   ref);
          return MT_EINVAL;
        }
        memcpy(type, ref, tl);
        type[tl] = '\0';
        int rc = type_ok(type) ? cond_match(st, type, qm + 1, id, err, errlen)
                               : MT_EINVAL;
        if (rc) {
          if (rc == MT_ENOTFOUND)
            snprintf(err, errlen, "conditional reference '%.200s' matches "
                     "nothing", ref);
          return rc == MT_ENOTFOUND ? MT_ECONFLICT : rc;
        }
        char to[2 * MT_STORE_KEY_MAX + 2];
        snprintf(to, sizeof to, "%s/%s", type, id);
        json_object_set_new(map, ref, json_string(to));
      } else {
        int rc = cond_refs(st, x, map, err, errlen);
        if (rc)
          return rc;
      }
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      int rc = cond_refs(st, x, map, err, errlen);
      if (rc)
        return rc;
    }
  }
  return 0;
}

typedef struct tx {
  json_t *entries, *map;
  one_write *w;
  size_t n;
  size_t failed; /* the entry that failed */
} tx;

/* The whole transaction in one job: conditional creates and references
** resolved first (FHIR R4 3.1.0.11.2: the order of processing), then each
** entry written; any failure undoes the job. */
static int job_tx(mt_store *st, job *j)
{
  tx *t = j->arg;
  int rc = 0;
  /* conditional creates that match: their fullUrl maps to the match */
  for (size_t i = 0; i < t->n && !rc; i++) {
    one_write *w = &t->w[i];
    if (strcmp(w->method, "POST") || !w->cond)
      continue;
    char id[MT_STORE_KEY_MAX + 1];
    rc = cond_match(st, w->type, w->cond, id, j->err, sizeof j->err);
    if (rc == MT_ENOTFOUND)
      rc = 0;
    else if (!rc) {
      const char *full = json_string_value(
          json_object_get(json_array_get(t->entries, i), "fullUrl"));
      char to[2 * MT_STORE_KEY_MAX + 2];
      snprintf(to, sizeof to, "%s/%s", w->type, id);
      if (full)
        json_object_set_new(t->map, full, json_string(to));
    } else {
      t->failed = i;
      w->http = rc == MT_ECONFLICT ? MHD_HTTP_PRECONDITION_FAILED
                                   : MHD_HTTP_BAD_REQUEST;
      w->code = rc == MT_ECONFLICT ? "multiple-matches" : "invalid";
    }
  }
  for (size_t i = 0; i < t->n && !rc; i++)
    if (t->w[i].res && (rc = cond_refs(st, t->w[i].res, t->map, j->err,
                                       sizeof j->err))) {
      t->failed = i;
      t->w[i].http = rc == MT_ECONFLICT ? MHD_HTTP_PRECONDITION_FAILED
                                        : MHD_HTTP_BAD_REQUEST;
      t->w[i].code = rc == MT_ECONFLICT ? "not-found" : "invalid";
    }
  /* DELETE, then POST, then PUT (3.1.0.11.2) */
  static const char *const order[3] = {"DELETE", "POST", "PUT"};
  for (int o = 0; o < 3 && !rc; o++)
    for (size_t i = 0; i < t->n && !rc; i++) {
      one_write *w = &t->w[i];
      if (strcmp(w->method, order[o]))
        continue;
      if (w->res && !w->text)
        resolve_refs(w->res, t->map);
      if (w->res && !w->text && w->method[1] == 'O') { /* resolved now */
        const char *why;
        char path[8];
        if (resource_rows(w->type, w->res, "", w->rows, &w->nrow, &why, path,
                          sizeof path) < 0)
          w->nrow = 0; /* checked before: cannot happen */
      }
      char e[MT_ERRMSG_MAX];
      if ((rc = do_write(st, w, e, sizeof e))) {
        t->failed = i;
        snprintf(j->err, sizeof j->err, "%.47s: %.400s", w->where, e);
      }
    }
  return rc;
}

/* One entry's request into w: 0, or -1 with the reply filled. */
static int tx_entry(json_t *e, size_t i, one_write *w, json_t *map,
                    reply *r)
{
  char msg[300];
  json_t *res = json_object_get(e, "resource");
  json_t *req = json_object_get(e, "request");
  const char *method = json_string_value(json_object_get(req, "method"));
  const char *url = json_string_value(json_object_get(req, "url"));
  snprintf(w->where, sizeof w->where, "Bundle.entry[%zu]", i);
  if (!method || (strcmp(method, "POST") && strcmp(method, "PUT") &&
                  strcmp(method, "DELETE"))) {
    snprintf(msg, sizeof msg, "%s.request.method: expected POST, PUT or "
             "DELETE", w->where);
    fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "not-supported", w->where, msg);
    return -1;
  }
  w->method = !strcmp(method, "POST") ? "POST"
            : !strcmp(method, "PUT")  ? "PUT"
                                      : "DELETE";
  /* the URL: Type (POST), Type/id, or Type?query (conditional) */
  size_t tl = url ? strcspn(url, "/?") : 0;
  if (!url || tl == 0 || tl > MT_STORE_KEY_MAX) {
    snprintf(msg, sizeof msg, "%s.request.url: expected Type, Type/id or "
             "Type?query", w->where);
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", w->where, msg);
    return -1;
  }
  memcpy(w->type, url, tl);
  w->type[tl] = '\0';
  if (url[tl] == '/' && strlen(url + tl + 1) <= MT_STORE_KEY_MAX)
    snprintf(w->id, sizeof w->id, "%s", url + tl + 1);
  else if (url[tl] == '?')
    w->cond = url + tl + 1;
  if (!type_ok(w->type) || (url[tl] == '/' && !w->id[0]) ||
      (w->method[1] == 'O' && url[tl]) || (w->method[1] != 'O' &&
                                           !url[tl])) {
    snprintf(msg, sizeof msg, "%s.request.url: expected Type for POST, "
             "Type/id or Type?query for PUT and DELETE", w->where);
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", w->where, msg);
    return -1;
  }
  if (w->method[1] == 'O') /* POST: If-None-Exist */
    w->cond = json_string_value(json_object_get(req, "ifNoneExist"));
  long long im = etag_version(json_string_value(
      json_object_get(req, "ifMatch")));
  if (im < 0) {
    snprintf(msg, sizeof msg, "%s.request.ifMatch: expected W/\"version\"",
             w->where);
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", w->where, msg);
    return -1;
  }
  w->if_match = im;
  if (w->method[0] == 'D')
    return 0;
  const char *rt = json_string_value(json_object_get(res, "resourceType"));
  if (!json_is_object(res) || !rt || strcmp(rt, w->type)) {
    snprintf(msg, sizeof msg, "%s.resource: expected a %s resource",
             w->where, w->type);
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", w->where, msg);
    return -1;
  }
  w->res = res;
  if (w->method[1] == 'U') { /* PUT: the id is the URL's */
    const char *bid = json_string_value(json_object_get(res, "id"));
    if (w->id[0] && bid && strcmp(bid, w->id)) {
      snprintf(msg, sizeof msg, "%s.resource.id: expected the request "
               "url's id", w->where);
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", w->where, msg);
      return -1;
    }
    return 0;
  }
  const char *why;
  char path[200], prefix[80];
  snprintf(prefix, sizeof prefix, "%s.resource.", w->where);
  if (resource_rows(w->type, res, prefix, w->rows, &w->nrow, &why, path,
                    sizeof path) < 0) {
    fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "business-rule", path, why);
    return -1;
  }
  new_uuid(w->id);
  const char *full = json_string_value(json_object_get(e, "fullUrl"));
  if (full) {
    char to[2 * MT_STORE_KEY_MAX + 2];
    snprintf(to, sizeof to, "%s/%s", w->type, w->id);
    json_object_set_new(map, full, json_string(to));
  }
  return 0;
}

/* h_transaction's checks, before its job touches the store: the Bundle's
** type, each entry's request and resource (tx_entry), and, when nothing
** waits for the store (no conditional create or reference), references
** resolved and each resource made ready (prepare_write). 0, or -1 with the
** reply set; *t filled either way, for tx_clear. */
static int tx_check(json_t *b, tx *t, reply *r)
{
  json_t *entries = json_object_get(b, "entry");
  const char *rt = json_string_value(json_object_get(b, "resourceType"));
  const char *bt = json_string_value(json_object_get(b, "type"));
  memset(t, 0, sizeof *t);
  if (!rt || strcmp(rt, "Bundle") || !bt || strcmp(bt, "transaction") ||
      !json_is_array(entries)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "Bundle.type",
         "expected a Bundle of type transaction with an entry array");
    return -1;
  }
  t->entries = entries, t->map = json_object();
  t->n = json_array_size(entries);
  t->w = calloc(t->n + 1, sizeof *t->w);
  if (!t->w || !t->map) {
    fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL, "out of memory");
    return -1;
  }
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e) {
    if (tx_entry(e, i, &t->w[i], t->map, r))
      return -1;
  }
  /* Without conditional creates or references nothing waits for the
  ** store: references resolved and each resource made ready here, so
  ** that the writer only writes. */
  int simple = 1;
  for (size_t k = 0; simple && k < t->n; k++)
    simple = !t->w[k].cond && !has_cond_ref(t->w[k].res);
  for (size_t k = 0; simple && k < t->n; k++)
    if (t->w[k].res) {
      resolve_refs(t->w[k].res, t->map);
      if (prepare_write(&t->w[k])) {
        fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
             "out of memory");
        return -1;
      }
    }
  return 0;
}

static void tx_clear(tx *t)
{
  for (size_t k = 0; t->w && k < t->n; k++)
    write_clear(&t->w[k]);
  free(t->w);
  json_decref(t->map);
}

int fhir_tx_check(json_t *bundle, reply *r)
{
  tx t;
  int rc = tx_check(bundle, &t, r) ? -1 : (int)t.n;
  tx_clear(&t);
  return rc;
}

/*
** POST /fhir: a transaction Bundle, all or nothing (FHIR R4 3.1.0.11):
** entries POST (create, conditional with ifNoneExist), PUT (update, by id
** or by a conditional query) and DELETE; references to entries' fullUrls
** and conditional references resolved; every write in one job, undone as a
** whole if any fails.
*/
void h_transaction(ctx *c, reply *r)
{
  tx t;
  int bad = tx_check(c->body, &t, r);
  if (!bad) {
    job j = {.fn = job_tx, .arg = &t};
    int rc = write_wait(c->s, &j);
    if (rc)
      write_failed(r, &t.w[t.failed], rc, j.err);
    else {
      json_t *out = json_array();
      for (size_t k = 0; k < t.n; k++) {
        one_write *w = &t.w[k];
        char loc[160], status[24], etag[32];
        snprintf(loc, sizeof loc, "%s/%s/_history/%lld", w->type,
                 w->stored.id[0] ? w->stored.id : w->id,
                 (long long)w->stored.version_id);
        snprintf(status, sizeof status, "%d %s", w->status,
                 w->status == 201 ? "Created" : "OK");
        snprintf(etag, sizeof etag, "W/\"%lld\"",
                 (long long)w->stored.version_id);
        json_array_append_new(out, json_pack("{s:{s:s, s:s, s:s}}",
                                             "response", "status", status,
                                             "location", loc, "etag", etag));
      }
      r->status = MHD_HTTP_OK;
      r->doc = json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle", "type",
                         "transaction-response", "entry", out);
      feed_after(c, t.w, (int)t.n);
    }
  }
  tx_clear(&t);
}

/* GET /fhir/{type}/{id}/_history/{vid}: one version. */
void h_vread(ctx *c, reply *r)
{
  char err[MT_ERRMSG_MAX], *end;
  long long v = strtoll(c->param[2], &end, 10);
  mt_resource res = {0};
  mt_store *rd = reader(c);
  int rc = *end || v < 1 ? MT_ENOTFOUND
           : rd ? mt_store_resource_vread(rd, c->param[0], c->param[1], v,
                                          &res, err, sizeof err)
                : MT_EIO;
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
void h_history(ctx *c, reply *r)
{
  char err[MT_ERRMSG_MAX];
  mt_resource *list = NULL;
  size_t n = 0;
  mt_store *rd = reader(c);
  int rc = rd ? mt_store_resource_history(rd, c->param[0], c->param[1], &list,
                                          &n, err, sizeof err)
              : MT_EIO;
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

int fhir_store_put(mt_store *st, const char *type, const char *id,
                   json_t *res, mt_resource *out, int *created, char *err,
                   size_t errlen)
{
  mt_resource was = {0};
  int rc = mt_store_resource_read(st, type, id, &was, err, errlen);
  int fresh = rc == MT_ENOTFOUND && !was.deleted;
  mt_resource_clear(&was);
  if (rc && rc != MT_ENOTFOUND)
    return rc;
  json_object_set_new(res, "id", json_string(id));
  char *text = dump(res);
  if (!text)
    return MT_ENOMEM;
  index_keys k;
  index_of(type, id, res, &k);
  rc = fresh ? mt_store_resource_create_of(st, k.patient, type, id, text, out,
                                           err, errlen)
             : mt_store_resource_update_of(st, k.patient, type, id, text, 0,
                                           out, err, errlen);
  free(text);
  if (!rc)
    rc = mt_store_resource_set_index(st, type, id, &k.ix, err, errlen);
  if (!rc)
    rc = auth_written(st, fresh ? PERM_C : PERM_U, type, id, k.patient, res,
                      err, errlen);
  *created = fresh;
  return rc;
}

/* A resource the server writes itself (a Flag for an alert), with a fixed
** id: created once, a second time is no change. */
int fhir_store_own(mt_store *st, const char *type, const char *id,
                   json_t *res, char *err, size_t errlen)
{
  mt_resource was = {0};
  int rc = mt_store_resource_read(st, type, id, &was, err, errlen);
  mt_resource_clear(&was);
  if (rc != MT_ENOTFOUND)
    return rc;
  char *text = dump(res);
  index_keys k;
  index_of(type, id, res, &k);
  rc = text ? mt_store_resource_create_of(st, k.patient, type, id, text, NULL,
                                          err, errlen)
            : MT_ENOMEM;
  free(text);
  if (!rc)
    rc = mt_store_resource_set_index(st, type, id, &k.ix, err, errlen);
  return rc;
}
