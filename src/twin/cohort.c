/*
** Virtual-trial cohorts (include/medtwin/cohort.h): patient k of a protocol's
** cohort from the model's named virtual patients or from the population
** prior of an age group (include/medtwin/prior.h, a shrunk multivariate
** log-normal of the estimable parameters), with synthetic sex and subgroup
** labels, hypothetical subgroup shifts, and plausibility checks on the
** steady state of the UVA/Padova model (Dalla Man et al., IEEE TBME 54:1740,
** 2007). Choices and sources: docs/cohort.md.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/cohort.h"
#include "medtwin/error.h"
#include "medtwin/prior.h"
#include "medtwin/rng.h"

/* One age group of a population cohort. */
typedef struct cohort_group {
  mt_prior *prior;          /* NULL where the group's proportion is 0 */
  int n_donor;
  int *donor;               /* the members' indices in the patient set */
  double age_min_y, age_max_y; /* range of the members' ages */
  double tdi_per_basal;     /* median of TDI / (basal rate x 24 h) */
  double cr_k, cf_k;        /* medians of CR x TDI (g) and CF x TDI (mg/dL) */
} cohort_group;

struct mt_cohort_prior {
  const mt_model *m;
  int n_pt;
  mt_patient **pt;          /* the model's shipped patients, by set index */
  int i_bw;                 /* index of the parameter "BW", or -1 */
  cohort_group g[MT_N_AGE];
};

static const char *const reject_names[MT_COHORT_N_REJECT] = {
  "ok", "bounds", "derive", "steady_state", "glucose", "insulin"};

const char *mt_cohort_reject_name(int reason)
{
  return reason >= 0 && reason < MT_COHORT_N_REJECT ? reject_names[reason]
                                                     : "?";
}

/* Write one line into err (may be NULL) and return rc. */
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* ---- plausibility ---- */

static int params_in_bounds(const mt_model *m, const double *p)
{
  for (int i = 0; i < m->n_param; i++)
    if (!isfinite(p[i]) || p[i] < m->param[i].lo || p[i] > m->param[i].hi)
      return 0;
  return 1;
}

static int all_finite(const double *v, int n)
{
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return 0;
  return 1;
}

/* Steady state of p into s (x, mem, u_basal, y laid end to end); returns
** MT_COHORT_OK or MT_COHORT_REJECT_STEADY. */
static int steady_state(const mt_model *m, const double *p, double *s)
{
  double *x = s, *mem = x + m->n_state, *u = mem + m->n_mem,
         *y = u + m->n_input;
  if (m->init(p, x, mem, u) != 0)
    return MT_COHORT_REJECT_STEADY;
  m->observe(0.0, x, p, mem, y);
  return all_finite(s, m->n_state + m->n_mem + m->n_input + m->n_obs)
             ? MT_COHORT_OK
             : MT_COHORT_REJECT_STEADY;
}

int mt_cohort_check(const mt_model *m, const double *p, double bw_kg,
                    double *gb_mgdl, double *basal_u_per_h)
{
  double gb = NAN, basal = NAN;
  int i_bg = m ? mt_var_index(m->obs, m->n_obs, "BG") : -1;
  int i_ins = m ? mt_var_index(m->input, m->n_input, "insulin") : -1;
  int rc = MT_COHORT_OK;
  if (!p || i_bg < 0 || i_ins < 0 || !m->init)
    rc = MT_EINVAL;
  else if (!params_in_bounds(m, p) || !(bw_kg > 0) || !isfinite(bw_kg))
    rc = MT_COHORT_REJECT_BOUNDS;
  else {
    size_t n = (size_t)(m->n_state + m->n_mem + m->n_input + m->n_obs);
    double *s = malloc(n * sizeof *s);
    if (!s)
      return MT_ENOMEM;
    rc = steady_state(m, p, s);
    if (rc == MT_COHORT_OK) {
      const double *u = s + m->n_state + m->n_mem, *y = u + m->n_input;
      gb = y[i_bg];
      basal = u[i_ins] * 60.0; /* U/min -> U/h */
      double per_kg_day = u[i_ins] * 1440.0 / bw_kg;
      if (!(gb >= MT_COHORT_GB_MIN_MGDL && gb <= MT_COHORT_GB_MAX_MGDL))
        rc = MT_COHORT_REJECT_GLUCOSE;
      else if (!(per_kg_day >= MT_COHORT_BASAL_MIN_UKGD &&
                 per_kg_day <= MT_COHORT_BASAL_MAX_UKGD))
        rc = MT_COHORT_REJECT_INSULIN;
    }
    free(s);
  }
  if (gb_mgdl)
    *gb_mgdl = gb;
  if (basal_u_per_h)
    *basal_u_per_h = basal;
  return rc;
}

/* ---- prepare ---- */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of v[0..n-1] (n >= 1; v is sorted in place). */
static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Age range and the therapy relations of a group's members (docs/cohort.md,
** "Therapy settings"): medians of TDI / basal daily dose, CR x TDI, CF x TDI.
*/
static int group_relations(mt_cohort_prior *cp, cohort_group *g,
                           const char *name, char *err, size_t errlen)
{
  double *v = malloc(3 * (size_t)g->n_donor * sizeof *v);
  if (!v)
    return fail(err, errlen, MT_ENOMEM, "out of memory");
  double *r = v, *cr = v + g->n_donor, *cf = cr + g->n_donor;
  g->age_min_y = INFINITY;
  g->age_max_y = -INFINITY;
  for (int j = 0; j < g->n_donor; j++) {
    const mt_patient *pt = cp->pt[g->donor[j]];
    double basal;
    int rc = mt_cohort_check(cp->m, pt->param, pt->weight_kg, NULL, &basal);
    double tdi = pt->tdi_u_per_day;
    if (rc < 0 || !(basal > 0) || !(tdi > 0) || !(pt->cr_g_per_u > 0) ||
        !(pt->cf_mgdl_per_u > 0) || !isfinite(pt->age_y)) {
      free(v);
      return fail(err, errlen, rc < 0 ? rc : MT_ERANGE,
                  "%s group: patient %s lacks a finite basal rate, TDI, CR, "
                  "CF or age", name, pt->id);
    }
    r[j] = tdi / (basal * 24.0);
    cr[j] = pt->cr_g_per_u * tdi;
    cf[j] = pt->cf_mgdl_per_u * tdi;
    g->age_min_y = fmin(g->age_min_y, pt->age_y);
    g->age_max_y = fmax(g->age_max_y, pt->age_y);
  }
  g->tdi_per_basal = median(r, g->n_donor);
  g->cr_k = median(cr, g->n_donor);
  g->cf_k = median(cf, g->n_donor);
  free(v);
  return 0;
}

/* The prior, donors, ages and therapy relations of age group a. */
static int prepare_group(mt_cohort_prior *cp, int a, char *err, size_t errlen)
{
  cohort_group *g = &cp->g[a];
  const char *name = mt_age_group_name((mt_age_group)a);
  g->donor = malloc((size_t)cp->n_pt * sizeof *g->donor);
  if (!g->donor)
    return fail(err, errlen, MT_ENOMEM, "out of memory");
  for (int i = 0; i < cp->n_pt; i++)
    if (strcmp(cp->pt[i]->group, name) == 0)
      g->donor[g->n_donor++] = i;
  if (g->n_donor == 0)
    return fail(err, errlen, MT_ENOTFOUND,
                "model %s ships no patient of age group %s", cp->m->name,
                name);
  int rc = mt_prior_fit(cp->m, name, NULL, &g->prior, err, errlen);
  return rc ? rc : group_relations(cp, g, name, err, errlen);
}

/* What the protocol asks of the model, checked before anything is loaded. */
static int check_protocol(const mt_protocol *p, const mt_model *m, char *err,
                          size_t errlen)
{
  if (!m->patients || m->patients->n < 1)
    return fail(err, errlen, MT_ENOTFOUND,
                "model %s ships no virtual patients", m->name);
  if (!m->init || mt_var_index(m->obs, m->n_obs, "BG") < 0 ||
      mt_var_index(m->input, m->n_input, "insulin") < 0)
    return fail(err, errlen, MT_EINVAL, "model %s has no steady state, "
                "\"BG\" observable or \"insulin\" input", m->name);
  if (p->source == MT_TRIAL_NAMED && (p->n_named < 1 || !p->named))
    return fail(err, errlen, MT_EINVAL, "named cohort without patients");
  for (int i = 0; p->source == MT_TRIAL_NAMED && i < p->n_named; i++)
    if (p->named[i] < 0 || p->named[i] >= m->patients->n)
      return fail(err, errlen, MT_EINVAL, "named[%d]: no patient %d in %s",
                  i, p->named[i], m->name);
  if (p->n_subgroup > 0 && !p->subgroup)
    return fail(err, errlen, MT_EINVAL, "subgroups missing");
  for (int s = 0; s < p->n_subgroup; s++)
    for (int j = 0; j < p->subgroup[s].n_shift; j++) {
      const mt_param_shift *sh = &p->subgroup[s].shift[j];
      if (sh->index < 0 || sh->index >= m->n_param ||
          (m->param[sh->index].flags & MT_VAR_DERIVED) ||
          !(sh->factor > 0) || !isfinite(sh->factor))
        return fail(err, errlen, MT_EINVAL,
                    "subgroup %d shift %d: not a primary parameter of %s "
                    "with a positive factor", s, j, m->name);
    }
  return 0;
}

int mt_cohort_prepare(const mt_protocol *p, mt_cohort_prior **out,
                      char *err, size_t errlen)
{
  if (out)
    *out = NULL;
  if (!p || !out)
    return fail(err, errlen, MT_EINVAL, "protocol or output missing");
  const mt_model *m = mt_model_find(p->model);
  if (!m)
    return fail(err, errlen, MT_ENOTFOUND, "unknown model '%s'", p->model);
  int rc = check_protocol(p, m, err, errlen);
  if (rc)
    return rc;
  mt_cohort_prior *cp = calloc(1, sizeof *cp);
  if (!cp || !(cp->pt = calloc((size_t)m->patients->n, sizeof *cp->pt))) {
    free(cp);
    return fail(err, errlen, MT_ENOMEM, "out of memory");
  }
  cp->m = m;
  cp->i_bw = mt_var_index(m->param, m->n_param, "BW");
  for (int i = 0; !rc && i < m->patients->n; i++) {
    rc = mt_patient_load(m, m->patients->name(i), &cp->pt[i], err, errlen);
    cp->n_pt += rc == 0;
  }
  for (int a = 0; !rc && p->source == MT_TRIAL_POPULATION && a < MT_N_AGE;
       a++)
    if (p->age[a] > 0)
      rc = prepare_group(cp, a, err, errlen);
  if (rc) {
    mt_cohort_free(cp);
    return rc;
  }
  *out = cp;
  return 0;
}

void mt_cohort_free(mt_cohort_prior *cp)
{
  if (!cp)
    return;
  for (int a = 0; a < MT_N_AGE; a++) {
    mt_prior_free(cp->g[a].prior);
    free(cp->g[a].donor);
  }
  for (int i = 0; i < cp->n_pt; i++)
    mt_patient_free(cp->pt[i]);
  free(cp->pt);
  free(cp);
}

/* ---- patient k ---- */

/* Index of the category u falls in, by cumulative proportions w[0..n-1];
** rounding past the last positive one selects that one. */
static int pick(const double *w, int n, double u)
{
  double cum = 0;
  int last = 0;
  for (int i = 0; i < n; i++) {
    if (!(w[i] > 0))
      continue;
    cum += w[i];
    last = i;
    if (u < cum)
      return i;
  }
  return last;
}

/* The covariate stream: age group (population), subgroup, sex; the
** uniform for the age is returned. */
static double draw_covariates(const mt_protocol *p, long k,
                              mt_cohort_info *in)
{
  mt_rng r;
  mt_rng_init(&r, p->seed, (uint64_t)k, MT_COHORT_RNG_COVARIATES, 0);
  double u_group = mt_rng_uniform(&r), u_sub = mt_rng_uniform(&r);
  double u_sex = mt_rng_uniform(&r), u_age = mt_rng_uniform(&r);
  if (p->source == MT_TRIAL_POPULATION)
    in->age_group = (mt_age_group)pick(p->age, MT_N_AGE, u_group);
  double w[MT_PROTOCOL_MAX_SUBGROUPS];
  int n = p->n_subgroup < MT_PROTOCOL_MAX_SUBGROUPS
              ? p->n_subgroup : MT_PROTOCOL_MAX_SUBGROUPS;
  for (int s = 0; s < n; s++)
    w[s] = p->subgroup[s].proportion;
  in->subgroup = n > 0 ? pick(w, n, u_sub) : -1;
  in->hypothetical = n > 0;
  double female = n > 0 ? p->subgroup[in->subgroup].female : 0.5;
  in->sex = u_sex < female ? 1 : 2;
  return u_age;
}

/* Multiply the subgroup's parameters by its factors, then derive. */
static int apply_shifts(const mt_model *m, const mt_protocol *p,
                        mt_cohort_info *in, double *param, int always_derive)
{
  int n = in->subgroup >= 0 ? p->subgroup[in->subgroup].n_shift : 0;
  for (int j = 0; j < n; j++) {
    const mt_param_shift *sh = &p->subgroup[in->subgroup].shift[j];
    param[sh->index] *= sh->factor;
  }
  in->n_shifted = n;
  if ((n > 0 || always_derive) && m->derive && m->derive(param) != 0)
    return MT_COHORT_REJECT_DERIVE;
  return MT_COHORT_OK;
}

static double weight_of(const mt_cohort_prior *cp, const double *param,
                        const mt_patient *src)
{
  return cp->i_bw >= 0 ? param[cp->i_bw] : src->weight_kg;
}

/* Named: the shipped patient with synthetic labels and its shifts. */
static int named_patient(const mt_protocol *p, const mt_cohort_prior *cp,
                         long k, mt_patient *pt, mt_cohort_info *in,
                         char *err, size_t errlen)
{
  int i = p->named[k % p->n_named];
  const mt_patient *src = cp->pt[i];
  memcpy(pt->param, src->param, (size_t)cp->m->n_param * sizeof *pt->param);
  snprintf(pt->id, sizeof pt->id, "%s", src->id);
  snprintf(pt->group, sizeof pt->group, "%s", src->group);
  pt->age_y = src->age_y;
  pt->cr_g_per_u = src->cr_g_per_u;
  pt->cf_mgdl_per_u = src->cf_mgdl_per_u;
  pt->tdi_u_per_day = src->tdi_u_per_day;
  in->source_patient = i;
  in->age_group = MT_N_AGE;
  for (int a = 0; a < MT_N_AGE; a++)
    if (strcmp(src->group, mt_age_group_name((mt_age_group)a)) == 0)
      in->age_group = (mt_age_group)a;
  in->attempts = 1;
  int why = apply_shifts(cp->m, p, in, pt->param, 0);
  pt->weight_kg = weight_of(cp, pt->param, src);
  if (!why)
    why = mt_cohort_check(cp->m, pt->param, pt->weight_kg,
                          &in->basal_glucose_mgdl, &in->basal_u_per_h);
  if (why < 0)
    return fail(err, errlen, why, "patient %ld: %s", k, mt_strerror(why));
  if (why > 0) {
    in->rejected[why]++;
    return fail(err, errlen, MT_ERANGE, "patient %ld (%s, subgroup %d): "
                "fails the plausibility check '%s' after its shifts", k,
                src->id, in->subgroup, mt_cohort_reject_name(why));
  }
  return 0;
}

/* One population draw: donor, prior, shifts, derive, checks. Returns the
** reject reason, or a negative error. */
static int draw_params(const mt_protocol *p, const mt_cohort_prior *cp,
                       const cohort_group *g, long k, int attempt,
                       double *z, mt_patient *pt, mt_cohort_info *in)
{
  mt_rng r;
  mt_rng_init(&r, p->seed, (uint64_t)k, MT_COHORT_RNG_PARAMS,
              (uint64_t)attempt);
  int j = (int)(mt_rng_uniform(&r) * g->n_donor);
  j = j < g->n_donor ? j : g->n_donor - 1;
  const mt_patient *donor = cp->pt[g->donor[j]];
  int n = mt_prior_n(g->prior);
  for (int i = 0; i < n; i++)
    z[i] = mt_rng_normal(&r);
  in->source_patient = g->donor[j];
  /* MT_ERANGE (the unshifted draw out of bounds) is judged below, on the
  ** patient after its shifts */
  int rc = mt_prior_sample(g->prior, z, donor->param, pt->param);
  if (rc && rc != MT_ERANGE)
    return rc;
  int why = apply_shifts(cp->m, p, in, pt->param, 1);
  pt->weight_kg = weight_of(cp, pt->param, donor);
  return why ? why
             : mt_cohort_check(cp->m, pt->param, pt->weight_kg,
                               &in->basal_glucose_mgdl, &in->basal_u_per_h);
}

/* Most frequent rejection reason of in (for the error message). */
static int commonest(const mt_cohort_info *in)
{
  int best = 1;
  for (int i = 2; i < MT_COHORT_N_REJECT; i++)
    if (in->rejected[i] > in->rejected[best])
      best = i;
  return best;
}

/* Population: draws until one passes; covariates from the group's data. */
static int population_patient(const mt_protocol *p,
                              const mt_cohort_prior *cp, long k,
                              double u_age, mt_patient *pt,
                              mt_cohort_info *in, char *err, size_t errlen)
{
  const cohort_group *g = &cp->g[in->age_group];
  const char *name = mt_age_group_name(in->age_group);
  if (!g->prior)
    return fail(err, errlen, MT_EINVAL, "patient %ld: no prior prepared "
                "for age group %s", k, name);
  double *z = malloc((size_t)mt_prior_n(g->prior) * sizeof *z);
  if (!z)
    return fail(err, errlen, MT_ENOMEM, "out of memory");
  int why = -1;
  for (int a = 0; a < MT_COHORT_MAX_ATTEMPTS && why != 0; a++) {
    why = draw_params(p, cp, g, k, a, z, pt, in);
    in->attempts = a + 1;
    if (why < 0)
      break;
    in->rejected[why] += why > 0;
  }
  free(z);
  if (why < 0)
    return fail(err, errlen, why, "patient %ld: %s", k, mt_strerror(why));
  if (why > 0)
    return fail(err, errlen, MT_ERANGE, "patient %ld (%s): %d draws all "
                "failed the plausibility checks, most often '%s'", k, name,
                in->attempts, mt_cohort_reject_name(commonest(in)));
  snprintf(pt->id, sizeof pt->id, "%s/%ld", name, k);
  snprintf(pt->group, sizeof pt->group, "%s", name);
  pt->age_y = g->age_min_y + u_age * (g->age_max_y - g->age_min_y);
  pt->tdi_u_per_day = in->basal_u_per_h * 24.0 * g->tdi_per_basal;
  pt->cr_g_per_u = g->cr_k / pt->tdi_u_per_day;
  pt->cf_mgdl_per_u = g->cf_k / pt->tdi_u_per_day;
  return 0;
}

int mt_cohort_patient(const mt_protocol *p, const mt_cohort_prior *cp,
                      long k, mt_patient **out, mt_cohort_info *info,
                      char *err, size_t errlen)
{
  mt_cohort_info scratch;
  mt_cohort_info *in = info ? info : &scratch;
  memset(in, 0, sizeof *in);
  in->k = k;
  in->subgroup = in->source_patient = -1;
  in->basal_glucose_mgdl = in->basal_u_per_h = NAN;
  if (out)
    *out = NULL;
  if (!p || !cp || !out)
    return fail(err, errlen, MT_EINVAL, "protocol, cohort or output missing");
  if (k < 0 || k >= p->size)
    return fail(err, errlen, MT_EINVAL, "patient %ld: outside 0 .. %d", k,
                p->size - 1);
  if (mt_model_find(p->model) != cp->m)
    return fail(err, errlen, MT_EINVAL, "cohort prepared for model %s, "
                "protocol has %s", cp->m->name, p->model);
  int rc = check_protocol(p, cp->m, err, errlen);
  if (rc)
    return rc;
  double u_age = draw_covariates(p, k, in);
  mt_patient *pt;
  rc = mt_patient_create(cp->m, &pt);
  if (rc)
    return fail(err, errlen, rc, "out of memory");
  rc = p->source == MT_TRIAL_NAMED
           ? named_patient(p, cp, k, pt, in, err, errlen)
           : population_patient(p, cp, k, u_age, pt, in, err, errlen);
  if (rc) {
    mt_patient_free(pt);
    return rc;
  }
  pt->sex = in->sex;
  *out = pt;
  return 0;
}
