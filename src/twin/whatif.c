/*
** What if: candidate actions on the twin's ensemble, their ranking, and the
** bolus advisor (include/medtwin/whatif.h).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/order.h"
#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/whatif.h"

static const char *const kind_name[MT_ACTION_NKIND] = {"nothing", "bolus",
                                                       "carbs", "temp_basal"};

const char *mt_action_kind_name(mt_action_kind k)
{
  return k >= 0 && k < MT_ACTION_NKIND ? kind_name[k] : NULL;
}

void mt_action_label(const mt_action *a, char *buf, size_t len)
{
  switch (a->kind) {
  case MT_ACTION_BOLUS:
    snprintf(buf, len, "%g U bolus", a->amount);
    break;
  case MT_ACTION_CARBS:
    snprintf(buf, len, "%g g carbs", a->amount);
    break;
  case MT_ACTION_TEMP_BASAL:
    snprintf(buf, len, "%g %% basal for %g min", a->amount, a->duration_min);
    break;
  default:
    snprintf(buf, len, "nothing");
  }
}

const char *mt_action_check(const mt_action *a)
{
  double v = a->amount;
  switch (a->kind) {
  case MT_ACTION_NOTHING:
    return NULL;
  case MT_ACTION_BOLUS:
    return v > 0 && v <= 25 ? NULL : "amount: expected 0 < U <= 25";
  case MT_ACTION_CARBS:
    return v > 0 && v <= 200 ? NULL : "amount: expected 0 < g <= 200";
  case MT_ACTION_TEMP_BASAL:
    if (!(v >= 0 && v <= 200))
      return "amount: expected 0 to 200 % of the basal";
    return a->duration_min >= 30 && a->duration_min <= 120
               ? NULL
               : "duration_min: expected 30 to 120 min";
  default:
    return "type: expected nothing, bolus, carbs or temp_basal";
  }
}

/* Outcomes of one candidate from the members' BG y (N x NT samples). */
static void summarise(const double *y, int N, int NT, double t0, mt_whatif *r,
                      double *col)
{
  static const double qp[5] = {0.025, 0.10, 0.50, 0.90, 0.975};
  int in = 0, b70 = 0, b54 = 0;
  double sum = 0;
  for (int i = 0; i < N; i++) {
    double lo = INFINITY;
    for (int k = 0; k < NT; k++) {
      double g = y[(size_t)i * NT + k];
      in += g >= 70 && g <= 180;
      lo = fmin(lo, g);
      sum += g;
    }
    b70 += lo < 70;
    b54 += lo < 54;
  }
  r->tir = (double)in / ((double)N * NT);
  r->p_below70 = (double)b70 / N;
  r->p_below54 = (double)b54 / N;
  r->mean_mgdl = sum / ((double)N * NT);
  for (int k = 0; k < NT; k++) {
    for (int i = 0; i < N; i++)
      col[i] = y[(size_t)i * NT + k];
    qsort(col, (size_t)N, sizeof *col, mt_cmp_double);
    r->t_min[k] = t0 + 5.0 * (k + 1);
    for (int q = 0; q < 5; q++)
      r->q[k][q] = mt_quantile7(col, N, qp[q]);
  }
  char label[48];
  mt_action_label(&r->action, label, sizeof label);
  snprintf(r->reason, sizeof r->reason, "%s: TIR %.0f %%, P(<70) %.0f %%, "
           "P(<54) %.0f %%", label, 100 * r->tir, 100 * r->p_below70,
           100 * r->p_below54);
}

/* mt_whatif_run over the first nt samples (1..MT_WHATIF_NT). */
static int run_over(mt_twin *tw, const mt_action *a, int n, double meal_g,
                    int nt, mt_whatif *out, char *err, size_t errlen)
{
  const mt_model *m = mt_twin_model(tw);
  int bg = mt_var_index(m->obs, m->n_obs, "BG"), N;
  double t0 = mt_twin_time(tw);
  if (bg < 0 || isnan(t0) || !(meal_g >= 0 && meal_g <= 500)) {
    snprintf(err, errlen, "whatif: %s", bg < 0 ? "the model has no BG"
             : isnan(t0) ? "the twin has no reading yet"
                         : "meal: expected 0 to 500 g");
    return MT_EINVAL;
  }
  for (int j = 0; j < n; j++) {
    const char *why = mt_action_check(&a[j]);
    if (why) {
      snprintf(err, errlen, "whatif: action %d (%s): %s", j,
               mt_action_kind_name(a[j].kind) ? mt_action_kind_name(a[j].kind)
                                              : "?", why);
      return MT_EINVAL;
    }
  }
  N = mt_twin_members(tw, NULL, NULL, NULL, NULL);
  double *y = malloc((size_t)N * (MT_WHATIF_NT + 1) * sizeof *y);
  if (!y)
    return MT_ENOMEM;
  int rc = 0;
  for (int j = 0; !rc && j < n; j++) {
    mt_datum ex[2];
    int ne = 0;
    double factor = 1, until = t0;
    if (meal_g > 0)
      ex[ne++] = (mt_datum){t0, MT_DATA_CARBS, meal_g, 0};
    if (a[j].kind == MT_ACTION_BOLUS)
      ex[ne++] = (mt_datum){t0, MT_DATA_BOLUS, a[j].amount, 0};
    else if (a[j].kind == MT_ACTION_CARBS)
      ex[ne++] = (mt_datum){t0, MT_DATA_CARBS, a[j].amount, 0};
    else if (a[j].kind == MT_ACTION_TEMP_BASAL)
      factor = a[j].amount / 100, until = t0 + a[j].duration_min;
    rc = mt_twin_run_with(tw, ex, ne, factor, until, nt, bg, y);
    if (rc) {
      snprintf(err, errlen, "%s", mt_twin_errmsg(tw));
      break;
    }
    memset(&out[j], 0, sizeof out[j]); /* comparable byte for byte */
    out[j].action = a[j];
    summarise(y, N, nt, t0, &out[j], y + (size_t)N * MT_WHATIF_NT);
  }
  free(y);
  return rc;
}

int mt_whatif_run(mt_twin *tw, const mt_action *a, int n, double meal_g,
                  mt_whatif *out, char *err, size_t errlen)
{
  return run_over(tw, a, n, meal_g, MT_WHATIF_NT, out, err, errlen);
}

/* Ranking key order (whatif.h): within the bound first, then TIR, then
** P(<54), P(<70). */
static int cmp_result(const void *pa, const void *pb)
{
  const mt_whatif *a = pa, *b = pb;
  int sa = a->p_below70 <= MT_WHATIF_P70_BOUND;
  int sb = b->p_below70 <= MT_WHATIF_P70_BOUND;
  if (sa != sb)
    return sb - sa;
  if (a->tir != b->tir)
    return a->tir < b->tir ? 1 : -1;
  if (a->p_below54 != b->p_below54)
    return a->p_below54 > b->p_below54 ? 1 : -1;
  if (a->p_below70 != b->p_below70)
    return a->p_below70 > b->p_below70 ? 1 : -1;
  return 0;
}

void mt_whatif_rank(mt_whatif *r, int n)
{
  /* insertion sort: stable, and n is a handful of candidates */
  for (int i = 1; i < n; i++) {
    mt_whatif x = r[i];
    int j = i;
    for (; j > 0 && cmp_result(&r[j - 1], &x) > 0; j--)
      r[j] = r[j - 1];
    r[j] = x;
  }
}

int mt_whatif_advise(mt_twin *tw, double carbs_g, double p70_max,
                     double max_u, double step_u, mt_whatif *best, int *met,
                     mt_whatif *cand, int cap, int *n_cand, char *err,
                     size_t errlen)
{
  return mt_whatif_advise_over(tw, carbs_g, p70_max, max_u, step_u,
                               5.0 * MT_WHATIF_NT, best, met, cand, cap,
                               n_cand, err, errlen);
}

int mt_whatif_advise_over(mt_twin *tw, double carbs_g, double p70_max,
                          double max_u, double step_u, double horizon_min,
                          mt_whatif *best, int *met, mt_whatif *cand,
                          int cap, int *n_cand, char *err, size_t errlen)
{
  *n_cand = 0;
  *met = 0;
  int nt = (int)floor(horizon_min / 5 + 1e-9);
  if (!(carbs_g > 0 && carbs_g <= 500) || !(p70_max >= 0 && p70_max <= 1) ||
      !(max_u > 0 && max_u <= 25) || !(step_u > 0) ||
      (int)floor(max_u / step_u + 1e-9) + 1 > cap ||
      !(horizon_min >= 5 && nt <= MT_WHATIF_NT)) {
    snprintf(err, errlen, "advise: expected carbs in (0, 500] g, a bound in "
             "[0, 1], a largest bolus in (0, 25] U, a step giving at most "
             "%d candidates and a horizon of 5 to %d min", cap,
             5 * MT_WHATIF_NT);
    return MT_EINVAL;
  }
  int n = (int)floor(max_u / step_u + 1e-9) + 1;
  mt_action *a = calloc((size_t)n, sizeof *a);
  if (!a)
    return MT_ENOMEM;
  for (int k = 0; k < n; k++)
    a[k] = k ? (mt_action){MT_ACTION_BOLUS, k * step_u, 0}
             : (mt_action){MT_ACTION_NOTHING, 0, 0};
  int rc = run_over(tw, a, n, carbs_g, nt, cand, err, errlen);
  free(a);
  if (rc)
    return rc;
  *n_cand = n;
  int pick = 0; /* no bolus, unless a bolus within the bound does better */
  for (int k = 0; k < n; k++)
    if (cand[k].p_below70 <= p70_max &&
        (!*met || cand[k].tir > cand[pick].tir))
      pick = k, *met = 1;
  *best = cand[pick];
  return 0;
}
