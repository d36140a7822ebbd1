/*
** SVG plot of a glucose day, self-contained (no external fonts, CSS or
** scripts), laid out after the ambulatory glucose profile conventions of the
** International Consensus on Time in Range (Battelino et al., Diabetes Care
** 42:1593, 2019): the 70-180 mg/dL target band shaded green, guide lines at
** 54, 70, 180 and 250 mg/dL, glucose in mg/dL against clock time.
**
** Layout, top to bottom: title and subtitle; legend; meal markers (grams of
** carbohydrate per meal); the glucose panel; the insulin panel (rate in U/h,
** boluses drawn as dark bars clipped at the top of the panel and labelled with
** their units); the clock axis. Input rates are taken as sample-and-hold: the
** value at t[i] holds until t[i+1], the last sample for the spacing before it.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/escape.h"
#include "medtwin/error.h"
#include "medtwin/plot.h"

#define W 960.0            /* canvas, px */
#define H 530.0
#define PX0 72.0           /* plot area left and right */
#define PX1 884.0
#define GY0 100.0          /* glucose panel top */
#define GY1_INS 372.0      /* glucose panel bottom above an insulin panel */
#define GY1_ONLY 470.0     /* glucose panel bottom otherwise */
#define IY0 398.0          /* insulin panel top and bottom */
#define IY1 470.0
#define FONT "font-family=\"Helvetica,Arial,sans-serif\""

#define C_BG "#1f4e9c"     /* plasma glucose trace */
#define C_CGM "#8e44ad"    /* CGM trace */
#define C_BAND "#2e9d4a"   /* target band */
#define C_MEAL "#c26a00"   /* meal markers */
#define C_BASAL "#9dbbdc"  /* insulin below bolus threshold */
#define C_BOLUS "#1d4f80"  /* bolus bars */
#define C_GRID "#e3e6ea"
#define C_AXIS "#4a4f55"
#define C_TEXT "#222"

/* Mapping from data to page. */
typedef struct frame {
  double t0, t1;           /* time span, min */
  double g0, g1;           /* glucose axis range, mg/dL */
  double g_step;           /* glucose tick spacing, mg/dL */
  double gy1;              /* glucose panel bottom, px */
  int has_ins;
} frame;

/* Insulin panel scale and bolus threshold. */
typedef struct ins_scale {
  double base_uh;          /* lowest rate in the trace, U/h */
  double thr_uh;           /* rates above this are boluses, U/h */
  double top_uh;           /* axis maximum, U/h */
} ins_scale;

static double xt(const frame *fr, double t)
{
  return PX0 + (t - fr->t0) / (fr->t1 - fr->t0) * (PX1 - PX0);
}

static double yg(const frame *fr, double g)
{
  return fr->gy1 - (g - fr->g0) / (fr->g1 - fr->g0) * (fr->gy1 - GY0);
}

/* Spacing of sample i, min: forward difference, backward for the last. */
static double dt_at(const double *t, int n, int i)
{
  return i + 1 < n ? t[i + 1] - t[i] : t[n - 1] - t[n - 2];
}

/* Input value at sample i, with non-finite and negative values as zero. */
static double rate_at(const double *v, int i)
{
  return isfinite(v[i]) && v[i] > 0.0 ? v[i] : 0.0;
}

/* Smallest 1, 2, 2.5 or 5 times a power of ten that is >= v (v > 0). */
static double nice_ceil(double v)
{
  static const double m[] = {1.0, 2.0, 2.5, 5.0, 10.0};
  double p = pow(10.0, floor(log10(v)));
  for (int i = 0; i < 5; i++)
    if (m[i] * p >= v * (1.0 - 1e-12))
      return m[i] * p;
  return 10.0 * p;
}

/* Time strictly spanning, finite and non-decreasing. */
static int valid(const mt_glucose_plot *pl)
{
  if (!pl || !pl->t_min || !pl->bg_mgdl || pl->n < 2)
    return 0;
  for (int i = 0; i < pl->n; i++) {
    if (!isfinite(pl->t_min[i]))
      return 0;
    if (i > 0 && pl->t_min[i] < pl->t_min[i - 1])
      return 0;
  }
  return pl->t_min[pl->n - 1] > pl->t_min[0];
}

/* Finite extremes of one optional trace, folded into *lo and *hi. */
static void fold_range(const double *v, int n, double *lo, double *hi)
{
  for (int i = 0; v && i < n; i++) {
    if (isfinite(v[i])) {
      *lo = fmin(*lo, v[i]);
      *hi = fmax(*hi, v[i]);
    }
  }
}

/*
** Glucose axis: 40 to max(300, data maximum rounded up to 50) mg/dL, ticks
** every 50; the bottom drops below 40 (to a multiple of 10, not below 0) only
** if the data do, so that no hypoglycaemia is drawn off the chart. Above
** about 700 mg/dL the tick spacing doubles and the top rounds up to it.
*/
static void frame_init(frame *fr, const mt_glucose_plot *pl)
{
  double lo = 40.0, hi = 300.0;
  fold_range(pl->bg_mgdl, pl->n, &lo, &hi);
  fold_range(pl->cgm_mgdl, pl->n, &lo, &hi);
  fr->t0 = pl->t_min[0];
  fr->t1 = pl->t_min[pl->n - 1];
  fr->g0 = fmax(0.0, floor(lo / 10.0) * 10.0);
  fr->g_step = 50.0;
  while ((ceil(hi / fr->g_step) * fr->g_step - fr->g0) / fr->g_step > 14.0)
    fr->g_step *= 2.0;
  fr->g1 = ceil(hi / fr->g_step) * fr->g_step;
  fr->has_ins = pl->insulin_u_per_min != NULL;
  fr->gy1 = fr->has_ins ? GY1_INS : GY1_ONLY;
}

static void emit_header(FILE *f, const mt_glucose_plot *pl)
{
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" " FONT ">\n",
          W, H, W, H);
  fputs("<title>", f);
  mt_markup_escape(f, pl->title);
  fputs("</title>\n", f);
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
          "fill=\"#fff\"/>\n", W, H);
  fprintf(f, "<text x=\"%.0f\" y=\"30\" font-size=\"18\" font-weight=\"bold\" "
          "fill=\"" C_TEXT "\">", PX0);
  mt_markup_escape(f, pl->title);
  fputs("</text>\n", f);
  if (pl->subtitle) {
    fprintf(f, "<text x=\"%.0f\" y=\"50\" font-size=\"12\" "
            "fill=\"#666\">", PX0);
    mt_markup_escape(f, pl->subtitle);
    fputs("</text>\n", f);
  }
}

enum swatch { SW_BG, SW_CGM, SW_BAND, SW_MEAL, SW_BASAL, SW_BOLUS };

/* The sample drawn in front of a legend label, ending at about x + 22. */
static void emit_swatch(FILE *f, double x, double y, enum swatch k)
{
  static const char *const style[] = {
    "stroke=\"" C_BG "\" stroke-width=\"2\"",
    "stroke=\"" C_CGM "\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"",
    "stroke=\"" C_BAND "\" stroke-opacity=\"0.25\" stroke-width=\"10\"",
    "", "stroke=\"" C_BASAL "\" stroke-width=\"6\"",
    "stroke=\"" C_BOLUS "\" stroke-width=\"6\"",
  };
  if (k == SW_MEAL)
    fprintf(f, "<path d=\"M%.1f %.1f h10 l-5 8 z\" fill=\"" C_MEAL "\"/>\n",
            x + 8.0, y - 4.0);
  else
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" %s/>\n",
            x, y, x + 22.0, y, style[k]);
}

/* Approximate width of label text at 11 px, an entity counting as one. */
static double text_width(const char *s)
{
  int n = 0;
  for (; *s; s++, n++) {
    const char *e = *s == '&' ? strchr(s, ';') : NULL;
    if (e)
      s = e;
  }
  return 5.5 * n;
}

/* One legend entry at x; returns the x of the next entry. */
static double legend_item(FILE *f, double x, enum swatch k, const char *label)
{
  const double y = 70.0;
  emit_swatch(f, x, y - 4.0, k);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"" C_TEXT
          "\">%s</text>\n", x + 28.0, y, label);
  return x + 46.0 + text_width(label);
}

static void emit_legend(FILE *f, const mt_glucose_plot *pl)
{
  fputs("<g class=\"legend\">\n", f);
  double x = legend_item(f, PX0, SW_BG, "plasma glucose");
  if (pl->cgm_mgdl)
    x = legend_item(f, x, SW_CGM, "CGM");
  x = legend_item(f, x, SW_BAND, "target 70&#8211;180 mg/dL");
  if (pl->cho_g_per_min)
    x = legend_item(f, x, SW_MEAL, "meal, g carbohydrate");
  if (pl->insulin_u_per_min) {
    x = legend_item(f, x, SW_BASAL, "insulin rate, U/h");
    legend_item(f, x, SW_BOLUS, "bolus, U");
  }
  fputs("</g>\n", f);
}

/* Target band, guide lines at 54/70/180/250 mg/dL with labels at the right. */
static void emit_band(FILE *f, const frame *fr)
{
  static const double lv[] = {54.0, 70.0, 180.0, 250.0};
  static const char *const col[] = {"#b71c1c", "#e53935", "#f08c00", "#c25e00"};
  static const char *const dash[] = {"4 3", "none", "none", "4 3"};
  fprintf(f, "<g class=\"target\">\n<rect class=\"target-band\" x=\"%.1f\" "
          "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"" C_BAND "\" "
          "fill-opacity=\"0.12\"/>\n", PX0, yg(fr, 180.0), PX1 - PX0,
          yg(fr, 70.0) - yg(fr, 180.0));
  for (int i = 0; i < 4; i++) {
    double y = yg(fr, lv[i]);
    if (lv[i] < fr->g0)
      continue;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"%s\"/>\n",
            PX0, y, PX1, y, col[i], dash[i]);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"%s\">"
            "%.0f</text>\n", PX1 + 5.0, y + 3.5, col[i], lv[i]);
  }
  fputs("</g>\n", f);
}

static void emit_y_axis(FILE *f, const frame *fr)
{
  double step = fr->g_step;
  fputs("<g class=\"y-axis\" font-size=\"11\" fill=\"" C_AXIS "\">\n", f);
  for (double g = ceil(fr->g0 / step) * step; g <= fr->g1 + 1e-9; g += step) {
    double y = yg(fr, g);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"" C_GRID "\"/>\n", PX0, y, PX1, y);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"" C_AXIS "\"/>\n", PX0 - 5.0, y, PX0, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
            PX0 - 8.0, y + 4.0, g);
  }
  double mid = 0.5 * (GY0 + fr->gy1);
  fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
          "text-anchor=\"middle\" font-size=\"12\">glucose (mg/dL)</text>\n",
          PX0 - 44.0, mid);
  fputs("</g>\n", f);
}

/* Clock tick spacing, min: 2 h for a day, never more than about 12 ticks. */
static double clock_step(const frame *fr)
{
  static const double st[] = {15, 30, 60, 120, 180, 360, 720, 1440};
  double span = fr->t1 - fr->t0;
  for (int i = 0; i < 8; i++)
    if (span / st[i] <= 12.0)
      return st[i];
  return 1440.0 * ceil(span / (1440.0 * 12.0));
}

static void emit_vgrid(FILE *f, double x, double y0, double y1)
{
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"" C_GRID "\"/>\n", x, y0, x, y1);
}

/* One clock tick at clock minute c (minutes after the first midnight). */
static void emit_clock_tick(FILE *f, const frame *fr, double x, double c)
{
  double day = floor(c / 1440.0);
  long m = lround(c - day * 1440.0) % 1440;
  double yb = fr->has_ins ? IY1 : fr->gy1;
  emit_vgrid(f, x, GY0, fr->gy1);
  if (fr->has_ins)
    emit_vgrid(f, x, IY0, IY1);
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"" C_AXIS "\"/>\n", x, yb, x, yb + 5.0);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
          "%02ld:%02ld</text>\n", x, yb + 18.0, m / 60, m % 60);
  if (day != 0.0)
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "font-size=\"9\">%+.0fd</text>\n", x, yb + 29.0, day);
}

/*
** Clock axis: tick labels HH:MM at multiples of the step, "+1d" under ticks
** past the first midnight. start_clock_min is reduced to [0, 1440).
*/
static void emit_x_axis(FILE *f, const frame *fr, int start_clock_min)
{
  double c0 = fmod((double)start_clock_min, 1440.0);
  if (c0 < 0.0)
    c0 += 1440.0;
  double step = clock_step(fr);
  double first = ceil((c0 + fr->t0) / step - 1e-9) * step;
  fputs("<g class=\"x-axis\" font-size=\"11\" fill=\"" C_AXIS "\">\n", f);
  for (double c = first; c <= c0 + fr->t1 + 1e-9; c += step)
    emit_clock_tick(f, fr, xt(fr, c - c0), c);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
          "font-size=\"12\">time of day (HH:MM)</text>\n",
          0.5 * (PX0 + PX1), H - 8.0);
  fputs("</g>\n", f);
}

/* Frame around one panel. */
static void emit_box(FILE *f, double y0, double y1)
{
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          "fill=\"none\" stroke=\"" C_AXIS "\" stroke-width=\"1\"/>\n",
          PX0, y0, PX1 - PX0, y1 - y0);
}

/* A trace as one path; non-finite values break the line. */
static void emit_trace(FILE *f, const frame *fr, const mt_glucose_plot *pl,
                       const double *v, const char *style)
{
  int pen = 0;
  fprintf(f, "<path fill=\"none\" stroke-linejoin=\"round\" %s d=\"", style);
  for (int i = 0; i < pl->n; i++) {
    if (!isfinite(v[i])) {
      pen = 0;
      continue;
    }
    fprintf(f, "%s%.1f %.1f", pen ? " L" : (i ? " M" : "M"),
            xt(fr, pl->t_min[i]), yg(fr, v[i]));
    pen = 1;
  }
  fputs("\"/>\n", f);
}

/* A meal marker: dashed drop line, triangle above the panel, grams label. */
static void emit_meal(FILE *f, const frame *fr, double t, double grams)
{
  double x = xt(fr, t);
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"" C_MEAL "\" stroke-opacity=\"0.35\" "
          "stroke-dasharray=\"2 3\"/>\n", x, GY0, x, fr->gy1);
  fprintf(f, "<path d=\"M%.1f %.1f h10 l-5 8 z\" fill=\"" C_MEAL "\"/>\n",
          x - 5.0, GY0 - 9.0);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
          "font-size=\"11\" font-weight=\"bold\" fill=\"" C_MEAL "\" "
          "class=\"meal-label\">",
          x, GY0 - 12.0);
  fprintf(f, grams >= 1.0 ? "%.0f g</text>\n" : "%.1f g</text>\n", grams);
}

/* Meals: runs of consecutive samples with carbohydrate > 0; grams = sum of
** rate (g/min) times sample spacing (min). */
static void emit_meals(FILE *f, const frame *fr, const mt_glucose_plot *pl)
{
  const double *cho = pl->cho_g_per_min;
  fputs("<g class=\"meals\">\n", f);
  for (int i = 0; i < pl->n;) {
    if (rate_at(cho, i) <= 0.0) {
      i++;
      continue;
    }
    int start = i;
    double grams = 0.0;
    for (; i < pl->n && rate_at(cho, i) > 0.0; i++)
      grams += rate_at(cho, i) * dt_at(pl->t_min, pl->n, i);
    emit_meal(f, fr, pl->t_min[start], grams);
  }
  fputs("</g>\n", f);
}

/* Fraction of samples with rate <= v (U/min). */
static double frac_le(const double *u, int n, double v)
{
  int k = 0;
  for (int i = 0; i < n; i++)
    k += rate_at(u, i) <= v;
  return (double)k / n;
}

/* Rate at quantile q of the samples, U/min, by bisection (no allocation). */
static double rate_quantile(const double *u, int n, double q)
{
  double lo = 0.0, hi = 0.0;
  for (int i = 0; i < n; i++)
    hi = fmax(hi, rate_at(u, i));
  if (frac_le(u, n, lo) >= q)
    return lo;
  for (int it = 0; it < 64 && hi - lo > 1e-12 * hi; it++) {
    double mid = 0.5 * (lo + hi);
    if (frac_le(u, n, mid) >= q)
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

/*
** Insulin scale. The basal level is the 75th percentile of the rates (robust
** to suspensions and to short boluses); a rate above twice that plus 0.5 U/h
** is a bolus. The axis tops out at 1.25 times the highest non-bolus rate (at
** least 1 U/h), so basal stays readable; bolus bars clip at the top.
*/
static ins_scale insulin_scale(const mt_glucose_plot *pl)
{
  ins_scale s;
  double hi = 0.0;
  s.base_uh = 60.0 * rate_quantile(pl->insulin_u_per_min, pl->n, 0.75);
  s.thr_uh = 2.0 * s.base_uh + 0.5;
  for (int i = 0; i < pl->n; i++) {
    double r = 60.0 * rate_at(pl->insulin_u_per_min, i);
    if (r <= s.thr_uh)
      hi = fmax(hi, r);
  }
  s.top_uh = nice_ceil(fmax(1.25 * hi, 1.0));
  return s;
}

/* One bar from t_a to t_b at rate r_uh; boluses at least 3 px wide. */
static void emit_bar(FILE *f, const frame *fr, const ins_scale *s,
                     double t_a, double t_b, double r_uh)
{
  int bolus = r_uh > s->thr_uh;
  double xa = xt(fr, t_a), xb = fmin(xt(fr, t_b), PX1);
  double w = fmax(xb - xa, bolus ? 3.0 : 0.0);
  double h = fmin(r_uh / s->top_uh, 1.0) * (IY1 - IY0);
  if (w <= 0.0 || h <= 0.0)
    return;
  fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
          "fill=\"%s\"/>\n", xa, IY1 - h, w, h, bolus ? C_BOLUS : C_BASAL);
}

/* Bars, merging runs of equal rate. */
static void emit_ins_bars(FILE *f, const frame *fr, const mt_glucose_plot *pl,
                          const ins_scale *s)
{
  const double *u = pl->insulin_u_per_min, *t = pl->t_min;
  for (int i = 0; i < pl->n;) {
    int j = i + 1;
    while (j < pl->n && rate_at(u, j) == rate_at(u, i))
      j++;
    double t_end = j < pl->n ? t[j] : t[j - 1] + dt_at(t, pl->n, j - 1);
    emit_bar(f, fr, s, t[i], t_end, 60.0 * rate_at(u, i));
    i = j;
  }
}

/* Bolus labels: units above the basal level over each run of bolus samples. */
static void emit_bolus_labels(FILE *f, const frame *fr,
                              const mt_glucose_plot *pl, const ins_scale *s)
{
  const double *u = pl->insulin_u_per_min;
  for (int i = 0; i < pl->n;) {
    if (60.0 * rate_at(u, i) <= s->thr_uh) {
      i++;
      continue;
    }
    double x = xt(fr, pl->t_min[i]), units = 0.0, base = s->base_uh / 60.0;
    for (; i < pl->n && 60.0 * rate_at(u, i) > s->thr_uh; i++)
      units += (rate_at(u, i) - base) * dt_at(pl->t_min, pl->n, i);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "font-size=\"10\" font-weight=\"bold\" fill=\"" C_BOLUS "\" "
            "class=\"bolus-label\">%.1f U</text>\n", x, IY0 - 4.0, units);
  }
}

/* Insulin rate axis: 0, half and top of the scale, in U/h. */
static void emit_ins_axis(FILE *f, const ins_scale *s)
{
  fputs("<g font-size=\"10\" fill=\"" C_AXIS "\">\n", f);
  for (int k = 0; k <= 2; k++) {
    double y = IY1 - 0.5 * k * (IY1 - IY0);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"" C_AXIS "\"/>\n", PX0 - 5.0, y, PX0, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            PX0 - 8.0, y + 3.5, 0.5 * k * s->top_uh);
  }
  fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
          "text-anchor=\"middle\" font-size=\"11\">insulin (U/h)</text>\n",
          PX0 - 44.0, 0.5 * (IY0 + IY1));
  fputs("</g>\n", f);
}

static void emit_insulin(FILE *f, const frame *fr, const mt_glucose_plot *pl)
{
  ins_scale s = insulin_scale(pl);
  fputs("<g class=\"insulin\">\n", f);
  emit_ins_bars(f, fr, pl, &s);
  emit_bolus_labels(f, fr, pl, &s);
  emit_ins_axis(f, &s);
  emit_box(f, IY0, IY1);
  fputs("</g>\n", f);
}

static void emit_glucose(FILE *f, const frame *fr, const mt_glucose_plot *pl)
{
  emit_band(f, fr);
  emit_y_axis(f, fr);
  fputs("<g class=\"traces\">\n", f);
  if (pl->cgm_mgdl)
    emit_trace(f, fr, pl, pl->cgm_mgdl, "stroke=\"" C_CGM "\" "
               "stroke-width=\"1.3\" stroke-dasharray=\"5 3\"");
  emit_trace(f, fr, pl, pl->bg_mgdl, "stroke=\"" C_BG "\" stroke-width=\"2\"");
  fputs("</g>\n", f);
  emit_box(f, GY0, fr->gy1);
}

int mt_plot_glucose_svg(const mt_glucose_plot *pl, FILE *f)
{
  if (!f || !valid(pl))
    return MT_EINVAL;
  frame fr;
  frame_init(&fr, pl);
  emit_header(f, pl);
  emit_legend(f, pl);
  emit_x_axis(f, &fr, pl->start_clock_min);
  emit_glucose(f, &fr, pl);
  if (pl->cho_g_per_min)
    emit_meals(f, &fr, pl);
  if (fr.has_ins)
    emit_insulin(f, &fr, pl);
  fputs("</svg>\n", f);
  if (fflush(f) != 0 || ferror(f))
    return MT_EIO;
  return MT_OK;
}
