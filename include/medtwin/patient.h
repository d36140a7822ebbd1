/*
** Patients: identity, covariates and a parameter vector for one model. Models
** that ship a virtual population (UVA/Padova's 30 subjects) load by name.
*/
#ifndef MEDTWIN_PATIENT_H
#define MEDTWIN_PATIENT_H

#include <stddef.h>
#include "medtwin/model.h"

typedef struct mt_patient {
  const mt_model *model;
  char id[64];    /* "adult#001" */
  char group[32]; /* "adult" */
  double age_y, weight_kg;
  int sex;        /* 0 unknown, 1 female, 2 male */
  /* therapy settings; NAN where not known */
  double cr_g_per_u;     /* carbohydrate ratio */
  double cf_mgdl_per_u;  /* correction factor */
  double tdi_u_per_day;  /* total daily insulin */
  double *param;         /* model->n_param values, owned */
} mt_patient;

/* A patient with the model's parameters zeroed and covariates unknown. */
int mt_patient_create(const mt_model *m, mt_patient **out);
/* A patient of the model's shipped population, by name. MT_ENOTFOUND with a
** message in err if the model has no population or no such patient. */
int mt_patient_load(const mt_model *m, const char *name, mt_patient **out,
                    char *err, size_t errlen);
void mt_patient_free(mt_patient *pt);

/* BLAKE2b-128 of the model name and the parameter vector (little-endian
** IEEE doubles), as 32 hex digits + NUL: provenance of every output. */
int mt_patient_param_hash(const mt_patient *pt, char hex[33]);

#endif
