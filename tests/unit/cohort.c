/*
** Virtual-trial cohorts (src/twin/cohort.c): patient k is a pure function of
** (protocol, k) whatever the order or thread; age group, sex and subgroup
** proportions within a binomial 4-sigma band; every patient re-checked here
** for plausibility independently of the library; shifts exact; the named
** source cycles; the rejection rate per age group measured and printed;
** errors.
**
** Proportion band: the count c of a category of probability q among n
** independent patients is Binomial(n, q); the tests accept
** |c - n q| <= 4 sqrt(n q (1 - q)), which a correct sampler fails with
** probability about 6e-5 per comparison (normal approximation), and since
** the streams are fixed by the seed, a pass is reproducible.
*/
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/cohort.h"
#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "medtwin/trial.h"

static char err[MT_ERRMSG_MAX];

/* A valid protocol around a cohort object and a size. */
static mt_protocol *protocol(const char *cohort, int size, long seed)
{
  char text[4096];
  snprintf(text, sizeof text,
           "{\"name\": \"c\", \"seed\": %ld, \"days\": 1, \"size\": %d,"
           " \"cohort\": %s,"
           " \"scenario\": {\"meals\": [{\"time\": \"08:00\", \"grams\": 50}]},"
           " \"arms\": [{\"name\": \"a\", \"kind\": \"standard\"}],"
           " \"endpoints\": [\"tir\"], \"primary_endpoint\": \"tir\"}",
           seed, size, cohort);
  mt_protocol *p = NULL;
  int rc = mt_protocol_parse(text, strlen(text), "c.json", &p, err,
                             sizeof err);
  cr_assert_eq(rc, 0, "protocol: rc %d: %s", rc, err);
  return p;
}

static mt_cohort_prior *prepare(const mt_protocol *p)
{
  mt_cohort_prior *cp = NULL;
  int rc = mt_cohort_prepare(p, &cp, err, sizeof err);
  cr_assert_eq(rc, 0, "prepare: rc %d: %s", rc, err);
  cr_assert_not_null(cp);
  return cp;
}

static mt_patient *patient(const mt_protocol *p, const mt_cohort_prior *cp,
                           long k, mt_cohort_info *info)
{
  mt_patient *pt = NULL;
  int rc = mt_cohort_patient(p, cp, k, &pt, info, err, sizeof err);
  cr_assert_eq(rc, 0, "patient %ld: rc %d: %s", k, rc, err);
  cr_assert_not_null(pt);
  return pt;
}

static const mt_model *uva(void)
{
  const mt_model *m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(m);
  return m;
}

static int pidx(const char *name)
{
  int i = mt_var_index(uva()->param, uva()->n_param, name);
  cr_assert_geq(i, 0, "%s", name);
  return i;
}

#define MIXED                                                                \
  "{\"source\": \"population\","                                             \
  " \"age_groups\": {\"adult\": 0.5, \"adolescent\": 0.3, \"child\": 0.2},"  \
  " \"subgroups\": ["                                                        \
  "  {\"label\": \"ref\", \"proportion\": 0.7, \"sex\": {\"F\": 0.4,"        \
  "   \"M\": 0.6}, \"hypothetical\": true},"                                 \
  "  {\"label\": \"low_si\", \"proportion\": 0.3, \"sex\": {\"F\": 0.8,"     \
  "   \"M\": 0.2}, \"shifts\": {\"Vmx\": 0.7, \"kp3\": 0.8},"                \
  "   \"hypothetical\": true}]}"

static void assert_within_4sigma(const char *what, long c, long n, double q)
{
  double sd = sqrt(n * q * (1 - q)), d = fabs(c - n * q);
  cr_assert_leq(d, 4 * sd, "%s: %ld of %ld, expected %g +- 4 x %g", what, c,
                n, n * q, sd);
}

static int same_patient(const mt_patient *a, const mt_patient *b)
{
  int n = a->model->n_param;
  return memcmp(a->param, b->param, (size_t)n * sizeof *a->param) == 0 &&
         strcmp(a->id, b->id) == 0 && a->sex == b->sex &&
         memcmp(&a->age_y, &b->age_y, sizeof a->age_y) == 0 &&
         memcmp(&a->cr_g_per_u, &b->cr_g_per_u, sizeof(double)) == 0 &&
         memcmp(&a->cf_mgdl_per_u, &b->cf_mgdl_per_u, sizeof(double)) == 0;
}

/* ---- reproducibility ---- */

#define NREP 240

typedef struct job {
  const mt_protocol *p;
  const mt_cohort_prior *cp;
  mt_patient **out;
  int start, step;
} job;

static void *run_job(void *arg)
{
  job *j = arg;
  char e[MT_ERRMSG_MAX];
  for (int k = j->start; k >= 0 && k < NREP; k += j->step)
    if (mt_cohort_patient(j->p, j->cp, k, &j->out[k], NULL, e, sizeof e))
      j->out[k] = NULL;
  return NULL;
}

Test(cohort, same_k_same_patient_in_any_order_or_thread)
{
  mt_protocol *p = protocol(MIXED, NREP, 42);
  mt_cohort_prior *cp = prepare(p);
  static mt_patient *fwd[NREP], *rev[NREP], *thr[NREP];
  for (int k = 0; k < NREP; k++)
    fwd[k] = patient(p, cp, k, NULL);
  for (int k = NREP - 1; k >= 0; k--)
    rev[k] = patient(p, cp, k, NULL);
  /* three threads, interleaved and one backwards */
  job jobs[3] = {{p, cp, thr, 0, 3}, {p, cp, thr, 1, 3},
                 {p, cp, thr, NREP - 1 - (NREP - 1 - 2) % 3, -3}};
  pthread_t t[3];
  for (int i = 0; i < 3; i++)
    cr_assert_eq(pthread_create(&t[i], NULL, run_job, &jobs[i]), 0);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  for (int k = 0; k < NREP; k++) {
    cr_assert_not_null(thr[k], "patient %d not built by a thread", k);
    cr_assert(same_patient(fwd[k], rev[k]), "patient %d differs by order", k);
    cr_assert(same_patient(fwd[k], thr[k]), "patient %d differs by thread",
              k);
  }
  /* different k: different parameters */
  int n = uva()->n_param;
  for (int a = 0; a < NREP; a++)
    for (int b = a + 1; b < NREP; b++)
      cr_assert_neq(memcmp(fwd[a]->param, fwd[b]->param,
                           (size_t)n * sizeof(double)), 0,
                    "patients %d and %d are identical", a, b);
  /* another seed: another cohort */
  mt_protocol *q = protocol(MIXED, NREP, 43);
  mt_patient *other = patient(q, cp, 0, NULL);
  cr_assert_neq(memcmp(other->param, fwd[0]->param,
                       (size_t)n * sizeof(double)), 0);
  mt_patient_free(other);
  for (int k = 0; k < NREP; k++) {
    mt_patient_free(fwd[k]);
    mt_patient_free(rev[k]);
    mt_patient_free(thr[k]);
  }
  mt_cohort_free(cp);
  mt_protocol_free(p);
  mt_protocol_free(q);
}

/* ---- plausibility, re-checked here ---- */

/* The test's own check: bounds, derived parameters as derive() gives them,
** the steady state's BG and basal insulin in the documented ranges. */
static void assert_plausible(const mt_patient *pt, long k)
{
  const mt_model *m = pt->model;
  double *q = malloc((size_t)m->n_param * sizeof *q);
  double x[64], mem[16], u[4], y[4];
  cr_assert(m->n_state <= 64 && m->n_mem <= 16 && m->n_input <= 4 &&
            m->n_obs <= 4);
  memcpy(q, pt->param, (size_t)m->n_param * sizeof *q);
  cr_assert_eq(m->derive(q), 0, "patient %ld: derive fails", k);
  for (int i = 0; i < m->n_param; i++) {
    cr_assert(isfinite(pt->param[i]) && pt->param[i] >= m->param[i].lo &&
              pt->param[i] <= m->param[i].hi, "patient %ld: %s = %g", k,
              m->param[i].name, pt->param[i]);
    cr_assert_float_eq(q[i], pt->param[i], 1e-9 * fabs(q[i]) + 1e-300,
                       "patient %ld: derived %s stale", k, m->param[i].name);
  }
  cr_assert_eq(m->init(pt->param, x, mem, u), 0, "patient %ld: init", k);
  m->observe(0, x, pt->param, mem, y);
  for (int i = 0; i < m->n_state; i++)
    cr_assert(isfinite(x[i]), "patient %ld: state %d", k, i);
  cr_assert(y[0] >= 70 && y[0] <= 200, "patient %ld: Gb %g", k, y[0]);
  double per_kg_day = u[1] * 1440 / pt->weight_kg;
  cr_assert(per_kg_day >= 0.1 && per_kg_day <= 1.0,
            "patient %ld: basal %g U/kg/day", k, per_kg_day);
  cr_assert(pt->cr_g_per_u > 0 && pt->cf_mgdl_per_u > 0 &&
            pt->tdi_u_per_day > 0 && isfinite(pt->tdi_u_per_day));
  cr_assert(pt->sex == 1 || pt->sex == 2);
  cr_assert_eq(pt->weight_kg, pt->param[pidx("BW")]);
  free(q);
}

#define NPROP 3000

Test(cohort, proportions_plausibility_and_rejection_rate)
{
  mt_protocol *p = protocol(MIXED, NPROP, 7);
  mt_cohort_prior *cp = prepare(p);
  long n_age[MT_N_AGE] = {0}, n_sub[2] = {0}, n_fem[2] = {0};
  long draws[MT_N_AGE] = {0}, rej[MT_N_AGE] = {0};
  double age_lo[MT_N_AGE] = {26, 14, 7}, age_hi[MT_N_AGE] = {68, 19, 12};
  for (long k = 0; k < NPROP; k++) {
    mt_cohort_info in;
    mt_patient *pt = patient(p, cp, k, &in);
    assert_plausible(pt, k);
    cr_assert(in.age_group >= 0 && in.age_group < MT_N_AGE);
    cr_assert(in.subgroup == 0 || in.subgroup == 1);
    cr_assert_eq(in.hypothetical, 1);
    cr_assert_eq(in.n_shifted, in.subgroup == 1 ? 2 : 0);
    cr_assert_eq(in.sex, pt->sex);
    cr_assert_str_eq(pt->group, mt_age_group_name(in.age_group));
    cr_assert(pt->age_y >= age_lo[in.age_group] &&
              pt->age_y <= age_hi[in.age_group], "age %g", pt->age_y);
    int sum = 0;
    for (int r = 1; r < MT_COHORT_N_REJECT; r++)
      sum += in.rejected[r];
    cr_assert_eq(sum, in.attempts - 1);
    n_age[in.age_group]++;
    n_sub[in.subgroup]++;
    n_fem[in.subgroup] += pt->sex == 1;
    draws[in.age_group] += in.attempts;
    rej[in.age_group] += in.attempts - 1;
    mt_patient_free(pt);
  }
  double q_age[MT_N_AGE] = {0.5, 0.3, 0.2};
  for (int a = 0; a < MT_N_AGE; a++)
    assert_within_4sigma(mt_age_group_name((mt_age_group)a), n_age[a], NPROP,
                         q_age[a]);
  assert_within_4sigma("subgroup low_si", n_sub[1], NPROP, 0.3);
  assert_within_4sigma("female in ref", n_fem[0], n_sub[0], 0.4);
  assert_within_4sigma("female in low_si", n_fem[1], n_sub[1], 0.8);
  for (int a = 0; a < MT_N_AGE; a++) {
    double rate = (double)rej[a] / (double)draws[a];
    fprintf(stderr, "cohort rejection rate %s: %ld of %ld draws (%.2f %%)\n",
            mt_age_group_name((mt_age_group)a), rej[a], draws[a],
            100 * rate);
    cr_assert_lt(rate, 0.5, "%s rejects %g of draws",
                 mt_age_group_name((mt_age_group)a), rate);
  }
  mt_cohort_free(cp);
  mt_protocol_free(p);
}

/* Each age group alone, without subgroups: the rejection rate by reason
** (printed), sex 1:1, and the therapy relations of docs/cohort.md: TDI =
** basal x 24 h x the group's median TDI / basal dose, CR = median(CR x TDI)
** / TDI and CF = median(CF x TDI) / TDI, medians of Quest.csv computed
** independently (Python) from data/uva-padova. */
Test(cohort, rejection_rate_and_therapy_per_age_group)
{
  const char *grp[MT_N_AGE] = {"adult", "adolescent", "child"};
  const double tdi_per_basal[MT_N_AGE] = {1.653582, 1.895909, 2.125030};
  const double cr_k[MT_N_AGE] = {506.016994, 424.431813, 377.993434};
  const double cf_k[MT_N_AGE] = {625.724728, 762.929089, 708.722940};
  for (int a = 0; a < MT_N_AGE; a++) {
    char cohort[256];
    snprintf(cohort, sizeof cohort, "{\"source\": \"population\","
             " \"age_groups\": {\"%s\": 1}}", grp[a]);
    mt_protocol *p = protocol(cohort, NPROP, 3);
    mt_cohort_prior *cp = prepare(p);
    long draws = 0, by[MT_COHORT_N_REJECT] = {0}, female = 0;
    for (long k = 0; k < NPROP; k++) {
      mt_cohort_info in;
      mt_patient *pt = patient(p, cp, k, &in);
      cr_assert_eq(in.age_group, (mt_age_group)a);
      cr_assert_eq(in.subgroup, -1);
      cr_assert_eq(in.hypothetical, 0);
      cr_assert_eq(in.n_shifted, 0);
      draws += in.attempts;
      for (int r = 1; r < MT_COHORT_N_REJECT; r++)
        by[r] += in.rejected[r];
      female += pt->sex == 1;
      double tdi = in.basal_u_per_h * 24 * tdi_per_basal[a];
      cr_assert_float_eq(pt->tdi_u_per_day, tdi, 1e-5 * tdi);
      cr_assert_float_eq(pt->cr_g_per_u * pt->tdi_u_per_day, cr_k[a],
                         1e-5 * cr_k[a]);
      cr_assert_float_eq(pt->cf_mgdl_per_u * pt->tdi_u_per_day, cf_k[a],
                         1e-5 * cf_k[a]);
      mt_patient_free(pt);
    }
    assert_within_4sigma("female", female, NPROP, 0.5);
    long rej = draws - NPROP;
    fprintf(stderr, "cohort rejection rate %s alone: %ld of %ld draws "
            "(%.2f %%): bounds %ld, derive %ld, steady_state %ld, "
            "glucose %ld, insulin %ld\n", grp[a], rej, draws,
            100.0 * (double)rej / (double)draws, by[1], by[2], by[3], by[4],
            by[5]);
    cr_assert_eq(by[1] + by[2] + by[3] + by[4] + by[5], rej);
    cr_assert_lt((double)rej / (double)draws, 0.5);
    mt_cohort_free(cp);
    mt_protocol_free(p);
  }
}

/* ---- shifts ---- */

Test(cohort, shifts_multiply_the_primary_parameter_before_derive)
{
  const char *shifted =
    "{\"source\": \"population\", \"age_groups\": {\"adult\": 1},"
    " \"subgroups\": [{\"label\": \"s\", \"proportion\": 1,"
    "  \"shifts\": {\"Vmx\": 0.7, \"Gb\": 1.1}, \"hypothetical\": true}]}";
  const char *plain =
    "{\"source\": \"population\", \"age_groups\": {\"adult\": 1},"
    " \"subgroups\": [{\"label\": \"s\", \"proportion\": 1,"
    "  \"hypothetical\": true}]}";
  mt_protocol *ps = protocol(shifted, 300, 11), *pp = protocol(plain, 300, 11);
  mt_cohort_prior *cs = prepare(ps), *cpp = prepare(pp);
  int vmx = pidx("Vmx"), gb = pidx("Gb"), gpb = pidx("Gpb"), vg = pidx("Vg");
  const mt_model *m = uva();
  int compared = 0;
  for (long k = 0; k < 300; k++) {
    mt_cohort_info is, ip;
    mt_patient *a = patient(ps, cs, k, &is), *b = patient(pp, cpp, k, &ip);
    cr_assert_eq(is.n_shifted, 2);
    cr_assert_eq(ip.n_shifted, 0);
    if (is.attempts == ip.attempts) { /* the same draw, shifted or not */
      compared++;
      cr_assert_eq(a->param[vmx], b->param[vmx] * 0.7, "patient %ld", k);
      cr_assert_eq(a->param[gb], b->param[gb] * 1.1, "patient %ld", k);
      cr_assert_eq(a->param[gpb], a->param[gb] * a->param[vg]);
      for (int i = 0; i < m->n_param; i++)
        if (i != vmx && i != gb && !(m->param[i].flags & MT_VAR_DERIVED))
          cr_assert_eq(a->param[i], b->param[i], "%s", m->param[i].name);
    }
    mt_patient_free(a);
    mt_patient_free(b);
  }
  cr_assert_geq(compared, 270, "only %d of 300 comparable", compared);
  mt_cohort_free(cs);
  mt_cohort_free(cpp);
  mt_protocol_free(ps);
  mt_protocol_free(pp);
}

/* ---- named source ---- */

Test(cohort, named_source_cycles_through_the_list)
{
  const char *named =
    "{\"source\": \"named\", \"patients\": [\"adult#003\", \"child#002\","
    " \"adolescent#010\"], \"subgroups\": ["
    "  {\"label\": \"a\", \"proportion\": 0.5, \"hypothetical\": true},"
    "  {\"label\": \"b\", \"proportion\": 0.5, \"shifts\": {\"kp3\": 0.5},"
    "   \"hypothetical\": true}]}";
  const char *ids[3] = {"adult#003", "child#002", "adolescent#010"};
  mt_age_group grp[3] = {MT_AGE_ADULT, MT_AGE_CHILD, MT_AGE_ADOLESCENT};
  mt_protocol *p = protocol(named, 30, 5);
  mt_cohort_prior *cp = prepare(p);
  int kp3 = pidx("kp3"), kp1 = pidx("kp1"), n = uva()->n_param;
  int seen[2] = {0};
  for (long k = 0; k < 30; k++) {
    mt_cohort_info in;
    mt_patient *pt = patient(p, cp, k, &in), *ref = NULL;
    cr_assert_eq(mt_patient_load(uva(), ids[k % 3], &ref, err, sizeof err),
                 0);
    cr_assert_str_eq(pt->id, ids[k % 3]);
    cr_assert_eq(in.age_group, grp[k % 3]);
    cr_assert_eq(in.attempts, 1);
    cr_assert_eq(pt->age_y, ref->age_y);
    cr_assert_eq(pt->cr_g_per_u, ref->cr_g_per_u);
    cr_assert_eq(pt->cf_mgdl_per_u, ref->cf_mgdl_per_u);
    cr_assert_eq(pt->weight_kg, ref->weight_kg);
    seen[in.subgroup]++;
    if (in.subgroup == 0) { /* unshifted: the shipped vector, bit for bit */
      cr_assert_eq(memcmp(pt->param, ref->param, (size_t)n * sizeof(double)),
                   0, "patient %ld", k);
    } else {
      cr_assert_eq(pt->param[kp3], ref->param[kp3] * 0.5);
      cr_assert_neq(pt->param[kp1], ref->param[kp1], "kp1 not re-derived");
    }
    assert_plausible(pt, k);
    mt_patient_free(pt);
    mt_patient_free(ref);
  }
  cr_assert(seen[0] > 0 && seen[1] > 0, "subgroups %d %d", seen[0], seen[1]);
  mt_cohort_free(cp);
  mt_protocol_free(p);
}

/* ---- errors ---- */

Test(cohort, errors)
{
  mt_protocol *p = protocol(MIXED, 10, 1);
  mt_cohort_prior *cp = prepare(p), *bad = (mt_cohort_prior *)&err;
  mt_patient *pt = (mt_patient *)&err;
  mt_cohort_info in;

  cr_assert_eq(mt_cohort_patient(p, cp, 10, &pt, &in, err, sizeof err),
               MT_EINVAL);
  cr_assert_null(pt);
  cr_assert(strstr(err, "patient 10"), "%s", err);
  cr_assert_eq(mt_cohort_patient(p, cp, -1, &pt, NULL, err, sizeof err),
               MT_EINVAL);
  cr_assert_eq(mt_cohort_patient(NULL, cp, 0, &pt, NULL, NULL, 0),
               MT_EINVAL);
  cr_assert_eq(mt_cohort_prepare(NULL, &bad, err, sizeof err), MT_EINVAL);
  cr_assert_null(bad);

  /* unknown model */
  mt_protocol *u = protocol(MIXED, 10, 1);
  snprintf(u->model, sizeof u->model, "no_such_model");
  bad = (mt_cohort_prior *)&err;
  cr_assert_eq(mt_cohort_prepare(u, &bad, err, sizeof err), MT_ENOTFOUND);
  cr_assert_null(bad);
  cr_assert(strstr(err, "unknown model 'no_such_model'"), "%s", err);
  cr_assert_eq(mt_cohort_patient(u, cp, 0, &pt, NULL, err, sizeof err),
               MT_EINVAL);

  /* a named index outside the model's set */
  mt_protocol *nm = protocol("{\"source\": \"named\", \"group\": \"adult\"}",
                             10, 1);
  nm->named[3] = 30;
  cr_assert_eq(mt_cohort_prepare(nm, &bad, err, sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "named[3]"), "%s", err);
  nm->named[3] = 13;

  /* a cohort prepared without the age group's prior */
  mt_cohort_prior *cn = prepare(nm);
  cr_assert_eq(mt_cohort_patient(p, cn, 0, &pt, NULL, err, sizeof err),
               MT_EINVAL);
  cr_assert(strstr(err, "no prior"), "%s", err);

  /* shifted out of plausibility: named fails at once, population after
  ** every attempt, both naming the reason */
  mt_protocol *hi = protocol(
    "{\"source\": \"named\", \"group\": \"adult\", \"subgroups\": [{"
    "\"label\": \"x\", \"proportion\": 1, \"shifts\": {\"Gb\": 2},"
    "\"hypothetical\": true}]}", 10, 1);
  mt_cohort_prior *ch = prepare(hi);
  cr_assert_eq(mt_cohort_patient(hi, ch, 4, &pt, &in, err, sizeof err),
               MT_ERANGE);
  cr_assert_null(pt);
  cr_assert(strstr(err, "adult#005") && strstr(err, "glucose"), "%s", err);
  cr_assert_eq(in.rejected[MT_COHORT_REJECT_GLUCOSE], 1);
  mt_protocol *hp = protocol(
    "{\"source\": \"population\", \"subgroups\": [{"
    "\"label\": \"x\", \"proportion\": 1, \"shifts\": {\"Gb\": 2},"
    "\"hypothetical\": true}]}", 10, 1);
  mt_cohort_prior *chp = prepare(hp);
  cr_assert_eq(mt_cohort_patient(hp, chp, 0, &pt, &in, err, sizeof err),
               MT_ERANGE);
  cr_assert_eq(in.attempts, MT_COHORT_MAX_ATTEMPTS);
  cr_assert(strstr(err, "glucose"), "%s", err);

  /* the check itself */
  mt_patient *ref = NULL;
  cr_assert_eq(mt_patient_load(uva(), "adult#001", &ref, err, sizeof err), 0);
  double gbv, basal;
  cr_assert_eq(mt_cohort_check(uva(), ref->param, ref->weight_kg, &gbv,
                               &basal), MT_COHORT_OK);
  cr_assert_float_eq(gbv, ref->param[pidx("Gb")], 1e-9);
  cr_assert(basal > 0.5 && basal < 2, "basal %g U/h", basal);
  ref->param[pidx("Vmx")] = NAN;
  cr_assert_eq(mt_cohort_check(uva(), ref->param, ref->weight_kg, &gbv,
                               &basal), MT_COHORT_REJECT_BOUNDS);
  cr_assert(isnan(gbv));
  cr_assert_eq(mt_cohort_check(NULL, ref->param, 1, NULL, NULL), MT_EINVAL);
  cr_assert_str_eq(mt_cohort_reject_name(MT_COHORT_REJECT_INSULIN),
                   "insulin");

  mt_patient_free(ref);
  mt_cohort_free(chp);
  mt_cohort_free(ch);
  mt_cohort_free(cn);
  mt_cohort_free(cp);
  mt_protocol_free(hp);
  mt_protocol_free(hi);
  mt_protocol_free(nm);
  mt_protocol_free(u);
  mt_protocol_free(p);
}
