/* cmd_load.c - `rlsched load`: replays a trace (or a constant rate) as real
 * open-loop requests to a local cluster (`rlsched cluster local`, wire in
 * agent/cluster.h): Poisson arrivals at the trace's rate, sent without
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

#include <zmq.h>

#include "cli.h"
#include "../agent/cluster.h"
#include "../env/quantile.h"
#include "../env/rng.h"
#include "../env/scenario.h"
#include "../env/trace.h"

#define S_PROG "rlsched load"
#define S_MAX_REQUESTS 10000000     /* hard cap on --max-requests */
#define S_MAX_DURATION 86400.0      /* hard cap on --duration, s */
#define S_INFO_MS 3000              /* the cluster must answer the info request within this */

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
            "usage: rlsched load --connect ENDPOINT (--trace FILE [--trace-column C] | --rate RPS)\n"
            "                    [--service NAME|all] [--speed X] [--scale Y] [--peak RPS]\n"
            "                    [--start S] [--duration S] [--max-requests N] [--drain S]\n"
            "                    [--seed N] [--json]\n"
            "\n"
            "Sends open-loop requests (Poisson arrivals, never waiting for answers) to a local\n"
            "cluster (rlsched cluster local --requests ENDPOINT) and prints what came back.\n"
            "  --connect       the cluster's request endpoint; loopback only (tcp://127.0.0.1:P)\n"
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
            "  --json          print the summary as one JSON object\n");
}

static int64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int rls_cmd_load(int argc, char **argv)
{
    int ret = 1;
    const char *connect = NULL, *trace_path = NULL, *trace_col = NULL, *service = "all";
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
    if (connect == NULL) {
        fprintf(stderr, S_PROG ": --connect is required, e.g. --connect tcp://127.0.0.1:5556 (try --help)\n");
        return 2;
    }
    if (!rls_cluster_endpoint_is_loopback(connect)) {
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
    double trace_end_s = tr != NULL ? (double)tr->n * tr->step_s : 0.0;
    int sending = 1;
    int64_t drain_end = 0;

    for (;;) {
        int64_t now = s_now_ns();
        if (s_stop)
            break;
        if (sending) {
            /* the rate now: the trace at trace time start + elapsed x speed */
            double r = rate;
            if (tr != NULL) {
                double tt = start_s + (double)(now - t0) / 1e9 * speed;
                if (tt >= trace_end_s) {
                    sending = 0;
                } else {
                    int64_t k = (int64_t)(tt / tr->step_s);
                    r = tr->rate[k < tr->n ? k : tr->n - 1];
                }
            }
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
        double elapsed = (double)(s_now_ns() - t0) / 1e9;
        rls_quantile_sort(lat_ms, n_lat);
        double p50 = rls_quantile_nearest_rank(lat_ms, n_lat, 0.50);
        double p95 = rls_quantile_nearest_rank(lat_ms, n_lat, 0.95);
        double p99 = rls_quantile_nearest_rank(lat_ms, n_lat, 0.99);
        int64_t unanswered = sent - replied - send_errors;
        if (json) {
            /* jansson, so the line is valid JSON whatever the numbers */
            json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "sent", (json_int_t)sent,
                                  "replied", (json_int_t)replied, "ok", (json_int_t)ok, "dropped",
                                  (json_int_t)dropped, "unknown", (json_int_t)unknown, "failed", (json_int_t)failed,
                                  "send_errors", (json_int_t)send_errors, "unanswered", (json_int_t)unanswered,
                                  "elapsed_s", s_num(elapsed), "p50_ms", s_num(p50), "p95_ms", s_num(p95),
                                  "p99_ms", s_num(p99));
            char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
            json_decref(o);
            if (text)
                printf("%s\n", text);
            else
                fprintf(stderr, "rlsched load: out of memory\n");
            free(text);
        }
        else
            printf("sent=%" PRId64 " replied=%" PRId64 " ok=%" PRId64 " dropped=%" PRId64 " unknown=%" PRId64
                   " failed=%" PRId64 " send_errors=%" PRId64 " unanswered=%" PRId64
                   " elapsed_s=%.3f p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f\n", sent, replied, ok, dropped, unknown,
                   failed, send_errors, unanswered, elapsed, p50, p95, p99);
        fflush(stdout);
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
