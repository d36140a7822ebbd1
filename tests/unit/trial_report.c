/*
** Unit tests of the virtual-trial report (src/twin/trial_report.c) on a
** hand-built results fixture: the number of figures, self-containment,
** escaping of user strings, the forest plot's scale (docs/trial-report.md),
** one row per subgroup with the flagged ones marked, the per-patient strip,
** error paths with the key's path, optional sections left out, determinism
** and the atomic write.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/trial_report.h"
#include "rm_tree.h"

#define EVIL "<b>&\"x'"
#define EVIL_JSON "<b>&\\\"x'"
#define EVIL_HTML "&lt;b&gt;&amp;&quot;x&#39;"

#define SUMMARY(m)                                                           \
  "{\"n\": 4, \"mean\": " #m ", \"sd\": 5, \"min\": 1, \"q1\": 10, "          \
  "\"median\": " #m ", \"q3\": 80, \"max\": 95}"

#define PATIENT(i, sex, a, b, c, d)                                          \
  "{\"index\": " #i ", \"id\": \"adult#00" #i "\", \"age_group\": \"adult\", " \
  "\"sex\": \"" sex "\", \"subgroup\": null, \"endpoints\": {\"standard\": " \
  "{\"tir\": " #a ", \"tbr70\": " #b "}, \"" EVIL_JSON "\": {\"tir\": " #c   \
  ", \"tbr70\": " #d "}}}"

/* Two arms (the second named EVIL), two endpoints, three subgroups of which
** one is flagged and one has an estimate of exactly 0, one example. */
static const char fixture[] =
    "{\"protocol\": {\"name\": \"unit " EVIL_JSON "\", \"model\": "
    "\"uva_padova_t1d\", \"seed\": 7, \"days\": 2, \"patients\": 4, "
    "\"file\": \"u.json\"},"
    "\"cohort\": {\"source\": \"named\", \"patients\": 4, \"draws\": 5, "
    "\"rejection_rate\": 0.2},"
    "\"arms\": [{\"name\": \"standard\", \"kind\": \"standard\", "
    "\"endpoints\": {\"tir\": " SUMMARY(60) ", \"tbr70\": " SUMMARY(5) "}},"
    "{\"name\": \"" EVIL_JSON "\", \"kind\": \"twin\", \"endpoints\": "
    "{\"tir\": " SUMMARY(65) ", \"tbr70\": " SUMMARY(4) "}}],"
    "\"comparisons\": [{\"arm\": \"" EVIL_JSON "\", \"reference\": "
    "\"standard\", \"endpoint\": \"tir\", \"primary\": true, \"paired_t\": "
    "{\"n\": 4, \"estimate\": 5, \"p\": 0.0004, \"ci\": [-2, 12]}, "
    "\"bootstrap\": {\"resamples\": 100, \"ci\": [-1, 11]}},"
    "{\"arm\": \"" EVIL_JSON "\", \"reference\": \"standard\", "
    "\"endpoint\": \"tbr70\", \"primary\": false, \"paired_t\": {\"n\": 4, "
    "\"estimate\": -1, \"p\": 0.5, \"ci\": [-3, 1]}}],"
    "\"subgroups\": ["
    "{\"covariate\": \"age_group\", \"level\": \"adult\", \"arm\": \""
    EVIL_JSON "\", \"endpoint\": \"tir\", \"n\": 4, \"effect\": "
    "{\"estimate\": 0, \"ci\": [-4, 4]}, \"flag\": false, "
    "\"twin_forecast_mard_pct\": 9.5},"
    "{\"covariate\": \"sex\", \"level\": \"F\", \"arm\": \"" EVIL_JSON "\", "
    "\"endpoint\": \"tir\", \"n\": 2, \"effect\": {\"estimate\": 8, \"ci\": "
    "[-10, 20]}, \"interaction\": {\"p\": 0.001}, \"flag\": true, "
    "\"twin_forecast_mard_pct\": 12.25},"
    "{\"covariate\": \"sex\", \"level\": \"M\", \"arm\": \"" EVIL_JSON "\", "
    "\"endpoint\": \"tir\", \"n\": 2, \"effect\": {\"estimate\": 2, \"ci\": "
    "[-6, 9]}, \"interaction\": {\"p\": 0.001}, \"flag\": false}],"
    "\"multiplicity\": {\"interaction_tests\": 3, \"bonferroni_level\": "
    "0.98333, \"note\": \"subgroup effects are exploratory\"},"
    "\"hypothetical\": \"the labels are hypothetical\","
    "\"run\": {\"medtwin\": \"0.1.0\", \"finished\": \"2026-01-01T00:00:00Z\", "
    "\"host\": \"h\", \"seconds\": 1.5, \"threads\": 2, "
    "\"patient_days_per_second\": 10.7},"
    "\"patients\": [" PATIENT(0, "F", 50, 3, 60, 2) ","
    PATIENT(1, "M", 60, 5, 70, 4) "," PATIENT(2, "F", 70, 7, 72, 5) ","
    PATIENT(3, "M", 80, 9, 90, 6) "],"
    "\"examples\": [{\"index\": 0, \"id\": \"adult#000\", \"from_min\": 360, "
    "\"to_min\": 400, \"arms\": ["
    "{\"arm\": \"standard\", \"kind\": \"standard\", \"every_min\": 5, "
    "\"bg_mgdl\": [100, 110, 120, 130, 140, 150, 160, 170], \"cgm_mgdl\": "
    "[101, 111, 121, 131, 141, 151, 161, 171], \"meals\": [{\"t_min\": 370, "
    "\"grams\": 45.2, \"announced_g\": 40, \"snack\": false}], \"boluses\": "
    "[{\"t_min\": 370, \"units\": 4.5}]},"
    "{\"arm\": \"" EVIL_JSON "\", \"kind\": \"twin\", \"every_min\": 5, "
    "\"bg_mgdl\": [100, 105, 110, 115, 120, 125, 130, 135], \"cgm_mgdl\": "
    "[100, 105, 110, 115, 120, 125, 130, 135], \"meals\": [], \"boluses\": "
    "[{\"t_min\": 375, \"units\": 3}], \"forecasts\": [{\"t_min\": 360, "
    "\"level\": 0.9, \"horizon_min\": [0, 15, 30], \"mean_mgdl\": [100, 110, "
    "120], \"lo_mgdl\": [95, 100, 105], \"hi_mgdl\": [105, 120, 135]}]}]}],"
    "\"sample_size\": [{\"arm\": \"" EVIL_JSON "\", \"reference\": "
    "\"standard\", \"endpoint\": \"tir\", \"target_power\": 0.8, \"n\": 34, "
    "\"power\": 0.81, \"mc_se\": 0.009, \"replicates_per_size\": 2000, "
    "\"normal_approx_n\": 33, \"reached\": true}]}";

/* The forest plot's documented scale: the domain [lo - 5% w, hi + 5% w]
** over 0 and every drawn estimate and interval end, onto x 390 .. 700. The
** fixture's extremes are -10 and 20 (sex = F). */
#define FP_X0 390.0
#define FP_X1 700.0

static json_t *load(void)
{
  json_error_t je;
  json_t *j = json_loads(fixture, 0, &je);
  cr_assert_not_null(j, "fixture: line %d: %s", je.line, je.text);
  return j;
}

/* Render to a heap string; returns the code, *out owned by the caller. */
static int render(const json_t *r, char **out, char *err, size_t errlen)
{
  size_t len = 0;
  FILE *f = open_memstream(out, &len);
  cr_assert_not_null(f);
  int rc = mt_trial_report_html(r, f, err, errlen);
  cr_assert_eq(fclose(f), 0);
  return rc;
}

static char *render_ok(const json_t *r)
{
  char *s = NULL, err[MT_ERRMSG_MAX] = "";
  int rc = render(r, &s, err, sizeof err);
  cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
  return s;
}

static int count(const char *s, const char *needle)
{
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

Test(trial_report, one_svg_per_figure)
{
  json_t *r = load();
  char *s = render_ok(r);
  /* Figure 1 for tir (primary) and tbr70, Figure 2, one example */
  cr_expect_eq(count(s, "<svg"), 4);
  cr_expect_eq(count(s, "</svg>"), 4);
  cr_expect_eq(count(s, "class=\"fig1\""), 2);
  cr_expect_eq(count(s, "class=\"fig2\""), 1);
  cr_expect_eq(count(s, "class=\"fig3\""), 1);
  cr_expect(!strncmp(s, "<!DOCTYPE html>", 15));
  cr_expect_not_null(strstr(s, "</html>\n"));
  free(s);
  json_decref(r);
}

Test(trial_report, self_contained)
{
  json_t *r = load();
  char *s = render_ok(r);
  cr_expect_null(strstr(s, "http://"));
  cr_expect_null(strstr(s, "https://"));
  cr_expect_null(strstr(s, "<script"));
  cr_expect_null(strstr(s, "src="));
  cr_expect_null(strstr(s, "url("));
  cr_expect_null(strstr(s, "@import"));
  cr_expect_not_null(strstr(s, "<style>"));
  free(s);
  json_decref(r);
}

Test(trial_report, user_strings_escaped)
{
  json_t *r = load();
  char *s = render_ok(r);
  cr_expect_null(strstr(s, EVIL));
  cr_expect_null(strstr(s, "<b>&"));
  /* title, protocol, arms table, comparisons, forest rows, MARD table,
  ** legends and bolus rows of the example, sample size: many places */
  cr_expect_geq(count(s, EVIL_HTML), 10, "%d", count(s, EVIL_HTML));
  cr_expect_not_null(strstr(s, "<title>Virtual trial: unit " EVIL_HTML));
  free(s);
  json_decref(r);
}

Test(trial_report, forest_zero_line_and_zero_estimate_share_x)
{
  json_t *r = load();
  char *s = render_ok(r);
  double d0 = -10 - 0.05 * 30, d1 = 20 + 0.05 * 30;
  char x[32], zero[96], est[96], lo[96];
  snprintf(x, sizeof x, "%.2f", FP_X0 + (0 - d0) / (d1 - d0) * (FP_X1 - FP_X0));
  snprintf(zero, sizeof zero, "<line class=\"zero\" x1=\"%s\"", x);
  snprintf(est, sizeof est, "<circle class=\"est\" cx=\"%s\"", x);
  cr_expect_not_null(strstr(s, zero), "no zero line at x = %s", x);
  cr_expect_eq(count(s, est), 1, "no estimate at x = %s", x);
  /* and the row at 0 is age_group = adult */
  const char *row = strstr(s, "age_group = adult");
  cr_assert_not_null(row);
  cr_expect(strstr(row, est) && strstr(row, est) < strstr(row, "</g>"));
  /* the smallest interval end, -10, is 5% of the width inside the left */
  snprintf(lo, sizeof lo, "x1=\"%.2f\"", FP_X0 + 1.5 / 33 * (FP_X1 - FP_X0));
  cr_expect_not_null(strstr(s, lo), "no interval from %s", lo);
  free(s);
  json_decref(r);
}

Test(trial_report, one_forest_row_per_subgroup_flagged_marked)
{
  json_t *r = load();
  char *s = render_ok(r);
  cr_expect_eq(count(s, "<g class=\"fr sub"), 3);
  cr_expect_eq(count(s, "<g class=\"fr sub flag\">"), 1);
  cr_expect_eq(count(s, "<g class=\"fr overall"), 1);
  const char *flag = strstr(s, "<g class=\"fr sub flag\">");
  cr_assert_not_null(flag);
  const char *end = strstr(flag, "</g>");
  const char *label = strstr(flag, "sex = F *");
  cr_expect(label && label < end, "the flagged row is sex = F, marked *");
  cr_expect_eq(count(s, " *</text>"), 1);
  /* interaction p below 0.001 is printed as such, the note under it */
  cr_expect_not_null(strstr(s, "0.001</text>"));
  cr_expect_not_null(strstr(s, "subgroup effects are exploratory"));
  free(s);
  json_decref(r);
}

Test(trial_report, numbers_formatted)
{
  json_t *r = load();
  char *s = render_ok(r);
  cr_expect_not_null(strstr(s, ">&lt; 0.001<"), "p 0.0004");
  cr_expect_not_null(strstr(s, ">0.500<"), "p 0.5");
  cr_expect_not_null(strstr(s, ">[-2.0, 12.0]<"), "paired-t CI");
  cr_expect_not_null(strstr(s, ">[-1.0, 11.0]<"), "bootstrap CI");
  cr_expect_not_null(strstr(s, "60.0 &plusmn; 5.0<br>60.0 [10.0, 80.0]"));
  cr_expect_not_null(strstr(s, ">20.0 %<"), "rejection rate");
  cr_expect_not_null(strstr(s, ">12.2<"), "MARD 12.25");
  free(s);
  json_decref(r);
}

Test(trial_report, patients_as_strip_and_quartiles)
{
  json_t *r = load();
  char *s = render_ok(r);
  /* 4 patients x 2 arms x 2 figures */
  cr_expect_eq(count(s, "class=\"pt\""), 16);
  json_object_del(r, "patients");
  char *t = render_ok(r);
  cr_expect_eq(count(t, "class=\"pt\""), 0);
  cr_expect_not_null(strstr(t, "from the summary quartiles"));
  free(t);
  free(s);
  json_decref(r);
}

Test(trial_report, optional_sections_left_out)
{
  json_t *r = load();
  const char *opt[] = {"subgroups", "multiplicity", "hypothetical", "run",
                       "patients", "examples", "sample_size"};
  for (size_t i = 0; i < sizeof opt / sizeof *opt; i++)
    cr_assert_eq(json_object_del(r, opt[i]), 0);
  char *s = render_ok(r);
  cr_expect_eq(count(s, "<svg"), 3, "Figure 1 twice and the forest plot");
  cr_expect_eq(count(s, "<g class=\"fr sub"), 0);
  cr_expect_eq(count(s, "<g class=\"fr overall"), 1);
  cr_expect_null(strstr(s, "Figure 3"));
  cr_expect_null(strstr(s, "Sample size"));
  cr_expect_null(strstr(s, "<h2>Run</h2>"));
  cr_expect_null(strstr(s, "class=\"hypothetical\""));
  cr_expect_null(strstr(s, "forecast MARD"));
  cr_expect_not_null(strstr(s, "</html>\n"));
  /* and with no comparison at all, no forest plot */
  json_array_clear(json_object_get(r, "comparisons"));
  char *t = render_ok(r);
  cr_expect_eq(count(t, "<svg"), 2);
  free(t);
  free(s);
  json_decref(r);
}

Test(trial_report, hypothetical_statement_shown)
{
  json_t *r = load();
  char *s = render_ok(r);
  cr_expect_not_null(
      strstr(s, "<p class=\"hypothetical\">the labels are hypothetical</p>"));
  free(s);
  json_decref(r);
}

/* Render r expecting MT_EINVAL with err exactly want; nothing written. */
static void refused(const json_t *r, const char *want)
{
  char *s = NULL, err[MT_ERRMSG_MAX] = "";
  cr_expect_eq(render(r, &s, err, sizeof err), MT_EINVAL);
  cr_expect_str_eq(err, want);
  cr_expect_str_eq(s, "");
  free(s);
}

Test(trial_report, missing_or_mistyped_keys_named)
{
  json_t *r = load();
  json_t *arm1 = json_array_get(json_object_get(r, "arms"), 1);
  json_object_set_new(arm1, "endpoints", json_integer(3));
  refused(r, "results: arms[1].endpoints: expected an object");
  json_object_del(arm1, "endpoints");
  refused(r, "results: arms[1].endpoints: missing (expected an object)");
  json_decref(r);

  r = load();
  json_object_del(r, "comparisons");
  refused(r, "results: comparisons: missing (expected an array)");
  json_decref(r);

  r = load();
  json_object_del(r, "protocol");
  refused(r, "results: protocol: missing (expected an object)");
  json_decref(r);

  r = load();
  json_object_del(json_object_get(
                      json_array_get(json_object_get(r, "arms"), 0),
                      "endpoints"), "tir");
  json_object_del(json_object_get(json_object_get(
                      json_array_get(json_object_get(r, "arms"), 1),
                      "endpoints"), "tbr70"), "q3");
  refused(r, "results: arms[1].endpoints.tbr70.q3: missing (expected a "
             "number)");
  json_decref(r);

  r = load();
  json_t *pci = json_object_get(
      json_object_get(json_array_get(json_object_get(r, "comparisons"), 0),
                      "paired_t"), "ci");
  json_array_set_new(pci, 1, json_string("x"));
  refused(r, "results: comparisons[0].paired_t.ci: expected an interval "
             "[lo, hi] of numbers");
  json_decref(r);

  r = load();
  json_object_set_new(json_array_get(json_object_get(r, "subgroups"), 2),
                      "flag", json_string("yes"));
  refused(r, "results: subgroups[2].flag: expected true or false");
  json_decref(r);

  r = load();
  json_object_set_new(r, "examples", json_pack("[i]", 1));
  refused(r, "results: examples[0]: expected an object");
  json_decref(r);

  json_t *a = json_array();
  refused(a, "results: expected an object");
  json_decref(a);
}

Test(trial_report, deterministic)
{
  json_t *r = load();
  char *s = render_ok(r), *t = render_ok(r);
  cr_expect_str_eq(s, t);
  free(s);
  free(t);
  json_decref(r);
}

Test(trial_report, write_is_atomic)
{
  char dir[] = "/tmp/mt-report-test-XXXXXX", path[128], err[MT_ERRMSG_MAX];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/r.html", dir);
  json_t *r = load();
  cr_assert_eq(mt_trial_report_write(r, path, err, sizeof err), 0, "%s", err);
  char *want = render_ok(r), *got = NULL;
  size_t len = 0;
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  cr_assert_eq(getdelim(&got, &len, '\0', f) > 0, 1);
  fclose(f);
  cr_expect_str_eq(got, want);
  /* a refused report leaves the earlier file as it was */
  json_object_del(r, "cohort");
  cr_expect_eq(mt_trial_report_write(r, path, err, sizeof err), MT_EINVAL);
  cr_expect_str_eq(err, "results: cohort: missing (expected an object)");
  struct stat st;
  cr_expect_eq(stat(path, &st), 0);
  cr_expect_eq((size_t)st.st_size, strlen(want));
  /* a directory that does not exist: MT_EIO, nothing made */
  char bad[160];
  snprintf(bad, sizeof bad, "%s/no/r.html", dir);
  json_t *ok = load();
  cr_expect_eq(mt_trial_report_write(ok, bad, err, sizeof err), MT_EIO);
  cr_expect_neq(stat(bad, &st), 0);
  json_decref(ok);
  free(got);
  free(want);
  json_decref(r);
  rm_tree(dir);
}

/* A large trial's strip: 4,001 patients give a stride of ceil(4001 / 2000)
** = 3, so 1,334 dots per arm and figure (indices 0, 3, ..., 3999), and the
** caption says so; the boxes still come from every patient. */
Test(trial_report, a_large_trial_strip_shows_every_kth_patient)
{
  json_t *r = load();
  json_t *ps = json_object_get(r, "patients");
  json_t *p0 = json_deep_copy(json_array_get(ps, 0));
  json_array_clear(ps);
  for (int k = 0; k < 4001; k++) {
    json_t *p = json_deep_copy(p0);
    json_object_set_new(p, "index", json_integer(k));
    json_array_append_new(ps, p);
  }
  json_decref(p0);
  char *s = render_ok(r);
  cr_expect_eq(count(s, "class=\"pt\""), 1334 * 2 * 2);
  cr_expect_not_null(strstr(s, "every 3rd patient in index order (1334 of "
                               "4001 shown; the boxes use all)"));
  free(s);
  json_decref(r);
}

/* The bias check: the forecast table gives each level's interaction p of
** the twin's forecast MARD, and a flagged level is marked like a flagged
** effect; a mistyped flag is refused by name. */
Test(trial_report, forecast_accuracy_flag_marked)
{
  json_t *r = load();
  json_t *gs = json_object_get(r, "subgroups"), *g;
  size_t i;
  json_t *target = NULL;
  json_array_foreach(gs, i, g)
    if (json_object_get(g, "twin_forecast_mard_pct") && !target)
      target = g;
  cr_assert_not_null(target);
  char *before = render_ok(r);
  json_object_set_new(target, "forecast_interaction",
                      json_pack("{s:f}", "p", 0.0004));
  json_object_set_new(target, "forecast_flag", json_true());
  char *after = render_ok(r);
  const char *tab = strstr(after, "Twin forecast error by subgroup");
  cr_assert_not_null(tab);
  cr_expect_not_null(strstr(tab, "&lt; 0.001 *</td>"));
  cr_expect_eq(count(after, "<tr class=\"flag\">"),
               count(before, "<tr class=\"flag\">") + 1);
  json_object_set_new(target, "forecast_flag", json_string("yes"));
  char *out = NULL, err[MT_ERRMSG_MAX] = "";
  cr_expect_eq(render(r, &out, err, sizeof err), MT_EINVAL);
  cr_expect_not_null(strstr(err, "forecast_flag"), "%s", err);
  free(out);
  free(before);
  free(after);
  json_decref(r);
}
