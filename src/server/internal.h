/*
** Internal to the server: what the dispatcher (server.c), the FHIR facade
** (fhir.c) and the twins (twins.c) share.
**
** Threads. libmicrohttpd runs one thread per connection, so a handler may
** block: on the writer (every write is a job that one writer thread commits
** in a group with the others waiting, one fsync for all, before any of them
** is acknowledged), on a twin's lock, or, for server-sent events, on the
** twin's event condition. Reads use pooled reader handles on the same
** database (SQLite WAL: readers see committed data and never block the
** writer).
*/
#ifndef MT_SERVER_INTERNAL_H
#define MT_SERVER_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#include "medtwin/access.h"
#include "medtwin/error.h"
#include "medtwin/server.h"
#include "medtwin/store.h"
#include "medtwin/twin.h"

#define FHIR_JSON "application/fhir+json"
#define FHIR_NDJSON "application/fhir+ndjson"

/* ---- who is asking (auth.c) ---- */

#define SCOPES_MAX 16
typedef struct scope {
  char type[40];  /* a resource type, or "*" */
  unsigned perms; /* PERM_* bits */
} scope;

enum { PERM_C = 1u, PERM_R = 2u, PERM_U = 4u, PERM_D = 8u, PERM_S = 16u };

typedef struct principal {
  mt_role role;                       /* MT_ROLE_NONE: nobody signed in */
  char actor[48];                     /* pseudonymous: "user:...", ... */
  char who[MT_ACCESS_ID_MAX + 1];     /* whose care team: user or token id */
  char patient[MT_STORE_KEY_MAX + 1]; /* bound patient (device, patient) */
  char device[MT_STORE_KEY_MAX + 1];  /* bound Device (device) */
  int n_scopes;                       /* 0: the role's permissions alone */
  scope sc[SCOPES_MAX];
  int by_cookie;                      /* a session: writes need CSRF */
  unsigned char session[32];          /* its hash (by_cookie) */
  char token[MT_ACCESS_ID_MAX + 1];   /* the token's id, or "" */
} principal;

/* ---- write jobs: one writer thread, group commits ---- */

typedef struct job job;

/* Writes of one kind in a job, recorded as one audit record. */
typedef struct tally {
  char action[16];
  char patient[MT_STORE_KEY_MAX + 1];
  char type[40];
  char first[MT_STORE_KEY_MAX + 1]; /* the first resource's id */
  long n, outcome;
} tally;
/* Runs on the writer thread inside the group's transaction, in its own
** savepoint: a negative return undoes everything the job wrote. */
typedef int (*job_fn)(mt_store *st, job *j);
struct job {
  job_fn fn;
  void *arg;
  job_fn alone; /* if set, run after the group has committed, outside any
                   transaction (an erasure), when fn succeeded */
  void (*free_arg)(void *); /* detached jobs: called once done */
  int detached;             /* nobody waits: freed by the writer */
  int done, rc;
  char err[MT_ERRMSG_MAX];
  job *next;
  /* set by write_wait/write_detached from the request's ctx: whose write
  ** it is (has_who 0: the server's own) and its audit record on failure */
  int has_who;
  principal who;
  int guarded;  /* it checked an access (auth_write): a failure is recorded */
  int audited;  /* its audit records are in its savepoint */
  tally *tally; /* its writes, recorded when it is done (malloc'd) */
  int n_tally, cap_tally;
  char action[16];
  char resource[160];
};

/* ---- twins ---- */

#define EVENT_RING 256

typedef struct twin_event {
  int64_t seq;    /* the observation that caused it */
  int sub;        /* 0 assimilation, 1 forecast, 2.. alerts */
  char kind[16];  /* "assimilation", "forecast", "alert" */
  char *data;     /* JSON text */
} twin_event;

typedef struct twin_slot {
  pthread_mutex_t lock; /* everything below */
  pthread_cond_t news;  /* broadcast when an event is added */
  char patient[MT_STORE_KEY_MAX + 1];
  char model[32], group[16];
  uint64_t seed;
  mt_twin *tw;
  int ready;           /* 0 while being (re)built: drains wait for it */
  int64_t t0_ms;       /* the twin's clock origin: its first datum */
  int started;
  int64_t fed_seq;     /* every observation up to this seq is taken */
  long readings, inputs, refused;
  long since_snap;     /* readings since the last snapshot */
  int64_t snap_wall_ms;
  char last_ref[MT_STORE_KEY_MAX + 1]; /* the last reading's Observation id */
  twin_event ring[EVENT_RING];
  int64_t n_events;    /* events ever added (ring index = n % EVENT_RING) */
  int listeners;
} twin_slot;

struct mt_server {
  mt_server_config cfg;
  struct MHD_Daemon *d;
  mt_store *store; /* the writer's handle: the writer thread only */
  /* reader handles, pooled */
  pthread_mutex_t rd_lock;
  mt_store **rd;
  int n_rd, cap_rd;
  /* the writer */
  pthread_t writer;
  pthread_mutex_t wq_lock;
  pthread_cond_t wq_more, wq_done;
  job *head, *tail;
  int stopping;      /* the writer: finish the queue and end */
  int closing;       /* event streams: end */
  int lock_fd;       /* DATA/serve.lock, held shared while serving, so that
                        an offline erasure sees the server (-1: none) */
  long groups, jobs; /* committed so far, for the statistics */
  /* twins (slots never move: an array of pointers) */
  pthread_mutex_t tw_lock;
  twin_slot **twin;
  int n_twin, cap_twin;
  int64_t snap_clock;
  char started[32]; /* ISO 8601, for the CapabilityStatement */
  void *auth;       /* auth.c's state: sessions, failed logins */
  void *mqtt;       /* mqtt.c's state, NULL without a broker */
  void *demo;       /* demo.c's state, NULL without --demo */
  int tls;          /* 1: HTTPS (cookies get Secure) */
};

/* ---- requests and replies ---- */

#define REPLY_HEADERS 4
typedef struct reply {
  unsigned status;
  int n_hdr;                     /* more headers: Set-Cookie, ... */
  char hdr[REPLY_HEADERS][2][256];
  json_t *doc;
  const char *type; /* media type; FHIR_JSON when NULL */
  int ndjson;       /* a 2xx Bundle sent as its entries' resources, one a
                       line (FHIR_NDJSON) */
  char location[256], etag[32], modified[40];
  struct MHD_Response *raw; /* a ready response (events); doc unused */
} reply;

#define MAX_PARAMS 4
typedef struct ctx {
  mt_server *s;
  struct MHD_Connection *conn;
  const char *method, *url;
  json_t *body;    /* the parsed body, for routes that take one */
  mt_store *rd;    /* a reader handle, taken on first use */
  char param[MAX_PARAMS][MT_STORE_KEY_MAX + 1]; /* {...} of the route */
  /* access (auth.c) */
  principal who;
  int acc;            /* the route's access class */
  char action[16];    /* read, search, create, ... for the audit */
  char resource[160]; /* what, for the audit: "Patient/p1/Observation" */
  int wrote;          /* a write job ran: its records are in its commit */
} ctx;

/* server.c */
json_t *outcome(const char *code, const char *expression, const char *fmt,
                ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void fail(reply *r, unsigned status, const char *code, const char *expression,
          const char *msg);
void store_failed(reply *r, int rc, const char *err);
mt_store *reader(ctx *c);
/* Run a job on the writer and wait until its group has committed: its rc
** (the commit's failure if the group's commit failed). */
int write_wait(mt_server *s, job *j);
/* Hand a job to the writer without waiting (j and j->arg malloc'd). */
void write_detached(mt_server *s, job *j);
int64_t now_ms(void);
void iso_ms(int64_t ms, char *buf, size_t len);
char *dump(const json_t *v);              /* compact, decimals as written */
json_t *load(const char *text, json_error_t *e);
/* The route table's match of method and url (a path without its query,
** unescaped, as libmicrohttpd hands it over): 0 with the route's path
** template into *path and its {...} segments into c->param; else 404 (no
** route has the path) or 405 (one has it under another method), *path
** NULL and r set to the reply. */
int server_route(const char *method, const char *url, ctx *c,
                 const char **path, reply *r);

/* Release what a ctx holds (its reader); for work from no HTTP request
** (MQTT, the demo), whose ctx has conn NULL. */
void ctx_done(ctx *c);

/* auth.c: the one authorisation module (docs/SECURITY.md). */
enum {
  ACC_PUBLIC = 0, /* anyone: the dashboard's files, health, metadata */
  ACC_LOGIN,      /* anyone, rate-limited: the login */
  ACC_SELF,       /* anyone signed in: who am I, logout */
  ACC_TWIN_R,     /* {patient}: read the twin */
  ACC_TWIN_W,     /* {patient}: configure the twin */
  ACC_INGEST,     /* {patient} or ?patient=: write observations */
  ACC_TWINS,      /* the list of twins, filtered */
  ACC_FHIR_R,     /* {type}/{id}: read, vread, history; checked on what
                     the handler returns */
  ACC_FHIR_S,     /* {type}: search, limited in the query */
  ACC_FHIR_C,     /* {type}: create } checked for each resource inside */
  ACC_FHIR_U,     /* {type}: update } the write (auth_write) */
  ACC_FHIR_D,     /* {type}: delete } */
  ACC_FHIR_TX,    /* transaction: each entry by auth_write */
  ACC_CONSENT_R,  /* {patient}: read consents */
  ACC_CONSENT_W,  /* {patient}: change a consent */
  ACC_AUDIT_OWN,  /* {patient}: who accessed the record (GDPR Art. 15) */
  ACC_AUDIT,      /* the audit trail: auditors */
  ACC_EXPORT      /* {patient}: the whole record (GDPR Art. 20): the
                     patient, a clinician of the care team, admins;
                     checked on what the handler returns */
};
int auth_start(mt_server *s, char *err, size_t errlen); /* before writer */
int auth_run(mt_server *s, char *err, size_t errlen); /* writer running */
void auth_finish(mt_server *s); /* before the writer stops */
void auth_stop(mt_server *s);
/* SMART scopes into p->sc: 0, or -1 when one does not parse. */
int auth_parse_scopes(const char *text, principal *p);
ctx *auth_acting(void); /* the request this thread serves, or NULL */
/* Before the handler: 0 to go on, or the reply is set (401, 403, 404,
** 429). Sets c->who and what the audit records. */
int auth_check(ctx *c, int acc, reply *r);
/* After the handler: what the reply returns is checked (a resource out of
** reach becomes 404) and the access recorded, durably, before it is sent. */
void auth_after(ctx *c, reply *r);
/* A search's reach for the caller. */
void auth_reach(const ctx *c, mt_res_query *q);
/* Whether the caller may see patient's data (1) or not (0). */
int auth_sees(ctx *c, const char *patient);
/* For a long response (server-sent events): whether p, as it was when the
** request began, still may read patient's data: its session alive or its
** token valid, and the patient in reach (consent, care team). */
int auth_still(mt_server *s, const principal *p, const char *patient);
/* Inside a write job on the writer thread: may the job's principal write
** (op PERM_C, PERM_U, PERM_D) a resource of type whose patient is
** new_patient (after) and old_patient (before; NULL: none or new), res
** (the resource written, NULL for a delete: a device token writes as its
** own Device only)? 0, or a negative code with *http and err set. */
int auth_write(mt_store *st, unsigned op, const char *type,
               const char *new_patient, const char *old_patient, json_t *res,
               int *http, char *err, size_t errlen);
/* After a resource is written in a job: its audit record, and for a
** Consent the current decision. */
int auth_written(mt_store *st, unsigned op, const char *type, const char *id,
                 const char *patient, json_t *res, char *err, size_t errlen);
/* The principal of the job running on the writer thread (NULL: none, the
** server's own write). */
const principal *job_principal(void);
/* The running job's access checked (auth_write) and recorded
** (auth_written). */
void job_mark(int guarded, int audited);
/* What the running job's failure record names (a refused write: the
** patient's compartment, so that the patient's access log shows it). */
void job_note(const char *resource);
/* On the writer, after a guarded job failed and its savepoint was undone:
** the failure's audit record. */
void auth_job_failed(mt_store *st, job *j);
/* A write of the running job, to be recorded (0, or MT_ENOMEM). */
int job_tally(const char *action, const char *patient, const char *type,
              const char *id, long outcome);
/* On the writer, a job done: its tallied writes' records, in its
** savepoint (0, or the failure that undoes the job). */
int auth_job_done(mt_store *st, job *j);
/* A thread's writes that come from no HTTP request (MQTT) act for p. */
void auth_act_as(ctx *c);
/* A message of Device device (MQTT): c->who becomes the principal of the
** newest valid device token bound to it, as its bearer token would make.
** 0, MT_ENOTFOUND when it has none (recorded), or another negative code. */
int auth_device(ctx *c, const char *device);
void h_login(ctx *c, reply *r);
void h_logout(ctx *c, reply *r);
void h_me(ctx *c, reply *r);
void h_consent_get(ctx *c, reply *r);
void h_consent_put(ctx *c, reply *r);
void h_consent_delete(ctx *c, reply *r);
void h_patient_audit(ctx *c, reply *r);
void h_audit(ctx *c, reply *r);

/* web.c: the dashboard's static files, embedded at build time */
void h_web_index(ctx *c, reply *r);
void h_web_asset(ctx *c, reply *r);

/* mqtt.c: device streams (cfg.mqtt "HOST:PORT"); started after the
** writer, stopped before it. mqtt_alert publishes an alert (JSON text). */
int mqtt_start(mt_server *s, char *err, size_t errlen);
void mqtt_stop(mt_server *s);
void mqtt_alert(mt_server *s, const char *patient, const char *json);

/* demo.c: the virtual patients of --demo, streamed through the ingest
** path on a thread of its own; started last, stopped first. */
int demo_start(mt_server *s, char *err, size_t errlen);
void demo_stop(mt_server *s);

/* fhir.c */
void h_metadata(ctx *c, reply *r);
void h_create(ctx *c, reply *r);
void h_read(ctx *c, reply *r);
void h_update(ctx *c, reply *r);
void h_delete(ctx *c, reply *r);
void h_transaction(ctx *c, reply *r);
void h_vread(ctx *c, reply *r);
void h_history(ctx *c, reply *r);
void h_search(ctx *c, reply *r);
void h_everything(ctx *c, reply *r);
void with_meta(const mt_resource *res, reply *r);
/* A FHIR search or conditional query string (still percent-encoded, as
** in If-None-Exist or a transaction's conditional URL) for type: 0 when it
** makes a store query, else the HTTP status, msg naming why. */
int fhir_query_check(const char *type, const char *qs, char *msg,
                     size_t msglen);
/* What the server takes from a resource of type before storing it: its
** index entry, and the rows its twins read (Observation,
** MedicationAdministration). The number of rows, or -1 when a value is
** refused (msg names its path and why). */
int fhir_resource_check(const char *type, json_t *res, char *msg,
                        size_t msglen);
/* A transaction Bundle (POST /fhir) as h_transaction checks it before its
** job touches the store: the Bundle, each entry's request and resource,
** fullUrls given new ids and, without conditional creates or references,
** references resolved and each resource's stored text and index entry made
** (bundle's resources are changed as for the write). The number of
** entries, or -1 with r set: a 4xx, or 500 when out of memory. */
int fhir_tx_check(json_t *bundle, reply *r);
/* The patient a resource belongs to ("" : none), by the index's rule. */
void fhir_patient_of(const char *type, const char *id, json_t *res,
                     char patient[MT_STORE_KEY_MAX + 1]);
/* Create or update type/id with res under the caller's job (a new version
** each time); *created 1 when it was new. */
int fhir_store_put(mt_store *st, const char *type, const char *id,
                   json_t *res, mt_resource *out, int *created, char *err,
                   size_t errlen);
/* Store a resource (a create) from the server itself, e.g. a Flag: one
** write under the caller's job. */
int fhir_store_own(mt_store *st, const char *type, const char *id,
                   json_t *res, char *err, size_t errlen);

/* twins.c */
#define CODE_BOLUS "medtwin-bolus"
#define CODE_BASAL "medtwin-basal"
/* heart drugs (MedicationAdministration by RxNorm code, fhir.c) */
#define CODE_BETA_BLOCKER "medtwin-beta-blocker"
#define CODE_VASODILATOR "medtwin-vasodilator"
#define CODE_DIURETIC "medtwin-diuretic"
#define CODE_INOTROPE "medtwin-inotrope"
int twin_code(const char *code); /* its mt_stream_kind, or -1 */
/* After a commit: the patient's twin (if any) takes what it has not. */
void twins_feed(mt_server *s, mt_store *rd, const char *patient);
int twins_restore(mt_server *s, char *err, size_t errlen);
void twins_save_all(mt_server *s);
void twins_wake(mt_server *s);
void twins_free(mt_server *s);
/* Drop the live twin of patient, its events and its state (an erasure). */
void twins_forget(mt_server *s, const char *patient);
void h_twin_put(ctx *c, reply *r);
void h_twins(ctx *c, reply *r);
void h_twin_get(ctx *c, reply *r);
void h_twin_forecast(ctx *c, reply *r);
void h_twin_events(ctx *c, reply *r);
void h_twin_whatif(ctx *c, reply *r);
/* ingest.c: a body of POST /api/v1/entries, /api/v1/treatments and
** /api/twins/{patient}/data mapped to the entries of the transaction
** Bundle it is stored as (creates of Observations and
** MedicationAdministrations of patient). A new array, or NULL with r set
** (400, 422). */
json_t *ingest_ns_entries(const char *patient, json_t *body, reply *r);
json_t *ingest_ns_treatments(const char *patient, json_t *body, reply *r);
json_t *ingest_json(const char *patient, json_t *body, reply *r);

/* The vital signs a device may send by stream name (the JSON data route's
** lists and MQTT streams; the FHIR path takes the same codes, src/twin/
** codes.c): the name, the JSON data route's value key, the UCUM unit, the
** LOINC code and display, the Observation category. */
typedef struct srv_vital {
  const char *name, *key, *unit, *loinc, *display, *category;
} srv_vital;
const srv_vital *srv_vital_named(const char *name); /* NULL: none */
void h_ns_entries(ctx *c, reply *r);
void h_ns_treatments(ctx *c, reply *r);
void h_ingest(ctx *c, reply *r);

#endif
