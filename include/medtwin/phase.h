/*
** Phase singularities and re-entrant drivers on 2D fields (docs/tissue.md,
** "Phase singularities and drivers"). A pure module: it works on arrays of
** nodes laid out as the tissue engine lays them out (node i + nx j at
** (i dx, j dx), mm) and calls nothing of the engine.
**
** 1. Phase by time-delay embedding (Gray, Pertsov & Jalife, Nature 392:75,
**    1998; Iyer & Gray, Ann Biomed Eng 29:47, 2001).
** 2. Phase singularities: the topological charge of the loop around each
**    2 x 2 cell of nodes (Iyer & Gray 2001; Bray & Wikswo, IEEE Trans
**    Biomed Eng 49:1086, 2002), and of the loop around each hole in the
**    tissue (anatomical re-entry around a scar or a lesion).
** 3. Tracking over frames by nearest-neighbour linking (Bray & Wikswo
**    2002), with the rotations of each track counted; a driver is a track
**    that completed at least one full rotation.
*/
#ifndef MEDTWIN_PHASE_H
#define MEDTWIN_PHASE_H

/*
** theta[i] = atan2(v_lag[i] - v_star, v_now[i] - v_star), in (-pi, pi]
** (atan2's -pi is returned as pi), with v_now = V(t) and v_lag = V(t - tau)
** in mV at every node, v_star the centre of the embedding (e.g. -40 mV for
** ten Tusscher-Panfilov, the middle of the action potential's range). The
** phase increases in time through an action potential (rest -3pi/4,
** upstroke -pi/4, plateau pi/4, repolarisation 3pi/4), so a wave turning
** counter-clockwise (x right, y up) has charge -1, a clockwise one +1.
** Non-tissue nodes (tissue[i] == 0) get 0; tissue NULL: every node is
** tissue. Nothing is written when v_now, v_lag or theta is NULL or n <= 0.
*/
void mt_phase_embed(const double *v_now, const double *v_lag,
                    const unsigned char *tissue, long n, double v_star,
                    double *theta);

/* Rotation samples of a PS (see mt_ps.ring) and their distance, in cells,
** from a cell's sides. */
#define MT_PS_RING 4
#define MT_PS_RING_CELLS 2

/* A phase singularity (PS). */
typedef struct mt_ps {
  double x_mm, y_mm; /* core: centre of the 2x2 cell, or a hole's centroid
                     ** (mean position of the hole's nodes) */
  int charge;        /* the sum of the wrapped phase differences around the
                     ** loop / 2 pi, counter-clockwise (x right, y up): +1
                     ** or -1 for a cell; a hole may carry any non-zero
                     ** integer (+2: two waves chasing round one scar) */
  int hole;          /* -1 for a cell, or the id of the enclosed non-tissue
                     ** region (holes numbered 0, 1, ... in the order of
                     ** their first node, node order) */
  long node;         /* a tissue node on the loop: a cell's corner (i, j);
                     ** for a hole, the first tissue node (node order) of
                     ** the cells touching it */
  long ring[MT_PS_RING]; /* nodes at which rotation is counted, -1 where
                     ** none. A cell (i, j): the pinwheel (i+1+k, j),
                     ** (i+1, j+1+k), (i-k, j+1), (i, j-k), k =
                     ** MT_PS_RING_CELLS, each -1 if outside the grid or
                     ** non-tissue: the same offsets from the cell's centre
                     ** (2.55 dx) whatever cell holds the PS, so that a
                     ** moving core is followed in its own frame. A hole:
                     ** the pinwheel of the cell holding its centroid
                     ** (all -1 when the hole covers it: the tracker then
                     ** reads the phase at node; a hole does not move). */
} mt_ps;

/*
** The phase singularities of theta (rad, nx * ny nodes, node i + nx j at
** (i dx_mm, j dx_mm)); tissue as for mt_phase_embed (NULL: all tissue).
**
** - A cell (the square of nodes (i, j), (i+1, j), (i+1, j+1), (i, j+1))
**   whose four corners are tissue is a PS when the charge of the loop
**   around it is not 0; the loop sums the differences of theta along its
**   edges, each wrapped into (-pi, pi].
** - Non-tissue nodes are grouped into regions (8-connected: two non-tissue
**   corners of one cell are always in one region). A region touching the
**   grid's edge is no hole: the cells touching it are skipped. A region not
**   touching it is a hole; its charge is the sum of the charges of the
**   cells touching it, which equals the charge of the loop through the
**   tissue nodes around it (the differences along the shared edges cancel:
**   discrete Stokes), whatever phase the hole's own nodes carry; a non-zero
**   charge gives one PS at the hole's centroid (anatomical re-entry). A
**   hole enclosing an island of tissue gets the charge of its outer loop
**   less that of its inner loops.
**
** Order: the cells in node order of their corner (i, j), then the holes by
** id. Writes at most max PS to out and returns how many there are (which
** may exceed max). nx < 2 or ny < 2: no cell, returns 0. MT_EINVAL (no
** message: the arguments are the caller's, not user input): theta NULL,
** dx_mm not finite and > 0, max < 0, out NULL while max > 0; MT_ENOMEM
** when the scratch for the region labels (3 ints per node) cannot be had.
** Nothing is written to out on error.
*/
int mt_phase_singularities(const double *theta, const unsigned char *tissue,
                           int nx, int ny, double dx_mm, mt_ps *out, int max);

/*
** A track: the same PS followed over frames. Its turn is counted in the
** frame of the moving core: from one frame to the next, the wrapped change
** of theta between the previous PS's ring samples and the new PS's (the
** same offsets from the core; mt_ps.ring), averaged over the samples
** valid in both frames; or, for two PS with no valid ring sample (a large
** hole), at their node when it is the same node. Otherwise (none valid in
** both; a switch between ring and node) that frame adds nothing. rotations is
** |sum| / 2 pi (the sign cancels a core that only jitters); turn_signed
** keeps the sign (negative for theta = angle - omega t, charge +1;
** positive for any wave through mt_phase_embed, whose phase increases in
** time).
*/
typedef struct mt_ps_track {
  int id, charge;           /* id: 0, 1, ... in order of creation */
  int hole;                 /* the hole of its last PS, -1 if free */
  double t_first_ms, t_last_ms;
  double x_mm, y_mm;        /* mean position over the frames */
  double x_last_mm, y_last_mm;
  double rotations;         /* accumulated |phase turn| / 2 pi */
  double turn_signed;       /* the same with its sign, turns */
  int frames;               /* frames in which the track had its PS */
} mt_ps_track;

typedef struct mt_ps_tracker mt_ps_tracker;

/*
** A tracker for fields of n_nodes nodes, linking a PS to a track whose last
** position lies within link_mm (mm). NULL when n_nodes <= 0, link_mm is not
** finite and > 0, or on out of memory.
*/
mt_ps_tracker *mt_ps_tracker_new(long n_nodes, double link_mm);

/*
** One frame: the phase theta (n_nodes, borrowed for the call) at time t_ms
** and its n_ps singularities ps (from mt_phase_singularities on theta).
** Live tracks are those that had a PS in the previous frame. Every pair
** (PS, live track) of the same charge whose distance from the track's
** last position is <= link_mm is a candidate, whether either is at a hole
** or not (a core anchoring to a scar, or a tip meandering through patchy
** fibrosis and meeting its non-tissue nodes, stays one track). Pairs are
** taken in order of increasing distance (ties: PS order, then track id),
** each PS and each track at most once (Bray & Wikswo 2002 style
** nearest-neighbour linking). A PS not taken
** starts a track; a live track not taken ends (it stays in the list).
** A continued track adds its turn (mt_ps_track): frames must come faster
** than half a rotation period for the count to be right (more often where
** the phase is steep along the ring).
** Returns 0; MT_EINVAL (mt_ps_tracker_errmsg says which argument; nothing
** changed) for tr NULL, theta NULL, ps NULL with n_ps > 0, n_ps < 0, t_ms
** not finite or not after the previous frame's, a PS node outside
** [0, n_nodes), a ring entry neither -1 nor a node, or a charge of 0;
** MT_ENOMEM (nothing changed).
*/
int mt_ps_tracker_frame(mt_ps_tracker *tr, double t_ms, const double *theta,
                        const mt_ps *ps, int n_ps);

/* All tracks so far, in order of id; *out valid until the next frame or
** free. tr NULL: returns 0, *out NULL. */
int mt_ps_tracker_tracks(const mt_ps_tracker *tr, const mt_ps_track **out);

/* 1 when the track completed at least one full rotation (rotations >=
** 1 - 1e-9, the tolerance absorbing rounding in the sum), else 0 (also for
** NULL). */
int mt_ps_track_is_driver(const mt_ps_track *tr);

/*
** The drivers, most rotations first (ties: longer lifetime t_last - t_first,
** then lower id), copied into out (at most max of them). Returns how many
** drivers there are (may exceed max); 0 for tr NULL; MT_EINVAL for max < 0
** or out NULL while max > 0; MT_ENOMEM.
*/
int mt_phase_drivers(const mt_ps_tracker *tr, mt_ps_track *out, int max);

/* The last error of mt_ps_tracker_frame ("" if none); never NULL. */
const char *mt_ps_tracker_errmsg(const mt_ps_tracker *tr);

void mt_ps_tracker_free(mt_ps_tracker *tr); /* NULL-safe */

#endif
