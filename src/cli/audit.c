/*
** medtwin audit: the store's tamper-evident audit trail (docs/audit.md).
** keygen makes the Ed25519 checkpoint key, checkpoint signs the chain head,
** verify recomputes the chain, and append (administrative and testing)
** adds one record.
*/
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cli.h"
#include "medtwin/audit.h"
#include "medtwin/error.h"
#include "medtwin/store.h"

static const char usage_text[] =
    "usage: medtwin audit keygen --data DIR --key FILE\n"
    "       medtwin audit checkpoint --data DIR --key FILE\n"
    "       medtwin audit verify --data DIR\n"
    "       medtwin audit append --data DIR --actor ID --action A\n"
    "                            --resource R --purpose P --outcome N\n"
    "                            [--time MS]\n"
    "  keygen: a new Ed25519 key pair; the secret key is written to FILE\n"
    "    (mode 0600, outside DIR, never overwritten), the public key is\n"
    "    stored in the store, once\n"
    "  checkpoint: verify the chain, then sign its head with FILE's key\n"
    "  verify: check the database, the hash chain and every checkpoint;\n"
    "    exit 0 intact, 1 naming the first bad record and why\n"
    "  append: add one record (administration and tests; the server\n"
    "    writes its own)\n";

typedef struct aopts {
  const char *data, *key, *actor, *action, *resource, *purpose;
  const char *outcome, *time;
  int json;
} aopts;

static int audit_opt(void *ctx, const char *a, const char *v)
{
  aopts *o = ctx;
  static const struct { const char *name; size_t off; } opts[] = {
    {"--data", offsetof(aopts, data)},     {"--key", offsetof(aopts, key)},
    {"--actor", offsetof(aopts, actor)},   {"--action", offsetof(aopts, action)},
    {"--resource", offsetof(aopts, resource)},
    {"--purpose", offsetof(aopts, purpose)},
    {"--outcome", offsetof(aopts, outcome)}, {"--time", offsetof(aopts, time)},
  };
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
    if (!strcmp(a, opts[i].name)) {
      *(const char **)((char *)o + opts[i].off) = v;
      return 0;
    }
  return cli_fail(EXIT_USAGE, "audit: unknown option '%s'", a);
}

/* Open DIR's store; must_exist: DIR/medtwin.db must be there already. */
static int open_store(const char *dir, int must_exist, mt_store **st)
{
  struct stat sb;
  char path[4096];
  if (!dir)
    return cli_fail(EXIT_USAGE, "audit: --data DIR is required");
  if (stat(dir, &sb) || !S_ISDIR(sb.st_mode))
    return cli_fail(EXIT_USAGE, "audit: --data: %s is not a directory", dir);
  snprintf(path, sizeof path, "%s/medtwin.db", dir);
  if (must_exist && stat(path, &sb))
    return cli_fail(EXIT_USAGE, "audit: --data: %s holds no store", dir);
  return cli_store_open("audit", dir, 0, st);
}

static int keygen(const aopts *o)
{
  if (!o->key)
    return cli_fail(EXIT_USAGE, "audit keygen: --key FILE is required");
  mt_store *st;
  int rc = open_store(o->data, 0, &st);
  if (rc)
    return rc;
  unsigned char pk[MT_AUDIT_PK_BYTES], sk[MT_AUDIT_SK_BYTES];
  char err[MT_ERRMSG_MAX];
  crypto_sign_keypair(pk, sk);
  rc = mt_audit_key_save(o->key, o->data, sk, err, sizeof err);
  sodium_memzero(sk, sizeof sk);
  if (rc) {
    cli_store_close(st);
    return cli_fail(rc == MT_EIO ? EXIT_RUNTIME : EXIT_USAGE, "%s", err);
  }
  rc = mt_store_audit_set_key(st, pk, err, sizeof err);
  cli_store_close(st);
  if (rc) {
    remove(o->key);
    return cli_fail(EXIT_RUNTIME, "%s", err);
  }
  char hex[2 * MT_AUDIT_PK_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
  printf("medtwin audit keygen: secret key in %s; public key %s stored\n",
         o->key, hex);
  return EXIT_OK;
}

/* Verify; print the summary or the first fault. 0 intact, else status. */
static int verify_store(mt_store *st)
{
  mt_audit_report rep;
  char err[MT_ERRMSG_MAX];
  if (mt_store_audit_verify(st, &rep, err, sizeof err))
    return cli_fail(EXIT_RUNTIME, "audit verify: %s", err);
  if (!rep.intact)
    return cli_fail(EXIT_RUNTIME, "audit verify: the audit chain is broken: "
                    "%s", rep.reason);
  char hex[2 * MT_AUDIT_HASH_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, rep.head, sizeof rep.head);
  printf("medtwin audit verify: intact: %lld records, %lld checkpoints, "
         "head %lld %s%s\n", (long long)rep.records,
         (long long)rep.checkpoints, (long long)rep.head_seq,
         rep.head_seq ? hex : "(empty)", rep.has_key ? "" : " (no key)");
  return EXIT_OK;
}

static int checkpoint(const aopts *o)
{
  if (!o->key)
    return cli_fail(EXIT_USAGE, "audit checkpoint: --key FILE is required");
  mt_store *st;
  int rc = open_store(o->data, 1, &st);
  if (rc)
    return rc;
  unsigned char sk[MT_AUDIT_SK_BYTES];
  char err[MT_ERRMSG_MAX];
  rc = mt_audit_key_load(o->key, o->data, sk, err, sizeof err);
  if (rc) {
    cli_store_close(st);
    return cli_fail(rc == MT_EIO ? EXIT_RUNTIME : EXIT_USAGE, "%s", err);
  }
  /* never sign a chain that does not verify */
  rc = verify_store(st);
  int64_t seq = 0;
  if (!rc && mt_store_audit_checkpoint(st, sk, &seq, err, sizeof err))
    rc = cli_fail(EXIT_RUNTIME, "%s", err);
  sodium_memzero(sk, sizeof sk);
  cli_store_close(st);
  if (!rc)
    printf("medtwin audit checkpoint: signed the head at record %lld\n",
           (long long)seq);
  return rc;
}

static int append(const aopts *o)
{
  if (!o->actor || !o->action || !o->resource || !o->purpose || !o->outcome)
    return cli_fail(EXIT_USAGE, "audit append: --actor, --action, "
                    "--resource, --purpose and --outcome are required");
  char *end;
  mt_audit_record r = {0, o->actor, o->action, o->resource, o->purpose, 0};
  r.outcome = strtoll(o->outcome, &end, 10);
  if (end == o->outcome || *end)
    return cli_fail(EXIT_USAGE, "audit append: --outcome: expected an "
                    "integer, got '%s'", o->outcome);
  if (o->time && ((r.t_ms = strtoll(o->time, &end, 10)) <= 0 || *end))
    return cli_fail(EXIT_USAGE, "audit append: --time: expected Unix ms, "
                    "got '%s'", o->time);
  mt_store *st;
  int rc = open_store(o->data, 0, &st);
  if (rc)
    return rc;
  char err[MT_ERRMSG_MAX];
  int64_t seq;
  rc = mt_store_audit_append(st, &r, &seq, err, sizeof err);
  cli_store_close(st);
  if (rc)
    return cli_fail(rc == MT_EINVAL ? EXIT_USAGE : EXIT_RUNTIME, "%s", err);
  printf("medtwin audit append: record %lld\n", (long long)seq);
  return EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help")) {
    fputs(usage_text, argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[1];
  aopts o;
  memset(&o, 0, sizeof o);
  int rc = cli_parse(argc - 1, argv + 1, "audit", usage_text, &o.json,
                     audit_opt, &o);
  if (rc)
    return rc;
  if (sodium_init() < 0)
    return cli_fail(EXIT_RUNTIME, "audit: libsodium failed to initialise");
  if (!strcmp(sub, "keygen"))
    return keygen(&o);
  if (!strcmp(sub, "checkpoint"))
    return checkpoint(&o);
  if (!strcmp(sub, "append"))
    return append(&o);
  if (!strcmp(sub, "verify")) {
    mt_store *st;
    if ((rc = open_store(o.data, 1, &st)))
      return rc;
    rc = verify_store(st);
    cli_store_close(st);
    return rc;
  }
  return cli_fail(EXIT_USAGE, "audit: unknown subcommand '%s' (keygen, "
                  "checkpoint, verify, append)", sub);
}
