/* vecenv.h - many environments stepped as one batch, for training throughput
 * (gym's SyncVectorEnv with same-step autoreset).
 *
 * Shapes: observations [n_envs, n_services, RLS_ENV_N_FEATURES], actions
 * [n_envs, n_services, 2], masks [n_envs, n_services, n_deltas + 2],
 * rewards/flags [n_envs]. Every env runs the same scenario and parameters.
 *
 * Seeds: rls_vecenv_reset(v, base_seed) seeds env i with base_seed + i; when
 * env i's episode ends inside rls_vecenv_step it is reset at once with
 * base_seed + i + k * n_envs for its k-th episode (k = 1, 2, ...), so every
 * episode of the batch has its own seed and the run is reproducible. The
 * observation returned for that env is then the new episode's first one; the
 * last observation of the finished episode is kept (rls_vecenv_final_obs).
 */
#ifndef RLS_VECENV_H
#define RLS_VECENV_H

#include <stdint.h>

#include "env.h"
#include "status.h"

struct rls_vecenv;

/* Creates n_envs (>= 1) environments with params p (rls_env_new). Returns an
 * owned handle (rls_vecenv_destroy), or NULL with err ("env 3: ..."). */
struct rls_vecenv *rls_vecenv_new(const struct rls_env_params *p, int32_t n_envs,
                                  struct rls_err *err);

/* Frees *v and its environments, sets it to NULL; NULL is a no-op. */
void rls_vecenv_destroy(struct rls_vecenv **v);

/* The last error message ("" if none), never NULL. */
const char *rls_vecenv_errmsg(const struct rls_vecenv *v);

/* Resets every env (env i with base_seed + i) and writes the observations
 * into obs [n_envs, n_services, F] when not NULL. Returns RLS_OK or the
 * first failing env's status (message names the env). */
int rls_vecenv_reset(struct rls_vecenv *v, uint64_t base_seed, float *obs);

/* Steps every env i with actions [n_envs, n_services, 2] (as rls_env_step).
 * Writes obs [n_envs, n_services, F], rewards [n_envs], terminated [n_envs]
 * and truncated [n_envs] (each may be NULL). An env whose episode ended is
 * reset in the same call (seed rule in the file comment): its obs are the new
 * episode's, its reward and flags those of the finished step. Returns RLS_OK,
 * RLS_ERR_STATE before reset, or the first failing env's status (message
 * "env 2: env: action for service 1 ..."); on error the envs before the
 * failing one have stepped. */
int rls_vecenv_step(struct rls_vecenv *v, const int32_t *actions, float *obs, double *rewards,
                    uint8_t *terminated, uint8_t *truncated);

/* Action masks of every env, mask [n_envs, n_services, n_deltas + 2]
 * (rls_env_action_mask). Returns RLS_OK or the first failing env's status. */
int rls_vecenv_action_mask(struct rls_vecenv *v, uint8_t *mask);

/* The final observation [n_services, F] of env i's episode that ended at the
 * last rls_vecenv_step, or NULL if env i did not finish then (or bad i).
 * Valid until the next step/reset. */
const float *rls_vecenv_final_obs(const struct rls_vecenv *v, int32_t i);

/* Per-service rewards of the last step [n_envs, n_services] (of the finished
 * step for envs that were reset), or NULL before the first step. */
const double *rls_vecenv_service_rewards(const struct rls_vecenv *v);

/* Env i (borrowed, owned by v) or NULL; its episode index (0 after reset). */
struct rls_env *rls_vecenv_env(const struct rls_vecenv *v, int32_t i);
int64_t rls_vecenv_episode(const struct rls_vecenv *v, int32_t i);

/* Sizes. */
int32_t rls_vecenv_n_envs(const struct rls_vecenv *v);
int32_t rls_vecenv_n_services(const struct rls_vecenv *v);

#endif
