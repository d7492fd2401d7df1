/* env_flat.c - the flat C API for foreign callers (env_flat.h): n_envs
 * environments stepped in one call over caller-owned buffers. */
#include "env_flat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "scenario.h"
#include "status.h"

struct rls_flat {
    int32_t n_envs;
    int32_t n_svc;
    int32_t mask_width;
    int32_t autoreset;
    struct rls_env **envs;      /* [n_envs] */
    uint64_t *base_seed;        /* [n_envs] seed of the env's last explicit reset */
    int64_t *episode;           /* [n_envs] autoresets since then */
    uint8_t *started;           /* [n_envs] 1 after a reset */
    uint8_t *ended;             /* [n_envs] 1: episode over, reset needed (no autoreset) */
    uint8_t *has_final;         /* [n_envs] */
    float *final_obs;           /* [n_envs, n_svc, F] */
    char *feature_names;        /* joined by ',' */
    char scenario_name[256];
    /* bound caller buffers */
    float *obs;
    int32_t *actions;
    double *rewards;
    uint8_t *terminated;
    uint8_t *truncated;
    uint8_t *masks;
    char err[RLS_ERRMSG_MAX];
};

static int s_fail(struct rls_flat *f, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(struct rls_flat *f, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof(f->err), fmt, ap);
    va_end(ap);
    return status;
}

static void s_errbuf(char *errbuf, int32_t errlen, const char *msg)
{
    if (errbuf && errlen > 0)
        snprintf(errbuf, (size_t)errlen, "%s", msg);
}

struct rls_flat *rls_flat_new(const char *scenario, int32_t n_envs, int32_t autoreset,
                              char *errbuf, int32_t errlen)
{
    struct rls_scenario *sc = NULL;
    struct rls_flat *f = NULL;
    struct rls_err e;
    char msg[RLS_ERRMSG_MAX + 64];
    memset(&e, 0, sizeof e);
    if (!scenario || !scenario[0]) {
        s_errbuf(errbuf, errlen, "env_flat: no scenario named");
        return NULL;
    }
    if (n_envs < 1 || n_envs > 1000000) {
        snprintf(msg, sizeof msg, "env_flat: n_envs %d not in [1, 1000000]", (int)n_envs);
        s_errbuf(errbuf, errlen, msg);
        return NULL;
    }
    if (autoreset != 0 && autoreset != 1) {
        s_errbuf(errbuf, errlen, "env_flat: autoreset must be 0 or 1");
        return NULL;
    }
    if (rls_scenario_load(scenario, &sc, &e) != RLS_OK) {
        s_errbuf(errbuf, errlen, e.msg);
        return NULL;
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        goto nomem;
    f->n_envs = n_envs;
    f->autoreset = autoreset;
    snprintf(f->scenario_name, sizeof f->scenario_name, "%s", sc->name);
    f->envs = calloc((size_t)n_envs, sizeof(*f->envs));
    f->base_seed = calloc((size_t)n_envs, sizeof(*f->base_seed));
    f->episode = calloc((size_t)n_envs, sizeof(*f->episode));
    f->started = calloc((size_t)n_envs, 1);
    f->ended = calloc((size_t)n_envs, 1);
    f->has_final = calloc((size_t)n_envs, 1);
    if (!f->envs || !f->base_seed || !f->episode || !f->started || !f->ended || !f->has_final)
        goto nomem;
    struct rls_env_params p = rls_env_default_params();
    p.scenario = sc;
    for (int32_t i = 0; i < n_envs; i++) {
        memset(&e, 0, sizeof e);
        f->envs[i] = rls_env_new(&p, &e);
        if (!f->envs[i]) {
            snprintf(msg, sizeof msg, "env_flat: env %d: %s", (int)i, e.msg);
            s_errbuf(errbuf, errlen, msg);
            rls_flat_destroy(&f);
            rls_scenario_destroy(&sc);
            return NULL;
        }
    }
    rls_scenario_destroy(&sc);
    f->n_svc = rls_env_n_services(f->envs[0]);
    f->mask_width = rls_env_mask_width(f->envs[0]);
    f->final_obs = calloc((size_t)n_envs * (size_t)f->n_svc * RLS_ENV_N_FEATURES, sizeof(float));
    int32_t nf = 0;
    const char *const *names = rls_env_feature_names(&nf);
    size_t len = 1;
    for (int32_t j = 0; j < nf; j++)
        len += strlen(names[j]) + 1;
    f->feature_names = calloc(len, 1);
    if (!f->final_obs || !f->feature_names)
        goto nomem;
    for (int32_t j = 0; j < nf; j++) {
        if (j)
            strcat(f->feature_names, ",");
        strcat(f->feature_names, names[j]);
    }
    return f;
nomem:
    s_errbuf(errbuf, errlen, "env_flat: out of memory");
    rls_flat_destroy(&f);
    rls_scenario_destroy(&sc);
    return NULL;
}

void rls_flat_destroy(struct rls_flat **fp)
{
    if (!fp || !*fp)
        return;
    struct rls_flat *f = *fp;
    if (f->envs)
        for (int32_t i = 0; i < f->n_envs; i++)
            rls_env_destroy(&f->envs[i]);
    free(f->envs);
    free(f->base_seed);
    free(f->episode);
    free(f->started);
    free(f->ended);
    free(f->has_final);
    free(f->final_obs);
    free(f->feature_names);
    free(f);
    *fp = NULL;
}

const char *rls_flat_errmsg(const struct rls_flat *f)
{
    return f ? f->err : "env_flat: NULL handle";
}

int32_t rls_flat_n_envs(const struct rls_flat *f) { return f ? f->n_envs : 0; }
int32_t rls_flat_n_services(const struct rls_flat *f) { return f ? f->n_svc : 0; }
int32_t rls_flat_n_features(const struct rls_flat *f) { return f ? RLS_ENV_N_FEATURES : 0; }
int32_t rls_flat_n_deltas(const struct rls_flat *f) { return f ? rls_env_n_deltas(f->envs[0]) : 0; }
int32_t rls_flat_mask_width(const struct rls_flat *f) { return f ? f->mask_width : 0; }
int32_t rls_flat_action_dims(const struct rls_flat *f) { return f ? RLS_ENV_ACTION_DIMS : 0; }
int64_t rls_flat_horizon(const struct rls_flat *f) { return f ? rls_env_horizon(f->envs[0]) : 0; }

const char *rls_flat_scenario_name(const struct rls_flat *f)
{
    return f ? f->scenario_name : "";
}

const char *rls_flat_feature_names(const struct rls_flat *f)
{
    return f ? f->feature_names : "";
}

int rls_flat_deltas(const struct rls_flat *f, int32_t *out)
{
    if (!f || !out)
        return RLS_ERR_INVALID;
    memcpy(out, rls_env_deltas(f->envs[0]), (size_t)rls_env_n_deltas(f->envs[0]) * sizeof(int32_t));
    return RLS_OK;
}

int rls_flat_obs_bounds(const struct rls_flat *f, float *low, float *high)
{
    if (!f || !low || !high)
        return RLS_ERR_INVALID;
    const struct rls_space *s = rls_env_observation_space(f->envs[0]);
    memcpy(low, s->low, (size_t)s->size * sizeof(float));
    memcpy(high, s->high, (size_t)s->size * sizeof(float));
    return RLS_OK;
}

int rls_flat_bind(struct rls_flat *f, float *obs, int32_t *actions, double *rewards,
                  uint8_t *terminated, uint8_t *truncated, uint8_t *masks)
{
    if (!f)
        return RLS_ERR_INVALID;
    if (!obs || !actions || !rewards || !terminated || !truncated)
        return s_fail(f, RLS_ERR_INVALID, "env_flat: bind: obs, actions, rewards, terminated "
                                          "and truncated are required");
    f->obs = obs;
    f->actions = actions;
    f->rewards = rewards;
    f->terminated = terminated;
    f->truncated = truncated;
    f->masks = masks;
    return RLS_OK;
}

static size_t s_obs_row(const struct rls_flat *f)
{
    return (size_t)f->n_svc * RLS_ENV_N_FEATURES;
}

/* Resets env i with seed into its obs row. */
static int s_reset_one(struct rls_flat *f, int32_t i, uint64_t seed)
{
    int rc = rls_env_reset(f->envs[i], seed, f->obs + (size_t)i * s_obs_row(f));
    if (rc != RLS_OK)
        return s_fail(f, rc, "env %d: %s", (int)i, rls_env_errmsg(f->envs[i]));
    f->started[i] = 1;
    f->ended[i] = 0;
    return RLS_OK;
}

int rls_flat_reset(struct rls_flat *f, int32_t i, uint64_t seed)
{
    if (!f)
        return RLS_ERR_INVALID;
    if (!f->obs)
        return s_fail(f, RLS_ERR_STATE, "env_flat: reset before bind");
    if (i >= f->n_envs)
        return s_fail(f, RLS_ERR_RANGE, "env_flat: env %d not in [0, %d)", (int)i, (int)f->n_envs);
    int32_t lo = i < 0 ? 0 : i, hi = i < 0 ? f->n_envs : i + 1;
    for (int32_t k = lo; k < hi; k++) {
        uint64_t s = i < 0 ? seed + (uint64_t)k : seed;
        int rc = s_reset_one(f, k, s);
        if (rc != RLS_OK)
            return rc;
        f->base_seed[k] = s;
        f->episode[k] = 0;
        f->has_final[k] = 0;
        f->rewards[k] = 0.0;
        f->terminated[k] = 0;
        f->truncated[k] = 0;
    }
    return RLS_OK;
}

/* One step of env i with action `a`; autoreset as the handle says. */
static int s_step_one(struct rls_flat *f, int32_t i, const int32_t *a)
{
    struct rls_step_result r;
    if (!f->started[i] || f->ended[i])
        return s_fail(f, RLS_ERR_STATE, "env %d: %s", (int)i,
                      f->started[i] ? "episode ended: reset it first" : "step before reset");
    int rc = rls_env_step(f->envs[i], a, &r);
    if (rc != RLS_OK)
        return s_fail(f, rc, "env %d: %s", (int)i, rls_env_errmsg(f->envs[i]));
    size_t row = s_obs_row(f);
    float *o = f->obs + (size_t)i * row;
    f->rewards[i] = r.reward;
    f->terminated[i] = (uint8_t)(r.terminated != 0);
    f->truncated[i] = (uint8_t)(r.truncated != 0);
    f->has_final[i] = 0;
    if (r.terminated || r.truncated) {
        if (f->autoreset) {
            memcpy(f->final_obs + (size_t)i * row, r.obs, row * sizeof(float));
            f->has_final[i] = 1;
            f->episode[i]++;
            uint64_t seed = f->base_seed[i] + (uint64_t)f->episode[i] * (uint64_t)f->n_envs;
            rc = rls_env_reset(f->envs[i], seed, o);
            if (rc != RLS_OK)
                return s_fail(f, rc, "env %d: autoreset: %s", (int)i, rls_env_errmsg(f->envs[i]));
            return RLS_OK;
        }
        f->ended[i] = 1;
    }
    memcpy(o, r.obs, row * sizeof(float));
    return RLS_OK;
}

int rls_flat_step(struct rls_flat *f)
{
    if (!f)
        return RLS_ERR_INVALID;
    if (!f->obs)
        return s_fail(f, RLS_ERR_STATE, "env_flat: step before bind");
    size_t arow = (size_t)f->n_svc * RLS_ENV_ACTION_DIMS;
    for (int32_t i = 0; i < f->n_envs; i++) {
        int rc = s_step_one(f, i, f->actions + (size_t)i * arow);
        if (rc != RLS_OK)
            return rc;
    }
    return RLS_OK;
}

int rls_flat_masks(struct rls_flat *f)
{
    if (!f)
        return RLS_ERR_INVALID;
    if (!f->masks)
        return s_fail(f, RLS_ERR_STATE, "env_flat: no masks buffer bound");
    size_t mrow = (size_t)f->n_svc * (size_t)f->mask_width;
    for (int32_t i = 0; i < f->n_envs; i++) {
        int rc = rls_env_action_mask(f->envs[i], f->masks + (size_t)i * mrow);
        if (rc != RLS_OK)
            return s_fail(f, rc, "env %d: %s", (int)i, rls_env_errmsg(f->envs[i]));
    }
    return RLS_OK;
}

int rls_flat_final_obs(const struct rls_flat *f, int32_t i, float *out)
{
    if (!f || !out || i < 0 || i >= f->n_envs || !f->has_final[i])
        return 0;
    size_t row = s_obs_row(f);
    memcpy(out, f->final_obs + (size_t)i * row, row * sizeof(float));
    return 1;
}

int rls_flat_run(struct rls_flat *f, int64_t n_steps)
{
    if (!f)
        return RLS_ERR_INVALID;
    for (int64_t t = 0; t < n_steps; t++) {
        int rc = rls_flat_step(f);
        if (rc != RLS_OK)
            return rc;
        if (!f->autoreset)
            for (int32_t i = 0; i < f->n_envs; i++)
                if (f->ended[i]) {
                    f->episode[i]++;
                    rc = s_reset_one(f, i, f->base_seed[i] + (uint64_t)f->episode[i]);
                    if (rc != RLS_OK)
                        return rc;
                }
    }
    return RLS_OK;
}
