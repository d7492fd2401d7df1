/* kpa.c - the Knative Pod Autoscaler (see kpa.h): per service, the arrival
 * rate averaged over the stable window and the panic window, desired pods =
 * ceil(average / per-pod target), the panic mode that only scales up, and the
 * max scale-up/down rates relative to the ready pods.
 */
#include "kpa.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rls_kpa_params rls_kpa_default_params(void)
{
    struct rls_kpa_params p;
    p.target_utilization = 0.7;
    p.stable_window_s = 60.0;
    p.panic_window_pct = 10.0;
    p.panic_threshold_pct = 200.0;
    p.max_scale_up_rate = 1000.0;
    p.max_scale_down_rate = 2.0;
    return p;
}

static int s_check(const struct rls_kpa_params *p, struct rls_err *err)
{
    if (!(p->target_utilization > 0.0) || p->target_utilization > 1.0)
        return rls_err_set(err, RLS_ERR_RANGE, "kpa: target_utilization %g must be in (0, 1]",
                           p->target_utilization);
    if (!(p->stable_window_s > 0.0) || p->stable_window_s > 3600.0)
        return rls_err_set(err, RLS_ERR_RANGE, "kpa: stable_window_s %g must be in (0, 3600]",
                           p->stable_window_s);
    if (!(p->panic_window_pct >= 1.0) || p->panic_window_pct > 100.0)
        return rls_err_set(err, RLS_ERR_RANGE, "kpa: panic_window_pct %g must be in [1, 100]",
                           p->panic_window_pct);
    if (!(p->panic_threshold_pct > 100.0) || p->panic_threshold_pct > 1000.0)
        return rls_err_set(err, RLS_ERR_RANGE,
                           "kpa: panic_threshold_pct %g must be in (100, 1000]",
                           p->panic_threshold_pct);
    if (!(p->max_scale_up_rate > 1.0) || !(p->max_scale_down_rate > 1.0))
        return rls_err_set(err, RLS_ERR_RANGE,
                           "kpa: max_scale_up_rate and max_scale_down_rate must be > 1");
    return RLS_OK;
}

/* One service's autoscaler memory. */
struct s_kpa_svc {
    double *obs;          /* [cap] ring of observed arrival rates, requests/s */
    int32_t head;         /* next slot */
    int32_t count;        /* observations held (<= cap) */
    double panic_since;   /* time panic was last (re)entered, s; < 0: not panicking */
    int32_t max_panic;    /* maxPanicPods */
};

struct s_kpa {
    struct rls_kpa_params p;
    int32_t n;               /* services */
    int32_t n_stable;        /* steps in the stable window */
    int32_t n_panic;         /* steps in the panic window */
    struct s_kpa_svc *svc;   /* [n] */
    char errmsg[RLS_ERRMSG_MAX];
};

static void s_free_svc(struct s_kpa *k)
{
    if (k->svc != NULL)
        for (int32_t i = 0; i < k->n; i++)
            free(k->svc[i].obs);
    free(k->svc);
    k->svc = NULL;
    k->n = 0;
}

static int32_t s_window_steps(double window_s, double step_s)
{
    double n = ceil(window_s / step_s - 1e-9);
    if (n < 1.0)
        n = 1.0;
    if (n > 1e6)
        n = 1e6;
    return (int32_t)n;
}

static int s_kpa_reset(void *self, const struct rls_scenario *sc)
{
    struct s_kpa *k = self;
    s_free_svc(k);
    k->errmsg[0] = '\0';
    if (sc == NULL || !(sc->step_s > 0.0)) {
        snprintf(k->errmsg, sizeof k->errmsg, "kpa: reset needs a scenario with step_s > 0");
        return RLS_ERR_INVALID;
    }
    k->n_stable = s_window_steps(k->p.stable_window_s, sc->step_s);
    k->n_panic = s_window_steps(k->p.stable_window_s * k->p.panic_window_pct / 100.0, sc->step_s);
    if (sc->n_services <= 0)
        return RLS_OK;
    k->svc = calloc((size_t)sc->n_services, sizeof *k->svc);
    if (k->svc == NULL)
        goto nomem;
    k->n = sc->n_services;
    for (int32_t i = 0; i < k->n; i++) {
        k->svc[i].obs = calloc((size_t)k->n_stable, sizeof *k->svc[i].obs);
        if (k->svc[i].obs == NULL)
            goto nomem;
        k->svc[i].panic_since = -1.0;
    }
    return RLS_OK;
nomem:
    s_free_svc(k);
    snprintf(k->errmsg, sizeof k->errmsg, "kpa: out of memory");
    return RLS_ERR_NOMEM;
}

/* Mean of the last n observations (or as many as there are). */
static double s_window_avg(const struct s_kpa_svc *v, int32_t cap, int32_t n)
{
    if (n > v->count)
        n = v->count;
    if (n <= 0)
        return 0.0;
    double sum = 0.0;
    for (int32_t j = 1; j <= n; j++)
        sum += v->obs[(v->head - j + cap) % cap];
    return sum / n;
}

/* autoscaler.Scale(): desired pods of one service. */
static int32_t s_scale(struct s_kpa *k, struct s_kpa_svc *v, double now_s, int32_t ready_pods,
                       double target)
{
    const struct rls_kpa_params *p = &k->p;
    double ready = ready_pods > 1 ? (double)ready_pods : 1.0;
    double max_up = ceil(p->max_scale_up_rate * ready);
    double max_down = floor(ready / p->max_scale_down_rate);
    double stable = s_window_avg(v, k->n_stable, k->n_stable);
    double panic = s_window_avg(v, k->n_stable, k->n_panic);
    double dspc = ceil(stable / target);
    double dppc = ceil(panic / target);
    int32_t desired_stable = (int32_t)fmin(fmax(dspc, max_down), max_up);
    int32_t desired_panic = (int32_t)fmin(fmax(dppc, max_down), max_up);
    int over = dppc / ready >= p->panic_threshold_pct / 100.0;

    if (over) {
        v->panic_since = now_s; /* enter, or extend, panic */
    } else if (v->panic_since >= 0.0 && v->panic_since + p->stable_window_s < now_s) {
        v->panic_since = -1.0; /* the surge is in the stable metric now */
        v->max_panic = 0;
    }
    int32_t desired = desired_stable;
    if (v->panic_since >= 0.0) {
        if (desired < desired_panic)
            desired = desired_panic;
        if (desired > v->max_panic)
            v->max_panic = desired; /* only increases while panicking */
        desired = v->max_panic;
    }
    return desired;
}

static int s_kpa_decide(void *self, const struct rls_policy_input *in, int32_t *desired,
                        uint8_t *placement)
{
    struct s_kpa *k = self;
    const struct rls_scenario *sc = in->scenario;
    (void)placement;
    if (sc->n_services != k->n) {
        snprintf(k->errmsg, sizeof k->errmsg,
                 "kpa: scenario has %d services, policy was reset for %d", (int)sc->n_services,
                 (int)k->n);
        return RLS_ERR_STATE;
    }
    double now_s = (double)in->step * sc->step_s;
    for (int32_t i = 0; i < k->n; i++) {
        const struct rls_service_spec *sp = &sc->services[i];
        const struct rls_svc_state *st = &in->services[i];
        struct s_kpa_svc *v = &k->svc[i];
        double obs = st->arrival_rps > 0.0 ? st->arrival_rps : 0.0;
        v->obs[v->head] = obs;
        v->head = (v->head + 1) % k->n_stable;
        if (v->count < k->n_stable)
            v->count++;
        double target = sp->capacity_rps * k->p.target_utilization;
        if (!(target > 0.0))
            target = 1e-9;
        desired[i] = s_scale(k, v, now_s, st->ready, target);
    }
    return RLS_OK;
}

static const char *s_kpa_errmsg(const void *self)
{
    const struct s_kpa *k = self;
    return k->errmsg;
}

static void s_kpa_destroy(void *self)
{
    struct s_kpa *k = self;
    if (k == NULL)
        return;
    s_free_svc(k);
    free(k);
}

static const struct rls_policy_ops s_kpa_ops = {
    .kind = "kpa",
    .needs_future = 0,
    .reset = s_kpa_reset,
    .decide = s_kpa_decide,
    .errmsg = s_kpa_errmsg,
    .destroy = s_kpa_destroy,
};

struct rls_policy *rls_kpa_new(const struct rls_kpa_params *p, const struct rls_scenario *sc,
                               struct rls_err *err)
{
    struct s_kpa *k = NULL;
    struct rls_policy *pol = NULL;
    struct rls_kpa_params def = rls_kpa_default_params();
    if (p == NULL)
        p = &def;
    if (sc == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "kpa: NULL scenario");
        return NULL;
    }
    if (s_check(p, err) != RLS_OK)
        return NULL;
    k = calloc(1, sizeof *k);
    if (k == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "kpa: out of memory");
        return NULL;
    }
    k->p = *p;
    int rc = s_kpa_reset(k, sc);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "%s", k->errmsg);
        s_kpa_destroy(k);
        return NULL;
    }
    pol = rls_policy_wrap(&s_kpa_ops, k, "kpa");
    if (pol == NULL)
        rls_err_set(err, RLS_ERR_NOMEM, "kpa: out of memory");
    return pol;
}
