/*
** Patients (include/medtwin/patient.h) of the UVA/Padova T1D model: the 30
** shipped subjects, their covariates and parameters against the data files
** in data/uva-padova/, and the parameter hash used as provenance.
*/
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"

static const mt_model *uva(void)
{
  const mt_model *m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(m);
  return m;
}

static mt_patient *load(const char *name)
{
  char err[MT_ERRMSG_MAX] = "";
  mt_patient *pt = NULL;
  cr_assert_eq(mt_patient_load(uva(), name, &pt, err, sizeof err), 0,
               "%s: %s", name, err);
  cr_assert_not_null(pt);
  return pt;
}

static double param(const mt_patient *pt, const char *name)
{
  const mt_model *m = pt->model;
  int i = mt_var_index(m->param, m->n_param, name);
  cr_assert_geq(i, 0, "no parameter %s", name);
  return pt->param[i];
}

Test(patient, all_thirty_load)
{
  /* data/uva-padova/README.md: adolescent#001..010, adult#001..010,
  ** child#001..010. Group is the name up to '#'; weight is parameter BW. */
  const char *groups[3] = {"adolescent", "adult", "child"};
  int n = 0;
  for (int g = 0; g < 3; g++)
    for (int k = 1; k <= 10; k++) {
      char name[64];
      snprintf(name, sizeof name, "%s#%03d", groups[g], k);
      mt_patient *pt = load(name);
      cr_assert_eq(pt->model, uva());
      cr_assert_str_eq(pt->id, name);
      cr_assert_str_eq(pt->group, groups[g]);
      cr_assert_eq(pt->weight_kg, param(pt, "BW"), "%s", name);
      cr_assert(pt->weight_kg > 0, "%s", name);
      /* Quest.csv gives every subject CR, CF, age and TDI. */
      cr_assert(isfinite(pt->cr_g_per_u) && pt->cr_g_per_u > 0, "%s", name);
      cr_assert(isfinite(pt->cf_mgdl_per_u) && pt->cf_mgdl_per_u > 0);
      cr_assert(isfinite(pt->age_y) && pt->age_y > 0, "%s", name);
      cr_assert(isfinite(pt->tdi_u_per_day) && pt->tdi_u_per_day > 0);
      for (int j = 0; j < pt->model->n_param; j++)
        cr_assert(isfinite(pt->param[j]), "%s param %d", name, j);
      mt_patient_free(pt);
      n++;
    }
  cr_assert_eq(n, 30);
  cr_assert_eq(uva()->patients->n, 30);
}

Test(patient, adult001_values_from_the_data_files)
{
  mt_patient *pt = load("adult#001");
  /* data/uva-padova/vpatient_params.csv line 12 (row of adult#001):
  ** adult#001,1,0,0,0,265.370112,162.457097269,5.5043265,0,100.25,100.25,
  ** 3.20762505142,72.4341762342,141.153779328,265.370112,102.32,2.2758,
  ** 138.56,100.25,0.08906,... ,1.2386244136,72.4341762342,141.153779328,
  ** 4.73140582528,0
  ** i.e. BW 102.32, EGPb 2.2758, Gb 138.56, Ib 100.25, kabs 0.08906,
  ** Vg 1.9152, u2ss 1.2386244136, kp1 4.73140582528. The loader parses
  ** with strtod, as the compiler does these literals: exact equality. */
  cr_assert_eq(param(pt, "BW"), 102.32);
  cr_assert_eq(param(pt, "EGPb"), 2.2758);
  cr_assert_eq(param(pt, "Gb"), 138.56);
  cr_assert_eq(param(pt, "Ib"), 100.25);
  cr_assert_eq(param(pt, "kabs"), 0.08906);
  cr_assert_eq(param(pt, "Vg"), 1.9152);
  cr_assert_eq(param(pt, "u2ss"), 1.2386244136);
  cr_assert_eq(param(pt, "kp1"), 4.73140582528);
  cr_assert_eq(pt->weight_kg, 102.32);
  /* data/uva-padova/Quest.csv line 12:
  ** adult#001,10,8.77310657487,61,50.416652  (Name,CR,CF,Age,TDI) */
  cr_assert_eq(pt->cr_g_per_u, 10.0);
  cr_assert_eq(pt->cf_mgdl_per_u, 8.77310657487);
  cr_assert_eq(pt->age_y, 61.0);
  cr_assert_eq(pt->tdi_u_per_day, 50.416652);
  mt_patient_free(pt);
}

Test(patient, child003_weight)
{
  /* vpatient_params.csv, child#003 row: BW column 41.23304017. */
  mt_patient *pt = load("child#003");
  cr_assert_eq(pt->weight_kg, 41.23304017);
  cr_assert_str_eq(pt->group, "child");
  mt_patient_free(pt);
}

Test(patient, unknown_patient)
{
  /* patient.h: MT_ENOTFOUND with a message; patient.c's message names the
  ** patient asked for and the range of names (first ... last). */
  const char *bad[] = {"adult#011", "adult#000", "ADULT#001", "adult#1", ""};
  for (int i = 0; i < 5; i++) {
    char err[MT_ERRMSG_MAX] = "";
    mt_patient *pt = (mt_patient *)&pt; /* not NULL, to see it reset */
    cr_assert_eq(mt_patient_load(uva(), bad[i], &pt, err, sizeof err),
                 MT_ENOTFOUND, "%s", bad[i]);
    cr_assert_null(pt);
    cr_assert_not_null(strstr(err, "adolescent#001"), "%s", err);
    cr_assert_not_null(strstr(err, "child#010"), "%s", err);
    if (*bad[i])
      cr_assert_not_null(strstr(err, bad[i]), "%s", err);
  }
}

Test(patient, model_without_population)
{
  /* The same model with no shipped population: MT_ENOTFOUND. */
  mt_model m = *uva();
  m.patients = NULL;
  char err[MT_ERRMSG_MAX] = "";
  mt_patient *pt;
  cr_assert_eq(mt_patient_load(&m, "adult#001", &pt, err, sizeof err),
               MT_ENOTFOUND);
  cr_assert_null(pt);
  cr_assert_neq(err[0], '\0');
}

static void hash(const mt_patient *pt, char hex[33])
{
  memset(hex, 'x', 33);
  cr_assert_eq(mt_patient_param_hash(pt, hex), 0);
}

Test(patient, param_hash_format_and_stability)
{
  /* patient.h: BLAKE2b-128 as 32 hex digits + NUL; lowercase (sodium). */
  char a[33], b[33], c[33];
  mt_patient *p1 = load("adult#001"), *p2 = load("adult#001");
  mt_patient *p3 = load("adult#002");
  hash(p1, a);
  cr_assert_eq(strlen(a), 32);
  for (int i = 0; i < 32; i++)
    cr_assert(isxdigit((unsigned char)a[i]) && !isupper((unsigned char)a[i]),
              "digit %d of %s", i, a);
  hash(p2, b);
  cr_assert_str_eq(a, b); /* same patient loaded twice */
  hash(p3, c);
  cr_assert_str_neq(a, c); /* a different patient */
  /* Covariates are not hashed (model name and parameters only). */
  p1->age_y = 99;
  p1->cr_g_per_u = 1;
  hash(p1, b);
  cr_assert_str_eq(a, b);
  mt_patient_free(p1);
  mt_patient_free(p2);
  mt_patient_free(p3);
}

Test(patient, param_hash_sees_one_ulp)
{
  /* Changing any one parameter by one ulp changes the hash; restoring it
  ** restores the hash. */
  char a[33], b[33];
  mt_patient *pt = load("adult#001");
  hash(pt, a);
  for (int j = 0; j < pt->model->n_param; j++) {
    double v = pt->param[j];
    pt->param[j] = nextafter(v, INFINITY);
    cr_assert_neq(pt->param[j], v);
    hash(pt, b);
    cr_assert_str_neq(a, b, "parameter %d", j);
    pt->param[j] = v;
  }
  hash(pt, b);
  cr_assert_str_eq(a, b);
  mt_patient_free(pt);
}

Test(patient, create_is_blank)
{
  /* patient.h: "parameters zeroed and covariates unknown" (NAN). */
  mt_patient *pt = NULL;
  cr_assert_eq(mt_patient_create(uva(), &pt), 0);
  cr_assert_not_null(pt);
  cr_assert_eq(pt->model, uva());
  cr_assert(isnan(pt->age_y));
  cr_assert(isnan(pt->weight_kg));
  cr_assert(isnan(pt->cr_g_per_u));
  cr_assert(isnan(pt->cf_mgdl_per_u));
  cr_assert(isnan(pt->tdi_u_per_day));
  cr_assert_eq(pt->sex, 0);
  cr_assert_str_eq(pt->id, "");
  for (int j = 0; j < pt->model->n_param; j++)
    cr_assert_eq(pt->param[j], 0.0, "parameter %d", j);
  mt_patient_free(pt);
  mt_patient_free(NULL); /* NULL-safe */
  pt = (mt_patient *)&pt;
  cr_assert_eq(mt_patient_create(NULL, &pt), MT_EINVAL);
  cr_assert_null(pt);
}
