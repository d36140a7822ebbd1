/*
** Programmed stimulation (S1-S2, burst), the inducibility test with phase-
** singularity drivers, lesions and the ablate-and-retest loop
** (medtwin/induce.h; docs/tissue.md, "Inducibility and ablation").
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errfmt.h"
#include "medtwin/error.h"
#include "medtwin/induce.h"
#include "medtwin/phase.h"

void mt_protocol_init(mt_protocol *p)
{
  memset(p, 0, sizeof *p);
  p->kind = MT_PROTOCOL_S1S2;
  p->n_s1 = 8, p->bcl_ms = 600;
  p->s2_start_ms = 400, p->s2_step_ms = 10, p->s2_min_ms = 100;
  p->n_burst = 10, p->burst_cl_ms = 200;
  p->amplitude = 100, p->duration_ms = 2;
  p->persist_ms = 2000, p->capture_ms = 80;
  p->frame_ms = 5, p->lag_ms = 20, p->link_mm = 3;
}

void mt_induce_result_free(mt_induce_result *r)
{
  if (!r)
    return;
  free(r->site), free(r->driver);
  r->site = NULL, r->driver = NULL, r->n_site = r->n_driver = 0;
}

void mt_ablate_result_free(mt_ablate_result *r)
{
  if (!r)
    return;
  free(r->lesion), free(r->mask);
  mt_induce_result_free(&r->first), mt_induce_result_free(&r->last);
  memset(r, 0, sizeof *r);
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mt_vfail(err, errlen, code, "tissue", fmt, ap);
  va_end(ap);
  return code;
}

static int check_protocol(const mt_protocol *p, char *err, size_t errlen)
{
  int s2 = p->kind == MT_PROTOCOL_S1S2;
  if (p->kind != MT_PROTOCOL_S1S2 && p->kind != MT_PROTOCOL_BURST)
    return fail(err, errlen, MT_EINVAL, "protocol: kind %d: expected S1-S2 "
                "or burst", (int)p->kind);
  if (s2 && (p->n_s1 < 1 || p->n_s1 > 1000 || !(p->bcl_ms > 0) ||
             !(p->s2_step_ms > 0) || !(p->s2_min_ms > 0) ||
             !(p->s2_start_ms >= p->s2_min_ms) || !isfinite(p->bcl_ms) ||
             !isfinite(p->s2_start_ms)))
    return fail(err, errlen, MT_EINVAL, "protocol: n_s1 %d, bcl_ms %g, "
                "s2_start_ms %g, s2_step_ms %g, s2_min_ms %g: expected 1 to "
                "1000 S1 pulses, positive times and s2_start_ms >= "
                "s2_min_ms", p->n_s1, p->bcl_ms, p->s2_start_ms,
                p->s2_step_ms, p->s2_min_ms);
  if (!s2 && (p->n_burst < 1 || p->n_burst > 1000 || !(p->burst_cl_ms > 0) ||
              !isfinite(p->burst_cl_ms)))
    return fail(err, errlen, MT_EINVAL, "protocol: n_burst %d, burst_cl_ms "
                "%g: expected 1 to 1000 pulses at a positive cycle length",
                p->n_burst, p->burst_cl_ms);
  if (!isfinite(p->amplitude) || !(p->duration_ms > 0) ||
      !(p->persist_ms > 0) || !(p->capture_ms > 0) || !(p->frame_ms > 0) ||
      !(p->lag_ms >= p->frame_ms) || !(p->link_mm > 0) ||
      !isfinite(p->persist_ms) || !isfinite(p->lag_ms) ||
      p->lag_ms / p->frame_ms > 1000)
    return fail(err, errlen, MT_EINVAL, "protocol: amplitude %g, "
                "duration_ms %g, persist_ms %g, capture_ms %g, frame_ms %g, "
                "lag_ms %g, link_mm %g: expected a finite amplitude, "
                "positive times, lag_ms >= frame_ms (at most 1000 frames)",
                p->amplitude, p->duration_ms, p->persist_ms, p->capture_ms,
                p->frame_ms, p->lag_ms, p->link_mm);
  return 0;
}

/* ---- one site ---------------------------------------------------------- */

typedef struct run {
  mt_tissue *t;
  const mt_tissue_config *cfg;
  const mt_protocol *p;
  int nx, ny;
  double dx, thr;
  int lagf, nring;      /* lag in frames, ring length */
  double *ring, *theta; /* nring frames of V; the phase field */
  double *last_up;      /* per node: the last upward crossing (ms) */
  mt_ps *ps;
  int max_ps;
  mt_induce_result *res;
  mt_induce_progress progress;
  void *ctx;
  int site;
} run;

static int stim(run *r, const mt_pace_site *s, double start, double period,
                int count)
{
  mt_tissue_stim st = {
      .x0_mm = s->x_mm - s->radius_mm, .x1_mm = s->x_mm + s->radius_mm,
      .y0_mm = s->y_mm - s->radius_mm, .y1_mm = s->y_mm + s->radius_mm,
      .z0_mm = -1, .z1_mm = 1, .start_ms = start,
      .duration_ms = r->p->duration_ms, .amplitude = r->p->amplitude,
      .period_ms = period, .count = count};
  return mt_tissue_add_stim(r->t, &st);
}

/* Whether a node outside the site (Chebyshev distance > radius + 2 dx) has
** activated since the last reset. */
static int captured(const run *r, const mt_pace_site *s)
{
  const double *act = mt_tissue_activation(r->t);
  double lim = s->radius_mm + 2 * r->dx;
  for (int j = 0; j < r->ny; j++)
    for (int i = 0; i < r->nx; i++) {
      double x = i * r->dx, y = j * r->dx;
      if (fabs(x - s->x_mm) > lim || fabs(y - s->y_mm) > lim)
        if (isfinite(act[i + (long)r->nx * j]))
          return 1;
    }
  return 0;
}

static int add_driver(run *r, const mt_ps_track *tr)
{
  mt_induce_result *res = r->res;
  mt_driver *d = realloc(res->driver, (size_t)(res->n_driver + 1) * sizeof *d);
  if (!d)
    return MT_ENOMEM;
  res->driver = d;
  d += res->n_driver++;
  d->x_mm = tr->x_mm, d->y_mm = tr->y_mm, d->charge = tr->charge;
  d->hole = tr->hole >= 0, d->t_first_ms = tr->t_first_ms;
  d->t_last_ms = tr->t_last_ms, d->rotations = tr->rotations;
  d->site = r->site;
  return 0;
}

/*
** After the last pulse (ending at t_end): run until persist_ms later or
** quiescence, sampling the phase every frame. *activity: how long some
** node stayed excited; *induced; *cycle: the mean interval between
** successive upward crossings of a node (frame resolution; NAN: none);
** drivers added to the result if induced: tracks of at least one full
** rotation (mt_ps_track_is_driver) that lived at least one cycle length.
*/
static int persist(run *r, double t_end, double *activity, int *induced,
                   double *cycle)
{
  const mt_protocol *p = r->p;
  long n = (long)r->nx * r->ny;
  mt_ps_tracker *tr = mt_ps_tracker_new(n, p->link_mm);
  if (!tr)
    return MT_ENOMEM;
  const unsigned char *mask = mt_tissue_mask(r->t);
  int rc = 0, k = 0;
  /* frames from the tissue's time on (an S2's capture window has already
  ** been run): each frame a new state, so the embedding's lag is real */
  double t0 = fmax(t_end, mt_tissue_time(r->t)), tf = t0, isum = 0;
  long icount = 0;
  *induced = 0, *activity = 0;
  for (long i = 0; i < n; i++)
    r->last_up[i] = NAN;
  for (;; k++, tf = t0 + k * p->frame_ms) {
    if ((rc = mt_tissue_run(r->t, tf)))
      break;
    const double *v = mt_tissue_state(r->t, 0);
    if (mt_tissue_count_above(r->t, r->thr) == 0) {
      *activity = tf - t_end;
      break;
    }
    if (tf - t_end >= p->persist_ms - 1e-9) {
      *activity = tf - t_end, *induced = 1;
      break;
    }
    if (k > 0) { /* upward crossings since the last frame: cycle length */
      const double *vp = r->ring + (size_t)((k - 1) % r->nring) * n;
      for (long i = 0; i < n; i++)
        if (mask[i] && vp[i] < r->thr && v[i] >= r->thr) {
          if (isfinite(r->last_up[i]))
            isum += tf - r->last_up[i], icount++;
          r->last_up[i] = tf;
        }
    }
    memcpy(r->ring + (size_t)(k % r->nring) * n, v, (size_t)n * sizeof *v);
    if (k >= r->lagf) {
      const double *lag = r->ring + (size_t)((k - r->lagf) % r->nring) * n;
      mt_phase_embed(v, lag, mask, n, r->thr, r->theta);
      int nps = mt_phase_singularities(r->theta, mask, r->nx, r->ny, r->dx,
                                       r->ps, r->max_ps);
      if (nps < 0) {
        rc = nps;
        break;
      }
      if ((rc = mt_ps_tracker_frame(tr, tf, r->theta, r->ps,
                                    nps < r->max_ps ? nps : r->max_ps)))
        break;
    }
    if (r->progress && k % 20 == 0)
      r->progress(r->ctx, r->site, NAN, tf - t_end);
  }
  *cycle = icount ? isum / icount : NAN;
  if (!rc && *induced) { /* a full rotation, lasting a cycle length */
    const mt_ps_track *tk;
    int nt = mt_ps_tracker_tracks(tr, &tk);
    for (int i = 0; i < nt && !rc; i++)
      if (mt_ps_track_is_driver(&tk[i]) &&
          !(tk[i].t_last_ms - tk[i].t_first_ms < *cycle))
        rc = add_driver(r, &tk[i]);
  }
  mt_ps_tracker_free(tr);
  return rc;
}

static int site_s1s2(run *r, const mt_pace_site *s, mt_site_result *sr)
{
  const mt_protocol *p = r->p;
  double t_last = (p->n_s1 - 1) * p->bcl_ms, t_save = t_last + p->duration_ms;
  int rc = stim(r, s, 0, p->bcl_ms, p->n_s1);
  if (rc || (rc = mt_tissue_run(r->t, t_save)))
    return rc;
  r->res->sim_ms += t_save;
  mt_tissue_snap *snap = mt_tissue_snap_save(r->t);
  if (!snap)
    return MT_ENOMEM;
  for (double c = p->s2_start_ms; c >= p->s2_min_ms - 1e-9;
       c -= p->s2_step_ms) {
    double t2 = t_last + c;
    if (t2 < t_save)
      break;
    if ((rc = mt_tissue_snap_restore(r->t, snap)))
      break;
    mt_tissue_clear_stim(r->t);
    mt_tissue_reset_activation(r->t, t2);
    if ((rc = stim(r, s, t2, 0, 1)) ||
        (rc = mt_tissue_run(r->t, t2 + p->duration_ms + p->capture_ms)))
      break;
    sr->tries++;
    r->res->sim_ms += t2 - t_save + p->duration_ms + p->capture_ms;
    if (r->progress)
      r->progress(r->ctx, r->site, c, 0);
    if (!captured(r, s)) {
      sr->loss_ms = c;
      break;
    }
    sr->captured = 1, sr->coupling_ms = c;
    double act, cyc;
    if ((rc = persist(r, t2 + p->duration_ms, &act, &sr->induced, &cyc)))
      break;
    if (sr->induced)
      sr->cycle_ms = cyc;
    r->res->sim_ms += fmax(act - p->capture_ms, 0);
    if (act > sr->activity_ms)
      sr->activity_ms = act;
    if (sr->induced)
      break;
  }
  mt_tissue_snap_free(snap);
  return rc;
}

static int site_burst(run *r, const mt_pace_site *s, mt_site_result *sr)
{
  const mt_protocol *p = r->p;
  double t_end = (p->n_burst - 1) * p->burst_cl_ms + p->duration_ms;
  int rc = stim(r, s, 0, p->burst_cl_ms, p->n_burst);
  if (rc || (rc = mt_tissue_run(r->t, t_end)))
    return rc;
  sr->tries = 1, sr->captured = 1, sr->coupling_ms = NAN;
  double act, cyc;
  rc = persist(r, t_end, &act, &sr->induced, &cyc);
  if (sr->induced)
    sr->cycle_ms = cyc;
  sr->activity_ms = act;
  r->res->sim_ms += t_end + act;
  return rc;
}

static int check_sites(const mt_tissue *t, const mt_tissue_config *cfg,
                       const mt_pace_site *sites, int n_sites, char *err,
                       size_t errlen)
{
  if (n_sites < 1 || n_sites > 1000)
    return fail(err, errlen, MT_EINVAL, "sites: %d: expected 1 to 1000 "
                "pacing sites", n_sites);
  const unsigned char *mask = mt_tissue_mask(t);
  for (int k = 0; k < n_sites; k++) {
    const mt_pace_site *s = &sites[k];
    int hit = 0;
    for (int j = 0; j < cfg->ny && !hit; j++)
      for (int i = 0; i < cfg->nx && !hit; i++)
        hit = mask[i + (long)cfg->nx * j] &&
              fabs(i * cfg->dx_mm - s->x_mm) <= s->radius_mm + 1e-9 &&
              fabs(j * cfg->dx_mm - s->y_mm) <= s->radius_mm + 1e-9;
    if (!hit || !isfinite(s->x_mm) || !isfinite(s->y_mm) ||
        !(s->radius_mm >= 0))
      return fail(err, errlen, MT_EINVAL, "sites[%d]: (%g, %g) mm, radius "
                  "%g mm: expected a square that covers a tissue node of "
                  "the %g x %g mm sheet", k, s->x_mm, s->y_mm, s->radius_mm,
                  (cfg->nx - 1) * cfg->dx_mm, (cfg->ny - 1) * cfg->dx_mm);
  }
  return 0;
}

int mt_induce_test(const mt_model *m, const mt_tissue_config *cfg,
                   const mt_pace_site *sites, int n_sites,
                   const mt_protocol *p, mt_induce_progress progress,
                   void *ctx, mt_induce_result *res, char *err,
                   size_t errlen)
{
  memset(res, 0, sizeof *res);
  int rc;
  if (cfg->nz != 1 || cfg->ny < 2 || cfg->nx < 2)
    return fail(err, errlen, MT_EINVAL, "grid %d x %d x %d: the "
                "inducibility test needs a 2D sheet (nz = 1, nx, ny >= 2)",
                cfg->nx, cfg->ny, cfg->nz);
  if ((rc = check_protocol(p, err, errlen)))
    return rc;
  run r = {.cfg = cfg, .p = p, .nx = cfg->nx, .ny = cfg->ny,
           .dx = cfg->dx_mm, .thr = cfg->act_threshold_mV, .res = res,
           .progress = progress, .ctx = ctx};
  if ((rc = mt_tissue_create(m, cfg, &r.t, err, errlen)))
    return rc;
  if ((rc = check_sites(r.t, cfg, sites, n_sites, err, errlen))) {
    mt_tissue_free(r.t);
    return rc;
  }
  long n = (long)r.nx * r.ny;
  r.lagf = (int)lround(p->lag_ms / p->frame_ms);
  r.nring = r.lagf + 1;
  r.max_ps = 4096;
  r.ring = malloc((size_t)r.nring * (size_t)n * sizeof(double));
  r.theta = malloc((size_t)n * sizeof(double));
  r.last_up = malloc((size_t)n * sizeof(double));
  r.ps = malloc((size_t)r.max_ps * sizeof(mt_ps));
  res->site = calloc((size_t)n_sites, sizeof *res->site);
  mt_tissue_snap *rest = mt_tissue_snap_save(r.t);
  rc = r.ring && r.theta && r.last_up && r.ps && res->site && rest
           ? 0 : MT_ENOMEM;
  for (int k = 0; k < n_sites && !rc; k++) {
    mt_site_result *sr = &res->site[k];
    sr->site = sites[k], sr->coupling_ms = sr->loss_ms = NAN;
    sr->cycle_ms = NAN;
    res->n_site = k + 1, r.site = k;
    mt_tissue_snap_restore(r.t, rest);
    mt_tissue_clear_stim(r.t);
    mt_tissue_reset_activation(r.t, 0);
    rc = p->kind == MT_PROTOCOL_S1S2 ? site_s1s2(&r, &sites[k], sr)
                                     : site_burst(&r, &sites[k], sr);
    res->inducible |= sr->induced;
  }
  if (rc == MT_ESOLVER)
    fail(err, errlen, rc, "%s", mt_tissue_errmsg(r.t));
  else if (rc == MT_ENOMEM)
    fail(err, errlen, rc, "out of memory for the inducibility test");
  else if (rc)
    fail(err, errlen, rc, "%s", mt_tissue_errmsg(r.t));
  mt_tissue_snap_free(rest);
  free(r.ring), free(r.theta), free(r.last_up), free(r.ps);
  mt_tissue_free(r.t);
  if (rc)
    mt_induce_result_free(res);
  return rc;
}

/* ---- sites --------------------------------------------------------------- */

int mt_pace_sites_spread(const unsigned char *mask, int nx, int ny,
                         double dx_mm, int n, double radius_mm,
                         mt_pace_site *out)
{
  long nn = (long)nx * ny, best = -1;
  double *d2 = malloc((size_t)nn * sizeof *d2), cx = 0, cy = 0, m = 0;
  if (!d2)
    return -1;
  for (long i = 0; i < nn; i++)
    if (!mask || mask[i])
      cx += i % nx, cy += i / nx, m++;
  int placed = 0;
  if (m > 0) {
    cx /= m, cy /= m;
    double bd = INFINITY;
    for (long i = 0; i < nn; i++) {
      double e = (i % nx - cx) * (i % nx - cx) + (i / nx - cy) * (i / nx - cy);
      d2[i] = INFINITY;
      if ((!mask || mask[i]) && e < bd)
        bd = e, best = i;
    }
  }
  while (best >= 0 && placed < n) {
    out[placed].x_mm = (best % nx) * dx_mm;
    out[placed].y_mm = (best / nx) * dx_mm;
    out[placed++].radius_mm = radius_mm;
    long bx = best % nx, by = best / nx, next = -1;
    double far = 0;
    for (long i = 0; i < nn; i++) {
      if (mask && !mask[i])
        continue;
      double e = (double)((i % nx - bx) * (i % nx - bx) +
                          (i / nx - by) * (i / nx - by));
      if (e < d2[i])
        d2[i] = e;
      if (d2[i] > far)
        far = d2[i], next = i;
    }
    best = next;
  }
  free(d2);
  return placed;
}

/* ---- lesions ------------------------------------------------------------ */

long mt_lesion_apply(unsigned char *mask, int nx, int ny, double dx_mm,
                     const mt_lesion *l)
{
  double ax = l->x0_mm, ay = l->y0_mm, bx = l->x1_mm, by = l->y1_mm;
  double vx = bx - ax, vy = by - ay, vv = vx * vx + vy * vy;
  double h = 0.5 * l->width_mm + 1e-9;
  long changed = 0;
  int i0 = (int)floor((fmin(ax, bx) - h) / dx_mm),
      i1 = (int)ceil((fmax(ax, bx) + h) / dx_mm),
      j0 = (int)floor((fmin(ay, by) - h) / dx_mm),
      j1 = (int)ceil((fmax(ay, by) + h) / dx_mm);
  for (int j = j0 < 0 ? 0 : j0; j <= j1 && j < ny; j++)
    for (int i = i0 < 0 ? 0 : i0; i <= i1 && i < nx; i++) {
      double px = i * dx_mm - ax, py = j * dx_mm - ay;
      double s = vv > 0 ? (px * vx + py * vy) / vv : 0;
      s = s < 0 ? 0 : s > 1 ? 1 : s;
      double ex = px - s * vx, ey = py - s * vy;
      long idx = i + (long)nx * j;
      if (ex * ex + ey * ey <= h * h && mask[idx]) {
        mask[idx] = 0;
        changed++;
      }
    }
  return changed;
}

/*
** Label the non-tissue nodes by 8-connected component: 1 for the
** exterior (components touching the grid's edge), 2, 3, ... for enclosed
** obstacles; 0 for tissue. Returns the number of labels + 1, -1 on ENOMEM.
*/
static int label_nontissue(const unsigned char *mask, int nx, int ny,
                           int *lab)
{
  long n = (long)nx * ny, *q = malloc((size_t)n * sizeof(long));
  if (!q)
    return -1;
  for (long i = 0; i < n; i++)
    lab[i] = mask[i] ? 0 : -1;
  int next = 2;
  for (int pass = 0; pass < 2; pass++)
    for (long s = 0; s < n; s++) {
      int i = (int)(s % nx), j = (int)(s / nx);
      int edge = i == 0 || j == 0 || i == nx - 1 || j == ny - 1;
      if (lab[s] != -1 || (pass == 0 && !edge))
        continue;
      int l = pass == 0 ? 1 : next++;
      long head = 0, tail = 0;
      lab[s] = l, q[tail++] = s;
      while (head < tail) {
        long c = q[head++];
        int ci = (int)(c % nx), cj = (int)(c / nx);
        for (int dj = -1; dj <= 1; dj++)
          for (int di = -1; di <= 1; di++) {
            int a = ci + di, b = cj + dj;
            if (a < 0 || b < 0 || a >= nx || b >= ny)
              continue;
            long o = a + (long)nx * b;
            if (lab[o] == -1)
              lab[o] = l, q[tail++] = o;
          }
      }
    }
  free(q);
  return next;
}

static int touches_tissue(const unsigned char *mask, int nx, int ny, long c)
{
  int i = (int)(c % nx), j = (int)(c / nx);
  for (int dj = -1; dj <= 1; dj++)
    for (int di = -1; di <= 1; di++) {
      int a = i + di, b = j + dj;
      if (a >= 0 && b >= 0 && a < nx && b < ny && mask[a + (long)nx * b])
        return 1;
    }
  return 0;
}

/* The nearest exterior point to (x, y): an exterior node next to tissue,
** or the grid's edge. */
static double nearest_exterior(const unsigned char *mask, const int *lab,
                               int nx, int ny, double dx, double x, double y,
                               double *tx, double *ty)
{
  double lx = (nx - 1) * dx, ly = (ny - 1) * dx;
  double best = x, bx = 0, by = y;
  if (lx - x < best)
    best = lx - x, bx = lx, by = y;
  if (y < best)
    best = y, bx = x, by = 0;
  if (ly - y < best)
    best = ly - y, bx = x, by = ly;
  for (long c = 0; c < (long)nx * ny; c++) {
    if (lab[c] != 1 || !touches_tissue(mask, nx, ny, c))
      continue;
    double ex = (c % nx) * dx, ey = (c / nx) * dx,
           d = hypot(ex - x, ey - y);
    if (d < best)
      best = d, bx = ex, by = ey;
  }
  *tx = bx, *ty = by;
  return best;
}

int mt_lesion_for_driver(const unsigned char *mask, int nx, int ny,
                         double dx_mm, const mt_driver *d, double width_mm,
                         mt_lesion *out)
{
  long n = (long)nx * ny;
  int *lab = malloc((size_t)n * sizeof(int));
  if (!lab || label_nontissue(mask, nx, ny, lab) < 0) {
    free(lab);
    return MT_ENOMEM;
  }
  double sx = d->x_mm, sy = d->y_mm, tx, ty;
  double best = nearest_exterior(mask, lab, nx, ny, dx_mm, sx, sy, &tx, &ty);
  if (d->hole) { /* the enclosed obstacle nearest to the driver */
    long h = -1;
    double hd = INFINITY;
    for (long c = 0; c < n; c++)
      if (lab[c] >= 2) {
        double e = hypot((c % nx) * dx_mm - d->x_mm,
                         (c / nx) * dx_mm - d->y_mm);
        if (e < hd)
          hd = e, h = c;
      }
    if (h >= 0) { /* from its boundary node nearest to the exterior */
      best = INFINITY;
      for (long c = 0; c < n; c++) {
        if (lab[c] != lab[h] || !touches_tissue(mask, nx, ny, c))
          continue;
        double cx = (c % nx) * dx_mm, cy = (c / nx) * dx_mm, ex, ey;
        double e = nearest_exterior(mask, lab, nx, ny, dx_mm, cx, cy, &ex,
                                    &ey);
        if (e < best)
          best = e, sx = cx, sy = cy, tx = ex, ty = ey;
      }
    }
  }
  free(lab);
  out->x0_mm = sx, out->y0_mm = sy, out->x1_mm = tx, out->y1_mm = ty;
  out->width_mm = width_mm, out->driver = -1, out->round = 0;
  return 0;
}

/* ---- the loop ----------------------------------------------------------- */

static int push_lesion(mt_ablate_result *res, const mt_lesion *l)
{
  mt_lesion *a = realloc(res->lesion, (size_t)(res->n_lesion + 1) * sizeof *a);
  if (!a)
    return MT_ENOMEM;
  res->lesion = a;
  a[res->n_lesion++] = *l;
  return 0;
}

/* Distance from (x, y) to lesion l's segment. */
static double seg_dist(const mt_lesion *l, double x, double y)
{
  double vx = l->x1_mm - l->x0_mm, vy = l->y1_mm - l->y0_mm,
         vv = vx * vx + vy * vy, px = x - l->x0_mm, py = y - l->y0_mm;
  double s = vv > 0 ? (px * vx + py * vy) / vv : 0;
  s = s < 0 ? 0 : s > 1 ? 1 : s;
  return hypot(px - s * vx, py - s * vy);
}

static int ablate_round(mt_ablate_result *res, const mt_induce_result *ir,
                        int nx, int ny, double dx, double width, int round,
                        int *added)
{
  int first = res->n_lesion;
  *added = 0;
  for (int k = 0; k < ir->n_driver; k++) {
    const mt_driver *d = &ir->driver[k];
    mt_lesion l;
    int rc = mt_lesion_for_driver(res->mask, nx, ny, dx, d, width, &l);
    if (rc)
      return rc;
    int dup = 0;
    for (int e = first; e < res->n_lesion && !dup; e++)
      dup = seg_dist(&res->lesion[e], l.x0_mm, l.y0_mm) <= width ||
            seg_dist(&res->lesion[e], d->x_mm, d->y_mm) <= width;
    if (dup)
      continue;
    l.driver = k, l.round = round;
    if ((rc = push_lesion(res, &l)))
      return rc;
    mt_lesion_apply(res->mask, nx, ny, dx, &l);
    (*added)++;
  }
  return 0;
}

int mt_ablate_loop(const mt_model *m, const mt_tissue_config *cfg,
                   const mt_pace_site *sites, int n_sites,
                   const mt_protocol *p, const mt_lesion *given, int n_given,
                   double width_mm, int max_rounds,
                   mt_induce_progress progress, void *ctx,
                   mt_ablate_result *res, char *err, size_t errlen)
{
  memset(res, 0, sizeof *res);
  if (!(width_mm > 0) || !isfinite(width_mm) || max_rounds < 1 ||
      max_rounds > 100)
    return fail(err, errlen, MT_EINVAL, "ablation: width_mm %g, max_rounds "
                "%d: expected a positive width and 1 to 100 rounds",
                width_mm, max_rounds);
  long n = (long)cfg->nx * cfg->ny * cfg->nz;
  if (!(res->mask = malloc((size_t)n)))
    return MT_ENOMEM;
  for (long i = 0; i < n; i++)
    res->mask[i] = cfg->mask ? cfg->mask[i] != 0 : 1;
  int rc = 0;
  for (int k = 0; k < n_given && !rc; k++) {
    mt_lesion l = given[k];
    l.driver = -1, l.round = 0;
    if (!(l.width_mm > 0) ||
        !isfinite(l.x0_mm + l.y0_mm + l.x1_mm + l.y1_mm + l.width_mm)) {
      mt_ablate_result_free(res);
      return fail(err, errlen, MT_EINVAL, "lesions[%d]: expected finite "
                  "ends and a positive width_mm", k);
    }
    if (!(rc = push_lesion(res, &l)))
      mt_lesion_apply(res->mask, cfg->nx, cfg->ny, cfg->dx_mm, &l);
  }
  mt_tissue_config c = *cfg;
  c.mask = res->mask;
  for (int round = 1; !rc && round <= max_rounds; round++) {
    mt_induce_result ir;
    if ((rc = mt_induce_test(m, &c, sites, n_sites, p, progress, ctx, &ir,
                             err, errlen)))
      break;
    res->rounds = round, res->inducible = ir.inducible;
    if (round == 1) {
      res->first = ir;
    } else {
      mt_induce_result_free(&res->last);
      res->last = ir;
    }
    const mt_induce_result *cur = round == 1 ? &res->first : &res->last;
    if (!cur->inducible || round == max_rounds)
      break;
    int added;
    if ((rc = ablate_round(res, cur, cfg->nx, cfg->ny, cfg->dx_mm, width_mm,
                           round, &added)))
      break;
    if (!added)
      break;
  }
  if (!rc && res->rounds == 1) { /* last = first: a copy the caller frees */
    mt_induce_result *f = &res->first, *l = &res->last;
    *l = *f;
    l->site = malloc((size_t)f->n_site * sizeof *l->site + 1);
    l->driver = malloc((size_t)f->n_driver * sizeof *l->driver + 1);
    if (!l->site || !l->driver)
      rc = MT_ENOMEM;
    else {
      if (f->n_site)
        memcpy(l->site, f->site, (size_t)f->n_site * sizeof *l->site);
      if (f->n_driver)
        memcpy(l->driver, f->driver,
               (size_t)f->n_driver * sizeof *l->driver);
    }
  }
  if (rc == MT_ENOMEM)
    fail(err, errlen, rc, "out of memory in the ablation loop");
  if (rc)
    mt_ablate_result_free(res);
  return rc;
}
