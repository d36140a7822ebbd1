/*
** The SUNDIALS CVODE backend: variable-order BDF with Newton iteration and a
** dense direct linear solver on CVODE's difference-quotient Jacobian
** (Hindmarsh et al., "SUNDIALS: Suite of nonlinear and differential/algebraic
** equation solvers", ACM TOMS 31(3), 2005; CVODE user guide v6.4.1). State
** events use CVODE's own root finding, with the event just handled kept
** from being found again at the restart (see cv_g). Everything is allocated
** once per sim; each segment restarts the method with CVodeReInit, so
** inputs stay constant over what CVODE sees, and a segment too short for
** CVODE to start on is crossed by one Euler step. The model is reached only
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
  N_Vector y;
  SUNMatrix A;
  SUNLinearSolver LS;
  void *mem;
  mt_rhs_ctx *c;     /* context of the advance call in progress */
  double h_last;     /* last step of the previous advance (root tolerance) */
  double t_root;     /* time of the last root returned, or NAN */
  double t_hair;     /* end of the window after it in which its g is frozen */
  int hair;          /* the window covers the start of this segment */
  double *f0, *xh;   /* n: derivative at the start, state at t_hair */
  double *gh;        /* nr: g at t_hair */
  int *rootsfound;   /* nr: the roots of the last root return */
  char msg[MT_ERRMSG_MAX]; /* CVODE's last error message */
} cvb;

/* CVODE's right-hand side: the wrapper's code is CVODE's convention. */
static int cv_rhs(sunrealtype t, N_Vector y, N_Vector ydot, void *ud)
{
  cvb *b = ud;
  return mt_rhs_eval(b->c, t, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot));
}

/*
** Root functions. A root is returned where g already has its new sign or
** lies within CVODE's root tolerance of zero; when on_root then reverses
** the motion, g crosses back within that tolerance and CVODE would find the
** same event again. So for a hair after a returned root (t_hair, twice the
** tolerance), the g found there are frozen at their value at t_hair, as the
** DOPRI5 backend takes signs a hair into a restart. Every other g, and
** every g away from a root, is taken as it is, so a crossing just after an
** input boundary is still found.
*/
static int cv_g(sunrealtype t, N_Vector y, sunrealtype *g, void *ud)
{
  cvb *b = ud;
  mt_roots_eval(b->c, t, N_VGetArrayPointer(y), g);
  if (b->hair && t < b->t_hair)
    for (int r = 0; r < b->nr; r++)
      if (b->rootsfound[r])
        g[r] = b->gh[r];
  return 0;
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
  if (b->y)
    N_VDestroy(b->y);
  if (b->sunctx)
    SUNContext_Free(&b->sunctx);
  free(b->f0);
  free(b->rootsfound);
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
                CVodeSetNoInactiveRootWarn(mem)))
    return MT_ENOMEM;
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
  size_t n = (size_t)b->n, nr = (size_t)b->nr;
  b->f0 = calloc(2 * n + nr, sizeof *b->f0);
  b->rootsfound = calloc(nr + 1, sizeof *b->rootsfound);
  int rc = MT_ENOMEM;
  if (b->f0 && b->rootsfound && !SUNContext_Create(NULL, &b->sunctx)) {
    b->xh = b->f0 + n;
    b->gh = b->xh + n;
    b->y = N_VNew_Serial((sunindextype)n, b->sunctx);
    b->A = b->y ? SUNDenseMatrix((sunindextype)n, (sunindextype)n, b->sunctx)
                : NULL;
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
  int rc = mt_rhs_eval(c, t0, x, b->f0);
  if (rc < 0)
    return rc;
  b->hair = rc == 0; /* with no derivative, CVODE sees g as it is */
  for (int i = 0; b->hair && i < b->n; i++)
    b->xh[i] = x[i] + (b->t_hair - t0) * b->f0[i];
  if (b->hair)
    mt_roots_eval(c, b->t_hair, b->xh, b->gh);
  return 0;
}

/* Whether CVODE would refuse to start at a towards b (CV_TOO_CLOSE: closer
** than 2 u max(|a|, |b|); we keep a margin). */
static int too_close(double a, double b)
{
  return b - a <= 16 * DBL_EPSILON * fmax(fabs(a), fabs(b));
}

/* A segment too short for CVODE to start on (CV_TOO_CLOSE): one Euler step,
** exact to O(dt^2) with dt a few units of roundoff in t. */
static int tiny_segment(cvb *b, mt_rhs_ctx *c, double t0, double t1,
                        double *x, const double *ts, int nts, double *xs,
                        int *n_done, double *t_stop)
{
  int rc = mt_rhs_eval(c, t0, x, b->f0);
  if (rc) {
    snprintf(c->err + strlen(c->err), MT_ERRMSG_MAX - strlen(c->err),
             "%sCVODE: right-hand side could not be evaluated at t = %.10g "
             "%s", c->err[0] ? "; " : "", t0, c->m->time_unit);
    return MT_ESOLVER;
  }
  for (int i = 0; i < nts; i++)
    for (int k = 0; k < b->n; k++)
      xs[(size_t)i * b->n + k] = x[k] + (fmax(ts[i], t0) - t0) * b->f0[k];
  for (int k = 0; k < b->n; k++)
    x[k] += (t1 - t0) * b->f0[k];
  *n_done = nts;
  *t_stop = t1;
  return 0;
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
  snprintf(c->err + k, MT_ERRMSG_MAX - k, "%sCVODE failed at t = %.10g %s: "
           "%s (%s)", k ? "; " : "", t, c->m->time_unit,
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
    memcpy(xs + (size_t)(*j)++ * n, y, n * sizeof *y);
  }
}

static int cvb_advance(void *state, mt_rhs_ctx *c, double t0, double t1,
                       double *x, const double *ts, int nts, double *xs,
                       int *n_done, double *t_stop, int *which)
{
  cvb *b = state;
  size_t n = (size_t)b->n;
  *which = -1;
  *n_done = 0;
  if (too_close(t0, t1))
    return tiny_segment(b, c, t0, t1, x, ts, nts, xs, n_done, t_stop);
  b->c = c;
  b->msg[0] = '\0';
  b->hair = 0;
  if (b->nr && t0 >= b->t_root && t0 < b->t_hair &&
      roots_at_hair(b, c, t0, x) < 0)
    return MT_ESOLVER;
  double *y = N_VGetArrayPointer(b->y);
  memcpy(y, x, n * sizeof *x);
  if (CVodeReInit(b->mem, t0, b->y) || CVodeSetStopTime(b->mem, t1)) {
    fail_message(b, c, CV_ILL_INPUT);
    return MT_ESOLVER;
  }
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
  if (flag == CV_ROOT_RETURN) {
    CVodeGetRootInfo(b->mem, b->rootsfound);
    for (int r = 0; r < b->nr && *which < 0; r++)
      if (b->rootsfound[r])
        *which = r;
    /* twice CVODE's root tolerance 100 u (|t| + |h|), h the last step */
    b->t_root = tret;
    b->t_hair = tret + 200 * DBL_EPSILON * (fabs(tret) + b->h_last);
    *t_stop = tret;
    return 1;
  }
  *t_stop = t1;
  return 0;
}

const mt_backend mt_backend_cvode = {"cvode", cvb_create, cvb_advance,
                                     cvb_free};
