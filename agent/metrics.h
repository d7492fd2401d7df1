/* metrics.h - the agent's Prometheus metrics: a registry of counters, gauges
 * and histograms (with optional labels), rendered in the Prometheus text
 * exposition format 0.0.4, and a small HTTP server (libmicrohttpd, its own
 * thread) that serves it on GET /metrics. The names the agent exports are
 * listed in agent/METRICS.md.
 *
 *     struct rls_metrics *m = rls_metrics_new(NULL, &err);
 *     int32_t dec = rls_metrics_counter(m, "rlsched_decisions_total", "Decisions made.");
 *     int32_t lat = rls_metrics_histogram(m, "rlsched_decision_latency_seconds", "...",
 *                                         buckets, n_buckets);
 *     int32_t fb[RLS_FALLBACK_COUNT];
 *     rls_metrics_counter_vec(m, "rlsched_fallbacks_total", "...", "reason",
 *                             RLS_FALLBACK_COUNT, reason_names, fb);
 *     rls_metrics_serve(m, NULL, 9464, &err);       // 127.0.0.1:9464/metrics
 *     ... control loop:
 *     rls_metrics_inc(m, dec);
 *     rls_metrics_observe(m, lat, seconds);
 *     ...
 *     rls_metrics_destroy(&m);                      // stops the server too
 *
 * Threads: create every family and series up front (creation allocates and
 * may fail); after that the update functions (inc, add, set, observe, get)
 * never allocate and may be called from any thread while the server renders
 * from its own: one mutex per registry is held only for the few instructions
 * of one update or of copying one series' values, never while formatting or
 * doing I/O. Creation is also safe while serving (new series appear in the
 * next scrape), but rls_metrics_errmsg is only meaningful to the thread that
 * creates.
 *
 * Ids: creation functions return a series id (>= 0) to pass to the update
 * functions, or a family id for rls_metrics_family / rls_metrics_series; a
 * negative return is an enum rls_status with the message in
 * rls_metrics_errmsg.
 */
#ifndef RLS_AGENT_METRICS_H
#define RLS_AGENT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../env/status.h"

enum rls_metric_type {
    RLS_METRIC_COUNTER = 0,     /* monotonic, starts at 0 */
    RLS_METRIC_GAUGE = 1,       /* any value, starts at 0 */
    RLS_METRIC_HISTOGRAM = 2    /* fixed buckets, cumulative in the output */
};

#define RLS_METRICS_MAX_LABELS 4    /* label names per family (histograms add "le") */
#define RLS_METRICS_MAX_BUCKETS 64  /* finite bucket bounds per histogram */
#define RLS_METRICS_NAME_MAX 128    /* longest metric or label name, bytes */
#define RLS_METRICS_VALUE_MAX 256   /* longest label value, bytes (before escaping) */
#define RLS_METRICS_HELP_MAX 1024   /* longest help text, bytes (before escaping) */

struct rls_metrics_params {
    int32_t max_families;       /* families the registry can hold (64) */
    int32_t max_series;         /* series over all families (4096) */
    /* the HTTP server (rls_metrics_serve); see agent/METRICS.md, "Abuse" */
    int32_t max_connections;    /* HTTP connections open at once, 8..65536 (256); once
                                   fewer than max/8 are free, each new connection closes
                                   the oldest one that has not sent its request yet */
    double request_timeout_s;   /* a connection must send a whole request (and take its
                                   answer) within this many seconds of opening or of its
                                   previous answer, else it is closed, however slowly it
                                   trickles; 0.1..3600 (5) */
};

/* The defaults above. */
struct rls_metrics_params rls_metrics_default_params(void);

struct rls_metrics;

/* A registry with room for p's families and series (p NULL = defaults;
 * copied; the tables are allocated here once, so adding never moves them).
 * Returns an owned handle (rls_metrics_destroy), or NULL with err for a
 * capacity < 1 or > 1,000,000, or a server limit out of its range
 * (RLS_ERR_RANGE), or no memory. */
struct rls_metrics *rls_metrics_new(const struct rls_metrics_params *p, struct rls_err *err);

/* Stops the server if one runs (waiting for its thread), frees *m and sets it
 * to NULL; NULL is a no-op. No other thread may use *m during or after. */
void rls_metrics_destroy(struct rls_metrics **m);

/* Last error message of a creation function or rls_metrics_serve ("" if
 * none), never NULL. */
const char *rls_metrics_errmsg(const struct rls_metrics *m);

/* ---- creating families and series (up front) ---- */

/* A family: type, metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), help text (any
 * bytes; backslashes and newlines are escaped in the output), n_labels label
 * names ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", distinct; "le" is
 * refused for histograms), and for a histogram its bucket upper bounds
 * buckets[n_buckets] (strictly increasing, finite; a last +Inf is accepted
 * and dropped: the +Inf bucket is always there; n_buckets 0 = only +Inf;
 * NULL/0 for other types). Everything is copied. Returns the family id
 * (>= 0); RLS_ERR_INVALID for a NULL m/name/help, a bad name, label name or
 * type, a duplicate metric name; RLS_ERR_RANGE for a bad count or bucket
 * list, a too long name or help; RLS_ERR_NOMEM when the table is full or
 * memory runs out. */
int32_t rls_metrics_family(struct rls_metrics *m, enum rls_metric_type type, const char *name,
                           const char *help, int32_t n_labels, const char *const *label_names,
                           const double *buckets, int32_t n_buckets);

/* One series of family `family` with label_values[n_labels] (any bytes up
 * to RLS_METRICS_VALUE_MAX; \, " and newlines are escaped in the output;
 * NULL when the family has no labels). Series are rendered in creation
 * order. Returns the series id (>= 0); RLS_ERR_INVALID for a bad family, a
 * NULL value, the same values as an existing series of the family;
 * RLS_ERR_RANGE for a too long value; RLS_ERR_NOMEM when full. */
int32_t rls_metrics_series(struct rls_metrics *m, int32_t family,
                           const char *const *label_values);

/* Shortcuts for an unlabelled family with its one series: return the
 * series id, or a negative status as rls_metrics_family. */
int32_t rls_metrics_counter(struct rls_metrics *m, const char *name, const char *help);
int32_t rls_metrics_gauge(struct rls_metrics *m, const char *name, const char *help);
int32_t rls_metrics_histogram(struct rls_metrics *m, const char *name, const char *help,
                              const double *buckets, int32_t n_buckets);

/* A family with one label and a series for each of values[n] (e.g.
 * "reason" with the fallback reasons): ids_out[n] gets the series ids in
 * order. Returns the family id, or a negative status (some series may then
 * exist already; ids_out is undefined). rls_metrics_gauge_vec is the same
 * for gauges. */
int32_t rls_metrics_counter_vec(struct rls_metrics *m, const char *name, const char *help,
                                const char *label_name, int32_t n, const char *const *values,
                                int32_t *ids_out);
int32_t rls_metrics_gauge_vec(struct rls_metrics *m, const char *name, const char *help,
                              const char *label_name, int32_t n, const char *const *values,
                              int32_t *ids_out);

/* Bucket bounds for latencies in seconds: 1 us to 1 s in 1-2.5-5 steps (19
 * bounds; static, never NULL); *n gets the count. */
const double *rls_metrics_latency_buckets(int32_t *n);

/* The process metrics every official Prometheus client exports, read from
 * /proc/self at each render (so at each scrape): process_cpu_seconds_total
 * (counter, user + system), process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds (the soft
 * RLIMIT_NOFILE; +Inf when unlimited), process_start_time_seconds (Unix
 * time, from /proc/stat's btime). Call once, up front. Returns RLS_OK;
 * RLS_ERR_UNSUPPORTED (nothing created) where /proc/self/stat cannot be
 * read; a negative status as rls_metrics_family (a second call finds the
 * names taken: RLS_ERR_INVALID). */
int rls_metrics_process(struct rls_metrics *m);

/* The build-info convention: a gauge `name` (e.g. "rlsched_build_info")
 * with labels version (copied) and compiler (the compiler that built this
 * file, e.g. "gcc 12.2.0"), always 1. Returns the series id, or a negative
 * status as rls_metrics_family (RLS_ERR_INVALID for a NULL name or
 * version). */
int32_t rls_metrics_build_info(struct rls_metrics *m, const char *name, const char *version);

/* ---- updates (any thread; no allocation) ---- */

/* Counter += 1. Returns RLS_OK, or RLS_ERR_INVALID for a bad id or a series
 * that is not a counter. */
int rls_metrics_inc(struct rls_metrics *m, int32_t id);

/* Counter += v (v finite and >= 0, else RLS_ERR_RANGE and no change) or
 * gauge += v (any finite v). Returns RLS_OK, RLS_ERR_RANGE, or
 * RLS_ERR_INVALID for a bad id or a histogram. */
int rls_metrics_add(struct rls_metrics *m, int32_t id, double v);

/* Gauge = v (any value, NaN and infinities included), or counter = v to
 * mirror a monotonic count kept elsewhere (e.g. rls_safety_fallback_count;
 * v must be >= 0 and not NaN, else RLS_ERR_RANGE; a smaller value than
 * before is taken as a counter reset, as Prometheus does). Returns RLS_OK,
 * RLS_ERR_RANGE, or RLS_ERR_INVALID for a bad id or a histogram. */
int rls_metrics_set(struct rls_metrics *m, int32_t id, double v);

/* Histogram: counts v in the first bucket whose bound is >= v (NaN only in
 * +Inf), adds v to the sum (a NaN or infinite v makes the sum NaN or
 * infinite, as in the reference client). Returns RLS_OK, or RLS_ERR_INVALID
 * for a bad id or a series that is not a histogram. */
int rls_metrics_observe(struct rls_metrics *m, int32_t id, double v);

/* A series' current value: a counter's or gauge's value, a histogram's
 * observation count; NaN for a bad id or NULL m. */
double rls_metrics_get(struct rls_metrics *m, int32_t id);

/* ---- output ---- */

/* Renders every family that has at least one series, in creation order, in
 * the Prometheus text format 0.0.4: "# HELP name text" and "# TYPE name
 * type" lines, then one line per sample "name{l1=\"v1\",...} value"
 * (histograms: name_bucket{...,le="bound"} with cumulative counts up to
 * le="+Inf", then name_sum and name_count). Numbers are the shortest
 * decimal that reads back to the same double ("NaN", "+Inf", "-Inf").
 * Each series is a consistent snapshot. Writes at most len bytes including
 * a terminating NUL into buf (when len > 0), as snprintf. Returns the length
 * the full text needs without the NUL (>= len means buf holds a cut copy:
 * call again with more room); RLS_ERR_INVALID for NULL m, or NULL buf with
 * len > 0. */
int64_t rls_metrics_render(struct rls_metrics *m, char *buf, size_t len);

/* The rendered text in a new NUL-terminated buffer the caller owns (free());
 * *len_out (may be NULL) gets its length. NULL for NULL m or no memory. */
char *rls_metrics_render_dup(struct rls_metrics *m, size_t *len_out);

/* ---- the HTTP server ---- */

/* Serves the registry over HTTP with libmicrohttpd's internal thread:
 * GET or HEAD /metrics -> 200 with Content-Type "text/plain; version=0.0.4;
 * charset=utf-8"; any other path -> 404; any other method -> 405 (with an
 * Allow header); requests libmicrohttpd cannot parse get its own 400 (505
 * for an unknown HTTP version; a one-token request line gets the connection
 * closed). Abuse (see agent/METRICS.md): at most p.max_connections open at
 * once, the oldest connection without a request closed to make room for a
 * new one, and every connection closed when it has not sent a whole request
 * within p.request_timeout_s (a watchdog thread of the registry enforces it,
 * whatever the connection trickles); requests are at most 16 KiB.
 * bind_addr is a numeric IPv4 or IPv6 address (NULL = "127.0.0.1",
 * loopback only; "0.0.0.0" to listen everywhere); port 0 picks a free port
 * (see rls_metrics_port). Returns RLS_OK; RLS_ERR_INVALID for NULL m or an
 * address that does not parse; RLS_ERR_STATE when already serving;
 * RLS_ERR_IO when the daemon cannot start (port in use...), with err and
 * rls_metrics_errmsg naming the address. The server never prints. */
int rls_metrics_serve(struct rls_metrics *m, const char *bind_addr, uint16_t port,
                      struct rls_err *err);

/* Splits a listen address as users write it into a host for
 * rls_metrics_serve and a port: "9464" (loopback, 127.0.0.1), "HOST:9464"
 * with a numeric IPv4 HOST or "localhost" (= 127.0.0.1), "[IPV6]:9464";
 * port 0..65535 (0 = any free port). host[RLS_METRICS_HOST_MAX] gets the
 * address. Returns RLS_OK, or RLS_ERR_INVALID (NULL arguments, no port, a
 * port out of range or with other characters, a host that is not a numeric
 * address, IPv6 without brackets) with err quoting spec. */
#define RLS_METRICS_HOST_MAX 64
int rls_metrics_parse_listen(const char *spec, char *host, uint16_t *port, struct rls_err *err);

/* The port the server listens on (the real one when 0 was asked), 0 when
 * not serving or NULL m. */
uint16_t rls_metrics_port(const struct rls_metrics *m);

/* Requests answered by the server since it started, by outcome: status 200,
 * 404 and 405 (counted by the registry itself, not exported as a metric).
 * 0 for NULL m or another status. */
uint64_t rls_metrics_http_count(struct rls_metrics *m, int http_status);

/* What the server did with its connections since it started. */
struct rls_metrics_http_stats {
    uint64_t accepted;          /* connections accepted */
    uint64_t evicted;           /* closed to make room for a newer one (oldest without a
                                   request first) */
    uint64_t timed_out;         /* closed for missing request_timeout_s */
    int32_t open;               /* open now (closing ones included) */
};

/* Fills *out with the counts above, since the server last started (zeros
 * before the first start; kept after a stop). Returns RLS_OK, or
 * RLS_ERR_INVALID for NULL m or out. */
int rls_metrics_http_stats(struct rls_metrics *m, struct rls_metrics_http_stats *out);

/* Stops the server and waits for its threads; no-op when not serving or NULL
 * m. The registry stays usable (and can serve again). */
void rls_metrics_stop(struct rls_metrics *m);

#endif
