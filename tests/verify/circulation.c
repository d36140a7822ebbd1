/*
** Verification of circulation_smith2004 (Smith et al., Med Eng Phys
** 26:131, 2004): the beat-level observables of the 30th beat of the healthy
** adult, from the model's initial state,
**   - by DOPRI5 against CVODE BDF (rtol = atol = 1e-8), within 1e-6
**     relative (observed: at most 6e-8, mPAP);
**   - by each backend against an independent implementation of the same
**     equations and parameters (smith2004_ref.h: its own septum solve and
**     valve logic, fixed-step RK4 with h = 1e-5 s), within 1e-5 relative,
**     a thousandth of the 1 % issue 10 asks for (observed: at most 3.4e-7,
**     DBP, where the reference's valve opens within a step of 1e-5 s).
** The model is sampled every 0.1 ms, so that extremes on the sample grid
** are within 1e-7 relative of the true ones.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "medtwin/beats.h"
#include "medtwin/patient.h"
#include "medtwin/sim.h"
#include "backends.h"
#include "smith2004_ref.h"

#define N_BEATS 30

/* The last of N_BEATS beats of the healthy adult by backend sv, sampled
** every 0.1 ms. */
static mt_beat model_beat(mt_solver sv)
{
  const mt_model *m = mt_model_find("circulation_smith2004");
  cr_assert_not_null(m);
  check_model(m);
  mt_patient *pt = NULL;
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_patient_load(m, "healthy", &pt, err, sizeof err), 0, "%s",
               err);
  double T = 0.75, t_end = N_BEATS * T, dt = 1e-4;
  int n = 7501; /* the last beat, [29 T, 30 T] */
  mt_series o;
  cr_assert_eq(mt_series_alloc(&o, m, n), 0);
  for (int i = 0; i < n; i++)
    o.t[i] = i < n - 1 ? (N_BEATS - 1) * T + i * dt : t_end;
  mt_sim *s = new_sim_tol(m, sv, 1e-8, 1e-8);
  cr_assert_eq(mt_sim_run(s, pt->param, NULL, NULL, NULL, 0, t_end, &o), 0,
               "%s: %s", solver_name(sv), mt_sim_errmsg(s));
  mt_beat_cols c;
  mt_beat b[1];
  int nb = 0;
  cr_assert_eq(mt_beat_cols_find(m, &c), 0);
  cr_assert_eq(mt_beats_compute(&o, &c, (N_BEATS - 1) * T, T, b, 1, &nb), 0);
  cr_assert_eq(nb, 1);
  mt_sim_free(s);
  mt_series_clear(&o);
  mt_patient_free(pt);
  return b[0];
}

static double tol; /* relative, set by each test */

static void expect_close(const char *what, const char *name, double a,
                         double b)
{
  double rel = fabs(a - b) / fmax(fabs(b), 1e-12);
  cr_log_info("%s %s: %.6g vs %.6g (%.2g relative)", what, name, a, b, rel);
  cr_expect_leq(rel, tol, "%s %s: %.6g vs %.6g (%.3g relative)", what, name,
                a, b, rel);
}

Test(circulation, dopri5_agrees_with_cvode)
{
  mt_beat a = model_beat(MT_SOLVER_DOPRI5), b = model_beat(MT_SOLVER_CVODE);
  tol = 1e-6;
  const char *w = "dopri5 vs cvode";
  expect_close(w, "SBP", a.sbp_mmhg, b.sbp_mmhg);
  expect_close(w, "DBP", a.dbp_mmhg, b.dbp_mmhg);
  expect_close(w, "MAP", a.map_mmhg, b.map_mmhg);
  expect_close(w, "SV", a.sv_ml, b.sv_ml);
  expect_close(w, "CO", a.co_lmin, b.co_lmin);
  expect_close(w, "EDV", a.edv_ml, b.edv_ml);
  expect_close(w, "ESV", a.esv_ml, b.esv_ml);
  expect_close(w, "EF", a.ef_pct, b.ef_pct);
  expect_close(w, "CVP", a.cvp_mmhg, b.cvp_mmhg);
  expect_close(w, "mPAP", a.mpap_mmhg, b.mpap_mmhg);
}

BOTH_BACKENDS(circulation, agrees_with_independent_rk4)
{
  ref_beat r = ref_run(N_BEATS, 1e-5);
  tol = 1e-5;
  mt_beat a = model_beat(sv);
  char w[32];
  snprintf(w, sizeof w, "%s vs RK4", solver_name(sv));
  expect_close(w, "SBP", a.sbp_mmhg, r.sbp);
  expect_close(w, "DBP", a.dbp_mmhg, r.dbp);
  expect_close(w, "MAP", a.map_mmhg, r.map);
  expect_close(w, "SV", a.sv_ml, r.sv);
  expect_close(w, "CO", a.co_lmin, r.co);
  expect_close(w, "EDV", a.edv_ml, r.edv);
  expect_close(w, "ESV", a.esv_ml, r.esv);
  expect_close(w, "EF", a.ef_pct, r.ef);
  expect_close(w, "CVP", a.cvp_mmhg, r.cvp);
  expect_close(w, "mPAP", a.mpap_mmhg, r.mpap);
}
