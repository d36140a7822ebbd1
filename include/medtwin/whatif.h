/*
** What if: candidate actions tried on the twin's current ensemble before the
** real patient, and a bolus advisor built on them.
**
** Each candidate runs every member of the twin from its current time for
** 4 h with the action added to the member's inputs (mt_twin_run_with); the
** members, and so the random numbers behind them (initial uncertainty, meal
** factors keyed by member and time), are the same for every candidate:
** common random numbers, so differences between candidates are the
** actions' and not sampling noise. Outcomes are on the members' plasma
** glucose (the model's BG):
**
**   tir       time in range 70-180 mg/dL (Battelino et al., Diabetes Care
**             42:1593, 2019), the mean over members of the fraction of the
**             48 five-minute samples in range;
**   p_below70 fraction of members whose glucose falls below 70 mg/dL at any
**   p_below54 sample within 4 h (below 54: level 2 hypoglycaemia, ibid.).
**
** Ranking: candidates with p_below70 <= 5 % first, then by tir (highest
** first), then by p_below54 and p_below70 (lowest first). The bound is the
** advisor's, and a rank is a suggestion for a person to weigh, not a dose.
*/
#ifndef MEDTWIN_WHATIF_H
#define MEDTWIN_WHATIF_H

#include "medtwin/twin.h"

#define MT_WHATIF_NT 48          /* samples: every 5 min for 4 h */
#define MT_WHATIF_P70_BOUND 0.05 /* the ranking's and advisor's bound */

typedef enum mt_action_kind {
  MT_ACTION_NOTHING = 0,
  MT_ACTION_BOLUS,      /* amount U, delivered now over 1 min; (0, 25] */
  MT_ACTION_CARBS,      /* amount g eaten now (as announced carbs); (0, 200] */
  MT_ACTION_TEMP_BASAL, /* amount % of the basal, [0, 200], for duration
                        ** 30-120 min */
  MT_ACTION_NKIND
} mt_action_kind;

typedef struct mt_action {
  mt_action_kind kind;
  double amount;
  double duration_min; /* temp basal only */
} mt_action;

typedef struct mt_whatif {
  mt_action action;
  double tir, p_below70, p_below54;
  double mean_mgdl;                 /* over members and samples */
  double t_min[MT_WHATIF_NT];       /* sample times, stream clock */
  double q[MT_WHATIF_NT][5];        /* BG p2.5, p10, p50, p90, p97.5 */
  char reason[96];                  /* "4 U bolus: TIR 82 %, P(<70) 3 %" */
} mt_whatif;

const char *mt_action_kind_name(mt_action_kind k); /* "bolus", ... */
/* The action's label, e.g. "4 U bolus", "50 % basal for 60 min". */
void mt_action_label(const mt_action *a, char *buf, size_t len);
/* NULL when the action is valid, else what is wrong (the field and the
** range expected, e.g. "amount: expected 0 < U <= 25"). */
const char *mt_action_check(const mt_action *a);

/*
** Run each of the n candidates on tw's ensemble (unchanged afterwards); with
** meal_g > 0 every candidate also includes that meal announced now (the
** advisor's case). Results into out[0..n), in the candidates' order.
** 0, MT_EINVAL (an invalid action, message in err) or a solver error.
*/
int mt_whatif_run(mt_twin *tw, const mt_action *a, int n, double meal_g,
                  mt_whatif *out, char *err, size_t errlen);

/* Sort results by the ranking above (stable for equal keys). */
void mt_whatif_rank(mt_whatif *r, int n);

/*
** Bolus advisor: for carbs_g announced now, every bolus from 0 to max_u in
** steps of step_u is tried with the meal; the recommendation maximises tir
** among those with p_below70 <= p70_max; ties go to the smaller bolus. If
** none meets the bound, the recommendation is no bolus and *met is 0 (the
** caller must say so). All candidates into cand (capacity cap; their count
** into *n_cand, in bolus order). 0, MT_EINVAL or a solver error.
*/
int mt_whatif_advise(mt_twin *tw, double carbs_g, double p70_max,
                     double max_u, double step_u, mt_whatif *best, int *met,
                     mt_whatif *cand, int cap, int *n_cand, char *err,
                     size_t errlen);
/* The same judged over the first horizon_min (5 to 240 min, rounded down
** to the 5-min samples) instead of 4 h: TIR, P(<70) and P(<54) over those
** samples; t_min and q hold only the first floor(horizon_min / 5). */
int mt_whatif_advise_over(mt_twin *tw, double carbs_g, double p70_max,
                          double max_u, double step_u, double horizon_min,
                          mt_whatif *best, int *met, mt_whatif *cand,
                          int cap, int *n_cand, char *err, size_t errlen);

#endif
