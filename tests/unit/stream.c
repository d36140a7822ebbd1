/*
** Streams for the live twin: the CSV format (header, fields, numbers,
** kinds), one-line errors naming file, line and field, and the plausibility
** check that sends a datum to quarantine (ranges in docs/stream.md).
*/
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/stream.h"

static int parse(const char *text, mt_stream *s, char *err)
{
  return mt_stream_parse(text, strlen(text), "in.csv", s, err, MT_ERRMSG_MAX);
}

Test(stream, parses_every_kind_in_arrival_order)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  const char *text = "t_min,kind,value\r\n"
                     "0,basal,0.9\r\n"
                     "5,cgm,142.5\n"
                     "\n"
                     "3,carbs,45\n" /* late: order is kept as it arrived */
                     "3.5,bolus,4.25\n";
  cr_assert_eq(parse(text, &s, err), 0, "%s", err);
  cr_assert_eq(s.n, 4);
  const mt_stream_kind k[4] = {MT_DATA_BASAL, MT_DATA_CGM, MT_DATA_CARBS,
                               MT_DATA_BOLUS};
  const double t[4] = {0, 5, 3, 3.5}, v[4] = {0.9, 142.5, 45, 4.25};
  const int line[4] = {2, 3, 5, 6}; /* the blank line 4 is skipped */
  for (int i = 0; i < 4; i++) {
    cr_expect_eq(s.d[i].kind, k[i]);
    cr_expect_eq(s.d[i].t_min, t[i]);
    cr_expect_eq(s.d[i].value, v[i]);
    cr_expect_eq(s.d[i].line, line[i]);
  }
  mt_stream_clear(&s);
}

Test(stream, header_only_is_an_empty_stream)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  cr_assert_eq(parse("t_min,kind,value\n", &s, err), 0);
  cr_assert_eq(s.n, 0);
  mt_stream_clear(&s);
}

/* Each malformed input: MT_EPARSE, nothing returned, and a message holding
** the file name and every fragment listed (line and field). */
Test(stream, malformed_lines_name_file_line_and_field)
{
  static const struct {
    const char *text, *frag[2];
  } bad[] = {
      {"", {"in.csv", "header"}},
      {"time,kind,value\n", {"line 1", "header"}},
      {"t_min,kind,value\n0,cgm\n", {"line 2", "3 fields"}},
      {"t_min,kind,value\n0,cgm,1,2\n", {"line 2", "got 4"}},
      {"t_min,kind,value\n0,cgm,100\nx,cgm,100\n", {"line 3", "t_min"}},
      {"t_min,kind,value\n0,glucose,100\n", {"kind", "'glucose'"}},
      {"t_min,kind,value\n0,cgm,high\n", {"value", "mg/dL"}},
      {"t_min,kind,value\n0,cgm,nan\n", {"line 2", "value"}},
      {"t_min,kind,value\n0,cgm,1e400\n", {"line 2", "value"}},
      {"t_min,kind,value\n0,cgm,\n", {"line 2", "value"}},
      {"t_min,kind,value\n0,cgm,100 mg\n", {"line 2", "value"}},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char err[MT_ERRMSG_MAX] = "";
    mt_stream s;
    cr_expect_eq(parse(bad[i].text, &s, err), MT_EPARSE, "case %zu", i);
    cr_expect_eq(s.n, 0);
    cr_expect_null(s.d);
    cr_expect_not_null(strstr(err, "in.csv"), "case %zu: %s", i, err);
    for (int f = 0; f < 2; f++)
      cr_expect_not_null(strstr(err, bad[i].frag[f]), "case %zu: '%s' not "
                         "in: %s", i, bad[i].frag[f], err);
    cr_expect_null(strchr(err, '\n'), "one line: %s", err);
  }
}

Test(stream, missing_file_is_an_io_error)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  cr_assert_eq(mt_stream_load("/nonexistent/stream.csv", &s, err,
                              sizeof err), MT_EIO);
  cr_expect_not_null(strstr(err, "/nonexistent/stream.csv"));
}

/* Boundaries from docs/stream.md: cgm [32, 600] mg/dL (the shipped sensors'
** reporting range), carbs (0, 500] g and bolus (0, 100] U (the scenario
** format's bounds), basal [0, 50] U/h; times from 0 on. */
Test(stream, plausibility_boundaries)
{
  static const struct {
    mt_stream_kind k;
    double t, v;
    int ok;
  } c[] = {
      {MT_DATA_CGM, 0, 32, 1},     {MT_DATA_CGM, 0, 31.99, 0},
      {MT_DATA_CGM, 0, 600, 1},    {MT_DATA_CGM, 0, 600.01, 0},
      {MT_DATA_CARBS, 0, 0, 0},    {MT_DATA_CARBS, 0, 500, 1},
      {MT_DATA_CARBS, 0, 501, 0},  {MT_DATA_BOLUS, 0, 0, 0},
      {MT_DATA_BOLUS, 0, 0.05, 1}, {MT_DATA_BOLUS, 0, 100.5, 0},
      {MT_DATA_BASAL, 0, 0, 1},    {MT_DATA_BASAL, 0, 50, 1},
      {MT_DATA_BASAL, 0, -0.1, 0}, {MT_DATA_CGM, -1, 100, 0},
      {MT_DATA_CGM, NAN, 100, 0},  {MT_DATA_CGM, 10, NAN, 0},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    mt_datum d = {c[i].t, c[i].k, c[i].v, 2};
    const char *why = mt_datum_check(&d);
    cr_expect_eq(why == NULL, c[i].ok, "case %zu: %s", i, why ? why : "ok");
  }
  mt_datum d = {0, MT_DATA_CGM, 20, 2};
  cr_expect_not_null(strstr(mt_datum_check(&d), "mg/dL"));
}

Test(stream, kind_names_and_units)
{
  cr_expect_str_eq(mt_stream_kind_name(MT_DATA_CGM), "cgm");
  cr_expect_str_eq(mt_stream_kind_unit(MT_DATA_CGM), "mg/dL");
  cr_expect_str_eq(mt_stream_kind_unit(MT_DATA_BASAL), "[iU]/h");
  cr_expect_null(mt_stream_kind_name(MT_DATA_NKIND));
}
