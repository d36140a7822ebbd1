/*
** FHIR resources as the server reads them before storing (src/server/
** fhir.c, fhir_resource_check): the JSON parsed as a request body is, then
** the index entry (patient, codes, identifiers, date) and the rows the
** twins read from an Observation or a MedicationAdministration. The first
** byte picks the type the route would name, the rest is the body.
*/
#include <stdlib.h>

#include "fuzz.h"
#include "server/internal.h"
#include "server/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const types[] = {"Observation",
                                      "MedicationAdministration", "Patient",
                                      "Flag"};
  if (size < 1)
    return 0;
  json_error_t e;
  json_t *res = mtj_loadb((const char *)data + 1, size - 1, 0, &e);
  if (!res)
    return 0;
  char msg[256] = "";
  int n = fhir_resource_check(types[data[0] % 4], res, msg, sizeof msg);
  if (n > 4 || (n < 0 && !msg[0]))
    abort(); /* at most MAX_ROWS rows; a refusal says why */
  json_decref(res);
  return 0;
}
