/* metrics.c - elasticity metrics, Jain's index and percentages (see
 * metrics.h and docs/METRICS.md for the definitions). */
#include "metrics.h"

#include <math.h>
#include <string.h>

#include "../env/queueing.h"

static int s_sgn(int64_t v)
{
    return (v > 0) - (v < 0);
}

void rls_elasticity_acc_init(struct rls_elasticity_acc *a)
{
    if (a)
        memset(a, 0, sizeof *a);
}

void rls_elasticity_acc_add(struct rls_elasticity_acc *a, int32_t s, int32_t d)
{
    double denom = d > 1 ? (double)d : 1.0;
    if (s < d) {
        a->sum_u += (double)(d - s) / denom;
        a->n_under++;
    } else if (s > d) {
        a->sum_o += (double)(s - d) / denom;
        a->n_over++;
    }
    if (a->n > 0) {
        int ds = s_sgn((int64_t)s - a->prev_s);
        int dd = s_sgn((int64_t)d - a->prev_d);
        if (ds != dd)   /* min(1, |sgn ds - sgn dd|) is 1 exactly when they differ */
            a->n_unstable++;
    }
    a->prev_s = s;
    a->prev_d = d;
    a->n++;
}

void rls_elasticity_acc_get(const struct rls_elasticity_acc *a, struct rls_elasticity *out)
{
    memset(out, 0, sizeof *out);
    if (!a || a->n < 1)
        return;
    double t = (double)a->n;
    out->theta_u = 100.0 * a->sum_u / t;
    out->theta_o = 100.0 * a->sum_o / t;
    out->tau_u = 100.0 * (double)a->n_under / t;
    out->tau_o = 100.0 * (double)a->n_over / t;
    out->upsilon = a->n >= 2 ? 100.0 * (double)a->n_unstable / (t - 1.0) : 0.0;
}

int rls_elasticity_compute(const int32_t *supply, const int32_t *demand, int64_t n,
                           struct rls_elasticity *out)
{
    struct rls_elasticity_acc a;
    memset(out, 0, sizeof *out);
    if (!supply || !demand || n < 1)
        return -1;
    rls_elasticity_acc_init(&a);
    for (int64_t t = 0; t < n; t++)
        rls_elasticity_acc_add(&a, supply[t], demand[t]);
    rls_elasticity_acc_get(&a, out);
    return 0;
}

double rls_metrics_jain(const double *x, const double *w, int32_t n)
{
    double sw = 0.0, swx = 0.0, swx2 = 0.0;
    if (!x || n < 1)
        return 1.0;
    for (int32_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (!(wi > 0.0))
            continue;
        sw += wi;
        swx += wi * x[i];
        swx2 += wi * x[i] * x[i];
    }
    if (!(swx2 > 0.0) || !(sw > 0.0))
        return 1.0;
    return swx * swx / (sw * swx2);
}

double rls_metrics_pct(double part, double whole)
{
    return whole > 0.0 ? 100.0 * part / whole : 0.0;
}

int32_t rls_metrics_demand(const struct rls_service_spec *s, double rate_rps)
{
    int32_t d = rls_queueing_demand(s, rate_rps);
    if (d > s->max_replicas)
        d = s->max_replicas;
    if (d < 0)
        d = 0;
    return d;
}

double rls_metrics_slo_budget_pct(const struct rls_scenario *sc)
{
    double budget = -1.0;
    for (int32_t i = 0; sc && i < sc->n_services; i++) {
        /* rounded to 1e-9 so 0.95 gives 5, not 5.000000000000004 */
        double b = round(1e9 * 100.0 * (1.0 - sc->services[i].slo_percentile)) / 1e9;
        if (budget < 0.0 || b < budget)
            budget = b;
    }
    return budget < 0.0 ? 5.0 : budget;
}
