/* cmd_trace.c - `rlsched trace import|synth|info`: turn published traces
 * into the canonical rlsched-trace v1 file, make synthetic load, and
 * summarize any trace. Errors are one line on stderr ("rlsched trace
 * import: FILE:LINE: what"), exit 1; usage errors exit 2.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "env/trace.h"

static const char *s_import_usage =
    "usage: rlsched trace import FILE --out OUT [options]\n"
    "  Reads a published trace and writes the canonical rlsched-trace v1 file.\n"
    "  (From a Prometheus: rlsched trace import --prometheus URL --query Q ... --help)\n"
    "  --out OUT          output file (written atomically)\n"
    "  --format NAME      auto (default), worldcup98, nasa, azure, azure2021, nab, alibaba, isp,\n"
    "                     bitbrains, csv, rlsched (separator detected: , ; tab ;+tab blanks)\n"
    "  --time-col C       CSV time column (name or 0-based index; 'none' = rows are steps)\n"
    "  --value-col C      value column (name or index; default: the format's, else the one named\n"
    "                     like a load); azure: 'sum', a row index or a hash prefix; azure2021:\n"
    "                     'sum', APP or APP:FUNC id prefixes\n"
    "  --step S           grid step in seconds (default: from a regular time column; needed\n"
    "                     for rows without times or with irregular times; azure2021: bin, 60)\n"
    "  --count-step S     values are counts per S seconds (turned into requests/s)\n"
    "  --skip-bad         skip malformed rows and count them instead of refusing the file\n"
    "  --max-gap N        longest gap (in steps) filled by interpolation (10000)\n"
    "  --resample S       resample the result to a step of S seconds\n"
    "  --max-points N     refuse a trace (imported or resampled) of more than N samples\n"
    "                     (10000000)\n"
    "  --span A:B         keep the part from fraction A to fraction B of the trace\n"
    "                     (e.g. 0:0.5 for a training half, 0.5:1 for the test half)\n";

static const char *s_synth_usage =
    "usage: rlsched trace synth --out OUT [options]\n"
    "  Writes a synthetic, seed-deterministic load trace (canonical format).\n"
    "  --seed N  (1)          --days D  (2)            --step S  (60 s)\n"
    "  --base RPS  (100)      --diurnal-amp A  (0.6)   --peak-hour H  (14)\n"
    "  --weekly-amp A  (0.2)  --trend X  (0.02/day)    --noise X  (0.08)\n"
    "  --flash-per-day X (1)  --flash-mult M  (3)      --flash-dur S  (1200)\n"
    "  --outage-per-day X (0.1)  --outage-dur S (600)  --start-epoch T  (0)\n";

static const char *s_info_usage =
    "usage: rlsched trace info FILE [--json] [--format NAME] [--value-col C] [--time-col C]\n"
    "                          [--step S] [--count-step S]\n"
    "  Summarizes a canonical trace or any importable file (options as for import).\n";

static const char *s_usage =
    "usage: rlsched trace import|synth|info ...  (rlsched trace SUB --help)\n"
    "  import  read a published trace (or a Prometheus query: import --prometheus)\n"
    "          into the canonical format\n"
    "  synth   make a synthetic load trace\n"
    "  info    summarize a trace\n";

/* Parses a whole string as a finite double. 0 on success. */
static int s_num(const char *s, double *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int s_usage_err(const char *sub, const char *what, const char *arg)
{
    fprintf(stderr, "rlsched trace %s: %s%s%s (rlsched trace %s --help)\n", sub, what, arg ? " " : "",
            arg ? arg : "", sub);
    return 2;
}

static int s_import(int argc, char **argv)
{
    struct rls_trace_import_params p = rls_trace_import_default_params();
    struct rls_trace *t = NULL, *r = NULL;
    struct rls_err err = {0};
    const char *file = NULL, *out = NULL;
    double resample = 0, span_a = 0.0, span_b = 1.0;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(s_import_usage, stdout);
            return 0;
        } else if (strcmp(a, "--skip-bad") == 0) {
            p.skip_bad = 1;
            continue;
        } else if (a[0] == '-' && a[1] == '-') {
            if (v == NULL)
                return s_usage_err("import", "missing value after", a);
            i++;
            if (strcmp(a, "--out") == 0) {
                out = v;
            } else if (strcmp(a, "--format") == 0) {
                int f = rls_trace_format_parse(v);
                if (f < 0)
                    return s_usage_err("import", "unknown format", v);
                p.format = (enum rls_trace_format)f;
            } else if (strcmp(a, "--time-col") == 0) {
                p.time_col = v;
            } else if (strcmp(a, "--value-col") == 0) {
                p.value_col = v;
            } else if (strcmp(a, "--step") == 0) {
                if (s_num(v, &x) || x <= 0)
                    return s_usage_err("import", "--step needs seconds > 0, got", v);
                p.step_s = x;
            } else if (strcmp(a, "--count-step") == 0) {
                if (s_num(v, &x) || x <= 0)
                    return s_usage_err("import", "--count-step needs seconds > 0, got", v);
                p.count_step_s = x;
            } else if (strcmp(a, "--max-gap") == 0) {
                if (s_num(v, &x) || x < 0 || x > 1e12 || x != floor(x))
                    return s_usage_err("import", "--max-gap needs an integer >= 0, got", v);
                p.max_gap_steps = (int64_t)x;
            } else if (strcmp(a, "--max-points") == 0) {
                if (s_num(v, &x) || x < 1 || x > 1e15 || x != floor(x))
                    return s_usage_err("import", "--max-points needs an integer >= 1, got", v);
                p.max_points = (int64_t)x;
            } else if (strcmp(a, "--resample") == 0) {
                if (s_num(v, &x) || x <= 0)
                    return s_usage_err("import", "--resample needs seconds > 0, got", v);
                resample = x;
            } else if (strcmp(a, "--span") == 0) {
                char extra;
                if (sscanf(v, "%lf:%lf%c", &span_a, &span_b, &extra) != 2 || !(span_a >= 0.0) ||
                    !(span_b <= 1.0) || !(span_a < span_b))
                    return s_usage_err("import", "--span needs A:B with 0 <= A < B <= 1, got", v);
            } else {
                return s_usage_err("import", "unknown option", a);
            }
        } else if (file == NULL) {
            file = a;
        } else {
            return s_usage_err("import", "unexpected argument", a);
        }
    }
    if (file == NULL)
        return s_usage_err("import", "missing FILE", NULL);
    if (out == NULL)
        return s_usage_err("import", "missing --out OUT", NULL);
    if (rls_trace_import(file, &p, &t, &err) != RLS_OK) {
        fprintf(stderr, "rlsched trace import: %s\n", err.msg);
        goto done;
    }
    if (span_a > 0.0 || span_b < 1.0) {
        int64_t from = (int64_t)floor(span_a * (double)t->n), to = (int64_t)ceil(span_b * (double)t->n);
        r = rls_trace_slice(t, from, to > t->n ? t->n : to);
        if (r == NULL) {
            fprintf(stderr, "rlsched trace import: %s: span %g:%g of %lld samples is empty\n", file,
                    span_a, span_b, (long long)t->n);
            goto done;
        }
        rls_trace_destroy(&t);
        t = r;
        r = NULL;
    }
    if (resample > 0) {
        int64_t rn = rls_trace_resample_size(t, resample);
        if (rn > p.max_points) {
            fprintf(stderr, "rlsched trace import: %s: resampling %lld samples of %g s to %g s makes "
                    "%lld samples, more than --max-points %lld\n", file, (long long)t->n, t->step_s,
                    resample, (long long)rn, (long long)p.max_points);
            goto done;
        }
        r = rls_trace_resample(t, resample);
        if (r == NULL) {
            fprintf(stderr, "rlsched trace import: %s: cannot resample to %g s\n", file, resample);
            goto done;
        }
        rls_trace_destroy(&t);
        t = r;
        r = NULL;
    }
    if (rls_trace_save(t, out, &err) != RLS_OK) {
        fprintf(stderr, "rlsched trace import: %s\n", err.msg);
        goto done;
    }
    printf("imported %s (%s, column %s): n=%lld step=%g s unit=%s filled=%lld reordered=%lld "
           "duplicates=%lld skipped=%lld -> %s\n",
           file, t->format, t->column[0] ? t->column : "-", (long long)t->n, t->step_s, t->unit,
           (long long)t->n_filled, (long long)t->n_reordered, (long long)t->n_duplicates,
           (long long)t->n_skipped, out);
    rc = 0;
done:
    rls_trace_destroy(&t);
    rls_trace_destroy(&r);
    return rc;
}

static int s_synth(int argc, char **argv)
{
    struct rls_trace_synth_params p = rls_trace_synth_default_params();
    struct rls_trace *t = NULL;
    struct rls_err err = {0};
    const char *out = NULL;
    uint64_t seed = 1;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x = 0;
        double *dst = NULL;
        double scale = 1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(s_synth_usage, stdout);
            return 0;
        }
        if (a[0] != '-' || a[1] != '-')
            return s_usage_err("synth", "unexpected argument", a);
        if (v == NULL)
            return s_usage_err("synth", "missing value after", a);
        i++;
        if (strcmp(a, "--out") == 0) {
            out = v;
            continue;
        }
        if (strcmp(a, "--seed") == 0) {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (*v == '\0' || *v == '-' || *end != '\0' || errno != 0)
                return s_usage_err("synth", "--seed needs an unsigned integer, got", v);
            seed = s;
            continue;
        }
        if (strcmp(a, "--days") == 0) {
            dst = &p.duration_s;
            scale = 86400;
        } else if (strcmp(a, "--step") == 0)
            dst = &p.step_s;
        else if (strcmp(a, "--base") == 0)
            dst = &p.base_rps;
        else if (strcmp(a, "--diurnal-amp") == 0)
            dst = &p.diurnal_amp;
        else if (strcmp(a, "--peak-hour") == 0)
            dst = &p.peak_hour;
        else if (strcmp(a, "--weekly-amp") == 0)
            dst = &p.weekly_amp;
        else if (strcmp(a, "--trend") == 0)
            dst = &p.trend_per_day;
        else if (strcmp(a, "--noise") == 0)
            dst = &p.noise;
        else if (strcmp(a, "--flash-per-day") == 0)
            dst = &p.flash_per_day;
        else if (strcmp(a, "--flash-mult") == 0)
            dst = &p.flash_mult;
        else if (strcmp(a, "--flash-dur") == 0)
            dst = &p.flash_dur_s;
        else if (strcmp(a, "--outage-per-day") == 0)
            dst = &p.outage_per_day;
        else if (strcmp(a, "--outage-dur") == 0)
            dst = &p.outage_dur_s;
        else if (strcmp(a, "--start-epoch") == 0)
            dst = &p.start_epoch_s;
        else
            return s_usage_err("synth", "unknown option", a);
        if (s_num(v, &x) != 0)
            return s_usage_err("synth", "not a number:", v);
        *dst = x * scale;
    }
    if (out == NULL)
        return s_usage_err("synth", "missing --out OUT", NULL);
    if (rls_trace_synth(&p, seed, &t, &err) != RLS_OK) {
        fprintf(stderr, "rlsched trace synth: %s\n", err.msg);
        return 2;
    }
    if (rls_trace_save(t, out, &err) != RLS_OK) {
        fprintf(stderr, "rlsched trace synth: %s\n", err.msg);
        goto done;
    }
    printf("synthesized seed=%llu: n=%lld step=%g s unit=rps -> %s\n", (unsigned long long)seed,
           (long long)t->n, t->step_s, out);
    rc = 0;
done:
    rls_trace_destroy(&t);
    return rc;
}

/* A JSON number, or null for NaN / infinity. New reference. */
static json_t *s_jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int s_info_json(const struct rls_trace *t)
{
    struct rls_trace_stats st;
    json_t *o = NULL;
    int rc = 1;
    if (rls_trace_stats(t, &st) != RLS_OK)
        return 1;
    /* numbers through s_jnum: a non-finite one is written as null, never as
       NaN/Infinity (invalid JSON) and never dropping the object */
    o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                  "s:o, s:o, s:I, s:I, s:I, s:I, s:I}",
                  "source", t->source, "format", t->format, "column", t->column, "unit", t->unit,
                  "step_s", s_jnum(t->step_s), "n", (json_int_t)t->n, "duration_s", s_jnum(st.duration_s),
                  "start_epoch_s", s_jnum(t->start_epoch_s), "mean", s_jnum(st.mean), "min", s_jnum(st.min),
                  "max", s_jnum(st.max), "p50", s_jnum(st.p50), "p95", s_jnum(st.p95), "p99", s_jnum(st.p99),
                  "peak_to_mean", s_jnum(st.peak_to_mean), "cv", s_jnum(st.cv),
                  "max_step_jump", s_jnum(st.max_step_jump), "n_zero", (json_int_t)st.n_zero,
                  "filled", (json_int_t)t->n_filled, "reordered", (json_int_t)t->n_reordered,
                  "duplicates", (json_int_t)t->n_duplicates, "skipped", (json_int_t)t->n_skipped);
    if (o == NULL) {
        fprintf(stderr, "rlsched trace info: cannot build the JSON object (out of memory)\n");
        return 1;
    }
    if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) == 0) {
        fputc('\n', stdout);
        rc = 0;
    }
    json_decref(o);
    return rc;
}

static int s_info(int argc, char **argv)
{
    struct rls_trace_import_params p = rls_trace_import_default_params();
    struct rls_trace *t = NULL;
    struct rls_err err = {0};
    const char *file = NULL;
    int json = 0, rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(s_info_usage, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--value-col") == 0 || strcmp(a, "--format") == 0 ||
                   strcmp(a, "--time-col") == 0 || strcmp(a, "--step") == 0 ||
                   strcmp(a, "--count-step") == 0) {
            double x;
            if (v == NULL)
                return s_usage_err("info", "missing value after", a);
            i++;
            if (strcmp(a, "--value-col") == 0) {
                p.value_col = v;
            } else if (strcmp(a, "--time-col") == 0) {
                p.time_col = v;
            } else if (strcmp(a, "--step") == 0 || strcmp(a, "--count-step") == 0) {
                if (s_num(v, &x) || x <= 0)
                    return s_usage_err("info", "seconds > 0 needed after", a);
                if (strcmp(a, "--step") == 0)
                    p.step_s = x;
                else
                    p.count_step_s = x;
            } else {
                int f = rls_trace_format_parse(v);
                if (f < 0)
                    return s_usage_err("info", "unknown format", v);
                p.format = (enum rls_trace_format)f;
            }
        } else if (a[0] == '-' && a[1] == '-') {
            return s_usage_err("info", "unknown option", a);
        } else if (file == NULL) {
            file = a;
        } else {
            return s_usage_err("info", "unexpected argument", a);
        }
    }
    if (file == NULL)
        return s_usage_err("info", "missing FILE", NULL);
    if (rls_trace_import(file, &p, &t, &err) != RLS_OK) {
        fprintf(stderr, "rlsched trace info: %s\n", err.msg);
        return 1;
    }
    if (json) {
        rc = s_info_json(t);
    } else {
        rls_trace_print_info(t, stdout);
        rc = 0;
    }
    rls_trace_destroy(&t);
    return rc;
}

int rls_cmd_trace(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "rlsched trace: which subcommand? (import, synth, info; rlsched trace --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(s_usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "import") == 0) {
        for (int i = 2; i < argc; i++)      /* tools/cmd_trace_prom.c */
            if (strcmp(argv[i], "--prometheus") == 0)
                return rls_cmd_trace_prom(argc - 1, argv + 1);
        return s_import(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "synth") == 0)
        return s_synth(argc - 1, argv + 1);
    if (strcmp(argv[1], "info") == 0)
        return s_info(argc - 1, argv + 1);
    fprintf(stderr, "rlsched trace: unknown subcommand '%s' (import, synth, info; rlsched trace --help)\n",
            argv[1]);
    return 2;
}
