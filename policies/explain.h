/* explain.h - why a learned policy chose what it chose: the attribution of
 * one output of a checkpoint's network (policies/checkpoint.h; the chosen
 * action's, or any action's) to each of its input features (env/features.h),
 * by integrated gradients (Sundararajan et al. 2017) from a baseline
 * observation (default: the checkpoint's obs_mean, i.e. the normalized zero
 * vector):
 *
 *     attr[i] = (x[i] - b[i]) * integral_0^1 df/dx[i] (b + t (x - b)) dt
 *
 * with the exact gradient of the ReLU MLP (a backward pass through its
 * layers, in double precision, no libtorch). The integral is exact by
 * default (the path crosses finitely many linear regions of the network, the
 * gradient is constant in each), or by the trapezoid rule on 2^k intervals,
 * doubled until completeness holds: |sum(attr) - (f(x) - f(b))| <= tol
 * (policies/EXPLAIN.md).
 *
 *     struct rls_explainer *e = rls_explainer_new(ck, NULL, &err);
 *     rls_explainer_choose(e, obs, mask, 0.3, &a);          // the network's choice
 *     struct rls_explanation x;
 *     rls_explainer_explain(e, obs, RLS_ENV_N_FEATURES, a, &x);
 *     int32_t top[3]; int32_t n = rls_explanation_top(&x, 3, top);
 *     rls_explainer_destroy(&e);
 */
#ifndef RLS_EXPLAIN_H
#define RLS_EXPLAIN_H

#include <stdint.h>

#include "../env/status.h"
#include "checkpoint.h"

#define RLS_EXPLAIN_MAX_FEATURES 64   /* input features at most (the env has 25) */

enum rls_explain_method {
    RLS_EXPLAIN_EXACT = 0,      /* the integral computed exactly: the path split at every
                                   point where a hidden ReLU turns (the network is affine
                                   between), the constant gradient of each piece times its
                                   length; falls back to the trapezoid rule past max_regions */
    RLS_EXPLAIN_TRAPEZOID = 1   /* the trapezoid rule on 2^k intervals, doubled from min_steps
                                   until completeness <= tol or max_steps */
};

struct rls_explain_params {
    int32_t method;         /* enum rls_explain_method (RLS_EXPLAIN_EXACT) */
    int32_t max_regions;    /* exact: linear regions at most before the fallback (1000000) */
    const float *baseline;  /* raw observation [n_inputs] to attribute from; NULL = the
                               checkpoint's obs_mean (copied at rls_explainer_new) */
    double tol;             /* completeness bound, output units (1e-4) */
    int32_t min_steps;      /* trapezoid intervals to start with, a power of 2 (8) */
    int32_t max_steps;      /* doubling stops here, a power of 2 >= min_steps (65536) */
};

/* The defaults above. */
struct rls_explain_params rls_explain_default_params(void);

/* One explanation: output `action` of the network at x against the baseline. */
struct rls_explanation {
    int32_t n_features;                     /* the network's inputs */
    int32_t action;                         /* output index explained */
    double attr[RLS_EXPLAIN_MAX_FEATURES];  /* [n_features] attributions, output units */
    double f_x;                             /* output `action` at x (double forward) */
    double f_baseline;                      /* output `action` at the baseline */
    double sum;                             /* sum of attr */
    double completeness_err;                /* |sum - (f_x - f_baseline)| */
    int32_t method;                         /* the method used (enum rls_explain_method) */
    int32_t steps;                          /* exact: linear regions crossed; trapezoid:
                                               intervals used */
    int converged;                          /* 1: completeness_err <= tol */
};

struct rls_explainer;

/* Builds an explainer for ck's network (weights copied, ck need not outlive
 * it); prm NULL = defaults. Returns an owned handle (rls_explainer_destroy) or
 * NULL with err: RLS_ERR_INVALID (NULL ck, a checkpoint that does not
 * validate, more than RLS_EXPLAIN_MAX_FEATURES inputs, an activation other
 * than relu), RLS_ERR_RANGE (an unknown method, max_regions < 1, tol <= 0 or
 * not finite, steps not powers of 2 in 1..2^24 or min > max, a non-finite
 * baseline), RLS_ERR_NOMEM. */
struct rls_explainer *rls_explainer_new(const struct rls_checkpoint *ck,
                                        const struct rls_explain_params *prm,
                                        struct rls_err *err);

/* Frees *e and sets it to NULL; NULL is a no-op. */
void rls_explainer_destroy(struct rls_explainer **e);

/* Inputs, outputs and actions (the first head's outputs) of e's network; 0
 * for NULL. */
int32_t rls_explainer_n_inputs(const struct rls_explainer *e);
int32_t rls_explainer_n_outputs(const struct rls_explainer *e);
int32_t rls_explainer_n_actions(const struct rls_explainer *e);

/* The network's outputs out[n_outputs] at the raw observation x[n_inputs]
 * (normalization applied), in double precision (the explanation's f). Returns
 * RLS_OK or RLS_ERR_INVALID (NULL arguments). */
int rls_explainer_forward(struct rls_explainer *e, const float *x, double *out);

/* The exact gradient grad[n_inputs] of output `action` with respect to the
 * raw observation x[n_inputs] (a ReLU at exactly 0 counts as off). Returns
 * RLS_OK, RLS_ERR_INVALID (NULL arguments) or RLS_ERR_RANGE (action outside
 * 0..n_outputs-1). */
int rls_explainer_gradient(struct rls_explainer *e, const float *x, int32_t action, double *grad);

/* The action the deployed policy's network picks at x (policies/learned.c's
 * rule, with the float forward of policies/mlp.h): the highest of the first
 * n_actions outputs among those allowed by mask[n_actions] (NULL = all); for
 * a two-head network only actions whose behaviour logit is within
 * log(support_tau) of the likeliest allowed one compete. *action gets -1
 * when nothing is allowed. Returns RLS_OK, RLS_ERR_INVALID (NULL e/x/action)
 * or RLS_ERR_RANGE (support_tau outside (0, 1]). */
int rls_explainer_choose(struct rls_explainer *e, const float *x, const uint8_t *mask,
                         double support_tau, int32_t *action);

/* Explains output `action` at the raw observation x[n_features] into *out
 * (integrated gradients from the baseline, above). A result with
 * out->converged 0 (the trapezoid's max_steps reached first) is
 * still filled. Returns RLS_OK,
 * or with *out untouched: RLS_ERR_INVALID (NULL e/x/out, or n_features not
 * the network's inputs), RLS_ERR_RANGE (action outside 0..n_outputs-1, a
 * non-finite x). */
int rls_explainer_explain(struct rls_explainer *e, const float *x, int32_t n_features,
                          int32_t action, struct rls_explanation *out);

/* The indices of the k largest |attr| of x, largest first (ties: lower index
 * first) into idx[k]. Returns how many were written (min(k, n_features)), 0
 * for NULL x/idx or k <= 0. */
int32_t rls_explanation_top(const struct rls_explanation *x, int32_t k, int32_t *idx);

#endif
