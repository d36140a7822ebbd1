/*
** Formatting and SVG axes of the virtual-trial report
** (src/twin/trial_report_impl.h): tolerant readers of the results, HTML
** escaping, numbers, the arms' colours (Okabe & Ito, "Color Universal
** Design", 2008) and linear axes with ticks.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "trial_report_impl.h"

double rpt_num(const json_t *o, const char *k)
{
  const json_t *j = json_object_get(o, k);
  return json_is_number(j) ? json_number_value(j) : NAN;
}

const char *rpt_str(const json_t *o, const char *k)
{
  return json_string_value(json_object_get(o, k));
}

int rpt_streq(const char *a, const char *b)
{
  return a && b && !strcmp(a, b);
}

/* The interval o[k] into lo, hi (NAN when not an interval). */
void rpt_ci(const json_t *o, const char *k, double *lo, double *hi)
{
  const json_t *a = json_object_get(o, k);
  *lo = json_is_number(json_array_get(a, 0))
            ? json_number_value(json_array_get(a, 0)) : NAN;
  *hi = json_is_number(json_array_get(a, 1))
            ? json_number_value(json_array_get(a, 1)) : NAN;
}

const char *rpt_f1(nbuf b, double x)
{
  if (!isfinite(x))
    return RPT_DASH;
  snprintf(b, sizeof(nbuf), "%.1f", x);
  return b;
}

/* An integer-valued count, or with one decimal when it is not whole. */
const char *rpt_fn(nbuf b, double x)
{
  if (isfinite(x) && x == floor(x) && fabs(x) < 1e15) {
    snprintf(b, sizeof(nbuf), "%.0f", x);
    return b;
  }
  return rpt_f1(b, x);
}

/* A p value, already HTML: "&lt; 0.001" below 0.001, else 3 decimals. */
const char *rpt_fp(nbuf b, double p)
{
  if (!isfinite(p))
    return RPT_DASH;
  if (p < 0.001)
    return "&lt; 0.001";
  snprintf(b, sizeof(nbuf), "%.3f", p);
  return b;
}

const char *rpt_fci(cibuf b, double lo, double hi)
{
  nbuf x, y;
  snprintf(b, sizeof(cibuf), "[%s, %s]", rpt_f1(x, lo), rpt_f1(y, hi));
  return b;
}

/* Okabe-Ito, yellow left out (too pale on white); by arm position. */
const char *const rpt_palette[RPT_NPAL] = {"#0072B2", "#D55E00", "#009E73",
                                           "#CC79A7", "#E69F00", "#56B4E9",
                                           "#000000"};

const char *rpt_arm_colour(const json_t *r, const char *arm)
{
  size_t i;
  const json_t *a;
  json_array_foreach(json_object_get(r, "arms"), i, a) if (rpt_streq(
      rpt_str(a, "name"), arm)) return rpt_palette[i % RPT_NPAL];
  return "#555555";
}

static const struct {
  const char *key, *label;
} ep_label[] = {
    {"tir", "Time in range 70" RPT_DASH "180 mg/dL (%)"},
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
void rpt_ep_name(FILE *f, const char *key)
{
  for (size_t i = 0; i < sizeof ep_label / sizeof *ep_label; i++)
    if (rpt_streq(key, ep_label[i].key)) {
      fputs(ep_label[i].label, f);
      return;
    }
  mt_markup_escape(f, key);
}

/* ------------------------------------------------------------------------
** Axes. A linear scale maps [d0, d1] onto [r0, r1]; ticks at 1, 2 or 5
** times a power of ten, about n of them.
*/

double rpt_sc(const rpt_scale *s, double v)
{
  if (!(s->d1 > s->d0))
    return (s->r0 + s->r1) / 2;
  return s->r0 + (v - s->d0) / (s->d1 - s->d0) * (s->r1 - s->r0);
}

double rpt_tick_step(double range, int n)
{
  if (!(range > 0) || !isfinite(range))
    return 1;
  double raw = range / n, p = pow(10, floor(log10(raw))), m = raw / p;
  return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

/* A vertical axis at x (from s's range) with ticks, grid lines to x_end
** and title. */
void rpt_y_axis(FILE *f, const rpt_scale *s, double x, double x_end,
                   const char *title_html)
{
  double st = rpt_tick_step(s->d1 - s->d0, 5);
  fprintf(f, "<line class=\"ax\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
             "y2=\"%.2f\"/>\n", x, s->r0, x, s->r1);
  for (double v = ceil(s->d0 / st - 1e-9) * st; v <= s->d1 + st * 1e-9;
       v += st) {
    double y = rpt_sc(s, v);
    nbuf b;
    fprintf(f, "<line class=\"grid\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
               "y2=\"%.2f\"/><text class=\"tick\" x=\"%.2f\" y=\"%.2f\" "
               "text-anchor=\"end\">%s</text>\n",
            x, y, x_end, y, x - 5, y + 4, rpt_fn(b, fabs(v) < st * 1e-9 ? 0 : v));
  }
  double ym = (s->r0 + s->r1) / 2;
  fprintf(f, "<text class=\"title\" transform=\"translate(%.2f %.2f) "
             "rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
          x - 44, ym, title_html);
}

/* A horizontal axis at y with ticks every step (0: automatic). */
void rpt_x_axis(FILE *f, const rpt_scale *s, double y, double step,
                   const char *title_html)
{
  double st = step > 0 ? step : rpt_tick_step(s->d1 - s->d0, 6);
  fprintf(f, "<line class=\"ax\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
             "y2=\"%.2f\"/>\n", s->r0, y, s->r1, y);
  for (double v = ceil(s->d0 / st - 1e-9) * st; v <= s->d1 + st * 1e-9;
       v += st) {
    double x = rpt_sc(s, v);
    nbuf b;
    fprintf(f, "<line class=\"ax\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
               "y2=\"%.2f\"/><text class=\"tick\" x=\"%.2f\" y=\"%.2f\" "
               "text-anchor=\"middle\">%s</text>\n",
            x, y, x, y + 5, x, y + 18, rpt_fn(b, fabs(v) < st * 1e-9 ? 0 : v));
  }
  fprintf(f, "<text class=\"title\" x=\"%.2f\" y=\"%.2f\" "
             "text-anchor=\"middle\">%s</text>\n",
          (s->r0 + s->r1) / 2, y + 36, title_html);
}
