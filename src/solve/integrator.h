/*
** Internal contract between the simulation driver (sim.c) and its ODE
** backends (dopri5.c, cvode.c). The driver owns segments, inputs, memory and
** sampling at boundaries; a backend integrates one segment with inputs held
** constant and fills samples strictly inside it.
*/
#ifndef MT_SOLVE_INTEGRATOR_H
#define MT_SOLVE_INTEGRATOR_H

#include <stddef.h>
#include "medtwin/model.h"
#include "medtwin/sim.h"

struct mt_backend;

struct mt_sim {
  const mt_model *m;
  mt_sim_config cfg;
  const struct mt_backend *be;
  void *bstate;
  double *x, *mem, *u_basal, *u_zero, *scratch; /* sized at create */
  double *u_prev; /* the inputs just before a run's start */
  void *ws;
  unsigned char *fired; /* n_root flags of the last event */
  mt_sim_stats stats;
  char err[MT_ERRMSG_MAX];
};

/* What a backend needs to evaluate the model during one segment. */
typedef struct mt_rhs_ctx {
  const mt_model *m;
  const double *p, *u, *mem; /* borrowed; constant over the segment */
  void *ws;                  /* model scratch, m->ws_size bytes */
  mt_sim_stats *stats;       /* counters, updated by the wrapper */
  char *err;                 /* driver's message buffer, MT_ERRMSG_MAX */
} mt_rhs_ctx;

/*
** The one wrapper through which the core calls a model's rhs: counts the
** evaluation, maps return codes and treats a non-finite derivative as a
** recoverable failure (> 0), so the integrator retries a smaller step.
** Returns 0, > 0 recoverable, < 0 fatal (message written to c->err).
*/
int mt_rhs_eval(mt_rhs_ctx *c, double t, const double *x, double *dx);

/* Root functions through the same wrapper style (no counting). */
void mt_roots_eval(mt_rhs_ctx *c, double t, const double *x, double *g);

typedef struct mt_backend {
  const char *name;
  /* Allocate per-sim state for model m; 0 or MT_ENOMEM / MT_EINVAL. */
  int (*create)(const mt_model *m, const mt_sim_config *cfg, void **state);
  /*
  ** Integrate x (in/out, n_state) from t0 to t1 (> t0). For each sample time
  ** ts[i] with t0 < ts[i] < t1, write the state into xs + i*n_state. When the
  ** model has roots, stop at the first sign change (in the model's root_dir)
  ** of any g: set *t_stop to the root time, x to the state there, fired[r]
  ** to 1 for every function that has changed sign by then (0 for the
  ** others), fill only the samples before it, and return 1. Otherwise set
  ** *t_stop = t1 and return 0. A segment that starts where the previous
  ** advance returned a root does not find those roots again.
  ** *n_done receives how many samples were written (a prefix of ts).
  ** Returns < 0 (MT_ESOLVER, MT_ENOMEM) with a message in c->err on failure.
  */
  int (*advance)(void *state, mt_rhs_ctx *c, double t0, double t1, double *x,
                 const double *ts, int nts, double *xs, int *n_done,
                 double *t_stop, unsigned char *fired);
  void (*free)(void *state);
  /* Forget the last event: a new run starts (NULL if nothing to forget). */
  void (*reset)(void *state);
} mt_backend;

extern const mt_backend mt_backend_dopri5;

/*
** DOPRI5 pieces the lane-batched integrator shares with the scalar one:
** start a segment at (t, y) (k1 = f(t, y) and the initial step, limited to
** span), and the checks that end a segment that cannot progress.
*/
int mt_dp5_start(void *state, mt_rhs_ctx *c, double t, double span,
                 const double *y, double *k1, double *h);
int mt_dp5_stuck(const mt_rhs_ctx *c, long nstep, long max_steps, double t,
                 double h);
/* A segment too short for a step (a few ulps): one Euler step with scratch
** f (n_state); returns 1 if handled, 0 if the segment needs integrating. */
int mt_dp5_tiny(mt_rhs_ctx *c, double t0, double t1, double *x, double *f);
extern const mt_backend mt_backend_cvode;

/* Driver pieces shared with the lane-batched runner (lanes.c). */
int mt_sim_start_state(mt_sim *s, const double *p, const double *x0,
                       const double *mem0);
int mt_sim_check_samples(mt_sim *s, const mt_series *o, double t0,
                         double t_end);
void mt_sim_finish_rows(const mt_model *m, const double *p, const double *u,
                        const double *mem, mt_series *o, int a, int b);

#endif
