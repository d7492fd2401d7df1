/* queueing.c - closed-form M/M/m response times with a backlog delay, the
 * latency model of the step simulator (see queueing.h). */
#include "queueing.h"

#include <math.h>

#define S_RHO_MAX 0.98

int32_t rls_queueing_servers_per_replica(const struct rls_service_spec *s)
{
    double k = floor(s->capacity_rps * s->service_time_ms / 1000.0 + 0.5);
    if (!(k >= 1.0))
        return 1;
    if (k > 1e6)
        return 1000000;
    return (int32_t)k;
}

double rls_queueing_erlang_c(int32_t m, double a)
{
    if (!(a > 0.0))
        return 0.0;
    if (m <= 0 || a >= (double)m)
        return 1.0;
    /* Erlang B by the stable recurrence on its inverse, 1/B(i) = 1 + i/a *
     * 1/B(i-1) (no division in the loop), then C from B. */
    double inv_a = 1.0 / a, ib = 1.0;
    for (int32_t i = 1; i <= m; i++) {
        ib = 1.0 + (double)i * inv_a * ib;
        if ((i & 31) == 0 && ib > 1e250)
            return 0.0;   /* B ~ 0: waiting is negligible (32 more steps cannot overflow) */
    }
    double b = 1.0 / ib;
    double c = (double)m * b / ((double)m - a * (1.0 - b));
    if (c > 1.0)
        c = 1.0;
    if (c < 0.0)
        c = 0.0;
    return c;
}

void rls_queueing_dist(double lambda, int32_t m, double mu, double shift_s,
                       struct rls_queue_dist *d)
{
    d->mu = mu > 0.0 ? mu : 1e-9;
    d->shift_s = shift_s > 0.0 ? shift_s : 0.0;
    d->p_shift = d->shift_s > 0.0 ? 1.0 : 0.0;
    d->shift_span_s = 0.0;
    if (m <= 0) {
        d->p_wait = 1.0;
        d->theta = 1e-9;
        return;
    }
    double cap = (double)m * d->mu;
    double lam = lambda > 0.0 ? lambda : 0.0;
    if (lam > S_RHO_MAX * cap)
        lam = S_RHO_MAX * cap;
    d->p_wait = rls_queueing_erlang_c(m, lam / d->mu);
    d->theta = cap - lam;
}

void rls_queueing_dist_step(double lambda, int32_t m, double mu, double b0, double b1,
                            double drain_rps, double dt, struct rls_queue_dist *d)
{
    rls_queueing_dist(lambda, m, mu, 0.0, d);
    if (!(b0 > 0.0) && !(b1 > 0.0))
        return;
    if (!(drain_rps > 0.0)) {   /* nothing serves: everyone waits past the step */
        d->p_shift = 1.0;
        d->shift_s = dt;
        d->shift_span_s = 0.0;
        return;
    }
    if (b1 > 0.0) {
        double lo = b0 / drain_rps, hi = b1 / drain_rps;
        d->p_shift = 1.0;
        d->shift_s = lo < hi ? lo : hi;
        /* a span > 0 selects the delayed form even when b0 == b1 */
        d->shift_span_s = fabs(hi - lo) > 1e-7 ? fabs(hi - lo) : 1e-7;
        return;
    }
    double clear_s = drain_rps > lambda ? b0 / (drain_rps - lambda) : dt;
    d->p_shift = clear_s >= dt ? 1.0 : clear_s / dt;
    d->shift_s = 0.0;
    d->shift_span_s = b0 / drain_rps;
}

/* P(U + S > t), U uniform on [a, a + w] (a point when w == 0), S ~ Exp(mu). */
static double s_ccdf_delayed(double a, double w, double mu, double t)
{
    if (t <= a)
        return 1.0;
    if (w <= 1e-6)
        return exp(-mu * (t - a));
    if (t < a + w)
        return ((1.0 - exp(-mu * (t - a))) / mu + (a + w - t)) / w;
    return (exp(-mu * (t - a - w)) - exp(-mu * (t - a))) / (mu * w);
}

/* P(W + S > t) of the undelayed M/M/m part. */
static double s_ccdf_mmm(const struct rls_queue_dist *d, double u)
{
    if (u <= 0.0)
        return 1.0;
    double mu = d->mu, th = d->theta, c = d->p_wait;
    double e_mu = exp(-mu * u);
    if (c <= 0.0)
        return e_mu;
    double h; /* P(Exp(theta) + Exp(mu) > u) */
    if (fabs(th - mu) <= 1e-9 * mu)
        h = (1.0 + mu * u) * e_mu;
    else
        h = (th * e_mu - mu * exp(-th * u)) / (th - mu);
    return (1.0 - c) * e_mu + c * h;
}

double rls_queueing_ccdf(const struct rls_queue_dist *d, double t_s)
{
    double p;
    if (d->p_shift >= 1.0)
        p = d->shift_span_s > 0.0 ? s_ccdf_delayed(d->shift_s, d->shift_span_s, d->mu, t_s)
                                  : s_ccdf_mmm(d, t_s - d->shift_s);
    else if (d->p_shift <= 0.0)
        p = s_ccdf_mmm(d, t_s);
    else
        p = d->p_shift * s_ccdf_delayed(d->shift_s, d->shift_span_s, d->mu, t_s) +
            (1.0 - d->p_shift) * s_ccdf_mmm(d, t_s);
    if (p < 0.0)
        p = 0.0;
    if (p > 1.0)
        p = 1.0;
    return p;
}

double rls_queueing_mean(const struct rls_queue_dist *d)
{
    double service = 1.0 / d->mu;
    double mmm = d->p_wait / d->theta + service;
    if (d->p_shift >= 1.0 && !(d->shift_span_s > 0.0))
        return d->shift_s + mmm;
    double delayed = d->shift_s + 0.5 * d->shift_span_s + service;
    return d->p_shift * delayed + (1.0 - d->p_shift) * mmm;
}

/* Solves mean ccdf(t) == q by bisection; ccdf is non-increasing in t. */
static double s_solve(const struct rls_queue_dist *d, const double *w, int64_t n, double q,
                      double rel_tol)
{
    double wsum = 0.0, lo = 0.0, hi = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (!(wi > 0.0))
            continue;
        wsum += wi;
        /* past the delay, T is at most Exp + Exp of the slower rate m, whose
         * tail e^-x (1 + x) (x = m t) is below q for x >= 2 (-ln q) + 2: the
         * mixture's quantile is below the largest component's bound */
        double slow = 1.0 / fmin(d[i].mu, d[i].theta);
        double reach = d[i].shift_s + d[i].shift_span_s + slow * (2.0 * -log(q) + 2.0);
        if (reach > hi)
            hi = reach;
    }
    if (!(wsum > 0.0) || !(q > 0.0))
        return 0.0;
    if (hi > 1e9)
        hi = 1e9;
    for (int it = 0; it < 100; it++) {
        double mid = 0.5 * (lo + hi), acc = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double wi = w ? w[i] : 1.0;
            if (wi > 0.0)
                acc += wi * rls_queueing_ccdf(&d[i], mid);
        }
        if (acc / wsum > q)
            lo = mid;
        else
            hi = mid;
        if (hi - lo <= rel_tol * hi)
            break;
    }
    return 0.5 * (lo + hi);
}

double rls_queueing_quantile(const struct rls_queue_dist *d, double p)
{
    return s_solve(d, NULL, 1, 1.0 - p, 1e-7);
}

double rls_queueing_quantile_tol(const struct rls_queue_dist *d, double p, double rel_tol)
{
    return s_solve(d, NULL, 1, 1.0 - p, rel_tol > 1e-12 ? rel_tol : 1e-12);
}

double rls_queueing_mixture_quantile(const struct rls_queue_dist *d, const double *w,
                                     int64_t n, double p)
{
    return s_solve(d, w, n, 1.0 - p, 1e-7);
}

int32_t rls_queueing_demand(const struct rls_service_spec *s, double rate_rps)
{
    if (!(rate_rps > 0.0) || !(s->capacity_rps > 0.0))
        return 0;
    int32_t k = rls_queueing_servers_per_replica(s);
    double mu = s->capacity_rps / k;
    double q = 1.0 - s->slo_percentile;
    double slo = s->slo_ms / 1000.0;
    double r0 = floor(rate_rps / s->capacity_rps) + 1.0;
    if (r0 > 1e7)
        return 10000000;
    for (int32_t r = (int32_t)r0; r < 10000000; r++) {
        struct rls_queue_dist d;
        double m = (double)r * k;
        if (m > 2e9)
            return r;
        rls_queueing_dist(rate_rps, (int32_t)m, mu, 0.0, &d);
        if (rate_rps < S_RHO_MAX * m * mu && rls_queueing_ccdf(&d, slo) <= q)
            return r;
        /* the SLO is tighter than the service time allows: waiting is
         * already negligible, more replicas cannot help */
        if (rate_rps < 0.9 * m * mu && d.p_wait < 1e-4)
            return r;
    }
    return 10000000;
}
