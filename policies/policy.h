/* policy.h - one interface for every way of choosing actions: the baselines
 * (static, hpa, kpa, predictive, oracle), tuned variants, and later learned
 * policies loaded from checkpoints. A policy is an ops table plus its state
 * (as redis' ConnectionType): callers only use the rls_policy_* wrappers.
 *
 * Each control step the caller fills a struct rls_policy_input from the
 * cluster (simulated or live) and the policy writes the desired replicas and
 * the placement strategy of every service.
 */
#ifndef RLS_POLICY_H
#define RLS_POLICY_H

#include <stdint.h>

#include "../env/scenario.h"
#include "../env/sim.h"
#include "../env/status.h"

/* What a policy sees at a decision. */
struct rls_policy_input {
    const struct rls_scenario *scenario;   /* services' limits, SLOs, capacities */
    int64_t step;                          /* steps taken since reset (0 at the first decision) */
    double time_s;                         /* seconds since the load's origin */
    const struct rls_svc_state *services;  /* [n_services] state after the last step */
    const struct rls_node_state *nodes;    /* [n_nodes] */
    int32_t n_nodes;
    /* Clairvoyance, set only for policies that declare needs_future (the
     * oracle): the load rate of service svc at episode step `step`. */
    double (*future_rate)(const void *ctx, int32_t svc, int64_t step);
    const void *future_ctx;
};

/* The ops table a policy implements. */
struct rls_policy_ops {
    const char *kind;        /* "hpa", "kpa", ... */
    int needs_future;        /* 1 for clairvoyant policies (oracle) */
    /* New episode: forget history. Returns RLS_OK or a negative status. */
    int (*reset)(void *self, const struct rls_scenario *sc);
    /* desired[n_services] replicas, placement[n_services] enum rls_placement.
     * Returns RLS_OK or a negative status (with a message via errmsg). */
    int (*decide)(void *self, const struct rls_policy_input *in, int32_t *desired,
                  uint8_t *placement);
    const char *(*errmsg)(const void *self);   /* may be NULL */
    void (*destroy)(void *self);
};

struct rls_policy;

/* Wraps an implementation: takes ownership of self (freed by ops->destroy in
 * rls_policy_destroy, also on failure here). name is copied (the display name,
 * e.g. "hpa@binpack"). Returns an owned handle or NULL on no memory. */
struct rls_policy *rls_policy_wrap(const struct rls_policy_ops *ops, void *self,
                                   const char *name);

/* Builds a policy from a spec string for scenario sc:
 *   static[:N]      fixed N replicas per service (default: each service's demand at its load's peak)
 *   hpa             Kubernetes HPA (target 70% CPU, policies/hpa.h defaults)
 *   kpa             Knative KPA
 *   predictive      Holt-Winters forecast, provisioned ahead of the cold start
 *   oracle-step     clairvoyant, meets the SLO at every step (alias "oracle"; needs future_rate)
 *   oracle-budget[:B] clairvoyant, cheapest plan found within the violation budget B
 *                   (a fraction; default the scenario's), calibrated on simulator runs
 * each optionally followed by "@spread" or "@binpack" (placement; default spread).
 * "hpa-tuned" is built by eval (it needs simulation runs to tune).
 * Returns an owned handle, or NULL with err naming the unknown name/option. */
struct rls_policy *rls_policy_new(const char *spec, const struct rls_scenario *sc,
                                  struct rls_err *err);

/* Parses a checkpoint's controller options, ":hold=N:floor=U:slo=0|1:budget=G:
 * window=S:tau=T:ood=0|1" (any subset, in any order; "" = none), into *lp
 * (fields not named keep their value) and *ood (may be NULL). Returns RLS_OK,
 * or RLS_ERR_INVALID with err naming the option. */
struct rls_learned_params;
int rls_policy_learned_options(const char *opts, struct rls_learned_params *lp, int *ood,
                               struct rls_err *err);

/* Frees *p (and its implementation) and sets it to NULL; NULL is a no-op. */
void rls_policy_destroy(struct rls_policy **p);

/* Thin wrappers over the ops. decide also applies the "@placement" override
 * and clamps desired to each service's [min, max]. */
int rls_policy_reset(struct rls_policy *p, const struct rls_scenario *sc);
int rls_policy_decide(struct rls_policy *p, const struct rls_policy_input *in,
                      int32_t *desired, uint8_t *placement);
const char *rls_policy_name(const struct rls_policy *p);
const char *rls_policy_kind(const struct rls_policy *p);
int rls_policy_needs_future(const struct rls_policy *p);
/* Last error message ("" if none), never NULL. */
const char *rls_policy_errmsg(const struct rls_policy *p);

/* The implementation's state if p's ops table is `ops`, else NULL (for
 * modules that extend one kind of policy, e.g. learned.h). Not owned. */
void *rls_policy_self_if(const struct rls_policy *p, const struct rls_policy_ops *ops);

/* Placement override: -1 = leave the policy's choice. */
void rls_policy_set_placement(struct rls_policy *p, int placement);

#endif
