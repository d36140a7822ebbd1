/*
** Internal: the operations table a store back end implements. The public
** functions in store.c check arguments, stamp times and assign ids, then
** call these; a back end may assume its arguments are valid. Append new
** members at the end only and bump version.
*/
#ifndef MT_STORE_OPS_H
#define MT_STORE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "medtwin/store.h"
#include "medtwin/vault.h"

typedef struct mt_store_ops {
  int version; /* 6 */
  const char *name;
  void (*close)(mt_store *s);
  /* Resources: out is always non-NULL here; owner is the patient whose
  ** key seals the version ("" for none). */
  int (*resource_create)(mt_store *s, const char *type, const char *id,
                         const char *json, const char *owner, int64_t now_ms,
                         mt_resource *out, char *err, size_t errlen);
  int (*resource_read)(mt_store *s, const char *type, const char *id,
                       int64_t version_id /* 0: current */, mt_resource *out,
                       char *err, size_t errlen);
  int (*resource_history)(mt_store *s, const char *type, const char *id,
                          mt_resource **list, size_t *n, char *err,
                          size_t errlen);
  /* json NULL: a delete marker. */
  int (*resource_put)(mt_store *s, const char *type, const char *id,
                      const char *json, const char *owner,
                      int64_t expected_version, int64_t now_ms,
                      mt_resource *out, char *err, size_t errlen);
  int (*obs_append)(mt_store *s, const mt_obs *o, int64_t now_ms,
                    int64_t *seq, char *err, size_t errlen);
  int (*obs_query)(mt_store *s, const char *patient, const char *code,
                   int64_t from_ms, int64_t to_ms, mt_obs **out, size_t *n,
                   char *err, size_t errlen);
  int (*snapshot_put)(mt_store *s, const char *patient, const char *model,
                      int64_t taken_at_ms, const void *blob, size_t len,
                      char *err, size_t errlen);
  int (*snapshot_latest)(mt_store *s, const char *patient, const char *model,
                         int64_t *taken_at_ms, void **blob, size_t *len,
                         char *err, size_t errlen);
  int (*event_add)(mt_store *s, mt_store_log log, const char *patient,
                   int64_t t_ms, const char *kind, const char *payload,
                   int64_t now_ms, char *err, size_t errlen);
  int (*event_list)(mt_store *s, mt_store_log log, const char *patient,
                    int64_t from_ms, int64_t to_ms, mt_store_event **out,
                    size_t *n, char *err, size_t errlen);
  int (*begin)(mt_store *s, char *err, size_t errlen);
  int (*commit)(mt_store *s, char *err, size_t errlen);
  int (*rollback)(mt_store *s, char *err, size_t errlen);
  int (*backup)(mt_store *s, const char *path, char *err, size_t errlen);
  /* version 2 */
  int (*resource_list)(mt_store *s, const char *type, mt_resource **list,
                       size_t *n, char *err, size_t errlen);
  /* version 3: search indexes; ix and q are checked, list/n non-NULL. */
  int (*resource_set_index)(mt_store *s, const char *type, const char *id,
                            const mt_res_index *ix, char *err,
                            size_t errlen);
  int (*resource_search)(mt_store *s, const mt_res_query *q,
                         mt_resource **list, size_t *n, long *total,
                         char *err, size_t errlen);
  /* version 4: twins in the server */
  int (*obs_since)(mt_store *s, const char *patient, int64_t after_seq,
                   mt_obs **out, size_t *n, char *err, size_t errlen);
  int (*obs_get)(mt_store *s, int64_t seq, mt_obs *out, char *err,
                 size_t errlen);
  int (*snapshot_keys)(mt_store *s, mt_store_twin_key **out, size_t *n,
                       char *err, size_t errlen);
  int (*snapshot_prune)(mt_store *s, const char *patient, const char *model,
                        int keep, char *err, size_t errlen);
  int (*savepoint)(mt_store *s, char *err, size_t errlen);
  int (*savepoint_end)(mt_store *s, int keep, char *err, size_t errlen);
  int (*set_autocheckpoint)(mt_store *s, int pages, char *err,
                            size_t errlen);
  /* version 5: a patient's compartment; list, n, total non-NULL */
  int (*patient_resources)(mt_store *s, const char *patient, long max,
                           mt_resource **list, size_t *n, long *total,
                           char *err, size_t errlen);
  /* version 6: erasure (patient checked, out non-NULL and zeroed) */
  int (*patient_erase)(mt_store *s, const char *patient,
                       mt_store_erased *out, char *err, size_t errlen);
} mt_store_ops;

/* Every back end's handle starts with this. */
struct mt_store {
  const mt_store_ops *ops;
  int encrypted; /* 1: personal fields are sealed (vault.h) */
};

/* "store <op>: <formatted>" into err; returns code. */
int mt_store__fail(char *err, size_t errlen, int code, const char *op,
                   const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 5, 6)))
#endif
  ;

/* For tests and docs/store.md: the SQLite back end's EXPLAIN QUERY PLAN
** lines of the statements a search runs (count, then page, per segment)
** into out. */
int mt_store__search_plan(mt_store *s, const mt_res_query *q, char *out,
                          size_t outlen, char *err, size_t errlen);

/* 1 if path (which may not exist yet) lies inside dir (sqlite_audit.c). */
int mt_store__inside(const char *path, const char *dir);

/* The SQLite back end (sqlite.c): dir holds medtwin.db; vault NULL for a
** store without encryption at rest. */
int mt_store__sqlite_open(const char *dir, mt_vault *vault, mt_store **out,
                          char *err, size_t errlen);

#endif
