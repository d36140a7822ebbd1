/*
** The live twin's run as SVG: the readings, the forecast fan (each reading's
** forecast at one horizon drawn at the time it predicts: median and 50 % /
** 95 % prediction intervals), and the alerts raised.
*/
#include <math.h>
#include <stdio.h>

#include "cli.h"

/* CGM: the sensors' range, the 70-180 mg/dL time-in-range target
** (Battelino et al., Diabetes Care 42:1593, 2019). MAP: 65-100 mmHg, from
** the hypotension level to the upper end of normal. */
const twin_svg_axis twin_svg_glucose = {"CGM", "glucose, mg/dL", 40, 300,
                                        500, 50, 70, 180};
const twin_svg_axis twin_svg_map = {"MAP", "mean arterial pressure, mmHg",
                                    40, 140, 250, 20, 65, 100};

int twin_svg_write(FILE *f, const twin_svg_axis *ax, const double *rt,
                   const double *rv, int nr, const mt_twin_forecast *fc,
                   int nf, const mt_twin_alert *al, int na)
{
  if (nr < 1)
    return -1;
  const double W = 960, H = 400, L = 60, R = 20, T = 40, B = 40;
  double t0 = rt[0], t1 = rt[nr - 1], lo = ax->lo, hi = ax->hi;
  for (int k = 0; k < nf; k++) {
    t1 = fmax(t1, fc[k].t_min + fc[k].horizon_min);
    hi = fmax(hi, fmin(fc[k].q[6], ax->cap));
  }
  for (int k = 0; k < nr; k++)
    hi = fmax(hi, fmin(rv[k], ax->cap));
  if (!(t1 > t0))
    t1 = t0 + 60;
#define X(t) (L + ((t) - t0) / (t1 - t0) * (W - L - R))
#define Y(g) (T + (hi - fmin(fmax((g), lo), hi)) / (hi - lo) * (H - T - B))
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
          "height=\"%g\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
  fprintf(f, "<title>medtwin live twin: readings, forecasts, alerts</title>\n");
  fprintf(f, "<text x=\"%g\" y=\"20\" font-size=\"14\">%s readings (dots), "
          "%g-min forecasts at the time they predict (median, 50 %% and "
          "95 %% intervals), alerts (marks)</text>\n", L, ax->name,
          nf ? fc[0].horizon_min : 0.0);
  if (!isnan(ax->band_lo)) /* the target band */
    fprintf(f, "<rect x=\"%g\" y=\"%.1f\" width=\"%g\" height=\"%.1f\" "
            "fill=\"#e8f5e9\"/>\n", L, Y(ax->band_hi), W - L - R,
            Y(ax->band_lo) - Y(ax->band_hi));
  for (double g = ceil(lo / ax->tick) * ax->tick; g <= hi; g += ax->tick)
    fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            L - 6, Y(g) + 4, g);
  double step = (t1 - t0) > 2880 ? 720 : (t1 - t0) > 720 ? 180 : 60;
  for (double t = ceil(t0 / step) * step; t <= t1; t += step)
    fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g h"
            "</text>\n", X(t), H - B + 16, t / 60);
  fprintf(f, "<text x=\"14\" y=\"%g\" transform=\"rotate(-90 14 %g)\">"
          "%s</text>\n", H / 2, H / 2, ax->label);
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
