/*
** medtwin server: live twins behind a REST and FHIR R4 API (docs/API.md).
**
** One table of routes, one dispatcher: every request is matched, its body
** read under a size limit while it arrives, its media type and JSON checked
** before any handler runs; errors are FHIR OperationOutcome resources with
** the right 4xx. HTTP is GNU libmicrohttpd, a thread per connection; writes are committed
** in groups by one writer thread before they are acknowledged.
*/
#ifndef MEDTWIN_SERVER_H
#define MEDTWIN_SERVER_H

#include <stddef.h>

typedef struct mt_server_config {
  const char *host;     /* address to listen on (default "127.0.0.1") */
  int port;             /* 0: an ephemeral port (reported by the callback) */
  const char *data_dir; /* the store's directory (default "medtwin-data") */
  size_t max_body;      /* largest request body, bytes (default 8 MiB) */
  int max_depth;        /* deepest JSON nesting accepted (default 64) */
  long snapshot_ms;     /* a twin's snapshot at most this often, ms, once it
                           has an hour of new readings (default 60000) */
  int max_connections;  /* concurrent connections, each its own thread
                           (default 256) */
  const char *mqtt;     /* "HOST:PORT" of an MQTT broker for device streams
                           and alerts (docs/API.md), or NULL (default) */
  const char *mqtt_user; /* the server's user name at the broker, or NULL:
                           none (anonymous) */
  const char *mqtt_password; /* its password (with mqtt_user), or NULL.
                           Borrowed until stop */
  int demo;             /* 1: stream 30 virtual patients through the server
                           (docs/API.md, "Demo") */
  double demo_speed;    /* the demo clock's speed-up (default 60) */
  long session_idle_ms; /* a dashboard session ends after this long
                           unused (default 15 min: HIPAA 164.312(a)(2)(iii)
                           automatic logoff) */
  const char *audit_key; /* the Ed25519 secret key file that signs the
                           audit chain's checkpoints (outside data_dir), or
                           NULL: no checkpoints */
  long checkpoint_s;    /* a checkpoint this often, s (default 300) */
  const char *demo_password; /* --demo: the demo user's password (NULL:
                           a random one, printed) */
  const char *tls_cert; /* PEM text of the certificate (chain), or NULL:
                           with tls_key, HTTPS only, TLS 1.2 and 1.3 */
  const char *tls_key;  /* PEM text of the certificate's private key, or
                           NULL; both or neither. Borrowed until stop */
  int insecure;         /* 1: plain HTTP beyond loopback allowed (default 0:
                           a host outside 127.0.0.0/8 needs TLS) */
  struct mt_vault *vault; /* the key store: personal data encrypted at rest
                           (include/medtwin/vault.h), or NULL: not. Borrowed
                           until stop */
} mt_server_config;

void mt_server_config_init(mt_server_config *cfg);

typedef struct mt_server mt_server;

/* Start listening; the actual port into *port. 0, or MT_EIO / MT_EINVAL /
** MT_ENOMEM with one line in err; on failure *out is NULL. */
int mt_server_start(const mt_server_config *cfg, mt_server **out, int *port,
                    char *err, size_t errlen);
/* The OpenAPI 3.0 description of every route, generated from the route
** table (malloc'd JSON text; NULL when out of memory). */
char *mt_server_openapi(void);

/* Stop accepting, finish the requests under way, release everything. */
void mt_server_stop(mt_server *s);

#endif
