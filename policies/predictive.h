/* predictive.h - a forecasting autoscaler: per service, Holt-Winters with
 * additive daily seasonality (Holt's linear trend until a full season has
 * been seen) forecasts the arrival rate over the next cold start + node boot,
 * and the service is provisioned ahead for the largest forecast plus headroom
 * and a multiple of the forecast's residual deviation; never below what the
 * current rate and backlog need; scale-down is gradual.
 */
#ifndef RLS_PREDICTIVE_H
#define RLS_PREDICTIVE_H

#include "../env/scenario.h"
#include "../env/status.h"
#include "policy.h"

struct rls_predictive_params {
    double alpha;            /* level smoothing, 0..1 (0.2) */
    double beta;             /* trend smoothing, 0..1 (0.02) */
    double gamma;            /* seasonal smoothing, 0..1 (0.3) */
    double season_s;         /* season length, s (86400: daily) */
    double boot_headroom_s;  /* node boot allowed for on top of the cold start, s (90) */
    double headroom;         /* relative headroom on the forecast rate (0.1) */
    double k_sigma;          /* residual standard deviations added to the rate (2) */
    double residual_rho;     /* EWMA weight of the squared one-step errors, 0..1 (0.05) */
    double down_frac;        /* remove at most this fraction of the replicas per step,
                                and at least 1 replica (0.1) */
    double drain_s;          /* the reactive floor drains the backlog within this, s (60) */
};

/* The defaults above. */
struct rls_predictive_params rls_predictive_default_params(void);

/* A predictive policy for scenario sc. p NULL = defaults. The horizon of each
 * service is L = ceil((cold_start_s + boot_headroom_s) / step_s) + 1 steps.
 * Returns an owned handle (rls_policy_destroy), or NULL with err naming the
 * bad parameter or no memory. */
struct rls_policy *rls_predictive_new(const struct rls_predictive_params *p,
                                      const struct rls_scenario *sc, struct rls_err *err);

#endif
