/*
** Phase singularities and drivers (medtwin/phase.h, docs/tissue.md).
** Every reference is analytic: theta = atan2(y - y0, x - x0) winds once
** counter-clockwise around (x0, y0) (charge +1, its mirror image -1), a
** function of x alone winds zero times round any loop, and a loop that
** does not enclose the core winds zero times; the PS of a cell is placed
** at the cell's centre, so it lies within dx / sqrt(2) of the true core;
** the turn of theta = angle - omega t at a fixed node over a time T is
** omega T / 2 pi exactly when each frame-to-frame change is below pi. The
** synthetic action potential for the embedding is a smooth function of its
** phase (below); its embedding phase increases with the action potential's
** phase, so it winds as that phase does (Gray, Pertsov & Jalife 1998).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/phase.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define NX 41
#define NY 41
#define DX 0.25 /* mm: the grid spans 10 x 10 mm */
#define N (NX * NY)
#define MAXPS 64

static double xof(int p) { return (p % NX) * DX; }
static double yof(int p) { return (p / NX) * DX; }

/* theta = sign * angle around (x0, y0) + c, at every node. */
static void vortex(double *th, double x0, double y0, int sign, double c)
{
  for (int p = 0; p < N; p++)
    th[p] = atan2(yof(p) - y0, sign * (xof(p) - x0)) + c;
}

/* The node at the lower-left corner of the cell containing (x, y). */
static long cell_of(double x, double y)
{
  return (long)floor(x / DX) + NX * (long)floor(y / DX);
}

static int find(const double *th, const unsigned char *tissue, mt_ps *ps)
{
  int n = mt_phase_singularities(th, tissue, NX, NY, DX, ps, MAXPS);
  cr_assert(n >= 0 && n <= MAXPS, "count %d", n);
  return n;
}

static void assert_cell_ps(const mt_ps *p, double x0, double y0, int charge)
{
  long c = cell_of(x0, y0);
  cr_assert_eq(p->charge, charge);
  cr_assert_eq(p->hole, -1);
  cr_assert_eq(p->node, c, "node %ld, expected %ld", p->node, c);
  cr_assert_float_eq(p->x_mm, ((c % NX) + 0.5) * DX, 1e-12);
  cr_assert_float_eq(p->y_mm, ((c / NX) + 0.5) * DX, 1e-12);
  cr_assert(hypot(p->x_mm - x0, p->y_mm - y0) <= DX / sqrt(2.0) + 1e-12);
}

Test(phase, one_core_has_charge_plus_one_in_its_cell)
{
  static double th[N];
  mt_ps ps[MAXPS];
  vortex(th, 4.1, 5.3, 1, 0.0);
  cr_assert_eq(find(th, NULL, ps), 1);
  assert_cell_ps(&ps[0], 4.1, 5.3, 1);
  vortex(th, 4.1, 5.3, 1, 2.5); /* a constant changes no difference */
  cr_assert_eq(find(th, NULL, ps), 1);
  assert_cell_ps(&ps[0], 4.1, 5.3, 1);
}

Test(phase, mirrored_core_has_charge_minus_one)
{
  static double th[N];
  mt_ps ps[MAXPS];
  vortex(th, 6.63, 2.71, -1, -1.0);
  cr_assert_eq(find(th, NULL, ps), 1);
  assert_cell_ps(&ps[0], 6.63, 2.71, -1);
}

Test(phase, two_opposite_cores)
{
  static double th[N];
  mt_ps ps[MAXPS];
  for (int p = 0; p < N; p++)
    th[p] = atan2(yof(p) - 5.05, xof(p) - 3.1) -
            atan2(yof(p) - 4.9, xof(p) - 7.15);
  cr_assert_eq(find(th, NULL, ps), 2);
  /* node order: (3.1, 5.05) lies in a higher row than (7.15, 4.9) */
  assert_cell_ps(&ps[0], 7.15, 4.9, -1);
  assert_cell_ps(&ps[1], 3.1, 5.05, 1);
}

Test(phase, planar_wave_has_none)
{
  static double th[N];
  mt_ps ps[MAXPS];
  for (int p = 0; p < N; p++) /* 1.3 rad/mm over 10 mm: 13 rad > 2 pi */
    th[p] = remainder(1.3 * xof(p), 2 * M_PI);
  cr_assert_eq(find(th, NULL, ps), 0);
  for (int p = 0; p < N; p++) /* oblique, and unwrapped */
    th[p] = 0.9 * xof(p) - 0.7 * yof(p);
  cr_assert_eq(find(th, NULL, ps), 0);
}

Test(phase, core_outside_the_grid_gives_none)
{
  static double th[N];
  mt_ps ps[MAXPS];
  vortex(th, -1.2, 5.0, 1, 0.0);
  cr_assert_eq(find(th, NULL, ps), 0);
  vortex(th, 12.0, 13.0, -1, 0.0);
  cr_assert_eq(find(th, NULL, ps), 0);
}

/* A disc of non-tissue of radius r around (xc, yc). */
static void disc(unsigned char *tissue, double xc, double yc, double r)
{
  for (int p = 0; p < N; p++)
    tissue[p] = hypot(xof(p) - xc, yof(p) - yc) > r;
}

Test(phase, hole_gives_one_ps_at_its_centroid)
{
  static double th[N];
  static unsigned char tissue[N];
  mt_ps ps[MAXPS], again[MAXPS];
  const double xc = 5.07, yc = 4.93;
  disc(tissue, xc, yc, 1.6);
  vortex(th, xc, yc, 1, 0.3);
  cr_assert_eq(find(th, tissue, ps), 1);
  cr_assert_eq(ps[0].hole, 0);
  cr_assert_eq(ps[0].charge, 1);
  cr_assert(fabs(ps[0].x_mm - xc) <= DX / 2, "x %g", ps[0].x_mm);
  cr_assert(fabs(ps[0].y_mm - yc) <= DX / 2, "y %g", ps[0].y_mm);
  /* its node: the first tissue node sharing a cell with a hole node */
  long first = -1;
  for (int p = 0; p < N && first < 0; p++)
    for (int dj = -1; dj <= 1 && tissue[p]; dj++)
      for (int di = -1; di <= 1; di++) {
        int i = p % NX + di, j = p / NX + dj;
        if (i >= 0 && j >= 0 && i < NX && j < NY && !tissue[i + NX * j])
          first = p;
      }
  cr_assert_eq(ps[0].node, first, "node %ld, expected %ld", ps[0].node,
               first);
  /* random phases (and a NaN) on the hole's nodes change nothing */
  unsigned s = 12345;
  for (int p = 0; p < N; p++)
    if (!tissue[p]) {
      s = s * 1103515245u + 12345u;
      th[p] = ((s >> 8) / 16777216.0 - 0.5) * 40.0;
    }
  th[cell_of(xc, yc)] = NAN;
  cr_assert_eq(find(th, tissue, again), 1);
  cr_assert_eq(again[0].hole, ps[0].hole);
  cr_assert_eq(again[0].charge, ps[0].charge);
  cr_assert_eq(again[0].node, ps[0].node);
  cr_assert_eq(again[0].x_mm, ps[0].x_mm);
  cr_assert_eq(again[0].y_mm, ps[0].y_mm);
}

Test(phase, hole_of_two_waves_has_charge_two)
{
  static double th[N];
  static unsigned char tissue[N];
  mt_ps ps[MAXPS];
  disc(tissue, 5.0, 5.0, 2.0);
  for (int p = 0; p < N; p++) /* phase winds twice round the scar */
    th[p] = -2.0 * atan2(yof(p) - 5.0, xof(p) - 5.0);
  cr_assert_eq(find(th, tissue, ps), 1);
  cr_assert_eq(ps[0].hole, 0);
  cr_assert_eq(ps[0].charge, -2);
}

Test(phase, hole_and_a_free_core_are_both_found)
{
  static double th[N];
  static unsigned char tissue[N];
  mt_ps ps[MAXPS];
  disc(tissue, 3.0, 3.0, 1.0);
  for (int p = 0; p < N; p++)
    th[p] = atan2(yof(p) - 3.0, xof(p) - 3.0) -
            atan2(yof(p) - 7.1, xof(p) - 6.9);
  cr_assert_eq(find(th, tissue, ps), 2);
  assert_cell_ps(&ps[0], 6.9, 7.1, -1); /* cells first, then holes */
  cr_assert_eq(ps[1].hole, 0);
  cr_assert_eq(ps[1].charge, 1);
}

Test(phase, ring_shaped_scar_round_an_island)
{
  /* non-tissue for 1 < r <= 2 mm round (5, 5); a vortex inside the
  ** island: the outer loop and the island's loop both wind once, so the
  ** hole's charge is 1 - 1 = 0, and the island's cell holds the PS */
  static double th[N];
  static unsigned char tissue[N];
  mt_ps ps[MAXPS];
  for (int p = 0; p < N; p++) {
    double r = hypot(xof(p) - 5.0, yof(p) - 5.0);
    tissue[p] = r <= 1.0 || r > 2.0;
  }
  vortex(th, 5.07, 4.93, 1, 0.0);
  cr_assert_eq(find(th, tissue, ps), 1);
  assert_cell_ps(&ps[0], 5.07, 4.93, 1);
  /* the vortex in the scar itself: the hole winds once, the island not */
  vortex(th, 6.5, 5.02, 1, 0.0);
  cr_assert_eq(find(th, tissue, ps), 1);
  cr_assert_eq(ps[0].hole, 0);
  cr_assert_eq(ps[0].charge, 1);
}

/* A non-tissue strip |x - 5| <= 0.3 mm, y0 <= y <= 5 mm. */
static void strip(unsigned char *tissue, double y0)
{
  for (int p = 0; p < N; p++)
    tissue[p] = !(fabs(xof(p) - 5.0) <= 0.3 && yof(p) >= y0 - 1e-9 &&
                  yof(p) <= 5.0);
}

Test(phase, strip_touching_the_edge_is_no_hole)
{
  static double th[N];
  static unsigned char tissue[N];
  mt_ps ps[MAXPS];
  vortex(th, 5.0, 4.0, 1, 0.0); /* core inside the strip */
  strip(tissue, 0.0);
  cr_assert_eq(find(th, tissue, ps), 0);
  strip(tissue, 0.5); /* the same strip lifted off the edge: a hole */
  cr_assert_eq(find(th, tissue, ps), 1);
  cr_assert_eq(ps[0].hole, 0);
  cr_assert_eq(ps[0].charge, 1);
  cr_assert(fabs(ps[0].x_mm - 5.0) <= DX / 2);
  cr_assert(fabs(ps[0].y_mm - 2.75) <= DX / 2); /* the strip's middle */
}

Test(phase, holes_are_numbered_in_node_order)
{
  static double th[N];
  static unsigned char tissue[N];
  mt_ps ps[MAXPS];
  for (int p = 0; p < N; p++)
    tissue[p] = hypot(xof(p) - 7.0, yof(p) - 2.5) > 1.0 &&
                hypot(xof(p) - 2.5, yof(p) - 7.0) > 1.0;
  for (int p = 0; p < N; p++)
    th[p] = atan2(yof(p) - 7.0, xof(p) - 2.5) -
            atan2(yof(p) - 2.5, xof(p) - 7.0);
  cr_assert_eq(find(th, tissue, ps), 2);
  cr_assert_eq(ps[0].hole, 0); /* (7, 2.5): its first node comes first */
  cr_assert_eq(ps[0].charge, -1);
  cr_assert(fabs(ps[0].x_mm - 7.0) <= DX / 2);
  cr_assert_eq(ps[1].hole, 1);
  cr_assert_eq(ps[1].charge, 1);
  cr_assert(fabs(ps[1].y_mm - 7.0) <= DX / 2);
}

/*
** A synthetic action potential over its phase s in [0, 1): rest -85 mV, an
** upstroke of time constant 0.02, repolarisation at s = 0.5 (width 0.03),
** peak about +25 mV; 1-periodic and continuous within 1e-6 mV.
*/
static double ap(double psi)
{
  double s = psi / (2 * M_PI) - floor(psi / (2 * M_PI));
  return -85.0 + 110.0 * (1.0 - exp(-s / 0.02)) / (1.0 + exp((s - 0.5) / 0.03));
}

/* The spiral's phase: omega t - angle + k r around (x0, y0), turning
** counter-clockwise (the wave reaches larger angles later). */
static double spiral(double x, double y, double t, double x0, double y0)
{
  const double omega = 2 * M_PI / 100.0, k = 2 * M_PI / 8.0; /* 8 mm arm */
  return omega * t - atan2(y - y0, x - x0) + k * hypot(x - x0, y - y0);
}

Test(phase, embedding_of_a_counter_clockwise_spiral_has_charge_minus_one)
{
  static double now[N], lag[N], th[N];
  mt_ps ps[MAXPS];
  const double x0 = 6.07, y0 = 3.93, tau = 20.0; /* ms, a fifth of T */
  for (int f = 0; f < 8; f++) {
    double t = 200.0 + 12.5 * f;
    for (int p = 0; p < N; p++) {
      now[p] = ap(spiral(xof(p), yof(p), t, x0, y0));
      lag[p] = ap(spiral(xof(p), yof(p), t - tau, x0, y0));
    }
    mt_phase_embed(now, lag, NULL, N, -40.0, th);
    int n = find(th, NULL, ps);
    cr_assert_eq(n, 1, "t %g: %d PS", t, n);
    cr_assert_eq(ps[0].charge, -1);
    cr_assert(hypot(ps[0].x_mm - x0, ps[0].y_mm - y0) <= 2 * DX,
              "t %g: PS at (%g, %g)", t, ps[0].x_mm, ps[0].y_mm);
  }
}

Test(phase, embed_values_and_mask)
{
  double now[4] = {-30, -50, -40, 0}, lag[4] = {-40, -40, -30, -50};
  double th[4] = {9, 9, 9, 9};
  unsigned char tissue[4] = {1, 1, 1, 0};
  mt_phase_embed(now, lag, tissue, 4, -40.0, th);
  cr_assert_float_eq(th[0], 0.0, 1e-15);      /* atan2(0, 10) */
  cr_assert_float_eq(th[1], M_PI, 1e-15);     /* atan2(0, -10) */
  cr_assert_float_eq(th[2], M_PI / 2, 1e-15); /* atan2(10, 0) */
  cr_assert_eq(th[3], 0.0);                   /* non-tissue */
  double n0 = 1.0, l0 = -0.0, t0 = 0; /* atan2(-0, 1) = -0 */
  double n1 = -1.0, l1 = -0.0, t1 = 0; /* atan2(-0, -1) = -pi -> pi */
  mt_phase_embed(&n0, &l0, NULL, 1, 0.0, &t0);
  mt_phase_embed(&n1, &l1, NULL, 1, 0.0, &t1);
  cr_assert_eq(t0, 0.0);
  cr_assert_eq(t1, M_PI);
  mt_phase_embed(NULL, lag, NULL, 4, 0.0, th); /* nothing written */
  mt_phase_embed(now, lag, NULL, 0, 0.0, th);
  cr_assert_float_eq(th[0], 0.0, 1e-15);
}

/* ---- tracking ---- */

/* One frame of field th at time t through the tracker. */
static void frame(mt_ps_tracker *tr, double t, const double *th,
                  const unsigned char *tissue)
{
  mt_ps ps[MAXPS];
  int n = find(th, tissue, ps);
  cr_assert_eq(mt_ps_tracker_frame(tr, t, th, ps, n), 0, "%s",
               mt_ps_tracker_errmsg(tr));
}

Test(phase, core_moving_on_a_circle_is_one_track)
{
  static double th[N];
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 1.0);
  const double cx = 5.02, cy = 4.97, r = 1.5;
  for (int f = 0; f < 24; f++) { /* 0.39 mm a frame */
    double a = 2 * M_PI * f / 24.0;
    vortex(th, cx + r * cos(a), cy + r * sin(a), 1, 0.0);
    frame(tr, 10.0 * f, th, NULL);
  }
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 1);
  cr_assert_eq(t[0].frames, 24);
  cr_assert_eq(t[0].charge, 1);
  cr_assert_eq(t[0].t_first_ms, 0.0);
  cr_assert_eq(t[0].t_last_ms, 230.0);
  /* the mean of the true cores is the centre; each PS within dx/sqrt 2 */
  cr_assert(hypot(t[0].x_mm - cx, t[0].y_mm - cy) <= DX / sqrt(2.0),
            "mean (%g, %g)", t[0].x_mm, t[0].y_mm);
  mt_ps_tracker_free(tr);
}

/* theta = angle around (x0, y0) - omega t, T = 100 ms, n_frames frames
** dt apart; returns the tracker. */
static mt_ps_tracker *rotate(const unsigned char *tissue, double x0,
                             double y0, int n_frames, double dt)
{
  static double th[N];
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 1.0);
  cr_assert_not_null(tr);
  for (int f = 0; f < n_frames; f++) {
    double t = f * dt;
    vortex(th, x0, y0, 1, -2 * M_PI / 100.0 * t);
    frame(tr, t, th, tissue);
  }
  return tr;
}

Test(phase, nine_tenths_of_a_turn_is_no_driver)
{
  /* 0.9 turn in 8 steps of 11.25 ms (8.9 frames a turn) */
  mt_ps_tracker *tr = rotate(NULL, 5.07, 4.93, 9, 90.0 / 8);
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 1);
  cr_assert_eq(t[0].frames, 9);
  cr_assert(fabs(t[0].rotations - 0.9) < 0.1, "%g", t[0].rotations);
  cr_assert(t[0].turn_signed < 0);
  cr_assert(!mt_ps_track_is_driver(&t[0]));
  mt_ps_track d[2];
  cr_assert_eq(mt_phase_drivers(tr, d, 2), 0);
  mt_ps_tracker_free(tr);
}

Test(phase, one_and_a_half_turns_is_a_driver)
{
  mt_ps_tracker *tr = rotate(NULL, 5.07, 4.93, 13, 12.5); /* 8 a turn */
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 1);
  cr_assert(fabs(t[0].rotations - 1.5) < 0.1, "%g", t[0].rotations);
  cr_assert(mt_ps_track_is_driver(&t[0]));
  mt_ps_track d[2];
  cr_assert_eq(mt_phase_drivers(tr, d, 2), 1);
  cr_assert_eq(d[0].id, t[0].id);
  cr_assert_eq(d[0].t_last_ms, 150.0);
  cr_assert_eq(mt_phase_drivers(tr, NULL, 0), 1); /* count only */
  mt_ps_tracker_free(tr);
}

/*
** A rigidly turning spiral whose tip circles a core of radius r_mm: theta
** = -angle(x - tip(t)) + omega t, tip(t) = c + r (cos omega t, sin omega
** t) (the pattern -angle(x - c - (r, 0)) turned by omega t about c: one
** turn a period T = 100 ms, whatever r). 20 frames a turn for 1.5 turns.
*/
static void meander(double r_mm, double *turn_signed, int *n_tracks)
{
  static double th[N];
  const double w = 2 * M_PI / 100.0, cx = 5.03, cy = 4.97;
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 2.0);
  for (int f = 0; f <= 30; f++) {
    double t = 5.0 * f, tx = cx + r_mm * cos(w * t), ty = cy + r_mm * sin(w * t);
    for (int p = 0; p < N; p++)
      th[p] = -atan2(yof(p) - ty, xof(p) - tx) + w * t;
    frame(tr, t, th, NULL);
  }
  const mt_ps_track *t;
  *n_tracks = mt_ps_tracker_tracks(tr, &t);
  *turn_signed = t[0].turn_signed;
  mt_ps_tracker_free(tr);
}

Test(phase, rotations_of_a_meandering_core_are_counted_in_its_frame)
{
  /* the phase at a fixed node inside the tip's circle never completes a
  ** beat: counting at the PS's own node fails here (tip radius 1 mm:
  ** -0.44 to 1.9 turns for 3 at 8 to 60 frames a turn) */
  const double radii[] = {0.3, 1.0, 2.5};
  for (int k = 0; k < 3; k++) {
    double turn;
    int n;
    meander(radii[k], &turn, &n);
    cr_assert_eq(n, 1, "r %g: %d tracks", radii[k], n);
    cr_assert(fabs(turn - 1.5) < 0.1, "r %g: %g turns", radii[k], turn);
  }
}

Test(phase, re_entry_around_a_hole_is_a_driver)
{
  static unsigned char tissue[N];
  disc(tissue, 5.07, 4.93, 1.6);
  mt_ps_tracker *tr = rotate(tissue, 5.07, 4.93, 17, 12.5); /* 2 turns */
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 1);
  cr_assert_eq(t[0].hole, 0);
  cr_assert(fabs(t[0].rotations - 2.0) < 0.1, "%g", t[0].rotations);
  cr_assert(mt_ps_track_is_driver(&t[0]));
  mt_ps_tracker_free(tr);
}

Test(phase, drivers_are_ordered_by_rotations)
{
  static double th[N];
  mt_ps ps[MAXPS];
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 1.0);
  /* theta winds round core A (2.6, 2.6, +1) and core B (7.4, 7.4, -1)
  ** and turns at omega = 2 pi / 100 ms; frames 12.5 ms apart; A is
  ** reported for 17 frames (2 turns), B for the last 13 (1.5 turns). */
  for (int f = 0; f < 17; f++) {
    double t = 12.5 * f, w = -2 * M_PI / 100.0 * t;
    for (int p = 0; p < N; p++)
      th[p] = atan2(yof(p) - 2.6, xof(p) - 2.6) -
              atan2(yof(p) - 7.4, xof(p) - 7.4) + w;
    int n = find(th, NULL, ps);
    cr_assert_eq(n, 2);
    cr_assert_eq(ps[0].charge, 1); /* A's row comes first */
    cr_assert_eq(mt_ps_tracker_frame(tr, t, th, ps, f >= 4 ? 2 : 1), 0);
  }
  mt_ps_track d[1];
  cr_assert_eq(mt_phase_drivers(tr, d, 1), 2); /* only the first written */
  cr_assert_eq(d[0].charge, 1);
  cr_assert(fabs(d[0].rotations - 2.0) < 0.1, "%g", d[0].rotations);
  mt_ps_track all[2];
  cr_assert_eq(mt_phase_drivers(tr, all, 2), 2);
  cr_assert_eq(all[1].charge, -1);
  cr_assert(fabs(all[1].rotations - 1.5) < 0.1, "%g", all[1].rotations);
  mt_ps_tracker_free(tr);
}

Test(phase, opposite_cores_close_together_stay_two_tracks)
{
  static double th[N];
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 2.0); /* > their 0.85 mm */
  for (int f = 0; f < 6; f++) {
    double y = 4.03 + 0.1 * f;
    for (int p = 0; p < N; p++)
      th[p] = atan2(yof(p) - y, xof(p) - 4.6) -
              atan2(yof(p) - y, xof(p) - 5.45);
    frame(tr, f, th, NULL);
  }
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 2);
  cr_assert_eq(t[0].frames, 6);
  cr_assert_eq(t[1].frames, 6);
  cr_assert_eq(t[0].charge * t[1].charge, -1);
  for (int k = 0; k < 2; k++) {
    double x = t[k].charge > 0 ? 4.6 : 5.45;
    cr_assert(fabs(t[k].x_mm - x) <= DX / 2, "track %d x %g", k, t[k].x_mm);
  }
  mt_ps_tracker_free(tr);
}

Test(phase, nearest_live_track_wins)
{
  static double th[N];
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 5.0); /* both within reach */
  for (int f = 0; f < 5; f++) { /* two +1 cores drifting 0.3 mm a frame */
    double x1 = 2.1 + 0.3 * f, x2 = 6.1 - 0.3 * f;
    for (int p = 0; p < N; p++)
      th[p] = atan2(yof(p) - 5.05, xof(p) - x1) +
              atan2(yof(p) - 4.05, xof(p) - x2);
    frame(tr, f, th, NULL);
  }
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 2);
  for (int k = 0; k < 2; k++) {
    cr_assert_eq(t[k].frames, 5);
    double x = t[k].y_last_mm > 4.6 ? 2.7 : 5.5; /* mean of each path */
    cr_assert(fabs(t[k].x_mm - x) <= DX / 2, "track %d x %g", k, t[k].x_mm);
  }
  mt_ps_tracker_free(tr);
}

Test(phase, a_jump_beyond_link_starts_a_new_track)
{
  static double th[N];
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 1.0);
  for (int f = 0; f < 6; f++) {
    vortex(th, f < 3 ? 3.1 : 7.1, 5.05, 1, 0.0); /* 4 mm jump */
    frame(tr, 2.0 * f, th, NULL);
  }
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 2);
  cr_assert_eq(t[0].frames, 3);
  cr_assert_eq(t[0].t_last_ms, 4.0);
  cr_assert_eq(t[1].frames, 3);
  cr_assert_eq(t[1].t_first_ms, 6.0);
  cr_assert_eq(t[1].id, 1);
  mt_ps_tracker_free(tr);
}

Test(phase, a_track_missing_one_frame_ends)
{
  static double th[N], flat[N];
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 1.0);
  vortex(th, 3.1, 5.05, 1, 0.0);
  frame(tr, 0, th, NULL);
  frame(tr, 1, flat, NULL); /* no PS */
  frame(tr, 2, th, NULL);
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 2);
  cr_assert_eq(t[0].frames, 1);
  cr_assert_eq(t[1].t_first_ms, 2.0);
  mt_ps_tracker_free(tr);
}

Test(phase, a_track_takes_one_ps_the_nearest)
{
  static double th[N];
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 2.0);
  vortex(th, 5.1, 5.05, 1, 0.0);
  frame(tr, 0, th, NULL);
  for (int p = 0; p < N; p++) /* two +1 cores, both within link_mm */
    th[p] = atan2(yof(p) - 5.05, xof(p) - 5.35) +
            atan2(yof(p) - 5.05, xof(p) - 4.4);
  frame(tr, 1, th, NULL);
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 2);
  cr_assert_eq(t[0].frames, 2);
  cr_assert(fabs(t[0].x_last_mm - 5.35) <= DX / 2, "%g", t[0].x_last_mm);
  cr_assert_eq(t[1].frames, 1);
  cr_assert(fabs(t[1].x_last_mm - 4.4) <= DX / 2, "%g", t[1].x_last_mm);
  mt_ps_tracker_free(tr);
}

Test(phase, a_ps_of_the_other_charge_starts_a_track)
{
  static double th[N];
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 2.0);
  vortex(th, 5.1, 5.05, 1, 0.0);
  frame(tr, 0, th, NULL);
  vortex(th, 5.35, 5.05, -1, 0.0); /* 0.25 mm away, charge -1 */
  frame(tr, 1, th, NULL);
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 2);
  cr_assert_eq(t[0].charge, 1);
  cr_assert_eq(t[0].frames, 1);
  cr_assert_eq(t[1].charge, -1);
  mt_ps_tracker_free(tr);
}

Test(phase, a_core_anchoring_to_a_hole_continues_its_track)
{
  static double th[N];
  static unsigned char tissue[N];
  mt_ps ps[MAXPS];
  disc(tissue, 5.0, 5.0, 0.6);
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 2.0);
  vortex(th, 5.85, 5.05, 1, 0.0); /* free core 0.85 mm from the centre */
  cr_assert_eq(find(th, tissue, ps), 1);
  cr_assert_eq(ps[0].hole, -1);
  frame(tr, 0, th, tissue);
  vortex(th, 5.0, 5.0, 1, 0.0); /* now turning round the hole */
  cr_assert_eq(find(th, tissue, ps), 1);
  cr_assert_eq(ps[0].hole, 0);
  frame(tr, 1, th, tissue);
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 1);
  cr_assert_eq(t[0].frames, 2);
  cr_assert_eq(t[0].hole, 0); /* the hole of its last PS */
  mt_ps_tracker_free(tr);
}

Test(phase, a_core_meandering_through_patchy_fibrosis_is_one_driver)
{
  /* 5 % of the nodes non-tissue at random (a fixed LCG): the tip of a
  ** spiral circling a core of radius 1 mm meets them, its PS switching
  ** between cells and holes (16 of the 31 frames); it stays one track
  ** and counts 1.5 turns within 0.15 (a hole's PS sits at its centroid,
  ** up to a cell from the tip, and the pinwheel's end terms grow) */
  static double th[N];
  static unsigned char tissue[N];
  mt_ps ps[MAXPS];
  unsigned s = 2024;
  for (int p = 0; p < N; p++) {
    s = s * 1103515245u + 12345u;
    tissue[p] = (s >> 8) % 100 >= 5;
  }
  const double w = 2 * M_PI / 100.0, cx = 5.03, cy = 4.97;
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 2.0);
  int holes = 0;
  for (int f = 0; f <= 30; f++) {
    double t = 5.0 * f, tx = cx + cos(w * t), ty = cy + sin(w * t);
    for (int p = 0; p < N; p++)
      th[p] = -atan2(yof(p) - ty, xof(p) - tx) + w * t;
    int n = find(th, tissue, ps);
    cr_assert_eq(n, 1, "t %g: %d PS", t, n);
    holes += ps[0].hole >= 0;
    cr_assert(hypot(ps[0].x_mm - tx, ps[0].y_mm - ty) < 1.0,
              "t %g: PS %g mm from the tip", t,
              hypot(ps[0].x_mm - tx, ps[0].y_mm - ty));
    cr_assert_eq(mt_ps_tracker_frame(tr, t, th, ps, n), 0);
  }
  cr_assert(holes > 0 && holes < 31, "%d frames at a hole", holes);
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 1);
  cr_assert(fabs(t[0].turn_signed - 1.5) < 0.15, "%g", t[0].turn_signed);
  cr_assert(mt_ps_track_is_driver(&t[0]));
  mt_ps_tracker_free(tr);
}

Test(phase, a_frame_switching_to_a_large_hole_adds_no_turn)
{
  /* theta = angle - omega t at 8 frames a turn; the core is free for 4
  ** frames, then turns round a disc of radius 1.6 mm whose pinwheel lies
  ** inside it (the hole's node is sampled instead). The frame that
  ** switches from pinwheel to node adds nothing: 7 of 8 steps of -1/8. */
  static double th[N];
  static unsigned char tissue[N];
  mt_ps ps[MAXPS];
  disc(tissue, 5.0, 5.0, 1.6);
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 3.0);
  for (int f = 0; f <= 8; f++) {
    double t = 12.5 * f, w = -2 * M_PI / 100.0 * t;
    vortex(th, f < 4 ? 7.6 : 5.0, 5.05, 1, w);
    cr_assert_eq(find(th, tissue, ps), 1);
    cr_assert_eq(ps[0].hole, f < 4 ? -1 : 0);
    if (f >= 4)
      for (int r = 0; r < MT_PS_RING; r++)
        cr_assert_eq(ps[0].ring[r], -1);
    cr_assert_eq(mt_ps_tracker_frame(tr, t, th, ps, 1), 0);
  }
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 1);
  cr_assert_float_eq(t[0].turn_signed, -0.875, 1e-9);
  mt_ps_tracker_free(tr);
}

/* ---- bad input ---- */

Test(phase, bad_grids_and_arguments)
{
  static double th[N];
  mt_ps ps[MAXPS];
  vortex(th, 4.1, 5.3, 1, 0.0);
  cr_assert_eq(mt_phase_singularities(th, NULL, 1, NY, DX, ps, MAXPS), 0);
  cr_assert_eq(mt_phase_singularities(th, NULL, NX, 1, DX, ps, MAXPS), 0);
  cr_assert_eq(mt_phase_singularities(th, NULL, 0, -3, DX, ps, MAXPS), 0);
  cr_assert_eq(mt_phase_singularities(NULL, NULL, NX, NY, DX, ps, MAXPS),
               MT_EINVAL);
  cr_assert_eq(mt_phase_singularities(th, NULL, NX, NY, 0.0, ps, MAXPS),
               MT_EINVAL);
  cr_assert_eq(mt_phase_singularities(th, NULL, NX, NY, NAN, ps, MAXPS),
               MT_EINVAL);
  cr_assert_eq(mt_phase_singularities(th, NULL, NX, NY, DX, ps, -1),
               MT_EINVAL);
  cr_assert_eq(mt_phase_singularities(th, NULL, NX, NY, DX, NULL, 1),
               MT_EINVAL);
  cr_assert_eq(mt_phase_singularities(th, NULL, NX, NY, DX, NULL, 0), 1);
  /* more PS than max: the count, and only max written */
  for (int p = 0; p < N; p++)
    th[p] = atan2(yof(p) - 5.05, xof(p) - 3.1) -
            atan2(yof(p) - 4.9, xof(p) - 7.15);
  mt_ps one[2] = {{0}, {-1, -1, 7, 7, 7, {7, 7, 7, 7}}};
  cr_assert_eq(mt_phase_singularities(th, NULL, NX, NY, DX, one, 1), 2);
  cr_assert_eq(one[0].charge, -1);
  cr_assert_eq(one[1].charge, 7); /* untouched */
  /* a NaN phase at a tissue corner: its cells are skipped, no crash */
  vortex(th, 4.1, 5.3, 1, 0.0);
  th[cell_of(4.1, 5.3)] = NAN;
  cr_assert_eq(mt_phase_singularities(th, NULL, NX, NY, DX, ps, MAXPS), 0);
}

Test(phase, tracker_refuses_bad_frames_and_keeps_its_state)
{
  static double th[N];
  mt_ps ps[MAXPS];
  cr_assert_null(mt_ps_tracker_new(0, 1.0));
  cr_assert_null(mt_ps_tracker_new(N, 0.0));
  cr_assert_null(mt_ps_tracker_new(N, INFINITY));
  mt_ps_tracker *tr = mt_ps_tracker_new(N, 1.0);
  vortex(th, 4.1, 5.3, 1, 0.0);
  int n = find(th, NULL, ps);
  cr_assert_eq(mt_ps_tracker_frame(tr, 1.0, th, ps, n), 0);
  cr_assert_eq(mt_ps_tracker_frame(tr, 1.0, th, ps, n), MT_EINVAL);
  cr_assert(strstr(mt_ps_tracker_errmsg(tr), "t_ms 1"));
  cr_assert_eq(mt_ps_tracker_frame(tr, NAN, th, ps, n), MT_EINVAL);
  cr_assert_eq(mt_ps_tracker_frame(tr, 2.0, NULL, ps, n), MT_EINVAL);
  cr_assert(strstr(mt_ps_tracker_errmsg(tr), "theta is NULL"));
  cr_assert_eq(mt_ps_tracker_frame(tr, 2.0, th, NULL, 1), MT_EINVAL);
  cr_assert(strstr(mt_ps_tracker_errmsg(tr), "n_ps 1"));
  cr_assert_eq(mt_ps_tracker_frame(tr, 2.0, th, ps, -1), MT_EINVAL);
  mt_ps bad = ps[0];
  bad.node = N;
  cr_assert_eq(mt_ps_tracker_frame(tr, 2.0, th, &bad, 1), MT_EINVAL);
  cr_assert(strstr(mt_ps_tracker_errmsg(tr), "ps[0].node 1681"));
  bad = ps[0];
  bad.charge = 0;
  cr_assert_eq(mt_ps_tracker_frame(tr, 2.0, th, &bad, 1), MT_EINVAL);
  cr_assert(strstr(mt_ps_tracker_errmsg(tr), "charge 0"));
  const mt_ps_track *t;
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 1); /* nothing changed */
  cr_assert_eq(t[0].frames, 1);
  cr_assert_eq(mt_ps_tracker_frame(tr, 2.0, th, ps, n), 0); /* goes on */
  cr_assert_eq(mt_ps_tracker_tracks(tr, &t), 1);
  cr_assert_eq(t[0].frames, 2);
  cr_assert_str_empty(mt_ps_tracker_errmsg(tr));
  cr_assert_eq(mt_ps_tracker_frame(NULL, 3.0, th, ps, n), MT_EINVAL);
  cr_assert_eq(mt_ps_tracker_tracks(NULL, &t), 0);
  cr_assert_null(t);
  cr_assert(!mt_ps_track_is_driver(NULL));
  cr_assert_eq(mt_phase_drivers(NULL, NULL, 0), 0);
  cr_assert_eq(mt_phase_drivers(tr, NULL, 1), MT_EINVAL);
  cr_assert_str_empty(mt_ps_tracker_errmsg(NULL));
  mt_ps_tracker_free(tr);
  mt_ps_tracker_free(NULL);
}
