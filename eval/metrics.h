/* metrics.h - the numbers `rlsched eval` reports, as small pure functions:
 * the SPEC Research Group elasticity metrics (Herbst et al., "Ready for Rain?
 * A View from SPEC Research on the Future of Cloud Metrics"; BUNGEE), Jain's
 * fairness index, percentages, and the demanded replicas of a step.
 *
 * Every definition is written out in docs/METRICS.md; the comments here give
 * the formula in one line each. Nothing here allocates or prints.
 */
#ifndef RLS_METRICS_H
#define RLS_METRICS_H

#include <stdint.h>

#include "../env/scenario.h"

/* Elasticity of one supply/demand series of T steps, all in percent:
 *   theta_u = 100/T     * sum_t (d_t - s_t)+ / max(d_t, 1)   under-provisioning accuracy
 *   theta_o = 100/T     * sum_t (s_t - d_t)+ / max(d_t, 1)   over-provisioning accuracy
 *   tau_u   = 100/T     * #{t : s_t < d_t}                   under-provisioning timeshare
 *   tau_o   = 100/T     * #{t : s_t > d_t}                   over-provisioning timeshare
 *   upsilon = 100/(T-1) * sum_{t>=2} min(1, |sgn(s_t - s_{t-1}) - sgn(d_t - d_{t-1})|)
 *             instability: share of step pairs where supply and demand do not move
 *             the same way (0 when T < 2). */
struct rls_elasticity {
    double theta_u;     /* %, 0 = never short of demand */
    double theta_o;     /* %, 0 = never above demand */
    double tau_u;       /* % of steps with supply < demand */
    double tau_o;       /* % of steps with supply > demand */
    double upsilon;     /* % of step pairs where supply and demand move differently */
};

/* Streaming form of the same sums (one per service), so a run need not keep
 * its series. Plain data: initialise with rls_elasticity_acc_init. */
struct rls_elasticity_acc {
    int64_t n;          /* steps added */
    double sum_u;       /* sum of (d - s)+ / max(d, 1) */
    double sum_o;       /* sum of (s - d)+ / max(d, 1) */
    int64_t n_under;    /* steps with s < d */
    int64_t n_over;     /* steps with s > d */
    int64_t n_unstable; /* step pairs where sgn(ds) != sgn(dd) */
    int32_t prev_s;     /* last supply added */
    int32_t prev_d;     /* last demand added */
};

/* Sets every sum to 0. NULL is a no-op. */
void rls_elasticity_acc_init(struct rls_elasticity_acc *a);

/* Adds one step with supply s (ready replicas) and demand d (demanded replicas). */
void rls_elasticity_acc_add(struct rls_elasticity_acc *a, int32_t s, int32_t d);

/* Writes the five metrics of what was added (all 0 when nothing was). */
void rls_elasticity_acc_get(const struct rls_elasticity_acc *a, struct rls_elasticity *out);

/* The metrics of arrays supply[n], demand[n]. Returns 0, or -1 (out zeroed)
 * for NULL arrays or n < 1. */
int rls_elasticity_compute(const int32_t *supply, const int32_t *demand, int64_t n,
                           struct rls_elasticity *out);

/* Jain's fairness index of x[n] >= 0 with weights w[n] > 0 (NULL: all 1):
 *   J = (sum_i w_i x_i)^2 / ((sum_i w_i) * (sum_i w_i x_i^2))
 * which is Jain's (sum x)^2 / (n sum x^2) for equal weights, 1 when every x_i
 * is equal, 1/n-like when one tenant gets everything. Returns 1 when n < 1 or
 * every x_i is 0 (nothing to be unfair about); entries with w_i <= 0 are skipped. */
double rls_metrics_jain(const double *x, const double *w, int32_t n);

/* 100 * part / whole, or 0 when whole <= 0. */
double rls_metrics_pct(double part, double whole);

/* The demanded replicas of a service at a load rate: rls_queueing_demand
 * (the fewest ready replicas meeting the SLO in steady state) capped at
 * max_replicas, so the metrics judge the policy, not the scenario's limits. */
int32_t rls_metrics_demand(const struct rls_service_spec *s, double rate_rps);

/* The SLO budget of a scenario in percent: 100 * (1 - slo_percentile), the
 * strictest (smallest) over its services; 5 for an empty scenario. */
double rls_metrics_slo_budget_pct(const struct rls_scenario *sc);

#endif
