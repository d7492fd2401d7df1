/* test_worker_http.c - the HTTP worker (cluster/worker_http.h) as a real
 * server on a loopback port, spoken to with libcurl: /healthz says 503 during
 * the start-up delay and 200 after it, requests beyond the concurrency limit
 * get 503, /metrics is Prometheus text whose histogram counts what was
 * served, and the service-time draws have the asked mean (and CV for the
 * lognormal).
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "cluster/worker_http.h"
#include "env/rng.h"

struct s_body {
    char buf[16384];
    size_t len;
};

static size_t s_take(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct s_body *b = ctx;
    size_t n = size * nmemb, room = sizeof b->buf - 1 - b->len;
    memcpy(b->buf + b->len, p, n < room ? n : room);
    b->len += n < room ? n : room;
    b->buf[b->len] = '\0';
    return n;
}

/* GET http://127.0.0.1:port/path; the status (0 when no answer), body in *b (may be NULL). */
static long s_get(int port, const char *path, struct s_body *b)
{
    char url[128];
    long code = 0;
    struct s_body tmp;
    CURL *e = curl_easy_init();
    if (b == NULL)
        b = &tmp;
    memset(b, 0, sizeof *b);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_take);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    return code;
}

static void test_startup_delay_and_health(void **state)
{
    struct rls_worker_http_params p = rls_worker_http_default_params();
    struct rls_err err = { 0 };
    struct s_body b;
    (void)state;
    p.startup_s = 0.4;
    p.mean_ms = 1.0;
    p.dist = RLS_DIST_CONST;
    p.cpu_fraction = 0.0;
    p.service = "api";
    struct rls_worker_http *w = rls_worker_http_new(&p, &err);
    assert_non_null(w);
    int port = rls_worker_http_port(w);
    assert_true(port > 0);
    assert_int_equal(s_get(port, "/healthz", &b), 503);
    assert_string_equal(b.buf, "starting\n");
    assert_int_equal(s_get(port, "/x", NULL), 503);      /* a request while starting */
    usleep(450000);
    assert_int_equal(s_get(port, "/healthz", &b), 200);
    for (int i = 0; i < 5; i++)
        assert_int_equal(s_get(port, "/api/anything", &b), 200);
    assert_string_equal(b.buf, "ok\n");
    struct rls_worker_http_stats st = rls_worker_http_stats(w);
    assert_int_equal(st.served, 5);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.ready, 1);
    assert_true(st.busy_s >= 0.005 && st.busy_s < 1.0);
    /* the metrics: counters, labels, a histogram whose +Inf bucket is the count */
    assert_int_equal(s_get(port, "/metrics", &b), 200);
    assert_non_null(strstr(b.buf, "rls_worker_requests_total{service=\"api\"} 5\n"));
    assert_non_null(strstr(b.buf, "rls_worker_rejected_total{service=\"api\"} 1\n"));
    assert_non_null(strstr(b.buf, "# TYPE rls_worker_request_duration_seconds histogram\n"));
    assert_non_null(strstr(b.buf, "rls_worker_request_duration_seconds_bucket{service=\"api\",le=\"+Inf\"} 5\n"));
    assert_non_null(strstr(b.buf, "rls_worker_request_duration_seconds_count{service=\"api\"} 5\n"));
    assert_null(strstr(b.buf, "le=\"0.001\"} 5"));     /* 1 ms const: never at or below 1 ms... */
    assert_non_null(strstr(b.buf, "le=\"0.1\"} 5"));    /* ...and all below 100 ms */
    rls_worker_http_destroy(&w);
    assert_null(w);
    rls_worker_http_destroy(&w);    /* twice: a no-op */
    assert_int_equal(s_get(port, "/healthz", NULL), 0);  /* gone */
}

struct s_hit {
    int port;
    long code;
};

static void *s_hit(void *arg)
{
    struct s_hit *h = arg;
    h->code = s_get(h->port, "/slow", NULL);
    return NULL;
}

static void test_concurrency_limit(void **state)
{
    struct rls_worker_http_params p = rls_worker_http_default_params();
    struct rls_err err = { 0 };
    pthread_t th[4];
    struct s_hit hits[4];
    int ok = 0, busy = 0;
    (void)state;
    p.mean_ms = 400.0;
    p.dist = RLS_DIST_CONST;
    p.cpu_fraction = 0.0;
    p.concurrency = 2;
    struct rls_worker_http *w = rls_worker_http_new(&p, &err);
    assert_non_null(w);
    for (int i = 0; i < 4; i++) {
        hits[i].port = rls_worker_http_port(w);
        hits[i].code = -1;
        assert_int_equal(pthread_create(&th[i], NULL, s_hit, &hits[i]), 0);
        usleep(30000);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok += hits[i].code == 200;
        busy += hits[i].code == 503;
    }
    assert_int_equal(ok, 2);
    assert_int_equal(busy, 2);
    rls_worker_http_destroy(&w);
}

static void test_bad_params_refused(void **state)
{
    struct rls_worker_http_params p = rls_worker_http_default_params();
    struct rls_err err = { 0 };
    (void)state;
    p.concurrency = 0;
    assert_null(rls_worker_http_new(&p, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
    p = rls_worker_http_default_params();
    p.cv = -1;
    assert_null(rls_worker_http_new(&p, &err));
    p = rls_worker_http_default_params();
    p.mean_ms = NAN;
    assert_null(rls_worker_http_new(&p, &err));
    assert_null(rls_worker_http_new(NULL, &err));
    int32_t d = -1;
    assert_int_equal(rls_dist_parse("lognormal", &d), RLS_OK);
    assert_int_equal(d, RLS_DIST_LOGNORMAL);
    assert_int_equal(rls_dist_parse("pareto", &d), RLS_ERR_PARSE);
    assert_string_equal(rls_dist_name(RLS_DIST_CONST), "const");
}

static void test_draws_have_their_moments(void **state)
{
    struct rls_rng rng;
    const int n = 400000;
    (void)state;
    rls_rng_seed(&rng, 7);
    for (int32_t dist = RLS_DIST_EXP; dist <= RLS_DIST_CONST; dist++) {
        double cv = dist == RLS_DIST_LOGNORMAL ? 2.0 : 1.0;
        double s = 0.0, s2 = 0.0;
        for (int i = 0; i < n; i++) {
            double x = rls_dist_draw(dist, 20.0, cv, rls_rng_unif(&rng), rls_rng_unif(&rng));
            s += x;
            s2 += x * x;
        }
        double mean = s / n, sd = sqrt(s2 / n - mean * mean);
        double want_cv = dist == RLS_DIST_CONST ? 0.0 : cv;
        assert_true(fabs(mean - 20.0) < 0.4);
        assert_true(fabs(sd / mean - want_cv) < (dist == RLS_DIST_LOGNORMAL ? 0.15 : 0.02));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startup_delay_and_health),
        cmocka_unit_test(test_concurrency_limit),
        cmocka_unit_test(test_bad_params_refused),
        cmocka_unit_test(test_draws_have_their_moments),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
