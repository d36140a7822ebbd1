/*
** medtwin twin import: CSV exports and Nightscout entries / treatments JSON
** into one data stream (docs/stream.md), written atomically, with a summary
** of what was kept and what was dropped and why. Formats: docs/import.md.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/import.h"
#include "medtwin/replay.h"
#include "medtwin/stream.h"

#define MAX_INPUTS 64 /* files of each kind */

typedef struct iopts {
  const char *csv[MAX_INPUTS], *entries[MAX_INPUTS], *treatments[MAX_INPUTS];
  int ncsv, nentries, ntreatments, json;
  const char *out;
  mt_import_config cfg;
  mt_import_csv_options co;
} iopts;

static const char usage_text[] =
    "usage: medtwin twin import [--csv FILE ...] [--entries FILE ...]\n"
    "           [--treatments FILE ...] --out STREAM.csv [options]\n"
    "  --csv FILE          a CSV export with a header row (repeatable)\n"
    "  --time-col NAME     its time column (ISO 8601 or epoch s / ms)\n"
    "  --glucose-col NAME  its glucose column\n"
    "  --carbs-col NAME    its carbs column (g)\n"
    "  --bolus-col NAME    its bolus column (U)\n"
    "  --units mg/dL|mmol/L  glucose units (default: from the column name,\n"
    "                      else mg/dL; mmol/L x 18.016)\n"
    "  --skip-lines N      lines before the CSV header row (default 0)\n"
    "  --entries FILE      Nightscout entries JSON (repeatable)\n"
    "  --treatments FILE   Nightscout treatments JSON (repeatable)\n"
    "  --profile-basal U/h the scheduled basal: opens the stream, and temp\n"
    "                      basals are relative to it and end at it\n"
    "  --start ISO         the time of t_min 0 (default: the earliest datum)\n"
    "  --json              print the summary as JSON\n";

static int add_input(const char **list, int *n, const char *flag,
                     const char *v)
{
  if (*n == MAX_INPUTS)
    return cli_fail(EXIT_USAGE, "twin import: %s: at most %d files",
                    flag, MAX_INPUTS);
  list[(*n)++] = v;
  return 0;
}

static int parse_number(const char *flag, const char *v, double lo,
                        double hi, const char *unit, double *out)
{
  char *end;
  *out = strtod(v, &end);
  if (end == v || *end || !(*out >= lo && *out <= hi))
    return cli_fail(EXIT_USAGE, "twin import: %s: expected a number in "
                    "[%g, %g] (%s), got '%s'", flag, lo, hi, unit, v);
  return 0;
}

static int parse_units(const char *v, mt_glucose_units *u)
{
  if (!strcasecmp(v, "mg/dL"))
    *u = MT_UNITS_MGDL;
  else if (!strcasecmp(v, "mmol/L"))
    *u = MT_UNITS_MMOLL;
  else
    return cli_fail(EXIT_USAGE, "twin import: --units: expected mg/dL or "
                    "mmol/L, got '%s'", v);
  return 0;
}

static int parse_opt(void *ctx, const char *a, const char *v)
{
  iopts *o = ctx;
  double x;
  int rc = 0;
  if (!strcmp(a, "--csv")) rc = add_input(o->csv, &o->ncsv, a, v);
  else if (!strcmp(a, "--entries"))
    rc = add_input(o->entries, &o->nentries, a, v);
  else if (!strcmp(a, "--treatments"))
    rc = add_input(o->treatments, &o->ntreatments, a, v);
  else if (!strcmp(a, "--time-col")) o->co.time_col = v;
  else if (!strcmp(a, "--glucose-col")) o->co.glucose_col = v;
  else if (!strcmp(a, "--carbs-col")) o->co.carbs_col = v;
  else if (!strcmp(a, "--bolus-col")) o->co.bolus_col = v;
  else if (!strcmp(a, "--units")) rc = parse_units(v, &o->co.units);
  else if (!strcmp(a, "--skip-lines")) {
    if (!(rc = parse_number(a, v, 0, 1000, "lines", &x)) && x != floor(x))
      rc = cli_fail(EXIT_USAGE, "twin import: --skip-lines: expected a "
                    "whole number, got '%s'", v);
    o->co.skip_lines = (int)x;
  } else if (!strcmp(a, "--profile-basal"))
    rc = parse_number(a, v, 0, 50, "U/h", &o->cfg.profile_basal_u_per_h);
  else if (!strcmp(a, "--start")) {
    o->cfg.has_start = 1;
    if (mt_import_parse_iso(v, &o->cfg.start_ms))
      rc = cli_fail(EXIT_USAGE, "twin import: --start: expected an ISO 8601 "
                    "time like 2024-03-01T07:00:00Z, got '%s'", v);
  } else if (!strcmp(a, "--out")) o->out = v;
  else
    rc = cli_fail(EXIT_USAGE, "twin import: unknown option '%s'", a);
  return rc;
}

static int parse_iopts(int argc, char **argv, iopts *o)
{
  memset(o, 0, sizeof *o);
  mt_import_config_init(&o->cfg);
  mt_import_csv_options_init(&o->co);
  int rc = cli_parse(argc, argv, "twin import", usage_text, &o->json, parse_opt,
                     o);
  if (rc)
    return rc;
  if (!o->out || !(o->ncsv + o->nentries + o->ntreatments))
    return cli_fail(EXIT_USAGE, "twin import: --out and at least one of "
                    "--csv, --entries or --treatments are required (run "
                    "'medtwin twin import --help')");
  return 0;
}

/* Read and add one input of each kind; every failure is bad input. */
static int add_file(mt_import *im, const iopts *o, const char *path,
                    int kind)
{
  char err[MT_ERRMSG_MAX], *text;
  size_t len;
  int rc = mt_file_read(path, &text, &len, err, sizeof err);
  if (rc)
    return cli_fail(rc == MT_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE, "%s", err);
  if (kind == 0)
    rc = mt_import_add_csv(im, text, len, path, &o->co, err, sizeof err);
  else if (kind == 1)
    rc = mt_import_add_entries(im, text, len, path, err, sizeof err);
  else
    rc = mt_import_add_treatments(im, text, len, path, err, sizeof err);
  free(text);
  return rc ? cli_fail(rc == MT_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE, "%s",
                       err)
            : 0;
}

static int add_all(mt_import *im, const iopts *o)
{
  int rc = 0;
  for (int i = 0; !rc && i < o->ncsv; i++)
    rc = add_file(im, o, o->csv[i], 0);
  for (int i = 0; !rc && i < o->nentries; i++)
    rc = add_file(im, o, o->entries[i], 1);
  for (int i = 0; !rc && i < o->ntreatments; i++)
    rc = add_file(im, o, o->treatments[i], 2);
  return rc;
}

static json_t *summary_json(const mt_import_summary *s, const char *start)
{
  json_t *kinds = json_object(), *dropped = json_object();
  /* the metabolic kinds: an import reads no vital signs */
  for (int k = 0; k <= MT_DATA_BASAL; k++)
    json_object_set_new(kinds, mt_stream_kind_name((mt_stream_kind)k),
                        json_integer(s->kept_by_kind[k]));
  for (int r = 0; r < MT_IMPORT_NREASON; r++)
    json_object_set_new(dropped, mt_import_reason_key((mt_import_reason)r),
                        json_integer(s->dropped[r]));
  return json_pack("{s:s, s:s?, s:I, s:I, s:I, s:o, s:o}", "medtwin_version",
                   MT_VERSION, "start", start, "read", (json_int_t)s->records,
                   "data", (json_int_t)s->data, "kept", (json_int_t)s->kept,
                   "kept_by_kind", kinds, "dropped", dropped);
}

/* The summary on stdout, or on stderr when the stream went to stdout. */
static void summary(const iopts *o, const mt_import_summary *s)
{
  FILE *f = strcmp(o->out, "-") ? stdout : stderr;
  char start[40];
  if (s->has_start)
    mt_import_format_iso(s->start_ms, start, sizeof start);
  if (o->json) {
    json_t *j = summary_json(s, s->has_start ? start : NULL);
    json_dumpf(j, f, JSON_INDENT(2));
    fputc('\n', f);
    json_decref(j);
    return;
  }
  const long *k = s->kept_by_kind, *d = s->dropped;
  fprintf(f, "medtwin %s twin import: %ld records read, %ld data, %ld kept "
          "(%ld cgm, %ld carbs, %ld bolus, %ld basal); dropped: %ld "
          "duplicate, %ld non-sgv entry, %ld missing field, %ld no stream "
          "data, %ld implausible, %ld before --start; t_min 0 = %s\n",
          MT_VERSION, s->records, s->data, s->kept, k[MT_DATA_CGM],
          k[MT_DATA_CARBS], k[MT_DATA_BOLUS], k[MT_DATA_BASAL],
          d[MT_IMPORT_DUPLICATE], d[MT_IMPORT_NON_SGV],
          d[MT_IMPORT_MISSING_FIELD], d[MT_IMPORT_NO_DATA],
          d[MT_IMPORT_IMPLAUSIBLE], d[MT_IMPORT_BEFORE_START],
          s->has_start ? start : "none (nothing kept)");
}

static int write_stream(const char *path, const mt_stream *st)
{
  char err[MT_ERRMSG_MAX];
  mt_afile *f;
  if (mt_afile_open(path, &f, err, sizeof err))
    return cli_fail(EXIT_RUNTIME, "%s", err);
  if (mt_replay_write_stream(st, mt_afile_stream(f))) {
    mt_afile_abort(f);
    return cli_fail(EXIT_RUNTIME, "%s: cannot write", path);
  }
  if (mt_afile_commit(f, err, sizeof err))
    return cli_fail(EXIT_RUNTIME, "%s", err);
  return 0;
}

int cmd_twin_import(int argc, char **argv)
{
  iopts o;
  mt_import *im = NULL;
  mt_stream st = {0, NULL};
  mt_import_summary sum;
  int rc = parse_iopts(argc, argv, &o);
  if (rc)
    return rc;
  if (mt_import_create(&o.cfg, &im))
    return cli_fail(EXIT_RUNTIME, "twin import: out of memory");
  rc = add_all(im, &o);
  if (!rc && mt_import_finish(im, &st, &sum))
    rc = cli_fail(EXIT_RUNTIME, "twin import: out of memory");
  if (!rc)
    rc = write_stream(o.out, &st);
  if (!rc)
    summary(&o, &sum);
  mt_stream_clear(&st);
  mt_import_free(im);
  return rc;
}
