/*
** Monodomain cardiac tissue on a regular 1D, 2D or 3D grid of nodes
** (docs/tissue.md):
**
**   dV/dt = div(D grad V) - I_ion(V, s) + I_stim,  ds/dt = g(V, s)
**
** V in mV, t in ms, D in mm^2/ms (D = sigma / (chi Cm)), I_ion and I_stim in
** uA/cm^2 with Cm = 1 uF/cm^2, so that they are mV/ms. The cell model is an
** ordinary mt_model (state 0 "V", input 0 "I_stim", gates for Rush-Larsen);
** it knows nothing of the grid.
**
** Conductivity: D = D_t I + (D_l - D_t) f f^T with f the unit fibre direction
** of a node (default along x). Nodes outside the mask are non-tissue: no
** current flows across a face with a non-tissue end (no-flux around them);
** the grid's edges are no-flux too.
**
** Discretisation (vertex-centred finite differences; docs/tissue.md has the
** derivation): the grid is cut into cells (squares in 2D, cubes in 3D) whose
** corners are nodes; a cell carries the arithmetic mean of its corners'
** tensors. The discrete energy of a cell is
**   sum over its edges along axis p of  D_pp / 2^(d-1) (V_a - V_b)^2
**   + sum over p < q of  2 D_pq gbar_p gbar_q     (only if all corners tissue)
** with gbar_p the mean of the cell's 2^(d-1) differences along p. The
** operator is M dV/dt = -K V with K the Hessian of half the energy over
** dx^2 and M the nodes' control volumes (1 inside, 1/2 on a face of the grid,
** 1/4 on an edge, 1/8 at a corner). K is symmetric positive semidefinite
** (each cell's energy is >= gbar^T D_cell gbar >= 0), its rows sum to zero
** (mass is conserved exactly), it is second-order accurate, reduces to the
** 5-point (2D) / 7-point (3D) Laplacian for isotropic D, and with fibres off
** the axes it is a 9-point (2D) / 27-point (3D) stencil: the standard
** centred mixed derivative with arithmetic-mean face conductivities.
**
** Time stepping: Godunov (Lie) splitting, first order in dt: a reaction step
** of length dt at every tissue node (Rush-Larsen for the model's gates,
** forward Euler for every other state, I_stim the sum of the stimuli on at
** the step's midpoint), then a diffusion step of length dt for V:
**   explicit:      V <- V + dt L V; stable (and refused otherwise) when
**                  dt <= 1 / max_i sum_j |L_ij|  (the Gershgorin bound;
**                  dx^2 / (2 d D) for isotropic D in d dimensions);
**   semi-implicit: (M + dt K) V_new = M V, backward Euler, solved by
**                  Jacobi-preconditioned conjugate gradients to a relative
**                  residual |r| / |b| <= cg_tol (default 1e-10); any dt.
** Node loops are parallel (OpenMP); states are stored one array per state.
** For Mitchell-Schaeffer and ten Tusscher-Panfilov 2006 the reaction step
** runs a vectorised kernel of the engine's (TP06 with voltage lookup
** tables) instead of the model's rhs per node; generic_cells forces the
** latter (docs/tissue.md, "Fast cell kernels": accuracy).
*/
#ifndef MEDTWIN_TISSUE_H
#define MEDTWIN_TISSUE_H

#include <stddef.h>

#include "medtwin/model.h"

typedef enum mt_tissue_diffusion {
  MT_TISSUE_EXPLICIT = 0,
  MT_TISSUE_SEMI_IMPLICIT = 1
} mt_tissue_diffusion;

typedef struct mt_tissue_config {
  int nx, ny, nz;      /* nodes per axis; nz = 1 for 2D, ny = nz = 1 for 1D */
  double dx_mm;        /* node spacing, the same on every axis */
  double dt_ms;        /* time step of the splitting */
  double D_l, D_t;     /* diffusivities along and across fibres, mm^2/ms */
  mt_tissue_diffusion diffusion;
  double cg_tol;       /* semi-implicit: relative residual (default 1e-10) */
  int cg_max_iter;     /* semi-implicit: iterations before failure (2000) */
  int threads;         /* OpenMP threads of the node loops; 0: OpenMP's
                       ** default at creation (OMP_NUM_THREADS) */
  int generic_cells;   /* nonzero: every node through the model's rhs and
                       ** inf_tau even when the engine has a fast kernel
                       ** for the model (docs/tissue.md; the reference) */
  /* Borrowed for mt_tissue_create only (copied): */
  const unsigned char *mask; /* nx*ny*nz, nonzero = tissue; NULL: all tissue */
  const double *fibre; /* 3 per node (fx, fy, fz), normalised on copy;
                       ** NULL: every fibre along x */
  const double *param; /* the model's n_param values of region 0;
                       ** NULL: the model's first shipped patient */
  /* Regions with their own parameters (remodelled tissue, e.g. fibrosis):
  ** node i takes param when region[i] == 0 and region_param[region[i] - 1]
  ** otherwise, and starts at that parameter set's resting state. */
  const unsigned char *region; /* nx*ny*nz region numbers; NULL: all 0 */
  int n_region;                /* entries of region_param (0 to 254) */
  const double *const *region_param;
  /* Per-node conductivity factor: node i's tensor is d_scale[i] D (>= 0;
  ** reduced conduction in fibrotic tissue); NULL: 1 everywhere. */
  const double *d_scale;
  /* Activation and repolarisation recording (mt_tissue_activation): */
  double act_threshold_mV;  /* upward crossing = activation (default 0 mV;
                            ** -40 mV suits phenomenological models) */
  double act_after_ms;      /* crossings before this time are ignored (0) */
  double apd_fraction;      /* repolarisation at this fraction of the
                            ** amplitude (default 0.9: APD90) ... */
  double repol_threshold_mV;/* ... or, when finite, the downward crossing of
                            ** this potential (default NAN) */
} mt_tissue_config;

/*
** A stimulus: a box of nodes (positions x = i dx etc., inclusive, in mm; a
** node within 1e-9 mm of a face is inside) receiving I_stim = amplitude
** (uA/cm^2, depolarising when positive) during [start + k period, start + k
** period + duration) for k = 0 .. count - 1. A step of the splitting applies
** the stimulus when the step's midpoint lies within a pulse.
*/
typedef struct mt_tissue_stim {
  double x0_mm, x1_mm, y0_mm, y1_mm, z0_mm, z1_mm;
  double start_ms, duration_ms, amplitude;
  double period_ms; /* between pulses; ignored when count == 1 */
  int count;        /* pulses (S1 train), >= 1 */
} mt_tissue_stim;

typedef struct mt_tissue mt_tissue;

/* Defaults: 1x1x1 grid, dx 0.25 mm, dt 0.01 ms, D_l = D_t = 0.1 mm^2/ms,
** explicit, cg_tol 1e-10, threshold 0 mV, APD90. */
void mt_tissue_config_init(mt_tissue_config *cfg);

/*
** A tissue at the model's resting state (init()) at time 0. Returns 0;
** MT_EINVAL with a message in err naming the field (grid sizes, dx, dt,
** diffusivities, a model without state V / input I_stim or with on_input
** or state events, a zero fibre vector, an explicit dt
** beyond the stability bound: the message gives the bound); MT_ENOMEM. On
** failure *out is NULL.
*/
int mt_tissue_create(const mt_model *m, const mt_tissue_config *cfg,
                     mt_tissue **out, char *err, size_t errlen);
void mt_tissue_free(mt_tissue *t); /* NULL-safe */

/* Add a stimulus (copied). MT_EINVAL if it covers no node or its times are
** not finite and positive where they must be. */
int mt_tissue_add_stim(mt_tissue *t, const mt_tissue_stim *s);

/*
** Advance by whole steps until the time reaches t_end_ms (the last step may
** end up to dt/2 short of it: steps are never shortened). Returns 0,
** MT_ESOLVER (the model's rhs failed or gave a non-finite value, or CG did not
** converge: mt_tissue_errmsg says where).
*/
int mt_tissue_run(mt_tissue *t, double t_end_ms);
int mt_tissue_step(mt_tissue *t, long n_steps);

double mt_tissue_time(const mt_tissue *t); /* ms */
long mt_tissue_nodes(const mt_tissue *t);  /* nx * ny * nz */
/* Node index of (i, j, k): i + nx (j + ny k). */
long mt_tissue_index(const mt_tissue *t, int i, int j, int k);
/* State s (0 = V) of every node, writable (to set initial conditions). */
double *mt_tissue_state(mt_tissue *t, int s);
/* Control volume of each node in dx^d (1 inside, 1/2 on a grid face...):
** sum_i M_i V_i dx^d is conserved by diffusion. */
const double *mt_tissue_volume(const mt_tissue *t);
/* Explicit stability bound of the assembled operator, ms. */
double mt_tissue_dt_bound(const mt_tissue *t);
/* Conjugate-gradient iterations of the last step (semi-implicit). */
int mt_tissue_cg_iterations(const mt_tissue *t);

/*
** Activation time of each node (ms): the first upward crossing of
** act_threshold_mV after act_after_ms, linear in time between steps; NAN
** where none yet. APD (ms): from activation to the first later downward
** crossing of the repolarisation level (repol_threshold_mV, or V_rest +
** (1 - apd_fraction)(V_max - V_rest) with V_rest the model's resting V and
** V_max the node's peak since activation); NAN where none yet.
*/
const double *mt_tissue_activation(const mt_tissue *t);
const double *mt_tissue_apd(const mt_tissue *t);

/*
** Conduction velocity (mm/ms = m/s) along the segment from node a to node b
** (indices): the least-squares slope of distance from a against activation
** time over the nodes nearest to n_samples points evenly spaced on the
** segment (repeated nodes counted once). NAN if fewer than two of them have
** activated or their times do not increase.
*/
double mt_tissue_cv(const mt_tissue *t, long a, long b, int n_samples);

/* Tissue flags of the nodes (1 tissue, 0 not: the mask). */
const unsigned char *mt_tissue_mask(const mt_tissue *t);
/* Remove every stimulus (a protocol's next phase adds its own). */
void mt_tissue_clear_stim(mt_tissue *t);
/* Forget the activation and APD maps and record only crossings from
** after_ms on (a later beat's maps). */
void mt_tissue_reset_activation(mt_tissue *t, double after_ms);
/* Tissue nodes whose V is at or above v_mV (excited). */
long mt_tissue_count_above(const mt_tissue *t, double v_mV);

/*
** A copy of the dynamic state (every cell state, the time, the activation
** and APD maps) to return to: a protocol paces once, keeps the state, and
** tries several premature stimuli from it. Stimuli are not part of it.
*/
typedef struct mt_tissue_snap mt_tissue_snap;
mt_tissue_snap *mt_tissue_snap_save(const mt_tissue *t); /* NULL: ENOMEM */
/* Restore a snapshot of this tissue (MT_EINVAL if it came from another
** grid or model). */
int mt_tissue_snap_restore(mt_tissue *t, const mt_tissue_snap *s);
void mt_tissue_snap_free(mt_tissue_snap *s); /* NULL-safe */

const char *mt_tissue_errmsg(const mt_tissue *t);

#endif
