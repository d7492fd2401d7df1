/* worker_http.h - a small HTTP worker: the replica behind HAProxy in
 * `rlsched cluster haproxy` (cluster/haproxy.h), a real HTTP server
 * (libmicrohttpd, one thread per connection) on a loopback port.
 *
 *     struct rls_worker_http_params p = rls_worker_http_default_params();
 *     p.mean_ms = 20;  p.dist = RLS_DIST_LOGNORMAL;  p.cv = 1.5;  p.concurrency = 2;
 *     struct rls_worker_http *w = rls_worker_http_new(&p, &err);   // serving now
 *     ... GET http://127.0.0.1:<rls_worker_http_port(w)>/anything ...
 *     rls_worker_http_destroy(&w);
 *
 * Paths:
 *   GET /healthz  200 "ready" once the start-up delay has passed, 503 "starting" before
 *                 (HAProxy's health check; a Kubernetes readiness probe would do the same)
 *   GET /metrics  Prometheus text: rls_worker_requests_total, rls_worker_rejected_total,
 *                 rls_worker_in_flight, rls_worker_ready, rls_worker_busy_seconds_total and
 *                 the histogram rls_worker_request_duration_seconds (service time measured
 *                 in the worker), each labelled {service="NAME"}
 *   GET anything else: one request. 503 while starting or when `concurrency` requests are
 *                 already in service (counted as rejected); else it draws a service time
 *                 from the distribution, burns CPU for cpu_fraction of it and sleeps the
 *                 rest, and answers 200 "ok".
 * Other methods get 405. Library code: never prints.
 */
#ifndef RLS_WORKER_HTTP_H
#define RLS_WORKER_HTTP_H

#include <stdint.h>

#include "../env/status.h"

/* Service-time distributions. */
enum rls_dist {
    RLS_DIST_EXP = 0,           /* exponential with mean mean_ms (cv 1) */
    RLS_DIST_LOGNORMAL = 1,     /* lognormal with mean mean_ms and coefficient of variation cv */
    RLS_DIST_CONST = 2,         /* always mean_ms */
};

/* Parses "exp", "lognormal" or "const" into *out; returns RLS_OK or RLS_ERR_PARSE. */
int rls_dist_parse(const char *s, int32_t *out);

/* The name of a distribution ("exp", ...; "?" for others). Static. */
const char *rls_dist_name(int32_t dist);

/* Draws one service time, ms, from dist with mean_ms and cv, using two
 * uniforms u1, u2 in (0, 1) (u2 only for the lognormal). */
double rls_dist_draw(int32_t dist, double mean_ms, double cv, double u1, double u2);

struct rls_worker_http_params {
    int listen_fd;              /* an already listening TCP socket to serve (taken over and closed
                                   by destroy); -1 = bind 127.0.0.1:port (-1) */
    int port;                   /* the loopback port when listen_fd < 0; 0 = pick one (0) */
    const char *service;        /* the metrics' service label, copied ("worker") */
    int32_t dist;               /* enum rls_dist (RLS_DIST_EXP) */
    double mean_ms;             /* mean service time, ms (10) */
    double cv;                  /* coefficient of variation of the lognormal, 0..10 (1) */
    int32_t concurrency;        /* requests served at once, 1..1024; more get 503 (1) */
    double cpu_fraction;        /* share of a service time burnt on the CPU, the rest asleep, 0..1 (1) */
    double startup_s;           /* start-up delay: /healthz says 503 until then, s (0) */
    uint64_t seed;              /* service-time draws (1) */
};

/* Counters since rls_worker_http_new; any thread. */
struct rls_worker_http_stats {
    int64_t served;             /* requests answered 200 */
    int64_t rejected;           /* requests answered 503 (starting or over concurrency) */
    int32_t in_flight;          /* requests in service now */
    int32_t ready;              /* 1 once the start-up delay has passed */
    double busy_s;              /* service time spent, seconds */
};

struct rls_worker_http;

/* The defaults above. */
struct rls_worker_http_params rls_worker_http_default_params(void);

/* Checks p and starts serving at once (the start-up delay runs from now).
 * Returns an owned handle (rls_worker_http_destroy) or NULL with err:
 * RLS_ERR_INVALID / RLS_ERR_RANGE naming the field, RLS_ERR_IO when the port
 * cannot be bound or the daemon does not start. */
struct rls_worker_http *rls_worker_http_new(const struct rls_worker_http_params *p, struct rls_err *err);

/* Stops serving (requests in service finish first), closes the socket, frees
 * *w and sets it to NULL; NULL is a no-op. */
void rls_worker_http_destroy(struct rls_worker_http **w);

/* The port served (0 for NULL). */
int rls_worker_http_port(const struct rls_worker_http *w);

/* The counters (zeroes for NULL). */
struct rls_worker_http_stats rls_worker_http_stats(const struct rls_worker_http *w);

/* Writes the /metrics text into buf (cap bytes, NUL-terminated, cut when it
 * does not fit). Returns the length it needs (without the NUL), as snprintf. */
size_t rls_worker_http_metrics(const struct rls_worker_http *w, char *buf, size_t cap);

#endif
