/* haproxy.c - the HAProxy cluster of haproxy.h: one thread polls the log
 * socket HAProxy writes a line per request to and the agent's protocol
 * socket; every 100 ms it reaps workers, reads `show stat` and moves each
 * worker through its states (runtime API commands); every step it sets,
 * with adaptive load balancing, the servers' weights. The loop, the step's
 * state and the session with the agent are the cluster side it shares with
 * the local cluster (side.h). Library
 * code: never prints, never exits (a forked child that cannot exec calls
 * _exit).
 */
#include "haproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "side.h"

#define S_HOUSEKEEP_NS 100000000    /* reap, show stat, move workers this often, ns */
#define S_API_MS 2000               /* a runtime API call's time limit, ms */
#define S_START_MS 10000            /* HAProxy must answer on its runtime API within this, ms */
#define S_WEIGHT_SCALE 32           /* the HAProxy weight of an average server */
#define S_LOG_BURST 4096            /* log datagrams read before looking at the agent */

enum { S_FREE = 0, S_STARTING = 1, S_READY = 2, S_DRAINING = 3, S_TERMINATING = 4, S_GONE = 5 };

struct s_worker {
    int state;
    int32_t service;
    pid_t pid;
    uint32_t id;
    char name[16];              /* "wN" */
    int port;
    int in_haproxy;             /* its server is registered */
    int exited;                 /* the process was reaped */
    int up;                     /* show stat says UP (and a check passed) */
    int64_t ready_ns, deadline_ns;
    int64_t scur;               /* sessions at it, last show stat */
    int32_t weight;
    double ewma_ms;
    int64_t served;
};

/* A service's backlog (its measurements and desired replicas: side.svc). */
struct s_svc {
    int64_t queued;             /* last show stat: backend + servers qcur */
};

struct rls_haproxy {
    struct rls_haproxy_params p;
    struct rls__side side;      /* scenario, description, session, step, counters */
    char bin[PATH_MAX];
    char dir[PATH_MAX];
    int own_dir;
    char cfg_path[PATH_MAX + 32], admin_path[PATH_MAX + 32], log_path[PATH_MAX + 32], out_path[PATH_MAX + 32];
    int http_fd, metrics_fd, log_fd;
    int http_port, metrics_port;
    pid_t hap_pid;
    struct s_svc *svc;          /* [n_services] */
    struct s_worker *w;         /* [max_workers] */
    uint32_t next_id;
    _Atomic int64_t added, deleted, weight_sets, api_errors;
};

static void s_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

struct rls_haproxy_params rls_haproxy_default_params(void)
{
    struct rls_haproxy_params p;
    memset(&p, 0, sizeof p);
    p.scenario = NULL;
    p.haproxy_bin = NULL;
    p.state_dir = NULL;
    p.http_port = 0;
    p.metrics_port = 0;
    p.step_s = 1.0;
    p.time_scale = 1.0;
    p.work_scale = 1.0;
    p.cpu_fraction = 1.0;
    p.dist = RLS_DIST_EXP;
    p.cv = 1.0;
    p.concurrency = 1;
    p.max_workers = 8;
    p.grace_ms = 2000;
    p.queue_timeout_ms = 5000;
    p.lb = RLS_HAPROXY_LB_ADAPTIVE;
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
 * The runtime API. */

/* Sends cmd; returns RLS_OK when HAProxy took it, else logs and counts it. */
static int s_api(struct rls_haproxy *h, const char *cmd)
{
    struct rls_err err = { 0 };
    char *reply = NULL;
    int rc;

    if (cmd == NULL || cmd[0] == '\0') {
        atomic_fetch_add(&h->api_errors, 1);
        return RLS_ERR_INVALID;
    }
    rc = rls_haproxy_api_call(h->admin_path, cmd, S_API_MS, &reply, &err);
    if (rc != RLS_OK) {
        atomic_fetch_add(&h->api_errors, 1);
        rls_logf(h->p.log, h->p.log_ctx, "%s", err.msg);
        return rc;
    }
    if (!rls_haproxy_reply_ok(reply)) {
        size_t n = strlen(reply);
        while (n > 0 && (reply[n - 1] == '\n' || reply[n - 1] == ' '))
            reply[--n] = '\0';
        for (char *q = reply; *q; q++)
            if (*q == '\n')
                *q = ' ';
        atomic_fetch_add(&h->api_errors, 1);
        rls_logf(h->p.log, h->p.log_ctx, "haproxy refused '%s': %s", cmd, reply);
        free(reply);
        return RLS_ERR_EXTERNAL;
    }
    free(reply);
    return RLS_OK;
}

static int s_api_server(struct rls_haproxy *h, const char *verb, const struct s_worker *w)
{
    char cmd[256];
    rls_haproxy_fmt_server(cmd, sizeof cmd, verb, h->side.sc->services[w->service].name, w->name);
    return s_api(h, cmd);
}

static int s_api_state(struct rls_haproxy *h, const struct s_worker *w, const char *state)
{
    char cmd[256];
    rls_haproxy_fmt_set_state(cmd, sizeof cmd, h->side.sc->services[w->service].name, w->name, state);
    return s_api(h, cmd);
}

static int s_api_weight(struct rls_haproxy *h, struct s_worker *w, int32_t weight)
{
    char cmd[256];
    rls_haproxy_fmt_set_weight(cmd, sizeof cmd, h->side.sc->services[w->service].name, w->name, weight);
    int rc = s_api(h, cmd);
    if (rc == RLS_OK) {
        w->weight = weight;
        atomic_fetch_add(&h->weight_sets, 1);
    }
    return rc;
}

/* maint, then del server; returns RLS_OK once the server is gone. */
static int s_remove_server(struct rls_haproxy *h, struct s_worker *w)
{
    if (!w->in_haproxy)
        return RLS_OK;
    s_api_state(h, w, "maint");
    if (s_api_server(h, "del server", w) != RLS_OK)
        return RLS_ERR_STATE;
    w->in_haproxy = 0;
    atomic_fetch_add(&h->deleted, 1);
    return RLS_OK;
}

/* ---------------------------------------------------------------------------
 * Sockets and processes. */

/* A listening TCP socket on 127.0.0.1:port (0 = any); returns the fd (CLOEXEC)
 * and the port in *bound, or -1 with err. */
static int s_listen(int port, int *bound, struct rls_err *err)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 512) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        rls_err_set(err, RLS_ERR_IO, "haproxy cluster: listen on 127.0.0.1:%d: %s", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

/* The last non-empty line of a file into out (for HAProxy's refusals). */
static void s_last_line(const char *path, char *out, size_t cap)
{
    char line[512];
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 0)
            snprintf(out, cap, "%s", line);
    }
    fclose(f);
}

static size_t s_discard(char *p, size_t size, size_t nmemb, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * nmemb;
}

/* GET http://127.0.0.1:port/healthz within 300 ms; 1 when it says 200. */
static int s_probe(int port)
{
    char url[64];
    long code = 0;
    CURL *e = curl_easy_init();
    if (e == NULL)
        return 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 300L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    return code == 200;
}

/* ---------------------------------------------------------------------------
 * Workers. */

static void s_update_counts(struct rls_haproxy *h)
{
    int32_t alive = 0, ready = 0;
    for (int32_t k = 0; k < h->p.max_workers; k++) {
        if (h->w[k].state != S_FREE && !h->w[k].exited)
            alive++;
        if (h->w[k].state == S_READY && h->w[k].up)
            ready++;
    }
    rls__side_set_counts(&h->side, alive, ready);
}

/* ops.spawn: a worker process on a socket of ours, its server added to
 * HAProxy disabled (enabled once its readiness probe passes). */
static int s_spawn(void *ctx, int32_t svc)
{
    struct rls_haproxy *h = ctx;
    struct s_worker *w = NULL;
    struct rls_err err = { 0 };
    char a_fd[16], a_mean[40], a_cv[40], a_conc[16], a_frac[40], a_start[40], a_seed[32], cmd[384];
    char *argv[32];
    int n = 0, fd, port = 0;

    for (int32_t k = 0; k < h->p.max_workers && w == NULL; k++)
        if (h->w[k].state == S_FREE)
            w = &h->w[k];
    if (w == NULL)
        return RLS_ERR_INFEASIBLE;
    fd = s_listen(0, &port, &err);
    if (fd < 0) {
        rls_logf(h->p.log, h->p.log_ctx, "%s", err.msg);
        return RLS_ERR_IO;
    }
    uint32_t id = ++h->next_id;
    snprintf(a_fd, sizeof a_fd, "%d", fd);
    snprintf(a_mean, sizeof a_mean, "%.9g", h->side.svc[svc].mean_ms);
    snprintf(a_cv, sizeof a_cv, "%.9g", h->p.cv);
    snprintf(a_conc, sizeof a_conc, "%d", h->p.concurrency);
    snprintf(a_frac, sizeof a_frac, "%.9g", h->p.cpu_fraction);
    snprintf(a_start, sizeof a_start, "%.9g", h->side.svc[svc].cold_s);
    snprintf(a_seed, sizeof a_seed, "%llu", (unsigned long long)(h->p.seed * 1000003ULL + id));
    argv[n++] = h->side.exe;
    argv[n++] = "cluster";
    argv[n++] = "http-worker";
    argv[n++] = "--listen-fd";
    argv[n++] = a_fd;
    argv[n++] = "--service";
    argv[n++] = h->side.sc->services[svc].name;
    argv[n++] = "--dist";
    argv[n++] = (char *)rls_dist_name(h->p.dist);
    argv[n++] = "--mean-ms";
    argv[n++] = a_mean;
    argv[n++] = "--cv";
    argv[n++] = a_cv;
    argv[n++] = "--concurrency";
    argv[n++] = a_conc;
    argv[n++] = "--cpu-fraction";
    argv[n++] = a_frac;
    argv[n++] = "--startup";
    argv[n++] = a_start;
    argv[n++] = "--seed";
    argv[n++] = a_seed;
    argv[n] = NULL;
    pid_t pid = rls__side_spawn(argv, fd, -1, 1, NULL);
    close(fd);
    if (pid < 0) {
        rls_logf(h->p.log, h->p.log_ctx, "worker of '%s': fork: %s", h->side.sc->services[svc].name, strerror(errno));
        return RLS_ERR_IO;
    }
    memset(w, 0, sizeof *w);
    w->state = S_STARTING;
    w->service = svc;
    w->pid = pid;
    w->id = id;
    snprintf(w->name, sizeof w->name, "w%u", id);
    w->port = port;
    w->ewma_ms = h->side.svc[svc].mean_ms;
    atomic_fetch_add(&h->side.spawned, 1);
    /* registered disabled (maint): no traffic until its readiness probe passes */
    rls_haproxy_fmt_add_server(cmd, sizeof cmd, h->side.sc->services[svc].name, w->name, "127.0.0.1", port,
                               S_WEIGHT_SCALE, h->p.concurrency);
    if (s_api(h, cmd) != RLS_OK) {
        kill(pid, SIGTERM);
        w->state = S_TERMINATING;
        w->deadline_ns = rls__side_now_ns() + (int64_t)h->p.grace_ms * 1000000;
        s_update_counts(h);
        return RLS_ERR_EXTERNAL;
    }
    w->in_haproxy = 1;
    w->weight = S_WEIGHT_SCALE;
    atomic_fetch_add(&h->added, 1);
    s_api_server(h, "enable health", w);
    s_update_counts(h);
    return RLS_OK;
}

/* ops.stop_one: takes one worker of svc out: a starting one at once, else
 * the ready one with the fewest sessions drains. */
static void s_stop_one(void *ctx, int32_t svc, int64_t now)
{
    struct rls_haproxy *h = ctx;
    struct s_worker *best = NULL;
    for (int32_t k = 0; k < h->p.max_workers; k++) {
        struct s_worker *w = &h->w[k];
        if (w->service != svc || w->exited || (w->state != S_STARTING && w->state != S_READY))
            continue;
        if (best == NULL || (best->state == S_READY && w->state == S_STARTING) ||
            (best->state == w->state && w->scur < best->scur))
            best = w;
    }
    if (best == NULL)
        return;
    atomic_fetch_add(&h->side.stopped, 1);
    if (best->state == S_STARTING) {
        s_remove_server(h, best);
        kill(best->pid, SIGTERM);
        best->state = S_TERMINATING;
        best->deadline_ns = now + (int64_t)h->p.grace_ms * 1000000;
    } else {
        s_api_state(h, best, "drain");
        best->state = S_DRAINING;
        best->deadline_ns = now + (int64_t)h->p.grace_ms * 1000000;
    }
    s_update_counts(h);
}

/* ops.live: the starting + ready workers of svc still running. */
static int32_t s_live(void *ctx, int32_t svc)
{
    const struct rls_haproxy *h = ctx;
    int32_t live = 0;
    for (int32_t k = 0; k < h->p.max_workers; k++) {
        const struct s_worker *w = &h->w[k];
        if (w->service == svc && !w->exited && (w->state == S_STARTING || w->state == S_READY))
            live++;
    }
    return live;
}

static struct s_worker *s_find(struct rls_haproxy *h, int32_t svc, const char *server)
{
    for (int32_t k = 0; k < h->p.max_workers; k++)
        if (h->w[k].state != S_FREE && h->w[k].service == svc && strcmp(h->w[k].name, server) == 0)
            return &h->w[k];
    return NULL;
}

static int32_t s_find_service(const struct rls_haproxy *h, const char *name)
{
    return rls_scenario_find_service(h->side.sc, name);
}

/* Reaps, reads show stat and moves every worker on. */
static int s_housekeep(struct rls_haproxy *h, int64_t now)
{
    struct rls_err err = { 0 };
    char *text = NULL;
    int status;

    /* HAProxy itself */
    if (h->hap_pid > 0 && waitpid(h->hap_pid, &status, WNOHANG) == h->hap_pid) {
        char last[256];
        h->hap_pid = 0;
        s_last_line(h->out_path, last, sizeof last);
        return rls__side_fail(&h->side, RLS_ERR_EXTERNAL, "haproxy cluster: haproxy exited (%s %d): %s",
                              WIFSIGNALED(status) ? "signal" : "status",
                              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), last[0] ? last : "no output");
    }
    /* workers, each by its pid */
    for (int32_t k = 0; k < h->p.max_workers; k++) {
        struct s_worker *w = &h->w[k];
        if (w->state == S_FREE || w->exited || w->pid <= 0)
            continue;
        if (waitpid(w->pid, &status, WNOHANG) != w->pid)
            continue;
        w->exited = 1;
        if (w->state != S_TERMINATING) {
            rls__side_killed(&h->side, w->service);
            rls_logf(h->p.log, h->p.log_ctx, "worker %d (%s/%s) died (%s %d) without being asked", (int)w->pid,
                     h->side.sc->services[w->service].name, w->name, WIFSIGNALED(status) ? "signal" : "status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
        w->state = S_GONE;
        w->up = 0;
    }
    /* HAProxy's view of every server */
    if (rls_haproxy_api_call(h->admin_path, "show stat", S_API_MS, &text, &err) == RLS_OK) {
        int32_t n = rls_haproxy_parse_stat(text, NULL, 0);
        struct rls_haproxy_stat *rows = n > 0 ? calloc((size_t)n, sizeof *rows) : NULL;
        if (rows != NULL) {
            rls_haproxy_parse_stat(text, rows, n);
            for (int32_t i = 0; i < h->side.sc->n_services; i++)
                h->svc[i].queued = 0;
            for (int32_t r = 0; r < n; r++) {
                int32_t svc = s_find_service(h, rows[r].backend);
                if (svc < 0)
                    continue;
                if (rows[r].qcur > 0)
                    h->svc[svc].queued += rows[r].qcur;
                struct s_worker *w = s_find(h, svc, rows[r].server);
                if (w == NULL)
                    continue;
                w->scur = rows[r].scur;
                if (w->state == S_READY)
                    w->up = strncmp(rows[r].status, "UP", 2) == 0;
                if (w->state == S_DRAINING && rows[r].scur == 0 && rows[r].qcur <= 0)
                    w->deadline_ns = now;   /* drained */
            }
            free(rows);
        }
        free(text);
    } else {
        atomic_fetch_add(&h->api_errors, 1);
        rls_logf(h->p.log, h->p.log_ctx, "%s", err.msg);
    }
    for (int32_t k = 0; k < h->p.max_workers; k++) {
        struct s_worker *w = &h->w[k];
        if (w->state == S_STARTING && !w->exited && w->in_haproxy && s_probe(w->port)) {
            /* ready: out of maintenance; HAProxy takes queued requests for it at
             * once and its own health checks watch it from now on */
            if (s_api_server(h, "enable server", w) == RLS_OK) {
                w->ready_ns = now;
                w->state = S_READY;
                w->up = 1;
            }
        }
        if (w->state == S_DRAINING && now >= w->deadline_ns) {
            if (w->scur > 0)
                s_api_server(h, "shutdown sessions server", w);
            if (s_remove_server(h, w) == RLS_OK) {
                kill(w->pid, SIGTERM);
                w->state = S_TERMINATING;
                w->deadline_ns = now + (int64_t)h->p.grace_ms * 1000000;
            }
        } else if (w->state == S_TERMINATING && !w->exited && now >= w->deadline_ns) {
            kill(w->pid, SIGKILL);
            w->deadline_ns = now + (int64_t)3600 * 1000000000;
        } else if (w->state == S_TERMINATING && w->exited) {
            w->state = S_GONE;
        }
        if (w->state == S_GONE) {
            if (w->in_haproxy)
                s_remove_server(h, w);     /* retried each time until HAProxy lets it go */
            if (!w->in_haproxy)
                w->state = S_FREE;
        }
    }
    rls__side_reconcile(&h->side, now);
    s_update_counts(h);
    return RLS_OK;
}

/* ---------------------------------------------------------------------------
 * The request log. */

static void s_on_log(struct rls_haproxy *h, const char *line, size_t len)
{
    struct rls_haproxy_logrec rec;
    if (rls_haproxy_parse_log(line, len, &rec) != RLS_OK)
        return;
    int32_t svc = s_find_service(h, rec.backend);
    if (svc < 0)
        return;     /* the frontend's own answers (/_services, unknown paths) */
    rls__side_arrived(&h->side, svc);
    if (rec.status != 200) {
        rls__side_dropped(&h->side, svc);     /* failed: 503 from no server or the queue timeout */
        return;
    }
    rls__side_served(&h->side, svc, rec.ta_ms, rec.tr_ms >= 0 ? rec.tr_ms / 1000.0 : -1.0);
    struct s_worker *w = s_find(h, svc, rec.server);
    if (w != NULL && rec.tr_ms >= 0) {
        /* the server's own time (connect + response); a ms floor keeps a 0 from
         * making a server infinitely attractive */
        double t = (double)rec.tr_ms + (rec.tc_ms > 0 ? rec.tc_ms : 0);
        w->ewma_ms = 0.8 * w->ewma_ms + 0.2 * (t > 0.5 ? t : 0.5);
        w->served++;
    }
}

static void s_read_logs(struct rls_haproxy *h)
{
    char buf[1100];
    for (int k = 0; k < S_LOG_BURST; k++) {
        ssize_t n = recv(h->log_fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            return;
        s_on_log(h, buf, (size_t)n);
    }
}

/* ---------------------------------------------------------------------------
 * Steps and the agent. */

/* ops.count: a service's servers as HAProxy sees them, its queue, and the
 * ready time (x concurrency: a server serves that many at once). */
static void s_side_count(void *ctx, int32_t svc, int64_t now, struct rls__side_count *out)
{
    struct rls_haproxy *h = ctx;
    double ready_s = 0.0;

    for (int32_t k = 0; k < h->p.max_workers; k++) {
        const struct s_worker *w = &h->w[k];
        if (w->service != svc || w->exited)
            continue;
        if (w->state == S_READY && w->up)
            out->ready++;
        else if (w->state == S_STARTING || w->state == S_READY)
            out->starting++;
        if (w->state == S_READY || w->state == S_DRAINING)
            ready_s += rls__side_ready_s(&h->side, w->ready_ns, now);
    }
    out->ready_s = ready_s * (double)h->p.concurrency;
    out->backlog = (double)h->svc[svc].queued;
}

static int s_side_housekeep(void *ctx, int64_t now)
{
    return s_housekeep(ctx, now);
}

/* ops.wait: the log socket. */
static int s_side_wait(void *ctx, int wait_ms)
{
    struct rls_haproxy *h = ctx;
    struct pollfd pf = { h->log_fd, POLLIN, 0 };

    if (poll(&pf, 1, wait_ms) < 0 && errno != EINTR)
        return rls__side_fail(&h->side, RLS_ERR_IO, "haproxy cluster: poll: %s", strerror(errno));
    s_read_logs(h);
    return RLS_OK;
}

/* ops.step_begin: every request logged so far counts in the step. */
static void s_side_step_begin(void *ctx)
{
    s_read_logs(ctx);
}

/* Adaptive load balancing: each service's ready servers get weights from
 * their measured response times (set only when they change). */
static void s_set_weights(struct rls_haproxy *h)
{
    double lat[1024];
    int32_t wt[1024];
    struct s_worker *ws[1024];

    for (int32_t i = 0; i < h->side.sc->n_services; i++) {
        int32_t n = 0;
        for (int32_t k = 0; k < h->p.max_workers && n < 1024; k++) {
            struct s_worker *w = &h->w[k];
            if (w->service == i && w->state == S_READY && !w->exited && w->in_haproxy) {
                ws[n] = w;
                lat[n] = w->ewma_ms;
                n++;
            }
        }
        if (n == 0 || rls_haproxy_adaptive_weights(lat, n, S_WEIGHT_SCALE, wt, NULL) != RLS_OK)
            continue;
        for (int32_t j = 0; j < n; j++)
            if (ws[j]->weight != wt[j])
                s_api_weight(h, ws[j], wt[j]);
    }
}

/* ops.step_end: with adaptive load balancing, new weights after each step. */
static void s_side_step_end(void *ctx)
{
    struct rls_haproxy *h = ctx;
    if (h->p.lb == RLS_HAPROXY_LB_ADAPTIVE)
        s_set_weights(h);
}

/* ---------------------------------------------------------------------------
 * Life cycle. */

static int s_write_config(struct rls_haproxy *h, struct rls_err *err)
{
    FILE *f = fopen(h->cfg_path, "w");
    if (f == NULL)
        return rls_err_set(err, RLS_ERR_IO, "haproxy cluster: %s: %s", h->cfg_path, strerror(errno));
    fprintf(f, "# written by rlsched cluster haproxy; HAProxy 2.6\n"
               "global\n"
               "    stats socket %s mode 600 level admin\n"
               "    log %s len 1024 format raw local0 info\n"
               "    nbthread 1\n"
               "    maxconn 4096\n"
               "defaults\n"
               "    mode http\n"
               "    log global\n"
               "    log-format \"rlsreq %%b %%s %%ST %%Ta %%Tw %%Tc %%Tr %%ts\"\n"
               "    timeout connect 1s\n"
               "    timeout client 60s\n"
               "    timeout server 60s\n"
               "    timeout queue %dms\n"
               "    timeout check 1s\n"
               "    retries 2\n"
               "    option redispatch 1\n"
               "frontend rls_http\n"
               "    bind fd@%d\n"
               "    http-request return status 200 content-type text/plain string \"",
            h->admin_path, h->log_path, h->p.queue_timeout_ms, h->http_fd);
    for (int32_t i = 0; i < h->side.sc->n_services; i++)
        fprintf(f, "%s%s", i ? " " : "", h->side.sc->services[i].name);
    fprintf(f, "\" if { path /_services }\n"
               "    use_backend %%[path,field(2,/)]\n"
               "    default_backend rls_unknown\n");
    if (h->metrics_fd >= 0)
        fprintf(f, "frontend rls_metrics\n"
                   "    bind fd@%d\n"
                   "    no log\n"
                   "    http-request use-service prometheus-exporter if { path /metrics }\n"
                   "    default_backend rls_unknown\n",
                h->metrics_fd);
    fprintf(f, "backend rls_unknown\n"
               "    http-request return status 404 content-type text/plain string \"no such service\"\n");
    for (int32_t i = 0; i < h->side.sc->n_services; i++)
        fprintf(f, "backend %s\n"
                   "    balance roundrobin\n"
                   "    option http-server-close\n"
                   "    option httpchk GET /healthz\n",
                h->side.sc->services[i].name);
    if (fclose(f) != 0)
        return rls_err_set(err, RLS_ERR_IO, "haproxy cluster: %s: %s", h->cfg_path, strerror(errno));
    return RLS_OK;
}

static int s_start_haproxy(struct rls_haproxy *h, struct rls_err *err)
{
    char *argv[] = { h->bin, "-db", "-f", h->cfg_path, NULL };
    int64_t end;
    int status;

    h->hap_pid = rls__side_spawn(argv, h->http_fd, h->metrics_fd, 1, h->out_path);
    if (h->hap_pid < 0) {
        h->hap_pid = 0;
        return rls_err_set(err, RLS_ERR_EXTERNAL, "haproxy cluster: fork: %s", strerror(errno));
    }
    end = rls__side_now_ns() + (int64_t)S_START_MS * 1000000;
    while (rls__side_now_ns() < end) {
        char *reply = NULL;
        if (waitpid(h->hap_pid, &status, WNOHANG) == h->hap_pid) {
            char last[256];
            h->hap_pid = 0;
            s_last_line(h->out_path, last, sizeof last);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return rls_err_set(err, RLS_ERR_EXTERNAL, "haproxy cluster: cannot run '%s' (is haproxy installed? "
                                   "apt-get install haproxy)", h->bin);
            return rls_err_set(err, RLS_ERR_EXTERNAL, "haproxy cluster: haproxy refused %s: %s", h->cfg_path,
                               last[0] ? last : "no output");
        }
        if (rls_haproxy_api_call(h->admin_path, "show info", 500, &reply, NULL) == RLS_OK) {
            free(reply);
            return RLS_OK;
        }
        s_sleep_ms(20);
    }
    return rls_err_set(err, RLS_ERR_EXTERNAL, "haproxy cluster: haproxy's runtime API %s did not answer within %d ms",
                       h->admin_path, S_START_MS);
}

/* The side's params from the cluster's. */
static struct rls__side_params s_side_params(struct rls_haproxy *h, const struct rls_haproxy_params *p)
{
    struct rls__side_params sp;

    memset(&sp, 0, sizeof sp);
    sp.who = "haproxy cluster";
    sp.label = "cluster haproxy";
    sp.pool = "haproxy";
    sp.dropped_word = "failed";
    sp.scenario = p->scenario;
    sp.worker_exe = p->worker_exe;
    sp.step_s = p->step_s;
    sp.time_scale = p->time_scale;
    sp.work_scale = p->work_scale;
    sp.concurrency = p->concurrency;
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
    sp.ops.step_begin = s_side_step_begin;
    sp.ops.step_end = s_side_step_end;
    sp.ops.ctx = h;
    return sp;
}

struct rls_haproxy *rls_haproxy_new(const char *endpoint, const struct rls_haproxy_params *p, struct rls_err *err)
{
    struct rls_haproxy *h = NULL;
    struct rls__side_params sp;
    int rc = RLS_ERR_INVALID;
    int32_t ns;

    if (endpoint == NULL || p == NULL || p->scenario == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "haproxy cluster: NULL endpoint, params or scenario");
        return NULL;
    }
    if (!(p->step_s >= 0.01 && p->step_s <= 86400.0) || !(p->time_scale >= 0.0 && p->time_scale <= 1e3) ||
        !(p->work_scale > 0.0 && p->work_scale <= 1e3) || !(p->cpu_fraction >= 0.0 && p->cpu_fraction <= 1.0) ||
        p->dist < RLS_DIST_EXP || p->dist > RLS_DIST_CONST || !(p->cv >= 0.0 && p->cv <= 10.0) ||
        p->concurrency < 1 || p->concurrency > 1024 || p->max_workers < 1 || p->max_workers > 1024 ||
        p->grace_ms < 0 || p->queue_timeout_ms < 1 || p->heartbeat_ms < 1 || p->http_port < 0 ||
        p->http_port > 65535 || p->metrics_port < -1 || p->metrics_port > 65535 ||
        (p->lb != RLS_HAPROXY_LB_RR && p->lb != RLS_HAPROXY_LB_ADAPTIVE)) {
        rls_err_set(err, RLS_ERR_RANGE,
                    "haproxy cluster: params out of range (step_s 0.01..86400, time_scale 0..1000, work_scale "
                    ">0..1000, cpu_fraction 0..1, cv 0..10, concurrency and max_workers 1..1024, grace_ms >= 0, "
                    "queue_timeout_ms >= 1, ports 0..65535)");
        return NULL;
    }
    if (rls_scenario_validate(p->scenario, err) != RLS_OK)
        return NULL;
    for (int32_t i = 0; i < p->scenario->n_services; i++) {
        const char *name = p->scenario->services[i].name;
        if (!rls_haproxy_name_ok(name) || strncmp(name, "rls_", 4) == 0) {
            rls_err_set(err, RLS_ERR_INVALID,
                        "haproxy cluster: service name '%s' cannot be an HAProxy backend (letters, digits, '-', "
                        "'_', '.'; at most 63 bytes; not starting with rls_)", name);
            return NULL;
        }
    }
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "haproxy cluster: out of memory");
        return NULL;
    }
    h->http_fd = h->metrics_fd = h->log_fd = -1;
    h->p = *p;
    h->p.scenario = NULL;
    h->p.worker_exe = NULL;
    h->p.haproxy_bin = NULL;
    h->p.state_dir = NULL;
    h->p.transport = rls_transport_default_params();   /* the session keeps what it needs */
    sp = s_side_params(h, p);
    rc = rls__side_init(&h->side, &sp, err);
    if (rc != RLS_OK)
        goto done;
    rc = RLS_ERR_INVALID;
    snprintf(h->bin, sizeof h->bin, "%s", p->haproxy_bin != NULL ? p->haproxy_bin : "haproxy");
    if (p->state_dir != NULL) {
        snprintf(h->dir, sizeof h->dir, "%s", p->state_dir);
        if (mkdir(h->dir, 0700) != 0 && errno != EEXIST) {
            rc = rls_err_set(err, RLS_ERR_IO, "haproxy cluster: state dir %s: %s", h->dir, strerror(errno));
            goto done;
        }
    } else {
        snprintf(h->dir, sizeof h->dir, "/tmp/rlsched-haproxy.XXXXXX");
        if (mkdtemp(h->dir) == NULL) {
            rc = rls_err_set(err, RLS_ERR_IO, "haproxy cluster: mkdtemp /tmp: %s", strerror(errno));
            h->dir[0] = '\0';
            goto done;
        }
        h->own_dir = 1;
    }
    snprintf(h->cfg_path, sizeof h->cfg_path, "%s/haproxy.cfg", h->dir);
    snprintf(h->admin_path, sizeof h->admin_path, "%s/admin.sock", h->dir);
    snprintf(h->log_path, sizeof h->log_path, "%s/log.sock", h->dir);
    snprintf(h->out_path, sizeof h->out_path, "%s/haproxy.out", h->dir);
    if (strlen(h->admin_path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
        strlen(h->log_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        rc = rls_err_set(err, RLS_ERR_INVALID, "haproxy cluster: state dir %s: path too long for a unix socket",
                         h->dir);
        goto done;
    }
    ns = h->side.sc->n_services;
    h->svc = calloc((size_t)ns, sizeof *h->svc);
    h->w = calloc((size_t)p->max_workers, sizeof *h->w);
    if (h->svc == NULL || h->w == NULL) {
        rc = rls_err_set(err, RLS_ERR_NOMEM, "haproxy cluster: out of memory");
        goto done;
    }
    /* the sockets HAProxy inherits, and the log socket it writes to */
    h->http_fd = s_listen(p->http_port, &h->http_port, err);
    if (h->http_fd < 0) {
        rc = RLS_ERR_IO;
        goto done;
    }
    if (p->metrics_port >= 0) {
        h->metrics_fd = s_listen(p->metrics_port, &h->metrics_port, err);
        if (h->metrics_fd < 0) {
            rc = RLS_ERR_IO;
            goto done;
        }
    }
    {
        struct sockaddr_un sa;
        int rcvbuf = 4 * 1024 * 1024;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, h->log_path, strlen(h->log_path) + 1);     /* fits: checked above */
        unlink(h->log_path);
        h->log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (h->log_fd < 0 || bind(h->log_fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            rc = rls_err_set(err, RLS_ERR_IO, "haproxy cluster: log socket %s: %s", h->log_path, strerror(errno));
            goto done;
        }
        setsockopt(h->log_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    rc = s_write_config(h, err);
    if (rc != RLS_OK)
        goto done;
    rc = rls__side_open(&h->side, endpoint, &p->transport, err);
    if (rc != RLS_OK)
        goto done;
    rc = s_start_haproxy(h, err);
    if (rc != RLS_OK)
        goto done;
    rls__side_start(&h->side);
    rc = RLS_OK;
done:
    if (rc != RLS_OK)
        rls_haproxy_destroy(&h);
    return h;
}

void rls_haproxy_destroy(struct rls_haproxy **hp)
{
    struct rls_haproxy *h;

    if (hp == NULL || *hp == NULL)
        return;
    h = *hp;
    if (h->w != NULL) {
        pid_t pids[1024];       /* max_workers <= 1024 */
        int32_t n = 0;
        for (int32_t k = 0; k < h->p.max_workers; k++)
            if (h->w[k].state != S_FREE && !h->w[k].exited && h->w[k].pid > 0)
                pids[n++] = h->w[k].pid;
        rls__side_stop_pids(pids, n, h->p.grace_ms);    /* every worker by its pid, reaped */
        free(h->w);
    }
    if (h->hap_pid > 0)
        rls__side_stop_pid(h->hap_pid, h->p.grace_ms > 0 ? h->p.grace_ms : 1000);
    free(h->svc);
    rls__side_fini(&h->side);
    if (h->http_fd >= 0)
        close(h->http_fd);
    if (h->metrics_fd >= 0)
        close(h->metrics_fd);
    if (h->log_fd >= 0)
        close(h->log_fd);
    if (h->dir[0] != '\0') {
        unlink(h->log_path);
        if (h->own_dir) {
            unlink(h->admin_path);
            unlink(h->cfg_path);
            unlink(h->out_path);
            rmdir(h->dir);
        }
    }
    free(h);
    *hp = NULL;
}

int rls_haproxy_run(struct rls_haproxy *h)
{
    if (h == NULL)
        return RLS_ERR_INVALID;
    return rls__side_run(&h->side);
}

void rls_haproxy_stop(struct rls_haproxy *h)
{
    if (h != NULL)
        rls__side_stop(&h->side);
}

const char *rls_haproxy_endpoint(const struct rls_haproxy *h)
{
    return h != NULL ? rls_cluster_session_endpoint(h->side.ss) : "";
}

int rls_haproxy_http_port(const struct rls_haproxy *h)
{
    return h != NULL ? h->http_port : 0;
}

int rls_haproxy_metrics_port(const struct rls_haproxy *h)
{
    return h != NULL && h->metrics_fd >= 0 ? h->metrics_port : 0;
}

const char *rls_haproxy_admin_socket(const struct rls_haproxy *h)
{
    return h != NULL ? h->admin_path : "";
}

const char *rls_haproxy_state_dir(const struct rls_haproxy *h)
{
    return h != NULL ? h->dir : "";
}

int32_t rls_haproxy_pid(const struct rls_haproxy *h)
{
    return h != NULL ? (int32_t)h->hap_pid : 0;
}

const struct rls_scenario *rls_haproxy_description(const struct rls_haproxy *h)
{
    return h != NULL ? h->side.desc : NULL;
}

const char *rls_haproxy_errmsg(const struct rls_haproxy *h)
{
    return h != NULL ? h->side.errmsg : "";
}

struct rls_haproxy_stats rls_haproxy_stats(const struct rls_haproxy *h)
{
    struct rls_haproxy_stats st;
    struct rls__side_stats ss;
    memset(&st, 0, sizeof st);
    if (h == NULL)
        return st;
    struct rls_haproxy *m = (struct rls_haproxy *)h;   /* atomics: loads only */
    ss = rls__side_stats(&h->side);
    st.steps = ss.steps;
    st.states = ss.states;
    st.actions = ss.actions;
    st.missed = ss.missed;
    st.refused = ss.refused;
    st.agents = ss.agents;
    st.leases = ss.leases;
    st.spawned = ss.spawned;
    st.stopped = ss.stopped;
    st.crashed = ss.crashed;
    st.added = atomic_load(&m->added);
    st.deleted = atomic_load(&m->deleted);
    st.weight_sets = atomic_load(&m->weight_sets);
    st.api_errors = atomic_load(&m->api_errors);
    st.requests = ss.requests;
    st.served = ss.served;
    st.failed = ss.dropped;
    st.workers = ss.workers;
    st.ready = ss.ready;
    return st;
}

int32_t rls_haproxy_workers(const struct rls_haproxy *h, struct rls_haproxy_worker_info *out, int32_t cap)
{
    int32_t n = 0;
    if (h == NULL)
        return 0;
    for (int32_t k = 0; k < h->p.max_workers; k++) {
        const struct s_worker *w = &h->w[k];
        if (w->state == S_FREE)
            continue;
        if (out != NULL && n < cap) {
            struct rls_haproxy_worker_info *o = &out[n];
            memset(o, 0, sizeof *o);
            o->pid = (int32_t)w->pid;
            o->service = w->service;
            o->state = w->state;
            o->port = w->port;
            snprintf(o->server, sizeof o->server, "%s", w->name);
            o->weight = w->weight;
            o->ewma_ms = w->ewma_ms;
            o->served = w->served;
        }
        n++;
    }
    return n;
}
