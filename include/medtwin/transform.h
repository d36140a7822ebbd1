/*
** Transforms of a bounded parameter theta to an unbounded coordinate z, in
** which the live twin's ensemble (and any Gaussian update) works:
**
**   identity   z = theta                          no bound
**   log        z = log(theta - lo)                lower bound only
**   log_upper  z = log(hi - theta)                upper bound only
**   logit      z = log((theta - lo)/(hi - theta)) both bounds
**
** with their inverses and the Jacobian dtheta/dz (the factor a density picks
** up, and the slope a linearised update needs).
**
** Absent bounds. A lower bound lo counts as absent when lo <= -1e300
** (MT_TRANSFORM_UNBOUNDED), lo = -INFINITY or lo is NaN; an upper bound hi
** when hi >= 1e300, +INFINITY or NaN. Any other value is a finite bound.
**
** Which bounds to honour. The bounds of a model's variables are often
** plausibility limits, not physics: the UVA/Padova parameters carry the
** range of the 30 shipped subjects widened fourfold on both sides
** (src/models/uva_padova_params.inc), while the only physical constraint on
** a rate constant is theta > 0. A logit to such limits makes the ensemble
** stiff near a limit nobody measured, and does not match the log-normal
** population prior (prior.h), which is Gaussian exactly in log theta. The
** twin should therefore use log theta (use_bounds = 0 below) for positive
** rate constants, enforce the plausibility limits by rejection (as
** mt_prior_sample does), and use use_bounds = 1 only for variables whose
** declared bounds are physical (a fraction in [0, 1], say).
*/
#ifndef MEDTWIN_TRANSFORM_H
#define MEDTWIN_TRANSFORM_H

#include "medtwin/model.h"

/* Magnitude at or beyond which a bound counts as absent. */
#define MT_TRANSFORM_UNBOUNDED 1e300

typedef enum mt_transform_kind {
  MT_TRANSFORM_IDENTITY = 0, /* z = theta */
  MT_TRANSFORM_LOG,          /* z = log(theta - lo), theta > lo */
  MT_TRANSFORM_LOG_UPPER,    /* z = log(hi - theta), theta < hi */
  MT_TRANSFORM_LOGIT         /* z = log((theta - lo)/(hi - theta)) */
} mt_transform_kind;

/* A transform and the bounds it maps from (absent bounds are ignored). */
typedef struct mt_transform {
  mt_transform_kind kind;
  double lo, hi;
} mt_transform;

/*
** The kind of transform for variable v.
**
** use_bounds = 1 honours the declared bounds v->lo and v->hi: logit when
** both are finite, log when only lo is, log_upper when only hi is, identity
** when neither is.
**
** use_bounds = 0 treats the declared bounds as plausibility limits and keeps
** only physical positivity: a variable whose declared lo is >= 0 gets
** z = log(theta) (log with lo = 0), any other the identity. This is the
** recommended choice for the twin's positive rate constants (see above).
*/
mt_transform_kind mt_transform_for(const mt_var *v, int use_bounds);

/*
** Fill t for variable v as mt_transform_for chooses (with lo = 0 for the
** positivity log of use_bounds = 0). MT_EINVAL when both bounds are finite
** and lo >= hi, or v is NULL; t is then the identity.
*/
int mt_transform_init(mt_transform *t, const mt_var *v, int use_bounds);

/*
** Fill t with an explicit kind and bounds, e.g. (MT_TRANSFORM_LOG, 0, INFINITY)
** for log theta. MT_EINVAL when a bound the kind needs is absent, when
** lo >= hi for a logit, or when kind is unknown; t is then the identity.
*/
int mt_transform_set(mt_transform *t, mt_transform_kind kind, double lo,
                     double hi);

/*
** z from theta. MT_ERANGE when theta is not finite or lies at or outside a
** bound the transform uses (z would be infinite or NaN); *z is then left
** unchanged. Never produces NaN or an infinity.
*/
int mt_transform_to(const mt_transform *t, double theta, double *z);

/*
** theta from z. MT_ERANGE when z is not finite or theta would round onto or
** past a bound (e.g. log with z < about -745, or a z so negative that
** lo + exp(z) == lo in doubles); *theta is then left unchanged. The round
** trip theta -> z -> theta errs by a few (1 + |z|) 2^-53 times the distance
** to the nearest bound, plus one rounding of theta (z itself is rounded to
** the spacing of doubles near |z|); tests/unit/transform.c checks 1e-14
** relative to theta for |z| <= 30.
*/
int mt_transform_from(const mt_transform *t, double z, double *theta);

/*
** dtheta/dz at z: 1, exp(z), -exp(z), or (hi - lo) s (1 - s) with
** s = 1/(1 + exp(-z)), evaluated without cancellation. Errors as
** mt_transform_from; *dtheta_dz is then left unchanged.
*/
int mt_transform_jacobian(const mt_transform *t, double z,
                          double *dtheta_dz);

#endif
