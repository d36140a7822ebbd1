/* Error code table: the single list in error.h rendered to text. */
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
