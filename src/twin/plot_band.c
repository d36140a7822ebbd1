/*
** Observable-with-forecast SVG plot (plot_band.h), self-contained: the
** readings as points, the forecast median with its central 80 % and 95 %
** prediction bands (the fan-chart convention of the Bank of England
** inflation report, Britton et al., Bank Engl Q Bull 38:30, 1998), and
** threshold lines labelled at the right.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/escape.h"
#include "medtwin/error.h"
#include "medtwin/plot_band.h"
#include "twin/plot_frame.h"

#define W 960.0
#define H 420.0

const double mt_band_levels[MT_BAND_NQ] = {0.025, 0.1, 0.5, 0.9, 0.975};

static int finite_all(const double *v, int n)
{
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return 0;
  return 1;
}

static int valid(const mt_band_plot *pl)
{
  if (pl->n_obs < 0 || pl->n_fc < 0 || pl->n_thr < 0 ||
      pl->n_obs + pl->n_fc < 1)
    return 0;
  if ((pl->n_obs && (!pl->t_obs || !pl->y_obs)) ||
      (pl->n_fc && (!pl->t_fc || !pl->q)) || (pl->n_thr && !pl->thr))
    return 0;
  if (!finite_all(pl->t_obs, pl->n_obs) || !finite_all(pl->t_fc, pl->n_fc) ||
      !finite_all(pl->q, pl->n_fc * MT_BAND_NQ) ||
      !finite_all(pl->thr, pl->n_thr))
    return 0;
  for (int i = 0; i < pl->n_fc; i++) {
    if (i > 0 && pl->t_fc[i] < pl->t_fc[i - 1])
      return 0;
    for (int k = 1; k < MT_BAND_NQ; k++)
      if (pl->q[i * MT_BAND_NQ + k] < pl->q[i * MT_BAND_NQ + k - 1])
        return 0;
  }
  return 1;
}

static void fold(const double *v, int n, int stride, double *lo, double *hi)
{
  for (int i = 0; i < n; i++) {
    double x = v[(size_t)i * stride];
    if (isfinite(x)) {
      *lo = fmin(*lo, x);
      *hi = fmax(*hi, x);
    }
  }
}

static mt_panel frame(const mt_band_plot *pl)
{
  mt_panel p = {70, 860, 80, 370, 1e300, -1e300, 1e300, -1e300};
  fold(pl->t_obs, pl->n_obs, 1, &p.xlo, &p.xhi);
  fold(pl->t_fc, pl->n_fc, 1, &p.xlo, &p.xhi);
  fold(pl->y_obs, pl->n_obs, 1, &p.ylo, &p.yhi);
  fold(pl->q, pl->n_fc * MT_BAND_NQ, 1, &p.ylo, &p.yhi);
  fold(pl->thr, pl->n_thr, 1, &p.ylo, &p.yhi);
  if (!(p.yhi >= p.ylo))
    p.ylo = 0, p.yhi = 1;
  if (!(p.xhi > p.xlo))
    p.xlo -= 1, p.xhi += 1;
  mt_plot_nice_range(&p.ylo, &p.yhi, 0.05);
  return p;
}

/* The band between quantile columns a and b: forward along a, back on b. */
static void band(FILE *f, const mt_panel *p, const mt_band_plot *pl, int a,
                 int b, const char *cls, const char *opacity)
{
  fprintf(f, "<path class=\"%s\" fill=\"#1b6ca8\" fill-opacity=\"%s\" "
          "stroke=\"none\" d=\"", cls, opacity);
  for (int i = 0; i < pl->n_fc; i++)
    fprintf(f, "%s%.2f %.2f", i ? " L" : "M", mt_panel_x(p, pl->t_fc[i]),
            mt_panel_y(p, pl->q[i * MT_BAND_NQ + a]));
  for (int i = pl->n_fc - 1; i >= 0; i--)
    fprintf(f, " L%.2f %.2f", mt_panel_x(p, pl->t_fc[i]),
            mt_panel_y(p, pl->q[i * MT_BAND_NQ + b]));
  fputs(" Z\"/>\n", f);
}

static void thresholds(FILE *f, const mt_panel *p, const mt_band_plot *pl)
{
  fputs("<g class=\"thresholds\" font-size=\"10\" fill=\"#c0392b\">\n", f);
  for (int k = 0; k < pl->n_thr; k++) {
    double y = mt_panel_y(p, pl->thr[k]);
    const char *lab = pl->thr_label ? pl->thr_label[k] : NULL;
    char v[32];
    snprintf(v, sizeof v, "%g", pl->thr[k]);
    fprintf(f, "<line class=\"threshold\" x1=\"%.1f\" y1=\"%.2f\" "
            "x2=\"%.1f\" y2=\"%.2f\" stroke=\"#c0392b\" "
            "stroke-dasharray=\"6 3\"/>\n", p->x0, y, p->x1, y);
    mt_plot_text(f, p->x1 + 5, y + 3.5, "class=\"threshold-label\"",
                 lab ? lab : v);
  }
  fputs("</g>\n", f);
}

static void legend(FILE *f)
{
  static const char *const lab[] = {"readings", "forecast median",
                                    "10-90 %", "2.5-97.5 %"};
  static const char *const sw[] = {
    "<circle cx=\"%.1f\" cy=\"56\" r=\"2.5\" fill=\"#222\"/>\n",
    NULL, /* the median's line, drawn below */
    "<rect x=\"%.1f\" y=\"51\" width=\"22\" height=\"10\" fill=\"#1b6ca8\" "
    "fill-opacity=\"0.35\"/>\n",
    "<rect x=\"%.1f\" y=\"51\" width=\"22\" height=\"10\" fill=\"#1b6ca8\" "
    "fill-opacity=\"0.15\"/>\n"};
  double x = 70;
  fputs("<g class=\"legend\">\n", f);
  for (int k = 0; k < 4; k++) {
    if (k == 1)
      fprintf(f, "<line x1=\"%.1f\" y1=\"56\" x2=\"%.1f\" y2=\"56\" "
              "stroke=\"#1b6ca8\" stroke-width=\"2\"/>\n", x, x + 22);
    else
      fprintf(f, sw[k], k == 0 ? x + 11 : x);
    mt_plot_text(f, x + 28, 60, "font-size=\"11\" fill=\"" MT_PLOT_TEXT "\"",
                 lab[k]);
    x += 150;
  }
  fputs("</g>\n", f);
}

static void header(FILE *f, const mt_band_plot *pl)
{
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" " MT_PLOT_FONT ">\n",
          W, H, W, H);
  fputs("<title>", f);
  mt_markup_escape(f, pl->title ? pl->title : "forecast");
  fputs("</title>\n", f);
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
          "fill=\"#fff\"/>\n", W, H);
  mt_plot_text(f, 70, 24, "class=\"title\" font-size=\"16\" "
               "font-weight=\"bold\" fill=\"" MT_PLOT_TEXT "\"", pl->title);
  if (pl->subtitle)
    mt_plot_text(f, 70, 40, "class=\"subtitle\" font-size=\"11\" "
                 "fill=\"#666\"", pl->subtitle);
}

int mt_plot_band_svg(const mt_band_plot *pl, FILE *f)
{
  if (!pl || !f || !valid(pl))
    return MT_EINVAL;
  mt_panel p = frame(pl);
  header(f, pl);
  legend(f);
  mt_panel_axes(f, &p, "band", pl->x_label ? pl->x_label : "time",
                pl->y_label ? pl->y_label : "value");
  if (pl->n_fc > 0) {
    band(f, &p, pl, 0, 4, "band-95", "0.15");
    band(f, &p, pl, 1, 3, "band-80", "0.2");
    mt_panel_line(f, &p, "median", pl->t_fc, pl->q + 2, pl->n_fc, MT_BAND_NQ,
                  "stroke=\"#1b6ca8\" stroke-width=\"2\"");
  }
  thresholds(f, &p, pl);
  fputs("<g class=\"readings\" fill=\"#222\">\n", f);
  for (int i = 0; i < pl->n_obs; i++)
    if (isfinite(pl->y_obs[i]))
      fprintf(f, "<circle class=\"reading\" cx=\"%.2f\" cy=\"%.2f\" "
              "r=\"2.5\"/>\n", mt_panel_x(&p, pl->t_obs[i]),
              mt_panel_y(&p, pl->y_obs[i]));
  fputs("</g>\n</svg>\n", f);
  return fflush(f) != 0 || ferror(f) ? MT_EIO : MT_OK;
}
