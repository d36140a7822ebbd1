/*
** medtwin server: the route table, the dispatcher, the writer and the
** responses (include/medtwin/server.h, internal.h). Every request passes
** the same gate before a handler runs: route and method matched (404, 405),
** body read under its limit while it arrives (413), media type (415), JSON
** nesting depth checked before parsing and the JSON parsed, its strings
** valid UTF-8 without control characters and its decimals kept as written
** (400); every error is an OperationOutcome (FHIR R4 4.0.1) naming what was
** wrong.
**
** Writes go to one writer thread, which commits the jobs waiting at the
** time in one transaction (group commit: one fsync for all, SQLite WAL with
** synchronous=FULL) and only then wakes the handlers to answer: a 2xx is
** never sent for data that a crash could still lose.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "medtwin/import.h"
#include "server/internal.h"
#include "server/jsonx.h"

typedef void (*handler)(ctx *c, reply *r);

enum { ROUTE_BODY = 1u }; /* takes a JSON body */

typedef struct route {
  const char *method, *path;
  handler fn;
  unsigned flags;
  int acc;             /* its access class (auth.c) */
  const char *summary; /* for the OpenAPI description */
} route;

/* A request in progress: its body as it arrives. */
typedef struct req {
  char *body;
  size_t len, cap;
  int too_large;
} req;

/* ---- small shared helpers ------------------------------------------------ */

int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ISO 8601 in UTC with milliseconds; a time before 1970 too (the division
** rounds down), and the year in four digits, as mt_import_parse_iso reads
** it back. */
void iso_ms(int64_t ms, char *buf, size_t len)
{
  int64_t days = ms / 86400000, rem = ms % 86400000;
  if (rem < 0)
    rem += 86400000, days--;
  int y, m, d, s = (int)(rem / 1000);
  mt_civil_from_days(days, &y, &m, &d);
  snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
           s / 3600, s / 60 % 60, s % 60, (int)(rem % 1000));
}

char *dump(const json_t *v)
{
  return mtj_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

json_t *load(const char *text, json_error_t *e)
{
  return mtj_loadb(text, strlen(text), 0, e);
}

/* ---- responses -------------------------------------------------------- */

/* An OperationOutcome with one issue (FHIR R4 issue-type code). */
json_t *outcome(const char *code, const char *expression, const char *fmt,
                ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *text = json_string(msg);
  if (!text) { /* not UTF-8 (a URL's bytes, a cut character): ASCII only */
    for (char *p = msg; *p; p++)
      if ((unsigned char)*p >= 0x80)
        *p = '?';
    text = json_string(msg);
  }
  json_t *issue = json_pack("{s:s, s:s, s:o}", "severity", "error", "code",
                            code, "diagnostics", text);
  if (expression)
    json_object_set_new(issue, "expression", json_pack("[s]", expression));
  return json_pack("{s:s, s:[o]}", "resourceType", "OperationOutcome",
                   "issue", issue);
}

void fail(reply *r, unsigned status, const char *code, const char *expression,
          const char *msg)
{
  json_decref(r->doc);
  r->status = status;
  r->doc = outcome(code, expression, "%s", msg);
}

void store_failed(reply *r, int rc, const char *err)
{
  fail(r, rc == MT_ENOTFOUND ? MHD_HTTP_NOT_FOUND
       : rc == MT_ECONFLICT ? MHD_HTTP_CONFLICT
       : rc == MT_EINVAL    ? MHD_HTTP_BAD_REQUEST
                            : MHD_HTTP_INTERNAL_SERVER_ERROR,
       rc == MT_ENOTFOUND ? "not-found" : rc == MT_ECONFLICT ? "conflict"
       : rc == MT_EINVAL  ? "invalid"
                          : "exception",
       NULL, err);
}

/* ---- readers ---------------------------------------------------------- */

/* A reader handle for this request (pooled; opened when none is idle). */
mt_store *reader(ctx *c)
{
  mt_server *s = c->s;
  if (c->rd)
    return c->rd;
  pthread_mutex_lock(&s->rd_lock);
  if (s->n_rd)
    c->rd = s->rd[--s->n_rd];
  pthread_mutex_unlock(&s->rd_lock);
  if (!c->rd) {
    char err[MT_ERRMSG_MAX];
    if (mt_store_open_vault(s->cfg.data_dir, s->cfg.vault, &c->rd, err,
                            sizeof err))
      c->rd = NULL;
  }
  return c->rd;
}

void ctx_done(ctx *c)
{
  mt_server *s = c->s;
  if (!c->rd)
    return;
  pthread_mutex_lock(&s->rd_lock);
  if (s->n_rd < s->cap_rd) {
    s->rd[s->n_rd++] = c->rd;
    c->rd = NULL;
  }
  pthread_mutex_unlock(&s->rd_lock);
  mt_store_close(c->rd); /* the pool is full */
  c->rd = NULL;
}

/* ---- the writer --------------------------------------------------------- */

static __thread job *running; /* on the writer: the job being run */

const principal *job_principal(void)
{
  return running && running->has_who ? &running->who : NULL;
}

void job_mark(int guarded, int audited)
{
  if (running) {
    running->guarded |= guarded;
    running->audited |= audited;
  }
}

int job_tally(const char *action, const char *patient, const char *type,
              const char *id, long outcome)
{
  job *j = running;
  if (!j || !j->has_who)
    return 0;
  patient = patient ? patient : "";
  for (int k = 0; k < j->n_tally; k++) {
    tally *t = &j->tally[k];
    if (!strcmp(t->action, action) && !strcmp(t->patient, patient) &&
        !strcmp(t->type, type)) {
      t->n++;
      return 0;
    }
  }
  if (j->n_tally == j->cap_tally) {
    int cap = j->cap_tally ? 2 * j->cap_tally : 4;
    tally *p = realloc(j->tally, (size_t)cap * sizeof *p);
    if (!p)
      return MT_ENOMEM;
    j->tally = p, j->cap_tally = cap;
  }
  tally *t = &j->tally[j->n_tally++];
  snprintf(t->action, sizeof t->action, "%s", action);
  snprintf(t->patient, sizeof t->patient, "%s", patient);
  snprintf(t->type, sizeof t->type, "%s", type);
  snprintf(t->first, sizeof t->first, "%s", id);
  t->n = 1, t->outcome = outcome;
  return 0;
}

void job_note(const char *resource)
{
  if (running)
    snprintf(running->resource, sizeof running->resource, "%s", resource);
}

static void enqueue(mt_server *s, job *j)
{
  j->next = NULL, j->done = 0;
  pthread_mutex_lock(&s->wq_lock);
  if (s->tail)
    s->tail->next = j;
  else
    s->head = j;
  s->tail = j;
  pthread_cond_signal(&s->wq_more);
  pthread_mutex_unlock(&s->wq_lock);
}

int write_wait(mt_server *s, job *j)
{
  /* a client's write: it acts for the request's principal, checked and
  ** recorded inside the job (auth_write, auth_written) */
  ctx *c = auth_acting();
  j->has_who = c && c->who.role;
  j->guarded = j->audited = 0;
  if (j->has_who) {
    j->who = c->who;
    snprintf(j->action, sizeof j->action, "%s", c->action);
    snprintf(j->resource, sizeof j->resource, "%s", c->resource);
  }
  j->detached = 0;
  enqueue(s, j);
  pthread_mutex_lock(&s->wq_lock);
  while (!j->done)
    pthread_cond_wait(&s->wq_done, &s->wq_lock);
  pthread_mutex_unlock(&s->wq_lock);
  if (c && j->audited)
    c->wrote = 1;
  return j->rc;
}

void write_detached(mt_server *s, job *j)
{
  j->detached = 1;
  enqueue(s, j);
}

/* Take every job waiting, run each in its own savepoint of one
** transaction, commit once, then answer them all. */
static void *writer_main(void *arg)
{
  mt_server *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->wq_lock);
    while (!s->head && !s->stopping)
      pthread_cond_wait(&s->wq_more, &s->wq_lock);
    job *list = s->head;
    s->head = s->tail = NULL;
    pthread_mutex_unlock(&s->wq_lock);
    if (!list)
      break; /* stopping, and nothing left */
    char err[MT_ERRMSG_MAX];
    int rc = mt_store_begin(s->store, err, sizeof err);
    long n = 0;
    for (job *j = list; j; j = j->next, n++) {
      j->err[0] = '\0';
      if (rc) {
        j->rc = rc;
        snprintf(j->err, sizeof j->err, "%s", err);
        continue;
      }
      int sp = mt_store_savepoint(s->store, j->err, sizeof j->err);
      running = j;
      j->n_tally = 0;
      j->rc = sp ? sp : j->fn(s->store, j);
      if (!sp && j->rc >= 0 && j->n_tally) { /* its writes' records */
        int rc2 = auth_job_done(s->store, j);
        if (rc2)
          j->rc = rc2;
      }
      running = NULL;
      free(j->tally);
      j->tally = NULL, j->n_tally = j->cap_tally = 0;
      if (!sp)
        mt_store_savepoint_end(s->store, j->rc >= 0, err, sizeof err);
      if (!sp && j->rc < 0) {
        j->audited = 0; /* undone with the savepoint */
        if (j->guarded && j->has_who)
          auth_job_failed(s->store, j);
      }
    }
    if (!rc && (rc = mt_store_commit(s->store, err, sizeof err)))
      for (job *j = list; j; j = j->next)
        if (j->rc >= 0) { /* nothing of the group is durable */
          j->rc = rc;
          snprintf(j->err, sizeof j->err, "%s", err);
        }
    if (rc)
      fprintf(stderr, "medtwin serve: a group of %ld writes failed: %s\n", n,
              err);
    for (job *j = list; j; j = j->next)
      if (j->alone && j->rc >= 0)
        j->rc = j->alone(s->store, j);
    pthread_mutex_lock(&s->wq_lock);
    s->groups++, s->jobs += n;
    for (job *j = list, *next; j; j = next) {
      next = j->next;
      if (j->detached) {
        if (j->rc < 0)
          fprintf(stderr, "medtwin serve: %s\n", j->err);
        if (j->free_arg)
          j->free_arg(j->arg);
        free(j);
      } else
        j->done = 1;
    }
    pthread_cond_broadcast(&s->wq_done);
    pthread_mutex_unlock(&s->wq_lock);
  }
  return NULL;
}

/* ---- service routes ----------------------------------------------------- */

static void h_health(ctx *c, reply *r)
{
  (void)c;
  r->status = MHD_HTTP_OK;
  r->doc = json_pack("{s:s, s:s}", "status", "ok", "version", MT_VERSION);
  r->type = "application/json";
}

static void h_ready(ctx *c, reply *r)
{
  mt_server *s = c->s;
  pthread_mutex_lock(&s->wq_lock);
  long groups = s->groups, jobs = s->jobs;
  pthread_mutex_unlock(&s->wq_lock);
  r->status = MHD_HTTP_OK;
  /* public: no paths or names, only whether it serves and its load */
  r->doc = json_pack("{s:s, s:{s:I, s:I}}", "status", "ready", "writes",
                     "groups", (json_int_t)groups, "jobs", (json_int_t)jobs);
  r->type = "application/json";
}

/* The routes: declared once, as data. Literal paths before parametrised
** ones. */
static const route routes[] = {
    {"GET", "/", h_web_index, 0, ACC_PUBLIC, "the dashboard"},
    {"GET", "/assets/{name}", h_web_asset, 0, ACC_PUBLIC,
     "the dashboard's files"},
    {"GET", "/health", h_health, 0, ACC_PUBLIC, "liveness and version"},
    {"GET", "/ready", h_ready, 0, ACC_PUBLIC, "readiness: the store is open"},
    {"GET", "/fhir/metadata", h_metadata, 0, ACC_PUBLIC,
     "the FHIR R4 CapabilityStatement"},
    {"POST", "/api/login", h_login, ROUTE_BODY, ACC_LOGIN,
     "sign in with a user name and password: a session cookie"},
    {"POST", "/api/logout", h_logout, 0, ACC_SELF, "end the session"},
    {"GET", "/api/me", h_me, 0, ACC_SELF,
     "who is signed in: role, patient, the session's CSRF token"},
    {"GET", "/api/audit", h_audit, 0, ACC_AUDIT,
     "the audit trail as FHIR AuditEvent (auditors; ?patient, after, "
     "_count)"},
    {"POST", "/fhir", h_transaction, ROUTE_BODY, ACC_FHIR_TX,
     "a FHIR transaction Bundle, all or nothing"},
    {"POST", "/api/v1/entries", h_ns_entries, ROUTE_BODY, ACC_INGEST,
     "Nightscout-compatible CGM entries (?patient=id)"},
    {"POST", "/api/v1/treatments", h_ns_treatments, ROUTE_BODY, ACC_INGEST,
     "Nightscout-compatible treatments: carbs, insulin, temp basal "
     "(?patient=id)"},
    {"GET", "/api/twins", h_twins, 0, ACC_TWINS,
     "the twins the caller may see and their status"},
    {"GET", "/api/twins/{patient}", h_twin_get, 0, ACC_TWIN_R,
     "a twin's state, forecast and alerts"},
    {"PUT", "/api/twins/{patient}", h_twin_put, ROUTE_BODY, ACC_TWIN_W,
     "set the model a patient's twin runs"},
    {"GET", "/api/twins/{patient}/forecast", h_twin_forecast, 0, ACC_TWIN_R,
     "the forecast as FHIR Observations and the alerts as Flags"},
    {"GET", "/api/twins/{patient}/events", h_twin_events, 0, ACC_TWIN_R,
     "server-sent events: assimilations, forecasts, alerts"},
    {"POST", "/api/twins/{patient}/whatif", h_twin_whatif, ROUTE_BODY,
     ACC_TWIN_R, "candidate actions run on the twin, ranked"},
    {"POST", "/api/twins/{patient}/data", h_ingest, ROUTE_BODY, ACC_INGEST,
     "CGM readings, carbs, insulin and basal rates in JSON"},
    {"GET", "/api/patients/{patient}/consent", h_consent_get, 0,
     ACC_CONSENT_R, "the patient's consent decisions, per purpose"},
    {"PUT", "/api/patients/{patient}/consent/{purpose}", h_consent_put,
     ROUTE_BODY, ACC_CONSENT_W,
     "record a consent decision (a new version of a FHIR Consent)"},
    {"DELETE", "/api/patients/{patient}/consent/{purpose}", h_consent_delete,
     0, ACC_CONSENT_W, "withdraw a consent"},
    {"GET", "/api/patients/{patient}/audit", h_patient_audit, 0,
     ACC_AUDIT_OWN,
     "who accessed the patient's record, as FHIR AuditEvent (GDPR Art. 15)"},
    {"GET", "/fhir/Patient/{patient}/$everything", h_everything, 0,
     ACC_EXPORT,
     "the patient's whole record as a Bundle, or NDJSON with "
     "?_format=ndjson (FHIR Patient $everything; GDPR Art. 20)"},
    {"POST", "/fhir/{type}", h_create, ROUTE_BODY, ACC_FHIR_C,
     "FHIR create (If-None-Exist)"},
    {"GET", "/fhir/{type}", h_search, 0, ACC_FHIR_S, "FHIR search"},
    {"GET", "/fhir/{type}/{id}", h_read, 0, ACC_FHIR_R, "FHIR read"},
    {"PUT", "/fhir/{type}/{id}", h_update, ROUTE_BODY, ACC_FHIR_U,
     "FHIR update (If-Match)"},
    {"DELETE", "/fhir/{type}/{id}", h_delete, 0, ACC_FHIR_D, "FHIR delete"},
    {"GET", "/fhir/{type}/{id}/_history", h_history, 0, ACC_FHIR_R,
     "FHIR history"},
    {"GET", "/fhir/{type}/{id}/_history/{vid}", h_vread, 0, ACC_FHIR_R,
     "FHIR vread"},
};

char *mt_server_openapi(void)
{
  json_t *paths = json_object();
  for (size_t k = 0; k < sizeof routes / sizeof *routes; k++) {
    const route *rt = &routes[k];
    json_t *item = json_object_get(paths, rt->path);
    if (!item)
      json_object_set_new(paths, rt->path, item = json_object());
    json_t *params = json_array();
    for (const char *p = strchr(rt->path, '{'); p; p = strchr(p + 1, '{')) {
      char name[32];
      snprintf(name, sizeof name, "%.*s", (int)(strcspn(p + 1, "}")), p + 1);
      json_array_append_new(params,
                            json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name,
                                      "in", "path", "required", 1, "schema",
                                      "type", "string"));
    }
    json_t *op = json_pack(
        "{s:s, s:o, s:{s:{s:s}, s:{s:s}}}", "summary", rt->summary,
        "parameters", params, "responses", "2XX", "description", "success",
        "4XX", "description", "an OperationOutcome naming what was wrong");
    if (rt->flags & ROUTE_BODY)
      json_object_set_new(
          op, "requestBody",
          json_pack("{s:b, s:{s:{}, s:{}}}", "required", 1, "content",
                    "application/fhir+json", "application/json"));
    char m[8];
    size_t i = 0;
    for (; rt->method[i] && i < sizeof m - 1; i++)
      m[i] = (char)(rt->method[i] | 0x20); /* lower case */
    m[i] = '\0';
    json_object_set_new(item, m, op);
  }
  json_t *doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "openapi", "3.0.3",
                          "info", "title", "medtwin server", "version",
                          MT_VERSION, "description",
                          "Generated from the server's route table; "
                          "docs/API.md describes each route.",
                          "paths", paths);
  char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(doc);
  return text;
}

/* Whether url matches a route's path; its {...} segments into param. A
** literal segment beats a parameter: "/fhir/metadata" is not a type. */
static int match(const char *path, const char *url, ctx *c)
{
  int np = 0;
  while (*path && *url) {
    if (*path != '/' || *url != '/')
      return 0;
    path++, url++;
    size_t ul = strcspn(url, "/"), pl = strcspn(path, "/");
    if (*path == '{') {
      if (ul == 0 || ul > MT_STORE_KEY_MAX || np == MAX_PARAMS)
        return 0;
      memcpy(c->param[np], url, ul);
      c->param[np++][ul] = '\0';
    } else if (pl != ul || strncmp(path, url, ul))
      return 0;
    path += pl, url += ul;
  }
  return !*path && !*url;
}

/* The route for method and url, its {...} segments into c->param; NULL
** when none, with the reply set: 405 when a route has the path under
** another method, else 404. */
static const route *find_route(const char *method, const char *url, ctx *c,
                               reply *r)
{
  int path_known = 0;
  /* literal routes first: they are listed before the parametrised ones */
  for (size_t k = 0; k < sizeof routes / sizeof *routes; k++)
    if (match(routes[k].path, url, c)) {
      path_known = 1;
      if (!strcmp(method, routes[k].method))
        return &routes[k];
      if (strchr(routes[k].path, '{') == NULL)
        break; /* a literal path known under another method */
    }
  char msg[256];
  snprintf(msg, sizeof msg, "%s %.200s: %s", method, url,
           path_known ? "method not allowed here" : "no such resource");
  fail(r, path_known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND,
       path_known ? "not-supported" : "not-found", NULL, msg);
  return NULL;
}

int server_route(const char *method, const char *url, ctx *c,
                 const char **path, reply *r)
{
  const route *rt = find_route(method, url, c, r);
  *path = rt ? rt->path : NULL;
  return rt ? 0 : (int)r->status;
}

/* ---- the gate --------------------------------------------------------- */

/* Deepest nesting of arrays and objects in JSON text (strings skipped),
** stopping once past limit: checked before parsing, so a hostile depth
** never reaches the parser. */
static int json_depth(const char *s, size_t n, int limit)
{
  int d = 0, max = 0, in_str = 0;
  for (size_t i = 0; i < n && max <= limit; i++) {
    char ch = s[i];
    if (in_str) {
      if (ch == '\\')
        i++;
      else if (ch == '"')
        in_str = 0;
    } else if (ch == '"')
      in_str = 1;
    else if (ch == '[' || ch == '{')
      max = ++d > max ? d : max;
    else if (ch == ']' || ch == '}')
      d--;
  }
  return max;
}

static int media_ok(struct MHD_Connection *conn)
{
  const char *t = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!t)
    return 0;
  size_t n = strcspn(t, ";");
  return (n == strlen(FHIR_JSON) && !strncmp(t, FHIR_JSON, n)) ||
         (n == 16 && !strncmp(t, "application/json", 16));
}

/* A route that takes a body: its media type, depth and JSON into c->body.
** 1 when fine, else 0 with the reply set. */
static int body_ok(mt_server *s, struct MHD_Connection *conn, req *q, ctx *c,
                   reply *r, unsigned flags)
{
  json_error_t je;
  if (!(flags & ROUTE_BODY))
    return 1;
  if (!media_ok(conn)) {
    fail(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "not-supported", NULL,
         "expected Content-Type application/fhir+json");
    return 0;
  }
  if (json_depth(q->body ? q->body : "", q->len, s->cfg.max_depth) >
      s->cfg.max_depth) {
    char msg[128];
    snprintf(msg, sizeof msg, "JSON nested deeper than %d levels",
             s->cfg.max_depth);
    fail(r, MHD_HTTP_BAD_REQUEST, "structure", NULL, msg);
    return 0;
  }
  c->body = mtj_loadb(q->body ? q->body : "", q->len, 0, &je);
  if (!c->body) {
    char msg[256];
    snprintf(msg, sizeof msg, "malformed JSON at line %d, column %d: %s",
             je.line, je.column, je.text);
    fail(r, MHD_HTTP_BAD_REQUEST, "structure", NULL, msg);
    return 0;
  }
  return 1;
}

/* Route and method, the body's limits and JSON, then the handler. */
static void dispatch(mt_server *s, struct MHD_Connection *conn, const char *url,
                     const char *method, req *q, reply *r)
{
  ctx c;
  memset(&c, 0, sizeof c);
  c.s = s, c.conn = conn, c.method = method, c.url = url;
  const route *rt = find_route(method, url, &c, r);
  if (!rt)
    return;
  if (q->too_large) {
    char msg[128];
    snprintf(msg, sizeof msg, "request body over %zu bytes", s->cfg.max_body);
    fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "too-long", NULL, msg);
    return;
  }
  if (auth_check(&c, rt->acc, r) == 0) { /* who, and whether they may */
    if (body_ok(s, conn, q, &c, r, rt->flags)) {
      rt->fn(&c, r);
      if (!r->doc && !r->raw)
        fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
             "no response");
      auth_after(&c, r); /* what it returns, and the record of the access */
    }
  }
  auth_act_as(NULL);
  json_decref(c.body);
  ctx_done(&c);
}

/* A Bundle's entries' resources as NDJSON (FHIR Bulk Data): one compact
** resource a line, each line ended by '\n'. NULL when out of memory. */
static char *ndjson_of(const json_t *bundle)
{
  size_t len = 0, cap = 4096, i;
  char *out = malloc(cap);
  json_t *e;
  if (!out)
    return NULL;
  out[0] = '\0';
  json_array_foreach(json_object_get(bundle, "entry"), i, e)
  {
    char *line = dump(json_object_get(e, "resource"));
    size_t n = line ? strlen(line) : 0;
    if (line && len + n + 2 > cap) {
      while (len + n + 2 > cap)
        cap *= 2;
      char *p = realloc(out, cap);
      if (!p) {
        free(line);
        line = NULL;
      } else
        out = p;
    }
    if (!line) {
      free(out);
      return NULL;
    }
    memcpy(out + len, line, n);
    len += n;
    out[len++] = '\n';
    out[len] = '\0';
    free(line);
  }
  return out;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, reply *r)
{
  if (r->raw) { /* a stream */
    json_decref(r->doc);
    for (int k = 0; k < r->n_hdr; k++)
      MHD_add_response_header(r->raw, r->hdr[k][0], r->hdr[k][1]);
    enum MHD_Result ok = MHD_queue_response(conn, r->status, r->raw);
    MHD_destroy_response(r->raw);
    return ok;
  }
  int nd = r->ndjson && r->doc && r->status >= 200 && r->status < 300;
  char *text = nd ? ndjson_of(r->doc) : r->doc ? dump(r->doc) : NULL;
  json_decref(r->doc);
  if (nd && !text)
    return MHD_NO;
  if (r->ndjson) /* an error is an OperationOutcome, as JSON */
    r->type = nd ? FHIR_NDJSON : NULL;
  size_t n = text ? strlen(text) : 0;
  struct MHD_Response *resp =
      text ? MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE)
           : MHD_create_response_from_buffer(0, (char *)"",
                                             MHD_RESPMEM_PERSISTENT);
  if (!resp) {
    free(text);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          r->type ? r->type : FHIR_JSON "; charset=utf-8");
  if (r->location[0])
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
  if (r->etag[0])
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
  if (r->modified[0])
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED,
                            r->modified);
  for (int k = 0; k < r->n_hdr; k++)
    MHD_add_response_header(resp, r->hdr[k][0], r->hdr[k][1]);
  enum MHD_Result ok = MHD_queue_response(conn, r->status, resp);
  MHD_destroy_response(resp);
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
  mt_server *s = cls;
  req *q = *con_cls;
  (void)version;
  if (!q) { /* the headers: start collecting the body */
    if (!(q = calloc(1, sizeof *q)))
      return MHD_NO;
    *con_cls = q;
    return MHD_YES;
  }
  if (*upload_size) { /* a piece of the body: kept under the limit */
    if (!q->too_large && q->len + *upload_size > s->cfg.max_body)
      q->too_large = 1;
    if (!q->too_large) {
      if (q->len + *upload_size > q->cap) {
        size_t cap = 2 * (q->len + *upload_size);
        char *b = realloc(q->body, cap);
        if (!b)
          return MHD_NO;
        q->body = b, q->cap = cap;
      }
      memcpy(q->body + q->len, upload, *upload_size);
      q->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  reply r;
  memset(&r, 0, sizeof r);
  r.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
  dispatch(s, conn, url, method, q, &r);
  if (!r.doc && !r.raw)
    fail(&r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
         "no response");
  return send_reply(conn, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode tc)
{
  (void)cls, (void)conn, (void)tc;
  req *q = *con_cls;
  if (q) {
    free(q->body);
    free(q);
  }
  *con_cls = NULL;
}

/* ---- start and stop ---------------------------------------------------- */

void mt_server_config_init(mt_server_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->host = "127.0.0.1";
  cfg->port = 8080;
  cfg->data_dir = "medtwin-data";
  cfg->max_body = 8u << 20;
  cfg->max_depth = 64;
  cfg->snapshot_ms = 60000;
  cfg->max_connections = 256;
  cfg->demo_speed = 60;
  cfg->session_idle_ms = 15 * 60 * 1000;
  cfg->checkpoint_s = 300;
}

static void release(mt_server *s)
{
  auth_stop(s);
  twins_free(s);
  for (int k = 0; k < s->n_rd; k++)
    mt_store_close(s->rd[k]);
  free(s->rd);
  mt_store_close(s->store);
  if (s->lock_fd >= 0)
    close(s->lock_fd);
  pthread_mutex_destroy(&s->rd_lock);
  pthread_mutex_destroy(&s->wq_lock);
  pthread_mutex_destroy(&s->tw_lock);
  pthread_cond_destroy(&s->wq_more);
  pthread_cond_destroy(&s->wq_done);
  free(s);
}

static void writer_stop(mt_server *s)
{
  pthread_mutex_lock(&s->wq_lock);
  s->stopping = 1;
  pthread_cond_signal(&s->wq_more);
  pthread_mutex_unlock(&s->wq_lock);
  pthread_join(s->writer, NULL);
}

int mt_server_start(const mt_server_config *cfg, mt_server **out, int *port,
                    char *err, size_t errlen)
{
  *out = NULL;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)cfg->port);
  if (cfg->port < 0 || cfg->port > 65535 ||
      inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
    snprintf(err, errlen, "serve: --listen: expected an IPv4 address and a "
             "port 0-65535, got %s:%d", cfg->host, cfg->port);
    return MT_EINVAL;
  }
  int tls = cfg->tls_cert != NULL;
  if (tls != (cfg->tls_key != NULL)) {
    snprintf(err, errlen, "serve: %s: expected a TLS certificate and its "
             "key together", tls ? "--tls-key" : "--tls-cert");
    return MT_EINVAL;
  }
  /* patients' data leaves the machine only encrypted, unless asked */
  if (!tls && !cfg->insecure && (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    snprintf(err, errlen, "serve: --listen: %s is beyond loopback: expected "
             "--tls-cert and --tls-key, or --insecure for plain HTTP",
             cfg->host);
    return MT_EINVAL;
  }
  if (mkdir(cfg->data_dir, 0700) && errno != EEXIST) {
    snprintf(err, errlen, "serve: %s: cannot create: %s", cfg->data_dir,
             strerror(errno));
    return MT_EIO;
  }
  mt_server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "serve: out of memory");
    return MT_ENOMEM;
  }
  s->cfg = *cfg;
  pthread_mutex_init(&s->rd_lock, NULL);
  pthread_mutex_init(&s->wq_lock, NULL);
  pthread_mutex_init(&s->tw_lock, NULL);
  pthread_cond_init(&s->wq_more, NULL);
  pthread_cond_init(&s->wq_done, NULL);
  s->cap_rd = 16;
  s->rd = calloc((size_t)s->cap_rd, sizeof *s->rd);
  int rc = s->rd ? mt_store_open_vault(cfg->data_dir, cfg->vault, &s->store,
                                       err, errlen)
                 : MT_ENOMEM;
  if (!s->rd)
    snprintf(err, errlen, "serve: out of memory");
  s->lock_fd = -1;
  if (!rc) {
    char lp[4096];
    snprintf(lp, sizeof lp, "%s/serve.lock", cfg->data_dir);
    s->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd >= 0)
      flock(s->lock_fd, LOCK_SH | LOCK_NB);
  }
  if (!rc)
    rc = auth_start(s, err, errlen);
  if (!rc)
    rc = twins_restore(s, err, errlen); /* before the writer: alone */
  if (!rc) /* checkpoints of 2,000 pages (16 MiB): fewer than SQLite's
            ** 1,000, and short enough to keep the writer's pauses under
            ** the latency target (docs/PERFORMANCE.md) */
    rc = mt_store_set_autocheckpoint(s->store, 2000, err, errlen);
  if (!rc && pthread_create(&s->writer, NULL, writer_main, s)) {
    snprintf(err, errlen, "serve: cannot start the writer thread");
    rc = MT_EIO;
  }

  if (rc) {
    release(s);
    return rc;
  }
  if ((rc = auth_run(s, err, errlen))) { /* the audit's first checkpoint */
    writer_stop(s);
    release(s);
    return rc;
  }
  time_t now = time(NULL);
  struct tm tmv;
  strftime(s->started, sizeof s->started, "%Y-%m-%dT%H:%M:%SZ",
           gmtime_r(&now, &tmv));
  /* GnuTLS through libmicrohttpd, which keeps pointers to the PEM text
  ** (hence borrowed until stop). Only TLS 1.2 and 1.3 are offered. */
  struct MHD_OptionItem tls_opt[] = {
      {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)cfg->tls_cert},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)cfg->tls_key},
      {MHD_OPTION_HTTPS_PRIORITIES, 0,
       (void *)(uintptr_t)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
      {MHD_OPTION_END, 0, NULL}};
  s->tls = tls;
  s->d = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
          MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
          (tls ? MHD_USE_TLS : 0),
      0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
      NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_ARRAY,
      tls ? tls_opt : tls_opt + 3, MHD_OPTION_END);
  if (!s->d) {
    snprintf(err, errlen, "serve: cannot listen on %s:%d%s", cfg->host,
             cfg->port, tls ? " with TLS (is the key the certificate's, "
                              "both PEM?)" : "");
    auth_finish(s);
    writer_stop(s);
    release(s);
    return MT_EIO;
  }
  if ((cfg->mqtt && (rc = mqtt_start(s, err, errlen))) ||
      (cfg->demo && (rc = demo_start(s, err, errlen)))) {
    mqtt_stop(s);
    MHD_stop_daemon(s->d);
    auth_finish(s);
    writer_stop(s);
    release(s);
    return rc;
  }
  const union MHD_DaemonInfo *di =
      MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  *port = di ? di->port : cfg->port;
  *out = s;
  return 0;
}

void mt_server_stop(mt_server *s)
{
  if (!s)
    return;
  MHD_socket ls = MHD_quiesce_daemon(s->d); /* no new connections */
  if (ls != MHD_INVALID_SOCKET)
    close(ls);
  pthread_mutex_lock(&s->wq_lock);
  s->closing = 1; /* event streams end */
  pthread_mutex_unlock(&s->wq_lock);
  twins_wake(s);
  demo_stop(s);          /* no new virtual data */
  mqtt_stop(s);          /* no new device data */
  MHD_stop_daemon(s->d); /* requests under way finish */
  twins_save_all(s);     /* then the last snapshots */
  auth_finish(s);        /* and the audit's last checkpoint */
  writer_stop(s);
  release(s);
}
