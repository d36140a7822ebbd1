/*
** Virtual-trial protocol files (include/medtwin/trial.h): JSON text to a
** validated mt_protocol. The format is specified for users in
** docs/trial-protocol.md and machine-readably in
** docs/trial-protocol.schema.json; the calls below, section by section, are
** the single place the parser learns it from. Cohort names (patients,
** parameters) are checked against the protocol's model.
**
** Every error is one line: "<file>: <JSON path>: expected ..., got <value>",
** as for scenario files (src/twin/scenario.c).
*/
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "twin/json_show.h"
#include "core/errfmt.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/model.h"
#include "medtwin/trial.h"

#define PR_MAX_FILE  (16u << 20) /* bytes read by mt_protocol_load */
#define PR_SHOW_MAX  48          /* characters of an offending value shown */
#define PR_PATH_MAX  160         /* a JSON path */
#define PR_MAX_NAMED 4096        /* patients listed in a named cohort */
#define PR_DEFAULT_MODEL "uva_padova_t1d"

/* Open bounds for get_num. */
#define LO_OPEN 1
#define HI_OPEN 2

static const char *const age_names[MT_N_AGE] = {"adult", "adolescent",
                                                "child"};
static const char *const kind_names[] = {"standard", "twin", "pid"};
static const char *const ep_names[MT_N_ENDPOINT] = {
  "tir", "tbr70", "tbr54", "tar180", "tar250", "mean", "cv", "gmi",
  "hypo_events_per_week", "tdi"};
static const char *const cov_names[MT_N_COVARIATE] = {"age_group", "sex",
                                                      "subgroup"};
static const char *const source_names[] = {"named", "population"};
static const char *const sex_names[] = {"F", "M"};
#define N_OF(a) (int)(sizeof(a) / sizeof(a)[0])

const char *mt_endpoint_name(mt_endpoint e)
{
  return (unsigned)e < MT_N_ENDPOINT ? ep_names[e] : "?";
}
const char *mt_arm_kind_name(mt_arm_kind k)
{
  return (unsigned)k < (unsigned)N_OF(kind_names) ? kind_names[k] : "?";
}
const char *mt_covariate_name(mt_covariate c)
{
  return (unsigned)c < MT_N_COVARIATE ? cov_names[c] : "?";
}
const char *mt_age_group_name(mt_age_group g)
{
  return (unsigned)g < MT_N_AGE ? age_names[g] : "?";
}

/* Where messages go, and the model names are checked against. */
typedef struct ctx {
  const char *name;
  char *err;
  size_t errlen;
  const mt_model *m;
} ctx;

static int fail(const ctx *c, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mt_vfail(c->err, c->errlen, code, c->name, fmt, ap);
  va_end(ap);
  return code;
}

/* The offending value as compact JSON, shortened to PR_SHOW_MAX chars. */
static void show(const json_t *v, char *buf, size_t n)
{
  mt__json_show(v, buf, n, PR_SHOW_MAX);
}

/* "<path>: expected <what>, got <value>" with MT_EINVAL. */
static int expected(const ctx *c, const char *path, const char *what,
                    const json_t *v)
{
  char got[PR_SHOW_MAX + 8];
  show(v, got, sizeof got);
  return fail(c, MT_EINVAL, "%s: expected %s, got %s", path, what, got);
}

/* buf = path "." key (key alone at the top level), cut to PR_PATH_MAX. */
static void join(char *buf, const char *path, const char *key)
{
  size_t n = 0;
  for (const char *s = path; *s && n < PR_PATH_MAX - 1; s++)
    buf[n++] = *s;
  if (*path && n < PR_PATH_MAX - 1)
    buf[n++] = '.';
  for (const char *s = key; *s && n < PR_PATH_MAX - 1; s++)
    buf[n++] = *s;
  buf[n] = '\0';
}

static void index_path(char *buf, const char *path, size_t i)
{
  snprintf(buf, PR_PATH_MAX, "%s[%zu]", path, i);
}

/* "a", "a or b", "a, b or c", each quoted when quote. */
static void list_names(char *buf, size_t n, const char *const *names, int k,
                       int quote)
{
  size_t at = 0;
  buf[0] = '\0';
  for (int i = 0; i < k && at < n; i++) {
    const char *sep = i == 0 ? "" : i == k - 1 ? " or " : ", ";
    int w = snprintf(buf + at, n - at, quote ? "%s\"%s\"" : "%s%s", sep,
                     names[i]);
    at += w > 0 ? (size_t)w : 0;
  }
}

/* Every key of object o is in keys (NULL-terminated) or starts with '$'. */
static int check_keys(const ctx *c, json_t *o, const char *path,
                      const char *const *keys)
{
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    int ok = key[0] == '$';
    for (int i = 0; !ok && keys[i]; i++)
      ok = !strcmp(keys[i], key);
    if (ok)
      continue;
    char list[400];
    size_t at = 0;
    list[0] = '\0';
    for (int i = 0; keys[i] && at < sizeof list; i++) {
      int w = snprintf(list + at, sizeof list - at, "%s, ", keys[i]);
      at += w > 0 ? (size_t)w : 0;
    }
    return fail(c, MT_EINVAL, "%s%s%s: unknown key (expected %sor a key "
                "starting with '$')", path, *path ? "." : "", key, list);
  }
  return MT_OK;
}

/* The value under key, or NULL; an error when absent and required. */
static int get(const ctx *c, const json_t *o, const char *path,
               const char *key, int required, json_t **v)
{
  *v = json_object_get(o, key);
  if (*v || !required)
    return MT_OK;
  char p[PR_PATH_MAX];
  join(p, path, key);
  return fail(c, MT_EINVAL, "%s: missing required key", p);
}

/* An object (or, with arr, an array) under key; NULL when absent. */
static int get_container(const ctx *c, const json_t *o, const char *path,
                         const char *key, int required, int arr, json_t **v)
{
  int rc = get(c, o, path, key, required, v);
  if (rc || !*v || (arr ? json_is_array(*v) : json_is_object(*v)))
    return rc;
  char p[PR_PATH_MAX];
  join(p, path, key);
  return expected(c, p, arr ? "an array" : "an object", *v);
}

/* A finite number in [lo, hi] (ends open by the LO_OPEN/HI_OPEN flags). */
static int get_num(const ctx *c, const json_t *o, const char *path,
                   const char *key, int required, double dflt, double lo,
                   double hi, int open, const char *unit, double *out)
{
  json_t *v;
  int rc = get(c, o, path, key, required, &v);
  if (rc || !v) {
    *out = dflt;
    return rc;
  }
  double x = json_is_number(v) ? json_number_value(v) : NAN;
  if (isfinite(x) && ((open & LO_OPEN) ? x > lo : x >= lo) &&
      ((open & HI_OPEN) ? x < hi : x <= hi)) {
    *out = x;
    return MT_OK;
  }
  char p[PR_PATH_MAX], what[128];
  join(p, path, key);
  snprintf(what, sizeof what, "a number %s %g and %s %g%s%s%s",
           (open & LO_OPEN) ? ">" : ">=", lo, (open & HI_OPEN) ? "<" : "<=",
           hi, *unit ? " (" : "", unit, *unit ? ")" : "");
  return expected(c, p, what, v);
}

/* A JSON integer in [lo, hi]. */
static int get_int(const ctx *c, const json_t *o, const char *path,
                   const char *key, int required, long long dflt,
                   long long lo, long long hi, const char *unit,
                   long long *out)
{
  json_t *v;
  int rc = get(c, o, path, key, required, &v);
  if (rc || !v) {
    *out = dflt;
    return rc;
  }
  if (json_is_integer(v) && json_integer_value(v) >= lo &&
      json_integer_value(v) <= hi) {
    *out = json_integer_value(v);
    return MT_OK;
  }
  char p[PR_PATH_MAX], what[128];
  join(p, path, key);
  snprintf(what, sizeof what, "an integer >= %lld and <= %lld%s%s%s", lo, hi,
           *unit ? " (" : "", unit, *unit ? ")" : "");
  return expected(c, p, what, v);
}

static int get_bool(const ctx *c, const json_t *o, const char *path,
                    const char *key, int dflt, int *out)
{
  json_t *v;
  int rc = get(c, o, path, key, 0, &v);
  *out = v && json_is_boolean(v) ? json_is_true(v) : dflt;
  if (rc || !v || json_is_boolean(v))
    return rc;
  char p[PR_PATH_MAX];
  join(p, path, key);
  return expected(c, p, "true or false", v);
}

/* Index of string v among names, or an error at path listing them. */
static int match(const ctx *c, const json_t *v, const char *path,
                 const char *const *names, int k, int *out)
{
  const char *s = json_is_string(v) ? json_string_value(v) : NULL;
  for (int i = 0; s && i < k; i++)
    if (!strcmp(s, names[i])) {
      *out = i;
      return MT_OK;
    }
  char what[320];
  list_names(what, sizeof what, names, k, 1);
  return expected(c, path, what, v);
}

static int get_enum(const ctx *c, const json_t *o, const char *path,
                    const char *key, int required, int dflt,
                    const char *const *names, int k, int *out)
{
  json_t *v;
  int rc = get(c, o, path, key, required, &v);
  *out = dflt;
  if (rc || !v)
    return rc;
  char p[PR_PATH_MAX];
  join(p, path, key);
  return match(c, v, p, names, k, out);
}

/* A string of 1..max - 1 characters, none a control character. */
static int get_str(const ctx *c, const json_t *o, const char *path,
                   const char *key, int required, const char *dflt,
                   char *out, size_t max)
{
  json_t *v;
  int rc = get(c, o, path, key, required, &v);
  if (rc || !v) {
    snprintf(out, max, "%s", dflt);
    return rc;
  }
  const char *s = json_is_string(v) ? json_string_value(v) : NULL;
  size_t n = s ? json_string_length(v) : 0;
  int ok = s && n >= 1 && n < max && strlen(s) == n;
  for (size_t i = 0; ok && i < n; i++)
    ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
  if (ok) {
    memcpy(out, s, n + 1);
    return MT_OK;
  }
  char p[PR_PATH_MAX], what[96];
  join(p, path, key);
  snprintf(what, sizeof what, "a string of 1 to %zu characters without "
           "control characters", max - 1);
  return expected(c, p, what, v);
}

/* Proportions keyed by names (absent keys 0) summing to 1 within tolerance. */
static int get_props(const ctx *c, json_t *o, const char *path,
                     const char *const *names, int k, double *out)
{
  const char *keys[8];
  for (int i = 0; i < k; i++)
    keys[i] = names[i];
  keys[k] = NULL;
  int rc = check_keys(c, o, path, keys);
  double sum = 0;
  for (int i = 0; !rc && i < k; i++) {
    rc = get_num(c, o, path, names[i], 0, 0, 0, 1, 0, "", &out[i]);
    sum += out[i];
  }
  if (!rc && fabs(sum - 1) > MT_PROTOCOL_SUM_TOL)
    return fail(c, MT_EINVAL, "%s: expected proportions summing to 1 "
                "(within %g), got %.17g", path, MT_PROTOCOL_SUM_TOL, sum);
  return rc;
}

/* ---- cohort ------------------------------------------------------------ */

/* Index of a shipped patient of the model by name, or -1. */
static int patient_index(const mt_model *m, const char *s)
{
  for (int i = 0; i < m->patients->n; i++)
    if (!strcmp(m->patients->name(i), s))
      return i;
  return -1;
}

static int named_list(const ctx *c, json_t *arr, mt_protocol *p)
{
  size_t n = json_array_size(arr);
  if (n < 1 || n > PR_MAX_NAMED) {
    char what[64];
    snprintf(what, sizeof what, "1 to %d patient names", PR_MAX_NAMED);
    return expected(c, "cohort.patients", what, arr);
  }
  p->named = malloc(n * sizeof *p->named);
  if (!p->named)
    return fail(c, MT_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_array_get(arr, i);
    char path[PR_PATH_MAX], what[160];
    index_path(path, "cohort.patients", i);
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    int k = patient_index(c->m, s);
    for (int j = 0; k >= 0 && j < p->n_named; j++)
      if (p->named[j] == k)
        return expected(c, path, "a patient not listed before", v);
    if (k < 0) {
      snprintf(what, sizeof what, "a virtual patient of %s (%s to %s)",
               c->m->name, c->m->patients->name(0),
               c->m->patients->name(c->m->patients->n - 1));
      return expected(c, path, what, v);
    }
    p->named[p->n_named++] = k;
  }
  return MT_OK;
}

/* Every shipped patient whose name is "<group>#..." ("all": every one). */
static int named_group(const ctx *c, json_t *v, mt_protocol *p)
{
  static const char *const groups[] = {"adult", "adolescent", "child", "all"};
  int g, rc = match(c, v, "cohort.group", groups, N_OF(groups), &g);
  if (rc)
    return rc;
  const mt_patient_set *ps = c->m->patients;
  p->named = malloc((size_t)ps->n * sizeof *p->named);
  if (!p->named)
    return fail(c, MT_ENOMEM, "out of memory");
  size_t len = strlen(groups[g]);
  for (int i = 0; i < ps->n; i++) {
    const char *s = ps->name(i);
    if (g == 3 || (!strncmp(s, groups[g], len) && s[len] == '#'))
      p->named[p->n_named++] = i;
  }
  if (p->n_named == 0)
    return expected(c, "cohort.group", "a group with patients in the model",
                    v);
  return MT_OK;
}

static int cohort_named(const ctx *c, json_t *co, mt_protocol *p)
{
  json_t *list = json_object_get(co, "patients");
  json_t *group = json_object_get(co, "group");
  if (json_object_get(co, "age_groups"))
    return fail(c, MT_EINVAL, "cohort.age_groups: expected no age_groups "
                "with source \"named\" (the patients' own groups count)");
  if (!!list == !!group)
    return fail(c, MT_EINVAL, "cohort: expected exactly one of patients "
                "and group with source \"named\"");
  if (group)
    return named_group(c, group, p);
  if (!json_is_array(list))
    return expected(c, "cohort.patients", "an array", list);
  return named_list(c, list, p);
}

static int cohort_population(const ctx *c, json_t *co, mt_protocol *p)
{
  const char *bad = json_object_get(co, "patients") ? "patients"
                    : json_object_get(co, "group") ? "group" : NULL;
  if (bad)
    return fail(c, MT_EINVAL, "cohort.%s: expected no %s with source "
                "\"population\"", bad, bad);
  json_t *ages;
  int rc = get_container(c, co, "cohort", "age_groups", 0, 0, &ages);
  if (rc)
    return rc;
  if (!ages) {
    p->age[MT_AGE_ADULT] = 1;
    return MT_OK;
  }
  return get_props(c, ages, "cohort.age_groups", age_names, MT_N_AGE, p->age);
}

static int shifts(const ctx *c, json_t *o, const char *path, mt_subgroup *s)
{
  const char *key;
  json_t *v;
  if (json_object_size(o) > MT_PROTOCOL_MAX_SHIFTS)
    return fail(c, MT_EINVAL, "%s: expected at most %d parameter shifts, "
                "got %zu", path, MT_PROTOCOL_MAX_SHIFTS, json_object_size(o));
  json_object_foreach(o, key, v) {
    if (key[0] == '$')
      continue;
    int k = mt_var_index(c->m->param, c->m->n_param, key);
    if (k < 0 || (c->m->param[k].flags & MT_VAR_DERIVED))
      return fail(c, MT_EINVAL, "%s.%s: expected the name of a %sparameter "
                  "of %s", path, key, k < 0 ? "" : "primary (not derived) ",
                  c->m->name);
    mt_param_shift *sh = &s->shift[s->n_shift++];
    snprintf(sh->param, sizeof sh->param, "%s", key);
    sh->index = k;
    int rc = get_num(c, o, path, key, 1, 1, 0.1, 10, 0, "factor",
                     &sh->factor);
    if (rc)
      return rc;
  }
  return MT_OK;
}

static int subgroup(const ctx *c, json_t *o, const char *path, int i,
                    mt_protocol *p)
{
  static const char *const keys[] = {"label", "proportion", "sex", "shifts",
                                     "hypothetical", NULL};
  mt_subgroup *s = &p->subgroup[i];
  if (!json_is_object(o))
    return expected(c, path, "an object", o);
  int rc = check_keys(c, o, path, keys);
  if (!rc)
    rc = get_str(c, o, path, "label", 1, "", s->label, sizeof s->label);
  for (int j = 0; !rc && j < i; j++)
    if (!strcmp(p->subgroup[j].label, s->label)) {
      char q[PR_PATH_MAX];
      join(q, path, "label");
      return expected(c, q, "a label no earlier subgroup has",
                      json_object_get(o, "label"));
    }
  if (!rc)
    rc = get_num(c, o, path, "proportion", 1, 0, 0, 1, 0, "", &s->proportion);
  json_t *h = json_object_get(o, "hypothetical"), *sex = NULL, *sh = NULL;
  if (!rc && !json_is_true(h)) {
    char q[PR_PATH_MAX];
    join(q, path, "hypothetical");
    if (!h)
      return fail(c, MT_EINVAL, "%s: missing required key (true: subgroups "
                  "and their shifts are hypothetical sensitivity analyses)",
                  q);
    return expected(c, q, "true (subgroups and their shifts are hypothetical "
                    "sensitivity analyses)", h);
  }
  if (!rc)
    rc = get_container(c, o, path, "sex", 0, 0, &sex);
  s->female = 0.5;
  if (!rc && sex) {
    char q[PR_PATH_MAX];
    double fm[2];
    join(q, path, "sex");
    rc = get_props(c, sex, q, sex_names, 2, fm);
    s->female = fm[0];
  }
  if (!rc)
    rc = get_container(c, o, path, "shifts", 0, 0, &sh);
  if (!rc && sh) {
    char q[PR_PATH_MAX];
    join(q, path, "shifts");
    rc = shifts(c, sh, q, s);
  }
  return rc;
}

static int subgroups(const ctx *c, json_t *co, mt_protocol *p)
{
  json_t *arr;
  int rc = get_container(c, co, "cohort", "subgroups", 0, 1, &arr);
  if (rc || !arr)
    return rc;
  size_t n = json_array_size(arr);
  if (n < 1 || n > MT_PROTOCOL_MAX_SUBGROUPS) {
    char what[48];
    snprintf(what, sizeof what, "1 to %d subgroups", MT_PROTOCOL_MAX_SUBGROUPS);
    return expected(c, "cohort.subgroups", what, arr);
  }
  p->subgroup = calloc(n, sizeof *p->subgroup);
  if (!p->subgroup)
    return fail(c, MT_ENOMEM, "out of memory");
  p->n_subgroup = (int)n;
  double sum = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    char path[PR_PATH_MAX];
    index_path(path, "cohort.subgroups", i);
    rc = subgroup(c, json_array_get(arr, i), path, (int)i, p);
    sum += p->subgroup[i].proportion;
  }
  if (!rc && fabs(sum - 1) > MT_PROTOCOL_SUM_TOL)
    return fail(c, MT_EINVAL, "cohort.subgroups: expected proportions "
                "summing to 1 (within %g), got %.17g", MT_PROTOCOL_SUM_TOL,
                sum);
  return rc;
}

static int cohort(const ctx *c, json_t *co, mt_protocol *p)
{
  static const char *const keys[] = {"source", "patients", "group",
                                     "age_groups", "subgroups", NULL};
  int src, rc = check_keys(c, co, "cohort", keys);
  if (!rc)
    rc = get_enum(c, co, "cohort", "source", 1, 0, source_names, 2, &src);
  if (rc)
    return rc;
  p->source = (mt_trial_source)src;
  rc = src == MT_TRIAL_NAMED ? cohort_named(c, co, p)
                             : cohort_population(c, co, p);
  return rc ? rc : subgroups(c, co, p);
}

/* ---- scenario generator ------------------------------------------------ */

/* "HH:MM", 00..23 and 00..59, to minutes after midnight. */
static int clock_time(const ctx *c, const json_t *o, const char *path,
                      int *out)
{
  json_t *v;
  int rc = get(c, o, path, "time", 1, &v);
  if (rc)
    return rc;
  const char *s = json_is_string(v) ? json_string_value(v) : NULL;
  if (s && strlen(s) == 5 && s[2] == ':') {
    int d[4] = {s[0] - '0', s[1] - '0', s[3] - '0', s[4] - '0'}, ok = 1;
    for (int i = 0; i < 4; i++)
      ok &= d[i] >= 0 && d[i] <= 9;
    int hh = 10 * d[0] + d[1], mm = 10 * d[2] + d[3];
    if (ok && hh <= 23 && mm <= 59) {
      *out = 60 * hh + mm;
      return MT_OK;
    }
  }
  char p[PR_PATH_MAX];
  join(p, path, "time");
  return expected(c, p, "\"HH:MM\" with HH 00..23 and MM 00..59", v);
}

static int meal(const ctx *c, json_t *o, const char *path, mt_trial_meal *ml)
{
  static const char *const keys[] = {"time", "time_sd_min", "grams",
                                     "grams_cv", NULL};
  if (!json_is_object(o))
    return expected(c, path, "an object", o);
  int rc = check_keys(c, o, path, keys);
  if (!rc)
    rc = clock_time(c, o, path, &ml->clock_min);
  if (!rc)
    rc = get_num(c, o, path, "time_sd_min", 0, 0, 0, 180, 0, "min",
                 &ml->time_sd_min);
  if (!rc)
    rc = get_num(c, o, path, "grams", 1, 0, 0, 500, 0, "g", &ml->grams);
  if (!rc)
    rc = get_num(c, o, path, "grams_cv", 0, 0, 0, 1, 0, "", &ml->grams_cv);
  return rc;
}

static int meals(const ctx *c, json_t *sc, mt_protocol *p)
{
  json_t *arr;
  int rc = get_container(c, sc, "scenario", "meals", 1, 1, &arr);
  if (rc)
    return rc;
  size_t n = json_array_size(arr);
  if (n > MT_PROTOCOL_MAX_MEALS) {
    char what[48];
    snprintf(what, sizeof what, "at most %d meals a day",
             MT_PROTOCOL_MAX_MEALS);
    return expected(c, "scenario.meals", what, arr);
  }
  for (size_t i = 0; !rc && i < n; i++) {
    char path[PR_PATH_MAX];
    index_path(path, "scenario.meals", i);
    rc = meal(c, json_array_get(arr, i), path, &p->meal[p->n_meal++]);
  }
  return rc;
}

static int carb_error(const ctx *c, json_t *sc, mt_protocol *p)
{
  static const char *const keys[] = {"sd", "bias", NULL};
  const char *path = "scenario.carb_count_error";
  json_t *o;
  int rc = get_container(c, sc, "scenario", "carb_count_error", 0, 0, &o);
  if (rc || !o)
    return rc;
  rc = check_keys(c, o, path, keys);
  if (!rc)
    rc = get_num(c, o, path, "sd", 0, 0, 0, 1, 0, "fraction",
                 &p->carb_error_sd);
  if (!rc)
    rc = get_num(c, o, path, "bias", 0, 0, -0.5, 0.5, 0, "fraction",
                 &p->carb_error_bias);
  return rc;
}

static int snacks(const ctx *c, json_t *sc, mt_protocol *p)
{
  static const char *const keys[] = {"per_day", "grams", "grams_cv", NULL};
  const char *path = "scenario.snacks";
  json_t *o;
  int rc = get_container(c, sc, "scenario", "snacks", 0, 0, &o);
  p->snack_grams = 15;
  if (rc || !o)
    return rc;
  rc = check_keys(c, o, path, keys);
  if (!rc)
    rc = get_num(c, o, path, "per_day", 0, 0, 0, 10, 0, "1/day",
                 &p->snacks_per_day);
  if (!rc)
    rc = get_num(c, o, path, "grams", 0, 15, 0, 100, 0, "g", &p->snack_grams);
  if (!rc)
    rc = get_num(c, o, path, "grams_cv", 0, 0, 0, 1, 0, "",
                 &p->snack_grams_cv);
  return rc;
}

static int scenario(const ctx *c, json_t *sc, mt_protocol *p)
{
  static const char *const keys[] = {"meals", "carb_count_error", "snacks",
                                     "missed_bolus_probability", "cgm_noise",
                                     NULL};
  int rc = check_keys(c, sc, "scenario", keys);
  if (!rc)
    rc = meals(c, sc, p);
  if (!rc)
    rc = carb_error(c, sc, p);
  if (!rc)
    rc = snacks(c, sc, p);
  if (!rc)
    rc = get_num(c, sc, "scenario", "missed_bolus_probability", 0, 0, 0, 1,
                 0, "", &p->missed_bolus_p);
  if (!rc)
    rc = get_bool(c, sc, "scenario", "cgm_noise", 1, &p->cgm_noise);
  return rc;
}

/* ---- arms -------------------------------------------------------------- */

static int arm_standard(const ctx *c, json_t *o, const char *path,
                        mt_trial_arm *a)
{
  static const char *const keys[] = {"name", "kind", "target_mgdl",
                                     "correction_above_mgdl", "iob", "cr_cf",
                                     NULL};
  static const char *const cr_cf[] = {"patient"};
  int src, rc = check_keys(c, o, path, keys);
  if (!rc)
    rc = get_num(c, o, path, "target_mgdl", 0, 120, 70, 200, 0, "mg/dL",
                 &a->target_mgdl);
  if (!rc)
    rc = get_num(c, o, path, "correction_above_mgdl", 0,
                 fmax(150, a->target_mgdl), a->target_mgdl, 400, 0,
                 "mg/dL, at least target_mgdl", &a->correction_above_mgdl);
  if (!rc)
    rc = get_bool(c, o, path, "iob", 1, &a->use_iob);
  if (!rc)
    rc = get_enum(c, o, path, "cr_cf", 0, 0, cr_cf, 1, &src);
  return rc;
}

static int arm_twin(const ctx *c, json_t *o, const char *path,
                    mt_trial_arm *a)
{
  static const char *const keys[] = {"name", "kind", "members",
                                     "horizon_min", "advisor", NULL};
  static const char *const adv_keys[] = {"p70_max", "max_bolus_u", "step_u",
                                         NULL};
  long long members = 64;
  json_t *adv = NULL;
  char q[PR_PATH_MAX];
  join(q, path, "advisor");
  int rc = check_keys(c, o, path, keys);
  if (!rc)
    rc = get_int(c, o, path, "members", 0, 64, 8, 1024, "", &members);
  a->members = (int)members;
  if (!rc)
    rc = get_num(c, o, path, "horizon_min", 0, 240, 5, 240, 0, "min",
                 &a->horizon_min);
  if (!rc)
    rc = get_container(c, o, path, "advisor", 0, 0, &adv);
  if (!rc && adv)
    rc = check_keys(c, adv, q, adv_keys);
  if (!rc)
    rc = get_num(c, adv, q, "p70_max", 0, 0.05, 0, 1, LO_OPEN | HI_OPEN, "",
                 &a->p70_max);
  if (!rc)
    rc = get_num(c, adv, q, "max_bolus_u", 0, 20, 0, 50, LO_OPEN, "U",
                 &a->max_bolus_u);
  if (!rc)
    rc = get_num(c, adv, q, "step_u", 0, 0.5, 0, 5, LO_OPEN, "U", &a->step_u);
  return rc;
}

static int arm_pid(const ctx *c, json_t *o, const char *path, mt_trial_arm *a)
{
  static const char *const keys[] = {"name", "kind", "target_mgdl", "kp",
                                     "ki", "kd", "basal", NULL};
  int rc = check_keys(c, o, path, keys);
  if (!rc)
    rc = get_num(c, o, path, "target_mgdl", 0, 120, 70, 200, 0, "mg/dL",
                 &a->target_mgdl);
  if (!rc)
    rc = get_num(c, o, path, "kp", 1, 0, 0, 10, 0, "U/h per mg/dL", &a->kp);
  if (!rc)
    rc = get_num(c, o, path, "ki", 1, 0, 0, 10, 0, "U/h per mg/dL x min",
                 &a->ki);
  if (!rc)
    rc = get_num(c, o, path, "kd", 1, 0, 0, 10, 0, "U/h per mg/dL/min",
                 &a->kd);
  json_t *b = json_object_get(o, "basal");
  a->basal_u_per_h = NAN;
  if (rc || !b || (json_is_string(b) && !strcmp(json_string_value(b),
                                                "patient")))
    return rc;
  if (json_is_number(b))
    return get_num(c, o, path, "basal", 1, 0, 0, 50, 0, "U/h",
                   &a->basal_u_per_h);
  char q[PR_PATH_MAX];
  join(q, path, "basal");
  return expected(c, q, "\"patient\" or a number >= 0 and <= 50 (U/h)", b);
}

/* An arm name: 1..32 of [A-Za-z0-9_.-]. */
static int arm_name(const ctx *c, json_t *o, const char *path,
                    const mt_protocol *p, int i, mt_trial_arm *a)
{
  json_t *v;
  int rc = get(c, o, path, "name", 1, &v);
  if (rc)
    return rc;
  char q[PR_PATH_MAX];
  join(q, path, "name");
  const char *s = json_is_string(v) ? json_string_value(v) : "";
  size_t n = strlen(s);
  int ok = n >= 1 && n < sizeof a->name && n == json_string_length(v);
  for (size_t k = 0; ok && k < n; k++)
    ok = (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
         (s[k] >= '0' && s[k] <= '9') || strchr("_.-", s[k]);
  if (!ok)
    return expected(c, q, "a name of 1 to 32 letters, digits, '_', '.' or "
                    "'-'", v);
  for (int j = 0; j < i; j++)
    if (!strcmp(p->arm[j].name, s))
      return expected(c, q, "a name no earlier arm has", v);
  memcpy(a->name, s, n + 1);
  return MT_OK;
}

static int arm(const ctx *c, json_t *o, int i, mt_protocol *p)
{
  char path[PR_PATH_MAX];
  index_path(path, "arms", (size_t)i);
  if (!json_is_object(o))
    return expected(c, path, "an object", o);
  mt_trial_arm *a = &p->arm[i];
  int kind, rc = get_enum(c, o, path, "kind", 1, 0, kind_names,
                          N_OF(kind_names), &kind);
  if (!rc)
    rc = arm_name(c, o, path, p, i, a);
  if (rc)
    return rc;
  a->kind = (mt_arm_kind)kind;
  a->basal_u_per_h = NAN;
  if (kind == MT_ARM_STANDARD)
    return arm_standard(c, o, path, a);
  if (kind == MT_ARM_TWIN)
    return arm_twin(c, o, path, a);
  return arm_pid(c, o, path, a);
}

static int arms(const ctx *c, json_t *root, mt_protocol *p)
{
  json_t *arr;
  int rc = get_container(c, root, "", "arms", 1, 1, &arr);
  if (rc)
    return rc;
  size_t n = json_array_size(arr);
  if (n < 1 || n > MT_PROTOCOL_MAX_ARMS) {
    char what[32];
    snprintf(what, sizeof what, "1 to %d arms", MT_PROTOCOL_MAX_ARMS);
    return expected(c, "arms", what, arr);
  }
  for (size_t i = 0; !rc && i < n; i++) {
    rc = arm(c, json_array_get(arr, i), (int)i, p);
    p->n_arm = (int)i + 1;
  }
  return rc;
}

/* ---- endpoints and statistics ------------------------------------------ */

/* A list of unique names into out (as indices); max entries. */
static int name_list(const ctx *c, json_t *arr, const char *path,
                     const char *const *names, int k, int min, int *out,
                     int *n_out)
{
  size_t n = json_array_size(arr);
  if (n < (size_t)min || n > (size_t)k) {
    char what[48];
    snprintf(what, sizeof what, "an array of %d to %d names", min, k);
    return expected(c, path, what, arr);
  }
  for (size_t i = 0; i < n; i++) {
    char q[PR_PATH_MAX];
    index_path(q, path, i);
    json_t *v = json_array_get(arr, i);
    int rc = match(c, v, q, names, k, &out[i]);
    for (size_t j = 0; !rc && j < i; j++)
      if (out[j] == out[i])
        return expected(c, q, "a name not listed before", v);
    if (rc)
      return rc;
  }
  *n_out = (int)n;
  return MT_OK;
}

static int endpoints(const ctx *c, json_t *root, mt_protocol *p)
{
  json_t *arr, *v;
  int idx[MT_N_ENDPOINT], prim;
  int rc = get_container(c, root, "", "endpoints", 1, 1, &arr);
  if (!rc)
    rc = name_list(c, arr, "endpoints", ep_names, MT_N_ENDPOINT, 1, idx,
                   &p->n_endpoint);
  for (int i = 0; !rc && i < p->n_endpoint; i++)
    p->endpoint[i] = (mt_endpoint)idx[i];
  if (!rc)
    rc = get(c, root, "", "primary_endpoint", 1, &v);
  if (!rc)
    rc = match(c, v, "primary_endpoint", ep_names, MT_N_ENDPOINT, &prim);
  if (rc)
    return rc;
  for (int i = 0; i < p->n_endpoint; i++)
    if (p->endpoint[i] == (mt_endpoint)prim) {
      p->primary = (mt_endpoint)prim;
      return MT_OK;
    }
  return expected(c, "primary_endpoint", "one of the endpoints listed", v);
}

static int sample_size(const ctx *c, json_t *st, mt_protocol *p)
{
  static const char *const keys[] = {"power", "max_trials", NULL};
  const char *path = "statistics.sample_size";
  json_t *o;
  long long mt = 0;
  int rc = get_container(c, st, "statistics", "sample_size", 0, 0, &o);
  if (rc || !o)
    return rc;
  rc = check_keys(c, o, path, keys);
  if (!rc)
    rc = get_num(c, o, path, "power", 1, 0, 0.5, 0.99, 0, "", &p->power);
  if (!rc)
    rc = get_int(c, o, path, "max_trials", 1, 0, 1, 100000, "", &mt);
  p->max_trials = rc ? 0 : (int)mt;
  return rc;
}

static int covariates(const ctx *c, json_t *st, mt_protocol *p)
{
  json_t *arr;
  int idx[MT_N_COVARIATE];
  int rc = get_container(c, st, "statistics", "subgroup_covariates", 0, 1,
                         &arr);
  if (rc)
    return rc;
  if (!arr) { /* every covariate the cohort has */
    p->covariate[p->n_covariate++] = MT_COV_AGE_GROUP;
    p->covariate[p->n_covariate++] = MT_COV_SEX;
    if (p->n_subgroup)
      p->covariate[p->n_covariate++] = MT_COV_SUBGROUP;
    return MT_OK;
  }
  rc = name_list(c, arr, "statistics.subgroup_covariates", cov_names,
                 MT_N_COVARIATE, 0, idx, &p->n_covariate);
  for (int i = 0; !rc && i < p->n_covariate; i++) {
    p->covariate[i] = (mt_covariate)idx[i];
    if (idx[i] == MT_COV_SUBGROUP && !p->n_subgroup) {
      char q[PR_PATH_MAX];
      index_path(q, "statistics.subgroup_covariates", (size_t)i);
      return expected(c, q, "a covariate the cohort has (\"subgroup\" needs "
                      "cohort.subgroups)", json_array_get(arr, (size_t)i));
    }
  }
  return rc;
}

static int statistics(const ctx *c, json_t *root, mt_protocol *p)
{
  static const char *const keys[] = {"level", "bootstrap", "bootstrap_seed",
                                     "subgroup_covariates", "sample_size",
                                     NULL};
  const char *path = "statistics";
  json_t *st, *empty = json_object();
  long long b = 1000, seed = 0;
  if (!empty)
    return fail(c, MT_ENOMEM, "out of memory");
  int rc = get_container(c, root, "", "statistics", 0, 0, &st);
  if (!st)
    st = empty;
  if (!rc)
    rc = check_keys(c, st, path, keys);
  if (!rc)
    rc = get_num(c, st, path, "level", 0, 0.95, 0.5, 0.999, 0, "",
                 &p->level);
  json_t *bv = json_object_get(st, "bootstrap");
  if (!rc && bv && !(json_is_integer(bv) && json_integer_value(bv) == 0))
    rc = get_int(c, st, path, "bootstrap", 0, 1000, 100, 100000,
                 "resamples, or 0 for none", &b);
  else if (bv)
    b = 0;
  p->bootstrap = (int)b;
  if (!rc)
    rc = get_int(c, st, path, "bootstrap_seed", 0, (long long)p->seed, 0,
                 INT64_MAX, "", &seed);
  p->bootstrap_seed = (uint64_t)seed;
  if (!rc)
    rc = covariates(c, st, p);
  if (!rc)
    rc = sample_size(c, st, p);
  json_decref(empty);
  return rc;
}

/* ---- top level --------------------------------------------------------- */

static int top_model(ctx *c, json_t *root, mt_protocol *p)
{
  int rc = get_str(c, root, "", "model", 0, PR_DEFAULT_MODEL, p->model,
                   sizeof p->model);
  if (rc)
    return rc;
  c->m = mt_model_find(p->model);
  if (c->m && c->m->patients && c->m->patients->n > 0)
    return MT_OK;
  return expected(c, "model", "a registered model with virtual patients "
                  "(\"" PR_DEFAULT_MODEL "\")", json_object_get(root, "model"));
}

static int parse_top(ctx *c, json_t *root, mt_protocol *p)
{
  static const char *const keys[] = {"name", "model", "seed", "days",
                                     "size", "cohort", "scenario", "arms",
                                     "endpoints", "primary_endpoint",
                                     "statistics", NULL};
  if (!json_is_object(root)) {
    char got[PR_SHOW_MAX + 8];
    show(root, got, sizeof got);
    return fail(c, MT_EINVAL, "expected an object at the top level, got %s",
                got);
  }
  long long seed = 0, days = 0, size = 0;
  json_t *co = NULL, *sc = NULL;
  int rc = check_keys(c, root, "", keys);
  if (!rc)
    rc = get_str(c, root, "", "name", 1, "", p->name, sizeof p->name);
  if (!rc)
    rc = top_model(c, root, p);
  if (!rc)
    rc = get_int(c, root, "", "seed", 1, 0, 0, INT64_MAX, "", &seed);
  if (!rc)
    rc = get_int(c, root, "", "days", 1, 0, 1, 365, "days", &days);
  if (!rc)
    rc = get_int(c, root, "", "size", 1, 0, 1, 10000000, "patients", &size);
  p->seed = (uint64_t)seed;
  p->days = (int)days;
  p->size = (int)size;
  if (!rc)
    rc = get_container(c, root, "", "cohort", 1, 0, &co);
  if (!rc)
    rc = cohort(c, co, p);
  if (!rc)
    rc = get_container(c, root, "", "scenario", 1, 0, &sc);
  if (!rc)
    rc = scenario(c, sc, p);
  if (!rc)
    rc = arms(c, root, p);
  if (!rc)
    rc = endpoints(c, root, p);
  if (!rc)
    rc = statistics(c, root, p);
  return rc;
}

int mt_protocol_parse(const char *text, size_t len, const char *name,
                      mt_protocol **out, char *err, size_t errlen)
{
  ctx c = {name ? name : "<protocol>", err, errlen, NULL};
  if (err && errlen)
    err[0] = '\0';
  *out = NULL;
  if (!text && len)
    return fail(&c, MT_EINVAL, "no input");
  json_error_t je;
  json_t *root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES,
                            &je);
  if (!root)
    return fail(&c, MT_EPARSE, "line %d, column %d: invalid JSON: %s",
                je.line, je.column, je.text);
  mt_protocol *p = calloc(1, sizeof *p);
  int rc = p ? parse_top(&c, root, p) : fail(&c, MT_ENOMEM, "out of memory");
  json_decref(root);
  if (rc) {
    mt_protocol_free(p);
    return rc;
  }
  *out = p;
  return MT_OK;
}

int mt_protocol_load(const char *path, mt_protocol **out, char *err,
                     size_t errlen)
{
  ctx c = {path ? path : "<protocol>", err, errlen, NULL};
  *out = NULL;
  if (err && errlen)
    err[0] = '\0';
  if (!path)
    return fail(&c, MT_EINVAL, "no file name");
  char *buf = NULL;
  size_t len = 0;
  int rc = mt_file_read(path, &buf, &len, err, errlen);
  if (rc)
    return rc;
  if (len > PR_MAX_FILE)
    rc = fail(&c, MT_EINVAL, "larger than %u bytes", PR_MAX_FILE);
  else
    rc = mt_protocol_parse(buf, len, path, out, err, errlen);
  free(buf);
  return rc;
}

void mt_protocol_free(mt_protocol *p)
{
  if (!p)
    return;
  free(p->named);
  free(p->subgroup);
  free(p);
}
