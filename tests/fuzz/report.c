/*
** The virtual-trial report (include/medtwin/trial_report.h):
** mt_trial_report_html on the raw bytes as JSON. Bytes that are not JSON
** are skipped (jansson's parser is not ours). A refusal must be MT_EINVAL
** with one line starting "results: " and nothing written; a report must be
** one whole HTML page, as many <svg> opened as closed, with no script.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "medtwin/error.h"
#include "medtwin/trial_report.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static int count(const char *s, const char *needle)
{
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  json_t *r = json_loadb((const char *)data, size, 0, NULL);
  if (!r)
    return 0;
  char *s = NULL, err[MT_ERRMSG_MAX] = "";
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  CHECK(f);
  int rc = mt_trial_report_html(r, f, err, sizeof err);
  CHECK(fclose(f) == 0);
  if (rc) {
    CHECK(rc == MT_EINVAL);
    CHECK(!strncmp(err, "results: ", 9) && !strchr(err, '\n'));
    CHECK(len == 0);
  } else {
    CHECK(!strncmp(s, "<!DOCTYPE html>", 15));
    CHECK(len > 8 && !strcmp(s + len - 8, "</html>\n"));
    CHECK(count(s, "<svg") == count(s, "</svg>"));
    CHECK(!strstr(s, "<script"));
  }
  free(s);
  json_decref(r);
  return 0;
}
