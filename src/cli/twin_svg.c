/*
** The live twin's run as SVG: the readings, the forecast fan (each reading's
** forecast at one horizon drawn at the time it predicts: median and 50 % /
** 95 % prediction intervals), and the alerts raised.
*/
#include <math.h>
#include <stdio.h>

#include "cli.h"

int twin_svg_write(FILE *f, const double *rt, const double *rv, int nr,
                   const mt_twin_forecast *fc, int nf,
                   const mt_twin_alert *al, int na)
{
  if (nr < 1)
    return -1;
  const double W = 960, H = 400, L = 60, R = 20, T = 40, B = 40;
  double t0 = rt[0], t1 = rt[nr - 1], lo = 40, hi = 300;
  for (int k = 0; k < nf; k++) {
    t1 = fmax(t1, fc[k].t_min + fc[k].horizon_min);
    hi = fmax(hi, fmin(fc[k].q[6], 500));
  }
  for (int k = 0; k < nr; k++)
    hi = fmax(hi, fmin(rv[k], 500));
  if (!(t1 > t0))
    t1 = t0 + 60;
#define X(t) (L + ((t) - t0) / (t1 - t0) * (W - L - R))
#define Y(g) (T + (hi - fmin(fmax((g), lo), hi)) / (hi - lo) * (H - T - B))
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
          "height=\"%g\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
  fprintf(f, "<title>medtwin live twin: readings, forecasts, alerts</title>\n");
  fprintf(f, "<text x=\"%g\" y=\"20\" font-size=\"14\">CGM readings (dots), "
          "%g-min forecasts at the time they predict (median, 50 %% and "
          "95 %% intervals), alerts (marks)</text>\n", L,
          nf ? fc[0].horizon_min : 0.0);
  fprintf(f, "<rect x=\"%g\" y=\"%.1f\" width=\"%g\" height=\"%.1f\" "
          "fill=\"#e8f5e9\"/>\n", L, Y(180), W - L - R, Y(70) - Y(180));
  for (double g = 50; g <= hi; g += 50)
    fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            L - 6, Y(g) + 4, g);
  double step = (t1 - t0) > 2880 ? 720 : (t1 - t0) > 720 ? 180 : 60;
  for (double t = ceil(t0 / step) * step; t <= t1; t += step)
    fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g h"
            "</text>\n", X(t), H - B + 16, t / 60);
  fprintf(f, "<text x=\"14\" y=\"%g\" transform=\"rotate(-90 14 %g)\">"
          "glucose, mg/dL</text>\n", H / 2, H / 2);
  /* the fan: 95 % then 50 % bands, then the median */
  static const int band[2][2] = {{0, 6}, {2, 4}};
  static const char *const shade[2] = {"0.12", "0.25"};
  for (int b = 0; b < 2 && nf > 1; b++) {
    fprintf(f, "<path fill=\"#1b6ca8\" fill-opacity=\"%s\" d=\"", shade[b]);
    for (int k = 0; k < nf; k++)
      fprintf(f, "%s%.1f %.1f", k ? " L" : "M",
              X(fc[k].t_min + fc[k].horizon_min), Y(fc[k].q[band[b][0]]));
    for (int k = nf - 1; k >= 0; k--)
      fprintf(f, " L%.1f %.1f", X(fc[k].t_min + fc[k].horizon_min),
              Y(fc[k].q[band[b][1]]));
    fprintf(f, " Z\"/>\n");
  }
  if (nf > 1) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"#1b6ca8\" stroke-width=\"1.5\" "
            "points=\"");
    for (int k = 0; k < nf; k++)
      fprintf(f, "%.1f,%.1f ", X(fc[k].t_min + fc[k].horizon_min),
              Y(fc[k].q[3]));
    fprintf(f, "\"/>\n");
  }
  for (int k = 0; k < nr; k++)
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"#222\"/>\n",
            X(rt[k]), Y(rv[k]));
  for (int k = 0; k < na; k++) {
    const char *c = al[k].kind == MT_ALERT_HYPER ? "#d35400" : "#c0392b";
    double x = X(al[k].t_min), y = al[k].kind == MT_ALERT_HYPER ? T : H - B;
    fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%g\" y2=\"%g\" "
            "stroke=\"%s\" stroke-dasharray=\"3 3\"/>\n<text x=\"%.1f\" "
            "y=\"%.1f\" fill=\"%s\" font-size=\"10\">%s</text>\n", x, x, T,
            H - B, c, x + 2, y + (y == T ? 10 : -4), c,
            mt_alert_kind_name(al[k].kind));
  }
#undef X
#undef Y
  fprintf(f, "</svg>\n");
  return ferror(f) ? -1 : 0;
}
