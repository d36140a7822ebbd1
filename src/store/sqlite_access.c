/*
** Access control in the SQLite store (include/medtwin/access.h): users
** with Argon2id password hashes, bearer tokens kept as BLAKE2b-256 hashes,
** care teams and consent decisions. Called directly, as the audit trail
** is: SQLite is the only back end so far.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "medtwin/access.h"
#include "medtwin/error.h"
#include "store/sqlite_int.h"

static const char *const role_names[MT_ROLE_COUNT] = {
    "none", "admin", "clinician", "researcher", "device", "patient", "auditor"};
static const char *const purpose_names[MT_PURPOSE_COUNT] = {
    "treatment", "research", "device-ingest"};

const char *mt_role_name(mt_role r)
{
  return r > MT_ROLE_NONE && r < MT_ROLE_COUNT ? role_names[r] : "none";
}

mt_role mt_role_parse(const char *name)
{
  for (int r = MT_ROLE_ADMIN; name && r < MT_ROLE_COUNT; r++)
    if (!strcmp(name, role_names[r]))
      return (mt_role)r;
  return MT_ROLE_NONE;
}

const char *mt_purpose_name(mt_purpose p)
{
  return p >= 0 && p < MT_PURPOSE_COUNT ? purpose_names[p] : "unknown";
}

int mt_purpose_parse(const char *name, mt_purpose *p)
{
  for (int k = 0; name && k < MT_PURPOSE_COUNT; k++)
    if (!strcmp(name, purpose_names[k])) {
      *p = (mt_purpose)k;
      return 0;
    }
  return MT_EINVAL;
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1..max printable bytes (a key of the store). */
static int text_ok(const char *k, size_t max)
{
  if (!k || !*k)
    return 0;
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)k; *p; p++, n++)
    if (*p < 0x21 || *p == 0x7f || n >= max)
      return 0;
  return 1;
}

static sq_store *sq_of(mt_store *s, const char *op, char *err, size_t errlen)
{
  if (!s || strcmp(mt_store_kind(s), "sqlite")) {
    mt_store__fail(err, errlen, MT_EINVAL, op, "not a SQLite store");
    return NULL;
  }
  return (sq_store *)s;
}

static int sodium_ready(const char *op, char *err, size_t errlen)
{
  return sodium_init() < 0 ? mt_store__fail(err, errlen, MT_EIO, op,
                                            "libsodium cannot start")
                           : 0;
}

/* n random bytes as 2n lower-case hexadecimal digits. */
static void random_hex(char *out, size_t n)
{
  unsigned char b[32];
  randombytes_buf(b, n);
  sodium_bin2hex(out, 2 * n + 1, b, n);
}

static void copy(char *dst, size_t len, const unsigned char *src)
{
  snprintf(dst, len, "%s", src ? (const char *)src : "");
}

static int write1(sq_store *q, const char *sql, const char *const *p, int np,
                  int64_t num, const char *op, char *err, size_t errlen);

/* ---- passwords ---- */

int mt_password_hash(const char *pw, char out[MT_PWHASH_MAX], char *err,
                     size_t errlen)
{
  size_t n = pw ? strlen(pw) : 0;
  if (n < MT_PASSWORD_MIN || n > MT_PASSWORD_MAX)
    return mt_store__fail(err, errlen, MT_EINVAL, "password",
                          "expected %d-%d characters, got %zu",
                          MT_PASSWORD_MIN, MT_PASSWORD_MAX, n);
  int rc = sodium_ready("password", err, errlen);
  if (rc)
    return rc;
  /* libsodium's interactive limits: 2 passes over 64 MiB (RFC 9106's
  ** second recommended option uses 64 MiB as well) */
  if (crypto_pwhash_str_alg(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13))
    return mt_store__fail(err, errlen, MT_ENOMEM, "password",
                          "out of memory for Argon2id");
  return 0;
}

int mt_password_verify(const char *hash, const char *pw)
{
  if (!hash || !pw || sodium_init() < 0)
    return MT_EDENIED;
  return crypto_pwhash_str_verify(hash, pw, strlen(pw)) ? MT_EDENIED : 0;
}

/* ---- users ---- */

int mt_store_user_add(mt_store *s, const char *name, const char *pw,
                      mt_role role, const char *patient, mt_user *out,
                      char *err, size_t errlen)
{
  const char *op = "user add";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  int has_patient = patient && *patient;
  if (!text_ok(name, MT_STORE_KEY_MAX + 1))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "name: expected 1-%d "
                          "printable characters without spaces",
                          MT_STORE_KEY_MAX);
  if (role <= MT_ROLE_NONE || role >= MT_ROLE_COUNT)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "role: expected admin,"
                          " clinician, researcher, device, patient or "
                          "auditor");
  if ((role == MT_ROLE_PATIENT) != has_patient ||
      (has_patient && !text_ok(patient, MT_STORE_KEY_MAX + 1)))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "patient: a patient "
                          "user needs the id of its Patient, and no other "
                          "role takes one");
  mt_user u;
  memset(&u, 0, sizeof u);
  char hash[MT_PWHASH_MAX];
  int rc = mt_password_hash(pw, hash, err, errlen);
  if (rc)
    return rc;
  random_hex(u.id, MT_ACCESS_ID_MAX / 2);
  snprintf(u.name, sizeof u.name, "%s", name);
  u.role = role;
  snprintf(u.patient, sizeof u.patient, "%s", has_patient ? patient : "");
  u.created_ms = now_ms();
  sqlite3_stmt *st;
  if ((rc = mt_sq__tx_begin(q, op, err, errlen)))
    return rc;
  rc = mt_sq__prepare(q, "INSERT INTO auth_user(id, name, role, patient,"
                         " pwhash, created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                      &st, op, err, errlen);
  if (!rc) {
    sqlite3_bind_text(st, 1, u.id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, mt_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, u.patient, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, u.created_ms);
    rc = mt_sq__step_done(q, st, op, err, errlen);
    if (rc == MT_ECONFLICT)
      mt_store__fail(err, errlen, rc, op, "a user named %s exists", name);
  }
  sodium_memzero(hash, sizeof hash);
  rc = mt_sq__tx_end(q, rc, op, err, errlen);
  if (!rc && out)
    *out = u;
  return rc;
}

int mt_store_user_set_password(mt_store *s, const char *name, const char *pw,
                               char *err, size_t errlen)
{
  const char *op = "user password";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  char hash[MT_PWHASH_MAX];
  int rc = mt_password_hash(pw, hash, err, errlen);
  if (rc)
    return rc;
  const char *p[] = {name, hash};
  rc = write1(q, "UPDATE auth_user SET pwhash = ?2 WHERE name = ?1", p, 2, 0,
              op, err, errlen);
  sodium_memzero(hash, sizeof hash);
  if (rc == 0)
    return mt_store__fail(err, errlen, MT_ENOTFOUND, op, "no such user");
  return rc < 0 ? rc : 0;
}

int mt_store_user_get(mt_store *s, const char *name, mt_user *out,
                      char hash[MT_PWHASH_MAX], char *err, size_t errlen)
{
  const char *op = "user get";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  if (!text_ok(name, MT_STORE_KEY_MAX + 1))
    return mt_store__fail(err, errlen, MT_ENOTFOUND, op, "no such user");
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "SELECT id, name, role, patient, pwhash,"
                                 " created_ms FROM auth_user WHERE name = ?1",
                              &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW) {
    memset(out, 0, sizeof *out);
    copy(out->id, sizeof out->id, sqlite3_column_text(st, 0));
    copy(out->name, sizeof out->name, sqlite3_column_text(st, 1));
    out->role = mt_role_parse((const char *)sqlite3_column_text(st, 2));
    copy(out->patient, sizeof out->patient, sqlite3_column_text(st, 3));
    if (hash)
      copy(hash, MT_PWHASH_MAX, sqlite3_column_text(st, 4));
    out->created_ms = sqlite3_column_int64(st, 5);
  } else
    rc = s_ == SQLITE_DONE
             ? mt_store__fail(err, errlen, MT_ENOTFOUND, op, "no such user")
             : mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  return rc;
}

/* ---- tokens ---- */

#define TOKEN_BYTES 32 /* 256 bits */
#define TOKEN_PREFIX "mt_"

static void token_hash(const char *text, unsigned char h[32])
{
  crypto_generichash(h, 32, (const unsigned char *)text, strlen(text),
                     NULL, 0);
}

static int scopes_ok(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return 0;
  return 1;
}

int mt_store_token_create(mt_store *s, mt_token *t, char text[MT_TOKEN_TEXT],
                          char *err, size_t errlen)
{
  const char *op = "token create";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  int rc = sodium_ready(op, err, errlen);
  if (rc)
    return rc;
  int64_t now = now_ms();
  if (t->role <= MT_ROLE_NONE || t->role >= MT_ROLE_COUNT)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "role: expected admin,"
                          " clinician, researcher, device, patient or "
                          "auditor");
  if ((t->role == MT_ROLE_DEVICE && (!*t->patient || !*t->device)) ||
      (t->role == MT_ROLE_PATIENT && !*t->patient))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "a %s token is bound "
                          "to a patient%s", mt_role_name(t->role),
                          t->role == MT_ROLE_DEVICE ? " and a device" : "");
  if ((*t->patient && !text_ok(t->patient, MT_STORE_KEY_MAX + 1)) ||
      (*t->device && !text_ok(t->device, MT_STORE_KEY_MAX + 1)) ||
      !scopes_ok(t->scopes))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "patient, device and "
                          "scopes must be printable");
  if (t->expires_ms <= now)
    return mt_store__fail(err, errlen, MT_EINVAL, op, "expiry must be in "
                          "the future");
  unsigned char raw[TOKEN_BYTES], h[32];
  randombytes_buf(raw, sizeof raw);
  memcpy(text, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1);
  sodium_bin2base64(text + sizeof TOKEN_PREFIX - 1,
                    MT_TOKEN_TEXT - (sizeof TOKEN_PREFIX - 1), raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  token_hash(text, h);
  random_hex(t->id, MT_ACCESS_ID_MAX / 2);
  t->created_ms = now;
  t->revoked_ms = 0;
  sqlite3_stmt *st;
  rc = mt_sq__prepare(q, "INSERT INTO auth_token(id, hash, role, user_id,"
                         " patient, device, scopes, created_ms, expires_ms)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                      &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, h, sizeof h, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, mt_role_name(t->role), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, t->user, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, t->patient, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, t->device, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 7, t->scopes, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 8, t->created_ms);
  sqlite3_bind_int64(st, 9, t->expires_ms);
  if ((rc = mt_sq__tx_begin(q, op, err, errlen))) {
    sqlite3_finalize(st);
    return rc;
  }
  rc = mt_sq__step_done(q, st, op, err, errlen);
  return mt_sq__tx_end(q, rc, op, err, errlen);
}

#define TOKEN_COLS "id, role, user_id, patient, device, scopes, created_ms," \
                   " expires_ms, revoked_ms, hash"

static void token_row(sqlite3_stmt *st, mt_token *t)
{
  memset(t, 0, sizeof *t);
  copy(t->id, sizeof t->id, sqlite3_column_text(st, 0));
  t->role = mt_role_parse((const char *)sqlite3_column_text(st, 1));
  copy(t->user, sizeof t->user, sqlite3_column_text(st, 2));
  copy(t->patient, sizeof t->patient, sqlite3_column_text(st, 3));
  copy(t->device, sizeof t->device, sqlite3_column_text(st, 4));
  copy(t->scopes, sizeof t->scopes, sqlite3_column_text(st, 5));
  t->created_ms = sqlite3_column_int64(st, 6);
  t->expires_ms = sqlite3_column_int64(st, 7);
  t->revoked_ms = sqlite3_column_int64(st, 8);
}

int mt_store_token_find(mt_store *s, const char *text, int64_t now,
                        mt_token *out, char *err, size_t errlen)
{
  const char *op = "token";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  if (!text || strlen(text) >= MT_TOKEN_TEXT ||
      strncmp(text, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1) ||
      sodium_init() < 0)
    return mt_store__fail(err, errlen, MT_EDENIED, op, "unknown token");
  unsigned char h[32];
  token_hash(text, h);
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "SELECT " TOKEN_COLS " FROM auth_token"
                                 " WHERE hash = ?1", &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
  int s_ = sqlite3_step(st);
  /* the index finds the row by its hash; the hash is compared again in
  ** constant time, so no timing depends on how much of it matched */
  if (s_ == SQLITE_ROW && sqlite3_column_bytes(st, 9) == (int)sizeof h &&
      !sodium_memcmp(sqlite3_column_blob(st, 9), h, sizeof h)) {
    token_row(st, out);
    if (out->revoked_ms)
      rc = mt_store__fail(err, errlen, MT_EDENIED, op, "token revoked");
    else if (out->expires_ms <= now)
      rc = mt_store__fail(err, errlen, MT_EDENIED, op, "token expired");
  } else
    rc = s_ == SQLITE_ROW || s_ == SQLITE_DONE
             ? mt_store__fail(err, errlen, MT_EDENIED, op, "unknown token")
             : mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  return rc;
}

int mt_store_token_valid(mt_store *s, const char *id, int64_t now,
                         char *err, size_t errlen)
{
  const char *op = "token";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  if (!text_ok(id, MT_ACCESS_ID_MAX + 1))
    return 0;
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "SELECT expires_ms > ?2 AND revoked_ms = 0"
                                 " FROM auth_token WHERE id = ?1", &st, op,
                              err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, now);
  int s_ = sqlite3_step(st);
  rc = s_ == SQLITE_ROW ? sqlite3_column_int(st, 0) != 0
       : s_ == SQLITE_DONE ? 0
                           : mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  return rc;
}

int mt_store_token_for_device(mt_store *s, const char *device, int64_t now,
                              mt_token *out, char *err, size_t errlen)
{
  const char *op = "token for device";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  if (!device || !text_ok(device, MT_STORE_KEY_MAX + 1))
    return mt_store__fail(err, errlen, MT_ENOTFOUND, op, "no device token "
                          "for device %s", device ? device : "");
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "SELECT " TOKEN_COLS " FROM auth_token"
                                 " WHERE role = 'device' AND device = ?1"
                                 " AND revoked_ms = 0 AND expires_ms > ?2"
                                 " ORDER BY created_ms DESC, id DESC LIMIT 1",
                              &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, device, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, now);
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW)
    token_row(st, out);
  else
    rc = s_ == SQLITE_DONE
             ? mt_store__fail(err, errlen, MT_ENOTFOUND, op, "no valid device"
                              " token for device %s", device)
             : mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  return rc;
}

int mt_store_token_list(mt_store *s, mt_token **out, size_t *n, char *err,
                        size_t errlen)
{
  const char *op = "token list";
  sq_store *q = sq_of(s, op, err, errlen);
  *out = NULL, *n = 0;
  if (!q)
    return MT_EINVAL;
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT " TOKEN_COLS " FROM auth_token ORDER BY"
                             " created_ms DESC, id", &st, op, err, errlen);
  size_t cap = 0;
  int s_;
  while (!rc && (s_ = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      mt_token *p = mt_sq__grow(*out, &cap, sizeof *p, 16);
      if (!p) {
        rc = mt_store__fail(err, errlen, MT_ENOMEM, op, "out of memory");
        break;
      }
      *out = p;
    }
    token_row(st, &(*out)[(*n)++]);
  }
  if (!rc && s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, op, err, errlen);
  if (st)
    sqlite3_finalize(st);
  if (rc) {
    free(*out);
    *out = NULL, *n = 0;
  }
  return rc;
}

/* One statement with text parameters, run to completion in a write. */
static int write1(sq_store *q, const char *sql, const char *const *p, int np,
                  int64_t num, const char *op, char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__tx_begin(q, op, err, errlen);
  if (rc)
    return rc;
  rc = mt_sq__prepare(q, sql, &st, op, err, errlen);
  if (!rc) {
    for (int k = 0; k < np; k++)
      sqlite3_bind_text(st, k + 1, p[k], -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) > np)
      sqlite3_bind_int64(st, np + 1, num);
    rc = mt_sq__step_done(q, st, op, err, errlen);
  }
  int changed = !rc && sqlite3_changes(q->db) > 0;
  rc = mt_sq__tx_end(q, rc, op, err, errlen);
  return rc ? rc : changed; /* 1: a row changed */
}

int mt_store_token_revoke(mt_store *s, const char *id, char *err,
                          size_t errlen)
{
  const char *op = "token revoke";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  if (!text_ok(id, MT_ACCESS_ID_MAX + 1))
    return mt_store__fail(err, errlen, MT_ENOTFOUND, op, "no token %s",
                          id ? id : "");
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT revoked_ms FROM auth_token WHERE id ="
                             " ?1", &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int s_ = sqlite3_step(st), found = s_ == SQLITE_ROW,
      revoked = found && sqlite3_column_int64(st, 0) != 0;
  sqlite3_finalize(st);
  if (!found)
    return s_ == SQLITE_DONE ? mt_store__fail(err, errlen, MT_ENOTFOUND, op,
                                              "no token %s", id)
                             : mt_sq__db_fail(q, op, err, errlen);
  if (revoked)
    return 0;
  const char *p[] = {id};
  rc = write1(q, "UPDATE auth_token SET revoked_ms = ?2 WHERE id = ?1 AND"
                 " revoked_ms = 0", p, 1, now_ms(), op, err, errlen);
  return rc < 0 ? rc : 0;
}

/* ---- care teams ---- */

int mt_store_careteam_add(mt_store *s, const char *who, const char *patient,
                          char *err, size_t errlen)
{
  const char *op = "careteam add";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  if (!text_ok(who, MT_STORE_KEY_MAX + 1) ||
      !text_ok(patient, MT_STORE_KEY_MAX + 1))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "member and patient "
                          "must be keys");
  const char *p[] = {who, patient};
  int rc = write1(q, "INSERT OR IGNORE INTO careteam(who, patient)"
                     " VALUES(?1, ?2)", p, 2, 0, op, err, errlen);
  return rc < 0 ? rc : 0;
}

int mt_store_careteam_has(mt_store *s, const char *who, const char *patient,
                          char *err, size_t errlen)
{
  const char *op = "careteam";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  if (!text_ok(who, MT_STORE_KEY_MAX + 1) ||
      !text_ok(patient, MT_STORE_KEY_MAX + 1))
    return 0;
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "SELECT 1 FROM careteam WHERE who = ?1 AND"
                                 " patient = ?2", &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, who, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, patient, -1, SQLITE_TRANSIENT);
  int s_ = sqlite3_step(st);
  rc = s_ == SQLITE_ROW ? 1 : s_ == SQLITE_DONE ? 0
                                                : mt_sq__db_fail(q, op, err,
                                                                 errlen);
  mt_sq__release(q, st);
  return rc;
}

/* ---- consents ---- */

int mt_store_consent_set(mt_store *s, const char *patient, mt_purpose p,
                         int active, const char *resource, char *err,
                         size_t errlen)
{
  const char *op = "consent";
  sq_store *q = sq_of(s, op, err, errlen);
  if (!q)
    return MT_EINVAL;
  if (!text_ok(patient, MT_STORE_KEY_MAX + 1) || p < 0 ||
      p >= MT_PURPOSE_COUNT || (active != 0 && active != 1) ||
      !text_ok(resource, MT_STORE_KEY_MAX + 1))
    return mt_store__fail(err, errlen, MT_EINVAL, op, "patient and resource "
                          "must be keys, the purpose known");
  sqlite3_stmt *st;
  int rc = mt_sq__tx_begin(q, op, err, errlen);
  if (rc)
    return rc;
  rc = mt_sq__prepare(q, "INSERT INTO consent(patient, purpose, active,"
                         " resource, changed_ms) VALUES(?1, ?2, ?3, ?4, ?5)"
                         " ON CONFLICT(patient, purpose) DO UPDATE SET"
                         " active = excluded.active, resource ="
                         " excluded.resource, changed_ms = excluded.changed_ms",
                      &st, op, err, errlen);
  if (!rc) {
    sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, mt_purpose_name(p), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, active);
    sqlite3_bind_text(st, 4, resource, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now_ms());
    rc = mt_sq__step_done(q, st, op, err, errlen);
  }
  return mt_sq__tx_end(q, rc, op, err, errlen);
}

int mt_store_consent_get(mt_store *s, const char *patient, mt_purpose p,
                         int *state, char *err, size_t errlen)
{
  const char *op = "consent";
  sq_store *q = sq_of(s, op, err, errlen);
  *state = -1;
  if (!q)
    return MT_EINVAL;
  if (!text_ok(patient, MT_STORE_KEY_MAX + 1) || p < 0 ||
      p >= MT_PURPOSE_COUNT)
    return 0;
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "SELECT active FROM consent WHERE patient ="
                                 " ?1 AND purpose = ?2", &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, mt_purpose_name(p), -1, SQLITE_STATIC);
  int s_ = sqlite3_step(st);
  if (s_ == SQLITE_ROW)
    *state = sqlite3_column_int(st, 0);
  else if (s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, op, err, errlen);
  mt_sq__release(q, st);
  return rc;
}
