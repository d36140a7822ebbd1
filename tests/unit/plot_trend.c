/*
** Unit tests of the trend plot (src/twin/plot_trend.c) on a run of
** circulation_beatavg: XML well-formedness (the tag-nesting check of
** tests/unit/plot_heart.c: every element closed in order, attributes quoted,
** no raw '<' or stray '&' in text), unit labels from the observable table,
** escaping of the patient and scenario, geometry read back through the drawn
** axis ticks, and error returns that write nothing.
**
** Geometry references are the run's own samples (hourly MAP, EF and times),
** not the renderer's output. Tolerance: half a pixel's worth of the axis
** (value span of the ticks / their pixel span / 2); coordinates are printed
** to 0.01 px, so a correct mapping is off by at most 0.005 px.
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
#include "medtwin/plot_trend.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "svg_check.h"

#define MAXP 4000

/* ------------------------------------------------------------ helpers */

/* Half a pixel's worth of the axis, in data units. */
static double half_px(const axis *a)
{
  return 0.5 * fabs((a->v1 - a->v0) / (a->p1 - a->p0));
}

/* ------------------------------------------------------------ a run */

typedef struct run {
  const mt_model *m;
  mt_patient *pt;
  mt_series o;
} run;

/* hfref for days days sampled hourly (the CLI's sampling), a beta-blocker
** dose of 50 (over 1 min) each day at 08:00 so that MAP and EF move. */
static void simulate(run *r, double days)
{
  char err[MT_ERRMSG_MAX] = "";
  memset(r, 0, sizeof *r);
  r->m = mt_model_find("circulation_beatavg");
  cr_assert_not_null(r->m);
  cr_assert_eq(mt_patient_load(r->m, "hfref", &r->pt, err, sizeof err), 0,
               "%s", err);
  double t_end = days * 1440;
  int n = (int)ceil(t_end / 60 - 1e-9) + 1;
  cr_assert_eq(mt_series_alloc(&r->o, r->m, n), 0);
  for (int i = 0; i < n; i++)
    r->o.t[i] = fmin(60.0 * i, t_end);
  mt_schedule *sch = NULL;
  int k = mt_var_index(r->m->input, r->m->n_input, "beta_blocker");
  cr_assert_geq(k, 0);
  cr_assert_eq(mt_schedule_create(r->m->n_input, &sch), 0);
  for (int d = 0; d < days; d++)
    cr_assert_eq(mt_schedule_pulse(sch, k, 1440.0 * d + 480,
                                   1440.0 * d + 481, 50.0, 0), 0);
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  mt_sim *s = NULL;
  cr_assert_eq(mt_sim_create(r->m, &cfg, &s), 0);
  cr_assert_eq(mt_sim_run(s, r->pt->param, NULL, NULL, sch, 0, t_end,
                          &r->o), 0);
  mt_sim_free(s);
  mt_schedule_free(sch);
}

static void run_free(run *r)
{
  mt_series_clear(&r->o);
  mt_patient_free(r->pt);
}

static int render(const mt_trend_plot *pl, char **out, size_t *len)
{
  FILE *f = open_memstream(out, len);
  cr_assert_not_null(f);
  int rc = mt_plot_trend_svg(pl, f);
  cr_assert_eq(fclose(f), 0);
  return rc;
}

static const mt_trend_panel panels[4] = {
  {"MAP", "MAP 65 mmHg", 65.0}, {"CO", NULL, 0}, {"EF", NULL, 0},
  {"weight", NULL, 0}};

/* Every sample of observable name read back from the panel's trace through
** its ticks: time in days (run over 3 days) and value, each within half a
** pixel's worth. */
static void check_trace(const char *s, const run *r, const char *name)
{
  static double px[MAXP], py[MAXP];
  char g[64], xc[64], yc[64];
  snprintf(g, sizeof g, "<g class=\"trend-%s\">", name);
  snprintf(xc, sizeof xc, "trend-%s-xtick", name);
  snprintf(yc, sizeof yc, "trend-%s-ytick", name);
  const char *from = strstr(s, g);
  cr_assert_not_null(from, "no panel %s", name);
  int n = path_points(from, "trace", px, py, MAXP);
  cr_assert_eq(n, r->o.n, "%s: %d points for %d samples", name, n, r->o.n);
  axis ax = axis_read(s, xc, 0), ay = axis_read(s, yc, 1);
  int k = mt_var_index(r->m->obs, r->m->n_obs, name);
  double worst = 0;
  for (int i = 0; i < n; i++) {
    double v = r->o.y[(size_t)i * r->m->n_obs + k];
    cr_assert_leq(fabs(axis_value(&ax, px[i]) - r->o.t[i] / 1440),
                  half_px(&ax), "%s: time of sample %d", name, i);
    worst = fmax(worst, fabs(axis_value(&ay, py[i]) - v));
  }
  cr_expect_leq(worst, half_px(&ay), "%s: worst error %g", name, worst);
}

/* ------------------------------------------------------------ tests */

/* 5 days: the time axis in days; MAP and EF of the run read back. */
Test(plot_trend, structure_labels_and_points)
{
  run r;
  simulate(&r, 5);
  mt_trend_dose d[3] = {{480, "beta_blocker"}, {1920, "beta_blocker"},
                        {1920, "vasodilator"}};
  mt_trend_plot pl = {r.m, &r.o, "hfref", "month.json", "sub", 4, panels,
                      3, d};
  char *s = NULL;
  size_t len = 0;
  cr_assert_eq(render(&pl, &s, &len), MT_OK);
  assert_xml(s);
  /* unit labels of the observable table, UCUM brackets dropped */
  assert_has(s, ">MAP (mmHg)<");
  assert_has(s, ">CO (L/min)<");
  assert_has(s, ">EF (%)<");
  assert_has(s, ">weight (kg)<");
  assert_has(s, ">time (days)<");
  assert_lacks(s, "time (h)");
  assert_has(s, "circulation_beatavg — patient hfref — scenario month.json");
  /* the reference line, once, at 65 mmHg within half a pixel */
  cr_assert_eq(count(s, "class=\"ref-line\""), 1);
  assert_has(s, ">MAP 65 mmHg<");
  const char *l = strstr(s, "class=\"ref-line\"");
  axis ay = axis_read(s, "trend-MAP-ytick", 1);
  double y1 = strtod(strstr(l, " y1=\"") + 5, NULL);
  cr_expect_leq(fabs(axis_value(&ay, y1) - 65.0), half_px(&ay));
  /* doses: a tick per dose on each of the 4 panels, both drugs named */
  cr_expect_eq(count(s, "class=\"dose\""), 3 * 4);
  cr_expect_eq(count(s, "class=\"dose-drug\""), 2);
  assert_has(s, ">beta_blocker<");
  assert_has(s, ">vasodilator<");
  check_trace(s, &r, "MAP");
  check_trace(s, &r, "EF");
  free(s);
  run_free(&r);
}

/* A run of a day: the time axis in hours; no dose, no legend. */
Test(plot_trend, hours_for_short_runs)
{
  run r;
  simulate(&r, 1);
  mt_trend_plot pl = {r.m, &r.o, NULL, NULL, NULL, 1, panels + 2, 0, NULL};
  char *s = NULL;
  size_t len = 0;
  cr_assert_eq(render(&pl, &s, &len), MT_OK);
  assert_xml(s);
  assert_has(s, ">time (h)<");
  assert_lacks(s, "dose");
  assert_lacks(s, "ref-line");
  /* the trace's ends read back through the ticks at 0 and 24 h */
  static double px[MAXP], py[MAXP];
  int n = path_points(s, "trace", px, py, MAXP);
  cr_assert_eq(n, 25);
  axis ax = axis_read(s, "trend-EF-xtick", 0);
  cr_expect_leq(fabs(axis_value(&ax, px[0])), half_px(&ax));
  cr_expect_leq(fabs(axis_value(&ax, px[n - 1]) - 24.0), half_px(&ax));
  free(s);
  run_free(&r);
}

Test(plot_trend, patient_and_scenario_escaped)
{
  run r;
  simulate(&r, 1);
  mt_trend_dose d = {480, "<i>b&b</i>"};
  mt_trend_plot pl = {r.m, &r.o, "<b>Smith & \"Jones\"</b> o'Neil",
                      "a<b>&.json", NULL, 1, panels, 1, &d};
  char *s = NULL;
  size_t len = 0;
  cr_assert_eq(render(&pl, &s, &len), MT_OK);
  assert_xml(s);
  assert_has(s, "patient &lt;b&gt;Smith &amp; &quot;Jones&quot;&lt;/b&gt; "
                "o&#39;Neil — scenario a&lt;b&gt;&amp;.json");
  assert_has(s, "&lt;i&gt;b&amp;b&lt;/i&gt;");
  assert_lacks(s, "<b>");
  assert_lacks(s, "<i>");
  free(s);
  run_free(&r);
}

/* Each bad input: MT_EINVAL and not a byte written. */
Test(plot_trend, bad_input_writes_nothing)
{
  run r;
  simulate(&r, 1);
  mt_trend_panel bad[2] = {{"MAP", NULL, 0}, {"G", NULL, 0}};
  mt_trend_panel badref = {"MAP", "x", NAN};
  mt_trend_dose nodrug = {480, NULL}, nan_t = {NAN, "x"};
  mt_trend_plot ok = {r.m, &r.o, "p", "s", NULL, 1, panels, 0, NULL};
  mt_trend_plot cases[8];
  for (int i = 0; i < 8; i++)
    cases[i] = ok;
  cases[0].n_panel = 2, cases[0].panel = bad;  /* the model lacks G */
  cases[1].n_panel = 0;                        /* no panel */
  cases[2].panel = &badref;                    /* non-finite reference */
  cases[3].n_dose = 1, cases[3].dose = &nodrug;
  cases[4].n_dose = 1, cases[4].dose = &nan_t;
  cases[5].n_dose = 1;                         /* dose array NULL */
  mt_series one = r.o;
  one.n = 1;                                   /* no time axis */
  cases[6].s = &one;
  mt_series none = r.o;
  none.n = 0;                                  /* no samples */
  cases[7].s = &none;
  for (int i = 0; i < 8; i++) {
    char *s = NULL;
    size_t len = 0;
    cr_expect_eq(render(&cases[i], &s, &len), MT_EINVAL, "case %d", i);
    cr_expect_eq(len, 0, "case %d wrote %zu bytes", i, len);
    free(s);
  }
  /* times not increasing */
  double t1 = r.o.t[1];
  r.o.t[1] = r.o.t[0];
  char *s = NULL;
  size_t len = 0;
  cr_expect_eq(render(&ok, &s, &len), MT_EINVAL);
  cr_expect_eq(len, 0);
  free(s);
  r.o.t[1] = t1;
  /* a model in another time unit than s, min or h is refused too; a model
  ** with other observables (glucose) lacks MAP */
  mt_trend_plot g = ok;
  g.m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(g.m);
  s = NULL;
  cr_expect_eq(render(&g, &s, &len), MT_EINVAL);
  cr_expect_eq(len, 0);
  free(s);
  cr_expect_eq(mt_plot_trend_svg(NULL, stdout), MT_EINVAL);
  cr_expect_eq(mt_plot_trend_svg(&ok, NULL), MT_EINVAL);
  run_free(&r);
}
