/*
** JSON numbers that keep their written text (src/server/jsonx.h): round
** trips byte for byte, numbers inside strings untouched, control characters
** refused (FHIR R4 datatypes.html#string), errors at the same line, column
** and position as jansson reports on the same text, values against strtod,
** and generated documents (seeded) that come back byte for byte.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/jsonx.h"

#define COMPACT (JSON_COMPACT | JSON_PRESERVE_ORDER)

static json_t *load(const char *text, size_t flags)
{
  json_error_t e;
  json_t *v = mtj_loadb(text, strlen(text), flags, &e);
  cr_assert(v, "%s: %s (line %d column %d)", text, e.text, e.line, e.column);
  return v;
}

/* out == want, naming the first difference (short messages: a long one
** stalls the runner) */
static void same_text(const char *out, const char *want, const char *what)
{
  size_t i = 0;
  while (out[i] && out[i] == want[i])
    i++;
  cr_assert(out[i] == want[i], "%s: differs at byte %zu: '%.24s' for '%.24s'", what, i,
            out + i, want + i);
}

/* mtj_dumps(mtj_loadb(text)) == text */
static void round_trip(const char *text, size_t lflags, size_t dflags)
{
  json_t *v = load(text, lflags);
  char *out = mtj_dumps(v, dflags);
  cr_assert(out);
  same_text(out, text, "round trip");
  free(out);
  json_decref(v);
}

Test(jsonx, decimals_come_back_as_written)
{
  static const char *lits[] = {"5.10", "0.0", "-0.5e-3", "1E+2", "1e2", "2.50E-07",
                               "1.000000000000000000001", "123456789012345678901234",
                               "-123456789012345678901234", "9223372036854775808",
                               "-9223372036854775809", "100.000", "1e007"};
  for (size_t i = 0; i < sizeof lits / sizeof *lits; i++) {
    char text[128];
    snprintf(text, sizeof text, "{\"valueQuantity\":{\"value\":%s,\"unit\":\"mmol/L\"}}",
             lits[i]);
    round_trip(text, 0, COMPACT);
    snprintf(text, sizeof text, "[%s]", lits[i]);
    json_t *v = load(text, 0);
    cr_assert(mtj_is_decimal(json_array_get(v, 0)), "%s", lits[i]);
    cr_assert_str_eq(mtj_decimal_literal(json_array_get(v, 0)), lits[i]);
    json_decref(v);
  }
}

Test(jsonx, integers_stay_jansson_integers)
{
  const char *text = "[0,-1,42,9223372036854775807,-9223372036854775808,-0]";
  json_t *v = load(text, 0);
  for (size_t i = 0; i < 5; i++)
    cr_assert(json_is_integer(json_array_get(v, i)), "element %zu", i);
  cr_assert_eq(json_integer_value(json_array_get(v, 3)), INT64_MAX);
  cr_assert_eq(json_integer_value(json_array_get(v, 4)), INT64_MIN);
  /* RFC 8259 allows -0 (int = zero); jansson would write it back as 0, and
  ** FHIR's integer regex [0]|[-+]?[1-9][0-9]* excludes it while decimal's
  ** allows it: kept as a decimal */
  json_t *mz = json_array_get(v, 5);
  cr_assert(mtj_is_decimal(mz));
  double x = 1;
  cr_assert_eq(mtj_number(mz, &x), 1);
  cr_assert(x == 0 && signbit(x));
  json_decref(v);
  round_trip(text, 0, COMPACT);
}

Test(jsonx, a_document_without_decimals_parses_as_jansson_parses_it)
{
  const char *text = "{\"a\":[1,2,{\"b\":null,\"c\":true}],\"d\":\"5.10\",\"e\":-7}";
  json_t *v = load(text, 0), *w = json_loads(text, 0, NULL);
  cr_assert(json_equal(v, w));
  json_decref(v);
  json_decref(w);
}

Test(jsonx, numbers_inside_strings_are_untouched)
{
  const char *text = "{\"a\":\"5.10\",\"b\":\"1e2 and -0.5\",\"c\":\"\\\"3.0\\\"\","
                     "\"d\":\"\\\\\",\"e\":4.50,\"1.5\":\"x\"}";
  json_t *v = load(text, 0);
  cr_assert_str_eq(json_string_value(json_object_get(v, "a")), "5.10");
  cr_assert_str_eq(json_string_value(json_object_get(v, "b")), "1e2 and -0.5");
  cr_assert_str_eq(json_string_value(json_object_get(v, "c")), "\"3.0\"");
  cr_assert_str_eq(json_string_value(json_object_get(v, "d")), "\\");
  cr_assert_str_eq(json_string_value(json_object_get(v, "1.5")), "x");
  cr_assert_not(mtj_is_decimal(json_object_get(v, "a")));
  cr_assert_str_eq(mtj_decimal_literal(json_object_get(v, "e")), "4.50");
  json_decref(v);
  round_trip(text, 0, COMPACT);
}

Test(jsonx, escapes_before_numbers)
{
  const char *text = "[\"\\\\\",1.50,\"\\\"\",2.50,\"\\\\\\\"\",3.50,\"\\u0041\\\\\",4.50]";
  json_t *v = load(text, 0);
  cr_assert_eq(json_array_size(v), 8);
  for (size_t i = 1; i < 8; i += 2)
    cr_assert(mtj_is_decimal(json_array_get(v, i)), "element %zu", i);
  cr_assert_str_eq(json_string_value(json_array_get(v, 4)), "\\\"");
  cr_assert_str_eq(json_string_value(json_array_get(v, 6)), "A\\");
  char *out = mtj_dumps(v, COMPACT);
  /* jansson writes \u0041 as A; everything else comes back as written */
  cr_assert_str_eq(out, "[\"\\\\\",1.50,\"\\\"\",2.50,\"\\\\\\\"\",3.50,\"A\\\\\",4.50]");
  free(out);
  json_decref(v);
}

Test(jsonx, nested_and_pretty)
{
  const char *text = "{\"a\":[[1.0,[2.00,{\"b\":[3.000e0]}]],{}],\"c\":{\"d\":{\"e\":[]}}}";
  round_trip(text, 0, COMPACT);
  json_t *v = load("{\"v\":[5.10,2]}", 0);
  char *out = mtj_dumps(v, JSON_INDENT(2));
  cr_assert_str_eq(out, "{\n  \"v\": [\n    5.10,\n    2\n  ]\n}");
  free(out);
  json_decref(v);
  /* whitespace around a decimal is jansson's to drop, the literal stays */
  v = load(" [ 5.10 ,\n\t-0.0e+0 ] ", 0);
  out = mtj_dumps(v, COMPACT);
  cr_assert_str_eq(out, "[5.10,-0.0e+0]");
  free(out);
  json_decref(v);
}

Test(jsonx, a_decimal_document_needs_decode_any_like_jansson)
{
  round_trip("5.10", JSON_DECODE_ANY, JSON_ENCODE_ANY);
  json_t *v = load("5.10", JSON_DECODE_ANY);
  cr_assert_null(mtj_dumps(v, 0)); /* a scalar without JSON_ENCODE_ANY */
  json_decref(v);
}

/* The same error as jansson reports on text (or on same_as, a text of the
** same layout that jansson can read up to the error). */
static void same_error(const char *text, const char *same_as)
{
  json_error_t e, j;
  json_t *v = mtj_loadb(text, strlen(text), 0, &e);
  cr_assert_null(v, "%s parsed", text);
  json_t *w = json_loadb(same_as, strlen(same_as), 0, &j);
  cr_assert_null(w, "%s parsed", same_as);
  cr_assert_eq(e.line, j.line, "%s: line %d, jansson %d", text, e.line, j.line);
  cr_assert_eq(e.column, j.column, "%s: column %d, jansson %d", text, e.column, j.column);
  cr_assert_eq(e.position, j.position, "%s: position %d, jansson %d", text, e.position,
               j.position);
  cr_assert_eq(json_error_code(&e), json_error_code(&j), "%s", text);
  if (text == same_as)
    cr_assert_str_eq(e.text, j.text);
  cr_assert_null(strstr(e.text, "\\u001f"), "%s", e.text);
}

Test(jsonx, malformed_json_is_an_error_at_the_written_position)
{
  static const char *bad[] = {
    "{\"a\":1.50,\"b\":2.50 \"c\":3}",
    "[1.5,\n 2.25,\n 3.125 x]",
    "[1.5,\n 2.25,\n 3.125,\n]",
    "{\"a\" 1.5}",
    "[1.5 2]",
    "[1.5,2.5",
    "{\"a\":[1.0,2.0}",
    "[\"\xc3\xa9\xc3\xa9\", 1.5, 2.5.3]",
    "{1.5:2}",
    "{\"a\":1.5,\n  2.5 : 3}",
    "[1.5x]",
    "[1.5e]",
    "[01.5]",
    "[-]",
    "[.5]",
    "[+1.5]",
    "[1.50]]",
    "5.10",
    "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    same_error(bad[i], bad[i]);
  /* jansson stops at the big integer; past it the error is where it is */
  same_error("[123456789012345678901234,\n 0.10, x]", "[12345678901234567890.234,\n 0.10, x]");
}

Test(jsonx, control_characters_in_strings_are_refused)
{
  static const struct {
    const char *text;
    int line, column;
  } bad[] = {
    {"{\"a\":\"x\x01y\"}", 1, 7},
    {"[\"\x1f" "5.10\"]", 1, 2},
    {"[\"\\u001f5.10\"]", 1, 2},
    {"[\"\\u001F5.10\"]", 1, 2},
    {"[\"\\u0000\"]", 1, 2},
    {"[\"ok\\u000B\"]", 1, 4},
    {"{\"a\\u0001\":1}", 1, 3},
    {"{\n  \"note\": \"ok\",\n  \"bad\": \"\xc3\xa9\\u0007\"\n}", 3, 11},
    {"[1.5, 2.5, \"\\u001e\"]", 1, 12},
    {"[\"\\b\"]", 1, 2},
    {"[\"a\\f\"]", 1, 3},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_error_t e;
    const char *t = bad[i].text;
    cr_assert_null(mtj_loadb(t, strlen(t), JSON_ALLOW_NUL | JSON_DECODE_ANY, &e), "%s", t);
    cr_assert_eq(e.line, bad[i].line, "%s: line %d", t, e.line);
    cr_assert_eq(e.column, bad[i].column, "%s: column %d", t, e.column);
    cr_assert(strstr(e.text, "control character U+00"), "%s", e.text);
  }
  /* a raw one is where jansson places it */
  json_error_t e, j;
  const char *raw = "[\n  \"ab\x01\"]";
  cr_assert_null(mtj_loadb(raw, strlen(raw), 0, &e));
  cr_assert_null(json_loads(raw, 0, &j));
  cr_assert(e.line == j.line && e.column == j.column && e.position == j.position);
  /* tab, LF and CR escaped are strings like any other */
  json_t *v = load("[\"\\t\\n\\r\\u0009\\u000a\\u000D\\u0020\\u00e9\\u0100\\u2028\"]", 0);
  cr_assert_str_eq(json_string_value(json_array_get(v, 0)),
                   "\t\n\r\t\n\r \xc3\xa9\xc4\x80\xe2\x80\xa8");
  json_decref(v);
  /* no other byte is refused: a NUL byte outside strings is jansson's */
  cr_assert_null(mtj_loadb("[1.5]\0", 6, 0, &e));
}

/* Strings are skipped eight bytes at a time: a quote, a backslash or a
** control character at any offset in the block is still seen. */
Test(jsonx, every_offset_in_a_long_string)
{
  char pad[40], text[256];
  for (int k = 0; k < 32; k++) {
    memset(pad, 'a', (size_t)k);
    pad[k] = 0;
    snprintf(text, sizeof text, "[\"%s\",1.50,\"%s\\\"%s\",2.50,\"%s\\\\\",3.50]", pad, pad,
             pad, pad);
    round_trip(text, 0, COMPACT);
    snprintf(text, sizeof text, "[\"%s\x7f\xc3\xa9\x1f%s\",1.5]", pad, pad);
    json_error_t e;
    cr_assert_null(mtj_loadb(text, strlen(text), 0, &e));
    cr_assert_eq(e.position, k + 5, "offset %d: %d", k, e.position);
    cr_assert_eq(e.column, k + 4, "offset %d: %d", k, e.column);
    cr_assert(strstr(e.text, "U+001F"), "offset %d: %s", k, e.text);
  }
}

/* jansson reads the rewritten text in pieces of 1 KiB: a kept literal cut
** at any of its bytes, at the first piece's end and further on. */
Test(jsonx, a_kept_literal_across_read_pieces)
{
  char *text = malloc(4200), *pad = malloc(4100);
  for (int k = 990; k < 1030; k++) {
    memset(pad, 'a', (size_t)k);
    pad[k] = 0;
    snprintf(text, 4200, "[\"%s\",-12.50e+3,\"%s\",1.0,%s\"%s\"]", pad, pad + 600,
             k % 2 ? "" : "1e2,", pad + 10);
    round_trip(text, 0, COMPACT);
    json_error_t e, j;
    snprintf(text, 4200, "[\"%s\",-12.50e+3,\"%s\",1.0 \"%s\"]", pad, pad + 600, pad + 10);
    cr_assert_null(mtj_loadb(text, strlen(text), 0, &e));
    cr_assert_null(json_loads(text, 0, &j));
    cr_assert(e.column == j.column && e.position == j.position, "%d: %d %d", k, e.position,
              j.position);
  }
  free(text);
  free(pad);
}

Test(jsonx, values_are_those_strtod_reads)
{
  static const char *lits[] = {"5.10", "0.0", "-0.5e-3", "1E+2", "1.000000000000000000001",
                               "123456789012345678901234", "-0", "-0.0", "1e-400",
                               "2.2250738585072014e-308", "4.9e-324", "0.1",
                               "9007199254740993.0", "-9223372036854775809",
                               "1.7976931348623157e308"};
  for (size_t i = 0; i < sizeof lits / sizeof *lits; i++) {
    char text[64];
    snprintf(text, sizeof text, "[%s]", lits[i]);
    json_t *v = load(text, 0);
    double x = NAN, want = strtod(lits[i], NULL);
    cr_assert_eq(mtj_number(json_array_get(v, 0), &x), 1, "%s", lits[i]);
    cr_assert(memcmp(&x, &want, sizeof x) == 0, "%s: %.17g, strtod %.17g", lits[i], x, want);
    json_decref(v);
  }
  json_t *v = load("[1e400,-1E+999,42,\"5\",null,true]", 0);
  double x = 7;
  cr_assert_eq(mtj_number(json_array_get(v, 0), &x), 0);
  cr_assert_eq(mtj_number(json_array_get(v, 1), &x), 0);
  cr_assert_eq(x, 7); /* left as it was */
  cr_assert_eq(mtj_number(json_array_get(v, 2), &x), 1);
  cr_assert_eq(x, 42);
  for (size_t i = 3; i < 6; i++)
    cr_assert_eq(mtj_number(json_array_get(v, i), &x), 0);
  json_decref(v);
  json_t *r = json_real(2.5);
  cr_assert(mtj_number(r, &x) == 1 && x == 2.5);
  json_decref(r);
  cr_assert_eq(mtj_number(NULL, &x), 0);
}

Test(jsonx, decimals_the_server_writes)
{
  static const char *bad[] = {"1.", ".5", "01", "-01", "00", "nan", "NaN", "inf",
                              "Infinity", "", "+1", "1e", "1e+", "-", "--1", " 1",
                              "1 ", "0x10", "1.5.3", "1,5", "1e1.5"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_null(mtj_decimal(bad[i]), "\"%s\" taken", bad[i]);
  cr_assert_null(mtj_decimal(NULL));
  json_t *o = json_object();
  json_object_set_new(o, "value", mtj_decimal("5.10"));
  json_object_set_new(o, "n", mtj_decimal("0"));
  json_object_set_new(o, "big", mtj_decimal("123456789012345678901234567890.5e-7"));
  char long_lit[200];
  memset(long_lit, '7', sizeof long_lit - 1);
  long_lit[0] = '-', long_lit[1] = '1', long_lit[2] = '.', long_lit[sizeof long_lit - 1] = 0;
  json_object_set_new(o, "long", mtj_decimal(long_lit));
  cr_assert(mtj_is_decimal(json_object_get(o, "value")));
  cr_assert_str_eq(mtj_decimal_literal(json_object_get(o, "long")), long_lit);
  char *out = mtj_dumps(o, COMPACT), want[512];
  snprintf(want, sizeof want,
           "{\"value\":5.10,\"n\":0,\"big\":123456789012345678901234567890.5e-7,\"long\":%s}",
           long_lit);
  cr_assert_str_eq(out, want);
  free(out);
  json_decref(o);
}

Test(jsonx, only_well_formed_markers_are_written_bare)
{
  json_t *a = json_array();
  json_array_append_new(a, json_string("a\\\"\x1f" "1.5")); /* after an escaped quote */
  json_array_append_new(a, json_string("\x1f" "abc"));      /* not a number */
  json_array_append_new(a, json_string("\x1f" "1.5x"));
  json_array_append_new(a, json_string("\x1f"));
  json_array_append_new(a, json_string("\\"));
  json_array_append_new(a, mtj_decimal("2.50"));
  json_t *o = json_object();
  json_object_set_new(o, "\x1f" "1.5", mtj_decimal("1.0")); /* a key stays a string */
  json_array_append_new(a, o);
  char *out = mtj_dumps(a, COMPACT);
  cr_assert_str_eq(out, "[\"a\\\\\\\"\\u001F1.5\",\"\\u001Fabc\",\"\\u001F1.5x\",\"\\u001F\","
                        "\"\\\\\",2.50,{\"\\u001F1.5\":1.0}]");
  free(out);
  out = mtj_dumps(a, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  cr_assert(strstr(out, "\"\\u001F1.5\": 1.0"), "%s", out);
  free(out);
  cr_assert_not(mtj_is_decimal(json_array_get(a, 1)));
  cr_assert_not(mtj_is_decimal(json_array_get(a, 3)));
  json_decref(a);
  cr_assert_null(mtj_dumps(NULL, 0));
}

Test(jsonx, eof_check_disabled_reads_the_first_value_only)
{
  static const char *texts[] = {"[1.50] [2.50]", "[1.50]\n\"\x01", "{\"a\":1.50}x",
                                "[[1.5],[2.5]] 3.5"};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    json_error_t e, j;
    const char *t = texts[i];
    json_t *v = mtj_loadb(t, strlen(t), JSON_DISABLE_EOF_CHECK, &e);
    json_t *w = json_loadb(t, strlen(t), JSON_DISABLE_EOF_CHECK, &j);
    cr_assert(v && w, "%s", t);
    cr_assert_eq(e.position, j.position, "%s: %d, jansson %d", t, e.position, j.position);
    json_decref(v);
    json_decref(w);
  }
  json_error_t e;
  json_t *v = mtj_loadb("5.10 x", 6, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &e);
  cr_assert(mtj_is_decimal(v));
  json_decref(v);
}

Test(jsonx, empty_and_null_text)
{
  json_error_t e;
  cr_assert_null(mtj_loadb(NULL, 0, 0, &e));
  cr_assert_null(mtj_loadb("", 0, 0, NULL));
  cr_assert_null(mtj_loadb("[\"\x01\"]", 5, 0, NULL));
}

Test(jsonx, a_large_document_is_linear)
{
  size_t n = 200000;
  char *text = malloc(n * 12 + 16), *p = text;
  *p++ = '[';
  for (size_t i = 0; i < n; i++)
    p += sprintf(p, "%s%zu.%02zu", i ? "," : "", i, i % 100);
  strcpy(p, "]");
  round_trip(text, 0, COMPACT);
  free(text);
}

/* ---- generated documents ---------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717u;
}

static unsigned below(unsigned n) { return (unsigned)(rnd() >> 33) % n; }

typedef struct {
  char *p;
  size_t n, cap;
} text_buf;

static void put(text_buf *b, const char *s)
{
  size_t k = strlen(s);
  if (b->n + k + 1 > b->cap) {
    b->cap = 2 * (b->n + k + 1);
    b->p = realloc(b->p, b->cap);
    cr_assert(b->p);
  }
  memcpy(b->p + b->n, s, k + 1);
  b->n += k;
}

static void put_digits(text_buf *b, unsigned n, int lead_nonzero)
{
  for (unsigned i = 0; i < n; i++) {
    char d[2] = {(char)('0' + (i == 0 && lead_nonzero ? 1 + below(9) : below(10))), 0};
    put(b, d);
  }
}

/* A JSON number in any of its forms: integers small and huge, -0, fractions
** with trailing zeros, exponents with signs and leading zeros. */
static void gen_number(text_buf *b)
{
  if (below(3) == 0)
    put(b, "-");
  if (below(4) == 0)
    put(b, "0");
  else
    put_digits(b, 1 + (below(4) ? below(6) : below(30)), 1);
  if (below(2)) {
    put(b, ".");
    put_digits(b, 1 + below(below(4) ? 4 : 25), 0);
  }
  if (below(4) == 0) {
    static const char *e[] = {"e", "E", "e+", "e-", "E+", "E-"};
    put(b, e[below(6)]);
    put_digits(b, 1 + below(3), 0);
  }
}

/* A string as jansson's compact encoder writes it. */
static void gen_string(text_buf *b)
{
  static const char *pieces[] = {"a", "Z", "0", "5", ".", "-", "e", "E", " ", ":", ",",
                                 "/", "\\\"", "\\\\", "\\n", "\\t", "\\r",
                                 "u001F", "\\\\u001F", "\xc3\xa9", "\xe4\xb8\xad",
                                 "\xf0\x9f\x98\x80", "[", "}", "1.50", "-0.5e-3"};
  put(b, "\"");
  for (unsigned i = below(8); i > 0; i--)
    put(b, pieces[below(sizeof pieces / sizeof *pieces)]);
  put(b, "\"");
}

static void gen_value(text_buf *b, int depth)
{
  unsigned k = depth < 5 ? below(10) : 2 + below(8);
  char key[16];
  switch (k) {
  case 0:
    put(b, "{");
    for (unsigned i = 0, n = below(5); i < n; i++) {
      if (i)
        put(b, ",");
      gen_string(b);
      b->n--; /* reopen the key to make it unique */
      snprintf(key, sizeof key, "#%u\":", i);
      put(b, key);
      gen_value(b, depth + 1);
    }
    put(b, "}");
    break;
  case 1:
    put(b, "[");
    for (unsigned i = 0, n = below(5); i < n; i++) {
      if (i)
        put(b, ",");
      gen_value(b, depth + 1);
    }
    put(b, "]");
    break;
  case 2:
  case 3:
    gen_string(b);
    break;
  case 4:
    put(b, below(3) == 0 ? "true" : below(2) ? "false" : "null");
    break;
  default:
    gen_number(b);
  }
}

/* Where jansson reads the document too, every number has jansson's value and
** everything else is equal. */
static void same_tree(const json_t *v, const json_t *w)
{
  double x, y = 0;
  if (json_is_number(w)) {
    cr_assert_eq(mtj_number(v, &x), 1);
    y = json_number_value(w);
    cr_assert(memcmp(&x, &y, sizeof x) == 0 || (x == 0 && y == 0 && json_is_integer(w)),
              "%.17g vs %.17g", x, y);
  } else if (json_is_array(w)) {
    cr_assert(json_is_array(v) && json_array_size(v) == json_array_size(w));
    for (size_t i = 0; i < json_array_size(w); i++)
      same_tree(json_array_get(v, i), json_array_get(w, i));
  } else if (json_is_object(w)) {
    const char *key;
    json_t *m;
    cr_assert(json_is_object(v) && json_object_size(v) == json_object_size(w));
    json_object_foreach((json_t *)w, key, m)
      same_tree(json_object_get(v, key), m);
  } else {
    cr_assert(json_equal(v, w));
  }
}

Test(jsonx, generated_documents_come_back_byte_for_byte)
{
  rng_state = 0x9e3779b97f4a7c15u;
  text_buf b = {0};
  int jansson_read = 0;
  for (int doc = 0; doc < 3000; doc++) {
    b.n = 0;
    put(&b, "");
    if (below(2)) {
      put(&b, "{\"resourceType#0\":");
      gen_value(&b, 1);
      put(&b, "}");
    } else {
      put(&b, "[");
      gen_value(&b, 1);
      put(&b, "]");
    }
    json_error_t e;
    json_t *v = mtj_loadb(b.p, b.n, 0, &e);
    cr_assert(v, "doc %d: %s at %d: %.200s", doc, e.text, e.position, b.p);
    char *out = mtj_dumps(v, COMPACT);
    same_text(out, b.p, "generated document");
    free(out);
    json_t *w = json_loadb(b.p, b.n, 0, NULL);
    if (w) {
      same_tree(v, w);
      jansson_read++;
      json_decref(w);
    }
    json_decref(v);
  }
  cr_assert_gt(jansson_read, 1000); /* the value comparison ran */
  free(b.p);
}

/* 1 when a string or key in v holds a character below U+0020 other than
** tab, LF, CR. */
static int has_control(const json_t *v)
{
  const char *key;
  json_t *m;
  size_t i;
  if (json_is_string(v)) {
    for (i = 0; i < json_string_length(v); i++) {
      unsigned char c = (unsigned char)json_string_value(v)[i];
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        return 1;
    }
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, m)
      if (has_control(m))
        return 1;
  } else if (json_is_object(v)) {
    json_object_foreach((json_t *)v, key, m) {
      json_t *k = json_string(key);
      int bad = !k || has_control(k) || has_control(m);
      json_decref(k);
      if (bad)
        return 1;
    }
  }
  return 0;
}

/* Damaged documents: never a crash, and whatever jansson reads without a
** control character in a string is read here too, with the same values. */
Test(jsonx, damaged_documents)
{
  static const char subst[] = "\"\\:,[]{}1.e-+ u0\x01\x1f";
  rng_state = 0x2545f4914f6cdd1du;
  text_buf b = {0};
  int both = 0, refused = 0;
  for (int doc = 0; doc < 3000; doc++) {
    b.n = 0;
    put(&b, "[");
    gen_value(&b, 1);
    put(&b, "]");
    for (unsigned k = 1 + below(3); k > 0; k--)
      b.p[below((unsigned)b.n)] = subst[below(sizeof subst - 1)];
    if (below(4) == 0)
      b.n = below((unsigned)b.n + 1);
    json_error_t e;
    json_t *v = mtj_loadb(b.p, b.n, JSON_ALLOW_NUL, &e);
    json_t *w = json_loadb(b.p, b.n, JSON_ALLOW_NUL, NULL);
    if (!v)
      cr_assert(e.line >= 1 && e.column >= 0 && e.position >= 0 && (size_t)e.position <= b.n,
                "doc %d: line %d column %d position %d", doc, e.line, e.column, e.position);
    if (w && !has_control(w)) {
      cr_assert(v, "doc %d: %s", doc, e.text);
      same_tree(v, w);
      both++;
    } else if (w) {
      cr_assert_null(v, "doc %d", doc);
      refused++;
    }
    json_decref(v);
    json_decref(w);
  }
  cr_assert(both > 100 && refused > 0, "%d read, %d refused", both, refused);
  free(b.p);
}
