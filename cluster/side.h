/* side.h - what the real cluster sides (cluster/local.c: our own gateway and
 * worker processes; cluster/haproxy.c: a real HAProxy and HTTP workers) share
 * (rls__ names: internal to cluster/, not for use elsewhere). Each backend
 * keeps only what differs: how replicas are started, stopped and counted,
 * and how requests are measured. The side does the rest:
 *
 *   - the scenario copy, the cluster description sent in hello
 *     (rls_cluster_describe), the worker executable, each service's desired
 *     replicas;
 *   - the cluster session (env/cluster_session.h): hello, actions clamped and
 *     acked and applied at once (rls__side_reconcile: ops.stop_one and
 *     ops.spawn until ops.live equals desired), the lease, heartbeats;
 *   - the step: each service's measurements of the step (arrivals, served,
 *     dropped, over the SLO, busy time, latencies) made into the protocol
 *     state (rates, utilization, p50/p95/p99, one node), sent to the agent,
 *     a progress line every log_every steps;
 *   - the loop (rls__side_run): the backend's own sockets (ops.wait), the
 *     agent's messages, housekeeping (ops.housekeep), steps, heartbeats;
 *   - the counters readable from any thread, and a few process and clock
 *     helpers (also used by the HTTP worker).
 *
 *     struct rls__side_params sp = { .who = "haproxy cluster", ... };
 *     sp.ops.count = my_count;  sp.ops.spawn = my_spawn;  ...
 *     rls__side_init(&me->side, &sp, err);     // scenario, description, exe
 *     ... the backend's own sockets ...
 *     rls__side_open(&me->side, endpoint, &p->transport, err);  // the agent socket
 *     rls__side_start(&me->side);              // initial replicas, state 0
 *     rls__side_run(&me->side);                // until rls__side_stop
 *     rls__side_fini(&me->side);
 *
 * One thread runs the side; the counters and rls__side_stop may be used from
 * any. Library code: never prints; log lines go to params.log.
 */
#ifndef RLS_CLUSTER_SIDE_H
#define RLS_CLUSTER_SIDE_H

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "../env/cluster_session.h"
#include "../env/protocol.h"
#include "../env/scenario.h"
#include "../env/status.h"
#include "../env/transport.h"

/* One service, as the side keeps it. */
struct rls__side_svc {
    int32_t desired;            /* replicas in force (clamped by the session) */
    int32_t prev_desired;       /* desired at the previous step */
    double mean_ms;             /* a replica's mean service time, wall ms (the description's) */
    double cold_s;              /* a replica's start-up delay, wall s */
    double slo_ms;              /* the description's SLO, ms */
    /* the step in progress (rls__side_arrived / _served / _dropped / _killed) */
    int64_t arrivals, served, dropped, over_slo;
    int32_t killed;             /* replicas that died unasked */
    double busy_s;              /* seconds replicas spent serving */
    double *lat;                /* [nlat] latencies of the requests served, ms (owned) */
    int32_t nlat, caplat;
};

/* A service's replicas as the backend counts them when a state is taken. */
struct rls__side_count {
    int32_t ready;              /* serving */
    int32_t starting;           /* started, not serving yet */
    double ready_s;             /* serving capacity over the step, replica-seconds (x
                                   concurrency where a replica serves several at once) */
    double backlog;             /* requests waiting */
};

/* The backend's moves; ctx is passed to each. */
struct rls__side_ops {
    /* Waits up to wait_ms for the backend's own sockets and handles what
     * came. Returns RLS_OK, or a status that ends the run (with
     * rls__side_fail). Required. */
    int (*wait)(void *ctx, int wait_ms);
    /* Reaps replicas, enforces deadlines, moves replicas on; every
     * housekeep_ns. Returns RLS_OK or a status that ends the run (with
     * rls__side_fail). Required. */
    int (*housekeep)(void *ctx, int64_t now_ns);
    /* Scaling (rls__side_reconcile): service svc's replicas started and not
     * stopped (starting + ready); takes one of them out (drained or
     * stopped); starts one, returning RLS_OK or a status (no more this
     * round: no free slot, a failure it logged). Required. */
    int32_t (*live)(void *ctx, int32_t svc);
    void (*stop_one)(void *ctx, int32_t svc, int64_t now_ns);
    int (*spawn)(void *ctx, int32_t svc);
    /* Counts service svc's replicas for the state taken at now_ns (the step
     * began at step_start_ns) and starts the backend's own step accounting
     * anew. Required. */
    void (*count)(void *ctx, int32_t svc, int64_t now_ns, struct rls__side_count *out);
    /* Called before a step's state is taken, and after it was sent (NULL:
     * nothing). */
    void (*step_begin)(void *ctx);
    void (*step_end)(void *ctx);
    void *ctx;
};

struct rls__side_params {
    const char *who;            /* error and log prefix ("cluster", "haproxy cluster") */
    const char *label;          /* hello's software: "rlsched VERSION (LABEL)" */
    const char *pool;           /* the description's node pool name */
    const char *dropped_word;   /* how progress lines name the dropped ("dropped", "failed") */
    const struct rls_scenario *scenario;    /* validated; copied */
    const char *worker_exe;     /* NULL = /proc/self/exe; copied */
    double step_s, time_scale, work_scale;
    int32_t concurrency;        /* requests a replica serves at once (the description's) */
    int32_t max_workers;
    int heartbeat_ms, lease_ms;
    int64_t max_steps, log_every;
    int64_t housekeep_ns;       /* ops.housekeep this often, ns */
    rls_log_fn log;
    void *log_ctx;
    struct rls__side_ops ops;
};

struct rls__side {
    struct rls__side_params p;  /* scenario and worker_exe NULL (copied below) */
    struct rls_scenario *sc;    /* the scenario (copy) */
    struct rls_scenario *desc;  /* what hello says: real step, scaled times, one node */
    char exe[PATH_MAX];         /* the worker executable */
    struct rls_cluster_session *ss;     /* the agent socket and the agent */
    struct rls__side_svc *svc;  /* [n_services] */
    int64_t start_ns, step_start_ns;
    /* the state in force */
    struct rls_step_info info;
    struct rls_svc_state *st;   /* [n_services] */
    double *lat_q;              /* [n_services][3] p50, p95, p99, ms */
    struct rls_node_state node;
    atomic_int stop;
    _Atomic int64_t steps, missed, spawned, stopped, crashed, requests, served, dropped;
    atomic_int n_workers, n_ready;
    char errmsg[RLS_ERRMSG_MAX];
};

/* The side's counters (rls__side_stats). */
struct rls__side_stats {
    int64_t steps, states, actions, missed, refused, agents, leases, takeovers, lease_refused;
    int64_t spawned, stopped, crashed, requests, served, dropped;
    int32_t workers, ready;
};

/* Fills *s (zeroed by the caller, e.g. calloc) from p: copies the scenario,
 * makes the description, finds the worker executable, allocates the
 * services (desired = initial or min replicas). Returns RLS_OK, or a status
 * with err naming who and the cause; rls__side_fini frees what was made. */
int rls__side_init(struct rls__side *s, const struct rls__side_params *p, struct rls_err *err);

/* Binds the agent socket at endpoint with *tp (the session keeps what it
 * needs). Returns RLS_OK or the session's status with err. */
int rls__side_open(struct rls__side *s, const char *endpoint, const struct rls_transport_params *tp,
                   struct rls_err *err);

/* Starts the clock, reconciles (the initial replicas) and takes the state in
 * force before the first step (zeros, no change). */
void rls__side_start(struct rls__side *s);

/* Closes the session and frees what rls__side_init made; safe on a partly
 * made or zeroed side, and twice. */
void rls__side_fini(struct rls__side *s);

/* The loop: until rls__side_stop or max_steps steps. Returns RLS_OK when
 * stopped that way, or the status of ops.wait, ops.housekeep or the session
 * (errmsg says why). */
int rls__side_run(struct rls__side *s);

/* Brings every service's live replicas (ops.live) to svc[i].desired:
 * ops.stop_one while there are too many, ops.spawn while too few and it
 * succeeds. Called on actions, at the start, and by the backend's
 * housekeeping. */
void rls__side_reconcile(struct rls__side *s, int64_t now_ns);

/* Asks rls__side_run to return. Async-signal-safe. */
void rls__side_stop(struct rls__side *s);

/* Sets errmsg (printf-style) and returns status. */
int rls__side_fail(struct rls__side *s, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The step's measurements of service svc: a request arrived; one was served
 * latency_ms after its arrival, having kept a replica busy busy_s (< 0:
 * unknown); one was dropped (or failed); a replica died unasked. */
void rls__side_arrived(struct rls__side *s, int32_t svc);
void rls__side_served(struct rls__side *s, int32_t svc, double latency_ms, double busy_s);
void rls__side_dropped(struct rls__side *s, int32_t svc);
void rls__side_killed(struct rls__side *s, int32_t svc);

/* Seconds a replica ready since ready_ns served during the step so far. */
double rls__side_ready_s(const struct rls__side *s, int64_t ready_ns, int64_t now_ns);

/* Stores the replica counts for stats (any thread reads them). */
void rls__side_set_counts(struct rls__side *s, int32_t workers, int32_t ready);

/* The counters (zeroes for NULL); any thread. */
struct rls__side_stats rls__side_stats(const struct rls__side *s);

/* ---------------------------------------------------------------------------
 * Clocks and processes. */

/* The monotonic clock, ns. */
int64_t rls__side_now_ns(void);

/* Burns CPU until the monotonic clock reaches end_ns; returns a value
 * derived from x so the loop is not optimised away. */
uint64_t rls__side_spin(int64_t end_ns, uint64_t x);

/* fork + exec argv[0] (PATH searched when it has no '/') as a child that dies
 * with this process (PR_SET_PDEATHSIG), default SIGTERM/SIGINT/SIGPIPE, no
 * blocked signals; fds keep and keep2 (>= 0) inherited. quiet: stdin from
 * /dev/null, stdout and stderr to out_path (NULL: /dev/null); else the
 * caller's. Returns the pid, or -1 (errno). */
pid_t rls__side_spawn(char *const argv[], int keep, int keep2, int quiet, const char *out_path);

/* Waits up to ms for pid to exit (reaped); 1 when it did (or is not ours), else 0. */
int rls__side_wait_exit(pid_t pid, int ms);

/* Stops pids[0..n) (each > 0): SIGTERM to all, then waits up to grace_ms in
 * all, then SIGKILL to those left; every one reaped. */
void rls__side_stop_pids(const pid_t *pids, int32_t n, int grace_ms);

/* SIGTERM, then SIGKILL after ms; reaped either way. pid <= 0: no-op. */
void rls__side_stop_pid(pid_t pid, int ms);

#endif
