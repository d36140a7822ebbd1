/* Patients: covariates and a parameter vector for one model, loaded from the
** model's shipped population or built by the caller. */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"

int mt_patient_create(const mt_model *m, mt_patient **out)
{
  *out = NULL;
  if (!m)
    return MT_EINVAL;
  mt_patient *pt = calloc(1, sizeof *pt);
  if (!pt)
    return MT_ENOMEM;
  pt->param = calloc((size_t)(m->n_param ? m->n_param : 1), sizeof *pt->param);
  if (!pt->param) {
    free(pt);
    return MT_ENOMEM;
  }
  pt->model = m;
  pt->age_y = pt->weight_kg = NAN;
  pt->cr_g_per_u = pt->cf_mgdl_per_u = pt->tdi_u_per_day = NAN;
  *out = pt;
  return 0;
}

void mt_patient_free(mt_patient *pt)
{
  if (!pt)
    return;
  free(pt->param);
  free(pt);
}

int mt_patient_load(const mt_model *m, const char *name, mt_patient **out,
                    char *err, size_t errlen)
{
  *out = NULL;
  const mt_patient_set *ps = m ? m->patients : NULL;
  int i = -1;
  for (int k = 0; ps && name && k < ps->n; k++)
    if (strcmp(ps->name(k), name) == 0)
      i = k;
  if (i < 0) {
    if (!ps)
      snprintf(err, errlen, "model %s ships no virtual patients",
               m ? m->name : "?");
    else
      snprintf(err, errlen, "unknown patient '%s' for model %s: expected "
               "one of %s ... %s (see 'medtwin models show %s')",
               name ? name : "", m->name, ps->name(0), ps->name(ps->n - 1),
               m->name);
    return MT_ENOTFOUND;
  }
  mt_patient *pt;
  int rc = mt_patient_create(m, &pt);
  if (rc == 0 && (rc = ps->load(i, pt)) != 0) {
    snprintf(err, errlen, "cannot load patient '%s': %s", name,
             mt_strerror(rc));
    mt_patient_free(pt);
    return rc;
  }
  *out = pt;
  return rc;
}

int mt_patient_param_hash(const mt_patient *pt, char hex[33])
{
  unsigned char h[16];
  crypto_generichash_state st;
  const mt_model *m = pt->model;
  if (crypto_generichash_init(&st, NULL, 0, sizeof h) != 0)
    return MT_EINVAL;
  crypto_generichash_update(&st, (const unsigned char *)m->name,
                            strlen(m->name) + 1);
  for (int i = 0; i < m->n_param; i++) {
    unsigned char le[8];
    uint64_t bits;
    memcpy(&bits, &pt->param[i], 8);
    for (int b = 0; b < 8; b++)
      le[b] = (unsigned char)(bits >> (8 * b));
    crypto_generichash_update(&st, le, sizeof le);
  }
  crypto_generichash_final(&st, h, sizeof h);
  sodium_bin2hex(hex, 33, h, sizeof h);
  return 0;
}
