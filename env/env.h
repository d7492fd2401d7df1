/* env.h - the gym-like environment API: reset, step, observation and action
 * spaces, action masks and a configurable reward, over a pluggable backend.
 *
 * One episode:
 *     struct rls_env_params p = rls_env_default_params();
 *     p.scenario = sc;
 *     struct rls_env *env = rls_env_new(&p, &err);
 *     rls_env_reset(env, seed, obs);                  // obs [n_services, RLS_ENV_N_FEATURES]
 *     do {
 *         rls_env_action_mask(env, mask);             // [n_services, n_deltas + 2]
 *         ... choose action [n_services, 2] ...
 *         rls_env_step(env, action, &r);              // r.obs, r.reward, r.terminated, ...
 *     } while (!r.terminated && !r.truncated);
 *     rls_env_destroy(&env);
 *
 * The observation is per service and scale free (docs/ENV.md lists every
 * feature and its formula), so one network serves any service and any
 * number of services. The action per service is (index into the delta set,
 * placement). The backend (the step simulator here; a live cluster later)
 * sits behind struct rls_env_backend_ops, as redis' ConnectionType.
 */
#ifndef RLS_ENV_H
#define RLS_ENV_H

#include <stdint.h>

#include "scenario.h"
#include "sim.h"
#include "spaces.h"
#include "status.h"

#define RLS_ENV_MAX_DELTAS 16     /* most entries in a delta set */
#define RLS_ENV_N_PLACEMENTS 2    /* enum rls_placement: spread, binpack */
#define RLS_ENV_N_FEATURES 25     /* observation features per service (docs/ENV.md) */
#define RLS_ENV_ACTION_DIMS 2     /* per service: delta index, placement */

/* Indices of the observation features that code outside env/ reads by name
 * (docs/ENV.md has the whole table). */
enum rls_feature_index {
    RLS_FEAT_LOAD = 0,
    RLS_FEAT_READY = 5,
    RLS_FEAT_STARTING = 6,
    RLS_FEAT_DESIRED = 8,
    RLS_FEAT_OVER_SLO = 14,
    RLS_FEAT_DROP = 15,
};

/* What a backend provides. Every function receives the backend's own state
 * (`self`). State views are valid until the next reset/step/destroy of the
 * backend. The environment never calls step before a successful reset. */
struct rls_env_backend_ops {
    const char *name;   /* "sim", "cluster", ... */
    /* New episode with this seed. Returns RLS_OK or a negative status (errmsg). */
    int (*reset)(void *self, uint64_t seed);
    /* One control step: desired[n_services] replica targets (already clamped
     * to [min, max]), placement[n_services] enum rls_placement for replicas
     * added. Returns RLS_OK or a negative status (errmsg). */
    int (*step)(void *self, const int32_t *desired, const uint8_t *placement);
    const struct rls_scenario *(*scenario)(const void *self);  /* services, pools, step_s */
    const struct rls_svc_state *(*services)(const void *self); /* [n_services] */
    const struct rls_node_state *(*nodes)(const void *self, int32_t *n_nodes); /* [*n_nodes] */
    const struct rls_step_info *(*last)(const void *self);     /* the last step's figures */
    int64_t (*steps)(const void *self);     /* steps since reset */
    int64_t (*horizon)(const void *self);   /* episode length in steps (truncation) */
    double (*time_s)(const void *self);     /* seconds since the load's origin */
    const char *(*errmsg)(const void *self); /* last error, never NULL (may be NULL itself) */
    void (*destroy)(void *self);            /* frees self */
};

/* The step simulator as a backend (the one rls_env_new builds for "sim"):
 * self is a struct rls_sim * (sim.h) the env then owns. For callers that keep
 * a view of the simulator, e.g. `rlsched record` reads its future load for
 * the oracle:
 *     env = rls_env_new_with_backend(&p, &rls_sim_backend_ops, sim, &err); */
extern const struct rls_env_backend_ops rls_sim_backend_ops;

/* How to build an environment. */
struct rls_env_params {
    const struct rls_scenario *scenario;      /* required for rls_env_new (the "sim" backend
                                                 copies it); ignored by new_with_backend */
    const char *backend;                      /* backend name, "sim" (NULL = "sim") */
    const struct rls_reward_weights *reward;  /* reward weights, copied; NULL = scenario->reward */
    int32_t n_deltas;                         /* entries in deltas; 0 = the default set
                                                 {-8,-4,-2,-1,0,1,2,4,8} */
    int32_t deltas[RLS_ENV_MAX_DELTAS];       /* replica changes an action picks from; distinct,
                                                 must contain 0 */
    int32_t history_len;                      /* steps of arrival history kept for the trend
                                                 features (20), >= 1 */
    double terminate_drop_frac;               /* terminated when the dropped fraction of all
                                                 arrivals stays above this ... (0.5) */
    int32_t terminate_steps;                  /* ... for this many consecutive steps (20);
                                                 0 = never terminate */
};

/* The unweighted reward terms of one step (each about 0..1; docs/ENV.md). */
struct rls_env_reward_terms {
    double cost;    /* step cost / (max cluster cost per hour * step_s / 3600) */
    double slo;     /* requests over the SLO / arrivals */
    double drop;    /* requests dropped / arrivals */
    double churn;   /* sum over services of |change| / max_replicas, / n_services */
};

/* What a reset or step gives back. The pointers are into env-owned buffers,
 * valid until the next reset/step/destroy of the environment. */
struct rls_step_result {
    const float *obs;                    /* [n_services, RLS_ENV_N_FEATURES] */
    double reward;                       /* -(weights . terms) */
    int terminated;                      /* 1: sustained drops ended the episode */
    int truncated;                       /* 1: the horizon was reached (and not terminated) */
    const double *service_reward;        /* [n_services] per-service reward */
    struct rls_env_reward_terms terms;   /* unweighted terms of `reward` */
    const struct rls_step_info *info;    /* the backend's figures of the step */
    const struct rls_svc_state *services;/* [n_services] the backend's service states */
};

struct rls_env;

/* Returns the defaults: no scenario, backend "sim", reward from the
 * scenario, the default delta set, history 20, terminate after 20 steps
 * above 50% dropped. */
struct rls_env_params rls_env_default_params(void);

/* Creates an environment on the named backend (only "sim" is built in).
 * Returns an owned handle (rls_env_destroy), or NULL with err naming the
 * bad parameter, or the simulator's message. Must be reset before a step. */
struct rls_env *rls_env_new(const struct rls_env_params *p, struct rls_err *err);

/* Creates an environment on a caller-supplied backend. Takes ownership of
 * self (freed with ops->destroy when the env is destroyed, and also here on
 * failure); ops must outlive the env (usually a static table).
 * p->scenario and p->backend are ignored: the scenario is ops->scenario(self).
 * Returns an owned handle or NULL with err. */
struct rls_env *rls_env_new_with_backend(const struct rls_env_params *p,
                                         const struct rls_env_backend_ops *ops, void *self,
                                         struct rls_err *err);

/* Frees *env (and its backend) and sets it to NULL; NULL is a no-op. */
void rls_env_destroy(struct rls_env **env);

/* The last error message of this handle ("" if none). Never NULL. */
const char *rls_env_errmsg(const struct rls_env *env);

/* Starts an episode with this seed (same seed, same episode). Writes the
 * first observation into obs [n_services, RLS_ENV_N_FEATURES] when obs is
 * not NULL (it is also readable with rls_env_obs). Returns RLS_OK, or the
 * backend's negative status with its message. */
int rls_env_reset(struct rls_env *env, uint64_t seed, float *obs);

/* One step with a MultiDiscrete action [n_services, 2]: action[2i] indexes
 * the delta set (desired_i = current desired_i + delta, clamped to the
 * service's [min, max]), action[2i+1] is the placement (0 spread, 1 binpack)
 * of replicas added. Fills r (may be NULL). Returns RLS_OK; RLS_ERR_RANGE for
 * an action outside the action space (message names the service index),
 * RLS_ERR_STATE before reset or after the episode ended (reset first),
 * RLS_ERR_INVALID for a NULL action, or the backend's status. */
int rls_env_step(struct rls_env *env, const int32_t *action, struct rls_step_result *r);

/* One step with absolute replica targets desired[n_services] (clamped to
 * [min, max]) and placement[n_services] (NULL: spread for all; values must
 * be < RLS_ENV_N_PLACEMENTS), as baselines decide them. Same returns as
 * rls_env_step. */
int rls_env_step_replicas(struct rls_env *env, const int32_t *desired, const uint8_t *placement,
                          struct rls_step_result *r);

/* Writes the action mask of the current state into mask [n_services,
 * n_deltas + RLS_ENV_N_PLACEMENTS] (1 = allowed): the first n_deltas columns
 * are the delta choices, the last two the placements (always allowed). A
 * delta is masked out if desired + delta leaves [min, max], or if it adds
 * replicas while no node that is not failed has room (cpu and memory) for
 * one more replica of the service. Delta 0 is always allowed. Returns RLS_OK,
 * RLS_ERR_STATE before reset, RLS_ERR_INVALID for a NULL mask. */
int rls_env_action_mask(struct rls_env *env, uint8_t *mask);

/* Spaces, owned by the env (valid until destroy). Observation: Box float32
 * [n_services, RLS_ENV_N_FEATURES] with per-feature bounds; action:
 * MultiDiscrete [n_services, 2] with nvec (n_deltas, 2) per service. */
const struct rls_space *rls_env_observation_space(const struct rls_env *env);
const struct rls_space *rls_env_action_space(const struct rls_env *env);

/* Shapes and the delta set. */
int32_t rls_env_n_services(const struct rls_env *env);
int32_t rls_env_n_deltas(const struct rls_env *env);
const int32_t *rls_env_deltas(const struct rls_env *env);       /* [n_deltas] */
int32_t rls_env_mask_width(const struct rls_env *env);          /* n_deltas + 2 */

/* The feature names in observation order (static, RLS_ENV_N_FEATURES
 * entries); *n receives the count when n is not NULL. */
const char *const *rls_env_feature_names(int32_t *n);

/* The current observation [n_services, RLS_ENV_N_FEATURES] (env-owned,
 * valid until the next reset/step), NULL before reset. */
const float *rls_env_obs(const struct rls_env *env);

/* Backend views (valid until the next reset/step): the scenario, service
 * states [n_services], nodes [*n_nodes], the last step's info, steps since
 * reset, horizon, time in seconds, the backend's name. */
const struct rls_scenario *rls_env_scenario(const struct rls_env *env);
const struct rls_svc_state *rls_env_services(const struct rls_env *env);
const struct rls_node_state *rls_env_nodes(const struct rls_env *env, int32_t *n_nodes);
const struct rls_step_info *rls_env_last(const struct rls_env *env);
int64_t rls_env_steps(const struct rls_env *env);
int64_t rls_env_horizon(const struct rls_env *env);
double rls_env_time_s(const struct rls_env *env);
const char *rls_env_backend_name(const struct rls_env *env);

/* The reward weights in use. */
struct rls_reward_weights rls_env_reward_weights(const struct rls_env *env);

#endif
