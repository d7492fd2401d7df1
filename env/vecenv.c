/* vecenv.c - a batch of environments stepped together with same-step
 * autoreset (vecenv.h). Sequential: each env's step is cheap and the batch
 * keeps the per-call overhead and the buffers in one place.
 */
#include "vecenv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rls_vecenv {
    int32_t n_envs;
    int32_t n_svc;
    int32_t mask_width;
    struct rls_env **envs;      /* [n_envs] */
    int64_t *episode;           /* [n_envs] episodes begun since reset (0 = the first) */
    uint64_t base_seed;
    int started;                /* 1 after a successful reset */
    float *final_obs;           /* [n_envs, n_svc, F] */
    uint8_t *has_final;         /* [n_envs] */
    double *svc_rewards;        /* [n_envs, n_svc] */
    int have_rewards;
    char err[RLS_ERRMSG_MAX];
};

static int s_fail(struct rls_vecenv *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(struct rls_vecenv *v, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->err, sizeof(v->err), fmt, ap);
    va_end(ap);
    return status;
}

struct rls_vecenv *rls_vecenv_new(const struct rls_env_params *p, int32_t n_envs,
                                  struct rls_err *err)
{
    struct rls_vecenv *v = NULL;
    struct rls_err e;
    size_t obs_n;
    if (n_envs < 1 || n_envs > 1000000) {
        rls_err_set(err, RLS_ERR_RANGE, "vecenv: n_envs %d not in [1, 1000000]", (int)n_envs);
        return NULL;
    }
    v = calloc(1, sizeof(*v));
    if (!v)
        goto nomem;
    v->n_envs = n_envs;
    v->envs = calloc((size_t)n_envs, sizeof(*v->envs));
    v->episode = calloc((size_t)n_envs, sizeof(*v->episode));
    v->has_final = calloc((size_t)n_envs, 1);
    if (!v->envs || !v->episode || !v->has_final)
        goto nomem;
    for (int32_t i = 0; i < n_envs; i++) {
        rls_err_clear(&e);
        v->envs[i] = rls_env_new(p, &e);
        if (!v->envs[i]) {
            rls_err_set(err, e.status, "vecenv: env %d: %s", (int)i, e.msg);
            goto fail;
        }
    }
    v->n_svc = rls_env_n_services(v->envs[0]);
    v->mask_width = rls_env_mask_width(v->envs[0]);
    obs_n = (size_t)n_envs * (size_t)v->n_svc * RLS_ENV_N_FEATURES;
    v->final_obs = calloc(obs_n, sizeof(float));
    v->svc_rewards = calloc((size_t)n_envs * (size_t)v->n_svc, sizeof(double));
    if (!v->final_obs || !v->svc_rewards)
        goto nomem;
    return v;
nomem:
    rls_err_set(err, RLS_ERR_NOMEM, "vecenv: out of memory");
fail:
    rls_vecenv_destroy(&v);
    return NULL;
}

void rls_vecenv_destroy(struct rls_vecenv **v)
{
    struct rls_vecenv *x = NULL;
    if (!v || !*v)
        return;
    x = *v;
    if (x->envs)
        for (int32_t i = 0; i < x->n_envs; i++)
            rls_env_destroy(&x->envs[i]);
    free(x->envs);
    free(x->episode);
    free(x->has_final);
    free(x->final_obs);
    free(x->svc_rewards);
    free(x);
    *v = NULL;
}

const char *rls_vecenv_errmsg(const struct rls_vecenv *v)
{
    return v ? v->err : "vecenv is NULL";
}

static size_t s_obs_stride(const struct rls_vecenv *v)
{
    return (size_t)v->n_svc * RLS_ENV_N_FEATURES;
}

static uint64_t s_seed(const struct rls_vecenv *v, int32_t i)
{
    return v->base_seed + (uint64_t)i + (uint64_t)v->episode[i] * (uint64_t)v->n_envs;
}

int rls_vecenv_reset(struct rls_vecenv *v, uint64_t base_seed, float *obs)
{
    int status;
    if (!v)
        return RLS_ERR_INVALID;
    v->err[0] = '\0';
    v->base_seed = base_seed;
    v->started = 0;
    v->have_rewards = 0;
    for (int32_t i = 0; i < v->n_envs; i++) {
        v->episode[i] = 0;
        v->has_final[i] = 0;
        status = rls_env_reset(v->envs[i], s_seed(v, i), obs ? obs + (size_t)i * s_obs_stride(v) : NULL);
        if (status != RLS_OK)
            return s_fail(v, status, "env %d: %s", (int)i, rls_env_errmsg(v->envs[i]));
    }
    v->started = 1;
    return RLS_OK;
}

int rls_vecenv_step(struct rls_vecenv *v, const int32_t *actions, float *obs, double *rewards,
                    uint8_t *terminated, uint8_t *truncated)
{
    size_t stride = 0;
    size_t act_stride = 0;
    int status;
    if (!v)
        return RLS_ERR_INVALID;
    v->err[0] = '\0';
    if (!actions)
        return s_fail(v, RLS_ERR_INVALID, "vecenv: actions are NULL");
    if (!v->started)
        return s_fail(v, RLS_ERR_STATE, "vecenv: step before reset");
    stride = s_obs_stride(v);
    act_stride = (size_t)v->n_svc * RLS_ENV_ACTION_DIMS;
    memset(v->has_final, 0, (size_t)v->n_envs);
    for (int32_t i = 0; i < v->n_envs; i++) {
        struct rls_step_result r;
        status = rls_env_step(v->envs[i], actions + (size_t)i * act_stride, &r);
        if (status != RLS_OK)
            return s_fail(v, status, "env %d: %s", (int)i, rls_env_errmsg(v->envs[i]));
        memcpy(v->svc_rewards + (size_t)i * (size_t)v->n_svc, r.service_reward,
               (size_t)v->n_svc * sizeof(double));
        if (rewards)
            rewards[i] = r.reward;
        if (terminated)
            terminated[i] = (uint8_t)(r.terminated != 0);
        if (truncated)
            truncated[i] = (uint8_t)(r.truncated != 0);
        if (r.terminated || r.truncated) {
            memcpy(v->final_obs + (size_t)i * stride, r.obs, stride * sizeof(float));
            v->has_final[i] = 1;
            v->episode[i]++;
            status = rls_env_reset(v->envs[i], s_seed(v, i), NULL);
            if (status != RLS_OK)
                return s_fail(v, status, "env %d: autoreset: %s", (int)i,
                              rls_env_errmsg(v->envs[i]));
        }
        if (obs)
            memcpy(obs + (size_t)i * stride, rls_env_obs(v->envs[i]), stride * sizeof(float));
    }
    v->have_rewards = 1;
    return RLS_OK;
}

int rls_vecenv_action_mask(struct rls_vecenv *v, uint8_t *mask)
{
    int status;
    if (!v)
        return RLS_ERR_INVALID;
    if (!mask)
        return s_fail(v, RLS_ERR_INVALID, "vecenv: mask is NULL");
    for (int32_t i = 0; i < v->n_envs; i++) {
        status = rls_env_action_mask(v->envs[i],
                                     mask + (size_t)i * (size_t)v->n_svc * (size_t)v->mask_width);
        if (status != RLS_OK)
            return s_fail(v, status, "env %d: %s", (int)i, rls_env_errmsg(v->envs[i]));
    }
    return RLS_OK;
}

const float *rls_vecenv_final_obs(const struct rls_vecenv *v, int32_t i)
{
    if (!v || i < 0 || i >= v->n_envs || !v->has_final[i])
        return NULL;
    return v->final_obs + (size_t)i * s_obs_stride(v);
}

const double *rls_vecenv_service_rewards(const struct rls_vecenv *v)
{
    return v && v->have_rewards ? v->svc_rewards : NULL;
}

struct rls_env *rls_vecenv_env(const struct rls_vecenv *v, int32_t i)
{
    return v && i >= 0 && i < v->n_envs ? v->envs[i] : NULL;
}

int64_t rls_vecenv_episode(const struct rls_vecenv *v, int32_t i)
{
    return v && i >= 0 && i < v->n_envs ? v->episode[i] : 0;
}

int32_t rls_vecenv_n_envs(const struct rls_vecenv *v)
{
    return v ? v->n_envs : 0;
}

int32_t rls_vecenv_n_services(const struct rls_vecenv *v)
{
    return v ? v->n_svc : 0;
}
