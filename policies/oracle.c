/* oracle.c - the clairvoyant baseline (see oracle.h). It knows each
 * service's future load rate, computes the demanded replicas of every step
 * (fewest meeting the SLO, with a Poisson margin) and holds, at step k, the
 * maximum over [k, k + L]: replicas are ordered one cold start plus one node
 * boot before they are needed and released as soon as no step within that
 * lead needs them. Demands are cached per step in a ring of L + 1 entries.
 */
#include "oracle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../env/queueing.h"

struct rls_oracle_params rls_oracle_default_params(void)
{
    struct rls_oracle_params p;
    p.margin_sigmas = 2.0;
    return p;
}

struct s_oracle_svc {
    int32_t lead;        /* L, steps */
    int64_t *cache_step; /* [lead + 1] step of each cached demand, -1 = empty */
    int32_t *cache_n;    /* [lead + 1] demanded replicas */
};

struct s_oracle {
    struct rls_oracle_params p;
    int32_t n;                  /* services */
    struct s_oracle_svc *svc;   /* [n] */
    char errmsg[RLS_ERRMSG_MAX];
};

static void s_free_svc(struct s_oracle *o)
{
    if (o->svc != NULL)
        for (int32_t i = 0; i < o->n; i++) {
            free(o->svc[i].cache_step);
            free(o->svc[i].cache_n);
        }
    free(o->svc);
    o->svc = NULL;
    o->n = 0;
}

static int s_oracle_reset(void *self, const struct rls_scenario *sc)
{
    struct s_oracle *o = self;
    s_free_svc(o);
    o->errmsg[0] = '\0';
    if (sc == NULL || !(sc->step_s > 0.0)) {
        snprintf(o->errmsg, sizeof o->errmsg, "oracle: reset needs a scenario with step_s > 0");
        return RLS_ERR_INVALID;
    }
    double boot = 0.0;
    for (int32_t j = 0; j < sc->n_pools; j++)
        if (sc->pools[j].boot_s > boot)
            boot = sc->pools[j].boot_s;
    if (sc->n_services <= 0)
        return RLS_OK;
    o->svc = calloc((size_t)sc->n_services, sizeof *o->svc);
    if (o->svc == NULL)
        goto nomem;
    o->n = sc->n_services;
    for (int32_t i = 0; i < o->n; i++) {
        struct s_oracle_svc *v = &o->svc[i];
        double cold = sc->services[i].cold_start_s > 0.0 ? sc->services[i].cold_start_s : 0.0;
        double l = ceil(cold / sc->step_s - 1e-9) + ceil(boot / sc->step_s - 1e-9);
        v->lead = l < 0.0 ? 0 : (l > 1e5 ? 100000 : (int32_t)l);
        v->cache_step = malloc((size_t)(v->lead + 1) * sizeof *v->cache_step);
        v->cache_n = malloc((size_t)(v->lead + 1) * sizeof *v->cache_n);
        if (v->cache_step == NULL || v->cache_n == NULL)
            goto nomem;
        for (int32_t j = 0; j <= v->lead; j++)
            v->cache_step[j] = -1;
    }
    return RLS_OK;
nomem:
    s_free_svc(o);
    snprintf(o->errmsg, sizeof o->errmsg, "oracle: out of memory");
    return RLS_ERR_NOMEM;
}

/* n*(j): the demanded replicas of service i at step j. */
static int32_t s_demand(struct s_oracle *o, const struct rls_policy_input *in, int32_t i,
                        int64_t j)
{
    struct s_oracle_svc *v = &o->svc[i];
    int32_t slot = (int32_t)(j % (v->lead + 1));
    if (v->cache_step[slot] == j)
        return v->cache_n[slot];
    double r = in->future_rate(in->future_ctx, i, j);
    if (!(r > 0.0))
        r = 0.0;
    double step_s = in->scenario->step_s;
    double need = r + o->p.margin_sigmas * sqrt(r / step_s);
    int32_t n = rls_queueing_demand(&in->scenario->services[i], need);
    v->cache_step[slot] = j;
    v->cache_n[slot] = n;
    return n;
}

static int s_oracle_decide(void *self, const struct rls_policy_input *in, int32_t *desired,
                           uint8_t *placement)
{
    struct s_oracle *o = self;
    const struct rls_scenario *sc = in->scenario;
    if (sc->n_services != o->n) {
        snprintf(o->errmsg, sizeof o->errmsg,
                 "oracle: scenario has %d services, policy was reset for %d", (int)sc->n_services,
                 (int)o->n);
        return RLS_ERR_STATE;
    }
    int64_t k = in->step > 0 ? in->step : 0;
    for (int32_t i = 0; i < o->n; i++) {
        int32_t best = 0;
        for (int64_t j = k; j <= k + o->svc[i].lead; j++) {
            int32_t n = s_demand(o, in, i, j);
            if (n > best)
                best = n;
        }
        desired[i] = best;
        placement[i] = RLS_PLACE_BINPACK;
    }
    return RLS_OK;
}

static const char *s_oracle_errmsg(const void *self)
{
    const struct s_oracle *o = self;
    return o->errmsg;
}

static void s_oracle_destroy(void *self)
{
    struct s_oracle *o = self;
    if (o == NULL)
        return;
    s_free_svc(o);
    free(o);
}

static const struct rls_policy_ops s_oracle_ops = {
    .kind = "oracle",
    .needs_future = 1,
    .reset = s_oracle_reset,
    .decide = s_oracle_decide,
    .errmsg = s_oracle_errmsg,
    .destroy = s_oracle_destroy,
};

struct rls_policy *rls_oracle_new(const struct rls_oracle_params *p,
                                  const struct rls_scenario *sc, struct rls_err *err)
{
    struct s_oracle *o = NULL;
    struct rls_policy *pol = NULL;
    struct rls_oracle_params def = rls_oracle_default_params();
    if (p == NULL)
        p = &def;
    if (sc == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "oracle: NULL scenario");
        return NULL;
    }
    if (!(p->margin_sigmas >= 0.0) || p->margin_sigmas > 100.0) {
        rls_err_set(err, RLS_ERR_RANGE, "oracle: margin_sigmas %g must be in [0, 100]",
                    p->margin_sigmas);
        return NULL;
    }
    o = calloc(1, sizeof *o);
    if (o == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "oracle: out of memory");
        return NULL;
    }
    o->p = *p;
    int rc = s_oracle_reset(o, sc);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "%s", o->errmsg);
        s_oracle_destroy(o);
        return NULL;
    }
    pol = rls_policy_wrap(&s_oracle_ops, o, "oracle");
    if (pol == NULL)
        rls_err_set(err, RLS_ERR_NOMEM, "oracle: out of memory");
    return pol;
}
