/*
** FHIR search and conditional query strings (src/server/fhir.c,
** fhir_query_check): the percent-decoding and the parameters' parsing that
** If-None-Exist, conditional updates and deletes, and transaction entries
** go through. The first byte picks the resource type, the rest is the
** query string. An answer is 0 or an HTTP 4xx, always with a reason.
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const types[] = {"Observation", "Patient", "Flag",
                                      "MedicationAdministration"};
  if (size < 1)
    return 0;
  char *qs = malloc(size);
  if (!qs)
    return 0;
  memcpy(qs, data + 1, size - 1);
  qs[size - 1] = '\0';
  char msg[256] = "";
  int st = fhir_query_check(types[data[0] % 4], qs, msg, sizeof msg);
  if (st != 0 && (st < 400 || st > 499 || !msg[0]))
    abort(); /* a refusal is a 4xx that says why */
  free(qs);
  return 0;
}
