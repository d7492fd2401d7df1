/* features.h - the per-service observation features (docs/ENV.md), computed
 * from a cluster state so that the environment, the learned policy and the
 * agent all see IDENTICAL features: env.c calls these functions, so does
 * policies/learned.c.
 *
 *     struct rls_features *f = rls_features_new(sc, 20, &err);
 *     rls_features_reset(f);                         // new episode: forget history
 *     rls_features_compute(f, services, nodes, n_nodes, time_s, obs);  // each step
 *     rls_features_delta_mask(f, services, deltas, n_deltas, mask, stride);
 *     rls_features_destroy(&f);
 *
 * The object keeps a compact copy of what it needs from the scenario (limits,
 * capacities, pools), the arrival history the trend features need and the
 * last computed can_place flags (used by the action masks).
 */
#ifndef RLS_FEATURES_H
#define RLS_FEATURES_H

#include <stdint.h>

#include "env.h"   /* RLS_ENV_N_FEATURES, rls_env_feature_names */
#include "scenario.h"
#include "sim.h"
#include "status.h"

struct rls_features;

/* Creates a feature extractor for scenario sc (its services, tenants, pools
 * and step_s are copied: sc need not outlive it) keeping history_len steps of
 * arrival history (>= 1; the env's default is 20). Returns an owned handle
 * (rls_features_destroy) or NULL with err (bad history_len, no services, no
 * memory). Starts reset. */
struct rls_features *rls_features_new(const struct rls_scenario *sc, int32_t history_len,
                                      struct rls_err *err);

/* Frees *f and sets it to NULL; NULL is a no-op. */
void rls_features_destroy(struct rls_features **f);

/* Forgets the arrival history (a new episode); NULL is a no-op. */
void rls_features_reset(struct rls_features *f);

/* Pushes this step's arrivals into the history and writes the observation
 * obs [n_services, RLS_ENV_N_FEATURES] of the state: services [n_services]
 * (as rls_sim_services), nodes [n_nodes] (NULL or n_nodes 0: no nodes),
 * time_s seconds since the load's origin. Also records which services can
 * place one more replica (rls_features_can_place). Call it once per step, in
 * order (the trends depend on it). Returns RLS_OK, RLS_ERR_INVALID for NULL
 * f, services or obs. */
int rls_features_compute(struct rls_features *f, const struct rls_svc_state *services,
                         const struct rls_node_state *nodes, int32_t n_nodes, double time_s,
                         float *obs);

/* Services the extractor was built for. 0 for NULL. */
int32_t rls_features_n_services(const struct rls_features *f);

/* [n_services] 1 when some node that is not failed has room (cpu and memory)
 * for one more replica of the service, as of the last compute (all 0 before
 * the first). Owned by f, valid until its next compute/reset/destroy. */
const uint8_t *rls_features_can_place(const struct rls_features *f);

/* Writes the delta part of the action mask of state `services` (as of the
 * last compute) into mask: row i at mask + i * stride, columns 0..n_deltas-1
 * (1 = allowed): delta 0 always; others masked when desired + delta leaves
 * [min_replicas, max_replicas], or when delta > 0 and the service cannot
 * place a replica (docs/ENV.md "Action mask"). Other columns untouched.
 * Returns RLS_OK or RLS_ERR_INVALID (NULL arguments, stride < n_deltas). */
int rls_features_delta_mask(const struct rls_features *f, const struct rls_svc_state *services,
                            const int32_t *deltas, int32_t n_deltas, uint8_t *mask,
                            int32_t stride);

/* The flat mask over a = d * n_placements + p (issue 4's action index) into
 * mask [n_services, n_deltas * n_placements]: mask[i][a] = delta d allowed
 * (every placement is). Returns RLS_OK or RLS_ERR_INVALID. */
int rls_features_flat_mask(const struct rls_features *f, const struct rls_svc_state *services,
                           const int32_t *deltas, int32_t n_deltas, int32_t n_placements,
                           uint8_t *mask);

/* The feature names in observation order (static, RLS_ENV_N_FEATURES
 * entries); *n receives the count when n is not NULL. Same as
 * rls_env_feature_names. */
const char *const *rls_features_names(int32_t *n);

/* Per-feature lower and upper bounds [RLS_ENV_N_FEATURES] (static). */
const float *rls_features_low(void);
const float *rls_features_high(void);

#endif
