/*
** What-if ranking of drug regimens for a heart model (medtwin/regimen.h):
** the regimens file parser, the simulation of one regimen over a horizon
** (sparse samples between measured windows of beats), the score and the
** ranking. File format and score: docs/regimens.md.
*/
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/errfmt.h"
#include "medtwin/beats.h"
#include "medtwin/error.h"
#include "medtwin/regimen.h"
#include "medtwin/schedule.h"

#define RG_MAX_REGIMENS 64
#define RG_MAX_DOSES 256
#define RG_MAX_MIN 129600.0  /* a dose's time and duration: up to 90 days */
#define RG_MAX_AMOUNT 1e6    /* mg or ug per dose */
#define RG_MAX_HORIZON_H 2160.0 /* 90 days (a beat-averaged model; the
                             ** command holds a beat-resolved one to 24 h) */
#define RG_MAX_FILE (1 << 20)
#define RG_MAX_BEATS 4000

typedef struct ctx {
  const char *name;
  char *err;
  size_t errlen;
} ctx;

static int fail(const ctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const ctx *c, int rc, const char *fmt, ...)
{
  va_list ap; /* one line: names and the parser's quote may hold any byte */
  va_start(ap, fmt);
  rc = mt_vfail(c->err, c->errlen, rc, c->name, fmt, ap);
  va_end(ap);
  return rc;
}

void mt_regimen_targets_default(mt_regimen_targets *t)
{
  t->map_mmhg = (mt_regimen_range){65, 90};
  t->co_lmin = (mt_regimen_range){4, NAN};
  t->ef_pct = (mt_regimen_range){40, NAN};
}

/* A JSON value in a few words, for messages. */
static void show(const json_t *v, char *buf, size_t len)
{
  if (!v)
    snprintf(buf, len, "nothing (missing)");
  else if (json_is_number(v))
    snprintf(buf, len, "%g", json_number_value(v));
  else if (json_is_string(v))
    snprintf(buf, len, "\"%.40s\"", json_string_value(v));
  else
    snprintf(buf, len, "%s", json_is_object(v)   ? "an object"
                             : json_is_array(v)  ? "an array"
                             : json_is_boolean(v) ? "a boolean"
                                                  : "null");
}

/* Number at key of o into *x: required (absent is an error) or the
** default def; in [lo, hi] (lo excluded when open_lo). */
static int num(const ctx *c, const json_t *o, const char *path,
               const char *key, int required, double def, double lo,
               int open_lo, double hi, const char *unit, double *x)
{
  const json_t *v = json_object_get(o, key);
  char got[64];
  if (!v && !required) {
    *x = def;
    return 0;
  }
  double d = v && json_is_number(v) ? json_number_value(v) : NAN;
  if (isfinite(d) && (open_lo ? d > lo : d >= lo) && d <= hi) {
    *x = d;
    return 0;
  }
  show(v, got, sizeof got);
  return fail(c, MT_EINVAL, "%s.%s: expected a number %s %g and <= %g (%s),"
              " got %s", path, key, open_lo ? ">" : ">=", lo, hi, unit, got);
}

/* Every key of o is in keys (NULL-terminated) or starts with '$'. */
static int known_keys(const ctx *c, const json_t *o, const char *path,
                      const char *const *keys, const char *expect)
{
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)o, key, v) {
    int ok = key[0] == '$';
    for (int i = 0; !ok && keys[i]; i++)
      ok = !strcmp(key, keys[i]);
    if (!ok)
      return fail(c, MT_EINVAL, "%s%s%s: unknown key (expected %s)", path,
                  *path ? "." : "", key, expect);
  }
  return 0;
}

static int input_list(const mt_model *m, char *buf, size_t len)
{
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < m->n_input && k < len; i++)
    k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "",
                          m->input[i].name);
  return 0;
}

static int parse_dose(const ctx *c, const mt_model *m, const json_t *o,
                      const char *path, mt_regimen_dose *d)
{
  static const char *const keys[] = {"drug", "amount", "rate_per_min",
                                     "t_min", "duration_min", NULL};
  if (!json_is_object(o))
    return fail(c, MT_EINVAL, "%s: expected an object", path);
  int rc = known_keys(c, o, path, keys, "drug, amount or rate_per_min, "
                      "t_min, duration_min");
  if (rc)
    return rc;
  const json_t *dr = json_object_get(o, "drug");
  char got[64], names[256];
  if (!json_is_string(dr)) {
    show(dr, got, sizeof got);
    return fail(c, MT_EINVAL, "%s.drug: expected a string, got %s", path,
                got);
  }
  const char *drug = json_string_value(dr);
  if (strlen(drug) >= MT_DRUG_NAME_MAX ||
      mt_var_index(m->input, m->n_input, drug) < 0) {
    input_list(m, names, sizeof names);
    return fail(c, MT_EINVAL, "%s.drug: model %s has no input \"%.40s\" "
                "(expected one of %s)", path, m->name, drug, names);
  }
  snprintf(d->drug, sizeof d->drug, "%s", drug);
  int has_amt = json_object_get(o, "amount") != NULL;
  int has_rate = json_object_get(o, "rate_per_min") != NULL;
  if (has_amt == has_rate)
    return fail(c, MT_EINVAL, "%s: expected exactly one of amount (a total)"
                " and rate_per_min (an infusion)", path);
  rc = num(c, o, path, "t_min", 1, 0, 0, 0, RG_MAX_MIN, "min", &d->t_min);
  if (!rc)
    rc = num(c, o, path, "duration_min", has_rate, 1, 0, 1, RG_MAX_MIN,
             "min", &d->duration_min);
  if (!rc && has_amt)
    rc = num(c, o, path, "amount", 1, 0, 0, 0, RG_MAX_AMOUNT, "mg or ug",
             &d->amount);
  double rate = 0;
  if (!rc && has_rate &&
      !(rc = num(c, o, path, "rate_per_min", 1, 0, 0, 0, RG_MAX_AMOUNT,
                 "mg or ug per min", &rate)))
    d->amount = rate * d->duration_min;
  return rc;
}

static int parse_regimen(const ctx *c, const mt_model *m, const json_t *o,
                         int i, mt_regimen *r)
{
  static const char *const keys[] = {"name", "doses", NULL};
  char path[48], dpath[96], got[64];
  snprintf(path, sizeof path, "regimens[%d]", i);
  if (!json_is_object(o))
    return fail(c, MT_EINVAL, "%s: expected an object", path);
  int rc = known_keys(c, o, path, keys, "name, doses");
  if (rc)
    return rc;
  const json_t *nm = json_object_get(o, "name");
  if (!json_is_string(nm) || !json_string_length(nm) ||
      json_string_length(nm) >= MT_REGIMEN_NAME_MAX) {
    show(nm, got, sizeof got);
    return fail(c, MT_EINVAL, "%s.name: expected a string of 1 to %d "
                "characters, got %s", path, MT_REGIMEN_NAME_MAX - 1, got);
  }
  snprintf(r->name, sizeof r->name, "%s", json_string_value(nm));
  const json_t *ds = json_object_get(o, "doses");
  if (!json_is_array(ds) || json_array_size(ds) > RG_MAX_DOSES) {
    show(ds, got, sizeof got);
    return fail(c, MT_EINVAL, "%s.doses: expected an array of at most %d "
                "doses (empty for no drug), got %s", path, RG_MAX_DOSES,
                got);
  }
  r->n_dose = (int)json_array_size(ds);
  if (r->n_dose && !(r->dose = calloc((size_t)r->n_dose, sizeof *r->dose)))
    return fail(c, MT_ENOMEM, "out of memory");
  for (int k = 0; !rc && k < r->n_dose; k++) {
    snprintf(dpath, sizeof dpath, "%s.doses[%d]", path, k);
    rc = parse_dose(c, m, json_array_get(ds, (size_t)k), dpath, &r->dose[k]);
  }
  return rc;
}

static int parse_range(const ctx *c, const json_t *t, const char *key,
                       mt_regimen_range *r, double hi)
{
  const json_t *o = json_object_get(t, key);
  char path[64];
  snprintf(path, sizeof path, "targets.%s", key);
  if (!o)
    return 0;
  static const char *const keys[] = {"min", "max", NULL};
  if (!json_is_object(o))
    return fail(c, MT_EINVAL, "%s: expected an object with min and/or max",
                path);
  int rc = known_keys(c, o, path, keys, "min, max");
  r->lo = r->hi = NAN;
  if (!rc && json_object_get(o, "min"))
    rc = num(c, o, path, "min", 1, 0, 0, 0, hi, "", &r->lo);
  if (!rc && json_object_get(o, "max"))
    rc = num(c, o, path, "max", 1, 0, 0, 0, hi, "", &r->hi);
  if (!rc && isnan(r->lo) && isnan(r->hi))
    rc = fail(c, MT_EINVAL, "%s: expected min and/or max", path);
  if (!rc && r->lo > r->hi)
    rc = fail(c, MT_EINVAL, "%s: min %g above max %g", path, r->lo, r->hi);
  return rc;
}

static int parse_top(const ctx *c, const mt_model *m, const json_t *root,
                     mt_regimen_set *s)
{
  static const char *const keys[] = {"horizon_h", "baroreflex", "targets",
                                     "regimens", NULL};
  if (!json_is_object(root))
    return fail(c, MT_EINVAL, "expected an object at the top level");
  int rc = known_keys(c, root, "", keys, "horizon_h, baroreflex, targets, "
                      "regimens");
  if (!rc)
    rc = num(c, root, "", "horizon_h", 0, 0, 0, 1, RG_MAX_HORIZON_H, "h",
             &s->horizon_h);
  const json_t *b = json_object_get(root, "baroreflex");
  if (!rc && b && !json_is_boolean(b))
    rc = fail(c, MT_EINVAL, "baroreflex: expected true or false");
  s->baroreflex = b ? json_is_true(b) : -1;
  const json_t *t = json_object_get(root, "targets");
  static const char *const tkeys[] = {"map_mmhg", "co_lmin", "ef_pct", NULL};
  if (!rc && t && !json_is_object(t))
    rc = fail(c, MT_EINVAL, "targets: expected an object");
  if (!rc && t)
    rc = known_keys(c, t, "targets", tkeys, "map_mmhg, co_lmin, ef_pct");
  if (!rc && t)
    rc = parse_range(c, t, "map_mmhg", &s->targets.map_mmhg, 300);
  if (!rc && t)
    rc = parse_range(c, t, "co_lmin", &s->targets.co_lmin, 30);
  if (!rc && t)
    rc = parse_range(c, t, "ef_pct", &s->targets.ef_pct, 100);
  const json_t *rs = json_object_get(root, "regimens");
  if (!rc && (!json_is_array(rs) || !json_array_size(rs) ||
              json_array_size(rs) > RG_MAX_REGIMENS))
    rc = fail(c, MT_EINVAL, "regimens: expected an array of 1 to %d "
              "regimens", RG_MAX_REGIMENS);
  if (rc)
    return rc;
  s->n = (int)json_array_size(rs);
  if (!(s->r = calloc((size_t)s->n, sizeof *s->r)))
    return fail(c, MT_ENOMEM, "out of memory");
  for (int i = 0; !rc && i < s->n; i++)
    rc = parse_regimen(c, m, json_array_get(rs, (size_t)i), i, &s->r[i]);
  return rc;
}

int mt_regimen_set_parse(const char *json, size_t len, const char *name,
                         const mt_model *m, mt_regimen_set **out, char *err,
                         size_t errlen)
{
  ctx c = {name ? name : "<regimens>", err, errlen};
  *out = NULL;
  if (err && errlen)
    err[0] = '\0';
  if (!json || !m)
    return fail(&c, MT_EINVAL, "no text or model");
  json_error_t je;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return fail(&c, MT_EPARSE, "line %d, column %d: %s", je.line, je.column,
                je.text);
  mt_regimen_set *s = calloc(1, sizeof *s);
  int rc = s ? 0 : fail(&c, MT_ENOMEM, "out of memory");
  if (s) {
    mt_regimen_targets_default(&s->targets);
    rc = parse_top(&c, m, root, s);
  }
  json_decref(root);
  if (rc) {
    mt_regimen_set_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int mt_regimen_set_load(const char *path, const mt_model *m,
                        mt_regimen_set **out, char *err, size_t errlen)
{
  ctx c = {path ? path : "<regimens>", err, errlen};
  *out = NULL;
  FILE *f = path ? fopen(path, "rb") : NULL;
  if (!f)
    return fail(&c, path ? MT_EIO : MT_EINVAL, "%s",
                path ? strerror(errno) : "no file name");
  char *buf = malloc(RG_MAX_FILE + 1);
  size_t n = buf ? fread(buf, 1, RG_MAX_FILE + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  int rc = !buf ? fail(&c, MT_ENOMEM, "out of memory")
           : bad ? fail(&c, MT_EIO, "cannot read the file")
           : n > RG_MAX_FILE ? fail(&c, MT_EINVAL, "larger than %d bytes",
                                    RG_MAX_FILE)
                             : mt_regimen_set_parse(buf, n, path, m, out,
                                                    err, errlen);
  free(buf);
  return rc;
}

void mt_regimen_set_free(mt_regimen_set *s)
{
  if (!s)
    return;
  for (int i = 0; i < s->n && s->r; i++)
    free(s->r[i].dose);
  free(s->r);
  free(s);
}

void mt_regimen_config_init(mt_regimen_config *c)
{
  memset(c, 0, sizeof *c);
  c->horizon_s = 7200;
  c->window_s = 60;
  c->check_s = 900;
  c->check_window_s = 10;
  c->dt_s = 1e-3;
  mt_sim_config_init(&c->sim);
}

/* ---- Simulation ---------------------------------------------------- */

/* A run in pieces: the state carried from one piece to the next. */
typedef struct runner {
  const mt_model *m;
  const double *p;
  const mt_schedule *sch;
  const mt_regimen_config *cfg;
  mt_sim *sim;
  mt_series sparse, dense;
  double *x, *mem, t;
  int started;
  mt_beat_cols cols;
  mt_beat *beats;
  mt_regimen_outcome *o;
  const ctx *c;
} runner;

static void add_stats(mt_sim_stats *a, const mt_sim_stats *b)
{
  a->n_rhs += b->n_rhs, a->n_step += b->n_step, a->n_reject += b->n_reject;
  a->n_segment += b->n_segment, a->n_root += b->n_root;
}

/* Advance from rn->t to t_end, sampling into out (its times set here: n
** evenly spaced from rn->t to t_end). */
static int advance(runner *rn, mt_series *out, double t_end)
{
  int n = out->n;
  for (int i = 0; i < n; i++)
    out->t[i] = i == n - 1 ? t_end
                           : rn->t + (t_end - rn->t) * i / (double)(n - 1);
  int rc = mt_sim_run(rn->sim, rn->p, rn->started ? rn->x : NULL,
                      rn->started ? rn->mem : NULL, rn->sch, rn->t, t_end,
                      out);
  add_stats(&rn->o->stats, mt_sim_last_stats(rn->sim));
  if (rc)
    return fail(rn->c, rc, "simulation failed at %g s: %s", rn->t,
                mt_sim_errmsg(rn->sim));
  memcpy(rn->x, out->x_end, (size_t)rn->m->n_state * sizeof *rn->x);
  if (rn->m->n_mem)
    memcpy(rn->mem, out->mem_end, (size_t)rn->m->n_mem * sizeof *rn->mem);
  rn->o->simulated_s += t_end - rn->t;
  rn->t = t_end, rn->started = 1;
  return 0;
}

/* Beats of the dense series: by the phase state, else of the HR
** parameter's fixed period from the window's start. */
static int beats_of(runner *rn, int *nb)
{
  if (mt_var_index(rn->m->state, rn->m->n_state, "phi") >= 0)
    return mt_beats_by_phase(rn->m, &rn->dense, &rn->cols, rn->beats,
                             RG_MAX_BEATS, nb);
  int hr = mt_var_index(rn->m->param, rn->m->n_param, "HR");
  return mt_beats_compute(&rn->dense, &rn->cols, rn->dense.t[0],
                          60.0 / rn->p[hr], rn->beats, RG_MAX_BEATS, nb);
}

/* Sparse to t_end - len, then len of dense samples; the mean of its whole
** beats into o (the last window) when last, and the worst MAP updated. */
static int window(runner *rn, double t_end, double len, int last)
{
  int rc = 0, nb = 0;
  if (t_end - len > rn->t)
    rc = advance(rn, &rn->sparse, t_end - len);
  double t0 = rn->t;
  int n = (int)floor((t_end - t0) / rn->cfg->dt_s + 1e-9) + 1;
  if (!rc && n > rn->dense.n)
    return fail(rn->c, MT_EINVAL, "window of %g s too long", t_end - t0);
  int keep = rn->dense.n;
  rn->dense.n = n < 2 ? 2 : n;
  if (!rc)
    rc = advance(rn, &rn->dense, t_end);
  if (!rc && (beats_of(rn, &nb) || nb < 1))
    rc = fail(rn->c, MT_ESOLVER, "no whole beat in the window ending at %g s",
              t_end);
  rn->dense.n = keep;
  if (rc)
    return rc;
  mt_regimen_outcome a;
  memset(&a, 0, sizeof a);
  for (int j = 0; j < nb; j++) {
    const mt_beat *b = &rn->beats[j];
    a.map_mmhg += b->map_mmhg / nb, a.co_lmin += b->co_lmin / nb;
    a.ef_pct += b->ef_pct / nb, a.hr_bpm += b->hr_bpm / nb;
    a.sbp_mmhg += b->sbp_mmhg / nb, a.dbp_mmhg += b->dbp_mmhg / nb;
  }
  mt_regimen_outcome *o = rn->o;
  if (!(a.map_mmhg >= o->worst_map_mmhg))
    o->worst_map_mmhg = a.map_mmhg, o->worst_map_t_s = t_end;
  if (last) {
    o->map_mmhg = a.map_mmhg, o->co_lmin = a.co_lmin, o->ef_pct = a.ef_pct;
    o->hr_bpm = a.hr_bpm, o->sbp_mmhg = a.sbp_mmhg, o->dbp_mmhg = a.dbp_mmhg;
    o->n_beats = nb;
  }
  return 0;
}

/* The doses on m's inputs; per_min: model time units per minute (60 for
** a model in s, 1 for one in min). */
static int build_schedule(const ctx *c, const mt_model *m,
                          const mt_regimen *r, double per_min,
                          mt_schedule **out)
{
  int rc = mt_schedule_create(m->n_input, out);
  if (rc)
    return fail(c, rc, "cannot create the schedule");
  for (int i = 0; !rc && i < r->n_dose; i++) {
    const mt_regimen_dose *d = &r->dose[i];
    int k = mt_var_index(m->input, m->n_input, d->drug);
    if (k < 0 || !(d->duration_min > 0) || !(d->amount >= 0))
      rc = fail(c, MT_EINVAL, "%s: dose %d: no input \"%s\" or a bad "
                "amount or duration", r->name, i, d->drug);
    else if ((rc = mt_schedule_pulse(*out, k, d->t_min * per_min,
                                     (d->t_min + d->duration_min) * per_min,
                                     d->amount / (d->duration_min * per_min),
                                     0)))
      rc = fail(c, rc, "%s: dose %d: cannot schedule", r->name, i);
  }
  if (rc) {
    mt_schedule_free(*out);
    *out = NULL;
  }
  return rc;
}

static int check_config(const ctx *c, const mt_model *m,
                        const mt_regimen_config *g)
{
  mt_beat_cols cols;
  if (!m->time_unit || strcmp(m->time_unit, "s"))
    return fail(c, MT_EINVAL, "model %s: time unit must be s", m->name);
  if (mt_beat_cols_find(m, &cols))
    return fail(c, MT_EINVAL, "model %s lacks the beat observables "
                "(P_ao, P_lv, V_lv, P_vc, P_pa)", m->name);
  if (mt_var_index(m->state, m->n_state, "phi") < 0 &&
      mt_var_index(m->param, m->n_param, "HR") < 0)
    return fail(c, MT_EINVAL, "model %s has neither a state phi nor a "
                "parameter HR", m->name);
  if (!(g->window_s > 0) || !(g->horizon_s >= g->window_s) ||
      !(g->check_s > 0) || !(g->check_window_s > 0) || !(g->dt_s > 0) ||
      g->window_s / g->dt_s > 1e7 || g->check_window_s > g->window_s)
    return fail(c, MT_EINVAL, "bad configuration (horizon %g s, window %g s"
                ", checks every %g s of %g s, dt %g s)", g->horizon_s,
                g->window_s, g->check_s, g->check_window_s, g->dt_s);
  return 0;
}

static int run_all(runner *rn)
{
  const mt_regimen_config *g = rn->cfg;
  int rc = 0;
  double last0 = g->horizon_s - g->window_s;
  for (double tc = g->check_s; !rc && tc < last0 - 1e-9; tc += g->check_s)
    rc = window(rn, tc, g->check_window_s, 0);
  return rc ? rc : window(rn, g->horizon_s, g->window_s, 1);
}

/* Observables of a beat-averaged model, in this order. */
static const char *const avg_obs[] = {"MAP", "CO", "EF", "HR", "SBP", "DBP"};
#define N_AVG (int)(sizeof avg_obs / sizeof avg_obs[0])

/* 1 when m is a beat-averaged heart model: time in min and the
** observables avg_obs (their indices into k). */
static int averaged(const mt_model *m, int *k)
{
  if (!m->time_unit || strcmp(m->time_unit, "min"))
    return 0;
  for (int i = 0; i < N_AVG; i++)
    if ((k[i] = mt_var_index(m->obs, m->n_obs, avg_obs[i])) < 0)
      return 0;
  return 1;
}

/*
** A beat-averaged model: the horizon in one run from the initial state,
** sampled every check_s and at the end; the figures are the end's (the
** model's observables are beat means already) and the worst MAP the lowest
** sample's.
*/
static int simulate_averaged(ctx *c, const mt_model *m, const double *p,
                             const mt_regimen *r, const mt_regimen_config *g,
                             const int *k, mt_regimen_outcome *o)
{
  double T = g->horizon_s / 60, dt = g->check_s / 60;
  if (!(T > 0) || !(dt > 0) || T / dt > 1e6)
    return fail(c, MT_EINVAL, "bad configuration (horizon %g s, checks "
                "every %g s)", g->horizon_s, g->check_s);
  int n = (int)ceil(T / dt - 1e-9) + 1;
  mt_schedule *sch = NULL;
  mt_sim *sim = NULL;
  mt_series s = {0};
  int rc = build_schedule(c, m, r, 1, &sch);
  if (!rc && (rc = mt_sim_create(m, &g->sim, &sim)))
    fail(c, rc, "cannot create the simulation");
  if (!rc && (rc = mt_series_alloc(&s, m, n)))
    fail(c, rc, "out of memory");
  if (!rc) {
    for (int i = 0; i < n; i++)
      s.t[i] = fmin(i * dt, T);
    if ((rc = mt_sim_run(sim, p, NULL, NULL, sch, 0, T, &s)))
      fail(c, rc, "%s", mt_sim_errmsg(sim));
  }
  if (!rc) {
    const double *y = s.y + (size_t)(n - 1) * m->n_obs;
    o->map_mmhg = y[k[0]], o->co_lmin = y[k[1]], o->ef_pct = y[k[2]];
    o->hr_bpm = y[k[3]], o->sbp_mmhg = y[k[4]], o->dbp_mmhg = y[k[5]];
    for (int i = 0; i < n; i++) {
      double v = s.y[(size_t)i * m->n_obs + k[0]];
      if (!(v >= o->worst_map_mmhg)) /* a NaN is the worst */
        o->worst_map_mmhg = v, o->worst_map_t_s = s.t[i] * 60;
    }
    o->simulated_s = g->horizon_s;
    o->stats = *mt_sim_last_stats(sim);
  }
  mt_series_clear(&s);
  mt_sim_free(sim);
  mt_schedule_free(sch);
  return rc;
}

int mt_regimen_simulate(const mt_model *m, const double *p,
                        const mt_regimen *r, const mt_regimen_config *cfg,
                        mt_regimen_outcome *o, char *err, size_t errlen)
{
  ctx c = {r && r->name[0] ? r->name : "regimen", err, errlen};
  if (err && errlen)
    err[0] = '\0';
  if (!m || !p || !r || !cfg || !o)
    return fail(&c, MT_EINVAL, "missing argument");
  memset(o, 0, sizeof *o);
  o->worst_map_mmhg = INFINITY;
  int kav[N_AVG];
  if (averaged(m, kav))
    return simulate_averaged(&c, m, p, r, cfg, kav, o);
  int rc = check_config(&c, m, cfg);
  if (rc)
    return rc;
  runner rn = {.m = m, .p = p, .cfg = cfg, .o = o, .c = &c};
  mt_beat_cols_find(m, &rn.cols);
  mt_schedule *sch = NULL;
  int nd = (int)floor(cfg->window_s / cfg->dt_s + 1e-9) + 2;
  rn.x = calloc((size_t)m->n_state, sizeof *rn.x);
  rn.mem = calloc((size_t)m->n_mem + 1, sizeof *rn.mem);
  rn.beats = malloc(RG_MAX_BEATS * sizeof *rn.beats);
  if (!rn.x || !rn.mem || !rn.beats || mt_series_alloc(&rn.sparse, m, 2) ||
      mt_series_alloc(&rn.dense, m, nd))
    rc = fail(&c, MT_ENOMEM, "out of memory");
  if (!rc)
    rc = build_schedule(&c, m, r, 60, &sch);
  rn.sch = sch;
  if (!rc && (rc = mt_sim_create(m, &cfg->sim, &rn.sim)))
    fail(&c, rc, "cannot create the simulation");
  if (!rc)
    rc = run_all(&rn);
  mt_sim_free(rn.sim);
  mt_schedule_free(sch);
  mt_series_clear(&rn.sparse);
  mt_series_clear(&rn.dense);
  free(rn.x), free(rn.mem), free(rn.beats);
  return rc;
}

/* ---- Score and rank ------------------------------------------------ */

/* The scale of a bound's distance: the bound, or 1 for a bound of 0. */
static double scale(double b)
{
  return b != 0 ? fabs(b) : 1;
}

/* Misses of value v against range r: 0 or 1, the relative distance added
** to *d. */
static int miss(const mt_regimen_range *r, double v, double *d)
{
  if (!isfinite(v)) {
    *d += 1;
    return 1;
  }
  if (!isnan(r->lo) && v < r->lo) {
    *d += (r->lo - v) / scale(r->lo);
    return 1;
  }
  if (!isnan(r->hi) && v > r->hi) {
    *d += (v - r->hi) / scale(r->hi);
    return 1;
  }
  return 0;
}

void mt_regimen_score(const mt_regimen_targets *t, mt_regimen_outcome *o)
{
  double d = 0;
  mt_regimen_range low = {t->map_mmhg.lo, NAN};
  int n = miss(&t->map_mmhg, o->map_mmhg, &d);
  n += miss(&t->co_lmin, o->co_lmin, &d);
  n += miss(&t->ef_pct, o->ef_pct, &d);
  if (!isnan(low.lo))
    n += miss(&low, o->worst_map_mmhg, &d);
  o->missed = n, o->distance = d;
}

/* 1 when outcome i sorts before outcome j. */
static int before(const mt_regimen_outcome *o, int i, int j)
{
  const mt_regimen_outcome *x = &o[i], *y = &o[j];
  if (x->missed != y->missed)
    return x->missed < y->missed;
  if (x->distance != y->distance)
    return x->distance < y->distance;
  if (x->ef_pct != y->ef_pct)
    return x->ef_pct > y->ef_pct;
  return i < j;
}

/* The rank of i is one more than the number sorting before it (the order
** is total: the index breaks every tie), so no allocation is needed. */
void mt_regimen_rank(int n, mt_regimen_outcome *o, int *order)
{
  for (int i = 0; i < n; i++) {
    int r = 1;
    for (int j = 0; j < n; j++)
      r += j != i && before(o, j, i);
    o[i].rank = r;
    if (order)
      order[r - 1] = i;
  }
}
