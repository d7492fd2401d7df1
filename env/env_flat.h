/* env_flat.h - a small stable C API over the environment for foreign callers
 * (Python's ctypes: python/rlsched/): plain ints, floats and caller-owned
 * flat buffers, no structs.
 *
 * A handle holds n_envs environments on one scenario with the default
 * environment parameters (env.h). The caller binds its own arrays once
 * (numpy arrays in Python), and every reset/step reads actions from and
 * writes results into them, so nothing is copied between the languages per
 * step:
 *     struct rls_flat *f = rls_flat_new("default", 64, 1, err, sizeof err);
 *     rls_flat_bind(f, obs, actions, rewards, terminated, truncated, masks);
 *     rls_flat_reset(f, -1, seed);       // all envs, env i gets seed + i
 *     for (;;) { ...fill actions...; rls_flat_step(f); }
 *     rls_flat_destroy(&f);
 *
 * Shapes (row-major): obs [n_envs, n_services, n_features] float32, actions
 * [n_envs, n_services, 2] int32, rewards [n_envs] float64, terminated and
 * truncated [n_envs] uint8, masks [n_envs, n_services, mask_width] uint8.
 *
 * Autoreset (vecenv.h's rule, gym's same-step autoreset): with autoreset on,
 * an env whose episode ends in rls_flat_step is reset in the same call with
 * its own next seed; its obs row is the new episode's first, its reward and
 * flags those of the finished step, and rls_flat_final_obs gives the last
 * observation of the finished episode. With autoreset off, a step of an env
 * whose episode ended fails with RLS_ERR_STATE until it is reset.
 */
#ifndef RLS_ENV_FLAT_H
#define RLS_ENV_FLAT_H

#include <stdint.h>

struct rls_flat;

/* Creates n_envs (>= 1) environments on the scenario `scenario` (a YAML
 * file, "default", "random:SEED", "NAME:load-seed=N": rls_scenario_load).
 * autoreset is 0 or 1 (file comment). Returns an owned handle
 * (rls_flat_destroy), or NULL with a one-line message in errbuf (errlen
 * bytes, NUL-terminated; errbuf may be NULL). */
struct rls_flat *rls_flat_new(const char *scenario, int32_t n_envs, int32_t autoreset,
                              char *errbuf, int32_t errlen);

/* Frees *f (not the bound buffers) and sets it to NULL; NULL is a no-op. */
void rls_flat_destroy(struct rls_flat **f);

/* The last error message of this handle ("" if none); never NULL, owned by f. */
const char *rls_flat_errmsg(const struct rls_flat *f);

/* Sizes: envs, services, features per service (RLS_ENV_N_FEATURES), delta
 * choices, mask columns per service (n_deltas + 2), action columns per
 * service (2), episode length in steps (the truncation horizon). */
int32_t rls_flat_n_envs(const struct rls_flat *f);
int32_t rls_flat_n_services(const struct rls_flat *f);
int32_t rls_flat_n_features(const struct rls_flat *f);
int32_t rls_flat_n_deltas(const struct rls_flat *f);
int32_t rls_flat_mask_width(const struct rls_flat *f);
int32_t rls_flat_action_dims(const struct rls_flat *f);
int64_t rls_flat_horizon(const struct rls_flat *f);

/* The scenario's name and the feature names joined by ',' (owned by f, valid
 * until destroy). */
const char *rls_flat_scenario_name(const struct rls_flat *f);
const char *rls_flat_feature_names(const struct rls_flat *f);

/* Copies the delta set into out [n_deltas]. Returns RLS_OK or RLS_ERR_INVALID. */
int rls_flat_deltas(const struct rls_flat *f, int32_t *out);

/* Copies the observation space's bounds into low and high [n_services *
 * n_features] (may hold +-inf). Returns RLS_OK or RLS_ERR_INVALID. */
int rls_flat_obs_bounds(const struct rls_flat *f, float *low, float *high);

/* Binds the caller's buffers (shapes in the file comment); they must stay
 * valid until the next bind or destroy. masks may be NULL (then
 * rls_flat_masks fails). Returns RLS_OK or RLS_ERR_INVALID for a NULL
 * required buffer. */
int rls_flat_bind(struct rls_flat *f, float *obs, int32_t *actions, double *rewards,
                  uint8_t *terminated, uint8_t *truncated, uint8_t *masks);

/* Resets env i with this seed (same seed, same episode), or every env when
 * i < 0 (env k with seed + k), writing their obs rows and zeroing their
 * reward and flags. Returns RLS_OK, RLS_ERR_STATE before bind,
 * RLS_ERR_RANGE for i >= n_envs, or the env's status (rls_flat_errmsg). */
int rls_flat_reset(struct rls_flat *f, int32_t i, uint64_t seed);

/* Steps every env with the bound actions and writes obs, rewards and flags
 * (autoreset in the file comment). Returns RLS_OK, RLS_ERR_STATE before bind
 * or reset (or, without autoreset, after an episode ended), RLS_ERR_RANGE for
 * an action outside the action space (message names env and service). */
int rls_flat_step(struct rls_flat *f);

/* Writes the action masks of every env's current state into the bound masks
 * buffer (1 = allowed; env.h rls_env_action_mask). Returns RLS_OK,
 * RLS_ERR_STATE before bind/reset or without a masks buffer. */
int rls_flat_masks(struct rls_flat *f);

/* 1 if env i's episode ended at the last step (autoreset on), and then
 * copies its final observation [n_services * n_features] into out; 0
 * otherwise (out untouched). */
int rls_flat_final_obs(const struct rls_flat *f, int32_t i, float *out);

/* The C-only throughput baseline: runs n_steps steps of every env with the
 * bound actions held fixed (autoreset on: episodes restart; off: an ended
 * env is reset with seed + its episode count), without masks. Returns RLS_OK
 * or the first failing status. */
int rls_flat_run(struct rls_flat *f, int64_t n_steps);

#endif
