/*
** The ingest bodies as the server maps them to FHIR (src/server/ingest.c):
** Nightscout entries and treatments (POST /api/v1/entries, /treatments)
** and the JSON form (POST /api/twins/{patient}/data), then the transaction
** Bundle they become checked as POST /fhir checks it (fhir_tx_check). The
** first byte picks the route (its value mod 3) and the patient (its value
** / 3, odd: an id of the longest length a key may have); the rest is the
** body. A refusal is a 4xx OperationOutcome; a body taken gives one
** resource an item (a treatment up to three); its Bundle may
** refuse only a value (422); each resource of an accepted Bundle gives the
** twins exactly one row (a reading the twins cannot see would be lost to
** them, though stored).
*/
#include <stdlib.h>

#include "fuzz.h"
#include "server/internal.h"
#include "server/jsonx.h"

static int refusal(const reply *r)
{
  return r->status >= 400 && r->status <= 499 && r->doc;
}

/* The items of a body: readings or treatments (Nightscout), or the
** elements of the JSON form's lists. */
static size_t items(int route, json_t *body)
{
  if (route < 2)
    return json_is_array(body) ? json_array_size(body) : 1;
  size_t n = 0;
  const char *key;
  json_t *v;
  json_object_foreach(body, key, v) n += json_array_size(v);
  return n;
}

/* Each resource the Bundle's entries create: exactly one row. */
static void check_rows(json_t *entries)
{
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e) {
    json_t *res = json_object_get(e, "resource");
    const char *type = json_string_value(json_object_get(res,
                                                         "resourceType"));
    char msg[256];
    if (!type || fhir_resource_check(type, res, msg, sizeof msg) != 1)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char long_id[] = "0123456789abcdef0123456789abcdef"
                                "0123456789abcdef0123456789abcdef";
  _Static_assert(sizeof long_id - 1 == MT_STORE_KEY_MAX, "longest key");
  if (size < 1)
    return 0;
  int route = data[0] % 3;
  const char *patient = data[0] / 3 % 2 ? long_id : "p1";
  json_error_t je;
  json_t *body = mtj_loadb((const char *)data + 1, size - 1, 0, &je);
  if (!body)
    return 0;
  reply r = {0};
  json_t *entries = route == 0   ? ingest_ns_entries(patient, body, &r)
                    : route == 1 ? ingest_ns_treatments(patient, body, &r)
                                 : ingest_json(patient, body, &r);
  if (!entries) {
    if (!refusal(&r))
      abort(); /* a body refused is a 4xx OperationOutcome */
  } else {
    if (r.status || r.doc)
      abort();
    size_t n = json_array_size(entries), m = items(route, body);
    if (route == 1 ? n < m || n > 3 * m : n != m)
      abort(); /* one resource an item (a treatment: up to three) */
    json_t *bundle = json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle",
                               "type", "transaction", "entry", entries);
    if (!bundle)
      abort();
    int k = fhir_tx_check(bundle, &r);
    if (k >= 0 && (size_t)k != n)
      abort();
    if (k < 0 && (!refusal(&r) || r.status != 422))
      abort(); /* what the server made itself fails only on a value */
    if (k >= 0)
      check_rows(entries);
    json_decref(bundle);
  }
  json_decref(r.doc);
  json_decref(body);
  return 0;
}
