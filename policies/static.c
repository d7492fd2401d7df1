/* static.c - fixed replicas: "static:N" keeps N replicas per service (clamped
 * to each service's [min, max] by rls_policy_decide); "static" keeps each
 * service at the replicas its load's peak demands (rls_queueing_demand at the
 * load's peak_rps), or at max_replicas when the scenario gives no peak.
 * Built only by the registry (policy.c), hence no header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../env/queueing.h"
#include "policy.h"

struct rls_policy *rls__static_new(int32_t replicas, const struct rls_scenario *sc,
                                   struct rls_err *err);

struct s_static {
    int32_t fixed;       /* N, or -1 for the per-service peak demand */
    int32_t n;           /* services */
    int32_t *replicas;   /* [n] what each service keeps */
    char errmsg[RLS_ERRMSG_MAX];
};

static int s_static_reset(void *self, const struct rls_scenario *sc)
{
    struct s_static *s = self;
    free(s->replicas);
    s->replicas = NULL;
    s->n = 0;
    s->errmsg[0] = '\0';
    if (sc == NULL) {
        snprintf(s->errmsg, sizeof s->errmsg, "static: reset with no scenario");
        return RLS_ERR_INVALID;
    }
    if (sc->n_services <= 0)
        return RLS_OK;
    s->replicas = calloc((size_t)sc->n_services, sizeof *s->replicas);
    if (s->replicas == NULL) {
        snprintf(s->errmsg, sizeof s->errmsg, "static: out of memory");
        return RLS_ERR_NOMEM;
    }
    s->n = sc->n_services;
    for (int32_t i = 0; i < s->n; i++) {
        const struct rls_service_spec *sp = &sc->services[i];
        if (s->fixed >= 0)
            s->replicas[i] = s->fixed;
        else if (sp->load.peak_rps > 0.0)
            s->replicas[i] = rls_queueing_demand(sp, sp->load.peak_rps);
        else
            s->replicas[i] = sp->max_replicas;
    }
    return RLS_OK;
}

static int s_static_decide(void *self, const struct rls_policy_input *in, int32_t *desired,
                           uint8_t *placement)
{
    struct s_static *s = self;
    (void)placement;
    if (in->scenario->n_services != s->n) {
        snprintf(s->errmsg, sizeof s->errmsg,
                 "static: scenario has %d services, policy was reset for %d",
                 (int)in->scenario->n_services, (int)s->n);
        return RLS_ERR_STATE;
    }
    memcpy(desired, s->replicas, (size_t)s->n * sizeof *desired);
    return RLS_OK;
}

static const char *s_static_errmsg(const void *self)
{
    const struct s_static *s = self;
    return s->errmsg;
}

static void s_static_destroy(void *self)
{
    struct s_static *s = self;
    if (s == NULL)
        return;
    free(s->replicas);
    free(s);
}

static const struct rls_policy_ops s_static_ops = {
    .kind = "static",
    .needs_future = 0,
    .reset = s_static_reset,
    .decide = s_static_decide,
    .errmsg = s_static_errmsg,
    .destroy = s_static_destroy,
};

/* replicas >= 0: that many per service; < 0: each service's peak demand.
 * Returns an owned handle or NULL with err. */
struct rls_policy *rls__static_new(int32_t replicas, const struct rls_scenario *sc,
                                   struct rls_err *err)
{
    struct s_static *s = NULL;
    struct rls_policy *pol = NULL;
    if (sc == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "static: NULL scenario");
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "static: out of memory");
        return NULL;
    }
    s->fixed = replicas < 0 ? -1 : replicas;
    int rc = s_static_reset(s, sc);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "%s", s->errmsg);
        s_static_destroy(s);
        return NULL;
    }
    pol = rls_policy_wrap(&s_static_ops, s, "static");
    if (pol == NULL)
        rls_err_set(err, RLS_ERR_NOMEM, "static: out of memory");
    return pol;
}
