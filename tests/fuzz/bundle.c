/*
** FHIR transaction Bundles (POST /fhir) as the server checks them before
** its one write job touches the store (src/server/fhir.c, fhir_tx_check):
** the Bundle's type, each entry's request (method, url, ifMatch,
** ifNoneExist) and resource (its type, the rows the twins read), fullUrls
** given ids, references resolved and each resource's stored text and index
** entry made. The input is the request body. A refusal is a 4xx with an
** OperationOutcome; an accepted Bundle counts its entries and still writes
** out as JSON.
*/
#include <stdlib.h>

#include "fuzz.h"
#include "server/internal.h"
#include "server/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_error_t e;
  json_t *b = mtj_loadb((const char *)data, size, 0, &e);
  if (!b)
    return 0;
  reply r = {0};
  int n = fhir_tx_check(b, &r);
  if (n < 0 && (r.status < 400 || r.status > 499 || !r.doc))
    abort(); /* a refusal is a 4xx OperationOutcome (500: out of memory) */
  if (n >= 0 && (r.status || r.doc ||
                 (size_t)n != json_array_size(json_object_get(b, "entry"))))
    abort(); /* accepted: no reply yet, every entry counted */
  char *text = n >= 0 ? mtj_dumps(b, JSON_COMPACT) : NULL;
  if (n >= 0 && !text)
    abort(); /* what the writer stores must still write out */
  free(text);
  json_decref(r.doc);
  json_decref(b);
  return 0;
}
