/*
** Unit tests of access control in the store (include/medtwin/access.h):
** Argon2id passwords, tokens kept only as hashes with expiry and
** revocation, SMART scopes, care teams, consents, and the reach of a
** search (only what the caller may see is counted).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "rm_tree.h"
#include "medtwin/access.h"
#include "medtwin/error.h"
#include "medtwin/store.h"

static char dir[64];
static mt_store *st;
static char err[MT_ERRMSG_MAX];

static void setup(void)
{
  snprintf(dir, sizeof dir, "/tmp/mt_access_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(mt_store_open(dir, &st, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
  mt_store_close(st);
  st = NULL;
  rm_tree(dir);
}

TestSuite(access, .init = setup, .fini = teardown);

static int64_t wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether the store's file holds the bytes of text anywhere (a plain
** scan of the database and its WAL). */
static int file_holds(const char *text)
{
  const char *names[] = {"medtwin.db", "medtwin.db-wal"};
  int found = 0;
  for (int k = 0; k < 2 && !found; k++) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, names[k]);
    FILE *f = fopen(p, "rb");
    if (!f)
      continue;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    cr_assert_not_null(b);
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    size_t tl = strlen(text);
    for (size_t i = 0; i + tl <= got && !found; i++)
      found = !memcmp(b + i, text, tl);
    free(b);
  }
  return found;
}

Test(access, password_is_argon2id_and_verifies_only_itself)
{
  char h[MT_PWHASH_MAX];
  cr_assert_eq(mt_password_hash("correct horse", h, err, sizeof err), 0, "%s",
               err);
  /* the PHC string of libsodium's Argon2id (RFC 9106) */
  cr_assert_eq(strncmp(h, "$argon2id$", 10), 0, "%s", h);
  cr_assert_eq(mt_password_verify(h, "correct horse"), 0);
  cr_assert_eq(mt_password_verify(h, "correct horsE"), MT_EDENIED);
  cr_assert_eq(mt_password_verify(h, ""), MT_EDENIED);
  char h2[MT_PWHASH_MAX];
  cr_assert_eq(mt_password_hash("correct horse", h2, err, sizeof err), 0);
  cr_assert_str_neq(h, h2, "a fresh salt each time");
  cr_assert_eq(mt_password_hash("short", h, err, sizeof err), MT_EINVAL);
}

Test(access, users_by_name_with_pseudonymous_ids)
{
  mt_user u, v;
  cr_assert_eq(mt_store_user_add(st, "alice", "secret-pass-1",
                                 MT_ROLE_CLINICIAN, NULL, &u, err, sizeof err),
               0, "%s", err);
  cr_assert_eq(strlen(u.id), MT_ACCESS_ID_MAX);
  cr_assert_null(strstr(u.id, "alice"));
  char h[MT_PWHASH_MAX];
  cr_assert_eq(mt_store_user_get(st, "alice", &v, h, err, sizeof err), 0);
  cr_assert_str_eq(v.id, u.id);
  cr_assert_eq(v.role, MT_ROLE_CLINICIAN);
  cr_assert_eq(mt_password_verify(h, "secret-pass-1"), 0);
  cr_assert_eq(mt_store_user_add(st, "alice", "another-pass", MT_ROLE_ADMIN,
                                 NULL, NULL, err, sizeof err),
               MT_ECONFLICT);
  cr_assert_eq(mt_store_user_get(st, "bob", &v, NULL, err, sizeof err),
               MT_ENOTFOUND);
  /* a patient user names its record; no other role does */
  cr_assert_eq(mt_store_user_add(st, "pat", "secret-pass-1", MT_ROLE_PATIENT,
                                 NULL, NULL, err, sizeof err),
               MT_EINVAL);
  cr_assert_eq(mt_store_user_add(st, "doc", "secret-pass-1",
                                 MT_ROLE_CLINICIAN, "p1", NULL, err,
                                 sizeof err),
               MT_EINVAL);
  cr_assert(!file_holds("secret-pass-1"), "no password in the file");
  cr_assert_eq(mt_store_user_set_password(st, "alice", "new-pass-22", err,
                                          sizeof err),
               0, "%s", err);
  cr_assert_eq(mt_store_user_get(st, "alice", &v, h, err, sizeof err), 0);
  cr_assert_eq(mt_password_verify(h, "secret-pass-1"), MT_EDENIED);
  cr_assert_eq(mt_password_verify(h, "new-pass-22"), 0);
}

static void issue(mt_token *t, mt_role role, const char *patient,
                  const char *device, int64_t ttl_ms, char *text)
{
  memset(t, 0, sizeof *t);
  t->role = role;
  if (patient)
    snprintf(t->patient, sizeof t->patient, "%s", patient);
  if (device)
    snprintf(t->device, sizeof t->device, "%s", device);
  t->expires_ms = wall_ms() + ttl_ms;
  cr_assert_eq(mt_store_token_create(st, t, text, err, sizeof err), 0, "%s",
               err);
}

Test(access, tokens_are_256_bits_kept_as_hashes)
{
  mt_token t, f;
  char text[MT_TOKEN_TEXT], text2[MT_TOKEN_TEXT];
  issue(&t, MT_ROLE_ADMIN, NULL, NULL, 60000, text);
  /* "mt_" and 43 base64url characters: 256 bits (RFC 4648 section 5) */
  cr_assert_eq(strlen(text), 3 + 43, "%s", text);
  cr_assert_eq(strncmp(text, "mt_", 3), 0);
  issue(&t, MT_ROLE_ADMIN, NULL, NULL, 60000, text2);
  cr_assert_str_neq(text, text2);
  cr_assert_eq(mt_store_token_find(st, text2, wall_ms(), &f, err,
                                   sizeof err),
               0, "%s", err);
  cr_assert_str_eq(f.id, t.id);
  cr_assert_eq(f.role, MT_ROLE_ADMIN);
  cr_assert(!file_holds(text2 + 3), "the token itself is never stored");
  /* one character changed: unknown */
  text2[10] = text2[10] == 'A' ? 'B' : 'A';
  cr_assert_eq(mt_store_token_find(st, text2, wall_ms(), &f, err,
                                   sizeof err),
               MT_EDENIED);
  cr_assert_not_null(strstr(err, "unknown"), "%s", err);
  cr_assert_eq(mt_store_token_find(st, "", wall_ms(), &f, err, sizeof err),
               MT_EDENIED);
}

Test(access, tokens_expire_and_revoke)
{
  mt_token t, f;
  char text[MT_TOKEN_TEXT];
  issue(&t, MT_ROLE_CLINICIAN, NULL, NULL, 60000, text);
  int64_t now = wall_ms();
  cr_assert_eq(mt_store_token_find(st, text, now, &f, err, sizeof err), 0);
  cr_assert_eq(mt_store_token_find(st, text, t.expires_ms, &f, err,
                                   sizeof err),
               MT_EDENIED, "expired at its expiry");
  cr_assert_not_null(strstr(err, "expired"), "%s", err);
  cr_assert_eq(mt_store_token_revoke(st, t.id, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(mt_store_token_find(st, text, now, &f, err, sizeof err),
               MT_EDENIED);
  cr_assert_not_null(strstr(err, "revoked"), "%s", err);
  cr_assert_eq(mt_store_token_revoke(st, t.id, err, sizeof err), 0,
               "revoking twice is no change");
  cr_assert_eq(mt_store_token_revoke(st, "0000000000000000", err,
                                     sizeof err),
               MT_ENOTFOUND);
  mt_token *all;
  size_t n;
  cr_assert_eq(mt_store_token_list(st, &all, &n, err, sizeof err), 0);
  cr_assert_eq(n, 1);
  cr_assert_gt(all[0].revoked_ms, 0);
  free(all);
  /* an expiry in the past is refused at issue */
  memset(&t, 0, sizeof t);
  t.role = MT_ROLE_ADMIN;
  t.expires_ms = now - 1;
  cr_assert_eq(mt_store_token_create(st, &t, text, err, sizeof err),
               MT_EINVAL);
}

Test(access, device_and_patient_tokens_are_bound)
{
  mt_token t;
  char text[MT_TOKEN_TEXT];
  memset(&t, 0, sizeof t);
  t.role = MT_ROLE_DEVICE;
  t.expires_ms = wall_ms() + 60000;
  snprintf(t.patient, sizeof t.patient, "p1");
  cr_assert_eq(mt_store_token_create(st, &t, text, err, sizeof err),
               MT_EINVAL, "a device token names its device");
  snprintf(t.device, sizeof t.device, "cgm-1");
  cr_assert_eq(mt_store_token_create(st, &t, text, err, sizeof err), 0);
  memset(&t, 0, sizeof t);
  t.role = MT_ROLE_PATIENT;
  t.expires_ms = wall_ms() + 60000;
  cr_assert_eq(mt_store_token_create(st, &t, text, err, sizeof err),
               MT_EINVAL, "a patient token names its patient");
}

Test(access, smart_scopes)
{
  /* SMART App Launch v2 (hl7.org/fhir/smart-app-launch/scopes-and-launch-
  ** context.html) and v1's read/write */
  cr_assert_eq(mt_scopes_valid(""), 0);
  cr_assert_eq(mt_scopes_valid("patient/Observation.rs"), 0);
  cr_assert_eq(mt_scopes_valid("user/*.cruds system/Patient.read"), 0);
  cr_assert_eq(mt_scopes_valid("patient/Observation.write"), 0);
  cr_assert_eq(mt_scopes_valid("patient/Observation.sr"), -1,
               "v2 letters in c r u d s order");
  cr_assert_eq(mt_scopes_valid("patient/Observation.rr"), -1);
  cr_assert_eq(mt_scopes_valid("clinic/Observation.rs"), -1);
  cr_assert_eq(mt_scopes_valid("patient/Observation"), -1);
  cr_assert_eq(mt_scopes_valid("Observation.rs"), -1);
}

Test(access, care_teams_and_consents)
{
  cr_assert_eq(mt_store_careteam_has(st, "u1", "p1", err, sizeof err), 0);
  cr_assert_eq(mt_store_careteam_add(st, "u1", "p1", err, sizeof err), 0);
  cr_assert_eq(mt_store_careteam_add(st, "u1", "p1", err, sizeof err), 0,
               "adding twice is no change");
  cr_assert_eq(mt_store_careteam_has(st, "u1", "p1", err, sizeof err), 1);
  cr_assert_eq(mt_store_careteam_has(st, "u2", "p1", err, sizeof err), 0);
  int state;
  cr_assert_eq(mt_store_consent_get(st, "p1", MT_PURPOSE_RESEARCH, &state,
                                    err, sizeof err),
               0);
  cr_assert_eq(state, -1, "never recorded");
  cr_assert_eq(mt_store_consent_set(st, "p1", MT_PURPOSE_RESEARCH, 1, "c1",
                                    err, sizeof err),
               0, "%s", err);
  cr_assert_eq(mt_store_consent_get(st, "p1", MT_PURPOSE_RESEARCH, &state,
                                    err, sizeof err),
               0);
  cr_assert_eq(state, 1);
  cr_assert_eq(mt_store_consent_set(st, "p1", MT_PURPOSE_RESEARCH, 0, "c1",
                                    err, sizeof err),
               0);
  mt_store_consent_get(st, "p1", MT_PURPOSE_RESEARCH, &state, err,
                       sizeof err);
  cr_assert_eq(state, 0, "withdrawn");
  mt_purpose pp;
  cr_assert_eq(mt_purpose_parse("device-ingest", &pp), 0);
  cr_assert_eq(pp, MT_PURPOSE_DEVICE);
  cr_assert_eq(mt_purpose_parse("marketing", &pp), MT_EINVAL);
}

/* Three patients' Observations and one without a patient. */
static void three_patients(void)
{
  const char *pts[] = {"p1", "p2", "p3", NULL};
  for (int k = 0; k < 4; k++) {
    char id[16];
    snprintf(id, sizeof id, "o%d", k);
    cr_assert_eq(mt_store_resource_create(st, "Observation", id, "{}", NULL,
                                          err, sizeof err),
                 0, "%s", err);
    mt_res_index ix = {pts[k], NULL, 0, 0, 0};
    cr_assert_eq(mt_store_resource_set_index(st, "Observation", id, &ix, err,
                                             sizeof err),
                 0, "%s", err);
  }
}

static long count(int reach, const char *who)
{
  mt_res_query q;
  memset(&q, 0, sizeof q);
  q.type = "Observation";
  q.count = 10;
  q.reach = reach, q.reach_who = who;
  mt_resource *list;
  size_t n;
  long total;
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err),
               0, "%s", err);
  cr_assert_eq((long)n, total);
  mt_resource_list_free(list, n);
  return total;
}

Test(access, search_counts_only_what_the_caller_reaches)
{
  three_patients();
  cr_assert_eq(count(MT_REACH_ALL, NULL), 4);
  cr_assert_eq(count(MT_REACH_OWN, "p2"), 1);
  cr_assert_eq(count(MT_REACH_NONE, NULL), 0);
  /* a care team of p1 and p2: theirs and the patient-less one */
  mt_store_careteam_add(st, "u1", "p1", err, sizeof err);
  mt_store_careteam_add(st, "u1", "p2", err, sizeof err);
  cr_assert_eq(count(MT_REACH_TEAM, "u1"), 3);
  /* p2 withdraws consent to treatment: out of the team's reach */
  mt_store_consent_set(st, "p2", MT_PURPOSE_TREATMENT, 0, "c", err,
                       sizeof err);
  cr_assert_eq(count(MT_REACH_TEAM, "u1"), 2);
  /* research is opt-in: none has consented, the patient-less one only */
  cr_assert_eq(count(MT_REACH_RESEARCH, NULL), 1);
  mt_store_consent_set(st, "p3", MT_PURPOSE_RESEARCH, 1, "c", err,
                       sizeof err);
  cr_assert_eq(count(MT_REACH_RESEARCH, NULL), 2);
  mt_res_query q;
  memset(&q, 0, sizeof q);
  q.type = "Observation";
  q.reach = MT_REACH_TEAM; /* without its owner */
  long total;
  cr_assert_eq(mt_store_resource_search(st, &q, NULL, NULL, &total, err,
                                        sizeof err),
               MT_EINVAL);
}
