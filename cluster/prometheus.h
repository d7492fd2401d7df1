/* prometheus.h - a client of the Prometheus HTTP API (libcurl + jansson):
 * instant and range queries, the state an autoscaler reads from them, and a
 * range query turned into an rlsched trace.
 *
 *     struct rls_err err;
 *     struct rls_prom *pr = rls_prom_new("http://127.0.0.1:9090", NULL, &err);
 *     struct rls_prom_result r;
 *     if (rls_prom_query(pr, "sum(rate(http_requests_total[1m]))", 0, &r) == RLS_OK) {
 *         ... r.series[0].v[0] ...
 *         rls_prom_result_free(&r);
 *     } else {
 *         ... rls_prom_errmsg(pr) ...  // "prometheus http://...: HTTP 400: bad_data: ..."
 *     }
 *     rls_prom_destroy(&pr);
 *
 * What the API gives and what this client refuses:
 * - `/api/v1/query` (vector or scalar) and `/api/v1/query_range` (matrix),
 *   sent as POST forms (queries of any length). Any other result type where
 *   one is expected is an error naming both types.
 * - Values are the strings Prometheus sends: numbers, "NaN", "+Inf", "-Inf";
 *   they are kept as doubles (NaN and infinities included) for the caller.
 *   Stale series never appear in API answers (Prometheus drops them); a range
 *   answer simply has no sample at the steps where a series had none.
 * - Bounds: the whole request within params.timeout_s (also passed to
 *   Prometheus as its query timeout), the connection within
 *   params.connect_timeout_s; a body larger than params.max_body_bytes is cut
 *   off and refused (RLS_ERR_RANGE), and so is an answer of more than
 *   params.max_points samples. No redirects; http and https only.
 * - Errors name the server and say what went wrong: the transport (connect
 *   refused, timeout: RLS_ERR_IO), the HTTP status with Prometheus's
 *   "errorType" and "error" (bad_data: RLS_ERR_INVALID, the query is wrong;
 *   anything else: RLS_ERR_EXTERNAL), a body that is not Prometheus JSON
 *   (RLS_ERR_PARSE, quoting its start).
 *
 * Threads: a handle keeps one connection (reused between queries) and is
 * used by one thread at a time; separate handles are independent.
 *
 * The autoscaler's state (rls_prom_state_read) follows the Kubernetes HPA's
 * rules for missing data: a signal with no current value keeps its last
 * good one and says RLS_PROM_HOLD (scale up on it, never down); once no good
 * value came for stale_after_s it says RLS_PROM_STALE and the caller must
 * fall back (to its own safe policy). See rls_prom_state_read.
 */
#ifndef RLS_CLUSTER_PROMETHEUS_H
#define RLS_CLUSTER_PROMETHEUS_H

#include <stddef.h>
#include <stdint.h>

#include "../env/status.h"
#include "../env/trace.h"

struct rls_prom_params {
    double timeout_s;           /* a whole request, connect to last byte, seconds; also
                                   Prometheus's query timeout (5); 0.01..3600 */
    double connect_timeout_s;   /* the TCP (and TLS) connect, seconds (2); 0.01..3600 */
    int64_t max_body_bytes;     /* a larger response body is refused (16 MiB); 1 KiB..4 GiB */
    int64_t max_points;         /* a result with more samples in all is refused (2,000,000) */
};

/* The defaults above. */
struct rls_prom_params rls_prom_default_params(void);

struct rls_prom;

/* A client of the Prometheus at base_url ("http://HOST:PORT", optionally
 * with a path prefix "http://HOST/prometheus" and "user:pass@" credentials;
 * a trailing '/' is dropped; copied). p NULL = defaults (copied). Nothing is
 * sent yet. Returns an owned handle (rls_prom_destroy), or NULL with err:
 * RLS_ERR_INVALID for a NULL/empty URL or one not starting with http:// or
 * https://, RLS_ERR_RANGE for a parameter out of range, RLS_ERR_NOMEM,
 * RLS_ERR_EXTERNAL when libcurl cannot start. */
struct rls_prom *rls_prom_new(const char *base_url, const struct rls_prom_params *p,
                              struct rls_err *err);

/* Closes the connection, frees *p and sets it to NULL; NULL is a no-op. */
void rls_prom_destroy(struct rls_prom **p);

/* The last error ("" if none), one line naming the server; never NULL. */
const char *rls_prom_errmsg(const struct rls_prom *p);

/* The HTTP status of the last answer, 0 when none came (transport error). */
long rls_prom_http_status(const struct rls_prom *p);

/* The base URL as used (no trailing '/'); never NULL for a valid handle. */
const char *rls_prom_url(const struct rls_prom *p);

/* ---- results ---- */

enum rls_prom_type {
    RLS_PROM_NONE = 0,
    RLS_PROM_VECTOR = 1,    /* instant: one sample per series */
    RLS_PROM_MATRIX = 2,    /* range: samples per series */
    RLS_PROM_SCALAR = 3     /* instant: one series without labels, one sample */
};

struct rls_prom_series {
    char *metric;           /* labels as text, `{__name__="x",a="y"}` in the server's order,
                               `{}` for none (values escaped as in PromQL) */
    int32_t n_labels;
    char **label_names;     /* [n_labels] */
    char **label_values;    /* [n_labels] unescaped */
    int64_t n;              /* samples */
    double *t;              /* [n] Unix seconds, increasing */
    double *v;              /* [n] values; NaN, +Inf, -Inf kept */
};

struct rls_prom_result {
    enum rls_prom_type type;
    int32_t n_series;
    struct rls_prom_series *series;   /* [n_series], owned */
    int32_t n_warnings;     /* Prometheus's "warnings" */
    char warning[256];      /* the first one, "" if none */
};

/* Frees what r holds and zeroes it; NULL or a zeroed result is a no-op. */
void rls_prom_result_free(struct rls_prom_result *r);

/* The value of label `name` in s, NULL when absent. */
const char *rls_prom_label(const struct rls_prom_series *s, const char *name);

/* Parses an API answer (body[len], not necessarily NUL-terminated) that
 * came with HTTP status http_status, as the queries do: a "success" body
 * fills *out (zeroed first; the caller frees it with rls_prom_result_free);
 * an "error" body, or any status other than 200, returns its errorType and
 * error in err (RLS_ERR_INVALID for bad_data, else RLS_ERR_EXTERNAL). A body
 * that is not Prometheus JSON (not JSON, missing or mistyped "status",
 * "data", "resultType", "result", "metric", "value(s)", a value string that
 * is not a number) is RLS_ERR_PARSE; a "string" result RLS_ERR_UNSUPPORTED;
 * more than max_points samples (<= 0: no limit) RLS_ERR_RANGE. err's message
 * says what and where ("result[2].values[7]: ..."). *out is zeroed on
 * failure. */
int rls_prom_parse(const char *body, size_t len, long http_status, int64_t max_points,
                   struct rls_prom_result *out, struct rls_err *err);

/* ---- queries ---- */

/* Instant query at Unix time time_s (0 = the server's now). On RLS_OK *out
 * holds a vector or scalar (caller frees). Errors as the header says, with
 * rls_prom_errmsg; *out is zeroed. */
int rls_prom_query(struct rls_prom *p, const char *query, double time_s,
                   struct rls_prom_result *out);

/* Range query over [start_s, end_s] (Unix seconds, start <= end) every
 * step_s (> 0); Prometheus answers at most 11,000 steps per series (see
 * rls_prom_trace for longer spans). On RLS_OK *out holds a matrix (caller
 * frees); any other result type is RLS_ERR_PARSE. RLS_ERR_INVALID for bad
 * times or step (before sending). */
int rls_prom_query_range(struct rls_prom *p, const char *query, double start_s, double end_s,
                         double step_s, struct rls_prom_result *out);

/* One number from an instant query that should give at most one series
 * (wrap the query in sum(...) or similar). RLS_OK with *value (may be NaN
 * or infinite, as Prometheus computed it) and *t_eval (Unix time of the
 * evaluation; may be NULL); RLS_ERR_NOTFOUND for an empty vector (no such
 * series now: missing or stale data); RLS_ERR_RANGE for more than one
 * series; otherwise the query's errors. */
int rls_prom_query_value(struct rls_prom *p, const char *query, double *value, double *t_eval);

/* ---- the autoscaler's state, with the HPA's rules for missing data ---- */

enum rls_prom_health {
    RLS_PROM_FRESH = 0,     /* a current value: act on it, up or down */
    RLS_PROM_HOLD = 1,      /* no current value (empty answer, NaN, query failed): the last good
                               one, younger than stale_after_s, stands in; scale up on it if it
                               says so, never down (the HPA does not scale down on missing
                               metrics) */
    RLS_PROM_STALE = 2      /* no good value for stale_after_s, or never: do not act on it, fall
                               back (keep the replicas, or hand over to the safe policy) */
};

/* "fresh", "hold", "stale"; "unknown" otherwise. Static. */
const char *rls_prom_health_str(int h);

struct rls_prom_signal {
    double value;           /* current value (FRESH), last good one (HOLD, STALE once seen),
                               NaN if never seen */
    double age_s;           /* seconds since the last good value, 0 when FRESH, +Inf if never
                               (local monotonic clock) */
    double t_good;          /* local monotonic time of the last good value, seconds; -1 never */
    enum rls_prom_health health;
    int64_t n_missing;      /* reads that found no good value */
};

/* What to read. Selectors and expressions are PromQL, put inside the
 * queries shown; NULL skips a signal (requests is required). */
struct rls_prom_state_queries {
    const char *requests;       /* counter of requests, e.g.
                                   `haproxy_backend_http_requests_total{proxy="app"}`:
                                   rate_rps = sum(rate(REQ[W])) */
    const char *errors;         /* counter of failed requests, e.g.
                                   `haproxy_backend_http_responses_total{proxy="app",code="5xx"}`:
                                   error_rps = sum(rate(ERR[W])); no such series while requests
                                   are fresh reads as 0 (error counters often appear at the first
                                   error); NULL = none */
    const char *latency_bucket; /* a histogram's _bucket series, e.g.
                                   `rlsched_worker_request_seconds_bucket{job="w"}`: latency_s =
                                   histogram_quantile(Q, sum by (le) (rate(BUCKET[W]))); 0 while
                                   rate_rps is freshly 0 (no traffic, no latency); NULL = none */
    double quantile;            /* Q, 0..1 (0.95) */
    const char *ready;          /* an expression of ready replicas, e.g. `sum(up{job="w"})` (up
                                   exists for every configured target, 0 while down); NULL = none */
    double window_s;            /* W, seconds (30); at least 2 scrape intervals, else rate() has
                                   one sample and gives nothing */
    double stale_after_s;       /* STALE after this long without a good value, seconds (60) */
};

/* Defaults: every selector NULL, quantile 0.95, window 30 s, stale after 60 s. */
struct rls_prom_state_queries rls_prom_state_default_queries(void);

struct rls_prom_state {
    struct rls_prom_signal rate_rps;    /* requests/s */
    struct rls_prom_signal latency_s;   /* the Q-quantile of the latency, seconds */
    struct rls_prom_signal error_rps;   /* failed requests/s */
    struct rls_prom_signal ready;       /* ready replicas */
    enum rls_prom_health health;        /* the worst of the signals asked for */
    double read_s;                      /* wall seconds the last read took (all queries) */
    char why[256];                      /* the first problem of the last read, "" if none */
};

/* A state that has never read: every signal STALE, value NaN, age +Inf. */
void rls_prom_state_init(struct rls_prom_state *st);

/* Reads every signal q asks for (one instant query each) into *st, which
 * keeps the last good values between reads (init it once with
 * rls_prom_state_init; one state per service). Per signal: a finite value
 * -> FRESH; no value (empty answer, NaN, infinity, a query error: noted in
 * st->why) -> HOLD with the last good value while it is younger than
 * q->stale_after_s, then STALE. st->health is the worst. Returns RLS_OK
 * whatever the health (the health is the answer); RLS_ERR_INVALID for NULL
 * arguments, no requests selector, a quantile outside 0..1 or a window or
 * staleness <= 0 (nothing read). */
int rls_prom_state_read(struct rls_prom *p, const struct rls_prom_state_queries *q,
                        struct rls_prom_state *st);

/* ---- a range query as a trace ---- */

struct rls_prom_trace_params {
    double start_s, end_s;      /* Unix seconds, start <= end */
    double step_s;              /* seconds between samples (> 0) */
    int sum_series;             /* 1: add up every series the query gives; 0: the query must give
                                   one series (else an error saying how many) (0) */
    const char *unit;           /* "rps" (the query gives requests/s) or "shape" ("rps") */
    int64_t max_gap_steps;      /* longest run of missing steps filled by linear interpolation
                                   (10000); a longer one is an error */
    int64_t max_points;         /* refuse a span of more steps (RLS_TRACE_MAX_POINTS_DEFAULT) */
    int64_t chunk_steps;        /* steps per range request (10000; Prometheus refuses > 11,000) */
};

/* The defaults above, with zero times and step. */
struct rls_prom_trace_params rls_prom_trace_default_params(void);

/* Runs query over the span in range requests of chunk_steps and makes a
 * trace of it: sample i is the query's value at start_s + (i + k) * step_s
 * (k: leading steps without data are dropped, and so are trailing ones;
 * start_epoch_s says where it begins). Missing steps, NaN and infinite
 * values inside are filled by linear interpolation (counted in n_filled);
 * a negative value is an error naming its time. format "prometheus", source
 * "URL QUERY" (cut to fit), unit from tp. On RLS_OK *out is a new trace the
 * caller owns (rls_trace_destroy). Errors (with rls_prom_errmsg): the
 * queries' own, RLS_ERR_INVALID for bad params, RLS_ERR_RANGE for too many
 * steps, a gap longer than max_gap_steps, more than one series without
 * sum_series, a negative value; RLS_ERR_NOTFOUND when no step has data. */
int rls_prom_trace(struct rls_prom *p, const char *query, const struct rls_prom_trace_params *tp,
                   struct rls_trace **out);

/* ---- times and durations as users write them ---- */

/* A time: Unix seconds ("1700000000.5"), RFC 3339 ("2024-05-01T12:00:00Z",
 * "...T12:00:00.250+02:00"), "now", or "now-DURATION" / "now+DURATION"
 * (now_s is the caller's clock). Returns 0 with *out, or -1. */
int rls_prom_parse_time(const char *s, double now_s, double *out);

/* A duration: seconds ("15", "0.5") or Prometheus units joined largest
 * first ("500ms", "30s", "5m", "1h30m", "2d", "1w"). Returns 0 with *out
 * (>= 0), or -1. */
int rls_prom_parse_duration(const char *s, double *out);

#endif
