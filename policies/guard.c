/* guard.c - the out-of-distribution guard (guard.h): the row check shared
 * with the agent, and a policy that wraps a learned policy and an HPA and
 * takes the HPA's decision where the agent would.
 */
#include "guard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rls_guard_params rls_guard_default_params(void)
{
    struct rls_guard_params p;
    memset(&p, 0, sizeof p);
    p.ood_k = 8.0;
    p.ood_max_frac = 0.25;
    p.recover_steps = 3;
    p.per_service = 0;
    return p;
}

int32_t rls_guard_ood_count(const float *x, const float *mean, const float *std, int32_t n, double k)
{
    int32_t out = 0;

    if (x == NULL || mean == NULL || std == NULL || n <= 0)
        return 0;
    for (int32_t i = 0; i < n; i++) {
        double sd = std[i];
        double d = fabs((double)x[i] - (double)mean[i]);
        if (!(sd > 0))
            sd = 0.0;
        /* written so that any NaN (x, mean or std) lands outside */
        if (!(d <= k * sd) || !isfinite(sd) || !isfinite(d))
            out++;
    }
    return out;
}

int32_t rls_guard_ood_rows(const float *x, const float *mean, const float *std, int32_t n_rows,
                           int32_t n_features, double k, double max_frac, uint8_t *row_ood)
{
    int32_t rows_out = 0;

    if (x == NULL || mean == NULL || std == NULL || n_rows <= 0 || n_features <= 0)
        return 0;
    for (int32_t r = 0; r < n_rows; r++) {
        const float *row = x + (size_t)r * (size_t)n_features;
        int32_t c = rls_guard_ood_count(row, mean, std, n_features, k);
        int out = (double)c > max_frac * (double)n_features;
        if (row_ood != NULL)
            row_ood[r] = (uint8_t)out;
        rows_out += out;
    }
    return rows_out;
}

/* ---------------------------------------------------------------------------
 * The guarded policy. */

struct s_guard {
    struct rls_guard_params p;
    struct rls_policy *net;         /* the learned policy (owned) */
    struct rls_policy *hpa;         /* the fallback (owned) */
    float *mean, *std;              /* [F] the checkpoint's training statistics */
    int32_t F, n;                   /* features, services */
    int32_t *net_desired, *hpa_desired; /* [n] */
    uint8_t *net_place, *hpa_place, *row_ood, *row_hpa; /* [n] */
    int fallback;                   /* the agent's rule: falling back */
    int32_t clean;                  /* consecutive clean decisions while falling back */
    struct rls_guard_stats st;
    char errmsg[RLS_ERRMSG_MAX];
};

static void s_free_rows(struct s_guard *g)
{
    free(g->net_desired);
    free(g->hpa_desired);
    free(g->net_place);
    free(g->hpa_place);
    free(g->row_ood);
    free(g->row_hpa);
    g->net_desired = g->hpa_desired = NULL;
    g->net_place = g->hpa_place = g->row_ood = g->row_hpa = NULL;
    g->n = 0;
}

/* Buffers for n services. Returns RLS_OK or RLS_ERR_NOMEM. */
static int s_alloc_rows(struct s_guard *g, int32_t n)
{
    size_t m = n > 0 ? (size_t)n : 1;
    s_free_rows(g);
    g->net_desired = calloc(m, sizeof *g->net_desired);
    g->hpa_desired = calloc(m, sizeof *g->hpa_desired);
    g->net_place = calloc(m, 1);
    g->hpa_place = calloc(m, 1);
    g->row_ood = calloc(m, 1);
    g->row_hpa = calloc(m, 1);
    if (!g->net_desired || !g->hpa_desired || !g->net_place || !g->hpa_place || !g->row_ood || !g->row_hpa) {
        s_free_rows(g);
        return RLS_ERR_NOMEM;
    }
    g->n = n;
    return RLS_OK;
}

static int s_g_reset(void *self, const struct rls_scenario *sc)
{
    struct s_guard *g = self;
    int rc = rls_policy_reset(g->net, sc);
    if (rc == RLS_OK)
        rc = rls_policy_reset(g->hpa, sc);
    if (rc != RLS_OK) {
        snprintf(g->errmsg, sizeof g->errmsg, "%s",
                 rls_policy_errmsg(g->net)[0] ? rls_policy_errmsg(g->net) : rls_policy_errmsg(g->hpa));
        return rc;
    }
    if (sc->n_services != g->n && s_alloc_rows(g, sc->n_services) != RLS_OK) {
        snprintf(g->errmsg, sizeof g->errmsg, "guard: out of memory");
        return RLS_ERR_NOMEM;
    }
    g->fallback = 0;
    g->clean = 0;
    memset(&g->st, 0, sizeof g->st);
    return RLS_OK;
}

/* The agent's verdict (agent/safety.c rls_safety_fallback_update): 1 = the
 * HPA decides this step. */
static int s_verdict(struct s_guard *g, int cause)
{
    if (cause) {
        g->fallback = 1;
        g->clean = 0;
        return 1;
    }
    if (!g->fallback)
        return 0;
    if (++g->clean >= g->p.recover_steps) {
        g->fallback = 0;
        g->clean = 0;
        return 0;
    }
    return 1;   /* recovering */
}

static int s_g_decide(void *self, const struct rls_policy_input *in, int32_t *desired, uint8_t *placement)
{
    struct s_guard *g = self;
    int32_t n = in->scenario->n_services, rows_out = 0;
    if (n != g->n) {
        snprintf(g->errmsg, sizeof g->errmsg, "guard: %d services, reset for %d", (int)n, (int)g->n);
        return RLS_ERR_STATE;
    }
    int net_ok = rls_policy_decide(g->net, in, g->net_desired, g->net_place) == RLS_OK;
    const float *obs = net_ok ? rls_learned_last_obs(g->net) : NULL;
    memset(g->row_ood, 0, (size_t)n);
    if (obs != NULL)
        rows_out = rls_guard_ood_rows(obs, g->mean, g->std, n, g->F, g->p.ood_k, g->p.ood_max_frac, g->row_ood);
    if (rls_policy_decide(g->hpa, in, g->hpa_desired, g->hpa_place) != RLS_OK) {
        /* as the agent: the targets in force */
        for (int32_t i = 0; i < n; i++) {
            g->hpa_desired[i] = in->services[i].desired;
            g->hpa_place[i] = RLS_PLACE_SPREAD;
        }
    }
    int32_t n_hpa = 0;
    if (g->p.per_service) {
        for (int32_t i = 0; i < n; i++)
            g->row_hpa[i] = (uint8_t)(!net_ok || g->row_ood[i]);
    } else {
        int all = s_verdict(g, !net_ok || rows_out > 0);
        memset(g->row_hpa, all, (size_t)n);
    }
    for (int32_t i = 0; i < n; i++) {
        int h = g->row_hpa[i];
        desired[i] = h ? g->hpa_desired[i] : g->net_desired[i];
        placement[i] = h ? g->hpa_place[i] : g->net_place[i];
        n_hpa += h;
    }
    g->st.decisions++;
    g->st.hpa_decisions += n_hpa > 0;
    g->st.ood_decisions += rows_out > 0;
    g->st.rows_hpa += n_hpa;
    g->st.policy_errors += !net_ok;
    return RLS_OK;
}

static const char *s_g_errmsg(const void *self)
{
    return ((const struct s_guard *)self)->errmsg;
}

static void s_g_destroy(void *self)
{
    struct s_guard *g = self;
    if (g == NULL)
        return;
    rls_policy_destroy(&g->net);
    rls_policy_destroy(&g->hpa);
    s_free_rows(g);
    free(g->mean);
    free(g->std);
    free(g);
}

static const struct rls_policy_ops s_guard_ops = {
    .kind = "learned",
    .needs_future = 0,
    .reset = s_g_reset,
    .decide = s_g_decide,
    .errmsg = s_g_errmsg,
    .destroy = s_g_destroy,
};

static int s_check_params(const struct rls_guard_params *p, struct rls_err *err)
{
    if (!isfinite(p->ood_k) || p->ood_k <= 0)
        return rls_err_set(err, RLS_ERR_RANGE, "guard: ood_k: must be finite and > 0 (got %g)", p->ood_k);
    if (!isfinite(p->ood_max_frac) || p->ood_max_frac < 0 || p->ood_max_frac > 1)
        return rls_err_set(err, RLS_ERR_RANGE, "guard: ood_max_frac: must be in [0, 1] (got %g)", p->ood_max_frac);
    if (p->recover_steps < 0)
        return rls_err_set(err, RLS_ERR_RANGE, "guard: recover_steps: must be >= 0 (got %d)", (int)p->recover_steps);
    return RLS_OK;
}

struct rls_policy *rls_guarded_from_checkpoint(const struct rls_checkpoint *ck, const char *name,
                                               const struct rls_learned_params *lp,
                                               const struct rls_guard_params *gp,
                                               const struct rls_scenario *sc, struct rls_err *err)
{
    struct s_guard *g = NULL;
    struct rls_guard_params p = gp != NULL ? *gp : rls_guard_default_params();

    if (ck == NULL || sc == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "guard: NULL checkpoint or scenario");
        return NULL;
    }
    if (s_check_params(&p, err) != RLS_OK)
        return NULL;
    g = calloc(1, sizeof *g);
    if (g == NULL)
        goto nomem;
    g->p = p;
    g->F = ck->sizes[0];
    g->net = rls_learned_from_checkpoint_with(ck, name, lp, sc, err);
    if (g->net == NULL)
        goto fail;
    g->hpa = rls_policy_new("hpa", sc, err);
    if (g->hpa == NULL)
        goto fail;
    g->mean = malloc((size_t)g->F * sizeof *g->mean);
    g->std = malloc((size_t)g->F * sizeof *g->std);
    if (g->mean == NULL || g->std == NULL || s_alloc_rows(g, sc->n_services) != RLS_OK)
        goto nomem;
    memcpy(g->mean, ck->obs_mean, (size_t)g->F * sizeof *g->mean);
    memcpy(g->std, ck->obs_std, (size_t)g->F * sizeof *g->std);
    struct rls_policy *out = rls_policy_wrap(&s_guard_ops, g, name != NULL ? name : "learned");
    if (out == NULL)
        rls_err_set(err, RLS_ERR_NOMEM, "guard: out of memory");
    return out;     /* the wrap freed g on failure */
nomem:
    rls_err_set(err, RLS_ERR_NOMEM, "guard: out of memory");
fail:
    s_g_destroy(g);
    return NULL;
}

struct rls_policy *rls_guarded_new(const char *path, const struct rls_learned_params *lp,
                                   const struct rls_guard_params *gp, const struct rls_scenario *sc,
                                   struct rls_err *err)
{
    struct rls_checkpoint *ck = NULL;
    if (path == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "guard: NULL path");
        return NULL;
    }
    if (rls_checkpoint_load(path, &ck, err) != RLS_OK)
        return NULL;
    struct rls_policy *p = rls_guarded_from_checkpoint(ck, path, lp, gp, sc, err);
    rls_checkpoint_destroy(&ck);
    return p;
}

int rls_guarded_stats(const struct rls_policy *p, struct rls_guard_stats *out, const uint8_t **row_hpa)
{
    const struct s_guard *g = rls_policy_self_if(p, &s_guard_ops);
    if (g == NULL || out == NULL)
        return RLS_ERR_INVALID;
    *out = g->st;
    if (row_hpa != NULL)
        *row_hpa = g->row_hpa;
    return RLS_OK;
}
