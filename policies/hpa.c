/* hpa.c - the Kubernetes HPA (see hpa.h): the replica calculator for a CPU
 * utilization target, the behavior's stabilization windows and rate policies,
 * and the policy that runs one independent HPA per service, one sync period
 * per control step.
 */
#include "hpa.h"
#include "hpa_manifest.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ params */

struct rls_hpa_params rls_hpa_default_params(void)
{
    struct rls_hpa_params p;
    p.target_utilization = 0.7;
    p.tolerance = 0.1;
    p.scale_up_window_s = 0.0;
    p.scale_down_window_s = 300.0;
    p.scale_up_pods = 4;
    p.scale_up_percent = 100.0;
    p.scale_up_period_s = 15.0;
    p.scale_down_pods = 0;
    p.scale_down_percent = 100.0;
    p.scale_down_period_s = 15.0;
    p.scale_up_select = RLS_HPA_SELECT_MAX;
    p.scale_down_select = RLS_HPA_SELECT_MAX;
    return p;
}

int rls_hpa_params_check(const struct rls_hpa_params *p, struct rls_err *err)
{
    if (p == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "hpa: NULL params");
    if (!(p->target_utilization > 0.0) || p->target_utilization > 100.0)
        return rls_err_set(err, RLS_ERR_RANGE,
                           "hpa: target_utilization %g must be in (0, 100]", p->target_utilization);
    if (!(p->tolerance >= 0.0) || p->tolerance >= 1.0)
        return rls_err_set(err, RLS_ERR_RANGE, "hpa: tolerance %g must be in [0, 1)", p->tolerance);
    if (!(p->scale_up_window_s >= 0.0) || p->scale_up_window_s > 3600.0)
        return rls_err_set(err, RLS_ERR_RANGE, "hpa: scale_up_window_s %g must be in [0, 3600]",
                           p->scale_up_window_s);
    if (!(p->scale_down_window_s >= 0.0) || p->scale_down_window_s > 3600.0)
        return rls_err_set(err, RLS_ERR_RANGE, "hpa: scale_down_window_s %g must be in [0, 3600]",
                           p->scale_down_window_s);
    if (!(p->scale_up_period_s > 0.0) || p->scale_up_period_s > 1800.0)
        return rls_err_set(err, RLS_ERR_RANGE, "hpa: scale_up_period_s %g must be in (0, 1800]",
                           p->scale_up_period_s);
    if (!(p->scale_down_period_s > 0.0) || p->scale_down_period_s > 1800.0)
        return rls_err_set(err, RLS_ERR_RANGE, "hpa: scale_down_period_s %g must be in (0, 1800]",
                           p->scale_down_period_s);
    if (p->scale_up_pods < 0 || p->scale_down_pods < 0)
        return rls_err_set(err, RLS_ERR_RANGE, "hpa: scale_up_pods/scale_down_pods must be >= 0");
    if (!(p->scale_up_percent >= 0.0) || !(p->scale_down_percent >= 0.0) ||
        p->scale_down_percent > 1e6 || p->scale_up_percent > 1e6)
        return rls_err_set(err, RLS_ERR_RANGE,
                           "hpa: scale_up_percent and scale_down_percent must be in [0, 1e6]");
    if (p->scale_up_select < RLS_HPA_SELECT_MAX || p->scale_up_select > RLS_HPA_SELECT_DISABLED ||
        p->scale_down_select < RLS_HPA_SELECT_MAX || p->scale_down_select > RLS_HPA_SELECT_DISABLED)
        return rls_err_set(err, RLS_ERR_RANGE,
                           "hpa: scale_up_select/scale_down_select must be Max (0), Min (1) or Disabled (2)");
    return RLS_OK;
}

/* -------------------------------------------------------- replica calculator */

/* metricsclient.GetResourceUtilizationRatio: integer percent, truncated. */
static int32_t s_util_percent(int64_t usage_total_m, int64_t request_total_m)
{
    if (request_total_m <= 0)
        return 0;
    return (int32_t)((usage_total_m * 100) / request_total_m);
}

int32_t rls_hpa_replicas_for_metric(int32_t current, const struct rls_hpa_pods *pods,
                                    double target_utilization, double tolerance)
{
    if (pods == NULL || !(pods->request_m > 0.0) || !(target_utilization > 0.0))
        return -1;
    int64_t request = llround(pods->request_m);
    if (request <= 0)
        request = 1;
    int32_t target = (int32_t)lround(target_utilization * 100.0);
    if (target <= 0)
        target = 1;
    int64_t ready = pods->ready > 0 ? pods->ready : 0;
    int64_t unready = (pods->unready > 0 ? pods->unready : 0) + (pods->pending > 0 ? pods->pending : 0);
    int64_t missing = pods->missing > 0 ? pods->missing : 0;
    if (ready == 0)
        return -1; /* "did not receive metrics for targeted pods" */
    double usage_m = pods->usage_m > 0.0 ? pods->usage_m : 0.0;

    int64_t usage_total = llround(usage_m * (double)ready);
    int64_t request_total = request * ready;
    int32_t util = s_util_percent(usage_total, request_total);
    double ratio = (double)util / (double)target;

    int scale_up_with_unready = unready > 0 && ratio > 1.0;
    if (!scale_up_with_unready && missing == 0) {
        if (fabs(1.0 - ratio) <= tolerance)
            return current;
        return (int32_t)ceil(ratio * (double)ready);
    }

    int64_t count = ready;
    if (missing > 0) {
        if (ratio < 1.0) {
            /* scale-down: missing pods use 100% (or the target when above 100%) */
            int64_t fallback = target > 100 ? target : 100;
            usage_total += missing * (request * fallback / 100);
            request_total += missing * request;
            count += missing;
        } else if (ratio > 1.0) {
            /* scale-up: missing pods use 0% */
            request_total += missing * request;
            count += missing;
        }
    }
    if (scale_up_with_unready) {
        /* scale-up: unready (and pending) pods use 0% */
        request_total += unready * request;
        count += unready;
    }
    int32_t new_util = s_util_percent(usage_total, request_total);
    double new_ratio = (double)new_util / (double)target;
    if (fabs(1.0 - new_ratio) <= tolerance || (ratio < 1.0 && new_ratio > 1.0) ||
        (ratio > 1.0 && new_ratio < 1.0))
        return current;
    int32_t replicas = (int32_t)ceil(new_ratio * (double)count);
    if ((new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current))
        return current;
    return replicas;
}

/* ------------------------------------------------------------------ scaler */

struct s_rec {
    double t;      /* timestamp, s */
    int32_t n;     /* recommendation */
};

struct s_event {
    double t;        /* timestamp, s */
    int32_t change;  /* replicas added (up list) or removed (down list), > 0 */
    int outdated;    /* older than the longest policy period: slot reusable */
};

struct rls_hpa_scaler {
    struct rls_hpa_params p;
    int32_t min_replicas, max_replicas;
    struct s_rec *recs;
    int32_t n_recs, cap_recs;
    struct s_event *up, *down;
    int32_t n_up, cap_up, n_down, cap_down;
};

struct rls_hpa_scaler *rls_hpa_scaler_new(const struct rls_hpa_params *p, int32_t min_replicas,
                                          int32_t max_replicas)
{
    struct rls_hpa_scaler *s = NULL;
    if (p == NULL)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->p = *p;
    s->min_replicas = min_replicas;
    s->max_replicas = max_replicas;
    return s;
}

void rls_hpa_scaler_destroy(struct rls_hpa_scaler **s)
{
    if (s == NULL || *s == NULL)
        return;
    free((*s)->recs);
    free((*s)->up);
    free((*s)->down);
    free(*s);
    *s = NULL;
}

void rls_hpa_scaler_reset(struct rls_hpa_scaler *s)
{
    if (s == NULL)
        return;
    s->n_recs = 0;
    s->n_up = 0;
    s->n_down = 0;
}

static int s_grow(void **arr, int32_t *cap, int32_t need, size_t elem)
{
    if (need <= *cap)
        return RLS_OK;
    int32_t ncap = *cap > 0 ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*arr, (size_t)ncap * elem);
    if (n == NULL)
        return RLS_ERR_NOMEM;
    *arr = n;
    *cap = ncap;
    return RLS_OK;
}

int32_t rls_hpa_stabilize(struct rls_hpa_scaler *s, double now_s, int32_t current,
                          int32_t desired)
{
    int32_t up_rec = desired, down_rec = desired;
    double up_cutoff = now_s - s->p.scale_up_window_s;
    double down_cutoff = now_s - s->p.scale_down_window_s;
    int found_old = 0;
    int32_t old_index = 0;
    for (int32_t i = 0; i < s->n_recs; i++) {
        const struct s_rec *r = &s->recs[i];
        if (r->t > up_cutoff && r->n < up_rec)
            up_rec = r->n;
        if (r->t > down_cutoff && r->n > down_rec)
            down_rec = r->n;
        if (r->t < up_cutoff && r->t < down_cutoff) {
            found_old = 1;
            old_index = i;
        }
    }
    int32_t rec = current;
    if (rec < up_rec)
        rec = up_rec;
    if (rec > down_rec)
        rec = down_rec;
    struct s_rec nr = {now_s, desired};
    if (found_old) {
        s->recs[old_index] = nr;
    } else {
        if (s_grow((void **)&s->recs, &s->cap_recs, s->n_recs + 1, sizeof *s->recs) != RLS_OK)
            return -1;
        s->recs[s->n_recs++] = nr;
    }
    return rec;
}

/* getReplicasChangePerPeriod: changes recorded strictly after now - period. */
static int32_t s_change_in_period(const struct s_event *ev, int32_t n, double now_s, double period_s)
{
    double cutoff = now_s - period_s;
    int64_t sum = 0;
    for (int32_t i = 0; i < n; i++)
        if (ev[i].t > cutoff)
            sum += ev[i].change;
    if (sum > INT32_MAX)
        sum = INT32_MAX;
    return (int32_t)sum;
}

static int32_t s_clamp_i64(int64_t v)
{
    if (v > INT32_MAX)
        return INT32_MAX;
    if (v < INT32_MIN)
        return INT32_MIN;
    return (int32_t)v;
}

/* calculateScaleUpLimitWithScalingRules: selectPolicy Max takes the largest
 * proposal, Min the smallest, Disabled returns current. Both policies share
 * one period; a policy with value <= 0 is absent (no policy at all: current). */
static int32_t s_scale_up_limit(const struct rls_hpa_scaler *s, double now_s, int32_t current)
{
    int min_change = s->p.scale_up_select == RLS_HPA_SELECT_MIN;
    if (s->p.scale_up_select == RLS_HPA_SELECT_DISABLED)
        return current;
    int64_t result = min_change ? INT32_MAX : INT32_MIN;
    int32_t added = s_change_in_period(s->up, s->n_up, now_s, s->p.scale_up_period_s);
    int32_t deleted = s_change_in_period(s->down, s->n_down, now_s, s->p.scale_up_period_s);
    int64_t start = (int64_t)current - added + deleted;
    int any = 0;
    if (s->p.scale_up_pods > 0) {
        int64_t prop = start + s->p.scale_up_pods;
        result = min_change ? (prop < result ? prop : result) : (prop > result ? prop : result);
        any = 1;
    }
    if (s->p.scale_up_percent > 0.0) {
        int64_t prop = (int64_t)ceil((double)start * (1.0 + s->p.scale_up_percent / 100.0));
        result = min_change ? (prop < result ? prop : result) : (prop > result ? prop : result);
        any = 1;
    }
    return any ? s_clamp_i64(result) : current;
}

/* calculateScaleDownLimitWithBehaviors: selectPolicy Max takes the largest
 * change (the smallest proposal), Min the smallest change, Disabled returns
 * current; Percent truncates as int32() does. */
static int32_t s_scale_down_limit(const struct rls_hpa_scaler *s, double now_s, int32_t current)
{
    int min_change = s->p.scale_down_select == RLS_HPA_SELECT_MIN;
    if (s->p.scale_down_select == RLS_HPA_SELECT_DISABLED)
        return current;
    int64_t result = min_change ? INT32_MIN : INT32_MAX;
    int32_t added = s_change_in_period(s->up, s->n_up, now_s, s->p.scale_down_period_s);
    int32_t deleted = s_change_in_period(s->down, s->n_down, now_s, s->p.scale_down_period_s);
    int64_t start = (int64_t)current - added + deleted;
    int any = 0;
    if (s->p.scale_down_pods > 0) {
        int64_t prop = start - s->p.scale_down_pods;
        result = min_change ? (prop > result ? prop : result) : (prop < result ? prop : result);
        any = 1;
    }
    if (s->p.scale_down_percent > 0.0) {
        int64_t prop = (int64_t)((double)start * (1.0 - s->p.scale_down_percent / 100.0));
        result = min_change ? (prop > result ? prop : result) : (prop < result ? prop : result);
        any = 1;
    }
    return any ? s_clamp_i64(result) : current;
}

int32_t rls_hpa_rate_limit(const struct rls_hpa_scaler *s, double now_s, int32_t current,
                           int32_t desired)
{
    if (desired > current) {
        int32_t limit = s_scale_up_limit(s, now_s, current);
        if (limit < current)
            limit = current;
        int32_t allowed = s->max_replicas;
        if (allowed > limit)
            allowed = limit;
        if (desired > allowed)
            return allowed;
    } else if (desired < current) {
        int32_t limit = s_scale_down_limit(s, now_s, current);
        if (limit > current)
            limit = current;
        int32_t allowed = s->min_replicas;
        if (allowed < limit)
            allowed = limit;
        if (desired < allowed)
            return allowed;
    }
    return desired;
}

static int s_store_event(struct s_event **arr, int32_t *n, int32_t *cap, double now_s,
                         double longest_period_s, int32_t change)
{
    double cutoff = now_s - longest_period_s;
    int found_old = 0;
    int32_t old_index = 0;
    for (int32_t i = 0; i < *n; i++) {
        if ((*arr)[i].t < cutoff)
            (*arr)[i].outdated = 1;
        if ((*arr)[i].outdated) {
            found_old = 1;
            old_index = i;
        }
    }
    struct s_event ev = {now_s, change, 0};
    if (found_old) {
        (*arr)[old_index] = ev;
        return RLS_OK;
    }
    if (s_grow((void **)arr, cap, *n + 1, sizeof **arr) != RLS_OK)
        return RLS_ERR_NOMEM;
    (*arr)[(*n)++] = ev;
    return RLS_OK;
}

int rls_hpa_record_scale(struct rls_hpa_scaler *s, double now_s, int32_t prev, int32_t next)
{
    if (next > prev)
        return s_store_event(&s->up, &s->n_up, &s->cap_up, now_s, s->p.scale_up_period_s,
                             next - prev);
    if (next < prev)
        return s_store_event(&s->down, &s->n_down, &s->cap_down, now_s,
                             s->p.scale_down_period_s, prev - next);
    return RLS_OK;
}

/* recordInitialRecommendation: the first sync remembers spec.replicas. */
static int s_initial_recommendation(struct rls_hpa_scaler *s, double now_s, int32_t current)
{
    if (s->n_recs > 0)
        return RLS_OK;
    if (s_grow((void **)&s->recs, &s->cap_recs, 1, sizeof *s->recs) != RLS_OK)
        return RLS_ERR_NOMEM;
    s->recs[0].t = now_s;
    s->recs[0].n = current;
    s->n_recs = 1;
    return RLS_OK;
}

/* The bounds branches of reconcileAutoscaler: returns the forced target, or
 * -2 when current is within [min, max] (or scaling is disabled: returns current). */
static int32_t s_bounds(const struct rls_hpa_scaler *s, int32_t current)
{
    if (current == 0 && s->min_replicas != 0)
        return current; /* scaling disabled while the target has 0 replicas */
    if (current > s->max_replicas)
        return s->max_replicas;
    if (current < s->min_replicas)
        return s->min_replicas;
    return -2;
}

static int32_t s_finish(struct rls_hpa_scaler *s, double now_s, int32_t current, int32_t desired)
{
    if (desired != current && rls_hpa_record_scale(s, now_s, current, desired) != RLS_OK)
        return -1;
    return desired;
}

int32_t rls_hpa_normalize(struct rls_hpa_scaler *s, double now_s, int32_t current,
                          int32_t proposal)
{
    if (s == NULL)
        return -1;
    if (s_initial_recommendation(s, now_s, current) != RLS_OK)
        return -1;
    int32_t forced = s_bounds(s, current);
    if (forced != -2)
        return s_finish(s, now_s, current, forced);
    int32_t desired = proposal > 0 ? proposal : 0;
    int32_t stab = rls_hpa_stabilize(s, now_s, current, desired);
    if (stab < 0)
        return -1;
    int32_t out = rls_hpa_rate_limit(s, now_s, current, stab);
    return s_finish(s, now_s, current, out);
}

int32_t rls_hpa_reconcile(struct rls_hpa_scaler *s, double now_s, int32_t current,
                          const struct rls_hpa_pods *pods)
{
    if (s == NULL)
        return -1;
    if (s_initial_recommendation(s, now_s, current) != RLS_OK)
        return -1;
    int32_t forced = s_bounds(s, current);
    if (forced != -2)
        return s_finish(s, now_s, current, forced);
    int32_t proposal = rls_hpa_replicas_for_metric(current, pods, s->p.target_utilization,
                                                   s->p.tolerance);
    if (proposal < 0)
        return current; /* the calculator failed: Kubernetes does not scale */
    return rls_hpa_normalize(s, now_s, current, proposal);
}

/* ------------------------------------------------------------------ policy */

struct s_hpa {
    struct rls_hpa_params p;
    int use_spec;                     /* 1: services with a manifest run it */
    int32_t n;                        /* services */
    struct rls_hpa_scaler **scalers;  /* [n] */
    char errmsg[RLS_ERRMSG_MAX];
};

static void s_hpa_free_scalers(struct s_hpa *h)
{
    if (h->scalers != NULL)
        for (int32_t i = 0; i < h->n; i++)
            rls_hpa_scaler_destroy(&h->scalers[i]);
    free(h->scalers);
    h->scalers = NULL;
    h->n = 0;
}

static int s_hpa_reset(void *self, const struct rls_scenario *sc)
{
    struct s_hpa *h = self;
    s_hpa_free_scalers(h);
    h->errmsg[0] = '\0';
    if (sc == NULL || sc->n_services < 0) {
        snprintf(h->errmsg, sizeof h->errmsg, "hpa: reset with no scenario");
        return RLS_ERR_INVALID;
    }
    if (sc->n_services == 0)
        return RLS_OK;
    h->scalers = calloc((size_t)sc->n_services, sizeof *h->scalers);
    if (h->scalers == NULL)
        goto nomem;
    h->n = sc->n_services;
    for (int32_t i = 0; i < h->n; i++) {
        const struct rls_service_spec *sp = &sc->services[i];
        if (h->use_spec && sp->hpa.present) {
            struct rls_hpa_params mp;
            struct rls_err e = {0};
            int rc = rls_hpa_params_from_spec(&sp->hpa, &mp, &e);
            if (rc == RLS_OK)
                rc = rls_hpa_params_check(&mp, &e);
            if (rc != RLS_OK) {
                s_hpa_free_scalers(h);
                snprintf(h->errmsg, sizeof h->errmsg, "hpa: service '%s': %.300s", sp->name, e.msg);
                return rc;
            }
            h->scalers[i] = rls_hpa_scaler_new(&mp, sp->hpa.min_replicas, sp->hpa.max_replicas);
        } else {
            h->scalers[i] = rls_hpa_scaler_new(&h->p, sp->min_replicas, sp->max_replicas);
        }
        if (h->scalers[i] == NULL)
            goto nomem;
    }
    return RLS_OK;
nomem:
    s_hpa_free_scalers(h);
    snprintf(h->errmsg, sizeof h->errmsg, "hpa: out of memory");
    return RLS_ERR_NOMEM;
}

static int s_hpa_decide(void *self, const struct rls_policy_input *in, int32_t *desired,
                        uint8_t *placement)
{
    struct s_hpa *h = self;
    const struct rls_scenario *sc = in->scenario;
    (void)placement;
    if (sc->n_services != h->n) {
        snprintf(h->errmsg, sizeof h->errmsg,
                 "hpa: scenario has %d services, policy was reset for %d", (int)sc->n_services,
                 (int)h->n);
        return RLS_ERR_STATE;
    }
    double now_s = (double)in->step * sc->step_s;
    for (int32_t i = 0; i < h->n; i++) {
        const struct rls_service_spec *sp = &sc->services[i];
        const struct rls_svc_state *st = &in->services[i];
        double request_m = sp->cpu > 0.0 ? sp->cpu * 1000.0 : 1000.0;
        struct rls_hpa_pods pods;
        pods.ready = st->ready;
        pods.unready = st->starting;
        pods.pending = st->pending;
        pods.missing = 0;
        pods.request_m = request_m;
        pods.usage_m = st->utilization * request_m;
        int32_t d = rls_hpa_reconcile(h->scalers[i], now_s, st->desired, &pods);
        if (d < 0) {
            snprintf(h->errmsg, sizeof h->errmsg, "hpa: out of memory (service '%s')", sp->name);
            return RLS_ERR_NOMEM;
        }
        desired[i] = d;
    }
    return RLS_OK;
}

static const char *s_hpa_errmsg(const void *self)
{
    const struct s_hpa *h = self;
    return h->errmsg;
}

static void s_hpa_destroy(void *self)
{
    struct s_hpa *h = self;
    if (h == NULL)
        return;
    s_hpa_free_scalers(h);
    free(h);
}

static const struct rls_policy_ops s_hpa_ops = {
    .kind = "hpa",
    .needs_future = 0,
    .reset = s_hpa_reset,
    .decide = s_hpa_decide,
    .errmsg = s_hpa_errmsg,
    .destroy = s_hpa_destroy,
};

struct rls_policy *rls_hpa_new(const struct rls_hpa_params *p, const struct rls_scenario *sc,
                               struct rls_err *err)
{
    struct s_hpa *h = NULL;
    struct rls_policy *pol = NULL;
    struct rls_hpa_params def = rls_hpa_default_params();
    int use_spec = p == NULL;
    if (p == NULL)
        p = &def;
    if (sc == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "hpa: NULL scenario");
        return NULL;
    }
    if (rls_hpa_params_check(p, err) != RLS_OK)
        return NULL;
    h = calloc(1, sizeof *h);
    if (h == NULL)
        goto nomem;
    h->p = *p;
    h->use_spec = use_spec;
    int rc = s_hpa_reset(h, sc);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "%s", h->errmsg);
        s_hpa_destroy(h);
        return NULL;
    }
    pol = rls_policy_wrap(&s_hpa_ops, h, "hpa");
    if (pol == NULL)
        goto nomem; /* wrap freed h */
    return pol;
nomem:
    rls_err_set(err, RLS_ERR_NOMEM, "hpa: out of memory");
    return NULL;
}
