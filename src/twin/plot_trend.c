/*
** SVG plot of observables of a long run on a shared time axis
** (plot_trend.h): a panel per observable, top to bottom, with its unit
** label from the model's observable table and an optional dashed reference
** line; the doses as coloured ticks on each panel's time axis, a colour per
** drug, named in the legend.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"
#include "medtwin/error.h"
#include "medtwin/plot_trend.h"
#include "twin/plot_frame.h"

#define W 960.0
#define PX0 80.0
#define PX1 900.0
#define TOP 96.0        /* top of the first panel */
#define PH 140.0        /* panel height */
#define GAP 58.0        /* tick labels and the next panel's heading */
#define MAX_DRUG 8      /* legend colours; further drugs reuse the last */

static const char *const drug_color[MAX_DRUG] = {
  "#c0392b", "#1f4e9c", "#2e9d4a", "#d35400",
  "#6c3483", "#117a65", "#7f8c8d", "#b7950b"};

typedef struct tp {
  const mt_trend_plot *pl;
  int *obs;             /* observable index of each panel */
  double tscale;        /* model time unit -> axis unit */
  const char *xlab;
  const char *drug[MAX_DRUG];
  int n_drug;
  double *xs;           /* sample times on the axis, n */
} tp;

/* Model time unit -> hours; 0 if unknown. */
static double unit_hours(const char *u)
{
  if (!u)
    return 0;
  return !strcmp(u, "s") ? 1.0 / 3600 : !strcmp(u, "min") ? 1.0 / 60
         : !strcmp(u, "h") ? 1.0 : 0;
}

static int check_series(const mt_trend_plot *pl)
{
  const mt_series *s = pl->s;
  if (s->n < 2 || !s->t || !s->y || s->n_obs != pl->m->n_obs)
    return MT_EINVAL;
  for (int i = 0; i < s->n; i++)
    if (!isfinite(s->t[i]) || (i > 0 && !(s->t[i] > s->t[i - 1])))
      return MT_EINVAL;
  return MT_OK;
}

/* Every argument checked before anything is written. */
static int check(tp *h)
{
  const mt_trend_plot *pl = h->pl;
  const mt_series *s = pl->s;
  double hours = unit_hours(pl->m->time_unit);
  if (!hours || pl->n_panel < 1 || !pl->panel || check_series(pl) ||
      (pl->n_dose > 0 && !pl->dose) || pl->n_dose < 0)
    return MT_EINVAL;
  if (!(h->obs = malloc(pl->n_panel * sizeof *h->obs)))
    return MT_ENOMEM;
  for (int k = 0; k < pl->n_panel; k++) {
    const mt_trend_panel *q = &pl->panel[k];
    int o = q->obs ? mt_var_index(pl->m->obs, pl->m->n_obs, q->obs) : -1;
    int finite = 0;
    for (int i = 0; o >= 0 && i < s->n && !finite; i++)
      finite = isfinite(s->y[(size_t)i * s->n_obs + o]);
    if (!finite || (q->ref_label && !isfinite(q->ref)))
      return MT_EINVAL;
    h->obs[k] = o;
  }
  for (int j = 0; j < pl->n_dose; j++)
    if (!pl->dose[j].drug || !isfinite(pl->dose[j].t))
      return MT_EINVAL;
  /* hours, or days for runs over 3 days */
  double span = (s->t[s->n - 1] - s->t[0]) * hours;
  int days = span > 72;
  h->tscale = days ? hours / 24 : hours;
  h->xlab = days ? "time (days)" : "time (h)";
  if (!(h->xs = malloc(s->n * sizeof *h->xs)))
    return MT_ENOMEM;
  for (int i = 0; i < s->n; i++)
    h->xs[i] = s->t[i] * h->tscale;
  return MT_OK;
}

/* Colour index of a drug, added to the legend on first sight. */
static int drug_index(tp *h, const char *d)
{
  for (int j = 0; j < h->n_drug; j++)
    if (!strcmp(h->drug[j], d))
      return j;
  if (h->n_drug < MAX_DRUG)
    h->drug[h->n_drug++] = d;
  return h->n_drug - 1;
}

static void header(FILE *f, tp *h, double hgt)
{
  const mt_trend_plot *pl = h->pl;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" " MT_PLOT_FONT ">\n",
          W, hgt, W, hgt);
  fputs("<title>", f);
  mt_markup_escape(f, pl->m->name);
  fputs("</title>\n", f);
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
          "fill=\"#fff\"/>\n", W, hgt);
  fprintf(f, "<text class=\"title\" x=\"%.1f\" y=\"28\" font-size=\"18\" "
          "font-weight=\"bold\" fill=\"" MT_PLOT_TEXT "\">", PX0);
  mt_markup_escape(f, pl->m->name);
  if (pl->patient) {
    fputs(" — patient ", f);
    mt_markup_escape(f, pl->patient);
  }
  if (pl->scenario) {
    fputs(" — scenario ", f);
    mt_markup_escape(f, pl->scenario);
  }
  fputs("</text>\n", f);
  if (pl->subtitle)
    mt_plot_text(f, PX0, 46, "class=\"subtitle\" font-size=\"12\" "
                 "fill=\"#666\"", pl->subtitle);
}

/* The legend of dose ticks, one entry per drug. */
static void legend(FILE *f, tp *h)
{
  for (int j = 0; j < h->pl->n_dose; j++)
    drug_index(h, h->pl->dose[j].drug);
  if (!h->n_drug)
    return;
  double x = PX0;
  fputs("<g class=\"dose-legend\" font-size=\"11\">\n", f);
  mt_plot_text(f, x, 68, "fill=\"" MT_PLOT_TEXT "\"", "doses:");
  x += 44;
  for (int j = 0; j < h->n_drug; j++) {
    fprintf(f, "<line x1=\"%.1f\" y1=\"58\" x2=\"%.1f\" y2=\"70\" "
            "stroke=\"%s\" stroke-width=\"2\"/>\n", x, x, drug_color[j]);
    mt_plot_text(f, x + 6, 68, "class=\"dose-drug\" fill=\"" MT_PLOT_TEXT
                 "\"", h->drug[j]);
    x += 24 + 6.2 * strlen(h->drug[j]);
  }
  fputs("</g>\n", f);
}

/* Dose ticks up from the panel's time axis, a row per drug. */
static void dose_ticks(FILE *f, tp *h, const mt_panel *p)
{
  const mt_trend_plot *pl = h->pl;
  if (!pl->n_dose)
    return;
  fputs("<g class=\"doses\" stroke-width=\"1.5\">\n", f);
  for (int j = 0; j < pl->n_dose; j++) {
    double t = pl->dose[j].t * h->tscale;
    if (t < p->xlo || t > p->xhi)
      continue;
    int d = drug_index(h, pl->dose[j].drug);
    double x = mt_panel_x(p, t), yb = p->y1 - 7.0 * d;
    fprintf(f, "<line class=\"dose\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
            "y2=\"%.1f\" stroke=\"%s\"/>\n", x, yb, x, yb - 7.0,
            drug_color[d]);
  }
  fputs("</g>\n", f);
}

/* Class-safe copy of an observable name: letters, digits, '-', '_'. */
static void cls_name(char *out, size_t n, const char *name)
{
  int k = snprintf(out, n, "trend-");
  for (const char *c = name; *c && k + 1 < (int)n; c++)
    out[k++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
               (*c >= '0' && *c <= '9') || *c == '-' ? *c : '_';
  out[k] = 0;
}

/* "name (unit)" with the unit's UCUM brackets dropped: mm[Hg] -> mmHg. */
static void unit_label(char *out, size_t n, const mt_var *v)
{
  int k = snprintf(out, n, "%s (", v->name);
  for (const char *c = v->unit ? v->unit : ""; *c && k + 2 < (int)n; c++)
    if (*c != '[' && *c != ']')
      out[k++] = *c;
  snprintf(out + k, n - k, ")");
}

static void panel(FILE *f, tp *h, int k)
{
  const mt_trend_plot *pl = h->pl;
  const mt_trend_panel *q = &pl->panel[k];
  const mt_var *v = &pl->m->obs[h->obs[k]];
  const mt_series *s = pl->s;
  double y0 = TOP + k * (PH + GAP);
  mt_panel p = {PX0, PX1, y0, y0 + PH, h->xs[0], h->xs[s->n - 1], 1e300,
                -1e300};
  for (int i = 0; i < s->n; i++) {
    double y = s->y[(size_t)i * s->n_obs + h->obs[k]];
    if (isfinite(y))
      p.ylo = fmin(p.ylo, y), p.yhi = fmax(p.yhi, y);
  }
  if (q->ref_label)
    p.ylo = fmin(p.ylo, q->ref), p.yhi = fmax(p.yhi, q->ref);
  mt_plot_nice_range(&p.ylo, &p.yhi, 0.05);
  char cls[48], lab[160];
  cls_name(cls, sizeof cls, v->name);
  fprintf(f, "<g class=\"%s\">\n", cls);
  snprintf(lab, sizeof lab, "%s — %s", v->name, v->doc ? v->doc : "");
  mt_plot_text(f, PX0, y0 - 8, "class=\"panel-title\" font-size=\"12\" "
               "font-weight=\"bold\" fill=\"" MT_PLOT_TEXT "\"", lab);
  unit_label(lab, sizeof lab, v);
  mt_panel_axes(f, &p, cls, k == pl->n_panel - 1 ? h->xlab : "", lab);
  if (q->ref_label) {
    double y = mt_panel_y(&p, q->ref);
    fprintf(f, "<line class=\"ref-line\" x1=\"%.1f\" y1=\"%.2f\" "
            "x2=\"%.1f\" y2=\"%.2f\" stroke=\"#c0392b\" stroke-width=\"1.2\" "
            "stroke-dasharray=\"6 4\"/>\n", p.x0, y, p.x1, y);
    mt_plot_text(f, p.x1 - 4, y - 4, "class=\"ref-label\" font-size=\"10\" "
                 "text-anchor=\"end\" fill=\"#c0392b\"", q->ref_label);
  }
  dose_ticks(f, h, &p);
  mt_panel_line(f, &p, "trace", h->xs, s->y + h->obs[k], s->n, s->n_obs,
                "stroke=\"#1f4e9c\" stroke-width=\"1.6\"");
  fputs("</g>\n", f);
}

static int render(tp *h, FILE *f)
{
  int rc = check(h);
  if (rc)
    return rc;
  int n = h->pl->n_panel;
  header(f, h, TOP + n * PH + (n - 1) * GAP + 44);
  legend(f, h);
  for (int k = 0; k < n; k++)
    panel(f, h, k);
  fputs("</svg>\n", f);
  return fflush(f) != 0 || ferror(f) ? MT_EIO : MT_OK;
}

int mt_plot_trend_svg(const mt_trend_plot *pl, FILE *f)
{
  if (!pl || !f || !pl->m || !pl->s)
    return MT_EINVAL;
  tp h;
  memset(&h, 0, sizeof h);
  h.pl = pl;
  int rc = render(&h, f);
  free(h.obs);
  free(h.xs);
  return rc;
}
