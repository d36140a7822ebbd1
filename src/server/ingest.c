/*
** Ingest in other shapes than FHIR: Nightscout's entries and treatments
** (the API of Nightscout's /api/v1, https://github.com/nightscout/cgm-remote-monitor,
** as uploaders such as xDrip+ and AndroidAPS send them) and a plain JSON
** form. Each request becomes the FHIR resources it stands for (Observation
** for readings and carbohydrate, MedicationAdministration for insulin),
** stored by one transaction exactly as if a FHIR client had sent them: the
** same validation, idempotency and twin feeding.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/import.h"
#include "server/internal.h"
#include "server/jsonx.h"

static json_t *quantity(double v, const char *unit)
{
  char buf[40];
  snprintf(buf, sizeof buf, "%.10g", v);
  return json_pack("{s:o, s:s, s:s, s:s}", "value", mtj_decimal(buf), "unit",
                   unit, "system", "http://unitsofmeasure.org", "code", unit);
}

static json_t *observation(const char *patient, const char *when,
                           const char *loinc, const char *display, double v,
                           const char *unit, const char *category)
{
  char subject[80];
  snprintf(subject, sizeof subject, "Patient/%s", patient);
  return json_pack(
      "{s:s, s:s, s:[{s:[{s:s, s:s}]}], s:{s:[{s:s, s:s, s:s}]}, s:{s:s}, "
      "s:s, s:o}",
      "resourceType", "Observation", "status", "final", "category", "coding",
      "system", "http://terminology.hl7.org/CodeSystem/observation-category",
      "code", category, "code", "coding", "system", "http://loinc.org",
      "code", loinc, "display", display, "subject", "reference", subject,
      "effectiveDateTime", when, "valueQuantity", quantity(v, unit));
}

static json_t *insulin(const char *patient, const char *when, double v,
                       int basal)
{
  char subject[80];
  snprintf(subject, sizeof subject, "Patient/%s", patient);
  return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:s, s:{s:o}}",
                   "resourceType", "MedicationAdministration", "status",
                   "completed", "medicationCodeableConcept", "text",
                   basal ? "insulin, basal rate" : "insulin, bolus",
                   "subject", "reference", subject, "effectiveDateTime", when,
                   "dosage", basal ? "rateQuantity" : "dose",
                   quantity(v, basal ? "[iU]/h" : "[iU]"));
}

static void add(json_t *entries, json_t *res)
{
  const char *type = json_string_value(json_object_get(res, "resourceType"));
  json_array_append_new(entries,
                        json_pack("{s:o, s:{s:s, s:s}}", "resource", res,
                                  "request", "method", "POST", "url", type));
}

/* The patient the request is for: ?patient=id (Nightscout has one
** patient per site; here the query names them). */
static const char *patient_of(ctx *c, reply *r)
{
  const char *p = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND,
                                              "patient");
  size_t n = p ? strlen(p) : 0;
  if (n == 0 || n > MT_STORE_KEY_MAX || strpbrk(p, "/?#")) {
    fail(r, MHD_HTTP_BAD_REQUEST, "required", "patient",
         "patient: expected the query parameter ?patient=id");
    return NULL;
  }
  return p;
}

/* A Nightscout time: "date"/"mills" (Unix ms), or "dateString" /
** "created_at" (ISO 8601), into an ISO string. 0, or -1. */
static int ns_time(json_t *e, char *out, size_t len)
{
  static const char *const ms_keys[] = {"date", "mills"};
  static const char *const iso_keys[] = {"dateString", "created_at",
                                         "timestamp"};
  double ms;
  for (int k = 0; k < 2; k++)
    if (mtj_number(json_object_get(e, ms_keys[k]), &ms) && ms > 0 &&
        ms < 1e14) {
      iso_ms((int64_t)ms, out, len);
      return 0;
    }
  for (int k = 0; k < 3; k++) {
    const char *t = json_string_value(json_object_get(e, iso_keys[k]));
    int64_t at;
    if (t && mt_import_parse_iso(t, &at) == 0) {
      iso_ms(at, out, len);
      return 0;
    }
  }
  return -1;
}

static void run_bundle(ctx *c, reply *r, json_t *entries)
{
  json_t *bundle = json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle",
                             "type", "transaction", "entry", entries);
  json_t *body = c->body;
  c->body = bundle;
  h_transaction(c, r);
  c->body = body;
  json_decref(bundle);
}

/* POST /api/v1/entries?patient=id: an entry or an array of them; "sgv"
** (sensor glucose, mg/dL) becomes a CGM Observation (LOINC 99504-3), "mbg"
** (a meter reading) a blood glucose one (2339-0). */
json_t *ingest_ns_entries(const char *patient, json_t *body, reply *r)
{
  json_t *list = json_is_array(body) ? body : NULL;
  if (!list && json_is_object(body))
    list = body;
  if (!list) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL,
         "expected an entry or an array of entries");
    return NULL;
  }
  json_t *entries = json_array();
  size_t n = json_is_array(list) ? json_array_size(list) : 1;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_is_array(list) ? json_array_get(list, i) : list;
    const char *type = json_string_value(json_object_get(e, "type"));
    char path[32], when[40], msg[160];
    snprintf(path, sizeof path, "[%zu]", i);
    double v;
    int sgv = type && !strcmp(type, "sgv"), mbg = type && !strcmp(type,
                                                                  "mbg");
    if (!sgv && !mbg) {
      snprintf(msg, sizeof msg, "%s.type: expected \"sgv\" or \"mbg\"", path);
      fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "not-supported", path, msg);
      json_decref(entries);
      return NULL;
    }
    if (!mtj_number(json_object_get(e, sgv ? "sgv" : "mbg"), &v)) {
      snprintf(msg, sizeof msg, "%s.%s: expected a number (mg/dL)", path,
               sgv ? "sgv" : "mbg");
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", path, msg);
      json_decref(entries);
      return NULL;
    }
    if (ns_time(e, when, sizeof when)) {
      snprintf(msg, sizeof msg, "%s.date: expected Unix ms (or dateString "
               "in ISO 8601)", path);
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", path, msg);
      json_decref(entries);
      return NULL;
    }
    add(entries, observation(patient, when, sgv ? "99504-3" : "2339-0",
                             sgv ? "Glucose [Mass/volume] in Interstitial "
                                   "fluid"
                                 : "Glucose [Mass/volume] in Blood",
                             v, "mg/dL", "laboratory"));
  }
  return entries;
}

void h_ns_entries(ctx *c, reply *r)
{
  const char *patient = patient_of(c, r);
  json_t *entries = patient ? ingest_ns_entries(patient, c->body, r) : NULL;
  if (entries)
    run_bundle(c, r, entries);
}

/* POST /api/v1/treatments?patient=id: "carbs" (g) become an Observation
** (LOINC 9059-7), "insulin" (U) a bolus and a "Temp Basal"'s "absolute"
** rate (U/h) a basal rate (MedicationAdministration). A treatment with
** none of these is refused (422), so nothing is dropped silently. */
json_t *ingest_ns_treatments(const char *patient, json_t *body, reply *r)
{
  json_t *list = body;
  if (!json_is_array(list) && !json_is_object(list)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL,
         "expected a treatment or an array of treatments");
    return NULL;
  }
  json_t *entries = json_array();
  size_t n = json_is_array(list) ? json_array_size(list) : 1;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_is_array(list) ? json_array_get(list, i) : list;
    char path[32], when[40], msg[200];
    snprintf(path, sizeof path, "[%zu]", i);
    if (ns_time(e, when, sizeof when)) {
      snprintf(msg, sizeof msg, "%s.created_at: expected ISO 8601 (or "
               "mills, Unix ms)", path);
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", path, msg);
      json_decref(entries);
      return NULL;
    }
    const char *ev = json_string_value(json_object_get(e, "eventType"));
    double carbs = 0, units = 0, rate = 0;
    int has_c = mtj_number(json_object_get(e, "carbs"), &carbs) && carbs > 0;
    int has_i = mtj_number(json_object_get(e, "insulin"), &units) &&
                units > 0;
    int has_b = ev && !strcmp(ev, "Temp Basal") &&
                mtj_number(json_object_get(e, "absolute"), &rate);
    if (!has_c && !has_i && !has_b) {
      snprintf(msg, sizeof msg, "%s: expected carbs (g), insulin (U) or a "
               "Temp Basal with absolute (U/h)", path);
      fail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "not-supported", path, msg);
      json_decref(entries);
      return NULL;
    }
    if (has_c)
      add(entries, observation(patient, when, "9059-7",
                               "Carbohydrate intake Estimated", carbs, "g",
                               "survey"));
    if (has_i)
      add(entries, insulin(patient, when, units, 0));
    if (has_b)
      add(entries, insulin(patient, when, rate, 1));
  }
  return entries;
}

void h_ns_treatments(ctx *c, reply *r)
{
  const char *patient = patient_of(c, r);
  json_t *entries = patient ? ingest_ns_treatments(patient, c->body, r)
                            : NULL;
  if (entries)
    run_bundle(c, r, entries);
}

/* Vital signs by stream name: the codes and UCUM units the FHIR path
** takes for them (src/twin/codes.c; LOINC displays as LOINC gives them). */
static const srv_vital vitals[] = {
  {"map", "mm_hg", "mm[Hg]", "8478-0", "Mean blood pressure", "vital-signs"},
  {"sbp", "mm_hg", "mm[Hg]", "8480-6", "Systolic blood pressure",
   "vital-signs"},
  {"dbp", "mm_hg", "mm[Hg]", "8462-4", "Diastolic blood pressure",
   "vital-signs"},
  {"hr", "per_min", "/min", "8867-4", "Heart rate", "vital-signs"},
  {"ef", "percent", "%", "10230-1", "Left ventricular Ejection fraction",
   "imaging"},
  {"co", "l_per_min", "L/min", "8741-1", "Left ventricular Cardiac output",
   "procedure"},
  {"weight", "kg", "kg", "29463-7", "Body weight", "vital-signs"},
};
#define N_VITALS (int)(sizeof vitals / sizeof *vitals)

const srv_vital *srv_vital_named(const char *name)
{
  for (int k = 0; k < N_VITALS; k++)
    if (!strcmp(name, vitals[k].name))
      return &vitals[k];
  return NULL;
}

/*
** POST /api/twins/{patient}/data: {"cgm": [{"time": ISO, "mg_dl": x}],
** "carbs": [{"time", "g"}], "bolus": [{"time", "units"}], "basal":
** [{"time", "units_per_hour"}]} and the vital signs of the table above,
** e.g. "map": [{"time", "mm_hg"}]; every list optional.
*/
json_t *ingest_json(const char *patient, json_t *body, reply *r)
{
  static const struct {
    const char *list, *value;
  } part[4] = {{"cgm", "mg_dl"},
               {"carbs", "g"},
               {"bolus", "units"},
               {"basal", "units_per_hour"}};
  if (!json_is_object(body)) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL,
         "expected {\"cgm\": [...], \"carbs\": [...], \"bolus\": [...], "
         "\"basal\": [...], \"map\": [...], ...}");
    return NULL;
  }
  const char *key;
  json_t *v;
  json_object_foreach(body, key, v) {
    int known = srv_vital_named(key) != NULL;
    for (int k = 0; k < 4; k++)
      known |= !strcmp(key, part[k].list);
    if (!known || !json_is_array(v)) {
      char msg[200];
      snprintf(msg, sizeof msg, "%.40s: expected one of cgm, carbs, bolus, "
               "basal, map, sbp, dbp, hr, ef, co, weight, each an array",
               key);
      fail(r, MHD_HTTP_BAD_REQUEST, "invalid", key, msg);
      return NULL;
    }
  }
  json_t *entries = json_array();
  for (int k = 0; k < 4; k++) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(body, part[k].list), i, e) {
      char path[64], msg[200], when[40];
      snprintf(path, sizeof path, "%s[%zu]", part[k].list, i);
      const char *t = json_string_value(json_object_get(e, "time"));
      int64_t at;
      double x;
      if (!t || mt_import_parse_iso(t, &at)) {
        snprintf(msg, sizeof msg, "%s.time: expected ISO 8601", path);
        fail(r, MHD_HTTP_BAD_REQUEST, "invalid", path, msg);
        json_decref(entries);
        return NULL;
      }
      if (!mtj_number(json_object_get(e, part[k].value), &x)) {
        snprintf(msg, sizeof msg, "%s.%s: expected a number", path,
                 part[k].value);
        fail(r, MHD_HTTP_BAD_REQUEST, "invalid", path, msg);
        json_decref(entries);
        return NULL;
      }
      iso_ms(at, when, sizeof when);
      add(entries,
          k == 0   ? observation(patient, when, "99504-3",
                                 "Glucose [Mass/volume] in Interstitial "
                                 "fluid",
                                 x, "mg/dL", "laboratory")
          : k == 1 ? observation(patient, when, "9059-7",
                                 "Carbohydrate intake Estimated", x, "g",
                                 "survey")
                   : insulin(patient, when, x, k == 3));
    }
  }
  for (int k = 0; k < N_VITALS; k++) { /* the vital signs */
    const srv_vital *vt = &vitals[k];
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(body, vt->name), i, e) {
      char path[64], msg[200], when[40];
      snprintf(path, sizeof path, "%s[%zu]", vt->name, i);
      const char *t = json_string_value(json_object_get(e, "time"));
      json_t *x = json_object_get(e, vt->key);
      int64_t at;
      double d;
      if (!t || mt_import_parse_iso(t, &at))
        snprintf(msg, sizeof msg, "%s.time: expected ISO 8601", path);
      else if (!mtj_number(x, &d))
        snprintf(msg, sizeof msg, "%s.%s: expected a number (%s)", path,
                 vt->key, vt->unit);
      else
        msg[0] = 0;
      if (msg[0]) {
        fail(r, MHD_HTTP_BAD_REQUEST, "invalid", path, msg);
        json_decref(entries);
        return NULL;
      }
      iso_ms(at, when, sizeof when);
      add(entries, observation(patient, when, vt->loinc, vt->display, d,
                               vt->unit, vt->category));
    }
  }
  return entries;
}

void h_ingest(ctx *c, reply *r)
{
  json_t *entries = ingest_json(c->param[0], c->body, r);
  if (entries)
    run_bundle(c, r, entries);
}
