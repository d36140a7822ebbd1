/*
** Simulation: integrate a model for one parameter vector under a schedule and
** sample states, inputs and observables at requested times. Two backends share
** one interface: an explicit Dormand–Prince 5(4) with dense output (fast,
** restart-free) and SUNDIALS CVODE BDF (stiff models, reference solutions).
*/
#ifndef MEDTWIN_SIM_H
#define MEDTWIN_SIM_H

#include "medtwin/model.h"
#include "medtwin/schedule.h"

typedef enum mt_solver {
  MT_SOLVER_DOPRI5 = 0,
  MT_SOLVER_CVODE = 1
} mt_solver;

typedef struct mt_sim_config {
  mt_solver solver;
  double rtol, atol; /* local error control, relative and absolute */
  double h_max;      /* largest step in model time units; 0 = no limit */
  long max_steps;    /* per segment; 0 = default (500000) */
} mt_sim_config;

/* Counters of the last run. */
typedef struct mt_sim_stats {
  long n_rhs, n_step, n_reject, n_segment, n_root;
} mt_sim_stats;

/*
** Samples of a run: n rows at times t[i] (model time unit). Row-major
** matrices x (n x n_state), u (n x n_input), y (n x n_obs); u[i] is the input
** in force over [t[i], next boundary) (at t_end: what the schedule gives from
** then on). A sample at the time of a state event is the state after it.
** The caller fills t before the run.
*/
typedef struct mt_series {
  int n, n_state, n_input, n_obs, n_mem;
  double *t, *x, *u, *y;
  double *x_end, *mem_end; /* state and discrete memory at t_end, so a run
                           ** can be continued exactly from where it ended */
} mt_series;

int mt_series_alloc(mt_series *s, const mt_model *m, int n);
void mt_series_clear(mt_series *s);

typedef struct mt_sim mt_sim;

/* Defaults: DOPRI5, rtol = atol = 1e-8, no step limit. */
void mt_sim_config_init(mt_sim_config *cfg);
int mt_sim_create(const mt_model *m, const mt_sim_config *cfg, mt_sim **out);

/*
** Run from t0 to t_end (model time unit) with parameters p (borrowed). x0 and
** mem0 may be NULL, in which case the model's init() provides them; the
** schedule's basal values also come from init(). Sample times out->t must be
** non-decreasing within [t0, t_end]. Returns 0, MT_EINVAL, MT_ENOMEM or
** MT_ESOLVER; mt_sim_errmsg() says what failed and where.
*/
int mt_sim_run(mt_sim *s, const double *p, const double *x0,
               const double *mem0, const mt_schedule *sch, double t0,
               double t_end, mt_series *out);

/*
** Run n independent instances (parameters p[i], schedules sch[i], initial
** state from the model's init) over the same [t0, t_end], each sampled at
** the times its out[i] holds. With DOPRI5 and a model that has rhs_lanes,
** MT_LANES instances advance together as vector operations; each result is
** bit for bit what mt_sim_run gives for that instance alone. Returns 0, or
** the first error with its instance in *failed and a message in
** mt_sim_errmsg(); statistics are summed over the instances.
*/
int mt_sim_run_many(mt_sim *s, int n, const double *const *p,
                    const mt_schedule *const *sch, double t0, double t_end,
                    mt_series *out, int *failed);
/* The same from given initial states and memories (x0[i], mem0[i]; either
** array, or an entry, may be NULL for the model's init), as an ensemble of
** twin members needs. */
int mt_sim_run_many_from(mt_sim *s, int n, const double *const *p,
                         const double *const *x0, const double *const *mem0,
                         const mt_schedule *const *sch, double t0,
                         double t_end, mt_series *out, int *failed);

/*
** One piece of work for mt_sim_run_stream: an instance from t0 to t_end,
** as mt_sim_run would run it (x0, mem0 may be NULL for the model's init;
** everything borrowed until done() is called for the piece).
*/
typedef struct mt_sim_piece {
  const double *p, *x0, *mem0;
  const mt_schedule *sch;
  double t0, t_end;
  mt_series *out; /* sample times filled by the caller, as for mt_sim_run */
  long id;        /* the caller's; reported in *failed */
} mt_sim_piece;

/*
** Run pieces as they become known, MT_LANES at a time as mt_sim_run_many
** does: next(ctx, pc) fills *pc and returns 1, or returns 0 when it has no
** piece now (the lane that asked goes idle) or a negative MT_E* code to
** stop; done(ctx, pc) is called once a piece's samples, x_end and mem_end
** are written, and may make new pieces known to next() (returns 0, or a
** negative code to stop). So a closed loop (a controller deciding on each
** piece's outcome) can keep every lane busy. Each piece's result is bit for
** bit what mt_sim_run gives for it alone; pieces are asked for and handed
** back in an order that depends only on the pieces. Returns 0, or the first
** error with the failing piece's id in *failed (-1 if none) and a message in
** mt_sim_errmsg() when the integrator failed; statistics are summed.
*/
int mt_sim_run_stream(mt_sim *s, int (*next)(void *ctx, mt_sim_piece *pc),
                      int (*done)(void *ctx, const mt_sim_piece *pc),
                      void *ctx, long *failed);
const char *mt_sim_errmsg(const mt_sim *s);
const mt_sim_stats *mt_sim_last_stats(const mt_sim *s);
void mt_sim_free(mt_sim *s);

#endif
