/* local.c - the local process cluster (local.h): a single-threaded
 * gateway that polls three sockets (the agent's protocol socket, the request
 * socket `rlsched load` talks to, and the socket its workers connect back
 * to), starts and stops worker processes (fork + exec), measures what really
 * happens (requests in, served, dropped; workers ready), and leaves the
 * rest to the cluster side it shares with the HAProxy cluster (side.h: the
 * loop, the step's state, the session with the agent); and the worker's
 * loop itself. Library code: never prints, never exits (a forked child that
 * cannot exec calls _exit).
 */
#include "local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "../env/rng.h"
#include "side.h"

#define S_HOUSEKEEP_NS 20000000 /* reap, reconcile and check deadlines this often, ns */
#define S_BURST 256             /* messages taken from one socket before looking at the others */

/* worker states (struct rls_cluster_worker_info.state) */
enum { S_FREE = 0, S_STARTING = 1, S_READY = 2, S_DRAINING = 3, S_TERMINATING = 4 };

/* worker wire (gateway ROUTER <-> worker DEALER), little-endian:
 *   ready  'r' u32 id, u32 pid                 worker -> gateway
 *   job    'j' u64 token                       gateway -> worker
 *   done   'd' u32 id, u64 token, u64 busy_ns  worker -> gateway */
#define S_W_READY 'r'
#define S_W_JOB 'j'
#define S_W_DONE 'd'

/* ---------------------------------------------------------------------------
 * Little helpers. */

static void s_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void s_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t s_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t s_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Sleeps ns nanoseconds or until *stop becomes non-zero; returns 1 if stopped. */
static int s_sleep_ns(int64_t ns, atomic_int *stop)
{
    int64_t end = rls__side_now_ns() + ns;
    for (;;) {
        if (stop != NULL && atomic_load(stop))
            return 1;
        int64_t left = end - rls__side_now_ns();
        if (left <= 0)
            return 0;
        if (left > 50000000)
            left = 50000000;
        struct timespec ts = { 0, (long)left };
        nanosleep(&ts, NULL);
    }
}

size_t rls_cluster_encode_request(uint8_t *buf, size_t cap, uint64_t id, const char *service)
{
    size_t n = service != NULL ? strlen(service) : 0;
    if (buf == NULL || n == 0 || n > RLS_NAME_MAX - 1 || cap < 9 + n)
        return 0;
    buf[0] = RLS_CLUSTER_MSG_REQUEST;
    s_put_u64(buf + 1, id);
    memcpy(buf + 9, service, n);
    return 9 + n;
}

int rls_cluster_decode_reply(const void *buf, size_t len, struct rls_cluster_reply *out)
{
    const uint8_t *p = buf;
    if (buf == NULL || out == NULL || len != RLS_CLUSTER_REPLY_BYTES || p[0] != RLS_CLUSTER_MSG_REPLY)
        return RLS_ERR_PARSE;
    out->id = s_get_u64(p + 1);
    out->status = p[9];
    out->latency_ns = (int64_t)s_get_u64(p + 10);
    return RLS_OK;
}

int rls_cluster_endpoint_is_loopback(const char *endpoint)
{
    char host[256];
    const char *h, *colon;
    size_t n;
    struct in_addr a;

    if (endpoint == NULL)
        return 0;
    if (strncmp(endpoint, "ipc://", 6) == 0)
        return endpoint[6] != '\0';
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    h = endpoint + 6;
    colon = strrchr(h, ':');
    if (colon == NULL || colon == h || colon[1] == '\0')
        return 0;
    n = (size_t)(colon - h);
    if (n >= sizeof host)
        return 0;
    memcpy(host, h, n);
    host[n] = '\0';
    if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a) != 1)
        return 0;
    return (ntohl(a.s_addr) >> 24) == 127;
}

/* ---------------------------------------------------------------------------
 * The gateway's records. */

struct s_req {
    uint64_t client_id;         /* the client's id of the request */
    uint64_t token;             /* gateway's id while at a worker */
    int64_t arrival_ns;         /* arrival at the gateway, monotonic ns */
    int64_t dispatch_ns;        /* sent to a worker, monotonic ns */
    uint8_t peer_len;           /* routing id of the client */
    uint8_t peer[255];
};

struct s_worker {
    int state;                  /* S_FREE.. */
    int32_t service;
    pid_t pid;
    uint32_t id;                /* unique over the gateway's life */
    uint8_t rid_len;            /* routing id of its DEALER (from its ready) */
    uint8_t rid[255];
    struct s_req *out;          /* [max_outstanding] requests at the worker */
    int32_t nout;
    double ewma_ms;             /* smoothed dispatch-to-answer latency, ms */
    int64_t ready_ns;           /* when it said ready */
    int64_t deadline_ns;        /* DRAINING: SIGTERM by then; TERMINATING: SIGKILL by then */
    int64_t served;
};

/* A service's queue (its measurements and desired replicas: side.svc). */
struct s_svc {
    struct s_req *q;            /* ring [qcap] of waiting requests */
    int32_t qcap, qhead, qlen;
    double ready_s;             /* this step: seconds of workers that stopped being ready */
};

struct rls_cluster {
    struct rls_cluster_params p;
    struct rls__side side;              /* scenario, description, session, step, counters */
    void *zctx;
    void *req_sock;                     /* ROUTER for rlsched load */
    void *wrk_sock;                     /* ROUTER for workers */
    char req_ep[256], wrk_ep[256];
    struct s_svc *svc;                  /* [n_services] */
    struct s_worker *w;                 /* [max_workers] */
    uint32_t next_id;
    uint64_t next_token;
    uint8_t *buf;                       /* scratch for frames */
};

struct rls_cluster_params rls_cluster_default_params(void)
{
    struct rls_cluster_params p;
    memset(&p, 0, sizeof p);
    p.scenario = NULL;
    p.requests_endpoint = NULL;
    p.step_s = 1.0;
    p.time_scale = 1.0;
    p.work_scale = 1.0;
    p.cpu_fraction = 1.0;
    p.max_workers = 8;
    p.max_outstanding = 2;
    p.grace_ms = 1000;
    p.heartbeat_ms = 1000;
    p.lease_ms = 45000;
    p.max_steps = 0;
    p.seed = 1;
    p.worker_exe = NULL;
    p.log_every = 0;
    p.log = NULL;
    p.log_ctx = NULL;
    p.transport = rls_transport_default_params();
    return p;
}

/* ---------------------------------------------------------------------------
 * The cluster description. */

struct rls_scenario *rls_cluster_describe(const struct rls_scenario *sc, double step_s, double time_scale,
                                         double work_scale, int32_t concurrency, int32_t max_workers,
                                         const char *pool_name, struct rls_err *err)
{
    struct rls_scenario *d = NULL;
    double cpu = 0.0, mem = 0.0, price = 0.0;

    if (sc == NULL || pool_name == NULL || concurrency < 1 || max_workers < 1 || !(work_scale > 0.0)) {
        rls_err_set(err, RLS_ERR_INVALID, "cluster: describe: NULL scenario or pool, or a bad scale");
        return NULL;
    }
    d = rls_scenario_copy(sc);
    if (d == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "cluster: out of memory copying the scenario");
        return NULL;
    }
    d->step_s = step_s;
    for (int32_t i = 0; i < d->n_services; i++) {
        struct rls_service_spec *s = &d->services[i];
        /* a worker runs `concurrency` requests at a time: the scenario replica's
         * round(capacity * time) parallel slots become a c / concurrency times
         * shorter service time, so a worker sustains capacity_rps (/ work_scale) */
        double conc = floor(s->capacity_rps * s->service_time_ms / 1000.0 + 0.5);
        if (conc < 1.0)
            conc = 1.0;
        s->service_time_ms = s->service_time_ms * work_scale * (double)concurrency / conc;
        s->capacity_rps = 1000.0 * (double)concurrency / s->service_time_ms;
        s->slo_ms *= work_scale;
        s->cold_start_s *= time_scale;
        if (s->cpu > cpu)
            cpu = s->cpu;
        if (s->mem_gb > mem)
            mem = s->mem_gb;
    }
    price = d->pools[0].price_per_hour;
    memset(&d->pools[0], 0, sizeof d->pools[0]);
    snprintf(d->pools[0].name, sizeof d->pools[0].name, "%s", pool_name);
    d->pools[0].count = 1;
    d->pools[0].min_on = 1;
    d->pools[0].cpu = cpu * max_workers;        /* room for max_workers of the largest */
    d->pools[0].mem_gb = mem * max_workers > 1.0 ? mem * max_workers : 1.0;
    d->pools[0].price_per_hour = price;
    d->pools[0].boot_s = 0.0;
    d->pools[0].mtbf_h = 0.0;
    d->pools[0].repair_s = 0.0;
    d->n_pools = 1;
    if (rls_scenario_validate(d, err) != RLS_OK) {
        rls_scenario_destroy(&d);
        return NULL;
    }
    return d;
}

/* ---------------------------------------------------------------------------
 * Workers: start, stop, reap. */

static int32_t s_count(const struct rls_cluster *c, int32_t svc, int state)
{
    int32_t n = 0;
    for (int32_t k = 0; k < c->p.max_workers; k++)
        if (c->w[k].state == state && (svc < 0 || c->w[k].service == svc))
            n++;
    return n;
}

static void s_update_counts(struct rls_cluster *c)
{
    int32_t alive = 0, ready = 0;
    for (int32_t k = 0; k < c->p.max_workers; k++) {
        if (c->w[k].state != S_FREE)
            alive++;
        if (c->w[k].state == S_READY)
            ready++;
    }
    rls__side_set_counts(&c->side, alive, ready);
}

/* ops.spawn: starts a worker of service svc in a free slot; returns RLS_OK
 * or an error (logged; the next reconcile tries again). */
static int s_spawn(void *ctx, int32_t svc)
{
    struct rls_cluster *c = ctx;
    struct s_worker *w = NULL;
    char a_id[24], a_cold[40], a_mean[40], a_frac[40], a_seed[32], a_parent[24];
    char *argv[20];
    int n = 0;
    pid_t parent = getpid(), pid;

    for (int32_t k = 0; k < c->p.max_workers && w == NULL; k++)
        if (c->w[k].state == S_FREE)
            w = &c->w[k];
    if (w == NULL)
        return RLS_ERR_INFEASIBLE;
    uint32_t id = ++c->next_id;
    snprintf(a_id, sizeof a_id, "%u", id);
    snprintf(a_cold, sizeof a_cold, "%.9g", c->side.svc[svc].cold_s);
    snprintf(a_mean, sizeof a_mean, "%.9g", c->side.svc[svc].mean_ms);
    snprintf(a_frac, sizeof a_frac, "%.9g", c->p.cpu_fraction);
    snprintf(a_seed, sizeof a_seed, "%llu", (unsigned long long)(c->p.seed * 1000003ULL + id));
    snprintf(a_parent, sizeof a_parent, "%d", (int)parent);
    argv[n++] = c->side.exe;
    argv[n++] = "cluster";
    argv[n++] = "worker";
    argv[n++] = "--connect";
    argv[n++] = c->wrk_ep;
    argv[n++] = "--id";
    argv[n++] = a_id;
    argv[n++] = "--cold-start";
    argv[n++] = a_cold;
    argv[n++] = "--mean-ms";
    argv[n++] = a_mean;
    argv[n++] = "--cpu-fraction";
    argv[n++] = a_frac;
    argv[n++] = "--seed";
    argv[n++] = a_seed;
    argv[n++] = "--parent";
    argv[n++] = a_parent;
    argv[n] = NULL;

    pid = rls__side_spawn(argv, -1, -1, 0, NULL);
    if (pid < 0) {
        rls_logf(c->p.log, c->p.log_ctx, "worker of '%s': fork: %s", c->side.sc->services[svc].name, strerror(errno));
        return RLS_ERR_IO;
    }
    memset(w->rid, 0, sizeof w->rid);
    w->state = S_STARTING;
    w->service = svc;
    w->pid = pid;
    w->id = id;
    w->rid_len = 0;
    w->nout = 0;
    w->ewma_ms = c->side.svc[svc].mean_ms;
    w->ready_ns = 0;
    w->deadline_ns = 0;
    w->served = 0;
    atomic_fetch_add(&c->side.spawned, 1);
    s_update_counts(c);
    return RLS_OK;
}

static void s_push_front(struct rls_cluster *c, struct s_svc *s, const struct s_req *r);
static void s_reply(struct rls_cluster *c, const struct s_req *r, int status, int64_t latency_ns);

/* Gives a worker's unanswered requests back to the front of its queue. */
static void s_requeue(struct rls_cluster *c, struct s_worker *w)
{
    struct s_svc *s = &c->svc[w->service];
    for (int32_t i = w->nout - 1; i >= 0; i--)
        s_push_front(c, s, &w->out[i]);
    w->nout = 0;
}

static void s_terminate(struct rls_cluster *c, struct s_worker *w, int64_t now)
{
    s_requeue(c, w);
    kill(w->pid, SIGTERM);
    w->state = S_TERMINATING;
    w->deadline_ns = now + (int64_t)c->p.grace_ms * 1000000;
}

/* ops.stop_one: takes one worker of svc out of service: a starting one at
 * once, else the ready one with the fewest outstanding requests (then the
 * slowest) drains. */
static void s_stop_one(void *ctx, int32_t svc, int64_t now)
{
    struct rls_cluster *c = ctx;
    struct s_worker *best = NULL;
    for (int32_t k = 0; k < c->p.max_workers; k++) {
        struct s_worker *w = &c->w[k];
        if (w->service != svc || (w->state != S_STARTING && w->state != S_READY))
            continue;
        if (best == NULL || (best->state == S_READY && w->state == S_STARTING) ||
            (best->state == w->state &&
             (w->nout < best->nout || (w->nout == best->nout && w->ewma_ms > best->ewma_ms))))
            best = w;
    }
    if (best == NULL)
        return;
    atomic_fetch_add(&c->side.stopped, 1);
    if (best->state == S_STARTING) {
        s_terminate(c, best, now);
    } else {
        best->state = S_DRAINING;
        best->deadline_ns = now + (int64_t)c->p.grace_ms * 1000000;
    }
    s_update_counts(c);
}

/* ops.live: the starting + ready workers of svc. */
static int32_t s_live(void *ctx, int32_t svc)
{
    return s_count(ctx, svc, S_STARTING) + s_count(ctx, svc, S_READY);
}

static void s_pump(struct rls_cluster *c, int32_t svc);

/* Reaps exited workers and enforces the drain and kill deadlines. */
static void s_housekeep(struct rls_cluster *c, int64_t now)
{
    int status;
    pid_t pid;

    /* each worker by its pid: a library must not reap children it did not start */
    {
        for (int32_t k = 0; k < c->p.max_workers; k++) {
            struct s_worker *w = &c->w[k];
            if (w->state == S_FREE || w->pid <= 0)
                continue;
            pid = waitpid(w->pid, &status, WNOHANG);
            if (pid != w->pid)
                continue;
            if (w->state != S_TERMINATING) {
                rls__side_killed(&c->side, w->service);
                rls_logf(c->p.log, c->p.log_ctx, "worker %d of '%s' died (%s %d) without being asked", (int)pid,
                      c->side.sc->services[w->service].name, WIFSIGNALED(status) ? "signal" : "status",
                      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
                if (w->state == S_READY || w->state == S_DRAINING)
                    c->svc[w->service].ready_s += rls__side_ready_s(&c->side, w->ready_ns, now);
            }
            int32_t svc = w->service;
            s_requeue(c, w);
            w->state = S_FREE;
            w->pid = 0;
            s_pump(c, svc);
        }
    }
    for (int32_t k = 0; k < c->p.max_workers; k++) {
        struct s_worker *w = &c->w[k];
        if (w->state == S_DRAINING && (w->nout == 0 || now >= w->deadline_ns)) {
            c->svc[w->service].ready_s += rls__side_ready_s(&c->side, w->ready_ns, now);
            s_terminate(c, w, now);
            s_pump(c, w->service);
        } else if (w->state == S_TERMINATING && now >= w->deadline_ns) {
            kill(w->pid, SIGKILL);
            w->deadline_ns = now + (int64_t)3600 * 1000000000;   /* reaped when it is gone */
        }
    }
    rls__side_reconcile(&c->side, now);
    s_update_counts(c);
}

/* ---------------------------------------------------------------------------
 * Requests. */

static void s_reply(struct rls_cluster *c, const struct s_req *r, int status, int64_t latency_ns)
{
    uint8_t m[RLS_CLUSTER_REPLY_BYTES];
    m[0] = RLS_CLUSTER_MSG_REPLY;
    s_put_u64(m + 1, r->client_id);
    m[9] = (uint8_t)status;
    s_put_u64(m + 10, (uint64_t)(latency_ns > 0 ? latency_ns : 0));
    /* a client that went away or does not read loses its replies, nothing more */
    if (zmq_send(c->req_sock, r->peer, r->peer_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) == (int)r->peer_len)
        zmq_send(c->req_sock, m, sizeof m, ZMQ_DONTWAIT);
}

static void s_push_back(struct s_svc *s, const struct s_req *r)
{
    s->q[(s->qhead + s->qlen) % s->qcap] = *r;
    s->qlen++;
}

static void s_push_front(struct rls_cluster *c, struct s_svc *s, const struct s_req *r)
{
    if (s->qlen >= s->qcap) {       /* no room: the newest, at the back, goes */
        struct s_req *last = &s->q[(s->qhead + s->qlen - 1) % s->qcap];
        s_reply(c, last, RLS_CLUSTER_DROPPED, 0);
        rls__side_dropped(&c->side, (int32_t)(s - c->svc));
        s->qlen--;
    }
    if (s->qcap == 0) {
        s_reply(c, r, RLS_CLUSTER_DROPPED, 0);
        rls__side_dropped(&c->side, (int32_t)(s - c->svc));
        return;
    }
    s->qhead = (s->qhead + s->qcap - 1) % s->qcap;
    s->q[s->qhead] = *r;
    s->qlen++;
}

/* The ready worker of svc with room that has the lowest expected wait
 * (outstanding + 1) x ewma latency: the adaptive load-balancing weight. */
static struct s_worker *s_pick(struct rls_cluster *c, int32_t svc)
{
    struct s_worker *best = NULL;
    double best_cost = 0.0;
    for (int32_t k = 0; k < c->p.max_workers; k++) {
        struct s_worker *w = &c->w[k];
        if (w->state != S_READY || w->service != svc || w->nout >= c->p.max_outstanding)
            continue;
        double cost = (double)(w->nout + 1) * w->ewma_ms;
        if (best == NULL || cost < best_cost) {
            best = w;
            best_cost = cost;
        }
    }
    return best;
}

/* Sends r to worker w; returns RLS_OK or RLS_ERR_IO (worker unreachable). */
static int s_dispatch(struct rls_cluster *c, struct s_worker *w, const struct s_req *r)
{
    uint8_t m[9];
    struct s_req *slot = &w->out[w->nout];

    *slot = *r;
    slot->token = ++c->next_token;
    slot->dispatch_ns = rls__side_now_ns();
    m[0] = S_W_JOB;
    s_put_u64(m + 1, slot->token);
    if (zmq_send(c->wrk_sock, w->rid, w->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) != (int)w->rid_len ||
        zmq_send(c->wrk_sock, m, sizeof m, ZMQ_DONTWAIT) != (int)sizeof m)
        return RLS_ERR_IO;
    w->nout++;
    return RLS_OK;
}

/* Moves waiting requests of svc to workers with room. */
static void s_pump(struct rls_cluster *c, int32_t svc)
{
    struct s_svc *s = &c->svc[svc];
    while (s->qlen > 0) {
        struct s_worker *w = s_pick(c, svc);
        if (w == NULL)
            return;
        if (s_dispatch(c, w, &s->q[s->qhead]) != RLS_OK) {
            /* its socket is gone (dying): no more work for it; the reaper requeues */
            rls_logf(c->p.log, c->p.log_ctx, "worker %d of '%s' unreachable: %s", (int)w->pid, c->side.sc->services[svc].name,
                  zmq_strerror(zmq_errno()));
            w->state = S_DRAINING;
            w->deadline_ns = rls__side_now_ns();
            continue;
        }
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
    }
}

static void s_on_request(struct rls_cluster *c, const uint8_t *peer, size_t peer_len, const uint8_t *m,
                         size_t len)
{
    struct s_req r;
    char name[RLS_NAME_MAX];
    int32_t svc;

    if (peer_len == 0 || peer_len > sizeof r.peer)
        return;
    memset(&r, 0, sizeof r);
    r.peer_len = (uint8_t)peer_len;
    memcpy(r.peer, peer, peer_len);
    if (len == 1 && m[0] == RLS_CLUSTER_MSG_INFO) {
        size_t n = 1;
        c->buf[0] = RLS_CLUSTER_MSG_INFO;
        for (int32_t i = 0; i < c->side.sc->n_services; i++) {
            size_t k = strlen(c->side.sc->services[i].name);
            if (i > 0)
                c->buf[n++] = '\n';
            memcpy(c->buf + n, c->side.sc->services[i].name, k);
            n += k;
        }
        if (zmq_send(c->req_sock, peer, peer_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) == (int)peer_len)
            zmq_send(c->req_sock, c->buf, n, ZMQ_DONTWAIT);
        return;
    }
    if (len < 10 || len > 9 + RLS_NAME_MAX - 1 || m[0] != RLS_CLUSTER_MSG_REQUEST) {
        if (len >= 9 && m[0] == RLS_CLUSTER_MSG_REQUEST) {
            r.client_id = s_get_u64(m + 1);
            s_reply(c, &r, RLS_CLUSTER_FAILED, 0);
        }
        return;
    }
    r.client_id = s_get_u64(m + 1);
    memcpy(name, m + 9, len - 9);
    name[len - 9] = '\0';
    svc = rls_scenario_find_service(c->side.sc, name);
    if (svc < 0) {
        s_reply(c, &r, RLS_CLUSTER_UNKNOWN, 0);
        return;
    }
    struct s_svc *s = &c->svc[svc];
    r.arrival_ns = rls__side_now_ns();
    rls__side_arrived(&c->side, svc);
    if (s->qlen == 0) {
        struct s_worker *w = s_pick(c, svc);
        if (w != NULL && s_dispatch(c, w, &r) == RLS_OK)
            return;
    }
    if (s->qlen >= s->qcap) {
        rls__side_dropped(&c->side, svc);
        s_reply(c, &r, RLS_CLUSTER_DROPPED, 0);
        return;
    }
    s_push_back(s, &r);
}

static void s_on_worker(struct rls_cluster *c, const uint8_t *rid, size_t rid_len, const uint8_t *m, size_t len)
{
    struct s_worker *w = NULL;
    uint32_t id;

    if (len < 5 || rid_len == 0 || rid_len > 255)
        return;
    id = s_get_u32(m + 1);
    for (int32_t k = 0; k < c->p.max_workers && w == NULL; k++)
        if (c->w[k].state != S_FREE && c->w[k].id == id)
            w = &c->w[k];
    if (w == NULL)
        return;     /* a worker the gateway no longer knows (stopped, or another gateway's) */
    if (m[0] == S_W_READY && len == 9) {
        if (w->state != S_STARTING)
            return;
        w->rid_len = (uint8_t)rid_len;
        memcpy(w->rid, rid, rid_len);
        w->state = S_READY;
        w->ready_ns = rls__side_now_ns();
        s_update_counts(c);
        s_pump(c, w->service);
        return;
    }
    if (m[0] == S_W_DONE && len == 21) {
        uint64_t token = s_get_u64(m + 5);
        int64_t busy_ns = (int64_t)s_get_u64(m + 13);
        int64_t now = rls__side_now_ns();
        for (int32_t i = 0; i < w->nout; i++) {
            struct s_req *r = &w->out[i];
            if (r->token != token)
                continue;
            double lat_ms = (double)(now - r->arrival_ns) / 1e6;
            double work_ms = (double)(now - r->dispatch_ns) / 1e6;
            s_reply(c, r, RLS_CLUSTER_OK, now - r->arrival_ns);
            rls__side_served(&c->side, w->service, lat_ms, busy_ns > 0 ? (double)busy_ns / 1e9 : 0.0);
            w->ewma_ms = 0.8 * w->ewma_ms + 0.2 * work_ms;
            w->served++;
            w->out[i] = w->out[w->nout - 1];
            w->nout--;
            break;
        }
        s_pump(c, w->service);
    }
}

/* Reads up to S_BURST two-frame messages from a ROUTER socket. Returns the
 * count, or -1 when the socket failed. */
static int s_drain(struct rls_cluster *c, void *sock, int workers)
{
    uint8_t id[256];
    int n = 0;

    for (; n < S_BURST; n++) {
        int k = zmq_recv(sock, id, sizeof id, ZMQ_DONTWAIT);
        if (k < 0)
            return zmq_errno() == EAGAIN || zmq_errno() == EINTR ? n : -1;
        int more = 0;
        size_t ml = sizeof more;
        zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml);
        if (!more)
            continue;
        int len = zmq_recv(sock, c->buf, RLS_NAME_MAX + 64, 0);
        int extra = 0;
        zmq_getsockopt(sock, ZMQ_RCVMORE, &extra, &ml);
        while (extra) {     /* more frames than the wire has: drop them all */
            zmq_recv(sock, NULL, 0, 0);
            zmq_getsockopt(sock, ZMQ_RCVMORE, &extra, &ml);
            len = -1;
        }
        if (len < 0 || len > RLS_NAME_MAX + 64 || k > 255)
            continue;
        if (workers)
            s_on_worker(c, id, (size_t)k, c->buf, (size_t)len);
        else
            s_on_request(c, id, (size_t)k, c->buf, (size_t)len);
    }
    return n;
}

/* ---------------------------------------------------------------------------
 * The backend's moves (side.h ops). */

/* ops.count: a service's workers, its waiting requests and ready time. */
static void s_side_count(void *ctx, int32_t svc, int64_t now, struct rls__side_count *out)
{
    struct rls_cluster *c = ctx;
    struct s_svc *s = &c->svc[svc];
    int32_t waiting = s->qlen;

    for (int32_t k = 0; k < c->p.max_workers; k++) {
        struct s_worker *w = &c->w[k];
        if (w->state == S_FREE || w->service != svc)
            continue;
        if (w->state == S_READY || w->state == S_DRAINING)
            s->ready_s += rls__side_ready_s(&c->side, w->ready_ns, now);
        if (w->nout > 1)
            waiting += w->nout - 1;
    }
    out->ready = s_count(c, svc, S_READY);
    out->starting = s_count(c, svc, S_STARTING);
    out->ready_s = s->ready_s;
    out->backlog = waiting;
    s->ready_s = 0.0;
}

static int s_side_housekeep(void *ctx, int64_t now)
{
    s_housekeep(ctx, now);
    return RLS_OK;
}

/* ops.wait: the request and worker sockets, workers first (answers free
 * room for waiting requests). */
static int s_side_wait(void *ctx, int wait_ms)
{
    struct rls_cluster *c = ctx;
    zmq_pollitem_t items[2] = { { c->req_sock, 0, ZMQ_POLLIN, 0 }, { c->wrk_sock, 0, ZMQ_POLLIN, 0 } };

    if (zmq_poll(items, 2, wait_ms) < 0 && zmq_errno() != EINTR)
        return rls__side_fail(&c->side, RLS_ERR_IO, "cluster: poll: %s", zmq_strerror(zmq_errno()));
    if (s_drain(c, c->wrk_sock, 1) < 0 || s_drain(c, c->req_sock, 0) < 0)
        return rls__side_fail(&c->side, RLS_ERR_IO, "cluster: receive: %s", zmq_strerror(zmq_errno()));
    return RLS_OK;
}

/* ---------------------------------------------------------------------------
 * Life cycle. */

static void *s_router(struct rls_cluster *c, const char *endpoint, char *bound, size_t cap, struct rls_err *err)
{
    void *s = zmq_socket(c->zctx, ZMQ_ROUTER);
    int zero = 0, hwm = 100000;
    int64_t maxmsg = 4096;
    size_t len = cap;

    if (s == NULL) {
        rls_err_set(err, RLS_ERR_IO, "cluster: socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_bind(s, endpoint) != 0) {
        rls_err_set(err, RLS_ERR_IO, "cluster: bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        snprintf(bound, cap, "%s", endpoint);
    return s;
}

/* The side's params from the gateway's. */
static struct rls__side_params s_side_params(struct rls_cluster *c, const struct rls_cluster_params *p)
{
    struct rls__side_params sp;

    memset(&sp, 0, sizeof sp);
    sp.who = "cluster";
    sp.label = "cluster local";
    sp.pool = "local";
    sp.dropped_word = "dropped";
    sp.scenario = p->scenario;
    sp.worker_exe = p->worker_exe;
    sp.step_s = p->step_s;
    sp.time_scale = p->time_scale;
    sp.work_scale = p->work_scale;
    sp.concurrency = 1;
    sp.max_workers = p->max_workers;
    sp.heartbeat_ms = p->heartbeat_ms;
    sp.lease_ms = p->lease_ms;
    sp.max_steps = p->max_steps;
    sp.log_every = p->log_every;
    sp.housekeep_ns = S_HOUSEKEEP_NS;
    sp.log = p->log;
    sp.log_ctx = p->log_ctx;
    sp.ops.wait = s_side_wait;
    sp.ops.housekeep = s_side_housekeep;
    sp.ops.live = s_live;
    sp.ops.stop_one = s_stop_one;
    sp.ops.spawn = s_spawn;
    sp.ops.count = s_side_count;
    sp.ops.ctx = c;
    return sp;
}

struct rls_cluster *rls_cluster_new(const char *endpoint, const struct rls_cluster_params *p,
                                    struct rls_err *err)
{
    struct rls_cluster *c = NULL;
    struct rls__side_params sp;
    int rc = RLS_ERR_INVALID;
    int32_t ns;

    if (endpoint == NULL || p == NULL || p->scenario == NULL || p->requests_endpoint == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "cluster: NULL endpoint, params, scenario or requests endpoint");
        return NULL;
    }
    if (!rls_cluster_endpoint_is_loopback(p->requests_endpoint)) {
        rls_err_set(err, RLS_ERR_INVALID, "cluster: requests endpoint '%s': loopback only (tcp://127.0.0.1:PORT)",
                    p->requests_endpoint);
        return NULL;
    }
    if (!(p->step_s >= 0.01 && p->step_s <= 86400.0) || !(p->time_scale >= 0.0 && p->time_scale <= 1e3) ||
        !(p->work_scale > 0.0 && p->work_scale <= 1e3) || !(p->cpu_fraction >= 0.0 && p->cpu_fraction <= 1.0) ||
        p->max_workers < 1 || p->max_workers > 1024 || p->max_outstanding < 1 || p->max_outstanding > 1024 ||
        p->grace_ms < 0 || p->heartbeat_ms < 1) {
        rls_err_set(err, RLS_ERR_RANGE,
                    "cluster: params out of range (step_s 0.01..86400, time_scale 0..1000, work_scale >0..1000, "
                    "cpu_fraction 0..1, max_workers and max_outstanding 1..1024, grace_ms >= 0, heartbeat_ms >= 1)");
        return NULL;
    }
    if (rls_scenario_validate(p->scenario, err) != RLS_OK)
        return NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "cluster: out of memory");
        return NULL;
    }
    c->p = *p;
    c->p.scenario = NULL;
    c->p.requests_endpoint = NULL;
    c->p.worker_exe = NULL;
    c->p.transport = rls_transport_default_params();   /* the session keeps what it needs */
    sp = s_side_params(c, p);
    rc = rls__side_init(&c->side, &sp, err);
    if (rc != RLS_OK)
        goto done;
    ns = c->side.sc->n_services;
    c->svc = calloc((size_t)ns, sizeof *c->svc);
    c->w = calloc((size_t)p->max_workers, sizeof *c->w);
    c->buf = malloc((size_t)ns * RLS_NAME_MAX + 256);
    if (c->svc == NULL || c->w == NULL || c->buf == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "cluster: out of memory");
        goto done;
    }
    for (int32_t k = 0; k < p->max_workers; k++) {
        c->w[k].out = calloc((size_t)p->max_outstanding, sizeof *c->w[k].out);
        if (c->w[k].out == NULL) {
            rc = rls_err_set(err, RLS_ERR_NOMEM, "cluster: out of memory");
            goto done;
        }
    }
    for (int32_t i = 0; i < ns; i++) {
        const struct rls_service_spec *spec = &c->side.sc->services[i];
        struct s_svc *s = &c->svc[i];
        s->qcap = spec->queue_limit;
        if (s->qcap > 0) {
            s->q = calloc((size_t)s->qcap, sizeof *s->q);
            if (s->q == NULL) {
                rc = rls_err_set(err, RLS_ERR_NOMEM, "cluster: out of memory for the queue of '%s' (%d requests)",
                                 spec->name, s->qcap);
                goto done;
            }
        }
    }
    c->zctx = zmq_ctx_new();
    if (c->zctx == NULL) {
        rc = rls_err_set(err, RLS_ERR_IO, "cluster: zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        goto done;
    }
    c->req_sock = s_router(c, p->requests_endpoint, c->req_ep, sizeof c->req_ep, err);
    if (c->req_sock == NULL) {
        rc = RLS_ERR_IO;
        goto done;
    }
    c->wrk_sock = s_router(c, "tcp://127.0.0.1:*", c->wrk_ep, sizeof c->wrk_ep, err);
    if (c->wrk_sock == NULL) {
        rc = RLS_ERR_IO;
        goto done;
    }
    {
        int one = 1;
        zmq_setsockopt(c->wrk_sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    }
    rc = rls__side_open(&c->side, endpoint, &p->transport, err);
    if (rc != RLS_OK)
        goto done;
    rls__side_start(&c->side);
    rc = RLS_OK;

done:
    if (rc != RLS_OK)
        rls_cluster_destroy(&c);
    return c;
}

void rls_cluster_destroy(struct rls_cluster **cp)
{
    struct rls_cluster *c;

    if (cp == NULL || *cp == NULL)
        return;
    c = *cp;
    if (c->w != NULL) {
        pid_t pids[1024];       /* max_workers <= 1024 */
        int32_t n = 0;
        for (int32_t k = 0; k < c->p.max_workers; k++)
            if (c->w[k].state != S_FREE && c->w[k].pid > 0)
                pids[n++] = c->w[k].pid;
        rls__side_stop_pids(pids, n, c->p.grace_ms);    /* every worker by its pid, reaped */
        for (int32_t k = 0; k < c->p.max_workers; k++)
            free(c->w[k].out);
        free(c->w);
    }
    if (c->svc != NULL) {
        for (int32_t i = 0; i < c->side.sc->n_services; i++)
            free(c->svc[i].q);
        free(c->svc);
    }
    rls__side_fini(&c->side);
    if (c->req_sock != NULL)
        zmq_close(c->req_sock);
    if (c->wrk_sock != NULL)
        zmq_close(c->wrk_sock);
    if (c->zctx != NULL)
        zmq_ctx_term(c->zctx);
    free(c->buf);
    free(c);
    *cp = NULL;
}

const char *rls_cluster_endpoint(const struct rls_cluster *c)
{
    return c != NULL ? rls_cluster_session_endpoint(c->side.ss) : "";
}

const char *rls_cluster_requests_endpoint(const struct rls_cluster *c)
{
    return c != NULL ? c->req_ep : "";
}

const struct rls_scenario *rls_cluster_description(const struct rls_cluster *c)
{
    return c != NULL ? c->side.desc : NULL;
}

const char *rls_cluster_errmsg(const struct rls_cluster *c)
{
    return c != NULL ? c->side.errmsg : "";
}

void rls_cluster_stop(struct rls_cluster *c)
{
    if (c != NULL)
        rls__side_stop(&c->side);
}

struct rls_cluster_stats rls_cluster_stats(const struct rls_cluster *c)
{
    struct rls_cluster_stats st;
    struct rls__side_stats ss;
    memset(&st, 0, sizeof st);
    if (c == NULL)
        return st;
    ss = rls__side_stats(&c->side);
    st.steps = ss.steps;
    st.states = ss.states;
    st.actions = ss.actions;
    st.missed = ss.missed;
    st.refused = ss.refused;
    st.agents = ss.agents;
    st.leases = ss.leases;
    st.takeovers = ss.takeovers;
    st.lease_refused = ss.lease_refused;
    st.spawned = ss.spawned;
    st.stopped = ss.stopped;
    st.crashed = ss.crashed;
    st.requests = ss.requests;
    st.served = ss.served;
    st.dropped = ss.dropped;
    st.workers = ss.workers;
    st.ready = ss.ready;
    return st;
}

int32_t rls_cluster_workers(const struct rls_cluster *c, struct rls_cluster_worker_info *out, int32_t cap)
{
    int32_t n = 0;
    if (c == NULL)
        return 0;
    for (int32_t k = 0; k < c->p.max_workers; k++) {
        const struct s_worker *w = &c->w[k];
        if (w->state == S_FREE)
            continue;
        if (out != NULL && n < cap) {
            struct rls_cluster_worker_info *o = &out[n];
            double sum = 0.0;
            for (int32_t j = 0; j < c->p.max_workers; j++)
                if (c->w[j].state == S_READY && c->w[j].service == w->service && c->w[j].ewma_ms > 0.0)
                    sum += 1.0 / c->w[j].ewma_ms;
            o->pid = (int32_t)w->pid;
            o->service = w->service;
            o->state = w->state;
            o->outstanding = w->nout;
            o->served = w->served;
            o->ewma_ms = w->ewma_ms;
            o->weight = w->state == S_READY && w->ewma_ms > 0.0 && sum > 0.0 ? (1.0 / w->ewma_ms) / sum : 0.0;
        }
        n++;
    }
    return n;
}

int rls_cluster_run(struct rls_cluster *c)
{
    if (c == NULL)
        return RLS_ERR_INVALID;
    return rls__side_run(&c->side);
}

/* ---------------------------------------------------------------------------
 * The worker. */

static atomic_int s_worker_stop_flag;

void rls_cluster_worker_stop(void)
{
    atomic_store(&s_worker_stop_flag, 1);
}

struct rls_cluster_worker_params rls_cluster_worker_default_params(void)
{
    struct rls_cluster_worker_params p;
    memset(&p, 0, sizeof p);
    p.connect = NULL;
    p.id = 0;
    p.cold_start_s = 0.0;
    p.mean_ms = 10.0;
    p.cpu_fraction = 1.0;
    p.seed = 1;
    p.parent_pid = 0;
    return p;
}

int rls_cluster_worker_run(const struct rls_cluster_worker_params *p, struct rls_err *err)
{
    void *ctx = NULL, *sock = NULL;
    int rc = RLS_OK;
    struct rls_rng rng;
    uint64_t sink = 0;
    uint8_t m[32];

    if (p == NULL || p->connect == NULL || !(p->cold_start_s >= 0.0 && p->cold_start_s <= 86400.0) ||
        !(p->mean_ms > 0.0 && p->mean_ms <= 1e7) || !(p->cpu_fraction >= 0.0 && p->cpu_fraction <= 1.0))
        return rls_err_set(err, RLS_ERR_INVALID,
                           "cluster worker: needs --connect, cold start 0..86400 s, mean 0..1e7 ms, cpu fraction 0..1");
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (p->parent_pid > 0 && getppid() != (pid_t)p->parent_pid)
        return rls_err_set(err, RLS_ERR_STATE, "cluster worker: the gateway (pid %d) is gone", (int)p->parent_pid);
    rls_rng_seed(&rng, p->seed);
    /* the start-up delay: a real process that is not serving yet */
    if (s_sleep_ns((int64_t)(p->cold_start_s * 1e9), &s_worker_stop_flag))
        return RLS_OK;
    ctx = zmq_ctx_new();
    sock = ctx != NULL ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (sock == NULL) {
        rc = rls_err_set(err, RLS_ERR_IO, "cluster worker: socket: %s", zmq_strerror(zmq_errno()));
        goto done;
    }
    {
        int zero = 0;
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    }
    if (zmq_connect(sock, p->connect) != 0) {
        rc = rls_err_set(err, RLS_ERR_IO, "cluster worker: connect %s: %s", p->connect, zmq_strerror(zmq_errno()));
        goto done;
    }
    m[0] = S_W_READY;
    s_put_u32(m + 1, p->id);
    s_put_u32(m + 5, (uint32_t)getpid());
    if (zmq_send(sock, m, 9, 0) != 9) {
        rc = rls_err_set(err, RLS_ERR_IO, "cluster worker: send ready: %s", zmq_strerror(zmq_errno()));
        goto done;
    }
    while (!atomic_load(&s_worker_stop_flag)) {
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        int len = zmq_recv(sock, m, sizeof m, ZMQ_DONTWAIT);
        if (len != 9 || m[0] != S_W_JOB)
            continue;
        uint64_t token = s_get_u64(m + 1);
        double u = rls_rng_unif(&rng);
        double t_ns = -log(u) * p->mean_ms * 1e6;    /* exponential, mean mean_ms */
        int64_t start = rls__side_now_ns();
        int64_t spin_end = start + (int64_t)(t_ns * p->cpu_fraction);
        int64_t end = start + (int64_t)t_ns;
        sink = rls__side_spin(spin_end, sink ^ token);
        if (end > rls__side_now_ns())
            s_sleep_ns(end - rls__side_now_ns(), NULL);
        m[0] = S_W_DONE;
        s_put_u32(m + 1, p->id);
        s_put_u64(m + 5, token);
        s_put_u64(m + 13, (uint64_t)(rls__side_now_ns() - start));
        if (zmq_send(sock, m, 21, 0) != 21 && zmq_errno() != EINTR) {
            rc = rls_err_set(err, RLS_ERR_IO, "cluster worker: send: %s", zmq_strerror(zmq_errno()));
            goto done;
        }
    }
done:
    if (sock != NULL)
        zmq_close(sock);
    if (ctx != NULL)
        zmq_ctx_term(ctx);
    (void)sink;
    return rc;
}
