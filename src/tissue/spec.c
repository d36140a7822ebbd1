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


/* "param": {"name": value, ...} of model m into ps (field for messages). */
static int parse_params(const perr *file, json_t *o, const char *field,
                        const mt_model *m, mt_tissue_params *ps)
{
  char f[96];
  const char *k;
  json_t *v;
  if (!json_is_object(o))
    return bad(file, field, "expected an object {parameter name: value}");
  ps->n = 0;
  json_object_foreach(o, k, v) {
    int idx = -1;
    for (int i = 0; i < m->n_param && idx < 0; i++)
      if (!strcmp(m->param[i].name, k))
        idx = i;
    snprintf(f, sizeof f, "%s.%.40s", field, k);
    if (idx < 0) {
      char msg[600];
      size_t len = (size_t)snprintf(msg, sizeof msg, "unknown parameter of "
                                    "%s: expected one of", m->name);
      for (int i = 0; i < m->n_param && len < sizeof msg - 1; i++)
        len += (size_t)snprintf(msg + len, sizeof msg - len, "%s %s",
                                i ? "," : "", m->param[i].name);
      return bad(file, f, msg);
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
      return bad(file, f, "expected a finite number");
    if (ps->n >= MT_TISSUE_MAX_SET)
      return bad(file, field, "expected at most 32 parameters");
    ps->idx[ps->n] = idx, ps->val[ps->n++] = json_number_value(v);
  }
  return 0;
}

static int parse_substrate(const perr *file, json_t *o, mt_tissue_spec *t)
{
  mt_tissue_substrate *b = &t->sub;
  const char *u, *img = json_string_value(json_object_get(o, "image"));
  const char *mode = json_string_value(json_object_get(o, "fibrotic"));
  char f[80];
  json_t *par = json_object_get(o, "param");
  if (!json_is_object(o))
    return bad(file, "substrate", "expected an object {image, pixel_mm, "
               "threshold, fibrotic, conductivity_scale, param}");
  if ((u = unknown_key(o, (const char *const[]){"image", "pixel_mm",
           "threshold", "fibrotic", "conductivity_scale", "param",
           "scar_threshold", NULL})))
    return snprintf(f, sizeof f, "substrate.%.40s", u),
           bad(file, f, "unknown field");
  if (t->c.nz != 1)
    return bad(file, "substrate", "expected only for a 2D grid (nz = 1)");
  if (!img || !*img || strlen(img) >= sizeof b->image)
    return bad(file, "substrate.image", "expected the path of a PGM or PNG "
               "image (relative to the configuration's folder)");
  strcpy(b->image, img);
  if (num(o, "pixel_mm", NAN, &b->pixel_mm) || !(b->pixel_mm > 0) ||
      !isfinite(b->pixel_mm))
    return bad(file, "substrate.pixel_mm", "expected the pixel size > 0 mm");
  if (num(o, "threshold", 0.5, &b->threshold) || !(b->threshold >= 0) ||
      !(b->threshold <= 1))
    return bad(file, "substrate.threshold", "expected a grey level in [0, 1] "
               "(default 0.5): brighter pixels are fibrotic");
  if (json_object_get(o, "fibrotic") &&
      (!mode || (strcmp(mode, "non-conducting") && strcmp(mode, "remodelled"))))
    return bad(file, "substrate.fibrotic", "expected \"non-conducting\" "
               "(default) or \"remodelled\"");
  b->remodelled = mode && !strcmp(mode, "remodelled");
  if (num(o, "conductivity_scale", b->remodelled ? 0.3 : 0, &b->d_scale) ||
      !(b->d_scale >= 0) || !(b->d_scale <= 1))
    return bad(file, "substrate.conductivity_scale", "expected a factor in "
               "[0, 1] (default 0.3 for remodelled tissue)");
  if (!b->remodelled && (json_object_get(o, "conductivity_scale") || par ||
                         json_object_get(o, "scar_threshold")))
    return bad(file, "substrate.fibrotic", "expected \"remodelled\" with "
               "conductivity_scale, param or scar_threshold");
  if (num(o, "scar_threshold", 2, &b->scar_threshold) ||
      !isfinite(b->scar_threshold) || !(b->scar_threshold > b->threshold))
    return bad(file, "substrate.scar_threshold", "expected a grey level above "
               "threshold (default: none non-conducting)");
  return par ? parse_params(file, par, "substrate.param", t->m, &b->param) : 0;
}

static int parse_protocol(const perr *file, json_t *o, mt_tissue_spec *t)
{
  static const char *const known[] = {
    "protocol", "sites", "n_s1", "bcl_ms", "s2_start_ms", "s2_step_ms",
    "s2_min_ms", "n_burst", "burst_cl_ms", "amplitude", "duration_ms",
    "persist_ms", "capture_ms", "frame_ms", "lag_ms", "link_mm", NULL};
  mt_protocol *p = &t->proto;
  char f[80];
  const char *u;
  mt_protocol_init(p);
  if (!json_is_object(o))
    return bad(file, "inducibility", "expected an object {protocol, sites, "
               "...}");
  if ((u = unknown_key(o, known)))
    return snprintf(f, sizeof f, "inducibility.%.40s", u),
           bad(file, f, "unknown field");
  if (t->c.nz != 1 || t->c.ny < 2)
    return bad(file, "inducibility", "expected only for a 2D grid (ny >= 2, "
               "nz = 1)");
  const char *k = json_string_value(json_object_get(o, "protocol"));
  if (json_object_get(o, "protocol") &&
      (!k || (strcmp(k, "s1s2") && strcmp(k, "burst"))))
    return bad(file, "inducibility.protocol", "expected \"s1s2\" (default) "
               "or \"burst\"");
  p->kind = k && !strcmp(k, "burst") ? MT_PROTOCOL_BURST : MT_PROTOCOL_S1S2;
  long v;
  if (inum(o, "n_s1", p->n_s1, 1, 1000, &v))
    return bad(file, "inducibility.n_s1", "expected 1 to 1000 (default 8)");
  p->n_s1 = (int)v;
  if (inum(o, "n_burst", p->n_burst, 1, 1000, &v))
    return bad(file, "inducibility.n_burst", "expected 1 to 1000 (default "
               "10)");
  p->n_burst = (int)v;
  double *d[] = {&p->bcl_ms, &p->s2_start_ms, &p->s2_step_ms, &p->s2_min_ms,
                 &p->burst_cl_ms, &p->amplitude, &p->duration_ms,
                 &p->persist_ms, &p->capture_ms, &p->frame_ms, &p->lag_ms,
                 &p->link_mm};
  static const char *const dn[] = {
    "bcl_ms", "s2_start_ms", "s2_step_ms", "s2_min_ms", "burst_cl_ms",
    "amplitude", "duration_ms", "persist_ms", "capture_ms", "frame_ms",
    "lag_ms", "link_mm"};
  for (int i = 0; i < 12; i++)
    if (num(o, dn[i], *d[i], d[i]) || !isfinite(*d[i]) ||
        (i != 5 && !(*d[i] > 0))) {
      snprintf(f, sizeof f, "inducibility.%s", dn[i]);
      return bad(file, f, i == 5 ? "expected a finite current (uA/cm^2)"
                                 : "expected a positive number");
    }
  json_t *st = json_object_get(o, "sites");
  if (json_is_object(st)) { /* {"count": N, "radius_mm": r} */
    long cnt;
    if (unknown_key(st, (const char *const[]){"count", "radius_mm", NULL}) ||
        inum(st, "count", 0, 1, MT_TISSUE_MAX_SITES, &cnt) ||
        num(st, "radius_mm", 1, &t->auto_radius_mm) ||
        !(t->auto_radius_mm >= 0) || !isfinite(t->auto_radius_mm))
      return bad(file, "inducibility.sites", "expected {count: 1 to 64, "
                 "radius_mm (default 1)} or an array of sites");
    t->auto_sites = (int)cnt;
    return 0;
  }
  if (!json_is_array(st) || json_array_size(st) < 1 ||
      json_array_size(st) > MT_TISSUE_MAX_SITES)
    return bad(file, "inducibility.sites", "expected an array of 1 to 64 "
               "sites {x_mm, y_mm, radius_mm} or {count, radius_mm}");
  for (size_t i = 0; i < json_array_size(st); i++) {
    json_t *e = json_array_get(st, i);
    mt_pace_site *s = &t->site[t->nsite++];
    snprintf(f, sizeof f, "inducibility.sites[%zu]", i);
    if (!json_is_object(e) ||
        unknown_key(e, (const char *const[]){"x_mm", "y_mm", "radius_mm",
                                             NULL}) ||
        num(e, "x_mm", NAN, &s->x_mm) || num(e, "y_mm", NAN, &s->y_mm) ||
        num(e, "radius_mm", 1, &s->radius_mm) || !isfinite(s->x_mm) ||
        !isfinite(s->y_mm) || !(s->radius_mm >= 0) ||
        !isfinite(s->radius_mm))
      return bad(file, f, "expected {x_mm, y_mm, radius_mm (default 1)} "
                 "in mm");
  }
  return 0;
}

static int parse_point(json_t *a, double *x, double *y)
{
  if (!json_is_array(a) || json_array_size(a) != 2 ||
      !json_is_number(json_array_get(a, 0)) ||
      !json_is_number(json_array_get(a, 1)))
    return -1;
  *x = json_number_value(json_array_get(a, 0));
  *y = json_number_value(json_array_get(a, 1));
  return isfinite(*x) && isfinite(*y) ? 0 : -1;
}

static int parse_lesions(const perr *file, json_t *o, mt_tissue_spec *t)
{
  char f[80];
  if (!json_is_array(o) || json_array_size(o) > MT_TISSUE_MAX_LESIONS)
    return bad(file, "lesions", "expected an array of at most 64 lesions "
               "{from, to, width_mm}");
  if (json_array_size(o) && t->c.nz != 1)
    return bad(file, "lesions", "expected only for a 2D grid (nz = 1)");
  for (size_t i = 0; i < json_array_size(o); i++) {
    json_t *e = json_array_get(o, i);
    mt_lesion *l = &t->lesion[t->nlesion++];
    l->driver = -1, l->round = 0;
    snprintf(f, sizeof f, "lesions[%zu]", i);
    json_t *to = json_is_object(e) ? json_object_get(e, "to") : NULL;
    if (!json_is_object(e) ||
        unknown_key(e, (const char *const[]){"from", "to", "width_mm",
                                             NULL}) ||
        parse_point(json_object_get(e, "from"), &l->x0_mm, &l->y0_mm) ||
        (to && parse_point(to, &l->x1_mm, &l->y1_mm)) ||
        num(e, "width_mm", 2, &l->width_mm) || !(l->width_mm > 0) ||
        !isfinite(l->width_mm))
      return bad(file, f, "expected {from: [x, y], to: [x, y] (absent: a "
                 "round lesion at from), width_mm (default 2)} in mm");
    if (!to)
      l->x1_mm = l->x0_mm, l->y1_mm = l->y0_mm;
  }
  return 0;
}

static int parse_lesion_mask(const perr *file, json_t *o, mt_tissue_spec *t)
{
  const char *img = json_string_value(json_object_get(o, "image"));
  if (!json_is_object(o) ||
      unknown_key(o, (const char *const[]){"image", "pixel_mm", "threshold",
                                           NULL}) ||
      !img || !*img || strlen(img) >= sizeof t->lesion_image ||
      num(o, "pixel_mm", NAN, &t->lesion_pixel_mm) ||
      !(t->lesion_pixel_mm > 0) || !isfinite(t->lesion_pixel_mm) ||
      num(o, "threshold", 0.5, &t->lesion_threshold) ||
      !(t->lesion_threshold >= 0) || !(t->lesion_threshold <= 1))
    return bad(file, "lesion_mask", "expected {image: a PGM or PNG path, "
               "pixel_mm > 0, threshold in [0, 1] (default 0.5)}");
  if (t->c.nz != 1)
    return bad(file, "lesion_mask", "expected only for a 2D grid (nz = 1)");
  strcpy(t->lesion_image, img);
  t->has_lesion_mask = 1;
  return 0;
}

static int parse_ablation(const perr *file, json_t *o, mt_tissue_spec *t)
{
  long r;
  if (!json_is_object(o) ||
      unknown_key(o, (const char *const[]){"width_mm", "max_rounds", NULL}))
    return bad(file, "ablation", "expected an object {width_mm, max_rounds}");
  if (num(o, "width_mm", 2, &t->ablate_width_mm) ||
      !(t->ablate_width_mm > 0) || !isfinite(t->ablate_width_mm))
    return bad(file, "ablation.width_mm", "expected a lesion width > 0 mm "
               "(default 2)");
  if (inum(o, "max_rounds", 5, 1, 100, &r))
    return bad(file, "ablation.max_rounds", "expected 1 to 100 tests "
               "(default 5)");
  t->ablate_rounds = (int)r;
  return 0;
}

int mt_tissue_spec_parse(const char *text, size_t len, const char *name,
                         mt_tissue_spec *t, char *err, size_t errlen)
{
  perr pe = {name, err, errlen}, *file = &pe;
  static const char *const known[] = {
    "model", "grid", "D_l", "D_t", "fibre_angle_deg", "dt_ms", "duration_ms",
    "diffusion", "stimuli", "activation_threshold_mV", "outputs", "threads",
    "$schema", "description", "param", "substrate", "inducibility",
    "lesions", "lesion_mask", "ablation", "cells", NULL};
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
  else if ((st || !json_object_get(root, "inducibility")) &&
           (!json_is_array(st) || json_array_size(st) < 1 ||
            json_array_size(st) > MT_TISSUE_MAX_STIM))
    rc = bad(file, "stimuli", "expected an array of 1 to 64 stimulus "
             "boxes (optional with inducibility)");
  else if (out && !json_is_object(out))
    rc = bad(file, "outputs", "expected an object {vti, svg, png, cv_x, "
             "snapshot_ms}");
  else if (out && (u = unknown_key(out, (const char *const[]){"vti", "svg",
                                   "cv_x", "png", "snapshot_ms", NULL})))
    snprintf(f, sizeof f, "outputs.%.40s", u),
      rc = bad(file, f, "unknown field");
  if (!rc) {
    c->nx = (int)nx, c->ny = (int)ny, c->nz = (int)nz;
    c->diffusion = dif && !strcmp(dif, "semi-implicit")
                     ? MT_TISSUE_SEMI_IMPLICIT : MT_TISSUE_EXPLICIT;
    c->act_threshold_mV = thresh;
    c->threads = (int)thr;
    t->has_angle = json_object_get(root, "fibre_angle_deg") != NULL;
    static const char *const ok[] = {"vti", "svg", "png", "cv_x"};
    int *flag[4] = {&t->vti, &t->svg, &t->png, &t->cv_x};
    for (int i = 0; i < 4 && !rc; i++) {
      json_t *v = out ? json_object_get(out, ok[i]) : NULL;
      *flag[i] = i < 3; /* vti, svg and png on, cv_x off by default */
      if (v && !json_is_boolean(v)) {
        snprintf(f, sizeof f, "outputs.%s", ok[i]);
        rc = bad(file, f, "expected true or false");
      } else if (v)
        *flag[i] = json_is_true(v);
    }
  }
  if (!rc && out &&
      (num(out, "snapshot_ms", 0, &t->snapshot_ms) ||
       !(t->snapshot_ms >= 0) || !isfinite(t->snapshot_ms) ||
       (t->snapshot_ms > 0 &&
        (t->snapshot_ms < c->dt_ms || t->duration_ms / t->snapshot_ms > 10000))))
    rc = bad(file, "outputs.snapshot_ms", "expected 0 (none) or an interval "
             ">= dt_ms giving at most 10000 frames");
  if (!rc && t->snapshot_ms > 0 && c->nz != 1)
    rc = bad(file, "outputs.snapshot_ms", "expected only for a 2D grid");
  json_t *o;
  if (!rc && (o = json_object_get(root, "cells"))) {
    const char *k = json_string_value(o);
    if (!k || (strcmp(k, "fast") && strcmp(k, "generic")))
      rc = bad(file, "cells", "expected \"fast\" (the model's fast kernel "
               "where it has one, default) or \"generic\" (its rhs at every "
               "node, the reference)");
    else
      c->generic_cells = !strcmp(k, "generic");
  }
  if (!rc && (o = json_object_get(root, "param")))
    rc = parse_params(file, o, "param", t->m, &t->param);
  if (!rc && (o = json_object_get(root, "substrate")))
    t->has_substrate = 1, rc = parse_substrate(file, o, t);
  if (!rc && (o = json_object_get(root, "inducibility")))
    t->has_protocol = 1, rc = parse_protocol(file, o, t);
  if (!rc && (o = json_object_get(root, "lesions")))
    rc = parse_lesions(file, o, t);
  if (!rc && (o = json_object_get(root, "lesion_mask")))
    rc = parse_lesion_mask(file, o, t);
  t->ablate_width_mm = 2, t->ablate_rounds = 5;
  if (!rc && (o = json_object_get(root, "ablation")))
    rc = parse_ablation(file, o, t);
  for (size_t k = 0; !rc && k < json_array_size(st); k++)
    rc = parse_stim(file, json_array_get(st, k), (int)k, t,
                    &t->stim[t->nstim++]);
  json_decref(root);
  return rc;
}
