/* The medtwin command: dispatches to one file per subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *name, *summary;
  int (*run)(int argc, char **argv);
} commands[] = {
  {"models", "list models, or show one model's variables", cmd_models},
  {"simulate", "simulate a patient under a scenario", cmd_simulate},
  {"twin", "run a live twin on a data stream", cmd_twin},
};

int cli_fail(int status, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("medtwin: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
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
    int rc = opt(ctx, a, v);
    if (rc)
      return rc;
    i++;
  }
  return 0;
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
