/*
** CSV exports of CGM readings, carbs and boluses (include/medtwin/import.h):
** mt_import_add_csv on the raw bytes three times: with the default column
** names and the units read from the header; in mmol/L after a skipped line;
** with the column names of a meter app's export (docs/import.md), then
** mt_import_finish on what was added.
*/
#include "fuzz.h"
#include "medtwin/error.h"
#include "medtwin/import.h"

static void add(mt_import *im, const uint8_t *data, size_t size,
                mt_glucose_units units, int skip, int named)
{
  char err[MT_ERRMSG_MAX];
  mt_import_csv_options o;
  mt_import_csv_options_init(&o);
  o.units = units;
  o.skip_lines = skip;
  if (named) {
    o.time_col = "Zeit";
    o.glucose_col = "Glukose (mmol/L)";
    o.carbs_col = "KH (g)";
    o.bolus_col = "Bolus (IE)";
  }
  (void)mt_import_add_csv(im, (const char *)data, size, "fuzz.csv", &o, err,
                          sizeof err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mt_import_config cfg;
  mt_import *im;
  mt_import_config_init(&cfg);
  cfg.profile_basal_u_per_h = 0.9;
  if (mt_import_create(&cfg, &im) != 0)
    return 0;
  add(im, data, size, MT_UNITS_AUTO, 0, 0);
  add(im, data, size, MT_UNITS_MMOLL, 1, 0);
  add(im, data, size, MT_UNITS_AUTO, 0, 1);
  mt_stream s;
  mt_import_summary sum;
  if (mt_import_finish(im, &s, &sum) == 0)
    mt_stream_clear(&s);
  mt_import_free(im);
  return 0;
}
