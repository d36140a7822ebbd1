/* The medtwin command: dispatches to one file per subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/errfmt.h"
#include "cli.h"
#include "medtwin/model.h"
#include "medtwin/replay.h"

static const struct {
  const char *name, *summary;
  int (*run)(int argc, char **argv);
} commands[] = {
  {"models", "list models, or show one model's variables", cmd_models},
  {"simulate", "simulate a patient under a scenario", cmd_simulate},
  {"twin", "run a live twin on a data stream", cmd_twin},
  {"serve", "serve twins over HTTP: REST and FHIR R4", cmd_serve},
  {"backup", "copy a server's store online", cmd_backup},
  {"audit", "keys, checkpoints and verification of the audit trail",
   cmd_audit},
  {"user", "add a user who signs in to the dashboard", cmd_user},
  {"token", "issue, list and revoke bearer tokens", cmd_token},
  {"careteam", "the patients a clinician sees", cmd_careteam},
  {"research", "pseudonymised export of consenting patients", cmd_research},
  {"keys", "master keys and the key store (encryption at rest)", cmd_keys},
  {"patient", "erase a patient (right to erasure)", cmd_patient},
  {"trial", "run a virtual clinical trial from a protocol file", cmd_trial},
  {"whatif", "rank drug regimens for a heart model's patient", cmd_whatif},
  {"tissue", "simulate cardiac tissue from a JSON configuration",
   cmd_tissue},
};

/* One line on standard error whatever the message quotes (a file name, a
** JSON parser's excerpt of the input): control characters become '?'. */
int cli_fail(int status, const char *fmt, ...)
{
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  mt_vfail(msg, sizeof msg, status, "medtwin", fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s\n", msg);
  return status;
}

int cli_parse(int argc, char **argv, const char *cmd, const char *usage_text,
              int *json, int (*opt)(void *ctx, const char *a, const char *v),
              void *ctx)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help")) {
      fputs(usage_text, stdout);
      exit(EXIT_OK);
    }
    if (!strcmp(a, "--json")) {
      *json = 1;
      continue;
    }
    if (strncmp(a, "--", 2) || !v || !strncmp(v, "--", 2))
      return cli_fail(EXIT_USAGE, "%s: %s: %s", cmd, a,
                      strncmp(a, "--", 2) ? "unexpected argument"
                                          : "missing value");
    if (cli_key_opt(a, v)) {
      i++;
      continue;
    }
    int rc = opt(ctx, a, v);
    if (rc)
      return rc;
    i++;
  }
  return 0;
}

const char *const cli_group_name[CLI_NGROUP] = {"adolescent", "adult",
                                                "child"};

int cli_group_of(const char *name)
{
  for (int k = 0; k < CLI_NGROUP; k++)
    if (!strncmp(name, cli_group_name[k], strlen(cli_group_name[k])))
      return k;
  return -1;
}

static int cohort_opt(void *ctx, const char *a, const char *v)
{
  cli_cohort_opts *o = ctx;
  char *end;
  if (!strcmp(a, "--cohort")) {
    o->cohort = v;
    return 0;
  }
  if (!strcmp(a, "--isf-drift") && o->drift) {
    *o->drift = strtod(v, &end);
    if (*end || end == v || !(*o->drift >= 0 && *o->drift <= 0.9))
      return cli_fail(EXIT_USAGE, "%s: --isf-drift: expected a number in "
                      "[0, 0.9], got '%s'", o->cmd, v);
    return 0;
  }
  int days = !strcmp(a, "--days");
  if (!days && strcmp(a, "--seed"))
    return cli_fail(EXIT_USAGE, "%s: unknown option '%s'", o->cmd, a);
  long n = strtol(v, &end, 10);
  if (end == v || *end || n < (days ? 1 : 0) || (days && n > o->max_days))
    return cli_fail(EXIT_USAGE, "%s: %s: expected an integer (days 1-%ld, "
                    "seed >= 0), got '%s'", o->cmd, a, o->max_days, v);
  *(days ? &o->days : &o->seed) = n;
  return 0;
}

int cli_parse_cohort(int argc, char **argv, const char *usage_text,
                     cli_cohort_opts *o)
{
  return cli_parse(argc, argv, o->cmd, usage_text, &o->json, cohort_opt, o);
}

int cli_cohort_replay(const cli_cohort_opts *o, int i, double isf_drift,
                      struct mt_replay **rp, int *group, char *err,
                      size_t errlen)
{
  const mt_model *m = mt_model_find("uva_padova_t1d");
  const char *name = m->patients->name(i);
  *rp = NULL;
  *group = cli_group_of(name);
  if (*group < 0 || (strcmp(o->cohort, "all") &&
                     strncmp(name, o->cohort, strlen(o->cohort))))
    return 1;
  mt_replay_config rc;
  mt_replay_config_init(&rc);
  rc.patient = name, rc.days = (int)o->days, rc.seed = (uint64_t)o->seed;
  rc.isf_drift = isf_drift;
  return mt_replay_generate(&rc, rp, err, errlen);
}

static void usage(FILE *f)
{
  fprintf(f, "usage: medtwin <command> [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "  %-10s %s\n\nRun 'medtwin <command> --help' for options.\n",
          "version", "print the version");
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    usage(stdout);
    return EXIT_OK;
  }
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("medtwin %s\n", MT_VERSION);
    return EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(cmd, commands[i].name))
      return commands[i].run(argc - 1, argv + 1);
  return cli_fail(EXIT_USAGE, "unknown command '%s' (run 'medtwin --help' "
                  "for the list)", cmd);
}
