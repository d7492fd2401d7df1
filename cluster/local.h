/* local.h - a real cluster on this machine (`rlsched cluster local`): a
 * gateway process that speaks the wire protocol (agent/PROTOCOL.md) to one
 * agent exactly as the served simulator does (env/served.h), accepts requests
 * from `rlsched load` over ZeroMQ, queues them per service (bounded by the
 * service's queue_limit) and dispatches them to worker processes that it
 * starts and stops itself. cluster/LOCAL.md explains the measurements.
 *
 *     struct rls_cluster_params p = rls_cluster_default_params();
 *     p.scenario = sc;  p.requests_endpoint = "tcp://127.0.0.1:5556";
 *     p.time_scale = 0.01;                         // cold starts 100x shorter
 *     struct rls_cluster *c = rls_cluster_new("tcp://127.0.0.1:5555", &p, &err);
 *     rls_cluster_run(c);             // until rls_cluster_stop(c) (any thread,
 *     rls_cluster_destroy(&c);        // a signal handler) or max_steps
 *
 * Workers are the same executable started as `EXE cluster worker ...`
 * (fork + exec of worker_exe, /proc/self/exe by default); that executable
 * must call rls_cluster_worker_run for that subcommand (tools/cmd_cluster.c
 * does). A worker sleeps its start-up delay (the service's cold_start_s x
 * time_scale), connects back to the gateway, says ready, then serves one
 * request at a time: real CPU work (a busy loop) for an exponentially
 * distributed service time. It dies with the gateway (PR_SET_PDEATHSIG).
 *
 * Library code: never prints; log lines go to the caller's callback. One
 * thread owns the handle while rls_cluster_run runs; rls_cluster_stop and
 * rls_cluster_stats may be called from anywhere.
 */
#ifndef RLS_CLUSTER_LOCAL_H
#define RLS_CLUSTER_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "../env/scenario.h"
#include "../env/status.h"
#include "../env/transport.h"

/* ---------------------------------------------------------------------------
 * The request wire (rlsched load <-> gateway), one ZeroMQ frame each way; the
 * client is a DEALER, the gateway a ROUTER. Integers little-endian.
 *   info     client -> gateway  'I'                        (1 byte)
 *            gateway -> client  'I' names joined by '\n'   (services in order)
 *   request  client -> gateway  'R' u64 id, service name   (9 + 1..63 bytes)
 *   reply    gateway -> client  'A' u64 id, u8 status, u64 latency_ns (18 bytes)
 * latency_ns is the gateway's measure: arrival at the gateway to the worker's
 * answer at the gateway (0 unless status is OK). */
#define RLS_CLUSTER_MSG_INFO 'I'
#define RLS_CLUSTER_MSG_REQUEST 'R'
#define RLS_CLUSTER_MSG_REPLY 'A'
#define RLS_CLUSTER_REPLY_BYTES 18

enum rls_cluster_reply_status {
    RLS_CLUSTER_OK = 0,         /* served by a worker */
    RLS_CLUSTER_DROPPED = 1,    /* the service's queue was full (queue_limit) */
    RLS_CLUSTER_UNKNOWN = 2,    /* no service of that name */
    RLS_CLUSTER_FAILED = 3,     /* malformed request, or the gateway is stopping */
};

struct rls_cluster_reply {
    uint64_t id;                /* the request's id */
    int32_t status;             /* enum rls_cluster_reply_status */
    int64_t latency_ns;         /* gateway-measured latency, ns */
};

/* Writes a request frame for (id, service) into buf (cap bytes). Returns its
 * length, or 0 when service is empty, longer than RLS_NAME_MAX - 1 bytes or
 * does not fit. */
size_t rls_cluster_encode_request(uint8_t *buf, size_t cap, uint64_t id, const char *service);

/* Decodes a reply frame. Returns RLS_OK or RLS_ERR_PARSE (wrong length or kind). */
int rls_cluster_decode_reply(const void *buf, size_t len, struct rls_cluster_reply *out);

/* 1 when endpoint is "tcp://HOST:PORT" with HOST localhost, [::1] or an IPv4
 * address in 127.0.0.0/8, or an ipc:// path (this machine only); 0 otherwise. */
int rls_cluster_endpoint_is_loopback(const char *endpoint);

/* The cluster description a real cluster sends in hello (used by the local
 * and the HAProxy cluster): a copy of sc with step_s; each service's
 * cold_start_s x time_scale; service_time_ms = the worker's mean
 * (service_time_ms x work_scale x concurrency / c, c = round(capacity_rps x
 * service_time_ms / 1000) >= 1 the scenario replica's parallelism, so one
 * worker serving `concurrency` requests at a time sustains capacity_rps /
 * work_scale); capacity_rps = 1000 x concurrency / that mean; slo_ms x
 * work_scale; one node pool pool_name of one node with max_workers x the
 * largest replica's cpu and memory at the first pool's price. Returns an owned
 * scenario (rls_scenario_destroy) or NULL with err. */
struct rls_scenario *rls_cluster_describe(const struct rls_scenario *sc, double step_s, double time_scale,
                                         double work_scale, int32_t concurrency, int32_t max_workers,
                                         const char *pool_name, struct rls_err *err);

/* ---------------------------------------------------------------------------
 * The gateway. */

/* Receives one log line (no newline); ctx is rls_cluster_params.log_ctx. */
typedef void (*rls_cluster_log_fn)(void *ctx, const char *line);

struct rls_cluster_params {
    const struct rls_scenario *scenario;   /* services, tenants, limits (required; copied) */
    const char *requests_endpoint;  /* where `rlsched load` connects; loopback only
                                       ("tcp://127.0.0.1:5556"; required) */
    double step_s;              /* control step, wall seconds (1) */
    double time_scale;          /* wall seconds per scenario second of cold start (1) */
    double work_scale;          /* multiplies every service time (1) */
    double cpu_fraction;        /* share of a service time spent in the busy loop, the
                                   rest sleeping, 0..1 (1) */
    int32_t max_workers;        /* worker processes alive at once, all services (8) */
    int32_t max_outstanding;    /* requests sent to one worker at a time (2) */
    int grace_ms;               /* a stopped worker gets this long to drain and then to
                                   exit after SIGTERM before SIGKILL, ms (1000) */
    int heartbeat_ms;           /* heartbeat to an idle agent, ms (1000) */
    int lease_ms;               /* the agent's control lease lapses after this long without
                                   a message from it, ms (45000; agent/PROTOCOL.md) */
    int64_t max_steps;          /* run returns after this many steps, 0 = until stopped (0) */
    uint64_t seed;              /* workers' service-time seeds derive from it (1) */
    const char *worker_exe;     /* executable run as `EXE cluster worker ...`;
                                   NULL = /proc/self/exe (NULL) */
    int64_t log_every;          /* a progress line every this many steps, 0 = none (0) */
    rls_cluster_log_fn log;     /* NULL = nowhere (NULL) */
    void *log_ctx;
    struct rls_transport_params transport;  /* the agent socket, CURVE: keys required
                                               unless transport.insecure (defaults) */
};

/* Counters since rls_cluster_new; readable from any thread. */
struct rls_cluster_stats {
    int64_t steps;              /* control steps taken */
    int64_t states;             /* state messages sent */
    int64_t actions;            /* actions accepted */
    int64_t missed;             /* steps without actions for their state */
    int64_t refused;            /* agent messages refused with an error reply */
    int64_t agents;             /* hellos from agents that were answered */
    int64_t leases;             /* control leases granted */
    int64_t takeovers;          /* leases taken from a live holder */
    int64_t lease_refused;      /* hellos refused: another agent holds the lease */
    int64_t spawned;            /* worker processes started */
    int64_t stopped;            /* workers stopped on scale-down or shutdown */
    int64_t crashed;            /* workers that died without being asked */
    int64_t requests;           /* requests received (all services) */
    int64_t served;             /* requests answered by a worker */
    int64_t dropped;            /* requests dropped (queue full) */
    int32_t workers;            /* worker processes alive now */
    int32_t ready;              /* of which ready */
};

/* One worker as the gateway sees it (rls_cluster_workers). */
struct rls_cluster_worker_info {
    int32_t pid;
    int32_t service;            /* index into the scenario's services */
    int32_t state;              /* 1 starting, 2 ready, 3 draining, 4 terminating */
    int32_t outstanding;        /* requests sent to it and not answered */
    int64_t served;             /* requests it answered */
    double ewma_ms;             /* smoothed dispatch-to-answer latency, ms */
    double weight;              /* load-balancing weight: 1 / ewma_ms, normalized to sum 1
                                   over the service's ready workers (0 when not ready) */
};

struct rls_cluster;

/* The defaults above (scenario and requests_endpoint NULL: the caller sets them). */
struct rls_cluster_params rls_cluster_default_params(void);

/* Copies the scenario, binds the agent socket at endpoint (any address; port
 * "*" picks one), the request socket at p->requests_endpoint (loopback only)
 * and a loopback socket for its workers, and starts each service's initial
 * replicas (they cold-start). Returns an owned handle (rls_cluster_destroy)
 * or NULL with err naming the option, scenario field or endpoint. */
struct rls_cluster *rls_cluster_new(const char *endpoint, const struct rls_cluster_params *p,
                                    struct rls_err *err);

/* Stops every worker (SIGTERM, SIGKILL after grace_ms), reaps them, closes the
 * sockets, frees *c and sets it to NULL; NULL is a no-op. Not while
 * rls_cluster_run runs on another thread. */
void rls_cluster_destroy(struct rls_cluster **c);

/* The agent endpoint and the request endpoint as bound (port picked). Owned by c. */
const char *rls_cluster_endpoint(const struct rls_cluster *c);
const char *rls_cluster_requests_endpoint(const struct rls_cluster *c);

/* The cluster description sent in hello: the scenario with the real step,
 * scaled cold starts and service times, and one node pool "local" (owned by c). */
const struct rls_scenario *rls_cluster_description(const struct rls_cluster *c);

/* The last error message ("" if none), never NULL. */
const char *rls_cluster_errmsg(const struct rls_cluster *c);

/* Runs the gateway until rls_cluster_stop or max_steps steps. Returns RLS_OK
 * when stopped that way, RLS_ERR_IO when a socket fails (errmsg), RLS_ERR_INVALID
 * for NULL. Bad messages and crashing workers never end it. */
int rls_cluster_run(struct rls_cluster *c);

/* Asks rls_cluster_run to return (within about 20 ms). Async-signal-safe; NULL is a no-op. */
void rls_cluster_stop(struct rls_cluster *c);

/* The counters (zeroes for NULL). */
struct rls_cluster_stats rls_cluster_stats(const struct rls_cluster *c);

/* Fills out[0..cap) with the live workers; returns how many there are (may
 * exceed cap). Call from the thread that runs the cluster, or when it is not
 * running. */
int32_t rls_cluster_workers(const struct rls_cluster *c, struct rls_cluster_worker_info *out,
                            int32_t cap);

/* ---------------------------------------------------------------------------
 * The worker (`EXE cluster worker ...`, started by the gateway). */

struct rls_cluster_worker_params {
    const char *connect;        /* the gateway's worker endpoint (required) */
    uint32_t id;                /* the gateway's id for this worker */
    double cold_start_s;        /* start-up delay before saying ready, wall seconds (0) */
    double mean_ms;             /* mean service time, wall ms (exponential) (10) */
    double cpu_fraction;        /* share of each service time spent busy, 0..1 (1) */
    uint64_t seed;              /* service-time draws (1) */
    int32_t parent_pid;         /* exit at once when the parent is not this pid; 0 = no check (0) */
};

/* The defaults above (connect NULL). */
struct rls_cluster_worker_params rls_cluster_worker_default_params(void);

/* Sets PR_SET_PDEATHSIG, sleeps the start-up delay, connects, says ready and
 * serves requests until rls_cluster_worker_stop. Returns RLS_OK when stopped,
 * RLS_ERR_INVALID (bad params) or RLS_ERR_IO (socket) with err. */
int rls_cluster_worker_run(const struct rls_cluster_worker_params *p, struct rls_err *err);

/* Asks the worker of this process to finish its request and return.
 * Async-signal-safe. */
void rls_cluster_worker_stop(void);

#endif
