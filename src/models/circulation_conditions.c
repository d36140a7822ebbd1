/*
** Conditions shipped with circulation_smith2004: the healthy adult of Smith
** et al. 2004 and five named changes of it, each a change of the parameters
** the condition acts on (rationale and sources in docs/models/
** circulation_smith2004.md, "Conditions").
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "models/circulation.h"

typedef struct condition {
  const char *name;
  int n;
  struct { int i; double factor; } change[2];
} condition;

static const condition conditions[] = {
  {"healthy", 0, {{0, 1}, {0, 1}}},
  /* Reduced LV free-wall contractility (systolic failure). */
  {"hfref", 1, {{CV_EES_LVF, 0.4}, {0, 1}}},
  /* Stiffer passive LV free wall (diastolic failure). */
  {"hfpef", 2, {{CV_P0_LVF, 2.0}, {CV_LAM_LVF, 1.35}}},
  /* Raised systemic vascular resistance. */
  {"hypertension", 1, {{CV_R_SYS, 1.5}, {0, 1}}},
  /* Stressed volume lowered by 500 mL (haemorrhage, dehydration). */
  {"hypovolaemia", 1, {{CV_V_TOT, 1000.0 / 1500.0}, {0, 1}}},
  /* Stressed volume raised by 500 mL (fluid retention). */
  {"overload", 1, {{CV_V_TOT, 2000.0 / 1500.0}, {0, 1}}},
};

#define N_COND ((int)(sizeof conditions / sizeof conditions[0]))

static const char *name_at(int i)
{
  return i >= 0 && i < N_COND ? conditions[i].name : NULL;
}

static int load(int i, mt_patient *pt)
{
  if (i < 0 || i >= N_COND || pt->model->n_param != CV_NP)
    return MT_ENOTFOUND;
  const condition *c = &conditions[i];
  memcpy(pt->param, mt_circ_healthy, sizeof mt_circ_healthy);
  for (int k = 0; k < c->n; k++)
    pt->param[c->change[k].i] *= c->change[k].factor;
  snprintf(pt->id, sizeof pt->id, "%s", c->name);
  snprintf(pt->group, sizeof pt->group, "%s",
           i == 0 ? "healthy" : "condition");
  return 0;
}

const mt_patient_set mt_circulation_conditions = {N_COND, name_at, load};
