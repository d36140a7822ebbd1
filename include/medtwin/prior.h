/*
** Population prior of a model's estimable parameters (MT_VAR_ESTIMABLE),
** fitted to one group of the model's shipped virtual cohort: a multivariate
** log-normal, log theta ~ N(mu, Sigma), with mu the mean of the members' log
** parameters and Sigma their sample covariance shrunk toward its diagonal.
**
** Shrinkage. Sigma = lambda D + (1 - lambda) S, where S is the unbiased
** sample covariance (divisor n - 1) and D = diag(S). lambda is the
** Ledoit-Wolf optimal intensity (Ledoit & Wolf, J Multivariate Anal 88:365,
** 2004: the lambda minimising the expected Frobenius loss, estimated from
** the data and clipped to [0, 1]) for the diagonal target, in the
** small-sample form of Schafer & Strimmer, Stat Appl Genet Mol Biol 4:32
** (2005), Table 1, target "D":
**
**   lambda = sum_{i != j} Var^(s_ij) / sum_{i != j} s_ij^2,
**   Var^(s_ij) = n / (n - 1)^3 sum_k (w_kij - wbar_ij)^2,
**   w_kij = (x_ki - xbar_i)(x_kj - xbar_j),
**
** clipped to [0, 1] (and 1 where every s_ij, i != j, is zero). Shrinking to
** the diagonal keeps every variance and damps correlations that ten
** patients cannot support; with n - 1 <= p it also makes Sigma positive
** definite where S is singular.
**
** Groups are the patient name prefixes before '#' ("adolescent", "adult",
** "child" for UVA/Padova). The optional exclude names one shipped patient
** that is left out of the fit (leave-one-out validation: 9 of 10 remain):
** its parameters are never loaded, so nothing in the prior depends on them.
** An exclude from another group removes nothing; an exclude that names no
** shipped patient is an error, so that a typo cannot leak the patient a
** validation meant to hold out.
*/
#ifndef MEDTWIN_PRIOR_H
#define MEDTWIN_PRIOR_H

#include <stddef.h>

#include "medtwin/model.h"

typedef struct mt_prior mt_prior;

/*
** Fit the prior of model m to the members of group (every shipped patient
** whose name is "<group>#..."), less exclude (NULL or "" for none).
** The base vector (mt_prior_base) is the full parameter vector of the
** member nearest the prior mean in the Mahalanobis distance of Sigma (first
** in name order on a tie); it never is the excluded patient.
**
** Errors, with a message in err naming the input: MT_EINVAL (m or group
** NULL, no estimable parameters, fewer than 2 members left), MT_ENOTFOUND
** (a model without a shipped population; a group with no member, the
** message lists the groups; an exclude that is no shipped patient),
** MT_ERANGE (a member's estimable parameter not finite and > 0, or a
** covariance that is not positive definite, e.g. a parameter constant over
** the group), MT_ENOMEM, or a loader's error. On error *out is NULL.
*/
int mt_prior_fit(const mt_model *m, const char *group, const char *exclude,
                 mt_prior **out, char *err, size_t errlen);

/*
** Fit to explicit parameter vectors: members[k] holds m->n_param values
** (borrowed for the call). What mt_prior_fit does after it has chosen and
** loaded the members; errors as there (err may be NULL when errlen is 0).
*/
int mt_prior_fit_vectors(const mt_model *m, const double *const *members,
                         int n_members, mt_prior **out, char *err,
                         size_t errlen);

void mt_prior_free(mt_prior *pr); /* NULL-safe */

const mt_model *mt_prior_model(const mt_prior *pr);
/* Number of estimable parameters, n. */
int mt_prior_n(const mt_prior *pr);
/* Model parameter index of the k-th estimable parameter (model order). */
int mt_prior_param(const mt_prior *pr, int k);
/* Number of patients the prior was fitted to. */
int mt_prior_n_members(const mt_prior *pr);
/* n means of log theta (theta in the parameter's own unit). */
const double *mt_prior_mean(const mt_prior *pr);
/* Shrunk covariance Sigma of log theta, n x n row-major. */
const double *mt_prior_cov(const mt_prior *pr);
/* Unshrunk sample covariance S (divisor n_members - 1), n x n row-major. */
const double *mt_prior_sample_cov(const mt_prior *pr);
/* Shrinkage intensity lambda in [0, 1]. */
double mt_prior_shrinkage(const mt_prior *pr);
/* The base member's full parameter vector (m->n_param values) and, for a
** prior from mt_prior_fit, its name ("" from mt_prior_fit_vectors; there
** base_index says which vector it was). */
const double *mt_prior_base(const mt_prior *pr);
const char *mt_prior_base_name(const mt_prior *pr);
int mt_prior_base_index(const mt_prior *pr);

/*
** One draw: log theta_est = mu + L z with Sigma = L L^T (lower Cholesky
** factor), z n standard normals. p_out (m->n_param) receives base
** (m->n_param values, NULL for mt_prior_base) with the estimable entries
** replaced by theta_est; then the model's derive() recomputes the derived
** parameters. base may equal p_out. Does not allocate.
**
** Returns 0, MT_EINVAL (a z not finite), or MT_ERANGE when derive() fails
** or a parameter is not finite or lies outside its declared [lo, hi]: the
** caller redraws. On MT_ERANGE p_out still holds the rejected draw (for
** diagnostics and rejection-rate statistics).
*/
int mt_prior_sample(const mt_prior *pr, const double *z, const double *base,
                    double *p_out);

/*
** The estimator above on raw data: x holds n observations of p variables,
** row-major n x p (n >= 2). Writes mean[p], the unbiased sample covariance
** s[p*p], the shrunk covariance cov[p*p] (s and cov may be NULL) and the
** intensity *lambda. MT_EINVAL for n < 2, p < 1 or a non-finite x.
*/
int mt_prior_shrink(int n, int p, const double *x, double *mean, double *s,
                    double *cov, double *lambda);

#endif
