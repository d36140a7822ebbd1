/*
** The model interface: an ODE system described as constant data plus pure
** functions (an ops table in the manner of SUNDIALS' N_Vector ops and SQLite's
** sqlite3_vfs). The core never tests which model it runs; it calls models only
** through the wrappers at the bottom of this header.
*/
#ifndef MEDTWIN_MODEL_H
#define MEDTWIN_MODEL_H

#include <stddef.h>

/* Flags of a variable. */
#define MT_VAR_ESTIMABLE 0x1u /* a parameter assimilation may update */
#define MT_VAR_NONNEG    0x2u /* a state that must stay >= 0 */
#define MT_VAR_DERIVED   0x4u /* a parameter recomputed by derive() */
#define MT_VAR_RATE      0x8u /* an input that is a rate (per time unit) */

typedef struct mt_var {
  const char *name; /* "Gp" */
  const char *unit; /* UCUM: "mg/kg" */
  const char *doc;  /* "glucose mass in plasma" */
  double lo, hi;    /* physiological bounds (validation, assimilation) */
  unsigned flags;   /* MT_VAR_* */
} mt_var;

/* Measurement noise of one observable: sd = sd_abs + sd_rel * |y|. */
typedef struct mt_obs_noise {
  double sd_abs, sd_rel;
} mt_obs_noise;

/*
** Gating variables for Rush–Larsen integration of ionic models: for each
** listed state, dx/dt = (inf - x) / tau, with inf and tau from one call.
*/
typedef struct mt_gates {
  int n;
  const int *state_index; /* n indices into the state vector */
  void (*inf_tau)(double t, const double *x, const double *p, double *inf,
                  double *tau);
} mt_gates;

struct mt_patient;

/*
** A named set of virtual patients that ships with a model (for example the
** 30 UVA/Padova subjects). load() fills a patient created for the model.
*/
typedef struct mt_patient_set {
  int n;
  const char *(*name)(int i);
  int (*load)(int i, struct mt_patient *pt);
} mt_patient_set;

#define MT_MODEL_VERSION 1

/* Instances a lane-batched right-hand side evaluates at once (one AVX2
** vector of doubles). */
#define MT_LANES 4

typedef struct mt_model {
  int version;             /* MT_MODEL_VERSION; the table only grows */
  const char *name, *doc;  /* "uva_padova_t1d" */
  const char *time_unit;   /* UCUM: "min", "s", "ms" */
  const char *reference;   /* the paper the equations come from */
  int n_state, n_param, n_input, n_obs, n_mem;
  const mt_var *state, *param, *input, *obs;
  const char *const *mem_doc; /* n_mem one-line descriptions, may be NULL */
  size_t ws_size;          /* per-instance scratch allocated by the core */

  /* required */

  /*
  ** dx/dt at (t, x) with parameters p, inputs u held constant over the
  ** current segment, and discrete memory mem. Returns 0 on success, > 0 for
  ** a recoverable failure (the integrator retries with a smaller step), < 0
  ** for a fatal one. Must not allocate.
  */
  int (*rhs)(double t, const double *x, const double *p, const double *u,
             const double *mem, void *ws, double *dx);
  /* Observables y[n_obs] at (t, x). */
  void (*observe)(double t, const double *x, const double *p,
                  const double *mem, double *y);

  /* optional: NULL means "not needed" */

  /* Recompute derived parameters in place; 0 ok, < 0 inconsistent. */
  int (*derive)(double *p);
  /*
  ** Initial (steady) state x0, initial memory, and the basal value of each
  ** input (u_basal[n_input]) for parameters p. Without init the core
  ** starts from the state lower bounds clipped to zero and zero inputs.
  */
  int (*init)(const double *p, double *x0, double *mem, double *u_basal);
  /*
  ** Called at the start of every input segment [t, t_next), before the
  ** integrator restarts: update discrete memory (e.g. the meal size that
  ** drives gastric emptying, and coefficients that depend only on it, so
  ** rhs need not recompute them). u_old is the previous segment's input.
  */
  void (*on_input)(double t, double t_next, const double *p,
                   const double *u_old, const double *u_new, const double *x,
                   double *mem);
  /*
  ** State events: n_root functions g; a sign change is located and on_root
  ** may modify the state and memory before integration restarts. Every
  ** function that changes sign by the event time fires, in index order.
  ** root_dir (n_root entries, or NULL for all 0) restricts a function to
  ** crossings where g decreases (-1) or increases (+1); 0 takes both. A
  ** physical event such as an impact should name its direction, so that the
  ** rebound away from the surface is not taken for a second impact.
  */
  int n_root;
  void (*roots)(double t, const double *x, const double *p, double *g);
  void (*on_root)(int which, double t, double *x, double *mem);
  const int *root_dir;
  /*
  ** The rhs of MT_LANES independent instances at once, for the batched
  ** integrator. Every array is lane-interleaved: element i of lane l is at
  ** [i * MT_LANES + l] (t has one entry per lane; ws is unused). Must give,
  ** lane by lane, bit for bit what rhs gives, so that a result never
  ** depends on its batch-mates; the conformance suite checks it. Writes each
  ** lane's return code to rc[l]. On x86-64 it is built for AVX2 and called
  ** only where the processor has it (mt_sim_run_many checks).
  */
  void (*rhs_lanes)(const double *t, const double *x, const double *p,
                    const double *u, const double *mem, double *dx, int *rc);
  const mt_obs_noise *noise; /* n_obs entries, or NULL */
  const mt_gates *gates;
  const mt_patient_set *patients;
} mt_model;

/* Registry of built-in models. */
int mt_model_count(void);
const mt_model *mt_model_at(int i);
const mt_model *mt_model_find(const char *name); /* NULL if unknown */

/* Index of a named variable in a table of n, or -1. */
int mt_var_index(const mt_var *v, int n, const char *name);

/*
** Check an ops table for completeness: counts, names, units, bounds and
** required functions. Returns 0 or MT_EINVAL with a message in err.
*/
int mt_model_check(const mt_model *m, char *err, size_t errlen);

#endif
