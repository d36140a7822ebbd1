/* Reader for the plain comma-separated tables shipped in data/. */
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "medtwin/error.h"

static int count_fields(const char *line)
{
  int n = 1;
  for (; *line; line++)
    n += *line == ',';
  return n;
}

int mt_csv_parse(const char *text, size_t len, mt_csv *out)
{
  memset(out, 0, sizeof *out);
  out->buf = malloc(len + 1);
  if (!out->buf)
    return MT_ENOMEM;
  memcpy(out->buf, text, len);
  out->buf[len] = '\0';
  size_t lines = 1;
  for (size_t i = 0; i < len; i++)
    lines += text[i] == '\n';
  char **row = calloc(lines, sizeof *row);
  int nr = 0;
  if (!row) {
    mt_csv_clear(out);
    return MT_ENOMEM;
  }
  for (char *s = out->buf, *save = NULL; (s = strtok_r(s, "\r\n", &save));
       s = NULL)
    if (*s)
      row[nr++] = s;
  int nc = nr ? count_fields(row[0]) : 0, rc = nr ? 0 : MT_EPARSE;
  out->cell = rc ? NULL : calloc((size_t)nr * (size_t)nc, sizeof *out->cell);
  if (!rc && !out->cell)
    rc = MT_ENOMEM;
  for (int r = 0; r < nr && !rc; r++) {
    if (count_fields(row[r]) != nc) {
      rc = MT_EPARSE;
      break;
    }
    char *p = row[r];
    for (int k = 0; k < nc; k++) {
      out->cell[(size_t)r * nc + k] = p;
      p += strcspn(p, ",");
      if (*p)
        *p++ = '\0';
    }
  }
  free(row);
  if (rc) {
    mt_csv_clear(out);
    return rc;
  }
  out->n_row = nr - 1;
  out->n_col = nc;
  return 0;
}

void mt_csv_clear(mt_csv *c)
{
  free(c->cell);
  free(c->buf);
  memset(c, 0, sizeof *c);
}

int mt_csv_col(const mt_csv *c, const char *name)
{
  for (int k = 0; k < c->n_col; k++)
    if (strcmp(c->cell[k], name) == 0)
      return k;
  return -1;
}

const char *mt_csv_get(const mt_csv *c, int r, int k)
{
  return c->cell[(size_t)(r + 1) * c->n_col + k];
}

int mt_csv_find(const mt_csv *c, int k, const char *value)
{
  for (int r = 0; r < c->n_row; r++)
    if (strcmp(mt_csv_get(c, r, k), value) == 0)
      return r;
  return -1;
}

const char *mt_next_line(const char *p, const char *end, char **buf,
                         size_t *cap)
{
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  size_t n = (size_t)((nl ? nl : end) - p);
  if (n + 1 > *cap) {
    char *b = realloc(*buf, n + 1);
    if (!b)
      return NULL;
    *buf = b;
    *cap = n + 1;
  }
  memcpy(*buf, p, n);
  (*buf)[n] = '\0';
  if (n && (*buf)[n - 1] == '\r')
    (*buf)[n - 1] = '\0';
  return p + n + (p + n < end);
}
