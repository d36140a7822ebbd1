/*
** Unit tests of the SVG glucose plot (src/twin/plot.c): document structure,
** labels with units, clock axis, target band, escaping, meal and bolus
** amounts, absence of non-finite numbers, and error returns.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/plot.h"
#include "svg_check.h"

#define NMAX 2000

/* One day of 1-minute samples, flat 120 mg/dL, basal 1 U/h. */
typedef struct day {
  double t[NMAX], bg[NMAX], cgm[NMAX], cho[NMAX], ins[NMAX];
  mt_glucose_plot pl;
} day;

static day *day_new(int n, double dt_min, int start_clock_min)
{
  day *d = calloc(1, sizeof *d);
  cr_assert_not_null(d);
  for (int i = 0; i < n; i++) {
    d->t[i] = i * dt_min;
    d->bg[i] = 120.0;
    d->cgm[i] = 125.0;
    d->ins[i] = 1.0 / 60.0;
  }
  d->pl = (mt_glucose_plot){"test day", "unit test", n, d->t, d->bg, d->cgm,
                            d->cho, d->ins, start_clock_min};
  return d;
}

/* Render to a heap string; returns the return code, *out owned by caller. */
static int render(const mt_glucose_plot *pl, char **out)
{
  size_t len = 0;
  FILE *f = open_memstream(out, &len);
  cr_assert_not_null(f);
  int rc = mt_plot_glucose_svg(pl, f);
  cr_assert_eq(fclose(f), 0);
  return rc;
}

static char *render_ok(const mt_glucose_plot *pl)
{
  char *s = NULL;
  cr_assert_eq(render(pl, &s), MT_OK);
  return s;
}

/* Structure: one <svg>...</svg>, <g> groups balanced, no non-finite text. */
static void assert_well_formed(const char *s)
{
  cr_assert_eq(strncmp(s, "<svg", 4), 0);
  size_t n = strlen(s);
  cr_assert(n > 7 && strcmp(s + n - 7, "</svg>\n") == 0, "no closing </svg>");
  cr_assert_eq(count(s, "<svg"), 1);
  cr_assert_eq(count(s, "<g ") + count(s, "<g>"), count(s, "</g>"));
  cr_assert_gt(count(s, "</g>"), 0);
  cr_assert_eq(count(s, "<text"), count(s, "</text>"));
  assert_lacks(s, "nan");
  assert_lacks(s, "NaN");
  assert_lacks(s, "inf");
  assert_lacks(s, "INF");
}

Test(plot, structure_and_labels)
{
  day *d = day_new(1441, 1.0, 6 * 60);
  char *s = render_ok(&d->pl);
  assert_well_formed(s);
  assert_has(s, "xmlns=\"http://www.w3.org/2000/svg\"");
  assert_has(s, "glucose (mg/dL)");
  assert_has(s, "insulin (U/h)");
  assert_has(s, "time of day (HH:MM)");
  assert_has(s, "<rect class=\"target-band\"");
  for (int i = 0; i < 4; i++) {
    static const char *const lv[] = {">54</text>", ">70</text>",
                                     ">180</text>", ">250</text>"};
    assert_has(s, lv[i]);
  }
  /* Default axis 40..300 mg/dL, ticks every 50. */
  assert_has(s, ">300</text>");
  assert_lacks(s, ">350</text>");
  assert_lacks(s, "http://fonts"); /* self-contained */
  assert_lacks(s, "<script");
  free(s);
  free(d);
}

/* Start 06:00, 24 h span: 2 h ticks 06:00, 08:00, ... and 00:00 +1d. */
Test(plot, clock_axis_day)
{
  day *d = day_new(1441, 1.0, 6 * 60);
  char *s = render_ok(&d->pl);
  assert_has(s, ">06:00</text>");
  assert_has(s, ">08:00</text>");
  assert_has(s, ">22:00</text>");
  assert_has(s, ">00:00</text>");
  assert_has(s, ">+1d</text>");
  assert_lacks(s, ">07:00</text>");
  assert_lacks(s, ">+2d</text>");
  free(s);
  free(d);
}

/* Start 07:00, 30 h span (1801 samples): 3 h ticks from 09:00, never 07:00
** (not a multiple of 3 h) nor 10:00. 07:00 + 30 h = 13:00 next day. */
Test(plot, clock_axis_three_hours)
{
  day *d = day_new(1801, 1.0, 7 * 60);
  char *s = render_ok(&d->pl);
  assert_has(s, ">09:00</text>");
  assert_has(s, ">12:00</text>");
  assert_has(s, ">00:00</text>");
  assert_has(s, ">03:00</text>");
  assert_lacks(s, ">07:00</text>");
  assert_lacks(s, ">10:00</text>");
  free(s);
  free(d);
}

/* A start clock outside [0, 1440) wraps: -60 is 23:00 the day before; over
** 10 h the ticks are hourly, the first is 00:00 and it is +1d. */
Test(plot, clock_wraps)
{
  day *d = day_new(601, 1.0, -60);
  char *s = render_ok(&d->pl);
  assert_well_formed(s);
  assert_has(s, ">00:00</text>");
  assert_has(s, ">+1d</text>");
  free(s);
  free(d);
}

Test(plot, title_escaped)
{
  day *d = day_new(100, 1.0, 0);
  d->pl.title = "a <&> \"b\" 'c'";
  d->pl.subtitle = "x & y";
  char *s = render_ok(&d->pl);
  assert_well_formed(s);
  assert_has(s, "a &lt;&amp;&gt; &quot;b&quot; &#39;c&#39;");
  assert_has(s, "x &amp; y");
  assert_lacks(s, "<&>");
  assert_lacks(s, "x & y");
  free(s);
  free(d);
}

/*
** Meal grams = sum of rate (g/min) x sample spacing (min) over a run of
** nonzero samples. 1-min spacing: 5 g/min for 10 samples = 50 g, and 3 g/min
** for 15 samples = 45 g (a separate run, after a zero sample).
*/
Test(plot, meal_grams_one_minute)
{
  day *d = day_new(600, 1.0, 8 * 60);
  for (int i = 100; i < 110; i++)
    d->cho[i] = 5.0;
  for (int i = 300; i < 315; i++)
    d->cho[i] = 3.0;
  char *s = render_ok(&d->pl);
  assert_well_formed(s);
  assert_has(s, ">50 g</text>");
  assert_has(s, ">45 g</text>");
  cr_assert_eq(count(s, "class=\"meal-label\""), 2);
  free(s);
  free(d);
}

/* 5-min spacing: 2 g/min on 3 consecutive samples = 2 x 5 x 3 = 30 g (not
** the 6 g a 1-min assumption would give). */
Test(plot, meal_grams_five_minutes)
{
  day *d = day_new(288, 5.0, 0);
  for (int i = 50; i < 53; i++)
    d->cho[i] = 2.0;
  char *s = render_ok(&d->pl);
  assert_has(s, ">30 g</text>");
  assert_lacks(s, ">6 g</text>");
  free(s);
  free(d);
}

/* Bolus of 6 U in one 1-min sample over a 1 U/h basal: rate 361 U/h, drawn
** as a bolus bar and labelled with the units above basal, 6.0 U. */
Test(plot, bolus_label)
{
  day *d = day_new(600, 1.0, 0);
  d->ins[200] += 6.0;
  char *s = render_ok(&d->pl);
  assert_has(s, ">6.0 U</text>");
  cr_assert_eq(count(s, "class=\"bolus-label\""), 1);
  free(s);
  free(d);
}

/* A 2 h pump suspension (rate 0) is not mistaken for the basal level: the
** 1 U/h basal around it is not labelled as a bolus, the 4 U bolus is. */
Test(plot, suspension_not_bolus)
{
  day *d = day_new(600, 1.0, 0);
  for (int i = 100; i < 220; i++)
    d->ins[i] = 0.0;
  d->ins[400] += 4.0;
  char *s = render_ok(&d->pl);
  assert_has(s, ">4.0 U</text>");
  cr_assert_eq(count(s, "class=\"bolus-label\""), 1);
  free(s);
  free(d);
}

/* Injections only (no basal): each nonzero run is a bolus; 3 U given as
** 1 U/min over 3 one-minute samples sums to 3.0 U. */
Test(plot, boluses_without_basal)
{
  day *d = day_new(600, 1.0, 0);
  memset(d->ins, 0, sizeof d->ins);
  for (int i = 50; i < 53; i++)
    d->ins[i] = 1.0;
  d->ins[300] = 2.5;
  char *s = render_ok(&d->pl);
  assert_has(s, ">3.0 U</text>");
  assert_has(s, ">2.5 U</text>");
  cr_assert_eq(count(s, "class=\"bolus-label\""), 2);
  free(s);
  free(d);
}

/* Non-finite glucose breaks the line without writing NaN; the axis grows to
** cover the data: max 612 rounds up to 650. */
Test(plot, nonfinite_and_high)
{
  day *d = day_new(300, 1.0, 0);
  d->bg[10] = NAN;
  d->bg[11] = INFINITY;
  d->cgm[20] = -INFINITY;
  d->bg[100] = 612.0;
  d->ins[5] = NAN;
  d->cho[7] = NAN;
  char *s = render_ok(&d->pl);
  assert_well_formed(s);
  assert_has(s, ">650</text>");
  assert_lacks(s, ">700</text>");
  free(s);
  free(d);
}

/* Only the required arrays; no subtitle, CGM, meals or insulin. */
Test(plot, minimal)
{
  double t[] = {0.0, 5.0}, bg[] = {100.0, 110.0};
  mt_glucose_plot pl = {"min", NULL, 2, t, bg, NULL, NULL, NULL, 0};
  char *s = render_ok(&pl);
  assert_well_formed(s);
  assert_lacks(s, "insulin (U/h)");
  assert_lacks(s, "class=\"meal-label\"");
  free(s);
}

Test(plot, errors)
{
  double t[] = {0.0, 5.0, 10.0}, bg[] = {100.0, 110.0, 120.0};
  mt_glucose_plot ok = {"e", NULL, 3, t, bg, NULL, NULL, NULL, 0};
  mt_glucose_plot pl;
  char *s = NULL;
  cr_assert_eq(mt_plot_glucose_svg(NULL, stdout), MT_EINVAL);
  cr_assert_eq(mt_plot_glucose_svg(&ok, NULL), MT_EINVAL);
  pl = ok; pl.n = 1;
  cr_assert_eq(render(&pl, &s), MT_EINVAL);
  free(s);
  pl = ok; pl.t_min = NULL;
  cr_assert_eq(render(&pl, &s), MT_EINVAL);
  free(s);
  pl = ok; pl.bg_mgdl = NULL;
  cr_assert_eq(render(&pl, &s), MT_EINVAL);
  free(s);
  double t_back[] = {0.0, 10.0, 5.0}, t_flat[] = {3.0, 3.0, 3.0};
  double t_nan[] = {0.0, NAN, 10.0};
  const double *bad_t[] = {t_back, t_flat, t_nan};
  for (int i = 0; i < 3; i++) {
    pl = ok; pl.t_min = bad_t[i];
    cr_assert_eq(render(&pl, &s), MT_EINVAL, "bad t #%d", i);
    free(s);
  }
}

/* A stream opened for reading fails every write: MT_EIO. */
Test(plot, write_error)
{
  double t[] = {0.0, 5.0}, bg[] = {100.0, 110.0};
  mt_glucose_plot pl = {"io", NULL, 2, t, bg, NULL, NULL, NULL, 0};
  FILE *f = fopen("/dev/null", "r");
  cr_assert_not_null(f);
  cr_assert_eq(mt_plot_glucose_svg(&pl, f), MT_EIO);
  fclose(f);
}
