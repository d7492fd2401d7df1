/* test_prometheus.c - the Prometheus API client (cluster/prometheus.h).
 *
 * Three parts:
 * - the JSON answers, parsed from bytes: every result type, NaN and
 *   infinities, error answers, malformed bodies, the sample limit;
 * - the HTTP path against a small server on a loopback socket that answers
 *   what each test asks (a body too large with and without Content-Length,
 *   a server that never answers, an HTML error page, a cut body, the wrong
 *   result type), a port nobody listens on, and range answers with gaps, NaN,
 *   negative values and several series made into a trace (in chunks);
 * - a real Prometheus (Debian's `prometheus`, own temp dir, random port,
 *   stopped by PID) scraping a real rlsched metrics endpoint in this process
 *   (agent/metrics.h, with the process_* metrics) fed at a known rate: the
 *   instant and range queries, the autoscaler's state (rate, latency
 *   quantile, errors, ready), the HPA's rules once the endpoint stops
 *   (hold, then stale), and a range query made into a trace. Without the
 *   prometheus binary this part is SKIPPED (exit 77).
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/metrics.h"
#include "cluster/prometheus.h"
#include "env/trace.h"
#include "rls_test_skip.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double s_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void s_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int s_parse(const char *body, struct rls_prom_result *r, struct rls_err *err)
{
    return rls_prom_parse(body, strlen(body), 200, 0, r, err);
}

/* ------------------------------------------------------------------ */
/* parsing */

static void test_parse_vector_keeps_labels_nan_and_infinities(void **state)
{
    (void)state;
    struct rls_prom_result r;
    struct rls_err err;
    const char *body =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
        "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\\\"b\"},\"value\":[1700000000.5,\"1\"]},"
        "{\"metric\":{},\"value\":[1700000000,\"NaN\"]},"
        "{\"metric\":{\"x\":\"y\"},\"value\":[1700000000,\"+Inf\"]},"
        "{\"metric\":{\"x\":\"z\"},\"value\":[1700000000,\"-Inf\"]},"
        "{\"metric\":{\"x\":\"w\"},\"value\":[1700000000,\"2.5e-3\"]}]}}";
    assert_int_equal(s_parse(body, &r, &err), RLS_OK);
    assert_int_equal(r.type, RLS_PROM_VECTOR);
    assert_int_equal(r.n_series, 5);
    assert_string_equal(r.series[0].metric, "{__name__=\"up\",job=\"a\\\"b\"}");
    assert_string_equal(rls_prom_label(&r.series[0], "job"), "a\"b");
    assert_null(rls_prom_label(&r.series[0], "instance"));
    assert_int_equal(r.series[0].n, 1);
    assert_true(r.series[0].t[0] == 1700000000.5);
    assert_true(r.series[0].v[0] == 1.0);
    assert_string_equal(r.series[1].metric, "{}");
    assert_true(isnan(r.series[1].v[0]));
    assert_true(isinf(r.series[2].v[0]) && r.series[2].v[0] > 0);
    assert_true(isinf(r.series[3].v[0]) && r.series[3].v[0] < 0);
    assert_true(r.series[4].v[0] == 2.5e-3);
    assert_int_equal(r.n_warnings, 0);
    rls_prom_result_free(&r);
    rls_prom_result_free(&r);   /* a freed result is zeroed: twice is safe */
}

static void test_parse_matrix_scalar_empty_and_warnings(void **state)
{
    (void)state;
    struct rls_prom_result r;
    struct rls_err err;
    assert_int_equal(s_parse("{\"status\":\"success\",\"warnings\":[\"w1\",\"w2\"],\"data\":{"
                             "\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"a\":\"1\"},"
                             "\"values\":[[10,\"1\"],[11,\"2\"],[12.5,\"NaN\"]]},"
                             "{\"metric\":{\"a\":\"2\"},\"values\":[]}]}}",
                             &r, &err),
                     RLS_OK);
    assert_int_equal(r.type, RLS_PROM_MATRIX);
    assert_int_equal(r.n_series, 2);
    assert_int_equal(r.series[0].n, 3);
    assert_true(r.series[0].t[2] == 12.5 && isnan(r.series[0].v[2]) && r.series[0].v[1] == 2.0);
    assert_int_equal(r.series[1].n, 0);
    assert_int_equal(r.n_warnings, 2);
    assert_string_equal(r.warning, "w1");
    rls_prom_result_free(&r);

    assert_int_equal(s_parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
                             "\"result\":[5,\"42\"]}}", &r, &err), RLS_OK);
    assert_int_equal(r.type, RLS_PROM_SCALAR);
    assert_int_equal(r.n_series, 1);
    assert_true(r.series[0].v[0] == 42.0 && r.series[0].t[0] == 5.0);
    rls_prom_result_free(&r);

    assert_int_equal(s_parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                             "\"result\":[]}}", &r, &err), RLS_OK);
    assert_int_equal(r.n_series, 0);
    rls_prom_result_free(&r);
}

static void test_parse_error_answers_carry_type_and_message(void **state)
{
    (void)state;
    struct rls_prom_result r;
    struct rls_err err;
    const char *bad = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:4: parse error\"}";
    assert_int_equal(rls_prom_parse(bad, strlen(bad), 400, 0, &r, &err), RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "HTTP 400"));
    assert_non_null(strstr(err.msg, "bad_data: 1:4: parse error"));
    assert_int_equal(r.n_series, 0);
    assert_null(r.series);

    const char *tmo = "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out\"}";
    assert_int_equal(rls_prom_parse(tmo, strlen(tmo), 503, 0, &r, &err), RLS_ERR_EXTERNAL);
    assert_non_null(strstr(err.msg, "HTTP 503: timeout: query timed out"));

    /* an error status without the fields; a 200 that says error */
    const char *bare = "{\"status\":\"error\"}";
    assert_int_equal(rls_prom_parse(bare, strlen(bare), 422, 0, &r, &err), RLS_ERR_EXTERNAL);
    assert_non_null(strstr(err.msg, "(no error message)"));
    assert_int_equal(rls_prom_parse(tmo, strlen(tmo), 200, 0, &r, &err), RLS_ERR_EXTERNAL);

    /* a "success" body with a non-200 status is not trusted */
    const char *ok = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}";
    assert_int_equal(rls_prom_parse(ok, strlen(ok), 500, 0, &r, &err), RLS_ERR_EXTERNAL);

    /* an HTML error page from a proxy: the status and the body's start */
    const char *html = "<html><body>502 Bad Gateway</body></html>";
    assert_int_equal(rls_prom_parse(html, strlen(html), 502, 0, &r, &err), RLS_ERR_EXTERNAL);
    assert_non_null(strstr(err.msg, "HTTP 502, not a Prometheus API answer: '<html><body>502"));
}

static void test_parse_refuses_malformed_bodies_with_a_reason(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int status;
        const char *says;
    } cases[] = {
        {"", RLS_ERR_PARSE, "not JSON"},
        {"{\"status\":\"success\"", RLS_ERR_PARSE, "not JSON"},
        {"[1,2]", RLS_ERR_PARSE, "no \"status\""},
        {"{\"status\":1}", RLS_ERR_PARSE, "no \"status\""},
        {"{\"status\":\"success\",\"status\":\"error\"}", RLS_ERR_PARSE, "not JSON"},
        {"{\"status\":\"success\"}", RLS_ERR_PARSE, "no \"data\""},
        {"{\"status\":\"success\",\"data\":{}}", RLS_ERR_PARSE, "resultType"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"tensor\",\"result\":[]}}", RLS_ERR_PARSE,
         "unknown resultType 'tensor'"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1,\"x\"]}}",
         RLS_ERR_UNSUPPORTED, "string"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}", RLS_ERR_PARSE,
         "not an array"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[1]}}", RLS_ERR_PARSE,
         "result[0] is not an object"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
         "\"value\":[1,2]}]}}", RLS_ERR_PARSE, "result[0].value"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
         "\"value\":[1,\"12abc\"]}]}}", RLS_ERR_PARSE, "result[0].value"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
         "\"value\":[\"1\",\"1\"]}]}}", RLS_ERR_PARSE, "result[0].value"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
         "\"value\":[1,\"\"]}]}}", RLS_ERR_PARSE, "result[0].value"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"a\":1},"
         "\"value\":[1,\"1\"]}]}}", RLS_ERR_PARSE, "result[0].metric.a is not a string"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"1\"]}]}}",
         RLS_ERR_PARSE, "result[0].metric is not an object"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
         "\"values\":[[1,\"1\"],[3]]}]}}", RLS_ERR_PARSE, "result[0].values[1]"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
         "\"values\":[[2,\"1\"],[1,\"1\"]]}]}}", RLS_ERR_PARSE, "not after"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{}}]}}",
         RLS_ERR_PARSE, "result[0].values is not an array"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1]}}", RLS_ERR_PARSE,
         "scalar"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rls_prom_result r;
        struct rls_err err;
        int rc = s_parse(cases[i].body, &r, &err);
        if (rc != cases[i].status || strstr(err.msg, cases[i].says) == NULL)
            fail_msg("case %zu '%s': status %d (want %d), message '%s' (want '%s')", i, cases[i].body, rc,
                     cases[i].status, err.msg, cases[i].says);
        assert_int_equal(r.n_series, 0);
        assert_null(r.series);
    }
}

static void test_parse_refuses_more_samples_than_the_limit(void **state)
{
    (void)state;
    struct rls_prom_result r;
    struct rls_err err;
    const char *body = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
                       "{\"metric\":{},\"values\":[[1,\"1\"],[2,\"1\"],[3,\"1\"]]},"
                       "{\"metric\":{\"a\":\"b\"},\"values\":[[1,\"1\"],[2,\"1\"]]}]}}";
    assert_int_equal(rls_prom_parse(body, strlen(body), 200, 5, &r, &err), RLS_OK);
    rls_prom_result_free(&r);
    assert_int_equal(rls_prom_parse(body, strlen(body), 200, 4, &r, &err), RLS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "5 samples in the answer, more than the limit 4"));
    assert_null(r.series);
}

static void test_times_and_durations_as_users_write_them(void **state)
{
    (void)state;
    double v = -1;
    assert_int_equal(rls_prom_parse_duration("15", &v), 0);
    assert_true(v == 15.0);
    assert_int_equal(rls_prom_parse_duration("0.5", &v), 0);
    assert_true(v == 0.5);
    assert_int_equal(rls_prom_parse_duration("500ms", &v), 0);
    assert_true(fabs(v - 0.5) < 1e-12);
    assert_int_equal(rls_prom_parse_duration("1h30m", &v), 0);
    assert_true(v == 5400.0);
    assert_int_equal(rls_prom_parse_duration("2d", &v), 0);
    assert_true(v == 172800.0);
    assert_int_equal(rls_prom_parse_duration("1m30s500ms", &v), 0);
    assert_true(fabs(v - 90.5) < 1e-12);
    const char *bad_d[] = {"", "-5", "5x", "m", "30s1m", "1h1h", "1.5m", "inf", "nan", " 5", "5 s"};
    for (size_t i = 0; i < sizeof bad_d / sizeof bad_d[0]; i++)
        if (rls_prom_parse_duration(bad_d[i], &v) == 0)
            fail_msg("duration '%s' accepted as %g", bad_d[i], v);

    assert_int_equal(rls_prom_parse_time("1700000000.25", 0, &v), 0);
    assert_true(v == 1700000000.25);
    assert_int_equal(rls_prom_parse_time("now", 1000, &v), 0);
    assert_true(v == 1000.0);
    assert_int_equal(rls_prom_parse_time("now-1m", 1000, &v), 0);
    assert_true(v == 940.0);
    assert_int_equal(rls_prom_parse_time("now+10s", 1000, &v), 0);
    assert_true(v == 1010.0);
    assert_int_equal(rls_prom_parse_time("2023-11-14T22:13:20Z", 0, &v), 0);
    assert_true(v == 1700000000.0);
    assert_int_equal(rls_prom_parse_time("2023-11-15T00:13:20.5+02:00", 0, &v), 0);
    assert_true(v == 1700000000.5);
    assert_int_equal(rls_prom_parse_time("2024-02-29T00:00:00Z", 0, &v), 0);
    assert_true(v == 1709164800.0);
    const char *bad_t[] = {"", "yesterday", "now-", "now-x", "now-2000s", "-5", "2023-13-01T00:00:00Z",
                           "2023-02-30T00:00:00Z", "2023-11-14T22:13:20", "2023-11-14T22:13:20Zx",
                           "2023-11-14T25:00:00Z", "1e999"};
    for (size_t i = 0; i < sizeof bad_t / sizeof bad_t[0]; i++)
        if (rls_prom_parse_time(bad_t[i], 1000, &v) == 0)
            fail_msg("time '%s' accepted as %g", bad_t[i], v);
}

static void test_new_refuses_bad_urls_and_parameters(void **state)
{
    (void)state;
    struct rls_err err;
    struct rls_prom_params p = rls_prom_default_params();
    assert_null(rls_prom_new(NULL, NULL, &err));
    assert_int_equal(err.status, RLS_ERR_INVALID);
    assert_null(rls_prom_new("localhost:9090", NULL, &err));
    assert_non_null(strstr(err.msg, "http://"));
    p.timeout_s = 0;
    assert_null(rls_prom_new("http://127.0.0.1:9090", &p, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    p = rls_prom_default_params();
    p.max_body_bytes = 10;
    assert_null(rls_prom_new("http://127.0.0.1:9090", &p, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    struct rls_prom *pr = rls_prom_new("http://127.0.0.1:9090/prefix//", NULL, &err);
    assert_non_null(pr);
    assert_string_equal(rls_prom_url(pr), "http://127.0.0.1:9090/prefix");
    assert_string_equal(rls_prom_errmsg(pr), "");
    /* bad arguments are refused before anything is sent */
    struct rls_prom_result r;
    assert_int_equal(rls_prom_query(pr, "", 0, &r), RLS_ERR_INVALID);
    assert_int_equal(rls_prom_query_range(pr, "up", 10, 5, 1, &r), RLS_ERR_INVALID);
    assert_int_equal(rls_prom_query_range(pr, "up", 5, 10, 0, &r), RLS_ERR_INVALID);
    assert_int_equal(rls_prom_http_status(pr), 0);
    struct rls_prom_state st;
    struct rls_prom_state_queries q = rls_prom_state_default_queries();
    rls_prom_state_init(&st);
    assert_int_equal(st.health, RLS_PROM_STALE);
    assert_true(isnan(st.rate_rps.value) && isinf(st.rate_rps.age_s));
    assert_int_equal(rls_prom_state_read(pr, &q, &st), RLS_ERR_INVALID);   /* no requests selector */
    q.requests = "x_total";
    q.quantile = 1.5;
    assert_int_equal(rls_prom_state_read(pr, &q, &st), RLS_ERR_INVALID);
    struct rls_prom_trace_params tp = rls_prom_trace_default_params();
    struct rls_trace *t = NULL;
    tp.start_s = 100;
    tp.end_s = 100 + 1e8;
    tp.step_s = 1;
    assert_int_equal(rls_prom_trace(pr, "up", &tp, &t), RLS_ERR_RANGE);     /* 1e8 steps */
    assert_non_null(strstr(rls_prom_errmsg(pr), "more than the limit"));
    assert_null(t);
    tp.end_s = 200;
    tp.unit = "bytes";
    assert_int_equal(rls_prom_trace(pr, "up", &tp, &t), RLS_ERR_INVALID);
    rls_prom_destroy(&pr);
    assert_null(pr);
    rls_prom_destroy(&pr);
    assert_string_equal(rls_prom_health_str(RLS_PROM_HOLD), "hold");
}

/* ------------------------------------------------------------------ */
/* the HTTP path: a loopback server answering what each test asks */

enum s_mode {
    S_ANSWER,           /* status line + body, with Content-Length */
    S_HUGE_LENGTH,      /* Content-Length of 4 MiB, and that many bytes */
    S_HUGE_STREAM,      /* no Content-Length: 4 MiB then close */
    S_STALL,            /* read the request, answer nothing for 3 s */
    S_CUT               /* Content-Length 1000, 10 bytes, close */
};

struct s_srv {
    int fd;
    uint16_t port;
    pthread_t th;
    volatile int stop;
    enum s_mode mode;
    const char *status;     /* "200 OK" */
    const char *body;
    char last_request[4096];
    int n_requests;
};

static void s_send_all(int fd, const char *b, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        b += k;
        n -= (size_t)k;
    }
}

static void *s_srv_main(void *arg)
{
    struct s_srv *s = arg;
    while (!s->stop) {
        struct pollfd pf = {s->fd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        /* the request: headers, then Content-Length bytes of form */
        char req[4096];
        size_t n = 0;
        char *hend = NULL;
        while (n < sizeof req - 1) {
            ssize_t k = recv(c, req + n, sizeof req - 1 - n, 0);
            if (k <= 0)
                break;
            n += (size_t)k;
            req[n] = '\0';
            hend = strstr(req, "\r\n\r\n");
            if (hend != NULL) {
                const char *cl = strstr(req, "Content-Length: ");
                size_t want = cl ? (size_t)atol(cl + 16) : 0;
                if (n >= (size_t)(hend + 4 - req) + want)
                    break;
            }
        }
        req[n] = '\0';
        snprintf(s->last_request, sizeof s->last_request, "%s", req);
        s->n_requests++;
        char head[256];
        char *chunk = NULL;
        switch (s->mode) {
        case S_ANSWER:
            snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                                        "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     s->status, strlen(s->body));
            s_send_all(c, head, strlen(head));
            s_send_all(c, s->body, strlen(s->body));
            break;
        case S_HUGE_LENGTH:
        case S_HUGE_STREAM:
            if (s->mode == S_HUGE_LENGTH)
                snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                                            "Connection: close\r\n\r\n", 4 << 20);
            else
                snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            s_send_all(c, head, strlen(head));
            chunk = malloc(65536);
            memset(chunk, ' ', 65536);
            for (int i = 0; i < 64 && !s->stop; i++)
                s_send_all(c, chunk, 65536);
            free(chunk);
            break;
        case S_STALL:       /* until the client gives up and closes (3 s at most) */
            for (int i = 0; i < 60 && !s->stop; i++) {
                struct pollfd cp = {c, POLLIN, 0};
                char junk[64];
                if (poll(&cp, 1, 50) > 0 && recv(c, junk, sizeof junk, 0) <= 0)
                    break;
            }
            break;
        case S_CUT:
            snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"status\":");
            s_send_all(c, head, strlen(head));
            break;
        }
        close(c);
    }
    return NULL;
}

static int s_srv_setup(void **state)
{
    struct s_srv *s = calloc(1, sizeof *s);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    s->mode = S_ANSWER;
    s->status = "200 OK";
    s->body = "{}";
    if (pthread_create(&s->th, NULL, s_srv_main, s) != 0)
        return -1;
    *state = s;
    return 0;
}

static int s_srv_teardown(void **state)
{
    struct s_srv *s = *state;
    s->stop = 1;
    pthread_join(s->th, NULL);
    close(s->fd);
    free(s);
    return 0;
}

static struct rls_prom *s_client(const struct s_srv *s, double timeout_s, int64_t max_body)
{
    char url[64];
    struct rls_err err;
    struct rls_prom_params p = rls_prom_default_params();
    p.timeout_s = timeout_s;
    p.max_body_bytes = max_body;
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)s->port);
    struct rls_prom *pr = rls_prom_new(url, &p, &err);
    assert_non_null(pr);
    return pr;
}

static void test_http_sends_the_query_as_a_form_and_reads_the_answer(void **state)
{
    struct s_srv *s = *state;
    struct rls_prom *pr = s_client(s, 2, 1 << 20);
    struct rls_prom_result r;
    double v = 0, t = 0;
    s->body = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
              "{\"metric\":{},\"value\":[1700000000,\"7.5\"]}]}}";
    assert_int_equal(rls_prom_query_value(pr, "sum(rate(x_total{a=\"b c\"}[1m]))", &v, &t), RLS_OK);
    assert_true(v == 7.5 && t == 1700000000.0);
    assert_int_equal(rls_prom_http_status(pr), 200);
    /* POST to /api/v1/query, the query escaped in the form */
    assert_non_null(strstr(s->last_request, "POST /api/v1/query HTTP/1.1"));
    assert_non_null(strstr(s->last_request, "query=sum%28rate%28x_total%7Ba%3D%22b%20c%22%7D%5B1m%5D%29%29"));
    assert_non_null(strstr(s->last_request, "&timeout=2.000"));
    /* an instant query at a given time */
    assert_int_equal(rls_prom_query(pr, "up", 1700000123.5, &r), RLS_OK);
    assert_non_null(strstr(s->last_request, "&time=1700000123.500"));
    rls_prom_result_free(&r);
    /* two series where one is wanted; none at all */
    s->body = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
              "{\"metric\":{\"a\":\"1\"},\"value\":[1,\"1\"]},{\"metric\":{\"a\":\"2\"},\"value\":[1,\"2\"]}]}}";
    assert_int_equal(rls_prom_query_value(pr, "x", &v, NULL), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_prom_errmsg(pr), "2 series, want one"));
    s->body = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}";
    assert_int_equal(rls_prom_query_value(pr, "x", &v, NULL), RLS_ERR_NOTFOUND);
    /* a range query must come back as a matrix */
    assert_int_equal(rls_prom_query_range(pr, "x", 100, 200, 10, &r), RLS_ERR_PARSE);
    assert_non_null(strstr(rls_prom_errmsg(pr), "answer is a vector, not a matrix"));
    assert_non_null(strstr(s->last_request, "POST /api/v1/query_range HTTP/1.1"));
    assert_non_null(strstr(s->last_request, "&start=100.000&end=200.000&step=10.000"));
    /* and an instant one not as a matrix */
    s->body = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}";
    assert_int_equal(rls_prom_query(pr, "x", 0, &r), RLS_ERR_PARSE);
    assert_int_equal(r.n_series, 0);
    /* Prometheus's own error answer */
    s->status = "400 Bad Request";
    s->body = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:3: parse error: unexpected\"}";
    assert_int_equal(rls_prom_query(pr, "up{", 0, &r), RLS_ERR_INVALID);
    assert_int_equal(rls_prom_http_status(pr), 400);
    char want[128];
    snprintf(want, sizeof want, "prometheus http://127.0.0.1:%u: /api/v1/query: HTTP 400: bad_data: 1:3",
             (unsigned)s->port);
    assert_non_null(strstr(rls_prom_errmsg(pr), want));
    /* a proxy's HTML page */
    s->status = "502 Bad Gateway";
    s->body = "<html>bad gateway</html>";
    assert_int_equal(rls_prom_query(pr, "up", 0, &r), RLS_ERR_EXTERNAL);
    assert_non_null(strstr(rls_prom_errmsg(pr), "HTTP 502, not a Prometheus API answer: '<html>bad"));
    rls_prom_destroy(&pr);
}

static void test_trace_trims_ends_fills_gaps_and_splits_requests(void **state)
{
    struct s_srv *s = *state;
    struct rls_prom *pr = s_client(s, 2, 1 << 20);
    struct rls_prom_trace_params tp = rls_prom_trace_default_params();
    struct rls_trace *t = NULL, *c = NULL;
    /* steps 100..106: nothing at 100, 2 at 101, none at 102, NaN at 103, 8 at 104, +Inf at 105,
       nothing at 106 -> 4 samples from 101, 102 and 103 interpolated (4, 6) */
    s->body = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
              "{\"job\":\"w\"},\"values\":[[101,\"2\"],[103,\"NaN\"],[104,\"8\"],[105,\"+Inf\"]]}]}}";
    tp.start_s = 100;
    tp.end_s = 106;
    tp.step_s = 1;
    s->n_requests = 0;
    assert_int_equal(rls_prom_trace(pr, "q", &tp, &t), RLS_OK);
    assert_int_equal(s->n_requests, 1);
    assert_int_equal(t->n, 4);
    assert_true(t->start_epoch_s == 101.0 && t->step_s == 1.0);
    assert_true(t->rate[0] == 2.0 && t->rate[1] == 4.0 && t->rate[2] == 6.0 && t->rate[3] == 8.0);
    assert_int_equal(t->n_filled, 2);
    assert_string_equal(t->column, "{job=\"w\"}");
    /* the same in requests of 3 steps: 100-102, 103-105, 106 */
    tp.chunk_steps = 3;
    s->n_requests = 0;
    assert_int_equal(rls_prom_trace(pr, "q", &tp, &c), RLS_OK);
    assert_int_equal(s->n_requests, 3);
    assert_non_null(strstr(s->last_request, "&start=106.000&end=106.000&step=1.000"));
    assert_int_equal(c->n, t->n);
    assert_memory_equal(c->rate, t->rate, (size_t)t->n * sizeof(double));
    rls_trace_destroy(&c);
    rls_trace_destroy(&t);
    /* a gap longer than max_gap_steps */
    tp.chunk_steps = 10000;
    tp.max_gap_steps = 1;
    assert_int_equal(rls_prom_trace(pr, "q", &tp, &t), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_prom_errmsg(pr), "no data for 2 steps from 102.000"));
    assert_null(t);
    tp.max_gap_steps = 10000;
    /* a negative value */
    s->body = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
              "\"values\":[[101,\"2\"],[102,\"-1\"]]}]}}";
    assert_int_equal(rls_prom_trace(pr, "q", &tp, &t), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_prom_errmsg(pr), "is -1 at 102.000: a trace needs values >= 0"));
    /* two series: refused, or added up step by step with sum_series */
    s->body = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
              "{\"metric\":{\"a\":\"1\"},\"values\":[[100,\"1\"],[101,\"2\"]]},"
              "{\"metric\":{\"a\":\"2\"},\"values\":[[100,\"10\"],[101,\"20\"],[102,\"30\"]]}]}}";
    assert_int_equal(rls_prom_trace(pr, "q", &tp, &t), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_prom_errmsg(pr), "more than one series ({a=\"1\"}, {a=\"2\"})"));
    tp.sum_series = 1;
    tp.unit = "shape";
    assert_int_equal(rls_prom_trace(pr, "q", &tp, &t), RLS_OK);
    assert_int_equal(t->n, 3);
    assert_true(t->rate[0] == 11.0 && t->rate[1] == 22.0 && t->rate[2] == 30.0);
    assert_string_equal(t->unit, "shape");
    assert_string_equal(t->column, "sum");
    rls_trace_destroy(&t);
    rls_prom_destroy(&pr);
}

static void test_http_refuses_huge_bodies_with_and_without_length(void **state)
{
    struct s_srv *s = *state;
    struct rls_prom *pr = s_client(s, 5, 1 << 20);
    struct rls_prom_result r;
    s->mode = S_HUGE_LENGTH;
    assert_int_equal(rls_prom_query(pr, "up", 0, &r), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_prom_errmsg(pr), "larger than 1048576 bytes: refused"));
    s->mode = S_HUGE_STREAM;
    double t0 = s_now();
    assert_int_equal(rls_prom_query(pr, "up", 0, &r), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_prom_errmsg(pr), "larger than 1048576 bytes: refused"));
    assert_true(s_now() - t0 < 4.0);
    assert_int_equal(r.n_series, 0);
    /* the handle keeps working after */
    s->mode = S_ANSWER;
    s->body = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"3\"]}}";
    assert_int_equal(rls_prom_query(pr, "3", 0, &r), RLS_OK);
    assert_true(r.series[0].v[0] == 3.0);
    rls_prom_result_free(&r);
    rls_prom_destroy(&pr);
}

static void test_http_times_out_cut_bodies_and_closed_ports(void **state)
{
    struct s_srv *s = *state;
    struct rls_prom *pr = s_client(s, 0.5, 1 << 20);
    struct rls_prom_result r;
    struct rls_prom_state st;
    struct rls_prom_state_queries q = rls_prom_state_default_queries();
    s->mode = S_STALL;
    double t0 = s_now();
    assert_int_equal(rls_prom_query(pr, "up", 0, &r), RLS_ERR_IO);
    double took = s_now() - t0;
    assert_true(took >= 0.45 && took < 2.0);
    assert_non_null(strstr(rls_prom_errmsg(pr), "imed out"));
    /* a state read against a silent server: every signal STALE (never seen), why says so */
    rls_prom_state_init(&st);
    q.requests = "x_total";
    q.ready = "sum(up)";
    assert_int_equal(rls_prom_state_read(pr, &q, &st), RLS_OK);
    assert_int_equal(st.health, RLS_PROM_STALE);
    assert_int_equal(st.rate_rps.health, RLS_PROM_STALE);
    assert_int_equal(st.rate_rps.n_missing, 1);
    assert_non_null(strstr(st.why, "requests: "));
    s->mode = S_CUT;
    assert_int_equal(rls_prom_query(pr, "up", 0, &r), RLS_ERR_IO);
    assert_non_null(strstr(rls_prom_errmsg(pr), "remaining"));
    rls_prom_destroy(&pr);

    /* a port nobody listens on */
    struct rls_err err;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    pr = rls_prom_new(url, NULL, &err);
    assert_int_equal(rls_prom_query(pr, "up", 0, &r), RLS_ERR_IO);
    assert_non_null(strstr(rls_prom_errmsg(pr), url));
    assert_non_null(strstr(rls_prom_errmsg(pr), "onnect"));
    assert_int_equal(rls_prom_http_status(pr), 0);
    rls_prom_destroy(&pr);
}

/* ------------------------------------------------------------------ */
/* a real Prometheus scraping a real rlsched endpoint */

#define S_RATE 100.0                /* requests/s the feeder counts */
#define S_LATENCY 0.003             /* seconds each request is observed at */

struct s_live {
    char dir[64];
    pid_t prom_pid;
    struct rls_metrics *m;
    int32_t req, lat;
    pthread_t feeder;
    int feeder_on;
    volatile int stop;
    struct rls_prom *pr;
    char url[64];
};

/* Counts S_RATE requests per second of wall time (catching up after any
 * delay, so the rate Prometheus sees is exact whatever the scheduling). */
static void *s_feeder(void *arg)
{
    struct s_live *L = arg;
    double t0 = s_now();
    int64_t done = 0;
    while (!L->stop) {
        int64_t due = (int64_t)((s_now() - t0) * S_RATE);
        for (; done < due; done++) {
            rls_metrics_inc(L->m, L->req);
            rls_metrics_observe(L->m, L->lat, S_LATENCY);
        }
        s_sleep(0.01);
    }
    return NULL;
}

static uint16_t s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static const char *s_prometheus_bin(void)
{
    static const char *const cands[] = {"/usr/bin/prometheus", "/usr/local/bin/prometheus"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (access(cands[i], X_OK) == 0)
            return cands[i];
    return NULL;
}

static int s_live_setup(void **state)
{
    struct s_live *L = calloc(1, sizeof *L);
    struct rls_err err;
    char path[128], arg_cfg[160], arg_db[160], arg_web[64];
    FILE *f = NULL;
    uint16_t pport = 0;
    int32_t nb = 5;
    static const double buckets[5] = {0.001, 0.002, 0.005, 0.01, 0.02};

    *state = L;
    L->prom_pid = -1;
    if (s_prometheus_bin() == NULL)
        return 0;                   /* the test skips */
    snprintf(L->dir, sizeof L->dir, "/tmp/rls_test_prom.XXXXXX");
    if (mkdtemp(L->dir) == NULL)
        return -1;
    /* the endpoint: a registry with the process metrics, a counter and a histogram */
    L->m = rls_metrics_new(NULL, &err);
    if (L->m == NULL || rls_metrics_process(L->m) != RLS_OK ||
        rls_metrics_build_info(L->m, "rlsched_build_info", "9.9.9-test") < 0)
        return -1;
    L->req = rls_metrics_counter(L->m, "rlsched_test_requests_total", "Requests counted by the test.");
    L->lat = rls_metrics_histogram(L->m, "rlsched_test_request_seconds", "Latency of each, seconds.", buckets, nb);
    if (L->req < 0 || L->lat < 0 || rls_metrics_serve(L->m, NULL, 0, &err) != RLS_OK)
        return -1;
    if (pthread_create(&L->feeder, NULL, s_feeder, L) != 0)
        return -1;
    L->feeder_on = 1;
    /* Prometheus: scrapes it every second */
    snprintf(path, sizeof path, "%s/prometheus.yml", L->dir);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
               "scrape_configs:\n  - job_name: rlsched\n    static_configs:\n"
               "      - targets: ['127.0.0.1:%u']\n", (unsigned)rls_metrics_port(L->m));
    fclose(f);
    pport = s_free_port();
    if (pport == 0)
        return -1;
    snprintf(arg_cfg, sizeof arg_cfg, "--config.file=%s", path);
    snprintf(arg_db, sizeof arg_db, "--storage.tsdb.path=%s/tsdb", L->dir);
    snprintf(arg_web, sizeof arg_web, "--web.listen-address=127.0.0.1:%u", (unsigned)pport);
    snprintf(path, sizeof path, "%s/prometheus.log", L->dir);
    L->prom_pid = fork();
    if (L->prom_pid < 0)
        return -1;
    if (L->prom_pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        prctl(PR_SET_PDEATHSIG, SIGKILL);      /* never outlives the test */
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(s_prometheus_bin(), "prometheus", arg_cfg, arg_db, arg_web, "--log.level=warn",
              "--storage.tsdb.retention.time=1h", (char *)NULL);
        _exit(127);
    }
    snprintf(L->url, sizeof L->url, "http://127.0.0.1:%u", (unsigned)pport);
    L->pr = rls_prom_new(L->url, NULL, &err);
    return L->pr != NULL ? 0 : -1;
}

static int s_live_teardown(void **state)
{
    struct s_live *L = *state;
    char cmd[128];
    if (L->feeder_on) {
        L->stop = 1;
        pthread_join(L->feeder, NULL);
    }
    if (L->prom_pid > 0) {
        int st = 0;
        kill(L->prom_pid, SIGTERM);
        for (int i = 0; i < 100 && waitpid(L->prom_pid, &st, WNOHANG) == 0; i++)
            s_sleep(0.05);
        if (waitpid(L->prom_pid, &st, WNOHANG) == 0) {
            kill(L->prom_pid, SIGKILL);
            waitpid(L->prom_pid, &st, 0);
        }
    }
    rls_metrics_destroy(&L->m);
    rls_prom_destroy(&L->pr);
    if (L->dir[0] != '\0' && strncmp(L->dir, "/tmp/rls_test_prom.", 19) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", L->dir);
        if (system(cmd) != 0)
            print_message("could not remove %s\n", L->dir);
    }
    free(L);
    return 0;
}

/* Waits until Prometheus has at least n scrapes of the counter (timeout_s). */
static int s_wait_scrapes(struct s_live *L, int n, double timeout_s)
{
    double end = s_now() + timeout_s, v = 0;
    while (s_now() < end) {
        if (rls_prom_query_value(L->pr, "count_over_time(rlsched_test_requests_total[30s])", &v, NULL) ==
                RLS_OK && v >= n)
            return 1;
        s_sleep(0.25);
    }
    print_message("prometheus: %s\n", rls_prom_errmsg(L->pr));
    return 0;
}

/* Rates read back from Prometheus: a scrape runs late on a loaded machine
 * (its timestamp is when it was due), so one sample may be off by tens of
 * per cent; their mean is within 15% of S_RATE and each within 60%. */
static void s_assert_near_rate(const char *what, const double *v, int64_t n)
{
    double sum = 0;
    int bad = 0;
    char list[512] = "";
    size_t len = 0;
    for (int64_t k = 0; k < n; k++) {
        sum += v[k];
        bad |= fabs(v[k] - S_RATE) > 0.6 * S_RATE;
        if (len < sizeof list - 16)
            len += (size_t)snprintf(list + len, sizeof list - len, " %.1f", v[k]);
    }
    if (n < 1 || bad || fabs(sum / (double)n - S_RATE) > 0.15 * S_RATE)
        fail_msg("%s: rates%s (mean %.1f), want about %g", what, list, n > 0 ? sum / (double)n : NAN,
                 S_RATE);
}

static void test_live_prometheus_scrapes_rlsched_and_the_client_reads_it(void **state)
{
    struct s_live *L = *state;
    struct rls_prom_result r;
    double v = 0, t = 0;
    if (L->prom_pid < 0)
        rls_test_skip_missing("prometheus (Debian package prometheus)");
    /* 13 scrapes: the trace below reads rate[4s] from now - 8, so 12 s of data must precede now */
    assert_true(s_wait_scrapes(L, 13, 35.0));

    /* instant: the target is up, with the labels Prometheus gives it */
    assert_int_equal(rls_prom_query(L->pr, "up{job=\"rlsched\"}", 0, &r), RLS_OK);
    assert_int_equal(r.type, RLS_PROM_VECTOR);
    assert_int_equal(r.n_series, 1);
    assert_true(r.series[0].v[0] == 1.0);
    assert_non_null(rls_prom_label(&r.series[0], "instance"));
    assert_true(fabs(r.series[0].t[0] - s_wall()) < 5.0);
    rls_prom_result_free(&r);
    /* the rate the feeder counts, the process metrics, the build info */
    assert_int_equal(rls_prom_query_value(L->pr, "sum(rate(rlsched_test_requests_total[5s]))", &v, &t),
                     RLS_OK);
    if (fabs(v - S_RATE) > 0.25 * S_RATE)
        fail_msg("rate %g, want %g +- 25%%", v, S_RATE);
    assert_int_equal(rls_prom_query_value(L->pr, "process_resident_memory_bytes{job=\"rlsched\"}", &v, NULL),
                     RLS_OK);
    assert_true(v > 1e6 && v < 1e11);
    assert_int_equal(rls_prom_query_value(L->pr, "process_open_fds{job=\"rlsched\"}", &v, NULL), RLS_OK);
    assert_true(v >= 3);
    assert_int_equal(rls_prom_query_value(L->pr, "time() - process_start_time_seconds{job=\"rlsched\"}",
                                          &v, NULL), RLS_OK);
    assert_true(v >= 0 && v < 600);
    assert_int_equal(rls_prom_query(L->pr, "rlsched_build_info", 0, &r), RLS_OK);
    assert_int_equal(r.n_series, 1);
    assert_string_equal(rls_prom_label(&r.series[0], "version"), "9.9.9-test");
    assert_true(r.series[0].v[0] == 1.0);
    rls_prom_result_free(&r);
    /* a bad query comes back as Prometheus's bad_data */
    assert_int_equal(rls_prom_query(L->pr, "sum(rate(", 0, &r), RLS_ERR_INVALID);
    assert_non_null(strstr(rls_prom_errmsg(L->pr), "HTTP 400: bad_data"));

    /* range: one sample per second per series, the rate all along */
    double now = floor(s_wall());
    assert_int_equal(rls_prom_query_range(L->pr, "sum(rate(rlsched_test_requests_total[4s]))", now - 4, now,
                                          1, &r), RLS_OK);
    assert_int_equal(r.type, RLS_PROM_MATRIX);
    assert_int_equal(r.n_series, 1);
    assert_true(r.series[0].n >= 4 && r.series[0].n <= 5);
    s_assert_near_rate("range", r.series[0].v, r.series[0].n);
    for (int64_t k = 0; k < r.series[0].n; k++)
        assert_true(fabs(r.series[0].t[k] - (now - 4 + (double)(5 - r.series[0].n) + (double)k)) < 1e-6);
    rls_prom_result_free(&r);

    /* the autoscaler's state: fresh, the known rate and latency, no errors, one ready */
    struct rls_prom_state st;
    struct rls_prom_state_queries q = rls_prom_state_default_queries();
    q.requests = "rlsched_test_requests_total{job=\"rlsched\"}";
    q.errors = "rlsched_test_errors_total{job=\"rlsched\"}";      /* no such series: 0 */
    q.latency_bucket = "rlsched_test_request_seconds_bucket{job=\"rlsched\"}";
    q.quantile = 0.95;
    q.ready = "sum(up{job=\"rlsched\"})";
    q.window_s = 5;
    q.stale_after_s = 3;
    rls_prom_state_init(&st);
    assert_int_equal(rls_prom_state_read(L->pr, &q, &st), RLS_OK);
    if (st.health != RLS_PROM_FRESH)
        fail_msg("health %s: %s", rls_prom_health_str(st.health), st.why);
    s_assert_near_rate("state", &st.rate_rps.value, 1);
    /* every observation is in the (0.002, 0.005] bucket: histogram_quantile interpolates in it */
    assert_true(st.latency_s.value > 0.002 && st.latency_s.value <= 0.005);
    assert_true(st.error_rps.value == 0.0 && st.error_rps.health == RLS_PROM_FRESH);
    assert_true(st.ready.value == 1.0);
    assert_true(st.rate_rps.age_s == 0.0);
    assert_true(st.read_s > 0 && st.read_s < 5);
    print_message("state: rate %.1f/s p95 %.4f s ready %g, read in %.1f ms\n", st.rate_rps.value,
                  st.latency_s.value, st.ready.value, st.read_s * 1e3);

    /* a trace of the rate over the last seconds, in chunks of 3 steps */
    struct rls_prom_trace_params tp = rls_prom_trace_default_params();
    struct rls_trace *tr = NULL, *back = NULL;
    struct rls_err err;
    char path[128];
    tp.start_s = now - 8;
    tp.end_s = now;
    tp.step_s = 1;
    tp.chunk_steps = 3;
    assert_int_equal(rls_prom_trace(L->pr, "sum(rate(rlsched_test_requests_total[4s]))", &tp, &tr), RLS_OK);
    assert_true(tr->n >= 4 && tr->n <= 9);
    assert_true(tr->start_epoch_s >= now - 8 && tr->start_epoch_s <= now - 3);
    assert_string_equal(tr->format, "prometheus");
    assert_string_equal(tr->unit, "rps");
    assert_non_null(strstr(tr->source, L->url));
    s_assert_near_rate("trace", tr->rate, tr->n);
    snprintf(path, sizeof path, "%s/rate.trace", L->dir);
    assert_int_equal(rls_trace_save(tr, path, &err), RLS_OK);
    assert_int_equal(rls_trace_load(path, NULL, &back, &err), RLS_OK);
    assert_int_equal(back->n, tr->n);
    assert_string_equal(back->format, "prometheus");
    rls_trace_destroy(&back);
    rls_trace_destroy(&tr);
    /* one series per label set without sum_series: refused, naming both ways out */
    tp.start_s = now - 3;
    assert_int_equal(rls_prom_trace(L->pr, "up or vector(1)", &tp, &tr), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_prom_errmsg(L->pr), "more than one series"));
    tp.sum_series = 1;
    assert_int_equal(rls_prom_trace(L->pr, "up or vector(1)", &tp, &tr), RLS_OK);
    assert_true(tr->rate[tr->n - 1] == 2.0);
    rls_trace_destroy(&tr);
    /* no data at all */
    assert_int_equal(rls_prom_trace(L->pr, "rlsched_no_such_metric", &tp, &tr), RLS_ERR_NOTFOUND);
    assert_null(tr);

    /* the endpoint goes away: ready drops to 0 (data), the rate keeps its last value
       (HOLD: no scale-down), then goes STALE after stale_after_s */
    double last_rate = st.rate_rps.value;
    rls_metrics_stop(L->m);
    double t_stop = s_now();
    int saw_hold = 0, saw_stale = 0, saw_down = 0;
    while (s_now() - t_stop < 20.0 && !saw_stale) {
        assert_int_equal(rls_prom_state_read(L->pr, &q, &st), RLS_OK);
        if (st.ready.health == RLS_PROM_FRESH && st.ready.value == 0.0)
            saw_down = 1;
        if (st.rate_rps.health == RLS_PROM_FRESH)
            last_rate = st.rate_rps.value;
        if (st.rate_rps.health == RLS_PROM_HOLD) {
            saw_hold = 1;
            assert_true(st.rate_rps.value == last_rate);
            assert_true(st.rate_rps.age_s > 0 && st.rate_rps.age_s < q.stale_after_s);
            assert_true(st.health >= RLS_PROM_HOLD);
            assert_non_null(strstr(st.why, "requests: no series"));
        }
        if (st.rate_rps.health == RLS_PROM_STALE) {
            saw_stale = 1;
            assert_true(st.rate_rps.age_s >= q.stale_after_s);
            assert_int_equal(st.health, RLS_PROM_STALE);
        }
        s_sleep(0.2);
    }
    print_message("after the endpoint stopped: ready 0 seen %d, hold %d, stale after %.1f s\n", saw_down,
                  saw_hold, s_now() - t_stop);
    assert_true(saw_down);
    assert_true(saw_hold);
    assert_true(saw_stale);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_vector_keeps_labels_nan_and_infinities),
        cmocka_unit_test(test_parse_matrix_scalar_empty_and_warnings),
        cmocka_unit_test(test_parse_error_answers_carry_type_and_message),
        cmocka_unit_test(test_parse_refuses_malformed_bodies_with_a_reason),
        cmocka_unit_test(test_parse_refuses_more_samples_than_the_limit),
        cmocka_unit_test(test_times_and_durations_as_users_write_them),
        cmocka_unit_test(test_new_refuses_bad_urls_and_parameters),
        cmocka_unit_test_setup_teardown(test_http_sends_the_query_as_a_form_and_reads_the_answer,
                                        s_srv_setup, s_srv_teardown),
        cmocka_unit_test_setup_teardown(test_trace_trims_ends_fills_gaps_and_splits_requests, s_srv_setup,
                                        s_srv_teardown),
        cmocka_unit_test_setup_teardown(test_http_refuses_huge_bodies_with_and_without_length,
                                        s_srv_setup, s_srv_teardown),
        cmocka_unit_test_setup_teardown(test_http_times_out_cut_bodies_and_closed_ports, s_srv_setup,
                                        s_srv_teardown),
        cmocka_unit_test_setup_teardown(test_live_prometheus_scrapes_rlsched_and_the_client_reads_it,
                                        s_live_setup, s_live_teardown),
    };
    return rls_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
