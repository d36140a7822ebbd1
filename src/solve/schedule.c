/*
** Schedules of input events, compiled to piecewise-constant segments. Each
** input is level(t) x product of active scales + sum of active pulses; the
** boundaries are every time any of these changes (and, for pulses delivered
** in bites, every whole time unit inside them).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/order.h"
#include "medtwin/error.h"
#include "medtwin/schedule.h"

typedef enum { EV_LEVEL, EV_SCALE, EV_PULSE } ev_kind;

typedef struct ev {
  ev_kind kind;
  int k;
  double t0, t1, value;
  unsigned flags;
} ev;

struct mt_schedule {
  int n_input, n, cap;
  ev *ev;
};

int mt_schedule_create(int n_input, mt_schedule **out)
{
  *out = NULL;
  if (n_input < 0)
    return MT_EINVAL;
  mt_schedule *s = calloc(1, sizeof *s);
  if (!s)
    return MT_ENOMEM;
  s->n_input = n_input;
  *out = s;
  return 0;
}

void mt_schedule_free(mt_schedule *s)
{
  if (!s)
    return;
  free(s->ev);
  free(s);
}

int mt_schedule_n_input(const mt_schedule *s) { return s->n_input; }
int mt_schedule_count(const mt_schedule *s) { return s->n; }

int mt_schedule_truncate(mt_schedule *s, int n)
{
  if (n < 0 || n > s->n)
    return MT_EINVAL;
  s->n = n;
  return 0;
}

static int push(mt_schedule *s, ev e)
{
  if (e.k < 0 || e.k >= s->n_input || !isfinite(e.t0) || isnan(e.t1) ||
      !isfinite(e.value) || e.t1 < e.t0)
    return MT_EINVAL;
  if (s->n == s->cap) {
    int cap = s->cap ? 2 * s->cap : 16;
    ev *p = realloc(s->ev, (size_t)cap * sizeof *p);
    if (!p)
      return MT_ENOMEM;
    s->ev = p;
    s->cap = cap;
  }
  s->ev[s->n++] = e;
  return 0;
}

int mt_schedule_level(mt_schedule *s, int k, double t, double value)
{
  return push(s, (ev){EV_LEVEL, k, t, t, value, 0});
}

int mt_schedule_scale(mt_schedule *s, int k, double t0, double t1,
                      double factor)
{
  return push(s, (ev){EV_SCALE, k, t0, t1, factor, 0});
}

int mt_schedule_pulse(mt_schedule *s, int k, double t0, double t1,
                      double value, unsigned flags)
{
  return push(s, (ev){EV_PULSE, k, t0, t1, value, flags});
}

int mt_schedule_event_at(const mt_schedule *s, int i, mt_schedule_event *e)
{
  if (!s || !e || i < 0 || i >= s->n)
    return MT_EINVAL;
  const ev *v = &s->ev[i];
  static const mt_schedule_kind kind[] = {
      [EV_LEVEL] = MT_SCHEDULE_LEVEL, [EV_SCALE] = MT_SCHEDULE_SCALE,
      [EV_PULSE] = MT_SCHEDULE_PULSE};
  *e = (mt_schedule_event){kind[v->kind], v->k, v->t0, v->t1, v->value,
                           v->flags};
  return 0;
}

int mt_schedule_add(mt_schedule *s, const mt_schedule_event *e)
{
  if (!s || !e)
    return MT_EINVAL;
  switch (e->kind) {
  case MT_SCHEDULE_LEVEL:
    return e->t1 == e->t0 && !e->flags
               ? push(s, (ev){EV_LEVEL, e->k, e->t0, e->t1, e->value, 0})
               : MT_EINVAL;
  case MT_SCHEDULE_SCALE:
    return !e->flags
               ? push(s, (ev){EV_SCALE, e->k, e->t0, e->t1, e->value, 0})
               : MT_EINVAL;
  case MT_SCHEDULE_PULSE:
    return !(e->flags & ~MT_PULSE_BITES)
               ? push(s, (ev){EV_PULSE, e->k, e->t0, e->t1, e->value,
                              e->flags})
               : MT_EINVAL;
  default:
    return MT_EINVAL;
  }
}

void mt_segments_clear(mt_segments *sg)
{
  free(sg->t);
  free(sg->u);
  memset(sg, 0, sizeof *sg);
}

/* Level of input k in force at time t: the latest level event at or before
** t (file order breaks ties: the last one wins), else the basal value. */
static double level_at(const mt_schedule *s, int k, double t, double basal)
{
  double best_t = -INFINITY, v = basal;
  for (int i = 0; i < s->n; i++) {
    const ev *e = &s->ev[i];
    if (e->kind == EV_LEVEL && e->k == k && e->t0 <= t && e->t0 >= best_t) {
      best_t = e->t0;
      v = e->value;
    }
  }
  return v;
}

static void inputs_at(const mt_schedule *s, const double *basal, double t,
                      double *u)
{
  for (int k = 0; k < s->n_input; k++)
    u[k] = level_at(s, k, t, basal ? basal[k] : 0.0);
  for (int i = 0; i < s->n; i++) {
    const ev *e = &s->ev[i];
    if (e->kind == EV_SCALE && e->t0 <= t && t < e->t1)
      u[e->k] *= e->value;
  }
  for (int i = 0; i < s->n; i++) {
    const ev *e = &s->ev[i];
    if (e->kind == EV_PULSE && e->t0 <= t && t < e->t1)
      u[e->k] += e->value;
  }
}

void mt_schedule_inputs_before(const mt_schedule *s, const double *u_basal,
                               double t, double *u)
{
  inputs_at(s, u_basal, nextafter(t, -INFINITY), u);
}

/* Collect candidate boundaries in (t0, t_end); bite ticks are marked by
** being listed in `forced` as well. */
/* The bite ticks e->t0 + k of a pulse that fall inside [t0, t_end): k in
** [*k0, *k1). */
static void bite_range(const ev *e, double t0, double t_end, double *k0,
                       double *k1)
{
  double hi = fmin(e->t1, t_end);
  *k0 = t0 > e->t0 ? floor(t0 - e->t0) : 0.0;
  *k1 = hi > e->t0 ? ceil(hi - e->t0) : 0.0;
  if (*k1 < *k0)
    *k1 = *k0;
}

static int boundaries(const mt_schedule *s, double t0, double t_end,
                      double **bp, int *nbp, double **forced, int *nforced)
{
  size_t cap = 2 + 2 * (size_t)s->n, fcap = 1, n = 0, nf = 0;
  double k0, k1;
  for (int i = 0; i < s->n; i++)
    if (s->ev[i].flags & MT_PULSE_BITES) {
      bite_range(&s->ev[i], t0, t_end, &k0, &k1);
      fcap += (size_t)(k1 - k0);
    }
  double *b = malloc((cap + fcap) * sizeof *b);
  double *f = malloc(fcap * sizeof *f);
  if (!b || !f) {
    free(b);
    free(f);
    return MT_ENOMEM;
  }
  for (int i = 0; i < s->n; i++) {
    const ev *e = &s->ev[i];
    b[n++] = e->t0;
    if (e->kind != EV_LEVEL)
      b[n++] = e->t1;
    if (!(e->flags & MT_PULSE_BITES))
      continue;
    bite_range(e, t0, t_end, &k0, &k1);
    for (double k = k0; k < k1; k++) {
      double t = e->t0 + k;
      if (t < e->t1 && t < t_end) {
        b[n++] = t;
        f[nf++] = t;
      }
    }
  }
  size_t m = 0;
  qsort(b, n, sizeof *b, mt_cmp_double);
  for (size_t i = 0; i < n; i++)
    if (b[i] > t0 && b[i] < t_end && (m == 0 || b[i] != b[m - 1]))
      b[m++] = b[i];
  qsort(f, nf, sizeof *f, mt_cmp_double);
  *bp = b;
  *nbp = (int)m;
  *forced = f;
  *nforced = (int)nf;
  return 0;
}

static int is_forced(const double *f, int nf, double t)
{
  return bsearch(&t, f, (size_t)nf, sizeof *f, mt_cmp_double) != NULL;
}

int mt_schedule_compile(const mt_schedule *s, const double *u_basal,
                        double t0, double t_end, mt_segments *out)
{
  memset(out, 0, sizeof *out);
  if (!(t_end > t0) || !isfinite(t0) || !isfinite(t_end))
    return MT_EINVAL;
  double *bp, *forced;
  int nbp, nf, ni = s->n_input;
  int rc = boundaries(s, t0, t_end, &bp, &nbp, &forced, &nf);
  if (rc)
    return rc;
  out->t = malloc((size_t)(nbp + 2) * sizeof *out->t);
  out->u = malloc((size_t)(nbp + 2) * (size_t)(ni ? ni : 1) * sizeof *out->u);
  if (!out->t || !out->u) {
    free(bp);
    free(forced);
    mt_segments_clear(out);
    return MT_ENOMEM;
  }
  out->n_input = ni;
  int n = 0;
  for (int i = -1; i < nbp; i++) {
    double t = i < 0 ? t0 : bp[i];
    double *u = out->u + (size_t)n * ni;
    inputs_at(s, u_basal, t, u);
    if (n > 0 && !is_forced(forced, nf, t) &&
        memcmp(u, u - ni, (size_t)ni * sizeof *u) == 0)
      continue; /* nothing changes here: no restart */
    out->t[n++] = t;
  }
  out->t[n] = t_end;
  inputs_at(s, u_basal, t_end, out->u + (size_t)n * ni);
  out->n = n;
  free(bp);
  free(forced);
  return 0;
}
