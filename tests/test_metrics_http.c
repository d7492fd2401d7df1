/* test_metrics_http.c - the agent's Prometheus registry and its /metrics
 * server: the text format line by line against hand-written expectations (a
 * counter, a labelled family, a gauge with NaN/Inf, a histogram whose
 * cumulative buckets, sum and count are worked out by hand, escaping), the
 * refusals of bad names and ids, one thread updating while another renders
 * (exact final count, consistent snapshots), a second parser (python3, written
 * here) reading the output, and a real HTTP server over loopback TCP spoken
 * to with plain sockets: 200 with the body, 404, 405, HEAD, and malformed or
 * hostile requests after which the server still serves; the process_*
 * metrics following this process (descriptors opened, CPU burnt) and the
 * build info.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <cmocka.h>

#include "agent/metrics.h"

/* ------------------------------------------------------------------ */
/* helpers */

static struct rls_metrics *s_new(void)
{
    struct rls_err err = {0};
    struct rls_metrics *m = rls_metrics_new(NULL, &err);
    if (m == NULL)
        fail_msg("rls_metrics_new: %s", err.msg);
    return m;
}

static char *s_render(struct rls_metrics *m)
{
    size_t len = 0;
    char *text = rls_metrics_render_dup(m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* Asserts that text is exactly the n lines expected[], each ended by '\n'. */
static void s_assert_lines(const char *text, const char *const *expected, int n)
{
    const char *p = text;
    for (int i = 0; i < n; i++) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            fail_msg("line %d: missing (expected \"%s\"); text:\n%s", i + 1, expected[i], text);
        if ((size_t)(nl - p) != strlen(expected[i]) || strncmp(p, expected[i], (size_t)(nl - p)) != 0)
            fail_msg("line %d: got \"%.*s\", expected \"%s\"", i + 1, (int)(nl - p), p,
                     expected[i]);
        p = nl + 1;
    }
    if (*p != '\0')
        fail_msg("extra text after %d lines: \"%s\"", n, p);
}

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------------ */
/* the process_* metrics and build info */

/* The value of the unlabelled sample `name` in text, NaN when absent. */
static double s_proc_sample(const char *text, const char *name)
{
    char key[160];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(text, key);
    return p != NULL ? strtod(p + strlen(key), NULL) : NAN;
}

static void test_process_metrics_follow_the_process_at_each_render(void **state)
{
    (void)state;
    struct rls_metrics *m = s_new();
    assert_int_equal(rls_metrics_process(m), RLS_OK);
    assert_int_equal(rls_metrics_process(m), RLS_ERR_INVALID);      /* once */
    char *t1 = s_render(m);
    /* the official clients' names, types and help texts */
    assert_non_null(strstr(t1, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                               "# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(t1, "# TYPE process_resident_memory_bytes gauge\n"));
    assert_non_null(strstr(t1, "# TYPE process_virtual_memory_bytes gauge\n"));
    assert_non_null(strstr(t1, "# TYPE process_open_fds gauge\n"));
    assert_non_null(strstr(t1, "# TYPE process_max_fds gauge\n"));
    assert_non_null(strstr(t1, "# TYPE process_start_time_seconds gauge\n"));
    double rss = s_proc_sample(t1, "process_resident_memory_bytes");
    double vm = s_proc_sample(t1, "process_virtual_memory_bytes");
    double fds = s_proc_sample(t1, "process_open_fds");
    double start = s_proc_sample(t1, "process_start_time_seconds");
    double cpu0 = s_proc_sample(t1, "process_cpu_seconds_total");
    assert_true(rss > 1e5 && vm >= rss);
    assert_true(fds >= 3);
    assert_true(s_proc_sample(t1, "process_max_fds") >= fds);
    assert_true(fabs(start - (double)time(NULL)) < 3600.0);       /* this test started it */
    assert_true(cpu0 >= 0);
    /* open 16 descriptors and burn 0.2 s of CPU: the next render says so */
    int fd[16];
    for (int i = 0; i < 16; i++)
        fd[i] = dup(0);
    volatile double x = 0;
    clock_t c0 = clock();
    while ((double)(clock() - c0) / CLOCKS_PER_SEC < 0.2)
        x += 1.0;
    char *t2 = s_render(m);
    assert_true(s_proc_sample(t2, "process_open_fds") == fds + 16);
    assert_true(s_proc_sample(t2, "process_cpu_seconds_total") >= cpu0 + 0.15);
    assert_true(s_proc_sample(t2, "process_start_time_seconds") == start);
    for (int i = 0; i < 16; i++)
        close(fd[i]);
    char *t3 = s_render(m);
    assert_true(s_proc_sample(t3, "process_open_fds") == fds);
    free(t1);
    free(t2);
    free(t3);
    rls_metrics_destroy(&m);
}

static void test_build_info_is_one_with_version_and_compiler(void **state)
{
    (void)state;
    struct rls_metrics *m = s_new();
    int32_t id = rls_metrics_build_info(m, "rlsched_build_info", "1.2.3");
    assert_true(id >= 0);
    assert_true(rls_metrics_get(m, id) == 1.0);
    assert_int_equal(rls_metrics_build_info(m, "rlsched_build_info", "1.2.3"), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_build_info(m, "other_build_info", NULL), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_build_info(m, "bad name", "1"), RLS_ERR_INVALID);
    char *t = s_render(m);
    assert_non_null(strstr(t, "# TYPE rlsched_build_info gauge\nrlsched_build_info{version=\"1.2.3\",compiler=\""));
    assert_non_null(strstr(t, "\"} 1\n"));
    free(t);
    rls_metrics_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* the text format */

static void test_render_counter_and_gauge_exact_lines(void **state)
{
    (void)state;
    struct rls_metrics *m = s_new();
    int32_t c = rls_metrics_counter(m, "rlsched_decisions_total", "Decisions made.");
    int32_t g = rls_metrics_gauge(m, "rlsched_jain_index", "Jain's fairness index.");
    assert_true(c >= 0);
    assert_true(g >= 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rls_metrics_inc(m, c), RLS_OK);
    assert_int_equal(rls_metrics_add(m, c, 2.5), RLS_OK);     /* 3 + 2.5 = 5.5 */
    assert_int_equal(rls_metrics_set(m, g, 0.75), RLS_OK);
    assert_int_equal(rls_metrics_add(m, g, -1.0), RLS_OK);    /* 0.75 - 1 = -0.25 */
    assert_true(rls_metrics_get(m, c) == 5.5);
    assert_true(rls_metrics_get(m, g) == -0.25);

    char *text = s_render(m);
    const char *want[] = {
        "# HELP rlsched_decisions_total Decisions made.",
        "# TYPE rlsched_decisions_total counter",
        "rlsched_decisions_total 5.5",
        "# HELP rlsched_jain_index Jain's fairness index.",
        "# TYPE rlsched_jain_index gauge",
        "rlsched_jain_index -0.25",
    };
    s_assert_lines(text, want, N_OF(want));
    free(text);
    rls_metrics_destroy(&m);
    assert_null(m);
    rls_metrics_destroy(&m);      /* NULL is a no-op */
}

static void test_render_labelled_families_in_creation_order(void **state)
{
    (void)state;
    struct rls_metrics *m = s_new();
    const char *reasons[] = {"none", "stale_state", "ood_input"};
    int32_t fb[3];
    int32_t fam = rls_metrics_counter_vec(m, "rlsched_fallbacks_total",
                                          "Decisions taken by the fallback, by reason.",
                                          "reason", 3, reasons, fb);
    assert_true(fam >= 0);
    assert_int_equal(rls_metrics_inc(m, fb[1]), RLS_OK);
    assert_int_equal(rls_metrics_inc(m, fb[1]), RLS_OK);
    assert_int_equal(rls_metrics_set(m, fb[2], 7), RLS_OK);   /* mirrored from safety */

    /* two labels, added one series at a time */
    const char *ln[] = {"service", "direction"};
    int32_t af = rls_metrics_family(m, RLS_METRIC_COUNTER, "rlsched_actions_total",
                                    "Scaling actions sent.", 2, ln, NULL, 0);
    assert_true(af >= 0);
    const char *v1[] = {"api", "up"};
    const char *v2[] = {"api", "down"};
    int32_t up = rls_metrics_series(m, af, v1);
    int32_t down = rls_metrics_series(m, af, v2);
    assert_true(up >= 0 && down >= 0 && up != down);
    assert_int_equal(rls_metrics_add(m, up, 4), RLS_OK);

    /* a family without a series is not rendered */
    const char *tl[] = {"tenant"};
    assert_true(rls_metrics_family(m, RLS_METRIC_GAUGE, "rlsched_empty", "Nothing yet.", 1, tl,
                                   NULL, 0) >= 0);

    char *text = s_render(m);
    const char *want[] = {
        "# HELP rlsched_fallbacks_total Decisions taken by the fallback, by reason.",
        "# TYPE rlsched_fallbacks_total counter",
        "rlsched_fallbacks_total{reason=\"none\"} 0",
        "rlsched_fallbacks_total{reason=\"stale_state\"} 2",
        "rlsched_fallbacks_total{reason=\"ood_input\"} 7",
        "# HELP rlsched_actions_total Scaling actions sent.",
        "# TYPE rlsched_actions_total counter",
        "rlsched_actions_total{service=\"api\",direction=\"up\"} 4",
        "rlsched_actions_total{service=\"api\",direction=\"down\"} 0",
    };
    s_assert_lines(text, want, N_OF(want));
    free(text);
    rls_metrics_destroy(&m);
}

/* Bounds 0.125, 0.5, 1, 2.5 (+Inf); observations 0.0625, 0.125, 0.25, 0.75,
 * 2, 3, 10 (all exact in binary, so the sum is exact):
 *   le=0.125: 0.0625, 0.125 (a bound is inclusive)  -> 2
 *   le=0.5:   + 0.25                                -> 3
 *   le=1:     + 0.75                                -> 4
 *   le=2.5:   + 2                                   -> 5
 *   +Inf:     + 3, 10                               -> 7 = count
 *   sum = 0.0625 + 0.125 + 0.25 + 0.75 + 2 + 3 + 10 = 16.1875 */
static void test_render_histogram_cumulative_buckets_sum_count(void **state)
{
    (void)state;
    struct rls_metrics *m = s_new();
    const double bounds[] = {0.125, 0.5, 1.0, 2.5, INFINITY};   /* a last +Inf is dropped */
    const double obs[] = {0.0625, 0.125, 0.25, 0.75, 2.0, 3.0, 10.0};
    const char *ln[] = {"service"};
    const char *lv[] = {"api"};
    int32_t hf = rls_metrics_family(m, RLS_METRIC_HISTOGRAM, "rlsched_decision_latency_seconds",
                                    "Decision latency.", 1, ln, bounds, 5);
    assert_true(hf >= 0);
    int32_t h = rls_metrics_series(m, hf, lv);
    int32_t plain = rls_metrics_histogram(m, "rlsched_plain_seconds", "No labels.", bounds, 2);
    assert_true(h >= 0 && plain >= 0);
    for (int i = 0; i < N_OF(obs); i++)
        assert_int_equal(rls_metrics_observe(m, h, obs[i]), RLS_OK);
    assert_int_equal(rls_metrics_observe(m, plain, 0.5), RLS_OK);   /* second bucket */
    assert_true(rls_metrics_get(m, h) == 7.0);

    char *text = s_render(m);
    const char *want[] = {
        "# HELP rlsched_decision_latency_seconds Decision latency.",
        "# TYPE rlsched_decision_latency_seconds histogram",
        "rlsched_decision_latency_seconds_bucket{service=\"api\",le=\"0.125\"} 2",
        "rlsched_decision_latency_seconds_bucket{service=\"api\",le=\"0.5\"} 3",
        "rlsched_decision_latency_seconds_bucket{service=\"api\",le=\"1\"} 4",
        "rlsched_decision_latency_seconds_bucket{service=\"api\",le=\"2.5\"} 5",
        "rlsched_decision_latency_seconds_bucket{service=\"api\",le=\"+Inf\"} 7",
        "rlsched_decision_latency_seconds_sum{service=\"api\"} 16.1875",
        "rlsched_decision_latency_seconds_count{service=\"api\"} 7",
        "# HELP rlsched_plain_seconds No labels.",
        "# TYPE rlsched_plain_seconds histogram",
        "rlsched_plain_seconds_bucket{le=\"0.125\"} 0",
        "rlsched_plain_seconds_bucket{le=\"0.5\"} 1",
        "rlsched_plain_seconds_bucket{le=\"+Inf\"} 1",
        "rlsched_plain_seconds_sum 0.5",
        "rlsched_plain_seconds_count 1",
    };
    s_assert_lines(text, want, N_OF(want));
    free(text);

    /* a NaN observation counts only in +Inf and makes the sum NaN */
    assert_int_equal(rls_metrics_observe(m, plain, NAN), RLS_OK);
    text = s_render(m);
    assert_non_null(strstr(text, "rlsched_plain_seconds_bucket{le=\"0.5\"} 1\n"
                                 "rlsched_plain_seconds_bucket{le=\"+Inf\"} 2\n"
                                 "rlsched_plain_seconds_sum NaN\n"
                                 "rlsched_plain_seconds_count 2\n"));
    free(text);
    rls_metrics_destroy(&m);
}

static void test_render_escapes_label_values_and_help(void **state)
{
    (void)state;
    struct rls_metrics *m = s_new();
    /* value: shop"a\b<newline>c  ->  shop\"a\\b\nc */
    const char *vals[] = {"shop\"a\\b\nc"};
    int32_t id = -1;
    int32_t fam = rls_metrics_gauge_vec(m, "rlsched_tenant_share",
                                        "Share with a \\ backslash\nand a \"quote\".", "tenant",
                                        1, vals, &id);
    assert_true(fam >= 0);
    assert_int_equal(rls_metrics_set(m, id, 0.5), RLS_OK);
    char *text = s_render(m);
    const char *want[] = {
        /* help: backslash and newline escaped, quotes left alone */
        "# HELP rlsched_tenant_share Share with a \\\\ backslash\\nand a \"quote\".",
        "# TYPE rlsched_tenant_share gauge",
        "rlsched_tenant_share{tenant=\"shop\\\"a\\\\b\\nc\"} 0.5",
    };
    s_assert_lines(text, want, N_OF(want));
    free(text);
    rls_metrics_destroy(&m);
}

static void test_render_numbers_as_prometheus_spells_them(void **state)
{
    (void)state;
    struct rls_metrics *m = s_new();
    const char *vals[] = {"nan", "pinf", "ninf", "tenth", "small", "big", "third", "huge",
                          "negzero_int"};
    const double v[] = {NAN, INFINITY, -INFINITY, 0.1, 1e-7, 123456789.0, 0.1 + 0.2, 2e20,
                        -42.0};
    int32_t ids[9];
    assert_true(rls_metrics_gauge_vec(m, "g", "Numbers.", "k", 9, vals, ids) >= 0);
    for (int i = 0; i < 9; i++)
        assert_int_equal(rls_metrics_set(m, ids[i], v[i]), RLS_OK);
    char *text = s_render(m);
    const char *want[] = {
        "# HELP g Numbers.",
        "# TYPE g gauge",
        "g{k=\"nan\"} NaN",
        "g{k=\"pinf\"} +Inf",
        "g{k=\"ninf\"} -Inf",
        "g{k=\"tenth\"} 0.1",
        "g{k=\"small\"} 1e-07",
        "g{k=\"big\"} 123456789",
        "g{k=\"third\"} 0.30000000000000004",   /* 0.1 + 0.2 needs 17 digits */
        "g{k=\"huge\"} 2e+20",
        "g{k=\"negzero_int\"} -42",
    };
    s_assert_lines(text, want, N_OF(want));
    free(text);
    rls_metrics_destroy(&m);
}

static void test_render_into_small_buffer_reports_needed_length(void **state)
{
    (void)state;
    struct rls_metrics *m = s_new();
    assert_true(rls_metrics_counter(m, "a_total", "A.") >= 0);
    char *full = s_render(m);
    int64_t need = rls_metrics_render(m, NULL, 0);
    assert_int_equal(need, (int64_t)strlen(full));
    char small[10];
    memset(small, 'x', sizeof small);
    assert_int_equal(rls_metrics_render(m, small, sizeof small), need);
    assert_int_equal(strlen(small), sizeof small - 1);          /* cut and NUL-terminated */
    assert_memory_equal(small, full, sizeof small - 1);
    char *exact = malloc((size_t)need + 1);
    assert_non_null(exact);
    assert_int_equal(rls_metrics_render(m, exact, (size_t)need + 1), need);
    assert_string_equal(exact, full);
    free(exact);
    free(full);
    assert_int_equal(rls_metrics_render(NULL, small, sizeof small), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_render(m, NULL, 5), RLS_ERR_INVALID);
    rls_metrics_destroy(&m);
}

static void test_creation_refuses_bad_names_buckets_and_duplicates(void **state)
{
    (void)state;
    struct rls_metrics_params p = rls_metrics_default_params();
    struct rls_err err = {0};
    p.max_families = 4;
    p.max_series = 5;
    struct rls_metrics *m = rls_metrics_new(&p, &err);
    assert_non_null(m);

    assert_int_equal(rls_metrics_counter(m, "9starts_with_digit", "x"), RLS_ERR_INVALID);
    assert_non_null(strstr(rls_metrics_errmsg(m), "9starts_with_digit"));
    assert_int_equal(rls_metrics_counter(m, "has-dash", "x"), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_counter(m, "", "x"), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_counter(m, NULL, "x"), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_counter(m, "ok_total", NULL), RLS_ERR_INVALID);
    const char *bad_label[] = {"__reserved"};
    assert_int_equal(rls_metrics_family(m, RLS_METRIC_GAUGE, "g1", "x", 1, bad_label, NULL, 0),
                     RLS_ERR_INVALID);
    const char *twice[] = {"a", "a"};
    assert_int_equal(rls_metrics_family(m, RLS_METRIC_GAUGE, "g1", "x", 2, twice, NULL, 0),
                     RLS_ERR_INVALID);
    const char *le[] = {"le"};
    const double b[] = {1, 2};
    assert_int_equal(rls_metrics_family(m, RLS_METRIC_HISTOGRAM, "h1", "x", 1, le, b, 2),
                     RLS_ERR_INVALID);
    const double not_increasing[] = {1, 1};
    assert_int_equal(rls_metrics_histogram(m, "h1", "x", not_increasing, 2), RLS_ERR_RANGE);
    assert_non_null(strstr(rls_metrics_errmsg(m), "buckets[1]"));
    const double with_nan[] = {1, NAN};
    assert_int_equal(rls_metrics_histogram(m, "h1", "x", with_nan, 2), RLS_ERR_RANGE);
    assert_int_equal(rls_metrics_family(m, RLS_METRIC_COUNTER, "c1", "x", 0, NULL, b, 2),
                     RLS_ERR_RANGE);     /* buckets on a counter */
    assert_int_equal(rls_metrics_family(m, (enum rls_metric_type)9, "c1", "x", 0, NULL, NULL, 0),
                     RLS_ERR_INVALID);

    /* duplicates */
    int32_t c = rls_metrics_counter(m, "c_total", "x");
    assert_true(c >= 0);
    assert_int_equal(rls_metrics_counter(m, "c_total", "again"), RLS_ERR_INVALID);
    const char *ln[] = {"k"};
    int32_t fam = rls_metrics_family(m, RLS_METRIC_GAUGE, "g", "x", 1, ln, NULL, 0);
    assert_true(fam >= 0);
    const char *v[] = {"a"};
    assert_true(rls_metrics_series(m, fam, v) >= 0);
    assert_int_equal(rls_metrics_series(m, fam, v), RLS_ERR_INVALID);
    const char *vnull[] = {NULL};
    assert_int_equal(rls_metrics_series(m, fam, vnull), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_series(m, fam, NULL), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_series(m, 99, v), RLS_ERR_INVALID);

    /* wrong operation for the type, bad ids, bad values */
    int32_t h = rls_metrics_histogram(m, "h_seconds", "x", b, 2);
    assert_true(h >= 0);
    assert_int_equal(rls_metrics_inc(m, h), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_set(m, h, 1), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_observe(m, c, 1), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_add(m, c, -1), RLS_ERR_RANGE);
    assert_int_equal(rls_metrics_add(m, c, NAN), RLS_ERR_RANGE);
    assert_int_equal(rls_metrics_set(m, c, -1), RLS_ERR_RANGE);
    assert_int_equal(rls_metrics_inc(m, -1), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_inc(m, 1000), RLS_ERR_INVALID);
    assert_int_equal(rls_metrics_inc(NULL, c), RLS_ERR_INVALID);
    assert_true(isnan(rls_metrics_get(m, 1000)));
    assert_true(rls_metrics_get(m, c) == 0.0);       /* nothing above changed it */

    /* full tables: c_total, g, h_seconds are in; d_total is the 4th of 4 */
    assert_true(rls_metrics_counter(m, "d_total", "x") >= 0);
    assert_int_equal(rls_metrics_counter(m, "e_total", "x"), RLS_ERR_NOMEM);
    assert_non_null(strstr(rls_metrics_errmsg(m), "max_families"));
    const char *v2[] = {"b"};
    /* series: c_total, g{a}, h_seconds, d_total, then g{b} is 5 of 5 */
    assert_true(rls_metrics_series(m, fam, v2) >= 0);
    const char *v3[] = {"c"};
    assert_int_equal(rls_metrics_series(m, fam, v3), RLS_ERR_NOMEM);
    rls_metrics_destroy(&m);

    p.max_series = 0;
    assert_null(rls_metrics_new(&p, &err));
    assert_int_equal(err.status, RLS_ERR_RANGE);
}

static void test_latency_buckets_are_valid_histogram_bounds(void **state)
{
    (void)state;
    int32_t n = 0;
    const double *b = rls_metrics_latency_buckets(&n);
    assert_int_equal(n, 19);
    assert_true(b[0] == 1e-6 && b[n - 1] == 1.0);
    struct rls_metrics *m = s_new();
    int32_t h = rls_metrics_histogram(m, "lat_seconds", "x", b, n);
    assert_true(h >= 0);
    assert_int_equal(rls_metrics_observe(m, h, 3e-6), RLS_OK);   /* le=5e-06 */
    char *text = s_render(m);
    assert_non_null(strstr(text, "lat_seconds_bucket{le=\"2.5e-06\"} 0\n"
                                 "lat_seconds_bucket{le=\"5e-06\"} 1\n"));
    free(text);
    rls_metrics_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* concurrency */

#define S_N_UPDATES 1000000

struct s_worker {
    struct rls_metrics *m;
    int32_t counter;
    int32_t hist;
    int32_t family;     /* a gauge family the creator thread grows */
    volatile int done;
    int created;
};

static void *s_updater(void *arg)
{
    struct s_worker *w = arg;
    for (int i = 0; i < S_N_UPDATES; i++) {
        if (rls_metrics_inc(w->m, w->counter) != RLS_OK)
            break;
        if ((i & 15) == 0)
            rls_metrics_observe(w->m, w->hist, (double)(i % 4));
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *s_creator(void *arg)
{
    struct s_worker *w = arg;
    char name[32];
    for (int i = 0; i < 300; i++) {
        const char *v[1] = {name};
        snprintf(name, sizeof name, "s%d", i);
        int32_t id = rls_metrics_series(w->m, w->family, v);
        if (id < 0)
            break;
        rls_metrics_set(w->m, id, i);
        w->created++;
    }
    return NULL;
}

/* The value after `prefix` at the start of a line, or -1. */
static double s_sample(const char *text, const char *prefix)
{
    const char *p = text;
    size_t n = strlen(prefix);
    while (p != NULL && *p) {
        if (strncmp(p, prefix, n) == 0)
            return strtod(p + n, NULL);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

static void test_concurrent_updates_while_rendering_are_exact(void **state)
{
    (void)state;
    struct rls_metrics *m = s_new();
    struct s_worker w;
    pthread_t t1, t2;
    const double b[] = {0.5, 1.5, 2.5};
    const char *ln[] = {"k"};
    memset(&w, 0, sizeof w);
    w.m = m;
    w.counter = rls_metrics_counter(m, "updates_total", "x");
    w.hist = rls_metrics_histogram(m, "obs", "x", b, 3);
    w.family = rls_metrics_family(m, RLS_METRIC_GAUGE, "grown", "x", 1, ln, NULL, 0);
    assert_true(w.counter >= 0 && w.hist >= 0 && w.family >= 0);
    assert_int_equal(pthread_create(&t1, NULL, s_updater, &w), 0);
    assert_int_equal(pthread_create(&t2, NULL, s_creator, &w), 0);

    double last = 0;
    int renders = 0;
    while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE) || renders < 3) {
        char *text = s_render(m);
        double now = s_sample(text, "updates_total ");
        assert_true(now >= last);                   /* a counter never goes back */
        last = now;
        /* each histogram snapshot is consistent: +Inf bucket == count */
        double inf = s_sample(text, "obs_bucket{le=\"+Inf\"} ");
        double cnt = s_sample(text, "obs_count ");
        double b0 = s_sample(text, "obs_bucket{le=\"0.5\"} ");
        double b1 = s_sample(text, "obs_bucket{le=\"1.5\"} ");
        assert_true(inf == cnt);
        assert_true(b0 <= b1 && b1 <= inf);
        free(text);
        renders++;
    }
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(w.created, 300);

    char *text = s_render(m);
    assert_true(s_sample(text, "updates_total ") == (double)S_N_UPDATES);
    /* i % 16 == 0 for 62,500 i; i % 4 == 0 for all of them: every value is 0 */
    assert_true(s_sample(text, "obs_count ") == 62500.0);
    assert_true(s_sample(text, "obs_bucket{le=\"0.5\"} ") == 62500.0);
    assert_true(s_sample(text, "obs_sum ") == 0.0);
    assert_true(s_sample(text, "grown{k=\"s299\"} ") == 299.0);
    free(text);
    print_message("    %d renders during %d updates\n", renders, S_N_UPDATES);
    rls_metrics_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* a second parser: /usr/bin/python3 reads the exposition text on its own terms */

static const char s_py_parser[] =
    "import re, sys\n"
    "txt = open(sys.argv[1], encoding='utf-8').read()\n"
    "assert txt.endswith('\\n'), 'no final newline'\n"
    "NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'\n"
    "LV = r'\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"'\n"
    "LBL = r'([a-zA-Z_][a-zA-Z0-9_]*)=' + LV\n"
    "SAMPLE = re.compile(r'^(' + NAME + r')(?:\\{(.*)\\})? (\\S+)$')\n"
    "def unesc(s):\n"
    "    return re.sub(r'\\\\(.)', lambda m: {'n': '\\n'}.get(m.group(1), m.group(1)), s)\n"
    "def labels(s):\n"
    "    out, pos = [], 0\n"
    "    while pos < len(s):\n"
    "        m = re.compile(LBL).match(s, pos)\n"
    "        assert m, 'bad labels: ' + s\n"
    "        out.append((m.group(1), unesc(m.group(2))))\n"
    "        pos = m.end()\n"
    "        if pos < len(s):\n"
    "            assert s[pos] == ',', 'bad label separator: ' + s\n"
    "            pos += 1\n"
    "    return out\n"
    "fams, cur, n = {}, None, 0\n"
    "hist = {}\n"
    "for line in txt[:-1].split('\\n'):\n"
    "    if line.startswith('# HELP '):\n"
    "        m = re.match(r'^# HELP (' + NAME + r') ((?:[^\\\\]|\\\\[\\\\n])*)$', line)\n"
    "        assert m, 'bad HELP: ' + line\n"
    "        cur = m.group(1)\n"
    "        assert cur not in fams, 'family twice: ' + cur\n"
    "        fams[cur] = None\n"
    "        continue\n"
    "    if line.startswith('# TYPE '):\n"
    "        m = re.match(r'^# TYPE (' + NAME + r') (counter|gauge|histogram)$', line)\n"
    "        assert m and m.group(1) == cur, 'bad TYPE: ' + line\n"
    "        fams[cur] = m.group(2)\n"
    "        continue\n"
    "    m = SAMPLE.match(line)\n"
    "    assert m, 'bad sample: ' + line\n"
    "    name, lab, val = m.group(1), labels(m.group(2) or ''), float(m.group(3))\n"
    "    t = fams[cur]\n"
    "    n += 1\n"
    "    if t != 'histogram':\n"
    "        assert name == cur, name\n"
    "        assert t != 'counter' or val >= 0, line\n"
    "        continue\n"
    "    key = tuple(l for l in lab if l[0] != 'le')\n"
    "    h = hist.setdefault((cur, key), {'b': [], 'count': None})\n"
    "    if name == cur + '_bucket':\n"
    "        le = [v for k, v in lab if k == 'le']\n"
    "        assert len(le) == 1 and lab[-1][0] == 'le', line\n"
    "        h['b'].append((float(le[0]), val))\n"
    "    elif name == cur + '_count':\n"
    "        h['count'] = val\n"
    "    else:\n"
    "        assert name == cur + '_sum', line\n"
    "for (fam, key), h in hist.items():\n"
    "    les = [b[0] for b in h['b']]\n"
    "    cnt = [b[1] for b in h['b']]\n"
    "    assert les == sorted(les) and les[-1] == float('inf'), fam\n"
    "    assert cnt == sorted(cnt) and cnt[-1] == h['count'], fam\n"
    "print('ok', n, len(fams))\n";

/* Runs the parser above on text; returns its exit status, its output in out. */
static int s_run_parser(const char *text, char *out, size_t cap)
{
    char data[] = "/tmp/rls_metrics_textXXXXXX";
    char script[] = "/tmp/rls_metrics_pyXXXXXX";
    char cmd[256];
    int fd1 = mkstemp(data);
    int fd2 = mkstemp(script);
    assert_true(fd1 >= 0 && fd2 >= 0);
    assert_int_equal(write(fd1, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(write(fd2, s_py_parser, strlen(s_py_parser)),
                     (ssize_t)strlen(s_py_parser));
    close(fd1);
    close(fd2);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s 2>&1", script, data);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, cap - 1, p);
    int rc = pclose(p);
    out[got] = '\0';
    unlink(data);
    unlink(script);
    return rc;
}

static void test_python_parser_reads_the_exposition(void **state)
{
    (void)state;
    char out[2048];
    if (access("/usr/bin/python3", X_OK) != 0)
        skip();
    /* the parser is not a rubber stamp: hand-made broken texts fail */
    static const char *broken[] = {
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\n"
        "h_sum 1\nh_count 2\n",                                 /* not cumulative */
        "# HELP g x\n# TYPE g gauge\ng{k=\"a\"b\"} 1\n",       /* unescaped quote */
        "# HELP g x\n# TYPE g gauge\ng 1",                       /* no final newline */
        "# HELP c x\n# TYPE c counter\nc -1\n",                 /* negative counter */
    };
    for (int i = 0; i < N_OF(broken); i++)
        if (s_run_parser(broken[i], out, sizeof out) == 0)
            fail_msg("parser accepted broken text %d: %s", i, out);

    struct rls_metrics *m = s_new();
    const char *vals[] = {"a\"b\\c\nd", "plain"};
    int32_t g[2];
    const double b[] = {0.001, 0.01, 0.1};
    assert_true(rls_metrics_gauge_vec(m, "tenant_share", "Help \\ with\nnewline.", "tenant", 2,
                                      vals, g) >= 0);
    int32_t c = rls_metrics_counter(m, "decisions_total", "Decisions.");
    int32_t h = rls_metrics_histogram(m, "lat_seconds", "Latency.", b, 3);
    rls_metrics_set(m, g[0], NAN);
    rls_metrics_set(m, g[1], -INFINITY);
    rls_metrics_add(m, c, 12);
    for (int i = 0; i < 10; i++)
        rls_metrics_observe(m, h, 0.003 * i);
    char *text = s_render(m);
    int rc = s_run_parser(text, out, sizeof out);
    if (rc != 0)
        fail_msg("python parser failed (%d): %s\n--- text:\n%s", rc, out, text);
    /* 2 gauges + 1 counter + (3 + 1 buckets, sum, count) = 9 samples, 3 families */
    assert_string_equal(out, "ok 9 3\n");
    free(text);
    rls_metrics_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* HTTP over a real loopback socket */

/* Sends req[req_len] to 127.0.0.1:port and reads until the server closes (or
 * 5 s pass). Returns the bytes read into resp (NUL-terminated), -1 when the
 * connection fails. */
static ssize_t s_http(uint16_t port, const char *req, size_t req_len, char *resp, size_t cap)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    for (size_t sent = 0; sent < req_len;) {
        ssize_t k = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);
        if (k <= 0)
            break;                  /* the server may close early on a bad request */
        sent += (size_t)k;
    }
    while (got + 1 < cap) {
        ssize_t k = recv(fd, resp + got, cap - 1 - got, 0);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    resp[got] = '\0';
    close(fd);
    return (ssize_t)got;
}

/* The status code of an HTTP response, 0 when there is no status line. */
static int s_status(const char *resp)
{
    int major = 0, minor = 0, code = 0;
    if (sscanf(resp, "HTTP/%d.%d %d", &major, &minor, &code) != 3)
        return 0;
    return code;
}

/* The value of header `name` (copied into out), or NULL. */
static const char *s_header(const char *resp, const char *name, char *out, size_t cap)
{
    const char *end = strstr(resp, "\r\n\r\n");
    const char *p = strstr(resp, "\r\n");
    size_t n = strlen(name);
    while (p != NULL && end != NULL && p < end) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            const char *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return out;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

static const char *s_body(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");
    return p != NULL ? p + 4 : NULL;
}

#define S_GET(path) "GET " path " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
#define S_RESP_MAX (256 * 1024)

struct s_srv {
    struct rls_metrics *m;
    int32_t dec;
    char *resp;
};

static int s_setup_server(void **state)
{
    struct s_srv *s = calloc(1, sizeof *s);
    struct rls_err err = {0};
    const char *reasons[] = {"none", "stale_state"};
    int32_t fb[2];
    if (s == NULL)
        return -1;
    s->resp = malloc(S_RESP_MAX);
    s->m = rls_metrics_new(NULL, &err);
    if (s->resp == NULL || s->m == NULL)
        return -1;
    s->dec = rls_metrics_counter(s->m, "rlsched_decisions_total", "Decisions made.");
    if (s->dec < 0 || rls_metrics_counter_vec(s->m, "rlsched_fallbacks_total", "Fallbacks.",
                                              "reason", 2, reasons, fb) < 0)
        return -1;
    rls_metrics_add(s->m, s->dec, 41);
    rls_metrics_inc(s->m, fb[1]);
    if (rls_metrics_serve(s->m, NULL, 0, &err) != RLS_OK) {
        print_error("rls_metrics_serve: %s\n", err.msg);
        return -1;
    }
    *state = s;
    return 0;
}

static int s_teardown_server(void **state)
{
    struct s_srv *s = *state;
    if (s == NULL)
        return 0;
    rls_metrics_destroy(&s->m);
    free(s->resp);
    free(s);
    return 0;
}

static void test_http_get_metrics_returns_the_rendered_text(void **state)
{
    struct s_srv *s = *state;
    char ct[256];
    uint16_t port = rls_metrics_port(s->m);
    assert_true(port != 0);                 /* port 0 asked: the real one is reported */
    const char *req = S_GET("/metrics");
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 200);
    assert_non_null(s_header(s->resp, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
    char *text = s_render(s->m);
    assert_non_null(s_body(s->resp));
    assert_string_equal(s_body(s->resp), text);
    assert_non_null(strstr(text, "\nrlsched_decisions_total 41\n"));
    assert_non_null(strstr(text, "\nrlsched_fallbacks_total{reason=\"stale_state\"} 1\n"));
    free(text);

    /* an update shows in the next scrape; a query string is still /metrics */
    rls_metrics_inc(s->m, s->dec);
    req = S_GET("/metrics?debug=1");
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 200);
    assert_non_null(strstr(s_body(s->resp), "\nrlsched_decisions_total 42\n"));

    /* HTTP/1.1 with keep-alive asked off by the client */
    req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 200);

    /* HEAD: the headers, no body */
    req = "HEAD /metrics HTTP/1.0\r\n\r\n";
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 200);
    assert_string_equal(s_body(s->resp), "");
    assert_true(rls_metrics_http_count(s->m, 200) >= 4);
}

static void test_http_other_path_404_and_other_method_405(void **state)
{
    struct s_srv *s = *state;
    char allow[64];
    uint16_t port = rls_metrics_port(s->m);
    const char *req = S_GET("/other");
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 404);
    req = S_GET("/");
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 404);
    req = S_GET("/metricsX");
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 404);

    req = "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 405);
    assert_non_null(s_header(s->resp, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "GET, HEAD");
    req = "DELETE /metrics HTTP/1.0\r\n\r\n";
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 405);
    /* a POST with a body the server never reads */
    req = "POST /metrics HTTP/1.0\r\nContent-Length: 11\r\n\r\nhello world";
    assert_true(s_http(port, req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 405);
    assert_true(rls_metrics_http_count(s->m, 404) == 3);
    assert_true(rls_metrics_http_count(s->m, 405) == 3);
}

/* After each hostile request a normal GET must still get 200. */
static void s_assert_still_serving(struct s_srv *s)
{
    const char *req = S_GET("/metrics");
    assert_true(s_http(rls_metrics_port(s->m), req, strlen(req), s->resp, S_RESP_MAX) > 0);
    assert_int_equal(s_status(s->resp), 200);
}

static void test_http_malformed_requests_get_errors_and_server_keeps_serving(void **state)
{
    struct s_srv *s = *state;
    uint16_t port = rls_metrics_port(s->m);
    ssize_t n = 0;

    /* malformed request lines: 400 from libmicrohttpd, 505 for a version that
     * does not exist (checked by code, not by reading our own output) */
    static const struct {
        const char *req;
        int status;
    } bad[] = {
        {"GARBAGE HTTP/1.0\r\n\r\n", 400},       /* no URI */
        {"GET  HTTP/1.0\r\n\r\n", 400},          /* empty URI */
        {"GET /metrics\r\n\r\n", 400},           /* HTTP/0.9: no version */
        {"GET /metrics FOO/1.0\r\n\r\n", 400},   /* not HTTP */
        {"GET /metrics HTTP/9.9\r\n\r\n", 505},  /* no such version */
    };
    const char *req = NULL;
    for (int i = 0; i < N_OF(bad); i++) {
        req = bad[i].req;
        n = s_http(port, req, strlen(req), s->resp, S_RESP_MAX);
        assert_true(n > 0);
        if (s_status(s->resp) != bad[i].status)
            fail_msg("\"%s\": status %d, expected %d", req, s_status(s->resp), bad[i].status);
        s_assert_still_serving(s);
    }

    /* a request line of one token: libmicrohttpd closes the connection
     * without a status line (its choice); either way no crash */
    req = "GARBAGE\r\n\r\n";
    n = s_http(port, req, strlen(req), s->resp, S_RESP_MAX);
    assert_true(n == 0 || (s_status(s->resp) >= 400 && s_status(s->resp) < 600));
    s_assert_still_serving(s);

    /* a header line without a colon */
    req = "GET /metrics HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n";
    n = s_http(port, req, strlen(req), s->resp, S_RESP_MAX);
    assert_true(n > 0);
    assert_true(s_status(s->resp) >= 400 && s_status(s->resp) < 600);
    s_assert_still_serving(s);

    /* binary junk with NULs: an error status or a closed connection, no crash */
    char junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)((i * 7919u + 13u) & 0xff);
    memcpy(junk + sizeof junk - 4, "\r\n\r\n", 4);
    n = s_http(port, junk, sizeof junk, s->resp, S_RESP_MAX);
    assert_true(n == 0 || (s_status(s->resp) >= 400 && s_status(s->resp) < 600));
    s_assert_still_serving(s);

    /* a request line far longer than the connection's memory (32 KB) */
    size_t big = 200 * 1024;
    char *huge = malloc(big);
    assert_non_null(huge);
    memcpy(huge, "GET /", 5);
    memset(huge + 5, 'a', big - 5 - 13);
    memcpy(huge + big - 13, " HTTP/1.0\r\n\r\n", 13);
    n = s_http(port, huge, big, s->resp, S_RESP_MAX);
    assert_true(n == 0 || (s_status(s->resp) >= 400 && s_status(s->resp) < 600));
    free(huge);
    s_assert_still_serving(s);

    /* a client that connects and says nothing stays open during a scrape, and
     * one that sends half a request goes away */
    {
        struct sockaddr_in sa;
        int idle = socket(AF_INET, SOCK_STREAM, 0);
        int half = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(idle >= 0 && half >= 0);
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(idle, (struct sockaddr *)&sa, sizeof sa), 0);
        assert_int_equal(connect(half, (struct sockaddr *)&sa, sizeof sa), 0);
        req = "GET /metr";
        assert_true(send(half, req, strlen(req), MSG_NOSIGNAL) > 0);
        close(half);                        /* gone mid-request */
        s_assert_still_serving(s);
        close(idle);
    }
    s_assert_still_serving(s);
}

static void test_serve_refuses_bad_address_busy_port_and_double_start(void **state)
{
    (void)state;
    struct rls_err err = {0};
    struct rls_metrics *a = s_new();
    struct rls_metrics *b = s_new();
    assert_int_equal(rls_metrics_port(a), 0);               /* not serving */
    assert_int_equal(rls_metrics_serve(a, "localhost", 0, &err), RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "localhost"));
    assert_int_equal(rls_metrics_serve(a, "127.0.0.1", 0, &err), RLS_OK);
    uint16_t port = rls_metrics_port(a);
    assert_true(port != 0);
    assert_int_equal(rls_metrics_serve(a, NULL, 0, &err), RLS_ERR_STATE);
    /* the same port again from another registry */
    assert_int_equal(rls_metrics_serve(b, "127.0.0.1", port, &err), RLS_ERR_IO);
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    assert_int_equal(rls_metrics_port(b), 0);
    /* stop, and the port can be served again */
    rls_metrics_stop(a);
    assert_int_equal(rls_metrics_port(a), 0);
    rls_metrics_stop(a);                                     /* twice is fine */
    assert_int_equal(rls_metrics_serve(b, "127.0.0.1", port, &err), RLS_OK);
    assert_int_equal(rls_metrics_port(b), port);
    /* IPv6 loopback, when the machine has it */
    if (rls_metrics_serve(a, "::1", 0, &err) == RLS_OK)
        assert_true(rls_metrics_port(a) != 0);
    rls_metrics_destroy(&a);                                 /* stops the server */
    rls_metrics_destroy(&b);
}

static void test_parse_listen_accepts_port_host_port_and_bracketed_ipv6(void **state)
{
    (void)state;
    struct rls_err err = {0};
    char host[RLS_METRICS_HOST_MAX];
    uint16_t port = 1;
    assert_int_equal(rls_metrics_parse_listen("9464", host, &port, &err), RLS_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9464);
    assert_int_equal(rls_metrics_parse_listen("0.0.0.0:0", host, &port, &err), RLS_OK);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 0);
    assert_int_equal(rls_metrics_parse_listen("[::1]:65535", host, &port, &err), RLS_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 65535);
    assert_int_equal(rls_metrics_parse_listen("localhost:80", host, &port, &err), RLS_OK);
    assert_string_equal(host, "127.0.0.1");
    static const char *bad[] = {"", "65536", "12a", "-1", "host.example:80", "::1:80",
                                "[::1]80", "[::1]:", "1.2.3.4:", ":80", "[1.2.3.4]:80",
                                "999999999999999999999"};
    for (int i = 0; i < N_OF(bad); i++) {
        if (rls_metrics_parse_listen(bad[i], host, &port, &err) != RLS_ERR_INVALID)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_non_null(strstr(err.msg, "metrics address"));
    }
    assert_int_equal(rls_metrics_parse_listen(NULL, host, &port, &err), RLS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_counter_and_gauge_exact_lines),
        cmocka_unit_test(test_render_labelled_families_in_creation_order),
        cmocka_unit_test(test_render_histogram_cumulative_buckets_sum_count),
        cmocka_unit_test(test_render_escapes_label_values_and_help),
        cmocka_unit_test(test_render_numbers_as_prometheus_spells_them),
        cmocka_unit_test(test_render_into_small_buffer_reports_needed_length),
        cmocka_unit_test(test_creation_refuses_bad_names_buckets_and_duplicates),
        cmocka_unit_test(test_latency_buckets_are_valid_histogram_bounds),
        cmocka_unit_test(test_concurrent_updates_while_rendering_are_exact),
        cmocka_unit_test(test_python_parser_reads_the_exposition),
        cmocka_unit_test_setup_teardown(test_http_get_metrics_returns_the_rendered_text,
                                        s_setup_server, s_teardown_server),
        cmocka_unit_test_setup_teardown(test_http_other_path_404_and_other_method_405,
                                        s_setup_server, s_teardown_server),
        cmocka_unit_test_setup_teardown(
            test_http_malformed_requests_get_errors_and_server_keeps_serving, s_setup_server,
            s_teardown_server),
        cmocka_unit_test(test_serve_refuses_bad_address_busy_port_and_double_start),
        cmocka_unit_test(test_parse_listen_accepts_port_host_port_and_bracketed_ipv6),
        cmocka_unit_test(test_process_metrics_follow_the_process_at_each_render),
        cmocka_unit_test(test_build_info_is_one_with_version_and_compiler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
