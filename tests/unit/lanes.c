/*
** The lane-batched runner against the scalar integrator: every instance's
** samples must be bit for bit those of mt_sim_run, whatever the batch size,
** order and batch-mates (a patient's result never depends on its lane).
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/patient.h"
#include "medtwin/scenario.h"
#include "medtwin/sim.h"

#define NPT 30
#define NT 1441

static const mt_model *m;
static mt_patient *pt[NPT];
static mt_schedule *sch[2][NPT];
static mt_series ref[2][NPT];

static void load(void)
{
  char err[MT_ERRMSG_MAX], path[512];
  const char *files[2] = {"day.json", "three-meals.json"};
  m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(m);
  cr_assert_not_null(m->rhs_lanes);
  mt_sim *s;
  cr_assert_eq(mt_sim_create(m, NULL, &s), 0);
  for (int f = 0; f < 2; f++) {
    mt_scenario *sc;
    snprintf(path, sizeof path, "%s/examples/scenarios/%s", MT_SOURCE_DIR,
             files[f]);
    cr_assert_eq(mt_scenario_load(path, &sc, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < NPT; i++) {
      if (!pt[i])
        cr_assert_eq(mt_patient_load(m, m->patients->name(i), &pt[i], err,
                                     sizeof err), 0);
      cr_assert_eq(mt_scenario_schedule(sc, pt[i], &sch[f][i], err,
                                        sizeof err), 0);
      cr_assert_eq(mt_series_alloc(&ref[f][i], m, NT), 0);
      for (int k = 0; k < NT; k++)
        ref[f][i].t[k] = k;
      cr_assert_eq(mt_sim_run(s, pt[i]->param, NULL, NULL, sch[f][i], 0,
                              NT - 1, &ref[f][i]), 0);
    }
    mt_scenario_free(sc);
  }
  mt_sim_free(s);
}

static void unload(void)
{
  for (int i = 0; i < NPT; i++) {
    mt_patient_free(pt[i]);
    for (int f = 0; f < 2; f++) {
      mt_schedule_free(sch[f][i]);
      mt_series_clear(&ref[f][i]);
    }
  }
}

/* Run the instances idx[0..n) of scenario f in one batch and compare. */
static void check_batch(int f, const int *idx, int n)
{
  const double *p[NPT];
  const mt_schedule *sc[NPT];
  mt_series out[NPT];
  for (int k = 0; k < n; k++) {
    p[k] = pt[idx[k]]->param;
    sc[k] = sch[f][idx[k]];
    cr_assert_eq(mt_series_alloc(&out[k], m, NT), 0);
    memcpy(out[k].t, ref[f][idx[k]].t, NT * sizeof(double));
  }
  mt_sim *s;
  int failed;
  cr_assert_eq(mt_sim_create(m, NULL, &s), 0);
  cr_assert_eq(mt_sim_run_many(s, n, p, sc, 0, NT - 1, out, &failed), 0,
               "%s", mt_sim_errmsg(s));
  for (int k = 0; k < n; k++) {
    const mt_series *a = &out[k], *r = &ref[f][idx[k]];
    cr_assert(memcmp(a->x, r->x, (size_t)NT * m->n_state * sizeof(double)) ==
                  0, "%s: states differ from the scalar run", pt[idx[k]]->id);
    cr_assert(memcmp(a->y, r->y, (size_t)NT * m->n_obs * sizeof(double)) == 0);
    cr_assert(memcmp(a->u, r->u, (size_t)NT * m->n_input * sizeof(double)) ==
              0);
    mt_series_clear(&out[k]);
  }
  mt_sim_free(s);
}

TestSuite(lanes, .init = load, .fini = unload, .timeout = 120);

Test(lanes, all_patients_bit_identical_to_scalar)
{
  int idx[NPT];
  for (int i = 0; i < NPT; i++)
    idx[i] = i;
  check_batch(0, idx, NPT);
  check_batch(1, idx, NPT);
}

Test(lanes, batch_mates_do_not_matter)
{
  int rev[NPT], odd[7] = {29, 3, 17, 11, 0, 22, 5};
  for (int i = 0; i < NPT; i++)
    rev[i] = NPT - 1 - i;
  check_batch(1, rev, NPT);
  check_batch(0, odd, 7);
  check_batch(1, odd + 2, 1);
  check_batch(0, odd + 1, 3);
}

Test(lanes, empty_batch_and_bad_arguments)
{
  mt_sim *s;
  int failed;
  cr_assert_eq(mt_sim_create(m, NULL, &s), 0);
  cr_assert_eq(mt_sim_run_many(s, 0, NULL, NULL, 0, 10, NULL, &failed), 0);
  cr_assert_eq(mt_sim_run_many(s, 2, NULL, NULL, 0, 10, NULL, &failed),
               MT_EINVAL);
  mt_sim_free(s);
}

/* From given states: every patient restarted at minute 600 from the state
** its own scalar run had there (memory from init) gives, batched, bit for
** bit what mt_sim_run gives from the same state. */
Test(lanes, from_given_states_bit_identical_to_scalar)
{
  const int t0 = 600, n = NT - t0;
  const double *p[NPT], *x0[NPT];
  const mt_schedule *sc[NPT];
  mt_series out[NPT], one;
  mt_sim *s;
  int failed;
  cr_assert_eq(mt_sim_create(m, NULL, &s), 0);
  cr_assert_eq(mt_series_alloc(&one, m, n), 0);
  for (int k = 0; k < n; k++)
    one.t[k] = t0 + k;
  for (int i = 0; i < NPT; i++) {
    p[i] = pt[i]->param;
    x0[i] = ref[1][i].x + (size_t)t0 * m->n_state;
    sc[i] = sch[1][i];
    cr_assert_eq(mt_series_alloc(&out[i], m, n), 0);
    memcpy(out[i].t, one.t, (size_t)n * sizeof(double));
  }
  cr_assert_eq(mt_sim_run_many_from(s, NPT, p, x0, NULL, sc, t0, NT - 1, out,
                                    &failed), 0, "%s", mt_sim_errmsg(s));
  for (int i = 0; i < NPT; i++) {
    cr_assert_eq(mt_sim_run(s, p[i], x0[i], NULL, sc[i], t0, NT - 1, &one),
                 0);
    cr_assert(memcmp(out[i].x, one.x, (size_t)n * m->n_state *
                     sizeof(double)) == 0, "%s", pt[i]->id);
    /* and it did start from the given state, not from init */
    cr_assert(memcmp(out[i].x, x0[i], (size_t)m->n_state * sizeof(double)) ==
              0);
    mt_series_clear(&out[i]);
  }
  mt_series_clear(&one);
  mt_sim_free(s);
}

/* Continuing a run: day.json changes the basal at minute 600, so a run over
** [0, 600] continued from its x_end and mem_end over [600, 1440] restarts
** exactly where the whole-day run does, and must reproduce it bit for bit;
** batched continuation likewise. */
static void check_continuation(int f, int t1)
{
  const int n2 = NT - t1;
  mt_sim *s;
  mt_series first, rest[NPT];
  const double *p[NPT], *x0[NPT], *mem0[NPT];
  const mt_schedule *sc[NPT];
  mt_series firsts[NPT];
  int failed;
  cr_assert_eq(mt_sim_create(m, NULL, &s), 0);
  for (int i = 0; i < NPT; i++) {
    cr_assert_eq(mt_series_alloc(&firsts[i], m, 1), 0);
    firsts[i].t[0] = 0;
    cr_assert_eq(mt_sim_run(s, pt[i]->param, NULL, NULL, sch[f][i], 0, t1,
                            &firsts[i]), 0);
    p[i] = pt[i]->param;
    x0[i] = firsts[i].x_end;
    mem0[i] = firsts[i].mem_end;
    sc[i] = sch[f][i];
    cr_assert_eq(mt_series_alloc(&rest[i], m, n2), 0);
    for (int k = 0; k < n2; k++)
      rest[i].t[k] = t1 + k;
  }
  cr_assert_eq(mt_sim_run_many_from(s, NPT, p, x0, mem0, sc, t1, NT - 1,
                                    rest, &failed), 0, "%s", mt_sim_errmsg(s));
  cr_assert_eq(mt_series_alloc(&first, m, n2), 0);
  memcpy(first.t, rest[0].t, (size_t)n2 * sizeof(double));
  for (int i = 0; i < NPT; i++) {
    const double *whole = ref[f][i].x + (size_t)t1 * m->n_state;
    size_t bytes = (size_t)n2 * m->n_state * sizeof(double);
    cr_assert(memcmp(rest[i].x, whole, bytes) == 0, "%s batched", pt[i]->id);
    cr_assert_eq(mt_sim_run(s, p[i], x0[i], mem0[i], sc[i], t1, NT - 1,
                            &first), 0);
    cr_assert(memcmp(first.x, whole, bytes) == 0, "%s scalar", pt[i]->id);
    cr_assert(memcmp(rest[i].x_end, first.x_end,
                     (size_t)m->n_state * sizeof(double)) == 0);
    cr_assert(memcmp(rest[i].mem_end, first.mem_end,
                     (size_t)m->n_mem * sizeof(double)) == 0);
    mt_series_clear(&rest[i]);
    mt_series_clear(&firsts[i]);
  }
  mt_series_clear(&first);
  mt_sim_free(s);
}

Test(lanes, continuation_from_end_state_and_memory) { check_continuation(0, 600); }

/* Continuing in the middle of a meal: three-meals.json's lunch is eaten over
** 750-765 in one-minute bites, so the whole run restarts at 757 as well. The
** continued run must see the meal as under way (the inputs before 757), not
** as a new meal, or the model's record of the meal eaten so far (and with it
** gastric emptying) is reset and the course departs from the whole run. */
Test(lanes, continuation_inside_a_meal) { check_continuation(1, 757); }

/* mt_sim_run_stream: patients whose days are cut into pieces at their own
** times, each next piece known only once the previous one is done (as a
** controller deciding on each piece's outcome), must give every piece bit
** for bit what mt_sim_run gives for that piece from the same state. */
#define NCUT 4
typedef struct stream_ctx {
  int f, n, next_i, queue[NPT], q_head, q_count;
  int piece[NPT];             /* the piece under way or next, per patient */
  double cut[NPT][NCUT + 2];  /* piece boundaries, minutes */
  double x[NPT][64], mem[NPT][16];
  mt_series out[NPT];
  mt_series ref[NPT];         /* the scalar chain's samples of this piece */
  mt_sim *scalar;
  int pieces_done, abort_at;
} stream_ctx;

static int stream_next(void *c_, mt_sim_piece *pc)
{
  stream_ctx *c = c_;
  if (!c->q_count)
    return 0;
  int i = c->queue[c->q_head];
  c->q_head = (c->q_head + 1) % NPT, c->q_count--;
  double t0 = c->cut[i][c->piece[i]], t1 = c->cut[i][c->piece[i] + 1];
  int n = (int)(t1 - t0) + 1;
  mt_series_clear(&c->out[i]);
  cr_assert_eq(mt_series_alloc(&c->out[i], m, n), 0);
  for (int k = 0; k < n; k++)
    c->out[i].t[k] = t0 + k;
  *pc = (mt_sim_piece){pt[i]->param, c->piece[i] ? c->x[i] : NULL,
                       c->piece[i] ? c->mem[i] : NULL, sch[c->f][i], t0, t1,
                       &c->out[i], i};
  return 1;
}

static int stream_done(void *c_, const mt_sim_piece *pc)
{
  stream_ctx *c = c_;
  int i = (int)pc->id;
  if (++c->pieces_done == c->abort_at)
    return MT_EIO;
  /* the same piece alone, from the same state */
  mt_series *r = &c->ref[i];
  mt_series_clear(r);
  cr_assert_eq(mt_series_alloc(r, m, c->out[i].n), 0);
  memcpy(r->t, c->out[i].t, (size_t)r->n * sizeof *r->t);
  cr_assert_eq(mt_sim_run(c->scalar, pc->p, pc->x0, pc->mem0, pc->sch, pc->t0,
                          pc->t_end, r), 0);
  const mt_series *o = &c->out[i];
  cr_assert_eq(memcmp(o->x, r->x, (size_t)o->n * m->n_state * sizeof *o->x),
               0, "patient %d piece %d: states differ", i, c->piece[i]);
  cr_assert_eq(memcmp(o->y, r->y, (size_t)o->n * m->n_obs * sizeof *o->y), 0);
  cr_assert_eq(memcmp(o->x_end, r->x_end, m->n_state * sizeof *o->x_end), 0);
  memcpy(c->x[i], o->x_end, m->n_state * sizeof *o->x_end);
  memcpy(c->mem[i], o->mem_end, m->n_mem * sizeof *o->mem_end);
  if (++c->piece[i] <= NCUT)
    c->queue[(c->q_head + c->q_count++) % NPT] = i;
  return 0;
}

static void stream_setup(stream_ctx *c, int f, int n)
{
  memset(c, 0, sizeof *c);
  cr_assert(m->n_state <= 64 && m->n_mem <= 16);
  c->f = f, c->n = n, c->abort_at = -1;
  for (int i = 0; i < n; i++) {
    c->cut[i][0] = 0;
    for (int j = 1; j <= NCUT; j++) /* uneven, different per patient */
      c->cut[i][j] = c->cut[i][j - 1] + 37 + (i * 53 + j * 211) % 300;
    c->cut[i][NCUT + 1] = NT - 1;
    cr_assert(c->cut[i][NCUT] < NT - 1);
    c->queue[c->q_count++] = i;
  }
  cr_assert_eq(mt_sim_create(m, NULL, &c->scalar), 0);
}

static void stream_free(stream_ctx *c)
{
  for (int i = 0; i < NPT; i++) {
    mt_series_clear(&c->out[i]);
    mt_series_clear(&c->ref[i]);
  }
  mt_sim_free(c->scalar);
}

Test(lanes, a_stream_of_pieces_is_bit_identical_to_each_piece_alone)
{
  static stream_ctx c;
  mt_sim *s;
  cr_assert_eq(mt_sim_create(m, NULL, &s), 0);
  for (int f = 0; f < 2; f++) {
    stream_setup(&c, f, NPT);
    long failed = 7;
    cr_assert_eq(mt_sim_run_stream(s, stream_next, stream_done, &c, &failed),
                 0, "%s", mt_sim_errmsg(s));
    cr_assert_eq(failed, -1);
    cr_assert_eq(c.pieces_done, NPT * (NCUT + 1));
    /* the chain of pieces ends where the whole day run ends (each piece
    ** continued from the last, not restarted from the steady state): plasma
    ** glucose at the end within 1e-4 mg/dL + 1e-6 relative, from the
    ** integrator's rtol = atol = 1e-8 a step (a restart changes the steps,
    ** so not bit for bit; one patient's glucose reaches 0 in day.json) */
    int bg = mt_var_index(m->obs, m->n_obs, "BG");
    for (int i = 0; i < NPT; i++) {
      double a = c.out[i].y[(size_t)(c.out[i].n - 1) * m->n_obs + bg];
      double b = ref[f][i].y[(size_t)(NT - 1) * m->n_obs + bg];
      cr_assert(fabs(a - b) <= 1e-4 + 1e-6 * fabs(b), "patient %d: BG %.17g pieces, "
                "%.17g whole", i, a, b);
    }
    stream_free(&c);
  }
  /* a callback that stops the stream: its code, the piece's id */
  stream_setup(&c, 0, 6);
  c.abort_at = 9;
  long failed = -1;
  cr_assert_eq(mt_sim_run_stream(s, stream_next, stream_done, &c, &failed),
               MT_EIO);
  cr_assert(failed >= 0 && failed < 6, "%ld", failed);
  stream_free(&c);
  cr_assert_eq(mt_sim_run_stream(s, NULL, stream_done, &c, &failed),
               MT_EINVAL);
  mt_sim_free(s);
}
