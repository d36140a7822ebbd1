/*
** Nightscout `entries` and `treatments` JSON (include/medtwin/import.h): the
** raw bytes given to mt_import_add_entries and to mt_import_add_treatments of
** one import with a scheduled basal rate (so percent temp basals are read),
** then mt_import_finish on what was added.
*/
#include "fuzz.h"
#include "medtwin/error.h"
#include "medtwin/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[MT_ERRMSG_MAX];
  mt_import_config cfg;
  mt_import *im;
  mt_import_config_init(&cfg);
  cfg.profile_basal_u_per_h = 0.9;
  if (mt_import_create(&cfg, &im) != 0)
    return 0;
  (void)mt_import_add_entries(im, (const char *)data, size, "entries.json",
                              err, sizeof err);
  (void)mt_import_add_treatments(im, (const char *)data, size,
                                 "treatments.json", err, sizeof err);
  mt_stream s;
  mt_import_summary sum;
  if (mt_import_finish(im, &s, &sum) == 0)
    mt_stream_clear(&s);
  mt_import_free(im);
  return 0;
}
