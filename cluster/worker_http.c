/* worker_http.c - the HTTP worker of worker_http.h: libmicrohttpd with a
 * thread per connection (HAProxy keeps at most maxconn connections to a
 * server open), service times drawn under a mutex, CPU burnt in a busy
 * loop, a latency histogram kept with atomics. */
#include "worker_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../env/rng.h"
#include "side.h"

#define S_NBUCKETS 14
static const double s_bounds[S_NBUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1.0,   2.5,  5.0,  10.0, 30.0 };

struct rls_worker_http {
    struct rls_worker_http_params p;
    char service[64];
    struct MHD_Daemon *daemon;
    int fd;                     /* the listening socket (ours to close) */
    int port;
    int64_t ready_ns;           /* /healthz says ready from then on, monotonic ns */
    pthread_mutex_t mu;         /* guards rng */
    struct rls_rng rng;
    atomic_int in_flight;
    _Atomic int64_t served, rejected, busy_ns;
    _Atomic int64_t bucket[S_NBUCKETS + 1];     /* non-cumulative; the last is +Inf */
};

int rls_dist_parse(const char *s, int32_t *out)
{
    if (s == NULL || out == NULL)
        return RLS_ERR_PARSE;
    if (strcmp(s, "exp") == 0 || strcmp(s, "exponential") == 0)
        *out = RLS_DIST_EXP;
    else if (strcmp(s, "lognormal") == 0)
        *out = RLS_DIST_LOGNORMAL;
    else if (strcmp(s, "const") == 0 || strcmp(s, "constant") == 0)
        *out = RLS_DIST_CONST;
    else
        return RLS_ERR_PARSE;
    return RLS_OK;
}

const char *rls_dist_name(int32_t dist)
{
    switch (dist) {
    case RLS_DIST_EXP: return "exp";
    case RLS_DIST_LOGNORMAL: return "lognormal";
    case RLS_DIST_CONST: return "const";
    default: return "?";
    }
}

double rls_dist_draw(int32_t dist, double mean_ms, double cv, double u1, double u2)
{
    if (dist == RLS_DIST_CONST)
        return mean_ms;
    if (dist == RLS_DIST_LOGNORMAL) {
        /* mean m, cv c: sigma^2 = ln(1 + c^2), mu = ln m - sigma^2 / 2 */
        double s2 = log(1.0 + cv * cv);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);     /* Box-Muller */
        return exp(log(mean_ms) - s2 / 2.0 + sqrt(s2) * z);
    }
    return -log(u1) * mean_ms;
}

struct rls_worker_http_params rls_worker_http_default_params(void)
{
    struct rls_worker_http_params p;
    memset(&p, 0, sizeof p);
    p.listen_fd = -1;
    p.port = 0;
    p.service = "worker";
    p.dist = RLS_DIST_EXP;
    p.mean_ms = 10.0;
    p.cv = 1.0;
    p.concurrency = 1;
    p.cpu_fraction = 1.0;
    p.startup_s = 0.0;
    p.seed = 1;
    return p;
}

static void s_sleep_until(int64_t end_ns)
{
    for (;;) {
        int64_t left = end_ns - rls__side_now_ns();
        if (left <= 0)
            return;
        struct timespec ts = { (time_t)(left / 1000000000), (long)(left % 1000000000) };
        nanosleep(&ts, NULL);
    }
}

/* One request's work; returns the service time it took, ns. */
static int64_t s_work(struct rls_worker_http *w)
{
    double u1, u2, ms;
    static _Thread_local uint64_t sink;

    pthread_mutex_lock(&w->mu);
    u1 = rls_rng_unif(&w->rng);
    u2 = rls_rng_unif(&w->rng);
    pthread_mutex_unlock(&w->mu);
    ms = rls_dist_draw(w->p.dist, w->p.mean_ms, w->p.cv, u1, u2);
    if (!(ms >= 0.0))
        ms = 0.0;
    if (ms > 600000.0)
        ms = 600000.0;
    int64_t start = rls__side_now_ns();
    int64_t total = (int64_t)(ms * 1e6);
    sink = rls__side_spin(start + (int64_t)((double)total * w->p.cpu_fraction), sink ^ (uint64_t)start);
    s_sleep_until(start + total);
    return rls__side_now_ns() - start;
}

static void s_observe(struct rls_worker_http *w, int64_t ns)
{
    double s = (double)ns / 1e9;
    int k = 0;
    while (k < S_NBUCKETS && s > s_bounds[k])
        k++;
    atomic_fetch_add(&w->bucket[k], 1);
    atomic_fetch_add(&w->busy_ns, ns);
    atomic_fetch_add(&w->served, 1);
}

size_t rls_worker_http_metrics(const struct rls_worker_http *w, char *buf, size_t cap)
{
    size_t n = 0;
    int64_t cum = 0, count = 0;
    struct rls_worker_http_stats st = rls_worker_http_stats(w);
    const char *svc = w != NULL ? w->service : "";

#define S_PUT(...)                                                                  \
    do {                                                                            \
        int k_ = snprintf(buf != NULL && n < cap ? buf + n : NULL, buf != NULL && n < cap ? cap - n : 0, \
                          __VA_ARGS__);                                             \
        if (k_ > 0)                                                                 \
            n += (size_t)k_;                                                        \
    } while (0)

    if (buf != NULL && cap > 0)
        buf[0] = '\0';
    S_PUT("# HELP rls_worker_requests_total Requests answered 200 by this worker.\n"
          "# TYPE rls_worker_requests_total counter\nrls_worker_requests_total{service=\"%s\"} %lld\n",
          svc, (long long)st.served);
    S_PUT("# HELP rls_worker_rejected_total Requests answered 503 (starting, or at the concurrency limit).\n"
          "# TYPE rls_worker_rejected_total counter\nrls_worker_rejected_total{service=\"%s\"} %lld\n",
          svc, (long long)st.rejected);
    S_PUT("# HELP rls_worker_in_flight Requests in service now.\n"
          "# TYPE rls_worker_in_flight gauge\nrls_worker_in_flight{service=\"%s\"} %d\n", svc, st.in_flight);
    S_PUT("# HELP rls_worker_ready 1 once the start-up delay has passed.\n"
          "# TYPE rls_worker_ready gauge\nrls_worker_ready{service=\"%s\"} %d\n", svc, st.ready);
    S_PUT("# HELP rls_worker_busy_seconds_total Service time spent.\n"
          "# TYPE rls_worker_busy_seconds_total counter\nrls_worker_busy_seconds_total{service=\"%s\"} %.9g\n",
          svc, st.busy_s);
    S_PUT("# HELP rls_worker_request_duration_seconds Service time of the requests answered 200.\n"
          "# TYPE rls_worker_request_duration_seconds histogram\n");
    for (int k = 0; w != NULL && k <= S_NBUCKETS; k++) {
        cum += atomic_load(&((struct rls_worker_http *)w)->bucket[k]);
        if (k < S_NBUCKETS)
            S_PUT("rls_worker_request_duration_seconds_bucket{service=\"%s\",le=\"%g\"} %lld\n", svc,
                  s_bounds[k], (long long)cum);
        else
            S_PUT("rls_worker_request_duration_seconds_bucket{service=\"%s\",le=\"+Inf\"} %lld\n", svc,
                  (long long)cum);
    }
    count = cum;
    S_PUT("rls_worker_request_duration_seconds_sum{service=\"%s\"} %.9g\n", svc, st.busy_s);
    S_PUT("rls_worker_request_duration_seconds_count{service=\"%s\"} %lld\n", svc, (long long)count);
#undef S_PUT
    return n;
}

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned int code, const char *text, size_t len,
                               enum MHD_ResponseMemoryMode mode, const char *ctype)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)text, mode);
    enum MHD_Result r;
    if (resp == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free((void *)text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    r = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    struct rls_worker_http *w = cls;
    static int marker;
    int ready;

    (void)version;
    (void)upload_data;
    /* answered on the second call (headers in, any body skipped): libmicrohttpd
     * keeps the connection alive then, as HAProxy wants */
    if (*req_cls == NULL) {
        *req_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (method == NULL || (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0 &&
                           strcmp(method, MHD_HTTP_METHOD_POST) != 0))
        return s_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", 19, MHD_RESPMEM_PERSISTENT,
                       "text/plain");
    ready = rls__side_now_ns() >= w->ready_ns;
    if (url != NULL && strcmp(url, "/healthz") == 0)
        return ready ? s_reply(c, MHD_HTTP_OK, "ready\n", 6, MHD_RESPMEM_PERSISTENT, "text/plain")
                     : s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n", 9, MHD_RESPMEM_PERSISTENT,
                               "text/plain");
    if (url != NULL && strcmp(url, "/metrics") == 0) {
        size_t need = rls_worker_http_metrics(w, NULL, 0);
        char *text = malloc(need + 1);
        if (text == NULL)
            return MHD_NO;
        rls_worker_http_metrics(w, text, need + 1);
        return s_reply(c, MHD_HTTP_OK, text, strlen(text), MHD_RESPMEM_MUST_FREE,
                       "text/plain; version=0.0.4; charset=utf-8");
    }
    if (!ready) {
        atomic_fetch_add(&w->rejected, 1);
        return s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n", 9, MHD_RESPMEM_PERSISTENT, "text/plain");
    }
    if (atomic_fetch_add(&w->in_flight, 1) >= w->p.concurrency) {
        atomic_fetch_sub(&w->in_flight, 1);
        atomic_fetch_add(&w->rejected, 1);
        return s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "busy\n", 5, MHD_RESPMEM_PERSISTENT, "text/plain");
    }
    int64_t ns = s_work(w);
    s_observe(w, ns);
    atomic_fetch_sub(&w->in_flight, 1);
    return s_reply(c, MHD_HTTP_OK, "ok\n", 3, MHD_RESPMEM_PERSISTENT, "text/plain");
}

struct rls_worker_http *rls_worker_http_new(const struct rls_worker_http_params *p, struct rls_err *err)
{
    struct rls_worker_http *w = NULL;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;

    if (p == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "worker: NULL params");
        return NULL;
    }
    if (p->dist < RLS_DIST_EXP || p->dist > RLS_DIST_CONST || !(p->mean_ms > 0.0 && p->mean_ms <= 600000.0) ||
        !(p->cv >= 0.0 && p->cv <= 10.0) || p->concurrency < 1 || p->concurrency > 1024 ||
        !(p->cpu_fraction >= 0.0 && p->cpu_fraction <= 1.0) || !(p->startup_s >= 0.0 && p->startup_s <= 86400.0) ||
        (p->listen_fd < 0 && (p->port < 0 || p->port > 65535))) {
        rls_err_set(err, RLS_ERR_RANGE,
                    "worker: params out of range (dist exp|lognormal|const, mean_ms 0..600000, cv 0..10, "
                    "concurrency 1..1024, cpu_fraction 0..1, startup_s 0..86400, port 0..65535)");
        return NULL;
    }
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "worker: out of memory");
        return NULL;
    }
    w->p = *p;
    snprintf(w->service, sizeof w->service, "%s", p->service != NULL ? p->service : "worker");
    for (char *q = w->service; *q; q++)   /* a label value: no quotes, backslashes or newlines */
        if (*q == '"' || *q == '\\' || *q == '\n')
            *q = '_';
    w->p.service = NULL;
    pthread_mutex_init(&w->mu, NULL);
    rls_rng_seed(&w->rng, p->seed);
    w->fd = p->listen_fd;
    if (w->fd < 0) {
        int one = 1;
        w->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)p->port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (w->fd < 0 || setsockopt(w->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(w->fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(w->fd, 128) != 0) {
            rls_err_set(err, RLS_ERR_IO, "worker: bind 127.0.0.1:%d: %s", p->port, strerror(errno));
            goto fail;
        }
    }
    if (getsockname(w->fd, (struct sockaddr *)&sa, &sl) != 0 || sa.sin_family != AF_INET) {
        rls_err_set(err, RLS_ERR_IO, "worker: listen socket %d is not a bound IPv4 socket", w->fd);
        goto fail;
    }
    w->port = ntohs(sa.sin_port);
    w->ready_ns = rls__side_now_ns() + (int64_t)(p->startup_s * 1e9);
    w->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                                 s_handler, w, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)w->fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(p->concurrency * 4 + 1024),
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
    if (w->daemon == NULL) {
        rls_err_set(err, RLS_ERR_IO, "worker: the HTTP daemon did not start on port %d", w->port);
        goto fail;
    }
    w->fd = -1;     /* libmicrohttpd closes the listening socket when it stops */
    return w;
fail:
    if (w->fd >= 0)
        close(w->fd);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return NULL;
}

void rls_worker_http_destroy(struct rls_worker_http **wp)
{
    struct rls_worker_http *w;
    if (wp == NULL || *wp == NULL)
        return;
    w = *wp;
    if (w->daemon != NULL)
        MHD_stop_daemon(w->daemon);
    if (w->fd >= 0)
        close(w->fd);
    pthread_mutex_destroy(&w->mu);
    free(w);
    *wp = NULL;
}

int rls_worker_http_port(const struct rls_worker_http *w)
{
    return w != NULL ? w->port : 0;
}

struct rls_worker_http_stats rls_worker_http_stats(const struct rls_worker_http *w)
{
    struct rls_worker_http_stats st;
    memset(&st, 0, sizeof st);
    if (w == NULL)
        return st;
    struct rls_worker_http *m = (struct rls_worker_http *)w;  /* atomics: loads only */
    st.served = atomic_load(&m->served);
    st.rejected = atomic_load(&m->rejected);
    st.in_flight = atomic_load(&m->in_flight);
    st.ready = rls__side_now_ns() >= w->ready_ns;
    st.busy_s = (double)atomic_load(&m->busy_ns) / 1e9;
    return st;
}
