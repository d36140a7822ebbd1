/* Plot panels, ticks and axes shared by the SVG plots (plot_frame.h). */
#include <math.h>
#include <stdio.h>

#include "core/escape.h"
#include "twin/plot_frame.h"

double mt_panel_x(const mt_panel *p, double x)
{
  return p->x0 + (x - p->xlo) / (p->xhi - p->xlo) * (p->x1 - p->x0);
}

double mt_panel_y(const mt_panel *p, double y)
{
  return p->y1 - (y - p->ylo) / (p->yhi - p->ylo) * (p->y1 - p->y0);
}

double mt_plot_tick_step(double span, int n)
{
  static const double m[] = {1.0, 2.0, 5.0, 10.0};
  double raw = span / (n > 0 ? n : 1);
  double p = pow(10.0, floor(log10(raw)));
  for (int i = 0; i < 4; i++)
    if (m[i] * p >= raw * (1.0 - 1e-12))
      return m[i] * p;
  return 10.0 * p;
}

void mt_plot_nice_range(double *lo, double *hi, double frac)
{
  double mag = fmax(fabs(*lo), fabs(*hi)), c = 0.5 * (*lo + *hi);
  if (!(*hi - *lo > 0.02 * mag)) {
    double half = mag > 0.0 ? 0.05 * mag : 1.0;
    *lo = fmin(*lo, c - half);
    *hi = fmax(*hi, c + half);
  }
  double pad = frac * (*hi - *lo);
  double a = *lo - pad, b = *hi + pad;
  if (*lo >= 0.0 && a < 0.0)
    a = 0.0;
  double st = mt_plot_tick_step(b - a, 10);
  *lo = floor(a / st) * st;
  *hi = ceil(b / st) * st;
}

static void x_ticks(FILE *f, const mt_panel *p, const char *cls)
{
  double st = mt_plot_tick_step(p->xhi - p->xlo, 6);
  for (double v = ceil(p->xlo / st - 1e-9) * st; v <= p->xhi + 1e-9 * st;
       v += st) {
    double x = mt_panel_x(p, v), w = fabs(v) < 1e-9 * st ? 0.0 : v;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"" MT_PLOT_GRID "\"/>\n", x, p->y0, x, p->y1);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"" MT_PLOT_AXIS "\"/>\n", x, p->y1, x, p->y1 + 4.0);
    fprintf(f, "<text class=\"%s-xtick\" x=\"%.2f\" y=\"%.1f\" "
            "text-anchor=\"middle\">%g</text>\n", cls, x, p->y1 + 15.0, w);
  }
}

static void y_ticks(FILE *f, const mt_panel *p, const char *cls)
{
  double st = mt_plot_tick_step(p->yhi - p->ylo, 5);
  for (double v = ceil(p->ylo / st - 1e-9) * st; v <= p->yhi + 1e-9 * st;
       v += st) {
    double y = mt_panel_y(p, v), w = fabs(v) < 1e-9 * st ? 0.0 : v;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"" MT_PLOT_GRID "\"/>\n", p->x0, y, p->x1, y);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"" MT_PLOT_AXIS "\"/>\n", p->x0 - 4.0, y, p->x0, y);
    fprintf(f, "<text class=\"%s-ytick\" x=\"%.1f\" y=\"%.2f\" "
            "text-anchor=\"end\">%g</text>\n", cls, p->x0 - 7.0, y + 3.5, w);
  }
}

void mt_panel_axes(FILE *f, const mt_panel *p, const char *cls,
                   const char *xlabel, const char *ylabel)
{
  fprintf(f, "<g class=\"%s-axes\" font-size=\"10\" fill=\"" MT_PLOT_AXIS
          "\">\n", cls);
  x_ticks(f, p, cls);
  y_ticks(f, p, cls);
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          "fill=\"none\" stroke=\"" MT_PLOT_AXIS "\"/>\n", p->x0, p->y0,
          p->x1 - p->x0, p->y1 - p->y0);
  mt_plot_text(f, 0.5 * (p->x0 + p->x1), p->y1 + 29.0,
               "text-anchor=\"middle\" font-size=\"11\"", xlabel);
  double ym = 0.5 * (p->y0 + p->y1), xl = p->x0 - 40.0;
  fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
          "text-anchor=\"middle\" font-size=\"11\">", xl, ym);
  mt_markup_escape(f, ylabel);
  fputs("</text>\n</g>\n", f);
}

void mt_panel_line(FILE *f, const mt_panel *p, const char *cls,
                   const double *x, const double *y, int n, int stride,
                   const char *style)
{
  int pen = 0;
  fprintf(f, "<path class=\"%s\" fill=\"none\" stroke-linejoin=\"round\" %s "
          "d=\"", cls, style);
  for (int i = 0; i < n; i++) {
    double xv = x[i], yv = y[(size_t)i * stride];
    if (!isfinite(xv) || !isfinite(yv) || xv < p->xlo || xv > p->xhi) {
      pen = 0;
      continue;
    }
    fprintf(f, "%s%.2f %.2f", pen ? " L" : " M", mt_panel_x(p, xv),
            mt_panel_y(p, yv));
    pen = 1;
  }
  fputs("\"/>\n", f);
}

void mt_plot_text(FILE *f, double x, double y, const char *attrs,
                  const char *s)
{
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs ? attrs : "");
  mt_markup_escape(f, s);
  fputs("</text>\n", f);
}
