/*
** The internal CSV reader (src/core/csv.h) and the data files compiled into
** the library (cmake/embed.cmake). Expected values are read off the small
** literal tables below, or off data/uva-padova/ in the source tree.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/csv.h"
#include "medtwin/error.h"
#include "medtwin/model.h"

static int parse(const char *text, mt_csv *c)
{
  return mt_csv_parse(text, strlen(text), c);
}

Test(csv, small_table)
{
  /* 2 data rows, 3 columns; an empty cell stays an empty string. */
  mt_csv c;
  cr_assert_eq(parse("Name,a,b\nx,1,2.5\ny,,-3\n", &c), 0);
  cr_assert_eq(c.n_row, 2);
  cr_assert_eq(c.n_col, 3);
  cr_assert_str_eq(mt_csv_get(&c, 0, 0), "x");
  cr_assert_str_eq(mt_csv_get(&c, 0, 2), "2.5");
  cr_assert_str_eq(mt_csv_get(&c, 1, 1), "");
  cr_assert_str_eq(mt_csv_get(&c, 1, 2), "-3");
  mt_csv_clear(&c);
  cr_assert_eq(c.n_row, 0);
  cr_assert_null(c.cell);
}

Test(csv, header_lookup_and_find)
{
  mt_csv c;
  cr_assert_eq(parse("Name,a,b\nx,1,2\ny,3,4\nz,5,6", &c), 0);
  /* No trailing newline: the last row still counts. */
  cr_assert_eq(c.n_row, 3);
  cr_assert_eq(mt_csv_col(&c, "Name"), 0);
  cr_assert_eq(mt_csv_col(&c, "b"), 2);
  cr_assert_eq(mt_csv_col(&c, "c"), -1);
  cr_assert_eq(mt_csv_col(&c, "nam"), -1); /* whole-name match only */
  cr_assert_eq(mt_csv_find(&c, 0, "y"), 1);
  cr_assert_eq(mt_csv_find(&c, 2, "6"), 2);
  cr_assert_eq(mt_csv_find(&c, 0, "w"), -1);
  /* The header is not a data row: searching for it finds nothing. */
  cr_assert_eq(mt_csv_find(&c, 0, "Name"), -1);
  mt_csv_clear(&c);
}

Test(csv, crlf_line_endings)
{
  /* CRLF rows parse like LF ones, and no '\r' is left in the last cell. */
  mt_csv c;
  cr_assert_eq(parse("Name,v\r\nx,1\r\ny,2\r\n", &c), 0);
  cr_assert_eq(c.n_row, 2);
  cr_assert_eq(c.n_col, 2);
  cr_assert_str_eq(mt_csv_get(&c, 1, 1), "2");
  cr_assert_eq(mt_csv_col(&c, "v"), 1);
  mt_csv_clear(&c);
}

Test(csv, blank_trailing_lines)
{
  mt_csv c;
  cr_assert_eq(parse("Name,v\nx,1\n\n\r\n\n", &c), 0);
  cr_assert_eq(c.n_row, 1);
  cr_assert_str_eq(mt_csv_get(&c, 0, 1), "1");
  mt_csv_clear(&c);
}

Test(csv, length_bounds_the_text)
{
  /* Only len bytes are read: the text need not be NUL-terminated there. */
  const char text[] = "Name,v\nx,1\ny,2\n";
  mt_csv c;
  cr_assert_eq(mt_csv_parse(text, 11, &c), 0); /* "Name,v\nx,1\n" */
  cr_assert_eq(c.n_row, 1);
  mt_csv_clear(&c);
}

Test(csv, ragged_rows_are_parse_errors)
{
  /* csv.h: MT_EPARSE for ragged rows, with the struct left empty. */
  const char *bad[] = {"a,b\n1,2,3\n", "a,b,c\n1,2\n", "a,b\n1,2\n3\n"};
  for (int i = 0; i < 3; i++) {
    mt_csv c;
    cr_assert_eq(parse(bad[i], &c), MT_EPARSE, "case %d", i);
    cr_assert_null(c.cell);
    cr_assert_null(c.buf);
  }
}

Test(csv, empty_text_is_parse_error)
{
  mt_csv c;
  cr_assert_eq(mt_csv_parse("", 0, &c), MT_EPARSE);
  cr_assert_null(c.cell);
  cr_assert_eq(parse("\n\r\n", &c), MT_EPARSE); /* only blank lines */
}

/* Parse an embedded file, checking its byte length against the source
** tree's copy (the embed must be the whole file). */
static void load_embedded(const char *name, mt_csv *c)
{
  size_t len = 0;
  const char *text = mt_data_file(name, &len);
  cr_assert_not_null(text, "%s not embedded", name);
  char path[512];
  snprintf(path, sizeof path, "%s/data/uva-padova/%s", MT_SOURCE_DIR, name);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  cr_assert_eq(fseek(f, 0, SEEK_END), 0);
  long size = ftell(f);
  fclose(f);
  cr_assert_eq((long)len, size, "%s: embedded %zu bytes, file %ld", name, len,
               size);
  cr_assert_eq(text[len], '\0'); /* embed.cmake appends a NUL */
  cr_assert_eq(mt_csv_parse(text, len, c), 0);
}

Test(csv, embedded_vpatient_params)
{
  /* 30 virtual subjects (10 adolescents, 10 adults, 10 children; data/
  ** uva-padova/README.md), a Name column, and a column for every parameter
  ** the UVA/Padova loader reads (uva_padova_patients.c looks each parameter
  ** name up in the header). */
  mt_csv c;
  load_embedded("vpatient_params.csv", &c);
  cr_assert_eq(c.n_row, 30);
  int k = mt_csv_col(&c, "Name");
  cr_assert_eq(k, 0);
  cr_assert_geq(mt_csv_find(&c, k, "adolescent#001"), 0);
  cr_assert_geq(mt_csv_find(&c, k, "adult#001"), 0);
  cr_assert_geq(mt_csv_find(&c, k, "child#010"), 0);
  const mt_model *m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(m);
  for (int j = 0; j < m->n_param; j++)
    cr_assert_geq(mt_csv_col(&c, m->param[j].name), 0, "no column %s",
                  m->param[j].name);
  /* adult#001's BW cell, as it appears on line 12 of the file. */
  int r = mt_csv_find(&c, k, "adult#001");
  cr_assert_str_eq(mt_csv_get(&c, r, mt_csv_col(&c, "BW")), "102.32");
  mt_csv_clear(&c);
}

Test(csv, embedded_quest)
{
  /* Quest.csv: Name, CR, CF, Age, TDI for the same 30 subjects (the
  ** columns load_therapy() in uva_padova_patients.c reads). */
  mt_csv c;
  load_embedded("Quest.csv", &c);
  cr_assert_eq(c.n_row, 30);
  const char *need[] = {"Name", "CR", "CF", "Age", "TDI"};
  for (int j = 0; j < 5; j++)
    cr_assert_geq(mt_csv_col(&c, need[j]), 0, "no column %s", need[j]);
  int k = mt_csv_col(&c, "Name");
  cr_assert_geq(mt_csv_find(&c, k, "adult#001"), 0);
  cr_assert_geq(mt_csv_find(&c, k, "child#010"), 0);
  mt_csv_clear(&c);
}

Test(csv, unknown_data_file)
{
  size_t len = 12345;
  cr_assert_null(mt_data_file("no-such.csv", &len));
  cr_assert_null(mt_data_file("pump_params.csv", &len)); /* not embedded */
  cr_assert_null(mt_data_file("", NULL));
}
