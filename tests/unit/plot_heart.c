/*
** Unit tests of the heart plot (src/twin/plot_heart.c) and of the
** observable-with-forecast band plot (src/twin/plot_band.c): XML
** well-formedness (a tag-nesting check: every element closed in order,
** attributes quoted, no raw '<' or stray '&' in text), labels and units,
** escaping of user text, geometry read back through the drawn axis ticks,
** and error returns that write nothing.
**
** Geometry references are independent of the renderer: the PV loop is
** compared with the extremes of the run's own V_lv samples over the last
** beat; the band plot with the synthetic arrays given to it. Tolerances:
** 1 mL on the loop (the agreement required; coordinates are printed to 0.01 px,
** about 0.005 mL), 0.05 units on the band plot (0.01 px is 0.003 units).
*/
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "medtwin/plot_band.h"
#include "medtwin/plot_heart.h"
#include "medtwin/sim.h"
#include "svg_check.h"

#define MAXP 20000

/* ------------------------------------------------------------ helpers */

/* ------------------------------------------------------------ heart */

typedef struct heart_run {
  const mt_model *m;
  mt_patient *pt;
  mt_series o;
} heart_run;

/* healthy for t_end s sampled every 1 ms (the CLI's sampling). */
static void heart_simulate(heart_run *r, double t_end)
{
  char err[MT_ERRMSG_MAX] = "";
  memset(r, 0, sizeof *r);
  r->m = mt_model_find("circulation_smith2004");
  cr_assert_not_null(r->m);
  cr_assert_eq(mt_patient_load(r->m, "healthy", &r->pt, err, sizeof err), 0,
               "%s", err);
  int n = (int)floor(t_end / 1e-3 + 1e-9) + 1;
  cr_assert_eq(mt_series_alloc(&r->o, r->m, n), 0);
  for (int i = 0; i < n; i++)
    r->o.t[i] = fmin(i * 1e-3, t_end);
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s = NULL;
  cr_assert_eq(mt_sim_create(r->m, &cfg, &s), 0);
  cr_assert_eq(mt_sim_run(s, r->pt->param, NULL, NULL, NULL, 0, t_end,
                          &r->o), 0);
  mt_sim_free(s);
}

static void heart_free(heart_run *r)
{
  mt_series_clear(&r->o);
  mt_patient_free(r->pt);
}

static int heart_render(const mt_heart_plot *pl, char **out, size_t *len)
{
  FILE *f = open_memstream(out, len);
  cr_assert_not_null(f);
  int rc = mt_plot_heart_svg(pl, f);
  cr_assert_eq(fclose(f), 0);
  return rc;
}

/* Extremes of observable name over the samples with t in [t0, t1]. */
static void obs_range(const heart_run *r, const char *name, double t0,
                      double t1, double *lo, double *hi)
{
  int k = mt_var_index(r->m->obs, r->m->n_obs, name);
  cr_assert_geq(k, 0);
  *lo = 1e300, *hi = -1e300;
  for (int i = 0; i < r->o.n; i++)
    if (r->o.t[i] >= t0 - 1e-12 && r->o.t[i] <= t1 + 1e-12) {
      double v = r->o.y[(size_t)i * r->m->n_obs + k];
      *lo = fmin(*lo, v), *hi = fmax(*hi, v);
    }
}

/* 8 beats of the healthy condition (HR 80/min, 0.75 s a beat): the last
** whole beat is [5.25, 6.00) s. */
Test(plot_heart, structure_labels_and_pv_loop)
{
  heart_run r;
  heart_simulate(&r, 6.0);
  mt_heart_plot pl = {"<b>Smith & \"Jones\"</b> o'Neil", "sub", r.m, &r.o,
                      r.pt->param, 3, 0};
  char *s = NULL;
  size_t len = 0;
  cr_assert_eq(heart_render(&pl, &s, &len), MT_OK);
  assert_xml(s);
  /* user text escaped, never raw */
  assert_has(s, "&lt;b&gt;Smith &amp; &quot;Jones&quot;&lt;/b&gt; o&#39;Neil");
  assert_lacks(s, "<b>");
  /* every trace, unit and loop label */
  const char *want[] = {"aortic P_ao (mmHg)", "left ventricle P_lv (mmHg)",
    "pulmonary venous / left atrial P_pu (mmHg)",
    "right ventricle P_rv (mmHg)", "pulmonary artery P_pa (mmHg)",
    "central venous P_vc (mmHg)", "time (s)", "pressure (mmHg)",
    "LV volume (mL)", "RV volume (mL)", ">EDV ", ">ESV ", "SV ", "EF ",
    "ESPVR (parameters): Ees 2.88 mmHg/mL, Vd 0 mL"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    assert_has(s, want[i]);
  /* 3 beats shown in 2 panels: 4 boundaries each */
  cr_expect_eq(count(s, "class=\"beat-marker\""), 8);
  /* no trend panel without doses */
  assert_lacks(s, "trend-map");
  /* the LV loop spans the last beat's V_lv extremes within 1 mL */
  double esv, edv, px[MAXP], py[MAXP];
  obs_range(&r, "V_lv", 5.25, 6.0, &esv, &edv);
  int n = path_points(s, "pv-lv-loop", px, py, MAXP);
  cr_assert_geq(n, 700, "%d loop points for a 750 ms beat at 1 ms", n);
  axis ax = axis_read(s, "pv-lv-xtick", 0);
  double lo = 1e300, hi = -1e300;
  for (int i = 0; i < n; i++) {
    lo = fmin(lo, axis_value(&ax, px[i]));
    hi = fmax(hi, axis_value(&ax, px[i]));
  }
  cr_expect(fabs(lo - esv) < 1.0, "loop from %.2f mL, ESV %.2f mL", lo, esv);
  cr_expect(fabs(hi - edv) < 1.0, "loop to %.2f mL, EDV %.2f mL", hi, edv);
  /* and its pressures span the last beat's P_lv */
  double plo, phi;
  obs_range(&r, "P_lv", 5.25, 6.0, &plo, &phi);
  axis ay = axis_read(s, "pv-lv-ytick", 1);
  lo = 1e300, hi = -1e300;
  for (int i = 0; i < n; i++) {
    lo = fmin(lo, axis_value(&ay, py[i]));
    hi = fmax(hi, axis_value(&ay, py[i]));
  }
  cr_expect(fabs(lo - plo) < 0.5 && fabs(hi - phi) < 0.5,
            "loop %.2f-%.2f mmHg, P_lv %.2f-%.2f mmHg", lo, hi, plo, phi);
  free(s);
  heart_free(&r);
}

/* With the trend panel: one point per beat, 8 beats. */
Test(plot_heart, trend_panel)
{
  heart_run r;
  /* 6.05 s: 8 whole beats of 0.75 s and a part; a run ending exactly at
  ** 6 s would put the last boundary within rounding of the last sample */
  heart_simulate(&r, 6.05);
  mt_heart_plot pl = {"healthy", NULL, r.m, &r.o, r.pt->param, 2, 1};
  char *s = NULL;
  size_t len = 0;
  cr_assert_eq(heart_render(&pl, &s, &len), MT_OK);
  assert_xml(s);
  assert_has(s, "MAP (mmHg)");
  assert_has(s, "HR (/min)");
  assert_has(s, "CO (L/min)");
  assert_has(s, "one point per beat");
  assert_has(s, "no drug effect");
  /* 8 beats: 8 points in each of the 3 panels */
  cr_expect_eq(count(s, "<circle"), 24);
  double px[64], py[64];
  cr_expect_eq(path_points(s, "beat-points", px, py, 64), 8);
  /* HR is 80/min in every beat: each point reads 80 within 0.01 */
  axis ay = axis_read(s, "trend-hr-ytick", 1);
  const char *hr = strstr(s, "class=\"trend-hr\"");
  cr_assert_not_null(hr);
  int n = path_points(hr, "beat-points", px, py, 64);
  for (int i = 0; i < n; i++)
    cr_expect(fabs(axis_value(&ay, py[i]) - 80.0) < 0.01, "beat %d: %.4f",
              i, axis_value(&ay, py[i]));
  /* 2 beats shown: 3 boundaries in each pressure panel */
  cr_expect_eq(count(s, "class=\"beat-marker\""), 6);
  free(s);
  heart_free(&r);
}

Test(plot_heart, errors_write_nothing)
{
  heart_run r;
  heart_simulate(&r, 0.5); /* shorter than one 0.75 s beat */
  mt_heart_plot pl = {"x", NULL, r.m, &r.o, r.pt->param, 3, 0};
  char *s = NULL;
  size_t len = 0;
  cr_expect_eq(heart_render(&pl, &s, &len), MT_EINVAL);
  cr_expect_eq(len, 0);
  free(s);
  /* a model without the heart's observables */
  pl.m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(pl.m);
  s = NULL;
  cr_expect_eq(heart_render(&pl, &s, &len), MT_EINVAL);
  cr_expect_eq(len, 0);
  free(s);
  cr_expect_eq(mt_plot_heart_svg(NULL, stdout), MT_EINVAL);
  pl.m = r.m;
  cr_expect_eq(mt_plot_heart_svg(&pl, NULL), MT_EINVAL);
  heart_free(&r);
}

/* ------------------------------------------------------------ band */

#define NO 10
#define NF 11

typedef struct band_data {
  double to[NO], yo[NO], tf[NF], q[NF * MT_BAND_NQ], thr[1];
  const char *lab[1];
  mt_band_plot pl;
} band_data;

/* Readings 70, 71, ... at t = 0..9 min (one missing); forecast t = 10..20,
** median 80 + (t - 10) with offsets -20 -10 0 +10 +20 at the five levels;
** a threshold at 65. */
static void band_init(band_data *d)
{
  static const double off[MT_BAND_NQ] = {-20, -10, 0, 10, 20};
  memset(d, 0, sizeof *d);
  for (int i = 0; i < NO; i++)
    d->to[i] = i, d->yo[i] = 70 + i;
  d->yo[4] = NAN;
  for (int i = 0; i < NF; i++) {
    d->tf[i] = 10 + i;
    for (int k = 0; k < MT_BAND_NQ; k++)
      d->q[i * MT_BAND_NQ + k] = 80 + i + off[k];
  }
  d->thr[0] = 65;
  d->lab[0] = "MAP 65 mmHg <low>";
  d->pl = (mt_band_plot){"bed 3 & \"A\"", "synthetic", "time (min)",
                         "MAP (mmHg)", NO, d->to, d->yo, NF, d->tf, d->q, 1,
                         d->thr, d->lab};
}

static int band_render(const mt_band_plot *pl, char **out, size_t *len)
{
  FILE *f = open_memstream(out, len);
  cr_assert_not_null(f);
  int rc = mt_plot_band_svg(pl, f);
  cr_assert_eq(fclose(f), 0);
  return rc;
}

Test(plot_band, structure_and_geometry)
{
  band_data d;
  band_init(&d);
  char *s = NULL;
  size_t len = 0;
  cr_assert_eq(band_render(&d.pl, &s, &len), MT_OK);
  assert_xml(s);
  assert_has(s, "bed 3 &amp; &quot;A&quot;");
  assert_has(s, "MAP 65 mmHg &lt;low&gt;");
  assert_has(s, "MAP (mmHg)");
  assert_has(s, "time (min)");
  assert_has(s, "10-90 %");
  assert_has(s, "2.5-97.5 %");
  /* 9 finite readings of 10 */
  cr_expect_eq(count(s, "class=\"reading\""), 9);
  axis ax = axis_read(s, "band-xtick", 0), ay = axis_read(s, "band-ytick", 1);
  double px[64], py[64];
  /* the median at every forecast time */
  int n = path_points(s, "median", px, py, 64);
  cr_assert_eq(n, NF);
  for (int i = 0; i < n; i++) {
    cr_expect(fabs(axis_value(&ax, px[i]) - d.tf[i]) < 0.05);
    cr_expect(fabs(axis_value(&ay, py[i]) - d.q[i * MT_BAND_NQ + 2]) < 0.05,
              "median %d: %.3f", i, axis_value(&ay, py[i]));
  }
  /* the 95 % band: out along 2.5 %, back along 97.5 % */
  n = path_points(s, "band-95", px, py, 64);
  cr_assert_eq(n, 2 * NF);
  cr_expect(fabs(axis_value(&ay, py[0]) - d.q[0]) < 0.05);
  cr_expect(fabs(axis_value(&ay, py[NF]) - d.q[(NF - 1) * MT_BAND_NQ + 4]) <
            0.05);
  n = path_points(s, "band-80", px, py, 64);
  cr_assert_eq(n, 2 * NF);
  cr_expect(fabs(axis_value(&ay, py[0]) - d.q[1]) < 0.05);
  /* the threshold line at 65 */
  const char *t = strstr(s, "class=\"threshold\"");
  cr_assert_not_null(t);
  cr_expect(fabs(axis_value(&ay, strtod(strstr(t, "y1=\"") + 4, NULL)) -
                 65.0) < 0.05);
  free(s);
}

/* Readings alone, forecast alone, no thresholds: still a plot. */
Test(plot_band, optional_parts)
{
  band_data d;
  band_init(&d);
  char *s = NULL;
  size_t len = 0;
  d.pl.n_fc = 0, d.pl.n_thr = 0;
  cr_assert_eq(band_render(&d.pl, &s, &len), MT_OK);
  assert_xml(s);
  assert_lacks(s, "class=\"median\"");
  assert_lacks(s, "class=\"threshold\"");
  free(s);
  band_init(&d);
  d.pl.n_obs = 0, d.pl.thr_label = NULL;
  cr_assert_eq(band_render(&d.pl, &s, &len), MT_OK);
  assert_xml(s);
  assert_has(s, ">65</text>"); /* an unlabelled threshold shows its value */
  cr_expect_eq(count(s, "class=\"reading\""), 0);
  free(s);
}

static void expect_inval(const mt_band_plot *pl, const char *what)
{
  char *s = NULL;
  size_t len = 0;
  cr_expect_eq(band_render(pl, &s, &len), MT_EINVAL, "%s", what);
  cr_expect_eq(len, 0, "%s: %zu bytes written", what, len);
  free(s);
}

Test(plot_band, invalid_input_writes_nothing)
{
  band_data d;
  band_init(&d);
  d.q[3 * MT_BAND_NQ + 1] = d.q[3 * MT_BAND_NQ + 3] + 1; /* 10 % > 90 % */
  expect_inval(&d.pl, "quantiles out of order");
  band_init(&d);
  d.tf[5] = 9;
  expect_inval(&d.pl, "forecast times decreasing");
  band_init(&d);
  d.q[7] = NAN;
  expect_inval(&d.pl, "non-finite quantile");
  band_init(&d);
  d.to[2] = INFINITY;
  expect_inval(&d.pl, "non-finite reading time");
  band_init(&d);
  d.pl.q = NULL;
  expect_inval(&d.pl, "no quantiles");
  band_init(&d);
  d.pl.n_obs = 0, d.pl.n_fc = 0;
  expect_inval(&d.pl, "nothing to draw");
  band_init(&d);
  cr_expect_eq(mt_plot_band_svg(&d.pl, NULL), MT_EINVAL);
  cr_expect_eq(mt_plot_band_svg(NULL, stdout), MT_EINVAL);
}
