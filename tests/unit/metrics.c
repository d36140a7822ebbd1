/*
** Unit tests of the glycaemic metrics (src/twin/metrics.c).
**
** Reference values are derived from the definitions in the comments:
** International Consensus on Time in Range (Battelino et al., Diabetes Care
** 42:1593, 2019), GMI (Bergenstal et al., Diabetes Care 41:2275, 2018) and the
** Kovatchev transform f(BG) = 1.509 * (ln(BG)^1.084 - 5.381), r = 10 f^2
** (Kovatchev et al., Diabetes Care 20:1655, 1997). Where a transcendental
** function is involved the intermediate values were evaluated with 40-digit
** decimal arithmetic and are quoted to 16 significant digits. Each assertion
** states its tolerance.
*/
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/metrics.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* |got - want| <= rel * |want| (rel = 1e-9 unless stated). */
static void assert_rel(double got, double want, double rel, const char *what)
{
  cr_assert(fabs(got - want) <= rel * fabs(want), "%s: got %.17g, want %.17g",
            what, got, want);
}

/*
** Boundary classification. Values {54, 70, 180, 181, 250, 251, 53.9, 100},
** n = 8, so one value is 12.5 %:
**   < 54        : 53.9                  -> 1 -> TBR54  = 12.5
**   < 70        : 54, 53.9              -> 2 -> TBR70  = 25.0 (54 is not < 54)
**   70..180 incl: 70, 180, 100          -> 3 -> TIR    = 37.5
**   > 180       : 181, 250, 251         -> 3 -> TAR180 = 37.5
**   > 250       : 251                   -> 1 -> TAR250 = 12.5 (250 not > 250)
** TBR70 + TIR + TAR180 = 100. Counts over 8 are exact in binary: tolerance
** 1e-12 absolute. Mean = 1139.9 / 8 = 142.4875 (tolerance 1e-12 relative);
** min 53.9 and max 251 are inputs, compared exactly.
*/
Test(metrics, range_boundaries)
{
  const double bg[] = {54, 70, 180, 181, 250, 251, 53.9, 100};
  mt_glycemic g;
  cr_assert_eq(mt_glycemic_compute(bg, N_OF(bg), &g), MT_OK);
  cr_assert_eq(g.n, 8);
  cr_assert_float_eq(g.tbr54_pct, 12.5, 1e-12);
  cr_assert_float_eq(g.tbr70_pct, 25.0, 1e-12);
  cr_assert_float_eq(g.tir_pct, 37.5, 1e-12);
  cr_assert_float_eq(g.tar180_pct, 37.5, 1e-12);
  cr_assert_float_eq(g.tar250_pct, 12.5, 1e-12);
  cr_assert_float_eq(g.tbr70_pct + g.tir_pct + g.tar180_pct, 100.0, 1e-12);
  assert_rel(g.mean_mgdl, 142.4875, 1e-12, "mean");
  cr_assert_eq(g.min_mgdl, 53.9);
  cr_assert_eq(g.max_mgdl, 251.0);
}

/*
** Moments of {100, 150, 200}: mean = 450 / 3 = 150; deviations -50, 0, 50,
** sum of squares 5000, sample variance 5000 / (3 - 1) = 2500, SD = 50;
** CV = 100 * 50 / 150 = 33.333...; GMI = 3.31 + 0.02392 * 150 = 3.31 + 3.588
** = 6.898. 100 and 150 are in range, 200 is > 180: TIR = 200/3 = 66.67 %,
** TAR180 = 100/3 = 33.33 %, TAR250 = TBR70 = 0. Tolerance 1e-12 relative
** (1e-12 absolute for the zero percentages).
*/
Test(metrics, mean_sd_cv)
{
  const double bg[] = {100, 150, 200};
  mt_glycemic g;
  cr_assert_eq(mt_glycemic_compute(bg, N_OF(bg), &g), MT_OK);
  assert_rel(g.mean_mgdl, 150.0, 1e-12, "mean");
  assert_rel(g.sd_mgdl, 50.0, 1e-12, "sd");
  assert_rel(g.cv_pct, 100.0 / 3.0, 1e-12, "cv");
  assert_rel(g.gmi_pct, 6.898, 1e-12, "gmi");
  assert_rel(g.tir_pct, 200.0 / 3.0, 1e-12, "tir");
  assert_rel(g.tar180_pct, 100.0 / 3.0, 1e-12, "tar180");
  cr_assert_float_eq(g.tbr70_pct + g.tar250_pct, 0.0, 1e-12);
  cr_assert_eq(g.min_mgdl, 100.0);
  cr_assert_eq(g.max_mgdl, 200.0);
}

/*
** GMI at mean 154 mg/dL: {104, 204}, mean 154, 0.02392 * 154 = 3.68368, GMI
** = 3.31 + 3.68368 = 6.99368 %. SD = sqrt((50^2 + 50^2) / 1) = sqrt(5000) =
** 70.71067811865475; CV = 100 * 70.71067811865475 / 154 = 45.91602475237322.
** Tolerance 1e-12 relative.
*/
Test(metrics, gmi_mean_154)
{
  const double bg[] = {104, 204};
  mt_glycemic g;
  cr_assert_eq(mt_glycemic_compute(bg, N_OF(bg), &g), MT_OK);
  assert_rel(g.mean_mgdl, 154.0, 1e-12, "mean");
  assert_rel(g.gmi_pct, 6.99368, 1e-12, "gmi");
  assert_rel(g.sd_mgdl, 70.71067811865475, 1e-12, "sd");
  assert_rel(g.cv_pct, 45.91602475237322, 1e-12, "cv");
}

/*
** The SD must survive a large offset. {1e8+4, 1e8+7, 1e8+13, 1e8+16} (all
** exactly representable): mean 1e8+10, deviations -6, -3, 3, 6, sum of
** squares 90, variance 90 / 3 = 30, SD = sqrt(30) = 5.477225575051661. A
** one-pass sum-of-squares formula loses every digit here (1e16-sized terms).
** Tolerance 1e-9 relative.
*/
Test(metrics, sd_large_offset)
{
  const double bg[] = {1e8 + 4, 1e8 + 7, 1e8 + 13, 1e8 + 16};
  mt_glycemic g;
  cr_assert_eq(mt_glycemic_compute(bg, N_OF(bg), &g), MT_OK);
  assert_rel(g.sd_mgdl, 5.477225575051661, 1e-9, "sd");
}

/*
** Kovatchev risk at the transform's zero. f = 0 where ln(BG)^1.084 = 5.381,
** ln(BG) = 5.381^(1/1.084) = 4.723108..., BG = 112.5173845980437 mg/dL.
** At BG = 112.5: ln 112.5 = 4.722953221644475, ^1.084 = 5.380809171866394,
** f = 1.509 * (5.380809171866394 - 5.381) = -2.879596536113899e-4 (< 0, so
** low risk), r = 10 f^2 = 8.292076210799166e-7. Both values 112.5 give
** LBGI = 8.292076210799166e-7 and HBGI = 0 exactly. Tolerance 1e-9 relative
** (f loses ~4 digits to cancellation, leaving ~1e-12).
*/
Test(metrics, risk_near_zero)
{
  const double bg[] = {112.5, 112.5};
  mt_glycemic g;
  cr_assert_eq(mt_glycemic_compute(bg, N_OF(bg), &g), MT_OK);
  assert_rel(g.lbgi, 8.292076210799166e-7, 1e-9, "lbgi");
  cr_assert_eq(g.hbgi, 0.0);
}

/*
** Kovatchev risk at 40 and 400 mg/dL.
**  BG = 40:  ln 40 = 3.688879454113936, ^1.084 = 4.116362360733993,
**            f = 1.509 * (4.116362360733993 - 5.381) = -1.908338197652405,
**            r = 10 f^2 = 36.41754676619228 (low side).
**  BG = 400: ln 400 = 5.991464547107982, ^1.084 = 6.963791591606431,
**            f = 1.509 * (6.963791591606431 - 5.381) = 2.388432511734105,
**            r = 10 f^2 = 57.04609863108484 (high side).
** With the pair {40, 400}: LBGI = 36.41754676619228 / 2 = 18.20877338309614,
** HBGI = 57.04609863108484 / 2 = 28.52304931554242. Tolerance 1e-9 relative.
*/
Test(metrics, risk_40_400)
{
  const double bg[] = {40, 400};
  mt_glycemic g;
  cr_assert_eq(mt_glycemic_compute(bg, N_OF(bg), &g), MT_OK);
  assert_rel(g.lbgi, 18.20877338309614, 1e-9, "lbgi");
  assert_rel(g.hbgi, 28.52304931554242, 1e-9, "hbgi");
  cr_assert_float_eq(g.tbr54_pct, 50.0, 1e-12);
  cr_assert_float_eq(g.tar250_pct, 50.0, 1e-12);
}

/* Same point repeated: {40, 40} gives LBGI = r(40) = 36.41754676619228 (see
** risk_40_400), HBGI = 0, SD = 0, CV = 0. Tolerance 1e-9 relative. */
Test(metrics, risk_low_only)
{
  const double bg[] = {40, 40};
  mt_glycemic g;
  cr_assert_eq(mt_glycemic_compute(bg, N_OF(bg), &g), MT_OK);
  assert_rel(g.lbgi, 36.41754676619228, 1e-9, "lbgi");
  cr_assert_eq(g.hbgi, 0.0);
  cr_assert_eq(g.sd_mgdl, 0.0);
  cr_assert_eq(g.cv_pct, 0.0);
}

/* Every rejected input returns MT_EINVAL and leaves *out untouched. */
static void expect_einval(const double *bg, int n)
{
  mt_glycemic g;
  memset(&g, 0x5a, sizeof g);
  mt_glycemic before = g;
  cr_assert_eq(mt_glycemic_compute(bg, n, &g), MT_EINVAL);
  cr_assert(memcmp(&g, &before, sizeof g) == 0, "out written on error");
}

Test(metrics, errors)
{
  const double ok[] = {100, 120, 140};
  expect_einval(ok, 1);
  expect_einval(ok, 0);
  expect_einval(ok, -3);
  expect_einval(NULL, 3);
  cr_assert_eq(mt_glycemic_compute(ok, 3, NULL), MT_EINVAL);

  const double bad[][3] = {
    {100, NAN, 140}, {100, INFINITY, 140}, {100, -INFINITY, 140},
  };
  for (int i = 0; i < N_OF(bad); i++)
    expect_einval(bad[i], 3);
}

/* Values outside the meter range 20-600 mg/dL enter the risk indices at its
** ends (Kovatchev 1997), and still count in the ranges. f(20) computed to 40
** digits with Python's decimal module: ln 20 = 2.995732273553991,
** f(20) = 1.509 (ln(20)^1.084 - 5.381) = -3.162933897796727, r = 10 f^2 =
** 100.0415084183160; f(600) = 3.161456165741053, r = 99.94805087902122.
** Tolerance 1e-9 relative. */
Test(metrics, risk_clamped_to_meter_range)
{
  const double bg[] = {0.0, 5.0, 20.0, 600.0, 900.0, -1e-12};
  mt_glycemic g;
  cr_assert_eq(mt_glycemic_compute(bg, 6, &g), MT_OK);
  assert_rel(g.lbgi, 4 * 100.0415084183160 / 6, 1e-9, "lbgi");
  assert_rel(g.hbgi, 2 * 99.94805087902122 / 6, 1e-9, "hbgi");
  assert_rel(g.tbr54_pct, 100.0 * 4 / 6, 1e-12, "tbr54");
  assert_rel(g.tar250_pct, 100.0 * 2 / 6, 1e-12, "tar250");
}

/* mt_glycemic_ranges: mt_glycemic_compute without the risk indices, every
** other field the same bit for bit (one code path), LBGI and HBGI NaN. */
Test(metrics, ranges_only_matches_compute)
{
  double bg[200];
  for (int i = 0; i < 200; i++)
    bg[i] = 40 + 1.7 * i; /* 40 .. 378.3 mg/dL: every range */
  mt_glycemic a, b;
  cr_assert_eq(mt_glycemic_compute(bg, 200, &a), MT_OK);
  cr_assert_eq(mt_glycemic_ranges(bg, 200, &b), MT_OK);
  cr_assert(isnan(b.lbgi) && isnan(b.hbgi));
  cr_assert(a.lbgi > 0 && a.hbgi > 0);
  b.lbgi = a.lbgi, b.hbgi = a.hbgi;
  cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
  cr_assert_eq(mt_glycemic_ranges(bg, 1, &b), MT_EINVAL);
}
