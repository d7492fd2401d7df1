/* guard.h - the out-of-distribution guard around a learned policy: where the
 * features a checkpoint sees are far from its training data (the checkpoint's
 * obs_mean / obs_std), the HPA decides instead. The row check is the one the
 * agent runs (agent/safety.c calls rls_guard_ood_rows), and the guarded
 * policy applies the agent's verdict rule, so `rlsched eval` scores what
 * `rlsched-agent` would deploy:
 *
 *     rls_policy_new("policies/default.h5:ood=1", sc, &err);   // via policy.c
 *     rls_guarded_new("policies/default.h5", NULL, NULL, sc, &err);
 *
 * Each decision: the network decides (its controller included, learned.h),
 * the HPA decides (always, so its window is current when it takes over), the
 * rows of the features the network just computed are checked; then
 *   per_service 0 (the agent's rule): any row out, or a network error, and the
 *     HPA decides for every service; after the causes clear the HPA keeps
 *     deciding for recover_steps - 1 more decisions (the agent's RECOVERING);
 *   per_service 1: the HPA decides for exactly the rows out, at once.
 */
#ifndef RLS_GUARD_H
#define RLS_GUARD_H

#include <stdint.h>

#include "../env/scenario.h"
#include "../env/status.h"
#include "checkpoint.h"
#include "learned.h"
#include "policy.h"

/* Whether a checkpoint spec without ":ood=" is guarded (policy.c). */
#define RLS_GUARD_DEFAULT_ON 1

struct rls_guard_params {
    double ood_k;           /* a feature is outside when |x - mean| > k * std (8) */
    double ood_max_frac;    /* a row is out when more than this fraction of its features is
                               outside, 0..1 (0.25) */
    int32_t recover_steps;  /* clean consecutive decisions before the network acts again (3) */
    int per_service;        /* 0: any row out -> the HPA for all (the agent); 1: per row (0) */
};

/* The defaults above (also the agent's: agent/safety.c takes them from here). */
struct rls_guard_params rls_guard_default_params(void);

/* Features of x[n] outside mean[i] +- k * std[i] (a non-finite x, mean or
 * std counts as outside; std <= 0 means only x == mean is inside). Returns
 * the count, 0 for NULL arrays or n <= 0. */
int32_t rls_guard_ood_count(const float *x, const float *mean, const float *std, int32_t n, double k);

/* The rows of x[n_rows][n_features] (row-major raw features, one row per
 * service) out of distribution: more than max_frac of the row's features
 * outside mean[n_features] +- k * std[n_features]. row_ood[n_rows] (may be
 * NULL) gets 1 per row out. Returns the rows out, 0 for NULL x/mean/std or
 * counts <= 0 (row_ood untouched then). */
int32_t rls_guard_ood_rows(const float *x, const float *mean, const float *std, int32_t n_rows,
                           int32_t n_features, double k, double max_frac, uint8_t *row_ood);

/* Loads the checkpoint at path and builds the guarded policy: the learned
 * policy (controller lp, NULL = defaults) and an HPA (policies/hpa.h
 * defaults, as the agent's fallback) for scenario sc, guard gp (NULL =
 * defaults, copied). The handle is named `path`, kind "learned". Returns an
 * owned policy (rls_policy_destroy), or NULL with err: the load's or the
 * learned policy's message, or a bad gp field. */
struct rls_policy *rls_guarded_new(const char *path, const struct rls_learned_params *lp,
                                   const struct rls_guard_params *gp, const struct rls_scenario *sc,
                                   struct rls_err *err);

/* The same from a checkpoint in memory (not kept). name NULL = "learned". */
struct rls_policy *rls_guarded_from_checkpoint(const struct rls_checkpoint *ck, const char *name,
                                               const struct rls_learned_params *lp,
                                               const struct rls_guard_params *gp,
                                               const struct rls_scenario *sc, struct rls_err *err);

/* What a guarded policy p did since its reset. */
struct rls_guard_stats {
    int64_t decisions;          /* decide calls that succeeded */
    int64_t hpa_decisions;      /* of those, decisions where the HPA decided some service */
    int64_t ood_decisions;      /* decisions with at least one row out */
    int64_t rows_hpa;           /* service-decisions taken by the HPA */
    int64_t policy_errors;      /* network decisions that failed (the HPA decided) */
};

/* p's counters into *out and, when row_hpa is not NULL, a view of the last
 * decision's per-service flags (1 = the HPA's decision was used) [n_services],
 * valid until p's next decide/reset/destroy. Returns RLS_OK, or
 * RLS_ERR_INVALID when p is not a guarded policy or out is NULL. */
int rls_guarded_stats(const struct rls_policy *p, struct rls_guard_stats *out, const uint8_t **row_hpa);

#endif
