/*
** The embedded store: one SQLite 3 database, DIR/medtwin.db, in WAL mode with
** synchronous=FULL so that an acknowledged commit survives a crash or power
** loss (https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html
** #pragma_synchronous). Every write is one transaction (BEGIN IMMEDIATE, or a
** SAVEPOINT inside a batch). The search indexes are in sqlite_search.c.
** Schema and reasons: docs/store.md.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "medtwin/error.h"
#include "store/sqlite_int.h"

#define SCHEMA_VERSION 6
#define BUSY_TIMEOUT_MS 5000

/*
** Schema version 2: what the current, non-deleted resources are searched by.
** res_index holds one row per such resource (patient and date NULL when
** unknown); res_code one row per code token, with the patient and date
** repeated so that a patient + code + date search is one index range,
** already in (date, id) order, without a join.
*/
#define INDEX_SQL \
  "CREATE TABLE res_index(type TEXT NOT NULL, id TEXT NOT NULL," \
  " patient TEXT, date_ms INTEGER, PRIMARY KEY(type, id)) WITHOUT ROWID;" \
  "CREATE INDEX res_index_by_patient ON res_index" \
  "(type, patient, date_ms, id);" \
  "CREATE INDEX res_index_by_date ON res_index(type, date_ms, id);" \
  "CREATE TABLE res_code(type TEXT NOT NULL, id TEXT NOT NULL," \
  " system TEXT NOT NULL, code TEXT NOT NULL, patient TEXT," \
  " date_ms INTEGER, PRIMARY KEY(type, id, system, code)) WITHOUT ROWID;" \
  "CREATE INDEX res_code_by_patient ON res_code" \
  "(type, patient, code, date_ms, id, system);" \
  "CREATE INDEX res_code_by_code ON res_code" \
  "(type, code, date_ms, id, system);"

/*
** Schema version 4: the audit trail (sqlite_audit.c, docs/audit.md): the
** hash-chained records, the signed checkpoints of the chain head and the
** public key that verifies them.
*/
#define AUDIT_SQL \
  "CREATE TABLE audit(seq INTEGER PRIMARY KEY, t_ms INTEGER NOT NULL," \
  " actor TEXT NOT NULL, action TEXT NOT NULL, resource TEXT NOT NULL," \
  " purpose TEXT NOT NULL, outcome INTEGER NOT NULL, prev BLOB NOT NULL," \
  " hash BLOB NOT NULL);" \
  "CREATE TABLE audit_checkpoint(id INTEGER PRIMARY KEY," \
  " seq INTEGER NOT NULL, head BLOB NOT NULL, t_ms INTEGER NOT NULL," \
  " sig BLOB NOT NULL);" \
  "CREATE TABLE audit_key(id INTEGER PRIMARY KEY CHECK(id = 1)," \
  " public_key BLOB NOT NULL, created_ms INTEGER NOT NULL);"

/*
** Schema version 5: access control (sqlite_access.c, include/medtwin/
** access.h): users, bearer tokens (hashes only), care teams and the
** current consent decisions; the audit trail by resource, for a patient's
** own access log.
*/
#define ACCESS_SQL \
  "CREATE TABLE auth_user(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE," \
  " role TEXT NOT NULL, patient TEXT NOT NULL, pwhash TEXT NOT NULL," \
  " created_ms INTEGER NOT NULL) WITHOUT ROWID;" \
  "CREATE TABLE auth_token(id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE," \
  " role TEXT NOT NULL, user_id TEXT NOT NULL, patient TEXT NOT NULL," \
  " device TEXT NOT NULL, scopes TEXT NOT NULL, created_ms INTEGER NOT NULL," \
  " expires_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0)" \
  " WITHOUT ROWID;" \
  "CREATE TABLE careteam(who TEXT NOT NULL, patient TEXT NOT NULL," \
  " PRIMARY KEY(who, patient)) WITHOUT ROWID;" \
  "CREATE TABLE consent(patient TEXT NOT NULL, purpose TEXT NOT NULL," \
  " active INTEGER NOT NULL CHECK(active IN (0, 1)), resource TEXT NOT NULL," \
  " changed_ms INTEGER NOT NULL, PRIMARY KEY(patient, purpose))" \
  " WITHOUT ROWID;" \
  "CREATE INDEX consent_by_purpose ON consent(purpose, active, patient);" \
  "CREATE INDEX audit_by_resource ON audit(resource, seq);"

/*
** Schema version 6: encryption at rest and erasure (include/medtwin/
** vault.h). Every resource version records the patient whose key seals it
** (its owner; "" for none), so that a patient's erasure finds every version
** of every resource that was ever theirs; meta 'vault' names the key store
** of an encrypted store.
*/
#define OWNER_SQL \
  "CREATE INDEX resource_by_owner ON resource(owner) WHERE owner <> '';"

static const char schema_sql[] =
  "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
  " WITHOUT ROWID;"
  "CREATE TABLE resource(type TEXT NOT NULL, id TEXT NOT NULL,"
  " version_id INTEGER NOT NULL CHECK(version_id > 0),"
  " last_updated INTEGER NOT NULL,"
  " deleted INTEGER NOT NULL DEFAULT 0 CHECK(deleted IN (0, 1)),"
  " json TEXT, owner TEXT NOT NULL DEFAULT '',"
  " CHECK((deleted = 1) = (json IS NULL)),"
  " PRIMARY KEY(type, id, version_id)) WITHOUT ROWID;"
  "CREATE TABLE observation(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  " patient TEXT NOT NULL, device TEXT NOT NULL, code TEXT NOT NULL,"
  " t_ms INTEGER NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL,"
  " arrived_ms INTEGER NOT NULL, resource TEXT NOT NULL DEFAULT '',"
  " UNIQUE(patient, device, code, t_ms));"
  "CREATE INDEX observation_by_seq ON observation(patient, seq);"
  "CREATE INDEX observation_by_code ON observation"
  "(patient, code, t_ms, seq, device, value, unit);"
  "CREATE TABLE snapshot(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  " patient TEXT NOT NULL, model TEXT NOT NULL, taken_at INTEGER NOT NULL,"
  " blob BLOB NOT NULL);"
  "CREATE INDEX snapshot_latest ON snapshot(patient, model, taken_at, seq);"
  "CREATE TABLE alert(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  " patient TEXT NOT NULL, t_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
  " payload TEXT NOT NULL, arrived_ms INTEGER NOT NULL);"
  "CREATE INDEX alert_by_time ON alert(patient, t_ms, seq);"
  "CREATE TABLE quarantine(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  " patient TEXT NOT NULL, t_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
  " payload TEXT NOT NULL, arrived_ms INTEGER NOT NULL);"
  "CREATE INDEX quarantine_by_time ON quarantine(patient, t_ms, seq);"
  INDEX_SQL
  AUDIT_SQL
  ACCESS_SQL
  OWNER_SQL
  "INSERT INTO meta(key, value) VALUES('schema_version', '6');";

/* Version 1 to 2: the search indexes; every current resource gets an entry
** with its type and id only (the store cannot parse the JSON for more). */
static const char migrate_1_2_sql[] =
  INDEX_SQL
  "INSERT INTO res_index(type, id) SELECT type, id FROM resource AS r"
  " WHERE deleted = 0 AND version_id = (SELECT max(version_id) FROM"
  " resource WHERE type = r.type AND id = r.id);"
  "UPDATE meta SET value = '2' WHERE key = 'schema_version';";

/* Version 2 to 3: the resource each observation came from (unknown, "",
** for rows stored before), and observations by arrival per patient, for
** the twins of the server. */
static const char migrate_2_3_sql[] =
  "ALTER TABLE observation ADD COLUMN resource TEXT NOT NULL DEFAULT '';"
  "CREATE INDEX observation_by_seq ON observation(patient, seq);"
  "UPDATE meta SET value = '3' WHERE key = 'schema_version';";

/* Version 3 to 4: the audit trail, empty. */
static const char migrate_3_4_sql[] =
  AUDIT_SQL
  "UPDATE meta SET value = '4' WHERE key = 'schema_version';";

/* Version 4 to 5: access control, empty. */
static const char migrate_4_5_sql[] =
  ACCESS_SQL
  "UPDATE meta SET value = '5' WHERE key = 'schema_version';";

/* Version 5 to 6: owners, from the index entries of current resources
** (older versions of a resource take its current patient). */
static const char migrate_5_6_sql[] =
  "ALTER TABLE resource ADD COLUMN owner TEXT NOT NULL DEFAULT '';"
  "UPDATE resource SET owner = id WHERE type = 'Patient';"
  "UPDATE resource SET owner = (SELECT patient FROM res_index AS i WHERE"
  " i.type = resource.type AND i.id = resource.id) WHERE type <> 'Patient'"
  " AND EXISTS (SELECT 1 FROM res_index AS i WHERE i.type = resource.type"
  " AND i.id = resource.id AND i.patient IS NOT NULL);"
  OWNER_SQL
  "UPDATE meta SET value = '6' WHERE key = 'schema_version';";

/* ---- helpers ---- */

static int code_of(int src)
{
  switch (src & 0xff) {
  case SQLITE_NOMEM: return MT_ENOMEM;
  case SQLITE_CONSTRAINT: return MT_ECONFLICT;
  default: return MT_EIO;
  }
}

int mt_sq__db_fail(sq_store *q, const char *op, char *err, size_t errlen)
{
  int src = sqlite3_extended_errcode(q->db);
  return mt_store__fail(err, errlen, code_of(src), op, "%s",
                        sqlite3_errmsg(q->db));
}

int mt_sq__exec(sq_store *q, const char *sql, const char *op, char *err,
                size_t errlen)
{
  if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return mt_sq__db_fail(q, op, err, errlen);
  return 0;
}

int mt_sq__prepare(sq_store *q, const char *sql, sqlite3_stmt **st,
                   const char *op, char *err, size_t errlen)
{
  if (sqlite3_prepare_v2(q->db, sql, -1, st, NULL) != SQLITE_OK) {
    *st = NULL;
    return mt_sq__db_fail(q, op, err, errlen);
  }
  return 0;
}

/*
** A statement prepared once per handle and reused (sql must be a string
** literal); give it back with mt_sq__release(). Preparing costs more than
** running the short statements of a write, so a batch of thousands of writes
** would otherwise spend most of its time in the SQL parser.
*/
int mt_sq__prepare_hot(sq_store *q, const char *sql, sqlite3_stmt **st,
                       const char *op, char *err, size_t errlen)
{
  int i = 0;
  while (i < HOT_MAX && q->hot[i].sql && q->hot[i].sql != sql)
    i++;
  if (i < HOT_MAX && q->hot[i].sql) {
    *st = q->hot[i].st;
    return 0;
  }
  if (i == HOT_MAX)
    return mt_sq__prepare(q, sql, st, op, err, errlen); /* full: not kept */
  if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                         NULL) != SQLITE_OK) {
    *st = NULL;
    return mt_sq__db_fail(q, op, err, errlen);
  }
  q->hot[i].sql = sql;
  q->hot[i].st = *st;
  return 0;
}

/* Done with a statement: a kept one is reset, any other finalized. */
void mt_sq__release(sq_store *q, sqlite3_stmt *st)
{
  for (int i = 0; i < HOT_MAX && q->hot[i].sql; i++)
    if (q->hot[i].st == st) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return;
    }
  sqlite3_finalize(st);
}

/* Run a kept statement without parameters. */
static int exec_hot(sq_store *q, const char *sql, const char *op, char *err,
                    size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, sql, &st, op, err, errlen);
  if (rc)
    return rc;
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  return rc;
}

/* Start a write: its own IMMEDIATE transaction, or a savepoint in a batch. */
int mt_sq__tx_begin(sq_store *q, const char *op, char *err, size_t errlen)
{
  if (q->in_unit) /* the unit's savepoint undoes a failed write */
    return 0;
  return q->in_batch ? exec_hot(q, "SAVEPOINT op", op, err, errlen)
                     : mt_sq__exec(q, "BEGIN IMMEDIATE", op, err, errlen);
}

/* Finish a write: commit when rc >= 0, else undo everything it did. */
int mt_sq__tx_end(sq_store *q, int rc, const char *op, char *err,
                  size_t errlen)
{
  if (q->in_unit)
    return rc;
  if (rc >= 0) {
    int c = q->in_batch ? exec_hot(q, "RELEASE op", op, err, errlen)
                        : mt_sq__exec(q, "COMMIT", op, err, errlen);
    if (!c)
      return rc;
    rc = c;
  }
  if (q->in_batch)
    sqlite3_exec(q->db, "ROLLBACK TO op; RELEASE op", NULL, NULL, NULL);
  else if (!sqlite3_get_autocommit(q->db))
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

int mt_sq__step_done(sq_store *q, sqlite3_stmt *st, const char *op,
                     char *err, size_t errlen)
{
  int rc = 0;
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  return rc;
}

static char *dup_text(sqlite3_stmt *st, int col)
{
  const unsigned char *t = sqlite3_column_text(st, col);
  if (!t)
    return NULL;
  size_t n = (size_t)sqlite3_column_bytes(st, col);
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, t, n);
    p[n] = 0;
  }
  return p;
}

static void copy_key(char dst[MT_STORE_KEY_MAX + 1], sqlite3_stmt *st,
                     int col)
{
  const char *t = (const char *)sqlite3_column_text(st, col);
  snprintf(dst, MT_STORE_KEY_MAX + 1, "%s", t ? t : "");
}

/* ---- encryption at rest ---- */

size_t mt_sq__ad(char *ad, size_t cap, const char *tag, const char *a,
                 const char *b, const char *c, int64_t x)
{
  int k = snprintf(ad, cap, "%s\x1f%s\x1f%s\x1f%s\x1f%lld", tag, a ? a : "",
                   b ? b : "", c ? c : "", (long long)x);
  return k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
}

/* patient's key (create: make it if new) into key, or the failure. */
static int data_key(sq_store *q, const char *patient, int create,
                    unsigned char key[MT_VAULT_KEY_BYTES], const char *op,
                    char *err, size_t errlen)
{
  char e[256];
  int rc = mt_vault_key(q->vault, patient ? patient : "", create, key, e,
                        sizeof e);
  if (rc == MT_ENOTFOUND)
    return mt_store__fail(err, errlen, MT_EIO, op, "the key of patient %s "
                          "is destroyed: the record was erased",
                          patient && *patient ? patient : "(store)");
  return rc ? mt_store__fail(err, errlen, rc, op, "%s", e) : 0;
}

int mt_sq__seal(sq_store *q, const char *patient, const char *ad,
                size_t adlen, const void *in, size_t n, unsigned char *out,
                const char *op, char *err, size_t errlen)
{
  unsigned char key[MT_VAULT_KEY_BYTES];
  int rc = data_key(q, patient, 1, key, op, err, errlen);
  if (!rc)
    mt_seal(key, ad, adlen, in, n, out);
  sodium_memzero(key, sizeof key);
  return rc;
}

int mt_sq__open_sealed(sq_store *q, const char *patient, const char *ad,
                       size_t adlen, const void *in, size_t n,
                       unsigned char *out, const char *op, char *err,
                       size_t errlen)
{
  unsigned char key[MT_VAULT_KEY_BYTES];
  int rc = data_key(q, patient, 0, key, op, err, errlen);
  if (!rc && (rc = mt_unseal(key, ad, adlen, in, n, out)) != 0)
    rc = mt_store__fail(err, errlen, MT_EIO, op, "a sealed field of patient "
                        "%s does not authenticate (altered or moved)",
                        patient && *patient ? patient : "(store)");
  sodium_memzero(key, sizeof key);
  return rc;
}

void mt_sq__blind(const sq_store *q, const char *value,
                  char out[MT_SQ_BLIND_LEN + 1])
{
  unsigned char h[16];
  crypto_generichash(h, sizeof h, (const unsigned char *)value, strlen(value),
                     q->blind, sizeof q->blind);
  out[0] = '~';
  sodium_bin2hex(out + 1, MT_SQ_BLIND_LEN, h, sizeof h);
}

/* A meta value into out (cap bytes): 0, MT_ENOTFOUND, or the failure. */
static int meta_get(sq_store *q, const char *key, char *out, size_t cap,
                    char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT value FROM meta WHERE key = ?1", &st,
                          "open", err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW)
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
  rc = s_ == SQLITE_ROW    ? 0
       : s_ == SQLITE_DONE ? MT_ENOTFOUND
                           : mt_sq__db_fail(q, "open", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* 1 when the store holds personal data rows of any kind. */
static int holds_data(sq_store *q, int *any, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT EXISTS (SELECT 1 FROM resource) OR"
                             " EXISTS (SELECT 1 FROM observation) OR"
                             " EXISTS (SELECT 1 FROM snapshot) OR"
                             " EXISTS (SELECT 1 FROM alert) OR"
                             " EXISTS (SELECT 1 FROM quarantine)",
                          &st, "open", err, errlen);
  if (rc)
    return rc;
  if (sqlite3_step(st) == SQLITE_ROW)
    *any = sqlite3_column_int(st, 0);
  else
    rc = mt_sq__db_fail(q, "open", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/*
** An encrypted store names its key store in meta 'vault'. Opened without
** one it is refused; an empty store opened with one becomes encrypted; a
** store holding plaintext data is refused with a key store (its rows would
** stay readable).
*/
static int bind_vault(sq_store *q, mt_vault *v, const char *dir, char *err,
                      size_t errlen)
{
  char have[MT_VAULT_ID_MAX + 1] = "";
  int rc = meta_get(q, "vault", have, sizeof have, err, errlen);
  if (rc && rc != MT_ENOTFOUND)
    return rc;
  int sealed = rc == 0;
  if (sealed && !v)
    return mt_store__fail(err, errlen, MT_EDENIED, "open", "%s is encrypted "
                          "at rest: give its key store (--key-store) and "
                          "master key (--master-key-file, or "
                          "MEDTWIN_MASTER_KEY_FILE)", dir);
  if (!v)
    return 0;
  if (sealed && strcmp(have, mt_vault_id(v)))
    return mt_store__fail(err, errlen, MT_EDENIED, "open", "%s was encrypted"
                          " with key store %s, not this one (%s)", dir, have,
                          mt_vault_id(v));
  if (!sealed) {
    int any = 0;
    rc = mt_sq__tx_begin(q, "open", err, errlen);
    if (!rc)
      rc = holds_data(q, &any, err, errlen);
    if (!rc && any)
      rc = mt_store__fail(err, errlen, MT_EINVAL, "open", "%s holds data "
                          "stored without encryption; export it (FHIR "
                          "$everything) and import it into a new store",
                          dir);
    if (!rc) {
      sqlite3_stmt *st;
      rc = mt_sq__prepare(q, "INSERT OR IGNORE INTO meta(key, value)"
                             " VALUES('vault', ?1)", &st, "open", err,
                          errlen);
      if (!rc) {
        sqlite3_bind_text(st, 1, mt_vault_id(v), -1, SQLITE_STATIC);
        rc = mt_sq__step_done(q, st, "open", err, errlen);
      }
    }
    rc = mt_sq__tx_end(q, rc, "open", err, errlen);
    if (!rc)
      return bind_vault(q, v, dir, err, errlen); /* another handle's? */
    return rc;
  }
  unsigned char own[MT_VAULT_KEY_BYTES];
  q->vault = v;
  q->base.encrypted = 1;
  rc = data_key(q, "", 1, own, "open", err, errlen);
  if (!rc)
    crypto_generichash(q->blind, sizeof q->blind,
                       (const unsigned char *)"medtwin.blind-index.v1", 22,
                       own, sizeof own);
  sodium_memzero(own, sizeof own);
  /* deleted rows are overwritten in the file, not only unlinked */
  return rc ? rc : mt_sq__exec(q, "PRAGMA secure_delete = ON", "open", err,
                                errlen);
}

/* ---- open / close ---- */

static const mt_store_ops sq_ops;

/* The file's schema_version into *v: 0 for a new file (no meta table), -1
** if meta holds none. Reads only. */
static int read_version(sq_store *q, long *v, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT count(*) FROM sqlite_master WHERE"
                             " name = 'meta'", &st, "open", err, errlen);
  if (rc)
    return rc;
  int have = 0;
  if (sqlite3_step(st) == SQLITE_ROW)
    have = sqlite3_column_int(st, 0);
  else
    rc = mt_sq__db_fail(q, "open", err, errlen);
  sqlite3_finalize(st);
  *v = 0;
  if (rc || !have)
    return rc;
  rc = mt_sq__prepare(q, "SELECT value FROM meta WHERE key ="
                         " 'schema_version'", &st, "open", err, errlen);
  if (rc)
    return rc;
  *v = -1;
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW) {
    long x = strtol((const char *)sqlite3_column_text(st, 0), NULL, 10);
    *v = x >= 1 ? x : -1;
  }
  else if (s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, "open", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* 1 if a file at version v must be created or migrated, 0 if current, or
** the error: newer than this build, or no valid version. */
static int schema_verdict(long v, const char *path, char *err, size_t errlen)
{
  if (v > SCHEMA_VERSION)
    return mt_store__fail(err, errlen, MT_EINVAL, "open",
                          "%s has schema version %ld, newer than this "
                          "medtwin (%d); upgrade medtwin", path, v,
                          SCHEMA_VERSION);
  if (v < 0)
    return mt_store__fail(err, errlen, MT_EIO, "open",
                          "%s: meta table holds no valid schema_version",
                          path);
  return v < SCHEMA_VERSION;
}

/*
** A current file is opened with reads alone, so opening a handle does not
** wait behind another handle's writes. A new or older file takes the write
** lock, looks again (another handle may have got there first) and creates
** or migrates it in one transaction.
*/
static int check_schema(sq_store *q, const char *path, char *err,
                        size_t errlen)
{
  long v;
  int rc = read_version(q, &v, err, errlen);
  if (!rc)
    rc = schema_verdict(v, path, err, errlen);
  if (rc <= 0)
    return rc;
  rc = mt_sq__tx_begin(q, "open", err, errlen);
  if (rc)
    return rc;
  rc = read_version(q, &v, err, errlen);
  if (!rc && (rc = schema_verdict(v, path, err, errlen)) == 1)
    rc = v == 0 ? mt_sq__exec(q, schema_sql, "open", err, errlen)
         : v == 1 ? mt_sq__exec(q, migrate_1_2_sql, "open", err, errlen)
                  : 0;
  if (!rc && v >= 1 && v <= 2)
    rc = mt_sq__exec(q, migrate_2_3_sql, "open", err,
                     errlen);
  if (!rc && v >= 1 && v <= 3)
    rc = mt_sq__exec(q, migrate_3_4_sql, "open", err, errlen);
  if (!rc && v >= 1 && v <= 4)
    rc = mt_sq__exec(q, migrate_4_5_sql, "open", err, errlen);
  if (!rc && v >= 1 && v <= 5)
    rc = mt_sq__exec(q, migrate_5_6_sql, "open", err, errlen);
  return mt_sq__tx_end(q, rc, "open", err, errlen);
}

static int set_pragmas(sq_store *q, const char *path, char *err,
                       size_t errlen)
{
  sqlite3_stmt *st;
  sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
  /* 8 KiB pages for a new file (no effect on an existing one): a resource
  ** row of up to about 2 KB then fits in its page of the WITHOUT ROWID
  ** tree, where 4 KiB pages send anything over about 1 KB to overflow
  ** pages (https://www.sqlite.org/fileformat2.html#b_tree_pages); a
  ** failure (out of memory) must not leave a new file with 4 KiB pages */
  int rc = mt_sq__exec(q, "PRAGMA page_size = 8192", "open", err, errlen);
  if (rc)
    return rc;
  rc = mt_sq__prepare(q, "PRAGMA journal_mode = WAL", &st, "open", err,
                      errlen);
  if (rc)
    return rc;
  int row = sqlite3_step(st) == SQLITE_ROW;
  int wal = row &&
            !sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal");
  if (!row) /* the step's own error (out of memory is MT_ENOMEM) */
    rc = mt_sq__db_fail(q, "open", err, errlen);
  sqlite3_finalize(st);
  if (rc)
    return rc;
  if (!wal)
    return mt_store__fail(err, errlen, MT_EIO, "open",
                          "%s: cannot switch to WAL journal mode", path);
  /* a 32 MiB page cache (SQLite's default is 2 MiB) and memory-mapped
  ** reads: the resource tree takes random inserts (UUID ids), and with the
  ** default cache each of them read pages back through the kernel */
  return mt_sq__exec(q, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                        " PRAGMA temp_store = MEMORY; PRAGMA cache_size ="
                        " -32768; PRAGMA mmap_size = 1073741824",
                     "open", err, errlen);
}

int mt_store__sqlite_open(const char *dir, mt_vault *vault, mt_store **out,
                          char *err, size_t errlen)
{
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return mt_store__fail(err, errlen, MT_EIO, "open", "%s: %s", dir,
                          strerror(errno));
  size_t n = strlen(dir) + sizeof "/medtwin.db";
  char *path = malloc(n);
  sq_store *q = calloc(1, sizeof *q);
  if (!path || !q) {
    free(path);
    free(q);
    return mt_store__fail(err, errlen, MT_ENOMEM, "open", "out of memory");
  }
  snprintf(path, n, "%s/medtwin.db", dir);
  q->base.ops = &sq_ops;
  int rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE |
                           SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) /* out of memory is MT_ENOMEM, not MT_EIO */
    rc = mt_store__fail(err, errlen, code_of(rc), "open", "%s: %s", path,
                        q->db ? sqlite3_errmsg(q->db) : "out of memory");
  if (!rc)
    rc = set_pragmas(q, path, err, errlen);
  if (!rc)
    rc = check_schema(q, path, err, errlen);
  if (!rc)
    rc = bind_vault(q, vault, dir, err, errlen);
  free(path);
  if (rc) {
    sqlite3_close(q->db);
    free(q);
    return rc;
  }
  *out = &q->base;
  return 0;
}

static void sq_close(mt_store *s)
{
  sq_store *q = (sq_store *)s;
  if (q->in_batch)
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
  for (int i = 0; i < HOT_MAX; i++)
    sqlite3_finalize(q->hot[i].st);
  sqlite3_close_v2(q->db);
  sodium_memzero(q->blind, sizeof q->blind);
  free(q);
}

/* ---- resources ---- */

/* The sealed JSON of the current row (column 5, owner in 6) into r->json. */
static int open_json(sq_store *q, sqlite3_stmt *st, mt_resource *r)
{
  const unsigned char *b = sqlite3_column_blob(st, 5);
  size_t n = (size_t)sqlite3_column_bytes(st, 5);
  char ad[512];
  if (n < MT_SEAL_OVERHEAD)
    return MT_EIO;
  if (!(r->json = malloc(n - MT_SEAL_OVERHEAD + 1)))
    return MT_ENOMEM;
  size_t adn = mt_sq__ad(ad, sizeof ad, "r", r->type, r->id, NULL,
                         r->version_id);
  int rc = mt_sq__open_sealed(q, (const char *)sqlite3_column_text(st, 6),
                              ad, adn, b, n, (unsigned char *)r->json,
                              "read", NULL, 0);
  if (rc) {
    free(r->json);
    r->json = NULL;
    return MT_EIO;
  }
  r->json[n - MT_SEAL_OVERHEAD] = '\0';
  return 0;
}

int mt_sq__read_row(sq_store *q, sqlite3_stmt *st, mt_resource *r)
{
  copy_key(r->type, st, 0);
  copy_key(r->id, st, 1);
  r->version_id = sqlite3_column_int64(st, 2);
  r->last_updated_ms = sqlite3_column_int64(st, 3);
  r->deleted = sqlite3_column_int(st, 4);
  r->json = NULL;
  int t = sqlite3_column_type(st, 5);
  if (t == SQLITE_BLOB)
    return q->vault ? open_json(q, st, r) : MT_EIO;
  if (t != SQLITE_NULL) {
    r->json = dup_text(st, 5);
    if (!r->json)
      return MT_ENOMEM;
  }
  return 0;
}

/* Current (version 0) or given version into *r; MT_ENOTFOUND if none. */
static int fetch(sq_store *q, const char *type, const char *id, int64_t v,
                 mt_resource *r, const char *op, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  static const char by_version[] =
    "SELECT " RES_COLS " FROM resource WHERE type = ?1 AND id = ?2 AND"
    " version_id = ?3";
  static const char current[] =
    "SELECT " RES_COLS " FROM resource WHERE type = ?1 AND id = ?2 ORDER BY"
    " version_id DESC LIMIT 1";
  int rc = mt_sq__prepare_hot(q, v ? by_version : current, &st, op, err,
                              errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  if (v)
    sqlite3_bind_int64(st, 3, v);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    if ((rc = mt_sq__read_row(q, st, r)) == MT_EIO)
      rc = mt_store__fail(err, errlen, MT_EIO, op, "%s/%s: its sealed text "
                          "does not open (its key is destroyed, or the row "
                          "was altered)", type, id);
  }
  else if (s == SQLITE_DONE && v)
    rc = mt_store__fail(err, errlen, MT_ENOTFOUND, op,
                        "%s/%s has no version %lld", type, id, (long long)v);
  else if (s == SQLITE_DONE)
    rc = mt_store__fail(err, errlen, MT_ENOTFOUND, op, "no %s/%s", type, id);
  else
    rc = mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  if (rc == MT_ENOMEM)
    mt_store__fail(err, errlen, rc, op, "out of memory");
  return rc;
}

static int insert_version(sq_store *q, const mt_resource *r,
                          const char *json, const char *owner,
                          const char *op, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  unsigned char *sealed = NULL;
  size_t n = json ? strlen(json) : 0;
  if (json && q->vault) {
    char ad[512];
    size_t adn = mt_sq__ad(ad, sizeof ad, "r", r->type, r->id, NULL,
                           r->version_id);
    if (!(sealed = malloc(n + MT_SEAL_OVERHEAD)))
      return mt_store__fail(err, errlen, MT_ENOMEM, op, "out of memory");
    int rc = mt_sq__seal(q, owner, ad, adn, json, n, sealed, op, err,
                         errlen);
    if (rc) {
      free(sealed);
      return rc;
    }
  }
  int rc = mt_sq__prepare_hot(q, "INSERT INTO resource(" RES_COLS ")"
                                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                              &st, op, err, errlen);
  if (rc) {
    free(sealed);
    return rc;
  }
  sqlite3_bind_text(st, 7, owner ? owner : "", -1, SQLITE_STATIC);
  if (sealed) {
    sqlite3_bind_blob64(st, 6, sealed, n + MT_SEAL_OVERHEAD, free);
    json = NULL;
  }
  sqlite3_bind_text(st, 1, r->type, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, r->version_id);
  sqlite3_bind_int64(st, 4, r->last_updated_ms);
  sqlite3_bind_int(st, 5, json || sealed ? 0 : 1);
  if (json)
    sqlite3_bind_text(st, 6, json, -1, SQLITE_STATIC);
  else if (!sealed)
    sqlite3_bind_null(st, 6);
  return mt_sq__step_done(q, st, op, err, errlen);
}

/* Run one kept statement with (type, id) as ?1, ?2. */
int mt_sq__exec_ref(sq_store *q, const char *sql, const char *type,
                    const char *id, const char *op, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, sql, &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  return mt_sq__step_done(q, st, op, err, errlen);
}

/* Keep the index in step with a new version: a live version has an entry
** (an empty one if it had none, else the previous version's until
** set_index replaces it); a delete marker has none. */
static int index_follow(sq_store *q, const char *type, const char *id,
                        const char *json, const char *op, char *err,
                        size_t errlen)
{
  if (json)
    return mt_sq__exec_ref(q, "INSERT OR IGNORE INTO res_index(type, id)"
                              " VALUES(?1, ?2)", type, id, op, err, errlen);
  int rc = mt_sq__exec_ref(q, "DELETE FROM res_code WHERE type = ?1 AND"
                              " id = ?2", type, id, op, err, errlen);
  return rc ? rc
            : mt_sq__exec_ref(q, "DELETE FROM res_index WHERE type = ?1 AND"
                                 " id = ?2", type, id, op, err, errlen);
}

/* Fill out as the new version and insert it. */
static int write_version(sq_store *q, const char *type, const char *id,
                         int64_t v, int64_t now, const char *json,
                         const char *owner, mt_resource *out, const char *op,
                         char *err, size_t errlen)
{
  memset(out, 0, sizeof *out);
  snprintf(out->type, sizeof out->type, "%s", type);
  snprintf(out->id, sizeof out->id, "%s", id);
  out->version_id = v;
  out->last_updated_ms = now;
  out->deleted = json ? 0 : 1;
  int rc = insert_version(q, out, json, owner, op, err, errlen);
  if (!rc)
    rc = index_follow(q, type, id, json, op, err, errlen);
  if (!rc && json && !(out->json = strdup(json)))
    rc = mt_store__fail(err, errlen, MT_ENOMEM, op, "out of memory");
  return rc;
}

static int sq_resource_create(mt_store *s, const char *type, const char *id,
                              const char *json, const char *owner,
                              int64_t now, mt_resource *out, char *err,
                              size_t errlen)
{
  sq_store *q = (sq_store *)s;
  mt_resource cur;
  memset(&cur, 0, sizeof cur);
  int rc = mt_sq__tx_begin(q, "create", err, errlen);
  if (rc)
    return rc;
  /* version 1 of an existing resource breaks the primary key: no read
  ** first */
  rc = write_version(q, type, id, 1, now, json, owner, out, "create", err,
                     errlen);
  if (rc == MT_ECONFLICT)
    rc = mt_store__fail(err, errlen, MT_ECONFLICT, "create",
                        "%s/%s already exists", type, id);
  mt_resource_clear(&cur);
  rc = mt_sq__tx_end(q, rc, "create", err, errlen);
  if (rc)
    mt_resource_clear(out);
  return rc;
}

static int sq_resource_read(mt_store *s, const char *type, const char *id,
                            int64_t v, mt_resource *out, char *err,
                            size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = v ? "vread" : "read";
  int rc = fetch(q, type, id, v, out, op, err, errlen);
  if (rc == 0 && v == 0 && out->deleted)
    return mt_store__fail(err, errlen, MT_ENOTFOUND, op,
                          "%s/%s was deleted (version %lld)", type, id,
                          (long long)out->version_id);
  if (rc)
    mt_resource_clear(out);
  return rc;
}

void *mt_sq__grow(void *arr, size_t *cap, size_t size, size_t first)
{
  size_t nc = *cap ? 2 * *cap : first;
  void *p = realloc(arr, nc * size);
  if (p)
    *cap = nc;
  return p;
}

/* The rows of a prepared statement as resources, appended to *list. */
static int collect(sq_store *q, sqlite3_stmt *st, mt_resource **list,
                   size_t *n)
{
  size_t cap = 0;
  int rc = 0, s_;
  while (!rc && (s_ = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      mt_resource *p = mt_sq__grow(*list, &cap, sizeof *p, 8);
      if (!p)
        return MT_ENOMEM;
      *list = p;
    }
    memset(&(*list)[*n], 0, sizeof **list);
    rc = mt_sq__read_row(q, st, &(*list)[(*n)++]);
  }
  return rc ? rc : s_ == SQLITE_DONE ? 0 : MT_EIO;
}

static int sq_resource_history(mt_store *s, const char *type, const char *id,
                               mt_resource **list, size_t *n, char *err,
                               size_t errlen)
{
  sq_store *q = (sq_store *)s;
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT " RES_COLS " FROM resource WHERE"
                             " type = ?1 AND id = ?2 ORDER BY version_id DESC",
                          &st, "history", err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  rc = collect(q, st, list, n);
  if (rc == MT_EIO)
    rc = mt_sq__db_fail(q, "history", err, errlen);
  sqlite3_finalize(st);
  if (rc == MT_ENOMEM)
    mt_store__fail(err, errlen, rc, "history", "out of memory");
  if (!rc && *n == 0)
    rc = mt_store__fail(err, errlen, MT_ENOTFOUND, "history", "no %s/%s",
                        type, id);
  if (rc) {
    mt_resource_list_free(*list, *n);
    *list = NULL;
    *n = 0;
  }
  return rc;
}

/* The current version of every resource of a type that is not deleted, by
** id. */
static int sq_resource_list(mt_store *s, const char *type, mt_resource **list,
                            size_t *n, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT " RES_COLS " FROM resource AS r WHERE"
                             " type = ?1 AND deleted = 0 AND version_id ="
                             " (SELECT max(version_id) FROM resource WHERE"
                             " type = r.type AND id = r.id) ORDER BY id",
                          &st, "list", err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
  rc = collect(q, st, list, n);
  if (rc == MT_EIO)
    rc = mt_sq__db_fail(q, "list", err, errlen);
  sqlite3_finalize(st);
  if (rc == MT_ENOMEM)
    mt_store__fail(err, errlen, rc, "list", "out of memory");
  if (rc) {
    mt_resource_list_free(*list, *n);
    *list = NULL;
    *n = 0;
  }
  return rc;
}

static int sq_resource_put(mt_store *s, const char *type, const char *id,
                           const char *json, const char *owner,
                           int64_t expected, int64_t now, mt_resource *out,
                           char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = json ? "update" : "delete";
  mt_resource cur;
  memset(&cur, 0, sizeof cur);
  int rc = mt_sq__tx_begin(q, op, err, errlen);
  if (rc)
    return rc;
  rc = fetch(q, type, id, 0, &cur, op, err, errlen);
  if (!rc && expected && cur.version_id != expected)
    rc = mt_store__fail(err, errlen, MT_ECONFLICT, op,
                        "%s/%s is at version %lld, not %lld", type, id,
                        (long long)cur.version_id, (long long)expected);
  if (!rc && !json && cur.deleted) {
    *out = cur; /* already deleted: nothing to write */
    memset(&cur, 0, sizeof cur);
  } else if (!rc)
    rc = write_version(q, type, id, cur.version_id + 1, now, json,
                       json ? owner : "", out, op, err, errlen);
  mt_resource_clear(&cur);
  rc = mt_sq__tx_end(q, rc, op, err, errlen);
  if (rc)
    mt_resource_clear(out);
  return rc;
}

/* ---- observations ---- */

static void bind_key(sqlite3_stmt *st, int i, const char *k)
{
  sqlite3_bind_text(st, i, k, -1, SQLITE_STATIC);
}

static int obs_seq(sq_store *q, const mt_obs *o, int64_t *seq, char *err,
                   size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "SELECT seq FROM observation WHERE"
                                 " patient = ?1 AND device = ?2 AND code = ?3"
                                 " AND t_ms = ?4",
                              &st, "append observation", err, errlen);
  if (rc)
    return rc;
  bind_key(st, 1, o->patient);
  bind_key(st, 2, o->device);
  bind_key(st, 3, o->code);
  sqlite3_bind_int64(st, 4, o->t_ms);
  if (sqlite3_step(st) == SQLITE_ROW)
    *seq = sqlite3_column_int64(st, 0);
  else
    rc = mt_sq__db_fail(q, "append observation", err, errlen);
  mt_sq__release(q, st);
  return rc;
}

static int sq_obs_append(mt_store *s, const mt_obs *o, int64_t now,
                         int64_t *seq, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "append observation";
  sqlite3_stmt *st;
  unsigned char sealed[8 + MT_SEAL_OVERHEAD];
  int rc = 0;
  if (q->vault) { /* the value, little-endian IEEE 754, sealed */
    unsigned char le[8];
    uint64_t u;
    char ad[512];
    memcpy(&u, &o->value, 8);
    for (int i = 0; i < 8; i++)
      le[i] = (unsigned char)(u >> (8 * i));
    size_t adn = mt_sq__ad(ad, sizeof ad, "o", o->patient, o->device,
                           o->code, o->t_ms);
    rc = mt_sq__seal(q, o->patient, ad, adn, le, 8, sealed, op, err, errlen);
    if (rc)
      return rc;
  }
  rc = mt_sq__tx_begin(q, op, err, errlen);
  if (!rc)
    rc = mt_sq__prepare_hot(q, "INSERT INTO observation(patient, device,"
                               " code, t_ms, value, unit, arrived_ms,"
                               " resource) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
                               " ?7, ?8) ON"
                               " CONFLICT(patient, device, code, t_ms) DO"
                               " NOTHING",
                            &st, op, err, errlen);
  if (!rc) {
    bind_key(st, 1, o->patient);
    bind_key(st, 2, o->device);
    bind_key(st, 3, o->code);
    sqlite3_bind_int64(st, 4, o->t_ms);
    if (q->vault)
      sqlite3_bind_blob(st, 5, sealed, sizeof sealed, SQLITE_STATIC);
    else
      sqlite3_bind_double(st, 5, o->value);
    bind_key(st, 6, o->unit);
    sqlite3_bind_int64(st, 7, now);
    sqlite3_bind_text(st, 8, o->resource, -1, SQLITE_STATIC);
    rc = mt_sq__step_done(q, st, op, err, errlen);
  }
  if (!rc && sqlite3_changes(q->db) == 0)
    rc = MT_STORE_DUPLICATE;
  if (rc == 0) /* a new row: its seq is the rowid just given */
    *seq = sqlite3_last_insert_rowid(q->db);
  else if (rc > 0) {
    int r2 = obs_seq(q, o, seq, err, errlen);
    if (r2)
      rc = r2;
  }
  return mt_sq__tx_end(q, rc, op, err, errlen);
}

#define OBS_COLS "patient, device, code, unit, t_ms, value, seq, resource"

/* The current row into *o: 0, or the failure of a sealed value. */
static int obs_row(sq_store *q, sqlite3_stmt *st, mt_obs *o,
                   const char *op, char *err, size_t errlen)
{
  copy_key(o->patient, st, 0);
  copy_key(o->device, st, 1);
  copy_key(o->code, st, 2);
  copy_key(o->unit, st, 3);
  o->t_ms = sqlite3_column_int64(st, 4);
  o->seq = sqlite3_column_int64(st, 6);
  copy_key(o->resource, st, 7);
  if (sqlite3_column_type(st, 5) != SQLITE_BLOB) {
    o->value = sqlite3_column_double(st, 5);
    return 0;
  }
  unsigned char le[8];
  char ad[512];
  size_t adn = mt_sq__ad(ad, sizeof ad, "o", o->patient, o->device, o->code,
                         o->t_ms);
  int n = sqlite3_column_bytes(st, 5);
  int rc = !q->vault || n != 8 + MT_SEAL_OVERHEAD
               ? mt_store__fail(err, errlen, MT_EIO, op, "observation %lld: "
                                "a sealed value in a store opened without "
                                "its key store", (long long)o->seq)
               : mt_sq__open_sealed(q, o->patient, ad, adn,
                                    sqlite3_column_blob(st, 5), (size_t)n,
                                    le, op, err, errlen);
  if (rc)
    return rc;
  uint64_t u = 0;
  for (int i = 0; i < 8; i++)
    u |= (uint64_t)le[i] << (8 * i);
  memcpy(&o->value, &u, 8);
  return 0;
}

static int obs_rows(sq_store *q, sqlite3_stmt *st, const char *op,
                    mt_obs **out, size_t *n, char *err, size_t errlen);

static int sq_obs_query(mt_store *s, const char *patient, const char *code,
                        int64_t from, int64_t to, mt_obs **out, size_t *n,
                        char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "query observations";
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT " OBS_COLS " FROM observation WHERE"
                             " patient = ?1 AND code = ?2 AND t_ms >= ?3 AND"
                             " t_ms < ?4 ORDER BY t_ms, seq",
                          &st, op, err, errlen);
  if (rc)
    return rc;
  bind_key(st, 1, patient);
  bind_key(st, 2, code);
  sqlite3_bind_int64(st, 3, from);
  sqlite3_bind_int64(st, 4, to);
  return obs_rows(q, st, op, out, n, err, errlen);
}

/* The rows of a statement selecting OBS_COLS into *out, *n; finalizes. */
static int obs_rows(sq_store *q, sqlite3_stmt *st, const char *op,
                    mt_obs **out, size_t *n, char *err, size_t errlen)
{
  int rc = 0;
  size_t cap = 0;
  int s_;
  while ((s_ = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      mt_obs *p = mt_sq__grow(*out, &cap, sizeof *p, 64);
      if (!p) {
        rc = mt_store__fail(err, errlen, MT_ENOMEM, op, "out of memory");
        break;
      }
      *out = p;
    }
    if ((rc = obs_row(q, st, &(*out)[(*n)++], op, err, errlen)))
      break;
  }
  if (!rc && s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, op, err, errlen);
  sqlite3_finalize(st);
  if (rc) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

static int sq_obs_since(mt_store *s, const char *patient, int64_t after,
                        mt_obs **out, size_t *n, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "observations since";
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT " OBS_COLS " FROM observation WHERE"
                             " patient = ?1 AND seq > ?2 ORDER BY seq",
                          &st, op, err, errlen);
  if (rc)
    return rc;
  bind_key(st, 1, patient);
  sqlite3_bind_int64(st, 2, after);
  return obs_rows(q, st, op, out, n, err, errlen);
}

static int sq_obs_get(mt_store *s, int64_t seq, mt_obs *out, char *err,
                      size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "get observation";
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "SELECT " OBS_COLS " FROM observation"
                                 " WHERE seq = ?1",
                              &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, seq);
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW)
    rc = obs_row(q, st, out, op, err, errlen);
  else if (s_ == SQLITE_DONE)
    rc = mt_store__fail(err, errlen, MT_ENOTFOUND, op,
                        "no observation %lld", (long long)seq);
  else
    rc = mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  return rc;
}

/* ---- sealed blobs (snapshots, alert and quarantine payloads) ---- */

/* in (n bytes) sealed for patient's row ad into a malloc'd *out of *outn
** bytes; or in itself (*out NULL) without a vault. */
static int seal_copy(sq_store *q, const char *patient, const char *ad,
                     size_t adn, const void *in, size_t n,
                     unsigned char **out, size_t *outn, const char *op,
                     char *err, size_t errlen)
{
  *out = NULL;
  *outn = n;
  if (!q->vault)
    return 0;
  if (!(*out = malloc(n + MT_SEAL_OVERHEAD)))
    return mt_store__fail(err, errlen, MT_ENOMEM, op, "out of memory");
  int rc = mt_sq__seal(q, patient, ad, adn, in, n, *out, op, err, errlen);
  if (rc) {
    free(*out);
    *out = NULL;
  }
  *outn = n + MT_SEAL_OVERHEAD;
  return rc;
}

/* Column c of the current row into a malloc'd *out (*outn bytes, and a
** NUL after them): opened for patient's row ad when it is sealed. */
static int open_copy(sq_store *q, sqlite3_stmt *st, int c,
                     const char *patient, const char *ad, size_t adn,
                     unsigned char **out, size_t *outn, const char *op,
                     char *err, size_t errlen)
{
  int blob = sqlite3_column_type(st, c) == SQLITE_BLOB;
  const void *b = blob ? sqlite3_column_blob(st, c)
                       : (const void *)sqlite3_column_text(st, c);
  size_t n = (size_t)sqlite3_column_bytes(st, c);
  int sealed = q->vault && blob;
  if (sealed && n < MT_SEAL_OVERHEAD)
    return mt_store__fail(err, errlen, MT_EIO, op, "a sealed field of "
                          "patient %s is cut short", patient);
  size_t m = sealed ? n - MT_SEAL_OVERHEAD : n;
  if (!(*out = malloc(m + 1)))
    return mt_store__fail(err, errlen, MT_ENOMEM, op, "out of memory");
  int rc = 0;
  if (sealed)
    rc = mt_sq__open_sealed(q, patient, ad, adn, b, n, *out, op, err,
                            errlen);
  else if (n)
    memcpy(*out, b, n);
  if (rc) {
    free(*out);
    *out = NULL;
    return rc;
  }
  (*out)[m] = 0;
  *outn = m;
  return 0;
}

/* ---- snapshots ---- */

static int sq_snapshot_keys(mt_store *s, mt_store_twin_key **out, size_t *n,
                            char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "snapshot keys";
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT DISTINCT patient, model FROM snapshot"
                             " ORDER BY patient, model",
                          &st, op, err, errlen);
  if (rc)
    return rc;
  size_t cap = 0;
  int s_;
  while ((s_ = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      mt_store_twin_key *p = mt_sq__grow(*out, &cap, sizeof *p, 16);
      if (!p) {
        rc = mt_store__fail(err, errlen, MT_ENOMEM, op, "out of memory");
        break;
      }
      *out = p;
    }
    copy_key((*out)[*n].patient, st, 0);
    copy_key((*out)[*n].model, st, 1);
    (*n)++;
  }
  if (!rc && s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, op, err, errlen);
  sqlite3_finalize(st);
  if (rc) {
    free(*out);
    *out = NULL, *n = 0;
  }
  return rc;
}

static int sq_snapshot_prune(mt_store *s, const char *patient,
                             const char *model, int keep, char *err,
                             size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "prune snapshots";
  sqlite3_stmt *st;
  int rc = mt_sq__tx_begin(q, op, err, errlen);
  if (!rc)
    rc = mt_sq__prepare_hot(q, "DELETE FROM snapshot WHERE patient = ?1 AND"
                               " model = ?2 AND seq NOT IN (SELECT seq FROM"
                               " snapshot WHERE patient = ?1 AND model = ?2"
                               " ORDER BY taken_at DESC, seq DESC LIMIT ?3)",
                            &st, op, err, errlen);
  if (!rc) {
    bind_key(st, 1, patient);
    bind_key(st, 2, model);
    sqlite3_bind_int(st, 3, keep);
    rc = mt_sq__step_done(q, st, op, err, errlen);
  }
  return mt_sq__tx_end(q, rc, op, err, errlen);
}

static int sq_snapshot_put(mt_store *s, const char *patient,
                           const char *model, int64_t taken_at,
                           const void *blob, size_t len, char *err,
                           size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "put snapshot";
  sqlite3_stmt *st;
  char ad[512];
  unsigned char *sealed;
  size_t adn = mt_sq__ad(ad, sizeof ad, "s", patient, model, NULL, taken_at);
  int rc = seal_copy(q, patient, ad, adn, len ? blob : "", len, &sealed,
                     &len, op, err, errlen);
  if (rc)
    return rc;
  if (sealed)
    blob = sealed;
  rc = mt_sq__tx_begin(q, op, err, errlen);
  if (!rc)
    rc = mt_sq__prepare(q, "INSERT INTO snapshot(patient, model, taken_at,"
                           " blob) VALUES(?1, ?2, ?3, ?4)",
                        &st, op, err, errlen);
  if (!rc) {
    bind_key(st, 1, patient);
    bind_key(st, 2, model);
    sqlite3_bind_int64(st, 3, taken_at);
    sqlite3_bind_blob64(st, 4, len ? blob : "", (sqlite3_uint64)len,
                        SQLITE_STATIC);
    rc = mt_sq__step_done(q, st, op, err, errlen);
  }
  free(sealed);
  return mt_sq__tx_end(q, rc, op, err, errlen);
}

static int sq_snapshot_latest(mt_store *s, const char *patient,
                              const char *model, int64_t *taken_at,
                              void **blob, size_t *len, char *err,
                              size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "latest snapshot";
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT taken_at, blob FROM snapshot WHERE"
                             " patient = ?1 AND model = ?2 ORDER BY taken_at"
                             " DESC, seq DESC LIMIT 1",
                          &st, op, err, errlen);
  if (rc)
    return rc;
  bind_key(st, 1, patient);
  bind_key(st, 2, model);
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW) {
    *taken_at = sqlite3_column_int64(st, 0);
    char ad[512];
    unsigned char *b = NULL;
    size_t adn = mt_sq__ad(ad, sizeof ad, "s", patient, model, NULL,
                           *taken_at);
    rc = open_copy(q, st, 1, patient, ad, adn, &b, len, op, err, errlen);
    *blob = b;
  } else if (s_ == SQLITE_DONE)
    rc = mt_store__fail(err, errlen, MT_ENOTFOUND, op,
                        "no snapshot of patient %s, model %s", patient,
                        model);
  else
    rc = mt_sq__db_fail(q, op, err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* ---- alerts and quarantine ---- */

static int sq_event_add(mt_store *s, mt_store_log log, const char *patient,
                        int64_t t_ms, const char *kind, const char *payload,
                        int64_t now, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = log == MT_STORE_ALERT ? "add alert" : "add quarantine";
  sqlite3_stmt *st;
  char ad[512];
  unsigned char *sealed;
  size_t len, adn = mt_sq__ad(ad, sizeof ad,
                              log == MT_STORE_ALERT ? "a" : "q", patient,
                              kind, NULL, t_ms);
  int rc = seal_copy(q, patient, ad, adn, payload, strlen(payload), &sealed,
                     &len, op, err, errlen);
  if (rc)
    return rc;
  rc = mt_sq__tx_begin(q, op, err, errlen);
  if (!rc)
    rc = mt_sq__prepare(q, log == MT_STORE_ALERT
                             ? "INSERT INTO alert(patient, t_ms, kind,"
                               " payload, arrived_ms) VALUES(?1, ?2, ?3, ?4,"
                               " ?5)"
                             : "INSERT INTO quarantine(patient, t_ms, kind,"
                               " payload, arrived_ms) VALUES(?1, ?2, ?3, ?4,"
                               " ?5)",
                        &st, op, err, errlen);
  if (!rc) {
    bind_key(st, 1, patient);
    sqlite3_bind_int64(st, 2, t_ms);
    bind_key(st, 3, kind);
    if (sealed)
      sqlite3_bind_blob64(st, 4, sealed, len, SQLITE_STATIC);
    else
      sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    rc = mt_sq__step_done(q, st, op, err, errlen);
  }
  free(sealed);
  return mt_sq__tx_end(q, rc, op, err, errlen);
}

static int sq_event_list(mt_store *s, mt_store_log log, const char *patient,
                         int64_t from, int64_t to, mt_store_event **out,
                         size_t *n, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = log == MT_STORE_ALERT ? "list alerts" : "list quarantine";
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, log == MT_STORE_ALERT
                               ? "SELECT patient, t_ms, kind, payload, seq"
                                 " FROM alert WHERE patient = ?1 AND"
                                 " t_ms >= ?2 AND t_ms < ?3 ORDER BY t_ms,"
                                 " seq"
                               : "SELECT patient, t_ms, kind, payload, seq"
                                 " FROM quarantine WHERE patient = ?1 AND"
                                 " t_ms >= ?2 AND t_ms < ?3 ORDER BY t_ms,"
                                 " seq",
                          &st, op, err, errlen);
  if (rc)
    return rc;
  bind_key(st, 1, patient);
  sqlite3_bind_int64(st, 2, from);
  sqlite3_bind_int64(st, 3, to);
  size_t cap = 0;
  int s_;
  while ((s_ = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      mt_store_event *p = mt_sq__grow(*out, &cap, sizeof *p, 16);
      if (!p) {
        rc = mt_store__fail(err, errlen, MT_ENOMEM, op, "out of memory");
        break;
      }
      *out = p;
    }
    mt_store_event *e = &(*out)[(*n)++];
    copy_key(e->patient, st, 0);
    e->t_ms = sqlite3_column_int64(st, 1);
    copy_key(e->kind, st, 2);
    e->seq = sqlite3_column_int64(st, 4);
    char ad[512];
    unsigned char *pl = NULL;
    size_t pn, adn = mt_sq__ad(ad, sizeof ad,
                               log == MT_STORE_ALERT ? "a" : "q", e->patient,
                               e->kind, NULL, e->t_ms);
    rc = open_copy(q, st, 3, e->patient, ad, adn, &pl, &pn, op, err,
                   errlen);
    e->payload = (char *)pl;
    if (rc)
      break;
  }
  if (!rc && s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, op, err, errlen);
  sqlite3_finalize(st);
  if (rc) {
    mt_store_event_list_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

/* ---- batches ---- */

static int sq_begin(mt_store *s, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  if (q->in_batch)
    return mt_store__fail(err, errlen, MT_EINVAL, "begin",
                          "a batch is already open");
  int rc = mt_sq__exec(q, "BEGIN IMMEDIATE", "begin", err, errlen);
  if (!rc)
    q->in_batch = 1;
  return rc;
}

static int sq_commit(mt_store *s, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  if (!q->in_batch)
    return mt_store__fail(err, errlen, MT_EINVAL, "commit", "no open batch");
  int rc = mt_sq__exec(q, "COMMIT", "commit", err, errlen);
  if (rc && !sqlite3_get_autocommit(q->db))
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
  q->in_batch = q->in_unit = 0;
  return rc;
}

static int sq_savepoint(mt_store *s, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  if (!q->in_batch || q->in_unit)
    return mt_store__fail(err, errlen, MT_EINVAL, "savepoint",
                          q->in_batch ? "a unit is already open"
                                      : "no open batch");
  int rc = mt_sq__exec(q, "SAVEPOINT unit", "savepoint", err, errlen);
  if (!rc)
    q->in_unit = 1;
  return rc;
}

static int sq_savepoint_end(mt_store *s, int keep, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  if (!q->in_unit)
    return mt_store__fail(err, errlen, MT_EINVAL, "savepoint",
                          "no open unit");
  q->in_unit = 0;
  if (sqlite3_get_autocommit(q->db)) /* SQLite ended the transaction */
    return mt_store__fail(err, errlen, MT_EIO, "savepoint",
                          "the batch was rolled back by an error");
  if (keep)
    return mt_sq__exec(q, "RELEASE unit", "savepoint", err, errlen);
  return mt_sq__exec(q, "ROLLBACK TO unit; RELEASE unit", "savepoint", err,
                     errlen);
}

static int sq_rollback(mt_store *s, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  if (!q->in_batch)
    return mt_store__fail(err, errlen, MT_EINVAL, "rollback",
                          "no open batch");
  q->in_batch = q->in_unit = 0;
  if (sqlite3_get_autocommit(q->db))
    return 0; /* SQLite already rolled back after an error */
  return mt_sq__exec(q, "ROLLBACK", "rollback", err, errlen);
}

/* ---- checkpoints ---- */

static int sq_set_autocheckpoint(mt_store *s, int pages, char *err,
                                 size_t errlen)
{
  sq_store *q = (sq_store *)s;
  if (sqlite3_wal_autocheckpoint(q->db, pages) != SQLITE_OK)
    return mt_sq__db_fail(q, "checkpoint", err, errlen);
  return 0;
}

/* ---- backup ---- */

static int sq_backup(mt_store *s, const char *path, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  size_t n = strlen(path) + sizeof ".part";
  char *part = malloc(n);
  if (!part)
    return mt_store__fail(err, errlen, MT_ENOMEM, "backup", "out of memory");
  snprintf(part, n, "%s.part", path);
  unlink(part);
  sqlite3 *dst = NULL;
  int rc = 0;
  if (sqlite3_open_v2(part, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK)
    rc = mt_store__fail(err, errlen, MT_EIO, "backup", "%s: %s", part,
                        dst ? sqlite3_errmsg(dst) : "out of memory");
  if (!rc)
    sqlite3_exec(dst, "PRAGMA journal_mode = DELETE; PRAGMA synchronous ="
                      " FULL", NULL, NULL, NULL);
  sqlite3_backup *b = rc ? NULL : sqlite3_backup_init(dst, "main", q->db,
                                                      "main");
  if (!rc && !b)
    rc = mt_store__fail(err, errlen, MT_EIO, "backup", "%s: %s", part,
                        sqlite3_errmsg(dst));
  if (b) {
    int s_ = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (s_ != SQLITE_DONE)
      rc = mt_store__fail(err, errlen, code_of(s_), "backup", "%s: %s", part,
                          sqlite3_errstr(s_));
  }
  if (dst && sqlite3_close(dst) != SQLITE_OK && !rc)
    rc = mt_store__fail(err, errlen, MT_EIO, "backup", "%s: cannot close",
                        part);
  if (!rc && rename(part, path) != 0)
    rc = mt_store__fail(err, errlen, MT_EIO, "backup", "%s: %s", path,
                        strerror(errno));
  if (rc)
    unlink(part);
  free(part);
  return rc;
}

/* ---- erasure ---- */

/* Run sql with ?1 = patient; the rows it changed into *n. */
static int erase_rows(sq_store *q, const char *sql, const char *patient,
                      long *n, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, sql, &st, "erase", err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  rc = mt_sq__step_done(q, st, "erase", err, errlen);
  if (!rc && n)
    *n += sqlite3_changes(q->db);
  return rc;
}

/* Copy the log into the database and cut it to 0 bytes, waiting up to
** about 5 s for readers of older snapshots to finish. 1 when done. */
static int truncate_wal(sq_store *q)
{
  for (int i = 0; i < 100; i++) {
    int log = -1, done = -1;
    if (sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                  &log, &done) == SQLITE_OK)
      return 1;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

static int sq_patient_erase(mt_store *s, const char *patient,
                            mt_store_erased *out, char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "erase";
  if (q->in_batch)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "not inside a batch");
  if (q->vault) { /* first the key: from here on nothing of it opens */
    char e[256];
    int k = mt_vault_destroy(q->vault, patient, e, sizeof e);
    if (k && k != MT_ENOTFOUND)
      return mt_store__fail(err, errlen, k, op, "%s", e);
    out->key_destroyed = k == 0;
  }
  int rc = mt_sq__exec(q, "PRAGMA secure_delete = ON; BEGIN IMMEDIATE;"
                          " CREATE TEMP TABLE IF NOT EXISTS erase_set(type"
                          " TEXT, id TEXT, PRIMARY KEY(type, id));"
                          " DELETE FROM erase_set", op, err, errlen);
  if (rc)
    return rc;
  /* every resource that ever belonged to the patient, or now does */
  static const char *const set[] = {
    "INSERT OR IGNORE INTO erase_set SELECT type, id FROM resource WHERE"
    " owner = ?1",
    "INSERT OR IGNORE INTO erase_set SELECT type, id FROM res_index WHERE"
    " patient = ?1",
    "INSERT OR IGNORE INTO erase_set VALUES('Patient', ?1)"};
  for (size_t i = 0; !rc && i < sizeof set / sizeof *set; i++)
    rc = erase_rows(q, set[i], patient, NULL, err, errlen);
  struct {
    const char *sql;
    long *n;
  } del[] = {
    {"DELETE FROM resource WHERE (type, id) IN (SELECT type, id FROM"
     " erase_set) AND ?1 IS NOT NULL", &out->resources},
    {"DELETE FROM res_code WHERE patient = ?1 OR (type, id) IN (SELECT"
     " type, id FROM erase_set)", NULL},
    {"DELETE FROM res_index WHERE patient = ?1 OR (type, id) IN (SELECT"
     " type, id FROM erase_set)", NULL},
    {"DELETE FROM observation WHERE patient = ?1", &out->observations},
    {"DELETE FROM snapshot WHERE patient = ?1", &out->snapshots},
    {"DELETE FROM alert WHERE patient = ?1", &out->alerts},
    {"DELETE FROM quarantine WHERE patient = ?1", &out->quarantined},
    {"DELETE FROM careteam WHERE patient = ?1 OR who IN (SELECT id FROM"
     " auth_user WHERE patient = ?1) OR who IN (SELECT id FROM auth_token"
     " WHERE patient = ?1)", &out->careteam},
    {"DELETE FROM auth_token WHERE patient = ?1 OR user_id IN (SELECT id"
     " FROM auth_user WHERE patient = ?1)", &out->tokens},
    {"DELETE FROM auth_user WHERE patient = ?1", &out->users},
    {"DELETE FROM consent WHERE patient = ?1", &out->consents},
    {"DELETE FROM erase_set WHERE ?1 IS NOT NULL", NULL}};
  for (size_t i = 0; !rc && i < sizeof del / sizeof *del; i++)
    rc = erase_rows(q, del[i].sql, patient, del[i].n, err, errlen);
  if (!rc)
    rc = mt_sq__exec(q, "COMMIT", op, err, errlen);
  if (rc) {
    if (!sqlite3_get_autocommit(q->db))
      sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
  }
  out->wal_truncated = truncate_wal(q);
  return 0;
}

static const mt_store_ops sq_ops = {
  .version = 6,
  .name = "sqlite",
  .close = sq_close,
  .resource_create = sq_resource_create,
  .resource_read = sq_resource_read,
  .resource_history = sq_resource_history,
  .resource_put = sq_resource_put,
  .obs_append = sq_obs_append,
  .obs_query = sq_obs_query,
  .snapshot_put = sq_snapshot_put,
  .snapshot_latest = sq_snapshot_latest,
  .event_add = sq_event_add,
  .event_list = sq_event_list,
  .begin = sq_begin,
  .commit = sq_commit,
  .rollback = sq_rollback,
  .backup = sq_backup,
  .resource_list = sq_resource_list,
  .obs_since = sq_obs_since,
  .obs_get = sq_obs_get,
  .snapshot_keys = sq_snapshot_keys,
  .snapshot_prune = sq_snapshot_prune,
  .savepoint = sq_savepoint,
  .savepoint_end = sq_savepoint_end,
  .set_autocheckpoint = sq_set_autocheckpoint,
  .resource_set_index = mt_sq__resource_set_index,
  .resource_search = mt_sq__resource_search,
  .patient_resources = mt_sq__patient_resources,
  .patient_erase = sq_patient_erase,
};
