/*
** medtwin user, token and careteam: who may use the server
** (docs/SECURITY.md). Every change is recorded in the audit trail in the
** same transaction, with the operator on the host as its actor.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "medtwin/access.h"
#include "medtwin/audit.h"
#include "medtwin/error.h"
#include "medtwin/store.h"

#define SCOPE_ARGS 16

typedef struct xopts {
  const char *cmd; /* "user add", ... */
  const char *data, *name, *role, *user, *patient, *device, *ttl, *token;
  const char *scope[SCOPE_ARGS];
  int n_scope, json;
} xopts;

static int x_opt(void *ctx, const char *a, const char *v)
{
  xopts *o = ctx;
  if (!strcmp(a, "--data"))
    o->data = v;
  else if (!strcmp(a, "--name"))
    o->name = v;
  else if (!strcmp(a, "--role"))
    o->role = v;
  else if (!strcmp(a, "--user"))
    o->user = v;
  else if (!strcmp(a, "--patient"))
    o->patient = v;
  else if (!strcmp(a, "--device"))
    o->device = v;
  else if (!strcmp(a, "--ttl"))
    o->ttl = v;
  else if (!strcmp(a, "--token"))
    o->token = v;
  else if (!strcmp(a, "--scope")) {
    if (o->n_scope == SCOPE_ARGS)
      return cli_fail(EXIT_USAGE, "%s: --scope: at most %d", o->cmd,
                      SCOPE_ARGS);
    o->scope[o->n_scope++] = v;
  } else
    return cli_fail(EXIT_USAGE, "%s: unknown option '%s'", o->cmd, a);
  return 0;
}

static int open_store(const xopts *o, mt_store **st)
{
  struct stat sb;
  if (!o->data)
    return cli_fail(EXIT_USAGE, "%s: --data DIR is required", o->cmd);
  if (stat(o->data, &sb) && mkdir(o->data, 0700))
    return cli_fail(EXIT_USAGE, "%s: --data: cannot create %s", o->cmd,
                    o->data);
  if (stat(o->data, &sb) || !S_ISDIR(sb.st_mode))
    return cli_fail(EXIT_USAGE, "%s: --data: %s is not a directory", o->cmd,
                    o->data);
  return cli_store_open(o->cmd, o->data, 0, st);
}

/* The change and its audit record, one transaction. */
static int recorded(mt_store *st, const char *action, const char *what,
                    long outcome, char *err, size_t errlen)
{
  mt_audit_record r = {0, "operator", action, what, "operations", outcome};
  return mt_store_audit_append(st, &r, NULL, err, errlen);
}

static int finish(mt_store *st, int rc, const char *err)
{
  char e2[MT_ERRMSG_MAX];
  if (rc)
    mt_store_rollback(st, e2, sizeof e2);
  else if ((rc = mt_store_commit(st, e2, sizeof e2)))
    err = e2;
  cli_store_close(st);
  if (rc)
    return cli_fail(rc == MT_EINVAL || rc == MT_ECONFLICT ||
                            rc == MT_ENOTFOUND
                        ? EXIT_USAGE
                        : EXIT_RUNTIME,
                    "%s", err);
  return EXIT_OK;
}

/* ---- user add ---------------------------------------------------------- */

/* The password: the first line of standard input (not echoed at a
** terminal). 0, or -1. */
static int read_password(char *pw, size_t len)
{
  struct termios was, quiet;
  int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &was) == 0;
  if (tty) {
    fputs("password: ", stderr);
    quiet = was;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  char *got = fgets(pw, (int)len, stdin);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &was);
    fputc('\n', stderr);
  }
  if (!got)
    return -1;
  pw[strcspn(pw, "\r\n")] = '\0';
  return 0;
}

static const char user_usage[] =
    "usage: medtwin user add --data DIR --name NAME --role ROLE "
    "[--patient ID]\n"
    "  a user who signs in to the dashboard; the password is read from\n"
    "  standard input (at least 8 characters) and kept only as an Argon2id\n"
    "  hash. ROLE: admin, clinician, researcher, patient or auditor\n"
    "  (devices use tokens); a patient user names its Patient id\n";

int cmd_user(int argc, char **argv)
{
  xopts o;
  memset(&o, 0, sizeof o);
  o.cmd = "user add";
  if (argc < 2 || strcmp(argv[1], "add")) {
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
      fputs(user_usage, stdout);
      return EXIT_OK;
    }
    fputs(user_usage, stderr);
    return cli_fail(EXIT_USAGE, "user: expected the subcommand add");
  }
  int rc = cli_parse(argc - 1, argv + 1, o.cmd, user_usage, &o.json, x_opt,
                     &o);
  if (rc)
    return rc;
  mt_role role = mt_role_parse(o.role);
  if (!o.name || !o.role)
    return cli_fail(EXIT_USAGE, "user add: --name and --role are required");
  if (role == MT_ROLE_NONE || role == MT_ROLE_DEVICE)
    return cli_fail(EXIT_USAGE, "user add: --role: expected admin, "
                    "clinician, researcher, patient or auditor, got '%s'",
                    o.role);
  char pw[MT_PASSWORD_MAX + 2];
  if (read_password(pw, sizeof pw))
    return cli_fail(EXIT_USAGE, "user add: expected the password on "
                    "standard input");
  mt_store *st;
  if ((rc = open_store(&o, &st)))
    return rc;
  char err[MT_ERRMSG_MAX], what[64];
  mt_user u;
  rc = mt_store_begin(st, err, sizeof err);
  if (!rc)
    rc = mt_store_user_add(st, o.name, pw, role, o.patient, &u, err,
                           sizeof err);
  sodium_memzero(pw, sizeof pw);
  if (!rc) {
    snprintf(what, sizeof what, "user:%s", u.id);
    rc = recorded(st, "user-add", what, 201, err, sizeof err);
  }
  if ((rc = finish(st, rc, err)))
    return rc;
  printf("medtwin user add: %s, %s, id %s\n", u.name, mt_role_name(u.role),
         u.id);
  return EXIT_OK;
}

/* ---- token create | list | revoke -------------------------------------- */

static const char token_usage[] =
    "usage: medtwin token create --data DIR (--role ROLE | --user NAME)\n"
    "                            [--patient ID] [--device ID]\n"
    "                            [--scope S]... [--ttl D]\n"
    "       medtwin token list --data DIR [--json]\n"
    "       medtwin token revoke --data DIR --token ID\n"
    "  create: a bearer token of 256 random bits, printed alone on standard\n"
    "    output and kept only as a hash. --user: the token acts for that\n"
    "    user (role, patient, care team). ROLE: admin, clinician,\n"
    "    researcher, device (needs --patient and --device), patient (needs\n"
    "    --patient) or auditor. --scope: SMART scopes that narrow the role,\n"
    "    e.g. patient/Observation.rs, user/*.cruds. --ttl: 30m, 12h, 90d\n"
    "    (default 90d)\n"
    "  list: every token, without its secret\n"
    "  revoke: the token stops working on the next request\n";

/* "90d", "12h", "30m", "45s" (a number alone: days) in ms; -1 if bad. */
static int64_t ttl_ms(const char *v)
{
  char *end;
  double x = strtod(v, &end);
  double unit = 86400e3;
  if (end == v || x <= 0)
    return -1;
  if (*end == 's')
    unit = 1e3, end++;
  else if (*end == 'm')
    unit = 60e3, end++;
  else if (*end == 'h')
    unit = 3600e3, end++;
  else if (*end == 'd')
    end++;
  if (*end || x * unit > 3650 * 86400e3 || x * unit < 1e3)
    return -1;
  return (int64_t)(x * unit);
}

static int64_t wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int token_create(xopts *o)
{
  mt_token t;
  memset(&t, 0, sizeof t);
  if (!o->role == !o->user)
    return cli_fail(EXIT_USAGE, "token create: expected --role ROLE or "
                    "--user NAME");
  if (o->role && (t.role = mt_role_parse(o->role)) == MT_ROLE_NONE)
    return cli_fail(EXIT_USAGE, "token create: --role: expected admin, "
                    "clinician, researcher, device, patient or auditor, got "
                    "'%s'", o->role);
  int64_t ttl = ttl_ms(o->ttl ? o->ttl : "90d");
  if (ttl < 0)
    return cli_fail(EXIT_USAGE, "token create: --ttl: expected a duration "
                    "such as 30m, 12h or 90d (1 s to 10 years), got '%s'",
                    o->ttl);
  size_t used = 0;
  for (int k = 0; k < o->n_scope; k++) {
    size_t n = strlen(o->scope[k]);
    if (used + n + 2 > sizeof t.scopes)
      return cli_fail(EXIT_USAGE, "token create: --scope: too many");
    used += (size_t)snprintf(t.scopes + used, sizeof t.scopes - used, "%s%s",
                             used ? " " : "", o->scope[k]);
  }
  if (mt_scopes_valid(t.scopes))
    return cli_fail(EXIT_USAGE, "token create: --scope: expected SMART "
                    "scopes such as patient/Observation.rs or user/*.cruds, "
                    "got '%s'", t.scopes);
  if (o->patient)
    snprintf(t.patient, sizeof t.patient, "%s", o->patient);
  if (o->device)
    snprintf(t.device, sizeof t.device, "%s", o->device);
  mt_store *st;
  int rc = open_store(o, &st);
  if (rc)
    return rc;
  char err[MT_ERRMSG_MAX], text[MT_TOKEN_TEXT], what[64];
  if (o->user) {
    mt_user u;
    rc = mt_store_user_get(st, o->user, &u, NULL, err, sizeof err);
    if (rc) {
      cli_store_close(st);
      return cli_fail(rc == MT_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME,
                      "token create: --user: %s", rc == MT_ENOTFOUND
                          ? "no such user" : err);
    }
    t.role = u.role;
    snprintf(t.user, sizeof t.user, "%s", u.id);
    if (u.patient[0])
      snprintf(t.patient, sizeof t.patient, "%s", u.patient);
  }
  t.expires_ms = wall_ms() + ttl;
  rc = mt_store_begin(st, err, sizeof err);
  if (!rc)
    rc = mt_store_token_create(st, &t, text, err, sizeof err);
  if (!rc) {
    snprintf(what, sizeof what, "token:%s", t.id);
    rc = recorded(st, "token-issue", what, 201, err, sizeof err);
  }
  if ((rc = finish(st, rc, err))) {
    sodium_memzero(text, sizeof text);
    return rc;
  }
  printf("%s\n", text);
  sodium_memzero(text, sizeof text);
  fprintf(stderr, "medtwin token create: token %s, %s, expires in %s\n",
          t.id, mt_role_name(t.role), o->ttl ? o->ttl : "90d");
  return EXIT_OK;
}

static void iso(int64_t ms, char *buf, size_t len)
{
  time_t s = (time_t)(ms / 1000);
  struct tm tmv;
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tmv));
}

static int token_list(xopts *o)
{
  mt_store *st;
  int rc = open_store(o, &st);
  if (rc)
    return rc;
  char err[MT_ERRMSG_MAX];
  mt_token *t;
  size_t n;
  rc = mt_store_token_list(st, &t, &n, err, sizeof err);
  cli_store_close(st);
  if (rc)
    return cli_fail(EXIT_RUNTIME, "%s", err);
  int64_t now = wall_ms();
  if (!o->json)
    printf("%-16s %-10s %-10s %-24s %-20s %-20s %s\n", "id", "role", "state",
           "patient", "expires", "created", "scopes");
  for (size_t k = 0; k < n; k++) {
    char exp[32], made[32];
    iso(t[k].expires_ms, exp, sizeof exp);
    iso(t[k].created_ms, made, sizeof made);
    const char *state = t[k].revoked_ms ? "revoked"
                        : t[k].expires_ms <= now ? "expired"
                                                 : "valid";
    if (o->json)
      printf("{\"id\":\"%s\",\"role\":\"%s\",\"state\":\"%s\","
             "\"patient\":\"%s\",\"device\":\"%s\",\"expires\":\"%s\","
             "\"created\":\"%s\",\"scopes\":\"%s\"}\n",
             t[k].id, mt_role_name(t[k].role), state, t[k].patient,
             t[k].device, exp, made, t[k].scopes);
    else
      printf("%-16s %-10s %-10s %-24s %-20s %-20s %s\n", t[k].id,
             mt_role_name(t[k].role), state,
             t[k].patient[0] ? t[k].patient : "-", exp, made,
             t[k].scopes[0] ? t[k].scopes : "-");
  }
  free(t);
  return EXIT_OK;
}

static int token_revoke(xopts *o)
{
  if (!o->token)
    return cli_fail(EXIT_USAGE, "token revoke: --token ID is required");
  mt_store *st;
  int rc = open_store(o, &st);
  if (rc)
    return rc;
  char err[MT_ERRMSG_MAX], what[64];
  rc = mt_store_begin(st, err, sizeof err);
  if (!rc)
    rc = mt_store_token_revoke(st, o->token, err, sizeof err);
  if (!rc) {
    snprintf(what, sizeof what, "token:%.32s", o->token);
    rc = recorded(st, "token-revoke", what, 200, err, sizeof err);
  }
  if ((rc = finish(st, rc, err)))
    return rc;
  printf("medtwin token revoke: %s revoked\n", o->token);
  return EXIT_OK;
}

int cmd_token(int argc, char **argv)
{
  xopts o;
  memset(&o, 0, sizeof o);
  const char *sub = argc >= 2 ? argv[1] : "";
  if (!strcmp(sub, "--help")) {
    fputs(token_usage, stdout);
    return EXIT_OK;
  }
  o.cmd = !strcmp(sub, "create") ? "token create"
          : !strcmp(sub, "list") ? "token list"
          : !strcmp(sub, "revoke") ? "token revoke"
                                   : NULL;
  if (!o.cmd) {
    fputs(token_usage, stderr);
    return cli_fail(EXIT_USAGE, "token: expected create, list or revoke");
  }
  int rc = cli_parse(argc - 1, argv + 1, o.cmd, token_usage, &o.json, x_opt,
                     &o);
  if (rc)
    return rc;
  return sub[0] == 'c' ? token_create(&o)
         : sub[0] == 'l' ? token_list(&o)
                         : token_revoke(&o);
}

/* ---- careteam add ---------------------------------------------------- */

static const char careteam_usage[] =
    "usage: medtwin careteam add --data DIR (--user NAME | --token ID)\n"
    "                            --patient ID\n"
    "  the clinician (a user, or a token issued by --role) sees the\n"
    "  patient's record while the patient's treatment consent stands\n";

int cmd_careteam(int argc, char **argv)
{
  xopts o;
  memset(&o, 0, sizeof o);
  o.cmd = "careteam add";
  if (argc >= 2 && !strcmp(argv[1], "--help")) {
    fputs(careteam_usage, stdout);
    return EXIT_OK;
  }
  if (argc < 2 || strcmp(argv[1], "add")) {
    fputs(careteam_usage, stderr);
    return cli_fail(EXIT_USAGE, "careteam: expected the subcommand add");
  }
  int rc = cli_parse(argc - 1, argv + 1, o.cmd, careteam_usage, &o.json,
                     x_opt, &o);
  if (rc)
    return rc;
  if (!o.user == !o.token || !o.patient)
    return cli_fail(EXIT_USAGE, "careteam add: expected --user NAME or "
                    "--token ID, and --patient ID");
  mt_store *st;
  if ((rc = open_store(&o, &st)))
    return rc;
  char err[MT_ERRMSG_MAX], who[MT_ACCESS_ID_MAX + 1], what[160];
  if (o.user) {
    mt_user u;
    rc = mt_store_user_get(st, o.user, &u, NULL, err, sizeof err);
    if (!rc && u.role != MT_ROLE_CLINICIAN) {
      cli_store_close(st);
      return cli_fail(EXIT_USAGE, "careteam add: --user: %s is a %s, not "
                      "a clinician", o.user, mt_role_name(u.role));
    }
    if (rc) {
      cli_store_close(st);
      return cli_fail(rc == MT_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME,
                      "careteam add: --user: %s", rc == MT_ENOTFOUND
                          ? "no such user" : err);
    }
    snprintf(who, sizeof who, "%s", u.id);
  } else
    snprintf(who, sizeof who, "%.16s", o.token);
  rc = mt_store_begin(st, err, sizeof err);
  if (!rc)
    rc = mt_store_careteam_add(st, who, o.patient, err, sizeof err);
  if (!rc) {
    snprintf(what, sizeof what, "Patient/%.64s/CareTeam", o.patient);
    rc = recorded(st, "careteam-add", what, 200, err, sizeof err);
  }
  if ((rc = finish(st, rc, err)))
    return rc;
  printf("medtwin careteam add: %s sees %s\n", o.user ? o.user : o.token,
         o.patient);
  return EXIT_OK;
}
