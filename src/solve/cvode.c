/*
** The SUNDIALS CVODE backend: variable-order BDF with Newton iteration and a
** dense direct linear solver on CVODE's difference-quotient Jacobian
** (Hindmarsh et al., "SUNDIALS: Suite of nonlinear and differential/algebraic
** equation solvers", ACM TOMS 31(3), 2005; CVODE user guide v6.4.1). State
** events use CVODE's own root finding in the model's root directions, with
** the event just handled kept from being found again at the restart (see
** g_eval), and three checks of our own where CVODE does not look: the last
** roundoff-wide gap before a segment's stop time (gap_root), roots closer
** together than CVODE's tolerance (cv_root), and segments too short for
** CVODE to start on, crossed by one Euler step (tiny_segment). Everything is
** allocated once per sim; each segment restarts the method with
** CVodeReInit, so inputs stay constant over what CVODE sees. The model is
** reached only
** through mt_rhs_eval and mt_roots_eval, whose return conventions are
** CVODE's own. CVODE's error messages go into the run's message, never to
** stderr.
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>

#include "medtwin/error.h"
#include "solve/integrator.h"

typedef struct cvb {
  int n, nr;
  long max_steps;
  SUNContext sunctx;
  N_Vector y, yi;    /* the solution; the interpolant at a root search point */
  SUNMatrix A;
  SUNLinearSolver LS;
  void *mem;
  mt_rhs_ctx *c;     /* context of the advance call in progress */
  double h_last;     /* last step of the previous advance (root tolerance) */
  double t_root;     /* time of the last root returned, or NAN */
  double t_hair;     /* end of the window after it in which its g is frozen */
  int hair;          /* the window covers the start of this segment */
  double t_known;    /* last time at which the signs of g are known */
  double *f0, *xh;   /* n: derivative at the start, state at t_hair */
  double *gh, *gk, *g1; /* nr: g at t_hair, at t_known, scratch */
  int *rootsfound;   /* nr: the roots of the last root return */
  int *dir;          /* nr: the model's root_dir, or 0 */
  unsigned char *fired; /* nr: the functions of the last root returned */
  char msg[MT_ERRMSG_MAX]; /* CVODE's last error message */
} cvb;

/* CVODE's right-hand side: the wrapper's code is CVODE's convention. */
static int cv_rhs(sunrealtype t, N_Vector y, N_Vector ydot, void *ud)
{
  cvb *b = ud;
  return mt_rhs_eval(b->c, t, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot));
}

/*
** Root functions as CVODE sees them. A root is returned where g already has
** its new sign or lies within CVODE's root tolerance of zero; when on_root
** then reverses the motion, g crosses back within that tolerance and CVODE
** would find the same event again. So for a hair after a returned root
** (t_hair, twice the tolerance), the g that fired there are frozen at their
** value at t_hair, as the DOPRI5 backend takes signs a hair into a restart.
** Every other g, and every g away from a root, is taken as it is, so a
** crossing just after an event or an input boundary is still found. Our own
** checks (segment ends, short segments) use the same values.
*/
static void g_eval(cvb *b, double t, const double *x, double *g)
{
  mt_roots_eval(b->c, t, x, g);
  if (b->hair && t < b->t_hair)
    for (int r = 0; r < b->nr; r++)
      if (b->fired[r])
        g[r] = b->gh[r];
}

static int cv_g(sunrealtype t, N_Vector y, sunrealtype *g, void *ud)
{
  g_eval(ud, t, N_VGetArrayPointer(y), g);
  return 0;
}

/* Whether g went from a to b through zero in direction dir (-1 down, +1
** up, 0 either), as CVODE counts it: a g exactly zero at the start has no
** sign yet, one that reaches zero has crossed. */
static int crossed(double a, double b, int dir)
{
  if (a == 0 || (b != 0 && (a > 0) == (b > 0)))
    return 0;
  return dir == 0 || (dir < 0 ? a > 0 : a < 0);
}

/* Errors are kept for the message of advance(); warnings are dropped. The
** library never prints. */
static void cv_err(int code, const char *module, const char *function,
                   char *msg, void *ud)
{
  cvb *b = ud;
  (void)module;
  if (code < 0)
    snprintf(b->msg, sizeof b->msg, "%s: %s", function, msg);
}

static void cvb_free(void *state)
{
  cvb *b = state;
  if (!b)
    return;
  if (b->mem)
    CVodeFree(&b->mem);
  if (b->LS)
    SUNLinSolFree(b->LS);
  if (b->A)
    SUNMatDestroy(b->A);
  if (b->yi)
    N_VDestroy(b->yi);
  if (b->y)
    N_VDestroy(b->y);
  if (b->sunctx)
    SUNContext_Free(&b->sunctx);
  free(b->f0);
  free(b->rootsfound);
  free(b->fired);
  free(b);
}

/* Optional inputs and callbacks that stay in force across CVodeReInit. */
static int cvb_setup(cvb *b, const mt_sim_config *cfg)
{
  void *mem = b->mem;
  if (CVodeSetErrHandlerFn(mem, cv_err, b) ||
      CVodeInit(mem, cv_rhs, 0.0, b->y) ||
      CVodeSetUserData(mem, b) ||
      CVodeSStolerances(mem, cfg->rtol, cfg->atol) ||
      CVodeSetLinearSolver(mem, b->LS, b->A) ||
      (cfg->h_max > 0 && CVodeSetMaxStep(mem, cfg->h_max)) ||
      CVodeSetMaxHnilWarns(mem, -1))
    return MT_ENOMEM;
  if (b->nr && (CVodeRootInit(mem, b->nr, cv_g) ||
                CVodeSetRootDirection(mem, b->dir) ||
                CVodeSetNoInactiveRootWarn(mem)))
    return MT_ENOMEM;
  return 0;
}

/* Per-sim arrays: n-vectors f0, xh; nr-vectors gh, gk, g1; root flags and
** directions. Returns 0 or MT_ENOMEM. */
static int cvb_arrays(cvb *b, const mt_model *m)
{
  size_t n = (size_t)b->n, nr = (size_t)b->nr;
  b->f0 = calloc(2 * n + 3 * nr, sizeof *b->f0);
  b->rootsfound = calloc(2 * nr + 1, sizeof *b->rootsfound);
  b->fired = calloc(nr + 1, 1);
  if (!b->f0 || !b->rootsfound || !b->fired)
    return MT_ENOMEM;
  b->xh = b->f0 + n;
  b->gh = b->xh + n;
  b->gk = b->gh + nr;
  b->g1 = b->gk + nr;
  b->dir = b->rootsfound + nr;
  for (size_t r = 0; m->root_dir && r < nr; r++)
    b->dir[r] = m->root_dir[r] < 0 ? -1 : m->root_dir[r] > 0;
  return 0;
}

static int cvb_create(const mt_model *m, const mt_sim_config *cfg,
                      void **state)
{
  *state = NULL;
  if (!(cfg->rtol > 0) || !(cfg->atol > 0) || m->n_state <= 0)
    return MT_EINVAL;
  cvb *b = calloc(1, sizeof *b);
  if (!b)
    return MT_ENOMEM;
  b->n = m->n_state;
  b->nr = m->n_root > 0 && m->roots ? m->n_root : 0;
  b->max_steps = cfg->max_steps > 0 ? cfg->max_steps : 500000;
  b->t_root = b->t_hair = NAN;
  sunindextype n = (sunindextype)b->n;
  int rc = cvb_arrays(b, m);
  if (!rc && SUNContext_Create(NULL, &b->sunctx))
    rc = MT_ENOMEM;
  if (!rc) {
    rc = MT_ENOMEM;
    b->y = N_VNew_Serial(n, b->sunctx);
    b->yi = b->y ? N_VNew_Serial(n, b->sunctx) : NULL;
    b->A = b->yi ? SUNDenseMatrix(n, n, b->sunctx) : NULL;
    b->LS = b->A ? SUNLinSol_Dense(b->y, b->A, b->sunctx) : NULL;
    b->mem = b->LS ? CVodeCreate(CV_BDF, b->sunctx) : NULL;
    if (b->mem)
      rc = cvb_setup(b, cfg);
  }
  if (rc) {
    cvb_free(b);
    return rc;
  }
  *state = b;
  return 0;
}

/* g at t_hair for a segment that starts at t0 inside the window, from one
** Euler step of the state x at t0 (the window is a few units of roundoff). */
static int roots_at_hair(cvb *b, mt_rhs_ctx *c, double t0, const double *x)
{
  b->hair = 0;
  if (!b->nr || !(t0 >= b->t_root && t0 < b->t_hair))
    return 0;
  int rc = mt_rhs_eval(c, t0, x, b->f0);
  if (rc < 0)
    return rc;
  if (rc > 0) /* with no derivative, CVODE sees g as it is */
    return 0;
  for (int i = 0; i < b->n; i++)
    b->xh[i] = x[i] + (b->t_hair - t0) * b->f0[i];
  mt_roots_eval(c, b->t_hair, b->xh, b->gh);
  b->hair = 1;
  return 0;
}

/* Remember the event returned at t with the functions in fired, so that
** the next segment does not find it again: the window is twice CVODE's
** root tolerance 100 u (|t| + |h|), h the last step. */
static void mark_event(cvb *b, double t, const unsigned char *fired)
{
  b->t_root = t;
  b->t_hair = t + 200 * DBL_EPSILON * (fabs(t) + b->h_last);
  memcpy(b->fired, fired, (size_t)b->nr);
}

/*
** Whether CVODE could not start at a towards b: it refuses closer than
** 2 u max(|a|, |b|) (CV_TOO_CLOSE), and near t = 0 its first step times the
** distance underflows (tstop "behind" t). Like DOPRI5, anything under
** 16 u max(1, |t|) is left to one Euler step.
*/
static int too_close(double a, double b)
{
  return b - a <= 16 * DBL_EPSILON * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* Where between 0 (at g0) and 1 (at g1) a linear g crosses zero. */
static double lin_frac(double g0, double g1)
{
  return g0 / (g0 - g1);
}

/*
** Events in a segment crossed by one Euler step x + (t - t0) f0, f0 at t0:
** g at both ends (the start as the restart after an event sees it), each
** crossing (in its direction) placed by linear interpolation of its g. The
** earliest is the event; the functions crossing at that same point fire
** with it, later ones are found by the next advance. Returns 1 with *tr
** (in (t0, t1]) and fired set, or 0.
*/
static int euler_root(cvb *b, double t0, double t1, const double *x,
                      double *tr, unsigned char *fired)
{
  double *x1 = N_VGetArrayPointer(b->yi), best = 2;
  for (int k = 0; k < b->n; k++)
    x1[k] = x[k] + (t1 - t0) * b->f0[k];
  g_eval(b, t0, x, b->gk);
  g_eval(b, t1, x1, b->g1);
  for (int r = 0; r < b->nr; r++)
    if (crossed(b->gk[r], b->g1[r], b->dir[r]))
      best = fmin(best, lin_frac(b->gk[r], b->g1[r]));
  if (best > 1)
    return 0;
  for (int r = 0; r < b->nr; r++)
    fired[r] = crossed(b->gk[r], b->g1[r], b->dir[r]) &&
               lin_frac(b->gk[r], b->g1[r]) <= best;
  *tr = fmin(fmax(t0 + best * (t1 - t0), nextafter(t0, t1)), t1);
  return 1;
}

/*
** A segment too short for CVODE to start on (see too_close): one Euler
** step, exact to O(dt^2) with dt a few units of roundoff in t; a root in it
** is located by euler_root. Returns 0, 1 (an event) or MT_ESOLVER.
*/
static int tiny_segment(cvb *b, mt_rhs_ctx *c, double t0, double t1,
                        double *x, const double *ts, int nts, double *xs,
                        int *n_done, double *t_stop, unsigned char *fired)
{
  int rc = mt_rhs_eval(c, t0, x, b->f0);
  if (rc) {
    snprintf(c->err + strlen(c->err), MT_ERRMSG_MAX - strlen(c->err),
             "%sCVODE: right-hand side could not be evaluated at t = %.10g "
             "%s", c->err[0] ? "; " : "", t0, c->m->time_unit);
    return MT_ESOLVER;
  }
  double tr = t1;
  int ev = b->nr && euler_root(b, t0, t1, x, &tr, fired);
  int j = 0;
  for (; j < nts && ts[j] < tr; j++)
    for (int k = 0; k < b->n; k++)
      xs[(size_t)j * b->n + k] = x[k] + (fmax(ts[j], t0) - t0) * b->f0[k];
  for (int k = 0; k < b->n; k++)
    x[k] += (tr - t0) * b->f0[k];
  *n_done = j;
  *t_stop = tr;
  if (ev)
    mark_event(b, tr, fired);
  return ev;
}

/* Message for a CVODE failure. A model's own message (a fatal rhs code or a
** non-finite derivative) is kept in front when the failure came from it. */
static void fail_message(cvb *b, mt_rhs_ctx *c, int flag)
{
  sunrealtype t = 0;
  CVodeGetCurrentTime(b->mem, &t);
  char *name = CVodeGetReturnFlagName(flag);
  int from_rhs = flag == CV_RHSFUNC_FAIL || flag == CV_FIRST_RHSFUNC_ERR ||
                 flag == CV_REPTD_RHSFUNC_ERR || flag == CV_UNREC_RHSFUNC_ERR;
  size_t k = from_rhs ? strlen(c->err) : 0;
  /* the message is cut to what fits; the precision says so to -O3's
  ** truncation check */
  snprintf(c->err + k, MT_ERRMSG_MAX - k, "%sCVODE failed at t = %.10g %s: "
           "%s (%.200s)", k ? "; " : "", t, c->m->time_unit,
           name ? name : "unknown flag", b->msg[0] ? b->msg : "no detail");
  free(name);
}

/* Add this segment's step counts to the run's statistics. */
static void count_steps(cvb *b, mt_rhs_ctx *c)
{
  long nst = 0, netf = 0;
  CVodeGetNumSteps(b->mem, &nst);
  CVodeGetNumErrTestFails(b->mem, &netf);
  c->stats->n_step += nst;
  c->stats->n_reject += netf;
  sunrealtype h = 0;
  if (nst > 0 && !CVodeGetLastStep(b->mem, &h))
    b->h_last = fabs(h);
}

/* One call of CVode towards tout within the per-segment step budget. */
static int cv_to(cvb *b, double tout, double *tret)
{
  long nst = 0;
  CVodeGetNumSteps(b->mem, &nst);
  if (nst >= b->max_steps)
    return CV_TOO_MUCH_WORK;
  CVodeSetMaxNumSteps(b->mem, b->max_steps - nst);
  sunrealtype tr = 0;
  int flag = CVode(b->mem, tout, b->y, &tr, CV_NORMAL);
  *tret = tr;
  return flag;
}

/* CVODE has checked for roots up to a sample time t it returned at: keep
** g there (gk, t_known) for the check at the end of the segment. */
static void known_at(cvb *b, double t, const double *y)
{
  if (b->nr) {
    g_eval(b, t, y, b->gk);
    b->t_known = t;
  }
}

/*
** Integrate from t0 to t1 (after CVodeReInit) through each sample time in
** turn; *j counts the samples written, *tret is where CVODE stopped.
** Returns CVODE's last flag.
*/
static int sample_to(cvb *b, double t0, double t1, const double *x,
                     const double *ts, int nts, double *xs, int *j,
                     double *tret)
{
  size_t n = (size_t)b->n;
  const double *y = N_VGetArrayPointer(b->y);
  /* Samples within CVODE's CV_TOO_CLOSE distance of t0 take the start. */
  for (; *j < nts && too_close(t0, ts[*j]); (*j)++)
    memcpy(xs + (size_t)*j * n, x, n * sizeof *x);
  for (;;) {
    double tout = *j < nts && ts[*j] < t1 ? ts[*j] : t1;
    int flag = cv_to(b, tout, tret);
    if (flag < 0 || flag == CV_ROOT_RETURN || tout == t1)
      return flag;
    if (flag == CV_TSTOP_RETURN) { /* samples within roundoff of t1 */
      for (; *j < nts && ts[*j] < t1; (*j)++)
        memcpy(xs + (size_t)*j * n, y, n * sizeof *y);
      return flag;
    }
    known_at(b, *tret, y);
    memcpy(xs + (size_t)(*j)++ * n, y, n * sizeof *y);
  }
}

/*
** CVODE stops a segment by interpolation once within 100 u (|t| + |h|) of
** the stop time and never looks for roots in that last gap. A function
** whose sign at t1 differs (in its direction) from its sign where CVODE
** last checked has crossed in the gap: an event at t1, the gap being about
** 1e-14 relative. Sets fired; returns whether any did.
*/
static int gap_root(cvb *b, double t1, const double *y, unsigned char *fired)
{
  int any = 0;
  g_eval(b, t1, y, b->g1);
  for (int r = 0; r < b->nr; r++) {
    fired[r] = (unsigned char)crossed(b->gk[r], b->g1[r], b->dir[r]);
    any |= fired[r];
  }
  return any;
}

/* Whether g, whose crossing CVODE reported in direction d (rootsfound),
** has its new sign (or is zero). */
static int new_sign(double g, int d)
{
  return d > 0 ? g >= 0 : g <= 0;
}

/* g_r at t on CVODE's interpolant of the last step; NAN outside it. */
static double g_on_step(cvb *b, int r, double t)
{
  if (CVodeGetDky(b->mem, t, 0, b->yi))
    return NAN;
  g_eval(b, t, N_VGetArrayPointer(b->yi), b->g1);
  return b->g1[r];
}

/*
** The first time in (lo, hi] at which g_r has its new sign, to the last
** ulp, by the Illinois variant of regula falsi on the interpolant. g_r has
** its new sign at hi; if it lacks its old one at lo (no bracket), hi.
*/
static double first_new_sign(cvb *b, int r, double lo, double hi)
{
  int d = b->rootsfound[r], side = 0;
  double ga = g_on_step(b, r, lo), gb = g_on_step(b, r, hi);
  if (isnan(ga) || new_sign(ga, d) || !new_sign(gb, d))
    return hi;
  for (int it = 0; it < 200 && nextafter(lo, hi) < hi; it++) {
    double tm = lo + (hi - lo) * lin_frac(ga, gb);
    if (!(tm > lo && tm < hi))
      tm = lo + 0.5 * (hi - lo);
    double gm = g_on_step(b, r, tm);
    if (isnan(gm))
      break;
    if (new_sign(gm, d)) {
      hi = tm, gb = gm;
      ga *= side == 1 ? 0.5 : 1.0;
      side = 1;
    } else {
      lo = tm, ga = gm;
      gb *= side == -1 ? 0.5 : 1.0;
      side = -1;
    }
  }
  return hi;
}

/*
** A root return. CVODE places a root up to its tolerance 100 u (|t| + |h|)
** late and reports every function that crossed by then, so roots closer
** than that would fire together, in index order rather than time order.
** When several fired, each is located on the interpolant of the last step
** after t_known; the event is the earliest, with those that have their new
** sign there. *tret and x move to it.
*/
static void cv_root(cvb *b, double *tret, double *x, unsigned char *fired)
{
  int nf = 0;
  CVodeGetRootInfo(b->mem, b->rootsfound);
  for (int r = 0; r < b->nr; r++) {
    fired[r] = b->rootsfound[r] != 0;
    nf += fired[r];
  }
  if (nf < 2)
    return;
  sunrealtype tn = 0, hu = 0;
  CVodeGetCurrentTime(b->mem, &tn);
  CVodeGetLastStep(b->mem, &hu);
  double lo = fmax(b->t_known, tn - fabs(hu)), te = *tret;
  int first = -1;
  for (int r = 0; r < b->nr; r++) {
    double t = fired[r] ? first_new_sign(b, r, lo, *tret) : INFINITY;
    if (t < te || (t == te && first < 0))
      te = t, first = r;
  }
  if (te < *tret && !CVodeGetDky(b->mem, te, 0, b->yi)) {
    memcpy(x, N_VGetArrayPointer(b->yi), (size_t)b->n * sizeof *x);
    *tret = te;
  }
  g_eval(b, *tret, x, b->g1);
  for (int r = 0; r < b->nr; r++)
    fired[r] = fired[r] &&
               (r == first || new_sign(b->g1[r], b->rootsfound[r]));
}

static int cvb_advance(void *state, mt_rhs_ctx *c, double t0, double t1,
                       double *x, const double *ts, int nts, double *xs,
                       int *n_done, double *t_stop, unsigned char *fired)
{
  cvb *b = state;
  size_t n = (size_t)b->n;
  memset(fired, 0, (size_t)b->nr);
  *n_done = 0;
  b->c = c;
  b->msg[0] = '\0';
  if (roots_at_hair(b, c, t0, x) < 0)
    return MT_ESOLVER;
  if (too_close(t0, t1))
    return tiny_segment(b, c, t0, t1, x, ts, nts, xs, n_done, t_stop, fired);
  double *y = N_VGetArrayPointer(b->y);
  memcpy(y, x, n * sizeof *x);
  if (CVodeReInit(b->mem, t0, b->y) || CVodeSetStopTime(b->mem, t1)) {
    fail_message(b, c, CV_ILL_INPUT);
    return MT_ESOLVER;
  }
  known_at(b, t0, x);
  int j = 0;
  double tret = t0;
  int flag = sample_to(b, t0, t1, x, ts, nts, xs, &j, &tret);
  count_steps(b, c);
  if (flag < 0) {
    fail_message(b, c, flag);
    return MT_ESOLVER;
  }
  memcpy(x, y, n * sizeof *x);
  *n_done = j;
  *t_stop = t1;
  if (flag == CV_ROOT_RETURN) {
    cv_root(b, &tret, x, fired);
    *t_stop = tret;
  } else if (!b->nr || !gap_root(b, t1, x, fired)) {
    return 0;
  }
  mark_event(b, *t_stop, fired);
  return 1;
}

/* A new run: the event freeze of the previous run no longer applies. */
static void cvb_reset(void *state)
{
  cvb *b = state;
  b->t_root = b->t_hair = NAN;
}

const mt_backend mt_backend_cvode = {"cvode", cvb_create, cvb_advance,
                                     cvb_free, cvb_reset};
