/*
** The live twin: an ensemble of members (state, discrete memory, estimated
** parameters) drawn from a population prior, advanced with the batched
** integrator between readings and updated at each CGM reading by the
** ensemble transform Kalman filter (Hunt et al., Physica D 230:112, 2007) on
** the augmented vector [transformed states, log estimable parameters].
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/order.h"
#include "medtwin/cgm_noise.h"
#include "medtwin/enkf.h"
#include "medtwin/pf.h"
#include "medtwin/error.h"
#include "medtwin/faults.h"
#include "medtwin/prior.h"
#include "medtwin/rng.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "medtwin/twin.h"
#include "medtwin/twin_spec.h"
#include "twin/twin_impl.h"

/* Random stream purposes (the third key of mt_rng_init). */
enum { RNG_PRIOR = 1, RNG_FORECAST = 2, RNG_MEAL = 3, RNG_PROCESS = 4 };

/* Alert levels, observables, windows and probability thresholds come from
** the model's twin spec (src/twin/twin_spec.c). The glucose hypo
** threshold was chosen on the tuning replay (seed 2 of `medtwin twin
** evaluate`, docs/VALIDATION.md) among 0.1-0.45 as the one with a median
** lead >= 20 min and the highest sensitivity; the others are not tuned. */
static const char *const alert_name[MT_ALERT_NKIND] = {
    "hypo", "hypo_severe", "hyper", "sensor_fault", "hypotension"};
#define ALERT_STEP_MIN 5.0
#define REARM_MIN 30.0
#define MAX_HORIZON_MIN 240.0
#define NOISE_DRAWS 4 /* sensor-error draws per member in a forecast */
#define GRID_MIN 5.0  /* the grid of the members' course ahead */

void mt_twin_config_init(mt_twin_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->model = "uva_padova_t1d";
  cfg->group = "adult";
  cfg->seed = 1;
  cfg->members = 64;
  cfg->inflation = 1.01;
  cfg->r_scale = 4.0;
  cfg->sensor = "GuardianRT";
  cfg->meal_min_lo = 10;
  cfg->meal_min_hi = 20;
  cfg->meal_sd = 0.3;
  cfg->state_sd = 0.15;
  cfg->rtps = 0.9;
  cfg->late_window_min = 60;
  cfg->tol = 1e-6;
  cfg->process_sd = 0.02;
  cfg->method = MT_TWIN_ENKF;
  cfg->clock_offset_min = 0;
  cfg->detect_faults = 1;
  cfg->alerts = 1;
  cfg->pf_h = 0.3;
}

void mt_alert_episode_init(mt_alert_episode *e)
{
  e->armed = 1;
  e->clear_since = NAN;
}

int mt_alert_episode_step(mt_alert_episode *e, double t, double prob,
                          double threshold)
{
  if (!(prob >= threshold)) {
    if (isnan(e->clear_since))
      e->clear_since = t;
    if (t - e->clear_since >= REARM_MIN)
      e->armed = 1;
    return 0;
  }
  e->clear_since = NAN;
  if (!e->armed)
    return 0;
  e->armed = 0;
  return 1;
}

const char *mt_alert_kind_name(mt_alert_kind k)
{
  return k >= 0 && k < MT_ALERT_NKIND ? alert_name[k] : NULL;
}

const char *mt_twin_errmsg(const mt_twin *tw) { return tw->err; }
double mt_twin_time(const mt_twin *tw)
{
  return tw->n_reading ? tw->t_now : NAN;
}

/*
** Variance of the sensor error xi + lambda sinh((e - gamma)/delta) with e
** the stationary AR(1) state, e ~ N(0, s^2), s^2 = PACF^2 / (1 - PACF^2)
** (Breton and Kovatchev 2008): with u = a e + c, a = 1/delta,
** c = -gamma/delta, E sinh u = sinh(c) exp(a^2 s^2 / 2) and
** E sinh^2 u = (cosh(2c) exp(2 a^2 s^2) - 1) / 2.
*/
static double sensor_variance(const mt_cgm_sensor *s)
{
  double s2 = s->pacf * s->pacf / (1 - s->pacf * s->pacf);
  double a = 1 / s->delta, c = -s->gamma / s->delta;
  double m1 = sinh(c) * exp(a * a * s2 / 2);
  double m2 = (cosh(2 * c) * exp(2 * a * a * s2) - 1) / 2;
  return s->lambda * s->lambda * (m2 - m1 * m1);
}

void mt_twin_free(mt_twin *tw)
{
  if (!tw)
    return;
  for (int k = 0; k < tw->n_snap; k++)
    free(tw->snap[k].v);
  free(tw->snap);
  free(tw->log);
  free(tw->quar);
  for (int i = 0; tw->out && i < tw->N; i++)
    mt_series_clear(&tw->out[i]);
  for (int i = 0; tw->ahead && i < tw->N; i++)
    mt_series_clear(&tw->ahead[i]);
  free(tw->ahead);
  free(tw->out);
  free(tw->est);
  free(tw->P);
  free(tw->pp);
  for (int i = 0; tw->sch && i < tw->N; i++)
    mt_schedule_free(tw->sch[i]);
  free(tw->sch);
  free(tw->mark);
  mt_sim_free(tw->sim);
  mt_enkf_free(tw->kf);
  mt_pf_free(tw->pf);
  free(tw);
}

static int alloc_members(mt_twin *tw)
{
  size_t N = (size_t)tw->N;
  tw->P = calloc(N * (tw->np + tw->ns + tw->nm + 1 + tw->n) + tw->ns,
                 sizeof *tw->P);
  tw->pp = calloc(4 * N, sizeof *tw->pp);
  tw->out = calloc(N, sizeof *tw->out);
  tw->ahead = calloc(N, sizeof *tw->ahead);
  tw->est = calloc((size_t)tw->ne + 1, sizeof *tw->est);
  if (!tw->P || !tw->pp || !tw->out || !tw->ahead || !tw->est)
    return MT_ENOMEM;
  tw->X = tw->P + N * tw->np;
  tw->MEM = tw->X + N * tw->ns;
  tw->Y = tw->MEM + N * tw->nm;
  tw->Z = tw->Y + N;
  tw->eps = tw->Z + N * tw->n;
  tw->xp = tw->pp + N;
  tw->mp = tw->xp + N;
  tw->sp = (const mt_schedule **)(tw->mp + N);
  for (size_t i = 0; i < N; i++) {
    tw->pp[i] = tw->P + i * tw->np;
    tw->xp[i] = tw->X + i * tw->ns;
    tw->mp[i] = tw->MEM + i * tw->nm;
    if (mt_series_alloc(&tw->out[i], tw->m, 1) ||
        mt_series_alloc(&tw->ahead[i], tw->m, AHEAD_MAX))
      return MT_ENOMEM;
  }
  return 0;
}

/* Member i from the prior: parameters by rejection, then the model's
** steady state for them. */
static int draw_member(mt_twin *tw, const mt_prior *pr, int i)
{
  double z[64], u[16];
  mt_rng r;
  mt_rng_init(&r, tw->cfg.seed, (uint64_t)i, RNG_PRIOR, 0);
  double *p = tw->P + (size_t)i * tw->np;
  int rc = MT_ERANGE;
  for (int tries = 0; tries < 1000 && rc == MT_ERANGE; tries++) {
    for (int k = 0; k < tw->ne; k++)
      z[k] = mt_rng_normal(&r);
    rc = mt_prior_sample(pr, z, NULL, p);
  }
  double *x = tw->X + (size_t)i * tw->ns;
  if (rc || tw->m->init(p, x, tw->MEM + (size_t)i * tw->nm, u) < 0)
    return rc ? rc : MT_ERANGE;
  /* the patient's state is not known at the start: non-negative states
  ** spread log-normally around the prior member's steady state */
  for (int j = 0; j < tw->ns; j++)
    if (tw->m->state[j].flags & MT_VAR_NONNEG)
      x[j] *= exp(tw->cfg.state_sd * mt_rng_normal(&r));
  return 0;
}

static int setup(mt_twin *tw, char *err, size_t errlen)
{
  const mt_model *m = tw->m;
  mt_prior *pr;
  int rc = mt_prior_fit(m, tw->cfg.group, tw->cfg.exclude, &pr, err, errlen);
  if (rc)
    return rc;
  tw->ns = m->n_state, tw->np = m->n_param, tw->nm = m->n_mem;
  tw->ne = mt_prior_n(pr);
  tw->n = tw->ns + tw->ne;
  if (tw->ne > 64 || m->n_input > 16 || m->n_obs > 64 || !m->init)
    rc = MT_EINVAL;
  if (!rc)
    rc = alloc_members(tw);
  for (int k = 0; !rc && k < tw->ne; k++)
    tw->est[k] = mt_prior_param(pr, k);
  for (int i = 0; !rc && i < tw->N; i++)
    rc = draw_member(tw, pr, i);
  mt_prior_free(pr);
  if (rc)
    snprintf(err, errlen, "twin: cannot draw %d members from the %s prior: "
             "%s", tw->N, tw->cfg.group, mt_strerror(rc));
  /* the margin of the states' logit transform: 1e-9 of the range */
  for (int j = 0; !rc && j < tw->ns; j++)
    tw->eps[j] = 1e-9 * (m->state[j].hi - m->state[j].lo);
  return rc;
}

static int snapshot_push(mt_twin *tw);

int mt_twin_create(const mt_twin_config *cfg, mt_twin **out, char *err,
                   size_t errlen)
{
  *out = NULL;
  const mt_model *m = mt_model_find(cfg->model);
  const mt_twin_spec *spec = mt_twin_spec_find(cfg->model);
  if (m && !spec) {
    snprintf(err, errlen, "twin: model '%s' has no twin spec (the twin "
             "serves uva_padova_t1d and circulation_beatavg)", cfg->model);
    return MT_EINVAL;
  }
  if (m && strcmp(m->time_unit, "min")) {
    snprintf(err, errlen, "twin: model '%s' runs in '%s': the twin needs a "
             "model in minutes", cfg->model, m->time_unit);
    return MT_EINVAL;
  }
  mt_cgm_sensor sensor;
  int src = mt_cgm_sensor_load(cfg->sensor, &sensor);
  if (src == MT_ENOMEM) { /* not the configuration's fault */
    snprintf(err, errlen, "twin: out of memory");
    return MT_ENOMEM;
  }
  if (!m || src || cfg->members < 4 ||
      cfg->members > 4096 || !(cfg->inflation >= 1) || !(cfg->r_scale > 0) ||
      !(cfg->meal_min_lo >= 1) || !(cfg->meal_min_hi >= cfg->meal_min_lo) ||
      !(cfg->meal_sd >= 0) || !(cfg->state_sd >= 0) ||
      !(cfg->rtps >= 0 && cfg->rtps <= 1) || !(cfg->late_window_min >= 0) ||
      !(cfg->tol > 0 && cfg->tol < 1) || !(cfg->process_sd >= 0) ||
      (cfg->method != MT_TWIN_ENKF && cfg->method != MT_TWIN_PF) ||
      !(cfg->pf_h >= 0 && cfg->pf_h <= 2)) {
    snprintf(err, errlen, "twin: invalid configuration (model '%s', sensor "
             "'%s', %d members)", cfg->model, cfg->sensor, cfg->members);
    return MT_EINVAL;
  }
  mt_twin *tw = calloc(1, sizeof *tw);
  if (!tw)
    return MT_ENOMEM;
  tw->cfg = *cfg, tw->m = m, tw->N = cfg->members, tw->spec = spec;
  int missing = 0;
  const char *what = NULL;
  tw->cgm = tw->ins = -1;
  for (int k = 0; k < spec->n_obs; k++) {
    tw->obs_ix[k] = mt_var_index(m->obs, m->n_obs, spec->obs[k].obs);
    if (tw->obs_ix[k] < 0 && !what)
      what = spec->obs[k].obs;
    if (spec->obs[k].cgm)
      tw->cgm = tw->obs_ix[k];
  }
  for (int k = 0; k < spec->n_input; k++) {
    tw->in_ix[k] = mt_var_index(m->input, m->n_input, spec->input[k].input);
    if (tw->in_ix[k] < 0 && !what)
      what = spec->input[k].input;
    if (spec->input[k].kind == MT_DATA_BASAL)
      tw->ins = tw->in_ix[k];
  }
  for (int k = 0; k < spec->n_alert; k++) {
    tw->alert_ix[k] = mt_var_index(m->obs, m->n_obs, spec->alert[k].obs);
    if (tw->alert_ix[k] < 0 && !what)
      what = spec->alert[k].obs;
  }
  tw->primary = mt_var_index(m->obs, m->n_obs, spec->primary);
  if (tw->primary < 0 && !what)
    what = spec->primary;
  missing = what != NULL;
  tw->sensor_sd = sqrt(sensor_variance(&sensor));
  tw->sensor = sensor;
  tw->e_sd = sqrt(sensor.pacf * sensor.pacf / (1 - sensor.pacf * sensor.pacf));
  tw->r = cfg->r_scale * tw->sensor_sd * tw->sensor_sd;
  for (int k = 0; k < MT_ALERT_NKIND; k++)
    mt_alert_episode_init(&tw->episode[k]);
  for (int k = 0; k < MT_SPEC_MAX; k++)
    tw->offset[k] = tw->t_base[k] = NAN;
  mt_fault_init(&tw->fd, NULL);
  int rc = missing ? MT_EINVAL : 0;
  if (rc)
    snprintf(err, errlen, "twin: model %s lacks '%s', named by its twin "
             "spec", m->name, what);
  if (!rc)
    rc = setup(tw, err, errlen);
  if (!rc && (!(tw->sch = calloc((size_t)tw->N, sizeof *tw->sch)) ||
              !(tw->mark = calloc((size_t)tw->N, sizeof *tw->mark))))
    rc = MT_ENOMEM;
  for (int i = 0; !rc && i < tw->N; i++)
    rc = mt_schedule_create(m->n_input, &tw->sch[i]);
  mt_sim_config sc;
  mt_sim_config_init(&sc);
  sc.rtol = sc.atol = cfg->tol;
  if (!rc && ((rc = mt_sim_create(m, &sc, &tw->sim)) ||
              (rc = mt_enkf_create(tw->n, 1, tw->N, &tw->kf)) ||
              (cfg->method == MT_TWIN_PF &&
               ((rc = mt_pf_create(tw->n, 1, tw->N, &tw->pf)) ||
                (rc = mt_pf_set_threshold(tw->pf, 1.0))))))
    snprintf(err, errlen, "twin: %s", mt_strerror(rc));
  if (rc) {
    mt_twin_free(tw);
    return rc;
  }
  for (int i = 0; i < tw->N; i++)
    tw->sp[i] = tw->sch[i];
  if ((rc = snapshot_push(tw))) { /* the start, for data late from it */
    mt_twin_free(tw);
    return rc;
  }
  *out = tw;
  return 0;
}

static int usable(const mt_twin *tw, int i, const double *x, const double *q,
                  int check_init);

/* Every member from t_now to t under the inputs received so far; each
** continues from its own state and memory (bit-identical to running it
** alone, mt_sim_run_many_from). */
static int advance(mt_twin *tw, double t)
{
  if (!(t > tw->t_now))
    return 0;
  int failed;
  for (int i = 0; i < tw->N; i++)
    tw->out[i].t[0] = t;
  int rc = mt_sim_run_many_from(tw->sim, tw->N, tw->pp, tw->xp, tw->mp,
                                tw->sp, tw->t_now, t, tw->out, &failed);
  if (rc) {
    snprintf(tw->err, sizeof tw->err, "twin: member %d: %s", failed,
             mt_sim_errmsg(tw->sim));
    return rc;
  }
  for (int i = 0; i < tw->N; i++) {
    memcpy(tw->X + (size_t)i * tw->ns, tw->out[i].x_end,
           (size_t)tw->ns * sizeof *tw->X);
    memcpy(tw->MEM + (size_t)i * tw->nm, tw->out[i].mem_end,
           (size_t)tw->nm * sizeof *tw->MEM);
  }
  if (tw->cfg.process_sd > 0) {
    /* model error: each non-negative state of each member takes a
    ** log-normal factor, SD process_sd per sqrt(5 min) in log; a member
    ** the factors would leave where the model is undefined keeps its
    ** state (usable) */
    double sd = tw->cfg.process_sd * sqrt((t - tw->t_now) / 5.0), xo[256];
    tw->t_now = t;
    for (int i = 0; i < tw->N; i++) {
      mt_rng r;
      mt_rng_init(&r, tw->cfg.seed, (uint64_t)i, RNG_PROCESS,
                  (uint64_t)tw->n_reading);
      double *x = tw->X + (size_t)i * tw->ns;
      int keep = tw->ns <= 256;
      if (keep)
        memcpy(xo, x, (size_t)tw->ns * sizeof *x);
      for (int j = 0; j < tw->ns; j++)
        if (tw->m->state[j].flags & MT_VAR_NONNEG)
          x[j] *= exp(sd * mt_rng_normal(&r));
      if (keep && !usable(tw, i, x, tw->P + (size_t)i * tw->np, 0))
        memcpy(x, xo, (size_t)tw->ns * sizeof *x);
    }
  }
  tw->t_now = t;
  return 0;
}

static double member_obs(const mt_twin *tw, int i, const double *x, int obs)
{
  double y[64];
  tw->m->observe(tw->t_now, x, tw->P + (size_t)i * tw->np,
                 tw->MEM + (size_t)i * tw->nm, y);
  return y[obs];
}

/* The spec's reading of a kind (its index), or -1: not a reading. */
static int reading_of(const mt_twin *tw, mt_stream_kind kind)
{
  for (int k = 0; k < tw->spec->n_obs; k++)
    if (tw->spec->obs[k].kind == kind)
      return k;
  return -1;
}

/* The observation variance of a reading of spec entry k: the CGM path's
** from the sensor model, a generic reading's (sd_abs + sd_rel |value|)^2;
** both times cfg.r_scale. */
static double obs_variance(const mt_twin *tw, int k, double value)
{
  const mt_twin_spec_obs *o = &tw->spec->obs[k];
  if (o->cgm)
    return tw->r;
  double sd = o->sd_abs + o->sd_rel * fabs(value);
  return tw->cfg.r_scale * sd * sd;
}

/*
** Member i into the filter's vector. A state enters as the logit of its
** place in its declared range [lo, hi] widened by eps on both sides, so an
** update can never carry it outside (transformed, not clipped; a state
** already outside is first brought to the edge); parameters enter as log p.
*/
static void to_filter(const mt_twin *tw, int i, double *z)
{
  const double *x = tw->X + (size_t)i * tw->ns, *p = tw->P + (size_t)i * tw->np;
  for (int j = 0; j < tw->ns; j++) {
    const mt_var *v = &tw->m->state[j];
    double e = tw->eps[j], w = v->hi - v->lo + 2 * e;
    double f = (fmin(fmax(x[j], v->lo), v->hi) - v->lo + e) / w;
    z[j] = log(f / (1 - f));
  }
  for (int k = 0; k < tw->ne; k++)
    z[tw->ns + k] = log(p[tw->est[k]]);
}

/* Whether the model is defined for member i at (x, q): init() finds a
** state for q and the observables at x are finite. A filter update can move
** a member where a model has no solution (a circulation without a steady
** state); such an update is not taken. */
static int usable(const mt_twin *tw, int i, const double *x, const double *q,
                  int check_init)
{
  const mt_model *m = tw->m;
  double x0[256], mem[256], ub[16], y[64];
  if (tw->ns > 256 || tw->nm > 256 || m->n_input > 16 || m->n_obs > 64)
    return 1; /* beyond the scratch: trust the model */
  if (check_init && m->init && m->init(q, x0, mem, ub) < 0)
    return 0;
  m->observe(tw->t_now, x, q, tw->MEM + (size_t)i * tw->nm, y);
  for (int k = 0; k < m->n_obs; k++)
    if (!isfinite(y[k]))
      return 0;
  return 1;
}

/* And back; parameters that derive() or the bounds reject keep their
** previous values (the member's states are still updated); an update that
** leaves the model undefined (usable) is taken for the states alone, or not
** at all. */
static void from_filter(mt_twin *tw, int i, const double *z)
{
  double *x = tw->X + (size_t)i * tw->ns, *p = tw->P + (size_t)i * tw->np;
  double q[256], xo[256];
  memcpy(xo, x, (size_t)(tw->ns < 256 ? tw->ns : 256) * sizeof *xo);
  for (int j = 0; j < tw->ns; j++) {
    const mt_var *v = &tw->m->state[j];
    double e = tw->eps[j], w = v->hi - v->lo + 2 * e;
    x[j] = v->lo - e + w / (1 + exp(-z[j]));
  }
  memcpy(q, p, (size_t)tw->np * sizeof *q);
  for (int k = 0; k < tw->ne; k++)
    q[tw->est[k]] = exp(z[tw->ns + k]);
  int ok = !(tw->m->derive && tw->m->derive(q) < 0);
  for (int k = 0; ok && k < tw->np; k++)
    if (!(q[k] >= tw->m->param[k].lo && q[k] <= tw->m->param[k].hi))
      ok = 0;
  if (ok && usable(tw, i, x, q, 1)) {
    memcpy(p, q, (size_t)tw->np * sizeof *q);
    return;
  }
  if (!usable(tw, i, x, p, 0) && tw->ns <= 256)
    memcpy(x, xo, (size_t)tw->ns * sizeof *x); /* the member as it was */
}

/* Standard deviation of every component of Z (N x n) into sd. */
static void spread(const mt_twin *tw, double *sd)
{
  for (int j = 0; j < tw->n; j++) {
    double m = 0, v = 0;
    for (int i = 0; i < tw->N; i++)
      m += tw->Z[(size_t)i * tw->n + j];
    m /= tw->N;
    for (int i = 0; i < tw->N; i++) {
      double d = tw->Z[(size_t)i * tw->n + j] - m;
      v += d * d;
    }
    sd[j] = sqrt(v / (tw->N - 1));
  }
}

/*
** Relaxation to prior spread (Whitaker and Hamill, Mon. Wea. Rev.
** 140:3078, 2012): each component's analysis anomalies are scaled so that
** its spread is alpha * prior + (1 - alpha) * analysis spread. Unlike
** multiplicative inflation it never grows a direction the data do not see.
*/
static void relax_spread(mt_twin *tw, const double *sb, double alpha)
{
  double sa[128];
  spread(tw, sa);
  for (int j = 0; j < tw->n; j++) {
    if (!(sa[j] > 0))
      continue;
    double m = 0, f = 1 + alpha * (sb[j] - sa[j]) / sa[j];
    for (int i = 0; i < tw->N; i++)
      m += tw->Z[(size_t)i * tw->n + j];
    m /= tw->N;
    for (int i = 0; i < tw->N; i++) {
      double *z = &tw->Z[(size_t)i * tw->n + j];
      *z = m + f * (*z - m);
    }
  }
}

static int assimilate(mt_twin *tw, int ko, double reading)
{
  double sb[128], r = obs_variance(tw, ko, reading);
  for (int i = 0; i < tw->N; i++) {
    tw->Y[i] = member_obs(tw, i, tw->X + (size_t)i * tw->ns, tw->obs_ix[ko]);
    to_filter(tw, i, tw->Z + (size_t)i * tw->n);
  }
  int rc;
  if (tw->pf) {
    /* resampled to equal weights at every reading (threshold 1), so the
    ** forecasts' quantiles stay unweighted; regularised by pf_h */
    rc = mt_pf_update(tw->pf, tw->Z, tw->Y, &reading, &r, MT_ENKF_R_DIAG,
                      tw->cfg.seed, (uint64_t)tw->n_reading, tw->cfg.pf_h,
                      &tw->ess);
    if (rc) {
      snprintf(tw->err, sizeof tw->err, "twin: %s", mt_pf_errmsg(tw->pf));
      return rc;
    }
    mt_pf_reset_weights(tw->pf);
    tw->ess_sum += tw->ess;
    tw->n_analysis++;
  } else {
    spread(tw, sb);
    rc = mt_enkf_etkf(tw->kf, tw->Z, tw->Y, &reading, &r, MT_ENKF_R_DIAG,
                      tw->cfg.inflation);
    if (rc) {
      snprintf(tw->err, sizeof tw->err, "twin: %s", mt_enkf_errmsg(tw->kf));
      return rc;
    }
    relax_spread(tw, sb, tw->cfg.rtps);
  }
  for (int i = 0; i < tw->N; i++)
    from_filter(tw, i, tw->Z + (size_t)i * tw->n);
  return 0;
}

/* Inputs from a datum, on the model's inputs as the spec says: an
** announced meal is eaten as below, a pulse over its duration, a level
** holds from t on. */
static int add_input1(mt_twin *tw, int i, const mt_datum *d)
{
  double t = d->t_min, v = d->value;
  int k = 0;
  while (k < tw->spec->n_input && tw->spec->input[k].kind != d->kind)
    k++;
  if (k == tw->spec->n_input)
    return MT_EINVAL;
  const mt_twin_spec_input *in = &tw->spec->input[k];
  int u = tw->in_ix[k];
  switch (in->how) {
  case MT_SPEC_MEAL: {
    /* announced carbohydrate is a count, not a measurement, and nobody
    ** says how long eating takes: each member eats its own log-normal
    ** multiple of the count (SD meal_sd in log) over its own whole number
    ** of minutes, uniform in [meal_min_lo, meal_min_hi] */
    mt_rng r;
    mt_rng_init(&r, tw->cfg.seed, (uint64_t)i, RNG_MEAL,
                (uint64_t)llround(t * 60)); /* keyed by the meal's time */
    v *= exp(tw->cfg.meal_sd * mt_rng_normal(&r));
    const mt_twin_config *c = &tw->cfg;
    double dur = round(c->meal_min_lo +
                       (c->meal_min_hi - c->meal_min_lo) * mt_rng_uniform(&r));
    return mt_schedule_pulse(tw->sch[i], u, t, t + dur, v / dur,
                             MT_PULSE_BITES);
  }
  case MT_SPEC_PULSE: /* amount v * scale over dur_min */
    return mt_schedule_pulse(tw->sch[i], u, t, t + in->dur_min,
                             v * in->scale / in->dur_min, 0);
  case MT_SPEC_LEVEL:
    return mt_schedule_level(tw->sch[i], u, t, v * in->scale / in->div);
  default:
    return MT_EINVAL;
  }
}

static int add_input(mt_twin *tw, const mt_datum *d)
{
  int rc = 0;
  for (int i = 0; !rc && i < tw->N; i++)
    rc = add_input1(tw, i, d);
  return rc;
}

static void update_alerts(mt_twin *tw);
static int run_ahead(mt_twin *tw, const double *ts, int nt, int obs,
                     double *y, int aside);

/* Every member's noise-free CGM at time t (after t_now) into y. */
static int run_ahead_at(mt_twin *tw, double t, double *y)
{
  return run_ahead(tw, &t, 1, tw->cgm, y, 0);
}

/* Keep the ensemble as it is now; drop the snapshots a late datum can no
** longer reach (all but the newest older than the window). */
static int snapshot_push(mt_twin *tw)
{
  size_t nd = mt_twin_member_doubles(tw);
  int keep = 0;
  for (int k = tw->n_snap - 1; k >= 0; k--)
    if (tw->snap[k].t < tw->t_now - tw->cfg.late_window_min) {
      keep = k;
      break;
    }
  for (int k = 0; k < keep; k++)
    free(tw->snap[k].v);
  if (keep) {
    memmove(tw->snap, tw->snap + keep,
            (size_t)(tw->n_snap - keep) * sizeof *tw->snap);
    tw->n_snap -= keep;
  }
  if (tw->n_snap == tw->cap_snap) {
    int cap = tw->cap_snap ? 2 * tw->cap_snap : 16;
    struct snapshot *sn = realloc(tw->snap, (size_t)cap * sizeof *sn);
    if (!sn)
      return MT_ENOMEM;
    tw->snap = sn, tw->cap_snap = cap;
  }
  struct snapshot *sn = &tw->snap[tw->n_snap];
  if (!(sn->v = malloc(nd * sizeof *sn->v)))
    return MT_ENOMEM;
  memcpy(sn->v, tw->P, nd * sizeof *sn->v); /* P, X, MEM are contiguous */
  sn->t = tw->n_reading ? tw->t_now : -INFINITY;
  sn->n_reading = tw->n_reading;
  tw->n_snap++;
  return 0;
}

/* Whether the log already holds this datum (same time, kind and value). */
static int logged(const mt_twin *tw, const mt_datum *d)
{
  for (long k = tw->n_log - 1; k >= 0 && tw->log[k].d.t_min >= d->t_min; k--)
    if (tw->log[k].d.t_min == d->t_min && tw->log[k].d.kind == d->kind &&
        tw->log[k].d.value == d->value)
      return 1;
  return 0;
}

/* Whether the log holds a datum of this kind at this time (already at its
** place: called before the datum is logged). */
static int logged_kind(const mt_twin *tw, const mt_datum *d)
{
  for (long k = tw->n_log - 1; k >= 0 && tw->log[k].d.t_min >= d->t_min; k--)
    if (tw->log[k].d.t_min == d->t_min && tw->log[k].d.kind == d->kind)
      return 1;
  return 0;
}

/* Into the log by time, after the data of equal time. */
static long log_insert(mt_twin *tw, const mt_datum *d)
{
  if (tw->n_log == tw->cap_log) {
    long cap = tw->cap_log ? 2 * tw->cap_log : 1024;
    struct entry *l = realloc(tw->log, (size_t)cap * sizeof *l);
    if (!l)
      return MT_ENOMEM;
    tw->log = l, tw->cap_log = cap;
  }
  long k = tw->n_log;
  while (k > 0 && tw->log[k - 1].d.t_min > d->t_min)
    k--;
  memmove(tw->log + k + 1, tw->log + k,
          (size_t)(tw->n_log - k) * sizeof *tw->log);
  tw->log[k] = (struct entry){*d, MT_FAULT_NONE};
  tw->n_log++;
  return k;
}

/* One reading of spec entry ko: members to its time, the analysis (not for
** a reading the sensor-fault detector refused), a snapshot. */
static int take_reading(mt_twin *tw, int ko, double t, double value, int use)
{
  int rc = advance(tw, t);
  if (!rc && tw->spec->obs[ko].relative) {
    /* the baseline (the first reading in arrival order, at its time when
    ** taken again) sets the offset and is not assimilated */
    if (isnan(tw->offset[ko])) {
      double m = 0;
      for (int i = 0; i < tw->N; i++)
        m += member_obs(tw, i, tw->X + (size_t)i * tw->ns, tw->obs_ix[ko]);
      tw->offset[ko] = value - m / tw->N;
      tw->t_base[ko] = t;
    }
    if (t == tw->t_base[ko])
      use = 0;
    value -= tw->offset[ko];
  }
  if (!rc && use && !tw->cfg.open_loop)
    rc = assimilate(tw, ko, value);
  if (!rc) {
    tw->n_reading++;
    rc = snapshot_push(tw);
  }
  return rc;
}

/*
** A datum stamped before the twin's time (within the window): back to the
** newest snapshot before it and every logged reading after that taken again
** in time order. The inputs are already in the members' schedules, where
** they act at their own times. Alerts are not raised for past readings.
*/
static int reassimilate(mt_twin *tw, double t)
{
  int k = tw->n_snap - 1;
  while (k > 0 && !(tw->snap[k].t < t))
    k--;
  struct snapshot *sn = &tw->snap[k];
  memcpy(tw->P, sn->v, mt_twin_member_doubles(tw) * sizeof *tw->P);
  tw->t_now = isfinite(sn->t) ? sn->t : 0;
  tw->n_reading = sn->n_reading;
  for (int j = k + 1; j < tw->n_snap; j++)
    free(tw->snap[j].v);
  tw->n_snap = k + 1;
  int rc = 0;
  for (long j = 0; !rc && j < tw->n_log; j++) {
    int ko = reading_of(tw, tw->log[j].d.kind);
    if (ko >= 0 && tw->log[j].d.t_min > sn->t)
      rc = take_reading(tw, ko, tw->log[j].d.t_min, tw->log[j].d.value,
                        tw->log[j].fault == MT_FAULT_NONE);
  }
  return rc;
}

const char *const mt_twin_reason_fault[MT_FAULT_NKIND] = {
    NULL, "sensor fault: flat line", "sensor fault: implausible jump",
    "sensor fault: compression low", "sensor fault: gap"};
const char mt_twin_reason_late[] =
    "late: older than the re-assimilation window";
const char mt_twin_reason_duplicate[] = "duplicate";
const char mt_twin_reason_unused[] = "a kind this model's twin does not read";

/* A sensor-fault alert, for a gap or the start of a fault episode:
** probability 1, predicted_t_min the time the fault began. */
static void fault_alert(mt_twin *tw, double t, double since)
{
  mt_twin_alert *a = &tw->alert[tw->n_alert++];
  a->kind = MT_ALERT_SENSOR_FAULT;
  a->t_min = t;
  a->probability = 1;
  a->predicted_t_min = since;
}

/*
** The sensor-fault detector's verdict on a reading in time order, given the
** members' prediction of it (noise-free CGM at its time plus the sensor's
** error): a gap before it, or the start of a fault episode, raises a
** sensor_fault alert.
*/
static int judge(mt_twin *tw, const mt_datum *d, mt_fault_kind *verdict)
{
  double t_last = tw->fd.t_last;
  if (tw->cfg.detect_faults && tw->fd.n_read &&
      mt_fault_gap(&tw->fd, d->t_min))
    fault_alert(tw, d->t_min, t_last);
  double pred = NAN, sd = NAN;
  if (tw->n_reading && tw->cfg.detect_faults) {
    double ts = d->t_min, *y = malloc((size_t)tw->N * sizeof *y);
    if (!y)
      return MT_ENOMEM;
    int rc = d->t_min > tw->t_now ? run_ahead_at(tw, ts, y) : MT_EINVAL;
    if (!rc) {
      double m = 0, v = 0;
      for (int i = 0; i < tw->N; i++)
        m += y[i];
      m /= tw->N;
      for (int i = 0; i < tw->N; i++)
        v += (y[i] - m) * (y[i] - m);
      pred = m;
      sd = sqrt(v / (tw->N - 1) + tw->sensor_sd * tw->sensor_sd);
    }
    free(y);
  }
  *verdict = tw->cfg.detect_faults
                 ? mt_fault_check(&tw->fd, d->t_min, d->value, pred, sd,
                                  tw->cfg.clock_offset_min)
                 : MT_FAULT_NONE;
  if (*verdict != MT_FAULT_NONE && *verdict != tw->fault_ep)
    fault_alert(tw, d->t_min, d->t_min);
  tw->fault_ep = *verdict;
  return 0;
}

/* Into the quarantine log, with the reason (a static string). */
static int quarantine(mt_twin *tw, const mt_datum *d, const char *reason)
{
  if (tw->n_quar == tw->cap_quar) {
    long cap = tw->cap_quar ? 2 * tw->cap_quar : 64;
    mt_twin_quarantined *q = realloc(tw->quar, (size_t)cap * sizeof *q);
    if (!q)
      return MT_ENOMEM;
    tw->quar = q, tw->cap_quar = cap;
  }
  tw->quar[tw->n_quar++] = (mt_twin_quarantined){*d, reason};
  return 0;
}

int mt_twin_ingest(mt_twin *tw, const mt_datum *d, const char **reason)
{
  *reason = mt_datum_check(d);
  tw->n_alert = 0;
  if (!*reason && tw->n_reading &&
      d->t_min < tw->t_now - tw->cfg.late_window_min)
    *reason = mt_twin_reason_late;
  if (!*reason && logged(tw, d))
    *reason = mt_twin_reason_duplicate;
  if (*reason) {
    int rc = quarantine(tw, d, *reason);
    return rc ? rc : 1;
  }
  int ko = reading_of(tw, d->kind);
  if (ko < 0 && !mt_twin_spec_input_of(tw->spec, d->kind)) {
    /* a kind this model's twin does not read */
    *reason = mt_twin_reason_unused;
    int rc = quarantine(tw, d, *reason);
    return rc ? rc : 1;
  }
  /* late: before the last reading, or a reading at its time of a kind
  ** already read then (readings of other kinds at the same time, as a
  ** cuff's MAP, SBP and DBP, are taken in order) */
  int late = tw->n_reading && (d->t_min < tw->t_now ||
                               (ko >= 0 && d->t_min == tw->t_now &&
                                logged_kind(tw, d)));
  /* new inputs change the course ahead; a reading in time order is first
  ** judged against it (the members have not changed since it was run) */
  if (ko < 0 || late)
    tw->ahead_ok = 0;
  long at = log_insert(tw, d);
  int rc = at < 0 ? (int)at : 0, fault = 0;
  if (!rc && ko < 0)
    rc = add_input(tw, d);
  if (!rc && late) /* a late reading is not judged: the sensor's sequence
                   ** has moved on */
    rc = reassimilate(tw, d->t_min);
  else if (!rc && ko >= 0) {
    if (tw->spec->obs[ko].cgm)
      rc = judge(tw, d, &tw->log[at].fault);
    tw->ahead_ok = 0;
    fault = tw->log[at].fault != MT_FAULT_NONE;
    if (!rc)
      rc = take_reading(tw, ko, d->t_min, d->value, !fault);
    if (fault) {
      *reason = mt_twin_reason_fault[tw->log[at].fault];
      rc = quarantine(tw, d, *reason);
    }
  }
  if (!rc && ko >= 0 && tw->cfg.alerts)
    update_alerts(tw);
  return rc ? rc : fault ? 2 : 0;
}

/* Every member from t_now over the sample times ts[0..nt) (ascending,
** after t_now), without changing the members; noise-free CGM of member i at
** sample k into cgm[i * nt + k]. */
static int run_to(mt_twin *tw, const double *ts, int nt)
{
  int failed;
  for (int i = 0; i < tw->N; i++) {
    tw->ahead[i].n = nt;
    memcpy(tw->ahead[i].t, ts, (size_t)nt * sizeof *ts);
  }
  int rc = mt_sim_run_many_from(tw->sim, tw->N, tw->pp, tw->xp, tw->mp,
                                tw->sp, tw->t_now, ts[nt - 1], tw->ahead,
                                &failed);
  if (rc)
    snprintf(tw->err, sizeof tw->err, "twin: forecast: member %d: %s", failed,
             mt_sim_errmsg(tw->sim));
  return rc;
}

/*
** The members' course ahead of t_now on the 5-min grid, up to nt samples,
** kept until the ensemble changes: the alerts' 30 min and the forecasts'
** horizons come from one run. A run reaches the longest horizon the last
** forecast asked for, so the usual pattern (a reading, its alerts, a
** forecast at the same horizons as before) integrates once.
*/
static int ensure_ahead(mt_twin *tw, int nt)
{
  if (tw->ahead_ok && tw->ahead_nt >= nt)
    return 0;
  if (nt < tw->want_nt)
    nt = tw->want_nt;
  double ts[AHEAD_MAX];
  for (int k = 0; k < nt; k++)
    ts[k] = tw->t_now + GRID_MIN * (k + 1);
  int rc = run_to(tw, ts, nt);
  tw->ahead_ok = !rc, tw->ahead_nt = rc ? 0 : nt;
  return rc;
}

/* Every member from t_now at the sample times ts[0..nt) (ascending, after
** t_now, at most AHEAD_MAX), without changing the members; observable obs
** of member i at sample k into y[i * nt + k]. */
static int run_ahead(mt_twin *tw, const double *ts, int nt, int obs,
                     double *y, int aside)
{
  int on_grid = !aside, rc;
  for (int k = 0; k < nt; k++) {
    double g = (ts[k] - tw->t_now) / GRID_MIN;
    on_grid &= g == round(g) && g >= 1 && g <= AHEAD_MAX;
  }
  int last = on_grid ? (int)round((ts[nt - 1] - tw->t_now) / GRID_MIN) : 0;
  if (on_grid) {
    if (last > tw->want_nt)
      tw->want_nt = last;
    rc = ensure_ahead(tw, last);
  } else {
    tw->ahead_ok = 0; /* the buffers now hold this run */
    rc = run_to(tw, ts, nt);
  }
  for (int i = 0; !rc && i < tw->N; i++)
    for (int k = 0; k < nt; k++) {
      int row = on_grid ? (int)round((ts[k] - tw->t_now) / GRID_MIN) - 1 : k;
      y[(size_t)i * nt + k] = tw->ahead[i].y[(size_t)row * tw->m->n_obs + obs];
    }
  return rc;
}

/*
** Prediction quantile of sorted samples v[0..n) (Hyndman and Fan 1996,
** type 6: the order statistic of rank (n + 1) p, interpolated). For n
** exchangeable draws a new draw falls between the ranks (n + 1) p and
** (n + 1)(1 - p) with probability 1 - 2p exactly, so the intervals are
** prediction intervals at their nominal level; type 7 would make a 95 %
** interval from 64 draws cover only about 92 %.
*/
static double pred_quantile(const double *v, int n, double p)
{
  double h = (n + 1) * p, f = floor(h);
  int k = (int)f; /* rank k is v[k - 1] */
  if (k < 1)
    return v[0];
  if (k >= n)
    return v[n - 1];
  return v[k - 1] + (h - f) * (v[k] - v[k - 1]);
}

/* aside: a run of its own that leaves the course kept for the alerts and
** the horizon they reach as they were (the buffers are marked stale, and
** the next on-grid run recomputes exactly what was kept). */
static int forecast(mt_twin *tw, int ko, const double *horizons, int nh,
                    mt_twin_forecast *out, int aside)
{
  static const double qp[7] = {0.025, 0.10, 0.25, 0.50, 0.75, 0.90, 0.975};
  if (nh < 1 || nh > 64)
    return MT_EINVAL;
  double ts[64];
  for (int k = 0; k < nh; k++) {
    if (!(horizons[k] > 0 && horizons[k] <= MAX_HORIZON_MIN) ||
        (k && !(horizons[k] > horizons[k - 1])))
      return MT_EINVAL;
    ts[k] = tw->t_now + horizons[k];
  }
  int ns = tw->N * NOISE_DRAWS;
  double *cgm = malloc(((size_t)tw->N * nh + (size_t)ns) * sizeof *cgm), *v;
  int obs = ko >= 0 ? tw->obs_ix[ko] : tw->primary;
  int rc = cgm ? run_ahead(tw, ts, nh, obs, cgm, aside) : MT_ENOMEM;
  v = cgm + (size_t)tw->N * nh;
  const mt_twin_spec_obs *so = ko >= 0 ? &tw->spec->obs[ko] : NULL;
  for (int k = 0; !rc && k < nh; k++) {
    double sum = 0;
    for (int i = 0; i < tw->N; i++) {
      mt_rng r; /* the sensor's error at this reading, per member */
      mt_rng_init(&r, tw->cfg.seed, (uint64_t)i, RNG_FORECAST,
                  (uint64_t)tw->n_reading * 64 + (uint64_t)k);
      /* a reading: the sensor's skewed, heavy-tailed error drawn from its
      ** stationary marginal (Johnson SU of a normal latent, Breton and
      ** Kovatchev 2008), clipped to the sensor's range */
      const mt_cgm_sensor *sn = &tw->sensor;
      for (int d = 0; d < NOISE_DRAWS; d++) {
        /* the model error the filter assumes, accumulated over the
        ** horizon as a log-normal factor on glucose */
        double g = cgm[(size_t)i * nh + k] *
                   exp(tw->cfg.process_sd * sqrt(horizons[k] / 5.0) *
                       mt_rng_normal(&r));
        double z = mt_rng_normal(&r), e = tw->e_sd * z;
        double *x = &v[i * NOISE_DRAWS + d];
        if (!so) /* not observed: the model's value, no reading's noise */
          *x = g;
        else if (so->cgm)
          *x = mt_cgm_reading(sn, g,
                              sn->xi + sn->lambda *
                                           sinh((e - sn->gamma) / sn->delta));
        else /* a generic reading: Gaussian noise of its spec, a relative
             ** one on the patient's own baseline */
          *x = g + (so->sd_abs + so->sd_rel * fabs(g)) * z +
               (so->relative && !isnan(tw->offset[ko]) ? tw->offset[ko] : 0);
        sum += *x;
      }
    }
    qsort(v, (size_t)ns, sizeof *v, mt_cmp_double);
    out[k].t_min = tw->t_now;
    out[k].horizon_min = horizons[k];
    out[k].mean = sum / ns;
    for (int q = 0; q < 7; q++)
      out[k].q[q] = pred_quantile(v, ns, qp[q]);
  }
  free(cgm);
  return rc;
}

/* The spec's reading that measures the primary observable, or -1. */
static int primary_reading(const mt_twin *tw)
{
  for (int k = 0; k < tw->spec->n_obs; k++)
    if (tw->obs_ix[k] == tw->primary)
      return k;
  return -1;
}

int mt_twin_forecast_at(mt_twin *tw, const double *horizons, int nh,
                        mt_twin_forecast *out)
{
  return forecast(tw, primary_reading(tw), horizons, nh, out, 0);
}

int mt_twin_forecast_aside(mt_twin *tw, const double *horizons, int nh,
                           mt_twin_forecast *out)
{
  return forecast(tw, primary_reading(tw), horizons, nh, out, 1);
}

int mt_twin_forecast_obs(mt_twin *tw, const char *kind_or_obs,
                         const double *horizons, int nh,
                         mt_twin_forecast *out)
{
  for (int k = 0; kind_or_obs && k < tw->spec->n_obs; k++)
    if (!strcmp(tw->spec->obs[k].obs, kind_or_obs) ||
        !strcmp(mt_stream_kind_name(tw->spec->obs[k].kind), kind_or_obs))
      return forecast(tw, k, horizons, nh, out, 0);
  snprintf(tw->err, sizeof tw->err, "twin: '%s' is not a reading of the "
           "%s twin", kind_or_obs ? kind_or_obs : "(null)", tw->m->name);
  return MT_EINVAL;
}

int mt_twin_obs_index(const mt_twin *tw, const char *kind_or_obs)
{
  for (int k = 0; kind_or_obs && k < tw->spec->n_obs; k++)
    if (!strcmp(tw->spec->obs[k].obs, kind_or_obs) ||
        !strcmp(mt_stream_kind_name(tw->spec->obs[k].kind), kind_or_obs))
      return tw->obs_ix[k];
  return -1;
}

int mt_twin_primary(const mt_twin *tw) { return tw->primary; }

/* Whether member trajectory c (n samples) crosses the alert's level; the
** first crossing sample into *k. */
static int crosses(const mt_twin_spec_alert *al, const double *c, int n,
                   int *k)
{
  for (*k = 0; *k < n; (*k)++)
    if (al->above ? c[*k] > al->level : c[*k] < al->level)
      return 1;
  return 0;
}

/* One alert kind after a reading: probability of crossing within the
** window, predicted crossing time (median over the members that cross),
** raised once per episode and re-armed after REARM_MIN clear. */
static void alert_kind(mt_twin *tw, int ka, const double *cgm,
                       const double *ts, int nt, double *tc)
{
  const mt_twin_spec_alert *al = &tw->spec->alert[ka];
  int n = 0, k;
  for (int i = 0; i < tw->N; i++)
    if (crosses(al, cgm + (size_t)i * nt, nt, &k))
      tc[n++] = ts[k];
  double prob = (double)n / tw->N;
  if (!mt_alert_episode_step(&tw->episode[ka], tw->t_now, prob, al->prob))
    return;
  qsort(tc, (size_t)n, sizeof *tc, mt_cmp_double);
  mt_twin_alert *a = &tw->alert[tw->n_alert++];
  a->kind = al->kind;
  a->t_min = tw->t_now;
  a->probability = prob;
  a->predicted_t_min = mt_quantile7(tc, n, 0.5);
}

/* Every alert of the spec after a reading, each on its observable over
** its window on the 5-min grid (one run ahead serves them all). */
static void update_alerts(mt_twin *tw)
{
  for (int ka = 0; ka < tw->spec->n_alert; ka++) {
    int nt = (int)round(tw->spec->alert[ka].window_min / ALERT_STEP_MIN);
    if (nt < 1 || nt > AHEAD_MAX)
      continue;
    double ts[AHEAD_MAX];
    for (int k = 0; k < nt; k++)
      ts[k] = tw->t_now + ALERT_STEP_MIN * (k + 1);
    double *y = malloc((size_t)tw->N * (nt + 1) * sizeof *y);
    if (y && run_ahead(tw, ts, nt, tw->alert_ix[ka], y, 0) == 0)
      alert_kind(tw, ka, y, ts, nt, y + (size_t)tw->N * nt);
    free(y);
  }
}

int mt_twin_alerts(mt_twin *tw, mt_twin_alert *out)
{
  memcpy(out, tw->alert, (size_t)tw->n_alert * sizeof *out);
  return tw->n_alert;
}

long mt_twin_quarantine(const mt_twin *tw, const mt_twin_quarantined **q)
{
  *q = tw->quar;
  return tw->n_quar;
}

int mt_twin_members(const mt_twin *tw, const double **p, const double **x,
                    int *n_param, int *n_state)
{
  if (p)
    *p = tw->P;
  if (x)
    *x = tw->X;
  if (n_param)
    *n_param = tw->np;
  if (n_state)
    *n_state = tw->ns;
  return tw->N;
}

int mt_twin_run_with(mt_twin *tw, const mt_datum *extra, int n_extra,
                     double basal_factor, double basal_until_min, int nt,
                     int obs, double *y)
{
  if (nt < 1 || nt > AHEAD_MAX || obs < 0 || obs >= tw->m->n_obs ||
      n_extra < 0 || !(basal_factor >= 0) ||
      (basal_factor != 1 && (!(basal_until_min > tw->t_now) || tw->ins < 0)))
    return MT_EINVAL;
  int rc = 0;
  for (int i = 0; i < tw->N; i++)
    tw->mark[i] = mt_schedule_count(tw->sch[i]);
  for (int k = 0; !rc && k < n_extra; k++)
    for (int i = 0; !rc && i < tw->N; i++)
      rc = add_input1(tw, i, &extra[k]);
  for (int i = 0; !rc && basal_factor != 1 && i < tw->N; i++)
    rc = mt_schedule_scale(tw->sch[i], tw->ins, tw->t_now, basal_until_min,
                           basal_factor);
  double ts[AHEAD_MAX];
  for (int k = 0; k < nt; k++)
    ts[k] = tw->t_now + GRID_MIN * (k + 1);
  tw->ahead_ok = 0; /* the buffers now hold this run */
  if (!rc)
    rc = run_to(tw, ts, nt);
  for (int i = 0; !rc && i < tw->N; i++)
    for (int k = 0; k < nt; k++)
      y[(size_t)i * nt + k] = tw->ahead[i].y[(size_t)k * tw->m->n_obs + obs];
  for (int i = 0; i < tw->N; i++)
    mt_schedule_truncate(tw->sch[i], tw->mark[i]);
  return rc;
}

const mt_model *mt_twin_model(const mt_twin *tw) { return tw->m; }

int mt_twin_estimated(const mt_twin *tw, const int **idx)
{
  *idx = tw->est;
  return tw->ne;
}

double mt_twin_mean_ess(const mt_twin *tw)
{
  return tw->pf && tw->n_analysis ? tw->ess_sum / tw->n_analysis : NAN;
}
