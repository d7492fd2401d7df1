/* cmd_load.c - `rlsched load`: replays a trace (or a constant rate) as real
 * open-loop requests to a local cluster (`rlsched cluster local`, wire in
 * cluster/local.h) or, with --http, as HTTP GETs to an HTTP front end such
 * as `rlsched cluster haproxy`'s HAProxy (libcurl multi, many requests in
 * flight on one thread): Poisson arrivals at the trace's rate, sent without
 * waiting for answers while the same loop counts the replies and their
 * latencies. Bounded in time and count, loopback addresses only. Prints one
 * summary line of key=value pairs on stdout (or a JSON object with --json).
 * Bad input: one line on stderr, exit 2 for usage errors, 1 for failures.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <zmq.h>

#include "cli.h"
#include "../cluster/local.h"
#include "../env/quantile.h"
#include "../env/rng.h"
#include "../env/scenario.h"
#include "../env/trace.h"

#define S_PROG "rlsched load"
#define S_MAX_REQUESTS 10000000     /* hard cap on --max-requests */
#define S_MAX_DURATION 86400.0      /* hard cap on --duration, s */
#define S_INFO_MS 3000              /* the cluster must answer the info request within this */
#define S_HTTP_INFLIGHT 2048        /* HTTP requests in flight at once; more count as send errors */
#define S_HTTP_TIMEOUT_MS 30000     /* one HTTP request's time limit */

static volatile sig_atomic_t s_stop;

/* A JSON number, or null for NaN / infinity. New reference. */
static json_t *s_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: rlsched load (--connect ENDPOINT | --http URL) (--trace FILE [--trace-column C] | --rate RPS)\n"
            "                    [--service NAME|all] [--speed X] [--scale Y] [--peak RPS]\n"
            "                    [--start S] [--duration S] [--max-requests N] [--drain S]\n"
            "                    [--seed N] [--json]\n"
            "\n"
            "Sends open-loop requests (Poisson arrivals, never waiting for answers) to a local\n"
            "cluster (rlsched cluster local --requests ENDPOINT) and prints what came back.\n"
            "  --connect       the cluster's request endpoint; loopback only (tcp://127.0.0.1:P)\n"
            "  --http          instead, an HTTP front end (rlsched cluster haproxy's): GET URL/SERVICE/;\n"
            "                  'all' asks URL/_services for the names; loopback only (http://127.0.0.1:P)\n"
            "  --trace         a trace file (any importable format): its rate over time, per service\n"
            "  --rate          a constant rate instead, requests/s per service\n"
            "  --service       the service to load, or 'all' (each gets the rate) (all)\n"
            "  --speed         trace seconds played per wall second (1)\n"
            "  --scale         multiply the rate (1)\n"
            "  --peak          rescale the trace so its maximum is RPS (needed for shape traces)\n"
            "  --start         start this many seconds into the trace (0)\n"
            "  --duration      stop sending after S wall seconds (60; at most 86400), or at the\n"
            "                  trace's end\n"
            "  --max-requests  stop after N requests (100000; at most 10000000)\n"
            "  --drain         then wait up to S seconds for outstanding replies (5)\n"
            "  --json          print the summary as one JSON object\n"
            "The summary: sent, replied, ok, dropped (HTTP 503/504), unknown (404), failed,\n"
            "send_errors, unanswered, elapsed_s, p50/p95/p99_ms (client-side, ok requests),\n"
            "throughput_rps (ok / elapsed).\n");
}

static int64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The rate now, requests/s per target: the trace at trace time start_s +
 * elapsed_s x speed (*ended = 1 past its end), or the constant rate. */
static double s_rate_now(const struct rls_trace *tr, double rate, double start_s, double speed, double elapsed_s,
                         int *ended)
{
    if (tr == NULL)
        return rate;
    double tt = start_s + elapsed_s * speed;
    if (tt >= (double)tr->n * tr->step_s) {
        *ended = 1;
        return 0.0;
    }
    int64_t k = (int64_t)(tt / tr->step_s);
    return tr->rate[k < tr->n ? k : tr->n - 1];
}

struct s_summary {
    int64_t sent, replied, ok, dropped, unknown, failed, send_errors;
    double elapsed_s;
};

/* Prints the summary line (or JSON) from the counts and the ok latencies
 * (lat_ms[0..n_lat), sorted here). */
static void s_print_summary(const struct s_summary *s, double *lat_ms, int64_t n_lat, int json)
{
    rls_quantile_sort(lat_ms, n_lat);
    double p50 = rls_quantile_nearest_rank(lat_ms, n_lat, 0.50);
    double p95 = rls_quantile_nearest_rank(lat_ms, n_lat, 0.95);
    double p99 = rls_quantile_nearest_rank(lat_ms, n_lat, 0.99);
    double thr = s->elapsed_s > 0.0 ? (double)s->ok / s->elapsed_s : 0.0;
    int64_t unanswered = s->sent - s->replied - s->send_errors;
    if (json) {
        /* jansson, so the line is valid JSON whatever the numbers */
        json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "sent", (json_int_t)s->sent,
                              "replied", (json_int_t)s->replied, "ok", (json_int_t)s->ok, "dropped",
                              (json_int_t)s->dropped, "unknown", (json_int_t)s->unknown, "failed",
                              (json_int_t)s->failed, "send_errors", (json_int_t)s->send_errors, "unanswered",
                              (json_int_t)unanswered, "elapsed_s", s_num(s->elapsed_s), "p50_ms", s_num(p50),
                              "p95_ms", s_num(p95), "p99_ms", s_num(p99), "throughput_rps", s_num(thr));
        char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
        json_decref(o);
        if (text)
            printf("%s\n", text);
        else
            fprintf(stderr, "rlsched load: out of memory\n");
        free(text);
    } else {
        printf("sent=%" PRId64 " replied=%" PRId64 " ok=%" PRId64 " dropped=%" PRId64 " unknown=%" PRId64
               " failed=%" PRId64 " send_errors=%" PRId64 " unanswered=%" PRId64
               " elapsed_s=%.3f p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f throughput_rps=%.3f\n", s->sent, s->replied,
               s->ok, s->dropped, s->unknown, s->failed, s->send_errors, unanswered, s->elapsed_s, p50, p95, p99,
               thr);
    }
    fflush(stdout);
}

/* 1 when url is http://HOST:PORT[/...] with a loopback HOST (as
 * rls_cluster_endpoint_is_loopback); the base without a trailing '/' goes to
 * base (cap bytes). */
static int s_http_url_ok(const char *url, char *base, size_t cap)
{
    char ep[300];
    const char *h, *slash;
    size_t n;
    if (url == NULL || strncmp(url, "http://", 7) != 0)
        return 0;
    h = url + 7;
    slash = strchr(h, '/');
    n = slash != NULL ? (size_t)(slash - h) : strlen(h);
    if (n == 0 || n + 7 >= sizeof ep)
        return 0;
    snprintf(ep, sizeof ep, "tcp://%.*s", (int)n, h);
    if (!rls_cluster_endpoint_is_loopback(ep) || strncmp(ep, "tcp://", 6) != 0)
        return 0;
    n = strlen(url);
    while (n > 7 && url[n - 1] == '/')
        n--;
    if (n >= cap)
        return 0;
    memcpy(base, url, n);
    base[n] = '\0';
    return 1;
}

static size_t s_discard(char *p, size_t size, size_t nmemb, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * nmemb;
}

struct s_grab {
    char buf[4096];
    size_t len;
};

static size_t s_grab_body(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct s_grab *g = ctx;
    size_t n = size * nmemb;
    size_t room = sizeof g->buf - 1 - g->len;
    memcpy(g->buf + g->len, p, n < room ? n : room);
    g->len += n < room ? n : room;
    return n;
}

struct s_http_cfg {
    const char *url;
    const char *service;
    const struct rls_trace *tr;
    double rate, speed, scale, start_s, duration, drain;
    int64_t max_requests;
    uint64_t seed;
    int json;
};

/* The --http mode: returns the exit status. */
static int s_load_http(const struct s_http_cfg *cfg)
{
    int ret = 1;
    char base[1024], url[1200];
    char names[64][RLS_NAME_MAX];
    int n_names = 0;
    CURL *easy[S_HTTP_INFLIGHT];
    int64_t slot_sent_ns[S_HTTP_INFLIGHT];
    int free_slots[S_HTTP_INFLIGHT], n_free = 0;
    CURLM *multi = NULL;
    double *lat_ms = NULL;
    int64_t n_lat = 0, inflight = 0;
    struct s_summary sum;
    struct sigaction sa, old_int, old_term;
    int handlers = 0;

    memset(&sum, 0, sizeof sum);
    memset(easy, 0, sizeof easy);
    if (!s_http_url_ok(cfg->url, base, sizeof base)) {
        fprintf(stderr, S_PROG ": --http '%s': refused, loopback only (http://127.0.0.1:PORT or "
                "http://localhost:PORT): this tool generates load on this machine only\n", cfg->url);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, S_PROG ": libcurl did not initialise\n");
        return 1;
    }
    /* the services: named, or asked of the front end (/_services) */
    if (strcmp(cfg->service, "all") == 0) {
        struct s_grab g;
        long code = 0;
        CURL *e = curl_easy_init();
        CURLcode cr = CURLE_FAILED_INIT;
        memset(&g, 0, sizeof g);
        snprintf(url, sizeof url, "%s/_services", base);
        if (e != NULL) {
            curl_easy_setopt(e, CURLOPT_URL, url);
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)S_INFO_MS);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_grab_body);
            curl_easy_setopt(e, CURLOPT_WRITEDATA, &g);
            cr = curl_easy_perform(e);
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            curl_easy_cleanup(e);
        }
        if (cr != CURLE_OK || code != 200) {
            fprintf(stderr, S_PROG ": %s: %s (is `rlsched cluster haproxy` serving there? or give --service NAME)\n",
                    url, cr != CURLE_OK ? curl_easy_strerror(cr) : "no service list (HTTP status not 200)");
            goto done;
        }
        g.buf[g.len] = '\0';
        char *save = NULL;
        for (char *tok = strtok_r(g.buf, " \n\r\t", &save); tok != NULL && n_names < 64;
             tok = strtok_r(NULL, " \n\r\t", &save))
            snprintf(names[n_names++], RLS_NAME_MAX, "%s", tok);
        if (n_names == 0) {
            fprintf(stderr, S_PROG ": %s: an empty service list\n", url);
            goto done;
        }
    } else {
        for (const char *c = cfg->service; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                  *c == '_' || *c == '.')) {
                fprintf(stderr, S_PROG ": --service '%s': letters, digits, '-', '_' and '.' only\n", cfg->service);
                ret = 2;
                goto done;
            }
        snprintf(names[n_names++], RLS_NAME_MAX, "%s", cfg->service);
    }
    multi = curl_multi_init();
    lat_ms = malloc((size_t)(cfg->max_requests > 0 ? cfg->max_requests : 1) * sizeof *lat_ms);
    if (multi == NULL || lat_ms == NULL) {
        fprintf(stderr, S_PROG ": out of memory\n");
        goto done;
    }
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)512);
    for (int k = S_HTTP_INFLIGHT - 1; k >= 0; k--)
        free_slots[n_free++] = k;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers = 1;

    struct rls_rng rng;
    rls_rng_seed(&rng, cfg->seed);
    int64_t t0 = s_now_ns();
    int64_t end_ns = t0 + (int64_t)(cfg->duration * 1e9);
    int64_t next_ns = t0, drain_end = 0;
    int have_next = 0, sending = 1;

    for (;;) {
        int64_t now = s_now_ns();
        if (s_stop)
            break;
        if (sending) {
            int ended = 0;
            double r = s_rate_now(cfg->tr, cfg->rate, cfg->start_s, cfg->speed, (double)(now - t0) / 1e9, &ended);
            r *= cfg->scale * (double)n_names;
            if (ended || now >= end_ns || sum.sent >= cfg->max_requests)
                sending = 0;
            if (sending && !have_next) {
                if (r > 0.0) {
                    next_ns = now + (int64_t)(-log(rls_rng_unif(&rng)) / r * 1e9);
                    have_next = 1;
                } else {
                    next_ns = now + 10000000;
                }
            }
            while (sending && have_next && now >= next_ns && sum.sent < cfg->max_requests) {
                int svc = n_names > 1 ? (int)(rls_rng_next(&rng) % (uint64_t)n_names) : 0;
                sum.sent++;
                have_next = 0;
                if (r > 0.0) {
                    next_ns += (int64_t)(-log(rls_rng_unif(&rng)) / r * 1e9);
                    have_next = 1;
                }
                if (n_free == 0) {      /* at the in-flight limit: the request is not sent */
                    sum.send_errors++;
                    continue;
                }
                int k = free_slots[--n_free];
                if (easy[k] == NULL)
                    easy[k] = curl_easy_init();
                CURL *e = easy[k];
                snprintf(url, sizeof url, "%s/%s/", base, names[svc]);
                if (e == NULL || curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK) {
                    free_slots[n_free++] = k;
                    sum.send_errors++;
                    continue;
                }
                curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)S_HTTP_TIMEOUT_MS);
                curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard);
                curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)(intptr_t)k);
                slot_sent_ns[k] = s_now_ns();
                if (curl_multi_add_handle(multi, e) != CURLM_OK) {
                    free_slots[n_free++] = k;
                    sum.send_errors++;
                    continue;
                }
                inflight++;
            }
            if (!sending)
                drain_end = now + (int64_t)(cfg->drain * 1e9);
        } else if (inflight == 0 || now >= drain_end) {
            break;
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            CURLcode res = msg->data.result;
            void *priv = NULL;
            long code = 0;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            int k = (int)(intptr_t)priv;
            int64_t at = s_now_ns();
            curl_multi_remove_handle(multi, e);
            inflight--;
            free_slots[n_free++] = k;
            sum.replied++;
            if (res == CURLE_OK && code == 200) {
                sum.ok++;
                lat_ms[n_lat++] = (double)(at - slot_sent_ns[k]) / 1e6;
            } else if (res == CURLE_OK && (code == 503 || code == 504)) {
                sum.dropped++;
            } else if (res == CURLE_OK && code == 404) {
                sum.unknown++;
            } else {
                sum.failed++;
            }
        }
        int64_t wait_ns = sending ? next_ns - s_now_ns() : drain_end - s_now_ns();
        int wait_ms = wait_ns > 10000000 ? 10 : (wait_ns > 0 ? (int)(wait_ns / 1000000) : 0);
        if (wait_ms > 0)
            curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
    }
    sum.elapsed_s = (double)(s_now_ns() - t0) / 1e9;
    s_print_summary(&sum, lat_ms, n_lat, cfg->json);
    ret = 0;
done:
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    for (int k = 0; k < S_HTTP_INFLIGHT; k++)
        if (easy[k] != NULL) {
            if (multi != NULL)
                curl_multi_remove_handle(multi, easy[k]);
            curl_easy_cleanup(easy[k]);
        }
    if (multi != NULL)
        curl_multi_cleanup(multi);
    curl_global_cleanup();
    free(lat_ms);
    return ret;
}

int rls_cmd_load(int argc, char **argv)
{
    int ret = 1;
    const char *connect = NULL, *http_url = NULL, *trace_path = NULL, *trace_col = NULL, *service = "all";
    double rate = -1.0, speed = 1.0, scale = 1.0, peak = 0.0, start_s = 0.0, duration = 60.0, drain = 5.0;
    double max_req_d = 100000.0, seed_d = 1.0;
    int json = 0;
    struct rls_err err = { 0 };
    struct rls_trace *tr = NULL;
    void *ctx = NULL, *sock = NULL;
    char names[64][RLS_NAME_MAX];
    int n_names = 0, n_targets = 0, targets[64];
    int64_t *sent_ns = NULL;
    double *lat_ms = NULL;
    int64_t sent = 0, replied = 0, ok = 0, dropped = 0, unknown = 0, failed = 0, send_errors = 0, n_lat = 0;
    struct sigaction sa, old_int, old_term;
    int handlers = 0;
    uint8_t buf[4096];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, S_PROG ": %s needs a value (try --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        int bad = 0;
        if (strcmp(a, "--connect") == 0)
            connect = v;
        else if (strcmp(a, "--http") == 0)
            http_url = v;
        else if (strcmp(a, "--trace") == 0)
            trace_path = v;
        else if (strcmp(a, "--trace-column") == 0)
            trace_col = v;
        else if (strcmp(a, "--service") == 0)
            service = v;
        else if (strcmp(a, "--rate") == 0)
            bad = rls_cli_parse_double(v, 0.0, 1e6, &rate);
        else if (strcmp(a, "--speed") == 0)
            bad = rls_cli_parse_double(v, 1e-6, 1e9, &speed);
        else if (strcmp(a, "--scale") == 0)
            bad = rls_cli_parse_double(v, 0.0, 1e6, &scale);
        else if (strcmp(a, "--peak") == 0)
            bad = rls_cli_parse_double(v, 1e-9, 1e6, &peak);
        else if (strcmp(a, "--start") == 0)
            bad = rls_cli_parse_double(v, 0.0, 1e12, &start_s);
        else if (strcmp(a, "--duration") == 0)
            bad = rls_cli_parse_double(v, 0.0, S_MAX_DURATION, &duration);
        else if (strcmp(a, "--drain") == 0)
            bad = rls_cli_parse_double(v, 0.0, 3600.0, &drain);
        else if (strcmp(a, "--max-requests") == 0)
            bad = rls_cli_parse_double(v, 0.0, S_MAX_REQUESTS, &max_req_d) || floor(max_req_d) != max_req_d;
        else if (strcmp(a, "--seed") == 0)
            bad = rls_cli_parse_double(v, 0.0, 9007199254740992.0, &seed_d) || floor(seed_d) != seed_d;
        else {
            fprintf(stderr, S_PROG ": unknown option '%s' (try --help)\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, S_PROG ": %s '%s': not a number in range (try --help)\n", a, v);
            return 2;
        }
    }
    if ((connect == NULL) == (http_url == NULL)) {
        fprintf(stderr, S_PROG ": give one of --connect ENDPOINT (e.g. tcp://127.0.0.1:5556) and --http URL "
                "(e.g. http://127.0.0.1:8080) (try --help)\n");
        return 2;
    }
    if (http_url != NULL) {
        char base[1024];
        if (!s_http_url_ok(http_url, base, sizeof base)) {
            fprintf(stderr, S_PROG ": --http '%s': refused, loopback only (http://127.0.0.1:PORT or "
                    "http://localhost:PORT): this tool generates load on this machine only\n", http_url);
            return 2;
        }
    } else if (!rls_cluster_endpoint_is_loopback(connect)) {
        fprintf(stderr, S_PROG ": --connect '%s': refused, loopback only (tcp://127.0.0.1:PORT, "
                "tcp://localhost:PORT or ipc://PATH): this tool generates load on this machine only\n", connect);
        return 2;
    }
    if ((trace_path == NULL) == (rate < 0.0)) {
        fprintf(stderr, S_PROG ": give exactly one of --trace FILE and --rate RPS (try --help)\n");
        return 2;
    }
    int64_t max_requests = (int64_t)max_req_d;

    if (trace_path != NULL) {
        if (rls_trace_load(trace_path, trace_col, &tr, &err) != RLS_OK) {
            fprintf(stderr, S_PROG ": %s\n", err.msg);
            goto done;
        }
        double mx = 0.0;
        for (int64_t k = 0; k < tr->n; k++)
            if (tr->rate[k] > mx)
                mx = tr->rate[k];
        if (peak > 0.0) {
            if (mx <= 0.0) {
                fprintf(stderr, S_PROG ": %s: the trace is all zero, --peak cannot rescale it\n", trace_path);
                goto done;
            }
            for (int64_t k = 0; k < tr->n; k++)
                tr->rate[k] *= peak / mx;
        } else if (strcmp(tr->unit, "rps") != 0) {
            fprintf(stderr, S_PROG ": %s: the trace is a load shape (unit '%s'), not requests/s: give --peak RPS\n",
                    trace_path, tr->unit);
            ret = 2;
            goto done;
        }
        if (start_s >= (double)tr->n * tr->step_s) {
            fprintf(stderr, S_PROG ": --start %g: past the trace's end (%g s)\n", start_s,
                    (double)tr->n * tr->step_s);
            ret = 2;
            goto done;
        }
    }

    if (http_url != NULL) {
        struct s_http_cfg hc;
        memset(&hc, 0, sizeof hc);
        hc.url = http_url;
        hc.service = service;
        hc.tr = tr;
        hc.rate = rate;
        hc.speed = speed;
        hc.scale = scale;
        hc.start_s = start_s;
        hc.duration = duration;
        hc.drain = drain;
        hc.max_requests = max_requests;
        hc.seed = (uint64_t)seed_d;
        hc.json = json;
        ret = s_load_http(&hc);
        goto done;
    }

    ctx = zmq_ctx_new();
    sock = ctx != NULL ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (sock == NULL) {
        fprintf(stderr, S_PROG ": socket: %s\n", zmq_strerror(zmq_errno()));
        goto done;
    }
    {
        int zero = 0, hwm = 1000000;
        int64_t maxmsg = 65536;
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    }
    if (zmq_connect(sock, connect) != 0) {
        fprintf(stderr, S_PROG ": connect %s: %s\n", connect, zmq_strerror(zmq_errno()));
        goto done;
    }

    /* the cluster's services, and a check that it is there at all */
    {
        char info = RLS_CLUSTER_MSG_INFO;
        int64_t end = s_now_ns() + (int64_t)S_INFO_MS * 1000000;
        int len = -1;
        zmq_send(sock, &info, 1, ZMQ_DONTWAIT);
        while (s_now_ns() < end) {
            zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
            if (zmq_poll(&it, 1, 50) > 0) {
                len = zmq_recv(sock, buf, sizeof buf - 1, ZMQ_DONTWAIT);
                if (len >= 1 && buf[0] == RLS_CLUSTER_MSG_INFO)
                    break;
                len = -1;
            }
        }
        if (len < 1) {
            fprintf(stderr, S_PROG ": no answer from %s within %d ms (is `rlsched cluster local --requests %s` "
                    "running?)\n", connect, S_INFO_MS, connect);
            goto done;
        }
        if (len > (int)sizeof buf - 1)
            len = (int)sizeof buf - 1;
        buf[len] = '\0';
        char *save = NULL;
        for (char *tok = strtok_r((char *)buf + 1, "\n", &save); tok != NULL && n_names < 64;
             tok = strtok_r(NULL, "\n", &save))
            snprintf(names[n_names++], RLS_NAME_MAX, "%s", tok);
    }
    for (int k = 0; k < n_names; k++)
        if (strcmp(service, "all") == 0 || strcmp(service, names[k]) == 0)
            targets[n_targets++] = k;
    if (n_targets == 0) {
        fprintf(stderr, S_PROG ": --service '%s': the cluster has no such service (it has", service);
        for (int k = 0; k < n_names; k++)
            fprintf(stderr, "%s %s", k ? "," : "", names[k]);
        fprintf(stderr, ")\n");
        ret = 2;
        goto done;
    }

    sent_ns = malloc((size_t)(max_requests > 0 ? max_requests : 1) * sizeof *sent_ns);
    lat_ms = malloc((size_t)(max_requests > 0 ? max_requests : 1) * sizeof *lat_ms);
    if (sent_ns == NULL || lat_ms == NULL) {
        fprintf(stderr, S_PROG ": out of memory for %" PRId64 " requests\n", max_requests);
        goto done;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers = 1;

    struct rls_rng rng;
    rls_rng_seed(&rng, (uint64_t)seed_d);
    int64_t t0 = s_now_ns();
    int64_t end_ns = t0 + (int64_t)(duration * 1e9);
    int64_t next_ns = t0;
    int have_next = 0;
    int sending = 1;
    int64_t drain_end = 0;

    for (;;) {
        int64_t now = s_now_ns();
        if (s_stop)
            break;
        if (sending) {
            /* the rate now: the trace at trace time start + elapsed x speed */
            int ended = 0;
            double r = s_rate_now(tr, rate, start_s, speed, (double)(now - t0) / 1e9, &ended);
            if (ended)
                sending = 0;
            r *= scale * (double)n_targets;
            if (now >= end_ns || sent >= max_requests)
                sending = 0;
            if (sending && !have_next) {
                if (r > 0.0) {
                    next_ns = now + (int64_t)(-log(rls_rng_unif(&rng)) / r * 1e9);
                    have_next = 1;
                } else {
                    next_ns = now + 10000000;   /* nothing to send: look again in 10 ms */
                }
            }
            while (sending && have_next && now >= next_ns && sent < max_requests) {
                int svc = targets[n_targets > 1 ? (int)(rls_rng_next(&rng) % (uint64_t)n_targets) : 0];
                size_t len = rls_cluster_encode_request(buf, sizeof buf, (uint64_t)sent, names[svc]);
                sent_ns[sent] = s_now_ns();
                if (len == 0 || zmq_send(sock, buf, len, ZMQ_DONTWAIT) != (int)len) {
                    send_errors++;
                    sent_ns[sent] = -1;
                }
                sent++;
                have_next = 0;
                if (r > 0.0) {
                    next_ns += (int64_t)(-log(rls_rng_unif(&rng)) / r * 1e9);
                    have_next = 1;
                }
            }
            if (!sending)
                drain_end = now + (int64_t)(drain * 1e9);
        } else if (replied + send_errors >= sent || now >= drain_end) {
            break;
        }
        /* replies until the next send is due */
        int64_t wait_ns = sending ? next_ns - s_now_ns() : drain_end - s_now_ns();
        long wait_ms = wait_ns > 10000000 ? 10 : (wait_ns > 0 ? (long)(wait_ns / 1000000) : 0);
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, wait_ms) <= 0)
            continue;
        for (int k = 0; k < 4096; k++) {
            struct rls_cluster_reply rep;
            int len = zmq_recv(sock, buf, sizeof buf, ZMQ_DONTWAIT);
            if (len < 0)
                break;
            if (rls_cluster_decode_reply(buf, (size_t)len, &rep) != RLS_OK || rep.id >= (uint64_t)sent ||
                sent_ns[rep.id] < 0)
                continue;
            int64_t at = s_now_ns();
            replied++;
            if (rep.status == RLS_CLUSTER_OK) {
                ok++;
                lat_ms[n_lat++] = (double)(at - sent_ns[rep.id]) / 1e6;
            } else if (rep.status == RLS_CLUSTER_DROPPED) {
                dropped++;
            } else if (rep.status == RLS_CLUSTER_UNKNOWN) {
                unknown++;
            } else {
                failed++;
            }
            sent_ns[rep.id] = -1;   /* a duplicate reply is not counted twice */
        }
    }
    {
        struct s_summary sum = { sent, replied, ok, dropped, unknown, failed, send_errors,
                                 (double)(s_now_ns() - t0) / 1e9 };
        s_print_summary(&sum, lat_ms, n_lat, json);
    }
    ret = 0;
done:
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    if (sock != NULL)
        zmq_close(sock);
    if (ctx != NULL)
        zmq_ctx_term(ctx);
    free(sent_ns);
    free(lat_ms);
    rls_trace_destroy(&tr);
    return ret;
}
