/*
** Internal to the SQLite back end: the handle and the helpers that sqlite.c
** (schema, resources, observations, batches) and sqlite_search.c (search
** indexes) share. Every helper that can fail writes "store <op>: <cause>"
** into err and returns an MT_E* code.
*/
#ifndef MT_STORE_SQLITE_INT_H
#define MT_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "medtwin/vault.h"
#include "store/ops.h"

/* Statements of the write path kept prepared for the life of a handle. */
#define HOT_MAX 16

typedef struct sq_store {
  mt_store base;
  sqlite3 *db;
  int in_batch;
  int in_unit; /* a savepoint unit open in the batch */
  mt_vault *vault; /* borrowed; NULL: a store without encryption at rest */
  unsigned char blind[MT_VAULT_KEY_BYTES]; /* the blind index key */
  struct {
    const char *sql; /* a string literal: the key is its address */
    sqlite3_stmt *st;
  } hot[HOT_MAX];
} sq_store;

/* The columns of a resource row, in mt_sq__read_row's order. */
#define RES_COLS "type, id, version_id, last_updated, deleted, json, owner"

/* The connection's last error, mapped to an MT_E* code. */
int mt_sq__db_fail(sq_store *q, const char *op, char *err, size_t errlen);
/* Run SQL text (several statements allowed). */
int mt_sq__exec(sq_store *q, const char *sql, const char *op, char *err,
                size_t errlen);
/* Prepare a statement used once: sqlite3_finalize (or mt_sq__release). */
int mt_sq__prepare(sq_store *q, const char *sql, sqlite3_stmt **st,
                   const char *op, char *err, size_t errlen);
/* A statement kept for the handle's life (sql a string literal). */
int mt_sq__prepare_hot(sq_store *q, const char *sql, sqlite3_stmt **st,
                       const char *op, char *err, size_t errlen);
/* Done with a statement: a kept one is reset, any other finalized. */
void mt_sq__release(sq_store *q, sqlite3_stmt *st);
/* Step to completion and release. */
int mt_sq__step_done(sq_store *q, sqlite3_stmt *st, const char *op,
                     char *err, size_t errlen);
/* Run a kept statement with (type, id) bound to ?1, ?2. */
int mt_sq__exec_ref(sq_store *q, const char *sql, const char *type,
                    const char *id, const char *op, char *err, size_t errlen);
/* A write: its own IMMEDIATE transaction, or a savepoint inside a batch;
** tx_end commits when rc >= 0 and undoes the write otherwise. */
int mt_sq__tx_begin(sq_store *q, const char *op, char *err, size_t errlen);
int mt_sq__tx_end(sq_store *q, int rc, const char *op, char *err,
                  size_t errlen);
/* arr (of *cap elements of size bytes) grown to twice its capacity, or to
** first when empty; NULL when out of memory, arr then unchanged. */
void *mt_sq__grow(void *arr, size_t *cap, size_t size, size_t first);
/* The RES_COLS of the current row into *r (r->json malloc'd, opened with
** its owner's key in an encrypted store). */
int mt_sq__read_row(sq_store *q, sqlite3_stmt *st, mt_resource *r);

/*
** Encryption at rest (include/medtwin/vault.h). The associated data of a
** sealed field names its row: fields joined by 0x1f (keys hold no control
** characters). seal: n bytes of in with patient's key (made if new) into
** out, which has room for n + MT_SEAL_OVERHEAD. open: the sealed n bytes
** into out (room for n - MT_SEAL_OVERHEAD). Both only with q->vault.
*/
size_t mt_sq__ad(char *ad, size_t cap, const char *tag, const char *a,
                 const char *b, const char *c, int64_t x);
int mt_sq__seal(sq_store *q, const char *patient, const char *ad,
                size_t adlen, const void *in, size_t n, unsigned char *out,
                const char *op, char *err, size_t errlen);
int mt_sq__open_sealed(sq_store *q, const char *patient, const char *ad,
                       size_t adlen, const void *in, size_t n,
                       unsigned char *out, const char *op, char *err,
                       size_t errlen);
/* The blind index form of an identifier value (in an encrypted store):
** "~" and 32 hex digits of its keyed BLAKE2b-128. */
#define MT_SQ_BLIND_LEN 33
void mt_sq__blind(const sq_store *q, const char *value,
                  char out[MT_SQ_BLIND_LEN + 1]);

/* sqlite_search.c: the version 3 operations. */
int mt_sq__resource_set_index(mt_store *s, const char *type, const char *id,
                              const mt_res_index *ix, char *err,
                              size_t errlen);
int mt_sq__resource_search(mt_store *s, const mt_res_query *q,
                           mt_resource **list, size_t *n, long *total,
                           char *err, size_t errlen);
int mt_sq__patient_resources(mt_store *s, const char *patient, long max,
                             mt_resource **list, size_t *n, long *total,
                             char *err, size_t errlen);

#endif
