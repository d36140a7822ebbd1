/*
** Programmed stimulation, re-entry inducibility and in-silico ablation on a
** 2D monodomain sheet (docs/tissue.md, "Inducibility and ablation").
**
** Protocols, paced from a site (a disc of tissue nodes):
**   S1-S2   n_s1 pulses at the basic cycle length, then a premature S2
**           at a coupling interval after the last S1; the coupling starts
**           at s2_start_ms and shortens by s2_step_ms until the S2 no
**           longer captures (loss of capture: no node outside the site
**           activates within capture_ms) or re-entry is induced, or it
**           falls below s2_min_ms. Every coupling starts from the same
**           state, saved after the S1 train.
**   burst   n_burst pulses at burst_cl_ms.
** Inducible: activity (a tissue node at or above the activation threshold)
** persists persist_ms (default 2 s) after the last pulse of the protocol.
** A site's test stops early once the tissue is quiescent.
**
** Drivers: during the persistence window the phase of every node (time-
** delay embedding, medtwin/phase.h) is sampled every frame_ms, phase
** singularities are detected and tracked; a driver is a track that makes
** at least one full rotation (its phase turns by 2 pi) and lives at least
** one cycle length of the episode (the mean interval between successive
** activations of a node): a wave break that flickers for a few frames is
** no driver. Re-entry around a non-conducting obstacle (a scar, a hole in
** the mask) appears as a singularity at the obstacle.
**
** Ablation: a lesion (a line segment with a width, or a point) makes the
** nodes within width/2 of it non-tissue. The lesion for a driver runs from
** the driver (its mean position, or the obstacle it circles) to the nearest
** point of the exterior (non-tissue connected to the grid's edge, or the
** edge itself), so that no circuit around it remains (the isthmus cut of
** scar-related re-entry; OPTIMA's lesions likewise join drivers to a
** boundary: Boyle et al., Nat Biomed Eng 3:870, 2019).
** mt_ablate_loop: test, ablate the drivers, re-test, until non-inducible.
*/
#ifndef MEDTWIN_INDUCE_H
#define MEDTWIN_INDUCE_H

#include <stddef.h>

#include "medtwin/model.h"
#include "medtwin/tissue.h"

typedef struct mt_pace_site {
  double x_mm, y_mm, radius_mm; /* a disc of nodes (at least the nearest) */
} mt_pace_site;

typedef enum mt_protocol_kind {
  MT_PROTOCOL_S1S2 = 0,
  MT_PROTOCOL_BURST = 1
} mt_protocol_kind;

typedef struct mt_protocol {
  mt_protocol_kind kind;
  int n_s1;            /* S1 pulses (8) */
  double bcl_ms;       /* S1 cycle length (600 ms) */
  double s2_start_ms;  /* first S2 coupling (400 ms) */
  double s2_step_ms;   /* shortening per try (10 ms) */
  double s2_min_ms;    /* shortest coupling tried (100 ms) */
  int n_burst;         /* burst pulses (10) */
  double burst_cl_ms;  /* burst cycle length (200 ms) */
  double amplitude;    /* uA/cm^2 (100) */
  double duration_ms;  /* each pulse (2 ms) */
  double persist_ms;   /* activity after the last pulse = inducible (2000) */
  double capture_ms;   /* S2 capture window (80 ms) */
  double frame_ms;     /* phase sampling (5 ms) */
  double lag_ms;       /* embedding delay, a multiple of frame_ms (20 ms) */
  double link_mm;      /* singularity tracking distance (3 mm) */
} mt_protocol;

void mt_protocol_init(mt_protocol *p);

typedef struct mt_driver {
  double x_mm, y_mm;      /* mean position */
  int charge;             /* +1 / -1 */
  int hole;               /* 1: circles a non-conducting obstacle */
  double t_first_ms, t_last_ms, rotations;
  int site;               /* the pacing site that induced it */
} mt_driver;

typedef struct mt_site_result {
  mt_pace_site site;
  int induced;            /* 1: activity persisted */
  int captured;           /* some pulse after the first captured */
  double coupling_ms;     /* S2: the coupling that induced, else the
                          ** shortest that captured (NAN: none) */
  double loss_ms;         /* S2: the longest coupling that did not capture
                          ** (NAN: capture down to s2_min_ms) */
  double activity_ms;     /* longest activity after the last pulse */
  double cycle_ms;        /* induced: the episode's cycle length, the mean
                          ** interval between a node's activations (NAN) */
  int tries;              /* couplings simulated */
} mt_site_result;

typedef struct mt_induce_result {
  int inducible;
  int n_site;
  mt_site_result *site;   /* n_site */
  int n_driver;
  mt_driver *driver;      /* drivers of the induced episodes */
  double sim_ms;          /* simulated time in all */
} mt_induce_result;

void mt_induce_result_free(mt_induce_result *r); /* the arrays; NULL-safe */

/* Progress callback: the site, the coupling (NAN for a burst) and the
** activity so far; may be NULL. */
typedef void (*mt_induce_progress)(void *ctx, int site, double coupling_ms,
                                   double activity_ms);

/*
** The inducibility test of a 2D sheet (cfg->nz == 1): each site paced by
** protocol p from the resting tissue. cfg as for mt_tissue_create (its
** mask, regions and conductivities included). Returns 0 (result in *res,
** to free), MT_EINVAL (a message in err naming the field: a site outside
** the tissue, a 3D grid, protocol times), MT_ESOLVER, MT_ENOMEM.
*/
int mt_induce_test(const mt_model *m, const mt_tissue_config *cfg,
                   const mt_pace_site *sites, int n_sites,
                   const mt_protocol *p, mt_induce_progress progress,
                   void *ctx, mt_induce_result *res, char *err,
                   size_t errlen);

/*
** n pacing sites spread over the tissue of a 2D mask (NULL: all tissue) by
** farthest-point sampling: the first at the tissue node nearest the
** tissue's centroid, each next at the tissue node farthest from those
** chosen (ties: the lower node index), so that they cover the sheet
** evenly and the same mask always gives the same sites. Returns the
** number placed (fewer than n when the tissue has fewer nodes), -1 on
** ENOMEM.
*/
int mt_pace_sites_spread(const unsigned char *mask, int nx, int ny,
                         double dx_mm, int n, double radius_mm,
                         mt_pace_site *out);

/* A lesion: the nodes within width_mm / 2 of the segment (x0, y0)-(x1, y1)
** (a disc when the ends coincide) become non-tissue. */
typedef struct mt_lesion {
  double x0_mm, y0_mm, x1_mm, y1_mm, width_mm;
  int driver;             /* index of the driver it ablates, -1: given */
  int round;              /* ablation round (0: given in the config) */
} mt_lesion;

/* Apply a lesion to a 2D mask (nx x ny, spacing dx); the nodes changed. */
long mt_lesion_apply(unsigned char *mask, int nx, int ny, double dx_mm,
                     const mt_lesion *l);

/*
** The lesion for a driver on a 2D mask: from the driver (for a hole
** driver, the obstacle nearest to its position) to the nearest exterior
** point. Returns 0, MT_ENOMEM.
*/
int mt_lesion_for_driver(const unsigned char *mask, int nx, int ny,
                         double dx_mm, const mt_driver *d, double width_mm,
                         mt_lesion *out);

typedef struct mt_ablate_result {
  int rounds;             /* inducibility tests run */
  int inducible;          /* after the last test */
  int n_lesion;
  mt_lesion *lesion;      /* every lesion, given and added */
  mt_induce_result first, last; /* the first and the last test */
  unsigned char *mask;    /* the final mask (nx * ny) */
} mt_ablate_result;

void mt_ablate_result_free(mt_ablate_result *r);

/*
** Test; while inducible and rounds remain (max_rounds tests in all),
** ablate every driver found (one lesion per obstacle; a driver within a
** lesion width of an earlier lesion of the round is skipped), re-test.
** Lesions given (n_given) are applied before the first test. Stops
** inducible when a test finds no driver to ablate.
*/
int mt_ablate_loop(const mt_model *m, const mt_tissue_config *cfg,
                   const mt_pace_site *sites, int n_sites,
                   const mt_protocol *p, const mt_lesion *given, int n_given,
                   double width_mm, int max_rounds,
                   mt_induce_progress progress, void *ctx,
                   mt_ablate_result *res, char *err, size_t errlen);

#endif
