/* oracle.h - the two clairvoyant baselines. Both read every service's future
 * load rate (rls_policy_input.future_rate, needs_future = 1) and bin-pack.
 *
 * oracle-step (spec "oracle-step", alias "oracle"; kind "oracle"): meets the
 * SLO at every step. At each step it keeps the most replicas any step up to
 * one cold start plus one node boot ahead demands (rls_queueing_demand with a
 * Poisson margin). Its runs sit far inside the SLO budget (about 0.7%
 * violations on the default scenario), so it is a clairvoyant reference, NOT
 * a cost lower bound: a policy that spends the budget can be cheaper.
 *
 * oracle-budget (spec "oracle-budget[:B]"; kind "oracle-budget"): the
 * cheapest clairvoyant plan found whose whole run's request-weighted SLO
 * violations (over the SLO + dropped, / resolved requests: eval's
 * slo_violation_pct) stay within the budget B. Lagrangian relaxation: for a
 * price lambda (dollars per late request) each service picks at each step the
 * replicas n minimizing n * c + lambda * E[late requests | n] (c: the
 * replica's share of a node's price over a step; E[late] from the closed-form
 * queueing model, env/queueing.h, averaged over the step's Poisson arrivals),
 * holds the maximum over the same lead as oracle-step (so the plan is
 * realizable), and lambda is bisected by running the step simulator on the
 * scenario inside the constructor, so the realized violations of the
 * calibration run land just within B. The cheapest plan within the budget
 * among those tried is kept. Deterministic given the scenario and the
 * calibration seed.
 */
#ifndef RLS_ORACLE_H
#define RLS_ORACLE_H

#include <stdint.h>

#include "../env/scenario.h"
#include "../env/status.h"
#include "policy.h"

/* ------------------------------------------------------------ oracle-step */

struct rls_oracle_params {
    double margin_sigmas;   /* demand for rate + this * sqrt(rate / step_s), the
                               Poisson noise of a step's arrivals (2) */
};

/* The defaults above. */
struct rls_oracle_params rls_oracle_default_params(void);

/* The per-step oracle for scenario sc (needs_future = 1: the caller must fill
 * future_rate). Lead of service i: L = ceil(cold_start_s / step_s) +
 * ceil(max pool boot_s / step_s); desired(k) = max over j in [k, k+L] of
 * demand(rate(j) + margin). Placement BINPACK. Display name "oracle". p NULL =
 * defaults. Returns an owned handle (rls_policy_destroy), or NULL with err
 * (bad margin, no memory). */
struct rls_policy *rls_oracle_new(const struct rls_oracle_params *p,
                                  const struct rls_scenario *sc, struct rls_err *err);

/* ---------------------------------------------------------- oracle-budget */

/* rls_oracle_budget_params.seed: calibrate on the scenario's own seed. */
#define RLS_ORACLE_SCENARIO_SEED UINT64_MAX

struct rls_oracle_budget_params {
    double budget;          /* allowed fraction of requests over the SLO or dropped,
                               0..1; 0 = the scenario's strictest 1 - slo_percentile (0) */
    uint64_t seed;          /* seed of the calibration runs (RLS_ORACLE_SCENARIO_SEED: the
                               scenario's seed, which `rlsched eval` uses by default) */
    int64_t steps;          /* steps of a calibration run; 0 = the scenario's
                               horizon_steps (0) */
    int placement;          /* enum rls_placement of the plan and its calibration
                               (RLS_PLACE_BINPACK) */
    int32_t max_runs;       /* simulator runs allowed for the calibration (24) */
};

/* The defaults above. */
struct rls_oracle_budget_params rls_oracle_budget_default_params(void);

/* What the calibration found (rls_oracle_budget_info). */
struct rls_oracle_budget_info {
    double budget;          /* the budget it calibrated to, fraction 0..1 */
    double lambda;          /* the chosen price of a late request, dollars */
    double viol;            /* violation fraction of the chosen plan's calibration run */
    double cost_usd;        /* node cost of that run, dollars */
    int32_t runs;           /* simulator runs made */
    int met;                /* 1 if some plan tried met the budget; 0: the plan with
                               the fewest violations is kept */
    uint64_t seed;          /* calibration seed */
    int64_t steps;          /* calibration steps */
};

/* The budget-aware oracle for scenario sc. Runs the step simulator on a copy
 * of sc up to max_runs times (each run: `steps` steps from rls_sim_reset(seed))
 * to calibrate lambda, so it takes about max_runs oracle runs of time. p NULL
 * = defaults. Returns an owned handle (rls_policy_destroy; display name
 * "oracle-budget"), or NULL with err naming the bad parameter, the scenario
 * or trace the simulator refused, or no memory. */
struct rls_policy *rls_oracle_budget_new(const struct rls_oracle_budget_params *p,
                                         const struct rls_scenario *sc, struct rls_err *err);

/* Copies the calibration result of an oracle-budget policy into *out.
 * Returns RLS_OK, or RLS_ERR_INVALID when p is not an oracle-budget policy
 * or out is NULL. */
int rls_oracle_budget_info(const struct rls_policy *p, struct rls_oracle_budget_info *out);

#endif
