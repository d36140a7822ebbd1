/* Internal: a rectangular plot panel mapping data to page coordinates, with
** nice ticks, axes and polylines, shared by the heart and band plots
** (plot_heart.c, plot_band.c). Every text argument is escaped. */
#ifndef MT_TWIN_PLOT_FRAME_H
#define MT_TWIN_PLOT_FRAME_H

#include <stdio.h>

#define MT_PLOT_FONT "font-family=\"Helvetica,Arial,sans-serif\""
#define MT_PLOT_AXIS "#4a4f55"
#define MT_PLOT_GRID "#e3e6ea"
#define MT_PLOT_TEXT "#222"

typedef struct mt_panel {
  double x0, x1, y0, y1;   /* page box, px (y0 top) */
  double xlo, xhi;         /* data range along x */
  double ylo, yhi;         /* data range along y */
} mt_panel;

double mt_panel_x(const mt_panel *p, double x);
double mt_panel_y(const mt_panel *p, double y);

/* Tick spacing: 1, 2 or 5 times a power of ten giving about n ticks over
** span (span > 0). */
double mt_plot_tick_step(double span, int n);

/* Widen [*lo, *hi] by frac of its span on each side (not below 0 if *lo is
** not) and round it outward to a tenth-of-span tick step. A span under 2 %
** of the largest magnitude (a constant trace) becomes +-5 % of it (+-1 at
** zero), so rounding noise is not blown up to fill the panel. */
void mt_plot_nice_range(double *lo, double *hi, double frac);

/* Grid, ticks and tick labels on both axes, the frame, and the axis titles
** (xlabel under, ylabel rotated at the left). cls names the group: tick
** labels carry class "<cls>-xtick" / "<cls>-ytick" and their value. */
void mt_panel_axes(FILE *f, const mt_panel *p, const char *cls,
                   const char *xlabel, const char *ylabel);

/* A polyline through (x[i], y[i]), i < n, skipping non-finite points and
** points outside [xlo, xhi]; style is raw attribute text. */
void mt_panel_line(FILE *f, const mt_panel *p, const char *cls,
                   const double *x, const double *y, int n, int stride,
                   const char *style);

/* Text at (x, y) px, escaped; attrs raw. */
void mt_plot_text(FILE *f, double x, double y, const char *attrs,
                  const char *s);

#endif
