/*
** The configuration of `medtwin tissue run` (include/medtwin/tissue_spec.h,
** docs/tissue.md "The tissue command", docs/tissue-config.schema.json).
*/
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/errfmt.h"
#include "medtwin/error.h"
#include "medtwin/tissue_spec.h"

typedef struct perr {
  const char *file;
  char *err;
  size_t len;
} perr;

/* "<file>: <formatted>" on one line (mt_vfail: a field or model name, or
** the JSON parser's quote of the text, may hold any byte), MT_EINVAL. */
static int failf(const perr *file, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = mt_vfail(file->err, file->len, MT_EINVAL, file->file, fmt, ap);
  va_end(ap);
  return rc;
}

static int bad(const perr *file, const char *field, const char *expect)
{
  return failf(file, "%s: %s", field, expect);
}

/* A number member, def when absent; -1 when present and not a number. */
static int num(json_t *o, const char *key, double def, double *out)
{
  json_t *v = json_object_get(o, key);
  *out = def;
  if (!v)
    return 0;
  if (!json_is_number(v))
    return -1;
  *out = json_number_value(v);
  return 0;
}

/* An integer member in [lo, hi]; required when def < lo. */
static int inum(json_t *o, const char *key, long def, long lo, long hi,
                long *out)
{
  json_t *v = json_object_get(o, key);
  *out = def;
  if (!v)
    return def < lo ? -1 : 0;
  if (!json_is_integer(v))
    return -1;
  json_int_t x = json_integer_value(v);
  if (x < lo || x > hi)
    return -1;
  *out = (long)x;
  return 0;
}

/* Keys of object o not in the NULL-terminated list: the first, or NULL. */
static const char *unknown_key(json_t *o, const char *const *known)
{
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    int ok = 0;
    for (int i = 0; known[i]; i++)
      ok |= !strcmp(k, known[i]);
    if (!ok)
      return k;
  }
  return NULL;
}

/* Whether the tissue engine can run cell model m (tissue.h). */
int mt_tissue_model_ok(const mt_model *m)
{
  return m->n_state >= 1 && !strcmp(m->state[0].name, "V") &&
         m->n_input >= 1 && !strcmp(m->input[0].name, "I_stim") &&
         !m->on_input && m->n_root <= 0;
}

static int bad_model(const perr *file, const char *name)
{
  char list[512] = "";
  size_t len = 0;
  for (int i = 0; i < mt_model_count(); i++) {
    const mt_model *m = mt_model_at(i);
    if (mt_tissue_model_ok(m) && len < sizeof list - 1)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                              len ? ", " : "", m->name);
  }
  char msg[700];
  snprintf(msg, sizeof msg, "unknown cell model \"%.60s\": expected one of %s",
           name, list);
  return bad(file, "model", msg);
}

static int parse_stim(const perr *file, json_t *e, int k,
                      const mt_tissue_spec *t,
                      mt_tissue_stim *s)
{
  static const char *const known[] = {
    "x0_mm", "x1_mm", "y0_mm", "y1_mm", "z0_mm", "z1_mm", "start_ms",
    "duration_ms", "amplitude", "period_ms", "count", NULL};
  char f[64];
  const mt_tissue_config *c = &t->c;
  double ext[3] = {(c->nx - 1) * c->dx_mm, (c->ny - 1) * c->dx_mm,
                   (c->nz - 1) * c->dx_mm};
  if (!json_is_object(e)) {
    snprintf(f, sizeof f, "stimuli[%d]", k);
    return bad(file, f, "expected an object");
  }
  const char *u = unknown_key(e, known);
  if (u) {
    snprintf(f, sizeof f, "stimuli[%d].%.30s", k, u);
    return bad(file, f, "unknown field");
  }
  double *box[6] = {&s->x0_mm, &s->x1_mm, &s->y0_mm,
                    &s->y1_mm, &s->z0_mm, &s->z1_mm};
  for (int a = 0; a < 6; a++) {
    if (num(e, known[a], a % 2 ? ext[a / 2] : 0, box[a]) || !isfinite(*box[a])) {
      snprintf(f, sizeof f, "stimuli[%d].%s", k, known[a]);
      return bad(file, f, "expected a finite number of mm");
    }
  }
  for (int a = 0; a < 3; a++)
    if (*box[2 * a + 1] < *box[2 * a]) {
      snprintf(f, sizeof f, "stimuli[%d].%s", k, known[2 * a + 1]);
      return bad(file, f, "expected >= the box's lower bound");
    }
  long count;
  if (num(e, "start_ms", 0, &s->start_ms) || !(s->start_ms >= 0) ||
      !isfinite(s->start_ms))
    snprintf(f, sizeof f, "stimuli[%d].start_ms", k);
  else if (num(e, "duration_ms", 2, &s->duration_ms) ||
           !(s->duration_ms > 0) || !isfinite(s->duration_ms))
    snprintf(f, sizeof f, "stimuli[%d].duration_ms", k);
  else if (num(e, "amplitude", NAN, &s->amplitude) || !isfinite(s->amplitude))
    snprintf(f, sizeof f, "stimuli[%d].amplitude", k);
  else if (inum(e, "count", 1, 1, 100000, &count))
    snprintf(f, sizeof f, "stimuli[%d].count", k);
  else if (num(e, "period_ms", 0, &s->period_ms) || !isfinite(s->period_ms) ||
           (count > 1 && !(s->period_ms >= s->duration_ms)))
    snprintf(f, sizeof f, "stimuli[%d].period_ms", k);
  else {
    s->count = (int)count;
    return 0;
  }
  static const char *const why[][2] = {
    {"start_ms", "expected a time >= 0 ms"},
    {"duration_ms", "expected a time > 0 ms (default 2)"},
    {"amplitude", "expected a finite number (uA/cm^2, > 0 depolarises)"},
    {"count", "expected an integer 1 to 100000 (default 1)"},
    {"period_ms", "expected a time >= duration_ms when count > 1"}};
  for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
    if (strstr(f, why[i][0]))
      return bad(file, f, why[i][1]);
  return bad(file, f, "invalid");
}

int mt_tissue_spec_parse(const char *text, size_t len, const char *name,
                         mt_tissue_spec *t, char *err, size_t errlen)
{
  perr pe = {name, err, errlen}, *file = &pe;
  static const char *const known[] = {
    "model", "grid", "D_l", "D_t", "fibre_angle_deg", "dt_ms", "duration_ms",
    "diffusion", "stimuli", "activation_threshold_mV", "outputs", "threads",
    "$schema", "description", NULL};
  memset(t, 0, sizeof *t);
  mt_tissue_config_init(&t->c);
  json_error_t je;
  json_t *root = json_loadb(text, len, 0, &je);
  if (!root)
    return failf(file, "line %d: %s", je.line, je.text);
  int rc = 0;
  char f[64];
  const char *u;
  json_t *g = json_object_get(root, "grid");
  json_t *st = json_object_get(root, "stimuli");
  json_t *out = json_object_get(root, "outputs");
  const char *model = json_string_value(json_object_get(root, "model"));
  const char *dif = json_string_value(json_object_get(root, "diffusion"));
  long nx = 0, ny = 0, nz = 0, thr = 0;
  double thresh = 0;
  mt_tissue_config *c = &t->c;
  if (!json_is_object(root))
    rc = bad(file, "(top level)", "expected a JSON object");
  else if ((u = unknown_key(root, known)))
    snprintf(f, sizeof f, "%.40s", u), rc = bad(file, f, "unknown field");
  else if (!model)
    rc = bad(file, "model", "expected the name of a cell model (string)");
  else if (!(t->m = mt_model_find(model)) || !mt_tissue_model_ok(t->m))
    rc = bad_model(file, model);
  else if (!json_is_object(g))
    rc = bad(file, "grid", "expected an object {nx, ny, nz, dx_mm}");
  else if ((u = unknown_key(g, (const char *const[]){"nx", "ny", "nz",
                                                     "dx_mm", NULL})))
    snprintf(f, sizeof f, "grid.%.40s", u), rc = bad(file, f, "unknown field");
  else if (inum(g, "nx", 0, 1, MT_TISSUE_MAX_NODES, &nx))
    rc = bad(file, "grid.nx", "expected an integer number of nodes >= 1");
  else if (inum(g, "ny", 1, 1, MT_TISSUE_MAX_NODES, &ny))
    rc = bad(file, "grid.ny", "expected an integer number of nodes >= 1 "
             "(default 1)");
  else if (inum(g, "nz", 1, 1, MT_TISSUE_MAX_NODES, &nz))
    rc = bad(file, "grid.nz", "expected an integer number of nodes >= 1 "
             "(default 1)");
  else if ((double)nx * ny * nz > MT_TISSUE_MAX_NODES) {
    char msg[160];
    snprintf(msg, sizeof msg, "%ld x %ld x %ld = %.0f nodes: expected at most "
             "%ld (2^24) nodes", nx, ny, nz, (double)nx * ny * nz,
             MT_TISSUE_MAX_NODES);
    rc = bad(file, "grid", msg);
  } else if (num(g, "dx_mm", NAN, &c->dx_mm) || !(c->dx_mm > 0) ||
             !isfinite(c->dx_mm))
    rc = bad(file, "grid.dx_mm", "expected a node spacing > 0 mm");
  else if (num(root, "D_l", NAN, &c->D_l) || !(c->D_l >= 0) ||
           !isfinite(c->D_l))
    rc = bad(file, "D_l", "expected a diffusivity >= 0 mm^2/ms");
  else if (num(root, "D_t", c->D_l, &c->D_t) || !(c->D_t >= 0) ||
           !isfinite(c->D_t))
    rc = bad(file, "D_t", "expected a diffusivity >= 0 mm^2/ms (default D_l)");
  else if (num(root, "fibre_angle_deg", 0, &t->angle_deg) ||
           !isfinite(t->angle_deg))
    rc = bad(file, "fibre_angle_deg", "expected an angle in degrees from the "
             "x axis (default 0)");
  else if (json_object_get(root, "fibre_angle_deg") && nz > 1)
    rc = bad(file, "fibre_angle_deg", "expected only for a 2D grid (nz = 1)");
  else if (num(root, "dt_ms", NAN, &c->dt_ms) || !(c->dt_ms > 0) ||
           !isfinite(c->dt_ms))
    rc = bad(file, "dt_ms", "expected a time step > 0 ms");
  else if (num(root, "duration_ms", NAN, &t->duration_ms) ||
           !(t->duration_ms >= c->dt_ms) || !isfinite(t->duration_ms) ||
           t->duration_ms / c->dt_ms > 1e9)
    rc = bad(file, "duration_ms", "expected a duration >= dt_ms and at most "
             "1e9 steps");
  else if (json_object_get(root, "diffusion") && !dif)
    rc = bad(file, "diffusion", "expected \"explicit\" or \"semi-implicit\"");
  else if (dif && strcmp(dif, "explicit") && strcmp(dif, "semi-implicit"))
    rc = bad(file, "diffusion", "expected \"explicit\" or \"semi-implicit\"");
  else if (num(root, "activation_threshold_mV", 0, &thresh) ||
           !isfinite(thresh))
    rc = bad(file, "activation_threshold_mV", "expected a potential in mV "
             "(default 0)");
  else if (inum(root, "threads", 0, 0, 1024, &thr))
    rc = bad(file, "threads", "expected an integer 0 (OpenMP's default) to "
             "1024");
  else if (!json_is_array(st) || json_array_size(st) < 1 ||
           json_array_size(st) > MT_TISSUE_MAX_STIM)
    rc = bad(file, "stimuli", "expected an array of 1 to 64 stimulus boxes");
  else if (out && !json_is_object(out))
    rc = bad(file, "outputs", "expected an object {vti, svg, cv_x}");
  else if (out && (u = unknown_key(out, (const char *const[]){"vti", "svg",
                                                              "cv_x", NULL})))
    snprintf(f, sizeof f, "outputs.%.40s", u),
      rc = bad(file, f, "unknown field");
  if (!rc) {
    c->nx = (int)nx, c->ny = (int)ny, c->nz = (int)nz;
    c->diffusion = dif && !strcmp(dif, "semi-implicit")
                     ? MT_TISSUE_SEMI_IMPLICIT : MT_TISSUE_EXPLICIT;
    c->act_threshold_mV = thresh;
    c->threads = (int)thr;
    t->has_angle = json_object_get(root, "fibre_angle_deg") != NULL;
    static const char *const ok[] = {"vti", "svg", "cv_x"};
    int *flag[3] = {&t->vti, &t->svg, &t->cv_x};
    for (int i = 0; i < 3 && !rc; i++) {
      json_t *v = out ? json_object_get(out, ok[i]) : NULL;
      *flag[i] = i < 2; /* vti and svg on, cv_x off by default */
      if (v && !json_is_boolean(v)) {
        snprintf(f, sizeof f, "outputs.%s", ok[i]);
        rc = bad(file, f, "expected true or false");
      } else if (v)
        *flag[i] = json_is_true(v);
    }
  }
  for (size_t k = 0; !rc && k < json_array_size(st); k++)
    rc = parse_stim(file, json_array_get(st, k), (int)k, t,
                    &t->stim[t->nstim++]);
  json_decref(root);
  return rc;
}
