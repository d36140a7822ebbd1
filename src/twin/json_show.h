/* Internal to the JSON file parsers of src/twin (import.c,
** trial_protocol.c): how an offending value is quoted in an error. */
#ifndef MT_TWIN_JSON_SHOW_H
#define MT_TWIN_JSON_SHOW_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* v as compact JSON into buf (n bytes), shortened to max characters. */
static inline void mt__json_show(const json_t *v, char *buf, size_t n,
                                 int max)
{
  char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (!s)
    snprintf(buf, n, "a value");
  else if (strlen(s) > (size_t)max)
    snprintf(buf, n, "%.*s...", max - 3, s);
  else
    snprintf(buf, n, "%s", s);
  free(s);
}

#endif
