/*
** Data streams for a live twin: CGM readings, announced carbs, insulin
** boluses and basal rates (metabolic); blood pressure, heart rate, EF,
** cardiac output, weight and drug doses (cardiovascular); read from a CSV in arrival order and
** checked one by one before they may reach a twin. Format: docs/stream.md.
*/
#ifndef MEDTWIN_STREAM_H
#define MEDTWIN_STREAM_H

#include <stddef.h>

typedef enum mt_stream_kind {
  MT_DATA_CGM = 0, /* sensor glucose, mg/dL */
  MT_DATA_CARBS,   /* announced carbohydrate at the start of a meal, g */
  MT_DATA_BOLUS,   /* insulin bolus delivered over 1 min, U */
  MT_DATA_BASAL,   /* basal rate from t on, U/h */
  /* vital signs and heart-failure therapy (a cardiovascular twin) */
  MT_DATA_MAP,     /* mean arterial pressure, mm[Hg] */
  MT_DATA_SBP,     /* systolic arterial pressure, mm[Hg] */
  MT_DATA_DBP,     /* diastolic arterial pressure, mm[Hg] */
  MT_DATA_HR,      /* heart rate as measured, /min */
  MT_DATA_EF,      /* left ventricular ejection fraction, % */
  MT_DATA_CO,      /* cardiac output, L/min */
  MT_DATA_WEIGHT,  /* body weight, kg */
  MT_DATA_BETA_BLOCKER, /* oral beta-blocker dose, mg */
  MT_DATA_VASODILATOR,  /* oral vasodilator (ACE inhibitor) dose, mg */
  MT_DATA_DIURETIC,     /* oral loop diuretic dose, mg */
  MT_DATA_INOTROPE,     /* IV inotrope infusion rate from t on, ug/min */
  MT_DATA_NKIND
} mt_stream_kind;

typedef struct mt_datum {
  double t_min;        /* minutes from the start of the stream */
  mt_stream_kind kind;
  double value;        /* in the kind's unit */
  int line;            /* line of the source file (1 = header) */
} mt_datum;

typedef struct mt_stream {
  int n;
  mt_datum *d; /* arrival order */
} mt_stream;

/* Name ("cgm", ...) and UCUM unit of a kind; NULL for an invalid kind. */
const char *mt_stream_kind_name(mt_stream_kind k);
const char *mt_stream_kind_unit(mt_stream_kind k);

/*
** Parse CSV text with the header `t_min,kind,value` (`name` names the input
** in messages). A malformed line — wrong number of fields, a number that is
** not one, an unknown kind — is an error: MT_EPARSE, one line in err naming
** the file, the line and the field, and *out is empty. Values are not judged
** here: implausible ones are for mt_datum_check.
*/
int mt_stream_parse(const char *text, size_t len, const char *name,
                    mt_stream *out, char *err, size_t errlen);
/* Read and parse a file; MT_EIO if it cannot be read. */
int mt_stream_load(const char *path, mt_stream *out, char *err,
                   size_t errlen);
void mt_stream_clear(mt_stream *s);

/*
** Whether a datum may reach a twin: NULL if it is plausible, else a static
** reason ("cgm outside 20-600 mg/dL", ...) for the quarantine log. Ranges and
** their sources: docs/stream.md.
*/
const char *mt_datum_check(const mt_datum *d);

#endif
