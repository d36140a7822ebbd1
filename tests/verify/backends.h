/* Shared by the verification suites that run every case on both ODE
** backends: the test generator and small helpers. */
#ifndef MT_TESTS_VERIFY_BACKENDS_H
#define MT_TESTS_VERIFY_BACKENDS_H

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/sim.h"

/* One test per backend, sharing a body that takes the solver. */
#define BOTH_BACKENDS(suite, name)                                           \
  static void name(mt_solver sv);                                           \
  Test(suite, name##_dopri5) { name(MT_SOLVER_DOPRI5); }                    \
  Test(suite, name##_cvode) { name(MT_SOLVER_CVODE); }                      \
  static void name(mt_solver sv)

static inline const char *solver_name(mt_solver sv)
{
  return sv == MT_SOLVER_CVODE ? "cvode" : "dopri5";
}

static inline void check_model(const mt_model *m)
{
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_model_check(m, err, sizeof err), 0, "%s", err);
}

/* A sim for m with the given backend and scalar tolerances. */
static inline mt_sim *new_sim_tol(const mt_model *m, mt_solver sv,
                                  double rtol, double atol)
{
  mt_sim_config cfg;
  mt_sim_config_init(&cfg);
  cfg.solver = sv;
  cfg.rtol = rtol;
  cfg.atol = atol;
  mt_sim *s = NULL;
  cr_assert_eq(mt_sim_create(m, &cfg, &s), 0, "mt_sim_create (%s)",
               solver_name(sv));
  return s;
}

#endif
