/*
** The live twin's stream CSV (include/medtwin/stream.h): mt_stream_parse on
** the raw bytes, then mt_datum_check on every datum it returns.
*/
#include "fuzz.h"
#include "medtwin/error.h"
#include "medtwin/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[MT_ERRMSG_MAX];
  mt_stream s;
  if (mt_stream_parse((const char *)data, size, "fuzz.csv", &s, err,
                      sizeof err) == 0)
    for (int i = 0; i < s.n; i++)
      (void)mt_datum_check(&s.d[i]);
  mt_stream_clear(&s);
  return 0;
}
