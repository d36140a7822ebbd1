/*
** The server's routing (src/server/server.c, server_route): a method and a
** request target matched against the route table, its {...} segments
** taken. The first byte picks the method, the rest is the target; its query
** is cut off and the path unescaped as libmicrohttpd does before the
** dispatcher sees it. A match must spell the path again from its template
** and segments; a miss is a 404 or 405 OperationOutcome, consistent over
** the methods (405: another method matches; 404: none does).
*/
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server/internal.h"

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE",
                                      "PATCH", "HEAD"};
#define N_METHODS (sizeof methods / sizeof *methods)

/* Whether template with c's segments spells url. */
static int spells(const char *tpl, const ctx *c, const char *url)
{
  int np = 0;
  size_t at = 0;
  for (const char *p = tpl; *p;) {
    if (*p == '{') {
      const char *seg = c->param[np++];
      size_t n = strlen(seg);
      if (n == 0 || n > MT_STORE_KEY_MAX || strchr(seg, '/') ||
          strncmp(url + at, seg, n))
        return 0;
      at += n;
      p = strchr(p, '}') + 1;
    } else if (url[at++] != *p++)
      return 0;
  }
  return url[at] == '\0';
}

/* One method: its status (0 a match); aborts on a broken answer. */
static int route_one(const char *method, const char *url)
{
  ctx c;
  reply r = {0};
  const char *tpl;
  memset(&c, 0, sizeof c);
  int st = server_route(method, url, &c, &tpl, &r);
  if (st == 0 && (!tpl || r.doc || !spells(tpl, &c, url)))
    abort(); /* the template and the segments are the path */
  if (st != 0 && ((st != 404 && st != 405) || (unsigned)st != r.status ||
                  !r.doc || tpl))
    abort(); /* a miss is a 404 or 405 with an OperationOutcome */
  json_decref(r.doc);
  return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  char *url = malloc(size);
  if (!url)
    return 0;
  memcpy(url, data + 1, size - 1);
  url[size - 1] = '\0';
  url[strcspn(url, "?")] = '\0'; /* the query is libmicrohttpd's */
  MHD_http_unescape(url);
  const char *m = methods[data[0] % N_METHODS];
  int st = route_one(m, url), any = 0, n404 = 0;
  for (size_t k = 0; k < N_METHODS; k++) {
    int s = strcmp(methods[k], m) ? route_one(methods[k], url) : st;
    any |= s == 0;
    n404 += s == 404;
  }
  if ((st == 405 && !any) || (n404 && n404 != (int)N_METHODS))
    abort(); /* 405: another method's path; 404: no method's, or none */
  free(url);
  return 0;
}
