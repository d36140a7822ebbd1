/*
** medtwin serve: the server in the foreground until SIGTERM or SIGINT, then
** a graceful stop (requests under way finish). docs/API.md.
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/server.h"
#include "medtwin/store.h"
#include "medtwin/vault.h"

static const char usage_text[] =
    "usage: medtwin serve [--listen HOST:PORT] [--data DIR] [--snapshot-interval S]\n"
    "  --listen HOST:PORT  IPv4 address and port (default 127.0.0.1:8080;\n"
    "                      port 0 picks a free one, printed on start)\n"
    "  --tls-cert FILE     HTTPS (TLS 1.2 and 1.3) with this PEM certificate\n"
    "                      (chain); needs --tls-key\n"
    "  --tls-key FILE      the certificate's PEM private key (mode 600)\n"
    "  --insecure          allow plain HTTP on an address beyond loopback\n"
    "                      (refused otherwise)\n"
    "  --data DIR          the store's directory (default medtwin-data)\n"
    "  --master-key-file FILE  the master key of the key store (or\n"
    "                      MEDTWIN_MASTER_KEY_FILE; medtwin keys master FILE\n"
    "                      makes one): personal data is encrypted at rest\n"
    "  --key-store DIR     the patients' keys, outside --data (default\n"
    "                      DATA.keys beside it, or MEDTWIN_KEY_STORE)\n"
    "  --plaintext         no encryption at rest (refused for a store that\n"
    "                      is encrypted)\n"
    "  --mqtt HOST:PORT    take device streams from an MQTT broker and\n"
    "                      publish alerts to it (docs/API.md)\n"
    "  --mqtt-user NAME    the server's user name at the broker\n"
    "  --mqtt-password-file FILE  its password: the file's first line\n"
    "                      (mode 600); needs --mqtt-user\n"
    "  --demo              30 virtual patients streamed through the server\n"
    "  --demo-speed X      the demo's clock speed-up (default 60)\n"
    "  --snapshot-interval S  a twin's snapshot at most every S seconds,\n"
    "                      once it has an hour of new readings (default 60)\n"
    "  --audit-key FILE    sign checkpoints of the audit chain with this\n"
    "                      Ed25519 key (medtwin audit keygen; outside --data)\n"
    "  --checkpoint-interval S  a checkpoint every S seconds (default 300)\n"
    "  --session-idle S    dashboard sessions end after S seconds unused\n"
    "                      (default 900)\n"
    "  --demo-password P   --demo: the demo user's password (default: a\n"
    "                      random one, printed)\n"
    "  --openapi FILE      write the OpenAPI description of the routes and\n"
    "                      exit (- for standard output)\n"
    "  Access needs a user (medtwin user add) or a token (medtwin token\n"
    "  create); docs/SECURITY.md\n";

typedef struct sopts {
  mt_server_config cfg;
  const char *openapi;
  char host[64];
  char *cert, *key; /* the PEM text of --tls-cert, --tls-key */
  char *mqtt_pw;    /* the first line of --mqtt-password-file */
  int json;
} sopts;

#define PEM_MAX (1 << 20)
#define SECRET_MAX 4096

/*
** The file of option opt into a malloc'd string of at most max bytes; a
** secret must not be readable by group or others (and is wiped when
** dropped). EXIT_OK, or EXIT_USAGE with the message printed.
*/
static int read_small(const char *opt, const char *path, int secret,
                      size_t max, char **out)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb)) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return cli_fail(EXIT_USAGE, "serve: %s: cannot read %s: %s", opt, path,
                    strerror(e));
  }
  const char *why = !S_ISREG(sb.st_mode)        ? "is not a regular file"
                    : (size_t)sb.st_size > max  ? "is too large"
                    : secret && (sb.st_mode & 077)
                        ? "is readable by others; chmod 600"
                        : NULL;
  char *buf = why ? NULL : malloc(max + 1);
  size_t n = 0;
  ssize_t k = 1;
  while (buf && n < max && (k = read(fd, buf + n, max - n)) > 0)
    n += (size_t)k;
  int e = errno;
  close(fd);
  if (why)
    return cli_fail(EXIT_USAGE, "serve: %s: %s %s", opt, path, why);
  if (!buf)
    return cli_fail(EXIT_RUNTIME, "serve: out of memory");
  if (k < 0) {
    sodium_memzero(buf, max + 1);
    free(buf);
    return cli_fail(EXIT_USAGE, "serve: %s: cannot read %s: %s", opt, path,
                    strerror(e));
  }
  buf[n] = '\0';
  *out = buf;
  return EXIT_OK;
}

/* A PEM file (a key: secret) of option opt, under 1 MiB. */
static int read_pem(const char *opt, const char *path, int secret,
                    char **out)
{
  int rc = read_small(opt, path, secret, PEM_MAX, out);
  if (rc)
    return rc;
  if (!strstr(*out, "-----BEGIN ")) {
    free(*out);
    *out = NULL;
    return cli_fail(EXIT_USAGE, "serve: %s: expected a PEM file, got %s",
                    opt, path);
  }
  return EXIT_OK;
}

/* The first line of the secret file of option opt, without its end. */
static int read_secret_line(const char *opt, const char *path, char **out)
{
  int rc = read_small(opt, path, 1, SECRET_MAX, out);
  if (rc)
    return rc;
  (*out)[strcspn(*out, "\r\n")] = '\0';
  if (!**out) {
    free(*out);
    *out = NULL;
    return cli_fail(EXIT_USAGE, "serve: %s: the first line of %s is empty",
                    opt, path);
  }
  return EXIT_OK;
}

static void free_secret(char **p)
{
  if (*p) {
    sodium_memzero(*p, SECRET_MAX + 1);
    free(*p);
    *p = NULL;
  }
}

static int serve_opt(void *ctx, const char *a, const char *v)
{
  sopts *o = ctx;
  if (!strcmp(a, "--data")) {
    o->cfg.data_dir = v;
    return 0;
  }
  if (!strcmp(a, "--openapi")) {
    o->openapi = v;
    return 0;
  }
  if (!strcmp(a, "--tls-cert") || !strcmp(a, "--tls-key")) {
    int key = a[6] == 'k';
    char **pem = key ? &o->key : &o->cert;
    free(*pem); /* given twice: the last one */
    *pem = NULL;
    return read_pem(a, v, key, pem);
  }
  if (!strcmp(a, "--mqtt")) {
    if (!strchr(v, ':'))
      return cli_fail(EXIT_USAGE, "serve: --mqtt: expected HOST:PORT of an "
                      "MQTT broker, got '%s'", v);
    o->cfg.mqtt = v;
    return 0;
  }
  if (!strcmp(a, "--mqtt-user")) {
    if (!*v)
      return cli_fail(EXIT_USAGE, "serve: --mqtt-user: expected a user "
                      "name");
    o->cfg.mqtt_user = v;
    return 0;
  }
  if (!strcmp(a, "--mqtt-password-file")) {
    free_secret(&o->mqtt_pw); /* given twice: the last one */
    return read_secret_line(a, v, &o->mqtt_pw);
  }
  if (!strcmp(a, "--audit-key")) {
    o->cfg.audit_key = v;
    return 0;
  }
  if (!strcmp(a, "--demo-password")) {
    o->cfg.demo_password = v;
    return 0;
  }
  if (!strcmp(a, "--checkpoint-interval") || !strcmp(a, "--session-idle")) {
    char *end;
    double sec = strtod(v, &end);
    if (end == v || *end || !(sec >= 1 && sec <= 86400))
      return cli_fail(EXIT_USAGE, "serve: %s: expected seconds 1-86400, got "
                      "'%s'", a, v);
    if (a[2] == 'c')
      o->cfg.checkpoint_s = (long)sec;
    else
      o->cfg.session_idle_ms = (long)(sec * 1000);
    return 0;
  }
  if (!strcmp(a, "--demo-speed")) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= 1 && x <= 3600))
      return cli_fail(EXIT_USAGE, "serve: --demo-speed: expected a clock "
                      "speed-up 1-3600, got '%s'", v);
    o->cfg.demo_speed = x;
    return 0;
  }
  if (!strcmp(a, "--snapshot-interval")) {
    char *end;
    double sec = strtod(v, &end);
    if (end == v || *end || !(sec >= 0 && sec <= 86400))
      return cli_fail(EXIT_USAGE, "serve: --snapshot-interval: expected "
                      "seconds 0-86400, got '%s'", v);
    o->cfg.snapshot_ms = (long)(sec * 1000);
    return 0;
  }
  if (strcmp(a, "--listen"))
    return cli_fail(EXIT_USAGE, "serve: unknown option '%s'", a);
  const char *colon = strrchr(v, ':');
  char *end;
  long port = colon ? strtol(colon + 1, &end, 10) : -1;
  if (!colon || colon == v || (size_t)(colon - v) >= sizeof o->host ||
      end == colon + 1 || *end || port < 0 || port > 65535)
    return cli_fail(EXIT_USAGE, "serve: --listen: expected HOST:PORT "
                    "(port 0-65535), got '%s'", v);
  snprintf(o->host, sizeof o->host, "%.*s", (int)(colon - v), v);
  o->cfg.host = o->host;
  o->cfg.port = (int)port;
  return 0;
}

/* After the options: --openapi, or the server until a stop signal. */
static int serve_run(sopts *o)
{
  int rc;
  o->cfg.tls_cert = o->cert;
  o->cfg.tls_key = o->key;
  o->cfg.mqtt_password = o->mqtt_pw;
  if ((o->cfg.mqtt_user || o->mqtt_pw) && !o->cfg.mqtt && !o->openapi)
    return cli_fail(EXIT_USAGE, "serve: %s: needs --mqtt HOST:PORT",
                    o->cfg.mqtt_user ? "--mqtt-user"
                                     : "--mqtt-password-file");
  if (o->mqtt_pw && !o->cfg.mqtt_user && !o->openapi)
    return cli_fail(EXIT_USAGE, "serve: --mqtt-password-file: needs "
                    "--mqtt-user NAME");
  if (o->openapi) {
    char *text = mt_server_openapi(), err[MT_ERRMSG_MAX];
    mt_afile *f;
    if (!text)
      return cli_fail(EXIT_RUNTIME, "serve: out of memory");
    rc = mt_afile_open(o->openapi, &f, err, sizeof err);
    if (!rc) {
      fputs(text, mt_afile_stream(f));
      fputc('\n', mt_afile_stream(f));
      rc = mt_afile_commit(f, err, sizeof err);
    }
    free(text);
    return rc ? cli_fail(EXIT_RUNTIME, "%s", err) : EXIT_OK;
  }
  /* the daemon's threads inherit a mask that leaves the stop signals to
  ** sigwait here */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  char err[MT_ERRMSG_MAX], pw[24];
  if (o->cfg.demo && !o->cfg.demo_password) { /* a fresh one at every start */
    unsigned char b[12];
    if (sodium_init() < 0)
      return cli_fail(EXIT_RUNTIME, "serve: libsodium cannot start");
    randombytes_buf(b, sizeof b);
    sodium_bin2base64(pw, sizeof pw, b, sizeof b,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    o->cfg.demo_password = pw;
  }
  mt_server *s;
  mt_vault *vault;
  int port;
  if ((rc = cli_vault_open("serve", o->cfg.data_dir, 1, &vault)))
    return rc;
  o->cfg.vault = vault;
  rc = mt_server_start(&o->cfg, &s, &port, err, sizeof err);
  if (rc) {
    mt_vault_close(vault);
    return cli_fail(rc == MT_EINVAL ? EXIT_USAGE : EXIT_RUNTIME, "%s", err);
  }
  const char *scheme = o->cert ? "https" : "http";
  printf("medtwin %s serving on %s://%s:%d (data in %s)\n", MT_VERSION,
         scheme, o->cfg.host, port, o->cfg.data_dir);
  if (o->cfg.demo)
    printf("demo: 30 virtual patients at %gx; open %s://%s:%d/\n"
           "demo: sign in as demo, password %s\n",
           o->cfg.demo_speed, scheme, o->cfg.host, port,
           o->cfg.demo_password);
  fflush(stdout);
  int sig;
  sigwait(&stop, &sig);
  mt_server_stop(s);
  mt_vault_close(vault);
  printf("medtwin serve: stopped on %s\n", sig == SIGTERM ? "SIGTERM"
                                                          : "SIGINT");
  return EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
  sopts o;
  memset(&o, 0, sizeof o);
  mt_server_config_init(&o.cfg);
  /* --demo and --insecure are flags without a value: taken out before the
  ** options */
  int n = 0;
  for (int i = 0; i < argc; i++)
    if (!strcmp(argv[i], "--demo"))
      o.cfg.demo = 1;
    else if (!strcmp(argv[i], "--insecure"))
      o.cfg.insecure = 1;
    else if (!strcmp(argv[i], "--plaintext"))
      cli_keys.plaintext = 1;
    else
      argv[n++] = argv[i];
  argc = n;
  int rc = cli_parse(argc, argv, "serve", usage_text, &o.json, serve_opt, &o);
  if (!rc)
    rc = serve_run(&o);
  free(o.cert);
  free(o.key);
  free_secret(&o.mqtt_pw);
  return rc;
}

static const char backup_usage[] =
    "usage: medtwin backup --data DIR --out FILE\n"
    "  an online copy of the store, safe while the server runs (SQLite's\n"
    "  backup API); FILE appears complete or not at all\n";

typedef struct bopts {
  const char *data, *out;
  int json;
} bopts;

static int backup_opt(void *ctx, const char *a, const char *v)
{
  bopts *o = ctx;
  if (!strcmp(a, "--data"))
    o->data = v;
  else if (!strcmp(a, "--out"))
    o->out = v;
  else
    return cli_fail(EXIT_USAGE, "backup: unknown option '%s'", a);
  return 0;
}

int cmd_backup(int argc, char **argv)
{
  bopts o = {NULL, NULL, 0};
  int rc = cli_parse(argc, argv, "backup", backup_usage, &o.json, backup_opt,
                     &o);
  if (rc)
    return rc;
  if (!o.data || !o.out)
    return cli_fail(EXIT_USAGE, "backup: --data DIR and --out FILE are "
                    "required");
  char err[MT_ERRMSG_MAX];
  mt_store *st;
  struct stat sb;
  if (stat(o.data, &sb) || !S_ISDIR(sb.st_mode))
    return cli_fail(EXIT_USAGE, "backup: --data: %s is not a directory",
                    o.data);
  if ((rc = cli_store_open("backup", o.data, 0, &st)))
    return rc;
  rc = mt_store_backup(st, o.out, err, sizeof err);
  cli_store_close(st);
  if (rc)
    return cli_fail(EXIT_RUNTIME, "%s", err);
  printf("medtwin backup: %s -> %s\n", o.data, o.out);
  return EXIT_OK;
}
