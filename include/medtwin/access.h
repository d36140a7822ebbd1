/*
** Who may do what: users, bearer tokens, care teams and consents, kept in
** the store (schema 5). The server's authorisation (src/server/auth.c)
** decides with these; docs/SECURITY.md describes the model.
**
** Passwords are hashed with Argon2id (libsodium crypto_pwhash_str, RFC 9106,
** interactive limits). A token is 256 random bits (libsodium randombytes)
** shown once as "mt_" and 43 base64url characters; the store keeps only its
** BLAKE2b-256 hash and compares in constant time (sodium_memcmp).
**
** Ids are pseudonymous: a user or token is known to the audit trail only by
** 16 random hexadecimal digits, never by name.
**
** Conventions as in store.h: err/errlen (may be NULL/0) receive one line
** naming the operation and the cause; 0, or a negative MT_E* code.
*/
#ifndef MEDTWIN_ACCESS_H
#define MEDTWIN_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "medtwin/store.h"

typedef enum mt_role {
  MT_ROLE_NONE = 0,
  MT_ROLE_ADMIN,      /* users, tokens, care teams; every record (audited) */
  MT_ROLE_CLINICIAN,  /* the patients of the care team, for treatment */
  MT_ROLE_RESEARCHER, /* read-only, patients with active research consent */
  MT_ROLE_DEVICE,     /* writes observations for its one patient */
  MT_ROLE_PATIENT,    /* reads its own record and who accessed it */
  MT_ROLE_AUDITOR,    /* reads the audit trail, nothing else */
  MT_ROLE_COUNT
} mt_role;

const char *mt_role_name(mt_role r); /* "admin", ...; "none" */
mt_role mt_role_parse(const char *name); /* MT_ROLE_NONE when unknown */

typedef enum mt_purpose {
  MT_PURPOSE_TREATMENT = 0, /* opt-out: allowed unless withdrawn */
  MT_PURPOSE_RESEARCH,      /* opt-in: allowed only while active */
  MT_PURPOSE_DEVICE,        /* "device-ingest", opt-out */
  MT_PURPOSE_COUNT
} mt_purpose;

const char *mt_purpose_name(mt_purpose p); /* treatment, research, ... */
int mt_purpose_parse(const char *name, mt_purpose *p); /* 0 or MT_EINVAL */

#define MT_ACCESS_ID_MAX 16 /* hexadecimal digits of a user or token id */
#define MT_PWHASH_MAX 128   /* crypto_pwhash_STRBYTES */
#define MT_TOKEN_TEXT 48    /* "mt_" + 43 base64url + NUL, with room */
#define MT_SCOPES_MAX 512   /* space-separated SMART scopes */
#define MT_PASSWORD_MIN 8   /* NIST SP 800-63B 5.1.1.1 */
#define MT_PASSWORD_MAX 1024

/* 0 when text is a space-separated list of SMART scopes (App Launch v2
** "patient/Observation.rs", v1 "user/Patient.read"), -1 otherwise. */
int mt_scopes_valid(const char *text);

/* ---- passwords (no store) ---- */

/* Argon2id hash of pw into out: 0, MT_EINVAL (length out of
** MT_PASSWORD_MIN..MAX), MT_ENOMEM. */
int mt_password_hash(const char *pw, char out[MT_PWHASH_MAX], char *err,
                     size_t errlen);
/* 0 when pw matches hash, MT_EDENIED otherwise. */
int mt_password_verify(const char *hash, const char *pw);

/* ---- users ---- */

typedef struct mt_user {
  char id[MT_ACCESS_ID_MAX + 1];      /* pseudonymous */
  char name[MT_STORE_KEY_MAX + 1];    /* the login name */
  mt_role role;
  char patient[MT_STORE_KEY_MAX + 1]; /* patient role: whose record */
  int64_t created_ms;
} mt_user;

/*
** Add a user with password pw (hashed here). MT_ECONFLICT when the name is
** taken; MT_EINVAL for a bad name (a key), role, or a patient role without
** patient (or another role with one). *out (may be NULL) receives it.
*/
int mt_store_user_add(mt_store *s, const char *name, const char *pw,
                      mt_role role, const char *patient, mt_user *out,
                      char *err, size_t errlen);
/* A new password for user name: MT_ENOTFOUND if there is none. */
int mt_store_user_set_password(mt_store *s, const char *name, const char *pw,
                               char *err, size_t errlen);
/* By name; hash (may be NULL) receives the stored password hash.
** MT_ENOTFOUND when there is no such user. */
int mt_store_user_get(mt_store *s, const char *name, mt_user *out,
                      char hash[MT_PWHASH_MAX], char *err, size_t errlen);

/* ---- tokens ---- */

typedef struct mt_token {
  char id[MT_ACCESS_ID_MAX + 1];      /* public, pseudonymous */
  mt_role role;
  char user[MT_ACCESS_ID_MAX + 1];    /* the user it acts for, or "" */
  char patient[MT_STORE_KEY_MAX + 1]; /* bound patient (device, patient) */
  char device[MT_STORE_KEY_MAX + 1];  /* bound Device id (device) */
  char scopes[MT_SCOPES_MAX];         /* "" : the role's defaults */
  int64_t created_ms, expires_ms;     /* Unix ms */
  int64_t revoked_ms;                 /* 0 while valid */
} mt_token;

/*
** Issue a token as t describes (role, user, patient, device, scopes,
** expires_ms; id and created_ms are set here): its text into text, shown
** once. MT_EINVAL for a device token without patient and device, a patient
** token without patient, expiry not in the future, or a field out of its
** limits.
*/
int mt_store_token_create(mt_store *s, mt_token *t, char text[MT_TOKEN_TEXT],
                          char *err, size_t errlen);
/*
** The token whose text this is, valid at now_ms: 0, or MT_EDENIED (err says
** unknown, expired or revoked).
*/
int mt_store_token_find(mt_store *s, const char *text, int64_t now_ms,
                        mt_token *out, char *err, size_t errlen);
/* 1 when token id is valid at now_ms (neither expired nor revoked), 0 when
** not or unknown, or a negative code. */
int mt_store_token_valid(mt_store *s, const char *id, int64_t now_ms,
                         char *err, size_t errlen);

/*
** The newest token of role device bound to Device id device that is valid
** at now_ms (neither expired nor revoked): 0, or MT_ENOTFOUND when there
** is none. For device messages that arrive without a token (MQTT).
*/
int mt_store_token_for_device(mt_store *s, const char *device, int64_t now_ms,
                              mt_token *out, char *err, size_t errlen);
/* Every token, newest first (*out malloc'd, free()). */
int mt_store_token_list(mt_store *s, mt_token **out, size_t *n, char *err,
                        size_t errlen);
/* Revoke by id: MT_ENOTFOUND if none; revoking twice keeps the first
** time. */
int mt_store_token_revoke(mt_store *s, const char *id, char *err,
                          size_t errlen);

/* ---- care teams: which patients a clinician (user or token id) sees ---- */

int mt_store_careteam_add(mt_store *s, const char *who, const char *patient,
                          char *err, size_t errlen);
/* 1 when patient is in who's care team, 0 when not, or a negative code. */
int mt_store_careteam_has(mt_store *s, const char *who, const char *patient,
                          char *err, size_t errlen);

/* ---- consents: the current state; the FHIR Consent keeps the history ---- */

/*
** Record the current decision of patient for purpose (active 1 or 0) and
** the Consent resource that states it.
*/
int mt_store_consent_set(mt_store *s, const char *patient, mt_purpose p,
                         int active, const char *resource, char *err,
                         size_t errlen);
/* *state: 1 active, 0 withdrawn or refused, -1 never recorded. */
int mt_store_consent_get(mt_store *s, const char *patient, mt_purpose p,
                         int *state, char *err, size_t errlen);

#endif
