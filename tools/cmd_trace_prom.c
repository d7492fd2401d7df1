/* cmd_trace_prom.c - `rlsched trace import --prometheus URL --query Q
 * --start T0 --end T1 --step S --out FILE`: records a trace from any
 * Prometheus through its range-query API (cluster/prometheus.h does the
 * work; this file parses and prints). Errors are one line on stderr, exit 1;
 * usage errors exit 2.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cluster/prometheus.h"
#include "env/trace.h"

static const char *s_usage =
    "usage: rlsched trace import --prometheus URL --query Q --start T0 --end T1 --step S\n"
    "                            --out FILE [options]\n"
    "  Runs the PromQL query Q over [T0, T1] every S through URL's /api/v1/query_range\n"
    "  and writes the canonical rlsched-trace v1 file (format 'prometheus').\n"
    "  --prometheus URL   the server, e.g. http://127.0.0.1:9090 (a path prefix and\n"
    "                     user:pass@ are kept)\n"
    "  --query Q          PromQL giving one series, e.g. 'sum(rate(http_requests_total[1m]))'\n"
    "  --start T, --end T Unix seconds, RFC 3339 (2024-05-01T12:00:00Z), 'now' or 'now-1h'\n"
    "  --step S           seconds between samples: 15, 30s, 1m, 1h30m\n"
    "  --out FILE         output file (written atomically)\n"
    "  --sum              add up the series the query gives (else it must give one)\n"
    "  --unit U           rps (the query gives requests/s; default) or shape\n"
    "  --timeout S        per request, seconds (30); the query is split into requests\n"
    "                     of at most 10000 steps\n"
    "  --max-gap N        longest run of missing steps filled by interpolation (10000)\n"
    "  --max-points N     refuse a span of more steps (10000000)\n"
    "  Steps without data at the start and end are dropped; NaN counts as missing.\n";

static int s_usage_err(const char *what, const char *arg)
{
    fprintf(stderr, "rlsched trace import: %s%s%s (rlsched trace import --prometheus --help)\n", what,
            arg ? " " : "", arg ? arg : "");
    return 2;
}

int rls_cmd_trace_prom(int argc, char **argv)
{
    struct rls_prom_params pp = rls_prom_default_params();
    struct rls_prom_trace_params tp = rls_prom_trace_default_params();
    struct rls_prom *pr = NULL;
    struct rls_trace *t = NULL;
    struct rls_err err = {0};
    const char *url = NULL, *query = NULL, *start = NULL, *end = NULL, *step = NULL, *out = NULL;
    double now = (double)time(NULL);
    uint64_t u = 0;
    char msg[512];
    int rc = 1;

    pp.timeout_s = 30.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(s_usage, stdout);
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--sum") == 0) {
            tp.sum_series = 1;
            continue;
        }
        if (a[0] != '-' || a[1] != '-')
            return s_usage_err("unexpected argument", a);
        if (v == NULL)
            return s_usage_err("missing value after", a);
        i++;
        if (strcmp(a, "--prometheus") == 0) {
            url = v;
        } else if (strcmp(a, "--query") == 0) {
            query = v;
        } else if (strcmp(a, "--start") == 0) {
            start = v;
        } else if (strcmp(a, "--end") == 0) {
            end = v;
        } else if (strcmp(a, "--step") == 0) {
            step = v;
        } else if (strcmp(a, "--out") == 0) {
            out = v;
        } else if (strcmp(a, "--unit") == 0) {
            if (strcmp(v, "rps") != 0 && strcmp(v, "shape") != 0)
                return s_usage_err("--unit must be rps or shape, got", v);
            tp.unit = v;
        } else if (strcmp(a, "--timeout") == 0) {
            if (rls_cli_parse_double(v, 0.01, 3600, &pp.timeout_s) != 0)
                return s_usage_err("--timeout needs seconds in 0.01..3600, got", v);
        } else if (strcmp(a, "--max-gap") == 0) {
            if (rls_cli_parse_u64(v, (uint64_t)1e12, &u) != 0)
                return s_usage_err("--max-gap needs an integer >= 0, got", v);
            tp.max_gap_steps = (int64_t)u;
        } else if (strcmp(a, "--max-points") == 0) {
            if (rls_cli_parse_u64(v, (uint64_t)1e15, &u) != 0 || u < 1)
                return s_usage_err("--max-points needs an integer >= 1, got", v);
            tp.max_points = (int64_t)u;
        } else {
            return s_usage_err("unknown option", a);
        }
    }
    if (url == NULL)
        return s_usage_err("missing --prometheus URL", NULL);
    if (query == NULL || query[0] == '\0')
        return s_usage_err("missing --query Q", NULL);
    if (start == NULL || end == NULL || step == NULL)
        return s_usage_err("need --start, --end and --step", NULL);
    if (out == NULL)
        return s_usage_err("missing --out FILE", NULL);
    if (rls_prom_parse_time(start, now, &tp.start_s) != 0)
        return s_usage_err("--start is not a time (Unix seconds, RFC 3339, now, now-1h):", start);
    if (rls_prom_parse_time(end, now, &tp.end_s) != 0)
        return s_usage_err("--end is not a time (Unix seconds, RFC 3339, now, now-1h):", end);
    if (tp.end_s < tp.start_s)
        return s_usage_err("--end is before --start:", end);
    if (rls_prom_parse_duration(step, &tp.step_s) != 0 || tp.step_s < 0.001)
        return s_usage_err("--step needs a duration >= 1ms (15, 30s, 1m), got", step);
    if (rls_cli_check_writable(out, msg, sizeof msg) != 0) {
        fprintf(stderr, "rlsched trace import: %s\n", msg);
        return 1;
    }
    pr = rls_prom_new(url, &pp, &err);
    if (pr == NULL) {
        fprintf(stderr, "rlsched trace import: %s\n", err.msg);
        return 1;
    }
    if (rls_prom_trace(pr, query, &tp, &t) != RLS_OK) {
        fprintf(stderr, "rlsched trace import: %s\n", rls_prom_errmsg(pr));
        goto done;
    }
    if (rls_trace_save(t, out, &err) != RLS_OK) {
        fprintf(stderr, "rlsched trace import: %s\n", err.msg);
        goto done;
    }
    printf("imported %s '%s': n=%lld step=%g s start=%.3f unit=%s filled=%lld -> %s\n", rls_prom_url(pr),
           query, (long long)t->n, t->step_s, t->start_epoch_s, t->unit, (long long)t->n_filled, out);
    rc = 0;
done:
    rls_trace_destroy(&t);
    rls_prom_destroy(&pr);
    return rc;
}
