/*
** The dashboard's static files (docs/API.md, Dashboard): web/index.html,
** web/app.js, web/style.css and uPlot (MIT), embedded at build time by
** web/embed.cmake into web_files (mt_web.c in the build directory). The
** bytes are served from the binary as they are (MHD_RESPMEM_PERSISTENT),
** each with its media type and an ETag (its SHA-256, cut to 16 digits), so
** a browser revalidates with If-None-Match and gets 304.
*/
#include <stdio.h>
#include <string.h>

#include "server/internal.h"

/* The same type as in the generated mt_web.c. */
typedef struct web_file {
  const char *name, *type, *etag;
  const unsigned char *data;
  size_t len;
} web_file;
extern const web_file web_files[];

static const web_file *web_find(const char *name)
{
  for (const web_file *f = web_files; f->name; f++)
    if (strcmp(f->name, name) == 0)
      return f;
  return NULL;
}

/* Whether the request's If-None-Match names etag (or is "*"). */
static int not_modified(struct MHD_Connection *conn, const char *etag)
{
  const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_IF_NONE_MATCH);
  return inm && (strstr(inm, etag) || strcmp(inm, "*") == 0);
}

static void web_send(ctx *c, reply *r, const web_file *f)
{
  int same = c->conn && not_modified(c->conn, f->etag);
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      same ? 0 : f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
  if (!resp) {
    fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "exception", NULL,
         "out of memory");
    return;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->type);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f->etag);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (strcmp(f->name, "index.html") == 0) {
    /* Everything the page loads or calls comes from this server. */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; "
                            "style-src 'self' 'unsafe-inline'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  }
  r->raw = resp;
  r->status = same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
}

void h_web_index(ctx *c, reply *r)
{
  const web_file *f = web_find("index.html");
  if (!f) {
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL,
         "the dashboard is not part of this build");
    return;
  }
  web_send(c, r, f);
}

/* GET /assets/{name}: any embedded file but the page itself. */
void h_web_asset(ctx *c, reply *r)
{
  const web_file *f = web_find(c->param[0]);
  if (!f || strcmp(f->name, "index.html") == 0) {
    char msg[MT_STORE_KEY_MAX + 32];
    snprintf(msg, sizeof msg, "no dashboard file %s", c->param[0]);
    fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL, msg);
    return;
  }
  web_send(c, r, f);
}
