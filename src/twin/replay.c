/*
** Replay: days of life for a virtual UVA/Padova patient (meals, misjudged
** announcements, carb-ratio boluses, unannounced snacks, steady basal), the
** true glucose course (mt_sim_run, DOPRI5) and the CGM data stream a live
** twin would receive (Breton and Kovatchev 2008 sensor noise). The life and
** its randomness are specified in include/medtwin/replay.h.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/replay.h"
#include "medtwin/rng.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"

#define DAY_MIN 1440
#define CGM_EVERY_MIN 5
#define MEALS_PER_DAY 4 /* three meals and at most one snack */

/* Purposes (first key) of the random streams, spelling "rplife", "rpsens". */
#define RNG_LIFE 0x72706c696665ULL
#define RNG_SENSOR 0x727073656e73ULL

struct mt_replay {
  mt_patient *pt;
  mt_cgm_sensor sensor;
  int days;
  double basal_u_per_h;
  int n_meal;
  mt_replay_meal *meal;
  mt_stream stream;
  int n;                         /* truth rows */
  double *t, *bg, *cgm_nf, *cgm; /* one block of 4 n, owned through t */
};

/* One meal slot: start window (whole minutes after midnight, inclusive) and
** carbohydrate range (g). */
typedef struct slot {
  int t_lo, t_hi;
  double g_lo, g_hi;
} slot;

static const slot meal_slot[3] = {
  {6 * 60 + 30, 8 * 60 + 30, 30, 70},   /* breakfast */
  {11 * 60 + 30, 13 * 60 + 30, 50, 100}, /* lunch */
  {18 * 60, 20 * 60, 60, 110},           /* dinner */
};
static const slot snack_slot = {14 * 60 + 30, 17 * 60, 10, 30};

void mt_replay_config_init(mt_replay_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->patient = "adult#003";
  cfg->days = 1;
  cfg->seed = 1;
  cfg->sensor = "GuardianRT";
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
  if (!err || errlen == 0)
    return code;
  int n = snprintf(err, errlen, "replay: ");
  if (n >= 0 && (size_t)n < errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* ---- life ---------------------------------------------------------------- */

static double uniform(mt_rng *r, double lo, double hi)
{
  return lo + (hi - lo) * mt_rng_uniform(r);
}

/* Uniform on the integers lo..hi inclusive. */
static int uniform_int(mt_rng *r, int lo, int hi)
{
  int k = (int)floor(mt_rng_uniform(r) * (hi - lo + 1));
  return lo + (k > hi - lo ? hi - lo : k);
}

/* Meal `which` (0-2) of day `day`, from its own stream. */
static mt_replay_meal draw_meal(uint64_t seed, int day, int which, double cr)
{
  mt_rng r;
  mt_rng_init(&r, seed, RNG_LIFE, (uint64_t)day, (uint64_t)which);
  const slot *s = &meal_slot[which];
  mt_replay_meal m = {0};
  m.t_min = (double)day * DAY_MIN + uniform_int(&r, s->t_lo, s->t_hi);
  m.grams = uniform(&r, s->g_lo, s->g_hi);
  m.duration_min = uniform_int(&r, 10, 20);
  m.announced_g = m.grams * uniform(&r, 0.7, 1.3);
  m.bolus_u = m.announced_g / cr;
  return m;
}

/* The day's snack (slot 3 of its stream); 0 on a day without one. */
static int draw_snack(uint64_t seed, int day, mt_replay_meal *out)
{
  mt_rng r;
  mt_rng_init(&r, seed, RNG_LIFE, (uint64_t)day, 3);
  int eats = mt_rng_uniform(&r) < 0.5;
  mt_replay_meal m = {0};
  m.t_min = (double)day * DAY_MIN +
            uniform_int(&r, snack_slot.t_lo, snack_slot.t_hi);
  m.grams = uniform(&r, snack_slot.g_lo, snack_slot.g_hi);
  m.duration_min = 5;
  m.snack = 1;
  *out = m;
  return eats;
}

/* Every day's meals in time order: breakfast, lunch, snack, dinner. */
static int make_life(mt_replay *r, uint64_t seed)
{
  r->meal = calloc((size_t)r->days * MEALS_PER_DAY, sizeof *r->meal);
  if (!r->meal)
    return MT_ENOMEM;
  double cr = r->pt->cr_g_per_u;
  for (int d = 0; d < r->days; d++) {
    r->meal[r->n_meal++] = draw_meal(seed, d, 0, cr);
    r->meal[r->n_meal++] = draw_meal(seed, d, 1, cr);
    if (draw_snack(seed, d, &r->meal[r->n_meal]))
      r->n_meal++;
    r->meal[r->n_meal++] = draw_meal(seed, d, 2, cr);
  }
  return MT_OK;
}

/* ---- truth ---------------------------------------------------------------- */

/* The patient's steady-state inputs from the model's init (U/min). */
static int basal_inputs(const mt_patient *pt, double *u_basal)
{
  const mt_model *m = pt->model;
  size_t n = (size_t)m->n_state + (size_t)m->n_mem + 1;
  double *x = malloc(n * sizeof *x);
  if (!x)
    return MT_ENOMEM;
  int rc = m->init(pt->param, x, x + m->n_state, u_basal) < 0 ? MT_EINVAL : 0;
  free(x);
  return rc;
}

static int build_schedule(const mt_replay *r, int cho, int ins,
                          double basal_u_per_min, mt_schedule **out)
{
  mt_schedule *s;
  int rc = mt_schedule_create(r->pt->model->n_input, &s);
  if (!rc)
    rc = mt_schedule_level(s, ins, 0.0, basal_u_per_min);
  for (int i = 0; !rc && i < r->n_meal; i++) {
    const mt_replay_meal *m = &r->meal[i];
    rc = mt_schedule_pulse(s, cho, m->t_min, m->t_min + m->duration_min,
                           m->grams / m->duration_min, MT_PULSE_BITES);
    if (!rc && !m->snack)
      rc = mt_schedule_pulse(s, ins, m->t_min, m->t_min + 1, m->bolus_u, 0);
  }
  if (rc) {
    mt_schedule_free(s);
    s = NULL;
  }
  *out = s;
  return rc;
}

/* ---- insulin-sensitivity drift (replay.h) ------------------------------ */

#define DRIFT_BLOCK_MIN 30
#define TWO_PI 6.283185307179586

/* s(t) = 1 - drift cos(2 pi t_clock / 1440), t_clock minutes since midnight. */
static double drift_scale(double isf_drift, double t_min)
{
  return 1.0 - isf_drift * cos(TWO_PI * fmod(t_min, DAY_MIN) / DAY_MIN);
}

/* Where block k ends: its 30-min mark, or, when that falls while
** carbohydrate is being eaten, the end of the meal (a restart inside a meal
** would make the model take it for a new one). *j walks the sorted meals. */
static double block_end(const mt_replay *r, int k, int *j)
{
  double b = (double)(k + 1) * DRIFT_BLOCK_MIN, t_last = r->t[r->n - 1];
  for (; *j < r->n_meal; ++*j) {
    const mt_replay_meal *m = &r->meal[*j];
    if (m->t_min + m->duration_min <= b)
      continue;
    if (m->t_min < b)
      b = m->t_min + m->duration_min;
    break;
  }
  return b < t_last ? b : t_last;
}

/* The patient's parameters for the block centred at t_mid (min): Vmx (index
** vmx) and kp3 (kp3) scaled by s(t_mid), then the derived ones recomputed. */
static int block_param(const mt_patient *pt, double isf_drift, double t_mid,
                       int vmx, int kp3, double *p)
{
  const mt_model *m = pt->model;
  double s = drift_scale(isf_drift, t_mid);
  memcpy(p, pt->param, (size_t)m->n_param * sizeof *p);
  p[vmx] *= s;
  p[kp3] *= s;
  return m->derive && m->derive(p) < 0 ? MT_EINVAL : MT_OK;
}

/* Rows [i0, i1) of out as a series of their own: a run sampling into it
** fills those rows of out, and leaves its end state in out's x_end and
** mem_end. */
static mt_series rows(const mt_series *out, int i0, int i1)
{
  mt_series v = *out;
  v.n = i1 - i0;
  v.t += i0;
  v.x += (size_t)i0 * out->n_state;
  v.u += (size_t)i0 * out->n_input;
  v.y += (size_t)i0 * out->n_obs;
  return v;
}

/* The truth under drift, block by block, each run continuing from the state
** and discrete memory where the previous one ended (x0 and mem0 are copied
** when a run starts, so out's x_end and mem_end can be passed back in). */
static int run_drift(const mt_replay *r, double isf_drift, mt_sim *sim,
                     const mt_schedule *sch, mt_series *out, char *err,
                     size_t errlen)
{
  const mt_model *m = r->pt->model;
  int vmx = mt_var_index(m->param, m->n_param, "Vmx");
  int kp3 = mt_var_index(m->param, m->n_param, "kp3");
  double *p = malloc((size_t)m->n_param * sizeof *p);
  if (!p || vmx < 0 || kp3 < 0) {
    free(p);
    return fail(err, errlen, p ? MT_EINVAL : MT_ENOMEM, "no insulin "
                "sensitivity to drift in %s", m->name);
  }
  double t0 = 0, t_last = r->t[r->n - 1];
  int rc = MT_OK, i0 = 0, j = 0;
  for (int k = 0; !rc && t0 < t_last; k++) {
    double t1 = block_end(r, k, &j);
    int i1 = t1 < t_last ? (int)ceil(t1) : r->n; /* samples in [t0, t1) */
    mt_series v = rows(out, i0, i1);
    rc = block_param(r->pt, isf_drift, (k + 0.5) * DRIFT_BLOCK_MIN, vmx, kp3,
                     p);
    if (rc)
      fail(err, errlen, rc, "%s: drifted parameters inconsistent at t_min "
           "%g", r->pt->id, t0);
    else if ((rc = mt_sim_run(sim, p, k ? out->x_end : NULL,
                              k ? out->mem_end : NULL, sch, t0, t1, &v)))
      fail(err, errlen, rc, "simulation of %s failed: %s", r->pt->id,
           mt_sim_errmsg(sim));
    t0 = t1, i0 = i1;
  }
  free(p);
  return rc;
}

/* Integrate and copy BG and the noise-free CGM at every minute. */
static int run_truth(mt_replay *r, const mt_schedule *sch, double isf_drift,
                     char *err, size_t errlen)
{
  const mt_model *m = r->pt->model;
  int bg = mt_var_index(m->obs, m->n_obs, "BG");
  int cgm = mt_var_index(m->obs, m->n_obs, "CGM");
  mt_series out;
  mt_sim_config cfg;
  mt_sim *sim = NULL;
  mt_sim_config_init(&cfg);
  int rc = mt_series_alloc(&out, m, r->n);
  if (!rc)
    rc = mt_sim_create(m, &cfg, &sim);
  if (rc) {
    mt_series_clear(&out);
    return fail(err, errlen, rc, "cannot set up the simulation: %s",
                mt_strerror(rc));
  }
  memcpy(out.t, r->t, (size_t)r->n * sizeof *r->t);
  if (isf_drift > 0) {
    rc = run_drift(r, isf_drift, sim, sch, &out, err, errlen);
  } else if ((rc = mt_sim_run(sim, r->pt->param, NULL, NULL, sch, 0.0,
                              r->t[r->n - 1], &out))) {
    fail(err, errlen, rc, "simulation of %s failed: %s", r->pt->id,
         mt_sim_errmsg(sim));
  }
  for (int i = 0; !rc && i < r->n; i++) {
    r->bg[i] = out.y[(size_t)i * m->n_obs + bg];
    r->cgm_nf[i] = out.y[(size_t)i * m->n_obs + cgm];
    if (!isfinite(r->bg[i]) || !isfinite(r->cgm_nf[i]))
      rc = fail(err, errlen, MT_ESOLVER, "glucose of %s not finite at "
                "t_min %d", r->pt->id, i);
  }
  mt_sim_free(sim);
  mt_series_clear(&out);
  return rc;
}

/* Readings every 5 min: the noise at the sensor sample nearest each time. */
static int add_readings(mt_replay *r, uint64_t seed)
{
  mt_rng rng;
  mt_cgm_noise g;
  mt_rng_init(&rng, seed, RNG_SENSOR, 0, 0);
  int rc = mt_cgm_noise_init(&g, &r->sensor, &rng);
  if (rc)
    return rc;
  double noise = mt_cgm_noise_next(&g); /* sample 0, at t = 0 */
  long have = 0;
  for (int i = 0; i < r->n; i++) {
    r->cgm[i] = NAN;
    if (i % CGM_EVERY_MIN)
      continue;
    long want = lround(r->t[i] / r->sensor.sample_min);
    for (; have < want; have++)
      noise = mt_cgm_noise_next(&g);
    r->cgm[i] = mt_cgm_reading(&r->sensor, r->cgm_nf[i], noise);
  }
  return MT_OK;
}

/* ---- stream ---------------------------------------------------------------- */

static void put(mt_stream *s, double t, mt_stream_kind k, double v)
{
  mt_datum *d = &s->d[s->n++]; /* calloc'd: padding stays zero */
  d->t_min = t;
  d->kind = k;
  d->value = v;
  d->line = s->n + 1;
}

static void put_meal(mt_stream *s, const mt_replay_meal *m)
{
  if (m->snack)
    return;
  put(s, m->t_min, MT_DATA_CARBS, m->announced_g);
  put(s, m->t_min, MT_DATA_BOLUS, m->bolus_u);
}

static int build_stream(mt_replay *r)
{
  mt_stream *s = &r->stream;
  size_t cap = 1 + (size_t)r->n / CGM_EVERY_MIN + 1 + 2 * (size_t)r->n_meal;
  if (!(s->d = calloc(cap, sizeof *s->d)))
    return MT_ENOMEM;
  put(s, 0.0, MT_DATA_BASAL, r->basal_u_per_h);
  int j = 0;
  for (int i = 0; i < r->n; i += CGM_EVERY_MIN) {
    for (; j < r->n_meal && r->meal[j].t_min < r->t[i]; j++)
      put_meal(s, &r->meal[j]);
    put(s, r->t[i], MT_DATA_CGM, r->cgm[i]);
  }
  for (; j < r->n_meal; j++)
    put_meal(s, &r->meal[j]);
  return MT_OK;
}

/* ---- generate ---------------------------------------------------------------- */

static int load_inputs(const mt_replay_config *cfg, mt_replay *r, char *err,
                       size_t errlen)
{
  if (cfg->days < 1 || cfg->days > MT_REPLAY_MAX_DAYS)
    return fail(err, errlen, MT_EINVAL, "days: expected 1 to %d, got %d",
                MT_REPLAY_MAX_DAYS, cfg->days);
  r->days = cfg->days;
  if (!(cfg->isf_drift >= 0 && cfg->isf_drift <= 0.9))
    return fail(err, errlen, MT_EINVAL, "isf_drift: expected 0 to 0.9, got "
                "%g", cfg->isf_drift);
  const mt_model *m = mt_model_find("uva_padova_t1d");
  if (!m)
    return fail(err, errlen, MT_ENOTFOUND, "model uva_padova_t1d missing");
  int rc = mt_patient_load(m, cfg->patient ? cfg->patient : "", &r->pt, err,
                           errlen);
  if (rc)
    return rc;
  if (!(isfinite(r->pt->cr_g_per_u) && r->pt->cr_g_per_u > 0))
    return fail(err, errlen, MT_EINVAL, "patient %s has no carbohydrate "
                "ratio", r->pt->id);
  const char *sensor = cfg->sensor ? cfg->sensor : "";
  rc = mt_cgm_sensor_load(sensor, &r->sensor);
  if (rc)
    return fail(err, errlen, rc == MT_ENOTFOUND ? MT_EINVAL : rc,
                "unknown CGM sensor '%s' (Dexcom, GuardianRT, Navigator)",
                sensor);
  return MT_OK;
}

static int alloc_truth(mt_replay *r)
{
  r->n = r->days * DAY_MIN + 1;
  if (!(r->t = malloc(4 * (size_t)r->n * sizeof *r->t)))
    return MT_ENOMEM;
  r->bg = r->t + r->n;
  r->cgm_nf = r->bg + r->n;
  r->cgm = r->cgm_nf + r->n;
  for (int i = 0; i < r->n; i++)
    r->t[i] = i;
  return MT_OK;
}

static int generate(const mt_replay_config *cfg, mt_replay *r, char *err,
                    size_t errlen)
{
  int rc = load_inputs(cfg, r, err, errlen);
  if (rc)
    return rc;
  const mt_model *m = r->pt->model;
  int cho = mt_var_index(m->input, m->n_input, "CHO");
  int ins = mt_var_index(m->input, m->n_input, "insulin");
  double u_basal[8];
  if (cho < 0 || ins < 0 || m->n_input > 8 || !m->init ||
      (rc = basal_inputs(r->pt, u_basal)))
    return fail(err, errlen, rc ? rc : MT_EINVAL, "no steady state for %s",
                r->pt->id);
  r->basal_u_per_h = u_basal[ins] * 60.0;
  mt_schedule *sch = NULL;
  if ((rc = make_life(r, cfg->seed)) || (rc = alloc_truth(r)) ||
      (rc = build_schedule(r, cho, ins, u_basal[ins], &sch)))
    return fail(err, errlen, rc, "%s", mt_strerror(rc));
  rc = run_truth(r, sch, cfg->isf_drift, err, errlen);
  mt_schedule_free(sch);
  if (rc)
    return rc;
  if ((rc = add_readings(r, cfg->seed)) || (rc = build_stream(r)))
    return fail(err, errlen, rc, "%s", mt_strerror(rc));
  return MT_OK;
}

int mt_replay_generate(const mt_replay_config *cfg, mt_replay **out,
                       char *err, size_t errlen)
{
  if (err && errlen)
    err[0] = '\0';
  if (!out)
    return fail(err, errlen, MT_EINVAL, "no output handle");
  *out = NULL;
  if (!cfg)
    return fail(err, errlen, MT_EINVAL, "no configuration");
  mt_replay *r = calloc(1, sizeof *r);
  if (!r)
    return fail(err, errlen, MT_ENOMEM, "%s", mt_strerror(MT_ENOMEM));
  int rc = generate(cfg, r, err, errlen);
  if (rc) {
    mt_replay_free(r);
    return rc;
  }
  *out = r;
  return MT_OK;
}

void mt_replay_free(mt_replay *r)
{
  if (!r)
    return;
  mt_patient_free(r->pt);
  free(r->meal);
  mt_stream_clear(&r->stream);
  free(r->t);
  free(r);
}

/* ---- accessors ---------------------------------------------------------- */

const mt_stream *mt_replay_stream(const mt_replay *r)
{
  return r ? &r->stream : NULL;
}

int mt_replay_truth(const mt_replay *r, const double **t, const double **bg,
                    const double **cgm_nf, const double **cgm, int *n)
{
  if (!r)
    return MT_EINVAL;
  if (t)
    *t = r->t;
  if (bg)
    *bg = r->bg;
  if (cgm_nf)
    *cgm_nf = r->cgm_nf;
  if (cgm)
    *cgm = r->cgm;
  if (n)
    *n = r->n;
  return MT_OK;
}

int mt_replay_meals(const mt_replay *r, const mt_replay_meal **meals)
{
  if (meals)
    *meals = r ? r->meal : NULL;
  return r ? r->n_meal : 0;
}

const mt_patient *mt_replay_patient(const mt_replay *r)
{
  return r ? r->pt : NULL;
}

const mt_cgm_sensor *mt_replay_sensor(const mt_replay *r)
{
  return r ? &r->sensor : NULL;
}

double mt_replay_basal_u_per_h(const mt_replay *r)
{
  return r ? r->basal_u_per_h : NAN;
}

/* ---- writers ------------------------------------------------------------ */

static int finish(FILE *f)
{
  return ferror(f) ? MT_EIO : MT_OK;
}

int mt_replay_write_stream(const mt_stream *s, FILE *f)
{
  if (!s || !f || (s->n > 0 && !s->d))
    return MT_EINVAL;
  fputs("t_min,kind,value\n", f);
  for (int i = 0; i < s->n; i++) {
    const char *kind = mt_stream_kind_name(s->d[i].kind);
    if (!kind)
      return MT_EINVAL;
    fprintf(f, "%.10g,%s,%.10g\n", s->d[i].t_min, kind, s->d[i].value);
  }
  return finish(f);
}

/* A number as %.10g, or nothing for NaN, after a comma. */
static void field(FILE *f, double v)
{
  if (isnan(v))
    fputc(',', f);
  else
    fprintf(f, ",%.10g", v);
}

int mt_replay_write_truth(const mt_replay *r, FILE *f)
{
  if (!r || !f)
    return MT_EINVAL;
  fputs("t_min,bg_mgdl,cgm_noisefree_mgdl,cgm_mgdl\n", f);
  for (int i = 0; i < r->n; i++) {
    fprintf(f, "%.10g", r->t[i]);
    field(f, r->bg[i]);
    field(f, r->cgm_nf[i]);
    field(f, r->cgm[i]);
    fputc('\n', f);
  }
  return finish(f);
}
