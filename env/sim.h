/* sim.h - the fast trace-driven cluster simulator (the step model).
 *
 * Each control step advances every service: arrivals from its load (Poisson
 * noise optional), replicas that finish their cold start, served and dropped
 * requests, backlog carried to the next step, utilization and a latency
 * distribution (env/queueing.h). Nodes power on when a replica needs room
 * (boot delay), power off when empty for node_idle_s, fail at random (seeded)
 * and come back after a repair time; a failure kills the replicas on it, which
 * the service controller recreates (pending, then cold start again).
 *
 * The simulator is deterministic given (scenario, seed, actions). Struct-of-
 * arrays inside; the state views below are read-only and valid until the next
 * rls_sim_step / rls_sim_reset / rls_sim_destroy.
 */
#ifndef RLS_SIM_H
#define RLS_SIM_H

#include <stdint.h>

#include "queueing.h"
#include "scenario.h"
#include "status.h"

/* Where a new replica goes (Kubernetes scheduler scoring). */
enum rls_placement {
    RLS_PLACE_SPREAD = 0,   /* least allocated node: survives node failures */
    RLS_PLACE_BINPACK = 1,  /* most allocated node that fits: fewer nodes on, lower cost */
    RLS_PLACE_COUNT = 2
};

/* What one service did over the last step (what a controller can observe,
 * plus the latency distribution the evaluator needs). */
struct rls_svc_state {
    double rate_rps;        /* the load's rate this step before noise (hidden truth) */
    double arrival_rps;     /* arrivals this step / step_s */
    double served_rps;      /* requests completed this step / step_s */
    double dropped_rps;     /* requests dropped (queue full) / step_s */
    double backlog;         /* requests queued at the end of the step */
    double utilization;     /* busy fraction of the ready replicas, 0..1 (1 when none ready and load > 0) */
    double frac_over_slo;   /* fraction of served requests slower than the SLO, 0..1 */
    struct rls_queue_dist dist;  /* response-time distribution of this step */
    int32_t ready;          /* replicas serving */
    int32_t starting;       /* replicas placed, cold-starting (or waiting for their node to boot) */
    int32_t pending;        /* replicas that fit on no node (unschedulable) */
    int32_t desired;        /* the target set by the last action (clamped to min/max) */
    int32_t change;         /* desired - previous desired at the last step */
    int32_t killed;         /* replicas lost to node failures this step */
};

enum rls_node_status {
    RLS_NODE_OFF = 0,       /* powered off, costs nothing, can boot */
    RLS_NODE_BOOTING = 1,   /* powering on; replicas may be placed, they start when it is on */
    RLS_NODE_ON = 2,
    RLS_NODE_FAILED = 3     /* out for repair */
};

struct rls_node_state {
    int32_t pool;           /* index into the scenario's pools */
    int32_t status;         /* enum rls_node_status */
    double timer_s;         /* BOOTING: seconds to on; FAILED: seconds to repaired; ON: seconds empty */
    double cpu_used;        /* cores requested by replicas on it */
    double mem_used;        /* GiB requested by replicas on it */
    int32_t replicas;       /* replicas placed on it (any state) */
};

/* Cluster-wide figures of the last step. */
struct rls_step_info {
    int64_t step;           /* index of the step just taken (0-based) */
    double time_s;          /* time at the end of that step, seconds since the load's origin */
    double cost_usd;        /* node cost of this step, dollars */
    double replica_seconds; /* sum over services of (ready + starting) * step_s */
    int32_t nodes_on;       /* ON + BOOTING nodes at the end of the step */
    int32_t nodes_failed;   /* nodes in repair at the end of the step */
    int32_t failures;       /* node failures during this step */
    double arrivals;        /* requests arrived this step (all services) */
    double served;          /* requests served */
    double dropped;         /* requests dropped */
    double over_slo;        /* served requests slower than their SLO */
    double churn;           /* sum over services of |change| / max_replicas */
};

struct rls_sim;

/* Creates a simulator for a copy of `sc` (loads and resamples every trace,
 * builds synthetic loads). Returns an owned handle (rls_sim_destroy), or NULL
 * with err naming the scenario field or trace file that failed. The simulator
 * must be reset before the first step. */
struct rls_sim *rls_sim_new(const struct rls_scenario *sc, struct rls_err *err);

/* Frees *sim and sets it to NULL; NULL is a no-op. */
void rls_sim_destroy(struct rls_sim **sim);

/* The last error message of this handle ("" if none). Never NULL. */
const char *rls_sim_errmsg(const struct rls_sim *sim);

/* Starts an episode: every service at its initial replicas (ready, placed by
 * spread), empty queues, nodes that host replicas on, the rest off. Same seed,
 * same episode. Returns RLS_OK, or RLS_ERR_INFEASIBLE if the initial replicas
 * do not fit (message names the service). */
int rls_sim_reset(struct rls_sim *sim, uint64_t seed);

/* Advances one control step. desired[i] is the wanted replica count of service
 * i (clamped to [min, max]; the clamp is not an error); placement[i] an enum
 * rls_placement for replicas added this step (NULL: spread for all). Returns
 * RLS_OK, RLS_ERR_STATE before reset, RLS_ERR_INVALID for a NULL desired. */
int rls_sim_step(struct rls_sim *sim, const int32_t *desired, const uint8_t *placement);

/* Read-only views, valid until the next step/reset/destroy. */
const struct rls_scenario *rls_sim_scenario(const struct rls_sim *sim);
int32_t rls_sim_n_services(const struct rls_sim *sim);
int32_t rls_sim_n_nodes(const struct rls_sim *sim);
const struct rls_svc_state *rls_sim_services(const struct rls_sim *sim);  /* [n_services] */
const struct rls_node_state *rls_sim_nodes(const struct rls_sim *sim);    /* [n_nodes] */
const struct rls_step_info *rls_sim_last(const struct rls_sim *sim);

/* Steps taken since reset; the episode's horizon (scenario.horizon_steps). */
int64_t rls_sim_steps(const struct rls_sim *sim);
int64_t rls_sim_horizon(const struct rls_sim *sim);

/* Seconds since the load's origin at the end of the current step (time of day
 * is fmod(time, 86400)). */
double rls_sim_time_s(const struct rls_sim *sim);

/* The rate series a simulator of step dt (s) plays for load l (a trace or
 * synthetic load, not a constant one) over `need` steps: the file read with its
 * column and time_scale, or the synthetic trace generated for at least
 * need + 2 steps, resampled to dt, with non-finite and negative rates set to 0.
 * On RLS_OK *out is a new trace (the caller owns it: rls_trace_destroy) with
 * the source's unit and *max its largest rate; otherwise *out is NULL and err
 * holds the reader's or generator's error, RLS_ERR_NOMEM, or RLS_ERR_INVALID
 * for a constant load. `who` heads the messages ("service 'web'"). */
int rls_sim_load_series(const struct rls_load_spec *l, double dt, int64_t need, const char *who,
                        struct rls_trace **out, double *max, struct rls_err *err);

/* The load's rate (requests/s, before noise) of service svc during episode
 * step `step` (0-based, any step, past or future). Clairvoyant: for the
 * oracle and the demand side of the metrics only. Returns 0 for a bad svc. */
double rls_sim_rate_at(const struct rls_sim *sim, int32_t svc, int64_t step);

/* Writes where service svc's replicas are, "n3:2;n5:1" (node index:count),
 * into buf (always NUL-terminated, truncated to len). Returns the length. */
int rls_sim_service_nodes(const struct rls_sim *sim, int32_t svc, char *buf, int len);

/* Bytes of memory the simulator holds (for the per-service memory benchmark). */
int64_t rls_sim_memory_bytes(const struct rls_sim *sim);

#endif
