/*
** The JSON every request body and MQTT message goes through
** (src/server/jsonx.h): mtj_loadb on the raw bytes, under the flags the
** server uses (0) and with JSON_DECODE_ANY. A document that loads must
** write back with mtj_dumps, load again, and write back the same text: kept
** decimals keep their literal through a round trip.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server/jsonx.h"

static void round_trip(const uint8_t *data, size_t size, size_t flags)
{
  json_error_t e;
  json_t *v = mtj_loadb((const char *)data, size, flags, &e);
  if (!v)
    return;
  double d;
  (void)mtj_number(v, &d);
  char *a = mtj_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  json_decref(v);
  if (!a)
    abort();
  json_t *w = mtj_loadb(a, strlen(a), JSON_DECODE_ANY, &e);
  if (!w) {
    fprintf(stderr, "written text does not load again: %s: %s\n", a, e.text);
    abort();
  }
  char *b = mtj_dumps(w, JSON_ENCODE_ANY | JSON_COMPACT);
  json_decref(w);
  if (!b || strcmp(a, b) != 0) {
    fprintf(stderr, "round trip changed the text:\n%s\n%s\n", a, b ? b : "(null)");
    abort();
  }
  free(a);
  free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  round_trip(data, size, 0);
  round_trip(data, size, JSON_DECODE_ANY);
  return 0;
}
