/*
** Virtual-trial arms (include/medtwin/trial_run.h): a patient's generated
** life under the protocol's scenario generator, and one arm living it in
** closed loop on the UVA/Padova model (Dalla Man et al. 2007), scored on
** true plasma glucose every minute.
**
** The closed loop generalises `medtwin twin advisor-evaluate`
** (src/cli/twin_advise.c): the true course is simulated piecewise between
** CGM readings and meal starts, each piece continued exactly from the last
** state and discrete memory (mt_sim_run, DOPRI5, default tolerances).
**
** Choices and their sources (docs/trial-protocol.md, "How an arm runs"):
**  - insulin on board: linear decay over a 4 h duration of insulin action
**    (bolus calculators use 3-5 h for rapid-acting analogues; Walsh and
**    Roberts, Pumping Insulin);
**  - hypoglycaemic event: >= 15 consecutive minutes below 54 mg/dL, ended
**    by >= 15 consecutive minutes at or above it (Danne et al., Diabetes
**    Care 40:1631, 2017; Battelino et al., Lancet Diabetes Endocrinol
**    11:42, 2023);
**  - GMI = 3.31 + 0.02392 x mean (Bergenstal et al., Diabetes Care
**    41:2275, 2018), with TIR/TBR/TAR/CV by mt_glycemic_ranges (Battelino
**    et al., Diabetes Care 42:1593, 2019);
**  - PID: anti-windup by integrator clamping: ki x the integral is kept
**    within [-basal, upper limit - basal], the range the rate can take
**    around the basal, so the integral can neither build a debt the pump
**    cannot deliver nor a surplus it cannot withhold (Astrom and Hagglund,
**    Advanced PID Control, ISA 2006, ch. 3, "integrator windup").
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/metrics.h"
#include "medtwin/model.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "medtwin/trial_run.h"
#include "medtwin/whatif.h"

#define DAY_MIN 1440
#define SNACK_SLOT 100
#define SNACK_MIN 5        /* a snack is eaten over 5 min (as the replay) */
#define MEAL_MIN_LO 10     /* a meal is eaten over 10-20 min (as the replay) */
#define MEAL_MIN_HI 20
#define FORECAST_MIN 30.0  /* the twin's forecast scored at meals */
#define MAX_PENDING 32

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* ---- life ---------------------------------------------------------------- */

/* Uniform on the integers lo..hi inclusive. */
static int uniform_int(mt_rng *r, int lo, int hi)
{
  int k = (int)floor(mt_rng_uniform(r) * (hi - lo + 1));
  return lo + (k > hi - lo ? hi - lo : k);
}

/* Poisson count with mean rate (Knuth's product of uniforms), capped. */
static int poisson(mt_rng *r, double rate, int cap)
{
  double limit = exp(-rate), prod = mt_rng_uniform(r);
  int n = 0;
  while (prod > limit && n < cap)
    n++, prod *= mt_rng_uniform(r);
  return n;
}

/* Meal i of day d, from its own stream: the draws are always made in the
** same order, so one setting never shifts another's random numbers. */
static mt_trial_event draw_meal(const mt_protocol *p, long k, int d, int i)
{
  const mt_trial_meal *ml = &p->meal[i];
  mt_rng r;
  mt_rng_init(&r, p->seed, (uint64_t)k, MT_TRIAL_RNG_MEAL,
              (uint64_t)d * MT_PROTOCOL_MAX_MEALS + (uint64_t)i);
  double z_t = mt_rng_normal(&r), z_g = mt_rng_normal(&r);
  int dur = uniform_int(&r, MEAL_MIN_LO, MEAL_MIN_HI);
  double z_c = mt_rng_normal(&r), u_miss = mt_rng_uniform(&r);
  mt_trial_event e = {0};
  e.t_min = (double)d * DAY_MIN + ml->clock_min +
            floor(ml->time_sd_min * z_t + 0.5);
  e.grams = fmax(0, ml->grams * (1 + ml->grams_cv * z_g));
  e.duration_min = dur;
  e.announced_g =
      fmax(0, e.grams * (1 + p->carb_error_bias + p->carb_error_sd * z_c));
  e.bolus_missed = u_miss < p->missed_bolus_p;
  e.day = d, e.slot = i;
  return e;
}

/* Snack j of day d (its stream: day * 64 + 1 + j). */
static mt_trial_event draw_snack(const mt_protocol *p, long k, int d, int j)
{
  mt_rng r;
  mt_rng_init(&r, p->seed, (uint64_t)k, MT_TRIAL_RNG_SNACK,
              (uint64_t)d * 64 + 1 + (uint64_t)j);
  mt_trial_event e = {0};
  e.t_min = (double)d * DAY_MIN + uniform_int(&r, 0, DAY_MIN - 1);
  e.grams = fmax(0, p->snack_grams * (1 + p->snack_grams_cv * mt_rng_normal(&r)));
  e.duration_min = SNACK_MIN;
  e.snack = 1;
  e.day = d, e.slot = SNACK_SLOT + j;
  return e;
}

static int cmp_event(const void *pa, const void *pb)
{
  const mt_trial_event *a = pa, *b = pb;
  if (a->t_min != b->t_min)
    return a->t_min < b->t_min ? -1 : 1;
  if (a->day != b->day)
    return a->day < b->day ? -1 : 1;
  return (a->slot > b->slot) - (a->slot < b->slot);
}

/* Keep e if it starts within the run (moved to 0 if before it). */
static void keep(mt_trial_day_plan *l, mt_trial_event e)
{
  if (e.t_min >= (double)l->days * DAY_MIN)
    return;
  e.t_min = fmax(e.t_min, 0);
  l->event[l->n_event++] = e;
}

static int make_events(const mt_protocol *p, long k, mt_trial_day_plan *l)
{
  size_t cap = (size_t)l->days * (MT_PROTOCOL_MAX_MEALS + MT_TRIAL_MAX_SNACKS);
  l->event = calloc(cap, sizeof *l->event);
  if (!l->event)
    return MT_ENOMEM;
  for (int d = 0; d < l->days; d++) {
    for (int i = 0; i < p->n_meal; i++)
      keep(l, draw_meal(p, k, d, i));
    mt_rng r;
    mt_rng_init(&r, p->seed, (uint64_t)k, MT_TRIAL_RNG_SNACK,
                (uint64_t)d * 64);
    int ns = p->snacks_per_day > 0
                 ? poisson(&r, p->snacks_per_day, MT_TRIAL_MAX_SNACKS)
                 : 0;
    for (int j = 0; j < ns; j++)
      keep(l, draw_snack(p, k, d, j));
  }
  qsort(l->event, (size_t)l->n_event, sizeof *l->event, cmp_event);
  return 0;
}

int mt_trial_life(const mt_protocol *p, const mt_patient *pt, long k,
                  mt_trial_day_plan **out, char *err, size_t errlen)
{
  *out = NULL;
  if (!p || !pt || k < 0 || k >= p->size || p->days < 1)
    return fail(err, errlen, MT_EINVAL, "trial life: expected a protocol, "
                "a patient and 0 <= k < size, got k = %ld", k);
  mt_trial_day_plan *l = calloc(1, sizeof *l);
  if (!l)
    return fail(err, errlen, MT_ENOMEM, "trial life: out of memory");
  l->k = k, l->days = p->days, l->cgm_noise = p->cgm_noise;
  int rc = mt_cgm_sensor_load("GuardianRT", &l->sensor);
  if (!rc)
    rc = make_events(p, k, l);
  if (rc) {
    mt_trial_life_free(l);
    return fail(err, errlen, rc, "trial life: patient %ld: %s", k,
                mt_strerror(rc));
  }
  mt_rng_init(&l->sensor_rng, p->seed, (uint64_t)k, MT_TRIAL_RNG_SENSOR, 0);
  mt_rng r;
  mt_rng_init(&r, p->seed, (uint64_t)k, MT_TRIAL_RNG_TWIN, 0);
  l->twin_seed = mt_rng_u64(&r) >> 1; /* any seed a protocol could hold */
  *out = l;
  return 0;
}

void mt_trial_life_free(mt_trial_day_plan *life)
{
  if (!life)
    return;
  free(life->event);
  free(life);
}

/* ---- endpoints ------------------------------------------------------------- */

/* Events: >= 15 min below 54, each ended by >= 15 min at or above 54. */
static int hypo_events(const double *bg, int n)
{
  int events = 0, in_event = 0, below = 0, above = 0;
  for (int i = 0; i < n; i++) {
    if (bg[i] < MT_TRIAL_HYPO_MGDL)
      below++, above = 0;
    else
      above++, below = 0;
    if (!in_event && below >= MT_TRIAL_HYPO_MIN)
      in_event = 1, events++;
    else if (in_event && above >= MT_TRIAL_HYPO_MIN)
      in_event = 0;
  }
  return events;
}

int mt_trial_endpoints(const double *bg_mgdl, int n, double insulin_u,
                       double days, mt_trial_outcome *out)
{
  mt_glycemic g;
  if (!out || !(days > 0) || mt_glycemic_ranges(bg_mgdl, n, &g))
    return MT_EINVAL;
  out->ep[MT_EP_TIR] = g.tir_pct;
  out->ep[MT_EP_TBR70] = g.tbr70_pct;
  out->ep[MT_EP_TBR54] = g.tbr54_pct;
  out->ep[MT_EP_TAR180] = g.tar180_pct;
  out->ep[MT_EP_TAR250] = g.tar250_pct;
  out->ep[MT_EP_MEAN] = g.mean_mgdl;
  out->ep[MT_EP_CV] = g.cv_pct;
  out->ep[MT_EP_GMI] = g.gmi_pct;
  out->hypo_events = hypo_events(bg_mgdl, n);
  out->ep[MT_EP_HYPO_PER_WEEK] = out->hypo_events / (n / (7.0 * DAY_MIN));
  out->ep[MT_EP_TDI] = insulin_u / days;
  out->scored_min = n;
  return 0;
}

/* ---- decisions ------------------------------------------------------------- */

double mt_trial_iob(const double *t_min, const double *u, int n,
                    double t_now_min)
{
  double iob = 0;
  for (int i = 0; i < n; i++) {
    double age = t_now_min - t_min[i];
    if (age < MT_TRIAL_DIA_MIN)
      iob += u[i] * (age <= 0 ? 1 : 1 - age / MT_TRIAL_DIA_MIN);
  }
  return iob;
}

double mt_trial_standard_bolus(const mt_trial_arm *a, double announced_g,
                               double cr_g_per_u, double cf_mgdl_per_u,
                               double cgm_mgdl, double iob_u)
{
  double b = announced_g / cr_g_per_u;
  if (cgm_mgdl > a->correction_above_mgdl)
    b += (cgm_mgdl - a->target_mgdl) / cf_mgdl_per_u;
  if (a->use_iob)
    b -= iob_u;
  return b > 0 ? b : 0;
}

/* ---- the closed loop ------------------------------------------------------- */

typedef struct runner {
  const mt_trial_arm *arm;
  const mt_patient *pt;
  const mt_model *m;
  const mt_trial_day_plan *life;
  mt_sim *sim;
  mt_schedule *sch, *win; /* every input event; those of the next piece */
  double *x, *mem, *u0, *trace; /* one block, owned through x */
  double *cgm_at; /* the noise-free CGM observable of every minute so far */
  int bg, cgm, cho, ins, n_trace;
  double t, t_end, basal_u_per_h, reading;
  mt_cgm_noise noise;
  mt_trial_outcome *o;
  double *bt, *bu; /* standard: boluses given, for the IOB */
  int nb;
  double integ, e_prev; /* pid */
  int has_prev, n_base; /* events before the PID's levels */
  double level_t, level;  /* the PID's last level (U/min) and its time */
  mt_twin *tw; /* twin */
  mt_whatif *cand;
  int cap, n_pend;
  double pend_t[MAX_PENDING], pend_y[MAX_PENDING], mard_sum;
  double t_read; /* the loop: the next reading, the next event */
  int ev_i;
  mt_series ser; /* the piece under way */
  double to;
  mt_trial_record *rec; /* what it did, when asked */
  char why[MT_ERRMSG_MAX];
} runner;

/* Into r->win, in their order, the events of r->sch that can act on the
** piece [t0, t1]: every level, and the pulses not ended before t0 nor
** starting after t1 (one that ends at t0 is kept: it is the input just before
** t0). The compiled inputs of the piece are those of the whole schedule,
** without sorting every meal of the run at every reading. */
static int window(runner *r, double t0, double t1)
{
  int n = mt_schedule_count(r->sch), rc = mt_schedule_truncate(r->win, 0);
  for (int i = 0; !rc && i < n; i++) {
    mt_schedule_event e;
    rc = mt_schedule_event_at(r->sch, i, &e);
    if (!rc && (e.kind == MT_SCHEDULE_LEVEL || (e.t1 >= t0 && e.t0 <= t1)))
      rc = mt_schedule_add(r->win, &e);
  }
  return rc;
}

/* The true course from r->t to t1 (whole minutes) as a piece: sampled
** every minute. */
static int piece_begin(runner *r, double t1, mt_sim_piece *pc)
{
  int n = (int)(t1 - r->t) + 1, rc = mt_series_alloc(&r->ser, r->m, n);
  if (rc)
    return rc;
  for (int k = 0; k < n; k++)
    r->ser.t[k] = r->t + k;
  r->to = t1;
  if ((rc = window(r, r->t, t1)) != 0) {
    mt_series_clear(&r->ser);
    return rc;
  }
  *pc = (mt_sim_piece){r->pt->param, r->x, r->mem, r->win, r->t, t1,
                       &r->ser, 0};
  return 0;
}

/* The piece done: plasma glucose of every minute in [t, t1) after the
** warm-up into the trace, the noise-free CGM observable of every minute in
** [t, t1] into r->cgm_at, the state and memory at t1 kept. */
static void piece_end(runner *r)
{
  const mt_series *s = &r->ser;
  int n = s->n;
  for (int k = 0; k + 1 < n; k++) {
    long i = (long)r->t + k - MT_TRIAL_WARMUP_MIN;
    if (i >= 0 && i < r->n_trace)
      r->trace[i] = s->y[(size_t)k * r->m->n_obs + r->bg];
  }
  for (int k = 0; k < n; k++)
    r->cgm_at[(long)r->t + k] = s->y[(size_t)k * r->m->n_obs + r->cgm];
  memcpy(r->x, s->x_end, (size_t)r->m->n_state * sizeof *r->x);
  memcpy(r->mem, s->mem_end, (size_t)r->m->n_mem * sizeof *r->mem);
  r->t = r->to;
  mt_series_clear(&r->ser);
}

/* The true course from r->t to t1, alone. */
static int advance(runner *r, double t1)
{
  mt_sim_piece pc;
  int rc = piece_begin(r, t1, &pc);
  if (rc)
    return rc;
  if ((rc = mt_sim_run(r->sim, pc.p, pc.x0, pc.mem0, pc.sch, pc.t0, pc.t_end,
                       pc.out)) != 0) {
    snprintf(r->why, sizeof r->why, "%s", mt_sim_errmsg(r->sim));
    mt_series_clear(&r->ser);
    return rc;
  }
  piece_end(r);
  return 0;
}

/* The twin's forecasts that fall due at this reading (time t), scored. */
static void score_forecasts(runner *r, double t)
{
  for (int i = 0; i < r->n_pend;) {
    if (r->pend_t[i] > t) {
      i++;
      continue;
    }
    r->mard_sum += fabs(r->pend_y[i] - r->reading) / r->reading;
    r->o->n_forecast++;
    r->n_pend--;
    r->pend_t[i] = r->pend_t[r->n_pend], r->pend_y[i] = r->pend_y[r->n_pend];
  }
}

/* PID on the reading: the rate (U/h) for the next 5 min, as a level. */
static int pid_step(runner *r)
{
  const mt_trial_arm *a = r->arm;
  double basal = isnan(a->basal_u_per_h) ? r->basal_u_per_h : a->basal_u_per_h;
  double hi = fmax(MT_TRIAL_PID_MAX_FACTOR * basal, MT_TRIAL_PID_MAX_MIN_U_PER_H);
  double e = r->reading - a->target_mgdl, dt = MT_TRIAL_CGM_EVERY_MIN;
  double de = r->has_prev ? (e - r->e_prev) / dt : 0;
  r->integ += e * dt;
  if (a->ki > 0) /* anti-windup: the integral term within the rate's range */
    r->integ = fmin(fmax(r->integ, -basal / a->ki), (hi - basal) / a->ki);
  double u = basal + a->kp * e + a->ki * r->integ + a->kd * de;
  u = fmin(fmax(u, 0), hi);
  r->e_prev = e, r->has_prev = 1;
  r->o->insulin_u += u / 60 * fmin(dt, r->t_end - r->t);
  /* only the level in force before now and the new one matter from now on:
  ** the schedule keeps those two, not one level per reading */
  int rc = mt_schedule_truncate(r->sch, r->n_base);
  if (!rc && r->t > 0)
    rc = mt_schedule_level(r->sch, r->ins, r->level_t, r->level);
  r->level_t = r->t, r->level = u / 60;
  return rc ? rc : mt_schedule_level(r->sch, r->ins, r->t, u / 60);
}

/* The CGM reading at r->t_read (the course has reached it, and may have
** gone on to the next decision: r->t >= r->t_read): seen by the twin, or
** the PID's decision. */
static int on_reading(runner *r, char *err, size_t errlen)
{
  double t = r->t_read;
  double noise = r->life->cgm_noise ? mt_cgm_noise_next(&r->noise) : 0;
  r->reading = mt_cgm_reading(&r->life->sensor, r->cgm_at[(long)t], noise);
  if (r->rec && r->rec->n_cgm < (int)(r->t_end / MT_TRIAL_CGM_EVERY_MIN) + 1)
    r->rec->cgm_mgdl[r->rec->n_cgm++] = r->reading;
  if (r->arm->kind == MT_ARM_PID) /* its pieces end at every reading */
    return t < r->t_end ? pid_step(r) : 0;
  if (!r->tw)
    return 0;
  score_forecasts(r, t);
  mt_datum d = {t, MT_DATA_CGM, r->reading, 0};
  const char *why;
  if (mt_twin_ingest(r->tw, &d, &why) < 0)
    return fail(err, errlen, MT_ESOLVER, "%s", mt_twin_errmsg(r->tw));
  return 0;
}

/* For the record: the twin's forecast after a meal's bolus, every
** MT_TRIAL_REC_STEP_MIN up to the last horizon. */
static int record_forecast(runner *r, char *err, size_t errlen)
{
  mt_trial_record *rec = r->rec;
  if (rec->n_forecast >= r->life->n_event)
    return 0;
  double h[MT_TRIAL_REC_HORIZONS];
  mt_twin_forecast f[MT_TRIAL_REC_HORIZONS];
  for (int i = 0; i < MT_TRIAL_REC_HORIZONS; i++)
    h[i] = (i + 1) * MT_TRIAL_REC_STEP_MIN;
  if (mt_twin_forecast_aside(r->tw, h, MT_TRIAL_REC_HORIZONS, f) < 0)
    return fail(err, errlen, MT_ESOLVER, "%s", mt_twin_errmsg(r->tw));
  mt_trial_forecast_rec *fr = &rec->forecast[rec->n_forecast++];
  fr->t_min = mt_twin_time(r->tw);
  for (int i = 0; i < MT_TRIAL_REC_HORIZONS; i++)
    fr->mean[i] = f[i].mean, fr->p10[i] = f[i].q[1], fr->p90[i] = f[i].q[5];
  return 0;
}

/* The twin's bolus for meal e, then the meal and bolus told to the twin and
** its 30-min forecast kept for scoring. */
static int twin_bolus(runner *r, const mt_trial_event *e, double *bolus,
                      char *err, size_t errlen)
{
  const mt_trial_arm *a = r->arm;
  mt_whatif best;
  int met, nc, rc;
  double g = fmin(e->announced_g, 500);
  *bolus = 0;
  if (!(g > 0))
    return 0;
  rc = mt_whatif_advise_over(r->tw, g, a->p70_max,
                             fmin(a->max_bolus_u, MT_TRIAL_ADVISOR_MAX_U),
                             a->step_u, a->horizon_min, &best, &met, r->cand,
                             r->cap, &nc, err, errlen);
  if (rc)
    return rc;
  *bolus = best.action.kind == MT_ACTION_BOLUS ? best.action.amount : 0;
  r->o->advisor_bound_met += met;
  const char *why;
  mt_datum dc = {r->t, MT_DATA_CARBS, g, 0}, db = {r->t, MT_DATA_BOLUS, *bolus, 0};
  if (mt_twin_ingest(r->tw, &dc, &why) < 0 ||
      (*bolus > 0 && mt_twin_ingest(r->tw, &db, &why) < 0))
    return fail(err, errlen, MT_ESOLVER, "%s", mt_twin_errmsg(r->tw));
  mt_twin_forecast f;
  double h = FORECAST_MIN;
  if (mt_twin_forecast_at(r->tw, &h, 1, &f) < 0)
    return fail(err, errlen, MT_ESOLVER, "%s", mt_twin_errmsg(r->tw));
  if (r->n_pend < MAX_PENDING) {
    r->pend_t[r->n_pend] = mt_twin_time(r->tw) + FORECAST_MIN;
    r->pend_y[r->n_pend++] = f.mean;
  }
  return r->rec ? record_forecast(r, err, errlen) : 0;
}

/* An announced meal at r->t: the arm's bolus, delivered over 1 min. */
static int on_meal(runner *r, const mt_trial_event *e, char *err,
                   size_t errlen)
{
  double bolus = 0;
  int rc = 0;
  r->o->meals++;
  if (e->bolus_missed || r->arm->kind == MT_ARM_PID)
    return 0;
  if (r->arm->kind == MT_ARM_STANDARD)
    bolus = mt_trial_standard_bolus(
        r->arm, e->announced_g, r->pt->cr_g_per_u, r->pt->cf_mgdl_per_u,
        r->reading, mt_trial_iob(r->bt, r->bu, r->nb, r->t));
  else
    rc = twin_bolus(r, e, &bolus, err, errlen);
  if (rc || !(bolus > 0))
    return rc;
  r->bt[r->nb] = r->t, r->bu[r->nb++] = bolus;
  if (r->rec && r->rec->n_bolus < r->life->n_event) {
    r->rec->bolus_t_min[r->rec->n_bolus] = r->t;
    r->rec->bolus_u[r->rec->n_bolus++] = bolus;
  }
  r->o->boluses++;
  r->o->bolus_u += bolus;
  r->o->insulin_u += bolus;
  return mt_schedule_pulse(r->sch, r->ins, r->t, r->t + 1, bolus, 0);
}

/* The twin arm's twin: the population prior of the patient's group, the
** patient kept out of it when it is one of the model's named patients. */
static int twin_start(runner *r, const mt_protocol *p, char *err,
                      size_t errlen)
{
  const mt_trial_arm *a = r->arm;
  if (!r->pt->group[0])
    return fail(err, errlen, MT_EINVAL, "the patient has no group");
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  cfg.model = r->m->name;
  cfg.group = r->pt->group;
  cfg.exclude = p->source == MT_TRIAL_NAMED ? r->pt->id : NULL;
  cfg.seed = r->life->twin_seed;
  cfg.members = a->members;
  cfg.alerts = 0; /* the arm reads none: forecast only what decisions need */
  int rc = mt_twin_create(&cfg, &r->tw, err, errlen);
  if (rc)
    return rc;
  r->cap = (int)floor(fmin(a->max_bolus_u, MT_TRIAL_ADVISOR_MAX_U) / a->step_u +
                      1e-9) + 1;
  r->cand = malloc((size_t)r->cap * sizeof *r->cand);
  if (!r->cand)
    return fail(err, errlen, MT_ENOMEM, "out of memory");
  const char *why;
  mt_datum d = {0, MT_DATA_BASAL, r->basal_u_per_h, 0};
  if (mt_twin_ingest(r->tw, &d, &why) < 0)
    return fail(err, errlen, MT_ESOLVER, "%s", mt_twin_errmsg(r->tw));
  return 0;
}

/* Everything eaten goes into the schedule at once (it is eaten in every
** arm); the basal level unless the arm is the PID (which sets its own). */
static int schedule_life(runner *r)
{
  int rc = mt_schedule_create(r->m->n_input, &r->sch);
  if (!rc)
    rc = mt_schedule_create(r->m->n_input, &r->win);
  if (!rc && r->arm->kind != MT_ARM_PID)
    rc = mt_schedule_level(r->sch, r->ins, 0, r->basal_u_per_h / 60);
  for (int i = 0; !rc && i < r->life->n_event; i++) {
    const mt_trial_event *e = &r->life->event[i];
    r->o->carbs_g += e->grams;
    if (e->grams > 0)
      rc = mt_schedule_pulse(r->sch, r->cho, e->t_min,
                             e->t_min + e->duration_min,
                             e->grams / e->duration_min, MT_PULSE_BITES);
  }
  r->n_base = mt_schedule_count(r->sch);
  return rc;
}

static int setup(runner *r, const mt_protocol *p, char *err, size_t errlen)
{
  const mt_model *m = r->m;
  r->bg = mt_var_index(m->obs, m->n_obs, "BG");
  r->cgm = mt_var_index(m->obs, m->n_obs, "CGM");
  r->cho = mt_var_index(m->input, m->n_input, "CHO");
  r->ins = mt_var_index(m->input, m->n_input, "insulin");
  if (r->bg < 0 || r->cgm < 0 || r->cho < 0 || r->ins < 0 || !m->init)
    return fail(err, errlen, MT_EINVAL, "model %s has no BG, CGM, CHO, "
                "insulin or steady state", m->name);
  if (r->arm->kind == MT_ARM_STANDARD &&
      !(r->pt->cr_g_per_u > 0 && r->pt->cf_mgdl_per_u > 0))
    return fail(err, errlen, MT_EINVAL, "the standard arm needs the "
                "patient's CR and CF");
  r->t_end = (double)r->life->days * DAY_MIN;
  r->n_trace = (int)r->t_end - MT_TRIAL_WARMUP_MIN;
  size_t n = (size_t)m->n_state + (size_t)m->n_mem + (size_t)m->n_input +
             (size_t)m->n_obs + (size_t)r->n_trace + (size_t)r->t_end + 1 +
             2 * (size_t)r->life->n_event + 2;
  r->x = calloc(n, sizeof *r->x);
  if (!r->x)
    return fail(err, errlen, MT_ENOMEM, "out of memory");
  r->mem = r->x + m->n_state, r->u0 = r->mem + m->n_mem;
  double *y0 = r->u0 + m->n_input;
  r->trace = y0 + m->n_obs;
  r->cgm_at = r->trace + r->n_trace;
  r->bt = r->cgm_at + (long)r->t_end + 1, r->bu = r->bt + r->life->n_event + 1;
  if (m->init(r->pt->param, r->x, r->mem, r->u0) < 0)
    return fail(err, errlen, MT_ESOLVER, "no steady state");
  m->observe(0, r->x, r->pt->param, r->mem, y0);
  r->cgm_at[0] = y0[r->cgm];
  r->basal_u_per_h = r->u0[r->ins] * 60;
  int rc = mt_cgm_noise_init(&r->noise, &r->life->sensor,
                             &r->life->sensor_rng);
  if (!rc)
    rc = mt_sim_create(m, NULL, &r->sim);
  if (!rc)
    rc = schedule_life(r);
  if (rc)
    return fail(err, errlen, rc, "%s", mt_strerror(rc));
  if (r->arm->kind != MT_ARM_PID)
    r->o->insulin_u += r->basal_u_per_h * (r->t_end / 60);
  return r->arm->kind == MT_ARM_TWIN ? twin_start(r, p, err, errlen) : 0;
}

/* The loop: readings every 5 min from 0 to t_end and the announced meals,
** in time order (at equal times the reading first), each acted on once the
** true course has reached it. Only the PID acts at readings; for the other
** arms the course runs in one piece from meal to meal (the next decision),
** the readings in between taken from it, so the integrator restarts a few
** times a day rather than at every reading. Returns 1 with the end of the
** next piece in *to, 0 when the run is complete, or an error. */
static int drive(runner *r, double *to, char *err, size_t errlen)
{
  const mt_trial_event *ev = r->life->event;
  int ne = r->life->n_event, rc = 0;
  int per_reading = r->arm->kind == MT_ARM_PID;
  while (!rc) {
    while (r->ev_i < ne && ev[r->ev_i].snack)
      r->ev_i++;
    int i = r->ev_i, is_meal = i < ne && ev[i].t_min < r->t_read;
    double te = is_meal ? ev[i].t_min : r->t_read;
    if (te > r->t_end) {
      *to = r->t_end;
      return r->t < r->t_end;
    }
    if (te > r->t) {
      *to = is_meal || per_reading ? te
            : i < ne && ev[i].t_min < r->t_end ? ev[i].t_min
                                               : r->t_end;
      return 1;
    }
    if (is_meal) {
      rc = on_meal(r, &ev[r->ev_i++], err, errlen);
    } else {
      rc = on_reading(r, err, errlen);
      r->t_read += MT_TRIAL_CGM_EVERY_MIN;
    }
  }
  return rc;
}

static void runner_free(runner *r)
{
  mt_twin_free(r->tw);
  free(r->cand);
  mt_sim_free(r->sim);
  mt_schedule_free(r->sch);
  mt_schedule_free(r->win);
  mt_series_clear(&r->ser);
  free(r->x);
}

static int check_args(const mt_protocol *p, int arm, const mt_patient *pt,
                      const mt_trial_day_plan *life, mt_trial_outcome *out,
                      char *err, size_t errlen)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!p || !pt || !pt->model || !life || !out || arm < 0 || arm >= p->n_arm ||
      life->days < 1)
    return fail(err, errlen, MT_EINVAL, "trial arm: expected a protocol, an "
                "arm index below its count, a patient, a life and an outcome");
  return 0;
}

static void runner_init(runner *r, const mt_protocol *p, int arm,
                        const mt_patient *pt, const mt_trial_day_plan *life,
                        mt_trial_outcome *out, mt_trial_record *rec)
{
  memset(r, 0, sizeof *r);
  r->arm = &p->arm[arm], r->pt = pt, r->m = pt->model, r->life = life;
  r->o = out, r->rec = rec;
}

/* The endpoints once the run is complete (rc 0), or the failure: one line
** naming the patient and arm in err, and *out zeroed. */
static int runner_finish(runner *r, int rc, char *err, size_t errlen)
{
  mt_trial_outcome *out = r->o;
  if (!rc)
    rc = mt_trial_endpoints(r->trace, r->n_trace, out->insulin_u,
                            r->life->days, out);
  if (!rc && r->rec) {
    memcpy(r->rec->bg_mgdl, r->trace, (size_t)r->n_trace * sizeof *r->trace);
    r->rec->n_bg = r->n_trace;
  }
  if (rc && !r->why[0])
    snprintf(r->why, sizeof r->why, "%s", mt_strerror(rc));
  out->forecast_mard_pct = r->tw && out->n_forecast
                               ? 100 * r->mard_sum / out->n_forecast
                               : NAN;
  if (rc) {
    memset(out, 0, sizeof *out);
    return fail(err, errlen, rc, "trial patient %ld (%s), arm %s: %s",
                r->life->k, r->pt->id, r->arm->name, r->why);
  }
  return 0;
}

/* One arm for one patient, alone. */
static int run_one(const mt_protocol *p, int arm, const mt_patient *pt,
                   const mt_trial_day_plan *life, mt_trial_outcome *out,
                   mt_trial_record *rec, char *err, size_t errlen)
{
  int rc = check_args(p, arm, pt, life, out, err, errlen);
  if (rc)
    return rc;
  runner r;
  runner_init(&r, p, arm, pt, life, out, rec);
  double to = 0;
  rc = setup(&r, p, r.why, sizeof r.why);
  while (!rc && (rc = drive(&r, &to, r.why, sizeof r.why)) == 1)
    rc = advance(&r, to);
  rc = runner_finish(&r, rc, err, errlen);
  runner_free(&r);
  return rc;
}

int mt_trial_run_arm(const mt_protocol *p, int arm, const mt_patient *pt,
                     const mt_trial_day_plan *life, mt_trial_outcome *out,
                     char *err, size_t errlen)
{
  return run_one(p, arm, pt, life, out, NULL, err, errlen);
}

int mt_trial_run_arm_trace(const mt_protocol *p, int arm,
                           const mt_patient *pt,
                           const mt_trial_day_plan *life,
                           mt_trial_outcome *out, double *bg_mgdl, char *err,
                           size_t errlen)
{
  mt_trial_record *rec = NULL;
  int rc = 0;
  if (bg_mgdl && life && life->days >= 1 &&
      (rc = mt_trial_record_alloc(life, &rec)) != 0) {
    if (out)
      memset(out, 0, sizeof *out);
    return fail(err, errlen, rc, "out of memory");
  }
  rc = run_one(p, arm, pt, life, out, rec, err, errlen);
  if (!rc && rec)
    memcpy(bg_mgdl, rec->bg_mgdl, (size_t)rec->n_bg * sizeof *bg_mgdl);
  mt_trial_record_free(rec);
  return rc;
}

int mt_trial_run_arm_record(const mt_protocol *p, int arm,
                            const mt_patient *pt,
                            const mt_trial_day_plan *life,
                            mt_trial_outcome *out, mt_trial_record **rec,
                            char *err, size_t errlen)
{
  if (rec)
    *rec = NULL;
  if (!rec || !life || life->days < 1) {
    if (out)
      memset(out, 0, sizeof *out);
    return fail(err, errlen, MT_EINVAL, "trial arm: expected a life and a "
                "record");
  }
  int rc = mt_trial_record_alloc(life, rec);
  if (rc) {
    if (out)
      memset(out, 0, sizeof *out);
    return fail(err, errlen, rc, "out of memory");
  }
  rc = run_one(p, arm, pt, life, out, *rec, err, errlen);
  if (rc) {
    mt_trial_record_free(*rec);
    *rec = NULL;
  }
  return rc;
}

int mt_trial_record_alloc(const mt_trial_day_plan *life, mt_trial_record **out)
{
  *out = NULL;
  long t_end = (long)life->days * DAY_MIN;
  size_t n_bg = (size_t)(t_end - MT_TRIAL_WARMUP_MIN);
  size_t n_cgm = (size_t)(t_end / MT_TRIAL_CGM_EVERY_MIN) + 1;
  size_t n_ev = (size_t)life->n_event;
  mt_trial_record *r = calloc(1, sizeof *r);
  double *blk = malloc((n_bg + n_cgm + 2 * n_ev + 1) * sizeof *blk);
  mt_trial_forecast_rec *f = malloc((n_ev + 1) * sizeof *f);
  if (!r || !blk || !f) {
    free(r);
    free(blk);
    free(f);
    return MT_ENOMEM;
  }
  r->bg_mgdl = blk;
  r->cgm_mgdl = blk + n_bg;
  r->bolus_t_min = r->cgm_mgdl + n_cgm;
  r->bolus_u = r->bolus_t_min + n_ev;
  r->forecast = f;
  *out = r;
  return 0;
}

void mt_trial_record_free(mt_trial_record *rec)
{
  if (!rec)
    return;
  free(rec->bg_mgdl);
  free(rec->forecast);
  free(rec);
}

/* ---- many patients at once ------------------------------------------------ */

/* The patients of mt_trial_run_arm_many: a queue of those whose next piece
** is known. */
typedef struct many {
  const mt_protocol *p;
  runner *r;
  int n, *queue, head, count;
  int failed; /* the runner whose decision failed, -1 */
  int rc;
} many;

/* Runner i onwards to its next piece (queued) or its end. */
static int many_drive(many *m, int i)
{
  double to;
  int rc = drive(&m->r[i], &to, m->r[i].why, sizeof m->r[i].why);
  if (rc == 1) {
    m->r[i].to = to;
    m->queue[(m->head + m->count++) % m->n] = i;
    return 0;
  }
  if (rc < 0)
    m->failed = i, m->rc = rc;
  return rc;
}

static int many_next(void *ctx, mt_sim_piece *pc)
{
  many *m = ctx;
  if (!m->count)
    return 0;
  int i = m->queue[m->head];
  m->head = (m->head + 1) % m->n, m->count--;
  int rc = piece_begin(&m->r[i], m->r[i].to, pc);
  if (rc) {
    m->failed = i, m->rc = rc;
    return rc;
  }
  pc->id = i;
  return 1;
}

static int many_done(void *ctx, const mt_sim_piece *pc)
{
  many *m = ctx;
  piece_end(&m->r[pc->id]);
  return many_drive(m, (int)pc->id);
}

int mt_trial_run_arm_many(const mt_protocol *p, int arm, int n,
                          const mt_patient *const *pt,
                          const mt_trial_day_plan *const *life,
                          mt_trial_outcome *out, char *err, size_t errlen)
{
  if (n < 1 || !pt || !life || !out)
    return fail(err, errlen, MT_EINVAL, "trial arm: expected n >= 1 "
                "patients, lives and outcomes");
  for (int i = 0; i < n; i++) {
    int rc = check_args(p, arm, pt[i], life[i], &out[i], err, errlen);
    if (rc)
      return rc;
    if (pt[i]->model != pt[0]->model)
      return fail(err, errlen, MT_EINVAL, "trial arm: the patients of a "
                  "batch share one model");
  }
  many m = {p, calloc((size_t)n, sizeof(runner)), n,
            malloc((size_t)n * sizeof(int)), 0, 0, -1, 0};
  mt_sim *sim = NULL;
  int rc = m.r && m.queue ? mt_sim_create(pt[0]->model, NULL, &sim)
                          : MT_ENOMEM;
  for (int i = 0; i < n && m.r; i++)
    runner_init(&m.r[i], p, arm, pt[i], life[i], &out[i], NULL);
  for (int i = 0; !rc && i < n; i++) {
    if ((rc = setup(&m.r[i], p, m.r[i].why, sizeof m.r[i].why)) != 0)
      m.failed = i;
    else if ((rc = many_drive(&m, i)) > 0)
      rc = 0;
  }
  long failed = -1;
  if (!rc) {
    rc = mt_sim_run_stream(sim, many_next, many_done, &m, &failed);
    if (rc && m.failed < 0 && failed >= 0) { /* the integrator's */
      m.failed = (int)failed;
      snprintf(m.r[failed].why, sizeof m.r[failed].why, "%s",
               mt_sim_errmsg(sim));
    }
  }
  for (int i = 0; m.r && i < n; i++) {
    int ri = runner_finish(&m.r[i], rc && i == m.failed ? rc : 0,
                           i == m.failed || !rc ? err : NULL, errlen);
    if (!rc && ri)
      rc = ri, m.failed = i;
    runner_free(&m.r[i]);
  }
  if (rc && m.failed < 0)
    fail(err, errlen, rc, "trial arm: %s", mt_strerror(rc));
  if (rc)
    for (int i = 0; i < n; i++)
      memset(&out[i], 0, sizeof out[i]);
  mt_sim_free(sim);
  free(m.r);
  free(m.queue);
  return rc;
}
