/* env.c - the gym-like environment (env.h): the simulator backend behind the
 * ops table, observation features, action decoding and masks, reward,
 * termination and truncation. The observation features and the delta mask
 * rule live in features.c (shared with the learned policy and the agent).
 * Formulas are documented in docs/ENV.md; keep the two in step.
 */
#include "env.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features.h"

/* ---------------------------------------------------------------------------
 * The simulator backend: thin casts over rls_sim_*. */

static int s_sim_reset(void *self, uint64_t seed)
{
    return rls_sim_reset(self, seed);
}

static int s_sim_step(void *self, const int32_t *desired, const uint8_t *placement)
{
    return rls_sim_step(self, desired, placement);
}

static const struct rls_scenario *s_sim_scenario(const void *self)
{
    return rls_sim_scenario(self);
}

static const struct rls_svc_state *s_sim_services(const void *self)
{
    return rls_sim_services(self);
}

static const struct rls_node_state *s_sim_nodes(const void *self, int32_t *n_nodes)
{
    if (n_nodes)
        *n_nodes = rls_sim_n_nodes(self);
    return rls_sim_nodes(self);
}

static const struct rls_step_info *s_sim_last(const void *self)
{
    return rls_sim_last(self);
}

static int64_t s_sim_steps(const void *self)
{
    return rls_sim_steps(self);
}

static int64_t s_sim_horizon(const void *self)
{
    return rls_sim_horizon(self);
}

static double s_sim_time_s(const void *self)
{
    return rls_sim_time_s(self);
}

static const char *s_sim_errmsg(const void *self)
{
    return rls_sim_errmsg(self);
}

static void s_sim_destroy(void *self)
{
    struct rls_sim *sim = self;
    rls_sim_destroy(&sim);
}

const struct rls_env_backend_ops rls_sim_backend_ops = {
    .name = "sim",
    .reset = s_sim_reset,
    .step = s_sim_step,
    .scenario = s_sim_scenario,
    .services = s_sim_services,
    .nodes = s_sim_nodes,
    .last = s_sim_last,
    .steps = s_sim_steps,
    .horizon = s_sim_horizon,
    .time_s = s_sim_time_s,
    .errmsg = s_sim_errmsg,
    .destroy = s_sim_destroy,
};

static const int32_t s_default_deltas[] = {-8, -4, -2, -1, 0, 1, 2, 4, 8};

/* ---------------------------------------------------------------------------
 * The environment. */

enum s_state { S_FRESH = 0, S_RUNNING = 1, S_ENDED = 2 };

struct rls_env {
    const struct rls_env_backend_ops *ops;
    void *self;
    struct rls_reward_weights w;
    int32_t n_svc;
    int32_t n_deltas;
    int32_t deltas[RLS_ENV_MAX_DELTAS];
    struct rls_features *feat; /* features, arrival history, can_place (features.h) */
    double terminate_drop_frac;
    int32_t terminate_steps;
    int32_t drop_streak;       /* consecutive steps above terminate_drop_frac */
    enum s_state state;
    int32_t terminated, truncated;
    float *obs;                /* [n_svc, F] */
    double *svc_reward;        /* [n_svc] */
    int32_t *desired;          /* [n_svc] scratch for the step */
    uint8_t *placement;        /* [n_svc] scratch for the step */
    struct rls_env_reward_terms terms;
    double reward;
    struct rls_space *obs_space;
    struct rls_space *act_space;
    char err[RLS_ERRMSG_MAX];
};

static int s_fail(struct rls_env *env, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(struct rls_env *env, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(env->err, sizeof(env->err), fmt, ap);
    va_end(ap);
    return status;
}

static int s_backend_fail(struct rls_env *env, int status, const char *what)
{
    const char *msg = env->ops->errmsg ? env->ops->errmsg(env->self) : NULL;
    return s_fail(env, status, "env: backend '%s' %s: %s", env->ops->name ? env->ops->name : "?",
                  what, msg && msg[0] ? msg : rls_status_str(status));
}

static double s_clip(double x, double lo, double hi)
{
    if (!(x >= lo))   /* also NaN -> lo */
        return lo;
    return x > hi ? hi : x;
}

struct rls_env_params rls_env_default_params(void)
{
    struct rls_env_params p;
    memset(&p, 0, sizeof(p));
    p.scenario = NULL;
    p.backend = "sim";
    p.reward = NULL;
    p.n_deltas = 0;
    p.history_len = 20;
    p.terminate_drop_frac = 0.5;
    p.terminate_steps = 20;
    return p;
}

const char *const *rls_env_feature_names(int32_t *n)
{
    return rls_features_names(n);
}

static int s_check_params(const struct rls_env_params *p, struct rls_err *err)
{
    if (p->n_deltas < 0 || p->n_deltas > RLS_ENV_MAX_DELTAS)
        return rls_err_set(err, RLS_ERR_RANGE, "env: n_deltas %d not in [0, %d]", (int)p->n_deltas,
                           RLS_ENV_MAX_DELTAS);
    if (p->n_deltas > 0) {
        int has_zero = 0;
        for (int32_t i = 0; i < p->n_deltas; i++) {
            has_zero |= p->deltas[i] == 0;
            for (int32_t j = 0; j < i; j++)
                if (p->deltas[j] == p->deltas[i])
                    return rls_err_set(err, RLS_ERR_INVALID, "env: deltas[%d] = %d repeats deltas[%d]",
                                       (int)i, (int)p->deltas[i], (int)j);
        }
        if (!has_zero)
            return rls_err_set(err, RLS_ERR_INVALID, "env: deltas must contain 0 (the no-op)");
    }
    if (p->history_len < 1 || p->history_len > 100000)
        return rls_err_set(err, RLS_ERR_RANGE, "env: history_len %d not in [1, 100000]",
                           (int)p->history_len);
    if (!(p->terminate_drop_frac >= 0.0 && p->terminate_drop_frac <= 1.0))
        return rls_err_set(err, RLS_ERR_RANGE, "env: terminate_drop_frac %g not in [0, 1]",
                           p->terminate_drop_frac);
    if (p->terminate_steps < 0)
        return rls_err_set(err, RLS_ERR_RANGE, "env: terminate_steps %d must be >= 0",
                           (int)p->terminate_steps);
    if (p->reward) {
        const double w[4] = {p->reward->cost, p->reward->slo, p->reward->drop, p->reward->churn};
        const char *names[4] = {"cost", "slo", "drop", "churn"};
        for (int k = 0; k < 4; k++)
            if (!isfinite(w[k]) || w[k] < 0)
                return rls_err_set(err, RLS_ERR_RANGE, "env: reward weight '%s' = %g must be >= 0",
                                   names[k], w[k]);
    }
    return RLS_OK;
}

static int s_build_spaces(struct rls_env *env, struct rls_err *err)
{
    int status = RLS_OK;
    int64_t n = env->n_svc;
    float *lo = malloc((size_t)n * RLS_ENV_N_FEATURES * sizeof(float));
    float *hi = malloc((size_t)n * RLS_ENV_N_FEATURES * sizeof(float));
    int64_t *nvec = malloc((size_t)n * RLS_ENV_ACTION_DIMS * sizeof(int64_t));
    int64_t obs_shape[2] = {n, RLS_ENV_N_FEATURES};
    int64_t act_shape[2] = {n, RLS_ENV_ACTION_DIMS};
    if (!lo || !hi || !nvec) {
        status = rls_err_set(err, RLS_ERR_NOMEM, "env: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        memcpy(lo + i * RLS_ENV_N_FEATURES, rls_features_low(), RLS_ENV_N_FEATURES * sizeof(float));
        memcpy(hi + i * RLS_ENV_N_FEATURES, rls_features_high(), RLS_ENV_N_FEATURES * sizeof(float));
        nvec[i * RLS_ENV_ACTION_DIMS + 0] = env->n_deltas;
        nvec[i * RLS_ENV_ACTION_DIMS + 1] = RLS_ENV_N_PLACEMENTS;
    }
    env->obs_space = rls_space_box_new(2, obs_shape, lo, hi, err);
    if (!env->obs_space) {
        status = err ? err->status : RLS_ERR_NOMEM;
        goto done;
    }
    env->act_space = rls_space_multi_discrete_new(2, act_shape, nvec, err);
    if (!env->act_space)
        status = err ? err->status : RLS_ERR_NOMEM;
done:
    free(lo);
    free(hi);
    free(nvec);
    return status;
}

struct rls_env *rls_env_new_with_backend(const struct rls_env_params *p,
                                         const struct rls_env_backend_ops *ops, void *self,
                                         struct rls_err *err)
{
    struct rls_env *env = NULL;
    const struct rls_scenario *sc = NULL;
    struct rls_env_params defaults = rls_env_default_params();
    size_t n = 0;
    if (!p)
        p = &defaults;
    if (!ops || !ops->reset || !ops->step || !ops->scenario || !ops->services || !ops->nodes ||
        !ops->last || !ops->steps || !ops->horizon || !ops->time_s || !ops->destroy) {
        rls_err_set(err, RLS_ERR_INVALID, "env: backend ops table is NULL or incomplete");
        if (ops && ops->destroy && self)
            ops->destroy(self);
        return NULL;
    }
    if (s_check_params(p, err) != RLS_OK)
        goto fail;
    sc = ops->scenario(self);
    if (!sc || sc->n_services < 1 || !sc->services) {
        rls_err_set(err, RLS_ERR_INVALID, "env: backend '%s' has no services",
                    ops->name ? ops->name : "?");
        goto fail;
    }
    env = calloc(1, sizeof(*env));
    if (!env)
        goto nomem;
    env->ops = ops;
    env->self = self;
    self = NULL;   /* owned by env from here */
    env->w = p->reward ? *p->reward : sc->reward;
    env->n_svc = sc->n_services;
    if (p->n_deltas > 0) {
        env->n_deltas = p->n_deltas;
        memcpy(env->deltas, p->deltas, (size_t)p->n_deltas * sizeof(int32_t));
    } else {
        env->n_deltas = (int32_t)(sizeof(s_default_deltas) / sizeof(s_default_deltas[0]));
        memcpy(env->deltas, s_default_deltas, sizeof(s_default_deltas));
    }
    env->terminate_drop_frac = p->terminate_drop_frac;
    env->terminate_steps = p->terminate_steps;
    n = (size_t)env->n_svc;
    env->obs = calloc(n * RLS_ENV_N_FEATURES, sizeof(float));
    env->svc_reward = calloc(n, sizeof(double));
    env->desired = calloc(n, sizeof(int32_t));
    env->placement = calloc(n, sizeof(uint8_t));
    if (!env->obs || !env->svc_reward || !env->desired || !env->placement)
        goto nomem;
    env->feat = rls_features_new(sc, p->history_len, err);
    if (!env->feat)
        goto fail;
    if (s_build_spaces(env, err) != RLS_OK)
        goto fail;
    return env;
nomem:
    rls_err_set(err, RLS_ERR_NOMEM, "env: out of memory");
fail:
    if (self)
        ops->destroy(self);
    rls_env_destroy(&env);
    return NULL;
}

struct rls_env *rls_env_new(const struct rls_env_params *p, struct rls_err *err)
{
    struct rls_sim *sim = NULL;
    const char *backend = NULL;
    if (!p) {
        rls_err_set(err, RLS_ERR_INVALID, "env: params are NULL");
        return NULL;
    }
    backend = p->backend ? p->backend : "sim";
    if (strcmp(backend, "sim") != 0) {
        rls_err_set(err, RLS_ERR_NOTFOUND, "env: unknown backend '%s' (built in: sim)", backend);
        return NULL;
    }
    if (!p->scenario) {
        rls_err_set(err, RLS_ERR_INVALID, "env: params.scenario is NULL");
        return NULL;
    }
    if (s_check_params(p, err) != RLS_OK)
        return NULL;
    sim = rls_sim_new(p->scenario, err);
    if (!sim)
        return NULL;
    return rls_env_new_with_backend(p, &rls_sim_backend_ops, sim, err);
}

void rls_env_destroy(struct rls_env **env)
{
    struct rls_env *e = NULL;
    if (!env || !*env)
        return;
    e = *env;
    if (e->self && e->ops && e->ops->destroy)
        e->ops->destroy(e->self);
    rls_features_destroy(&e->feat);
    free(e->obs);
    free(e->svc_reward);
    free(e->desired);
    free(e->placement);
    rls_space_destroy(&e->obs_space);
    rls_space_destroy(&e->act_space);
    free(e);
    *env = NULL;
}

const char *rls_env_errmsg(const struct rls_env *env)
{
    return env ? env->err : "env is NULL";
}

/* ---------------------------------------------------------------------------
 * Observation (features.c). */

/* Pushes the backend's state into the history and writes env->obs. */
static void s_observe(struct rls_env *env)
{
    int32_t n_nodes = 0;
    const struct rls_node_state *nodes = env->ops->nodes(env->self, &n_nodes);
    rls_features_compute(env->feat, env->ops->services(env->self), nodes, nodes ? n_nodes : 0,
                         env->ops->time_s(env->self), env->obs);
}

/* ---------------------------------------------------------------------------
 * Reward and episode end. */

/* Service i's late and counted requests (rates, requests/s): served requests
 * over the SLO out of those served; when nothing was served but requests
 * arrived, every arrival waits, so all of them count as late. */
static void s_slo_counts(const struct rls_svc_state *v, double *late, double *count)
{
    double served = isfinite(v->served_rps) && v->served_rps > 0 ? v->served_rps : 0.0;
    double arr = isfinite(v->arrival_rps) && v->arrival_rps > 0 ? v->arrival_rps : 0.0;
    if (served > 0) {
        *late = served * s_clip(v->frac_over_slo, 0.0, 1.0);
        *count = served;
    } else {
        *late = arr;
        *count = arr;
    }
}

static void s_reward(struct rls_env *env, const struct rls_scenario *sc,
                     const struct rls_svc_state *sv, const struct rls_step_info *info)
{
    struct rls_env_reward_terms t = {0, 0, 0, 0};
    const struct rls_reward_weights *w = &env->w;
    double max_cost = rls_scenario_max_cost_per_hour(sc) * sc->step_s / 3600.0;
    double cpu_sum = 0.0, late_sum = 0.0, count_sum = 0.0;
    double n = (double)env->n_svc;

    for (int32_t i = 0; i < env->n_svc; i++) {
        double late = 0.0, count = 0.0;
        s_slo_counts(&sv[i], &late, &count);
        late_sum += late;
        count_sum += count;
        cpu_sum += ((double)sv[i].ready + (double)sv[i].starting) * sc->services[i].cpu;
    }
    t.slo = count_sum > 0 ? s_clip(late_sum / count_sum, 0.0, 1.0) : 0.0;
    if (info) {
        t.cost = max_cost > 0 ? fmax(info->cost_usd, 0.0) / max_cost : 0.0;
        t.drop = info->arrivals > 0 ? s_clip(info->dropped / info->arrivals, 0.0, 1.0) : 0.0;
        t.churn = fmax(info->churn, 0.0) / n;
    }
    if (!isfinite(t.cost))
        t.cost = 0.0;
    if (!isfinite(t.churn))
        t.churn = 0.0;
    env->terms = t;
    env->reward = -(w->cost * t.cost + w->slo * t.slo + w->drop * t.drop + w->churn * t.churn);

    for (int32_t i = 0; i < env->n_svc; i++) {
        const struct rls_svc_state *v = &sv[i];
        double maxr = sc->services[i].max_replicas >= 1 ? sc->services[i].max_replicas : 1.0;
        double share = cpu_sum > 0
                           ? ((double)v->ready + (double)v->starting) * sc->services[i].cpu / cpu_sum
                           : 1.0 / n;
        double late = 0.0, count = 0.0;
        double slo, drop, churn;
        s_slo_counts(v, &late, &count);
        slo = count > 0 ? s_clip(late / count, 0.0, 1.0) : 0.0;
        drop = v->arrival_rps > 0 ? s_clip(v->dropped_rps / v->arrival_rps, 0.0, 1.0) : 0.0;
        churn = fabs((double)v->change) / maxr;
        env->svc_reward[i] =
            -(w->cost * t.cost * share * n + w->slo * slo + w->drop * drop + w->churn * churn);
    }
}

static void s_episode_end(struct rls_env *env, const struct rls_step_info *info)
{
    double frac = info && info->arrivals > 0 ? info->dropped / info->arrivals : 0.0;
    int64_t horizon = env->ops->horizon(env->self);
    if (env->terminate_steps > 0 && frac > env->terminate_drop_frac)
        env->drop_streak++;
    else
        env->drop_streak = 0;
    env->terminated = env->terminate_steps > 0 && env->drop_streak >= env->terminate_steps;
    env->truncated = !env->terminated && horizon > 0 && env->ops->steps(env->self) >= horizon;
}

static void s_fill_result(struct rls_env *env, struct rls_step_result *r)
{
    if (!r)
        return;
    r->obs = env->obs;
    r->reward = env->reward;
    r->terminated = env->terminated;
    r->truncated = env->truncated;
    r->service_reward = env->svc_reward;
    r->terms = env->terms;
    r->info = env->ops->last(env->self);
    r->services = env->ops->services(env->self);
}

int rls_env_reset(struct rls_env *env, uint64_t seed, float *obs)
{
    int status;
    if (!env)
        return RLS_ERR_INVALID;
    env->err[0] = '\0';
    status = env->ops->reset(env->self, seed);
    if (status != RLS_OK) {
        env->state = S_FRESH;
        return s_backend_fail(env, status, "reset");
    }
    rls_features_reset(env->feat);
    env->drop_streak = 0;
    env->terminated = 0;
    env->truncated = 0;
    env->reward = 0.0;
    memset(&env->terms, 0, sizeof(env->terms));
    memset(env->svc_reward, 0, (size_t)env->n_svc * sizeof(double));
    s_observe(env);
    env->state = S_RUNNING;
    if (obs)
        memcpy(obs, env->obs, (size_t)env->n_svc * RLS_ENV_N_FEATURES * sizeof(float));
    return RLS_OK;
}

/* Steps the backend with env->desired / env->placement (already checked). */
static int s_step(struct rls_env *env, struct rls_step_result *r)
{
    const struct rls_scenario *sc = NULL;
    const struct rls_svc_state *sv = NULL;
    const struct rls_step_info *info = NULL;
    int status = env->ops->step(env->self, env->desired, env->placement);
    if (status != RLS_OK)
        return s_backend_fail(env, status, "step");
    sc = env->ops->scenario(env->self);
    sv = env->ops->services(env->self);
    info = env->ops->last(env->self);
    s_observe(env);
    s_reward(env, sc, sv, info);
    s_episode_end(env, info);
    if (env->terminated || env->truncated)
        env->state = S_ENDED;
    s_fill_result(env, r);
    return RLS_OK;
}

static int s_check_state(struct rls_env *env)
{
    if (env->state == S_FRESH)
        return s_fail(env, RLS_ERR_STATE, "env: step before reset");
    if (env->state == S_ENDED)
        return s_fail(env, RLS_ERR_STATE, "env: the episode ended (%s); reset first",
                      env->terminated ? "terminated" : "truncated");
    return RLS_OK;
}

static int32_t s_clamp_desired(const struct rls_service_spec *s, int64_t d)
{
    if (d > s->max_replicas)
        d = s->max_replicas;
    if (d < s->min_replicas)
        d = s->min_replicas;
    return (int32_t)d;
}

int rls_env_step(struct rls_env *env, const int32_t *action, struct rls_step_result *r)
{
    const struct rls_scenario *sc = NULL;
    const struct rls_svc_state *sv = NULL;
    int status;
    if (!env)
        return RLS_ERR_INVALID;
    env->err[0] = '\0';
    if (!action)
        return s_fail(env, RLS_ERR_INVALID, "env: action is NULL");
    status = s_check_state(env);
    if (status != RLS_OK)
        return status;
    sc = env->ops->scenario(env->self);
    sv = env->ops->services(env->self);
    for (int32_t i = 0; i < env->n_svc; i++) {
        int32_t di = action[i * RLS_ENV_ACTION_DIMS + 0];
        int32_t pl = action[i * RLS_ENV_ACTION_DIMS + 1];
        if (di < 0 || di >= env->n_deltas)
            return s_fail(env, RLS_ERR_RANGE,
                          "env: action for service %d ('%s'): delta index %d not in [0, %d)",
                          (int)i, sc->services[i].name, (int)di, (int)env->n_deltas);
        if (pl < 0 || pl >= RLS_ENV_N_PLACEMENTS)
            return s_fail(env, RLS_ERR_RANGE,
                          "env: action for service %d ('%s'): placement %d not in [0, %d)", (int)i,
                          sc->services[i].name, (int)pl, RLS_ENV_N_PLACEMENTS);
    }
    for (int32_t i = 0; i < env->n_svc; i++) {
        int32_t di = action[i * RLS_ENV_ACTION_DIMS + 0];
        env->desired[i] =
            s_clamp_desired(&sc->services[i], (int64_t)sv[i].desired + env->deltas[di]);
        env->placement[i] = (uint8_t)action[i * RLS_ENV_ACTION_DIMS + 1];
    }
    return s_step(env, r);
}

int rls_env_step_replicas(struct rls_env *env, const int32_t *desired, const uint8_t *placement,
                          struct rls_step_result *r)
{
    const struct rls_scenario *sc = NULL;
    int status;
    if (!env)
        return RLS_ERR_INVALID;
    env->err[0] = '\0';
    if (!desired)
        return s_fail(env, RLS_ERR_INVALID, "env: desired is NULL");
    status = s_check_state(env);
    if (status != RLS_OK)
        return status;
    sc = env->ops->scenario(env->self);
    for (int32_t i = 0; i < env->n_svc; i++) {
        if (placement && placement[i] >= RLS_ENV_N_PLACEMENTS)
            return s_fail(env, RLS_ERR_RANGE, "env: placement for service %d ('%s'): %d not in [0, %d)",
                          (int)i, sc->services[i].name, (int)placement[i], RLS_ENV_N_PLACEMENTS);
    }
    for (int32_t i = 0; i < env->n_svc; i++) {
        env->desired[i] = s_clamp_desired(&sc->services[i], desired[i]);
        env->placement[i] = placement ? placement[i] : (uint8_t)RLS_PLACE_SPREAD;
    }
    return s_step(env, r);
}

int rls_env_action_mask(struct rls_env *env, uint8_t *mask)
{
    const struct rls_svc_state *sv = NULL;
    int32_t width;
    if (!env)
        return RLS_ERR_INVALID;
    if (!mask)
        return s_fail(env, RLS_ERR_INVALID, "env: mask is NULL");
    if (env->state == S_FRESH)
        return s_fail(env, RLS_ERR_STATE, "env: action mask before reset");
    sv = env->ops->services(env->self);
    width = env->n_deltas + RLS_ENV_N_PLACEMENTS;
    rls_features_delta_mask(env->feat, sv, env->deltas, env->n_deltas, mask, width);
    for (int32_t i = 0; i < env->n_svc; i++) {
        uint8_t *m = mask + (size_t)i * (size_t)width;
        for (int32_t k = 0; k < RLS_ENV_N_PLACEMENTS; k++)
            m[env->n_deltas + k] = 1;
    }
    return RLS_OK;
}

/* ---------------------------------------------------------------------------
 * Accessors. */

const struct rls_space *rls_env_observation_space(const struct rls_env *env)
{
    return env ? env->obs_space : NULL;
}

const struct rls_space *rls_env_action_space(const struct rls_env *env)
{
    return env ? env->act_space : NULL;
}

int32_t rls_env_n_services(const struct rls_env *env)
{
    return env ? env->n_svc : 0;
}

int32_t rls_env_n_deltas(const struct rls_env *env)
{
    return env ? env->n_deltas : 0;
}

const int32_t *rls_env_deltas(const struct rls_env *env)
{
    return env ? env->deltas : NULL;
}

int32_t rls_env_mask_width(const struct rls_env *env)
{
    return env ? env->n_deltas + RLS_ENV_N_PLACEMENTS : 0;
}

const float *rls_env_obs(const struct rls_env *env)
{
    return env && env->state != S_FRESH ? env->obs : NULL;
}

const struct rls_scenario *rls_env_scenario(const struct rls_env *env)
{
    return env ? env->ops->scenario(env->self) : NULL;
}

const struct rls_svc_state *rls_env_services(const struct rls_env *env)
{
    return env ? env->ops->services(env->self) : NULL;
}

const struct rls_node_state *rls_env_nodes(const struct rls_env *env, int32_t *n_nodes)
{
    if (!env) {
        if (n_nodes)
            *n_nodes = 0;
        return NULL;
    }
    return env->ops->nodes(env->self, n_nodes);
}

const struct rls_step_info *rls_env_last(const struct rls_env *env)
{
    return env ? env->ops->last(env->self) : NULL;
}

int64_t rls_env_steps(const struct rls_env *env)
{
    return env ? env->ops->steps(env->self) : 0;
}

int64_t rls_env_horizon(const struct rls_env *env)
{
    return env ? env->ops->horizon(env->self) : 0;
}

double rls_env_time_s(const struct rls_env *env)
{
    return env ? env->ops->time_s(env->self) : 0.0;
}

const char *rls_env_backend_name(const struct rls_env *env)
{
    return env && env->ops->name ? env->ops->name : "";
}

struct rls_reward_weights rls_env_reward_weights(const struct rls_env *env)
{
    struct rls_reward_weights none = {0, 0, 0, 0};
    return env ? env->w : none;
}
