/* The registry of built-in models: the only list the CLI, server and tests
** consult. A new model is one line here and one file beside it. */
#include <string.h>

#include "medtwin/model.h"
#include "models/circulation.h"
#include "models/circulation_beatavg.h"
#include "models/ionic.h"
#include "models/tentusscher2006.h"
#include "models/uva_padova.h"

static const mt_model *const models[] = {
  &mt_model_uva_padova_t1d,
  &mt_model_circulation_smith2004,
  &mt_model_circulation_beatavg,
  &mt_model_tentusscher_panfilov_2006_epi,
  &mt_model_aliev_panfilov_1996,
  &mt_model_mitchell_schaeffer_2003,
};

int mt_model_count(void) { return (int)(sizeof models / sizeof models[0]); }

const mt_model *mt_model_at(int i)
{
  return i >= 0 && i < mt_model_count() ? models[i] : NULL;
}

const mt_model *mt_model_find(const char *name)
{
  for (int i = 0; name && i < mt_model_count(); i++)
    if (strcmp(models[i]->name, name) == 0)
      return models[i];
  return NULL;
}
