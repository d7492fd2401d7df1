/* predictive.c - Holt-Winters forecasting autoscaler (see predictive.h).
 *
 * Per service: until one full season of observations exists, Holt's linear
 * method (level + trend) forecasts, while the raw observations fill the
 * seasonal slots. At the end of the first season the slots become the
 * seasonal indices (observation - season mean) and additive Holt-Winters takes
 * over. Slots follow the time of day (time_s mod season_s), so a recurring
 * ramp lands on the same slot every day.
 */
#include "predictive.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../env/queueing.h"

struct rls_predictive_params rls_predictive_default_params(void)
{
    struct rls_predictive_params p;
    p.alpha = 0.2;
    p.beta = 0.02;
    p.gamma = 0.3;
    p.season_s = 86400.0;
    p.boot_headroom_s = 90.0;
    p.headroom = 0.1;
    p.k_sigma = 2.0;
    p.residual_rho = 0.05;
    p.down_frac = 0.1;
    p.drain_s = 60.0;
    return p;
}

static int s_check(const struct rls_predictive_params *p, struct rls_err *err)
{
    if (!(p->alpha > 0.0 && p->alpha <= 1.0) || !(p->beta >= 0.0 && p->beta <= 1.0) ||
        !(p->gamma >= 0.0 && p->gamma <= 1.0) || !(p->residual_rho > 0.0 && p->residual_rho <= 1.0))
        return rls_err_set(err, RLS_ERR_RANGE,
                           "predictive: alpha must be in (0, 1], beta, gamma in [0, 1], "
                           "residual_rho in (0, 1]");
    if (!(p->season_s > 0.0) || p->season_s > 86400.0 * 28)
        return rls_err_set(err, RLS_ERR_RANGE, "predictive: season_s %g must be in (0, 28 days]",
                           p->season_s);
    if (!(p->boot_headroom_s >= 0.0) || !(p->headroom >= 0.0) || !(p->k_sigma >= 0.0) ||
        !(p->drain_s > 0.0))
        return rls_err_set(err, RLS_ERR_RANGE,
                           "predictive: boot_headroom_s, headroom, k_sigma must be >= 0, drain_s > 0");
    if (!(p->down_frac >= 0.0 && p->down_frac <= 1.0))
        return rls_err_set(err, RLS_ERR_RANGE, "predictive: down_frac %g must be in [0, 1]",
                           p->down_frac);
    return RLS_OK;
}

struct s_pred_svc {
    double *season;     /* [period] seasonal index per time-of-day slot (raw values in season 1) */
    int64_t n_obs;      /* observations seen */
    double level;       /* requests/s */
    double trend;       /* requests/s per step */
    double var;         /* EWMA of squared one-step errors, (requests/s)^2 */
    int32_t horizon;    /* L, steps */
};

struct s_pred {
    struct rls_predictive_params p;
    int32_t n;                /* services */
    int32_t period;           /* seasonal slots = round(season_s / step_s); < 2: no season */
    double step_s;
    struct s_pred_svc *svc;   /* [n] */
    char errmsg[RLS_ERRMSG_MAX];
};

static void s_free_svc(struct s_pred *m)
{
    if (m->svc != NULL)
        for (int32_t i = 0; i < m->n; i++)
            free(m->svc[i].season);
    free(m->svc);
    m->svc = NULL;
    m->n = 0;
}

static int s_pred_reset(void *self, const struct rls_scenario *sc)
{
    struct s_pred *m = self;
    s_free_svc(m);
    m->errmsg[0] = '\0';
    if (sc == NULL || !(sc->step_s > 0.0)) {
        snprintf(m->errmsg, sizeof m->errmsg, "predictive: reset needs a scenario with step_s > 0");
        return RLS_ERR_INVALID;
    }
    m->step_s = sc->step_s;
    double per = floor(m->p.season_s / sc->step_s + 0.5);
    m->period = per >= 2.0 && per <= 1e7 ? (int32_t)per : 0;
    if (sc->n_services <= 0)
        return RLS_OK;
    m->svc = calloc((size_t)sc->n_services, sizeof *m->svc);
    if (m->svc == NULL)
        goto nomem;
    m->n = sc->n_services;
    for (int32_t i = 0; i < m->n; i++) {
        struct s_pred_svc *v = &m->svc[i];
        if (m->period > 0) {
            v->season = calloc((size_t)m->period, sizeof *v->season);
            if (v->season == NULL)
                goto nomem;
        }
        double cold = sc->services[i].cold_start_s > 0.0 ? sc->services[i].cold_start_s : 0.0;
        double h = ceil((cold + m->p.boot_headroom_s) / sc->step_s - 1e-9) + 1.0;
        v->horizon = h < 1.0 ? 1 : (h > 1e5 ? 100000 : (int32_t)h);
    }
    return RLS_OK;
nomem:
    s_free_svc(m);
    snprintf(m->errmsg, sizeof m->errmsg, "predictive: out of memory");
    return RLS_ERR_NOMEM;
}

/* The seasonal slot of the step starting at t_s. */
static int32_t s_slot(const struct s_pred *m, double t_s)
{
    double tod = fmod(t_s, m->p.season_s);
    if (tod < 0.0)
        tod += m->p.season_s;
    int64_t k = (int64_t)floor(tod / m->step_s + 1e-9);
    return (int32_t)(k % m->period);
}

static int s_seasonal(const struct s_pred *m, const struct s_pred_svc *v)
{
    return m->period > 0 && v->n_obs >= m->period;
}

/* The forecast rate of the step h >= 1 steps after the last observed one,
 * which ended at t_now. */
static double s_forecast(const struct s_pred *m, const struct s_pred_svc *v, double t_now, int32_t h)
{
    double f = v->level + (double)h * v->trend;
    if (s_seasonal(m, v))
        f += v->season[s_slot(m, t_now + (double)(h - 1) * m->step_s)];
    return f > 0.0 ? f : 0.0;
}

/* Folds observation y of the step that ended at t_now into the model. */
static void s_observe(struct s_pred *m, struct s_pred_svc *v, double t_now, double y)
{
    const struct rls_predictive_params *p = &m->p;
    double t_obs = t_now - m->step_s;
    if (v->n_obs > 0) {
        /* one-step error of the forecast made a step ago */
        double f = v->level + v->trend;
        if (s_seasonal(m, v))
            f += v->season[s_slot(m, t_obs)];
        double e = y - f;
        v->var = (1.0 - p->residual_rho) * v->var + p->residual_rho * e * e;
    }
    if (v->n_obs == 0) {
        v->level = y;
        v->trend = 0.0;
    } else if (!s_seasonal(m, v)) {
        double prev = v->level;
        v->level = p->alpha * y + (1.0 - p->alpha) * (v->level + v->trend);
        v->trend = p->beta * (v->level - prev) + (1.0 - p->beta) * v->trend;
    } else {
        int32_t s = s_slot(m, t_obs);
        double prev = v->level;
        v->level = p->alpha * (y - v->season[s]) + (1.0 - p->alpha) * (v->level + v->trend);
        v->trend = p->beta * (v->level - prev) + (1.0 - p->beta) * v->trend;
        v->season[s] = p->gamma * (y - v->level) + (1.0 - p->gamma) * v->season[s];
    }
    if (m->period > 0 && v->n_obs < m->period) {
        v->season[s_slot(m, t_obs)] = y; /* first season: raw values */
        if (v->n_obs + 1 == m->period) {
            /* a full season seen: seasonal indices around its mean, level = mean */
            double mean = 0.0;
            for (int32_t j = 0; j < m->period; j++)
                mean += v->season[j];
            mean /= m->period;
            for (int32_t j = 0; j < m->period; j++)
                v->season[j] -= mean;
            v->level = mean;
            v->trend = 0.0;
        }
    }
    v->n_obs++;
}

static int s_pred_decide(void *self, const struct rls_policy_input *in, int32_t *desired,
                         uint8_t *placement)
{
    struct s_pred *m = self;
    const struct rls_scenario *sc = in->scenario;
    (void)placement;
    if (sc->n_services != m->n || sc->step_s != m->step_s) {
        snprintf(m->errmsg, sizeof m->errmsg,
                 "predictive: scenario (%d services, step %g s) differs from the one reset (%d, %g s)",
                 (int)sc->n_services, sc->step_s, (int)m->n, m->step_s);
        return RLS_ERR_STATE;
    }
    for (int32_t i = 0; i < m->n; i++) {
        const struct rls_service_spec *sp = &sc->services[i];
        const struct rls_svc_state *st = &in->services[i];
        struct s_pred_svc *v = &m->svc[i];
        double y = st->arrival_rps > 0.0 ? st->arrival_rps : 0.0;
        s_observe(m, v, in->time_s, y);

        double fmax = 0.0;
        for (int32_t h = 1; h <= v->horizon; h++) {
            double f = s_forecast(m, v, in->time_s, h);
            if (f > fmax)
                fmax = f;
        }
        double sigma = sqrt(v->var > 0.0 ? v->var : 0.0);
        double rate = fmax * (1.0 + m->p.headroom) + m->p.k_sigma * sigma;
        int32_t want = rls_queueing_demand(sp, rate);
        double backlog = st->backlog > 0.0 ? st->backlog : 0.0;
        int32_t reactive = rls_queueing_demand(sp, y + backlog / m->p.drain_s);
        if (want < reactive)
            want = reactive;
        int32_t prev = st->desired;
        if (want < prev) {
            int32_t step_down = (int32_t)floor((double)prev * m->p.down_frac);
            if (step_down < 1)
                step_down = 1;
            if (want < prev - step_down)
                want = prev - step_down;
        }
        desired[i] = want;
    }
    return RLS_OK;
}

static const char *s_pred_errmsg(const void *self)
{
    const struct s_pred *m = self;
    return m->errmsg;
}

static void s_pred_destroy(void *self)
{
    struct s_pred *m = self;
    if (m == NULL)
        return;
    s_free_svc(m);
    free(m);
}

static const struct rls_policy_ops s_pred_ops = {
    .kind = "predictive",
    .needs_future = 0,
    .reset = s_pred_reset,
    .decide = s_pred_decide,
    .errmsg = s_pred_errmsg,
    .destroy = s_pred_destroy,
};

struct rls_policy *rls_predictive_new(const struct rls_predictive_params *p,
                                      const struct rls_scenario *sc, struct rls_err *err)
{
    struct s_pred *m = NULL;
    struct rls_policy *pol = NULL;
    struct rls_predictive_params def = rls_predictive_default_params();
    if (p == NULL)
        p = &def;
    if (sc == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "predictive: NULL scenario");
        return NULL;
    }
    if (s_check(p, err) != RLS_OK)
        return NULL;
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "predictive: out of memory");
        return NULL;
    }
    m->p = *p;
    int rc = s_pred_reset(m, sc);
    if (rc != RLS_OK) {
        rls_err_set(err, rc, "%s", m->errmsg);
        s_pred_destroy(m);
        return NULL;
    }
    pol = rls_policy_wrap(&s_pred_ops, m, "predictive");
    if (pol == NULL)
        rls_err_set(err, RLS_ERR_NOMEM, "predictive: out of memory");
    return pol;
}
