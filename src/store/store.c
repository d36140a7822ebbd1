/*
** The store interface: argument checks, clocks and id assignment in one
** place, then a call through the back end's operations table (ops.h). The
** contract is include/medtwin/store.h; the SQLite back end is sqlite.c.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/errfmt.h"
#include "medtwin/error.h"
#include "store/ops.h"

#define MT_STORE_SCHEMA_VERSION 6

int mt_store__fail(char *err, size_t errlen, int code, const char *op,
                   const char *fmt, ...)
{
  char name[96];
  snprintf(name, sizeof name, "store %s", op);
  va_list ap;
  va_start(ap, fmt);
  mt_vfail(err, errlen, code, name, fmt, ap);
  va_end(ap);
  return code;
}

int mt_store_schema_version(void) { return MT_STORE_SCHEMA_VERSION; }

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A key: 1..MT_STORE_KEY_MAX bytes, no control characters. */
static int key_ok(const char *k)
{
  if (!k || !*k)
    return 0;
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)k; *p; p++, n++)
    if (*p < 0x20 || *p == 0x7f || n >= MT_STORE_KEY_MAX)
      return 0;
  return 1;
}

/* FHIR id: [A-Za-z0-9\-\.]{1,64}. */
static int fhir_id_ok(const char *id)
{
  if (!key_ok(id))
    return 0;
  for (const char *p = id; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
          (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
      return 0;
  return 1;
}

/* FHIR resource type: letters only. */
static int fhir_type_ok(const char *t)
{
  if (!key_ok(t))
    return 0;
  for (const char *p = t; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
      return 0;
  return 1;
}

static int check_ref(mt_store *s, const char *type, const char *id,
                     const char *op, char *err, size_t errlen)
{
  if (!s)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "no store");
  if (!fhir_type_ok(type))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "resource type must be 1-%d letters",
                          MT_STORE_KEY_MAX);
  if (!fhir_id_ok(id))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "%s id must match [A-Za-z0-9.-]{1,%d}", type,
                          MT_STORE_KEY_MAX);
  return 0;
}

/* Random UUID v4 (RFC 9562 section 5.4) from libsodium. */
static void uuid_v4(char out[37])
{
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  static const char hex[] = "0123456789abcdef";
  int k = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[k++] = '-';
    out[k++] = hex[b[i] >> 4];
    out[k++] = hex[b[i] & 15];
  }
  out[k] = 0;
}

int mt_store_open(const char *url_or_dir, mt_store **out, char *err,
                  size_t errlen)
{
  return mt_store_open_vault(url_or_dir, NULL, out, err, errlen);
}

int mt_store_open_vault(const char *url_or_dir, mt_vault *vault,
                        mt_store **out, char *err, size_t errlen)
{
  if (!out)
    return mt_store__fail(err, errlen, MT_EINVAL, "open", "no output handle");
  *out = NULL;
  if (!url_or_dir || !*url_or_dir)
    return mt_store__fail(err, errlen, MT_EINVAL, "open",
                          "no directory or URL given");
  if (!strncmp(url_or_dir, "postgres://", 11) ||
      !strncmp(url_or_dir, "postgresql://", 13))
    return mt_store__fail(err, errlen, MT_EINVAL, "open",
                          "the PostgreSQL store is not built into this "
                          "medtwin; give a directory");
  if (sodium_init() < 0)
    return mt_store__fail(err, errlen, MT_EIO, "open",
                          "libsodium failed to initialise");
  return mt_store__sqlite_open(url_or_dir, vault, out, err, errlen);
}

void mt_store_close(mt_store *s)
{
  if (s)
    s->ops->close(s);
}

const char *mt_store_kind(const mt_store *s)
{
  return s ? s->ops->name : "none";
}

void mt_resource_clear(mt_resource *r)
{
  if (!r)
    return;
  free(r->json);
  memset(r, 0, sizeof *r);
}

void mt_resource_list_free(mt_resource *r, size_t n)
{
  if (!r)
    return;
  for (size_t i = 0; i < n; i++)
    mt_resource_clear(&r[i]);
  free(r);
}

/* The owner of a write: the patient given, a Patient's own id, or none. */
static const char *owner_of(const char *patient, const char *type,
                            const char *id)
{
  if (patient && *patient)
    return patient;
  return type && id && !strcmp(type, "Patient") ? id : "";
}

int mt_store_resource_create(mt_store *s, const char *type, const char *id,
                             const char *json, mt_resource *out, char *err,
                             size_t errlen)
{
  return mt_store_resource_create_of(s, NULL, type, id, json, out, err,
                                     errlen);
}

int mt_store_resource_create_of(mt_store *s, const char *patient,
                                const char *type, const char *id,
                                const char *json, mt_resource *out,
                                char *err, size_t errlen)
{
  char uuid[37];
  mt_resource tmp;
  if (out)
    memset(out, 0, sizeof *out);
  if (!id || !*id) {
    uuid_v4(uuid);
    id = uuid;
  }
  int rc = check_ref(s, type, id, "create", err, errlen);
  if (rc)
    return rc;
  if (!json)
    return mt_store__fail(err, errlen, MT_EINVAL, "create",
                          "%s/%s: no JSON text", type, id);
  if (patient && *patient && !key_ok(patient))
    return mt_store__fail(err, errlen, MT_EINVAL, "create",
                          "patient must be a key");
  memset(&tmp, 0, sizeof tmp);
  rc = s->ops->resource_create(s, type, id, json, owner_of(patient, type, id),
                               now_ms(), out ? out : &tmp, err, errlen);
  mt_resource_clear(&tmp);
  return rc;
}

int mt_store_resource_read(mt_store *s, const char *type, const char *id,
                           mt_resource *out, char *err, size_t errlen)
{
  if (!out)
    return mt_store__fail(err, errlen, MT_EINVAL, "read", "no output");
  memset(out, 0, sizeof *out);
  int rc = check_ref(s, type, id, "read", err, errlen);
  return rc ? rc : s->ops->resource_read(s, type, id, 0, out, err, errlen);
}

int mt_store_resource_vread(mt_store *s, const char *type, const char *id,
                            int64_t version_id, mt_resource *out, char *err,
                            size_t errlen)
{
  if (!out)
    return mt_store__fail(err, errlen, MT_EINVAL, "vread", "no output");
  memset(out, 0, sizeof *out);
  int rc = check_ref(s, type, id, "vread", err, errlen);
  if (rc)
    return rc;
  if (version_id <= 0)
    return mt_store__fail(err, errlen, MT_EINVAL, "vread",
                          "%s/%s: version must be positive", type, id);
  return s->ops->resource_read(s, type, id, version_id, out, err, errlen);
}

int mt_store_resource_history(mt_store *s, const char *type, const char *id,
                              mt_resource **list, size_t *n, char *err,
                              size_t errlen)
{
  if (!list || !n)
    return mt_store__fail(err, errlen, MT_EINVAL, "history", "no output");
  *list = NULL;
  *n = 0;
  int rc = check_ref(s, type, id, "history", err, errlen);
  return rc ? rc : s->ops->resource_history(s, type, id, list, n, err, errlen);
}

int mt_store_resource_list(mt_store *s, const char *type, mt_resource **list,
                           size_t *n, char *err, size_t errlen)
{
  if (!list || !n)
    return mt_store__fail(err, errlen, MT_EINVAL, "list", "no output");
  *list = NULL;
  *n = 0;
  if (!s || !type || !*type)
    return mt_store__fail(err, errlen, MT_EINVAL, "list", "no store or type");
  return s->ops->resource_list(s, type, list, n, err, errlen);
}

/* A code system: 0..MT_STORE_SYSTEM_MAX bytes (n of them), no control
** characters. */
static int system_ok(const char *sys, size_t n)
{
  if (n > MT_STORE_SYSTEM_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)sys[i] < 0x20 || sys[i] == 0x7f)
      return 0;
  return 1;
}

/* A "system|code" token: a system, then '|', then a key. */
static int token_ok(const char *tok)
{
  const char *bar = tok ? strchr(tok, '|') : NULL;
  return bar && system_ok(tok, (size_t)(bar - tok)) && key_ok(bar + 1);
}

static int index_ok(const mt_res_index *ix, const char *type,
                    const char *id, char *err, size_t errlen)
{
  const char *op = "set index";
  if (!ix)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "%s/%s: no index",
                          type, id);
  if (ix->patient && *ix->patient && !key_ok(ix->patient))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "%s/%s: patient must be 1-%d printable bytes",
                          type, id, MT_STORE_KEY_MAX);
  if (ix->n_codes < 0 || (ix->n_codes > 0 && !ix->codes))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "%s/%s: no codes",
                          type, id);
  for (int i = 0; i < ix->n_codes; i++)
    if (!token_ok(ix->codes[i]))
      return mt_store__fail(err, errlen, MT_EINVAL, op,
                            "%s/%s: code %d is not \"system|code\" (system"
                            " 0-%d, code 1-%d printable bytes)", type, id, i,
                            MT_STORE_SYSTEM_MAX, MT_STORE_KEY_MAX);
  return 0;
}

int mt_store_resource_set_index(mt_store *s, const char *type,
                                const char *id, const mt_res_index *ix,
                                char *err, size_t errlen)
{
  int rc = check_ref(s, type, id, "set index", err, errlen);
  if (!rc)
    rc = index_ok(ix, type, id, err, errlen);
  return rc ? rc : s->ops->resource_set_index(s, type, id, ix, err, errlen);
}

static int query_ok(mt_store *s, const mt_res_query *q, char *err,
                    size_t errlen)
{
  const char *op = "search";
  if (!s || !q)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "no store or query");
  if (!fhir_type_ok(q->type))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "resource type must be 1-%d letters",
                          MT_STORE_KEY_MAX);
  if (q->id && !fhir_id_ok(q->id))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "_id must match [A-Za-z0-9.-]{1,%d}",
                          MT_STORE_KEY_MAX);
  if ((q->patient && !key_ok(q->patient)) || (q->code && !key_ok(q->code)))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "patient and code must be 1-%d printable bytes",
                          MT_STORE_KEY_MAX);
  if (q->code && q->code_system &&
      !system_ok(q->code_system, strlen(q->code_system)))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "code system must be 0-%d printable bytes",
                          MT_STORE_SYSTEM_MAX);
  if (q->sort < -1 || q->sort > 1)
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "sort must be -1, 0 or 1, not %d", q->sort);
  if (q->offset < 0 || q->count < 0)
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "offset and count must be >= 0");
  if (q->reach < MT_REACH_ALL || q->reach > MT_REACH_NONE ||
      ((q->reach == MT_REACH_TEAM || q->reach == MT_REACH_OWN) &&
       !key_ok(q->reach_who)))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "reach %d needs its owner as a key", q->reach);
  return 0;
}

int mt_store_resource_search(mt_store *s, const mt_res_query *q,
                             mt_resource **list, size_t *n, long *total,
                             char *err, size_t errlen)
{
  mt_resource *tmp_list = NULL;
  size_t tmp_n = 0;
  if (list)
    *list = NULL;
  if (n)
    *n = 0;
  if (total)
    *total = 0;
  if (!total || ((!list || !n) && (!q || q->count != 0)))
    return mt_store__fail(err, errlen, MT_EINVAL, "search", "no output");
  int rc = query_ok(s, q, err, errlen);
  if (rc)
    return rc;
  rc = s->ops->resource_search(s, q, list ? list : &tmp_list, n ? n : &tmp_n,
                               total, err, errlen);
  mt_resource_list_free(tmp_list, tmp_n);
  return rc;
}

int mt_store_patient_resources(mt_store *s, const char *patient, long max,
                               mt_resource **list, size_t *n, long *total,
                               char *err, size_t errlen)
{
  const char *op = "patient resources";
  if (!list || !n || !total)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "no output");
  *list = NULL;
  *n = 0;
  *total = 0;
  if (!s || !key_ok(patient) || max < 0)
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "expected a store, a patient of 1-%d printable "
                          "bytes and max >= 0", MT_STORE_KEY_MAX);
  if (s->ops->version < 5 || !s->ops->patient_resources)
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "not supported by the %s back end", s->ops->name);
  return s->ops->patient_resources(s, patient, max, list, n, total, err,
                                   errlen);
}

static int put(mt_store *s, const char *patient, const char *type,
               const char *id, const char *json, int64_t expected,
               mt_resource *out, const char *op, char *err, size_t errlen)
{
  mt_resource tmp;
  if (out)
    memset(out, 0, sizeof *out);
  int rc = check_ref(s, type, id, op, err, errlen);
  if (rc)
    return rc;
  if (expected < 0)
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "%s/%s: expected version must be >= 0", type, id);
  if (patient && *patient && !key_ok(patient))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "patient must be a key");
  memset(&tmp, 0, sizeof tmp);
  rc = s->ops->resource_put(s, type, id, json, owner_of(patient, type, id),
                            expected, now_ms(), out ? out : &tmp, err,
                            errlen);
  mt_resource_clear(&tmp);
  return rc;
}

int mt_store_resource_update(mt_store *s, const char *type, const char *id,
                             const char *json, int64_t expected_version,
                             mt_resource *out, char *err, size_t errlen)
{
  return mt_store_resource_update_of(s, NULL, type, id, json,
                                     expected_version, out, err, errlen);
}

int mt_store_resource_update_of(mt_store *s, const char *patient,
                                const char *type, const char *id,
                                const char *json, int64_t expected_version,
                                mt_resource *out, char *err, size_t errlen)
{
  if (!json) {
    if (out)
      memset(out, 0, sizeof *out);
    return mt_store__fail(err, errlen, MT_EINVAL, "update", "no JSON text");
  }
  return put(s, patient, type, id, json, expected_version, out, "update",
             err, errlen);
}

int mt_store_resource_delete(mt_store *s, const char *type, const char *id,
                             int64_t expected_version, mt_resource *out,
                             char *err, size_t errlen)
{
  return put(s, NULL, type, id, NULL, expected_version, out, "delete", err,
             errlen);
}

int mt_store_obs_append(mt_store *s, const mt_obs *o, int64_t *seq,
                        char *err, size_t errlen)
{
  if (seq)
    *seq = 0;
  if (!s || !o)
    return mt_store__fail(err, errlen, MT_EINVAL, "append observation",
                          "no store or observation");
  if (!key_ok(o->patient) || !key_ok(o->device) || !key_ok(o->code) ||
      !key_ok(o->unit))
    return mt_store__fail(err, errlen, MT_EINVAL, "append observation",
                          "patient, device, code and unit must be 1-%d "
                          "printable bytes", MT_STORE_KEY_MAX);
  if (!isfinite(o->value))
    return mt_store__fail(err, errlen, MT_EINVAL, "append observation",
                          "patient %s code %s: value is not finite",
                          o->patient, o->code);
  int64_t tmp;
  return s->ops->obs_append(s, o, now_ms(), seq ? seq : &tmp, err, errlen);
}

static int range_ok(mt_store *s, const char *patient, const char *code,
                    int64_t from, int64_t to, const char *op, char *err,
                    size_t errlen)
{
  if (!s)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "no store");
  if (!key_ok(patient) || (code && !key_ok(code)))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "patient and code must be 1-%d printable bytes",
                          MT_STORE_KEY_MAX);
  if (from > to)
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "time range ends before it starts");
  return 0;
}

int mt_store_obs_query(mt_store *s, const char *patient, const char *code,
                       int64_t from_ms, int64_t to_ms, mt_obs **out,
                       size_t *n, char *err, size_t errlen)
{
  if (!out || !n)
    return mt_store__fail(err, errlen, MT_EINVAL, "query observations",
                          "no output");
  *out = NULL;
  *n = 0;
  if (!code)
    return mt_store__fail(err, errlen, MT_EINVAL, "query observations",
                          "no code");
  int rc = range_ok(s, patient, code, from_ms, to_ms, "query observations",
                    err, errlen);
  return rc ? rc
            : s->ops->obs_query(s, patient, code, from_ms, to_ms, out, n, err,
                                errlen);
}

int mt_store_obs_since(mt_store *s, const char *patient, int64_t after_seq,
                       mt_obs **out, size_t *n, char *err, size_t errlen)
{
  if (!out || !n)
    return mt_store__fail(err, errlen, MT_EINVAL, "observations since",
                          "no output");
  *out = NULL;
  *n = 0;
  int rc = range_ok(s, patient, NULL, 0, 0, "observations since", err,
                    errlen);
  return rc ? rc
            : s->ops->obs_since(s, patient, after_seq, out, n, err, errlen);
}

int mt_store_obs_get(mt_store *s, int64_t seq, mt_obs *out, char *err,
                     size_t errlen)
{
  if (!s || !out)
    return mt_store__fail(err, errlen, MT_EINVAL, "get observation",
                          "no store or output");
  memset(out, 0, sizeof *out);
  return s->ops->obs_get(s, seq, out, err, errlen);
}

int mt_store_snapshot_keys(mt_store *s, mt_store_twin_key **out, size_t *n,
                           char *err, size_t errlen)
{
  if (!s || !out || !n)
    return mt_store__fail(err, errlen, MT_EINVAL, "snapshot keys",
                          "no store or output");
  *out = NULL;
  *n = 0;
  return s->ops->snapshot_keys(s, out, n, err, errlen);
}

int mt_store_snapshot_prune(mt_store *s, const char *patient,
                            const char *model, int keep, char *err,
                            size_t errlen)
{
  if (!s || !key_ok(patient) || !key_ok(model) || keep < 1)
    return mt_store__fail(err, errlen, MT_EINVAL, "prune snapshots",
                          "store, patient, model and keep >= 1 required");
  return s->ops->snapshot_prune(s, patient, model, keep, err, errlen);
}

int mt_store_snapshot_put(mt_store *s, const char *patient, const char *model,
                          int64_t taken_at_ms, const void *blob, size_t len,
                          char *err, size_t errlen)
{
  if (!s || !key_ok(patient) || !key_ok(model))
    return mt_store__fail(err, errlen, MT_EINVAL, "put snapshot",
                          "store, patient and model are required (1-%d "
                          "printable bytes)", MT_STORE_KEY_MAX);
  if (!blob && len)
    return mt_store__fail(err, errlen, MT_EINVAL, "put snapshot",
                          "no snapshot data");
  return s->ops->snapshot_put(s, patient, model, taken_at_ms, blob, len, err,
                              errlen);
}

int mt_store_snapshot_latest(mt_store *s, const char *patient,
                             const char *model, int64_t *taken_at_ms,
                             void **blob, size_t *len, char *err,
                             size_t errlen)
{
  if (!blob || !len || !taken_at_ms)
    return mt_store__fail(err, errlen, MT_EINVAL, "latest snapshot",
                          "no output");
  *blob = NULL;
  *len = 0;
  *taken_at_ms = 0;
  if (!s || !key_ok(patient) || !key_ok(model))
    return mt_store__fail(err, errlen, MT_EINVAL, "latest snapshot",
                          "store, patient and model are required");
  return s->ops->snapshot_latest(s, patient, model, taken_at_ms, blob, len,
                                 err, errlen);
}

int mt_store_event_add(mt_store *s, mt_store_log log, const char *patient,
                       int64_t t_ms, const char *kind, const char *payload,
                       char *err, size_t errlen)
{
  if (!s || (log != MT_STORE_ALERT && log != MT_STORE_QUARANTINE))
    return mt_store__fail(err, errlen, MT_EINVAL, "add event",
                          "no store or unknown log");
  if (!key_ok(patient) || !key_ok(kind) || !payload)
    return mt_store__fail(err, errlen, MT_EINVAL, "add event",
                          "patient, kind and payload are required");
  return s->ops->event_add(s, log, patient, t_ms, kind, payload, now_ms(),
                           err, errlen);
}

int mt_store_event_list(mt_store *s, mt_store_log log, const char *patient,
                        int64_t from_ms, int64_t to_ms, mt_store_event **out,
                        size_t *n, char *err, size_t errlen)
{
  if (!out || !n)
    return mt_store__fail(err, errlen, MT_EINVAL, "list events", "no output");
  *out = NULL;
  *n = 0;
  if (log != MT_STORE_ALERT && log != MT_STORE_QUARANTINE)
    return mt_store__fail(err, errlen, MT_EINVAL, "list events",
                          "unknown log");
  int rc = range_ok(s, patient, NULL, from_ms, to_ms, "list events", err,
                    errlen);
  return rc ? rc
            : s->ops->event_list(s, log, patient, from_ms, to_ms, out, n, err,
                                 errlen);
}

void mt_store_event_list_free(mt_store_event *ev, size_t n)
{
  if (!ev)
    return;
  for (size_t i = 0; i < n; i++)
    free(ev[i].payload);
  free(ev);
}

int mt_store_begin(mt_store *s, char *err, size_t errlen)
{
  if (!s)
    return mt_store__fail(err, errlen, MT_EINVAL, "begin", "no store");
  return s->ops->begin(s, err, errlen);
}

int mt_store_commit(mt_store *s, char *err, size_t errlen)
{
  if (!s)
    return mt_store__fail(err, errlen, MT_EINVAL, "commit", "no store");
  return s->ops->commit(s, err, errlen);
}

int mt_store_rollback(mt_store *s, char *err, size_t errlen)
{
  if (!s)
    return mt_store__fail(err, errlen, MT_EINVAL, "rollback", "no store");
  return s->ops->rollback(s, err, errlen);
}

int mt_store_savepoint(mt_store *s, char *err, size_t errlen)
{
  if (!s)
    return mt_store__fail(err, errlen, MT_EINVAL, "savepoint", "no store");
  return s->ops->savepoint(s, err, errlen);
}

int mt_store_savepoint_end(mt_store *s, int keep, char *err, size_t errlen)
{
  if (!s)
    return mt_store__fail(err, errlen, MT_EINVAL, "savepoint", "no store");
  return s->ops->savepoint_end(s, keep, err, errlen);
}

int mt_store_set_autocheckpoint(mt_store *s, int pages, char *err,
                                size_t errlen)
{
  if (!s || pages < 1)
    return mt_store__fail(err, errlen, MT_EINVAL, "checkpoint",
                          "no store or pages < 1");
  return s->ops->set_autocheckpoint(s, pages, err, errlen);
}

int mt_store_backup(mt_store *s, const char *path, char *err, size_t errlen)
{
  if (!s || !path || !*path)
    return mt_store__fail(err, errlen, MT_EINVAL, "backup",
                          "no store or no path");
  return s->ops->backup(s, path, err, errlen);
}

int mt_store_patient_erase(mt_store *s, const char *patient,
                           mt_store_erased *out, char *err, size_t errlen)
{
  const char *op = "erase";
  mt_store_erased tmp;
  if (!out)
    out = &tmp;
  memset(out, 0, sizeof *out);
  if (!s)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "no store");
  if (!key_ok(patient))
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "patient must be 1-%d bytes without control "
                          "characters", MT_STORE_KEY_MAX);
  if (s->ops->version < 6 || !s->ops->patient_erase)
    return mt_store__fail(err, errlen, MT_EINVAL, op,
                          "not supported by the %s back end", s->ops->name);
  return s->ops->patient_erase(s, patient, out, err, errlen);
}

int mt_store_encrypted(const mt_store *s)
{
  return s ? s->encrypted : 0;
}
