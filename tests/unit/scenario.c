/*
** Scenario files (src/twin/scenario.c): parsing, defaults, ordering, one-line
** error messages naming file, field and value, and the compiled schedule.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/scenario.h"

#define DAY_JSON                                                              \
  "{\"duration_min\": 1440, \"start_clock\": \"00:00\", \"events\": ["        \
  "{\"t_min\": 420, \"type\": \"meal\", \"grams\": 50, \"duration_min\": 1},"  \
  "{\"t_min\": 420, \"type\": \"bolus\", \"units\": 5.0, \"duration_min\": 1}," \
  "{\"t_min\": 600, \"type\": \"basal\", \"u_per_h\": 0.9},"                   \
  "{\"t_min\": 900, \"type\": \"temp_basal\", \"percent\": 50, "              \
  "\"duration_min\": 60}]}"

static char err[MT_ERRMSG_MAX];

static int parse(const char *json, const char *name, mt_scenario **sc)
{
  *sc = (mt_scenario *)&err; /* must be reset to NULL on error */
  return mt_scenario_parse(json, strlen(json), name, sc, err, sizeof err);
}

static mt_scenario *parse_ok(const char *json)
{
  mt_scenario *sc;
  int rc = parse(json, "ok.json", &sc);
  cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
  cr_assert_not_null(sc);
  return sc;
}

/* The repository root, from this file's path. */
static void repo_path(char *buf, size_t n, const char *rel)
{
  const char *f = __FILE__, *p = strstr(f, "tests/unit/scenario.c");
  cr_assert_not_null(p, "cannot locate the repository from %s", f);
  snprintf(buf, n, "%.*s%s", (int)(p - f), f, rel);
}

static void check_day(const mt_scenario *sc)
{
  cr_assert_eq(sc->duration_min, 1440.0);
  cr_assert_eq(sc->start_clock_min, 0);
  cr_assert_eq(sc->n_event, 4);
  const mt_scenario_event *e = sc->event;
  cr_assert_eq(e[0].type, MT_EV_MEAL);
  cr_assert_eq(e[0].t_min, 420.0);
  cr_assert_eq(e[0].grams, 50.0);
  cr_assert_eq(e[0].duration_min, 1.0);
  cr_assert_eq(e[0].carb_ratio_bolus, 0);
  cr_assert_eq(e[1].type, MT_EV_BOLUS);
  cr_assert_eq(e[1].t_min, 420.0);
  cr_assert_eq(e[1].units, 5.0);
  cr_assert_eq(e[1].duration_min, 1.0);
  cr_assert_eq(e[2].type, MT_EV_BASAL);
  cr_assert_eq(e[2].t_min, 600.0);
  cr_assert_eq(e[2].u_per_h, 0.9);
  cr_assert_eq(e[2].duration_min, 0.0);
  cr_assert_eq(e[3].type, MT_EV_TEMP_BASAL);
  cr_assert_eq(e[3].t_min, 900.0);
  cr_assert_eq(e[3].percent, 50.0);
  cr_assert_eq(e[3].duration_min, 60.0);
}

Test(scenario, parses_day)
{
  mt_scenario *sc = parse_ok(DAY_JSON);
  check_day(sc);
  mt_scenario_free(sc);
}

Test(scenario, loads_example_files)
{
  char path[1024];
  mt_scenario *sc;
  repo_path(path, sizeof path, "examples/scenarios/day.json");
  int rc = mt_scenario_load(path, &sc, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  check_day(sc);
  mt_scenario_free(sc);

  repo_path(path, sizeof path, "examples/scenarios/three-meals.json");
  rc = mt_scenario_load(path, &sc, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_eq(sc->n_event, 5);
  cr_assert_eq(sc->event[0].t_min, 420.0);
  cr_assert_eq(sc->event[0].carb_ratio_bolus, 1);
  cr_assert_eq(sc->event[1].duration_min, 15.0);
  cr_assert_eq(sc->event[2].type, MT_EV_TEMP_BASAL);
  cr_assert_eq(sc->event[2].percent, 0.0);
  cr_assert_eq(sc->event[3].carb_ratio_bolus, 0);
  cr_assert_eq(sc->event[4].units, 6.0);
  mt_scenario_free(sc);
}

Test(scenario, defaults)
{
  mt_scenario *sc = parse_ok(
      "{\"duration_min\": 90.5, \"events\": ["
      "{\"t_min\": 0, \"type\": \"meal\", \"grams\": 20},"
      "{\"t_min\": 10.25, \"type\": \"bolus\", \"units\": 2}]}");
  cr_assert_eq(sc->duration_min, 90.5);
  cr_assert_eq(sc->start_clock_min, 0);
  cr_assert_eq(sc->n_event, 2);
  cr_assert_eq(sc->event[0].duration_min, 1.0);
  cr_assert_eq(sc->event[0].carb_ratio_bolus, 0);
  cr_assert_eq(sc->event[1].t_min, 10.25);
  cr_assert_eq(sc->event[1].duration_min, 1.0);
  mt_scenario_free(sc);

  sc = parse_ok("{\"duration_min\": 60}");
  cr_assert_eq(sc->n_event, 0);
  cr_assert_null(sc->event);
  mt_scenario_free(sc);

  sc = parse_ok("{\"duration_min\": 60, \"events\": []}");
  cr_assert_eq(sc->n_event, 0);
  mt_scenario_free(sc);
}

/* baroreflex: absent -1 (the model's default), true 1, false 0, anything
** else refused naming the field. */
Test(scenario, baroreflex_field)
{
  mt_scenario *sc = parse_ok("{\"duration_min\": 3}");
  cr_expect_eq(sc->baroreflex, -1);
  mt_scenario_free(sc);
  sc = parse_ok("{\"duration_min\": 3, \"baroreflex\": true}");
  cr_expect_eq(sc->baroreflex, 1);
  mt_scenario_free(sc);
  sc = parse_ok("{\"duration_min\": 3, \"baroreflex\": false}");
  cr_expect_eq(sc->baroreflex, 0);
  mt_scenario_free(sc);
  cr_expect_eq(parse("{\"duration_min\": 3, \"baroreflex\": 1}", "b.json",
                     &sc), MT_EINVAL);
  cr_expect_null(sc);
  cr_expect_not_null(strstr(err, "b.json: baroreflex"), "%s", err);
}

Test(scenario, start_clock)
{
  mt_scenario *sc = parse_ok("{\"duration_min\": 60, \"start_clock\": \"23:59\"}");
  cr_assert_eq(sc->start_clock_min, 23 * 60 + 59);
  mt_scenario_free(sc);
  sc = parse_ok("{\"duration_min\": 60, \"start_clock\": \"07:30\"}");
  cr_assert_eq(sc->start_clock_min, 450);
  mt_scenario_free(sc);

  const char *bad[] = {"\"24:00\"", "\"12:60\"", "\"7:00\"", "\"07:00:00\"",
                       "\"0a:00\"", "\"07-00\"", "420", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char json[128];
    snprintf(json, sizeof json, "{\"duration_min\": 60, \"start_clock\": %s}",
             bad[i]);
    int rc = parse(json, "clock.json", &sc);
    cr_assert_eq(rc, MT_EINVAL, "%s: rc %d", bad[i], rc);
    cr_assert_null(sc);
    cr_assert(strstr(err, "clock.json: start_clock: expected \"HH:MM\""),
              "%s", err);
    cr_assert(strstr(err, bad[i]), "%s lacks %s", err, bad[i]);
  }
}

Test(scenario, sorted_stably)
{
  mt_scenario *sc = parse_ok(
      "{\"duration_min\": 1000, \"events\": ["
      "{\"t_min\": 300, \"type\": \"basal\", \"u_per_h\": 1},"
      "{\"t_min\": 100, \"type\": \"meal\", \"grams\": 10},"
      "{\"t_min\": 300, \"type\": \"bolus\", \"units\": 1},"
      "{\"t_min\": 100, \"type\": \"bolus\", \"units\": 2},"
      "{\"t_min\": 0, \"type\": \"temp_basal\", \"percent\": 10, "
      "\"duration_min\": 5},"
      "{\"t_min\": 300, \"type\": \"meal\", \"grams\": 30}]}");
  cr_assert_eq(sc->n_event, 6);
  const mt_event_type want[] = {MT_EV_TEMP_BASAL, MT_EV_MEAL, MT_EV_BOLUS,
                                MT_EV_BASAL, MT_EV_BOLUS, MT_EV_MEAL};
  const double t[] = {0, 100, 100, 300, 300, 300};
  for (int i = 0; i < 6; i++) {
    cr_assert_eq(sc->event[i].type, want[i], "event %d", i);
    cr_assert_eq(sc->event[i].t_min, t[i], "event %d", i);
  }
  cr_assert_eq(sc->event[2].units, 2.0);
  cr_assert_eq(sc->event[4].units, 1.0);
  cr_assert_eq(sc->event[5].grams, 30.0);
  mt_scenario_free(sc);
}

Test(scenario, dollar_keys_ignored)
{
  mt_scenario *sc = parse_ok(
      "{\"$schema\": \"../../docs/scenario.schema.json\", \"$comment\": [1, 2],"
      " \"duration_min\": 60, \"events\": [{\"$comment\": \"snack\", "
      "\"t_min\": 5, \"type\": \"meal\", \"grams\": 15, \"$x\": {}}]}");
  cr_assert_eq(sc->n_event, 1);
  cr_assert_eq(sc->event[0].grams, 15.0);
  mt_scenario_free(sc);
}

Test(scenario, carb_ratio_flag)
{
  mt_scenario *sc = parse_ok(
      "{\"duration_min\": 60, \"events\": [{\"t_min\": 5, \"type\": \"meal\","
      " \"grams\": 15, \"bolus\": \"carb_ratio\"}]}");
  cr_assert_eq(sc->event[0].carb_ratio_bolus, 1);
  mt_scenario_free(sc);
}

/* One bad input: the code and the pieces its message must contain. */
typedef struct bad_case {
  const char *events; /* the events array, or a whole document if top */
  int top;
  int code;
  const char *path, *value;
} bad_case;

static const bad_case bad_cases[] = {
  {"[{\"t_min\": 1, \"type\": \"meal\", \"grams\": \"fifty\"}]", 0, MT_EINVAL,
   "events[0].grams: expected a number >= 0", "\"fifty\""},
  {"[{\"t_min\": 1, \"type\": \"meal\", \"grams\": -5}]", 0, MT_EINVAL,
   "events[0].grams", "got -5"},
  {"[{\"t_min\": 1, \"type\": \"meal\", \"grams\": 501}]", 0, MT_EINVAL,
   "events[0].grams", "<= 500"},
  {"[{\"t_min\": 1, \"type\": \"meal\", \"grams\": true}]", 0, MT_EINVAL,
   "events[0].grams", "got true"},
  {"[{\"t_min\": 1, \"type\": \"meal\"}]", 0, MT_EINVAL,
   "events[0].grams: missing required key", ""},
  {"[{\"t_min\": 1, \"type\": \"meal\", \"grams\": 5, \"duration_min\": 0}]",
   0, MT_EINVAL, "events[0].duration_min: expected a number > 0", "got 0"},
  {"[{\"t_min\": 1, \"type\": \"meal\", \"grams\": 5, \"bolus\": \"yes\"}]",
   0, MT_EINVAL, "events[0].bolus: expected \"carb_ratio\"", "\"yes\""},
  {"[{\"t_min\": 1, \"type\": \"bolus\", \"units\": -1}]", 0, MT_EINVAL,
   "events[0].units", "-1"},
  {"[{\"t_min\": 1, \"type\": \"bolus\", \"units\": 100.5}]", 0, MT_EINVAL,
   "events[0].units", "100.5"},
  {"[{\"t_min\": 1, \"type\": \"bolus\", \"units\": 1, \"duration_min\": -2}]",
   0, MT_EINVAL, "events[0].duration_min", "-2"},
  {"[{\"t_min\": 1, \"type\": \"bolus\", \"units\": 1, \"bolus\": "
   "\"carb_ratio\"}]", 0, MT_EINVAL, "events[0].bolus: unknown key", ""},
  {"[{\"t_min\": 1, \"type\": \"basal\", \"u_per_h\": 51}]", 0, MT_EINVAL,
   "events[0].u_per_h: expected a number >= 0 and <= 50 (U/h)", "51"},
  {"[{\"t_min\": 1, \"type\": \"basal\", \"u_per_h\": -0.1}]", 0, MT_EINVAL,
   "events[0].u_per_h", "-0.1"},
  {"[{\"t_min\": 1, \"type\": \"basal\"}]", 0, MT_EINVAL,
   "events[0].u_per_h: missing", ""},
  {"[{\"t_min\": 1, \"type\": \"basal\", \"u_per_h\": 1, \"duration_min\": 5}]",
   0, MT_EINVAL, "events[0].duration_min: unknown key for a basal event", ""},
  {"[{\"t_min\": 1, \"type\": \"temp_basal\", \"percent\": 50}]", 0,
   MT_EINVAL, "events[0].duration_min: missing required key", ""},
  {"[{\"t_min\": 1, \"type\": \"temp_basal\", \"duration_min\": 5}]", 0,
   MT_EINVAL, "events[0].percent: missing required key", ""},
  {"[{\"t_min\": 1, \"type\": \"temp_basal\", \"percent\": 501, "
   "\"duration_min\": 5}]", 0, MT_EINVAL, "events[0].percent", "501"},
  {"[{\"t_min\": 1, \"type\": \"snack\", \"grams\": 5}]", 0, MT_EINVAL,
   "events[0].type: expected \"meal\"", "\"snack\""},
  {"[{\"t_min\": 1, \"type\": 3}]", 0, MT_EINVAL, "events[0].type", "got 3"},
  {"[{\"t_min\": 1, \"grams\": 3}]", 0, MT_EINVAL,
   "events[0].type: missing required key", ""},
  {"[{\"type\": \"meal\", \"grams\": 3}]", 0, MT_EINVAL,
   "events[0].t_min: missing required key", ""},
  {"[{\"t_min\": -1, \"type\": \"meal\", \"grams\": 3}]", 0, MT_EINVAL,
   "events[0].t_min: expected 0 <= t_min < duration_min (1440)", "got -1"},
  {"[{\"t_min\": 1440, \"type\": \"meal\", \"grams\": 3}]", 0, MT_EINVAL,
   "events[0].t_min", "got 1440"},
  {"[{\"t_min\": \"7:00\", \"type\": \"meal\", \"grams\": 3}]", 0, MT_EINVAL,
   "events[0].t_min", "\"7:00\""},
  {"[{\"t_min\": 1, \"type\": \"meal\", \"grams\": 3, \"gram\": 3}]", 0,
   MT_EINVAL, "events[0].gram: unknown key", ""},
  {"[{\"t_min\": 1, \"type\": \"meal\", \"grams\": 3}, 7]", 0, MT_EINVAL,
   "events[1]: expected an object", "got 7"},
  {"{\"meal\": 1}", 0, MT_EINVAL, "events: expected an array",
   "{\"meal\":1}"},
  {"{\"events\": [], \"meals\": []}", 1, MT_EINVAL, "meals: unknown key", ""},
  {"{\"events\": []}", 1, MT_EINVAL, "duration_min: missing required key",
   ""},
  {"{\"duration_min\": 0}", 1, MT_EINVAL,
   "duration_min: expected a number > 0 and <= 525600 (min)", "got 0"},
  {"{\"duration_min\": 525601}", 1, MT_EINVAL, "duration_min", "525601"},
  {"{\"duration_min\": \"1440\"}", 1, MT_EINVAL, "duration_min",
   "\"1440\""},
  {"[1440]", 1, MT_EINVAL, "expected an object at the top level", "[1440]"},
};

Test(scenario, bad_inputs_name_file_field_and_value)
{
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const bad_case *b = &bad_cases[i];
    char json[512];
    if (b->top)
      snprintf(json, sizeof json, "%s", b->events);
    else
      snprintf(json, sizeof json, "{\"duration_min\": 1440, \"events\": %s}",
               b->events);
    mt_scenario *sc;
    int rc = parse(json, "examples/bad.json", &sc);
    cr_expect_eq(rc, b->code, "case %zu (%s): rc %d", i, json, rc);
    cr_expect_null(sc, "case %zu", i);
    cr_expect(strncmp(err, "examples/bad.json: ", 19) == 0, "case %zu: %s", i,
              err);
    cr_expect(strstr(err, b->path) != NULL, "case %zu: '%s' lacks '%s'", i,
              err, b->path);
    cr_expect(strstr(err, b->value) != NULL, "case %zu: '%s' lacks '%s'", i,
              err, b->value);
    cr_expect(strchr(err, '\n') == NULL, "case %zu: not one line", i);
  }
}

Test(scenario, t_min_message_exact)
{
  mt_scenario *sc;
  int rc = parse("{\"duration_min\": 1440, \"events\": [{\"t_min\": 1500, "
                 "\"type\": \"meal\", \"grams\": 5}]}", "day.json", &sc);
  cr_assert_eq(rc, MT_EINVAL);
  cr_assert_null(sc);
  cr_assert_str_eq(err, "day.json: events[0].t_min: expected 0 <= t_min < "
                        "duration_min (1440), got 1500");
}

Test(scenario, event_may_extend_past_end)
{
  mt_scenario *sc = parse_ok(
      "{\"duration_min\": 60, \"events\": [{\"t_min\": 59.5, \"type\": "
      "\"temp_basal\", \"percent\": 0, \"duration_min\": 120}]}");
  cr_assert_eq(sc->event[0].duration_min, 120.0);
  mt_scenario_free(sc);
}

Test(scenario, huge_numbers_rejected)
{
  mt_scenario *sc;
  int rc = parse("{\"duration_min\": 1e400}", "big.json", &sc);
  cr_assert(rc == MT_EPARSE || rc == MT_EINVAL, "rc %d", rc);
  cr_assert_null(sc);
  cr_assert(strstr(err, "big.json"), "%s", err);
  rc = parse("{\"duration_min\": 60, \"events\": [{\"t_min\": 1, \"type\": "
             "\"meal\", \"grams\": -1e400}]}", "big.json", &sc);
  cr_assert(rc == MT_EPARSE || rc == MT_EINVAL, "rc %d", rc);
  cr_assert_null(sc);
}

Test(scenario, duplicate_key)
{
  mt_scenario *sc;
  int rc = parse("{\"duration_min\": 60, \"events\": [{\"t_min\": 1, "
                 "\"type\": \"meal\", \"grams\": 5, \"grams\": 6}]}",
                 "dup.json", &sc);
  cr_assert_eq(rc, MT_EPARSE);
  cr_assert_null(sc);
  cr_assert(strstr(err, "dup.json: line 1"), "%s", err);
  cr_assert(strstr(err, "duplicate"), "%s", err);
  cr_assert(strstr(err, "grams"), "%s", err);
}

Test(scenario, syntax_error_names_line_and_column)
{
  mt_scenario *sc;
  int rc = parse("{\n  \"duration_min\": 60,\n  \"events\": [,]\n}",
                 "syntax.json", &sc);
  cr_assert_eq(rc, MT_EPARSE);
  cr_assert_null(sc);
  cr_assert(strstr(err, "syntax.json: line 3, column "), "%s", err);
  cr_assert(strchr(err, '\n') == NULL);

  rc = parse("", "empty.json", &sc);
  cr_assert_eq(rc, MT_EPARSE);
  cr_assert_null(sc);
  cr_assert(strstr(err, "empty.json: "), "%s", err);
}

Test(scenario, embedded_nul_is_a_syntax_error)
{
  mt_scenario *sc = (mt_scenario *)&err;
  static const char json[] = "{\"duration_min\": 60}\0garbage";
  int rc = mt_scenario_parse(json, sizeof json - 1, "nul.json", &sc, err,
                             sizeof err);
  cr_assert_eq(rc, MT_EPARSE, "%s", err);
  cr_assert_null(sc);
}

Test(scenario, small_or_missing_error_buffer)
{
  mt_scenario *sc;
  char small[8];
  static const char json[] = "{\"duration_min\": -1}";
  int rc = mt_scenario_parse(json, sizeof json - 1, "a-long-name.json", &sc,
                             small, sizeof small);
  cr_assert_eq(rc, MT_EINVAL);
  cr_assert_str_eq(small, "a-long-");
  rc = mt_scenario_parse(json, sizeof json - 1, "x.json", &sc, NULL, 0);
  cr_assert_eq(rc, MT_EINVAL);
  cr_assert_null(sc);
}

Test(scenario, missing_file_is_eio)
{
  mt_scenario *sc = (mt_scenario *)&err;
  int rc = mt_scenario_load("/nonexistent/medtwin/none.json", &sc, err,
                            sizeof err);
  cr_assert_eq(rc, MT_EIO);
  cr_assert_null(sc);
  cr_assert(strstr(err, "/nonexistent/medtwin/none.json: "), "%s", err);
  cr_assert(strstr(err, strerror(ENOENT)), "%s", err);
}

Test(scenario, directory_is_eio)
{
  mt_scenario *sc;
  int rc = mt_scenario_load("/", &sc, err, sizeof err);
  cr_assert_eq(rc, MT_EIO, "%s", err);
  cr_assert_null(sc);
}

/* ---- schedules ---- */

static const mt_var fake_inputs[] = {
  {"insulin", "U/min", "insulin delivery", 0, 100, 0},
  {"CHO", "g/min", "carbohydrate intake", 0, 500, 0},
  {"exercise", "1", "unused", 0, 1, 0},
};
static const mt_model fake_model = {
  .version = MT_MODEL_VERSION,
  .name = "fake_t1d",
  .time_unit = "min",
  .n_input = 3,
  .input = fake_inputs,
};
static const mt_model no_cho_model = {
  .version = MT_MODEL_VERSION,
  .name = "no_cho",
  .time_unit = "min",
  .n_input = 1,
  .input = fake_inputs,
};

static mt_patient fake_patient(const mt_model *m, double cr)
{
  mt_patient pt;
  memset(&pt, 0, sizeof pt);
  pt.model = m;
  snprintf(pt.id, sizeof pt.id, "test#001");
  pt.cr_g_per_u = cr;
  pt.cf_mgdl_per_u = NAN;
  pt.tdi_u_per_day = NAN;
  return pt;
}

/* Input k in force at time t. */
static double input_at(const mt_segments *sg, int k, double t)
{
  for (int i = 0; i < sg->n; i++)
    if (sg->t[i] <= t && t < sg->t[i + 1])
      return sg->u[(size_t)i * (size_t)sg->n_input + (size_t)k];
  cr_assert_fail("t = %g outside the segments", t);
  return NAN;
}

static void compile(const char *json, double cr, mt_segments *sg)
{
  mt_scenario *sc = parse_ok(json);
  mt_patient pt = fake_patient(&fake_model, cr);
  mt_schedule *s;
  int rc = mt_scenario_schedule(sc, &pt, &s, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_eq(mt_schedule_n_input(s), 3);
  const double basal[3] = {1.0 / 60.0, 0, 0}; /* 1 U/h */
  rc = mt_schedule_compile(s, basal, 0, sc->duration_min, sg);
  cr_assert_eq(rc, 0);
  mt_schedule_free(s);
  mt_scenario_free(sc);
}

Test(scenario, schedule_of_day)
{
  mt_segments sg;
  compile(DAY_JSON, NAN, &sg);
  const double eps = 1e-12;
  cr_assert_eq(sg.t[0], 0.0);
  cr_assert_eq(sg.t[sg.n], 1440.0);
  cr_assert_float_eq(input_at(&sg, 0, 0), 1.0 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 0, 419.9), 1.0 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 0, 420), 1.0 / 60 + 5.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 420.99), 1.0 / 60 + 5.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 421), 1.0 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 1, 419), 0.0, eps);
  cr_assert_float_eq(input_at(&sg, 1, 420), 50.0, eps);
  cr_assert_float_eq(input_at(&sg, 1, 421), 0.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 600), 0.9 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 0, 899.5), 0.9 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 0, 900), 0.45 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 0, 959.9), 0.45 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 0, 960), 0.9 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 0, 1439), 0.9 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 2, 500), 0.0, eps);
  /* boundaries exactly where something changes */
  const double want[] = {0, 420, 421, 600, 900, 960, 1440};
  cr_assert_eq(sg.n, 6);
  for (int i = 0; i <= sg.n; i++)
    cr_assert_eq(sg.t[i], want[i], "t[%d] = %g", i, sg.t[i]);
  mt_segments_clear(&sg);
}

Test(scenario, schedule_of_three_meals)
{
  char path[1024];
  char json[4096];
  repo_path(path, sizeof path, "examples/scenarios/three-meals.json");
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  size_t n = fread(json, 1, sizeof json - 1, f);
  fclose(f);
  json[n] = '\0';

  mt_segments sg;
  compile(json, 10.0, &sg); /* CR 10 g/U */
  const double eps = 1e-12, b = 1.0 / 60;
  cr_assert_float_eq(input_at(&sg, 1, 420), 45.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 420), b + 4.5, eps);
  cr_assert_float_eq(input_at(&sg, 0, 421), b, eps);
  cr_assert_float_eq(input_at(&sg, 1, 750), 70.0 / 15, eps);
  cr_assert_float_eq(input_at(&sg, 1, 764.5), 70.0 / 15, eps);
  cr_assert_float_eq(input_at(&sg, 1, 765), 0.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 750), b + 7.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 751), b, eps);
  /* lunch is delivered in one-minute bites: a boundary every minute */
  for (int t = 750; t <= 765; t++) {
    int found = 0;
    for (int i = 0; i <= sg.n; i++)
      found |= sg.t[i] == t;
    cr_assert(found, "no boundary at %d", t);
  }
  cr_assert_float_eq(input_at(&sg, 0, 960), 0.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 989.9), 0.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 990), b, eps);
  cr_assert_float_eq(input_at(&sg, 1, 1140), 4.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 1140), b + 6.0, eps);
  cr_assert_float_eq(input_at(&sg, 0, 1141), b, eps);
  cr_assert_float_eq(input_at(&sg, 1, 1159), 4.0, eps);
  cr_assert_float_eq(input_at(&sg, 1, 1160), 0.0, eps);
  mt_segments_clear(&sg);
}

Test(scenario, schedule_cut_at_end)
{
  mt_segments sg;
  compile("{\"duration_min\": 60, \"events\": [{\"t_min\": 50, \"type\": "
          "\"meal\", \"grams\": 30, \"duration_min\": 30}]}", NAN, &sg);
  cr_assert_eq(sg.t[sg.n], 60.0);
  cr_assert_float_eq(input_at(&sg, 1, 59.5), 1.0, 1e-12);
  mt_segments_clear(&sg);
}

Test(scenario, carb_ratio_needs_cr)
{
  mt_scenario *sc = parse_ok(
      "{\"duration_min\": 60, \"events\": [{\"t_min\": 5, \"type\": \"meal\","
      " \"grams\": 15, \"bolus\": \"carb_ratio\"}]}");
  const double crs[] = {NAN, INFINITY, 0.0, -3.0};
  for (int i = 0; i < 4; i++) {
    mt_patient pt = fake_patient(&fake_model, crs[i]);
    mt_schedule *s = (mt_schedule *)&err;
    int rc = mt_scenario_schedule(sc, &pt, &s, err, sizeof err);
    cr_assert_eq(rc, MT_EINVAL, "cr %g", crs[i]);
    cr_assert_null(s);
    cr_assert(strstr(err, "cr_g_per_u"), "%s", err);
    cr_assert(strstr(err, "test#001"), "%s", err);
    cr_assert(strstr(err, "t_min 5"), "%s", err);
  }
  mt_scenario_free(sc);
}

Test(scenario, model_without_cho_input)
{
  mt_scenario *sc = parse_ok(DAY_JSON);
  mt_patient pt = fake_patient(&no_cho_model, 10);
  mt_schedule *s = (mt_schedule *)&err;
  int rc = mt_scenario_schedule(sc, &pt, &s, err, sizeof err);
  cr_assert_eq(rc, MT_EINVAL);
  cr_assert_null(s);
  cr_assert(strstr(err, "model no_cho has no CHO input"), "%s", err);
  mt_scenario_free(sc);
}

Test(scenario, oversized_file_refused)
{
  mt_scenario *sc = (mt_scenario *)&err;
  int rc = mt_scenario_load("/dev/zero", &sc, err, sizeof err);
  cr_assert_eq(rc, MT_EINVAL, "%s", err);
  cr_assert_null(sc);
  cr_assert(strstr(err, "/dev/zero: larger than"), "%s", err);
}

/* The schema's bounds are the parser's: at the bound accepted, past it not. */
static void check_bound(const json_t *schema, const char *def, const char *key,
                        const char *event_fmt)
{
  json_t *prop = json_object_get(
      json_object_get(json_object_get(json_object_get(schema, "$defs"), def),
                      "properties"), key);
  double hi = json_number_value(json_object_get(prop, "maximum"));
  cr_assert(hi > 0, "schema has no maximum for %s.%s", def, key);
  cr_assert_eq(json_number_value(json_object_get(prop, "minimum")), 0.0,
               "%s.%s", def, key);
  const double vals[] = {0, hi, hi * (1 + 1e-9), -1e-9};
  for (int i = 0; i < 4; i++) {
    char ev[256], json[512];
    snprintf(ev, sizeof ev, event_fmt, vals[i]);
    snprintf(json, sizeof json, "{\"duration_min\": 60, \"events\": [%s]}",
             ev);
    mt_scenario *sc;
    int rc = parse(json, "bound.json", &sc);
    cr_assert_eq(rc, i < 2 ? 0 : MT_EINVAL, "%s: %s", json, err);
    mt_scenario_free(sc);
  }
}

Test(scenario, schema_bounds_match_parser)
{
  char path[1024];
  repo_path(path, sizeof path, "docs/scenario.schema.json");
  json_error_t je;
  json_t *schema = json_load_file(path, 0, &je);
  cr_assert_not_null(schema, "%s:%d: %s", path, je.line, je.text);
  check_bound(schema, "meal", "grams",
              "{\"t_min\": 1, \"type\": \"meal\", \"grams\": %.17g}");
  check_bound(schema, "bolus", "units",
              "{\"t_min\": 1, \"type\": \"bolus\", \"units\": %.17g}");
  check_bound(schema, "basal", "u_per_h",
              "{\"t_min\": 1, \"type\": \"basal\", \"u_per_h\": %.17g}");
  check_bound(schema, "temp_basal", "percent",
              "{\"t_min\": 1, \"type\": \"temp_basal\", \"percent\": "
              "%.17g, \"duration_min\": 5}");
  check_bound(schema, "dose", "amount",
              "{\"t_min\": 1, \"type\": \"dose\", \"drug\": \"x\", "
              "\"amount\": %.17g}");
  double dmax = json_number_value(json_object_get(
      json_object_get(json_object_get(schema, "properties"), "duration_min"),
      "maximum"));
  json_decref(schema);
  char json[128];
  mt_scenario *sc;
  snprintf(json, sizeof json, "{\"duration_min\": %.17g}", dmax);
  cr_assert_eq(parse(json, "bound.json", &sc), 0, "%s", err);
  mt_scenario_free(sc);
  snprintf(json, sizeof json, "{\"duration_min\": %.17g}", dmax + 1e-6);
  cr_assert_eq(parse(json, "bound.json", &sc), MT_EINVAL);
}

Test(scenario, basal_ties_and_changes_under_temp_basal)
{
  mt_segments sg;
  compile("{\"duration_min\": 100, \"events\": ["
          "{\"t_min\": 10, \"type\": \"basal\", \"u_per_h\": 3},"
          "{\"t_min\": 10, \"type\": \"basal\", \"u_per_h\": 6},"
          "{\"t_min\": 20, \"type\": \"temp_basal\", \"percent\": 200, "
          "\"duration_min\": 30},"
          "{\"t_min\": 30, \"type\": \"basal\", \"u_per_h\": 1.2}]}",
          NAN, &sg);
  const double eps = 1e-12;
  cr_assert_float_eq(input_at(&sg, 0, 5), 1.0 / 60, eps);
  cr_assert_float_eq(input_at(&sg, 0, 10), 0.1, eps); /* the later one wins */
  cr_assert_float_eq(input_at(&sg, 0, 20), 0.2, eps);
  cr_assert_float_eq(input_at(&sg, 0, 30), 0.04, eps);
  cr_assert_float_eq(input_at(&sg, 0, 50), 0.02, eps);
  mt_segments_clear(&sg);
}

/* A dose: drug and amount required, duration_min 1 by default; scheduled
** for a heart model (time in s) as a pulse of amount / (60 d) per s on the
** input named drug from 60 t_min; refused by a metabolic model's schedule
** and for a drug the model lacks. */
Test(scenario, dose_events)
{
  mt_scenario *sc;
  cr_assert_eq(parse("{\"duration_min\": 30, \"events\": ["
                     "{\"t_min\": 2, \"type\": \"dose\", \"drug\": "
                     "\"inotrope\", \"amount\": 600, \"duration_min\": 10},"
                     "{\"t_min\": 1, \"type\": \"dose\", \"drug\": "
                     "\"beta_blocker\", \"amount\": 50}]}", "dose.json", &sc),
               0, "%s", err);
  cr_assert_eq(sc->n_event, 2);
  cr_expect_str_eq(sc->event[0].drug, "beta_blocker");
  cr_expect_eq(sc->event[0].duration_min, 1);
  const mt_model *m = mt_model_find("circulation_smith2004");
  cr_assert_not_null(m);
  mt_schedule *sch = NULL;
  cr_assert_eq(mt_scenario_schedule_doses(sc, m, &sch, err, sizeof err), 0,
               "%s", err);
  mt_schedule_event e;
  cr_assert_eq(mt_schedule_event_at(sch, 1, &e), 0);
  cr_expect_eq(e.k, mt_var_index(m->input, m->n_input, "inotrope"));
  cr_expect_eq(e.t0, 120);
  cr_expect_eq(e.t1, 720);
  cr_expect_float_eq(e.value, 1.0, 1e-15);
  mt_schedule_free(sch);
  mt_scenario_free(sc);
  cr_assert_eq(parse("{\"duration_min\": 30, \"events\": [{\"t_min\": 2, "
                     "\"type\": \"dose\", \"drug\": \"aspirin\", "
                     "\"amount\": 1}]}", "dose.json", &sc), 0);
  cr_expect_eq(mt_scenario_schedule_doses(sc, m, &sch, err, sizeof err),
               MT_EINVAL);
  cr_expect_null(sch);
  cr_expect(strstr(err, "aspirin") != NULL, "%s", err);
  mt_scenario_free(sc);
  cr_expect_eq(parse("{\"duration_min\": 30, \"events\": [{\"t_min\": 2, "
                     "\"type\": \"dose\", \"amount\": 1}]}", "dose.json",
                     &sc), MT_EINVAL);
  cr_expect(strstr(err, "events[0].drug") != NULL, "%s", err);
}
