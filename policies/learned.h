/* learned.h - a trained checkpoint (policies/checkpoint.h) behind the policy
 * interface (policies/policy.h): each decision computes the env's features
 * (env/features.h) from the cluster state, runs the native forward pass
 * (policies/mlp.h) for all services in one batch, and per service takes the
 * allowed action (the env's mask rule) with the highest output among the
 * first n_actions, decoded as a = delta_index * n_placements + placement.
 *
 * The registry builds it for specs ending in ".h5":
 *     rls_policy_new("policies/default.h5@binpack", sc, &err);
 */
#ifndef RLS_LEARNED_H
#define RLS_LEARNED_H

#include "../env/scenario.h"
#include "../env/status.h"
#include "checkpoint.h"
#include "policy.h"

/* The controller between the network and the cluster (the same in eval, record
 * and the agent). Each step the network proposes a target per service
 * (desired + the chosen delta); the controller applies
 *   target = max(the proposals of the last hold_steps decisions,
 *                ceil(arrivals / (capacity * floor_util)) if over 1.1 x desired)
 * clamped to [min, max]: scale-ups at once, a scale-down only when every
 * recent proposal agrees (the HPA's stabilization window), and a spike is
 * met at once even when the network, far from its training data, does not.
 * slo_floor and budget_gain (below) make the floor the SLO's and keep each
 * service within its violation budget (docs/POLICIES.md). */
struct rls_learned_params {
    int32_t hold_steps;     /* scale-down stabilization, decisions (4 = 1 min at 15 s); 0 = off */
    double floor_util;      /* reactive floor's utilization (0.95); 0 = off */
    int32_t slo_floor;      /* 1: the floor is also the SLO's: the fewest replicas that meet the
                               service's SLO percentile at the current arrivals (the queueing
                               model, rls_queueing_demand), and no scale-down below that floor
                               (a hysteresis band: up at once when over 1.1 x desired, never
                               down through it); 0 = utilization only (the default) */
    double budget_gain;     /* > 0: spend the SLO budget, not more: per service the fraction of
                               requests late or dropped over the last budget_window_s (an
                               exponential window) against the budget 1 - slo_percentile;
                               over 0.8 x budget the floor's rate is scaled by
                               1 + gain * (fraction / budget - 0.8), at most 2x; 0 = off */
    double budget_window_s; /* the budget tracker's window, seconds (86400) */
    double support_tau;     /* two-head networks ([Q | behaviour logits]: discrete BCQ, or the
                               reward-driven stage's --support): only actions whose behaviour
                               probability is at least tau of the likeliest allowed one compete
                               on Q (0.3, d3rlpy's BCQ default; 1 = the behaviour's own choice) */
};

/* The defaults above. */
struct rls_learned_params rls_learned_default_params(void);

/* Loads the checkpoint at path (rls_checkpoint_load) and wraps it as a policy
 * named `path` (kind "learned") for scenario sc. Returns an owned policy
 * (rls_policy_destroy) or NULL with err: the load's message, or a checkpoint
 * whose inputs are not this build's features or whose action space cannot
 * be decoded (deltas not distinct, no 0 delta, more placements than
 * RLS_PLACE_COUNT). */
struct rls_policy *rls_learned_new(const char *path, const struct rls_scenario *sc,
                                   struct rls_err *err);

/* rls_learned_new with a controller; prm NULL = defaults. Also refuses
 * hold_steps outside 0..100000 or floor_util outside [0, 1]. */
struct rls_policy *rls_learned_new_with(const char *path, const struct rls_learned_params *prm,
                                        const struct rls_scenario *sc, struct rls_err *err);

/* The same from a checkpoint in memory (copied into the forward pass; ck need
 * not outlive the policy), e.g. for the trainer's periodic evaluation. name
 * NULL = "learned". Same returns. */
struct rls_policy *rls_learned_from_checkpoint(const struct rls_checkpoint *ck, const char *name,
                                               const struct rls_scenario *sc,
                                               struct rls_err *err);

/* rls_learned_from_checkpoint with a controller; prm NULL = defaults. */
struct rls_policy *rls_learned_from_checkpoint_with(const struct rls_checkpoint *ck, const char *name,
                                                    const struct rls_learned_params *prm,
                                                    const struct rls_scenario *sc,
                                                    struct rls_err *err);

/* The features [n_services, RLS_ENV_N_FEATURES] the learned policy p computed
 * at its last decide (valid until the next decide/reset/destroy), so a caller
 * (the agent's out-of-distribution check) need not compute them again; NULL
 * if p is not a learned policy or has not decided since its reset. */
const float *rls_learned_last_obs(const struct rls_policy *p);

#endif
