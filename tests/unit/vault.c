/*
** Encryption at rest and erasure (include/medtwin/vault.h, store.h):
** master key files, the key store, sealing, an encrypted store whose files
** hold none of the personal values written, refusals, blind-index search,
** pseudonymous audit records, rotation and erasure. Every test works in its
** own directories under /tmp. The files are searched byte by byte for the
** values written (the same search finds them in a store without encryption,
** so it is not blind).
*/
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "medtwin/audit.h"
#include "medtwin/error.h"
#include "medtwin/store.h"
#include "medtwin/vault.h"
#include "rm_tree.h"

static char base[64], data[128], keys[128], mkf[128];
static unsigned char mk[MT_VAULT_KEY_BYTES];
static mt_vault *v;
static mt_store *st;
static char err[MT_ERRMSG_MAX];

static void setup(void)
{
  snprintf(base, sizeof base, "/tmp/mt_vault_XXXXXX");
  cr_assert_not_null(mkdtemp(base));
  snprintf(data, sizeof data, "%s/data", base);
  snprintf(keys, sizeof keys, "%s/keys", base);
  snprintf(mkf, sizeof mkf, "%s/master.key", base);
  cr_assert_eq(mt_vault_master_create(mkf, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_vault_master_load(mkf, mk, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_vault_open(keys, data, mk, &v, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(mt_store_open_vault(data, v, &st, err, sizeof err), 0, "%s",
               err);
}

static void teardown(void)
{
  mt_store_close(st);
  mt_vault_close(v);
  st = NULL, v = NULL;
  rm_tree(data);
  rm_tree(keys);
  rm_tree(base);
}

TestSuite(vault, .init = setup, .fini = teardown);

/* 1 if the n bytes of needle occur in file path. */
static int file_has(const char *path, const void *needle, size_t n)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  rewind(f);
  char *buf = malloc((size_t)len + 1);
  size_t got = fread(buf, 1, (size_t)len, f);
  fclose(f);
  int hit = 0;
  for (size_t i = 0; !hit && i + n <= got; i++)
    hit = !memcmp(buf + i, needle, n);
  free(buf);
  return hit;
}

/* 1 if needle occurs in any file of d (medtwin.db, -wal, -shm). */
static int dir_has(const char *d, const void *needle, size_t n)
{
  static const char *const files[] = {"medtwin.db", "medtwin.db-wal",
                                      "medtwin.db-shm", "keys.db"};
  char p[256];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(p, sizeof p, "%s/%s", d, files[i]);
    if (file_has(p, needle, n))
      return 1;
  }
  return 0;
}

static const char patient_json[] =
    "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":"
    "\"Zweistein\",\"given\":[\"Eugenia\"]}],\"birthDate\":\"1953-07-14\"}";
static const double glucose = 173.25;

/* Patient p1 with an identifier token, a reading, a snapshot, an alert. */
static void write_patient(mt_store *s)
{
  const char *tok[] = {MT_STORE_IDENT_PREFIX "urn:oid:1.2.36|MRN-884422"};
  mt_res_index ix = {.patient = "p1", .codes = tok, .n_codes = 1};
  cr_assert_eq(mt_store_resource_create(s, "Patient", "p1", patient_json,
                                        NULL, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_resource_set_index(s, "Patient", "p1", &ix, err,
                                           sizeof err), 0, "%s", err);
  mt_obs o = {.patient = "p1", .device = "cgm1", .code = "2339-0",
              .unit = "mg/dL", .t_ms = 1700000000000LL, .value = glucose};
  cr_assert_geq(mt_store_obs_append(s, &o, NULL, err, sizeof err), 0, "%s",
                err);
  cr_assert_eq(mt_store_snapshot_put(s, "p1", "m", 5, "TWINSTATE-Zweistein",
                                     19, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_event_add(s, MT_STORE_ALERT, "p1", 7, "low",
                                  "{\"note\":\"Zweistein low\"}", err,
                                  sizeof err), 0, "%s", err);
  mt_audit_record r = {0, "user:1", "read", "Patient/p1/Observation",
                       "treatment", 200};
  cr_assert_eq(mt_store_audit_append(s, &r, NULL, err, sizeof err), 0, "%s",
               err);
}

/* The reading as 8 bytes in either order (SQLite writes a REAL big-endian:
** https://www.sqlite.org/fileformat2.html#record_format). */
static int dir_has_value(const char *d)
{
  unsigned char le[8], be[8];
  memcpy(le, &glucose, 8);
  for (int i = 0; i < 8; i++)
    be[i] = le[7 - i];
  return dir_has(d, le, 8) || dir_has(d, be, 8);
}

static int has_personal(const char *d)
{
  return dir_has(d, "Zweistein", 9) || dir_has(d, "1953-07-14", 10) ||
         dir_has(d, "MRN-884422", 10) || dir_has_value(d) ||
         dir_has(d, "Patient/p1/", 11);
}

Test(vault, the_search_finds_plaintext_in_a_store_without_encryption)
{
  char plain[160];
  mt_store *p;
  snprintf(plain, sizeof plain, "%s/plain", base);
  cr_assert_eq(mt_store_open(plain, &p, err, sizeof err), 0, "%s", err);
  write_patient(p);
  mt_store_close(p);
  cr_assert(dir_has(plain, "Zweistein", 9));
  cr_assert(dir_has(plain, "MRN-884422", 10));
  cr_assert(dir_has_value(plain), "the value as an IEEE double");
  cr_assert(dir_has(plain, "Patient/p1/", 11));
  rm_tree(plain);
}

Test(vault, no_personal_value_reaches_the_files_and_all_reads_back)
{
  write_patient(st);
  cr_assert_not(has_personal(data));
  cr_assert_not(has_personal(keys), "the key store holds keys only");

  mt_resource r;
  cr_assert_eq(mt_store_resource_read(st, "Patient", "p1", &r, err,
                                      sizeof err), 0, "%s", err);
  cr_assert_str_eq(r.json, patient_json);
  mt_resource_clear(&r);
  mt_obs *o = NULL;
  size_t n = 0;
  cr_assert_eq(mt_store_obs_query(st, "p1", "2339-0", 0, INT64_MAX, &o, &n,
                                  err, sizeof err), 0, "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_eq(o[0].value, glucose, "bit for bit");
  free(o);
  void *blob;
  size_t len;
  int64_t at;
  cr_assert_eq(mt_store_snapshot_latest(st, "p1", "m", &at, &blob, &len, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(len, 19);
  cr_assert_eq(memcmp(blob, "TWINSTATE-Zweistein", 19), 0);
  free(blob);
  mt_store_event *ev;
  cr_assert_eq(mt_store_event_list(st, MT_STORE_ALERT, "p1", 0, 100, &ev,
                                   &n, err, sizeof err), 0, "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(ev[0].payload, "{\"note\":\"Zweistein low\"}");
  mt_store_event_list_free(ev, n);
  cr_assert(mt_store_encrypted(st));
}

Test(vault, identifiers_are_found_through_the_blind_index)
{
  write_patient(st);
  mt_resource *list = NULL;
  size_t n = 0;
  long total = 0;
  mt_res_query q = {.type = "Patient", .code = "MRN-884422", .ident = 1,
                    .count = 10};
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(total, 1);
  cr_assert_str_eq(list[0].id, "p1");
  mt_resource_list_free(list, n);
  q.ident = 0; /* the plain value is not what is stored */
  list = NULL, n = 0, total = 0;
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(total, 0);
}

Test(vault, audit_records_name_the_patient_by_pseudonym)
{
  write_patient(st);
  mt_audit_entry *e = NULL;
  size_t n = 0;
  cr_assert_eq(mt_store_audit_list(st, NULL, 0, 10, &e, &n, err, sizeof err),
               0, "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_eq(strncmp(e[0].resource, "Patient/~", 9), 0, "%s",
               e[0].resource);
  cr_assert_not_null(strstr(e[0].resource, "/Observation"));
  free(e);
  /* asked for by the patient's id, listed under it */
  cr_assert_eq(mt_store_audit_list(st, "Patient/p1", 0, 10, &e, &n, err,
                                   sizeof err), 0, "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(e[0].resource, "Patient/p1/Observation");
  free(e);
  mt_audit_report rep;
  cr_assert_eq(mt_store_audit_verify(st, &rep, err, sizeof err), 0);
  cr_assert(rep.intact, "%s", rep.reason);
}

Test(vault, refusals)
{
  write_patient(st);
  mt_store_close(st);
  st = NULL;
  mt_store *x = NULL;
  cr_assert_eq(mt_store_open(data, &x, err, sizeof err), MT_EDENIED);
  cr_assert_null(x);
  cr_assert_not_null(strstr(err, "encrypted"), "%s", err);

  /* another key store */
  char k2[160];
  snprintf(k2, sizeof k2, "%s/k2", base);
  mt_vault *v2;
  cr_assert_eq(mt_vault_open(k2, data, mk, &v2, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(mt_store_open_vault(data, v2, &x, err, sizeof err),
               MT_EDENIED);
  cr_assert_not_null(strstr(err, "not this one"), "%s", err);
  mt_vault_close(v2);
  rm_tree(k2);

  /* a wrong master key */
  unsigned char bad[MT_VAULT_KEY_BYTES];
  memcpy(bad, mk, sizeof bad);
  bad[0] ^= 1;
  mt_vault *v3;
  cr_assert_eq(mt_vault_open(keys, data, bad, &v3, err, sizeof err),
               MT_EDENIED);
  cr_assert_null(v3);

  /* the key store inside the data directory */
  char inside[160];
  snprintf(inside, sizeof inside, "%s/keys", data);
  cr_assert_eq(mt_vault_open(inside, data, mk, &v3, err, sizeof err),
               MT_EINVAL);
  rmdir(inside);

  /* a store holding plaintext data is not silently mixed */
  char plain[160];
  snprintf(plain, sizeof plain, "%s/plain", base);
  cr_assert_eq(mt_store_open(plain, &x, err, sizeof err), 0, "%s", err);
  write_patient(x);
  mt_store_close(x);
  cr_assert_eq(mt_store_open_vault(plain, v, &x, err, sizeof err),
               MT_EINVAL);
  cr_assert_not_null(strstr(err, "without encryption"), "%s", err);
  rm_tree(plain);

  /* a master key file readable by others, or not a key */
  chmod(mkf, 0644);
  cr_assert_eq(mt_vault_master_load(mkf, bad, err, sizeof err), MT_EDENIED);
  chmod(mkf, 0600);
  cr_assert_eq(mt_vault_master_create(mkf, err, sizeof err), MT_ECONFLICT);
  int fd = open(mkf, O_WRONLY | O_TRUNC);
  cr_assert_eq(write(fd, "zz\n", 3), 3);
  close(fd);
  cr_assert_eq(mt_vault_master_load(mkf, bad, err, sizeof err), MT_EPARSE);
}

Test(vault, sealed_values_do_not_open_elsewhere)
{
  unsigned char k[MT_VAULT_KEY_BYTES], out[5 + MT_SEAL_OVERHEAD], back[5];
  cr_assert_eq(mt_vault_key(v, "p9", 1, k, err, sizeof err), 0, "%s", err);
  mt_seal(k, "row1", 4, "hello", 5, out);
  cr_assert_eq(mt_unseal(k, "row1", 4, out, sizeof out, back), 0);
  cr_assert_eq(memcmp(back, "hello", 5), 0);
  cr_assert_eq(mt_unseal(k, "row2", 4, out, sizeof out, back), MT_EIO,
               "moved to another row");
  out[sizeof out - 1] ^= 0x80;
  cr_assert_eq(mt_unseal(k, "row1", 4, out, sizeof out, back), MT_EIO,
               "altered");
  out[0] = 9;
  cr_assert_eq(mt_unseal(k, "row1", 4, out, sizeof out, back), MT_EPARSE);
  unsigned char k2[MT_VAULT_KEY_BYTES];
  cr_assert_eq(mt_vault_key(v, "p10", 1, k2, err, sizeof err), 0);
  cr_assert_neq(memcmp(k, k2, sizeof k), 0, "a key per patient");
  cr_assert_eq(mt_vault_key(v, "p11", 0, k2, err, sizeof err),
               MT_ENOTFOUND);
}

Test(vault, rotation_rewraps_every_key)
{
  write_patient(st);
  mt_store_close(st);
  st = NULL;
  long before = 0, n = 0;
  cr_assert_eq(mt_vault_count(v, &before, err, sizeof err), 0);
  cr_assert_geq(before, 2, "the store's own key and p1's");
  unsigned char nk[MT_VAULT_KEY_BYTES];
  char nkf[160];
  snprintf(nkf, sizeof nkf, "%s/new.key", base);
  cr_assert_eq(mt_vault_master_create(nkf, err, sizeof err), 0);
  cr_assert_eq(mt_vault_master_load(nkf, nk, err, sizeof err), 0);
  cr_assert_eq(mt_vault_rotate(v, nk, &n, err, sizeof err), 0, "%s", err);
  cr_assert_eq(n, before);
  mt_vault_close(v);
  v = NULL;
  cr_assert_eq(mt_vault_open(keys, data, mk, &v, err, sizeof err),
               MT_EDENIED, "the old master key no longer opens it");
  cr_assert_eq(mt_vault_open(keys, data, nk, &v, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(mt_store_open_vault(data, v, &st, err, sizeof err), 0, "%s",
               err);
  mt_resource r;
  cr_assert_eq(mt_store_resource_read(st, "Patient", "p1", &r, err,
                                      sizeof err), 0, "%s", err);
  cr_assert_str_eq(r.json, patient_json);
  mt_resource_clear(&r);
}

Test(vault, erasure_destroys_the_key_and_every_row)
{
  write_patient(st);
  cr_assert_eq(mt_store_resource_create_of(st, "p1", "Observation", "o1",
                                           "{\"note\":\"Zweistein\"}", NULL,
                                           err, sizeof err), 0, "%s", err);
  /* an earlier backup, and p2 who stays */
  char bak[160];
  snprintf(bak, sizeof bak, "%s/before.db", base);
  cr_assert_eq(mt_store_resource_create(st, "Patient", "p2",
                                        "{\"name\":\"Other\"}", NULL, err,
                                        sizeof err), 0);
  cr_assert_eq(mt_store_backup(st, bak, err, sizeof err), 0, "%s", err);

  cr_assert_not(file_has(bak, "Zweistein", 9) ||
                file_has(bak, "MRN-884422", 10) ||
                file_has(bak, "1953-07-14", 10), "the backup is sealed too");
  mt_store_erased e;
  cr_assert_eq(mt_store_patient_erase(st, "p1", &e, err, sizeof err), 0,
               "%s", err);
  cr_assert(e.key_destroyed);
  cr_assert_eq(e.resources, 2);
  cr_assert_eq(e.observations, 1);
  cr_assert_eq(e.snapshots, 1);
  cr_assert_eq(e.alerts, 1);
  cr_assert(e.wal_truncated);
  mt_resource r;
  cr_assert_eq(mt_store_resource_read(st, "Patient", "p1", &r, err,
                                      sizeof err), MT_ENOTFOUND);
  cr_assert_eq(mt_store_resource_read(st, "Patient", "p2", &r, err,
                                      sizeof err), 0, "%s", err);
  mt_resource_clear(&r);
  unsigned char k[MT_VAULT_KEY_BYTES];
  cr_assert_eq(mt_vault_key(v, "p1", 0, k, err, sizeof err), MT_ENOTFOUND);
  cr_assert_not(has_personal(data));
  struct stat sb;
  char wal[160];
  snprintf(wal, sizeof wal, "%s/medtwin.db-wal", data);
  cr_assert(stat(wal, &sb) != 0 || sb.st_size == 0, "log truncated");

  /* the earlier backup, restored beside the same key store: p1's rows
  ** are there, sealed, and do not open; p2 does */
  char restored[160], db[200];
  snprintf(restored, sizeof restored, "%s/restored", base);
  mkdir(restored, 0700);
  snprintf(db, sizeof db, "%s/medtwin.db", restored);
  cr_assert_eq(rename(bak, db), 0);
  mt_store *old;
  cr_assert_eq(mt_store_open_vault(restored, v, &old, err, sizeof err), 0,
               "%s", err);
  cr_assert_eq(mt_store_resource_read(old, "Patient", "p1", &r, err,
                                      sizeof err), MT_EIO);
  cr_assert_not_null(strstr(err, "destroyed"), "%s", err);
  cr_assert_eq(mt_store_resource_read(old, "Patient", "p2", &r, err,
                                      sizeof err), 0, "%s", err);
  mt_resource_clear(&r);
  /* erasing again on the restored copy removes the rows themselves */
  cr_assert_eq(mt_store_patient_erase(old, "p1", &e, err, sizeof err), 0);
  cr_assert_not(e.key_destroyed, "gone already");
  cr_assert_eq(e.resources, 2);
  mt_store_close(old);
  cr_assert_not(has_personal(restored));
  rm_tree(restored);

  /* erasing again changes nothing */
  cr_assert_eq(mt_store_patient_erase(st, "p1", &e, err, sizeof err), 0);
  cr_assert_eq(e.resources + e.observations + e.key_destroyed, 0);
}
