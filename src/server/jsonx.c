/*
** JSON numbers that keep their written text (src/server/jsonx.h; FHIR R4
** datatypes.html#decimal and #string, RFC 8259 section 6 for the number
** grammar).
**
** Loading is one pass of a lexer over the text before jansson sees it. The
** lexer follows strings (escapes included) so that digits inside them are
** never taken for numbers, refuses control characters in strings, and notes
** each number literal that must be kept. jansson then reads the text with
** each noted literal turned into a string holding the marker (5.10 becomes
** "\u001f5.10", 8 bytes longer), made on the fly in json_load_callback()'s
** 1 KiB pieces: the text is never copied whole, and when no literal is noted
** jansson parses the caller's text itself. A number followed by ':' (used as
** an object key: invalid JSON) is left as it is, so that the rewrite never
** turns invalid text valid; jansson's errors on the rewritten text are
** mapped back to the caller's text.
**
** Dumping lets jansson write into a buffer, then one in-place pass finds
** each opening quote followed by the escaped marker "\u001F" and a valid
** literal, and drops the quotes and the marker.
*/
#define _GNU_SOURCE /* memmem */
#include "jsonx.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK 0x1f
/* What the lexer writes before a kept literal, and what jansson's encoder
** writes for the marker (dump.c: "\\u%04X"). */
static const char MARK_IN[] = "\"\\u001f";
static const char MARK_OUT[] = "\"\\u001F";
#define MARK_LEN 7           /* both, without the NUL */
#define GROWTH (MARK_LEN + 1) /* bytes a rewrite adds: marker and closing quote */

_Static_assert(sizeof(json_int_t) == 8, "jansson integers are int64");

/* ---- literals ---------------------------------------------------------- */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Characters that can continue a number literal. */
static int is_numchar(unsigned char c)
{
  return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

static size_t digits(const unsigned char *p, size_t i, size_t n)
{
  while (i < n && is_digit(p[i]))
    i++;
  return i;
}

/*
** Classify the n bytes at p as a JSON number: -1 not one, 0 an integer that
** jansson holds and writes back unchanged (within int64, not -0), 1 a literal
** to keep.
*/
static int literal_kind(const unsigned char *p, size_t n)
{
  size_t i = 0, d0;
  int neg = 0, keep = 0;
  if (i < n && p[i] == '-')
    neg = 1, i++;
  d0 = i;
  if (i >= n || !is_digit(p[i]))
    return -1;
  i = p[i] == '0' ? i + 1 : digits(p, i, n);
  size_t nd = i - d0;
  if (i < n && p[i] == '.') {
    if (++i >= n || !is_digit(p[i]))
      return -1;
    i = digits(p, i, n), keep = 1;
  }
  if (i < n && (p[i] == 'e' || p[i] == 'E')) {
    if (++i < n && (p[i] == '+' || p[i] == '-'))
      i++;
    if (i >= n || !is_digit(p[i]))
      return -1;
    i = digits(p, i, n), keep = 1;
  }
  if (i != n)
    return -1;
  if (keep || (neg && nd == 1 && p[d0] == '0'))
    return 1;
  if (nd != 19)
    return nd > 19;
  return memcmp(p + d0, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

/* ---- a growing buffer (for mtj_dumps) ------------------------------------ */

typedef struct {
  char *p;
  size_t n, cap;
} buf;

static int buf_put(buf *b, const void *src, size_t n)
{
  if (n > b->cap - b->n) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->n < n)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
      return -1;
    b->p = p, b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->n, src, n);
  b->n += n;
  return 0;
}

/* ---- the lexer ----------------------------------------------------------- */

typedef struct {
  size_t at, len; /* a kept literal in the caller's text */
} rewrite;

#define RW_INLINE 512

typedef struct {
  const unsigned char *s;
  size_t n;
  rewrite *rw;    /* the kept literals, in order: rw_inline, then the heap */
  size_t nrw, rw_cap;
  rewrite rw_inline[RW_INLINE];
  size_t bad;     /* offset of a control character in a string */
  unsigned bad_cp;
} lexer;

/* Bytes that end a run of plain string content: '"', '\\', controls. */
static const unsigned char STR_STOP[256] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  ['"'] = 1, ['\\'] = 1,
};

/* Bytes that matter outside strings: token starts and brackets. */
static const unsigned char OUT_STOP[256] = {
  ['"'] = 1, ['-'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
  ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
  ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1,
  ['t'] = 1, ['f'] = 1, ['n'] = 1,
};

static int hexval(unsigned char c)
{
  if (is_digit(c))
    return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int allowed_control(unsigned cp) { return cp == '\t' || cp == '\n' || cp == '\r'; }

/* The code point of the escape \uXXXX at s[i] (i at the backslash) when it
** is below U+0020, else -1. */
static int escaped_control(const unsigned char *s, size_t i, size_t n)
{
  if (n - i < 6 || s[i + 2] != '0' || s[i + 3] != '0')
    return -1;
  int hi = hexval(s[i + 4]), lo = hexval(s[i + 5]);
  return hi >= 0 && hi < 2 && lo >= 0 ? hi * 16 + lo : -1;
}

/*
** Skip plain string content from i: eight bytes at a time, the mask flagging
** bytes that are '"', '\\' or below 0x20. Its lowest flag is always a true
** one (a false flag only follows a true one, from the borrow), so on a
** little-endian machine the first stop byte is found from it directly.
*/
static size_t skip_plain(const unsigned char *s, size_t i, size_t n)
{
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  while (n - i >= 8) {
    uint64_t v, q, b, m;
    memcpy(&v, s + i, 8);
    q = v ^ (ones * '"');
    b = v ^ (ones * '\\');
    m = ((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v);
    if (m & highs) {
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return i + (size_t)__builtin_ctzll(m & highs) / 8;
#else
      break;
#endif
    }
    i += 8;
  }
  while (i < n && !STR_STOP[s[i]])
    i++;
  return i;
}

/* Skip from i to the next byte outside strings that matters, indentation
** eight spaces at a time. */
static size_t skip_outside(const unsigned char *s, size_t i, size_t n)
{
  uint64_t v;
  while (i < n && !OUT_STOP[s[i]])
    if (s[i++] == '\n')
      while (n - i >= 8 && (memcpy(&v, s + i, 8), v == 0x2020202020202020u))
        i += 8;
  return i;
}

/*
** Scan the string whose opening quote is at s[i]; return the offset after its
** closing quote (n when it is unterminated: jansson reports that), or
** SIZE_MAX on a control character, with lx->bad set.
*/
static size_t scan_string(lexer *lx, size_t i)
{
  const unsigned char *s = lx->s;
  size_t n = lx->n;
  for (i++;;) {
    i = skip_plain(s, i, n);
    if (i >= n)
      return n;
    if (s[i] == '"')
      return i + 1;
    if (s[i] < 0x20) {
      lx->bad = i, lx->bad_cp = s[i];
      return SIZE_MAX;
    }
    /* a backslash: the last byte (unterminated, as above), or an escape;
    ** \b, \f and \u0000-\u001F name controls too */
    if (i + 1 >= n)
      return n;
    int cp = s[i + 1] == 'u' ? escaped_control(s, i, n)
             : s[i + 1] == 'b' ? '\b' : s[i + 1] == 'f' ? '\f' : -1;
    if (cp >= 0 && !allowed_control((unsigned)cp)) {
      lx->bad = i, lx->bad_cp = (unsigned)cp;
      return SIZE_MAX;
    }
    i += 2; /* the escape's first two bytes; \uXXXX's hex digits are plain */
  }
}

/* 1 when the first byte after offset i other than JSON whitespace is ':'. */
static int before_colon(const unsigned char *s, size_t i, size_t n)
{
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    i++;
  return i < n && s[i] == ':';
}

static int keep_literal(lexer *lx, size_t at, size_t len)
{
  if (lx->nrw == lx->rw_cap) {
    size_t cap = 2 * lx->rw_cap;
    rewrite *rw = lx->rw == lx->rw_inline ? malloc(cap * sizeof *rw)
                                           : realloc(lx->rw, cap * sizeof *rw);
    if (!rw)
      return -1;
    if (lx->rw == lx->rw_inline)
      memcpy(rw, lx->rw_inline, sizeof lx->rw_inline);
    lx->rw = rw, lx->rw_cap = cap;
  }
  lx->rw[lx->nrw++] = (rewrite){at, len};
  return 0;
}

/* Scan the number-like run at s[i]; keep it when it must be kept. Returns
** the offset after it, or SIZE_MAX when out of memory. */
static size_t scan_number(lexer *lx, size_t i)
{
  size_t j = i + 1;
  while (j < lx->n && is_numchar(lx->s[j]))
    j++;
  if (literal_kind(lx->s + i, j - i) == 1 && !before_colon(lx->s, j, lx->n) &&
      keep_literal(lx, i, j - i))
    return SIZE_MAX;
  return j;
}

/*
** The one pass. Returns 0, -1 on a control character in a string, -2 out of
** memory. With stop_after_value, stops after the first complete top-level
** value (JSON_DISABLE_EOF_CHECK: jansson reads no further).
*/
static int lex(lexer *lx, int stop_after_value)
{
  const unsigned char *s = lx->s;
  size_t n = lx->n, i = 0;
  long depth = 0;
  while (i < n) {
    i = skip_outside(s, i, n);
    if (i >= n)
      break;
    unsigned char c = s[i];
    if (c == '"') {
      i = scan_string(lx, i);
      if (i == SIZE_MAX)
        return -1;
    } else if (c == '-' || is_digit(c)) {
      i = scan_number(lx, i);
      if (i == SIZE_MAX)
        return -2;
    } else {
      i++;
      depth += (c == '[' || c == '{') - (c == ']' || c == '}');
    }
    if (stop_after_value && depth <= 0)
      break;
  }
  return 0;
}

/* ---- feeding jansson ------------------------------------------------------ */

/* Where json_load_callback() has got to in the rewritten text. */
typedef struct {
  const lexer *lx;
  size_t pos; /* in the caller's text */
  size_t k;   /* the next rewrite */
  size_t tok; /* bytes of rewrite k's token already given */
} feed;

/* Give jansson up to cap bytes of the rewritten text; 0 at its end. */
static size_t feed_cb(void *dst, size_t cap, void *data)
{
  feed *f = data;
  const lexer *lx = f->lx;
  char *d = dst;
  size_t w = 0;
  while (w < cap) {
    if (f->k < lx->nrw && f->pos == lx->rw[f->k].at) {
      const rewrite *r = &lx->rw[f->k];
      size_t m, tok_len = r->len + GROWTH;
      while (w < cap && f->tok < tok_len) {
        if (f->tok < MARK_LEN) {
          m = MARK_LEN - f->tok < cap - w ? MARK_LEN - f->tok : cap - w;
          memcpy(d + w, MARK_IN + f->tok, m);
        } else if (f->tok < MARK_LEN + r->len) {
          size_t off = f->tok - MARK_LEN;
          m = r->len - off < cap - w ? r->len - off : cap - w;
          memcpy(d + w, lx->s + r->at + off, m);
        } else {
          m = 1;
          d[w] = '"';
        }
        w += m, f->tok += m;
      }
      if (f->tok == tok_len)
        f->pos += r->len, f->k++, f->tok = 0;
    } else {
      size_t end = f->k < lx->nrw ? lx->rw[f->k].at : lx->n;
      size_t m = end - f->pos < cap - w ? end - f->pos : cap - w;
      if (m == 0)
        break;
      memcpy(d + w, lx->s + f->pos, m);
      w += m, f->pos += m;
    }
  }
  return w;
}

/* ---- errors ---------------------------------------------------------------- */

static void set_error(json_error_t *e, const unsigned char *s, size_t at,
                      enum json_error_code code, const char *msg)
{
  if (!e)
    return;
  int line = 1, col = 0;
  for (size_t i = 0; i < at; i++) {
    if (s[i] == '\n')
      line++, col = 0;
    else if (s[i] < 0x80 || (s[i] >= 0xc2 && s[i] <= 0xf4))
      col++; /* as jansson counts: the first bytes of UTF-8 sequences */
  }
  e->line = line, e->column = col, e->position = (int)at;
  snprintf(e->source, sizeof e->source, "%s", "<buffer>");
  snprintf(e->text, sizeof e->text, "%s", msg);
  e->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)code;
}

/* Offset in the caller's text of offset q in the rewritten text. */
static size_t map_back(const lexer *lx, size_t q)
{
  size_t lo = 0, hi = lx->nrw; /* first rewrite starting after q */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (lx->rw[mid].at + GROWTH * mid <= q)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0)
    return q;
  const rewrite *r = &lx->rw[lo - 1];
  size_t start = r->at + GROWTH * (lo - 1), d = q - start;
  if (d < r->len + GROWTH) /* inside the rewritten token */
    return r->at + (d < MARK_LEN ? 0 : d - MARK_LEN > r->len ? r->len : d - MARK_LEN);
  return q - GROWTH * lo;
}

/* Drop the marker and the closing quote of rewritten tokens from jansson's
** message ("near '\"\\u001f5.10\"'" becomes "near '5.10'"). */
static void clean_text(char *t)
{
  char *m;
  while ((m = strstr(t, MARK_IN))) {
    char *lit = m + MARK_LEN, *end = lit;
    while (is_numchar((unsigned char)*end))
      end++;
    size_t len = (size_t)(end - lit);
    memmove(m, lit, len);
    memmove(m + len, end + (*end == '"'), strlen(end + (*end == '"')) + 1);
  }
}

/* Move jansson's error on the rewritten text back onto the caller's text:
** the same message, line and column counted there as jansson counts them. */
static void map_error(const lexer *lx, json_error_t *e, int failed)
{
  if (!e || e->position < 0)
    return;
  size_t p = map_back(lx, (size_t)e->position);
  if (p > lx->n)
    p = lx->n;
  if (!failed) {
    e->position = (int)p;
    return;
  }
  char text[JSON_ERROR_TEXT_LENGTH];
  memcpy(text, e->text, sizeof text);
  clean_text(text);
  set_error(e, lx->s, p, json_error_code(e), text);
}

/* ---- the interface ------------------------------------------------------- */

json_t *mtj_loadb(const char *text, size_t len, size_t flags, json_error_t *e)
{
  lexer lx;
  lx.s = (const unsigned char *)(text ? text : ""), lx.n = text ? len : 0;
  lx.rw = lx.rw_inline, lx.nrw = 0, lx.rw_cap = RW_INLINE;
  int r = lex(&lx, (flags & JSON_DISABLE_EOF_CHECK) != 0);
  json_t *v = NULL;
  if (r == -1) {
    char msg[96];
    snprintf(msg, sizeof msg,
             "control character U+%04X in a string (FHIR strings exclude them "
             "but tab, LF, CR)", lx.bad_cp);
    set_error(e, lx.s, lx.bad, json_error_invalid_syntax, msg);
  } else if (r == -2) {
    set_error(e, lx.s, 0, json_error_out_of_memory, "out of memory");
  } else if (lx.nrw == 0) {
    v = json_loadb((const char *)lx.s, lx.n, flags, e);
  } else {
    feed f = {&lx, 0, 0, 0};
    v = json_load_callback(feed_cb, &f, flags, e);
    map_error(&lx, e, v == NULL);
    if (e)
      snprintf(e->source, sizeof e->source, "%s", "<buffer>");
  }
  if (lx.rw != lx.rw_inline)
    free(lx.rw);
  return v;
}

/* 1 when the quote at s[q] is escaped: an odd run of backslashes before it,
** looked for no further back than from. */
static int escaped_quote(const char *s, size_t from, size_t q)
{
  size_t k = q;
  while (k > from && s[k - 1] == '\\')
    k--;
  return (q - k) & 1;
}

/* Write kept decimals in jansson's output s (n bytes) as bare literals, in
** place; returns the new length. */
static size_t unmark(char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t w = 0, r = 0;
  char *hit;
  while ((hit = memmem(s + r, n - r, MARK_OUT, MARK_LEN))) {
    size_t h = (size_t)(hit - s), lit = h + MARK_LEN, end = lit;
    while (end < n && is_numchar(u[end]))
      end++;
    int bare = !escaped_quote(s, r, h) && end < n && s[end] == '"' &&
               literal_kind(u + lit, end - lit) >= 0 && !before_colon(u, end + 1, n);
    memmove(s + w, s + r, h - r);
    w += h - r;
    if (bare) {
      memmove(s + w, s + lit, end - lit);
      w += end - lit, r = end + 1;
    } else {
      memmove(s + w, s + h, MARK_LEN);
      w += MARK_LEN, r = lit;
    }
  }
  memmove(s + w, s + r, n - r);
  w += n - r;
  s[w] = '\0';
  return w;
}

static int dump_cb(const char *chunk, size_t size, void *data)
{
  return buf_put(data, chunk, size);
}

char *mtj_dumps(const json_t *v, size_t flags)
{
  buf b = {0};
  if (!v || json_dump_callback(v, dump_cb, &b, flags) || buf_put(&b, "", 1)) {
    free(b.p);
    return NULL;
  }
  unmark(b.p, b.n - 1);
  return b.p;
}

const char *mtj_decimal_literal(const json_t *v)
{
  if (!json_is_string(v))
    return NULL;
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (n < 2 || (unsigned char)s[0] != MARK ||
      literal_kind((const unsigned char *)s + 1, n - 1) < 0)
    return NULL;
  return s + 1;
}

int mtj_is_decimal(const json_t *v) { return mtj_decimal_literal(v) != NULL; }

int mtj_number(const json_t *v, double *out)
{
  double x;
  const char *lit;
  if (json_is_integer(v))
    x = (double)json_integer_value(v);
  else if (json_is_real(v))
    x = json_real_value(v);
  else if ((lit = mtj_decimal_literal(v)))
    x = strtod(lit, NULL);
  else
    return 0;
  if (!isfinite(x))
    return 0;
  *out = x;
  return 1;
}

json_t *mtj_decimal(const char *literal)
{
  if (!literal)
    return NULL;
  size_t n = strlen(literal);
  if (literal_kind((const unsigned char *)literal, n) < 0)
    return NULL;
  char small[64], *p = n + 1 <= sizeof small ? small : malloc(n + 1);
  if (!p)
    return NULL;
  p[0] = MARK;
  memcpy(p + 1, literal, n);
  json_t *v = json_stringn_nocheck(p, n + 1);
  if (p != small)
    free(p);
  return v;
}
