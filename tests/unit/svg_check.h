/*
** Checks of the SVG the plots write, shared by the plot tests: substring
** counts, well-formed XML for the subset written (no comments, CDATA or
** processing instructions), a path's points, and the data value at a page
** position read back through an axis's tick labels.
*/
#ifndef MT_TESTS_SVG_CHECK_H
#define MT_TESTS_SVG_CHECK_H

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

static inline int count(const char *s, const char *needle)
{
  int k = 0;
  for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
    k++;
  return k;
}

static inline void assert_has(const char *s, const char *needle)
{
  cr_assert_not_null(strstr(s, needle), "missing \"%s\"", needle);
}

static inline void assert_lacks(const char *s, const char *needle)
{
  cr_assert_null(strstr(s, needle), "unexpected \"%s\"", needle);
}

/* Text between tags: no '<', and every '&' starts a character reference. */
static inline void check_text(const char *a, const char *b)
{
  for (const char *p = a; p < b; p++) {
    if (*p != '&')
      continue;
    const char *e = p + 1;
    while (e < b && (isalnum((unsigned char)*e) || *e == '#'))
      e++;
    cr_assert(e < b && *e == ';' && e > p + 1, "stray '&' at \"%.20s\"", p);
  }
}

/* Attributes of a start tag [a, b): name="value" pairs, value text checked. */
static inline void check_attrs(const char *a, const char *b)
{
  const char *p = a;
  while (p < b) {
    while (p < b && isspace((unsigned char)*p))
      p++;
    if (p >= b || *p == '/')
      break;
    while (p < b && *p != '=' && !isspace((unsigned char)*p))
      p++;
    cr_assert(p + 1 < b && p[0] == '=' && p[1] == '"', "unquoted "
              "attribute near \"%.30s\"", a);
    const char *q = memchr(p + 2, '"', b - (p + 2));
    cr_assert_not_null(q, "unterminated attribute near \"%.30s\"", a);
    check_text(p + 2, q);
    p = q + 1;
  }
}

/* Well-formed XML for the subset we write (no comments, CDATA or PIs): one
** root <svg>, elements properly nested, no non-finite numbers. */
static inline void assert_xml(const char *s)
{
  char stack[64][32];
  int depth = 0, roots = 0;
  const char *p = s;
  cr_assert_eq(strncmp(s, "<svg", 4), 0);
  while (*p) {
    const char *lt = strchr(p, '<');
    if (!lt)
      lt = p + strlen(p);
    check_text(p, lt);
    if (!*lt)
      break;
    const char *gt = strchr(lt, '>');
    cr_assert_not_null(gt, "unterminated tag");
    int close = lt[1] == '/', empty = gt[-1] == '/';
    const char *n = lt + 1 + close;
    size_t len = strcspn(n, " \t\n/>");
    cr_assert(len > 0 && len < 32, "bad tag name near \"%.20s\"", lt);
    if (close) {
      cr_assert(depth > 0 && strlen(stack[depth - 1]) == len &&
                !strncmp(stack[depth - 1], n, len),
                "</%.*s> closes <%s>", (int)len, n,
                depth ? stack[depth - 1] : "");
      depth--;
    } else {
      check_attrs(n + len, empty ? gt - 1 : gt);
      if (depth == 0)
        roots++;
      if (!empty) {
        cr_assert_lt(depth, 64);
        memcpy(stack[depth], n, len);
        stack[depth++][len] = 0;
      }
    }
    p = gt + 1;
  }
  cr_assert_eq(depth, 0, "%d elements left open", depth);
  cr_assert_eq(roots, 1);
  assert_lacks(s, "nan");
  assert_lacks(s, "inf");
}

/* The points of the path of class cls ("M x y L x y ... Z"). */
static inline int path_points(const char *s, const char *cls, double *x, double *y,
                       int max)
{
  char key[64];
  snprintf(key, sizeof key, "class=\"%s\"", cls);
  const char *p = strstr(s, key);
  cr_assert_not_null(p, "no path %s", cls);
  p = strstr(p, " d=\"");
  cr_assert_not_null(p);
  p += 4;
  int n = 0;
  while (*p && *p != '"') {
    if (*p == 'M' || *p == 'L' || *p == 'Z' || *p == ' ') {
      p++;
      continue;
    }
    char *e;
    double a = strtod(p, &e), b = strtod(e, &e);
    cr_assert(e > p && n < max, "bad path %s at \"%.20s\"", cls, p);
    x[n] = a, y[n++] = b;
    p = e;
  }
  return n;
}

/* Data value at page position pos along the axis whose tick labels have
** class cls: linear through the first and last label (pos_attr "x" or "y";
** y labels sit 3.5 px below their tick). */
typedef struct axis { double p0, v0, p1, v1; } axis;

static inline axis axis_read(const char *s, const char *cls, int is_y)
{
  char key[96];
  axis a = {0, 0, 0, 0};
  int n = 0;
  snprintf(key, sizeof key, "class=\"%s\"", cls);
  for (const char *p = strstr(s, key); p; p = strstr(p + 1, key)) {
    const char *q = strstr(p, is_y ? " y=\"" : " x=\"");
    const char *v = strchr(p, '>');
    cr_assert(q && v);
    double pos = strtod(q + 4, NULL) - (is_y ? 3.5 : 0.0);
    double val = strtod(v + 1, NULL);
    if (n++ == 0)
      a.p0 = pos, a.v0 = val;
    a.p1 = pos, a.v1 = val;
  }
  cr_assert_geq(n, 2, "fewer than 2 ticks of class %s", cls);
  return a;
}

static inline double axis_value(const axis *a, double pos)
{
  return a->v0 + (pos - a->p0) * (a->v1 - a->v0) / (a->p1 - a->p0);
}

#endif
