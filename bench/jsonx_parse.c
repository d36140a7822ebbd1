/*
** Cost of keeping decimals as written (src/server/jsonx.h): a FHIR R4
** transaction Bundle of 100 CGM Observations (glucose in mmol/L with one
** decimal, reference range, device, request), indented by 2 as clients send
** it, parsed with mtj_loadb() and with jansson's json_loadb(), then written
** back compact with mtj_dumps() and json_dumps(). Median of 21 rounds of 200
** parses (or dumps) each, printed as `name value unit` in MB of bundle text
** per second. One core.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "../src/server/jsonx.h" /* internal: bench targets see include/ only */

#define ROUNDS 21
#define REPS 200

static const char ENTRY[] =
  "    {\n"
  "      \"fullUrl\": \"urn:uuid:6f1c2a7e-0000-4000-8000-%012d\",\n"
  "      \"resource\": {\n"
  "        \"resourceType\": \"Observation\",\n"
  "        \"status\": \"final\",\n"
  "        \"category\": [{\"coding\": [{\"system\": "
  "\"http://terminology.hl7.org/CodeSystem/observation-category\", "
  "\"code\": \"laboratory\"}]}],\n"
  "        \"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": "
  "\"105272-9\", \"display\": \"Glucose [Moles/volume] in Interstitial fluid\"}]},\n"
  "        \"subject\": {\"reference\": \"Patient/adult-003\"},\n"
  "        \"effectiveDateTime\": \"2024-03-01T%02d:%02d:00Z\",\n"
  "        \"valueQuantity\": {\"value\": %d.%d, \"unit\": \"mmol/L\", "
  "\"system\": \"http://unitsofmeasure.org\", \"code\": \"mmol/L\"},\n"
  "        \"referenceRange\": [{\"low\": {\"value\": 3.9, \"unit\": \"mmol/L\"}, "
  "\"high\": {\"value\": 10.0, \"unit\": \"mmol/L\"}}],\n"
  "        \"device\": {\"display\": \"CGM sensor\"}\n"
  "      },\n"
  "      \"request\": {\"method\": \"POST\", \"url\": \"Observation\"}\n"
  "    }%s\n";

static char *bundle(size_t *len)
{
  size_t cap = 200 * 1024, n = 0;
  char *s = malloc(cap);
  if (!s)
    return NULL;
  n += (size_t)snprintf(s, cap, "{\n  \"resourceType\": \"Bundle\",\n"
                                "  \"type\": \"transaction\",\n  \"entry\": [\n");
  for (int i = 0; i < 100 && n < cap; i++) {
    int t = 5 * i, g = 40 + (i * 37) % 80; /* 4.0 .. 11.9 mmol/L */
    n += (size_t)snprintf(s + n, cap - n, ENTRY, i, (t / 60) % 24, t % 60, g / 10, g % 10,
                          i < 99 ? "," : "");
  }
  if (n + 8 > cap) {
    free(s);
    return NULL;
  }
  n += (size_t)snprintf(s + n, cap - n, "  ]\n}\n");
  *len = n;
  return s;
}

typedef enum { PARSE_X, PARSE_J, DUMP_X, DUMP_J } job;

/* Median MB/s of job over the bundle text. */
static double rate(job k, const char *text, size_t len)
{
  double t[ROUNDS];
  json_t *tree = k == DUMP_X ? mtj_loadb(text, len, 0, NULL)
                 : k == DUMP_J ? json_loadb(text, len, 0, NULL) : NULL;
  if ((k == DUMP_X || k == DUMP_J) && !tree)
    return -1;
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = bench_now();
    for (int i = 0; i < REPS; i++) {
      if (k == PARSE_X || k == PARSE_J) {
        json_t *v = k == PARSE_X ? mtj_loadb(text, len, 0, NULL)
                                 : json_loadb(text, len, 0, NULL);
        if (!v)
          return -1;
        json_decref(v);
      } else {
        char *s = k == DUMP_X ? mtj_dumps(tree, JSON_COMPACT) : json_dumps(tree, JSON_COMPACT);
        if (!s)
          return -1;
        free(s);
      }
    }
    t[r] = bench_now() - t0;
  }
  json_decref(tree);
  qsort(t, ROUNDS, sizeof *t, bench_cmp);
  return (double)len * REPS / t[ROUNDS / 2] / 1e6;
}

int main(void)
{
  size_t len;
  char *text = bundle(&len);
  if (!text)
    return 1;
  static const char *names[] = {"jsonx_parse_mb_per_s", "jansson_parse_mb_per_s",
                                "jsonx_dump_mb_per_s", "jansson_dump_mb_per_s"};
  for (job k = PARSE_X; k <= DUMP_J; k++) {
    double r = rate(k, text, len);
    if (r < 0) {
      fprintf(stderr, "%s failed\n", names[k]);
      return 1;
    }
    printf("%s %.1f MB/s\n", names[k], r);
  }
  free(text);
  return 0;
}
