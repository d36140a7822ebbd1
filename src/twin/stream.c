/*
** Data streams (CSV `t_min,kind,value`, arrival order) for the live twin,
** and the plausibility check every datum passes before it may reach one.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/stream.h"

static const struct {
  const char *name, *unit;
  double lo, hi;      /* plausible values, inclusive */
  int lo_open;        /* lo itself is not plausible */
  const char *reason; /* why a value outside is quarantined */
} kinds[MT_DATA_NKIND] = {
  /* the reporting range of the shipped sensor models (sensor_params.csv) */
  [MT_DATA_CGM] = {"cgm", "mg/dL", 32, 600, 0, "cgm outside 32-600 mg/dL"},
  /* the scenario format's bounds (docs/scenario.md) */
  [MT_DATA_CARBS] = {"carbs", "g", 0, 500, 1, "carbs outside (0, 500] g"},
  [MT_DATA_BOLUS] = {"bolus", "[iU]", 0, 100, 1, "bolus outside (0, 100] U"},
  [MT_DATA_BASAL] = {"basal", "[iU]/h", 0, 50, 0, "basal outside 0-50 U/h"},
  /* vital signs: the measuring range an automated monitor must cover
  ** (IEC 80601-2-30 cuff pressure, IEC 60601-2-27 heart rate) and the
  ** extremes of clinical series; sources in docs/stream.md */
  [MT_DATA_MAP] = {"map", "mm[Hg]", 20, 250, 0, "map outside 20-250 mmHg"},
  [MT_DATA_SBP] = {"sbp", "mm[Hg]", 40, 300, 0, "sbp outside 40-300 mmHg"},
  [MT_DATA_DBP] = {"dbp", "mm[Hg]", 10, 200, 0, "dbp outside 10-200 mmHg"},
  [MT_DATA_HR] = {"hr", "/min", 15, 300, 0, "hr outside 15-300 /min"},
  [MT_DATA_EF] = {"ef", "%", 5, 90, 0, "ef outside 5-90 %"},
  [MT_DATA_CO] = {"co", "L/min", 0.5, 20, 0, "co outside 0.5-20 L/min"},
  [MT_DATA_WEIGHT] = {"weight", "kg", 20, 400, 0,
                      "weight outside 20-400 kg"},
  /* doses: above the largest single dose in the labels of metoprolol
  ** (400 mg/day), enalapril (40 mg/day) and furosemide (600 mg/day);
  ** dobutamine up to 40 ug/kg/min at 120 kg */
  [MT_DATA_BETA_BLOCKER] = {"beta_blocker", "mg", 0, 400, 1,
                            "beta_blocker outside (0, 400] mg"},
  [MT_DATA_VASODILATOR] = {"vasodilator", "mg", 0, 40, 1,
                           "vasodilator outside (0, 40] mg"},
  [MT_DATA_DIURETIC] = {"diuretic", "mg", 0, 600, 1,
                        "diuretic outside (0, 600] mg"},
  [MT_DATA_INOTROPE] = {"inotrope", "ug/min", 0, 4800, 0,
                        "inotrope outside 0-4800 ug/min"},
};

const char *mt_stream_kind_name(mt_stream_kind k)
{
  return k >= 0 && k < MT_DATA_NKIND ? kinds[k].name : NULL;
}

const char *mt_stream_kind_unit(mt_stream_kind k)
{
  return k >= 0 && k < MT_DATA_NKIND ? kinds[k].unit : NULL;
}

const char *mt_datum_check(const mt_datum *d)
{
  if (!(d->t_min >= 0) || !isfinite(d->t_min))
    return "time before the start of the stream";
  if (d->kind < 0 || d->kind >= MT_DATA_NKIND)
    return "unknown kind";
  double v = d->value, lo = kinds[d->kind].lo, hi = kinds[d->kind].hi;
  int ok = (kinds[d->kind].lo_open ? v > lo : v >= lo) && v <= hi;
  return ok ? NULL : kinds[d->kind].reason;
}

void mt_stream_clear(mt_stream *s)
{
  free(s->d);
  memset(s, 0, sizeof *s);
}

/* A whole field as a finite number. */
static int number(const char *f, double *v)
{
  char *end;
  errno = 0;
  *v = strtod(f, &end);
  return end != f && *end == '\0' && isfinite(*v) && errno != ERANGE;
}

/* Split a line (NUL-terminated, modified) at commas into at most 4 fields. */
static int split(char *line, char **f)
{
  int n = 0;
  for (char *p = line;; p++) {
    if (n < 4)
      f[n] = p;
    n++;
    p += strcspn(p, ",");
    if (*p != ',')
      return n;
    *p = '\0';
  }
}

static int parse_line(char *line, int lineno, const char *name, mt_datum *d,
                      char *err, size_t errlen)
{
  char *f[4];
  int nf = split(line, f);
  if (nf != 3) {
    snprintf(err, errlen, "%s: line %d: expected 3 fields (t_min,kind,"
             "value), got %d", name, lineno, nf);
    return MT_EPARSE;
  }
  if (!number(f[0], &d->t_min)) {
    snprintf(err, errlen, "%s: line %d: t_min: expected a number, got "
             "'%.40s'", name, lineno, f[0]);
    return MT_EPARSE;
  }
  int k = 0;
  while (k < MT_DATA_NKIND && strcmp(f[1], kinds[k].name))
    k++;
  if (k == MT_DATA_NKIND) {
    snprintf(err, errlen, "%s: line %d: kind: expected cgm, carbs, bolus, "
             "basal, map, sbp, dbp, hr, ef, co, weight, beta_blocker, "
             "vasodilator, diuretic or inotrope, got '%.40s'", name, lineno,
             f[1]);
    return MT_EPARSE;
  }
  d->kind = (mt_stream_kind)k;
  if (!number(f[2], &d->value)) {
    snprintf(err, errlen, "%s: line %d: value: expected a number (%s), got "
             "'%.40s'", name, lineno, kinds[k].unit, f[2]);
    return MT_EPARSE;
  }
  d->line = lineno;
  return 0;
}

int mt_stream_parse(const char *text, size_t len, const char *name,
                    mt_stream *out, char *err, size_t errlen)
{
  memset(out, 0, sizeof *out);
  const char *p = text, *end = text + len;
  size_t cap = 0, lines = 1;
  for (size_t i = 0; i < len; i++)
    lines += text[i] == '\n';
  char *buf = NULL;
  mt_datum *d = malloc(lines * sizeof *d);
  int rc = d ? 0 : MT_ENOMEM, n = 0;
  for (int lineno = 1; !rc && p < end; lineno++) {
    if (!(p = mt_next_line(p, end, &buf, &cap))) {
      rc = MT_ENOMEM;
    } else if (lineno == 1) {
      if (strcmp(buf, "t_min,kind,value")) {
        snprintf(err, errlen, "%s: line 1: expected the header "
                 "'t_min,kind,value', got '%.40s'", name, buf);
        rc = MT_EPARSE;
      }
    } else if (buf[0]) { /* blank lines carry nothing */
      rc = parse_line(buf, lineno, name, &d[n], err, errlen);
      n += !rc;
    }
  }
  if (!rc && len == 0) {
    snprintf(err, errlen, "%s: empty: expected the header 't_min,kind,value'",
             name);
    rc = MT_EPARSE;
  }
  free(buf);
  if (rc) {
    free(d);
    return rc;
  }
  out->n = n;
  out->d = d;
  return 0;
}

int mt_stream_load(const char *path, mt_stream *out, char *err,
                   size_t errlen)
{
  char *text;
  size_t len;
  memset(out, 0, sizeof *out);
  int rc = mt_file_read(path, &text, &len, err, errlen);
  if (rc)
    return rc;
  rc = mt_stream_parse(text, len, path, out, err, errlen);
  free(text);
  return rc;
}
