/* policy.c - the policy handle (ops table + state, as redis' ConnectionType),
 * its thin wrappers (clamping desired to [min, max], the "@placement"
 * override) and the registry that builds a baseline from a spec string
 * "name[:arg][@spread|@binpack]".
 */
#include "policy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "hpa.h"
#include "kpa.h"
#include "learned.h"
#include "oracle.h"
#include "predictive.h"

/* static.c (no public header: only the registry builds it). */
struct rls_policy *rls__static_new(int32_t replicas, const struct rls_scenario *sc,
                                   struct rls_err *err);

struct rls_policy {
    const struct rls_policy_ops *ops;
    void *self;
    char *name;
    int placement;              /* override, -1 = the policy's own choice */
    char errmsg[RLS_ERRMSG_MAX];
};

void *rls_policy_self_if(const struct rls_policy *p, const struct rls_policy_ops *ops)
{
    return p && p->ops == ops ? p->self : NULL;
}

struct rls_policy *rls_policy_wrap(const struct rls_policy_ops *ops, void *self,
                                   const char *name)
{
    struct rls_policy *p = NULL;
    if (ops == NULL)
        return NULL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        goto fail;
    p->name = strdup(name != NULL ? name : (ops->kind != NULL ? ops->kind : "policy"));
    if (p->name == NULL)
        goto fail;
    p->ops = ops;
    p->self = self;
    p->placement = -1;
    return p;
fail:
    free(p);
    if (ops->destroy != NULL && self != NULL)
        ops->destroy(self);
    return NULL;
}

void rls_policy_destroy(struct rls_policy **p)
{
    if (p == NULL || *p == NULL)
        return;
    if ((*p)->ops->destroy != NULL && (*p)->self != NULL)
        (*p)->ops->destroy((*p)->self);
    free((*p)->name);
    free(*p);
    *p = NULL;
}

/* Copies the implementation's message (or the status text) into the handle. */
static int s_fail(struct rls_policy *p, int status)
{
    const char *m = NULL;
    if (p->ops->errmsg != NULL)
        m = p->ops->errmsg(p->self);
    if (m == NULL || m[0] == '\0')
        m = rls_status_str(status);
    snprintf(p->errmsg, sizeof p->errmsg, "%s: %s", p->name, m);
    return status;
}

int rls_policy_reset(struct rls_policy *p, const struct rls_scenario *sc)
{
    if (p == NULL)
        return RLS_ERR_INVALID;
    if (sc == NULL) {
        snprintf(p->errmsg, sizeof p->errmsg, "%s: reset with a NULL scenario", p->name);
        return RLS_ERR_INVALID;
    }
    p->errmsg[0] = '\0';
    if (p->ops->reset == NULL)
        return RLS_OK;
    int rc = p->ops->reset(p->self, sc);
    if (rc != RLS_OK)
        return s_fail(p, rc);
    return RLS_OK;
}

int rls_policy_decide(struct rls_policy *p, const struct rls_policy_input *in,
                      int32_t *desired, uint8_t *placement)
{
    if (p == NULL)
        return RLS_ERR_INVALID;
    if (in == NULL || in->scenario == NULL || desired == NULL || placement == NULL ||
        (in->services == NULL && in->scenario->n_services > 0)) {
        snprintf(p->errmsg, sizeof p->errmsg,
                 "%s: decide needs input, scenario, services, desired and placement", p->name);
        return RLS_ERR_INVALID;
    }
    if (p->ops->needs_future && in->future_rate == NULL) {
        snprintf(p->errmsg, sizeof p->errmsg, "%s: needs future_rate (clairvoyant policy)",
                 p->name);
        return RLS_ERR_INVALID;
    }
    const struct rls_scenario *sc = in->scenario;
    for (int32_t i = 0; i < sc->n_services; i++) {
        desired[i] = in->services[i].desired;
        placement[i] = RLS_PLACE_SPREAD;
    }
    int rc = p->ops->decide(p->self, in, desired, placement);
    if (rc != RLS_OK)
        return s_fail(p, rc);
    for (int32_t i = 0; i < sc->n_services; i++) {
        const struct rls_service_spec *s = &sc->services[i];
        if (desired[i] > s->max_replicas)
            desired[i] = s->max_replicas;
        if (desired[i] < s->min_replicas)
            desired[i] = s->min_replicas;
        if (p->placement >= 0)
            placement[i] = (uint8_t)p->placement;
        else if (placement[i] >= RLS_PLACE_COUNT)
            placement[i] = RLS_PLACE_SPREAD;
    }
    return RLS_OK;
}

const char *rls_policy_name(const struct rls_policy *p)
{
    return p != NULL ? p->name : "";
}

const char *rls_policy_kind(const struct rls_policy *p)
{
    return p != NULL && p->ops->kind != NULL ? p->ops->kind : "";
}

int rls_policy_needs_future(const struct rls_policy *p)
{
    return p != NULL ? p->ops->needs_future : 0;
}

const char *rls_policy_errmsg(const struct rls_policy *p)
{
    return p != NULL ? p->errmsg : "";
}

void rls_policy_set_placement(struct rls_policy *p, int placement)
{
    if (p == NULL)
        return;
    p->placement = (placement >= 0 && placement < RLS_PLACE_COUNT) ? placement : -1;
}

/* ---------------------------------------------------------------- registry */

#define S_KNOWN "static, hpa, kpa, predictive, oracle-step (oracle), oracle-budget, hpa-tuned, FILE.h5"

/* Renames p to `name` (the display name with its placement suffix). */
static int s_rename(struct rls_policy *p, const char *name)
{
    char *n = strdup(name);
    if (n == NULL)
        return RLS_ERR_NOMEM;
    free(p->name);
    p->name = n;
    return RLS_OK;
}

/* The ".h5" ending the path of a checkpoint spec within spec[0, base): at the
 * end or before a ':' option; NULL if spec names no checkpoint. */
static const char *s_find_h5(const char *spec, size_t base)
{
    for (size_t k = 3; k <= base; k++)
        if (strncmp(spec + k - 3, ".h5", 3) == 0 && (k == base || spec[k] == ':'))
            return spec + k - 3;
    return NULL;
}

/* Parses the options ":hold=N", ":floor=U", ":tau=T" and ":ood=0|1" in [opt, end) of a
 * checkpoint spec into lp. Returns RLS_OK or RLS_ERR_INVALID with err. */
static int s_learned_options(const char *spec, const char *opt, const char *end,
                             struct rls_learned_params *lp, int *ood, struct rls_err *err)
{
    while (opt < end) {
        char key[16], val[32];
        const char *next = opt + 1, *eq;
        while (next < end && *next != ':')
            next++;
        eq = memchr(opt + 1, '=', (size_t)(next - opt - 1));
        if (*opt != ':' || eq == NULL || (size_t)(eq - opt - 1) >= sizeof key ||
            (size_t)(next - eq - 1) >= sizeof val || next == eq + 1)
            return rls_err_set(err, RLS_ERR_INVALID,
                               "policy '%s': checkpoint options are :hold=N, :floor=U, :slo=0|1, :budget=G, :window=S, :tau=T and :ood=0|1", spec);
        memcpy(key, opt + 1, (size_t)(eq - opt - 1));
        key[eq - opt - 1] = '\0';
        memcpy(val, eq + 1, (size_t)(next - eq - 1));
        val[next - eq - 1] = '\0';
        char *stop = NULL;
        errno = 0;
        double v = strtod(val, &stop);
        if (*stop != '\0' || errno != 0 || !isfinite(v))
            return rls_err_set(err, RLS_ERR_INVALID, "policy '%s': option '%s': '%s' is not a number",
                               spec, key, val);
        if (strcmp(key, "hold") == 0 && v >= 0 && v <= 100000 && v == floor(v))
            lp->hold_steps = (int32_t)v;
        else if (strcmp(key, "floor") == 0 && v >= 0 && v <= 1)
            lp->floor_util = v;
        else if (strcmp(key, "slo") == 0 && (v == 0 || v == 1))
            lp->slo_floor = (int32_t)v;
        else if (strcmp(key, "budget") == 0 && v >= 0 && v <= 100)
            lp->budget_gain = v;
        else if (strcmp(key, "window") == 0 && v > 0 && v <= 1e9)
            lp->budget_window_s = v;
        else if (strcmp(key, "tau") == 0 && v > 0 && v <= 1)
            lp->support_tau = v;
        else if (strcmp(key, "ood") == 0 && (v == 0 || v == 1))
            *ood = (int)v;      /* the out-of-distribution guard (guard.h) */
        else
            return rls_err_set(err, RLS_ERR_INVALID,
                               "policy '%s': option '%s=%s' (known: hold=N steps 0..100000, floor=U in [0, 1], slo=0|1, budget=G in [0, 100], window=S seconds, tau=T in (0, 1], ood=0|1)",
                               spec, key, val);
        opt = next;
    }
    return RLS_OK;
}

int rls_policy_learned_options(const char *opts, struct rls_learned_params *lp, int *ood,
                               struct rls_err *err)
{
    int ood_local = 1;
    if (!opts || !lp)
        return rls_err_set(err, RLS_ERR_INVALID, "learned options: NULL");
    return s_learned_options(opts, opts, opts + strlen(opts), lp, ood ? ood : &ood_local, err);
}

struct rls_policy *rls_policy_new(const char *spec, const struct rls_scenario *sc,
                                  struct rls_err *err)
{
    char buf[128];
    char *at = NULL, *colon = NULL, *arg = NULL;
    struct rls_policy *p = NULL;
    int placement = -1;

    if (spec == NULL || spec[0] == '\0') {
        rls_err_set(err, RLS_ERR_INVALID, "empty policy spec (known: " S_KNOWN ")");
        return NULL;
    }
    if (sc == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "policy '%s': NULL scenario", spec);
        return NULL;
    }
    {
        /* "path/policy.h5[:hold=N][:floor=U][:slo=0|1][:budget=G][:window=S][:tau=T][:ood=0|1][@placement]": a checkpoint (learned.h; ood: guard.h) */
        const char *sep = strrchr(spec, '@');
        size_t base = sep != NULL ? (size_t)(sep - spec) : strlen(spec);
        const char *h5 = s_find_h5(spec, base);
        if (h5 != NULL) {
            struct rls_learned_params lp = rls_learned_default_params();
            int ood = RLS_GUARD_DEFAULT_ON;
            char *path = strndup(spec, (size_t)(h5 + 3 - spec));
            if (path == NULL) {
                rls_err_set(err, RLS_ERR_NOMEM, "policy '%s': out of memory", spec);
                return NULL;
            }
            if (s_learned_options(spec, h5 + 3, spec + base, &lp, &ood, err) != RLS_OK) {
                free(path);
                return NULL;
            }
            if (sep != NULL && strcmp(sep + 1, "spread") == 0) {
                placement = RLS_PLACE_SPREAD;
            } else if (sep != NULL && strcmp(sep + 1, "binpack") == 0) {
                placement = RLS_PLACE_BINPACK;
            } else if (sep != NULL) {
                rls_err_set(err, RLS_ERR_INVALID,
                            "policy '%s': unknown placement '@%s' (known: @spread, @binpack)", spec,
                            sep + 1);
                free(path);
                return NULL;
            }
            p = ood ? rls_guarded_new(path, &lp, NULL, sc, err) : rls_learned_new_with(path, &lp, sc, err);
            free(path);
            if (p != NULL && (sep != NULL || h5 + 3 != spec + base)) {
                if (sep != NULL)
                    rls_policy_set_placement(p, placement);
                if (s_rename(p, spec) != RLS_OK) {
                    rls_policy_destroy(&p);
                    rls_err_set(err, RLS_ERR_NOMEM, "policy '%s': out of memory", spec);
                }
            }
            return p;
        }
    }
    if (strlen(spec) >= sizeof buf) {
        rls_err_set(err, RLS_ERR_INVALID, "policy spec too long (%zu chars)", strlen(spec));
        return NULL;
    }
    strcpy(buf, spec);
    at = strchr(buf, '@');
    if (at != NULL) {
        *at++ = '\0';
        if (strcmp(at, "spread") == 0) {
            placement = RLS_PLACE_SPREAD;
        } else if (strcmp(at, "binpack") == 0) {
            placement = RLS_PLACE_BINPACK;
        } else {
            rls_err_set(err, RLS_ERR_INVALID,
                        "policy '%s': unknown placement '@%s' (known: @spread, @binpack)", spec, at);
            return NULL;
        }
    }
    colon = strchr(buf, ':');
    if (colon != NULL) {
        *colon = '\0';
        arg = colon + 1;
    }

    if (strcmp(buf, "static") == 0) {
        int32_t n = -1; /* -1: each service's demand at its load's peak */
        if (arg != NULL) {
            char *end = NULL;
            errno = 0;
            long v = strtol(arg, &end, 10);
            if (arg[0] == '\0' || end == arg || *end != '\0' || errno != 0 || v < 0 ||
                v > 10000000) {
                rls_err_set(err, RLS_ERR_INVALID,
                            "policy '%s': static:N needs a replica count N >= 0, got '%s'", spec,
                            arg);
                return NULL;
            }
            n = (int32_t)v;
        }
        p = rls__static_new(n, sc, err);
    } else if (arg != NULL && (strcmp(buf, "hpa") == 0 || strcmp(buf, "kpa") == 0 ||
                               strcmp(buf, "predictive") == 0 || strcmp(buf, "oracle") == 0 ||
                               strcmp(buf, "oracle-step") == 0)) {
        rls_err_set(err, RLS_ERR_INVALID, "policy '%s': '%s' takes no ':' argument", spec, buf);
        return NULL;
    } else if (strcmp(buf, "hpa") == 0) {
        p = rls_hpa_new(NULL, sc, err);
    } else if (strcmp(buf, "kpa") == 0) {
        p = rls_kpa_new(NULL, sc, err);
    } else if (strcmp(buf, "predictive") == 0) {
        p = rls_predictive_new(NULL, sc, err);
    } else if (strcmp(buf, "oracle") == 0 || strcmp(buf, "oracle-step") == 0) {
        p = rls_oracle_new(NULL, sc, err);
        if (p != NULL && strcmp(buf, "oracle-step") == 0 && at == NULL &&
            s_rename(p, spec) != RLS_OK) {
            rls_policy_destroy(&p);
            rls_err_set(err, RLS_ERR_NOMEM, "policy '%s': out of memory", spec);
            return NULL;
        }
    } else if (strcmp(buf, "oracle-budget") == 0) {
        /* oracle-budget[:B]: B the violation budget, a fraction in (0, 1) */
        struct rls_oracle_budget_params obp = rls_oracle_budget_default_params();
        if (arg != NULL) {
            char *end = NULL;
            errno = 0;
            double b = strtod(arg, &end);
            if (arg[0] == '\0' || end == arg || *end != '\0' || errno != 0 || !(b > 0.0) ||
                !(b < 1.0)) {
                rls_err_set(err, RLS_ERR_INVALID,
                            "policy '%s': oracle-budget:B needs a violation budget B in (0, 1) "
                            "(a fraction: 0.05 is 5%%), got '%s'", spec, arg);
                return NULL;
            }
            obp.budget = b;
        }
        if (placement >= 0)
            obp.placement = placement;   /* calibrate with the placement it will run */
        p = rls_oracle_budget_new(&obp, sc, err);
    } else if (strcmp(buf, "hpa-tuned") == 0) {
        rls_err_set(err, RLS_ERR_UNSUPPORTED,
                    "policy 'hpa-tuned' is built by eval (grid search through rls_hpa_new)");
        return NULL;
    } else {
        rls_err_set(err, RLS_ERR_NOTFOUND, "unknown policy '%s' (known: " S_KNOWN ")", buf);
        return NULL;
    }
    if (p == NULL)
        return NULL; /* err set by the constructor */
    if (at != NULL) {
        rls_policy_set_placement(p, placement);
        if (s_rename(p, spec) != RLS_OK) {
            rls_policy_destroy(&p);
            rls_err_set(err, RLS_ERR_NOMEM, "policy '%s': out of memory", spec);
            return NULL;
        }
    } else if (arg != NULL && s_rename(p, spec) != RLS_OK) {
        rls_policy_destroy(&p);
        rls_err_set(err, RLS_ERR_NOMEM, "policy '%s': out of memory", spec);
        return NULL;
    }
    return p;
}
