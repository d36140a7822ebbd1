/*
** Scenario files: JSON text to a validated, time-sorted list of meals,
** boluses, basal rates and temporary basals, and that list to an input
** schedule for a metabolic model. The format is specified for users in
** docs/scenario.md and machine-readably in docs/scenario.schema.json; the
** key tables below are the single place the parser learns it from.
**
** Every error is one line: "<file>: <field path>: expected ..., got <value>".
*/
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/errfmt.h"
#include "medtwin/error.h"
#include "medtwin/scenario.h"

/* Bounds (docs/scenario.md lists them; keep the schema in step). */
#define SC_MAX_MIN       525600.0 /* one year, min: run and event duration */
#define SC_MAX_GRAMS     500.0    /* carbohydrate of one meal, g */
#define SC_MAX_UNITS     100.0    /* insulin of one bolus, U */
#define SC_MAX_U_PER_H   50.0     /* basal rate, U/h */
#define SC_MAX_PERCENT   500.0    /* temporary basal, % of the basal */
#define SC_MAX_AMOUNT    1e6      /* one drug dose, mg or ug */
#define SC_MAX_FILE      (16u << 20) /* bytes read by mt_scenario_load */
#define SC_MAX_EVENTS    (1 << 24) /* events in one file */
#define SC_SHOW_MAX      48       /* characters of an offending value shown */

/* A numeric key of an event: where it goes, whether it must be present, its
** default and its bounds (lo excluded when lo_open). */
typedef struct num_key {
  const char *key;
  size_t off; /* into mt_scenario_event */
  int required;
  double dflt, lo, hi;
  int lo_open;
  const char *unit;
} num_key;

#define EV_OFF(f) offsetof(mt_scenario_event, f)

static const num_key meal_keys[] = {
  {"grams", EV_OFF(grams), 1, 0, 0, SC_MAX_GRAMS, 0, "g"},
  {"duration_min", EV_OFF(duration_min), 0, 1, 0, SC_MAX_MIN, 1, "min"},
  {NULL, 0, 0, 0, 0, 0, 0, NULL}};
static const num_key bolus_keys[] = {
  {"units", EV_OFF(units), 1, 0, 0, SC_MAX_UNITS, 0, "U"},
  {"duration_min", EV_OFF(duration_min), 0, 1, 0, SC_MAX_MIN, 1, "min"},
  {NULL, 0, 0, 0, 0, 0, 0, NULL}};
static const num_key basal_keys[] = {
  {"u_per_h", EV_OFF(u_per_h), 1, 0, 0, SC_MAX_U_PER_H, 0, "U/h"},
  {NULL, 0, 0, 0, 0, 0, 0, NULL}};
static const num_key temp_basal_keys[] = {
  {"percent", EV_OFF(percent), 1, 0, 0, SC_MAX_PERCENT, 0, "%"},
  {"duration_min", EV_OFF(duration_min), 1, 0, 0, SC_MAX_MIN, 1, "min"},
  {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static const num_key dose_keys[] = {
  {"amount", EV_OFF(amount), 1, 0, 0, SC_MAX_AMOUNT, 0, "mg or ug"},
  {"duration_min", EV_OFF(duration_min), 0, 1, 0, SC_MAX_MIN, 1, "min"},
  {NULL, 0, 0, 0, 0, 0, 0, NULL}};

typedef struct ev_kind {
  const char *name;
  mt_event_type type;
  const num_key *keys;
} ev_kind;

static const ev_kind ev_kinds[] = {
  {"meal", MT_EV_MEAL, meal_keys},
  {"bolus", MT_EV_BOLUS, bolus_keys},
  {"basal", MT_EV_BASAL, basal_keys},
  {"temp_basal", MT_EV_TEMP_BASAL, temp_basal_keys},
  {"dose", MT_EV_DOSE, dose_keys}};
#define N_EV_KIND (int)(sizeof ev_kinds / sizeof ev_kinds[0])

/* Where messages go: the input's name and the caller's buffer. */
typedef struct ctx {
  const char *name;
  char *err;
  size_t errlen;
} ctx;

/* Write "<name>: <formatted>" into the error buffer and return code. Control
** characters (from file or key names) become '?': a message is one line. */
static int fail(const ctx *c, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mt_vfail(c->err, c->errlen, code, c->name, fmt, ap);
  va_end(ap);
  return code;
}

/* The offending value as compact JSON, shortened to SC_SHOW_MAX chars. */
static void show(const json_t *v, char *buf, size_t n)
{
  char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (!s) {
    snprintf(buf, n, "a value");
    return;
  }
  if (strlen(s) > SC_SHOW_MAX)
    snprintf(buf, n, "%.*s...", SC_SHOW_MAX - 3, s);
  else
    snprintf(buf, n, "%s", s);
  free(s);
}

static int is_ignored_key(const char *key) { return key[0] == '$'; }

/* A number in [lo, hi] (or (lo, hi] when lo_open) under key k of obj, whose
** own path is `path` ("" at the top level). Absent: the default, or an error
** when required. */
static int get_num(const ctx *c, const json_t *obj, const char *path,
                   const num_key *k, double *out)
{
  char field[64];
  snprintf(field, sizeof field, "%s%s%s", path, *path ? "." : "", k->key);
  const json_t *v = json_object_get(obj, k->key);
  if (!v) {
    if (k->required)
      return fail(c, MT_EINVAL, "%s: missing required key", field);
    *out = k->dflt;
    return MT_OK;
  }
  double x = json_is_number(v) ? json_number_value(v) : NAN;
  if (isfinite(x) && (k->lo_open ? x > k->lo : x >= k->lo) && x <= k->hi) {
    *out = x;
    return MT_OK;
  }
  char got[SC_SHOW_MAX + 8];
  show(v, got, sizeof got);
  return fail(c, MT_EINVAL, "%s: expected a number %s %g and <= %g (%s), got %s",
              field, k->lo_open ? ">" : ">=", k->lo, k->hi, k->unit, got);
}

static const ev_kind *find_kind(const char *name)
{
  for (int i = 0; i < N_EV_KIND; i++)
    if (strcmp(ev_kinds[i].name, name) == 0)
      return &ev_kinds[i];
  return NULL;
}

static int event_kind(const ctx *c, const json_t *o, const char *path,
                      const ev_kind **out)
{
  const json_t *v = json_object_get(o, "type");
  if (!v)
    return fail(c, MT_EINVAL, "%s.type: missing required key", path);
  *out = json_is_string(v) ? find_kind(json_string_value(v)) : NULL;
  if (*out)
    return MT_OK;
  char got[SC_SHOW_MAX + 8];
  show(v, got, sizeof got);
  return fail(c, MT_EINVAL,
              "%s.type: expected \"meal\", \"bolus\", \"basal\", "
              "\"temp_basal\" or \"dose\", got %s", path, got);
}

static int key_allowed(const ev_kind *k, const char *key)
{
  if (is_ignored_key(key) || !strcmp(key, "type") || !strcmp(key, "t_min"))
    return 1;
  if (k->type == MT_EV_MEAL && !strcmp(key, "bolus"))
    return 1;
  if (k->type == MT_EV_DOSE && !strcmp(key, "drug"))
    return 1;
  for (const num_key *n = k->keys; n->key; n++)
    if (!strcmp(n->key, key))
      return 1;
  return 0;
}

static int event_keys(const ctx *c, json_t *o, const char *path,
                      const ev_kind *k)
{
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    if (!key_allowed(k, key))
      return fail(c, MT_EINVAL, "%s.%s: unknown key for a %s event", path,
                  key, k->name);
  }
  return MT_OK;
}

static int event_t_min(const ctx *c, const json_t *o, const char *path,
                       double duration_min, double *t)
{
  const json_t *v = json_object_get(o, "t_min");
  if (!v)
    return fail(c, MT_EINVAL, "%s.t_min: missing required key", path);
  double x = json_is_number(v) ? json_number_value(v) : NAN;
  if (isfinite(x) && x >= 0 && x < duration_min) {
    *t = x;
    return MT_OK;
  }
  char got[SC_SHOW_MAX + 8];
  show(v, got, sizeof got);
  return fail(c, MT_EINVAL,
              "%s.t_min: expected 0 <= t_min < duration_min (%g), got %s",
              path, duration_min, got);
}

static int meal_bolus(const ctx *c, const json_t *o, const char *path,
                      int *flag)
{
  const json_t *v = json_object_get(o, "bolus");
  *flag = 0;
  if (!v)
    return MT_OK;
  if (json_is_string(v) && !strcmp(json_string_value(v), "carb_ratio")) {
    *flag = 1;
    return MT_OK;
  }
  char got[SC_SHOW_MAX + 8];
  show(v, got, sizeof got);
  return fail(c, MT_EINVAL, "%s.bolus: expected \"carb_ratio\", got %s", path,
              got);
}

/* A dose's drug: a name of 1 to MT_DRUG_NAME_MAX - 1 characters. */
static int dose_drug(const ctx *c, const json_t *o, const char *path,
                     char *drug)
{
  const json_t *v = json_object_get(o, "drug");
  if (!v)
    return fail(c, MT_EINVAL, "%s.drug: missing required key", path);
  const char *d = json_is_string(v) ? json_string_value(v) : NULL;
  if (d && *d && strlen(d) < MT_DRUG_NAME_MAX) {
    snprintf(drug, MT_DRUG_NAME_MAX, "%s", d);
    return MT_OK;
  }
  char got[SC_SHOW_MAX + 8];
  show(v, got, sizeof got);
  return fail(c, MT_EINVAL, "%s.drug: expected a name of 1 to %d "
              "characters, got %s", path, MT_DRUG_NAME_MAX - 1, got);
}

static int parse_event(const ctx *c, json_t *o, int i, double duration_min,
                       mt_scenario_event *ev)
{
  char path[32];
  snprintf(path, sizeof path, "events[%d]", i);
  if (!json_is_object(o)) {
    char got[SC_SHOW_MAX + 8];
    show(o, got, sizeof got);
    return fail(c, MT_EINVAL, "%s: expected an object, got %s", path, got);
  }
  const ev_kind *k = NULL;
  int rc = event_kind(c, o, path, &k);
  if (rc)
    return rc;
  ev->type = k->type;
  rc = event_keys(c, o, path, k);
  if (!rc)
    rc = event_t_min(c, o, path, duration_min, &ev->t_min);
  for (const num_key *n = k->keys; !rc && n->key; n++)
    rc = get_num(c, o, path, n, (double *)((char *)ev + n->off));
  if (!rc && k->type == MT_EV_MEAL)
    rc = meal_bolus(c, o, path, &ev->carb_ratio_bolus);
  if (!rc && k->type == MT_EV_DOSE)
    rc = dose_drug(c, o, path, ev->drug);
  return rc;
}

/* Stable sort by t_min: order by (t_min, file position). */
typedef struct ev_pos {
  double t;
  int i;
} ev_pos;

static int cmp_pos(const void *a, const void *b)
{
  const ev_pos *x = a, *y = b;
  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

static int sort_events(mt_scenario *sc)
{
  int n = sc->n_event;
  if (n < 2)
    return MT_OK;
  ev_pos *pos = malloc((size_t)n * sizeof *pos);
  mt_scenario_event *ev = malloc((size_t)n * sizeof *ev);
  if (!pos || !ev) {
    free(pos);
    free(ev);
    return MT_ENOMEM;
  }
  for (int i = 0; i < n; i++)
    pos[i] = (ev_pos){sc->event[i].t_min, i};
  qsort(pos, (size_t)n, sizeof *pos, cmp_pos);
  for (int i = 0; i < n; i++)
    ev[i] = sc->event[pos[i].i];
  free(pos);
  free(sc->event);
  sc->event = ev;
  return MT_OK;
}

static int parse_events(const ctx *c, json_t *arr, mt_scenario *sc)
{
  if (!arr)
    return MT_OK;
  if (!json_is_array(arr)) {
    char got[SC_SHOW_MAX + 8];
    show(arr, got, sizeof got);
    return fail(c, MT_EINVAL, "events: expected an array, got %s", got);
  }
  size_t n = json_array_size(arr);
  if (n > (size_t)SC_MAX_EVENTS)
    return fail(c, MT_EINVAL, "events: expected at most %d events, got %zu",
                SC_MAX_EVENTS, n);
  if (n == 0)
    return MT_OK;
  sc->event = calloc(n, sizeof *sc->event);
  if (!sc->event)
    return fail(c, MT_ENOMEM, "out of memory");
  sc->n_event = (int)n;
  for (size_t i = 0; i < n; i++) {
    int rc = parse_event(c, json_array_get(arr, i), (int)i, sc->duration_min,
                         &sc->event[i]);
    if (rc)
      return rc;
  }
  if (sort_events(sc))
    return fail(c, MT_ENOMEM, "out of memory");
  return MT_OK;
}

/* "HH:MM", 00..23 and 00..59, to minutes after midnight. */
static int parse_clock(const ctx *c, const json_t *v, int *out)
{
  const char *s = json_is_string(v) ? json_string_value(v) : NULL;
  if (s && strlen(s) == 5 && s[2] == ':') {
    int d[4] = {s[0] - '0', s[1] - '0', s[3] - '0', s[4] - '0'};
    int ok = 1;
    for (int i = 0; i < 4; i++)
      ok &= d[i] >= 0 && d[i] <= 9;
    int hh = 10 * d[0] + d[1], mm = 10 * d[2] + d[3];
    if (ok && hh <= 23 && mm <= 59) {
      *out = 60 * hh + mm;
      return MT_OK;
    }
  }
  char got[SC_SHOW_MAX + 8];
  show(v, got, sizeof got);
  return fail(c, MT_EINVAL,
              "start_clock: expected \"HH:MM\" with HH 00..23 and MM 00..59, "
              "got %s", got);
}

static int parse_top(const ctx *c, json_t *root, mt_scenario *sc)
{
  if (!json_is_object(root)) {
    char got[SC_SHOW_MAX + 8];
    show(root, got, sizeof got);
    return fail(c, MT_EINVAL, "expected an object at the top level, got %s",
                got);
  }
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (!is_ignored_key(key) && strcmp(key, "duration_min") &&
        strcmp(key, "start_clock") && strcmp(key, "events") &&
        strcmp(key, "baroreflex"))
      return fail(c, MT_EINVAL,
                  "%s: unknown key (expected duration_min, start_clock, "
                  "baroreflex, events, or a key starting with '$')", key);
  }
  v = json_object_get(root, "baroreflex");
  if (v && !json_is_boolean(v))
    return fail(c, MT_EINVAL, "baroreflex: expected true or false");
  sc->baroreflex = v ? json_is_true(v) : -1;
  static const num_key dur = {"duration_min", 0, 1, 0, 0, SC_MAX_MIN, 1,
                              "min"};
  int rc = get_num(c, root, "", &dur, &sc->duration_min);
  if (rc)
    return rc;
  v = json_object_get(root, "start_clock");
  if (v)
    rc = parse_clock(c, v, &sc->start_clock_min);
  if (!rc)
    rc = parse_events(c, json_object_get(root, "events"), sc);
  return rc;
}

int mt_scenario_parse(const char *json, size_t len, const char *name,
                      mt_scenario **out, char *err, size_t errlen)
{
  ctx c = {name ? name : "<scenario>", err, errlen};
  if (err && errlen)
    err[0] = '\0';
  *out = NULL;
  if (!json && len)
    return fail(&c, MT_EINVAL, "no input");
  json_error_t je;
  json_t *root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES,
                            &je);
  if (!root)
    return fail(&c, MT_EPARSE, "line %d, column %d: invalid JSON: %s",
                je.line, je.column, je.text);
  mt_scenario *sc = calloc(1, sizeof *sc);
  int rc = sc ? parse_top(&c, root, sc) : fail(&c, MT_ENOMEM, "out of memory");
  json_decref(root);
  if (rc) {
    mt_scenario_free(sc);
    return rc;
  }
  *out = sc;
  return MT_OK;
}

/* Read a whole file of at most SC_MAX_FILE bytes into a new buffer. */
static int read_file(const ctx *c, const char *path, char **buf, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(c, MT_EIO, "cannot open: %s", strerror(errno));
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  int rc = b ? MT_OK : fail(c, MT_ENOMEM, "out of memory");
  while (!rc) {
    if (n == cap) {
      char *nb = cap >= SC_MAX_FILE ? NULL : realloc(b, cap * 2);
      if (!nb) {
        rc = cap >= SC_MAX_FILE
                 ? fail(c, MT_EINVAL, "larger than %u bytes", SC_MAX_FILE)
                 : fail(c, MT_ENOMEM, "out of memory");
        break;
      }
      b = nb;
      cap *= 2;
    }
    size_t got = fread(b + n, 1, cap - n, f);
    n += got;
    if (got == 0 && ferror(f))
      rc = fail(c, MT_EIO, "cannot read: %s", strerror(errno));
    else if (got == 0)
      break;
  }
  fclose(f);
  if (rc) {
    free(b);
    return rc;
  }
  *buf = b;
  *len = n;
  return MT_OK;
}

int mt_scenario_load(const char *path, mt_scenario **out, char *err,
                     size_t errlen)
{
  ctx c = {path ? path : "<scenario>", err, errlen};
  *out = NULL;
  if (err && errlen)
    err[0] = '\0';
  if (!path)
    return fail(&c, MT_EINVAL, "no file name");
  char *buf = NULL;
  size_t len = 0;
  int rc = read_file(&c, path, &buf, &len);
  if (rc)
    return rc;
  rc = mt_scenario_parse(buf, len, path, out, err, errlen);
  free(buf);
  return rc;
}

void mt_scenario_free(mt_scenario *sc)
{
  if (!sc)
    return;
  free(sc->event);
  free(sc);
}

/* Add one event's pulses, level or scale to the schedule. */
static int schedule_event(const mt_scenario_event *e, const mt_patient *pt,
                          int cho, int ins, mt_schedule *s, const ctx *c)
{
  double t = e->t_min, d = e->duration_min;
  int rc = MT_OK;
  switch (e->type) {
  case MT_EV_MEAL:
    rc = mt_schedule_pulse(s, cho, t, t + d, e->grams / d, MT_PULSE_BITES);
    if (rc || !e->carb_ratio_bolus)
      break;
    if (!(isfinite(pt->cr_g_per_u) && pt->cr_g_per_u > 0))
      return fail(c, MT_EINVAL,
                  "meal at t_min %g: \"bolus\": \"carb_ratio\" needs the "
                  "patient's carbohydrate ratio (cr_g_per_u), which patient "
                  "\"%s\" does not have", t, pt->id);
    rc = mt_schedule_pulse(s, ins, t, t + 1, e->grams / pt->cr_g_per_u, 0);
    break;
  case MT_EV_BOLUS:
    rc = mt_schedule_pulse(s, ins, t, t + d, e->units / d, 0);
    break;
  case MT_EV_BASAL:
    rc = mt_schedule_level(s, ins, t, e->u_per_h / 60.0);
    break;
  case MT_EV_TEMP_BASAL:
    rc = mt_schedule_scale(s, ins, t, t + d, e->percent / 100.0);
    break;
  case MT_EV_DOSE:
    return fail(c, MT_EINVAL, "event at t_min %g: a drug dose (\"%s\") is "
                "for a heart model, not for model %s", t, e->drug,
                pt->model->name ? pt->model->name : "(unnamed)");
  }
  if (rc)
    return fail(c, rc, "event at t_min %g: cannot schedule: %s", t,
                mt_strerror(rc));
  return MT_OK;
}

int mt_scenario_schedule(const mt_scenario *sc, const mt_patient *pt,
                         mt_schedule **out, char *err, size_t errlen)
{
  ctx c = {"scenario", err, errlen};
  *out = NULL;
  if (err && errlen)
    err[0] = '\0';
  if (!sc || !pt || !pt->model)
    return fail(&c, MT_EINVAL, "no scenario, patient or model");
  const mt_model *m = pt->model;
  int cho = mt_var_index(m->input, m->n_input, "CHO");
  int ins = mt_var_index(m->input, m->n_input, "insulin");
  if (cho < 0 || ins < 0)
    return fail(&c, MT_EINVAL, "model %s has no %s input",
                m->name ? m->name : "(unnamed)", cho < 0 ? "CHO" : "insulin");
  mt_schedule *s;
  int rc = mt_schedule_create(m->n_input, &s);
  if (rc)
    return fail(&c, rc, "cannot create schedule: %s", mt_strerror(rc));
  for (int i = 0; !rc && i < sc->n_event; i++)
    rc = schedule_event(&sc->event[i], pt, cho, ins, s, &c);
  if (rc) {
    mt_schedule_free(s);
    return rc;
  }
  *out = s;
  return MT_OK;
}

int mt_scenario_schedule_doses(const mt_scenario *sc, const mt_model *m,
                               mt_schedule **out, char *err, size_t errlen)
{
  ctx c = {"scenario", err, errlen};
  *out = NULL;
  if (err && errlen)
    err[0] = '\0';
  if (!sc || !m)
    return fail(&c, MT_EINVAL, "no scenario or model");
  mt_schedule *s;
  int rc = mt_schedule_create(m->n_input, &s);
  if (rc)
    return fail(&c, rc, "cannot create schedule: %s", mt_strerror(rc));
  for (int i = 0; !rc && i < sc->n_event; i++) {
    const mt_scenario_event *e = &sc->event[i];
    int k = e->type == MT_EV_DOSE ? mt_var_index(m->input, m->n_input, e->drug)
                                  : -1;
    if (e->type != MT_EV_DOSE)
      rc = fail(&c, MT_EINVAL, "event at t_min %g: only drug doses drive "
                "model %s", e->t_min, m->name ? m->name : "(unnamed)");
    else if (k < 0)
      rc = fail(&c, MT_EINVAL, "event at t_min %g: model %s has no input "
                "\"%s\"", e->t_min, m->name ? m->name : "(unnamed)",
                e->drug);
    else if ((rc = mt_schedule_pulse(s, k, e->t_min * 60,
                                     (e->t_min + e->duration_min) * 60,
                                     e->amount / (e->duration_min * 60), 0)))
      rc = fail(&c, rc, "event at t_min %g: cannot schedule: %s", e->t_min,
                mt_strerror(rc));
  }
  if (rc) {
    mt_schedule_free(s);
    return rc;
  }
  *out = s;
  return MT_OK;
}
