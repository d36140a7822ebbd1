/*
** The simulation driver: compiles the schedule into input segments, calls the
** model's discrete hooks at boundaries, lets a backend integrate each segment
** and samples states, inputs and observables at the requested times.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/sim.h"
#include "solve/integrator.h"


void mt_sim_config_init(mt_sim_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->solver = MT_SOLVER_DOPRI5;
  cfg->rtol = 1e-8;
  cfg->atol = 1e-8;
}

int mt_series_alloc(mt_series *s, const mt_model *m, int n)
{
  memset(s, 0, sizeof *s);
  if (n < 0)
    return MT_EINVAL;
  size_t k = (size_t)(n > 0 ? n : 1);
  s->n = n;
  s->n_state = m->n_state;
  s->n_input = m->n_input;
  s->n_obs = m->n_obs;
  s->n_mem = m->n_mem;
  s->t = calloc(k, sizeof *s->t);
  s->x_end = calloc((size_t)m->n_state, sizeof *s->x_end);
  s->mem_end = calloc((size_t)(m->n_mem ? m->n_mem : 1), sizeof *s->mem_end);
  s->x = calloc(k * (size_t)m->n_state, sizeof *s->x);
  s->u = calloc(k * (size_t)(m->n_input ? m->n_input : 1), sizeof *s->u);
  s->y = calloc(k * (size_t)(m->n_obs ? m->n_obs : 1), sizeof *s->y);
  if (!s->t || !s->x || !s->u || !s->y || !s->x_end || !s->mem_end) {
    mt_series_clear(s);
    return MT_ENOMEM;
  }
  return 0;
}

void mt_series_clear(mt_series *s)
{
  free(s->t);
  free(s->x);
  free(s->u);
  free(s->y);
  free(s->x_end);
  free(s->mem_end);
  memset(s, 0, sizeof *s);
}

int mt_rhs_eval(mt_rhs_ctx *c, double t, const double *x, double *dx)
{
  const mt_model *m = c->m;
  c->stats->n_rhs++;
  int rc = m->rhs(t, x, c->p, c->u, c->mem, c->ws, dx);
  if (rc < 0) {
    snprintf(c->err, MT_ERRMSG_MAX,
             "model %s: right-hand side failed (code %d) at t = %.10g %s",
             m->name, rc, t, m->time_unit);
    return rc;
  }
  if (rc > 0)
    return rc;
  for (int i = 0; i < m->n_state; i++)
    if (!isfinite(dx[i])) {
      snprintf(c->err, MT_ERRMSG_MAX,
               "model %s: d%s/dt is not finite at t = %.10g %s", m->name,
               m->state[i].name, t, m->time_unit);
      return 1;
    }
  return 0;
}

void mt_roots_eval(mt_rhs_ctx *c, double t, const double *x, double *g)
{
  c->m->roots(t, x, c->p, g);
}

int mt_sim_create(const mt_model *m, const mt_sim_config *cfg, mt_sim **out)
{
  *out = NULL;
  if (!m || !m->rhs || !m->observe || m->n_state <= 0)
    return MT_EINVAL;
  mt_sim *s = calloc(1, sizeof *s);
  if (!s)
    return MT_ENOMEM;
  s->m = m;
  if (cfg)
    s->cfg = *cfg;
  else
    mt_sim_config_init(&s->cfg);
  s->be = s->cfg.solver == MT_SOLVER_CVODE ? &mt_backend_cvode
                                           : &mt_backend_dopri5;
  size_t ns = (size_t)m->n_state, nm = (size_t)m->n_mem + 1,
         ni = (size_t)m->n_input + 1;
  s->x = calloc(ns, sizeof *s->x);
  s->mem = calloc(nm, sizeof *s->mem);
  s->u_basal = calloc(ni, sizeof *s->u_basal);
  s->u_prev = calloc(ni, sizeof *s->u_prev);
  s->ws = m->ws_size ? calloc(1, m->ws_size) : NULL;
  s->fired = calloc((size_t)(m->n_root > 0 ? m->n_root : 1), 1);
  int rc = MT_ENOMEM;
  if (s->x && s->mem && s->u_basal && s->u_prev && s->fired &&
      (s->ws || !m->ws_size))
    rc = s->be->create(m, &s->cfg, &s->bstate);
  if (rc) {
    mt_sim_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void mt_sim_free(mt_sim *s)
{
  if (!s)
    return;
  if (s->bstate)
    s->be->free(s->bstate);
  free(s->x);
  free(s->mem);
  free(s->u_basal);
  free(s->u_prev);
  free(s->ws);
  free(s->fired);
  free(s);
}

const char *mt_sim_errmsg(const mt_sim *s) { return s->err; }
const mt_sim_stats *mt_sim_last_stats(const mt_sim *s) { return &s->stats; }

/* Initial state, memory and basal inputs, from the caller or model init. */
int mt_sim_start_state(mt_sim *s, const double *p, const double *x0,
                       const double *mem0)
{
  const mt_model *m = s->m;
  memset(s->mem, 0, (size_t)(m->n_mem + 1) * sizeof *s->mem);
  memset(s->u_basal, 0, (size_t)(m->n_input + 1) * sizeof *s->u_basal);
  memset(s->x, 0, (size_t)m->n_state * sizeof *s->x);
  if (m->init && m->init(p, s->x, s->mem, s->u_basal) < 0) {
    snprintf(s->err, sizeof s->err,
             "model %s: parameters give no initial state", m->name);
    return MT_EINVAL;
  }
  if (x0)
    memcpy(s->x, x0, (size_t)m->n_state * sizeof *s->x);
  if (mem0)
    memcpy(s->mem, mem0, (size_t)m->n_mem * sizeof *s->mem);
  for (int i = 0; i < m->n_state; i++)
    if (!isfinite(s->x[i])) {
      snprintf(s->err, sizeof s->err, "model %s: initial %s is not finite",
               m->name, m->state[i].name);
      return MT_EINVAL;
    }
  return 0;
}

int mt_sim_check_samples(mt_sim *s, const mt_series *o, double t0,
                         double t_end)
{
  if (o->n_state != s->m->n_state || o->n_input != s->m->n_input ||
      o->n_obs != s->m->n_obs) {
    snprintf(s->err, sizeof s->err, "series was allocated for another model");
    return MT_EINVAL;
  }
  for (int i = 0; i < o->n; i++)
    if (!(o->t[i] >= t0 && o->t[i] <= t_end) ||
        (i > 0 && o->t[i] < o->t[i - 1])) {
      snprintf(s->err, sizeof s->err,
               "sample time %d (%g) is outside [%g, %g] or out of order", i,
               o->t[i], t0, t_end);
      return MT_EINVAL;
    }
  return 0;
}

/* Fill inputs and observables of samples [a, b) taken with inputs u. */
void mt_sim_finish_rows(const mt_model *m, const double *p, const double *u,
                        const double *mem, mt_series *o, int a, int b)
{
  for (int j = a; j < b; j++) {
    for (int k = 0; k < m->n_input; k++)
      o->u[(size_t)j * m->n_input + k] = u[k];
    m->observe(o->t[j], o->x + (size_t)j * m->n_state, p, mem,
               o->y + (size_t)j * m->n_obs);
  }
}

/* Samples taken at exactly time t from the current state. */
static int sample_here(mt_sim *s, const double *p, const double *u,
                       mt_series *o, int j, double t)
{
  int a = j;
  while (j < o->n && o->t[j] <= t) {
    memcpy(o->x + (size_t)j * s->m->n_state, s->x,
           (size_t)s->m->n_state * sizeof *s->x);
    j++;
  }
  mt_sim_finish_rows(s->m, p, u, s->mem, o, a, j);
  return j;
}

/* Integrate one segment [tb, te) with inputs u, handling state events. */
static int run_segment(mt_sim *s, mt_rhs_ctx *c, double tb, double te,
                       mt_series *o, int *jp)
{
  int j = *jp;
  double t = tb;
  while (t < te) {
    int k = j, done = 0;
    while (k < o->n && o->t[k] < te)
      k++;
    double t_stop = te;
    int rc = s->be->advance(s->bstate, c, t, te, s->x, o->t + j, k - j,
                            o->x + (size_t)j * s->m->n_state, &done, &t_stop,
                            s->fired);
    if (rc < 0)
      return rc;
    mt_sim_finish_rows(s->m, c->p, c->u, s->mem, o, j, j + done);
    j += done;
    if (rc == 0)
      break;
    for (int r = 0; r < s->m->n_root; r++) {
      if (!s->fired[r])
        continue;
      s->stats.n_root++;
      if (s->m->on_root)
        s->m->on_root(r, t_stop, s->x, s->mem);
    }
    if (t_stop < te) /* samples at te belong to the next segment's inputs */
      j = sample_here(s, c->p, c->u, o, j, t_stop);
    t = t_stop;
  }
  *jp = j;
  return 0;
}

int mt_sim_run(mt_sim *s, const double *p, const double *x0,
               const double *mem0, const mt_schedule *sch, double t0,
               double t_end, mt_series *out)
{
  const mt_model *m = s->m;
  memset(&s->stats, 0, sizeof s->stats);
  s->err[0] = '\0';
  if (!p || !out || !(t_end > t0) || !isfinite(t0) || !isfinite(t_end)) {
    snprintf(s->err, sizeof s->err, "invalid run: need t_end > t0, finite");
    return MT_EINVAL;
  }
  if (sch && mt_schedule_n_input(sch) != m->n_input) {
    snprintf(s->err, sizeof s->err,
             "schedule has %d inputs, model %s has %d",
             mt_schedule_n_input(sch), m->name, m->n_input);
    return MT_EINVAL;
  }
  int rc = mt_sim_check_samples(s, out, t0, t_end);
  if (!rc)
    rc = mt_sim_start_state(s, p, x0, mem0);
  if (rc)
    return rc;

  mt_segments sg;
  mt_schedule *empty = NULL;
  if (!sch && (rc = mt_schedule_create(m->n_input, &empty)))
    return rc;
  rc = mt_schedule_compile(sch ? sch : empty, s->u_basal, t0, t_end, &sg);
  mt_schedule_free(empty);
  if (rc) {
    snprintf(s->err, sizeof s->err, "cannot compile the schedule: %s",
             mt_strerror(rc));
    return rc;
  }
  if (s->be->reset)
    s->be->reset(s->bstate);
  mt_rhs_ctx c = {m, p, NULL, s->mem, s->ws, &s->stats, s->err};
  /* the first segment's discrete update sees the inputs the state at t0
  ** was reached under, so a run continued mid-meal stays mid-meal */
  const double *u_old = s->u_basal;
  if (sch) {
    mt_schedule_inputs_before(sch, s->u_basal, t0, s->u_prev);
    u_old = s->u_prev;
  }
  int j = 0;
  for (int i = 0; i < sg.n && !rc; i++) {
    const double *u = sg.u + (size_t)i * m->n_input;
    if (m->on_input)
      m->on_input(sg.t[i], sg.t[i + 1], p, u_old, u, s->x, s->mem);
    c.u = u;
    s->stats.n_segment++;
    j = sample_here(s, p, u, out, j, sg.t[i]);
    rc = run_segment(s, &c, sg.t[i], sg.t[i + 1], out, &j);
    u_old = u;
  }
  if (!rc) { /* inputs at t_end: what the schedule holds from then on */
    sample_here(s, p, sg.u + (size_t)sg.n * m->n_input, out, j, t_end);
    memcpy(out->x_end, s->x, (size_t)m->n_state * sizeof *s->x);
    memcpy(out->mem_end, s->mem, (size_t)m->n_mem * sizeof *s->mem);
  }
  mt_segments_clear(&sg);
  return rc;
}
