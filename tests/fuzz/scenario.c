/*
** Scenario files (include/medtwin/scenario.h): mt_scenario_parse on the raw
** bytes. The events of a scenario that parses must be sorted by time.
*/
#include <stdlib.h>

#include "fuzz.h"
#include "medtwin/error.h"
#include "medtwin/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[MT_ERRMSG_MAX];
  mt_scenario *sc;
  if (mt_scenario_parse((const char *)data, size, "fuzz.json", &sc, err,
                        sizeof err) != 0)
    return 0;
  for (int i = 1; i < sc->n_event; i++)
    if (sc->event[i].t_min < sc->event[i - 1].t_min)
      abort();
  mt_scenario_free(sc);
  return 0;
}
