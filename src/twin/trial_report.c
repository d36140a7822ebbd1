/*
** The virtual-trial report (include/medtwin/trial_report.h): results.json
** of `medtwin trial run` as one self-contained HTML5 page with inline SVG
** figures. Sections and figures are described in docs/trial-report.md:
** protocol and run, cohort, per-arm summaries, comparisons, Figure 1 (the
** distribution of the primary endpoint and of TBR<70 per arm: box plots with
** every patient as a jittered strip), Figure 2 (forest plot of the primary
** endpoint's effect overall and by subgroup; Lewis & Clarke, BMJ
** 322:1479-80, 2001), the twin's forecast MARD by subgroup level, Figure 3
** (example trajectories with the twin's forecasts) and the sample size.
** Colours are the Okabe-Ito palette (Okabe & Ito, "Color Universal Design",
** 2008), readable with the common colour-vision deficiencies.
**
** The results are checked first (validate), so that a refusal writes
** nothing; rendering then reads every optional field tolerantly (a missing
** number prints as a dash), so no input can make it fail but the stream.
** The figures are in trial_report_fig.c, formatting and axes in
** trial_report_svg.c.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/trial_report.h"
#include "trial_report_impl.h"

/* ------------------------------------------------------------------------
** Checking the results: one line naming the first offending key's path.
*/

enum { K_OBJ, K_ARR, K_STR, K_NUM, K_INT, K_BOOL };

static const char *const kind_text[] = {"an object", "an array", "a string",
                                        "a number", "an integer",
                                        "true or false"};

static int bad(char *err, size_t errlen, const char *path, const char *what)
{
  if (err && errlen)
    snprintf(err, errlen, "results: %s%s%s", path, *path ? ": " : "", what);
  return MT_EINVAL;
}

static int is_kind(const json_t *j, int kind)
{
  switch (kind) {
  case K_OBJ: return json_is_object(j);
  case K_ARR: return json_is_array(j);
  case K_STR: return json_is_string(j);
  case K_NUM: return json_is_number(j);
  case K_INT: return json_is_integer(j);
  default: return json_is_boolean(j);
  }
}

/* Key k of o (at path) must be of kind, or absent when optional. */
static int need(const json_t *o, const char *path, const char *k, int kind,
                int optional, char *err, size_t errlen)
{
  const json_t *j = json_object_get(o, k);
  if ((!j && optional) || (j && is_kind(j, kind)))
    return 0;
  char p[256], what[64];
  snprintf(p, sizeof p, "%.190s%s%.60s", path, *path ? "." : "", k);
  snprintf(what, sizeof what, "%s%s", j ? "expected " : "missing (expected ",
           kind_text[kind]);
  if (!j)
    strcat(what, ")");
  return bad(err, errlen, p, what);
}

/* o[k] must be an array of objects (optional: may be absent). */
static int need_objs(const json_t *o, const char *k, int optional, char *err,
                     size_t errlen)
{
  int rc = need(o, "", k, K_ARR, optional, err, errlen);
  const json_t *a = json_object_get(o, k), *e;
  size_t i;
  char p[64];
  json_array_foreach(a, i, e) {
    if (rc)
      break;
    if (!json_is_object(e)) {
      snprintf(p, sizeof p, "%s[%zu]", k, i);
      rc = bad(err, errlen, p, "expected an object");
    }
  }
  return rc;
}

/* o[k] (at path) must be an interval: an array of two numbers. */
static int need_ci(const json_t *o, const char *path, const char *k,
                   int optional, char *err, size_t errlen)
{
  const json_t *a = json_object_get(o, k);
  if (!a && optional)
    return 0;
  if (json_is_array(a) && json_array_size(a) == 2 &&
      json_is_number(json_array_get(a, 0)) &&
      json_is_number(json_array_get(a, 1)))
    return 0;
  char p[256];
  snprintf(p, sizeof p, "%s.%s", path, k);
  return bad(err, errlen, p, "expected an interval [lo, hi] of numbers");
}

static int check_protocol(const json_t *r, char *err, size_t errlen)
{
  const json_t *p = json_object_get(r, "protocol");
  int rc = need(r, "", "protocol", K_OBJ, 0, err, errlen);
  if (!rc) rc = need(p, "protocol", "name", K_STR, 0, err, errlen);
  if (!rc) rc = need(p, "protocol", "model", K_STR, 1, err, errlen);
  if (!rc) rc = need(p, "protocol", "seed", K_INT, 1, err, errlen);
  if (!rc) rc = need(p, "protocol", "days", K_NUM, 1, err, errlen);
  if (!rc) rc = need(p, "protocol", "patients", K_NUM, 1, err, errlen);
  if (!rc) rc = need(p, "protocol", "file", K_STR, 1, err, errlen);
  const json_t *c = json_object_get(r, "cohort");
  if (!rc) rc = need(r, "", "cohort", K_OBJ, 0, err, errlen);
  if (!rc) rc = need(c, "cohort", "draws", K_NUM, 1, err, errlen);
  if (!rc) rc = need(c, "cohort", "rejection_rate", K_NUM, 1, err, errlen);
  return rc;
}

static const char *const summary_key[] = {"n",  "mean",   "sd", "min",
                                          "q1", "median", "q3", "max"};

static int check_arm(const json_t *a, size_t i, char *err, size_t errlen)
{
  char p[128], q[256];
  snprintf(p, sizeof p, "arms[%zu]", i);
  int rc = need(a, p, "name", K_STR, 0, err, errlen);
  if (!rc) rc = need(a, p, "kind", K_STR, 1, err, errlen);
  if (!rc) rc = need(a, p, "endpoints", K_OBJ, 0, err, errlen);
  const char *k;
  const json_t *e;
  json_object_foreach((json_t *)json_object_get(a, "endpoints"), k, e) {
    if (rc)
      break;
    snprintf(q, sizeof q, "%s.endpoints.%s", p, k);
    if (!json_is_object(e))
      return bad(err, errlen, q, "expected an object");
    for (size_t s = 0; !rc && s < sizeof summary_key / sizeof *summary_key;
         s++)
      rc = need(e, q, summary_key[s], K_NUM, 0, err, errlen);
  }
  return rc;
}

static int check_comparison(const json_t *c, size_t i, char *err,
                            size_t errlen)
{
  char p[128], q[160];
  snprintf(p, sizeof p, "comparisons[%zu]", i);
  snprintf(q, sizeof q, "%s.paired_t", p);
  const json_t *t = json_object_get(c, "paired_t"),
               *b = json_object_get(c, "bootstrap");
  int rc = need(c, p, "arm", K_STR, 0, err, errlen);
  if (!rc) rc = need(c, p, "reference", K_STR, 0, err, errlen);
  if (!rc) rc = need(c, p, "endpoint", K_STR, 0, err, errlen);
  if (!rc) rc = need(c, p, "primary", K_BOOL, 1, err, errlen);
  if (!rc) rc = need(c, p, "paired_t", K_OBJ, 0, err, errlen);
  if (!rc) rc = need(t, q, "estimate", K_NUM, 0, err, errlen);
  if (!rc) rc = need(t, q, "p", K_NUM, 0, err, errlen);
  if (!rc) rc = need_ci(t, q, "ci", 0, err, errlen);
  if (!rc) rc = need(c, p, "bootstrap", K_OBJ, 1, err, errlen);
  snprintf(q, sizeof q, "%s.bootstrap", p);
  if (!rc && b) rc = need_ci(b, q, "ci", 0, err, errlen);
  return rc;
}

static int check_subgroup(const json_t *g, size_t i, char *err, size_t errlen)
{
  char p[128], q[160];
  snprintf(p, sizeof p, "subgroups[%zu]", i);
  snprintf(q, sizeof q, "%s.effect", p);
  int rc = need(g, p, "covariate", K_STR, 0, err, errlen);
  if (!rc) rc = need(g, p, "level", K_STR, 0, err, errlen);
  if (!rc) rc = need(g, p, "arm", K_STR, 0, err, errlen);
  if (!rc) rc = need(g, p, "n", K_NUM, 1, err, errlen);
  if (!rc) rc = need(g, p, "effect", K_OBJ, 0, err, errlen);
  if (!rc) rc = need(json_object_get(g, "effect"), q, "estimate", K_NUM, 0,
                     err, errlen);
  if (!rc) rc = need_ci(json_object_get(g, "effect"), q, "ci", 0, err, errlen);
  if (!rc) rc = need(g, p, "interaction", K_OBJ, 1, err, errlen);
  if (!rc) rc = need(g, p, "flag", K_BOOL, 1, err, errlen);
  if (!rc) rc = need(g, p, "twin_forecast_mard_pct", K_NUM, 1, err, errlen);
  if (!rc) rc = need(g, p, "forecast_interaction", K_OBJ, 1, err, errlen);
  if (!rc) rc = need(g, p, "forecast_flag", K_BOOL, 1, err, errlen);
  return rc;
}

static int validate(const json_t *r, char *err, size_t errlen)
{
  if (!json_is_object(r))
    return bad(err, errlen, "", "expected an object");
  int rc = check_protocol(r, err, errlen);
  if (!rc) rc = need_objs(r, "arms", 0, err, errlen);
  if (!rc && json_array_size(json_object_get(r, "arms")) == 0)
    rc = bad(err, errlen, "arms", "expected at least one arm");
  size_t i;
  const json_t *e;
  json_array_foreach(json_object_get(r, "arms"), i, e) if (!rc) rc =
      check_arm(e, i, err, errlen);
  if (!rc) rc = need_objs(r, "comparisons", 0, err, errlen);
  json_array_foreach(json_object_get(r, "comparisons"), i, e) if (!rc) rc =
      check_comparison(e, i, err, errlen);
  if (!rc) rc = need_objs(r, "subgroups", 1, err, errlen);
  json_array_foreach(json_object_get(r, "subgroups"), i, e) if (!rc) rc =
      check_subgroup(e, i, err, errlen);
  if (!rc) rc = need(r, "", "multiplicity", K_OBJ, 1, err, errlen);
  if (!rc) rc = need(r, "", "hypothetical", K_STR, 1, err, errlen);
  if (!rc) rc = need(r, "", "run", K_OBJ, 1, err, errlen);
  if (!rc) rc = need_objs(r, "patients", 1, err, errlen);
  if (!rc) rc = need_objs(r, "examples", 1, err, errlen);
  if (!rc) rc = need_objs(r, "sample_size", 1, err, errlen);
  return rc;
}

/* ------------------------------------------------------------------------
** Page head, protocol, run, cohort.
*/

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,"
    "sans-serif;color:#111;max-width:1000px;margin:2em auto;padding:0 1em;"
    "line-height:1.4}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:"
    "1.8em;border-bottom:1px solid #bbb}\n"
    "table{border-collapse:collapse;margin:.6em 0;font-size:.9em}\n"
    "th,td{border:1px solid #ccc;padding:.25em .55em;text-align:left}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "th{background:#f1f1f1}\n"
    ".primary{font-weight:bold}.badge{font-size:.75em;border:1px solid #333;"
    "border-radius:3px;padding:0 .3em;margin-left:.4em}\n"
    ".hypothetical{border:2px solid #D55E00;background:#fff4ec;padding:.6em "
    ".9em;font-weight:bold}\n"
    ".note{font-size:.9em;color:#333}\n"
    "figure{margin:1em 0;page-break-inside:avoid}figcaption{font-size:.9em;"
    "margin-top:.3em}\n"
    "svg{max-width:100%;height:auto;font-family:inherit}\n"
    "svg text{font-size:12px;fill:#111}svg .title{font-size:13px}\n"
    "svg .ax{stroke:#333;stroke-width:1}svg .grid{stroke:#e3e3e3;"
    "stroke-width:1}\n"
    "svg .zero{stroke:#333;stroke-width:1.2;stroke-dasharray:4 3}\n"
    "@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}}\n";

static void head(FILE *f, const json_t *r)
{
  const json_t *p = json_object_get(r, "protocol");
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8"
        "\">\n<meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\">\n<title>Virtual trial: ", f);
  mt_markup_escape(f, rpt_str(p, "name"));
  fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", css);
  fputs("<h1>Virtual trial: ", f);
  mt_markup_escape(f, rpt_str(p, "name"));
  fputs("</h1>\n", f);
}

static void row_s(FILE *f, const char *k, const char *v)
{
  fprintf(f, "<tr><th>%s</th><td>", k);
  mt_markup_escape(f, v);
  fputs("</td></tr>\n", f);
}

static void row_n(FILE *f, const char *k, const char *v_html)
{
  fprintf(f, "<tr><th>%s</th><td class=\"n\">%s</td></tr>\n", k, v_html);
}

static void protocol(FILE *f, const json_t *r)
{
  const json_t *p = json_object_get(r, "protocol"),
               *h = json_object_get(r, "hypothetical");
  nbuf b;
  if (json_is_string(h)) {
    fputs("<p class=\"hypothetical\">", f);
    mt_markup_escape(f, json_string_value(h));
    fputs("</p>\n", f);
  }
  fputs("<h2>Protocol</h2>\n<table>\n", f);
  row_s(f, "name", rpt_str(p, "name"));
  if (json_is_integer(json_object_get(p, "seed"))) {
    snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(p, "seed")));
    row_n(f, "seed", b);
  }
  if (json_object_get(p, "days"))
    row_n(f, "days", rpt_fn(b, rpt_num(p, "days")));
  if (json_object_get(p, "patients"))
    row_n(f, "patients", rpt_fn(b, rpt_num(p, "patients")));
  if (rpt_str(p, "model"))
    row_s(f, "model", rpt_str(p, "model"));
  if (rpt_str(p, "file"))
    row_s(f, "protocol file", rpt_str(p, "file"));
  fputs("</table>\n", f);
}

static void run_meta(FILE *f, const json_t *r)
{
  const json_t *m = json_object_get(r, "run");
  if (!m)
    return;
  nbuf b;
  fputs("<h2>Run</h2>\n<table>\n", f);
  if (rpt_str(m, "medtwin"))
    row_s(f, "medtwin version", rpt_str(m, "medtwin"));
  if (rpt_str(m, "finished"))
    row_s(f, "finished (UTC)", rpt_str(m, "finished"));
  if (rpt_str(m, "host"))
    row_s(f, "host", rpt_str(m, "host"));
  if (json_object_get(m, "seconds"))
    row_n(f, "wall time (s)", rpt_f1(b, rpt_num(m, "seconds")));
  if (json_object_get(m, "threads"))
    row_n(f, "threads", rpt_fn(b, rpt_num(m, "threads")));
  if (json_object_get(m, "ranks"))
    row_n(f, "MPI ranks", rpt_fn(b, rpt_num(m, "ranks")));
  if (json_object_get(m, "patient_days_per_second"))
    row_n(f, "patient-days per second", rpt_f1(b, rpt_num(m, "patient_days_per_second")));
  fputs("</table>\n", f);
}

static void cohort(FILE *f, const json_t *r)
{
  const json_t *c = json_object_get(r, "cohort");
  nbuf b;
  fputs("<h2>Cohort</h2>\n<table>\n", f);
  if (rpt_str(c, "source"))
    row_s(f, "source", rpt_str(c, "source"));
  if (json_object_get(c, "patients"))
    row_n(f, "patients", rpt_fn(b, rpt_num(c, "patients")));
  if (json_object_get(c, "draws"))
    row_n(f, "parameter draws", rpt_fn(b, rpt_num(c, "draws")));
  if (json_object_get(c, "rejection_rate")) {
    double x = rpt_num(c, "rejection_rate") * 100;
    char pct[64];
    snprintf(pct, sizeof pct, "%s %%", rpt_f1(b, x));
    row_n(f, "rejection rate", pct);
  }
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)json_object_get(c, "age_groups"), k, v) {
    fputs("<tr><th>age group ", f);
    mt_markup_escape(f, k);
    fprintf(f, "</th><td class=\"n\">%s</td></tr>\n",
            rpt_fn(b, json_is_number(v) ? json_number_value(v) : NAN));
  }
  fputs("</table>\n", f);
}

/* ------------------------------------------------------------------------
** Tables: per-arm summaries, comparisons.
*/

static void arms_table(FILE *f, const json_t *r)
{
  const json_t *arms = json_object_get(r, "arms"), *a, *e;
  const json_t *eps0 = json_object_get(json_array_get(arms, 0), "endpoints");
  const char *k;
  size_t i;
  nbuf b1, b2, b3, b4, b5;
  fputs("<h2>Endpoints by arm</h2>\n<p class=\"note\">Mean &plusmn; SD and "
        "median [Q1, Q3] over the patients.</p>\n<table>\n<tr><th>endpoint"
        "</th>", f);
  json_array_foreach(arms, i, a) {
    fputs("<th>", f);
    mt_markup_escape(f, rpt_str(a, "name"));
    if (rpt_str(a, "kind")) {
      fputs(" <span class=\"note\">(", f);
      mt_markup_escape(f, rpt_str(a, "kind"));
      fputs(")</span>", f);
    }
    fputs("</th>", f);
  }
  fputs("</tr>\n", f);
  json_object_foreach((json_t *)eps0, k, e) {
    fputs("<tr><th>", f);
    rpt_ep_name(f, k);
    fputs("</th>", f);
    json_array_foreach(arms, i, a) {
      const json_t *s = json_object_get(json_object_get(a, "endpoints"), k);
      fprintf(f, "<td class=\"n\">%s &plusmn; %s<br>%s [%s, %s]</td>",
              rpt_f1(b1, rpt_num(s, "mean")), rpt_f1(b2, rpt_num(s, "sd")),
              rpt_f1(b3, rpt_num(s, "median")), rpt_f1(b4, rpt_num(s, "q1")),
              rpt_f1(b5, rpt_num(s, "q3")));
    }
    fputs("</tr>\n", f);
  }
  fputs("</table>\n", f);
}

static void comparisons_table(FILE *f, const json_t *r)
{
  const json_t *cs = json_object_get(r, "comparisons"), *c;
  size_t i;
  nbuf b1, b3;
  cibuf b2, b4;
  if (!json_array_size(cs))
    return;
  fputs("<h2>Comparisons</h2>\n<p class=\"note\">Within-patient "
        "difference, arm &minus; reference: paired t estimate, its confidence "
        "interval and two-sided p, and the percentile bootstrap interval."
        "</p>\n<table>\n<tr><th>arm</th><th>reference</th><th>endpoint</th>"
        "<th>estimate</th><th>paired-t CI</th><th>p</th><th>bootstrap CI"
        "</th></tr>\n", f);
  json_array_foreach(cs, i, c) {
    const json_t *t = json_object_get(c, "paired_t"),
                 *bs = json_object_get(c, "bootstrap");
    int primary = json_is_true(json_object_get(c, "primary"));
    double lo, hi, blo, bhi;
    rpt_ci(t, "ci", &lo, &hi);
    rpt_ci(bs, "ci", &blo, &bhi);
    fprintf(f, "<tr%s><td>", primary ? " class=\"primary\"" : "");
    mt_markup_escape(f, rpt_str(c, "arm"));
    fputs("</td><td>", f);
    mt_markup_escape(f, rpt_str(c, "reference"));
    fputs("</td><td>", f);
    rpt_ep_name(f, rpt_str(c, "endpoint"));
    if (primary)
      fputs("<span class=\"badge\">primary</span>", f);
    fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
               "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
            rpt_f1(b1, rpt_num(t, "estimate")), rpt_fci(b2, lo, hi),
            rpt_fp(b3, rpt_num(t, "p")), bs ? rpt_fci(b4, blo, bhi) : RPT_DASH);
  }
  fputs("</table>\n", f);
}

/* The twin's forecast MARD by subgroup level (the bias check). */
static void mard_table(FILE *f, const json_t *r)
{
  const json_t *gs = json_object_get(r, "subgroups"), *g;
  size_t i;
  int any = 0;
  nbuf b1, b2, b3;
  json_array_foreach(gs, i, g) {
    if (!json_object_get(g, "twin_forecast_mard_pct"))
      continue;
    if (!any++)
      fputs("<h2>Twin forecast error by subgroup</h2>\n<p class=\"note\">"
            "Mean absolute relative difference of the twin's 30-minute "
            "forecasts against the arm's reading, by subgroup level, with "
            "the Welch test of the patients' MARD in the level against the "
            "rest's: a level where the twin forecasts worse is a level where "
            "its advice may be biased. Flagged (*) at the Bonferroni-adjusted "
            "level over all interaction tests.</p>\n<table>\n<tr><th>"
            "covariate</th><th>level</th><th>arm</th><th>n</th><th>forecast "
            "MARD (%)</th><th>interaction p</th></tr>\n", f);
    const json_t *fi = json_object_get(g, "forecast_interaction");
    int flag = json_is_true(json_object_get(g, "forecast_flag"));
    fputs(flag ? "<tr class=\"flag\"><td>" : "<tr><td>", f);
    mt_markup_escape(f, rpt_str(g, "covariate"));
    fputs("</td><td>", f);
    mt_markup_escape(f, rpt_str(g, "level"));
    fputs("</td><td>", f);
    mt_markup_escape(f, rpt_str(g, "arm"));
    fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
               "<td class=\"n\">%s%s</td></tr>\n",
            rpt_fn(b1, rpt_num(g, "n")),
            rpt_f1(b2, rpt_num(g, "twin_forecast_mard_pct")),
            fi ? rpt_fp(b3, rpt_num(fi, "p")) : RPT_DASH, flag ? " *" : "");
  }
  if (any)
    fputs("</table>\n", f);
}


static void sample_size(FILE *f, const json_t *r)
{
  const json_t *ss = json_object_get(r, "sample_size"), *s;
  size_t i;
  nbuf b1, b2, b3, b4, b5, b6;
  if (!json_array_size(ss))
    return;
  fputs("<h2>Sample size</h2>\n<p class=\"note\">Patients needed for the "
        "target power, by simulation (replicates per size, Monte Carlo "
        "standard error of the power), with the normal approximation for "
        "comparison.</p>\n<table>\n<tr><th>arm</th><th>reference</th><th>"
        "endpoint</th><th>target power</th><th>n</th><th>power (MC SE)</th>"
        "<th>replicates</th><th>normal approx. n</th><th>reached</th></tr>\n",
        f);
  json_array_foreach(ss, i, s) {
    fputs("<tr><td>", f);
    mt_markup_escape(f, rpt_str(s, "arm"));
    fputs("</td><td>", f);
    mt_markup_escape(f, rpt_str(s, "reference"));
    fputs("</td><td>", f);
    rpt_ep_name(f, rpt_str(s, "endpoint"));
    double pw = rpt_num(s, "power"), se = rpt_num(s, "mc_se");
    if (isfinite(pw))
      snprintf(b3, sizeof b3, "%.3f (%.3f)", pw, se);
    fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
               "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">"
               "%s</td><td>%s</td></tr>\n",
            isfinite(rpt_num(s, "target_power"))
                ? (snprintf(b1, sizeof b1, "%.2f", rpt_num(s, "target_power")), b1)
                : RPT_DASH,
            rpt_fn(b2, rpt_num(s, "n")), isfinite(pw) ? b3 : RPT_DASH,
            rpt_fn(b4, rpt_num(s, "replicates_per_size")),
            rpt_fn(b5, rpt_num(s, "normal_approx_n")),
            json_is_boolean(json_object_get(s, "reached"))
                ? (json_is_true(json_object_get(s, "reached")) ? "yes" : "no")
                : (snprintf(b6, sizeof b6, "%s", RPT_DASH), b6));
  }
  fputs("</table>\n", f);
}

/* ------------------------------------------------------------------------
** The page.
*/

int mt_trial_report_html(const json_t *results, FILE *out, char *err,
                         size_t errlen)
{
  if (!out)
    return bad(err, errlen, "", "no output stream");
  int rc = validate(results, err, errlen);
  if (rc)
    return rc;
  head(out, results);
  protocol(out, results);
  run_meta(out, results);
  cohort(out, results);
  arms_table(out, results);
  comparisons_table(out, results);
  rc = rpt_figure1(out, results);
  if (!rc)
    rc = rpt_figure2(out, results);
  if (rc) {
    if (err && errlen)
      snprintf(err, errlen, "report: %s", mt_strerror(rc));
    return rc;
  }
  mard_table(out, results);
  rpt_figure3(out, results);
  sample_size(out, results);
  fputs("<p class=\"note\">Written by medtwin from the trial's results.json "
        "(docs/trial-report.md).</p>\n</body>\n</html>\n", out);
  if (fflush(out) || ferror(out)) {
    if (err && errlen)
      snprintf(err, errlen, "report: write error");
    return MT_EIO;
  }
  return 0;
}

int mt_trial_report_write(const json_t *results, const char *path, char *err,
                          size_t errlen)
{
  int rc = validate(results, err, errlen);
  if (rc)
    return rc;
  mt_afile *af;
  if ((rc = mt_afile_open(path, &af, err, errlen)))
    return rc;
  rc = mt_trial_report_html(results, mt_afile_stream(af), err, errlen);
  if (rc) {
    mt_afile_abort(af);
    return rc;
  }
  return mt_afile_commit(af, err, errlen);
}

