/*
** Many instances of one model (patients, ensemble members) through DOPRI5,
** MT_LANES at a time: the six stages run as vector operations over the lanes,
** while every per-instance decision (step size, acceptance, segment restarts,
** samples) is taken lane by lane with the very functions the scalar
** integrator uses. Each lane restarts on its own schedule, so an instance's
** result is bit for bit what mt_sim_run gives, whatever its batch-mates.
*/
#include <float.h>
#ifdef __AVX__
#include <immintrin.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "solve/dopri5_tab.h"
#include "solve/integrator.h"
#include "core/vec.h"

#define L MT_LANES

typedef struct lane {
  int inst;           /* 1 while a piece is under way, -1 when idle */
  mt_sim_piece pc;    /* that piece */
  mt_segments sg;
  int seg, j, last;   /* segment, next sample, this step ends the segment */
  double t, h, facold, fac;
  long nstep;
  mt_series *out;
  const double *p;
  double *x, *mem, *u_basal; /* scalar copies: n_state, n_mem, n_input */
  double *u_prev;            /* the inputs just before t0 (n_input) */
} lane;

/* Where the pieces come from and where finished ones go
** (mt_sim_run_stream's callbacks). */
typedef struct source {
  int (*next)(void *ctx, mt_sim_piece *pc);
  int (*done)(void *ctx, const mt_sim_piece *pc);
  void *ctx;
} source;

typedef struct batch {
  mt_sim *s;
  const mt_model *m;
  int n, np, ni, nm;
  mt_v4 *y, *y1, *ys, *k[7], *yd, *p, *u, *mem, *scr;
  double *rcl[L];     /* dense output of each lane: 5 n contiguous */
  void *dp5;          /* scalar DOPRI5 for segment starts */
  double *k1s;        /* scalar k1 of a starting lane */
  lane ln[L];
  int rhs_rc[L], bad[L], n_active;
} batch;

#define LANE(v, i, l) (((double *)(v))[(size_t)(i) * L + (l)])

/* Copy a scalar vector into lane l of an interleaved one, and back. */
static void put(mt_v4 *v, int l, const double *a, int n)
{
  for (int i = 0; i < n; i++)
    LANE(v, i, l) = a[i];
}

static void get(const mt_v4 *v, int l, double *a, int n)
{
  for (int i = 0; i < n; i++)
    a[i] = ((const double *)v)[(size_t)i * L + l];
}

static mt_rhs_ctx lane_ctx(batch *b, lane *ln)
{
  const double *u = ln->sg.u + (size_t)ln->seg * b->ni;
  mt_rhs_ctx c = {b->m, ln->p, u, ln->mem, b->s->ws, &b->s->stats, b->s->err};
  return c;
}

/* Samples at exactly time t from the lane's current state. */
static void lane_sample_here(batch *b, lane *ln, double t, const double *u)
{
  int a = ln->j;
  mt_series *o = ln->out;
  while (ln->j < o->n && o->t[ln->j] <= t) {
    memcpy(o->x + (size_t)ln->j * b->n, ln->x, (size_t)b->n * sizeof *ln->x);
    ln->j++;
  }
  mt_sim_finish_rows(b->m, ln->p, u, ln->mem, o, a, ln->j);
}

/* The end of an instance: its final state and memory, for continuing it. */
static void lane_finish(const batch *b, lane *ln)
{
  memcpy(ln->out->x_end, ln->x, (size_t)b->n * sizeof *ln->x);
  memcpy(ln->out->mem_end, ln->mem, (size_t)b->nm * sizeof *ln->mem);
}

/* Samples strictly inside a segment crossed by one Euler step from x0 with
** slope b->k1s (mirrors tiny_advance in dopri5.c). */
static void tiny_samples(batch *b, lane *ln, const double *x0, double t1,
                         const double *u)
{
  mt_series *o = ln->out;
  int a = ln->j;
  for (; ln->j < o->n && o->t[ln->j] < t1; ln->j++)
    for (int i = 0; i < b->n; i++)
      o->x[(size_t)ln->j * b->n + i] = x0[i] + (o->t[ln->j] - ln->t) *
                                                   b->k1s[i];
  mt_sim_finish_rows(b->m, ln->p, u, ln->mem, o, a, ln->j);
}

/* Enter segment ln->seg: discrete update, boundary samples, restart (a
** segment too short for a step is crossed with one Euler step, as the
** scalar integrator does). Returns 1 when the instance is complete. */
static int lane_segment(batch *b, int l)
{
  lane *ln = &b->ln[l];
  const mt_segments *sg = &ln->sg;
  for (;;) {
    const double *u = sg->u + (size_t)ln->seg * b->ni;
    const double *u_old = ln->seg ? u - b->ni : ln->u_prev;
    double t1 = sg->t[ln->seg + 1];
    ln->t = sg->t[ln->seg];
    if (b->m->on_input)
      b->m->on_input(ln->t, t1, ln->p, u_old, u, ln->x, ln->mem);
    b->s->stats.n_segment++;
    lane_sample_here(b, ln, ln->t, u);
    mt_rhs_ctx c = lane_ctx(b, ln);
    double *x0 = (double *)b->scr;
    memcpy(x0, ln->x, (size_t)b->n * sizeof *x0);
    int rc = mt_dp5_tiny(&c, ln->t, t1, ln->x, b->k1s);
    if (rc < 0)
      return rc;
    if (rc > 0) /* samples inside the short segment, as the scalar path */
      tiny_samples(b, ln, x0, t1, u);
    if (rc == 0) {
      rc = mt_dp5_start(b->dp5, &c, ln->t, t1 - ln->t, ln->x, b->k1s, &ln->h);
      if (rc)
        return rc;
      put(b->y, l, ln->x, b->n);
      put(b->k[0], l, b->k1s, b->n);
      put(b->u, l, u, b->ni);
      put(b->mem, l, ln->mem, b->nm);
      ln->facold = DP5_FACOLD0;
      ln->nstep = 0;
      return 0;
    }
    if (++ln->seg == sg->n) {
      lane_sample_here(b, ln, sg->t[sg->n], sg->u + (size_t)sg->n * b->ni);
      lane_finish(b, ln);
      return 1;
    }
  }
}

/* Put piece pc into lane l (or mark the lane idle when pc is NULL).
** Returns 1 if the piece completed at once, < 0 on error. */
static int lane_load(batch *b, int l, const mt_sim_piece *pc)
{
  lane *ln = &b->ln[l];
  mt_segments_clear(&ln->sg);
  b->n_active += (pc != NULL) - (ln->inst >= 0);
  ln->inst = pc ? 1 : -1;
  if (!pc) {
    memset(b->rhs_rc, 0, sizeof b->rhs_rc);
    return 0;
  }
  ln->pc = *pc;
  mt_sim *s = b->s;
  int rc = mt_sim_check_samples(s, pc->out, pc->t0, pc->t_end);
  if (!rc)
    rc = mt_sim_start_state(s, pc->p, pc->x0, pc->mem0);
  if (rc)
    return rc;
  memcpy(ln->x, s->x, (size_t)b->n * sizeof *ln->x);
  memcpy(ln->mem, s->mem, (size_t)b->nm * sizeof *ln->mem);
  memcpy(ln->u_basal, s->u_basal, (size_t)b->ni * sizeof *ln->u_basal);
  rc = mt_schedule_compile(pc->sch, ln->u_basal, pc->t0, pc->t_end, &ln->sg);
  mt_schedule_inputs_before(pc->sch, ln->u_basal, pc->t0, ln->u_prev);
  if (rc)
    return rc;
  ln->p = pc->p;
  ln->out = pc->out;
  ln->seg = ln->j = 0;
  put(b->p, l, pc->p, b->np);
  return lane_segment(b, l);
}

/* One batched rhs evaluation; lanes whose rhs failed or gave a non-finite
** derivative are re-evaluated through the scalar wrapper for its verdict. */
static void stage_rhs(batch *b, const mt_v4 *t, const mt_v4 *x, mt_v4 *dx)
{
  int rc[L];
  b->m->rhs_lanes((const double *)t, (const double *)x, (const double *)b->p,
                  (const double *)b->u, (const double *)b->mem,
                  (double *)dx, rc);
  mt_m4 fine = {-1, -1, -1, -1}; /* per lane: every derivative finite */
  for (int i = 0; i < b->n; i++)
    fine &= mt_v4_abs(dx[i]) < INFINITY;
  b->s->stats.n_rhs += b->n_active;
  int ok = (rc[0] | rc[1] | rc[2] | rc[3]) == 0 &&
           (fine[0] & fine[1] & fine[2] & fine[3]) != 0;
  for (int l = 0; !ok && l < L; l++) {
    lane *ln = &b->ln[l];
    if (ln->inst < 0 || b->bad[l] || (rc[l] == 0 && fine[l]))
      continue;
    get(x, l, b->k1s, b->n);
    mt_rhs_ctx c = lane_ctx(b, ln);
    b->s->stats.n_rhs--; /* counted again by the wrapper */
    b->bad[l] = mt_rhs_eval(&c, ((const double *)t)[l], b->k1s,
                            (double *)b->scr);
  }
}

/* The six stages of DOPRI5 for all lanes (mirrors step() in dopri5.c). */
static void stages(batch *b, mt_v4 t, mt_v4 h)
{
  int n = b->n;
  mt_v4 *y = b->y, *ys = b->ys, **k = b->k, tt;
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * A21 * k[0][i];
  tt = t + C2 * h;
  stage_rhs(b, &tt, ys, k[1]);
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * (A31 * k[0][i] + A32 * k[1][i]);
  tt = t + C3 * h;
  stage_rhs(b, &tt, ys, k[2]);
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * (A41 * k[0][i] + A42 * k[1][i] + A43 * k[2][i]);
  tt = t + C4 * h;
  stage_rhs(b, &tt, ys, k[3]);
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * (A51 * k[0][i] + A52 * k[1][i] + A53 * k[2][i] +
                        A54 * k[3][i]);
  tt = t + C5 * h;
  stage_rhs(b, &tt, ys, k[4]);
  for (int i = 0; i < n; i++)
    ys[i] = y[i] + h * (A61 * k[0][i] + A62 * k[1][i] + A63 * k[2][i] +
                        A64 * k[3][i] + A65 * k[4][i]);
  tt = t + h;
  stage_rhs(b, &tt, ys, k[5]);
  for (int i = 0; i < n; i++)
    b->y1[i] = y[i] + h * (A71 * k[0][i] + A73 * k[2][i] + A74 * k[3][i] +
                           A75 * k[4][i] + A76 * k[5][i]);
  stage_rhs(b, &tt, b->y1, k[6]);
  for (int i = 0; i < n; i++)
    b->yd[i] = h * (E1 * k[0][i] + E3 * k[2][i] + E4 * k[3][i] +
                    E5 * k[4][i] + E6 * k[5][i] + E7 * k[6][i]);
}

/* Samples strictly inside the accepted step [t, t + h) of lane l. */
static void lane_emit(batch *b, int l, double t_hi)
{
  lane *ln = &b->ln[l];
  mt_series *o = ln->out;
  double t1 = ln->sg.t[ln->seg + 1];
  int a = ln->j;
  while (ln->j < o->n && o->t[ln->j] < t_hi && o->t[ln->j] < t1) {
    double *row = o->x + (size_t)ln->j * b->n;
    if (o->t[ln->j] > ln->t)
      dp5_dense_eval(b->n, b->rcl[l], (o->t[ln->j] - ln->t) / ln->h, row);
    else
      memcpy(row, ln->x, (size_t)b->n * sizeof *row);
    ln->j++;
  }
  mt_sim_finish_rows(b->m, ln->p, ln->sg.u + (size_t)ln->seg * b->ni,
                     ln->mem, o, a, ln->j);
}

/* Whether lane l has samples inside its current segment. */
static int wants_dense(const batch *b, int l)
{
  const lane *ln = &b->ln[l];
  return ln->j < ln->out->n && ln->out->t[ln->j] < ln->sg.t[ln->seg + 1];
}

/* Dense-output coefficients of every lane's step at once: dp5_dense_prepare
** with vector operations, the same per lane, written out lane by lane so
** that each lane's samples read contiguous memory. */
static void dense_lanes(batch *b, mt_v4 h)
{
  int n = b->n;
  mt_v4 *const *k = b->k;
  for (int i = 0; i < n; i++) {
    mt_v4 ydiff = b->y1[i] - b->y[i], bspl = h * k[0][i] - ydiff;
    mt_v4 r4 = ydiff - h * k[6][i] - bspl;
    mt_v4 r5 = h * (D1 * k[0][i] + D3 * k[2][i] + D4 * k[3][i] +
                    D5 * k[4][i] + D6 * k[5][i] + D7 * k[6][i]);
    for (int l = 0; l < L; l++) {
      double *r = b->rcl[l] + i;
      r[0] = b->y[i][l];
      r[n] = ydiff[l];
      r[2 * n] = bspl[l];
      r[3 * n] = r4[l];
      r[4 * n] = r5[l];
    }
  }
}

/* Accept the step of lane l: samples, new time, next step size (the new
** state is copied for all accepted lanes at once). Returns 1 when the
** lane's segment is complete. */
static int lane_accept(batch *b, int l)
{
  lane *ln = &b->ln[l];
  double t1 = ln->sg.t[ln->seg + 1];
  double t_new = ln->last ? t1 : ln->t + ln->h;
  if (wants_dense(b, l))
    lane_emit(b, l, t_new);
  ln->t = t_new;
  ln->h = fmin(ln->h / ln->fac, b->s->cfg.h_max > 0 ? b->s->cfg.h_max
                                                    : INFINITY);
  return !(ln->t < t1);
}

/* After a finished segment: next segment, or the end of the instance
** (returns 1). */
static int lane_next(batch *b, int l, double t_end)
{
  lane *ln = &b->ln[l];
  get(b->y, l, ln->x, b->n);
  if (++ln->seg < ln->sg.n)
    return lane_segment(b, l);
  lane_sample_here(b, ln, t_end, ln->sg.u + (size_t)ln->sg.n * b->ni);
  lane_finish(b, ln);
  return 1;
}

/* Per-lane step decisions before the stages; mirrors dp5_advance. */
static int lane_prepare(batch *b, int l, mt_v4 *t, mt_v4 *h)
{
  lane *ln = &b->ln[l];
  ln->last = dp5_clip(ln->t, ln->sg.t[ln->seg + 1], &ln->h);
  long max = b->s->cfg.max_steps > 0 ? b->s->cfg.max_steps : 500000;
  int rc = 0;
  if (ln->nstep >= max || ln->h < 8 * DBL_EPSILON * fmax(1.0, fabs(ln->t))) {
    mt_rhs_ctx c = lane_ctx(b, ln);
    rc = mt_dp5_stuck(&c, ln->nstep, max, ln->t, ln->h);
  }
  (*t)[l] = ln->t;
  (*h)[l] = ln->h;
  b->bad[l] = 0;
  return rc;
}

/* dp5_wnorm for all lanes at once: per lane the same operations in the same
** order, so each lane's norm is bit for bit the scalar one. */
static mt_v4 wnorm_lanes(const batch *b)
{
  const mt_sim_config *cfg = &b->s->cfg;
  mt_v4 s = {0};
  for (int i = 0; i < b->n; i++) {
    mt_v4 a = mt_v4_abs(b->y[i]), c = mt_v4_abs(b->y1[i]);
    mt_v4 sc = cfg->atol + cfg->rtol * mt_v4_max(a, c);
    mt_v4 e = b->yd[i] / sc;
    s += e * e;
  }
  s /= (double)b->n;
#ifdef __AVX__
  return _mm256_sqrt_pd(s); /* correctly rounded, as sqrt() */
#else
  mt_v4 r;
  for (int l = 0; l < L; l++)
    r[l] = sqrt(s[l]);
  return r;
#endif
}

/* Error check and control for lane l after the stages; 1 if accepted. */
static int lane_control(batch *b, int l, const double *err,
                        const double *pw17, const double *pw04)
{
  lane *ln = &b->ln[l];
  b->s->stats.n_step++;
  ln->nstep++;
  if (dp5_control(err[l], pw17[l], pw04[l], &ln->h, &ln->facold, &ln->fac))
    return 1;
  b->s->stats.n_reject++;
  return 0;
}

static void batch_free(batch *b)
{
  for (int l = 0; l < L; l++) {
    mt_segments_clear(&b->ln[l].sg);
    free(b->ln[l].x);
  }
  free(b->y);
  free(b->k1s);
  if (b->dp5)
    mt_backend_dopri5.free(b->dp5);
}

static int batch_init(batch *b, mt_sim *s)
{
  memset(b, 0, sizeof *b);
  const mt_model *m = s->m;
  b->s = s;
  b->m = m;
  b->n = m->n_state;
  b->np = m->n_param;
  b->ni = m->n_input;
  b->nm = m->n_mem;
  size_t n = (size_t)b->n, blocks = 16 * n + (size_t)b->np + b->ni + b->nm + n;
  b->y = aligned_alloc(32, blocks * sizeof(mt_v4));
  b->k1s = malloc(n * sizeof *b->k1s);
  if (!b->y || !b->k1s || mt_backend_dopri5.create(m, &s->cfg, &b->dp5))
    return MT_ENOMEM;
  memset(b->y, 0, blocks * sizeof(mt_v4));
  mt_v4 *v = b->y;
  b->y1 = v += n;
  b->ys = v += n;
  b->yd = v += n;
  for (int i = 0; i < 7; i++)
    b->k[i] = v += n;
  for (int l = 0; l < L; l++) /* 5 n doubles each: 5 n vectors in all */
    b->rcl[l] = (double *)(v + n) + (size_t)l * 5 * n;
  v += n;
  b->p = v += 5 * n;
  b->u = v += b->np;
  b->mem = v += b->ni;
  b->scr = v += b->nm;
  size_t per = n + (size_t)b->nm + 2 * (size_t)b->ni + 4;
  for (int l = 0; l < L; l++) {
    lane *ln = &b->ln[l];
    ln->inst = -1;
    if (!(ln->x = calloc(per, sizeof *ln->x)))
      return MT_ENOMEM;
    ln->mem = ln->x + n;
    ln->u_basal = ln->mem + b->nm + 1;
    ln->u_prev = ln->u_basal + b->ni + 1;
  }
  return 0;
}

/* The lane path needs the model's batched rhs, DOPRI5, no state events, and
** (when built for AVX2) a processor that has it. */
static int lanes_usable(const mt_sim *s)
{
#ifdef __AVX2__
  if (!__builtin_cpu_supports("avx2"))
    return 0;
#endif
  return s->m->rhs_lanes && s->cfg.solver == MT_SOLVER_DOPRI5 &&
         !(s->m->n_root > 0);
}

/* One piece after another, for models or settings without lanes. */
static int run_each(mt_sim *s, const source *src, long *failed)
{
  mt_sim_stats sum = {0};
  mt_sim_piece pc;
  int rc, more;
  while ((more = src->next(src->ctx, &pc)) > 0) {
    rc = mt_sim_run(s, pc.p, pc.x0, pc.mem0, pc.sch, pc.t0, pc.t_end, pc.out);
    sum.n_rhs += s->stats.n_rhs;
    sum.n_step += s->stats.n_step;
    sum.n_reject += s->stats.n_reject;
    sum.n_segment += s->stats.n_segment;
    sum.n_root += s->stats.n_root;
    if (!rc)
      rc = src->done(src->ctx, &pc);
    if (rc) {
      s->stats = sum;
      *failed = pc.id;
      return rc;
    }
  }
  s->stats = sum;
  return more;
}

/* y = y1 and k1 = k7 (FSAL) in the lanes whose step was accepted. */
static void commit_lanes(batch *b, const int *acc)
{
  mt_m4 m = {acc[0] ? -1 : 0, acc[1] ? -1 : 0, acc[2] ? -1 : 0,
             acc[3] ? -1 : 0};
  for (int i = 0; i < b->n; i++) {
    b->y[i] = (mt_v4)((m & (mt_m4)b->y1[i]) | (~m & (mt_m4)b->y[i]));
    b->k[0][i] = (mt_v4)((m & (mt_m4)b->k[6][i]) | (~m & (mt_m4)b->k[0][i]));
  }
}

/* Advance every active lane by one attempted step. */
static int batch_step(batch *b, long *failed, int *done)
{
  mt_v4 t = {0}, h = {0};
  int acc[L] = {0}, end[L] = {0};
  for (int l = 0; l < L; l++)
    if (b->ln[l].inst >= 0 && lane_prepare(b, l, &t, &h)) {
      *failed = b->ln[l].pc.id;
      return MT_ESOLVER;
    }
  stages(b, t, h);
  mt_v4 norm = wnorm_lanes(b);
  double err[L], pw17[L], pw04[L];
  for (int l = 0; l < L; l++)
    err[l] = b->bad[l] > 0 ? INFINITY : norm[l];
  dp5_powers4(err, pw17, pw04);
  int dense = 0;
  for (int l = 0; l < L; l++) {
    done[l] = 0;
    if (b->ln[l].inst < 0)
      continue;
    if (b->bad[l] < 0) {
      *failed = b->ln[l].pc.id;
      return MT_ESOLVER;
    }
    acc[l] = lane_control(b, l, err, pw17, pw04);
    dense |= acc[l] && wants_dense(b, l);
  }
  if (dense)
    dense_lanes(b, h);
  for (int l = 0; l < L; l++)
    if (acc[l])
      end[l] = lane_accept(b, l);
  commit_lanes(b, acc);
  for (int l = 0; l < L; l++) {
    if (!end[l])
      continue;
    int rc = lane_next(b, l, b->ln[l].sg.t[b->ln[l].sg.n]);
    if (rc < 0) {
      *failed = b->ln[l].pc.id;
      return rc;
    }
    done[l] = rc;
  }
  return 0;
}

/* Load the next pieces into lane l until one is under way or none are
** left (the lane then goes idle); a piece that completes at once is handed
** back at once. */
static int fill(batch *b, int l, const source *src, long *failed)
{
  for (;;) {
    mt_sim_piece pc;
    int more = src->next(src->ctx, &pc);
    if (more < 0)
      return more;
    int rc = lane_load(b, l, more ? &pc : NULL);
    if (rc == 1)
      rc = src->done(src->ctx, &pc);
    else if (rc == 0)
      return 0;
    if (rc < 0) {
      *failed = pc.id;
      return rc;
    }
  }
}

static int active(const batch *b)
{
  for (int l = 0; l < L; l++)
    if (b->ln[l].inst >= 0)
      return 1;
  return 0;
}

static int run_source(mt_sim *s, const source *src, long *failed)
{
  *failed = -1;
  memset(&s->stats, 0, sizeof s->stats);
  s->err[0] = '\0';
  if (!lanes_usable(s))
    return run_each(s, src, failed);
  batch b;
  int rc = batch_init(&b, s), done[L];
  for (int l = 0; !rc && l < L; l++)
    rc = fill(&b, l, src, failed);
  while (!rc && active(&b)) {
    rc = batch_step(&b, failed, done);
    for (int l = 0; !rc && l < L; l++)
      if (done[l]) {
        rc = src->done(src->ctx, &b.ln[l].pc);
        if (rc < 0)
          *failed = b.ln[l].pc.id;
        else
          rc = fill(&b, l, src, failed);
      }
  }
  batch_free(&b);
  return rc;
}

int mt_sim_run_stream(mt_sim *s, int (*next)(void *ctx, mt_sim_piece *pc),
                      int (*done)(void *ctx, const mt_sim_piece *pc),
                      void *ctx, long *failed)
{
  long dummy;
  if (!failed)
    failed = &dummy;
  if (!s || !next || !done) {
    *failed = -1;
    if (s)
      snprintf(s->err, sizeof s->err, "invalid stream: no callbacks");
    return MT_EINVAL;
  }
  const source src = {next, done, ctx};
  return run_source(s, &src, failed);
}

/* What mt_sim_run_many_from was asked to do, as a source of pieces. */
typedef struct job {
  int n, next;
  const double *const *p, *const *x0, *const *mem0; /* x0, mem0 may be NULL */
  const mt_schedule *const *sch;
  double t0, t_end;
  mt_series *out;
} job;

static int job_next(void *ctx, mt_sim_piece *pc)
{
  job *jb = ctx;
  if (jb->next >= jb->n)
    return 0;
  int i = jb->next++;
  *pc = (mt_sim_piece){jb->p[i], jb->x0 ? jb->x0[i] : NULL,
                       jb->mem0 ? jb->mem0[i] : NULL, jb->sch[i], jb->t0,
                       jb->t_end, &jb->out[i], i};
  return 1;
}

static int job_done(void *ctx, const mt_sim_piece *pc)
{
  (void)ctx, (void)pc;
  return 0;
}

int mt_sim_run_many_from(mt_sim *s, int n, const double *const *p,
                         const double *const *x0, const double *const *mem0,
                         const mt_schedule *const *sch, double t0,
                         double t_end, mt_series *out, int *failed)
{
  *failed = -1;
  memset(&s->stats, 0, sizeof s->stats);
  s->err[0] = '\0';
  if (n < 0 || (n > 0 && (!p || !sch || !out))) {
    snprintf(s->err, sizeof s->err, "invalid batch: n = %d", n);
    return MT_EINVAL;
  }
  job jb = {n, 0, p, x0, mem0, sch, t0, t_end, out};
  const source src = {job_next, job_done, &jb};
  long f;
  int rc = run_source(s, &src, &f);
  *failed = (int)f;
  return rc;
}

int mt_sim_run_many(mt_sim *s, int n, const double *const *p,
                    const mt_schedule *const *sch, double t0, double t_end,
                    mt_series *out, int *failed)
{
  return mt_sim_run_many_from(s, n, p, NULL, NULL, sch, t0, t_end, out,
                              failed);
}
