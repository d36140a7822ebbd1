/*
** The 30 UVA/Padova virtual subjects distributed with simglucose (MIT,
** data/uva-padova/LICENSE): parameters from vpatient_params.csv and therapy
** settings (CR, CF, age, TDI) from Quest.csv, both compiled into the library.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "models/uva_padova.h"

static const char *const names[30] = {
  "adolescent#001", "adolescent#002", "adolescent#003", "adolescent#004",
  "adolescent#005", "adolescent#006", "adolescent#007", "adolescent#008",
  "adolescent#009", "adolescent#010", "adult#001",      "adult#002",
  "adult#003",      "adult#004",      "adult#005",      "adult#006",
  "adult#007",      "adult#008",      "adult#009",      "adult#010",
  "child#001",      "child#002",      "child#003",      "child#004",
  "child#005",      "child#006",      "child#007",      "child#008",
  "child#009",      "child#010",
};

static const char *name_at(int i) { return names[i]; }

static int number(const char *s, double *v)
{
  char *end;
  *v = strtod(s, &end);
  return end != s && *end == '\0' && isfinite(*v) ? 0 : MT_EPARSE;
}

/* Open an embedded table and find the patient's row. */
static int open_row(const char *file, const char *name, mt_csv *c, int *row)
{
  size_t len;
  const char *text = mt_data_file(file, &len);
  if (!text)
    return MT_EIO;
  int rc = mt_csv_parse(text, len, c);
  if (rc)
    return rc;
  int k = mt_csv_col(c, "Name");
  *row = k < 0 ? -1 : mt_csv_find(c, k, name);
  if (*row < 0) {
    mt_csv_clear(c);
    return MT_ENOTFOUND;
  }
  return 0;
}

static int load_params(int i, mt_patient *pt)
{
  mt_csv c;
  int row, rc = open_row("vpatient_params.csv", names[i], &c, &row);
  if (rc)
    return rc;
  const mt_model *m = pt->model;
  for (int j = 0; !rc && j < m->n_param; j++) {
    int k = mt_csv_col(&c, m->param[j].name);
    rc = k < 0 ? MT_EPARSE : number(mt_csv_get(&c, row, k), &pt->param[j]);
  }
  mt_csv_clear(&c);
  return rc;
}

static int load_therapy(int i, mt_patient *pt)
{
  mt_csv c;
  int row, rc = open_row("Quest.csv", names[i], &c, &row);
  if (rc)
    return rc;
  const char *col[4] = {"CR", "CF", "Age", "TDI"};
  double *dst[4] = {&pt->cr_g_per_u, &pt->cf_mgdl_per_u, &pt->age_y,
                    &pt->tdi_u_per_day};
  for (int j = 0; !rc && j < 4; j++) {
    int k = mt_csv_col(&c, col[j]);
    rc = k < 0 ? MT_EPARSE : number(mt_csv_get(&c, row, k), dst[j]);
  }
  mt_csv_clear(&c);
  return rc;
}

static int load(int i, mt_patient *pt)
{
  if (i < 0 || i >= 30)
    return MT_ENOTFOUND;
  int rc = load_params(i, pt);
  if (!rc)
    rc = load_therapy(i, pt);
  if (rc)
    return rc;
  snprintf(pt->id, sizeof pt->id, "%s", names[i]);
  snprintf(pt->group, sizeof pt->group, "%.*s",
           (int)strcspn(names[i], "#"), names[i]);
  pt->weight_kg = pt->param[UVA_BW];
  return 0;
}

const mt_patient_set mt_uva_padova_patients = {30, name_at, load};
