/* Internals of the monodomain tissue engine (medtwin/tissue.h). */
#ifndef MT_TISSUE_IMPL_H
#define MT_TISSUE_IMPL_H

#include "medtwin/error.h"
#include "medtwin/tissue.h"
#include "tissue/kernel.h"

#define MT_TISSUE_NOFF 26
/* Grids smaller than this run their node loops on one thread: a parallel
** region costs more than their work. */
#define MT_TISSUE_PAR_MIN 4096
/* The clauses of every parallel region: the team of t->n_threads (whose
** scratch was allocated), or one thread under MT_TISSUE_PAR_MIN nodes.
** (OpenMP pragmas are macro-expanded.) */
#define MT_TISSUE_TEAM(t)                                                   \
  if ((t)->n >= MT_TISSUE_PAR_MIN) num_threads((t)->n_threads) /* neighbour offsets in {-1,0,1}^3 minus (0,0,0) */

typedef struct mt_tissue_stim_nodes {
  mt_tissue_stim s;
  long n;
  long *node;
} mt_tissue_stim_nodes;

struct mt_tissue {
  const mt_model *m;
  mt_tissue_config cfg;
  int nx, ny, nz;
  long n;                 /* nodes */
  double dt, dx;
  long step;              /* steps taken: t = step * dt */
  double **x;             /* n_state arrays of n */
  unsigned char *tissue;  /* n flags */
  double *param, *mem, *u_basal, *x_rest;
  int n_par;              /* parameter sets (regions): param + r * par_len */
  long par_len;           /* n_param + 1 */
  unsigned char *region;  /* n region numbers, NULL when one region */
  unsigned char *is_gate; /* n_state flags */
  /* diffusion operator: dV/dt = sum_o coef[o][i] (V[i + off_o] - V[i]) */
  int n_off;
  int off[MT_TISSUE_NOFF][3];
  double *coef[MT_TISSUE_NOFF];
  double *vol;            /* control volumes M_i (dx^d units) */
  double dt_bound;
  double *v_new, *v_old;  /* scratch: diffusion output, V before a step */
  double *cg_r, *cg_z, *cg_p, *cg_q, *cg_diag;
  int cg_iter;
  double *istim;          /* per node, nonzero only while a stimulus is on */
  mt_tissue_stim_nodes *stim;
  int n_stim;
  double *act, *apd, *vmax;
  int n_threads;
  unsigned char *ws;      /* n_threads * ws_size */
  const mt_tissue_kernel *kern; /* fast cell kernel (kernel.h), NULL */
  void **ktab;            /* its tables, one per parameter set */
  char err[MT_ERRMSG_MAX];
};

/* src/tissue/diffusion.c */
int mt_tissue__assemble(mt_tissue *t, const double *fibre,
                        const double *d_scale);
int mt_tissue__diffuse(mt_tissue *t);
void mt_tissue__apply_L_rows(const mt_tissue *t, const double *v,
                             double *out);

/* src/tissue/kernel.c: the fast kernel of t's model and its tables, unless
** cfg.generic_cells; 0 or MT_ENOMEM. */
int mt_tissue__kernel_setup(mt_tissue *t);
void mt_tissue__kernel_free(mt_tissue *t);

#endif
