/*
** The durable store behind `medtwin serve`: FHIR resources with full version
** history, append-only observations, twin snapshots, alerts and quarantine
** rows. One interface, several back ends: a directory opens the embedded
** SQLite store (DIR/medtwin.db, WAL, synchronous=FULL); a PostgreSQL store
** will implement the same operations table. Schema, durability settings and
** their reasons: docs/store.md.
**
** Conventions. Every call takes err/errlen (may be NULL/0) and on error writes
** one line naming the operation and the cause. Returns 0, a negative MT_E*
** code, or a positive informational code (MT_STORE_DUPLICATE). Every write is
** one transaction: it either commits completely or leaves nothing. Times are
** Unix milliseconds. Keys (types, ids, patients, devices, codes, units,
** models, kinds) are 1..MT_STORE_KEY_MAX bytes without control characters;
** anything else is MT_EINVAL. A handle is used by one thread at a time.
*/
#ifndef MEDTWIN_STORE_H
#define MEDTWIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#define MT_STORE_KEY_MAX 64

/* Informational: an observation with the same idempotency key is stored. */
#define MT_STORE_DUPLICATE 1

typedef struct mt_store mt_store;
struct mt_vault;

/*
** Open a store. url_or_dir: a directory (created with mode 0700 if missing)
** holding medtwin.db, created with the current schema if absent. A store
** whose schema_version is newer than this build is refused (MT_EINVAL) and
** left untouched; an older one is migrated forward in one transaction.
** postgres:// URLs are MT_EINVAL until that back end exists. On failure *out
** is NULL and there is nothing to close. Several handles may be open on one
** directory, each used by one thread: a write waits up to 5 s for another
** handle's write lock, and every read sees the last committed state, never
** part of a transaction.
*/
int mt_store_open(const char *url_or_dir, mt_store **out, char *err,
                  size_t errlen);
/*
** Open with encryption at rest (include/medtwin/vault.h): personal fields
** are sealed with their patient's key from vault, which must stay open
** while the store is. A new or empty store becomes encrypted and records
** the vault's id; a store encrypted with another key store, or one holding
** data stored without encryption, is refused; and mt_store_open refuses an
** encrypted store (MT_EDENIED). What is sealed and what stays plaintext:
** docs/SECURITY.md, "Encryption at rest".
*/
int mt_store_open_vault(const char *url_or_dir, struct mt_vault *vault,
                        mt_store **out, char *err, size_t errlen);
/* Close; a batch still open is rolled back. NULL-safe. */
void mt_store_close(mt_store *s);
/* Back end name ("sqlite"). */
const char *mt_store_kind(const mt_store *s);
/* Schema version this build writes. */
int mt_store_schema_version(void);

/* ---- FHIR resources, stored verbatim with full history ---- */

typedef struct mt_resource {
  char type[MT_STORE_KEY_MAX + 1]; /* "Patient" */
  char id[MT_STORE_KEY_MAX + 1];   /* [A-Za-z0-9.-]{1,64} (FHIR id) */
  int64_t version_id;              /* 1, 2, ... per (type, id) */
  int64_t last_updated_ms;
  int deleted;                     /* 1: a delete marker; json is NULL */
  char *json;                      /* malloc'd, owned by the struct */
} mt_resource;

/* Free r->json and zero r. NULL-safe. */
void mt_resource_clear(mt_resource *r);
/* Clear n resources and free the array. NULL-safe. */
void mt_resource_list_free(mt_resource *r, size_t n);

/*
** Create version 1 of a resource. id NULL or "" assigns a random UUID v4.
** json is stored verbatim, not parsed: the caller validates it. MT_ECONFLICT
** if (type, id) already exists. On success *out (may be NULL) holds a copy.
*/
int mt_store_resource_create(mt_store *s, const char *type, const char *id,
                             const char *json, mt_resource *out, char *err,
                             size_t errlen);
/*
** The same, for a resource of patient (NULL or "": a Patient's own id, or
** none): the patient whose key seals it in an encrypted store and whose
** erasure removes it. The server passes the patient its index entry names.
*/
int mt_store_resource_create_of(mt_store *s, const char *patient,
                                const char *type, const char *id,
                                const char *json, mt_resource *out,
                                char *err, size_t errlen);
/*
** Current version. MT_ENOTFOUND if there is none; if the current version is
** a delete marker, also MT_ENOTFOUND but *out is filled with deleted = 1
** (the server's 410 Gone).
*/
int mt_store_resource_read(mt_store *s, const char *type, const char *id,
                           mt_resource *out, char *err, size_t errlen);
/* One version (a delete marker is returned with deleted = 1, rc 0). */
int mt_store_resource_vread(mt_store *s, const char *type, const char *id,
                            int64_t version_id, mt_resource *out, char *err,
                            size_t errlen);
/* Every version, newest first: *list (free with mt_resource_list_free), *n.
** MT_ENOTFOUND if the resource never existed. */
int mt_store_resource_history(mt_store *s, const char *type, const char *id,
                              mt_resource **list, size_t *n, char *err,
                              size_t errlen);
/* The current version of every resource of type that is not deleted,
** ordered by id: *list (free with mt_resource_list_free), *n (0 for none). */
int mt_store_resource_list(mt_store *s, const char *type, mt_resource **list,
                           size_t *n, char *err, size_t errlen);
/*
** Store a new version. expected_version > 0: MT_ECONFLICT unless it is the
** current version (optimistic locking, FHIR If-Match); 0: no check.
** MT_ENOTFOUND if the resource never existed. Updating a deleted resource
** revives it.
*/
int mt_store_resource_update(mt_store *s, const char *type, const char *id,
                             const char *json, int64_t expected_version,
                             mt_resource *out, char *err, size_t errlen);
int mt_store_resource_update_of(mt_store *s, const char *patient,
                                const char *type, const char *id,
                                const char *json, int64_t expected_version,
                                mt_resource *out, char *err, size_t errlen);
/* Append a delete marker version (expected_version as for update). Deleting
** a deleted resource changes nothing and returns 0 with the marker in *out. */
int mt_store_resource_delete(mt_store *s, const char *type, const char *id,
                             int64_t expected_version, mt_resource *out,
                             char *err, size_t errlen);

/* ---- search indexes over the current resources ---- */

/*
** What the current version of a resource is searched by. The caller (the
** server's FHIR layer) extracts it from the JSON; the store does not parse
** resources. Strings are borrowed for the call.
*/
typedef struct mt_res_index {
  const char *patient;       /* the patient id it belongs to (NULL or "":
                                none), 1..MT_STORE_KEY_MAX bytes */
  const char *const *codes;  /* "system|code" tokens; the system may be
                                empty ("|code"); split at the first '|' */
  int n_codes;               /* >= 0; codes may be NULL when 0 */
  int has_date;              /* 0: the resource has no date */
  int64_t date_ms;           /* its clinically relevant time (Unix ms; the
                                start of a period) */
} mt_res_index;

/*
** Code tokens whose system begins with this prefix are identifiers (a
** patient's record number, say): an encrypted store keeps only a keyed
** hash of their value (a blind index), found by a query with ident set.
*/
#define MT_STORE_IDENT_PREFIX "urn:medtwin:identifier:"

/* Longest system accepted in a code token (bytes); codes are keys. */
#define MT_STORE_SYSTEM_MAX 255

/*
** Replace the index entry of (type, id), which describes its current
** version: its patient, codes and date rows are deleted and ix's written,
** in one transaction (in a batch, part of the batch). Duplicate tokens are
** stored once. MT_ENOTFOUND if the resource does not exist or is deleted;
** MT_EINVAL for a key out of the rules above or a token without '|'.
**
** Every create (and every update that revives a deleted resource) gives the
** resource an entry with no patient, codes or date, so type and _id searches
** find it; an update keeps the entry of the previous version until
** set_index is called again, so a caller that indexes calls it after every
** create and update, in the same batch. A delete removes the entry.
*/
int mt_store_resource_set_index(mt_store *s, const char *type,
                                const char *id, const mt_res_index *ix,
                                char *err, size_t errlen);

/* A search: every field set is a condition, all must hold. */
typedef struct mt_res_query {
  const char *type;        /* required */
  const char *id;          /* _id; NULL: any */
  const char *patient;     /* NULL: any */
  const char *code_system; /* NULL: any system ("" : the empty system) */
  const char *code;        /* NULL: any code (code_system is then ignored) */
  int has_date_lo, has_date_hi;
  int64_t date_lo, date_hi; /* date_lo <= date < date_hi (Unix ms); a
                               resource without a date never matches a
                               date bound */
  int sort;     /* 0: by id; 1: by date ascending; -1: by date descending;
                   ties by id ascending; resources without a date last in
                   both directions, by id */
  long offset;  /* matches skipped before the page, >= 0 */
  long count;   /* page size, >= 0; 0: only the total */
  int reach;    /* whose resources may match at all (mt_reach) */
  int ident;    /* 1: code is an identifier's value (found through the
                   blind index in an encrypted store) */
  const char *reach_who; /* MT_REACH_TEAM: the care team's owner (a user or
                            token id); MT_REACH_OWN: the patient */
} mt_res_query;

/* The reach of a search: the caller's access, applied in the query itself
** so that totals and pages count only what the caller may see. */
typedef enum mt_reach {
  MT_REACH_ALL = 0,  /* every resource */
  MT_REACH_TEAM,     /* resources of no patient, and of the patients in
                        reach_who's care team whose treatment consent is
                        not withdrawn (include/medtwin/access.h) */
  MT_REACH_RESEARCH, /* resources of no patient, and of the patients with
                        active research consent */
  MT_REACH_OWN,      /* the resources of patient reach_who only */
  MT_REACH_NONE      /* nothing */
} mt_reach;

/*
** The current, non-deleted resources matching q: the page [offset, offset +
** count) in *list (free with mt_resource_list_free; NULL when *n is 0) and
** the number of matches in all in *total. list and n may be NULL when count
** is 0. Total and page come from one snapshot of the store. MT_EINVAL for
** a bad type, key, sort, offset or count.
*/
int mt_store_resource_search(mt_store *s, const mt_res_query *q,
                             mt_resource **list, size_t *n, long *total,
                             char *err, size_t errlen);

/*
** A patient's compartment, for an export (FHIR Patient $everything): the
** current, non-deleted resources of every type whose index patient is
** patient (the Patient itself included), ordered by type and id. At most max
** of them in *list (free with mt_resource_list_free; NULL when *n is 0); how
** many there are in all in *total, from the same snapshot, so that a caller
** sees when the list was cut. max 0 counts only. MT_EINVAL for a patient
** that is not a key, max < 0, or no output.
*/
int mt_store_patient_resources(mt_store *s, const char *patient, long max,
                               mt_resource **list, size_t *n, long *total,
                               char *err, size_t errlen);

/* ---- observations, append-only ---- */

typedef struct mt_obs {
  char patient[MT_STORE_KEY_MAX + 1];
  char device[MT_STORE_KEY_MAX + 1]; /* source device */
  char code[MT_STORE_KEY_MAX + 1];   /* e.g. LOINC "2339-0" */
  char unit[MT_STORE_KEY_MAX + 1];   /* UCUM */
  int64_t t_ms;                      /* effective time */
  double value;                      /* finite */
  int64_t seq;                       /* arrival sequence, set by the store */
  char resource[MT_STORE_KEY_MAX + 1]; /* id of the resource it came from
                                        ("" when none); not part of the key */
} mt_obs;

/*
** Append. The idempotency key is (patient, device, code, t_ms): a second
** append with the same key stores nothing and returns MT_STORE_DUPLICATE.
** *seq (may be NULL) receives the arrival sequence of the stored row (the
** earlier one for a duplicate). seq in o is ignored.
*/
int mt_store_obs_append(mt_store *s, const mt_obs *o, int64_t *seq,
                        char *err, size_t errlen);
/* Observations of patient and code with from_ms <= t_ms < to_ms, ordered by
** (t_ms, seq). *out is malloc'd (free()), NULL when *n is 0. */
int mt_store_obs_query(mt_store *s, const char *patient, const char *code,
                       int64_t from_ms, int64_t to_ms, mt_obs **out,
                       size_t *n, char *err, size_t errlen);

/* Observations of patient with seq > after_seq, every code, in arrival
** order (seq): what a twin has not taken yet. *out is malloc'd (free()),
** NULL when *n is 0. */
int mt_store_obs_since(mt_store *s, const char *patient, int64_t after_seq,
                       mt_obs **out, size_t *n, char *err, size_t errlen);
/* The observation with arrival sequence seq; MT_ENOTFOUND if none. */
int mt_store_obs_get(mt_store *s, int64_t seq, mt_obs *out, char *err,
                     size_t errlen);

/* ---- twin snapshots ---- */

/* Store an opaque snapshot (len may be 0; blob may be NULL then). */
int mt_store_snapshot_put(mt_store *s, const char *patient, const char *model,
                          int64_t taken_at_ms, const void *blob, size_t len,
                          char *err, size_t errlen);
/* The snapshot with the latest taken_at (the later put on a tie): *blob is
** malloc'd (free()), never NULL on success. MT_ENOTFOUND if none. */
int mt_store_snapshot_latest(mt_store *s, const char *patient,
                             const char *model, int64_t *taken_at_ms,
                             void **blob, size_t *len, char *err,
                             size_t errlen);

/* Every (patient, model) with a snapshot, ordered by patient then model:
** the twins to restore. *out malloc'd (free()), NULL when *n is 0. */
typedef struct mt_store_twin_key {
  char patient[MT_STORE_KEY_MAX + 1];
  char model[MT_STORE_KEY_MAX + 1];
} mt_store_twin_key;
int mt_store_snapshot_keys(mt_store *s, mt_store_twin_key **out, size_t *n,
                           char *err, size_t errlen);
/* Delete all but the keep (>= 1) latest snapshots of (patient, model). */
int mt_store_snapshot_prune(mt_store *s, const char *patient,
                            const char *model, int keep, char *err,
                            size_t errlen);

/* ---- alerts and quarantined data ---- */

typedef enum mt_store_log {
  MT_STORE_ALERT = 0,  /* alerts raised by a twin */
  MT_STORE_QUARANTINE  /* data refused at ingest, with the reason */
} mt_store_log;

typedef struct mt_store_event {
  char patient[MT_STORE_KEY_MAX + 1];
  int64_t t_ms;
  char kind[MT_STORE_KEY_MAX + 1];
  char *payload; /* JSON text, malloc'd */
  int64_t seq;
} mt_store_event;

/* Append a row to the alert or quarantine log; payload stored verbatim. */
int mt_store_event_add(mt_store *s, mt_store_log log, const char *patient,
                       int64_t t_ms, const char *kind, const char *payload,
                       char *err, size_t errlen);
/* Rows of patient with from_ms <= t_ms < to_ms ordered by (t_ms, seq); free
** with mt_store_event_list_free. */
int mt_store_event_list(mt_store *s, mt_store_log log, const char *patient,
                        int64_t from_ms, int64_t to_ms, mt_store_event **out,
                        size_t *n, char *err, size_t errlen);
void mt_store_event_list_free(mt_store_event *ev, size_t n);

/* ---- batches (group commit) ---- */

/*
** Between begin and commit, writes share one transaction: commit makes them
** durable together (one fsync), rollback discards them all. A write that
** fails inside a batch is undone by itself and the batch goes on. Batches
** do not nest (MT_EINVAL).
*/
int mt_store_begin(mt_store *s, char *err, size_t errlen);
int mt_store_commit(mt_store *s, char *err, size_t errlen);
int mt_store_rollback(mt_store *s, char *err, size_t errlen);
/*
** Inside a batch, a unit of writes undone together: savepoint opens it,
** savepoint_end(keep = 1) keeps its writes in the batch, keep = 0 undoes
** them (the batch goes on). Units do not nest; MT_EINVAL outside a batch.
** Inside a unit, a write that fails is not undone by itself (that would
** cost a savepoint per write): the caller ends the unit with keep = 0.
** The server's writer runs each request's writes as one unit of a group
** commit.
*/
int mt_store_savepoint(mt_store *s, char *err, size_t errlen);
int mt_store_savepoint_end(mt_store *s, int keep, char *err, size_t errlen);

/* ---- erasure (GDPR Art. 17) ---- */

/* What an erasure removed. */
typedef struct mt_store_erased {
  long resources;    /* resource versions, every version of every resource
                        the patient ever owned, delete markers included */
  long observations, snapshots, alerts, quarantined;
  long users, tokens, careteam, consents; /* access rows of the patient */
  int key_destroyed; /* 1: the patient's key was destroyed (encrypted) */
  int wal_truncated; /* 1: the write-ahead log was emptied to 0 bytes */
} mt_store_erased;

/*
** Erase patient: in an encrypted store first destroy the patient's key
** (from then on nothing sealed with it opens, in this store or in any
** backup of it), then delete every row of the patient in one transaction
** with secure_delete (the bytes overwritten in the file), then checkpoint
** and truncate the write-ahead log. Repeating an erasure finishes one that
** was interrupted and otherwise changes nothing. Audit records stay: they
** name the patient by a pseudonym derived from the destroyed key, which
** nothing can link back any more. Not inside a batch (MT_EINVAL).
*/
int mt_store_patient_erase(mt_store *s, const char *patient,
                           mt_store_erased *out, char *err, size_t errlen);
/* 1 when s is encrypted at rest. */
int mt_store_encrypted(const mt_store *s);

/* ---- maintenance ---- */

/*
** WAL checkpoints: SQLite copies the log into the database on the
** committing thread once the log holds this many pages (SQLite's default is
** 1000; the server sets more, so that hot pages are copied less often).
*/
int mt_store_set_autocheckpoint(mt_store *s, int pages, char *err,
                                size_t errlen);

/*
** Online backup to path (a single database file) while the store stays in
** use; written to path.part and renamed into place, so path is complete or
** absent. MT_EIO with the cause on failure.
*/
int mt_store_backup(mt_store *s, const char *path, char *err, size_t errlen);

#endif
