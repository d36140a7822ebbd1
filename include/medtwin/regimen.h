/*
** What-if ranking of drug regimens for a heart model: each regimen (a name
** and its dose events) is simulated from the patient's initial state over a
** horizon, its beat-level observables (medtwin/beats.h) are measured over
** the last window of the horizon and at sparse checkpoints (the worst mean
** arterial pressure), and the regimens are ranked against targets for MAP,
** cardiac output and ejection fraction. Regimens file format and the score:
** docs/regimens.md.
**
** The functions need only what medtwin/beats.h needs (observables P_ao,
** P_lv, V_lv, P_vc, P_pa), a time unit of seconds, and either the beat
** phase state "phi" or a parameter "HR" (a fixed beat period). A
** beat-averaged model (time unit min, observables MAP, CO, EF, HR, SBP,
** DBP: circulation_beatavg) is run over the horizon in one piece sampled
** every check_s: its figures are those at the horizon's end (its
** observables are beat means already), the worst MAP the lowest sample's,
** n_beats 0; horizons of days to months cost milliseconds. Simulations
** share nothing: mt_regimen_simulate may run for several regimens at once
** on different threads.
*/
#ifndef MEDTWIN_REGIMEN_H
#define MEDTWIN_REGIMEN_H

#include <stddef.h>

#include "medtwin/model.h"
#include "medtwin/scenario.h"
#include "medtwin/sim.h"

#define MT_REGIMEN_NAME_MAX 64 /* bytes of a regimen's name, with the NUL */

/* One dose: amount (the input's amount unit, mg or ug) given evenly over
** [t_min, t_min + duration_min) on the model input named drug. */
typedef struct mt_regimen_dose {
  char drug[MT_DRUG_NAME_MAX];
  double t_min, duration_min, amount;
} mt_regimen_dose;

typedef struct mt_regimen {
  char name[MT_REGIMEN_NAME_MAX];
  int n_dose;
  mt_regimen_dose *dose; /* n_dose; NULL when there are none */
} mt_regimen;

/* A target range; NAN for an absent bound. */
typedef struct mt_regimen_range {
  double lo, hi;
} mt_regimen_range;

typedef struct mt_regimen_targets {
  mt_regimen_range map_mmhg, co_lmin, ef_pct;
} mt_regimen_targets;

/* A regimens file: the regimens in file order, the targets (the defaults
** of mt_regimen_targets_default where the file gives none), the horizon
** (0 when the file gives none) and the baroreflex switch (-1 when not
** given). */
typedef struct mt_regimen_set {
  int n;
  mt_regimen *r;
  mt_regimen_targets targets;
  double horizon_h;
  int baroreflex;
} mt_regimen_set;

/* Default targets: MAP 65-90 mmHg, CO >= 4 L/min, EF >= 40 %. */
void mt_regimen_targets_default(mt_regimen_targets *t);

/*
** Parse a regimens file from JSON text of len bytes for model m (each
** dose's drug must name one of m's inputs). name names the input in
** messages (the file path). Returns 0, MT_EPARSE (not JSON), MT_EINVAL (a
** field is wrong or missing) or MT_ENOMEM with one line in err naming the
** file, the field path and what was expected, e.g.
**   r.json: regimens[2].doses[0].amount: expected a number >= 0 and
**   <= 1e+06 (mg or ug), got -5
** and *out NULL. Free with mt_regimen_set_free().
*/
int mt_regimen_set_parse(const char *json, size_t len, const char *name,
                         const mt_model *m, mt_regimen_set **out, char *err,
                         size_t errlen);
/* Read and parse a file (MT_EIO with strerror's text if unreadable). */
int mt_regimen_set_load(const char *path, const mt_model *m,
                        mt_regimen_set **out, char *err, size_t errlen);
void mt_regimen_set_free(mt_regimen_set *s); /* NULL-safe */

typedef struct mt_regimen_config {
  double horizon_s;  /* default 7200 (2 h) */
  double window_s;   /* the last window measured; default 60 */
  double check_s;    /* worst-MAP checkpoints every check_s; default 900 */
  double check_window_s; /* beats measured at each checkpoint; default 10 */
  double dt_s;       /* sample step inside a measured window; default 1e-3 */
  mt_sim_config sim; /* mt_sim_config_init's defaults */
} mt_regimen_config;

void mt_regimen_config_init(mt_regimen_config *c);

/* What a regimen gave. Beat figures are means over the whole beats of the
** last window; worst_map is the lowest mean MAP of the checkpoints'
** windows (the last window included) and worst_map_t_s the end of that
** window. */
typedef struct mt_regimen_outcome {
  double map_mmhg, co_lmin, ef_pct, hr_bpm, sbp_mmhg, dbp_mmhg;
  double worst_map_mmhg, worst_map_t_s;
  int n_beats;
  int missed;      /* targets missed (mt_regimen_score) */
  double distance; /* summed relative distance to the missed bounds */
  int rank;        /* 1 = best (mt_regimen_rank) */
  double simulated_s;
  mt_sim_stats stats; /* summed over the pieces of the run */
} mt_regimen_outcome;

/*
** Simulate regimen r for parameters p (m->n_param values, borrowed) under
** cfg, and fill *o's observables (not the score). Returns 0, MT_EINVAL
** (a model without the beat observables, time unit not "s", a drug with no
** input, a bad configuration) or MT_ESOLVER / MT_ENOMEM, with one line in
** err.
*/
int mt_regimen_simulate(const mt_model *m, const double *p,
                        const mt_regimen *r, const mt_regimen_config *cfg,
                        mt_regimen_outcome *o, char *err, size_t errlen);

/*
** Score an outcome: each of four targets missed counts one: the last
** window's MAP, CO and EF outside their ranges, and the worst MAP below the
** MAP range's lower bound. distance sums, over the bounds missed, the
** distance to the bound divided by the bound (so 5 mmHg below 65 counts
** 0.077; a bound of 0 divides by 1). A non-finite value misses with
** distance 1.
*/
void mt_regimen_score(const mt_regimen_targets *t, mt_regimen_outcome *o);

/*
** Rank n scored outcomes: fewer targets missed first, then the smaller
** distance, then the higher EF, then the earlier in the list. Writes each
** outcome's rank (1 = best) and order[0..n) the indices best first (order
** may be NULL).
*/
void mt_regimen_rank(int n, mt_regimen_outcome *o, int *order);

#endif
