/*
** Import: the data people have — CSV exports of CGM readings, carbs and
** boluses, and Nightscout `entries` and `treatments` JSON — turned into a
** data stream (docs/stream.md) in time order. Formats, options, the
** mmol/L factor and the drop reasons: docs/import.md.
**
** Use: mt_import_create, then any number of mt_import_add_csv /
** mt_import_add_entries / mt_import_add_treatments, then mt_import_finish
** once, then mt_import_free. Times are held as Unix milliseconds (UTC).
*/
#ifndef MEDTWIN_IMPORT_H
#define MEDTWIN_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "medtwin/stream.h"

/*
** mg/dL per mmol/L of glucose: its molar mass, 180.156 g/mol (C6H12O6),
** divided by 10 (dL per L), to three decimals. Sources in docs/import.md.
*/
#define MT_MGDL_PER_MMOLL 18.016

/* A glucose concentration in mmol/L as mg/dL (× MT_MGDL_PER_MMOLL). */
double mt_import_mmol_to_mgdl(double mmol_l);

/*
** Parse an ISO 8601 date and time, `YYYY-MM-DD`, `T` or a space,
** `hh:mm[:ss[.fff]]`, then `Z`, an offset `+hh:mm`, `+hhmm`, `+hh` (or `-`),
** or nothing (read as UTC). Fractions of a second are rounded to the
** millisecond. Surrounding spaces are not accepted. 0 and *t_ms set, or
** MT_EPARSE and *t_ms untouched.
*/
int mt_import_parse_iso(const char *s, int64_t *t_ms);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H.
** Hinnant's days_from_civil and civil_from_days algorithms). */
int64_t mt_days_from_civil(int64_t y, int m, int d);
void mt_civil_from_days(int64_t days, int *y, int *m, int *d);

/*
** A CSV time cell: ISO 8601 as mt_import_parse_iso, or a plain number of
** epoch seconds (below 1e11) or milliseconds (1e11 and above; 1e11 s lies
** in the year 5138, 1e11 ms in 1973). 0 or MT_EPARSE.
*/
int mt_import_parse_time(const char *s, int64_t *t_ms);

/* Unix ms as `YYYY-MM-DDThh:mm:ssZ` (`.fffZ` when the ms are not 0) into
** buf; needs 25 bytes for years 0-9999. */
void mt_import_format_iso(int64_t t_ms, char *buf, size_t n);

/* Why a datum was left out of the stream. */
typedef enum mt_import_reason {
  MT_IMPORT_DUPLICATE = 0, /* same time, kind and value as one kept, or a
                              Nightscout record whose _id came before */
  MT_IMPORT_NON_SGV,       /* a Nightscout entry whose type is not "sgv" */
  MT_IMPORT_MISSING_FIELD, /* no time, or no value where one is needed */
  MT_IMPORT_NO_DATA,       /* a record that holds nothing a stream carries */
  MT_IMPORT_IMPLAUSIBLE,   /* refused by mt_datum_check, or a CSV glucose
                              cell reading Low or High */
  MT_IMPORT_BEFORE_START,  /* before --start */
  MT_IMPORT_NREASON
} mt_import_reason;

/* The summary key of a reason ("duplicate", "non_sgv_entry", ...); NULL for
** an invalid one. */
const char *mt_import_reason_key(mt_import_reason r);

typedef struct mt_import_config {
  /* The pump's scheduled basal rate, U/h, or NAN for none. When set, the
  ** stream opens with it at t_min 0, percent temp basals are taken relative
  ** to it and every temp basal ends back at it. */
  double profile_basal_u_per_h;
  int has_start;    /* 1: t_min 0 is start_ms; else the earliest datum kept */
  int64_t start_ms;
} mt_import_config;

void mt_import_config_init(mt_import_config *cfg); /* no profile, no start */

typedef enum mt_glucose_units {
  MT_UNITS_AUTO = 0, /* mmol/L if the glucose column's name says mmol,
                        else mg/dL */
  MT_UNITS_MGDL,
  MT_UNITS_MMOLL
} mt_glucose_units;

/* Which CSV columns hold what. A NULL name: the first column whose name
** matches one of the documented defaults (docs/import.md), or none. */
typedef struct mt_import_csv_options {
  const char *time_col, *glucose_col, *carbs_col, *bolus_col;
  mt_glucose_units units;
  int skip_lines; /* lines before the header row */
} mt_import_csv_options;

void mt_import_csv_options_init(mt_import_csv_options *o);

typedef struct mt_import mt_import;

/* A new import. MT_EINVAL for a profile basal outside 0-50 U/h, MT_ENOMEM;
** on failure *out is NULL. */
int mt_import_create(const mt_import_config *cfg, mt_import **out);
void mt_import_free(mt_import *im); /* NULL-safe */

/*
** Add one input's text (`name` names it in messages). A malformed record —
** a cell or field that is not what it must be, a missing column, invalid
** JSON — is an error: MT_EPARSE or MT_EINVAL, one line in err naming the
** file, the line or record (0-based array index) and the field, and the
** import is left as it was before the call.
*/
int mt_import_add_csv(mt_import *im, const char *text, size_t len,
                      const char *name, const mt_import_csv_options *o,
                      char *err, size_t errlen);
int mt_import_add_entries(mt_import *im, const char *json, size_t len,
                          const char *name, char *err, size_t errlen);
int mt_import_add_treatments(mt_import *im, const char *json, size_t len,
                             const char *name, char *err, size_t errlen);

/* What became of the data. Every datum is either kept or dropped for one
** reason: data == kept + the sum of dropped. */
typedef struct mt_import_summary {
  long records;                      /* CSV lines and JSON records read */
  long data;                         /* data found, derived basal rows and
                                        records without one included */
  long kept;                         /* rows in the stream */
  long kept_by_kind[MT_DATA_NKIND];
  long dropped[MT_IMPORT_NREASON];
  int has_start;                     /* 0: nothing kept, no --start */
  int64_t start_ms;                  /* the time of t_min 0 */
} mt_import_summary;

/*
** Sort, de-duplicate, check and time the data added: *out gets the rows in
** time order (at equal times cgm, carbs, bolus, basal; `line` is the row's
** line in the written CSV) and *sum the counts. Call once. 0 or MT_ENOMEM,
** then *out is empty.
*/
int mt_import_finish(mt_import *im, mt_stream *out, mt_import_summary *sum);

#endif
