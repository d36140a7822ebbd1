/*
** The monodomain tissue engine (medtwin/tissue.h, docs/tissue.md): grid,
** cell states one array per state, Godunov splitting of the reaction step
** (Rush-Larsen for gates: Rush & Larsen, IEEE Trans Biomed Eng 25:389, 1978;
** forward Euler otherwise) and the diffusion step of diffusion.c, stimuli,
** activation and APD recording, conduction velocity.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "medtwin/patient.h"
#include "tissue/tissue_impl.h"

#define MAX_STATE 64 /* states of a cell model the reaction step handles */
#define BLOCK 512    /* nodes updated together, then recorded */

void mt_tissue_config_init(mt_tissue_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->nx = cfg->ny = cfg->nz = 1;
  cfg->dx_mm = 0.25;
  cfg->dt_ms = 0.01;
  cfg->D_l = cfg->D_t = 0.1;
  cfg->diffusion = MT_TISSUE_EXPLICIT;
  cfg->cg_tol = 1e-10;
  cfg->cg_max_iter = 2000;
  cfg->act_threshold_mV = 0;
  cfg->act_after_ms = 0;
  cfg->apd_fraction = 0.9;
  cfg->repol_threshold_mV = NAN;
}

void mt_tissue_free(mt_tissue *t)
{
  if (!t)
    return;
  if (t->x)
    for (int s = 0; s < t->m->n_state; s++)
      free(t->x[s]);
  free(t->x);
  for (int s = 0; s < MT_TISSUE_NOFF; s++)
    free(t->coef[s]);
  for (int s = 0; s < t->n_stim; s++)
    free(t->stim[s].node);
  free(t->stim);
  free(t->tissue), free(t->region), free(t->param), free(t->mem), free(t->u_basal);
  free(t->x_rest), free(t->is_gate), free(t->vol), free(t->v_new);
  free(t->v_old), free(t->cg_r), free(t->cg_z), free(t->cg_p), free(t->cg_q);
  free(t->cg_diag), free(t->istim), free(t->act), free(t->apd);
  free(t->vmax), free(t->ws);
  mt_tissue__kernel_free(t);
  free(t);
}

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), MT_EINVAL)

static int check_config(const mt_model *m, const mt_tissue_config *c,
                        char *err, size_t errlen)
{
  if (!m)
    return FAIL("tissue: no cell model");
  if (m->n_state < 1 || m->n_state > MAX_STATE || strcmp(m->state[0].name, "V"))
    return FAIL("tissue: model %s: state 0 must be V (mV), at most %d states",
                m->name, MAX_STATE);
  if (m->n_input < 1 || m->n_input > MAX_STATE ||
      strcmp(m->input[0].name, "I_stim"))
    return FAIL("tissue: model %s: input 0 must be I_stim (uA/cm2), at most "
                "%d inputs", m->name, MAX_STATE);
  if (m->gates && (m->gates->n < 0 || m->gates->n > m->n_state))
    return FAIL("tissue: model %s: gates: expected at most n_state", m->name);
  if (m->on_input || m->n_root > 0)
    return FAIL("tissue: model %s: input-driven memory (on_input) and state "
                "events (roots) are not supported by the tissue engine",
                m->name);
  if (c->nx < 1 || c->ny < 1 || c->nz < 1 ||
      (double)c->nx * c->ny * c->nz > 2e9)
    return FAIL("tissue: grid nx, ny, nz = %d, %d, %d: expected each >= 1",
                c->nx, c->ny, c->nz);
  if (!(c->dx_mm > 0) || !isfinite(c->dx_mm))
    return FAIL("tissue: dx_mm = %g: expected a positive spacing", c->dx_mm);
  if (!(c->dt_ms > 0) || !isfinite(c->dt_ms))
    return FAIL("tissue: dt_ms = %g: expected a positive step", c->dt_ms);
  if (!(c->D_l >= 0) || !(c->D_t >= 0) || !isfinite(c->D_l) ||
      !isfinite(c->D_t))
    return FAIL("tissue: D_l, D_t = %g, %g: expected diffusivities >= 0 "
                "mm^2/ms", c->D_l, c->D_t);
  if (c->diffusion != MT_TISSUE_EXPLICIT &&
      c->diffusion != MT_TISSUE_SEMI_IMPLICIT)
    return FAIL("tissue: diffusion = %d: expected explicit or semi-implicit",
                (int)c->diffusion);
  if (!(c->cg_tol > 0) || c->cg_max_iter < 1)
    return FAIL("tissue: cg_tol = %g, cg_max_iter = %d: expected > 0",
                c->cg_tol, c->cg_max_iter);
  if (c->threads < 0 || c->threads > 1024)
    return FAIL("tissue: threads = %d: expected 0 (OpenMP's default) to 1024",
                c->threads);
  if (!(c->apd_fraction > 0 && c->apd_fraction < 1))
    return FAIL("tissue: apd_fraction = %g: expected in (0, 1)",
                c->apd_fraction);
  return 0;
}

static int load_param(mt_tissue *t, const mt_tissue_config *c, char *err,
                      size_t errlen)
{
  const mt_model *m = t->m;
  t->n_par = 1 + (c->region ? c->n_region : 0);
  t->par_len = m->n_param + 1;
  if (!(t->param = calloc((size_t)(t->n_par * t->par_len), sizeof(double))))
    return MT_ENOMEM;
  if (c->param) {
    memcpy(t->param, c->param, (size_t)m->n_param * sizeof(double));
  } else if (m->patients && m->patients->n > 0) {
    mt_patient *pt;
    char e2[MT_ERRMSG_MAX];
    if (mt_patient_load(m, m->patients->name(0), &pt, e2, sizeof e2))
      return FAIL("tissue: model %s: %s", m->name, e2);
    memcpy(t->param, pt->param, (size_t)m->n_param * sizeof(double));
    mt_patient_free(pt);
  } else if (m->n_param > 0) {
    return FAIL("tissue: model %s ships no parameter set: param is required",
                m->name);
  }
  for (int r = 1; r < t->n_par; r++) {
    if (!c->region_param || !c->region_param[r - 1])
      return FAIL("tissue: region_param[%d]: expected the parameters of "
                  "region %d", r - 1, r);
    memcpy(t->param + r * t->par_len, c->region_param[r - 1],
           (size_t)m->n_param * sizeof(double));
  }
  for (int r = 0; r < t->n_par; r++)
    if (m->derive && m->derive(t->param + r * t->par_len) < 0)
      return FAIL("tissue: model %s: inconsistent parameters%s", m->name,
                  r ? " in a region" : "");
  if (c->region) {
    if (!(t->region = malloc((size_t)t->n)))
      return MT_ENOMEM;
    for (long i = 0; i < t->n; i++) {
      if (c->region[i] >= t->n_par)
        return FAIL("tissue: region of node %ld = %d: expected 0 to %d "
                    "(n_region)", i, c->region[i], t->n_par - 1);
      t->region[i] = c->region[i];
    }
  }
  return 0;
}

/* Parameters of node i. */
static inline const double *node_param(const mt_tissue *t, long i)
{
  return t->region ? t->param + t->region[i] * t->par_len : t->param;
}

static double *alloc_fill(long n, double v)
{
  double *a = malloc((size_t)n * sizeof(double));
  if (a)
    for (long i = 0; i < n; i++)
      a[i] = v;
  return a;
}

static int alloc_states(mt_tissue *t)
{
  const mt_model *m = t->m;
  t->mem = calloc((size_t)m->n_mem + 1, sizeof(double));
  t->u_basal = calloc((size_t)m->n_input, sizeof(double));
  t->x_rest = calloc((size_t)m->n_state, sizeof(double));
  t->is_gate = calloc((size_t)m->n_state, 1);
  t->x = calloc((size_t)m->n_state, sizeof(double *));
  if (!t->mem || !t->u_basal || !t->x_rest || !t->is_gate || !t->x)
    return MT_ENOMEM;
  if (m->init && m->init(t->param, t->x_rest, t->mem, t->u_basal) < 0)
    return MT_EINVAL;
  if (m->gates)
    for (int g = 0; g < m->gates->n; g++)
      t->is_gate[m->gates->state_index[g]] = 1;
  for (int s = 0; s < m->n_state; s++)
    if (!(t->x[s] = alloc_fill(t->n, t->x_rest[s])))
      return MT_ENOMEM;
  if (t->n_par > 1) { /* each region at its own resting state */
    double *xr = calloc((size_t)m->n_state * t->n_par, sizeof(double)),
           *mem = calloc((size_t)m->n_mem + 1, sizeof(double)),
           *ub = calloc((size_t)m->n_input, sizeof(double));
    int rc = xr && mem && ub ? 0 : MT_ENOMEM;
    for (int r = 1; r < t->n_par && !rc; r++)
      if (m->init && m->init(t->param + r * t->par_len, xr + r * m->n_state,
                             mem, ub) < 0)
        rc = MT_EINVAL;
    for (long i = 0; i < t->n && !rc; i++)
      if (t->region[i])
        for (int s = 0; s < m->n_state; s++)
          t->x[s][i] = xr[t->region[i] * m->n_state + s];
    free(xr), free(mem), free(ub);
    return rc;
  }
  return 0;
}

static int alloc_scratch(mt_tissue *t)
{
  long n = t->n;
  t->v_new = alloc_fill(n, 0), t->v_old = alloc_fill(n, 0);
  t->istim = alloc_fill(n, 0), t->act = alloc_fill(n, NAN);
  t->apd = alloc_fill(n, NAN), t->vmax = alloc_fill(n, -INFINITY);
  if (!t->v_new || !t->v_old || !t->istim || !t->act || !t->apd || !t->vmax)
    return MT_ENOMEM;
  t->n_threads = 1; /* the team size of every parallel region */
#ifdef _OPENMP
  t->n_threads = t->cfg.threads > 0 ? t->cfg.threads : omp_get_max_threads();
#endif
  if (!(t->ws = calloc((size_t)t->n_threads, t->m->ws_size + 1)))
    return MT_ENOMEM;
  if (t->cfg.diffusion != MT_TISSUE_SEMI_IMPLICIT)
    return 0;
  t->cg_r = alloc_fill(n, 0), t->cg_z = alloc_fill(n, 0);
  t->cg_p = alloc_fill(n, 0), t->cg_q = alloc_fill(n, 0);
  t->cg_diag = alloc_fill(n, 0);
  if (!t->cg_r || !t->cg_z || !t->cg_p || !t->cg_q || !t->cg_diag)
    return MT_ENOMEM;
  for (long i = 0; i < n; i++) { /* diag of M (I - dt L) */
    double s = 0;
    for (int o = 0; o < t->n_off; o++)
      s += t->coef[o][i];
    t->cg_diag[i] = t->vol[i] * (1 + t->dt * s);
  }
  return 0;
}

static int create(mt_tissue *t, const mt_tissue_config *cfg, char *err,
                  size_t errlen)
{
  int rc;
  if ((rc = load_param(t, cfg, err, errlen)))
    return rc;
  if ((rc = alloc_states(t)))
    return rc == MT_EINVAL
               ? FAIL("tissue: model %s: init failed", t->m->name) : rc;
  if (!(t->tissue = malloc((size_t)t->n)))
    return MT_ENOMEM;
  for (long i = 0; i < t->n; i++)
    t->tissue[i] = cfg->mask ? cfg->mask[i] != 0 : 1;
  if (cfg->fibre)
    for (long i = 0; i < t->n; i++) {
      double f2 = cfg->fibre[3 * i] * cfg->fibre[3 * i] +
                  cfg->fibre[3 * i + 1] * cfg->fibre[3 * i + 1] +
                  cfg->fibre[3 * i + 2] * cfg->fibre[3 * i + 2];
      if (!(f2 > 0) || !isfinite(f2))
        return FAIL("tissue: fibre of node %ld: expected a non-zero finite "
                    "vector", i);
    }
  if (cfg->d_scale)
    for (long i = 0; i < t->n; i++)
      if (!(cfg->d_scale[i] >= 0) || !isfinite(cfg->d_scale[i]))
        return FAIL("tissue: d_scale of node %ld = %g: expected a finite "
                    "factor >= 0", i, cfg->d_scale[i]);
  if ((rc = mt_tissue__assemble(t, cfg->fibre, cfg->d_scale)))
    return rc;
  if (cfg->diffusion == MT_TISSUE_EXPLICIT &&
      t->dt > t->dt_bound * (1 + 1e-12)) {
    int d = (t->nx > 1) + (t->ny > 1) + (t->nz > 1);
    double dmax = fmax(cfg->D_l, cfg->D_t);
    return FAIL("tissue: dt_ms = %g exceeds the explicit stability bound "
                "%.6g ms of dx_mm = %g with D_l = %g, D_t = %g mm^2/ms "
                "(isotropic bound dx^2/(2 d D_max) = %.6g ms, d = %d): "
                "take dt_ms <= %.6g or the semi-implicit diffusion",
                t->dt, t->dt_bound, t->dx, cfg->D_l, cfg->D_t,
                t->dx * t->dx / (2.0 * (d ? d : 1) * dmax), d, t->dt_bound);
  }
  if ((rc = alloc_scratch(t)))
    return rc;
  return mt_tissue__kernel_setup(t);
}

int mt_tissue_create(const mt_model *m, const mt_tissue_config *cfg,
                     mt_tissue **out, char *err, size_t errlen)
{
  *out = NULL;
  int rc = check_config(m, cfg, err, errlen);
  if (rc)
    return rc;
  mt_tissue *t = calloc(1, sizeof *t);
  if (!t)
    return MT_ENOMEM;
  t->m = m;
  t->cfg = *cfg;
  t->cfg.mask = NULL, t->cfg.fibre = NULL, t->cfg.param = NULL;
  t->cfg.region = NULL, t->cfg.region_param = NULL, t->cfg.d_scale = NULL;
  t->nx = cfg->nx, t->ny = cfg->ny, t->nz = cfg->nz;
  t->n = (long)cfg->nx * cfg->ny * cfg->nz;
  t->dx = cfg->dx_mm, t->dt = cfg->dt_ms;
  if ((rc = create(t, cfg, err, errlen))) {
    if (rc == MT_ENOMEM)
      snprintf(err, errlen, "tissue: out of memory for %ld nodes", t->n);
    mt_tissue_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

int mt_tissue_add_stim(mt_tissue *t, const mt_tissue_stim *s)
{
  if (!isfinite(s->start_ms) || !(s->duration_ms > 0) ||
      !isfinite(s->amplitude) || s->count < 1 ||
      (s->count > 1 && !(s->period_ms > 0))) {
    snprintf(t->err, sizeof t->err, "stimulus: start %g, duration %g, "
             "amplitude %g, period %g, count %d: expected finite times, a "
             "positive duration and, for count > 1, a positive period",
             s->start_ms, s->duration_ms, s->amplitude, s->period_ms,
             s->count);
    return MT_EINVAL;
  }
  long *node = malloc((size_t)t->n * sizeof(long)), k = 0;
  if (!node)
    return MT_ENOMEM;
  const double e = 1e-9;
  for (long i = 0; i < t->n; i++) {
    double x = (i % t->nx) * t->dx, y = ((i / t->nx) % t->ny) * t->dx,
           z = (i / ((long)t->nx * t->ny)) * t->dx;
    if (t->tissue[i] && x >= s->x0_mm - e && x <= s->x1_mm + e &&
        y >= s->y0_mm - e && y <= s->y1_mm + e && z >= s->z0_mm - e &&
        z <= s->z1_mm + e)
      node[k++] = i;
  }
  mt_tissue_stim_nodes *a =
      realloc(t->stim, (size_t)(t->n_stim + 1) * sizeof *a);
  if (!k || !a) {
    free(node);
    if (a)
      t->stim = a;
    snprintf(t->err, sizeof t->err, k ? "out of memory"
             : "stimulus: the box covers no tissue node");
    return k ? MT_ENOMEM : MT_EINVAL;
  }
  t->stim = a;
  a[t->n_stim].s = *s;
  a[t->n_stim].n = k;
  a[t->n_stim].node = node;
  t->n_stim++;
  return 0;
}

/* Whether stimulus s is on at time tm (ms). */
static int stim_on(const mt_tissue_stim *s, double tm)
{
  double k = s->count > 1 ? floor((tm - s->start_ms) / s->period_ms) : 0;
  if (k < 0 || k >= s->count)
    return 0;
  double t0 = s->start_ms + k * (s->count > 1 ? s->period_ms : 0);
  return tm >= t0 && tm < t0 + s->duration_ms;
}

/* Add the stimuli on at tm to istim (the reaction step consumes it). */
static void apply_stim(mt_tissue *t, double tm)
{
  for (int k = 0; k < t->n_stim; k++) {
    const mt_tissue_stim_nodes *s = &t->stim[k];
    if (!stim_on(&s->s, tm))
      continue;
    for (long j = 0; j < s->n; j++)
      t->istim[s->node[j]] += s->s.amplitude;
  }
}

/*
** A thread's scratch: the inputs, the model's ws, and for each gate the last
** two (tau, exp(-dt / tau)) pairs: models whose tau takes few values
** (Mitchell-Schaeffer's tau_open / tau_close) skip the exp; the result is
** the same bit for bit.
*/
typedef struct scratch {
  double u[MAX_STATE];
  double ctau[MAX_STATE][2], cexp[MAX_STATE][2];
  void *ws;
} scratch;

static double decay(const mt_tissue *t, scratch *w, int g, double tau)
{
  if (tau == w->ctau[g][0])
    return w->cexp[g][0];
  if (tau == w->ctau[g][1])
    return w->cexp[g][1];
  double e = exp(-t->dt / tau);
  w->ctau[g][1] = w->ctau[g][0], w->cexp[g][1] = w->cexp[g][0];
  w->ctau[g][0] = tau, w->cexp[g][0] = e;
  return e;
}

/* One cell's reaction step of length dt; 0 or the rhs's failure. */
static int react_node(mt_tissue *t, long i, double tn, scratch *w)
{
  const mt_model *m = t->m;
  int ns = m->n_state;
  double x[MAX_STATE], dx[MAX_STATE], inf[MAX_STATE], tau[MAX_STATE];
  for (int s = 0; s < ns; s++)
    x[s] = t->x[s][i];
  w->u[0] = t->u_basal[0] + t->istim[i];
  t->istim[i] = 0;
  const double *p = node_param(t, i);
  int rc = m->rhs(tn, x, p, w->u, t->mem, w->ws, dx);
  if (rc)
    return rc;
  for (int s = 0; s < ns; s++)
    if (!t->is_gate[s])
      t->x[s][i] = x[s] + t->dt * dx[s];
  if (m->gates) {
    m->gates->inf_tau(tn, x, p, inf, tau);
    for (int g = 0; g < m->gates->n; g++) {
      int s = m->gates->state_index[g];
      t->x[s][i] = inf[g] + (x[s] - inf[g]) * decay(t, w, g, tau[g]);
    }
  }
  return isfinite(t->x[0][i]) ? 0 : 1;
}

typedef struct fail {
  long node; /* first failing node, -1 */
  int rc;
} fail;

static void note_fail(fail *f, long i, int rc)
{
#pragma omp critical(mt_tissue_fail)
  if (f->node < 0 || i < f->node)
    f->node = i, f->rc = rc;
}

/* This thread's scratch: inputs at their basal values, the model's ws, an
** empty decay cache. */
static void thread_init(mt_tissue *t, scratch *w)
{
  int tid = 0;
#ifdef _OPENMP
  tid = omp_get_thread_num();
#endif
  for (int k = 0; k < t->m->n_input; k++)
    w->u[k] = t->u_basal[k];
  for (int g = 0; g < MAX_STATE; g++)
    w->ctau[g][0] = w->ctau[g][1] = NAN; /* never equal */
  w->ws = t->ws + (size_t)tid * (t->m->ws_size + 1);
}

/* Reaction of the tissue nodes of [b, e) by the model's fast kernel: one
** call per run of consecutive tissue nodes sharing a parameter set. */
static void react_block_kernel(mt_tissue *t, long b, long e, fail *f)
{
  long i = b;
  while (i < e) {
    if (!t->tissue[i]) {
      i++;
      continue;
    }
    int r = t->region ? t->region[i] : 0;
    long j = i + 1;
    while (j < e && t->tissue[j] && (t->region ? t->region[j] : 0) == r)
      j++;
    long bad = t->kern->react(t->x, t->istim, i, j, t->param + r * t->par_len,
                              t->ktab[r], t->dt, t->u_basal[0]);
    if (bad >= 0)
      note_fail(f, bad, 1);
    i = j;
  }
}

/* Keep V of [b, e) in v_old, then the reaction of its tissue nodes. */
static void react_block(mt_tissue *t, long b, long e, double tn, scratch *w,
                        fail *f)
{
  for (long i = b; i < e; i++)
    t->v_old[i] = t->x[0][i];
  if (t->kern) {
    react_block_kernel(t, b, e, f);
    return;
  }
  for (long i = b; i < e; i++) {
    if (!t->tissue[i])
      continue;
    int rc = react_node(t, i, tn, w);
    if (rc)
      note_fail(f, i, rc);
  }
}

/* Reaction of every tissue node (orphaned omp for, barrier at the end). */
static void react_rows(mt_tissue *t, double tn, scratch *w, fail *f)
{
#pragma omp for schedule(static)
  for (long b = 0; b < t->n; b += BLOCK)
    react_block(t, b, b + BLOCK < t->n ? b + BLOCK : t->n, tn, w, f);
}

static int react_failed(mt_tissue *t, const fail *f, double tn)
{
  long b = f->node;
  snprintf(t->err, sizeof t->err, "model %s: %s at node %ld (%ld, %ld, "
           "%ld), t = %g ms", t->m->name, f->rc < 0 ? "rhs failed"
           : "non-finite state", b, b % t->nx, (b / t->nx) % t->ny,
           b / ((long)t->nx * t->ny), tn);
  return MT_ESOLVER;
}

/* Activation and repolarisation crossings of node i between V_old at t0
** and V at t0 + dt. */
static inline void record_node(mt_tissue *t, long i, double t0, int after)
{
  const double thr = t->cfg.act_threshold_mV, dt = t->dt;
  const double v = t->x[0][i], vo = t->v_old[i];
  if (isnan(t->act[i])) {
    if (after && vo < thr && v >= thr) {
      t->act[i] = t0 + dt * (thr - vo) / (v - vo);
      t->vmax[i] = v;
    }
  } else if (isnan(t->apd[i])) {
    double rep = t->cfg.repol_threshold_mV, vr = t->x_rest[0];
    if (v > t->vmax[i])
      t->vmax[i] = v;
    double amp = t->vmax[i] - vr,
           lv = isfinite(rep) ? rep : vr + (1 - t->cfg.apd_fraction) * amp;
    if (vo > lv && v <= lv)
      t->apd[i] = t0 + dt * (vo - lv) / (vo - v) - t->act[i];
  }
}

static int after_ms(const mt_tissue *t, double t0)
{
  return t0 >= t->cfg.act_after_ms - 1e-9 * t->dt;
}

/* Add the stimuli on at tm to istim of the nodes of [b, e) (each
** stimulus's node list is increasing). */
static void stim_block(mt_tissue *t, long b, long e, double tm)
{
  for (int k = 0; k < t->n_stim; k++) {
    const mt_tissue_stim_nodes *s = &t->stim[k];
    if (!stim_on(&s->s, tm))
      continue;
    long lo = 0, hi = s->n; /* the first node >= b */
    while (lo < hi) {
      long mid = lo + (hi - lo) / 2;
      if (s->node[mid] < b)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (long j = lo; j < s->n && s->node[j] < e; j++)
      t->istim[s->node[j]] += s->s.amplitude;
  }
}

/* The diffusion update V += dt L V of [b, e) (lv = L V of the step that
** began at t0), then the recording of that step. */
static void update_block(mt_tissue *t, long b, long e, double t0)
{
  double *v = t->x[0], *lv = t->v_new, dt = t->dt;
  if (t->n_off)
    for (long i = b; i < e; i++)
      v[i] += dt * lv[i];
  int after = after_ms(t, t0);
  for (long i = b; i < e; i++)
    record_node(t, i, t0, after);
}

/*
** Explicit steps in one parallel region, two barriers a step: a loop over
** blocks of nodes doing, block by block, the diffusion update and the
** recording of the previous step, this step's stimuli and reaction; then
** the operator L V. After the last step, the last update and recording.
*/
static int steps_explicit(mt_tissue *t, long n_steps)
{
  fail f = {-1, 0};
  long done = 0, n = t->n;
  double dt = t->dt;
#pragma omp parallel MT_TISSUE_TEAM(t)
  {
    scratch w;
    thread_init(t, &w);
    long k;
    for (k = 0; k < n_steps; k++) {
      double t0 = (t->step + k) * dt, tp = (t->step + k - 1) * dt;
#pragma omp for schedule(static)
      for (long b = 0; b < n; b += BLOCK) {
        long e = b + BLOCK < n ? b + BLOCK : n;
        if (k > 0) /* the previous step's, which began at tp */
          update_block(t, b, e, tp);
        stim_block(t, b, e, t0 + 0.5 * dt);
        react_block(t, b, e, t0, &w, &f);
      }
      if (f.node >= 0) /* read by all after the barrier: the same exit */
        break;
      if (t->n_off)
        mt_tissue__apply_L_rows(t, t->x[0], t->v_new);
    }
    if (k == n_steps && k > 0) {
      double t0 = (t->step + k - 1) * dt;
#pragma omp for schedule(static)
      for (long b = 0; b < n; b += BLOCK)
        update_block(t, b, b + BLOCK < n ? b + BLOCK : n, t0);
    }
#pragma omp master
    done = k;
  }
  t->step += done;
  return f.node >= 0 ? react_failed(t, &f, t->step * dt) : 0;
}

/* Semi-implicit steps: the conjugate gradients run their own regions. */
static int steps_split(mt_tissue *t, long n_steps)
{
  for (long k = 0; k < n_steps; k++) {
    double t0 = t->step * t->dt;
    fail f = {-1, 0};
    apply_stim(t, t0 + 0.5 * t->dt);
#pragma omp parallel MT_TISSUE_TEAM(t)
    {
      scratch w;
      thread_init(t, &w);
      react_rows(t, t0, &w, &f);
    }
    if (f.node >= 0)
      return react_failed(t, &f, t0);
    int rc = mt_tissue__diffuse(t);
    if (rc)
      return rc;
    t->step++;
    int after = after_ms(t, t0);
#pragma omp parallel for schedule(static) MT_TISSUE_TEAM(t)
    for (long i = 0; i < t->n; i++)
      record_node(t, i, t0, after);
  }
  return 0;
}

int mt_tissue_step(mt_tissue *t, long n_steps)
{
  return t->cfg.diffusion == MT_TISSUE_SEMI_IMPLICIT
             ? steps_split(t, n_steps) : steps_explicit(t, n_steps);
}

int mt_tissue_run(mt_tissue *t, double t_end_ms)
{
  long target = (long)floor(t_end_ms / t->dt + 0.5);
  return target > t->step ? mt_tissue_step(t, target - t->step) : 0;
}

double mt_tissue_time(const mt_tissue *t) { return t->step * t->dt; }
long mt_tissue_nodes(const mt_tissue *t) { return t->n; }
long mt_tissue_index(const mt_tissue *t, int i, int j, int k)
{
  return i + (long)t->nx * (j + (long)t->ny * k);
}
double *mt_tissue_state(mt_tissue *t, int s)
{
  return s >= 0 && s < t->m->n_state ? t->x[s] : NULL;
}
const double *mt_tissue_volume(const mt_tissue *t) { return t->vol; }
double mt_tissue_dt_bound(const mt_tissue *t) { return t->dt_bound; }
int mt_tissue_cg_iterations(const mt_tissue *t) { return t->cg_iter; }
const double *mt_tissue_activation(const mt_tissue *t) { return t->act; }
const double *mt_tissue_apd(const mt_tissue *t) { return t->apd; }
const char *mt_tissue_errmsg(const mt_tissue *t) { return t->err; }

static void coords(const mt_tissue *t, long i, double p[3])
{
  p[0] = (double)(i % t->nx), p[1] = (double)((i / t->nx) % t->ny);
  p[2] = (double)(i / ((long)t->nx * t->ny));
}

double mt_tissue_cv(const mt_tissue *t, long a, long b, int n_samples)
{
  if (a < 0 || b < 0 || a >= t->n || b >= t->n || n_samples < 2)
    return NAN;
  double pa[3], pb[3], st = 0, sd = 0, stt = 0, std = 0;
  coords(t, a, pa), coords(t, b, pb);
  long prev = -1;
  int m = 0;
  for (int s = 0; s < n_samples; s++) {
    double f = (double)s / (n_samples - 1), q[3], d2 = 0;
    long idx[3];
    for (int r = 0; r < 3; r++)
      idx[r] = lround(pa[r] + f * (pb[r] - pa[r]));
    long i = mt_tissue_index(t, (int)idx[0], (int)idx[1], (int)idx[2]);
    if (i == prev || !isfinite(t->act[i]))
      continue;
    prev = i;
    coords(t, i, q);
    for (int r = 0; r < 3; r++)
      d2 += (q[r] - pa[r]) * (q[r] - pa[r]);
    double d = sqrt(d2) * t->dx, ta = t->act[i];
    st += ta, sd += d, stt += ta * ta, std += ta * d, m++;
  }
  if (m < 2)
    return NAN;
  double vt = stt - st * st / m, cv = (std - st * sd / m) / vt;
  return vt > 0 && cv > 0 ? cv : NAN;
}

const unsigned char *mt_tissue_mask(const mt_tissue *t) { return t->tissue; }

void mt_tissue_clear_stim(mt_tissue *t)
{
  for (int s = 0; s < t->n_stim; s++)
    free(t->stim[s].node);
  t->n_stim = 0;
}

void mt_tissue_reset_activation(mt_tissue *t, double after_ms)
{
  for (long i = 0; i < t->n; i++)
    t->act[i] = t->apd[i] = NAN, t->vmax[i] = -INFINITY;
  t->cfg.act_after_ms = after_ms;
}

long mt_tissue_count_above(const mt_tissue *t, double v_mV)
{
  long c = 0;
  const double *v = t->x[0];
  for (long i = 0; i < t->n; i++)
    c += t->tissue[i] && v[i] >= v_mV;
  return c;
}

struct mt_tissue_snap {
  const mt_model *m;
  long n, step;
  double after_ms;
  double *x; /* n_state + 3 (act, apd, vmax) arrays of n */
};

mt_tissue_snap *mt_tissue_snap_save(const mt_tissue *t)
{
  int ns = t->m->n_state;
  mt_tissue_snap *s = malloc(sizeof *s);
  double *x = malloc((size_t)(ns + 3) * (size_t)t->n * sizeof(double));
  if (!s || !x) {
    free(s), free(x);
    return NULL;
  }
  size_t row = (size_t)t->n * sizeof(double);
  for (int k = 0; k < ns; k++)
    memcpy(x + (size_t)k * t->n, t->x[k], row);
  memcpy(x + (size_t)ns * t->n, t->act, row);
  memcpy(x + (size_t)(ns + 1) * t->n, t->apd, row);
  memcpy(x + (size_t)(ns + 2) * t->n, t->vmax, row);
  s->m = t->m, s->n = t->n, s->step = t->step, s->x = x;
  s->after_ms = t->cfg.act_after_ms;
  return s;
}

int mt_tissue_snap_restore(mt_tissue *t, const mt_tissue_snap *s)
{
  if (!s || s->m != t->m || s->n != t->n)
    return MT_EINVAL;
  int ns = t->m->n_state;
  size_t row = (size_t)t->n * sizeof(double);
  for (int k = 0; k < ns; k++)
    memcpy(t->x[k], s->x + (size_t)k * t->n, row);
  memcpy(t->act, s->x + (size_t)ns * t->n, row);
  memcpy(t->apd, s->x + (size_t)(ns + 1) * t->n, row);
  memcpy(t->vmax, s->x + (size_t)(ns + 2) * t->n, row);
  t->step = s->step;
  t->cfg.act_after_ms = s->after_ms;
  return 0;
}

void mt_tissue_snap_free(mt_tissue_snap *s)
{
  if (s)
    free(s->x), free(s);
}
