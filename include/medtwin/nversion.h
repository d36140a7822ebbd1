/*
** The N-version benchmark of Niederer et al. 2011 (Phil Trans R Soc A
** 369:4331, "Verification of cardiac tissue electrophysiology simulators
** using an N-version benchmark") on the monodomain tissue engine
** (medtwin/tissue.h), as issue 11 item 6 states it:
**
**   slab 20 x 7 x 3 mm, fibres along x, tentusscher_panfilov_2006_epi (the
**   CellML parameter set), D_l 0.0953, D_t 0.0126 mm^2/ms (the monodomain
**   harmonic combination of the paper's sigma_i, sigma_e with chi 140 /mm,
**   Cm 1 uF/cm^2); stimulus 50,000 uA/cm^3 / chi = 35.714 uA/cm^2 for 2 ms
**   from t = 0 in the corner cube 0 <= x, y, z <= 1.5 mm inclusive;
**   activation = first upward crossing of 0 mV, linear in time between
**   steps; run until all nine points have fired.
**
** The points, numbered as in the paper's Fig. 1 (our reading of it; x the
** 20 mm fibre axis, y the 7 mm axis, z the 3 mm axis, the stimulus at the
** origin corner):
**   P1 (0,0,0)   P2 (0,7,0)   P3 (20,0,0)   P4 (20,7,0)
**   P5 (0,0,3)   P6 (0,7,3)   P7 (20,0,3)   P8 (20,7,3)   P9 (10,3.5,1.5)
** P1 lies in the stimulus cube, P8 is the corner diagonally opposite.
** Corners are grid nodes for any dx dividing 1 mm; where the centre is not
** a node (dx 0.2: y = 3.5 lies between nodes) its time is the trilinear
** interpolation of the activation times of the surrounding nodes.
*/
#ifndef MEDTWIN_NVERSION_H
#define MEDTWIN_NVERSION_H

#include <stddef.h>

#define MT_NVERSION_POINTS 9

/* The points' coordinates in mm, P1..P9 (index 0..8). */
extern const double mt_nversion_point[MT_NVERSION_POINTS][3];

typedef struct mt_nversion_stats {
  long nodes;       /* grid nodes */
  long steps;       /* time steps taken */
  double t_end_ms;  /* simulated time when all nine had fired */
  double dt_bound;  /* explicit stability bound of the grid, ms */
} mt_nversion_stats;

/*
** Run the benchmark at node spacing dx_mm (must divide 1 mm: 0.5, 0.2, 0.1
** ...) and time step dt_ms, explicit diffusion or (semi_implicit nonzero)
** backward-Euler diffusion; threads as mt_tissue_config.threads (0: the
** OpenMP default). out[k] = activation time of P(k+1) in ms. stats may be
** NULL. Returns 0; MT_EINVAL (dx not dividing the slab, dt not positive,
** an explicit dt beyond the stability bound: err says which, with the
** bound); MT_ESOLVER (the engine failed, or a point had not fired by
** 200 ms); MT_ENOMEM.
*/
int mt_nversion_run(double dx_mm, double dt_ms, int semi_implicit,
                    int threads, double out[MT_NVERSION_POINTS],
                    mt_nversion_stats *stats, char *err, size_t errlen);

#endif
