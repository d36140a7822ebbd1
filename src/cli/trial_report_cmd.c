/*
** medtwin trial report RESULTS.json --out report.html: the report of a
** virtual trial (docs/trial-report.md), rendered from the results.json of
** `medtwin trial run` by mt_trial_report_write (include/medtwin/trial_report.h).
** Exit 0; 2 for bad input (an unreadable file, malformed JSON, a key missing
** or of the wrong type: one line naming the file and the key); 1 when the
** report cannot be written (nothing is left half-written).
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/trial_report.h"

static const char usage_text[] =
    "usage: medtwin trial report RESULTS.json --out REPORT.html\n"
    "  render the results.json of `medtwin trial run` as one self-contained\n"
    "  HTML page with SVG figures (docs/trial-report.md): per-arm summaries,\n"
    "  comparisons, distributions per arm, the forest plot of the primary\n"
    "  endpoint by subgroup, example trajectories with the twin's forecasts\n"
    "  --out FILE  the page to write (atomically; - for standard output)\n";

static int report_opt(void *ctx, const char *a, const char *v)
{
  if (strcmp(a, "--out"))
    return cli_fail(EXIT_USAGE, "trial report: %s: unknown option", a);
  *(const char **)ctx = v;
  return 0;
}

/* argv[0] is "report", argv[1] the results file. */
int cmd_trial_report(int argc, char **argv)
{
  if (argc < 2 || !strncmp(argv[1], "--", 2)) {
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
      fputs(usage_text, stdout);
      return EXIT_OK;
    }
    return cli_fail(EXIT_USAGE, "trial report: expected RESULTS.json");
  }
  const char *path = argv[1], *out = NULL;
  int json = 0;
  int rc = cli_parse(argc - 1, argv + 1, "trial report", usage_text, &json,
                     report_opt, &out);
  if (rc)
    return rc;
  if (!out)
    return cli_fail(EXIT_USAGE, "trial report: --out FILE is required");
  char *buf = NULL, err[MT_ERRMSG_MAX];
  size_t len = 0;
  if (mt_file_read(path, &buf, &len, err, sizeof err))
    return cli_fail(EXIT_USAGE, "trial report: %s", err);
  json_error_t je;
  json_t *res = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
  free(buf);
  if (!res)
    return cli_fail(EXIT_USAGE, "%s: line %d, column %d: %s", path, je.line,
                    je.column, je.text);
  rc = mt_trial_report_write(res, out, err, sizeof err);
  json_decref(res);
  if (rc == MT_EINVAL) {
    const char *m = strncmp(err, "results: ", 9) ? err : err + 9;
    return cli_fail(EXIT_USAGE, "%s: %s", path, m);
  }
  if (rc)
    return cli_fail(EXIT_RUNTIME, "trial report: %s", err);
  return EXIT_OK;
}
