/* eval.h - the evaluation runner behind `rlsched eval`: drives the step
 * simulator (env/sim.h) with a policy (policies/policy.h) for a number of
 * steps and reduces what happened to the metrics of eval/metrics.h: cost,
 * SLO violations, drops, request-weighted latency quantiles, scale actions,
 * utilization, per-tenant breakdown with Jain's fairness, and the SPEC
 * elasticity metrics. Optionally keeps every service's every step (for the
 * decisions CSV and the SVG of eval/report.h).
 *
 * It runs either on a step simulator it owns (or params.sim), or on any
 * environment (params.env, env/env.h), e.g. a live cluster through the remote
 * backend (env/remote.h): then it resets and steps that env and reads the
 * per-step state from the env's views.
 *
 * Every definition is in docs/METRICS.md.
 */
#ifndef RLS_EVAL_H
#define RLS_EVAL_H

#include <stdint.h>

#include "../env/env.h"
#include "../env/scenario.h"
#include "../env/sim.h"
#include "../env/status.h"
#include "../policies/policy.h"
#include "metrics.h"
#include "tune.h"

/* How to run one evaluation. */
struct rls_eval_params {
    const struct rls_scenario *scenario; /* what to simulate (not owned, required unless
                                            env is set; ignored when env is set) */
    uint64_t seed;          /* simulator seed: same seed, same episode (1) */
    int64_t steps;          /* control steps to run; 0 = the scenario's horizon_steps (0) */
    int record;             /* 1: keep per-step, per-service records in the result (0) */
    const char *name;       /* label of the result; NULL = rls_policy_name(policy) (NULL) */
    struct rls_sim *sim;    /* a simulator of this scenario to reuse (not owned), built
                               with a horizon >= steps; NULL = build one per run (NULL) */
    struct rls_env *env;    /* run on this environment instead of a simulator (not owned;
                               sim and scenario are then ignored, the scenario is
                               rls_env_scenario(env)): reset(seed), then steps with
                               rls_env_step_replicas. steps must not pass its horizon;
                               build it with terminate_steps = 0, as a terminated
                               episode fails the run. No future knowledge: clairvoyant
                               policies are refused. Records' node strings are "". (NULL) */
};

/* Returns the defaults above (scenario NULL: the caller must set it). */
struct rls_eval_params rls_eval_default_params(void);

/* One service at one step (recorded when params.record is 1). */
struct rls_eval_record {
    double time_s;          /* end of the step, seconds since the load's origin */
    double rate_rps;        /* the load's rate before noise, requests/s */
    double arrival_rps;     /* arrivals / step_s */
    double served_rps;      /* completions / step_s */
    double dropped_rps;     /* drops / step_s */
    double p95_ms;          /* 95th percentile of this step's response time, ms (INFINITY with no ready replica and load) */
    double frac_over_slo;   /* fraction of served requests slower than the SLO, 0..1 */
    int32_t ready;          /* ready replicas */
    int32_t starting;       /* replicas cold-starting */
    int32_t desired;        /* the policy's (clamped) target */
    int32_t demand;         /* demanded replicas (metrics.h) */
    int64_t node_off;       /* offset of this record's node string in result.node_text */
};

/* Per-tenant breakdown. */
struct rls_eval_tenant {
    char name[RLS_NAME_MAX];
    double weight;          /* the scenario's share weight */
    double requests;        /* requests resolved (served + dropped) */
    double good;            /* served within the SLO */
    double cost_usd;        /* node cost attributed by the tenant's share of requested cores, dollars */
    double cost_share;      /* cost_usd / total cost, 0..1 */
    double replica_hours;   /* (ready + starting) replica-hours */
    double slo_violation_pct; /* % of requests over the SLO or dropped */
    double dropped_pct;     /* % of requests dropped */
};

/* Per-service summary. */
struct rls_eval_service {
    char name[RLS_NAME_MAX];
    int32_t tenant;
    double slo_ms;          /* the service's latency objective, ms */
    double requests;        /* served + dropped */
    double slo_violation_pct;
    double dropped_pct;
    double p95_ms;          /* request-weighted over the run, ms */
    double p99_ms;
    double replica_hours;
    int64_t scale_actions;
    struct rls_elasticity elasticity;
};

/* What one run gives. Owned by the caller; free its arrays with
 * rls_eval_result_clear. */
struct rls_eval_result {
    char name[128];         /* policy label */
    char kind[32];          /* rls_policy_kind */
    char scenario[RLS_NAME_MAX];
    uint64_t seed;
    int64_t steps;          /* steps run */
    double step_s;
    double cost_usd;        /* node cost, dollars (node-hours priced at their pool's price) */
    double node_hours;      /* ON + BOOTING node-hours */
    double replica_hours;   /* (ready + starting) replica-hours */
    double cost_vs_oracle;  /* cost_usd / the oracle's; NAN until rls_eval_set_oracle */
    double requests;        /* served + dropped, all services */
    double slo_violation_pct; /* 100 * (over SLO + dropped) / requests */
    double dropped_pct;     /* 100 * dropped / requests */
    double p95_ms;          /* request-weighted mixture quantile over services and steps, ms */
    double p99_ms;
    int64_t scale_actions;  /* (service, step) pairs where the desired replicas changed */
    double mean_utilization; /* busy replica-seconds / ready replica-seconds, 0..1 */
    double jain_fairness;   /* weighted Jain's index of the tenants' SLO attainment */
    struct rls_elasticity elasticity;  /* mean over services */
    int32_t n_tenants;
    struct rls_eval_tenant *tenants;    /* [n_tenants] */
    int32_t n_services;
    struct rls_eval_service *services;  /* [n_services] */
    int tuned;              /* 1 when the policy is hpa-tuned: `tune` is filled */
    struct rls_tune_result tune;
    /* params.record only: */
    struct rls_eval_record *records;    /* [steps * n_services], step-major, NULL otherwise */
    char *node_text;        /* NUL-separated rls_sim_service_nodes strings */
    int64_t node_text_len;
};

/* Runs `policy` on params->scenario for params->steps steps from
 * rls_sim_reset(seed) (or on params->env from rls_env_reset(env, seed)) and
 * fills *out (overwritten without freeing: clear a
 * previous result first; the caller owns it and frees it with
 * rls_eval_result_clear, also after a failure). The policy is
 * reset first; clairvoyant policies (rls_policy_needs_future) get the load's
 * future rate (on an env they are refused with RLS_ERR_INVALID). Returns
 * RLS_OK, RLS_ERR_INVALID (bad params), RLS_ERR_RANGE (steps past the env's
 * horizon), RLS_ERR_STATE (the env terminated the episode before the last
 * step), or the status of the simulator, env or policy that failed, with err
 * naming it. */
int rls_eval_run(const struct rls_eval_params *params, struct rls_policy *policy,
                 struct rls_eval_result *out, struct rls_err *err);

/* Frees the arrays of r and zeroes it; NULL is a no-op. */
void rls_eval_result_clear(struct rls_eval_result *r);

/* Sets cost_vs_oracle of r[0..n) to cost_usd / oracle_cost_usd (1 when both
 * are 0, INFINITY when only the oracle's is 0). */
void rls_eval_set_oracle(struct rls_eval_result *r, int n, double oracle_cost_usd);

/* The node string of record i of r (rls_sim_service_nodes format), "" when
 * nothing was recorded. Never NULL. */
const char *rls_eval_record_nodes(const struct rls_eval_result *r, int64_t i);

/* Builds a policy from a spec: rls_policy_new(spec, sc), or for
 * "hpa-tuned[@spread|@binpack]" an HPA whose parameters are grid-searched on
 * `train` (tune.h; required for hpa-tuned, may be NULL otherwise). When the
 * policy was tuned and `tuned` is not NULL, *tuned receives the choice and
 * tuned->done is 1 (else 0). Returns an owned policy (rls_policy_destroy) or
 * NULL with err naming the spec. */
struct rls_policy *rls_eval_build_policy(const char *spec, const struct rls_scenario *sc,
                                         const struct rls_tune_params *train,
                                         struct rls_tune_result *tuned, struct rls_err *err);

/* Replaces the load of every service of sc with the trace at `path` (any
 * format rls_trace_load reads; column may be NULL): service i is scaled to its
 * load.peak_rps (or, when 0, max_replicas * capacity_rps * 0.6) and shifted by
 * i * duration / n_services seconds; the episode starts at 0. When
 * duration_s is not NULL it receives the trace's duration in seconds.
 * Returns RLS_OK, or the trace loader's status with err naming the file. */
int rls_eval_apply_trace(struct rls_scenario *sc, const char *path, const char *column,
                         double *duration_s, struct rls_err *err);

#endif
