/*
** Conformance suite over every registered model (STYLE.md: "one conformance
** suite runs over every registered model"): metadata complete and unique,
** shipped patients with finite, in-bounds, steady initial states, a
** deterministic rhs, in-bounds observables and parameters, a lane-batched
** rhs bit-identical to the scalar one (model.h: "Must give, lane by lane,
** bit for bit what rhs gives"), and derive() reproducing shipped parameters.
** A new model in src/models/registry.c is covered without editing this file.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"

#define L MT_LANES

/* Models whose init() is not a steady state (a beating heart; a cardiac
** cell whose published initial state is not a fixed point). Every other
** model with init must have dx/dt ~ 0 there. */
static const char *const not_steady[] = {"circulation_smith2004",
                                         "tentusscher_panfilov_2006_epi",
                                         NULL};

static int is_steady(const mt_model *m)
{
  for (int i = 0; not_steady[i]; i++)
    if (!strcmp(not_steady[i], m->name))
      return 0;
  return 1;
}

/* Everything the suite needs of one shipped patient at its initial state. */
typedef struct inst {
  mt_patient *pt;
  double *x0, *mem0, *ub; /* n_state, n_mem, n_input */
} inst;

static double *vec(int n)
{
  double *v = calloc((size_t)(n > 0 ? n : 1), sizeof *v);
  cr_assert_not_null(v);
  return v;
}

static void inst_load(const mt_model *m, int i, inst *in)
{
  char err[MT_ERRMSG_MAX] = "";
  const char *name = m->patients->name(i);
  cr_assert_not_null(name);
  cr_assert_eq(mt_patient_load(m, name, &in->pt, err, sizeof err), 0,
               "%s %s: %s", m->name, name, err);
  in->x0 = vec(m->n_state);
  in->mem0 = vec(m->n_mem);
  in->ub = vec(m->n_input);
  if (m->init)
    cr_assert_eq(m->init(in->pt->param, in->x0, in->mem0, in->ub), 0,
                 "%s %s: init failed", m->name, name);
  else /* model.h: lower bounds clipped to zero, zero inputs */
    for (int k = 0; k < m->n_state; k++)
      in->x0[k] = fmax(m->state[k].lo, 0.0);
}

static void inst_free(inst *in)
{
  mt_patient_free(in->pt);
  free(in->x0);
  free(in->mem0);
  free(in->ub);
}

static void *ws_alloc(const mt_model *m)
{
  void *ws = calloc(1, m->ws_size ? m->ws_size : 1);
  cr_assert_not_null(ws);
  return ws;
}

/* --- metadata ----------------------------------------------------------- */

static void check_table(const mt_model *m, const char *kind, const mt_var *v,
                        int n)
{
  cr_assert(n == 0 || v, "%s: %s table missing", m->name, kind);
  for (int i = 0; i < n; i++) {
    cr_assert(v[i].name && *v[i].name, "%s: %s %d unnamed", m->name, kind, i);
    cr_assert(v[i].unit && *v[i].unit, "%s: %s %s has no unit", m->name, kind,
              v[i].name);
    cr_assert(v[i].doc && *v[i].doc, "%s: %s %s has no doc", m->name, kind,
              v[i].name);
    cr_assert(v[i].lo <= v[i].hi, "%s: %s %s bounds", m->name, kind,
              v[i].name);
    for (int j = 0; j < i; j++)
      cr_assert_str_neq(v[i].name, v[j].name, "%s: %s name %s repeated",
                        m->name, kind, v[i].name);
  }
}

Test(models, registry_is_consistent)
{
  /* At least the UVA/Padova model (README); every entry findable by name,
  ** names unique; out-of-range indices give NULL. */
  int n = mt_model_count();
  cr_assert_geq(n, 1);
  cr_assert_not_null(mt_model_find("uva_padova_t1d"));
  for (int i = 0; i < n; i++) {
    const mt_model *m = mt_model_at(i);
    cr_assert_not_null(m);
    cr_assert_eq(mt_model_find(m->name), m, "%s", m->name);
    for (int j = 0; j < i; j++)
      cr_assert_str_neq(m->name, mt_model_at(j)->name);
  }
  cr_assert_null(mt_model_at(-1));
  cr_assert_null(mt_model_at(n));
  cr_assert_null(mt_model_find("no_such_model"));
  cr_assert_null(mt_model_find(NULL));
}

Test(models, metadata)
{
  for (int mi = 0; mi < mt_model_count(); mi++) {
    const mt_model *m = mt_model_at(mi);
    char err[MT_ERRMSG_MAX] = "";
    cr_assert_eq(mt_model_check(m, err, sizeof err), 0, "%s", err);
    cr_assert_eq(m->version, MT_MODEL_VERSION, "%s", m->name);
    cr_assert(m->time_unit && *m->time_unit, "%s", m->name);
    cr_assert(m->reference && *m->reference, "%s: no reference", m->name);
    check_table(m, "state", m->state, m->n_state);
    check_table(m, "parameter", m->param, m->n_param);
    check_table(m, "input", m->input, m->n_input);
    check_table(m, "observable", m->obs, m->n_obs);
    for (int k = 0; m->mem_doc && k < m->n_mem; k++)
      cr_assert(m->mem_doc[k] && *m->mem_doc[k], "%s: mem %d", m->name, k);
    if (m->patients)
      cr_assert_gt(m->patients->n, 0, "%s", m->name);
  }
}

Test(models, check_rejects_broken_tables)
{
  /* mt_model_check must be able to fail: a copy of each model with a
  ** missing rhs, a unit removed, or a name duplicated. */
  for (int mi = 0; mi < mt_model_count(); mi++) {
    const mt_model *m = mt_model_at(mi);
    char err[MT_ERRMSG_MAX];
    mt_model c = *m;
    c.rhs = NULL;
    cr_assert_eq(mt_model_check(&c, err, sizeof err), MT_EINVAL);
    c = *m;
    c.version = MT_MODEL_VERSION + 1;
    cr_assert_eq(mt_model_check(&c, err, sizeof err), MT_EINVAL);
    if (m->n_state >= 2) {
      mt_var st[m->n_state];
      memcpy(st, m->state, sizeof st);
      st[1].name = st[0].name;
      c = *m;
      c.state = st;
      cr_assert_eq(mt_model_check(&c, err, sizeof err), MT_EINVAL);
      memcpy(st, m->state, sizeof st);
      st[0].unit = "";
      cr_assert_eq(mt_model_check(&c, err, sizeof err), MT_EINVAL);
    }
  }
}

/* --- shipped patients at their initial state ---------------------------- */

static void check_initial(const mt_model *m, const inst *in)
{
  const char *who = in->pt->id;
  int ns = m->n_state;
  for (int k = 0; k < ns; k++) {
    const mt_var *v = &m->state[k];
    cr_assert(isfinite(in->x0[k]), "%s %s: x0 %s", m->name, who, v->name);
    cr_assert(in->x0[k] >= v->lo && in->x0[k] <= v->hi,
              "%s %s: x0 %s = %g outside [%g, %g]", m->name, who, v->name,
              in->x0[k], v->lo, v->hi);
  }
  for (int k = 0; k < m->n_input; k++)
    cr_assert(isfinite(in->ub[k]), "%s %s: basal %s", m->name, who,
              m->input[k].name);
  for (int j = 0; j < m->n_param; j++) {
    const mt_var *v = &m->param[j];
    cr_assert(in->pt->param[j] >= v->lo && in->pt->param[j] <= v->hi,
              "%s %s: param %s = %g outside [%g, %g]", m->name, who, v->name,
              in->pt->param[j], v->lo, v->hi);
  }
}

static void check_rhs_at_init(const mt_model *m, const inst *in)
{
  const char *who = in->pt->id;
  int ns = m->n_state;
  double *dx = vec(ns), *dx2 = vec(ns);
  void *ws = ws_alloc(m);
  /* Prefilled with NaN, so a component the rhs forgets to write shows. */
  for (int k = 0; k < ns; k++)
    dx[k] = dx2[k] = NAN;
  cr_assert_eq(m->rhs(0, in->x0, in->pt->param, in->ub, in->mem0, ws, dx), 0,
               "%s %s", m->name, who);
  cr_assert_eq(m->rhs(0, in->x0, in->pt->param, in->ub, in->mem0, ws, dx2),
               0);
  for (int k = 0; k < ns; k++) {
    const char *s = m->state[k].name;
    cr_assert(isfinite(dx[k]), "%s %s: d%s/dt", m->name, who, s);
    /* Deterministic: bit-identical on a second call (same ws). */
    cr_assert_eq(memcmp(&dx[k], &dx2[k], sizeof dx[k]), 0,
                 "%s %s: d%s/dt differs between calls", m->name, who, s);
    /* Steady state: init() solves dx/dt = 0 (for UVA/Padova, Dalla Man
    ** 2007 eqs. 2, 4, 7, 12-14 at t = 0); allow rounding, 1e-9 relative to
    ** the state's magnitude (or absolute below 1). */
    if (m->init && is_steady(m))
      cr_assert_leq(fabs(dx[k]), 1e-9 * fmax(1.0, fabs(in->x0[k])),
                    "%s %s: d%s/dt = %g at the steady state", m->name, who,
                    s, dx[k]);
  }
  double *y = vec(m->n_obs);
  for (int k = 0; k < m->n_obs; k++)
    y[k] = NAN;
  m->observe(0, in->x0, in->pt->param, in->mem0, y);
  for (int k = 0; k < m->n_obs; k++) {
    const mt_var *v = &m->obs[k];
    cr_assert(isfinite(y[k]) && y[k] >= v->lo && y[k] <= v->hi,
              "%s %s: %s = %g outside [%g, %g]", m->name, who, v->name, y[k],
              v->lo, v->hi);
  }
  free(y);
  free(ws);
  free(dx);
  free(dx2);
}

Test(models, shipped_patients_initial_state)
{
  int checked = 0;
  for (int mi = 0; mi < mt_model_count(); mi++) {
    const mt_model *m = mt_model_at(mi);
    if (!m->patients)
      continue;
    for (int i = 0; i < m->patients->n; i++) {
      inst in;
      inst_load(m, i, &in);
      check_initial(m, &in);
      check_rhs_at_init(m, &in);
      inst_free(&in);
      checked++;
    }
  }
  /* UVA/Padova alone ships 30 subjects (data/uva-padova/README.md). */
  cr_assert_geq(checked, 30);
}

Test(models, derive_reproduces_shipped_parameters)
{
  /* derive() recomputes the derived parameters from the primary ones; on
  ** the shipped population it must agree with the file to 1e-9 relative
  ** (uva_padova.c: the identities "hold to 1e-11 in the shipped parameter
  ** file"), and it must leave non-derived parameters untouched. */
  int checked = 0;
  for (int mi = 0; mi < mt_model_count(); mi++) {
    const mt_model *m = mt_model_at(mi);
    if (!m->derive || !m->patients)
      continue;
    for (int i = 0; i < m->patients->n; i++) {
      inst in;
      inst_load(m, i, &in);
      double *p = vec(m->n_param);
      memcpy(p, in.pt->param, (size_t)m->n_param * sizeof *p);
      cr_assert_eq(m->derive(p), 0, "%s %s", m->name, in.pt->id);
      for (int j = 0; j < m->n_param; j++) {
        double a = in.pt->param[j], b = p[j];
        if (!(m->param[j].flags & MT_VAR_DERIVED))
          cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "%s %s: %s changed",
                       m->name, in.pt->id, m->param[j].name);
        cr_assert_leq(fabs(a - b), 1e-9 * fmax(fabs(a), fabs(b)),
                      "%s %s: %s shipped %.17g derived %.17g", m->name,
                      in.pt->id, m->param[j].name, a, b);
      }
      free(p);
      inst_free(&in);
      checked++;
    }
  }
  cr_assert_geq(checked, 30);
}

/* --- lane-batched rhs ---------------------------------------------------- */

/* Scalar inputs, state, memory and time of one lane. */
typedef struct lane {
  double t;
  const double *p;
  double *x, *u, *mem;
} lane;

/* Interleave the 4 lanes (model.h: element i of lane l at [i * L + l]),
** evaluate rhs_lanes, and compare each lane bit for bit with rhs. */
static void compare_lanes(const mt_model *m, const lane *ln, const char *what)
{
  int ns = m->n_state, np = m->n_param, ni = m->n_input, nm = m->n_mem;
  double t[L], *x = vec(ns * L), *p = vec(np * L), *u = vec(ni * L);
  double *mem = vec(nm * L), *dx = vec(ns * L), *dxs = vec(ns);
  int rc[L];
  void *ws = ws_alloc(m);
  for (int l = 0; l < L; l++) {
    t[l] = ln[l].t;
    rc[l] = -12345;
    for (int i = 0; i < ns; i++)
      x[i * L + l] = ln[l].x[i];
    for (int i = 0; i < np; i++)
      p[i * L + l] = ln[l].p[i];
    for (int i = 0; i < ni; i++)
      u[i * L + l] = ln[l].u[i];
    for (int i = 0; i < nm; i++)
      mem[i * L + l] = ln[l].mem[i];
  }
  for (int i = 0; i < ns * L; i++)
    dx[i] = NAN;
  m->rhs_lanes(t, x, p, u, mem, dx, rc);
  for (int l = 0; l < L; l++) {
    for (int i = 0; i < ns; i++)
      dxs[i] = NAN;
    int rcs = m->rhs(ln[l].t, ln[l].x, ln[l].p, ln[l].u, ln[l].mem, ws, dxs);
    cr_assert_eq(rc[l], rcs, "%s %s lane %d: rc %d, scalar %d", m->name,
                 what, l, rc[l], rcs);
    for (int i = 0; i < ns; i++)
      cr_assert_eq(memcmp(&dx[i * L + l], &dxs[i], sizeof dxs[i]), 0,
                   "%s %s lane %d: d%s/dt lanes %.17g scalar %.17g", m->name,
                   what, l, m->state[i].name, dx[i * L + l], dxs[i]);
  }
  free(x), free(p), free(u), free(mem), free(dx), free(dxs), free(ws);
}

/* A state away from the steady state: each component scaled by
** 1 + 0.1 sin(i + l); components that are 0 there (an empty stomach) get a
** positive value of half a percent of their range, so meal terms act. */
static void perturb(const mt_model *m, const double *x0, int l, double *x)
{
  for (int i = 0; i < m->n_state; i++) {
    const mt_var *v = &m->state[i];
    double s = sin((double)(i + l));
    x[i] = x0[i] != 0 ? x0[i] * (1.0 + 0.1 * s)
                      : 0.005 * (v->hi - fmax(v->lo, 0.0)) * (1.5 + s);
  }
}

/* Inputs during an intervention: twice basal where basal is positive (the
** insulin), else 1 unit per time unit capped at the upper bound (1 g/min of
** carbohydrate for UVA/Padova). */
static void excite(const mt_model *m, const double *ub, double *u)
{
  for (int k = 0; k < m->n_input; k++)
    u[k] = ub[k] > 0 ? 2.0 * ub[k] : fmin(1.0, m->input[k].hi);
}

Test(models, rhs_lanes_bit_identical)
{
#if defined(__x86_64__) || defined(__i386__)
  if (!__builtin_cpu_supports("avx2"))
    cr_skip_test("lane-batched models are built for AVX2");
#endif
  int checked = 0;
  for (int mi = 0; mi < mt_model_count(); mi++) {
    const mt_model *m = mt_model_at(mi);
    if (!m->rhs_lanes || !m->patients)
      continue;
    int ns = m->n_state, ni = m->n_input, nm = m->n_mem, npt = m->patients->n;
    inst in[L];
    lane ln[L];
    /* Four different patients, spread over the population (0, 7, 15, 22 of
    ** UVA/Padova's 30: an adolescent, two adults, a child). */
    for (int l = 0; l < L; l++) {
      inst_load(m, l * npt / L, &in[l]);
      ln[l] = (lane){.t = 10.0 * l + 0.5, .p = in[l].pt->param,
                     .x = vec(ns), .u = vec(ni), .mem = vec(nm)};
    }
    /* 1. Each patient's initial state, basal inputs, initial memory. */
    for (int l = 0; l < L; l++) {
      memcpy(ln[l].x, in[l].x0, (size_t)ns * sizeof(double));
      memcpy(ln[l].u, in[l].ub, (size_t)ni * sizeof(double));
      memcpy(ln[l].mem, in[l].mem0, (size_t)nm * sizeof(double));
    }
    compare_lanes(m, ln, "initial state");
    /* 2. Perturbed state, a meal starting (the memory as on_input sets it
    ** for a one-unit bite), insulin at twice basal. */
    for (int l = 0; l < L; l++) {
      perturb(m, in[l].x0, l, ln[l].x);
      excite(m, in[l].ub, ln[l].u);
      if (m->on_input)
        m->on_input(ln[l].t, ln[l].t + 1, ln[l].p, in[l].ub, ln[l].u,
                    ln[l].x, ln[l].mem);
    }
    compare_lanes(m, ln, "perturbed, meal starting");
    /* 3. Memory differing per lane, as the model's own on_input leaves it:
    ** lane 0 has had no meal (init's memory); lane l > 0 started a meal on
    ** an empty stomach (the initial state) at 1 unit/min for 50 l minutes,
    ** so for UVA/Padova the memory holds {stomach at meal start 0, 50 l g
    ** eaten} and the meal size derived from them. Some lanes eating while
    ** another has not also exercises any "no lane has eaten" shortcut. */
    for (int l = 0; l < L; l++) {
      memcpy(ln[l].mem, in[l].mem0, (size_t)nm * sizeof(double));
      if (m->on_input && l > 0)
        m->on_input(ln[l].t, ln[l].t + 50.0 * l, ln[l].p, in[l].ub, ln[l].u,
                    in[l].x0, ln[l].mem);
    }
    compare_lanes(m, ln, "perturbed, meal in memory");
    /* 4. As 3, with some non-negative states slightly negative (and one at
    ** -0.0), a different set per lane, to exercise the x >= 0 selects. */
    for (int l = 0; l < L; l++)
      for (int i = 0; i < ns; i++)
        if ((m->state[i].flags & MT_VAR_NONNEG) && (i + l) % 3 == 0)
          ln[l].x[i] = (i + l) % 2 ? -1e-9 : -0.0;
    compare_lanes(m, ln, "slightly negative states");
    /* 5. Every non-negative state negative in every lane. */
    for (int l = 0; l < L; l++)
      for (int i = 0; i < ns; i++)
        if (m->state[i].flags & MT_VAR_NONNEG)
          ln[l].x[i] = -1e-9 * (1 + i + l);
    compare_lanes(m, ln, "all non-negative states negative");
    for (int l = 0; l < L; l++) {
      free(ln[l].x), free(ln[l].u), free(ln[l].mem);
      inst_free(&in[l]);
    }
    checked++;
  }
  /* UVA/Padova has a lane-batched rhs (uva_padova_lanes.c). */
  cr_assert_geq(checked, 1);
}
