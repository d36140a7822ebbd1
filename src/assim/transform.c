/*
** Bounded-to-unbounded parameter transforms (include/medtwin/transform.h):
** identity, log, log of the distance to an upper bound, and logit, with
** inverses and Jacobians written to avoid cancellation near either bound.
*/
#include <math.h>
#include <stddef.h>

#include "medtwin/error.h"
#include "medtwin/transform.h"

static int has_lo(double lo) { return lo > -MT_TRANSFORM_UNBOUNDED; }
static int has_hi(double hi) { return hi < MT_TRANSFORM_UNBOUNDED; }

mt_transform_kind mt_transform_for(const mt_var *v, int use_bounds)
{
  if (!v)
    return MT_TRANSFORM_IDENTITY;
  if (!use_bounds)
    return v->lo >= 0 ? MT_TRANSFORM_LOG : MT_TRANSFORM_IDENTITY;
  int l = has_lo(v->lo), h = has_hi(v->hi);
  if (l && h)
    return MT_TRANSFORM_LOGIT;
  if (l)
    return MT_TRANSFORM_LOG;
  return h ? MT_TRANSFORM_LOG_UPPER : MT_TRANSFORM_IDENTITY;
}

static void identity(mt_transform *t)
{
  t->kind = MT_TRANSFORM_IDENTITY;
  t->lo = -INFINITY;
  t->hi = INFINITY;
}

int mt_transform_set(mt_transform *t, mt_transform_kind kind, double lo,
                     double hi)
{
  int ok;
  switch (kind) {
  case MT_TRANSFORM_IDENTITY: ok = 1; break;
  case MT_TRANSFORM_LOG: ok = has_lo(lo) && lo < INFINITY; break;
  case MT_TRANSFORM_LOG_UPPER: ok = has_hi(hi) && hi > -INFINITY; break;
  case MT_TRANSFORM_LOGIT: ok = has_lo(lo) && has_hi(hi) && lo < hi; break;
  default: ok = 0;
  }
  identity(t);
  if (!ok)
    return MT_EINVAL;
  /* Keep only the bounds the kind uses, so that to() and from() agree. */
  t->kind = kind;
  if (kind == MT_TRANSFORM_LOG || kind == MT_TRANSFORM_LOGIT)
    t->lo = lo;
  if (kind == MT_TRANSFORM_LOG_UPPER || kind == MT_TRANSFORM_LOGIT)
    t->hi = hi;
  return 0;
}

int mt_transform_init(mt_transform *t, const mt_var *v, int use_bounds)
{
  if (!v || (has_lo(v->lo) && has_hi(v->hi) && !(v->lo < v->hi))) {
    identity(t);
    return MT_EINVAL;
  }
  mt_transform_kind k = mt_transform_for(v, use_bounds);
  if (!use_bounds)
    return mt_transform_set(t, k, 0.0, INFINITY);
  return mt_transform_set(t, k, v->lo, v->hi);
}

int mt_transform_to(const mt_transform *t, double theta, double *z)
{
  if (!isfinite(theta))
    return MT_ERANGE;
  switch (t->kind) {
  case MT_TRANSFORM_IDENTITY:
    *z = theta;
    return 0;
  case MT_TRANSFORM_LOG:
    if (!(theta > t->lo))
      return MT_ERANGE;
    *z = log(theta - t->lo);
    return 0;
  case MT_TRANSFORM_LOG_UPPER:
    if (!(theta < t->hi))
      return MT_ERANGE;
    *z = log(t->hi - theta);
    return 0;
  case MT_TRANSFORM_LOGIT:
    if (!(theta > t->lo && theta < t->hi))
      return MT_ERANGE;
    /* Both differences are exact where theta is near the bound they
    ** measure (Sterbenz), so z keeps full relative precision there. */
    *z = log(theta - t->lo) - log(t->hi - theta);
    return 0;
  }
  return MT_EINVAL;
}

/*
** Logit inverse: from whichever bound is nearer, so that the small distance
** to it is computed as a product, not as a difference of nearly equal
** numbers. e = exp(-|z|) never overflows.
*/
static double logit_from(double lo, double hi, double z)
{
  double e = exp(-fabs(z)), w = hi - lo; /* finite: |lo|, |hi| < 1e300 */
  double near = w * (e / (1 + e)); /* distance to the nearer bound */
  return z < 0 ? lo + near : hi - near;
}

int mt_transform_from(const mt_transform *t, double z, double *theta)
{
  if (!isfinite(z))
    return MT_ERANGE;
  double th;
  switch (t->kind) {
  case MT_TRANSFORM_IDENTITY: th = z; break;
  case MT_TRANSFORM_LOG: th = t->lo + exp(z); break;
  case MT_TRANSFORM_LOG_UPPER: th = t->hi - exp(z); break;
  case MT_TRANSFORM_LOGIT: th = logit_from(t->lo, t->hi, z); break;
  default: return MT_EINVAL;
  }
  /* A theta that rounded onto a bound would map back to an infinite z. */
  if (!isfinite(th) || !(th > t->lo) || !(th < t->hi))
    return MT_ERANGE;
  *theta = th;
  return 0;
}

int mt_transform_jacobian(const mt_transform *t, double z, double *dtheta_dz)
{
  double th;
  int rc = mt_transform_from(t, z, &th);
  if (rc)
    return rc;
  double e;
  switch (t->kind) {
  case MT_TRANSFORM_IDENTITY: *dtheta_dz = 1.0; break;
  case MT_TRANSFORM_LOG: *dtheta_dz = exp(z); break;
  case MT_TRANSFORM_LOG_UPPER: *dtheta_dz = -exp(z); break;
  default:
    /* s (1 - s) = e / (1 + e)^2 with e = exp(-|z|), symmetric in z. */
    e = exp(-fabs(z));
    *dtheta_dz = (t->hi - t->lo) * (e / ((1 + e) * (1 + e)));
  }
  return 0;
}
