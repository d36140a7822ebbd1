/*
** SMART scopes of a token or session (src/server/auth.c,
** auth_parse_scopes): the raw bytes as one NUL-terminated string. A list
** that parses holds at most SCOPES_MAX scopes, each with permissions.
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  principal p;
  if (auth_parse_scopes(text, &p) == 0) {
    if (p.n_scopes < 0 || p.n_scopes > SCOPES_MAX)
      abort();
    for (int i = 0; i < p.n_scopes; i++)
      if (!p.sc[i].perms || !p.sc[i].type[0])
        abort();
  }
  free(text);
  return 0;
}
