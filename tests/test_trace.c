/* test_trace.c - the trace module: every real format imports with the step,
 * length, unit and first values read independently from the raw file; bad
 * input is refused with FILE:LINE; the canonical format round-trips exactly
 * and is written atomically; synthetic load is deterministic and has a daily
 * cycle; resampling keeps the mean.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "rls_test_skip.h"

#include "env/trace.h"

#define TRACES RLS_TRACES_DIR

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static int s_have_traces(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/README.md", TRACES);
    return access(p, R_OK) == 0;
}

static void s_path(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", TRACES, rel);
}

/* Writes content to a fresh temp file whose name ends in `suffix`. */
static void s_tmpfile(char *path, size_t len, const char *suffix, const char *content, size_t n)
{
    char tmpl[256];
    snprintf(tmpl, sizeof tmpl, "/tmp/rls_trace_testXXXXXX");
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    close(fd);
    unlink(tmpl);
    int w = snprintf(path, len, "%s%s", tmpl, suffix);
    assert_true(w > 0 && (size_t)w < len);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, n, f), n);
    fclose(f);
}

static void s_tmptext(char *path, size_t len, const char *suffix, const char *content)
{
    s_tmpfile(path, len, suffix, content, strlen(content));
}

/* Imports a file expected to fail; checks the status and that the message
 * contains every given fragment. */
static void s_expect_fail(const char *path, const struct rls_trace_import_params *p, int status,
                          const char *frag1, const char *frag2)
{
    struct rls_trace *t = NULL;
    struct rls_err err = {0};
    int rc = rls_trace_import(path, p, &t, &err);
    if (rc == RLS_OK || (frag1 && !strstr(err.msg, frag1)) || (frag2 && !strstr(err.msg, frag2)))
        print_error("rc=%d msg='%s' wanted '%s' '%s'\n", rc, err.msg, frag1 ? frag1 : "",
                    frag2 ? frag2 : "");
    assert_null(t);
    if (status != 0)
        assert_int_equal(rc, status);
    assert_true(rc < 0);
    if (frag1)
        assert_non_null(strstr(err.msg, frag1));
    if (frag2)
        assert_non_null(strstr(err.msg, frag2));
}

static struct rls_trace *s_import_ok(const char *path, const struct rls_trace_import_params *p)
{
    struct rls_trace *t = NULL;
    struct rls_err err = {0};
    int rc = rls_trace_import(path, p, &t, &err);
    if (rc != RLS_OK)
        print_error("import %s failed: %s\n", path, err.msg);
    assert_int_equal(rc, RLS_OK);
    assert_non_null(t);
    return t;
}

/* Unix time of a UTC civil time, by timegm (independent of the library's parser). */
static double s_epoch(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tmv;
    memset(&tmv, 0, sizeof tmv);
    tmv.tm_year = y - 1900;
    tmv.tm_mon = mo - 1;
    tmv.tm_mday = d;
    tmv.tm_hour = h;
    tmv.tm_min = mi;
    tmv.tm_sec = s;
    return (double)timegm(&tmv);
}

/* ------------------------------------------------------------------ */
/* real formats                                                        */

static void test_worldcup_imports_per_minute_rates_matching_raw_rows(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    char path[512], line[256];
    s_path(path, sizeof path, "worldcup98_requests_per_minute_0430_0630.csv");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int y, mo, d, h, mi, s;
    double c0, c1, first_t = 0, last_t = 0, prev_t = 0;
    int64_t rows = 0, missing = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    double counts[2] = {0, 0};
    while (fgets(line, sizeof line, f)) {
        double c;
        assert_int_equal(sscanf(line, "%d-%d-%d %d:%d:%d,%lf", &y, &mo, &d, &h, &mi, &s, &c), 7);
        double t = s_epoch(y, mo, d, h, mi, s);
        if (rows == 0)
            first_t = t;
        else
            missing += (int64_t)llround((t - prev_t) / 60.0) - 1;
        if (rows < 2)
            counts[rows] = c;
        prev_t = last_t = t;
        rows++;
    }
    fclose(f);
    c0 = counts[0];
    c1 = counts[1];

    struct rls_trace *t = s_import_ok(path, NULL);
    assert_string_equal(t->format, "worldcup98");
    assert_string_equal(t->unit, "rps");
    assert_true(t->step_s == 60);
    assert_int_equal(t->n, (int64_t)llround((last_t - first_t) / 60.0) + 1);
    assert_true(t->start_epoch_s == first_t);
    assert_true(fabs(t->rate[0] - c0 / 60.0) < 1e-12);
    assert_true(fabs(t->rate[1] - c1 / 60.0) < 1e-12);
    /* the file lacks a few minutes: each is filled and counted */
    assert_true(missing > 0);
    assert_int_equal(t->n_filled, missing);
    assert_int_equal(t->n, rows + missing);
    rls_trace_destroy(&t);
    assert_null(t);
}

static void test_nasa_imports_every_per_second_count(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    char path[512];
    s_path(path, sizeof path, "nasa_requests_per_second_july1995.txt");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long first[50], v;
    int64_t count = 0;
    double sum = 0;
    while (fscanf(f, "%ld", &v) == 1) {
        if (count < 50)
            first[count] = v;
        sum += (double)v;
        count++;
    }
    fclose(f);
    struct rls_trace *t = s_import_ok(path, NULL);
    assert_string_equal(t->format, "nasa");
    assert_string_equal(t->unit, "rps");
    assert_true(t->step_s == 1);
    assert_int_equal(t->n, count);
    for (int i = 0; i < 50; i++)
        assert_true(t->rate[i] == (double)first[i]);
    double s2 = 0;
    for (int64_t i = 0; i < t->n; i++)
        s2 += t->rate[i];
    assert_true(s2 == sum);
    rls_trace_destroy(&t);
}

/* Reads row `row` (0-based, -1 = sum of all) minute values from the raw Azure file. */
static void s_azure_raw(const char *path, int row, double *minute, int nmin, char *hash, size_t hl)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t cap = 1 << 16;
    char *line = malloc(cap);
    assert_non_null(line);
    memset(minute, 0, (size_t)nmin * sizeof *minute);
    assert_non_null(fgets(line, (int)cap, f));
    int r = 0;
    while (fgets(line, (int)cap, f)) {
        if (row >= 0 && r != row) {
            r++;
            continue;
        }
        char *save = NULL, *tok = strtok_r(line, ",\n", &save);
        if (hash != NULL && row >= 0)
            snprintf(hash, hl, "%s", tok);
        strtok_r(NULL, ",\n", &save);
        strtok_r(NULL, ",\n", &save);
        for (int j = 0; j < nmin; j++) {
            tok = strtok_r(NULL, ",\n", &save);
            assert_non_null(tok);
            minute[j] += atof(tok);
        }
        r++;
    }
    free(line);
    fclose(f);
}

static void test_azure_sum_and_single_function_by_prefix_and_row(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    char path[512], hash[128];
    double raw[1440];
    s_path(path, sizeof path, "azure_functions_2019_200_functions_per_minute.csv");

    s_azure_raw(path, -1, raw, 1440, NULL, 0);
    struct rls_trace *t = s_import_ok(path, NULL);
    assert_string_equal(t->format, "azure");
    assert_string_equal(t->unit, "rps");
    assert_string_equal(t->column, "sum");
    assert_true(t->step_s == 60);
    assert_int_equal(t->n, 1440);
    for (int j = 0; j < 1440; j++)
        assert_true(fabs(t->rate[j] - raw[j] / 60.0) <= 1e-9 * (1 + raw[j]));
    rls_trace_destroy(&t);

    /* row 5 by index, then the same function by a 12-character hash prefix */
    s_azure_raw(path, 5, raw, 1440, hash, sizeof hash);
    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.value_col = "5";
    t = s_import_ok(path, &p);
    for (int j = 0; j < 1440; j++)
        assert_true(t->rate[j] == raw[j] / 60.0);
    rls_trace_destroy(&t);
    hash[12] = '\0';
    p.value_col = hash;
    t = s_import_ok(path, &p);
    assert_int_equal(strncmp(t->column, hash, 12), 0);
    for (int j = 0; j < 1440; j++)
        assert_true(t->rate[j] == raw[j] / 60.0);
    rls_trace_destroy(&t);

    p.value_col = "ffffffffzz";
    s_expect_fail(path, &p, RLS_ERR_NOTFOUND, "ffffffffzz", "azure_functions");
}

static void test_nab_cpu_is_shape_and_request_count_is_rps(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    char path[512], line[256];
    int y, mo, d, h, mi, s;
    double v0;

    s_path(path, sizeof path, "nab/ec2_cpu_utilization_5f5533.csv");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(sscanf(line, "%d-%d-%d %d:%d:%d,%lf", &y, &mo, &d, &h, &mi, &s, &v0), 7);
    fclose(f);
    struct rls_trace *t = s_import_ok(path, NULL);
    assert_string_equal(t->format, "nab");
    assert_string_equal(t->unit, "shape");
    assert_true(t->step_s == 300);
    assert_true(t->rate[0] == v0);
    assert_true(t->start_epoch_s == s_epoch(y, mo, d, h, mi, s));
    rls_trace_destroy(&t);

    s_path(path, sizeof path, "nab/elb_request_count_8c0756.csv");
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(sscanf(line, "%d-%d-%d %d:%d:%d,%lf", &y, &mo, &d, &h, &mi, &s, &v0), 7);
    fclose(f);
    t = s_import_ok(path, NULL);
    assert_string_equal(t->unit, "rps");
    assert_true(t->step_s == 300);
    assert_true(fabs(t->rate[0] - v0 / 300.0) < 1e-12);
    rls_trace_destroy(&t);
}

static void test_nab_duplicate_timestamps_are_combined_and_counted(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    /* this file repeats 03:00:00 (a daylight-saving artefact) and lacks an
     * hour; rows landing on an already used 5-minute slot are duplicates */
    char path[512], line[256];
    s_path(path, sizeof path, "nab/ec2_request_latency_system_failure.csv");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char used[20000];
    memset(used, 0, sizeof used);
    int64_t dups = 0;
    double t0 = -1;
    assert_non_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        int y, mo, d, h, mi, s;
        double v;
        assert_int_equal(sscanf(line, "%d-%d-%d %d:%d:%d,%lf", &y, &mo, &d, &h, &mi, &s, &v), 7);
        double tt = s_epoch(y, mo, d, h, mi, s);
        if (t0 < 0)
            t0 = tt;
        long slot = lround((tt - t0) / 300.0);
        assert_true(slot >= 0 && slot < (long)sizeof used);
        if (used[slot])
            dups++;
        used[slot] = 1;
    }
    fclose(f);
    assert_true(dups > 0);
    struct rls_trace *t = s_import_ok(path, NULL);
    assert_int_equal(t->n_duplicates, dups);
    assert_true(t->n_filled > 0);
    /* shapes are averaged, not summed: no sample far above the raw maximum */
    struct rls_trace_stats st;
    assert_int_equal(rls_trace_stats(t, &st), RLS_OK);
    assert_true(st.max < 1000);
    rls_trace_destroy(&t);
}

static void test_alibaba_and_isp_default_columns(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    char path[512], line[512];
    double a0, a1;

    s_path(path, sizeof path, "alibaba2018_cluster_usage_300s_days1_5.csv");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(sscanf(line, "%lf,%lf", &a0, &a1), 2);
    int64_t rows = 1;
    while (fgets(line, sizeof line, f))
        rows++;
    fclose(f);
    struct rls_trace *t = s_import_ok(path, NULL);
    assert_string_equal(t->format, "alibaba");
    assert_string_equal(t->unit, "shape");
    assert_string_equal(t->column, "cpu_util_percent");
    assert_true(t->step_s == 300);
    assert_int_equal(t->n, rows);
    assert_true(t->rate[0] == a0);
    rls_trace_destroy(&t);
    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.value_col = "mem_util_percent";
    t = s_import_ok(path, &p);
    assert_true(t->rate[0] == a1);
    rls_trace_destroy(&t);

    s_path(path, sizeof path, "isp_eu_traffic_5min.csv");
    f = fopen(path, "r");
    assert_non_null(f);
    int y, mo, d, h, mi, s;
    double bits;
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(sscanf(line, "%d-%d-%d %d:%d:%d,%lf", &y, &mo, &d, &h, &mi, &s, &bits), 7);
    fclose(f);
    t = s_import_ok(path, NULL);
    assert_string_equal(t->format, "isp");
    assert_string_equal(t->unit, "shape");
    assert_true(t->step_s == 300);
    assert_true(t->rate[0] == bits);
    assert_true(t->start_epoch_s == s_epoch(y, mo, d, h, mi, s));
    rls_trace_destroy(&t);
}

/* ------------------------------------------------------------------ */
/* generic CSV and data repair                                         */

static void test_csv_iso_times_sorted_duplicates_summed_and_gaps_filled(void **state)
{
    (void)state;
    char path[256];
    s_tmptext(path, sizeof path, ".csv",
              "when,req\n"
              "2020-01-01T00:00:00Z,60\n"
              "2020-01-01T00:02:00Z,180\n"
              "2020-01-01T00:01:00Z,120\n" /* out of order */
              "2020-01-01T00:02:00Z,60\n"  /* duplicate: summed for counts */
              "2020-01-01T00:05:00Z,300\n"); /* two minutes missing */
    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.time_col = "when";
    p.value_col = "req";
    p.count_step_s = 60;
    struct rls_trace *t = s_import_ok(path, &p);
    assert_string_equal(t->unit, "rps");
    assert_true(t->step_s == 60);
    assert_int_equal(t->n, 6);
    assert_true(t->start_epoch_s == s_epoch(2020, 1, 1, 0, 0, 0));
    double want[6] = {1, 2, 4, 4 + (5 - 4) / 3.0, 4 + 2 * (5 - 4) / 3.0, 5};
    for (int i = 0; i < 6; i++)
        assert_true(fabs(t->rate[i] - want[i]) < 1e-12);
    assert_int_equal(t->n_reordered, 1); /* 00:01 came after 00:02 */
    assert_int_equal(t->n_duplicates, 1);
    assert_int_equal(t->n_filled, 2);
    rls_trace_destroy(&t);

    /* a gap longer than max_gap_steps is refused at the row after it */
    p.max_gap_steps = 1;
    s_expect_fail(path, &p, RLS_ERR_RANGE, ":6:", "max_gap_steps");
    unlink(path);
}

static void test_csv_unix_seconds_index_columns_and_no_header(void **state)
{
    (void)state;
    char path[256];
    s_tmptext(path, sizeof path, ".csv", "1000,7,1.5\n1010,8,2.5\n1020,9,3.5\n");
    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.time_col = "0";
    p.value_col = "2";
    struct rls_trace *t = s_import_ok(path, &p);
    assert_true(t->step_s == 10);
    assert_int_equal(t->n, 3);
    assert_true(t->start_epoch_s == 1000);
    assert_true(t->rate[0] == 1.5 && t->rate[2] == 3.5);
    rls_trace_destroy(&t);

    /* no time column: rows are consecutive steps of --step */
    p.time_col = "none";
    p.value_col = "1";
    p.step_s = 30;
    t = s_import_ok(path, &p);
    assert_true(t->step_s == 30);
    assert_true(t->start_epoch_s == 0);
    assert_true(t->rate[0] == 7 && t->rate[1] == 8 && t->rate[2] == 9);
    rls_trace_destroy(&t);
    unlink(path);
}

/* ------------------------------------------------------------------ */
/* every public layout: separators, minute columns, value and step rules */

/* Reads a whole file; caller frees. */
static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Two traces hold the same samples, step, clock and column. */
static void s_assert_same_trace(const struct rls_trace *a, const struct rls_trace *b)
{
    assert_int_equal(a->n, b->n);
    assert_true(a->step_s == b->step_s);
    assert_true(a->start_epoch_s == b->start_epoch_s);
    assert_string_equal(a->column, b->column);
    assert_string_equal(a->unit, b->unit);
    assert_int_equal(memcmp(a->rate, b->rate, (size_t)a->n * sizeof *a->rate), 0);
}

/* The Grid Workloads Archive's GWA-T-12 Bitbrains layout, as published
 * (fastStorage/rnd VM files): ';' + tab between fields, Unix seconds under a
 * "Timestamp [ms]" header, 300 s apart. */
static const char s_bitbrains[] =
    "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\t"
    "Memory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\t"
    "Disk write throughput [KB/s];\tNetwork received throughput [KB/s];\t"
    "Network transmitted throughput [KB/s]\n"
    "1376314846;\t4;\t11703.99824;\t10912.027692;\t93.233333;\t67108864.0;\t6129274.4;\t0.0;\t4.2;\t0.4;"
    "\t0.0\n"
    "1376315146;\t4;\t11703.99824;\t2733.0;\t23.35;\t67108864.0;\t6129274.4;\t0.0;\t4.2;\t0.4;\t0.0\n"
    "1376315746;\t4;\t11703.99824;\t5856.0;\t50.0;\t67108864.0;\t6129274.4;\t0.0;\t4.2;\t0.4;\t0.0\n";

static void test_bitbrains_semicolon_tab_file_imports_cpu_usage(void **state)
{
    (void)state;
    char path[256];
    s_tmptext(path, sizeof path, ".csv", s_bitbrains);
    struct rls_trace *t = s_import_ok(path, NULL);
    assert_string_equal(t->format, "bitbrains");
    assert_string_equal(t->column, "CPU usage [MHZ]");
    assert_string_equal(t->unit, "shape");
    assert_true(t->step_s == 300);
    assert_true(t->start_epoch_s == 1376314846.0);
    assert_int_equal(t->n, 4); /* the missing 5-minute row is filled */
    assert_int_equal(t->n_filled, 1);
    assert_true(t->rate[0] == 10912.027692 && t->rate[1] == 2733.0 && t->rate[3] == 5856.0);
    assert_true(fabs(t->rate[2] - (2733.0 + 5856.0) / 2) < 1e-9);
    rls_trace_destroy(&t);

    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.value_col = "CPU usage [%]";
    t = s_import_ok(path, &p);
    assert_true(t->rate[0] == 93.233333);
    rls_trace_destroy(&t);

    /* read as a generic file, two columns could be the load: one line naming both */
    p = rls_trace_import_default_params();
    p.format = RLS_TRACE_FMT_CSV;
    s_expect_fail(path, &p, RLS_ERR_INVALID, "'CPU usage [MHZ]', 'CPU usage [%]'", "--value-col");
    p.value_col = "CPU usage [MHZ]";
    t = s_import_ok(path, &p);
    assert_true(t->step_s == 300 && t->rate[1] == 2733.0); /* "Timestamp [ms]" found as the time */
    rls_trace_destroy(&t);
    unlink(path);
}

/* Azure Functions 2019 minute columns under each naming (the release's
 * "HashOwner,HashApp,HashFunction,Trigger,1..1440", minute_N as in the
 * invitro sample, N_minute): 2 functions, 3 minutes, the columns in another
 * order than the minutes. */
static void test_azure_2019_minute_columns_in_every_naming(void **state)
{
    (void)state;
    static const char *heads[] = {
        "HashOwner,HashApp,HashFunction,Trigger,2,1,3\n",
        "HashOwner,HashApp,HashFunction,Trigger,minute_2,minute_1,minute_3\n",
        "HashOwner,HashApp,HashFunction,Trigger,2_minute,1_minute,3_minute\n",
        "HashOwner\tHashApp\tHashFunction\tTrigger\t2_minute\t1_minute\t3_minute\n",
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        char path[256], body[512];
        const char *sep = strchr(heads[i], '\t') ? "\t" : ",";
        snprintf(body, sizeof body,
                 "%sown%sapp%saa11%shttp%s120%s60%s0\nown%sapp%sbb22%stimer%s6%s0%s3\n", heads[i],
                 sep, sep, sep, sep, sep, sep, sep, sep, sep, sep, sep, sep);
        s_tmptext(path, sizeof path, ".csv", body);
        struct rls_trace *t = s_import_ok(path, NULL);
        assert_string_equal(t->format, "azure");
        assert_string_equal(t->column, "sum");
        assert_int_equal(t->n, 3);
        assert_true(t->step_s == 60);
        /* minute 1 = 60 + 0, minute 2 = 120 + 6, minute 3 = 0 + 3 invocations */
        assert_true(t->rate[0] == 60 / 60.0 && t->rate[1] == 126 / 60.0 && t->rate[2] == 3 / 60.0);
        rls_trace_destroy(&t);
        struct rls_trace_import_params p = rls_trace_import_default_params();
        p.value_col = "bb";
        t = s_import_ok(path, &p);
        assert_string_equal(t->column, "bb22");
        assert_true(t->rate[0] == 0 && t->rate[1] == 6 / 60.0 && t->rate[2] == 3 / 60.0);
        rls_trace_destroy(&t);
        unlink(path);
    }
    /* a missing minute is refused naming the column after the gap */
    char path[256];
    s_tmptext(path, sizeof path, ".csv", "HashFunction,1_minute,2_minute,4_minute\naa,1,2,3\n");
    s_expect_fail(path, NULL, RLS_ERR_PARSE, "without gaps", "'4_minute'");
    unlink(path);
}

static void test_azure_2021_invocations_are_counted_at_their_start(void **state)
{
    (void)state;
    char path[256];
    /* starts (end - duration): 0.4, 59, 129.5, 9, 61 */
    s_tmptext(path, sizeof path, ".txt",
              "app,func,end_timestamp,duration\n"
              "a1f0,f1,0.5,0.1\n"
              "a1f0,f2,61.0,2\n"
              "a2c9,f1,130.0,0.5\n"
              "a1f0,f1,10,1\n"
              "a1f0,f1,62.5,1.5\n");
    struct rls_trace *t = s_import_ok(path, NULL);
    assert_string_equal(t->format, "azure2021");
    assert_string_equal(t->unit, "rps");
    assert_string_equal(t->column, "sum");
    assert_true(t->step_s == 60);
    assert_true(t->start_epoch_s == 0); /* seconds from the trace's start: no clock */
    assert_int_equal(t->n, 3);
    assert_true(t->rate[0] == 3 / 60.0 && t->rate[1] == 1 / 60.0 && t->rate[2] == 1 / 60.0);
    assert_int_equal(t->n_filled, 0); /* an empty bin is a true zero */
    rls_trace_destroy(&t);

    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.step_s = 30;
    t = s_import_ok(path, &p);
    assert_int_equal(t->n, 5); /* bins [0,30) [30,60) [60,90) [90,120) [120,150) */
    assert_true(t->rate[0] == 2 / 30.0 && t->rate[1] == 1 / 30.0 && t->rate[2] == 1 / 30.0 &&
                t->rate[3] == 0 && t->rate[4] == 1 / 30.0);
    rls_trace_destroy(&t);

    p = rls_trace_import_default_params();
    p.value_col = "a1";
    t = s_import_ok(path, &p);
    assert_string_equal(t->column, "a1f0");
    assert_true(t->rate[0] == 3 / 60.0 && t->rate[1] == 1 / 60.0);
    rls_trace_destroy(&t);
    p.value_col = "a1:f1";
    t = s_import_ok(path, &p);
    assert_string_equal(t->column, "a1f0:f1");
    assert_true(t->rate[0] == 2 / 60.0 && t->rate[1] == 1 / 60.0);
    rls_trace_destroy(&t);
    p.value_col = "a";
    s_expect_fail(path, &p, RLS_ERR_INVALID, "ambiguous", "'a1f0' and 'a2c9'");
    p.value_col = "zz";
    s_expect_fail(path, &p, RLS_ERR_NOTFOUND, "'zz'", NULL);
    unlink(path);

    s_tmptext(path, sizeof path, ".txt", "app,func,end_timestamp,duration\na,f,5,1\na,f,7,-2\n");
    s_expect_fail(path, NULL, RLS_ERR_PARSE, ":3:", "duration");
    unlink(path);
}

/* A link trace with "bits" and "bytes" columns (the UK academic backbone
 * file of the same archive as the ISP one): bits, without --value-col. */
static void test_link_trace_takes_the_bits_column(void **state)
{
    (void)state;
    char path[256];
    s_tmptext(path, sizeof path, ".csv",
              "time_count,bits,bytes\n"
              "2004-11-19 09:30:00,4838.665,604.833125\n"
              "2004-11-19 09:35:00,4845.177,605.647125\n");
    struct rls_trace *t = s_import_ok(path, NULL);
    assert_string_equal(t->format, "isp");
    assert_string_equal(t->column, "bits");
    assert_true(t->step_s == 300 && t->n == 2);
    assert_true(t->rate[0] == 4838.665 && t->rate[1] == 4845.177);
    assert_true(t->start_epoch_s == s_epoch(2004, 11, 19, 9, 30, 0));
    rls_trace_destroy(&t);
    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.value_col = "bytes";
    t = s_import_ok(path, &p);
    assert_true(t->rate[0] == 604.833125);
    rls_trace_destroy(&t);
    unlink(path);
}

/* One series written with every separator gives one trace. */
static void test_comma_semicolon_tab_and_blank_separators_give_one_trace(void **state)
{
    (void)state;
    static const char *bodies[] = {
        "ts,\"requests, all\",note\n0,1.5,\"a;b\"\n60,2.5,x\n120,4,y\n",
        "ts;\"requests, all\";note\n0;1.5;\"a;b\"\n60;2.5;x\n120;4;y\n",
        "ts\t\"requests, all\"\tnote\n0\t1.5\t\"a;b\"\n60\t2.5\tx\n120\t4\ty\n",
        "ts;\t\"requests, all\";\tnote\n0;\t1.5;\t\"a;b\"\n60;\t2.5;\tx\n120;\t4;\ty\n",
        "  ts   \"requests, all\"  note\n0  1.5 \"a;b\"\n60\t2.5   x\n120 4 y  \n",
    };
    struct rls_trace *ref = NULL;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char path[256];
        s_tmptext(path, sizeof path, ".csv", bodies[i]);
        struct rls_trace *t = s_import_ok(path, NULL);
        assert_string_equal(t->format, "csv");
        assert_string_equal(t->column, "requests, all"); /* named like a load; "note" is not */
        assert_true(t->step_s == 60 && t->n == 3 && t->rate[2] == 4);
        if (ref == NULL)
            ref = t;
        else {
            s_assert_same_trace(ref, t);
            rls_trace_destroy(&t);
        }
        unlink(path);
    }
    rls_trace_destroy(&ref);

    /* a ';' file with decimal commas: ';' wins (the header has no comma); the
     * value is then refused naming it, never read as two columns */
    char path[256];
    s_tmptext(path, sizeof path, ".csv", "time;value\n2020-01-01 00:00;1,5\n2020-01-01 00:01;2,5\n");
    s_expect_fail(path, NULL, RLS_ERR_PARSE, ":2:", "'1,5' is not a number");
    unlink(path);
    /* an empty tab-separated field stays a field */
    s_tmptext(path, sizeof path, ".tsv", "ts\tload\tx\n0\t1\t\n60\t2\t\n");
    struct rls_trace *t = s_import_ok(path, NULL);
    assert_string_equal(t->column, "load");
    rls_trace_destroy(&t);
    unlink(path);
}

static void test_step_comes_from_regular_times_or_must_be_given(void **state)
{
    (void)state;
    char path[256];
    struct rls_trace_import_params p = rls_trace_import_default_params();

    /* no time column: refused without --step, never a silent 60 s */
    s_tmptext(path, sizeof path, ".csv", "requests\n60\n120\n30\n");
    s_expect_fail(path, NULL, RLS_ERR_INVALID, "no time column", "--step");
    p.step_s = 30;
    p.count_step_s = 30;
    struct rls_trace *t = s_import_ok(path, &p);
    assert_true(t->step_s == 30 && t->n == 3);
    assert_true(t->rate[0] == 2 && t->rate[1] == 4 && t->rate[2] == 1);
    rls_trace_destroy(&t);
    unlink(path);

    /* one row, or one distinct time: no spacing to read */
    s_tmptext(path, sizeof path, ".csv", "ts,v\n100,5\n");
    s_expect_fail(path, NULL, RLS_ERR_INVALID, "one data row", "--step");
    unlink(path);
    s_tmptext(path, sizeof path, ".csv", "ts,v\n100,5\n100,6\n");
    s_expect_fail(path, NULL, RLS_ERR_INVALID, "same time", "--step");
    unlink(path);

    /* clock jitter around 15 s: the step is the median spacing near the commonest */
    s_tmptext(path, sizeof path, ".csv",
              "ts,v\n0,1\n15.002,1\n29.999,1\n45.001,1\n60,1\n75.003,1\n90,1\n104.998,1\n");
    t = s_import_ok(path, NULL);
    assert_true(t->step_s == 15 && t->n == 8 && t->n_duplicates == 0);
    rls_trace_destroy(&t);
    unlink(path);

    /* irregular times (event-like): refused, naming the spacing and --step;
     * with --step the rows are binned (counts summed) */
    s_tmptext(path, sizeof path, ".csv", "ts,count\n0,1\n7,1\n20,1\n21,1\n50,1\n58,1\n95,1\n");
    s_expect_fail(path, NULL, RLS_ERR_INVALID, "irregular timestamps", "--step");
    p = rls_trace_import_default_params();
    p.step_s = 60;
    p.count_step_s = 1;
    t = s_import_ok(path, &p);
    /* rows go to the nearest slot, round(t / 60): 0, 7, 20, 21 -> 0; 50, 58 -> 1; 95 -> 2 */
    assert_int_equal(t->n, 3);
    assert_true(t->rate[0] == 4 / 60.0 && t->rate[1] == 2 / 60.0 && t->rate[2] == 1 / 60.0);
    assert_int_equal(t->n_duplicates, 4);
    rls_trace_destroy(&t);
    unlink(path);
}

static void test_ambiguous_value_column_is_one_line_listing_candidates(void **state)
{
    (void)state;
    char path[256];
    struct rls_trace *t = NULL;

    s_tmptext(path, sizeof path, ".csv", "ts,alpha,beta\n0,1,2\n60,3,4\n");
    s_expect_fail(path, NULL, RLS_ERR_INVALID, "'alpha', 'beta'", "--value-col NAME");
    {
        struct rls_err err = {0};
        assert_true(rls_trace_import(path, NULL, &t, &err) < 0);
        assert_null(strchr(err.msg, '\n')); /* one line */
        assert_non_null(strstr(err.msg, path));
    }
    unlink(path);

    /* two columns matching the same known name equally well */
    s_tmptext(path, sizeof path, ".csv",
              "timestamp,count_raw,count_thousand\n1998-05-30 21:50:00,12253,12.253\n"
              "1998-05-30 21:55:00,11737,11.737\n");
    s_expect_fail(path, NULL, RLS_ERR_INVALID, "2 columns could be the load",
                  "'count_raw', 'count_thousand'");
    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.value_col = "count_raw";
    t = s_import_ok(path, &p);
    assert_true(t->rate[0] == 12253 && t->step_s == 300);
    rls_trace_destroy(&t);
    unlink(path);

    /* known names rank: requests before cpu; an exact name before a prefix */
    s_tmptext(path, sizeof path, ".csv", "ts,cpu,Requests,count_5xx,count\n0,50,7,1,9\n60,60,8,0,9\n");
    t = s_import_ok(path, NULL);
    assert_string_equal(t->column, "Requests");
    rls_trace_destroy(&t);
    unlink(path);
    s_tmptext(path, sizeof path, ".csv", "ts,count_5xx,count\n0,1,9\n60,0,9\n");
    t = s_import_ok(path, NULL);
    assert_string_equal(t->column, "count");
    rls_trace_destroy(&t);
    unlink(path);

    /* no header: columns by index */
    s_tmptext(path, sizeof path, ".csv", "1000,7,1.5\n1060,8,2.5\n");
    p = rls_trace_import_default_params();
    p.time_col = "0";
    s_expect_fail(path, &p, RLS_ERR_INVALID, "(1, 2)", "--value-col INDEX");
    unlink(path);
}

/* The real files, re-written in the other public layouts, import to the
 * same samples as the originals. */
static void test_real_traces_in_other_layouts_import_the_same(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    char src[512], path[256];
    size_t len = 0;

    /* Azure 2019: minute_N (the file here) -> N_minute and bare N */
    s_path(src, sizeof src, "azure_functions_2019_200_functions_per_minute.csv");
    char *raw = s_slurp(src, &len);
    struct rls_trace *ref = s_import_ok(src, NULL);
    for (int naming = 0; naming < 2; naming++) {
        size_t cap = len + 16 * 1440 + 64, k = 0;
        char *out = malloc(cap);
        assert_non_null(out);
        const char *p = raw, *eol = strchr(raw, '\n');
        assert_non_null(eol);
        while (p < eol) {
            if (strncmp(p, "minute_", 7) == 0) {
                char *end = NULL;
                long m = strtol(p + 7, &end, 10);
                k += (size_t)snprintf(out + k, cap - k, naming == 0 ? "%ld_minute" : "%ld", m);
                p = end;
            } else {
                out[k++] = *p++;
            }
        }
        memcpy(out + k, eol, len - (size_t)(eol - raw));
        k += len - (size_t)(eol - raw);
        s_tmpfile(path, sizeof path, ".csv", out, k);
        free(out);
        struct rls_trace *t = s_import_ok(path, NULL);
        assert_string_equal(t->format, "azure");
        s_assert_same_trace(ref, t);
        rls_trace_destroy(&t);
        unlink(path);
    }
    rls_trace_destroy(&ref);
    free(raw);

    /* World Cup 98 and a NAB file with ';' + tab, tab and ';' separators */
    static const char *files[] = {"worldcup98_requests_per_minute_0430_0630.csv",
                                  "nab/ec2_cpu_utilization_5f5533.csv"};
    static const char *seps[] = {";\t", "\t", ";"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        s_path(src, sizeof src, files[f]);
        raw = s_slurp(src, &len);
        ref = s_import_ok(src, NULL);
        for (size_t si = 0; si < sizeof seps / sizeof seps[0]; si++) {
            size_t cap = 2 * len + 1, k = 0;
            char *out = malloc(cap);
            assert_non_null(out);
            for (size_t i = 0; i < len; i++) {
                if (raw[i] == ',') {
                    memcpy(out + k, seps[si], strlen(seps[si]));
                    k += strlen(seps[si]);
                } else {
                    out[k++] = raw[i];
                }
            }
            s_tmpfile(path, sizeof path, ".csv", out, k);
            free(out);
            struct rls_trace *t = s_import_ok(path, NULL);
            assert_string_equal(t->format, ref->format);
            s_assert_same_trace(ref, t);
            rls_trace_destroy(&t);
            unlink(path);
        }
        rls_trace_destroy(&ref);
        free(raw);
    }
}

/* ------------------------------------------------------------------ */
/* bad input                                                           */

static void test_empty_and_binary_files_are_refused_naming_the_file(void **state)
{
    (void)state;
    char path[256];
    s_tmptext(path, sizeof path, ".csv", "");
    s_expect_fail(path, NULL, RLS_ERR_PARSE, path, "empty");
    unlink(path);
    s_tmptext(path, sizeof path, ".csv", "\n  \n");
    s_expect_fail(path, NULL, RLS_ERR_PARSE, path, "empty");
    unlink(path);

    unsigned char bin[2048];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof bin; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bin[i] = (unsigned char)x;
    }
    s_tmpfile(path, sizeof path, ".csv", (const char *)bin, sizeof bin);
    s_expect_fail(path, NULL, RLS_ERR_PARSE, path, "not a text trace");
    unlink(path);

    s_tmptext(path, sizeof path, ".txt", "hello world\nthis is not a trace\n");
    s_expect_fail(path, NULL, RLS_ERR_PARSE, ":2:", "not a number");
    unlink(path);

    s_expect_fail("/nonexistent/dir/trace.csv", NULL, RLS_ERR_IO, "/nonexistent/dir/trace.csv",
                  "cannot open");
}

static void test_malformed_values_are_refused_with_file_and_line(void **state)
{
    (void)state;
    struct {
        const char *body, *frag;
    } cases[] = {
        {"period,count\n1998-05-01 00:00:00,5\n1998-05-01 00:01:00,-3\n", "negative"},
        {"period,count\n1998-05-01 00:00:00,5\n1998-05-01 00:01:00,nan\n", "NaN"},
        {"period,count\n1998-05-01 00:00:00,5\n1998-05-01 00:01:00,inf\n", "not finite"},
        {"period,count\n1998-05-01 00:00:00,5\n1998-05-01 00:01:00,5e13\n", "absurd"},
        {"period,count\n1998-05-01 00:00:00,5\n1998-05-01 00:01:00,12abc\n", "not a number"},
        {"period,count\n1998-05-01 00:00:00,5\n1998-05-01 00:01:00,5,9\n", "3 fields"},
        {"period,count\n1998-05-01 00:00:00,5\n1998-13-45 00:01:00,5\n", "bad time"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], want[300];
        s_tmptext(path, sizeof path, ".csv", cases[i].body);
        snprintf(want, sizeof want, "%s:3:", path);
        s_expect_fail(path, NULL, RLS_ERR_PARSE, want, cases[i].frag);
        unlink(path);
    }
    /* NASA-style token stream: the bad token's line is named */
    char path[256];
    s_tmptext(path, sizeof path, "_nasa.txt", "1 2 3\n4 -5 6\n");
    s_expect_fail(path, NULL, RLS_ERR_PARSE, ":2:", "negative");
    unlink(path);
}

static void test_missing_and_unknown_columns_list_the_available_ones(void **state)
{
    (void)state;
    char path[256];
    s_tmptext(path, sizeof path, ".csv", "stamp,load,other\n0,1,2\n60,2,3\n");
    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.value_col = "requests";
    s_expect_fail(path, &p, RLS_ERR_NOTFOUND, "'requests' not found", "'load', 'other'");
    p.value_col = "load";
    p.time_col = "clock";
    s_expect_fail(path, &p, RLS_ERR_NOTFOUND, "'clock'", "'stamp'");
    unlink(path);

    /* a known format whose expected column is missing */
    s_tmptext(path, sizeof path, ".csv", "period,hits\n1998-05-01 00:00:00,5\n");
    p = rls_trace_import_default_params();
    p.format = RLS_TRACE_FMT_WORLDCUP98;
    s_expect_fail(path, &p, RLS_ERR_NOTFOUND, "'count' not found", "'period', 'hits'");
    unlink(path);
}

static void test_skip_bad_counts_skipped_rows_and_keeps_the_rest(void **state)
{
    (void)state;
    char path[256];
    s_tmptext(path, sizeof path, ".csv",
              "period,count\n"
              "1998-05-01 00:00:00,60\n"
              "1998-05-01 00:01:00,-1\n"
              "garbage line\n"
              "1998-05-01 00:02:00,180\n"
              "1998-05-01 00:03:00,240\n");
    struct rls_trace_import_params p = rls_trace_import_default_params();
    s_expect_fail(path, &p, RLS_ERR_PARSE, ":3:", "negative");
    p.skip_bad = 1;
    struct rls_trace *t = s_import_ok(path, &p);
    assert_int_equal(t->n_skipped, 2);
    assert_int_equal(t->n, 4);
    assert_int_equal(t->n_filled, 1); /* the skipped minute is interpolated */
    assert_true(t->rate[0] == 1 && t->rate[1] == 2 && t->rate[2] == 3 && t->rate[3] == 4);
    rls_trace_destroy(&t);
    unlink(path);
}

/* ------------------------------------------------------------------ */
/* canonical format                                                    */

static void test_canonical_round_trip_is_bit_exact(void **state)
{
    (void)state;
    struct rls_trace *t = rls_trace_new(1000, 15), *u = NULL;
    struct rls_err err = {0};
    assert_non_null(t);
    uint64_t x = 12345;
    for (int64_t i = 0; i < t->n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        t->rate[i] = (double)(x >> 11) / 9007199254740992.0 * 1000.0; /* full 53-bit mantissas */
    }
    t->rate[3] = 0;
    t->rate[4] = 1e300;
    t->rate[5] = 5e-324;
    t->start_epoch_s = 1234567890.5;
    snprintf(t->unit, sizeof t->unit, "shape");
    snprintf(t->format, sizeof t->format, "nab");
    snprintf(t->source, sizeof t->source, "some/where.csv");
    snprintf(t->column, sizeof t->column, "value");
    t->n_filled = 3;
    t->n_reordered = 4;
    t->n_duplicates = 5;
    t->n_skipped = 6;
    char path[256];
    snprintf(path, sizeof path, "/tmp/rls_trace_rt_%ld.trace", (long)getpid());
    assert_int_equal(rls_trace_save(t, path, &err), RLS_OK);
    assert_int_equal(rls_trace_load(path, NULL, &u, &err), RLS_OK);
    assert_int_equal(u->n, t->n);
    assert_true(u->step_s == t->step_s);
    assert_true(u->start_epoch_s == t->start_epoch_s);
    assert_string_equal(u->unit, "shape");
    assert_string_equal(u->format, "nab");
    assert_string_equal(u->source, "some/where.csv");
    assert_string_equal(u->column, "value");
    assert_int_equal(u->n_filled, 3);
    assert_int_equal(u->n_reordered, 4);
    assert_int_equal(u->n_duplicates, 5);
    assert_int_equal(u->n_skipped, 6);
    assert_memory_equal(u->rate, t->rate, (size_t)t->n * sizeof(double));
    rls_trace_destroy(&u);
    unlink(path);
    rls_trace_destroy(&t);
}

static int s_count_tmp_siblings(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tmp."))
            n++;
    closedir(d);
    return n;
}

static void test_save_is_atomic_and_names_unwritable_path(void **state)
{
    (void)state;
    char dir[] = "/tmp/rls_trace_dirXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/out.trace", dir);
    struct rls_trace *t = rls_trace_new(10, 60), *u = NULL;
    struct rls_err err = {0};
    for (int i = 0; i < 10; i++)
        t->rate[i] = i;
    assert_int_equal(rls_trace_save(t, path, &err), RLS_OK);
    /* overwrite with a longer trace: the new file is complete, no temp left */
    struct rls_trace *t2 = rls_trace_new(20, 60);
    for (int i = 0; i < 20; i++)
        t2->rate[i] = 2 * i;
    assert_int_equal(rls_trace_save(t2, path, &err), RLS_OK);
    assert_int_equal(s_count_tmp_siblings(dir, "out.trace"), 0);
    assert_int_equal(rls_trace_load(path, NULL, &u, &err), RLS_OK);
    assert_int_equal(u->n, 20);
    rls_trace_destroy(&u);
    unlink(path);
    rmdir(dir);

    /* unwritable: the error names the path and nothing is created */
    char bad[320];
    snprintf(bad, sizeof bad, "%s/missing_subdir/out.trace", dir);
    assert_int_equal(rls_trace_save(t, bad, &err), RLS_ERR_IO);
    assert_non_null(strstr(err.msg, bad));
    assert_int_equal(access(bad, F_OK), -1);
    /* a NaN sample is refused before anything is written */
    t->rate[2] = NAN;
    assert_int_equal(rls_trace_save(t, "/tmp/rls_never_written.trace", &err), RLS_ERR_INVALID);
    assert_int_equal(access("/tmp/rls_never_written.trace", F_OK), -1);
    rls_trace_destroy(&t);
    rls_trace_destroy(&t2);
}

static void test_canonical_truncated_wrong_version_and_bad_values_refused(void **state)
{
    (void)state;
    char path[256], want[300];
    const char *hdr = "# rlsched-trace v1\n# step_s: 60\n# unit: rps\n# n: 4\n";
    char body[512];

    snprintf(body, sizeof body, "%s1\n2\n3\n", hdr);
    s_tmptext(path, sizeof path, ".trace", body);
    s_expect_fail(path, NULL, RLS_ERR_PARSE, path, "truncated");
    unlink(path);

    snprintf(body, sizeof body, "%s1\n2\n3\n4\n5\n", hdr);
    s_tmptext(path, sizeof path, ".trace", body);
    snprintf(want, sizeof want, "%s:9:", path);
    s_expect_fail(path, NULL, RLS_ERR_PARSE, want, "more values");
    unlink(path);

    s_tmptext(path, sizeof path, ".trace", "# rlsched-trace v2\n# step_s: 60\n# n: 1\n1\n");
    snprintf(want, sizeof want, "%s:1:", path);
    s_expect_fail(path, NULL, RLS_ERR_VERSION, want, "v2");
    unlink(path);

    snprintf(body, sizeof body, "%s1\n-2\n3\n4\n", hdr);
    s_tmptext(path, sizeof path, ".trace", body);
    snprintf(want, sizeof want, "%s:6:", path);
    s_expect_fail(path, NULL, RLS_ERR_PARSE, want, "negative");
    unlink(path);

    snprintf(body, sizeof body, "%s1\nnan\n3\n4\n", hdr);
    s_tmptext(path, sizeof path, ".trace", body);
    snprintf(want, sizeof want, "%s:6:", path);
    s_expect_fail(path, NULL, RLS_ERR_PARSE, want, "NaN");
    unlink(path);

    s_tmptext(path, sizeof path, ".trace", "# rlsched-trace v1\n# n: 1\n1\n");
    s_expect_fail(path, NULL, RLS_ERR_PARSE, path, "step_s");
    unlink(path);
}

static void test_load_reads_canonical_and_imports_raw_files(void **state)
{
    (void)state;
    if (!s_have_traces())
        rls_test_skip_missing(RLS_TRACES_DIR);
    char path[512], out[256];
    struct rls_trace *a = NULL, *b = NULL;
    struct rls_err err = {0};
    s_path(path, sizeof path, "nab/rds_cpu_utilization_cc0c53.csv");
    assert_int_equal(rls_trace_load(path, NULL, &a, &err), RLS_OK);
    snprintf(out, sizeof out, "/tmp/rls_trace_load_%ld.trace", (long)getpid());
    assert_int_equal(rls_trace_save(a, out, &err), RLS_OK);
    assert_int_equal(rls_trace_load(out, NULL, &b, &err), RLS_OK);
    assert_string_equal(b->format, "nab");
    assert_string_equal(b->source, path);
    assert_int_equal(b->n, a->n);
    assert_memory_equal(a->rate, b->rate, (size_t)a->n * sizeof(double));
    rls_trace_destroy(&a);
    rls_trace_destroy(&b);
    unlink(out);
    /* a column for a raw file selects it */
    s_path(path, sizeof path, "alibaba2018_cluster_usage_300s_days1_5.csv");
    assert_int_equal(rls_trace_load(path, "net_in", &a, &err), RLS_OK);
    assert_string_equal(a->column, "net_in");
    rls_trace_destroy(&a);
    assert_int_equal(rls_trace_load(path, "no_such", &a, &err), RLS_ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, "no_such"));
    assert_null(a);
}

/* ------------------------------------------------------------------ */
/* synthetic load, stats, resampling                                   */

static void test_synth_is_deterministic_per_seed(void **state)
{
    (void)state;
    struct rls_trace_synth_params p = rls_trace_synth_default_params();
    struct rls_trace *a = NULL, *b = NULL, *c = NULL;
    struct rls_err err = {0};
    p.duration_s = 3 * 86400;
    assert_int_equal(rls_trace_synth(&p, 42, &a, &err), RLS_OK);
    assert_int_equal(rls_trace_synth(&p, 42, &b, &err), RLS_OK);
    assert_int_equal(rls_trace_synth(&p, 43, &c, &err), RLS_OK);
    assert_int_equal(a->n, 3 * 1440);
    assert_memory_equal(a->rate, b->rate, (size_t)a->n * sizeof(double));
    int differ = 0;
    for (int64_t i = 0; i < a->n; i++)
        differ += a->rate[i] != c->rate[i];
    assert_true(differ > a->n / 2);
    rls_trace_destroy(&a);
    rls_trace_destroy(&b);
    rls_trace_destroy(&c);

    p.step_s = -1;
    assert_int_equal(rls_trace_synth(&p, 1, &a, &err), RLS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "step_s"));
    assert_null(a);
}

static void test_synth_has_daily_cycle_weekend_dip_and_is_never_negative(void **state)
{
    (void)state;
    struct rls_trace_synth_params p = rls_trace_synth_default_params();
    struct rls_trace *t = NULL;
    struct rls_err err = {0};
    p.duration_s = 14 * 86400;
    p.flash_per_day = 0.5;
    p.outage_per_day = 0.2;
    p.noise = 0.3;
    p.trend_per_day = 0;
    p.peak_hour = 15;
    assert_int_equal(rls_trace_synth(&p, 7, &t, &err), RLS_OK);
    double peak = 0, trough = 0, weekday = 0, weekend = 0;
    int np = 0, nt = 0, nwd = 0, nwe = 0;
    for (int64_t i = 0; i < t->n; i++) {
        assert_true(t->rate[i] >= 0 && isfinite(t->rate[i]));
        int hour = (int)((i * 60) % 86400 / 3600);
        int day = (int)(i * 60 / 86400) % 7;
        if (hour == 15) {
            peak += t->rate[i];
            np++;
        } else if (hour == 3) {
            trough += t->rate[i];
            nt++;
        }
        if (day < 5) {
            weekday += t->rate[i];
            nwd++;
        } else {
            weekend += t->rate[i];
            nwe++;
        }
    }
    assert_true(peak / np > 1.5 * (trough / nt));
    assert_true(weekend / nwe < weekday / nwd);
    rls_trace_destroy(&t);

    /* flash crowds lift the peak-to-mean ratio; outages bring near-zero steps */
    struct rls_trace_stats calm, busy;
    p.duration_s = 7 * 86400;
    p.flash_per_day = 0;
    p.outage_per_day = 0;
    p.noise = 0.05;
    assert_int_equal(rls_trace_synth(&p, 9, &t, &err), RLS_OK);
    assert_int_equal(rls_trace_stats(t, &calm), RLS_OK);
    rls_trace_destroy(&t);
    p.flash_per_day = 3;
    p.flash_mult = 8;
    p.outage_per_day = 2;
    assert_int_equal(rls_trace_synth(&p, 9, &t, &err), RLS_OK);
    assert_int_equal(rls_trace_stats(t, &busy), RLS_OK);
    assert_true(busy.peak_to_mean > calm.peak_to_mean * 1.5);
    assert_true(busy.min < 0.1 * calm.min);
    rls_trace_destroy(&t);
}

static void test_stats_match_hand_computed_values(void **state)
{
    (void)state;
    struct rls_trace *t = rls_trace_new(101, 10);
    struct rls_trace_stats st;
    for (int i = 0; i <= 100; i++)
        t->rate[i] = (double)((i * 37) % 101); /* a permutation of 0..100 */
    assert_int_equal(rls_trace_stats(t, &st), RLS_OK);
    assert_true(st.mean == 50);
    assert_true(st.min == 0 && st.max == 100);
    assert_true(st.p50 == 50 && st.p95 == 95 && st.p99 == 99);
    assert_true(st.duration_s == 1010);
    assert_int_equal(st.n_zero, 1);
    assert_true(fabs(st.peak_to_mean - 2) < 1e-12);
    double var = 0;
    for (int i = 0; i <= 100; i++)
        var += (i - 50.0) * (i - 50.0);
    assert_true(fabs(st.cv - sqrt(var / 101) / 50) < 1e-12);
    rls_trace_destroy(&t);
}

static void test_resample_preserves_the_mean(void **state)
{
    (void)state;
    struct rls_trace_synth_params p = rls_trace_synth_default_params();
    struct rls_trace *t = NULL, *c = NULL, *f = NULL;
    struct rls_err err = {0};
    struct rls_trace_stats s0, s1, s2;
    p.duration_s = 2 * 86400;
    assert_int_equal(rls_trace_synth(&p, 5, &t, &err), RLS_OK);
    assert_int_equal(rls_trace_stats(t, &s0), RLS_OK);

    c = rls_trace_resample(t, 300); /* coarser: averages of 5 samples */
    assert_non_null(c);
    assert_int_equal(c->n, t->n / 5);
    assert_true(c->step_s == 300);
    double m = 0;
    for (int k = 0; k < 5; k++)
        m += t->rate[5 + k];
    assert_true(fabs(c->rate[1] - m / 5) < 1e-9);
    assert_int_equal(rls_trace_stats(c, &s1), RLS_OK);
    assert_true(fabs(s1.mean - s0.mean) < 1e-9 * s0.mean);

    f = rls_trace_resample(t, 15); /* finer: interpolation */
    assert_non_null(f);
    assert_int_equal(f->n, t->n * 4);
    assert_int_equal(rls_trace_stats(f, &s2), RLS_OK);
    assert_true(fabs(s2.mean - s0.mean) < 1e-3 * s0.mean);
    assert_null(rls_trace_resample(t, 0));
    rls_trace_destroy(&t);
    rls_trace_destroy(&c);
    rls_trace_destroy(&f);
}

static void test_format_names_round_trip(void **state)
{
    (void)state;
    for (int f = RLS_TRACE_FMT_AUTO; f < RLS_TRACE_FMT_COUNT; f++)
        assert_int_equal(rls_trace_format_parse(rls_trace_format_name((enum rls_trace_format)f)),
                         f);
    assert_int_equal(rls_trace_format_parse("nonsense"), -1);
    assert_int_equal(rls_trace_format_parse("worldcup98"), RLS_TRACE_FMT_WORLDCUP98);
    struct rls_trace *t = NULL;
    rls_trace_destroy(&t); /* NULL-safe */
    rls_trace_destroy(NULL);
    assert_null(rls_trace_new(0, 60));
    assert_null(rls_trace_new(10, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worldcup_imports_per_minute_rates_matching_raw_rows),
        cmocka_unit_test(test_nasa_imports_every_per_second_count),
        cmocka_unit_test(test_azure_sum_and_single_function_by_prefix_and_row),
        cmocka_unit_test(test_nab_cpu_is_shape_and_request_count_is_rps),
        cmocka_unit_test(test_nab_duplicate_timestamps_are_combined_and_counted),
        cmocka_unit_test(test_alibaba_and_isp_default_columns),
        cmocka_unit_test(test_csv_iso_times_sorted_duplicates_summed_and_gaps_filled),
        cmocka_unit_test(test_csv_unix_seconds_index_columns_and_no_header),
        cmocka_unit_test(test_bitbrains_semicolon_tab_file_imports_cpu_usage),
        cmocka_unit_test(test_azure_2019_minute_columns_in_every_naming),
        cmocka_unit_test(test_azure_2021_invocations_are_counted_at_their_start),
        cmocka_unit_test(test_link_trace_takes_the_bits_column),
        cmocka_unit_test(test_comma_semicolon_tab_and_blank_separators_give_one_trace),
        cmocka_unit_test(test_step_comes_from_regular_times_or_must_be_given),
        cmocka_unit_test(test_ambiguous_value_column_is_one_line_listing_candidates),
        cmocka_unit_test(test_real_traces_in_other_layouts_import_the_same),
        cmocka_unit_test(test_empty_and_binary_files_are_refused_naming_the_file),
        cmocka_unit_test(test_malformed_values_are_refused_with_file_and_line),
        cmocka_unit_test(test_missing_and_unknown_columns_list_the_available_ones),
        cmocka_unit_test(test_skip_bad_counts_skipped_rows_and_keeps_the_rest),
        cmocka_unit_test(test_canonical_round_trip_is_bit_exact),
        cmocka_unit_test(test_save_is_atomic_and_names_unwritable_path),
        cmocka_unit_test(test_canonical_truncated_wrong_version_and_bad_values_refused),
        cmocka_unit_test(test_load_reads_canonical_and_imports_raw_files),
        cmocka_unit_test(test_synth_is_deterministic_per_seed),
        cmocka_unit_test(test_synth_has_daily_cycle_weekend_dip_and_is_never_negative),
        cmocka_unit_test(test_stats_match_hand_computed_values),
        cmocka_unit_test(test_resample_preserves_the_mean),
        cmocka_unit_test(test_format_names_round_trip),
    };
    return rls_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
