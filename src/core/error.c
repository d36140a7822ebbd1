/* Error code table: the single list in error.h rendered to text. */
#include <stdio.h>

#include "core/errfmt.h"
#include "medtwin/error.h"

const char *mt_strerror(int code)
{
  switch (code) {
  case MT_OK: return "ok";
#define MT_ERR_CASE(name, c, msg) case c: return msg;
  MT_ERRORS(MT_ERR_CASE)
#undef MT_ERR_CASE
  default: return "unknown error";
  }
}

int mt_vfail(char *err, size_t errlen, int code, const char *name,
             const char *fmt, va_list ap)
{
  if (!err || errlen == 0)
    return code;
  int n = snprintf(err, errlen, "%s: ", name);
  if (n >= 0 && (size_t)n < errlen)
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  for (char *p = err; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return code;
}
