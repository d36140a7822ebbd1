/*
** medtwin error codes. 0 is success, negative is an error, positive is
** informational. One X-macro list generates the enum and the messages.
*/
#ifndef MEDTWIN_ERROR_H
#define MEDTWIN_ERROR_H

#define MT_ERRORS(X)                                                         \
  X(NOMEM,    -1, "out of memory")                                           \
  X(INVAL,    -2, "invalid argument")                                        \
  X(PARSE,    -3, "malformed input")                                         \
  X(RANGE,    -4, "value outside physiological range")                       \
  X(SOLVER,   -5, "integrator failed")                                       \
  X(IO,       -6, "storage I/O error")                                       \
  X(DENIED,   -7, "not authorised")                                          \
  X(NOTFOUND, -8, "no such record")                                          \
  X(CONFLICT, -9, "conflicts with the stored version")

enum {
  MT_OK = 0,
#define MT_ERR_ENUM(name, code, msg) MT_E##name = code,
  MT_ERRORS(MT_ERR_ENUM)
#undef MT_ERR_ENUM
};

/* Maximum length of a per-handle or per-call error message, with the NUL. */
#define MT_ERRMSG_MAX 512

/* Static text for an error code; never NULL. */
const char *mt_strerror(int code);

#endif
