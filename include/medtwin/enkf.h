/*
** Ensemble Kalman filter analysis step on an augmented vector (model states
** and transformed parameters, see transform.h): the update at the core of the
** live twin. Two variants share one handle and one set of conventions:
**
**   ETKF        deterministic square-root filter (Bishop, Etherton and
**               Majumdar, Mon. Wea. Rev. 129:420, 2001) in the symmetric
**               ensemble-space form of Hunt, Kostelich and Szunyogh
**               (Physica D 230:112, 2007);
**   stochastic  EnKF with perturbed observations (Burgers, van Leeuwen and
**               Evensen, Mon. Wea. Rev. 126:1719, 1998).
**
** The update is model-free: the caller has already applied the observation
** operator to every member, so it passes predicted observations Y beside the
** ensemble X.
**
** Layout. Matrices are row-major with one row per member:
**   X  N x n   X[i*n + j] = component j of member i     (read and overwritten)
**   Y  N x m   Y[i*m + k] = observable k predicted for member i
**   E  N x m   E[i*m + k] = perturbation of observation k for member i
**   y  m       the observed values
**   R  m x m   row-major, symmetric positive definite (MT_ENKF_R_FULL), or
**      m      its diagonal, m variances > 0             (MT_ENKF_R_DIAG)
** (Read column-major, X is the n x N matrix of the papers, members as columns.)
**
** Inflation. rho >= 1 multiplies the prior anomalies' covariance by rho
** (anomalies by sqrt(rho)) before the analysis, in X and, assuming the
** observation operator is linear over the ensemble's spread, in Y. rho = 1
** is no inflation. It counters the spread an ensemble loses to sampling error
** and unmodelled error; 1.0-1.1 is typical for a well-specified model.
**
** Errors. Every function returns 0 or a negative MT_E code (error.h). Inputs
** are checked before anything is written: a NaN or infinity anywhere, a
** variance <= 0, an R that is not symmetric (to 1e-10 of sqrt(Rii Rjj)) or
** not positive definite, or rho < 1 gives MT_EINVAL; mt_enkf_errmsg() names
** the array and the entry. On error X is left unchanged.
**
** Cost and memory. The ensemble-space matrices are N x N: the handle holds
** about 3 N^2 + (2n + 3m) N + m^2 doubles (N = 100: 0.25 MB; N = 2000:
** 96 MB) and an update costs O(N^3 + (n + m) N^2 + m^3), dominated by the
** N x N eigendecomposition (N = 2000, n = 3, m = 2: about 0.4 s). medtwin
** allocates nothing during an update (LAPACK workspaces are sized at
** create); a multithreaded OpenBLAS may still allocate for its own threads
** (with OPENBLAS_NUM_THREADS=1 an update makes no allocation at all).
** A handle is not safe for concurrent use; use one per thread.
*/
#ifndef MEDTWIN_ENKF_H
#define MEDTWIN_ENKF_H

typedef struct mt_enkf mt_enkf;

/* How R is passed. */
typedef enum mt_enkf_r {
  MT_ENKF_R_FULL = 0, /* m x m row-major, symmetric positive definite */
  MT_ENKF_R_DIAG = 1  /* m variances, the diagonal of a diagonal R */
} mt_enkf_r;

/*
** Create a filter for n components, m observations and N members (n >= 1,
** m >= 1, N >= 2). MT_EINVAL for bad sizes, MT_ENOMEM when the workspace
** cannot be allocated; on failure *out is NULL.
*/
int mt_enkf_create(int n, int m, int N, mt_enkf **out);

/* Release f and its workspace. NULL is fine. */
void mt_enkf_free(mt_enkf *f);

/* Detail of the last error on f ("" after a success); never NULL. */
const char *mt_enkf_errmsg(const mt_enkf *f);

/*
** ETKF analysis, in place on X. With anomalies X' = X - xbar, Y' = Y - ybar
** (n x N and m x N, members as columns) and C = Y'^T R^-1:
**
**   Pa~  = [(N-1) I / rho + C Y']^-1       (symmetric eigendecomposition)
**   wbar = Pa~ C (y - ybar)
**   W    = [(N-1) Pa~]^(1/2)               (symmetric square root)
**   Xa   = xbar 1^T + X' (wbar 1^T + W)
**
** For a linear observation operator the analysis mean and sample covariance
** are the Kalman filter's for the prior's sample mean and (rho times) sample
** covariance; the symmetric root keeps the analysis anomalies summing to
** zero and makes the update equivariant under a reordering of members.
** Deterministic: no random numbers. Y, y and R are borrowed.
*/
int mt_enkf_etkf(mt_enkf *f, double *X, const double *Y, const double *y,
                 const double *R, mt_enkf_r r_kind, double rho);

/*
** Stochastic EnKF analysis with perturbed observations, in place on X:
** member i is updated towards y + e_i, where e_i is row i of E,
**
**   x_i <- x_i + K (y + e_i - y_i),   K = P H^T (H P H^T + R)^-1,
**
** with P H^T and H P H^T the (inflated) ensemble covariances of X with Y and
** of Y. The caller draws E from N(0, R) on its own random streams, so the
** update is deterministic for given inputs. The members' mean of E is
** subtracted first, so that the analysis mean is exactly the update of the
** prior mean by K (only the spread of E matters). K is computed in ensemble
** space with the same Pa~ as the ETKF: K = X' Pa~ C.
*/
int mt_enkf_stochastic(mt_enkf *f, double *X, const double *Y,
                       const double *y, const double *R, mt_enkf_r r_kind,
                       const double *E, double rho);

/*
** Ensemble mean (n) and sample covariance (n x n row-major, divisor N - 1)
** of X (N x n, row-major as above), by two passes. cov may be NULL; N >= 2
** is needed only for cov. MT_EINVAL for NULL X or mean, bad sizes or a
** non-finite entry (then mean and cov are untouched).
*/
int mt_enkf_moments(const double *X, int N, int n, double *mean, double *cov);

#endif
