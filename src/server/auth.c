/*
** Authentication and authorisation: the one module that decides who may do
** what (docs/SECURITY.md). The dispatcher calls auth_check before every
** handler and auth_after on every reply; the FHIR write path calls
** auth_write and auth_written for every resource inside its write job, so
** a denied entry undoes its whole transaction and every write's audit
** record commits with it.
**
** Who. A bearer token (Authorization: Bearer mt_...) or a session cookie
** (mt_session, from POST /api/login). Default deny: without either, every
** route but the public ones answers 401.
**
** What. A role's permissions (create, read, update, delete, search per
** resource type), narrowed by the token's SMART-style scopes
** ("patient/Observation.rs", "user/Observation.cruds"; SMART
** App Launch v2), never
** widened. Whose: the patients the caller reaches: all (admin), the care
** team's while treatment consent stands (clinician), those with active
** research consent (researcher), the bound one (device, patient). A patient
** out of reach answers 404, as one that does not exist, so that existence
** does not leak; a route the role may not use answers 403.
**
** Record. Every access to personal data, every failed authentication and
** every consent change is appended to the audit chain (include/medtwin/
** audit.h): writes in their own transaction, reads before their reply is
** sent (a read is never answered without its durable record).
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "medtwin/audit.h"
#include "server/internal.h"
#include "server/jsonx.h"

#define SESSIONS_MAX 4096
#define SESSION_ABS_MS (8LL * 3600 * 1000) /* a working day at most */
#define LIMIT_SLOTS 1024
#define LIMIT_WINDOW_MS (15LL * 60 * 1000)
#define LOGIN_FAILS 5     /* per account or address in the window */
#define TOKEN_FAILS 20    /* bad bearer tokens per address in the window */
#define HASHING_AT_ONCE 2 /* Argon2id takes 64 MiB each */
#define COOKIE "mt_session"
#define CONSENT_SYS "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define PURPOSE_SYS "urn:medtwin:purpose"

typedef struct session {
  unsigned char h[32]; /* BLAKE2b of the cookie's value */
  char csrf[48];
  mt_user u;
  int64_t created, seen;
  int used;
} session;

typedef struct limit {
  unsigned char key[32]; /* BLAKE2b of "acct:NAME" or "ip:ADDR" */
  int fails;
  int64_t since, until;
  int used;
} limit;

typedef struct auth {
  pthread_mutex_t lock; /* sessions and limits */
  session *ses;
  limit lim[LIMIT_SLOTS];
  pthread_mutex_t hash_lock;
  pthread_cond_t hash_free;
  int hashing;
  pthread_mutex_t dummy_lock;
  char dummy[MT_PWHASH_MAX]; /* verified against for unknown users */
  /* checkpoints of the audit chain */
  unsigned char *sk; /* sodium_malloc'd, NULL without --audit-key */
  pthread_t ticker;
  int ticking, stop;
  pthread_mutex_t tick_lock;
  pthread_cond_t tick_wake;
} auth;

static __thread ctx *acting; /* the request (or device message) running */

/* ---- small helpers ------------------------------------------------------ */

static void hash32(const char *text, unsigned char h[32])
{
  crypto_generichash(h, 32, (const unsigned char *)text, strlen(text), NULL,
                     0);
}

static void random_b64(char *out, size_t len)
{
  unsigned char b[32];
  randombytes_buf(b, sizeof b);
  sodium_bin2base64(out, len, b, sizeof b,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void add_header(reply *r, const char *name, const char *value)
{
  if (r->n_hdr < REPLY_HEADERS) {
    snprintf(r->hdr[r->n_hdr][0], sizeof r->hdr[0][0], "%s", name);
    snprintf(r->hdr[r->n_hdr][1], sizeof r->hdr[0][1], "%s", value);
    r->n_hdr++;
  }
}

static const char *header(ctx *c, const char *name)
{
  return c->conn ? MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name)
                 : NULL;
}

static void client_addr(ctx *c, char *out, size_t len)
{
  snprintf(out, len, "local");
  const union MHD_ConnectionInfo *ci =
      c->conn ? MHD_get_connection_info(c->conn,
                                        MHD_CONNECTION_INFO_CLIENT_ADDRESS)
              : NULL;
  if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
              out, (socklen_t)len);
  else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6)
    inet_ntop(AF_INET6,
              &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out,
              (socklen_t)len);
}

static const char *purpose_of(mt_role r)
{
  switch (r) {
  case MT_ROLE_CLINICIAN: return "treatment";
  case MT_ROLE_RESEARCHER: return "research";
  case MT_ROLE_DEVICE: return "device-ingest";
  case MT_ROLE_PATIENT: return "patient-access";
  case MT_ROLE_AUDITOR: return "audit";
  case MT_ROLE_ADMIN: return "operations";
  default: return "authentication";
  }
}

/* ---- permissions ------------------------------------------------------- */

#define PERM_ALL (PERM_C | PERM_R | PERM_U | PERM_D | PERM_S)

/* What a role may do to a resource type, in any patient it reaches. */
static unsigned role_perms(mt_role r, const char *type)
{
  int audit = !strcmp(type, "AuditEvent");
  switch (r) {
  case MT_ROLE_ADMIN:
  case MT_ROLE_CLINICIAN:
    return audit ? 0 : PERM_ALL;
  case MT_ROLE_RESEARCHER:
    return audit ? 0 : PERM_R | PERM_S;
  case MT_ROLE_DEVICE:
    return !strcmp(type, "Observation") ||
                   !strcmp(type, "MedicationAdministration")
               ? PERM_C
               : 0;
  case MT_ROLE_PATIENT:
    return audit ? 0
           : !strcmp(type, "Consent") ? PERM_ALL & ~PERM_D
                                      : PERM_R | PERM_S;
  case MT_ROLE_AUDITOR:
    return audit ? PERM_R | PERM_S : 0;
  default:
    return 0;
  }
}

static unsigned perms(const principal *p, const char *type)
{
  unsigned m = role_perms(p->role, type);
  if (!p->n_scopes)
    return m;
  unsigned sm = 0;
  for (int k = 0; k < p->n_scopes; k++)
    if (!strcmp(p->sc[k].type, "*") || !strcmp(p->sc[k].type, type))
      sm |= p->sc[k].perms;
  return m & sm;
}

/*
** SMART scopes (App Launch v2, with v1's read, write and "*"):
** context/Type.perms,
** separated by spaces. 0, or -1 for one that does not parse.
*/
int auth_parse_scopes(const char *text, principal *p)
{
  p->n_scopes = 0;
  const char *s = text;
  while (*s) {
    while (*s == ' ')
      s++;
    if (!*s)
      break;
    size_t n = strcspn(s, " ");
    char one[96];
    if (n >= sizeof one || p->n_scopes == SCOPES_MAX)
      return -1;
    memcpy(one, s, n);
    one[n] = '\0';
    s += n;
    char *slash = strchr(one, '/'), *dot = strrchr(one, '.');
    if (!slash || !dot || dot < slash)
      return -1;
    *slash = *dot = '\0';
    if (strcmp(one, "patient") && strcmp(one, "user") && strcmp(one, "system"))
      return -1;
    const char *type = slash + 1, *ops = dot + 1;
    if (!*type || strlen(type) >= sizeof p->sc[0].type)
      return -1;
    unsigned m = 0;
    if (!strcmp(ops, "read"))
      m = PERM_R | PERM_S;
    else if (!strcmp(ops, "write"))
      m = PERM_C | PERM_U | PERM_D;
    else if (!strcmp(ops, "*"))
      m = PERM_ALL;
    else { /* v2: c r u d s, in that order, each at most once */
      const char *order = "cruds";
      for (const char *o = ops; *o; o++) {
        const char *at = strchr(order, *o);
        if (!at)
          return -1;
        unsigned bit = 1u << (at - order);
        if (m & bit || m >= bit << 1)
          return -1;
        m |= bit;
      }
      if (!m)
        return -1;
    }
    /* "cruds" order: c=1 r=2 u=4 d=8 s=16, as PERM_* */
    snprintf(p->sc[p->n_scopes].type, sizeof p->sc[0].type, "%s", type);
    p->sc[p->n_scopes++].perms = m;
  }
  return 0;
}

int mt_scopes_valid(const char *text)
{
  principal p;
  return text && auth_parse_scopes(text, &p) == 0 ? 0 : -1;
}

/* ---- reach: whose data -------------------------------------------------- */

/* 0 when p reaches patient for op, else the HTTP status to answer: 404
** (out of reach: as if it did not exist) or 403 (a device's patient whose
** device-ingest consent is withdrawn). */
static int reach(mt_store *st, const principal *p, const char *patient,
                 unsigned op)
{
  char err[MT_ERRMSG_MAX];
  int state = -1;
  switch (p->role) {
  case MT_ROLE_ADMIN:
    return 0;
  case MT_ROLE_CLINICIAN:
    if (mt_store_careteam_has(st, p->who, patient, err, sizeof err) != 1)
      return 404;
    mt_store_consent_get(st, patient, MT_PURPOSE_TREATMENT, &state, err,
                         sizeof err);
    return state == 0 ? 404 : 0;
  case MT_ROLE_RESEARCHER:
    mt_store_consent_get(st, patient, MT_PURPOSE_RESEARCH, &state, err,
                         sizeof err);
    return state == 1 && !(op & (PERM_C | PERM_U | PERM_D)) ? 0 : 404;
  case MT_ROLE_DEVICE:
    if (strcmp(p->patient, patient))
      return 404;
    mt_store_consent_get(st, patient, MT_PURPOSE_DEVICE, &state, err,
                         sizeof err);
    return state == 0 ? 403 : 0;
  case MT_ROLE_PATIENT:
    return strcmp(p->patient, patient) ? 404 : 0;
  default:
    return 404;
  }
}

int auth_sees(ctx *c, const char *patient)
{
  mt_store *rd = reader(c);
  return rd && reach(rd, &c->who, patient, PERM_R) == 0;
}

int auth_still(mt_server *s, const principal *p, const char *patient)
{
  auth *a = s->auth;
  int64_t now = now_ms();
  if (p->by_cookie) {
    int alive = 0;
    pthread_mutex_lock(&a->lock);
    for (int k = 0; k < SESSIONS_MAX && !alive; k++) {
      session *x = &a->ses[k];
      alive = x->used && !sodium_memcmp(x->h, p->session, 32) &&
              now - x->seen <= s->cfg.session_idle_ms &&
              now - x->created <= SESSION_ABS_MS;
    }
    pthread_mutex_unlock(&a->lock);
    if (!alive)
      return 0;
  }
  ctx c;
  memset(&c, 0, sizeof c);
  c.s = s, c.who = *p;
  char err[MT_ERRMSG_MAX];
  mt_store *rd = reader(&c);
  int ok = rd && (!p->token[0] ||
                  mt_store_token_valid(rd, p->token, now, err, sizeof err) ==
                      1) &&
           reach(rd, p, patient, PERM_R) == 0;
  ctx_done(&c);
  return ok;
}

void auth_reach(const ctx *c, mt_res_query *q)
{
  const principal *p = &c->who;
  switch (p->role) {
  case MT_ROLE_ADMIN:
  case MT_ROLE_AUDITOR:
    q->reach = MT_REACH_ALL;
    break;
  case MT_ROLE_CLINICIAN:
    q->reach = MT_REACH_TEAM, q->reach_who = p->who;
    break;
  case MT_ROLE_RESEARCHER:
    q->reach = MT_REACH_RESEARCH;
    break;
  case MT_ROLE_DEVICE:
  case MT_ROLE_PATIENT:
    q->reach = MT_REACH_OWN, q->reach_who = p->patient;
    break;
  default:
    q->reach = MT_REACH_NONE;
  }
}

/* ---- the audit ---------------------------------------------------------- */

static int append(mt_store *st, const principal *p, const char *action,
                  const char *resource, long outcome, char *err,
                  size_t errlen)
{
  mt_audit_record rec = {0, p && p->actor[0] ? p->actor : "anonymous",
                         action, resource,
                         purpose_of(p ? p->role : MT_ROLE_NONE), outcome};
  return mt_store_audit_append(st, &rec, NULL, err, errlen);
}

typedef struct rec_arg {
  principal who;
  char action[16];
  int n;
  char (*res)[MT_AUDIT_RESOURCE_MAX + 1];
  long outcome;
} rec_arg;

static int job_record(mt_store *st, job *j)
{
  rec_arg *a = j->arg;
  for (int k = 0; k < a->n; k++) {
    int rc = append(st, &a->who, a->action, a->res[k], a->outcome, j->err,
                    sizeof j->err);
    if (rc)
      return rc;
  }
  return 0;
}

/* Records of one access (n resources), committed before returning. */
static int record(ctx *c, const char *action,
                  char (*res)[MT_AUDIT_RESOURCE_MAX + 1], int n, long outcome)
{
  rec_arg a;
  memset(&a, 0, sizeof a);
  a.who = c->who;
  snprintf(a.action, sizeof a.action, "%s", action);
  a.n = n, a.res = res, a.outcome = outcome;
  job j;
  memset(&j, 0, sizeof j);
  j.fn = job_record, j.arg = &a;
  ctx *was = acting;
  acting = NULL; /* the record is the job: no failure record of its own */
  int rc = write_wait(c->s, &j);
  acting = was;
  if (rc)
    fprintf(stderr, "medtwin serve: audit: %s\n", j.err);
  return rc;
}

static int record1(ctx *c, const char *action, const char *resource,
                   long outcome)
{
  char res[1][MT_AUDIT_RESOURCE_MAX + 1];
  snprintf(res[0], sizeof res[0], "%s", resource);
  return record(c, action, res, 1, outcome);
}

/* ---- rate limits -------------------------------------------------------- */

static limit *limit_of(auth *a, const char *key, int make)
{
  unsigned char h[32];
  hash32(key, h);
  limit *free_slot = NULL, *oldest = &a->lim[0];
  for (int k = 0; k < LIMIT_SLOTS; k++) {
    limit *l = &a->lim[k];
    if (l->used && !memcmp(l->key, h, 32))
      return l;
    if (!l->used && !free_slot)
      free_slot = l;
    if (l->since < oldest->since)
      oldest = l;
  }
  if (!make)
    return NULL;
  limit *l = free_slot ? free_slot : oldest;
  memset(l, 0, sizeof *l);
  memcpy(l->key, h, 32);
  l->used = 1;
  return l;
}

/* Seconds until key may try again (0: now). */
static long limited(auth *a, const char *key)
{
  int64_t now = now_ms();
  pthread_mutex_lock(&a->lock);
  limit *l = limit_of(a, key, 0);
  long wait = l && l->until > now ? (long)((l->until - now + 999) / 1000) : 0;
  pthread_mutex_unlock(&a->lock);
  return wait;
}

static void failed(auth *a, const char *key, int max)
{
  int64_t now = now_ms();
  pthread_mutex_lock(&a->lock);
  limit *l = limit_of(a, key, 1);
  if (now - l->since > LIMIT_WINDOW_MS)
    l->fails = 0, l->since = now;
  if (++l->fails >= max)
    l->until = now + LIMIT_WINDOW_MS;
  pthread_mutex_unlock(&a->lock);
}

static void forgive(auth *a, const char *key)
{
  pthread_mutex_lock(&a->lock);
  limit *l = limit_of(a, key, 0);
  if (l)
    l->used = 0;
  pthread_mutex_unlock(&a->lock);
}

static void too_many(reply *r, long wait)
{
  char v[24];
  snprintf(v, sizeof v, "%ld", wait);
  fail(r, MHD_HTTP_TOO_MANY_REQUESTS, "throttled", NULL,
       "too many failed attempts; try again later");
  add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
}

/* ---- who is asking ------------------------------------------------------- */

static void unauthorized(reply *r, const char *msg, int bad_token)
{
  fail(r, MHD_HTTP_UNAUTHORIZED, "login", NULL, msg);
  add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
             bad_token ? "Bearer realm=\"medtwin\", error=\"invalid_token\""
                       : "Bearer realm=\"medtwin\"");
}

/* The principal a valid token makes. */
static void token_principal(const mt_token *t, principal *p)
{
  p->role = t->role;
  snprintf(p->actor, sizeof p->actor, "token:%s", t->id);
  snprintf(p->token, sizeof p->token, "%s", t->id);
  snprintf(p->who, sizeof p->who, "%s", t->user[0] ? t->user : t->id);
  snprintf(p->patient, sizeof p->patient, "%s", t->patient);
  snprintf(p->device, sizeof p->device, "%s", t->device);
  if (auth_parse_scopes(t->scopes, p)) { /* checked when issued */
    p->n_scopes = 1;
    snprintf(p->sc[0].type, sizeof p->sc[0].type, "-"); /* nothing */
    p->sc[0].perms = 0;
  }
}

static int from_token(ctx *c, const char *text, reply *r)
{
  auth *a = c->s->auth;
  char ip[64], key[80], err[MT_ERRMSG_MAX];
  client_addr(c, ip, sizeof ip);
  snprintf(key, sizeof key, "tok:%s", ip);
  mt_token t;
  mt_store *rd = reader(c);
  int rc = rd ? mt_store_token_find(rd, text, now_ms(), &t, err, sizeof err)
              : MT_EIO;
  if (rc) {
    /* a valid token is never throttled by others' bad ones (a shared
    ** address, a proxy); bad ones past the limit are not recorded one by
    ** one, so that a flood cannot fill the audit trail */
    long wait = rc == MT_EDENIED ? limited(a, key) : 0;
    if (wait) {
      too_many(r, wait);
      return -1;
    }
    if (rc == MT_EDENIED) {
      failed(a, key, TOKEN_FAILS);
      record1(c, "login-failed", "token", 401);
    }
    if (rc == MT_EDENIED)
      unauthorized(r, "the bearer token is unknown, expired or revoked", 1);
    else
      store_failed(r, rc, err);
    return -1;
  }
  token_principal(&t, &c->who);
  return 0;
}

/*
** A device message that came by MQTT: it acts for the newest valid device
** token bound to that Device id (the broker authenticated the device; the
** token says what it may do), as a bearer token would. auth_write then
** holds it to the token's patient and that patient's device-ingest
** consent. 0, MT_ENOTFOUND (no valid token: the refusal is recorded) or
** another negative code when the store cannot be read.
*/
int auth_device(ctx *c, const char *device)
{
  char err[MT_ERRMSG_MAX], what[MT_AUDIT_RESOURCE_MAX + 1];
  mt_token t;
  mt_store *rd = reader(c);
  int rc = rd ? mt_store_token_for_device(rd, device, now_ms(), &t, err,
                                          sizeof err)
              : MT_EIO;
  if (rc == MT_ENOTFOUND) { /* recorded, up to a limit per device, so
                            ** that a flood cannot fill the audit trail */
    char key[80];
    snprintf(key, sizeof key, "dev:%.64s", device);
    if (!limited(c->s->auth, key)) {
      failed(c->s->auth, key, TOKEN_FAILS);
      snprintf(what, sizeof what, "Device/%.64s", device);
      record1(c, "login-failed", what, 401);
    }
  }
  if (rc)
    return rc;
  memset(&c->who, 0, sizeof c->who);
  token_principal(&t, &c->who);
  snprintf(c->action, sizeof c->action, "create");
  return 0;
}

/* The session named by the request's cookie, or NULL (a lock held on
** success: release with the auth lock). */
static session *session_of(auth *a, ctx *c, int64_t now)
{
  const char *v = c->conn ? MHD_lookup_connection_value(c->conn,
                                                        MHD_COOKIE_KIND,
                                                        COOKIE)
                          : NULL;
  if (!v || !*v || strlen(v) > 64)
    return NULL;
  unsigned char h[32];
  hash32(v, h);
  pthread_mutex_lock(&a->lock);
  for (int k = 0; k < SESSIONS_MAX; k++) {
    session *x = &a->ses[k];
    if (x->used && !sodium_memcmp(x->h, h, 32)) {
      if (now - x->seen > c->s->cfg.session_idle_ms ||
          now - x->created > SESSION_ABS_MS) {
        sodium_memzero(x, sizeof *x); /* automatic logoff */
        break;
      }
      return x;
    }
  }
  pthread_mutex_unlock(&a->lock);
  return NULL;
}

static int from_cookie(ctx *c)
{
  auth *a = c->s->auth;
  int64_t now = now_ms();
  session *x = session_of(a, c, now);
  if (!x)
    return -1;
  x->seen = now;
  principal *p = &c->who;
  memcpy(p->session, x->h, sizeof p->session);
  p->role = x->u.role;
  snprintf(p->actor, sizeof p->actor, "user:%s", x->u.id);
  snprintf(p->who, sizeof p->who, "%s", x->u.id);
  snprintf(p->patient, sizeof p->patient, "%s", x->u.patient);
  p->by_cookie = 1;
  pthread_mutex_unlock(&a->lock);
  return 0;
}

static int csrf_ok(ctx *c)
{
  auth *a = c->s->auth;
  const char *h = header(c, "X-CSRF-Token");
  if (!h)
    return 0;
  session *x = session_of(a, c, now_ms());
  if (!x)
    return 0;
  int ok = strlen(h) == strlen(x->csrf) &&
           !sodium_memcmp(h, x->csrf, strlen(h));
  pthread_mutex_unlock(&a->lock);
  return ok;
}

/* ---- the check before the handler --------------------------------------- */

static int deny(ctx *c, reply *r, unsigned status, const char *msg)
{
  if (status == 404)
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL, msg);
  else
    fail(r, status, "forbidden", NULL, msg);
  record1(c, c->action[0] ? c->action : "access",
          c->resource[0] ? c->resource : c->url, status);
  return -1;
}

/* The patient a route names: {patient}, or ?patient= for Nightscout's. */
static const char *route_patient(ctx *c)
{
  if (c->param[0][0])
    return c->param[0];
  return c->conn ? MHD_lookup_connection_value(c->conn,
                                               MHD_GET_ARGUMENT_KIND,
                                               "patient")
                 : NULL;
}

static int patient_route(ctx *c, reply *r, const char *type, unsigned op,
                         const char *what)
{
  const char *pt = route_patient(c);
  snprintf(c->resource, sizeof c->resource, "Patient/%.64s/%s",
           pt ? pt : "-", what);
  if (!(perms(&c->who, type) & op))
    return deny(c, r, 403, "this role may not do this");
  if (!pt || !*pt)
    return 0; /* the handler names what is missing */
  mt_store *rd = reader(c);
  int st = rd ? reach(rd, &c->who, pt, op) : 500;
  if (st == 404)
    return deny(c, r, 404, "no such patient");
  if (st == 403)
    return deny(c, r, 403, "the patient's consent to device ingest is "
                           "withdrawn");
  if (st)
    return deny(c, r, 500, "the store cannot be read");
  return 0;
}

int auth_check(ctx *c, int acc, reply *r)
{
  c->acc = acc;
  acting = c;
  if (acc == ACC_PUBLIC || acc == ACC_LOGIN)
    return 0;
  const char *az = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
  if (az) {
    if (strncasecmp(az, "Bearer ", 7)) {
      unauthorized(r, "Authorization: expected Bearer and a token", 1);
      return -1;
    }
    if (from_token(c, az + 7, r))
      return -1;
  } else if (from_cookie(c)) {
    unauthorized(r, "sign in (POST /api/login) or send a bearer token", 0);
    return -1;
  }
  int write = strcmp(c->method, "GET") && strcmp(c->method, "HEAD");
  if (c->who.by_cookie && write && !csrf_ok(c)) {
    snprintf(c->action, sizeof c->action, "csrf-failed");
    return deny(c, r, 403, "X-CSRF-Token: expected the session's CSRF token "
                           "(from POST /api/login or GET /api/me)");
  }
  const char *type = c->param[0];
  switch (acc) {
  case ACC_SELF:
    return 0;
  case ACC_TWIN_R:
    snprintf(c->action, sizeof c->action, "read");
    return patient_route(c, r, "Observation", PERM_R,
                         strstr(c->url, "/whatif") ? "twin/whatif" : "twin");
  case ACC_TWIN_W:
    snprintf(c->action, sizeof c->action, "update");
    if (c->who.role != MT_ROLE_ADMIN && c->who.role != MT_ROLE_CLINICIAN)
      return deny(c, r, 403, "only clinicians and admins configure twins");
    return patient_route(c, r, "Observation", PERM_U, "twin");
  case ACC_INGEST:
    snprintf(c->action, sizeof c->action, "create");
    return patient_route(c, r, "Observation", PERM_C, "Observation");
  case ACC_TWINS:
    snprintf(c->action, sizeof c->action, "search");
    snprintf(c->resource, sizeof c->resource, "twins");
    if (!(perms(&c->who, "Observation") & PERM_R))
      return deny(c, r, 403, "this role may not read twins");
    return 0;
  case ACC_FHIR_R:
  case ACC_FHIR_S:
  case ACC_FHIR_C:
  case ACC_FHIR_U:
  case ACC_FHIR_D: {
    static const unsigned op[] = {PERM_R, PERM_S, PERM_C, PERM_U, PERM_D};
    static const char *const names[] = {"read", "search", "create", "update",
                                        "delete"};
    int k = acc - ACC_FHIR_R;
    snprintf(c->action, sizeof c->action, "%s", names[k]);
    snprintf(c->resource, sizeof c->resource, "%.64s%s%.64s", type,
             c->param[1][0] ? "/" : "", c->param[1]);
    if (!(perms(&c->who, type) & op[k]))
      return deny(c, r, 403, "this role or token may not do this to this "
                             "resource type");
    return 0;
  }
  case ACC_FHIR_TX:
    snprintf(c->action, sizeof c->action, "transaction");
    snprintf(c->resource, sizeof c->resource, "Bundle");
    if (c->who.role == MT_ROLE_RESEARCHER || c->who.role == MT_ROLE_AUDITOR ||
        c->who.role == MT_ROLE_PATIENT)
      return deny(c, r, 403, "this role may not write");
    return 0;
  case ACC_CONSENT_R:
    snprintf(c->action, sizeof c->action, "read");
    return patient_route(c, r, "Consent", PERM_R, "Consent");
  case ACC_CONSENT_W:
    snprintf(c->action, sizeof c->action, "consent-change");
    return patient_route(c, r, "Consent", PERM_U, "Consent");
  case ACC_AUDIT_OWN:
    snprintf(c->action, sizeof c->action, "read");
    snprintf(c->resource, sizeof c->resource, "Patient/%.64s/AuditEvent",
             c->param[0]);
    if (c->who.role == MT_ROLE_AUDITOR || c->who.role == MT_ROLE_ADMIN)
      return 0;
    if (c->who.role != MT_ROLE_PATIENT)
      return deny(c, r, 403, "a patient's access log is for the patient "
                             "and auditors");
    if (strcmp(c->who.patient, c->param[0]))
      return deny(c, r, 404, "no such patient");
    return 0;
  case ACC_AUDIT:
    snprintf(c->action, sizeof c->action, "export");
    snprintf(c->resource, sizeof c->resource, "AuditEvent");
    if (c->who.role != MT_ROLE_AUDITOR)
      return deny(c, r, 403, "only auditors read the audit trail");
    return 0;
  case ACC_EXPORT: /* every type: a token needs a "*" scope to read */
    snprintf(c->action, sizeof c->action, "export");
    if (c->who.role != MT_ROLE_ADMIN && c->who.role != MT_ROLE_CLINICIAN &&
        c->who.role != MT_ROLE_PATIENT) {
      snprintf(c->resource, sizeof c->resource, "Patient/%.64s/$everything",
               c->param[0]);
      return deny(c, r, 403, "a record is exported by its patient, a "
                             "clinician of the care team or an admin");
    }
    return patient_route(c, r, "*", PERM_R, "$everything");
  default:
    return deny(c, r, 403, "no access");
  }
}

/* ---- the check after the handler -------------------------------------- */

typedef char audit_res[MT_AUDIT_RESOURCE_MAX + 1];

/* Whether the caller reaches a returned resource (its patient by fhir.c's
** index rule); the patient's record of the access is added to seen. */
static int reply_reaches(ctx *c, json_t *res, audit_res *seen, int *n_seen,
                         int max_seen, const char *suffix)
{
  char patient[MT_STORE_KEY_MAX + 1];
  const char *type = json_string_value(json_object_get(res, "resourceType"));
  const char *id = json_string_value(json_object_get(res, "id"));
  if (!type)
    return 1;
  fhir_patient_of(type, id ? id : "", res, patient);
  if (!patient[0]) { /* reference data: not personal */
    if (c->who.role == MT_ROLE_DEVICE || c->who.role == MT_ROLE_PATIENT ||
        c->who.role == MT_ROLE_AUDITOR)
      return 0;
    return 1;
  }
  mt_store *rd = reader(c);
  if (!rd || reach(rd, &c->who, patient, PERM_R))
    return 0;
  char one[MT_AUDIT_RESOURCE_MAX + 1];
  snprintf(one, sizeof one, "Patient/%s/%s", patient, suffix);
  for (int k = 0; k < *n_seen; k++)
    if (!strcmp(seen[k], one))
      return 1;
  if (*n_seen < max_seen)
    snprintf(seen[(*n_seen)++], sizeof one, "%s", one);
  return 1;
}


void auth_after(ctx *c, reply *r)
{
  int acc = c->acc;
  if (acc == ACC_PUBLIC || acc == ACC_LOGIN || acc == ACC_SELF ||
      !c->who.role)
    return;
  int ok = r->status >= 200 && r->status < 300;
  /* one record per patient whose data it returns: at most one per entry */
  size_t max_seen = 1 + json_array_size(json_object_get(r->doc, "entry"));
  char (*seen)[MT_AUDIT_RESOURCE_MAX + 1] = calloc(max_seen, sizeof *seen);
  int n = 0;
  if (!seen) {
    fail(r, 500, "exception", NULL, "out of memory");
    return;
  }
  if (acc == ACC_FHIR_R || acc == ACC_FHIR_S || acc == ACC_EXPORT) {
    char suffix[200];
    snprintf(suffix, sizeof suffix, "%s", c->resource);
    if (acc == ACC_FHIR_S) /* the type; the query's values may name */
      snprintf(suffix, sizeof suffix, "%.64s?search", c->param[0]);
    if (acc == ACC_EXPORT)
      snprintf(suffix, sizeof suffix, "$everything");
    json_t *doc = r->doc;
    const char *rt = json_string_value(json_object_get(doc, "resourceType"));
    int all = 1;
    if (ok && rt && !strcmp(rt, "Bundle")) {
      size_t i;
      json_t *e;
      json_array_foreach(json_object_get(doc, "entry"), i, e)
      {
        json_t *res = json_object_get(e, "resource");
        if (res && !reply_reaches(c, res, seen, &n, (int)max_seen, suffix))
          all = 0;
      }
    } else if (ok && rt)
      all = reply_reaches(c, doc, seen, &n, (int)max_seen, suffix);
    if (!all) { /* never shown: as if it did not exist */
      int many = acc != ACC_FHIR_R; /* a search or an export */
      if (many)
        fprintf(stderr, "medtwin serve: a %s returned a resource out of "
                        "the caller's reach; withheld\n",
                acc == ACC_FHIR_S ? "search" : "export");
      char msg[200];
      snprintf(msg, sizeof msg, "no %.64s with id %.64s", c->param[0],
               c->param[1]);
      fail(r, many ? 500 : MHD_HTTP_NOT_FOUND,
           many ? "exception" : "not-found", NULL,
           many ? "access check failed" : msg);
      ok = 0;
      n = 0;
    }
  }
  if (c->wrote && ok) { /* recorded by the write itself */
    free(seen);
    return;
  }
  if (!n)
    snprintf(seen[n++], sizeof seen[0], "%s", c->resource[0] ? c->resource
                                                             : c->url);
  if (record(c, c->action[0] ? c->action : "access", seen, n,
             (long)r->status)) {
    if (r->raw) {
      MHD_destroy_response(r->raw);
      r->raw = NULL;
    }
    fail(r, 500, "exception", NULL,
         "the access could not be recorded, so it is not answered");
  }
  free(seen);
}

/* ---- writes, on the writer thread -------------------------------------- */

/* Whether every Device a resource names (Observation.device, or the
** references of MedicationAdministration.device) is dev. */
static int names_only(json_t *res, const char *dev)
{
  char want[MT_STORE_KEY_MAX + 8];
  snprintf(want, sizeof want, "Device/%s", dev);
  json_t *d = json_object_get(res, "device"), *one;
  size_t i;
  if (json_is_object(d)) {
    const char *ref = json_string_value(json_object_get(d, "reference"));
    return !ref || !strcmp(ref, want);
  }
  json_array_foreach(d, i, one)
  {
    const char *ref = json_string_value(json_object_get(one, "reference"));
    if (ref && strcmp(ref, want))
      return 0;
  }
  return 1;
}

int auth_write(mt_store *st, unsigned op, const char *type,
               const char *new_patient, const char *old_patient, json_t *res,
               int *http, char *err, size_t errlen)
{
  const principal *p = job_principal();
  if (!p)
    return 0;
  job_mark(1, 0);
  *http = 0;
  if (!(perms(p, type) & op)) {
    *http = 403;
    snprintf(err, errlen, "this role or token may not write %s", type);
    return MT_EDENIED;
  }
  if (p->role == MT_ROLE_DEVICE && res && !names_only(res, p->device)) {
    *http = 403;
    snprintf(err, errlen, "device: this token writes as Device/%.64s only",
             p->device);
    return MT_EDENIED;
  }
  int creates_patient = op == PERM_C && !strcmp(type, "Patient") &&
                        p->role == MT_ROLE_CLINICIAN;
  const char *pt[2] = {creates_patient ? NULL : new_patient, old_patient};
  int none = 1;
  for (int k = 0; k < 2; k++) {
    if (!pt[k] || !*pt[k])
      continue;
    none = 0;
    int s = reach(st, p, pt[k], op);
    if (s) {
      char what[MT_AUDIT_RESOURCE_MAX + 1];
      snprintf(what, sizeof what, "Patient/%s/%s", pt[k], type);
      job_note(what);
      *http = s;
      snprintf(err, errlen, s == 404 ? "no such patient %.64s"
                                     : "patient %.64s: consent to device "
                                       "ingest withdrawn",
               pt[k]);
      return s == 404 ? MT_ENOTFOUND : MT_EDENIED;
    }
  }
  if (none && !creates_patient && p->role != MT_ROLE_ADMIN &&
      p->role != MT_ROLE_CLINICIAN) {
    *http = 403;
    snprintf(err, errlen, "a %s belonging to no patient is reference data: "
             "clinicians and admins write it", type);
    return MT_EDENIED;
  }
  return 0;
}

/* The purpose a Consent states, its patient and decision: 0, or -1 when it
** is not one of ours (other Consents are stored and have no effect). */
static int consent_of(json_t *res, char *patient, mt_purpose *pp, int *active)
{
  const char *status = json_string_value(json_object_get(res, "status"));
  const char *ref = json_string_value(
      json_object_get(json_object_get(res, "patient"), "reference"));
  if (!status || !ref || strncmp(ref, "Patient/", 8) ||
      strlen(ref + 8) > MT_STORE_KEY_MAX)
    return -1;
  if (!strcmp(status, "active"))
    *active = 1;
  else if (!strcmp(status, "inactive") || !strcmp(status, "rejected") ||
           !strcmp(status, "entered-in-error"))
    *active = 0;
  else
    return -1; /* draft, proposed: no decision yet */
  snprintf(patient, MT_STORE_KEY_MAX + 1, "%s", ref + 8);
  size_t i;
  json_t *cd;
  json_array_foreach(
      json_object_get(json_object_get(res, "provision"), "purpose"), i, cd)
  {
    const char *sys = json_string_value(json_object_get(cd, "system"));
    const char *code = json_string_value(json_object_get(cd, "code"));
    if (!sys || !code)
      continue;
    if (!strcmp(sys, CONSENT_SYS) && !strcmp(code, "TREAT"))
      return *pp = MT_PURPOSE_TREATMENT, 0;
    if (!strcmp(sys, CONSENT_SYS) && !strcmp(code, "HRESCH"))
      return *pp = MT_PURPOSE_RESEARCH, 0;
    if (!strcmp(sys, PURPOSE_SYS) && !mt_purpose_parse(code, pp))
      return 0;
  }
  return -1;
}

int auth_written(mt_store *st, unsigned op, const char *type, const char *id,
                 const char *patient, json_t *res, char *err, size_t errlen)
{
  const principal *p = job_principal();
  int rc = 0, is_consent = !strcmp(type, "Consent");
  if (is_consent && res) {
    char pt[MT_STORE_KEY_MAX + 1];
    mt_purpose pp;
    int active;
    if (!consent_of(res, pt, &pp, &active))
      rc = mt_store_consent_set(st, pt, pp, active, id, err, errlen);
  }
  if (!rc && p && op == PERM_C && !strcmp(type, "Patient") &&
      p->role == MT_ROLE_CLINICIAN) /* who registers a patient cares */
    rc = mt_store_careteam_add(st, p->who, id, err, errlen);
  if (rc || !p)
    return rc;
  const char *action = is_consent     ? "consent-change"
                       : op == PERM_C ? "create"
                       : op == PERM_U ? "update"
                                      : "delete";
  /* tallied per (action, patient, type): a transaction's hundred readings
  ** of one patient are one record, appended when the job is done */
  rc = job_tally(action, !strcmp(type, "Patient") ? id : patient, type, id,
                 op == PERM_C ? 201 : 200);
  if (rc)
    snprintf(err, errlen, "out of memory");
  return rc;
}

/* The job's tallied writes, as audit records in its savepoint: one per
** (action, patient, type), naming the resource when it was one, else how
** many ("Patient/p1/Observation?count=100"). */
int auth_job_done(mt_store *st, job *j)
{
  for (int k = 0; k < j->n_tally; k++) {
    const tally *t = &j->tally[k];
    char what[MT_AUDIT_RESOURCE_MAX + 1];
    int pt = t->patient[0] != '\0', self = !strcmp(t->type, "Patient");
    if (t->n == 1 && self)
      snprintf(what, sizeof what, "Patient/%s", t->first);
    else if (t->n == 1)
      snprintf(what, sizeof what, "%s%s%s%s/%s", pt ? "Patient/" : "",
               t->patient, pt ? "/" : "", t->type, t->first);
    else if (self)
      snprintf(what, sizeof what, "Patient?count=%ld", t->n);
    else
      snprintf(what, sizeof what, "%s%s%s%s?count=%ld", pt ? "Patient/" : "",
               t->patient, pt ? "/" : "", t->type, t->n);
    int rc = append(st, &j->who, t->action, what, t->outcome, j->err,
                    sizeof j->err);
    if (rc)
      return rc;
  }
  if (j->n_tally)
    j->audited = 1;
  return 0;
}

void auth_job_failed(mt_store *st, job *j)
{
  char err[MT_ERRMSG_MAX];
  long status = j->rc == MT_ENOTFOUND ? 404
                : j->rc == MT_EDENIED ? 403
                : j->rc == MT_ECONFLICT ? 409
                : j->rc == MT_EINVAL ? 400
                                     : 500;
  if (append(st, &j->who, j->action[0] ? j->action : "write",
             j->resource[0] ? j->resource : "-", status, err, sizeof err))
    fprintf(stderr, "medtwin serve: audit: %s\n", err);
  else
    j->audited = 1;
}

void auth_act_as(ctx *c)
{
  acting = c;
}

ctx *auth_acting(void)
{
  return acting;
}

/* ---- login, logout, who am I ------------------------------------------- */

static void hashing_enter(auth *a)
{
  pthread_mutex_lock(&a->hash_lock);
  while (a->hashing >= HASHING_AT_ONCE)
    pthread_cond_wait(&a->hash_free, &a->hash_lock);
  a->hashing++;
  pthread_mutex_unlock(&a->hash_lock);
}

static void hashing_leave(auth *a)
{
  pthread_mutex_lock(&a->hash_lock);
  a->hashing--;
  pthread_cond_signal(&a->hash_free);
  pthread_mutex_unlock(&a->hash_lock);
}

static void set_cookie(ctx *c, reply *r, const char *value, long max_age)
{
  char v[256];
  snprintf(v, sizeof v, COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; "
           "Max-Age=%ld%s", value, max_age, c->s->tls ? "; Secure" : "");
  add_header(r, MHD_HTTP_HEADER_SET_COOKIE, v);
}

static json_t *me_json(const principal *p, const char *name, const char *csrf)
{
  json_t *o = json_pack("{s:s, s:s}", "role", mt_role_name(p->role), "actor",
                        p->actor);
  if (name)
    json_object_set_new(o, "user", json_string(name));
  if (p->patient[0])
    json_object_set_new(o, "patient", json_string(p->patient));
  if (p->device[0])
    json_object_set_new(o, "device", json_string(p->device));
  if (csrf)
    json_object_set_new(o, "csrf", json_string(csrf));
  return o;
}

/* POST /api/login {"user", "password"}: a session cookie. */
void h_login(ctx *c, reply *r)
{
  auth *a = c->s->auth;
  const char *name = json_string_value(json_object_get(c->body, "user"));
  const char *pw = json_string_value(json_object_get(c->body, "password"));
  if (!json_is_object(c->body) || !name || !pw) {
    fail(r, MHD_HTTP_BAD_REQUEST, "required", NULL,
         "expected {\"user\": name, \"password\": password}");
    return;
  }
  char ip[64], kip[80], kacct[MT_STORE_KEY_MAX + 16];
  client_addr(c, ip, sizeof ip);
  snprintf(kip, sizeof kip, "ip:%s", ip);
  snprintf(kacct, sizeof kacct, "acct:%.64s", name);
  long wait = limited(a, kacct), w2 = limited(a, kip);
  if (wait || w2) {
    snprintf(c->action, sizeof c->action, "login-failed");
    record1(c, "login-failed", "session", 429);
    too_many(r, wait > w2 ? wait : w2);
    return;
  }
  mt_user u;
  char hash[MT_PWHASH_MAX], err[MT_ERRMSG_MAX];
  mt_store *rd = reader(c);
  int rc = rd ? mt_store_user_get(rd, name, &u, hash, err, sizeof err)
              : MT_EIO;
  if (rc && rc != MT_ENOTFOUND) {
    store_failed(r, rc, err);
    return;
  }
  hashing_enter(a);
  /* an unknown user costs the same Argon2id as a known one: a hash of a
  ** random password, made at the first need (not at every start) */
  if (rc) {
    pthread_mutex_lock(&a->dummy_lock);
    if (!a->dummy[0]) {
      char junk[48], e2[MT_ERRMSG_MAX];
      random_b64(junk, sizeof junk);
      if (mt_password_hash(junk, a->dummy, e2, sizeof e2))
        a->dummy[0] = '\0';
    }
    pthread_mutex_unlock(&a->dummy_lock);
  }
  int good = mt_password_verify(rc ? a->dummy : hash, pw) == 0 && !rc;
  hashing_leave(a);
  sodium_memzero(hash, sizeof hash);
  if (!good) {
    failed(a, kacct, LOGIN_FAILS);
    failed(a, kip, LOGIN_FAILS * 4);
    if (!rc)
      snprintf(c->who.actor, sizeof c->who.actor, "user:%s", u.id);
    record1(c, "login-failed", "session", 401);
    fail(r, MHD_HTTP_UNAUTHORIZED, "login", NULL,
         "the user name or password is wrong");
    return;
  }
  forgive(a, kacct);
  char cookie[64];
  session x;
  memset(&x, 0, sizeof x);
  random_b64(cookie, sizeof cookie);
  random_b64(x.csrf, sizeof x.csrf);
  hash32(cookie, x.h);
  x.u = u;
  x.created = x.seen = now_ms();
  x.used = 1;
  pthread_mutex_lock(&a->lock);
  session *slot = &a->ses[0];
  for (int k = 0; k < SESSIONS_MAX; k++) {
    if (!a->ses[k].used) {
      slot = &a->ses[k];
      break;
    }
    if (a->ses[k].seen < slot->seen)
      slot = &a->ses[k];
  }
  *slot = x;
  pthread_mutex_unlock(&a->lock);
  principal *p = &c->who;
  p->role = u.role;
  snprintf(p->actor, sizeof p->actor, "user:%s", u.id);
  snprintf(p->who, sizeof p->who, "%s", u.id);
  snprintf(p->patient, sizeof p->patient, "%s", u.patient);
  if (record1(c, "login", "session", 200)) {
    fail(r, 500, "exception", NULL, "the login could not be recorded");
    return;
  }
  set_cookie(c, r, cookie, (long)(SESSION_ABS_MS / 1000));
  r->status = MHD_HTTP_OK;
  r->type = "application/json";
  r->doc = me_json(p, u.name, x.csrf);
  json_object_set_new(r->doc, "idle_timeout_s",
                      json_integer(c->s->cfg.session_idle_ms / 1000));
}

void h_logout(ctx *c, reply *r)
{
  auth *a = c->s->auth;
  session *x = session_of(a, c, now_ms());
  if (x) {
    sodium_memzero(x, sizeof *x);
    pthread_mutex_unlock(&a->lock);
  }
  record1(c, "logout", "session", 200);
  set_cookie(c, r, "", 0);
  r->status = MHD_HTTP_OK;
  r->type = "application/json";
  r->doc = json_pack("{s:s}", "status", "signed out");
}

void h_me(ctx *c, reply *r)
{
  auth *a = c->s->auth;
  char csrf[48] = "", name[MT_STORE_KEY_MAX + 1] = "";
  if (c->who.by_cookie) {
    session *x = session_of(a, c, now_ms());
    if (x) {
      snprintf(csrf, sizeof csrf, "%s", x->csrf);
      snprintf(name, sizeof name, "%s", x->u.name);
      pthread_mutex_unlock(&a->lock);
    }
  }
  r->status = MHD_HTTP_OK;
  r->type = "application/json";
  r->doc = me_json(&c->who, name[0] ? name : NULL, csrf[0] ? csrf : NULL);
  if (c->who.by_cookie)
    json_object_set_new(r->doc, "idle_timeout_s",
                        json_integer(c->s->cfg.session_idle_ms / 1000));
}

/* ---- consent ------------------------------------------------------------ */

static const char *const scope_code[MT_PURPOSE_COUNT] = {
    "treatment", "research", "patient-privacy"};

static void consent_id(const char *patient, mt_purpose pp, char *out,
                       size_t len)
{
  unsigned char h[8];
  char hex[17];
  crypto_generichash(h, sizeof h, (const unsigned char *)patient,
                     strlen(patient), NULL, 0);
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  snprintf(out, len, "consent-%s-%s", mt_purpose_name(pp), hex);
}

/* The FHIR R4 Consent of a decision (patient privacy consent, LOINC
** 59284-0; purpose v3-ActReason TREAT or HRESCH, or medtwin's own code for
** device ingest). */
static json_t *consent_resource(const char *patient, mt_purpose pp,
                                int active)
{
  char ref[80], when[40];
  snprintf(ref, sizeof ref, "Patient/%s", patient);
  iso_ms(now_ms(), when, sizeof when);
  json_t *purpose =
      pp == MT_PURPOSE_DEVICE
          ? json_pack("{s:s, s:s}", "system", PURPOSE_SYS, "code",
                      "device-ingest")
          : json_pack("{s:s, s:s}", "system", CONSENT_SYS, "code",
                      pp == MT_PURPOSE_TREATMENT ? "TREAT" : "HRESCH");
  return json_pack(
      "{s:s, s:s, s:{s:[{s:s, s:s}]}, s:[{s:[{s:s, s:s, s:s}]}], s:{s:s}, "
      "s:s, s:{s:[{s:s, s:s}]}, s:{s:s, s:[o]}}",
      "resourceType", "Consent", "status", active ? "active" : "inactive",
      "scope", "coding", "system",
      "http://terminology.hl7.org/CodeSystem/consentscope", "code",
      scope_code[pp], "category", "coding", "system", "http://loinc.org",
      "code", "59284-0", "display", "Patient Consent", "patient", "reference",
      ref, "dateTime", when, "policyRule", "coding", "system",
      "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code",
      pp == MT_PURPOSE_RESEARCH ? "OPTIN" : "OPTOUT", "provision", "type",
      "permit", "purpose", purpose);
}

typedef struct consent_arg {
  char id[MT_STORE_KEY_MAX + 1];
  json_t *res;
  mt_resource stored;
  int created;
} consent_arg;

static int job_consent(mt_store *st, job *j)
{
  consent_arg *a = j->arg;
  return fhir_store_put(st, "Consent", a->id, a->res, &a->stored,
                        &a->created, j->err, sizeof j->err);
}

static void consent_change(ctx *c, reply *r, int active)
{
  mt_purpose pp;
  if (mt_purpose_parse(c->param[1], &pp)) {
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL,
         "purpose: expected treatment, research or device-ingest");
    return;
  }
  consent_arg a;
  memset(&a, 0, sizeof a);
  consent_id(c->param[0], pp, a.id, sizeof a.id);
  a.res = consent_resource(c->param[0], pp, active);
  job j;
  memset(&j, 0, sizeof j);
  j.fn = job_consent, j.arg = &a;
  int rc = a.res ? write_wait(c->s, &j) : MT_ENOMEM;
  json_decref(a.res);
  if (rc)
    store_failed(r, rc, j.err);
  else { /* recorded by the write itself (write_wait sets c->wrote) */
    with_meta(&a.stored, r);
    r->status = a.created ? MHD_HTTP_CREATED : MHD_HTTP_OK;
  }
  mt_resource_clear(&a.stored);
}

/* PUT /api/patients/{patient}/consent/{purpose} {"status": ...} */
void h_consent_put(ctx *c, reply *r)
{
  const char *st = json_string_value(json_object_get(c->body, "status"));
  if (!st || (strcmp(st, "active") && strcmp(st, "inactive"))) {
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", "status",
         "status: expected \"active\" or \"inactive\"");
    return;
  }
  consent_change(c, r, !strcmp(st, "active"));
}

/* DELETE /api/patients/{patient}/consent/{purpose}: withdrawal. */
void h_consent_delete(ctx *c, reply *r)
{
  consent_change(c, r, 0);
}

/* GET /api/patients/{patient}/consent: the current decisions. */
void h_consent_get(ctx *c, reply *r)
{
  json_t *a = json_array();
  mt_store *rd = reader(c);
  char err[MT_ERRMSG_MAX];
  for (int k = 0; k < MT_PURPOSE_COUNT; k++) {
    int state = -1;
    if (!rd || mt_store_consent_get(rd, c->param[0], (mt_purpose)k, &state,
                                    err, sizeof err)) {
      json_decref(a);
      store_failed(r, MT_EIO, "the store cannot be read");
      return;
    }
    int effective = state >= 0 ? state : k != MT_PURPOSE_RESEARCH;
    json_array_append_new(
        a, json_pack("{s:s, s:s, s:b}", "purpose",
                     mt_purpose_name((mt_purpose)k), "status",
                     effective ? "active" : "inactive", "recorded",
                     state >= 0));
  }
  r->status = MHD_HTTP_OK;
  r->type = "application/json";
  r->doc = json_pack("{s:s, s:o}", "patient", c->param[0], "consents", a);
}

/* ---- the audit trail as FHIR AuditEvent -------------------------------- */

static json_t *audit_event(const mt_audit_entry *e)
{
  char id[24], when[40], desc[40];
  snprintf(id, sizeof id, "%lld", (long long)e->seq);
  iso_ms(e->t_ms, when, sizeof when);
  snprintf(desc, sizeof desc, "HTTP %lld", (long long)e->outcome);
  const char *act = !strcmp(e->action, "create")   ? "C"
                    : !strcmp(e->action, "update") ? "U"
                    : !strcmp(e->action, "delete") ? "D"
                    : !strncmp(e->action, "login", 5) ||
                            !strcmp(e->action, "logout") ||
                            !strcmp(e->action, "consent-change")
                        ? "E"
                        : "R";
  int login = !strncmp(e->action, "login", 5) || !strcmp(e->action, "logout");
  json_t *ev = json_pack(
      "{s:s, s:s, s:o, s:[{s:s, s:s}], s:s, s:s, s:s, s:s, s:[{s:s}], "
      "s:[{s:{s:{s:s}}, s:b}], s:{s:{s:s}}}",
      "resourceType", "AuditEvent", "id", id, "type",
      login ? json_pack("{s:s, s:s, s:s}", "system",
                        "http://dicom.nema.org/resources/ontology/DCM",
                        "code", "110114", "display", "User Authentication")
            : json_pack("{s:s, s:s, s:s}", "system",
                        "http://terminology.hl7.org/CodeSystem/"
                        "audit-event-type",
                        "code", "rest", "display", "RESTful Operation"),
      "subtype", "system", "urn:medtwin:audit-action", "code", e->action,
      "action", act, "recorded", when, "outcome",
      e->outcome >= 200 && e->outcome < 400 ? "0"
      : e->outcome >= 500                   ? "8"
                                            : "4",
      "outcomeDesc", desc, "purposeOfEvent", "text", e->purpose, "agent",
      "who", "identifier", "value", e->actor, "requestor", 1, "source",
      "observer", "display", "medtwin");
  json_t *ent = json_pack("{s:s}", "description", e->resource);
  if (!strncmp(e->resource, "Patient/", 8)) {
    char ref[80];
    size_t n = strcspn(e->resource + 8, "/?");
    snprintf(ref, sizeof ref, "Patient/%.*s", (int)(n < 64 ? n : 64),
             e->resource + 8);
    json_object_set_new(ent, "what", json_pack("{s:s}", "reference", ref));
  }
  json_object_set_new(ev, "entity", json_pack("[o]", ent));
  return ev;
}

static long arg_long(ctx *c, const char *name, long dflt, long lo, long hi,
                     reply *r)
{
  const char *v = c->conn ? MHD_lookup_connection_value(
                                c->conn, MHD_GET_ARGUMENT_KIND, name)
                          : NULL;
  if (!v)
    return dflt;
  char *end;
  long x = strtol(v, &end, 10);
  if (end == v || *end || x < lo || x > hi) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: expected an integer %ld-%ld", name, lo,
             hi);
    fail(r, MHD_HTTP_BAD_REQUEST, "invalid", name, msg);
    return -1;
  }
  return x;
}

static void audit_bundle(ctx *c, reply *r, const char *prefix)
{
  long count = arg_long(c, "_count", 100, 1, 1000, r);
  long after = count < 0 ? -1 : arg_long(c, "after", 0, 0, 0x7fffffffL, r);
  if (count < 0 || after < 0)
    return;
  mt_audit_entry *e = NULL;
  size_t n = 0;
  char err[MT_ERRMSG_MAX];
  mt_store *rd = reader(c);
  int rc = rd ? mt_store_audit_list(rd, prefix, after, count, &e, &n, err,
                                    sizeof err)
              : MT_EIO;
  if (rc) {
    store_failed(r, rc, rd ? err : "the store cannot be read");
    return;
  }
  json_t *entries = json_array();
  for (size_t k = 0; k < n; k++)
    json_array_append_new(entries,
                          json_pack("{s:o}", "resource", audit_event(&e[k])));
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:s, s:I, s:o}", "resourceType", "Bundle", "type",
                     "collection", "total", (json_int_t)n, "entry", entries);
  if (n == (size_t)count) {
    char next[160];
    snprintf(next, sizeof next, "after=%lld&_count=%ld",
             (long long)e[n - 1].seq, count);
    json_object_set_new(r->doc, "link",
                        json_pack("[{s:s, s:s}]", "relation", "next", "url",
                                  next));
  }
  free(e);
}

/* GET /api/patients/{patient}/audit: who accessed the record. */
void h_patient_audit(ctx *c, reply *r)
{
  char prefix[80];
  snprintf(prefix, sizeof prefix, "Patient/%s", c->param[0]);
  audit_bundle(c, r, prefix);
}

/* GET /api/audit: the whole trail, for auditors. */
void h_audit(ctx *c, reply *r)
{
  const char *pt = c->conn ? MHD_lookup_connection_value(
                                 c->conn, MHD_GET_ARGUMENT_KIND, "patient")
                           : NULL;
  char prefix[80];
  if (pt)
    snprintf(prefix, sizeof prefix, "Patient/%.64s", pt);
  audit_bundle(c, r, pt ? prefix : NULL);
}

/* ---- checkpoints and the module's life --------------------------------- */

static int job_checkpoint(mt_store *st, job *j)
{
  auth *a = j->arg;
  return mt_store_audit_checkpoint(st, a->sk, NULL, j->err, sizeof j->err);
}

static int checkpoint_now(mt_server *s)
{
  auth *a = s->auth;
  job j;
  memset(&j, 0, sizeof j);
  j.fn = job_checkpoint, j.arg = a;
  int rc = write_wait(s, &j);
  if (rc)
    fprintf(stderr, "medtwin serve: audit checkpoint: %s\n", j.err);
  return rc;
}

static void *ticker_main(void *arg)
{
  mt_server *s = arg;
  auth *a = s->auth;
  pthread_mutex_lock(&a->tick_lock);
  while (!a->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s->cfg.checkpoint_s;
    while (!a->stop &&
           pthread_cond_timedwait(&a->tick_wake, &a->tick_lock, &until) == 0)
      ;
    if (a->stop)
      break;
    pthread_mutex_unlock(&a->tick_lock);
    checkpoint_now(s);
    pthread_mutex_lock(&a->tick_lock);
  }
  pthread_mutex_unlock(&a->tick_lock);
  return NULL;
}

int auth_start(mt_server *s, char *err, size_t errlen)
{
  if (sodium_init() < 0) {
    snprintf(err, errlen, "serve: libsodium cannot start");
    return MT_EIO;
  }
  auth *a = calloc(1, sizeof *a);
  if (!a || !(a->ses = calloc(SESSIONS_MAX, sizeof *a->ses))) {
    free(a);
    snprintf(err, errlen, "serve: out of memory");
    return MT_ENOMEM;
  }
  pthread_mutex_init(&a->lock, NULL);
  pthread_mutex_init(&a->dummy_lock, NULL);
  pthread_mutex_init(&a->hash_lock, NULL);
  pthread_cond_init(&a->hash_free, NULL);
  pthread_mutex_init(&a->tick_lock, NULL);
  pthread_cond_init(&a->tick_wake, NULL);
  s->auth = a;
  if (!s->cfg.audit_key)
    return 0;
  a->sk = sodium_malloc(MT_AUDIT_SK_BYTES);
  if (!a->sk) {
    snprintf(err, errlen, "serve: out of memory");
    return MT_ENOMEM;
  }
  int rc = mt_audit_key_load(s->cfg.audit_key, s->cfg.data_dir, a->sk, err,
                             errlen);
  if (!rc)
    rc = sodium_mprotect_readonly(a->sk) ? MT_EIO : 0;
  if (rc)
    return rc;
  return 0;
}

/* The writer runs: the first checkpoint, then the ticker. */
int auth_run(mt_server *s, char *err, size_t errlen)
{
  auth *a = s->auth;
  if (!a->sk)
    return 0;
  if (checkpoint_now(s)) {
    snprintf(err, errlen, "serve: --audit-key: the first checkpoint failed "
             "(is it the key whose public half the store holds? see "
             "medtwin audit keygen)");
    return MT_EDENIED;
  }
  if (s->cfg.checkpoint_s > 0 &&
      pthread_create(&a->ticker, NULL, ticker_main, s) == 0)
    a->ticking = 1;
  return 0;
}

/* Before the writer stops: the ticker ends, a last checkpoint. */
void auth_finish(mt_server *s)
{
  auth *a = s->auth;
  if (!a)
    return;
  if (a->ticking) {
    pthread_mutex_lock(&a->tick_lock);
    a->stop = 1;
    pthread_cond_signal(&a->tick_wake);
    pthread_mutex_unlock(&a->tick_lock);
    pthread_join(a->ticker, NULL);
    a->ticking = 0;
  }
  if (a->sk)
    checkpoint_now(s);
}

void auth_stop(mt_server *s)
{
  auth *a = s->auth;
  if (!a)
    return;
  if (a->sk)
    sodium_free(a->sk);
  sodium_memzero(a->ses, SESSIONS_MAX * sizeof *a->ses);
  free(a->ses);
  pthread_mutex_destroy(&a->lock);
  pthread_mutex_destroy(&a->dummy_lock);
  pthread_mutex_destroy(&a->hash_lock);
  pthread_cond_destroy(&a->hash_free);
  pthread_mutex_destroy(&a->tick_lock);
  pthread_cond_destroy(&a->tick_wake);
  free(a);
  s->auth = NULL;
}
