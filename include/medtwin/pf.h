/*
** Particle filter analysis step on an augmented vector (model states and
** transformed parameters, see transform.h), with the conventions of the
** ensemble Kalman filter (enkf.h): the same layout of X, Y, y and R, the
** same input checks and error reporting, no allocation during an update.
** It is the bootstrap filter of Gordon, Salmond and Smith (IEE Proc. F
** 140:107, 1993) with adaptive resampling (Doucet and Johansen, "A tutorial
** on particle filtering and smoothing: fifteen years later", 2009; in
** Crisan and Rozovskii (eds.), The Oxford Handbook of Nonlinear Filtering,
** OUP 2011), systematic resampling (Kitagawa, J. Comput. Graph. Stat. 5:1,
** 1996) and the Gaussian kernel of the regularised particle filter (Musso,
** Oudjane and Le Gland, "Improving regularised particle filters", in
** Doucet, de Freitas and Gordon (eds.), Sequential Monte Carlo Methods in
** Practice, Springer 2001, pp. 247-271).
**
** Algorithm of one update, members i = 1..N carrying weights w_i (sum 1):
**
**   1. log-likelihood  l_i = -1/2 (y - y_i)^T R^-1 (y - y_i), by whitening
**      with the Cholesky factor of R (R^-1 is never formed);
**   2. weights         w_i <- w_i exp(l_i - max_j (log w_j + l_j)), then
**      normalised: computed in log space with a max shift, so a likelihood
**      of 1e-400 relative to the best member is 0, never NaN;
**   3. ESS = 1 / sum w_i^2 (Kong, Liu and Wong, JASA 89:278, 1994), in
**      [1, N], before any resampling;
**   4. when ESS < frac N (frac = 1/2 unless set, Doucet and Johansen's
**      rule), systematic resampling: ONE uniform u, points (k + u) / N,
**      k = 0..N-1, on the cumulative weights; member i gets floor(N w_i) or
**      ceil(N w_i) copies, in member order; weights become 1/N;
**   5. after a resampling, with h > 0, every member moves by h D z, z ~
**      N(0, I_n), D D^T = S the weighted sample covariance of X as passed
**      in (divisor 1 - sum w_i^2: N - 1 for equal weights), by pivoted
**      Cholesky (rank-deficient S is fine: the jitter stays in its span).
**
** Weights policy. Resampling only when ESS < N/2 avoids the Monte Carlo
** noise that resampling adds when the weights are nearly even (resampling
** at every step is strictly noisier). When an update does not resample,
** X is returned unchanged and its weights stay in the handle: read them
** with mt_pf_weights(), use weighted means and weighted quantiles, and pass
** the same members (propagated by the model, rows in the same order) to
** the next update, which multiplies those weights by the new likelihood.
** A caller that cannot use weights sets frac = 1 (mt_pf_set_threshold):
** then every update resamples unless the weights are already even, and X is
** always returned equally weighted, at the price of that noise. A caller
** that replaces its ensemble calls mt_pf_reset_weights().
**
** Regularisation kernel. Musso et al. scale the kernel by the covariance of
** the weighted posterior particles; this filter uses the covariance of the
** ensemble as it came in (weighted by the weights it came in with). The two
** agree when the observation is weak; when one member takes all the weight,
** the posterior covariance is zero and a kernel built on it would leave N
** identical copies, which is the degeneracy the kernel is there to undo.
** The price is more spread when the observation is informative: the
** returned cloud has about the posterior covariance plus h^2 S. h = 0
** disables the jitter; mt_pf_bandwidth() gives the bandwidth that is
** optimal for a Gaussian density (Musso et al., Silverman 1986).
**
** Layout (as enkf.h). Row-major, one row per member:
**   X  N x n   X[i*n + j] = component j of member i     (read and overwritten)
**   Y  N x m   Y[i*m + k] = observable k predicted for member i
**   y  m       the observed values
**   R  m x m   row-major, symmetric positive definite (MT_ENKF_R_FULL), or
**      m      its diagonal, m variances > 0             (MT_ENKF_R_DIAG)
**
** Determinism. The random numbers come from counter-based streams (rng.h)
** named by the caller's seed and step: the resampling uniform from
** (seed; 2^64 - 1, MT_PF_RNG_PURPOSE, step) and member k's jitter (k the
** member's row after resampling) from (seed; k, MT_PF_RNG_PURPOSE, step).
** The result depends only on the inputs, the weights in the handle, seed
** and step: the same for any thread count or order of work. Give each
** update its own step, and keep MT_PF_RNG_PURPOSE out of the third key of
** the caller's own streams.
**
** Errors. Every function returns 0 or a negative MT_E code (error.h). Inputs
** are checked before anything is written: a NaN or infinity anywhere, a
** variance <= 0, an R that is not symmetric (to 1e-10 of sqrt(Rii Rjj)) or
** not positive definite, h < 0 or not finite, likelihoods that are zero
** for every member, or (when the kernel is needed) a spread of X whose
** covariance overflows give MT_EINVAL; mt_pf_errmsg() names the array and
** the entry. On error X and the weights are left unchanged.
**
** Cost and memory. The handle holds about (n + 4) N + n^2 + m^2 doubles
** (N = 1000, n = 20: 0.2 MB). An update costs O(N m) (diagonal R) or
** O(N m^2 + m^3) (full R) for the weights, O(N) to resample, and with
** jitter O(N n^2 + n^3). medtwin allocates nothing during an update. A handle
** is not safe for concurrent use; use one per thread.
*/
#ifndef MEDTWIN_PF_H
#define MEDTWIN_PF_H

#include <stdint.h>

#include "medtwin/enkf.h" /* mt_enkf_r */

typedef struct mt_pf mt_pf;

/* The purpose key (third key of mt_rng_init) of the filter's streams. */
#define MT_PF_RNG_PURPOSE UINT64_C(0x7066)

/* Resample when ESS < MT_PF_THRESHOLD N (Doucet and Johansen 2009). */
#define MT_PF_THRESHOLD 0.5

/*
** Create a filter for n components, m observations and N members (n >= 1,
** m >= 1, N >= 2), with equal weights and threshold MT_PF_THRESHOLD.
** MT_EINVAL for bad sizes, MT_ENOMEM when the workspace cannot be
** allocated; on failure *out is NULL.
*/
int mt_pf_create(int n, int m, int N, mt_pf **out);

/* Release f and its workspace. NULL is fine. */
void mt_pf_free(mt_pf *f);

/* Detail of the last error on f ("" after a success); never NULL. */
const char *mt_pf_errmsg(const mt_pf *f);

/*
** Analysis in place on X (see the algorithm above). Y, y and R are
** borrowed. h >= 0 is the kernel bandwidth (0: no jitter). *ess, when ess
** is not NULL, receives the effective sample size of the updated weights
** before resampling. seed and step name the random streams. On return the
** rows of X carry the weights of mt_pf_weights(): all 1/N after a
** resampling.
*/
int mt_pf_update(mt_pf *f, double *X, const double *Y, const double *y,
                 const double *R, mt_enkf_r r_kind, uint64_t seed,
                 uint64_t step, double h, double *ess);

/*
** The N normalised weights of the rows of X as left by the last update
** (all 1/N after create, reset or a resampling). Owned by f, valid until
** the next call on f.
*/
const double *mt_pf_weights(const mt_pf *f);

/* 1 when the last successful update resampled, else 0. */
int mt_pf_resampled(const mt_pf *f);

/* Set all weights to 1/N: for a caller that replaced its ensemble. */
void mt_pf_reset_weights(mt_pf *f);

/*
** Resample when ESS < frac N, 0 < frac <= 1. frac = 1 returns an equally
** weighted ensemble from every update (see "Weights policy"). MT_EINVAL
** for frac outside (0, 1] or NaN, f unchanged.
*/
int mt_pf_set_threshold(mt_pf *f, double frac);

/*
** Systematic resampling (Kitagawa 1996): for weights w (N >= 1 entries,
** finite, >= 0, not all 0; normalised here by their sum) and u in [0, 1),
** idx[k] = the member whose cumulative-weight interval holds (k + u) / N,
** k = 0..N-1. idx is nondecreasing and member i appears floor(N w_i) or
** ceil(N w_i) times (to roundoff in the cumulative sums); a member of
** weight 0 never appears. MT_EINVAL for bad arguments, idx then unwritten.
*/
int mt_pf_systematic(const double *w, int N, double u, int *idx);

/*
** The bandwidth optimal for a Gaussian kernel estimating a Gaussian density
** in n dimensions from N samples (Silverman, Density Estimation, 1986;
** Musso et al. 2001): h = (4 / (N (n + 2)))^(1 / (n + 4)). NaN when n < 1 or N < 1.
*/
double mt_pf_bandwidth(int n, int N);

#endif
