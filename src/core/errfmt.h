/* Internal: one-line error messages prefixed with the input's name. */
#ifndef MT_CORE_ERRFMT_H
#define MT_CORE_ERRFMT_H

#include <stdarg.h>
#include <stddef.h>

/*
** Write "<name>: <formatted>" into err (errlen bytes; nothing when err is
** NULL or errlen 0) and return code. Control characters (from file or key
** names) become '?', so a message is one line.
*/
int mt_vfail(char *err, size_t errlen, int code, const char *name,
             const char *fmt, va_list ap);

#endif
