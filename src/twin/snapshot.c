/*
** The live twin's snapshot image (include/medtwin/twin.h): a writer, and a
** reader that checks the envelope (magic, byte order, version, length, a
** BLAKE2b-256 checksum, RFC 7693, by libsodium) before it parses anything,
** then checks every count against the bytes left and every value the twin
** indexes with, so that no image, however made, reads out of bounds.
**
** Layout after the 24-byte header, every field in the writer's byte order
** (i32/u32/i64/u64 integers, f64 IEEE 754 doubles, str = u32 length and
** the bytes, UINT32_MAX for none):
**   configuration  str model, group, exclude, sensor; u64 seed; i32
**                  members, method, detect_faults, open_loop; f64 of
**                  cfg_f64[] in its order
**   sizes          i32 n_state, n_param, n_mem, n_est, n_obs; i32 est[]
**   clock          f64 t_now; i64 readings; i32 fault episode; f64 ess,
**                  ess_sum; i64 analyses; i32 length of the course ahead
**   alerts         n_alert of the model's twin spec x (i32 armed, f64
**                  clear_since); per relative reading of the spec (none
**                  for the glucose model) f64 offset, t_base; i32 n; n x
**                  (i32 kind,
**                  f64 t, probability, predicted_t)
**   detector       i32 MT_FAULT_HIST; f64 x 21 (its configuration); i32
**                  n_read, n_hist, run_flat, ep, confirmed; f64 t_last,
**                  run_v, run_t0, ep_start, ref_v, ref_t, ref_s, jump_mgdl,
**                  prev_v, prev_t, floor_v, low_v; f64 hist_t[HIST],
**                  hist_v[HIST]
**   ensemble       i32 n_snap; n_snap x (f64 t, i64 readings, f64 members
**                  [N (n_param + n_state + n_mem)]); u8 1 when the members
**                  now are the newest snapshot's, else 0 and the members
**   inputs         per member: i32 n; n x (i32 kind, i32 input, f64 t0, t1,
**                  value, u32 flags)
**   log            i64 n; n x (datum, i32 verdict): the entries after the
**                  oldest snapshot (the ones a late datum can reach)
**   quarantine     i64 n; n x (datum, i32 reason: 0 mt_datum_check's, 1
**                  late, 2 duplicate, 2 + k sensor fault k, 2 +
**                  MT_FAULT_NKIND a kind the model's twin does not read)
** A datum is f64 t_min, i32 kind, f64 value, i32 line.
*/
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "medtwin/model.h"
#include "twin/twin_impl.h"

#define MAGIC "MTTWINSN"
#define BYTE_ORDER_MARK 0x01020304u
#define VERSION 1u
#define HEAD_LEN (8 + 4 + 4 + 8)
#define HASH_LEN 32 /* crypto_generichash_BYTES */
#define NONE_LEN UINT32_MAX

/* The configuration's numbers, compared one by one on restore. A field
** added to mt_twin_config that changes the twin's course belongs here
** (and in a new format version). */
static const struct {
  const char *name;
  size_t off;
} cfg_f64[] = {
    {"inflation", offsetof(mt_twin_config, inflation)},
    {"r_scale", offsetof(mt_twin_config, r_scale)},
    {"meal_min_lo", offsetof(mt_twin_config, meal_min_lo)},
    {"meal_min_hi", offsetof(mt_twin_config, meal_min_hi)},
    {"meal_sd", offsetof(mt_twin_config, meal_sd)},
    {"state_sd", offsetof(mt_twin_config, state_sd)},
    {"rtps", offsetof(mt_twin_config, rtps)},
    {"late_window_min", offsetof(mt_twin_config, late_window_min)},
    {"tol", offsetof(mt_twin_config, tol)},
    {"process_sd", offsetof(mt_twin_config, process_sd)},
    {"clock_offset_min", offsetof(mt_twin_config, clock_offset_min)},
    {"pf_h", offsetof(mt_twin_config, pf_h)}};
#define N_CFG_F64 (int)(sizeof cfg_f64 / sizeof cfg_f64[0])

/* The detector's configuration (every field, all doubles) and its scalar
** doubles, in image order. */
#define FD_CFG_N 21
#define FD_F64_N 12
_Static_assert(sizeof(mt_fault_config) == FD_CFG_N * sizeof(double),
               "mt_fault_config changed: update the twin's snapshot image");

static void fd_f64(mt_fault_detector *d, double **cfg, double **f)
{
  mt_fault_config *c = &d->cfg;
  double *a[FD_CFG_N] = {
      &c->flat_mgdl,       &c->flat_min,        &c->sensor_lo_mgdl,
      &c->sensor_hi_mgdl,  &c->jump_rate,       &c->k_sd,
      &c->jump_return_frac, &c->jump_settle_min, &c->trend_min,
      &c->night_start_min, &c->night_end_min,   &c->comp_rate,
      &c->comp_pre_rate,   &c->comp_k_sd,       &c->comp_window_min,
      &c->comp_confirm_min, &c->comp_depth_mgdl, &c->comp_low_mgdl,
      &c->comp_recover_frac, &c->comp_max_min,  &c->gap_min};
  double *v[FD_F64_N] = {&d->t_last, &d->run_v,  &d->run_t0, &d->ep_start,
                         &d->ref_v,  &d->ref_t,  &d->ref_s,  &d->jump_mgdl,
                         &d->prev_v, &d->prev_t, &d->floor_v, &d->low_v};
  memcpy(cfg, a, sizeof a);
  memcpy(f, v, sizeof v);
}

/* ---- writing --------------------------------------------------------- */

typedef struct wbuf {
  unsigned char *p;
  size_t n, cap;
  int oom;
} wbuf;

static void put(wbuf *w, const void *v, size_t size)
{
  if (w->oom || size == 0)
    return;
  if (size > w->cap - w->n) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - w->n < size)
      cap *= 2;
    unsigned char *p = realloc(w->p, cap);
    if (!p) {
      w->oom = 1;
      return;
    }
    w->p = p, w->cap = cap;
  }
  memcpy(w->p + w->n, v, size);
  w->n += size;
}

static void put_i32(wbuf *w, int32_t v) { put(w, &v, sizeof v); }
static void put_u32(wbuf *w, uint32_t v) { put(w, &v, sizeof v); }
static void put_i64(wbuf *w, int64_t v) { put(w, &v, sizeof v); }
static void put_u64(wbuf *w, uint64_t v) { put(w, &v, sizeof v); }
static void put_f64(wbuf *w, double v) { put(w, &v, sizeof v); }
static void put_u8(wbuf *w, unsigned char v) { put(w, &v, 1); }

static void put_str(wbuf *w, const char *s)
{
  if (!s) {
    put_u32(w, NONE_LEN);
    return;
  }
  size_t n = strlen(s);
  put_u32(w, (uint32_t)n);
  put(w, s, n);
}

static void put_datum(wbuf *w, const mt_datum *d)
{
  put_f64(w, d->t_min);
  put_i32(w, (int32_t)d->kind);
  put_f64(w, d->value);
  put_i32(w, d->line);
}

static void write_config(wbuf *w, const mt_twin *tw)
{
  const mt_twin_config *c = &tw->cfg;
  put_str(w, c->model);
  put_str(w, c->group);
  put_str(w, c->exclude);
  put_str(w, c->sensor);
  put_u64(w, c->seed);
  put_i32(w, c->members);
  put_i32(w, (int32_t)c->method);
  put_i32(w, c->detect_faults);
  put_i32(w, c->open_loop);
  for (int k = 0; k < N_CFG_F64; k++)
    put_f64(w, *(const double *)((const char *)c + cfg_f64[k].off));
  put_i32(w, tw->ns);
  put_i32(w, tw->np);
  put_i32(w, tw->nm);
  put_i32(w, tw->ne);
  put_i32(w, tw->m->n_obs);
  for (int k = 0; k < tw->ne; k++)
    put_i32(w, tw->est[k]);
}

static void write_clock_alerts(wbuf *w, const mt_twin *tw)
{
  put_f64(w, tw->t_now);
  put_i64(w, tw->n_reading);
  put_i32(w, (int32_t)tw->fault_ep);
  put_f64(w, tw->ess);
  put_f64(w, tw->ess_sum);
  put_i64(w, tw->n_analysis);
  put_i32(w, tw->want_nt);
  for (int k = 0; k < tw->spec->n_alert; k++) {
    put_i32(w, tw->episode[k].armed);
    put_f64(w, tw->episode[k].clear_since);
  }
  for (int k = 0; k < tw->spec->n_obs; k++)
    if (tw->spec->obs[k].relative) {
      put_f64(w, tw->offset[k]);
      put_f64(w, tw->t_base[k]);
    }
  put_i32(w, tw->n_alert);
  for (int k = 0; k < tw->n_alert; k++) {
    const mt_twin_alert *a = &tw->alert[k];
    put_i32(w, (int32_t)a->kind);
    put_f64(w, a->t_min);
    put_f64(w, a->probability);
    put_f64(w, a->predicted_t_min);
  }
}

static void write_detector(wbuf *w, const mt_twin *tw)
{
  mt_fault_detector d = tw->fd;
  double *cfg[FD_CFG_N], *f[FD_F64_N];
  fd_f64(&d, cfg, f);
  put_i32(w, MT_FAULT_HIST);
  for (int k = 0; k < FD_CFG_N; k++)
    put_f64(w, *cfg[k]);
  put_i32(w, d.n_read);
  put_i32(w, d.n_hist);
  put_i32(w, d.run_flat);
  put_i32(w, (int32_t)d.ep);
  put_i32(w, d.confirmed);
  for (int k = 0; k < FD_F64_N; k++)
    put_f64(w, *f[k]);
  put(w, d.hist_t, sizeof d.hist_t);
  put(w, d.hist_v, sizeof d.hist_v);
}

static void write_ensemble(wbuf *w, const mt_twin *tw)
{
  size_t nd = mt_twin_member_doubles(tw);
  put_i32(w, tw->n_snap);
  for (int k = 0; k < tw->n_snap; k++) {
    put_f64(w, tw->snap[k].t);
    put_i64(w, tw->snap[k].n_reading);
    put(w, tw->snap[k].v, nd * sizeof(double));
  }
  int same = tw->n_snap > 0 &&
             memcmp(tw->snap[tw->n_snap - 1].v, tw->P,
                    nd * sizeof(double)) == 0;
  put_u8(w, (unsigned char)same);
  if (!same)
    put(w, tw->P, nd * sizeof(double));
}

static void write_inputs(wbuf *w, const mt_twin *tw)
{
  for (int i = 0; i < tw->N; i++) {
    int n = mt_schedule_count(tw->sch[i]);
    put_i32(w, n);
    for (int j = 0; j < n; j++) {
      mt_schedule_event e;
      mt_schedule_event_at(tw->sch[i], j, &e);
      put_i32(w, (int32_t)e.kind);
      put_i32(w, e.k);
      put_f64(w, e.t0);
      put_f64(w, e.t1);
      put_f64(w, e.value);
      put_u32(w, e.flags);
    }
  }
}

/* The quarantine reason as a code (see the layout above). */
static int32_t reason_code(const char *why)
{
  if (why == mt_twin_reason_late)
    return 1;
  if (why == mt_twin_reason_duplicate)
    return 2;
  for (int k = 1; k < MT_FAULT_NKIND; k++)
    if (why == mt_twin_reason_fault[k])
      return 2 + k;
  if (why == mt_twin_reason_unused)
    return 2 + MT_FAULT_NKIND;
  return 0;
}

static void write_logs(wbuf *w, const mt_twin *tw)
{
  double t0 = tw->n_snap ? tw->snap[0].t : -INFINITY;
  long j = 0;
  while (j < tw->n_log && !(tw->log[j].d.t_min > t0))
    j++;
  put_i64(w, tw->n_log - j);
  for (; j < tw->n_log; j++) {
    put_datum(w, &tw->log[j].d);
    put_i32(w, (int32_t)tw->log[j].fault);
  }
  put_i64(w, tw->n_quar);
  for (long k = 0; k < tw->n_quar; k++) {
    put_datum(w, &tw->quar[k].datum);
    put_i32(w, reason_code(tw->quar[k].reason));
  }
}

int mt_twin_snapshot(const mt_twin *tw, void **blob, size_t *len)
{
  if (!blob || !len)
    return MT_EINVAL;
  *blob = NULL, *len = 0;
  if (!tw)
    return MT_EINVAL;
  wbuf w = {0};
  put(&w, MAGIC, 8);
  put_u32(&w, BYTE_ORDER_MARK);
  put_u32(&w, VERSION);
  put_u64(&w, 0); /* the length, once known */
  write_config(&w, tw);
  write_clock_alerts(&w, tw);
  write_detector(&w, tw);
  write_ensemble(&w, tw);
  write_inputs(&w, tw);
  write_logs(&w, tw);
  unsigned char hash[HASH_LEN] = {0};
  put(&w, hash, HASH_LEN); /* room for it */
  if (w.oom) {
    free(w.p);
    return MT_ENOMEM;
  }
  uint64_t n = w.n;
  memcpy(w.p + 16, &n, sizeof n);
  crypto_generichash(w.p + w.n - HASH_LEN, HASH_LEN, w.p, w.n - HASH_LEN,
                     NULL, 0);
  *blob = w.p, *len = w.n;
  return 0;
}

/* ---- reading --------------------------------------------------------- */

typedef struct rbuf {
  const unsigned char *p;
  size_t n, at;
  const char *bad; /* the first part found wrong, NULL while none */
} rbuf;

static void get(rbuf *r, void *v, size_t size, const char *what)
{
  if (r->bad || size > r->n - r->at) {
    if (!r->bad)
      r->bad = what;
    memset(v, 0, size);
    return;
  }
  if (size)
    memcpy(v, r->p + r->at, size);
  r->at += size;
}

static int32_t get_i32(rbuf *r, const char *what)
{
  int32_t v;
  get(r, &v, sizeof v, what);
  return v;
}

static uint32_t get_u32(rbuf *r, const char *what)
{
  uint32_t v;
  get(r, &v, sizeof v, what);
  return v;
}

static int64_t get_i64(rbuf *r, const char *what)
{
  int64_t v;
  get(r, &v, sizeof v, what);
  return v;
}

static double get_f64(rbuf *r, const char *what)
{
  double v;
  get(r, &v, sizeof v, what);
  return v;
}

/* Marks the image bad (naming `what`) unless ok; returns ok. */
static int expect(rbuf *r, int ok, const char *what)
{
  if (!ok && !r->bad)
    r->bad = what;
  return ok && !r->bad;
}

/* Whether count records of size bytes fit in what is left. */
static int room(rbuf *r, int64_t count, size_t size, const char *what)
{
  return expect(r, count >= 0 && (uint64_t)count <= (r->n - r->at) / size,
                what);
}

static void get_datum(rbuf *r, mt_datum *d, const char *what)
{
  d->t_min = get_f64(r, what);
  d->kind = (mt_stream_kind)get_i32(r, what); /* as it came, even an
                       ** unknown kind (the quarantine keeps those) */
  d->value = get_f64(r, what);
  d->line = get_i32(r, what);
}

/* Whether the next string equals s (NULL: none). */
static int same_str(rbuf *r, const char *s)
{
  uint32_t n = get_u32(r, "configuration");
  if (n == NONE_LEN || r->bad)
    return !s && !r->bad;
  if (!room(r, n, 1, "configuration"))
    return 0;
  int eq = s && strlen(s) == n && memcmp(r->p + r->at, s, n) == 0;
  r->at += n;
  return eq;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *what)
{
  if (err && errlen)
    snprintf(err, errlen, fmt, what);
  return MT_EINVAL;
}

/* Magic, byte order, version, length and checksum; 0 or MT_EINVAL. */
static int check_envelope(const unsigned char *p, size_t len, char *err,
                          size_t errlen)
{
  if (!p || len < HEAD_LEN + HASH_LEN)
    return fail(err, errlen, "twin: snapshot: %s", "image too short");
  if (memcmp(p, MAGIC, 8) != 0)
    return fail(err, errlen, "twin: snapshot: %s",
                "not a twin snapshot (bad magic)");
  uint32_t bom, version;
  uint64_t n;
  memcpy(&bom, p + 8, 4);
  memcpy(&version, p + 12, 4);
  memcpy(&n, p + 16, 8);
  if (bom != BYTE_ORDER_MARK)
    return fail(err, errlen, "twin: snapshot: %s",
                bom == 0x04030201u ? "written on a machine of the other "
                                     "byte order"
                                   : "corrupt header (byte-order mark)");
  if (version != VERSION) {
    if (err && errlen)
      snprintf(err, errlen, "twin: snapshot: format version %u; this "
               "build reads version %u", (unsigned)version, VERSION);
    return MT_EINVAL;
  }
  if (n != len) {
    if (err && errlen)
      snprintf(err, errlen, "twin: snapshot: %zu bytes where the header "
               "says %llu (truncated or extended)", len,
               (unsigned long long)n);
    return MT_EINVAL;
  }
  unsigned char h[HASH_LEN];
  crypto_generichash(h, HASH_LEN, p, len - HASH_LEN, NULL, 0);
  if (memcmp(h, p + len - HASH_LEN, HASH_LEN) != 0)
    return fail(err, errlen, "twin: snapshot: %s",
                "checksum mismatch: the image is corrupt");
  return 0;
}

/* The configuration part against cfg: NULL, or the first field that
** differs. */
static const char *config_differs(rbuf *r, const mt_twin_config *c)
{
  if (!same_str(r, c->model))
    return "model";
  if (!same_str(r, c->group))
    return "group";
  if (!same_str(r, c->exclude))
    return "exclude";
  if (!same_str(r, c->sensor))
    return "sensor";
  uint64_t seed;
  get(r, &seed, sizeof seed, "configuration");
  if (seed != c->seed)
    return "seed";
  if (get_i32(r, "configuration") != c->members)
    return "members";
  if (get_i32(r, "configuration") != (int32_t)c->method)
    return "method";
  if (get_i32(r, "configuration") != c->detect_faults)
    return "detect_faults";
  if (get_i32(r, "configuration") != c->open_loop)
    return "open_loop";
  for (int k = 0; k < N_CFG_F64; k++) {
    double a = get_f64(r, "configuration");
    double b = *(const double *)((const char *)c + cfg_f64[k].off);
    if (memcmp(&a, &b, sizeof a) != 0) /* bit for bit */
      return cfg_f64[k].name;
  }
  return NULL;
}

/* The model's sizes against the twin made from cfg: 0 when they match. */
static int sizes_differ(rbuf *r, const mt_twin *tw)
{
  const char *w = "sizes";
  int d = get_i32(r, w) != tw->ns;
  d |= get_i32(r, w) != tw->np;
  d |= get_i32(r, w) != tw->nm;
  d |= get_i32(r, w) != tw->ne;
  d |= get_i32(r, w) != tw->m->n_obs;
  for (int k = 0; !d && k < tw->ne; k++)
    d |= get_i32(r, w) != tw->est[k];
  return d || r->bad;
}

static void read_clock_alerts(rbuf *r, mt_twin *tw)
{
  const char *w = "clock";
  tw->t_now = get_f64(r, w);
  int64_t nr = get_i64(r, w);
  int32_t ep = get_i32(r, w);
  tw->ess = get_f64(r, w);
  tw->ess_sum = get_f64(r, w);
  int64_t na = get_i64(r, w);
  int32_t want = get_i32(r, w);
  if (!expect(r, isfinite(tw->t_now) && nr >= 0 && nr <= LONG_MAX &&
                     ep >= 0 && ep < MT_FAULT_NKIND && na >= 0 &&
                     na <= LONG_MAX && want >= 0 && want <= AHEAD_MAX,
              w))
    return;
  tw->n_reading = (long)nr, tw->fault_ep = (mt_fault_kind)ep;
  tw->n_analysis = (long)na, tw->want_nt = want;
  w = "alerts";
  for (int k = 0; k < tw->spec->n_alert; k++) {
    int32_t armed = get_i32(r, w);
    tw->episode[k].armed = armed;
    tw->episode[k].clear_since = get_f64(r, w);
    expect(r, armed == 0 || armed == 1, w);
  }
  for (int k = 0; k < tw->spec->n_obs; k++)
    if (tw->spec->obs[k].relative) {
      tw->offset[k] = get_f64(r, w);
      tw->t_base[k] = get_f64(r, w);
      expect(r, !isnan(tw->offset[k]) == !isnan(tw->t_base[k]), w);
    }
  int32_t n = get_i32(r, w);
  if (!expect(r, n >= 0 && n <= MT_ALERT_NKIND, w))
    return;
  tw->n_alert = n;
  for (int k = 0; k < n; k++) {
    int32_t kind = get_i32(r, w);
    mt_twin_alert *a = &tw->alert[k];
    a->kind = kind >= 0 && kind < MT_ALERT_NKIND ? (mt_alert_kind)kind
                                                 : MT_ALERT_HYPO;
    a->t_min = get_f64(r, w);
    a->probability = get_f64(r, w);
    a->predicted_t_min = get_f64(r, w);
    expect(r, kind >= 0 && kind < MT_ALERT_NKIND, w);
  }
}

static void read_detector(rbuf *r, mt_twin *tw)
{
  const char *w = "fault detector";
  mt_fault_detector d;
  memset(&d, 0, sizeof d);
  double *cfg[FD_CFG_N], *f[FD_F64_N];
  fd_f64(&d, cfg, f);
  if (!expect(r, get_i32(r, w) == MT_FAULT_HIST, w))
    return;
  for (int k = 0; k < FD_CFG_N; k++)
    *cfg[k] = get_f64(r, w);
  d.n_read = get_i32(r, w);
  d.n_hist = get_i32(r, w);
  d.run_flat = get_i32(r, w);
  int32_t ep = get_i32(r, w);
  d.confirmed = get_i32(r, w);
  for (int k = 0; k < FD_F64_N; k++)
    *f[k] = get_f64(r, w);
  get(r, d.hist_t, sizeof d.hist_t, w);
  get(r, d.hist_v, sizeof d.hist_v, w);
  mt_fault_detector probe; /* the thresholds pass the detector's checks */
  if (!expect(r, d.n_read >= 0 && d.n_hist >= 0 &&
                     d.n_hist <= MT_FAULT_HIST && ep >= 0 &&
                     ep < MT_FAULT_NKIND &&
                     mt_fault_init(&probe, &d.cfg) == 0,
              w))
    return;
  d.ep = (mt_fault_kind)ep;
  tw->fd = d;
}

static int read_ensemble(rbuf *r, mt_twin *tw)
{
  const char *w = "ensemble";
  size_t nd = mt_twin_member_doubles(tw), bytes = nd * sizeof(double);
  int32_t n = get_i32(r, w);
  if (!room(r, n, bytes + 16, w) || !expect(r, n >= 1, w))
    return 0;
  for (int k = 0; k < tw->n_snap; k++) /* mt_twin_create's start */
    free(tw->snap[k].v);
  tw->n_snap = 0;
  if (n > tw->cap_snap) {
    struct snapshot *s = realloc(tw->snap, (size_t)n * sizeof *s);
    if (!s)
      return MT_ENOMEM;
    tw->snap = s, tw->cap_snap = n;
  }
  for (int k = 0; k < n; k++) {
    struct snapshot *s = &tw->snap[k];
    s->t = get_f64(r, w);
    int64_t nr = get_i64(r, w);
    s->n_reading = (long)(nr >= 0 && nr <= LONG_MAX ? nr : 0);
    expect(r, nr >= 0 && nr <= LONG_MAX && !isnan(s->t), w);
    if (!(s->v = malloc(bytes)))
      return MT_ENOMEM;
    tw->n_snap++;
    get(r, s->v, bytes, w);
  }
  unsigned char same;
  get(r, &same, 1, w);
  if (!expect(r, same <= 1, w))
    return 0;
  if (same)
    memcpy(tw->P, tw->snap[n - 1].v, bytes);
  else
    get(r, tw->P, bytes, w);
  return 0;
}

static int read_inputs(rbuf *r, mt_twin *tw)
{
  const char *w = "inputs";
  enum { EV_BYTES = 4 + 4 + 3 * 8 + 4 };
  for (int i = 0; i < tw->N && !r->bad; i++) {
    int32_t n = get_i32(r, w);
    if (!room(r, n, EV_BYTES, w))
      return 0;
    for (int j = 0; j < n; j++) {
      mt_schedule_event e;
      int32_t kind = get_i32(r, w);
      e.kind = (mt_schedule_kind)(kind >= 0 && kind <= MT_SCHEDULE_PULSE
                                      ? kind
                                      : -1);
      e.k = get_i32(r, w);
      e.t0 = get_f64(r, w);
      e.t1 = get_f64(r, w);
      e.value = get_f64(r, w);
      e.flags = get_u32(r, w);
      int rc = r->bad ? 0 : mt_schedule_add(tw->sch[i], &e);
      if (rc == MT_ENOMEM)
        return rc;
      if (!expect(r, rc == 0, w))
        return 0;
    }
  }
  return 0;
}

static int read_log(rbuf *r, mt_twin *tw)
{
  const char *w = "observation log";
  enum { DATUM_BYTES = 8 + 4 + 8 + 4 };
  int64_t n = get_i64(r, w);
  if (!room(r, n, DATUM_BYTES + 4, w))
    return 0;
  long cap = n > 1024 ? (long)n : 1024;
  struct entry *l = malloc((size_t)cap * sizeof *l);
  if (!l)
    return MT_ENOMEM;
  free(tw->log);
  tw->log = l, tw->cap_log = cap, tw->n_log = 0;
  for (int64_t k = 0; k < n && !r->bad; k++) {
    struct entry *e = &tw->log[k];
    get_datum(r, &e->d, w);
    int32_t fault = get_i32(r, w);
    e->fault = fault >= 0 && fault < MT_FAULT_NKIND ? (mt_fault_kind)fault
                                                    : MT_FAULT_NONE;
    /* accepted data passed the checks, and the log is in time order */
    expect(r, !mt_datum_check(&e->d) && fault >= 0 &&
                  fault < MT_FAULT_NKIND &&
                  (k == 0 || e->d.t_min >= e[-1].d.t_min),
           w);
    tw->n_log = (long)k + 1;
  }
  return 0;
}

static int read_quarantine(rbuf *r, mt_twin *tw)
{
  const char *w = "quarantine";
  enum { DATUM_BYTES = 8 + 4 + 8 + 4 };
  int64_t n = get_i64(r, w);
  if (!room(r, n, DATUM_BYTES + 4, w))
    return 0;
  if (n > tw->cap_quar) {
    mt_twin_quarantined *q = realloc(tw->quar, (size_t)n * sizeof *q);
    if (!q)
      return MT_ENOMEM;
    tw->quar = q, tw->cap_quar = (long)n;
  }
  for (int64_t k = 0; k < n && !r->bad; k++) {
    mt_twin_quarantined *q = &tw->quar[k];
    get_datum(r, &q->datum, w);
    int32_t code = get_i32(r, w);
    const char *check = mt_datum_check(&q->datum);
    q->reason = code == 0                       ? check
                : code == 1                     ? mt_twin_reason_late
                : code == 2                     ? mt_twin_reason_duplicate
                : code > 2 && code < 2 + MT_FAULT_NKIND
                    ? mt_twin_reason_fault[code - 2]
                : code == 2 + MT_FAULT_NKIND ? mt_twin_reason_unused
                                             : NULL;
    /* a reason of its own only for data that passed the checks */
    expect(r, q->reason && (code == 0) == (check != NULL), w);
    tw->n_quar = (long)k + 1;
  }
  return 0;
}

/* The state part into tw (made from the same configuration). */
static int read_state(rbuf *r, mt_twin *tw)
{
  read_clock_alerts(r, tw);
  read_detector(r, tw);
  int rc = read_ensemble(r, tw);
  if (!rc)
    rc = read_inputs(r, tw);
  if (!rc)
    rc = read_log(r, tw);
  if (!rc)
    rc = read_quarantine(r, tw);
  if (!rc)
    expect(r, r->at == r->n, "trailing bytes");
  tw->ahead_ok = 0; /* the course ahead is run again, to want_nt samples */
  return rc;
}

int mt_twin_restore(const mt_twin_config *cfg, const void *blob, size_t len,
                    mt_twin **out, char *err, size_t errlen)
{
  if (!out)
    return MT_EINVAL;
  *out = NULL;
  if (!cfg)
    return fail(err, errlen, "twin: snapshot: %s", "no configuration");
  int rc = check_envelope(blob, len, err, errlen);
  if (rc)
    return rc;
  rbuf r = {(const unsigned char *)blob, len - HASH_LEN, HEAD_LEN, NULL};
  const char *diff = config_differs(&r, cfg);
  if (r.bad)
    return fail(err, errlen, "twin: snapshot: corrupt image (%s)", r.bad);
  if (diff)
    return fail(err, errlen, "twin: snapshot: written under another "
                "configuration (%s differs)", diff);
  mt_twin *tw;
  if ((rc = mt_twin_create(cfg, &tw, err, errlen)))
    return rc;
  if (sizes_differ(&r, tw)) {
    mt_twin_free(tw);
    return fail(err, errlen, "twin: snapshot: the %s differ: written by "
                "another version of the model or prior", "model's sizes");
  }
  rc = read_state(&r, tw);
  if (!rc && r.bad)
    rc = fail(err, errlen, "twin: snapshot: corrupt image (%s)", r.bad);
  else if (rc)
    fail(err, errlen, "twin: snapshot: %s", mt_strerror(rc));
  if (rc) {
    mt_twin_free(tw);
    return rc;
  }
  *out = tw;
  return 0;
}
