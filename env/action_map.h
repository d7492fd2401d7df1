/* action_map.h - from a replica target to an env action, in one place: the
 * allowed action (env.h's mask rule, delta AND placement mask) that lands
 * closest to a target, the flat mask over a = delta_index * n_placements +
 * placement that replay files store, and epsilon-random exploration among
 * the allowed actions. `rlsched record` (a baseline's target) and the agent's
 * recorder (the replicas it sent) both map through here, so the actions of
 * their replay files mean the same thing.
 *
 *     rls_env_action_mask(env, mask);                          // [S, n_deltas + n_placements]
 *     rls_action_mask_flatten(mask, S, nd, NP, flat_mask);     // [S, nd * NP]
 *     rls_env_actions_from_targets(env, mask, target, placement, flat, action);
 *     flat[i] = rls_action_explore(flat_mask + i * nd * NP, nd * NP, eps, &rng, flat[i]);
 */
#ifndef RLS_ACTION_MAP_H
#define RLS_ACTION_MAP_H

#include <stdint.h>

#include "env.h"

/* One service: the flat action a = d * n_placements + p nearest to `target`
 * replicas. mask_row [n_deltas + n_placements] is the service's row of
 * rls_env_action_mask (1 = allowed); deltas [n_deltas] the env's delta set;
 * current the replicas targeted now (the state's desired). The delta chosen
 * is the allowed one whose result, clamped to [min_replicas, max_replicas] as
 * the env clamps it, is nearest to target; ties go to the smaller |delta|,
 * then the lower index. The placement is `placement` when the mask allows it,
 * else the lowest allowed one (0 when none is). When no delta is allowed, the
 * 0 delta (or index 0 without one). Returns a, or -1 for NULL arrays or
 * n_deltas/n_placements < 1. */
int32_t rls_action_from_target(const uint8_t *mask_row, const int32_t *deltas, int32_t n_deltas,
                               int32_t n_placements, int32_t current, int32_t min_replicas,
                               int32_t max_replicas, int32_t target, int32_t placement);

/* rls_action_from_target for every service of env (its state now, its
 * scenario's limits, its delta set). mask [S, n_deltas + RLS_ENV_N_PLACEMENTS]
 * is rls_env_action_mask of the same state; target [S] replicas; placement [S]
 * enum rls_placement (NULL = spread). Writes flat [S] (may be NULL) and action
 * [S, RLS_ENV_ACTION_DIMS] = (delta index, placement) (may be NULL). Returns
 * RLS_OK, RLS_ERR_INVALID for NULL env/mask/target, RLS_ERR_STATE before the
 * env's first reset. */
int rls_env_actions_from_targets(const struct rls_env *env, const uint8_t *mask,
                                 const int32_t *target, const uint8_t *placement, int32_t *flat,
                                 int32_t *action);

/* The flat mask of an env mask: flat[i][d * n_placements + p] = mask[i][d] &&
 * mask[i][n_deltas + p], for mask [n_services, n_deltas + n_placements] and
 * flat [n_services, n_deltas * n_placements]. Returns RLS_OK, or
 * RLS_ERR_INVALID for NULL arrays or a count < 0 (n_deltas, n_placements < 1). */
int rls_action_mask_flatten(const uint8_t *mask, int32_t n_services, int32_t n_deltas,
                            int32_t n_placements, uint8_t *flat);

/* Exploration of one service: with probability epsilon (one draw of *rng,
 * splitmix64, uniform in [0, 1)) a uniformly random allowed action of
 * flat_mask_row [n_actions] (a second draw), else `a`. No draw at all when
 * epsilon <= 0 or nothing is allowed (then `a` is returned), so a given seed
 * gives the same actions run after run. Returns the action. */
int32_t rls_action_explore(const uint8_t *flat_mask_row, int32_t n_actions, double epsilon,
                           uint64_t *rng, int32_t a);

#endif
