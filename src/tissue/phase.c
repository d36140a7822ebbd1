/*
** Phase singularities and drivers (medtwin/phase.h, docs/tissue.md, "Phase
** singularities and drivers"): phase by time-delay embedding (Gray,
** Pertsov & Jalife, Nature 392:75, 1998; Iyer & Gray, Ann Biomed Eng 29:47,
** 2001), the topological charge of each 2 x 2 cell and of each hole in the
** tissue, and nearest-neighbour tracking over frames with rotation counting
** (Bray & Wikswo, IEEE Trans Biomed Eng 49:1086, 2002).
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/phase.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#define TWO_PI (2.0 * M_PI)

/* d wrapped into (-pi, pi]. */
static double wrap(double d)
{
  if (d > -M_PI && d <= M_PI)
    return d;
  d = remainder(d, TWO_PI); /* [-pi, pi] */
  return d <= -M_PI ? d + TWO_PI : d;
}

void mt_phase_embed(const double *v_now, const double *v_lag,
                    const unsigned char *tissue, long n, double v_star,
                    double *theta)
{
  if (!v_now || !v_lag || !theta || n <= 0)
    return;
  for (long i = 0; i < n; i++) {
    if (tissue && !tissue[i]) {
      theta[i] = 0;
      continue;
    }
    double a = atan2(v_lag[i] - v_star, v_now[i] - v_star);
    theta[i] = a <= -M_PI ? M_PI : a;
  }
}

/* ---- singularities ------------------------------------------------------ */

enum { TISSUE = -2, UNSEEN = -1 };

typedef struct region {
  int edge;       /* touches the grid's edge */
  int hole;       /* hole id, or -1 */
  double sx, sy;  /* sums of node positions (in dx) */
  long count;
  double circ;    /* sum of the circulations of the cells touching it */
  long node;      /* first tissue corner of those cells, -1 if none yet */
} region;

typedef struct grid {
  const double *theta;
  const unsigned char *tissue;
  int nx, ny;
  int *label;     /* TISSUE, or the region of a non-tissue node */
  int *queue;
  region *reg;
  int n_reg, cap_reg, n_hole;
} grid;

/* Phase of node p; 0 at non-tissue nodes, whose phases cancel anyway. */
static double th(const grid *g, long p)
{
  return (!g->tissue || g->tissue[p]) ? g->theta[p] : 0.0;
}

static int region_add(grid *g)
{
  if (g->n_reg == g->cap_reg) {
    int cap = g->cap_reg ? 2 * g->cap_reg : 16;
    region *r = realloc(g->reg, (size_t)cap * sizeof *r);
    if (!r)
      return MT_ENOMEM;
    g->reg = r;
    g->cap_reg = cap;
  }
  region *r = &g->reg[g->n_reg];
  memset(r, 0, sizeof *r);
  r->hole = -1;
  r->node = -1;
  return g->n_reg++;
}

/* Breadth-first fill of the 8-connected non-tissue region from seed. */
static void region_fill(grid *g, int seed, int id)
{
  region *r = &g->reg[id];
  int head = 0, tail = 0, nx = g->nx, ny = g->ny;
  g->label[seed] = id;
  g->queue[tail++] = seed;
  while (head < tail) {
    int p = g->queue[head++], i = p % nx, j = p / nx;
    r->sx += i, r->sy += j, r->count++;
    if (i == 0 || j == 0 || i == nx - 1 || j == ny - 1)
      r->edge = 1;
    for (int dj = -1; dj <= 1; dj++)
      for (int di = -1; di <= 1; di++) {
        int a = i + di, b = j + dj;
        if (a < 0 || b < 0 || a >= nx || b >= ny)
          continue;
        int q = a + nx * b;
        if (g->label[q] == UNSEEN) {
          g->label[q] = id;
          g->queue[tail++] = q;
        }
      }
  }
}

static int label_regions(grid *g)
{
  int n = g->nx * g->ny;
  for (int p = 0; p < n; p++)
    g->label[p] = g->tissue[p] ? TISSUE : UNSEEN;
  for (int p = 0; p < n; p++) {
    if (g->label[p] != UNSEEN)
      continue;
    int id = region_add(g);
    if (id < 0)
      return id;
    region_fill(g, p, id);
    if (!g->reg[id].edge)
      g->reg[id].hole = g->n_hole++;
  }
  return 0;
}

/*
** Circulation of the cell with corner p = (i, j), counter-clockwise. Each
** edge's wrapped difference is taken from its lower node to its higher one
** and negated when walked the other way, so that a shared edge cancels
** exactly between two cells.
*/
static double cell_circ(const grid *g, long p)
{
  long nx = g->nx;
  double h0 = wrap(th(g, p + 1) - th(g, p));
  double h1 = wrap(th(g, p + nx + 1) - th(g, p + nx));
  double v0 = wrap(th(g, p + nx) - th(g, p));
  double v1 = wrap(th(g, p + nx + 1) - th(g, p + 1));
  return h0 + v1 - h1 - v0;
}

static void emit(mt_ps *out, int max, int *count, const mt_ps *ps)
{
  if (*count < max)
    out[*count] = *ps;
  (*count)++;
}

/* Node (i, j) if inside the grid and tissue, else -1. */
static long tissue_node(const grid *g, int i, int j)
{
  if (i < 0 || j < 0 || i >= g->nx || j >= g->ny)
    return -1;
  long p = i + (long)g->nx * j;
  return (!g->tissue || g->tissue[p]) ? p : -1;
}

/* The pinwheel of rotation samples MT_PS_RING_CELLS cells out from each
** side of the cell with corner (i, j). */
static void pinwheel(const grid *g, int i, int j, long ring[MT_PS_RING])
{
  const int k = MT_PS_RING_CELLS;
  ring[0] = tissue_node(g, i + 1 + k, j);
  ring[1] = tissue_node(g, i + 1, j + 1 + k);
  ring[2] = tissue_node(g, i - k, j + 1);
  ring[3] = tissue_node(g, i, j - k);
}

static mt_ps cell_ps(const grid *g, int i, int j, double dx, int charge)
{
  mt_ps ps = {(i + 0.5) * dx, (j + 0.5) * dx, charge, -1,
              i + (long)g->nx * j, {-1, -1, -1, -1}};
  pinwheel(g, i, j, ps.ring);
  return ps;
}

/* A hole's PS: centroid, node, and the pinwheel of the cell holding the
** centroid (all -1 when the hole covers it: the tracker reads node). */
static mt_ps hole_ps(const grid *g, const region *reg, double dx, int charge)
{
  double ci = reg->sx / reg->count, cj = reg->sy / reg->count;
  int i = (int)floor(ci), j = (int)floor(cj);
  mt_ps ps = {ci * dx, cj * dx, charge, reg->hole, reg->node,
              {-1, -1, -1, -1}};
  pinwheel(g, i < g->nx - 2 ? i : g->nx - 2, j < g->ny - 2 ? j : g->ny - 2,
           ps.ring);
  return ps;
}

/* A cell with a non-tissue corner: adds its circulation to its hole. */
static void cell_to_hole(grid *g, long p, const long c[4])
{
  int r = -1;
  long first = -1;
  for (int k = 0; k < 4; k++) {
    if (g->label[c[k]] >= 0)
      r = g->label[c[k]];
    else if (first < 0 || c[k] < first)
      first = c[k];
  }
  region *reg = &g->reg[r];
  if (reg->hole < 0)
    return;
  reg->circ += cell_circ(g, p);
  if (first >= 0 && (reg->node < 0 || first < reg->node))
    reg->node = first;
}

static int scan_cells(grid *g, double dx, mt_ps *out, int max)
{
  int count = 0, nx = g->nx;
  for (int j = 0; j + 1 < g->ny; j++)
    for (int i = 0; i + 1 < nx; i++) {
      long p = i + (long)nx * j;
      long c[4] = {p, p + 1, p + nx, p + nx + 1};
      int all = !g->tissue || (g->tissue[c[0]] && g->tissue[c[1]] &&
                               g->tissue[c[2]] && g->tissue[c[3]]);
      if (!all) {
        cell_to_hole(g, p, c);
        continue;
      }
      double circ = cell_circ(g, p);
      if (!isfinite(circ))
        continue;
      int q = (int)lround(circ / TWO_PI);
      if (q) {
        mt_ps ps = cell_ps(g, i, j, dx, q);
        emit(out, max, &count, &ps);
      }
    }
  for (int r = 0; r < g->n_reg; r++) {
    const region *reg = &g->reg[r];
    if (reg->hole < 0 || reg->node < 0 || !isfinite(reg->circ))
      continue;
    int q = (int)lround(reg->circ / TWO_PI);
    if (q) {
      mt_ps ps = hole_ps(g, reg, dx, q);
      emit(out, max, &count, &ps);
    }
  }
  return count;
}

int mt_phase_singularities(const double *theta, const unsigned char *tissue,
                           int nx, int ny, double dx_mm, mt_ps *out, int max)
{
  if (!theta || !isfinite(dx_mm) || dx_mm <= 0 || max < 0 || (!out && max))
    return MT_EINVAL;
  if (nx < 2 || ny < 2)
    return 0;
  if ((long long)nx * ny > 0x7fffffffLL)
    return MT_EINVAL;
  grid g = {.theta = theta, .tissue = tissue, .nx = nx, .ny = ny};
  if (tissue) {
    size_t n = (size_t)nx * (size_t)ny;
    g.label = malloc(n * sizeof *g.label);
    g.queue = malloc(n * sizeof *g.queue);
    int rc = (g.label && g.queue) ? label_regions(&g) : MT_ENOMEM;
    if (rc < 0) {
      free(g.label), free(g.queue), free(g.reg);
      return rc;
    }
  }
  int count = scan_cells(&g, dx_mm, out, max);
  free(g.label), free(g.queue), free(g.reg);
  return count;
}

/* ---- tracking ----------------------------------------------------------- */

/* The phase a PS offers for rotation counting: at its ring, or, when no
** ring node is valid (a hole covering its pinwheel), at its node. */
typedef struct sample {
  double v[MT_PS_RING]; /* NAN where none */
  long node;            /* -1: ring samples; else v[0] is theta there */
} sample;

typedef struct track_sum {
  double sx, sy, turn; /* sums of positions, signed turn in rad */
  sample last;         /* of its last PS */
  int last_frame;      /* the frame that last continued the track */
} track_sum;

struct mt_ps_tracker {
  long n;
  double link_mm;
  double t_prev;       /* time of the previous frame */
  int frame;           /* frames so far */
  mt_ps_track *tracks;
  track_sum *sum;
  int n_tracks, cap;
  char err[160];
};

mt_ps_tracker *mt_ps_tracker_new(long n_nodes, double link_mm)
{
  if (n_nodes <= 0 || !isfinite(link_mm) || link_mm <= 0)
    return NULL;
  mt_ps_tracker *tr = calloc(1, sizeof *tr);
  if (!tr)
    return NULL;
  tr->n = n_nodes;
  tr->link_mm = link_mm;
  return tr;
}

void mt_ps_tracker_free(mt_ps_tracker *tr)
{
  if (!tr)
    return;
  free(tr->tracks);
  free(tr->sum);
  free(tr);
}

const char *mt_ps_tracker_errmsg(const mt_ps_tracker *tr)
{
  return tr ? tr->err : "";
}

__attribute__((format(printf, 2, 3)))
static int fail(mt_ps_tracker *tr, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tr->err, sizeof tr->err, fmt, ap);
  va_end(ap);
  return MT_EINVAL;
}

static int frame_check(mt_ps_tracker *tr, double t_ms, const double *theta,
                       const mt_ps *ps, int n_ps)
{
  if (!theta)
    return fail(tr, "mt_ps_tracker_frame: theta is NULL: expected the "
                "phase of the %ld nodes", tr->n);
  if (n_ps < 0 || (n_ps > 0 && !ps))
    return fail(tr, "mt_ps_tracker_frame: n_ps %d with ps %s: expected "
                "n_ps >= 0 and ps given when n_ps > 0", n_ps,
                ps ? "given" : "NULL");
  if (!isfinite(t_ms) || (tr->frame > 0 && !(t_ms > tr->t_prev)))
    return fail(tr, "mt_ps_tracker_frame: t_ms %g: expected finite and "
                "after the previous frame's %g", t_ms, tr->t_prev);
  for (int k = 0; k < n_ps; k++) {
    if (ps[k].node < 0 || ps[k].node >= tr->n)
      return fail(tr, "mt_ps_tracker_frame: ps[%d].node %ld: expected a "
                  "node in [0, %ld)", k, ps[k].node, tr->n);
    for (int r = 0; r < MT_PS_RING; r++)
      if (ps[k].ring[r] < -1 || ps[k].ring[r] >= tr->n)
        return fail(tr, "mt_ps_tracker_frame: ps[%d].ring[%d] %ld: expected "
                    "-1 or a node in [0, %ld)", k, r, ps[k].ring[r], tr->n);
    if (ps[k].charge == 0)
      return fail(tr, "mt_ps_tracker_frame: ps[%d].charge 0: expected a "
                  "non-zero charge", k);
  }
  tr->err[0] = 0;
  return 0;
}

static int grow(mt_ps_tracker *tr, int need)
{
  if (need <= tr->cap)
    return 0;
  int cap = tr->cap ? tr->cap : 16;
  while (cap < need)
    cap *= 2;
  mt_ps_track *t = realloc(tr->tracks, (size_t)cap * sizeof *t);
  if (!t)
    return MT_ENOMEM;
  tr->tracks = t;
  track_sum *s = realloc(tr->sum, (size_t)cap * sizeof *s);
  if (!s)
    return MT_ENOMEM;
  tr->sum = s;
  tr->cap = cap;
  return 0;
}

typedef struct pair {
  double d;
  int ps, track;
} pair;

static int pair_cmp(const void *a, const void *b)
{
  const pair *p = a, *q = b;
  if (p->d != q->d)
    return p->d < q->d ? -1 : 1;
  if (p->ps != q->ps)
    return p->ps < q->ps ? -1 : 1;
  return (p->track > q->track) - (p->track < q->track);
}

/* Visits the (PS, live track) pairs of one charge within link_mm: counts
** them, and stores them when pp is not NULL. */
static long pairs(const mt_ps_tracker *tr, const mt_ps *ps, int n_ps,
                  const int *live, int n_live, pair *pp)
{
  long m = 0;
  for (int a = 0; a < n_ps; a++)
    for (int l = 0; l < n_live; l++) {
      const mt_ps_track *t = &tr->tracks[live[l]];
      if (t->charge != ps[a].charge)
        continue;
      double d = hypot(ps[a].x_mm - t->x_last_mm, ps[a].y_mm - t->y_last_mm);
      if (d <= tr->link_mm) {
        if (pp)
          pp[m] = (pair){d, a, live[l]};
        m++;
      }
    }
  return m;
}

/* Candidate pairs, sorted; *n_pairs set; NULL on out of memory. */
static pair *candidates(const mt_ps_tracker *tr, const mt_ps *ps, int n_ps,
                        long *n_pairs)
{
  int n_live = 0;
  int *live = malloc(((size_t)tr->n_tracks + 1) * sizeof *live);
  if (!live)
    return NULL;
  for (int k = 0; k < tr->n_tracks; k++)
    if (tr->sum[k].last_frame == tr->frame - 1)
      live[n_live++] = k;
  long m = pairs(tr, ps, n_ps, live, n_live, NULL);
  pair *pp = malloc(((size_t)m + 1) * sizeof *pp);
  if (pp) {
    pairs(tr, ps, n_ps, live, n_live, pp);
    qsort(pp, (size_t)m, sizeof *pp, pair_cmp);
    *n_pairs = m;
  }
  free(live);
  return pp;
}

static sample take(const double *theta, const mt_ps *p)
{
  sample s = {.node = p->node};
  for (int r = 0; r < MT_PS_RING; r++) {
    s.v[r] = p->ring[r] >= 0 ? theta[p->ring[r]] : NAN;
    if (p->ring[r] >= 0)
      s.node = -1;
  }
  if (s.node >= 0)
    s.v[0] = theta[s.node];
  return s;
}

/* The mean wrapped change from a to b over the samples valid in both; 0
** when they are not of one kind (ring and node, or two nodes). */
static double turn(const sample *a, const sample *b)
{
  double sum = 0;
  int m = 0;
  if (a->node != b->node)
    return 0.0;
  for (int r = 0; r < MT_PS_RING; r++) {
    double d = wrap(b->v[r] - a->v[r]);
    if (isfinite(d))
      sum += d, m++;
  }
  return m ? sum / m : 0.0;
}

static void track_start(mt_ps_tracker *tr, double t_ms, const double *theta,
                        const mt_ps *p)
{
  int k = tr->n_tracks++;
  tr->tracks[k] = (mt_ps_track){.id = k, .charge = p->charge,
                                .hole = p->hole < 0 ? -1 : p->hole,
                                .t_first_ms = t_ms, .t_last_ms = t_ms,
                                .x_mm = p->x_mm, .y_mm = p->y_mm,
                                .x_last_mm = p->x_mm, .y_last_mm = p->y_mm,
                                .frames = 1};
  tr->sum[k] = (track_sum){.sx = p->x_mm, .sy = p->y_mm,
                           .last = take(theta, p), .last_frame = tr->frame};
}

static void track_continue(mt_ps_tracker *tr, int k, double t_ms,
                           const double *theta, const mt_ps *p)
{
  mt_ps_track *t = &tr->tracks[k];
  track_sum *s = &tr->sum[k];
  sample now = take(theta, p);
  s->turn += turn(&s->last, &now);
  s->last = now;
  t->hole = p->hole < 0 ? -1 : p->hole;
  s->sx += p->x_mm, s->sy += p->y_mm;
  s->last_frame = tr->frame;
  t->frames++;
  t->t_last_ms = t_ms;
  t->x_last_mm = p->x_mm, t->y_last_mm = p->y_mm;
  t->x_mm = s->sx / t->frames, t->y_mm = s->sy / t->frames;
  t->turn_signed = s->turn / TWO_PI;
  t->rotations = fabs(t->turn_signed);
}

int mt_ps_tracker_frame(mt_ps_tracker *tr, double t_ms, const double *theta,
                        const mt_ps *ps, int n_ps)
{
  if (!tr)
    return MT_EINVAL;
  int rc = frame_check(tr, t_ms, theta, ps, n_ps);
  if (rc)
    return rc;
  if (grow(tr, tr->n_tracks + n_ps) < 0)
    return MT_ENOMEM;
  int *taken = malloc(((size_t)n_ps + 1) * sizeof *taken);
  long m = 0;
  pair *pp = taken ? candidates(tr, ps, n_ps, &m) : NULL;
  if (!pp) {
    free(taken);
    return MT_ENOMEM;
  }
  for (int a = 0; a < n_ps; a++)
    taken[a] = -1;
  for (long c = 0; c < m; c++) {
    track_sum *s = &tr->sum[pp[c].track];
    if (taken[pp[c].ps] >= 0 || s->last_frame == tr->frame)
      continue;
    taken[pp[c].ps] = pp[c].track;
    s->last_frame = tr->frame; /* marks the track as taken */
  }
  for (int a = 0; a < n_ps; a++) {
    if (taken[a] >= 0)
      track_continue(tr, taken[a], t_ms, theta, &ps[a]);
    else
      track_start(tr, t_ms, theta, &ps[a]);
  }
  free(pp);
  free(taken);
  tr->t_prev = t_ms;
  tr->frame++;
  return 0;
}

int mt_ps_tracker_tracks(const mt_ps_tracker *tr, const mt_ps_track **out)
{
  if (out)
    *out = tr ? tr->tracks : NULL;
  return tr ? tr->n_tracks : 0;
}

int mt_ps_track_is_driver(const mt_ps_track *tr)
{
  return tr && tr->rotations >= 1.0 - 1e-9;
}

static int driver_cmp(const void *a, const void *b)
{
  const mt_ps_track *p = *(const mt_ps_track *const *)a;
  const mt_ps_track *q = *(const mt_ps_track *const *)b;
  if (p->rotations != q->rotations)
    return p->rotations > q->rotations ? -1 : 1;
  double lp = p->t_last_ms - p->t_first_ms, lq = q->t_last_ms - q->t_first_ms;
  if (lp != lq)
    return lp > lq ? -1 : 1;
  return (p->id > q->id) - (p->id < q->id);
}

int mt_phase_drivers(const mt_ps_tracker *tr, mt_ps_track *out, int max)
{
  if (max < 0 || (!out && max))
    return MT_EINVAL;
  if (!tr)
    return 0;
  const mt_ps_track **d = malloc(((size_t)tr->n_tracks + 1) * sizeof *d);
  if (!d)
    return MT_ENOMEM;
  int n = 0;
  for (int k = 0; k < tr->n_tracks; k++)
    if (mt_ps_track_is_driver(&tr->tracks[k]))
      d[n++] = &tr->tracks[k];
  qsort(d, (size_t)n, sizeof *d, driver_cmp);
  for (int k = 0; k < n && k < max; k++)
    out[k] = *d[k];
  free(d);
  return n;
}
