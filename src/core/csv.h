/* Internal: a small reader for the comma-separated tables medtwin ships
** (RFC 4180 without quoted fields, which our data files do not use). */
#ifndef MT_CORE_CSV_H
#define MT_CORE_CSV_H

#include <stddef.h>

typedef struct mt_csv {
  int n_row, n_col;  /* data rows (header excluded), columns */
  char **cell;       /* (n_row + 1) x n_col, row 0 is the header */
  char *buf;
} mt_csv;

/* Parse text of len bytes; 0, MT_EPARSE (ragged rows) or MT_ENOMEM. */
int mt_csv_parse(const char *text, size_t len, mt_csv *out);
void mt_csv_clear(mt_csv *c);
/* Column index of a header name, or -1. */
int mt_csv_col(const mt_csv *c, const char *name);
/* Data row r (0-based), column k. */
const char *mt_csv_get(const mt_csv *c, int r, int k);
/* Row whose column k equals value, or -1. */
int mt_csv_find(const mt_csv *c, int k, const char *value);

/*
** The next line of text from p (end: one past the text) as a NUL-terminated
** copy in *buf (grown as needed, capacity *cap), CR/LF stripped. Returns
** where the following line starts (end after the last), or NULL when the
** buffer cannot grow.
*/
const char *mt_next_line(const char *p, const char *end, char **buf,
                         size_t *cap);

/* A data file compiled into the library (cmake/embed.cmake); NULL if none. */
const char *mt_data_file(const char *name, size_t *len);

#endif
