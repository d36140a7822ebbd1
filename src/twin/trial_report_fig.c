/*
** The figures of the virtual-trial report (src/twin/trial_report.c):
** Figure 1, the distribution of an endpoint per arm (box plots with every
** patient as a jittered strip); Figure 2, the forest plot of the primary
** endpoint overall and by subgroup (Lewis & Clarke, BMJ 322:1479-80, 2001);
** Figure 3, example trajectories with the twin's forecasts. Inline SVG,
** described in docs/trial-report.md.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/order.h"
#include "medtwin/error.h"
#include "trial_report_impl.h"


/* The primary endpoint: that of the first comparison marked primary, else
** the first endpoint of the first arm. */
static const char *primary_endpoint(const json_t *r)
{
  size_t i;
  const json_t *c;
  json_array_foreach(json_object_get(r, "comparisons"), i, c) if (json_is_true(
      json_object_get(c, "primary"))) return rpt_str(c, "endpoint");
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
    double v = rpt_num(json_object_get(json_object_get(p, "endpoints"), arm), ep);
    if (!isfinite(v))
      continue;
    double ix = rpt_num(p, "index");
    d->ix[d->n] = isfinite(ix) ? ix : (double)i;
    d->x[d->n] = sorted[d->n] = v;
    d->n++;
  }
  if (d->n > 0) {
    qsort(sorted, (size_t)d->n, sizeof *sorted, mt_cmp_double);
    d->min = sorted[0];
    d->max = sorted[d->n - 1];
    d->q1 = mt_quantile7(sorted, d->n, 0.25);
    d->median = mt_quantile7(sorted, d->n, 0.5);
    d->q3 = mt_quantile7(sorted, d->n, 0.75);
  }
  free(sorted);
  return 0;
}

static void dist_from_summary(const json_t *s, dist *d)
{
  d->min = rpt_num(s, "min");
  d->q1 = rpt_num(s, "q1");
  d->median = rpt_num(s, "median");
  d->q3 = rpt_num(s, "q3");
  d->max = rpt_num(s, "max");
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
                const rpt_scale *ys, const char *col)
{
  if (!isfinite(d->q1) || !isfinite(d->q3) || !isfinite(d->median))
    return;
  double y1 = rpt_sc(ys, d->q1), y3 = rpt_sc(ys, d->q3);
  if (isfinite(d->min) && isfinite(d->max))
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
               "stroke=\"%s\" stroke-width=\"1.5\"/>"
               "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
               "stroke=\"%s\" stroke-width=\"1.5\"/>"
               "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
               "stroke=\"%s\" stroke-width=\"1.5\"/>\n",
            xc, rpt_sc(ys, d->min), xc, rpt_sc(ys, d->max), col, xc - half / 2,
            rpt_sc(ys, d->min), xc + half / 2, rpt_sc(ys, d->min), col,
            xc - half / 2, rpt_sc(ys, d->max), xc + half / 2, rpt_sc(ys, d->max),
            col);
  fprintf(f, "<rect class=\"box\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
             "height=\"%.2f\" fill=\"%s\" fill-opacity=\"0.18\" stroke=\"%s\" "
             "stroke-width=\"1.5\"/>\n<line x1=\"%.2f\" y1=\"%.2f\" "
             "x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
          xc - half, y3, 2 * half, y1 - y3, col, col, xc - half,
          rpt_sc(ys, d->median), xc + half, rpt_sc(ys, d->median), col);
}

/* The y domain of the arms' distributions, widened to whole ticks. */
static rpt_scale dist_scale(const dist *d, int n)
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
  double st = rpt_tick_step(hi - lo, 5);
  return (rpt_scale){floor(lo / st) * st, ceil(hi / st) * st, F1_B, F1_T};
}

/* A large trial's strip shows every stride-th patient: the page stays a
** few megabytes and readable; the boxes use every patient. */
#define MAX_DOTS 2000

static int fig_dist(FILE *f, const json_t *r, const char *ep, char sub)
{
  const json_t *arms = json_object_get(r, "arms"), *a;
  size_t na = json_array_size(arms), i;
  dist *d = calloc(na, sizeof *d);
  int rc = d ? 0 : MT_ENOMEM, from_patients = 0, stride = 1, n_max = 0;
  json_array_foreach(arms, i, a) {
    if (rc)
      break;
    rc = dist_of(r, rpt_str(a, "name"), ep, &d[i]);
    if (d[i].n == 0)
      dist_from_summary(json_object_get(json_object_get(a, "endpoints"), ep),
                        &d[i]);
    else
      from_patients = 1;
  }
  for (size_t k = 0; !rc && k < na; k++)
    n_max = d[k].n > n_max ? d[k].n : n_max;
  stride = (n_max + MAX_DOTS - 1) / MAX_DOTS;
  if (stride < 1)
    stride = 1;
  if (!rc) {
    rpt_scale ys = dist_scale(d, (int)na);
    double slot = (F1_R - F1_L) / (double)na;
    fprintf(f, "<figure>\n<svg class=\"fig1\" viewBox=\"0 0 %.0f %.0f\" "
               "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"",
            F1_W, F1_H, F1_W, F1_H);
    rpt_ep_name(f, ep);
    fputs(" by arm\">\n", f);
    fputs("<g>", f);
    rpt_y_axis(f, &ys, F1_L, F1_R, "");
    fputs("</g>\n<text class=\"title\" transform=\"translate(22 160) "
          "rotate(-90)\" text-anchor=\"middle\">", f);
    rpt_ep_name(f, ep);
    fputs("</text>\n", f);
    fprintf(f, "<line class=\"ax\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
               "y2=\"%.2f\"/>\n", F1_L, F1_B, F1_R, F1_B);
    json_array_foreach(arms, i, a) {
      double xc = F1_L + slot * (i + 0.5), half = fmin(slot * 0.22, 60);
      const char *col = rpt_palette[i % RPT_NPAL];
      box(f, &d[i], xc, half, &ys, col);
      for (int k = 0; k < d[i].n; k += stride)
        fprintf(f, "<circle class=\"pt\" cx=\"%.2f\" cy=\"%.2f\" r=\"2.6\" "
                   "fill=\"%s\" fill-opacity=\"0.55\" stroke=\"none\"/>\n",
                xc + jitter(d[i].ix[k]) * 1.6 * half, rpt_sc(&ys, d[i].x[k]), col);
      fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
              xc, F1_B + 20);
      mt_markup_escape(f, rpt_str(a, "name"));
      fputs("</text>\n", f);
    }
    fputs("</svg>\n<figcaption><b>Figure 1", f);
    fprintf(f, "%c.</b> ", sub);
    rpt_ep_name(f, ep);
    fputs(" by arm: box from Q1 to Q3, thick line at the median, whiskers "
          "from minimum to maximum", f);
    fputs(from_patients ? "; each dot is one patient (spread sideways to "
                          "be seen, by a fixed offset from its index)"
                        : " (from the summary quartiles: the results hold no "
                          "per-patient values).", f);
    if (from_patients && stride > 1)
      fprintf(f, ", every %d%s patient in index order (%d of %d shown; the "
                 "boxes use all)", stride, stride == 2 ? "nd" : stride == 3
                                                                    ? "rd"
                                                                    : "th",
              (n_max + stride - 1) / stride, n_max);
    if (from_patients)
      fputs(".", f);
    fputs("</figcaption>\n</figure>\n", f);
  }
  for (size_t k = 0; d && k < na; k++) {
    free(d[k].x);
    free(d[k].ix);
  }
  free(d);
  return rc;
}

int rpt_figure1(FILE *f, const json_t *r)
{
  const char *ep = primary_endpoint(r);
  int rc = 0;
  const json_t *eps0 = json_object_get(
      json_array_get(json_object_get(r, "arms"), 0), "endpoints");
  fputs("<h2>Figure 1. Distributions per arm</h2>\n", f);
  if (ep)
    rc = fig_dist(f, r, ep, 'a');
  if (!rc && !rpt_streq(ep, "tbr70") && json_object_get(eps0, "tbr70"))
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
    v[0] = rpt_num(rows[i].eff, "estimate");
    rpt_ci(rows[i].eff, "ci", &v[1], &v[2]);
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
                   const rpt_scale *xs)
{
  const json_t *j = w->j;
  int flag = w->sub && json_is_true(json_object_get(j, "flag"));
  double est = rpt_num(w->eff, "estimate"), lo, hi;
  const char *col = rpt_arm_colour(r, rpt_str(j, "arm"));
  nbuf b1, b2, b4;
  cibuf b3;
  rpt_ci(w->eff, "ci", &lo, &hi);
  fprintf(f, "<g class=\"fr %s%s\">", w->sub ? "sub" : "overall",
          flag ? " flag" : "");
  fprintf(f, "<text x=\"10\" y=\"%.2f\"%s>", y + 4,
          w->sub ? "" : " font-weight=\"bold\"");
  if (w->sub) {
    fputs("&#160;&#160;", f);
    mt_markup_escape(f, rpt_str(j, "covariate"));
    fputs(" = ", f);
    mt_markup_escape(f, rpt_str(j, "level"));
  } else
    fputs("All patients", f);
  if (flag)
    fputs(" *", f);
  fprintf(f, "</text><text x=\"210\" y=\"%.2f\">", y + 4);
  mt_markup_escape(f, rpt_str(j, "arm"));
  double n = w->sub ? rpt_num(j, "n") : rpt_num(w->eff, "n");
  fprintf(f, "</text><text x=\"370\" y=\"%.2f\" text-anchor=\"end\">%s"
             "</text>", y + 4, rpt_fn(b1, n));
  if (isfinite(lo) && isfinite(hi))
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
               "stroke=\"%s\" stroke-width=\"2\"/>",
            rpt_sc(xs, lo), y, rpt_sc(xs, hi), y, col);
  if (isfinite(est)) {
    if (w->sub)
      fprintf(f, "<circle class=\"est\" cx=\"%.2f\" cy=\"%.2f\" r=\"4\" "
                 "fill=\"%s\" stroke=\"%s\"/>", rpt_sc(xs, est), y,
              flag ? "#ffffff" : col, col);
    else
      fprintf(f, "<circle class=\"est\" cx=\"%.2f\" cy=\"%.2f\" r=\"6\" "
                 "fill=\"%s\" stroke=\"#000\"/>", rpt_sc(xs, est), y, col);
  }
  fprintf(f, "<text x=\"%.2f\" y=\"%.2f\">%s %s</text>", FP_X1 + 14, y + 4,
          rpt_f1(b2, est), rpt_fci(b3, lo, hi));
  fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>",
          FP_W - 10, y + 4,
          w->sub ? rpt_fp(b4, rpt_num(json_object_get(j, "interaction"), "p")) : "");
  fputs("</g>\n", f);
}

int rpt_figure2(FILE *f, const json_t *r)
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
    ep = rpt_str(e, "endpoint");
  }
  json_array_foreach(gs, i, e) {
    rows[n++] = (frow){e, json_object_get(e, "effect"), 1};
    if (!ep)
      ep = rpt_str(e, "endpoint");
  }
  if (n == 0) {
    free(rows);
    return 0;
  }
  rpt_scale xs = {0, 0, FP_X0, FP_X1};
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
             "y2=\"%.2f\"/>\n", rpt_sc(&xs, 0), FP_TOP - 12, rpt_sc(&xs, 0),
          y_end - 8);
  for (size_t k = 0; k < n; k++)
    fp_row(f, r, &rows[k], FP_TOP + FP_ROW * (double)k, &xs);
  fputs("<g>", f);
  rpt_x_axis(f, &xs, y_end - 6, 0, "");
  fputs("</g>\n<text class=\"title\" x=\"545\" y=\"", f);
  fprintf(f, "%.2f\" text-anchor=\"middle\">arm &minus; reference: ",
          y_end + 34);
  rpt_ep_name(f, ep);
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
    if (rpt_str(mu, "note")) {
      mt_markup_escape(f, rpt_str(mu, "note"));
      fputs(". ", f);
    }
    fprintf(f, "Interaction tests: %s; Bonferroni-adjusted level: %s.</p>\n",
            rpt_fn(b1, rpt_num(mu, "interaction_tests")),
            isfinite(rpt_num(mu, "bonferroni_level"))
                ? (snprintf(b2, sizeof b2, "%.4g",
                            rpt_num(mu, "bonferroni_level")), b2)
                : RPT_DASH);
  }
  free(rows);
  return 0;
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
                        double t1, const rpt_scale *xs, const rpt_scale *ys,
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
    fprintf(f, "%s%.1f,%.1f", open ? " " : "", rpt_sc(xs, t / 60), rpt_sc(ys, g));
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
                      const rpt_scale *xs, const rpt_scale *ys, const char *col)
{
  size_t i, k;
  const json_t *fc, *h;
  double busy_until = -INFINITY; /* the end of the last forecast drawn */
  json_array_foreach(json_object_get(arm, "forecasts"), i, fc) {
    double tf = rpt_num(fc, "t_min");
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
#define FX(k) rpt_sc(xs, (tf + json_number_value(json_array_get(hz, k))) / 60)
#define FY(a, k)                                                             \
  rpt_sc(ys, fmin(fmax(json_number_value(json_array_get(a, k)), ys->d0), ys->d1))
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
                     double t1, const rpt_scale *xs, const rpt_scale *ys,
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
            rpt_sc(xs, t / 60), rpt_sc(ys, g), col);
  }
}

static void meals(FILE *f, const json_t *arm, double t0, double t1,
                  const rpt_scale *xs, double y)
{
  size_t i;
  const json_t *m;
  nbuf b;
  json_array_foreach(json_object_get(arm, "meals"), i, m) {
    double t = rpt_num(m, "t_min");
    if (!(t >= t0 && t < t1))
      continue;
    double x = rpt_sc(xs, t / 60);
    fprintf(f, "<path d=\"M%.1f,%.1f l-5,9 h10 z\" fill=\"#E69F00\" "
               "stroke=\"#333\"/><text x=\"%.1f\" y=\"%.1f\" "
               "text-anchor=\"middle\" font-size=\"10\">%s g%s</text>\n",
            x, y, x, y + 20, rpt_fn(b, round(rpt_num(m, "grams"))),
            json_is_true(json_object_get(m, "bolus_missed")) ? " (no bolus)"
            : json_is_true(json_object_get(m, "snack"))      ? " (snack)"
                                                             : "");
  }
}

static void boluses(FILE *f, const json_t *arm, double t0, double t1,
                    const rpt_scale *xs, double y, const char *col)
{
  size_t i;
  const json_t *b;
  json_array_foreach(json_object_get(arm, "boluses"), i, b) {
    double t = rpt_num(b, "t_min");
    if (!(t >= t0 && t < t1))
      continue;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"%s\" stroke-width=\"2\"/>\n",
            rpt_sc(xs, t / 60), y - 5, rpt_sc(xs, t / 60), y + 5, col);
  }
}

static void legend(FILE *f, const json_t *r, const json_t *arms, double y)
{
  size_t i;
  const json_t *a;
  double x = F3_L;
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"10\" "
             "fill=\"#009E73\" fill-opacity=\"0.12\"/><text x=\"%.1f\" "
             "y=\"%.1f\">70" RPT_DASH "180 mg/dL</text>\n", x, y - 9, x + 22, y);
  x += 120;
  json_array_foreach(arms, i, a) {
    const char *col = rpt_arm_colour(r, rpt_str(a, "arm"));
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"%s\" stroke-width=\"2\"/><text x=\"%.1f\" "
               "y=\"%.1f\">", x, y - 4, x + 18, y - 4, col, x + 22, y);
    mt_markup_escape(f, rpt_str(a, "arm"));
    fputs("</text>\n", f);
    x += 130;
  }
  a = json_array_get(arms, 0);
  fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>"
             "<text x=\"%.1f\" y=\"%.1f\">CGM (", x + 9, y - 4,
          rpt_arm_colour(r, rpt_str(a, "arm")), x + 22, y);
  mt_markup_escape(f, rpt_str(a, "arm"));
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
  double t0 = rpt_num(ex, "from_min"), t1 = rpt_num(ex, "to_min");
  size_t i, na = json_array_size(arms);
  nbuf b1, b2;
  if (!isfinite(t0))
    t0 = 0;
  if (!(t1 > t0) || t1 - t0 > WINDOW_MIN)
    t1 = t0 + WINDOW_MIN;
  double gmin = 40, gmax = 300;
  json_array_foreach(arms, i, a) {
    double dt = rpt_num(a, "every_min") > 0 ? rpt_num(a, "every_min") : 5;
    series_range(json_object_get(a, "bg_mgdl"), t0, dt, t1, &gmin, &gmax);
    if (i == 0)
      series_range(json_object_get(a, "cgm_mgdl"), t0, dt, t1, &gmin, &gmax);
  }
  gmin = fmax(floor(gmin / 20) * 20, 0);
  gmax = fmin(ceil(gmax / 50) * 50, 600);
  rpt_scale xs = {t0 / 60, t1 / 60, F3_L, F3_R}, ys = {gmin, gmax, F3_B, F3_T};
  double y_meal = F3_B + 50, y_bol = y_meal + 40,
         h = y_bol + 18 * (double)na + 10;
  fprintf(f, "<figure>\n<svg class=\"fig3\" viewBox=\"0 0 %.0f %.0f\" "
             "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\""
             "trajectories of patient ", F3_W, h, F3_W, h);
  mt_markup_escape(f, rpt_str(ex, "id"));
  fputs("\">\n", f);
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
             "fill=\"#009E73\" fill-opacity=\"0.12\"/>\n", F3_L,
          rpt_sc(&ys, 180), F3_R - F3_L, rpt_sc(&ys, 70) - rpt_sc(&ys, 180));
  rpt_y_axis(f, &ys, F3_L, F3_R, "glucose (mg/dL)");
  rpt_x_axis(f, &xs, F3_B, 6, "time since the start of the run (h)");
  legend(f, r, arms, 18);
  json_array_foreach(arms, i, a) {
    double dt = rpt_num(a, "every_min") > 0 ? rpt_num(a, "every_min") : 5;
    const char *col = rpt_arm_colour(r, rpt_str(a, "arm"));
    if (rpt_streq(rpt_str(a, "kind"), "twin"))
      forecasts(f, a, t0, t1, &xs, &ys, col);
    series_line(f, json_object_get(a, "bg_mgdl"), t0, dt, t1, &xs, &ys, col);
  }
  a = json_array_get(arms, 0);
  cgm_dots(f, json_object_get(a, "cgm_mgdl"), t0,
           rpt_num(a, "every_min") > 0 ? rpt_num(a, "every_min") : 5, t1, &xs, &ys,
           rpt_arm_colour(r, rpt_str(a, "arm")));
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">meals</text>\n",
          F3_L - 6, y_meal + 9);
  meals(f, a, t0, t1, &xs, y_meal);
  json_array_foreach(arms, i, a) {
    double y = y_bol + 18 * (double)i;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
               "font-size=\"10\">bolus ", F3_L - 6, y + 4);
    mt_markup_escape(f, rpt_str(a, "arm"));
    fputs("</text>\n", f);
    boluses(f, a, t0, t1, &xs, y, rpt_arm_colour(r, rpt_str(a, "arm")));
  }
  fputs("</svg>\n<figcaption><b>Figure 3: ", f);
  mt_markup_escape(f, rpt_str(ex, "id"));
  fprintf(f, "</b> (patient %s), hours %s" RPT_DASH, rpt_fn(b1, rpt_num(ex, "index")),
          rpt_f1(b2, t0 / 60));
  fprintf(f, "%s since the start of the run.</figcaption>\n</figure>\n",
          rpt_f1(b1, t1 / 60));
}

void rpt_figure3(FILE *f, const json_t *r)
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
        "the 70" RPT_DASH "180 mg/dL target range. Glucose outside the axis is "
        "drawn at its edge.</p>\n", f);
  json_array_foreach(exs, i, ex) example(f, r, ex);
}
