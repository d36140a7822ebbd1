/*
** Import (include/medtwin/import.h, docs/import.md): ISO 8601 and epoch
** times, the mmol/L factor, CSV columns and cells, Nightscout entries and
** treatments (temp basals), de-duplication, the start, one-line errors that
** leave the import as it was, and round trips: a replayed day written as
** Nightscout JSON and as a CSV export, imported, equals the day's stream
** (times exact, values to 1e-9 mg/dL, g, U or U/h).
*/
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/import.h"
#include "medtwin/replay.h"
#include "medtwin/stream.h"

#define T0 1709276400000LL /* 2024-03-01T07:00:00Z */
#define VALUE_TOL 1e-9     /* round-trip tolerance on values */

/* ------------------------------------------------------------- helpers */

static mt_import *make(double profile, const char *start)
{
  mt_import_config cfg;
  mt_import_config_init(&cfg);
  cfg.profile_basal_u_per_h = profile;
  if (start) {
    cfg.has_start = 1;
    cr_assert_eq(mt_import_parse_iso(start, &cfg.start_ms), 0);
  }
  mt_import *im = NULL;
  cr_assert_eq(mt_import_create(&cfg, &im), 0);
  return im;
}

static int csv(mt_import *im, const char *text, const mt_import_csv_options *o,
               char *err)
{
  return mt_import_add_csv(im, text, strlen(text), "in.csv", o, err,
                           MT_ERRMSG_MAX);
}

static int entries(mt_import *im, const char *json, char *err)
{
  return mt_import_add_entries(im, json, strlen(json), "entries.json", err,
                               MT_ERRMSG_MAX);
}

static int treatments(mt_import *im, const char *json, char *err)
{
  return mt_import_add_treatments(im, json, strlen(json), "treatments.json",
                                  err, MT_ERRMSG_MAX);
}

static void finish(mt_import *im, mt_stream *s, mt_import_summary *sum)
{
  cr_assert_eq(mt_import_finish(im, s, sum), 0);
  long dropped = 0;
  for (int r = 0; r < MT_IMPORT_NREASON; r++)
    dropped += sum->dropped[r];
  cr_expect_eq(sum->data, sum->kept + dropped, "every datum accounted for");
  cr_expect_eq(sum->kept, s->n);
}

/* Row i is (t_min, kind, value) exactly. */
static void expect_row(const mt_stream *s, int i, double t, mt_stream_kind k,
                       double v)
{
  cr_assert_lt(i, s->n, "row %d of %d", i, s->n);
  cr_expect_eq(s->d[i].t_min, t, "row %d: t_min %g, want %g", i,
               s->d[i].t_min, t);
  cr_expect_eq(s->d[i].kind, k, "row %d: kind", i);
  cr_expect(fabs(s->d[i].value - v) <= VALUE_TOL, "row %d: value %.12g, "
            "want %.12g", i, s->d[i].value, v);
  cr_expect_eq(s->d[i].line, i + 2);
}

/* ---------------------------------------------------------------- time */

Test(import_time, iso_with_z_without_zone_and_with_a_space)
{
  int64_t t;
  cr_assert_eq(mt_import_parse_iso("2024-03-01T07:00:00Z", &t), 0);
  cr_expect_eq(t, T0);
  cr_assert_eq(mt_import_parse_iso("2024-03-01T07:00:00", &t), 0);
  cr_expect_eq(t, T0, "no zone: read as UTC");
  cr_assert_eq(mt_import_parse_iso("2024-03-01 07:05:00", &t), 0);
  cr_expect_eq(t, T0 + 300000);
  cr_assert_eq(mt_import_parse_iso("2024-03-01T07:05", &t), 0);
  cr_expect_eq(t, T0 + 300000, "seconds optional");
  cr_assert_eq(mt_import_parse_iso("1970-01-01T00:00:00Z", &t), 0);
  cr_expect_eq(t, 0);
  cr_assert_eq(mt_import_parse_iso("2024-02-29T00:00:00Z", &t), 0);
  cr_expect_eq(t, 1709164800000LL, "leap day");
  cr_assert_eq(mt_import_parse_iso("1969-12-31T23:59:59Z", &t), 0);
  cr_expect_eq(t, -1000);
}

Test(import_time, fractional_seconds_round_to_the_millisecond)
{
  int64_t t;
  cr_assert_eq(mt_import_parse_iso("2024-03-01T07:00:00.000Z", &t), 0);
  cr_expect_eq(t, T0);
  cr_assert_eq(mt_import_parse_iso("2024-03-01T07:00:00.5Z", &t), 0);
  cr_expect_eq(t, T0 + 500);
  cr_assert_eq(mt_import_parse_iso("2024-03-01T07:00:00.123Z", &t), 0);
  cr_expect_eq(t, T0 + 123);
  cr_assert_eq(mt_import_parse_iso("2024-03-01T07:00:00.1236789", &t), 0);
  cr_expect_eq(t, T0 + 124);
  cr_assert_eq(mt_import_parse_iso("2024-03-01T07:00:00,25Z", &t), 0);
  cr_expect_eq(t, T0 + 250, "comma as decimal sign (ISO 8601)");
}

Test(import_time, timezone_offsets)
{
  int64_t t;
  cr_assert_eq(mt_import_parse_iso("2024-03-01T08:00:00+01:00", &t), 0);
  cr_expect_eq(t, T0);
  cr_assert_eq(mt_import_parse_iso("2024-03-01T08:00:00.000+0100", &t), 0);
  cr_expect_eq(t, T0);
  cr_assert_eq(mt_import_parse_iso("2024-03-01T08:00:00+01", &t), 0);
  cr_expect_eq(t, T0);
  cr_assert_eq(mt_import_parse_iso("2024-03-01T01:30:00-05:30", &t), 0);
  cr_expect_eq(t, T0);
  cr_assert_eq(mt_import_parse_iso("2024-02-29T23:00:00-08:00", &t), 0);
  cr_expect_eq(t, T0, "across the day and the month");
}

Test(import_time, malformed_times_are_refused)
{
  static const char *const bad[] = {
      "", "2024-03-01", "2024-3-01T07:00:00Z", "2024-13-01T07:00:00Z",
      "2023-02-29T07:00:00Z", "2024-04-31T07:00:00Z", "2024-03-01T24:00:00Z",
      "2024-03-01T07:60:00Z", "2024-03-01T07:00:60Z", "2024-03-01T07:00:00.Z",
      "2024-03-01T07:00:00ZZ", "2024-03-01T07:00:00+1", "2024-03-01T07:00:00+24:00",
      "2024-03-01T07:00:00+01:60", "2024-03-01T07:00:00 ", " 2024-03-01T07:00:00",
      "2024-03-01X07:00:00", "03/01/2024 07:00", "today"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t t = 42;
    cr_expect_eq(mt_import_parse_iso(bad[i], &t), MT_EPARSE, "'%s'", bad[i]);
    cr_expect_eq(t, 42, "'%s': untouched", bad[i]);
  }
}

Test(import_time, csv_cells_take_epoch_seconds_or_milliseconds)
{
  int64_t t;
  cr_assert_eq(mt_import_parse_time("1709276400", &t), 0);
  cr_expect_eq(t, T0, "seconds");
  cr_assert_eq(mt_import_parse_time("1709276400000", &t), 0);
  cr_expect_eq(t, T0, "milliseconds");
  cr_assert_eq(mt_import_parse_time("1709276400.25", &t), 0);
  cr_expect_eq(t, T0 + 250);
  cr_assert_eq(mt_import_parse_time("2024-03-01 08:00:00+01:00", &t), 0);
  cr_expect_eq(t, T0);
  cr_expect_eq(mt_import_parse_time("1e300", &t), MT_EPARSE);
  cr_expect_eq(mt_import_parse_time("nan", &t), MT_EPARSE);
  cr_expect_eq(mt_import_parse_time("", &t), MT_EPARSE);
}

Test(import_time, format_iso_inverts_parse)
{
  static const char *const s[] = {"2024-03-01T07:00:00Z",
                                  "2024-02-29T23:59:59.999Z",
                                  "1969-07-20T20:17:40Z", "2000-01-01T00:00:00.001Z"};
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
    char buf[32];
    int64_t t;
    cr_assert_eq(mt_import_parse_iso(s[i], &t), 0);
    mt_import_format_iso(t, buf, sizeof buf);
    cr_expect_str_eq(buf, s[i]);
  }
}

/* --------------------------------------------------------------- units */

/* 18.016 mg/dL per mmol/L: glucose's molar mass 180.156 g/mol / 10. The
** products are checked to 1e-9 mg/dL (double rounding is ~1e-14). */
Test(import_units, mmol_per_litre_to_mg_per_dl)
{
  cr_expect_eq(MT_MGDL_PER_MMOLL, 18.016);
  cr_expect(fabs(mt_import_mmol_to_mgdl(1) - 18.016) <= 1e-9);
  cr_expect(fabs(mt_import_mmol_to_mgdl(5.5) - 99.088) <= 1e-9);
  cr_expect(fabs(mt_import_mmol_to_mgdl(3.9) - 70.2624) <= 1e-9);
  cr_expect(fabs(mt_import_mmol_to_mgdl(10) - 180.16) <= 1e-9);
  cr_expect(fabs(180.156 / 10 - MT_MGDL_PER_MMOLL) < 5e-4,
            "the factor is the molar mass to three decimals");
}

Test(import_units, csv_glucose_in_mmol_by_option_or_by_column_name)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  mt_import_csv_options o;
  mt_import_csv_options_init(&o);
  o.units = MT_UNITS_MMOLL;
  mt_import *im = make(NAN, NULL);
  cr_assert_eq(csv(im, "time,glucose\n2024-03-01T07:00:00Z,5.5\n", &o, err),
               0, "%s", err);
  cr_assert_eq(csv(im, "time,Glucose Value (mmol/L)\n"
                       "2024-03-01T07:05:00Z,3.9\n", NULL, err), 0, "%s", err);
  cr_assert_eq(csv(im, "time,Glucose Value (mg/dL)\n"
                       "2024-03-01T07:10:00Z,120\n", NULL, err), 0, "%s", err);
  finish(im, &s, &sum);
  cr_assert_eq(s.n, 3);
  expect_row(&s, 0, 0, MT_DATA_CGM, 99.088);
  expect_row(&s, 1, 5, MT_DATA_CGM, 70.2624);
  expect_row(&s, 2, 10, MT_DATA_CGM, 120);
  mt_stream_clear(&s);
  mt_import_free(im);
}

Test(import_units, a_column_name_that_contradicts_units_is_an_error)
{
  char err[MT_ERRMSG_MAX];
  mt_import_csv_options o;
  mt_import_csv_options_init(&o);
  o.units = MT_UNITS_MMOLL;
  mt_import *im = make(NAN, NULL);
  cr_expect_eq(csv(im, "time,Glucose Value (mg/dL)\n", &o, err), MT_EINVAL);
  cr_expect_not_null(strstr(err, "mg/dL"), "%s", err);
  cr_expect_not_null(strstr(err, "line 1"), "%s", err);
  mt_import_free(im);
}

/* ----------------------------------------------------------------- CSV */

Test(import_csv, columns_by_name_cells_and_drops)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  mt_import_csv_options o;
  mt_import_csv_options_init(&o);
  o.time_col = "Zeit", o.glucose_col = "Glukose", o.carbs_col = "KH";
  o.bolus_col = "Insulin (U)", o.skip_lines = 1;
  const char *text =
      "\xEF\xBB\xBF" "exported by a meter app, 2024\n"
      "id,Zeit,\"Glukose\",KH,\"Insulin (U)\"\r\n"
      "1,2024-03-01T07:00:00Z,120,,\r\n"
      "2,2024-03-01T07:05:00Z, 125 ,\"45\",4.5\r\n"
      "\r\n"
      "3,,130,,\r\n"          /* no time: missing field */
      "4,2024-03-01T07:10:00Z,,,\r\n" /* nothing: no stream data */
      "5,2024-03-01T07:15:00Z,HIGH,,\r\n" /* sensor above its range */
      "6,2024-03-01T07:20:00Z,0,0,0\r\n";   /* glucose 0: implausible */
  mt_import *im = make(NAN, NULL);
  cr_assert_eq(csv(im, text, &o, err), 0, "%s", err);
  finish(im, &s, &sum);
  cr_expect_eq(sum.records, 6);
  cr_assert_eq(s.n, 4);
  expect_row(&s, 0, 0, MT_DATA_CGM, 120);
  expect_row(&s, 1, 5, MT_DATA_CGM, 125);
  expect_row(&s, 2, 5, MT_DATA_CARBS, 45);
  expect_row(&s, 3, 5, MT_DATA_BOLUS, 4.5);
  cr_expect_eq(sum.dropped[MT_IMPORT_MISSING_FIELD], 1);
  cr_expect_eq(sum.dropped[MT_IMPORT_NO_DATA], 1);
  cr_expect_eq(sum.dropped[MT_IMPORT_IMPLAUSIBLE], 2);
  cr_expect_eq(sum.has_start, 1);
  cr_expect_eq(sum.start_ms, T0);
  mt_stream_clear(&s);
  mt_import_free(im);
}

Test(import_csv, default_column_names)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  mt_import *im = make(NAN, NULL);
  cr_assert_eq(csv(im, "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,"
                       "Glucose Value (mg/dL),Carb Value (grams)\n"
                       "1,2024-03-01T07:00:00,EGV,140,\n"
                       "2,2024-03-01T07:03:00,Carbs,,30\n", NULL, err), 0,
               "%s", err);
  cr_assert_eq(csv(im, "DATE,SGV,Carbs,Insulin\n1709276700,150,,2\n", NULL,
                   err), 0, "%s", err);
  finish(im, &s, &sum);
  cr_assert_eq(s.n, 4);
  expect_row(&s, 0, 0, MT_DATA_CGM, 140);
  expect_row(&s, 1, 3, MT_DATA_CARBS, 30);
  expect_row(&s, 2, 5, MT_DATA_CGM, 150);
  expect_row(&s, 3, 5, MT_DATA_BOLUS, 2);
  mt_stream_clear(&s);
  mt_import_free(im);
}

/* Each malformed CSV: an error naming the file, the line and the field,
** on one line. */
Test(import_csv, malformed_input_names_file_line_and_field)
{
  static const struct {
    const char *text, *frag[2];
    int code;
  } bad[] = {
      {"", {"no header", "in.csv"}, MT_EPARSE},
      {"when,glucose\n", {"line 1", "no time column"}, MT_EINVAL},
      {"time,notes\n", {"line 1", "no glucose, carbs or bolus"}, MT_EINVAL},
      {"time,glucose\n2024-03-01T07:00:00Z,high-ish\n", {"line 2", "glucose"},
       MT_EPARSE},
      {"time,glucose\n2024-03-01T07:00:00Z,-5\n", {"line 2", ">= 0"},
       MT_EPARSE},
      {"time,glucose\nyesterday,100\n", {"line 2", "time: expected an ISO"},
       MT_EPARSE},
      {"time,glucose,carbs\n2024-03-01T07:00:00Z,100,many\n",
       {"line 2", "carbs: expected a number >= 0 (g), got 'many'"}, MT_EPARSE},
      {"time,glucose\n2024-03-01T07:00:00Z,100,3\n", {"line 2", "got 3"},
       MT_EPARSE},
      {"time,glucose\n\"2024-03-01T07:00:00Z,100\n", {"line 2", "quoting"},
       MT_EPARSE},
      {"time,glucose\n2024-03-01T07:00:00Z,\"100\"x\n", {"line 2", "quoting"},
       MT_EPARSE},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char err[MT_ERRMSG_MAX] = "";
    mt_import *im = make(NAN, NULL);
    cr_expect_eq(csv(im, bad[i].text, NULL, err), bad[i].code, "case %zu: %s",
                 i, err);
    cr_expect_not_null(strstr(err, "in.csv: "), "case %zu: %s", i, err);
    for (int f = 0; f < 2; f++)
      cr_expect_not_null(strstr(err, bad[i].frag[f]), "case %zu: '%s' not in:"
                         " %s", i, bad[i].frag[f], err);
    cr_expect_null(strchr(err, '\n'), "one line: %s", err);
    mt_import_free(im);
  }
  mt_import_csv_options o;
  mt_import_csv_options_init(&o);
  o.glucose_col = "Glukose";
  char err[MT_ERRMSG_MAX];
  mt_import *im = make(NAN, NULL);
  cr_expect_eq(csv(im, "time,glucose\n", &o, err), MT_EINVAL);
  cr_expect_not_null(strstr(err, "no column named 'Glukose'"), "%s", err);
  mt_import_free(im);
}

/* ----------------------------------------------------------- Nightscout */

Test(import_nightscout, entries_keep_sgv_records_only)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  mt_import *im = make(NAN, NULL);
  cr_assert_eq(entries(im, "["
      "{\"_id\":\"a1\",\"type\":\"sgv\",\"sgv\":120,\"date\":1709276400000,"
      "\"dateString\":\"2024-03-01T07:00:00.000Z\"},"
      "{\"_id\":\"a2\",\"type\":\"mbg\",\"mbg\":118,\"date\":1709276460000},"
      "{\"_id\":\"a3\",\"type\":\"cal\",\"slope\":900},"
      "{\"_id\":\"a4\",\"sgv\":121,\"date\":1709276460000},"
      "{\"_id\":\"a5\",\"type\":\"sgv\",\"date\":1709276500000},"
      "{\"_id\":\"a6\",\"type\":\"sgv\",\"sgv\":125,"
      "\"dateString\":\"2024-03-01T08:05:00+01:00\"},"
      "{\"_id\":\"a7\",\"type\":\"sgv\",\"sgv\":5,\"date\":1709277000000},"
      "{\"_id\":\"a8\",\"type\":\"sgv\",\"sgv\":null,\"date\":1709277000000}"
      "]", err), 0, "%s", err);
  finish(im, &s, &sum);
  cr_expect_eq(sum.records, 8);
  cr_assert_eq(s.n, 2);
  expect_row(&s, 0, 0, MT_DATA_CGM, 120);
  expect_row(&s, 1, 5, MT_DATA_CGM, 125);
  cr_expect_eq(sum.dropped[MT_IMPORT_NON_SGV], 3, "mbg, cal, no type");
  cr_expect_eq(sum.dropped[MT_IMPORT_MISSING_FIELD], 2, "no sgv, null sgv");
  cr_expect_eq(sum.dropped[MT_IMPORT_IMPLAUSIBLE], 1, "sgv 5: a code");
  mt_stream_clear(&s);
  mt_import_free(im);
}

Test(import_nightscout, treatments_carbs_insulin_and_others)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  mt_import *im = make(NAN, NULL);
  cr_assert_eq(treatments(im, "["
      "{\"_id\":\"t1\",\"eventType\":\"Meal Bolus\",\"created_at\":"
      "\"2024-03-01T07:00:00.000Z\",\"carbs\":45,\"insulin\":4.5},"
      "{\"_id\":\"t2\",\"eventType\":\"Correction Bolus\",\"created_at\":"
      "\"2024-03-01T07:40:00Z\",\"insulin\":1.25,\"carbs\":null},"
      "{\"_id\":\"t3\",\"eventType\":\"Carb Correction\",\"created_at\":"
      "\"2024-03-01T07:20:00Z\",\"carbs\":15,\"insulin\":0},"
      "{\"_id\":\"t4\",\"eventType\":\"Site Change\",\"created_at\":"
      "\"2024-03-01T07:30:00Z\"},"
      "{\"_id\":\"t5\",\"eventType\":\"Meal Bolus\",\"carbs\":20}"
      "]", err), 0, "%s", err);
  finish(im, &s, &sum);
  cr_assert_eq(s.n, 4);
  expect_row(&s, 0, 0, MT_DATA_CARBS, 45);
  expect_row(&s, 1, 0, MT_DATA_BOLUS, 4.5);
  expect_row(&s, 2, 20, MT_DATA_CARBS, 15);
  expect_row(&s, 3, 40, MT_DATA_BOLUS, 1.25);
  cr_expect_eq(sum.dropped[MT_IMPORT_NO_DATA], 1, "site change");
  cr_expect_eq(sum.dropped[MT_IMPORT_MISSING_FIELD], 1, "no created_at");
  mt_stream_clear(&s);
  mt_import_free(im);
}

/* Profile 1 U/h. Temp basals: absolute 0 for 30 min at 07:10; +50 % for 30
** min at 07:50 (Nightscout: basal x (100 + percent) / 100); absolute 2 for
** 30 min at 08:40, superseded at 08:50 by absolute 0.5 for 20 min; a cancel
** (duration 0) at 09:30 ending an absolute 3 begun at 09:20 for 60 min. */
Test(import_nightscout, temp_basals_start_end_and_supersede)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  mt_import *im = make(1.0, "2024-03-01T07:00:00Z");
  cr_assert_eq(treatments(im, "["
      "{\"eventType\":\"Temp Basal\",\"created_at\":\"2024-03-01T07:10:00Z\","
      "\"absolute\":0,\"duration\":30},"
      "{\"eventType\":\"Temp Basal\",\"created_at\":\"2024-03-01T07:50:00Z\","
      "\"percent\":50,\"duration\":30},"
      "{\"eventType\":\"Temp Basal\",\"created_at\":\"2024-03-01T08:40:00Z\","
      "\"absolute\":2,\"rate\":2,\"duration\":30},"
      "{\"eventType\":\"Temp Basal\",\"created_at\":\"2024-03-01T08:50:00Z\","
      "\"absolute\":0.5,\"percent\":-50,\"duration\":20},"
      "{\"eventType\":\"Temp Basal\",\"created_at\":\"2024-03-01T09:20:00Z\","
      "\"absolute\":3,\"duration\":60},"
      "{\"eventType\":\"Temp Basal\",\"created_at\":\"2024-03-01T09:30:00Z\","
      "\"duration\":0,\"absolute\":0},"
      "{\"eventType\":\"Temp Basal\",\"created_at\":\"2024-03-01T09:40:00Z\","
      "\"absolute\":1}"
      "]", err), 0, "%s", err);
  finish(im, &s, &sum);
  static const double row[][2] = {{0, 1},    {10, 0},  {40, 1},  {50, 1.5},
                                  {80, 1},   {100, 2}, {110, 0.5}, {130, 1},
                                  {140, 3},  {150, 1}};
  int n = (int)(sizeof row / sizeof row[0]);
  cr_assert_eq(s.n, n);
  for (int i = 0; i < n; i++)
    expect_row(&s, i, row[i][0], MT_DATA_BASAL, row[i][1]);
  cr_expect_eq(sum.dropped[MT_IMPORT_MISSING_FIELD], 1, "no duration");
  mt_stream_clear(&s);
  mt_import_free(im);
}

Test(import_nightscout, a_temp_basal_needs_the_profile_basal)
{
  char err[MT_ERRMSG_MAX];
  mt_import *im = make(NAN, NULL);
  cr_expect_eq(treatments(im, "[{\"carbs\":10,\"created_at\":"
                              "\"2024-03-01T07:00:00Z\"},"
                              "{\"eventType\":\"Temp Basal\",\"created_at\":"
                              "\"2024-03-01T07:10:00Z\",\"percent\":-20,"
                              "\"duration\":30}]", err), MT_EINVAL);
  cr_expect_not_null(strstr(err, "treatments.json: record 1: "), "%s", err);
  cr_expect_not_null(strstr(err, "--profile-basal"), "%s", err);
  mt_import_free(im);
}

Test(import_nightscout, malformed_records_name_file_record_and_field)
{
  static const struct {
    int treat;
    const char *json, *frag;
  } bad[] = {
      {1, "[{}, {}, {}, {\"carbs\":\"many\",\"created_at\":"
          "\"2024-03-01T07:00:00Z\"}]",
       "treatments.json: record 3: carbs: expected a number >= 0 (g), got "
       "\"many\""},
      {1, "[{\"insulin\":-1,\"created_at\":\"2024-03-01T07:00:00Z\"}]",
       "record 0: insulin: expected a number >= 0"},
      {1, "[{\"carbs\":5,\"created_at\":\"yesterday\"}]",
       "record 0: created_at: expected an ISO 8601 time, got \"yesterday\""},
      {1, "[{\"carbs\":5,\"created_at\":1709276400000}]",
       "record 0: created_at: expected an ISO 8601 time"},
      {1, "[{\"eventType\":\"Temp Basal\",\"created_at\":"
          "\"2024-03-01T07:00:00Z\",\"absolute\":1,\"duration\":\"30\"}]",
       "record 0: duration: expected a number of minutes"},
      {1, "[{\"eventType\":\"Temp Basal\",\"created_at\":"
          "\"2024-03-01T07:00:00Z\",\"percent\":-150,\"duration\":30}]",
       "record 0: percent: expected a number >= -100"},
      {0, "[{\"type\":\"sgv\",\"sgv\":\"120\",\"date\":1709276400000}]",
       "entries.json: record 0: sgv: expected a number >= 0 (mg/dL), got "
       "\"120\""},
      {0, "[{\"type\":\"sgv\",\"sgv\":120,\"date\":\"1709276400000\"}]",
       "record 0: date: expected epoch milliseconds"},
      {0, "[{\"type\":\"sgv\",\"sgv\":120,\"dateString\":\"soon\"}]",
       "record 0: dateString: expected an ISO 8601 time"},
      {0, "[1]", "record 0: expected an object, got 1"},
      {0, "{\"type\":\"sgv\"}", "entries.json: expected a JSON array"},
      {0, "[{\"type\":\"sgv\",]", "entries.json: line 1, column"},
      {0, "", "entries.json: line"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char err[MT_ERRMSG_MAX] = "";
    mt_import *im = make(1.0, NULL);
    int rc = bad[i].treat ? treatments(im, bad[i].json, err)
                          : entries(im, bad[i].json, err);
    cr_expect_eq(rc, MT_EPARSE, "case %zu: %s", i, err);
    cr_expect_not_null(strstr(err, bad[i].frag), "case %zu: '%s' not in: %s",
                       i, bad[i].frag, err);
    cr_expect_null(strchr(err, '\n'), "one line: %s", err);
    mt_import_free(im);
  }
}

/* An input that fails adds nothing: the import is as it was. */
Test(import_nightscout, a_failed_input_leaves_the_import_as_it_was)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  mt_import *im = make(NAN, NULL);
  cr_assert_eq(entries(im, "[{\"type\":\"sgv\",\"sgv\":120,\"date\":"
                           "1709276400000}]", err), 0);
  cr_assert_eq(entries(im, "[{\"type\":\"sgv\",\"sgv\":130,\"date\":"
                           "1709276700000}, {\"type\":\"mbg\"},"
                           "{\"type\":\"sgv\",\"sgv\":true}]", err),
               MT_EPARSE);
  cr_assert_eq(csv(im, "time,glucose\n2024-03-01T07:10:00Z,140\n"
                       "2024-03-01T07:15:00Z,x\n", NULL, err), MT_EPARSE);
  finish(im, &s, &sum);
  cr_expect_eq(sum.records, 1);
  cr_expect_eq(sum.data, 1);
  cr_expect_eq(sum.dropped[MT_IMPORT_NON_SGV], 0);
  cr_assert_eq(s.n, 1);
  expect_row(&s, 0, 0, MT_DATA_CGM, 120);
  mt_stream_clear(&s);
  mt_import_free(im);
}

/* ------------------------------------------------------ de-duplication */

Test(import_dedup, exact_repeats_and_repeated_ids)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  mt_import *im = make(NAN, NULL);
  /* the same readings from a CSV and from Nightscout, twice exported */
  cr_assert_eq(csv(im, "time,glucose\n2024-03-01T07:00:00Z,120\n"
                       "2024-03-01T07:05:00Z,125\n"
                       "2024-03-01T07:05:00Z,126\n", NULL, err), 0);
  const char *e = "[{\"_id\":\"x1\",\"type\":\"sgv\",\"sgv\":120,\"date\":"
                  "1709276400000},{\"_id\":{\"$oid\":\"x2\"},\"type\":\"sgv\","
                  "\"sgv\":130,\"date\":1709277000000}]";
  cr_assert_eq(entries(im, e, err), 0);
  cr_assert_eq(entries(im, e, err), 0);
  /* a record uploaded again under the same _id with another value: the
  ** first kept; the same _id in treatments is another collection */
  cr_assert_eq(entries(im, "[{\"_id\":\"x2\",\"type\":\"sgv\",\"sgv\":131,"
                           "\"date\":1709277000000}]", err), 0);
  cr_assert_eq(treatments(im, "[{\"_id\":\"x2\",\"created_at\":"
                              "\"2024-03-01T07:10:00Z\",\"carbs\":30,"
                              "\"insulin\":3},{\"_id\":\"x2\",\"created_at\":"
                              "\"2024-03-01T07:11:00Z\",\"carbs\":31}]", err),
               0);
  finish(im, &s, &sum);
  cr_assert_eq(s.n, 6);
  expect_row(&s, 0, 0, MT_DATA_CGM, 120);
  expect_row(&s, 1, 5, MT_DATA_CGM, 125);
  expect_row(&s, 2, 5, MT_DATA_CGM, 126); /* same time, another value */
  expect_row(&s, 3, 10, MT_DATA_CGM, 130);
  expect_row(&s, 4, 10, MT_DATA_CARBS, 30);
  expect_row(&s, 5, 10, MT_DATA_BOLUS, 3);
  /* 120 twice more, 130 once more (exact and by _id), 131 and 31 by _id */
  cr_expect_eq(sum.dropped[MT_IMPORT_DUPLICATE], 5);
  mt_stream_clear(&s);
  mt_import_free(im);
}

/* ---------------------------------------------------------- the start */

Test(import_start, default_earliest_kept_and_the_basal_carried_to_start)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  const char *tr = "[{\"eventType\":\"Temp Basal\",\"created_at\":"
                   "\"2024-03-01T06:50:00Z\",\"absolute\":0.4,"
                   "\"duration\":30},{\"created_at\":\"2024-03-01T06:55:00Z\","
                   "\"carbs\":20}]";
  const char *en = "[{\"type\":\"sgv\",\"sgv\":10,\"date\":1709276100000},"
                   "{\"type\":\"sgv\",\"sgv\":100,\"date\":1709276400000}]";
  /* default: the earliest kept datum is the temp basal at 06:50 (the
  ** implausible reading at 06:55 does not count) */
  mt_import *im = make(1.0, NULL);
  cr_assert_eq(treatments(im, tr, err), 0);
  cr_assert_eq(entries(im, en, err), 0);
  finish(im, &s, &sum);
  cr_expect_eq(sum.start_ms, T0 - 600000);
  cr_assert_eq(s.n, 4);
  expect_row(&s, 0, 0, MT_DATA_BASAL, 0.4);
  expect_row(&s, 1, 5, MT_DATA_CARBS, 20);
  expect_row(&s, 2, 10, MT_DATA_CGM, 100);
  expect_row(&s, 3, 30, MT_DATA_BASAL, 1);
  cr_expect_eq(sum.dropped[MT_IMPORT_IMPLAUSIBLE], 1);
  mt_stream_clear(&s);
  mt_import_free(im);
  /* --start 07:00: the temp basal running then holds at t_min 0 */
  im = make(1.0, "2024-03-01T07:00:00Z");
  cr_assert_eq(treatments(im, tr, err), 0);
  cr_assert_eq(entries(im, en, err), 0);
  finish(im, &s, &sum);
  cr_assert_eq(s.n, 3);
  expect_row(&s, 0, 0, MT_DATA_CGM, 100);
  expect_row(&s, 1, 0, MT_DATA_BASAL, 0.4);
  expect_row(&s, 2, 20, MT_DATA_BASAL, 1);
  cr_expect_eq(sum.dropped[MT_IMPORT_BEFORE_START], 2, "carbs, sgv 10");
  mt_stream_clear(&s);
  mt_import_free(im);
}

Test(import_start, nothing_kept_gives_an_empty_stream)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  mt_import_summary sum;
  mt_import *im = make(0.8, NULL);
  cr_assert_eq(entries(im, "[{\"type\":\"mbg\"}]", err), 0);
  finish(im, &s, &sum);
  cr_expect_eq(s.n, 0);
  cr_expect_eq(sum.has_start, 0);
  cr_expect_eq(sum.data, 1);
  mt_stream_clear(&s);
  mt_import_free(im);
}

Test(import_start, reason_keys)
{
  cr_expect_str_eq(mt_import_reason_key(MT_IMPORT_DUPLICATE), "duplicate");
  cr_expect_str_eq(mt_import_reason_key(MT_IMPORT_NON_SGV), "non_sgv_entry");
  cr_expect_str_eq(mt_import_reason_key(MT_IMPORT_BEFORE_START),
                   "before_start");
  cr_expect_null(mt_import_reason_key(MT_IMPORT_NREASON));
}

/* ---------------------------------------------------------- round trip */

/* A replayed day of adult#003 with temp basals added at 5 h (absolute 0
** for 45 min), 10 h (+50 % for 60 min) and 15 h (absolute 2.5 for 30 min,
** superseded after 20 min by absolute 0.2 for 25 min), in the import's
** order (time, then cgm, carbs, bolus, basal). */
static mt_stream day_with_temps(double *profile)
{
  mt_replay_config cfg;
  mt_replay_config_init(&cfg);
  cfg.patient = "adult#003";
  char err[MT_ERRMSG_MAX];
  mt_replay *r = NULL;
  cr_assert_eq(mt_replay_generate(&cfg, &r, err, sizeof err), 0, "%s", err);
  const mt_stream *st = mt_replay_stream(r);
  *profile = mt_replay_basal_u_per_h(r);
  double p = *profile;
  const mt_datum add[] = {
      {300, MT_DATA_BASAL, 0, 0},     {345, MT_DATA_BASAL, p, 0},
      {600, MT_DATA_BASAL, p * 1.5, 0}, {660, MT_DATA_BASAL, p, 0},
      {900, MT_DATA_BASAL, 2.5, 0},   {920, MT_DATA_BASAL, 0.2, 0},
      {945, MT_DATA_BASAL, p, 0}};
  int na = (int)(sizeof add / sizeof add[0]);
  mt_stream s = {0, malloc((size_t)(st->n + na) * sizeof(mt_datum))};
  cr_assert_not_null(s.d);
  for (int i = 0, j = 0; i < st->n || j < na;) {
    const mt_datum *a = i < st->n ? &st->d[i] : NULL;
    const mt_datum *b = j < na ? &add[j] : NULL;
    int take_a = a && (!b || a->t_min < b->t_min ||
                       (a->t_min == b->t_min && a->kind <= b->kind));
    s.d[s.n++] = take_a ? *a : *b;
    take_a ? i++ : j++;
  }
  /* the replay writes the basal at 0 first: the import puts it after the
  ** reading at 0 */
  cr_assert_eq(s.d[0].kind, MT_DATA_BASAL);
  cr_assert_eq(s.d[1].kind, MT_DATA_CGM);
  mt_datum t = s.d[0];
  s.d[0] = s.d[1], s.d[1] = t;
  mt_replay_free(r);
  return s;
}

static char *iso_at(double t_min, char *buf)
{
  mt_import_format_iso(T0 + (int64_t)llround(t_min * 60000), buf, 32);
  return buf;
}

/* Nightscout entries and treatments for a stream (temp basals: each
** non-profile basal row until the next basal row). */
static void to_nightscout(const mt_stream *s, double profile, char **en,
                          char **tr)
{
  json_t *e = json_array(), *t = json_array();
  char iso[32], id[32];
  for (int i = 0; i < s->n; i++) {
    const mt_datum *d = &s->d[i];
    snprintf(id, sizeof id, "65e1%08d", i);
    iso_at(d->t_min, iso);
    if (d->kind == MT_DATA_CGM)
      json_array_append_new(e, json_pack("{s:s, s:s, s:f, s:I, s:s}", "_id",
          id, "type", "sgv", "sgv", d->value, "date",
          (json_int_t)(T0 + llround(d->t_min * 60000)), "dateString", iso));
    else if (d->kind == MT_DATA_CARBS || d->kind == MT_DATA_BOLUS)
      json_array_append_new(t, json_pack("{s:s, s:s, s:s, s:f}", "_id", id,
          "eventType", d->kind == MT_DATA_CARBS ? "Carb Correction"
                                                : "Correction Bolus",
          "created_at", iso, d->kind == MT_DATA_CARBS ? "carbs" : "insulin",
          d->value));
    else if (d->value != profile) {
      int k = i + 1;
      while (s->d[k].kind != MT_DATA_BASAL)
        k++;
      /* superseded by the next temp basal: its duration runs past it */
      double dur = s->d[k].t_min - d->t_min + (s->d[k].value != profile) * 10;
      json_t *o = json_pack("{s:s, s:s, s:s, s:f}", "_id", id, "eventType",
                            "Temp Basal", "created_at", iso, "duration", dur);
      if (d->value == profile * 1.5) /* as a percent, once */
        json_object_set_new(o, "percent", json_real(50));
      else
        json_object_set_new(o, "absolute", json_real(d->value));
      json_array_append_new(t, o);
    }
  }
  *en = json_dumps(e, JSON_REAL_PRECISION(17));
  *tr = json_dumps(t, JSON_REAL_PRECISION(17));
  json_decref(e);
  json_decref(t);
}

/* A CSV export in mmol/L with local times at +01:00 (no basal column). */
static char *to_csv_mmol(const mt_stream *s)
{
  char *buf = NULL;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  fputs("time,glucose,carbs,bolus\n", f);
  for (int i = 0; i < s->n; i++) {
    const mt_datum *d = &s->d[i];
    char iso[32];
    if (d->kind == MT_DATA_BASAL)
      continue;
    mt_import_format_iso(T0 + 3600000 + llround(d->t_min * 60000), iso,
                         sizeof iso);
    iso[strlen(iso) - 1] = '\0'; /* drop the Z */
    fprintf(f, "%s+01:00,", iso);
    if (d->kind == MT_DATA_CGM)
      fprintf(f, "%.17g,,\n", d->value / MT_MGDL_PER_MMOLL);
    else
      fprintf(f, d->kind == MT_DATA_CARBS ? ",%.17g,\n" : ",,%.17g\n",
              d->value);
  }
  fclose(f);
  return buf;
}

static void expect_same(const mt_stream *got, const mt_stream *want)
{
  cr_assert_eq(got->n, want->n);
  for (int i = 0; i < want->n; i++) {
    cr_assert_eq(want->d[i].t_min, floor(want->d[i].t_min), "whole minutes");
    expect_row(got, i, want->d[i].t_min, want->d[i].kind, want->d[i].value);
  }
}

Test(import_roundtrip, replayed_day_through_nightscout_json)
{
  double profile;
  mt_stream want = day_with_temps(&profile);
  char *en, *tr, err[MT_ERRMSG_MAX];
  to_nightscout(&want, profile, &en, &tr);
  mt_import *im = make(profile, NULL);
  cr_assert_eq(entries(im, en, err), 0, "%s", err);
  cr_assert_eq(treatments(im, tr, err), 0, "%s", err);
  mt_stream got;
  mt_import_summary sum;
  finish(im, &got, &sum);
  cr_expect_eq(sum.start_ms, T0);
  cr_expect_eq(sum.kept, sum.data, "nothing dropped");
  expect_same(&got, &want);
  free(en);
  free(tr);
  mt_stream_clear(&got);
  mt_stream_clear(&want);
  mt_import_free(im);
}

Test(import_roundtrip, replayed_day_through_a_mmol_csv)
{
  double profile;
  mt_stream all = day_with_temps(&profile);
  mt_stream want = {0, malloc((size_t)all.n * sizeof(mt_datum))};
  for (int i = 0; i < all.n; i++) /* the CSV has only the profile basal */
    if (all.d[i].kind != MT_DATA_BASAL || all.d[i].t_min == 0)
      want.d[want.n++] = all.d[i];
  char *text = to_csv_mmol(&all), err[MT_ERRMSG_MAX];
  mt_import_csv_options o;
  mt_import_csv_options_init(&o);
  o.units = MT_UNITS_MMOLL;
  mt_import *im = make(profile, NULL);
  cr_assert_eq(csv(im, text, &o, err), 0, "%s", err);
  mt_stream got;
  mt_import_summary sum;
  finish(im, &got, &sum);
  cr_expect_eq(sum.kept, sum.data, "nothing dropped");
  expect_same(&got, &want);
  free(text);
  mt_stream_clear(&got);
  mt_stream_clear(&want);
  mt_stream_clear(&all);
  mt_import_free(im);
}
