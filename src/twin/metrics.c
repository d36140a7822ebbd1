/*
** Glycaemic metrics of a glucose trace.
**
** Time in ranges, mean, SD and CV follow the International Consensus on Time
** in Range (Battelino et al., Diabetes Care 42:1593, 2019): TIR is
** 70 <= BG <= 180 mg/dL inclusive, TBR70 is BG < 70 (so it includes TBR54),
** TAR180 is BG > 180 (so it includes TAR250). GMI (%) = 3.31 + 0.02392 * mean
** (Bergenstal et al., Diabetes Care 41:2275, 2018).
**
** Low and high blood glucose indices after Kovatchev et al. (Diabetes Care
** 20:1655, 1997; Diabetes Care 29:2433, 2006): the symmetrising transform
**   f(BG) = 1.509 * (ln(BG)^1.084 - 5.381),   BG in mg/dL,
** risk r = 10 f^2, split into rl = r where f < 0 and rh = r where f > 0;
** LBGI = mean(rl), HBGI = mean(rh). f crosses zero at BG ~ 112.5 mg/dL.
** The transform was derived for the meter range 20-600 mg/dL (Kovatchev
** 1997; f(20) = -f(600) to 0.05 %), so values outside it, which meters
** report as LO or HI, enter the indices at 20 or 600 mg/dL.
**
** SD uses the corrected two-pass algorithm (Chan, Golub and LeVeque, Am. Stat.
** 37:242, 1983), which stays accurate when the mean is large against the SD.
*/
#include <math.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/metrics.h"

/* Kovatchev symmetrising transform f(BG), BG in mg/dL, on the meter range. */
static double kovatchev_f(double bg_mgdl)
{
  double bg = fmin(fmax(bg_mgdl, 20.0), 600.0);
  return 1.509 * (pow(log(bg), 1.084) - 5.381);
}

static int values_valid(const double *bg, int n)
{
  for (int i = 0; i < n; i++)
    if (!isfinite(bg[i]))
      return 0;
  return 1;
}

/* Mean, corrected two-pass sample SD, min and max. */
static void moments(const double *bg, int n, mt_glycemic *g)
{
  double sum = 0.0, lo = bg[0], hi = bg[0];
  for (int i = 0; i < n; i++) {
    sum += bg[i];
    lo = fmin(lo, bg[i]);
    hi = fmax(hi, bg[i]);
  }
  double mean = sum / n, ss = 0.0, c = 0.0;
  for (int i = 0; i < n; i++) {
    double d = bg[i] - mean;
    ss += d * d;
    c += d;
  }
  double var = (ss - c * c / n) / (n - 1);
  g->mean_mgdl = mean;
  g->sd_mgdl = sqrt(var > 0.0 ? var : 0.0);
  g->min_mgdl = lo;
  g->max_mgdl = hi;
}

/* Percentages of time in, below and above the consensus ranges. */
static void ranges(const double *bg, int n, mt_glycemic *g)
{
  int in = 0, b70 = 0, b54 = 0, a180 = 0, a250 = 0;
  for (int i = 0; i < n; i++) {
    double v = bg[i];
    in += v >= 70.0 && v <= 180.0;
    b70 += v < 70.0;
    b54 += v < 54.0;
    a180 += v > 180.0;
    a250 += v > 250.0;
  }
  g->tir_pct = 100.0 * in / n;
  g->tbr70_pct = 100.0 * b70 / n;
  g->tbr54_pct = 100.0 * b54 / n;
  g->tar180_pct = 100.0 * a180 / n;
  g->tar250_pct = 100.0 * a250 / n;
}

/* Kovatchev LBGI and HBGI. */
static void risk(const double *bg, int n, mt_glycemic *g)
{
  double rl = 0.0, rh = 0.0;
  for (int i = 0; i < n; i++) {
    double f = kovatchev_f(bg[i]);
    double r = 10.0 * f * f;
    if (f < 0.0)
      rl += r;
    else if (f > 0.0)
      rh += r;
  }
  g->lbgi = rl / n;
  g->hbgi = rh / n;
}

static int compute(const double *bg_mgdl, int n, int with_risk,
                   mt_glycemic *out)
{
  if (!bg_mgdl || !out || n < 2 || !values_valid(bg_mgdl, n))
    return MT_EINVAL;
  mt_glycemic g;
  memset(&g, 0, sizeof g);
  g.n = n;
  moments(bg_mgdl, n, &g);
  ranges(bg_mgdl, n, &g);
  if (with_risk)
    risk(bg_mgdl, n, &g);
  else
    g.lbgi = g.hbgi = NAN;
  g.cv_pct = 100.0 * g.sd_mgdl / g.mean_mgdl;
  g.gmi_pct = 3.31 + 0.02392 * g.mean_mgdl;
  *out = g;
  return MT_OK;
}

int mt_glycemic_compute(const double *bg_mgdl, int n, mt_glycemic *out)
{
  return compute(bg_mgdl, n, 1, out);
}

int mt_glycemic_ranges(const double *bg_mgdl, int n, mt_glycemic *out)
{
  return compute(bg_mgdl, n, 0, out);
}
