/*
** medtwin simulate for a beat-resolved heart model (one that names the
** observables of medtwin/beats.h, e.g. circulation_smith2004): runs the
** condition (--patient, default the model's first) for --duration seconds
** (or a scenario's duration), sampled every millisecond, and prints the
** beat-level observables of the last beat and the mean of the last five;
** --csv writes the samples, --svg the plot of medtwin/plot_heart.h.
** Output keys: docs/cli.md.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/beats.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/patient.h"
#include "medtwin/plot_heart.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"

#define DT_S 1e-3
#define MAX_BEATS 100000

typedef struct heart {
  mt_patient *pt;
  mt_series out;
  mt_beat *b;
  int nb;
  mt_sim_stats stats;
} heart;

/*
** With inputs the heart rate may change (a beta-blocker): the beats are
** measured over the last beats of the phase state "phi" (at most 5), with
** the period its rate gives at the end of the run. Returns 0 or -1 (no
** phase state, no whole beat).
*/
static int last_beats_window(const mt_model *m, const mt_series *o,
                             double *t0, double *T)
{
  int k = mt_var_index(m->state, m->n_state, "phi"), n = o->n, ns = m->n_state;
  if (k < 0 || n < 2)
    return -1;
  const double *x = o->x;
  double pe = x[(size_t)(n - 1) * ns + k], pp = x[(size_t)(n - 2) * ns + k];
  double rate = (pe - pp) / (o->t[n - 1] - o->t[n - 2]);
  if (!(rate > 0))
    return -1;
  *T = 1 / rate;
  double target = floor(pe) - 5;
  if (target < 0)
    target = 0;
  if (pe - target < 1)
    return -1;
  for (int i = 1; i < n; i++) {
    double a = x[(size_t)(i - 1) * ns + k], b = x[(size_t)i * ns + k];
    if (a <= target && b >= target) {
      *t0 = b > a ? o->t[i - 1] + (target - a) / (b - a) *
                                      (o->t[i] - o->t[i - 1])
                  : o->t[i - 1];
      return 0;
    }
  }
  return -1;
}

static int heart_run(const mt_model *m, const mt_sim_config *cfg,
                     const mt_schedule *sch, double t_end, heart *h)
{
  int hr = mt_var_index(m->param, m->n_param, "HR");
  double T = hr >= 0 ? 60.0 / h->pt->param[hr] : NAN;
  if (!(T > 0) || t_end < T)
    return cli_fail(EXIT_USAGE, "simulate: the run (%g s) must last at least "
                    "one beat (%g s)", t_end, T);
  int n = (int)floor(t_end / DT_S + 1e-9) + 1;
  if (mt_series_alloc(&h->out, m, n) ||
      !(h->b = malloc(MAX_BEATS * sizeof *h->b)))
    return cli_fail(EXIT_RUNTIME, "out of memory");
  for (int i = 0; i < n; i++)
    h->out.t[i] = fmin(i * DT_S, t_end);
  mt_sim *s;
  int rc = mt_sim_create(m, cfg, &s);
  if (rc)
    return cli_fail(EXIT_RUNTIME, "cannot create the simulation: %s",
                    mt_strerror(rc));
  rc = mt_sim_run(s, h->pt->param, NULL, NULL, sch, 0, t_end, &h->out);
  h->stats = *mt_sim_last_stats(s);
  if (rc)
    cli_fail(EXIT_RUNTIME, "simulation of %s failed: %s", h->pt->id,
             mt_sim_errmsg(s));
  mt_sim_free(s);
  double t0 = 0;
  /* With the baroreflex on the rate changes beat to beat: every beat is
  ** measured between the phase state's whole numbers. */
  int kb = mt_var_index(m->param, m->n_param, "baro_on");
  int by_phase = kb >= 0 && h->pt->param[kb] > 0.5;
  if (!rc && sch && !by_phase && last_beats_window(m, &h->out, &t0, &T))
    return cli_fail(EXIT_RUNTIME, "cannot find the last beats");
  mt_beat_cols c;
  if (!rc && (mt_beat_cols_find(m, &c) ||
              (by_phase ? mt_beats_by_phase(m, &h->out, &c, h->b, MAX_BEATS,
                                            &h->nb)
                        : mt_beats_compute(&h->out, &c, t0, T, h->b,
                                           MAX_BEATS, &h->nb)) ||
              h->nb < 1))
    return cli_fail(EXIT_RUNTIME, "cannot measure the beats");
  return rc ? EXIT_RUNTIME : 0;
}

/* The mean of the last k beats (k at most nb). */
static mt_beat mean_beat(const heart *h, int k)
{
  mt_beat a;
  memset(&a, 0, sizeof a);
  for (int j = h->nb - k; j < h->nb; j++) {
    const mt_beat *b = &h->b[j];
#define ADD(f) a.f += b->f / k
    ADD(hr_bpm), ADD(sbp_mmhg), ADD(dbp_mmhg), ADD(map_mmhg), ADD(edv_ml);
    ADD(esv_ml), ADD(sv_ml), ADD(ef_pct), ADD(co_lmin), ADD(edp_mmhg);
    ADD(cvp_mmhg), ADD(mpap_mmhg);
#undef ADD
  }
  a.t0_s = h->b[h->nb - k].t0_s, a.t1_s = h->b[h->nb - 1].t1_s;
  return a;
}

static json_t *beat_json(const mt_beat *b)
{
  return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f,"
                   " s:f, s:f, s:f}", "t0_s", b->t0_s, "t1_s", b->t1_s,
                   "hr_bpm", b->hr_bpm, "sbp_mmhg", b->sbp_mmhg, "dbp_mmhg",
                   b->dbp_mmhg, "map_mmhg", b->map_mmhg, "sv_ml", b->sv_ml,
                   "co_lmin", b->co_lmin, "edv_ml", b->edv_ml, "esv_ml",
                   b->esv_ml, "ef_pct", b->ef_pct, "edp_mmhg", b->edp_mmhg,
                   "cvp_mmhg", b->cvp_mmhg, "mpap_mmhg", b->mpap_mmhg);
}

static void print_beat(const char *title, const mt_beat *b)
{
  printf("%s [%.3f, %.3f) s\n", title, b->t0_s, b->t1_s);
  printf("  HR %.1f /min   aortic %.1f/%.1f mmHg, mean %.1f mmHg\n",
         b->hr_bpm, b->sbp_mmhg, b->dbp_mmhg, b->map_mmhg);
  printf("  SV %.1f mL   CO %.2f L/min   EF %.1f %%\n", b->sv_ml, b->co_lmin,
         b->ef_pct);
  printf("  LV EDV %.1f mL   ESV %.1f mL   EDP %.1f mmHg\n", b->edv_ml,
         b->esv_ml, b->edp_mmhg);
  printf("  CVP %.1f mmHg   mean pulmonary artery %.1f mmHg\n", b->cvp_mmhg,
         b->mpap_mmhg);
}

static int report(const mt_model *m, const mt_sim_config *cfg, double t_end,
                  int json, const heart *h)
{
  int k = h->nb < 5 ? h->nb : 5;
  mt_beat lb = h->b[h->nb - 1], mb = mean_beat(h, k);
  const char *sv = cfg->solver == MT_SOLVER_CVODE ? "cvode" : "dopri5";
  if (json) {
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:f, s:i, s:o, s:o, s:i, s:{s:s, s:f, s:f, s:I,"
        " s:I, s:I}}", "medtwin_version", MT_VERSION, "model", m->name,
        "patient", h->pt->id, "duration_s", t_end, "beats", h->nb,
        "last_beat", beat_json(&lb), "mean_of_last", beat_json(&mb),
        "n_mean", k, "solver", "name", sv, "rtol", cfg->rtol, "atol",
        cfg->atol, "steps", (json_int_t)h->stats.n_step, "rhs_evals",
        (json_int_t)h->stats.n_rhs, "events", (json_int_t)h->stats.n_root);
    if (!j)
      return cli_fail(EXIT_RUNTIME, "cannot build the JSON summary");
    int rc = json_dumpf(j, stdout, JSON_INDENT(2));
    json_decref(j);
    putchar('\n');
    return rc ? EXIT_RUNTIME : 0;
  }
  printf("medtwin %s — %s, %s, %.1f s (%d beats)\n", MT_VERSION, m->name,
         h->pt->id, t_end, h->nb);
  print_beat("last beat", &lb);
  char title[64];
  snprintf(title, sizeof title, "mean of the last %d beats", k);
  print_beat(title, &mb);
  printf("solver %s (rtol %g, atol %g): %ld steps, %ld rhs evaluations, "
         "%ld valve events\n", sv, cfg->rtol, cfg->atol, h->stats.n_step,
         h->stats.n_rhs, h->stats.n_root);
  return 0;
}

/* The plot of the run (plot_heart.h); the beat-level trend panel when the
** run has doses. */
static int write_svg(FILE *f, const mt_model *m, const heart *h,
                     const char *scenario, int doses)
{
  char title[160], sub[320], hash[33];
  const char *base = scenario ? strrchr(scenario, '/') : NULL;
  scenario = base ? base + 1 : scenario;
  mt_patient_param_hash(h->pt, hash);
  snprintf(title, sizeof title, "%s — %s", h->pt->id, m->name);
  snprintf(sub, sizeof sub, "medtwin %s · parameter hash %s%s%s", MT_VERSION,
           hash, scenario ? " · scenario " : "", scenario ? scenario : "");
  mt_heart_plot pl = {title, sub, m, &h->out, h->pt->param, 3, doses};
  return mt_plot_heart_svg(&pl, f);
}

/* The plot's arguments, for cli_write_run. */
typedef struct plot_args {
  const mt_model *m;
  const heart *h;
  const char *scenario;
  int doses;
} plot_args;

static int plot_run(FILE *f, const void *ctx)
{
  const plot_args *a = ctx;
  return write_svg(f, a->m, a->h, a->scenario, a->doses);
}

int cli_simulate_beats(const mt_model *m, const char *patient,
                       const char *csv, const char *svg,
                       const char *scenario, double t_end_s, int json,
                       const mt_sim_config *cfg, const mt_schedule *sch,
                       int baroreflex)
{
  heart h;
  memset(&h, 0, sizeof h);
  char err[MT_ERRMSG_MAX];
  if (!patient)
    patient = m->patients ? m->patients->name(0) : "";
  int rc = 0;
  if (mt_patient_load(m, patient, &h.pt, err, sizeof err))
    rc = cli_fail(EXIT_USAGE, "--patient: %s", err);
  int kb = mt_var_index(m->param, m->n_param, "baro_on");
  if (!rc && baroreflex >= 0 && kb >= 0)
    h.pt->param[kb] = baroreflex;
  if (!rc)
    rc = heart_run(m, cfg, sch, t_end_s, &h);
  plot_args pa = {m, &h, scenario, sch != NULL};
  if (!rc && (csv || svg))
    rc = cli_write_run(csv, svg, m, &h.out, h.pt, plot_run, &pa);
  if (!rc)
    rc = report(m, cfg, t_end_s, json, &h);
  free(h.b);
  mt_series_clear(&h.out);
  mt_patient_free(h.pt);
  return rc;
}
