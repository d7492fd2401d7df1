/* trace.c - the trace object: allocation, the canonical writer
 * (rlsched-trace v1, atomic), loading, summaries and resampling.
 *
 * Importers live in trace_import.c, synthetic load in trace_synth.c. The
 * file format is documented in docs/TRACE_FORMAT.md.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct rls_trace *rls_trace_new(int64_t n, double step_s)
{
    struct rls_trace *t = NULL;
    if (n < 1 || !(step_s > 0) || !isfinite(step_s) || (uint64_t)n > SIZE_MAX / sizeof(double))
        return NULL;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->rate = calloc((size_t)n, sizeof *t->rate);
    if (t->rate == NULL) {
        free(t);
        return NULL;
    }
    t->n = n;
    t->step_s = step_s;
    snprintf(t->unit, sizeof t->unit, "rps");
    return t;
}

void rls_trace_destroy(struct rls_trace **t)
{
    if (t == NULL || *t == NULL)
        return;
    free((*t)->rate);
    free(*t);
    *t = NULL;
}

static const char *s_fmt_names[] = {
    [RLS_TRACE_FMT_AUTO] = "auto",         [RLS_TRACE_FMT_CANONICAL] = "rlsched",
    [RLS_TRACE_FMT_WORLDCUP98] = "worldcup98", [RLS_TRACE_FMT_NASA] = "nasa",
    [RLS_TRACE_FMT_AZURE] = "azure",       [RLS_TRACE_FMT_NAB] = "nab",
    [RLS_TRACE_FMT_ALIBABA] = "alibaba",   [RLS_TRACE_FMT_ISP] = "isp",
    [RLS_TRACE_FMT_CSV] = "csv",           [RLS_TRACE_FMT_BITBRAINS] = "bitbrains",
    [RLS_TRACE_FMT_AZURE2021] = "azure2021",
};

const char *rls_trace_format_name(enum rls_trace_format f)
{
    if ((int)f < 0 || (size_t)f >= sizeof s_fmt_names / sizeof s_fmt_names[0])
        return "unknown";
    return s_fmt_names[f];
}

int rls_trace_format_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof s_fmt_names / sizeof s_fmt_names[0]; i++)
        if (strcasecmp(name, s_fmt_names[i]) == 0)
            return (int)i;
    if (strcasecmp(name, "canonical") == 0)
        return RLS_TRACE_FMT_CANONICAL;
    if (strcasecmp(name, "worldcup") == 0)
        return RLS_TRACE_FMT_WORLDCUP98;
    return -1;
}

int rls_trace_load(const char *path, const char *column, struct rls_trace **out,
                   struct rls_err *err)
{
    struct rls_trace_import_params p = rls_trace_import_default_params();
    p.value_col = (column != NULL && column[0] != '\0') ? column : NULL;
    return rls_trace_import(path, &p, out, err);
}

/* ------------------------------------------------------------------ */
/* canonical writer                                                    */

/* Writes s with newlines replaced, so a header value stays one line. */
static void s_put_text(FILE *f, const char *key, const char *s)
{
    fprintf(f, "# %s: ", key);
    for (; *s; s++)
        fputc((*s == '\n' || *s == '\r') ? ' ' : *s, f);
    fputc('\n', f);
}

/* Shortest of %.15g/%.16g/%.17g that reads back to the same double;
 * whole numbers below 1e15 take a fast integer path. */
static void s_put_value(FILE *f, double v)
{
    char buf[40];
    if (v >= 0 && v < 1e15 && v == (double)(int64_t)v) {
        char *p = buf + sizeof buf;
        int64_t x = (int64_t)v;
        *--p = '\0';
        *--p = '\n';
        do {
            *--p = (char)('0' + x % 10);
            x /= 10;
        } while (x > 0);
        fputs(p, f);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
    fputc('\n', f);
}

int rls_trace_save(const struct rls_trace *t, const char *path, struct rls_err *err)
{
    char *tmp = NULL;
    FILE *f = NULL;
    size_t tl;
    int rc = RLS_OK;

    rls_err_clear(err);
    if (t == NULL || path == NULL || path[0] == '\0' || t->n < 1 || t->rate == NULL ||
        !(t->step_s > 0))
        return rls_err_set(err, RLS_ERR_INVALID, "%s: refusing to save an empty or invalid trace",
                           path ? path : "(null)");
    for (int64_t i = 0; i < t->n; i++)
        if (!isfinite(t->rate[i]) || t->rate[i] < 0)
            return rls_err_set(err, RLS_ERR_INVALID,
                               "%s: sample %lld is %g (must be finite and >= 0)", path,
                               (long long)i, t->rate[i]);
    tl = strlen(path) + 32;
    tmp = malloc(tl);
    if (tmp == NULL)
        return rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "w");
    if (f == NULL) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    fprintf(f, "# rlsched-trace v1\n");
    fprintf(f, "# step_s: %.17g\n", t->step_s);
    s_put_text(f, "unit", t->unit[0] ? t->unit : "rps");
    s_put_text(f, "format", t->format[0] ? t->format : "rlsched");
    s_put_text(f, "source", t->source);
    s_put_text(f, "column", t->column);
    fprintf(f, "# start_epoch_s: %.17g\n", t->start_epoch_s);
    fprintf(f, "# n: %lld\n", (long long)t->n);
    fprintf(f, "# filled: %lld\n", (long long)t->n_filled);
    fprintf(f, "# reordered: %lld\n", (long long)t->n_reordered);
    fprintf(f, "# duplicates: %lld\n", (long long)t->n_duplicates);
    fprintf(f, "# skipped: %lld\n", (long long)t->n_skipped);
    for (int64_t i = 0; i < t->n; i++)
        s_put_value(f, t->rate[i]);
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto done;
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = rls_err_set(err, RLS_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto done;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        rc = rls_err_set(err, RLS_ERR_IO, "%s: cannot rename into place: %s", path,
                         strerror(errno));
        goto done;
    }
    /* make the rename durable: fsync the directory (best effort) */
    {
        char *dir = strdup(path);
        if (dir != NULL) {
            char *slash = strrchr(dir, '/');
            const char *d = ".";
            if (slash == dir)
                d = "/";
            else if (slash != NULL) {
                *slash = '\0';
                d = dir;
            }
            int fd = open(d, O_RDONLY);
            if (fd >= 0) {
                (void)fsync(fd);
                close(fd);
            }
            free(dir);
        }
    }
done:
    if (f != NULL)
        fclose(f);
    if (rc != RLS_OK && tmp != NULL)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* summaries                                                           */

/* Rearranges a[0..n) so that a[k] is the k-th smallest, everything before
 * it <= a[k] and everything after >= a[k] (quickselect, expected O(n)). */
static void s_select(double *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                double tmp = a[i];
                a[i] = a[j];
                a[j] = tmp;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

/* Percentile q in [0,1] of a[0..n) (reordered), linear between order
 * statistics. */
static double s_pct(double *a, int64_t n, double q)
{
    double pos = q * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos);
    s_select(a, n, lo);
    if (lo >= n - 1)
        return a[lo];
    double next = a[lo + 1];
    for (int64_t i = lo + 2; i < n; i++)
        if (a[i] < next)
            next = a[i];
    return a[lo] + (pos - (double)lo) * (next - a[lo]);
}

int rls_trace_stats(const struct rls_trace *t, struct rls_trace_stats *out)
{
    double *s = NULL, sum = 0, sq = 0, jump = 0;
    int64_t n;
    if (t == NULL || out == NULL || t->n < 1 || t->rate == NULL)
        return RLS_ERR_INVALID;
    n = t->n;
    memset(out, 0, sizeof *out);
    s = malloc((size_t)n * sizeof *s);
    if (s == NULL)
        return RLS_ERR_NOMEM;
    memcpy(s, t->rate, (size_t)n * sizeof *s);
    for (int64_t i = 0; i < n; i++) {
        sum += s[i];
        if (s[i] == 0)
            out->n_zero++;
        if (i > 0 && t->rate[i - 1] > 0) {
            double r = (t->rate[i] - t->rate[i - 1]) / t->rate[i - 1];
            if (r > jump)
                jump = r;
        }
    }
    out->mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++)
        sq += (s[i] - out->mean) * (s[i] - out->mean);
    out->duration_s = (double)n * t->step_s;
    out->min = out->max = s[0];
    for (int64_t i = 1; i < n; i++) {
        if (s[i] < out->min)
            out->min = s[i];
        if (s[i] > out->max)
            out->max = s[i];
    }
    out->p99 = s_pct(s, n, 0.99);
    out->p95 = s_pct(s, n, 0.95);
    out->p50 = s_pct(s, n, 0.50);
    out->peak_to_mean = out->mean > 0 ? out->max / out->mean : 0;
    out->cv = out->mean > 0 ? sqrt(sq / (double)n) / out->mean : 0;
    out->max_step_jump = jump;
    free(s);
    return RLS_OK;
}

static void s_fmt_duration(double s, char *buf, size_t len)
{
    if (s >= 2 * 86400)
        snprintf(buf, len, "%.2f days (%.0f s)", s / 86400, s);
    else if (s >= 2 * 3600)
        snprintf(buf, len, "%.2f hours (%.0f s)", s / 3600, s);
    else
        snprintf(buf, len, "%.0f s", s);
}

void rls_trace_print_info(const struct rls_trace *t, FILE *f)
{
    struct rls_trace_stats st;
    char dur[64], when[64] = "unknown (the source has no clock)";
    const char *u;

    if (t == NULL || f == NULL)
        return;
    if (rls_trace_stats(t, &st) != RLS_OK) {
        fprintf(f, "invalid trace\n");
        return;
    }
    u = strcmp(t->unit, "rps") == 0 ? "req/s" : "";
    s_fmt_duration(st.duration_s, dur, sizeof dur);
    if (t->start_epoch_s != 0) {
        time_t tt = (time_t)floor(t->start_epoch_s);
        struct tm tmv;
        if (gmtime_r(&tt, &tmv) != NULL)
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tmv);
    }
    fprintf(f, "source:     %s\n", t->source[0] ? t->source : "-");
    fprintf(f, "format:     %s\n", t->format[0] ? t->format : "-");
    fprintf(f, "column:     %s\n", t->column[0] ? t->column : "-");
    fprintf(f, "unit:       %s\n",
            strcmp(t->unit, "rps") == 0 ? "rps (requests per second)" : "shape (load shape, scale it)");
    fprintf(f, "step:       %g s\n", t->step_s);
    fprintf(f, "samples:    %lld\n", (long long)t->n);
    fprintf(f, "duration:   %s\n", dur);
    fprintf(f, "start:      %s\n", when);
    fprintf(f, "mean:       %.6g %s\n", st.mean, u);
    fprintf(f, "min / max:  %.6g / %.6g %s\n", st.min, st.max, u);
    fprintf(f, "p50/95/99:  %.6g / %.6g / %.6g %s\n", st.p50, st.p95, st.p99, u);
    fprintf(f, "peak/mean:  %.3f\n", st.peak_to_mean);
    fprintf(f, "cv:         %.3f\n", st.cv);
    fprintf(f, "max rise:   %.3g (largest relative step-to-step increase)\n", st.max_step_jump);
    fprintf(f, "zero steps: %lld (%.2f%%)\n", (long long)st.n_zero,
            100.0 * (double)st.n_zero / (double)t->n);
    fprintf(f, "import:     filled %lld, reordered %lld, duplicates %lld, skipped %lld\n",
            (long long)t->n_filled, (long long)t->n_reordered, (long long)t->n_duplicates,
            (long long)t->n_skipped);
}

/* ------------------------------------------------------------------ */
/* resampling                                                          */

struct rls_trace *rls_trace_slice(const struct rls_trace *t, int64_t from, int64_t to)
{
    if (!t || from < 0 || to > t->n || from >= to)
        return NULL;
    struct rls_trace *r = rls_trace_new(to - from, t->step_s);
    if (!r)
        return NULL;
    memcpy(r->rate, t->rate + from, (size_t)(to - from) * sizeof *r->rate);
    r->start_epoch_s = t->start_epoch_s > 0 ? t->start_epoch_s + (double)from * t->step_s : 0.0;
    memcpy(r->unit, t->unit, sizeof r->unit);
    memcpy(r->format, t->format, sizeof r->format);
    memcpy(r->source, t->source, sizeof r->source);
    memcpy(r->column, t->column, sizeof r->column);
    r->n_filled = t->n_filled;
    r->n_reordered = t->n_reordered;
    r->n_duplicates = t->n_duplicates;
    r->n_skipped = t->n_skipped;
    return r;
}

int64_t rls_trace_resample_size(const struct rls_trace *t, double step_s)
{
    double dur, ratio, cells;

    if (t == NULL || t->n < 1 || t->rate == NULL || !(step_s > 0) || !isfinite(step_s) ||
        !(t->step_s > 0))
        return -1;
    dur = (double)t->n * t->step_s;
    ratio = step_s / t->step_s;
    cells = ratio >= 1 ? ceil(dur / step_s - 1e-9) : round(dur / step_s);
    if (!(cells < 4e18))
        return INT64_MAX;
    return cells < 1 ? 1 : (int64_t)cells;
}

struct rls_trace *rls_trace_resample(const struct rls_trace *t, double step_s)
{
    struct rls_trace *o = NULL;
    double dur, ratio;
    int64_t n = rls_trace_resample_size(t, step_s);

    if (n < 1 || (double)n > 4e9)
        return NULL;
    dur = (double)t->n * t->step_s;
    ratio = step_s / t->step_s;
    o = rls_trace_new(n, step_s);
    if (o == NULL)
        return NULL;
    if (ratio >= 1) {
        /* time-weighted average of the input over each output cell */
        int64_t i = 0;
        for (int64_t j = 0; j < n; j++) {
            double a = (double)j * step_s, b = a + step_s, acc = 0, cover = 0;
            if (b > dur)
                b = dur;
            if (i > 0)
                i--;
            while (i < t->n && (double)(i + 1) * t->step_s <= a)
                i++;
            for (int64_t k = i; k < t->n; k++) {
                double lo = (double)k * t->step_s, hi = lo + t->step_s;
                if (lo >= b)
                    break;
                double ov = (hi < b ? hi : b) - (lo > a ? lo : a);
                if (ov > 0) {
                    acc += ov * t->rate[k];
                    cover += ov;
                }
            }
            o->rate[j] = cover > 0 ? acc / cover : 0;
        }
    } else {
        /* linear interpolation between the input samples' centres */
        for (int64_t j = 0; j < n; j++) {
            double x = ((double)j + 0.5) * step_s / t->step_s - 0.5;
            if (x <= 0) {
                o->rate[j] = t->rate[0];
            } else if (x >= (double)(t->n - 1)) {
                o->rate[j] = t->rate[t->n - 1];
            } else {
                int64_t k = (int64_t)floor(x);
                double a = x - (double)k;
                o->rate[j] = t->rate[k] + a * (t->rate[k + 1] - t->rate[k]);
            }
        }
    }
    o->start_epoch_s = t->start_epoch_s;
    memcpy(o->unit, t->unit, sizeof o->unit);
    memcpy(o->format, t->format, sizeof o->format);
    memcpy(o->source, t->source, sizeof o->source);
    memcpy(o->column, t->column, sizeof o->column);
    o->n_filled = t->n_filled;
    o->n_reordered = t->n_reordered;
    o->n_duplicates = t->n_duplicates;
    o->n_skipped = t->n_skipped;
    return o;
}
