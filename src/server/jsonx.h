/*
** JSON numbers that keep their written text (internal to the server).
**
** FHIR R4 decimal (datatypes.html#decimal): "The precision of the decimal
** value has significance: e.g. 0.010 is regarded as different to 0.01, and
** the original precision should be preserved"; "Implementations SHALL handle
** decimal values in ways that preserve and respect the precision of the value
** as represented". jansson parses every real into a double and writes it back
** with %.17g (5.10 becomes 5.0999999999999996, 1E2 becomes 100.0), and refuses
** integers outside int64.
**
** mtj_loadb() therefore keeps, as its literal, every number jansson would not
** write back byte for byte: a literal with '.', 'e' or 'E', an integer
** outside int64, and -0. Such a "kept decimal" is held in the tree as a JSON
** string: the marker U+001F followed by the literal. mtj_dumps() writes it
** back as the bare literal; mtj_number() reads its value. Every other integer
** stays a jansson integer. Code that reads numbers from a loaded document must
** use mtj_number() (json_is_number() and json_real_value() do not see kept
** decimals); code that writes a number with a chosen precision uses
** mtj_decimal().
**
** The marker cannot be forged: mtj_loadb() refuses every string (values and
** keys) holding a character below U+0020 other than tab, LF and CR, raw or
** escaped, as FHIR R4 asks of strings (datatypes.html#string: "Strings SHOULD
** not contain Unicode character points below 32, except for u0009 (horizontal
** tab), u0010 (carriage return) and u0013 (line feed)"; the code points named
** are U+0009, U+000D and U+000A).
*/
#ifndef MT_SERVER_JSONX_H
#define MT_SERVER_JSONX_H

#include <jansson.h>
#include <stddef.h>

/*
** Parse len bytes of text like json_loadb(text, len, flags, e) (same flags,
** same ownership: the caller json_decref()s the result), keeping decimals as
** described above. text may be NULL when len is 0. On error returns NULL and
** fills *e (when e is not NULL) with a message and the line, column (in
** characters) and byte position in text, not in any rewritten copy. Besides
** jansson's own errors, a string with a control character is refused, even
** under JSON_ALLOW_NUL. With JSON_DISABLE_EOF_CHECK, text after the first
** value is neither rewritten nor checked, and e->position counts the bytes of
** text read.
*/
json_t *mtj_loadb(const char *text, size_t len, size_t flags, json_error_t *e);

/*
** Encode v like json_dumps(v, flags), writing kept decimals as their literal
** (kept decimals used as object keys stay strings). Returns a NUL-terminated
** string the caller free()s, or NULL where json_dumps would (out of memory, a
** scalar without JSON_ENCODE_ANY).
*/
char *mtj_dumps(const json_t *v, size_t flags);

/*
** 1 when v is a jansson integer, a real or a kept decimal whose value is a
** finite double, the value then stored in *out (a kept decimal read with
** strtod: nearest double, underflow to a subnormal or zero); otherwise 0 and
** *out is left as it was (strings, null, a kept decimal such as 1e400 that no
** double can hold).
*/
int mtj_number(const json_t *v, double *out);

/*
** A new kept decimal (reference owned by the caller) holding literal exactly,
** e.g. "5.1" written by the server with a chosen precision. NULL when literal
** is NULL or not a JSON number (RFC 8259 section 6: "1.", ".5", "01", "+1",
** "nan" and "inf" are not), or out of memory.
*/
json_t *mtj_decimal(const char *literal);

/* 1 when v is a kept decimal (from mtj_loadb() or mtj_decimal()), else 0. */
int mtj_is_decimal(const json_t *v);

/*
** The literal of a kept decimal (borrowed from v, valid while v is), or NULL
** when v is not one.
*/
const char *mtj_decimal_literal(const json_t *v);

#endif
