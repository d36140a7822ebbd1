/*
** Encryption at rest from the command line (include/medtwin/vault.h,
** docs/SECURITY.md "Encryption at rest"): how every command opens a store
** with its key store, `medtwin keys master|rotate|status`, and
** `medtwin patient erase`.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "medtwin/audit.h"
#include "medtwin/error.h"
#include "medtwin/store.h"
#include "medtwin/vault.h"

cli_key_opts cli_keys;

int cli_key_opt(const char *a, const char *v)
{
  if (!strcmp(a, "--key-store"))
    cli_keys.key_store = v;
  else if (!strcmp(a, "--master-key-file"))
    cli_keys.master_file = v;
  else
    return 0;
  return 1;
}

/* The master key: --master-key-file, else the environment. 1 found, 0 none,
** or -EXIT status (message printed). */
static int master_key(const char *cmd, unsigned char mk[MT_VAULT_KEY_BYTES])
{
  char err[MT_ERRMSG_MAX];
  if (cli_keys.master_file) {
    if (mt_vault_master_load(cli_keys.master_file, mk, err, sizeof err))
      return -cli_fail(EXIT_USAGE, "%s: --master-key-file: %s", cmd, err);
    return 1;
  }
  int found = 0;
  if (mt_vault_master_env(mk, &found, err, sizeof err))
    return -cli_fail(EXIT_USAGE, "%s: %s", cmd, err);
  return found;
}

/* The key store's directory: --key-store, MEDTWIN_KEY_STORE, or DATA.keys
** beside the data directory. */
static void key_store_dir(const char *data, char *out, size_t cap)
{
  const char *e = getenv("MEDTWIN_KEY_STORE");
  if (cli_keys.key_store)
    snprintf(out, cap, "%s", cli_keys.key_store);
  else if (e && *e)
    snprintf(out, cap, "%s", e);
  else {
    size_t n = strlen(data);
    while (n > 1 && data[n - 1] == '/')
      n--;
    snprintf(out, cap, "%.*s.keys", (int)n, data);
  }
}

int cli_vault_open(const char *cmd, const char *data, int need_keys,
                   mt_vault **v)
{
  char err[MT_ERRMSG_MAX], dir[4096];
  unsigned char mk[MT_VAULT_KEY_BYTES];
  *v = NULL;
  int found = master_key(cmd, mk);
  if (found < 0)
    return -found;
  if (!found && need_keys && !cli_keys.plaintext)
    return cli_fail(EXIT_USAGE, "%s: no master key: give --master-key-file "
                    "FILE or set MEDTWIN_MASTER_KEY_FILE (make one with "
                    "`medtwin keys master FILE`), or --plaintext for a "
                    "store without encryption at rest", cmd);
  if (found && !cli_keys.plaintext) {
    key_store_dir(data, dir, sizeof dir);
    int rc = mt_vault_open(dir, data, mk, v, err, sizeof err);
    sodium_memzero(mk, sizeof mk);
    if (rc)
      return cli_fail(rc == MT_EIO || rc == MT_ENOMEM ? EXIT_RUNTIME
                                                      : EXIT_USAGE,
                      "%s: %s", cmd, err);
  }
  return EXIT_OK;
}

static mt_vault *held; /* the key store of the store cli_store_open gave */

mt_vault *cli_store_vault(void)
{
  return held;
}

int cli_store_open(const char *cmd, const char *data, int need_keys,
                   mt_store **st)
{
  char err[MT_ERRMSG_MAX];
  *st = NULL;
  mt_vault *v;
  int rc = cli_vault_open(cmd, data, need_keys, &v);
  if (rc)
    return rc;
  rc = mt_store_open_vault(data, v, st, err, sizeof err);
  if (rc) {
    mt_vault_close(v);
    return cli_fail(rc == MT_EDENIED || rc == MT_EINVAL ? EXIT_USAGE
                                                        : EXIT_RUNTIME,
                    "%s: %s", cmd, err);
  }
  mt_vault_close(held);
  held = v;
  return EXIT_OK;
}

void cli_store_close(mt_store *st)
{
  mt_store_close(st);
  mt_vault_close(held);
  held = NULL;
}

/* ---- medtwin keys ---- */

static const char keys_usage[] =
    "usage: medtwin keys master FILE\n"
    "       medtwin keys rotate --key-store DIR --master-key-file OLD\n"
    "                           --new-master-key-file NEW\n"
    "       medtwin keys status --data DIR [--key-store DIR]\n"
    "  master  write a new random master key to FILE (mode 600; refuses\n"
    "          an existing file). Keep it apart from the data and its\n"
    "          backups; MEDTWIN_MASTER_KEY_FILE names it to every command.\n"
    "  rotate  wrap every patient's key again under NEW, in one\n"
    "          transaction; from then on only NEW opens the key store\n"
    "  status  whether the store is encrypted, and how many keys it has\n"
    "  Key store: --key-store DIR, else MEDTWIN_KEY_STORE, else DATA.keys\n"
    "  beside the data directory (docs/SECURITY.md)\n";

typedef struct kopts {
  const char *data, *new_master;
  int json;
} kopts;

static int keys_opt(void *ctx, const char *a, const char *v)
{
  kopts *o = ctx;
  if (!strcmp(a, "--data"))
    o->data = v;
  else if (!strcmp(a, "--new-master-key-file"))
    o->new_master = v;
  else
    return cli_fail(EXIT_USAGE, "keys: unknown option '%s'", a);
  return 0;
}

static int keys_rotate(const kopts *o)
{
  char err[MT_ERRMSG_MAX];
  unsigned char mk[MT_VAULT_KEY_BYTES], nk[MT_VAULT_KEY_BYTES];
  if (!cli_keys.key_store || !cli_keys.master_file || !o->new_master)
    return cli_fail(EXIT_USAGE, "keys rotate: --key-store DIR, "
                    "--master-key-file OLD and --new-master-key-file NEW "
                    "are required");
  if (mt_vault_master_load(cli_keys.master_file, mk, err, sizeof err))
    return cli_fail(EXIT_USAGE, "keys rotate: --master-key-file: %s", err);
  if (mt_vault_master_load(o->new_master, nk, err, sizeof err)) {
    sodium_memzero(mk, sizeof mk);
    return cli_fail(EXIT_USAGE, "keys rotate: --new-master-key-file: %s",
                    err);
  }
  struct stat sb;
  if (stat(cli_keys.key_store, &sb) || !S_ISDIR(sb.st_mode)) {
    sodium_memzero(mk, sizeof mk);
    sodium_memzero(nk, sizeof nk);
    return cli_fail(EXIT_USAGE, "keys rotate: --key-store: %s is not a "
                    "directory", cli_keys.key_store);
  }
  mt_vault *v = NULL;
  long n = 0;
  int rc = mt_vault_open(cli_keys.key_store, NULL, mk, &v, err, sizeof err);
  if (!rc)
    rc = mt_vault_rotate(v, nk, &n, err, sizeof err);
  mt_vault_close(v);
  sodium_memzero(mk, sizeof mk);
  sodium_memzero(nk, sizeof nk);
  if (rc)
    return cli_fail(rc == MT_EDENIED ? EXIT_USAGE : EXIT_RUNTIME,
                    "keys rotate: %s", err);
  if (o->json)
    printf("{\"rewrapped\": %ld}\n", n);
  else
    printf("medtwin keys rotate: %ld keys rewrapped; the old master key "
           "no longer opens %s\n", n, cli_keys.key_store);
  return EXIT_OK;
}

static int keys_status(const kopts *o)
{
  if (!o->data)
    return cli_fail(EXIT_USAGE, "keys status: --data DIR is required");
  mt_store *st;
  int rc = cli_store_open("keys status", o->data, 0, &st);
  mt_vault *v = cli_store_vault();
  if (rc)
    return rc;
  long n = 0;
  char err[MT_ERRMSG_MAX];
  if (v && mt_vault_count(v, &n, err, sizeof err)) {
    cli_store_close(st);
    return cli_fail(EXIT_RUNTIME, "keys status: %s", err);
  }
  int enc = mt_store_encrypted(st);
  if (o->json)
    printf("{\"encrypted\": %s, \"keys\": %ld}\n", enc ? "true" : "false", n);
  else
    printf("medtwin keys status: %s is %s%s", o->data,
           enc ? "encrypted at rest" : "NOT encrypted at rest",
           enc ? "" : "\n");
  if (enc && !o->json)
    printf(" (key store %s, %ld keys)\n", mt_vault_id(v), n);
  cli_store_close(st);
  return EXIT_OK;
}

int cmd_keys(int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help")) {
    fputs(keys_usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  char err[MT_ERRMSG_MAX];
  if (!strcmp(argv[1], "master")) {
    if (argc != 3 || !strncmp(argv[2], "--", 2))
      return cli_fail(EXIT_USAGE, "keys master: expected one FILE");
    if (sodium_init() < 0)
      return cli_fail(EXIT_RUNTIME, "keys master: libsodium failed");
    int rc = mt_vault_master_create(argv[2], err, sizeof err);
    if (rc)
      return cli_fail(rc == MT_ECONFLICT || rc == MT_EINVAL ? EXIT_USAGE
                                                            : EXIT_RUNTIME,
                      "keys master: %s", err);
    printf("medtwin keys master: %s (mode 600); keep it outside the data "
           "directory and its backups\n", argv[2]);
    return EXIT_OK;
  }
  kopts o = {NULL, NULL, 0};
  int rc = cli_parse(argc - 1, argv + 1, "keys", keys_usage, &o.json,
                     keys_opt, &o);
  if (rc)
    return rc;
  if (!strcmp(argv[1], "rotate"))
    return keys_rotate(&o);
  if (!strcmp(argv[1], "status"))
    return keys_status(&o);
  return cli_fail(EXIT_USAGE, "keys: unknown subcommand '%s' (master, "
                  "rotate, status)", argv[1]);
}

/* ---- medtwin patient erase ---- */

static const char patient_usage[] =
    "usage: medtwin patient erase ID --data DIR [--key-store DIR]\n"
    "  erase a patient (GDPR Art. 17): destroy the patient's key, delete\n"
    "  every row of the patient with secure_delete and truncate the\n"
    "  write-ahead log. Afterwards nothing of the patient can be read from\n"
    "  the data directory nor from any earlier backup of it. Run it with\n"
    "  the server stopped; a running server erases through\n"
    "  DELETE /fhir/Patient/ID?_purge=true (docs/API.md)\n";

typedef struct popts {
  const char *data;
  int json;
} popts;

static int patient_opt(void *ctx, const char *a, const char *v)
{
  popts *o = ctx;
  if (!strcmp(a, "--data"))
    o->data = v;
  else
    return cli_fail(EXIT_USAGE, "patient erase: unknown option '%s'", a);
  return 0;
}

/* 1 when a server holds DIR (its lock, server.c). */
static int server_running(const char *data)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/serve.lock", data);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  int busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);
  return busy;
}

void cli_print_erased(const char *id, const mt_store_erased *e, int json)
{
  if (json) {
    printf("{\"patient\": \"%s\", \"key_destroyed\": %s, \"resources\": %ld,"
           " \"observations\": %ld, \"snapshots\": %ld, \"alerts\": %ld,"
           " \"quarantined\": %ld, \"users\": %ld, \"tokens\": %ld,"
           " \"careteam\": %ld, \"consents\": %ld, \"wal_truncated\": %s}\n",
           id, e->key_destroyed ? "true" : "false", e->resources,
           e->observations, e->snapshots, e->alerts, e->quarantined,
           e->users, e->tokens, e->careteam, e->consents,
           e->wal_truncated ? "true" : "false");
    return;
  }
  printf("medtwin patient erase: %s: key %s; %ld resource versions, %ld "
         "observations, %ld snapshots, %ld alerts, %ld quarantined, %ld "
         "users, %ld tokens, %ld care-team and %ld consent rows deleted; "
         "log %s\n", id, e->key_destroyed ? "destroyed" : "none (store not "
         "encrypted, or erased before)", e->resources, e->observations,
         e->snapshots, e->alerts, e->quarantined, e->users, e->tokens,
         e->careteam, e->consents,
         e->wal_truncated ? "truncated" : "NOT truncated (readers busy)");
}

int cmd_patient(int argc, char **argv)
{
  if (argc < 3 || strcmp(argv[1], "erase") || !strncmp(argv[2], "--", 2)) {
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
      fputs(patient_usage, stdout);
      return EXIT_OK;
    }
    fputs(patient_usage, stderr);
    return EXIT_USAGE;
  }
  const char *id = argv[2];
  popts o = {NULL, 0};
  int rc = cli_parse(argc - 2, argv + 2, "patient erase", patient_usage,
                     &o.json, patient_opt, &o);
  if (rc)
    return rc;
  struct stat sb;
  char path[4096];
  if (!o.data)
    return cli_fail(EXIT_USAGE, "patient erase: --data DIR is required");
  snprintf(path, sizeof path, "%s/medtwin.db", o.data);
  if (stat(path, &sb))
    return cli_fail(EXIT_USAGE, "patient erase: --data: %s holds no store",
                    o.data);
  if (server_running(o.data))
    return cli_fail(EXIT_RUNTIME, "patient erase: a server is running on "
                    "%s: erase through DELETE /fhir/Patient/%s?_purge=true, "
                    "or stop it first", o.data, id);
  mt_store *st;
  if ((rc = cli_store_open("patient erase", o.data, 0, &st)))
    return rc;
  char err[MT_ERRMSG_MAX];
  mt_store_erased e;
  rc = mt_store_patient_erase(st, id, &e, err, sizeof err);
  if (!rc) {
    char what[128];
    snprintf(what, sizeof what, "Patient/%s", id);
    mt_audit_record r = {0, "operator", "erase", what, "operations", 200};
    rc = mt_store_audit_append(st, &r, NULL, err, sizeof err);
  }
  cli_store_close(st);
  if (rc)
    return cli_fail(rc == MT_EINVAL ? EXIT_USAGE : EXIT_RUNTIME,
                    "patient erase: %s", err);
  cli_print_erased(id, &e, o.json);
  return EXIT_OK;
}
