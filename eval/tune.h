/* tune.h - "hpa-tuned": the Kubernetes HPA with its target utilization and
 * scale-down stabilization window (and scale-up pod step) grid-searched on a
 * training run, then fixed. The training run is not the evaluation run: the
 * caller passes a different seed (eval uses seed + 1000), and a training
 * scenario (rls_tune_training_scenario: synthetic loads re-seeded; with a
 * trace, the first half of the episode or a separate --tune-trace).
 *
 * Choice rule: the cheapest grid point whose SLO violations (% of requests
 * over the SLO or dropped) are within the SLO budget 100 * (1 -
 * slo_percentile); if none is, the one with the fewest violations.
 */
#ifndef RLS_TUNE_H
#define RLS_TUNE_H

#include <stdint.h>

#include "../env/scenario.h"
#include "../env/status.h"
#include "../policies/hpa.h"

/* The grid (documented in docs/METRICS.md, "hpa-tuned"). */
#define RLS_TUNE_N_TARGET 6     /* target_utilization 0.4 0.5 0.6 0.7 0.8 0.9 */
#define RLS_TUNE_N_WINDOW 5     /* scale_down_window_s 0 60 120 300 600 */
#define RLS_TUNE_N_UP_PODS 2    /* scale_up_pods 4 16 */

struct rls_tune_params {
    const struct rls_scenario *scenario; /* training scenario (not owned, required) */
    uint64_t seed;          /* training seed (the evaluation seed + 1000 in eval) */
    int64_t steps;          /* steps per training run; 0 = the scenario's horizon (0) */
    int placement;          /* enum rls_placement for the tuned HPA, -1 = policy default (-1) */
};

/* Returns the defaults above (scenario NULL, seed 1001). */
struct rls_tune_params rls_tune_default_params(void);

struct rls_tune_result {
    int done;                       /* 1 when filled by rls_tune_hpa */
    struct rls_hpa_params chosen;   /* the parameters picked */
    double cost_usd;                /* training cost of the choice, dollars */
    double slo_violation_pct;       /* training violations of the choice, % */
    double slo_budget_pct;          /* the budget it was held to, % */
    int met_slo;                    /* 1 if the choice is within the budget */
    int n_tried;                    /* grid points run */
    uint64_t seed;                  /* training seed */
    int64_t steps;                  /* training steps per grid point */
};

/* Runs the grid on p->scenario (one simulator reused for every point) and
 * fills *out. Returns RLS_OK, RLS_ERR_INVALID for bad params, or the
 * simulator's/policy's status with err naming it. */
int rls_tune_hpa(const struct rls_tune_params *p, struct rls_tune_result *out,
                 struct rls_err *err);

/* A training copy of sc: every synthetic load's seed moved by 1000 so the
 * training series differs from the evaluation series of the same shape.
 * Caller owns it (rls_scenario_destroy); NULL on no memory. */
struct rls_scenario *rls_tune_training_scenario(const struct rls_scenario *sc);

#endif
