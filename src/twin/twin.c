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

#include "medtwin/cgm_noise.h"
#include "medtwin/enkf.h"
#include "medtwin/error.h"
#include "medtwin/prior.h"
#include "medtwin/rng.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "medtwin/twin.h"

/* Random stream purposes (the third key of mt_rng_init). */
enum { RNG_PRIOR = 1, RNG_FORECAST = 2 };

/* Alert probability thresholds (provisional, to be set by evaluation). */
static const double alert_prob[MT_ALERT_NKIND] = {0.3, 0.3, 0.5};
static const double alert_level[MT_ALERT_NKIND] = {70, 54, 250};
static const char *const alert_name[MT_ALERT_NKIND] = {"hypo", "hypo_severe",
                                                       "hyper"};
#define ALERT_WINDOW_MIN 30.0
#define ALERT_STEP_MIN 5.0
#define REARM_MIN 30.0
#define MAX_HORIZON_MIN 240.0

struct mt_twin {
  mt_twin_config cfg;
  const mt_model *m;
  int N, ns, np, nm, ne, n;  /* members, sizes, estimated, augmented */
  int cho, ins, cgm;         /* input and observable indices */
  int *est;                  /* ne parameter indices */
  double *P, *X, *MEM;       /* N x np, N x ns, N x nm */
  double *Z, *Y, *eps;       /* N x n, N, ns (state transform offsets) */
  const double **pp, **xp, **mp;
  const mt_schedule **sp;
  mt_series *out;            /* N series of one sample */
  mt_schedule *sch;
  mt_sim *sim;
  mt_enkf *kf;
  double r;                  /* observation variance, (mg/dL)^2 */
  double sensor_sd;          /* sensor noise SD, mg/dL */
  double t_now;
  long n_reading;
  mt_datum last;             /* last accepted datum, for duplicates */
  int has_last;
  int armed[MT_ALERT_NKIND], n_alert;
  double clear_since[MT_ALERT_NKIND];
  mt_twin_alert alert[MT_ALERT_NKIND];
  char err[MT_ERRMSG_MAX];
};

void mt_twin_config_init(mt_twin_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->model = "uva_padova_t1d";
  cfg->group = "adult";
  cfg->seed = 1;
  cfg->members = 64;
  cfg->inflation = 1.1;
  cfg->r_scale = 4.0;
  cfg->sensor = "GuardianRT";
  cfg->meal_min = 15;
  cfg->state_sd = 0.15;
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
  for (int i = 0; tw->out && i < tw->N; i++)
    mt_series_clear(&tw->out[i]);
  free(tw->out);
  free(tw->est);
  free(tw->P);
  free(tw->pp);
  mt_schedule_free(tw->sch);
  mt_sim_free(tw->sim);
  mt_enkf_free(tw->kf);
  free(tw);
}

static int alloc_members(mt_twin *tw)
{
  size_t N = (size_t)tw->N;
  tw->P = calloc(N * (tw->np + tw->ns + tw->nm + 1 + tw->n) + tw->ns,
                 sizeof *tw->P);
  tw->pp = calloc(4 * N, sizeof *tw->pp);
  tw->out = calloc(N, sizeof *tw->out);
  tw->est = calloc((size_t)tw->ne + 1, sizeof *tw->est);
  if (!tw->P || !tw->pp || !tw->out || !tw->est)
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
    if (mt_series_alloc(&tw->out[i], tw->m, 1))
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
  if (tw->ne > 64 || m->n_input > 16 || !m->init)
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

int mt_twin_create(const mt_twin_config *cfg, mt_twin **out, char *err,
                   size_t errlen)
{
  *out = NULL;
  const mt_model *m = mt_model_find(cfg->model);
  mt_cgm_sensor sensor;
  if (!m || mt_cgm_sensor_load(cfg->sensor, &sensor) || cfg->members < 4 ||
      cfg->members > 4096 || !(cfg->inflation >= 1) || !(cfg->r_scale > 0) ||
      !(cfg->meal_min >= 1) || !(cfg->state_sd >= 0)) {
    snprintf(err, errlen, "twin: invalid configuration (model '%s', sensor "
             "'%s', %d members)", cfg->model, cfg->sensor, cfg->members);
    return MT_EINVAL;
  }
  mt_twin *tw = calloc(1, sizeof *tw);
  if (!tw)
    return MT_ENOMEM;
  tw->cfg = *cfg, tw->m = m, tw->N = cfg->members;
  tw->cho = mt_var_index(m->input, m->n_input, "CHO");
  tw->ins = mt_var_index(m->input, m->n_input, "insulin");
  tw->cgm = mt_var_index(m->obs, m->n_obs, "CGM");
  tw->sensor_sd = sqrt(sensor_variance(&sensor));
  tw->r = cfg->r_scale * tw->sensor_sd * tw->sensor_sd;
  for (int k = 0; k < MT_ALERT_NKIND; k++)
    tw->armed[k] = 1, tw->clear_since[k] = NAN;
  int rc = tw->cho < 0 || tw->ins < 0 || tw->cgm < 0 ? MT_EINVAL : 0;
  if (rc)
    snprintf(err, errlen, "twin: model %s lacks CHO, insulin or CGM",
             m->name);
  if (!rc)
    rc = setup(tw, err, errlen);
  if (!rc && ((rc = mt_schedule_create(m->n_input, &tw->sch)) ||
              (rc = mt_sim_create(m, NULL, &tw->sim)) ||
              (rc = mt_enkf_create(tw->n, 1, tw->N, &tw->kf))))
    snprintf(err, errlen, "twin: %s", mt_strerror(rc));
  if (rc) {
    mt_twin_free(tw);
    return rc;
  }
  for (int i = 0; i < tw->N; i++)
    tw->sp[i] = tw->sch;
  *out = tw;
  return 0;
}

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
  tw->t_now = t;
  return 0;
}

static double member_cgm(const mt_twin *tw, int i, const double *x)
{
  double y[16];
  tw->m->observe(tw->t_now, x, tw->P + (size_t)i * tw->np,
                 tw->MEM + (size_t)i * tw->nm, y);
  return y[tw->cgm];
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

/* And back; parameters that derive() or the bounds reject keep their
** previous values (the member's states are still updated). */
static void from_filter(mt_twin *tw, int i, const double *z)
{
  double *x = tw->X + (size_t)i * tw->ns, *p = tw->P + (size_t)i * tw->np;
  double q[256];
  for (int j = 0; j < tw->ns; j++) {
    const mt_var *v = &tw->m->state[j];
    double e = tw->eps[j], w = v->hi - v->lo + 2 * e;
    x[j] = v->lo - e + w / (1 + exp(-z[j]));
  }
  memcpy(q, p, (size_t)tw->np * sizeof *q);
  for (int k = 0; k < tw->ne; k++)
    q[tw->est[k]] = exp(z[tw->ns + k]);
  if (tw->m->derive && tw->m->derive(q) < 0)
    return;
  for (int k = 0; k < tw->np; k++)
    if (!(q[k] >= tw->m->param[k].lo && q[k] <= tw->m->param[k].hi))
      return;
  memcpy(p, q, (size_t)tw->np * sizeof *q);
}

static int assimilate(mt_twin *tw, double reading)
{
  for (int i = 0; i < tw->N; i++) {
    tw->Y[i] = member_cgm(tw, i, tw->X + (size_t)i * tw->ns);
    to_filter(tw, i, tw->Z + (size_t)i * tw->n);
  }
  int rc = mt_enkf_etkf(tw->kf, tw->Z, tw->Y, &reading, &tw->r,
                        MT_ENKF_R_DIAG, tw->cfg.inflation);
  if (rc) {
    snprintf(tw->err, sizeof tw->err, "twin: %s", mt_enkf_errmsg(tw->kf));
    return rc;
  }
  for (int i = 0; i < tw->N; i++)
    from_filter(tw, i, tw->Z + (size_t)i * tw->n);
  return 0;
}

/* Inputs from a datum, on the model's inputs: an announced meal is eaten
** over cfg.meal_min minutes, a bolus over one minute, a basal rate holds. */
static int add_input(mt_twin *tw, const mt_datum *d)
{
  double t = d->t_min, v = d->value;
  switch (d->kind) {
  case MT_DATA_CARBS:
    return mt_schedule_pulse(tw->sch, tw->cho, t, t + tw->cfg.meal_min,
                             v / tw->cfg.meal_min, MT_PULSE_BITES);
  case MT_DATA_BOLUS:
    return mt_schedule_pulse(tw->sch, tw->ins, t, t + 1, v, 0);
  case MT_DATA_BASAL:
    return mt_schedule_level(tw->sch, tw->ins, t, v / 60.0);
  default:
    return MT_EINVAL;
  }
}

static void update_alerts(mt_twin *tw);

int mt_twin_ingest(mt_twin *tw, const mt_datum *d, const char **reason)
{
  *reason = mt_datum_check(d);
  tw->n_alert = 0;
  if (!*reason && d->t_min < tw->t_now)
    *reason = "late: before the twin's current time";
  if (!*reason && tw->has_last && d->t_min == tw->last.t_min &&
      d->kind == tw->last.kind && d->value == tw->last.value)
    *reason = "duplicate";
  if (*reason)
    return 1;
  tw->last = *d;
  tw->has_last = 1;
  if (d->kind != MT_DATA_CGM)
    return add_input(tw, d);
  int rc = advance(tw, d->t_min);
  if (!rc && !tw->cfg.open_loop)
    rc = assimilate(tw, d->value);
  if (!rc) {
    tw->n_reading++;
    update_alerts(tw);
  }
  return rc;
}

/* Every member from t_now over the sample times ts[0..nt) (ascending,
** after t_now), without changing the members; noise-free CGM of member i at
** sample k into cgm[i * nt + k]. */
static int run_ahead(mt_twin *tw, const double *ts, int nt, double *cgm)
{
  mt_series *ser = calloc((size_t)tw->N, sizeof *ser);
  int rc = ser ? 0 : MT_ENOMEM, failed;
  for (int i = 0; !rc && i < tw->N; i++)
    if (!(rc = mt_series_alloc(&ser[i], tw->m, nt)))
      memcpy(ser[i].t, ts, (size_t)nt * sizeof *ts);
  if (!rc)
    rc = mt_sim_run_many_from(tw->sim, tw->N, tw->pp, tw->xp, tw->mp, tw->sp,
                              tw->t_now, ts[nt - 1], ser, &failed);
  if (rc)
    snprintf(tw->err, sizeof tw->err, "twin: forecast: member %d: %s", failed,
             mt_sim_errmsg(tw->sim));
  for (int i = 0; !rc && i < tw->N; i++)
    for (int k = 0; k < nt; k++)
      cgm[(size_t)i * nt + k] = ser[i].y[(size_t)k * tw->m->n_obs + tw->cgm];
  for (int i = 0; ser && i < tw->N; i++)
    mt_series_clear(&ser[i]);
  free(ser);
  return rc;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Quantile of sorted v[0..n) by linear interpolation (Hyndman and Fan
** 1996, type 7). */
static double quantile(const double *v, int n, double p)
{
  double h = (n - 1) * p, f = floor(h);
  int k = (int)f;
  return k + 1 < n ? v[k] + (h - f) * (v[k + 1] - v[k]) : v[n - 1];
}

int mt_twin_forecast_at(mt_twin *tw, const double *horizons, int nh,
                        mt_twin_forecast *out)
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
  double *cgm = malloc((size_t)tw->N * (nh + 1) * sizeof *cgm), *v;
  int rc = cgm ? run_ahead(tw, ts, nh, cgm) : MT_ENOMEM;
  v = cgm + (size_t)tw->N * nh;
  for (int k = 0; !rc && k < nh; k++) {
    double sum = 0;
    for (int i = 0; i < tw->N; i++) {
      mt_rng r; /* the sensor's error at this reading, per member */
      mt_rng_init(&r, tw->cfg.seed, (uint64_t)i, RNG_FORECAST,
                  (uint64_t)tw->n_reading * 64 + (uint64_t)k);
      v[i] = cgm[(size_t)i * nh + k] + tw->sensor_sd * mt_rng_normal(&r);
      sum += v[i];
    }
    qsort(v, (size_t)tw->N, sizeof *v, cmp_double);
    out[k].t_min = tw->t_now;
    out[k].horizon_min = horizons[k];
    out[k].mean = sum / tw->N;
    for (int q = 0; q < 7; q++)
      out[k].q[q] = quantile(v, tw->N, qp[q]);
  }
  free(cgm);
  return rc;
}

/* Whether member trajectory c (n samples) crosses the kind's level; the
** first crossing sample into *k. */
static int crosses(mt_alert_kind kind, const double *c, int n, int *k)
{
  for (*k = 0; *k < n; (*k)++)
    if (kind == MT_ALERT_HYPER ? c[*k] > alert_level[kind]
                               : c[*k] < alert_level[kind])
      return 1;
  return 0;
}

/* One alert kind after a reading: probability of crossing within the
** window, predicted crossing time (median over the members that cross),
** raised once per episode and re-armed after REARM_MIN clear. */
static void alert_kind(mt_twin *tw, mt_alert_kind kind, const double *cgm,
                       const double *ts, int nt, double *tc)
{
  int n = 0, k;
  for (int i = 0; i < tw->N; i++)
    if (crosses(kind, cgm + (size_t)i * nt, nt, &k))
      tc[n++] = ts[k];
  double prob = (double)n / tw->N;
  if (prob < alert_prob[kind]) {
    if (isnan(tw->clear_since[kind]))
      tw->clear_since[kind] = tw->t_now;
    if (tw->t_now - tw->clear_since[kind] >= REARM_MIN)
      tw->armed[kind] = 1;
    return;
  }
  tw->clear_since[kind] = NAN;
  if (!tw->armed[kind])
    return;
  tw->armed[kind] = 0;
  qsort(tc, (size_t)n, sizeof *tc, cmp_double);
  mt_twin_alert *a = &tw->alert[tw->n_alert++];
  a->kind = kind;
  a->t_min = tw->t_now;
  a->probability = prob;
  a->predicted_t_min = quantile(tc, n, 0.5);
}

static void update_alerts(mt_twin *tw)
{
  enum { NT = (int)(ALERT_WINDOW_MIN / ALERT_STEP_MIN) };
  double ts[NT];
  for (int k = 0; k < NT; k++)
    ts[k] = tw->t_now + ALERT_STEP_MIN * (k + 1);
  double *cgm = malloc((size_t)tw->N * (NT + 1) * sizeof *cgm);
  if (cgm && run_ahead(tw, ts, NT, cgm) == 0)
    for (int kind = 0; kind < MT_ALERT_NKIND; kind++)
      alert_kind(tw, (mt_alert_kind)kind, cgm, ts, NT,
                 cgm + (size_t)tw->N * NT);
  free(cgm);
}

int mt_twin_alerts(mt_twin *tw, mt_twin_alert *out)
{
  memcpy(out, tw->alert, (size_t)tw->n_alert * sizeof *out);
  return tw->n_alert;
}
