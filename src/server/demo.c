/*
** The demo (serve --demo): not part of this build yet; refused at start.
*/
#include <stdio.h>

#include "server/internal.h"

int demo_start(mt_server *s, char *err, size_t errlen)
{
  (void)s;
  snprintf(err, errlen, "serve: --demo is not part of this build");
  return MT_EINVAL;
}

void demo_stop(mt_server *s)
{
  (void)s;
}
