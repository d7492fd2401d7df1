/* scenario.h - what a simulated cluster is: node pools, tenants, services and
 * the load driving each service, the control step and the reward weights.
 *
 * Scenarios are YAML (libyaml); the default one is compiled in and printed by
 * `rlsched scenario show default`. The struct is plain configuration data, as
 * a params struct is: read and write its fields freely; allocate and free it
 * with the functions below. Units are in the field comments.
 */
#ifndef RLS_SCENARIO_H
#define RLS_SCENARIO_H

#include <stdint.h>
#include <stdio.h>

#include "hpa_manifest.h"
#include "status.h"
#include "trace.h"

#define RLS_NAME_MAX 64
#define RLS_PATH_MAX 512

/* Where a service's load comes from. */
enum rls_load_kind {
    RLS_LOAD_SYNTH = 0,     /* rls_trace_synth with `synth` and `seed` */
    RLS_LOAD_TRACE = 1,     /* a trace file (canonical or any importable format) */
    RLS_LOAD_CONST = 2,     /* a constant rate: peak_rps */
};

struct rls_load_spec {
    enum rls_load_kind kind;
    char path[RLS_PATH_MAX];   /* TRACE: file; relative paths are relative to the scenario file */
    char column[RLS_NAME_MAX]; /* TRACE: column/series in the source ("" = the format's default) */
    double peak_rps;           /* scale the series so its maximum is this rate, requests/s
                                  (0 = use the values as requests/s; required for unit "shape") */
    double shift_s;            /* start this many seconds into the series (wraps), seconds (0) */
    double time_scale;         /* play the series this many times faster (1) */
    uint64_t seed;             /* SYNTH: seed of the synthetic series (service index + 1) */
    struct rls_trace_synth_params synth;  /* SYNTH: shape; base_rps is rescaled to peak_rps when set */
};

/* A pool of identical nodes. */
struct rls_node_pool {
    char name[RLS_NAME_MAX];
    int32_t count;          /* nodes in the pool (max the cluster autoscaler may run) */
    int32_t min_on;         /* nodes kept powered on even when empty (0) */
    double cpu;             /* cores per node */
    double mem_gb;          /* memory per node, GiB */
    double price_per_hour;  /* dollars per node-hour while booting or on */
    double boot_s;          /* seconds from power-on to schedulable (90) */
    double mtbf_h;          /* mean time between failures per node, hours; 0 = never fails */
    double repair_s;        /* seconds a failed node is out before it can boot again (600) */
};

struct rls_tenant {
    char name[RLS_NAME_MAX];
    double weight;          /* share weight for fairness (1) */
    int32_t guaranteed_replicas; /* replicas the tenant is always entitled to (0) */
    int32_t max_replicas;   /* cap on the tenant's replicas, 0 = none */
};

struct rls_service_spec {
    char name[RLS_NAME_MAX];
    int32_t tenant;         /* index into tenants */
    double capacity_rps;    /* requests/s one ready replica sustains at 100% busy */
    double service_time_ms; /* mean service time of one request, ms; a replica runs
                               round(capacity_rps * service_time_ms / 1000) (>= 1) requests at once */
    double cpu;             /* cores requested per replica */
    double mem_gb;          /* memory requested per replica, GiB */
    double cold_start_s;    /* seconds from placement to ready */
    int32_t min_replicas;   /* >= 0 */
    int32_t max_replicas;   /* >= min_replicas, >= 1 */
    int32_t initial_replicas; /* replicas ready at reset (min_replicas if 0) */
    double slo_ms;          /* latency objective, ms */
    double slo_percentile;  /* the objective holds for this fraction of requests (0.95) */
    int32_t queue_limit;    /* queued requests beyond which arrivals are dropped */
    struct rls_load_spec load;
    struct rls_hpa_spec hpa;  /* its autoscaling/v2 HPA manifest (`hpa:`, embedded or a
                                 path; hpa.present 0 = none: the hpa baseline's defaults) */
};

/* Reward = -(cost * cost_term + slo * slo_term + drop * drop_term + churn * churn_term),
 * each term normalized to about [0, 1] per step (see README "Reward"). */
struct rls_reward_weights {
    double cost;            /* weight of node cost / max cluster cost (1) */
    double slo;             /* weight of the fraction of requests over the SLO (4) */
    double drop;            /* weight of the fraction of requests dropped (8) */
    double churn;           /* weight of replica changes per service per step / max_replicas (0.1) */
};

struct rls_scenario {
    char name[RLS_NAME_MAX];
    char source[RLS_PATH_MAX];   /* file it was read from, "default", or "" */
    double step_s;          /* control step, seconds (15) */
    int32_t horizon_steps;  /* episode length in steps (truncated after) */
    double start_s;         /* seconds into the loads where an episode starts (0) */
    double start_jitter_s;  /* reset(seed) starts up to this much later, seconds (0) */
    int32_t poisson_noise;  /* 1: arrivals per step are Poisson around the rate (1) */
    double node_idle_s;     /* an empty node powers off after this long, seconds (60) */
    uint64_t seed;          /* default seed (1) */
    int32_t n_pools;
    struct rls_node_pool *pools;        /* [n_pools] */
    int32_t n_tenants;
    struct rls_tenant *tenants;         /* [n_tenants] */
    int32_t n_services;
    struct rls_service_spec *services;  /* [n_services] */
    struct rls_reward_weights reward;
};

/* Allocates a scenario with the given counts and every field at its default
 * (one pool of 8 nodes of 8 cores / 32 GiB at $0.40/h, tenants "t0".., services
 * "s0".. with a synthetic load). Caller owns it (rls_scenario_destroy). NULL on
 * no memory or negative counts. */
struct rls_scenario *rls_scenario_new(int32_t n_pools, int32_t n_tenants, int32_t n_services);

/* Deep copy; caller owns it. NULL on no memory. */
struct rls_scenario *rls_scenario_copy(const struct rls_scenario *sc);

/* Frees *sc and sets it to NULL; NULL is a no-op. */
void rls_scenario_destroy(struct rls_scenario **sc);

/* Parses YAML text. `name` is used in messages (a file path or "default").
 * On success stores a new scenario in *out (caller owns it) and returns RLS_OK.
 * On failure returns RLS_ERR_PARSE / RLS_ERR_RANGE / RLS_ERR_INVALID with err
 * as "NAME:LINE: field 'services[2].cold_start_s': must be >= 0" and *out NULL.
 * Unknown fields are refused (a typo must not silently become a default). */
int rls_scenario_parse(const char *yaml, size_t len, const char *name,
                       struct rls_scenario **out, struct rls_err *err);

/* Reads and parses a file; "default" gives the compiled-in scenario;
 * "random:SEED" draws one (rls_scenario_random, env/scenario_random.h) with
 * the default params and, when the environment variable RLS_TRACE_LIB is set
 * (':'-separated folders and files), real windows from those traces.
 * "NAME:load-seed=N" (NAME any of the above) perturbs NAME's loads with N
 * (rls_scenario_perturb_loads; N 0 = unchanged) and names it NAME-loadsN.
 * A file that exists under the literal name always wins. Same ownership and
 * errors as rls_scenario_parse (RLS_ERR_IO if unreadable; RLS_ERR_INVALID for
 * a malformed SEED or N). */
int rls_scenario_load(const char *path, struct rls_scenario **out, struct rls_err *err);

/* The compiled-in default scenario as YAML text (static, never NULL). */
const char *rls_scenario_default_yaml(void);

/* Checks cross-field rules (tenant indices, min <= max, positive rates, ...).
 * Returns RLS_OK or a negative status with err naming the field. */
int rls_scenario_validate(const struct rls_scenario *sc, struct rls_err *err);

/* Writes the scenario as YAML that rls_scenario_parse reads back to an equal
 * scenario. Returns RLS_OK or RLS_ERR_IO. */
int rls_scenario_write_yaml(const struct rls_scenario *sc, FILE *f);

/* The scenario as YAML text (rls_scenario_write_yaml) in a new buffer, NUL-
 * terminated; *len (may be NULL) gets its length. Caller frees it. NULL on
 * failure or no memory. */
char *rls_scenario_to_yaml(const struct rls_scenario *sc, size_t *len);

/* Total cores and memory of all pools; max node cost per hour. */
double rls_scenario_total_cpu(const struct rls_scenario *sc);
double rls_scenario_max_cost_per_hour(const struct rls_scenario *sc);

/* Total memory of all pools, GiB; total nodes of all pools. 0 for NULL. */
double rls_scenario_total_mem_gb(const struct rls_scenario *sc);
int64_t rls_scenario_total_nodes(const struct rls_scenario *sc);

/* Cores every service would need at its own peak: the sum over services of
 * ceil(load.peak_rps / capacity_rps) * cpu (services with peak_rps 0 count 0). */
double rls_scenario_peak_demand_cpu(const struct rls_scenario *sc);

/* Attaches the HorizontalPodAutoscaler documents of the manifest file `path`
 * (env/hpa_manifest.h) to the services their scaleTargetRef.name names,
 * replacing any `hpa:` they had. Returns RLS_OK, the reader's status, or
 * RLS_ERR_NOTFOUND / RLS_ERR_RANGE with err naming the file and the target
 * that names no service or bounds outside the service's min/max_replicas. */
int rls_scenario_apply_hpa_manifest(struct rls_scenario *sc, const char *path, struct rls_err *err);

/* "synth", "trace", "const" (static; "unknown" for other values). */
const char *rls_scenario_load_kind_name(enum rls_load_kind kind);

/* Index of the service/tenant named `name`, or -1. */
int rls_scenario_find_service(const struct rls_scenario *sc, const char *name);
int rls_scenario_find_tenant(const struct rls_scenario *sc, const char *name);

#endif
