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
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/trial_report.h"

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
  snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", k);
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
** Tolerant readers and formatting.
*/

static double num(const json_t *o, const char *k)
{
  const json_t *j = json_object_get(o, k);
  return json_is_number(j) ? json_number_value(j) : NAN;
}

static const char *str(const json_t *o, const char *k)
{
  return json_string_value(json_object_get(o, k));
}

static int streq(const char *a, const char *b)
{
  return a && b && !strcmp(a, b);
}

/* The interval o[k] into lo, hi (NAN when not an interval). */
static void ci(const json_t *o, const char *k, double *lo, double *hi)
{
  const json_t *a = json_object_get(o, k);
  *lo = json_is_number(json_array_get(a, 0))
            ? json_number_value(json_array_get(a, 0)) : NAN;
  *hi = json_is_number(json_array_get(a, 1))
            ? json_number_value(json_array_get(a, 1)) : NAN;
}

/* s HTML-escaped (& < > " '); NULL as nothing. */
static void esc(FILE *f, const char *s)
{
  for (; s && *s; s++)
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f);
    }
}

typedef char nbuf[48];

#define DASH "\xe2\x80\x93" /* en dash: a missing number */

static const char *f1(nbuf b, double x)
{
  if (!isfinite(x))
    return DASH;
  snprintf(b, sizeof(nbuf), "%.1f", x);
  return b;
}

/* An integer-valued count, or with one decimal when it is not whole. */
static const char *fn(nbuf b, double x)
{
  if (isfinite(x) && x == floor(x) && fabs(x) < 1e15) {
    snprintf(b, sizeof(nbuf), "%.0f", x);
    return b;
  }
  return f1(b, x);
}

/* A p value, already HTML: "&lt; 0.001" below 0.001, else 3 decimals. */
static const char *fp(nbuf b, double p)
{
  if (!isfinite(p))
    return DASH;
  if (p < 0.001)
    return "&lt; 0.001";
  snprintf(b, sizeof(nbuf), "%.3f", p);
  return b;
}

typedef char cibuf[2 * sizeof(nbuf) + 8];

static const char *fci(cibuf b, double lo, double hi)
{
  nbuf x, y;
  snprintf(b, sizeof(cibuf), "[%s, %s]", f1(x, lo), f1(y, hi));
  return b;
}

/* Okabe-Ito, yellow left out (too pale on white); by arm position. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73",
                                      "#CC79A7", "#E69F00", "#56B4E9",
                                      "#000000"};
#define NPAL ((int)(sizeof palette / sizeof *palette))

static const char *arm_colour(const json_t *r, const char *arm)
{
  size_t i;
  const json_t *a;
  json_array_foreach(json_object_get(r, "arms"), i, a) if (streq(
      str(a, "name"), arm)) return palette[i % NPAL];
  return "#555555";
}

static const struct {
  const char *key, *label;
} ep_label[] = {
    {"tir", "Time in range 70" DASH "180 mg/dL (%)"},
    {"tbr70", "Time below 70 mg/dL (%)"},
    {"tbr54", "Time below 54 mg/dL (%)"},
    {"tar180", "Time above 180 mg/dL (%)"},
    {"tar250", "Time above 250 mg/dL (%)"},
    {"mean", "Mean glucose (mg/dL)"},
    {"cv", "Glucose coefficient of variation (%)"},
    {"gmi", "Glucose management indicator (%)"},
    {"hypo_events_per_week", "Hypoglycaemic events per week"},
    {"tdi", "Total daily insulin (U/day)"},
};

/* The endpoint's label (static text) or its key, escaped. */
static void ep_name(FILE *f, const char *key)
{
  for (size_t i = 0; i < sizeof ep_label / sizeof *ep_label; i++)
    if (streq(key, ep_label[i].key)) {
      fputs(ep_label[i].label, f);
      return;
    }
  esc(f, key);
}

/* ------------------------------------------------------------------------
** Axes. A linear scale maps [d0, d1] onto [r0, r1]; ticks at 1, 2 or 5
** times a power of ten, about n of them.
*/

typedef struct scale {
  double d0, d1, r0, r1;
} scale;

static double sc(const scale *s, double v)
{
  if (!(s->d1 > s->d0))
    return (s->r0 + s->r1) / 2;
  return s->r0 + (v - s->d0) / (s->d1 - s->d0) * (s->r1 - s->r0);
}

static double tick_step(double range, int n)
{
  if (!(range > 0) || !isfinite(range))
    return 1;
  double raw = range / n, p = pow(10, floor(log10(raw))), m = raw / p;
  return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

/* A vertical axis at x (from s's range) with ticks, grid lines to x_end
** and title. */
static void y_axis(FILE *f, const scale *s, double x, double x_end,
                   const char *title_html)
{
  double st = tick_step(s->d1 - s->d0, 5);
  fprintf(f, "<line class=\"ax\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
             "y2=\"%.2f\"/>\n", x, s->r0, x, s->r1);
  for (double v = ceil(s->d0 / st - 1e-9) * st; v <= s->d1 + st * 1e-9;
       v += st) {
    double y = sc(s, v);
    nbuf b;
    fprintf(f, "<line class=\"grid\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
               "y2=\"%.2f\"/><text class=\"tick\" x=\"%.2f\" y=\"%.2f\" "
               "text-anchor=\"end\">%s</text>\n",
            x, y, x_end, y, x - 5, y + 4, fn(b, fabs(v) < st * 1e-9 ? 0 : v));
  }
  double ym = (s->r0 + s->r1) / 2;
  fprintf(f, "<text class=\"title\" transform=\"translate(%.2f %.2f) "
             "rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
          x - 44, ym, title_html);
}

/* A horizontal axis at y with ticks every step (0: automatic). */
static void x_axis(FILE *f, const scale *s, double y, double step,
                   const char *title_html)
{
  double st = step > 0 ? step : tick_step(s->d1 - s->d0, 6);
  fprintf(f, "<line class=\"ax\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
             "y2=\"%.2f\"/>\n", s->r0, y, s->r1, y);
  for (double v = ceil(s->d0 / st - 1e-9) * st; v <= s->d1 + st * 1e-9;
       v += st) {
    double x = sc(s, v);
    nbuf b;
    fprintf(f, "<line class=\"ax\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
               "y2=\"%.2f\"/><text class=\"tick\" x=\"%.2f\" y=\"%.2f\" "
               "text-anchor=\"middle\">%s</text>\n",
            x, y, x, y + 5, x, y + 18, fn(b, fabs(v) < st * 1e-9 ? 0 : v));
  }
  fprintf(f, "<text class=\"title\" x=\"%.2f\" y=\"%.2f\" "
             "text-anchor=\"middle\">%s</text>\n",
          (s->r0 + s->r1) / 2, y + 36, title_html);
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
  esc(f, str(p, "name"));
  fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", css);
  fputs("<h1>Virtual trial: ", f);
  esc(f, str(p, "name"));
  fputs("</h1>\n", f);
}

static void row_s(FILE *f, const char *k, const char *v)
{
  fprintf(f, "<tr><th>%s</th><td>", k);
  esc(f, v);
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
    esc(f, json_string_value(h));
    fputs("</p>\n", f);
  }
  fputs("<h2>Protocol</h2>\n<table>\n", f);
  row_s(f, "name", str(p, "name"));
  if (json_is_integer(json_object_get(p, "seed"))) {
    snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(p, "seed")));
    row_n(f, "seed", b);
  }
  if (json_object_get(p, "days"))
    row_n(f, "days", fn(b, num(p, "days")));
  if (json_object_get(p, "patients"))
    row_n(f, "patients", fn(b, num(p, "patients")));
  if (str(p, "model"))
    row_s(f, "model", str(p, "model"));
  if (str(p, "file"))
    row_s(f, "protocol file", str(p, "file"));
  fputs("</table>\n", f);
}

static void run_meta(FILE *f, const json_t *r)
{
  const json_t *m = json_object_get(r, "run");
  if (!m)
    return;
  nbuf b;
  fputs("<h2>Run</h2>\n<table>\n", f);
  if (str(m, "medtwin"))
    row_s(f, "medtwin version", str(m, "medtwin"));
  if (str(m, "finished"))
    row_s(f, "finished (UTC)", str(m, "finished"));
  if (str(m, "host"))
    row_s(f, "host", str(m, "host"));
  if (json_object_get(m, "seconds"))
    row_n(f, "wall time (s)", f1(b, num(m, "seconds")));
  if (json_object_get(m, "threads"))
    row_n(f, "threads", fn(b, num(m, "threads")));
  if (json_object_get(m, "patient_days_per_second"))
    row_n(f, "patient-days per second", f1(b, num(m, "patient_days_per_second")));
  fputs("</table>\n", f);
}

static void cohort(FILE *f, const json_t *r)
{
  const json_t *c = json_object_get(r, "cohort");
  nbuf b;
  fputs("<h2>Cohort</h2>\n<table>\n", f);
  if (str(c, "source"))
    row_s(f, "source", str(c, "source"));
  if (json_object_get(c, "patients"))
    row_n(f, "patients", fn(b, num(c, "patients")));
  if (json_object_get(c, "draws"))
    row_n(f, "parameter draws", fn(b, num(c, "draws")));
  if (json_object_get(c, "rejection_rate")) {
    double x = num(c, "rejection_rate") * 100;
    char pct[64];
    snprintf(pct, sizeof pct, "%s %%", f1(b, x));
    row_n(f, "rejection rate", pct);
  }
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)json_object_get(c, "age_groups"), k, v) {
    fputs("<tr><th>age group ", f);
    esc(f, k);
    fprintf(f, "</th><td class=\"n\">%s</td></tr>\n",
            fn(b, json_is_number(v) ? json_number_value(v) : NAN));
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
    esc(f, str(a, "name"));
    if (str(a, "kind")) {
      fputs(" <span class=\"note\">(", f);
      esc(f, str(a, "kind"));
      fputs(")</span>", f);
    }
    fputs("</th>", f);
  }
  fputs("</tr>\n", f);
  json_object_foreach((json_t *)eps0, k, e) {
    fputs("<tr><th>", f);
    ep_name(f, k);
    fputs("</th>", f);
    json_array_foreach(arms, i, a) {
      const json_t *s = json_object_get(json_object_get(a, "endpoints"), k);
      fprintf(f, "<td class=\"n\">%s &plusmn; %s<br>%s [%s, %s]</td>",
              f1(b1, num(s, "mean")), f1(b2, num(s, "sd")),
              f1(b3, num(s, "median")), f1(b4, num(s, "q1")),
              f1(b5, num(s, "q3")));
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
    ci(t, "ci", &lo, &hi);
    ci(bs, "ci", &blo, &bhi);
    fprintf(f, "<tr%s><td>", primary ? " class=\"primary\"" : "");
    esc(f, str(c, "arm"));
    fputs("</td><td>", f);
    esc(f, str(c, "reference"));
    fputs("</td><td>", f);
    ep_name(f, str(c, "endpoint"));
    if (primary)
      fputs("<span class=\"badge\">primary</span>", f);
    fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
               "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
            f1(b1, num(t, "estimate")), fci(b2, lo, hi),
            fp(b3, num(t, "p")), bs ? fci(b4, blo, bhi) : DASH);
  }
  fputs("</table>\n", f);
}

/* The primary endpoint: that of the first comparison marked primary, else
** the first endpoint of the first arm. */
static const char *primary_endpoint(const json_t *r)
{
  size_t i;
  const json_t *c;
  json_array_foreach(json_object_get(r, "comparisons"), i, c) if (json_is_true(
      json_object_get(c, "primary"))) return str(c, "endpoint");
  void *it = json_object_iter(json_object_get(
      json_array_get(json_object_get(r, "arms"), 0), "endpoints"));
  return it ? json_object_iter_key(it) : NULL;
}

/* ------------------------------------------------------------------------
** Figure 1: the distribution of an endpoint per arm.
*/

typedef struct dist {
  double min, q1, median, q3, max;
  double *x;  /* the patients' values (NULL: from the summary) */
  double *ix; /* their indices, for the jitter */
  int n;
} dist;

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Hyndman-Fan type 7 quantile of sorted x[0..n-1]. */
static double quantile7(const double *x, int n, double p)
{
  double h = (n - 1) * p;
  int lo = (int)floor(h);
  if (lo >= n - 1)
    return x[n - 1];
  return x[lo] + (h - lo) * (x[lo + 1] - x[lo]);
}

/* The arm's values of endpoint ep from results.patients into d (d->n = 0
** when there are none); MT_ENOMEM. */
static int dist_of(const json_t *r, const char *arm, const char *ep, dist *d)
{
  const json_t *ps = json_object_get(r, "patients"), *p;
  size_t i, n = json_array_size(ps);
  d->x = d->ix = NULL;
  d->n = 0;
  if (n == 0)
    return 0;
  double *sorted = malloc(n * sizeof *sorted);
  d->x = malloc(n * sizeof *d->x);
  d->ix = malloc(n * sizeof *d->ix);
  if (!sorted || !d->x || !d->ix) {
    free(sorted);
    free(d->x);
    free(d->ix);
    d->x = d->ix = NULL;
    return MT_ENOMEM;
  }
  json_array_foreach(ps, i, p) {
    double v = num(json_object_get(json_object_get(p, "endpoints"), arm), ep);
    if (!isfinite(v))
      continue;
    double ix = num(p, "index");
    d->ix[d->n] = isfinite(ix) ? ix : (double)i;
    d->x[d->n] = sorted[d->n] = v;
    d->n++;
  }
  if (d->n > 0) {
    qsort(sorted, (size_t)d->n, sizeof *sorted, cmp_d);
    d->min = sorted[0];
    d->max = sorted[d->n - 1];
    d->q1 = quantile7(sorted, d->n, 0.25);
    d->median = quantile7(sorted, d->n, 0.5);
    d->q3 = quantile7(sorted, d->n, 0.75);
  }
  free(sorted);
  return 0;
}

static void dist_from_summary(const json_t *s, dist *d)
{
  d->min = num(s, "min");
  d->q1 = num(s, "q1");
  d->median = num(s, "median");
  d->q3 = num(s, "q3");
  d->max = num(s, "max");
}

/* A deterministic jitter in [-0.5, 0.5) from a patient's index (the
** fractional part of index times the golden ratio's conjugate). */
static double jitter(double index)
{
  double v = index * 0.6180339887498949;
  return v - floor(v) - 0.5;
}

#define F1_W 640.0
#define F1_H 360.0
#define F1_L 80.0
#define F1_R 620.0
#define F1_T 20.0
#define F1_B 300.0

static void box(FILE *f, const dist *d, double xc, double half,
                const scale *ys, const char *col)
{
  if (!isfinite(d->q1) || !isfinite(d->q3) || !isfinite(d->median))
    return;
  double y1 = sc(ys, d->q1), y3 = sc(ys, d->q3);
  if (isfinite(d->min) && isfinite(d->max))
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
               "stroke=\"%s\" stroke-width=\"1.5\"/>"
               "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
               "stroke=\"%s\" stroke-width=\"1.5\"/>"
               "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
               "stroke=\"%s\" stroke-width=\"1.5\"/>\n",
            xc, sc(ys, d->min), xc, sc(ys, d->max), col, xc - half / 2,
            sc(ys, d->min), xc + half / 2, sc(ys, d->min), col,
            xc - half / 2, sc(ys, d->max), xc + half / 2, sc(ys, d->max),
            col);
  fprintf(f, "<rect class=\"box\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
             "height=\"%.2f\" fill=\"%s\" fill-opacity=\"0.18\" stroke=\"%s\" "
             "stroke-width=\"1.5\"/>\n<line x1=\"%.2f\" y1=\"%.2f\" "
             "x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
          xc - half, y3, 2 * half, y1 - y3, col, col, xc - half,
          sc(ys, d->median), xc + half, sc(ys, d->median), col);
}

/* The y domain of the arms' distributions, widened to whole ticks. */
static scale dist_scale(const dist *d, int n)
{
  double lo = INFINITY, hi = -INFINITY;
  for (int a = 0; a < n; a++) {
    if (isfinite(d[a].min)) lo = fmin(lo, d[a].min);
    if (isfinite(d[a].max)) hi = fmax(hi, d[a].max);
    if (isfinite(d[a].q1)) lo = fmin(lo, d[a].q1);
    if (isfinite(d[a].q3)) hi = fmax(hi, d[a].q3);
  }
  if (!(lo <= hi))
    lo = 0, hi = 1;
  if (hi - lo < 1e-9)
    lo -= 1, hi += 1;
  double st = tick_step(hi - lo, 5);
  return (scale){floor(lo / st) * st, ceil(hi / st) * st, F1_B, F1_T};
}

static int fig_dist(FILE *f, const json_t *r, const char *ep, char sub)
{
  const json_t *arms = json_object_get(r, "arms"), *a;
  size_t na = json_array_size(arms), i;
  dist *d = calloc(na, sizeof *d);
  int rc = d ? 0 : MT_ENOMEM, from_patients = 0;
  json_array_foreach(arms, i, a) {
    if (rc)
      break;
    rc = dist_of(r, str(a, "name"), ep, &d[i]);
    if (d[i].n == 0)
      dist_from_summary(json_object_get(json_object_get(a, "endpoints"), ep),
                        &d[i]);
    else
      from_patients = 1;
  }
  if (!rc) {
    scale ys = dist_scale(d, (int)na);
    double slot = (F1_R - F1_L) / (double)na;
    fprintf(f, "<figure>\n<svg class=\"fig1\" viewBox=\"0 0 %.0f %.0f\" "
               "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"",
            F1_W, F1_H, F1_W, F1_H);
    ep_name(f, ep);
    fputs(" by arm\">\n", f);
    fputs("<g>", f);
    y_axis(f, &ys, F1_L, F1_R, "");
    fputs("</g>\n<text class=\"title\" transform=\"translate(22 160) "
          "rotate(-90)\" text-anchor=\"middle\">", f);
    ep_name(f, ep);
    fputs("</text>\n", f);
    fprintf(f, "<line class=\"ax\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
               "y2=\"%.2f\"/>\n", F1_L, F1_B, F1_R, F1_B);
    json_array_foreach(arms, i, a) {
      double xc = F1_L + slot * (i + 0.5), half = fmin(slot * 0.22, 60);
      const char *col = palette[i % NPAL];
      box(f, &d[i], xc, half, &ys, col);
      for (int k = 0; k < d[i].n; k++)
        fprintf(f, "<circle class=\"pt\" cx=\"%.2f\" cy=\"%.2f\" r=\"2.6\" "
                   "fill=\"%s\" fill-opacity=\"0.55\" stroke=\"none\"/>\n",
                xc + jitter(d[i].ix[k]) * 1.6 * half, sc(&ys, d[i].x[k]), col);
      fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
              xc, F1_B + 20);
      esc(f, str(a, "name"));
      fputs("</text>\n", f);
    }
    fputs("</svg>\n<figcaption><b>Figure 1", f);
    fprintf(f, "%c.</b> ", sub);
    ep_name(f, ep);
    fputs(" by arm: box from Q1 to Q3, thick line at the median, whiskers "
          "from minimum to maximum", f);
    fputs(from_patients ? "; each dot is one patient (spread sideways to "
                          "be seen, by a fixed offset from its index)."
                        : " (from the summary quartiles: the results hold no "
                          "per-patient values).", f);
    fputs("</figcaption>\n</figure>\n", f);
  }
  for (size_t k = 0; d && k < na; k++) {
    free(d[k].x);
    free(d[k].ix);
  }
  free(d);
  return rc;
}

static int figure1(FILE *f, const json_t *r)
{
  const char *ep = primary_endpoint(r);
  int rc = 0;
  const json_t *eps0 = json_object_get(
      json_array_get(json_object_get(r, "arms"), 0), "endpoints");
  fputs("<h2>Figure 1. Distributions per arm</h2>\n", f);
  if (ep)
    rc = fig_dist(f, r, ep, 'a');
  if (!rc && !streq(ep, "tbr70") && json_object_get(eps0, "tbr70"))
    rc = fig_dist(f, r, "tbr70", ep ? 'b' : 'a');
  return rc;
}

/* ------------------------------------------------------------------------
** Figure 2: forest plot. Scale (documented in docs/trial-report.md): the
** domain is [lo - 5% w, hi + 5% w], lo and hi the smallest and largest of
** 0 and every drawn estimate and interval end, w = hi - lo (1 when 0),
** mapped linearly onto x = FP_X0 .. FP_X1.
*/

#define FP_W 980.0
#define FP_X0 390.0
#define FP_X1 700.0
#define FP_ROW 22.0
#define FP_TOP 40.0

typedef struct frow {
  const json_t *j; /* the comparison or subgroup */
  const json_t *eff;
  int sub;         /* 1 for a subgroup row */
} frow;

static void fp_domain(const frow *rows, int n, double *d0, double *d1)
{
  double lo = 0, hi = 0;
  for (int i = 0; i < n; i++) {
    double v[3];
    v[0] = num(rows[i].eff, "estimate");
    ci(rows[i].eff, "ci", &v[1], &v[2]);
    for (int k = 0; k < 3; k++)
      if (isfinite(v[k])) {
        lo = fmin(lo, v[k]);
        hi = fmax(hi, v[k]);
      }
  }
  double w = hi - lo > 0 ? hi - lo : 1;
  *d0 = lo - 0.05 * w;
  *d1 = hi + 0.05 * w;
}

static void fp_row(FILE *f, const json_t *r, const frow *w, double y,
                   const scale *xs)
{
  const json_t *j = w->j;
  int flag = w->sub && json_is_true(json_object_get(j, "flag"));
  double est = num(w->eff, "estimate"), lo, hi;
  const char *col = arm_colour(r, str(j, "arm"));
  nbuf b1, b2, b4;
  cibuf b3;
  ci(w->eff, "ci", &lo, &hi);
  fprintf(f, "<g class=\"fr %s%s\">", w->sub ? "sub" : "overall",
          flag ? " flag" : "");
  fprintf(f, "<text x=\"10\" y=\"%.2f\"%s>", y + 4,
          w->sub ? "" : " font-weight=\"bold\"");
  if (w->sub) {
    fputs("&#160;&#160;", f);
    esc(f, str(j, "covariate"));
    fputs(" = ", f);
    esc(f, str(j, "level"));
  } else
    fputs("All patients", f);
  if (flag)
    fputs(" *", f);
  fprintf(f, "</text><text x=\"210\" y=\"%.2f\">", y + 4);
  esc(f, str(j, "arm"));
  double n = w->sub ? num(j, "n") : num(w->eff, "n");
  fprintf(f, "</text><text x=\"370\" y=\"%.2f\" text-anchor=\"end\">%s"
             "</text>", y + 4, fn(b1, n));
  if (isfinite(lo) && isfinite(hi))
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
               "stroke=\"%s\" stroke-width=\"2\"/>",
            sc(xs, lo), y, sc(xs, hi), y, col);
  if (isfinite(est)) {
    if (w->sub)
      fprintf(f, "<circle class=\"est\" cx=\"%.2f\" cy=\"%.2f\" r=\"4\" "
                 "fill=\"%s\" stroke=\"%s\"/>", sc(xs, est), y,
              flag ? "#ffffff" : col, col);
    else
      fprintf(f, "<circle class=\"est\" cx=\"%.2f\" cy=\"%.2f\" r=\"6\" "
                 "fill=\"%s\" stroke=\"#000\"/>", sc(xs, est), y, col);
  }
  fprintf(f, "<text x=\"%.2f\" y=\"%.2f\">%s %s</text>", FP_X1 + 14, y + 4,
          f1(b2, est), fci(b3, lo, hi));
  fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>",
          FP_W - 10, y + 4,
          w->sub ? fp(b4, num(json_object_get(j, "interaction"), "p")) : "");
  fputs("</g>\n", f);
}

static int figure2(FILE *f, const json_t *r)
{
  const json_t *cs = json_object_get(r, "comparisons"),
               *gs = json_object_get(r, "subgroups"),
               *mu = json_object_get(r, "multiplicity"), *e;
  size_t i, n = 0, cap = json_array_size(cs) + json_array_size(gs);
  frow *rows = calloc(cap ? cap : 1, sizeof *rows);
  if (!rows)
    return MT_ENOMEM;
  const char *ep = NULL;
  json_array_foreach(cs, i, e) if (json_is_true(json_object_get(e, "primary")))
  {
    rows[n++] = (frow){e, json_object_get(e, "paired_t"), 0};
    ep = str(e, "endpoint");
  }
  json_array_foreach(gs, i, e) {
    rows[n++] = (frow){e, json_object_get(e, "effect"), 1};
    if (!ep)
      ep = str(e, "endpoint");
  }
  if (n == 0) {
    free(rows);
    return 0;
  }
  scale xs = {0, 0, FP_X0, FP_X1};
  fp_domain(rows, (int)n, &xs.d0, &xs.d1);
  double y_end = FP_TOP + FP_ROW * (double)n, h = y_end + 50;
  fputs("<h2>Figure 2. Effect on the primary endpoint, overall and by "
        "subgroup</h2>\n<figure>\n", f);
  fprintf(f, "<svg class=\"fig2\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
             "height=\"%.0f\" role=\"img\" aria-label=\"forest plot\">\n",
          FP_W, h, FP_W, h);
  fprintf(f, "<g font-weight=\"bold\"><text x=\"10\" y=\"20\">subgroup"
             "</text><text x=\"210\" y=\"20\">arm</text><text x=\"370\" "
             "y=\"20\" text-anchor=\"end\">n</text><text x=\"%.2f\" y=\"20\">"
             "effect [CI]</text><text x=\"%.2f\" y=\"20\" "
             "text-anchor=\"end\">interaction p</text></g>\n",
          FP_X1 + 14, FP_W - 10);
  fprintf(f, "<line class=\"zero\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
             "y2=\"%.2f\"/>\n", sc(&xs, 0), FP_TOP - 12, sc(&xs, 0),
          y_end - 8);
  for (size_t k = 0; k < n; k++)
    fp_row(f, r, &rows[k], FP_TOP + FP_ROW * (double)k, &xs);
  fputs("<g>", f);
  x_axis(f, &xs, y_end - 6, 0, "");
  fputs("</g>\n<text class=\"title\" x=\"545\" y=\"", f);
  fprintf(f, "%.2f\" text-anchor=\"middle\">arm &minus; reference: ",
          y_end + 34);
  ep_name(f, ep);
  fputs("</text>\n</svg>\n<figcaption><b>Figure 2.</b> Within-patient "
        "difference (arm &minus; reference) in the primary endpoint with its "
        "confidence interval: all patients first (large markers), then each "
        "subgroup level. The dashed line is no difference. Interaction p: "
        "this level's differences against the rest of the cohort's (Welch). "
        "Rows marked * (open marker) are flagged: interaction p below the "
        "Bonferroni-adjusted threshold. Subgroup results are exploratory."
        "</figcaption>\n</figure>\n", f);
  if (mu) {
    nbuf b1, b2;
    fputs("<p class=\"note\">", f);
    if (str(mu, "note")) {
      esc(f, str(mu, "note"));
      fputs(". ", f);
    }
    fprintf(f, "Interaction tests: %s; Bonferroni-adjusted level: %s.</p>\n",
            fn(b1, num(mu, "interaction_tests")),
            isfinite(num(mu, "bonferroni_level"))
                ? (snprintf(b2, sizeof b2, "%.4g",
                            num(mu, "bonferroni_level")), b2)
                : DASH);
  }
  free(rows);
  return 0;
}

/* The twin's forecast MARD by subgroup level (the bias check). */
static void mard_table(FILE *f, const json_t *r)
{
  const json_t *gs = json_object_get(r, "subgroups"), *g;
  size_t i;
  int any = 0;
  nbuf b1, b2;
  json_array_foreach(gs, i, g) {
    if (!json_object_get(g, "twin_forecast_mard_pct"))
      continue;
    if (!any++)
      fputs("<h2>Twin forecast error by subgroup</h2>\n<p class=\"note\">"
            "Mean absolute relative difference of the twin's 30-minute "
            "forecasts against the true glucose, by subgroup level: a level "
            "where the twin forecasts worse is a level where its advice may "
            "be biased.</p>\n<table>\n<tr><th>covariate</th><th>level</th>"
            "<th>arm</th><th>n</th><th>forecast MARD (%)</th></tr>\n", f);
    fputs("<tr><td>", f);
    esc(f, str(g, "covariate"));
    fputs("</td><td>", f);
    esc(f, str(g, "level"));
    fputs("</td><td>", f);
    esc(f, str(g, "arm"));
    fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
            fn(b1, num(g, "n")), f1(b2, num(g, "twin_forecast_mard_pct")));
  }
  if (any)
    fputs("</table>\n", f);
}

/* ------------------------------------------------------------------------
** Figure 3: example trajectories, the first 48 h of each example.
*/

#define F3_W 980.0
#define F3_L 110.0
#define F3_R 960.0
#define F3_T 40.0
#define F3_B 300.0
#define WINDOW_MIN (48 * 60.0)

/* A polyline of arm series v (every dt from t0) inside [t0, t1). */
static void series_line(FILE *f, const json_t *v, double t0, double dt,
                        double t1, const scale *xs, const scale *ys,
                        const char *col)
{
  size_t i;
  const json_t *e;
  int open = 0;
  json_array_foreach(v, i, e) {
    double t = t0 + dt * (double)i, g = json_number_value(e);
    if (t >= t1)
      break;
    if (!json_is_number(e) || !isfinite(g)) {
      if (open)
        fputs("\"/>\n", f);
      open = 0;
      continue;
    }
    g = fmin(fmax(g, ys->d0), ys->d1);
    if (!open)
      fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" "
                 "points=\"", col);
    fprintf(f, "%s%.1f,%.1f", open ? " " : "", sc(xs, t / 60), sc(ys, g));
    open = 1;
  }
  if (open)
    fputs("\"/>\n", f);
}

/* The smallest and largest of series v (every dt from t0) before t1, into
** *lo and *hi (left as they are when there is none). */
static void series_range(const json_t *v, double t0, double dt, double t1,
                         double *lo, double *hi)
{
  size_t i;
  const json_t *e;
  json_array_foreach(v, i, e) {
    if (t0 + dt * (double)i >= t1)
      break;
    if (json_is_number(e) && isfinite(json_number_value(e))) {
      *lo = fmin(*lo, json_number_value(e));
      *hi = fmax(*hi, json_number_value(e));
    }
  }
}

static void forecasts(FILE *f, const json_t *arm, double t0, double t1,
                      const scale *xs, const scale *ys, const char *col)
{
  size_t i, k;
  const json_t *fc, *h;
  double busy_until = -INFINITY; /* the end of the last forecast drawn */
  json_array_foreach(json_object_get(arm, "forecasts"), i, fc) {
    double tf = num(fc, "t_min");
    const json_t *hz = json_object_get(fc, "horizon_min"),
                 *mean = json_object_get(fc, "mean_mgdl"),
                 *lo = json_object_get(fc, "lo_mgdl"),
                 *hi = json_object_get(fc, "hi_mgdl");
    if (!isfinite(tf) || tf < t0 || tf >= t1 || tf < busy_until)
      continue;
    size_t n = json_array_size(hz);
    int ok_band = json_array_size(lo) >= n && json_array_size(hi) >= n;
    /* the points inside the window */
    size_t m = 0;
    json_array_foreach(hz, k, h) {
      if (!json_is_number(h) || tf + json_number_value(h) >= t1)
        break;
      m = k + 1;
      busy_until = fmax(busy_until, tf + json_number_value(h));
    }
    if (m < 2)
      continue;
#define FX(k) sc(xs, (tf + json_number_value(json_array_get(hz, k))) / 60)
#define FY(a, k)                                                             \
  sc(ys, fmin(fmax(json_number_value(json_array_get(a, k)), ys->d0), ys->d1))
    if (ok_band) {
      fprintf(f, "<polygon class=\"fcband\" fill=\"%s\" fill-opacity=\"0.16\" "
                 "stroke=\"none\" points=\"", col);
      for (k = 0; k < m; k++)
        fprintf(f, "%s%.1f,%.1f", k ? " " : "", FX(k), FY(hi, k));
      for (k = m; k-- > 0;)
        fprintf(f, " %.1f,%.1f", FX(k), FY(lo, k));
      fputs("\"/>\n", f);
    }
    if (json_array_size(mean) >= m) {
      fprintf(f, "<polyline class=\"fcmean\" fill=\"none\" stroke=\"%s\" "
                 "stroke-width=\"1.6\" stroke-dasharray=\"5 3\" points=\"",
              col);
      for (k = 0; k < m; k++)
        fprintf(f, "%s%.1f,%.1f", k ? " " : "", FX(k), FY(mean, k));
      fputs("\"/>\n", f);
    }
#undef FX
#undef FY
  }
}

static void cgm_dots(FILE *f, const json_t *v, double t0, double dt,
                     double t1, const scale *xs, const scale *ys,
                     const char *col)
{
  size_t i;
  const json_t *e;
  json_array_foreach(v, i, e) {
    double t = t0 + dt * (double)i;
    if (t >= t1)
      break;
    if (!json_is_number(e) || !isfinite(json_number_value(e)))
      continue;
    double g = fmin(fmax(json_number_value(e), ys->d0), ys->d1);
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.3\" fill=\"%s\"/>\n",
            sc(xs, t / 60), sc(ys, g), col);
  }
}

static void meals(FILE *f, const json_t *arm, double t0, double t1,
                  const scale *xs, double y)
{
  size_t i;
  const json_t *m;
  nbuf b;
  json_array_foreach(json_object_get(arm, "meals"), i, m) {
    double t = num(m, "t_min");
    if (!(t >= t0 && t < t1))
      continue;
    double x = sc(xs, t / 60);
    fprintf(f, "<path d=\"M%.1f,%.1f l-5,9 h10 z\" fill=\"#E69F00\" "
               "stroke=\"#333\"/><text x=\"%.1f\" y=\"%.1f\" "
               "text-anchor=\"middle\" font-size=\"10\">%s g%s</text>\n",
            x, y, x, y + 20, fn(b, round(num(m, "grams"))),
            json_is_true(json_object_get(m, "bolus_missed")) ? " (no bolus)"
            : json_is_true(json_object_get(m, "snack"))      ? " (snack)"
                                                             : "");
  }
}

static void boluses(FILE *f, const json_t *arm, double t0, double t1,
                    const scale *xs, double y, const char *col)
{
  size_t i;
  const json_t *b;
  json_array_foreach(json_object_get(arm, "boluses"), i, b) {
    double t = num(b, "t_min");
    if (!(t >= t0 && t < t1))
      continue;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"%s\" stroke-width=\"2\"/>\n",
            sc(xs, t / 60), y - 5, sc(xs, t / 60), y + 5, col);
  }
}

static void legend(FILE *f, const json_t *r, const json_t *arms, double y)
{
  size_t i;
  const json_t *a;
  double x = F3_L;
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"10\" "
             "fill=\"#009E73\" fill-opacity=\"0.12\"/><text x=\"%.1f\" "
             "y=\"%.1f\">70" DASH "180 mg/dL</text>\n", x, y - 9, x + 22, y);
  x += 120;
  json_array_foreach(arms, i, a) {
    const char *col = arm_colour(r, str(a, "arm"));
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"%s\" stroke-width=\"2\"/><text x=\"%.1f\" "
               "y=\"%.1f\">", x, y - 4, x + 18, y - 4, col, x + 22, y);
    esc(f, str(a, "arm"));
    fputs("</text>\n", f);
    x += 130;
  }
  a = json_array_get(arms, 0);
  fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>"
             "<text x=\"%.1f\" y=\"%.1f\">CGM (", x + 9, y - 4,
          arm_colour(r, str(a, "arm")), x + 22, y);
  esc(f, str(a, "arm"));
  fputs(")</text>\n", f);
  x += 150;
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"10\" "
             "fill=\"#777\" fill-opacity=\"0.3\"/><line x1=\"%.1f\" "
             "y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" "
             "stroke-dasharray=\"5 3\" stroke-width=\"1.6\"/><text "
             "x=\"%.1f\" y=\"%.1f\">twin forecast: mean, interval</text>\n",
          x, y - 9, x, y - 4, x + 18, y - 4, x + 22, y);
}

static void example(FILE *f, const json_t *r, const json_t *ex)
{
  const json_t *arms = json_object_get(ex, "arms"), *a;
  double t0 = num(ex, "from_min"), t1 = num(ex, "to_min");
  size_t i, na = json_array_size(arms);
  nbuf b1, b2;
  if (!isfinite(t0))
    t0 = 0;
  if (!(t1 > t0) || t1 - t0 > WINDOW_MIN)
    t1 = t0 + WINDOW_MIN;
  double gmin = 40, gmax = 300;
  json_array_foreach(arms, i, a) {
    double dt = num(a, "every_min") > 0 ? num(a, "every_min") : 5;
    series_range(json_object_get(a, "bg_mgdl"), t0, dt, t1, &gmin, &gmax);
    if (i == 0)
      series_range(json_object_get(a, "cgm_mgdl"), t0, dt, t1, &gmin, &gmax);
  }
  gmin = fmax(floor(gmin / 20) * 20, 0);
  gmax = fmin(ceil(gmax / 50) * 50, 600);
  scale xs = {t0 / 60, t1 / 60, F3_L, F3_R}, ys = {gmin, gmax, F3_B, F3_T};
  double y_meal = F3_B + 50, y_bol = y_meal + 40,
         h = y_bol + 18 * (double)na + 10;
  fprintf(f, "<figure>\n<svg class=\"fig3\" viewBox=\"0 0 %.0f %.0f\" "
             "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\""
             "trajectories of patient ", F3_W, h, F3_W, h);
  esc(f, str(ex, "id"));
  fputs("\">\n", f);
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
             "fill=\"#009E73\" fill-opacity=\"0.12\"/>\n", F3_L,
          sc(&ys, 180), F3_R - F3_L, sc(&ys, 70) - sc(&ys, 180));
  y_axis(f, &ys, F3_L, F3_R, "glucose (mg/dL)");
  x_axis(f, &xs, F3_B, 6, "time since the start of the run (h)");
  legend(f, r, arms, 18);
  json_array_foreach(arms, i, a) {
    double dt = num(a, "every_min") > 0 ? num(a, "every_min") : 5;
    const char *col = arm_colour(r, str(a, "arm"));
    if (streq(str(a, "kind"), "twin"))
      forecasts(f, a, t0, t1, &xs, &ys, col);
    series_line(f, json_object_get(a, "bg_mgdl"), t0, dt, t1, &xs, &ys, col);
  }
  a = json_array_get(arms, 0);
  cgm_dots(f, json_object_get(a, "cgm_mgdl"), t0,
           num(a, "every_min") > 0 ? num(a, "every_min") : 5, t1, &xs, &ys,
           arm_colour(r, str(a, "arm")));
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">meals</text>\n",
          F3_L - 6, y_meal + 9);
  meals(f, a, t0, t1, &xs, y_meal);
  json_array_foreach(arms, i, a) {
    double y = y_bol + 18 * (double)i;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
               "font-size=\"10\">bolus ", F3_L - 6, y + 4);
    esc(f, str(a, "arm"));
    fputs("</text>\n", f);
    boluses(f, a, t0, t1, &xs, y, arm_colour(r, str(a, "arm")));
  }
  fputs("</svg>\n<figcaption><b>Figure 3: ", f);
  esc(f, str(ex, "id"));
  fprintf(f, "</b> (patient %s), hours %s" DASH, fn(b1, num(ex, "index")),
          f1(b2, t0 / 60));
  fprintf(f, "%s since the start of the run.</figcaption>\n</figure>\n",
          f1(b1, t1 / 60));
}

static void figure3(FILE *f, const json_t *r)
{
  const json_t *exs = json_object_get(r, "examples"), *ex;
  size_t i;
  if (!json_array_size(exs))
    return;
  fputs("<h2>Figure 3. Example trajectories</h2>\n<p class=\"note\">The "
        "first 48 hours after the warm-up of each example patient: the true "
        "plasma glucose in every arm (lines), the first arm's CGM readings "
        "(dots), meals with their grams on the time axis, every arm's "
        "boluses as ticks, and the twin arm's forecasts (dashed mean, shaded "
        "interval; a forecast is drawn only when the previous one drawn has "
        "ended, so that none overlap). Shaded band: "
        "the 70" DASH "180 mg/dL target range. Glucose outside the axis is "
        "drawn at its edge.</p>\n", f);
  json_array_foreach(exs, i, ex) example(f, r, ex);
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
    esc(f, str(s, "arm"));
    fputs("</td><td>", f);
    esc(f, str(s, "reference"));
    fputs("</td><td>", f);
    ep_name(f, str(s, "endpoint"));
    double pw = num(s, "power"), se = num(s, "mc_se");
    if (isfinite(pw))
      snprintf(b3, sizeof b3, "%.3f (%.3f)", pw, se);
    fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
               "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">"
               "%s</td><td>%s</td></tr>\n",
            isfinite(num(s, "target_power"))
                ? (snprintf(b1, sizeof b1, "%.2f", num(s, "target_power")), b1)
                : DASH,
            fn(b2, num(s, "n")), isfinite(pw) ? b3 : DASH,
            fn(b4, num(s, "replicates_per_size")),
            fn(b5, num(s, "normal_approx_n")),
            json_is_boolean(json_object_get(s, "reached"))
                ? (json_is_true(json_object_get(s, "reached")) ? "yes" : "no")
                : (snprintf(b6, sizeof b6, "%s", DASH), b6));
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
  rc = figure1(out, results);
  if (!rc)
    rc = figure2(out, results);
  if (rc) {
    if (err && errlen)
      snprintf(err, errlen, "report: %s", mt_strerror(rc));
    return rc;
  }
  mard_table(out, results);
  figure3(out, results);
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
