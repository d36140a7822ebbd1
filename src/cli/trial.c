/*
** medtwin trial run PROTOCOL.json --out DIR: a virtual clinical trial
** (docs/trial-protocol.md). Every patient of the protocol's cohort
** (include/medtwin/cohort.h) lives the same generated days in every arm
** (common random numbers, include/medtwin/trial_run.h); patients run in
** parallel with OpenMP, each a pure function of (protocol, patient index),
** and every statistic is computed afterwards in patient order, so results
** are bit for bit the same for any number of threads. Each arm is compared
** with the first (the reference) within patient: paired t intervals and
** percentile bootstrap intervals (include/medtwin/stats.h), then the
** primary endpoint by subgroup for every covariate, with interaction tests.
** Writes DIR/results.json (keys in docs/trial-protocol.md, "Results"). A
** patient that fails stops the run with its index and seed: no partial
** statistics.
*/
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef MT_HAVE_MPI
#include <mpi.h>
#endif

#include "cli.h"
#include "medtwin/cohort.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/stats.h"
#include "medtwin/trial.h"
#include "medtwin/trial_report.h"
#include "medtwin/trial_run.h"

/* OpenBLAS's own thread pool (the cohort's draws use LAPACK): one thread
** inside the trial's OpenMP region, so the cores run patients, not BLAS
** threads spinning beside them. Declared here: its header's location
** depends on the OpenBLAS variant installed; CMake links OpenBLAS itself. */
void openblas_set_num_threads(int num_threads);

#define PURPOSE_BOOT 0x7472626f6f74ULL /* "trboot": bootstrap streams */
#define PURPOSE_SSIZE 0x747273697a65ULL /* "trsize": sample-size streams */
#define SSIZE_MAX 100000 /* the largest trial the sample-size search tries */
#define BATCH 8    /* patients whose standard arms run together (lanes) */
#define EXAMPLES 3 /* patients whose course every arm records for plots */

static const char usage_text[] =
    "usage: medtwin trial run PROTOCOL.json --out DIR [--threads N] [--json]\n"
    "       mpirun -np N medtwin trial run PROTOCOL.json --out DIR ...\n"
    "       medtwin trial report RESULTS.json --out FILE.html\n"
    "  run the protocol's virtual trial (docs/trial-protocol.md) and write\n"
    "  DIR/results.json: per-arm summaries, each arm against the first\n"
    "  within patient (paired t and bootstrap intervals), the primary\n"
    "  endpoint by subgroup with interaction tests, the sample size; and\n"
    "  DIR/report.html, its figures (docs/trial-report.md); under mpirun the\n"
    "  patients are split over the ranks\n"
    "  --threads N  OpenMP threads (per rank; default: OMP_NUM_THREADS or all\n"
    "               cores); results do not depend on it, nor on the ranks\n"
    "  --json       print results.json on standard output too\n";

typedef struct topts {
  const char *out;
  int threads, json;
} topts;

static int trial_opt(void *ctx, const char *a, const char *v)
{
  topts *o = ctx;
  if (!strcmp(a, "--out"))
    o->out = v;
  else if (!strcmp(a, "--threads")) {
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < 1 || n > 1024)
      return cli_fail(EXIT_USAGE, "trial run: --threads: expected 1-1024, "
                      "got '%s'", v);
    o->threads = (int)n;
  } else
    return cli_fail(EXIT_USAGE, "trial run: unknown option '%s'", a);
  return 0;
}

/* What one patient gave: its covariates and every arm's outcome. */
typedef struct patient_row {
  mt_cohort_info info;
  char id[64];
  mt_trial_outcome arm[MT_PROTOCOL_MAX_ARMS];
  int rc;
  char err[MT_ERRMSG_MAX];
  /* the first EXAMPLES patients: what every arm did, and the life */
  mt_trial_record *rec[MT_PROTOCOL_MAX_ARMS];
  mt_trial_day_plan *life;
} patient_row;

/*
** Patients k0 .. k1 - 1 of the trial (at most BATCH), every arm. The
** standard arm of the patients that are not examples runs as one batch
** (mt_trial_run_arm_many: the same outcome, bit for bit, as alone); if the
** batch fails, its patients run one by one so the failure is the patient's.
*/
static void run_patients(const mt_protocol *p, const mt_cohort_prior *cp,
                         long k0, long k1, long fail_k, patient_row *rows)
{
  mt_patient *pt[BATCH] = {0};
  mt_trial_day_plan *life[BATCH] = {0};
  int n = (int)(k1 - k0);
  for (int i = 0; i < n; i++) {
    patient_row *row = &rows[k0 + i];
    row->rc = mt_cohort_patient(p, cp, k0 + i, &pt[i], &row->info, row->err,
                                sizeof row->err);
    if (!row->rc) {
      snprintf(row->id, sizeof row->id, "%s", pt[i]->id);
      row->rc = mt_trial_life(p, pt[i], k0 + i, &life[i], row->err,
                              sizeof row->err);
    }
  }
  for (int a = 0; a < p->n_arm; a++) {
    const mt_patient *bp[BATCH];
    const mt_trial_day_plan *bl[BATCH];
    mt_trial_outcome bo[BATCH];
    int idx[BATCH], nb = 0, batched = 0;
    if (p->arm[a].kind == MT_ARM_STANDARD)
      for (int i = 0; i < n; i++)
        if (!rows[k0 + i].rc && k0 + i >= EXAMPLES)
          idx[nb] = i, bp[nb] = pt[i], bl[nb++] = life[i];
    if (nb > 1) {
      char err[MT_ERRMSG_MAX];
      batched = !mt_trial_run_arm_many(p, a, nb, bp, bl, bo, err, sizeof err);
      for (int j = 0; batched && j < nb; j++)
        rows[k0 + idx[j]].arm[a] = bo[j];
    }
    for (int i = 0; i < n; i++) {
      patient_row *row = &rows[k0 + i];
      if (row->rc || (batched && k0 + i >= EXAMPLES &&
                      p->arm[a].kind == MT_ARM_STANDARD))
        continue;
      if (k0 + i < EXAMPLES)
        row->rc = mt_trial_run_arm_record(p, a, pt[i], life[i], &row->arm[a],
                                          &row->rec[a], row->err,
                                          sizeof row->err);
      else
        row->rc = mt_trial_run_arm(p, a, pt[i], life[i], &row->arm[a],
                                   row->err, sizeof row->err);
    }
  }
  if (fail_k >= k0 && fail_k < k1 && !rows[fail_k].rc) {
    rows[fail_k].rc = MT_EIO;
    snprintf(rows[fail_k].err, sizeof rows[fail_k].err, "failure injected "
             "by MEDTWIN_FAILPOINT");
  }
  for (int i = 0; i < n; i++) {
    if (k0 + i < EXAMPLES)
      rows[k0 + i].life = life[i];
    else
      mt_trial_life_free(life[i]);
    mt_patient_free(pt[i]);
  }
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* The covariate level of a patient: age group, sex (0 F, 1 M), subgroup. */
static int level_of(const patient_row *r, mt_covariate c)
{
  switch (c) {
  case MT_COV_AGE_GROUP: return (int)r->info.age_group;
  case MT_COV_SEX: return r->info.sex == 1 ? 0 : 1;
  default: return r->info.subgroup;
  }
}

static const char *level_name(const mt_protocol *p, mt_covariate c, int l)
{
  if (c == MT_COV_AGE_GROUP)
    return mt_age_group_name((mt_age_group)l);
  if (c == MT_COV_SEX)
    return l == 0 ? "F" : "M";
  return l >= 0 && l < p->n_subgroup ? p->subgroup[l].label : "?";
}

static json_t *summary_json(const mt_summary *s)
{
  return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "n", s->n,
                   "mean", s->mean, "sd", s->sd, "min", s->min, "q1", s->q1,
                   "median", s->median, "q3", s->q3, "max", s->max);
}

static json_t *ttest_json(const mt_ttest *t)
{
  return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:[f, f]}", "n", t->n,
                   "estimate", t->estimate, "se", t->se, "df", t->df, "t",
                   isfinite(t->t) ? t->t : 0.0, "p", t->p, "ci",
                   isfinite(t->lo) ? t->lo : -1e308,
                   isfinite(t->hi) ? t->hi : 1e308);
}

/* d[i] = arm a's endpoint e minus the reference's, for the patients whose
** level of covariate c is l (c < 0: all); their number. */
static int diffs(const mt_protocol *p, const patient_row *rows, int a,
                 mt_endpoint e, int c, int l, double *d)
{
  int n = 0;
  for (long k = 0; k < p->size; k++)
    if (c < 0 || level_of(&rows[k], (mt_covariate)c) == l)
      d[n++] = rows[k].arm[a].ep[e] - rows[k].arm[0].ep[e];
  return n;
}

/* The arms' summaries and comparisons with the reference arm. */
static int arms_json(const mt_protocol *p, const patient_row *rows,
                     double *buf, double *d, json_t *res, char *err,
                     size_t errlen)
{
  json_t *arms = json_array(), *cmp = json_array();
  json_object_set_new(res, "arms", arms);
  json_object_set_new(res, "comparisons", cmp);
  for (int a = 0; a < p->n_arm; a++) {
    json_t *eps = json_object();
    json_array_append_new(arms, json_pack("{s:s, s:s, s:o}", "name",
                                          p->arm[a].name, "kind",
                                          mt_arm_kind_name(p->arm[a].kind),
                                          "endpoints", eps));
    for (int j = 0; j < p->n_endpoint; j++) {
      mt_endpoint e = p->endpoint[j];
      mt_summary s;
      for (long k = 0; k < p->size; k++)
        buf[k] = rows[k].arm[a].ep[e];
      int rc = mt_summary_compute(buf, p->size, &s, err, errlen);
      if (rc < 0)
        return rc;
      json_object_set_new(eps, mt_endpoint_name(e), summary_json(&s));
    }
    if (a == 0)
      continue;
    for (int j = 0; j < p->n_endpoint; j++) {
      mt_endpoint e = p->endpoint[j];
      mt_ttest t;
      int n = p->size;
      for (long k = 0; k < p->size; k++)
        d[k] = rows[k].arm[a].ep[e], buf[k] = rows[k].arm[0].ep[e];
      int rc = mt_paired_t(d, buf, n, p->level, &t, err, errlen);
      if (rc < 0)
        return rc;
      json_t *c = json_pack("{s:s, s:s, s:s, s:b, s:o}", "arm",
                            p->arm[a].name, "reference", p->arm[0].name,
                            "endpoint", mt_endpoint_name(e), "primary",
                            e == p->primary, "paired_t", ttest_json(&t));
      if (p->bootstrap > 0 && n >= 2) {
        mt_bootstrap b;
        diffs(p, rows, a, e, -1, 0, d);
        rc = mt_bootstrap_mean(d, n, p->bootstrap, p->level,
                               p->bootstrap_seed,
                               PURPOSE_BOOT + (uint64_t)(a * 64 + (int)e),
                               &b, err, errlen);
        if (rc < 0) {
          json_decref(c);
          return rc;
        }
        json_object_set_new(c, "bootstrap",
                            json_pack("{s:i, s:[f, f]}", "resamples", b.B,
                                      "ci", b.lo, b.hi));
      }
      json_array_append_new(cmp, c);
    }
  }
  return 0;
}

/*
** The primary endpoint's effect (each arm against the reference) within
** every level of every covariate, and for each level against the rest of
** the cohort a Welch test of the paired differences (the interaction
** test); the twin arm's forecast accuracy likewise. Flags at the
** Bonferroni-adjusted level over the tests made.
*/
static int subgroups_json(const mt_protocol *p, const patient_row *rows,
                          double *d, double *d2, json_t *res, char *err,
                          size_t errlen)
{
  json_t *out = json_array();
  json_object_set_new(res, "subgroups", out);
  /* the tests that will be made: a level with at least two patients in it
  ** and two in the rest (for the forecasts: two with a forecast MARD) */
  int tests = 0, fc_tests = 0;
  for (int ci = 0; ci < p->n_covariate; ci++) {
    mt_covariate c = p->covariate[ci];
    int nl = c == MT_COV_AGE_GROUP ? MT_N_AGE : c == MT_COV_SEX ? 2
                                                                : p->n_subgroup;
    for (int l = 0; l < nl; l++)
      for (int a = 1; a < p->n_arm; a++) {
        long n = 0, nf = 0, nfr = 0;
        for (long k = 0; k < p->size; k++) {
          int in = level_of(&rows[k], c) == l;
          int fin = isfinite(rows[k].arm[a].forecast_mard_pct);
          n += in, nf += in && fin, nfr += !in && fin;
        }
        tests += n >= 2 && p->size - n >= 2;
        fc_tests += p->arm[a].kind == MT_ARM_TWIN && nf >= 2 && nfr >= 2;
      }
  }
  tests += fc_tests;
  double adj = p->level;
  if (tests > 0)
    mt_bonferroni_level(p->level, tests, &adj);
  json_object_set_new(res, "multiplicity",
                      json_pack("{s:i, s:i, s:f, s:s}", "interaction_tests",
                                tests, "forecast_tests", fc_tests,
                                "bonferroni_level", adj, "note",
                                "subgroup effects and interaction tests are "
                                "exploratory; flags use the Bonferroni-"
                                "adjusted level over all interaction "
                                "tests, those of the twin's forecast "
                                "accuracy included"));
  for (int ci = 0; ci < p->n_covariate; ci++) {
    mt_covariate c = p->covariate[ci];
    int nl = c == MT_COV_AGE_GROUP ? MT_N_AGE : c == MT_COV_SEX ? 2
                                                                : p->n_subgroup;
    for (int a = 1; a < p->n_arm; a++)
      for (int l = 0; l < nl; l++) {
        int n = diffs(p, rows, a, p->primary, (int)c, l, d);
        if (n == 0)
          continue;
        int m = 0; /* the rest */
        for (long k = 0; k < p->size; k++)
          if (level_of(&rows[k], c) != l)
            d2[m++] = rows[k].arm[a].ep[p->primary] -
                      rows[k].arm[0].ep[p->primary];
        mt_ttest within, inter;
        json_t *g = json_pack("{s:s, s:s, s:s, s:s, s:i}", "covariate",
                              mt_covariate_name(c), "level",
                              level_name(p, c, l), "arm", p->arm[a].name,
                              "endpoint", mt_endpoint_name(p->primary), "n",
                              n);
        /* the effect within the level: d against zero, a t interval */
        double *z = calloc((size_t)n, sizeof *z);
        if (!z) {
          json_decref(g);
          return MT_ENOMEM;
        }
        int rc = mt_paired_t(d, z, n, p->level, &within, err, errlen);
        free(z);
        if (rc < 0) {
          json_decref(g);
          return rc;
        }
        json_object_set_new(g, "effect", ttest_json(&within));
        if (m >= 2 && n >= 2) {
          rc = mt_welch_t(d, n, d2, m, p->level, &inter, err, errlen);
          if (rc < 0) {
            json_decref(g);
            return rc;
          }
          json_object_set_new(g, "interaction", ttest_json(&inter));
          json_object_set_new(g, "flag",
                              json_boolean(inter.p < 1 - adj));
        }
        if (p->arm[a].kind == MT_ARM_TWIN) {
          /* the bias check: each patient's forecast MARD, this level's
          ** against the rest's (Welch), flagged as the effects are */
          double sum = 0;
          int nf = 0, nr = 0;
          for (long k = 0; k < p->size; k++) {
            double v = rows[k].arm[a].forecast_mard_pct;
            if (!isfinite(v))
              continue;
            if (level_of(&rows[k], c) == l)
              sum += v, d[nf++] = v;
            else
              d2[nr++] = v;
          }
          if (nf)
            json_object_set_new(g, "twin_forecast_mard_pct",
                                json_real(sum / nf));
          if (nf >= 2 && nr >= 2) {
            mt_ttest ft;
            rc = mt_welch_t(d, nf, d2, nr, p->level, &ft, err, errlen);
            if (rc < 0) {
              json_decref(g);
              return rc;
            }
            json_object_set_new(g, "forecast_interaction", ttest_json(&ft));
            json_object_set_new(g, "forecast_flag",
                                json_boolean(ft.p < 1 - adj));
          }
        }
        json_array_append_new(out, g);
      }
  }
  return 0;
}

/* With statistics.sample_size: for each arm against the reference, the
** patients the primary endpoint's paired comparison needs for the target
** power, by simulation from this trial's differences (mt_sample_size_paired;
** docs/statistics.md, "Sample size by simulation"). */
static int sample_size_json(const mt_protocol *p, const patient_row *rows,
                            double *d, json_t *res, char *err, size_t errlen)
{
  static const char *status[] = {"reached", "zero_variance", "zero_variance",
                                 "no_effect", "unreached", "budget"};
  if (!(p->power > 0) || p->size < 2)
    return 0;
  json_t *out = json_array();
  json_object_set_new(res, "sample_size", out);
  for (int a = 1; a < p->n_arm; a++) {
    mt_sample_size ss;
    int n = diffs(p, rows, a, p->primary, -1, 0, d);
    int rc = mt_sample_size_paired(d, n, p->level, p->power, p->max_trials,
                                   SSIZE_MAX, p->seed,
                                   PURPOSE_SSIZE + (uint64_t)a, &ss, err,
                                   errlen);
    if (rc < 0)
      return rc;
    json_array_append_new(
        out, json_pack("{s:s, s:s, s:s, s:f, s:f, s:i, s:b, s:s, s:f, s:f, "
                       "s:i, s:i, s:I, s:i, s:i}",
                       "arm", p->arm[a].name, "reference", p->arm[0].name,
                       "endpoint", mt_endpoint_name(p->primary),
                       "target_power", p->power, "level", p->level, "n",
                       ss.n, "reached", ss.reached, "status",
                       rc >= 0 && rc <= 5 ? status[rc] : "?", "power",
                       ss.power, "mc_se", ss.mc_se, "replicates_per_size",
                       ss.replicates, "sizes_tried", ss.sizes_tried,
                       "trials", (json_int_t)ss.trials, "normal_approx_n",
                       ss.normal_approx_n, "n_max", SSIZE_MAX));
  }
  return 0;
}

/* Every patient: covariates and every arm's endpoints, in patient order. */
static json_t *patients_json(const mt_protocol *p, const patient_row *rows)
{
  json_t *out = json_array();
  for (long k = 0; k < p->size; k++) {
    const patient_row *r = &rows[k];
    json_t *eps = json_object();
    for (int a = 0; a < p->n_arm; a++) {
      json_t *e = json_object();
      for (int j = 0; j < p->n_endpoint; j++)
        json_object_set_new(e, mt_endpoint_name(p->endpoint[j]),
                            json_real(r->arm[a].ep[p->endpoint[j]]));
      json_object_set_new(eps, p->arm[a].name, e);
    }
    json_t *sub = r->info.subgroup >= 0 && r->info.subgroup < p->n_subgroup
                      ? json_string(p->subgroup[r->info.subgroup].label)
                      : json_null();
    json_array_append_new(
        out, json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "index",
                       (json_int_t)k, "id", r->id, "age_group",
                       mt_age_group_name(r->info.age_group), "sex",
                       r->info.sex == 1 ? "F" : "M", "subgroup", sub,
                       "endpoints", eps));
  }
  return out;
}

static json_t *reals(const double *v, int n)
{
  json_t *a = json_array();
  for (int i = 0; i < n; i++)
    json_array_append_new(a, json_real(v[i]));
  return a;
}

/* The first EXAMPLES patients' courses under every arm, every 5 min after
** the warm-up: true glucose, readings, meals, boluses, the twin's
** forecasts. */
static json_t *examples_json(const mt_protocol *p, const patient_row *rows)
{
  json_t *out = json_array();
  int every = MT_TRIAL_CGM_EVERY_MIN, t_end = p->days * 1440;
  for (long k = 0; k < p->size && k < EXAMPLES; k++) {
    const patient_row *r = &rows[k];
    json_t *arms = json_array();
    for (int a = 0; a < p->n_arm; a++) {
      const mt_trial_record *rec = r->rec[a];
      if (!rec)
        continue;
      json_t *bg = json_array(), *cgm = json_array(), *meals = json_array(),
             *bol = json_array(), *fc = json_array();
      for (int t = MT_TRIAL_WARMUP_MIN; t < t_end; t += every) {
        json_array_append_new(bg, json_real(
                                      rec->bg_mgdl[t - MT_TRIAL_WARMUP_MIN]));
        json_array_append_new(cgm, json_real(rec->cgm_mgdl[t / every]));
      }
      for (int i = 0; i < r->life->n_event; i++) {
        const mt_trial_event *e = &r->life->event[i];
        json_array_append_new(
            meals, json_pack("{s:f, s:f, s:f, s:b, s:b}", "t_min", e->t_min,
                             "grams", e->grams, "announced_g", e->announced_g,
                             "snack", e->snack, "bolus_missed",
                             e->bolus_missed));
      }
      for (int i = 0; i < rec->n_bolus; i++)
        json_array_append_new(bol, json_pack("{s:f, s:f}", "t_min",
                                             rec->bolus_t_min[i], "units",
                                             rec->bolus_u[i]));
      double h[MT_TRIAL_REC_HORIZONS];
      for (int i = 0; i < MT_TRIAL_REC_HORIZONS; i++)
        h[i] = (i + 1) * MT_TRIAL_REC_STEP_MIN;
      for (int i = 0; i < rec->n_forecast; i++) {
        const mt_trial_forecast_rec *f = &rec->forecast[i];
        json_array_append_new(
            fc, json_pack("{s:f, s:f, s:o, s:o, s:o, s:o}", "t_min", f->t_min,
                          "level", 0.8, "horizon_min",
                          reals(h, MT_TRIAL_REC_HORIZONS), "mean_mgdl",
                          reals(f->mean, MT_TRIAL_REC_HORIZONS), "lo_mgdl",
                          reals(f->p10, MT_TRIAL_REC_HORIZONS), "hi_mgdl",
                          reals(f->p90, MT_TRIAL_REC_HORIZONS)));
      }
      json_array_append_new(
          arms, json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o}", "arm",
                          p->arm[a].name, "kind",
                          mt_arm_kind_name(p->arm[a].kind), "every_min", every,
                          "bg_mgdl", bg, "cgm_mgdl", cgm, "meals", meals,
                          "boluses", bol, "forecasts", fc));
    }
    json_array_append_new(out, json_pack("{s:I, s:s, s:i, s:i, s:o}", "index",
                                         (json_int_t)k, "id", r->id,
                                         "from_min", MT_TRIAL_WARMUP_MIN,
                                         "to_min", t_end, "arms", arms));
  }
  return out;
}

/* The cohort: how many draws were rejected, by reason and age group. */
static json_t *cohort_json(const mt_protocol *p, const patient_row *rows)
{
  long attempts = 0, by[MT_N_AGE] = {0}, rej[MT_COHORT_N_REJECT] = {0};
  for (long k = 0; k < p->size; k++) {
    attempts += rows[k].info.attempts;
    by[rows[k].info.age_group]++;
    for (int r = 1; r < MT_COHORT_N_REJECT; r++)
      rej[r] += rows[k].info.rejected[r];
  }
  json_t *reasons = json_object(), *groups = json_object();
  for (int r = 1; r < MT_COHORT_N_REJECT; r++)
    json_object_set_new(reasons, mt_cohort_reject_name(r),
                        json_integer(rej[r]));
  for (int g = 0; g < MT_N_AGE; g++)
    json_object_set_new(groups, mt_age_group_name((mt_age_group)g),
                        json_integer(by[g]));
  return json_pack("{s:s, s:i, s:I, s:f, s:o, s:o, s:b}", "source",
                   p->source == MT_TRIAL_NAMED ? "named" : "population",
                   "patients", p->size, "draws", (json_int_t)attempts,
                   "rejection_rate",
                   attempts ? (double)(attempts - p->size) / attempts : 0.0,
                   "rejected", reasons, "age_groups", groups,
                   "hypothetical_shifts", p->n_subgroup > 0);
}

/* ---- ranks ----------------------------------------------------------------
** Under an MPI launcher the patients are split over the ranks in blocks of
** whole batches, rank r taking batches [r q, (r + 1) q) with q = ceil(batches
** / ranks), so rank 0 holds the example patients; each rank runs its block
** with OpenMP, rank 0 gathers every row in patient order and alone computes
** the statistics and writes. Every step that can fail on one rank only is
** followed by an agreement (all_ok), so no rank waits for one that left. */
typedef struct ranks {
  int rank, size, mpi;
} ranks;

/* Whether an MPI launcher started this process (Open MPI, PMIx, PMI). */
static int launched_by_mpi(void)
{
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") ||
         getenv("PMI_RANK");
}

static int ranks_init(ranks *r)
{
  *r = (ranks){0, 1, 0};
  if (!launched_by_mpi())
    return 0;
#ifdef MT_HAVE_MPI
  int provided;
  if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) !=
      MPI_SUCCESS)
    return cli_fail(EXIT_RUNTIME, "trial run: MPI_Init failed");
  r->mpi = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &r->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &r->size);
  return 0;
#else
  return cli_fail(EXIT_USAGE, "trial run: started by an MPI launcher, but "
                  "this medtwin was built without MPI (-DMT_MPI=OFF)");
#endif
}

static void ranks_end(const ranks *r)
{
#ifdef MT_HAVE_MPI
  if (r->mpi)
    MPI_Finalize();
#else
  (void)r;
#endif
}

/* Every rank's ok (1) or not (0): 1 only if all are. */
static int all_ok(const ranks *r, int ok)
{
#ifdef MT_HAVE_MPI
  if (r->mpi) {
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
  }
#else
  (void)r;
#endif
  return ok;
}

/* The batches of rank r: [*b0, *b1). */
static void rank_batches(const ranks *r, long n_batch, long *b0, long *b1)
{
  long q = (n_batch + r->size - 1) / r->size;
  *b0 = r->rank * q < n_batch ? r->rank * q : n_batch;
  *b1 = *b0 + q < n_batch ? *b0 + q : n_batch;
}

/* Every rank's rows into rank 0's array, in patient order (the rows' record
** and life pointers are set only for rank 0's example patients). */
static int gather_rows(const ranks *r, const mt_protocol *p, patient_row *rows)
{
#ifdef MT_HAVE_MPI
  if (!r->mpi || r->size == 1)
    return 0;
  long n_batch = (p->size + BATCH - 1) / BATCH;
  int *count = malloc((size_t)r->size * sizeof *count);
  int *displ = malloc((size_t)r->size * sizeof *displ);
  MPI_Datatype row_t;
  int ok = count && displ;
  if (ok) {
    for (int i = 0; i < r->size; i++) {
      ranks ri = {i, r->size, 1};
      long b0, b1;
      rank_batches(&ri, n_batch, &b0, &b1);
      long k0 = b0 * BATCH < p->size ? b0 * BATCH : p->size;
      long k1 = b1 * BATCH < p->size ? b1 * BATCH : p->size;
      displ[i] = (int)k0, count[i] = (int)(k1 - k0);
    }
  }
  if (!all_ok(r, ok)) {
    free(count);
    free(displ);
    return MT_ENOMEM;
  }
  MPI_Type_contiguous((int)sizeof(patient_row), MPI_BYTE, &row_t);
  MPI_Type_commit(&row_t);
  int rc = MPI_Gatherv(r->rank == 0 ? MPI_IN_PLACE : rows + displ[r->rank],
                       count[r->rank], row_t, rows, count, displ, row_t, 0,
                       MPI_COMM_WORLD);
  MPI_Type_free(&row_t);
  free(count);
  free(displ);
  if (r->rank == 0) /* the others' pointers mean nothing here */
    for (long k = EXAMPLES; k < p->size; k++) {
      memset(rows[k].rec, 0, sizeof rows[k].rec);
      rows[k].life = NULL;
    }
  return rc == MPI_SUCCESS ? 0 : MT_EIO;
#else
  (void)r, (void)p, (void)rows;
  return 0;
#endif
}

static int run(const char *path, const topts *o, const ranks *rk)
{
  char err[MT_ERRMSG_MAX];
  mt_protocol *p = NULL;
  openblas_set_num_threads(1); /* before the cohort's first LAPACK call */
  /* the same on every rank: each fails alike, rank 0 says why */
  int rc = mt_protocol_load(path, &p, err, sizeof err);
  if (rc)
    return rk->rank ? EXIT_USAGE
                    : cli_fail(rc == MT_ENOMEM || rc == MT_EIO ? EXIT_RUNTIME
                                                               : EXIT_USAGE,
                               "%s", err);
  int made = rk->rank || !mkdir(o->out, 0755) || errno == EEXIST;
  if (!made)
    cli_fail(EXIT_USAGE, "trial run: --out: cannot create %s: %s", o->out,
             strerror(errno));
  if (!all_ok(rk, made)) {
    mt_protocol_free(p);
    return EXIT_USAGE;
  }
  mt_cohort_prior *cp = NULL;
  double *buf = NULL, *d = NULL, *d2 = NULL;
  patient_row *rows = NULL;
  if ((rc = mt_cohort_prepare(p, &cp, err, sizeof err)))
    cli_fail(EXIT_RUNTIME, "trial run: rank %d: %s", rk->rank, err);
  else {
    rows = calloc((size_t)p->size, sizeof *rows);
    buf = malloc((size_t)p->size * sizeof *buf);
    d = malloc((size_t)p->size * sizeof *d);
    d2 = malloc((size_t)p->size * sizeof *d2);
    if (!rows || !buf || !d || !d2)
      rc = cli_fail(EXIT_RUNTIME, "trial run: rank %d: out of memory for %d "
                    "patients", rk->rank, p->size);
  }
  if (!all_ok(rk, !rc)) {
    rc = EXIT_RUNTIME;
    goto done;
  }
  /* tests/e2e/trial_mpi.sh: MEDTWIN_FAILPOINT=trial-patient:K makes patient
  ** K fail after its run, as a solver failure would (docs/TESTING.md) */
  const char *fp = getenv("MEDTWIN_FAILPOINT");
  long fail_k = fp && !strncmp(fp, "trial-patient:", 14) ? atol(fp + 14) : -1;
  long b0, b1, n_mine;
  rank_batches(rk, (p->size + BATCH - 1) / BATCH, &b0, &b1);
  n_mine = (b1 * BATCH < p->size ? b1 * BATCH : p->size) - b0 * BATCH;
  if (n_mine < 0)
    n_mine = 0;
#ifdef _OPENMP
  if (o->threads)
    omp_set_num_threads(o->threads);
#endif
  int threads = 1;
  long done_n = 0;
  int tty = rk->rank == 0 && isatty(STDERR_FILENO);
  double t0 = now_s(), last = t0;
#pragma omp parallel
  {
#ifdef _OPENMP
#pragma omp single
    threads = omp_get_num_threads();
#endif
#pragma omp for schedule(dynamic, 1)
    for (long b = b0; b < b1; b++) {
      long k0 = b * BATCH, k1 = k0 + BATCH < p->size ? k0 + BATCH : p->size;
      run_patients(p, cp, k0, k1, fail_k, rows);
      long n_done;
#pragma omp atomic capture
      n_done = done_n += k1 - k0;
      if (tty) {
        double now = now_s();
#pragma omp critical(progress)
        if (now - last >= 1 || n_done == n_mine) {
          double eta = (now - t0) / n_done * (n_mine - n_done);
          if (rk->size > 1) /* each rank has its share; rank 0 shows its */
            fprintf(stderr, "\rtrial %s: rank 0: %ld/%ld patients of its "
                    "share (%d in all, %d ranks), %.0f s, ETA %.0f s ",
                    p->name, n_done, n_mine, p->size, rk->size, now - t0,
                    eta);
          else
            fprintf(stderr, "\rtrial %s: %ld/%d patients, %.0f s, ETA %.0f "
                    "s ", p->name, n_done, p->size, now - t0, eta);
          last = now;
        }
      }
    }
  }
  if (tty)
    fputc('\n', stderr);
  if ((rc = gather_rows(rk, p, rows)) != 0) {
    rc = cli_fail(EXIT_RUNTIME, "trial run: rank %d: gathering the results "
                  "failed (%s)", rk->rank, mt_strerror(rc));
    goto done;
  }
  double secs = now_s() - t0;
  if (rk->rank) { /* rank 0 reports and writes */
    rc = EXIT_OK;
    goto done;
  }
  for (long k = 0; k < p->size; k++)
    if (rows[k].rc) { /* the first failure in patient order */
      ranks ri = *rk;
      long n_batch = (p->size + BATCH - 1) / BATCH, r0, r1;
      for (ri.rank = 0; ri.rank < rk->size; ri.rank++) {
        rank_batches(&ri, n_batch, &r0, &r1);
        if (k / BATCH < r1)
          break;
      }
      if (rk->size > 1)
        rc = cli_fail(EXIT_RUNTIME, "trial run: patient %ld (seed %llu, rank "
                      "%d): %s", k, (unsigned long long)p->seed, ri.rank,
                      rows[k].err);
      else
        rc = cli_fail(EXIT_RUNTIME, "trial run: patient %ld (seed %llu): %s",
                      k, (unsigned long long)p->seed, rows[k].err);
      goto done;
    }

  json_t *res = json_object();
  json_object_set_new(res, "protocol",
                      json_pack("{s:s, s:s, s:I, s:i, s:i, s:s}", "name",
                                p->name, "model", p->model, "seed",
                                (json_int_t)p->seed, "days", p->days,
                                "patients", p->size, "file", path));
  json_object_set_new(res, "cohort", cohort_json(p, rows));
  if ((rc = arms_json(p, rows, buf, d, res, err, sizeof err)) == 0)
    rc = subgroups_json(p, rows, d, d2, res, err, sizeof err);
  if (!rc)
    rc = sample_size_json(p, rows, d, res, err, sizeof err);
  json_object_set_new(res, "patients", patients_json(p, rows));
  json_object_set_new(res, "examples", examples_json(p, rows));
  if (p->n_subgroup > 0)
    json_object_set_new(res, "hypothetical",
                        json_string("subgroup labels and their parameter "
                                    "shifts are hypothetical sensitivity "
                                    "analyses, not claims about real "
                                    "populations"));
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  time_t wall = time(NULL);
  char when[32];
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));
  json_object_set_new(res, "run",
                      json_pack("{s:s, s:s, s:s, s:f, s:i, s:i, s:f}",
                                "medtwin", MT_VERSION, "finished", when,
                                "host", host, "seconds", secs, "threads",
                                threads, "ranks", rk->size,
                                "patient_days_per_second",
                                secs > 0 ? p->size * (double)p->days *
                                               p->n_arm / secs
                                         : 0.0));
  if (rc) {
    json_decref(res);
    rc = cli_fail(EXIT_RUNTIME, "trial run: %s", err);
    goto done;
  }
  char out[4096];
  snprintf(out, sizeof out, "%s/results.json", o->out);
  mt_afile *f;
  if ((rc = mt_afile_open(out, &f, err, sizeof err)) == 0) {
    json_dumpf(res, mt_afile_stream(f), JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    fputc('\n', mt_afile_stream(f));
    rc = mt_afile_commit(f, err, sizeof err);
  }
  char report[4096];
  snprintf(report, sizeof report, "%s/report.html", o->out);
  if (!rc) /* the same page as `medtwin trial report` makes from the file */
    rc = mt_trial_report_write(res, report, err, sizeof err);
  if (!rc && o->json) {
    json_dumpf(res, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    fputc('\n', stdout);
  }
  json_decref(res);
  if (rc) {
    rc = cli_fail(EXIT_RUNTIME, "%s", err);
    goto done;
  }
  if (!o->json)
    printf("medtwin trial run: %s: %d patients x %d arms x %d days in %.1f s "
           "(%d threads%s); %s, %s\n", p->name, p->size, p->n_arm, p->days,
           secs, threads, rk->size > 1 ? " per rank" : "", out, report);
  rc = EXIT_OK;
done:
  for (long k = 0; rows && k < p->size && k < EXAMPLES; k++) {
    for (int a = 0; a < p->n_arm; a++)
      mt_trial_record_free(rows[k].rec[a]);
    mt_trial_life_free(rows[k].life);
  }
  free(rows);
  free(buf);
  free(d);
  free(d2);
  mt_cohort_free(cp);
  mt_protocol_free(p);
  return rc;
}

int cmd_trial(int argc, char **argv)
{
  if (argc >= 2 && !strcmp(argv[1], "report"))
    return cmd_trial_report(argc - 1, argv + 1);
  if (argc < 2 || strcmp(argv[1], "run")) {
    int help = argc >= 2 && !strcmp(argv[1], "--help");
    fputs(usage_text, help ? stdout : stderr);
    return help ? EXIT_OK : EXIT_USAGE;
  }
  if (argc < 3 || !strncmp(argv[2], "--", 2)) {
    if (argc >= 3 && !strcmp(argv[2], "--help")) {
      fputs(usage_text, stdout);
      return EXIT_OK;
    }
    return cli_fail(EXIT_USAGE, "trial run: expected PROTOCOL.json");
  }
  topts o = {NULL, 0, 0};
  int rc = cli_parse(argc - 2, argv + 2, "trial run", usage_text, &o.json,
                     trial_opt, &o);
  if (rc)
    return rc;
  if (!o.out)
    return cli_fail(EXIT_USAGE, "trial run: --out DIR is required");
  ranks rk;
  if ((rc = ranks_init(&rk)) != 0)
    return rc;
  if (rk.size > 1 && rk.rank)
    o.json = 0;
  rc = run(argv[2], &o, &rk);
  ranks_end(&rk);
  return rc;
}
