/*
** Unit tests of the audit trail (include/medtwin/audit.h, docs/audit.md):
** the chain, its place in batches, the encoding, checkpoints and keys, and
** each kind of tampering, made with SQLite directly on the store's file,
** found with the right first bad record.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>
#include <sqlite3.h>

#include "rm_tree.h"
#include "medtwin/audit.h"
#include "medtwin/error.h"
#include "medtwin/store.h"

static char dir[64];
static mt_store *st;
static char err[MT_ERRMSG_MAX];
static unsigned char pk[MT_AUDIT_PK_BYTES], sk[MT_AUDIT_SK_BYTES];


static void setup(void)
{
  cr_assert_geq(sodium_init(), 0);
  snprintf(dir, sizeof dir, "/tmp/mt_audit_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(mt_store_open(dir, &st, err, sizeof err), 0, "%s", err);
  crypto_sign_keypair(pk, sk);
}

static void teardown(void)
{
  mt_store_close(st);
  st = NULL;
  rm_tree(dir);
}

TestSuite(audit, .init = setup, .fini = teardown);

static int64_t append(const char *resource)
{
  mt_audit_record r = {1700000000000, "user:7f3a", "read", resource,
                       "treatment", 200};
  int64_t seq = -1;
  cr_assert_eq(mt_store_audit_append(st, &r, &seq, err, sizeof err), 0,
               "%s", err);
  return seq;
}

/* Five records, a key, a checkpoint at record 5. */
static void five_and_checkpoint(void)
{
  char res[32];
  for (int i = 1; i <= 5; i++) {
    snprintf(res, sizeof res, "Patient/p%d", i);
    cr_assert_eq(append(res), i);
  }
  cr_assert_eq(mt_store_audit_set_key(st, pk, err, sizeof err), 0, "%s",
               err);
  int64_t seq;
  cr_assert_eq(mt_store_audit_checkpoint(st, sk, &seq, err, sizeof err), 0,
               "%s", err);
  cr_assert_eq(seq, 5);
}

/* Run SQL on the store's file through a second connection. */
static void raw(const char *sql)
{
  char path[128];
  snprintf(path, sizeof path, "%s/medtwin.db", dir);
  sqlite3 *db;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s",
               sqlite3_errmsg(db));
  sqlite3_close(db);
}

/* Verify: broken at first bad seq, the reason containing what. */
static void expect_bad(int64_t seq, const char *what)
{
  mt_audit_report rep;
  cr_assert_eq(mt_store_audit_verify(st, &rep, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(rep.intact, 0, "tampering not found");
  cr_assert_eq(rep.bad_seq, seq, "first bad %lld, not %lld: %s",
               (long long)rep.bad_seq, (long long)seq, rep.reason);
  cr_assert_not_null(strstr(rep.reason, what), "%s", rep.reason);
}

Test(audit, append_chains_and_verifies)
{
  mt_audit_report rep;
  cr_assert_eq(mt_store_audit_verify(st, &rep, err, sizeof err), 0);
  cr_assert(rep.intact);
  cr_assert_eq(rep.records, 0);
  five_and_checkpoint();
  cr_assert_eq(mt_store_audit_verify(st, &rep, err, sizeof err), 0, "%s",
               err);
  cr_assert(rep.intact, "%s", rep.reason);
  cr_assert_eq(rep.records, 5);
  cr_assert_eq(rep.checkpoints, 1);
  cr_assert_eq(rep.head_seq, 5);
  cr_assert(rep.has_key);
  /* the head is the chain recomputed by hand */
  unsigned char prev[MT_AUDIT_HASH_BYTES] = {0}, h[MT_AUDIT_HASH_BYTES];
  char res[32];
  for (int i = 1; i <= 5; i++) {
    snprintf(res, sizeof res, "Patient/p%d", i);
    mt_audit_record r = {1700000000000, "user:7f3a", "read", res,
                         "treatment", 200};
    mt_audit_hash(&r, i, prev, h);
    memcpy(prev, h, sizeof h);
  }
  cr_assert_eq(memcmp(rep.head, h, sizeof h), 0);
}

Test(audit, rejects_bad_fields)
{
  mt_audit_record r = {1, "user:1", "read", "Patient/p", "treatment", 200};
  r.actor = "";
  cr_assert_eq(mt_store_audit_append(st, &r, NULL, err, sizeof err),
               MT_EINVAL);
  r.actor = "a\nb";
  cr_assert_eq(mt_store_audit_append(st, &r, NULL, err, sizeof err),
               MT_EINVAL);
  r.actor = "user:1", r.resource = NULL;
  cr_assert_eq(mt_store_audit_append(st, &r, NULL, err, sizeof err),
               MT_EINVAL);
}

Test(audit, part_of_the_batch)
{
  cr_assert_eq(append("Patient/a"), 1);
  cr_assert_eq(mt_store_begin(st, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_resource_create(st, "Patient", "p1", "{}", NULL, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(append("Patient/p1"), 2);
  cr_assert_eq(mt_store_rollback(st, err, sizeof err), 0, "%s", err);
  /* rolled back with the access: no record, and the next one is 2 */
  cr_assert_eq(append("Patient/b"), 2);
  /* a savepoint unit undone takes its record with it */
  cr_assert_eq(mt_store_begin(st, err, sizeof err), 0);
  cr_assert_eq(mt_store_savepoint(st, err, sizeof err), 0);
  cr_assert_eq(append("Patient/c"), 3);
  cr_assert_eq(mt_store_savepoint_end(st, 0, err, sizeof err), 0);
  cr_assert_eq(mt_store_savepoint(st, err, sizeof err), 0);
  cr_assert_eq(append("Patient/d"), 3);
  cr_assert_eq(mt_store_savepoint_end(st, 1, err, sizeof err), 0);
  cr_assert_eq(mt_store_commit(st, err, sizeof err), 0, "%s", err);
  mt_audit_report rep;
  cr_assert_eq(mt_store_audit_verify(st, &rep, err, sizeof err), 0);
  cr_assert(rep.intact, "%s", rep.reason);
  cr_assert_eq(rep.records, 3);
}

Test(audit, encoding_is_not_ambiguous)
{
  unsigned char g[MT_AUDIT_HASH_BYTES] = {0}, a[MT_AUDIT_HASH_BYTES],
                b[MT_AUDIT_HASH_BYTES];
  mt_audit_record r1 = {5, "ab", "c", "x", "p", 200};
  mt_audit_record r2 = {5, "a", "bc", "x", "p", 200};
  mt_audit_hash(&r1, 1, g, a);
  mt_audit_hash(&r2, 1, g, b);
  cr_assert_neq(memcmp(a, b, sizeof a), 0);
  /* every field counts: seq, time, outcome, prev */
  mt_audit_hash(&r1, 2, g, b);
  cr_assert_neq(memcmp(a, b, sizeof a), 0);
  r2 = r1, r2.t_ms = 6;
  mt_audit_hash(&r2, 1, g, b);
  cr_assert_neq(memcmp(a, b, sizeof a), 0);
  r2 = r1, r2.outcome = 201;
  mt_audit_hash(&r2, 1, g, b);
  cr_assert_neq(memcmp(a, b, sizeof a), 0);
  g[31] = 1;
  mt_audit_hash(&r1, 1, g, b);
  cr_assert_neq(memcmp(a, b, sizeof a), 0);
}

Test(audit, edited_field)
{
  five_and_checkpoint();
  raw("UPDATE audit SET actor = 'user:0000' WHERE seq = 3");
  expect_bad(3, "does not match its contents");
}

Test(audit, edited_hash)
{
  five_and_checkpoint();
  raw("UPDATE audit SET hash = zeroblob(32) WHERE seq = 2");
  expect_bad(2, "does not match its contents");
}

Test(audit, deleted_middle_record)
{
  five_and_checkpoint();
  raw("DELETE FROM audit WHERE seq = 3");
  expect_bad(4, "follows record 2");
}

Test(audit, swapped_records)
{
  five_and_checkpoint();
  raw("UPDATE audit SET seq = -2 WHERE seq = 2;"
      "UPDATE audit SET seq = 2 WHERE seq = 4;"
      "UPDATE audit SET seq = 4 WHERE seq = -2");
  expect_bad(2, "previous hash");
}

Test(audit, truncated_tail_after_checkpoint)
{
  five_and_checkpoint();
  raw("DELETE FROM audit WHERE seq >= 4");
  expect_bad(4, "truncated");
}

/* The tail after record 3 rewritten as a valid chain: only the checkpoint
** at record 5 tells. */
Test(audit, rewritten_tail_after_checkpoint)
{
  five_and_checkpoint();
  raw("DELETE FROM audit WHERE seq >= 4");
  cr_assert_eq(append("Patient/x4"), 4);
  cr_assert_eq(append("Patient/x5"), 5);
  expect_bad(5, "not the head that checkpoint 1 signed");
}

Test(audit, forged_checkpoint)
{
  five_and_checkpoint();
  raw("UPDATE audit_checkpoint SET sig = zeroblob(64)");
  expect_bad(0, "signature does not verify");
}

Test(audit, checkpoint_needs_the_stored_key)
{
  cr_assert_eq(mt_store_audit_checkpoint(st, sk, NULL, err, sizeof err),
               MT_ENOTFOUND);
  cr_assert_eq(mt_store_audit_set_key(st, pk, err, sizeof err), 0);
  cr_assert_eq(mt_store_audit_set_key(st, pk, err, sizeof err),
               MT_ECONFLICT);
  unsigned char pk2[MT_AUDIT_PK_BYTES], sk2[MT_AUDIT_SK_BYTES];
  crypto_sign_keypair(pk2, sk2);
  cr_assert_eq(mt_store_audit_checkpoint(st, sk2, NULL, err, sizeof err),
               MT_EDENIED);
  int64_t seq = -1;
  cr_assert_eq(mt_store_audit_checkpoint(st, sk, &seq, err, sizeof err), 0);
  cr_assert_eq(seq, 0, "an empty chain's head is genesis");
}

Test(audit, key_files)
{
  char in[128], out[128];
  snprintf(in, sizeof in, "%s/key", dir);
  snprintf(out, sizeof out, "%s.key", dir);
  cr_assert_eq(mt_audit_key_save(in, dir, sk, err, sizeof err), MT_EINVAL);
  cr_assert_eq(access(in, F_OK), -1);
  cr_assert_eq(mt_audit_key_save(out, dir, sk, err, sizeof err), 0, "%s",
               err);
  struct stat sb;
  cr_assert_eq(stat(out, &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0600);
  cr_assert_eq(mt_audit_key_save(out, dir, sk, err, sizeof err),
               MT_ECONFLICT);
  unsigned char back[MT_AUDIT_SK_BYTES];
  cr_assert_eq(mt_audit_key_load(out, dir, back, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(memcmp(back, sk, sizeof sk), 0);
  chmod(out, 0644);
  cr_assert_eq(mt_audit_key_load(out, dir, back, err, sizeof err),
               MT_EDENIED);
  unlink(out);
}

/* A version 3 store gets the audit tables when opened. */
Test(audit, migrates_from_version_3)
{
  mt_store_close(st);
  st = NULL;
  /* a version 3 file: neither the audit (4) nor access control (5) */
  raw("DROP TABLE audit; DROP TABLE audit_checkpoint; DROP TABLE audit_key;"
      "DROP TABLE auth_user; DROP TABLE auth_token; DROP TABLE careteam;"
      "DROP TABLE consent; DROP INDEX resource_by_owner;"
      "ALTER TABLE resource DROP COLUMN owner;"
      "UPDATE meta SET value = '3' WHERE key = 'schema_version'");
  cr_assert_eq(mt_store_open(dir, &st, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_schema_version(), 6);
  cr_assert_eq(append("Patient/m"), 1);
}
