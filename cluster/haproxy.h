/* haproxy.h - a cluster behind a real HAProxy (`rlsched cluster haproxy`):
 * the project starts HAProxy itself (its own config in a state directory,
 * loopback only: an HTTP frontend, one backend per service, the runtime API
 * on a unix socket at level admin, HAProxy's Prometheus exporter), runs each
 * replica as a real HTTP worker process (cluster/worker_http.h) registered
 * in its service's backend through the runtime API, and serves one agent
 * over the wire protocol (agent/PROTOCOL.md) through the same cluster
 * session as `rlsched cluster local` (env/cluster_session.h). cluster/HAPROXY.md
 * has the details.
 *
 *     struct rls_haproxy_params p = rls_haproxy_default_params();
 *     p.scenario = sc;  p.time_scale = 0.02;
 *     struct rls_haproxy *h = rls_haproxy_new("tcp://127.0.0.1:5555", &p, &err);
 *     ... HTTP on 127.0.0.1:rls_haproxy_http_port(h), GET /SERVICE/... ...
 *     rls_haproxy_run(h);          // until rls_haproxy_stop(h) or max_steps
 *     rls_haproxy_destroy(&h);     // workers and HAProxy stopped by pid, reaped
 *
 * Scale up: a worker process is started on a listening socket the cluster
 * made, `add server BE/wN 127.0.0.1:PORT weight 0 ... check ... disabled`,
 * `enable health`, `enable server`; it counts as ready (and gets its weight)
 * once HAProxy's own health check of GET /healthz passes (show stat: UP,
 * L7OK). Scale down: a starting worker is removed at once; a ready one is
 * set to `state drain`, and when HAProxy shows no session at it (or after
 * grace_ms: `shutdown sessions server`) it goes to maint, `del server`, and
 * the process gets SIGTERM (SIGKILL after grace_ms). A worker that dies
 * unasked is reported (`killed`), taken out of HAProxy and replaced.
 *
 * Measurements come from HAProxy's view: it logs every request (a log-format
 * of our own) to a unix datagram socket the cluster reads, so each state has
 * the requests per backend, their status and HAProxy's latency (%Ta) and
 * server time (%Tr); the backlog is `show stat` qcur.
 *
 * Library code: never prints; log lines go to the caller's callback. One
 * thread owns the handle while rls_haproxy_run runs; rls_haproxy_stop and
 * rls_haproxy_stats may be called from anywhere.
 */
#ifndef RLS_HAPROXY_H
#define RLS_HAPROXY_H

#include <stdint.h>

#include "../env/scenario.h"
#include "../env/status.h"
#include "../env/transport.h"
#include "haproxy_api.h"
#include "worker_http.h"

/* Receives one log line (no newline); ctx is rls_haproxy_params.log_ctx. */
typedef void (*rls_haproxy_log_fn)(void *ctx, const char *line);

/* Load balancing within a backend. */
enum rls_haproxy_lb {
    RLS_HAPROXY_LB_RR = 0,          /* round robin, equal weights (the comparison) */
    RLS_HAPROXY_LB_ADAPTIVE = 1,    /* weights from measured latencies (rls_haproxy_adaptive_weights) */
};

struct rls_haproxy_params {
    const struct rls_scenario *scenario;   /* services, limits (required; copied). Service
                                              names must pass rls_haproxy_name_ok and not
                                              start with "rls_" */
    const char *haproxy_bin;    /* the haproxy executable (NULL = "haproxy" on PATH) */
    const char *state_dir;      /* config, sockets, haproxy's output; NULL = a new
                                   /tmp/rlsched-haproxy.XXXXXX removed by destroy (NULL) */
    int http_port;              /* the HTTP frontend on 127.0.0.1; 0 = pick one (0) */
    int metrics_port;           /* HAProxy's Prometheus exporter on 127.0.0.1 (/metrics);
                                   0 = pick one, -1 = none (0) */
    double step_s;              /* control step, wall seconds (1) */
    double time_scale;          /* wall seconds of start-up delay per scenario second of
                                   cold start (1) */
    double work_scale;          /* multiplies every service time (1) */
    double cpu_fraction;        /* share of a service time burnt on the CPU, 0..1 (1) */
    int32_t dist;               /* service-time distribution, enum rls_dist (exp) */
    double cv;                  /* its coefficient of variation (lognormal) (1) */
    int32_t concurrency;        /* requests a worker serves at once = HAProxy maxconn per
                                   server; HAProxy queues the rest (1) */
    int32_t max_workers;        /* worker processes alive at once, all services (8) */
    int grace_ms;               /* longest drain, and SIGTERM to SIGKILL, ms (2000) */
    int queue_timeout_ms;       /* a request waiting longer in HAProxy's queue gets 503
                                   (HAProxy `timeout queue`), ms (5000) */
    int32_t lb;                 /* enum rls_haproxy_lb (adaptive) */
    int heartbeat_ms;           /* heartbeat to an idle agent, ms (1000) */
    int lease_ms;               /* the control lease lapses after this long, ms (45000) */
    int64_t max_steps;          /* run returns after this many steps, 0 = until stopped (0) */
    uint64_t seed;              /* workers' seeds derive from it (1) */
    const char *worker_exe;     /* run as `EXE cluster http-worker ...`; NULL = /proc/self/exe */
    int64_t log_every;          /* a progress line every this many steps, 0 = none (0) */
    rls_haproxy_log_fn log;     /* NULL = nowhere (NULL) */
    void *log_ctx;
    struct rls_transport_params transport;  /* the agent socket, CURVE: keys required
                                               unless transport.insecure (defaults) */
};

/* Counters since rls_haproxy_new; readable from any thread. */
struct rls_haproxy_stats {
    int64_t steps, states, actions, missed, refused, agents, leases; /* as rls_cluster_stats */
    int64_t spawned;            /* worker processes started */
    int64_t stopped;            /* workers taken out on scale-down or shutdown */
    int64_t crashed;            /* workers that died unasked */
    int64_t added, deleted;     /* `add server` / `del server` that HAProxy took */
    int64_t weight_sets;        /* `set server ... weight` sent */
    int64_t api_errors;         /* runtime API calls that failed or were refused */
    int64_t requests;           /* requests HAProxy logged for a service */
    int64_t served;             /* of which answered 200 */
    int64_t failed;             /* of which answered otherwise (503: no server, queue timeout) */
    int32_t workers;            /* worker processes alive now */
    int32_t ready;              /* of which up in HAProxy */
};

/* One worker (rls_haproxy_workers). */
struct rls_haproxy_worker_info {
    int32_t pid;
    int32_t service;            /* index into the scenario's services */
    int32_t state;              /* 1 starting, 2 ready, 3 draining, 4 terminating, 5 gone
                                   (exited, its server not yet deleted) */
    int32_t port;
    char server[16];            /* its HAProxy server name, "wN" */
    int32_t weight;             /* the HAProxy weight set (0 while starting) */
    double ewma_ms;             /* smoothed server response time (%Tr), ms */
    int64_t served;             /* requests it answered (HAProxy's log) */
};

struct rls_haproxy;

/* The defaults above (scenario NULL: the caller sets it). */
struct rls_haproxy_params rls_haproxy_default_params(void);

/* Checks p, makes the state directory, writes the HAProxy config, binds the
 * agent socket at endpoint, the HTTP and metrics ports and the log socket,
 * starts HAProxy (waits until its runtime API answers) and each service's
 * initial replicas. Returns an owned handle (rls_haproxy_destroy) or NULL
 * with err naming the option, service name, file or program (HAProxy's own
 * last line when it refuses to start). */
struct rls_haproxy *rls_haproxy_new(const char *endpoint, const struct rls_haproxy_params *p,
                                    struct rls_err *err);

/* Stops every worker and HAProxy (SIGTERM, SIGKILL after grace_ms, each by
 * its pid, all reaped), closes the sockets, removes a state directory it
 * made, frees *h and sets it to NULL; NULL is a no-op. */
void rls_haproxy_destroy(struct rls_haproxy **h);

/* Runs the loop until rls_haproxy_stop or max_steps steps. Returns RLS_OK
 * when stopped that way; RLS_ERR_EXTERNAL when HAProxy died, RLS_ERR_IO when
 * a socket failed (errmsg); RLS_ERR_INVALID for NULL. */
int rls_haproxy_run(struct rls_haproxy *h);

/* Asks rls_haproxy_run to return (within about 20 ms). Async-signal-safe; NULL is a no-op. */
void rls_haproxy_stop(struct rls_haproxy *h);

/* Where things are (owned by h; "" / 0 for NULL): the agent endpoint as
 * bound, the HTTP frontend port, the exporter port (0 when none), the
 * runtime API socket path, the state directory, HAProxy's pid. */
const char *rls_haproxy_endpoint(const struct rls_haproxy *h);
int rls_haproxy_http_port(const struct rls_haproxy *h);
int rls_haproxy_metrics_port(const struct rls_haproxy *h);
const char *rls_haproxy_admin_socket(const struct rls_haproxy *h);
const char *rls_haproxy_state_dir(const struct rls_haproxy *h);
int32_t rls_haproxy_pid(const struct rls_haproxy *h);

/* The cluster description sent in hello (owned by h). */
const struct rls_scenario *rls_haproxy_description(const struct rls_haproxy *h);

/* The last error message ("" if none), never NULL. */
const char *rls_haproxy_errmsg(const struct rls_haproxy *h);

/* The counters (zeroes for NULL). */
struct rls_haproxy_stats rls_haproxy_stats(const struct rls_haproxy *h);

/* Fills out[0..cap) with the workers; returns how many there are (may
 * exceed cap). From the thread that runs h, or while it is not running. */
int32_t rls_haproxy_workers(const struct rls_haproxy *h, struct rls_haproxy_worker_info *out, int32_t cap);

#endif
