/*
** The key store (include/medtwin/vault.h): DIR/keys.db, a SQLite file in
** rollback-journal mode with secure_delete, so that a destroyed key's row
** is overwritten in the file and no write-ahead log keeps an old copy.
**
**   meta(key, value)       vault_id, check (the master key's check value)
**   dkey(patient, nonce, wrapped, created_ms)
**
** A data key is wrapped with XChaCha20-Poly1305 under the master key, with
** "medtwin.vault.v1|<vault id>|<patient>" as associated data: a wrapped key
** copied to another patient's row, or into another key store, does not
** open. The check value is the empty string sealed the same way under the
** name "\x01check", so a wrong master key is refused at open, before
** anything is read with it.
*/
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "medtwin/error.h"
#include "medtwin/store.h"
#include "medtwin/vault.h"
#include "store/ops.h"

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEY MT_VAULT_KEY_BYTES
#define SEAL_V1 0x01
#define CHECK_NAME "\x01" "check"

typedef struct slot {
  char patient[MT_STORE_KEY_MAX + 1]; /* "" with used 0: empty */
  int used;
  unsigned char key[KEY];
} slot;

struct mt_vault {
  pthread_mutex_t mu;
  sqlite3 *db;
  unsigned char mk[KEY];
  char id[MT_VAULT_ID_MAX + 1];
  slot *cache; /* open addressing, cap a power of two, at most half full */
  size_t cap, used;
};

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(err, errlen, "key store: ");
    if (k >= 0 && (size_t)k < errlen)
      vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    va_end(ap);
  }
  return code;
}

static int db_fail(mt_vault *v, const char *op, char *err, size_t errlen)
{
  int c = sqlite3_errcode(v->db);
  return fail(err, errlen, c == SQLITE_NOMEM ? MT_ENOMEM : MT_EIO, "%s: %s",
              op, sqlite3_errmsg(v->db));
}

/* ---- sealing ---- */

void mt_seal(const unsigned char key[KEY], const void *ad, size_t adlen,
             const void *in, size_t n, unsigned char *out)
{
  out[0] = SEAL_V1;
  randombytes_buf(out + 1, NONCE);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE, NULL, in, n,
                                             ad, adlen, NULL, out + 1, key);
}

int mt_unseal(const unsigned char key[KEY], const void *ad, size_t adlen,
              const unsigned char *in, size_t n, unsigned char *out)
{
  if (n < MT_SEAL_OVERHEAD || in[0] != SEAL_V1)
    return MT_EPARSE;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
                                                 in + 1 + NONCE,
                                                 n - 1 - NONCE, ad, adlen,
                                                 in + 1, key) != 0)
    return MT_EIO;
  return 0;
}

/* The associated data of patient's wrapped key into ad; its length. */
static size_t wrap_ad(const mt_vault *v, const char *patient, char *ad,
                      size_t cap)
{
  int k = snprintf(ad, cap, "medtwin.vault.v1|%s|%s", v->id, patient);
  return k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
}

/* ---- master keys ---- */

static int parse_hex_key(const char *s, size_t n, unsigned char mk[KEY])
{
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  size_t got = 0;
  if (n != 2 * KEY ||
      sodium_hex2bin(mk, KEY, s, n, NULL, &got, NULL) != 0 || got != KEY)
    return MT_EPARSE;
  return 0;
}

int mt_vault_master_create(const char *path, char *err, size_t errlen)
{
  if (!path || !*path)
    return fail(err, errlen, MT_EINVAL, "master key: no file given");
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail(err, errlen, errno == EEXIST ? MT_ECONFLICT : MT_EIO,
                "master key: cannot create %s: %s", path, strerror(errno));
  unsigned char mk[KEY];
  char hex[2 * KEY + 2];
  randombytes_buf(mk, sizeof mk);
  sodium_bin2hex(hex, sizeof hex, mk, sizeof mk);
  hex[2 * KEY] = '\n';
  ssize_t w = write(fd, hex, 2 * KEY + 1);
  int ok = w == 2 * KEY + 1 && fsync(fd) == 0;
  int e = errno;
  close(fd);
  sodium_memzero(mk, sizeof mk);
  sodium_memzero(hex, sizeof hex);
  if (!ok) {
    unlink(path);
    return fail(err, errlen, MT_EIO, "master key: cannot write %s: %s", path,
                strerror(e));
  }
  return 0;
}

int mt_vault_master_load(const char *path, unsigned char mk[KEY], char *err,
                         size_t errlen)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return fail(err, errlen, MT_EIO, "master key: cannot read %s: %s", path,
                strerror(e));
  }
  if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
    close(fd);
    return fail(err, errlen, MT_EDENIED, "master key: %s %s", path,
                S_ISREG(sb.st_mode) ? "is readable by others; chmod 600"
                                    : "is not a regular file");
  }
  char buf[2 * KEY + 8];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  int rc = n < 0 ? MT_EPARSE : parse_hex_key(buf, (size_t)n, mk);
  sodium_memzero(buf, sizeof buf);
  if (rc)
    return fail(err, errlen, rc, "master key: %s must hold 64 hexadecimal "
                "characters (medtwin keys master FILE makes one)", path);
  return 0;
}

int mt_vault_master_env(unsigned char mk[KEY], int *found, char *err,
                        size_t errlen)
{
  const char *f = getenv("MEDTWIN_MASTER_KEY_FILE");
  const char *h = getenv("MEDTWIN_MASTER_KEY");
  *found = 0;
  if (f && *f) {
    int rc = mt_vault_master_load(f, mk, err, errlen);
    *found = rc == 0;
    return rc;
  }
  if (h && *h) {
    if (parse_hex_key(h, strlen(h), mk))
      return fail(err, errlen, MT_EPARSE, "master key: MEDTWIN_MASTER_KEY "
                  "must be 64 hexadecimal characters");
    *found = 1;
  }
  return 0;
}

/* ---- the cache ---- */

static size_t slot_of(const mt_vault *v, const char *patient)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)patient; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  size_t i = (size_t)h & (v->cap - 1);
  while (v->cache[i].used && strcmp(v->cache[i].patient, patient))
    i = (i + 1) & (v->cap - 1);
  return i;
}

static const unsigned char *cached(const mt_vault *v, const char *patient)
{
  if (!v->cap)
    return NULL;
  size_t i = slot_of(v, patient);
  return v->cache[i].used ? v->cache[i].key : NULL;
}

static void wipe_cache(slot *c, size_t cap)
{
  if (c) {
    sodium_memzero(c, cap * sizeof *c);
    free(c);
  }
}

/* Keep key for patient (best effort: without memory it is not kept). */
static void remember(mt_vault *v, const char *patient,
                     const unsigned char key[KEY])
{
  if (2 * (v->used + 1) > v->cap) {
    size_t nc = v->cap ? 2 * v->cap : 64;
    slot *old = v->cache, *c = calloc(nc, sizeof *c);
    size_t oc = v->cap;
    if (!c)
      return;
    v->cache = c, v->cap = nc;
    for (size_t i = 0; i < oc; i++)
      if (old[i].used)
        v->cache[slot_of(v, old[i].patient)] = old[i];
    wipe_cache(old, oc);
  }
  size_t i = slot_of(v, patient);
  if (!v->cache[i].used)
    v->used++;
  v->cache[i].used = 1;
  snprintf(v->cache[i].patient, sizeof v->cache[i].patient, "%s", patient);
  memcpy(v->cache[i].key, key, KEY);
}

/* Drop patient's cached key (rebuilding the table, which keeps probing
** simple: destruction is rare). */
static void forget(mt_vault *v)
{
  wipe_cache(v->cache, v->cap);
  v->cache = NULL, v->cap = v->used = 0;
}

/* ---- open / close ---- */

static int exec(mt_vault *v, const char *sql, const char *op, char *err,
                size_t errlen)
{
  if (sqlite3_exec(v->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(v, op, err, errlen);
  return 0;
}

static int meta_get(mt_vault *v, const char *key, char *out, size_t cap)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(v->db, "SELECT value FROM meta WHERE key = ?1", -1,
                         &st, NULL) != SQLITE_OK)
    return MT_EIO;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  int rc = MT_ENOTFOUND;
  if (sqlite3_step(st) == SQLITE_ROW) {
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    rc = 0;
  }
  sqlite3_finalize(st);
  return rc;
}

static int meta_put(mt_vault *v, const char *key, const char *val)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(v->db, "INSERT OR REPLACE INTO meta(key, value)"
                         " VALUES(?1, ?2)", -1, &st, NULL) != SQLITE_OK)
    return MT_EIO;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : MT_EIO;
  sqlite3_finalize(st);
  return rc;
}

/* The check value of mk as hex into out (2 * (MT_SEAL_OVERHEAD) + 1). */
static void check_value(const mt_vault *v, const unsigned char mk[KEY],
                        char *out, size_t cap)
{
  char ad[160];
  unsigned char sealed[MT_SEAL_OVERHEAD];
  mt_seal(mk, ad, wrap_ad(v, CHECK_NAME, ad, sizeof ad), "", 0, sealed);
  sodium_bin2hex(out, cap, sealed, sizeof sealed);
}

static int check_master(const mt_vault *v, const unsigned char mk[KEY],
                        const char *hex)
{
  unsigned char sealed[MT_SEAL_OVERHEAD], none[1];
  size_t got = 0;
  char ad[160];
  if (sodium_hex2bin(sealed, sizeof sealed, hex, strlen(hex), NULL, &got,
                     NULL) != 0 || got != sizeof sealed)
    return MT_EIO;
  return mt_unseal(mk, ad, wrap_ad(v, CHECK_NAME, ad, sizeof ad), sealed,
                   sizeof sealed, none) ? MT_EDENIED : 0;
}

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT"
    " NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS dkey(patient TEXT PRIMARY KEY, wrapped BLOB"
    " NOT NULL, created_ms INTEGER NOT NULL) WITHOUT ROWID;";

/* Create the tables, the id and the check value if new; else check mk. */
static int setup(mt_vault *v, const unsigned char mk[KEY], const char *dir,
                 char *err, size_t errlen)
{
  int rc = exec(v, "PRAGMA journal_mode = DELETE; PRAGMA synchronous ="
                   " FULL; PRAGMA secure_delete = ON; BEGIN IMMEDIATE",
                "open", err, errlen);
  if (rc)
    return rc;
  rc = exec(v, schema, "open", err, errlen);
  char check[2 * MT_SEAL_OVERHEAD + 1];
  if (!rc && meta_get(v, "vault_id", v->id, sizeof v->id) == MT_ENOTFOUND) {
    unsigned char raw[MT_VAULT_ID_MAX / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(v->id, sizeof v->id, raw, sizeof raw);
    check_value(v, mk, check, sizeof check);
    if (meta_put(v, "vault_id", v->id) || meta_put(v, "check", check) ||
        meta_put(v, "format", "1"))
      rc = db_fail(v, "open", err, errlen);
  } else if (!rc) {
    if (meta_get(v, "check", check, sizeof check) != 0)
      rc = fail(err, errlen, MT_EIO, "%s/keys.db has no check value", dir);
    else if ((rc = check_master(v, mk, check)) != 0)
      rc = fail(err, errlen, rc == MT_EDENIED ? MT_EDENIED : MT_EIO,
                "%s: %s", dir, rc == MT_EDENIED
                                   ? "the master key is not this key "
                                     "store's"
                                   : "the check value is damaged");
  }
  if (rc) {
    sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
  }
  return exec(v, "COMMIT", "open", err, errlen);
}

int mt_vault_open(const char *dir, const char *data_dir,
                  const unsigned char mk[KEY], mt_vault **out, char *err,
                  size_t errlen)
{
  *out = NULL;
  if (!dir || !*dir || !mk)
    return fail(err, errlen, MT_EINVAL, "open: no directory or master key");
  if (sodium_init() < 0)
    return fail(err, errlen, MT_EIO, "open: libsodium failed to start");
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return fail(err, errlen, MT_EIO, "open: %s: %s", dir, strerror(errno));
  size_t pn = strlen(dir) + sizeof "/keys.db";
  char *kp = malloc(pn);
  if (!kp)
    return fail(err, errlen, MT_ENOMEM, "open: out of memory");
  snprintf(kp, pn, "%s/keys.db", dir);
  int in = data_dir && mt_store__inside(kp, data_dir);
  free(kp);
  if (in)
    return fail(err, errlen, MT_EINVAL, "open: %s is inside the data "
                "directory %s; keep the key store apart from it (and from "
                "its backups)", dir, data_dir);
  mt_vault *v = calloc(1, sizeof *v);
  size_t n = strlen(dir) + sizeof "/keys.db";
  char *path = malloc(n);
  if (!v || !path) {
    free(v);
    free(path);
    return fail(err, errlen, MT_ENOMEM, "open: out of memory");
  }
  snprintf(path, n, "%s/keys.db", dir);
  memcpy(v->mk, mk, KEY);
  int rc = 0;
  if (pthread_mutex_init(&v->mu, NULL) != 0) {
    free(path);
    free(v);
    return fail(err, errlen, MT_ENOMEM, "open: no mutex");
  }
  if (sqlite3_open_v2(path, &v->db, SQLITE_OPEN_READWRITE |
                      SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
      SQLITE_OK)
    rc = fail(err, errlen, MT_EIO, "open: %s: %s", path,
              v->db ? sqlite3_errmsg(v->db) : "out of memory");
  free(path);
  if (!rc) {
    sqlite3_busy_timeout(v->db, 5000);
    rc = setup(v, mk, dir, err, errlen);
  }
  if (rc) {
    mt_vault_close(v);
    return rc;
  }
  *out = v;
  return 0;
}

void mt_vault_close(mt_vault *v)
{
  if (!v)
    return;
  sqlite3_close_v2(v->db);
  wipe_cache(v->cache, v->cap);
  pthread_mutex_destroy(&v->mu);
  sodium_memzero(v, sizeof *v);
  free(v);
}

const char *mt_vault_id(const mt_vault *v)
{
  return v->id;
}

/* ---- keys ---- */

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read (and unwrap) patient's key from the file: 0, MT_ENOTFOUND, MT_E*. */
static int load_key(mt_vault *v, const char *patient, unsigned char key[KEY],
                    char *err, size_t errlen)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(v->db, "SELECT wrapped FROM dkey WHERE patient ="
                         " ?1", -1, &st, NULL) != SQLITE_OK)
    return db_fail(v, "read", err, errlen);
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  int s = sqlite3_step(st), rc;
  if (s == SQLITE_ROW) {
    char ad[160];
    const unsigned char *w = sqlite3_column_blob(st, 0);
    int n = sqlite3_column_bytes(st, 0);
    rc = n != KEY + MT_SEAL_OVERHEAD
             ? MT_EIO
             : mt_unseal(v->mk, ad, wrap_ad(v, patient, ad, sizeof ad), w,
                         (size_t)n, key);
    if (rc)
      rc = fail(err, errlen, MT_EIO, "the key of patient %s does not "
                "unwrap (damaged or moved)", patient);
  } else if (s == SQLITE_DONE)
    rc = fail(err, errlen, MT_ENOTFOUND, "no key for patient %s",
              patient[0] ? patient : "(store)");
  else
    rc = db_fail(v, "read", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

static int store_key(mt_vault *v, const char *patient,
                     const unsigned char key[KEY], char *err, size_t errlen)
{
  unsigned char w[KEY + MT_SEAL_OVERHEAD];
  char ad[160];
  mt_seal(v->mk, ad, wrap_ad(v, patient, ad, sizeof ad), key, KEY, w);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(v->db, "INSERT INTO dkey(patient, wrapped,"
                         " created_ms) VALUES(?1, ?2, ?3)", -1, &st, NULL) !=
      SQLITE_OK)
    return db_fail(v, "create", err, errlen);
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, w, sizeof w, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, now_ms());
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0
                                           : db_fail(v, "create", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

int mt_vault_key(mt_vault *v, const char *patient, int create,
                 unsigned char key[KEY], char *err, size_t errlen)
{
  if (!v || !patient || strlen(patient) > MT_STORE_KEY_MAX)
    return fail(err, errlen, MT_EINVAL, "key: bad patient");
  pthread_mutex_lock(&v->mu);
  const unsigned char *c = cached(v, patient);
  int rc = 0;
  if (c)
    memcpy(key, c, KEY);
  else {
    rc = load_key(v, patient, key, err, errlen);
    if (rc == MT_ENOTFOUND && create) {
      crypto_aead_xchacha20poly1305_ietf_keygen(key);
      rc = store_key(v, patient, key, err, errlen);
    }
    if (!rc)
      remember(v, patient, key);
  }
  pthread_mutex_unlock(&v->mu);
  return rc;
}

int mt_vault_destroy(mt_vault *v, const char *patient, char *err,
                     size_t errlen)
{
  if (!v || !patient || !*patient)
    return fail(err, errlen, MT_EINVAL, "destroy: the store's own key "
                "cannot be destroyed");
  pthread_mutex_lock(&v->mu);
  forget(v);
  sqlite3_stmt *st;
  int rc = 0;
  if (sqlite3_prepare_v2(v->db, "DELETE FROM dkey WHERE patient = ?1", -1,
                         &st, NULL) != SQLITE_OK)
    rc = db_fail(v, "destroy", err, errlen);
  else {
    sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = db_fail(v, "destroy", err, errlen);
    else if (sqlite3_changes(v->db) == 0)
      rc = fail(err, errlen, MT_ENOTFOUND, "destroy: no key for patient %s",
                patient);
    sqlite3_finalize(st);
  }
  /* the freed page is zeroed by secure_delete; VACUUM leaves no free
  ** page behind either */
  if (!rc)
    rc = exec(v, "VACUUM", "destroy", err, errlen);
  pthread_mutex_unlock(&v->mu);
  return rc;
}

/* One key rewrapped by rotate. */
typedef struct rewrap {
  char patient[MT_STORE_KEY_MAX + 1];
  unsigned char w[KEY + MT_SEAL_OVERHEAD];
} rewrap;

/* Every key unwrapped under the old master key and wrapped under new_mk
** into a malloc'd *out (*n), before anything is written: an UPDATE while
** a scan of the same table runs may show the scan a row again. */
static int rewrap_all(mt_vault *v, const unsigned char new_mk[KEY],
                      rewrap **out, long *n, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  long cap = 0;
  *out = NULL, *n = 0;
  if (sqlite3_prepare_v2(v->db, "SELECT patient FROM dkey", -1, &st,
                         NULL) != SQLITE_OK)
    return db_fail(v, "rotate", err, errlen);
  int rc = 0, s_;
  while (!rc && (s_ = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 64;
      rewrap *p = realloc(*out, (size_t)cap * sizeof *p);
      if (!p) {
        rc = fail(err, errlen, MT_ENOMEM, "rotate: out of memory");
        break;
      }
      *out = p;
    }
    rewrap *r = &(*out)[*n];
    unsigned char key[KEY];
    char ad[160];
    snprintf(r->patient, sizeof r->patient, "%s",
             (const char *)sqlite3_column_text(st, 0));
    if ((rc = load_key(v, r->patient, key, err, errlen)))
      break;
    mt_seal(new_mk, ad, wrap_ad(v, r->patient, ad, sizeof ad), key, KEY,
            r->w);
    sodium_memzero(key, sizeof key);
    (*n)++;
  }
  if (!rc && s_ != SQLITE_DONE)
    rc = db_fail(v, "rotate", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

int mt_vault_rotate(mt_vault *v, const unsigned char new_mk[KEY], long *n,
                    char *err, size_t errlen)
{
  pthread_mutex_lock(&v->mu);
  rewrap *list = NULL;
  long done = 0;
  sqlite3_stmt *up = NULL;
  int rc = exec(v, "BEGIN IMMEDIATE", "rotate", err, errlen);
  if (!rc)
    rc = rewrap_all(v, new_mk, &list, &done, err, errlen);
  if (!rc && sqlite3_prepare_v2(v->db, "UPDATE dkey SET wrapped = ?2 WHERE"
                                " patient = ?1", -1, &up, NULL) != SQLITE_OK)
    rc = db_fail(v, "rotate", err, errlen);
  for (long i = 0; !rc && i < done; i++) {
    sqlite3_bind_text(up, 1, list[i].patient, -1, SQLITE_STATIC);
    sqlite3_bind_blob(up, 2, list[i].w, sizeof list[i].w, SQLITE_STATIC);
    if (sqlite3_step(up) != SQLITE_DONE)
      rc = db_fail(v, "rotate", err, errlen);
    sqlite3_reset(up);
  }
  sqlite3_finalize(up);
  if (list) {
    sodium_memzero(list, (size_t)done * sizeof *list);
    free(list);
  }
  if (!rc) {
    char check[2 * MT_SEAL_OVERHEAD + 1];
    check_value(v, new_mk, check, sizeof check);
    if (meta_put(v, "check", check))
      rc = db_fail(v, "rotate", err, errlen);
  }
  if (!rc)
    rc = exec(v, "COMMIT", "rotate", err, errlen);
  if (rc)
    sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
  else {
    memcpy(v->mk, new_mk, KEY);
    exec(v, "VACUUM", "rotate", NULL, 0); /* no old wrapping left free */
  }
  pthread_mutex_unlock(&v->mu);
  if (n)
    *n = rc ? 0 : done;
  return rc;
}

int mt_vault_count(mt_vault *v, long *n, char *err, size_t errlen)
{
  pthread_mutex_lock(&v->mu);
  sqlite3_stmt *st;
  int rc = 0;
  *n = 0;
  if (sqlite3_prepare_v2(v->db, "SELECT count(*) FROM dkey", -1, &st,
                         NULL) != SQLITE_OK)
    rc = db_fail(v, "count", err, errlen);
  else {
    if (sqlite3_step(st) == SQLITE_ROW)
      *n = sqlite3_column_int64(st, 0);
    else
      rc = db_fail(v, "count", err, errlen);
    sqlite3_finalize(st);
  }
  pthread_mutex_unlock(&v->mu);
  return rc;
}
