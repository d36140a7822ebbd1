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

#include "cli.h"
#include "medtwin/cohort.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/stats.h"
#include "medtwin/trial.h"
#include "medtwin/trial_run.h"

#define PURPOSE_BOOT 0x7472626f6f74ULL /* "trboot": bootstrap streams */

static const char usage_text[] =
    "usage: medtwin trial run PROTOCOL.json --out DIR [--threads N] [--json]\n"
    "  run the protocol's virtual trial (docs/trial-protocol.md) and write\n"
    "  DIR/results.json: per-arm summaries, each arm against the first\n"
    "  within patient (paired t and bootstrap intervals), the primary\n"
    "  endpoint by subgroup with interaction tests\n"
    "  --threads N  OpenMP threads (default: OMP_NUM_THREADS or all cores);\n"
    "               results do not depend on it\n"
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
} patient_row;

/* Patient k of the trial, every arm. */
static void run_patient(const mt_protocol *p, const mt_cohort_prior *cp,
                        long k, patient_row *row)
{
  mt_patient *pt = NULL;
  mt_trial_day_plan *life = NULL;
  row->rc = mt_cohort_patient(p, cp, k, &pt, &row->info, row->err,
                              sizeof row->err);
  if (!row->rc) {
    snprintf(row->id, sizeof row->id, "%s", pt->id);
    row->rc = mt_trial_life(p, pt, k, &life, row->err, sizeof row->err);
  }
  for (int a = 0; !row->rc && a < p->n_arm; a++)
    row->rc = mt_trial_run_arm(p, a, pt, life, &row->arm[a], row->err,
                               sizeof row->err);
  mt_trial_life_free(life);
  mt_patient_free(pt);
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
  int tests = 0;
  for (int ci = 0; ci < p->n_covariate; ci++) {
    mt_covariate c = p->covariate[ci];
    int nl = c == MT_COV_AGE_GROUP ? MT_N_AGE : c == MT_COV_SEX ? 2
                                                                : p->n_subgroup;
    tests += (p->n_arm - 1) * nl;
  }
  double adj = p->level;
  if (tests > 0)
    mt_bonferroni_level(p->level, tests, &adj);
  json_object_set_new(res, "multiplicity",
                      json_pack("{s:i, s:f, s:s}", "interaction_tests", tests,
                                "bonferroni_level", adj, "note",
                                "subgroup effects and interaction tests are "
                                "exploratory; flags use the Bonferroni-"
                                "adjusted level over all interaction "
                                "tests"));
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
          double sum = 0;
          int nf = 0;
          for (long k = 0; k < p->size; k++)
            if (level_of(&rows[k], c) == l &&
                isfinite(rows[k].arm[a].forecast_mard_pct))
              sum += rows[k].arm[a].forecast_mard_pct, nf++;
          if (nf)
            json_object_set_new(g, "twin_forecast_mard_pct",
                                json_real(sum / nf));
        }
        json_array_append_new(out, g);
      }
  }
  return 0;
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

static int run(const char *path, const topts *o)
{
  char err[MT_ERRMSG_MAX];
  mt_protocol *p = NULL;
  int rc = mt_protocol_load(path, &p, err, sizeof err);
  if (rc)
    return cli_fail(rc == MT_ENOMEM || rc == MT_EIO ? EXIT_RUNTIME
                                                    : EXIT_USAGE,
                    "%s", err);
  if (mkdir(o->out, 0755) && errno != EEXIST) {
    mt_protocol_free(p);
    return cli_fail(EXIT_USAGE, "trial run: --out: cannot create %s: %s",
                    o->out, strerror(errno));
  }
  mt_cohort_prior *cp = NULL;
  if ((rc = mt_cohort_prepare(p, &cp, err, sizeof err))) {
    mt_protocol_free(p);
    return cli_fail(EXIT_RUNTIME, "trial run: %s", err);
  }
  patient_row *rows = calloc((size_t)p->size, sizeof *rows);
  double *buf = malloc((size_t)p->size * sizeof *buf);
  double *d = malloc((size_t)p->size * sizeof *d);
  double *d2 = malloc((size_t)p->size * sizeof *d2);
  if (!rows || !buf || !d || !d2) {
    rc = cli_fail(EXIT_RUNTIME, "trial run: out of memory for %d patients",
                  p->size);
    goto done;
  }
#ifdef _OPENMP
  if (o->threads)
    omp_set_num_threads(o->threads);
#endif
  int threads = 1;
  long done_n = 0;
  int tty = isatty(STDERR_FILENO);
  double t0 = now_s(), last = t0;
#pragma omp parallel
  {
#ifdef _OPENMP
#pragma omp single
    threads = omp_get_num_threads();
#endif
#pragma omp for schedule(dynamic, 1)
    for (long k = 0; k < p->size; k++) {
      run_patient(p, cp, k, &rows[k]);
      long n_done;
#pragma omp atomic capture
      n_done = ++done_n;
      if (tty) {
        double now = now_s();
#pragma omp critical(progress)
        if (now - last >= 1 || n_done == p->size) {
          double eta = (now - t0) / n_done * (p->size - n_done);
          fprintf(stderr, "\rtrial %s: %ld/%d patients, %.0f s, ETA %.0f s ",
                  p->name, n_done, p->size, now - t0, eta);
          last = now;
        }
      }
    }
  }
  if (tty)
    fputc('\n', stderr);
  double secs = now_s() - t0;
  for (long k = 0; k < p->size; k++)
    if (rows[k].rc) { /* the first failure in patient order */
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
                      json_pack("{s:s, s:s, s:s, s:f, s:i, s:f}", "medtwin",
                                MT_VERSION, "finished", when, "host", host,
                                "seconds", secs, "threads", threads,
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
           "(%d threads); %s\n", p->name, p->size, p->n_arm, p->days, secs,
           threads, out);
  rc = EXIT_OK;
done:
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
  return run(argv[2], &o);
}
