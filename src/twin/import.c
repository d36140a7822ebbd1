/*
** Import: CSV exports and Nightscout `entries` / `treatments` JSON into a
** data stream (docs/stream.md). Times are ISO 8601 (the profile of RFC 3339,
** with a space allowed for `T` and the zone optional) or epoch seconds / ms.
** Temp basals follow Nightscout's reading (lib/profilefunctions.js): an
** `absolute` rate wins over `percent`, which is a change relative to the
** scheduled basal, rate = basal × (100 + percent) / 100. Formats and every
** rule below are documented for users in docs/import.md.
*/
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "twin/json_show.h"
#include "core/errfmt.h"
#include "core/csv.h"
#include "medtwin/error.h"
#include "medtwin/import.h"

#define KIND_TEMP   MT_DATA_NKIND /* a temp basal, before mt_import_finish */
#define KEEP        (-1)          /* no drop reason (yet) */
#define SILENT      (-2)          /* the opening profile basal, superseded */
#define MAX_COLS    256           /* fields of one CSV line */
#define SHOW_MAX    40            /* characters of an offending value shown */
#define MAX_EPOCH_MS 1e15         /* about the year 33658 */
#define MAX_DUR_MIN 525600.0      /* one year: a temp basal's duration */
#define EPOCH_MS_FROM 1e11        /* a CSV epoch this large is in ms */

enum { NS_NONE = 0, NS_ENTRIES, NS_TREATMENTS }; /* where an _id is unique */

/* ---------------------------------------------------------------- time */

double mt_import_mmol_to_mgdl(double mmol_l)
{
  return mmol_l * MT_MGDL_PER_MMOLL;
}

int64_t mt_days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

void mt_civil_from_days(int64_t z, int *y, int *m, int *d)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dm[m - 1];
}

/* Exactly n decimal digits at *p, as a number; advances *p. -1 if not. */
static int digits(const char **p, int n)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return -1;
    v = v * 10 + (*p)[i] - '0';
  }
  *p += n;
  return v;
}

/* The character at *p if it is one of set (not NUL); advances *p. */
static int lit(const char **p, const char *set)
{
  if (!**p || !strchr(set, **p))
    return 0;
  (*p)++;
  return 1;
}

/* The zone designator at p, to the end of the string: ms east of UTC. */
static int parse_zone(const char *p, int64_t *off_ms)
{
  *off_ms = 0;
  if (!*p || ((*p == 'Z' || *p == 'z') && !p[1]))
    return 0;
  if (*p != '+' && *p != '-')
    return -1;
  int sign = *p++ == '-' ? -1 : 1, mm = 0;
  int hh = digits(&p, 2);
  if (*p && (lit(&p, ":"), (mm = digits(&p, 2)) < 0))
    return -1;
  if (hh < 0 || hh > 23 || mm > 59 || *p)
    return -1;
  *off_ms = sign * (hh * 60 + mm) * 60000LL;
  return 0;
}

/* Seconds and their fraction, if present, as ms; -1 if malformed. */
static int parse_seconds(const char **p)
{
  if (!lit(p, ":"))
    return 0;
  int ss = digits(p, 2);
  if (ss < 0 || ss > 59)
    return -1;
  if (!lit(p, ".,"))
    return ss * 1000;
  double frac = 0, scale = 0.1;
  int nd = 0;
  for (; isdigit((unsigned char)**p); (*p)++, nd++, scale /= 10)
    frac += (**p - '0') * scale;
  return nd ? ss * 1000 + (int)lround(frac * 1000) : -1;
}

int mt_import_parse_iso(const char *s, int64_t *t_ms)
{
  const char *p = s;
  int y = digits(&p, 4), mo = -1, d = -1, hh = -1, mi = -1, ms = -1;
  if (y < 0 || !lit(&p, "-") || (mo = digits(&p, 2)) < 1 || mo > 12 ||
      !lit(&p, "-") || (d = digits(&p, 2)) < 1 ||
      d > days_in_month(y, mo) || !lit(&p, "Tt ") ||
      (hh = digits(&p, 2)) < 0 || hh > 23 || !lit(&p, ":") ||
      (mi = digits(&p, 2)) < 0 || mi > 59 || (ms = parse_seconds(&p)) < 0)
    return MT_EPARSE;
  int64_t off;
  if (parse_zone(p, &off))
    return MT_EPARSE;
  *t_ms = mt_days_from_civil(y, mo, d) * 86400000LL +
          (hh * 3600LL + mi * 60LL) * 1000LL + ms - off;
  return 0;
}

int mt_import_parse_time(const char *s, int64_t *t_ms)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end != s && !*end && !isspace((unsigned char)*s)) {
    double ms = fabs(v) >= EPOCH_MS_FROM ? v : v * 1000;
    if (!isfinite(ms) || fabs(ms) > MAX_EPOCH_MS || errno == ERANGE)
      return MT_EPARSE;
    *t_ms = llround(ms);
    return 0;
  }
  return mt_import_parse_iso(s, t_ms);
}

void mt_import_format_iso(int64_t t_ms, char *buf, size_t n)
{
  int64_t days = t_ms / 86400000, rem = t_ms % 86400000;
  if (rem < 0)
    rem += 86400000, days--;
  int y, m, d, s = (int)(rem / 1000), ms = (int)(rem % 1000);
  mt_civil_from_days(days, &y, &m, &d);
  if (ms)
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
             s / 3600, s / 60 % 60, s % 60, ms);
  else
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, s / 3600,
             s / 60 % 60, s % 60);
}

/* ------------------------------------------------------- the accumulator */

typedef struct item {
  int64_t t_ms;
  int64_t dur_ms; /* a temp basal's duration */
  double value;   /* in the kind's unit; a temp basal's rate, U/h */
  int kind;       /* mt_stream_kind, or KIND_TEMP */
  int reason;     /* KEEP, SILENT or an mt_import_reason */
  int ns;         /* NS_*: where id is unique */
  long rec;       /* record number over all inputs; -1: the opening basal */
  char *id;       /* Nightscout _id, or NULL */
} item;

struct mt_import {
  mt_import_config cfg;
  item *it;
  size_t n, cap;
  long records;
  long dropped[MT_IMPORT_NREASON]; /* records that gave no datum */
};

static const char *const reason_keys[MT_IMPORT_NREASON] = {
  [MT_IMPORT_DUPLICATE] = "duplicate",
  [MT_IMPORT_NON_SGV] = "non_sgv_entry",
  [MT_IMPORT_MISSING_FIELD] = "missing_field",
  [MT_IMPORT_NO_DATA] = "no_stream_data",
  [MT_IMPORT_IMPLAUSIBLE] = "implausible",
  [MT_IMPORT_BEFORE_START] = "before_start",
};

const char *mt_import_reason_key(mt_import_reason r)
{
  return r >= 0 && r < MT_IMPORT_NREASON ? reason_keys[r] : NULL;
}

void mt_import_config_init(mt_import_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->profile_basal_u_per_h = NAN;
}

void mt_import_csv_options_init(mt_import_csv_options *o)
{
  memset(o, 0, sizeof *o);
}

int mt_import_create(const mt_import_config *cfg, mt_import **out)
{
  *out = NULL;
  double pb = cfg->profile_basal_u_per_h;
  if (!isnan(pb) && !(pb >= 0 && pb <= 50))
    return MT_EINVAL;
  mt_import *im = calloc(1, sizeof *im);
  if (!im)
    return MT_ENOMEM;
  im->cfg = *cfg;
  *out = im;
  return 0;
}

static void truncate_items(mt_import *im, size_t n)
{
  while (im->n > n)
    free(im->it[--im->n].id);
}

void mt_import_free(mt_import *im)
{
  if (!im)
    return;
  truncate_items(im, 0);
  free(im->it);
  free(im);
}

/* One add call: the input's name, the caller's buffer, and what the call
** has added so far, committed only if the whole input is well-formed. */
typedef struct ctx {
  mt_import *im;
  const char *name;
  char *err;
  size_t errlen;
  size_t n0;    /* items before the call */
  long records; /* read by this call */
  long dropped[MT_IMPORT_NREASON];
} ctx;

static void ctx_begin(ctx *c, mt_import *im, const char *name, char *err,
                      size_t errlen)
{
  memset(c, 0, sizeof *c);
  c->im = im, c->name = name ? name : "<input>", c->err = err;
  c->errlen = err ? errlen : 0, c->n0 = im->n;
  if (c->errlen)
    err[0] = '\0';
}

static int ctx_end(ctx *c, int rc)
{
  if (rc) {
    truncate_items(c->im, c->n0);
    return rc;
  }
  c->im->records += c->records;
  for (int r = 0; r < MT_IMPORT_NREASON; r++)
    c->im->dropped[r] += c->dropped[r];
  return 0;
}

/* "<name>: <message>" into the caller's buffer, on one line. */
static int fail(const ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const ctx *c, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mt_vfail(c->err, c->errlen, code, c->name, fmt, ap);
  va_end(ap);
  return code;
}

static int drop(ctx *c, mt_import_reason r)
{
  c->dropped[r]++;
  return 0;
}

static int push(ctx *c, int64_t t, int kind, double v, int64_t dur, int ns,
                const char *id, int reason)
{
  mt_import *im = c->im;
  if (im->n == im->cap) {
    size_t cap = im->cap ? 2 * im->cap : 256;
    item *it = realloc(im->it, cap * sizeof *it);
    if (!it)
      return fail(c, MT_ENOMEM, "out of memory");
    im->it = it, im->cap = cap;
  }
  item *x = &im->it[im->n];
  *x = (item){t, dur, v, kind, reason, ns, im->records + c->records, NULL};
  if (id && !(x->id = strdup(id)))
    return fail(c, MT_ENOMEM, "out of memory");
  im->n++;
  return 0;
}

/* ------------------------------------------------------------------ CSV */

static const char *const time_names[] = {
    "time", "timestamp", "datetime", "date", "dateString",
    "Timestamp (YYYY-MM-DDThh:mm:ss)", NULL};
static const char *const glucose_names[] = {
    "glucose", "sgv", "cgm", "bg", "glucose_mgdl", "glucose_mmol",
    "Glucose Value (mg/dL)", "Glucose Value (mmol/L)", NULL};
static const char *const carbs_names[] = {"carbs", "carbs_g",
                                          "Carb Value (grams)", NULL};
static const char *const bolus_names[] = {"bolus", "bolus_u", "insulin",
                                          NULL};

/* The columns of one CSV file and the glucose factor to mg/dL. */
typedef struct csvcols {
  int nh, time, glucose, carbs, bolus; /* -1: absent */
  char *const *head;
  double factor;
} csvcols;

/*
** Split a line at commas into at most MAX_COLS cells, in place: unquoted
** cells are trimmed of spaces and tabs, quoted ones ("..." with "" for a
** quote) kept as they are. The number of cells, -1 for broken quoting, -2
** for too many cells.
*/
static int split_csv(char *line, char **f)
{
  char *r = line, *w = line;
  for (int n = 0;;) {
    if (n == MAX_COLS)
      return -2;
    while (*r == ' ' || *r == '\t')
      r++;
    f[n++] = w;
    if (*r == '"') {
      for (r++; *r != '"' || r[1] == '"'; r++) {
        if (!*r)
          return -1;
        *w++ = *r;
        r += *r == '"';
      }
      for (r++; *r == ' ' || *r == '\t'; r++)
        ;
      if (*r && *r != ',')
        return -1;
    } else {
      while (*r && *r != ',')
        *w++ = *r++;
      while (w > f[n - 1] && (w[-1] == ' ' || w[-1] == '\t'))
        w--;
    }
    int more = *r == ',';
    *w++ = '\0';
    if (!more)
      return n;
    r++;
  }
}

static int contains_ci(const char *s, const char *sub)
{
  for (size_t n = strlen(sub); *s; s++)
    if (!strncasecmp(s, sub, n))
      return 1;
  return 0;
}

/* The column asked for by name, else the first default present; -1 if
** none (an error when a name was asked for). */
static int find_col(const ctx *c, const csvcols *k, int line,
                    const char *want, const char *const *dflt,
                    const char *what, int *col)
{
  *col = -1;
  for (int d = 0; want ? d < 1 : dflt[d] != NULL; d++)
    for (int i = 0; *col < 0 && i < k->nh; i++)
      if (!strcasecmp(k->head[i], want ? want : dflt[d]))
        *col = i;
  if (want && *col < 0)
    return fail(c, MT_EINVAL, "line %d: no column named '%.60s' for the %s",
                line, want, what);
  return 0;
}

static int resolve_units(const ctx *c, csvcols *k, int line,
                         mt_glucose_units u)
{
  k->factor = 1;
  if (k->glucose < 0)
    return 0;
  const char *col = k->head[k->glucose];
  int says_mmol = contains_ci(col, "mmol");
  int says_mgdl = contains_ci(col, "mg/dl") || contains_ci(col, "mgdl");
  if ((says_mmol && u == MT_UNITS_MGDL) || (says_mgdl && u == MT_UNITS_MMOLL))
    return fail(c, MT_EINVAL, "line %d: %.60s: the column's name says %s, "
                "the units given are %s", line, col,
                says_mmol ? "mmol/L" : "mg/dL",
                u == MT_UNITS_MGDL ? "mg/dL" : "mmol/L");
  if (u == MT_UNITS_MMOLL || (u == MT_UNITS_AUTO && says_mmol))
    k->factor = MT_MGDL_PER_MMOLL;
  return 0;
}

static int csv_header(const ctx *c, char *line, int lineno, char **f,
                      const mt_import_csv_options *o, csvcols *k)
{
  memset(k, 0, sizeof *k);
  k->head = f;
  if ((k->nh = split_csv(line, f)) < 0)
    return fail(c, MT_EPARSE, "line %d: header: %s", lineno,
                k->nh == -1 ? "broken quoting" : "more than 256 columns");
  int rc = find_col(c, k, lineno, o->time_col, time_names, "time", &k->time);
  if (!rc)
    rc = find_col(c, k, lineno, o->glucose_col, glucose_names, "glucose",
                  &k->glucose);
  if (!rc)
    rc = find_col(c, k, lineno, o->carbs_col, carbs_names, "carbs",
                  &k->carbs);
  if (!rc)
    rc = find_col(c, k, lineno, o->bolus_col, bolus_names, "bolus",
                  &k->bolus);
  if (!rc && k->time < 0)
    rc = fail(c, MT_EINVAL, "line %d: no time column: expected one named "
              "time, timestamp, datetime, date or dateString, or one "
              "chosen by name", lineno);
  if (!rc && k->glucose < 0 && k->carbs < 0 && k->bolus < 0)
    rc = fail(c, MT_EINVAL, "line %d: no glucose, carbs or bolus column "
              "(see docs/import.md for the names looked for)", lineno);
  return rc ? rc : resolve_units(c, k, lineno, o->units);
}

/* A value cell: 1 and *v for a number >= 0, 0 when empty, else an error. */
static int csv_number(const ctx *c, const char *cell, int line,
                      const char *col, const char *unit, double *v)
{
  char *end;
  if (!*cell)
    return 0;
  errno = 0;
  *v = strtod(cell, &end);
  if (end != cell && !*end && isfinite(*v) && *v >= 0 && errno != ERANGE)
    return 1;
  return fail(c, MT_EPARSE, "line %d: %.60s: expected a number >= 0 (%s), "
              "got '%.*s'", line, col, unit, SHOW_MAX, cell);
}

/* The glucose cell: a reading (pushed), Low or High (an implausible one),
** or empty. Adds to *got. */
static int csv_glucose(ctx *c, const csvcols *k, char **f, int line,
                       int64_t t, int *got)
{
  double v;
  const char *cell = f[k->glucose];
  if (!strcasecmp(cell, "low") || !strcasecmp(cell, "high")) {
    ++*got;
    return push(c, t, MT_DATA_CGM, NAN, 0, NS_NONE, NULL,
                MT_IMPORT_IMPLAUSIBLE);
  }
  int rc = csv_number(c, cell, line, k->head[k->glucose],
                      k->factor == 1 ? "mg/dL" : "mmol/L", &v);
  if (rc <= 0)
    return rc;
  ++*got;
  return push(c, t, MT_DATA_CGM, v * k->factor, 0, NS_NONE, NULL, KEEP);
}

/* A carbs or bolus cell: 0 and empty give no datum. */
static int csv_amount(ctx *c, const csvcols *k, char **f, int col, int line,
                      int64_t t, int kind, int *got)
{
  double v;
  int rc = csv_number(c, f[col], line, k->head[col],
                      kind == MT_DATA_CARBS ? "g" : "U", &v);
  if (rc <= 0 || v == 0)
    return rc < 0 ? rc : 0;
  ++*got;
  return push(c, t, kind, v, 0, NS_NONE, NULL, KEEP);
}

static int csv_row(ctx *c, const csvcols *k, char *line, int lineno)
{
  char *f[MAX_COLS];
  int nf = split_csv(line, f), got = 0, rc = 0;
  if (nf < 0)
    return fail(c, MT_EPARSE, "line %d: %s", lineno,
                nf == -1 ? "broken quoting" : "more than 256 fields");
  if (nf != k->nh)
    return fail(c, MT_EPARSE, "line %d: expected %d fields as in the "
                "header, got %d", lineno, k->nh, nf);
  c->records++;
  const char *tc = f[k->time];
  int64_t t;
  if (!*tc)
    return drop(c, MT_IMPORT_MISSING_FIELD);
  if (mt_import_parse_time(tc, &t))
    return fail(c, MT_EPARSE, "line %d: %.60s: expected an ISO 8601 time "
                "or epoch seconds or milliseconds, got '%.*s'", lineno,
                k->head[k->time], SHOW_MAX, tc);
  if (k->glucose >= 0)
    rc = csv_glucose(c, k, f, lineno, t, &got);
  if (!rc && k->carbs >= 0)
    rc = csv_amount(c, k, f, k->carbs, lineno, t, MT_DATA_CARBS, &got);
  if (!rc && k->bolus >= 0)
    rc = csv_amount(c, k, f, k->bolus, lineno, t, MT_DATA_BOLUS, &got);
  return rc || got ? rc : drop(c, MT_IMPORT_NO_DATA);
}

static int blank(const char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  return !*s;
}

/* The lines of one CSV text; the header keeps its cells in head (which
** point into hbuf). */
static int csv_lines(ctx *c, const char *text, size_t len,
                     const mt_import_csv_options *o)
{
  const char *p = text, *end = text + len;
  char *buf = NULL, *hbuf = NULL, *head[MAX_COLS];
  size_t cap = 0;
  csvcols k;
  int rc = 0, have_head = 0, lineno = 0;
  if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) /* a UTF-8 byte order mark */
    p += 3;
  while (!rc && p < end) {
    lineno++;
    if (!(p = mt_next_line(p, end, &buf, &cap)))
      rc = fail(c, MT_ENOMEM, "out of memory");
    else if (lineno <= o->skip_lines || blank(buf))
      continue;
    else if (!have_head) {
      have_head = 1;
      rc = (hbuf = strdup(buf)) ? csv_header(c, hbuf, lineno, head, o, &k)
                                : fail(c, MT_ENOMEM, "out of memory");
    } else
      rc = csv_row(c, &k, buf, lineno);
  }
  if (!rc && !have_head)
    rc = fail(c, MT_EPARSE, "no header row%s", o->skip_lines ? " after the "
              "lines skipped" : "");
  free(buf);
  free(hbuf);
  return rc;
}

int mt_import_add_csv(mt_import *im, const char *text, size_t len,
                      const char *name, const mt_import_csv_options *o,
                      char *err, size_t errlen)
{
  ctx c;
  mt_import_csv_options dflt;
  ctx_begin(&c, im, name, err, errlen);
  if (!o) {
    mt_import_csv_options_init(&dflt);
    o = &dflt;
  }
  return ctx_end(&c, csv_lines(&c, text ? text : "", text ? len : 0, o));
}

/* ----------------------------------------------------------- Nightscout */

/* The offending value as compact JSON, shortened to SHOW_MAX chars. */
static void show(const json_t *v, char *buf, size_t n)
{
  mt__json_show(v, buf, n, SHOW_MAX);
}

/* A number in [lo, hi] under key: 1 and *v, 0 if absent or null, or an
** error naming the record and the key. */
static int jnum(const ctx *c, long i, const json_t *o, const char *key,
                double lo, double hi, const char *what, double *v)
{
  const json_t *x = json_object_get(o, key);
  if (!x || json_is_null(x))
    return 0;
  double d = json_is_number(x) ? json_number_value(x) : NAN;
  if (d >= lo && d <= hi) {
    *v = d;
    return 1;
  }
  char got[SHOW_MAX + 8];
  show(x, got, sizeof got);
  return fail(c, MT_EPARSE, "record %ld: %s: expected %s, got %s", i, key,
              what, got);
}

/* An ISO 8601 time under key: 1 and *t, 0 if absent or null, or an error. */
static int jiso(const ctx *c, long i, const json_t *o, const char *key,
                int64_t *t)
{
  const json_t *x = json_object_get(o, key);
  if (!x || json_is_null(x))
    return 0;
  if (json_is_string(x) && !mt_import_parse_iso(json_string_value(x), t))
    return 1;
  char got[SHOW_MAX + 8];
  show(x, got, sizeof got);
  return fail(c, MT_EPARSE, "record %ld: %s: expected an ISO 8601 time, "
              "got %s", i, key, got);
}

/* The record's _id: a string, or mongoexport's {"$oid": "..."}. */
static const char *record_id(const json_t *o)
{
  const json_t *v = json_object_get(o, "_id");
  if (json_is_object(v))
    v = json_object_get(v, "$oid");
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static int not_object(const ctx *c, long i, const json_t *o)
{
  char got[SHOW_MAX + 8];
  show(o, got, sizeof got);
  return fail(c, MT_EPARSE, "record %ld: expected an object, got %s", i, got);
}

/* An entry's time: `date` (epoch ms), else `dateString`. */
static int entry_time(const ctx *c, long i, const json_t *o, int64_t *t)
{
  double ms;
  int rc = jnum(c, i, o, "date", 0, MAX_EPOCH_MS,
                "epoch milliseconds (a number >= 0)", &ms);
  if (rc > 0)
    *t = llround(ms);
  return rc ? rc : jiso(c, i, o, "dateString", t);
}

static int entry(ctx *c, long i, const json_t *o)
{
  if (!json_is_object(o))
    return not_object(c, i, o);
  const json_t *type = json_object_get(o, "type");
  if (!json_is_string(type) || strcmp(json_string_value(type), "sgv"))
    return drop(c, MT_IMPORT_NON_SGV);
  double sgv = 0;
  int64_t t = 0;
  int rv = jnum(c, i, o, "sgv", 0, INFINITY, "a number >= 0 (mg/dL)", &sgv);
  if (rv < 0)
    return rv;
  int rt = entry_time(c, i, o, &t);
  if (rt < 0)
    return rt;
  if (!rv || !rt)
    return drop(c, MT_IMPORT_MISSING_FIELD);
  return push(c, t, MT_DATA_CGM, sgv, 0, NS_ENTRIES, record_id(o), KEEP);
}

/* A Temp Basal's rate (U/h) and duration: 1 complete, 0 a field missing,
** or an error. */
static int temp_basal(const ctx *c, long i, const json_t *o, double *rate,
                      double *dur_min)
{
  double abs_u, pct;
  int rd = jnum(c, i, o, "duration", 0, MAX_DUR_MIN,
                "a number of minutes >= 0 and <= 525600", dur_min);
  if (rd < 0)
    return rd;
  int ra = jnum(c, i, o, "absolute", 0, INFINITY, "a number >= 0 (U/h)",
                &abs_u);
  if (ra < 0)
    return ra;
  int rp = jnum(c, i, o, "percent", -100, INFINITY,
                "a number >= -100 (% change of the basal)", &pct);
  if (rp < 0)
    return rp;
  if (!rd || (!ra && !rp))
    return 0;
  double pb = c->im->cfg.profile_basal_u_per_h;
  if (isnan(pb))
    return fail(c, MT_EINVAL, "record %ld: eventType: a Temp Basal needs "
                "the scheduled basal rate (--profile-basal U/h) to end at",
                i);
  *rate = ra ? abs_u : pb * (100 + pct) / 100;
  return 1;
}

/* The amounts of a treatment: carbs (g) and insulin (U), 0 if absent. */
static int amounts(const ctx *c, long i, const json_t *o, double *carbs,
                   double *insulin)
{
  *carbs = *insulin = 0;
  int rc = jnum(c, i, o, "carbs", 0, INFINITY, "a number >= 0 (g)", carbs);
  return rc < 0 ? rc
                : jnum(c, i, o, "insulin", 0, INFINITY, "a number >= 0 (U)",
                       insulin);
}

static int treatment(ctx *c, long i, const json_t *o)
{
  if (!json_is_object(o))
    return not_object(c, i, o);
  int64_t t = 0;
  double carbs = 0, insulin = 0, rate = 0, dur = 0;
  int rt = jiso(c, i, o, "created_at", &t), rb = 0, rc = 0, got = 0;
  if (rt < 0 || (rc = amounts(c, i, o, &carbs, &insulin)) < 0)
    return rt < 0 ? rt : rc;
  rc = 0;
  const json_t *ev = json_object_get(o, "eventType");
  int temp = json_is_string(ev) && !strcmp(json_string_value(ev),
                                           "Temp Basal");
  if (temp && (rb = temp_basal(c, i, o, &rate, &dur)) < 0)
    return rb;
  if (!rt)
    return drop(c, MT_IMPORT_MISSING_FIELD);
  const char *id = record_id(o);
  if (carbs > 0 && !(rc = push(c, t, MT_DATA_CARBS, carbs, 0, NS_TREATMENTS,
                               id, KEEP)))
    got++;
  if (!rc && insulin > 0 && !(rc = push(c, t, MT_DATA_BOLUS, insulin, 0,
                                        NS_TREATMENTS, id, KEEP)))
    got++;
  if (!rc && rb > 0 && !(rc = push(c, t, KIND_TEMP, rate, llround(dur * 6e4),
                                   NS_TREATMENTS, id, KEEP)))
    got++;
  if (rc)
    return rc;
  if (temp && !rb) /* a Temp Basal without its duration or rate */
    return drop(c, MT_IMPORT_MISSING_FIELD);
  return got ? 0 : drop(c, MT_IMPORT_NO_DATA);
}

typedef int (*record_fn)(ctx *c, long i, const json_t *o);

static int add_json(mt_import *im, const char *json, size_t len,
                    const char *name, record_fn fn, char *err, size_t errlen)
{
  ctx c;
  json_error_t je;
  ctx_begin(&c, im, name, err, errlen);
  json_t *root = json_loadb(json ? json : "", json ? len : 0, 0, &je);
  if (!root)
    return fail(&c, MT_EPARSE, "line %d, column %d: invalid JSON: %s",
                je.line, je.column, je.text);
  int rc = 0;
  if (!json_is_array(root)) {
    char got[SHOW_MAX + 8];
    show(root, got, sizeof got);
    rc = fail(&c, MT_EPARSE, "expected a JSON array of records, got %s", got);
  }
  for (size_t i = 0; !rc && json_is_array(root) && i < json_array_size(root);
       i++) {
    c.records++;
    rc = fn(&c, (long)i, json_array_get(root, i));
  }
  json_decref(root);
  return ctx_end(&c, rc);
}

int mt_import_add_entries(mt_import *im, const char *json, size_t len,
                          const char *name, char *err, size_t errlen)
{
  return add_json(im, json, len, name, entry, err, errlen);
}

int mt_import_add_treatments(mt_import *im, const char *json, size_t len,
                             const char *name, char *err, size_t errlen)
{
  return add_json(im, json, len, name, treatment, err, errlen);
}

/* --------------------------------------------------------------- finish */

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int by_id(const void *a, const void *b)
{
  const item *x = *(item *const *)a, *y = *(item *const *)b;
  int c = CMP(x->ns, y->ns);
  if (!c)
    c = strcmp(x->id, y->id);
  if (!c)
    c = CMP(x->rec, y->rec);
  return c ? c : CMP(x, y);
}

static int by_time(const void *a, const void *b)
{
  const item *x = *(item *const *)a, *y = *(item *const *)b;
  int c = CMP(x->t_ms, y->t_ms);
  return c ? c : CMP(x, y);
}

static int by_row(const void *a, const void *b)
{
  const item *x = *(item *const *)a, *y = *(item *const *)b;
  int c = CMP(x->t_ms, y->t_ms);
  if (!c)
    c = CMP(x->kind, y->kind);
  return c ? c : CMP(x, y);
}

/* Pointers to the items still kept that pass `want`, sorted by cmp. */
static item **select_items(mt_import *im, int (*want)(const item *),
                           int (*cmp)(const void *, const void *), size_t *m)
{
  item **p = malloc((im->n ? im->n : 1) * sizeof *p);
  *m = 0;
  for (size_t i = 0; p && i < im->n; i++)
    if (im->it[i].reason == KEEP && want(&im->it[i]))
      p[(*m)++] = &im->it[i];
  if (p && *m > 1)
    qsort(p, *m, sizeof *p, cmp);
  return p;
}

static int has_id(const item *x) { return x->id != NULL; }
static int is_temp(const item *x) { return x->kind == KIND_TEMP; }
static int any(const item *x) { return (void)x, 1; }

/* A later record carrying an _id already seen in its collection. */
static int mark_id_duplicates(mt_import *im)
{
  size_t m;
  item **p = select_items(im, has_id, by_id, &m);
  if (!p)
    return MT_ENOMEM;
  for (size_t j = 1, first = 0; j < m; j++) {
    if (p[j]->ns != p[first]->ns || strcmp(p[j]->id, p[first]->id))
      first = j;
    else if (p[j]->rec != p[first]->rec)
      p[j]->reason = MT_IMPORT_DUPLICATE;
  }
  free(p);
  return 0;
}

/* Temp basals into basal rows: the rate at the start, the profile basal
** at the end unless the next temp basal starts by then; a duration of 0
** cancels (the profile basal from its start). */
static int expand_temps(mt_import *im)
{
  size_t m, ne = 0;
  item **p = select_items(im, is_temp, by_time, &m);
  item *ends = p ? malloc((m ? m : 1) * sizeof *ends) : NULL;
  double pb = im->cfg.profile_basal_u_per_h;
  if (!ends) {
    free(p);
    return MT_ENOMEM;
  }
  for (size_t j = 0; j < m; j++) {
    int64_t next = j + 1 < m ? p[j + 1]->t_ms : INT64_MAX;
    int64_t end = p[j]->t_ms + p[j]->dur_ms;
    if (p[j]->dur_ms > 0 && end < next)
      ends[ne++] = (item){end, 0, pb, MT_DATA_BASAL, KEEP, NS_NONE,
                          p[j]->rec, NULL};
    if (p[j]->dur_ms == 0)
      p[j]->value = pb;
  }
  free(p);
  for (size_t i = 0; i < im->n; i++)
    if (im->it[i].kind == KIND_TEMP)
      im->it[i].kind = MT_DATA_BASAL;
  int rc = 0;
  if (im->n + ne + 1 > im->cap) {
    item *it = realloc(im->it, (im->n + ne + 1) * sizeof *it);
    if (!it)
      rc = MT_ENOMEM;
    else
      im->it = it, im->cap = im->n + ne + 1;
  }
  for (size_t j = 0; !rc && j < ne; j++)
    im->it[im->n++] = ends[j];
  free(ends);
  return rc;
}

static int plausible(const item *x, double t_min)
{
  mt_datum d = {.t_min = t_min, .kind = (mt_stream_kind)x->kind,
                .value = x->value};
  return mt_datum_check(&d) == NULL;
}

/* t_min 0: --start, else the earliest datum that will be kept. */
static int pick_start(const mt_import *im, int64_t *start)
{
  if (im->cfg.has_start) {
    *start = im->cfg.start_ms;
    return 1;
  }
  int found = 0;
  for (size_t i = 0; i < im->n; i++) {
    const item *x = &im->it[i];
    if (x->reason == KEEP && x->rec >= 0 && plausible(x, 0) &&
        (!found || x->t_ms < *start))
      *start = x->t_ms, found = 1;
  }
  return found;
}

/* The basal rate holding at the start moves to t_min 0 (unless a basal row
** is there already); the rest before the start are dropped. */
static void carry_basal(mt_import *im, int64_t start)
{
  item *best = NULL;
  int at_start = 0;
  for (size_t i = 0; i < im->n; i++) {
    item *x = &im->it[i];
    if (x->reason != KEEP || x->kind != MT_DATA_BASAL || !plausible(x, 0))
      continue;
    at_start |= x->t_ms == start;
    if (x->t_ms < start && (!best || x->t_ms >= best->t_ms))
      best = x;
  }
  for (size_t i = 0; i < im->n; i++) {
    item *x = &im->it[i];
    if (x->reason != KEEP || x->kind != MT_DATA_BASAL || x->t_ms >= start)
      continue;
    if (x == best && !at_start)
      x->t_ms = start;
    else
      x->reason = x->rec < 0 ? SILENT : MT_IMPORT_BEFORE_START;
  }
}

/* Before the start, or refused by mt_datum_check. */
static void judge(mt_import *im, int has_start, int64_t start)
{
  for (size_t i = 0; i < im->n; i++) {
    item *x = &im->it[i];
    if (x->reason != KEEP)
      continue;
    if (!has_start && x->rec < 0)
      x->reason = SILENT;
    else if (has_start && x->t_ms < start)
      x->reason = MT_IMPORT_BEFORE_START;
    else if (!plausible(x, has_start ? (x->t_ms - start) / 60000.0 : 0))
      x->reason = MT_IMPORT_IMPLAUSIBLE;
  }
}

/* The rows in time order, exact repeats dropped, into the stream. */
static int build(mt_import *im, int64_t start, mt_stream *out)
{
  size_t m, n = 0;
  item **p = select_items(im, any, by_row, &m);
  mt_datum *d = p ? malloc((m ? m : 1) * sizeof *d) : NULL;
  if (!d) {
    free(p);
    return MT_ENOMEM;
  }
  for (size_t j = 0; j < m; j++) {
    for (size_t k = j; k-- > 0 && p[k]->t_ms == p[j]->t_ms &&
                       p[k]->kind == p[j]->kind;)
      if (p[k]->reason == KEEP && p[k]->value == p[j]->value) {
        p[j]->reason = MT_IMPORT_DUPLICATE;
        break;
      }
    if (p[j]->reason == KEEP)
      d[n] = (mt_datum){(p[j]->t_ms - start) / 60000.0,
                        (mt_stream_kind)p[j]->kind, p[j]->value,
                        (int)n + 2}, n++;
  }
  free(p);
  out->n = (int)n;
  out->d = d;
  return 0;
}

static void tally(const mt_import *im, mt_import_summary *sum)
{
  sum->records = im->records;
  for (int r = 0; r < MT_IMPORT_NREASON; r++)
    sum->data += sum->dropped[r] = im->dropped[r];
  for (size_t i = 0; i < im->n; i++) {
    const item *x = &im->it[i];
    if (x->reason == SILENT)
      continue;
    sum->data++;
    if (x->reason == KEEP)
      sum->kept++, sum->kept_by_kind[x->kind]++;
    else
      sum->dropped[x->reason]++;
  }
}

int mt_import_finish(mt_import *im, mt_stream *out, mt_import_summary *sum)
{
  memset(out, 0, sizeof *out);
  memset(sum, 0, sizeof *sum);
  int rc = mark_id_duplicates(im);
  if (!rc)
    rc = expand_temps(im);
  if (rc)
    return rc;
  if (!isnan(im->cfg.profile_basal_u_per_h)) /* room made by expand_temps */
    im->it[im->n++] = (item){INT64_MIN, 0, im->cfg.profile_basal_u_per_h,
                             MT_DATA_BASAL, KEEP, NS_NONE, -1, NULL};
  int64_t start = 0;
  int has_start = pick_start(im, &start);
  if (has_start)
    carry_basal(im, start);
  judge(im, has_start, start);
  if ((rc = build(im, start, out)))
    return rc;
  tally(im, sum);
  sum->has_start = has_start;
  sum->start_ms = start;
  return 0;
}
