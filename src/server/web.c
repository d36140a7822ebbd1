/*
** The dashboard's static files (docs/API.md). Not built into this binary
** yet: both routes answer 404 with an OperationOutcome.
*/
#include "server/internal.h"

void h_web_index(ctx *c, reply *r)
{
  (void)c;
  fail(r, MHD_HTTP_NOT_FOUND, "not-found", NULL,
       "the dashboard is not part of this build");
}

void h_web_asset(ctx *c, reply *r)
{
  h_web_index(c, r);
}
