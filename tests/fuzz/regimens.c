/*
** Regimens files (include/medtwin/regimen.h): mt_regimen_set_parse on the
** raw bytes for circulation_smith2004. A set that parses must hold 1 to 64
** regimens, each dose on one of the model's inputs with a finite,
** non-negative amount and a positive duration.
*/
#include <math.h>
#include <stdlib.h>

#include "fuzz.h"
#include "medtwin/error.h"
#include "medtwin/regimen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const mt_model *m = mt_model_find("circulation_smith2004");
  char err[MT_ERRMSG_MAX];
  mt_regimen_set *s;
  if (!m || mt_regimen_set_parse((const char *)data, size, "fuzz.json", m,
                                 &s, err, sizeof err) != 0)
    return 0;
  if (s->n < 1 || s->n > 64)
    abort();
  for (int i = 0; i < s->n; i++)
    for (int k = 0; k < s->r[i].n_dose; k++) {
      const mt_regimen_dose *d = &s->r[i].dose[k];
      if (mt_var_index(m->input, m->n_input, d->drug) < 0 ||
          !(d->amount >= 0) || !isfinite(d->amount) ||
          !(d->duration_min > 0))
        abort();
    }
  mt_regimen_set_free(s);
  return 0;
}
