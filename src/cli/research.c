/*
** medtwin research keygen | export: a pseudonymised extract of the patients
** who consented to research (GDPR Art. 5(1)(c), 25 and 89; docs/cli.md).
**
** Pseudonyms are keyed hashes per study: BLAKE2b-256 keyed with the study
** key over "medtwin.study.v1" || study || 0x00 || name, as 32 hex
** characters, where name is the Patient id for a Patient and "Type/id" for
** any other resource. Every full date is shifted by a per-patient whole
** number of days in [-180, -1] or [1, 180], derived from the same key, so
** intervals within a patient are kept. Free text, names, contacts and
** identifiers are dropped; birthDate keeps its year only, and is omitted
** (with an age-group extension "90+") for a patient aged 90 or more.
*/
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../server/jsonx.h"
#include "cli.h"
#include "medtwin/import.h"
#include "medtwin/access.h"
#include "medtwin/audit.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/store.h"

#define KEY_BYTES 32
#define PSEUDO_HEX 32
#define MAX_RESOURCES 1000000L
#define AGE_GROUP_URL "urn:medtwin:research:age-group"

static const char research_usage[] =
    "usage: medtwin research keygen --key FILE\n"
    "       medtwin research export --data DIR --study NAME --key FILE\n"
    "                               --out FILE.ndjson [--k K]\n"
    "  keygen: a new 32-byte study key in FILE (hex, mode 0600); an existing\n"
    "    file is never overwritten\n"
    "  export: the current resources of the patients with active research\n"
    "    consent, one per line, pseudonymised for study NAME: ids and\n"
    "    references replaced by keyed hashes (stable within a study and key,\n"
    "    different across), full dates shifted by a per-patient number of\n"
    "    days, free text, names, contacts and identifiers dropped, birthDate\n"
    "    cut to its year (omitted, age group \"90+\", at 90 or more). The\n"
    "    key FILE must be readable by its owner only and lie outside DIR.\n"
    "    A k-anonymity report over (birth year, gender) is written beside the\n"
    "    output as FILE.report.json; K (default 5) is the class size wanted.\n"
    "    The export is recorded in the audit trail.\n";

typedef struct ropts {
  const char *cmd, *data, *study, *key, *out, *k;
  int json;
} ropts;

static int r_opt(void *ctx, const char *a, const char *v)
{
  ropts *o = ctx;
  const char **slot = !strcmp(a, "--data")    ? &o->data
                      : !strcmp(a, "--study") ? &o->study
                      : !strcmp(a, "--key")   ? &o->key
                      : !strcmp(a, "--out")   ? &o->out
                      : !strcmp(a, "--k")     ? &o->k
                                              : NULL;
  if (!slot)
    return cli_fail(EXIT_USAGE, "%s: unknown option '%s'", o->cmd, a);
  *slot = v;
  return 0;
}

/* ---- keygen ------------------------------------------------------------ */

static int keygen(const ropts *o)
{
  if (!o->key)
    return cli_fail(EXIT_USAGE, "research keygen: --key FILE is required");
  int fd = open(o->key, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return cli_fail(errno == EEXIST ? EXIT_USAGE : EXIT_RUNTIME,
                    "research keygen: %s: %s", o->key,
                    errno == EEXIST ? "exists already (not overwritten)"
                                    : strerror(errno));
  unsigned char k[KEY_BYTES];
  char hex[2 * KEY_BYTES + 2];
  randombytes_buf(k, sizeof k);
  sodium_bin2hex(hex, sizeof hex, k, sizeof k);
  sodium_memzero(k, sizeof k);
  strcat(hex, "\n");
  size_t len = strlen(hex);
  int ok = write(fd, hex, len) == (ssize_t)len && fsync(fd) == 0;
  sodium_memzero(hex, sizeof hex);
  if (close(fd) || !ok) {
    unlink(o->key);
    return cli_fail(EXIT_RUNTIME, "research keygen: %s: cannot write",
                    o->key);
  }
  fprintf(stderr, "medtwin research keygen: a new study key in %s\n",
          o->key);
  return EXIT_OK;
}

/* The key: 64 hex characters and an optional newline, in a regular file
** of mode 0600 or stricter outside the data directory. */
static int load_key(const ropts *o, unsigned char key[KEY_BYTES])
{
  struct stat sb;
  char kdir[PATH_MAX], ddir[PATH_MAX], tmp[PATH_MAX];
  if (stat(o->key, &sb) || !S_ISREG(sb.st_mode))
    return cli_fail(EXIT_USAGE, "research export: --key: %s is not a file",
                    o->key);
  if (sb.st_mode & 077)
    return cli_fail(EXIT_USAGE, "research export: --key: %s is readable "
                    "by others (mode %03o; chmod 600)", o->key,
                    (unsigned)(sb.st_mode & 0777));
  snprintf(tmp, sizeof tmp, "%s", o->key);
  char *slash = strrchr(tmp, '/');
  if (slash)
    *slash = '\0';
  if (!realpath(slash ? (tmp[0] ? tmp : "/") : ".", kdir) ||
      !realpath(o->data, ddir))
    return cli_fail(EXIT_USAGE, "research export: cannot resolve --key "
                    "or --data");
  size_t dl = strlen(ddir);
  if (!strncmp(kdir, ddir, dl) && (kdir[dl] == '\0' || kdir[dl] == '/'))
    return cli_fail(EXIT_USAGE, "research export: --key: the key must lie "
                    "outside the data directory");
  char hex[2 * KEY_BYTES + 4];
  FILE *f = fopen(o->key, "r");
  size_t n = f ? fread(hex, 1, sizeof hex - 1, f) : 0;
  if (f)
    fclose(f);
  hex[n] = '\0';
  if (n && hex[n - 1] == '\n')
    hex[--n] = '\0';
  size_t got = 0;
  int bad = n != 2 * KEY_BYTES ||
            sodium_hex2bin(key, KEY_BYTES, hex, n, NULL, &got, NULL) ||
            got != KEY_BYTES;
  sodium_memzero(hex, sizeof hex);
  if (bad)
    return cli_fail(EXIT_USAGE, "research export: --key: %s does not hold "
                    "a key (64 hex characters; see research keygen)",
                    o->key);
  return 0;
}

/* ---- pseudonyms and date shifts ---------------------------------------- */

typedef struct ctx {
  const unsigned char *key;
  const char *study;
  const char *patient; /* the real id, never written */
  long shift;          /* days */
} ctx;

static void keyed(const ctx *c, const char *domain, const char *name,
                  unsigned char out[32])
{
  crypto_generichash_state h;
  crypto_generichash_init(&h, c->key, KEY_BYTES, 32);
  crypto_generichash_update(&h, (const unsigned char *)domain,
                            strlen(domain));
  crypto_generichash_update(&h, (const unsigned char *)c->study,
                            strlen(c->study) + 1); /* with its NUL */
  crypto_generichash_update(&h, (const unsigned char *)name, strlen(name));
  crypto_generichash_final(&h, out, 32);
}

/* The pseudonym of name ("P" for Patient P, "Type/id" otherwise). */
static void pseudonym(const ctx *c, const char *name,
                      char out[PSEUDO_HEX + 1])
{
  unsigned char h[32];
  keyed(c, "medtwin.study.v1", name, h);
  sodium_bin2hex(out, PSEUDO_HEX + 1, h, PSEUDO_HEX / 2);
}

/* The patient's shift: a whole number of days in [-180, -1] or [1, 180]. */
static long shift_days(const ctx *c)
{
  unsigned char h[32];
  keyed(c, "medtwin.shift.v1", c->patient, h);
  uint32_t v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
               (uint32_t)h[3] << 24;
  long s = (long)(v % 360);
  return s < 180 ? s - 180 : s - 179;
}

static int digits(const char *s, int n)
{
  for (int i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

/* A full FHIR date, dateTime or instant "YYYY-MM-DD[Thh:mm...]": its day
** in *y, *m, *d. 1 or 0. */
static int full_date(const char *s, long *y, long *m, long *d)
{
  if (strlen(s) < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
      s[7] != '-' || !digits(s + 8, 2) || (s[10] && s[10] != 'T'))
    return 0;
  if (s[10] && (strlen(s) < 16 || !digits(s + 11, 2) || s[13] != ':'))
    return 0;
  *y = strtol(s, NULL, 10), *m = strtol(s + 5, NULL, 10);
  *d = strtol(s + 8, NULL, 10);
  return *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31;
}

/* ---- the transformation ------------------------------------------------ */

static int dropped_key(const char *k)
{
  static const char *const drop[] = {
      "text",    "note",    "name",    "telecom", "address",
      "identifier", "photo", "contact", "display", "valueString",
      "comment", "meta",    "contained"};
  for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
    if (!strcmp(k, drop[i]))
      return 1;
  return 0;
}

/* A reference "Type/id" rewritten to "Type/<pseudonym>"; NULL when it is
** not of that form (it is then dropped). */
static json_t *reference(const ctx *c, const char *ref)
{
  const char *slash = strchr(ref, '/');
  if (!slash || slash == ref || strchr(slash + 1, '/') || !slash[1] ||
      strlen(ref) > 2 * MT_STORE_KEY_MAX + 1)
    return NULL;
  for (const char *p = ref; p < slash; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
      return NULL;
  char type[MT_STORE_KEY_MAX + 1], ps[PSEUDO_HEX + 1], out[160];
  snprintf(type, sizeof type, "%.*s", (int)(slash - ref), ref);
  pseudonym(c, !strcmp(type, "Patient") ? slash + 1 : ref, ps);
  snprintf(out, sizeof out, "%s/%s", type, ps);
  return json_string(out);
}

/* A string value: shifted when a full date; NULL when it must go. */
static json_t *string_value(const ctx *c, const char *key, const char *s)
{
  long y, m, d;
  if (key && !strcmp(key, "reference"))
    return reference(c, s);
  if (strstr(s, c->patient)) /* the real id outside a reference */
    return NULL;
  if (!full_date(s, &y, &m, &d))
    return json_string(s);
  int yy, mm, dd;
  mt_civil_from_days(mt_days_from_civil(y, (int)m, (int)d) + c->shift, &yy,
                     &mm, &dd);
  y = yy, m = mm, d = dd;
  size_t len = strlen(s) + 8;
  char *out = malloc(len);
  if (!out)
    return NULL;
  snprintf(out, len, "%04ld-%02ld-%02ld%s", y, m, d, s + 10);
  json_t *j = json_string(out);
  free(out);
  return j;
}

/* Transform v in place (objects and arrays) or return a replacement for a
** string: *drop set when v must go. */
static void walk(const ctx *c, const char *key, json_t *v, json_t **repl,
                 int *drop)
{
  *repl = NULL, *drop = 0;
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    void *tmp;
    json_object_foreach_safe(v, tmp, k, x)
    {
      json_t *r;
      int dr;
      if (dropped_key(k)) {
        json_object_del(v, k);
        continue;
      }
      walk(c, k, x, &r, &dr);
      if (dr)
        json_object_del(v, k);
      else if (r)
        json_object_set_new(v, k, r);
    }
    if (!json_object_size(v))
      *drop = 1;
  } else if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v);) {
      json_t *r;
      int dr;
      walk(c, key, json_array_get(v, i), &r, &dr);
      if (dr) {
        json_array_remove(v, i);
        continue;
      }
      if (r)
        json_array_set_new(v, i, r);
      i++;
    }
    if (!json_array_size(v))
      *drop = 1;
  } else if (json_is_string(v) && !mtj_is_decimal(v)) {
    *repl = string_value(c, key, json_string_value(v));
    *drop = !*repl;
  }
}

/* The Patient's age band: birth year (from the recorded birthDate, not the
** shifted one) or "90+" at 90 or more today; "unknown" without one. */
static void age_band(const char *birth, char *band, size_t len, int *over)
{
  long y, m, d;
  *over = 0;
  if (!birth || strlen(birth) < 4 || !digits(birth, 4)) {
    snprintf(band, len, "unknown");
    return;
  }
  y = strtol(birth, NULL, 10);
  m = 12, d = 31; /* a year or year-month only: the youngest it can be */
  if (strlen(birth) >= 7 && birth[4] == '-' && digits(birth + 5, 2))
    m = strtol(birth + 5, NULL, 10);
  if (strlen(birth) >= 10 && birth[7] == '-' && digits(birth + 8, 2))
    d = strtol(birth + 8, NULL, 10);
  time_t now = time(NULL);
  struct tm t;
  gmtime_r(&now, &t);
  long age = t.tm_year + 1900 - y;
  if (t.tm_mon + 1 < m || (t.tm_mon + 1 == m && t.tm_mday < d))
    age--;
  if (age >= 90) {
    *over = 1;
    snprintf(band, len, "90+");
  } else
    snprintf(band, len, "%04ld", y);
}

/* ---- equivalence classes ----------------------------------------------- */

typedef struct qclass {
  char band[16], gender[32];
  long size;
} qclass;

static int class_add(qclass **cl, size_t *n, const char *band,
                     const char *gender)
{
  for (size_t i = 0; i < *n; i++)
    if (!strcmp((*cl)[i].band, band) && !strcmp((*cl)[i].gender, gender)) {
      (*cl)[i].size++;
      return 0;
    }
  qclass *g = realloc(*cl, (*n + 1) * sizeof **cl);
  if (!g)
    return -1;
  *cl = g;
  snprintf(g[*n].band, sizeof g[*n].band, "%s", band);
  snprintf(g[*n].gender, sizeof g[*n].gender, "%s", gender);
  g[(*n)++].size = 1;
  return 0;
}

/* ---- export ------------------------------------------------------------ */

/* One patient's resources as lines of out; its class into cl. */
static int export_patient(mt_store *st, ctx *c, FILE *out, qclass **cl,
                          size_t *ncl, long *nres, char *err, size_t errlen)
{
  mt_resource *list = NULL;
  size_t n = 0;
  long total = 0;
  int rc = mt_store_patient_resources(st, c->patient, MAX_RESOURCES, &list,
                                      &n, &total, err, errlen);
  if (rc)
    return rc;
  if (total > (long)n) {
    mt_resource_list_free(list, n);
    snprintf(err, errlen, "research export: a patient has over %ld "
             "resources", MAX_RESOURCES);
    return MT_EINVAL;
  }
  c->shift = shift_days(c);
  char band[16] = "unknown", gender[32] = "unknown";
  for (size_t i = 0; i < n && !rc; i++) {
    json_error_t je;
    json_t *j = mtj_loadb(list[i].json, strlen(list[i].json), 0, &je);
    if (!json_is_object(j)) {
      json_decref(j);
      snprintf(err, errlen, "research export: %s/%s: not a JSON object",
               list[i].type, list[i].id);
      rc = MT_EINVAL;
      break;
    }
    int is_patient = !strcmp(list[i].type, "Patient");
    int over = 0;
    if (is_patient) {
      json_t *g = json_object_get(j, "gender");
      if (json_is_string(g))
        snprintf(gender, sizeof gender, "%s", json_string_value(g));
      json_t *b = json_object_get(j, "birthDate");
      age_band(json_is_string(b) ? json_string_value(b) : NULL, band,
               sizeof band, &over);
      json_object_del(j, "birthDate");
    }
    json_t *r;
    int dr;
    json_object_del(j, "id");
    walk(c, NULL, j, &r, &dr);
    if (dr) /* nothing left: still keep the resource type */
      j = (json_decref(j), json_object());
    char name[2 * MT_STORE_KEY_MAX + 2], ps[PSEUDO_HEX + 1];
    snprintf(name, sizeof name, "%s/%s", list[i].type, list[i].id);
    pseudonym(c, is_patient ? list[i].id : name, ps);
    json_t *head = json_pack("{s:s,s:s}", "resourceType", list[i].type,
                             "id", ps);
    json_object_del(j, "resourceType");
    if (!head || json_object_update(head, j)) {
      json_decref(head);
      json_decref(j);
      snprintf(err, errlen, "research export: out of memory");
      rc = MT_ENOMEM;
      break;
    }
    json_decref(j);
    j = head;
    if (is_patient && over) {
      json_t *ext = json_pack("{s:s,s:s}", "url", AGE_GROUP_URL,
                              "valueCode", "90+");
      json_t *arr = json_object_get(j, "extension");
      if (!json_is_array(arr))
        json_object_set_new(j, "extension", arr = json_array());
      json_array_append_new(arr, ext);
    } else if (is_patient && strcmp(band, "unknown"))
      json_object_set_new(j, "birthDate", json_string(band));
    char *line = mtj_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!line || fprintf(out, "%s\n", line) < 0) {
      snprintf(err, errlen, "research export: cannot write");
      rc = MT_EIO;
    }
    free(line);
    (*nres)++;
  }
  mt_resource_list_free(list, n);
  if (!rc && class_add(cl, ncl, band, gender)) {
    snprintf(err, errlen, "research export: out of memory");
    rc = MT_ENOMEM;
  }
  return rc;
}

static int valid_study(const char *s)
{
  size_t n = strlen(s);
  if (!n || n > 64)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
          (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
      return 0;
  return 1;
}

static int export(const ropts *o)
{
  long k = 5;
  if (!o->data || !o->study || !o->key || !o->out)
    return cli_fail(EXIT_USAGE, "research export: --data, --study, --key "
                    "and --out are required");
  if (!valid_study(o->study))
    return cli_fail(EXIT_USAGE, "research export: --study: expected 1-64 "
                    "of A-Z a-z 0-9 . - _, got '%s'", o->study);
  if (o->k) {
    char *end;
    k = strtol(o->k, &end, 10);
    if (end == o->k || *end || k < 1 || k > 1000000)
      return cli_fail(EXIT_USAGE, "research export: --k: expected an "
                      "integer 1-1000000, got '%s'", o->k);
  }
  struct stat sb;
  if (stat(o->data, &sb) || !S_ISDIR(sb.st_mode))
    return cli_fail(EXIT_USAGE, "research export: --data: %s is not a "
                    "directory", o->data);
  if (!strcmp(o->out, "-"))
    return cli_fail(EXIT_USAGE, "research export: --out: a file is needed");
  unsigned char key[KEY_BYTES];
  int rc = load_key(o, key);
  if (rc)
    return rc;

  char report[PATH_MAX];
  size_t ol = strlen(o->out);
  if (ol > 7 && !strcmp(o->out + ol - 7, ".ndjson"))
    snprintf(report, sizeof report, "%.*s.report.json", (int)(ol - 7),
             o->out);
  else
    snprintf(report, sizeof report, "%s.report.json", o->out);

  char err[MT_ERRMSG_MAX] = "";
  mt_store *st = NULL;
  mt_afile *f[2] = {NULL, NULL};
  mt_resource *pats = NULL;
  size_t np = 0, ncl = 0;
  qclass *cl = NULL;
  long total = 0, nres = 0, npat = 0;
  ctx c = {key, o->study, NULL, 0};

  if ((rc = cli_store_open("research export", o->data, 0, &st)))
    return rc;
  mt_res_query q;
  memset(&q, 0, sizeof q);
  q.type = "Patient";
  q.count = MAX_RESOURCES;
  q.reach = MT_REACH_RESEARCH;
  if ((rc = mt_store_resource_search(st, &q, &pats, &np, &total, err,
                                     sizeof err)))
    goto done;
  if (total > (long)np) {
    snprintf(err, sizeof err, "research export: over %ld patients",
             MAX_RESOURCES);
    rc = MT_EINVAL;
    goto done;
  }
  if ((rc = mt_afile_open(o->out, &f[0], err, sizeof err)) ||
      (rc = mt_afile_open(report, &f[1], err, sizeof err)))
    goto done;
  for (size_t i = 0; i < np && !rc; i++) {
    int state = 0;
    if ((rc = mt_store_consent_get(st, pats[i].id, MT_PURPOSE_RESEARCH,
                                   &state, err, sizeof err)))
      break;
    if (state != 1)
      continue;
    c.patient = pats[i].id;
    rc = export_patient(st, &c, mt_afile_stream(f[0]), &cl, &ncl, &nres,
                        err, sizeof err);
    npat++;
  }
  if (rc)
    goto done;

  long kmin = 0, below = 0;
  json_t *classes = json_array();
  for (size_t i = 0; i < ncl; i++) {
    if (!kmin || cl[i].size < kmin)
      kmin = cl[i].size;
    if (cl[i].size < k)
      below += cl[i].size;
    json_array_append_new(classes,
                          json_pack("{s:s,s:s,s:I}", "birth_year", cl[i].band,
                                    "gender", cl[i].gender, "size",
                                    (json_int_t)cl[i].size));
  }
  json_t *rep = json_pack(
      "{s:s,s:I,s:I,s:[s,s],s:o,s:I,s:I,s:I,s:b}", "study", o->study,
      "patients", (json_int_t)npat, "resources", (json_int_t)nres,
      "quasi_identifiers", "birth_year", "gender", "classes", classes, "k",
      (json_int_t)kmin, "k_wanted", (json_int_t)k, "patients_below_k",
      (json_int_t)below, "k_anonymous", npat > 0 && kmin >= k);
  char *text = rep ? json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
                   : NULL;
  json_decref(rep);
  if (!text || fprintf(mt_afile_stream(f[1]), "%s\n", text) < 0) {
    free(text);
    snprintf(err, sizeof err, "research export: cannot write the report");
    rc = MT_EIO;
    goto done;
  }
  free(text);
  rc = mt_afile_commit_all(f, 2, err, sizeof err);
  f[0] = f[1] = NULL;
  if (rc)
    goto done;

  char what[128];
  snprintf(what, sizeof what, "research:%s", o->study);
  mt_audit_record ar = {0, "operator", "export", what, "research", 200};
  if ((rc = mt_store_audit_append(st, &ar, NULL, err, sizeof err)))
    goto done;
  fprintf(stderr,
          "medtwin research export: %ld patients, %ld resources in %s; "
          "k = %ld over (birth year, gender); report in %s\n",
          npat, nres, o->out, kmin, report);
  if (kmin < k)
    fprintf(stderr, "medtwin research export: warning: %ld patient(s) in "
            "classes smaller than k = %ld\n", below, k);
done:
  sodium_memzero(key, sizeof key);
  mt_afile_abort(f[0]);
  mt_afile_abort(f[1]);
  mt_resource_list_free(pats, np);
  free(cl);
  cli_store_close(st);
  if (rc)
    return cli_fail(rc == MT_EINVAL ? EXIT_USAGE : EXIT_RUNTIME, "%s", err);
  return EXIT_OK;
}

int cmd_research(int argc, char **argv)
{
  ropts o;
  memset(&o, 0, sizeof o);
  if (argc >= 2 && !strcmp(argv[1], "--help")) {
    fputs(research_usage, stdout);
    return EXIT_OK;
  }
  if (argc < 2 || (strcmp(argv[1], "keygen") && strcmp(argv[1], "export"))) {
    fputs(research_usage, stderr);
    return cli_fail(EXIT_USAGE, "research: expected keygen or export");
  }
  o.cmd = !strcmp(argv[1], "keygen") ? "research keygen" : "research export";
  int rc = cli_parse(argc - 1, argv + 1, o.cmd, research_usage, &o.json,
                     r_opt, &o);
  if (rc)
    return rc;
  return !strcmp(argv[1], "keygen") ? keygen(&o) : export(&o);
}
