/*
** A tamper-evident audit trail in the store: who did what to which record,
** for what purpose, with what outcome (HIPAA 45 CFR 164.312(b), audit
** controls; 164.312(c)(1), integrity). Records form a hash chain (BLAKE2b-256,
** libsodium crypto_generichash) and the chain head is signed from time to
** time with an Ed25519 key (libsodium crypto_sign) whose secret half lives
** outside the data directory. Design, encoding and limits: docs/audit.md.
**
** Conventions as in store.h: err/errlen (may be NULL/0) receive one line
** naming the operation and the cause; 0, or a negative MT_E* code. Actor,
** action and purpose are keys (1..MT_STORE_KEY_MAX bytes without control
** characters); actor and resource carry pseudonymous ids only, never names.
*/
#ifndef MEDTWIN_AUDIT_H
#define MEDTWIN_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "medtwin/store.h"

#define MT_AUDIT_HASH_BYTES 32     /* BLAKE2b-256 */
#define MT_AUDIT_PK_BYTES 32       /* crypto_sign_PUBLICKEYBYTES */
#define MT_AUDIT_SK_BYTES 64       /* crypto_sign_SECRETKEYBYTES */
#define MT_AUDIT_SIG_BYTES 64      /* crypto_sign_BYTES */
#define MT_AUDIT_RESOURCE_MAX 1024 /* longest resource (bytes) */

/* One access. Strings are borrowed for the call. */
typedef struct mt_audit_record {
  int64_t t_ms;         /* when (Unix ms); <= 0: the store stamps now */
  const char *actor;    /* pseudonymous id, e.g. "user:7f3a..." */
  const char *action;   /* read, create, update, delete, search, ... */
  const char *resource; /* "Type/id" or a query summary, 1..1024 bytes */
  const char *purpose;  /* treatment, research, device-ingest, ... */
  int64_t outcome;      /* e.g. the HTTP status */
} mt_audit_record;

/*
** The hash of record r at position seq after prev: BLAKE2b-256 over the
** length-prefixed encoding of docs/audit.md. Exposed for tests and
** external verifiers. Strings must be non-NULL.
*/
void mt_audit_hash(const mt_audit_record *r, int64_t seq,
                   const unsigned char prev[MT_AUDIT_HASH_BYTES],
                   unsigned char out[MT_AUDIT_HASH_BYTES]);

/*
** Append r to the chain: one write (its own transaction, or part of the
** open batch or savepoint unit, so that it commits or rolls back with the
** access it describes). *seq (may be NULL) receives its position, 1, 2, ...
** MT_EINVAL for a field out of the rules above.
*/
int mt_store_audit_append(mt_store *s, const mt_audit_record *r,
                          int64_t *seq, char *err, size_t errlen);

/* Store the public key that checkpoints are verified with; MT_ECONFLICT if
** the store has one already. */
int mt_store_audit_set_key(mt_store *s,
                           const unsigned char pk[MT_AUDIT_PK_BYTES],
                           char *err, size_t errlen);

/*
** Sign the current chain head (its seq and hash, and now) with sk and store
** the checkpoint. MT_EDENIED if sk's public half is not the stored key,
** MT_ENOTFOUND if the store has no key. *seq (may be NULL): the head's seq
** (0 for an empty chain).
*/
int mt_store_audit_checkpoint(mt_store *s,
                              const unsigned char sk[MT_AUDIT_SK_BYTES],
                              int64_t *seq, char *err, size_t errlen);

/* What mt_store_audit_verify found. */
typedef struct mt_audit_report {
  int intact;          /* 1: every check passed */
  int64_t records;     /* records read */
  int64_t checkpoints; /* checkpoints read */
  int64_t head_seq;    /* the last record's seq (0: none) */
  unsigned char head[MT_AUDIT_HASH_BYTES]; /* its hash (genesis: none) */
  int has_key;         /* a public key is stored */
  int64_t bad_seq;     /* the first bad record (0: not a record's fault) */
  char reason[256];    /* why not intact: one line */
} mt_audit_report;

/*
** Check the database (PRAGMA integrity_check), recompute the chain from
** genesis, and check every checkpoint's signature and head against it, in
** one read snapshot. Returns 0 when the check ran (rep->intact says how it
** went), or a negative code when it could not (the database unreadable: err
** has SQLite's message). MT_EINVAL inside a batch.
*/
int mt_store_audit_verify(mt_store *s, mt_audit_report *rep, char *err,
                          size_t errlen);

/* One stored record, as listed. */
typedef struct mt_audit_entry {
  int64_t seq, t_ms, outcome;
  char actor[MT_STORE_KEY_MAX + 1], action[MT_STORE_KEY_MAX + 1];
  char purpose[MT_STORE_KEY_MAX + 1];
  char resource[MT_AUDIT_RESOURCE_MAX + 1];
} mt_audit_entry;

/*
** Records with seq > after_seq, oldest first, at most limit (> 0). With
** prefix (may be NULL: all), only those whose resource is prefix or
** continues it with '/' or '?': "Patient/p1" finds "Patient/p1",
** "Patient/p1/Observation/o9" and "Patient/p1/Observation?code", not
** "Patient/p10". *out malloc'd (free()), NULL when *n is 0.
*/
int mt_store_audit_list(mt_store *s, const char *prefix, int64_t after_seq,
                        long limit, mt_audit_entry **out, size_t *n,
                        char *err, size_t errlen);

/*
** Secret key files. The file holds the 64-byte Ed25519 secret key, mode
** 0600, outside data_dir: save refuses a path inside data_dir (MT_EINVAL) or
** one that exists (MT_ECONFLICT); load refuses a file readable by group or
** others (MT_EDENIED) or of the wrong size (MT_EPARSE).
*/
int mt_audit_key_save(const char *path, const char *data_dir,
                      const unsigned char sk[MT_AUDIT_SK_BYTES], char *err,
                      size_t errlen);
int mt_audit_key_load(const char *path, const char *data_dir,
                      unsigned char sk[MT_AUDIT_SK_BYTES], char *err,
                      size_t errlen);

#endif
