/*
** The audit trail of the SQLite store (include/medtwin/audit.h): records
** chained by BLAKE2b-256 (libsodium crypto_generichash, RFC 7693) and
** checkpoints of the chain head signed with Ed25519 (libsodium crypto_sign,
** RFC 8032), for HIPAA 45 CFR 164.312(b) and (c)(1). Called directly, not
** through the operations table: SQLite is the only back end so far.
** Encoding, checks and limits: docs/audit.md.
*/
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "medtwin/audit.h"
#include "medtwin/error.h"
#include "store/sqlite_int.h"

#define HASH MT_AUDIT_HASH_BYTES

/* The prev of record 1. */
static const unsigned char genesis[HASH] = {0};

static const char record_tag[] = "medtwin.audit.record.v1";
static const char checkpoint_tag[] = "medtwin.audit.checkpoint.v1";

/* ---- encoding ---- */

static void put_u64(unsigned char b[8], uint64_t v)
{
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(v >> (56 - 8 * i));
}

static void h_int(crypto_generichash_state *h, int64_t v)
{
  unsigned char b[8];
  put_u64(b, (uint64_t)v);
  crypto_generichash_update(h, b, 8);
}

/* A field: its length (8 bytes, big-endian), then its bytes. */
static void h_bytes(crypto_generichash_state *h, const void *p, size_t n)
{
  h_int(h, (int64_t)n);
  if (n)
    crypto_generichash_update(h, p, n);
}

static void h_str(crypto_generichash_state *h, const char *s)
{
  h_bytes(h, s, strlen(s));
}

void mt_audit_hash(const mt_audit_record *r, int64_t seq,
                   const unsigned char prev[HASH], unsigned char out[HASH])
{
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, HASH);
  h_str(&h, record_tag);
  h_int(&h, seq);
  h_int(&h, r->t_ms);
  h_str(&h, r->actor);
  h_str(&h, r->action);
  h_str(&h, r->resource);
  h_str(&h, r->purpose);
  h_int(&h, r->outcome);
  h_bytes(&h, prev, HASH);
  crypto_generichash_final(&h, out, HASH);
}

/* What a checkpoint signs: tag, seq, head, time, length-prefixed. */
static size_t checkpoint_msg(unsigned char *m, int64_t seq,
                             const unsigned char head[HASH], int64_t t_ms)
{
  size_t n = 0, tl = sizeof checkpoint_tag - 1;
  put_u64(m + n, tl), n += 8;
  memcpy(m + n, checkpoint_tag, tl), n += tl;
  put_u64(m + n, (uint64_t)seq), n += 8;
  put_u64(m + n, HASH), n += 8;
  memcpy(m + n, head, HASH), n += HASH;
  put_u64(m + n, (uint64_t)t_ms), n += 8;
  return n;
}
#define MSG_MAX (sizeof checkpoint_tag + 8 * 4 + HASH)

/* ---- checks ---- */

static int text_ok(const char *k, size_t max)
{
  if (!k || !*k)
    return 0;
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)k; *p; p++, n++)
    if (*p < 0x20 || *p == 0x7f || n >= max)
      return 0;
  return 1;
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The SQLite handle behind s, or NULL (with err) for another back end. */
static sq_store *sq_of(mt_store *s, const char *op, char *err, size_t errlen)
{
  if (!s) {
    mt_store__fail(err, errlen, MT_EINVAL, op, "no store");
    return NULL;
  }
  if (strcmp(mt_store_kind(s), "sqlite")) {
    mt_store__fail(err, errlen, MT_EINVAL, op, "not a SQLite store");
    return NULL;
  }
  return (sq_store *)s;
}

/* ---- append ---- */

/* The last record's (seq, hash): (0, genesis) for an empty chain. */
static int chain_head(sq_store *q, int64_t *seq, unsigned char head[HASH],
                      const char *op, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "SELECT seq, hash FROM audit ORDER BY seq"
                                 " DESC LIMIT 1", &st, op, err, errlen);
  if (rc)
    return rc;
  *seq = 0;
  memcpy(head, genesis, HASH);
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW) {
    *seq = sqlite3_column_int64(st, 0);
    if (sqlite3_column_bytes(st, 1) != HASH)
      rc = mt_store__fail(err, errlen, MT_EIO, op, "record %lld has no valid"
                          " hash (run medtwin audit verify)",
                          (long long)*seq);
    else
      memcpy(head, sqlite3_column_blob(st, 1), HASH);
  }
  else if (s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  return rc;
}

static int insert_record(sq_store *q, const mt_audit_record *r, int64_t seq,
                         const unsigned char prev[HASH], char *err,
                         size_t errlen)
{
  unsigned char h[HASH];
  mt_audit_hash(r, seq, prev, h);
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "INSERT INTO audit(seq, t_ms, actor, action,"
                                 " resource, purpose, outcome, prev, hash)"
                                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                              &st, "audit append", err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, seq);
  sqlite3_bind_int64(st, 2, r->t_ms);
  sqlite3_bind_text(st, 3, r->actor, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, r->action, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, r->resource, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, r->purpose, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, r->outcome);
  sqlite3_bind_blob(st, 8, prev, HASH, SQLITE_STATIC);
  sqlite3_bind_blob(st, 9, h, HASH, SQLITE_STATIC);
  return mt_sq__step_done(q, st, "audit append", err, errlen);
}

/*
** In an encrypted store a record names a patient by pseudonym, "Patient/~"
** and 24 hex digits of BLAKE2b keyed with the patient's own data key (the
** store's blind index key when the patient has none), so that destroying
** the key at erasure destroys the only link from the trail to the patient.
** res with its patient id so replaced into buf, or res itself.
*/
static const char *pseudonymous(sq_store *q, const char *res, char *buf,
                                size_t cap)
{
  if (!q->vault || strncmp(res, "Patient/", 8) || res[8] == '~')
    return res;
  const char *id = res + 8;
  size_t n = strcspn(id, "/?");
  if (n == 0 || n > MT_STORE_KEY_MAX)
    return res;
  char pid[MT_STORE_KEY_MAX + 1];
  unsigned char key[MT_VAULT_KEY_BYTES], h[12];
  char hex[2 * sizeof h + 1];
  memcpy(pid, id, n);
  pid[n] = '\0';
  int own = mt_vault_key(q->vault, pid, 0, key, NULL, 0) == 0;
  crypto_generichash(h, sizeof h, (const unsigned char *)pid, n,
                     own ? key : q->blind, sizeof key);
  sodium_memzero(key, sizeof key);
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  snprintf(buf, cap, "Patient/~%s%s", hex, id + n);
  return buf;
}

int mt_store_audit_append(mt_store *s, const mt_audit_record *r,
                          int64_t *seq, char *err, size_t errlen)
{
  char pseudo[MT_AUDIT_RESOURCE_MAX + 1];
  const char *op = "audit append";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  if (!r || !text_ok(r->actor, MT_STORE_KEY_MAX) ||
      !text_ok(r->action, MT_STORE_KEY_MAX) ||
      !text_ok(r->purpose, MT_STORE_KEY_MAX) ||
      !text_ok(r->resource, MT_AUDIT_RESOURCE_MAX))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "actor, action and "
                          "purpose must be 1-%d bytes and resource 1-%d, "
                          "without control characters", MT_STORE_KEY_MAX,
                          MT_AUDIT_RESOURCE_MAX);
  mt_audit_record rec = *r;
  rec.resource = pseudonymous(q, r->resource, pseudo, sizeof pseudo);
  if (rec.t_ms <= 0)
    rec.t_ms = now_ms();
  int rc = mt_sq__tx_begin(q, op, err, errlen);
  if (rc)
    return rc;
  int64_t last;
  unsigned char prev[HASH];
  rc = chain_head(q, &last, prev, op, err, errlen);
  if (!rc)
    rc = insert_record(q, &rec, last + 1, prev, err, errlen);
  rc = mt_sq__tx_end(q, rc, op, err, errlen);
  if (!rc && seq)
    *seq = last + 1;
  return rc;
}

/* ---- keys and checkpoints ---- */

/* The stored public key into pk: 1, 0 if none, or an error. */
static int stored_key(sq_store *q, unsigned char pk[MT_AUDIT_PK_BYTES],
                      const char *op, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT public_key FROM audit_key WHERE id = 1",
                          &st, op, err, errlen);
  if (rc)
    return rc;
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) == MT_AUDIT_PK_BYTES) {
      memcpy(pk, sqlite3_column_blob(st, 0), MT_AUDIT_PK_BYTES);
      rc = 1;
    }
    else
      rc = mt_store__fail(err, errlen, MT_EIO, op, "the stored public key "
                          "is not %d bytes", MT_AUDIT_PK_BYTES);
  }
  else if (s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, op, err, errlen);
  sqlite3_finalize(st);
  return rc;
}

int mt_store_audit_set_key(mt_store *s,
                           const unsigned char pk[MT_AUDIT_PK_BYTES],
                           char *err, size_t errlen)
{
  const char *op = "audit key";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q || !pk)
    return q ? mt_store__fail(err, errlen, MT_EINVAL, op, "no key")
             : MT_EINVAL;
  int rc = mt_sq__tx_begin(q, op, err, errlen);
  if (rc)
    return rc;
  unsigned char old[MT_AUDIT_PK_BYTES];
  rc = stored_key(q, old, op, err, errlen);
  if (rc == 1)
    rc = mt_store__fail(err, errlen, MT_ECONFLICT, op, "the store has an "
                        "audit key already; it is never replaced");
  sqlite3_stmt *st = NULL;
  if (!rc)
    rc = mt_sq__prepare(q, "INSERT INTO audit_key(id, public_key,"
                           " created_ms) VALUES(1, ?1, ?2)", &st, op, err,
                        errlen);
  if (!rc) {
    sqlite3_bind_blob(st, 1, pk, MT_AUDIT_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms());
    rc = mt_sq__step_done(q, st, op, err, errlen);
  }
  return mt_sq__tx_end(q, rc, op, err, errlen);
}

static int insert_checkpoint(sq_store *q, int64_t seq,
                             const unsigned char head[HASH],
                             const unsigned char sk[MT_AUDIT_SK_BYTES],
                             char *err, size_t errlen)
{
  int64_t t = now_ms();
  unsigned char m[MSG_MAX], sig[MT_AUDIT_SIG_BYTES];
  size_t n = checkpoint_msg(m, seq, head, t);
  crypto_sign_detached(sig, NULL, m, n, sk);
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "INSERT INTO audit_checkpoint(seq, head, t_ms,"
                             " sig) VALUES(?1, ?2, ?3, ?4)", &st,
                          "audit checkpoint", err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, seq);
  sqlite3_bind_blob(st, 2, head, HASH, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, t);
  sqlite3_bind_blob(st, 4, sig, sizeof sig, SQLITE_STATIC);
  return mt_sq__step_done(q, st, "audit checkpoint", err, errlen);
}

int mt_store_audit_checkpoint(mt_store *s,
                              const unsigned char sk[MT_AUDIT_SK_BYTES],
                              int64_t *seq, char *err, size_t errlen)
{
  const char *op = "audit checkpoint";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q || !sk)
    return q ? mt_store__fail(err, errlen, MT_EINVAL, op, "no key")
             : MT_EINVAL;
  unsigned char pk[MT_AUDIT_PK_BYTES], mine[MT_AUDIT_PK_BYTES];
  crypto_sign_ed25519_sk_to_pk(mine, sk);
  int rc = mt_sq__tx_begin(q, op, err, errlen);
  if (rc)
    return rc;
  rc = stored_key(q, pk, op, err, errlen);
  if (rc == 0)
    rc = mt_store__fail(err, errlen, MT_ENOTFOUND, op, "the store has no "
                        "audit key (medtwin audit keygen)");
  else if (rc == 1)
    rc = sodium_memcmp(pk, mine, sizeof pk)
             ? mt_store__fail(err, errlen, MT_EDENIED, op, "the secret key "
                              "does not belong to the store's public key")
             : 0;
  int64_t last = 0;
  unsigned char head[HASH];
  if (!rc)
    rc = chain_head(q, &last, head, op, err, errlen);
  if (!rc)
    rc = insert_checkpoint(q, last, head, sk, err, errlen);
  rc = mt_sq__tx_end(q, rc, op, err, errlen);
  if (!rc && seq)
    *seq = last;
  return rc;
}

/* ---- verify ---- */

static int bad(mt_audit_report *rep, int64_t seq, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

static int bad(mt_audit_report *rep, int64_t seq, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rep->reason, sizeof rep->reason, fmt, ap);
  va_end(ap);
  for (char *c = rep->reason; *c; c++) /* one line */
    if ((unsigned char)*c < 0x20)
      *c = ' ';
  rep->intact = 0;
  rep->bad_seq = seq;
  return 0;
}

/* PRAGMA integrity_check: 0 and rep left intact if "ok". */
static int check_pages(sq_store *q, mt_audit_report *rep, char *err,
                       size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "PRAGMA integrity_check(1)", &st,
                          "audit verify", err, errlen);
  if (rc)
    return rc;
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    if (!t || strcmp(t, "ok"))
      bad(rep, 0, "database integrity check failed: %s", t ? t : "?");
  }
  else
    rc = mt_sq__db_fail(q, "audit verify", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* A column's text as stored (any type), never NULL. */
static const char *col_text(sqlite3_stmt *st, int c)
{
  const char *t = (const char *)sqlite3_column_text(st, c);
  return t ? t : "";
}

/* Record row (current step of st) checked against the expected position
** and prev; 1 if bad (rep says why), 0 if good (prev advanced). */
static int check_record(sqlite3_stmt *st, int64_t expect,
                        unsigned char prev[HASH], mt_audit_report *rep)
{
  int64_t seq = sqlite3_column_int64(st, 0);
  if (sqlite3_column_type(st, 2) != SQLITE_TEXT ||
      sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
      sqlite3_column_type(st, 6) != SQLITE_INTEGER)
    return !bad(rep, seq, "record %lld: a field has the wrong type",
                (long long)seq);
  if (seq != expect)
    return !bad(rep, seq, "record %lld: follows record %lld (records "
                "missing or reordered)", (long long)seq,
                (long long)(expect - 1));
  if (sqlite3_column_bytes(st, 7) != HASH ||
      memcmp(sqlite3_column_blob(st, 7), prev, HASH))
    return !bad(rep, seq, "record %lld: its previous hash is not record "
                "%lld's (a record deleted, replaced or reordered)",
                (long long)seq, (long long)(seq - 1));
  mt_audit_record r = {sqlite3_column_int64(st, 1), col_text(st, 2),
                       col_text(st, 3), col_text(st, 4), col_text(st, 5),
                       sqlite3_column_int64(st, 6)};
  unsigned char h[HASH];
  mt_audit_hash(&r, seq, prev, h);
  if (sqlite3_column_bytes(st, 8) != HASH ||
      memcmp(sqlite3_column_blob(st, 8), h, HASH))
    return !bad(rep, seq, "record %lld: its hash does not match its "
                "contents (a field or the hash was changed)",
                (long long)seq);
  memcpy(prev, h, HASH);
  return 0;
}

static int check_chain(sq_store *q, mt_audit_report *rep, char *err,
                       size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT seq, t_ms, actor, action, resource,"
                             " purpose, outcome, prev, hash FROM audit ORDER"
                             " BY seq", &st, "audit verify", err, errlen);
  if (rc)
    return rc;
  unsigned char prev[HASH];
  memcpy(prev, genesis, HASH);
  int s_;
  while ((s_ = sqlite3_step(st)) == SQLITE_ROW) {
    if (check_record(st, rep->head_seq + 1, prev, rep))
      break;
    rep->records++;
    rep->head_seq++;
    memcpy(rep->head, prev, HASH);
  }
  if (s_ != SQLITE_ROW && s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, "audit verify", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* The hash of record seq (1 <= seq <= head, chain already checked). */
static int hash_at(sq_store *q, int64_t seq, unsigned char h[HASH],
                   char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT hash FROM audit WHERE seq = ?1", &st,
                          "audit verify", err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, seq);
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == HASH)
    memcpy(h, sqlite3_column_blob(st, 0), HASH);
  else
    rc = mt_sq__db_fail(q, "audit verify", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* One checkpoint row (current step of st): 1 if bad. */
static int check_checkpoint(sq_store *q, sqlite3_stmt *st,
                            const unsigned char *pk, mt_audit_report *rep,
                            int *rc, char *err, size_t errlen)
{
  int64_t id = sqlite3_column_int64(st, 0), seq = sqlite3_column_int64(st, 1);
  int64_t t = sqlite3_column_int64(st, 3);
  if (!pk)
    return !bad(rep, 0, "checkpoint %lld: the store has no public key to "
                "verify it", (long long)id);
  if (sqlite3_column_bytes(st, 2) != HASH ||
      sqlite3_column_bytes(st, 4) != MT_AUDIT_SIG_BYTES)
    return !bad(rep, 0, "checkpoint %lld: malformed", (long long)id);
  unsigned char m[MSG_MAX];
  size_t n = checkpoint_msg(m, seq, sqlite3_column_blob(st, 2), t);
  if (crypto_sign_verify_detached(sqlite3_column_blob(st, 4), m, n, pk))
    return !bad(rep, 0, "checkpoint %lld: its signature does not verify "
                "under the stored public key", (long long)id);
  if (seq > rep->head_seq)
    return !bad(rep, rep->head_seq + 1, "record %lld: missing; the chain "
                "ends at record %lld but checkpoint %lld signed record %lld "
                "(truncated)", (long long)(rep->head_seq + 1),
                (long long)rep->head_seq, (long long)id, (long long)seq);
  unsigned char h[HASH];
  memcpy(h, genesis, HASH);
  if (seq > 0 && (*rc = hash_at(q, seq, h, err, errlen)))
    return 1;
  if (memcmp(h, sqlite3_column_blob(st, 2), HASH))
    return !bad(rep, seq, "record %lld: its hash is not the head that "
                "checkpoint %lld signed", (long long)seq, (long long)id);
  return 0;
}

static int check_checkpoints(sq_store *q, mt_audit_report *rep, char *err,
                             size_t errlen)
{
  unsigned char pk[MT_AUDIT_PK_BYTES];
  int rc = stored_key(q, pk, "audit verify", err, errlen);
  if (rc < 0)
    return rc;
  rep->has_key = rc;
  sqlite3_stmt *st;
  rc = mt_sq__prepare(q, "SELECT id, seq, head, t_ms, sig FROM"
                         " audit_checkpoint ORDER BY id", &st,
                      "audit verify", err, errlen);
  if (rc)
    return rc;
  int s_;
  while ((s_ = sqlite3_step(st)) == SQLITE_ROW) {
    if (check_checkpoint(q, st, rep->has_key ? pk : NULL, rep, &rc, err,
                         errlen))
      break;
    rep->checkpoints++;
  }
  if (!rc && s_ != SQLITE_ROW && s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, "audit verify", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

int mt_store_audit_verify(mt_store *s, mt_audit_report *rep, char *err,
                          size_t errlen)
{
  const char *op = "audit verify";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q || !rep)
    return MT_EINVAL;
  if (q->in_batch)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "inside a batch");
  memset(rep, 0, sizeof *rep);
  rep->intact = 1;
  int rc = mt_sq__exec(q, "BEGIN", op, err, errlen);
  if (rc)
    return rc;
  rc = check_pages(q, rep, err, errlen);
  if (!rc && rep->intact)
    rc = check_chain(q, rep, err, errlen);
  if (!rc && rep->intact)
    rc = check_checkpoints(q, rep, err, errlen);
  sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
  return rc;
}

/* ---- secret key files ---- */

int mt_store__inside(const char *path, const char *dir)
{
  char rd[PATH_MAX], rp[PATH_MAX], parent[PATH_MAX];
  if (!realpath(dir, rd))
    return 0;
  snprintf(parent, sizeof parent, "%s", path);
  char *slash = strrchr(parent, '/');
  if (!slash)
    snprintf(parent, sizeof parent, ".");
  else if (slash == parent)
    parent[1] = 0;
  else
    *slash = 0;
  if (!realpath(parent, rp))
    return 0;
  size_t n = strlen(rd);
  return !strncmp(rp, rd, n) && (rp[n] == 0 || rp[n] == '/' ||
                                 !strcmp(rd, "/"));
}

int mt_audit_key_save(const char *path, const char *data_dir,
                      const unsigned char sk[MT_AUDIT_SK_BYTES], char *err,
                      size_t errlen)
{
  const char *op = "audit keygen";
  if (!path || !*path || !sk)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "no key path");
  if (data_dir && mt_store__inside(path, data_dir))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "%s is inside the "
                          "data directory %s; keep the secret key outside "
                          "it", path, data_dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return mt_store__fail(err, errlen, errno == EEXIST ? MT_ECONFLICT
                          : MT_EIO, op, "%s: %s%s", path, strerror(errno),
                          errno == EEXIST ? " (never overwritten)" : "");
  int ok = fchmod(fd, 0600) == 0 &&
           write(fd, sk, MT_AUDIT_SK_BYTES) == MT_AUDIT_SK_BYTES &&
           fsync(fd) == 0;
  int e = errno;
  if (close(fd) != 0)
    ok = 0;
  if (!ok) {
    unlink(path);
    return mt_store__fail(err, errlen, MT_EIO, op, "%s: %s", path,
                          strerror(e));
  }
  return 0;
}

int mt_audit_key_load(const char *path, const char *data_dir,
                      unsigned char sk[MT_AUDIT_SK_BYTES], char *err,
                      size_t errlen)
{
  const char *op = "audit key";
  if (!path || !*path || !sk)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "no key path");
  if (data_dir && mt_store__inside(path, data_dir))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "%s is inside the "
                          "data directory %s", path, data_dir);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return mt_store__fail(err, errlen, errno == ENOENT ? MT_ENOTFOUND
                          : MT_EIO, op, "%s: %s", path, strerror(errno));
  struct stat sb;
  int rc = 0;
  if (fstat(fd, &sb) != 0)
    rc = mt_store__fail(err, errlen, MT_EIO, op, "%s: %s", path,
                        strerror(errno));
  else if (sb.st_mode & 077)
    rc = mt_store__fail(err, errlen, MT_EDENIED, op, "%s is readable by "
                        "others (mode %03o); chmod 600 it", path,
                        (unsigned)(sb.st_mode & 0777));
  else if (sb.st_size != MT_AUDIT_SK_BYTES ||
           read(fd, sk, MT_AUDIT_SK_BYTES) != MT_AUDIT_SK_BYTES)
    rc = mt_store__fail(err, errlen, MT_EPARSE, op, "%s is not a %d-byte "
                        "Ed25519 secret key", path, MT_AUDIT_SK_BYTES);
  close(fd);
  return rc;
}

/* ---- listing ---- */

int mt_store_audit_list(mt_store *s, const char *prefix, int64_t after_seq,
                        long limit, mt_audit_entry **out, size_t *n,
                        char *err, size_t errlen)
{
  const char *op = "audit list";
  sq_store *q = sq_of(s, op, err, errlen);
  char pseudo[MT_AUDIT_RESOURCE_MAX + 1];
  *out = NULL, *n = 0;
  if (!q)
    return MT_EINVAL;
  if (limit <= 0 || (prefix && !text_ok(prefix, MT_AUDIT_RESOURCE_MAX)))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "a limit > 0 and a "
                          "printable prefix expected");
  const char *asked = prefix; /* the caller's, who may see the patient */
  if (prefix)
    prefix = pseudonymous(q, prefix, pseudo, sizeof pseudo);
  /* the ranges [p/, p0) and [p?, p@) hold what continues p with '/' or
  ** '?' (the next byte values), so the resource index serves them */
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(
      q, prefix ? "SELECT seq, t_ms, actor, action, resource, purpose, outcome"
                  " FROM audit WHERE seq > ?2 AND (resource = ?1 OR"
                  " (resource >= ?1 || '/' AND resource < ?1 || '0') OR"
                  " (resource >= ?1 || '?' AND resource < ?1 || '@'))"
                  " ORDER BY seq LIMIT ?3"
                : "SELECT seq, t_ms, actor, action, resource, purpose, outcome"
                  " FROM audit WHERE seq > ?2 AND ?1 IS NULL ORDER BY seq"
                  " LIMIT ?3",
      &st, op, err, errlen);
  if (rc)
    return rc;
  if (prefix)
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, after_seq);
  sqlite3_bind_int64(st, 3, limit);
  size_t cap = 0;
  int s_;
  while ((s_ = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      mt_audit_entry *p = mt_sq__grow(*out, &cap, sizeof *p, 64);
      if (!p) {
        rc = mt_store__fail(err, errlen, MT_ENOMEM, op, "out of memory");
        break;
      }
      *out = p;
    }
    mt_audit_entry *e = &(*out)[(*n)++];
    e->seq = sqlite3_column_int64(st, 0);
    e->t_ms = sqlite3_column_int64(st, 1);
    snprintf(e->actor, sizeof e->actor, "%s", sqlite3_column_text(st, 2));
    snprintf(e->action, sizeof e->action, "%s", sqlite3_column_text(st, 3));
    const char *res = (const char *)sqlite3_column_text(st, 4);
    size_t pl = prefix ? strlen(prefix) : 0;
    if (prefix != asked && !strncmp(res, prefix, pl)) /* named back */
      snprintf(e->resource, sizeof e->resource, "%s%s", asked, res + pl);
    else
      snprintf(e->resource, sizeof e->resource, "%s", res);
    snprintf(e->purpose, sizeof e->purpose, "%s",
             sqlite3_column_text(st, 5));
    e->outcome = sqlite3_column_int64(st, 6);
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
