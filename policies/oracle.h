/* oracle.h - the clairvoyant baseline: it reads every service's future load
 * rate (rls_policy_input.future_rate) and keeps, at each step, the most
 * replicas any step up to one cold start plus one node boot ahead demands
 * (rls_queueing_demand with a Poisson margin), bin-packed by default. The cost
 * lower bound every result is quoted against.
 */
#ifndef RLS_ORACLE_H
#define RLS_ORACLE_H

#include "../env/scenario.h"
#include "../env/status.h"
#include "policy.h"

struct rls_oracle_params {
    double margin_sigmas;   /* demand for rate + this * sqrt(rate / step_s), the
                               Poisson noise of a step's arrivals (2) */
};

/* The defaults above. */
struct rls_oracle_params rls_oracle_default_params(void);

/* An oracle for scenario sc (needs_future = 1: the caller must fill
 * future_rate). Lead of service i: L = ceil(cold_start_s / step_s) +
 * ceil(max pool boot_s / step_s); desired(k) = max over j in [k, k+L] of
 * demand(rate(j) + margin). Placement BINPACK. p NULL = defaults. Returns an
 * owned handle (rls_policy_destroy), or NULL with err (bad margin, no memory). */
struct rls_policy *rls_oracle_new(const struct rls_oracle_params *p,
                                  const struct rls_scenario *sc, struct rls_err *err);

#endif
