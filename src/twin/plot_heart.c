/*
** SVG plot of a beat-resolved heart run (plot_heart.h), self-contained.
**
** Top to bottom: the left-heart pressures (aortic, LV, pulmonary venous as
** the left-atrial surrogate of Smith et al., Med Eng Phys 26:131, 2004, which
** has no atria) and the right-heart pressures (RV, pulmonary artery, vena
** cava) over the last beats with beat markers; the LV and RV
** pressure-volume loops of the last beat with the end-systolic
** pressure-volume relation P = Ees (V - Vd) (Suga & Sagawa, Circ Res 35:117,
** 1974) and EDV, ESV, SV, EF; optionally beat-level MAP, HR and CO over the
** whole run, one point per beat.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"
#include "medtwin/beats.h"
#include "medtwin/error.h"
#include "medtwin/plot_heart.h"
#include "twin/plot_frame.h"

#define W 960.0
#define PX0 70.0
#define PX1 900.0

enum { O_AO, O_LV, O_PU, O_RV, O_PA, O_VC, O_VLV, O_VRV, O_N };
enum { P_HR, P_EES_L, P_VD_L, P_EES_R, P_VD_R, P_N };

typedef struct hp {
  const mt_heart_plot *pl;
  const mt_series *s;
  int obs[O_N], par[P_N], no;
  mt_beat_cols cols;
  int *bi;         /* sample index of each beat boundary, nb + 1 */
  double *bt;      /* time of each boundary, s */
  int nb;
  mt_beat *beat;   /* nb measured beats (hr_bpm 0 where not measured) */
  double *xy;      /* trend panel scratch: 2 nb */
} hp;

static double yv(const hp *h, int i, int o)
{
  return h->s->y[(size_t)i * h->no + h->obs[o]];
}

static int find_vars(hp *h)
{
  static const char *const on[O_N] = {"P_ao", "P_lv", "P_pu", "P_rv",
                                      "P_pa", "P_vc", "V_lv", "V_rv"};
  static const char *const pn[P_N] = {"HR", "Ees_lvf", "Vd_lvf", "Ees_rvf",
                                      "Vd_rvf"};
  const mt_model *m = h->pl->m;
  for (int k = 0; k < O_N; k++)
    if ((h->obs[k] = mt_var_index(m->obs, m->n_obs, on[k])) < 0)
      return MT_EINVAL;
  for (int k = 0; k < P_N; k++)
    if ((h->par[k] = mt_var_index(m->param, m->n_param, pn[k])) < 0)
      return MT_EINVAL;
  h->no = m->n_obs;
  return mt_beat_cols_find(m, &h->cols);
}

/* Beat phase at sample i: phi if the model has it, else t HR / 60. */
static double phase(const hp *h, int k_phi, int i)
{
  const mt_series *s = h->s;
  if (k_phi >= 0)
    return s->x[(size_t)i * s->n_state + k_phi];
  return s->t[i] * h->pl->param[h->par[P_HR]] / 60.0;
}

/* Boundaries: the samples where the phase first reaches each integer, the
** time interpolated between samples. */
static int segment(hp *h)
{
  const mt_series *s = h->s;
  int k_phi = mt_var_index(h->pl->m->state, h->pl->m->n_state, "phi");
  double p0 = phase(h, k_phi, 0), pe = phase(h, k_phi, s->n - 1);
  if (!isfinite(p0) || !isfinite(pe) || pe - ceil(p0) < 1.0)
    return MT_EINVAL;
  int cap = (int)(pe - ceil(p0)) + 2;
  if (!(h->bi = malloc(cap * sizeof *h->bi)) ||
      !(h->bt = malloc(cap * sizeof *h->bt)))
    return MT_ENOMEM;
  double next = ceil(p0);
  int nbd = 0;
  for (int i = 0; i < s->n && nbd < cap; i++) {
    double p = phase(h, k_phi, i);
    if (p < next)
      continue;
    double q = i > 0 ? phase(h, k_phi, i - 1) : p;
    double t = i > 0 && p > q ? s->t[i - 1] + (next - q) / (p - q) *
                                    (s->t[i] - s->t[i - 1]) : s->t[i];
    h->bi[nbd] = i;
    h->bt[nbd++] = t;
    next = floor(p) + 1.0;
  }
  h->nb = nbd - 1;
  return h->nb >= 1 ? MT_OK : MT_EINVAL;
}

/* Beat k measured by mt_beats_compute on the samples that cover it. */
static void measure(hp *h, int k)
{
  const mt_series *s = h->s;
  int lo = h->bi[k] > 0 ? h->bi[k] - 1 : 0;
  int hi = h->bi[k + 1] + 1 < s->n ? h->bi[k + 1] + 1 : s->n - 1;
  mt_series v = *s;
  v.n = hi - lo + 1;
  v.t = s->t + lo;
  v.y = s->y + (size_t)lo * s->n_obs;
  v.x = s->x ? s->x + (size_t)lo * s->n_state : NULL;
  v.u = s->u ? s->u + (size_t)lo * s->n_input : NULL;
  int n = 0;
  memset(&h->beat[k], 0, sizeof h->beat[k]);
  if (mt_beats_compute(&v, &h->cols, h->bt[k], h->bt[k + 1] - h->bt[k],
                       &h->beat[k], 1, &n) || n != 1)
    memset(&h->beat[k], 0, sizeof h->beat[k]);
}

static int measure_all(hp *h)
{
  if (!(h->beat = malloc(h->nb * sizeof *h->beat)) ||
      (h->pl->trend && !(h->xy = malloc(2 * (size_t)h->nb * sizeof *h->xy))))
    return MT_ENOMEM;
  for (int k = 0; k < h->nb; k++)
    measure(h, k);
  return h->beat[h->nb - 1].hr_bpm > 0 ? MT_OK : MT_EINVAL;
}

static void emit_header(FILE *f, const mt_heart_plot *pl, double hgt)
{
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" " MT_PLOT_FONT ">\n",
          W, hgt, W, hgt);
  fputs("<title>", f);
  mt_markup_escape(f, pl->title ? pl->title : "heart");
  fputs("</title>\n", f);
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
          "fill=\"#fff\"/>\n", W, hgt);
  mt_plot_text(f, PX0, 28, "class=\"title\" font-size=\"18\" "
               "font-weight=\"bold\" fill=\"" MT_PLOT_TEXT "\"", pl->title);
  if (pl->subtitle)
    mt_plot_text(f, PX0, 46, "class=\"subtitle\" font-size=\"12\" "
                 "fill=\"#666\"", pl->subtitle);
}

/* Legend entry at x, y; returns the x of the next. */
static double legend(FILE *f, double x, double y, const char *color,
                     const char *label)
{
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
          "stroke=\"%s\" stroke-width=\"2\"/>\n", x, y - 4, x + 22, y - 4,
          color);
  mt_plot_text(f, x + 28, y, "font-size=\"11\" fill=\"" MT_PLOT_TEXT "\"",
               label);
  return x + 44 + 6.2 * strlen(label);
}

typedef struct trace {
  int obs;
  const char *color, *label;
} trace;

/* First sample at or after time t (binary search; times non-decreasing). */
static int sample_at(const mt_series *s, double t)
{
  int lo = 0, hi = s->n - 1;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (s->t[mid] < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Dashed beat markers at the boundaries in [t0, t1], numbered. */
static void beat_markers(FILE *f, const hp *h, const mt_panel *p, int k0)
{
  fputs("<g class=\"beat-markers\" font-size=\"9\" fill=\"#888\">\n", f);
  for (int k = k0; k <= h->nb; k++) {
    double x = mt_panel_x(p, h->bt[k]);
    fprintf(f, "<line class=\"beat-marker\" x1=\"%.1f\" y1=\"%.1f\" "
            "x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" "
            "stroke-dasharray=\"3 3\"/>\n", x, p->y0, x, p->y1);
    if (k < h->nb)
      fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">beat %d</text>\n", x + 3,
              p->y0 + 10, k + 1);
  }
  fputs("</g>\n", f);
}

/* One pressure panel: three traces over the last beats from boundary k0. */
static void pressure_panel(FILE *f, const hp *h, const trace *tr, double y0,
                           double y1, const char *cls, int k0)
{
  const mt_series *s = h->s;
  int i0 = sample_at(s, h->bt[k0]), i1 = sample_at(s, h->bt[h->nb]);
  mt_panel p = {PX0, PX1, y0, y1, h->bt[k0], h->bt[h->nb], 1e300, -1e300};
  for (int j = 0; j < 3; j++)
    for (int i = i0; i <= i1; i++) {
      p.ylo = fmin(p.ylo, yv(h, i, tr[j].obs));
      p.yhi = fmax(p.yhi, yv(h, i, tr[j].obs));
    }
  p.ylo = fmin(p.ylo, 0.0);
  mt_plot_nice_range(&p.ylo, &p.yhi, 0.02);
  double x = PX0;
  fprintf(f, "<g class=\"%s\">\n", cls);
  for (int j = 0; j < 3; j++)
    x = legend(f, x, y0 - 10, tr[j].color, tr[j].label);
  mt_panel_axes(f, &p, cls, "time (s)", "pressure (mmHg)");
  beat_markers(f, h, &p, k0);
  for (int j = 0; j < 3; j++) {
    char st[64];
    snprintf(st, sizeof st, "stroke=\"%s\" stroke-width=\"1.6\"",
             tr[j].color);
    mt_panel_line(f, &p, "trace", s->t + i0,
                  s->y + (size_t)i0 * h->no + h->obs[tr[j].obs], i1 - i0 + 1,
                  h->no, st);
  }
  fputs("</g>\n", f);
}

static void pressures(FILE *f, const hp *h)
{
  static const trace left[3] = {
    {O_AO, "#c0392b", "aortic P_ao (mmHg)"},
    {O_LV, "#1f4e9c", "left ventricle P_lv (mmHg)"},
    {O_PU, "#2e9d4a", "pulmonary venous / left atrial P_pu (mmHg)"}};
  static const trace right[3] = {
    {O_RV, "#6c3483", "right ventricle P_rv (mmHg)"},
    {O_PA, "#d35400", "pulmonary artery P_pa (mmHg)"},
    {O_VC, "#117a65", "central venous P_vc (mmHg)"}};
  int show = h->pl->n_show > 0 ? h->pl->n_show : 3;
  int k0 = h->nb > show ? h->nb - show : 0;
  pressure_panel(f, h, left, 80, 250, "left-heart", k0);
  pressure_panel(f, h, right, 302, 442, "right-heart", k0);
}

typedef struct loop {
  int p, v;              /* observables */
  double ees, vd;        /* ESPVR */
  double edv, esv;       /* mL */
  int drug;              /* the run has doses: Ees may differ from ees */
  const char *cls, *name, *color;
} loop;

/* A labelled vertical marker at volume v. */
static void vol_marker(FILE *f, const mt_panel *p, double v, const char *lab,
                       const char *cls)
{
  char t[64];
  double x = mt_panel_x(p, v), y = p->y0 + 12;
  fprintf(f, "<line class=\"%s\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
          "y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"2 3\"/>\n", cls, x,
          p->y0, x, p->y1);
  snprintf(t, sizeof t, "%s %.1f mL", lab, v);
  mt_plot_text(f, x - 4, y, "font-size=\"10\" fill=\"#444\" "
               "text-anchor=\"end\"", t);
}

/* ESPVR P = Ees (V - Vd), clipped to the panel. */
static void espvr(FILE *f, const mt_panel *p, const loop *lp)
{
  if (!(lp->ees > 0))
    return;
  double va = fmax(lp->vd, p->xlo);
  double vb = fmin(p->xhi, lp->vd + p->yhi / lp->ees);
  if (!(vb > va))
    return;
  fprintf(f, "<line class=\"espvr\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
          "y2=\"%.2f\" stroke=\"#555\" stroke-width=\"1.2\" "
          "stroke-dasharray=\"6 3\"/>\n", mt_panel_x(p, va),
          mt_panel_y(p, lp->ees * (va - lp->vd)), mt_panel_x(p, vb),
          mt_panel_y(p, lp->ees * (vb - lp->vd)));
  char t[96];
  snprintf(t, sizeof t, "ESPVR (parameters): Ees %.3g mmHg/mL, "
           "Vd %.3g mL%s", lp->ees, lp->vd, lp->drug ? ", no drug effect"
           : "");
  mt_plot_text(f, p->x1, p->y1 + 44, "class=\"espvr-label\" "
               "font-size=\"10\" fill=\"#555\" text-anchor=\"end\"", t);
}

static void pv_panel(FILE *f, const hp *h, const loop *lp, double x0,
                     double x1)
{
  int i0 = h->bi[h->nb - 1], i1 = h->bi[h->nb];
  mt_panel p = {x0, x1, 500, 720, 1e300, -1e300, 0, -1e300};
  for (int i = i0; i <= i1; i++) {
    p.xlo = fmin(p.xlo, yv(h, i, lp->v));
    p.xhi = fmax(p.xhi, yv(h, i, lp->v));
    p.ylo = fmin(p.ylo, yv(h, i, lp->p));
    p.yhi = fmax(p.yhi, yv(h, i, lp->p));
  }
  if (lp->vd < p.xlo && lp->vd > p.xlo - (p.xhi - p.xlo))
    p.xlo = lp->vd;
  mt_plot_nice_range(&p.xlo, &p.xhi, 0.05);
  mt_plot_nice_range(&p.ylo, &p.yhi, 0.05);
  char st[64], lab[128];
  fprintf(f, "<g class=\"%s\">\n", lp->cls);
  snprintf(lab, sizeof lab, "%s pressure-volume loop, last beat (%.2f-%.2f s)",
           lp->name, h->bt[h->nb - 1], h->bt[h->nb]);
  mt_plot_text(f, x0, 490, "font-size=\"12\" font-weight=\"bold\" fill=\""
               MT_PLOT_TEXT "\"", lab);
  snprintf(lab, sizeof lab, "%s volume (mL)", lp->name);
  mt_panel_axes(f, &p, lp->cls, lab, "pressure (mmHg)");
  espvr(f, &p, lp);
  vol_marker(f, &p, lp->edv, "EDV", "edv-marker");
  vol_marker(f, &p, lp->esv, "ESV", "esv-marker");
  snprintf(st, sizeof st, "stroke=\"%s\" stroke-width=\"2\"", lp->color);
  char cls[32];
  snprintf(cls, sizeof cls, "%s-loop", lp->cls);
  /* x along V, y along P: the volume column as x, pressure as y */
  fprintf(f, "<path class=\"%s\" fill=\"none\" stroke-linejoin=\"round\" %s "
          "d=\"", cls, st);
  for (int i = i0; i <= i1; i++)
    fprintf(f, "%s%.2f %.2f", i > i0 ? " L" : "M",
            mt_panel_x(&p, yv(h, i, lp->v)), mt_panel_y(&p, yv(h, i, lp->p)));
  fputs("\"/>\n", f);
  double sv = lp->edv - lp->esv;
  snprintf(lab, sizeof lab, "SV %.1f mL   EF %.1f %%", sv,
           lp->edv > 0 ? 100 * sv / lp->edv : 0.0);
  mt_plot_text(f, x1 - 6, p.y0 + 28, "class=\"sv-ef\" font-size=\"11\" "
               "text-anchor=\"end\" fill=\"" MT_PLOT_TEXT "\"", lab);
  fputs("</g>\n", f);
}

static void pv_loops(FILE *f, const hp *h)
{
  const double *q = h->pl->param;
  const mt_beat *b = &h->beat[h->nb - 1];
  loop lv = {O_LV, O_VLV, q[h->par[P_EES_L]], q[h->par[P_VD_L]], b->edv_ml,
             b->esv_ml, h->pl->trend, "pv-lv", "LV", "#1f4e9c"};
  loop rv = {O_RV, O_VRV, q[h->par[P_EES_R]], q[h->par[P_VD_R]], -1e300,
             1e300, h->pl->trend, "pv-rv", "RV", "#6c3483"};
  for (int i = h->bi[h->nb - 1]; i <= h->bi[h->nb]; i++) {
    rv.edv = fmax(rv.edv, yv(h, i, O_VRV));
    rv.esv = fmin(rv.esv, yv(h, i, O_VRV));
  }
  pv_panel(f, h, &lv, PX0, 455);
  pv_panel(f, h, &rv, 535, PX1);
}

/* One trend panel: a beat-level quantity against time, one point a beat. */
static void trend_panel(FILE *f, const hp *h, double x0, double x1, int q,
                        double tscale, const char *xlab)
{
  static const char *const name[3] = {"MAP (mmHg)", "HR (/min)",
                                      "CO (L/min)"};
  static const char *const cls[3] = {"trend-map", "trend-hr", "trend-co"};
  double *xy = h->xy;
  int n = 0;
  mt_panel p = {x0, x1, 805, 945, 0, h->bt[h->nb] / tscale, 1e300, -1e300};
  for (int k = 0; k < h->nb; k++) {
    const mt_beat *b = &h->beat[k];
    double v = q == 0 ? b->map_mmhg : q == 1 ? b->hr_bpm : b->co_lmin;
    if (!(b->hr_bpm > 0))
      continue;
    xy[n] = 0.5 * (b->t0_s + b->t1_s) / tscale;
    xy[h->nb + n++] = v;
    p.ylo = fmin(p.ylo, v);
    p.yhi = fmax(p.yhi, v);
  }
  mt_plot_nice_range(&p.ylo, &p.yhi, 0.05);
  fprintf(f, "<g class=\"%s\">\n", cls[q]);
  mt_plot_text(f, x0, 795, "font-size=\"12\" font-weight=\"bold\" fill=\""
               MT_PLOT_TEXT "\"", name[q]);
  mt_panel_axes(f, &p, cls[q], xlab, name[q]);
  mt_panel_line(f, &p, "beat-points", xy, xy + h->nb, n, 1,
                "stroke=\"#1f4e9c\" stroke-width=\"1\"");
  for (int k = 0; n <= 400 && k < n; k++)
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.8\" fill=\"#1f4e9c\"/>"
            "\n", mt_panel_x(&p, xy[k]), mt_panel_y(&p, xy[h->nb + k]));
  fputs("</g>\n", f);
}

static void trends(FILE *f, const hp *h)
{
  int min = h->bt[h->nb] > 300;
  double tscale = min ? 60 : 1;
  const char *xlab = min ? "time (min), one point per beat"
                         : "time (s), one point per beat";
  for (int q = 0; q < 3; q++)
    trend_panel(f, h, PX0 + q * 300, PX0 + q * 300 + 230, q, tscale, xlab);
}

static int render(hp *h, FILE *f)
{
  int rc = find_vars(h);
  if (!rc)
    rc = segment(h);
  if (!rc)
    rc = measure_all(h);
  if (rc)
    return rc;
  emit_header(f, h->pl, h->pl->trend ? 995 : 780);
  pressures(f, h);
  pv_loops(f, h);
  if (h->pl->trend)
    trends(f, h);
  fputs("</svg>\n", f);
  return fflush(f) != 0 || ferror(f) ? MT_EIO : MT_OK;
}

int mt_plot_heart_svg(const mt_heart_plot *pl, FILE *f)
{
  if (!pl || !f || !pl->m || !pl->s || !pl->param || pl->s->n < 2 ||
      !pl->s->y || !pl->s->t)
    return MT_EINVAL;
  hp h;
  memset(&h, 0, sizeof h);
  h.pl = pl;
  h.s = pl->s;
  int rc = render(&h, f);
  free(h.bi);
  free(h.bt);
  free(h.beat);
  free(h.xy);
  return rc;
}
